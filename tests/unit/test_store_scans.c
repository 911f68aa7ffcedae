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
#include <dirent.h>
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
#include "store_backend.h"
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


static void
free_events(struct vg_event *es, size_t n)
{
	size_t i;

	for (i = 0; es && i < n; i++)
		vg_event_clear(&es[i]);
	free(es);
}

static void
free_rows(struct vg_finding_row *fs, size_t n)
{
	size_t i;

	for (i = 0; fs && i < n; i++)
		vg_finding_row_clear(&fs[i]);
	free(fs);
}

/* Cancel in each state: queued at once, claimed and running asked, a
 * finished scan left alone. */
static void
case_cancel(struct vg_store *s)
{
	struct world w;
	struct vg_scan q, c, r, done, got;
	struct vg_lease lc, lr, ld;
	struct vg_scan_finish fin = {VG_SCAN_CANCELLED, NULL, NULL, "scan_cancelled", NULL, 0};
	char tc[33], tr[33], td[33];
	bool cr = false;

	world_new(s, "cancel", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &q), VG_OK, "a queued scan");
	VT_EQ_INT(vg_store_scan_cancel(s, q.id, t_base + 5 * SEC, &got), VG_OK, "cancel queued");
	EQ_STR(got.status, VG_SCAN_CANCELLED, "cancelled at once");
	VT_EQ_INT(got.finished_at_us, t_base + 5 * SEC, "finished now");
	VT_EQ_INT(events_of(s, q.id, "scan_cancelled"), 1, "with a scan_cancelled event");
	VT_EQ_INT(vg_store_scan_cancel(s, q.id, t_base + 9 * SEC, &got), VG_OK, "again");
	VT_EQ_INT(got.finished_at_us, t_base + 5 * SEC, "unchanged");
	VT_EQ_INT(events_of(s, q.id, NULL), 1, "no second event");
	{
		char tok[33];

		new_token(tok);
		VT_EQ_INT(vg_store_scan_claim(s, NULL, q.id, tok, 0, &got), VG_ERR_NOT_FOUND,
		    "a cancelled scan is never claimed");
	}

	running_scan(s, &w, false, &c, tc, &lc);
	VT_EQ_INT(vg_store_scan_cancel(s, c.id, t_base + 6 * SEC, &got), VG_OK, "cancel claimed");
	EQ_STR(got.status, VG_SCAN_CLAIMED, "still claimed");
	VT_EQ_INT(got.cancel_requested_at_us, t_base + 6 * SEC, "asked");
	VT_EQ_INT(vg_store_scan_cancel(s, c.id, t_base + 8 * SEC, &got), VG_OK, "again");
	VT_EQ_INT(got.cancel_requested_at_us, t_base + 6 * SEC, "asked once");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &lc, 0, 0, &cr), VG_OK, "heartbeat");
	VT_OK(cr, "the runner learns it");

	running_scan(s, &w, true, &r, tr, &lr);
	cr = false;
	VT_EQ_INT(vg_store_scan_heartbeat(s, &lr, 0, 0, &cr), VG_OK, "heartbeat");
	VT_OK(!cr, "not asked yet");
	VT_EQ_INT(vg_store_scan_cancel(s, r.id, 0, &got), VG_OK, "cancel running");
	EQ_STR(got.status, VG_SCAN_RUNNING, "still running");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &lr, 0, 0, &cr), VG_OK, "heartbeat");
	VT_OK(cr, "asked");
	VT_EQ_INT(vg_store_scan_finish(s, &lr, &fin), VG_OK, "the runner stops");
	VT_EQ_INT(vg_store_scan_get(s, r.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_CANCELLED, "cancelled");
	VT_EQ_INT(events_of(s, r.id, "scan_cancelled"), 1, "its event");

	running_scan(s, &w, true, &done, td, &ld);
	fin.status = VG_SCAN_COMPLETED;
	fin.event_type = NULL;
	VT_EQ_INT(vg_store_scan_finish(s, &ld, &fin), VG_OK, "complete one");
	VT_EQ_INT(vg_store_scan_cancel(s, done.id, 0, &got), VG_OK, "cancel a finished scan");
	EQ_STR(got.status, VG_SCAN_COMPLETED, "left alone");
	VT_EQ_INT(got.cancel_requested_at_us, 0, "not even asked");
	VT_EQ_INT(events_of(s, done.id, NULL), 0, "no event");
	VT_EQ_INT(vg_store_scan_cancel(s, w.repo.id, 0, &got), VG_ERR_NOT_FOUND, "unknown");
	VT_EQ_INT(vg_store_scan_cancel(s, "x", 0, NULL), VG_ERR_NOT_FOUND, "malformed");
}

/* The rescuer's steps re-check their condition. */
static void
case_rescue(struct vg_store *s)
{
	struct world w;
	struct vg_scan a, b, c, got, *ss = NULL;
	struct vg_lease la, lb, lc;
	char ta[33], tb[33], tc[33], tok[33];
	int64_t now = vg_time_now_us();
	size_t n = 0, i;
	bool seen_a = false, seen_c = false;

	world_new(s, "rescue", &w);
	running_scan(s, &w, true, &a, ta, &la);
	VT_EQ_INT(vg_store_scan_heartbeat(s, &la, 1, now - 100 * SEC, NULL), VG_OK,
	    "a heartbeat long ago");
	running_scan(s, &w, true, &b, tb, &lb);
	running_scan(s, &w, false, &c, tc, &lc);

	VT_EQ_INT(vg_store_scan_stale(s, now - 50 * SEC, 0, now + 60 * SEC, &ss, &n), VG_OK,
	    "list candidates");
	for (i = 0; i < n; i++) {
		if (!strcmp(ss[i].id, a.id))
			seen_a = true;
		if (!strcmp(ss[i].id, c.id))
			seen_c = true;
		VT_OK(strcmp(ss[i].id, b.id) != 0, "a fresh running scan is no candidate");
	}
	VT_OK(seen_a, "the silent running scan is a candidate");
	VT_OK(seen_c, "the claimed scan is a candidate");
	free(ss);

	/* a heartbeats after the listing: it is not rescued. */
	VT_EQ_INT(vg_store_scan_heartbeat(s, &la, 2, now, NULL), VG_OK, "a comes back");
	VT_EQ_INT(vg_store_scan_rescue_running(s, a.id, 1, now - 50 * SEC, 0, 0), VG_ERR_CONFLICT,
	    "not rescued after a heartbeat");
	VT_EQ_INT(vg_store_scan_get(s, a.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_RUNNING, "still running");
	VT_EQ_INT(vg_store_scan_rescue_running(s, a.id, 2, now + 50 * SEC, 0, 0), VG_ERR_CONFLICT,
	    "another attempt");
	VT_EQ_INT(vg_store_scan_rescue_running(s, c.id, 1, now + 50 * SEC, 0, 0), VG_ERR_CONFLICT,
	    "a claimed scan is not rescued as running");
	VT_EQ_INT(vg_store_scan_rescue_running(s, w.repo.id, 1, now + 50 * SEC, 0, 0),
	    VG_ERR_NOT_FOUND, "unknown scan");
	VT_EQ_INT(vg_store_scan_rescue_running(s, a.id, 1, now + 50 * SEC, 0, now + SEC), VG_OK,
	    "rescued when silent past the bound");
	VT_EQ_INT(vg_store_scan_get(s, a.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_FAILED, "failed");
	EQ_STR(got.error_code, "stale_scan", "stale_scan");
	VT_EQ_INT(got.finished_at_us, now + SEC, "finished");
	VT_EQ_INT(events_of(s, a.id, "scan_failed"), 1, "a scan_failed event");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &la, 3, 0, NULL), VG_ERR_CONFLICT,
	    "the old runner's lease is lost");
	/* b ran too long: its start is before the bound. */
	VT_EQ_INT(vg_store_scan_rescue_running(s, b.id, 1, 0, now - 3600 * SEC, 0),
	    VG_ERR_CONFLICT, "started after the bound");
	VT_EQ_INT(vg_store_scan_rescue_running(s, b.id, 1, 0, now + 3600 * SEC, 0), VG_OK,
	    "started before the bound");

	/* c: claimed, never started. */
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 1, now - 3600 * SEC, 3, 0),
	    VG_ERR_CONFLICT, "claimed after the bound");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 2, now + 60 * SEC, 3, 0), VG_ERR_CONFLICT,
	    "another attempt");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 1, now + 60 * SEC, 0, 0), VG_ERR_INVALID,
	    "max_attempts 0");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, b.id, 1, now + 60 * SEC, 3, 0), VG_ERR_CONFLICT,
	    "a finished scan");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 1, now + 60 * SEC, 2, 0), VG_OK,
	    "requeued");
	VT_EQ_INT(vg_store_scan_get(s, c.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_QUEUED, "queued");
	EQ_STR(got.claimed_by, "", "claim cleared");
	VT_EQ_INT(got.claimed_at_us, 0, "claimed_at cleared");
	VT_EQ_INT(got.attempt, 1, "attempts kept");
	new_token(tok);
	VT_EQ_INT(vg_store_scan_claim(s, NULL, c.id, tok, 0, &got), VG_OK, "claimed again");
	VT_EQ_INT(got.attempt, 2, "attempt 2");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 1, now + 60 * SEC, 2, 0), VG_ERR_CONFLICT,
	    "the listed attempt is gone");
	VT_EQ_INT(vg_store_scan_requeue_claimed(s, c.id, 2, now + 60 * SEC, 2, now + 2 * SEC),
	    VG_OK, "out of attempts");
	VT_EQ_INT(vg_store_scan_get(s, c.id, &got), VG_OK, "get");
	EQ_STR(got.status, VG_SCAN_FAILED, "failed");
	EQ_STR(got.error_code, "too_many_attempts", "too_many_attempts");
	VT_EQ_INT(events_of(s, c.id, "scan_failed"), 1, "a scan_failed event");
}

/* Findings of two scans: counters, triage following the fingerprint,
 * history, the repository's latest row per fingerprint. */
