/*
 * test_store.c - the store contract suite: one table of cases run against
 * the backend named by VEGA_TEST_BACKEND (json or postgres).
 *
 * Which backend: VEGA_TEST_BACKEND when set, else VEGA_PERSISTENCE_BACKEND,
 * else json; the first line of output says which and why.  postgres needs
 * VEGA_TEST_DATABASE_URL (a database it may fill) and VEGA_SRCDIR (for the
 * migrations) and bails out loudly without them; it is run that way by
 * tests/e2e/store-postgres.e2e against a throwaway cluster, whose
 * VG_PG_DIR/VG_PG_BIN/VG_PG_PORT the reconnect case uses to stop and start
 * the server mid-test, and whose sessions the lost-session cases end
 * from a second connection (pg_terminate_backend, what a restart does to
 * each session).  json runs in a fresh temporary VEGA_DATA_DIR.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/id.h"
#include "core/str.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "store/jsondb.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store_backend.h"
#include "vt.h"

#define NPROCS 8
#define PER_PROC 50

static const char *backend;        /* "json" or "postgres" */
static char tmpdir[256];           /* json: the data dir; both: scratch */

/* ---- helpers ---- */

/* Every audit item, newest first, by paging with limit per page. */
static json_t *
list_all(struct vg_store *s, int limit)
{
	json_t *all = json_array(), *page = NULL;
	char *cursor = NULL, *next = NULL;
	int pages = 0;

	do {
		if (vg_store_audit_list(s, cursor, limit, &page, &next) != VG_OK) {
			json_decref(all);
			all = NULL;
			break;
		}
		json_array_extend(all, page);
		json_decref(page);
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor && ++pages < 100000);
	free(cursor);
	return all;
}

/* Run a pg.sh function (vg_pg_down, vg_pg_up, vg_pg_restart). */
static int
pg_helper(const char *fn)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "bash -c '. \"$VEGA_SRCDIR/tests/helpers/pg.sh\" && %s'", fn);
	return system(cmd);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* ---- cases ---- */

static void
case_backend(struct vg_store *s)
{
	VT_EQ_STR(vg_store_backend(s), backend, "the store has the backend asked for");
}

static void
case_ping(struct vg_store *s)
{
	VT_EQ_INT(vg_store_ping(s), VG_OK, "ping answers");
	VT_EQ_INT(vg_store_ping(s), VG_OK, "ping answers twice");
}

static void
case_schema_current(struct vg_store *s)
{
	bool current = false;
	char detail[256];

	VT_EQ_INT(vg_store_schema_current(s, &current, detail, sizeof detail), VG_OK,
	    "schema_current answers");
	VT_OK(current, "schema is current after setup");
	VT_OK(detail[0] != '\0', "schema_current explains itself");
}

/* A migrations dir with one pending and one changed file is not current. */
static void
case_schema_drift(struct vg_store *s)
{
	static const char *const files[] = {"001_accounts.sql", "002_projects_sources.sql",
	    "003_scans.sql", "004_ops.sql"};
	char dir[300], src[512], dst[600], cmd[1400];
	const char *old = getenv("VEGA_MIGRATIONS_DIR");
	char oldcopy[512], msg[256], detail[512];
	bool current = true;
	size_t i;

	snprintf(oldcopy, sizeof oldcopy, "%s", old ? old : "");
	snprintf(dir, sizeof dir, "%s/drift", tmpdir);
	mkdir(dir, 0700);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(src, sizeof src, "%s/%s", oldcopy, files[i]);
		snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
		VT_EQ_INT(system(cmd), 0, "copy a migration");
	}
	snprintf(dst, sizeof dst, "%s/999_later.sql", dir);
	write_file(dst, "SELECT 1;\n");
	setenv("VEGA_MIGRATIONS_DIR", dir, 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings reload");
	VT_EQ_INT(vg_store_schema_current(s, &current, detail, sizeof detail), VG_OK,
	    "schema_current with a pending file");
	VT_OK(!current, "a pending migration makes the schema not current");
	VT_OK(strstr(detail, "pending 999_later.sql") != NULL, "detail names the pending file");
	snprintf(dst, sizeof dst, "%s/002_projects_sources.sql", dir);
	write_file(dst, "-- edited\n");
	VT_EQ_INT(vg_store_schema_current(s, &current, detail, sizeof detail), VG_OK,
	    "schema_current with a changed file");
	VT_OK(!current, "a changed migration makes the schema not current");
	VT_OK(strstr(detail, "changed 002_projects_sources.sql") != NULL,
	    "detail names the changed file");
	setenv("VEGA_MIGRATIONS_DIR", oldcopy, 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings restored");
	VT_EQ_INT(vg_store_schema_current(s, &current, detail, sizeof detail), VG_OK,
	    "schema_current again");
	VT_OK(current, "current again with the real directory");
}

static void
case_audit_fields(struct vg_store *s)
{
	char actor[VG_UUID_LEN + 1];
	json_t *details = json_pack("{s:s, s:i}", "why", "test", "n", 3);
	struct vg_audit_event full = {.action = "test.full", .target_type = "project",
	    .target_id = "p-1", .request_id = "req-1", .client_ip = "192.0.2.7",
	    .details = details};
	struct vg_audit_event bare = {.action = "test.bare"};
	json_t *items = NULL, *it;
	char *next = NULL, at[VG_TIME_RFC3339_LEN];

	vg_uuid_new(actor);
	full.actor_id = actor;
	VT_EQ_INT(vg_store_audit_append(s, &full), VG_OK, "append a full event");
	VT_OK(vg_uuid_valid(full.id), "append sets the id");
	VT_OK(full.at_us > 0, "append sets the time");
	bare.at_us = full.at_us + 1;
	VT_EQ_INT(vg_store_audit_append(s, &bare), VG_OK, "append a bare event");
	VT_EQ_INT(bare.at_us, full.at_us + 1, "an explicit time is kept");
	VT_EQ_INT(vg_store_audit_list(s, NULL, 2, &items, &next), VG_OK, "list two");
	VT_EQ_INT(json_array_size(items), 2, "two items");
	it = json_array_get(items, 0);
	VT_EQ_STR(json_string_value(json_object_get(it, "id")), bare.id, "newest first");
	VT_OK(json_is_null(json_object_get(it, "actor_id")), "absent actor is null");
	VT_OK(json_is_null(json_object_get(it, "details")), "absent details are null");
	VT_OK(json_is_null(json_object_get(it, "client_ip")), "absent client_ip is null");
	it = json_array_get(items, 1);
	vg_time_format(full.at_us, at);
	VT_EQ_STR(json_string_value(json_object_get(it, "id")), full.id, "second is the full one");
	VT_EQ_STR(json_string_value(json_object_get(it, "at")), at, "time round-trips to the microsecond");
	VT_EQ_STR(json_string_value(json_object_get(it, "actor_id")), actor, "actor_id");
	VT_EQ_STR(json_string_value(json_object_get(it, "action")), "test.full", "action");
	VT_EQ_STR(json_string_value(json_object_get(it, "target_type")), "project", "target_type");
	VT_EQ_STR(json_string_value(json_object_get(it, "target_id")), "p-1", "target_id");
	VT_EQ_STR(json_string_value(json_object_get(it, "request_id")), "req-1", "request_id");
	VT_EQ_STR(json_string_value(json_object_get(it, "client_ip")), "192.0.2.7", "client_ip");
	VT_OK(json_equal(json_object_get(it, "details"), details), "details round-trip");
	VT_EQ_INT(json_object_size(it), 9, "exactly the documented fields");
	json_decref(items);
	free(next);
	VT_EQ_INT(vg_store_audit_list(s, NULL, 1, &items, &next), VG_OK, "list one");
	VT_OK(next != NULL, "a cursor when more items follow");
	json_decref(items);
	json_decref(details);
	free(next);
}

static void
case_audit_invalid(struct vg_store *s)
{
	static const char *const cursors[] = {
		"", "garbage!", "bm90LWEtY3Vyc29y", "MTIzLm5vdC1hLXV1aWQ",
		"=", "MTIz", "AAAA", "MTIzLjEyM2U0NTY3LWU4OWItMTJkMy1hNDU2LTQyNjYxNDE3NDAwMA==",
		"MTIzLjEyM2U0NTY3LWU4OWItMTJkMy1hNDU2LTQyNjYxNDE3NDAwMB",
		"eDEyMy4xMjNlNDU2Ny1lODliLTEyZDMtYTQ1Ni00MjY2MTQxNzQwMDA",
		"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
	};
	json_t *arr = json_array(), *items = NULL;
	char *next = NULL;
	struct {
		struct vg_audit_event ev;
		const char *name;
	} bad[] = {
		{{.action = NULL}, "no action"},
		{{.action = ""}, "empty action"},
		{{.action = "x", .actor_id = "not-a-uuid"}, "actor not a uuid"},
		{{.action = "x", .details = arr}, "details not an object"},
		{{.action = "bad\xff"}, "action not UTF-8"},
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		VT_EQ_INT(vg_store_audit_append(s, &bad[i].ev), VG_ERR_INVALID, bad[i].name);
	VT_EQ_INT(vg_store_audit_list(s, NULL, 0, &items, &next), VG_ERR_INVALID, "limit 0");
	VT_EQ_INT(vg_store_audit_list(s, NULL, VG_STORE_LIST_MAX + 1, &items, &next),
	    VG_ERR_INVALID, "limit over the maximum");
	for (i = 0; i < sizeof cursors / sizeof cursors[0]; i++) {
		VT_EQ_INT(vg_store_audit_list(s, cursors[i], 10, &items, &next), VG_ERR_INVALID,
		    cursors[i]);
		VT_OK(items == NULL && next == NULL, "nothing handed out on error");
	}
	json_decref(arr);
}

static void
case_cursor_codec(struct vg_store *s)
{
	struct vg_store_pos a = {1700000000123456, ""}, b;
	char *c;

	(void)s;
	vg_uuid_new(a.id);
	c = vg_store_cursor_encode(&a);
	VT_OK(c != NULL, "cursor encodes");
	VT_OK(c && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
	    == strlen(c), "cursor is URL-safe");
	VT_EQ_INT(vg_store_cursor_decode(c, &b), VG_OK, "cursor decodes");
	VT_EQ_INT(b.at_us, a.at_us, "time survives");
	VT_EQ_STR(b.id, a.id, "id survives");
	free(c);
	a.at_us = -5;
	c = vg_store_cursor_encode(&a);
	VT_EQ_INT(vg_store_cursor_decode(c, &b), VG_OK, "negative time decodes");
	VT_EQ_INT(b.at_us, -5, "negative time survives");
	free(c);
}

/* Newest-first paging over events this case appends (the newest ones). */
static void
case_audit_paging(struct vg_store *s)
{
	json_t *before = list_all(s, 100), *all, *page = NULL;
	int64_t base = vg_time_now_us();
	char ids[7][VG_UUID_LEN + 1], *cursor = NULL, *next = NULL;
	int i, seen = 0, pages = 0;
	size_t j;

	for (i = 0; i < 7; i++) {
		struct vg_audit_event ev = {.action = "test.page", .at_us = base + i * 1000};

		VT_EQ_INT(vg_store_audit_append(s, &ev), VG_OK, "append for paging");
		memcpy(ids[i], ev.id, sizeof ids[i]);
	}
	/* Pages of 3: 3 + 3 + 1 of ours first, newest first. */
	do {
		VT_EQ_INT(vg_store_audit_list(s, cursor, 3, &page, &next), VG_OK, "page");
		VT_OK(json_array_size(page) <= 3, "a page holds at most limit items");
		for (j = 0; j < json_array_size(page) && seen < 7; j++, seen++)
			VT_EQ_STR(json_string_value(json_object_get(json_array_get(page, j), "id")),
			    ids[6 - seen], "paged in newest-first order");
		json_decref(page);
		page = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
		pages++;
	} while (cursor && seen < 7);
	free(cursor);
	VT_EQ_INT(seen, 7, "all appended events seen");
	VT_OK(pages >= 3, "three pages of three");
	all = list_all(s, 2);
	VT_EQ_INT(json_array_size(all), json_array_size(before) + 7, "full walk counts everything once");
	/* The walk is strictly ordered newest first. */
	for (j = 1; j < json_array_size(all); j++) {
		int64_t a = 0, b = 0;

		vg_time_parse(json_string_value(json_object_get(json_array_get(all, j - 1), "at")), &a);
		vg_time_parse(json_string_value(json_object_get(json_array_get(all, j), "at")), &b);
		if (a < b)
			break;
	}
	VT_EQ_INT(j, json_array_size(all), "never an older item before a newer one");
	json_decref(before);
	json_decref(all);
}

/* Equal times are ordered by id and never skipped or repeated by cursors. */
static void
case_audit_ties(struct vg_store *s)
{
	char ids[3][VG_UUID_LEN + 1];
	json_t *all, *it;
	size_t i, first = 0, found = 0;
	int k;

	for (k = 0; k < 3; k++) {
		struct vg_audit_event ev = {.action = "test.tie", .at_us = 1000000000000000};

		VT_EQ_INT(vg_store_audit_append(s, &ev), VG_OK, "append a tie");
		memcpy(ids[k], ev.id, sizeof ids[k]);
	}
	all = list_all(s, 1);
	json_array_foreach(all, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "action")), "test.tie") != 0)
			continue;
		if (!found++)
			first = i;
	}
	VT_EQ_INT(found, 3, "each tie seen exactly once with limit 1");
	VT_OK(found == 3 && strcmp(
	    json_string_value(json_object_get(json_array_get(all, first), "id")),
	    json_string_value(json_object_get(json_array_get(all, first + 1), "id"))) > 0 &&
	    strcmp(json_string_value(json_object_get(json_array_get(all, first + 1), "id")),
	    json_string_value(json_object_get(json_array_get(all, first + 2), "id"))) > 0,
	    "ties come in descending id order, adjacent");
	json_decref(all);
}

