/*
 * proxy.c - the LLM proxy's handlers: scan token and scan state, body and
 * model, budget reservation, forwarding with the answer relayed as it
 * arrives, settlement (see proxy.h).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "llm/forward.h"
#include "llm/prices.h"
#include "llm/proxy.h"
#include "llm/relay.h"
#include "llm/request.h"
#include "llm/scantoken.h"
#include "llm/usage.h"

#define PROVIDER_NAME "openai-compatible"
#define MAX_ANSWER_WATCHED ((size_t)8 << 20)   /* a whole body read for its usage */
#define LOG_BODY_MAX ((size_t)64 << 10)        /* VEGA_LLM_LOG_BODIES: per body */

/* What the process loaded once (a deliberate cache, DESIGN.md section 9). */
static struct {
	bool ready;                       /* keys present: LLM routes answer */
	char why[160];                    /* why not, for the log */
	struct vg_scantoken_key *key;     /* public: verify only */
	struct vg_llm_prices *prices;     /* may be NULL: no table */
	struct vg_llm_allow *allow;
	struct vg_llm_upstream *up;
	bool log_bodies;                  /* VEGA_LLM_LOG_BODIES */
} px;

/*
 * The scans this process served lately, KEPT_SCANS at most (the least
 * recently used goes first): a runner sends the same token with every
 * call, and each process serves many runners.  For each token:
 *   - its claims as verified: the signature is checked once per process,
 *     the expiry on every use;
 *   - its scan as the store last answered for it (vg_store_llm_gate),
 *     once a request of it got through.  A model call with that token
 *     goes straight to its reservation, which checks in the same
 *     statement that the scan is still live at that attempt
 *     (vg_llm_reservation.attempt): one store round trip per call instead
 *     of two.  The options are the scan's own (they never change); the
 *     totals are used only for the early budget check, and the store is
 *     read again whenever they would decide anything: a refusal, or an
 *     output cap set from the remaining budget.
 */
#define KEPT_SCANS 64
static struct kept {
	uint64_t used;                        /* 0: a free entry */
	char token[4096];
	struct vg_scantoken_claims claims;
	bool gate_set;
	struct vg_llm_gate gate;
} kept[KEPT_SCANS];
static uint64_t kept_clock;

/* The caller: its token's claims, and its scan's state, options and
 * usage; checked when the store confirmed them for this request (else
 * they are kept ones, and the reservation checks). */
struct px_principal {
	struct vg_scantoken_claims claims;
	struct vg_llm_gate gate;
	bool checked;
};

/* Client headers that may go upstream (the rest are not read at all, so
 * no credential can slip through); forward.c filters again. */
static const char *const client_headers[] = {
	"Accept", "OpenAI-Beta", "User-Agent", "Idempotency-Key", "X-Client-Request-Id",
	"Originator", "Conversation-Id", "Session-Id",
};

/* The OpenAI error type of each status this listener answers itself. */
static const struct {
	int status;
	const char *type;
} error_types[] = {
	{400, "invalid_request_error"}, {401, "invalid_request_error"},
	{404, "invalid_request_error"}, {413, "invalid_request_error"},
	{415, "invalid_request_error"}, {429, "insufficient_quota"},
	{500, "server_error"}, {502, "server_error"}, {503, "server_error"},
};

/* ---- settings and start-up ---- */

/* A positive count or amount of member key of o, or 0 (absent or not one). */
static int64_t
opt_count(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (int64_t)json_integer_value(v);
	return 0;
}

