/*
 * scans.c - POST/GET /v1/repositories/{id}/scans, GET /v1/scans,
 * GET /v1/scans/{id}, POST /v1/scans/{id}/cancel, the scan's report and
 * artifacts; the access check through a scan or a finding.
 *
 * A scan is created queued, against the user's quota of active scans
 * (VEGA_MAX_ACTIVE_SCANS_PER_USER, enforced by the store inside the
 * step that creates the scan, so concurrent requests cannot pass it
 * together), then dispatched by VEGA_SCAN_EXECUTION_MODE:
 *   thread    the API host starts "vega-runner SCAN_ID" detached
 *             (dispatch.h), which claims the scan itself;
 *   external  nothing: a worker claims it from the store;
 *   sqs       not available yet: vega-scans refuses to start.
 * The artifacts a runner uploads live in the artifacts bucket under
 * scans/<scan_id>/ and are served as they are.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blob/blob.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/dispatch.h"
#include "domain/limits.h"

#define SCAN_PAGE_MAX 200
#define ARTIFACT_CHUNK (64 * 1024)

/* The states a status filter may name. */
static const char *const scan_states[] = {
	VG_SCAN_QUEUED, VG_SCAN_CLAIMED, VG_SCAN_RUNNING,
	VG_SCAN_COMPLETED, VG_SCAN_FAILED, VG_SCAN_CANCELLED,
};

/* What each artifact is served as (by the end of its name). */
static const struct {
	const char *suffix;
	const char *type;
} artifact_types[] = {
	{".sarif", "application/sarif+json"},
	{".jsonl", "application/x-ndjson"},
	{".json", "application/json"},
	{".zip", "application/zip"},
	{".txt", "text/plain; charset=utf-8"},
};

enum vg_err
vg_api_scans_init(void)
{
	enum vg_err err;

	if ((err = vg_auth_init()) != VG_OK)
		return err;
	if (vg_cfg_is(VG_SET_SCAN_EXECUTION_MODE, "sqs")) {
		vg_log(VG_LOG_ERROR, "config_invalid", "setting", "VEGA_SCAN_EXECUTION_MODE",
		    "msg", "sqs dispatch is not available yet; use thread or external", NULL);
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

/* ---- JSON ---- */

bool
vg_api_scan_finished(const char *status)
{
	return strcmp(status, VG_SCAN_COMPLETED) == 0 || strcmp(status, VG_SCAN_FAILED) == 0 ||
	    strcmp(status, VG_SCAN_CANCELLED) == 0;
}

json_t *
vg_api_scan_json(const struct vg_scan *s, json_t *artifacts)
{
	json_t *o = json_object(), *counts = json_object(), *error = json_null();
	size_t i;

	if (!artifacts)
		artifacts = json_object();
	if (s->error_code[0])
		error = json_pack("{s:s, s:s}", "code", s->error_code,
		    "message", s->error_message);
	for (i = 0; counts && i < VG_SEVERITY_COUNT; i++)
		json_object_set_new(counts, vg_severity_names[i], json_integer(s->severity_counts[i]));
	if (!o || !counts || !artifacts || !error) {
		json_decref(o);
		json_decref(counts);
		json_decref(artifacts);
		json_decref(error);
		return NULL;
	}
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "repository_id", json_string(s->repository_id));
	json_object_set_new(o, "project_id", vg_http_opt_str(s->project_id));
	json_object_set_new(o, "snapshot_id", json_string(s->snapshot_id));
	json_object_set_new(o, "threat_profile_id", vg_http_opt_str(s->profile_id));
	json_object_set_new(o, "threat_profile_version",
	    s->profile_version > 0 ? json_integer(s->profile_version) : json_null());
	json_object_set_new(o, "status", json_string(s->status));
	json_object_set_new(o, "engine", vg_http_opt_str(s->engine));
	json_object_set_new(o, "attempt", json_integer(s->attempt));
	json_object_set_new(o, "created_by", vg_http_opt_str(s->created_by));
	json_object_set_new(o, "created_at", vg_http_opt_time(s->created_at_us));
	json_object_set_new(o, "claimed_at", vg_http_opt_time(s->claimed_at_us));
	json_object_set_new(o, "started_at", vg_http_opt_time(s->started_at_us));
	json_object_set_new(o, "heartbeat_at", vg_http_opt_time(s->heartbeat_at_us));
	json_object_set_new(o, "finished_at", vg_http_opt_time(s->finished_at_us));
	json_object_set_new(o, "cancel_requested_at", vg_http_opt_time(s->cancel_requested_at_us));
	json_object_set_new(o, "updated_at", vg_http_opt_time(s->updated_at_us));
	json_object_set_new(o, "error", error);
	json_object_set_new(o, "files_scanned", json_integer(s->files_scanned));
	json_object_set_new(o, "findings_count", json_integer(s->findings_count));
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "last_event_seq", json_integer(s->last_event_seq));
	json_object_set_new(o, "artifacts", artifacts);
	return o;
}

