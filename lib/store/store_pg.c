/*
 * store_pg.c - the postgres backend: each entity a table (created by the
 * sql/ migrations), each operation a constant parameterized statement.
 *
 * Times cross the wire as integer microseconds since the epoch, converted
 * by the SQL (US_TO_TS / TS_TO_US, store_pg_util.h) so no precision is
 * lost and the C side formats them exactly as the json backend does.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "store/migrate.h"
#include "store/store_pg_util.h"

static enum vg_err
pg_open(struct vg_store *s)
{
	s->pg = vg_pg_default();
	return VG_OK;
}

static void
pg_close(struct vg_store *s)
{
	/* The connection is the process's, not this handle's: it stays
	 * cached for the next vg_store_open (vg_pg_disconnect closes it). */
	s->pg = NULL;
}

static enum vg_err
pg_ping(struct vg_store *s)
{
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, "SELECT 1", 0, NULL, &res);

	PQclear(res);
	return err;
}

static enum vg_err
pg_schema_current(struct vg_store *s, bool *current, char *detail, size_t detail_len)
{
	return vg_migrate_check(s->pg, vg_migrate_dir(), current, detail, detail_len);
}

/* ---- audit ---- */

enum vg_err
vg_store_pg_audit_insert(struct vg_pg *db, const struct vg_audit_event *ev)
{
	static const char sql[] =
	    "INSERT INTO audit_log (id, at, actor_id, action, target_type, target_id,"
	    " request_id, client_ip, details)"
	    " VALUES ($1, " US_TO_TS("$2") ", $3, $4, $5, $6, $7, $8, $9::jsonb)";
	char at[24];
	char *details = NULL;
	PGresult *res = NULL;
	enum vg_err err;

	snprintf(at, sizeof at, "%lld", (long long)ev->at_us);
	if (ev->details && !(details = json_dumps(ev->details, JSON_COMPACT)))
		return VG_ERR_NOMEM;
	{
		const char *params[] = {ev->id, at, ev->actor_id, ev->action, ev->target_type,
		    ev->target_id, ev->request_id, ev->client_ip, details};

		err = vg_pg_exec(db, sql, 9, params, &res);
	}
	PQclear(res);
	free(details);
	return err;
}

static enum vg_err
pg_audit_append(struct vg_store *s, const struct vg_audit_event *ev)
{
	return vg_store_pg_audit_insert(s->pg, ev);
}

#define AUDIT_COLS "id, " TS_TO_US("at") ", actor_id, action, target_type, target_id," \
	" request_id, client_ip, details::text"

/* One audit_log row (AUDIT_COLS) as the list object; new reference. */
static enum vg_err
audit_row(const PGresult *res, int row, json_t **out)
{
	struct vg_audit_event ev;
	const char *details = vg_pg_text(res, row, 8);
	json_t *d = NULL;
	enum vg_err err = VG_ERR_INTERNAL;

	*out = NULL;
	memset(&ev, 0, sizeof ev);
	if (vg_str_copy(ev.id, sizeof ev.id, vg_pg_text(res, row, 0)) != VG_OK)
		goto out;
	ev.at_us = vg_pg_i64(res, row, 1, 0);
	ev.actor_id = vg_pg_text(res, row, 2);
	ev.action = vg_pg_text(res, row, 3);
	ev.target_type = vg_pg_text(res, row, 4);
	ev.target_id = vg_pg_text(res, row, 5);
	ev.request_id = vg_pg_text(res, row, 6);
	ev.client_ip = vg_pg_text(res, row, 7);
	if (details && !(d = json_loads(details, 0, NULL)))
		goto out;
	ev.details = d;
	err = (*out = vg_store_audit_json(&ev)) ? VG_OK : VG_ERR_NOMEM;
out:
	json_decref(d);
	return err;
}

