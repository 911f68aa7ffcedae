/*
 * test_llm_prices.c - lib/llm/prices and lib/llm/request: the price table
 * and its errors, exact costs rounded up, dollar amounts, the allow-list,
 * the reservation estimate and the cap it sets, and the request reading
 * and rewriting that feed them.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "llm/prices.h"
#include "llm/request.h"
#include "vt.h"

static const char table_json[] =
    "{\"schema_version\":1,\"currency\":\"USD\",\"models\":{"
    "\"model-a\":{\"input\":2.5,\"cached_input\":1.25,\"output\":10},"
    "\"model-b\":{\"input\":\"0.15\",\"output\":\"0.60\",\"max_output_tokens\":4096},"
    "\"model-c-*\":{\"input\":1,\"output\":2},"
    "\"model-c-long-*\":{\"input\":3,\"output\":4},"
    "\"model-c-exact\":{\"input\":5,\"output\":6}}}";

static void
test_table(void)
{
	struct vg_llm_prices *t = NULL;
	struct vg_llm_price p;
	char msg[256];
	static const struct {
		const char *model;
		enum vg_err err;
		int64_t in, cached, out, max;
	} lookups[] = {
		{"model-a", VG_OK, 2500000, 1250000, 10000000, 0},
		{"model-b", VG_OK, 150000, 150000, 600000, 4096},   /* cached defaults to input */
		{"model-c-1", VG_OK, 1000000, 1000000, 2000000, 0},
		{"model-c-long-2", VG_OK, 3000000, 3000000, 4000000, 0},   /* longer pattern wins */
		{"model-c-exact", VG_OK, 5000000, 5000000, 6000000, 0},    /* exact name wins */
		{"model-c-", VG_OK, 1000000, 1000000, 2000000, 0},
		{"model-c", VG_ERR_NOT_FOUND, 0, 0, 0, 0},
		{"model-a-2024", VG_ERR_NOT_FOUND, 0, 0, 0, 0},   /* exact names are exact */
		{"model-", VG_ERR_NOT_FOUND, 0, 0, 0, 0},
	};
	size_t i;

	VT_EQ_INT(vg_llm_prices_parse(table_json, strlen(table_json), &t, msg, sizeof msg), VG_OK,
	    "price table parses");
	VT_EQ_INT(vg_llm_prices_count(t), 5, "five entries");
	for (i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
		VT_EQ_INT(vg_llm_prices_lookup(t, lookups[i].model, &p), lookups[i].err, lookups[i].model);
		VT_OK(p.input == lookups[i].in && p.cached_input == lookups[i].cached &&
		    p.output == lookups[i].out && p.max_output_tokens == lookups[i].max, lookups[i].model);
	}
	VT_EQ_INT(vg_llm_prices_lookup(NULL, "model-a", &p), VG_ERR_NOT_FOUND, "no table");
	vg_llm_prices_free(t);
	vg_llm_prices_free(NULL);
}

static void
test_table_errors(void)
{
	static const struct {
		const char *json;
		const char *msg_has;
	} bad[] = {
		{"[]", "not a JSON object"},
		{"{\"models\":", "not a JSON object"},
		{"{}", "models: an object"},
		{"{\"models\":[]}", "models: an object"},
		{"{\"modles\":{}}", "modles: unknown field"},
		{"{\"schema_version\":2,\"models\":{}}", "schema_version"},
		{"{\"currency\":\"EUR\",\"models\":{}}", "currency"},
		{"{\"models\":{\"m\":{\"input\":1}}}", "models.m: \"input\" and \"output\" are required"},
		{"{\"models\":{\"m\":{\"output\":1}}}", "are required"},
		{"{\"models\":{\"m\":{\"input\":1,\"output\":1,\"ouptut\":2}}}", "models.m.ouptut: unknown"},
		{"{\"models\":{\"m\":{\"input\":-1,\"output\":1}}}", "models.m.input"},
		{"{\"models\":{\"m\":{\"input\":0.0000001,\"output\":1}}}", "six decimals"},
		{"{\"models\":{\"m\":{\"input\":\"1.0000001\",\"output\":1}}}", "models.m.input"},
		{"{\"models\":{\"m\":{\"input\":\"1,5\",\"output\":1}}}", "models.m.input"},
		{"{\"models\":{\"m\":{\"input\":100001,\"output\":1}}}", "models.m.input"},
		{"{\"models\":{\"m\":{\"input\":true,\"output\":1}}}", "models.m.input"},
		{"{\"models\":{\"m\":{\"input\":1,\"output\":1,\"max_output_tokens\":0}}}", "max_output_tokens"},
		{"{\"models\":{\"m\":5}}", "models.m: an object"},
		{"{\"models\":{\"a b\":{\"input\":1,\"output\":1}}}", "not a model name"},
		{"{\"models\":{\"a*b\":{\"input\":1,\"output\":1}}}", "not a model name"},
		{"{\"models\":{\"\":{\"input\":1,\"output\":1}}}", "not a model name"},
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct vg_llm_prices *t = NULL;
		char msg[256] = "";
		enum vg_err err = vg_llm_prices_parse(bad[i].json, strlen(bad[i].json), &t, msg, sizeof msg);

		VT_OK(err != VG_OK && t == NULL, bad[i].json);
		if (!VT_OK(strstr(msg, bad[i].msg_has) != NULL, bad[i].json))
			printf("# message: %s\n", msg);
		vg_llm_prices_free(t);
	}
}

