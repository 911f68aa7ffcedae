/*
 * test_store_sources.c - the store contract suite for projects, members,
 * repositories, snapshots and threat profiles: one table of cases run
 * against the backend named by VEGA_TEST_BACKEND (json or postgres).
 *
 * Backend choice and setup as in test_store.c: VEGA_TEST_BACKEND, else
 * VEGA_PERSISTENCE_BACKEND, else json in a fresh temporary VEGA_DATA_DIR;
 * postgres needs VEGA_TEST_DATABASE_URL and VEGA_SRCDIR (it migrates
 * first) and is run by tests/e2e/store-sources-postgres.e2e against a
 * throwaway cluster.  Every case makes its own users and projects, so the
 * cases do not depend on each other's leftovers.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/id.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/jsondb.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store_backend.h"
#include "vt.h"

#define NPROCS 8
#define SEC 1000000LL

static const char *backend;        /* "json" or "postgres" */
static char tmpdir[256];           /* json: the data dir */
static int64_t t_base;             /* a fixed past time cases count from */

/* ---- helpers ---- */

/* VT_EQ_STR for fields of any size: the message shows at most 200 bytes
 * of each side, so it is never truncated mid-way unannounced. */
#define EQ_STR(got, want, name) eq_str((got), (want), (name), __FILE__, __LINE__)

static void
eq_str(const char *got, const char *want, const char *name, const char *file, int line)
{
	char msg[512];
	int ok = (got && want) ? strcmp(got, want) == 0 : got == want;

	snprintf(msg, sizeof msg, "got \"%.200s\", want \"%.200s\"", got ? got : "(null)",
	    want ? want : "(null)");
	vt_check(ok, file, line, name, msg);
}

/* A user with a fresh e-mail ("<tag>-<random>@Example.ORG"). */
static void
make_user(struct vg_store *s, const char *tag, struct vg_user *u)
{
	char id[VG_UUID_LEN + 1];

	memset(u, 0, sizeof *u);
	vg_uuid_new(id);
	snprintf(u->email, sizeof u->email, "%s-%.8s@Example.ORG", tag, id);
	snprintf(u->display_name, sizeof u->display_name, "User %s", tag);
	u->groups = VG_GROUP_USER;
	if (vg_store_user_create(s, u) != VG_OK)
		VT_OK(0, "create a user for the case");
}

static enum vg_err
make_project(struct vg_store *s, const char *owner, const char *name, int64_t at,
    struct vg_project *p)
{
	memset(p, 0, sizeof *p);
	vg_str_copy(p->name, sizeof p->name, name);
	vg_str_copy(p->description, sizeof p->description, "what it is for");
	vg_str_copy(p->owner_id, sizeof p->owner_id, owner);
	p->created_at_us = at;
	return vg_store_project_create(s, p);
}

static enum vg_err
make_repo(struct vg_store *s, const char *project, const char *name, int64_t at,
    struct vg_repository *r)
{
	memset(r, 0, sizeof *r);
	vg_str_copy(r->project_id, sizeof r->project_id, project);
	vg_str_copy(r->name, sizeof r->name, name);
	vg_str_copy(r->source_type, sizeof r->source_type, "upload");
	r->created_at_us = at;
	return vg_store_repository_create(s, r);
}

static void
digest_n(unsigned n, char out[65])
{
	snprintf(out, 65, "%064x", n);
}

static enum vg_err
make_snapshot(struct vg_store *s, const char *repo, unsigned n, int64_t at,
    struct vg_snapshot *sn, bool *existed)
{
	memset(sn, 0, sizeof *sn);
	vg_str_copy(sn->repository_id, sizeof sn->repository_id, repo);
	digest_n(n, sn->digest);
	snprintf(sn->storage_key, sizeof sn->storage_key, "snapshots/%s.tar", sn->digest);
	snprintf(sn->manifest_key, sizeof sn->manifest_key, "snapshots/%s.json", sn->digest);
	vg_str_copy(sn->format, sizeof sn->format, "tar.gz");
	sn->file_count = 3;
	sn->total_bytes = 1234;
	vg_str_copy(sn->languages, sizeof sn->languages, "{\"c\":2,\"python\":1}");
	sn->created_at_us = at;
	return vg_store_snapshot_create(s, sn, existed);
}

static enum vg_err
make_profile(struct vg_store *s, const char *repo, const char *name, int64_t at,
    json_t *content, struct vg_threat_profile *p)
{
	memset(p, 0, sizeof *p);
	vg_str_copy(p->repository_id, sizeof p->repository_id, repo);
	vg_str_copy(p->name, sizeof p->name, name);
	p->content = content;
	p->created_at_us = at;
	return vg_store_threat_profile_create(s, p);
}

static void
upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

/* A (created_at, id) pair, to compute the order a list must have. */
struct key {
	int64_t at;
	char id[VG_UUID_LEN + 1];
};

static int
key_newest_first(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->at != y->at)
		return x->at > y->at ? -1 : 1;
	return -strcmp(x->id, y->id);
}

/*
 * One page of some list: fill got[*n...] with the keys of its items and
 * return the list's error; *next is the cursor it handed back.
 */
typedef enum vg_err (*page_fn)(struct vg_store *s, const char *parent, const char *cursor,
    int limit, struct key *got, size_t *n, size_t max, char **next);

static enum vg_err
page_projects(struct vg_store *s, const char *parent, const char *cursor, int limit,
    struct key *got, size_t *n, size_t max, char **next)
{
	struct vg_project_entry *es = NULL;
	size_t i, count = 0;
	enum vg_err err = vg_store_project_list(s, parent, cursor, limit, &es, &count, next);

	for (i = 0; err == VG_OK && i < count && *n < max; i++, (*n)++) {
		got[*n].at = es[i].project.created_at_us;
		memcpy(got[*n].id, es[i].project.id, sizeof got[*n].id);
	}
	free(es);
	return err;
}

static enum vg_err
page_repos(struct vg_store *s, const char *parent, const char *cursor, int limit,
    struct key *got, size_t *n, size_t max, char **next)
{
	struct vg_repository *rs = NULL;
	size_t i, count = 0;
	enum vg_err err = vg_store_repository_list(s, parent, cursor, limit, &rs, &count, next);

	for (i = 0; err == VG_OK && i < count && *n < max; i++, (*n)++) {
		got[*n].at = rs[i].created_at_us;
		memcpy(got[*n].id, rs[i].id, sizeof got[*n].id);
	}
	free(rs);
	return err;
}

static enum vg_err
page_snaps(struct vg_store *s, const char *parent, const char *cursor, int limit,
    struct key *got, size_t *n, size_t max, char **next)
{
	struct vg_snapshot *ss = NULL;
	size_t i, count = 0;
	enum vg_err err = vg_store_snapshot_list(s, parent, cursor, limit, &ss, &count, next);

	for (i = 0; err == VG_OK && i < count && *n < max; i++, (*n)++) {
		got[*n].at = ss[i].created_at_us;
		memcpy(got[*n].id, ss[i].id, sizeof got[*n].id);
	}
	free(ss);
	return err;
}

static enum vg_err
page_profiles(struct vg_store *s, const char *parent, const char *cursor, int limit,
    struct key *got, size_t *n, size_t max, char **next)
{
	struct vg_threat_profile *ps = NULL;
	size_t i, count = 0;
	enum vg_err err = vg_store_threat_profile_list(s, parent, cursor, limit, &ps, &count,
	    next);

	for (i = 0; err == VG_OK && i < count; i++) {
		if (*n < max) {
			got[*n].at = ps[i].created_at_us;
			memcpy(got[*n].id, ps[i].id, sizeof got[*n].id);
			(*n)++;
		}
		vg_threat_profile_clear(&ps[i]);
	}
	free(ps);
	return err;
}

/*
 * Page through a whole list with pages of limit and check it holds
 * exactly want[0..nwant) in newest-first order, each page but the last
 * full and the last without a cursor.
 */
static void
check_paging(struct vg_store *s, page_fn fn, const char *parent, struct key *want,
    size_t nwant, int limit, const char *what)
{
	struct key got[64];
	char *cursor = NULL, *next = NULL, name[160];
	size_t n = 0, before, pages = 0, i;
	bool order = true, full = true;
	enum vg_err err;

	qsort(want, nwant, sizeof *want, key_newest_first);
	do {
		before = n;
		err = fn(s, parent, cursor, limit, got, &n, 64, &next);
		if (next && n - before != (size_t)limit)
			full = false;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (err == VG_OK && cursor && ++pages < 100);
	free(cursor);
	snprintf(name, sizeof name, "%s: every page lists", what);
	VT_EQ_INT(err, VG_OK, name);
	snprintf(name, sizeof name, "%s: all items, once each, by pages of %d", what, limit);
	VT_EQ_INT(n, nwant, name);
	for (i = 0; i < n && i < nwant; i++)
		if (strcmp(got[i].id, want[i].id) != 0)
			order = false;
	snprintf(name, sizeof name, "%s: newest first, ties by id", what);
	VT_OK(order, name);
	snprintf(name, sizeof name, "%s: pages before the last are full", what);
	VT_OK(full, name);
}

/* The list's answer to bad paging arguments. */
static void
check_bad_paging(struct vg_store *s, page_fn fn, const char *parent, const char *what)
{
	static const struct {
		const char *cursor;
		int limit;
	} bad[] = {
		{NULL, 0}, {NULL, -1}, {NULL, VG_STORE_LIST_MAX + 1}, {"not-a-cursor!", 10},
		{"", 10}, {"MTIzNA", 10},   /* "1234": no id */
	};
	struct key got[4];
	char *next = NULL, name[160];
	size_t i, n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = 0;
		snprintf(name, sizeof name, "%s: bad paging #%zu is invalid", what, i);
		VT_EQ_INT(fn(s, parent, bad[i].cursor, bad[i].limit, got, &n, 4, &next),
		    VG_ERR_INVALID, name);
		VT_OK(next == NULL && n == 0, "nothing handed back");
		free(next);
		next = NULL;
	}
	n = 0;
	snprintf(name, sizeof name, "%s: a malformed parent id is invalid", what);
	VT_EQ_INT(fn(s, "not-a-uuid", NULL, 10, got, &n, 4, &next), VG_ERR_INVALID, name);
	n = 0;
	snprintf(name, sizeof name, "%s: the largest page is allowed", what);
	VT_EQ_INT(fn(s, parent, NULL, VG_STORE_LIST_MAX, got, &n, 4, &next), VG_OK, name);
	free(next);
}

/* ---- cases ---- */

static void
case_severities(struct vg_store *s)
{
	static const char *const want[] = {"critical", "high", "medium", "low", "info"};
	size_t i;

	(void)s;
	VT_EQ_INT(VG_SEVERITY_COUNT, 5, "five severities");
	for (i = 0; i < VG_SEVERITY_COUNT; i++)
		EQ_STR(vg_severity_names[i], want[i], "most severe first");
}