static void
case_findings(struct vg_store *s)
{
	struct world w;
	struct vg_scan a, b, got;
	struct vg_lease la, lb;
	struct vg_finding_row fx, fy, fx2, row, *fs = NULL;
	struct vg_finding_filter flt;
	struct vg_triage t;
	char ta[33], tb[33], *next = NULL;
	json_t *d1 = finding_data("XSS in view", "high", "src/view.c", 10);
	json_t *d2 = finding_data("SQL injection", "critical", "src/db.c", 5);
	json_t *d3 = finding_data("XSS in view", "medium", "src/view.c", 12);
	json_t *hist = NULL, *bad;
	bool created = false;
	size_t n = 0;
	int64_t count = -1;

	world_new(s, "findings", &w);
	running_scan(s, &w, true, &a, ta, &la);
	VT_EQ_INT(put_finding(s, &la, "fp-x-00000001", d1, &fx, &created), VG_OK, "upsert x");
	VT_OK(created, "new");
	VT_OK(vg_uuid_valid(fx.id), "an id");
	EQ_STR(fx.repository_id, w.repo.id, "the scan's repository");
	EQ_STR(fx.status, "open", "open");
	EQ_STR(fx.severity, "high", "severity from data");
	EQ_STR(fx.first_scan_id, a.id, "first seen in a");
	EQ_STR(fx.last_scan_id, a.id, "last seen in a");
	EQ_STR(json_string_value(json_object_get(fx.data, "confidence")), "medium",
	    "defaults filled");
	VT_OK(json_is_null(json_object_get(fx.data, "model")), "no model is null");
	VT_EQ_INT(put_finding(s, &la, "fp-y-00000001", d2, &fy, &created), VG_OK, "upsert y");
	VT_EQ_INT(put_finding(s, &la, "fp-x-00000001", d3, &row, &created), VG_OK, "x again");
	VT_OK(!created, "not new");
	EQ_STR(row.id, fx.id, "the same row");
	EQ_STR(row.severity, "medium", "new severity");
	vg_finding_row_clear(&row);
	VT_EQ_INT(vg_store_scan_get(s, a.id, &got), VG_OK, "get a");
	VT_EQ_INT(got.findings_count, 2, "two findings");
	VT_EQ_INT(got.severity_counts[0], 1, "one critical");
	VT_EQ_INT(got.severity_counts[1], 0, "no high (moved to medium)");
	VT_EQ_INT(got.severity_counts[2], 1, "one medium");

	bad = json_pack("{s:s, s:s, s:s}", "title", "t", "severity", "severe", "file_path", "a");
	VT_EQ_INT(put_finding(s, &la, "fp-z-00000001", bad, NULL, NULL), VG_ERR_INVALID,
	    "a bad severity");
	json_decref(bad);
	bad = json_pack("{s:s, s:s, s:s, s:i, s:i}", "title", "t", "severity", "low", "file_path",
	    "a", "line_start", 5, "line_end", 4);
	VT_EQ_INT(put_finding(s, &la, "fp-z-00000001", bad, NULL, NULL), VG_ERR_INVALID,
	    "line_end before line_start");
	json_decref(bad);
	VT_EQ_INT(put_finding(s, &la, "short", d1, NULL, NULL), VG_ERR_INVALID,
	    "a fingerprint too short");
	VT_EQ_INT(put_finding(s, &la, "fp x 00000001", d1, NULL, NULL), VG_ERR_INVALID,
	    "spaces in a fingerprint");

	memset(&t, 0, sizeof t);
	t.status = "dismissed";
	t.reason = "test code";
	t.comment = "only in fixtures";
	t.actor_id = w.user.id;
	t.now_us = t_base + 50 * SEC;
	VT_EQ_INT(vg_store_finding_triage(s, fx.id, &t, &row), VG_OK, "dismiss x");
	EQ_STR(row.status, "dismissed", "dismissed");
	EQ_STR(row.status_reason, "test code", "reason");
	EQ_STR(row.status_actor_id, w.user.id, "actor");
	VT_EQ_INT(row.status_at_us, t_base + 50 * SEC, "when");
	vg_finding_row_clear(&row);
	t.status = "closed";
	VT_EQ_INT(vg_store_finding_triage(s, fx.id, &t, NULL), VG_ERR_INVALID, "unknown status");
	t.status = "dismissed";
	VT_EQ_INT(vg_store_finding_triage(s, w.user.id, &t, NULL), VG_ERR_NOT_FOUND,
	    "unknown finding");

	/* A later scan sees x again: the decision follows the fingerprint. */
	running_scan(s, &w, true, &b, tb, &lb);
	VT_EQ_INT(put_finding(s, &lb, "fp-x-00000001", d1, &fx2, &created), VG_OK, "x in b");
	VT_OK(created, "a new row of b");
	VT_OK(strcmp(fx2.id, fx.id) != 0, "another id");
	EQ_STR(fx2.status, "dismissed", "still dismissed");
	EQ_STR(fx2.status_reason, "test code", "with its reason");
	EQ_STR(fx2.first_scan_id, a.id, "first seen in a");
	EQ_STR(fx2.last_scan_id, b.id, "last seen in b");
	VT_EQ_INT(vg_store_finding_get(s, fx.id, &row), VG_OK, "a's row");
	EQ_STR(row.last_scan_id, b.id, "its fingerprint was last seen in b");
	EQ_STR(row.scan_id, a.id, "a's row is a's");
	vg_finding_row_clear(&row);

	t.status = "confirmed";
	t.reason = NULL;
	t.comment = NULL;
	t.now_us = t_base + 60 * SEC;
	VT_EQ_INT(vg_store_finding_triage(s, fx2.id, &t, NULL), VG_OK, "confirm from b's row");
	VT_EQ_INT(vg_store_finding_get(s, fx.id, &row), VG_OK, "a's row");
	EQ_STR(row.status, "confirmed", "every row of the fingerprint follows");
	EQ_STR(row.status_reason, "", "no reason now");
	vg_finding_row_clear(&row);
	VT_EQ_INT(vg_store_finding_history(s, fx.id, &hist), VG_OK, "history");
	VT_EQ_INT(json_array_size(hist), 2, "two decisions");
	EQ_STR(json_string_value(json_object_get(json_array_get(hist, 0), "status")), "dismissed",
	    "oldest first");
	EQ_STR(json_string_value(json_object_get(json_array_get(hist, 0), "comment")),
	    "only in fixtures", "comment");
	EQ_STR(json_string_value(json_object_get(json_array_get(hist, 0), "actor_id")), w.user.id,
	    "actor");
	VT_OK(json_is_string(json_object_get(json_array_get(hist, 0), "at")), "at");
	EQ_STR(json_string_value(json_object_get(json_array_get(hist, 1), "status")), "confirmed",
	    "then confirmed");
	VT_OK(json_is_null(json_object_get(json_array_get(hist, 1), "reason")), "no reason");
	json_decref(hist);
	hist = NULL;
	VT_EQ_INT(vg_store_finding_history(s, fy.id, &hist), VG_OK, "y's history");
	VT_EQ_INT(json_array_size(hist), 0, "empty");
	json_decref(hist);

	/* Lists. */
	memset(&flt, 0, sizeof flt);
	flt.scan_id = a.id;
	VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 10, &fs, &n, &next), VG_OK, "a's findings");
	VT_EQ_INT(n, 2, "two");
	if (n == 2) {
		EQ_STR(fs[0].fingerprint, "fp-y-00000001", "critical first");
		EQ_STR(fs[1].status, "confirmed", "status current");
	}
	VT_OK(next == NULL, "one page");
	free_rows(fs, n);
	fs = NULL;
	flt.scan_id = NULL;
	flt.repository_id = w.repo.id;
	VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 10, &fs, &n, &next), VG_OK,
	    "the repository's findings");
	VT_EQ_INT(n, 2, "one per fingerprint");
	if (n == 2) {
		EQ_STR(fs[0].scan_id, a.id, "y: a's row (b did not see it)");
		EQ_STR(fs[1].id, fx2.id, "x: b's row, the latest");
		EQ_STR(fs[1].severity, "high", "as b saw it");
	}
	free_rows(fs, n);
	fs = NULL;
	flt.status = "confirmed";
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_OK, "count confirmed");
	VT_EQ_INT(count, 1, "one");
	flt.status = "open";
	flt.severity = "critical";
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_OK, "count open critical");
	VT_EQ_INT(count, 1, "one");
	flt.severity = NULL;
	flt.status = NULL;
	flt.cwe = 79;
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_OK, "count CWE-79");
	VT_EQ_INT(count, 2, "both");
	flt.cwe = 89;
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_OK, "count CWE-89");
	VT_EQ_INT(count, 0, "none");
	flt.cwe = 0;
	flt.path_prefix = "src/d";
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_OK, "count under src/d");
	VT_EQ_INT(count, 1, "one");
	flt.scan_id = a.id;
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_ERR_INVALID,
	    "both a scan and a repository");
	flt.scan_id = NULL;
	flt.repository_id = NULL;
	VT_EQ_INT(vg_store_finding_count(s, &flt, &count), VG_ERR_INVALID, "neither");
	flt.repository_id = w.repo.id;
	flt.sort = "random";
	VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 10, &fs, &n, &next), VG_ERR_INVALID,
	    "unknown sort");
	VT_EQ_INT(vg_store_finding_get(s, "x", &row), VG_ERR_NOT_FOUND, "malformed id");
	{
		struct vg_project_rollup ru;

		VT_EQ_INT(vg_store_project_rollup(s, w.project.id, &ru), VG_OK,
		    "the project's roll-up");
		EQ_STR(ru.last_scan_status, VG_SCAN_RUNNING, "counts the newest scan");
		VT_EQ_INT(ru.open_findings[0], 1, "one open critical (y)");
		VT_EQ_INT(ru.open_findings[1] + ru.open_findings[2], 0, "x is confirmed, not open");
	}

	vg_finding_row_clear(&fx);
	vg_finding_row_clear(&fy);
	vg_finding_row_clear(&fx2);
	json_decref(d1);
	json_decref(d2);
	json_decref(d3);
}

/* Cursors: each list pages through everything once, in order, and
 * refuses a cursor it did not hand out for this filter. */
