/*
 * test_store_scans.c - the store contract suite for scans, events,
 * findings, triage, runner jobs, pruning and LLM usage: one table of
 * cases run against the backend named by VEGA_TEST_BACKEND (json or
 * postgres).
 *
 * Backend choice and setup as in test_store_sources.c: VEGA_TEST_BACKEND,
 * else VEGA_PERSISTENCE_BACKEND, else json in a fresh temporary
 * VEGA_DATA_DIR; postgres needs VEGA_TEST_DATABASE_URL and VEGA_SRCDIR (it
 * migrates first).  Every case makes its own user, project, repository
 * and snapshot, so the cases do not depend on each other's leftovers;
 * the claim cases drain the queue before they start, since a claim takes
 * any user's scan.
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
#include "store/migrate.h"
#include "store/pg.h"
#include "store/store.h"
#include "vt.h"

#define SEC 1000000LL

static const char *backend;        /* "json" or "postgres" */
static char tmpdir[256];           /* json: the data dir */
static int64_t t_base;             /* a fixed past time cases count from */

/* ---- helpers ---- */

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

/* What every case scans: a user, a project, a ready repository with a
 * snapshot. */
struct world {
	struct vg_user user;
	struct vg_project project;
	struct vg_repository repo;
	struct vg_snapshot snap;
};

static unsigned digest_seq;

static void
make_user(struct vg_store *s, const char *tag, struct vg_user *u)
{
	char id[VG_UUID_LEN + 1];

	memset(u, 0, sizeof *u);
	vg_uuid_new(id);
	snprintf(u->email, sizeof u->email, "%s-%.8s@example.org", tag, id);
	snprintf(u->display_name, sizeof u->display_name, "User %s", tag);
	u->groups = VG_GROUP_USER;
	if (vg_store_user_create(s, u) != VG_OK)
		VT_OK(0, "create a user for the case");
}

static void
world_repo(struct vg_store *s, struct world *w, const char *name, struct vg_repository *r,
    struct vg_snapshot *sn)
{
	memset(r, 0, sizeof *r);
	vg_str_copy(r->project_id, sizeof r->project_id, w->project.id);
	vg_str_copy(r->name, sizeof r->name, name);
	vg_str_copy(r->source_type, sizeof r->source_type, "upload");
	if (vg_store_repository_create(s, r) != VG_OK)
		VT_OK(0, "create a repository for the case");
	memset(sn, 0, sizeof *sn);
	vg_str_copy(sn->repository_id, sizeof sn->repository_id, r->id);
	snprintf(sn->digest, sizeof sn->digest, "%056x%08x", 0xabcu, ++digest_seq);
	snprintf(sn->storage_key, sizeof sn->storage_key, "snapshots/%s.tar", sn->digest);
	vg_str_copy(sn->format, sizeof sn->format, "tar.gz");
	vg_str_copy(sn->languages, sizeof sn->languages, "{}");
	if (vg_store_snapshot_create(s, sn, NULL) != VG_OK)
		VT_OK(0, "create a snapshot for the case");
}

static void
world_new(struct vg_store *s, const char *tag, struct world *w)
{
	memset(w, 0, sizeof *w);
	make_user(s, tag, &w->user);
	vg_str_copy(w->project.name, sizeof w->project.name, tag);
	vg_str_copy(w->project.owner_id, sizeof w->project.owner_id, w->user.id);
	if (vg_store_project_create(s, &w->project) != VG_OK)
		VT_OK(0, "create a project for the case");
	world_repo(s, w, "main", &w->repo, &w->snap);
}

/* A queued scan of w's repository created at (t_base + at_s seconds; 0:
 * now). */
