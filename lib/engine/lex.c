/* lex.c - tokenizers for the C-like, Python, JS/TS, Java, Go and PHP families. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "engine/lex.h"

static const struct {
	enum vg_lang lang;
	const char *name;
	const char *exts;  /* '|'-separated, with the dot */
} langs[] = {
	{VG_LANG_C, "c", ".c|.h|.cc|.cpp|.cxx|.hpp|.hh|.hxx|.c++|.h++|.ino"},
	{VG_LANG_PYTHON, "python", ".py|.pyw"},
	{VG_LANG_JS, "javascript", ".js|.jsx|.mjs|.cjs|.ts|.tsx|.mts|.cts"},
	{VG_LANG_JAVA, "java", ".java"},
	{VG_LANG_GO, "go", ".go"},
	{VG_LANG_PHP, "php", ".php|.phtml|.php5|.php7"},
	{VG_LANG_TEXT, "text", ""},
};

const char *
vg_lang_name(enum vg_lang lang)
{
	size_t i;

	for (i = 0; i < sizeof langs / sizeof langs[0]; i++)
		if (langs[i].lang == lang)
			return langs[i].name;
	return "none";
}

enum vg_lang
vg_lang_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof langs / sizeof langs[0]; i++)
		if (strcmp(langs[i].name, name) == 0)
			return langs[i].lang;
	/* Common spellings users write in their own rules. */
	if (strcmp(name, "cpp") == 0 || strcmp(name, "c++") == 0)
		return VG_LANG_C;
	if (strcmp(name, "js") == 0 || strcmp(name, "typescript") == 0 ||
	    strcmp(name, "ts") == 0)
		return VG_LANG_JS;
	return VG_LANG_NONE;
}

/* Whether ext (with its dot) is one of the '|'-separated exts. */
static int
ext_in(const char *ext, const char *exts)
{
	size_t n = strlen(ext);
	const char *p = exts;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncasecmp(p, ext, n) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

enum vg_lang
vg_lang_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	size_t i;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return VG_LANG_TEXT;
	for (i = 0; i < sizeof langs / sizeof langs[0]; i++)
		if (*langs[i].exts && ext_in(dot, langs[i].exts))
			return langs[i].lang;
	return VG_LANG_TEXT;
}

/* Multi-character punctuation, longest first within each length. */
static const char *const puncts3[] = {
	"===", "!==", "**=", "...", "<<=", ">>=", "<=>", "?\?=", "||=", "&&=",
	">>>", "?->", "<?=", NULL
};
static const char *const puncts2[] = {
	"->", "::", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=",
	"/=", "%=", "&=", "|=", "^=", ".=", ":=", "**", "<<", ">>", "++", "--",
	"?.", "??", "?>", "<-", NULL
};

/* Keywords after which a '/' starts a regular expression in JS. */
static const char *const js_regex_after[] = {
	"return", "typeof", "case", "do", "else", "in", "of", "new", "delete",
	"void", "throw", "yield", "await", NULL
};

struct lexer {
	struct vg_lex *lx;
	const char *s;
	size_t n, i;
	uint32_t line;
	uint16_t indent;
	int bol;
	int32_t *stack;  /* open bracket token indices */
	size_t depth, stack_cap;
};

static int
is_ident_start(struct lexer *L, unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80)
		return 1;
	return c == '$' && (L->lx->lang == VG_LANG_JS || L->lx->lang == VG_LANG_PHP);
}

static int
is_ident_char(struct lexer *L, unsigned char c)
{
	if ((c >= '0' && c <= '9') || is_ident_start(L, c))
		return c != '$' || L->lx->lang == VG_LANG_JS;
	return 0;
}

/* Measure the indentation of the line starting at L->i (tabs to 8). */
static void
measure_indent(struct lexer *L)
{
	size_t j = L->i;
	unsigned col = 0;

	while (j < L->n && (L->s[j] == ' ' || L->s[j] == '\t')) {
		col = L->s[j] == '\t' ? (col / 8 + 1) * 8 : col + 1;
		if (col > 60000)
			col = 60000;
		j++;
	}
	L->indent = (uint16_t)col;
}

