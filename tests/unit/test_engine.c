/*
 * test_engine.c - lib/engine: tokenizer, globs, profiles, rule loading,
 * every rule against its vulnerable and safe snippets, the labelled corpus
 * (recall and false-positive rate per class, with floors), fingerprints,
 * masking, cancellation, hostile input, plans and reports.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "engine/analyze.h"
#include "engine/engine.h"
#include "engine/finding.h"
#include "engine/lex.h"
#include "engine/plan.h"
#include "engine/report.h"
#include "engine/rules.h"
#include "vt.h"

static char srcdir[2048], rules_dir[2100], fixtures[2100];
static struct vg_ruleset *RS;
static struct vg_analyzer *AN;

/* ---- helpers ------------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

static int
write_file(const char *path, const char *text, size_t n)
{
	FILE *fp = fopen(path, "wb");
	int ok;

	if (!fp)
		return -1;
	ok = fwrite(text, 1, n, fp) == n;
	return (fclose(fp) == 0 && ok) ? 0 : -1;
}

static int
write_str(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return write_file(path, text, strlen(text));
}

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/vg-test-engine.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char p[4096];

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", path, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

/* Audit one buffer as path; returns the hits (caller frees with scan_free). */
static int
analyze_text(const char *path, enum vg_lang lang, const char *text, struct vg_file_scan *fs)
{
	size_t n = strlen(text);
	char *copy = malloc(n + 1);
	int rc;

	memcpy(copy, text, n + 1);
	rc = vg_analyze_file(AN, path, lang, copy, n, fs);
	free(copy);
	return rc;
}

static int
has_rule(const struct vg_file_scan *fs, const char *rule)
{
	size_t i;

	for (i = 0; i < fs->nhits; i++)
		if (strcmp(fs->hits[i].rule->id, rule) == 0)
			return 1;
	return 0;
}

/* ---- the tokenizer -------------------------------------------------------- */

