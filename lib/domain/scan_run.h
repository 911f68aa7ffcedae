/*
 * scan_run.h - one server scan, run by `vega-runner SCAN_ID` (DESIGN.md
 * section 4, step 3).
 *
 * THE LEASE.  A runner started by a worker finds the lease the worker
 * claimed in its environment (VEGA_RUNNER_ATTEMPT, VEGA_RUNNER_LEASE_TOKEN)
 * and the worker's runner job (scan, attempt), which it moves to
 * "running" and, at its end, to "exited" with its exit code ("failed"
 * with a message when it could not run).  A runner started without one
 * (thread dispatch: the API only inserted the scan, queued) claims the
 * scan itself with a fresh worker id and lease token and records its own
 * runner job (mode "thread", external id its pid).
 *
 * THE RUN.  claimed -> running with the lease; a scan_started event;
 * the threat profile version the scan names; the snapshot tar fetched
 * from the sources bucket and extracted with the archive limits into a
 * private directory under $VEGA_DATA_DIR/tmp (0700, removed on every way
 * out but SIGKILL, after which cleanup removes it once it is older than
 * VEGA_TMP_RETENTION_SECONDS); the engine run through engine.h, each of its events appended as
 * it arrives (the engine's own scan_started becomes a scan_log naming the
 * engine, so a scan has one scan_started) and each finding upserted by
 * fingerprint, so a crash keeps everything written so far.  Then the
 * artifacts under scans/<scan_id>/ in the artifacts bucket:
 *   events.jsonl         every event of the scan, one JSON object a line
 *                        ({scan_id, seq, type, payload, created_at}),
 *                        the final event included;
 *   runner-summary.json  scan, attempt, status, error, timings, counts by
 *                        severity, engine, files scanned, llm_usage;
 *   report.json          the engine's report (plan, coverage, findings);
 *   report.sarif         SARIF 2.1.0;
 *   debug-bundle.zip     runner-summary.json, events.jsonl, plan.json and
 *                        coverage.txt: never source code or secrets.
 * Last, running -> completed, failed (error code and message, and a
 * scan_failed event) or cancelled (a scan_cancelled event), the final
 * event written in the same step as the status.
 *
 * WHILE IT WORKS a heartbeat thread, with a store connection of its own,
 * heartbeats the scan every VEGA_RUNNER_HEARTBEAT_SECONDS and looks for a
 * cancellation request every second in between.  The engine's
 * cancellation check sees a cancellation, a stop signal (the stop flag of
 * the options, set by SIGTERM/SIGINT in vega-runner), a lost lease, or
 * the approach of VEGA_RUNNER_MAX_SECONDS, and the engine stops between
 * two files.  A stop signal ends the scan cancelled when a cancellation
 * was requested, else failed with error "interrupted"; what was written
 * is kept either way.
 *
 * A LOST LEASE (VG_ERR_CONFLICT from any write that names it, or the
 * heartbeat thread seeing another attempt or a finished scan) stops the
 * engine, and the runner writes nothing more to the scan: no event,
 * finding, artifact or status.  It records only its own exit on its own
 * runner job row (keyed by its attempt, so never another attempt's).
 *
 * A STORE OUTAGE (the store answers VG_ERR_UNAVAILABLE: a Postgres
 * restart or failover) does not end the run at once: each store call of
 * the runner is made again for up to 10 seconds from the moment the store
 * was found unreachable, with pauses of 100 ms growing to 1 s, and the end
 * of the scan has 10 seconds of its own.  Writes are made so that a try
 * which committed just before the connection went is never doubled:
 * findings are upserted by fingerprint and heartbeats only set values; an
 * event is looked for (by its type and time) before it is appended again;
 * a start or end whose retry conflicts counts as done when the scan
 * already is as it would have left it, under our lease.  A store back in
 * time: the scan goes on, each event once, numbered without gaps.  A
 * write given up on: the engine stops and the scan fails
 * (store_unavailable).  An end that cannot be recorded: the runner exits
 * 3 and the scan stays running, without a runner, until the stale-scan
 * rescue fails it once its heartbeat is VEGA_SCAN_HEARTBEAT_STALE_SECONDS
 * old.  The heartbeat thread keeps trying every second meanwhile.
 *
 * ERROR CODES of a failed scan:
 *   profile_unavailable   the scan's threat profile version cannot be read
 *   snapshot_unavailable  the snapshot row or its tar cannot be read
 *   snapshot_invalid      the tar was refused by the extraction checks
 *   engine_unavailable    the engine is unknown or not configured
 *   engine_failed         the engine stopped with an error
 *   interrupted           stopped by a signal without a cancellation request
 *   timeout               close to VEGA_RUNNER_MAX_SECONDS
 *   store_unavailable     an event or finding could not be written (the
 *                         store stayed unreachable past the retries)
 *   artifacts_failed      an artifact could not be stored
 *   internal              out of memory, the temporary directory, ...
 */
