/* analyze.c - one file through the rules auditor: secrets, credentials,
 * functions, statements, token patterns and intraprocedural taint. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/buf.h"
#include "engine/analyze.h"
#include "engine/finding.h"

#define MAX_TOKENS        (4u * 1024 * 1024)
#define MAX_LINE_SCAN     8192     /* longer lines get windowed regex scans */
#define NORM_MAX          2000
#define STEP_BUDGET       200000000ull  /* per file: hostile input cannot hang */
#define MAX_TVARS         256
#define MAX_CHAIN         16
#define NO_POS            ((size_t)-1)
#define MAX_HITS          1000     /* per file */

/* ---- sorted string index ---------------------------------------------- */

struct sent {
	const char *key;
	uint32_t klen;
	uint32_t val;
};

struct sidx {
	struct sent *e;
	size_t n, cap;
};

static int
sidx_add(struct sidx *x, const char *key, uint32_t val)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 32;
		struct sent *ne = realloc(x->e, nc * sizeof *ne);

		if (!ne)
			return -1;
		x->e = ne;
		x->cap = nc;
	}
	x->e[x->n].key = key;
	x->e[x->n].klen = (uint32_t)strlen(key);
	x->e[x->n].val = val;
	x->n++;
	return 0;
}

static int
keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int
sent_cmp(const void *pa, const void *pb)
{
	const struct sent *a = pa, *b = pb;
	int c = keycmp(a->key, a->klen, b->key, b->klen);

	if (c)
		return c;
	return a->val < b->val ? -1 : a->val > b->val;
}

static void
sidx_sort(struct sidx *x)
{
	if (x->n)
		qsort(x->e, x->n, sizeof *x->e, sent_cmp);
}

/* First entry with key (s, n), or NULL; entries with the same key follow. */
static const struct sent *
sidx_find(const struct sidx *x, const char *s, size_t n, size_t *count)
{
	size_t lo = 0, hi = x->n, k;

	*count = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (keycmp(x->e[mid].key, x->e[mid].klen, s, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo; k < x->n && keycmp(x->e[k].key, x->e[k].klen, s, n) == 0; k++)
		(*count)++;
	return *count ? &x->e[lo] : NULL;
}

/* ---- the analyzer: per-language indexes ------------------------------- */

#define SINKREF(r, s) (((uint32_t)(r) << 8) | (uint32_t)(s))
#define SINKREF_RULE(v) ((v) >> 8)
#define SINKREF_SINK(v) ((v) & 0xff)

struct lang_idx {
	struct sidx call_sinks, kw_sinks, assign_sinks;
	struct sidx src_first, arg_src, san_last, prop_last;
	struct sidx pat_first;
	uint32_t *pat_any;           /* patterns whose first element is not literal */
	size_t npat_any;
	uint32_t *creds;             /* credential rules */
	size_t ncreds;
	int has_taint;
};

struct vg_analyzer {
	const struct vg_ruleset *rs;
	struct lang_idx L[VG_LANG__COUNT];
	uint32_t *secrets;           /* secret rules, in file order */
	size_t nsecrets;
};

static void
lang_idx_free(struct lang_idx *l)
{
	free(l->call_sinks.e);
	free(l->kw_sinks.e);
	free(l->assign_sinks.e);
	free(l->src_first.e);
	free(l->arg_src.e);
	free(l->san_last.e);
	free(l->prop_last.e);
	free(l->pat_first.e);
	free(l->pat_any);
	free(l->creds);
}

void
vg_analyzer_free(struct vg_analyzer *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < VG_LANG__COUNT; i++)
		lang_idx_free(&a->L[i]);
	free(a->secrets);
	free(a);
}

static int
push_u32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv = realloc(*v, (*n + 1) * sizeof *nv);

	if (!nv)
		return -1;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

/* Index the rules of one language. */
static int
build_lang(struct vg_analyzer *a, enum vg_lang lg)
{
	const struct vg_ruleset *rs = a->rs;
	const struct vg_taint_lang *t = &rs->taint[lg];
	struct lang_idx *l = &a->L[lg];
	size_t i, k, j;

	for (i = 0; i < rs->n; i++) {
		const struct vg_rule *r = &rs->rules[i];

		if (!(r->langs & (1u << lg)))
			continue;
		if (r->kind == VG_MATCH_TAINT) {
			l->has_taint = 1;
			for (k = 0; k < r->nsinks && k < 256; k++) {
				const struct vg_sink *s = &r->sinks[k];
				int rc = 0;

				if (s->kind == VG_SINK_CALL)
					rc = sidx_add(&l->call_sinks, s->chain.comp[s->chain.n - 1], SINKREF(i, k));
				else if (s->kind == VG_SINK_ASSIGN)
					rc = sidx_add(&l->assign_sinks, s->chain.comp[s->chain.n - 1], SINKREF(i, k));
				else
					rc = sidx_add(&l->kw_sinks, s->keyword, SINKREF(i, k));
				if (rc)
					return -1;
			}
		} else if (r->kind == VG_MATCH_PATTERN) {
			for (k = 0; k < r->npats && k < 256; k++) {
				const struct vg_pel *el = &r->pats[k]->els[0];

				if (el->kind == VG_PEL_LIT) {
					for (j = 0; j < el->nalts; j++)
						if (sidx_add(&l->pat_first, el->alts[j], SINKREF(i, k)))
							return -1;
				} else if (push_u32(&l->pat_any, &l->npat_any, SINKREF(i, k))) {
					return -1;
				}
			}
		} else if (r->kind == VG_MATCH_CREDENTIAL) {
			if (push_u32(&l->creds, &l->ncreds, (uint32_t)i))
				return -1;
		}
	}
	for (i = 0; i < t->nsources; i++) {
		const struct vg_chain *c = &t->sources[i].chain;

		if (t->sources[i].taints_arg == -1) {
			if (sidx_add(&l->src_first, c->comp[0], (uint32_t)i))
				return -1;
		} else if (sidx_add(&l->arg_src, c->comp[c->n - 1], (uint32_t)i)) {
			return -1;
		}
	}
	for (i = 0; i < t->nsanitizers; i++)
		if (sidx_add(&l->san_last, t->sanitizers[i].chain.comp[t->sanitizers[i].chain.n - 1],
		    (uint32_t)i))
			return -1;
	for (i = 0; i < t->nprops; i++)
		if (sidx_add(&l->prop_last, t->props[i].chain.comp[t->props[i].chain.n - 1], (uint32_t)i))
			return -1;
	sidx_sort(&l->call_sinks);
	sidx_sort(&l->kw_sinks);
	sidx_sort(&l->assign_sinks);
	sidx_sort(&l->src_first);
	sidx_sort(&l->arg_src);
	sidx_sort(&l->san_last);
	sidx_sort(&l->prop_last);
	sidx_sort(&l->pat_first);
	return 0;
}

enum vg_err
vg_analyzer_new(const struct vg_ruleset *rs, struct vg_analyzer **out)
{
	struct vg_analyzer *a = calloc(1, sizeof *a);
	size_t i;
	int lg;

	*out = NULL;
	if (!a)
		return VG_ERR_NOMEM;
	a->rs = rs;
	for (lg = VG_LANG_C; lg < VG_LANG__COUNT; lg++)
		if (build_lang(a, (enum vg_lang)lg))
			goto fail;
	for (i = 0; i < rs->n; i++)
		if (rs->rules[i].kind == VG_MATCH_SECRET &&
		    push_u32(&a->secrets, &a->nsecrets, (uint32_t)i))
			goto fail;
	*out = a;
	return VG_OK;
fail:
	vg_analyzer_free(a);
	return VG_ERR_NOMEM;
}

/* ---- small helpers ---------------------------------------------------- */

double
vg_entropy(const char *s, size_t n)
{
	unsigned cnt[256];
	double h = 0;
	size_t i;

	if (n == 0)
		return 0;
	memset(cnt, 0, sizeof cnt);
	for (i = 0; i < n; i++)
		cnt[(unsigned char)s[i]]++;
	for (i = 0; i < 256; i++)
		if (cnt[i]) {
			double p = (double)cnt[i] / (double)n;

			h -= p * log2(p);
		}
	return h;
}

static const char *const test_dirs[] = {
	"test", "tests", "spec", "specs", "__tests__", "testdata", "testing",
	"fixtures", "fixture", "mock", "mocks", "example", "examples",
	"sample", "samples", "demo", NULL
};

/* Whether n bytes at name are the name of a test or example folder. */
static int
test_dir_n(const char *name, size_t n)
{
	size_t k;

	for (k = 0; test_dirs[k]; k++)
		if (strlen(test_dirs[k]) == n && strncasecmp(name, test_dirs[k], n) == 0)
			return 1;
	return 0;
}

int
vg_path_is_test_dir(const char *name)
{
	return test_dir_n(name, strlen(name));
}

int
vg_path_is_test(const char *path)
{
	const char *p = path, *base;
	size_t n;

	while (*p) {
		const char *sl = strchr(p, '/');

		if (!sl)
			break;
		if (test_dir_n(p, (size_t)(sl - p)))
			return 1;
		p = sl + 1;
	}
	base = p;
	n = strlen(base);
	if (strncmp(base, "test_", 5) == 0 || strcmp(base, "conftest.py") == 0)
		return 1;
	if ((n > 8 && strcmp(base + n - 8, "_test.go") == 0) ||
	    (n > 8 && strcmp(base + n - 8, "_test.py") == 0) ||
	    strstr(base, ".test.") || strstr(base, ".spec.") ||
	    (n > 9 && strcmp(base + n - 9, "Test.java") == 0) ||
	    (n > 10 && strcmp(base + n - 10, "Tests.java") == 0))
		return 1;
	return 0;
}

/* ---- per-file context ------------------------------------------------- */

struct tvar {
	const char *p;
	uint32_t len;
	uint32_t mask;
	const char *op;    /* where the taint came from, for messages */
	uint32_t olen;
};

struct unit {
	char *name;
	int32_t pb, pe;    /* parameter tokens (exclusive), -1 when none */
};

struct fcache {
	const regex_t *re;
	int res;
};

struct ctx {
	struct vg_analyzer *A;
	const struct lang_idx *L;
	const struct vg_taint_lang *T;
	const struct vg_ruleset *rs;
	const char *path, *src;
	size_t len;
	enum vg_lang lang;
	int in_test;
	struct vg_file_scan *fs;
	struct vg_lex lx;
	uint32_t *unit_of, *posin;
	struct unit *units;
	size_t nunits;
	struct fcache fc[64];
	size_t nfc;
	/* the unit being audited */
	const uint32_t *P;
	size_t np;
	uint32_t u;
	struct tvar tv[MAX_TVARS];
	size_t ntv;
	uint32_t arrays[128];     /* tokens of fixed-size array names */
	size_t narrays;
	int arrays_done;
	size_t lo_off;            /* line_of_c's cache */
	uint32_t lo_line;
	enum vg_err err;
};

#define TK(C, p) (&(C)->lx.toks[(C)->P[(p)]])

static int
budget(struct ctx *C, uint64_t n)
{
	C->fs->steps += n;
	return C->fs->steps < STEP_BUDGET;
}

static int
pis(struct ctx *C, size_t p, const char *s)
{
	return p < C->np && vg_tok_is(&C->lx, C->P[p], s);
}

static int
pkind(struct ctx *C, size_t p, enum vg_tok_kind k)
{
	return p < C->np && TK(C, p)->kind == k;
}