static void
test_lex(void)
{
	static const struct {
		enum vg_lang lang;
		const char *src;
		size_t ntok;
		const char *last;
	} cases[] = {
		{VG_LANG_C, "int x = 1; // c\n/* block */ y++;", 8, ";"},
		{VG_LANG_C, "#if 0\nsystem(x);\n#endif\nint a;", 5, ";"},
		{VG_LANG_PYTHON, "x = f'{a}' # c\ny = \"\"\"m\nl\"\"\"", 6, "\"\"\"m\nl\"\"\""},
		{VG_LANG_JS, "a = /re[/]x/g.test(s); b = `t ${c} `", 12, "`t ${c} `"},
		{VG_LANG_PHP, "<html><?php echo $x; ?><b><?= $y ?>", 7, "?>"},
		{VG_LANG_PHP, "<?php $s = <<<EOT\nhi $x\nEOT;\n", 4, ";"},
		{VG_LANG_GO, "s := `raw\nstr`; x <- ch", 7, "ch"},
		{VG_LANG_JAVA, "a->b; c::d; x >>>= 1;", 13, ";"},
		{VG_LANG_C, "\"unterminated\nx", 2, "x"},
		{VG_LANG_C, "/* never closed", 0, NULL},
		{VG_LANG_C, "((((]]]}}}", 10, "}"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_lex lx;
		size_t n;
		char name[64];

		snprintf(name, sizeof name, "lex case %zu", i);
		VT_EQ_INT(vg_lex_run(&lx, cases[i].src, strlen(cases[i].src), cases[i].lang, 1000), VG_OK, name);
		VT_EQ_INT(lx.n, cases[i].ntok, name);
		if (cases[i].last && lx.n) {
			const char *t = vg_tok_text(&lx, lx.n - 1, &n);
			char buf[64];

			snprintf(buf, sizeof buf, "%.*s", (int)n, t);
			VT_EQ_STR(buf, cases[i].last, name);
		}
		vg_lex_free(&lx);
	}
	{
		/* brackets pair, interpolation flags, token cap */
		struct vg_lex lx;
		const char *s = "f(a[1], {b})";

		vg_lex_run(&lx, s, strlen(s), VG_LANG_JS, 100);
		VT_EQ_INT(lx.toks[1].match, 10, "( pairs with )");
		VT_EQ_INT(lx.toks[3].match, 5, "[ pairs with ]");
		vg_lex_free(&lx);
		vg_lex_run(&lx, "x = f\"{y}\"", 10, VG_LANG_PYTHON, 100);
		VT_OK(lx.n == 3 && (lx.toks[2].flags & VG_TF_INTERP), "f-string is interpolating");
		vg_lex_free(&lx);
		vg_lex_run(&lx, "a b c d e f", 11, VG_LANG_C, 3);
		VT_OK(lx.n == 3 && lx.truncated, "token cap truncates");
		vg_lex_free(&lx);
	}
	VT_EQ_INT(vg_lang_from_path("a/b/x.py"), VG_LANG_PYTHON, "lang .py");
	VT_EQ_INT(vg_lang_from_path("x.TSX"), VG_LANG_JS, "lang .TSX");
	VT_EQ_INT(vg_lang_from_path("Makefile"), VG_LANG_TEXT, "lang none is text");
	VT_EQ_INT(vg_lang_from_path(".env"), VG_LANG_TEXT, "dotfile is text");
}

/* ---- globs and profiles --------------------------------------------------- */

static void
test_glob_profile(void)
{
	static const struct {
		const char *glob, *path;
		int want;
	} g[] = {
		{"docs/**", "docs/a/b.md", 1}, {"docs", "docs/x.py", 1}, {"docs/", "docs/x.py", 1},
		{"*.md", "a/b/README.md", 1}, {"*.md", "a/b/README.txt", 0}, {"src/*.c", "src/a.c", 1},
		{"src/*.c", "src/x/a.c", 0}, {"**/test_*.py", "a/b/test_x.py", 1},
		{"**/test_*.py", "test_x.py", 1}, {"a?c", "abc", 1}, {"a?c", "a/c", 0},
		{"vendor", "src/vendor/x.js", 0}, {"", "x", 0},
		{"*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
	};
	static const struct {
		const char *json;
		int ok;
	} p[] = {
		{"{\"focus\":[\"sql injection\",\"api/\"],\"out_of_scope\":[\"docs/**\"]}", 1},
		{"{\"profile\":{\"focus_areas\":[\"auth\"]}}", 1},
		{"{\"focus\":\"one\"}", 1},
		/* A threat profile's content as the API stores it. */
		{"{\"name\":\"api\",\"description\":\"d\",\"assets\":[\"db\"],"
		 "\"trust_boundaries\":[\"internet\"],\"entry_points\":[\"api/\"],"
		 "\"focus_categories\":[\"sql-injection\",\"CWE-78\"],"
		 "\"out_of_scope_paths\":[\"docs/**\"],\"min_severity\":\"medium\"}", 1},
		{"{\"focus\":[1,2]}", 0},
		{"{\"min_severity\":\"bogus\"}", 0},
		{"[1]", 0},
	};
	size_t i;

	for (i = 0; i < sizeof g / sizeof g[0]; i++) {
		char name[128];

		snprintf(name, sizeof name, "glob %s ~ %s", g[i].glob, g[i].path);
		VT_EQ_INT(vg_glob_match(g[i].glob, g[i].path), g[i].want, name);
	}
	for (i = 0; i < sizeof p / sizeof p[0]; i++) {
		json_t *j = json_loads(p[i].json, 0, NULL);
		struct vg_profile *prof = NULL;
		char name[64];

		snprintf(name, sizeof name, "profile case %zu", i);
		VT_EQ_INT(vg_profile_from_json(j, &prof) == VG_OK, p[i].ok, name);
		if (i == 0 && prof)
			VT_OK(prof->nfocus == 2 && prof->nout == 1, "profile lists parsed");
		if (i == 1 && prof)
			VT_OK(prof->nfocus == 1 && !strcmp(prof->focus[0], "auth"), "nested profile read");
		if (i == 3 && prof) {
			VT_OK(prof->nfocus == 2 && !strcmp(prof->focus[0], "sql-injection") &&
			    !strcmp(prof->focus[1], "CWE-78"), "focus_categories are the focus");
			VT_OK(prof->nout == 1 && !strcmp(prof->out_of_scope[0], "docs/**"),
			    "out_of_scope_paths are out of scope");
			VT_EQ_INT(prof->min_severity, VG_SEV_MEDIUM, "min_severity of an API profile");
			VT_EQ_STR(prof->name, "api", "its name");
		}
		vg_profile_free(prof);
		json_decref(j);
	}
}

/* ---- rule loading ---------------------------------------------------------- */

static void
test_rules_load(void)
{
	static const struct {
		const char *json;
		const char *want_in_msg;   /* NULL: loads */
	} cases[] = {
		{"{\"rules\":[{\"id\":\"t.a\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"high\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"pattern\",\"patterns\":[\"gets (\"]}}]}", NULL},
		{"{\"rules\":[{\"id\":\"t.b\"}]}", "title"},
		{"{\"rules\":[{\"id\":\"t.c\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"urgent\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"pattern\",\"patterns\":[\"x\"]}}]}", "severity"},
		{"{\"rules\":[{\"id\":\"t.d\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"low\","
		 "\"category\":\"c\",\"languages\":[\"cobol\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"pattern\",\"patterns\":[\"x\"]}}]}", "language"},
		{"{\"rules\":[{\"id\":\"t.e\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"low\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"pattern\",\"patterns\":[\"$BOGUS (\"]}}]}", "unknown element"},
		{"{\"rules\":[{\"id\":\"t.f\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"low\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"secret\",\"regex\":\"([a-z\"}}]}", "bad regex"},
		{"{\"rules\":[{\"id\":\"t.g\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"low\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"taint\",\"class\":\"x\",\"sinks\":[{\"call\":\"a..b\"}]}}]}", "chain"},
		{"{\"taint\":{\"klingon\":{}}}", "language"},
		{"not json", "JSON"},
		{"{\"rules\":[{\"id\":\"t.h\",\"title\":\"T\",\"cwe\":[1],\"severity\":\"low\","
		 "\"category\":\"c\",\"languages\":[\"c\"],\"description\":\"d\",\"recommendation\":\"r\","
		 "\"match\":{\"kind\":\"pattern\",\"patterns\":[\"... x\"]}}]}", "starts with"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_ruleset *rs = NULL;
		char msg[512], name[64];
		enum vg_err err;

		vg_ruleset_new(&rs);
		err = vg_ruleset_add_json(rs, "case.json", cases[i].json, strlen(cases[i].json), msg,
		    sizeof msg);
		snprintf(name, sizeof name, "rule file case %zu", i);
		if (!cases[i].want_in_msg) {
			VT_EQ_INT(err, VG_OK, name);
		} else {
			VT_OK(err != VG_OK && strstr(msg, cases[i].want_in_msg) != NULL, name);
			if (err == VG_OK || !strstr(msg, cases[i].want_in_msg))
				printf("# message: %s\n", msg);
		}
		vg_ruleset_free(rs);
	}
	{
		struct vg_ruleset *rs = NULL;
		char msg[512];

		VT_EQ_INT(vg_ruleset_load("/nonexistent/rules", NULL, &rs, msg, sizeof msg), VG_ERR_IO,
		    "missing rules directory is an I/O error");
		VT_OK(RS && RS->n >= 100, "built-in rules load (100+)");
		VT_OK(RS && !strncmp(RS->version, "sha256:", 7), "rules version is a hash");
	}
}

/* ---- every rule against its snippets -------------------------------------- */

static void
test_snippets(void)
{
	char path[4200], *tsv, *line, *save = NULL;
	size_t len = 0, nfire = 0, nclean = 0, i;
	/* which (rule, language) pairs have a fire and a clean case */
	static char seen_fire[512][VG_LANG__COUNT], seen_clean[512][VG_LANG__COUNT];

	snprintf(path, sizeof path, "%s/snippets/expect.tsv", fixtures);
	tsv = slurp(path, &len);
	VT_OK(tsv != NULL, "snippet table readable");
	if (!tsv)
		return;
	for (line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *p = line, *src, name[512];
		size_t k, n = 0, ri;
		struct vg_file_scan fs;
		enum vg_lang lang;
		int fire;

		if (*line == '#')
			continue;
		for (k = 0; k < 4; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (!p && k < 3)
				break;
			if (p)
				*p++ = '\0';
		}
		if (k < 3)
			continue;
		snprintf(path, sizeof path, "%s/snippets/%s", fixtures, f[0]);
		src = slurp(path, &n);
		fire = strcmp(f[2], "fire") == 0;
		lang = vg_lang_from_path(f[0]);
		snprintf(name, sizeof name, "%s %s %s", f[1], fire ? "fires on" : "stays quiet on", f[0]);
		if (!src) {
			VT_OK(0, name);
			continue;
		}
		memset(&fs, 0, sizeof fs);
		vg_analyze_file(AN, f[0], lang, src, n, &fs);
		if (!VT_OK(has_rule(&fs, f[1]) == fire, name))
			for (k = 0; k < fs.nhits; k++)
				printf("#   hit %s line %u: %s\n", fs.hits[k].rule->id, fs.hits[k].line,
				    fs.hits[k].message);
		for (ri = 0; ri < RS->n && ri < 512; ri++)
			if (!strcmp(RS->rules[ri].id, f[1])) {
				enum vg_lang l = strcmp(f[3], "any") == 0 ? VG_LANG_NONE : vg_lang_from_name(f[3]);

				if (fire)
					seen_fire[ri][l] = 1;
				else
					seen_clean[ri][l] = 1;
			}
		nfire += fire;
		nclean += !fire;
		vg_file_scan_free(&fs);
		free(src);
	}
	free(tsv);
	/* Each rule has a vulnerable and a safe snippet in each language it claims. */
	for (i = 0; i < RS->n && i < 512; i++) {
		const struct vg_rule *r = &RS->rules[i];
		int lg, all = r->langs == (0xffffffffu & ~(1u << VG_LANG_NONE));
		char name[256];

		if (all) {
			snprintf(name, sizeof name, "%s has a vulnerable and a safe snippet", r->id);
			VT_OK(seen_fire[i][VG_LANG_NONE] && seen_clean[i][VG_LANG_NONE], name);
			continue;
		}
		for (lg = VG_LANG_C; lg < VG_LANG__COUNT; lg++) {
			if (!(r->langs & (1u << lg)))
				continue;
			snprintf(name, sizeof name, "%s has a vulnerable and a safe %s snippet", r->id,
			    vg_lang_name((enum vg_lang)lg));
			VT_OK(seen_fire[i][lg] && seen_clean[i][lg], name);
		}
	}
	printf("# %zu vulnerable and %zu safe snippets\n", nfire, nclean);
}

/* ---- engine runs ---------------------------------------------------------- */

struct capture {
	struct vg_buf events;
	size_t nfindings, nevents, nprogress;
	int64_t cancel_at_us;     /* cancel once the clock passes this (0: never) */
	int64_t cancelled_seen_us;
};

static enum vg_err
cap_event(void *ctx, const struct vg_engine_event *ev)
{
	struct capture *c = ctx;
	char *s = json_dumps(ev->payload, JSON_COMPACT);

	c->nevents++;
	if (ev->type == VG_EV_SCAN_PROGRESS)
		c->nprogress++;
	vg_buf_append_str(&c->events, vg_event_type_name(ev->type));
	vg_buf_append_str(&c->events, s ? s : "");
	vg_buf_append_char(&c->events, '\n');
	free(s);
	return VG_OK;
}

static enum vg_err
cap_finding(void *ctx, const struct vg_finding *f, bool updated)
{
	struct capture *c = ctx;
	json_t *j = vg_finding_to_json(f);
	char *s = json_dumps(j, JSON_COMPACT);

	if (!updated)
		c->nfindings++;
	vg_buf_append_str(&c->events, s ? s : "");
	vg_buf_append_char(&c->events, '\n');
	free(s);
	json_decref(j);
	return VG_OK;
}

static bool
cap_cancelled(void *ctx)
{
	struct capture *c = ctx;

	if (c->cancel_at_us && vg_time_mono_us() >= c->cancel_at_us) {
		if (!c->cancelled_seen_us)
			c->cancelled_seen_us = vg_time_mono_us();
		return true;
	}
	return false;
}

static enum vg_err
run_dir(const char *dir, const struct vg_profile *prof, struct capture *cap,
    uint64_t max_file, struct vg_engine_result **res)
{
	struct vg_engine_sink sink = {cap, cap_event, cap_finding};
	struct vg_engine_params p;

	memset(&p, 0, sizeof p);
	p.root = dir;
	p.profile = prof;
	p.rules_dir = rules_dir;
	p.extra_rules_dir = "";
	p.sink = &sink;
	p.cancelled = cap_cancelled;
	p.cancel_ctx = cap;
	p.limits.max_file_bytes = max_file;
	return vg_engine_run("rules", &p, res);
}

static const struct vg_finding *
find_rule(const struct vg_engine_result *r, const char *rule, const char *path)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (!strcmp(r->findings[i]->rule_id, rule) && (!path || !strcmp(r->findings[i]->path, path)))
			return r->findings[i];
	return NULL;
}

/* ---- the labelled corpus --------------------------------------------------- */

struct klass {
	char name[48];
	size_t tp, fn, fp, tn;
};

static struct klass *
klass_get(struct klass *k, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(k[i].name, name))
			return &k[i];
	if (*n >= 32)
		return NULL;
	memset(&k[*n], 0, sizeof k[*n]);
	snprintf(k[*n].name, sizeof k[*n].name, "%s", name);
	return &k[(*n)++];
}

/* Whether r reports path with a finding carrying cwe. */
static int
reported(const struct vg_engine_result *r, const char *path, int cwe)
{
	size_t i, k;

	for (i = 0; i < r->nfindings; i++)
		if (!strcmp(r->findings[i]->path, path))
			for (k = 0; k < r->findings[i]->ncwe; k++)
				if (r->findings[i]->cwe[k] == cwe)
					return 1;
	return 0;
}

static void
test_corpus(void)
{
	/* Floors per class: recall at least, false-positive rate at most. */
	static const struct {
		const char *klass;
		double min_recall, max_fpr;
	} floors[] = {
		{"sql", 0.80, 0.20}, {"cmd", 0.80, 0.20}, {"code", 0.75, 0.25}, {"path", 0.70, 0.25},
		{"ssrf", 0.70, 0.25}, {"xss", 0.70, 0.25}, {"deser", 0.75, 0.25}, {"crypto", 0.75, 0.25},
		{"random", 0.70, 0.25}, {"tls", 0.75, 0.25}, {"cookie", 0.70, 0.30}, {"memory", 0.70, 0.30},
		{"secrets", 0.80, 0.20}, {"ldap", 0.60, 0.30}, {"xpath", 0.60, 0.30}, {"ssti", 0.60, 0.30},
		{"format", 0.60, 0.30},
	};
	char dir[4200], csv[4200], *text, *line, *save = NULL;
	struct klass k[32];
	size_t nk = 0, len = 0, i, rows = 0;
	struct capture cap;
	struct vg_engine_result *res = NULL;
	double sum = 0;

	memset(&cap, 0, sizeof cap);
	vg_buf_init(&cap.events, 64u << 20);
	snprintf(dir, sizeof dir, "%s/corpus", fixtures);
	snprintf(csv, sizeof csv, "%s/corpus/expected.csv", fixtures);
	VT_EQ_INT(run_dir(dir, NULL, &cap, 0, &res), VG_OK, "corpus scan runs");
	text = slurp(csv, &len);
	VT_OK(text && res, "corpus expectations readable");
	if (!text || !res)
		goto out;
	/* file,cwe,vulnerable,class */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *p = line;
		size_t j;
		int64_t cwe = 0;
		struct klass *kl;
		int vuln, hit;

		if (!strncmp(line, "file,", 5) || *line == '#')
			continue;
		for (j = 0; j < 4; j++) {
			f[j] = p;
			p = p ? strchr(p, ',') : NULL;
			if (p)
				*p++ = '\0';
		}
		if (!f[3] || vg_str_to_i64(f[1], 1, 100000, &cwe))
			continue;
		vuln = !strcmp(f[2], "true");
		hit = reported(res, f[0], (int)cwe);
		if (!(kl = klass_get(k, &nk, f[3])))
			continue;
		rows++;
		if (vuln && hit)
			kl->tp++;
		else if (vuln)
			kl->fn++, printf("#   missed: %s (CWE-%d)\n", f[0], (int)cwe);
		else if (hit)
			kl->fp++, printf("#   false positive: %s (CWE-%d)\n", f[0], (int)cwe);
		else
			kl->tn++;
	}
	VT_OK(rows >= 100, "corpus has 100+ labelled files");
	printf("# %-10s %6s %6s %8s\n", "class", "TPR", "FPR", "TPR-FPR");
	for (i = 0; i < nk; i++) {
		double tpr = k[i].tp + k[i].fn ? (double)k[i].tp / (double)(k[i].tp + k[i].fn) : 1.0;
		double fpr = k[i].fp + k[i].tn ? (double)k[i].fp / (double)(k[i].fp + k[i].tn) : 0.0;
		size_t f;
		char name[128];

		printf("# %-10s %6.2f %6.2f %8.2f  (tp %zu fn %zu fp %zu tn %zu)\n", k[i].name, tpr, fpr,
		    tpr - fpr, k[i].tp, k[i].fn, k[i].fp, k[i].tn);
		sum += tpr - fpr;
		for (f = 0; f < sizeof floors / sizeof floors[0]; f++)
			if (!strcmp(floors[f].klass, k[i].name)) {
				snprintf(name, sizeof name, "corpus %s: recall %.2f >= %.2f", k[i].name, tpr,
				    floors[f].min_recall);
				VT_OK(tpr >= floors[f].min_recall, name);
				snprintf(name, sizeof name, "corpus %s: FPR %.2f <= %.2f", k[i].name, fpr,
				    floors[f].max_fpr);
				VT_OK(fpr <= floors[f].max_fpr, name);
			}
	}
	if (nk)
		printf("# mean TPR-FPR over %zu classes: %.3f\n", nk, sum / (double)nk);
	VT_OK(nk >= 12, "corpus covers 12+ classes");
out:
	free(text);
	vg_engine_result_free(res);
	vg_buf_free(&cap.events);
}

