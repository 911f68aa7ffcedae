/*
 * store_pg_sources.c - projects, members, repositories, snapshots and
 * threat profiles in the postgres backend (tables of
 * sql/002_projects_sources.sql and 005_sources.sql; the project roll-up
 * also reads scans and findings of 003).
 *
 * Every statement is a constant with parameters; times cross as integer
 * microseconds (US_TO_TS / TS_TO_US, store_pg_util.h).  What must be
 * atomic runs in one transaction (vg_pg_tx); member changes lock the
 * project row first, so the "never without an owner" rule cannot be
 * raced past.  Creations that need a parent insert from a SELECT of the
 * parent, so a missing parent is "no row inserted" (VG_ERR_NOT_FOUND)
 * rather than a foreign-key error.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "store/store_pg_util.h"

/* Run a statement whose answer is one number (a count). */
static enum vg_err
exec_count(struct vg_pg *db, const char *sql, const char *key, int64_t *count)
{
	const char *params[] = {key};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(db, sql, 1, params, &res);

	if (err == VG_OK)
		*count = vg_pg_i64(res, 0, 0, 0);
	PQclear(res);
	return err;
}

/* ---- projects ---- */

#define PROJECT_COLS "p.id, p.name, p.description, p.owner_id, " TS_TO_US("p.created_at") \
	", " TS_TO_US("p.updated_at")
#define PROJECT_NCOLS 6

/*
 * The roll-up of project p, as columns and the joins that make them:
 * how many repositories, the status and creation time of its newest scan,
 * and its open findings by severity (most severe first, the order of
 * vg_severity_names).  A finding is seen once per scan; only its newest
 * sighting in each repository counts, so a finding dismissed or gone in
 * a later scan is not counted from an older one.
 */
#define ROLLUP_COLS "rr.n, ls.status, " TS_TO_US("ls.created_at") \
	", fo.critical, fo.high, fo.medium, fo.low, fo.info"
#define ROLLUP_NCOLS 8
#define ROLLUP_JOINS \
	" CROSS JOIN LATERAL (SELECT count(*) AS n FROM repositories r" \
	"  WHERE r.project_id = p.id) rr" \
	" LEFT JOIN LATERAL (SELECT sc.status, sc.created_at FROM scans sc" \
	"  JOIN repositories r ON r.id = sc.repository_id WHERE r.project_id = p.id" \
	"  ORDER BY sc.created_at DESC, sc.id DESC LIMIT 1) ls ON true" \
	" CROSS JOIN LATERAL (SELECT" \
	"  count(*) FILTER (WHERE l.severity = 'critical') AS critical," \
	"  count(*) FILTER (WHERE l.severity = 'high') AS high," \
	"  count(*) FILTER (WHERE l.severity = 'medium') AS medium," \
	"  count(*) FILTER (WHERE l.severity = 'low') AS low," \
	"  count(*) FILTER (WHERE l.severity = 'info') AS info" \
	"  FROM (SELECT DISTINCT ON (f.repository_id, f.fingerprint) f.severity, f.status" \
	"   FROM findings f JOIN repositories r ON r.id = f.repository_id" \
	"   WHERE r.project_id = p.id" \
	"   ORDER BY f.repository_id, f.fingerprint, f.created_at DESC, f.id DESC) l" \
	"  WHERE l.status = 'open') fo"

static enum vg_err
project_row(const PGresult *res, int row, int col, struct vg_project *p)
{
	enum vg_err err;

	memset(p, 0, sizeof *p);
	if ((err = vg_store_pg_cell(res, row, col + 0, p->id, sizeof p->id)) ||
	    (err = vg_store_pg_cell(res, row, col + 1, p->name, sizeof p->name)) ||
	    (err = vg_store_pg_cell(res, row, col + 2, p->description, sizeof p->description)) ||
	    (err = vg_store_pg_cell(res, row, col + 3, p->owner_id, sizeof p->owner_id)))
		return err;
	p->created_at_us = vg_pg_i64(res, row, col + 4, 0);
	p->updated_at_us = vg_pg_i64(res, row, col + 5, 0);
	return VG_OK;
}

static enum vg_err
rollup_row(const PGresult *res, int row, int col, struct vg_project_rollup *r)
{
	int i;

	memset(r, 0, sizeof *r);
	r->repositories = vg_pg_i64(res, row, col + 0, 0);
	if (vg_store_pg_cell(res, row, col + 1, r->last_scan_status,
	    sizeof r->last_scan_status) != VG_OK)
		return VG_ERR_INTERNAL;
	r->last_scan_at_us = vg_pg_i64(res, row, col + 2, 0);
	for (i = 0; i < VG_SEVERITY_COUNT; i++)
		r->open_findings[i] = vg_pg_i64(res, row, col + 3 + i, 0);
	return VG_OK;
}

struct project_create_arg {
	const struct vg_project *p;
	int64_t now_us;
};

/* The project (only when its owner is a user) and the owner's
 * membership, inside the caller's transaction. */
