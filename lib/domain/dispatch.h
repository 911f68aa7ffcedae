/*
 * dispatch.h - starting vega-runner in the background, for a git ingest
 * (ingest.h) or a scan (VEGA_SCAN_EXECUTION_MODE=thread).
 *
 * The runner is VEGA_RUNNER_PROGRAM, or the vega-runner installed in the
 * bindir.  It is started detached (core/proc.h: double fork, its own
 * session, stdin from /dev/null, no inherited descriptor), so the API
 * request that dispatches it never waits for it.  Its environment is
 * vg_dispatch_runner_env's; nothing else.  Its output is appended to
 * $VEGA_DATA_DIR/logs/runner.log (the caller's stderr when that cannot be
 * opened).
 */
#ifndef VG_DOMAIN_DISPATCH_H
#define VG_DOMAIN_DISPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

/*
 * The environment of a runner for attempt of scan_id (NULL for another
 * job, an ingest): PATH and every VEGA_* variable of this process (never
 * an inherited VEGA_RUNNER_ATTEMPT or VEGA_RUNNER_LEASE_TOKEN); the lease
 * a worker claimed as VEGA_RUNNER_ATTEMPT and VEGA_RUNNER_LEASE_TOKEN
 * when lease_token is not NULL (thread dispatch has none: the runner
 * claims the scan itself); and the scan-scoped token of the LLM proxy
 * with the proxy's address (llm/runner_env.h; nothing when no signing
 * key is configured).  The one place every way of starting a runner
 * takes its environment from.  *envp is a NULL-terminated array of
 * malloc'd strings; free it with vg_dispatch_runner_env_free, which wipes
 * them (they hold secrets).
 */
enum vg_err vg_dispatch_runner_env(const char *scan_id, int64_t attempt,
    const char *lease_token, char ***envp);
void vg_dispatch_runner_env_free(char **envp);

/*
 * Start the runner detached with args (a NULL-terminated list appended
 * after the program name).  what ("ingest", "scan") and id name the job in
 * the log lines; scan_id (may be NULL) and attempt are handed to
 * vg_dispatch_runner_env.
 * *pid (may be NULL) gets the runner's pid.  Returns once it executes:
 * VG_OK, VG_ERR_IO when it could not be started, VG_ERR_NOMEM, or the
 * environment's error.
 */
enum vg_err vg_domain_dispatch_runner(const char *what, const char *id,
    const char *scan_id, int64_t attempt, const char *const args[], pid_t *pid);

/* "vega-runner SCAN_ID" detached: the runner claims the scan itself, as
 * attempt (the scan's attempt + 1).  VG_ERR_INVALID when scan_id is not a
 * UUID; otherwise as above. */
enum vg_err vg_domain_dispatch_scan(const char *scan_id, int64_t attempt);

#endif