static int
text_eq(struct ctx *C, uint32_t tok, const char *s)
{
	return vg_tok_is(&C->lx, tok, s);
}

/* Position of the bracket paired with position p, or NO_POS. */
static size_t
mpos(struct ctx *C, size_t p)
{
	int32_t m = TK(C, p)->match;

	if (m < 0 || C->unit_of[m] != C->u)
		return NO_POS;
	return C->posin[m];
}

static int
is_sep(struct ctx *C, size_t p)
{
	/* In PHP '.' joins strings; members are reached with -> and :: only. */
	return (C->lang != VG_LANG_PHP && pis(C, p, ".")) || pis(C, p, "->") || pis(C, p, "::") || pis(C, p, "?.") ||
	    pis(C, p, "?->");
}

static int
is_opener(struct ctx *C, size_t p)
{
	return pis(C, p, "(") || pis(C, p, "[") || pis(C, p, "{");
}

static int
is_closer(struct ctx *C, size_t p)
{
	return pis(C, p, ")") || pis(C, p, "]") || pis(C, p, "}");
}

/* Whether the file matches re (cached per file). */
static int
file_matches(struct ctx *C, const regex_t *re)
{
	size_t i;
	int res;

	for (i = 0; i < C->nfc; i++)
		if (C->fc[i].re == re)
			return C->fc[i].res;
	res = regexec(re, C->src, 0, NULL, 0) == 0;
	if (C->nfc < sizeof C->fc / sizeof C->fc[0]) {
		C->fc[C->nfc].re = re;
		C->fc[C->nfc].res = res;
		C->nfc++;
	}
	return res;
}

/* Run re over n bytes (copied to a NUL-terminated buffer). */
static int
re_match_n(const regex_t *re, const char *s, size_t n)
{
	char buf[1024];

	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return regexec(re, buf, 0, NULL, 0) == 0;
}

static int
mask_overlaps(const struct vg_file_scan *fs, uint32_t off, uint32_t len)
{
	size_t i;

	for (i = 0; i < fs->nmasks; i++)
		if (off < fs->masks[i].off + fs->masks[i].len && fs->masks[i].off < off + len)
			return 1;
	return 0;
}

static int
add_mask(struct vg_file_scan *fs, uint32_t off, uint32_t len)
{
	if (fs->nmasks == fs->mcap) {
		size_t nc = fs->mcap ? fs->mcap * 2 : 8;
		struct vg_mask_range *nm = realloc(fs->masks, nc * sizeof *nm);

		if (!nm)
			return -1;
		fs->masks = nm;
		fs->mcap = nc;
	}
	fs->masks[fs->nmasks].off = off;
	fs->masks[fs->nmasks].len = len;
	fs->nmasks++;
	return 0;
}

static enum vg_err
add_hit(struct vg_file_scan *fs, const struct vg_rule *r, uint32_t off, uint32_t line,
    uint32_t line_end, uint32_t col, char *norm, char *msg, const char *func, int in_test)
{
	struct vg_hit *h;

	if (!norm || !msg) {
		free(norm);
		free(msg);
		return VG_ERR_NOMEM;
	}
	if (fs->nhits >= MAX_HITS) {
		/* A file with thousands of hits is generated or hostile: keep
		 * the first ones and say the file was cut short. */
		fs->truncated = 1;
		free(norm);
		free(msg);
		return VG_OK;
	}
	if (fs->nhits == fs->hcap) {
		size_t nc = fs->hcap ? fs->hcap * 2 : 16;
		struct vg_hit *nh = realloc(fs->hits, nc * sizeof *nh);

		if (!nh) {
			free(norm);
			free(msg);
			return VG_ERR_NOMEM;
		}
		fs->hits = nh;
		fs->hcap = nc;
	}
	h = &fs->hits[fs->nhits];
	memset(h, 0, sizeof *h);
	h->rule = r;
	h->off = off;
	h->line = line;
	h->line_end = line_end < line ? line : line_end;
	h->col = col;
	h->norm = norm;
	h->message = msg;
	h->func = strdup(func ? func : "");
	h->in_test = in_test;
	if (!h->func) {
		free(norm);
		free(msg);
		return VG_ERR_NOMEM;
	}
	fs->nhits++;
	return VG_OK;
}

static char *
strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
strfmt(const char *fmt, ...)
{
	struct vg_buf b;
	va_list ap;

	vg_buf_init(&b, 4096);
	va_start(ap, fmt);
	if (vg_buf_vprintf(&b, fmt, ap) != VG_OK) {
		va_end(ap);
		vg_buf_free(&b);
		return NULL;
	}
	va_end(ap);
	return b.data ? vg_buf_detach(&b) : strdup("");
}

/* ---- snippets --------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, want;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		want = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		want = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		want = 4;
	else
		return 0;
	if (n < want)
		return 0;
	for (k = 1; k < want; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return want;
}

char *
vg_snippet(const char *src, size_t len, const struct vg_file_scan *fs,
    size_t at, uint32_t nlines, size_t max)
{
	struct vg_buf b;
	size_t off = at > len ? len : at, end, i;
	uint32_t l = 1;
	int lead = 1;

	vg_buf_init(&b, max + 16);
	/* From the start of the line holding `at` (looking back a bounded
	 * distance) to the end of the nlines-th line, never past max bytes. */
	while (off > 0 && src[off - 1] != '\n' && at - off < max)
		off--;
	end = off;
	while (end < len && end - off < 4 * max) {
		if (src[end] == '\n') {
			if (l >= nlines)
				break;
			l++;
		}
		end++;
	}
	lead = 1;
	for (i = off; i < end && b.len < max;) {
		size_t k, m;
		int masked = 0;

		for (k = 0; fs && k < fs->nmasks; k++)
			if (i >= fs->masks[k].off && i < (size_t)fs->masks[k].off + fs->masks[k].len) {
				char mk[32];

				vg_secret_mask(src + fs->masks[k].off, fs->masks[k].len, mk, sizeof mk);
				if (i == fs->masks[k].off)
					vg_buf_append_str(&b, mk);
				i = (size_t)fs->masks[k].off + fs->masks[k].len;
				masked = 1;
				break;
			}
		if (masked) {
			lead = 0;
			continue;
		}
		if (lead && (src[i] == ' ' || src[i] == '\t')) {
			i++;
			continue;
		}
		lead = src[i] == '\n';
		if (src[i] == '\r') {
			i++;
			continue;
		}
		m = utf8_len((const unsigned char *)src + i, end - i);
		if (m == 0 || (m == 1 && (unsigned char)src[i] < 0x20 && src[i] != '\n' && src[i] != '\t')) {
			vg_buf_append_char(&b, '?');
			i++;
			continue;
		}
		if (b.len + m > max)
			break;
		vg_buf_append(&b, src + i, m);
		i += m;
	}
	if (i < end && b.len >= max)
		vg_buf_append_str(&b, "...");
	return b.data ? vg_buf_detach(&b) : strdup("");
}

/* ---- secrets over text ------------------------------------------------ */

static int
all_same_or_sequential(const char *s, size_t n)
{
	size_t i, same = 1, seq = 1;

	for (i = 1; i < n; i++) {
		if (s[i] != s[0])
			same = 0;
		if (s[i] != s[i - 1] + 1)
			seq = 0;
	}
	return n > 0 && (same || seq);
}

/* Whether value looks like a placeholder, a reference or an example. */
static int
is_placeholder(const struct vg_rule *r, const char *v, size_t n)
{
	size_t i;

	if (all_same_or_sequential(v, n))
		return 1;
	for (i = 0; i < n; i++)
		if (v[i] == '$' || v[i] == '{' || v[i] == '<' || v[i] == '%')
			return 1;   /* ${VAR}, {{ tpl }}, <your-key>, %(name)s */
	return r->placeholder && re_match_n(r->placeholder, v, n);
}

/* Build the normalized text of a line with the masked range replaced. */
static char *
norm_line(struct ctx *C, size_t ls, size_t le)
{
	struct vg_buf b;
	size_t i;
	int sp = 0;

	vg_buf_init(&b, NORM_MAX + 16);
	for (i = ls; i < le && b.len < NORM_MAX; i++) {
		size_t k;
		int masked = 0;

		for (k = 0; k < C->fs->nmasks; k++)
			if (i >= C->fs->masks[k].off && i < (size_t)C->fs->masks[k].off + C->fs->masks[k].len) {
				vg_buf_append_str(&b, "<secret>");
				i = (size_t)C->fs->masks[k].off + C->fs->masks[k].len - 1;
				masked = 1;
				break;
			}
		if (masked)
			continue;
		if (C->src[i] == ' ' || C->src[i] == '\t' || C->src[i] == '\r') {
			sp = 1;
			continue;
		}
		if (sp && b.len)
			vg_buf_append_char(&b, ' ');
		sp = 0;
		vg_buf_append_char(&b, C->src[i]);
	}
	return b.data ? vg_buf_detach(&b) : strdup("");
}

/* Line number of off; counts on from the last answer when it can, so
 * many hits in one file cost one pass. */
static uint32_t
line_of_c(struct ctx *C, size_t off)
{
	const char *p, *e = C->src + off;

	if (off < C->lo_off) {
		C->lo_off = 0;
		C->lo_line = 1;
	}
	p = C->src + C->lo_off;
	while ((p = memchr(p, '\n', (size_t)(e - p)))) {
		C->lo_line++;
		p++;
	}
	C->lo_off = off;
	return C->lo_line;
}

static size_t
line_start(const char *s, size_t off)
{
	size_t ls = off;

	while (ls > 0 && s[ls - 1] != '\n' && off - ls < MAX_LINE_SCAN)
		ls--;
	return ls;
}

static size_t
line_end(const char *s, size_t n, size_t off)
{
	size_t lim = n - off > MAX_LINE_SCAN ? off + MAX_LINE_SCAN : n;
	const char *nl = memchr(s + off, '\n', lim - off);

	return nl ? (size_t)(nl - s) : lim;
}

/* Report a secret found at [off, off+n) on the line [ls, le). */
static enum vg_err
secret_hit(struct ctx *C, const struct vg_rule *r, size_t off, size_t n, size_t ls,
    size_t le, uint32_t line)
{
	char mk[32];

	if (mask_overlaps(C->fs, (uint32_t)off, (uint32_t)n))
		return VG_OK;
	if (add_mask(C->fs, (uint32_t)off, (uint32_t)n))
		return VG_ERR_NOMEM;
	vg_secret_mask(C->src + off, n, mk, sizeof mk);
	return add_hit(C->fs, r, (uint32_t)off, line, line, (uint32_t)(off - ls + 1), norm_line(C, ls, le),
	    strfmt("%s: %s%s", r->title, mk, C->in_test ? " (in a test or example file)" : ""),
	    "", C->in_test);
}

/*
 * Known formats: find the next literal prefix, then try the anchored regex
 * once, at the start the prefix implies.  Each prefix's next occurrence is
 * remembered and each try reads a bounded window, so the scan stays linear
 * even when a prefix occurs millions of times.
 */
