/*
 * test_ops.c - the operators' routes of lib/domain/ops.c through the
 * in-memory transport against the json store: operators only, the worker
 * registry with its stale flag, the cleanup's last run and next run, a
 * cleanup run now, and every user's scans filtered by status.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "auth/auth.h"
#include "core/fsutil.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "http/http.h"
#include "store/store.h"
#include "vt.h"

#define SECRET "test-secret-test-secret-test-secret-0123"

static const struct vg_route routes[] = {
	{"GET", "/v1/ops/workers", VG_AUTH_OPERATOR, vg_api_ops_workers},
	{"GET", "/v1/ops/cleanup", VG_AUTH_OPERATOR, vg_api_ops_cleanup_get},
	{"POST", "/v1/ops/cleanup", VG_AUTH_OPERATOR, vg_api_ops_cleanup_run},
	{"GET", "/v1/ops/scans", VG_AUTH_OPERATOR, vg_api_ops_scans},
};

static const struct vg_program program = {
	.role = "test", VG_HTTP_ROUTES(routes), .authenticate = vg_auth_authenticate,
};

static char datadir[256];

struct answer {
	int status;
	json_t *body;
};

static void
call(struct answer *a, const char *method, const char *uri, const char *token)
{
	char m[32], u[512], auth[1024];
	const char *params[4];
	struct vg_http_mem *mem;
	const char *b;
	size_t len;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=Bearer %s", token);
	params[0] = m;
	params[1] = u;
	params[2] = auth;
	params[3] = NULL;
	mem = vg_http_mem_new(params, NULL, 0);
	vg_http_handle(&program, vg_http_mem_io(mem));
	a->status = vg_http_mem_status(mem);
	b = vg_http_mem_body(mem, &len);
	a->body = len ? json_loadb(b, len, 0, NULL) : NULL;
	vg_http_mem_free(mem);
}

static char *
user(struct vg_store *s, const char *email, unsigned groups, char id[VG_UUID_LEN + 1])
{
	struct vg_user u;
	char *token = NULL;
	int64_t ttl;

	memset(&u, 0, sizeof u);
	vg_str_copy(u.email, sizeof u.email, email);
	u.groups = groups;
	if (vg_store_user_create(s, &u) != VG_OK ||
	    vg_auth_issue_access(&u, NULL, vg_time_now_us() / 1000000, &token, &ttl) != VG_OK)
		return NULL;
	vg_str_copy(id, VG_UUID_LEN + 1, u.id);
	return token;
}

/* n queued scans created by user_id; the last one's id into id. */
static void
scans(struct vg_store *s, const char *user_id, int n, char id[VG_UUID_LEN + 1])
{
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot sn;
	struct vg_scan sc;
	int i;

	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&sn, 0, sizeof sn);
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, user_id);
	vg_store_project_create(s, &p);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_store_repository_create(s, &r);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	snprintf(sn.digest, sizeof sn.digest, "%064d", n);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	vg_store_snapshot_create(s, &sn, NULL);
	for (i = 0; i < n; i++) {
		memset(&sc, 0, sizeof sc);
		vg_str_copy(sc.repository_id, sizeof sc.repository_id, r.id);
		vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, sn.id);
		vg_str_copy(sc.created_by, sizeof sc.created_by, user_id);
		vg_str_copy(sc.engine, sizeof sc.engine, "rules");
		vg_str_copy(sc.options, sizeof sc.options, "{}");
		VT_EQ_INT(vg_store_scan_create(s, &sc, 0), VG_OK, "a scan");
		vg_str_copy(id, VG_UUID_LEN + 1, sc.id);
	}
}

static void
worker(struct vg_store *s, const char *state, int64_t age_s, char id[VG_UUID_LEN + 1])
{
	struct vg_worker w;

	memset(&w, 0, sizeof w);
	vg_uuid_new(w.id);
	vg_str_copy(w.host, sizeof w.host, "host-a");
	w.pid = 4242;
	vg_str_copy(w.version, sizeof w.version, "0.1.0");
	vg_str_copy(w.state, sizeof w.state, state);
	w.started_at_us = vg_time_now_us() - age_s * 1000000 - 1000000;
	w.last_heartbeat_us = vg_time_now_us() - age_s * 1000000;
	VT_EQ_INT(vg_store_worker_upsert(s, &w), VG_OK, state);
	vg_str_copy(id, VG_UUID_LEN + 1, w.id);
}

/* The item of list items whose id is id. */
static json_t *
item(json_t *items, const char *id)
{
	json_t *e;
	size_t i;

	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return e;
	return NULL;
}

