/*
 * engine.h - the boundary between a scan and the engines that audit code.
 *
 * One call, vg_engine_run(), runs an engine over an extracted source tree
 * with a threat profile, a cancellation check and a sink.  The engine
 * reports events (scan_started, scan_progress, scan_log, finding_updated)
 * and findings through the sink's callbacks and never touches the store,
 * HTTP, S3 or the queue: the runner persists what the sink receives.
 *
 * Engines live in a const table by name ("rules" now; "llm" and "codex"
 * later behind the same call).  "auto" picks the best engine that is
 * configured.  VEGA_SCAN_ENGINE names the default.
 *
 * Ownership: everything passed in is borrowed for the duration of the call.
 * Findings and events handed to the sink are borrowed for the duration of
 * the callback.  The result is owned by the caller (vg_engine_result_free).
 */
#ifndef VG_ENGINE_ENGINE_H
#define VG_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"

/* ---- severities and confidence ---------------------------------------- */

enum vg_sev { VG_SEV_INFO, VG_SEV_LOW, VG_SEV_MEDIUM, VG_SEV_HIGH, VG_SEV_CRITICAL,
	VG_SEV__COUNT };
enum vg_conf { VG_CONF_LOW, VG_CONF_MEDIUM, VG_CONF_HIGH, VG_CONF__COUNT };

/* "critical", "high", ...; never NULL. */
const char *vg_sev_name(enum vg_sev sev);
/* Parse a severity name (any case); VG_ERR_INVALID when unknown. */
enum vg_err vg_sev_parse(const char *s, enum vg_sev *out);
/* SARIF's security-severity score (0.0-10.0) for a severity. */
double vg_sev_score(enum vg_sev sev);
/* SARIF result level ("error", "warning", "note"). */
const char *vg_sev_sarif_level(enum vg_sev sev);
const char *vg_conf_name(enum vg_conf conf);
enum vg_err vg_conf_parse(const char *s, enum vg_conf *out);

/* ---- findings (DESIGN.md section 5) ----------------------------------- */

#define VG_FINGERPRINT_LEN 64   /* lower-case hex SHA-256, without the NUL */
#define VG_FINDING_MAX_CWE 4

/*
 * One finding as an engine reports it.  The store adds what belongs to the
 * scan history (status open/confirmed/dismissed with reason, actor and
 * time; first and last scan seen) keyed by the fingerprint.
 *
 * The fingerprint does not depend on line numbers: for the rules engine it
 * hashes the rule id, the path, the enclosing function's name, the sink
 * statement's token text and the statement's occurrence index among
 * identical statements of that function.  Secrets are masked in every
 * string field before a finding leaves the engine.
 */
struct vg_finding {
	char fingerprint[VG_FINGERPRINT_LEN + 1];
	char *rule_id;          /* "vg.python.sql-injection" */
	char *title;
	enum vg_sev severity;
	enum vg_conf confidence;
	int cwe[VG_FINDING_MAX_CWE];
	size_t ncwe;
	char *category;         /* "sql-injection", "secrets", ... */
	char *path;             /* relative to the scanned root, '/'-separated */
	uint32_t line_start, line_end;
	uint32_t col_start;     /* 1-based, 0 when unknown */
	char *snippet;          /* the source line(s), masked, at most ~400 bytes */
	char *message;          /* what this occurrence is: "request.args reaches execute()" */
	char *description;      /* what the rule means */
	char *exploit_scenario;
	char *recommendation;
	char *function;         /* enclosing function, "" at file level */
	char *engine;           /* "rules" */
	char *also_rules;       /* other rules merged into this one, comma list, or NULL */
};

/* Release a finding and its strings; NULL is fine. */
void vg_finding_free(struct vg_finding *f);
/* A deep copy, or NULL when out of memory.  Free with vg_finding_free. */
struct vg_finding *vg_finding_dup(const struct vg_finding *f);
/* The finding as a JSON object (the report's and the event's form). */
json_t *vg_finding_to_json(const struct vg_finding *f);

/* ---- threat profile (the engine's view of it) ------------------------- */

/*
 * What the user says matters.  Parsed from JSON:
 *   {"name": "...", "focus": ["authentication", "sql injection", "api/"],
 *    "out_of_scope": ["docs/", "*.md"], "in_scope": ["src/"],
 *    "include_vendored": false, "include_tests": true,
 *    "min_severity": "low"}
 * "focus_areas" and "out_of_scope_paths"/"exclude" are accepted as
 * synonyms.  Unknown keys are ignored, so a richer profile document from
 * the API can be passed as it is.
 */
struct vg_profile {
	char *name;
	char **focus;
	size_t nfocus;
	char **out_of_scope;
	size_t nout;
	char **in_scope;
	size_t nin;
	bool include_vendored;
	bool include_tests;
	enum vg_sev min_severity;
};

