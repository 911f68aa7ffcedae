/*
 * store_sources.c - projects, members, repositories, snapshots and threat
 * profiles: argument checks, defaults, ordering and paging, shared by both
 * backends (store_json_sources.c, store_pg_sources.c), which receive only
 * well-formed input.
 *
 * Conventions, as in store_auth.c: a malformed id handed in to look a
 * thing up finds nothing (VG_ERR_NOT_FOUND, since nothing can have that
 * id); a malformed field of something being written, or the parent id of
 * a list or a count, is VG_ERR_INVALID.  Ids are lower-cased before the
 * backend sees them (Postgres compares uuids without regard to case, the
 * json backend names files by them), and the languages of a snapshot are
 * handed back in one canonical text, so both backends answer alike.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

const char *const vg_severity_names[VG_SEVERITY_COUNT] = {
	"critical", "high", "medium", "low", "info",
};

int
vg_severity_rank(const char *sev)
{
	int i;

	for (i = 0; sev && i < VG_SEVERITY_COUNT; i++)
		if (strcmp(sev, vg_severity_names[i]) == 0)
			return i;
	return VG_SEVERITY_COUNT;
}

static const char *const roles[] = {"owner", "member", "viewer"};
static const char *const ingest_states[] = {VG_INGEST_PENDING, VG_INGEST_INGESTING,
    VG_INGEST_READY, VG_INGEST_FAILED};

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* The backend's sources table; NULL while a backend does not have one
 * yet, which every call answers with VG_ERR_INTERNAL rather than a crash. */
static const struct vg_store_sources_ops *
ops_of(const struct vg_store *s)
{
	return s->ops->sources;
}

/* ---- checks (the shared ones are store.c's, store_impl.h) ---- */

/* A snapshot on its way out: languages in the canonical form (a stored
 * text that does not parse is left as it is: the backend answered it;
 * it is not ours to hide). */
static void
snapshot_out(struct vg_snapshot *snap)
{
	char copy[VG_STORE_LANGUAGES_MAX + 1];

	memcpy(copy, snap->languages, sizeof copy);
	if (vg_store_object_text_norm(copy, sizeof copy) == VG_OK)
		memcpy(snap->languages, copy, sizeof copy);
}

/* ---- paging (vg_store_page_begin / vg_store_page_end, store_impl.h) ---- */

/* What a list under a parent hands its backend: the backend's table, the
 * parent's id lower-cased, and the position to list after (NULL: from
 * the newest). */
struct list_args {
	const struct vg_store_sources_ops *o;
	char key[VG_UUID_LEN + 1];
	struct vg_store_pos pos;
	const struct vg_store_pos *after;
};

/*
 * The checks every list under a parent makes, in this order: a backend
 * table (VG_ERR_INTERNAL), the limit and cursor (vg_store_page_begin),
 * and the parent's id (VG_ERR_INVALID when it is not a UUID).
 */
static enum vg_err
list_begin(struct vg_store *s, const char *parent_id, const char *cursor, int limit,
    struct list_args *a)
{
	bool has_pos;
	enum vg_err err;

	if (!(a->o = ops_of(s)))
		return VG_ERR_INTERNAL;
	if ((err = vg_store_page_begin(cursor, limit, &a->pos, &has_pos)) != VG_OK)
		return err;
	if (!vg_store_uuid_norm(parent_id, a->key))
		return VG_ERR_INVALID;
	a->after = has_pos ? &a->pos : NULL;
	return VG_OK;
}

static void
entry_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_project_entry *e = item;

	pos->at_us = e->project.created_at_us;
	memcpy(pos->id, e->project.id, sizeof pos->id);
}

static void
repository_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_repository *r = item;

	pos->at_us = r->created_at_us;
	memcpy(pos->id, r->id, sizeof pos->id);
}

static void
snapshot_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_snapshot *sn = item;

	pos->at_us = sn->created_at_us;
	memcpy(pos->id, sn->id, sizeof pos->id);
}

static void
profile_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_threat_profile *p = item;

	pos->at_us = p->created_at_us;
	memcpy(pos->id, p->id, sizeof pos->id);
}