/* ---- artifacts ---- */

/* The blob store, or a recorded 503. */
static enum vg_err
open_blob(struct vg_http_req *req, struct vg_blob **blob)
{
	char msg[160] = "";

	if (*blob)
		return VG_OK;
	if (vg_blob_open(blob, msg, sizeof msg) != VG_OK) {
		vg_log(VG_LOG_ERROR, "blob.open_failed", "msg", msg, NULL);
		return vg_http_fail(req, VG_ERR_UNAVAILABLE, "file storage is unavailable", NULL);
	}
	return VG_OK;
}

/*
 * The artifacts of scan id: each name under scans/<id>/ in the artifacts
 * bucket into *names (a new array of strings, in name order).  At most
 * one page: a runner writes five.
 */
static enum vg_err
artifact_names(struct vg_blob *blob, const char *id, json_t **names)
{
	struct vg_blob_list l;
	char prefix[VG_UUID_LEN + 8];
	size_t i, plen;
	enum vg_err err;

	*names = NULL;
	snprintf(prefix, sizeof prefix, "scans/%s/", id);
	plen = strlen(prefix);
	memset(&l, 0, sizeof l);
	if ((err = vg_blob_list(blob, VG_BLOB_ARTIFACTS, prefix, NULL, 100, &l)) != VG_OK)
		return err;
	if (!(*names = json_array()))
		err = VG_ERR_NOMEM;
	for (i = 0; err == VG_OK && i < l.n; i++)
		if (strlen(l.keys[i]) > plen && !strchr(l.keys[i] + plen, '/'))
			json_array_append_new(*names, json_string(l.keys[i] + plen));
	vg_blob_list_free(&l);
	return err;
}

/* {name: url} of a finished scan's artifacts ({} for one still going,
 * which has uploaded none yet, or when storage cannot be read: the scan
 * itself is still worth showing).  *blob is opened on first use. */
static json_t *
artifact_links(struct vg_blob **blob, const struct vg_scan *s)
{
	json_t *names = NULL, *o = json_object(), *v;
	char msg[160], url[VG_UUID_LEN + 300];
	size_t i;

	if (!o || !vg_api_scan_finished(s->status))
		return o;
	if (!*blob && vg_blob_open(blob, msg, sizeof msg) != VG_OK)
		return o;
	if (artifact_names(*blob, s->id, &names) != VG_OK) {
		vg_log(VG_LOG_WARN, "artifacts_unreadable", "scan_id", s->id, NULL);
		return o;
	}
	json_array_foreach(names, i, v) {
		snprintf(url, sizeof url, "/v1/scans/%s/artifacts/%s", s->id, json_string_value(v));
		json_object_set_new(o, json_string_value(v), json_string(url));
	}
	json_decref(names);
	return o;
}

/*
 * The view of one scan (GET, cancel): its JSON with its artifact links
 * and "llm_usage", the totals of its LLM calls through the proxy (zeros
 * when it made none; null, logged, when the store cannot count them: the
 * scan itself is still worth showing).  Lists leave llm_usage out: one
 * store call per item is too dear for a page.  New reference; NULL when
 * out of memory.
 */