/* ---- fingerprints ---------------------------------------------------------- */

static void
fingerprints_of(const char *path, enum vg_lang lang, const char *text, char out[][VG_FINGERPRINT_LEN + 1],
    size_t *n)
{
	struct vg_file_scan fs;
	size_t i;

	*n = 0;
	analyze_text(path, lang, text, &fs);
	for (i = 0; i < fs.nhits && *n < 16; i++) {
		unsigned occ = 0;
		size_t k;

		for (k = 0; k < i; k++)
			if (fs.hits[k].rule == fs.hits[i].rule && !strcmp(fs.hits[k].func, fs.hits[i].func) &&
			    !strcmp(fs.hits[k].norm, fs.hits[i].norm))
				occ++;
		vg_finding_fingerprint(fs.hits[i].rule->id, path, fs.hits[i].func, fs.hits[i].norm, occ,
		    out[(*n)++]);
	}
	vg_file_scan_free(&fs);
}

static int
same_set(char a[][VG_FINGERPRINT_LEN + 1], size_t na, char b[][VG_FINGERPRINT_LEN + 1], size_t nb)
{
	size_t i, k;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		for (k = 0; k < nb; k++)
			if (!strcmp(a[i], b[k]))
				break;
		if (k == nb)
			return 0;
	}
	return 1;
}