/* What a listed profile owns: its content. */
static void
profile_release(void *item)
{
	vg_threat_profile_clear(item);
}

static const struct vg_store_pager entry_pager = {sizeof(struct vg_project_entry), entry_pos,
    NULL};
static const struct vg_store_pager repository_pager = {sizeof(struct vg_repository),
    repository_pos, NULL};
static const struct vg_store_pager snapshot_pager = {sizeof(struct vg_snapshot), snapshot_pos,
    NULL};
static const struct vg_store_pager profile_pager = {sizeof(struct vg_threat_profile),
    profile_pos, profile_release};

/* ---- projects ---- */

enum vg_err
vg_store_project_create(struct vg_store *s, struct vg_project *p)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_required_ok(p->name, VG_STORE_NAME_MAX) ||
	    !vg_store_text_ok(p->description, VG_STORE_DESCRIPTION_MAX) ||
	    !vg_store_uuid_norm(p->owner_id, p->owner_id))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(p->id)) != VG_OK)
		return err;
	if (p->created_at_us == 0)
		p->created_at_us = vg_time_now_us();
	p->updated_at_us = p->created_at_us;
	return o->project_create(s, p, p->created_at_us);
}

enum vg_err
vg_store_project_get(struct vg_store *s, const char *id, struct vg_project *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	return o->project_get(s, key, out);
}

enum vg_err
vg_store_project_update(struct vg_store *s, const struct vg_project *p, int64_t now_us)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	struct vg_project c;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_required_ok(p->name, VG_STORE_NAME_MAX) ||
	    !vg_store_text_ok(p->description, VG_STORE_DESCRIPTION_MAX))
		return VG_ERR_INVALID;
	c = *p;
	if (!vg_store_uuid_norm(p->id, c.id))
		return VG_ERR_NOT_FOUND;
	return o->project_update(s, &c, now_us ? now_us : vg_time_now_us());
}

enum vg_err
vg_store_project_delete(struct vg_store *s, const char *id)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	return o->project_delete(s, key);
}

enum vg_err
vg_store_project_list(struct vg_store *s, const char *user_id, const char *cursor, int limit,
    struct vg_project_entry **out, size_t *count, char **next_cursor)
{
	struct list_args a;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = list_begin(s, user_id, cursor, limit, &a)) != VG_OK)
		return err;
	if ((err = a.o->project_list(s, a.key, a.after, limit + 1, out, count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&entry_pager, *out, count, limit, next_cursor)) != VG_OK)
		*out = NULL;   /* freed by vg_store_page_end */
	return err;
}

enum vg_err
vg_store_project_count_owned(struct vg_store *s, const char *user_id, int64_t *count)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(user_id, key))
		return VG_ERR_INVALID;
	return o->project_count_owned(s, key, count);
}

enum vg_err
vg_store_project_rollup(struct vg_store *s, const char *id, struct vg_project_rollup *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	return o->project_rollup(s, key, out);
}

/* ---- members ---- */

enum vg_err
vg_store_member_role(struct vg_store *s, const char *project_id, const char *user_id,
    char role[8])
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char pid[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1];

	role[0] = '\0';
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(project_id, pid) || !vg_store_uuid_norm(user_id, uid))
		return VG_ERR_NOT_FOUND;
	return o->member_role(s, pid, uid, role);
}

/*
 * Add or change a member.  m->created_at_us, when not 0, is the time a
 * new membership gets (tests use it to order members); a change keeps
 * the membership's first time and first added_by.
 */
enum vg_err
vg_store_member_put(struct vg_store *s, struct vg_member *m, bool *created)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	bool made = false;
	enum vg_err err;

	if (created)
		*created = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(m->project_id, m->project_id) ||
	    !vg_store_uuid_norm(m->user_id, m->user_id) ||
	    !vg_store_one_of(m->role, roles, NELEM(roles)) || !vg_store_opt_uuid_norm(m->added_by))
		return VG_ERR_INVALID;
	m->email[0] = '\0';
	m->display_name[0] = '\0';
	err = o->member_put(s, m, m->created_at_us ? m->created_at_us : vg_time_now_us(), &made);
	if (created)
		*created = err == VG_OK && made;
	return err;
}

