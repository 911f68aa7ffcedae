/*
 * fuzz_usage.c - fuzz target for reading usage from provider answers.
 *
 * The first byte picks the dialect and whether the rest is a whole body
 * or a stream (read through the SSE parser, as the proxy reads it).
 * Whatever the input, the counts stay within their bounds and a detail
 * never exceeds the count it is part of.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include "llm/sse.h"
#include "llm/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	enum vg_llm_api api;
	struct vg_llm_outcome o;
};

static void
check(const struct vg_llm_outcome *o)
{
	const struct vg_llm_usage *u = &o->usage;

	if (u->input_tokens < 0 || u->input_tokens > VG_LLM_MAX_TOKENS ||
	    u->output_tokens < 0 || u->output_tokens > VG_LLM_MAX_TOKENS ||
	    u->cached_input_tokens < 0 || u->cached_input_tokens > u->input_tokens ||
	    u->reasoning_tokens < 0 || u->reasoning_tokens > u->output_tokens ||
	    (!o->have_usage && vg_llm_usage_total(u) != 0) ||
	    o->status[sizeof o->status - 1] || o->response_id[sizeof o->response_id - 1] ||
	    o->model[sizeof o->model - 1])
		abort();
}

static enum vg_err
on_block(const struct vg_sse_event *ev, void *arg)
{
	struct state *s = arg;
	bool usage_only = false;

	if (ev->dispatch) {
		vg_llm_outcome_event(&s->o, s->api, ev->type, ev->data, ev->data_len, &usage_only);
		if (usage_only && (!s->o.have_usage || s->api != VG_LLM_API_CHAT))
			abort();
		check(&s->o);
	}
	return VG_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	struct vg_sse *p = NULL;

	if (size < 1)
		return 0;
	s.api = (data[0] & 1) ? VG_LLM_API_RESPONSES : VG_LLM_API_CHAT;
	vg_llm_outcome_init(&s.o);
	if (data[0] & 2) {
		vg_llm_outcome_from_body(s.api, (const char *)data + 1, size - 1, &s.o);
		check(&s.o);
		return 0;
	}
	if (vg_sse_new(1 << 16, on_block, &s, &p) != VG_OK)
		return 0;
	vg_sse_feed(p, data + 1, size - 1);
	vg_sse_free(p);
	return 0;
}