static int64_t
opt_usd(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	char text[64];
	int64_t m = 0;

	if (json_is_string(v))
		vg_str_copy(text, sizeof text, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(text, sizeof text, "%.6f", json_real_value(v));
	else
		return 0;
	if (vg_llm_usd_parse(text, &m) != VG_OK || m <= 0)
		return 0;
	return m;
}

/* The tighter of a setting and a scan's own value (0: none). */
static int64_t
tighter(int64_t setting, int64_t scan)
{
	if (scan <= 0)
		return setting;
	if (setting <= 0)
		return scan;
	return scan < setting ? scan : setting;
}

enum vg_err
vg_llm_scan_limits(const char *options, struct vg_llm_limits *out)
{
	json_t *root = NULL, *o;
	int64_t cost = 0;

	memset(out, 0, sizeof *out);
	if (vg_llm_usd_parse(vg_cfg_str(VG_SET_LLM_PROXY_MAX_COST_USD_PER_SCAN), &cost) != VG_OK)
		return VG_ERR_INVALID;
	out->max_requests = vg_cfg_int(VG_SET_LLM_PROXY_MAX_REQUESTS_PER_SCAN);
	out->max_tokens = vg_cfg_int(VG_SET_LLM_PROXY_MAX_TOKENS_PER_SCAN);
	out->max_cost_microusd = cost;
	if (!options || !*options || !(root = json_loads(options, 0, NULL)))
		return VG_OK;
	if (json_is_object(o = json_object_get(root, "llm_limits"))) {
		out->max_requests = tighter(out->max_requests, opt_count(o, "max_requests"));
		out->max_tokens = tighter(out->max_tokens, opt_count(o, "max_tokens"));
		out->max_cost_microusd = tighter(out->max_cost_microusd, opt_usd(o, "max_cost_usd"));
	}
	json_decref(root);
	return VG_OK;
}

void
vg_llm_proxy_shutdown(void)
{
	vg_scantoken_key_free(px.key);
	vg_llm_prices_free(px.prices);
	vg_llm_allow_free(px.allow);
	vg_llm_upstream_free(px.up);
	memset(&px, 0, sizeof px);
	memset(kept, 0, sizeof kept);
	kept_clock = 0;
}

/* Log a configuration error naming the setting; VG_ERR_INVALID. */
static enum vg_err
config_error(const char *setting, const char *msg)
{
	vg_log(VG_LOG_ERROR, "config_invalid", "setting", setting, "message", msg, NULL);
	return VG_ERR_INVALID;
}

/*
 * Load what the proxy needs for the life of the process (see proxy.h).
 * Keys missing leave the proxy unready (503 on the LLM routes), keys
 * given but unusable are a configuration error.
 */
enum vg_err
vg_llm_proxy_init(void)
{
	const char *verify = vg_cfg_str(VG_SET_LLM_TOKEN_VERIFY_KEY_FILE);
	const char *keyfile = vg_cfg_str(VG_SET_LLM_PROVIDER_API_KEY_FILE);
	const char *prices = vg_cfg_str(VG_SET_LLM_PRICES_FILE);
	char msg[256];
	int64_t cost;

	vg_llm_proxy_shutdown();
	if (vg_llm_usd_parse(vg_cfg_str(VG_SET_LLM_PROXY_MAX_COST_USD_PER_SCAN), &cost) != VG_OK)
		return config_error("VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN",
		    "a decimal amount of dollars with at most six decimals, e.g. 2.50 (0: unlimited)");
	if (vg_llm_allow_parse(vg_cfg_str(VG_SET_LLM_ALLOWED_MODELS), &px.allow) != VG_OK)
		return config_error("VEGA_LLM_ALLOWED_MODELS",
		    "a comma-separated list of model names, each may end in '*'");
	if (*prices && vg_llm_prices_load(prices, &px.prices, msg, sizeof msg) != VG_OK) {
		vg_llm_proxy_shutdown();
		return config_error("VEGA_LLM_PRICES_FILE", msg);
	}
	if (!*verify) {
		vg_str_copy(px.why, sizeof px.why, "VEGA_LLM_TOKEN_VERIFY_KEY_FILE is not set");
	} else if (vg_scantoken_key_load(false, verify, &px.key, msg, sizeof msg) != VG_OK) {
		vg_llm_proxy_shutdown();
		return config_error("VEGA_LLM_TOKEN_VERIFY_KEY_FILE", msg);
	}
	if (!*keyfile) {
		if (!px.why[0])
			vg_str_copy(px.why, sizeof px.why, "VEGA_LLM_PROVIDER_API_KEY_FILE is not set");
	} else if (vg_llm_upstream_from_settings(&px.up, msg, sizeof msg) != VG_OK) {
		vg_llm_proxy_shutdown();
		return config_error("VEGA_LLM_PROVIDER_API_KEY_FILE or VEGA_LLM_PROVIDER_BASE_URL", msg);
	}
	px.ready = px.key && px.up;
	px.log_bodies = vg_cfg_bool(VG_SET_LLM_LOG_BODIES);
	if (!px.ready)
		vg_log(VG_LOG_WARN, "llm_proxy_not_configured", "message", px.why, NULL);
	else if (cost > 0 && !px.prices)
		vg_log(VG_LOG_WARN, "llm_proxy_no_prices", "message",
		    "a cost limit is set without VEGA_LLM_PRICES_FILE: every request will be refused",
		    NULL);
	return VG_OK;
}

/* ---- errors ---- */

/*
 * Answer an error of this listener: the provider API's error shape with
 * the envelope's members (see proxy.h).  code is the machine-readable
 * reason; returns err so a handler can `return px_error(...)`.
 */
static enum vg_err
px_error(struct vg_http_req *req, enum vg_err err, int status, const char *code,
    const char *message)
{
	const char *type = "invalid_request_error";
	json_t *body;
	size_t i;

	for (i = 0; i < sizeof error_types / sizeof error_types[0]; i++)
		if (error_types[i].status == status)
			type = error_types[i].type;
	if (status == 401)
		vg_http_add_header(req, "WWW-Authenticate", "Bearer");
	if (status == 503)
		vg_http_add_header(req, "Retry-After", "5");
	body = json_pack("{s:i, s:{s:s, s:s, s:n, s:s, s:b, s:{}}}",
	    "schema_version", 1, "error",
	    "message", message ? message : vg_err_message(err),
	    "type", type, "param", "code", code,
	    "retryable", status == 503 || status == 502, "details");
	vg_http_json(req, status, body);
	return err;
}

/* ---- authentication: token, then the scan's state ---- */

static void
principal_free(void *p)
{
	free(p);
}

/* The kept entry of token, or NULL. */
static struct kept *
kept_token(const char *token)
{
	size_t i;

	for (i = 0; i < KEPT_SCANS; i++)
		if (kept[i].used && strcmp(token, kept[i].token) == 0)
			return &kept[i];
	return NULL;
}

/* The kept entry whose gate is p's scan at p's attempt, or NULL. */
static struct kept *
kept_gate(const struct px_principal *p)
{
	size_t i;

	for (i = 0; i < KEPT_SCANS; i++)
		if (kept[i].used && kept[i].gate_set && kept[i].gate.attempt == p->claims.attempt &&
		    strcasecmp(kept[i].gate.scan_id, p->claims.scan_id) == 0)
			return &kept[i];
	return NULL;
}

/* Keep token's claims in a free entry or the least recently used one. */
static void
keep_token(const char *token, const struct vg_scantoken_claims *claims)
{
	struct kept *k = &kept[0];
	size_t i;

	for (i = 1; i < KEPT_SCANS && k->used; i++)
		if (kept[i].used < k->used)
			k = &kept[i];
	memset(k, 0, sizeof *k);
	if (vg_str_copy(k->token, sizeof k->token, token) != VG_OK)
		return;   /* too long to keep: verified every time */
	k->claims = *claims;
	k->used = ++kept_clock;
}

/* The claims of token: kept, else verified (and kept). */
static enum vg_err
token_claims(const char *token, int64_t now, struct vg_scantoken_claims *out)
{
	struct kept *k = kept_token(token);
	enum vg_err err;

	if (k) {
		if (k->claims.exp <= now - VG_SCANTOKEN_LEEWAY)
			return VG_ERR_UNAUTHORIZED;
		k->used = ++kept_clock;
		*out = k->claims;
		return VG_OK;
	}
	if ((err = vg_scantoken_verify(px.key, token, now, out)) != VG_OK)
		return err;
	keep_token(token, out);
	return VG_OK;
}

/* Forget the gates kept for p's scan (it is no longer live for p). */
static void
forget_gate(const struct px_principal *p)
{
	struct kept *k;

	while ((k = kept_gate(p)))
		k->gate_set = false;
}

/* Refuse the caller: the same 401 whatever was wrong (why is logged). */
static enum vg_err
px_refuse(struct vg_http_req *req, const char *why, const char *scan_id)
{
	vg_log(VG_LOG_WARN, "llm_token_refused", "reason", why, "scan", scan_id ? scan_id : "",
	    NULL);
	return px_error(req, VG_ERR_UNAUTHORIZED, 401, "invalid_api_key",
	    "The scan token is invalid, expired, or its scan is no longer running.");
}

/*
 * Read p's scan from the store and check it may still use the proxy:
 * VG_OK with p->gate current (and kept with its token), else the 401 or
 * 503 answered.
 */
static enum vg_err
gate_check(struct vg_http_req *req, struct px_principal *p)
{
	struct vg_store *s = NULL;
	size_t i;
	enum vg_err err;

	if (vg_http_store(&s) != VG_OK)
		return px_error(req, VG_ERR_UNAVAILABLE, 503, "unavailable", NULL);
	err = vg_store_llm_gate(s, p->claims.scan_id, &p->gate);
	if (err == VG_ERR_NOT_FOUND)
		return px_refuse(req, "no such scan", p->claims.scan_id);
	if (err != VG_OK)
		return px_error(req, VG_ERR_UNAVAILABLE, 503, "unavailable", NULL);
	if (!vg_store_llm_live(p->gate.status, p->gate.attempt, p->gate.cancel_requested_at_us,
	    p->claims.attempt)) {
		forget_gate(p);
		return px_refuse(req, "scan not active or attempt superseded", p->claims.scan_id);
	}
	p->checked = true;
	for (i = 0; i < KEPT_SCANS; i++)   /* the kept tokens of this scan and attempt */
		if (kept[i].used && kept[i].claims.attempt == p->claims.attempt &&
		    strcasecmp(kept[i].claims.scan_id, p->claims.scan_id) == 0) {
			kept[i].gate = p->gate;
			kept[i].gate_set = true;
		}
	return VG_OK;
}

/*
 * The authentication hook (see proxy.h): Bearer token, ES256 with the
 * verification key, then the store.  Every refusal is the same 401 to
 * the client (which token was wrong, and how, is only logged).
 */
enum vg_err
vg_llm_proxy_authenticate(struct vg_http_req *req, enum vg_auth need)
{
	const char *h = vg_http_header(req, "Authorization");
	const struct vg_route *rt = vg_http_route(req);
	struct px_principal *p = NULL;
	struct kept *k;
	enum vg_err err;

	(void)need;
	if (!px.ready)
		return px_error(req, VG_ERR_UNAVAILABLE, 503, "unavailable",
		    "The LLM proxy is not configured.");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return px_refuse(req, "no bearer token", NULL);
	h += 7;
	while (*h == ' ')
		h++;
	if (!(p = calloc(1, sizeof *p)))
		return VG_ERR_NOMEM;
	if (token_claims(h, vg_time_now_us() / 1000000, &p->claims) != VG_OK) {
		err = px_refuse(req, "token refused", p->claims.scan_id);
		goto out;
	}
	/* A model call of a scan kept: its reservation checks. */
	if (rt && rt->handler != vg_llm_proxy_models && (k = kept_gate(p)))
		p->gate = k->gate;
	else if ((err = gate_check(req, p)) != VG_OK)
		goto out;
	vg_log_set_scan_id(p->claims.scan_id);
	vg_http_set_principal(req, p, principal_free);
	return VG_OK;
out:
	free(p);
	return err;
}

/* ---- relaying the answer ---- */

/* One request's passage through the proxy. */
struct px_call {
	struct vg_http_req *req;
	enum vg_llm_api api;
	bool stream;
	bool drop_usage_chunk;
	struct vg_llm_relay *relay;     /* made at the head */
	int status;
	bool client_gone;
	struct vg_buf *answer;          /* VEGA_LLM_LOG_BODIES: the first bytes */
};

/* The relay's writer: each piece goes to the client and is flushed, so
 * neither the proxy nor FastCGI holds it back. */
static enum vg_err
px_write(void *arg, const char *data, size_t n)
{
	struct px_call *c = arg;
	enum vg_err err;

	if ((err = vg_http_stream_write(c->req, data, n)) == VG_OK)
		err = vg_http_stream_flush(c->req);
	if (err != VG_OK)
		c->client_gone = true;
	return err;
}

/* The provider's head: begin the client's answer with its status and
 * type, and choose how to watch the body. */
static enum vg_err
px_on_head(void *arg, const struct vg_llm_forward_head *h)
{
	struct px_call *c = arg;
	const char *ct = h->content_type && *h->content_type ? h->content_type : "application/json";
	bool sse = vg_str_has_prefix(ct, "text/event-stream");
	bool ok = h->status >= 200 && h->status < 300;
	enum vg_err err;

	c->status = h->status;
	if ((err = vg_llm_relay_new(c->api, ok && sse, ok && sse && c->drop_usage_chunk,
	    MAX_ANSWER_WATCHED, px_write, c, &c->relay)) != VG_OK)
		return err;
	vg_http_add_header(c->req, "X-Accel-Buffering", "no");
	if (h->request_id && *h->request_id)
		vg_http_add_header(c->req, "X-Upstream-Request-Id", h->request_id);
	if (h->retry_after && *h->retry_after)
		vg_http_add_header(c->req, "Retry-After", h->retry_after);
	if ((err = vg_http_stream_begin(c->req, h->status, ct)) != VG_OK)
		c->client_gone = true;
	return err;
}

static enum vg_err
px_on_body(void *arg, const char *data, size_t n)
{
	struct px_call *c = arg;

	if (c->answer && c->answer->len < LOG_BODY_MAX)
		vg_buf_append(c->answer, data, n < LOG_BODY_MAX - c->answer->len ? n
		    : LOG_BODY_MAX - c->answer->len);
	return vg_llm_relay_feed(c->relay, data, n);
}

/* ---- the budget ---- */

/* The limit that refused a reservation, from the totals as they were. */
static enum vg_llm_limit
refused_limit(const struct vg_llm_limits *lim, const struct vg_llm_totals *t,
    const struct vg_llm_estimate *est)
{
	int64_t tokens = t->input_tokens + t->output_tokens + t->reserved_tokens;

	if (lim->max_requests && t->requests + 1 > lim->max_requests)
		return VG_LLM_LIMIT_REQUESTS;
	if (lim->max_tokens && tokens + est->tokens > lim->max_tokens)
		return VG_LLM_LIMIT_TOKENS;
	if (lim->max_cost_microusd)
		return VG_LLM_LIMIT_COST;
	return VG_LLM_LIMIT_NONE;
}

static enum vg_err
px_quota(struct vg_http_req *req, const struct vg_llm_limits *lim, enum vg_llm_limit which)
{
	struct vg_llm_budget b = {lim->max_requests, lim->max_tokens, lim->max_cost_microusd};
	char msg[256];

	vg_llm_quota_message(&b, which, msg, sizeof msg);
	vg_log(VG_LOG_INFO, "llm_budget_refused", "message", msg, NULL);
	return px_error(req, VG_ERR_QUOTA, 429, "insufficient_quota", msg);
}

/* ---- one model request ---- */

/* Read the whole body, at most VEGA_LLM_MAX_REQUEST_BYTES, into *b. */
static enum vg_err
read_body(struct vg_http_req *req, struct vg_buf *b)
{
	int64_t max = vg_cfg_int(VG_SET_LLM_MAX_REQUEST_BYTES), declared;
	char chunk[16384];
	size_t got;
	enum vg_err err;

	vg_buf_init(b, (size_t)max);
	if ((err = vg_http_body_begin(req, max, &declared)) != VG_OK)
		return err;
	for (;;) {
		if ((err = vg_http_body_read(req, chunk, sizeof chunk, &got)) != VG_OK)
			return err;
		if (got == 0)
			return VG_OK;
		if ((err = vg_buf_append(b, chunk, got)) != VG_OK)
			return err == VG_ERR_NOMEM ? err : VG_ERR_TOO_LARGE;
	}
}

/* The client's headers that may go upstream, as "Name: value" strings in
 * store (NUL-separated), pointed to by list (NULL-terminated). */
static void
collect_headers(struct vg_http_req *req, struct vg_buf *store, const char **list, size_t max)
{
	size_t i, n = 0, offs[sizeof client_headers / sizeof client_headers[0]];

	for (i = 0; i < sizeof client_headers / sizeof client_headers[0] && n + 1 < max; i++) {
		const char *v = vg_http_header(req, client_headers[i]);

		if (!v || !*v || strlen(v) > 1024)
			continue;
		offs[n++] = store->len;
		if (vg_buf_printf(store, "%s: %s", client_headers[i], v) != VG_OK ||
		    vg_buf_append_char(store, '\0') != VG_OK)
			n--;
	}
	for (i = 0; i < n; i++)
		list[i] = store->data + offs[i];
	list[n] = NULL;
}

/* Log the request's outcome (counts and ids only; never text or keys). */
static void
log_call(const char *model, const char *endpoint, const struct vg_llm_settlement *st,
    bool have_usage, bool stream)
{
	char in[24], out[24], cost[VG_LLM_USD_LEN], status[8], lat[24];

	snprintf(in, sizeof in, "%lld", (long long)st->input_tokens);
	snprintf(out, sizeof out, "%lld", (long long)st->output_tokens);
	snprintf(status, sizeof status, "%lld", (long long)st->http_status);
	snprintf(lat, sizeof lat, "%lld", (long long)st->latency_ms);
	vg_llm_usd_format(st->cost_microusd, cost);
	vg_log(VG_LOG_INFO, "llm_call", "model", model, "endpoint", endpoint,
	    "stream", stream ? "true" : "false", "outcome", st->status,
	    "usage", have_usage ? "reported" : "estimated", "input", in,
	    "output", out, "cost_usd", cost, "upstream_status", status,
	    "latency_ms", lat, "upstream_request_id",
	    st->upstream_request_id ? st->upstream_request_id : "", NULL);
}

/*
 * VEGA_LLM_LOG_BODIES: what was sent upstream and the first bytes of what
 * came back (each up to LOG_BODY_MAX; "truncated" says when cut), as one
 * log line.  Never the key: it travels only in a header.
 */
static void
log_bodies(const char *sent, size_t sent_len, const struct vg_buf *answer)
{
	char *req = NULL, *ans = NULL;
	size_t rn = sent_len < LOG_BODY_MAX ? sent_len : LOG_BODY_MAX;
	size_t an = answer ? answer->len : 0;

	if (!(req = malloc(rn + 1)) || !(ans = malloc(an + 1)))
		goto out;
	memcpy(req, sent ? sent : "", rn);
	req[rn] = '\0';
	if (an)
		memcpy(ans, answer->data, an);
	ans[an] = '\0';
	vg_log(VG_LOG_INFO, "llm_bodies", "request", req, "answer", ans,
	    "truncated", rn < sent_len || an >= LOG_BODY_MAX ? "true" : "false", NULL);
out:
	free(req);
	free(ans);
}

/* Before refusing a request whose scan the store has not confirmed for
 * it: confirm it, so a dead scan's token gets its 401 first.  false when
 * that answer (401 or 503) was given. */
static bool
still_live(struct vg_http_req *req, struct px_principal *p)
{
	return p->checked || gate_check(req, p) == VG_OK;
}

/*
 * A model request of api (chat or responses) at path below the provider's
 * base URL: every step of proxy.h.  The principal is the hook's.
 */
static enum vg_err
model_call(struct vg_http_req *req, enum vg_llm_api api, const char *path,
    const char *endpoint)
{
	struct px_principal *p = vg_http_principal(req);
	struct vg_store *s = NULL;
	struct vg_buf body, hstore, answer;
	struct vg_llm_request r;
	struct vg_llm_limits lim;
	const struct vg_llm_totals *tot;
	struct vg_llm_totals after;
	struct vg_llm_spent spent;
	struct vg_llm_budget budget;
	struct vg_llm_price price;
	struct vg_llm_estimate est;
	struct vg_llm_reservation rsv;
	struct vg_llm_settlement st;
	struct vg_llm_forward_req fr;
	struct vg_llm_forward_result res;
	struct vg_llm_forward_cb cb;
	struct px_call call;
	const struct vg_llm_outcome *oc;
	const char *hdrs[sizeof client_headers / sizeof client_headers[0] + 1];
	const char *field = NULL;
	json_t *root = NULL;
	char *sent = NULL, msg[VG_LLM_MODEL_MAX + 128];
	size_t sent_len;
	bool have_price, want_usage, reserved = false;
	struct kept *k;
	enum vg_err err, ferr;

	memset(&call, 0, sizeof call);
	vg_buf_init(&hstore, 16384);
	if ((err = read_body(req, &body)) != VG_OK) {
		if (!still_live(req, p))
			goto out;
		if (err == VG_ERR_TOO_LARGE) {
			snprintf(msg, sizeof msg, "The request body is larger than %lld bytes.",
			    (long long)vg_cfg_int(VG_SET_LLM_MAX_REQUEST_BYTES));
			px_error(req, err, 413, "payload_too_large", msg);
		} else if (err != VG_ERR_NOMEM)
			px_error(req, err, 400, "invalid_request_error", "The request body could not be read.");
		goto out;
	}
	if ((err = vg_llm_request_parse(api, body.data ? body.data : "", body.len, &r, &root,
	    &field)) != VG_OK) {
		if (!still_live(req, p))
			goto out;
		if (field)
			snprintf(msg, sizeof msg, "Invalid value for '%s'.", field);
		else
			snprintf(msg, sizeof msg, "The body is not a JSON object.");
		px_error(req, err, 400, err == VG_ERR_INVALID_JSON ? "invalid_json" : "invalid_value", msg);
		goto out;
	}
	if (!vg_llm_model_allowed(px.allow, px.prices, r.model)) {
		if (!still_live(req, p))
			goto out;
		snprintf(msg, sizeof msg, "The model '%s' is not allowed for scans.", r.model);
		err = px_error(req, VG_ERR_INVALID, 400, "model_not_allowed", msg);
		goto out;
	}
	if ((err = vg_http_store(&s)) != VG_OK ||
	    (err = vg_llm_scan_limits(p->gate.options, &lim)) != VG_OK) {
		px_error(req, VG_ERR_UNAVAILABLE, 503, "unavailable", NULL);
		goto out;
	}
	/* An output cap set from the remaining budget needs the totals as
	 * the store has them now. */
	if (!p->checked && r.output_cap == 0 && (lim.max_tokens || lim.max_cost_microusd) &&
	    (err = gate_check(req, p)) != VG_OK)
		goto out;
	budget = (struct vg_llm_budget){lim.max_requests, lim.max_tokens, lim.max_cost_microusd};
	have_price = px.prices && vg_llm_prices_lookup(px.prices, r.model, &price) == VG_OK;
again:
	/* The early check and the cap; the store's step below is the one
	 * that counts under concurrency. */
	tot = &p->gate.totals;
	spent.requests = tot->requests;
	spent.tokens = tot->input_tokens + tot->output_tokens + tot->reserved_tokens;
	spent.microusd = tot->cost_microusd + tot->reserved_microusd;
	if ((err = vg_llm_estimate(have_price ? &price : NULL, &budget, &spent, body.len,
	    r.output_cap, &est)) != VG_OK) {
		if (err == VG_ERR_QUOTA && !p->checked) {
			/* Refused on totals kept from an earlier call: read them. */
			if ((err = gate_check(req, p)) != VG_OK)
				goto out;
			goto again;
		}
		if (!still_live(req, p))
			goto out;
		if (err == VG_ERR_QUOTA)
			px_quota(req, &lim, est.refused);
		else
			px_error(req, err, 400, "invalid_value", NULL);
		goto out;
	}
	want_usage = api == VG_LLM_API_CHAT && r.stream && !r.include_usage;
	free(sent);
	sent = NULL;
	if (est.cap_set || want_usage) {
		if ((err = vg_llm_request_rewrite(root, api, est.cap_set ? est.output_tokens : 0,
		    want_usage, &sent, &sent_len)) != VG_OK) {
			px_error(req, err, 500, "internal", NULL);
			goto out;
		}
	}
	memset(&rsv, 0, sizeof rsv);
	rsv.scan_id = p->gate.scan_id;
	rsv.user_id = p->gate.created_by[0] ? p->gate.created_by : NULL;
	rsv.provider = PROVIDER_NAME;
	rsv.model = r.model;
	rsv.endpoint = endpoint;
	rsv.tokens = est.tokens;
	rsv.microusd = est.microusd;
	rsv.request_id = vg_http_request_id(req);
	rsv.now_us = vg_time_now_us();
	rsv.attempt = p->claims.attempt;
	if ((err = vg_store_llm_reserve(s, &rsv, &lim, &after)) != VG_OK) {
		if (err == VG_ERR_UNAUTHORIZED) {
			forget_gate(p);
			px_refuse(req, "scan not active or attempt superseded", p->claims.scan_id);
		} else if (err == VG_ERR_QUOTA && !p->checked) {
			if (gate_check(req, p) != VG_OK)
				goto out;
			goto again;
		} else if (err == VG_ERR_QUOTA) {
			px_quota(req, &lim, refused_limit(&lim, &after, &est));
		} else {
			px_error(req, VG_ERR_UNAVAILABLE, 503, "unavailable", NULL);
		}
		goto out;
	}
	reserved = true;
	if ((k = kept_gate(p)))
		k->gate.totals = after;

	collect_headers(req, &hstore, hdrs, sizeof hdrs / sizeof hdrs[0]);
	fr = (struct vg_llm_forward_req){.method = "POST", .path = path,
	    .body = sent ? sent : body.data, .body_len = sent ? sent_len : body.len,
	    .headers = hdrs};
	call.req = req;
	call.api = api;
	call.stream = r.stream;
	call.drop_usage_chunk = want_usage;
	if (px.log_bodies) {
		vg_buf_init(&answer, LOG_BODY_MAX);
		call.answer = &answer;
	}
	cb = (struct vg_llm_forward_cb){px_on_head, px_on_body, &call};
	ferr = vg_llm_forward(px.up, &fr, &cb, &res);
	if (call.relay && !call.client_gone)
		vg_llm_relay_finish(call.relay);

	/* Settle: real usage, else the reservation, else nothing for a
	 * failure the provider would not bill. */
	memset(&st, 0, sizeof st);
	oc = call.relay ? vg_llm_relay_outcome(call.relay) : NULL;
	st.latency_ms = res.total_us / 1000;
	st.http_status = res.status;
	st.upstream_request_id = res.request_id[0] ? res.request_id : NULL;
	st.now_us = vg_time_now_us();
	if (!res.relayed || res.status < 200 || res.status >= 300) {
		st.status = "failed";
	} else if (oc && oc->have_usage) {
		st.status = "settled";
		st.input_tokens = oc->usage.input_tokens;
		st.cached_input_tokens = oc->usage.cached_input_tokens;
		st.output_tokens = oc->usage.output_tokens;
		st.reasoning_tokens = oc->usage.reasoning_tokens;
		st.cost_microusd = have_price ? vg_llm_cost_microusd(&price, &oc->usage) : 0;
	} else {
		st.status = "settled";
		st.input_tokens = est.input_tokens;
		st.output_tokens = est.output_tokens;
		st.cost_microusd = est.microusd;
	}
	if (!res.relayed) {
		/* Nothing reached the client: answer for the provider. */
		vg_log(VG_LOG_WARN, "llm_upstream_failed", "message", res.error, NULL);
		if (ferr == VG_ERR_UNAVAILABLE || ferr == VG_OK)
			px_error(req, VG_ERR_UNAVAILABLE, 502, "upstream_unavailable",
			    res.timed_out ? "The AI provider did not answer in time."
			    : "The AI provider could not be reached.");
		else if (!vg_http_responded(req))
			px_error(req, VG_ERR_INTERNAL, 500, "internal", NULL);
	} else if (!res.complete && !call.client_gone) {
		vg_log(VG_LOG_WARN, "llm_answer_cut", "message", res.error, NULL);
	}
	/* The client has its whole answer; the settlement is bookkeeping it
	 * need not wait for (the reservation holds the budget meanwhile). */
	vg_http_finish(req);
	if (vg_store_llm_settle(s, rsv.id, &st) != VG_OK)
		vg_log(VG_LOG_ERROR, "llm_settle_failed", "reservation", rsv.id, NULL);
	reserved = false;
	log_call(r.model, endpoint, &st, oc && oc->have_usage, r.stream);
	if (call.answer)
		log_bodies(fr.body, fr.body_len, call.answer);
	err = VG_OK;
out:
	if (reserved) {
		memset(&st, 0, sizeof st);
		st.status = "failed";
		st.now_us = vg_time_now_us();
		vg_store_llm_settle(s, rsv.id, &st);
	}
	vg_llm_relay_free(call.relay);
	if (call.answer)
		vg_buf_free(call.answer);
	free(sent);
	json_decref(root);
	vg_buf_free(&hstore);
	vg_buf_free(&body);
	return vg_http_responded(req) ? VG_OK : err;
}

enum vg_err
vg_llm_proxy_responses(struct vg_http_req *req)
{
	return model_call(req, VG_LLM_API_RESPONSES, "/responses", "responses");
}

enum vg_err
vg_llm_proxy_chat(struct vg_http_req *req)
{
	return model_call(req, VG_LLM_API_CHAT, "/chat/completions", "chat_completions");
}

/* GET /v1/models: the provider's list, passed through; no budget. */
enum vg_err
vg_llm_proxy_models(struct vg_http_req *req)
{
	struct vg_llm_forward_req fr = {.method = "GET", .path = "/models"};
	struct vg_llm_forward_result res;
	struct vg_llm_forward_cb cb;
	struct px_call call;
	enum vg_err err;

	memset(&call, 0, sizeof call);
	call.req = req;
	call.api = VG_LLM_API_RESPONSES;
	cb = (struct vg_llm_forward_cb){px_on_head, px_on_body, &call};
	err = vg_llm_forward(px.up, &fr, &cb, &res);
	if (call.relay && !call.client_gone)
		vg_llm_relay_finish(call.relay);
	vg_llm_relay_free(call.relay);
	if (!res.relayed && !vg_http_responded(req))
		px_error(req, VG_ERR_UNAVAILABLE, 502, "upstream_unavailable",
		    "The AI provider could not be reached.");
	(void)err;
	return VG_OK;
}
