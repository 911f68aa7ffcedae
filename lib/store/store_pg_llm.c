/*
 * store_pg_llm.c - LLM usage in the postgres backend: llm_usage and the
 * running totals of scan_llm_budget (sql/006_pipeline.sql).  A
 * reservation is one statement with its budget check (an UPDATE of the
 * scan's budget row whose WHERE is the limit); a settlement is one
 * statement that moves the usage row out of 'reserved' and the budget
 * with it.
 */
#include "config.h"
#include <string.h>
#include "core/timeutil.h"
#include "store/store_pg_util.h"

#define BUDGET_COLS "b.requests, b.input_tokens, b.cached_input_tokens, b.output_tokens," \
	" b.reasoning_tokens, b.cost_microusd, b.reserved_tokens, b.reserved_microusd"

/* The BUDGET_COLS of a row from column col on (NULL: 0). */
static void
totals_at(const PGresult *res, int row, int col, struct vg_llm_totals *t)
{
	t->requests = vg_pg_i64(res, row, col, 0);
	t->input_tokens = vg_pg_i64(res, row, col + 1, 0);
	t->cached_input_tokens = vg_pg_i64(res, row, col + 2, 0);
	t->output_tokens = vg_pg_i64(res, row, col + 3, 0);
	t->reasoning_tokens = vg_pg_i64(res, row, col + 4, 0);
	t->cost_microusd = vg_pg_i64(res, row, col + 5, 0);
	t->reserved_tokens = vg_pg_i64(res, row, col + 6, 0);
	t->reserved_microusd = vg_pg_i64(res, row, col + 7, 0);
}

static void
totals_row(const PGresult *res, int row, struct vg_llm_totals *t)
{
	totals_at(res, row, 0, t);
}

