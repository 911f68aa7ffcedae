/*
 * dispatch.h - starting vega-runner in the background, for a git ingest
 * (ingest.h) or a scan (VEGA_SCAN_EXECUTION_MODE=thread).
 *
 * The runner is VEGA_RUNNER_PROGRAM, or the vega-runner installed in the
 * bindir.  It is started detached (core/proc.h: double fork, its own
 * session, stdin from /dev/null, no inherited descriptor), so the API
 * request that dispatches it never waits for it.  Its environment is PATH
 * and every VEGA_* variable of this process, plus what vg_dispatch_env
 * adds for a scan; nothing else.  Its output is appended to
 * $VEGA_DATA_DIR/logs/runner.log (the caller's stderr when that cannot be
 * opened).
 */
#ifndef VG_DOMAIN_DISPATCH_H
#define VG_DOMAIN_DISPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

/* Most extra environment entries vg_dispatch_env may add. */
#define VG_DISPATCH_ENV_EXTRA 8

/*
 * The hook where a scan's runner gets environment of its own: the
 * scan-scoped token of the LLM proxy for that attempt and the proxy's
 * address (llm/runner_env.h; nothing when no signing key is configured).
 * Appends up to VG_DISPATCH_ENV_EXTRA - *n "NAME=value" strings, each
 * malloc'd, to extra at *n; free them with vg_dispatch_env_free (they
 * hold a secret).  scan_id is NULL for other jobs (an ingest).  An error
 * stops the dispatch.
 */
enum vg_err vg_dispatch_env(const char *scan_id, int64_t attempt, char **extra, size_t *n);
/* Wipe and free n entries of extra. */
void vg_dispatch_env_free(char **extra, size_t n);

/*
 * Start the runner detached with args (a NULL-terminated list appended
 * after the program name).  what ("ingest", "scan") and id name the job in
 * the log lines; scan_id (may be NULL) and attempt are handed to
 * vg_dispatch_env.
 * *pid (may be NULL) gets the runner's pid.  Returns once it executes:
 * VG_OK, VG_ERR_IO when it could not be started, VG_ERR_NOMEM, or the
 * hook's error.
 */
enum vg_err vg_domain_dispatch_runner(const char *what, const char *id,
    const char *scan_id, int64_t attempt, const char *const args[], pid_t *pid);

/* "vega-runner SCAN_ID" detached: the runner claims the scan itself, as
 * attempt (the scan's attempt + 1).  VG_ERR_INVALID when scan_id is not a
 * UUID; otherwise as above. */
enum vg_err vg_domain_dispatch_scan(const char *scan_id, int64_t attempt);

#endif
