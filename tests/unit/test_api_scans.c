/*
 * test_api_scans.c - the scans API (lib/domain scans.c, events.c,
 * findings.c) through the in-memory transport, against the json backend
 * in a fresh data directory.  The runner's part (claim, events, findings,
 * finish) is played here through the store with a lease, so every answer
 * can be checked against what was written: create (ready repositories
 * only, defaults, quota), lists, cancel, events (pages, long-poll, the
 * event stream and its resume), findings (filters, baseline states),
 * triage following the fingerprint, artifacts and the SARIF report,
 * a scan's LLM usage in its view, access by role, and thread dispatch
 * starting the runner program.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auth/auth.h"
#include "blob/blob.h"
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
	{"POST", "/v1/repositories/{id}/scans", VG_AUTH_USER, vg_api_scan_create},
	{"GET", "/v1/repositories/{id}/scans", VG_AUTH_USER, vg_api_scan_list_repository},
	{"GET", "/v1/repositories/{id}/findings", VG_AUTH_USER, vg_api_finding_list_repository},
	{"GET", "/v1/repositories/{id}/events", VG_AUTH_USER, vg_api_repository_events},
	{"GET", "/v1/scans", VG_AUTH_USER, vg_api_scan_list},
	{"GET", "/v1/scans/{id}", VG_AUTH_USER, vg_api_scan_get},
	{"POST", "/v1/scans/{id}/cancel", VG_AUTH_USER, vg_api_scan_cancel},
	{"GET", "/v1/scans/{id}/events", VG_AUTH_USER, vg_api_scan_events},
	{"GET", "/v1/scans/{id}/findings", VG_AUTH_USER, vg_api_finding_list_scan},
	{"GET", "/v1/scans/{id}/report.sarif", VG_AUTH_USER, vg_api_scan_sarif},
	{"GET", "/v1/scans/{id}/artifacts", VG_AUTH_USER, vg_api_scan_artifacts},
	{"GET", "/v1/scans/{id}/artifacts/{name}", VG_AUTH_USER, vg_api_scan_artifact},
	{"GET", "/v1/scans/{id}/usage", VG_AUTH_USER, vg_api_scan_usage},
	{"GET", "/v1/findings/{id}", VG_AUTH_USER, vg_api_finding_get},
	{"PATCH", "/v1/findings/{id}", VG_AUTH_USER, vg_api_finding_update},
};

static const struct vg_program program = {
	.role = "test", VG_HTTP_ROUTES(routes), .authenticate = vg_auth_authenticate,
};

static char datadir[256];
static struct vg_store *S;

struct answer {
	int status;
	json_t *body;        /* parsed JSON, or NULL */
	char *text;          /* the raw body, NUL-terminated (malloc'd) */
	char ctype[128];
	char accel[16];      /* X-Accel-Buffering */
};

static void
answer_clear(struct answer *a)
{
	json_decref(a->body);
	free(a->text);
	memset(a, 0, sizeof *a);
}

/* One request as token, with an optional JSON body and extra CGI
 * parameters (NULL-terminated, may be NULL). */
static void
call_x(struct answer *a, const char *method, const char *uri, const char *token,
    const char *json, const char *const *extra)
{
	char m[32], u[512], auth[1024], cl[48];
	const char *params[16], *h;
	struct vg_http_mem *mem;
	const char *b;
	size_t k = 0, len, i;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	params[k++] = m;
	params[k++] = u;
	if (token) {
		snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=Bearer %s", token);
		params[k++] = auth;
	}
	if (json) {
		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(json));
		params[k++] = cl;
		params[k++] = "CONTENT_TYPE=application/json";
	}
	for (i = 0; extra && extra[i] && k < 15; i++)
		params[k++] = extra[i];
	params[k] = NULL;
	memset(a, 0, sizeof *a);
	mem = vg_http_mem_new(params, json, json ? strlen(json) : 0);
	vg_http_handle(&program, vg_http_mem_io(mem));
	a->status = vg_http_mem_status(mem);
	if ((h = vg_http_mem_header(mem, "Content-Type")))
		vg_str_copy(a->ctype, sizeof a->ctype, h);
	if ((h = vg_http_mem_header(mem, "X-Accel-Buffering")))
		vg_str_copy(a->accel, sizeof a->accel, h);
	b = vg_http_mem_body(mem, &len);
	a->body = len ? json_loadb(b, len, 0, NULL) : NULL;
	a->text = strndup(b, len);
	vg_http_mem_free(mem);
}

