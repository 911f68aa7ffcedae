/* worker.c - the worker's iteration: claim, launch, watch (worker.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "core/b64.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/dispatch.h"
#include "domain/rescue.h"
#include "domain/worker.h"

extern char **environ;

#if defined(__SANITIZE_ADDRESS__)
#define NO_AS_LIMIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_AS_LIMIT 1
#endif
#endif

#define LEASE_BYTES 24               /* 32 base64url characters */
#define RUNNER_NOFILE 1024
#define TICK_US 100000               /* the watch's poll period */
#define CANCEL_CHECK_US 1000000      /* how often the watch reads its scan */

/* ---- configuration and the registry ---- */

enum vg_err
vg_worker_check_config(char *msg, size_t len)
{
	if (vg_cfg_is(VG_SET_SCAN_WORKER_EXECUTION_MODE, "ecs")) {
		snprintf(msg, len, "VEGA_SCAN_WORKER_EXECUTION_MODE=ecs is not available in this"
		    " build yet; use local");
		return VG_ERR_INVALID;
	}
	if (vg_cfg_is(VG_SET_SCAN_EXECUTION_MODE, "sqs")) {
		snprintf(msg, len, "VEGA_SCAN_EXECUTION_MODE=sqs is not available in this build yet;"
		    " use external (the store as the queue)");
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

enum vg_err
vg_worker_init(struct vg_worker_loop *wl, struct vg_store *store, volatile sig_atomic_t *stop)
{
	struct vg_worker *w = &wl->row;
	enum vg_err err;

	memset(wl, 0, sizeof *wl);
	wl->store = store;
	wl->stop = stop;
	if ((err = vg_uuid_new(w->id)) != VG_OK)
		return err;
	if (gethostname(w->host, sizeof w->host - 1) != 0)
		vg_str_copy(w->host, sizeof w->host, "unknown");
	w->pid = getpid();
	vg_str_copy(w->version, sizeof w->version, PACKAGE_VERSION);
	w->started_at_us = vg_time_now_us();
	return VG_OK;
}

void
vg_worker_heartbeat(struct vg_worker_loop *wl, const char *state, const char *scan_id)
{
	struct vg_worker *w = &wl->row;
	enum vg_err err;

	vg_str_copy(w->state, sizeof w->state, state);
	vg_str_copy(w->current_scan_id, sizeof w->current_scan_id, scan_id ? scan_id : "");
	w->last_heartbeat_us = vg_time_now_us();
	wl->last_heartbeat_mono_us = vg_time_mono_us();
	err = vg_store_worker_upsert(wl->store, w);
	if (err != VG_OK)
		vg_log(VG_LOG_WARN, "worker.heartbeat_failed", "worker_id", w->id,
		    "error", vg_err_code(err), NULL);
}

/* Heartbeat when the interval has passed since the last one. */
static void
heartbeat_due(struct vg_worker_loop *wl, const char *state, const char *scan_id)
{
	int64_t every = vg_cfg_int(VG_SET_WORKER_HEARTBEAT_INTERVAL_SECONDS) * 1000000;

	if (vg_time_mono_us() - wl->last_heartbeat_mono_us >= every)
		vg_worker_heartbeat(wl, state, scan_id);
}

static bool
stopping(const struct vg_worker_loop *wl)
{
	return wl->stop && *wl->stop;
}

/* ---- launching a local child ---- */

/* The runner program: VEGA_RUNNER_PROGRAM, or the installed vega-runner;
 * a name without '/' is looked up in PATH. */
static enum vg_err
runner_path(char *out, size_t len)
{
	const char *prog = vg_cfg_str(VG_SET_RUNNER_PROGRAM), *path, *p, *colon;
	int n;

	if (!prog || !*prog)
		prog = VG_BINDIR "/vega-runner";
	if (strchr(prog, '/'))
		return vg_str_copy(out, len, prog);
	path = getenv("PATH");
	for (p = path ? path : "/usr/bin:/bin"; *p; p = *colon ? colon + 1 : colon) {
		colon = strchr(p, ':');
		if (!colon)
			colon = p + strlen(p);
		n = snprintf(out, len, "%.*s/%s", (int)(colon - p), p, prog);
		if (n > 0 && (size_t)n < len && access(out, X_OK) == 0)
			return VG_OK;
	}
	return vg_str_copy(out, len, prog);   /* execve's ENOENT will say it */
}

static void
set_limit(int resource, int64_t v)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	setrlimit(resource, &rl);
}

/*
 * In the child, between fork and execve: only async-signal-safe calls.
 * errfd (close-on-exec) carries errno to the parent when execve fails.
 */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], char *const envp[], int devnull, int errfd,
    int64_t as_bytes, int64_t cpu_seconds)
{
	struct sigaction sa;
	sigset_t none;
	int e, sig;

	setsid();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (as_bytes > 0)
		set_limit(RLIMIT_AS, as_bytes);
	set_limit(RLIMIT_CPU, cpu_seconds);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_NOFILE, RUNNER_NOFILE);
	if (dup2(devnull, 0) < 0 || dup2(2, 1) < 0)
		goto fail;
	if (errfd != 3) {
		if (dup2(errfd, 3) < 0)
			goto fail;
		fcntl(3, F_SETFD, FD_CLOEXEC);
	}
	close_range(4, ~0U, 0);
	errfd = 3;
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* A started runner. */
struct runner {
	pid_t pid;
	unsigned long long start;
	bool reaped;
	int wstatus;
};