/* A backend without the sources table answers VG_ERR_INTERNAL, not a crash. */
static void
case_no_table(struct vg_store *s)
{
	struct vg_store_ops ops = *s->ops;
	struct vg_store fake = *s;
	struct vg_project p;
	struct vg_repository r;
	struct vg_member m;
	int64_t n = 7;
	char role[8] = "x";
	char id[VG_UUID_LEN + 1];

	vg_uuid_new(id);
	ops.sources = NULL;
	fake.ops = &ops;
	VT_EQ_INT(vg_store_project_get(&fake, id, &p), VG_ERR_INTERNAL, "project_get");
	VT_EQ_INT(make_project(&fake, id, "p", 0, &p), VG_ERR_INTERNAL, "project_create");
	VT_EQ_INT(make_repo(&fake, id, "r", 0, &r), VG_ERR_INTERNAL, "repository_create");
	VT_EQ_INT(vg_store_member_role(&fake, id, id, role), VG_ERR_INTERNAL, "member_role");
	EQ_STR(role, "", "no role");
	memset(&m, 0, sizeof m);
	VT_EQ_INT(vg_store_member_put(&fake, &m, NULL), VG_ERR_INTERNAL, "member_put");
	VT_EQ_INT(vg_store_snapshot_count(&fake, id, &n), VG_ERR_INTERNAL, "snapshot_count");
	VT_EQ_INT(n, 0, "count cleared");
}

static void
case_projects(struct vg_store *s)
{
	struct vg_user o, stranger;
	struct vg_project p, got, up;
	struct vg_member m;
	char ghost[VG_UUID_LEN + 1], upid[VG_UUID_LEN + 1];
	int64_t n = -1, before = vg_time_now_us();

	make_user(s, "powner", &o);
	VT_EQ_INT(make_project(s, o.id, "Payments", 0, &p), VG_OK, "create a project");
	VT_OK(vg_uuid_valid(p.id), "an id is given");
	VT_OK(p.created_at_us >= before && p.created_at_us <= vg_time_now_us(),
	    "created now when no time was given");
	VT_EQ_INT(p.updated_at_us, p.created_at_us, "updated = created");
	VT_EQ_INT(vg_store_project_get(s, p.id, &got), VG_OK, "get it");
	EQ_STR(got.id, p.id, "id");
	EQ_STR(got.name, "Payments", "name");
	EQ_STR(got.description, "what it is for", "description");
	EQ_STR(got.owner_id, o.id, "owner");
	VT_EQ_INT(got.created_at_us, p.created_at_us, "created_at round-trips");
	VT_EQ_INT(got.updated_at_us, p.updated_at_us, "updated_at round-trips");

	/* The creator is its owner, added by themselves when it was made. */
	VT_EQ_INT(vg_store_member_get(s, p.id, o.id, &m), VG_OK, "the owner is a member");
	EQ_STR(m.role, "owner", "with role owner");
	EQ_STR(m.added_by, o.id, "added by themselves");
	VT_EQ_INT(m.created_at_us, p.created_at_us, "since the project was made");
	VT_EQ_INT(vg_store_project_count_owned(s, o.id, &n), VG_OK, "count owned");
	VT_EQ_INT(n, 1, "one project owned");

	/* An upper-case id names the same project. */
	vg_str_copy(upid, sizeof upid, p.id);
	upper(upid);
	VT_EQ_INT(vg_store_project_get(s, upid, &got), VG_OK, "an upper-case id finds it");
	EQ_STR(got.id, p.id, "and the id comes back lower-case");

	/* An owner who is no user: nothing is created. */
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, ghost, "Nobody's", 0, &got), VG_ERR_NOT_FOUND,
	    "an unknown owner is not found");
	VT_EQ_INT(vg_store_project_count_owned(s, ghost, &n), VG_OK, "count for the ghost");
	VT_EQ_INT(n, 0, "no half-made project");

	/* Update. */
	up = p;
	vg_str_copy(up.name, sizeof up.name, "Payments v2");
	vg_str_copy(up.description, sizeof up.description, "");
	vg_str_copy(up.owner_id, sizeof up.owner_id, ghost);   /* ignored */
	VT_EQ_INT(vg_store_project_update(s, &up, p.created_at_us + 5 * SEC), VG_OK, "update");
	VT_EQ_INT(vg_store_project_get(s, p.id, &got), VG_OK, "get after update");
	EQ_STR(got.name, "Payments v2", "new name");
	EQ_STR(got.description, "", "description may be emptied");
	EQ_STR(got.owner_id, o.id, "update does not move the owner");
	VT_EQ_INT(got.created_at_us, p.created_at_us, "created_at kept");
	VT_EQ_INT(got.updated_at_us, p.created_at_us + 5 * SEC, "updated_at = now_us");
	vg_str_copy(up.id, sizeof up.id, ghost);
	VT_EQ_INT(vg_store_project_update(s, &up, 0), VG_ERR_NOT_FOUND, "update an unknown project");
	vg_str_copy(up.id, sizeof up.id, "nope");
	VT_EQ_INT(vg_store_project_update(s, &up, 0), VG_ERR_NOT_FOUND, "update a malformed id");

	/* Not found. */
	VT_EQ_INT(vg_store_project_get(s, ghost, &got), VG_ERR_NOT_FOUND, "get an unknown id");
	VT_EQ_INT(vg_store_project_get(s, "../../etc/passwd", &got), VG_ERR_NOT_FOUND,
	    "get a malformed id");
	VT_EQ_INT(vg_store_project_delete(s, ghost), VG_ERR_NOT_FOUND, "delete an unknown id");
	VT_EQ_INT(vg_store_project_delete(s, "x"), VG_ERR_NOT_FOUND, "delete a malformed id");

	/* Delete. */
	make_user(s, "pstranger", &stranger);
	VT_EQ_INT(vg_store_project_delete(s, p.id), VG_OK, "delete");
	VT_EQ_INT(vg_store_project_get(s, p.id, &got), VG_ERR_NOT_FOUND, "gone");
	VT_EQ_INT(vg_store_project_delete(s, p.id), VG_ERR_NOT_FOUND, "deleting twice");
	VT_EQ_INT(vg_store_project_count_owned(s, o.id, &n), VG_OK, "count owned after delete");
	VT_EQ_INT(n, 0, "none owned any more");
	VT_EQ_INT(vg_store_project_count_owned(s, "bad", &n), VG_ERR_INVALID,
	    "count for a malformed user id");
}

static void
case_project_invalid(struct vg_store *s)
{
	static const struct {
		const char *name, *description;
		bool bad_owner;
		enum vg_err want;
	} cases[] = {
		{"", "", false, VG_ERR_INVALID},
		{"ok", "", true, VG_ERR_INVALID},
		{"\xff\xfe", "", false, VG_ERR_INVALID},
		{"ok", "bad \xc3\x28 utf-8", false, VG_ERR_INVALID},
		{"Pr\xc3\xbc" "fung", "D\xc3\xa9tails", false, VG_OK},
		{"a", "", false, VG_OK},
	};
	struct vg_user o;
	struct vg_project p, got;
	size_t i;

	make_user(s, "pinvalid", &o);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[80];

		memset(&p, 0, sizeof p);
		vg_str_copy(p.name, sizeof p.name, cases[i].name);
		vg_str_copy(p.description, sizeof p.description, cases[i].description);
		vg_str_copy(p.owner_id, sizeof p.owner_id, cases[i].bad_owner ? "owner" : o.id);
		snprintf(name, sizeof name, "project case %zu", i);
		VT_EQ_INT(vg_store_project_create(s, &p), cases[i].want, name);
	}
	/* 200 bytes is the most a name has; the field cannot hold more, but
	 * an unterminated one must not be read past. */
	memset(&p, 0, sizeof p);
	memset(p.name, 'n', VG_STORE_NAME_MAX);
	vg_str_copy(p.owner_id, sizeof p.owner_id, o.id);
	VT_EQ_INT(vg_store_project_create(s, &p), VG_OK, "a 200-byte name");
	VT_EQ_INT(vg_store_project_get(s, p.id, &got), VG_OK, "get it");
	VT_EQ_INT(strlen(got.name), VG_STORE_NAME_MAX, "all 200 bytes kept");
	memset(p.name, 'n', sizeof p.name);
	VT_EQ_INT(vg_store_project_create(s, &p), VG_ERR_INVALID, "an unterminated name");
	memset(&p, 0, sizeof p);
	vg_str_copy(p.name, sizeof p.name, "ok");
	vg_str_copy(p.owner_id, sizeof p.owner_id, o.id);
	memset(p.description, 'd', sizeof p.description);
	VT_EQ_INT(vg_store_project_create(s, &p), VG_ERR_INVALID, "an unterminated description");
	memset(p.description, 'd', VG_STORE_DESCRIPTION_MAX);
	p.description[VG_STORE_DESCRIPTION_MAX] = '\0';
	VT_EQ_INT(vg_store_project_create(s, &p), VG_OK, "a 4000-byte description");
	got = p;
	got.name[0] = '\0';
	VT_EQ_INT(vg_store_project_update(s, &got, 0), VG_ERR_INVALID, "update to an empty name");
	VT_EQ_INT(vg_store_project_get(s, p.id, &got), VG_OK, "still there");
	EQ_STR(got.name, "ok", "name unchanged");
}

static void
case_project_list(struct vg_store *s)
{
	struct vg_user a, b, lone;
	struct vg_project p, theirs;
	struct vg_member m;
	struct vg_repository r;
	struct vg_project_entry *es = NULL;
	struct key want[12];
	size_t n = 0, count = 0, i;
	char *next = NULL;
	bool seen_theirs = false;
	int64_t owned = 0;

	make_user(s, "lista", &a);
	make_user(s, "listb", &b);
	make_user(s, "listlone", &lone);
	/* Eleven projects of a's, three sharing one time (ties by id). */
	for (i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof name, "a-%zu", i);
		VT_EQ_INT(make_project(s, a.id, name, t_base + (int64_t)(i < 3 ? 0 : i) * SEC, &p),
		    VG_OK, "a's project");
		want[n].at = p.created_at_us;
		memcpy(want[n++].id, p.id, sizeof want[0].id);
	}
	/* One of b's, where a is a viewer: listed for a with that role. */
	VT_EQ_INT(make_project(s, b.id, "b's", t_base + 4 * SEC, &theirs), VG_OK, "b's project");
	memset(&m, 0, sizeof m);
	memcpy(m.project_id, theirs.id, sizeof m.project_id);
	memcpy(m.user_id, a.id, sizeof m.user_id);
	memcpy(m.added_by, b.id, sizeof m.added_by);
	vg_str_copy(m.role, sizeof m.role, "viewer");
	VT_EQ_INT(vg_store_member_put(s, &m, NULL), VG_OK, "a joins b's project");
	want[n].at = theirs.created_at_us;
	memcpy(want[n++].id, theirs.id, sizeof want[0].id);
	VT_EQ_INT(make_repo(s, theirs.id, "r1", 0, &r), VG_OK, "a repository");
	VT_EQ_INT(make_repo(s, theirs.id, "r2", 0, &r), VG_OK, "another");

	check_paging(s, page_projects, a.id, want, n, 3, "projects");
	check_paging(s, page_projects, a.id, want, n, 1, "projects");
	check_paging(s, page_projects, a.id, want, n, (int)n, "projects");
	check_paging(s, page_projects, a.id, want, n, (int)n + 1, "projects");
	check_bad_paging(s, page_projects, a.id, "projects");

	VT_EQ_INT(vg_store_project_list(s, a.id, NULL, 100, &es, &count, &next), VG_OK, "list");
	VT_EQ_INT(count, n, "all at once");
	VT_OK(next == NULL, "no next page");
	for (i = 0; i < count; i++) {
		if (strcmp(es[i].project.id, theirs.id) == 0) {
			seen_theirs = true;
			EQ_STR(es[i].role, "viewer", "a's role in b's project");
			VT_EQ_INT(es[i].rollup.repositories, 2, "its roll-up counts two repositories");
			EQ_STR(es[i].project.name, "b's", "its name");
		} else if (strcmp(es[i].role, "owner") != 0) {
			VT_OK(0, "a owns the others");
		}
	}
	VT_OK(seen_theirs, "b's project is listed for a");
	free(es);
	es = NULL;
	VT_EQ_INT(vg_store_project_count_owned(s, a.id, &owned), VG_OK, "count owned");
	VT_EQ_INT(owned, 10, "a owns ten (the viewer role is no ownership)");

	VT_EQ_INT(vg_store_project_list(s, lone.id, NULL, 10, &es, &count, &next), VG_OK,
	    "a user without projects");
	VT_EQ_INT(count, 0, "lists nothing");
	VT_OK(next == NULL, "and no cursor");
	free(es);
}