static void
call(struct answer *a, const char *method, const char *uri, const char *token, const char *json)
{
	call_x(a, method, uri, token, json, NULL);
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long
jint(json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

static json_t *
items(const struct answer *a)
{
	return json_object_get(a->body, "items");
}

static const char *
err_code(const struct answer *a)
{
	return jstr(json_object_get(a->body, "error"), "code");
}

static json_t *
err_details(const struct answer *a)
{
	return json_object_get(json_object_get(a->body, "error"), "details");
}

/* A user with an access token (malloc'd). */
static char *
user(const char *email, unsigned groups, char id[VG_UUID_LEN + 1])
{
	struct vg_user u;
	char *token = NULL;
	int64_t ttl;

	memset(&u, 0, sizeof u);
	vg_str_copy(u.email, sizeof u.email, email);
	u.groups = groups;
	if (vg_store_user_create(S, &u) != VG_OK ||
	    vg_auth_issue_access(&u, NULL, vg_time_now_us() / 1000000, &token, &ttl) != VG_OK)
		return NULL;
	vg_str_copy(id, VG_UUID_LEN + 1, u.id);
	return token;
}

static void
add_member(const char *project, const char *uid, const char *role)
{
	struct vg_member m;

	memset(&m, 0, sizeof m);
	vg_str_copy(m.project_id, sizeof m.project_id, project);
	vg_str_copy(m.user_id, sizeof m.user_id, uid);
	vg_str_copy(m.role, sizeof m.role, role);
	VT_OK(vg_store_member_put(S, &m, NULL) == VG_OK, "member added");
}

/* A snapshot row of repo (its blobs are not needed: no runner here). */
static void
add_snapshot(const char *repo, const char *digest_char, char id[VG_UUID_LEN + 1])
{
	struct vg_snapshot sn;
	size_t i;

	memset(&sn, 0, sizeof sn);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, repo);
	for (i = 0; i < 64; i++)
		sn.digest[i] = digest_char[0];
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	sn.file_count = 2;
	VT_OK(vg_store_snapshot_create(S, &sn, NULL) == VG_OK, "snapshot recorded");
	vg_str_copy(id, VG_UUID_LEN + 1, sn.id);
}

/* The runner's part: a lease on scan id. */
struct run {
	char lease[64];
	char worker[VG_UUID_LEN + 1];
	struct vg_lease l;
	struct vg_scan scan;
};

static bool
run_begin(struct run *r, const char *id)
{
	memset(r, 0, sizeof *r);
	vg_uuid_new(r->worker);
	vg_uuid_new(r->lease);
	if (vg_store_scan_claim(S, r->worker, id, r->lease, vg_time_now_us(), &r->scan) != VG_OK)
		return false;
	r->l.scan_id = r->scan.id;
	r->l.attempt = r->scan.attempt;
	r->l.lease_token = r->lease;
	return vg_store_scan_start(S, &r->l, vg_time_now_us()) == VG_OK;
}

static bool
run_event(struct run *r, const char *type, const char *msg)
{
	json_t *p = json_pack("{s:s}", "message", msg);
	enum vg_err err = vg_store_event_append(S, &r->l, type, p, vg_time_now_us(), NULL);

	json_decref(p);
	return err == VG_OK;
}

static bool
run_finding(struct run *r, const char *fp, const char *sev, int cwe, const char *path,
    char id[VG_UUID_LEN + 1])
{
	struct vg_finding_row f;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	vg_str_copy(f.scan_id, sizeof f.scan_id, r->scan.id);
	vg_str_copy(f.fingerprint, sizeof f.fingerprint, fp);
	vg_str_copy(f.severity, sizeof f.severity, sev);
	f.data = json_pack("{s:s, s:s, s:[i], s:s, s:s, s:i, s:i, s:s, s:s, s:s}",
	    "title", fp, "severity", sev, "cwe_ids", cwe, "category", "injection",
	    "file_path", path, "line_start", 3, "line_end", 4, "evidence", "x",
	    "engine", "rules", "rule_id", "R1");
	err = vg_store_finding_upsert(S, &r->l, &f, vg_time_now_us(), NULL);
	if (id)
		vg_str_copy(id, VG_UUID_LEN + 1, f.id);
	vg_finding_row_clear(&f);
	return err == VG_OK;
}

static bool
run_finish(struct run *r, const char *status, const char *event)
{
	struct vg_scan_finish f;

	memset(&f, 0, sizeof f);
	f.status = status;
	f.event_type = event;
	f.now_us = vg_time_now_us();
	return vg_store_scan_finish(S, &r->l, &f) == VG_OK;
}

static char owner_id[VG_UUID_LEN + 1], member_id[VG_UUID_LEN + 1];
static char viewer_id[VG_UUID_LEN + 1], stranger_id[VG_UUID_LEN + 1];
static char *owner, *member, *viewer, *stranger;
static char project[VG_UUID_LEN + 1], repo[VG_UUID_LEN + 1], snap1[VG_UUID_LEN + 1];
static char profile[VG_UUID_LEN + 1];

/* A project with four people and a ready repository with a snapshot and
 * a threat profile. */
static void
setup_world(void)
{
	struct vg_project p;
	struct vg_repository r;
	struct vg_threat_profile tp;
	struct vg_ingest_change ready = {.status = VG_INGEST_READY};
	struct answer a;
	char uri[256];

	owner = user("owner@x.test", VG_GROUP_USER, owner_id);
	member = user("member@x.test", VG_GROUP_USER, member_id);
	viewer = user("viewer@x.test", VG_GROUP_USER, viewer_id);
	stranger = user("stranger@x.test", VG_GROUP_USER, stranger_id);
	VT_OK(owner && member && viewer && stranger, "four users");
	memset(&p, 0, sizeof p);
	vg_str_copy(p.name, sizeof p.name, "shop");
	vg_str_copy(p.owner_id, sizeof p.owner_id, owner_id);
	VT_OK(vg_store_project_create(S, &p) == VG_OK, "a project");
	vg_str_copy(project, sizeof project, p.id);
	add_member(project, member_id, "member");
	add_member(project, viewer_id, "viewer");
	memset(&r, 0, sizeof r);
	vg_str_copy(r.project_id, sizeof r.project_id, project);
	vg_str_copy(r.name, sizeof r.name, "api");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	VT_OK(vg_store_repository_create(S, &r) == VG_OK, "a repository");
	vg_str_copy(repo, sizeof repo, r.id);

	/* pending: not scannable yet */
	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 409, "a pending repository cannot be scanned");
	VT_EQ_STR(err_code(&a), "conflict", "as a conflict");
	VT_EQ_STR(jstr(err_details(&a), "ingest_status"), "pending", "naming its state");
	answer_clear(&a);

	add_snapshot(repo, "a", snap1);
	ready.snapshot_id = snap1;
	VT_OK(vg_store_repository_set_ingest(S, repo, &ready, NULL) == VG_OK, "ready");
	memset(&tp, 0, sizeof tp);
	vg_str_copy(tp.repository_id, sizeof tp.repository_id, repo);
	vg_str_copy(tp.name, sizeof tp.name, "web");
	tp.content = json_pack("{s:s}", "name", "web");
	VT_OK(vg_store_threat_profile_create(S, &tp) == VG_OK, "a threat profile");
	vg_str_copy(profile, sizeof profile, tp.id);
	json_decref(tp.content);
	tp.content = json_pack("{s:s}", "name", "web2");
	VT_OK(vg_store_threat_profile_add_version(S, &tp, vg_time_now_us()) == VG_OK, "its v2");
	json_decref(tp.content);
}

