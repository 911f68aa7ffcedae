/*
 * fuzz_request.c - fuzz target for reading and rewriting client request
 * bodies.  The first byte picks the dialect.  A body that reads must
 * rewrite, and the rewritten body must read back with the cap that was
 * set and the same model.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum vg_llm_api api;
	struct vg_llm_request r, again;
	json_t *root = NULL;
	const char *field = NULL;
	char *out = NULL;
	size_t len = 0;
	int64_t cap;

	if (size < 1)
		return 0;
	api = (data[0] & 1) ? VG_LLM_API_RESPONSES : VG_LLM_API_CHAT;
	if (vg_llm_request_parse(api, (const char *)data + 1, size - 1, &r, &root, &field) != VG_OK) {
		if (root)
			abort();
		return 0;
	}
	if (field || !vg_llm_model_name_valid(r.model) || r.output_cap < 0 ||
	    r.output_cap > VG_LLM_MAX_TOKENS)
		abort();
	cap = r.output_cap ? 0 : 1 + (data[0] >> 1);
	if (vg_llm_request_rewrite(root, api, cap, true, &out, &len) != VG_OK)
		abort();
	if (vg_llm_request_parse(api, out, len, &again, NULL, NULL) != VG_OK ||
	    strcmp(again.model, r.model) != 0 || again.stream != r.stream ||
	    again.output_cap != (cap ? cap : r.output_cap) ||
	    (api == VG_LLM_API_CHAT && !again.include_usage))
		abort();
	free(out);
	json_decref(root);
	return 0;
}