int
main(void)
{
	struct vg_store *s = NULL;
	struct answer a;
	char msg[256], op_id[VG_UUID_LEN + 1], u_id[VG_UUID_LEN + 1], v_id[VG_UUID_LEN + 1];
	char fresh[VG_UUID_LEN + 1], silent[VG_UUID_LEN + 1], gone[VG_UUID_LEN + 1];
	char last_scan[VG_UUID_LEN + 1], path[400], *op, *plain, *other;
	struct vg_scan got;
	FILE *fp;
	struct timeval tv[2];

	snprintf(datadir, sizeof datadir, "/tmp/vg-ops-XXXXXX");
	if (!mkdtemp(datadir))
		return 1;
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_AUTH_SECRET", SECRET, 1);
	setenv("VEGA_WORKER_HEARTBEAT_TTL_SECONDS", "60", 1);
	setenv("VEGA_TMP_RETENTION_SECONDS", "3600", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_auth_init() != VG_OK ||
	    vg_http_store(&s) != VG_OK)
		return 1;
	op = user(s, "op@x.test", VG_GROUP_OPERATOR, op_id);
	plain = user(s, "u@x.test", VG_GROUP_USER, u_id);
	other = user(s, "v@x.test", VG_GROUP_USER, v_id);
	VT_OK(op && plain && other, "users");

	/* operators only */
	static const char *const uris[][2] = {{"GET", "/v1/ops/workers"},
	    {"GET", "/v1/ops/cleanup"}, {"POST", "/v1/ops/cleanup"}, {"GET", "/v1/ops/scans"}};
	for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
		call(&a, uris[i][0], uris[i][1], plain);
		VT_EQ_INT(a.status, 403, uris[i][1]);
		json_decref(a.body);
	}

	/* the registry */
	worker(s, "busy", 5, fresh);
	worker(s, "idle", 600, silent);
	worker(s, "stopped", 600, gone);
	call(&a, "GET", "/v1/ops/workers", op);
	VT_EQ_INT(a.status, 200, "GET /v1/ops/workers");
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 3, "three workers");
	VT_OK(json_is_false(json_object_get(item(json_object_get(a.body, "items"), fresh),
	    "stale")), "a fresh heartbeat is not stale");
	VT_OK(json_is_true(json_object_get(item(json_object_get(a.body, "items"), silent),
	    "stale")), "a silent idle worker is stale");
	VT_OK(json_is_false(json_object_get(item(json_object_get(a.body, "items"), gone),
	    "stale")), "a stopped worker is never stale");
	VT_EQ_STR(json_string_value(json_object_get(item(json_object_get(a.body, "items"), fresh),
	    "host")), "host-a", "its host");
	json_decref(a.body);

	/* cleanup: nothing ran yet; an old temporary file would go */
	snprintf(path, sizeof path, "%s/tmp", datadir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/tmp/upload-old", datadir);
	if ((fp = fopen(path, "w")))
		fclose(fp);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 7200;
	tv[1] = tv[0];
	utimes(path, tv);
	call(&a, "GET", "/v1/ops/cleanup", op);
	VT_EQ_INT(a.status, 200, "GET /v1/ops/cleanup");
	VT_OK(json_is_null(json_object_get(a.body, "last_run")), "no run yet");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(a.body, "next_run"), "count")),
	    1, "the next run would remove the old file");
	VT_OK(access(path, F_OK) == 0, "GET removes nothing");
	json_decref(a.body);
	call(&a, "POST", "/v1/ops/cleanup", op);
	VT_EQ_INT(a.status, 200, "POST /v1/ops/cleanup");
	VT_EQ_INT(json_integer_value(json_object_get(a.body, "count")), 1, "it removed one item");
	VT_OK(access(path, F_OK) != 0, "the file is gone");
	json_decref(a.body);
	call(&a, "GET", "/v1/ops/cleanup", op);
	VT_EQ_STR(json_string_value(json_object_get(json_object_get(a.body, "last_run"),
	    "actor_id")), op_id, "the last run names who ran it");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(json_object_get(a.body,
	    "last_run"), "counts"), "tmp")), 1, "and what it removed");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(a.body, "next_run"), "count")),
	    0, "the next run has nothing left");
	json_decref(a.body);

	/* every user's scans, by status */
	scans(s, u_id, 2, last_scan);
	scans(s, v_id, 3, last_scan);
	VT_EQ_INT(vg_store_scan_cancel(s, last_scan, vg_time_now_us(), &got), VG_OK,
	    "one cancelled");
	call(&a, "GET", "/v1/ops/scans", op);
	VT_EQ_INT(a.status, 200, "GET /v1/ops/scans");
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 5, "scans of every user");
	json_decref(a.body);
	call(&a, "GET", "/v1/ops/scans?status=queued&limit=2", op);
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 2, "a page of queued scans");
	VT_OK(json_is_string(json_object_get(a.body, "next_cursor")), "with a cursor");
	json_decref(a.body);
	call(&a, "GET", "/v1/ops/scans?status=cancelled", op);
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 1, "the cancelled one");
	VT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(a.body,
	    "items"), 0), "created_by")), v_id, "of the other user");
	json_decref(a.body);
	call(&a, "GET", "/v1/ops/scans?status=bogus", op);
	VT_EQ_INT(a.status, 400, "an unknown status is refused");
	VT_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(a.body,
	    "error"), "details"), "field")), "status", "naming the field");
	json_decref(a.body);

	free(op);
	free(plain);
	free(other);
	vg_http_health_reset();
	vg_auth_reset();
	vg_fs_remove_tree(datadir);
	return vt_done();
}