/* Who may do what to a scan (access.h's rule), one table. */
static void
test_access(const char *scan_id)
{
	static const struct {
		const char *method;
		const char *id;        /* NULL: the scan */
		const char *suffix;
		int who;               /* 0 member, 1 viewer, 2 stranger */
		int status;
	} cases[] = {
		{"GET", NULL, "", 1, 200},
		{"GET", NULL, "", 2, 404},
		{"GET", NULL, "/events", 1, 200},
		{"GET", NULL, "/events", 2, 404},
		{"GET", NULL, "/findings", 1, 200},
		{"GET", NULL, "/findings", 2, 404},
		{"GET", NULL, "/artifacts", 2, 404},
		{"POST", NULL, "/cancel", 1, 403},
		{"POST", NULL, "/cancel", 2, 404},
		{"GET", "00000000-0000-4000-8000-000000000001", "", 0, 404},
		{"GET", "not-a-uuid", "", 0, 404},
	};
	static const char *const who[] = {"member", "viewer", "stranger"};
	const char *tokens[] = {member, viewer, stranger};
	struct answer a;
	char uri[256], name[300];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(uri, sizeof uri, "/v1/scans/%s%s", cases[i].id ? cases[i].id : scan_id,
		    cases[i].suffix);
		call(&a, cases[i].method, uri, tokens[cases[i].who], NULL);
		snprintf(name, sizeof name, "%s /v1/scans/%s%s as %s", cases[i].method,
		    cases[i].id ? cases[i].id : "{id}", cases[i].suffix, who[cases[i].who]);
		VT_EQ_INT(a.status, cases[i].status, name);
		answer_clear(&a);
	}
}

