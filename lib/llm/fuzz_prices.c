/*
 * fuzz_prices.c - fuzz target for the price table, dollar amounts and the
 * allow-list.  Whatever parses prices every model it names within bounds.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm/prices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_llm_prices *t = NULL;
	struct vg_llm_allow *a = NULL;
	struct vg_llm_price p;
	struct vg_llm_usage u = {1000000, 500000, 1000000, 0};
	char msg[256], *s;
	int64_t m;

	if (vg_llm_prices_parse((const char *)data, size, &t, msg, sizeof msg) == VG_OK) {
		if (vg_llm_prices_lookup(t, "model", &p) == VG_OK &&
		    (p.input < 0 || p.output < 0 || p.cached_input < 0 ||
		    vg_llm_cost_microusd(&p, &u) < 0))
			abort();
	} else if (t || !memchr(msg, '\0', sizeof msg)) {
		abort();
	}
	vg_llm_prices_free(t);
	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vg_llm_usd_parse(s, &m) == VG_OK && (m < 0 || m > (int64_t)VG_LLM_MAX_USD * 1000000))
		abort();
	if (vg_llm_allow_parse(s, &a) == VG_OK)
		(void)vg_llm_model_allowed(a, NULL, "model");
	vg_llm_allow_free(a);
	free(s);
	return 0;
}