/* The scan's budget row: VG_ERR_NOT_FOUND when the scan has none yet. */
static enum vg_err
budget_get(struct vg_pg *db, const char *scan_id, struct vg_llm_totals *out)
{
	static const char sql[] =
	    "SELECT " BUDGET_COLS " FROM scan_llm_budget b WHERE b.scan_id = $1";
	const char *params[] = {scan_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(db, sql, 1, params, &res);

	if (err == VG_OK)
		totals_row(res, 0, out);
	PQclear(res);
	return err;
}

/* Scan t (the table's name with its dot, or "") may still use the proxy
 * at the attempt in parameter att: vg_store_llm_live in SQL. */
#define SCAN_LIVE(t, att) t "status IN ('claimed', 'running') AND " t "attempt = " att \
	"::integer AND " t "cancel_requested_at IS NULL"

/*
 * The reservation is one statement: the UPDATE of the scan's budget row
 * checks every limit in its WHERE (a concurrent reservation waits for the
 * row and the WHERE is checked again against what it committed), and the
 * usage row is inserted from the UPDATE's answer, so both or neither are
 * written.  Spent tokens are the settled input and output tokens.  A
 * scan's first reservation creates its budget row and tries again; no
 * row for a scan that has one is the refusal.
 */
static enum vg_err
pg_llm_reserve(struct vg_store *s, struct vg_llm_reservation *r,
    const struct vg_llm_limits *lim, struct vg_llm_totals *after)
{
	static const char reserve[] =
	    "WITH b AS (UPDATE scan_llm_budget b SET requests = b.requests + 1,"
	    "  reserved_tokens = b.reserved_tokens + $7::bigint,"
	    "  reserved_microusd = b.reserved_microusd + $8::bigint"
	    "  WHERE b.scan_id = $2"
	    "  AND ($10::bigint = 0 OR b.requests + 1 <= $10::bigint)"
	    "  AND ($11::bigint = 0 OR b.input_tokens + b.output_tokens + b.reserved_tokens"
	    "   + $7::bigint <= $11::bigint)"
	    "  AND ($12::bigint = 0 OR b.cost_microusd + b.reserved_microusd + $8::bigint"
	    "   <= $12::bigint)"
	    "  AND ($14::integer = 0 OR EXISTS (SELECT 1 FROM scans s WHERE s.id = b.scan_id"
	    "   AND " SCAN_LIVE("s.", "$14") "))"
	    "  RETURNING b.*),"
	    " u AS (INSERT INTO llm_usage (id, scan_id, user_id, provider, model, endpoint, status,"
	    "  reserved_tokens, reserved_microusd, request_id, created_at)"
	    "  SELECT $1, b.scan_id, NULLIF($3, '')::uuid, $4, $5, $6, 'reserved', $7::bigint,"
	    "  $8::bigint, NULLIF($9, ''), " US_TO_TS("$13") " FROM b)"
	    " SELECT " BUDGET_COLS " FROM b";
	static const char open_budget[] =
	    "INSERT INTO scan_llm_budget (scan_id) SELECT id FROM scans WHERE id = $1"
	    " ON CONFLICT (scan_id) DO NOTHING";
	static const char has_scan[] = "SELECT 1 FROM scans WHERE id = $1";
	static const char live[] = "SELECT 1 FROM scans WHERE id = $1 AND " SCAN_LIVE("", "$2");
	struct vg_store_pg_num tok, usd, mr, mt, mc, now, att;
	const char *params[14];
	const char *p_live[2];
	const char *p_scan[] = {r->scan_id};
	struct vg_llm_totals t;
	PGresult *res = NULL;
	enum vg_err err;
	int round;

	memset(&t, 0, sizeof t);
	if (r->now_us == 0)
		r->now_us = vg_time_now_us();
	params[0] = r->id;
	params[1] = r->scan_id;
	params[2] = r->user_id ? r->user_id : "";
	params[3] = r->provider;
	params[4] = r->model;
	params[5] = r->endpoint;
	params[6] = vg_store_pg_num(&tok, r->tokens);
	params[7] = vg_store_pg_num(&usd, r->microusd);
	params[8] = r->request_id ? r->request_id : "";
	params[9] = vg_store_pg_num(&mr, lim ? lim->max_requests : 0);
	params[10] = vg_store_pg_num(&mt, lim ? lim->max_tokens : 0);
	params[11] = vg_store_pg_num(&mc, lim ? lim->max_cost_microusd : 0);
	params[12] = vg_store_pg_num(&now, r->now_us);
	params[13] = vg_store_pg_num(&att, r->attempt > 0 ? r->attempt : 0);
	p_live[0] = r->scan_id;
	p_live[1] = params[13];
	for (round = 0; round < 3; round++) {
		err = vg_store_pg_exec_one(s->pg, reserve, 14, params, &res);
		if (err == VG_OK) {
			totals_row(res, 0, &t);
			goto out;
		}
		if (err != VG_ERR_NOT_FOUND)
			goto out;
		/* Refused: first, was it the scan no longer being live? */
		if (r->attempt > 0 &&
		    (err = vg_store_pg_exec_one(s->pg, live, 2, p_live, NULL)) != VG_OK) {
			/* not live, or no such scan at all */
			if (err == VG_ERR_NOT_FOUND &&
			    (err = vg_store_pg_exec_one(s->pg, has_scan, 1, p_scan, NULL)) == VG_OK)
				err = VG_ERR_UNAUTHORIZED;
			goto out;
		}
		/* Refused, or the scan had no budget row when the statement
		 * began: a concurrent first call may have made it since, so a
		 * row that does not cross a limit is tried again. */
		if ((err = budget_get(s->pg, r->scan_id, &t)) == VG_OK) {
			err = VG_ERR_QUOTA;
			if (vg_store_llm_over_limit(&t, lim, r->tokens, r->microusd))
				goto out;
			continue;
		}
		if (err != VG_ERR_NOT_FOUND)
			goto out;
		if ((err = vg_store_pg_exec_one(s->pg, open_budget, 1, p_scan, NULL)) != VG_OK &&
		    err != VG_ERR_NOT_FOUND)
			goto out;
		if ((err = vg_store_pg_exec_one(s->pg, has_scan, 1, p_scan, NULL)) != VG_OK)
			goto out;
	}
	err = VG_ERR_INTERNAL;
out:
	if ((err == VG_OK || err == VG_ERR_QUOTA) && after)
		*after = t;
	PQclear(res);
	return err;
}

/*
 * One statement: the usage row leaves 'reserved' (only once: the WHERE
 * names the state), and the scan's budget gives back the reservation and
 * counts the real tokens and cost (a failed call costs nothing).
 */
static enum vg_err
pg_llm_settle(struct vg_store *s, const char *id, const struct vg_llm_settlement *st)
{
	static const char sql[] =
	    "WITH u AS (UPDATE llm_usage l SET status = $2, input_tokens = $3::bigint,"
	    "  cached_input_tokens = $4::bigint, output_tokens = $5::bigint,"
	    "  reasoning_tokens = $6::bigint,"
	    "  cost_microusd = CASE WHEN $2 = 'settled' THEN $7::bigint ELSE 0 END,"
	    "  latency_ms = $8::bigint, http_status = $9::integer,"
	    "  upstream_request_id = NULLIF($10, ''), settled_at = " US_TO_TS("$11")
	    "  WHERE l.id = $1 AND l.status = 'reserved'"
	    "  RETURNING l.scan_id, l.reserved_tokens, l.reserved_microusd, l.status,"
	    "  l.input_tokens, l.cached_input_tokens, l.output_tokens, l.reasoning_tokens,"
	    "  l.cost_microusd),"
	    " b AS (UPDATE scan_llm_budget b SET"
	    "  reserved_tokens = b.reserved_tokens - u.reserved_tokens,"
	    "  reserved_microusd = b.reserved_microusd - u.reserved_microusd,"
	    "  input_tokens = b.input_tokens + u.input_tokens,"
	    "  cached_input_tokens = b.cached_input_tokens + u.cached_input_tokens,"
	    "  output_tokens = b.output_tokens + u.output_tokens,"
	    "  reasoning_tokens = b.reasoning_tokens + u.reasoning_tokens,"
	    "  cost_microusd = b.cost_microusd + u.cost_microusd"
	    "  FROM u WHERE b.scan_id = u.scan_id)"
	    " SELECT 1 FROM u";
	static const char exists[] = "SELECT 1 FROM llm_usage WHERE id = $1";
	struct vg_store_pg_num in, cached, outp, reas, cost, lat, http, now;
	const char *params[] = {id, st->status, vg_store_pg_num(&in, st->input_tokens),
	    vg_store_pg_num(&cached, st->cached_input_tokens),
	    vg_store_pg_num(&outp, st->output_tokens),
	    vg_store_pg_num(&reas, st->reasoning_tokens),
	    vg_store_pg_num(&cost, st->cost_microusd), vg_store_pg_num(&lat, st->latency_ms),
	    vg_store_pg_num(&http, st->http_status), st->upstream_request_id,
	    vg_store_pg_num(&now, st->now_us ? st->now_us : vg_time_now_us())};
	const char *p_id[] = {id};
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 11, params, NULL);

	if (err != VG_ERR_NOT_FOUND)
		return err;
	err = vg_store_pg_exec_one(s->pg, exists, 1, p_id, NULL);
	return err == VG_OK ? VG_ERR_CONFLICT : err;
}