static void
case_cursors(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc[5], *ss = NULL;
	struct vg_lease l[2];
	struct vg_event *es = NULL;
	struct vg_finding_row *fs = NULL;
	struct vg_finding_filter flt;
	struct vg_scan_filter sf = {NULL, NULL, NULL};
	char tok[2][33], *cur = NULL, *next = NULL, *scan_cursor = NULL, *event_cursor = NULL;
	char *finding_cursor = NULL;
	size_t n = 0, i, seen = 0;
	int64_t last_at = 0, t;
	static const char *const sevs[] = {"low", "critical", "high", "critical", "info"};
	static const char *const paths[] = {"b.c", "a.c", "c.c", "a.c", "d.c"};

	world_new(s, "cursors", &w);
	for (i = 0; i < 5; i++)
		VT_EQ_INT(make_scan(s, &w, 100 + (int64_t)(i % 3), 0, &sc[i]), VG_OK, "a scan");
	sf.repository_id = w.repo.id;
	/* Scans: newest first, ties by id, two per page. */
	do {
		VT_EQ_INT(vg_store_scan_list(s, &sf, cur, 2, &ss, &n, &next), VG_OK, "a page");
		for (i = 0; i < n && seen < 5; i++) {
			if (seen > 0)
				VT_OK(ss[i].created_at_us <= last_at, "newest first");
			last_at = ss[i].created_at_us;
			seen++;
		}
		free(ss);
		ss = NULL;
		if (cur && !scan_cursor)
			scan_cursor = strdup(cur);
		free(cur);
		cur = next;
	} while (cur && seen < 10);
	VT_EQ_INT(seen, 5, "every scan once");
	sf.status = "running";
	VT_EQ_INT(vg_store_scan_list(s, &sf, NULL, 2, &ss, &n, &next), VG_OK, "filter by status");
	VT_EQ_INT(n, 0, "none running");
	free(ss);
	sf.status = "bogus";
	VT_EQ_INT(vg_store_scan_list(s, &sf, NULL, 2, &ss, &n, &next), VG_ERR_INVALID,
	    "unknown status");
	sf.status = NULL;
	sf.created_by = w.user.id;
	VT_EQ_INT(vg_store_scan_list(s, &sf, NULL, 10, &ss, &n, &next), VG_OK, "by creator");
	VT_EQ_INT(n, 5, "five");
	free(ss);
	VT_EQ_INT(vg_store_scan_list(s, &sf, "garbage", 2, &ss, &n, &next), VG_ERR_INVALID,
	    "a garbage cursor");
	VT_EQ_INT(vg_store_scan_list(s, &sf, NULL, 0, &ss, &n, &next), VG_ERR_INVALID, "limit 0");

	/* Events of a repository: two scans, interleaved in time. */
	for (i = 0; i < 2; i++) {
		struct vg_scan got;

		new_token(tok[i]);
		VT_EQ_INT(vg_store_scan_claim(s, NULL, sc[i].id, tok[i], 0, &got), VG_OK, "claim");
		l[i].scan_id = sc[i].id;
		l[i].attempt = got.attempt;
		l[i].lease_token = tok[i];
	}
	for (t = 0; t < 6; t++)
		VT_EQ_INT(vg_store_event_append(s, &l[t % 2], "scan_log", NULL,
		    t_base + (200 + t) * SEC, NULL), VG_OK, "an event");
	seen = 0;
	last_at = 0;
	cur = NULL;
	do {
		VT_EQ_INT(vg_store_event_list_repository(s, w.repo.id, cur, 4, &es, &n, &next),
		    VG_OK, "a page of events");
		for (i = 0; i < n; i++, seen++) {
			VT_EQ_INT(es[i].created_at_us, t_base + (200 + (int64_t)seen) * SEC,
			    "in the order written");
			EQ_STR(es[i].scan_id, sc[seen % 2].id, "of the scan that wrote it");
		}
		free_events(es, n);
		es = NULL;
		if (cur && !event_cursor)
			event_cursor = strdup(cur);
		free(cur);
		cur = next;
	} while (cur && seen < 20);
	VT_EQ_INT(seen, 6, "every event once");
	VT_OK(event_cursor != NULL, "a second page");

	/* Findings: five in one scan, sorted by severity, two per page. */
	for (i = 0; i < 5; i++) {
		char fp[32];
		json_t *d = finding_data("thing", sevs[i], paths[i], (int)i + 1);

		snprintf(fp, sizeof fp, "fp-cursor-%03zu", i);
		VT_EQ_INT(put_finding(s, &l[0], fp, d, NULL, NULL), VG_OK, "a finding");
		json_decref(d);
	}
	memset(&flt, 0, sizeof flt);
	flt.scan_id = sc[0].id;
	seen = 0;
	cur = NULL;
	{
		static const char *const want_sev[] = {"critical", "critical", "high", "low", "info"};
		static const char *const want_path[] = {"a.c", "a.c", "c.c", "b.c", "d.c"};

		do {
			VT_EQ_INT(vg_store_finding_list(s, &flt, cur, 2, &fs, &n, &next), VG_OK,
			    "a page of findings");
			for (i = 0; i < n && seen < 5; i++, seen++) {
				EQ_STR(fs[i].severity, want_sev[seen], "most severe first");
				EQ_STR(json_string_value(json_object_get(fs[i].data, "file_path")),
				    want_path[seen], "then by path");
			}
			free_rows(fs, n);
			fs = NULL;
			if (cur && !finding_cursor)
				finding_cursor = strdup(cur);
			free(cur);
			cur = next;
		} while (cur && seen < 20);
	}
	VT_EQ_INT(seen, 5, "every finding once");
	flt.sort = "path";
	VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 5, &fs, &n, &next), VG_OK, "by path");
	if (n == 5) {
		EQ_STR(json_string_value(json_object_get(fs[0].data, "file_path")), "a.c", "a.c");
		VT_EQ_INT(json_integer_value(json_object_get(fs[0].data, "line_start")), 2,
		    "line 2 before line 4");
		EQ_STR(json_string_value(json_object_get(fs[4].data, "file_path")), "d.c", "d.c last");
	}
	free_rows(fs, n);
	fs = NULL;
	VT_EQ_INT(vg_store_finding_list(s, &flt, finding_cursor, 2, &fs, &n, &next),
	    VG_ERR_INVALID, "a cursor of another sort");
	flt.sort = NULL;
	flt.severity = "critical";
	VT_EQ_INT(vg_store_finding_list(s, &flt, finding_cursor, 2, &fs, &n, &next),
	    VG_ERR_INVALID, "a cursor of another filter");
	flt.severity = NULL;
	VT_EQ_INT(vg_store_finding_list(s, &flt, finding_cursor, 2, &fs, &n, &next), VG_OK,
	    "its own filter takes it");
	VT_EQ_INT(n, 2, "the second page");
	if (n == 2)
		EQ_STR(fs[0].severity, "high", "starts after the first");
	free(next);
	free_rows(fs, n);
	fs = NULL;
	VT_EQ_INT(vg_store_finding_list(s, &flt, scan_cursor, 2, &fs, &n, &next), VG_ERR_INVALID,
	    "a scan list's cursor");
	VT_EQ_INT(vg_store_finding_list(s, &flt, event_cursor, 2, &fs, &n, &next), VG_ERR_INVALID,
	    "an event list's cursor");
	VT_EQ_INT(vg_store_event_list_repository(s, w.repo.id, finding_cursor, 2, &es, &n, &next),
	    VG_ERR_INVALID, "events: a findings cursor");
	VT_EQ_INT(vg_store_event_list_repository(s, w.repo.id, scan_cursor, 2, &es, &n, &next),
	    VG_ERR_INVALID, "events: a scan cursor");
	VT_EQ_INT(vg_store_scan_list(s, &sf, event_cursor, 2, &ss, &n, &next), VG_ERR_INVALID,
	    "scans: an events cursor");
	VT_EQ_INT(vg_store_scan_list(s, &sf, finding_cursor, 2, &ss, &n, &next), VG_ERR_INVALID,
	    "scans: a findings cursor");
	free(scan_cursor);
	free(event_cursor);
	free(finding_cursor);
}

static void
case_jobs(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc;
	struct vg_runner_job j, again, got, *js = NULL;
	struct vg_runner_job_change c;
	char worker[VG_UUID_LEN + 1];
	bool existed = true;
	size_t n = 0;

	world_new(s, "jobs", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "a scan");
	vg_uuid_new(worker);
	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, sc.id);
	j.attempt = 1;
	vg_str_copy(j.worker_id, sizeof j.worker_id, worker);
	vg_str_copy(j.mode, sizeof j.mode, "local");
	VT_EQ_INT(vg_store_runner_job_create(s, &j, t_base, &existed), VG_OK, "create");
	VT_OK(!existed, "new");
	EQ_STR(j.status, "starting", "starting");
	VT_EQ_INT(j.exit_code, -1, "no exit code");
	again = j;
	vg_str_copy(again.mode, sizeof again.mode, "ecs");
	VT_EQ_INT(vg_store_runner_job_create(s, &again, 0, &existed), VG_OK, "create again");
	VT_OK(existed, "it existed");
	EQ_STR(again.id, j.id, "the stored job");
	EQ_STR(again.mode, "local", "as stored");
	j.attempt = 2;
	VT_EQ_INT(vg_store_runner_job_create(s, &j, t_base + SEC, &existed), VG_OK, "attempt 2");
	VT_OK(!existed, "new");
	j.mode[0] = 'x';
	VT_EQ_INT(vg_store_runner_job_create(s, &j, 0, NULL), VG_ERR_INVALID, "bad mode");
	vg_str_copy(j.mode, sizeof j.mode, "local");
	vg_str_copy(j.scan_id, sizeof j.scan_id, w.user.id);
	VT_EQ_INT(vg_store_runner_job_create(s, &j, 0, NULL), VG_ERR_NOT_FOUND, "unknown scan");

	memset(&c, 0, sizeof c);
	c.status = "running";
	c.external_id = "1234:99";
	c.exit_code = -1;
	c.now_us = t_base + 10 * SEC;
	VT_EQ_INT(vg_store_runner_job_update(s, sc.id, 1, &c), VG_OK, "running");
	c.status = "exited";
	c.external_id = NULL;
	c.exit_code = 0;
	c.now_us = t_base + 20 * SEC;
	VT_EQ_INT(vg_store_runner_job_update(s, sc.id, 1, &c), VG_OK, "exited");
	VT_EQ_INT(vg_store_runner_job_get(s, sc.id, 1, &got), VG_OK, "get");
	EQ_STR(got.status, "exited", "exited");
	EQ_STR(got.external_id, "1234:99", "external id kept");
	VT_EQ_INT(got.exit_code, 0, "exit 0");
	VT_EQ_INT(got.started_at_us, t_base + 10 * SEC, "started_at");
	VT_EQ_INT(got.finished_at_us, t_base + 20 * SEC, "finished_at");
	EQ_STR(got.worker_id, worker, "worker");
	VT_EQ_INT(vg_store_runner_job_update(s, sc.id, 3, &c), VG_ERR_NOT_FOUND, "no attempt 3");
	c.status = "gone";
	VT_EQ_INT(vg_store_runner_job_update(s, sc.id, 1, &c), VG_ERR_INVALID, "bad status");
	VT_EQ_INT(vg_store_runner_job_get(s, sc.id, 3, &got), VG_ERR_NOT_FOUND, "get attempt 3");
	VT_EQ_INT(vg_store_runner_job_list(s, sc.id, &js, &n), VG_OK, "list");
	VT_EQ_INT(n, 2, "two");
	if (n == 2) {
		VT_EQ_INT(js[0].attempt, 1, "by attempt");
		VT_EQ_INT(js[1].attempt, 2, "by attempt");
	}
	free(js);
}