static enum vg_err
make_scan(struct vg_store *s, const struct world *w, int64_t at_s, int64_t max_active,
    struct vg_scan *sc)
{
	memset(sc, 0, sizeof *sc);
	vg_str_copy(sc->repository_id, sizeof sc->repository_id, w->repo.id);
	vg_str_copy(sc->snapshot_id, sizeof sc->snapshot_id, w->snap.id);
	vg_str_copy(sc->created_by, sizeof sc->created_by, w->user.id);
	vg_str_copy(sc->engine, sizeof sc->engine, "rules");
	vg_str_copy(sc->options, sizeof sc->options, "{\"depth\": 2, \"a\": true}");
	sc->created_at_us = at_s ? t_base + at_s * SEC : 0;
	return vg_store_scan_create(s, sc, max_active);
}

/* A fresh lease token (32 hex digits). */
static void
new_token(char out[33])
{
	unsigned char b[16];

	vg_random_bytes(b, sizeof b);
	vg_hex_encode(b, sizeof b, out);
}

/* Claim every queued scan, so the claim cases see only their own. */
static void
drain_queue(struct vg_store *s)
{
	char tok[33];
	struct vg_scan sc;
	int i;

	for (i = 0; i < 10000; i++) {
		new_token(tok);
		if (vg_store_scan_claim(s, NULL, NULL, tok, 0, &sc) != VG_OK)
			break;
	}
}

/* A claimed (and, when start, running) scan of w with its lease in l
 * (tok holds the token). */
static void
running_scan(struct vg_store *s, const struct world *w, bool start, struct vg_scan *sc,
    char tok[33], struct vg_lease *l)
{
	struct vg_scan got;

	VT_EQ_INT(make_scan(s, w, 0, 0, sc), VG_OK, "a scan to run");
	new_token(tok);
	VT_EQ_INT(vg_store_scan_claim(s, NULL, sc->id, tok, 0, &got), VG_OK, "claimed by id");
	l->scan_id = sc->id;
	l->attempt = got.attempt;
	l->lease_token = tok;
	if (start)
		VT_EQ_INT(vg_store_scan_start(s, l, 0), VG_OK, "started");
}

static json_t *
finding_data(const char *title, const char *severity, const char *path, int line)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:[i], s:s, s:s}", "title", title,
	    "severity", severity, "file_path", path, "line_start", line, "cwe_ids", 79,
	    "engine", "rules", "rule_id", "r-1");
}

/* Upsert fingerprint fp into the leased scan. */
static enum vg_err
put_finding(struct vg_store *s, const struct vg_lease *l, const char *fp, json_t *data,
    struct vg_finding_row *out, bool *created)
{
	struct vg_finding_row f;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	vg_str_copy(f.fingerprint, sizeof f.fingerprint, fp);
	f.data = json_incref(data);   /* f owns its data */
	err = vg_store_finding_upsert(s, l, &f, 0, created);
	if (out)
		*out = f;
	else
		vg_finding_row_clear(&f);
	return err;
}

static int64_t
events_of(struct vg_store *s, const char *scan_id, const char *type)
{
	struct vg_event *es = NULL;
	size_t n = 0, i;
	int64_t k = 0;

	if (vg_store_event_list(s, scan_id, 0, VG_STORE_LIST_MAX, &es, &n) != VG_OK)
		return -1;
	for (i = 0; i < n; i++) {
		if (!type || strcmp(es[i].type, type) == 0)
			k++;
		vg_event_clear(&es[i]);
	}
	free(es);
	return k;
}

/* ---- cases ---- */