static void
test_fingerprints(void)
{
	static const char base[] =
	    "import os\nfrom flask import request\n\n"
	    "def a():\n    x = request.args['x']\n    os.system('ls ' + x)\n    os.system('ls ' + x)\n\n"
	    "def b():\n    y = request.args['y']\n    os.system('ls ' + y)\n";
	/* lines inserted above, blank lines and spacing changed elsewhere, a new function */
	static const char moved[] =
	    "# header comment\n# another\nimport os\nimport sys\nfrom flask import request\n\n\n"
	    "def helper():\n    return 1\n\n"
	    "def a():\n    x = request.args['x']\n\n    os.system('ls '   +   x)\n    os.system( 'ls ' + x )\n\n"
	    "def b():\n        y = request.args['y']\n        os.system('ls ' + y)\n";
	static const char changed[] =
	    "import os\nfrom flask import request\n\n"
	    "def a():\n    x = request.args['x']\n    os.system('rm ' + x)\n    os.system('ls ' + x)\n\n"
	    "def b():\n    y = request.args['y']\n    os.system('ls ' + y)\n";
	char fa[16][VG_FINGERPRINT_LEN + 1], fb[16][VG_FINGERPRINT_LEN + 1], fc[16][VG_FINGERPRINT_LEN + 1];
	size_t na, nb, nc, i, k, common = 0;

	fingerprints_of("app.py", VG_LANG_PYTHON, base, fa, &na);
	fingerprints_of("app.py", VG_LANG_PYTHON, moved, fb, &nb);
	fingerprints_of("app.py", VG_LANG_PYTHON, changed, fc, &nc);
	VT_EQ_INT(na, 3, "three command injections found");
	VT_OK(na == 3 && strcmp(fa[0], fa[1]) != 0, "identical statements in one function differ by occurrence");
	VT_OK(same_set(fa, na, fb, nb), "fingerprints survive inserted lines and reformatting");
	for (i = 0; i < na; i++)
		for (k = 0; k < nc; k++)
			if (!strcmp(fa[i], fc[k]))
				common++;
	VT_EQ_INT(common, 2, "editing one statement changes only its fingerprint");
	fingerprints_of("other.py", VG_LANG_PYTHON, base, fc, &nc);
	VT_OK(nc == na && strcmp(fa[0], fc[0]) != 0, "the path is part of the fingerprint");
	VT_EQ_INT(strlen(fa[0]), VG_FINGERPRINT_LEN, "fingerprint is 64 hex digits");
}

