/*
 * prices.h - what a model costs, which models may be used, and how much of
 * a scan's budget a request must reserve before it is forwarded.
 *
 * Money is integer micro-USD (1 USD = 1,000,000), so sums are exact.
 * Prices are kept in micro-USD per million tokens, which is also exact for
 * any price written with up to six decimals of a dollar.  A cost is
 * rounded up to the next micro-USD, once, over the whole request.
 *
 * The price table (VEGA_LLM_PRICES_FILE) is a JSON object:
 *
 *   {
 *     "schema_version": 1,
 *     "currency": "USD",
 *     "models": {
 *       "model-a":   {"input": 1.25, "cached_input": 0.125, "output": 10,
 *                     "max_output_tokens": 128000},
 *       "model-b-*": {"input": "0.40", "output": "1.60"}
 *     }
 *   }
 *
 * Each model gives USD per million tokens: "input" (input tokens not read
 * from a cache), "cached_input" (input tokens read from a cache; the input
 * price when absent) and "output" (all output, reasoning included), as JSON
 * numbers or decimal strings with at most six decimals, from 0 to 100000.
 * "max_output_tokens" (optional) is the largest output cap the model
 * accepts; when the proxy sets a cap for a client that set none, it never
 * sets more (VG_LLM_DEFAULT_OUTPUT_CAP when the table does not say).  A
 * name ending in '*' prices every model starting with what precedes it;
 * an exact name wins over a pattern, and a longer pattern over a shorter.
 * "schema_version" (1) and "currency" ("USD") are optional; other members
 * are refused, so a misspelt field is an error at start-up, not a free
 * model.
 *
 * The allow-list (VEGA_LLM_ALLOWED_MODELS) is a comma-separated list of
 * names, each possibly ending in '*' as above.  When it is empty, the
 * models of the price table are allowed; with neither, no model is.
 *
 * Reservation.  Before forwarding, the proxy reserves an estimate: the
 * input counted as one token per VG_LLM_BYTES_PER_TOKEN bytes of the
 * request body, rounded up (the whole JSON body, so instructions, tool
 * definitions and markup count; it overestimates plain text, which errs
 * on the side of the budget), plus the output cap, priced with the input
 * all uncached.  When the client set no output cap and the scan has a
 * token or cost limit, the proxy sets one: what remains of each limit
 * after the input estimate, never more than the model's max_output_tokens.
 * The store's reservation statement makes the final, atomic check; the
 * check here only chooses the cap and refuses early.
 */
#ifndef VG_LLM_PRICES_H
#define VG_LLM_PRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"
#include "llm/usage.h"

#define VG_LLM_MODEL_MAX 256                 /* longest model name */
#define VG_LLM_BYTES_PER_TOKEN 4             /* the input estimate's ratio */
#define VG_LLM_DEFAULT_OUTPUT_CAP 32768      /* a set cap's ceiling when the table gives none */
#define VG_LLM_MAX_PRICE_USD 100000          /* per million tokens */
#define VG_LLM_MAX_USD 1000000000            /* largest amount vg_llm_usd_parse takes */
#define VG_LLM_USD_LEN 32                    /* buffer for vg_llm_usd_format */

struct vg_llm_price {
	int64_t input;              /* micro-USD per million uncached input tokens */
	int64_t cached_input;       /* micro-USD per million cached input tokens */
	int64_t output;             /* micro-USD per million output tokens */
	int64_t max_output_tokens;  /* 0 when the table does not say */
};

struct vg_llm_prices;

/*
 * Parse a price table from n bytes of JSON.  On failure returns
 * VG_ERR_INVALID (or VG_ERR_INVALID_JSON) and writes into msg what is
 * wrong and where ("models.m.output: ...").  Free with vg_llm_prices_free.
 */
enum vg_err vg_llm_prices_parse(const char *text, size_t n, struct vg_llm_prices **out,
    char *msg, size_t msglen);
/* The same from a file (at most 1 MiB); VG_ERR_IO when it cannot be read. */
enum vg_err vg_llm_prices_load(const char *path, struct vg_llm_prices **out,
    char *msg, size_t msglen);
