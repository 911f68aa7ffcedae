/*
 * store_llm.c - LLM usage, the proxy's ledger: argument checks and
 * defaults shared by both backends (store_json_llm.c, store_pg_llm.c),
 * which receive only well-formed input.  A malformed id to look up finds
 * nothing (VG_ERR_NOT_FOUND); a malformed field of a reservation or
 * settlement, or a malformed scan id of a total or list, is
 * VG_ERR_INVALID.  Ids are lower-cased before the backend sees them;
 * times of 0 become now.
 */
#include "config.h"
#include <string.h>
#include "store/store_impl.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])
#define PROVIDER_MAX 64
#define MODEL_MAX 256
#define REQUEST_ID_MAX 128

static const char *const llm_endpoints[] = {"responses", "chat_completions"};
static const char *const settle_states[] = {"settled", "failed"};

/* The backend's table when it has the slot, else NULL (VG_ERR_INTERNAL
 * rather than a crash). */
#define OP(s, slot) ((s)->ops->llm && (s)->ops->llm->slot ? (s)->ops->llm : NULL)

bool
vg_store_llm_live(const char *status, int64_t attempt, int64_t cancel_requested_at_us,
    int64_t want_attempt)
{
	if (!status || (strcmp(status, VG_SCAN_CLAIMED) != 0 && strcmp(status, VG_SCAN_RUNNING) != 0))
		return false;
	return cancel_requested_at_us == 0 && attempt == want_attempt;
}

/*
 * r->id is set when the reservation is written ("" otherwise).  The
 * backend gets r with a fresh id, scan_id and user_id lower-cased
 * (user_id NULL when none), request_id NULL when empty, now_us set, and
 * lim never NULL.
 */
enum vg_err
vg_store_llm_reserve(struct vg_store *s, struct vg_llm_reservation *r,
    const struct vg_llm_limits *lim, struct vg_llm_totals *after)
{
	static const struct vg_llm_limits none = {0, 0, 0};
	const struct vg_store_llm_ops *o = OP(s, reserve);
	struct vg_llm_reservation c;
	struct vg_llm_totals tmp;
	char sid[VG_UUID_LEN + 1], uid[VG_UUID_LEN + 1];
	const char *u = NULL;
	enum vg_err err;

	if (!after)
		after = &tmp;
	memset(after, 0, sizeof *after);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!lim)
		lim = &none;
	if (!vg_store_uuid_norm(r->scan_id, sid) || !vg_store_opt_uuid_arg(r->user_id, uid, &u) ||
	    !r->provider || !vg_store_required_ok(r->provider, PROVIDER_MAX) || !r->model ||
	    !vg_store_required_ok(r->model, MODEL_MAX) ||
	    !vg_store_one_of(r->endpoint, llm_endpoints, NELEM(llm_endpoints)) ||
	    r->tokens < 0 || r->microusd < 0 || !vg_store_opt_text_ok(r->request_id, REQUEST_ID_MAX) ||
	    lim->max_requests < 0 || lim->max_tokens < 0 || lim->max_cost_microusd < 0)
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(r->id)) != VG_OK)
		return err;
	c = *r;
	c.scan_id = sid;
	c.user_id = u;
	c.request_id = vg_store_null_if_empty(r->request_id);
	c.now_us = vg_store_now_or(r->now_us);
	if ((err = o->reserve(s, &c, lim, after)) != VG_OK)
		r->id[0] = '\0';   /* nothing was written under it */
	return err;
}

/* The backend gets upstream_request_id NULL when empty and now_us set. */
enum vg_err
vg_store_llm_settle(struct vg_store *s, const char *id, const struct vg_llm_settlement *st)
{
	const struct vg_store_llm_ops *o = OP(s, settle);
	struct vg_llm_settlement c;
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!st || !vg_store_one_of(st->status, settle_states, NELEM(settle_states)) ||
	    st->input_tokens < 0 || st->cached_input_tokens < 0 || st->output_tokens < 0 ||
	    st->reasoning_tokens < 0 || st->cost_microusd < 0 || st->latency_ms < 0 ||
	    st->http_status < 0 || st->http_status > 999 ||
	    !vg_store_opt_text_ok(st->upstream_request_id, REQUEST_ID_MAX))
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	c = *st;
	c.upstream_request_id = vg_store_null_if_empty(st->upstream_request_id);
	c.now_us = vg_store_now_or(st->now_us);
	return o->settle(s, key, &c);
}

enum vg_err
vg_store_llm_totals(struct vg_store *s, const char *scan_id, struct vg_llm_totals *out)
{
	const struct vg_store_llm_ops *o = OP(s, totals);
	char key[VG_UUID_LEN + 1];

	memset(out, 0, sizeof *out);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key))
		return VG_ERR_INVALID;
	return o->totals(s, key, out);
}

enum vg_err
vg_store_llm_list(struct vg_store *s, const char *scan_id, json_t **items)
{
	const struct vg_store_llm_ops *o = OP(s, list);
	char key[VG_UUID_LEN + 1];

	*items = NULL;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key))
		return VG_ERR_INVALID;
	return o->list(s, key, items);
}

enum vg_err
vg_store_llm_gate(struct vg_store *s, const char *scan_id, struct vg_llm_gate *out)
{
	const struct vg_store_llm_ops *o = OP(s, gate);
	char key[VG_UUID_LEN + 1];

	memset(out, 0, sizeof *out);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key))
		return VG_ERR_NOT_FOUND;
	return o->gate(s, key, out);
}

bool
vg_store_llm_over_limit(const struct vg_llm_totals *t, const struct vg_llm_limits *lim,
    int64_t tokens, int64_t microusd)
{
	return (lim->max_requests && t->requests + 1 > lim->max_requests) ||
	    (lim->max_tokens && t->input_tokens + t->output_tokens + t->reserved_tokens + tokens >
	    lim->max_tokens) ||
	    (lim->max_cost_microusd && t->cost_microusd + t->reserved_microusd + microusd >
	    lim->max_cost_microusd);
}