static void
newline(struct lexer *L)
{
	L->line++;
	L->bol = 1;
	L->i++;
	measure_indent(L);
}

/* Advance over n bytes that may contain newlines (strings, comments). */
static void
skip_counting(struct lexer *L, size_t end)
{
	while (L->i < end) {
		if (L->s[L->i] == '\n') {
			L->line++;
			L->i++;
			measure_indent(L);
			/* A token after a multi-line literal is not first on its line
			 * unless a real newline follows; BOL stays as it was. */
		} else {
			L->i++;
		}
	}
}

/* Append a token [start, L->i); returns -1 when the cap is reached. */
static int
emit(struct lexer *L, size_t start, uint32_t line, enum vg_tok_kind kind,
    uint8_t flags)
{
	struct vg_lex *lx = L->lx;
	struct vg_tok *t;

	if (lx->n >= lx->max) {
		lx->truncated = 1;
		return -1;
	}
	if (lx->n == lx->cap) {
		size_t ncap = lx->cap ? lx->cap * 2 : 256;
		struct vg_tok *nt;

		if (ncap > lx->max)
			ncap = lx->max;
		nt = realloc(lx->toks, ncap * sizeof *nt);
		if (!nt)
			return -2;
		lx->toks = nt;
		lx->cap = ncap;
	}
	t = &lx->toks[lx->n];
	t->off = (uint32_t)start;
	t->len = (uint32_t)(L->i - start);
	t->line = line;
	t->match = -1;
	t->kind = (uint8_t)kind;
	t->flags = (uint8_t)(flags | (L->bol ? VG_TF_BOL : 0));
	t->indent = L->indent;
	L->bol = 0;
	lx->n++;
	return 0;
}

/* Pair brackets as they are emitted; mismatches are left unpaired. */
static int
pair_bracket(struct lexer *L)
{
	struct vg_lex *lx = L->lx;
	size_t ti = lx->n - 1;
	char c = L->s[lx->toks[ti].off];

	if (lx->toks[ti].len != 1)
		return 0;
	if (c == '(' || c == '[' || c == '{') {
		if (L->depth == L->stack_cap) {
			size_t ncap = L->stack_cap ? L->stack_cap * 2 : 64;
			int32_t *ns = realloc(L->stack, ncap * sizeof *ns);

			if (!ns)
				return -2;
			L->stack = ns;
			L->stack_cap = ncap;
		}
		L->stack[L->depth++] = (int32_t)ti;
	} else if (c == ')' || c == ']' || c == '}') {
		char want = c == ')' ? '(' : c == ']' ? '[' : '{';
		size_t d = L->depth;

		/* Find the nearest opener of the same kind; drop the unclosed ones
		 * above it, so one stray bracket does not unpair the whole file. */
		while (d > 0 && L->s[lx->toks[L->stack[d - 1]].off] != want)
			d--;
		if (d > 0) {
			int32_t open = L->stack[d - 1];

			lx->toks[open].match = (int32_t)ti;
			lx->toks[ti].match = open;
			L->depth = d - 1;
		}
	}
	return 0;
}

/* End of a quoted literal starting at q (the quote), honouring backslash
 * escapes; multiline says whether a newline may occur inside. */
static size_t
quoted_end(const char *s, size_t n, size_t q, char quote, int multiline)
{
	size_t j = q + 1;

	while (j < n) {
		if (s[j] == '\\' && j + 1 < n) {
			j += 2;
			continue;
		}
		if (s[j] == quote)
			return j + 1;
		if (s[j] == '\n' && !multiline)
			return j;
		j++;
	}
	return n;
}

/* End of a triple-quoted literal ("""...""" or '''...'''). */
static size_t
triple_end(const char *s, size_t n, size_t q, char quote)
{
	size_t j = q + 3;

	while (j + 2 < n) {
		if (s[j] == '\\') {
			j += 2;
			continue;
		}
		if (s[j] == quote && s[j + 1] == quote && s[j + 2] == quote)
			return j + 3;
		j++;
	}
	return n;
}