/* Active counts, finished ids. */
static void
case_counts(struct vg_store *s)
{
	struct world w;
	struct vg_scan a, b, c;
	struct vg_lease l;
	struct vg_scan_finish fin = {VG_SCAN_FAILED, "engine_error", "it broke", "scan_failed",
	    NULL, 0};
	char tok[33], (*ids)[VG_UUID_LEN + 1] = NULL;
	int64_t n = -1;
	size_t count = 0, i;
	bool found = false;

	world_new(s, "counts", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &a), VG_OK, "queued");
	running_scan(s, &w, true, &b, tok, &l);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &c), VG_OK, "queued");
	VT_EQ_INT(vg_store_scan_count_active(s, w.user.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 3, "three active");
	fin.now_us = t_base + 5 * SEC;
	VT_EQ_INT(vg_store_scan_finish(s, &l, &fin), VG_OK, "fail b");
	VT_EQ_INT(vg_store_scan_cancel(s, c.id, 0, NULL), VG_OK, "cancel c");
	VT_EQ_INT(vg_store_scan_count_active(s, w.user.id, &n), VG_OK, "count");
	VT_EQ_INT(n, 1, "one active");
	VT_EQ_INT(vg_store_scan_count_active(s, "u", &n), VG_ERR_INVALID, "malformed user");
	VT_EQ_INT(vg_store_scan_finished_before(s, t_base + 6 * SEC, VG_STORE_LIST_MAX, &ids,
	    &count), VG_OK, "finished before");
	for (i = 0; i < count; i++) {
		VT_OK(strcmp(ids[i], c.id) != 0, "c finished now, not before");
		if (!strcmp(ids[i], b.id))
			found = true;
	}
	VT_OK(found, "b finished before");
	free(ids);
	VT_EQ_INT(vg_store_scan_finished_before(s, 0, 0, &ids, &count), VG_ERR_INVALID, "n 0");
	{
		struct vg_scan got;

		VT_EQ_INT(vg_store_scan_get(s, b.id, &got), VG_OK, "get b");
		EQ_STR(got.error_code, "engine_error", "error code");
		EQ_STR(got.error_message, "it broke", "error message");
	}
}

static void
case_llm(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc;
	struct vg_llm_reservation r;
	struct vg_llm_limits lim = {3, 1000, 0};
	struct vg_llm_totals t;
	struct vg_llm_settlement st;
	char first[VG_UUID_LEN + 1], second[VG_UUID_LEN + 1], third[VG_UUID_LEN + 1];
	json_t *items = NULL;

	world_new(s, "llm", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "a scan");
	memset(&r, 0, sizeof r);
	r.scan_id = sc.id;
	r.user_id = w.user.id;
	r.provider = "openai";
	r.model = "gpt-test";
	r.endpoint = "responses";
	r.tokens = 400;
	r.microusd = 1000;
	r.request_id = "req-1";
	r.now_us = t_base + SEC;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, &lim, &t), VG_OK, "reserve 400");
	VT_OK(vg_uuid_valid(r.id), "an id");
	VT_EQ_INT(t.requests, 1, "one request");
	VT_EQ_INT(t.reserved_tokens, 400, "reserved");
	memcpy(first, r.id, sizeof first);
	r.now_us = t_base + 2 * SEC;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, &lim, &t), VG_OK, "reserve 400 more");
	memcpy(second, r.id, sizeof second);
	VT_EQ_INT(t.reserved_tokens, 800, "800 reserved");
	VT_EQ_INT(vg_store_llm_reserve(s, &r, &lim, &t), VG_ERR_QUOTA, "1200 > 1000");
	VT_EQ_INT(t.reserved_tokens, 800, "as they were");
	memset(&st, 0, sizeof st);
	st.status = "settled";
	st.input_tokens = 100;
	st.output_tokens = 50;
	st.cached_input_tokens = 20;
	st.cost_microusd = 300;
	st.latency_ms = 40;
	st.http_status = 200;
	st.now_us = t_base + 3 * SEC;
	VT_EQ_INT(vg_store_llm_settle(s, first, &st), VG_OK, "settle the first");
	VT_EQ_INT(vg_store_llm_settle(s, first, &st), VG_ERR_CONFLICT, "settled already");
	VT_EQ_INT(vg_store_llm_settle(s, w.user.id, &st), VG_ERR_NOT_FOUND, "unknown");
	VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "totals");
	VT_EQ_INT(t.requests, 2, "two requests");
	VT_EQ_INT(t.input_tokens, 100, "input");
	VT_EQ_INT(t.cached_input_tokens, 20, "cached");
	VT_EQ_INT(t.output_tokens, 50, "output");
	VT_EQ_INT(t.cost_microusd, 300, "cost");
	VT_EQ_INT(t.reserved_tokens, 400, "one reservation left");
	r.now_us = t_base + 4 * SEC;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, &lim, &t), VG_OK, "150 + 400 + 400 fits now");
	memcpy(third, r.id, sizeof third);
	VT_EQ_INT(vg_store_llm_reserve(s, &r, &lim, &t), VG_ERR_QUOTA, "a fourth request");
	EQ_STR(r.id, "", "a refused reservation has no id");
	st.status = "failed";
	VT_EQ_INT(vg_store_llm_settle(s, third, &st), VG_OK, "settle failed");
	VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "totals");
	VT_EQ_INT(t.cost_microusd, 300, "no charge when failed");
	/* The proxy's one read: the scan's state and the same totals. */
	{
		struct vg_llm_gate g;

		VT_EQ_INT(vg_store_llm_gate(s, sc.id, &g), VG_OK, "gate");
		EQ_STR(g.scan_id, sc.id, "gate: the scan");
		EQ_STR(g.status, sc.status, "gate: its status");
		VT_EQ_INT(g.attempt, sc.attempt, "gate: its attempt");
		VT_EQ_INT(g.cancel_requested_at_us, 0, "gate: no cancel");
		VT_OK(g.options[0] == '{', "gate: the options object");
		VT_OK(memcmp(&g.totals, &t, sizeof t) == 0, "gate: the totals of llm_totals");
		VT_EQ_INT(vg_store_llm_gate(s, w.user.id, &g), VG_ERR_NOT_FOUND, "gate: no scan");
		VT_EQ_INT(g.totals.requests, 0, "gate: nothing read");
		VT_EQ_INT(vg_store_llm_gate(s, "not-a-uuid", &g), VG_ERR_NOT_FOUND,
		    "gate: malformed id");
	}
	VT_EQ_INT(vg_store_llm_list(s, sc.id, &items), VG_OK, "list");
	VT_EQ_INT(json_array_size(items), 3, "three rows");
	EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "id")), first,
	    "oldest first");
	EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "status")), "settled",
	    "settled");
	EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "request_id")), "req-1",
	    "request id");
	VT_OK(json_is_string(json_object_get(json_array_get(items, 0), "settled_at")),
	    "settled_at");
	VT_OK(json_is_null(json_object_get(json_array_get(items, 1), "settled_at")),
	    "a reservation is not settled");
	json_decref(items);
	r.scan_id = w.user.id;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_NOT_FOUND, "unknown scan");
	r.scan_id = sc.id;
	r.endpoint = "embeddings";
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_INVALID, "unknown endpoint");
	if (strcmp(backend, "json") == 0) {
		/* A data directory from before the json backend kept running
		 * totals: they are summed from the usage records on first use. */
		char cmd[1024];

		snprintf(cmd, sizeof cmd, "rm -f '%s'/llm_budgets/*.json", getenv("VEGA_DATA_DIR"));
		VT_EQ_INT(system(cmd), 0, "json: running totals removed");
		VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "json: totals rebuilt");
		VT_EQ_INT(t.requests, 3, "json: rebuilt requests");
		VT_EQ_INT(t.cost_microusd, 300, "json: rebuilt cost");
		VT_EQ_INT(t.reserved_tokens, 400, "json: rebuilt reservation");
		VT_EQ_INT(vg_store_llm_settle(s, second, &st), VG_OK, "json: settle after rebuild");
		VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "json: totals");
		VT_EQ_INT(t.reserved_tokens, 0, "json: no reservation left");
	}
}

