/* rescue.c - stale-scan recovery. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "domain/rescue.h"

enum vg_err
vg_rescue_proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v;
	ssize_t n;
	int fd, field;

	*start = 0;
	if (pid <= 0)
		return VG_ERR_NOT_FOUND;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return VG_ERR_NOT_FOUND;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return VG_ERR_NOT_FOUND;
	buf[n] = '\0';
	/* the command name may hold spaces and ')': fields follow the last ')' */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return VG_ERR_NOT_FOUND;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return VG_ERR_NOT_FOUND;   /* dead, not yet reaped */
	/* p is at field 3 (state); the start time is field 22 */
	for (field = 3; field < 22 && p; field++)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p)
		return VG_ERR_NOT_FOUND;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || end == p)
		return VG_ERR_NOT_FOUND;
	*start = v;
	return VG_OK;
}

void
vg_rescue_external_id(pid_t pid, unsigned long long start, char *out, size_t len)
{
	snprintf(out, len, "%ld:%llu", (long)pid, start);
}

bool
vg_rescue_local_alive(const char *external_id, bool *known)
{
	unsigned long long want, got;
	const char *colon;
	char pidtext[24];
	int64_t pid;
	char *end;
	size_t n;

	*known = false;
	if (!external_id || !(colon = strchr(external_id, ':')))
		return false;
	n = (size_t)(colon - external_id);
	if (n == 0 || n >= sizeof pidtext)
		return false;
	memcpy(pidtext, external_id, n);
	pidtext[n] = '\0';
	if (vg_str_to_i64(pidtext, 1, INT_MAX, &pid) != VG_OK)
		return false;
	errno = 0;
	want = strtoull(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0')
		return false;
	*known = true;
	return vg_rescue_proc_start((pid_t)pid, &got) == VG_OK && got == want;
}

/* What is known of a candidate's runner. */
enum runner_fate {
	RUNNER_UNKNOWN,   /* no job, another host, another kind: the age decides */
	RUNNER_ALIVE,     /* a local child, still there */
	RUNNER_GONE       /* a local child that is gone, or a job that ended */
};

/* The host of worker_id from the registry list w (n rows); NULL when
 * it is not there. */
static const char *
worker_host(const struct vg_worker *w, size_t n, const char *worker_id)
{
	size_t i;

	for (i = 0; worker_id && *worker_id && i < n; i++)
		if (strcmp(w[i].id, worker_id) == 0)
			return w[i].host;
	return NULL;
}

static bool
job_open(const struct vg_runner_job *j)
{
	return strcmp(j->status, "starting") == 0 || strcmp(j->status, "running") == 0;
}

/*
 * The fate of sc's runner: its job (of sc's attempt) into *job (status ""
 * when there is none), judged against the registry w (n rows) and this
 * host's name.
 */
static enum runner_fate
runner_fate(struct vg_store *s, const struct vg_scan *sc, const struct vg_worker *w, size_t n,
    const char *host, struct vg_runner_job *job)
{
	const char *where;
	bool known = false, alive;

	memset(job, 0, sizeof *job);
	if (vg_store_runner_job_get(s, sc->id, sc->attempt, job) != VG_OK) {
		memset(job, 0, sizeof *job);
		return RUNNER_UNKNOWN;
	}
	if (!job_open(job))
		return RUNNER_GONE;          /* its worker saw it end */
	if (strcmp(job->mode, "local") != 0 || !(where = worker_host(w, n, job->worker_id)) ||
	    strcmp(where, host) != 0)
		return RUNNER_UNKNOWN;
	if (!job->external_id[0])
		return RUNNER_GONE;          /* never started: the worker died launching it */
	alive = vg_rescue_local_alive(job->external_id, &known);
	if (!known)
		return RUNNER_UNKNOWN;
	return alive ? RUNNER_ALIVE : RUNNER_GONE;
}

/* Mark the job lost when it is still open. */
static void
mark_lost(struct vg_store *s, const struct vg_runner_job *job, int64_t now_us)
{
	struct vg_runner_job_change c = {.status = "lost", .exit_code = -1,
	    .error_message = "the runner is gone; its scan was rescued", .now_us = now_us};

	if (job->scan_id[0] && job_open(job) &&
	    vg_store_runner_job_update(s, job->scan_id, job->attempt, &c) != VG_OK)
		vg_log(VG_LOG_WARN, "rescue.job_update_failed", "scan_id", job->scan_id, NULL);
}

/* Move one candidate; counts what happened. */
static void
rescue_one(struct vg_store *s, const struct vg_scan *sc, enum runner_fate fate,
    int64_t hb_before, int64_t started_before, int64_t now_us, struct vg_rescue_counts *c)
{
	int64_t max_attempts = vg_cfg_int(VG_SET_SCAN_MAX_ATTEMPTS);
	const char *what;
	enum vg_err err;

	if (strcmp(sc->status, VG_SCAN_RUNNING) == 0) {
		/* without knowing the runner, only a silent heartbeat tells */
		err = vg_store_scan_rescue_running(s, sc->id, sc->attempt, hb_before,
		    fate == RUNNER_GONE ? started_before : 0, now_us);
		what = "failed";
		if (err == VG_OK)
			c->failed++;
	} else {
		err = vg_store_scan_requeue_claimed(s, sc->id, sc->attempt, hb_before, max_attempts,
		    now_us);
		what = sc->attempt < max_attempts ? "requeued" : "exhausted";
		if (err == VG_OK && sc->attempt < max_attempts)
			c->requeued++;
		else if (err == VG_OK)
			c->exhausted++;
	}
	if (err == VG_ERR_CONFLICT) {
		c->raced++;
		return;
	}
	if (err != VG_OK) {
		vg_log(VG_LOG_WARN, "rescue.failed", "scan_id", sc->id, "error", vg_err_code(err),
		    NULL);
		return;
	}
	vg_log(VG_LOG_INFO, "rescue.scan", "scan_id", sc->id, "was", sc->status, "now", what,
	    "runner", fate == RUNNER_GONE ? "gone" : "unknown", NULL);
}

enum vg_err
vg_rescue_run(struct vg_store *s, int64_t now_us, struct vg_rescue_counts *out)
{
	int64_t hb_before = now_us - vg_cfg_int(VG_SET_SCAN_HEARTBEAT_STALE_SECONDS) * 1000000;
	int64_t started_before = now_us - vg_cfg_int(VG_SET_SCAN_RUNNING_STALE_SECONDS) * 1000000;
	struct vg_rescue_counts c;
	struct vg_worker *w = NULL;
	struct vg_scan *cand = NULL;
	struct vg_runner_job job;
	char host[256];
	size_t n = 0, nw = 0, i;
	enum vg_err err;

	memset(&c, 0, sizeof c);
	memset(host, 0, sizeof host);
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	if ((err = vg_store_scan_stale(s, hb_before, started_before, hb_before, &cand, &n)) != VG_OK)
		goto out;
	if (n && (err = vg_store_worker_list(s, &w, &nw)) != VG_OK)
		goto out;
	for (i = 0; i < n; i++) {
		enum runner_fate fate = runner_fate(s, &cand[i], w, nw, host, &job);
		int64_t before = c.failed + c.requeued + c.exhausted;

		if (fate == RUNNER_ALIVE) {
			c.alive++;
			continue;
		}
		rescue_one(s, &cand[i], fate, hb_before, started_before, now_us, &c);
		if (c.failed + c.requeued + c.exhausted > before)
			mark_lost(s, &job, now_us);
	}
out:
	free(cand);
	free(w);
	if (out)
		*out = c;
	return err;
}
