/*
 * store_json_sources.c - projects, members, repositories, snapshots and
 * threat profiles in the json backend.
 *
 * Collections (record id -> content):
 *   projects          project id -> the project
 *   project_members   "<project id>_<user id>" -> the membership
 *   repositories      repository id -> the repository
 *   snapshots         snapshot id -> the snapshot (languages as an object)
 *   snapshot_digests  "<repository id>_<digest>" -> {"snapshot_id"}: one
 *                     snapshot per content and repository
 *   threat_profiles   profile id -> the profile with every version in
 *                     "versions" ([{version, content, created_by,
 *                     created_at}], oldest first; never edited, only added)
 * and, read only for the roll-up, "scans" and "findings" when a later
 * part of the store has written them.
 *
 * Whatever must hold across collections (a member's project exists, a
 * deleted project leaves nothing behind, one snapshot per digest) is
 * changed under the locks of all of them, taken in ascending order of
 * collection name (jsondb.h), so no reader sees half of it and two
 * processes never deadlock.  A delete removes the children before the
 * parent, so one cut short by a crash leaves the parent to delete again.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_findex.h"
#include "store/store_json_util.h"

#define C_FINDINGS "findings"
#define C_MEMBERS "project_members"
#define C_PROJECTS "projects"
#define C_REPOS "repositories"
#define C_SCANS "scans"
#define C_DIGESTS "snapshot_digests"
#define C_SNAPS "snapshots"
#define C_PROFILES "threat_profiles"
#define C_USERS "users"

/* "<uuid>_<uuid>" and "<uuid>_<64 hex>": record ids of the two joins. */
#define MEMBER_KEY_LEN (2 * VG_UUID_LEN + 2)
#define DIGEST_KEY_LEN (VG_UUID_LEN + 1 + 64 + 1)

/* ---- record filters (for vg_jsondb_list) ---- */

static bool
of_project(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "project_id", arg);
}

static bool
of_repository(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "repository_id", arg);
}

static bool
of_user(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "user_id", arg);
}

/* ---- records ---- */

static json_t *
project_json(const struct vg_project *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", p->id, "name", p->name,
	    "description", p->description, "owner_id", p->owner_id,
	    "created_at", vg_store_json_time(p->created_at_us),
	    "updated_at", vg_store_json_time(p->updated_at_us));
}

static enum vg_err
project_from(json_t *rec, struct vg_project *p)
{
	enum vg_err err;

	memset(p, 0, sizeof *p);
	if ((err = vg_store_json_get_str(rec, "id", p->id, sizeof p->id)) ||
	    (err = vg_store_json_get_str(rec, "name", p->name, sizeof p->name)) ||
	    (err = vg_store_json_get_str(rec, "description", p->description,
	    sizeof p->description)) ||
	    (err = vg_store_json_get_str(rec, "owner_id", p->owner_id, sizeof p->owner_id)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &p->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &p->updated_at_us)))
		return err;
	return VG_OK;
}

static void
member_key(const char *project_id, const char *user_id, char out[MEMBER_KEY_LEN])
{
	snprintf(out, MEMBER_KEY_LEN, "%s_%s", project_id, user_id);
}

static json_t *
member_json(const struct vg_member *m)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "project_id", m->project_id,
	    "user_id", m->user_id, "role", m->role, "added_by", vg_store_json_str(m->added_by),
	    "created_at", vg_store_json_time(m->created_at_us));
}

/* The membership alone (email and display_name stay ""). */
static enum vg_err
member_from(json_t *rec, struct vg_member *m)
{
	enum vg_err err;

	memset(m, 0, sizeof *m);
	if ((err = vg_store_json_get_str(rec, "project_id", m->project_id, sizeof m->project_id)) ||
	    (err = vg_store_json_get_str(rec, "user_id", m->user_id, sizeof m->user_id)) ||
	    (err = vg_store_json_get_str(rec, "role", m->role, sizeof m->role)) ||
	    (err = vg_store_json_get_str(rec, "added_by", m->added_by, sizeof m->added_by)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &m->created_at_us)))
		return err;
	return VG_OK;
}

/* A member's e-mail and display name, from the users collection (a
 * member whose user record is gone keeps ""). */
static enum vg_err
member_user(struct vg_store *s, struct vg_member *m)
{
	json_t *u = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_USERS, m->user_id, &u);

	if (err == VG_OK &&
	    ((err = vg_store_json_get_str(u, "email", m->email, sizeof m->email)) == VG_OK))
		err = vg_store_json_get_str(u, "display_name", m->display_name,
		    sizeof m->display_name);
	json_decref(u);
	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

static json_t *
repository_json(const struct vg_repository *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", r->id, "project_id", r->project_id, "name", r->name,
	    "source_type", r->source_type, "git_url", vg_store_json_str(r->git_url),
	    "git_ref", vg_store_json_str(r->git_ref), "ingest_status", r->ingest_status,
	    "ingest_error_code", vg_store_json_str(r->ingest_error_code),
	    "ingest_error_message", vg_store_json_str(r->ingest_error_message),
	    "current_snapshot_id", vg_store_json_str(r->current_snapshot_id),
	    "created_by", vg_store_json_str(r->created_by),
	    "created_at", vg_store_json_time(r->created_at_us),
	    "updated_at", vg_store_json_time(r->updated_at_us));
}

static enum vg_err
repository_from(json_t *rec, struct vg_repository *r)
{
	enum vg_err err;

	memset(r, 0, sizeof *r);
	if ((err = vg_store_json_get_str(rec, "id", r->id, sizeof r->id)) ||
	    (err = vg_store_json_get_str(rec, "project_id", r->project_id, sizeof r->project_id)) ||
	    (err = vg_store_json_get_str(rec, "name", r->name, sizeof r->name)) ||
	    (err = vg_store_json_get_str(rec, "source_type", r->source_type,
	    sizeof r->source_type)) ||
	    (err = vg_store_json_get_str(rec, "git_url", r->git_url, sizeof r->git_url)) ||
	    (err = vg_store_json_get_str(rec, "git_ref", r->git_ref, sizeof r->git_ref)) ||
	    (err = vg_store_json_get_str(rec, "ingest_status", r->ingest_status,
	    sizeof r->ingest_status)) ||
	    (err = vg_store_json_get_str(rec, "ingest_error_code", r->ingest_error_code,
	    sizeof r->ingest_error_code)) ||
	    (err = vg_store_json_get_str(rec, "ingest_error_message", r->ingest_error_message,
	    sizeof r->ingest_error_message)) ||
	    (err = vg_store_json_get_str(rec, "current_snapshot_id", r->current_snapshot_id,
	    sizeof r->current_snapshot_id)) ||
	    (err = vg_store_json_get_str(rec, "created_by", r->created_by, sizeof r->created_by)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &r->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &r->updated_at_us)))
		return err;
	return VG_OK;
}

