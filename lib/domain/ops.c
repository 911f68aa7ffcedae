/*
 * ops.c - the operators' routes of vega-ops.fcgi (api.h): the worker
 * registry, the cleanup pass (its last run, what the next would remove,
 * run it now) and every user's scans.  The route table gives them to
 * operators and roots only.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "auth/auth.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/cleanup.h"
#include "store/store.h"

#define SCANS_PAGE_MAX 200

/* A registry row as JSON, with whether its heartbeat is older than
 * VEGA_WORKER_HEARTBEAT_TTL_SECONDS (a stopped worker is never stale). */
static json_t *
worker_json(const struct vg_worker *w, int64_t now_us)
{
	int64_t age = (now_us - w->last_heartbeat_us) / 1000000;
	bool stale = strcmp(w->state, "stopped") != 0 &&
	    age > vg_cfg_int(VG_SET_WORKER_HEARTBEAT_TTL_SECONDS);

	return json_pack("{s:s,s:s,s:I,s:s,s:o,s:o,s:I,s:s,s:o,s:b}", "id", w->id, "host",
	    w->host, "pid", (json_int_t)w->pid, "version", w->version, "started_at",
	    vg_http_opt_time(w->started_at_us), "last_heartbeat_at",
	    vg_http_opt_time(w->last_heartbeat_us), "heartbeat_age_seconds", (json_int_t)age,
	    "state", w->state, "current_scan_id", vg_http_opt_str(w->current_scan_id),
	    "stale", stale);
}

enum vg_err
vg_api_ops_workers(struct vg_http_req *req)
{
	struct vg_store *s = NULL;
	struct vg_worker *w = NULL;
	json_t *items = NULL;
	int64_t now = vg_time_now_us();
	size_t n = 0, i;
	enum vg_err err;

	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_worker_list(s, &w, &n);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, worker_json(&w[i], now));
	free(w);
	if (err != VG_OK) {
		json_decref(items);
		return vg_http_fail(req, err, NULL, NULL);
	}
	return vg_http_json(req, 200, json_pack("{s:o,s:I}", "items", items ? items : json_array(),
	    "heartbeat_ttl_seconds", (json_int_t)vg_cfg_int(VG_SET_WORKER_HEARTBEAT_TTL_SECONDS)));
}

/* A pass of the cleanup (dry or real) for the request's caller; *report
 * as vg_cleanup_run gives it.  VG_ERR_IO (entries that could not be
 * removed) is not a failure of the request: they are listed. */
static enum vg_err
cleanup_pass(struct vg_http_req *req, struct vg_store *s, bool dry, json_t **report)
{
	const struct vg_principal *who = vg_http_principal(req);
	struct vg_cleanup_opts o = {dry, vg_time_now_us(), who ? who->user_id : NULL,
	    vg_http_request_id(req)};
	enum vg_err err = vg_cleanup_run(s, &o, report);

	if (err == VG_ERR_IO && *report)
		err = VG_OK;
	if (err != VG_OK) {
		json_decref(*report);
		*report = NULL;
	}
	return err;
}

enum vg_err
vg_api_ops_cleanup_get(struct vg_http_req *req)
{
	struct vg_store *s = NULL;
	json_t *last = NULL, *next = NULL;
	enum vg_err err;

	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	if ((err = vg_cleanup_last(s, &last)) != VG_OK ||
	    (err = cleanup_pass(req, s, true, &next)) != VG_OK) {
		json_decref(last);
		return vg_http_fail(req, err, NULL, NULL);
	}
	return vg_http_json(req, 200, json_pack("{s:o,s:o}", "last_run", last ? last : json_null(),
	    "next_run", next));
}

enum vg_err
vg_api_ops_cleanup_run(struct vg_http_req *req)
{
	struct vg_store *s = NULL;
	json_t *report = NULL;
	enum vg_err err;

	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	if ((err = cleanup_pass(req, s, false, &report)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	return vg_http_json(req, 200, report);
}

/* A scan as the operators' list shows it: the form every scan answer
 * has, and the worker that claimed it. */
static json_t *
scan_json(const struct vg_scan *sc)
{
	json_t *o = vg_api_scan_json(sc, NULL);

	if (o && json_object_set_new(o, "claimed_by", vg_http_opt_str(sc->claimed_by)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool
scan_status_valid(const char *st)
{
	static const char *const states[] = {VG_SCAN_QUEUED, VG_SCAN_CLAIMED, VG_SCAN_RUNNING,
	    VG_SCAN_COMPLETED, VG_SCAN_FAILED, VG_SCAN_CANCELLED};
	size_t i;

	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(st, states[i]) == 0)
			return true;
	return false;
}

enum vg_err
vg_api_ops_scans(struct vg_http_req *req)
{
	struct vg_scan_filter f = {NULL, NULL, NULL};
	struct vg_store *s = NULL;
	struct vg_scan *rows = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t n = 0, i;
	enum vg_err err;

	f.status = vg_http_query_get(req, "status");
	if (f.status && *f.status && !scan_status_valid(f.status))
		return vg_http_fail(req, VG_ERR_INVALID, "status must be one of queued, claimed,"
		    " running, completed, failed, cancelled", "status");
	if ((err = vg_http_page_args(req, SCANS_PAGE_MAX, &limit, &cursor)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_scan_list(s, &f, cursor, (int)limit, &rows, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, scan_json(&rows[i]));
	err = vg_http_answer_page(req, err, items, next);
	free(rows);
	free(next);
	return err;
}
