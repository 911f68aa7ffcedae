/*
 * scope.c - the access check behind every project-scoped route, and the
 * JSON form of each entity of the sources API.
 */
#include "config.h"
#include <string.h>
#include <stdio.h>
#include "archive/git.h"
#include "core/json.h"
#include "core/str.h"
#include "domain/api_int.h"

/* Record err for a scope check with a message that never tells a
 * stranger more than "not found". */
static enum vg_err
scope_fail(struct vg_http_req *req, enum vg_err err, const char *what)
{
	char msg[96];

	if (err == VG_ERR_NOT_FOUND) {
		snprintf(msg, sizeof msg, "no such %s", what);
		return vg_http_fail(req, err, msg, NULL);
	}
	if (err == VG_ERR_FORBIDDEN)
		return vg_http_fail(req, err, "your role in this project does not allow this", NULL);
	if (err == VG_ERR_INVALID) {
		snprintf(msg, sizeof msg, "no such %s", what);
		return vg_http_fail(req, VG_ERR_NOT_FOUND, msg, NULL);
	}
	return vg_http_fail(req, err, NULL, NULL);
}

/*
 * Begin a scope check: the store, the caller, and an id that can be one;
 * what names the thing for the 404.  The caller is checked before
 * anything is read for it: a pending one (auth.h) is confirmed now,
 * unless read_along says the check's own read takes it along (then
 * sc->who stays NULL until that read settles it).
 */
static enum vg_err
scope_begin(struct vg_http_req *req, const char *id, struct vg_scope *sc, const char *what,
    bool read_along)
{
	bool valid = id && vg_uuid_valid(id);
	enum vg_err err;

	memset(sc, 0, sizeof *sc);
	if ((err = vg_http_store_or_fail(req, &sc->store)) != VG_OK)
		return err;
	if (read_along && valid && vg_auth_pending(req))
		return VG_OK;
	if ((err = vg_auth_confirm(req)) != VG_OK)
		return err;
	if (!(sc->who = vg_auth_principal(req)) || !valid)
		return scope_fail(req, VG_ERR_NOT_FOUND, what);
	return VG_OK;
}

/* The caller's role in project_id (VG_ROLE_NONE when not a member), then
 * the rule of access.h. */
static enum vg_err
check_role(struct vg_scope *sc, const char *project_id, enum vg_project_need need)
{
	enum vg_err err = vg_store_member_role(sc->store, project_id, sc->who->user_id, sc->role);

	if (err == VG_ERR_NOT_FOUND)
		sc->role[0] = '\0';
	else if (err != VG_OK)
		return err;
	return vg_access_project(sc->who, vg_project_role_parse(sc->role), need);
}

enum vg_err
vg_api_scope_project(struct vg_http_req *req, const char *id, enum vg_project_need need,
    struct vg_scope *sc)
{
	enum vg_err err;

	if ((err = scope_begin(req, id, sc, "project", false)) != VG_OK)
		return err;
	/* The role first: a stranger learns nothing from timing or errors
	 * about whether the project exists. */
	if ((err = check_role(sc, id, need)) != VG_OK ||
	    (err = vg_store_project_get(sc->store, id, &sc->project)) != VG_OK)
		return scope_fail(req, err, "project");
	return VG_OK;
}

/* Repository id, its project and the caller's role in one read, then
 * access.h's rule (errors not recorded). */
static enum vg_err
scope_through(struct vg_scope *sc, const char *repository_id, enum vg_project_need need,
    struct vg_repository *repo)
{
	enum vg_err err = vg_store_repository_scope(sc->store, repository_id, sc->who->user_id, repo,
	    &sc->project, sc->role);

	return err != VG_OK ? err
	    : vg_access_project(sc->who, vg_project_role_parse(sc->role), need);
}

/* A repository's scope for a pending caller: the caller and the scope in
 * one read, the caller settled first (its 401 before any 404). */