static json_t *
snapshot_json(const struct vg_snapshot *sn)
{
	json_t *langs = json_loads(sn->languages, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(langs)) {
		json_decref(langs);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:o, s:o, s:o, s:o}",
	    "id", sn->id, "repository_id", sn->repository_id, "digest", sn->digest,
	    "storage_key", sn->storage_key, "manifest_key", vg_store_json_str(sn->manifest_key),
	    "format", sn->format, "file_count", (json_int_t)sn->file_count,
	    "total_bytes", (json_int_t)sn->total_bytes, "languages", langs,
	    "git_commit", vg_store_json_str(sn->git_commit),
	    "created_by", vg_store_json_str(sn->created_by),
	    "created_at", vg_store_json_time(sn->created_at_us));
}

static enum vg_err
snapshot_from(json_t *rec, struct vg_snapshot *sn)
{
	json_t *langs = json_object_get(rec, "languages");
	enum vg_err err;

	memset(sn, 0, sizeof *sn);
	if ((err = vg_store_json_get_str(rec, "id", sn->id, sizeof sn->id)) ||
	    (err = vg_store_json_get_str(rec, "repository_id", sn->repository_id,
	    sizeof sn->repository_id)) ||
	    (err = vg_store_json_get_str(rec, "digest", sn->digest, sizeof sn->digest)) ||
	    (err = vg_store_json_get_str(rec, "storage_key", sn->storage_key,
	    sizeof sn->storage_key)) ||
	    (err = vg_store_json_get_str(rec, "manifest_key", sn->manifest_key,
	    sizeof sn->manifest_key)) ||
	    (err = vg_store_json_get_str(rec, "format", sn->format, sizeof sn->format)) ||
	    (err = vg_store_json_get_str(rec, "git_commit", sn->git_commit,
	    sizeof sn->git_commit)) ||
	    (err = vg_store_json_get_str(rec, "created_by", sn->created_by,
	    sizeof sn->created_by)) ||
	    (err = vg_store_json_get_int(rec, "file_count", &sn->file_count)) ||
	    (err = vg_store_json_get_int(rec, "total_bytes", &sn->total_bytes)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &sn->created_at_us)))
		return err;
	err = vg_store_object_dump(langs, sn->languages, sizeof sn->languages);
	return err == VG_ERR_INVALID ? VG_ERR_IO : err;   /* a record we did not write */
}

static void
digest_key(const char *repository_id, const char *digest, char out[DIGEST_KEY_LEN])
{
	snprintf(out, DIGEST_KEY_LEN, "%s_%s", repository_id, digest);
}

static json_t *
version_json(const struct vg_threat_profile *p)
{
	return json_pack("{s:I, s:O, s:o, s:o}", "version", (json_int_t)p->version,
	    "content", p->content, "created_by", vg_store_json_str(p->created_by),
	    "created_at", vg_store_json_time(p->updated_at_us));
}

/* A new profile record with p as its first version. */
static json_t *
profile_json(const struct vg_threat_profile *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:[o]}", "id", p->id,
	    "project_id", p->project_id, "repository_id", p->repository_id, "name", p->name,
	    "latest_version", (json_int_t)p->latest_version,
	    "created_at", vg_store_json_time(p->created_at_us),
	    "updated_at", vg_store_json_time(p->updated_at_us),
	    "versions", version_json(p));
}

/*
 * The profile rec at version (0: the latest) into p; p->content is a new
 * reference when want_content, else NULL.  VG_ERR_NOT_FOUND when the
 * version does not exist.
 */
static enum vg_err
profile_from(json_t *rec, int64_t version, bool want_content, struct vg_threat_profile *p)
{
	json_t *versions = json_object_get(rec, "versions"), *v, *found = NULL;
	size_t i;
	enum vg_err err;

	memset(p, 0, sizeof *p);
	if ((err = vg_store_json_get_str(rec, "id", p->id, sizeof p->id)) ||
	    (err = vg_store_json_get_str(rec, "project_id", p->project_id, sizeof p->project_id)) ||
	    (err = vg_store_json_get_str(rec, "repository_id", p->repository_id,
	    sizeof p->repository_id)) ||
	    (err = vg_store_json_get_str(rec, "name", p->name, sizeof p->name)) ||
	    (err = vg_store_json_get_int(rec, "latest_version", &p->latest_version)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &p->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &p->updated_at_us)))
		return err;
	if (!json_is_array(versions))
		return VG_ERR_IO;
	if (version == 0)
		version = p->latest_version;
	json_array_foreach(versions, i, v)
		if (json_integer_value(json_object_get(v, "version")) == version)
			found = v;
	if (!found)
		return VG_ERR_NOT_FOUND;
	p->version = version;
	if ((err = vg_store_json_get_str(found, "created_by", p->created_by, sizeof p->created_by)))
		return err;
	if (!json_is_object(json_object_get(found, "content")))
		return VG_ERR_IO;
	if (want_content)
		p->content = json_incref(json_object_get(found, "content"));
	return VG_OK;
}

/* ---- projects ---- */

struct project_op {
	const struct vg_project *p;
	const char *id;
	int64_t now_us;
};

