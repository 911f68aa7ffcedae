/*
 * store_json_llm.c - LLM usage in the json backend (store_impl.h).
 *
 * Collections:
 *   llm_usage    usage id -> one reserved (then settled) call
 *   llm_budgets  scan id -> the scan's running totals (the counters of
 *                struct vg_llm_totals), kept in the same locked step as
 *                each usage record, so neither a limit check nor a
 *                total ever reads a scan's calls one by one; and
 *                "_built", written once every scan's totals exist (a
 *                data directory from before budgets gets them summed
 *                from its usage records on first use)
 * Locks are taken in ascending order of name: llm_budgets < llm_usage <
 * scans.  A call's reservation and settlement write only its scan's
 * records, so they hold budgets and usage as the writer of that scan's
 * key (vg_jsondb_tx_keyed): calls of different scans do not wait for
 * each other's writes (two fsync'd files each).  Building "_built" holds
 * the whole collections.  A scan without a budget record (once "_built"
 * exists) has made no call.
 */
#include "config.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/timeutil.h"
#include "store/store_json_util.h"

#define C_BUDGETS "llm_budgets"
#define C_LLM "llm_usage"
#define C_SCANS "scans"
#define BUILT "_built"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static bool
of_scan(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "scan_id", arg);
}

static enum vg_err
llm_add(json_t *rec, struct vg_llm_totals *t)
{
	int64_t v[8];
	enum vg_err err;

	if ((err = vg_store_json_get_int(rec, "input_tokens", &v[0])) ||
	    (err = vg_store_json_get_int(rec, "cached_input_tokens", &v[1])) ||
	    (err = vg_store_json_get_int(rec, "output_tokens", &v[2])) ||
	    (err = vg_store_json_get_int(rec, "reasoning_tokens", &v[3])) ||
	    (err = vg_store_json_get_int(rec, "cost_microusd", &v[4])) ||
	    (err = vg_store_json_get_int(rec, "reserved_tokens", &v[5])) ||
	    (err = vg_store_json_get_int(rec, "reserved_microusd", &v[6])))
		return err;
	t->requests++;
	if (vg_store_json_field_is(rec, "status", "reserved")) {
		t->reserved_tokens += v[5];
		t->reserved_microusd += v[6];
		return VG_OK;
	}
	t->input_tokens += v[0];
	t->cached_input_tokens += v[1];
	t->output_tokens += v[2];
	t->reasoning_tokens += v[3];
	t->cost_microusd += v[4];
	return VG_OK;
}

/* The counters of a budget record, in the order of struct vg_llm_totals. */
static const struct {
	const char *key;
	size_t off;
} counters[] = {
	{"requests", offsetof(struct vg_llm_totals, requests)},
	{"input_tokens", offsetof(struct vg_llm_totals, input_tokens)},
	{"cached_input_tokens", offsetof(struct vg_llm_totals, cached_input_tokens)},
	{"output_tokens", offsetof(struct vg_llm_totals, output_tokens)},
	{"reasoning_tokens", offsetof(struct vg_llm_totals, reasoning_tokens)},
	{"cost_microusd", offsetof(struct vg_llm_totals, cost_microusd)},
	{"reserved_tokens", offsetof(struct vg_llm_totals, reserved_tokens)},
	{"reserved_microusd", offsetof(struct vg_llm_totals, reserved_microusd)},
};

static int64_t *
counter(struct vg_llm_totals *t, size_t i)
{
	return (int64_t *)((char *)t + counters[i].off);
}

static enum vg_err
totals_from(json_t *rec, struct vg_llm_totals *t)
{
	size_t i;
	enum vg_err err;

	memset(t, 0, sizeof *t);
	for (i = 0; i < NELEM(counters); i++)
		if ((err = vg_store_json_get_int(rec, counters[i].key, counter(t, i))) != VG_OK)
			return err;
	return VG_OK;
}