static struct vg_worker *
find_worker(struct vg_worker *ws, size_t n, const char *id, size_t *at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(ws[i].id, id) == 0) {
			*at = i;
			return &ws[i];
		}
	return NULL;
}

static void
case_workers(struct vg_store *s)
{
	struct vg_worker a, b, bad, *ws = NULL, *got;
	size_t n = 0, n0 = 0, ia = 0, ib = 0;
	int64_t t = vg_time_now_us();
	char scan[VG_UUID_LEN + 1];

	memset(&a, 0, sizeof a);
	vg_uuid_new(a.id);
	snprintf(a.host, sizeof a.host, "host-a");
	a.pid = 4242;
	snprintf(a.version, sizeof a.version, "0.1.0");
	a.started_at_us = t - 5000000;
	a.last_heartbeat_us = t;
	snprintf(a.state, sizeof a.state, "idle");
	b = a;
	vg_uuid_new(b.id);
	snprintf(b.host, sizeof b.host, "host-b");
	b.last_heartbeat_us = t + 1;

	VT_EQ_INT(vg_store_worker_list(s, &ws, &n0), VG_OK, "list workers before");
	free(ws);
	VT_EQ_INT(vg_store_worker_upsert(s, &a), VG_OK, "insert worker a");
	VT_EQ_INT(vg_store_worker_upsert(s, &b), VG_OK, "insert worker b");
	VT_EQ_INT(vg_store_worker_list(s, &ws, &n), VG_OK, "list workers");
	VT_EQ_INT(n, n0 + 2, "two more workers");
	VT_OK(find_worker(ws, n, a.id, &ia) && find_worker(ws, n, b.id, &ib), "both listed");
	VT_OK(ib < ia, "newest heartbeat first");
	got = find_worker(ws, n, a.id, &ia);
	VT_OK(got && strcmp(got->host, "host-a") == 0 && got->pid == 4242 &&
	    strcmp(got->version, "0.1.0") == 0 && got->started_at_us == a.started_at_us &&
	    got->last_heartbeat_us == t && strcmp(got->state, "idle") == 0 &&
	    got->current_scan_id[0] == '\0', "worker a round-trips");
	free(ws);
	ws = NULL;

	vg_uuid_new(scan);
	a.last_heartbeat_us = t + 2;
	snprintf(a.state, sizeof a.state, "busy");
	memcpy(a.current_scan_id, scan, sizeof scan);
	VT_EQ_INT(vg_store_worker_upsert(s, &a), VG_OK, "heartbeat updates worker a");
	VT_EQ_INT(vg_store_worker_list(s, &ws, &n), VG_OK, "list after update");
	VT_EQ_INT(n, n0 + 2, "an update adds no row");
	got = find_worker(ws, n, a.id, &ia);
	find_worker(ws, n, b.id, &ib);
	VT_OK(got && ia < ib, "updated worker is now first");
	VT_OK(got && strcmp(got->state, "busy") == 0 && strcmp(got->current_scan_id, scan) == 0 &&
	    got->last_heartbeat_us == t + 2, "update stored");
	free(ws);

	bad = a;
	snprintf(bad.state, sizeof bad.state, "dancing");
	VT_EQ_INT(vg_store_worker_upsert(s, &bad), VG_ERR_INVALID, "unknown state refused");
	bad = a;
	snprintf(bad.id, sizeof bad.id, "not-a-uuid");
	VT_EQ_INT(vg_store_worker_upsert(s, &bad), VG_ERR_INVALID, "bad id refused");
	bad = a;
	snprintf(bad.current_scan_id, sizeof bad.current_scan_id, "nope");
	VT_EQ_INT(vg_store_worker_upsert(s, &bad), VG_ERR_INVALID, "bad scan id refused");
	bad = a;
	bad.host[0] = '\0';
	VT_EQ_INT(vg_store_worker_upsert(s, &bad), VG_ERR_INVALID, "empty host refused");
}