static void
case_prune(struct vg_store *s)
{
	struct vg_user u;
	struct vg_refresh_family old, live, got;
	struct vg_api_key k_old, k_live, kgot;
	struct vg_worker wo, wl, *ws = NULL;
	struct vg_prune p;
	struct vg_prune_counts dry, real;
	char h1[65], h2[65], h3[65], h4[65];
	int64_t now = vg_time_now_us();
	size_t n = 0, i;
	bool old_there = false, live_there = false;

	make_user(s, "prune", &u);
	snprintf(h1, sizeof h1, "%064x", 0x1001u + (unsigned)(now % 100000) * 16);
	snprintf(h2, sizeof h2, "%064x", 0x1002u + (unsigned)(now % 100000) * 16);
	snprintf(h3, sizeof h3, "%064x", 0x1003u + (unsigned)(now % 100000) * 16);
	snprintf(h4, sizeof h4, "%064x", 0x1004u + (unsigned)(now % 100000) * 16);
	memset(&old, 0, sizeof old);
	vg_str_copy(old.user_id, sizeof old.user_id, u.id);
	old.created_at_us = now - 40 * 86400 * SEC;
	old.expires_at_us = now - 30 * 86400 * SEC;
	VT_EQ_INT(vg_store_refresh_start(s, &old, h1, old.expires_at_us), VG_OK, "an old family");
	live = old;
	live.created_at_us = now - SEC;
	live.expires_at_us = now + 86400 * SEC;
	VT_EQ_INT(vg_store_refresh_start(s, &live, h2, live.expires_at_us), VG_OK, "a live one");
	memset(&k_old, 0, sizeof k_old);
	vg_str_copy(k_old.user_id, sizeof k_old.user_id, u.id);
	vg_str_copy(k_old.name, sizeof k_old.name, "old");
	snprintf(k_old.prefix, sizeof k_old.prefix, "vk_%.8s", h3 + 56);
	memcpy(k_old.key_hash, h3, sizeof k_old.key_hash);
	k_old.created_at_us = now - 40 * 86400 * SEC;
	k_old.expires_at_us = now - 31 * 86400 * SEC;
	VT_EQ_INT(vg_store_api_key_create(s, &k_old), VG_OK, "an expired key");
	k_live = k_old;
	vg_str_copy(k_live.name, sizeof k_live.name, "live");
	snprintf(k_live.prefix, sizeof k_live.prefix, "vk_%.8s", h4 + 56);
	memcpy(k_live.key_hash, h4, sizeof k_live.key_hash);
	k_live.expires_at_us = 0;
	VT_EQ_INT(vg_store_api_key_create(s, &k_live), VG_OK, "a live key");
	memset(&wo, 0, sizeof wo);
	vg_uuid_new(wo.id);
	vg_str_copy(wo.host, sizeof wo.host, "h");
	vg_str_copy(wo.version, sizeof wo.version, "1");
	vg_str_copy(wo.state, sizeof wo.state, "stopped");
	wo.started_at_us = now - 9 * 86400 * SEC;
	wo.last_heartbeat_us = now - 8 * 86400 * SEC;
	VT_EQ_INT(vg_store_worker_upsert(s, &wo), VG_OK, "a silent worker");
	wl = wo;
	vg_uuid_new(wl.id);
	vg_str_copy(wl.state, sizeof wl.state, "idle");
	wl.last_heartbeat_us = now;
	VT_EQ_INT(vg_store_worker_upsert(s, &wl), VG_OK, "a live worker");

	memset(&p, 0, sizeof p);
	p.dry_run = true;
	p.tokens_before_us = now - 7 * 86400 * SEC;
	p.workers_before_us = now - 86400 * SEC;
	VT_EQ_INT(vg_store_prune(s, &p, &dry), VG_OK, "dry run");
	VT_OK(dry.refresh_families >= 1, "counts the old family");
	VT_OK(dry.api_keys >= 1, "counts the old key");
	VT_OK(dry.workers >= 1, "counts the silent worker");
	VT_EQ_INT(vg_store_refresh_family_get(s, old.id, &got), VG_OK, "the family is still there");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h3, &kgot), VG_OK, "the key is still there");
	p.dry_run = false;
	VT_EQ_INT(vg_store_prune(s, &p, &real), VG_OK, "prune");
	VT_EQ_INT(real.refresh_families, dry.refresh_families, "as many families as counted");
	VT_EQ_INT(real.api_keys, dry.api_keys, "as many keys");
	VT_EQ_INT(real.workers, dry.workers, "as many workers");
	VT_EQ_INT(vg_store_refresh_family_get(s, old.id, &got), VG_ERR_NOT_FOUND, "family gone");
	VT_EQ_INT(vg_store_refresh_family_of(s, h1, &got), VG_ERR_NOT_FOUND, "its token too");
	VT_EQ_INT(vg_store_refresh_family_get(s, live.id, &got), VG_OK, "the live one stays");
	VT_EQ_INT(vg_store_refresh_family_of(s, h2, &got), VG_OK, "with its token");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h3, &kgot), VG_ERR_NOT_FOUND, "key gone");
	VT_EQ_INT(vg_store_api_key_by_hash(s, h4, &kgot), VG_OK, "the live key stays");
	VT_EQ_INT(vg_store_worker_list(s, &ws, &n), VG_OK, "workers");
	for (i = 0; i < n; i++) {
		if (!strcmp(ws[i].id, wo.id))
			old_there = true;
		if (!strcmp(ws[i].id, wl.id))
			live_there = true;
	}
	free(ws);
	VT_OK(!old_there, "the silent worker is gone");
	VT_OK(live_there, "the live one stays");
	VT_EQ_INT(vg_store_prune(s, &p, &real), VG_OK, "again");
	VT_EQ_INT(real.refresh_families + real.api_keys + real.workers, 0, "nothing left to prune");
}

/* ---- races: processes started together through a pipe ---- */

#define MAX_PROCS 50

struct report {
	char id[VG_UUID_LEN + 1];
	int err;
};

/* What a racing child does: open a store of its own, act, write
 * reports to outfd; its exit status is 0 when all went well. */
typedef int (*racer_fn)(struct vg_store *cs, int outfd, const char *arg);

static int
race(int nprocs, racer_fn fn, const char *arg, struct report *reps, size_t max, size_t *nreps)
{
	pid_t pids[MAX_PROCS];
	int start[2], out[2], i, status, ok = 0;
	struct report rep;

	*nreps = 0;
	if (nprocs > MAX_PROCS || pipe(start) != 0 || pipe(out) != 0)
		return 0;
	fflush(stdout);
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vg_store *cs = NULL;
			char go;
			int rc = 3;

			close(start[1]);
			close(out[0]);
			if (read(start[0], &go, 1) == 1 && vg_store_open(&cs) == VG_OK) {
				rc = fn(cs, out[1], arg);
				vg_store_free(cs);
			}
			_exit(rc);
		}
	}
	close(start[0]);
	close(out[1]);
	for (i = 0; i < nprocs; i++)
		if (write(start[1], "g", 1) != 1)
			break;
	close(start[1]);
	while (read(out[0], &rep, sizeof rep) == (ssize_t)sizeof rep)
		if (*nreps < max)
			reps[(*nreps)++] = rep;
	close(out[0]);
	for (i = 0; i < nprocs; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	return ok;
}

static int
put_report(int outfd, const char *id, enum vg_err err)
{
	struct report rep;

	memset(&rep, 0, sizeof rep);
	if (id)
		vg_str_copy(rep.id, sizeof rep.id, id);
	rep.err = (int)err;
	return write(outfd, &rep, sizeof rep) == (ssize_t)sizeof rep ? 0 : 5;
}

/* Claim until nothing is queued, reporting each scan claimed. */
static int
claimer(struct vg_store *cs, int outfd, const char *arg)
{
	struct vg_scan sc;
	char tok[33];
	enum vg_err err;

	(void)arg;
	for (;;) {
		new_token(tok);
		if ((err = vg_store_scan_claim(cs, NULL, NULL, tok, 0, &sc)) != VG_OK)
			return err == VG_ERR_NOT_FOUND ? 0 : 6;
		if (put_report(outfd, sc.id, VG_OK) != 0)
			return 5;
	}
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report *)a)->id, ((const struct report *)b)->id);
}

/* 8 processes claim 100 scans: each is claimed exactly once. */
static void
case_claim_race(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc;
	static struct report reps[200];
	size_t n = 0, i, dups = 0, ours = 0;
	char (*ids)[VG_UUID_LEN + 1] = calloc(100, sizeof *ids);
	int k;

	world_new(s, "claims", &w);
	drain_queue(s);
	for (k = 0; k < 100 && ids; k++) {
		VT_EQ_INT(make_scan(s, &w, 1000 + k, 0, &sc), VG_OK, "queue a scan");
		memcpy(ids[k], sc.id, sizeof ids[k]);
	}
	VT_EQ_INT(race(8, claimer, NULL, reps, 200, &n), 8, "every claimer finished cleanly");
	VT_EQ_INT(n, 100, "100 claims in all");
	qsort(reps, n, sizeof reps[0], id_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(reps[i].id, reps[i - 1].id))
			dups++;
	VT_EQ_INT(dups, 0, "no scan claimed twice");
	for (k = 0; k < 100 && ids; k++) {
		struct report key;

		memset(&key, 0, sizeof key);
		memcpy(key.id, ids[k], sizeof ids[k]);
		if (bsearch(&key, reps, n, sizeof reps[0], id_cmp))
			ours++;
	}
	VT_EQ_INT(ours, 100, "each of the 100 claimed");
	free(ids);
}

/* One create against the quota of 4. */
static int
creator(struct vg_store *cs, int outfd, const char *arg)
{
	const struct world *w = (const struct world *)(const void *)arg;
	struct vg_scan sc;
	enum vg_err err = make_scan(cs, w, 0, 4, &sc);

	return put_report(outfd, err == VG_OK ? sc.id : NULL, err);
}

static void
case_quota_race(struct vg_store *s)
{
	struct world w;
	struct report reps[20];
	size_t n = 0, i, ok = 0, quota = 0;
	int64_t active = -1;

	world_new(s, "quota", &w);
	VT_EQ_INT(race(20, creator, (const char *)(const void *)&w, reps, 20, &n), 20,
	    "every creator finished");
	VT_EQ_INT(n, 20, "every creator reported");
	for (i = 0; i < n; i++) {
		if (reps[i].err == VG_OK)
			ok++;
		else if (reps[i].err == VG_ERR_QUOTA)
			quota++;
	}
	VT_EQ_INT(ok, 4, "exactly 4 created");
	VT_EQ_INT(quota, 16, "16 over the quota");
	VT_EQ_INT(vg_store_scan_count_active(s, w.user.id, &active), VG_OK, "count");
	VT_EQ_INT(active, 4, "4 active");
}

/* One reservation of 100 tokens. */
static int
reserver(struct vg_store *cs, int outfd, const char *arg)
{
	struct vg_llm_reservation r;
	struct vg_llm_limits lim = {0, 1000, 0};
	enum vg_err err;

	memset(&r, 0, sizeof r);
	r.scan_id = arg;
	r.provider = "openai";
	r.model = "m";
	r.endpoint = "chat_completions";
	r.tokens = 100;
	err = vg_store_llm_reserve(cs, &r, &lim, NULL);
	return put_report(outfd, err == VG_OK ? r.id : NULL, err);
}

static void
case_llm_race(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc;
	struct vg_llm_totals t;
	static struct report reps[50];
	size_t n = 0, i, ok = 0, quota = 0;

	world_new(s, "llmrace", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "a scan");
	VT_EQ_INT(race(50, reserver, sc.id, reps, 50, &n), 50, "every reserver finished");
	VT_EQ_INT(n, 50, "every reserver reported");
	for (i = 0; i < n; i++) {
		if (reps[i].err == VG_OK)
			ok++;
		else if (reps[i].err == VG_ERR_QUOTA)
			quota++;
	}
	VT_EQ_INT(ok, 10, "exactly 10 fit the budget");
	VT_EQ_INT(quota, 40, "40 refused");
	VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "totals");
	VT_EQ_INT(t.reserved_tokens, 1000, "the whole budget, not more");
	VT_EQ_INT(t.requests, 10, "10 rows");
}

