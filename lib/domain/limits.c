/* limits.c - the quota table and GET /v1/ops/limits. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include "core/settings.h"
#include "domain/api.h"
#include "domain/limits.h"

static enum vg_err
count_projects(struct vg_store *s, const char *id, int64_t *n)
{
	return vg_store_project_count_owned(s, id, n);
}

static enum vg_err
count_repositories(struct vg_store *s, const char *id, int64_t *n)
{
	return vg_store_repository_count(s, id, n);
}

static enum vg_err
count_members(struct vg_store *s, const char *id, int64_t *n)
{
	struct vg_member *m = NULL;
	size_t count = 0;
	enum vg_err err = vg_store_member_list(s, id, &m, &count);

	free(m);
	*n = (int64_t)count;
	return err;
}

static enum vg_err
count_snapshots(struct vg_store *s, const char *id, int64_t *n)
{
	return vg_store_snapshot_count(s, id, n);
}

static enum vg_err
count_profiles(struct vg_store *s, const char *id, int64_t *n)
{
	return vg_store_threat_profile_count(s, id, n);
}

static enum vg_err
count_active_scans(struct vg_store *s, const char *id, int64_t *n)
{
	return vg_store_scan_count_active(s, id, n);
}

static const struct quota {
	enum vg_setting_id setting;
	const char *what;           /* "projects per user" for the message */
	enum vg_err (*count)(struct vg_store *s, const char *scope, int64_t *n);
} quotas[VG_QUOTA__COUNT] = {
	[VG_QUOTA_PROJECTS_PER_USER] = {VG_SET_MAX_PROJECTS_PER_USER,
	    "projects you own", count_projects},
	[VG_QUOTA_REPOSITORIES_PER_PROJECT] = {VG_SET_MAX_REPOSITORIES_PER_PROJECT,
	    "repositories in this project", count_repositories},
	[VG_QUOTA_MEMBERS_PER_PROJECT] = {VG_SET_MAX_MEMBERS_PER_PROJECT,
	    "members of this project", count_members},
	[VG_QUOTA_SNAPSHOTS_PER_REPOSITORY] = {VG_SET_MAX_SNAPSHOTS_PER_REPOSITORY,
	    "snapshots of this repository", count_snapshots},
	[VG_QUOTA_PROFILES_PER_REPOSITORY] = {VG_SET_MAX_THREAT_PROFILES_PER_REPOSITORY,
	    "threat profiles of this repository", count_profiles},
	[VG_QUOTA_ACTIVE_SCANS_PER_USER] = {VG_SET_MAX_ACTIVE_SCANS_PER_USER,
	    "scans you have queued or running", count_active_scans},
};

/* Every setting GET /v1/ops/limits shows: the quotas and the size limits. */
static const enum vg_setting_id shown[] = {
	VG_SET_MAX_PROJECTS_PER_USER, VG_SET_MAX_REPOSITORIES_PER_PROJECT,
	VG_SET_MAX_MEMBERS_PER_PROJECT, VG_SET_MAX_SNAPSHOTS_PER_REPOSITORY,
	VG_SET_MAX_THREAT_PROFILES_PER_REPOSITORY, VG_SET_MAX_ACTIVE_SCANS_PER_USER,
	VG_SET_MAX_SOURCE_BYTES, VG_SET_MAX_ARCHIVE_ENTRIES, VG_SET_MAX_ARCHIVE_FILE_BYTES,
	VG_SET_MAX_ARCHIVE_UNCOMPRESSED_BYTES, VG_SET_MAX_JSON_BODY_BYTES,
	VG_SET_MAX_FILE_VIEW_BYTES, VG_SET_GIT_TIMEOUT_SECONDS, VG_SET_RUNNER_MAX_SECONDS,
	VG_SET_LLM_PROXY_MAX_REQUESTS_PER_SCAN, VG_SET_LLM_PROXY_MAX_TOKENS_PER_SCAN,
};

int64_t
vg_limits_value(enum vg_quota quota)
{
	return (unsigned)quota < VG_QUOTA__COUNT ? vg_cfg_int(quotas[quota].setting) : 0;
}

const char *
vg_limits_setting(enum vg_quota quota)
{
	size_t n = 0;
	const struct vg_setting_def *defs = vg_settings_defs(&n);

	if ((unsigned)quota >= VG_QUOTA__COUNT || (size_t)quotas[quota].setting >= n)
		return "?";
	return defs[quotas[quota].setting].name;
}

enum vg_err
vg_limits_check(struct vg_http_req *req, struct vg_store *s, enum vg_quota quota,
    const char *scope_id)
{
	int64_t limit = vg_limits_value(quota), current = 0;
	char msg[160];
	enum vg_err err;

	if ((unsigned)quota >= VG_QUOTA__COUNT)
		return vg_http_fail(req, VG_ERR_INTERNAL, "unknown quota", NULL);
	if (limit == 0)
		return VG_OK;
	if ((err = quotas[quota].count(s, scope_id, &current)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if (current < limit)
		return VG_OK;
	snprintf(msg, sizeof msg, "the limit of %lld %s is reached", (long long)limit,
	    quotas[quota].what);
	vg_http_set_retry_after(req, 3600);
	return vg_http_error(req, VG_ERR_QUOTA, msg, NULL,
	    json_pack("{s:s, s:I, s:I}", "setting", vg_limits_setting(quota),
	    "limit", (json_int_t)limit, "current", (json_int_t)current));
}

json_t *
vg_limits_json(void)
{
	size_t n = 0, i;
	const struct vg_setting_def *defs = vg_settings_defs(&n);
	json_t *o = json_object();

	for (i = 0; o && i < sizeof shown / sizeof shown[0]; i++)
		if ((size_t)shown[i] < n)
			json_object_set_new(o, defs[shown[i]].name, json_integer(vg_cfg_int(shown[i])));
	return o;
}

enum vg_err
vg_api_limits(struct vg_http_req *req)
{
	return vg_http_json(req, 200, json_pack("{s:o}", "limits", vg_limits_json()));
}