/* End of a JS template literal, skipping ${...} with nested braces. */
static size_t
template_end(const char *s, size_t n, size_t q, int *interp)
{
	size_t j = q + 1;
	int depth = 0;

	while (j < n) {
		char c = s[j];

		if (c == '\\') {
			j += 2;
			continue;
		}
		if (depth == 0) {
			if (c == '`')
				return j + 1;
			if (c == '$' && j + 1 < n && s[j + 1] == '{') {
				*interp = 1;
				depth = 1;
				j += 2;
				continue;
			}
		} else if (c == '{') {
			depth++;
		} else if (c == '}') {
			depth--;
		} else if (c == '"' || c == '\'') {
			j = quoted_end(s, n, j, c, 0);
			continue;
		}
		j++;
	}
	return n;
}

/* PHP heredoc/nowdoc at L->i ("<<<"); returns its end or 0 if not one. */
static size_t
heredoc_end(const char *s, size_t n, size_t i, int *interp)
{
	size_t j = i + 3, id0, idn;
	char q = 0;

	while (j < n && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j < n && (s[j] == '\'' || s[j] == '"'))
		q = s[j++];
	id0 = j;
	while (j < n && ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
	    (s[j] >= '0' && s[j] <= '9') || s[j] == '_'))
		j++;
	idn = j - id0;
	if (idn == 0)
		return 0;
	if (q && (j >= n || s[j] != q))
		return 0;
	*interp = q != '\'';
	/* The closing identifier is the first token of a later line. */
	while (j < n) {
		const char *nl = memchr(s + j, '\n', n - j);
		size_t k;

		if (!nl)
			return n;
		k = (size_t)(nl - s) + 1;
		while (k < n && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k + idn <= n && memcmp(s + k, s + id0, idn) == 0 &&
		    (k + idn == n || !((s[k + idn] >= 'A' && s[k + idn] <= 'Z') ||
		    (s[k + idn] >= 'a' && s[k + idn] <= 'z') || s[k + idn] == '_')))
			return k + idn;
		j = (size_t)(nl - s) + 1;
	}
	return n;
}

