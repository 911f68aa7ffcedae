/*
 * request.h - what the proxy reads from a client's request body before
 * forwarding it, and the two changes it may make.
 *
 * Read: the model, whether the answer streams, the output cap the client
 * set (Responses: max_output_tokens; Chat Completions: the smaller of
 * max_completion_tokens and the older max_tokens) and, for a Chat stream,
 * whether the client asked for the usage chunk
 * (stream_options.include_usage).
 *
 * Changed, only when needed: the output cap the proxy sets for a client
 * that set none (Responses: max_output_tokens; Chat:
 * max_completion_tokens), and stream_options.include_usage turned on for
 * a Chat stream, so the stream's usage can be read (the proxy then
 * removes the usage chunk the client did not ask for).  Everything else
 * of the body is forwarded as the client wrote it.
 */
#ifndef VG_LLM_REQUEST_H
#define VG_LLM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "llm/prices.h"
#include "llm/usage.h"

struct vg_llm_request {
	enum vg_llm_api api;
	char model[VG_LLM_MODEL_MAX + 1];
	bool stream;
	bool include_usage;     /* Chat: the client set stream_options.include_usage */
	int64_t output_cap;     /* the client's output cap, 0 when it set none */
};

/*
 * Read a request body of n bytes for api.  VG_ERR_INVALID_JSON when it is
 * not a JSON object; VG_ERR_INVALID when a member the proxy relies on is
 * wrong, with *field (may be NULL) naming it: model (required, a model
 * name), stream (a boolean), the caps (positive integers),
 * stream_options (an object) and its include_usage (a boolean).  When
 * root is not NULL, *root receives the parsed body (a new reference) for
 * vg_llm_request_rewrite.
 */
enum vg_err vg_llm_request_parse(enum vg_llm_api api, const char *body, size_t n,
    struct vg_llm_request *out, json_t **root, const char **field);

/*
 * Apply the proxy's changes to root: set the output cap to cap when cap >
 * 0, and turn on stream_options.include_usage when include_usage is set
 * (Chat only).  *body receives the compact JSON (malloc'd, the caller
 * frees) and *len its length.
 */
enum vg_err vg_llm_request_rewrite(json_t *root, enum vg_llm_api api, int64_t cap,
    bool include_usage, char **body, size_t *len);

#endif