/* ---- secrets stay masked everywhere ---------------------------------------- */

static void
test_masking(void)
{
	static const char *const secrets[] = {
		"AKIAZ7XQ4RT2LM5PW3YD", "ghp_R7b2Kq9Zt4Wm8Xc1Vn6Lp3Hs5Df0Ga2Je9Uy",
		"S3cure!Passw0rd", "q8Zt4Wm8Xc1Vn6Lp3Hs5Df0Ga2Je9UyR7b2Kq", "Xk9Lm4Vn7Rt1",
		"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
	};
	char *dir = make_tmpdir(), path[4200];
	struct capture cap;
	struct vg_engine_result *res = NULL;
	json_t *rj = NULL, *rs = NULL;
	char *sj = NULL, *ss = NULL, *summary = NULL, *logs = NULL;
	size_t slen = 0, llen = 0, i;
	FILE *mem, *logmem;

	memset(&cap, 0, sizeof cap);
	vg_buf_init(&cap.events, 16u << 20);
	write_str(dir, "settings.py", "import os\nAWS_KEY = 'AKIAZ7XQ4RT2LM5PW3YD'\n"
	    "db_password = \"S3cure!Passw0rd\"\nx = hashlib.md5(b'AKIAZ7XQ4RT2LM5PW3YD')\n");
	write_str(dir, ".env", "GITHUB_TOKEN=ghp_R7b2Kq9Zt4Wm8Xc1Vn6Lp3Hs5Df0Ga2Je9Uy\n"
	    "DATABASE_URL=postgres://app:Xk9Lm4Vn7Rt1@db.internal:5432/app\n");
	write_str(dir, "conf.yml", "signing_key: \"q8Zt4Wm8Xc1Vn6Lp3Hs5Df0Ga2Je9UyR7b2Kq\"\n");
	write_str(dir, "k.json", "{\"key\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\\n\"}\n");
	logmem = open_memstream(&logs, &llen);
	vg_log_set_stream(logmem);
	VT_EQ_INT(run_dir(dir, NULL, &cap, 0, &res), VG_OK, "secrets tree scans");
	vg_log_set_stream(NULL);
	fclose(logmem);
	VT_OK(res && res->nfindings >= 6, "each secret is reported");
	if (res) {
		rj = vg_report_json(res);
		rs = vg_report_sarif(res);
		sj = json_dumps(rj, JSON_COMPACT);
		ss = json_dumps(rs, JSON_COMPACT);
		mem = open_memstream(&summary, &slen);
		vg_report_summary(res, mem, 100);
		fclose(mem);
	}
	for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		char name[128];
		const char *probe = secrets[i] + 4;   /* the masked form may keep 4 chars */
		int leak = (sj && strstr(sj, probe)) || (ss && strstr(ss, probe)) ||
		    (summary && strstr(summary, probe)) || strstr(vg_buf_str(&cap.events), probe) ||
		    (logs && strstr(logs, probe));

		snprintf(name, sizeof name, "secret %zu appears in no output", i);
		VT_OK(!leak, name);
	}
	VT_OK(sj && strstr(sj, "AKIA****"), "the masked form is shown");
	if (res)
		VT_OK(find_rule(res, "vg.python.weak-hash", "settings.py") != NULL,
		    "other rules still report on a line holding a secret");
	json_decref(rj);
	json_decref(rs);
	free(sj);
	free(ss);
	free(summary);
	free(logs);
	vg_engine_result_free(res);
	vg_buf_free(&cap.events);
	snprintf(path, sizeof path, "%s", dir);
	rm_rf(path);
	free(dir);
}

