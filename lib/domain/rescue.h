/*
 * rescue.h - stale-scan recovery (the worker's second step, DESIGN.md
 * section 4; also run by vega-maintenance).
 *
 * A pass lists the candidates (vg_store_scan_stale) and moves each one
 * whose runner is gone; the store re-checks the condition inside the
 * step that moves the scan, so a scan that heartbeat, finished or was
 * re-claimed meanwhile is left alone (VG_ERR_CONFLICT, counted as
 * "raced").
 *
 *   running  heartbeat older than VEGA_SCAN_HEARTBEAT_STALE_SECONDS, or
 *            started more than VEGA_SCAN_RUNNING_STALE_SECONDS ago, and
 *            its runner gone: failed, error stale_scan (findings stay);
 *   claimed  claimed more than VEGA_SCAN_HEARTBEAT_STALE_SECONDS ago and
 *            its runner never started (or gone): queued again while
 *            attempt < VEGA_SCAN_MAX_ATTEMPTS, else failed.
 *
 * Whether a runner is gone: the runner job of the scan's attempt holds
 * "pid:start time" (the start time field of /proc/<pid>/stat) for a
 * local child.  When the job's worker runs on this host, the process is
 * looked up: alive with the same start time means the runner lives and
 * the scan is skipped, whatever its age.  On another host, for a job of
 * another kind (thread dispatch names no worker) or without a job, the
 * heartbeat age decides alone (the running-time rule is not applied).
 * A job still "starting" or "running" of a rescued attempt is marked
 * "lost".
 */
#ifndef VG_DOMAIN_RESCUE_H
#define VG_DOMAIN_RESCUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"
#include "store/store.h"

struct vg_rescue_counts {
	int64_t failed;        /* running scans failed as stale */
	int64_t requeued;      /* claimed scans queued again */
	int64_t exhausted;     /* claimed scans failed: no attempts left */
	int64_t alive;         /* candidates skipped: their runner lives */
	int64_t raced;         /* candidates that changed meanwhile */
};

/*
 * One pass at now_us with the thresholds of the settings.  out (may be
 * NULL) gets the counts.  Returns VG_OK, or the store's error of the
 * listing (a failed move of one scan is logged and the pass goes on).
 */
enum vg_err vg_rescue_run(struct vg_store *s, int64_t now_us, struct vg_rescue_counts *out);

/* The start time of process pid (clock ticks since boot, field 22 of
 * /proc/<pid>/stat); VG_ERR_NOT_FOUND when there is no such process or
 * it is a zombie. */
enum vg_err vg_rescue_proc_start(pid_t pid, unsigned long long *start);

/* "pid:start" of a local runner into out (at least 48 bytes). */
void vg_rescue_external_id(pid_t pid, unsigned long long start, char *out, size_t len);

/*
 * Whether the process external_id ("pid:start") names is alive on this
 * host with that start time.  *known is false when external_id is not of
 * that form (then the answer is false too).
 */
bool vg_rescue_local_alive(const char *external_id, bool *known);

#endif