static void
test_scans(void)
{
	struct answer a;
	struct run r1, r3;
	char uri[1024], scan1[64], scan2[64], scan3[64], f_high[VG_UUID_LEN + 1];
	char f_low[VG_UUID_LEN + 1], cursor[600], msg[256];
	const char *last3[] = {"HTTP_ACCEPT=text/event-stream", "HTTP_LAST_EVENT_ID=3", NULL};
	const char *sse[] = {"HTTP_ACCEPT=text/event-stream", NULL};
	int64_t t0;
	json_t *c;

	setup_world();
	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "POST", uri, viewer, NULL);
	VT_EQ_INT(a.status, 403, "a viewer cannot start a scan");
	answer_clear(&a);
	call(&a, "POST", uri, stranger, NULL);
	VT_EQ_INT(a.status, 404, "a stranger does not see the repository");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "{\"snapshot_id\":\"00000000-0000-4000-8000-000000000001\"}");
	VT_EQ_INT(a.status, 400, "an unknown snapshot");
	VT_EQ_STR(jstr(err_details(&a), "field"), "snapshot_id", "names the field");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "{\"engine\":\"x\"}");
	VT_EQ_INT(a.status, 400, "an unknown member");
	answer_clear(&a);

	/* defaults: the current snapshot, the profile's latest version */
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 202, "a scan is accepted");
	VT_EQ_STR(jstr(a.body, "status"), "queued", "queued");
	VT_EQ_STR(jstr(a.body, "snapshot_id"), snap1, "of the current snapshot");
	VT_EQ_STR(jstr(a.body, "threat_profile_id"), profile, "with the profile");
	VT_EQ_INT(jint(a.body, "threat_profile_version"), 2, "at its latest version");
	VT_EQ_STR(jstr(a.body, "project_id"), project, "names the project");
	VT_EQ_INT((long)json_object_size(json_object_get(a.body, "counts")), 5,
	    "counts by five severities");
	VT_OK(json_is_null(json_object_get(a.body, "error")), "no error");
	snprintf(scan1, sizeof scan1, "%s", jstr(a.body, "id"));
	answer_clear(&a);
	snprintf(msg, sizeof msg, "{\"threat_profile_id\":\"%s\",\"threat_profile_version\":1}",
	    profile);
	call(&a, "POST", uri, owner, msg);
	VT_EQ_INT(a.status, 202, "a second scan at an older profile version");
	VT_EQ_INT(jint(a.body, "threat_profile_version"), 1, "version 1 as asked");
	snprintf(scan2, sizeof scan2, "%s", jstr(a.body, "id"));
	answer_clear(&a);
	snprintf(msg, sizeof msg, "{\"threat_profile_id\":\"%s\",\"threat_profile_version\":9}",
	    profile);
	call(&a, "POST", uri, member, msg);
	VT_EQ_INT(a.status, 400, "a version that does not exist");
	VT_EQ_STR(jstr(err_details(&a), "field"), "threat_profile_version", "names the field");
	answer_clear(&a);

	/* the quota: two active scans per user */
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 429, "a third active scan is refused");
	VT_EQ_STR(err_code(&a), "quota_exceeded", "quota_exceeded");
	VT_EQ_STR(jstr(err_details(&a), "setting"), "VEGA_MAX_ACTIVE_SCANS_PER_USER",
	    "names the setting");
	VT_EQ_INT(jint(err_details(&a), "limit"), 2, "the limit");
	VT_EQ_INT(jint(err_details(&a), "current"), 2, "and the count");
	answer_clear(&a);

	/* lists */
	call(&a, "GET", "/v1/scans?status=queued", owner, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 2, "the owner's queued scans");
	answer_clear(&a);
	call(&a, "GET", "/v1/scans", member, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 0, "the member started none");
	answer_clear(&a);
	call(&a, "GET", "/v1/scans?status=sleeping", owner, NULL);
	VT_EQ_INT(a.status, 400, "an unknown status filter");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans?repository_id=%s", repo);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 2, "a repository's scans for a viewer");
	answer_clear(&a);
	call(&a, "GET", uri, stranger, NULL);
	VT_EQ_INT(a.status, 404, "not for a stranger");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans?limit=1", repo);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 1, "a page of one");
	VT_OK(json_is_string(json_object_get(a.body, "next_cursor")), "and a cursor");
	answer_clear(&a);

	/* cancel a queued scan: at once, idempotent */
	snprintf(uri, sizeof uri, "/v1/scans/%s/cancel", scan2);
	call(&a, "POST", uri, member, NULL);
	VT_EQ_INT(a.status, 200, "a queued scan is cancelled at once");
	VT_EQ_STR(jstr(a.body, "status"), "cancelled", "cancelled");
	answer_clear(&a);
	call(&a, "POST", uri, member, NULL);
	VT_EQ_INT(a.status, 200, "cancelling again");
	VT_EQ_STR(jstr(a.body, "status"), "cancelled", "changes nothing");
	answer_clear(&a);

	/* the runner's part */
	VT_OK(run_begin(&r1, scan1), "scan 1 claimed and started");
	VT_OK(run_event(&r1, "scan_started", "go"), "an event");
	VT_OK(run_event(&r1, "scan_progress", "half"), "another");
	VT_OK(run_finding(&r1, "fp-sql-0001", "high", 89, "src/db.c", f_high), "a high finding");
	VT_OK(run_finding(&r1, "fp-log-0002", "low", 532, "lib/log.c", f_low), "a low one");
	test_access(scan1);

	snprintf(uri, sizeof uri, "/v1/scans/%s/events?after=0", scan1);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "events");
	VT_EQ_INT((long)json_array_size(items(&a)), 2, "both so far");
	VT_EQ_STR(jstr(json_array_get(items(&a), 0), "type"), "scan_started", "in order");
	VT_EQ_INT(jint(a.body, "next_after"), 2, "next_after is the last seq");
	VT_OK(json_is_false(json_object_get(a.body, "finished")), "not finished");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/events?after=2&wait=1", scan1);
	t0 = vg_time_mono_us();
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 0, "a long poll with nothing new");
	VT_OK(vg_time_mono_us() - t0 >= 900000, "waits its second");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/events?wait=31", scan1);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 400, "wait is at most 30 s");
	answer_clear(&a);

	/* cancel a running scan: asked, 202 */
	snprintf(uri, sizeof uri, "/v1/scans/%s/cancel", scan1);
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 202, "a running scan is asked to stop");
	VT_EQ_STR(jstr(a.body, "status"), "running", "still running");
	VT_OK(json_is_string(json_object_get(a.body, "cancel_requested_at")), "cancel requested");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s", scan1);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(jint(a.body, "findings_count"), 2, "two findings counted");
	VT_EQ_INT(jint(json_object_get(a.body, "counts"), "high"), 1, "one high");
	VT_EQ_INT(jint(a.body, "attempt"), 1, "attempt 1");
	VT_OK(json_is_string(json_object_get(a.body, "started_at")), "started_at");
	answer_clear(&a);
	VT_OK(run_finish(&r1, VG_SCAN_COMPLETED, "scan_completed"), "scan 1 completed");

	/* the stream */
	snprintf(uri, sizeof uri, "/v1/scans/%s/events", scan1);
	call_x(&a, "GET", uri, viewer, NULL, sse);
	VT_EQ_INT(a.status, 200, "an event stream");
	VT_OK(strncmp(a.ctype, "text/event-stream", 17) == 0, "as text/event-stream");
	VT_EQ_STR(a.accel, "no", "not buffered by nginx");
	VT_OK(strstr(a.text, "id: 1\nevent: scan_started\ndata: {") != NULL, "the first event");
	VT_OK(strstr(a.text, "id: 3\nevent: scan_completed\n") != NULL,
	    "through the last, then it ends");
	answer_clear(&a);
	call_x(&a, "GET", uri, viewer, NULL, (const char *[]){"HTTP_ACCEPT=text/event-stream",
	    "HTTP_LAST_EVENT_ID=1", NULL});
	VT_OK(strstr(a.text, "id: 1\n") == NULL && strstr(a.text, "id: 2\n") != NULL,
	    "Last-Event-ID resumes after it");
	answer_clear(&a);
	call_x(&a, "GET", uri, viewer, NULL, last3);
	VT_EQ_INT(a.status, 204, "a finished scan with nothing left: 204 ends the stream");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/events?after=2&wait=5", scan1);
	t0 = vg_time_mono_us();
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 1, "the final event");
	VT_OK(json_is_true(json_object_get(a.body, "finished")), "and finished");
	VT_OK(vg_time_mono_us() - t0 < 1000000, "without waiting");
	answer_clear(&a);

	/* findings of the scan */
	{
		static const struct {
			const char *query;
			int status;
			long count;
			const char *first;   /* file_path of the first item */
		} cases[] = {
			{"", 200, 2, "src/db.c"},
			{"?sort=path", 200, 2, "lib/log.c"},
			{"?severity=low", 200, 1, "lib/log.c"},
			{"?cwe=89", 200, 1, "src/db.c"},
			{"?cwe=CWE-532", 200, 1, "lib/log.c"},
			{"?path_prefix=src/", 200, 1, "src/db.c"},
			{"?status=dismissed", 200, 0, NULL},
			{"?severity=urgent", 400, 0, NULL},
			{"?cwe=sql", 400, 0, NULL},
			{"?sort=random", 400, 0, NULL},
			{"?limit=1", 200, 1, "src/db.c"},
		};
		size_t i;

		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			snprintf(uri, sizeof uri, "/v1/scans/%s/findings%s", scan1, cases[i].query);
			call(&a, "GET", uri, viewer, NULL);
			snprintf(msg, sizeof msg, "findings%s", cases[i].query);
			VT_EQ_INT(a.status, cases[i].status, msg);
			if (cases[i].status == 200) {
				VT_EQ_INT((long)json_array_size(items(&a)), cases[i].count, msg);
				if (cases[i].first)
					VT_EQ_STR(jstr(json_array_get(items(&a), 0), "file_path"),
					    cases[i].first, msg);
			}
			answer_clear(&a);
		}
	}
	snprintf(uri, sizeof uri, "/v1/scans/%s/findings", scan1);
	call(&a, "GET", uri, viewer, NULL);
	c = json_array_get(items(&a), 0);
	VT_EQ_STR(jstr(c, "baseline_state"), "new", "first seen by this scan: new");
	VT_EQ_STR(jstr(c, "status"), "open", "open");
	VT_EQ_STR(jstr(c, "title"), "fp-sql-0001", "the data's fields");
	answer_clear(&a);

	/* triage */
	snprintf(uri, sizeof uri, "/v1/findings/%s", f_high);
	call(&a, "PATCH", uri, viewer, "{\"status\":\"dismissed\"}");
	VT_EQ_INT(a.status, 403, "a viewer cannot triage");
	answer_clear(&a);
	call(&a, "PATCH", uri, stranger, "{\"status\":\"dismissed\"}");
	VT_EQ_INT(a.status, 404, "a stranger sees no finding");
	answer_clear(&a);
	call(&a, "PATCH", uri, member, "{\"status\":\"gone\"}");
	VT_EQ_INT(a.status, 400, "an unknown status");
	answer_clear(&a);
	call(&a, "PATCH", uri, member,
	    "{\"status\":\"dismissed\",\"reason\":\"false positive\",\"comment\":\"test code\"}");
	VT_EQ_INT(a.status, 200, "a member dismisses");
	VT_EQ_STR(jstr(a.body, "status"), "dismissed", "dismissed");
	VT_EQ_STR(jstr(a.body, "status_actor_id"), member_id, "by the member");
	VT_EQ_INT((long)json_array_size(json_object_get(a.body, "history")), 1, "one entry");
	answer_clear(&a);
	call(&a, "GET", uri, viewer, NULL);
	c = json_array_get(json_object_get(a.body, "history"), 0);
	VT_EQ_STR(jstr(c, "actor_id"), member_id, "the history names the actor");
	VT_EQ_STR(jstr(c, "reason"), "false positive", "and the reason");
	VT_EQ_STR(jstr(a.body, "baseline_state"), "new", "new against the last completed scan");
	answer_clear(&a);

	/* a later scan sees the high finding again, not the low one */
	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "POST", uri, owner, "{}");
	VT_EQ_INT(a.status, 202, "a second scan");
	snprintf(scan3, sizeof scan3, "%s", jstr(a.body, "id"));
	answer_clear(&a);
	VT_OK(run_begin(&r3, scan3), "scan 3 runs");
	VT_OK(run_finding(&r3, "fp-sql-0001", "high", 89, "src/db2.c", NULL), "the same fingerprint");
	VT_OK(run_finding(&r3, "fp-new-0003", "medium", 79, "web/x.js", NULL), "a new one");
	VT_OK(run_finish(&r3, VG_SCAN_COMPLETED, "scan_completed"), "scan 3 completed");
	snprintf(uri, sizeof uri, "/v1/scans/%s/findings?status=dismissed", scan3);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 1, "the dismissal followed the fingerprint");
	VT_EQ_STR(jstr(json_array_get(items(&a), 0), "baseline_state"), "unchanged",
	    "seen before: unchanged");
	answer_clear(&a);
	{
		static const struct {
			const char *fp, *state;
		} want[] = {{"fp-sql-0001", "unchanged"}, {"fp-new-0003", "new"}, {"fp-log-0002", "absent"}};
		size_t i, j;
		json_t *v;

		snprintf(uri, sizeof uri, "/v1/repositories/%s/findings", repo);
		call(&a, "GET", uri, viewer, NULL);
		VT_EQ_INT((long)json_array_size(items(&a)), 3, "one per fingerprint");
		for (i = 0; i < sizeof want / sizeof want[0]; i++) {
			const char *got = "";

			json_array_foreach(items(&a), j, v)
				if (strcmp(jstr(v, "fingerprint"), want[i].fp) == 0)
					got = jstr(v, "baseline_state");
			snprintf(msg, sizeof msg, "%s is %s", want[i].fp, want[i].state);
			VT_EQ_STR(got, want[i].state, msg);
		}
		answer_clear(&a);
	}

	/* a repository's events across its scans */
	snprintf(uri, sizeof uri, "/v1/repositories/%s/events?limit=2", repo);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "repository events");
	VT_EQ_INT((long)json_array_size(items(&a)), 2, "a page");
	snprintf(cursor, sizeof cursor, "%s", jstr(a.body, "next_cursor"));
	answer_clear(&a);
	{
		size_t seen = 2;
		int guard = 0;

		do {
			snprintf(uri, sizeof uri, "/v1/repositories/%s/events?limit=2&cursor=%s", repo,
			    cursor);
			call(&a, "GET", uri, viewer, NULL);
			seen += json_array_size(items(&a));
			snprintf(cursor, sizeof cursor, "%s", jstr(a.body, "next_cursor"));
			guard++;
			if (json_array_size(items(&a)) == 0) {
				answer_clear(&a);
				break;
			}
			answer_clear(&a);
		} while (guard < 10);
		/* scan 1: 3, scan 2: 1 (cancelled), scan 3: 1 */
		VT_EQ_INT((long)seen, 5, "every event once");
	}
	snprintf(uri, sizeof uri, "/v1/repositories/%s/events?cursor=zzz", repo);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 400, "a made-up cursor");
	answer_clear(&a);
	(void)r3;
}