/* ---- cancellation ---------------------------------------------------------- */

static void
test_cancel(void)
{
	char *dir = make_tmpdir(), name[4200];
	struct capture cap;
	struct vg_engine_result *res = NULL;
	enum vg_err err;
	int i;
	int64_t t0, stopped;
	static char body[64 * 1024];
	size_t off = 0;

	/* Enough work that the scan takes several seconds when not cancelled. */
	while (off + 200 < sizeof body)
		off += (size_t)snprintf(body + off, sizeof body - off,
		    "def f%zu(request):\n    q = request.args['q']\n    os.system('x' + q)\n", off);
	for (i = 0; i < 1500; i++) {
		snprintf(name, sizeof name, "%s/m%04d.py", dir, i);
		write_file(name, body, off);
	}
	memset(&cap, 0, sizeof cap);
	vg_buf_init(&cap.events, 1);   /* events are not kept: tiny cap */
	t0 = vg_time_mono_us();
	cap.cancel_at_us = t0 + 300000;
	err = run_dir(dir, NULL, &cap, 0, &res);
	stopped = vg_time_mono_us();
	VT_EQ_INT(err, VG_ERR_CONFLICT, "cancelled scan says so");
	VT_OK(res && res->cancelled && !res->success, "result marked cancelled");
	VT_OK(cap.cancelled_seen_us && stopped - cap.cancel_at_us < 1000000,
	    "engine stops within a second of the request");
	VT_OK(res && res->files_audited < 1500, "the scan did not run to the end");
	printf("# cancel requested at %.3f s, stopped %.3f s later\n",
	    (double)(cap.cancel_at_us - t0) / 1e6, (double)(stopped - cap.cancel_at_us) / 1e6);
	vg_engine_result_free(res);
	vg_buf_free(&cap.events);
	rm_rf(dir);
	free(dir);
}

/* ---- hostile input ---------------------------------------------------------- */

static void
test_hostile(void)
{
	char *dir = make_tmpdir(), p[4200], q[4200];
	struct capture cap;
	struct vg_engine_result *res = NULL;
	size_t big = 50u * 1024 * 1024, n, i;
	char *buf;
	int64_t t0;
	json_t *counts;

	/* binary, invalid UTF-8, NULs in source, a 50 MB single line, nesting,
	 * symlink loops, a FIFO, unterminated everything */
	snprintf(p, sizeof p, "%s/bin.dat", dir);
	buf = malloc(big + 1);
	for (i = 0; i < 4096; i++)
		buf[i] = (char)(i * 7);
	write_file(p, buf, 4096);
	write_str(dir, "bad.py", "x = '\xff\xfe\xc0\xaf' + request.args['q']\nos.system(\xe2\x82 x)\n\xf0\x9f");
	snprintf(p, sizeof p, "%s/nul.c", dir);
	{
		static const char nulsrc[] = "int main(){\0 system(argv[1]);\0}";

		write_file(p, nulsrc, sizeof nulsrc - 1);
	}
	for (i = 0; i < big; i++)
		buf[i] = "abc = def + 'AKIA' ; "[i % 21];
	snprintf(p, sizeof p, "%s/huge.c", dir);
	write_file(p, buf, big);
	snprintf(p, sizeof p, "%s/huge.txt", dir);
	write_file(p, buf, big);
	n = 200000;
	for (i = 0; i < n; i++)
		buf[i] = "({["[i % 3];
	buf[n] = '\0';
	write_str(dir, "deep.js", buf);
	write_str(dir, "deep.py", buf);
	for (i = 0; i < n; i++)
		buf[i] = "{"[0];
	write_str(dir, "braces.c", buf);
	write_str(dir, "open.c", "/* never closed\nsystem(argv[1]);");
	write_str(dir, "open.py", "s = '''never closed\nos.system(x)");
	write_str(dir, "open.php", "<?php $x = <<<EOT\nno end");
	write_str(dir, "open.js", "x = `never ${ closed");
	snprintf(p, sizeof p, "%s/loop", dir);
	mkdir(p, 0755);
	snprintf(q, sizeof q, "%s/loop/self", dir);
	symlink("..", q);
	snprintf(q, sizeof q, "%s/loop/a", dir);
	symlink("b", q);
	snprintf(q, sizeof q, "%s/loop/b", dir);
	symlink("a", q);
	snprintf(q, sizeof q, "%s/fifo", dir);
	mkfifo(q, 0644);
	free(buf);

	memset(&cap, 0, sizeof cap);
	vg_buf_init(&cap.events, 16u << 20);
	t0 = vg_time_mono_us();
	VT_EQ_INT(run_dir(dir, NULL, &cap, 0, &res), VG_OK, "hostile tree scans");
	printf("# hostile tree: %.2f s\n", (double)(vg_time_mono_us() - t0) / 1e6);
	counts = res && res->plan ? json_object_get(json_object_get(res->plan, "skipped"), "counts") : NULL;
	VT_OK(counts && json_integer_value(json_object_get(counts, "too_large")) == 2,
	    "50 MB files are skipped by size");
	VT_OK(counts && json_integer_value(json_object_get(counts, "symlink")) == 3, "symlinks are not followed");
	VT_OK(counts && json_integer_value(json_object_get(counts, "binary")) >= 1, "binary file skipped");
	VT_OK(counts && json_integer_value(json_object_get(counts, "special")) == 1, "FIFO skipped");
	VT_OK(res && find_rule(res, "vg.python.command-injection", "bad.py"), "invalid UTF-8 still audited");
	vg_engine_result_free(res);
	res = NULL;
	/* With the size limit raised, long single lines are tokenized and
	 * searched too (4 MB here keeps the sanitizer build quick). */
	snprintf(p, sizeof p, "%s/huge.c", dir);
	truncate(p, 4u * 1024 * 1024);
	snprintf(p, sizeof p, "%s/huge.txt", dir);
	truncate(p, 4u * 1024 * 1024);
	t0 = vg_time_mono_us();
	VT_EQ_INT(run_dir(dir, NULL, &cap, 5u * 1024 * 1024, &res), VG_OK, "4 MB single lines audited");
	printf("# with 4 MB single-line files: %.2f s\n", (double)(vg_time_mono_us() - t0) / 1e6);
	VT_OK(res && res->files_audited >= 9, "every text file audited");
	if (res && res->files_audited < 9)
		printf("# audited %zu: %s\n", res->files_audited,
		    json_dumps(json_object_get(res->plan, "skipped"), JSON_COMPACT));
	vg_engine_result_free(res);
	vg_buf_free(&cap.events);
	rm_rf(dir);
	free(dir);
}

