/*
 * runner_env.c - the scan token and proxy URL a runner's environment gets
 * (see runner_env.h).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "core/log.h"
#include "core/settings.h"
#include "llm/runner_env.h"
#include "llm/scantoken.h"

/* The names each value goes under, in order. */
static const struct {
	const char *name;
	bool token;          /* the token, else the proxy's base URL */
} entries[VG_LLM_RUNNER_ENV_MAX] = {
	{"OPENAI_API_KEY", true},
	{"VEGA_LLM_SCAN_TOKEN", true},
	{"OPENAI_BASE_URL", false},
	{"VEGA_LLM_PROXY_BASE_URL", false},
};

void
vg_llm_runner_env_free(char *env[VG_LLM_RUNNER_ENV_MAX], size_t count)
{
	size_t i;

	for (i = 0; i < count && i < VG_LLM_RUNNER_ENV_MAX; i++) {
		if (env[i])
			OPENSSL_cleanse(env[i], strlen(env[i]));
		free(env[i]);
		env[i] = NULL;
	}
}

/*
 * Mint a token for attempt of scan_id and build the entries (see
 * runner_env.h).  The key is read per call: dispatches are rare, and a
 * rotated key file takes effect at once.
 */
enum vg_err
vg_llm_runner_env(const char *scan_id, int64_t attempt, int64_t now,
    char *env[VG_LLM_RUNNER_ENV_MAX], size_t *count)
{
	const char *path = vg_cfg_str(VG_SET_LLM_TOKEN_SIGNING_KEY_FILE);
	const char *url = vg_cfg_str(VG_SET_LLM_PROXY_BASE_URL);
	struct vg_scantoken_key *key = NULL;
	char *token = NULL, msg[256];
	int64_t ttl = vg_cfg_int(VG_SET_LLM_TOKEN_TTL_SECONDS);
	size_t i, n = 0, len;
	enum vg_err err = VG_OK;

	*count = 0;
	for (i = 0; i < VG_LLM_RUNNER_ENV_MAX; i++)
		env[i] = NULL;
	if (!path || !*path)
		return VG_OK;
	if (ttl > vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS))
		ttl = vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS);
	if ((err = vg_scantoken_key_load(true, path, &key, msg, sizeof msg)) != VG_OK) {
		vg_log(VG_LOG_ERROR, "config_invalid", "setting", "VEGA_LLM_TOKEN_SIGNING_KEY_FILE",
		    "message", msg, NULL);
		goto out;
	}
	if ((err = vg_scantoken_mint(key, scan_id, attempt, now, ttl, &token, NULL)) != VG_OK)
		goto out;
	for (n = 0; n < VG_LLM_RUNNER_ENV_MAX; n++) {
		const char *v = entries[n].token ? token : url;

		len = strlen(entries[n].name) + 1 + strlen(v) + 1;
		if (!(env[n] = malloc(len))) {
			err = VG_ERR_NOMEM;
			goto out;
		}
		snprintf(env[n], len, "%s=%s", entries[n].name, v);
	}
	*count = n;
out:
	if (err != VG_OK)
		vg_llm_runner_env_free(env, VG_LLM_RUNNER_ENV_MAX);
	if (token) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	vg_scantoken_key_free(key);
	return err;
}