/* A scan without reservations has all-zero totals. */
static enum vg_err
pg_llm_totals(struct vg_store *s, const char *scan_id, struct vg_llm_totals *out)
{
	enum vg_err err;

	memset(out, 0, sizeof *out);
	err = budget_get(s->pg, scan_id, out);
	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

static enum vg_err
pg_llm_list(struct vg_store *s, const char *scan_id, json_t **items)
{
	static const char sql[] =
	    "SELECT id, model, endpoint, status, input_tokens, cached_input_tokens,"
	    " output_tokens, reasoning_tokens, cost_microusd, reserved_tokens, reserved_microusd,"
	    " latency_ms, http_status, request_id, upstream_request_id, "
	    TS_TO_US("created_at") ", " TS_TO_US("settled_at")
	    " FROM llm_usage WHERE scan_id = $1 ORDER BY created_at, id";
	static const char *const counters[] = {"input_tokens", "cached_input_tokens",
	    "output_tokens", "reasoning_tokens", "cost_microusd", "reserved_tokens",
	    "reserved_microusd", "latency_ms", "http_status"};
	const char *params[] = {scan_id};
	char created[VG_TIME_RFC3339_LEN], settled[VG_TIME_RFC3339_LEN];
	PGresult *res = NULL;
	json_t *arr = NULL, *item = NULL;
	enum vg_err err;
	size_t k;
	int i;

	*items = NULL;
	if ((err = vg_pg_exec(s->pg, sql, 1, params, &res)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(arr = json_array()))
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		vg_time_format(vg_pg_i64(res, i, 15, 0), created);
		if (vg_pg_text(res, i, 16))
			vg_time_format(vg_pg_i64(res, i, 16, 0), settled);
		item = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?}",
		    "id", vg_pg_text(res, i, 0), "model", vg_pg_text(res, i, 1),
		    "endpoint", vg_pg_text(res, i, 2), "status", vg_pg_text(res, i, 3),
		    "request_id", vg_pg_text(res, i, 13),
		    "upstream_request_id", vg_pg_text(res, i, 14), "created_at", created,
		    "settled_at", vg_pg_text(res, i, 16) ? settled : NULL);
		if (!item)
			goto out;
		for (k = 0; k < sizeof counters / sizeof counters[0]; k++)
			if (json_object_set_new(item, counters[k],
			    json_integer(vg_pg_i64(res, i, 4 + (int)k, 0))) != 0)
				goto out;
		if (json_array_append_new(arr, item) != 0) {
			item = NULL;
			goto out;
		}
		item = NULL;
	}
	*items = arr;
	arr = NULL;
	err = VG_OK;
