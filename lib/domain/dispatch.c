/* dispatch.c - vega-runner started detached: the one copy of its argv,
 * environment and log file for every kind of job. */
#include "config.h"
#include <limits.h>
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

extern char **environ;

#define MAX_ARGS 8

enum vg_err
vg_dispatch_env(const char *scan_id, int64_t attempt, char **extra, size_t *n)
{
	char *env[VG_LLM_RUNNER_ENV_MAX];
	size_t count = 0, i;
	enum vg_err err;

	if (!scan_id)
		return VG_OK;
	err = vg_llm_runner_env(scan_id, attempt, vg_time_now_us() / 1000000, env, &count);
	if (err != VG_OK)
		return err;
	if (*n + count > VG_DISPATCH_ENV_EXTRA) {
		vg_llm_runner_env_free(env, count);
		return VG_ERR_INTERNAL;
	}
	for (i = 0; i < count; i++)
		extra[(*n)++] = env[i];   /* taken: vg_dispatch_env_free wipes them */
	return VG_OK;
}

void
vg_dispatch_env_free(char **extra, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (extra[i])
			OPENSSL_cleanse(extra[i], strlen(extra[i]));
		free(extra[i]);
	}
}

/*
 * The runner's environment: PATH and every VEGA_* variable of ours, then
 * the extra entries.  *out is a malloc'd NULL-terminated array whose
 * strings are borrowed (from environ and extra).
 */
static enum vg_err
runner_env(char *const *extra, size_t nextra, char ***out)
{
	size_t n = 0, i, k = 0;
	char **env;

	for (i = 0; environ && environ[i]; i++)
		n++;
	if (!(env = calloc(n + nextra + 1, sizeof *env)))
		return VG_ERR_NOMEM;
	for (i = 0; environ && environ[i]; i++)
		if (vg_str_has_prefix(environ[i], "VEGA_") || vg_str_has_prefix(environ[i], "PATH="))
			env[k++] = environ[i];
	for (i = 0; i < nextra; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	*out = env;
	return VG_OK;
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
	char *extra[VG_DISPATCH_ENV_EXTRA], pidbuf[24];
	size_t n = 0, nextra = 0, i;
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
	if ((err = vg_dispatch_env(scan_id, attempt, extra, &nextra)) != VG_OK)
		goto out;
	if (nextra > VG_DISPATCH_ENV_EXTRA) {
		err = VG_ERR_INTERNAL;
		nextra = VG_DISPATCH_ENV_EXTRA;
		goto out;
	}
	if ((err = runner_env(extra, nextra, &envp)) != VG_OK)
		goto out;
	err = vg_proc_spawn_detached(argv, envp,
	    runner_log(log_path, sizeof log_path) ? log_path : VG_PROC_LOG_INHERIT, &child);
out:
	free(envp);
	vg_dispatch_env_free(extra, nextra);
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