static void
put_member(struct vg_store *s, const char *project, const char *user, const char *role,
    const char *by, int64_t at, struct vg_member *m, bool *created, enum vg_err want,
    const char *what)
{
	memset(m, 0, sizeof *m);
	vg_str_copy(m->project_id, sizeof m->project_id, project);
	vg_str_copy(m->user_id, sizeof m->user_id, user);
	vg_str_copy(m->role, sizeof m->role, role);
	vg_str_copy(m->added_by, sizeof m->added_by, by);
	m->created_at_us = at;
	VT_EQ_INT(vg_store_member_put(s, m, created), want, what);
}

static void
case_members(struct vg_store *s)
{
	struct vg_user o, u1, u2, u3;
	struct vg_project p, q;
	struct vg_member m, got, *ms = NULL;
	char role[8], ghost[VG_UUID_LEN + 1];
	bool created = false;
	size_t n = 0, i;
	int64_t t = t_base + 1000 * SEC;

	make_user(s, "mowner", &o);
	make_user(s, "mone", &u1);
	make_user(s, "mtwo", &u2);
	make_user(s, "mthree", &u3);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Members", t, &p), VG_OK, "project");
	VT_EQ_INT(make_project(s, o.id, "Other", t, &q), VG_OK, "another project");

	put_member(s, p.id, u1.id, "member", o.id, t + 10 * SEC, &m, &created, VG_OK, "add u1");
	VT_OK(created, "u1 is new");
	VT_EQ_INT(m.created_at_us, t + 10 * SEC, "created_at as given");
	EQ_STR(m.email, u1.email, "put fills the e-mail");
	EQ_STR(m.display_name, "User mone", "and the display name");
	VT_EQ_INT(vg_store_member_role(s, p.id, u1.id, role), VG_OK, "u1's role");
	EQ_STR(role, "member", "member");
	VT_EQ_INT(vg_store_member_get(s, p.id, u1.id, &got), VG_OK, "get u1");
	EQ_STR(got.role, "member", "role");
	EQ_STR(got.added_by, o.id, "added_by");
	EQ_STR(got.project_id, p.id, "project_id");
	EQ_STR(got.user_id, u1.id, "user_id");
	EQ_STR(got.email, u1.email, "e-mail from the user, as stored");
	VT_OK(strstr(got.email, "example.org") != NULL, "lower-cased");
	EQ_STR(got.display_name, "User mone", "display name from the user");
	VT_EQ_INT(got.created_at_us, t + 10 * SEC, "created_at");

	/* A change keeps the first time and the first adder. */
	put_member(s, p.id, u1.id, "viewer", u2.id, t + 99 * SEC, &m, &created, VG_OK,
	    "u1 becomes a viewer");
	VT_OK(!created, "a change, not an addition");
	EQ_STR(m.role, "viewer", "put hands back the stored role");
	VT_EQ_INT(m.created_at_us, t + 10 * SEC, "put hands back the first time");
	EQ_STR(m.added_by, o.id, "and the first adder");
	VT_EQ_INT(vg_store_member_role(s, p.id, u1.id, role), VG_OK, "u1's role again");
	EQ_STR(role, "viewer", "viewer now");

	/* u2 and u3 at one time: listed by user id. */
	put_member(s, p.id, u2.id, "member", "", t + 20 * SEC, &m, NULL, VG_OK, "add u2");
	EQ_STR(m.added_by, "", "added_by may be unknown");
	put_member(s, p.id, u3.id, "owner", o.id, t + 20 * SEC, &m, NULL, VG_OK, "add u3 as owner");
	VT_EQ_INT(vg_store_member_list(s, p.id, &ms, &n), VG_OK, "list members");
	VT_EQ_INT(n, 4, "four members");
	if (n == 4) {
		const char *tie_first = strcmp(u2.id, u3.id) < 0 ? u2.id : u3.id;

		EQ_STR(ms[0].user_id, o.id, "the owner first (oldest)");
		EQ_STR(ms[1].user_id, u1.id, "then u1");
		EQ_STR(ms[2].user_id, tie_first, "then the tie, by user id");
		EQ_STR(ms[0].email, o.email, "list fills e-mails");
		EQ_STR(ms[1].display_name, "User mone", "and display names");
		for (i = 1; i < n; i++)
			VT_OK(ms[i - 1].created_at_us <= ms[i].created_at_us, "oldest first");
	}
	free(ms);
	ms = NULL;
	VT_EQ_INT(vg_store_member_list(s, q.id, &ms, &n), VG_OK, "the other project's members");
	VT_EQ_INT(n, 1, "only its owner");
	free(ms);
	ms = NULL;

	/* Not found and invalid. */
	VT_EQ_INT(vg_store_member_role(s, q.id, u1.id, role), VG_ERR_NOT_FOUND,
	    "no role where not a member");
	EQ_STR(role, "", "role cleared");
	VT_EQ_INT(vg_store_member_role(s, ghost, o.id, role), VG_ERR_NOT_FOUND,
	    "no role in a project that does not exist");
	VT_EQ_INT(vg_store_member_role(s, "x", o.id, role), VG_ERR_NOT_FOUND,
	    "no role for a malformed id");
	VT_EQ_INT(vg_store_member_get(s, q.id, u1.id, &got), VG_ERR_NOT_FOUND, "get a non-member");
	put_member(s, ghost, u1.id, "member", "", 0, &m, &created, VG_ERR_NOT_FOUND,
	    "put into an unknown project");
	VT_OK(!created, "nothing created");
	put_member(s, p.id, ghost, "member", "", 0, &m, NULL, VG_ERR_NOT_FOUND,
	    "put an unknown user");
	put_member(s, p.id, u2.id, "admin", "", 0, &m, NULL, VG_ERR_INVALID, "an unknown role");
	put_member(s, p.id, u2.id, "", "", 0, &m, NULL, VG_ERR_INVALID, "an empty role");
	put_member(s, p.id, u2.id, "member", "someone", 0, &m, NULL, VG_ERR_INVALID,
	    "a malformed added_by");
	put_member(s, "p", u2.id, "member", "", 0, &m, NULL, VG_ERR_INVALID,
	    "a malformed project id");
	VT_EQ_INT(vg_store_member_role(s, p.id, u2.id, role), VG_OK, "u2 untouched");
	EQ_STR(role, "member", "still a member");
	VT_EQ_INT(vg_store_member_delete(s, q.id, u1.id), VG_ERR_NOT_FOUND, "remove a non-member");
	VT_EQ_INT(vg_store_member_delete(s, "a", "b"), VG_ERR_NOT_FOUND, "remove malformed ids");
	VT_EQ_INT(vg_store_member_list(s, ghost, &ms, &n), VG_ERR_NOT_FOUND,
	    "the members of an unknown project");
	VT_OK(ms == NULL && n == 0, "nothing handed back");

	/* Remove. */
	VT_EQ_INT(vg_store_member_delete(s, p.id, u1.id), VG_OK, "remove u1");
	VT_EQ_INT(vg_store_member_role(s, p.id, u1.id, role), VG_ERR_NOT_FOUND, "u1 is out");
	VT_EQ_INT(vg_store_member_delete(s, p.id, u1.id), VG_ERR_NOT_FOUND, "removing twice");
	put_member(s, p.id, u1.id, "viewer", o.id, t + 500 * SEC, &m, &created, VG_OK,
	    "u1 back");
	VT_OK(created, "a new membership");
	VT_EQ_INT(m.created_at_us, t + 500 * SEC, "with a new time");
}

/* The rule that a project always keeps an owner. */
static void
case_last_owner(struct vg_store *s)
{
	struct vg_user o, u;
	struct vg_project p;
	struct vg_member m;
	char role[8];
	int64_t n = 0;

	make_user(s, "lowner", &o);
	make_user(s, "lother", &u);
	VT_EQ_INT(make_project(s, o.id, "Owned", 0, &p), VG_OK, "project");
	put_member(s, p.id, o.id, "member", o.id, 0, &m, NULL, VG_ERR_CONFLICT,
	    "the only owner cannot step down");
	put_member(s, p.id, o.id, "viewer", o.id, 0, &m, NULL, VG_ERR_CONFLICT,
	    "nor become a viewer");
	VT_EQ_INT(vg_store_member_role(s, p.id, o.id, role), VG_OK, "role");
	EQ_STR(role, "owner", "still the owner");
	VT_EQ_INT(vg_store_member_delete(s, p.id, o.id), VG_ERR_CONFLICT,
	    "the only owner cannot leave");
	put_member(s, p.id, o.id, "owner", o.id, 0, &m, NULL, VG_OK, "owner to owner is fine");

	put_member(s, p.id, u.id, "owner", o.id, 0, &m, NULL, VG_OK, "a second owner");
	VT_EQ_INT(vg_store_project_count_owned(s, u.id, &n), VG_OK, "u's count");
	VT_EQ_INT(n, 1, "u owns it too");
	put_member(s, p.id, o.id, "member", u.id, 0, &m, NULL, VG_OK,
	    "with two owners, one can step down");
	VT_EQ_INT(vg_store_project_count_owned(s, o.id, &n), VG_OK, "o's count");
	VT_EQ_INT(n, 0, "o owns none now");
	VT_EQ_INT(vg_store_member_delete(s, p.id, u.id), VG_ERR_CONFLICT,
	    "the new only owner cannot leave");
	put_member(s, p.id, u.id, "viewer", u.id, 0, &m, NULL, VG_ERR_CONFLICT,
	    "nor step down");
	VT_EQ_INT(vg_store_member_delete(s, p.id, o.id), VG_OK, "a plain member can leave");
	VT_EQ_INT(vg_store_member_role(s, p.id, u.id, role), VG_OK, "u's role");
	EQ_STR(role, "owner", "u is the owner");
	put_member(s, p.id, o.id, "owner", u.id, 0, &m, NULL, VG_OK, "o back as owner");
	VT_EQ_INT(vg_store_member_delete(s, p.id, u.id), VG_OK, "now u may leave");
	VT_EQ_INT(vg_store_member_role(s, p.id, u.id, role), VG_ERR_NOT_FOUND, "u is out");
}

