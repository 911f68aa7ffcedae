/* dispatch.c - vega-runner started detached: the one copy of its argv,
 * environment and log file for every kind of job. */
#include "config.h"
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "core/fsutil.h"
#include "core/id.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/dispatch.h"
#include "llm/runner_env.h"
#include "store/store.h"

extern char **environ;

#define MAX_ARGS 8

/* ---- the runner's environment ---- */

/* A growing NULL-terminated list of malloc'd "NAME=value" strings. */
struct envlist {
	char **v;
	size_t n, cap;
};

/* Append a copy of entry ("NAME=value"). */
static enum vg_err
env_add(struct envlist *e, const char *entry)
{
	char *s, **grown;

	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;

		if (!(grown = realloc(e->v, cap * sizeof *grown)))
			return VG_ERR_NOMEM;
		e->v = grown;
		e->cap = cap;
	}
	if (!(s = strdup(entry)))
		return VG_ERR_NOMEM;
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return VG_OK;
}

/* What a runner inherits: PATH and our settings, never a lease of this
 * process's own environment. */
static bool
inherited(const char *entry)
{
	if (vg_str_has_prefix(entry, "VEGA_RUNNER_ATTEMPT=") ||
	    vg_str_has_prefix(entry, "VEGA_RUNNER_LEASE_TOKEN="))
		return false;
	return vg_str_has_prefix(entry, "VEGA_") || vg_str_has_prefix(entry, "PATH=");
}

/* The lease the worker claimed, as VEGA_RUNNER_ATTEMPT and
 * VEGA_RUNNER_LEASE_TOKEN. */
static enum vg_err
add_lease(struct envlist *e, int64_t attempt, const char *lease_token)
{
	char buf[VG_STORE_LEASE_MAX + 32];
	enum vg_err err;

	snprintf(buf, sizeof buf, "VEGA_RUNNER_ATTEMPT=%lld", (long long)attempt);
	if ((err = env_add(e, buf)) != VG_OK)
		return err;
	if (snprintf(buf, sizeof buf, "VEGA_RUNNER_LEASE_TOKEN=%s", lease_token) >= (int)sizeof buf)
		return VG_ERR_INVALID;
	err = env_add(e, buf);
	OPENSSL_cleanse(buf, sizeof buf);
	return err;
}

/* The scan-scoped token of the LLM proxy for this attempt and the
 * proxy's address (nothing when no signing key is configured). */
static enum vg_err
add_llm(struct envlist *e, const char *scan_id, int64_t attempt)
{
	char *env[VG_LLM_RUNNER_ENV_MAX];
	size_t count = 0, i;
	enum vg_err err;

	err = vg_llm_runner_env(scan_id, attempt, vg_time_now_us() / 1000000, env, &count);
	for (i = 0; err == VG_OK && i < count; i++)
		err = env_add(e, env[i]);
	vg_llm_runner_env_free(env, count);
	return err;
}

enum vg_err
vg_dispatch_runner_env(const char *scan_id, int64_t attempt, const char *lease_token,
    char ***envp)
{
	struct envlist e = {NULL, 0, 0};
	bool path = false;
	enum vg_err err = VG_OK;
	size_t i;

	*envp = NULL;
	for (i = 0; environ && environ[i] && err == VG_OK; i++)
		if (inherited(environ[i])) {
			path = path || vg_str_has_prefix(environ[i], "PATH=");
			err = env_add(&e, environ[i]);
		}
	if (err == VG_OK && lease_token)
		err = add_lease(&e, attempt, lease_token);
	if (err == VG_OK && scan_id)
		err = add_llm(&e, scan_id, attempt);
	if (err == VG_OK && !path)
		err = env_add(&e, "PATH=/usr/bin:/bin");
	if (err != VG_OK) {
		vg_dispatch_runner_env_free(e.v);
		return err;
	}
	*envp = e.v;
	return VG_OK;
}

void
vg_dispatch_runner_env_free(char **envp)
{
	size_t i;

	/* the lease and the scan token are secrets: wipe every entry */
	for (i = 0; envp && envp[i]; i++) {
		OPENSSL_cleanse(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
}

/* $VEGA_DATA_DIR/logs/runner.log into path, creating logs/; false when
 * it cannot be made. */
static bool
runner_log(char *path, size_t len)
{
	char dir[PATH_MAX];
	int n;

	n = snprintf(dir, sizeof dir, "%s/logs", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof dir || vg_fs_mkdir_p(dir, 0700) != VG_OK)
		return false;
	n = snprintf(path, len, "%s/runner.log", dir);
	return n > 0 && (size_t)n < len;
}

enum vg_err
vg_domain_dispatch_runner(const char *what, const char *id, const char *scan_id,
    int64_t attempt, const char *const args[], pid_t *pid)
{
	const char *program = vg_cfg_str(VG_SET_RUNNER_PROGRAM);
	char log_path[PATH_MAX], *argv[MAX_ARGS + 2], **envp = NULL;
	char pidbuf[24];
	size_t n = 0, i;
	pid_t child = -1;
	enum vg_err err;

	if (!program || !*program)
		program = VG_BINDIR "/vega-runner";
	argv[n++] = (char *)program;
	for (i = 0; args && args[i]; i++) {
		if (n > MAX_ARGS)
			return VG_ERR_INVALID;
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	if ((err = vg_dispatch_runner_env(scan_id, attempt, NULL, &envp)) != VG_OK)
		goto out;
	err = vg_proc_spawn_detached(argv, envp,
	    runner_log(log_path, sizeof log_path) ? log_path : VG_PROC_LOG_INHERIT, &child);
out:
	vg_dispatch_runner_env_free(envp);
	if (err != VG_OK) {
		vg_log(VG_LOG_ERROR, "dispatch_failed", "job", what, "id", id, "program", program,
		    "error", vg_err_code(err), NULL);
		return err;
	}
	snprintf(pidbuf, sizeof pidbuf, "%ld", (long)child);
	vg_log(VG_LOG_INFO, "dispatched", "job", what, "id", id, "pid", pidbuf, NULL);
	if (pid)
		*pid = child;
	return VG_OK;
}

enum vg_err
vg_domain_dispatch_scan(const char *scan_id, int64_t attempt)
{
	const char *args[] = {scan_id, NULL};

	if (!scan_id || !vg_uuid_valid(scan_id))
		return VG_ERR_INVALID;
	return vg_domain_dispatch_runner("scan", scan_id, scan_id, attempt, args, NULL);
}