static enum vg_err
do_project_create(struct vg_pg *db, void *arg)
{
	static const char project[] =
	    "INSERT INTO projects (id, name, description, owner_id, created_at, updated_at)"
	    " SELECT $1, $2, $3, u.id, " US_TO_TS("$5") ", " US_TO_TS("$6")
	    " FROM users u WHERE u.id = $4";
	static const char owner[] =
	    "INSERT INTO project_members (project_id, user_id, role, added_by, created_at)"
	    " VALUES ($1, $2, 'owner', $2, " US_TO_TS("$3") ")";
	struct project_create_arg *a = arg;
	const struct vg_project *p = a->p;
	struct vg_store_pg_num c, u, now;
	const char *p1[] = {p->id, p->name, p->description, p->owner_id,
	    vg_store_pg_num(&c, p->created_at_us),
	    vg_store_pg_num(&u, p->updated_at_us ? p->updated_at_us : p->created_at_us)};
	const char *p2[] = {p->id, p->owner_id, vg_store_pg_num(&now, a->now_us)};
	enum vg_err err;

	if ((err = vg_store_pg_exec_one(db, project, 6, p1, NULL)) != VG_OK)
		return err;
	return vg_store_pg_exec_one(db, owner, 3, p2, NULL);
}

static enum vg_err
pg_project_create(struct vg_store *s, const struct vg_project *p, int64_t now_us)
{
	struct project_create_arg a = {p, now_us};

	return vg_pg_tx(s->pg, do_project_create, &a);
}