static void
case_repositories(struct vg_store *s)
{
	static const struct {
		const char *name, *type, *url, *ref, *by;
		bool bad_project;
	} bad[] = {
		{"", "upload", "", "", "", false},
		{"r", "svn", "", "", "", false},
		{"r", "", "", "", "", false},
		{"r", "git", "", "main", "", false},
		{"r", "upload", "https://example.org/x.git", "", "", false},
		{"r", "upload", "", "main", "", false},
		{"r", "upload", "", "", "me", false},
		{"r", "upload", "", "", "", true},
		{"\xc0\xaf", "upload", "", "", "", false},
		{"r", "git", "https://example.org/\xff", "", "", false},
	};
	struct vg_user o;
	struct vg_project p, other;
	struct vg_repository up, git, got, c;
	struct key want[8];
	char ghost[VG_UUID_LEN + 1], name[64];
	int64_t n = -1, before = vg_time_now_us();
	size_t i, nw = 0;

	make_user(s, "rowner", &o);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Repos", 0, &p), VG_OK, "project");
	VT_EQ_INT(make_project(s, o.id, "Other repos", 0, &other), VG_OK, "another project");

	memset(&up, 0, sizeof up);
	vg_str_copy(up.project_id, sizeof up.project_id, p.id);
	vg_str_copy(up.name, sizeof up.name, "web");
	vg_str_copy(up.source_type, sizeof up.source_type, "upload");
	vg_str_copy(up.created_by, sizeof up.created_by, o.id);
	vg_str_copy(up.ingest_status, sizeof up.ingest_status, "ready");   /* ignored */
	VT_EQ_INT(vg_store_repository_create(s, &up), VG_OK, "an upload repository");
	VT_OK(vg_uuid_valid(up.id), "an id");
	EQ_STR(up.ingest_status, "pending", "starts pending");
	VT_OK(up.created_at_us >= before, "created now");
	VT_EQ_INT(up.updated_at_us, up.created_at_us, "updated = created");

	memset(&git, 0, sizeof git);
	vg_str_copy(git.project_id, sizeof git.project_id, p.id);
	vg_str_copy(git.name, sizeof git.name, "api");
	vg_str_copy(git.source_type, sizeof git.source_type, "git");
	vg_str_copy(git.git_url, sizeof git.git_url, "https://example.org/api.git");
	vg_str_copy(git.git_ref, sizeof git.git_ref, "release/1.x");
	VT_EQ_INT(vg_store_repository_create(s, &git), VG_OK, "a git repository");
	VT_EQ_INT(vg_store_repository_get(s, git.id, &got), VG_OK, "get it");
	EQ_STR(got.id, git.id, "id");
	EQ_STR(got.project_id, p.id, "project");
	EQ_STR(got.name, "api", "name");
	EQ_STR(got.source_type, "git", "source type");
	EQ_STR(got.git_url, "https://example.org/api.git", "url");
	EQ_STR(got.git_ref, "release/1.x", "ref");
	EQ_STR(got.ingest_status, "pending", "pending");
	EQ_STR(got.ingest_error_code, "", "no error code");
	EQ_STR(got.ingest_error_message, "", "no error message");
	EQ_STR(got.current_snapshot_id, "", "no snapshot");
	EQ_STR(got.created_by, "", "created_by unknown");
	VT_EQ_INT(got.created_at_us, git.created_at_us, "created_at");
	VT_EQ_INT(vg_store_repository_get(s, up.id, &got), VG_OK, "get the upload");
	EQ_STR(got.created_by, o.id, "created_by");
	EQ_STR(got.git_url, "", "no url");

	/* Invalid ones, and one in a project that does not exist. */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&c, 0, sizeof c);
		vg_str_copy(c.project_id, sizeof c.project_id, bad[i].bad_project ? "p" : p.id);
		vg_str_copy(c.name, sizeof c.name, bad[i].name);
		vg_str_copy(c.source_type, sizeof c.source_type, bad[i].type);
		vg_str_copy(c.git_url, sizeof c.git_url, bad[i].url);
		vg_str_copy(c.git_ref, sizeof c.git_ref, bad[i].ref);
		vg_str_copy(c.created_by, sizeof c.created_by, bad[i].by);
		snprintf(name, sizeof name, "invalid repository #%zu", i);
		VT_EQ_INT(vg_store_repository_create(s, &c), VG_ERR_INVALID, name);
	}
	VT_EQ_INT(make_repo(s, ghost, "r", 0, &c), VG_ERR_NOT_FOUND, "in an unknown project");
	VT_EQ_INT(vg_store_repository_count(s, p.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 2, "two repositories, nothing from the refused ones");

	/* Update. */
	c = git;
	vg_str_copy(c.name, sizeof c.name, "api-server");
	vg_str_copy(c.git_url, sizeof c.git_url, "https://example.org/api-server.git");
	c.git_ref[0] = '\0';
	vg_str_copy(c.source_type, sizeof c.source_type, "upload");   /* ignored */
	VT_EQ_INT(vg_store_repository_update(s, &c, git.created_at_us + 7 * SEC), VG_OK,
	    "update the git repository");
	VT_EQ_INT(vg_store_repository_get(s, git.id, &got), VG_OK, "get after update");
	EQ_STR(got.name, "api-server", "renamed");
	EQ_STR(got.git_url, "https://example.org/api-server.git", "new url");
	EQ_STR(got.git_ref, "", "default branch");
	EQ_STR(got.source_type, "git", "still git");
	VT_EQ_INT(got.updated_at_us, git.created_at_us + 7 * SEC, "updated_at = now_us");
	VT_EQ_INT(got.created_at_us, git.created_at_us, "created_at kept");
	c.git_url[0] = '\0';
	VT_EQ_INT(vg_store_repository_update(s, &c, 0), VG_ERR_INVALID, "git without a url");
	c = up;
	vg_str_copy(c.git_url, sizeof c.git_url, "https://example.org/x.git");
	VT_EQ_INT(vg_store_repository_update(s, &c, 0), VG_ERR_INVALID, "an upload with a url");
	c.git_url[0] = '\0';
	c.name[0] = '\0';
	VT_EQ_INT(vg_store_repository_update(s, &c, 0), VG_ERR_INVALID, "an empty name");
	vg_str_copy(c.name, sizeof c.name, "web2");
	vg_str_copy(c.id, sizeof c.id, ghost);
	VT_EQ_INT(vg_store_repository_update(s, &c, 0), VG_ERR_NOT_FOUND, "update an unknown one");
	VT_EQ_INT(vg_store_repository_get(s, up.id, &got), VG_OK, "the upload");
	EQ_STR(got.name, "web", "untouched");

	/* Paging: seven more with chosen times, two of them tied. */
	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof name, "r%zu", i);
		VT_EQ_INT(make_repo(s, other.id, name, t_base + (int64_t)(i < 2 ? 1 : i) * SEC, &c),
		    VG_OK, "repository to page");
		want[nw].at = c.created_at_us;
		memcpy(want[nw++].id, c.id, sizeof want[0].id);
	}
	check_paging(s, page_repos, other.id, want, nw, 2, "repositories");
	check_paging(s, page_repos, other.id, want, nw, 7, "repositories");
	check_bad_paging(s, page_repos, other.id, "repositories");
	VT_EQ_INT(vg_store_repository_count(s, other.id, &n), VG_OK, "count the other's");
	VT_EQ_INT(n, 7, "seven");
	VT_EQ_INT(vg_store_repository_count(s, "x", &n), VG_ERR_INVALID, "count a malformed id");

	/* Delete. */
	VT_EQ_INT(vg_store_repository_delete(s, up.id), VG_OK, "delete the upload");
	VT_EQ_INT(vg_store_repository_get(s, up.id, &got), VG_ERR_NOT_FOUND, "gone");
	VT_EQ_INT(vg_store_repository_delete(s, up.id), VG_ERR_NOT_FOUND, "deleting twice");
	VT_EQ_INT(vg_store_repository_delete(s, "../x"), VG_ERR_NOT_FOUND, "a malformed id");
	VT_EQ_INT(vg_store_repository_get(s, "../x", &got), VG_ERR_NOT_FOUND, "get a malformed id");
	VT_EQ_INT(vg_store_repository_count(s, p.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 1, "one left");
}

static void
set_ingest(struct vg_store *s, const char *id, const char *status, const char *if_not,
    const char *code, const char *msg, const char *snap, int64_t now, struct vg_repository *out,
    enum vg_err want, const char *what)
{
	struct vg_ingest_change c = {status, if_not, code, msg, snap, now};

	VT_EQ_INT(vg_store_repository_set_ingest(s, id, &c, out), want, what);
}