static json_t *
scan_full_json(struct vg_store *st, const struct vg_scan *s)
{
	struct vg_blob *blob = NULL;
	struct vg_llm_totals t;
	json_t *o = vg_api_scan_json(s, artifact_links(&blob, s)), *usage;

	vg_blob_free(blob);
	if (!o)
		return NULL;
	memset(&t, 0, sizeof t);
	if (vg_store_llm_totals(st, s->id, &t) == VG_OK) {
		usage = vg_api_llm_totals_json(&t);
	} else {
		vg_log(VG_LOG_WARN, "llm_usage_unreadable", "scan_id", s->id, NULL);
		usage = json_null();
	}
	if (!usage || json_object_set_new(o, "llm_usage", usage) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *
artifact_type(const char *name)
{
	size_t i, n = strlen(name), k;

	for (i = 0; i < sizeof artifact_types / sizeof artifact_types[0]; i++) {
		k = strlen(artifact_types[i].suffix);
		if (n > k && strcmp(name + n - k, artifact_types[i].suffix) == 0)
			return artifact_types[i].type;
	}
	return "application/octet-stream";
}

/*
 * Stream artifact name of scan (already access-checked) as it is stored,
 * with its length and type.  404 when it is not there; 409 (with the
 * scan's status) when the scan has not finished and so has none yet.
 */
static enum vg_err
serve_artifact(struct vg_http_req *req, const struct vg_scan *scan, const char *name)
{
	struct vg_blob *blob = NULL;
	struct vg_blob_reader *rd = NULL;
	char key[VG_UUID_LEN + 300], len[24], disp[320];
	char *buf = NULL;
	size_t got = 0;
	enum vg_err err;
	int n;

	n = snprintf(key, sizeof key, "scans/%s/%s", scan->id, name ? name : "");
	if (!name || n < 0 || (size_t)n >= sizeof key || !vg_blob_key_valid(key) ||
	    strchr(name, '/'))
		return vg_http_fail(req, VG_ERR_NOT_FOUND, "no such artifact", NULL);
	if ((err = open_blob(req, &blob)) != VG_OK)
		goto out;
	if ((err = vg_blob_get(blob, VG_BLOB_ARTIFACTS, key, &rd)) != VG_OK) {
		if (err == VG_ERR_NOT_FOUND && !vg_api_scan_finished(scan->status))
			err = vg_http_error(req, VG_ERR_CONFLICT, "the scan has not finished",
			    NULL, json_pack("{s:s}", "status", scan->status));
		else
			err = vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such artifact" :
			    "the artifact cannot be read from storage", NULL);
		goto out;
	}
	if (!(buf = malloc(ARTIFACT_CHUNK))) {
		err = vg_http_fail(req, VG_ERR_NOMEM, NULL, NULL);
		goto out;
	}
	snprintf(len, sizeof len, "%llu", (unsigned long long)vg_blob_reader_size(rd));
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
	vg_http_add_header(req, "Content-Length", len);
	vg_http_add_header(req, "Content-Disposition", disp);
	if ((err = vg_http_stream_begin(req, 200, artifact_type(name))) != VG_OK)
		goto out;
	while ((err = vg_blob_reader_read(rd, buf, ARTIFACT_CHUNK, &got)) == VG_OK && got > 0)
		if ((err = vg_http_stream_write(req, buf, got)) != VG_OK)
			break;
	if (err != VG_OK)
		/* Too late for a status: the client sees a short body. */
		vg_log(VG_LOG_WARN, "artifact_cut", "scan_id", scan->id, "name", name,
		    "error", vg_err_code(err), NULL);
	err = VG_OK;
out:
	free(buf);
	vg_blob_reader_free(rd);
	vg_blob_free(blob);
	return err;
}

enum vg_err
vg_api_scan_artifacts(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	struct vg_blob *blob = NULL;
	struct vg_blob_stat st;
	json_t *names = NULL, *items = NULL, *v;
	char key[VG_UUID_LEN + 300], url[VG_UUID_LEN + 300];
	size_t i;
	enum vg_err err;

	if ((err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)) || (err = open_blob(req, &blob)) != VG_OK)
		goto out;
	if ((err = artifact_names(blob, scan.id, &names)) != VG_OK) {
		err = vg_http_fail(req, err, "the artifacts cannot be listed", NULL);
		goto out;
	}
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);

		snprintf(key, sizeof key, "scans/%s/%s", scan.id, name);
		snprintf(url, sizeof url, "/v1/scans/%s/artifacts/%s", scan.id, name);
		memset(&st, 0, sizeof st);
		if (vg_blob_stat(blob, VG_BLOB_ARTIFACTS, key, &st) != VG_OK)
			continue;
		if ((err = vg_http_items_add(&items, json_pack("{s:s, s:I, s:s, s:s, s:o}",
		    "name", name, "size", (json_int_t)st.size, "content_type", artifact_type(name),
		    "url", url, "modified_at", vg_http_opt_time(st.mtime_us)))) != VG_OK)
			break;
	}
	err = vg_http_answer_page(req, err, items, NULL);
	items = NULL;
out:
	json_decref(items);
	json_decref(names);
	vg_blob_free(blob);
	return err;
}