/* Under the locks of members and projects: the project, then its owner. */
static enum vg_err
do_project_create(struct vg_store_json_held *h, void *arg)
{
	struct project_op *op = arg;
	struct vg_member m;
	char key[MEMBER_KEY_LEN];
	json_t *user = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_get(h->db, C_USERS, op->p->owner_id, &user)) != VG_OK)
		return err;
	json_decref(user);
	memset(&m, 0, sizeof m);
	memcpy(m.project_id, op->p->id, sizeof m.project_id);
	memcpy(m.user_id, op->p->owner_id, sizeof m.user_id);
	memcpy(m.added_by, op->p->owner_id, sizeof m.added_by);
	vg_str_copy(m.role, sizeof m.role, "owner");
	m.created_at_us = op->now_us;
	member_key(m.project_id, m.user_id, key);
	if ((err = vg_store_json_put_new(vg_store_json_tx_of(h, C_PROJECTS), op->p->id,
	    project_json(op->p), true)) != VG_OK)
		return err;
	if ((err = vg_store_json_put_new(vg_store_json_tx_of(h, C_MEMBERS), key, member_json(&m),
	    true)) != VG_OK)
		vg_jsondb_tx_del(vg_store_json_tx_of(h, C_PROJECTS), op->p->id);
	return err;
}

static const struct vg_store_json_lock members_projects[] = {{C_MEMBERS, true}, {C_PROJECTS, true}};

static enum vg_err
json_project_create(struct vg_store *s, const struct vg_project *p, int64_t now_us)
{
	struct project_op op = {p, NULL, now_us};

	return vg_store_json_with_locks(s->jdb, members_projects, 2, do_project_create, &op);
}

static enum vg_err
json_project_get(struct vg_store *s, const char *id, struct vg_project *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_PROJECTS, id, &rec);

	if (err == VG_OK)
		err = project_from(rec, out);
	json_decref(rec);
	return err;
}

static enum vg_err
do_project_update(struct vg_jsondb_tx *tx, void *arg)
{
	struct project_op *op = arg;
	struct vg_project p;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(tx, op->p->id, &rec)) != VG_OK ||
	    (err = project_from(rec, &p)) != VG_OK)
		goto out;
	memcpy(p.name, op->p->name, sizeof p.name);
	memcpy(p.description, op->p->description, sizeof p.description);
	p.updated_at_us = op->now_us;
	err = vg_store_json_put_new(tx, p.id, project_json(&p), false);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_project_update(struct vg_store *s, const struct vg_project *p, int64_t now_us)
{
	struct project_op op = {p, NULL, now_us};

	return vg_jsondb_tx(s->jdb, C_PROJECTS, true, do_project_update, &op);
}

/* Delete every record of the held collection coll that keep() accepts;
 * the ids are the records' id_key members, or built by key_fn when it is
 * not NULL. */
static enum vg_err
del_where(struct vg_store_json_held *h, const char *coll, bool (*keep)(json_t *, void *),
    void *arg, void (*key_fn)(json_t *rec, char *out, size_t size), const char *id_key)
{
	struct vg_jsondb_tx *tx = vg_store_json_tx_of(h, coll);
	json_t *all = NULL, *rec;
	char key[256];
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, keep, arg, &all)) != VG_OK)
		return err;
	json_array_foreach(all, i, rec) {
		if (key_fn)
			key_fn(rec, key, sizeof key);
		else if (vg_str_copy(key, sizeof key, vg_store_json_peek(rec, id_key)) != VG_OK)
			key[0] = '\0';
		err = vg_jsondb_tx_del(tx, key);
		if (err != VG_OK && err != VG_ERR_NOT_FOUND)
			break;
		err = VG_OK;
	}
	json_decref(all);
	return err;
}

static void
member_rec_key(json_t *rec, char *out, size_t size)
{
	snprintf(out, size, "%s_%s", vg_store_json_peek(rec, "project_id"),
	    vg_store_json_peek(rec, "user_id"));
}

/* The id of a digest index entry, from the entry (or its snapshot). */
static void
digest_rec_key(json_t *rec, char *out, size_t size)
{
	snprintf(out, size, "%s_%s", vg_store_json_peek(rec, "repository_id"),
	    vg_store_json_peek(rec, "digest"));
}

/* Under every lock below a project: children first, the project last. */
static enum vg_err
do_project_delete(struct vg_store_json_held *h, void *arg)
{
	struct project_op *op = arg;
	json_t *rec = NULL, *repos = NULL, *r;
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_PROJECTS), op->id, &rec)) != VG_OK)
		goto out;
	if ((err = vg_jsondb_tx_list(vg_store_json_tx_of(h, C_REPOS), of_project, (void *)op->id,
	    &repos)) != VG_OK)
		goto out;
	json_array_foreach(repos, i, r) {
		const char *rid = vg_store_json_peek(r, "id");

		if ((err = del_where(h, C_DIGESTS, of_repository, (void *)rid, digest_rec_key,
		    NULL)) != VG_OK ||
		    (err = del_where(h, C_SNAPS, of_repository, (void *)rid, NULL, "id")) != VG_OK)
			goto out;
	}
	if ((err = del_where(h, C_PROFILES, of_project, (void *)op->id, NULL, "id")) != VG_OK ||
	    (err = del_where(h, C_REPOS, of_project, (void *)op->id, NULL, "id")) != VG_OK ||
	    (err = del_where(h, C_MEMBERS, of_project, (void *)op->id, member_rec_key,
	    NULL)) != VG_OK)
		goto out;
	err = vg_jsondb_tx_del(vg_store_json_tx_of(h, C_PROJECTS), op->id);
out:
	json_decref(repos);
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock project_tree[] = {
	{C_MEMBERS, true}, {C_PROJECTS, true}, {C_REPOS, true},
	{C_DIGESTS, true}, {C_SNAPS, true}, {C_PROFILES, true},
};

static enum vg_err
json_project_delete(struct vg_store *s, const char *id)
{
	struct project_op op = {NULL, id, 0};
	json_t *repos = NULL, *r;
	size_t i;
	enum vg_err err;

	/* The repositories' scans go after the project (as in
	 * vg_store_json_purge_scans); which repositories, is read first. */
	if ((err = vg_jsondb_list(s->jdb, C_REPOS, of_project, (void *)id, &repos)) != VG_OK)
		return err;
	err = vg_store_json_with_locks(s->jdb, project_tree,
	    sizeof project_tree / sizeof project_tree[0],
	    do_project_delete, &op);
	json_array_foreach(repos, i, r)
		if (err == VG_OK)
			err = vg_store_json_purge_scans(s->jdb, vg_store_json_peek(r, "id"));
	json_decref(repos);
	return err;
}