out:
	json_decref(item);
	json_decref(arr);
	PQclear(res);
	return err;
}

/* The scan and its budget row (none yet: zeros) in one statement. */
static enum vg_err
pg_llm_gate(struct vg_store *s, const char *scan_id, struct vg_llm_gate *out)
{
	static const char sql[] =
	    "SELECT s.id, s.created_by, s.status, s.attempt, " TS_TO_US("s.cancel_requested_at")
	    ", s.options::text, " BUDGET_COLS
	    " FROM scans s LEFT JOIN scan_llm_budget b ON b.scan_id = s.id WHERE s.id = $1";
	const char *params[] = {scan_id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err != VG_OK)
		goto out;
	if ((err = vg_store_pg_cell(res, 0, 0, out->scan_id, sizeof out->scan_id)) ||
	    (err = vg_store_pg_cell(res, 0, 1, out->created_by, sizeof out->created_by)) ||
	    (err = vg_store_pg_cell(res, 0, 2, out->status, sizeof out->status)) ||
	    (err = vg_store_pg_cell(res, 0, 5, out->options, sizeof out->options)))
		goto out;
	out->attempt = vg_pg_i64(res, 0, 3, 0);
	out->cancel_requested_at_us = vg_pg_i64(res, 0, 4, 0);
	totals_at(res, 0, 6, &out->totals);
out:
	PQclear(res);
	return err;
}

const struct vg_store_llm_ops vg_store_pg_llm_ops = {
	.reserve = pg_llm_reserve,
	.settle = pg_llm_settle,
	.totals = pg_llm_totals,
	.list = pg_llm_list,
	.gate = pg_llm_gate,
};
