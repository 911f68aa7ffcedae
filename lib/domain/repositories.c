/*
 * repositories.c - /v1/projects/{id}/repositories and /v1/repositories/{id}.
 *
 * A repository is where snapshots of one code base accumulate: uploaded
 * archives (source_type "upload") or fetches of a git URL (source_type
 * "git", fetched at once on creation and again on POST .../snapshots).
 * Members create and change repositories; deleting one, with its
 * snapshots and profiles, is for owners.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/git.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/ingest.h"
#include "domain/limits.h"

/* Seconds past VEGA_GIT_TIMEOUT_SECONDS after which an unfinished fetch
 * counts as lost. */
#define FETCH_GRACE_SECONDS 120

/* Check git_url and ref (either may be NULL); errors recorded. */
static enum vg_err
check_git(struct vg_http_req *req, const char *url, const char *ref)
{
	const char *why = NULL;

	if (url && vg_git_url_check(url, &why) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, why, "git_url");
	if (ref && *ref && vg_git_ref_check(ref, &why) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, why, "ref");
	return VG_OK;
}

/* Read the fields of a create (create) or a PATCH into r; errors
 * recorded naming the field. */
static enum vg_err
read_repository_fields(struct vg_http_req *req, json_t *body, bool create,
    struct vg_repository *r)
{
	const char *name = NULL, *type = NULL, *url = NULL, *ref = NULL;
	enum vg_err err;

	if ((err = vg_http_body_str(req, body, "name", create, VG_STORE_NAME_MAX, &name)) ||
	    (err = vg_http_body_str(req, body, "source_type", create, 8, &type)) ||
	    (err = vg_http_body_str(req, body, "git_url", false, VG_STORE_GIT_URL_MAX, &url)) ||
	    (err = vg_http_body_str(req, body, "ref", false, VG_STORE_GIT_REF_MAX, &ref)))
		return err;
	if (name && !vg_api_text_ok(name, VG_STORE_NAME_MAX, false))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "name must be 1 to 200 bytes of text without control characters", "name");
	if (create) {
		if (strcmp(type, "upload") != 0 && strcmp(type, "git") != 0)
			return vg_http_fail(req, VG_ERR_INVALID,
			    "source_type must be \"upload\" or \"git\"", "source_type");
		vg_str_copy(r->source_type, sizeof r->source_type, type);
	} else if (type && strcmp(type, r->source_type) != 0) {
		return vg_http_fail(req, VG_ERR_INVALID,
		    "source_type cannot change; create another repository", "source_type");
	}
	if (strcmp(r->source_type, "git") != 0 && (url || ref))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "git_url and ref belong to git repositories only", url ? "git_url" : "ref");
	if (create && strcmp(r->source_type, "git") == 0 && !url)
		return vg_http_fail(req, VG_ERR_INVALID, "a git repository needs git_url", "git_url");
	if ((err = check_git(req, url, ref)) != VG_OK)
		return err;
	if (name)
		vg_str_copy(r->name, sizeof r->name, name);
	if (url)
		vg_str_copy(r->git_url, sizeof r->git_url, url);
	if (ref)
		vg_str_copy(r->git_ref, sizeof r->git_ref, ref);
	return VG_OK;
}

enum vg_err
vg_api_git_fetch_start(struct vg_http_req *req, struct vg_store *s, struct vg_repository *r,
    const char *ref)
{
	struct vg_ingest_change go = {.status = VG_INGEST_INGESTING, .if_not = VG_INGEST_INGESTING};
	struct vg_ingest_change failed = {.status = VG_INGEST_FAILED,
	    .error_code = "dispatch_failed",
	    .error_message = "the fetch could not be started; try again"};
	int64_t stale_us = (vg_cfg_int(VG_SET_GIT_TIMEOUT_SECONDS) + FETCH_GRACE_SECONDS) * 1000000;
	enum vg_err err;

	if ((err = vg_limits_check(req, s, VG_QUOTA_SNAPSHOTS_PER_REPOSITORY, r->id)) != VG_OK)
		return err;
	/* A fetch that outlived git's timeout by far lost its runner (a crash,
	 * a reboot): it no longer blocks a new one. */
	if (strcmp(r->ingest_status, VG_INGEST_INGESTING) == 0 &&
	    r->updated_at_us < vg_time_now_us() - stale_us)
		go.if_not = NULL;
	err = vg_store_repository_set_ingest(s, r->id, &go, r);
	if (err == VG_ERR_CONFLICT)
		return vg_http_fail(req, err, "a fetch of this repository is already running", NULL);
	if (err != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if ((err = vg_domain_dispatch_ingest(r->id, ref)) != VG_OK) {
		vg_store_repository_set_ingest(s, r->id, &failed, r);
		return vg_http_fail(req, VG_ERR_UNAVAILABLE, "the fetch could not be started", NULL);
	}
	return VG_OK;
}

enum vg_err
vg_api_repository_create(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository r;
	json_t *body = NULL;
	enum vg_err err;

	memset(&r, 0, sizeof r);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc)) ||
	    (err = read_repository_fields(req, body, true, &r)) != VG_OK ||
	    (err = vg_limits_check(req, sc.store, VG_QUOTA_REPOSITORIES_PER_PROJECT,
	    sc.project.id)) != VG_OK)
		goto out;
	vg_str_copy(r.project_id, sizeof r.project_id, sc.project.id);
	vg_str_copy(r.created_by, sizeof r.created_by, sc.who->user_id);
	if ((err = vg_store_repository_create(sc.store, &r)) != VG_OK) {
		vg_http_fail(req, err, NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "repository.created", "repository", r.id,
	    json_pack("{s:s, s:s}", "project_id", r.project_id, "source_type", r.source_type));
	if (strcmp(r.source_type, "git") == 0 &&
	    (err = vg_api_git_fetch_start(req, sc.store, &r, r.git_ref)) != VG_OK)
		goto out;
	err = vg_http_json(req, 201, vg_api_repository_json(&r));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_repository_list(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository *rows = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_page_args(req, 200, &limit, &cursor)) != VG_OK ||
	    (err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc)))
		return err;
	err = vg_store_repository_list(sc.store, sc.project.id, cursor, (int)limit, &rows, &n,
	    &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_repository_json(&rows[i]));
	err = vg_http_answer_page(req, err, items, next);
	free(rows);
	free(next);
	return err;
}

enum vg_err
vg_api_repository_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository r;
	enum vg_err err;

	if ((err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &r)))
		return err;
	return vg_http_json(req, 200, vg_api_repository_json(&r));
}

enum vg_err
vg_api_repository_update(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository r;
	json_t *body = NULL;
	enum vg_err err;

	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc,
	    &r)) || (err = read_repository_fields(req, body, false, &r)) != VG_OK)
		goto out;
	if ((err = vg_store_repository_update(sc.store, &r, 0)) != VG_OK ||
	    (err = vg_store_repository_get(sc.store, r.id, &r)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such repository" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "repository.updated", "repository", r.id, NULL);
	err = vg_http_json(req, 200, vg_api_repository_json(&r));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_repository_delete(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository r;
	enum vg_err err;

	if ((err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_MANAGE, &sc,
	    &r)))
		return err;
	if ((err = vg_store_repository_delete(sc.store, r.id)) != VG_OK)
		return vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such repository" : NULL,
		    NULL);
	vg_auth_audit(req, sc.who->user_id, "repository.deleted", "repository", r.id,
	    json_pack("{s:s, s:s}", "project_id", r.project_id, "name", r.name));
	return vg_http_send(req, 204, NULL, NULL, 0);
}