static enum vg_err
scan_regex_secret(struct ctx *C, const struct vg_rule *r)
{
	const char *s = C->src;
	size_t n = C->len, pos = 0, next[8], plen[8];
	enum vg_err err = VG_OK;
	char pfx[8][32];
	size_t npfx = 0, k;

	if (r->prefix) {
		const char *p = r->prefix;

		while (*p && npfx < 8) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);

			if (l > 0 && l < sizeof pfx[0]) {
				memcpy(pfx[npfx], p, l);
				pfx[npfx][l] = '\0';
				plen[npfx] = l;
				next[npfx] = (size_t)-1;   /* not searched yet */
				npfx++;
			}
			p += l + (bar ? 1 : 0);
		}
	}
	while (pos < n && !err) {
		size_t hit = n, start, le, we;
		regmatch_t m[11];
		char win[4096 + 1];
		const char *nl;
		int g = r->secret_group + 1;   /* the anchored form adds a group */

		if (npfx) {
			for (k = 0; k < npfx; k++) {
				if (next[k] == (size_t)-1 || (next[k] < pos && next[k] != n)) {
					const char *f = memmem(s + pos, n - pos, pfx[k], plen[k]);

					next[k] = f ? (size_t)(f - s) : n;
				}
				if (next[k] < hit)
					hit = next[k];
			}
			if (hit >= n)
				break;
		} else {
			/* No prefix: try each line start (rules should give one). */
			hit = pos;
		}
		/* Where the match would start: at the prefix, or a little before
		 * it over back_chars (a URL scheme, a key's own prefix). */
		start = hit;
		while (r->back_chars && start > 0 && hit - start < 256 && start > pos &&
		    s[start - 1] && strchr(r->back_chars, s[start - 1]))
			start--;
		/* Look for the line end only as far as the window reaches: a
		 * 50 MB line must not be searched once per hit. */
		we = n - start > 4096 ? start + 4096 : n;
		nl = memchr(s + start, '\n', we - start);
		le = nl ? (size_t)(nl - s) : we;
		we = le;
		if (!budget(C, 16))
			break;
		/* The window goes to a stack buffer: no allocation per try, and
		 * the regex engine never sees the (maybe huge) rest of the file. */
		memcpy(win, s + start, we - start);
		win[we - start] = '\0';
		if (regexec(r->anchored, win, 11, m, 0) == 0 && m[g].rm_so >= 0 &&
		    m[g].rm_eo > m[g].rm_so) {
			size_t so = start + (size_t)m[g].rm_so, eo = start + (size_t)m[g].rm_eo;

			if (!is_placeholder(r, s + so, eo - so))
				err = secret_hit(C, r, so, eo - so, line_start(s, so), line_end(s, n, so),
				    line_of_c(C, so));
			pos = start + (size_t)m[0].rm_eo;
		} else {
			pos = npfx ? hit + 1 : le + 1;
		}
		if (pos <= hit)
			pos = hit + 1;
	}
	return err;
}

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-' || c == '.' || c == '$';
}

static int
value_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-' || c == '.' || c == '+' || c == '/' || c == '=' || c == '~' ||
	    c == '!' || c == '@' || c == '#' || c == '^' || c == '&' || c == '*';
}

/*
 * Assignment-shaped secrets on one line: KEY <sep> VALUE where KEY matches
 * the rule's name regex, and VALUE is long and random enough (entropy
 * rules) or simply present (credential rules on config files).
 */
static enum vg_err
scan_line_assign(struct ctx *C, const struct vg_rule *r, size_t ls, size_t le, uint32_t line)
{
	const char *s = C->src;
	size_t i;

	for (i = ls; i < le; i++) {
		size_t ke, kb, vb, ve, sep = i;
		char q = 0;
		int letters = 0, digits = 0;
		size_t j;

		if (s[i] != '=' && s[i] != ':')
			continue;
		if (i + 1 < le && (s[i + 1] == '=' || (s[i] == ':' && s[i + 1] == ':')))
			{ i++; continue; }   /* ==, :: */
		if (i > ls && (s[i - 1] == '!' || s[i - 1] == '<' || s[i - 1] == '>' ||
		    s[i - 1] == '=' || s[i - 1] == ':'))
			continue;
		/* key: back over blanks and a closing quote */
		ke = i;
		while (ke > ls && (s[ke - 1] == ' ' || s[ke - 1] == '\t'))
			ke--;
		if (ke > ls && (s[ke - 1] == '"' || s[ke - 1] == '\''))
			ke--;
		kb = ke;
		while (kb > ls && key_char(s[kb - 1]))
			kb--;
		if (kb == ke || ke - kb > 128)
			continue;
		/* value */
		vb = sep + 1;
		if (vb < le && (s[vb] == '>' || s[vb] == '='))
			vb++;
		while (vb < le && (s[vb] == ' ' || s[vb] == '\t'))
			vb++;
		if (vb < le && (s[vb] == '"' || s[vb] == '\'' || s[vb] == '`'))
			q = s[vb++];
		ve = vb;
		while (ve < le && (q ? s[ve] != q : value_char(s[ve])))
			ve++;
		if (q && ve >= le)
			continue;   /* unterminated: not a literal on this line */
		if (ve - vb < (r->min_length ? r->min_length : 8) || ve - vb > 512)
			continue;
		if (!re_match_n(r->name, s + kb, ke - kb))
			continue;
		for (j = vb; j < ve; j++) {
			if (s[j] == ' ' || (!q && !value_char(s[j])))
				break;
			if ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))
				letters++;
			else if (s[j] >= '0' && s[j] <= '9')
				digits++;
		}
		if (j < ve)
			continue;   /* blanks inside: a message, not a secret */
		if (r->entropy > 0) {
			double e = vg_entropy(s + vb, ve - vb);
			int hex = 1;

			for (j = vb; j < ve; j++)
				if (!((s[j] >= '0' && s[j] <= '9') || (s[j] >= 'a' && s[j] <= 'f') ||
				    (s[j] >= 'A' && s[j] <= 'F')))
					hex = 0;
			if (!letters || !digits)
				continue;
			if (e < (hex ? r->entropy - 0.5 : r->entropy))
				continue;
		}
		/* A value naming the key, or an identifier-looking value, is not one. */
		if (!r->entropy && (ve - vb == ke - kb) && strncasecmp(s + vb, s + kb, ve - vb) == 0)
			continue;
		if (is_placeholder(r, s + vb, ve - vb))
			continue;
		if (!q && (memchr(s + vb, '(', ve - vb) || (ve < le && s[ve] == '(')))
			continue;   /* a call, not a value */
		return secret_hit(C, r, vb, ve - vb, ls, le, line);
	}
	return VG_OK;
}

/* Line-oriented rules: entropy secrets, and credentials in config files. */
static enum vg_err
scan_lines(struct ctx *C, const struct vg_rule *const *rules, size_t nrules)
{
	const char *s = C->src;
	size_t pos = 0, k;
	uint32_t line = 1;
	enum vg_err err = VG_OK;

	while (pos < C->len && !err) {
		const char *nl = memchr(s + pos, '\n', C->len - pos);
		size_t le = nl ? (size_t)(nl - s) : C->len;

		if (le - pos <= MAX_LINE_SCAN) {
			/* Cheap filter: only lines with a separator can match. */
			if (memchr(s + pos, '=', le - pos) || memchr(s + pos, ':', le - pos))
				for (k = 0; k < nrules && !err; k++)
					err = scan_line_assign(C, rules[k], pos, le, line);
		}
		if (!budget(C, (le - pos) / 16 + 1))
			break;
		pos = le + 1;
		line++;
	}
	return err;
}

static enum vg_err
scan_secrets(struct ctx *C)
{
	const struct vg_rule *lines[32];
	size_t nlines = 0, i;
	enum vg_err err = VG_OK;

	for (i = 0; i < C->A->nsecrets && !err; i++) {
		const struct vg_rule *r = &C->rs->rules[C->A->secrets[i]];

		if (!(r->langs & (1u << C->lang)))
			continue;
		if (r->regex) {
			err = scan_regex_secret(C, r);
		} else if (!C->in_test && nlines < 32) {
			lines[nlines++] = r;
		}
	}
	/* Credentials in config files (code files use the token form). */
	if (C->lang == VG_LANG_TEXT && !C->in_test)
		for (i = 0; i < C->rs->n && nlines < 32; i++)
			if (C->rs->rules[i].kind == VG_MATCH_CREDENTIAL &&
			    (C->rs->rules[i].langs & (1u << VG_LANG_TEXT)))
				lines[nlines++] = &C->rs->rules[i];
	if (!err && nlines)
		err = scan_lines(C, lines, nlines);
	return err;
}

/* ---- normalized statement text ---------------------------------------- */

static int
tok_masked(struct ctx *C, uint32_t ti)
{
	return C->fs->nmasks && mask_overlaps(C->fs, C->lx.toks[ti].off, C->lx.toks[ti].len);
}

/* Tokens of positions [s, e) joined by single spaces, secrets replaced. */
static char *
norm_stmt(struct ctx *C, size_t s, size_t e)
{
	struct vg_buf b;
	size_t p;

	vg_buf_init(&b, NORM_MAX + 256);
	for (p = s; p < e && b.len < NORM_MAX; p++) {
		const struct vg_tok *t = TK(C, p);
		size_t n = t->len > 200 ? 200 : t->len;

		if (p > s)
			vg_buf_append_char(&b, ' ');
		if (tok_masked(C, C->P[p]))
			vg_buf_append_str(&b, "<secret>");
		else
			vg_buf_append(&b, C->src + t->off, n);
	}
	return b.data ? vg_buf_detach(&b) : strdup("");
}

/* ---- functions (units) ------------------------------------------------ */

static const char *const control_kw[] = {
	"if", "for", "while", "switch", "catch", "with", "synchronized", "foreach",
	"elseif", "lock", "using", "until", "when", "guard", "return", "sizeof",
	"typeof", "elif", NULL
};
static const char *const block_kw[] = {
	"else", "try", "do", "finally", "class", "struct", "enum", "union",
	"interface", "namespace", "extends", "implements", "trait", "impl",
	"record", "static", "select", "default", "case", NULL
};

static int
tok_in(struct vg_lex *lx, size_t i, const char *const *list)
{
	size_t k;

	for (k = 0; list[k]; k++)
		if (vg_tok_is(lx, i, list[k]))
			return 1;
	return 0;
}

/*
 * Whether the '{' at token i opens a function body (brace languages).
 * On yes, *name_tok is the name token (or -1 for an anonymous one) and
 * *po and *pc the parameter parentheses.
 */
static int
is_function_brace(struct vg_lex *lx, size_t i, int32_t *name_tok, int32_t *po, int32_t *pc)
{
	const char *s = lx->src;
	long j = (long)i - 1;
	int steps = 0;

	*name_tok = -1;
	*po = *pc = -1;
	if (j < 0)
		return 0;
	if (vg_tok_is(lx, (size_t)j, "=>") || (lx->lang == VG_LANG_JAVA && vg_tok_is(lx, (size_t)j, "->")))
		return 1;
	while (j >= 0 && steps++ < 32) {
		const struct vg_tok *t = &lx->toks[j];

		if (t->kind == VG_TK_PUNCT && t->len == 1 && s[t->off] == ')') {
			long o = t->match, b;

			if (o < 0 || o == 0)
				return 0;
			b = o - 1;
			if (lx->toks[b].kind == VG_TK_IDENT) {
				if (tok_in(lx, (size_t)b, control_kw))
					return 0;
				if (b > 0 && vg_tok_is(lx, (size_t)b - 1, "new"))
					return 0;
				*name_tok = (vg_tok_is(lx, (size_t)b, "function") ||
				    vg_tok_is(lx, (size_t)b, "func") || vg_tok_is(lx, (size_t)b, "use")) ?
				    -1 : (int32_t)b;
				*po = (int32_t)o;
				*pc = (int32_t)j;
				return 1;
			}
			if (vg_tok_is(lx, (size_t)b, ")")) {
				/* Go: func f(args) (results) { */
				j = b;
				continue;
			}
			if (vg_tok_is(lx, (size_t)b, ">")) {
				*po = (int32_t)o;
				*pc = (int32_t)j;
				return 1;
			}
			return 0;
		}
		if (t->kind == VG_TK_IDENT) {
			if (tok_in(lx, (size_t)j, block_kw))
				return 0;
			j--;
			continue;
		}
		if (t->kind == VG_TK_PUNCT && (vg_tok_is(lx, (size_t)j, ",") || vg_tok_is(lx, (size_t)j, ".") ||
		    vg_tok_is(lx, (size_t)j, "*") || vg_tok_is(lx, (size_t)j, "&") ||
		    vg_tok_is(lx, (size_t)j, ":") || vg_tok_is(lx, (size_t)j, "<") ||
		    vg_tok_is(lx, (size_t)j, ">") || vg_tok_is(lx, (size_t)j, "[") ||
		    vg_tok_is(lx, (size_t)j, "]") || vg_tok_is(lx, (size_t)j, "?") ||
		    vg_tok_is(lx, (size_t)j, "|") || vg_tok_is(lx, (size_t)j, "::") ||
		    vg_tok_is(lx, (size_t)j, "->") || vg_tok_is(lx, (size_t)j, "..."))) {
			j--;
			continue;
		}
		return 0;
	}
	return 0;
}

