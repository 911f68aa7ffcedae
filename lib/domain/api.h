/*
 * api.h - the route handlers of vega-projects.fcgi: projects and their
 * members, repositories, snapshots (upload, git re-fetch, files) and
 * threat profiles; and the operators' GET /v1/ops/limits.
 *
 * Who may do what is lib/auth/access.h's rule: a caller who is not a
 * member of the project behind an id gets 404, exactly as for an id that
 * does not exist; viewers read, members write, owners manage.  Quotas are
 * lib/domain/limits.h's.  The JSON shapes are described in the README's
 * API section.
 */
#ifndef VG_DOMAIN_API_H
#define VG_DOMAIN_API_H

#include "http/http.h"

/* projects.c */
enum vg_err vg_api_project_create(struct vg_http_req *req);
enum vg_err vg_api_project_list(struct vg_http_req *req);
enum vg_err vg_api_project_get(struct vg_http_req *req);
enum vg_err vg_api_project_update(struct vg_http_req *req);
enum vg_err vg_api_project_delete(struct vg_http_req *req);
enum vg_err vg_api_member_list(struct vg_http_req *req);
enum vg_err vg_api_member_get(struct vg_http_req *req);
enum vg_err vg_api_member_put(struct vg_http_req *req);
enum vg_err vg_api_member_delete(struct vg_http_req *req);

/* repositories.c */
enum vg_err vg_api_repository_create(struct vg_http_req *req);
enum vg_err vg_api_repository_list(struct vg_http_req *req);
enum vg_err vg_api_repository_get(struct vg_http_req *req);
enum vg_err vg_api_repository_update(struct vg_http_req *req);
enum vg_err vg_api_repository_delete(struct vg_http_req *req);

/* snapshots.c */
enum vg_err vg_api_snapshot_create(struct vg_http_req *req);
enum vg_err vg_api_snapshot_list(struct vg_http_req *req);
enum vg_err vg_api_snapshot_get(struct vg_http_req *req);
enum vg_err vg_api_snapshot_files(struct vg_http_req *req);
enum vg_err vg_api_snapshot_file(struct vg_http_req *req);

/* profiles.c */
enum vg_err vg_api_profile_create(struct vg_http_req *req);
enum vg_err vg_api_profile_list(struct vg_http_req *req);
enum vg_err vg_api_profile_get(struct vg_http_req *req);
enum vg_err vg_api_profile_put(struct vg_http_req *req);

/* limits.c (vega-ops) */
enum vg_err vg_api_limits(struct vg_http_req *req);

/* usage.c (vega-scans): GET /v1/scans/{id}/usage, a scan's LLM usage,
 * its limits and records. */
enum vg_err vg_api_scan_usage(struct vg_http_req *req);

/* scans.c, events.c, findings.c (vega-scans): scans of a repository,
 * their live events, findings and triage, reports and artifacts. */
enum vg_err vg_api_scans_init(void);
enum vg_err vg_api_scan_create(struct vg_http_req *req);
enum vg_err vg_api_scan_list_repository(struct vg_http_req *req);
enum vg_err vg_api_scan_list(struct vg_http_req *req);
enum vg_err vg_api_scan_get(struct vg_http_req *req);
enum vg_err vg_api_scan_cancel(struct vg_http_req *req);
enum vg_err vg_api_scan_sarif(struct vg_http_req *req);
enum vg_err vg_api_scan_artifacts(struct vg_http_req *req);
enum vg_err vg_api_scan_artifact(struct vg_http_req *req);
enum vg_err vg_api_scan_events(struct vg_http_req *req);
enum vg_err vg_api_repository_events(struct vg_http_req *req);
enum vg_err vg_api_finding_list_scan(struct vg_http_req *req);
enum vg_err vg_api_finding_list_repository(struct vg_http_req *req);
enum vg_err vg_api_finding_get(struct vg_http_req *req);
enum vg_err vg_api_finding_update(struct vg_http_req *req);

/* ops.c (vega-ops, operators only): GET /v1/ops/workers (the registry,
 * each row with a stale flag), GET /v1/ops/cleanup (the last run from
 * the audit log and what the next would remove), POST /v1/ops/cleanup
 * (run it now), GET /v1/ops/scans?status= (every user's scans). */
enum vg_err vg_api_ops_workers(struct vg_http_req *req);
enum vg_err vg_api_ops_cleanup_get(struct vg_http_req *req);
enum vg_err vg_api_ops_cleanup_run(struct vg_http_req *req);
enum vg_err vg_api_ops_scans(struct vg_http_req *req);

#endif
