/*
 * usage.c - GET /v1/scans/{id}/usage: what a scan's LLM calls used through
 * the proxy, the limits in force, and each call's record; and the JSON
 * form of the totals, which the scan's own view shows too.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/id.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "llm/prices.h"
#include "llm/proxy.h"

/* An amount of micro-USD as a decimal string of dollars (new reference). */
static json_t *
usd(int64_t microusd)
{
	char text[VG_LLM_USD_LEN];

	vg_llm_usd_format(microusd, text);
	return json_string(text);
}

/* A limit: its value, or null for unlimited (new reference). */
static json_t *
limit_count(int64_t v)
{
	return v > 0 ? json_integer(v) : json_null();
}

/*
 * A scan's usage totals t as the scan's view ("llm_usage") and the usage
 * answer ("totals") both show them: counts of requests and tokens, the
 * settled cost and what outstanding reservations hold.  New reference
 * (the caller owns it); NULL when out of memory.
 */
json_t *
vg_api_llm_totals_json(const struct vg_llm_totals *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o}",
	    "requests", (json_int_t)t->requests,
	    "input_tokens", (json_int_t)t->input_tokens,
	    "cached_input_tokens", (json_int_t)t->cached_input_tokens,
	    "output_tokens", (json_int_t)t->output_tokens,
	    "reasoning_tokens", (json_int_t)t->reasoning_tokens,
	    "total_tokens", (json_int_t)(t->input_tokens + t->output_tokens),
	    "cost_usd", usd(t->cost_microusd),
	    "cost_microusd", (json_int_t)t->cost_microusd,
	    "reserved_tokens", (json_int_t)t->reserved_tokens,
	    "reserved_cost_usd", usd(t->reserved_microusd));
}

/* The body of the answer (new reference; NULL when out of memory).
 * records is taken. */
static json_t *
usage_json(const struct vg_scan *sc, const struct vg_llm_totals *t,
    const struct vg_llm_limits *lim, json_t *records)
{
	return json_pack("{s:s, s:o, s:{s:o, s:o, s:o}, s:o}",
	    "scan_id", sc->id,
	    "totals", vg_api_llm_totals_json(t),
	    "limits",
	    "max_requests", limit_count(lim->max_requests),
	    "max_tokens", limit_count(lim->max_tokens),
	    "max_cost_usd", lim->max_cost_microusd > 0 ? usd(lim->max_cost_microusd) : json_null(),
	    "records", records ? records : json_array());
}

/*
 * GET /v1/scans/{id}/usage: for anyone who may read the scan's project
 * (404 for everyone else, as for an unknown id).  Limits null mean
 * unlimited; amounts are decimal strings of dollars.
 */
enum vg_err
vg_api_scan_usage(struct vg_http_req *req)
{
	const char *id = vg_http_capture(req, "id");
	struct vg_scope scope;
	struct vg_repository repo;
	struct vg_scan *sc = NULL;
	struct vg_store *s = NULL;
	struct vg_llm_totals t;
	struct vg_llm_limits lim;
	json_t *records = NULL, *body;
	enum vg_err err;

	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	if (!id || !vg_uuid_valid(id))
		return vg_http_fail(req, VG_ERR_NOT_FOUND, "no such scan", NULL);
	if (!(sc = calloc(1, sizeof *sc)))
		return VG_ERR_NOMEM;
	if ((err = vg_store_scan_get(s, id, sc)) != VG_OK) {
		err = vg_http_fail(req, err == VG_ERR_NOT_FOUND ? err : VG_ERR_UNAVAILABLE,
		    err == VG_ERR_NOT_FOUND ? "no such scan" : NULL, NULL);
		goto out;
	}
	if ((err = vg_api_scope_repository(req, sc->repository_id, VG_NEED_READ, &scope,
	    &repo)) != VG_OK) {
		/* The scan's repository is what the caller may not see: the
		 * scan is unknown to them. */
		if (err == VG_ERR_NOT_FOUND)
			vg_http_fail(req, err, "no such scan", NULL);
		goto out;
	}
	if ((err = vg_llm_scan_limits(sc->options, &lim)) != VG_OK) {
		err = vg_http_fail(req, VG_ERR_INTERNAL, "invalid cost limit setting", NULL);
		goto out;
	}
	if ((err = vg_store_llm_totals(s, sc->id, &t)) != VG_OK ||
	    (err = vg_store_llm_list(s, sc->id, &records)) != VG_OK) {
		err = vg_http_fail(req, err == VG_ERR_NOMEM ? err : VG_ERR_UNAVAILABLE, NULL, NULL);
		goto out;
	}
	body = usage_json(sc, &t, &lim, records);
	records = NULL;
	err = vg_http_json(req, 200, body);
out:
	json_decref(records);
	free(sc);
	return err;
}