static void
case_ingest(struct vg_store *s)
{
	struct vg_user o;
	struct vg_project p;
	struct vg_repository r, r2, got;
	struct vg_snapshot sn, sn2;
	char ghost[VG_UUID_LEN + 1], upid[VG_UUID_LEN + 1];
	int64_t t = t_base + 5000 * SEC;

	make_user(s, "iowner", &o);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Ingest", t, &p), VG_OK, "project");
	VT_EQ_INT(make_repo(s, p.id, "r", t, &r), VG_OK, "repository");
	VT_EQ_INT(make_repo(s, p.id, "r2", t, &r2), VG_OK, "another repository");
	VT_EQ_INT(make_snapshot(s, r.id, 1, t, &sn, NULL), VG_OK, "a snapshot of r");
	VT_EQ_INT(make_snapshot(s, r2.id, 2, t, &sn2, NULL), VG_OK, "a snapshot of r2");

	set_ingest(s, r.id, "ingesting", "ingesting", NULL, NULL, NULL, t + SEC, &got, VG_OK,
	    "pending -> ingesting");
	EQ_STR(got.ingest_status, "ingesting", "out shows the new state");
	VT_EQ_INT(got.updated_at_us, t + SEC, "updated_at = now_us");
	set_ingest(s, r.id, "ingesting", "ingesting", NULL, NULL, NULL, t + 2 * SEC, &got,
	    VG_ERR_CONFLICT, "a second fetch while one runs is refused");
	VT_EQ_INT(vg_store_repository_get(s, r.id, &got), VG_OK, "get");
	EQ_STR(got.ingest_status, "ingesting", "state unchanged");
	VT_EQ_INT(got.updated_at_us, t + SEC, "updated_at unchanged");

	set_ingest(s, r.id, "failed", NULL, "archive_invalid", "the archive has a link out", NULL,
	    t + 3 * SEC, &got, VG_OK, "ingesting -> failed");
	EQ_STR(got.ingest_status, "failed", "failed");
	EQ_STR(got.ingest_error_code, "archive_invalid", "error code");
	EQ_STR(got.ingest_error_message, "the archive has a link out", "error message");
	set_ingest(s, r.id, "failed", NULL, NULL, "why", NULL, 0, NULL, VG_ERR_INVALID,
	    "failed needs an error code");
	set_ingest(s, r.id, "failed", NULL, "", "why", NULL, 0, NULL, VG_ERR_INVALID,
	    "an empty error code");
	set_ingest(s, r.id, "failed", NULL, "fetch_failed", NULL, NULL, 0, NULL, VG_OK,
	    "a failure without a message");
	VT_EQ_INT(vg_store_repository_get(s, r.id, &got), VG_OK, "get");
	EQ_STR(got.ingest_error_code, "fetch_failed", "the new code");
	EQ_STR(got.ingest_error_message, "", "no message");

	/* Ready with a snapshot: errors cleared; out may be NULL. */
	vg_str_copy(upid, sizeof upid, sn.id);
	upper(upid);
	set_ingest(s, r.id, "ready", NULL, "ignored", "ignored", upid, t + 4 * SEC, NULL, VG_OK,
	    "failed -> ready with its snapshot");
	VT_EQ_INT(vg_store_repository_get(s, r.id, &got), VG_OK, "get");
	EQ_STR(got.ingest_status, "ready", "ready");
	EQ_STR(got.ingest_error_code, "", "error code cleared");
	EQ_STR(got.ingest_error_message, "", "error message cleared");
	EQ_STR(got.current_snapshot_id, sn.id, "current snapshot set");
	VT_EQ_INT(got.updated_at_us, t + 4 * SEC, "updated_at");
	set_ingest(s, r.id, "ingesting", "ingesting", NULL, NULL, "", t + 5 * SEC, &got, VG_OK,
	    "an empty snapshot id leaves it");
	EQ_STR(got.current_snapshot_id, sn.id, "current snapshot kept");

	/* Refused. */
	set_ingest(s, r.id, "ready", NULL, NULL, NULL, sn2.id, 0, &got, VG_ERR_INVALID,
	    "another repository's snapshot");
	set_ingest(s, r.id, "ready", NULL, NULL, NULL, ghost, 0, &got, VG_ERR_INVALID,
	    "a snapshot that does not exist");
	set_ingest(s, r.id, "ready", NULL, NULL, NULL, "snap", 0, &got, VG_ERR_INVALID,
	    "a malformed snapshot id");
	set_ingest(s, r.id, "done", NULL, NULL, NULL, NULL, 0, &got, VG_ERR_INVALID,
	    "an unknown state");
	set_ingest(s, r.id, "ready", "busy", NULL, NULL, NULL, 0, &got, VG_ERR_INVALID,
	    "an unknown if_not");
	set_ingest(s, ghost, "ready", NULL, NULL, NULL, NULL, 0, &got, VG_ERR_NOT_FOUND,
	    "an unknown repository");
	set_ingest(s, "r", "ready", NULL, NULL, NULL, NULL, 0, &got, VG_ERR_NOT_FOUND,
	    "a malformed repository id");
	VT_EQ_INT(vg_store_repository_get(s, r.id, &got), VG_OK, "get");
	EQ_STR(got.ingest_status, "ingesting", "nothing refused changed it");
	EQ_STR(got.current_snapshot_id, sn.id, "nor its snapshot");
	set_ingest(s, r.id, "pending", "ready", NULL, NULL, NULL, 0, &got, VG_OK,
	    "if_not only refuses its own state");
}

static void
case_snapshots(struct vg_store *s)
{
	static const struct {
		const char *digest, *key, *langs, *commit;
		int64_t files, bytes;
	} bad[] = {
		{"ABCDEF0000000000000000000000000000000000000000000000000000000000", "k", "", "", 0, 0},
		{"00000000000000000000000000000000000000000000000000000000000000a", "k", "", "", 0, 0},
		{"0000000000000000000000000000000-000000000000000000000000000000aa", "k", "", "", 0, 0},
		{"000000000000000000000000000000000000000000000000000000000000000g", "k", "", "", 0, 0},
		{NULL, "", "", "", 0, 0},
		{NULL, "k", "[1]", "", 0, 0},
		{NULL, "k", "{nope", "", 0, 0},
		{NULL, "k", "{\"a\":1,\"a\":2}", "", 0, 0},
		{NULL, "k", "", "abc", 0, 0},
		{NULL, "k", "", "ABCDEF0123456789ABCDEF0123456789ABCDEF01", 0, 0},
		{NULL, "k", "", "", -1, 0},
		{NULL, "k", "", "", 0, -1},
		{NULL, "k", "", "", 3000000000LL, 0},
	};
	struct vg_user o;
	struct vg_project p;
	struct vg_repository r, r2;
	struct vg_snapshot sn, again, other, got, c;
	struct key want[8];
	char ghost[VG_UUID_LEN + 1], name[64];
	bool existed = true, used = false;
	int64_t n = -1, t = t_base + 9000 * SEC;
	size_t i, nw = 0;
	json_t *a, *b;

	make_user(s, "sowner", &o);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Snapshots", t, &p), VG_OK, "project");
	VT_EQ_INT(make_repo(s, p.id, "r", t, &r), VG_OK, "repository");
	VT_EQ_INT(make_repo(s, p.id, "r2", t, &r2), VG_OK, "another");

	memset(&sn, 0, sizeof sn);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	digest_n(0xabc, sn.digest);
	vg_str_copy(sn.storage_key, sizeof sn.storage_key, "sources/abc.tar");
	vg_str_copy(sn.manifest_key, sizeof sn.manifest_key, "sources/abc.manifest.json");
	vg_str_copy(sn.format, sizeof sn.format, "git");
	sn.file_count = 42;
	sn.total_bytes = 5000000000LL;
	vg_str_copy(sn.languages, sizeof sn.languages, "{ \"python\": 3, \"c\": 39 }");
	vg_str_copy(sn.git_commit, sizeof sn.git_commit, "0123456789abcdef0123456789abcdef01234567");
	vg_str_copy(sn.created_by, sizeof sn.created_by, o.id);
	VT_EQ_INT(vg_store_snapshot_create(s, &sn, &existed), VG_OK, "record a snapshot");
	VT_OK(!existed, "it is new");
	VT_OK(vg_uuid_valid(sn.id), "an id");
	VT_OK(sn.created_at_us > 0, "a time");
	EQ_STR(sn.languages, "{\"c\":39,\"python\":3}", "languages in canonical form");
	VT_EQ_INT(vg_store_snapshot_get(s, sn.id, &got), VG_OK, "get it");
	EQ_STR(got.id, sn.id, "id");
	EQ_STR(got.repository_id, r.id, "repository");
	EQ_STR(got.digest, sn.digest, "digest");
	EQ_STR(got.storage_key, "sources/abc.tar", "storage key");
	EQ_STR(got.manifest_key, "sources/abc.manifest.json", "manifest key");
	EQ_STR(got.format, "git", "format");
	VT_EQ_INT(got.file_count, 42, "file count");
	VT_EQ_INT(got.total_bytes, 5000000000LL, "total bytes past 32 bits");
	EQ_STR(got.git_commit, sn.git_commit, "commit");
	EQ_STR(got.created_by, o.id, "created_by");
	VT_EQ_INT(got.created_at_us, sn.created_at_us, "created_at");
	a = json_loads(got.languages, 0, NULL);
	b = json_loads("{\"c\":39,\"python\":3}", 0, NULL);
	VT_OK(a && b && json_equal(a, b), "languages round-trip");
	EQ_STR(got.languages, "{\"c\":39,\"python\":3}", "in the same canonical text");
	json_decref(a);
	json_decref(b);

	/* The same content again: the row already there. */
	memset(&again, 0, sizeof again);
	vg_str_copy(again.repository_id, sizeof again.repository_id, r.id);
	vg_str_copy(again.digest, sizeof again.digest, sn.digest);
	vg_str_copy(again.storage_key, sizeof again.storage_key, "sources/elsewhere.tar");
	vg_str_copy(again.format, sizeof again.format, "zip");
	VT_EQ_INT(vg_store_snapshot_create(s, &again, &existed), VG_OK, "record it again");
	VT_OK(existed, "it existed");
	EQ_STR(again.id, sn.id, "the same id");
	EQ_STR(again.storage_key, "sources/abc.tar", "the stored row, not the new fields");
	EQ_STR(again.format, "git", "format of the stored row");
	VT_EQ_INT(again.created_at_us, sn.created_at_us, "its time");
	VT_EQ_INT(again.file_count, 42, "its file count");
	EQ_STR(again.languages, "{\"c\":39,\"python\":3}", "its languages");
	VT_EQ_INT(vg_store_snapshot_create(s, &again, NULL), VG_OK, "existed may be NULL");
	VT_EQ_INT(vg_store_snapshot_count(s, r.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 1, "one row");

	/* The same content in another repository is another snapshot. */
	memset(&other, 0, sizeof other);
	vg_str_copy(other.repository_id, sizeof other.repository_id, r2.id);
	vg_str_copy(other.digest, sizeof other.digest, sn.digest);
	vg_str_copy(other.storage_key, sizeof other.storage_key, "sources/abc.tar");
	VT_EQ_INT(vg_store_snapshot_create(s, &other, &existed), VG_OK, "in r2");
	VT_OK(!existed, "new there");
	VT_OK(strcmp(other.id, sn.id) != 0, "a different id");
	EQ_STR(other.languages, "{}", "no languages: {}");
	EQ_STR(other.git_commit, "", "no commit");
	EQ_STR(other.created_by, "", "unknown creator");

	VT_EQ_INT(vg_store_snapshot_key_used(s, "sources/abc.tar", &used), VG_OK, "key used?");
	VT_OK(used, "yes");
	VT_EQ_INT(vg_store_snapshot_key_used(s, "sources/elsewhere.tar", &used), VG_OK,
	    "the key of the create that found a row?");
	VT_OK(!used, "never stored");
	VT_EQ_INT(vg_store_snapshot_key_used(s, "", &used), VG_ERR_INVALID, "an empty key");

	/* Refused. */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&c, 0, sizeof c);
		vg_str_copy(c.repository_id, sizeof c.repository_id, r.id);
		if (bad[i].digest)
			vg_str_copy(c.digest, sizeof c.digest, bad[i].digest);
		else
			digest_n(0x5000 + (unsigned)i, c.digest);
		vg_str_copy(c.storage_key, sizeof c.storage_key, bad[i].key);
		vg_str_copy(c.languages, sizeof c.languages, bad[i].langs);
		vg_str_copy(c.git_commit, sizeof c.git_commit, bad[i].commit);
		c.file_count = bad[i].files;
		c.total_bytes = bad[i].bytes;
		snprintf(name, sizeof name, "invalid snapshot #%zu", i);
		VT_EQ_INT(vg_store_snapshot_create(s, &c, &existed), VG_ERR_INVALID, name);
	}
	memset(&c, 0, sizeof c);
	vg_str_copy(c.repository_id, sizeof c.repository_id, r.id);
	memset(c.digest, 'a', sizeof c.digest);
	vg_str_copy(c.storage_key, sizeof c.storage_key, "k");
	VT_EQ_INT(vg_store_snapshot_create(s, &c, &existed), VG_ERR_INVALID,
	    "an unterminated digest");
	VT_EQ_INT(make_snapshot(s, ghost, 7, 0, &c, &existed), VG_ERR_NOT_FOUND,
	    "in an unknown repository");
	VT_EQ_INT(make_snapshot(s, "r", 7, 0, &c, &existed), VG_ERR_INVALID,
	    "a malformed repository id");
	VT_EQ_INT(vg_store_snapshot_count(s, r.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 1, "still one row");
	VT_EQ_INT(vg_store_snapshot_get(s, ghost, &got), VG_ERR_NOT_FOUND, "get an unknown one");
	VT_EQ_INT(vg_store_snapshot_get(s, "x", &got), VG_ERR_NOT_FOUND, "get a malformed id");

	/* A 64-hex (SHA-256) commit is fine too. */
	VT_EQ_INT(make_snapshot(s, r2.id, 0x77, t, &c, NULL), VG_OK, "a snapshot");
	memset(&c, 0, sizeof c);
	vg_str_copy(c.repository_id, sizeof c.repository_id, r2.id);
	digest_n(0x78, c.digest);
	vg_str_copy(c.storage_key, sizeof c.storage_key, "k");
	digest_n(0x79, c.git_commit);
	VT_EQ_INT(vg_store_snapshot_create(s, &c, NULL), VG_OK, "a sha-256 commit");

	/* Paging over seven, two tied. */
	for (i = 0; i < 7; i++) {
		VT_EQ_INT(make_snapshot(s, r.id, 0x100 + (unsigned)i,
		    t_base + (int64_t)(i < 2 ? 3 : i) * SEC, &c, &existed), VG_OK, "snapshot to page");
		want[nw].at = c.created_at_us;
		memcpy(want[nw++].id, c.id, sizeof want[0].id);
	}
	want[nw].at = sn.created_at_us;
	memcpy(want[nw++].id, sn.id, sizeof want[0].id);
	check_paging(s, page_snaps, r.id, want, nw, 3, "snapshots");
	check_bad_paging(s, page_snaps, r.id, "snapshots");
	VT_EQ_INT(vg_store_snapshot_count(s, r.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 8, "eight");
	VT_EQ_INT(vg_store_snapshot_count(s, "r", &n), VG_ERR_INVALID, "count a malformed id");
}

/* What each racing child reports through the pipe. */
struct race_report {
	char id[VG_UUID_LEN + 1];
	int existed;
	int err;
	int64_t version;
};

/* Wait for the go byte, open a store of its own, create, report. */
static int
child_snapshot(int startfd, int outfd, const char *repo)
{
	struct vg_store *cs = NULL;
	struct vg_snapshot sn;
	struct race_report rep;
	bool existed = false;
	char go;

	memset(&rep, 0, sizeof rep);
	if (read(startfd, &go, 1) != 1)
		return 3;
	if (vg_store_open(&cs) != VG_OK)
		return 4;
	rep.err = (int)make_snapshot(cs, repo, 0xfeed, 0, &sn, &existed);
	memcpy(rep.id, sn.id, sizeof rep.id);
	rep.existed = existed;
	vg_store_free(cs);
	return write(outfd, &rep, sizeof rep) == (ssize_t)sizeof rep ? 0 : 5;
}

static int
child_versions(int startfd, int outfd, const char *profile, int k)
{
	struct vg_store *cs = NULL;
	struct vg_threat_profile p;
	struct race_report rep;
	json_t *content;
	char go;
	int i, bad = 0;

	if (read(startfd, &go, 1) != 1)
		return 3;
	if (vg_store_open(&cs) != VG_OK)
		return 4;
	for (i = 0; i < k; i++) {
		memset(&p, 0, sizeof p);
		memset(&rep, 0, sizeof rep);
		vg_str_copy(p.id, sizeof p.id, profile);
		vg_str_copy(p.name, sizeof p.name, "raced");
		content = json_pack("{s:i}", "pid", (int)getpid());
		p.content = content;
		rep.err = (int)vg_store_threat_profile_add_version(cs, &p, 0);
		rep.version = p.version;
		json_decref(content);
		if (write(outfd, &rep, sizeof rep) != (ssize_t)sizeof rep)
			bad++;
	}
	vg_store_free(cs);
	return bad ? 5 : 0;
}

/*
 * Run NPROCS children of fn at once (released together through a pipe)
 * and collect up to max reports; returns how many exited cleanly.
 */
static int
race(int (*fn)(int startfd, int outfd, const char *arg, int k), const char *arg, int k,
    struct race_report *reps, size_t max, size_t *nreps)
{
	pid_t pids[NPROCS];
	int start[2], out[2], i, status, ok = 0;
	struct race_report rep;

	*nreps = 0;
	if (pipe(start) != 0 || pipe(out) != 0)
		return 0;
	fflush(stdout);
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(start[1]);
			close(out[0]);
			_exit(fn(start[0], out[1], arg, k));
		}
	}
	close(start[0]);
	close(out[1]);
	for (i = 0; i < NPROCS; i++)
		if (write(start[1], "g", 1) != 1)
			break;
	close(start[1]);
	while (read(out[0], &rep, sizeof rep) == (ssize_t)sizeof rep)
		if (*nreps < max)
			reps[(*nreps)++] = rep;
	close(out[0]);
	for (i = 0; i < NPROCS; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	return ok;
}

