/*
 * vega-worker - the long-running worker loop (DESIGN.md section 4, step 2).
 *
 *   vega-worker           loop until SIGTERM/SIGINT
 *   vega-worker --once    one iteration, then exit (timers, cron)
 *
 * Each iteration (lib/domain/worker.h): heartbeat the worker registry,
 * rescue stale scans, claim the oldest queued scan, launch its runner as
 * a local child and watch it to its end (one runner at a time per
 * process; run more workers for more).  With nothing to do the loop
 * naps VEGA_WORKER_POLL_INTERVAL_SECONDS, heartbeating every
 * VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS.
 *
 * SIGTERM/SIGINT: the current step ends (a running runner is left to
 * finish its scan on its own lease), the registry row says "stopped",
 * and the worker exits 0.  A worker killed outright leaves its row
 * "idle" or "busy" with an old heartbeat (GET /v1/ops/workers flags it
 * stale), and its claims are recovered by the next worker's rescue.
 *
 * Exit status: 0 after a clean stop, 1 when the store could not be opened,
 * 2 on a usage or configuration error.
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/worker.h"
#include "store/store.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* SIGTERM/SIGINT set a flag; the loop finishes its step and stops. */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Nap up to secs seconds, heartbeating "idle" on the interval and
 * waking early when a stop is requested. */
static void
nap(struct vg_worker_loop *wl, int64_t secs)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	int64_t every = vg_cfg_int(VG_SET_WORKER_HEARTBEAT_INTERVAL_SECONDS) * 1000000;
	int64_t ticks = secs * 10;

	while (ticks-- > 0 && !stop_requested) {
		nanosleep(&ts, NULL);
		if (vg_time_mono_us() - wl->last_heartbeat_mono_us >= every)
			vg_worker_heartbeat(wl, "idle", NULL);
	}
}

static int
usage(void)
{
	fputs("usage: vega-worker [--once]\n"
	    "  --once   run one iteration and exit\n"
	    "exit status: 0 clean stop, 1 store unavailable at start, 2 usage or configuration\n",
	    stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	struct vg_store *store = NULL;
	struct vg_worker_loop wl;
	char msg[256];
	bool once = false, worked = false;
	int status = 1;
	enum vg_err err;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--once") != 0))
		return usage();
	once = argc == 2;
	vg_settings_load_or_exit("vega-worker");
	vg_log_init("worker");
	if (vg_worker_check_config(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "vega-worker: %s\n", msg);
		return 2;
	}
	install_signals();
	if (vg_store_open(&store) != VG_OK ||
	    vg_worker_init(&wl, store, &stop_requested) != VG_OK) {
		vg_log(VG_LOG_ERROR, "worker.start_failed", NULL);
		goto out;
	}
	vg_log(VG_LOG_INFO, "worker.started", "worker_id", wl.row.id,
	    "mode", once ? "once" : "loop", NULL);
	do {
		err = vg_worker_iterate(&wl, &worked);
		if (err != VG_OK)
			vg_log(VG_LOG_WARN, "worker.claim_failed", "worker_id", wl.row.id,
			    "error", vg_err_code(err), NULL);
		if (!once && !worked)
			nap(&wl, vg_cfg_int(VG_SET_WORKER_POLL_INTERVAL_SECONDS));
	} while (!once && !stop_requested);
	vg_worker_heartbeat(&wl, "stopped", NULL);
	vg_log(VG_LOG_INFO, "worker.stopped", "worker_id", wl.row.id, NULL);
	status = 0;
out:
	vg_store_free(store);
	return status;
}