/* Artifacts and the SARIF report: served as the runner stored them. */
static void
test_artifacts(void)
{
	struct vg_blob *b = NULL;
	struct vg_scan_filter f = {.repository_id = repo, .status = VG_SCAN_COMPLETED};
	struct vg_scan *rows = NULL;
	struct answer a;
	char *next = NULL, key[128], uri[256], msg[160];
	static const char sarif[] = "{\"version\":\"2.1.0\",\"runs\":[]}";
	size_t n = 0;

	VT_OK(vg_store_scan_list(S, &f, NULL, 1, &rows, &n, &next) == VG_OK && n == 1,
	    "the latest completed scan");
	if (n != 1)
		return;
	VT_OK(vg_blob_open(&b, msg, sizeof msg) == VG_OK, "blob store");
	snprintf(key, sizeof key, "scans/%s/report.sarif", rows[0].id);
	VT_OK(vg_blob_put_mem(b, VG_BLOB_ARTIFACTS, key, sarif, sizeof sarif - 1,
	    VG_BLOB_REPLACE, NULL) == VG_OK, "a report stored");
	snprintf(key, sizeof key, "scans/%s/events.jsonl", rows[0].id);
	VT_OK(vg_blob_put_mem(b, VG_BLOB_ARTIFACTS, key, "{}\n", 3, VG_BLOB_REPLACE, NULL) ==
	    VG_OK, "an event log stored");

	snprintf(uri, sizeof uri, "/v1/scans/%s/report.sarif", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "the SARIF report");
	VT_EQ_STR(a.ctype, "application/sarif+json", "as SARIF");
	VT_EQ_STR(a.text, sarif, "as stored");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/artifacts", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT((long)json_array_size(items(&a)), 2, "two artifacts listed");
	VT_EQ_STR(jstr(json_array_get(items(&a), 0), "name"), "events.jsonl", "by name");
	VT_EQ_INT(jint(json_array_get(items(&a), 1), "size"), (long)sizeof sarif - 1, "with size");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	snprintf(msg, sizeof msg, "/v1/scans/%s/artifacts/report.sarif", rows[0].id);
	VT_EQ_STR(jstr(json_object_get(a.body, "artifacts"), "report.sarif"), msg,
	    "the scan links its artifacts");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/artifacts/events.jsonl", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "one artifact");
	VT_EQ_STR(a.text, "{}\n", "its bytes");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/artifacts/debug-bundle.zip", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 404, "a missing artifact");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/scans/%s/artifacts/..", rows[0].id);
	call(&a, "GET", uri, viewer, NULL);
	VT_OK(a.status == 404 || a.status == 400, "no climbing out");
	answer_clear(&a);
	vg_blob_free(b);
	free(rows);
	free(next);
}