enum vg_err
vg_store_member_delete(struct vg_store *s, const char *project_id, const char *user_id)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char pid[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(project_id, pid) || !vg_store_uuid_norm(user_id, uid))
		return VG_ERR_NOT_FOUND;
	return o->member_delete(s, pid, uid);
}

enum vg_err
vg_store_member_get(struct vg_store *s, const char *project_id, const char *user_id,
    struct vg_member *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char pid[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(project_id, pid) || !vg_store_uuid_norm(user_id, uid))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	return o->member_get(s, pid, uid, out);
}

/* Oldest first; equal times by user id, so the order is total. */
static int
member_cmp(const void *a, const void *b)
{
	const struct vg_member *x = a, *y = b;

	if (x->created_at_us != y->created_at_us)
		return x->created_at_us < y->created_at_us ? -1 : 1;
	return strcmp(x->user_id, y->user_id);
}

/*
 * Every member of a project.  A project always has an owner, so an empty
 * list means there is no such project: VG_ERR_NOT_FOUND, from both
 * backends alike.
 */
enum vg_err
vg_store_member_list(struct vg_store *s, const char *project_id, struct vg_member **out,
    size_t *count)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char pid[VG_UUID_LEN + 1];
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(project_id, pid))
		return VG_ERR_NOT_FOUND;
	if ((err = o->member_list(s, pid, out, count)) != VG_OK)
		return err;
	if (*count == 0) {
		free(*out);
		*out = NULL;
		return VG_ERR_NOT_FOUND;
	}
	qsort(*out, *count, sizeof **out, member_cmp);
	return VG_OK;
}

/* ---- repositories ---- */

/* git_url and git_ref as a repository of source_type may have them: a
 * git repository needs a URL, an upload has neither. */
static bool
git_fields_ok(const char *source_type, const char *git_url, const char *git_ref)
{
	if (strcmp(source_type, "git") == 0)
		return vg_store_required_ok(git_url, VG_STORE_GIT_URL_MAX) &&
		    vg_store_text_ok(git_ref, VG_STORE_GIT_REF_MAX);
	return strcmp(source_type, "upload") == 0 && !git_url[0] && !git_ref[0];
}

enum vg_err
vg_store_repository_create(struct vg_store *s, struct vg_repository *r)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(r->project_id, r->project_id) ||
	    !vg_store_required_ok(r->name, VG_STORE_NAME_MAX) ||
	    !vg_store_text_ok(r->source_type, sizeof r->source_type - 1) ||
	    !vg_store_text_ok(r->git_url, VG_STORE_GIT_URL_MAX) ||
	    !vg_store_text_ok(r->git_ref, VG_STORE_GIT_REF_MAX) ||
	    !git_fields_ok(r->source_type, r->git_url, r->git_ref) ||
	    !vg_store_opt_uuid_norm(r->created_by))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(r->id)) != VG_OK)
		return err;
	vg_str_copy(r->ingest_status, sizeof r->ingest_status, VG_INGEST_PENDING);
	r->ingest_error_code[0] = '\0';
	r->ingest_error_message[0] = '\0';
	r->current_snapshot_id[0] = '\0';
	if (r->created_at_us == 0)
		r->created_at_us = vg_time_now_us();
	r->updated_at_us = r->created_at_us;
	return o->repository_create(s, r);
}

enum vg_err
vg_store_repository_get(struct vg_store *s, const char *id, struct vg_repository *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	return o->repository_get(s, key, out);
}

enum vg_err
vg_store_repository_scope(struct vg_store *s, const char *id, const char *user_id,
    struct vg_repository *repo, struct vg_project *project, char role[8])
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1];
	enum vg_err err;

	role[0] = '\0';
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	memset(repo, 0, sizeof *repo);
	memset(project, 0, sizeof *project);
	if (!vg_store_uuid_norm(user_id, uid))
		uid[0] = '\0';
	if (o->repository_scope && uid[0])
		return o->repository_scope(s, key, uid, repo, project, role);
	if ((err = o->repository_get(s, key, repo)) != VG_OK ||
	    (err = vg_store_project_get(s, repo->project_id, project)) != VG_OK)
		return err;
	err = uid[0] ? o->member_role(s, repo->project_id, uid, role) : VG_ERR_NOT_FOUND;
	if (err == VG_ERR_NOT_FOUND) {
		role[0] = '\0';
		err = VG_OK;
	}
	return err;
}