#ifndef VG_DOMAIN_SCAN_RUN_H
#define VG_DOMAIN_SCAN_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "blob/blob.h"
#include "core/err.h"
#include "store/store.h"

/* Exit codes of vega-runner SCAN_ID. */
enum vg_scan_run_exit {
	VG_SCAN_EXIT_COMPLETED = 0,  /* the scan completed */
	VG_SCAN_EXIT_FAILED = 1,     /* the scan failed (recorded with its error code) */
	VG_SCAN_EXIT_USAGE = 2,      /* bad arguments or lease environment */
	VG_SCAN_EXIT_NOT_RUN = 3,    /* could not start: store or storage unavailable, no
	                              * such scan, scan not queued (or not claimed); or
	                              * could not record the end of a started scan (the
	                              * store unreachable): it is left to the rescue */
	VG_SCAN_EXIT_CANCELLED = 4,  /* the scan is cancelled */
	VG_SCAN_EXIT_LEASE_LOST = 5, /* the lease was lost: nothing more was written */
};

struct vg_scan_run_opts {
	/* The worker's lease: attempt >= 1 and a token; 0 and NULL: claim the
	 * queued scan (thread dispatch).  See vg_scan_run_lease_from_env. */
	int64_t attempt;
	const char *lease_token;
	/* Set (to anything non-zero) by a signal handler to stop the scan;
	 * may be NULL. */
	volatile sig_atomic_t *stop;
	/* The rules directory for the rules engine (NULL: the settings). */
	const char *rules_dir;
	/* For tests: called after each event of the engine is stored, with its
	 * type; may be NULL. */
	void (*after_event)(void *ctx, const char *type);
	void *hook_ctx;
};

/* How a run ended. */
struct vg_scan_run_result {
	int exit_code;                       /* enum vg_scan_run_exit */
	char status[12];                     /* completed, failed, cancelled; "" when not run */
	char error_code[VG_STORE_ERROR_CODE_MAX + 1];
	char message[512];                   /* why, for the runner's stderr; "" when completed */
	int64_t attempt;
	int64_t findings;
	int64_t files_scanned;
};

/*
 * Fill o->attempt and o->lease_token (borrowed from the environment) from
 * VEGA_RUNNER_ATTEMPT and VEGA_RUNNER_LEASE_TOKEN.  Neither set: VG_OK,
 * nothing changed.  Only one set, an attempt that is not 1..2^31-1 or a
 * token outside 16..VG_STORE_LEASE_MAX bytes: VG_ERR_INVALID.
 */
enum vg_err vg_scan_run_lease_from_env(struct vg_scan_run_opts *o);

/*
 * Run scan scan_id to its end with store and blob (borrowed; the
 * heartbeat thread opens a store of its own from the settings).  res is
 * always filled; res->exit_code is what vega-runner exits with.  Returns
 * VG_OK when the scan completed, else the error that decided the outcome
 * (VG_ERR_CONFLICT for a lost lease or a cancellation, the store's or
 * engine's error otherwise).
 */
enum vg_err vg_scan_run(struct vg_store *store, struct vg_blob *blob, const char *scan_id,
    const struct vg_scan_run_opts *o, struct vg_scan_run_result *res);

#endif