/* A printable name for a unit: its identifier, or the route string near an
 * anonymous function ("<anon '/users'>"), so fingerprints tell them apart. */
static char *
unit_name(struct vg_lex *lx, int32_t name_tok, int32_t po)
{
	size_t n;
	const char *t;
	long j;

	if (name_tok >= 0) {
		t = vg_tok_text(lx, (size_t)name_tok, &n);
		return strndup(t, n > 120 ? 120 : n);
	}
	for (j = (po >= 0 ? po : 0) - 1; j >= 0 && j >= po - 12; j--)
		if (lx->toks[j].kind == VG_TK_STR) {
			t = vg_tok_text(lx, (size_t)j, &n);
			return strfmt("<anon %.*s>", (int)(n > 80 ? 80 : n), t);
		}
	return strdup("<anon>");
}

static int
add_unit(struct ctx *C, char *name, int32_t pb, int32_t pe)
{
	struct unit *nu;

	if (!name)
		return -1;
	nu = realloc(C->units, (C->nunits + 1) * sizeof *nu);
	if (!nu) {
		free(name);
		return -1;
	}
	C->units = nu;
	C->units[C->nunits].name = name;
	C->units[C->nunits].pb = pb;
	C->units[C->nunits].pe = pe;
	C->nunits++;
	return 0;
}

/* Assign every token to a unit: 0 is file level, others outermost functions. */
static int
find_units(struct ctx *C)
{
	struct vg_lex *lx = &C->lx;
	size_t i, k;

	if (add_unit(C, strdup(""), -1, -1))
		return -1;
	if (C->lang == VG_LANG_PYTHON) {
		for (i = 0; i < lx->n; i++) {
			size_t d = i, e, colon;
			uint16_t ind;

			if (!(lx->toks[i].flags & VG_TF_BOL))
				continue;
			if (vg_tok_is(lx, i, "async") && i + 1 < lx->n)
				d = i + 1;
			if (!vg_tok_is(lx, d, "def") || d + 2 >= lx->n || !vg_tok_is(lx, d + 2, "("))
				continue;
			ind = lx->toks[i].indent;
			colon = lx->toks[d + 2].match > 0 ? (size_t)lx->toks[d + 2].match : d + 2;
			while (colon < lx->n && !vg_tok_is(lx, colon, ":") && colon < d + 64)
				colon++;
			if (colon >= lx->n)
				break;
			for (e = colon + 1; e < lx->n; e++)
				if ((lx->toks[e].flags & VG_TF_BOL) && lx->toks[e].indent <= ind)
					break;
			if (add_unit(C, unit_name(lx, (int32_t)d + 1, -1), (int32_t)d + 3,
			    (int32_t)(lx->toks[d + 2].match > 0 ? lx->toks[d + 2].match : (int32_t)d + 3)))
				return -1;
			for (k = colon + 1; k < e; k++)
				C->unit_of[k] = (uint32_t)(C->nunits - 1);
			i = e - 1;
		}
		return 0;
	}
	for (i = 0; i < lx->n; i++) {
		int32_t name, po, pc;
		size_t end;

		if (!(lx->toks[i].kind == VG_TK_PUNCT && lx->toks[i].len == 1 &&
		    lx->src[lx->toks[i].off] == '{'))
			continue;
		if (!is_function_brace(lx, i, &name, &po, &pc))
			continue;
		end = lx->toks[i].match > 0 ? (size_t)lx->toks[i].match : lx->n - 1;
		if (add_unit(C, unit_name(lx, name, po), po >= 0 ? po + 1 : -1, pc))
			return -1;
		for (k = i; k <= end; k++)
			C->unit_of[k] = (uint32_t)(C->nunits - 1);
		i = end;
	}
	return 0;
}

/* ---- chains ----------------------------------------------------------- */

struct chain {
	uint32_t comp[MAX_CHAIN];   /* token indices */
	size_t n;
};

/* Forward chain from position p (an identifier): a.b->c::d, stopping at the
 * first call, subscript or other token.  Returns the position after it. */
static size_t
fwd_chain(struct ctx *C, size_t p, size_t e, struct chain *ch)
{
	ch->n = 0;
	while (p < e && pkind(C, p, VG_TK_IDENT) && ch->n < MAX_CHAIN) {
		ch->comp[ch->n++] = C->P[p];
		if (p + 2 < e && is_sep(C, p + 1) && pkind(C, p + 2, VG_TK_IDENT))
			p += 2;
		else
			return p + 1;
	}
	return p;
}

/* Backward chain of the callee whose '(' is at position p: walks back over
 * identifiers, separators, and call/subscript groups (getRuntime().exec). */
static void
back_chain(struct ctx *C, size_t p, size_t s, struct chain *ch)
{
	uint32_t tmp[MAX_CHAIN];
	size_t n = 0, q = p, k;

	ch->n = 0;
	while (q > s && n < MAX_CHAIN) {
		size_t i = q - 1;

		if (!pkind(C, i, VG_TK_IDENT))
			break;
		tmp[n++] = C->P[i];
		if (i < s + 1 || !is_sep(C, i - 1))
			break;
		q = i - 1;   /* at the separator */
		while (q > s && (pis(C, q - 1, ")") || pis(C, q - 1, "]"))) {
			size_t o = mpos(C, q - 1);

			if (o == NO_POS || o < s)
				break;
			q = o;
		}
	}
	for (k = 0; k < n; k++)
		ch->comp[k] = tmp[n - 1 - k];
	ch->n = n;
}

static int
comp_eq(struct ctx *C, uint32_t tok, const char *pat)
{
	return (pat[0] == '*' && pat[1] == '\0') || text_eq(C, tok, pat);
}

static int
chain_suffix(struct ctx *C, const struct vg_chain *c, const struct chain *ch)
{
	size_t k;

	if (c->n > ch->n || (c->anchored && c->n != ch->n))
		return 0;
	for (k = 0; k < c->n; k++)
		if (!comp_eq(C, ch->comp[ch->n - 1 - k], c->comp[c->n - 1 - k]))
			return 0;
	return 1;
}

/* Whether c occurs as a contiguous run of ch starting at component at. */
static int
chain_at(struct ctx *C, const struct vg_chain *c, const struct chain *ch, size_t at)
{
	size_t k;

	if (at + c->n > ch->n || (c->anchored && at != 0))
		return 0;
	for (k = 0; k < c->n; k++)
		if (!comp_eq(C, ch->comp[at + k], c->comp[k]))
			return 0;
	return 1;
}

/* The value source occurring in ch, or -1. */
static long
find_source(struct ctx *C, const struct chain *ch)
{
	size_t at, cnt, k;

	for (at = 0; at < ch->n; at++) {
		size_t n;
		const char *t = vg_tok_text(&C->lx, ch->comp[at], &n);
		const struct sent *e = sidx_find(&C->L->src_first, t, n, &cnt);

		for (k = 0; e && k < cnt; k++)
			if (chain_at(C, &C->T->sources[e[k].val].chain, ch, at))
				return (long)e[k].val;
	}
	return -1;
}

/* Classes cleared by a sanitizer whose chain ends ch, 0 if none. */
static uint32_t
find_sanitizer(struct ctx *C, const struct chain *ch)
{
	size_t n, cnt, k;
	const char *t;
	const struct sent *e;
	uint32_t m = 0;

	if (ch->n == 0)
		return 0;
	t = vg_tok_text(&C->lx, ch->comp[ch->n - 1], &n);
	e = sidx_find(&C->L->san_last, t, n, &cnt);
	for (k = 0; e && k < cnt; k++)
		if (chain_suffix(C, &C->T->sanitizers[e[k].val].chain, ch))
			m |= C->T->sanitizers[e[k].val].clears;
	return m;
}

/* ---- taint state ------------------------------------------------------ */

static struct tvar *
tv_find(struct ctx *C, const char *p, size_t n)
{
	size_t i;

	for (i = C->ntv; i-- > 0;)
		if (C->tv[i].len == n && memcmp(C->tv[i].p, p, n) == 0)
			return &C->tv[i];
	return NULL;
}

static void
tv_set(struct ctx *C, const char *p, size_t n, uint32_t mask, const char *op, size_t olen)
{
	struct tvar *v = tv_find(C, p, n);

	if (!v) {
		if (mask == 0)
			return;
		if (C->ntv == MAX_TVARS)
			return;   /* bounded; later variables stay untainted */
		v = &C->tv[C->ntv++];
		v->p = p;
		v->len = (uint32_t)n;
	}
	v->mask = mask;
	v->op = op;
	v->olen = (uint32_t)olen;
}

/* Mask of a chain read: its root, or any dotted prefix of it. */
static uint32_t
chain_read_mask(struct ctx *C, const struct chain *ch, const char **op, size_t *olen)
{
	uint32_t m = 0;
	size_t k;

	for (k = 0; k < ch->n; k++) {
		const struct vg_tok *a = &C->lx.toks[ch->comp[0]], *b = &C->lx.toks[ch->comp[k]];
		struct tvar *v = tv_find(C, C->src + a->off, b->off + b->len - a->off);

		if (v && v->mask) {
			m |= v->mask;
			if (op && !*op) {
				*op = v->op;
				*olen = v->olen;
			}
		}
	}
	return m;
}

static const char *const numeric_types[] = {
	"int", "long", "short", "float", "double", "bool", "boolean", "integer",
	"size_t", "ssize_t", "unsigned", "uint", "int64", "int32", "uint64",
	"uint32", "float64", "Integer", "Long", "Double", "Boolean", NULL
};

static int
is_numeric_type(struct ctx *C, size_t p)
{
	return p < C->np && tok_in(&C->lx, C->P[p], numeric_types);
}

static uint32_t expr_mask(struct ctx *C, size_t s, size_t e, const char **op, size_t *olen);

/* Taint carried by an interpolating string: identifiers and chains inside
 * its {...}, ${...} or $var parts. */