/* ---- the roll-up ---- */

/* Every record the roll-ups of a page read, listed once. */
struct rollup_src {
	json_t *repos, *scans, *findings;
};

static void
rollup_src_free(struct rollup_src *src)
{
	json_decref(src->repos);
	json_decref(src->scans);
	json_decref(src->findings);
}

static enum vg_err
rollup_src_load(struct vg_store *s, struct rollup_src *src)
{
	enum vg_err err;

	memset(src, 0, sizeof *src);
	if ((err = vg_jsondb_list(s->jdb, C_REPOS, NULL, NULL, &src->repos)) != VG_OK ||
	    (err = vg_jsondb_list(s->jdb, C_SCANS, NULL, NULL, &src->scans)) != VG_OK ||
	    (err = vg_jsondb_list(s->jdb, C_FINDINGS, NULL, NULL, &src->findings)) != VG_OK)
		rollup_src_free(src);
	return err;
}

/* Whether id is one of ids[0..n). */
static bool
among(const char *id, const char *const *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(id, ids[i]) == 0)
			return true;
	return false;
}

/* A finding of the project, keyed for grouping by fingerprint. */
struct finding_ref {
	const char *repo, *fingerprint, *id, *severity, *status;
	int64_t at_us;
};

/* By repository and fingerprint, then newest first (created_at, id). */
static int
finding_cmp(const void *a, const void *b)
{
	const struct finding_ref *x = a, *y = b;
	int c;

	if ((c = strcmp(x->repo, y->repo)) != 0 || (c = strcmp(x->fingerprint, y->fingerprint)))
		return c;
	return vg_store_json_pos_cmp(x->at_us, x->id, y->at_us, y->id);
}

/*
 * The roll-up of project_id from src: its repositories; the newest scan
 * of any of them (by created_at, then id); its open findings by
 * severity, each (repository, fingerprint) counted once as its newest
 * row says, the way the pg backend counts.  Scans and findings belong to
 * a later part of the store: records without the members read here are
 * skipped, and a finding without a fingerprint stands alone.
 */
static enum vg_err
rollup_of(const struct rollup_src *src, const char *project_id, struct vg_project_rollup *out)
{
	const char **ids = NULL;
	const char *last_id = "";
	struct finding_ref *fs = NULL;
	json_t *rec;
	size_t i, n = 0, nf = 0, k;
	int64_t at;
	enum vg_err err = VG_ERR_NOMEM;

	memset(out, 0, sizeof *out);
	if (!(ids = calloc(json_array_size(src->repos) + 1, sizeof *ids)) ||
	    !(fs = calloc(json_array_size(src->findings) + 1, sizeof *fs)))
		goto out;
	json_array_foreach(src->repos, i, rec)
		if (vg_store_json_field_is(rec, "project_id", project_id))
			ids[n++] = vg_store_json_peek(rec, "id");
	out->repositories = (int64_t)n;
	json_array_foreach(src->scans, i, rec) {
		if (!among(vg_store_json_peek(rec, "repository_id"), ids, n) ||
		    vg_store_json_get_time(rec, "created_at", &at) != VG_OK || at == 0)
			continue;
		if (out->last_scan_at_us == 0 ||
		    vg_store_json_pos_cmp(at, vg_store_json_peek(rec, "id"), out->last_scan_at_us,
		    last_id) < 0) {
			out->last_scan_at_us = at;
			last_id = vg_store_json_peek(rec, "id");
			vg_str_copy(out->last_scan_status, sizeof out->last_scan_status,
			    vg_store_json_peek(rec, "status"));
		}
	}
	json_array_foreach(src->findings, i, rec) {
		struct finding_ref f = {vg_store_json_peek(rec, "repository_id"),
		    vg_store_json_peek(rec, "fingerprint"), vg_store_json_peek(rec, "id"),
		    vg_store_json_peek(rec, "severity"), vg_store_json_peek(rec, "status"), 0};

		if (!among(f.repo, ids, n) ||
		    vg_store_json_get_time(rec, "created_at", &f.at_us) != VG_OK)
			continue;
		if (!f.fingerprint[0])
			f.fingerprint = f.id;
		fs[nf++] = f;
	}
	qsort(fs, nf, sizeof *fs, finding_cmp);
	for (i = 0; i < nf; i++) {
		if (i > 0 && !strcmp(fs[i].repo, fs[i - 1].repo) &&
		    !strcmp(fs[i].fingerprint, fs[i - 1].fingerprint))
			continue;   /* an older row of a fingerprint already counted */
		if (strcmp(fs[i].status, "open") != 0)
			continue;
		for (k = 0; k < VG_SEVERITY_COUNT; k++)
			if (!strcmp(fs[i].severity, vg_severity_names[k]))
				out->open_findings[k]++;
	}
	err = VG_OK;
out:
	free(fs);
	free(ids);
	return err;
}

static enum vg_err
json_project_rollup(struct vg_store *s, const char *id, struct vg_project_rollup *out)
{
	struct rollup_src src;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_get(s->jdb, C_PROJECTS, id, &rec)) != VG_OK)
		return err;
	json_decref(rec);
	if ((err = rollup_src_load(s, &src)) != VG_OK)
		return err;
	err = rollup_of(&src, id, out);
	rollup_src_free(&src);
	return err;
}

/* ---- project list ---- */

static int
entry_cmp(const void *a, const void *b)
{
	const struct vg_project_entry *x = a, *y = b;

	return vg_store_json_pos_cmp(x->project.created_at_us, x->project.id,
	    y->project.created_at_us, y->project.id);
}

/*
 * The user's memberships give the projects and roles; the projects are
 * read, sorted and cut to the page, and only the page gets its roll-up.
 */