/*
 * Start the runner for scan sc under lease_token.  VG_OK once it is
 * executing (r filled); VG_ERR_IO with why in msg when it could not be
 * started.
 */
static enum vg_err
runner_start(const struct vg_scan *sc, const char *lease_token, struct runner *r, char *msg,
    size_t msglen)
{
	char path[PATH_MAX], *argv[3], **envp = NULL;
	int pipefd[2] = {-1, -1}, devnull = -1, child_errno = 0;
	int64_t as_bytes = vg_cfg_int(VG_SET_RUNNER_MEMORY_LIMIT_MB) * 1024 * 1024;
	ssize_t got;
	pid_t pid;
	enum vg_err err;

	memset(r, 0, sizeof *r);
	r->pid = -1;
#ifdef NO_AS_LIMIT
	as_bytes = 0;
#endif
	if ((err = runner_path(path, sizeof path)) != VG_OK) {
		snprintf(msg, msglen, "the runner program's path is too long");
		goto out;
	}
	if ((err = vg_dispatch_runner_env(sc->id, sc->attempt, lease_token, &envp)) != VG_OK) {
		snprintf(msg, msglen, "no memory for the runner's environment");
		goto out;
	}
	argv[0] = path;
	argv[1] = (char *)sc->id;
	argv[2] = NULL;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(msg, msglen, "cannot prepare the runner: %s", strerror(errno));
		err = VG_ERR_IO;
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(msg, msglen, "cannot fork the runner: %s", strerror(errno));
		err = VG_ERR_IO;
		goto out;
	}
	if (pid == 0)
		child_exec(path, argv, envp, devnull, pipefd[1], as_bytes,
		    vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS));
	close(pipefd[1]);
	pipefd[1] = -1;
	r->pid = pid;
	do
		got = read(pipefd[0], &child_errno, sizeof child_errno);
	while (got < 0 && errno == EINTR);
	if (got > 0) {
		waitpid(pid, NULL, 0);
		r->pid = -1;
		snprintf(msg, msglen, "cannot start %.300s: %s", path, strerror(child_errno));
		err = VG_ERR_IO;
		goto out;
	}
	if (vg_rescue_proc_start(pid, &r->start) != VG_OK)
		r->start = 0;   /* it ended already; the watch reaps it */
	err = VG_OK;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	vg_dispatch_runner_env_free(envp);
	return err;
}

/* Reap r when it ended; true once it is reaped. */
static bool
runner_reaped(struct runner *r)
{
	pid_t got;

	if (r->reaped)
		return true;
	do
		got = waitpid(r->pid, &r->wstatus, WNOHANG);
	while (got < 0 && errno == EINTR);
	if (got == r->pid || (got < 0 && errno == ECHILD))
		r->reaped = true;
	return r->reaped;
}

static void
runner_signal(const struct runner *r, int sig)
{
	/* its own session: the group has its pid, grandchildren included */
	if (kill(-r->pid, sig) != 0)
		kill(r->pid, sig);
}

/* ---- watching ---- */

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_TIMEOUT };

/* Whether scan id has a cancellation asked for; store errors say no. */
static bool
cancel_requested(struct vg_store *s, const char *id)
{
	struct vg_scan sc;

	return vg_store_scan_get(s, id, &sc) == VG_OK && sc.cancel_requested_at_us != 0 &&
	    (strcmp(sc.status, VG_SCAN_CLAIMED) == 0 || strcmp(sc.status, VG_SCAN_RUNNING) == 0);
}

/*
 * Wait for r, heartbeating and watching scan sc for a cancellation and
 * the wall-clock limit.  Returns why the worker stopped the runner; *left
 * is set when the worker was told to stop and left the runner running.
 */