static enum vg_err
scope_along(struct vg_http_req *req, struct vg_scope *sc, const char *id,
    enum vg_project_need need, struct vg_repository *repo)
{
	const struct vg_principal *p = vg_auth_pending(req);
	struct vg_store_caller who;
	enum vg_err err;

	err = vg_store_repository_scope_as(sc->store, id, p->user_id, vg_principal_session(p), &who,
	    repo, &sc->project, sc->role);
	if (err != VG_OK)
		return scope_fail(req, err, "repository");
	if ((err = vg_auth_settle(req, &who.user, &who.session)) != VG_OK)
		return err;
	sc->who = vg_auth_principal(req);
	err = repo->id[0] ? vg_access_project(sc->who, vg_project_role_parse(sc->role), need)
	    : VG_ERR_NOT_FOUND;
	return err != VG_OK ? scope_fail(req, err, "repository") : VG_OK;
}

enum vg_err
vg_api_scope_repository(struct vg_http_req *req, const char *id, enum vg_project_need need,
    struct vg_scope *sc, struct vg_repository *repo)
{
	enum vg_err err;

	if ((err = scope_begin(req, id, sc, "repository", true)) != VG_OK)
		return err;
	if (!sc->who)
		return scope_along(req, sc, id, need, repo);
	if ((err = scope_through(sc, id, need, repo)) != VG_OK)
		return scope_fail(req, err, "repository");
	return VG_OK;
}

/*
 * The rest of the check of a thing that lives in a repository, once it
 * is read: got is the read's result and repository_id (filled by that
 * read) names its repository, whose scope access.h's rule then judges;
 * an error is recorded naming what.
 */
static enum vg_err
scope_owned(struct vg_http_req *req, struct vg_scope *sc, enum vg_err got,
    const char *repository_id, enum vg_project_need need, struct vg_repository *repo,
    const char *what)
{
	enum vg_err err = got != VG_OK ? got : scope_through(sc, repository_id, need, repo);

	return err != VG_OK ? scope_fail(req, err, what) : VG_OK;
}

enum vg_err
vg_api_scope_snapshot(struct vg_http_req *req, const char *id, enum vg_project_need need,
    struct vg_scope *sc, struct vg_snapshot *snap, struct vg_repository *repo)
{
	enum vg_err err = scope_begin(req, id, sc, "snapshot", false);

	return err != VG_OK ? err : scope_owned(req, sc, vg_store_snapshot_get(sc->store, id, snap),
	    snap->repository_id, need, repo, "snapshot");
}

enum vg_err
vg_api_scope_scan(struct vg_http_req *req, const char *id, enum vg_project_need need,
    struct vg_scope *sc, struct vg_scan *scan, struct vg_repository *repo)
{
	enum vg_err err = scope_begin(req, id, sc, "scan", false);

	return err != VG_OK ? err : scope_owned(req, sc, vg_store_scan_get(sc->store, id, scan),
	    scan->repository_id, need, repo, "scan");
}

enum vg_err
vg_api_scope_finding(struct vg_http_req *req, const char *id, enum vg_project_need need,
    struct vg_scope *sc, struct vg_finding_row *f, struct vg_repository *repo)
{
	enum vg_err err;

	memset(f, 0, sizeof *f);
	if ((err = scope_begin(req, id, sc, "finding", false)) != VG_OK)
		return err;
	if ((err = scope_owned(req, sc, vg_store_finding_get(sc->store, id, f), f->repository_id,
	    need, repo, "finding")) != VG_OK)
		vg_finding_row_clear(f);
	return err;
}

bool
vg_api_text_ok(const char *s, size_t max, bool multiline)
{
	size_t n, i;

	if (!s || (n = strlen(s)) == 0 || n > max || !vg_utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x7f || (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))))
			return false;
	}
	return true;
}

/* ---- JSON forms ---- */