/* A child: append PER_PROC events after the start signal. */
static int
child_append(int proc, int startfd)
{
	struct vg_store *s = NULL;
	char go;
	int i, failures = 0;

	if (read(startfd, &go, 1) != 1)
		return 3;
	if (vg_store_open(&s) != VG_OK)
		return 4;
	for (i = 0; i < PER_PROC; i++) {
		json_t *d = json_pack("{s:i, s:i}", "proc", proc, "n", i);
		struct vg_audit_event ev = {.action = "test.concurrent", .details = d};

		if (vg_store_audit_append(s, &ev) != VG_OK)
			failures++;
		json_decref(d);
	}
	vg_store_free(s);
	return failures ? 5 : 0;
}

/* Whether every file in the json audit collection parses; no temporaries. */
static void
check_json_files(void)
{
	char dir[400], path[700];
	DIR *d;
	struct dirent *de;
	int bad = 0, tmp = 0, n = 0;

	snprintf(dir, sizeof dir, "%s/data/store/audit", tmpdir);
	if (!(d = opendir(dir))) {
		VT_OK(0, "audit collection directory exists");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		json_t *v;

		if (strncmp(de->d_name, ".tmp-", 5) == 0)
			tmp++;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (!(v = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(v))
			bad++;
		json_decref(v);
		n++;
	}
	closedir(d);
	VT_OK(n >= NPROCS * PER_PROC, "a file per event");
	VT_EQ_INT(bad, 0, "every record file parses");
	VT_EQ_INT(tmp, 0, "no temporary file left behind");
}

static void
case_concurrent_appends(struct vg_store *s)
{
	pid_t pids[NPROCS];
	int pipefd[2], i, status, ok = 0;
	char seen[NPROCS][PER_PROC];
	json_t *all, *it;
	size_t j, dup = 0, total = 0;

	VT_EQ_INT(pipe(pipefd), 0, "start pipe");
	fflush(stdout);
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(pipefd[1]);
			_exit(child_append(i, pipefd[0]));
		}
	}
	close(pipefd[0]);
	/* Release them all at once. */
	for (i = 0; i < NPROCS; i++)
		if (write(pipefd[1], "g", 1) != 1)
			break;
	close(pipefd[1]);
	for (i = 0; i < NPROCS; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	VT_EQ_INT(ok, NPROCS, "every writer process succeeded");
	memset(seen, 0, sizeof seen);
	all = list_all(s, 97);
	VT_OK(all != NULL, "list after concurrent appends");
	json_array_foreach(all, j, it) {
		json_t *d = json_object_get(it, "details");
		json_int_t p = json_integer_value(json_object_get(d, "proc"));
		json_int_t k = json_integer_value(json_object_get(d, "n"));

		if (strcmp(json_string_value(json_object_get(it, "action")), "test.concurrent") != 0)
			continue;
		total++;
		if (p >= 0 && p < NPROCS && k >= 0 && k < PER_PROC) {
			if (seen[p][k])
				dup++;
			seen[p][k] = 1;
		}
	}
	VT_EQ_INT(total, NPROCS * PER_PROC, "all 400 events present");
	VT_EQ_INT(dup, 0, "none twice");
	if (strcmp(backend, "json") == 0)
		check_json_files();
	json_decref(all);
	/* The parent's own connection still works after the children. */
	VT_EQ_INT(vg_store_ping(s), VG_OK, "parent still answers after fork");
}

/* A crashed writer's temporary file is invisible; a corrupt record is loud. */
static void
case_json_crash_safety(struct vg_store *s)
{
	char dir[400], path[800];
	json_t *before = list_all(s, 100), *after, *items = NULL;
	char *next = NULL;

	snprintf(dir, sizeof dir, "%s/data/store/audit", tmpdir);
	snprintf(path, sizeof path, "%s/.tmp-00000000-0000-4000-8000-000000000000-99-ab", dir);
	write_file(path, "{\"id\": \"00000000-0000-4000-8000-0000");
	snprintf(path, sizeof path, "%s/.tmp-00000000-0000-4000-8000-000000000001-99-cd", dir);
	write_file(path, "{\"id\": \"00000000-0000-4000-8000-000000000001\", \"action\": \"x\","
	    " \"at\": \"2030-01-01T00:00:00.000000Z\"}\n");
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	write_file(path, "an operator's note\n");
	after = list_all(s, 100);
	VT_OK(after != NULL, "list works beside a crashed writer's leftovers");
	VT_EQ_INT(json_array_size(after), json_array_size(before), "leftovers are not records");
	json_decref(after);
	snprintf(path, sizeof path, "%s/broken.json", dir);
	write_file(path, "{\"id\": ");
	VT_EQ_INT(vg_store_audit_list(s, NULL, 5, &items, &next), VG_ERR_IO,
	    "a corrupt record is reported, not skipped");
	unlink(path);
	VT_EQ_INT(vg_store_audit_list(s, NULL, 5, &items, &next), VG_OK, "fine once removed");
	json_decref(items);
	free(next);
	json_decref(before);
}

/* Stop the server: calls fail fast; start it: the next call works. */
static void
case_pg_reconnect(struct vg_store *s)
{
	int64_t t0, ms;
	json_t *items = NULL;
	char *next = NULL;
	struct vg_audit_event ev = {.action = "test.reconnect"};

	if (!getenv("VG_PG_DIR") || !getenv("VG_PG_BIN") || !getenv("VG_PG_PORT")) {
		VT_OK(0, "reconnect case needs the throwaway cluster of tests/helpers/pg.sh"
		    " (VG_PG_DIR, VG_PG_BIN, VG_PG_PORT)");
		return;
	}
	VT_EQ_INT(vg_store_ping(s), VG_OK, "ping before the outage");
	VT_EQ_INT(pg_helper("vg_pg_down"), 0, "server stopped");
	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_store_ping(s), VG_ERR_UNAVAILABLE, "ping while down is unavailable");
	VT_EQ_INT(vg_store_audit_append(s, &ev), VG_ERR_UNAVAILABLE, "append while down");
	VT_EQ_INT(vg_store_audit_list(s, NULL, 5, &items, &next), VG_ERR_UNAVAILABLE,
	    "list while down");
	ms = (vg_time_mono_us() - t0) / 1000;
	VT_OK(ms < 2000, "failing while down is quick");
	VT_EQ_INT(pg_helper("vg_pg_up"), 0, "server started");
	VT_EQ_INT(vg_store_ping(s), VG_OK, "first ping after the outage succeeds");
	VT_EQ_INT(vg_store_audit_append(s, &ev), VG_OK, "append after the outage");
	/* Restart behind an open connection: the stale one is replaced and the
	 * statement retried, so the caller never sees the restart. */
	VT_EQ_INT(pg_helper("vg_pg_restart"), 0, "server restarted");
	VT_EQ_INT(vg_store_audit_list(s, NULL, 5, &items, &next), VG_OK,
	    "first call on a stale connection succeeds");
	VT_OK(items && json_array_size(items) >= 1, "and returns data");
	json_decref(items);
	free(next);
}

/* ---- lost sessions (postgres) ---- */

/* A connection of the test's own, beside the store's, to end sessions. */
static PGconn *
killer_open(void)
{
	PGconn *k = PQconnectdb(getenv("VEGA_TEST_DATABASE_URL"));

	if (PQstatus(k) != CONNECTION_OK) {
		PQfinish(k);
		return NULL;
	}
	return k;
}

/* The calling thread's backend pid on the store's connection; 0 on error. */
static long
my_backend(void)
{
	PGresult *res = NULL;
	long pid = 0;

	if (vg_pg_exec(vg_pg_default(), "SELECT pg_backend_pid()", 0, NULL, &res) == VG_OK)
		pid = (long)vg_pg_i64(res, 0, 0, 0);
	PQclear(res);
	return pid;
}

/* Whether backend pid is gone within two seconds (asked through k). */
static bool
backend_gone(PGconn *k, long pid)
{
	char p[24];
	const char *params[] = {p};
	int i;

	snprintf(p, sizeof p, "%ld", pid);
	for (i = 0; i < 100; i++) {
		PGresult *r = PQexecParams(k,
		    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", 1, NULL, params, NULL,
		    NULL, 0);
		bool gone = PQresultStatus(r) == PGRES_TUPLES_OK &&
		    strcmp(PQgetvalue(r, 0, 0), "0") == 0;

		PQclear(r);
		if (gone)
			return true;
		usleep(20000);
	}
	return false;
}

/* Rows of vg_test_replay with tag (through k); -1 on error. */
static long
replay_rows(PGconn *k, const char *tag)
{
	const char *params[] = {tag};
	PGresult *r = PQexecParams(k, "SELECT count(*) FROM vg_test_replay WHERE tag = $1", 1, NULL,
	    params, NULL, NULL, 0);
	long n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;

	PQclear(r);
	return n;
}

/* When the server ends the store's session in a case. */
enum session_end {
	END_IDLE,      /* between two statements: the next one must not be lost */
	END_RUNNING,   /* while the case's statement runs (after 0.3 s) */
};

/*
 * Each case runs one statement (with $1 = its tag) on the store's
 * connection while the server ends the session, as a restart does, and
 * says what the caller gets and whether the statement ran once or not at
 * all: pg.c replays only what is harmless to run twice.
 */