static enum vg_err
json_project_list(struct vg_store *s, const char *user_id, const struct vg_store_pos *pos,
    int n, struct vg_project_entry **out, size_t *count)
{
	json_t *mine = NULL, *m, *rec = NULL;
	struct vg_project_entry *es = NULL;
	struct rollup_src src = {NULL, NULL, NULL};
	size_t i, k = 0;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_MEMBERS, of_user, (void *)user_id, &mine)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(es = calloc(json_array_size(mine) + 1, sizeof *es)))
		goto out;
	json_array_foreach(mine, i, m) {
		err = vg_jsondb_get(s->jdb, C_PROJECTS, vg_store_json_peek(m, "project_id"), &rec);
		if (err == VG_ERR_NOT_FOUND)
			continue;   /* deleted between the two reads */
		if (err != VG_OK || (err = project_from(rec, &es[k].project)) != VG_OK ||
		    (err = vg_store_json_get_str(m, "role", es[k].role,
		    sizeof es[k].role)) != VG_OK)
			goto out;
		json_decref(rec);
		rec = NULL;
		if (vg_store_json_after(es[k].project.created_at_us, es[k].project.id, pos))
			k++;
	}
	qsort(es, k, sizeof *es, entry_cmp);
	if (k > (size_t)n)
		k = (size_t)n;
	if (k && (err = rollup_src_load(s, &src)) != VG_OK)
		goto out;
	for (i = 0; i < k; i++)
		if ((err = rollup_of(&src, es[i].project.id, &es[i].rollup)) != VG_OK)
			goto out;
	*out = es;
	*count = k;
	es = NULL;
	err = VG_OK;
out:
	rollup_src_free(&src);
	free(es);
	json_decref(rec);
	json_decref(mine);
	return err;
}

static bool
owner_of(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "user_id", arg) &&
	    vg_store_json_field_is(rec, "role", "owner");
}

static enum vg_err
json_project_count_owned(struct vg_store *s, const char *user_id, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_MEMBERS, owner_of, (void *)user_id, count);
}

/* ---- members ---- */

static enum vg_err
json_member_role(struct vg_store *s, const char *project_id, const char *user_id, char role[8])
{
	char key[MEMBER_KEY_LEN];
	json_t *rec = NULL;
	enum vg_err err;

	member_key(project_id, user_id, key);
	if ((err = vg_jsondb_get(s->jdb, C_MEMBERS, key, &rec)) == VG_OK)
		err = vg_store_json_get_str(rec, "role", role, 8);
	json_decref(rec);
	return err;
}

static bool
owner_in(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "project_id", arg) &&
	    vg_store_json_field_is(rec, "role", "owner");
}

/* How many owners project_id has, under the held members lock. */
static enum vg_err
owners(struct vg_jsondb_tx *tx, const char *project_id, size_t *n)
{
	json_t *all = NULL;
	enum vg_err err = vg_jsondb_tx_list(tx, owner_in, (void *)project_id, &all);

	*n = json_array_size(all);
	json_decref(all);
	return err;
}

struct member_op {
	struct vg_member *m;
	const char *project_id, *user_id;
	int64_t now_us;
	bool created;
};

/* Under the locks of members and projects (shared): add or change. */
static enum vg_err
do_member_put(struct vg_store_json_held *h, void *arg)
{
	struct member_op *op = arg;
	struct vg_jsondb_tx *mtx = vg_store_json_tx_of(h, C_MEMBERS);
	struct vg_member cur;
	char key[MEMBER_KEY_LEN];
	json_t *rec = NULL;
	size_t n;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_PROJECTS), op->m->project_id,
	    &rec)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	if ((err = vg_jsondb_get(h->db, C_USERS, op->m->user_id, &rec)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	member_key(op->m->project_id, op->m->user_id, key);
	err = vg_jsondb_tx_get(mtx, key, &rec);
	if (err == VG_ERR_NOT_FOUND) {
		op->m->created_at_us = op->now_us;
		op->created = true;
		err = vg_store_json_put_new(mtx, key, member_json(op->m), true);
		goto out;
	}
	if (err != VG_OK || (err = member_from(rec, &cur)) != VG_OK)
		goto out;
	if (strcmp(cur.role, "owner") == 0 && strcmp(op->m->role, "owner") != 0) {
		if ((err = owners(mtx, cur.project_id, &n)) != VG_OK)
			goto out;
		err = VG_ERR_CONFLICT;
		if (n <= 1)
			goto out;   /* the last owner stays one */
	}
	memcpy(cur.role, op->m->role, sizeof cur.role);
	if ((err = vg_store_json_put_new(mtx, key, member_json(&cur), false)) == VG_OK)
		*op->m = cur;
out:
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock members_projects_shared[] = {
	{C_MEMBERS, true}, {C_PROJECTS, false},
};

static enum vg_err
json_member_put(struct vg_store *s, struct vg_member *m, int64_t now_us, bool *created)
{
	struct member_op op = {m, NULL, NULL, now_us, false};
	enum vg_err err = vg_store_json_with_locks(s->jdb, members_projects_shared, 2,
	    do_member_put, &op);

	*created = op.created;
	if (err == VG_OK)
		err = member_user(s, m);
	return err;
}

static enum vg_err
do_member_delete(struct vg_jsondb_tx *tx, void *arg)
{
	struct member_op *op = arg;
	char key[MEMBER_KEY_LEN];
	json_t *rec = NULL;
	size_t n;
	enum vg_err err;

	member_key(op->project_id, op->user_id, key);
	if ((err = vg_jsondb_tx_get(tx, key, &rec)) != VG_OK)
		goto out;
	if (vg_store_json_field_is(rec, "role", "owner")) {
		if ((err = owners(tx, op->project_id, &n)) != VG_OK)
			goto out;
		err = VG_ERR_CONFLICT;
		if (n <= 1)
			goto out;
	}
	err = vg_jsondb_tx_del(tx, key);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_member_delete(struct vg_store *s, const char *project_id, const char *user_id)
{
	struct member_op op = {NULL, project_id, user_id, 0, false};

	return vg_jsondb_tx(s->jdb, C_MEMBERS, true, do_member_delete, &op);
}

static enum vg_err
json_member_get(struct vg_store *s, const char *project_id, const char *user_id,
    struct vg_member *out)
{
	char key[MEMBER_KEY_LEN];
	json_t *rec = NULL;
	enum vg_err err;

	member_key(project_id, user_id, key);
	if ((err = vg_jsondb_get(s->jdb, C_MEMBERS, key, &rec)) == VG_OK &&
	    (err = member_from(rec, out)) == VG_OK)
		err = member_user(s, out);
	json_decref(rec);
	return err;
}

static enum vg_err
json_member_list(struct vg_store *s, const char *project_id, struct vg_member **out,
    size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_member *ms = NULL;
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_MEMBERS, of_project, (void *)project_id,
	    &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(ms = calloc(json_array_size(all) + 1, sizeof *ms)))
		goto out;
	json_array_foreach(all, i, rec)
		if ((err = member_from(rec, &ms[i])) != VG_OK ||
		    (err = member_user(s, &ms[i])) != VG_OK)
			goto out;
	*out = ms;
	*count = json_array_size(all);
	ms = NULL;
	err = VG_OK;
out:
	free(ms);
	json_decref(all);
	return err;
}

/* ---- repositories ---- */

static enum vg_err
do_repository_create(struct vg_store_json_held *h, void *arg)
{
	const struct vg_repository *r = arg;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_PROJECTS), r->project_id,
	    &rec)) != VG_OK)
		return err;
	json_decref(rec);
	return vg_store_json_put_new(vg_store_json_tx_of(h, C_REPOS), r->id, repository_json(r),
	    true);
}

