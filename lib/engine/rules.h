/*
 * rules.h - rules as data: loading the JSON rule files and compiling their
 * matchers for the rules auditor.
 *
 * A rules directory holds *.json files, read in name order.  Each file may
 * carry "rules" (an array of rules) and "taint" (per-language sources,
 * sanitizers, propagators).  A rule:
 *
 *   {"id": "vg.python.sql-injection", "title": "...", "cwe": [89],
 *    "severity": "high", "confidence": "high", "category": "sql-injection",
 *    "languages": ["python"], "description": "...",
 *    "exploit_scenario": "...", "recommendation": "...",
 *    "match": {...}}
 *
 * Matchers ("match.kind"):
 *   taint       {"class": "sql", "sinks": [SINK...]}: fires when a sink's
 *               argument is derived, in the same function, from a source.
 *               SINK = {"call": "cursor.execute", "args": [0]} |
 *                      {"keyword": "include"} | {"assign": "innerHTML"},
 *               optional "kwargs", "when", "unless", "literal",
 *               "safe_prefix", "file".
 *   pattern     {"patterns": [PAT...], "unless": [PAT...],
 *               "unless_in_function": [PAT...], "context": REGEX,
 *               "file": REGEX, "file_unless": REGEX}
 *   credential  {"name": REGEX, "placeholder": REGEX, "min_length": N}
 *   secret      {"regex": REGEX, "prefix": "AKIA", "secret_group": 0,
 *               "back_chars": "a-z..."} or
 *               {"entropy": 3.5, "name": REGEX, "min_length": 16}
 *
 * Chains ("os.system", "*.execute", "^eval") match the dotted callee of a
 * call by its last components; '*' is any one component; '^' anchors at
 * the start.  Separators ., ->, :: and ?. are all the same to a chain.
 *
 * Token patterns are space-separated elements: literal token text
 * ("a|b" for alternatives), $ID $STR $NUM $ANY (one token), $ARG (one
 * argument), $NONLIT (an argument that is not a constant), $ARRAY (an
 * identifier declared as a fixed-size array in the function), "..." (any
 * balanced tokens); "$STR~REGEX" tests a literal's content, "$ID~REGEX"
 * an identifier.  Regexes are POSIX extended, case-insensitive.
 */
#ifndef VG_ENGINE_RULES_H
#define VG_ENGINE_RULES_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"
#include "engine/engine.h"
#include "engine/lex.h"

#define VG_TAINT_MAX_CLASSES 32
#define VG_TAINT_ALL 0xffffffffu

struct vg_chain {
	char **comp;     /* components; "*" is a wildcard */
	size_t n;
	int anchored;    /* '^': the chain must have exactly these components */
};

enum vg_pel_kind {
	VG_PEL_LIT, VG_PEL_ID, VG_PEL_STR, VG_PEL_NUM, VG_PEL_ANY, VG_PEL_ARG,
	VG_PEL_NONLIT, VG_PEL_ARRAY, VG_PEL_DOTS
};

struct vg_pel {
	enum vg_pel_kind kind;
	char **alts;     /* VG_PEL_LIT: alternatives */
	size_t nalts;
	regex_t *re;     /* optional "~REGEX" */
};

struct vg_pattern {
	struct vg_pel *els;
	size_t n;
	char *src;
};

enum vg_sink_kind { VG_SINK_CALL, VG_SINK_KEYWORD, VG_SINK_ASSIGN };

struct vg_sink {
	enum vg_sink_kind kind;
	struct vg_chain chain;       /* CALL and ASSIGN */
	char *keyword;               /* KEYWORD */
	int args[8];                 /* positional args checked; none: all */
	size_t nargs;
	char **kwargs;               /* keyword args checked (name=value) */
	size_t nkwargs;
	struct vg_pattern *when;     /* must match within the call */
	struct vg_pattern *unless;   /* must not match within the call */
	regex_t *literal;            /* a literal in the argument must match */
	regex_t *safe_prefix;        /* argument starting with such a literal is safe */
	regex_t *file;               /* the file must contain a match */
};

enum vg_match_kind { VG_MATCH_TAINT, VG_MATCH_PATTERN, VG_MATCH_CREDENTIAL,
	VG_MATCH_SECRET };

struct vg_rule {
	char *id, *title, *category, *description, *exploit, *recommendation;
	int cwe[VG_FINDING_MAX_CWE];
	size_t ncwe;
	enum vg_sev severity;
	enum vg_conf confidence;
	uint32_t langs;              /* bit (1 << vg_lang) per language */
	enum vg_match_kind kind;
	/* taint */
	int cls;                     /* class bit index */
	struct vg_sink *sinks;
	size_t nsinks;
	/* pattern */
	struct vg_pattern **pats, **unless, **unless_fn;
	size_t npats, nunless, nunless_fn;
	regex_t *context, *file, *file_unless;
	/* credential and secret */
	regex_t *name, *placeholder, *regex;
	regex_t *anchored;           /* "^(regex)": tried at one start per prefix hit */
	char *prefix;
	char *back_chars;            /* the match may start this far before the prefix */
	int secret_group;
	double entropy;
	size_t min_length;
};

struct vg_source {
	struct vg_chain chain;
	int taints_arg;              /* -1: the value itself; N: argument N; -2: args after the first */
};

struct vg_sanitizer {
	struct vg_chain chain;
	uint32_t clears;             /* class bits it neutralises */
};

struct vg_propagator {
	struct vg_chain chain;
	int to;                      /* argument that receives the taint */
};

struct vg_taint_lang {
	struct vg_source *sources;
	size_t nsources;
	struct vg_sanitizer *sanitizers;
	size_t nsanitizers;
	struct vg_propagator *props;
	size_t nprops;
	char **mutators;             /* x.append(t) taints x */
	size_t nmutators;
	char **param_annotations;    /* @RequestParam String id: id is tainted */
	size_t nparam_annotations;
};

struct vg_ruleset {
	struct vg_rule *rules;
	size_t n, cap;
	struct vg_taint_lang taint[VG_LANG__COUNT];
	char *classes[VG_TAINT_MAX_CLASSES];
	size_t nclasses;
	char version[64];            /* "sha256:<12 hex>" */
};

/*
 * Load every *.json file of dir and then of extra (either may be NULL or
 * ""; extra's rules replace built-in rules with the same id).  On
 * VG_ERR_INVALID, msg names the file and what is wrong.  *out is owned
 * by the caller (vg_ruleset_free).
 */
enum vg_err vg_ruleset_load(const char *dir, const char *extra,
    struct vg_ruleset **out, char *msg, size_t msglen);
/* Load rules from one JSON text (tests, and what the loader uses). */
enum vg_err vg_ruleset_add_json(struct vg_ruleset *rs, const char *name,
    const char *text, size_t len, char *msg, size_t msglen);
enum vg_err vg_ruleset_new(struct vg_ruleset **out);
void vg_ruleset_free(struct vg_ruleset *rs);
/* Bit index of a taint class name, -1 when unknown. */
int vg_ruleset_class(const struct vg_ruleset *rs, const char *name);

/* Compile one token pattern; NULL on a malformed one (msg says why). */
struct vg_pattern *vg_pattern_compile(const char *src, char *msg, size_t msglen);
void vg_pattern_free(struct vg_pattern *p);
/* Parse "a.b.c" / "^a.b" / "*.x" into c. */
enum vg_err vg_chain_parse(const char *s, struct vg_chain *c);
void vg_chain_free(struct vg_chain *c);

#endif