/* Write scan_id's budget record. */
static enum vg_err
budget_put(struct vg_jsondb_tx *btx, const char *scan_id, struct vg_llm_totals *t)
{
	json_t *rec = json_pack("{s:s}", "scan_id", scan_id);
	size_t i;
	enum vg_err err = VG_ERR_NOMEM;

	if (!rec)
		return err;
	for (i = 0; i < NELEM(counters); i++)
		if (json_object_set_new(rec, counters[i].key, json_integer(*counter(t, i))) != 0)
			goto out;
	err = vg_jsondb_tx_put(btx, scan_id, rec);
out:
	json_decref(rec);
	return err;
}

static int
by_scan(const void *a, const void *b)
{
	return strcmp(vg_store_json_peek(*(json_t *const *)a, "scan_id"),
	    vg_store_json_peek(*(json_t *const *)b, "scan_id"));
}

/*
 * Under budgets' exclusive lock and usage's lock: when "_built" is
 * missing (a data directory from before budgets), every scan's totals
 * summed from its usage records and written, then "_built".  Runs once.
 */
static enum vg_err
budgets_build(struct vg_jsondb_tx *btx, struct vg_jsondb_tx *utx)
{
	json_t *rec = NULL, *rows = NULL, **v = NULL;
	struct vg_llm_totals t;
	size_t i, n;
	enum vg_err err = vg_jsondb_tx_get(btx, BUILT, &rec);

	if (err != VG_ERR_NOT_FOUND)
		goto out;
	if ((err = vg_jsondb_tx_list(utx, NULL, NULL, &rows)) != VG_OK)
		goto out;
	n = json_array_size(rows);
	err = VG_ERR_NOMEM;
	if (!(v = calloc(n + 1, sizeof *v)))
		goto out;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(rows, i);
	qsort(v, n, sizeof *v, by_scan);
	memset(&t, 0, sizeof t);
	for (i = 0; i < n; i++) {
		const char *scan_id = vg_store_json_peek(v[i], "scan_id");

		if (scan_id[0] && (err = llm_add(v[i], &t)) != VG_OK)
			goto out;
		if (i + 1 < n && !strcmp(scan_id, vg_store_json_peek(v[i + 1], "scan_id")))
			continue;
		if (scan_id[0] && (err = budget_put(btx, scan_id, &t)) != VG_OK)
			goto out;
		memset(&t, 0, sizeof t);
	}
	err = VG_ERR_NOMEM;
	if (!(rec = json_pack("{s:o}", "built_at", vg_store_json_time(vg_time_now_us()))))
		goto out;
	err = vg_jsondb_tx_put(btx, BUILT, rec);
out:
	free(v);
	json_decref(rows);
	json_decref(rec);
	return err;
}

/* The scan's totals under budgets' lock (after budgets_build): zeros when
 * the scan has made no call. */
static enum vg_err
budget_get(struct vg_jsondb_tx *btx, const char *scan_id, struct vg_llm_totals *t)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_tx_get(btx, scan_id, &rec);

	memset(t, 0, sizeof *t);
	if (err == VG_OK)
		err = totals_from(rec, t);
	json_decref(rec);
	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

struct llm_op {
	struct vg_llm_reservation *r;
	const struct vg_llm_limits *lim;
	struct vg_llm_totals *after;
	const char *id;
	const struct vg_llm_settlement *st;
	const char *scan_id;
};

/* The state a scan record rec gives the proxy: status, attempt and when
 * a cancellation was asked (0: not). */
static enum vg_err
scan_state(json_t *rec, char status[12], int64_t *attempt, int64_t *cancel_at_us)
{
	enum vg_err err;

	if ((err = vg_store_json_get_str(rec, "status", status, 12)) ||
	    (err = vg_store_json_get_int(rec, "attempt", attempt)) ||
	    (err = vg_store_json_get_time(rec, "cancel_requested_at", cancel_at_us)))
		return err;
	return VG_OK;
}

