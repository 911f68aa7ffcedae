/*
 * vega-worker - the long-running worker loop (DESIGN.md section 4, step 2).
 *
 *   vega-worker           loop until SIGTERM/SIGINT
 *   vega-worker --once    one iteration, then exit (timers, cron)
 *
 * Each iteration heartbeats the worker registry.  Claiming and launching
 * scans join the iteration with the scan pipeline; the registry row, its
 * states and the clean stop on SIGTERM are the contract they build on.
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

/* Fill the registry row that identifies this process. */
static enum vg_err
worker_identity(struct vg_worker *w)
{
	enum vg_err err;

	memset(w, 0, sizeof *w);
	if ((err = vg_uuid_new(w->id)) != VG_OK)
		return err;
	if (gethostname(w->host, sizeof w->host - 1) != 0)
		vg_str_copy(w->host, sizeof w->host, "unknown");
	w->pid = getpid();
	vg_str_copy(w->version, sizeof w->version, PACKAGE_VERSION);
	w->started_at_us = vg_time_now_us();
	return VG_OK;
}

/* Record state in the registry; an unreachable store is logged, not fatal:
 * the worker keeps trying and recovers when the store comes back. */
static void
heartbeat(struct vg_store *store, struct vg_worker *w, const char *state)
{
	enum vg_err err;

	vg_str_copy(w->state, sizeof w->state, state);
	w->last_heartbeat_us = vg_time_now_us();
	err = vg_store_worker_upsert(store, w);
	if (err != VG_OK)
		vg_log(VG_LOG_WARN, "worker.heartbeat_failed", "worker_id", w->id,
		    "error", vg_err_code(err), NULL);
}

/* Sleep up to secs seconds, waking early when a stop is requested. */
static void
nap(int64_t secs)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	int64_t ticks = secs * 10;

	while (ticks-- > 0 && !stop_requested)
		nanosleep(&ts, NULL);
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
	struct vg_worker w;
	bool once = false;
	int64_t interval;
	int status = 1;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--once") != 0))
		return usage();
	once = argc == 2;
	vg_settings_load_or_exit("vega-worker");
	vg_log_init("worker");
	install_signals();
	if (vg_store_open(&store) != VG_OK || worker_identity(&w) != VG_OK) {
		vg_log(VG_LOG_ERROR, "worker.start_failed", NULL);
		goto out;
	}
	interval = vg_cfg_int(VG_SET_WORKER_HEARTBEAT_INTERVAL_SECONDS);
	vg_log(VG_LOG_INFO, "worker.started", "worker_id", w.id,
	    "mode", once ? "once" : "loop", NULL);
	do {
		heartbeat(store, &w, "idle");
		if (!once)
			nap(interval);
	} while (!once && !stop_requested);
	heartbeat(store, &w, "stopped");
	vg_log(VG_LOG_INFO, "worker.stopped", "worker_id", w.id, NULL);
	status = 0;
out:
	vg_store_free(store);
	return status;
}