static const struct vg_store_json_lock projects_repos[] = {{C_PROJECTS, false}, {C_REPOS, true}};

static enum vg_err
json_repository_create(struct vg_store *s, const struct vg_repository *r)
{
	return vg_store_json_with_locks(s->jdb, projects_repos, 2, do_repository_create, (void *)r);
}

static enum vg_err
json_repository_get(struct vg_store *s, const char *id, struct vg_repository *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_REPOS, id, &rec);

	if (err == VG_OK)
		err = repository_from(rec, out);
	json_decref(rec);
	/* read after the record: no older than the state the read saw */
	if (err == VG_OK)
		out->findings_version = vg_store_json_findex_version(s->jdb, out->id);
	return err;
}

static int
repository_cmp(const void *a, const void *b)
{
	const struct vg_repository *x = a, *y = b;

	return vg_store_json_pos_cmp(x->created_at_us, x->id, y->created_at_us, y->id);
}

static enum vg_err
json_repository_list(struct vg_store *s, const char *project_id, const struct vg_store_pos *pos,
    int n, struct vg_repository **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_repository *rs = NULL;
	size_t i, k = 0;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_REPOS, of_project, (void *)project_id, &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(rs = calloc(json_array_size(all) + 1, sizeof *rs)))
		goto out;
	json_array_foreach(all, i, rec) {
		if ((err = repository_from(rec, &rs[k])) != VG_OK)
			goto out;
		if (vg_store_json_after(rs[k].created_at_us, rs[k].id, pos))
			k++;
	}
	qsort(rs, k, sizeof *rs, repository_cmp);
	*out = rs;
	*count = k < (size_t)n ? k : (size_t)n;
	rs = NULL;
	err = VG_OK;
out:
	free(rs);
	json_decref(all);
	return err;
}

struct repository_op {
	const struct vg_repository *r;
	const char *id;
	const struct vg_ingest_change *c;
	struct vg_repository *out;
	int64_t now_us;
};

static enum vg_err
do_repository_update(struct vg_jsondb_tx *tx, void *arg)
{
	struct repository_op *op = arg;
	struct vg_repository r;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(tx, op->r->id, &rec)) != VG_OK ||
	    (err = repository_from(rec, &r)) != VG_OK)
		goto out;
	memcpy(r.name, op->r->name, sizeof r.name);
	memcpy(r.git_url, op->r->git_url, sizeof r.git_url);
	memcpy(r.git_ref, op->r->git_ref, sizeof r.git_ref);
	r.updated_at_us = op->now_us;
	err = vg_store_json_put_new(tx, r.id, repository_json(&r), false);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_repository_update(struct vg_store *s, const struct vg_repository *r, int64_t now_us)
{
	struct repository_op op = {r, NULL, NULL, NULL, now_us};

	return vg_jsondb_tx(s->jdb, C_REPOS, true, do_repository_update, &op);
}

/* Under the locks of repositories, the snapshot index, snapshots and
 * profiles: the repository's snapshots and profiles, then itself. */
static enum vg_err
do_repository_delete(struct vg_store_json_held *h, void *arg)
{
	struct repository_op *op = arg;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), op->id, &rec)) != VG_OK)
		goto out;
	if ((err = del_where(h, C_DIGESTS, of_repository, (void *)op->id, digest_rec_key,
	    NULL)) != VG_OK ||
	    (err = del_where(h, C_SNAPS, of_repository, (void *)op->id, NULL, "id")) != VG_OK ||
	    (err = del_where(h, C_PROFILES, of_repository, (void *)op->id, NULL, "id")) != VG_OK)
		goto out;
	err = vg_jsondb_tx_del(vg_store_json_tx_of(h, C_REPOS), op->id);
out:
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock repository_tree[] = {
	{C_REPOS, true}, {C_DIGESTS, true}, {C_SNAPS, true}, {C_PROFILES, true},
};

static enum vg_err
json_repository_delete(struct vg_store *s, const char *id)
{
	struct repository_op op = {NULL, id, NULL, NULL, 0};
	enum vg_err err;

	err = vg_store_json_with_locks(s->jdb, repository_tree, 4, do_repository_delete, &op);
	return err == VG_OK ? vg_store_json_purge_scans(s->jdb, id) : err;
}

static enum vg_err
json_repository_count(struct vg_store *s, const char *project_id, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_REPOS, of_project, (void *)project_id, count);
}

/*
 * One ingest transition under the locks of repositories and (shared)
 * snapshots, so the snapshot named is checked against what is stored.
 */
