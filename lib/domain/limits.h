/*
 * limits.h - every quota, evaluated in one place before work starts.
 *
 * A quota is a setting (VEGA_MAX_*; 0 = unlimited) and a way to count
 * what the scope already has.  vg_limits_check answers 429
 * quota_exceeded with details {"setting", "limit", "current"} when the
 * scope is at its limit, so a client learns which limit and how high it
 * is.  The counts are checked before the work, not reserved: two
 * requests racing at the last free slot may both pass (the one quota
 * that must be race-free, active scans, is enforced by the store inside
 * the statement that creates the scan).
 *
 * vg_limits_json lists the active values of every limit, quotas and the
 * size limits of uploads alike: GET /v1/ops/limits.
 */
#ifndef VG_DOMAIN_LIMITS_H
#define VG_DOMAIN_LIMITS_H

#include <jansson.h>
#include "http/http.h"
#include "store/store.h"

enum vg_quota {
	VG_QUOTA_PROJECTS_PER_USER,          /* scope: a user id */
	VG_QUOTA_REPOSITORIES_PER_PROJECT,   /* scope: a project id */
	VG_QUOTA_MEMBERS_PER_PROJECT,        /* scope: a project id */
	VG_QUOTA_SNAPSHOTS_PER_REPOSITORY,   /* scope: a repository id */
	VG_QUOTA_PROFILES_PER_REPOSITORY,    /* scope: a repository id */
	VG_QUOTA_ACTIVE_SCANS_PER_USER,      /* scope: a user id (the store enforces it) */
	VG_QUOTA__COUNT
};

/*
 * Whether scope may have one more of quota's kind: VG_OK, or
 * VG_ERR_QUOTA answered as 429 with the limit in details (or the store's
 * error, recorded).  The count of what exists comes from the store.
 */
enum vg_err vg_limits_check(struct vg_http_req *req, struct vg_store *s, enum vg_quota quota,
    const char *scope_id);

/* The limit of quota now (0 = unlimited) and its setting's name. */
int64_t vg_limits_value(enum vg_quota quota);
const char *vg_limits_setting(enum vg_quota quota);

/* {"VEGA_MAX_...": value, ...} for every limit (new reference). */
json_t *vg_limits_json(void);

#endif