/* Skip a C "#if 0" group from L->i (at '#'); returns 1 when skipped. */
static int
skip_if0(struct lexer *L)
{
	const char *s = L->s;
	size_t j = L->i + 1, n = L->n;
	int depth = 0;

	while (j < n && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (!(j + 2 < n && s[j] == 'i' && s[j + 1] == 'f' && (s[j + 2] == ' ' || s[j + 2] == '\t')))
		return 0;
	j += 2;
	while (j < n && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (!(j < n && s[j] == '0' && (j + 1 == n || s[j + 1] == '\n' || s[j + 1] == ' ' ||
	    s[j + 1] == '\t' || s[j + 1] == '\r')))
		return 0;
	/* Walk line by line to the matching #else/#elif/#endif. */
	while (j < n) {
		const char *nl = memchr(s + j, '\n', n - j);
		size_t k;

		if (!nl) {
			j = n;
			break;
		}
		k = (size_t)(nl - s) + 1;
		while (k < n && (s[k] == ' ' || s[k] == '\t'))
			k++;
		j = k;
		if (k < n && s[k] == '#') {
			k++;
			while (k < n && (s[k] == ' ' || s[k] == '\t'))
				k++;
			if (k + 2 <= n && strncmp(s + k, "if", 2) == 0)
				depth++;
			else if (k + 5 <= n && strncmp(s + k, "endif", 5) == 0) {
				if (depth == 0)
					break;
				depth--;
			} else if (depth == 0 && k + 2 <= n && strncmp(s + k, "el", 2) == 0)
				break;
		}
	}
	/* Leave L->i at the directive line so it tokenizes normally. */
	skip_counting(L, j);
	return 1;
}

static int
prev_allows_regex(struct lexer *L)
{
	struct vg_lex *lx = L->lx;
	const struct vg_tok *t;
	size_t k;

	if (lx->n == 0)
		return 1;
	t = &lx->toks[lx->n - 1];
	if (t->kind == VG_TK_PUNCT) {
		char c = L->s[t->off];

		return !(t->len == 1 && (c == ')' || c == ']' || c == '}'));
	}
	if (t->kind != VG_TK_IDENT)
		return 0;
	for (k = 0; js_regex_after[k]; k++)
		if (strlen(js_regex_after[k]) == t->len &&
		    memcmp(L->s + t->off, js_regex_after[k], t->len) == 0)
			return 1;
	return 0;
}

/* A JS regex literal at L->i ('/'); end offset or 0 when not one. */
static size_t
regex_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;
	int cls = 0;

	while (j < n && s[j] != '\n') {
		if (s[j] == '\\') {
			j += 2;
			continue;
		}
		if (s[j] == '[')
			cls = 1;
		else if (s[j] == ']')
			cls = 0;
		else if (s[j] == '/' && !cls) {
			j++;
			while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
				j++;
			return j;
		}
		j++;
	}
	return 0;
}

/* In PHP's HTML mode: skip to the next "<?php", "<?=" or "<?". */
static int
php_skip_html(struct lexer *L)
{
	while (L->i < L->n) {
		const char *p = memchr(L->s + L->i, '<', L->n - L->i);
		size_t k;

		if (!p) {
			skip_counting(L, L->n);
			return 0;
		}
		k = (size_t)(p - L->s);
		skip_counting(L, k);
		if (k + 1 < L->n && L->s[k + 1] == '?') {
			if (k + 2 < L->n && L->s[k + 2] == '=') {
				/* "<?=" echoes: keep it as a token, the echo sink. */
				L->i = k + 3;
				return emit(L, k, L->line, VG_TK_PUNCT, 0);
			}
			L->i = k + 2;
			if (L->i + 3 <= L->n && strncasecmp(L->s + L->i, "php", 3) == 0)
				L->i += 3;
			return 0;
		}
		L->i = k + 1;
	}
	return 0;
}

/* One string token starting at L->i; returns 1 when one was taken. */
static int
lex_string(struct lexer *L, int *rc)
{
	const char *s = L->s;
	size_t n = L->n, i = L->i, q = i, end = 0;
	enum vg_lang lang = L->lx->lang;
	uint8_t flags = 0;
	uint32_t line = L->line;
	int interp = 0;
	char c;

	if (lang == VG_LANG_PYTHON) {
		/* Up to two prefix letters (r, b, u, f) glued to the quote. */
		size_t k = i;
		int fstr = 0;

		while (k < n && k - i < 2 && s[k] && strchr("rRbBuUfF", s[k])) {
			if (s[k] == 'f' || s[k] == 'F')
				fstr = 1;
			k++;
		}
		if (k < n && (s[k] == '"' || s[k] == '\'')) {
			q = k;
			if (fstr)
				flags |= VG_TF_INTERP;
		}
	}
	if (q >= n)
		return 0;
	c = s[q];
	if (c != '"' && c != '\'' && c != '`')
		return 0;
	if (c == '`' && !(lang == VG_LANG_JS || lang == VG_LANG_GO || lang == VG_LANG_PHP))
		return 0;

	if ((lang == VG_LANG_PYTHON || lang == VG_LANG_JAVA) && c != '`' &&
	    q + 2 < n && s[q + 1] == c && s[q + 2] == c) {
		end = triple_end(s, n, q, c);
	} else if (c == '`' && lang == VG_LANG_JS) {
		end = template_end(s, n, q, &interp);
	} else if (c == '`') {
		/* Go raw string, PHP shell string: no escapes in Go. */
		const char *e = memchr(s + q + 1, '`', n - q - 1);

		end = e ? (size_t)(e - s) + 1 : n;
		if (lang == VG_LANG_PHP && memchr(s + q, '$', end - q))
			interp = 1;
	} else {
		end = quoted_end(s, n, q, c, lang == VG_LANG_PHP);
		if (lang == VG_LANG_PHP && c == '"' && memchr(s + q, '$', end - q))
			interp = 1;
		if (c == '\'' && (lang == VG_LANG_C || lang == VG_LANG_GO || lang == VG_LANG_JAVA))
			flags |= VG_TF_CHAR;
	}
	if (interp)
		flags |= VG_TF_INTERP;
	skip_counting(L, end);
	*rc = emit(L, i, line, VG_TK_STR, flags);
	return 1;
}

static int
lex_punct(struct lexer *L)
{
	const char *s = L->s;
	size_t i = L->i, n = L->n, k;
	enum vg_lang lang = L->lx->lang;

	if (i + 3 <= n)
		for (k = 0; puncts3[k]; k++)
			if (memcmp(s + i, puncts3[k], 3) == 0 &&
			    (lang == VG_LANG_PHP || strcmp(puncts3[k], "<?=") != 0)) {
				L->i += 3;
				return emit(L, i, L->line, VG_TK_PUNCT, 0);
			}
	if (i + 2 <= n)
		for (k = 0; puncts2[k]; k++)
			if (memcmp(s + i, puncts2[k], 2) == 0 &&
			    (lang == VG_LANG_PHP || strcmp(puncts2[k], "?>") != 0)) {
				L->i += 2;
				return emit(L, i, L->line, VG_TK_PUNCT, 0);
			}
	L->i++;
	return emit(L, i, L->line, VG_TK_PUNCT, 0);
}

static int
c_like_comments(enum vg_lang lang)
{
	return lang == VG_LANG_C || lang == VG_LANG_JS || lang == VG_LANG_JAVA ||
	    lang == VG_LANG_GO || lang == VG_LANG_PHP;
}

/* The main loop; returns 0, or -2 on allocation failure. */
static int
lex_loop(struct lexer *L)
{
	struct vg_lex *lx = L->lx;
	enum vg_lang lang = lx->lang;
	const char *s = L->s;
	size_t n = L->n;
	int rc = 0;

	if (lang == VG_LANG_PHP && (rc = php_skip_html(L)) < 0)
		return rc == -2 ? -2 : 0;
	while (L->i < n) {
		unsigned char c = (unsigned char)s[L->i];
		size_t start = L->i;

		if (c == '\n') {
			newline(L);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == 0) {
			L->i++;
			continue;
		}
		if (c == '\\' && L->i + 1 < n && (s[L->i + 1] == '\n' ||
		    (s[L->i + 1] == '\r' && L->i + 2 < n && s[L->i + 2] == '\n'))) {
			/* Line continuation: the next line continues this one. */
			L->i += s[L->i + 1] == '\r' ? 2 : 1;
			L->line++;
			L->i++;
			continue;
		}
		if (c_like_comments(lang) && c == '/' && L->i + 1 < n && s[L->i + 1] == '/') {
			const char *nl = memchr(s + L->i, '\n', n - L->i);

			L->i = nl ? (size_t)(nl - s) : n;
			continue;
		}
		if (c_like_comments(lang) && c == '/' && L->i + 1 < n && s[L->i + 1] == '*') {
			const char *e = L->i + 2 < n ? memmem(s + L->i + 2, n - L->i - 2, "*/", 2) : NULL;
			int was_bol = L->bol;

			skip_counting(L, e ? (size_t)(e - s) + 2 : n);
			L->bol = was_bol || L->bol;
			continue;
		}
		if ((lang == VG_LANG_PYTHON || lang == VG_LANG_PHP) && c == '#') {
			const char *nl = memchr(s + L->i, '\n', n - L->i);

			L->i = nl ? (size_t)(nl - s) : n;
			continue;
		}
		if (lang == VG_LANG_C && c == '#' && L->bol && skip_if0(L))
			continue;
		if (lang == VG_LANG_PHP && c == '?' && L->i + 1 < n && s[L->i + 1] == '>') {
			L->i += 2;
			if ((rc = emit(L, start, L->line, VG_TK_PUNCT, 0)) < 0)
				break;
			if ((rc = php_skip_html(L)) < 0)
				break;
			continue;
		}
		if (lang == VG_LANG_PHP && c == '<' && L->i + 2 < n && s[L->i + 1] == '<' &&
		    s[L->i + 2] == '<') {
			int interp = 0;
			size_t e = heredoc_end(s, n, L->i, &interp);
			uint32_t line = L->line;

			if (e) {
				skip_counting(L, e);
				if ((rc = emit(L, start, line, VG_TK_STR, interp ? VG_TF_INTERP : 0)) < 0)
					break;
				continue;
			}
		}
		if (lex_string(L, &rc)) {
			if (rc < 0)
				break;
			continue;
		}
		if (is_ident_start(L, c)) {
			L->i++;
			while (L->i < n && is_ident_char(L, (unsigned char)s[L->i]))
				L->i++;
			if ((rc = emit(L, start, L->line, VG_TK_IDENT, 0)) < 0)
				break;
			continue;
		}
		if ((c >= '0' && c <= '9') || (c == '.' && L->i + 1 < n && s[L->i + 1] >= '0' && s[L->i + 1] <= '9')) {
			L->i++;
			while (L->i < n) {
				unsigned char d = (unsigned char)s[L->i];

				if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') ||
				    d == '_' || d == '.')
					L->i++;
				else if ((d == '+' || d == '-') && (s[L->i - 1] == 'e' || s[L->i - 1] == 'E'))
					L->i++;
				else
					break;
			}
			if ((rc = emit(L, start, L->line, VG_TK_NUM, 0)) < 0)
				break;
			continue;
		}
		if (lang == VG_LANG_JS && c == '/' && prev_allows_regex(L)) {
			size_t e = regex_end(s, n, L->i);

			if (e) {
				L->i = e;
				if ((rc = emit(L, start, L->line, VG_TK_STR, 0)) < 0)
					break;
				continue;
			}
		}
		if ((rc = lex_punct(L)) < 0)
			break;
		if ((rc = pair_bracket(L)) < 0)
			break;
	}
	return rc == -2 ? -2 : 0;
}