/* VG_ERR_UNAUTHORIZED unless the scan record rec is live at attempt. */
static enum vg_err
check_live(json_t *rec, int64_t attempt)
{
	char status[12];
	int64_t at = 0, cancel = 0;

	if (scan_state(rec, status, &at, &cancel) != VG_OK)
		return VG_ERR_IO;    /* a record we did not write */
	return vg_store_llm_live(status, at, cancel, attempt) ? VG_OK : VG_ERR_UNAUTHORIZED;
}

/* As the writer of the scan's budget and usage records, under the scans'
 * lock (shared): the scan's totals read, the limits checked, the
 * reservation and the new totals written in one step. */
static enum vg_err
do_reserve(struct vg_store_json_held *h, void *arg)
{
	struct llm_op *op = arg;
	struct vg_llm_reservation *r = op->r;
	struct vg_jsondb_tx *btx = vg_store_json_tx_of(h, C_BUDGETS);
	struct vg_jsondb_tx *utx = vg_store_json_tx_of(h, C_LLM);
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_SCANS), r->scan_id, &rec)) != VG_OK ||
	    (r->attempt > 0 && (err = check_live(rec, r->attempt)) != VG_OK))
		goto out;
	json_decref(rec);
	rec = NULL;
	if ((err = budget_get(btx, r->scan_id, op->after)) != VG_OK)
		goto out;
	err = VG_ERR_QUOTA;
	if (vg_store_llm_over_limit(op->after, op->lim, r->tokens, r->microusd))
		goto out;
	rec = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i,"
	    " s:i, s:i, s:o, s:n, s:o, s:n}",
	    "id", r->id, "scan_id", r->scan_id, "user_id", vg_store_json_opt_str(r->user_id),
	    "provider", r->provider, "model", r->model, "endpoint", r->endpoint,
	    "status", "reserved", "reserved_tokens", (json_int_t)r->tokens,
	    "reserved_microusd", (json_int_t)r->microusd, "input_tokens", 0,
	    "cached_input_tokens", 0, "output_tokens", 0, "reasoning_tokens", 0,
	    "cost_microusd", 0, "latency_ms", 0, "http_status", 0,
	    "request_id", vg_store_json_opt_str(r->request_id), "upstream_request_id",
	    "created_at", vg_store_json_time(r->now_us), "settled_at");
	if ((err = vg_store_json_put_new(utx, r->id, rec, true)) != VG_OK)
		goto out;
	rec = NULL;
	op->after->requests++;
	op->after->reserved_tokens += r->tokens;
	op->after->reserved_microusd += r->microusd;
	/* The record first: a crash between the two leaves a reservation
	 * the totals do not hold yet, never totals naming no record. */
	err = budget_put(btx, r->scan_id, op->after);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
do_build(struct vg_store_json_held *h, void *arg)
{
	(void)arg;
	return budgets_build(vg_store_json_tx_of(h, C_BUDGETS), vg_store_json_tx_of(h, C_LLM));
}

static const struct vg_store_json_lock build_locks[] = {{C_BUDGETS, true}, {C_LLM, false}};

/* The budgets of a data directory from before them, built once (under the
 * whole collections' locks), before a scan's records are written as its
 * key's alone. */
static enum vg_err
ensure_built(struct vg_store *s)
{
	struct stat st;
	enum vg_err err = vg_jsondb_stat(s->jdb, C_BUDGETS, BUILT, &st);

	if (err == VG_ERR_NOT_FOUND)
		err = vg_store_json_with_locks(s->jdb, build_locks, NELEM(build_locks), do_build,
		    NULL);
	return err;
}

static const struct vg_store_json_lock reserve_locks[] = {
	{C_BUDGETS, true}, {C_LLM, true}, {C_SCANS, false},
};

/* A scan's calls are written as its key's records (budget and usage
 * alike), so calls of different scans do not wait for each other. */
static enum vg_err
json_llm_reserve(struct vg_store *s, struct vg_llm_reservation *r,
    const struct vg_llm_limits *lim, struct vg_llm_totals *after)
{
	struct llm_op op = {.r = r, .lim = lim, .after = after};
	enum vg_err err = ensure_built(s);

	if (err != VG_OK)
		return err;
	return vg_store_json_with_key_locks(s->jdb, reserve_locks, NELEM(reserve_locks), r->scan_id,
	    do_reserve, &op);
}