static enum stop_reason
watch(struct vg_worker_loop *wl, const struct vg_scan *sc, struct runner *r, bool *left)
{
	int64_t start = vg_time_mono_us(), now, last_check = start, term_at = 0;
	int64_t limit = vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS) * 1000000;
	struct timespec tick = {0, TICK_US * 1000};
	enum stop_reason why = STOP_NONE;
	bool killed = false;

	*left = false;
	while (!runner_reaped(r)) {
		if (stopping(wl)) {
			*left = true;
			return why;
		}
		nanosleep(&tick, NULL);
		now = vg_time_mono_us();
		heartbeat_due(wl, "busy", sc->id);
		if (why == STOP_NONE && now - last_check >= CANCEL_CHECK_US) {
			last_check = now;
			if (cancel_requested(wl->store, sc->id))
				why = STOP_CANCEL;
		}
		if (why == STOP_NONE && now - start >= limit)
			why = STOP_TIMEOUT;
		if (why != STOP_NONE && !term_at) {
			term_at = now;
			vg_log(VG_LOG_INFO, "worker.runner_stop", "scan_id", sc->id, "reason",
			    why == STOP_CANCEL ? "cancel" : "timeout", "signal", "SIGTERM", NULL);
			runner_signal(r, SIGTERM);
		}
		if (term_at && !killed && now - term_at >= VG_WORKER_KILL_GRACE_SECONDS * 1000000) {
			killed = true;
			vg_log(VG_LOG_WARN, "worker.runner_kill", "scan_id", sc->id, "signal", "SIGKILL",
			    NULL);
			runner_signal(r, SIGKILL);
		}
	}
	return why;
}

/* Record how r ended in its job. */
static void
record_end(struct vg_store *s, const struct vg_scan *sc, const struct runner *r,
    enum stop_reason why)
{
	struct vg_runner_job_change c = {.exit_code = -1, .now_us = vg_time_now_us()};
	char msg[128], code[16];

	if (WIFEXITED(r->wstatus)) {
		c.status = "exited";
		c.exit_code = WEXITSTATUS(r->wstatus);
	} else {
		c.status = "failed";
		snprintf(msg, sizeof msg, "killed by signal %d%s", WTERMSIG(r->wstatus),
		    why == STOP_CANCEL ? " (cancelled)" : why == STOP_TIMEOUT ?
		    " (past VEGA_RUNNER_MAX_SECONDS)" : "");
		c.error_message = msg;
	}
	if (vg_store_runner_job_update(s, sc->id, sc->attempt, &c) != VG_OK)
		vg_log(VG_LOG_WARN, "worker.job_update_failed", "scan_id", sc->id, NULL);
	snprintf(code, sizeof code, "%lld", (long long)c.exit_code);
	vg_log(VG_LOG_INFO, "worker.runner_ended", "scan_id", sc->id, "status", c.status,
	    "exit_code", code, NULL);
}

/*
 * The runner the worker stopped left scan sc active: finish it under the
 * worker's lease, cancelled or failed (runner_timeout).  A lease lost
 * meanwhile (the runner finished it after all) changes nothing.
 */
static void
finish_stopped(struct vg_store *s, const struct vg_scan *sc, enum stop_reason why)
{
	struct vg_lease l = {sc->id, sc->attempt, sc->lease_token};
	struct vg_scan_finish f;
	struct vg_scan now;
	enum vg_err err;

	if (vg_store_scan_get(s, sc->id, &now) != VG_OK ||
	    (strcmp(now.status, VG_SCAN_CLAIMED) != 0 && strcmp(now.status, VG_SCAN_RUNNING) != 0))
		return;
	memset(&f, 0, sizeof f);
	f.now_us = vg_time_now_us();
	if (why == STOP_CANCEL) {
		f.status = VG_SCAN_CANCELLED;
		f.event_type = "scan_cancelled";
	} else {
		f.status = VG_SCAN_FAILED;
		f.error_code = "runner_timeout";
		f.error_message = "the runner ran past VEGA_RUNNER_MAX_SECONDS and was stopped";
		f.event_type = "scan_failed";
	}
	f.event_payload = json_pack("{s:s}", "reason", why == STOP_CANCEL ? "cancel_requested" :
	    "runner_timeout");
	err = vg_store_scan_finish(s, &l, &f);
	json_decref(f.event_payload);
	if (err != VG_OK && err != VG_ERR_CONFLICT)
		vg_log(VG_LOG_WARN, "worker.finish_failed", "scan_id", sc->id, "error",
		    vg_err_code(err), NULL);
}

/* ---- the iteration ---- */

