/*
 * usage.h - token usage read from a provider's answers, in both
 * OpenAI-compatible dialects and every form an answer ends in.
 *
 *   Chat Completions:  the "usage" of a non-streaming body; in a stream,
 *                      the "usage" of the chunk sent before "data: [DONE]"
 *                      when stream_options.include_usage is set.  Counts:
 *                      prompt_tokens, completion_tokens,
 *                      prompt_tokens_details.cached_tokens,
 *                      completion_tokens_details.reasoning_tokens.
 *   Responses:         the "usage" of a non-streaming body; in a stream,
 *                      response.usage of the response.completed,
 *                      response.incomplete or response.failed event.
 *                      Counts: input_tokens, output_tokens,
 *                      input_tokens_details.cached_tokens,
 *                      output_tokens_details.reasoning_tokens.
 *
 * Both dialects count cached tokens inside the input and reasoning tokens
 * inside the output, and so does struct vg_llm_usage: the total is input
 * plus output, never plus cached or reasoning again.  A detail larger than
 * the count it belongs to is cut down to it.  A usage object whose two
 * main counts are not non-negative integers (at most VG_LLM_MAX_TOKENS) is
 * not usage: the answer is then treated as having none, and the caller
 * charges its reservation.
 */
#ifndef VG_LLM_USAGE_H
#define VG_LLM_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"

#define VG_LLM_MAX_TOKENS ((int64_t)1000000000000)   /* 10^12: more is not a count */

enum vg_llm_api { VG_LLM_API_CHAT, VG_LLM_API_RESPONSES };

struct vg_llm_usage {
	int64_t input_tokens;         /* all input, cached included */
	int64_t cached_input_tokens;  /* the part of input_tokens read from a cache */
	int64_t output_tokens;        /* all output, reasoning included */
	int64_t reasoning_tokens;     /* the part of output_tokens spent reasoning */
};

/* What the end of an answer said. */
struct vg_llm_outcome {
	bool have_usage;              /* usage holds the provider's counts */
	bool terminal;                /* the answer's final form arrived */
	struct vg_llm_usage usage;
	/* "completed", "incomplete", "failed", or "error" (an error object in
	 * place of an answer, or in the stream); "" while unknown. */
	char status[16];
	char response_id[128];        /* chatcmpl-... or resp_... ("" when absent) */
	char model[128];              /* the model the provider says answered */
};

/* Input plus output: the tokens a budget counts. */
int64_t vg_llm_usage_total(const struct vg_llm_usage *u);

/* Read a usage object of the given dialect into *out.  VG_ERR_INVALID
 * when it is not one (see above); *out is then zeroed. */
enum vg_err vg_llm_usage_from_json(enum vg_llm_api api, json_t *usage, struct vg_llm_usage *out);

/*
 * The outcome of a non-streaming answer body (n bytes).  An error body
 * ({"error":{...}}) gives status "error" and no usage.  VG_ERR_INVALID_JSON
 * when the body is not a JSON object; *out is then empty.
 */
enum vg_err vg_llm_outcome_from_body(enum vg_llm_api api, const char *body, size_t n,
    struct vg_llm_outcome *out);

/* Start watching a stream: an empty outcome. */
void vg_llm_outcome_init(struct vg_llm_outcome *out);

/*
 * Observe one dispatched server-sent event of a stream: type is its event
 * field ("message" when it had none), data its data.  Updates *out: usage
 * when the event carries it, terminal at "[DONE]" (Chat) or at
 * response.completed / response.incomplete / response.failed (Responses).
 * *usage_only (may be NULL) is set when the event is the extra Chat chunk
 * that carries only usage (choices empty), which a proxy that asked for it
 * on the client's behalf removes again.  Data that is not JSON is ignored
 * (VG_OK): the proxy observes, it does not judge the stream.
 */
enum vg_err vg_llm_outcome_event(struct vg_llm_outcome *out, enum vg_llm_api api,
    const char *type, const char *data, size_t n, bool *usage_only);

#endif