static const struct {
	const char *tag;
	const char *sql;
	enum session_end end;
	bool in_tx;
	enum vg_err want;
	long want_rows;          /* rows with the tag afterwards; -1: a read */
	const char *name;
} session_cases[] = {
	{"idle-write", "INSERT INTO vg_test_replay (tag) VALUES ($1)", END_IDLE, false, VG_OK, 1,
	    "a write after the server ended the idle session goes to a new one, once"},
	{"idle-read", "SELECT $1::text", END_IDLE, false, VG_OK, -1,
	    "a read after the server ended the idle session goes to a new one"},
	{"running-write", "INSERT INTO vg_test_replay (tag) SELECT $1 FROM pg_sleep(1)",
	    END_RUNNING, false, VG_ERR_UNAVAILABLE, 0,
	    "a write cut off while it ran is not replayed: unavailable, not stored"},
	{"running-read", "SELECT $1::text FROM pg_sleep(0.8)", END_RUNNING, false, VG_OK, -1,
	    "a read cut off while it ran is replayed on a new session"},
	{"tx-idle-write", "INSERT INTO vg_test_replay (tag) VALUES ($1)", END_IDLE, true,
	    VG_ERR_UNAVAILABLE, 0,
	    "a transaction whose session ended is gone: unavailable, nothing stored"},
};

static void
case_pg_sessions(struct vg_store *s)
{
	struct vg_pg *db = vg_pg_default();
	PGconn *k = killer_open();
	PGresult *res = NULL, *r;
	char name[200], pidtext[24];
	const char *kp[] = {pidtext};
	long pid, after;
	size_t i;
	enum vg_err err;

	(void)s;
	VT_OK(k != NULL, "a second connection to end sessions from");
	if (!k)
		return;
	r = PQexec(k, "CREATE TABLE IF NOT EXISTS vg_test_replay (tag text NOT NULL)");
	PQclear(r);
	r = PQexec(k, "TRUNCATE vg_test_replay");
	PQclear(r);
	for (i = 0; i < sizeof session_cases / sizeof session_cases[0]; i++) {
		const char *params[] = {session_cases[i].tag};

		pid = my_backend();
		snprintf(pidtext, sizeof pidtext, "%ld", pid);
		if (session_cases[i].in_tx)
			VT_EQ_INT(vg_pg_tx_begin(db), VG_OK, "BEGIN");
		if (session_cases[i].end == END_IDLE) {
			r = PQexecParams(k, "SELECT pg_terminate_backend($1::integer)", 1, NULL, kp,
			    NULL, NULL, 0);
			PQclear(r);
			VT_OK(backend_gone(k, pid), "the server ended the idle session");
		} else {
			VT_OK(PQsendQueryParams(k,
			    "SELECT pg_sleep(0.3), pg_terminate_backend($1::integer)", 1, NULL, kp, NULL,
			    NULL, 0), "the session will be ended in 0.3 s");
		}
		err = vg_pg_exec(db, session_cases[i].sql, 1, params, &res);
		if (session_cases[i].end == END_RUNNING)
			while ((r = PQgetResult(k)) != NULL)
				PQclear(r);
		if (session_cases[i].in_tx)
			vg_pg_tx_rollback(db);
		VT_EQ_INT(err, session_cases[i].want, session_cases[i].name);
		if (session_cases[i].want_rows >= 0) {
			snprintf(name, sizeof name, "%s: rows stored", session_cases[i].tag);
			VT_EQ_INT(replay_rows(k, session_cases[i].tag), session_cases[i].want_rows,
			    name);
		} else if (err == VG_OK) {
			snprintf(name, sizeof name, "%s: the read's answer", session_cases[i].tag);
			VT_EQ_STR(vg_pg_text(res, 0, 0), session_cases[i].tag, name);
		}
		PQclear(res);
		res = NULL;
		after = my_backend();
		snprintf(name, sizeof name, "%s: the next call runs on a new session",
		    session_cases[i].tag);
		VT_OK(after != 0 && after != pid, name);
	}
	r = PQexec(k, "DROP TABLE vg_test_replay");
	PQclear(r);
	PQfinish(k);
}

struct thread_pid {
	long pid;
};

static void *
thread_backend(void *arg)
{
	struct thread_pid *t = arg;

	t->pid = my_backend();
	return NULL;
}

/* Two threads never share a connection (libpq runs one statement at a
 * time on one), and a thread's connection closes when the thread ends. */
static void
case_pg_threads(struct vg_store *s)
{
	struct thread_pid t = {0};
	pthread_t th;
	PGconn *k = killer_open();
	long mine = my_backend();

	(void)s;
	VT_OK(k != NULL, "a second connection to look from");
	VT_OK(mine != 0, "the main thread's session");
	VT_EQ_INT(pthread_create(&th, NULL, thread_backend, &t), 0, "a second thread");
	pthread_join(th, NULL);
	VT_OK(t.pid != 0 && t.pid != mine, "the second thread had a session of its own");
	if (k)
		VT_OK(backend_gone(k, t.pid), "closed when its thread ended");
	VT_EQ_INT(my_backend(), mine, "the main thread's session is untouched");
	PQfinish(k);
}

/* The SQLSTATE table. */
static void
case_sqlstate_map(struct vg_store *s)
{
	static const struct { const char *state; enum vg_err want; } cases[] = {
		{"23505", VG_ERR_CONFLICT}, {"23503", VG_ERR_CONFLICT}, {"23514", VG_ERR_INVALID},
		{"23502", VG_ERR_INVALID}, {"22P02", VG_ERR_INVALID}, {"08006", VG_ERR_UNAVAILABLE},
		{"08001", VG_ERR_UNAVAILABLE}, {"57P01", VG_ERR_UNAVAILABLE},
		{"57P03", VG_ERR_UNAVAILABLE}, {"53300", VG_ERR_UNAVAILABLE},
		{"40001", VG_ERR_UNAVAILABLE}, {"42P01", VG_ERR_INTERNAL}, {"", VG_ERR_INTERNAL},
		{NULL, VG_ERR_INTERNAL}, {"57P04", VG_ERR_INTERNAL},
	};
	size_t i;

	(void)s;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		VT_EQ_INT(vg_pg_err_from_sqlstate(cases[i].state), cases[i].want,
		    cases[i].state ? cases[i].state : "(null)");
}

/* ---- accounts ---- */

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PW_HASH "scrypt$10$8$1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

/* A distinct 64-hex hash per n (a stand-in for vg_token_hash). */
static void
hash_n(int n, char out[65])
{
	snprintf(out, 65, "%064x", n);
}

/* A fresh e-mail per call, so cases never collide across backends' runs. */
static void
fresh_email(char *out, size_t n, const char *tag)
{
	char id[VG_UUID_LEN + 1];

	vg_uuid_new(id);
	snprintf(out, n, "%s-%.8s@Example.ORG", tag, id);
}

