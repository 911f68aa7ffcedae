/*
 * projects.c - /v1/projects and /v1/projects/{id}/members.
 *
 * Anyone signed in may create a project (up to VEGA_MAX_PROJECTS_PER_USER
 * owned) and becomes its owner.  Viewers read it, owners rename it,
 * delete it and manage its members; a project keeps at least one owner.
 * A member may always leave a project (delete their own membership)
 * unless they are its last owner.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/limits.h"

/* Read name (required or not) and description from body into p;
 * errors recorded naming the field. */
static enum vg_err
read_project_fields(struct vg_http_req *req, json_t *body, bool create, struct vg_project *p)
{
	const char *name = NULL, *desc = NULL;
	enum vg_err err;

	if ((err = vg_http_body_str(req, body, "name", create, VG_STORE_NAME_MAX, &name)) ||
	    (err = vg_http_body_str(req, body, "description", false, VG_STORE_DESCRIPTION_MAX,
	    &desc)))
		return err;
	if (name && !vg_api_text_ok(name, VG_STORE_NAME_MAX, false))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "name must be 1 to 200 bytes of text without control characters", "name");
	if (desc && *desc && !vg_api_text_ok(desc, VG_STORE_DESCRIPTION_MAX, true))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "description must be at most 4000 bytes of text", "description");
	if (name)
		vg_str_copy(p->name, sizeof p->name, name);
	if (desc)
		vg_str_copy(p->description, sizeof p->description, desc);
	return VG_OK;
}

enum vg_err
vg_api_project_create(struct vg_http_req *req)
{
	const struct vg_principal *who = vg_auth_principal(req);
	struct vg_project p;
	struct vg_project_rollup none;
	struct vg_store *s = NULL;
	json_t *body = NULL;
	enum vg_err err;

	memset(&p, 0, sizeof p);
	memset(&none, 0, sizeof none);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = read_project_fields(req, body, true, &p)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK ||
	    (err = vg_limits_check(req, s, VG_QUOTA_PROJECTS_PER_USER, who->user_id)) != VG_OK)
		goto out;
	vg_str_copy(p.owner_id, sizeof p.owner_id, who->user_id);
	if ((err = vg_store_project_create(s, &p)) != VG_OK) {
		vg_http_fail(req, err, NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, who->user_id, "project.created", "project", p.id, NULL);
	err = vg_http_json(req, 201, vg_api_project_json(&p, "owner", &none));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_project_list(struct vg_http_req *req)
{
	const struct vg_principal *who = vg_auth_principal(req);
	struct vg_project_entry *rows = NULL;
	struct vg_store *s = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_page_args(req, 200, &limit, &cursor)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_project_list(s, who->user_id, cursor, (int)limit, &rows, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_project_json(&rows[i].project, rows[i].role,
		    &rows[i].rollup));
	err = vg_http_answer_page(req, err, items, next);
	free(rows);
	free(next);
	return err;
}

enum vg_err
vg_api_project_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_project_rollup r;
	enum vg_err err;

	if ((err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc)))
		return err;
	if ((err = vg_store_project_rollup(sc.store, sc.project.id, &r)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	return vg_http_json(req, 200, vg_api_project_json(&sc.project, sc.role, &r));
}

enum vg_err
vg_api_project_update(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_project_rollup r;
	json_t *body = NULL;
	enum vg_err err;

	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_MANAGE, &sc)) ||
	    (err = read_project_fields(req, body, false, &sc.project)) != VG_OK)
		goto out;
	if ((err = vg_store_project_update(sc.store, &sc.project, 0)) != VG_OK ||
	    (err = vg_store_project_get(sc.store, sc.project.id, &sc.project)) != VG_OK ||
	    (err = vg_store_project_rollup(sc.store, sc.project.id, &r)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such project" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "project.updated", "project", sc.project.id, NULL);
	err = vg_http_json(req, 200, vg_api_project_json(&sc.project, sc.role, &r));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_project_delete(struct vg_http_req *req)
{
	struct vg_scope sc;
	enum vg_err err;

	if ((err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_MANAGE, &sc)))
		return err;
	if ((err = vg_store_project_delete(sc.store, sc.project.id)) != VG_OK)
		return vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such project" : NULL, NULL);
	vg_auth_audit(req, sc.who->user_id, "project.deleted", "project", sc.project.id,
	    json_pack("{s:s}", "name", sc.project.name));
	return vg_http_send(req, 204, NULL, NULL, 0);
}

/* ---- members ---- */

enum vg_err
vg_api_member_list(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_member *m = NULL;
	json_t *items = NULL;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc)))
		return err;
	err = vg_store_member_list(sc.store, sc.project.id, &m, &n);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_member_json(&m[i]));
	free(m);
	return vg_http_answer_page(req, err, items, NULL);
}