/* Parse a profile from a JSON object; *out owned by the caller. */
enum vg_err vg_profile_from_json(json_t *obj, struct vg_profile **out);
/* Read and parse a profile file (at most 1 MiB). */
enum vg_err vg_profile_load(const char *path, struct vg_profile **out);
/* An empty profile: everything in scope, no focus. */
enum vg_err vg_profile_default(struct vg_profile **out);
void vg_profile_free(struct vg_profile *p);
/* Whether the '/'-separated relative path matches glob ('*', '**', '?'):
 * a glob without '/' also matches a basename, and a glob matching a
 * directory matches everything below it. */
bool vg_glob_match(const char *glob, const char *path);

/* ---- events and the sink ---------------------------------------------- */

enum vg_event_type {
	VG_EV_SCAN_STARTED,
	VG_EV_SCAN_PROGRESS,
	VG_EV_SCAN_LOG,
	VG_EV_FINDING_UPDATED,
	VG_EV__COUNT
};

/* "scan_started", ...; the names of DESIGN.md section 5. */
const char *vg_event_type_name(enum vg_event_type t);

/*
 * An event: its type and a JSON payload (borrowed).  Payloads:
 *   scan_started     {"engine","rules_version","root"}
 *   scan_progress    {"step":"plan"|"audit"|"report","component","percent",
 *                     "files_done","files_total", and for step "plan" the
 *                     plan itself under "plan"}
 *   scan_log         {"level","message"}
 *   finding_updated  {"fingerprint","rule_id","severity","path","line",
 *                     "title","new":true|false}
 */
struct vg_engine_event {
	enum vg_event_type type;
	json_t *payload;
};

/*
 * Where an engine reports.  Both callbacks may be NULL.  A callback that
 * returns an error stops the engine, which returns that error.
 * finding() is called once per new finding, and again with updated=true
 * when a later duplicate merges into it (same fingerprint).
 */
struct vg_engine_sink {
	void *ctx;
	enum vg_err (*event)(void *ctx, const struct vg_engine_event *ev);
	enum vg_err (*finding)(void *ctx, const struct vg_finding *f, bool updated);
};

/* ---- running ---------------------------------------------------------- */

struct vg_engine_limits {
	uint64_t max_file_bytes;       /* larger files are skipped (0: setting) */
	uint64_t max_component_bytes;  /* larger components are split (0: setting) */
	uint64_t max_files;            /* files looked at, at most (0: setting) */
};

struct vg_engine_params {
	const char *root;              /* the extracted source tree */
	const struct vg_profile *profile;  /* NULL: the default profile */
	const char *rules_dir;         /* NULL: VEGA_RULES_DIR or the installed rules */
	const char *extra_rules_dir;   /* NULL: VEGA_EXTRA_RULES_DIR (may be empty) */
	/* Polled between files and components; true stops the engine with
	 * VG_ERR_CONFLICT (cancelled) within a second. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
	const struct vg_engine_sink *sink;
	struct vg_engine_limits limits;
};

/* What a run leaves behind, for the reports. */
struct vg_engine_result {
	char *engine;                  /* the engine that ran ("rules") */
	char *engine_version;
	char *rules_version;           /* "sha256:<12 hex>" of the rule files, "n rules" */
	size_t nrules;
	struct vg_finding **findings;  /* owned, in report order */
	size_t nfindings;
	json_t *plan;                  /* owned: components, skipped, coverage statement */
	json_t *timings;               /* owned: {"plan_ms","audit_ms","total_ms"} */
	int64_t started_us, finished_us;
	size_t files_audited;
	uint64_t bytes_audited;
	bool cancelled;
	bool success;                  /* ran to the end without an error */
	char *error;                   /* what went wrong, when !success */
};

void vg_engine_result_free(struct vg_engine_result *r);

/*
 * Run the engine called name ("auto", "rules", or NULL for
 * VEGA_SCAN_ENGINE) over p->root.  Returns VG_OK when the engine ran to the
 * end; VG_ERR_CONFLICT when cancelled; VG_ERR_NOT_FOUND for an unknown
 * engine; VG_ERR_UNAVAILABLE when the engine is not configured; other
 * errors from the sink or I/O.  *out is set whenever the engine started
 * (also on cancellation or failure, for a partial report); the caller frees
 * it with vg_engine_result_free.
 */
enum vg_err vg_engine_run(const char *name, const struct vg_engine_params *p,
    struct vg_engine_result **out);

/* The engine "auto" resolves to now ("rules" unless a better one is
 * configured). */
const char *vg_engine_auto_name(void);
/* The names in the engine table, NULL-terminated (static). */
const char *const *vg_engine_names(void);

#endif