static void
case_users(struct vg_store *s)
{
	struct vg_user u, got, other;
	char email[128], lower[128], sub[VG_UUID_LEN + 1];
	int64_t n0 = -1, n1 = -1;
	size_t i;

	VT_EQ_INT(vg_store_user_count(s, &n0), VG_OK, "count users");
	memset(&u, 0, sizeof u);
	fresh_email(email, sizeof email, "ada");
	vg_str_copy(u.email, sizeof u.email, email);
	vg_str_copy(u.display_name, sizeof u.display_name, "Ada");
	vg_str_copy(u.password_hash, sizeof u.password_hash, PW_HASH);
	u.groups = VG_GROUP_USER | VG_GROUP_OPERATOR;
	VT_EQ_INT(vg_store_user_create(s, &u), VG_OK, "create a user");
	VT_OK(vg_uuid_valid(u.id), "create sets the id");
	for (i = 0; email[i]; i++)
		lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	lower[i] = '\0';
	VT_EQ_STR(u.email, lower, "the e-mail is stored lower-cased");
	VT_OK(u.created_at_us > 0 && u.password_changed_us == u.created_at_us, "times set");
	VT_EQ_INT(vg_store_user_count(s, &n1), VG_OK, "count again");
	VT_EQ_INT(n1, n0 + 1, "one more user");

	VT_EQ_INT(vg_store_user_get(s, u.id, &got), VG_OK, "get by id");
	VT_EQ_STR(got.email, lower, "email round-trips");
	VT_EQ_STR(got.display_name, "Ada", "display name");
	VT_EQ_INT(got.groups, VG_GROUP_USER | VG_GROUP_OPERATOR, "groups round-trip");
	VT_EQ_STR(got.password_hash, PW_HASH, "password hash round-trips");
	VT_EQ_INT(got.created_at_us, u.created_at_us, "created_at to the microsecond");
	VT_OK(!got.disabled && got.last_login_us == 0 && got.cognito_sub[0] == '\0', "defaults");
	VT_EQ_INT(vg_store_user_by_email(s, email, &got), VG_OK, "get by e-mail, any case");
	VT_EQ_STR(got.id, u.id, "the same user");
	VT_EQ_INT(vg_store_user_by_email(s, "nobody@example.org", &got), VG_ERR_NOT_FOUND,
	    "unknown e-mail");
	VT_EQ_INT(vg_store_user_get(s, "00000000-0000-4000-8000-000000000000", &got),
	    VG_ERR_NOT_FOUND, "unknown id");
	VT_EQ_INT(vg_store_user_get(s, "not-a-uuid", &got), VG_ERR_NOT_FOUND, "malformed id");

	other = u;
	memset(other.id, 0, sizeof other.id);
	vg_str_copy(other.email, sizeof other.email, lower);
	other.email[0] = (char)(other.email[0] - 32);
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_CONFLICT, "same e-mail, other case");

	/* An external account: no e-mail, no password, a sub. */
	memset(&other, 0, sizeof other);
	vg_uuid_new(sub);
	vg_str_copy(other.cognito_sub, sizeof other.cognito_sub, sub);
	vg_str_copy(other.display_name, sizeof other.display_name, "ext");
	other.groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(s, &other), VG_OK, "create an external user");
	VT_EQ_INT(other.password_changed_us, 0, "no password, no change time");
	VT_EQ_INT(vg_store_user_by_sub(s, sub, &got), VG_OK, "get by sub");
	VT_EQ_STR(got.id, other.id, "the external user");
	VT_EQ_STR(got.email, "", "without e-mail");
	memset(other.id, 0, sizeof other.id);
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_CONFLICT, "same sub twice");

	/* Changes. */
	VT_EQ_INT(vg_store_user_set_disabled(s, u.id, true, 0), VG_OK, "disable");
	VT_EQ_INT(vg_store_user_set_groups(s, u.id, VG_GROUP_ROOT, 0), VG_OK, "set groups");
	VT_EQ_INT(vg_store_user_set_password(s, u.id, PW_HASH "B", 1900000000000000LL), VG_OK,
	    "set password");
	VT_EQ_INT(vg_store_user_touch_login(s, u.id, 1900000000000001LL), VG_OK, "touch login");
	VT_EQ_INT(vg_store_user_get(s, u.id, &got), VG_OK, "get after changes");
	VT_OK(got.disabled, "disabled");
	VT_EQ_INT(got.groups, VG_GROUP_ROOT, "groups replaced");
	VT_EQ_STR(got.password_hash, PW_HASH "B", "new hash");
	VT_EQ_INT(got.password_changed_us, 1900000000000000LL, "password change time");
	VT_EQ_INT(got.last_login_us, 1900000000000001LL, "last login");
	VT_EQ_INT(vg_store_user_set_disabled(s, "00000000-0000-4000-8000-000000000000", true, 0),
	    VG_ERR_NOT_FOUND, "change of an unknown user");

	/* Refused input. */
	memset(&other, 0, sizeof other);
	other.groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "neither e-mail nor sub");
	vg_str_copy(other.email, sizeof other.email, "no-at-sign");
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "e-mail without @");
	vg_str_copy(other.email, sizeof other.email, "a b@example.org");
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "e-mail with a space");
	vg_str_copy(other.email, sizeof other.email, "x@example.org");
	other.groups = 0;
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "no group");
	other.groups = 8;
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "unknown group");
	other.groups = VG_GROUP_USER;
	vg_str_copy(other.password_hash, sizeof other.password_hash, "plaintext-password");
	VT_EQ_INT(vg_store_user_create(s, &other), VG_ERR_INVALID, "not an encoded hash");
	VT_EQ_INT(vg_store_user_set_groups(s, u.id, 0, 0), VG_ERR_INVALID, "empty groups refused");
	VT_EQ_INT(vg_store_user_set_password(s, u.id, "short", 0), VG_ERR_INVALID,
	    "bad hash refused");
}

static void
case_user_list(struct vg_store *s)
{
	struct vg_user u, *page = NULL;
	char email[128], *cursor = NULL, *next = NULL;
	int64_t total = 0;
	size_t n = 0, seen = 0, dup = 0;
	int i, pages = 0;
	char ids[5][VG_UUID_LEN + 1];
	bool found[5] = {false};

	for (i = 0; i < 5; i++) {
		memset(&u, 0, sizeof u);
		fresh_email(email, sizeof email, "list");
		vg_str_copy(u.email, sizeof u.email, email);
		u.groups = VG_GROUP_USER;
		u.created_at_us = 1700000000000000LL + (i % 2);   /* ties on purpose */
		VT_EQ_INT(vg_store_user_create(s, &u), VG_OK, "create for listing");
		memcpy(ids[i], u.id, sizeof ids[i]);
	}
	VT_EQ_INT(vg_store_user_count(s, &total), VG_OK, "count");
	do {
		size_t j;
		int k;

		VT_EQ_INT(vg_store_user_list(s, cursor, 2, &page, &n, &next), VG_OK, "list a page");
		VT_OK(n <= 2, "at most limit users");
		for (j = 0; j < n; j++) {
			seen++;
			for (k = 0; k < 5; k++)
				if (strcmp(page[j].id, ids[k]) == 0) {
					dup += found[k];
					found[k] = true;
				}
			if (j > 0)
				VT_OK(page[j - 1].created_at_us >= page[j].created_at_us,
				    "newest first");
		}
		free(page);
		page = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor && ++pages < 1000);
	VT_EQ_INT(seen, total, "paging visits every user once");
	VT_EQ_INT(dup, 0, "none twice");
	VT_OK(found[0] && found[1] && found[2] && found[3] && found[4], "all five listed");
	VT_EQ_INT(vg_store_user_list(s, "bogus", 2, &page, &n, &next), VG_ERR_INVALID,
	    "a foreign cursor is refused");
	VT_EQ_INT(vg_store_user_list(s, NULL, 0, &page, &n, &next), VG_ERR_INVALID, "limit 0");
}

/* A user for the token cases. */
static void
make_user(struct vg_store *s, struct vg_user *u)
{
	char email[128];

	memset(u, 0, sizeof *u);
	fresh_email(email, sizeof email, "tok");
	vg_str_copy(u->email, sizeof u->email, email);
	u->groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(s, u), VG_OK, "a user for tokens");
}