/* ---- plans ------------------------------------------------------------------ */

static void
test_plan(void)
{
	char *dir = make_tmpdir(), p[4200];
	static const char *const dirs[] = {
		"api", "api/handlers", "web", "web/node_modules", "web/node_modules/lib", "docs", "tools",
		"vendor", "libc", ".git",
	};
	struct vg_plan *plan = NULL;
	struct vg_profile *prof = NULL;
	json_t *pj = json_loads("{\"focus\":[\"tools\"],\"out_of_scope\":[\"docs/**\"]}", 0, NULL);
	struct vg_engine_limits lim = {0, 65536, 0};
	size_t i;
	static char blob[40000];

	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		mkdir(p, 0755);
	}
	write_str(dir, "api/pyproject.toml", "[project]\nname='api'\n");
	write_str(dir, "api/app.py", "from flask import request\n@app.route('/x')\ndef x():\n    return request.args['a']\n");
	write_str(dir, "api/handlers/h.py", "import subprocess\n");
	write_str(dir, "web/package.json", "{}");
	write_str(dir, "web/main.js", "const x = 1;\n");
	write_str(dir, "web/app.min.js", "var a=1;");
	write_str(dir, "web/node_modules/lib/i.js", "eval(x)");
	write_str(dir, "docs/guide.py", "print(1)\n");
	write_str(dir, "tools/cli.py", "import argparse\n");
	write_str(dir, "vendor/v.go", "package v\n");
	write_str(dir, "gen.go", "// Code generated by x. DO NOT EDIT.\npackage main\n");
	write_str(dir, "package-lock.json", "{}");
	write_str(dir, ".git/config", "[core]\n");
	memset(blob, 'x', sizeof blob - 1);
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "libc/f%zu.c", i);
		write_str(dir, p, blob);
	}
	vg_profile_from_json(pj, &prof);
	VT_EQ_INT(vg_plan_build(dir, prof, &lim, NULL, NULL, &plan), VG_OK, "plan builds");
	if (plan) {
		json_t *j = vg_plan_to_json(plan, prof), *counts = json_object_get(json_object_get(j, "skipped"), "counts");
		int tools_first = plan->ncomps && !strcmp(plan->comps[0].name, "tools");
		int has_api = 0, parts = 0;

		for (i = 0; i < plan->ncomps; i++) {
			if (!strcmp(plan->comps[i].name, "api") && !strcmp(plan->comps[i].kind, "python"))
				has_api = 1;
			if (strstr(plan->comps[i].name, "libc (part"))
				parts++;
		}
		VT_OK(tools_first, "the profile's focus ranks first");
		VT_OK(has_api, "a manifest folder is a component with its kind");
		VT_OK(parts >= 1, "a component over the size cap is split");
		VT_EQ_INT(json_integer_value(json_object_get(counts, "minified")), 1, "minified file skipped");
		VT_EQ_INT(json_integer_value(json_object_get(counts, "generated")), 2, "generated and lock files skipped");
		VT_OK(strstr(plan->statement, "node_modules/ (vendored)") != NULL, "vendored folder named");
		VT_OK(strstr(plan->statement, "docs/ (out_of_scope)") != NULL, "out-of-scope folder named");
		VT_OK(strstr(plan->statement, ".git/ (version_control)") != NULL, "version control skipped");
		for (i = 0; i < plan->nfiles; i++)
			VT_OK(strncmp(plan->files[i].path, "docs/", 5) && strncmp(plan->files[i].path, "vendor/", 7),
			    "no skipped file in the plan");
		printf("# %s\n", plan->statement);
		json_decref(j);
	}
	vg_plan_free(plan);
	vg_profile_free(prof);
	json_decref(pj);
	rm_rf(dir);
	free(dir);
}

/* ---- reports ---------------------------------------------------------------- */