enum vg_err
vg_api_scan_artifact(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	enum vg_err err;

	if ((err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)))
		return err;
	return serve_artifact(req, &scan, vg_http_capture(req, "name"));
}

enum vg_err
vg_api_scan_sarif(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	enum vg_err err;

	if ((err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)))
		return err;
	return serve_artifact(req, &scan, "report.sarif");
}

/* ---- create ---- */

/* The members a create may carry. */
static const char *const create_members[] = {
	"snapshot_id", "threat_profile_id", "threat_profile_version",
};

/*
 * Read the create body (optional: no Content-Type means none) and pick
 * the snapshot and threat profile version of the scan into sc: the
 * given ones, which must belong to repo, else the repository's current
 * snapshot and its newest profile at its latest version (none when it
 * has no profile).  Errors recorded.
 */
static enum vg_err
read_create(struct vg_http_req *req, struct vg_store *s, const struct vg_repository *repo,
    struct vg_scan *scan)
{
	const char *ctype = vg_http_header(req, "Content-Type");
	const char *snap_id = NULL, *prof_id = NULL, *key;
	json_t *body = NULL, *v;
	json_int_t version = 0;
	struct vg_snapshot snap;
	struct vg_threat_profile prof, *profs = NULL;
	size_t n = 0, i;
	char *next = NULL;
	enum vg_err err = VG_OK;

	memset(&prof, 0, sizeof prof);
	if (ctype && *ctype) {
		if ((err = vg_http_read_json(req, &body)) != VG_OK ||
		    (err = vg_http_body_str(req, body, "snapshot_id", false, VG_UUID_LEN,
		    &snap_id)) ||
		    (err = vg_http_body_str(req, body, "threat_profile_id", false, VG_UUID_LEN,
		    &prof_id)))
			goto out;
		json_object_foreach(body, key, v) {
			for (i = 0; i < sizeof create_members / sizeof create_members[0]; i++)
				if (strcmp(key, create_members[i]) == 0)
					break;
			if (i == sizeof create_members / sizeof create_members[0]) {
				err = vg_http_fail(req, VG_ERR_INVALID, "unknown member", key);
				goto out;
			}
		}
		v = json_object_get(body, "threat_profile_version");
		if (v && (!json_is_integer(v) || (version = json_integer_value(v)) < 1 || !prof_id)) {
			err = vg_http_fail(req, VG_ERR_INVALID, "threat_profile_version must be a "
			    "version (1, 2, ...) of the threat_profile_id given",
			    "threat_profile_version");
			goto out;
		}
	}
	if (snap_id) {
		if (!vg_uuid_valid(snap_id) || vg_store_snapshot_get(s, snap_id, &snap) != VG_OK ||
		    strcmp(snap.repository_id, repo->id) != 0) {
			err = vg_http_fail(req, VG_ERR_INVALID, "no such snapshot of this repository",
			    "snapshot_id");
			goto out;
		}
		vg_str_copy(scan->snapshot_id, sizeof scan->snapshot_id, snap.id);
	} else if (!repo->current_snapshot_id[0]) {
		err = vg_http_fail(req, VG_ERR_CONFLICT, "the repository has no snapshot yet", NULL);
		goto out;
	} else {
		vg_str_copy(scan->snapshot_id, sizeof scan->snapshot_id, repo->current_snapshot_id);
	}
	if (prof_id) {
		err = vg_uuid_valid(prof_id) ? vg_store_threat_profile_get(s, prof_id,
		    (int64_t)version, &prof) : VG_ERR_NOT_FOUND;
		if (err == VG_OK && strcmp(prof.repository_id, repo->id) != 0)
			err = VG_ERR_NOT_FOUND;
		if (err == VG_ERR_NOT_FOUND || err == VG_ERR_INVALID) {
			err = vg_http_fail(req, VG_ERR_INVALID, version ?
			    "no such version of a threat profile of this repository" :
			    "no such threat profile of this repository",
			    version ? "threat_profile_version" : "threat_profile_id");
			goto out;
		}
		if (err != VG_OK) {
			err = vg_http_fail(req, err, NULL, NULL);
			goto out;
		}
		vg_str_copy(scan->profile_id, sizeof scan->profile_id, prof.id);
		scan->profile_version = prof.version;
	} else {
		if ((err = vg_store_threat_profile_list(s, repo->id, NULL, 1, &profs, &n, &next))) {
			err = vg_http_fail(req, err, NULL, NULL);
			goto out;
		}
		if (n > 0) {
			vg_str_copy(scan->profile_id, sizeof scan->profile_id, profs[0].id);
			scan->profile_version = profs[0].latest_version;
		}
	}
out:
	for (i = 0; i < n; i++)
		vg_threat_profile_clear(&profs[i]);
	free(profs);
	free(next);
	vg_threat_profile_clear(&prof);
	json_decref(body);
	return err;
}