static int
snapshot_racer(int startfd, int outfd, const char *arg, int k)
{
	(void)k;
	return child_snapshot(startfd, outfd, arg);
}

static int
version_racer(int startfd, int outfd, const char *arg, int k)
{
	return child_versions(startfd, outfd, arg, k);
}

/* Concurrent creates of one (repository, digest): one row, one id. */
static void
case_snapshot_race(struct vg_store *s)
{
	struct vg_user o;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot got;
	struct race_report reps[NPROCS];
	size_t n = 0, i, fresh = 0, same = 0, errs = 0;
	int64_t count = -1;

	make_user(s, "race", &o);
	VT_EQ_INT(make_project(s, o.id, "Race", 0, &p), VG_OK, "project");
	VT_EQ_INT(make_repo(s, p.id, "r", 0, &r), VG_OK, "repository");
	VT_EQ_INT(race(snapshot_racer, r.id, 1, reps, NPROCS, &n), NPROCS,
	    "every creating process succeeded");
	VT_EQ_INT(n, NPROCS, "every process reported");
	for (i = 0; i < n; i++) {
		if (reps[i].err != VG_OK)
			errs++;
		if (!reps[i].existed)
			fresh++;
		if (strcmp(reps[i].id, reps[0].id) == 0)
			same++;
	}
	VT_EQ_INT(errs, 0, "no create failed");
	VT_EQ_INT(fresh, 1, "exactly one made the row");
	VT_EQ_INT(same, n, "all got the same id");
	VT_EQ_INT(vg_store_snapshot_count(s, r.id, &count), VG_OK, "count");
	VT_EQ_INT(count, 1, "one row");
	VT_EQ_INT(vg_store_snapshot_get(s, reps[0].id, &got), VG_OK, "the row is the one reported");
}