static void
case_refresh(struct vg_store *s)
{
	const int64_t t0 = 1800000000000000LL, sec = 1000000;
	struct vg_user u;
	struct vg_refresh_family f, got;
	struct vg_refresh_rotation r;
	char h[6][65];
	size_t count = 0;
	int i;

	for (i = 0; i < 6; i++)
		hash_n(0x5000 + i + (int)(vg_time_now_us() % 100000) * 8, h[i]);
	make_user(s, &u);
	memset(&f, 0, sizeof f);
	memcpy(f.user_id, u.id, sizeof f.user_id);
	f.created_at_us = t0;
	f.expires_at_us = t0 + 1000 * sec;
	vg_str_copy(f.client_ip, sizeof f.client_ip, "192.0.2.1");
	VT_EQ_INT(vg_store_refresh_start(s, &f, h[0], t0 + 100 * sec), VG_OK, "start a family");
	VT_OK(vg_uuid_valid(f.id), "family id set");
	VT_EQ_INT(vg_store_refresh_family_get(s, f.id, &got), VG_OK, "get the family");
	VT_EQ_STR(got.user_id, u.id, "family user");
	VT_EQ_STR(got.client_ip, "192.0.2.1", "family client ip");
	VT_EQ_INT(got.expires_at_us, t0 + 1000 * sec, "family expiry");
	VT_EQ_INT(got.revoked_at_us, 0, "family live");
	VT_EQ_INT(vg_store_refresh_family_of(s, h[0], &got), VG_OK, "family of the token");
	VT_EQ_STR(got.id, f.id, "the same family");

	{
		struct vg_user su;
		struct vg_refresh_family sf;
		struct vg_user other;

		VT_EQ_INT(vg_store_user_session(s, u.id, f.id, &su, &sf), VG_OK, "user and session");
		VT_EQ_STR(su.id, u.id, "the user");
		VT_EQ_STR(sf.id, f.id, "and the session");
		VT_EQ_INT(sf.expires_at_us, t0 + 1000 * sec, "the session's fields");
		VT_EQ_INT(vg_store_user_session(s, u.id, NULL, &su, &sf), VG_OK, "user alone");
		VT_OK(su.id[0] && !sf.id[0], "no session asked, none given");
		VT_EQ_INT(vg_store_user_session(s, u.id, "00000000-0000-4000-8000-000000000000", &su,
		    &sf), VG_OK, "an unknown session");
		VT_OK(su.id[0] && !sf.id[0], "gives the user without a session");
		VT_EQ_INT(vg_store_user_session(s, u.id, "not-a-uuid", &su, &sf), VG_OK,
		    "a malformed session id");
		VT_OK(!sf.id[0], "matches no session");
		make_user(s, &other);
		VT_EQ_INT(vg_store_user_session(s, other.id, f.id, &su, &sf), VG_OK,
		    "another user's session");
		VT_OK(!strcmp(su.id, other.id) && !sf.id[0], "is not theirs");
		VT_EQ_INT(vg_store_user_session(s, "00000000-0000-4000-8000-000000000000", f.id, &su,
		    &sf), VG_ERR_NOT_FOUND, "an unknown user");
	}

	/* rotate h0 -> h1 */
	memset(&r, 0, sizeof r);
	r.old_hash = h[0];
	r.new_hash = h[1];
	r.now_us = t0 + 10 * sec;
	r.new_expires_us = r.now_us + 100 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "rotate");
	VT_EQ_INT(r.outcome, VG_REFRESH_ROTATED, "rotated");
	VT_EQ_STR(r.family.id, f.id, "in the family");
	VT_EQ_STR(r.family.user_id, u.id, "of the user");
	/* h1 -> h2 */
	r.old_hash = h[1];
	r.new_hash = h[2];
	r.now_us = t0 + 20 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "rotate again");
	VT_EQ_INT(r.outcome, VG_REFRESH_ROTATED, "rotated again");
	/* h0 again: reuse, the family dies */
	r.old_hash = h[0];
	r.new_hash = h[3];
	r.now_us = t0 + 30 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "present a rotated token");
	VT_EQ_INT(r.outcome, VG_REFRESH_REUSED, "reuse detected");
	VT_EQ_STR(r.family.revoked_reason, VG_REVOKE_REUSE, "family revoked for reuse");
	VT_EQ_INT(vg_store_refresh_family_get(s, f.id, &got), VG_OK, "family after reuse");
	VT_EQ_INT(got.revoked_at_us, t0 + 30 * sec, "revoked at the reuse");
	/* the live token h2 dies with its family */
	r.old_hash = h[2];
	r.new_hash = h[4];
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "present the live token");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "dead with its family");
	r.old_hash = h[0];
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "reuse after revocation");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "no second reuse event");
	VT_EQ_INT(vg_store_refresh_family_revoke(s, f.id, VG_REVOKE_LOGOUT, 0), VG_OK,
	    "revoking again is fine");
	VT_EQ_INT(vg_store_refresh_family_get(s, f.id, &got), VG_OK, "family after second revoke");
	VT_EQ_STR(got.revoked_reason, VG_REVOKE_REUSE, "the first reason stays");

	/* unknown and expired tokens */
	r.old_hash = h[5];
	r.new_hash = h[4];
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "unknown token");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "unknown is invalid");
	r.old_hash = "not-a-hash";
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "malformed token");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "malformed is invalid");

	memset(&f, 0, sizeof f);
	memcpy(f.user_id, u.id, sizeof f.user_id);
	f.created_at_us = t0;
	f.expires_at_us = t0 + 1000 * sec;
	VT_EQ_INT(vg_store_refresh_start(s, &f, h[5], t0 + 5 * sec), VG_OK, "a short-lived token");
	r.old_hash = h[5];
	r.new_hash = h[4];
	r.now_us = t0 + 6 * sec;
	r.new_expires_us = r.now_us + 100 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "expired token");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "an expired token is invalid");
	r.now_us = t0 + 4 * sec;
	r.new_expires_us = t0 + 5000 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "rotate before expiry");
	VT_EQ_INT(r.outcome, VG_REFRESH_ROTATED, "rotated before expiry");
	r.old_hash = h[4];
	r.new_hash = h[3];
	r.now_us = t0 + 1001 * sec;
	VT_EQ_INT(vg_store_refresh_rotate(s, &r), VG_OK, "past the family's end");
	VT_EQ_INT(r.outcome, VG_REFRESH_INVALID, "the new token never outlives its family");

	VT_EQ_INT(vg_store_refresh_revoke_user(s, u.id, VG_REVOKE_PASSWORD, 0, &count), VG_OK,
	    "revoke every family of the user");
	VT_EQ_INT(count, 1, "one was still live");
	VT_EQ_INT(vg_store_refresh_family_get(s, f.id, &got), VG_OK, "get it");
	VT_EQ_STR(got.revoked_reason, VG_REVOKE_PASSWORD, "revoked for the password change");
	VT_EQ_INT(vg_store_refresh_family_revoke(s, f.id, "bored", 0), VG_ERR_INVALID,
	    "unknown reason refused");
	VT_EQ_INT(vg_store_refresh_family_revoke(s, "00000000-0000-4000-8000-000000000000",
	    VG_REVOKE_LOGOUT, 0), VG_ERR_NOT_FOUND, "unknown family");
	VT_EQ_INT(vg_store_refresh_start(s, &f, h[5], t0 + 5 * sec), VG_ERR_CONFLICT,
	    "a token hash is unique");
}

/* A child: rotate the shared token once; exit 10 + outcome. */
static int
child_rotate(const char *old_hash, int n, int startfd)
{
	struct vg_store *s = NULL;
	struct vg_refresh_rotation r;
	char h[65];
	char go;

	if (read(startfd, &go, 1) != 1 || vg_store_open(&s) != VG_OK)
		return 3;
	hash_n(0x7000000 + n, h);
	memset(&r, 0, sizeof r);
	r.old_hash = old_hash;
	r.new_hash = h;
	r.new_expires_us = vg_time_now_us() + 60000000;
	if (vg_store_refresh_rotate(s, &r) != VG_OK)
		return 4;
	vg_store_free(s);
	return 10 + (int)r.outcome;
}

/* Many processes rotate one token at once: one wins, the rest see reuse. */
static void
case_refresh_race(struct vg_store *s)
{
	struct vg_user u;
	struct vg_refresh_family f, after;
	char h[65];
	pid_t pids[NPROCS];
	int pipefd[2], i, status, rotated = 0, reused = 0, other = 0;

	make_user(s, &u);
	hash_n(0x6000000 + (int)(vg_time_now_us() % 1000000), h);
	memset(&f, 0, sizeof f);
	memcpy(f.user_id, u.id, sizeof f.user_id);
	f.expires_at_us = vg_time_now_us() + 3600000000LL;
	VT_EQ_INT(vg_store_refresh_start(s, &f, h, f.expires_at_us), VG_OK, "family to race on");
	VT_EQ_INT(pipe(pipefd), 0, "start pipe");
	fflush(stdout);
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(pipefd[1]);
			_exit(child_rotate(h, i + (int)(vg_time_now_us() % 1000) * 16, pipefd[0]));
		}
	}
	close(pipefd[0]);
	for (i = 0; i < NPROCS; i++)
		if (write(pipefd[1], "g", 1) != 1)
			break;
	close(pipefd[1]);
	for (i = 0; i < NPROCS; i++) {
		int code = -1;

		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status))
			code = WEXITSTATUS(status);
		if (code == 10 + VG_REFRESH_ROTATED)
			rotated++;
		else if (code == 10 + VG_REFRESH_REUSED)
			reused++;
		else if (code != 10 + VG_REFRESH_INVALID)
			other++;
	}
	VT_EQ_INT(rotated, 1, "exactly one concurrent rotation wins");
	VT_OK(reused >= 1, "a losing rotation is seen as reuse");
	VT_EQ_INT(other, 0, "no process failed");
	VT_EQ_INT(vg_store_refresh_family_get(s, f.id, &after), VG_OK, "family after the race");
	VT_EQ_STR(after.revoked_reason, VG_REVOKE_REUSE, "the race revoked the family");
}

