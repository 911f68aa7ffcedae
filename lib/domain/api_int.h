/*
 * api_int.h - what the handlers of lib/domain share (private to it):
 * access checks that load the entity behind an id and answer 404/403 by
 * access.h's rule, and the JSON form of each entity.
 */
#ifndef VG_DOMAIN_API_INT_H
#define VG_DOMAIN_API_INT_H

#include "auth/access.h"
#include "auth/auth.h"
#include "http/http.h"
#include "store/store.h"

/* What one access check found.  role is the caller's role in the
 * project ("" for root callers who are not members). */
struct vg_scope {
	struct vg_store *store;
	const struct vg_principal *who;
	struct vg_project project;
	char role[8];
};

/*
 * Load project id for the request's principal and check need.  Errors
 * are recorded: 404 for an unknown id or a project the caller may not
 * see, 403 when the role falls short, 503 when the store is down.
 */
enum vg_err vg_api_scope_project(struct vg_http_req *req, const char *id,
    enum vg_project_need need, struct vg_scope *sc);
/* The same through repository id; *repo gets it. */
enum vg_err vg_api_scope_repository(struct vg_http_req *req, const char *id,
    enum vg_project_need need, struct vg_scope *sc, struct vg_repository *repo);
/* The same through snapshot id; *snap and *repo get them. */
enum vg_err vg_api_scope_snapshot(struct vg_http_req *req, const char *id,
    enum vg_project_need need, struct vg_scope *sc, struct vg_snapshot *snap,
    struct vg_repository *repo);
/* The same through scan id; *scan and *repo get them. */
enum vg_err vg_api_scope_scan(struct vg_http_req *req, const char *id,
    enum vg_project_need need, struct vg_scope *sc, struct vg_scan *scan,
    struct vg_repository *repo);
/* The same through finding id; *f (cleared with vg_finding_row_clear)
 * and *repo get them. */
enum vg_err vg_api_scope_finding(struct vg_http_req *req, const char *id,
    enum vg_project_need need, struct vg_scope *sc, struct vg_finding_row *f,
    struct vg_repository *repo);

/* JSON forms (new references; NULL when out of memory). */
json_t *vg_api_project_json(const struct vg_project *p, const char *role,
    const struct vg_project_rollup *r);
json_t *vg_api_member_json(const struct vg_member *m);
json_t *vg_api_repository_json(const struct vg_repository *r);
json_t *vg_api_snapshot_json(const struct vg_snapshot *s);
json_t *vg_api_profile_json(const struct vg_threat_profile *p);

/*
 * Start a git fetch of repository r (at ref, or its own ref when NULL):
 * the repository goes ingesting (409 when a fetch is already running)
 * and the fetch is dispatched.  r is updated.  Errors recorded.
 */
enum vg_err vg_api_git_fetch_start(struct vg_http_req *req, struct vg_store *s,
    struct vg_repository *r, const char *ref);

/* Whether s is 1..max bytes of valid UTF-8 without control characters
 * other than tab and newline (names, descriptions). */
bool vg_api_text_ok(const char *s, size_t max, bool multiline);

/* ---- scans, events, findings (scans.c) ---- */

/* Whether a scan in status will change no more. */
bool vg_api_scan_finished(const char *status);
/* A scan's JSON form; artifacts (taken; NULL: {}) maps names to URLs. */
json_t *vg_api_scan_json(const struct vg_scan *s, json_t *artifacts);

/* ---- LLM usage (usage.c) ---- */

/* A scan's LLM usage totals as GET /v1/scans/{id} ("llm_usage") and
 * GET /v1/scans/{id}/usage ("totals") show them (new reference; NULL
 * when out of memory). */
json_t *vg_api_llm_totals_json(const struct vg_llm_totals *t);

#endif