static void
case_profiles(struct vg_store *s)
{
	struct vg_user o, u;
	struct vg_project p;
	struct vg_repository r, r2;
	struct vg_threat_profile tp, v, got, c, *ps = NULL;
	struct key want[8];
	json_t *c1 = json_pack("{s:[s], s:[s]}", "assets", "db", "boundaries", "internet");
	json_t *c2 = json_pack("{s:[s, s]}", "assets", "db", "keys");
	json_t *c3 = json_pack("{s:[s]}", "exclusions", "vendor/");
	json_t *arr = json_array();
	char ghost[VG_UUID_LEN + 1], *next = NULL;
	int64_t n = -1, t = t_base + 20000 * SEC;
	size_t i, nw = 0, count = 0;

	make_user(s, "towner", &o);
	make_user(s, "teditor", &u);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Profiles", t, &p), VG_OK, "project");
	VT_EQ_INT(make_repo(s, p.id, "r", t, &r), VG_OK, "repository");
	VT_EQ_INT(make_repo(s, p.id, "r2", t, &r2), VG_OK, "another repository");

	memset(&tp, 0, sizeof tp);
	vg_str_copy(tp.repository_id, sizeof tp.repository_id, r.id);
	vg_str_copy(tp.name, sizeof tp.name, "Default");
	vg_str_copy(tp.created_by, sizeof tp.created_by, o.id);
	tp.content = c1;
	tp.created_at_us = t + SEC;
	VT_EQ_INT(vg_store_threat_profile_create(s, &tp), VG_OK, "create a profile");
	VT_OK(vg_uuid_valid(tp.id), "an id");
	EQ_STR(tp.project_id, p.id, "the repository's project");
	VT_EQ_INT(tp.version, 1, "version 1");
	VT_EQ_INT(tp.latest_version, 1, "latest 1");
	VT_EQ_INT(tp.updated_at_us, t + SEC, "updated = created");
	VT_OK(tp.content == c1, "content stays the caller's");

	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 0, &got), VG_OK, "get the latest");
	EQ_STR(got.id, tp.id, "id");
	EQ_STR(got.project_id, p.id, "project");
	EQ_STR(got.repository_id, r.id, "repository");
	EQ_STR(got.name, "Default", "name");
	VT_EQ_INT(got.version, 1, "version");
	VT_EQ_INT(got.latest_version, 1, "latest");
	VT_OK(json_equal(got.content, c1), "content");
	VT_OK(got.content != c1, "a content of its own");
	EQ_STR(got.created_by, o.id, "created_by");
	VT_EQ_INT(got.created_at_us, t + SEC, "created_at");
	vg_threat_profile_clear(&got);
	VT_OK(got.content == NULL, "clear releases the content");
	vg_threat_profile_clear(&got);

	/* Versions 2 and 3. */
	memset(&v, 0, sizeof v);
	vg_str_copy(v.id, sizeof v.id, tp.id);
	vg_str_copy(v.name, sizeof v.name, "Default (web)");
	vg_str_copy(v.created_by, sizeof v.created_by, u.id);
	v.content = c2;
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, t + 10 * SEC), VG_OK, "add version 2");
	VT_EQ_INT(v.version, 2, "version 2");
	VT_EQ_INT(v.latest_version, 2, "latest 2");
	VT_EQ_INT(v.updated_at_us, t + 10 * SEC, "updated_at = now_us");
	VT_EQ_INT(v.created_at_us, t + SEC, "created_at of the profile");
	EQ_STR(v.project_id, p.id, "project filled");
	EQ_STR(v.repository_id, r.id, "repository filled");
	VT_OK(v.content == c2, "content still the caller's");
	v.content = c3;
	v.created_by[0] = '\0';
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, t + 20 * SEC), VG_OK, "add version 3");
	VT_EQ_INT(v.version, 3, "version 3");

	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 0, &got), VG_OK, "latest");
	VT_EQ_INT(got.version, 3, "is 3");
	VT_EQ_INT(got.latest_version, 3, "latest 3");
	VT_OK(json_equal(got.content, c3), "its content");
	EQ_STR(got.created_by, "", "its creator unknown");
	VT_EQ_INT(got.updated_at_us, t + 20 * SEC, "updated_at of the latest version");
	vg_threat_profile_clear(&got);
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 1, &got), VG_OK, "version 1");
	VT_EQ_INT(got.version, 1, "is 1");
	VT_EQ_INT(got.latest_version, 3, "latest still 3");
	VT_OK(json_equal(got.content, c1), "the old content, unchanged");
	EQ_STR(got.created_by, o.id, "by its own creator");
	EQ_STR(got.name, "Default (web)", "the name is the profile's, not the version's");
	vg_threat_profile_clear(&got);
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 2, &got), VG_OK, "version 2");
	VT_OK(json_equal(got.content, c2), "its content");
	EQ_STR(got.created_by, u.id, "by u");
	vg_threat_profile_clear(&got);
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 4, &got), VG_ERR_NOT_FOUND,
	    "no version 4");
	VT_OK(got.content == NULL, "no content handed back");
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, -1, &got), VG_ERR_INVALID,
	    "a negative version");
	VT_EQ_INT(vg_store_threat_profile_get(s, ghost, 0, &got), VG_ERR_NOT_FOUND,
	    "an unknown profile");
	VT_EQ_INT(vg_store_threat_profile_get(s, "x", 1, &got), VG_ERR_NOT_FOUND, "a malformed id");

	/* Refused. */
	VT_EQ_INT(make_profile(s, ghost, "P", 0, c1, &c), VG_ERR_NOT_FOUND, "an unknown repository");
	VT_EQ_INT(make_profile(s, "r", "P", 0, c1, &c), VG_ERR_INVALID, "a malformed repository");
	VT_EQ_INT(make_profile(s, r.id, "", 0, c1, &c), VG_ERR_INVALID, "an empty name");
	VT_EQ_INT(make_profile(s, r.id, "P", 0, arr, &c), VG_ERR_INVALID, "content not an object");
	VT_EQ_INT(make_profile(s, r.id, "P", 0, NULL, &c), VG_ERR_INVALID, "no content");
	v.content = arr;
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, 0), VG_ERR_INVALID,
	    "a version that is not an object");
	v.content = c1;
	v.name[0] = '\0';
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, 0), VG_ERR_INVALID,
	    "a version without a name");
	vg_str_copy(v.name, sizeof v.name, "n");
	vg_str_copy(v.created_by, sizeof v.created_by, "me");
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, 0), VG_ERR_INVALID,
	    "a malformed creator");
	v.created_by[0] = '\0';
	vg_str_copy(v.id, sizeof v.id, ghost);
	VT_EQ_INT(vg_store_threat_profile_add_version(s, &v, 0), VG_ERR_NOT_FOUND,
	    "a version of an unknown profile");
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 0, &got), VG_OK, "latest");
	VT_EQ_INT(got.latest_version, 3, "nothing refused made a version");
	vg_threat_profile_clear(&got);

	/* List: latest versions, paged. */
	want[nw].at = tp.created_at_us;
	memcpy(want[nw++].id, tp.id, sizeof want[0].id);
	for (i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof name, "P%zu", i);
		VT_EQ_INT(make_profile(s, r.id, name, t_base + (int64_t)(i < 2 ? 2 : i) * SEC, c2, &c),
		    VG_OK, "profile to page");
		want[nw].at = c.created_at_us;
		memcpy(want[nw++].id, c.id, sizeof want[0].id);
	}
	VT_EQ_INT(make_profile(s, r2.id, "elsewhere", 0, c3, &c), VG_OK, "r2's profile");
	check_paging(s, page_profiles, r.id, want, nw, 4, "profiles");
	check_paging(s, page_profiles, r.id, want, nw, 1, "profiles");
	check_bad_paging(s, page_profiles, r.id, "profiles");
	VT_EQ_INT(vg_store_threat_profile_list(s, r.id, NULL, 100, &ps, &count, &next), VG_OK,
	    "list all");
	VT_EQ_INT(count, 6, "six");
	for (i = 0; i < count; i++) {
		if (strcmp(ps[i].id, tp.id) == 0) {
			VT_EQ_INT(ps[i].version, 3, "listed at its latest version");
			VT_OK(json_equal(ps[i].content, c3), "with its latest content");
			EQ_STR(ps[i].name, "Default (web)", "and its name");
		}
		vg_threat_profile_clear(&ps[i]);
	}
	free(ps);
	VT_EQ_INT(vg_store_threat_profile_count(s, r.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 6, "six profiles");
	VT_EQ_INT(vg_store_threat_profile_count(s, r2.id, &n), VG_OK, "count r2's");
	VT_EQ_INT(n, 1, "one");
	VT_EQ_INT(vg_store_threat_profile_count(s, "r", &n), VG_ERR_INVALID, "a malformed id");
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
	json_decref(arr);
}

/* Versions added by many processes at once: distinct and consecutive. */
static void
case_profile_race(struct vg_store *s)
{
	enum { PER = 3 };
	struct vg_user o;
	struct vg_project p;
	struct vg_repository r;
	struct vg_threat_profile tp, got;
	struct race_report reps[NPROCS * PER];
	json_t *content = json_object();
	bool seen[NPROCS * PER + 2];
	size_t n = 0, i, errs = 0, dup = 0, range = 0;
	int v;

	make_user(s, "trace", &o);
	VT_EQ_INT(make_project(s, o.id, "Profile race", 0, &p), VG_OK, "project");
	VT_EQ_INT(make_repo(s, p.id, "r", 0, &r), VG_OK, "repository");
	VT_EQ_INT(make_profile(s, r.id, "raced", 0, content, &tp), VG_OK, "profile");
	VT_EQ_INT(race(version_racer, tp.id, PER, reps, NPROCS * PER, &n), NPROCS,
	    "every adding process succeeded");
	VT_EQ_INT(n, NPROCS * PER, "every version reported");
	memset(seen, 0, sizeof seen);
	for (i = 0; i < n; i++) {
		if (reps[i].err != VG_OK) {
			errs++;
			continue;
		}
		v = (int)reps[i].version;
		if (v < 2 || v > NPROCS * PER + 1) {
			range++;
			continue;
		}
		if (seen[v])
			dup++;
		seen[v] = true;
	}
	VT_EQ_INT(errs, 0, "no add failed");
	VT_EQ_INT(dup, 0, "no version twice");
	VT_EQ_INT(range, 0, "only versions 2 to NPROCS * PER + 1");
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 0, &got), VG_OK, "latest");
	VT_EQ_INT(got.latest_version, NPROCS * PER + 1, "one version per add");
	vg_threat_profile_clear(&got);
	VT_EQ_INT(vg_store_threat_profile_get(s, tp.id, 1, &got), VG_OK, "version 1 is still there");
	VT_OK(json_equal(got.content, content), "with its content");
	vg_threat_profile_clear(&got);
	json_decref(content);
}