/* One reservation of 100 tokens without limits. */
static int
reserver_unlimited(struct vg_store *cs, int outfd, const char *arg)
{
	struct vg_llm_reservation r;
	enum vg_err err;

	memset(&r, 0, sizeof r);
	r.scan_id = arg;
	r.provider = "openai";
	r.model = "m";
	r.endpoint = "chat_completions";
	r.tokens = 100;
	err = vg_store_llm_reserve(cs, &r, NULL, NULL);
	return put_report(outfd, err == VG_OK ? r.id : NULL, err);
}

/* The first calls of a scan racing each other: without limits, none is
 * refused (the scan's budget row is made by one of them meanwhile). */
static void
case_llm_first_race(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc;
	struct vg_llm_totals t;
	static struct report reps[30];
	size_t n = 0, i, ok = 0;

	world_new(s, "llmfirst", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "a scan");
	VT_EQ_INT(race(30, reserver_unlimited, sc.id, reps, 30, &n), 30, "every reserver finished");
	for (i = 0; i < n; i++)
		if (reps[i].err == VG_OK)
			ok++;
	VT_EQ_INT(ok, 30, "no first call refused");
	VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "totals");
	VT_EQ_INT(t.requests, 30, "30 rows");
	VT_EQ_INT(t.reserved_tokens, 3000, "30 reservations");
}

/* ---- setup and the table ---- */

/* Deleting a repository (or its project) takes its scans, their events,
 * findings and runner jobs with it, in both backends. */
static void
case_delete_cascades(struct vg_store *s)
{
	struct world w, w2;
	struct vg_scan sc, sc2, got;
	struct vg_lease l, l2;
	struct vg_finding_row f;
	struct vg_runner_job j;
	char tok[33], tok2[33], fid[VG_UUID_LEN + 1];
	json_t *data = finding_data("Cascade", "high", "src/a.c", 3);
	bool existed;

	world_new(s, "cascade", &w);
	running_scan(s, &w, true, &sc, tok, &l);
	VT_EQ_INT(vg_store_event_append(s, &l, "scan_log", NULL, 0, NULL), VG_OK, "an event");
	VT_EQ_INT(put_finding(s, &l, "fp-cascade-0001", data, &f, NULL), VG_OK, "a finding");
	vg_str_copy(fid, sizeof fid, f.id);
	vg_finding_row_clear(&f);
	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, sc.id);
	j.attempt = l.attempt;
	vg_str_copy(j.mode, sizeof j.mode, "local");
	VT_EQ_INT(vg_store_runner_job_create(s, &j, 0, &existed), VG_OK, "a runner job");
	VT_EQ_INT(vg_store_repository_delete(s, w.repo.id), VG_OK, "repository deleted");
	VT_EQ_INT(vg_store_scan_get(s, sc.id, &got), VG_ERR_NOT_FOUND, "its scan is gone");
	VT_EQ_INT(events_of(s, sc.id, NULL), 0, "its events are gone");
	VT_EQ_INT(vg_store_finding_get(s, fid, &f), VG_ERR_NOT_FOUND, "its finding is gone");
	VT_EQ_INT(vg_store_runner_job_get(s, sc.id, l.attempt, &j), VG_ERR_NOT_FOUND,
	    "its runner job is gone");

	world_new(s, "cascade-project", &w2);
	running_scan(s, &w2, false, &sc2, tok2, &l2);
	VT_EQ_INT(vg_store_project_delete(s, w2.project.id), VG_OK, "project deleted");
	VT_EQ_INT(vg_store_scan_get(s, sc2.id, &got), VG_ERR_NOT_FOUND,
	    "the project's scans are gone");
	json_decref(data);
}

/* ---- what the json backend's finding index could get wrong ---- */

/* A list of f (at most 100 rows) as "fingerprint/severity/status/scan"
 * items joined by spaces, in the list's order, into buf: what a user of
 * the list sees, in one string to compare.  Returns the row count, or -1
 * when the list failed. */
static int
list_text(struct vg_store *s, const struct vg_finding_filter *f, char *buf, size_t size)
{
	struct vg_finding_row *fs = NULL;
	char *next = NULL;
	size_t n = 0, i, off = 0;

	buf[0] = '\0';
	if (vg_store_finding_list(s, f, NULL, 100, &fs, &n, &next) != VG_OK)
		return -1;
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s/%s/%s/%.8s", i ? " " : "",
		    fs[i].fingerprint, fs[i].severity, fs[i].status, fs[i].scan_id);
	free(next);
	free_rows(fs, n);
	return (int)n;
}

/* The count of f, -1 when it failed. */
static int64_t
count_of(struct vg_store *s, const struct vg_finding_filter *f)
{
	int64_t n = -1;

	return vg_store_finding_count(s, f, &n) == VG_OK ? n : -1;
}

/* "fingerprint/severity/status/scan" of one row, as list_text writes it. */
static void
item(char *buf, size_t size, const char *fp, const char *sev, const char *status,
    const char *scan_id)
{
	snprintf(buf, size, "%s/%s/%s/%.8s", fp, sev, status, scan_id);
}

/* json: remove every record of the repository's finding index (what a
 * data dir from before the index lacks); returns how many it removed. */
static int
drop_index(const char *repository_id)
{
	char dir[512], path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/data/store/finding_index", tmpdir);
	if (!(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, repository_id, strlen(repository_id)) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A triage decision by actor at t_base + at_s seconds. */
static enum vg_err
decide(struct vg_store *s, const char *finding_id, const char *status, const char *actor,
    int64_t at_s)
{
	struct vg_triage t;

	memset(&t, 0, sizeof t);
	t.status = status;
	t.actor_id = actor;
	t.now_us = t_base + at_s * SEC;
	return vg_store_finding_triage(s, finding_id, &t, NULL);
}

/* In another process: confirm the finding arg names ("<finding id>
 * <actor id>"). */
static int
confirmer(struct vg_store *cs, int outfd, const char *arg)
{
	char fid[VG_UUID_LEN + 1];
	enum vg_err err;

	snprintf(fid, sizeof fid, "%.36s", arg);
	err = decide(cs, fid, "confirmed", arg + VG_UUID_LEN + 1, 70);
	return put_report(outfd, fid, err);
}

/*
 * Lists that were read before a change must show it afterwards: a
 * triage decision (status and the status filter), a row written again
 * (its severity moves it), a later scan's row of the same fingerprint
 * (it replaces the older one in the repository's list, not in the older
 * scan's), another process's decision, and a deleted repository.
 */
static void
case_findings_follow(struct vg_store *s)
{
	struct world w;
	struct vg_scan a, b;
	struct vg_lease la, lb;
	struct vg_finding_row fx, fy, fz, fx2;
	struct vg_finding_filter flt, fa;
	struct report reps[1];
	char ta[33], tb[33], got[2048], want[2048], i1[128], i2[128], i3[128], arg[80];
	json_t *dx = finding_data("Path traversal", "high", "src/x.c", 10);
	json_t *dy = finding_data("Weak hash", "medium", "src/y.c", 3);
	json_t *dz = finding_data("Debug flag", "low", "src/z.c", 1);
	json_t *dy2 = finding_data("Weak hash, now worse", "critical", "src/y.c", 4);
	json_t *dx2 = finding_data("Path traversal", "critical", "src/a.c", 1);
	size_t n = 0;

	world_new(s, "follow", &w);
	running_scan(s, &w, true, &a, ta, &la);
	VT_EQ_INT(put_finding(s, &la, "fp-follow-x", dx, &fx, NULL), VG_OK, "x");
	VT_EQ_INT(put_finding(s, &la, "fp-follow-y", dy, &fy, NULL), VG_OK, "y");
	VT_EQ_INT(put_finding(s, &la, "fp-follow-z", dz, &fz, NULL), VG_OK, "z");
	memset(&flt, 0, sizeof flt);
	flt.repository_id = w.repo.id;
	memset(&fa, 0, sizeof fa);
	fa.scan_id = a.id;
	item(i1, sizeof i1, "fp-follow-x", "high", "open", a.id);
	item(i2, sizeof i2, "fp-follow-y", "medium", "open", a.id);
	item(i3, sizeof i3, "fp-follow-z", "low", "open", a.id);
	snprintf(want, sizeof want, "%s %s %s", i1, i2, i3);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 3, "three findings");
	EQ_STR(got, want, "most severe first");
	EQ_STR((list_text(s, &fa, got, sizeof got), got), want, "the scan's list: the same");

	/* Triage: the status, and the status filter. */
	VT_EQ_INT(decide(s, fy.id, "dismissed", w.user.id, 50), VG_OK, "dismiss y");
	item(i2, sizeof i2, "fp-follow-y", "medium", "dismissed", a.id);
	snprintf(want, sizeof want, "%s %s %s", i1, i2, i3);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 3, "still three");
	EQ_STR(got, want, "y dismissed in the list");
	EQ_STR((list_text(s, &fa, got, sizeof got), got), want, "and in the scan's list");
	flt.status = "open";
	snprintf(want, sizeof want, "%s %s", i1, i3);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 2, "two open");
	EQ_STR(got, want, "y left the open ones");
	VT_EQ_INT(count_of(s, &flt), 2, "counted: two open");
	flt.status = "dismissed";
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 1, "one dismissed");
	EQ_STR(got, i2, "y");
	flt.status = NULL;

	/* The same row written again: new data, new place in the order. */
	VT_EQ_INT(put_finding(s, &la, "fp-follow-y", dy2, NULL, NULL), VG_OK, "y again");
	item(i2, sizeof i2, "fp-follow-y", "critical", "dismissed", a.id);
	snprintf(want, sizeof want, "%s %s %s", i2, i1, i3);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 3, "three");
	EQ_STR(got, want, "y first now, still dismissed");
	{
		struct vg_finding_row *fs = NULL;
		char *next = NULL;

		VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 1, &fs, &n, &next), VG_OK, "page 1");
		if (n == 1) {
			EQ_STR(json_string_value(json_object_get(fs[0].data, "title")),
			    "Weak hash, now worse", "with its new data");
			VT_EQ_INT(json_integer_value(json_object_get(fs[0].data, "line_start")), 4,
			    "and line");
		}
		free(next);
		free_rows(fs, n);
	}
	flt.severity = "medium";
	VT_EQ_INT(count_of(s, &flt), 0, "no medium finding left");
	flt.severity = NULL;

	/* A later scan sees x: its row replaces a's in the repository's list. */
	running_scan(s, &w, true, &b, tb, &lb);
	VT_EQ_INT(put_finding(s, &lb, "fp-follow-x", dx2, &fx2, NULL), VG_OK, "x in b");
	item(i1, sizeof i1, "fp-follow-x", "critical", "open", b.id);
	snprintf(want, sizeof want, "%s %s %s", i1, i2, i3);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 3, "one row per fingerprint");
	EQ_STR(got, want, "x as b saw it (a.c before y.c)");
	{
		struct vg_finding_row *fs = NULL;
		char *next = NULL;

		VT_EQ_INT(vg_store_finding_list(s, &flt, NULL, 1, &fs, &n, &next), VG_OK, "page 1");
		if (n == 1) {
			EQ_STR(fs[0].id, fx2.id, "b's row");
			EQ_STR(fs[0].first_scan_id, a.id, "first seen in a");
			EQ_STR(fs[0].last_scan_id, b.id, "last seen in b");
		}
		free(next);
		free_rows(fs, n);
	}
	item(i1, sizeof i1, "fp-follow-x", "high", "open", a.id);
	snprintf(want, sizeof want, "%s %s %s", i2, i1, i3);
	VT_EQ_INT(list_text(s, &fa, got, sizeof got), 3, "a's list keeps its rows");
	EQ_STR(got, want, "x as a saw it");
	fa.scan_id = b.id;
	VT_EQ_INT(count_of(s, &fa), 1, "b's list: x alone");
	fa.scan_id = a.id;
	flt.path_prefix = "src/x";
	VT_EQ_INT(count_of(s, &flt), 0, "x moved to src/a.c in b: none under src/x");
	flt.path_prefix = NULL;
	flt.sort = "newest";
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 3, "newest first");
	VT_OK(strncmp(got, "fp-follow-x/critical", 20) == 0, "b's row is the newest");
	flt.sort = NULL;

	/* Another process's decision reaches a list read before it. */
	snprintf(arg, sizeof arg, "%s %s", fz.id, w.user.id);
	VT_EQ_INT(race(1, confirmer, arg, reps, 1, &n), 1, "the other process decided");
	VT_EQ_INT(n == 1 ? reps[0].err : -1, VG_OK, "z confirmed there");
	flt.status = "confirmed";
	item(i3, sizeof i3, "fp-follow-z", "low", "confirmed", a.id);
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 1, "one confirmed");
	EQ_STR(got, i3, "z, seen here");
	flt.status = NULL;

	/* A deleted repository lists nothing (and leaves no index behind). */
	VT_EQ_INT(vg_store_repository_delete(s, w.repo.id), VG_OK, "repository deleted");
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 0, "its list is empty");
	VT_EQ_INT(count_of(s, &flt), 0, "and counts none");
	VT_EQ_INT(list_text(s, &fa, got, sizeof got), 0, "a scan of it lists nothing");
	if (strcmp(backend, "json") == 0)
		VT_EQ_INT(drop_index(w.repo.id), 0, "json: no index record of it left");
	vg_finding_row_clear(&fx);
	vg_finding_row_clear(&fy);
	vg_finding_row_clear(&fz);
	vg_finding_row_clear(&fx2);
	json_decref(dx);
	json_decref(dy);
	json_decref(dz);
	json_decref(dy2);
	json_decref(dx2);
}