static uint32_t
interp_mask(struct ctx *C, size_t p, const char **op, size_t *olen)
{
	const struct vg_tok *t = TK(C, p);
	const char *s = C->src + t->off, *end = s + t->len;
	uint32_t m = 0;

	while (s < end) {
		const char *w = s, *we;
		size_t k, at;
		const char *comps[MAX_CHAIN];
		size_t clen[MAX_CHAIN], nc = 0;

		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '$')) {
			s++;
			continue;
		}
		/* A chain of words joined by '.', '->' or "['x']". */
		we = s;
		while (we < end && nc < MAX_CHAIN) {
			const char *c0 = we;

			while (we < end && ((*we >= 'a' && *we <= 'z') || (*we >= 'A' && *we <= 'Z') ||
			    (*we >= '0' && *we <= '9') || *we == '_' || *we == '$'))
				we++;
			if (we == c0)
				break;
			comps[nc] = c0;
			clen[nc++] = (size_t)(we - c0);
			if (we < end && *we == '.')
				we++;
			else if (we + 1 < end && we[0] == '-' && we[1] == '>')
				we += 2;
			else
				break;
		}
		s = we > w ? we : w + 1;
		if (nc == 0)
			continue;
		/* tainted variables: the root or a dotted prefix */
		for (k = 0; k < nc; k++) {
			struct tvar *v = tv_find(C, comps[0], (size_t)(comps[k] + clen[k] - comps[0]));

			if (v && v->mask) {
				m |= v->mask;
				if (!*op) {
					*op = v->op;
					*olen = v->olen;
				}
			}
		}
		/* value sources written inside the string */
		for (at = 0; at < nc; at++) {
			size_t cnt, j;
			const struct sent *e = sidx_find(&C->L->src_first, comps[at], clen[at], &cnt);

			for (j = 0; e && j < cnt; j++) {
				const struct vg_chain *c = &C->T->sources[e[j].val].chain;
				size_t q;
				int ok = at + c->n <= nc && !(c->anchored && at != 0);

				for (q = 0; ok && q < c->n; q++)
					if (!(c->comp[q][0] == '*' && !c->comp[q][1]) &&
					    (strlen(c->comp[q]) != clen[at + q] ||
					    memcmp(c->comp[q], comps[at + q], clen[at + q]) != 0))
						ok = 0;
				if (ok) {
					m |= VG_TAINT_ALL;
					if (!*op) {
						*op = comps[0];
						*olen = (size_t)(comps[nc - 1] + clen[nc - 1] - comps[0]);
					}
				}
			}
		}
	}
	return m;
}

/*
 * The taint classes of the expression at positions [s, e): sources,
 * tainted variables and interpolated strings, minus what sanitizers and
 * numeric casts neutralise.  *op gets a description of the first origin.
 */
static uint32_t
expr_mask(struct ctx *C, size_t s, size_t e, const char **op, size_t *olen)
{
	uint32_t m = 0;
	size_t p = s;

	if (!budget(C, e > s ? e - s : 1))
		return 0;
	while (p < e) {
		const struct vg_tok *t = TK(C, p);

		if (t->kind == VG_TK_IDENT && !(p > s && is_sep(C, p - 1))) {
			struct chain ch;
			size_t after = fwd_chain(C, p, e, &ch);
			int call = pis(C, after, "(");
			long src;
			uint32_t clear;

			if (ch.n == 0) {
				p++;
				continue;
			}
			if (call && (clear = find_sanitizer(C, &ch)) != 0) {
				size_t close = mpos(C, after);

				if (close == NO_POS || close > e)
					close = e;
				m |= expr_mask(C, after + 1, close, op, olen) & ~clear;
				p = close + 1;
				continue;
			}
			src = find_source(C, &ch);
			if (src >= 0) {
				const struct vg_tok *a = &C->lx.toks[ch.comp[0]],
				    *b = &C->lx.toks[ch.comp[ch.n - 1]];

				m |= VG_TAINT_ALL;
				if (!*op) {
					*op = C->src + a->off;
					*olen = b->off + b->len - a->off;
				}
				if (call) {
					size_t close = mpos(C, after);

					p = (close == NO_POS || close > e) ? e : close + 1;
				} else {
					p = after;
				}
				continue;
			}
			m |= chain_read_mask(C, &ch, op, olen);
			p = after;
			continue;
		}
		if (t->kind == VG_TK_STR && (t->flags & VG_TF_INTERP)) {
			m |= interp_mask(C, p, op, olen);
			p++;
			continue;
		}
		/* (int) x: a numeric cast neutralises its operand. */
		if (pis(C, p, "(") && is_numeric_type(C, p + 1) && pis(C, p + 2, ")") && p + 3 < e) {
			size_t q = p + 3;

			if (pkind(C, q, VG_TK_IDENT)) {
				struct chain ch;

				q = fwd_chain(C, q, e, &ch);
				if (pis(C, q, "(")) {
					size_t close = mpos(C, q);

					q = (close == NO_POS || close > e) ? e : close + 1;
				}
				while (pis(C, q, "[")) {
					size_t close = mpos(C, q);

					q = (close == NO_POS || close > e) ? e : close + 1;
				}
			} else if (pis(C, q, "(")) {
				size_t close = mpos(C, q);

				q = (close == NO_POS || close > e) ? e : close + 1;
			} else {
				q++;
			}
			p = q;
			continue;
		}
		p++;
	}
	return m;
}

/* ---- statements -------------------------------------------------------- */

static const char *const assign_ops[] = {
	"=", ":=", "+=", ".=", "||=", "?\?=", "|=", "<-", NULL
};

/* Position of the statement's first depth-0 assignment operator, or NO_POS. */
static size_t
find_assign(struct ctx *C, size_t s, size_t e)
{
	size_t p, d = 0;

	for (p = s; p < e; p++) {
		if (is_opener(C, p))
			d++;
		else if (is_closer(C, p) && d > 0)
			d--;
		else if (d == 0 && TK(C, p)->kind == VG_TK_PUNCT && tok_in(&C->lx, C->P[p], assign_ops)) {
			if (pis(C, p, "<-") && C->lang != VG_LANG_GO)
				continue;
			return p;
		}
	}
	return NO_POS;
}

/* Split the arguments of the call whose '(' is at position o. */
static size_t
split_args(struct ctx *C, size_t o, size_t close, size_t *as, size_t *ae, size_t max)
{
	size_t p, d = 0, n = 0, start = o + 1;

	if (close == o + 1)
		return 0;
	for (p = o + 1; p <= close && n < max; p++) {
		if (p == close || (d == 0 && pis(C, p, ","))) {
			if (p > start) {
				as[n] = start;
				ae[n] = p;
				n++;
			}
			start = p + 1;
			continue;
		}
		if (is_opener(C, p))
			d++;
		else if (is_closer(C, p) && d > 0)
			d--;
	}
	return n;
}

/* Whether [s, e) is a keyword argument "name = ..." (Python style). */
static int
kwarg_name(struct ctx *C, size_t s, size_t e, const char **name, size_t *n)
{
	if (e - s >= 2 && pkind(C, s, VG_TK_IDENT) && pis(C, s + 1, "=")) {
		*name = vg_tok_text(&C->lx, C->P[s], n);
		return 1;
	}
	return 0;
}

/* ---- token patterns ---------------------------------------------------- */

/* Fixed-size array names declared in the current unit (C): T name[N]. */
static void
collect_arrays(struct ctx *C)
{
	size_t p;

	C->arrays_done = 1;
	C->narrays = 0;
	for (p = 1; p + 2 < C->np && C->narrays < 128; p++) {
		size_t close;

		if (!pkind(C, p, VG_TK_IDENT) || !pis(C, p + 1, "["))
			continue;
		if (!(pkind(C, p - 1, VG_TK_IDENT) || pis(C, p - 1, "*")))
			continue;
		if (pis(C, p + 2, "]"))
			continue;   /* T name[] = "...": sized by its initializer, still fixed */
		close = mpos(C, p + 1);
		if (close == NO_POS || close + 1 >= C->np)
			continue;
		if (pis(C, close + 1, ";") || pis(C, close + 1, "=") || pis(C, close + 1, ",") ||
		    pis(C, close + 1, "["))
			C->arrays[C->narrays++] = C->P[p];
	}
}

static int
is_array_name(struct ctx *C, size_t p)
{
	size_t k, n;
	const char *t;

	if (!C->arrays_done)
		collect_arrays(C);
	t = vg_tok_text(&C->lx, C->P[p], &n);
	for (k = 0; k < C->narrays; k++) {
		const struct vg_tok *a = &C->lx.toks[C->arrays[k]];

		if (a->len == n && memcmp(C->src + a->off, t, n) == 0)
			return 1;
	}
	return 0;
}

/* End of one argument starting at p (next depth-0 ',' or closer). */
static size_t
arg_end(struct ctx *C, size_t p, size_t e)
{
	size_t d = 0;

	for (; p < e; p++) {
		if (is_opener(C, p))
			d++;
		else if (is_closer(C, p)) {
			if (d == 0)
				return p;
			d--;
		} else if (d == 0 && pis(C, p, ",")) {
			return p;
		}
	}
	return e;
}

static int
el_regex_ok(struct ctx *C, const struct vg_pel *el, size_t p)
{
	const char *t;
	size_t n;

	if (!el->re)
		return 1;
	if (TK(C, p)->kind == VG_TK_STR)
		t = vg_tok_str_body(&C->lx, C->P[p], &n);
	else
		t = vg_tok_text(&C->lx, C->P[p], &n);
	return re_match_n(el->re, t, n);
}

/* Match elements k.. of pat at position p within [., e); *endp on success. */
static int
pmatch(struct ctx *C, const struct vg_pattern *pat, size_t k, size_t p, size_t e, size_t *endp)
{
	const struct vg_pel *el;
	size_t j, q;

	if (!budget(C, 1))
		return 0;
	if (k == pat->n) {
		*endp = p;
		return 1;
	}
	el = &pat->els[k];
	if (el->kind == VG_PEL_DOTS) {
		for (q = p; q <= e;) {
			if (pmatch(C, pat, k + 1, q, e, endp))
				return 1;
			if (q == e || is_closer(C, q))
				return 0;
			if (is_opener(C, q)) {
				size_t m = mpos(C, q);

				q = (m == NO_POS || m >= e) ? e : m + 1;
			} else {
				q++;
			}
		}
		return 0;
	}
	if (p >= e)
		return 0;
	switch (el->kind) {
	case VG_PEL_LIT:
		for (j = 0; j < el->nalts; j++)
			if (pis(C, p, el->alts[j]))
				return pmatch(C, pat, k + 1, p + 1, e, endp);
		return 0;
	case VG_PEL_ID:
		return pkind(C, p, VG_TK_IDENT) && el_regex_ok(C, el, p) &&
		    pmatch(C, pat, k + 1, p + 1, e, endp);
	case VG_PEL_STR:
		return pkind(C, p, VG_TK_STR) && el_regex_ok(C, el, p) &&
		    pmatch(C, pat, k + 1, p + 1, e, endp);
	case VG_PEL_NUM:
		return pkind(C, p, VG_TK_NUM) && el_regex_ok(C, el, p) &&
		    pmatch(C, pat, k + 1, p + 1, e, endp);
	case VG_PEL_ANY:
		if (is_closer(C, p))
			return 0;
		if (is_opener(C, p)) {
			size_t m = mpos(C, p);

			return m != NO_POS && m < e && pmatch(C, pat, k + 1, m + 1, e, endp);
		}
		return pmatch(C, pat, k + 1, p + 1, e, endp);
	case VG_PEL_ARRAY:
		return pkind(C, p, VG_TK_IDENT) && is_array_name(C, p) &&
		    pmatch(C, pat, k + 1, p + 1, e, endp);
	case VG_PEL_ARG:
	case VG_PEL_NONLIT:
		q = arg_end(C, p, e);
		if (q == p)
			return 0;
		if (el->kind == VG_PEL_NONLIT) {
			/* constants: one literal, or sizeof(...), or a constant-case name */
			if (q == p + 1 && (pkind(C, p, VG_TK_STR) || pkind(C, p, VG_TK_NUM)))
				return 0;
			if (pis(C, p, "sizeof"))
				return 0;
			if (q == p + 1 && pkind(C, p, VG_TK_IDENT)) {
				const char *t;
				size_t n, i;
				int upper = 1;

				t = vg_tok_text(&C->lx, C->P[p], &n);
				for (i = 0; i < n; i++)
					if ((t[i] >= 'a' && t[i] <= 'z'))
						upper = 0;
				if (upper)
					return 0;
			}
		}
		if (el->re) {
			const struct vg_tok *a = TK(C, p), *b = TK(C, q - 1);

			if (!re_match_n(el->re, C->src + a->off, b->off + b->len - a->off))
				return 0;
		}
		return pmatch(C, pat, k + 1, q, e, endp);
	case VG_PEL_DOTS:
		break;
	}
	return 0;
}

