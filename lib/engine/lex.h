/*
 * lex.h - a small tokenizer per language family, for the rules auditor.
 *
 * It does not parse: it cuts source text into identifiers, numbers, string
 * literals and punctuation, drops comments, remembers where each line
 * starts, and pairs brackets.  That is enough for chain matching
 * ("os.system"), statement splitting and a light intraprocedural dataflow.
 * Hostile input is expected: any byte sequence tokenizes, in linear time,
 * and the token count is capped.
 */
#ifndef VG_ENGINE_LEX_H
#define VG_ENGINE_LEX_H

#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

/* Languages the auditor knows; TEXT is any other text file (secrets only). */
enum vg_lang {
	VG_LANG_NONE = 0,
	VG_LANG_C,
	VG_LANG_PYTHON,
	VG_LANG_JS,
	VG_LANG_JAVA,
	VG_LANG_GO,
	VG_LANG_PHP,
	VG_LANG_TEXT,
	VG_LANG__COUNT
};

/* The language's name as rules spell it ("c", "python", ...). */
const char *vg_lang_name(enum vg_lang lang);
/* Parse a rule's language name; VG_LANG_NONE when unknown. */
enum vg_lang vg_lang_from_name(const char *name);
/* The language of a file by its name ("a/b.py"); TEXT when none matches. */
enum vg_lang vg_lang_from_path(const char *path);

enum vg_tok_kind { VG_TK_IDENT, VG_TK_NUM, VG_TK_STR, VG_TK_PUNCT };

#define VG_TF_BOL     0x01  /* first token on its line */
#define VG_TF_INTERP  0x02  /* string literal with interpolation (f"", `${}`, "$x") */
#define VG_TF_CHAR    0x04  /* C/Go character literal */

struct vg_tok {
	uint32_t off;    /* byte offset in the source */
	uint32_t len;    /* bytes, quotes included for strings */
	uint32_t line;   /* 1-based */
	int32_t match;   /* index of the paired bracket, -1 if none */
	uint8_t kind;    /* enum vg_tok_kind */
	uint8_t flags;   /* VG_TF_* */
	uint16_t indent; /* columns of leading blanks on the token's line */
};

struct vg_lex {
	const char *src;     /* borrowed */
	size_t len;
	enum vg_lang lang;
	struct vg_tok *toks; /* owned */
	size_t n, cap;
	size_t max;          /* token cap; tokenizing stops there (truncated) */
	int truncated;
	uint32_t nlines;
};

/*
 * Tokenize src (len bytes, not necessarily NUL-terminated or valid UTF-8)
 * as lang.  At most max_tokens tokens are kept (lx->truncated says when
 * more were cut).  lx borrows src; release with vg_lex_free.
 */
enum vg_err vg_lex_run(struct vg_lex *lx, const char *src, size_t len,
    enum vg_lang lang, size_t max_tokens);
void vg_lex_free(struct vg_lex *lx);

/* Whether token i's text equals s exactly. */
int vg_tok_is(const struct vg_lex *lx, size_t i, const char *s);
/* Token i's text and length. */
const char *vg_tok_text(const struct vg_lex *lx, size_t i, size_t *len);
/* A string literal's content without prefix and quotes. */
const char *vg_tok_str_body(const struct vg_lex *lx, size_t i, size_t *len);

#endif