static void
case_create_get(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc, got, bad;
	char upper[VG_UUID_LEN + 1];
	size_t i;

	world_new(s, "create", &w);
	VT_EQ_INT(make_scan(s, &w, 10, 0, &sc), VG_OK, "create");
	VT_OK(vg_uuid_valid(sc.id), "an id");
	EQ_STR(sc.status, VG_SCAN_QUEUED, "queued");
	VT_EQ_INT(sc.created_at_us, t_base + 10 * SEC, "the given time");
	VT_EQ_INT(sc.attempt, 0, "no attempt yet");
	memcpy(upper, sc.id, sizeof upper);
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	VT_EQ_INT(vg_store_scan_get(s, upper, &got), VG_OK, "get (upper-case id)");
	EQ_STR(got.id, sc.id, "same id");
	EQ_STR(got.project_id, w.project.id, "the repository's project");
	EQ_STR(got.snapshot_id, w.snap.id, "snapshot");
	EQ_STR(got.created_by, w.user.id, "creator");
	EQ_STR(got.engine, "rules", "engine");
	EQ_STR(got.options, "{\"a\":true,\"depth\":2}", "options, canonical");
	EQ_STR(got.lease_token, "", "no lease");
	VT_EQ_INT(got.created_at_us, sc.created_at_us, "created_at");
	VT_EQ_INT(got.updated_at_us, sc.created_at_us, "updated_at");
	VT_EQ_INT(got.finished_at_us, 0, "not finished");
	VT_EQ_INT(got.profile_version, 0, "no profile");
	VT_EQ_INT(vg_store_scan_get(s, "nope", &got), VG_ERR_NOT_FOUND, "a malformed id");
	VT_EQ_INT(vg_store_scan_get(s, w.repo.id, &got), VG_ERR_NOT_FOUND, "an unknown id");

	/* What create refuses. */
	bad = sc;
	memset(&bad, 0, sizeof bad);
	vg_str_copy(bad.repository_id, sizeof bad.repository_id, w.repo.id);
	vg_str_copy(bad.snapshot_id, sizeof bad.snapshot_id, w.snap.id);
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_INVALID, "no engine");
	vg_str_copy(bad.engine, sizeof bad.engine, "rules");
	vg_str_copy(bad.options, sizeof bad.options, "[1]");
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_INVALID, "options not an object");
	bad.options[0] = '\0';
	bad.profile_version = 3;
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_INVALID, "a version without profile");
	bad.profile_version = 0;
	vg_str_copy(bad.snapshot_id, sizeof bad.snapshot_id, "x");
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_INVALID, "a malformed snapshot id");
	vg_str_copy(bad.snapshot_id, sizeof bad.snapshot_id, w.user.id);
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_NOT_FOUND, "an unknown snapshot");
	vg_str_copy(bad.snapshot_id, sizeof bad.snapshot_id, w.snap.id);
	vg_str_copy(bad.repository_id, sizeof bad.repository_id, w.user.id);
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_NOT_FOUND, "an unknown repository");
	vg_str_copy(bad.repository_id, sizeof bad.repository_id, w.repo.id);
	vg_str_copy(bad.profile_id, sizeof bad.profile_id, w.user.id);
	bad.profile_version = 1;
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_ERR_NOT_FOUND, "an unknown profile");
	bad.profile_id[0] = '\0';
	bad.profile_version = 0;
	VT_EQ_INT(vg_store_scan_create(s, &bad, 0), VG_OK, "no options is {}");
	VT_EQ_INT(vg_store_scan_get(s, bad.id, &got), VG_OK, "read back");
	EQ_STR(got.options, "{}", "empty options");
	EQ_STR(got.created_by, "", "no creator");
}

/* A scan with a threat profile version. */
static void
case_profile(struct vg_store *s)
{
	struct world w;
	struct vg_threat_profile p;
	struct vg_scan sc, got;
	json_t *content = json_pack("{s:[s]}", "assets", "db");

	world_new(s, "profile", &w);
	memset(&p, 0, sizeof p);
	vg_str_copy(p.repository_id, sizeof p.repository_id, w.repo.id);
	vg_str_copy(p.name, sizeof p.name, "web");
	p.content = content;
	VT_EQ_INT(vg_store_threat_profile_create(s, &p), VG_OK, "a profile");
	memset(&sc, 0, sizeof sc);
	vg_str_copy(sc.repository_id, sizeof sc.repository_id, w.repo.id);
	vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, w.snap.id);
	vg_str_copy(sc.engine, sizeof sc.engine, "rules");
	vg_str_copy(sc.profile_id, sizeof sc.profile_id, p.id);
	sc.profile_version = 2;
	VT_EQ_INT(vg_store_scan_create(s, &sc, 0), VG_ERR_NOT_FOUND, "a version not there");
	sc.profile_version = 1;
	VT_EQ_INT(vg_store_scan_create(s, &sc, 0), VG_OK, "version 1");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &got), VG_OK, "get");
	EQ_STR(got.profile_id, p.id, "profile");
	VT_EQ_INT(got.profile_version, 1, "its version");
	json_decref(content);
}