/* A fresh lease token: 24 random bytes, base64url. */
static enum vg_err
new_lease(char *out, size_t len)
{
	unsigned char raw[LEASE_BYTES];
	enum vg_err err = vg_random_bytes(raw, sizeof raw);

	if (err == VG_OK)
		err = vg_b64url_encode(raw, sizeof raw, out, len);
	OPENSSL_cleanse(raw, sizeof raw);
	return err;
}

/* Launch and watch the runner of claimed scan sc. */
static void
run_scan(struct vg_worker_loop *wl, const struct vg_scan *sc)
{
	struct vg_runner_job job;
	struct vg_runner_job_change c;
	struct runner r;
	char msg[512], ext[64], attempt[24];
	bool existed = false, left = false;
	enum stop_reason why;
	enum vg_err err;

	snprintf(attempt, sizeof attempt, "%lld", (long long)sc->attempt);
	memset(&job, 0, sizeof job);
	vg_str_copy(job.scan_id, sizeof job.scan_id, sc->id);
	job.attempt = sc->attempt;
	vg_str_copy(job.worker_id, sizeof job.worker_id, wl->row.id);
	vg_str_copy(job.mode, sizeof job.mode, "local");
	job.exit_code = -1;
	if ((err = vg_store_runner_job_create(wl->store, &job, vg_time_now_us(), &existed)) != VG_OK ||
	    existed) {
		/* without a record, or with one already there, starting would risk a second runner */
		vg_log(VG_LOG_WARN, "worker.launch_skipped", "scan_id", sc->id, "attempt", attempt,
		    "reason", existed ? "a runner job exists for this attempt" : vg_err_code(err), NULL);
		return;
	}
	vg_worker_heartbeat(wl, "busy", sc->id);
	memset(&c, 0, sizeof c);
	c.exit_code = -1;
	if (runner_start(sc, sc->lease_token, &r, msg, sizeof msg) != VG_OK) {
		vg_log(VG_LOG_ERROR, "worker.launch_failed", "scan_id", sc->id, "error", msg, NULL);
		c.status = "failed";
		c.error_message = msg;
		c.now_us = vg_time_now_us();
		vg_store_runner_job_update(wl->store, sc->id, sc->attempt, &c);
		return;   /* the claim is requeued by the rescue once it is stale */
	}
	vg_rescue_external_id(r.pid, r.start, ext, sizeof ext);
	c.status = "running";
	c.external_id = ext;
	c.now_us = vg_time_now_us();
	if (vg_store_runner_job_update(wl->store, sc->id, sc->attempt, &c) != VG_OK)
		vg_log(VG_LOG_WARN, "worker.job_update_failed", "scan_id", sc->id, NULL);
	vg_log(VG_LOG_INFO, "worker.runner_started", "scan_id", sc->id, "attempt", attempt,
	    "runner", ext, NULL);
	why = watch(wl, sc, &r, &left);
	if (left) {
		vg_log(VG_LOG_INFO, "worker.runner_left", "scan_id", sc->id, "runner", ext, NULL);
		return;
	}
	record_end(wl->store, sc, &r, why);
	if (why != STOP_NONE)
		finish_stopped(wl->store, sc, why);
}

enum vg_err
vg_worker_iterate(struct vg_worker_loop *wl, bool *worked)
{
	struct vg_rescue_counts rc;
	struct vg_scan sc;
	char lease[VG_STORE_LEASE_MAX + 1];
	enum vg_err err;

	*worked = false;
	vg_worker_heartbeat(wl, "idle", NULL);
	if (vg_rescue_run(wl->store, vg_time_now_us(), &rc) != VG_OK)
		vg_log(VG_LOG_WARN, "worker.rescue_failed", "worker_id", wl->row.id, NULL);
	if (stopping(wl) || vg_cfg_is(VG_SET_SCAN_EXECUTION_MODE, "thread"))
		return VG_OK;
	if ((err = new_lease(lease, sizeof lease)) != VG_OK)
		return err;
	err = vg_store_scan_claim(wl->store, wl->row.id, NULL, lease, vg_time_now_us(), &sc);
	OPENSSL_cleanse(lease, sizeof lease);
	if (err == VG_ERR_NOT_FOUND)
		return VG_OK;
	if (err != VG_OK)
		return err;
	*worked = true;
	vg_log_set_scan_id(sc.id);
	run_scan(wl, &sc);
	vg_log_set_scan_id(NULL);
	OPENSSL_cleanse(sc.lease_token, sizeof sc.lease_token);
	if (!stopping(wl))
		vg_worker_heartbeat(wl, "idle", NULL);
	return VG_OK;
}
