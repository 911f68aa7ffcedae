/*
 * proxy.h - the LLM proxy's handlers (vega-llm-proxy.fcgi): the
 * OpenAI-compatible POST /v1/responses, POST /v1/chat/completions and
 * GET /v1/models, each for the holder of a scan token.
 *
 * Per request:
 *   1. The bearer token is verified with the public key of
 *      VEGA_LLM_TOKEN_VERIFY_KEY_FILE (scantoken.h), then the store is
 *      asked: the scan exists, is claimed or running, no cancellation was
 *      requested, and the token's attempt is the scan's.  Otherwise 401.
 *   2. The body (at most VEGA_LLM_MAX_REQUEST_BYTES, else 413) is read
 *      (request.h); its model must be allowed (prices.h), else 400.
 *   3. The scan's limits (vg_llm_scan_limits) and its totals give an
 *      estimate (prices.h); when the client set no output cap, one is set
 *      from what remains.  The estimate is reserved in the store's one
 *      atomic step (vg_store_llm_reserve); refused: 429 with error.code
 *      "insufficient_quota" and the limit in the message.
 *   4. The request goes to the provider (forward.h) and its answer back to
 *      the client as it arrives, every piece flushed (relay.h).
 *   5. The reservation is settled: to the answer's usage, priced; to the
 *      reservation itself when a successful answer ended without usage;
 *      "failed" (no charge) when the provider answered an error or no
 *      answer could be had.
 *
 * Errors this listener makes itself have the shape clients of the
 * provider's API read, plus the envelope's own members:
 *   {"schema_version":1,"error":{"message","type","param":null,"code",
 *    "retryable","details":{}}}
 * The provider's own error answers are passed through as they came.
 *
 * The provider key is read once, at start, and only forward.c ever holds
 * it: it is never logged, answered or put in an error.
 */
#ifndef VG_LLM_PROXY_H
#define VG_LLM_PROXY_H

#include "core/err.h"
#include "http/http.h"
#include "store/store.h"

/*
 * The program's init hook: validates VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN,
 * VEGA_LLM_ALLOWED_MODELS and the price table, loads the verification key
 * and the provider key.  A setting that is given but wrong is
 * VG_ERR_INVALID (logged, naming it: the program exits 2).  Without a
 * verification key or a provider key file the proxy still starts (health
 * routes answer) but every LLM route answers 503: not configured.
 * Calling it again reloads (tests).
 */
enum vg_err vg_llm_proxy_init(void);
/* Release what init loaded (tests, leak checkers). */
void vg_llm_proxy_shutdown(void);

/* The authentication hook: the scan token and the scan's state (step 1);
 * answers 401 itself. */
enum vg_err vg_llm_proxy_authenticate(struct vg_http_req *req, enum vg_auth need);

enum vg_err vg_llm_proxy_responses(struct vg_http_req *req);
enum vg_err vg_llm_proxy_chat(struct vg_http_req *req);
enum vg_err vg_llm_proxy_models(struct vg_http_req *req);

/*
 * The limits in force for a scan whose options are the JSON object text
 * options (may be NULL or ""): the VEGA_LLM_PROXY_MAX_*_PER_SCAN settings,
 * narrowed by the scan's options
 *   {"llm_limits":{"max_requests":N,"max_tokens":N,"max_cost_usd":"2.50"}}
 * (max_cost_usd a number or a decimal string).  A scan may only tighten a
 * limit the operator set: a value above a non-zero setting counts as the
 * setting; under an unlimited (0) setting it is the limit.  A member that
 * is not a positive count or amount is ignored (the settings apply).
 * VG_ERR_INVALID only when the cost setting itself is wrong.
 */
enum vg_err vg_llm_scan_limits(const char *options, struct vg_llm_limits *out);

#endif