/* One LLM call of scan through the store as the proxy records it:
 * reserved, then settled as status (NULL: left reserved). */
static bool
llm_call(const char *scan, int64_t tokens, int64_t microusd, const char *status,
    const struct vg_llm_settlement *used)
{
	struct vg_llm_limits lim = {0};
	struct vg_llm_reservation r;
	struct vg_llm_settlement st = *used;

	memset(&r, 0, sizeof r);
	r.scan_id = scan;
	r.user_id = owner_id;
	r.request_id = "req-usage-test";
	r.provider = "openai";
	r.model = "fake-model";
	r.endpoint = "chat_completions";
	r.tokens = tokens;
	r.microusd = microusd;
	r.now_us = vg_time_now_us();
	if (vg_store_llm_reserve(S, &r, &lim, NULL) != VG_OK)
		return false;
	if (!status)
		return true;
	st.status = status;
	st.upstream_request_id = "upstream-usage-test";
	st.now_us = vg_time_now_us();
	return vg_store_llm_settle(S, r.id, &st) == VG_OK;
}

/* What "llm_usage" of a scan's view must hold, member by member. */
struct usage_want {
	const char *key;
	long count;          /* for a count */
	const char *usd;     /* for an amount (NULL: a count) */
};

/* Check the view's "llm_usage" against want (n members), naming what. */
static void
check_usage(const struct answer *a, const struct usage_want *want, size_t n, const char *what)
{
	json_t *u = json_object_get(a->body, "llm_usage");
	char msg[200];
	size_t i;

	snprintf(msg, sizeof msg, "%s: llm_usage is an object", what);
	VT_OK(json_is_object(u), msg);
	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof msg, "%s: llm_usage.%s", what, want[i].key);
		if (want[i].usd)
			VT_EQ_STR(jstr(u, want[i].key), want[i].usd, msg);
		else
			VT_OK(json_is_integer(json_object_get(u, want[i].key)) &&
			    jint(u, want[i].key) == want[i].count, msg);
	}
}