/* Whether pat matches anywhere in [s, e). */
static int
pmatch_any(struct ctx *C, const struct vg_pattern *pat, size_t s, size_t e)
{
	size_t p, end;

	for (p = s; p < e; p++)
		if (pmatch(C, pat, 0, p, e, &end))
			return 1;
	return 0;
}

/* Identifiers and literals of [s, e), for a rule's context regex. */
static int
context_ok(struct ctx *C, const regex_t *re, size_t s, size_t e)
{
	struct vg_buf b;
	size_t p;
	int ok;

	/* Only the statement's own names: a function called reset_token may
	 * also roll dice. */
	vg_buf_init(&b, 4096);
	for (p = s; p < e; p++)
		if (pkind(C, p, VG_TK_IDENT) || pkind(C, p, VG_TK_STR)) {
			const struct vg_tok *t = TK(C, p);

			vg_buf_append_char(&b, ' ');
			if (vg_buf_append(&b, C->src + t->off, t->len > 64 ? 64 : t->len))
				break;
		}
	ok = regexec(re, vg_buf_str(&b), 0, NULL, 0) == 0;
	vg_buf_free(&b);
	return ok;
}

/* The whole unit's positions: [0, np). */
static int
unless_in_unit(struct ctx *C, const struct vg_rule *r)
{
	size_t k;

	for (k = 0; k < r->nunless_fn; k++)
		if (pmatch_any(C, r->unless_fn[k], 0, C->np))
			return 1;
	return 0;
}

static enum vg_err
hit_at(struct ctx *C, const struct vg_rule *r, size_t anchor, size_t s, size_t e, char *msg)
{
	const struct vg_tok *a = TK(C, anchor), *last = TK(C, e > s ? e - 1 : s);
	uint32_t ls = a->off, col = 1;

	while (ls > 0 && C->src[ls - 1] != '\n' && a->off - ls < 100000)
		ls--;
	col = a->off - ls + 1;
	return add_hit(C->fs, r, a->off, a->line, last->line > a->line + 20 ? a->line + 20 : last->line,
	    col, norm_stmt(C, s, e), msg, C->units[C->u].name, C->in_test);
}

/* Pattern rules over one statement. */
static enum vg_err
stmt_patterns(struct ctx *C, size_t s, size_t e)
{
	size_t p, k, end;
	enum vg_err err = VG_OK;
	uint32_t fired[64];
	size_t nfired = 0;

	for (p = s; p < e && !err; p++) {
		size_t n, cnt, j;
		const char *t = vg_tok_text(&C->lx, C->P[p], &n);
		const struct sent *ent = sidx_find(&C->L->pat_first, t, n, &cnt);
		size_t total = cnt + C->L->npat_any;

		for (j = 0; j < total && !err; j++) {
			uint32_t ref = j < cnt ? ent[j].val : C->L->pat_any[j - cnt];
			const struct vg_rule *r = &C->rs->rules[SINKREF_RULE(ref)];
			const struct vg_pattern *pat = r->pats[SINKREF_SINK(ref)];
			int dup = 0;

			if (!pmatch(C, pat, 0, p, e, &end))
				continue;
			for (k = 0; k < nfired; k++)
				if (fired[k] == SINKREF_RULE(ref))
					dup = 1;
			if (dup)
				continue;
			if (r->file && !file_matches(C, r->file))
				continue;
			if (r->file_unless && file_matches(C, r->file_unless))
				continue;
			for (k = 0; k < r->nunless; k++)
				if (pmatch_any(C, r->unless[k], s, e))
					break;
			if (k < r->nunless)
				continue;
			if (r->context && !context_ok(C, r->context, s, e))
				continue;
			if (r->nunless_fn && unless_in_unit(C, r))
				continue;
			if (nfired < 64)
				fired[nfired++] = SINKREF_RULE(ref);
			err = hit_at(C, r, p, s, e, strfmt("%s", r->title));
		}
	}
	return err;
}

/* ---- taint over one statement ------------------------------------------ */

/* Whether a checked argument is safe by a literal prefix (fixed host). */
static int
safe_by_prefix(struct ctx *C, const struct vg_sink *sk, size_t s)
{
	const char *b;
	size_t n;

	if (!sk->safe_prefix || !pkind(C, s, VG_TK_STR))
		return 0;
	b = vg_tok_str_body(&C->lx, C->P[s], &n);
	return re_match_n(sk->safe_prefix, b, n);
}

static int
literal_ok(struct ctx *C, const struct vg_sink *sk, size_t s, size_t e)
{
	size_t p;

	if (!sk->literal)
		return 1;
	for (p = s; p < e; p++)
		if (pkind(C, p, VG_TK_STR)) {
			size_t n;
			const char *b = vg_tok_str_body(&C->lx, C->P[p], &n);

			if (re_match_n(sk->literal, b, n))
				return 1;
		}
	return 0;
}

static enum vg_err
taint_hit(struct ctx *C, const struct vg_rule *r, size_t anchor, size_t s, size_t e,
    const struct chain *callee, const char *op, size_t olen)
{
	struct vg_buf b;
	size_t k;
	char *msg;

	vg_buf_init(&b, 512);
	vg_buf_printf(&b, "Untrusted data from %.*s reaches ", (int)(olen > 80 ? 80 : olen),
	    op ? op : "a source");
	if (callee && callee->n) {
		for (k = 0; k < callee->n; k++) {
			size_t n;
			const char *t = vg_tok_text(&C->lx, callee->comp[k], &n);

			vg_buf_printf(&b, "%s%.*s", k ? "." : "", (int)(n > 60 ? 60 : n), t);
		}
		vg_buf_append_str(&b, "()");
	} else {
		size_t n;
		const char *t = vg_tok_text(&C->lx, C->P[anchor], &n);

		vg_buf_printf(&b, "%.*s", (int)(n > 60 ? 60 : n), t);
	}
	vg_buf_printf(&b, " (%s)", r->title);
	msg = b.data ? vg_buf_detach(&b) : strdup("");
	/* Origins are code, never string contents, so nothing to mask here. */
	return hit_at(C, r, anchor, s, e, msg);
}

/* Check one call sink at the '(' in position o. */
static enum vg_err
check_call_sink(struct ctx *C, const struct vg_rule *r, const struct vg_sink *sk,
    const struct chain *callee, size_t o, size_t s, size_t e)
{
	size_t close = mpos(C, o), as[64], ae[64], na, i, pos_i = 0;
	uint32_t bit = 1u << r->cls;

	if (close == NO_POS || close > e)
		close = e;
	if (!chain_suffix(C, &sk->chain, callee))
		return VG_OK;
	if (sk->file && !file_matches(C, sk->file))
		return VG_OK;
	if (sk->when && !pmatch_any(C, sk->when, o, close))
		return VG_OK;
	if (sk->unless && pmatch_any(C, sk->unless, o, close))
		return VG_OK;
	na = split_args(C, o, close, as, ae, 64);
	for (i = 0; i < na; i++) {
		const char *kn;
		size_t kl, k, vs = as[i];
		int check = 0, is_kw = kwarg_name(C, as[i], ae[i], &kn, &kl);

		if (is_kw) {
			vs = as[i] + 2;
			for (k = 0; k < sk->nkwargs; k++)
				if (strlen(sk->kwargs[k]) == kl && memcmp(sk->kwargs[k], kn, kl) == 0)
					check = 1;
			if (!sk->nargs && !sk->nkwargs)
				check = 1;
		} else {
			if (!sk->nargs && !sk->nkwargs)
				check = 1;
			for (k = 0; k < sk->nargs; k++)
				if (sk->args[k] == (int)pos_i || (sk->args[k] < 0 &&
				    (int)na + sk->args[k] == (int)i))
					check = 1;
			pos_i++;
		}
		if (!check || vs >= ae[i] || safe_by_prefix(C, sk, vs) ||
		    !literal_ok(C, sk, vs, ae[i]))
			continue;
		{
			const char *op = NULL;
			size_t olen = 0;

			if (expr_mask(C, vs, ae[i], &op, &olen) & bit)
				return taint_hit(C, r, o > 0 ? o - 1 : o, s, e, callee, op, olen);
		}
	}
	return VG_OK;
}

/* Sinks of every taint rule within one statement. */
static enum vg_err
stmt_sinks(struct ctx *C, size_t s, size_t e)
{
	size_t p, a, cnt, j;
	enum vg_err err = VG_OK;
	const struct sent *ent;
	uint32_t fired[32];
	size_t nfired = 0, k;

	for (p = s; p < e && !err; p++) {
		size_t n;
		const char *t;

		if (pis(C, p, "(") && p > s && pkind(C, p - 1, VG_TK_IDENT)) {
			struct chain callee;

			t = vg_tok_text(&C->lx, C->P[p - 1], &n);
			ent = sidx_find(&C->L->call_sinks, t, n, &cnt);
			if (!ent)
				continue;
			back_chain(C, p, s, &callee);
			for (j = 0; j < cnt && !err; j++) {
				uint32_t ri = SINKREF_RULE(ent[j].val);
				size_t before = C->fs->nhits;
				int dup = 0;

				for (k = 0; k < nfired; k++)
					if (fired[k] == ri)
						dup = 1;
				if (dup)
					continue;
				err = check_call_sink(C, &C->rs->rules[ri],
				    &C->rs->rules[ri].sinks[SINKREF_SINK(ent[j].val)], &callee, p, s, e);
				if (C->fs->nhits > before && nfired < 32)
					fired[nfired++] = ri;
			}
			continue;
		}
		if ((pkind(C, p, VG_TK_IDENT) || pis(C, p, "<?=")) && !(p > s && is_sep(C, p - 1))) {
			t = vg_tok_text(&C->lx, C->P[p], &n);
			ent = sidx_find(&C->L->kw_sinks, t, n, &cnt);
			for (j = 0; ent && j < cnt && !err; j++) {
				const struct vg_rule *r = &C->rs->rules[SINKREF_RULE(ent[j].val)];
				const struct vg_sink *sk = &r->sinks[SINKREF_SINK(ent[j].val)];
				const char *op = NULL;
				size_t olen = 0, vs = p + 1;

				if (sk->file && !file_matches(C, sk->file))
					continue;
				if (!literal_ok(C, sk, vs, e) || safe_by_prefix(C, sk, vs))
					continue;
				if (expr_mask(C, vs, e, &op, &olen) & (1u << r->cls)) {
					err = taint_hit(C, r, p, s, e, NULL, op, olen);
					break;
				}
			}
		}
	}
	/* Assignment sinks: el.innerHTML = tainted */
	a = find_assign(C, s, e);
	if (!err && a != NO_POS && a > s && pkind(C, a - 1, VG_TK_IDENT)) {
		size_t n;
		const char *t = vg_tok_text(&C->lx, C->P[a - 1], &n);

		ent = sidx_find(&C->L->assign_sinks, t, n, &cnt);
		for (j = 0; ent && j < cnt && !err; j++) {
			const struct vg_rule *r = &C->rs->rules[SINKREF_RULE(ent[j].val)];
			const char *op = NULL;
			size_t olen = 0;

			if (expr_mask(C, a + 1, e, &op, &olen) & (1u << r->cls))
				err = taint_hit(C, r, a - 1, s, e, NULL, op, olen);
		}
	}
	return err;
}

