/* test_rescue.c - lib/domain/rescue against the json store. */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/rescue.h"
#include "store/store.h"
#include "vt.h"

#define SEC 1000000LL

static char root[] = "/tmp/vega-rescue.XXXXXX";
static struct vg_store *s;
static char repo_id[VG_UUID_LEN + 1], snap_id[VG_UUID_LEN + 1], user_id[VG_UUID_LEN + 1];

/* A user, project, repository and snapshot to hang scans on. */
static void
seed(void)
{
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot sn;

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&sn, 0, sizeof sn);
	vg_str_copy(u.email, sizeof u.email, "rescue@example.invalid");
	vg_str_copy(u.display_name, sizeof u.display_name, "R");
	u.groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(s, &u), VG_OK, "a user");
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	VT_EQ_INT(vg_store_project_create(s, &p), VG_OK, "a project");
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	VT_EQ_INT(vg_store_repository_create(s, &r), VG_OK, "a repository");
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	snprintf(sn.digest, sizeof sn.digest, "%064d", 1);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	VT_EQ_INT(vg_store_snapshot_create(s, &sn, NULL), VG_OK, "a snapshot");
	vg_str_copy(repo_id, sizeof repo_id, r.id);
	vg_str_copy(snap_id, sizeof snap_id, sn.id);
	vg_str_copy(user_id, sizeof user_id, u.id);
}

/* A scan claimed by worker_id (the oldest queued: every earlier one was
 * claimed), started when start; *sc gets it as claimed. */
static void
claimed_scan(const char *worker_id, bool start, struct vg_scan *sc)
{
	struct vg_scan made;
	struct vg_lease l;
	char lease[40];

	memset(&made, 0, sizeof made);
	vg_str_copy(made.repository_id, sizeof made.repository_id, repo_id);
	vg_str_copy(made.snapshot_id, sizeof made.snapshot_id, snap_id);
	vg_str_copy(made.created_by, sizeof made.created_by, user_id);
	vg_str_copy(made.engine, sizeof made.engine, "rules");
	vg_str_copy(made.options, sizeof made.options, "{}");
	VT_EQ_INT(vg_store_scan_create(s, &made, 0), VG_OK, "create a scan");
	snprintf(lease, sizeof lease, "lease-%lld-abcdefghijklmnop", (long long)vg_time_now_us());
	VT_EQ_INT(vg_store_scan_claim(s, worker_id, made.id, lease, vg_time_now_us(), sc), VG_OK,
	    "claim it");
	if (start) {
		l.scan_id = sc->id;
		l.attempt = sc->attempt;
		l.lease_token = sc->lease_token;
		VT_EQ_INT(vg_store_scan_start(s, &l, vg_time_now_us()), VG_OK, "start it");
	}
}

/* A runner job of sc's attempt by worker_id with external_id. */
static void
job(const struct vg_scan *sc, const char *worker_id, const char *external_id)
{
	struct vg_runner_job j;
	struct vg_runner_job_change c = {"running", external_id, -1, NULL, vg_time_now_us()};
	bool existed = true;

	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, sc->id);
	j.attempt = sc->attempt;
	vg_str_copy(j.worker_id, sizeof j.worker_id, worker_id);
	vg_str_copy(j.mode, sizeof j.mode, "local");
	VT_EQ_INT(vg_store_runner_job_create(s, &j, vg_time_now_us(), &existed), VG_OK, "a job");
	VT_OK(!existed, "a new job");
	VT_EQ_INT(vg_store_runner_job_update(s, sc->id, sc->attempt, &c), VG_OK, "job running");
}

static void
expect(const char *id, const char *status, const char *error_code, int64_t attempt,
    const char *name)
{
	struct vg_scan sc;

	VT_EQ_INT(vg_store_scan_get(s, id, &sc), VG_OK, name);
	VT_EQ_STR(sc.status, status, name);
	VT_EQ_STR(sc.error_code, error_code, name);
	VT_EQ_INT(sc.attempt, attempt, name);
}