/* repository_scope_as without the backend's one read: the user and its
 * session, then the scope. */
static enum vg_err
scope_as_in_turn(struct vg_store *s, const char *id, const char *user_id,
    const char *family_id, struct vg_store_caller *who, struct vg_repository *repo,
    struct vg_project *project, char role[8])
{
	enum vg_err err = vg_store_user_session(s, user_id, family_id, &who->user, &who->session);

	if (err == VG_ERR_NOT_FOUND)
		return VG_OK;
	if (err == VG_OK && (err = vg_store_repository_scope(s, id, user_id, repo, project,
	    role)) == VG_ERR_NOT_FOUND) {
		memset(repo, 0, sizeof *repo);
		memset(project, 0, sizeof *project);
		role[0] = '\0';
		err = VG_OK;
	}
	return err;
}

enum vg_err
vg_store_repository_scope_as(struct vg_store *s, const char *id, const char *user_id,
    const char *family_id, struct vg_store_caller *who, struct vg_repository *repo,
    struct vg_project *project, char role[8])
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1], fid[VG_UUID_LEN + 1];
	bool known_repo = vg_store_uuid_norm(id, key), known_user = vg_store_uuid_norm(user_id, uid);
	/* a family id that cannot be one matches no family */
	bool family = family_id && vg_store_uuid_norm(family_id, fid);

	if (family_id && !family)
		vg_str_copy(fid, sizeof fid, "00000000-0000-0000-0000-000000000000");
	memset(who, 0, sizeof *who);
	memset(repo, 0, sizeof *repo);
	memset(project, 0, sizeof *project);
	role[0] = '\0';
	if (!o)
		return VG_ERR_INTERNAL;
	if (!known_user)
		return VG_OK;
	if (known_repo && o->repository_scope_as)
		return o->repository_scope_as(s, key, uid, family_id ? fid : NULL, who, repo,
		    project, role);
	return scope_as_in_turn(s, known_repo ? key : "", uid, family_id ? fid : NULL, who, repo,
	    project, role);
}

enum vg_err
vg_store_repository_list(struct vg_store *s, const char *project_id, const char *cursor,
    int limit, struct vg_repository **out, size_t *count, char **next_cursor)
{
	struct list_args a;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = list_begin(s, project_id, cursor, limit, &a)) != VG_OK)
		return err;
	if ((err = a.o->repository_list(s, a.key, a.after, limit + 1, out, count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&repository_pager, *out, count, limit, next_cursor)) != VG_OK)
		*out = NULL;   /* freed by vg_store_page_end */
	return err;
}

/*
 * Rename a repository or move its git URL or ref.  The source type never
 * changes, so the stored one is read first to check the git fields
 * against it (no race: nothing can change it in between).
 */
enum vg_err
vg_store_repository_update(struct vg_store *s, const struct vg_repository *r, int64_t now_us)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	struct vg_repository c, cur;
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_required_ok(r->name, VG_STORE_NAME_MAX) ||
	    !vg_store_text_ok(r->git_url, VG_STORE_GIT_URL_MAX) ||
	    !vg_store_text_ok(r->git_ref, VG_STORE_GIT_REF_MAX))
		return VG_ERR_INVALID;
	c = *r;
	if (!vg_store_uuid_norm(r->id, c.id))
		return VG_ERR_NOT_FOUND;
	memset(&cur, 0, sizeof cur);
	if ((err = o->repository_get(s, c.id, &cur)) != VG_OK)
		return err;
	if (!git_fields_ok(cur.source_type, c.git_url, c.git_ref))
		return VG_ERR_INVALID;
	return o->repository_update(s, &c, now_us ? now_us : vg_time_now_us());
}

enum vg_err
vg_store_repository_delete(struct vg_store *s, const char *id)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	return o->repository_delete(s, key);
}

enum vg_err
vg_store_repository_count(struct vg_store *s, const char *project_id, int64_t *count)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(project_id, key))
		return VG_ERR_INVALID;
	return o->repository_count(s, key, count);
}