/* The {user_id} capture, or a recorded 404. */
static enum vg_err
member_user(struct vg_http_req *req, const char **user_id)
{
	*user_id = vg_http_capture(req, "user_id");
	if (!*user_id || !vg_uuid_valid(*user_id))
		return vg_http_fail(req, VG_ERR_NOT_FOUND, "no such member", NULL);
	return VG_OK;
}

enum vg_err
vg_api_member_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_member m;
	const char *user_id;
	enum vg_err err;

	if ((err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc)) ||
	    (err = member_user(req, &user_id)))
		return err;
	if ((err = vg_store_member_get(sc.store, sc.project.id, user_id, &m)) != VG_OK)
		return vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such member" : NULL, NULL);
	return vg_http_json(req, 200, vg_api_member_json(&m));
}

enum vg_err
vg_api_member_put(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_member m;
	const char *user_id, *role = NULL;
	json_t *body = NULL;
	bool created = false;
	enum vg_err err;

	memset(&m, 0, sizeof m);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_project(req, vg_http_capture(req, "id"), VG_NEED_MANAGE, &sc)) ||
	    (err = member_user(req, &user_id)) ||
	    (err = vg_http_body_str(req, body, "role", true, 16, &role)))
		goto out;
	if (vg_project_role_parse(role) == VG_ROLE_NONE) {
		err = vg_http_fail(req, VG_ERR_INVALID, "role must be owner, member or viewer", "role");
		goto out;
	}
	if (vg_store_member_get(sc.store, sc.project.id, user_id, &m) == VG_ERR_NOT_FOUND &&
	    (err = vg_limits_check(req, sc.store, VG_QUOTA_MEMBERS_PER_PROJECT, sc.project.id)))
		goto out;
	memset(&m, 0, sizeof m);
	vg_str_copy(m.project_id, sizeof m.project_id, sc.project.id);
	vg_str_copy(m.user_id, sizeof m.user_id, user_id);
	vg_str_copy(m.role, sizeof m.role, role);
	vg_str_copy(m.added_by, sizeof m.added_by, sc.who->user_id);
	if ((err = vg_store_member_put(sc.store, &m, &created)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such user" :
		    err == VG_ERR_CONFLICT ? "a project keeps at least one owner" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, created ? "project.member_added" :
	    "project.member_changed", "project", sc.project.id,
	    json_pack("{s:s, s:s}", "user_id", user_id, "role", role));
	err = vg_http_json(req, created ? 201 : 200, vg_api_member_json(&m));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_member_delete(struct vg_http_req *req)
{
	const struct vg_principal *who = vg_auth_principal(req);
	struct vg_scope sc;
	const char *user_id;
	enum vg_err err;

	if ((err = member_user(req, &user_id)) != VG_OK)
		return err;
	/* Leaving needs only to be a member; removing someone else, manage. */
	if ((err = vg_api_scope_project(req, vg_http_capture(req, "id"),
	    who && strcmp(who->user_id, user_id) == 0 ? VG_NEED_READ : VG_NEED_MANAGE, &sc)))
		return err;
	if ((err = vg_store_member_delete(sc.store, sc.project.id, user_id)) != VG_OK)
		return vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such member" :
		    err == VG_ERR_CONFLICT ? "a project keeps at least one owner" : NULL, NULL);
	vg_auth_audit(req, sc.who->user_id, "project.member_removed", "project", sc.project.id,
	    json_pack("{s:s}", "user_id", user_id));
	return vg_http_send(req, 204, NULL, NULL, 0);
}
