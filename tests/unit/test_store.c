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
 * the server mid-test.  json runs in a fresh temporary VEGA_DATA_DIR.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/id.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "store/jsondb.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "store/store.h"
#include "store/store_impl.h"
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

static size_t
count_action(json_t *items, const char *action)
{
	size_t i, n = 0;
	json_t *it;

	json_array_foreach(items, i, it)
		if (strcmp(json_string_value(json_object_get(it, "action")), action) == 0)
			n++;
	return n;
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

/* ---- the jsondb layer itself ---- */

static enum vg_err
bump(struct vg_jsondb_tx *tx, void *arg)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_tx_get(tx, "counter", &rec);

	(void)arg;
	if (err != VG_OK)
		return err;
	json_object_set_new(rec, "n", json_integer(json_integer_value(json_object_get(rec, "n")) + 1));
	err = vg_jsondb_tx_put(tx, "counter", rec);
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
				if (vg_jsondb_tx(db, "counters", true, bump, NULL) != VG_OK)
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
	{"audit_fields", case_audit_fields, NULL},
	{"audit_invalid", case_audit_invalid, NULL},
	{"audit_paging", case_audit_paging, NULL},
	{"audit_ties", case_audit_ties, NULL},
	{"workers", case_workers, NULL},
	{"concurrent_appends", case_concurrent_appends, NULL},
	{"json_crash_safety", case_json_crash_safety, "json"},
	{"pg_reconnect", case_pg_reconnect, "postgres"},
};

/* Point the settings at the backend under test; exits on a bad setup. */
static void
setup(void)
{
	const char *why = "VEGA_TEST_BACKEND";
	char msg[512], dir[512];

	backend = getenv("VEGA_TEST_BACKEND");
	if (!backend || !*backend) {
		backend = getenv("VEGA_PERSISTENCE_BACKEND");
		why = "VEGA_PERSISTENCE_BACKEND";
	}
	if (!backend || !*backend) {
		backend = "json";
		why = "the default";
	}
	printf("# backend: %s (from %s)\n", backend, why);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vega-test-store.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! cannot make a temporary directory\n");
		exit(1);
	}
	if (strcmp(backend, "json") == 0) {
		snprintf(dir, sizeof dir, "%s/data", tmpdir);
		setenv("VEGA_DATA_DIR", dir, 1);
	} else if (strcmp(backend, "postgres") == 0) {
		const char *url = getenv("VEGA_TEST_DATABASE_URL");
		const char *src = getenv("VEGA_SRCDIR");

		if (!url || !*url || !src || !*src) {
			printf("Bail out! the postgres backend needs VEGA_TEST_DATABASE_URL and"
			    " VEGA_SRCDIR (run tests/e2e/store-postgres.e2e through make check)\n");
			exit(1);
		}
		setenv("VEGA_DATABASE_URL", url, 1);
		snprintf(dir, sizeof dir, "%s/sql", src);
		setenv("VEGA_MIGRATIONS_DIR", dir, 1);
		setenv("VEGA_DB_CONNECT_TIMEOUT_SECONDS", "2", 1);
	} else {
		printf("Bail out! unknown backend '%s' (json or postgres)\n", backend);
		exit(1);
	}
	setenv("VEGA_PERSISTENCE_BACKEND", backend, 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		exit(1);
	}
	if (strcmp(backend, "postgres") == 0) {
		size_t applied = 0;
		enum vg_err err = vg_migrate_run(vg_pg_default(), vg_migrate_dir(), NULL, &applied,
		    msg, sizeof msg);

		if (err != VG_OK) {
			printf("Bail out! migrations: %s\n", msg);
			exit(1);
		}
		printf("# %zu migration(s) applied\n", applied);
	}
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