/*
 * The backend gets the change normalised: error_code and error_message
 * are "" unless the new status is failed (where error_code is required),
 * never NULL; snapshot_id is NULL or a lower-case UUID, which must name a
 * snapshot of this repository (VG_ERR_INVALID otherwise: a repository
 * must never point at another's source); now_us is set; out is not NULL.
 */
enum vg_err
vg_store_repository_set_ingest(struct vg_store *s, const char *id,
    const struct vg_ingest_change *c, struct vg_repository *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	struct vg_ingest_change n;
	struct vg_repository tmp;
	char key[VG_UUID_LEN + 1], snap[VG_UUID_LEN + 1];
	bool failed, id_ok = vg_store_uuid_norm(id, key);

	/* id is read before *out is cleared: callers pass repo.id and &repo. */
	if (!out)
		out = &tmp;
	memset(out, 0, sizeof *out);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_one_of(c->status, ingest_states, NELEM(ingest_states)) ||
	    (c->if_not && !vg_store_one_of(c->if_not, ingest_states, NELEM(ingest_states))))
		return VG_ERR_INVALID;
	failed = strcmp(c->status, VG_INGEST_FAILED) == 0;
	if (failed && (!c->error_code ||
	    !vg_store_required_ok(c->error_code, VG_STORE_ERROR_CODE_MAX) ||
	    (c->error_message && !vg_store_text_ok(c->error_message, VG_STORE_ERROR_MESSAGE_MAX))))
		return VG_ERR_INVALID;
	if (c->snapshot_id && c->snapshot_id[0] && !vg_store_uuid_norm(c->snapshot_id, snap))
		return VG_ERR_INVALID;
	if (!id_ok)
		return VG_ERR_NOT_FOUND;
	n.status = c->status;
	n.if_not = c->if_not;
	n.error_code = failed ? c->error_code : "";
	n.error_message = failed && c->error_message ? c->error_message : "";
	n.snapshot_id = c->snapshot_id && c->snapshot_id[0] ? snap : NULL;
	n.now_us = c->now_us ? c->now_us : vg_time_now_us();
	return o->repository_set_ingest(s, key, &n, out);
}

/* ---- snapshots ---- */

/* A git commit: "" or 40 (SHA-1) or 64 (SHA-256) lower-case hex digits. */
static bool
commit_ok(const char *c)
{
	size_t n = strnlen(c, 65);

	return n == 0 || (n == 40 && vg_store_hex_ok(c, 40)) || (n == 64 && vg_store_hex_ok(c, 64));
}

enum vg_err
vg_store_snapshot_create(struct vg_store *s, struct vg_snapshot *snap, bool *existed)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	bool found = false;
	enum vg_err err;

	if (existed)
		*existed = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(snap->repository_id, snap->repository_id) ||
	    !vg_store_hex_ok(snap->digest, 64) ||
	    !vg_store_required_ok(snap->storage_key, VG_STORE_STORAGE_KEY_MAX) ||
	    !vg_store_text_ok(snap->manifest_key, VG_STORE_STORAGE_KEY_MAX) ||
	    !vg_store_text_ok(snap->format, sizeof snap->format - 1) ||
	    snap->file_count < 0 || snap->file_count > INT32_MAX || snap->total_bytes < 0 ||
	    vg_store_object_text_norm(snap->languages, sizeof snap->languages) != VG_OK ||
	    !commit_ok(snap->git_commit) || !vg_store_opt_uuid_norm(snap->created_by))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(snap->id)) != VG_OK)
		return err;
	if (snap->created_at_us == 0)
		snap->created_at_us = vg_time_now_us();
	if ((err = o->snapshot_create(s, snap, &found)) != VG_OK)
		return err;
	snapshot_out(snap);
	if (existed)
		*existed = found;
	return VG_OK;
}

enum vg_err
vg_store_snapshot_get(struct vg_store *s, const char *id, struct vg_snapshot *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	if ((err = o->snapshot_get(s, key, out)) == VG_OK)
		snapshot_out(out);
	return err;
}