/* Names an assignment's left side defines: x, a.b, {x, y}, a[i] -> a. */
static void
assign_lhs(struct ctx *C, size_t s, size_t a, uint32_t mask, const char *op, size_t olen)
{
	size_t p = s;
	int numeric = 0;

	for (p = s; p < a; p++)
		if (is_numeric_type(C, p) && p + 1 < a && pkind(C, p + 1, VG_TK_IDENT))
			numeric = 1;
	if (numeric && !pis(C, a, "+=") && !pis(C, a, ".="))
		mask = 0;
	for (p = s; p < a;) {
		if (pkind(C, p, VG_TK_IDENT) && !(p > s && is_sep(C, p - 1))) {
			struct chain ch;
			size_t after = fwd_chain(C, p, a, &ch);
			const struct vg_tok *f = &C->lx.toks[ch.comp[0]], *l = &C->lx.toks[ch.comp[ch.n - 1]];

			/* Skip type names: only the last identifier before '=' or ','
			 * or a closing brace is a variable, or a chain. */
			if (after >= a || pis(C, after, ",") || pis(C, after, "}") ||
			    pis(C, after, "]") || pis(C, after, "[") || pis(C, after, ")") ||
			    pis(C, after, ":")) {
				uint32_t m = mask;

				if (pis(C, a, "+=") || pis(C, a, ".=") || pis(C, a, "||=")) {
					struct tvar *v = tv_find(C, C->src + f->off, l->off + l->len - f->off);

					if (v)
						m |= v->mask;
				}
				tv_set(C, C->src + f->off, l->off + l->len - f->off, m, op, olen);
				if (ch.n > 1 && m)
					tv_set(C, C->src + f->off, f->len, m | (tv_find(C, C->src + f->off, f->len) ?
					    tv_find(C, C->src + f->off, f->len)->mask : 0), op, olen);
			}
			p = after;
			if (pis(C, p, "[")) {
				size_t m2 = mpos(C, p);

				p = (m2 == NO_POS || m2 >= a) ? a : m2 + 1;
			}
			continue;
		}
		p++;
	}
}

/* Calls that write taint into their arguments: fgets(buf), strcpy(dst, t),
 * and mutators such as list.append(t). */
static void
stmt_arg_effects(struct ctx *C, size_t s, size_t e)
{
	size_t p;

	for (p = s + 1; p < e; p++) {
		size_t n, cnt, j, close, as[16], ae[16], na;
		const char *t;
		const struct sent *ent;
		struct chain callee;

		if (!pis(C, p, "(") || !pkind(C, p - 1, VG_TK_IDENT))
			continue;
		close = mpos(C, p);
		if (close == NO_POS || close > e)
			continue;
		t = vg_tok_text(&C->lx, C->P[p - 1], &n);
		back_chain(C, p, s, &callee);
		na = split_args(C, p, close, as, ae, 16);
		/* argument sources */
		ent = sidx_find(&C->L->arg_src, t, n, &cnt);
		for (j = 0; ent && j < cnt; j++) {
			const struct vg_source *src = &C->T->sources[ent[j].val];
			size_t i;

			if (!chain_suffix(C, &src->chain, &callee))
				continue;
			for (i = 0; i < na; i++) {
				size_t q = as[i];

				if (!(src->taints_arg == (int)i || (src->taints_arg == -2 && i > 0)))
					continue;
				while (q < ae[i] && (pis(C, q, "&") || pis(C, q, "*")))
					q++;
				if (q < ae[i] && pkind(C, q, VG_TK_IDENT)) {
					const struct vg_tok *tk = TK(C, q);

					tv_set(C, C->src + tk->off, tk->len, VG_TAINT_ALL,
					    C->src + TK(C, p - 1)->off, TK(C, p - 1)->len);
				}
			}
		}
		/* propagators: strcpy(dst, src) */
		ent = sidx_find(&C->L->prop_last, t, n, &cnt);
		for (j = 0; ent && j < cnt; j++) {
			const struct vg_propagator *pr = &C->T->props[ent[j].val];
			uint32_t m = 0;
			const char *op = NULL;
			size_t olen = 0, i;

			if (!chain_suffix(C, &pr->chain, &callee) || (size_t)pr->to >= na)
				continue;
			for (i = 0; i < na; i++)
				if ((int)i != pr->to)
					m |= expr_mask(C, as[i], ae[i], &op, &olen);
			if (m) {
				size_t q = as[pr->to];

				while (q < ae[pr->to] && (pis(C, q, "&") || pis(C, q, "*")))
					q++;
				if (pkind(C, q, VG_TK_IDENT)) {
					const struct vg_tok *tk = TK(C, q);
					struct tvar *v = tv_find(C, C->src + tk->off, tk->len);

					tv_set(C, C->src + tk->off, tk->len, m | (v ? v->mask : 0), op, olen);
				}
			}
		}
		/* mutators: x.append(t) taints x */
		if (callee.n >= 2) {
			for (j = 0; j < C->T->nmutators; j++)
				if (text_eq(C, callee.comp[callee.n - 1], C->T->mutators[j]))
					break;
			if (j < C->T->nmutators) {
				const char *op = NULL;
				size_t olen = 0;
				uint32_t m = expr_mask(C, p + 1, close, &op, &olen);

				if (m) {
					const struct vg_tok *f = &C->lx.toks[callee.comp[0]];
					struct tvar *v = tv_find(C, C->src + f->off, f->len);

					tv_set(C, C->src + f->off, f->len, m | (v ? v->mask : 0), op, olen);
				}
			}
		}
	}
}

/* Python "for x in EXPR:" binds x from EXPR. */
static void
stmt_for_in(struct ctx *C, size_t s, size_t e)
{
	size_t p;

	if (!pis(C, s, "for"))
		return;
	for (p = s + 1; p < e; p++)
		if (pis(C, p, "in") || pis(C, p, "of")) {
			const char *op = NULL;
			size_t olen = 0;
			uint32_t m = expr_mask(C, p + 1, e, &op, &olen);

			assign_lhs(C, pis(C, s + 1, "(") ? s + 2 : s + 1, p, m, op, olen);
			return;
		}
}

static enum vg_err
stmt_run(struct ctx *C, size_t s, size_t e, int taint)
{
	enum vg_err err = VG_OK;
	size_t a;

	while (s < e && (pis(C, s, ";") || pis(C, s, "?>")))
		s++;
	while (e > s && (pis(C, e - 1, ";") || pis(C, e - 1, "?>")))
		e--;
	if (s >= e)
		return VG_OK;
	if (taint && (err = stmt_sinks(C, s, e)))
		return err;
	if ((err = stmt_patterns(C, s, e)))
		return err;
	if (!taint)
		return VG_OK;
	stmt_arg_effects(C, s, e);
	stmt_for_in(C, s, e);
	a = find_assign(C, s, e);
	if (a != NO_POS && a > s) {
		const char *op = NULL;
		size_t olen = 0;
		uint32_t m = expr_mask(C, a + 1, e, &op, &olen);

		assign_lhs(C, s, a, m, op, olen);
	}
	return VG_OK;
}

/* ---- statement splitting ---------------------------------------------- */

static const char *const cont_end[] = {   /* a line ending with these goes on */
	"+", "-", "*", "/", "%", ".", ",", "=", "==", "===", "!=", "&&", "||", "?",
	"=>", "+=", ".=", "(", "[", "|", "&", "->", "::", "<<", ">>", "and", "or",
	"not", "??", "<", ">", "<=", ">=", ":=", "\\", NULL
};
static const char *const cont_start[] = { /* a line starting with these goes on */
	".", "?.", "->", "+", "*", "/", "&&", "||", "?", ":", ")", "]", "==", "!=",
	"=", "+=", ".=", "=>", ",", "??", "and", "or", NULL
};
static const char *const py_block[] = {
	"if", "elif", "else", "for", "while", "with", "try", "except", "finally",
	"def", "class", "async", NULL
};
static const char *const expr_brace_prev[] = {
	"=", ":=", "(", ",", ":", "[", "return", "?", "??", "||", "&&", "const",
	"let", "var", "=>", "<?=", "echo", NULL
};

/* Whether the '{' at position p is part of an expression, not a block. */
static int
expr_brace(struct ctx *C, size_t s, size_t p)
{
	size_t q;

	if (C->lang == VG_LANG_PYTHON)
		return 1;
	if (p == s)
		return 0;
	if (tok_in(&C->lx, C->P[p - 1], expr_brace_prev) && !pis(C, p - 1, "=>"))
		return 1;
	/* Go composite literals: x := T{...}, []T{...} */
	if ((pkind(C, p - 1, VG_TK_IDENT) || pis(C, p - 1, "]")) && C->lang == VG_LANG_GO)
		for (q = s; q < p; q++)
			if (pis(C, q, ":=") || pis(C, q, "=") || pis(C, q, "return"))
				return 1;
	return 0;
}

/* A dead "if (false) {...}" / "if False:" block starting at position s:
 * the position after it, or NO_POS. */
static size_t
dead_block_end(struct ctx *C, size_t s, size_t e)
{
	size_t q = s + 1, p;
	int paren = 0;

	if (!pis(C, s, "if"))
		return NO_POS;
	if (pis(C, q, "(")) {
		paren = 1;
		q++;
	}
	if (!(pis(C, q, "false") || pis(C, q, "False") || pis(C, q, "0") || pis(C, q, "FALSE")))
		return NO_POS;
	q++;
	if (paren) {
		if (!pis(C, q, ")"))
			return NO_POS;
		q++;
	}
	if (C->lang == VG_LANG_PYTHON) {
		uint16_t ind = TK(C, s)->indent;

		if (!pis(C, q, ":"))
			return NO_POS;
		for (p = q + 1; p < C->np; p++)
			if ((TK(C, p)->flags & VG_TF_BOL) && TK(C, p)->indent <= ind)
				break;
		return p;
	}
	if (pis(C, q, "{")) {
		size_t m = mpos(C, q);

		return m == NO_POS ? C->np : m + 1;
	}
	(void)e;
	return NO_POS;
}

/* Whether the statement ends before position p (a new line starts one). */
static int
line_break(struct ctx *C, size_t s, size_t p)
{
	if (p == s || !(TK(C, p)->flags & VG_TF_BOL))
		return 0;
	if (C->lang == VG_LANG_C && pis(C, s, "#"))
		return 1;
	if (C->lang == VG_LANG_C || C->lang == VG_LANG_JAVA || C->lang == VG_LANG_PHP)
		return 0;   /* ';' ends statements there */
	if (tok_in(&C->lx, C->P[p - 1], cont_end) || tok_in(&C->lx, C->P[p], cont_start))
		return 0;
	return 1;
}

