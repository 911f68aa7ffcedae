/*
 * runner_env.h - what a dispatching role (the worker, or the API in thread
 * mode) adds to a runner's environment so its engine can reach the LLM
 * proxy: a scan token, minted here with VEGA_LLM_TOKEN_SIGNING_KEY_FILE,
 * and the proxy's base URL.
 *
 *   OPENAI_API_KEY=<token>           what an OpenAI-compatible client sends
 *   VEGA_LLM_SCAN_TOKEN=<token>      the same, under our own name
 *   OPENAI_BASE_URL=<url>            VEGA_LLM_PROXY_BASE_URL
 *   VEGA_LLM_PROXY_BASE_URL=<url>
 *
 * The token lives min(VEGA_LLM_TOKEN_TTL_SECONDS, VEGA_RUNNER_MAX_SECONDS)
 * seconds: never past the scan's run limit.  It is a secret: put it only
 * into the child's environment, never into a log line or an argv.
 */
#ifndef VG_LLM_RUNNER_ENV_H
#define VG_LLM_RUNNER_ENV_H

#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

#define VG_LLM_RUNNER_ENV_MAX 4   /* entries vg_llm_runner_env gives at most */

/*
 * The environment entries ("NAME=value", each malloc'd) for attempt of
 * scan_id at now (seconds since the epoch), written to env[0..*count-1]
 * (env has room for VG_LLM_RUNNER_ENV_MAX).  With no signing key
 * configured, *count is 0 and the answer VG_OK: the runner then works
 * without the proxy.  VG_ERR_INVALID when the key file is set but not a
 * usable P-256 private key (logged, naming the setting), or for a bad
 * scan id or attempt; VG_ERR_IO when it cannot be read.  Free the entries
 * with vg_llm_runner_env_free, which wipes them.
 */
enum vg_err vg_llm_runner_env(const char *scan_id, int64_t attempt, int64_t now,
    char *env[VG_LLM_RUNNER_ENV_MAX], size_t *count);
void vg_llm_runner_env_free(char *env[VG_LLM_RUNNER_ENV_MAX], size_t count);

#endif