/* The whole life of one scan: claim, start, heartbeats, events, finish. */
static void
case_lifecycle(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc, got;
	struct vg_lease l;
	struct vg_event *es = NULL;
	struct vg_scan_finish fin;
	char tok[33], worker[VG_UUID_LEN + 1];
	json_t *payload = json_pack("{s:i}", "files", 3);
	bool cr = true;
	int64_t seq = 0;
	size_t n = 0, i;

	world_new(s, "life", &w);
	drain_queue(s);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "create");
	vg_uuid_new(worker);
	new_token(tok);
	VT_EQ_INT(vg_store_scan_claim(s, worker, NULL, "short", 0, &got), VG_ERR_INVALID,
	    "a token too short");
	VT_EQ_INT(vg_store_scan_claim(s, "w", NULL, tok, 0, &got), VG_ERR_INVALID,
	    "a malformed worker id");
	VT_EQ_INT(vg_store_scan_claim(s, worker, NULL, tok, t_base + 100 * SEC, &got), VG_OK,
	    "claim");
	EQ_STR(got.id, sc.id, "the queued scan");
	EQ_STR(got.status, VG_SCAN_CLAIMED, "claimed");
	VT_EQ_INT(got.attempt, 1, "attempt 1");
	EQ_STR(got.lease_token, tok, "the lease");
	EQ_STR(got.claimed_by, worker, "by the worker");
	VT_EQ_INT(got.claimed_at_us, t_base + 100 * SEC, "claimed_at");
	VT_EQ_INT(got.heartbeat_at_us, t_base + 100 * SEC, "heartbeat_at");
	VT_EQ_INT(vg_store_scan_claim(s, worker, NULL, tok, 0, &got), VG_ERR_NOT_FOUND,
	    "nothing else queued");
	VT_EQ_INT(vg_store_scan_claim(s, worker, sc.id, tok, 0, &got), VG_ERR_NOT_FOUND,
	    "a claimed scan is not claimed again");

	l.scan_id = sc.id;
	l.attempt = 1;
	l.lease_token = tok;
	VT_EQ_INT(vg_store_scan_heartbeat(s, &l, 0, t_base + 105 * SEC, &cr), VG_OK,
	    "a claimed scan heartbeats");
	VT_OK(!cr, "no cancellation asked");
	VT_EQ_INT(vg_store_scan_start(s, &l, t_base + 110 * SEC), VG_OK, "start");
	VT_EQ_INT(vg_store_scan_start(s, &l, t_base + 111 * SEC), VG_ERR_CONFLICT,
	    "start twice");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_RUNNING, "running");
	VT_EQ_INT(got.started_at_us, t_base + 110 * SEC, "started_at");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &l, 42, t_base + 120 * SEC, &cr), VG_OK,
	    "heartbeat");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &l, -1, t_base + 120 * SEC, &cr), VG_ERR_INVALID,
	    "negative files");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &got), VG_OK, "get");
	VT_EQ_INT(got.heartbeat_at_us, t_base + 120 * SEC, "heartbeat_at moved");
	VT_EQ_INT(got.files_scanned, 42, "files_scanned");

	VT_EQ_INT(vg_store_event_append(s, &l, "scan_started", NULL, t_base + 110 * SEC, &seq),
	    VG_OK, "event 1");
	VT_EQ_INT(seq, 1, "seq 1");
	VT_EQ_INT(vg_store_event_append(s, &l, "scan_progress", payload, t_base + 121 * SEC, &seq),
	    VG_OK, "event 2");
	VT_EQ_INT(seq, 2, "seq 2");
	VT_EQ_INT(vg_store_event_append(s, &l, "bogus", NULL, 0, &seq), VG_ERR_INVALID,
	    "an unknown type");
	VT_EQ_INT(vg_store_event_append(s, &l, "scan_log", json_array_get(NULL, 0), 0, NULL),
	    VG_OK, "event 3 (no payload)");

	memset(&fin, 0, sizeof fin);
	fin.status = VG_SCAN_FAILED;
	VT_EQ_INT(vg_store_scan_finish(s, &l, &fin), VG_ERR_INVALID, "failed needs a code");
	fin.status = "running";
	VT_EQ_INT(vg_store_scan_finish(s, &l, &fin), VG_ERR_INVALID, "not a final state");
	fin.status = VG_SCAN_COMPLETED;
	fin.error_code = "ignored";
	fin.event_type = "scan_completed";
	fin.event_payload = payload;
	fin.now_us = t_base + 130 * SEC;
	VT_EQ_INT(vg_store_scan_finish(s, &l, &fin), VG_OK, "finish");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_COMPLETED, "completed");
	VT_EQ_INT(got.finished_at_us, t_base + 130 * SEC, "finished_at");
	EQ_STR(got.error_code, "", "no error code unless failed");
	VT_EQ_INT(got.last_event_seq, 4, "four events");
	VT_EQ_INT(vg_store_scan_finish(s, &l, &fin), VG_ERR_CONFLICT, "finish twice");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &l, 1, 0, &cr), VG_ERR_CONFLICT,
	    "no heartbeat after the end");
	VT_EQ_INT(vg_store_event_append(s, &l, "scan_log", NULL, 0, NULL), VG_ERR_CONFLICT,
	    "no event after the end");

	VT_EQ_INT(vg_store_event_list(s, sc.id, 0, 10, &es, &n), VG_OK, "events");
	VT_EQ_INT(n, 4, "all four");
	for (i = 0; i < n; i++)
		VT_EQ_INT(es[i].seq, (int64_t)i + 1, "in order");
	if (n == 4) {
		EQ_STR(es[0].type, "scan_started", "first type");
		EQ_STR(es[3].type, "scan_completed", "the final event");
		VT_EQ_INT(json_integer_value(json_object_get(es[1].payload, "files")), 3,
		    "payload kept");
		VT_OK(json_is_object(es[2].payload) && json_object_size(es[2].payload) == 0,
		    "no payload is {}");
		VT_EQ_INT(es[1].created_at_us, t_base + 121 * SEC, "created_at");
		EQ_STR(es[0].scan_id, sc.id, "scan id");
	}
	for (i = 0; i < n; i++)
		vg_event_clear(&es[i]);
	free(es);
	es = NULL;
	VT_EQ_INT(vg_store_event_list(s, sc.id, 2, 1, &es, &n), VG_OK, "events after 2, one");
	VT_EQ_INT(n, 1, "one");
	if (n == 1)
		VT_EQ_INT(es[0].seq, 3, "seq 3");
	for (i = 0; i < n; i++)
		vg_event_clear(&es[i]);
	free(es);
	es = NULL;
	VT_EQ_INT(vg_store_event_list(s, sc.id, 4, 10, &es, &n), VG_OK, "none after the last");
	VT_EQ_INT(n, 0, "empty");
	free(es);
	VT_EQ_INT(vg_store_event_list(s, sc.id, 0, 0, &es, &n), VG_ERR_INVALID, "limit 0");
	VT_EQ_INT(vg_store_event_list(s, "x", 0, 1, &es, &n), VG_ERR_INVALID, "malformed scan");
	json_decref(payload);
}