/* Answer a create the store refused for the quota: the limit and how
 * many scans the user has running, as every quota answer says. */
static enum vg_err
quota_refused(struct vg_http_req *req, struct vg_store *s, const char *user_id)
{
	int64_t limit = vg_limits_value(VG_QUOTA_ACTIVE_SCANS_PER_USER), current = limit;
	char msg[160];

	/* Normally the shared check answers (the count is at the limit). */
	if (vg_limits_check(req, s, VG_QUOTA_ACTIVE_SCANS_PER_USER, user_id) != VG_OK)
		return VG_ERR_QUOTA;
	/* A scan ended between the refusal and the count: still refused. */
	vg_store_scan_count_active(s, user_id, &current);
	snprintf(msg, sizeof msg, "the limit of %lld scans you have queued or running is reached",
	    (long long)limit);
	vg_http_set_retry_after(req, 60);
	return vg_http_error(req, VG_ERR_QUOTA, msg, NULL, json_pack("{s:s, s:I, s:I}",
	    "setting", vg_limits_setting(VG_QUOTA_ACTIVE_SCANS_PER_USER),
	    "limit", (json_int_t)limit, "current", (json_int_t)current));
}

/* Dispatch a queued scan as VEGA_SCAN_EXECUTION_MODE says.  A runner
 * that cannot be started leaves no scan waiting for nobody: it is
 * cancelled and the client told to retry. */
static enum vg_err
dispatch(struct vg_http_req *req, struct vg_store *s, struct vg_scan *scan)
{
	struct vg_scan after;

	if (!vg_cfg_is(VG_SET_SCAN_EXECUTION_MODE, "thread"))
		return VG_OK;
	if (vg_domain_dispatch_scan(scan->id, scan->attempt + 1) == VG_OK)
		return VG_OK;
	if (vg_store_scan_cancel(s, scan->id, vg_time_now_us(), &after) != VG_OK)
		vg_log(VG_LOG_ERROR, "scan_orphaned", "scan_id", scan->id, NULL);
	return vg_http_fail(req, VG_ERR_UNAVAILABLE, "the scan could not be started", NULL);
}

enum vg_err
vg_api_scan_create(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_scan scan;
	enum vg_err err;

	memset(&scan, 0, sizeof scan);
	if ((err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc,
	    &repo)))
		return err;
	if (strcmp(repo.ingest_status, VG_INGEST_READY) != 0)
		return vg_http_error(req, VG_ERR_CONFLICT, "only a ready repository can be scanned",
		    NULL, json_pack("{s:s}", "ingest_status", repo.ingest_status));
	if ((err = read_create(req, sc.store, &repo, &scan)) != VG_OK)
		return err;
	vg_str_copy(scan.repository_id, sizeof scan.repository_id, repo.id);
	vg_str_copy(scan.created_by, sizeof scan.created_by, sc.who->user_id);
	vg_str_copy(scan.engine, sizeof scan.engine, vg_cfg_str(VG_SET_SCAN_ENGINE));
	vg_str_copy(scan.options, sizeof scan.options, "{}");
	err = vg_store_scan_create(sc.store, &scan, vg_cfg_int(VG_SET_MAX_ACTIVE_SCANS_PER_USER));
	if (err == VG_ERR_QUOTA)
		return quota_refused(req, sc.store, sc.who->user_id);
	if (err == VG_ERR_NOT_FOUND)
		return vg_http_fail(req, VG_ERR_CONFLICT,
		    "the snapshot or threat profile went away; try again", NULL);
	if (err != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if (!scan.project_id[0])
		vg_str_copy(scan.project_id, sizeof scan.project_id, repo.project_id);
	vg_auth_audit(req, sc.who->user_id, "scan.created", "scan", scan.id,
	    json_pack("{s:s, s:s, s:o, s:s}", "repository_id", repo.id, "snapshot_id",
	    scan.snapshot_id, "threat_profile_id", vg_http_opt_str(scan.profile_id),
	    "mode", vg_cfg_str(VG_SET_SCAN_EXECUTION_MODE)));
	if ((err = dispatch(req, sc.store, &scan)) != VG_OK)
		return err;
	return vg_http_json(req, 202, vg_api_scan_json(&scan, NULL));
}