/* As the writer of the scan's budget and usage records: the record
 * leaves 'reserved' (once), and the scan's totals give back the
 * reservation and count the real usage (a failed call costs nothing). */
static enum vg_err
do_settle(struct vg_store_json_held *h, void *arg)
{
	struct llm_op *op = arg;
	const struct vg_llm_settlement *st = op->st;
	struct vg_jsondb_tx *btx = vg_store_json_tx_of(h, C_BUDGETS);
	struct vg_jsondb_tx *utx = vg_store_json_tx_of(h, C_LLM);
	bool failed = strcmp(st->status, "failed") == 0;
	struct vg_llm_totals t;
	int64_t rtok, rusd;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(utx, op->id, &rec)) != VG_OK)
		goto out;
	err = VG_ERR_CONFLICT;
	if (!vg_store_json_field_is(rec, "status", "reserved") ||
	    !vg_store_json_field_is(rec, "scan_id", op->scan_id))
		goto out;
	if ((err = vg_store_json_get_int(rec, "reserved_tokens", &rtok)) ||
	    (err = vg_store_json_get_int(rec, "reserved_microusd", &rusd)) ||
	    (err = budget_get(btx, op->scan_id, &t)))
		goto out;
	err = VG_ERR_NOMEM;
	if (json_object_set_new(rec, "status", json_string(st->status)) != 0 ||
	    json_object_set_new(rec, "input_tokens", json_integer(st->input_tokens)) != 0 ||
	    json_object_set_new(rec, "cached_input_tokens",
	    json_integer(st->cached_input_tokens)) != 0 ||
	    json_object_set_new(rec, "output_tokens", json_integer(st->output_tokens)) != 0 ||
	    json_object_set_new(rec, "reasoning_tokens", json_integer(st->reasoning_tokens)) != 0 ||
	    json_object_set_new(rec, "cost_microusd",
	    json_integer(failed ? 0 : st->cost_microusd)) != 0 ||
	    json_object_set_new(rec, "latency_ms", json_integer(st->latency_ms)) != 0 ||
	    json_object_set_new(rec, "http_status", json_integer(st->http_status)) != 0 ||
	    json_object_set_new(rec, "upstream_request_id",
	    vg_store_json_opt_str(st->upstream_request_id)) != 0 ||
	    json_object_set_new(rec, "settled_at", vg_store_json_time(st->now_us)) != 0)
		goto out;
	if ((err = vg_jsondb_tx_put(utx, op->id, rec)) != VG_OK)
		goto out;
	t.reserved_tokens = t.reserved_tokens > rtok ? t.reserved_tokens - rtok : 0;
	t.reserved_microusd = t.reserved_microusd > rusd ? t.reserved_microusd - rusd : 0;
	t.input_tokens += st->input_tokens;
	t.cached_input_tokens += st->cached_input_tokens;
	t.output_tokens += st->output_tokens;
	t.reasoning_tokens += st->reasoning_tokens;
	t.cost_microusd += failed ? 0 : st->cost_microusd;
	err = budget_put(btx, op->scan_id, &t);
out:
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock settle_locks[] = {{C_BUDGETS, true}, {C_LLM, true}};

/* The record names its scan, which never changes: read first, it says
 * whose key to write under. */
static enum vg_err
json_llm_settle(struct vg_store *s, const char *id, const struct vg_llm_settlement *st)
{
	char scan_id[VG_UUID_LEN + 1];
	struct llm_op op = {.id = id, .st = st, .scan_id = scan_id};
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = ensure_built(s)) != VG_OK ||
	    (err = vg_jsondb_get(s->jdb, C_LLM, id, &rec)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "scan_id", scan_id, sizeof scan_id)) != VG_OK)
		goto out;
	err = vg_store_json_with_key_locks(s->jdb, settle_locks, NELEM(settle_locks), scan_id,
	    do_settle, &op);