static enum vg_err
do_set_ingest(struct vg_store_json_held *h, void *arg)
{
	struct repository_op *op = arg;
	const struct vg_ingest_change *c = op->c;
	struct vg_repository r;
	json_t *rec = NULL, *snap = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), op->id, &rec)) != VG_OK ||
	    (err = repository_from(rec, &r)) != VG_OK)
		goto out;
	err = VG_ERR_CONFLICT;
	if (c->if_not && strcmp(r.ingest_status, c->if_not) == 0)
		goto out;
	if (c->snapshot_id) {
		err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_SNAPS), c->snapshot_id, &snap);
		if (err == VG_ERR_NOT_FOUND ||
		    (err == VG_OK && !vg_store_json_field_is(snap, "repository_id", r.id)))
			err = VG_ERR_INVALID;   /* not a snapshot of this repository */
		if (err != VG_OK)
			goto out;
		memcpy(r.current_snapshot_id, c->snapshot_id, sizeof r.current_snapshot_id);
	}
	vg_str_copy(r.ingest_status, sizeof r.ingest_status, c->status);
	vg_str_copy(r.ingest_error_code, sizeof r.ingest_error_code, c->error_code);
	vg_str_copy(r.ingest_error_message, sizeof r.ingest_error_message, c->error_message);
	r.updated_at_us = c->now_us;
	if ((err = vg_store_json_put_new(vg_store_json_tx_of(h, C_REPOS), r.id, repository_json(&r),
	    false)) == VG_OK)
		*op->out = r;
out:
	json_decref(snap);
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock repos_snaps_shared[] = {{C_REPOS, true}, {C_SNAPS, false}};

static enum vg_err
json_repository_set_ingest(struct vg_store *s, const char *id, const struct vg_ingest_change *c,
    struct vg_repository *out)
{
	struct repository_op op = {NULL, id, c, out, 0};

	return vg_store_json_with_locks(s->jdb, repos_snaps_shared, 2, do_set_ingest, &op);
}

/* ---- snapshots ---- */

struct snapshot_op {
	struct vg_snapshot *snap;
	bool existed;
};

/*
 * Under the locks of repositories (shared), the digest index and the
 * snapshots: find the repository's snapshot with this digest, or record
 * this one.  The index entry is written first, so a crash in between
 * leaves an entry naming no snapshot, which the next create replaces.
 */
static enum vg_err
do_snapshot_create(struct vg_store_json_held *h, void *arg)
{
	struct snapshot_op *op = arg;
	struct vg_snapshot *snap = op->snap;
	struct vg_jsondb_tx *itx = vg_store_json_tx_of(h, C_DIGESTS),
	    *stx = vg_store_json_tx_of(h, C_SNAPS);
	char key[DIGEST_KEY_LEN];
	json_t *rec = NULL, *idx = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), snap->repository_id,
	    &rec)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	digest_key(snap->repository_id, snap->digest, key);
	err = vg_jsondb_tx_get(itx, key, &idx);
	if (err == VG_OK) {
		err = vg_jsondb_tx_get(stx, vg_store_json_peek(idx, "snapshot_id"), &rec);
		if (err == VG_OK) {
			if ((err = snapshot_from(rec, snap)) == VG_OK)
				op->existed = true;
			goto out;
		}
		if (err != VG_ERR_NOT_FOUND && err != VG_ERR_INVALID)
			goto out;
	} else if (err != VG_ERR_NOT_FOUND) {
		goto out;
	}
	err = VG_ERR_NOMEM;
	if (!(rec = json_pack("{s:s, s:s, s:s}", "snapshot_id", snap->id,
	    "repository_id", snap->repository_id, "digest", snap->digest)))
		goto out;
	if ((err = vg_jsondb_tx_put(itx, key, rec)) != VG_OK)
		goto out;
	if ((err = vg_store_json_put_new(stx, snap->id, snapshot_json(snap), true)) != VG_OK)
		vg_jsondb_tx_del(itx, key);
out:
	json_decref(idx);
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock snapshot_locks[] = {
	{C_REPOS, false}, {C_DIGESTS, true}, {C_SNAPS, true},
};

static enum vg_err
json_snapshot_create(struct vg_store *s, struct vg_snapshot *snap, bool *existed)
{
	struct snapshot_op op = {snap, false};
	enum vg_err err = vg_store_json_with_locks(s->jdb, snapshot_locks, 3, do_snapshot_create,
	    &op);

	*existed = op.existed;
	return err;
}

static enum vg_err
json_snapshot_get(struct vg_store *s, const char *id, struct vg_snapshot *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_SNAPS, id, &rec);

	if (err == VG_OK)
		err = snapshot_from(rec, out);
	json_decref(rec);
	return err;
}

static int
snapshot_cmp(const void *a, const void *b)
{
	const struct vg_snapshot *x = a, *y = b;

	return vg_store_json_pos_cmp(x->created_at_us, x->id, y->created_at_us, y->id);
}

static enum vg_err
json_snapshot_list(struct vg_store *s, const char *repository_id, const struct vg_store_pos *pos,
    int n, struct vg_snapshot **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_snapshot *ss = NULL;
	size_t i, k = 0;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_SNAPS, of_repository, (void *)repository_id,
	    &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(ss = calloc(json_array_size(all) + 1, sizeof *ss)))
		goto out;
	json_array_foreach(all, i, rec) {
		if ((err = snapshot_from(rec, &ss[k])) != VG_OK)
			goto out;
		if (vg_store_json_after(ss[k].created_at_us, ss[k].id, pos))
			k++;
	}
	qsort(ss, k, sizeof *ss, snapshot_cmp);
	*out = ss;
	*count = k < (size_t)n ? k : (size_t)n;
	ss = NULL;
	err = VG_OK;
out:
	free(ss);
	json_decref(all);
	return err;
}

static enum vg_err
json_snapshot_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_SNAPS, of_repository, (void *)repository_id, count);
}

static bool
names_key(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "storage_key", arg);
}

static enum vg_err
json_snapshot_key_used(struct vg_store *s, const char *storage_key, bool *used)
{
	int64_t n = 0;
	enum vg_err err = vg_store_json_count(s->jdb, C_SNAPS, names_key, (void *)storage_key, &n);

	*used = n > 0;
	return err;
}

