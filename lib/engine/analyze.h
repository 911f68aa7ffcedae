/*
 * analyze.h - the rules auditor's work on one file: secrets and
 * credentials over text, then, for code, functions, statements, token
 * patterns and a light intraprocedural taint dataflow.
 *
 * The analyzer turns a file into hits (rule, place, normalized statement
 * text, message) and the byte ranges of secrets found in it; the engine
 * turns hits into findings, masking those ranges in every snippet.
 */
#ifndef VG_ENGINE_ANALYZE_H
#define VG_ENGINE_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include "core/err.h"
#include "engine/lex.h"
#include "engine/rules.h"

struct vg_hit {
	const struct vg_rule *rule;
	uint32_t off;     /* byte offset of the anchor */
	uint32_t line, line_end, col;
	char *norm;       /* normalized statement text, secrets replaced */
	char *message;    /* masked */
	char *func;       /* enclosing function name, "" at file level */
	int in_test;      /* found in a test or example file */
};

struct vg_mask_range {
	uint32_t off, len;
};

struct vg_file_scan {
	struct vg_hit *hits;
	size_t nhits, hcap;
	struct vg_mask_range *masks;
	size_t nmasks, mcap;
	int truncated;    /* the token cap was hit; the tail was not audited */
	uint64_t steps;   /* work done, for the budget */
};

struct vg_analyzer;

/* Build the per-language indexes over rs (borrowed; must outlive it). */
enum vg_err vg_analyzer_new(const struct vg_ruleset *rs, struct vg_analyzer **out);
void vg_analyzer_free(struct vg_analyzer *a);

/*
 * Audit one file.  src must be NUL-terminated at src[len] (regexes run on
 * it).  path is the relative path (test paths are recognised from it).
 * fs is initialised here; release it with vg_file_scan_free.
 */
enum vg_err vg_analyze_file(struct vg_analyzer *a, const char *path,
    enum vg_lang lang, const char *src, size_t len, struct vg_file_scan *fs);
void vg_file_scan_free(struct vg_file_scan *fs);

/* Whether a relative path looks like a test, fixture or example file. */
int vg_path_is_test(const char *path);
/* Whether one folder name is a test, fixture or example folder. */
int vg_path_is_test_dir(const char *name);

/*
 * Copy nlines lines of src, from the line holding byte offset at, into a
 * new string with every masked range replaced by its mask, leading blanks
 * trimmed, at most max bytes (cut on a UTF-8 boundary, invalid bytes and
 * control characters replaced by '?').  NULL when out of memory.  The
 * caller frees it.
 */
char *vg_snippet(const char *src, size_t len, const struct vg_file_scan *fs,
    size_t at, uint32_t nlines, size_t max);

/* Shannon entropy of n bytes, in bits per byte. */
double vg_entropy(const char *s, size_t n);

#endif