static enum vg_err
pg_audit_list(struct vg_store *s, const struct vg_store_pos *pos, int n, json_t **items)
{
	static const char first[] =
	    "SELECT " AUDIT_COLS " FROM audit_log ORDER BY at DESC, id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " AUDIT_COLS " FROM audit_log"
	    " WHERE (at, id) < (" US_TO_TS("$2") ", $3::uuid)"
	    " ORDER BY at DESC, id DESC LIMIT $1";
	char lim[16], at[24];
	const char *params[3] = {lim, at, pos ? pos->id : NULL};
	PGresult *res = NULL;
	json_t *arr = NULL, *item = NULL;
	enum vg_err err;
	int i;

	*items = NULL;
	snprintf(lim, sizeof lim, "%d", n);
	snprintf(at, sizeof at, "%lld", pos ? (long long)pos->at_us : 0LL);
	if ((err = vg_pg_exec(s->pg, pos ? after : first, pos ? 3 : 1, params, &res)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(arr = json_array()))
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if ((err = audit_row(res, i, &item)) != VG_OK)
			goto out;
		err = VG_ERR_NOMEM;
		if (json_array_append_new(arr, item) != 0)
			goto out;
	}
	*items = arr;
	arr = NULL;
	err = VG_OK;
out:
	json_decref(arr);
	PQclear(res);
	return err;
}

/* ---- workers ---- */

static enum vg_err
pg_worker_upsert(struct vg_store *s, const struct vg_worker *w)
{
	static const char sql[] =
	    "INSERT INTO workers (id, host, pid, version, started_at, last_heartbeat_at,"
	    " state, current_scan_id)"
	    " VALUES ($1, $2, $3, $4, " US_TO_TS("$5") ", " US_TO_TS("$6") ", $7,"
	    " NULLIF($8, '')::uuid)"
	    " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,"
	    " version = EXCLUDED.version, started_at = EXCLUDED.started_at,"
	    " last_heartbeat_at = EXCLUDED.last_heartbeat_at, state = EXCLUDED.state,"
	    " current_scan_id = EXCLUDED.current_scan_id";
	char pid[24], started[24], beat[24];
	const char *params[] = {w->id, w->host, pid, w->version, started, beat, w->state,
	    w->current_scan_id};
	PGresult *res = NULL;
	enum vg_err err;

	snprintf(pid, sizeof pid, "%lld", (long long)w->pid);
	snprintf(started, sizeof started, "%lld", (long long)w->started_at_us);
	snprintf(beat, sizeof beat, "%lld", (long long)w->last_heartbeat_us);
	err = vg_pg_exec(s->pg, sql, 8, params, &res);
	PQclear(res);
	return err;
}

/* One workers row (the columns of pg_worker_list) into a vg_worker. */
static enum vg_err
worker_row(const PGresult *res, int row, void *item)
{
	struct vg_worker *w = item;
	enum vg_err err;

	if ((err = vg_store_pg_cell(res, row, 0, w->id, sizeof w->id)) != VG_OK ||
	    (err = vg_store_pg_cell(res, row, 1, w->host, sizeof w->host)) != VG_OK ||
	    (err = vg_store_pg_cell(res, row, 3, w->version, sizeof w->version)) != VG_OK ||
	    (err = vg_store_pg_cell(res, row, 6, w->state, sizeof w->state)) != VG_OK ||
	    (err = vg_store_pg_cell(res, row, 7, w->current_scan_id,
	    sizeof w->current_scan_id)) != VG_OK)
		return err;
	w->pid = vg_pg_i64(res, row, 2, 0);
	w->started_at_us = vg_pg_i64(res, row, 4, 0);
	w->last_heartbeat_us = vg_pg_i64(res, row, 5, 0);
	return VG_OK;
}

static enum vg_err
pg_worker_list(struct vg_store *s, struct vg_worker **out, size_t *count)
{
	static const char sql[] =
	    "SELECT id, host, pid, version, " TS_TO_US("started_at") ", "
	    TS_TO_US("last_heartbeat_at") ", state, current_scan_id FROM workers";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, sql, 0, NULL, sizeof **out, worker_row, NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

const struct vg_store_ops vg_store_pg_ops = {
	.name = "postgres",
	.auth = &vg_store_pg_auth_ops,
	.sources = &vg_store_pg_sources_ops,
	.scans = &vg_store_pg_scans_ops,
	.llm = &vg_store_pg_llm_ops,
	.open = pg_open,
	.close = pg_close,
	.ping = pg_ping,
	.schema_current = pg_schema_current,
	.audit_append = pg_audit_append,
	.audit_list = pg_audit_list,
	.worker_upsert = pg_worker_upsert,
	.worker_list = pg_worker_list,
};