/* Split the current unit into statements and run each. */
static enum vg_err
run_unit(struct ctx *C, int taint)
{
	size_t s = 0, p = 0, depth = 0;
	enum vg_err err = VG_OK;
	uint64_t ebr = 0;   /* bit stack: which open braces are expressions */
	size_t bdepth = 0;

	C->ntv = 0;
	C->arrays_done = 0;
	/* Parameters annotated as request data are tainted from the start. */
	if (taint && C->units[C->u].pb >= 0 && C->T->nparam_annotations) {
		int32_t i, pe = C->units[C->u].pe;

		for (i = C->units[C->u].pb; i < pe && i < (int32_t)C->lx.n; i++) {
			size_t k;
			int32_t j, d = 0, last = -1;

			if (!vg_tok_is(&C->lx, (size_t)i, "@") || i + 1 >= pe)
				continue;
			for (k = 0; k < C->T->nparam_annotations; k++)
				if (vg_tok_is(&C->lx, (size_t)i + 1, C->T->param_annotations[k]))
					break;
			if (k == C->T->nparam_annotations)
				continue;
			for (j = i + 2; j < pe; j++) {
				if (vg_tok_is(&C->lx, (size_t)j, "(")) {
					d++;
				} else if (vg_tok_is(&C->lx, (size_t)j, ")")) {
					d--;
				} else if (d == 0 && vg_tok_is(&C->lx, (size_t)j, ",")) {
					break;
				} else if (d == 0 && C->lx.toks[j].kind == VG_TK_IDENT) {
					last = j;
				}
			}
			if (last >= 0)
				tv_set(C, C->src + C->lx.toks[last].off, C->lx.toks[last].len,
				    VG_TAINT_ALL, C->src + C->lx.toks[i + 1].off, C->lx.toks[i + 1].len);
		}
	}
	while (p < C->np && !err) {
		size_t dead;

		if (!budget(C, 1))
			break;
		if (p == s && (dead = dead_block_end(C, s, C->np)) != NO_POS) {
			p = s = dead;
			continue;
		}
		if (depth == 0 && line_break(C, s, p)) {
			err = stmt_run(C, s, p, taint);
			s = p;
			continue;
		}
		if (C->lang == VG_LANG_PYTHON && depth == 0 && pis(C, p, ":") &&
		    tok_in(&C->lx, C->P[s], py_block)) {
			err = stmt_run(C, s, p, taint);
			s = ++p;
			continue;
		}
		if (pis(C, p, "(") || pis(C, p, "[")) {
			depth++;
		} else if ((pis(C, p, ")") || pis(C, p, "]")) && depth > 0) {
			depth--;
		} else if (pis(C, p, "{")) {
			if (depth > 0 || expr_brace(C, s, p)) {
				if (bdepth < 64)
					ebr |= 1ull << bdepth;
				bdepth++;
				depth++;
			} else {
				if (bdepth < 64)
					ebr &= ~(1ull << bdepth);
				bdepth++;
				err = stmt_run(C, s, p, taint);
				s = p + 1;
			}
		} else if (pis(C, p, "}")) {
			int was_expr = bdepth > 0 && bdepth <= 64 && (ebr >> (bdepth - 1)) & 1;

			if (bdepth > 0)
				bdepth--;
			if (was_expr && depth > 0) {
				depth--;
			} else {
				err = stmt_run(C, s, p, taint);
				s = p + 1;
				depth = 0;
			}
		} else if (depth == 0 && (pis(C, p, ";") || pis(C, p, "?>"))) {
			err = stmt_run(C, s, p, taint);
			s = p + 1;
		}
		p++;
	}
	if (!err && s < C->np)
		err = stmt_run(C, s, C->np, taint);
	return err;
}

/* Whether any value source could appear in the unit: otherwise taint
 * cannot fire there and only patterns run. */
static int
unit_has_source(struct ctx *C)
{
	size_t p, cnt;

	if (C->units[C->u].pb >= 0 && C->T->nparam_annotations)
		return 1;
	for (p = 0; p < C->np; p++) {
		const struct vg_tok *t = TK(C, p);

		if (t->kind == VG_TK_IDENT) {
			if (sidx_find(&C->L->src_first, C->src + t->off, t->len, &cnt) ||
			    sidx_find(&C->L->arg_src, C->src + t->off, t->len, &cnt))
				return 1;
		} else if (t->kind == VG_TK_STR && (t->flags & VG_TF_INTERP)) {
			return 1;   /* a source may hide inside; let expr_mask look */
		}
	}
	return 0;
}

/* ---- credentials over tokens ------------------------------------------- */

static enum vg_err
scan_credentials(struct ctx *C)
{
	struct vg_lex *lx = &C->lx;
	size_t i, k;
	enum vg_err err = VG_OK;

	if (!C->L->ncreds || C->in_test)
		return VG_OK;
	for (i = 2; i < lx->n && !err; i++) {
		const struct vg_tok *t = &lx->toks[i];
		const char *body, *name;
		size_t bn, nn, ni;

		if (t->kind != VG_TK_STR || (t->flags & (VG_TF_INTERP | VG_TF_CHAR)))
			continue;
		if (!(vg_tok_is(lx, i - 1, "=") || vg_tok_is(lx, i - 1, ":") ||
		    vg_tok_is(lx, i - 1, "=>") || vg_tok_is(lx, i - 1, ":=") ||
		    (lx->toks[i - 1].kind == VG_TK_IDENT && vg_tok_is(lx, i - 2, "define"))))
			continue;
		ni = lx->toks[i - 1].kind == VG_TK_IDENT ? i - 1 : i - 2;
		if (lx->toks[ni].kind != VG_TK_IDENT && lx->toks[ni].kind != VG_TK_STR)
			continue;
		/* The literal must be the whole value. */
		if (i + 1 < lx->n && !(lx->toks[i + 1].flags & VG_TF_BOL) &&
		    !(vg_tok_is(lx, i + 1, ";") || vg_tok_is(lx, i + 1, ",") ||
		    vg_tok_is(lx, i + 1, ")") || vg_tok_is(lx, i + 1, "}") ||
		    vg_tok_is(lx, i + 1, "]") || vg_tok_is(lx, i + 1, "?>")))
			continue;
		if (lx->toks[ni].kind == VG_TK_STR)
			name = vg_tok_str_body(lx, ni, &nn);
		else
			name = vg_tok_text(lx, ni, &nn);
		if (nn && name[0] == '$')
			name++, nn--;
		body = vg_tok_str_body(lx, i, &bn);
		for (k = 0; k < C->L->ncreds && !err; k++) {
			const struct vg_rule *r = &C->rs->rules[C->L->creds[k]];
			uint32_t off = (uint32_t)(body - C->src);
			size_t j;
			int blank = 0;

			if (bn < (r->min_length ? r->min_length : 4) || bn > 256)
				continue;
			for (j = 0; j < bn; j++)
				if (body[j] == ' ' || body[j] == '\n' || body[j] == '\t')
					blank = 1;
			if (blank || !re_match_n(r->name, name, nn))
				continue;
			if ((bn == nn && strncasecmp(body, name, nn) == 0) || is_placeholder(r, body, bn))
				continue;
			if (mask_overlaps(C->fs, off, (uint32_t)bn))
				break;   /* already reported as a secret */
			if (add_mask(C->fs, off, (uint32_t)bn))
				return VG_ERR_NOMEM;
			{
				char mk[32];
				size_t ls = off;
				uint32_t ul = C->unit_of[i];

				while (ls > 0 && C->src[ls - 1] != '\n' && off - ls < 100000)
					ls--;
				vg_secret_mask(body, bn, mk, sizeof mk);
				err = add_hit(C->fs, r, t->off, t->line, t->line, (uint32_t)(t->off - ls + 1),
				    norm_line(C, ls, t->off + t->len),
				    strfmt("%s: %.*s = %s", r->title, (int)(nn > 60 ? 60 : nn), name, mk),
				    ul < C->nunits ? C->units[ul].name : "", 0);
			}
			break;
		}
	}
	return err;
}

/* ---- the file --------------------------------------------------------- */

void
vg_file_scan_free(struct vg_file_scan *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->nhits; i++) {
		free(fs->hits[i].norm);
		free(fs->hits[i].message);
		free(fs->hits[i].func);
	}
	free(fs->hits);
	free(fs->masks);
	memset(fs, 0, sizeof *fs);
}

/* Audit every unit of the lexed file. */
static enum vg_err
run_code(struct ctx *C)
{
	size_t i, n = C->lx.n, u;
	uint32_t *order = NULL, *starts = NULL;
	enum vg_err err = VG_OK;

	if (!(C->unit_of = calloc(n + 1, sizeof *C->unit_of)) ||
	    !(C->posin = calloc(n + 1, sizeof *C->posin))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if (find_units(C)) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = scan_credentials(C)))
		goto out;
	/* Bucket the tokens by unit, keeping file order within each. */
	if (!(order = malloc((n + 1) * sizeof *order)) ||
	    !(starts = calloc(C->nunits + 1, sizeof *starts))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		starts[C->unit_of[i] + 1]++;
	for (u = 0; u < C->nunits; u++)
		starts[u + 1] += starts[u];
	{
		uint32_t *fill = calloc(C->nunits + 1, sizeof *fill);

		if (!fill) {
			err = VG_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			uint32_t uu = C->unit_of[i];
			uint32_t at = starts[uu] + fill[uu]++;

			order[at] = (uint32_t)i;
			C->posin[i] = at - starts[uu];
		}
		free(fill);
	}
	for (u = 0; u < C->nunits && !err; u++) {
		C->u = (uint32_t)u;
		C->P = order + starts[u];
		C->np = starts[u + 1] - starts[u];
		if (C->np == 0)
			continue;
		err = run_unit(C, C->L->has_taint && unit_has_source(C));
		if (C->fs->steps >= STEP_BUDGET)
			break;
	}
out:
	free(order);
	free(starts);
	return err;
}

/*
 * Audit one file; see analyze.h.  The order matters: secrets and
 * credentials register their masks before any other hit builds its
 * normalized text, so no secret leaks into a fingerprint or message.
 */
enum vg_err
vg_analyze_file(struct vg_analyzer *a, const char *path, enum vg_lang lang,
    const char *src, size_t len, struct vg_file_scan *fs)
{
	struct ctx *C = calloc(1, sizeof *C);
	enum vg_err err = VG_OK;
	size_t i;

	memset(fs, 0, sizeof *fs);
	if (!C)
		return VG_ERR_NOMEM;
	C->A = a;
	C->rs = a->rs;
	C->L = &a->L[lang];
	C->T = &a->rs->taint[lang];
	C->path = path;
	C->src = src;
	C->len = len;
	C->lang = lang;
	C->fs = fs;
	C->in_test = vg_path_is_test(path);
	C->lo_line = 1;
	if ((err = scan_secrets(C)))
		goto out;
	if (lang == VG_LANG_TEXT || lang == VG_LANG_NONE)
		goto out;
	if ((err = vg_lex_run(&C->lx, src, len, lang, MAX_TOKENS)))
		goto out;
	fs->truncated = C->lx.truncated;
	err = run_code(C);
out:
	vg_lex_free(&C->lx);
	free(C->unit_of);
	free(C->posin);
	for (i = 0; i < C->nunits; i++)
		free(C->units[i].name);
	free(C->units);
	free(C);
	return err;
}