static const char *
job_status(const struct vg_scan *sc)
{
	static struct vg_runner_job j;

	if (vg_store_runner_job_get(s, sc->id, sc->attempt, &j) != VG_OK)
		return "(none)";
	return j.status;
}

/* ---- liveness of a local runner ---- */
static void
test_liveness(void)
{
	unsigned long long start = 0, again = 0;
	char ext[64];
	bool known = false;
	pid_t child;
	int st;

	VT_EQ_INT(vg_rescue_proc_start(getpid(), &start), VG_OK, "our own start time");
	VT_OK(start > 0, "a start time in ticks");
	vg_rescue_external_id(getpid(), start, ext, sizeof ext);
	VT_OK(vg_rescue_local_alive(ext, &known) && known, "we are alive");
	vg_rescue_external_id(getpid(), start + 1, ext, sizeof ext);
	VT_OK(!vg_rescue_local_alive(ext, &known) && known,
	    "the same pid with another start time is another process");

	if ((child = fork()) == 0)
		_exit(0);
	waitpid(child, &st, 0);
	VT_EQ_INT(vg_rescue_proc_start(child, &again), VG_ERR_NOT_FOUND, "a reaped child is gone");

	if ((child = fork()) == 0)
		_exit(0);
	usleep(200000);   /* a zombie until reaped */
	VT_EQ_INT(vg_rescue_proc_start(child, &again), VG_ERR_NOT_FOUND, "a zombie counts as gone");
	waitpid(child, &st, 0);

	static const struct {
		const char *ext;
		bool known;
	} bad[] = {{"", false}, {"123", false}, {"abc:1", false}, {":5", false}, {"12:x", false},
	    {"12:5:", false}, {"arn:aws:ecs:task/1", false}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		VT_OK(!vg_rescue_local_alive(bad[i].ext, &known), bad[i].ext);
		VT_EQ_INT(known, bad[i].known, bad[i].ext);
	}
}