/*
 * GET /v1/scans/{id} shows the scan's LLM usage ("llm_usage"): zeros for
 * a scan that made no call, the store's totals once calls are recorded
 * (settled ones by their usage, a failed one for nothing, an open
 * reservation as reserved), the same totals as GET /v1/scans/{id}/usage;
 * the cancel answer shows it too, a list does not.
 */
static void
test_scan_usage(void)
{
	static const struct usage_want none[] = {
		{"requests", 0, NULL}, {"input_tokens", 0, NULL},
		{"cached_input_tokens", 0, NULL}, {"output_tokens", 0, NULL},
		{"reasoning_tokens", 0, NULL}, {"total_tokens", 0, NULL},
		{"cost_usd", 0, "0.00"}, {"cost_microusd", 0, NULL},
		{"reserved_tokens", 0, NULL}, {"reserved_cost_usd", 0, "0.00"},
	};
	static const struct usage_want used[] = {
		{"requests", 3, NULL}, {"input_tokens", 800, NULL},
		{"cached_input_tokens", 200, NULL}, {"output_tokens", 150, NULL},
		{"reasoning_tokens", 50, NULL}, {"total_tokens", 950, NULL},
		{"cost_usd", 0, "0.0025"}, {"cost_microusd", 2500, NULL},
		{"reserved_tokens", 300, NULL}, {"reserved_cost_usd", 0, "0.0007"},
	};
	const struct vg_llm_settlement settled = {
		.input_tokens = 800, .cached_input_tokens = 200, .output_tokens = 150,
		.reasoning_tokens = 50, .cost_microusd = 2500, .latency_ms = 40, .http_status = 200,
	}, failed = {.http_status = 502};
	struct answer a, u;
	char uri[256], scan[64];
	json_t *v;
	size_t i;
	int listed = 0;

	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 202, "a scan for its LLM usage");
	snprintf(scan, sizeof scan, "%s", jstr(a.body, "id"));
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/scans/%s", scan);
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "a scan without LLM calls");
	check_usage(&a, none, sizeof none / sizeof none[0], "no calls");
	answer_clear(&a);

	VT_OK(llm_call(scan, 1000, 5000, "settled", &settled), "a settled call");
	VT_OK(llm_call(scan, 400, 900, "failed", &failed), "a failed call");
	VT_OK(llm_call(scan, 300, 700, NULL, &failed), "a call still reserved");
	call(&a, "GET", uri, viewer, NULL);
	VT_EQ_INT(a.status, 200, "the scan after three calls");
	check_usage(&a, used, sizeof used / sizeof used[0], "three calls");
	snprintf(uri, sizeof uri, "/v1/scans/%s/usage", scan);
	call(&u, "GET", uri, viewer, NULL);
	VT_EQ_INT(u.status, 200, "its usage answer");
	VT_OK(json_equal(json_object_get(a.body, "llm_usage"), json_object_get(u.body, "totals")),
	    "the view's llm_usage is the usage answer's totals");
	answer_clear(&u);
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "GET", uri, viewer, NULL);
	json_array_foreach(items(&a), i, v)
		if (strcmp(jstr(v, "id"), scan) == 0) {
			listed = 1;
			VT_OK(json_object_get(v, "llm_usage") == NULL,
			    "a list leaves llm_usage out (one store call per item)");
		}
	VT_OK(listed, "the scan is listed");
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/scans/%s/cancel", scan);
	call(&a, "POST", uri, owner, NULL);
	VT_EQ_INT(a.status, 200, "the queued scan cancelled");
	check_usage(&a, used, sizeof used / sizeof used[0], "the cancel answer");
	answer_clear(&a);
}