out:
	json_decref(rec);
	return err;
}

/* One read of the budget record; none is zeros (no call yet), once a
 * data directory from before budgets has them built. */
static enum vg_err
json_llm_totals(struct vg_store *s, const char *scan_id, struct vg_llm_totals *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_BUDGETS, scan_id, &rec);

	memset(out, 0, sizeof *out);
	if (err == VG_ERR_NOT_FOUND && (err = ensure_built(s)) == VG_OK)
		err = vg_jsondb_get(s->jdb, C_BUDGETS, scan_id, &rec);
	if (err == VG_OK)
		err = totals_from(rec, out);
	json_decref(rec);
	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

/* Oldest first by (created_at, id). */
static int
llm_oldest_cmp(const void *a, const void *b)
{
	return -vg_store_json_keyed_cmp(a, b);
}

static const char *const llm_item_keys[] = {
	"id", "model", "endpoint", "status", "input_tokens", "cached_input_tokens",
	"output_tokens", "reasoning_tokens", "cost_microusd", "reserved_tokens",
	"reserved_microusd", "latency_ms", "http_status", "request_id", "upstream_request_id",
	"created_at", "settled_at",
};

static enum vg_err
json_llm_list(struct vg_store *s, const char *scan_id, json_t **items)
{
	json_t *rows = NULL, *arr = NULL, *rec, *item;
	struct vg_store_json_keyed *keys = NULL;
	size_t i, j, n;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_LLM, of_scan, (void *)scan_id, &rows)) != VG_OK)
		goto out;
	n = json_array_size(rows);
	err = VG_ERR_NOMEM;
	if (!(keys = calloc(n + 1, sizeof *keys)) || !(arr = json_array()))
		goto out;
	json_array_foreach(rows, i, rec) {
		keys[i].rec = rec;
		keys[i].id = vg_store_json_peek(rec, "id");
		if ((err = vg_store_json_get_time(rec, "created_at", &keys[i].at_us)) != VG_OK)
			goto out;
	}
	qsort(keys, n, sizeof *keys, llm_oldest_cmp);
	err = VG_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (!(item = json_object()) || json_array_append_new(arr, item) != 0)
			goto out;
		for (j = 0; j < NELEM(llm_item_keys); j++) {
			json_t *v = json_object_get(keys[i].rec, llm_item_keys[j]);

			if (json_object_set(item, llm_item_keys[j], v ? v : json_null()) != 0)
				goto out;
		}
	}
	*items = arr;
	arr = NULL;
	err = VG_OK;
out:
	free(keys);
	json_decref(arr);
	json_decref(rows);
	return err;
}

/* The scan's record, then its usage (two reads: a call racing with them
 * is caught by the reservation, which is the step that counts). */
static enum vg_err
json_llm_gate(struct vg_store *s, const char *scan_id, struct vg_llm_gate *out)
{
	json_t *rec = NULL, *opts;
	enum vg_err err = vg_jsondb_get(s->jdb, C_SCANS, scan_id, &rec);

	if (err != VG_OK)
		goto out;
	opts = json_object_get(rec, "options");
	if ((err = vg_store_json_get_str(rec, "id", out->scan_id, sizeof out->scan_id)) ||
	    (err = vg_store_json_get_str(rec, "created_by", out->created_by,
	    sizeof out->created_by)) ||
	    (err = scan_state(rec, out->status, &out->attempt, &out->cancel_requested_at_us)))
		goto out;
	if ((err = vg_store_object_dump(opts, out->options, sizeof out->options)) != VG_OK) {
		err = err == VG_ERR_INVALID ? VG_ERR_IO : err;   /* a record we did not write */
		goto out;
	}
	err = json_llm_totals(s, scan_id, &out->totals);
out:
	json_decref(rec);
	return err;
}

const struct vg_store_llm_ops vg_store_json_llm_ops = {
	.reserve = json_llm_reserve,
	.settle = json_llm_settle,
	.totals = json_llm_totals,
	.list = json_llm_list,
	.gate = json_llm_gate,
};