/*
 * Tokenize; see lex.h.  On VG_ERR_NOMEM lx is left empty.
 */
enum vg_err
vg_lex_run(struct vg_lex *lx, const char *src, size_t len, enum vg_lang lang,
    size_t max_tokens)
{
	struct lexer L;
	enum vg_err err = VG_OK;

	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->lang = lang;
	lx->max = max_tokens ? max_tokens : 1;
	if (len > UINT32_MAX - 1)
		len = UINT32_MAX - 1;  /* offsets are 32-bit; callers cap files far below */
	memset(&L, 0, sizeof L);
	L.lx = lx;
	L.s = src;
	L.n = len;
	L.line = 1;
	L.bol = 1;
	measure_indent(&L);
	if (lex_loop(&L) < 0) {
		vg_lex_free(lx);
		err = VG_ERR_NOMEM;
	}
	lx->nlines = L.line;
	free(L.stack);
	return err;
}

void
vg_lex_free(struct vg_lex *lx)
{
	if (!lx)
		return;
	free(lx->toks);
	lx->toks = NULL;
	lx->n = lx->cap = 0;
}

int
vg_tok_is(const struct vg_lex *lx, size_t i, const char *s)
{
	size_t n;

	if (i >= lx->n)
		return 0;
	n = strlen(s);
	return lx->toks[i].len == n && memcmp(lx->src + lx->toks[i].off, s, n) == 0;
}