/* ---- the pass ---- */
static void
test_pass(void)
{
	struct vg_worker w;
	struct vg_scan dead, alive, remote, noproc, claimed, ended;
	struct vg_rescue_counts c;
	unsigned long long start;
	char ext[64];
	int64_t later = vg_time_now_us() + 400 * SEC;   /* past the heartbeat threshold */
	int64_t much_later = vg_time_now_us() + 40000 * SEC;   /* past the running threshold */
	pid_t child;
	int st;

	memset(&w, 0, sizeof w);
	vg_uuid_new(w.id);
	gethostname(w.host, sizeof w.host - 1);
	w.pid = getpid();
	vg_str_copy(w.version, sizeof w.version, "test");
	vg_str_copy(w.state, sizeof w.state, "busy");
	w.started_at_us = w.last_heartbeat_us = vg_time_now_us();
	VT_EQ_INT(vg_store_worker_upsert(s, &w), VG_OK, "a worker on this host");
	struct vg_worker far = w;
	vg_uuid_new(far.id);
	vg_str_copy(far.host, sizeof far.host, "elsewhere.invalid");
	VT_EQ_INT(vg_store_worker_upsert(s, &far), VG_OK, "a worker on another host");

	/* a runner that died: its pid and start time name no process */
	if ((child = fork()) == 0)
		_exit(0);
	vg_rescue_proc_start(child, &start);
	waitpid(child, &st, 0);
	vg_rescue_external_id(child, start ? start : 1, ext, sizeof ext);
	claimed_scan(w.id, true, &dead);
	job(&dead, w.id, ext);
	/* a live runner: this very process */
	vg_rescue_proc_start(getpid(), &start);
	vg_rescue_external_id(getpid(), start, ext, sizeof ext);
	claimed_scan(w.id, true, &alive);
	job(&alive, w.id, ext);
	/* on another host: only the heartbeat can tell */
	claimed_scan(far.id, true, &remote);
	job(&remote, far.id, ext);
	/* running without any job (thread dispatch that never recorded one) */
	claimed_scan(w.id, true, &noproc);
	/* claimed, never started, its launch failed */
	claimed_scan(w.id, false, &claimed);
	/* a job that ended already */
	claimed_scan(w.id, true, &ended);
	job(&ended, w.id, ext);
	{
		struct vg_runner_job_change c2 = {"exited", NULL, 1, NULL, vg_time_now_us()};

		vg_store_runner_job_update(s, ended.id, ended.attempt, &c2);
	}

	VT_EQ_INT(vg_rescue_run(s, vg_time_now_us(), &c), VG_OK, "a pass now");
	VT_EQ_INT(c.failed + c.requeued + c.exhausted, 0, "nothing is stale yet");
	expect(dead.id, VG_SCAN_RUNNING, "", 1, "a fresh heartbeat keeps a dead runner's scan");

	VT_EQ_INT(vg_rescue_run(s, later, &c), VG_OK, "a pass past the heartbeat threshold");
	expect(dead.id, VG_SCAN_FAILED, "stale_scan", 1, "dead runner: failed as stale");
	VT_EQ_STR(job_status(&dead), "lost", "its job is marked lost");
	expect(alive.id, VG_SCAN_RUNNING, "", 1, "a live runner is left alone");
	VT_EQ_STR(job_status(&alive), "running", "its job too");
	expect(remote.id, VG_SCAN_FAILED, "stale_scan", 1, "another host: the heartbeat decides");
	VT_EQ_STR(job_status(&remote), "lost", "the remote job is marked lost");
	expect(noproc.id, VG_SCAN_FAILED, "stale_scan", 1, "no job: the heartbeat decides");
	expect(claimed.id, VG_SCAN_QUEUED, "", 1, "a claim never started is queued again");
	expect(ended.id, VG_SCAN_FAILED, "stale_scan", 1, "a runner that ended is gone");
	VT_EQ_STR(job_status(&ended), "exited", "an ended job keeps its status");
	VT_EQ_INT(c.alive, 1, "one skipped as alive");
	VT_EQ_INT(c.requeued, 1, "one re-queued");
	VT_EQ_INT(c.failed, 4, "four failed");

	/* the live runner's scan heartbeats on: even far past the running
	 * threshold it stays while its runner lives */
	VT_EQ_INT(vg_rescue_run(s, much_later, &c), VG_OK, "a pass much later");
	expect(alive.id, VG_SCAN_RUNNING, "", 1, "a live runner is never rescued");

	/* attempts run out: claim the re-queued scan until VEGA_SCAN_MAX_ATTEMPTS (2) */
	{
		struct vg_scan again;
		char lease[48];

		snprintf(lease, sizeof lease, "second-lease-abcdefghijklmnopqrstu");
		VT_EQ_INT(vg_store_scan_claim(s, w.id, claimed.id, lease, vg_time_now_us(), &again),
		    VG_OK, "claimed again");
		VT_EQ_INT(again.attempt, 2, "attempt 2");
		VT_EQ_INT(vg_rescue_run(s, later + 400 * SEC, &c), VG_OK, "a pass after it");
		expect(claimed.id, VG_SCAN_FAILED, "too_many_attempts", 2,
		    "the last attempt that never started fails the scan");
		VT_EQ_INT(c.exhausted, 1, "counted as exhausted");
	}
}

int
main(void)
{
	char msg[256];

	if (!mkdtemp(root))
		return 1;
	setenv("VEGA_DATA_DIR", root, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_SCAN_HEARTBEAT_STALE_SECONDS", "300", 1);
	setenv("VEGA_SCAN_RUNNING_STALE_SECONDS", "21600", 1);
	setenv("VEGA_SCAN_MAX_ATTEMPTS", "2", 1);
	setenv("VEGA_LOG_LEVEL", "error", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_store_open(&s) != VG_OK)
		return 1;
	seed();
	test_liveness();
	test_pass();
	vg_store_free(s);
	vg_fs_remove_tree(root);
	return vt_done();
}