/* A structural check of SARIF 2.1.0 (the schema test runs in the e2e suite). */
static void
test_reports(void)
{
	char dir[4200];
	struct capture cap;
	struct vg_engine_result *res = NULL;
	json_t *s, *run, *rules, *results, *r0, *j;
	size_t i;
	int ok_tags = 1, ok_fp = 1, ok_region = 1, ok_index = 1;

	memset(&cap, 0, sizeof cap);
	vg_buf_init(&cap.events, 64u << 20);
	snprintf(dir, sizeof dir, "%s/snippets/python", fixtures);
	VT_EQ_INT(run_dir(dir, NULL, &cap, 0, &res), VG_OK, "snippet tree scans");
	VT_OK(strstr(vg_buf_str(&cap.events), "scan_started") && strstr(vg_buf_str(&cap.events), "\"step\":\"plan\""),
	    "scan_started and the plan event are sent");
	VT_OK(strstr(vg_buf_str(&cap.events), "finding_updated") != NULL, "finding_updated events are sent");
	VT_OK(cap.nfindings == res->nfindings, "one finding callback per finding");
	s = vg_report_sarif(res);
	VT_EQ_STR(json_string_value(json_object_get(s, "version")), "2.1.0", "SARIF version");
	run = json_array_get(json_object_get(s, "runs"), 0);
	rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	results = json_object_get(run, "results");
	VT_OK(json_array_size(results) == res->nfindings && json_array_size(rules) > 0, "results and rules present");
	VT_OK(json_is_true(json_object_get(json_array_get(json_object_get(run, "invocations"), 0),
	    "executionSuccessful")), "invocation succeeded");
	json_array_foreach(results, i, r0) {
		json_t *loc = json_object_get(json_array_get(json_object_get(r0, "locations"), 0), "physicalLocation");
		json_t *rule = json_array_get(rules, (size_t)json_integer_value(json_object_get(r0, "ruleIndex")));
		json_t *tags = json_object_get(json_object_get(rule, "properties"), "tags"), *t;
		size_t k;
		int cwe = 0;

		if (!rule || strcmp(json_string_value(json_object_get(rule, "id")),
		    json_string_value(json_object_get(r0, "ruleId"))))
			ok_index = 0;
		json_array_foreach(tags, k, t)
			if (!strncmp(json_string_value(t), "external/cwe/cwe-", 17))
				cwe = 1;
		if (!cwe || !json_is_string(json_object_get(json_object_get(rule, "properties"), "security-severity")))
			ok_tags = 0;
		if (json_string_length(json_object_get(json_object_get(r0, "partialFingerprints"),
		    "vegaFingerprint/v1")) != VG_FINGERPRINT_LEN)
			ok_fp = 0;
		if (json_integer_value(json_object_get(json_object_get(loc, "region"), "startLine")) < 1 ||
		    !json_is_string(json_object_get(json_object_get(json_object_get(loc, "region"), "snippet"), "text")) ||
		    !json_is_string(json_object_get(json_object_get(loc, "artifactLocation"), "uri")))
			ok_region = 0;
	}
	VT_OK(ok_index, "ruleIndex points at the result's rule");
	VT_OK(ok_tags, "rules carry CWE tags and security-severity");
	VT_OK(ok_fp, "results carry partialFingerprints");
	VT_OK(ok_region, "results carry regions, snippets and URIs");
	json_decref(s);
	j = vg_report_json(res);
	VT_OK(json_is_object(json_object_get(j, "plan")) && json_is_string(json_object_get(json_object_get(j,
	    "coverage"), "statement")) && json_is_array(json_object_get(j, "findings")) &&
	    json_is_string(json_object_get(json_object_get(j, "tool"), "rules_version")) &&
	    json_is_object(json_object_get(j, "timings")), "report.json has plan, coverage, findings, versions, timings");
	json_decref(j);
	vg_engine_result_free(res);
	vg_buf_free(&cap.events);
}

/* ---- dedup ----------------------------------------------------------------- */

static struct vg_finding *
mk(const char *rule, const char *path, int line, int cwe, enum vg_sev sev, const char *fp)
{
	struct vg_finding *f = calloc(1, sizeof *f);

	f->rule_id = strdup(rule);
	f->path = strdup(path);
	f->title = strdup("t");
	f->line_start = f->line_end = (uint32_t)line;
	f->cwe[0] = cwe;
	f->ncwe = 1;
	f->severity = sev;
	snprintf(f->fingerprint, sizeof f->fingerprint, "%s", fp);
	return f;
}

static void
test_dedup(void)
{
	struct vg_finding_set s;
	size_t idx;
	int added, changed;

	vg_finding_set_init(&s);
	vg_finding_set_add(&s, mk("r1", "a.py", 3, 89, VG_SEV_MEDIUM, "f1"), &idx, &added, &changed);
	VT_OK(added && s.n == 1, "first finding added");
	vg_finding_set_add(&s, mk("r1", "a.py", 3, 89, VG_SEV_MEDIUM, "f1"), &idx, &added, &changed);
	VT_OK(!added && !changed && s.n == 1, "exact duplicate dropped");
	vg_finding_set_add(&s, mk("r2", "a.py", 3, 89, VG_SEV_HIGH, "f2"), &idx, &added, &changed);
	VT_OK(!added && changed && s.items[0]->severity == VG_SEV_HIGH, "same place and CWE merges, severity rises");
	VT_EQ_STR(s.items[0]->also_rules, "r2", "merged rule listed");
	vg_finding_set_add(&s, mk("r3", "a.py", 4, 89, VG_SEV_LOW, "f3"), &idx, &added, &changed);
	VT_OK(added && s.n == 2, "another line is another finding");
	vg_finding_set_free(&s);
}

int
main(void)
{
	const char *sd = getenv("VEGA_SRCDIR");
	char msg[512];

	alarm(600);   /* a hang fails the test instead of stalling CI */
	snprintf(srcdir, sizeof srcdir, "%s", sd && *sd ? sd : ".");
	snprintf(rules_dir, sizeof rules_dir, "%s/lib/engine/rules", srcdir);
	snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/engine", srcdir);
	unsetenv("VEGA_RULES_DIR");
	unsetenv("VEGA_EXTRA_RULES_DIR");
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		return 1;
	}
	vg_log_init("test");
	if (vg_ruleset_load(rules_dir, NULL, &RS, msg, sizeof msg) != VG_OK ||
	    vg_analyzer_new(RS, &AN) != VG_OK) {
		printf("Bail out! rules: %s\n", msg);
		return 1;
	}
	VT_OK(vg_sev_score(VG_SEV_HIGH) > vg_sev_score(VG_SEV_MEDIUM), "severity scores order");
	test_lex();
	test_glob_profile();
	test_rules_load();
	test_snippets();
	test_fingerprints();
	test_dedup();
	test_plan();
	test_reports();
	test_masking();
	test_corpus();
	test_cancel();
	test_hostile();
	vg_analyzer_free(AN);
	vg_ruleset_free(RS);
	return vt_done();
}