static void
test_table_file(void)
{
	char dir[] = "/tmp/vg-llm-prices-XXXXXX", path[256], msg[256];
	struct vg_llm_prices *t = NULL;
	FILE *f;

	VT_OK(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/prices.json", dir);
	f = fopen(path, "w");
	fputs(table_json, f);
	fclose(f);
	VT_EQ_INT(vg_llm_prices_load(path, &t, msg, sizeof msg), VG_OK, "table from a file");
	VT_EQ_INT(vg_llm_prices_count(t), 5, "all of it");
	vg_llm_prices_free(t);
	unlink(path);
	VT_EQ_INT(vg_llm_prices_load(path, &t, msg, sizeof msg), VG_ERR_IO, "missing file");
	VT_OK(strstr(msg, path) != NULL, "the message names the file");
	rmdir(dir);
}

static void
test_cost(void)
{
	static const struct {
		const char *name;
		struct vg_llm_price p;
		struct vg_llm_usage u;
		int64_t want;
	} cases[] = {
		/* 600 uncached at 2.5 + 400 cached at 1.25 + 500 out at 10 = 1500 + 500 + 5000;
		 * reasoning (200) is inside the output, not added again */
		{"cached and reasoning counted once", {2500000, 1250000, 10000000, 0},
		    {1000, 400, 500, 200}, 7000},
		{"no cache price: cached at the input price", {2000000, 2000000, 0, 0},
		    {100, 100, 0, 0}, 200},
		{"a fraction rounds up", {150000, 150000, 600000, 0}, {1, 0, 0, 0}, 1},
		{"exact micro-USD stays", {1000000, 1000000, 1000000, 0}, {3, 0, 4, 0}, 7},
		{"rounded once over the sum", {333333, 0, 333334, 0}, {3, 0, 3, 0}, 3},
		{"just under a micro-USD", {333333, 0, 0, 0}, {3, 0, 0, 0}, 1},
		{"nothing used", {2500000, 1250000, 10000000, 0}, {0, 0, 0, 0}, 0},
		{"free model", {0, 0, 0, 0}, {1000000, 0, 1000000, 0}, 0},
		{"the largest counts at the largest price", {100000000000, 100000000000, 100000000000, 0},
		    {1000000000000, 0, 1000000000000, 0}, 200000000000000000},
		{"cached above input is cut", {1000000, 0, 0, 0}, {10, 20, 0, 0}, 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		VT_EQ_INT(vg_llm_cost_microusd(&cases[i].p, &cases[i].u), cases[i].want, cases[i].name);
}

static void
test_usd(void)
{
	static const struct {
		const char *s;
		enum vg_err err;
		int64_t micro;
		const char *formatted;
	} cases[] = {
		{"2.50", VG_OK, 2500000, "2.50"},
		{"0", VG_OK, 0, "0.00"},
		{"10", VG_OK, 10000000, "10.00"},
		{"0.000001", VG_OK, 1, "0.000001"},
		{"0.000125", VG_OK, 125, "0.000125"},
		{"1.5", VG_OK, 1500000, "1.50"},
		{"1000000000", VG_OK, 1000000000000000, "1000000000.00"},
		{"1000000000.01", VG_ERR_INVALID, 0, NULL},
		{"1000000001", VG_ERR_INVALID, 0, NULL},
		{"0.0000001", VG_ERR_INVALID, 0, NULL},
		{"-1", VG_ERR_INVALID, 0, NULL},
		{"+1", VG_ERR_INVALID, 0, NULL},
		{"", VG_ERR_INVALID, 0, NULL},
		{".5", VG_ERR_INVALID, 0, NULL},
		{"5.", VG_ERR_INVALID, 0, NULL},
		{"1e3", VG_ERR_INVALID, 0, NULL},
		{" 1", VG_ERR_INVALID, 0, NULL},
		{"1 ", VG_ERR_INVALID, 0, NULL},
		{"2,50", VG_ERR_INVALID, 0, NULL},
		{"$2", VG_ERR_INVALID, 0, NULL},
		{"99999999999999999999999", VG_ERR_INVALID, 0, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t m = -1;
		char out[VG_LLM_USD_LEN];

		VT_EQ_INT(vg_llm_usd_parse(cases[i].s, &m), cases[i].err, cases[i].s);
		VT_EQ_INT(m, cases[i].micro, cases[i].s);
		if (cases[i].formatted) {
			vg_llm_usd_format(m, out);
			VT_EQ_STR(out, cases[i].formatted, cases[i].s);
		}
	}
}

static void
test_allow(void)
{
	struct vg_llm_prices *t = NULL;
	struct vg_llm_allow *a = NULL, *empty = NULL;
	char msg[128];
	static const struct {
		const char *model;
		int with_list, with_table;
	} cases[] = {
		{"model-x", 1, 0},
		{"model-y-mini", 1, 0},     /* by the pattern model-y-* */
		{"model-y", 0, 0},
		{"model-a", 0, 1},          /* only in the table */
		{"model-c-9", 0, 1},
		{"model-*", 0, 0},          /* a pattern is not a model */
		{"", 0, 0},
		{"model x", 0, 0},
	};
	size_t i;

	vg_llm_prices_parse(table_json, strlen(table_json), &t, msg, sizeof msg);
	VT_EQ_INT(vg_llm_allow_parse(" model-x ,, model-y-*\t,", &a), VG_OK, "allow-list parses");
	VT_EQ_INT(vg_llm_allow_parse("  ", &empty), VG_OK, "blank list is empty");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[96];

		snprintf(name, sizeof name, "listed: %s", cases[i].model);
		VT_EQ_INT(vg_llm_model_allowed(a, t, cases[i].model), cases[i].with_list, name);
		snprintf(name, sizeof name, "empty list, the table decides: %s", cases[i].model);
		VT_EQ_INT(vg_llm_model_allowed(empty, t, cases[i].model), cases[i].with_table, name);
		snprintf(name, sizeof name, "neither: %s refused", cases[i].model);
		VT_EQ_INT(vg_llm_model_allowed(NULL, NULL, cases[i].model), 0, name);
	}
	vg_llm_allow_free(a);
	a = NULL;
	VT_EQ_INT(vg_llm_allow_parse("good,bad name", &a), VG_ERR_INVALID, "a space in a name");
	VT_OK(a == NULL, "nothing returned");
	VT_EQ_INT(vg_llm_allow_parse("a*b", &a), VG_ERR_INVALID, "a star inside a name");
	vg_llm_allow_free(empty);
	vg_llm_prices_free(t);
}

static void
test_estimate(void)
{
	/* 2 USD per million input, 0.5 cached, 8 output */
	static const struct vg_llm_price p = {2000000, 500000, 8000000, 0};
	static const struct vg_llm_price p_max = {2000000, 500000, 8000000, 4096};
	static const struct vg_llm_price p_tiny = {150000, 150000, 0, 0};
	static const struct {
		const char *name;
		const struct vg_llm_price *price;
		struct vg_llm_budget lim;
		struct vg_llm_spent spent;
		size_t body;
		int64_t client_cap;
		enum vg_err err;
		enum vg_llm_limit refused;
		int64_t in, out, tokens, micro;
		int cap_set;
	} cases[] = {
		{"unlimited, no cap: none set", &p, {0, 0, 0}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 0, 250, 500, 0},
		{"input rounds up", &p, {0, 0, 0}, {0, 0, 0}, 1001, 0, VG_OK, 0, 251, 0, 251, 502, 0},
		{"client cap is reserved", &p, {0, 0, 0}, {0, 0, 0}, 1000, 100,
		    VG_OK, 0, 250, 100, 350, 1300, 0},
		{"token limit sets the cap to what remains", &p, {0, 10000, 0}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 9750, 10000, 78500, 1},
		{"cap never above the default ceiling", &p, {0, 1000000, 0}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, VG_LLM_DEFAULT_OUTPUT_CAP, 250 + VG_LLM_DEFAULT_OUTPUT_CAP,
		    500 + 8 * VG_LLM_DEFAULT_OUTPUT_CAP, 1},
		{"cap never above the model's maximum", &p_max, {0, 1000000, 0}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 4096, 4346, 500 + 8 * 4096, 1},
		{"spent tokens shrink the cap", &p, {0, 10000, 0}, {3, 9000, 0}, 1000, 0,
		    VG_OK, 0, 250, 750, 1000, 6500, 1},
		{"no room left after the input", &p, {0, 10000, 0}, {0, 9750, 0}, 1000, 0,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_TOKENS, 250, 0, 0, 0, 0},
		{"cost limit sets the cap", &p, {0, 0, 100000}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 12437, 12687, 99996, 1},
		{"cost and token limits: the smaller cap", &p, {0, 5000, 100000}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 4750, 5000, 38500, 1},
		{"input alone over the cost limit", &p, {0, 0, 100000}, {0, 0, 99600}, 1000, 0,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_COST, 250, 0, 0, 0, 0},
		{"room for less than one output token", &p, {0, 0, 100000}, {0, 0, 99495}, 1000, 0,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_COST, 250, 0, 0, 0, 0},
		{"client cap over the token limit", &p, {0, 1200, 0}, {0, 0, 0}, 1000, 1000,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_TOKENS, 250, 1000, 1250, 8500, 0},
		{"client cap exactly at the token limit", &p, {0, 1250, 0}, {0, 0, 0}, 1000, 1000,
		    VG_OK, 0, 250, 1000, 1250, 8500, 0},
		{"client cap over the cost limit", &p, {0, 0, 8499}, {0, 0, 0}, 1000, 1000,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_COST, 250, 1000, 1250, 8500, 0},
		{"client cap exactly at the cost limit", &p, {0, 0, 8500}, {0, 0, 0}, 1000, 1000,
		    VG_OK, 0, 250, 1000, 1250, 8500, 0},
		{"request limit reached", &p, {10, 0, 0}, {10, 0, 0}, 1000, 0,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_REQUESTS, 250, 0, 0, 0, 0},
		{"last request allowed", &p, {10, 0, 0}, {9, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, 0, 250, 500, 0},
		{"unpriced model under a cost limit", NULL, {0, 0, 1000000}, {0, 0, 0}, 1000, 0,
		    VG_ERR_QUOTA, VG_LLM_LIMIT_COST, 250, 0, 0, 0, 0},
		{"unpriced model without a cost limit", NULL, {0, 100000, 0}, {0, 0, 0}, 1000, 0,
		    VG_OK, 0, 250, VG_LLM_DEFAULT_OUTPUT_CAP, 250 + VG_LLM_DEFAULT_OUTPUT_CAP, 0, 1},
		{"free output: the cost limit does not cap it", &p_tiny, {0, 0, 1000000}, {0, 0, 0}, 4, 0,
		    VG_OK, 0, 1, VG_LLM_DEFAULT_OUTPUT_CAP, 1 + VG_LLM_DEFAULT_OUTPUT_CAP, 1, 1},
		{"empty body", &p, {0, 0, 0}, {0, 0, 0}, 0, 0, VG_OK, 0, 0, 0, 0, 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_llm_estimate e;

		VT_EQ_INT(vg_llm_estimate(cases[i].price, &cases[i].lim, &cases[i].spent, cases[i].body,
		    cases[i].client_cap, &e), cases[i].err, cases[i].name);
		VT_EQ_INT(e.refused, cases[i].refused, cases[i].name);
		VT_EQ_INT(e.input_tokens, cases[i].in, cases[i].name);
		if (cases[i].err == VG_OK || cases[i].client_cap) {
			VT_EQ_INT(e.output_tokens, cases[i].out, cases[i].name);
			VT_EQ_INT(e.tokens, cases[i].tokens, cases[i].name);
			VT_EQ_INT(e.microusd, cases[i].micro, cases[i].name);
		}
		VT_EQ_INT(e.cap_set, cases[i].cap_set, cases[i].name);
		/* Whatever is accepted fits every limit. */
		if (cases[i].err == VG_OK) {
			VT_OK(!cases[i].lim.tokens || cases[i].spent.tokens + e.tokens <= cases[i].lim.tokens,
			    cases[i].name);
			VT_OK(!cases[i].lim.microusd ||
			    cases[i].spent.microusd + e.microusd <= cases[i].lim.microusd, cases[i].name);
		}
	}
	{
		struct vg_llm_budget lim = {0, 0, 0};
		struct vg_llm_spent bad = {-1, 0, 0};
		struct vg_llm_estimate e;

		VT_EQ_INT(vg_llm_estimate(&p, &lim, &bad, 10, 0, &e), VG_ERR_INVALID, "negative spend");
	}
}

static void
test_quota_message(void)
{
	struct vg_llm_budget lim = {10, 50000, 2500000};
	char msg[200];

	vg_llm_quota_message(&lim, VG_LLM_LIMIT_COST, msg, sizeof msg);
	VT_EQ_STR(msg, "This scan's LLM budget is spent: the limit is 2.50 USD per scan.", "cost");
	vg_llm_quota_message(&lim, VG_LLM_LIMIT_TOKENS, msg, sizeof msg);
	VT_EQ_STR(msg, "This scan's LLM budget is spent: the limit is 50000 tokens per scan.", "tokens");
	vg_llm_quota_message(&lim, VG_LLM_LIMIT_REQUESTS, msg, sizeof msg);
	VT_EQ_STR(msg, "This scan's LLM budget is spent: the limit is 10 requests per scan.", "requests");
}

static void
test_request(void)
{
	static const struct {
		const char *name;
		enum vg_llm_api api;
		const char *body;
		enum vg_err err;
		const char *field, *model;
		int stream, include_usage;
		int64_t cap;
	} cases[] = {
		{"responses", VG_LLM_API_RESPONSES,
		    "{\"model\":\"m-1\",\"input\":\"hi\",\"stream\":true,\"max_output_tokens\":300}",
		    VG_OK, NULL, "m-1", 1, 0, 300},
		{"responses without cap", VG_LLM_API_RESPONSES, "{\"model\":\"m\",\"input\":\"hi\"}",
		    VG_OK, NULL, "m", 0, 0, 0},
		{"chat with include_usage", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"messages\":[],\"stream\":true,"
		    "\"stream_options\":{\"include_usage\":true}}", VG_OK, NULL, "m", 1, 1, 0},
		{"chat: the smaller of two caps", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"max_tokens\":50,\"max_completion_tokens\":80}", VG_OK, NULL, "m", 0, 0, 50},
		{"chat: max_tokens alone", VG_LLM_API_CHAT, "{\"model\":\"m\",\"max_tokens\":70}",
		    VG_OK, NULL, "m", 0, 0, 70},
		{"chat: responses' cap name is not a chat cap", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"max_output_tokens\":70}", VG_OK, NULL, "m", 0, 0, 0},
		{"nulls are absent", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"stream\":null,\"max_tokens\":null,\"stream_options\":null}",
		    VG_OK, NULL, "m", 0, 0, 0},
		{"no model", VG_LLM_API_CHAT, "{\"messages\":[]}", VG_ERR_INVALID, "model", "", 0, 0, 0},
		{"model not a string", VG_LLM_API_CHAT, "{\"model\":5}", VG_ERR_INVALID, "model", "", 0, 0, 0},
		{"model with a space", VG_LLM_API_RESPONSES, "{\"model\":\"a b\"}", VG_ERR_INVALID, "model",
		    "", 0, 0, 0},
		{"stream not a boolean", VG_LLM_API_RESPONSES, "{\"model\":\"m\",\"stream\":\"yes\"}",
		    VG_ERR_INVALID, "stream", "m", 0, 0, 0},
		{"zero cap", VG_LLM_API_RESPONSES, "{\"model\":\"m\",\"max_output_tokens\":0}",
		    VG_ERR_INVALID, "max_output_tokens", "m", 0, 0, 0},
		{"fractional cap", VG_LLM_API_CHAT, "{\"model\":\"m\",\"max_tokens\":1.5}",
		    VG_ERR_INVALID, "max_tokens", "m", 0, 0, 0},
		{"bad stream_options", VG_LLM_API_CHAT, "{\"model\":\"m\",\"stream_options\":true}",
		    VG_ERR_INVALID, "stream_options", "m", 0, 0, 0},
		{"bad include_usage", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"stream_options\":{\"include_usage\":1}}",
		    VG_ERR_INVALID, "stream_options.include_usage", "m", 0, 0, 0},
		{"not an object", VG_LLM_API_CHAT, "[1]", VG_ERR_INVALID_JSON, NULL, "", 0, 0, 0},
		{"not JSON", VG_LLM_API_CHAT, "{\"model\":", VG_ERR_INVALID_JSON, NULL, "", 0, 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_llm_request r;
		const char *field = "unset";

		VT_EQ_INT(vg_llm_request_parse(cases[i].api, cases[i].body, strlen(cases[i].body), &r,
		    NULL, &field), cases[i].err, cases[i].name);
		VT_EQ_STR(field, cases[i].field, cases[i].name);
		VT_EQ_STR(r.model, cases[i].model, cases[i].name);
		VT_OK(r.stream == (bool)cases[i].stream && r.include_usage == (bool)cases[i].include_usage &&
		    r.output_cap == cases[i].cap, cases[i].name);
	}
}

static void
test_rewrite(void)
{
	static const struct {
		const char *name;
		enum vg_llm_api api;
		const char *body;
		int64_t cap;
		int include_usage;
		const char *want;
	} cases[] = {
		{"responses cap", VG_LLM_API_RESPONSES, "{\"model\":\"m\",\"input\":\"x\"}", 500, 0,
		    "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":500}"},
		{"chat cap and usage", VG_LLM_API_CHAT, "{\"model\":\"m\",\"stream\":true}", 64, 1,
		    "{\"model\":\"m\",\"stream\":true,\"max_completion_tokens\":64,"
		    "\"stream_options\":{\"include_usage\":true}}"},
		{"chat usage beside other options", VG_LLM_API_CHAT,
		    "{\"model\":\"m\",\"stream_options\":{\"include_obfuscation\":false}}", 0, 1,
		    "{\"model\":\"m\",\"stream_options\":{\"include_obfuscation\":false,\"include_usage\":true}}"},
		{"responses has no usage option", VG_LLM_API_RESPONSES, "{\"model\":\"m\"}", 0, 1,
		    "{\"model\":\"m\"}"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_llm_request r, again;
		json_t *root = NULL;
		char *out = NULL;
		size_t len = 0;

		vg_llm_request_parse(cases[i].api, cases[i].body, strlen(cases[i].body), &r, &root, NULL);
		VT_EQ_INT(vg_llm_request_rewrite(root, cases[i].api, cases[i].cap, cases[i].include_usage,
		    &out, &len), VG_OK, cases[i].name);
		VT_EQ_STR(out, cases[i].want, cases[i].name);
		VT_EQ_INT(len, strlen(cases[i].want), cases[i].name);
		/* What was set reads back as the client's own. */
		vg_llm_request_parse(cases[i].api, out, len, &again, NULL, NULL);
		VT_EQ_INT(again.output_cap, cases[i].cap, cases[i].name);
		free(out);
		json_decref(root);
	}
}

int
main(void)
{
	test_table();
	test_table_errors();
	test_table_file();
	test_cost();
	test_usd();
	test_allow();
	test_estimate();
	test_quota_message();
	test_request();
	test_rewrite();
	return vt_done();
}