json_t *
vg_api_project_json(const struct vg_project *p, const char *role,
    const struct vg_project_rollup *r)
{
	json_t *o, *open = json_object();
	size_t i;

	for (i = 0; open && i < VG_SEVERITY_COUNT; i++)
		json_object_set_new(open, vg_severity_names[i],
		    json_integer(r ? r->open_findings[i] : 0));
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:{s:I, s:o, s:o, s:o}}",
	    "id", p->id, "name", p->name, "description", p->description,
	    "owner_id", p->owner_id, "role", vg_http_opt_str(role),
	    "created_at", vg_http_opt_time(p->created_at_us),
	    "updated_at", vg_http_opt_time(p->updated_at_us),
	    "rollup", "repositories", (json_int_t)(r ? r->repositories : 0),
	    "last_scan_status", vg_http_opt_str(r ? r->last_scan_status : NULL),
	    "last_scan_at", vg_http_opt_time(r ? r->last_scan_at_us : 0),
	    "open_findings", open);
	return o;
}

json_t *
vg_api_member_json(const struct vg_member *m)
{
	return json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}",
	    "user_id", m->user_id, "email", vg_http_opt_str(m->email),
	    "display_name", vg_http_opt_str(m->display_name), "role", m->role,
	    "added_by", vg_http_opt_str(m->added_by),
	    "created_at", vg_http_opt_time(m->created_at_us));
}

json_t *
vg_api_repository_json(const struct vg_repository *r)
{
	json_t *error = json_null();
	char url[VG_STORE_GIT_URL_MAX + 1];

	/* A password in the URL is for git, never shown back. */
	vg_git_redact(r->git_url, url, sizeof url);

	if (strcmp(r->ingest_status, VG_INGEST_FAILED) == 0)
		error = json_pack("{s:s, s:s}", "code", r->ingest_error_code,
		    "message", r->ingest_error_message);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "id", r->id, "project_id", r->project_id, "name", r->name,
	    "source_type", r->source_type, "git_url", vg_http_opt_str(url),
	    "ref", vg_http_opt_str(r->git_ref), "ingest_status", r->ingest_status,
	    "ingest_error", error, "current_snapshot_id", vg_http_opt_str(r->current_snapshot_id),
	    "created_by", vg_http_opt_str(r->created_by),
	    "created_at", vg_http_opt_time(r->created_at_us),
	    "updated_at", vg_http_opt_time(r->updated_at_us));
}

json_t *
vg_api_snapshot_json(const struct vg_snapshot *s)
{
	json_t *langs = NULL;

	if (vg_json_parse(s->languages, strlen(s->languages), &langs) != VG_OK ||
	    !json_is_object(langs)) {
		json_decref(langs);
		langs = json_object();
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o}",
	    "id", s->id, "repository_id", s->repository_id, "digest", s->digest,
	    "format", s->format, "file_count", (json_int_t)s->file_count,
	    "total_bytes", (json_int_t)s->total_bytes, "languages", langs,
	    "git_commit", vg_http_opt_str(s->git_commit),
	    "created_by", vg_http_opt_str(s->created_by),
	    "created_at", vg_http_opt_time(s->created_at_us));
}

json_t *
vg_api_profile_json(const struct vg_threat_profile *p)
{
	json_t *o = json_is_object(p->content) ? json_deep_copy(p->content) : json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "repository_id", json_string(p->repository_id));
	json_object_set_new(o, "project_id", json_string(p->project_id));
	/* A version's own name (kept in its content) wins over the current. */
	if (!json_is_string(json_object_get(o, "name")))
		json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "version", json_integer(p->version));
	json_object_set_new(o, "latest_version", json_integer(p->latest_version));
	json_object_set_new(o, "created_by", vg_http_opt_str(p->created_by));
	json_object_set_new(o, "created_at", vg_http_opt_time(p->created_at_us));
	json_object_set_new(o, "updated_at", vg_http_opt_time(p->updated_at_us));
	return o;
}