/* VEGA_SCAN_EXECUTION_MODE=thread: the runner program is started with
 * the scan id; one that cannot start cancels the scan (503). */
static void
test_thread_dispatch(void)
{
	char script[300], out[300], prog[700], uri[256], msg[256], id[64];
	struct vg_scan scan;
	struct answer a;
	FILE *fp;
	char *got = NULL;
	size_t len = 0;
	int i;

	snprintf(script, sizeof script, "%s/fake-runner", datadir);
	snprintf(out, sizeof out, "%s/runner-args", datadir);
	fp = fopen(script, "w");
	VT_OK(fp != NULL, "a fake runner");
	if (!fp)
		return;
	fprintf(fp, "#!/bin/sh\necho \"$@\" > %s.tmp\nmv %s.tmp %s\n", out, out, out);
	fclose(fp);
	chmod(script, 0700);
	snprintf(prog, sizeof prog, "%s", script);
	setenv("VEGA_SCAN_EXECUTION_MODE", "thread", 1);
	setenv("VEGA_RUNNER_PROGRAM", prog, 1);
	setenv("VEGA_MAX_ACTIVE_SCANS_PER_USER", "0", 1);
	VT_OK(vg_settings_load(msg, sizeof msg) == VG_OK, "thread mode");
	snprintf(uri, sizeof uri, "/v1/repositories/%s/scans", repo);
	call(&a, "POST", uri, member, NULL);
	VT_EQ_INT(a.status, 202, "accepted in thread mode");
	snprintf(id, sizeof id, "%s", jstr(a.body, "id"));
	answer_clear(&a);
	for (i = 0; i < 100 && access(out, F_OK) != 0; i++)
		usleep(20000);
	VT_OK(vg_fs_read_file(out, 4096, &got, &len) == VG_OK, "the runner ran");
	snprintf(msg, sizeof msg, "%s\n", id);
	VT_EQ_STR(got ? got : "", msg, "with the scan id as its argument");
	free(got);

	snprintf(prog, sizeof prog, "%s/no-such-runner", datadir);
	setenv("VEGA_RUNNER_PROGRAM", prog, 1);
	VT_OK(vg_settings_load(msg, sizeof msg) == VG_OK, "a missing runner");
	call(&a, "POST", uri, member, NULL);
	VT_EQ_INT(a.status, 503, "a runner that cannot start: 503");
	VT_EQ_STR(err_code(&a), "unavailable", "unavailable");
	answer_clear(&a);
	{
		struct vg_scan_filter f = {.repository_id = repo, .created_by = member_id};
		struct vg_scan *rows = NULL;
		char *next = NULL;
		size_t n = 0;

		VT_OK(vg_store_scan_list(S, &f, NULL, 1, &rows, &n, &next) == VG_OK && n == 1,
		    "the member's newest scan");
		VT_EQ_STR(n ? rows[0].status : "", "cancelled", "is cancelled, not left waiting");
		free(rows);
		free(next);
	}
	(void)scan;

	setenv("VEGA_SCAN_EXECUTION_MODE", "sqs", 1);
	VT_OK(vg_settings_load(msg, sizeof msg) == VG_OK, "sqs mode");
	VT_EQ_INT(vg_api_scans_init(), VG_ERR_INVALID, "sqs refuses to start, for now");
	setenv("VEGA_SCAN_EXECUTION_MODE", "external", 1);
	vg_settings_load(msg, sizeof msg);
	VT_EQ_INT(vg_api_scans_init(), VG_OK, "external starts");
}

int
main(void)
{
	char msg[256];

	snprintf(datadir, sizeof datadir, "/tmp/vg-api-scans-XXXXXX");
	if (!mkdtemp(datadir))
		return 1;
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	setenv("VEGA_AUTH_SECRET", SECRET, 1);
	setenv("VEGA_SCAN_EXECUTION_MODE", "external", 1);
	setenv("VEGA_MAX_ACTIVE_SCANS_PER_USER", "2", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_auth_init() != VG_OK ||
	    vg_http_store(&S) != VG_OK) {
		fprintf(stderr, "setup: %s\n", msg);
		return 1;
	}
	test_scans();
	test_artifacts();
	test_scan_usage();
	test_thread_dispatch();
	free(owner);
	free(member);
	free(viewer);
	free(stranger);
	vg_http_health_reset();
	vg_auth_reset();
	vg_fs_remove_tree(datadir);
	return vt_done();
}