/*
 * A lease that is not the scan's current one writes nothing: a wrong
 * token, or the old attempt after the scan was requeued and re-claimed.
 */
static void
case_lease_lost(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc, before, after;
	struct vg_lease l, wrong, old;
	struct vg_scan_finish fin = {VG_SCAN_COMPLETED, NULL, NULL, "scan_completed", NULL, 0};
	char tok[33], tok2[33], other[33];
	json_t *data;
	bool cr;

	world_new(s, "lease", &w);
	running_scan(s, &w, false, &sc, tok, &l);
	new_token(other);
	wrong = l;
	wrong.lease_token = other;
	VT_EQ_INT(vg_store_scan_start(s, &wrong, 0), VG_ERR_CONFLICT, "start, wrong token");
	wrong = l;
	wrong.attempt = 2;
	VT_EQ_INT(vg_store_scan_start(s, &wrong, 0), VG_ERR_CONFLICT, "start, wrong attempt");
	wrong = l;
	wrong.scan_id = w.repo.id;
	VT_EQ_INT(vg_store_scan_start(s, &wrong, 0), VG_ERR_CONFLICT, "start, no such scan");
	wrong.scan_id = "x";
	VT_EQ_INT(vg_store_scan_start(s, &wrong, 0), VG_ERR_INVALID, "start, malformed");
	wrong = l;
	wrong.attempt = 0;
	VT_EQ_INT(vg_store_scan_start(s, &wrong, 0), VG_ERR_INVALID, "start, attempt 0");

	/* Requeued (claimed long ago, never started) and claimed again. */
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, sc.id, 1, vg_time_now_us() + 60 * SEC, 3, 0),
	    VG_OK, "requeue");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &before), VG_OK, "get");
	EQ_STR(before.status, VG_SCAN_QUEUED, "queued again");
	EQ_STR(before.lease_token, "", "lease cleared");
	new_token(tok2);
	VT_EQ_INT(vg_store_scan_claim(s, NULL, sc.id, tok2, 0, &before), VG_OK, "re-claim");
	VT_EQ_INT(before.attempt, 2, "attempt 2");
	old = l;   /* attempt 1, the first token */
	VT_EQ_INT(vg_store_scan_start(s, &old, 0), VG_ERR_CONFLICT, "old lease: start");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &old, 99, 0, &cr), VG_ERR_CONFLICT,
	    "old lease: heartbeat");
	VT_EQ_INT(vg_store_event_append(s, &old, "scan_log", NULL, 0, NULL), VG_ERR_CONFLICT,
	    "old lease: event");
	data = finding_data("XSS", "high", "a.c", 3);
	VT_EQ_INT(put_finding(s, &old, "fp-lost-0001", data, NULL, NULL), VG_ERR_CONFLICT,
	    "old lease: finding");
	VT_EQ_INT(vg_store_scan_finish(s, &old, &fin), VG_ERR_CONFLICT, "old lease: finish");
	old.attempt = 2;   /* the new attempt, the old token */
	VT_EQ_INT(vg_store_scan_heartbeat(s, &old, 99, 0, &cr), VG_ERR_CONFLICT,
	    "right attempt, old token");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &after), VG_OK, "get");
	EQ_STR(after.status, VG_SCAN_CLAIMED, "still claimed");
	VT_EQ_INT(after.files_scanned, 0, "no heartbeat written");
	VT_EQ_INT(after.last_event_seq, 0, "no event written");
	VT_EQ_INT(after.findings_count, 0, "no finding written");
	VT_EQ_INT(after.updated_at_us, before.updated_at_us, "nothing changed");
	VT_EQ_INT(events_of(s, sc.id, NULL), 0, "no events listed");
	l.attempt = 2;
	l.lease_token = tok2;
	VT_EQ_INT(vg_store_scan_start(s, &l, 0), VG_OK, "the new lease starts");
	VT_EQ_INT(put_finding(s, &l, "fp-lost-0001", data, NULL, NULL), VG_OK,
	    "and writes a finding");
	json_decref(data);
}

/* ---- setup and the table ---- */

static const struct {
	const char *name;
	void (*fn)(struct vg_store *s);
} cases[] = {
	{"create_get", case_create_get},
	{"profile", case_profile},
	{"lifecycle", case_lifecycle},
	{"lease_lost", case_lease_lost},
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
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vega-test-scans.XXXXXX");
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
			    " VEGA_SRCDIR\n");
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
	/* A whole second, a day back: times cases choose stay in the past
	 * and survive Postgres's microseconds unchanged. */
	t_base = (vg_time_now_us() / SEC - 86400) * SEC;
}

int
main(int argc, char **argv)
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
		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
			continue;
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