const char *
vg_tok_text(const struct vg_lex *lx, size_t i, size_t *len)
{
	*len = lx->toks[i].len;
	return lx->src + lx->toks[i].off;
}

const char *
vg_tok_str_body(const struct vg_lex *lx, size_t i, size_t *len)
{
	const char *p = lx->src + lx->toks[i].off;
	size_t n = lx->toks[i].len, a = 0, b;
	char q;

	/* Skip prefix letters (Python r/b/f, PHP heredoc marker) to the quote. */
	while (a < n && p[a] != '"' && p[a] != '\'' && p[a] != '`' && p[a] != '/' && p[a] != '\n')
		a++;
	if (a == n || p[a] == '\n') {
		*len = n;
		return p;
	}
	q = p[a];
	b = n;
	if (a + 2 < n && p[a + 1] == q && p[a + 2] == q && n - a >= 6) {
		a += 3;
		if (b >= a + 3 && p[b - 1] == q && p[b - 2] == q && p[b - 3] == q)
			b -= 3;
	} else {
		a += 1;
		if (b > a && p[b - 1] == q)
			b -= 1;
		else if (q == '/') {
			/* regex literal with trailing flags */
			while (b > a && p[b - 1] != '/')
				b--;
			if (b > a)
				b--;
		}
	}
	if (b < a)
		b = a;
	*len = b - a;
	return p + a;
}
