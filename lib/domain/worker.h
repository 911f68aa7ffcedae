/*
 * worker.h - the worker's iteration (DESIGN.md section 4, step 2):
 * heartbeat -> rescue stale scans -> receive and claim -> launch the
 * runner -> watch it to its end.
 *
 * ONE RUNNER AT A TIME.  A worker process runs one runner at a time: the
 * iteration that launched it waits for it, heartbeating the registry
 * (state "busy", current scan) every VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS
 * and reading the scan about once a second to see a cancellation.  More
 * concurrency means more worker processes (systemd template units, or
 * more ECS services): each is small, and a crash takes one scan with it.
 *
 * RECEIVE.  VEGA_SCAN_EXECUTION_MODE=external: the store is the queue
 * (the oldest queued scan is claimed).  thread: the API starts runners
 * itself, so a worker there claims nothing and only heartbeats and
 * rescues stale scans.  sqs is not available yet: vg_worker_check_config
 * refuses it, as it refuses VEGA_SCAN_WORKER_EXECUTION_MODE=ecs.
 *
 * LAUNCH (local).  The claim takes queued -> claimed with attempt + 1 and
 * a fresh lease token in one store step; the runner job of (scan,
 * attempt) is recorded before anything starts, and when it exists
 * already nothing is started (a relaunch cannot double-start an
 * attempt).  The runner is `$VEGA_RUNNER_PROGRAM SCAN_ID` (empty: the
 * installed vega-runner), a child in its own session with stdin from
 * /dev/null, stdout and stderr on the worker's stderr, no other file
 * descriptor, an environment from vg_dispatch_runner_env (dispatch.h), and the limits
 * RLIMIT_AS = VEGA_RUNNER_MEMORY_LIMIT_MB (not set in sanitizer builds,
 * whose shadow memory needs the address space), RLIMIT_CPU =
 * VEGA_RUNNER_MAX_SECONDS, RLIMIT_CORE = 0, RLIMIT_NOFILE = 1024.  The
 * job goes "running" with external_id "pid:start time" (see rescue.h),
 * then "exited" with the exit code, or "failed" when a signal ended it.
 *
 * WATCH.  A cancellation (the scan's cancel_requested_at) or the
 * wall-clock limit VEGA_RUNNER_MAX_SECONDS sends SIGTERM to the runner's
 * process group, and SIGKILL VG_WORKER_KILL_GRACE_SECONDS later if it is
 * still there.  When a runner the worker stopped left its scan active,
 * the worker finishes it with the lease it claimed: cancelled (with a
 * scan_cancelled event) or failed with error runner_timeout.  A runner
 * that ended on its own leaves its scan to the runner's own outcome, and
 * one that died mid-scan to the stale-scan rescue.
 *
 * STOP.  *stop (set by SIGTERM) ends the watch at once: the runner, in
 * its own session with its own lease, runs on and finishes its scan; a
 * runner that dies with it is recovered by the next worker's rescue.
 */
#ifndef VG_DOMAIN_WORKER_H
#define VG_DOMAIN_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/err.h"
#include "store/store.h"

#define VG_WORKER_KILL_GRACE_SECONDS 5

struct vg_worker_loop {
	struct vg_store *store;              /* borrowed */
	struct vg_worker row;                /* this worker's registry row */
	volatile sig_atomic_t *stop;         /* set when the worker must stop */
	int64_t last_heartbeat_mono_us;      /* for the heartbeat interval */
};

/* Refuse settings this build cannot serve (sqs, ecs): VG_OK, or
 * VG_ERR_INVALID with why in msg. */
enum vg_err vg_worker_check_config(char *msg, size_t len);

/* Fill wl->row (a new id, host, pid, version, start time) and the rest
 * of wl; store and stop are borrowed. */
enum vg_err vg_worker_init(struct vg_worker_loop *wl, struct vg_store *store,
    volatile sig_atomic_t *stop);

/* Record state ("idle", "busy", "stopped") and the current scan (NULL or
 * "": none) in the registry.  A store that cannot be reached is logged,
 * not fatal: the next heartbeat tries again. */
void vg_worker_heartbeat(struct vg_worker_loop *wl, const char *state, const char *scan_id);

/*
 * One iteration: heartbeat, rescue, claim, launch, watch.  *worked tells
 * whether a scan was claimed (the loop goes on at once then, and naps
 * VEGA_WORKER_POLL_INTERVAL_SECONDS otherwise).  Returns VG_OK, or the
 * store's error of the claim (the loop logs it and naps).
 */
enum vg_err vg_worker_iterate(struct vg_worker_loop *wl, bool *worked);

#endif
