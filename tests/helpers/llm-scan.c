/*
 * llm-scan - the LLM proxy end-to-end suites' hand on the store (the same
 * VEGA_* settings as the stack):
 *
 *   llm-scan create [OPTIONS_JSON]   a claimed scan; prints its id
 *   llm-scan env SCAN                the runner's entries (runner_env.h),
 *                                    one NAME=value a line
 *   llm-scan mint SCAN ATTEMPT TTL [AGE]
 *                                    a token issued AGE seconds ago
 *   llm-scan cancel|finish|reclaim SCAN
 *   llm-scan usage SCAN              {"totals":{...},"records":[...]}
 *
 * Exit 0, or 1 with a message on stderr.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/settings.h"
#include "core/log.h"
#include "llm/runner_env.h"
#include "llm/scantoken.h"
#include "../unit/llm_fixture.h"

static int
fail(const char *what, enum vg_err err)
{
	fprintf(stderr, "llm-scan: %s: %s\n", what, vg_err_message(err));
	return 1;
}

static int64_t
num(const char *s)
{
	int64_t v = 0;

	if (vg_str_to_i64(s, -1000000000, 1000000000, &v) != VG_OK) {
		fprintf(stderr, "llm-scan: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

/* One command against the open store s; the exit status. */
static int
run(struct vg_store *s, int argc, char **argv)
{
	static struct vg_scan sc;
	char id[VG_UUID_LEN + 1], *env[VG_LLM_RUNNER_ENV_MAX], *tok = NULL, msg[256];
	const char *cmd = argc > 1 ? argv[1] : "";
	struct vg_scantoken_key *key = NULL;
	struct vg_llm_totals t;
	json_t *items = NULL;
	size_t n, i;
	enum vg_err err;
	int64_t now = vg_time_now_us() / 1000000;

	if (strcmp(cmd, "create") == 0) {
		if ((err = llm_fixture_scan(s, argc > 2 ? argv[2] : NULL, id)) != VG_OK)
			return fail("create", err);
		printf("%s\n", id);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: llm-scan create|env|mint|cancel|finish|reclaim|usage ...\n");
		return 2;
	}
	if (strcmp(cmd, "env") == 0) {
		if ((err = vg_store_scan_get(s, argv[2], &sc)) != VG_OK)
			return fail("scan", err);
		if ((err = vg_llm_runner_env(sc.id, sc.attempt, now, env, &n)) != VG_OK)
			return fail("runner env", err);
		for (i = 0; i < n; i++)
			printf("%s\n", env[i]);
		vg_llm_runner_env_free(env, n);
		return 0;
	}
	if (strcmp(cmd, "mint") == 0 && argc >= 5) {
		if ((err = vg_scantoken_key_load(true, vg_cfg_str(VG_SET_LLM_TOKEN_SIGNING_KEY_FILE),
		    &key, msg, sizeof msg)) != VG_OK) {
			fprintf(stderr, "llm-scan: %s\n", msg);
			return 1;
		}
		if ((err = vg_scantoken_mint(key, argv[2], num(argv[3]),
		    now - (argc > 5 ? num(argv[5]) : 0), num(argv[4]), &tok, NULL)) != VG_OK)
			return fail("mint", err);
		printf("%s\n", tok);
		free(tok);
		vg_scantoken_key_free(key);
		return 0;
	}
	if (strcmp(cmd, "cancel") == 0)
		err = vg_store_scan_cancel(s, argv[2], vg_time_now_us(), &sc);
	else if (strcmp(cmd, "finish") == 0)
		err = llm_fixture_finish(s, argv[2]);
	else if (strcmp(cmd, "reclaim") == 0)
		err = llm_fixture_reclaim(s, argv[2]);
	else if (strcmp(cmd, "usage") == 0) {
		if ((err = vg_store_llm_totals(s, argv[2], &t)) != VG_OK ||
		    (err = vg_store_llm_list(s, argv[2], &items)) != VG_OK)
			return fail("usage", err);
		json_t *o = json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o}", "totals",
		    "requests", (json_int_t)t.requests, "input_tokens", (json_int_t)t.input_tokens,
		    "cached_input_tokens", (json_int_t)t.cached_input_tokens,
		    "output_tokens", (json_int_t)t.output_tokens,
		    "reasoning_tokens", (json_int_t)t.reasoning_tokens,
		    "cost_microusd", (json_int_t)t.cost_microusd,
		    "reserved_tokens", (json_int_t)t.reserved_tokens,
		    "reserved_microusd", (json_int_t)t.reserved_microusd, "records", items);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

		printf("%s\n", text ? text : "null");
		free(text);
		json_decref(o);
		return 0;
	} else {
		fprintf(stderr, "llm-scan: unknown command %s\n", cmd);
		return 2;
	}
	if (err != VG_OK)
		return fail(cmd, err);
	return 0;
}

int
main(int argc, char **argv)
{
	struct vg_store *s = NULL;
	enum vg_err err;
	int rc;

	vg_settings_load_or_exit("llm-scan");
	vg_log_init("llm-scan");
	if ((err = vg_store_open(&s)) != VG_OK)
		return fail("store", err);
	rc = run(s, argc, argv);
	vg_store_free(s);
	return rc;
}