static enum vg_err
pg_project_get(struct vg_store *s, const char *id, struct vg_project *out)
{
	static const char sql[] = "SELECT " PROJECT_COLS " FROM projects p WHERE p.id = $1";
	const char *params[] = {id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = project_row(res, 0, 0, out);
	PQclear(res);
	return err;
}

static enum vg_err
pg_project_update(struct vg_store *s, const struct vg_project *p, int64_t now_us)
{
	static const char sql[] =
	    "UPDATE projects SET name = $2, description = $3, updated_at = " US_TO_TS("$4")
	    " WHERE id = $1";
	struct vg_store_pg_num now;
	const char *params[] = {p->id, p->name, p->description, vg_store_pg_num(&now, now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 4, params, NULL);
}

/* The foreign keys cascade to members, repositories (and their
 * snapshots, scans, findings) and threat profiles. */
static enum vg_err
pg_project_delete(struct vg_store *s, const char *id)
{
	const char *params[] = {id};

	return vg_store_pg_exec_one(s->pg, "DELETE FROM projects WHERE id = $1", 1, params, NULL);
}

static enum vg_err
project_entry_row(const PGresult *res, int row, void *item)
{
	struct vg_project_entry *e = item;
	enum vg_err err;

	if ((err = project_row(res, row, 0, &e->project)) != VG_OK ||
	    (err = vg_store_pg_cell(res, row, PROJECT_NCOLS, e->role, sizeof e->role)) != VG_OK)
		return err;
	return rollup_row(res, row, PROJECT_NCOLS + 1, &e->rollup);
}

/* The page is cut first (by the membership index and the projects'
 * keys), then each of its projects gets its roll-up. */
#define PROJECT_PAGE(cond) \
	"SELECT " PROJECT_COLS ", p.role, " ROLLUP_COLS " FROM" \
	" (SELECT p.id, p.name, p.description, p.owner_id, p.created_at, p.updated_at, m.role" \
	"  FROM project_members m JOIN projects p ON p.id = m.project_id" \
	"  WHERE m.user_id = $2" cond \
	"  ORDER BY p.created_at DESC, p.id DESC LIMIT $1) p" \
	ROLLUP_JOINS \
	" ORDER BY p.created_at DESC, p.id DESC"

static enum vg_err
pg_project_list(struct vg_store *s, const char *user_id, const struct vg_store_pos *pos,
    int n, struct vg_project_entry **out, size_t *count)
{
	static const char first[] = PROJECT_PAGE("");
	static const char after[] =
	    PROJECT_PAGE(" AND (p.created_at, p.id) < (" US_TO_TS("$3") ", $4::uuid)");
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, user_id, pos, n, sizeof **out,
	    project_entry_row, NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_project_count_owned(struct vg_store *s, const char *user_id, int64_t *count)
{
	return exec_count(s->pg, "SELECT count(*) FROM project_members"
	    " WHERE user_id = $1 AND role = 'owner'", user_id, count);
}

static enum vg_err
pg_project_rollup(struct vg_store *s, const char *id, struct vg_project_rollup *out)
{
	static const char sql[] =
	    "SELECT " ROLLUP_COLS " FROM projects p" ROLLUP_JOINS " WHERE p.id = $1";
	const char *params[] = {id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = rollup_row(res, 0, 0, out);
	PQclear(res);
	return err;
}

/* ---- members ---- */

#define MEMBER_COLS "m.project_id, m.user_id, m.role, m.added_by, " TS_TO_US("m.created_at") \
	", u.email, u.display_name"

static enum vg_err
member_row(const PGresult *res, int row, void *item)
{
	struct vg_member *m = item;
	enum vg_err err;

	memset(m, 0, sizeof *m);
	if ((err = vg_store_pg_cell(res, row, 0, m->project_id, sizeof m->project_id)) ||
	    (err = vg_store_pg_cell(res, row, 1, m->user_id, sizeof m->user_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, m->role, sizeof m->role)) ||
	    (err = vg_store_pg_cell(res, row, 3, m->added_by, sizeof m->added_by)) ||
	    (err = vg_store_pg_cell(res, row, 5, m->email, sizeof m->email)) ||
	    (err = vg_store_pg_cell(res, row, 6, m->display_name, sizeof m->display_name)))
		return err;
	m->created_at_us = vg_pg_i64(res, row, 4, 0);
	return VG_OK;
}

static enum vg_err
pg_member_role(struct vg_store *s, const char *project_id, const char *user_id, char role[8])
{
	static const char sql[] =
	    "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2";
	const char *params[] = {project_id, user_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res);

	if (err == VG_OK)
		err = vg_store_pg_cell(res, 0, 0, role, 8);
	PQclear(res);
	return err;
}

/*
 * What a member change must know, read under a lock on the project row
 * (so every change to one project's members runs one after another):
 * whether the project exists (VG_ERR_NOT_FOUND otherwise), user_id's
 * current role ("" when not a member), how many owners there are and
 * whether user_id is a user.
 */
struct member_state {
	char role[8];
	int64_t owners;
	bool user_exists;
};

static enum vg_err
member_lock(struct vg_pg *db, const char *project_id, const char *user_id,
    struct member_state *st)
{
	/* Two statements on purpose: a statement that waited for the lock
	 * still reads with the snapshot it started with, so the members must
	 * be counted by a statement that starts after the lock is held. */
	static const char lock[] = "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE";
	static const char read[] =
	    "SELECT (SELECT m.role FROM project_members m"
	    "   WHERE m.project_id = $1 AND m.user_id = $2),"
	    " (SELECT count(*) FROM project_members m"
	    "   WHERE m.project_id = $1 AND m.role = 'owner'),"
	    " EXISTS (SELECT 1 FROM users u WHERE u.id = $2)";
	const char *params[] = {project_id, user_id};
	PGresult *res = NULL;
	enum vg_err err;
	const char *exists;

	memset(st, 0, sizeof *st);
	if ((err = vg_store_pg_exec_one(db, lock, 1, params, NULL)) != VG_OK ||
	    (err = vg_store_pg_exec_one(db, read, 2, params, &res)) != VG_OK)
		goto out;
	if ((err = vg_store_pg_cell(res, 0, 0, st->role, sizeof st->role)) != VG_OK)
		goto out;
	st->owners = vg_pg_i64(res, 0, 1, 0);
	exists = vg_pg_text(res, 0, 2);
	st->user_exists = exists && strcmp(exists, "t") == 0;
out:
	PQclear(res);
	return err;
}

struct member_put_arg {
	struct vg_member *m;
	int64_t now_us;
	bool created;
};

static enum vg_err
do_member_put(struct vg_pg *db, void *arg)
{
	/* A role change keeps who added the member and when. */
	static const char sql[] =
	    "WITH up AS (INSERT INTO project_members (project_id, user_id, role, added_by,"
	    "  created_at) VALUES ($1, $2, $3, NULLIF($4, '')::uuid, " US_TO_TS("$5") ")"
	    "  ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role"
	    "  RETURNING *)"
	    " SELECT " MEMBER_COLS " FROM up m JOIN users u ON u.id = m.user_id";
	struct member_put_arg *a = arg;
	struct vg_member *m = a->m;
	struct member_state st;
	struct vg_store_pg_num now;
	const char *params[] = {m->project_id, m->user_id, m->role, m->added_by,
	    vg_store_pg_num(&now, a->now_us)};
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = member_lock(db, m->project_id, m->user_id, &st)) != VG_OK)
		goto out;
	err = VG_ERR_NOT_FOUND;
	if (!st.user_exists)
		goto out;
	/* The last owner may not step down. */
	err = VG_ERR_CONFLICT;
	if (strcmp(st.role, "owner") == 0 && strcmp(m->role, "owner") != 0 && st.owners <= 1)
		goto out;
	if ((err = vg_store_pg_exec_one(db, sql, 5, params, &res)) != VG_OK ||
	    (err = member_row(res, 0, m)) != VG_OK)
		goto out;
	a->created = st.role[0] == '\0';
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_member_put(struct vg_store *s, struct vg_member *m, int64_t now_us, bool *created)
{
	struct member_put_arg a = {m, now_us, false};
	enum vg_err err = vg_pg_tx(s->pg, do_member_put, &a);

	if (err == VG_OK && created)
		*created = a.created;
	return err;
}

struct member_delete_arg {
	const char *project_id, *user_id;
};

static enum vg_err
do_member_delete(struct vg_pg *db, void *arg)
{
	static const char sql[] =
	    "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2";
	struct member_delete_arg *a = arg;
	struct member_state st;
	const char *params[] = {a->project_id, a->user_id};
	enum vg_err err;

	if ((err = member_lock(db, a->project_id, a->user_id, &st)) != VG_OK)
		return err;
	if (st.role[0] == '\0')
		return VG_ERR_NOT_FOUND;
	if (strcmp(st.role, "owner") == 0 && st.owners <= 1)
		return VG_ERR_CONFLICT;
	return vg_store_pg_exec_one(db, sql, 2, params, NULL);
}

static enum vg_err
pg_member_delete(struct vg_store *s, const char *project_id, const char *user_id)
{
	struct member_delete_arg a = {project_id, user_id};

	return vg_pg_tx(s->pg, do_member_delete, &a);
}

static enum vg_err
pg_member_get(struct vg_store *s, const char *project_id, const char *user_id,
    struct vg_member *out)
{
	static const char sql[] =
	    "SELECT " MEMBER_COLS " FROM project_members m JOIN users u ON u.id = m.user_id"
	    " WHERE m.project_id = $1 AND m.user_id = $2";
	const char *params[] = {project_id, user_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res);

	if (err == VG_OK)
		err = member_row(res, 0, out);
	PQclear(res);
	return err;
}

/* In any order; store_sources.c sorts, and turns "no member" into
 * VG_ERR_NOT_FOUND (a project always has an owner). */
static enum vg_err
pg_member_list(struct vg_store *s, const char *project_id, struct vg_member **out,
    size_t *count)
{
	static const char sql[] =
	    "SELECT " MEMBER_COLS " FROM project_members m JOIN users u ON u.id = m.user_id"
	    " WHERE m.project_id = $1";
	const char *params[] = {project_id};
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, sql, 1, params, sizeof **out, member_row, NULL, &items,
	    count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/* ---- repositories ---- */

/* The columns repo_row reads, of the table named t ("" or "r."). */
#define REPO_COLS_OF(t) t "id, " t "project_id, " t "name, " t "source_type, " t "git_url, " \
	t "git_ref, " t "ingest_status, " t "ingest_error_code, " t "ingest_error_message, " \
	t "current_snapshot_id, " t "created_by, " TS_TO_US(t "created_at") ", " \
	TS_TO_US(t "updated_at") ", " t "findings_version"
#define REPO_COLS REPO_COLS_OF("")
#define REPO_NCOLS 14

static enum vg_err
repo_row(const PGresult *res, int row, void *item)
{
	struct vg_repository *r = item;
	enum vg_err err;

	memset(r, 0, sizeof *r);
	if ((err = vg_store_pg_cell(res, row, 0, r->id, sizeof r->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, r->project_id, sizeof r->project_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, r->name, sizeof r->name)) ||
	    (err = vg_store_pg_cell(res, row, 3, r->source_type, sizeof r->source_type)) ||
	    (err = vg_store_pg_cell(res, row, 4, r->git_url, sizeof r->git_url)) ||
	    (err = vg_store_pg_cell(res, row, 5, r->git_ref, sizeof r->git_ref)) ||
	    (err = vg_store_pg_cell(res, row, 6, r->ingest_status, sizeof r->ingest_status)) ||
	    (err = vg_store_pg_cell(res, row, 7, r->ingest_error_code,
	    sizeof r->ingest_error_code)) ||
	    (err = vg_store_pg_cell(res, row, 8, r->ingest_error_message,
	    sizeof r->ingest_error_message)) ||
	    (err = vg_store_pg_cell(res, row, 9, r->current_snapshot_id,
	    sizeof r->current_snapshot_id)) ||
	    (err = vg_store_pg_cell(res, row, 10, r->created_by, sizeof r->created_by)))
		return err;
	r->created_at_us = vg_pg_i64(res, row, 11, 0);
	r->updated_at_us = vg_pg_i64(res, row, 12, 0);
	r->findings_version = vg_pg_i64(res, row, 13, 0);
	return VG_OK;
}

static enum vg_err
pg_repository_create(struct vg_store *s, const struct vg_repository *r)
{
	static const char sql[] =
	    "INSERT INTO repositories (id, project_id, name, source_type, git_url, git_ref,"
	    " ingest_status, created_by, created_at, updated_at)"
	    " SELECT $1, p.id, $3, $4, NULLIF($5, ''), NULLIF($6, ''), 'pending',"
	    " NULLIF($7, '')::uuid, " US_TO_TS("$8") ", " US_TO_TS("$9")
	    " FROM projects p WHERE p.id = $2";
	struct vg_store_pg_num c, u;
	const char *params[] = {r->id, r->project_id, r->name, r->source_type, r->git_url,
	    r->git_ref, r->created_by, vg_store_pg_num(&c, r->created_at_us),
	    vg_store_pg_num(&u, r->updated_at_us ? r->updated_at_us : r->created_at_us)};

	return vg_store_pg_exec_one(s->pg, sql, 9, params, NULL);
}

static enum vg_err
pg_repository_get(struct vg_store *s, const char *id, struct vg_repository *out)
{
	static const char sql[] = "SELECT " REPO_COLS " FROM repositories WHERE id = $1";
	const char *params[] = {id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = repo_row(res, 0, out);
	PQclear(res);
	return err;
}

/* The repository, its project and the caller's role: one statement. */
static enum vg_err
pg_repository_scope(struct vg_store *s, const char *id, const char *user_id,
    struct vg_repository *repo, struct vg_project *project, char role[8])
{
	static const char sql[] =
	    "SELECT " REPO_COLS_OF("r.") ", " PROJECT_COLS ", m.role"
	    " FROM repositories r JOIN projects p ON p.id = r.project_id"
	    " LEFT JOIN project_members m ON m.project_id = r.project_id AND m.user_id = $2"
	    " WHERE r.id = $1";
	const char *params[] = {id, user_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res);

	if (err == VG_OK && (err = repo_row(res, 0, repo)) == VG_OK &&
	    (err = project_row(res, 0, REPO_NCOLS, project)) == VG_OK)
		err = vg_store_pg_cell(res, 0, REPO_NCOLS + PROJECT_NCOLS, role, 8);
	PQclear(res);
	return err;
}

/* The user and session of the caller with the repository's scope, in
 * one statement: the user's row drives it, so a missing repository still
 * reads the caller (the bearer check's answer comes first). */
static enum vg_err
pg_repository_scope_as(struct vg_store *s, const char *id, const char *user_id,
    const char *family_id, struct vg_store_caller *who, struct vg_repository *repo,
    struct vg_project *project, char role[8])
{
	enum { AT_PROJECT = REPO_NCOLS, AT_ROLE = AT_PROJECT + PROJECT_NCOLS,
	    AT_USER = AT_ROLE + 1, AT_FAMILY = AT_USER + USER_NCOLS };
	static const char sql[] =
	    "SELECT " REPO_COLS_OF("r.") ", " PROJECT_COLS ", m.role, " USER_COLS_P("u.") ", "
	    FAMILY_COLS " FROM users u"
	    " LEFT JOIN refresh_token_families f ON f.id = $3::uuid AND f.user_id = u.id"
	    " LEFT JOIN (repositories r JOIN projects p ON p.id = r.project_id) ON r.id = $1"
	    " LEFT JOIN project_members m ON m.project_id = r.project_id AND m.user_id = u.id"
	    " WHERE u.id = $2";
	const char *params[] = {id, user_id, family_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 3, params, &res);

	if (err == VG_ERR_NOT_FOUND)   /* no such user: who->user.id stays "" */
		return VG_OK;
	if (err == VG_OK && (err = vg_store_pg_user_at(res, 0, AT_USER, &who->user)) == VG_OK &&
	    !PQgetisnull(res, 0, AT_FAMILY))
		err = vg_store_pg_family_at(res, 0, AT_FAMILY, &who->session);
	if (err == VG_OK && !PQgetisnull(res, 0, 0) &&
	    (err = repo_row(res, 0, repo)) == VG_OK &&
	    (err = project_row(res, 0, AT_PROJECT, project)) == VG_OK)
		err = vg_store_pg_cell(res, 0, AT_ROLE, role, 8);
	PQclear(res);
	return err;
}

static enum vg_err
pg_repository_list(struct vg_store *s, const char *project_id, const struct vg_store_pos *pos,
    int n, struct vg_repository **out, size_t *count)
{
	static const char first[] =
	    "SELECT " REPO_COLS " FROM repositories WHERE project_id = $2"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " REPO_COLS " FROM repositories WHERE project_id = $2"
	    " AND (created_at, id) < (" US_TO_TS("$3") ", $4::uuid)"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, project_id, pos, n, sizeof **out, repo_row,
	    NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_repository_update(struct vg_store *s, const struct vg_repository *r, int64_t now_us)
{
	static const char sql[] =
	    "UPDATE repositories SET name = $2, git_url = NULLIF($3, ''),"
	    " git_ref = NULLIF($4, ''), updated_at = " US_TO_TS("$5") " WHERE id = $1";
	struct vg_store_pg_num now;
	const char *params[] = {r->id, r->name, r->git_url, r->git_ref,
	    vg_store_pg_num(&now, now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 5, params, NULL);
}

static enum vg_err
pg_repository_delete(struct vg_store *s, const char *id)
{
	const char *params[] = {id};

	return vg_store_pg_exec_one(s->pg, "DELETE FROM repositories WHERE id = $1", 1, params,
	    NULL);
}

static enum vg_err
pg_repository_count(struct vg_store *s, const char *project_id, int64_t *count)
{
	return exec_count(s->pg, "SELECT count(*) FROM repositories WHERE project_id = $1",
	    project_id, count);
}

/*
 * One UPDATE whose WHERE carries both conditions, the if_not state and a
 * new current snapshot that belongs to this repository, so checks and
 * change cannot be separated.  No row changed: a second look says why,
 * in the order the json backend checks: the repository missing
 * (VG_ERR_NOT_FOUND), in the refused state (VG_ERR_CONFLICT), the
 * snapshot not one of its own (VG_ERR_INVALID).  When neither holds any
 * more, a concurrent change got in between: VG_ERR_CONFLICT.
 */
static enum vg_err
pg_repository_set_ingest(struct vg_store *s, const char *id, const struct vg_ingest_change *c,
    struct vg_repository *out)
{
	static const char sql[] =
	    "UPDATE repositories SET ingest_status = $2,"
	    " ingest_error_code = CASE WHEN $2 = 'failed' THEN NULLIF($4, '') END,"
	    " ingest_error_message = CASE WHEN $2 = 'failed' THEN NULLIF($5, '') END,"
	    " current_snapshot_id = COALESCE($6::uuid, current_snapshot_id),"
	    " updated_at = " US_TO_TS("$7")
	    " WHERE id = $1 AND ($3::text IS NULL OR ingest_status <> $3)"
	    " AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM snapshots sn"
	    "  WHERE sn.id = $6::uuid AND sn.repository_id = $1))"
	    " RETURNING " REPO_COLS;
	static const char why[] =
	    "SELECT r.ingest_status, $2::uuid IS NULL OR EXISTS (SELECT 1 FROM snapshots sn"
	    "  WHERE sn.id = $2::uuid AND sn.repository_id = r.id)"
	    " FROM repositories r WHERE r.id = $1";
	struct vg_store_pg_num now;
	const char *snapshot = c->snapshot_id && c->snapshot_id[0] ? c->snapshot_id : NULL;
	const char *params[] = {id, c->status, c->if_not, c->error_code, c->error_message,
	    snapshot, vg_store_pg_num(&now, c->now_us)};
	const char *p_why[] = {id, snapshot};
	PGresult *res = NULL;
	const char *state, *own;
	enum vg_err err;

	err = vg_store_pg_exec_one(s->pg, sql, 7, params, &res);
	if (err == VG_ERR_NOT_FOUND) {
		if ((err = vg_store_pg_exec_one(s->pg, why, 2, p_why, &res)) != VG_OK)
			goto out;
		state = vg_pg_text(res, 0, 0);
		own = vg_pg_text(res, 0, 1);
		err = VG_ERR_CONFLICT;
		if (!(c->if_not && state && strcmp(state, c->if_not) == 0) &&
		    !(own && strcmp(own, "t") == 0))
			err = VG_ERR_INVALID;
		goto out;
	}
	if (err == VG_OK && out)
		err = repo_row(res, 0, out);
out:
	PQclear(res);
	return err;
}

/* ---- snapshots ---- */

#define SNAP_COLS "id, repository_id, digest, storage_key, manifest_key, format, file_count," \
	" total_bytes, languages::text, git_commit, created_by, " TS_TO_US("created_at")

static enum vg_err
snap_row(const PGresult *res, int row, void *item)
{
	struct vg_snapshot *sn = item;
	const char *langs = vg_pg_text(res, row, 8);
	enum vg_err err;

	memset(sn, 0, sizeof *sn);
	if ((err = vg_store_pg_cell(res, row, 0, sn->id, sizeof sn->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, sn->repository_id, sizeof sn->repository_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, sn->digest, sizeof sn->digest)) ||
	    (err = vg_store_pg_cell(res, row, 3, sn->storage_key, sizeof sn->storage_key)) ||
	    (err = vg_store_pg_cell(res, row, 4, sn->manifest_key, sizeof sn->manifest_key)) ||
	    (err = vg_store_pg_cell(res, row, 5, sn->format, sizeof sn->format)) ||
	    (err = vg_store_pg_cell(res, row, 9, sn->git_commit, sizeof sn->git_commit)) ||
	    (err = vg_store_pg_cell(res, row, 10, sn->created_by, sizeof sn->created_by)))
		return err;
	sn->file_count = vg_pg_i64(res, row, 6, 0);
	sn->total_bytes = vg_pg_i64(res, row, 7, 0);
	sn->created_at_us = vg_pg_i64(res, row, 11, 0);
	/* jsonb prints with spaces and its own key order: give the compact
	 * form, keys sorted, whatever the server's spelling. */
	err = vg_store_object_text_canon(langs, sn->languages, sizeof sn->languages);
	return err == VG_ERR_INVALID ? VG_ERR_INTERNAL : err;
}

/*
 * Insert unless the repository holds this digest already, then read the
 * row back.  The second statement runs on a fresh snapshot of the
 * database, so it sees the row a concurrent create committed while our
 * INSERT waited on it.  No row at all means no repository.
 */
static enum vg_err
pg_snapshot_create(struct vg_store *s, struct vg_snapshot *snap, bool *existed)
{
	static const char insert[] =
	    "INSERT INTO snapshots (id, repository_id, digest, storage_key, manifest_key, format,"
	    " file_count, total_bytes, languages, git_commit, created_by, created_at)"
	    " SELECT $1, r.id, $3, $4, NULLIF($5, ''), NULLIF($6, ''), $7::integer,"
	    " $8::bigint, COALESCE(NULLIF($9, ''), '{}')::jsonb, NULLIF($10, ''),"
	    " NULLIF($11, '')::uuid, " US_TO_TS("$12")
	    " FROM repositories r WHERE r.id = $2"
	    " ON CONFLICT (repository_id, digest) DO NOTHING"
	    " RETURNING " SNAP_COLS;
	static const char find[] =
	    "SELECT " SNAP_COLS " FROM snapshots WHERE repository_id = $1 AND digest = $2";
	struct vg_store_pg_num fc, tb, c;
	const char *p1[] = {snap->id, snap->repository_id, snap->digest, snap->storage_key,
	    snap->manifest_key, snap->format, vg_store_pg_num(&fc, snap->file_count),
	    vg_store_pg_num(&tb, snap->total_bytes), snap->languages, snap->git_commit,
	    snap->created_by, vg_store_pg_num(&c, snap->created_at_us)};
	const char *p2[] = {snap->repository_id, snap->digest};
	PGresult *res = NULL;
	bool found = false;
	enum vg_err err;

	err = vg_store_pg_exec_one(s->pg, insert, 12, p1, &res);
	if (err == VG_ERR_NOT_FOUND) {
		found = true;
		err = vg_store_pg_exec_one(s->pg, find, 2, p2, &res);
	}
	if (err == VG_OK)
		err = snap_row(res, 0, snap);
	if (err == VG_OK && existed)
		*existed = found;
	PQclear(res);
	return err;
}

static enum vg_err
pg_snapshot_get(struct vg_store *s, const char *id, struct vg_snapshot *out)
{
	static const char sql[] = "SELECT " SNAP_COLS " FROM snapshots WHERE id = $1";
	const char *params[] = {id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = snap_row(res, 0, out);
	PQclear(res);
	return err;
}

static enum vg_err
pg_snapshot_list(struct vg_store *s, const char *repository_id, const struct vg_store_pos *pos,
    int n, struct vg_snapshot **out, size_t *count)
{
	static const char first[] =
	    "SELECT " SNAP_COLS " FROM snapshots WHERE repository_id = $2"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " SNAP_COLS " FROM snapshots WHERE repository_id = $2"
	    " AND (created_at, id) < (" US_TO_TS("$3") ", $4::uuid)"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, repository_id, pos, n, sizeof **out,
	    snap_row, NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_snapshot_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	return exec_count(s->pg, "SELECT count(*) FROM snapshots WHERE repository_id = $1",
	    repository_id, count);
}

/* Whether a snapshot's archive is stored under the key (store.h: the
 * storage_key column, as in the json backend). */
static enum vg_err
pg_snapshot_key_used(struct vg_store *s, const char *storage_key, bool *used)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM snapshots WHERE storage_key = $1)";
	const char *params[] = {storage_key};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, sql, 1, params, &res);
	const char *v;

	if (err == VG_OK) {
		v = vg_pg_text(res, 0, 0);
		*used = v && strcmp(v, "t") == 0;
	}
	PQclear(res);
	return err;
}

/* ---- threat profiles ---- */

/* A profile at one version: v is the threat_profile_versions row. */
#define PROFILE_COLS "tp.id, tp.project_id, tp.repository_id, tp.name, v.version," \
	" tp.latest_version, v.content::text, v.created_by, " TS_TO_US("tp.created_at") ", " \
	TS_TO_US("tp.updated_at")

/* What a listed profile owns (vg_threat_profile_clear, as a row cleaner). */
static void
profile_clear(void *item)
{
	struct vg_threat_profile *p = item;

	json_decref(p->content);
	p->content = NULL;
}

static enum vg_err
profile_row(const PGresult *res, int row, void *item)
{
	struct vg_threat_profile *p = item;
	const char *content = vg_pg_text(res, row, 6);
	enum vg_err err;

	memset(p, 0, sizeof *p);
	if ((err = vg_store_pg_cell(res, row, 0, p->id, sizeof p->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, p->project_id, sizeof p->project_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, p->repository_id, sizeof p->repository_id)) ||
	    (err = vg_store_pg_cell(res, row, 3, p->name, sizeof p->name)) ||
	    (err = vg_store_pg_cell(res, row, 7, p->created_by, sizeof p->created_by)))
		return err;
	p->version = vg_pg_i64(res, row, 4, 0);
	p->latest_version = vg_pg_i64(res, row, 5, 0);
	p->created_at_us = vg_pg_i64(res, row, 8, 0);
	p->updated_at_us = vg_pg_i64(res, row, 9, 0);
	if (!content || !(p->content = json_loads(content, 0, NULL)))
		return VG_ERR_INTERNAL;
	return VG_OK;
}

/* The content as compact JSON text for a jsonb parameter (malloc'd). */
static enum vg_err
content_text(const json_t *content, char **out)
{
	if (!content)
		return VG_ERR_INVALID;
	return (*out = json_dumps(content, JSON_COMPACT)) ? VG_OK : VG_ERR_NOMEM;
}

static const char version_insert[] =
    "INSERT INTO threat_profile_versions (profile_id, version, content, created_by,"
    " created_at) VALUES ($1, $2::integer, $3::jsonb, NULLIF($4, '')::uuid, "
    US_TO_TS("$5") ")";

struct profile_arg {
	struct vg_threat_profile *p;
	const char *content;
	int64_t now_us;
};

/* The profile (from its repository, which gives the project) and its
 * version 1. */
static enum vg_err
do_profile_create(struct vg_pg *db, void *arg)
{
	static const char sql[] =
	    "INSERT INTO threat_profiles (id, project_id, repository_id, name, latest_version,"
	    " created_by, created_at, updated_at)"
	    " SELECT $1, r.project_id, r.id, $3, 1, NULLIF($4, '')::uuid, " US_TO_TS("$5") ", "
	    US_TO_TS("$6") " FROM repositories r WHERE r.id = $2 RETURNING project_id";
	struct profile_arg *a = arg;
	struct vg_threat_profile *p = a->p;
	struct vg_store_pg_num c, u;
	int64_t updated = p->updated_at_us ? p->updated_at_us : p->created_at_us;
	const char *p1[] = {p->id, p->repository_id, p->name, p->created_by,
	    vg_store_pg_num(&c, p->created_at_us), vg_store_pg_num(&u, updated)};
	const char *p2[] = {p->id, "1", a->content, p->created_by, c.s};
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = vg_store_pg_exec_one(db, sql, 6, p1, &res)) != VG_OK ||
	    (err = vg_store_pg_cell(res, 0, 0, p->project_id, sizeof p->project_id)) != VG_OK)
		goto out;
	if ((err = vg_store_pg_exec_one(db, version_insert, 5, p2, NULL)) != VG_OK)
		goto out;
	p->version = p->latest_version = 1;
	p->updated_at_us = updated;
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_threat_profile_create(struct vg_store *s, struct vg_threat_profile *p)
{
	struct profile_arg a = {p, NULL, 0};
	char *content = NULL;
	enum vg_err err;

	if ((err = content_text(p->content, &content)) != VG_OK)
		return err;
	a.content = content;
	err = vg_pg_tx(s->pg, do_profile_create, &a);
	free(content);
	return err;
}

static enum vg_err
pg_threat_profile_get(struct vg_store *s, const char *id, int64_t version,
    struct vg_threat_profile *out)
{
	/* Version 0 is the latest. */
	static const char sql[] =
	    "SELECT " PROFILE_COLS " FROM threat_profiles tp"
	    " JOIN threat_profile_versions v ON v.profile_id = tp.id"
	    " AND v.version = CASE WHEN $2::bigint = 0 THEN tp.latest_version ELSE $2::bigint END"
	    " WHERE tp.id = $1";
	struct vg_store_pg_num ver;
	const char *params[] = {id, vg_store_pg_num(&ver, version)};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res);

	if (err == VG_OK)
		err = profile_row(res, 0, out);
	PQclear(res);
	return err;
}

/*
 * The UPDATE takes the profile's row lock and draws the next number, so
 * concurrent additions queue up and each gets its own version.
 */
static enum vg_err
do_profile_add_version(struct vg_pg *db, void *arg)
{
	static const char bump[] =
	    "UPDATE threat_profiles SET latest_version = latest_version + 1, name = $2,"
	    " updated_at = " US_TO_TS("$3") " WHERE id = $1"
	    " RETURNING project_id, repository_id, latest_version, " TS_TO_US("created_at");
	struct profile_arg *a = arg;
	struct vg_threat_profile *p = a->p;
	struct vg_store_pg_num now;
	const char *p1[] = {p->id, p->name, vg_store_pg_num(&now, a->now_us)};
	const char *p2[] = {p->id, NULL, a->content, p->created_by, now.s};
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = vg_store_pg_exec_one(db, bump, 3, p1, &res)) != VG_OK ||
	    (err = vg_store_pg_cell(res, 0, 0, p->project_id, sizeof p->project_id)) != VG_OK ||
	    (err = vg_store_pg_cell(res, 0, 1, p->repository_id, sizeof p->repository_id)) != VG_OK)
		goto out;
	p2[1] = vg_pg_text(res, 0, 2);
	if ((err = vg_store_pg_exec_one(db, version_insert, 5, p2, NULL)) != VG_OK)
		goto out;
	p->version = p->latest_version = vg_pg_i64(res, 0, 2, 0);
	p->created_at_us = vg_pg_i64(res, 0, 3, 0);
	p->updated_at_us = a->now_us;
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_threat_profile_add_version(struct vg_store *s, struct vg_threat_profile *p,
    int64_t now_us)
{
	struct profile_arg a = {p, NULL, now_us};
	char *content = NULL;
	enum vg_err err;

	if ((err = content_text(p->content, &content)) != VG_OK)
		return err;
	a.content = content;
	err = vg_pg_tx(s->pg, do_profile_add_version, &a);
	free(content);
	return err;
}

#define PROFILE_LATEST "SELECT " PROFILE_COLS " FROM threat_profiles tp" \
	" JOIN threat_profile_versions v ON v.profile_id = tp.id AND v.version = tp.latest_version" \
	" WHERE tp.repository_id = $2"

static enum vg_err
pg_threat_profile_list(struct vg_store *s, const char *repository_id,
    const struct vg_store_pos *pos, int n, struct vg_threat_profile **out, size_t *count)
{
	static const char first[] =
	    PROFILE_LATEST " ORDER BY tp.created_at DESC, tp.id DESC LIMIT $1";
	static const char after[] =
	    PROFILE_LATEST " AND (tp.created_at, tp.id) < (" US_TO_TS("$3") ", $4::uuid)"
	    " ORDER BY tp.created_at DESC, tp.id DESC LIMIT $1";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, repository_id, pos, n, sizeof **out,
	    profile_row, profile_clear, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_threat_profile_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	return exec_count(s->pg, "SELECT count(*) FROM threat_profiles WHERE repository_id = $1",
	    repository_id, count);
}

const struct vg_store_sources_ops vg_store_pg_sources_ops = {
	.project_create = pg_project_create,
	.project_get = pg_project_get,
	.project_update = pg_project_update,
	.project_delete = pg_project_delete,
	.project_list = pg_project_list,
	.project_count_owned = pg_project_count_owned,
	.project_rollup = pg_project_rollup,
	.member_role = pg_member_role,
	.member_put = pg_member_put,
	.member_delete = pg_member_delete,
	.member_get = pg_member_get,
	.member_list = pg_member_list,
	.repository_create = pg_repository_create,
	.repository_get = pg_repository_get,
	.repository_scope = pg_repository_scope,
	.repository_scope_as = pg_repository_scope_as,
	.repository_list = pg_repository_list,
	.repository_update = pg_repository_update,
	.repository_delete = pg_repository_delete,
	.repository_count = pg_repository_count,
	.repository_set_ingest = pg_repository_set_ingest,
	.snapshot_create = pg_snapshot_create,
	.snapshot_get = pg_snapshot_get,
	.snapshot_list = pg_snapshot_list,
	.snapshot_count = pg_snapshot_count,
	.snapshot_key_used = pg_snapshot_key_used,
	.threat_profile_create = pg_threat_profile_create,
	.threat_profile_get = pg_threat_profile_get,
	.threat_profile_add_version = pg_threat_profile_add_version,
	.threat_profile_list = pg_threat_profile_list,
	.threat_profile_count = pg_threat_profile_count,
};