/* ---- lists and views ---- */

/* ?status= of a list: NULL (any) or a state; errors recorded. */
static enum vg_err
status_arg(struct vg_http_req *req, const char **out)
{
	const char *v = vg_http_query_get(req, "status");
	size_t i;

	*out = NULL;
	if (!v || !*v)
		return VG_OK;
	for (i = 0; i < sizeof scan_states / sizeof scan_states[0]; i++)
		if (strcmp(v, scan_states[i]) == 0) {
			*out = scan_states[i];
			return VG_OK;
		}
	return vg_http_fail(req, VG_ERR_INVALID, "status must be queued, claimed, running, "
	    "completed, failed or cancelled", "status");
}

/* One page of scans matching f, answered. */
static enum vg_err
answer_scans(struct vg_http_req *req, struct vg_store *s, const struct vg_scan_filter *f,
    const char *cursor, int64_t limit)
{
	struct vg_scan *rows = NULL;
	struct vg_blob *blob = NULL;
	json_t *items = NULL;
	char *next = NULL;
	size_t i, n = 0;
	enum vg_err err;

	err = vg_store_scan_list(s, f, cursor, (int)limit, &rows, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_scan_json(&rows[i],
		    artifact_links(&blob, &rows[i])));
	err = vg_http_answer_page(req, err, items, next);
	vg_blob_free(blob);
	free(rows);
	free(next);
	return err;
}

enum vg_err
vg_api_scan_list_repository(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_scan_filter f;
	const char *cursor;
	int64_t limit;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	if ((err = vg_http_page_args(req, SCAN_PAGE_MAX, &limit, &cursor)) != VG_OK ||
	    (err = status_arg(req, &f.status)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &repo)))
		return err;
	f.repository_id = repo.id;
	return answer_scans(req, sc.store, &f, cursor, limit);
}

/*
 * GET /v1/scans: the caller's own scans (every scan for root), or with
 * ?repository_id= every scan of a repository the caller may read.
 */
enum vg_err
vg_api_scan_list(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_scan_filter f;
	const struct vg_principal *who = vg_auth_principal(req);
	const char *cursor, *rid = vg_http_query_get(req, "repository_id");
	struct vg_store *s = NULL;
	int64_t limit;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	if ((err = vg_http_page_args(req, SCAN_PAGE_MAX, &limit, &cursor)) != VG_OK ||
	    (err = status_arg(req, &f.status)) != VG_OK)
		return err;
	if (rid && *rid) {
		if ((err = vg_api_scope_repository(req, rid, VG_NEED_READ, &sc, &repo)) != VG_OK)
			return err;
		f.repository_id = repo.id;
		s = sc.store;
	} else {
		if (!who)
			return vg_http_fail(req, VG_ERR_UNAUTHORIZED, NULL, NULL);
		if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
			return err;
		if (!vg_principal_in(who, VG_GROUP_ROOT))
			f.created_by = who->user_id;
	}
	return answer_scans(req, s, &f, cursor, limit);
}

enum vg_err
vg_api_scan_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	enum vg_err err;

	if ((err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)))
		return err;
	return vg_http_json(req, 200, scan_full_json(sc.store, &scan));
}

/*
 * POST /v1/scans/{id}/cancel: a queued scan is cancelled at once (200); a
 * claimed or running one is asked to stop (202: its runner finishes it
 * cancelled within a heartbeat); a finished one is left as it is (200).
 * Asking again changes nothing.
 */
enum vg_err
vg_api_scan_cancel(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan before, after;
	struct vg_repository repo;
	enum vg_err err;

	if ((err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc, &before,
	    &repo)))
		return err;
	if ((err = vg_store_scan_cancel(sc.store, before.id, vg_time_now_us(), &after)) != VG_OK)
		return vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such scan" : NULL, NULL);
	if (!vg_api_scan_finished(before.status) && before.cancel_requested_at_us == 0)
		vg_auth_audit(req, sc.who->user_id, "scan.cancel_requested", "scan", before.id,
		    json_pack("{s:s, s:s}", "status_before", before.status,
		    "status_after", after.status));
	return vg_http_json(req, vg_api_scan_finished(after.status) ? 200 : 202,
	    scan_full_json(sc.store, &after));
}