/*
 * json: a data dir without the finding index (from before it, or an
 * operator removed it) lists what it listed, and the first write or
 * list builds the index back from the rows and triage records, so no
 * finding is lost.
 */
static void
case_findings_no_index(struct vg_store *s)
{
	struct world w;
	struct vg_scan a, b;
	struct vg_lease la, lb;
	struct vg_finding_row f;
	struct vg_finding_filter flt, fa;
	char ta[33], tb[33], repo_before[4096], scan_before[4096], got[4096], fp[32];
	static const char *const sevs[] = {"low", "critical", "high", "medium", "info"};
	int i;

	if (strcmp(backend, "json") != 0) {
		printf("# json only: %s keeps no index files\n", backend);
		return;
	}
	world_new(s, "noindex", &w);
	running_scan(s, &w, true, &a, ta, &la);
	for (i = 0; i < 5; i++) {
		json_t *d = finding_data("thing", sevs[i], "src/f.c", i + 1);

		snprintf(fp, sizeof fp, "fp-noindex-%d", i);
		VT_EQ_INT(put_finding(s, &la, fp, d, &f, NULL), VG_OK, "a finding");
		if (i == 2)
			VT_EQ_INT(decide(s, f.id, "dismissed", w.user.id, 10), VG_OK,
			    "dismiss one");
		vg_finding_row_clear(&f);
		json_decref(d);
	}
	running_scan(s, &w, true, &b, tb, &lb);
	{
		json_t *d = finding_data("thing", "critical", "src/b.c", 9);

		VT_EQ_INT(put_finding(s, &lb, "fp-noindex-0", d, NULL, NULL), VG_OK,
		    "0 again in b");
		json_decref(d);
	}
	memset(&flt, 0, sizeof flt);
	flt.repository_id = w.repo.id;
	memset(&fa, 0, sizeof fa);
	fa.scan_id = a.id;
	VT_EQ_INT(list_text(s, &flt, repo_before, sizeof repo_before), 5, "five fingerprints");
	VT_EQ_INT(list_text(s, &fa, scan_before, sizeof scan_before), 5, "five rows in a");

	VT_OK(drop_index(w.repo.id) > 0, "the index removed");
	VT_EQ_INT(list_text(s, &flt, got, sizeof got), 5, "still five");
	EQ_STR(got, repo_before, "the same list, from the rows");
	EQ_STR((list_text(s, &fa, got, sizeof got), got), scan_before, "the same scan list");
	flt.status = "dismissed";
	VT_EQ_INT(count_of(s, &flt), 1, "the decision kept");
	flt.status = NULL;
	VT_OK(drop_index(w.repo.id) > 0, "the list built it back");

	/* Without the index, a write builds it first: nothing older is lost. */
	{
		json_t *d = finding_data("new one", "high", "src/n.c", 1);

		VT_EQ_INT(put_finding(s, &lb, "fp-noindex-new", d, NULL, NULL), VG_OK, "a new one");
		json_decref(d);
	}
	VT_EQ_INT(count_of(s, &flt), 6, "six fingerprints");
	fa.scan_id = b.id;
	VT_EQ_INT(count_of(s, &fa), 2, "two rows in b");
	fa.scan_id = a.id;
	VT_EQ_INT(count_of(s, &fa), 5, "a's five kept");
	VT_OK(drop_index(w.repo.id) > 0, "removed again");
	{
		struct vg_finding_row *fs = NULL;
		char *next = NULL;
		size_t n = 0;

		fa.severity = "info";
		VT_EQ_INT(vg_store_finding_list(s, &fa, NULL, 1, &fs, &n, &next), VG_OK,
		    "a's info");
		VT_EQ_INT(n, 1, "one");
		if (n == 1)
			VT_EQ_INT(decide(s, fs[0].id, "confirmed", w.user.id, 20), VG_OK,
			    "a decision without the index");
		free(next);
		free_rows(fs, n);
		fa.severity = NULL;
	}
	flt.status = "confirmed";
	VT_EQ_INT(count_of(s, &flt), 1, "the decision seen");
	flt.status = NULL;
	VT_EQ_INT(count_of(s, &flt), 6, "and all six");
}

/* The repository's findings_version (0: the read failed). */
static int64_t
findings_version(struct vg_store *s, const char *repository_id)
{
	struct vg_repository r;

	return vg_store_repository_get(s, repository_id, &r) == VG_OK ? r.findings_version : 0;
}

/*
 * repository_scope_as: the caller's account and session with the
 * repository's scope, in one read.  A missing repository still reads the
 * caller; a missing caller reads nothing; a family of someone else, an
 * unknown one or one that cannot be an id is no session; a revocation
 * shows.
 */