/* ---- threat profiles ---- */

/* Under the locks of repositories (shared) and profiles: the profile
 * takes its project from its repository. */
static enum vg_err
do_profile_create(struct vg_store_json_held *h, void *arg)
{
	struct vg_threat_profile *p = arg;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), p->repository_id,
	    &rec)) != VG_OK)
		return err;
	err = vg_store_json_get_str(rec, "project_id", p->project_id, sizeof p->project_id);
	json_decref(rec);
	if (err != VG_OK)
		return err;
	return vg_store_json_put_new(vg_store_json_tx_of(h, C_PROFILES), p->id, profile_json(p),
	    true);
}

static const struct vg_store_json_lock repos_profiles[] = {{C_REPOS, false}, {C_PROFILES, true}};

static enum vg_err
json_threat_profile_create(struct vg_store *s, struct vg_threat_profile *p)
{
	return vg_store_json_with_locks(s->jdb, repos_profiles, 2, do_profile_create, p);
}

static enum vg_err
json_threat_profile_get(struct vg_store *s, const char *id, int64_t version,
    struct vg_threat_profile *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_PROFILES, id, &rec);

	if (err == VG_OK)
		err = profile_from(rec, version, true, out);
	json_decref(rec);
	return err;
}

struct profile_op {
	struct vg_threat_profile *p;
	int64_t now_us;
};

/* The next version, under the profiles lock: numbers never repeat. */
static enum vg_err
do_add_version(struct vg_jsondb_tx *tx, void *arg)
{
	struct profile_op *op = arg;
	struct vg_threat_profile cur, *p = op->p;
	json_t *rec = NULL, *v;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(tx, p->id, &rec)) != VG_OK ||
	    (err = profile_from(rec, 0, false, &cur)) != VG_OK)
		goto out;
	cur.latest_version++;
	cur.version = cur.latest_version;
	cur.updated_at_us = op->now_us;
	memcpy(cur.name, p->name, sizeof cur.name);
	memcpy(cur.created_by, p->created_by, sizeof cur.created_by);
	cur.content = p->content;
	err = VG_ERR_NOMEM;
	if (!(v = version_json(&cur)) ||
	    json_array_append_new(json_object_get(rec, "versions"), v) != 0 ||
	    json_object_set_new(rec, "latest_version", json_integer(cur.latest_version)) != 0 ||
	    json_object_set_new(rec, "name", json_string(cur.name)) != 0 ||
	    json_object_set_new(rec, "updated_at", vg_store_json_time(cur.updated_at_us)) != 0)
		goto out;
	if ((err = vg_jsondb_tx_put(tx, p->id, rec)) == VG_OK)
		*p = cur;   /* content: still the caller's */
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_threat_profile_add_version(struct vg_store *s, struct vg_threat_profile *p, int64_t now_us)
{
	struct profile_op op = {p, now_us};

	return vg_jsondb_tx(s->jdb, C_PROFILES, true, do_add_version, &op);
}

static enum vg_err
json_threat_profile_list(struct vg_store *s, const char *repository_id,
    const struct vg_store_pos *pos, int n, struct vg_threat_profile **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_store_json_keyed *keys = NULL;   /* paged before contents are read */
	struct vg_threat_profile *ps = NULL;
	size_t i, k = 0, done = 0;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_PROFILES, of_repository, (void *)repository_id,
	    &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(keys = calloc(json_array_size(all) + 1, sizeof *keys)) ||
	    !(ps = calloc(json_array_size(all) + 1, sizeof *ps)))
		goto out;
	json_array_foreach(all, i, rec) {
		struct vg_store_json_keyed kk = {0, vg_store_json_peek(rec, "id"), rec};

		if ((err = vg_store_json_get_time(rec, "created_at", &kk.at_us)) != VG_OK)
			goto out;
		if (vg_store_json_after(kk.at_us, kk.id, pos))
			keys[k++] = kk;
	}
	qsort(keys, k, sizeof *keys, vg_store_json_keyed_cmp);
	if (k > (size_t)n)
		k = (size_t)n;
	for (done = 0; done < k; done++)
		if ((err = profile_from(keys[done].rec, 0, true, &ps[done])) != VG_OK) {
			if (err == VG_ERR_NOT_FOUND)
				err = VG_ERR_IO;   /* its latest version is missing */
			goto out;
		}
	*out = ps;
	*count = k;
	ps = NULL;
	err = VG_OK;
out:
	for (i = 0; ps && i <= done && i < k; i++)
		vg_threat_profile_clear(&ps[i]);
	free(ps);
	free(keys);
	json_decref(all);
	return err;
}

static enum vg_err
json_threat_profile_count(struct vg_store *s, const char *repository_id, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_PROFILES, of_repository, (void *)repository_id, count);
}

const struct vg_store_sources_ops vg_store_json_sources_ops = {
	.project_create = json_project_create,
	.project_get = json_project_get,
	.project_update = json_project_update,
	.project_delete = json_project_delete,
	.project_list = json_project_list,
	.project_count_owned = json_project_count_owned,
	.project_rollup = json_project_rollup,
	.member_role = json_member_role,
	.member_put = json_member_put,
	.member_delete = json_member_delete,
	.member_get = json_member_get,
	.member_list = json_member_list,
	.repository_create = json_repository_create,
	.repository_get = json_repository_get,
	.repository_list = json_repository_list,
	.repository_update = json_repository_update,
	.repository_delete = json_repository_delete,
	.repository_count = json_repository_count,
	.repository_set_ingest = json_repository_set_ingest,
	.snapshot_create = json_snapshot_create,
	.snapshot_get = json_snapshot_get,
	.snapshot_list = json_snapshot_list,
	.snapshot_count = json_snapshot_count,
	.snapshot_key_used = json_snapshot_key_used,
	.threat_profile_create = json_threat_profile_create,
	.threat_profile_get = json_threat_profile_get,
	.threat_profile_add_version = json_threat_profile_add_version,
	.threat_profile_list = json_threat_profile_list,
	.threat_profile_count = json_threat_profile_count,
};