static void
case_api_keys(struct vg_store *s)
{
	const int64_t t0 = 1800000000000000LL, sec = 1000000;
	struct vg_user u, v;
	struct vg_api_key k, got, *list = NULL;
	char h[4][65], prefix[33], *next = NULL;
	int64_t count = -1;
	size_t n = 0;
	int i, base = (int)(vg_time_now_us() % 1000000) * 8;

	make_user(s, &u);
	make_user(s, &v);
	for (i = 0; i < 4; i++)
		hash_n(0x9000000 + base + i, h[i]);
	for (i = 0; i < 3; i++) {
		memset(&k, 0, sizeof k);
		memcpy(k.user_id, u.id, sizeof k.user_id);
		snprintf(k.name, sizeof k.name, "key %d", i);
		snprintf(k.prefix, sizeof k.prefix, "vgk_%.6s%d", h[i] + 58, i);
		memcpy(k.key_hash, h[i], sizeof k.key_hash);
		k.created_at_us = t0 + i * sec;
		k.expires_at_us = i == 2 ? t0 + 100 * sec : 0;
		VT_EQ_INT(vg_store_api_key_create(s, &k), VG_OK, "create a key");
		VT_OK(vg_uuid_valid(k.id), "key id set");
	}
	memcpy(prefix, k.prefix, sizeof prefix);
	VT_EQ_INT(vg_store_api_key_by_hash(s, h[2], &got), VG_OK, "find by hash");
	VT_EQ_STR(got.id, k.id, "the key");
	VT_EQ_STR(got.name, "key 2", "name");
	VT_EQ_STR(got.prefix, prefix, "prefix");
	VT_EQ_STR(got.user_id, u.id, "owner");
	VT_EQ_INT(got.expires_at_us, t0 + 100 * sec, "expiry");
	VT_EQ_INT(got.last_used_us, 0, "never used");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h[3], &got), VG_ERR_NOT_FOUND, "unknown hash");

	VT_EQ_INT(vg_store_api_key_count(s, u.id, t0 + 50 * sec, &count), VG_OK, "count");
	VT_EQ_INT(count, 3, "three live keys");
	VT_EQ_INT(vg_store_api_key_count(s, u.id, t0 + 200 * sec, &count), VG_OK, "count later");
	VT_EQ_INT(count, 2, "the expired one does not count");

	VT_EQ_INT(vg_store_api_key_touch(s, k.id, t0 + 7 * sec), VG_OK, "touch");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h[2], &got), VG_OK, "find after touch");
	VT_EQ_INT(got.last_used_us, t0 + 7 * sec, "last used recorded");

	VT_EQ_INT(vg_store_api_key_list(s, u.id, NULL, 2, &list, &n, &next), VG_OK, "list page 1");
	VT_EQ_INT(n, 2, "two on the first page");
	VT_OK(n == 2 && strcmp(list[0].name, "key 2") == 0 && strcmp(list[1].name, "key 1") == 0,
	    "newest first");
	VT_OK(next != NULL, "a cursor for the rest");
	free(list);
	{
		char *cursor = next;

		VT_EQ_INT(vg_store_api_key_list(s, u.id, cursor, 2, &list, &n, &next), VG_OK,
		    "list page 2");
		free(cursor);
	}
	VT_OK(n == 1 && strcmp(list[0].name, "key 0") == 0 && next == NULL, "the last key");
	free(list);
	VT_EQ_INT(vg_store_api_key_list(s, v.id, NULL, 10, &list, &n, &next), VG_OK,
	    "another user's list");
	VT_EQ_INT(n, 0, "holds none of them");
	free(list);

	VT_EQ_INT(vg_store_api_key_revoke(s, v.id, k.id, 0), VG_ERR_NOT_FOUND,
	    "another user cannot revoke it");
	VT_EQ_INT(vg_store_api_key_revoke(s, u.id, k.id, t0 + 9 * sec), VG_OK, "revoke");
	VT_EQ_INT(vg_store_api_key_revoke(s, u.id, k.id, t0 + 9 * sec), VG_ERR_NOT_FOUND,
	    "revoke twice");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h[2], &got), VG_OK, "a revoked key is still found");
	VT_EQ_INT(got.revoked_at_us, t0 + 9 * sec, "with its revocation time");
	VT_EQ_INT(vg_store_api_key_list(s, u.id, NULL, 10, &list, &n, &next), VG_OK,
	    "list after revoke");
	VT_EQ_INT(n, 2, "revoked keys are not listed");
	free(list);

	memset(&k, 0, sizeof k);
	memcpy(k.user_id, u.id, sizeof k.user_id);
	vg_str_copy(k.name, sizeof k.name, "dup");
	memcpy(k.prefix, prefix, sizeof k.prefix);
	memcpy(k.key_hash, h[3], sizeof k.key_hash);
	VT_EQ_INT(vg_store_api_key_create(s, &k), VG_ERR_CONFLICT, "prefixes are unique");
	snprintf(k.prefix, sizeof k.prefix, "vgk_other%d", base);
	memcpy(k.key_hash, h[0], sizeof k.key_hash);
	VT_EQ_INT(vg_store_api_key_create(s, &k), VG_ERR_CONFLICT, "hashes are unique");
	memcpy(k.key_hash, h[3], sizeof k.key_hash);
	k.name[0] = '\0';
	VT_EQ_INT(vg_store_api_key_create(s, &k), VG_ERR_INVALID, "a name is needed");
	vg_str_copy(k.name, sizeof k.name, "past");
	k.created_at_us = t0;
	k.expires_at_us = t0 - 1;
	VT_EQ_INT(vg_store_api_key_create(s, &k), VG_ERR_INVALID, "expiry before creation");
	k.expires_at_us = 0;
	vg_str_copy(k.key_hash, sizeof k.key_hash, "SECRET");
	VT_EQ_INT(vg_store_api_key_create(s, &k), VG_ERR_INVALID, "only hashes are stored");
}

static void
case_throttle(struct vg_store *s)
{
	const int64_t t0 = 1800000000000000LL, sec = 1000000, win = 60 * sec;
	char key[80];
	int64_t n = -1, start = -1;
	int i;

	snprintf(key, sizeof key, "acct-test-%lld", (long long)(vg_time_now_us() % 100000000));
	VT_EQ_INT(vg_store_throttle_get(s, key, t0, win, &n, &start), VG_OK, "get unknown key");
	VT_OK(n == 0 && start == 0, "no window yet");
	for (i = 1; i <= 3; i++) {
		VT_EQ_INT(vg_store_throttle_fail(s, key, t0 + i * sec, win, &n, &start), VG_OK,
		    "count a failure");
		VT_EQ_INT(n, i, "failures add up");
		VT_EQ_INT(start, t0 + sec, "the window starts at the first failure");
	}
	VT_EQ_INT(vg_store_throttle_get(s, key, t0 + 30 * sec, win, &n, &start), VG_OK, "get");
	VT_OK(n == 3 && start == t0 + sec, "get sees the window");
	VT_EQ_INT(vg_store_throttle_get(s, key, t0 + sec + win, win, &n, &start), VG_OK,
	    "get after the window");
	VT_OK(n == 0 && start == 0, "an ended window counts nothing");
	VT_EQ_INT(vg_store_throttle_fail(s, key, t0 + 2 * win, win, &n, &start), VG_OK,
	    "a failure after the window");
	VT_OK(n == 1 && start == t0 + 2 * win, "starts a new window");
	VT_EQ_INT(vg_store_throttle_clear(s, key), VG_OK, "clear");
	VT_EQ_INT(vg_store_throttle_get(s, key, t0 + 2 * win, win, &n, &start), VG_OK,
	    "get after clear");
	VT_EQ_INT(n, 0, "cleared");
	VT_EQ_INT(vg_store_throttle_clear(s, key), VG_OK, "clearing twice is fine");
	VT_EQ_INT(vg_store_throttle_fail(s, "../etc", t0, win, &n, &start), VG_ERR_INVALID,
	    "a key that could name a path is refused");
}

/* Failures counted by many processes at once: none is lost. */
static void
case_throttle_race(struct vg_store *s)
{
	char key[80];
	pid_t pids[NPROCS];
	int i, status, ok = 0;
	int64_t n = 0, start = 0, now = vg_time_now_us();

	snprintf(key, sizeof key, "addr-race-%lld", (long long)(now % 100000000));
	fflush(stdout);
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vg_store *cs = NULL;
			int j, fails = 0;

			if (vg_store_open(&cs) != VG_OK)
				_exit(3);
			for (j = 0; j < 10; j++) {
				int64_t cn, cst;

				if (vg_store_throttle_fail(cs, key, now, 3600000000LL, &cn, &cst))
					fails++;
			}
			vg_store_free(cs);
			_exit(fails ? 1 : 0);
		}
	}
	for (i = 0; i < NPROCS; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	VT_EQ_INT(ok, NPROCS, "every counting process succeeded");
	VT_EQ_INT(vg_store_throttle_get(s, key, now, 3600000000LL, &n, &start), VG_OK, "read");
	VT_EQ_INT(n, NPROCS * 10, "no failure lost");
}

/* ---- the jsondb layer itself ---- */

/* Add one to the "n" of the record whose id is arg (a missing record
 * counts from 0), under tx's lock. */
static enum vg_err
bump_key(struct vg_jsondb_tx *tx, void *arg)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_tx_get(tx, arg, &rec);
	json_int_t n = err == VG_OK ? json_integer_value(json_object_get(rec, "n")) : 0;

	json_decref(rec);
	if (err != VG_OK && err != VG_ERR_NOT_FOUND)
		return err;
	rec = json_pack("{s:I}", "n", n + 1);
	err = rec ? vg_jsondb_tx_put(tx, arg, rec) : VG_ERR_NOMEM;
	json_decref(rec);
	return err;
}