void vg_llm_prices_free(struct vg_llm_prices *t);
size_t vg_llm_prices_count(const struct vg_llm_prices *t);
/* The price of model: the exact entry, else the longest matching pattern.
 * VG_ERR_NOT_FOUND when none (or t is NULL). */
enum vg_err vg_llm_prices_lookup(const struct vg_llm_prices *t, const char *model,
    struct vg_llm_price *out);

/* The cost of usage at price, in micro-USD, rounded up; cached input at
 * the cached price, the rest of the input at the input price, all output
 * (reasoning included) at the output price.  Saturates at INT64_MAX. */
int64_t vg_llm_cost_microusd(const struct vg_llm_price *price, const struct vg_llm_usage *u);

/* Parse a decimal amount of dollars ("2.50", "0", "10", "0.000001": digits,
 * optionally a point and 1 to 6 decimals, at most VG_LLM_MAX_USD) into
 * micro-USD.  VG_ERR_INVALID otherwise. */
enum vg_err vg_llm_usd_parse(const char *s, int64_t *microusd);
/* Write micro-USD as dollars with at least two decimals ("2.50",
 * "0.000125"). */
void vg_llm_usd_format(int64_t microusd, char out[VG_LLM_USD_LEN]);

/* Whether s is a usable model name: 1 to VG_LLM_MODEL_MAX printable ASCII
 * characters, no spaces. */
bool vg_llm_model_name_valid(const char *s);

struct vg_llm_allow;

/* Parse an allow-list (see above); an empty or blank list gives an empty
 * allow-list.  VG_ERR_INVALID when an entry is not a model name. */
enum vg_err vg_llm_allow_parse(const char *list, struct vg_llm_allow **out);
void vg_llm_allow_free(struct vg_llm_allow *a);
/* Whether model may be forwarded: a valid name without '*', listed in
 * allow when that is not empty (or NULL), else present in prices (which
 * may be NULL). */
bool vg_llm_model_allowed(const struct vg_llm_allow *allow, const struct vg_llm_prices *prices,
    const char *model);

/* A scan's limits; 0 is unlimited.  microusd is VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN
 * through vg_llm_usd_parse.  (Named apart from store.h's struct
 * vg_llm_limits, the same limits as the store's reservation takes them,
 * so the proxy can include both.) */
struct vg_llm_budget {
	int64_t requests;
	int64_t tokens;
	int64_t microusd;
};

/* What a scan has used so far: settled usage plus open reservations. */
struct vg_llm_spent {
	int64_t requests;
	int64_t tokens;
	int64_t microusd;
};

enum vg_llm_limit { VG_LLM_LIMIT_NONE, VG_LLM_LIMIT_REQUESTS, VG_LLM_LIMIT_TOKENS,
	VG_LLM_LIMIT_COST };

struct vg_llm_estimate {
	int64_t input_tokens;    /* estimated from the body's size */
	int64_t output_tokens;   /* the output cap: the client's, the one set, or 0 */
	int64_t tokens;          /* input_tokens + output_tokens: to reserve */
	int64_t microusd;        /* their price, rounded up: to reserve */
	bool cap_set;            /* the client set no cap; forward output_tokens as one */
	enum vg_llm_limit refused;   /* the limit that refused, when VG_ERR_QUOTA */
};

/*
 * The reservation for a request of body_bytes whose client set the output
 * cap client_cap (0: none), at price (NULL for a model the table does not
 * price: free, but refused under a cost limit), given the scan's limits
 * and what it has spent and reserved.  VG_ERR_QUOTA when it cannot fit (est->refused
 * names the limit); VG_ERR_INVALID for a negative argument.
 */
enum vg_err vg_llm_estimate(const struct vg_llm_price *price, const struct vg_llm_budget *lim,
    const struct vg_llm_spent *spent, size_t body_bytes, int64_t client_cap,
    struct vg_llm_estimate *est);

/* The message of a refusal by limit, naming the limit and its value, e.g.
 * "This scan's LLM budget is spent: the limit is 2.50 USD per scan." */
void vg_llm_quota_message(const struct vg_llm_budget *lim, enum vg_llm_limit which,
    char *buf, size_t size);

#endif