/* Deleting a repository, then its project, removes everything below. */
static void
case_cascade(struct vg_store *s)
{
	struct vg_user o, u;
	struct vg_project p, keep, gone;
	struct vg_repository r1, r2, rk, got;
	struct vg_snapshot s1, s2, sk, sg, again;
	struct vg_threat_profile t1, t2, tg;
	struct vg_member m, *ms = NULL;
	struct vg_project_entry *es = NULL;
	json_t *content = json_pack("{s:s}", "k", "v");
	char role[8], *next = NULL;
	bool existed = true, used = true;
	int64_t n = -1;
	size_t count = 0, i;

	make_user(s, "cowner", &o);
	make_user(s, "cmember", &u);
	VT_EQ_INT(make_project(s, o.id, "Doomed", 0, &p), VG_OK, "project");
	VT_EQ_INT(make_project(s, o.id, "Kept", 0, &keep), VG_OK, "a project that stays");
	put_member(s, p.id, u.id, "member", o.id, 0, &m, NULL, VG_OK, "a member");
	VT_EQ_INT(make_repo(s, p.id, "r1", 0, &r1), VG_OK, "r1");
	VT_EQ_INT(make_repo(s, p.id, "r2", 0, &r2), VG_OK, "r2");
	VT_EQ_INT(make_repo(s, keep.id, "rk", 0, &rk), VG_OK, "rk");
	VT_EQ_INT(make_snapshot(s, r1.id, 0xc1, 0, &s1, NULL), VG_OK, "r1's snapshot");
	VT_EQ_INT(make_snapshot(s, r2.id, 0xc2, 0, &s2, NULL), VG_OK, "r2's snapshot");
	VT_EQ_INT(make_snapshot(s, rk.id, 0xc1, 0, &sk, NULL), VG_OK, "rk's, same content as r1's");
	set_ingest(s, r2.id, "ready", NULL, NULL, NULL, s2.id, 0, NULL, VG_OK, "r2 ready");
	VT_EQ_INT(make_profile(s, r1.id, "t1", 0, content, &t1), VG_OK, "r1's profile");
	VT_EQ_INT(make_profile(s, r2.id, "t2", 0, content, &t2), VG_OK, "r2's profile");

	VT_EQ_INT(vg_store_repository_delete(s, r1.id), VG_OK, "delete r1");
	VT_EQ_INT(vg_store_snapshot_get(s, s1.id, &sg), VG_ERR_NOT_FOUND, "its snapshot is gone");
	VT_EQ_INT(vg_store_threat_profile_get(s, t1.id, 0, &tg), VG_ERR_NOT_FOUND,
	    "its profile is gone");
	VT_EQ_INT(vg_store_snapshot_get(s, s2.id, &sg), VG_OK, "r2's snapshot stays");
	VT_EQ_INT(vg_store_snapshot_get(s, sk.id, &sg), VG_OK, "and rk's of the same content");
	VT_EQ_INT(vg_store_threat_profile_get(s, t2.id, 0, &tg), VG_OK, "r2's profile stays");
	vg_threat_profile_clear(&tg);
	VT_EQ_INT(vg_store_snapshot_key_used(s, s1.storage_key, &used), VG_OK, "key used?");
	VT_OK(used, "still, by rk's snapshot");
	VT_EQ_INT(vg_store_repository_count(s, p.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 1, "one repository left");

	VT_EQ_INT(vg_store_project_delete(s, p.id), VG_OK, "delete the project");
	VT_EQ_INT(vg_store_project_get(s, p.id, &gone), VG_ERR_NOT_FOUND, "gone");
	VT_EQ_INT(vg_store_repository_get(s, r2.id, &got), VG_ERR_NOT_FOUND, "its repository");
	VT_EQ_INT(vg_store_snapshot_get(s, s2.id, &sg), VG_ERR_NOT_FOUND, "its snapshot");
	VT_EQ_INT(vg_store_threat_profile_get(s, t2.id, 0, &tg), VG_ERR_NOT_FOUND, "its profile");
	VT_EQ_INT(vg_store_member_role(s, p.id, u.id, role), VG_ERR_NOT_FOUND, "its member");
	VT_EQ_INT(vg_store_member_role(s, p.id, o.id, role), VG_ERR_NOT_FOUND, "its owner");
	VT_EQ_INT(vg_store_member_list(s, p.id, &ms, &count), VG_ERR_NOT_FOUND,
	    "no members listed");
	VT_OK(ms == NULL, "none handed back");
	VT_EQ_INT(vg_store_repository_count(s, p.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 0, "no repositories");
	VT_EQ_INT(vg_store_snapshot_count(s, r2.id, &n), VG_OK, "snapshot count");
	VT_EQ_INT(n, 0, "no snapshots");
	VT_EQ_INT(vg_store_threat_profile_count(s, r2.id, &n), VG_OK, "profile count");
	VT_EQ_INT(n, 0, "no profiles");
	VT_EQ_INT(vg_store_snapshot_key_used(s, s2.storage_key, &used), VG_OK, "key used?");
	VT_OK(!used, "no longer");
	VT_EQ_INT(vg_store_project_count_owned(s, o.id, &n), VG_OK, "owned");
	VT_EQ_INT(n, 1, "only the kept one");
	VT_EQ_INT(vg_store_project_list(s, u.id, NULL, 10, &es, &count, &next), VG_OK,
	    "the member's list");
	VT_EQ_INT(count, 0, "is empty");
	free(es);
	es = NULL;
	VT_EQ_INT(vg_store_project_list(s, o.id, NULL, 10, &es, &count, &next), VG_OK,
	    "the owner's list");
	VT_EQ_INT(count, 1, "holds the kept project");
	for (i = 0; i < count; i++)
		EQ_STR(es[i].project.id, keep.id, "the kept one");
	free(es);
	/* The kept repository records the same content as a new row no more. */
	VT_EQ_INT(make_snapshot(s, rk.id, 0xc1, 0, &again, &existed), VG_OK, "rk again");
	VT_OK(existed, "found");
	EQ_STR(again.id, sk.id, "its own row");
	if (strcmp(backend, "json") == 0) {
		struct vg_jsondb *db = NULL;
		json_t *left = NULL, *idx;
		char dir[400];
		size_t j, stale = 0;

		snprintf(dir, sizeof dir, "%s/data/store", tmpdir);
		VT_EQ_INT(vg_jsondb_open(dir, &db), VG_OK, "open the files");
		VT_EQ_INT(vg_jsondb_list(db, "snapshot_digests", NULL, NULL, &left), VG_OK,
		    "list the digest index");
		json_array_foreach(left, j, idx) {
			const char *rid = json_string_value(json_object_get(idx, "repository_id"));

			if (rid && (!strcmp(rid, r1.id) || !strcmp(rid, r2.id)))
				stale++;
		}
		VT_EQ_INT(stale, 0, "no index entry of a deleted repository is left");
		json_decref(left);
		vg_jsondb_free(db);
	}
	json_decref(content);
}

static void
case_rollup(struct vg_store *s)
{
	struct vg_user o;
	struct vg_project p;
	struct vg_repository r;
	struct vg_project_rollup ru;
	char ghost[VG_UUID_LEN + 1];
	size_t k;

	make_user(s, "uowner", &o);
	vg_uuid_new(ghost);
	VT_EQ_INT(make_project(s, o.id, "Rollup", 0, &p), VG_OK, "project");
	VT_EQ_INT(vg_store_project_rollup(s, p.id, &ru), VG_OK, "roll-up of an empty project");
	VT_EQ_INT(ru.repositories, 0, "no repositories");
	EQ_STR(ru.last_scan_status, "", "no scan");
	VT_EQ_INT(ru.last_scan_at_us, 0, "no scan time");
	for (k = 0; k < VG_SEVERITY_COUNT; k++)
		VT_EQ_INT(ru.open_findings[k], 0, "no findings");
	VT_EQ_INT(make_repo(s, p.id, "a", 0, &r), VG_OK, "a repository");
	VT_EQ_INT(make_repo(s, p.id, "b", 0, &r), VG_OK, "another");
	VT_EQ_INT(vg_store_project_rollup(s, p.id, &ru), VG_OK, "roll-up");
	VT_EQ_INT(ru.repositories, 2, "two repositories");
	VT_EQ_INT(vg_store_project_rollup(s, ghost, &ru), VG_ERR_NOT_FOUND, "an unknown project");
	VT_EQ_INT(vg_store_project_rollup(s, "p", &ru), VG_ERR_NOT_FOUND, "a malformed id");
}

/*
 * The json roll-up reads the scans and findings a later part of the store
 * writes: the newest scan of the project's repositories, and its open
 * findings by severity, nothing of another project's.
 */
static void
case_json_rollup_scans(struct vg_store *s)
{
	struct vg_user o;
	struct vg_project p, q;
	struct vg_repository r1, r2, rq;
	struct vg_project_rollup ru;
	struct vg_project_entry *es = NULL;
	struct vg_jsondb *db = NULL;
	char dir[400], id[VG_UUID_LEN + 1], *next = NULL, at[VG_TIME_RFC3339_LEN];
	size_t count = 0, i;
	static const struct {
		int repo;            /* 0: r1, 1: r2, 2: rq */
		int64_t at_s;
		const char *status;
	} scans[] = {
		{0, 100, "completed"}, {1, 300, "running"}, {0, 200, "failed"}, {2, 900, "queued"},
	};
	/* A fingerprint seen by several scans counts once, as its newest row
	 * says: "fa" was open and is dismissed now, "fb" the reverse. */
	static const struct {
		int repo;
		const char *severity, *status, *fingerprint;
		int64_t at_s;
	} findings[] = {
		{0, "critical", "open", "f1", 1}, {1, "critical", "open", "f1", 1},
		{0, "high", "dismissed", "f2", 1}, {1, "low", "open", "f3", 1},
		{1, "info", "open", "f4", 1}, {0, "info", "open", "f5", 1},
		{2, "high", "open", "f6", 1}, {0, "medium", "confirmed", "f7", 1},
		{0, "high", "open", "fa", 10}, {0, "high", "dismissed", "fa", 20},
		{1, "medium", "dismissed", "fb", 10}, {1, "medium", "open", "fb", 20},
		{1, "critical", "open", "", 5}, {1, "critical", "open", "", 5},
	};
	const char *repo_ids[3];

	make_user(s, "jowner", &o);
	VT_EQ_INT(make_project(s, o.id, "Scanned", 0, &p), VG_OK, "project");
	VT_EQ_INT(make_project(s, o.id, "Other", 0, &q), VG_OK, "another project");
	VT_EQ_INT(make_repo(s, p.id, "r1", 0, &r1), VG_OK, "r1");
	VT_EQ_INT(make_repo(s, p.id, "r2", 0, &r2), VG_OK, "r2");
	VT_EQ_INT(make_repo(s, q.id, "rq", 0, &rq), VG_OK, "rq");
	repo_ids[0] = r1.id;
	repo_ids[1] = r2.id;
	repo_ids[2] = rq.id;
	snprintf(dir, sizeof dir, "%s/data/store", tmpdir);
	VT_EQ_INT(vg_jsondb_open(dir, &db), VG_OK, "open the files");
	for (i = 0; db && i < sizeof scans / sizeof scans[0]; i++) {
		json_t *rec;

		vg_uuid_new(id);
		vg_time_format(t_base + scans[i].at_s * SEC, at);
		rec = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "repository_id",
		    repo_ids[scans[i].repo], "status", scans[i].status, "created_at", at);
		VT_EQ_INT(vg_jsondb_create(db, "scans", id, rec), VG_OK, "write a scan");
		json_decref(rec);
	}
	for (i = 0; db && i < sizeof findings / sizeof findings[0]; i++) {
		json_t *rec;

		vg_uuid_new(id);
		vg_time_format(t_base + findings[i].at_s * SEC, at);
		rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "repository_id",
		    repo_ids[findings[i].repo], "severity", findings[i].severity,
		    "status", findings[i].status, "fingerprint", findings[i].fingerprint,
		    "created_at", at);
		VT_EQ_INT(vg_jsondb_create(db, "findings", id, rec), VG_OK, "write a finding");
		json_decref(rec);
	}
	vg_jsondb_free(db);

	VT_EQ_INT(vg_store_project_rollup(s, p.id, &ru), VG_OK, "roll-up");
	VT_EQ_INT(ru.repositories, 2, "two repositories");
	EQ_STR(ru.last_scan_status, "running", "the newest scan's status");
	VT_EQ_INT(ru.last_scan_at_us, t_base + 300 * SEC, "and time (not the other project's)");
	VT_EQ_INT(ru.open_findings[0], 4, "four critical (one per repository and fingerprint,"
	    " and two without one)");
	VT_EQ_INT(ru.open_findings[1], 0, "no open high (dismissed now, or elsewhere)");
	VT_EQ_INT(ru.open_findings[2], 1, "one open medium (reopened; one confirmed)");
	VT_EQ_INT(ru.open_findings[3], 1, "one low");
	VT_EQ_INT(ru.open_findings[4], 2, "two info");
	VT_EQ_INT(vg_store_project_list(s, o.id, NULL, 10, &es, &count, &next), VG_OK, "list");
	for (i = 0; i < count; i++)
		if (strcmp(es[i].project.id, p.id) == 0) {
			EQ_STR(es[i].rollup.last_scan_status, "running", "the list has the roll-up");
			VT_EQ_INT(es[i].rollup.open_findings[0], 4, "with its findings");
		} else {
			EQ_STR(es[i].rollup.last_scan_status, "queued", "the other's own scan");
			VT_EQ_INT(es[i].rollup.open_findings[1], 1, "and finding");
		}
	VT_EQ_INT(count, 2, "two projects");
	free(es);
}

/* ---- setup and the table ---- */

static const struct {
	const char *name;
	void (*fn)(struct vg_store *s);
	const char *only;   /* NULL: every backend */
} cases[] = {
	{"severities", case_severities, NULL},
	{"no_table", case_no_table, NULL},
	{"projects", case_projects, NULL},
	{"project_invalid", case_project_invalid, NULL},
	{"project_list", case_project_list, NULL},
	{"members", case_members, NULL},
	{"last_owner", case_last_owner, NULL},
	{"repositories", case_repositories, NULL},
	{"ingest", case_ingest, NULL},
	{"snapshots", case_snapshots, NULL},
	{"snapshot_race", case_snapshot_race, NULL},
	{"profiles", case_profiles, NULL},
	{"profile_race", case_profile_race, NULL},
	{"cascade", case_cascade, NULL},
	{"rollup", case_rollup, NULL},
	{"json_rollup_scans", case_json_rollup_scans, "json"},
};

/* Point the settings at the backend under test; exits on a bad setup. */
static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vega-test-sources.XXXXXX");
	backend = store_backend_setup(tmpdir, sizeof tmpdir);
	/* A whole second, a day back: times cases choose stay in the past
	 * and survive Postgres's microseconds unchanged. */
	t_base = (vg_time_now_us() / SEC - 86400) * SEC;
}

int
main(void)
{
	struct vg_store *s = NULL;
	char cmd[600];
	size_t i;
	int rc;

	setup();
	VT_EQ_INT(vg_store_open(&s), VG_OK, "open the store");
	if (!s)
		return vt_done();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].only && strcmp(cases[i].only, backend) != 0) {
			printf("# case %s is specific to the %s backend\n", cases[i].name,
			    cases[i].only);
			continue;
		}
		printf("# case %s\n", cases[i].name);
		cases[i].fn(s);
	}
	vg_store_free(s);
	vg_pg_disconnect(vg_pg_default());
	rc = vt_done();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return rc;
}