static void
case_jsondb(struct vg_store *s)
{
	static const char *const bad_ids[] = {"", ".hidden", "../x", "a/b", "sp ace", "nul\x01",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	static const char *const bad_colls[] = {"", "../etc", "Upper", "a/b", ".x"};
	struct vg_jsondb *db = NULL;
	char dir[400];
	json_t *rec = json_pack("{s:s, s:i}", "id", "r1", "n", 0), *got = NULL, *all = NULL;
	json_t *empty = json_object(), *arr = json_array();
	pid_t pids[NPROCS];
	int i, status, ok = 0;
	size_t k;

	(void)s;
	snprintf(dir, sizeof dir, "%s/jsondb", tmpdir);
	VT_EQ_INT(vg_jsondb_open(dir, &db), VG_OK, "open a jsondb");
	for (k = 0; k < sizeof bad_ids / sizeof bad_ids[0]; k++)
		VT_EQ_INT(vg_jsondb_put(db, "things", bad_ids[k], rec), VG_ERR_INVALID, "bad id refused");
	for (k = 0; k < sizeof bad_colls / sizeof bad_colls[0]; k++)
		VT_EQ_INT(vg_jsondb_put(db, bad_colls[k], "r1", rec), VG_ERR_INVALID,
		    "bad collection refused");
	VT_EQ_INT(vg_jsondb_get(db, "things", "r1", &got), VG_ERR_NOT_FOUND, "absent record");
	VT_EQ_INT(vg_jsondb_create(db, "things", "r1", rec), VG_OK, "create");
	VT_EQ_INT(vg_jsondb_create(db, "things", "r1", rec), VG_ERR_CONFLICT, "create twice conflicts");
	VT_EQ_INT(vg_jsondb_get(db, "things", "r1", &got), VG_OK, "get");
	VT_OK(json_equal(got, rec), "record round-trips");
	json_decref(got);
	VT_EQ_INT(vg_jsondb_put(db, "things", "r2", empty), VG_OK, "put another");
	VT_EQ_INT(vg_jsondb_list(db, "things", NULL, NULL, &all), VG_OK, "list");
	VT_EQ_INT(json_array_size(all), 2, "two records");
	json_decref(all);
	VT_EQ_INT(vg_jsondb_del(db, "things", "r2"), VG_OK, "delete");
	VT_EQ_INT(vg_jsondb_del(db, "things", "r2"), VG_ERR_NOT_FOUND, "delete twice");
	VT_EQ_INT(vg_jsondb_put(db, "things", "not-an-object", arr), VG_ERR_INVALID,
	    "only objects are records");

	/* Read-modify-write under the lock from many processes loses nothing. */
	json_object_set_new(rec, "n", json_integer(0));
	VT_EQ_INT(vg_jsondb_put(db, "counters", "counter", rec), VG_OK, "counter at zero");
	fflush(stdout);
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int j, fails = 0;

			for (j = 0; j < 25; j++)
				if (vg_jsondb_tx(db, "counters", true, bump_key, "counter") != VG_OK)
					fails++;
			_exit(fails ? 1 : 0);
		}
	}
	for (i = 0; i < NPROCS; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	VT_EQ_INT(ok, NPROCS, "every incrementing process succeeded");
	VT_EQ_INT(vg_jsondb_get(db, "counters", "counter", &got), VG_OK, "read the counter");
	VT_EQ_INT(json_integer_value(json_object_get(got, "n")), NPROCS * 25,
	    "no increment lost under the lock");
	json_decref(got);
	json_decref(rec);
	json_decref(empty);
	json_decref(arr);
	vg_jsondb_free(db);
}

/* ---- keyed writers (vg_jsondb_tx_keyed) ---- */

/* What a keyed-lock child does: bump its key's counter under the key, or
 * take the whole collection's lock (exclusive or shared) and read. */
enum keyed_act { KEYED_BUMP, WHOLE_EXCLUSIVE, WHOLE_SHARED };

static enum vg_err
peek_tx(struct vg_jsondb_tx *tx, void *arg)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_tx_get(tx, arg, &rec);

	json_decref(rec);
	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

/* A child doing act on key (a record id too); exits 0 when it worked. */
static pid_t
keyed_child(struct vg_jsondb *db, enum keyed_act act, const char *key)
{
	pid_t pid;
	enum vg_err err;

	fflush(stdout);
	if ((pid = fork()) != 0)
		return pid;
	if (act == KEYED_BUMP)
		err = vg_jsondb_tx_keyed(db, "keyed", key, bump_key, (void *)key);
	else
		err = vg_jsondb_tx(db, "keyed", act == WHOLE_EXCLUSIVE, peek_tx, (void *)key);
	_exit(err == VG_OK ? 0 : 1);
}

/* Whether child pid has exited with 0 within ms milliseconds. */
static bool
done_within(pid_t pid, long ms)
{
	int status;
	long waited;

	for (waited = 0; waited <= ms; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0)
			return false;
		usleep(10000);
	}
	return false;
}

/* The holder's step: say it holds the key, then wait to be let go. */
static enum vg_err
hold_key(struct vg_jsondb_tx *tx, void *arg)
{
	int *fds = arg;   /* [0]: read "go", [1]: write "held" */
	char c = 'h';

	(void)tx;
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
		return VG_ERR_IO;
	return VG_OK;
}

static void
case_jsondb_keyed(struct vg_store *s)
{
	struct vg_jsondb *db = NULL;
	char dir[400], c;
	int held[2], go[2], fds[2], i, ok = 0;
	pid_t holder, pids[NPROCS], other, same, whole, reader;
	json_t *got = NULL;

	(void)s;
	snprintf(dir, sizeof dir, "%s/jsondb-keyed", tmpdir);
	VT_EQ_INT(vg_jsondb_open(dir, &db), VG_OK, "open a jsondb");
	VT_EQ_INT(vg_jsondb_tx_keyed(db, "keyed", NULL, peek_tx, "x"), VG_ERR_INVALID, "no key");
	VT_EQ_INT(vg_jsondb_tx_keyed(db, "keyed", "../x", peek_tx, "x"), VG_ERR_INVALID,
	    "a key that is no record id");

	/* Read-modify-write of two keys' records from many processes at once
	 * loses nothing. */
	for (i = 0; i < NPROCS; i++) {
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] == 0) {
			int j, fails = 0;

			for (j = 0; j < 20; j++)
				if (vg_jsondb_tx_keyed(db, "keyed", i % 2 ? "a" : "b", bump_key,
				    i % 2 ? "a" : "b") != VG_OK)
					fails++;
			_exit(fails ? 1 : 0);
		}
	}
	for (i = 0; i < NPROCS; i++)
		if (pids[i] > 0 && done_within(pids[i], 60000))
			ok++;
	VT_EQ_INT(ok, NPROCS, "every keyed writer succeeded");
	VT_EQ_INT(vg_jsondb_get(db, "keyed", "a", &got), VG_OK, "read a");
	VT_EQ_INT(json_integer_value(json_object_get(got, "n")), NPROCS / 2 * 20, "no write of a lost");
	json_decref(got);
	VT_EQ_INT(vg_jsondb_get(db, "keyed", "b", &got), VG_OK, "read b");
	VT_EQ_INT(json_integer_value(json_object_get(got, "n")), (NPROCS + 1) / 2 * 20,
	    "no write of b lost");
	json_decref(got);

	/* While one process writes as key a: a writer of b and a shared reader
	 * of the whole collection go on; a writer of a and a whole-collection
	 * writer wait until it is done. */
	if (pipe(held) != 0 || pipe(go) != 0) {
		VT_OK(false, "pipes");
		vg_jsondb_free(db);
		return;
	}
	fflush(stdout);
	if ((holder = fork()) == 0) {
		fds[0] = go[0];
		fds[1] = held[1];
		_exit(vg_jsondb_tx_keyed(db, "keyed", "a", hold_key, fds) == VG_OK ? 0 : 1);
	}
	VT_EQ_INT(read(held[0], &c, 1), 1, "the holder holds key a");
	other = keyed_child(db, KEYED_BUMP, "b");
	reader = keyed_child(db, WHOLE_SHARED, "a");
	same = keyed_child(db, KEYED_BUMP, "a");
	whole = keyed_child(db, WHOLE_EXCLUSIVE, "a");
	VT_OK(done_within(other, 10000), "a writer of b does not wait for a's");
	VT_OK(done_within(reader, 10000), "a shared reader does not wait for a keyed writer");
	VT_OK(!done_within(same, 300), "a second writer of a waits");
	VT_OK(!done_within(whole, 300), "a whole-collection writer waits");
	VT_EQ_INT(write(go[1], "g", 1), 1, "let the holder go");
	VT_OK(done_within(holder, 10000), "the holder is done");
	VT_OK(done_within(same, 10000), "then the second writer of a");
	VT_OK(done_within(whole, 10000), "and the whole-collection writer");
	close(held[0]);
	close(held[1]);
	close(go[0]);
	close(go[1]);
	vg_jsondb_free(db);
}

/* ---- setup and the table ---- */

static const struct {
	const char *name;
	void (*fn)(struct vg_store *s);
	const char *only;   /* NULL: every backend */
} cases[] = {
	{"backend", case_backend, NULL},
	{"ping", case_ping, NULL},
	{"schema_current", case_schema_current, NULL},
	{"schema_drift", case_schema_drift, "postgres"},
	{"cursor_codec", case_cursor_codec, NULL},
	{"sqlstate_map", case_sqlstate_map, NULL},
	{"jsondb", case_jsondb, NULL},
	{"jsondb_keyed", case_jsondb_keyed, "json"},
	{"audit_fields", case_audit_fields, NULL},
	{"audit_invalid", case_audit_invalid, NULL},
	{"audit_paging", case_audit_paging, NULL},
	{"audit_ties", case_audit_ties, NULL},
	{"workers", case_workers, NULL},
	{"users", case_users, NULL},
	{"user_list", case_user_list, NULL},
	{"refresh", case_refresh, NULL},
	{"refresh_race", case_refresh_race, NULL},
	{"api_keys", case_api_keys, NULL},
	{"throttle", case_throttle, NULL},
	{"throttle_race", case_throttle_race, NULL},
	{"concurrent_appends", case_concurrent_appends, NULL},
	{"json_crash_safety", case_json_crash_safety, "json"},
	{"pg_reconnect", case_pg_reconnect, "postgres"},
	{"pg_sessions", case_pg_sessions, "postgres"},
	{"pg_threads", case_pg_threads, "postgres"},
};

/* Point the settings at the backend under test; exits on a bad setup. */
static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vega-test-store.XXXXXX");
	backend = store_backend_setup(tmpdir, sizeof tmpdir);
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