static void
case_repository_scope_as(struct vg_store *s)
{
	struct world w;
	struct vg_store_caller who;
	struct vg_repository repo;
	struct vg_project project;
	struct vg_user stranger;
	struct vg_refresh_family f, g;
	char role[8], other[VG_UUID_LEN + 1];

	world_new(s, "scopeas", &w);
	make_user(s, "scopeas-stranger", &stranger);
	memset(&f, 0, sizeof f);
	vg_str_copy(f.user_id, sizeof f.user_id, w.user.id);
	f.created_at_us = t_base;
	f.expires_at_us = t_base + 3600 * SEC;
	VT_EQ_INT(vg_store_refresh_start(s, &f,
	    "5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e", t_base + 60 * SEC),
	    VG_OK, "a session of the owner");
	memset(&g, 0, sizeof g);
	vg_str_copy(g.user_id, sizeof g.user_id, stranger.id);
	g.created_at_us = t_base;
	g.expires_at_us = t_base + 3600 * SEC;
	VT_EQ_INT(vg_store_refresh_start(s, &g,
	    "6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f6d1f", t_base + 60 * SEC),
	    VG_OK, "a session of the stranger");

	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, f.id, &who, &repo,
	    &project, role), VG_OK, "owner with a live session");
	EQ_STR(who.user.id, w.user.id, "the user");
	EQ_STR(who.user.email, w.user.email, "the user's email");
	VT_EQ_INT(who.user.groups, VG_GROUP_USER, "the user's groups");
	VT_OK(!who.user.disabled, "enabled");
	EQ_STR(who.session.id, f.id, "the session");
	VT_EQ_INT(who.session.revoked_at_us, 0, "live");
	EQ_STR(repo.id, w.repo.id, "the repository");
	EQ_STR(repo.name, w.repo.name, "its name");
	EQ_STR(project.id, w.project.id, "its project");
	EQ_STR(role, "owner", "the owner's role");

	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, NULL, &who, &repo,
	    &project, role), VG_OK, "no session asked");
	EQ_STR(who.user.id, w.user.id, "the user without a session");
	EQ_STR(who.session.id, "", "no session read");
	EQ_STR(role, "owner", "the role all the same");

	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, g.id, &who, &repo,
	    &project, role), VG_OK, "someone else's session");
	EQ_STR(who.session.id, "", "is no session of this user");
	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, "not-a-session", &who,
	    &repo, &project, role), VG_OK, "a session id that cannot be one");
	EQ_STR(who.user.id, w.user.id, "the user still");
	EQ_STR(who.session.id, "", "and no session");

	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, stranger.id, g.id, &who, &repo,
	    &project, role), VG_OK, "a stranger");
	EQ_STR(who.session.id, g.id, "the stranger's session");
	EQ_STR(repo.id, w.repo.id, "sees the repository row");
	EQ_STR(role, "", "without a role");

	vg_uuid_new(other);
	VT_EQ_INT(vg_store_repository_scope_as(s, other, w.user.id, f.id, &who, &repo, &project,
	    role), VG_OK, "an unknown repository");
	EQ_STR(who.user.id, w.user.id, "the caller is read all the same");
	EQ_STR(who.session.id, f.id, "with the session");
	EQ_STR(repo.id, "", "no repository");
	EQ_STR(project.id, "", "no project");
	EQ_STR(role, "", "no role");
	VT_EQ_INT(vg_store_repository_scope_as(s, "../etc", w.user.id, f.id, &who, &repo, &project,
	    role), VG_OK, "a repository id that cannot be one");
	EQ_STR(who.user.id, w.user.id, "the caller still");
	EQ_STR(repo.id, "", "and no repository");

	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, other, NULL, &who, &repo, &project,
	    role), VG_OK, "an unknown user");
	EQ_STR(who.user.id, "", "no user");
	EQ_STR(repo.id, "", "and nothing else read");
	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, "", NULL, &who, &repo, &project, role),
	    VG_OK, "a user id that cannot be one");
	EQ_STR(who.user.id, "", "no user either");

	VT_EQ_INT(vg_store_refresh_family_revoke(s, f.id, "logout", t_base + 10 * SEC), VG_OK,
	    "log out");
	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, f.id, &who, &repo,
	    &project, role), VG_OK, "after the log-out");
	EQ_STR(who.session.id, f.id, "the session");
	VT_EQ_INT(who.session.revoked_at_us, t_base + 10 * SEC, "revoked");
	VT_EQ_INT(vg_store_user_set_disabled(s, w.user.id, true, t_base + 11 * SEC), VG_OK,
	    "disable the user");
	VT_EQ_INT(vg_store_repository_scope_as(s, w.repo.id, w.user.id, NULL, &who, &repo,
	    &project, role), VG_OK, "a disabled user");
	VT_OK(who.user.disabled, "shows as disabled");
}

/*
 * findings_version moves with every change a finding list could show (a
 * finding written, a triage decision, a scan's state) and not with a
 * heartbeat; repository_scope reads it with the project and the role.
 * The json backend keeps it in the finding index: none (0) until the
 * index is built by the first list.
 */
static void
case_findings_version(struct vg_store *s)
{
	struct world w;
	struct vg_scan a;
	struct vg_lease la;
	struct vg_finding_row fx;
	struct vg_triage t;
	struct vg_scan_finish fin;
	struct vg_repository repo;
	struct vg_project project;
	struct vg_user stranger;
	bool cr = false;
	char ta[33], role[8];
	json_t *d = finding_data("XSS in view", "high", "src/view.c", 10);
	int64_t v0, v;

	world_new(s, "fversion", &w);
	VT_EQ_INT(vg_store_repository_scope(s, w.repo.id, w.user.id, &repo, &project, role), VG_OK,
	    "scope of the owner");
	EQ_STR(repo.id, w.repo.id, "the repository");
	EQ_STR(project.id, w.project.id, "its project");
	EQ_STR(role, "owner", "the owner's role");
	make_user(s, "fversion-stranger", &stranger);
	VT_EQ_INT(vg_store_repository_scope(s, w.repo.id, stranger.id, &repo, &project, role), VG_OK,
	    "scope of a stranger");
	EQ_STR(role, "", "a stranger has no role");
	VT_EQ_INT(vg_store_repository_scope(s, stranger.id, w.user.id, &repo, &project, role),
	    VG_ERR_NOT_FOUND, "no such repository");
	v0 = findings_version(s, w.repo.id);
	if (strcmp(backend, "json") == 0) {
		struct vg_finding_filter ff = {.repository_id = w.repo.id};
		struct vg_finding_row *rows = NULL;
		size_t nrows = 1;
		char *next = NULL;

		VT_EQ_INT(v0, 0, "json: none before the index is built");
		VT_EQ_INT(vg_store_finding_list(s, &ff, NULL, 10, &rows, &nrows, &next), VG_OK,
		    "the first list builds the index");
		VT_EQ_INT(nrows, 0, "no rows yet");
		free(rows);
		free(next);
		v0 = findings_version(s, w.repo.id);
	}
	VT_OK(v0 > 0, "a version from the start");
	VT_EQ_INT(vg_store_repository_scope(s, w.repo.id, w.user.id, &repo, &project, role), VG_OK,
	    "scope again");
	VT_EQ_INT(repo.findings_version, v0, "the scope reads the same version");
	running_scan(s, &w, true, &a, ta, &la);
	v = findings_version(s, w.repo.id);
	if (strcmp(backend, "postgres") == 0)
		VT_OK(v > v0, "a scan created, claimed, started: moved");
	else
		VT_EQ_INT(v, v0, "json: a scan that has not completed shows in no list");
	VT_EQ_INT(vg_store_scan_heartbeat(s, &la, 10, t_base + 5 * SEC, &cr), VG_OK, "heartbeat");
	VT_EQ_INT(findings_version(s, w.repo.id), v, "a heartbeat does not move it");
	VT_EQ_INT(put_finding(s, &la, "fp-v-00000001", d, &fx, NULL), VG_OK, "a finding");
	VT_OK(findings_version(s, w.repo.id) > v, "a new finding moves it");
	v = findings_version(s, w.repo.id);
	VT_EQ_INT(put_finding(s, &la, "fp-v-00000001", d, NULL, NULL), VG_OK, "the same again");
	VT_OK(findings_version(s, w.repo.id) > v, "a finding written again moves it");
	v = findings_version(s, w.repo.id);
	memset(&t, 0, sizeof t);
	t.status = "dismissed";
	t.actor_id = w.user.id;
	t.now_us = t_base + 20 * SEC;
	VT_EQ_INT(vg_store_finding_triage(s, fx.id, &t, NULL), VG_OK, "dismiss");
	VT_OK(findings_version(s, w.repo.id) > v, "a triage decision moves it");
	v = findings_version(s, w.repo.id);
	memset(&fin, 0, sizeof fin);
	fin.status = VG_SCAN_COMPLETED;
	fin.event_type = "scan_completed";
	fin.now_us = t_base + 30 * SEC;
	VT_EQ_INT(vg_store_scan_finish(s, &la, &fin), VG_OK, "finish");
	VT_OK(findings_version(s, w.repo.id) > v, "the scan completing (a new baseline) moves it");
	vg_finding_row_clear(&fx);
	json_decref(d);
}

/* A reservation that names an attempt is made only while the scan is
 * claimed or running at that attempt with no cancellation requested. */
static void
case_llm_live(struct vg_store *s)
{
	struct world w;
	struct vg_scan sc, got;
	struct vg_lease l;
	struct vg_llm_reservation r;
	struct vg_llm_totals t;
	char tok[33];

	world_new(s, "llmlive", &w);
	VT_EQ_INT(make_scan(s, &w, 0, 0, &sc), VG_OK, "a queued scan");
	memset(&r, 0, sizeof r);
	r.scan_id = sc.id;
	r.provider = "openai";
	r.model = "gpt-test";
	r.endpoint = "responses";
	r.tokens = 10;
	r.attempt = 1;
	r.now_us = t_base + SEC;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_UNAUTHORIZED, "queued: refused");
	VT_EQ_INT(vg_store_llm_totals(s, sc.id, &t), VG_OK, "totals");
	VT_EQ_INT(t.requests, 0, "nothing written");
	new_token(tok);
	VT_EQ_INT(vg_store_scan_claim(s, NULL, sc.id, tok, 0, &got), VG_OK, "claimed");
	VT_EQ_INT(got.attempt, 1, "attempt 1");
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, &t), VG_OK, "claimed at attempt 1: made");
	VT_EQ_INT(t.requests, 1, "one request");
	r.attempt = 2;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_UNAUTHORIZED,
	    "another attempt: refused");
	l.scan_id = sc.id;
	l.attempt = 1;
	l.lease_token = tok;
	VT_EQ_INT(vg_store_scan_start(s, &l, 0), VG_OK, "started");
	r.attempt = 1;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_OK, "running at attempt 1: made");
	VT_EQ_INT(vg_store_scan_cancel(s, sc.id, t_base + 5 * SEC, &got), VG_OK, "cancel asked");
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_UNAUTHORIZED,
	    "cancel requested: refused");
	r.attempt = 0;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, &t), VG_OK, "no attempt named: no check");
	VT_EQ_INT(t.requests, 3, "three made in all");
	r.scan_id = w.user.id;
	r.attempt = 1;
	VT_EQ_INT(vg_store_llm_reserve(s, &r, NULL, NULL), VG_ERR_NOT_FOUND, "no such scan");
}

/* ---- the table ---- */

static const struct {
	const char *name;
	void (*fn)(struct vg_store *s);
} cases[] = {
	{"create_get", case_create_get},
	{"profile", case_profile},
	{"lifecycle", case_lifecycle},
	{"lease_lost", case_lease_lost},
	{"cancel", case_cancel},
	{"rescue", case_rescue},
	{"findings", case_findings},
	{"cursors", case_cursors},
	{"jobs", case_jobs},
	{"counts", case_counts},
	{"llm", case_llm},
	{"prune", case_prune},
	{"claim_race", case_claim_race},
	{"quota_race", case_quota_race},
	{"llm_race", case_llm_race},
	{"llm_first_race", case_llm_first_race},
	{"delete_cascades", case_delete_cascades},
	{"findings_follow", case_findings_follow},
	{"findings_no_index", case_findings_no_index},
	{"findings_version", case_findings_version},
	{"repository_scope_as", case_repository_scope_as},
	{"llm_live", case_llm_live},
};

/* Point the settings at the backend under test; exits on a bad setup. */
static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vega-test-scans.XXXXXX");
	backend = store_backend_setup(tmpdir, sizeof tmpdir);
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