enum vg_err
vg_store_snapshot_list(struct vg_store *s, const char *repository_id, const char *cursor,
    int limit, struct vg_snapshot **out, size_t *count, char **next_cursor)
{
	struct list_args a;
	size_t i;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = list_begin(s, repository_id, cursor, limit, &a)) != VG_OK)
		return err;
	if ((err = a.o->snapshot_list(s, a.key, a.after, limit + 1, out, count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&snapshot_pager, *out, count, limit, next_cursor)) != VG_OK) {
		*out = NULL;   /* freed by vg_store_page_end */
		return err;
	}
	for (i = 0; i < *count; i++)
		snapshot_out(&(*out)[i]);
	return VG_OK;
}

enum vg_err
vg_store_snapshot_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(repository_id, key))
		return VG_ERR_INVALID;
	return o->snapshot_count(s, key, count);
}

enum vg_err
vg_store_snapshot_key_used(struct vg_store *s, const char *storage_key, bool *used)
{
	const struct vg_store_sources_ops *o = ops_of(s);

	*used = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!storage_key || !vg_store_required_ok(storage_key, VG_STORE_STORAGE_KEY_MAX))
		return VG_ERR_INVALID;
	return o->snapshot_key_used(s, storage_key, used);
}

/* ---- threat profiles ---- */

void
vg_threat_profile_clear(struct vg_threat_profile *p)
{
	if (!p)
		return;
	json_decref(p->content);
	p->content = NULL;
}

/*
 * The backend gets p with id, repository_id, version = latest_version = 1
 * and both times set, and fills project_id; p->content stays the
 * caller's (borrowed, never replaced).
 */
enum vg_err
vg_store_threat_profile_create(struct vg_store *s, struct vg_threat_profile *p)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(p->repository_id, p->repository_id) ||
	    !vg_store_required_ok(p->name, VG_STORE_NAME_MAX) || !json_is_object(p->content) ||
	    !vg_store_opt_uuid_norm(p->created_by))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(p->id)) != VG_OK)
		return err;
	p->project_id[0] = '\0';
	p->version = 1;
	p->latest_version = 1;
	if (p->created_at_us == 0)
		p->created_at_us = vg_time_now_us();
	p->updated_at_us = p->created_at_us;
	return o->threat_profile_create(s, p);
}

enum vg_err
vg_store_threat_profile_get(struct vg_store *s, const char *id, int64_t version,
    struct vg_threat_profile *out)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (version < 0)
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	if ((err = o->threat_profile_get(s, key, version, out)) != VG_OK)
		vg_threat_profile_clear(out);
	return err;
}

/*
 * The backend gets p->id lower-cased, the name, content and created_by
 * checked, and fills every other field but content (still the caller's)
 * as the profile is afterwards: the new version, the profile's name,
 * project, repository and times.
 */
enum vg_err
vg_store_threat_profile_add_version(struct vg_store *s, struct vg_threat_profile *p,
    int64_t now_us)
{
	const struct vg_store_sources_ops *o = ops_of(s);

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_required_ok(p->name, VG_STORE_NAME_MAX) || !json_is_object(p->content) ||
	    !vg_store_opt_uuid_norm(p->created_by))
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(p->id, p->id))
		return VG_ERR_NOT_FOUND;
	return o->threat_profile_add_version(s, p, now_us ? now_us : vg_time_now_us());
}

enum vg_err
vg_store_threat_profile_list(struct vg_store *s, const char *repository_id, const char *cursor,
    int limit, struct vg_threat_profile **out, size_t *count, char **next_cursor)
{
	struct list_args a;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = list_begin(s, repository_id, cursor, limit, &a)) != VG_OK)
		return err;
	if ((err = a.o->threat_profile_list(s, a.key, a.after, limit + 1, out, count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&profile_pager, *out, count, limit, next_cursor)) != VG_OK)
		*out = NULL;   /* released and freed by vg_store_page_end */
	return err;
}

enum vg_err
vg_store_threat_profile_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	const struct vg_store_sources_ops *o = ops_of(s);
	char key[VG_UUID_LEN + 1];

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(repository_id, key))
		return VG_ERR_INVALID;
	return o->threat_profile_count(s, key, count);
}
