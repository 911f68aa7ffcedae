/*
 * store_pg_scans.c - scans, events, findings, triage, runner jobs, pruning
 * and LLM usage in the postgres backend (tables of sql/003_scans.sql,
 * 004_ops.sql and 006_pipeline.sql).
 *
 * Every statement is a constant with parameters; times cross as integer
 * microseconds (US_TO_TS / TS_TO_US, store_pg_util.h).  Optional ids
 * travel as "" and become NULL through NULLIF(...)::uuid, never through a
 * bare cast, which the planner would fold (and fail on) even where the
 * SQL guards it.
 *
 * What must be atomic is one statement wherever that can be said in SQL:
 * the claim (FOR UPDATE SKIP LOCKED), every lease-checked transition
 * (its UPDATE names attempt, lease token and the states it leaves, and no
 * row changed is VG_ERR_CONFLICT), an event with its sequence number, a
 * finish or a rescue with its final event, an LLM reservation with the
 * budget check (an UPDATE of the scan's budget row whose WHERE is the
 * limit).  Where one statement must see what another committed while it
 * waited for a lock (the quota of scan_create, a finding upsert against a
 * triage), a transaction takes the lock in one statement and reads in
 * the next, since a statement reads with the snapshot it started with.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_pg_util.h"

/* Copy an id of the caller's, or draw one when the caller left it "". */
static enum vg_err
id_or_new(char id[VG_UUID_LEN + 1])
{
	return id[0] ? VG_OK : vg_uuid_new(id);
}

/* A JSON value as compact text for a jsonb parameter (malloc'd), NULL
 * for none. */
static enum vg_err
json_param(const json_t *v, char **out)
{
	*out = NULL;
	if (!v)
		return VG_OK;
	return (*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ? VG_OK : VG_ERR_NOMEM;
}

/* A statement whose answer is one number. */
static enum vg_err
exec_count(struct vg_pg *db, const char *sql, int n, const char *const *params,
    int64_t *count)
{
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(db, sql, n, params, &res);

	if (err == VG_OK)
		*count = PQntuples(res) > 0 ? vg_pg_i64(res, 0, 0, 0) : 0;
	PQclear(res);
	return err;
}

/* Whether cell (row, col) is SQL true. */
static bool
cell_true(const PGresult *res, int row, int col)
{
	const char *v = vg_pg_text(res, row, col);

	return v && strcmp(v, "t") == 0;
}

/* ---- scans ---- */

/* The scan columns of the scans row named p (an alias with its dot);
 * the project comes from the repository. */
#define SCAN_COLS_P(p) \
	p "id, " p "repository_id, (SELECT r.project_id FROM repositories r WHERE r.id = " \
	p "repository_id), " p "snapshot_id, " p "profile_id, " p "profile_version, " \
	p "created_by, " p "status, " p "engine, " p "options::text, " p "attempt, " \
	p "lease_token, " p "claimed_by, " TS_TO_US(p "claimed_at") ", " \
	TS_TO_US(p "started_at") ", " TS_TO_US(p "heartbeat_at") ", " \
	TS_TO_US(p "finished_at") ", " TS_TO_US(p "cancel_requested_at") ", " \
	p "error_code, " p "error_message, " p "files_scanned, " p "findings_count, " \
	p "critical_count, " p "high_count, " p "medium_count, " p "low_count, " \
	p "info_count, " p "last_event_seq, " TS_TO_US(p "created_at") ", " \
	TS_TO_US(p "updated_at")
#define SCAN_COLS SCAN_COLS_P("s.")

/* The lease condition of a transition of scans s: $1 id, $2 attempt,
 * $3 token. */
#define LEASE_IS "s.id = $1 AND s.attempt = $2::integer AND s.lease_token = $3"

static enum vg_err
scan_row(const PGresult *res, int row, void *item)
{
	struct vg_scan *sc = item;
	const char *options = vg_pg_text(res, row, 9);
	enum vg_err err;
	int i;

	memset(sc, 0, sizeof *sc);
	if ((err = vg_store_pg_cell(res, row, 0, sc->id, sizeof sc->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, sc->repository_id, sizeof sc->repository_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, sc->project_id, sizeof sc->project_id)) ||
	    (err = vg_store_pg_cell(res, row, 3, sc->snapshot_id, sizeof sc->snapshot_id)) ||
	    (err = vg_store_pg_cell(res, row, 4, sc->profile_id, sizeof sc->profile_id)) ||
	    (err = vg_store_pg_cell(res, row, 6, sc->created_by, sizeof sc->created_by)) ||
	    (err = vg_store_pg_cell(res, row, 7, sc->status, sizeof sc->status)) ||
	    (err = vg_store_pg_cell(res, row, 8, sc->engine, sizeof sc->engine)) ||
	    (err = vg_store_pg_cell(res, row, 11, sc->lease_token, sizeof sc->lease_token)) ||
	    (err = vg_store_pg_cell(res, row, 12, sc->claimed_by, sizeof sc->claimed_by)) ||
	    (err = vg_store_pg_cell(res, row, 18, sc->error_code, sizeof sc->error_code)) ||
	    (err = vg_store_pg_cell(res, row, 19, sc->error_message, sizeof sc->error_message)))
		return err;
	sc->profile_version = vg_pg_i64(res, row, 5, 0);
	sc->attempt = vg_pg_i64(res, row, 10, 0);
	sc->claimed_at_us = vg_pg_i64(res, row, 13, 0);
	sc->started_at_us = vg_pg_i64(res, row, 14, 0);
	sc->heartbeat_at_us = vg_pg_i64(res, row, 15, 0);
	sc->finished_at_us = vg_pg_i64(res, row, 16, 0);
	sc->cancel_requested_at_us = vg_pg_i64(res, row, 17, 0);
	sc->files_scanned = vg_pg_i64(res, row, 20, 0);
	sc->findings_count = vg_pg_i64(res, row, 21, 0);
	for (i = 0; i < VG_SEVERITY_COUNT; i++)
		sc->severity_counts[i] = vg_pg_i64(res, row, 22 + i, 0);
	sc->last_event_seq = vg_pg_i64(res, row, 27, 0);
	sc->created_at_us = vg_pg_i64(res, row, 28, 0);
	sc->updated_at_us = vg_pg_i64(res, row, 29, 0);
	/* jsonb prints with spaces and its own key order: give the compact
	 * form, keys sorted, whatever the server's spelling. */
	err = vg_store_object_text_canon(options, sc->options, sizeof sc->options);
	return err == VG_ERR_INVALID ? VG_ERR_INTERNAL : err;
}

/* Run sql, which answers at most one scan (SCAN_COLS), into *out (may
 * be NULL).  VG_ERR_NOT_FOUND when it answered none. */
static enum vg_err
exec_scan(struct vg_pg *db, const char *sql, int n, const char *const *params,
    struct vg_scan *out)
{
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(db, sql, n, params, &res);

	if (err == VG_OK && out)
		err = scan_row(res, 0, out);
	PQclear(res);
	return err;
}

struct scan_create_arg {
	struct vg_scan *sc;
	int64_t max_active;
};

/*
 * Inside the caller's transaction: lock the creator's row (so creates of
 * one user run one after another), then insert from a SELECT that checks
 * the parents and counts the user's active scans.  The count is a new
 * statement after the lock, so it sees the scans the previous holder
 * committed.  No row inserted: VG_ERR_QUOTA when the count is the
 * reason, VG_ERR_NOT_FOUND otherwise.
 */
static enum vg_err
do_scan_create(struct vg_pg *db, void *arg)
{
	static const char lock[] =
	    "SELECT 1 FROM users WHERE id = NULLIF($1, '')::uuid FOR NO KEY UPDATE";
	static const char insert[] =
	    "INSERT INTO scans AS s (id, repository_id, snapshot_id, profile_id, profile_version,"
	    " created_by, status, engine, options, created_at, updated_at)"
	    " SELECT $1, r.id, sn.id, NULLIF($4, '')::uuid, NULLIF($5::integer, 0),"
	    " NULLIF($6, '')::uuid, 'queued', $7, COALESCE(NULLIF($8, ''), '{}')::jsonb, "
	    US_TO_TS("$9") ", " US_TO_TS("$9")
	    " FROM repositories r JOIN snapshots sn ON sn.id = $3 AND sn.repository_id = r.id"
	    " WHERE r.id = $2"
	    " AND (NULLIF($4, '') IS NULL OR EXISTS (SELECT 1 FROM threat_profile_versions v"
	    "  JOIN threat_profiles tp ON tp.id = v.profile_id"
	    "  WHERE v.profile_id = NULLIF($4, '')::uuid AND v.version = $5::integer"
	    "  AND tp.repository_id = r.id))"
	    " AND (NULLIF($6, '') IS NULL OR EXISTS (SELECT 1 FROM users u"
	    "  WHERE u.id = NULLIF($6, '')::uuid))"
	    " AND ($10::bigint <= 0 OR NULLIF($6, '') IS NULL OR (SELECT count(*) FROM scans a"
	    "  WHERE a.created_by = NULLIF($6, '')::uuid"
	    "  AND a.status IN ('queued', 'claimed', 'running')) < $10::bigint)"
	    " RETURNING " SCAN_COLS;
	static const char over[] =
	    "SELECT $2::bigint > 0 AND (SELECT count(*) FROM scans a"
	    " WHERE a.created_by = NULLIF($1, '')::uuid"
	    " AND a.status IN ('queued', 'claimed', 'running')) >= $2::bigint";
	struct scan_create_arg *a = arg;
	struct vg_scan *sc = a->sc;
	struct vg_store_pg_num ver, at, max;
	const char *p_lock[] = {sc->created_by};
	const char *p_ins[] = {sc->id, sc->repository_id, sc->snapshot_id, sc->profile_id,
	    vg_store_pg_num(&ver, sc->profile_id[0] ? sc->profile_version : 0),
	    sc->created_by, sc->engine, sc->options, vg_store_pg_num(&at, sc->created_at_us),
	    vg_store_pg_num(&max, a->max_active)};
	const char *p_over[] = {sc->created_by, max.s};
	PGresult *res = NULL;
	enum vg_err err;

	if (sc->created_by[0] && a->max_active > 0 &&
	    (err = vg_pg_exec(db, lock, 1, p_lock, &res)) != VG_OK)
		goto out;
	PQclear(res);
	res = NULL;
	err = vg_store_pg_exec_one(db, insert, 10, p_ins, &res);
	if (err == VG_OK) {
		err = scan_row(res, 0, sc);
		goto out;
	}
	if (err != VG_ERR_NOT_FOUND || !sc->created_by[0] || a->max_active <= 0)
		goto out;
	if ((err = vg_store_pg_exec_one(db, over, 2, p_over, &res)) != VG_OK)
		goto out;
	err = cell_true(res, 0, 0) ? VG_ERR_QUOTA : VG_ERR_NOT_FOUND;
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_scan_create(struct vg_store *s, struct vg_scan *sc, int64_t max_active)
{
	struct scan_create_arg a = {sc, max_active};
	enum vg_err err;

	if ((err = id_or_new(sc->id)) != VG_OK)
		return err;
	if (sc->created_at_us == 0)
		sc->created_at_us = vg_time_now_us();
	return vg_pg_tx(s->pg, do_scan_create, &a);
}

static enum vg_err
pg_scan_get(struct vg_store *s, const char *id, struct vg_scan *out)
{
	static const char sql[] = "SELECT " SCAN_COLS " FROM scans s WHERE s.id = $1";
	const char *params[] = {id};

	return exec_scan(s->pg, sql, 1, params, out);
}

/* The filters of a scan list: $2 repository, $3 creator, $4 status, each
 * NULL for any. */
#define SCAN_FILTER \
	" ($2::uuid IS NULL OR s.repository_id = $2::uuid)" \
	" AND ($3::uuid IS NULL OR s.created_by = $3::uuid)" \
	" AND ($4::text IS NULL OR s.status = $4::text)"

static enum vg_err
pg_scan_list(struct vg_store *s, const struct vg_scan_filter *f, const struct vg_store_pos *pos,
    int n, struct vg_scan **out, size_t *count)
{
	static const char first[] =
	    "SELECT " SCAN_COLS " FROM scans s WHERE" SCAN_FILTER
	    " ORDER BY s.created_at DESC, s.id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " SCAN_COLS " FROM scans s WHERE" SCAN_FILTER
	    " AND (s.created_at, s.id) < (" US_TO_TS("$5") ", $6::uuid)"
	    " ORDER BY s.created_at DESC, s.id DESC LIMIT $1";
	/* A repository's latest scans in one state (its latest completed
	 * scan is every finding list's baseline): no optional filter, so it
	 * is prepared once per connection (pg.h). */
	static const char repo_status[] =
	    "SELECT " SCAN_COLS " FROM scans s WHERE s.repository_id = $2::uuid"
	    " AND s.status = $3::text ORDER BY s.created_at DESC, s.id DESC LIMIT $1";
	struct vg_store_pg_num lim, at;
	const char *params[6], *sql = pos ? after : first;
	void *items = NULL;
	int np = pos ? 6 : 4;
	enum vg_err err;

	params[0] = vg_store_pg_num(&lim, n);
	params[1] = f && f->repository_id && *f->repository_id ? f->repository_id : NULL;
	params[2] = f && f->created_by && *f->created_by ? f->created_by : NULL;
	params[3] = f && f->status && *f->status ? f->status : NULL;
	params[4] = pos ? vg_store_pg_num(&at, pos->at_us) : NULL;
	params[5] = pos ? pos->id : NULL;
	if (!pos && params[1] && !params[2] && params[3]) {
		sql = repo_status;
		params[2] = params[3];
		np = 3;
	}
	err = vg_store_pg_rows(s->pg, sql, np, params, sizeof **out, scan_row, NULL, &items,
	    count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/*
 * The claim, one statement: the inner SELECT picks the oldest queued scan
 * nobody else holds (SKIP LOCKED: concurrent workers take different
 * scans instead of queueing on one), the UPDATE moves it.  cond narrows
 * the pick to one scan (thread dispatch).
 */
#define CLAIM_SQL(cond) \
	"UPDATE scans s SET status = 'claimed', attempt = s.attempt + 1, lease_token = $2," \
	" claimed_by = NULLIF($1, '')::uuid, claimed_at = " US_TO_TS("$3") "," \
	" heartbeat_at = " US_TO_TS("$3") ", started_at = NULL, updated_at = " US_TO_TS("$3") \
	" WHERE s.id = (SELECT q.id FROM scans q WHERE q.status = 'queued'" cond \
	"  ORDER BY q.created_at, q.id FOR UPDATE SKIP LOCKED LIMIT 1)" \
	" AND s.status = 'queued' RETURNING " SCAN_COLS

static enum vg_err
pg_scan_claim(struct vg_store *s, const char *worker_id, const char *scan_id,
    const char *lease_token, int64_t now_us, struct vg_scan *out)
{
	static const char any[] = CLAIM_SQL("");
	static const char one[] = CLAIM_SQL(" AND q.id = $4");
	struct vg_store_pg_num now;
	const char *params[] = {worker_id ? worker_id : "", lease_token,
	    vg_store_pg_num(&now, now_us), scan_id};

	return exec_scan(s->pg, scan_id ? one : any, scan_id ? 4 : 3, params, out);
}

/* Run a lease-checked statement: no row touched is a lost lease. */
static enum vg_err
exec_leased(struct vg_pg *db, const char *sql, int n, const char *const *params,
    PGresult **out)
{
	enum vg_err err = vg_store_pg_exec_one(db, sql, n, params, out);

	return err == VG_ERR_NOT_FOUND ? VG_ERR_CONFLICT : err;
}

static enum vg_err
pg_scan_start(struct vg_store *s, const struct vg_lease *l, int64_t now_us)
{
	static const char sql[] =
	    "UPDATE scans s SET status = 'running', started_at = " US_TO_TS("$4") ","
	    " heartbeat_at = " US_TO_TS("$4") ", updated_at = " US_TO_TS("$4")
	    " WHERE " LEASE_IS " AND s.status IN ('claimed')";
	struct vg_store_pg_num att, now;
	const char *params[] = {l->scan_id, vg_store_pg_num(&att, l->attempt), l->lease_token,
	    vg_store_pg_num(&now, now_us)};

	return exec_leased(s->pg, sql, 4, params, NULL);
}

static enum vg_err
pg_scan_heartbeat(struct vg_store *s, const struct vg_lease *l, int64_t files_scanned,
    int64_t now_us, bool *cancel_requested)
{
	static const char sql[] =
	    "UPDATE scans s SET heartbeat_at = " US_TO_TS("$5") ", files_scanned = $4::integer,"
	    " updated_at = " US_TO_TS("$5")
	    " WHERE " LEASE_IS " AND s.status IN ('claimed', 'running')"
	    " RETURNING s.cancel_requested_at IS NOT NULL";
	struct vg_store_pg_num att, files, now;
	const char *params[] = {l->scan_id, vg_store_pg_num(&att, l->attempt), l->lease_token,
	    vg_store_pg_num(&files, files_scanned), vg_store_pg_num(&now, now_us)};
	PGresult *res = NULL;
	enum vg_err err = exec_leased(s->pg, sql, 5, params, &res);

	if (err == VG_OK && cancel_requested)
		*cancel_requested = cell_true(res, 0, 0);
	PQclear(res);
	return err;
}

/* The event a transition appends, from the CTE u that moved the scan
 * (u.id, u.repository_id, u.last_event_seq): type, payload and time are
 * SQL expressions. */
#define EVENT_FROM_U(type, payload, at) \
	"INSERT INTO scan_events (scan_id, repository_id, seq, type, payload, created_at)" \
	" SELECT u.id, u.repository_id, u.last_event_seq, " type ", " payload ", " at " FROM u"

/*
 * running (or claimed) -> the final state, with the final event in the
 * same statement: the UPDATE draws the event's number, the INSERT reads
 * it from the UPDATE's answer.  No final event: the number is not drawn.
 */
static enum vg_err
pg_scan_finish(struct vg_store *s, const struct vg_lease *l, const struct vg_scan_finish *f)
{
	static const char sql[] =
	    "WITH u AS (UPDATE scans s SET status = $4, finished_at = " US_TO_TS("$9") ","
	    "  updated_at = " US_TO_TS("$9") ","
	    "  error_code = CASE WHEN $4 = 'failed' THEN NULLIF($5, '') END,"
	    "  error_message = CASE WHEN $4 = 'failed' THEN NULLIF($6, '') END,"
	    "  last_event_seq = s.last_event_seq + CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END"
	    "  WHERE " LEASE_IS " AND s.status IN ('claimed', 'running')"
	    "  RETURNING s.id, s.repository_id, s.last_event_seq),"
	    " e AS (" EVENT_FROM_U("$7", "COALESCE($8::jsonb, '{}')", US_TO_TS("$9"))
	    "  WHERE $7::text IS NOT NULL)"
	    " SELECT 1 FROM u";
	struct vg_store_pg_num att, now;
	char *payload = NULL;
	enum vg_err err;

	if ((err = json_param(f->event_payload, &payload)) != VG_OK)
		return err;
	{
		const char *params[] = {l->scan_id, vg_store_pg_num(&att, l->attempt),
		    l->lease_token, f->status, f->error_code, f->error_message, f->event_type,
		    payload, vg_store_pg_num(&now, f->now_us)};

		err = exec_leased(s->pg, sql, 9, params, NULL);
	}
	free(payload);
	return err;
}

/*
 * One statement: a queued scan becomes cancelled with its scan_cancelled
 * event; a claimed or running one gets cancel_requested_at (once); a
 * finished one, or one already asked, matches nothing and is read as it
 * is.  The scan's answer comes from the UPDATE, or from a read.
 */
static enum vg_err
pg_scan_cancel(struct vg_store *s, const char *id, int64_t now_us, struct vg_scan *out)
{
	static const char sql[] =
	    "WITH u AS (UPDATE scans s SET"
	    "  status = CASE WHEN s.status = 'queued' THEN 'cancelled' ELSE s.status END,"
	    "  finished_at = CASE WHEN s.status = 'queued' THEN " US_TO_TS("$2")
	    "   ELSE s.finished_at END,"
	    "  cancel_requested_at = COALESCE(s.cancel_requested_at, " US_TO_TS("$2") "),"
	    "  last_event_seq = s.last_event_seq + CASE WHEN s.status = 'queued' THEN 1 ELSE 0 END,"
	    "  updated_at = " US_TO_TS("$2")
	    "  WHERE s.id = $1 AND (s.status = 'queued' OR (s.status IN ('claimed', 'running')"
	    "   AND s.cancel_requested_at IS NULL))"
	    "  RETURNING " SCAN_COLS "),"
	    " e AS (INSERT INTO scan_events (scan_id, repository_id, seq, type, payload, created_at)"
	    "  SELECT u.id, u.repository_id, u.last_event_seq, 'scan_cancelled', '{}', "
	    US_TO_TS("$2") " FROM u WHERE u.status = 'cancelled')"
	    " SELECT * FROM u";
	struct vg_store_pg_num now;
	const char *params[] = {id, vg_store_pg_num(&now, now_us)};
	enum vg_err err;
	struct vg_scan tmp;

	err = exec_scan(s->pg, sql, 2, params, out ? out : &tmp);
	if (err == VG_ERR_NOT_FOUND)
		err = pg_scan_get(s, id, out ? out : &tmp);
	return err;
}

static enum vg_err
pg_scan_stale(struct vg_store *s, int64_t heartbeat_before_us, int64_t started_before_us,
    int64_t claimed_before_us, struct vg_scan **out, size_t *count)
{
	static const char sql[] =
	    "SELECT " SCAN_COLS " FROM scans s"
	    " WHERE (s.status = 'running' AND (s.heartbeat_at < " US_TO_TS("$1")
	    "  OR s.started_at < " US_TO_TS("$2") "))"
	    " OR (s.status = 'claimed' AND s.started_at IS NULL"
	    "  AND s.claimed_at < " US_TO_TS("$3") ")"
	    " ORDER BY s.created_at, s.id";
	struct vg_store_pg_num hb, st, cl;
	const char *params[] = {vg_store_pg_num(&hb, heartbeat_before_us),
	    vg_store_pg_num(&st, started_before_us), vg_store_pg_num(&cl, claimed_before_us)};
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, sql, 3, params, sizeof **out, scan_row, NULL, &items,
	    count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/* A rescuer's step that changed nothing: VG_ERR_NOT_FOUND for an
 * unknown scan, VG_ERR_CONFLICT when its condition no longer held. */
static enum vg_err
exec_rescue(struct vg_pg *db, const char *sql, int n, const char *const *params)
{
	static const char exists[] = "SELECT 1 FROM scans WHERE id = $1";
	enum vg_err err = vg_store_pg_exec_one(db, sql, n, params, NULL);

	if (err != VG_ERR_NOT_FOUND)
		return err;
	err = vg_store_pg_exec_one(db, exists, 1, params, NULL);
	return err == VG_OK ? VG_ERR_CONFLICT : err;
}

/* Its whole condition is in the UPDATE: a scan that heartbeat, finished
 * or was re-claimed since it was listed matches nothing. */
static enum vg_err
pg_scan_rescue_running(struct vg_store *s, const char *id, int64_t attempt,
    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us)
{
	static const char sql[] =
	    "WITH u AS (UPDATE scans s SET status = 'failed', error_code = 'stale_scan',"
	    "  error_message = CASE WHEN s.heartbeat_at < " US_TO_TS("$3")
	    "   THEN 'the runner stopped sending heartbeats'"
	    "   ELSE 'the scan ran past its time limit' END,"
	    "  finished_at = " US_TO_TS("$5") ", updated_at = " US_TO_TS("$5") ","
	    "  last_event_seq = s.last_event_seq + 1"
	    "  WHERE s.id = $1 AND s.attempt = $2::integer AND s.status IN ('running')"
	    "  AND (s.heartbeat_at < " US_TO_TS("$3") " OR s.started_at < " US_TO_TS("$4") ")"
	    "  RETURNING s.id, s.repository_id, s.last_event_seq, s.error_code, s.error_message),"
	    " e AS (" EVENT_FROM_U("'scan_failed'",
	    "jsonb_build_object('error_code', u.error_code, 'error_message', u.error_message)",
	    US_TO_TS("$5")) ")"
	    " SELECT 1 FROM u";
	struct vg_store_pg_num att, hb, st, now;
	const char *params[] = {id, vg_store_pg_num(&att, attempt),
	    vg_store_pg_num(&hb, heartbeat_before_us), vg_store_pg_num(&st, started_before_us),
	    vg_store_pg_num(&now, now_us)};

	return exec_rescue(s->pg, sql, 5, params);
}

/*
 * A claimed scan whose runner never started it: back to queued with its
 * lease cleared while attempts remain, else failed (too_many_attempts)
 * with a scan_failed event.  One whose cancellation was asked for is
 * cancelled instead of run again.  The condition is in the UPDATE.
 */
#define REQUEUE_TO_QUEUED "(s.cancel_requested_at IS NULL AND s.attempt < $4::bigint)"
#define REQUEUE_TO_FAILED "(s.cancel_requested_at IS NULL AND s.attempt >= $4::bigint)"

static enum vg_err
pg_scan_requeue_claimed(struct vg_store *s, const char *id, int64_t attempt,
    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us)
{
	static const char sql[] =
	    "WITH u AS (UPDATE scans s SET"
	    "  status = CASE WHEN " REQUEUE_TO_QUEUED " THEN 'queued'"
	    "   WHEN " REQUEUE_TO_FAILED " THEN 'failed' ELSE 'cancelled' END,"
	    "  lease_token = CASE WHEN " REQUEUE_TO_QUEUED " THEN NULL ELSE s.lease_token END,"
	    "  claimed_by = CASE WHEN " REQUEUE_TO_QUEUED " THEN NULL ELSE s.claimed_by END,"
	    "  claimed_at = CASE WHEN " REQUEUE_TO_QUEUED " THEN NULL ELSE s.claimed_at END,"
	    "  heartbeat_at = CASE WHEN " REQUEUE_TO_QUEUED " THEN NULL ELSE s.heartbeat_at END,"
	    "  error_code = CASE WHEN " REQUEUE_TO_FAILED " THEN 'too_many_attempts' END,"
	    "  error_message = CASE WHEN " REQUEUE_TO_FAILED
	    "   THEN 'the scan was claimed too many times without starting' END,"
	    "  finished_at = CASE WHEN " REQUEUE_TO_QUEUED " THEN NULL ELSE " US_TO_TS("$5") " END,"
	    "  last_event_seq = s.last_event_seq"
	    "   + CASE WHEN " REQUEUE_TO_QUEUED " THEN 0 ELSE 1 END,"
	    "  updated_at = " US_TO_TS("$5")
	    "  WHERE s.id = $1 AND s.attempt = $2::integer AND s.status IN ('claimed')"
	    "  AND s.started_at IS NULL AND s.claimed_at < " US_TO_TS("$3")
	    "  RETURNING s.id, s.repository_id, s.status, s.last_event_seq, s.error_code,"
	    "  s.error_message),"
	    " e AS (" EVENT_FROM_U(
	    "CASE WHEN u.status = 'failed' THEN 'scan_failed' ELSE 'scan_cancelled' END",
	    "CASE WHEN u.status = 'failed' THEN jsonb_build_object('error_code', u.error_code,"
	    " 'error_message', u.error_message) ELSE '{}' END", US_TO_TS("$5"))
	    "  WHERE u.status <> 'queued')"
	    " SELECT 1 FROM u";
	struct vg_store_pg_num att, cl, max, now;
	const char *params[] = {id, vg_store_pg_num(&att, attempt),
	    vg_store_pg_num(&cl, claimed_before_us), vg_store_pg_num(&max, max_attempts),
	    vg_store_pg_num(&now, now_us)};

	return exec_rescue(s->pg, sql, 5, params);
}

static enum vg_err
pg_scan_count_active(struct vg_store *s, const char *user_id, int64_t *count)
{
	static const char sql[] =
	    "SELECT count(*) FROM scans WHERE created_by = $1"
	    " AND status IN ('queued', 'claimed', 'running')";
	const char *params[] = {user_id};

	return exec_count(s->pg, sql, 1, params, count);
}

static enum vg_err
pg_scan_finished_before(struct vg_store *s, int64_t before_us, int n,
    char (**out)[VG_UUID_LEN + 1], size_t *count)
{
	static const char sql[] =
	    "SELECT id FROM scans WHERE finished_at IS NOT NULL"
	    " AND finished_at < " US_TO_TS("$1") " ORDER BY finished_at, id LIMIT $2";
	struct vg_store_pg_num before, lim;
	const char *params[] = {vg_store_pg_num(&before, before_us), vg_store_pg_num(&lim, n)};
	PGresult *res = NULL;
	char (*ids)[VG_UUID_LEN + 1] = NULL;
	enum vg_err err;
	int i, rows;

	if ((err = vg_pg_exec(s->pg, sql, 2, params, &res)) != VG_OK)
		goto out;
	rows = PQntuples(res);
	err = VG_ERR_NOMEM;
	if (!(ids = calloc((size_t)rows + 1, sizeof *ids)))
		goto out;
	for (i = 0; i < rows; i++)
		if ((err = vg_store_pg_cell(res, i, 0, ids[i], sizeof ids[i])) != VG_OK)
			goto out;
	*out = ids;
	*count = (size_t)rows;
	ids = NULL;
	err = VG_OK;
out:
	free(ids);
	PQclear(res);
	return err;
}

/* ---- events ---- */

#define EVENT_COLS "e.scan_id, e.seq, e.type, e.payload::text, " TS_TO_US("e.created_at")

static void
event_clear(void *item)
{
	vg_event_clear(item);
}

static enum vg_err
event_row(const PGresult *res, int row, void *item)
{
	struct vg_event *e = item;
	const char *payload = vg_pg_text(res, row, 3);
	enum vg_err err;

	memset(e, 0, sizeof *e);
	if ((err = vg_store_pg_cell(res, row, 0, e->scan_id, sizeof e->scan_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, e->type, sizeof e->type)))
		return err;
	e->seq = vg_pg_i64(res, row, 1, 0);
	e->created_at_us = vg_pg_i64(res, row, 4, 0);
	if (!payload || !(e->payload = json_loads(payload, 0, NULL)))
		return VG_ERR_INTERNAL;
	return VG_OK;
}

/* The scan's counter and the event in one statement, under the lease:
 * the UPDATE's row lock orders concurrent appends of one scan. */
static enum vg_err
pg_event_append(struct vg_store *s, const struct vg_lease *l, const char *type,
    json_t *payload, int64_t now_us, int64_t *seq)
{
	static const char sql[] =
	    "WITH u AS (UPDATE scans s SET last_event_seq = s.last_event_seq + 1,"
	    "  updated_at = " US_TO_TS("$6")
	    "  WHERE " LEASE_IS " AND s.status IN ('claimed', 'running')"
	    "  RETURNING s.id, s.repository_id, s.last_event_seq) "
	    EVENT_FROM_U("$4", "COALESCE($5::jsonb, '{}')", US_TO_TS("$6"))
	    " RETURNING seq";
	struct vg_store_pg_num att, now;
	char *text = NULL;
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = json_param(payload, &text)) != VG_OK)
		return err;
	{
		const char *params[] = {l->scan_id, vg_store_pg_num(&att, l->attempt),
		    l->lease_token, type, text, vg_store_pg_num(&now, now_us)};

		err = exec_leased(s->pg, sql, 6, params, &res);
	}
	if (err == VG_OK && seq)
		*seq = vg_pg_i64(res, 0, 0, 0);
	PQclear(res);
	free(text);
	return err;
}

static enum vg_err
pg_event_list(struct vg_store *s, const char *scan_id, int64_t after, int limit,
    struct vg_event **out, size_t *count)
{
	static const char sql[] =
	    "SELECT " EVENT_COLS " FROM scan_events e WHERE e.scan_id = $1 AND e.seq > $2::bigint"
	    " ORDER BY e.seq LIMIT $3";
	struct vg_store_pg_num aft, lim;
	const char *params[] = {scan_id, vg_store_pg_num(&aft, after), vg_store_pg_num(&lim, limit)};
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, sql, 3, params, sizeof **out, event_row, event_clear,
	    &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/* In the order written, (created_at, scan_id, seq), from the index on
 * the events' own repository column. */
static enum vg_err
pg_event_list_repository(struct vg_store *s, const char *repository_id,
    const struct vg_event_pos *pos, int n, struct vg_event **out, size_t *count)
{
	static const char first[] =
	    "SELECT " EVENT_COLS " FROM scan_events e WHERE e.repository_id = $2"
	    " ORDER BY e.created_at, e.scan_id, e.seq LIMIT $1";
	static const char after[] =
	    "SELECT " EVENT_COLS " FROM scan_events e WHERE e.repository_id = $2"
	    " AND (e.created_at, e.scan_id, e.seq) > (" US_TO_TS("$3") ", $4::uuid, $5::bigint)"
	    " ORDER BY e.created_at, e.scan_id, e.seq LIMIT $1";
	struct vg_store_pg_num lim, at, seq;
	const char *params[] = {vg_store_pg_num(&lim, n), repository_id,
	    pos ? vg_store_pg_num(&at, pos->at_us) : NULL, pos ? pos->scan_id : NULL,
	    pos ? vg_store_pg_num(&seq, pos->seq) : NULL};
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, pos ? after : first, pos ? 5 : 2, params, sizeof **out,
	    event_row, event_clear, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/* ---- findings ---- */

/* The finding columns of findings f, with the first and last scan from
 * the fingerprint's registry t (finding_triage, LEFT JOINed), then the
 * columns data is made of (finding_data_cols). */
#define FINDING_COLS \
	"f.id, f.scan_id, f.repository_id, f.fingerprint, f.severity, f.status, f.status_reason," \
	" f.status_actor_id, " TS_TO_US("f.status_at") ", COALESCE(t.first_scan_id, f.first_scan_id)," \
	" COALESCE(t.last_scan_id, f.last_scan_id), " TS_TO_US("f.created_at") ", " \
	TS_TO_US("f.updated_at") ", f.model, f.title, f.engine, f.cwe_ids, f.rule_id, f.category," \
	" f.evidence, f.line_end, f.severity, f.file_path, f.confidence, f.line_start," \
	" f.description, f.recommendation, f.exploit_scenario"
/* The registry row of each finding, looked up by its key one finding at
 * a time: the LIMIT keeps the planner from joining a page with the whole
 * registry, which it would for a page it guesses large (a prepared
 * statement's generic plan guesses a tenth of the repository). */
#define FINDING_TRIAGE_JOIN \
	" LEFT JOIN LATERAL (SELECT t.first_scan_id, t.last_scan_id FROM finding_triage t" \
	" WHERE t.repository_id = f.repository_id AND t.fingerprint = f.fingerprint LIMIT 1)" \
	" t ON true"
/* Where the data columns start in FINDING_COLS. */
#define FINDING_DATA_COL 13

/* Whether the len bytes at v are all ASCII, looked at eight at a time. */
static bool
all_ascii(const char *v, size_t len)
{
	uint64_t x, any = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&x, v + i, 8);
		any |= x;
	}
	for (; i < len; i++)
		any |= (unsigned char)v[i];
	return !(any & 0x8080808080808080ULL);
}

/* Readers of a data column's text (not SQL NULL) of len bytes into a
 * JSON value (new reference); NULL when it does not read.  Text is
 * checked to be UTF-8 here, as jansson would (mostly ASCII: cheaply), so
 * data holds nothing else. */
static json_t *
data_text(const char *v, size_t len)
{
	if (!all_ascii(v, len) && !vg_utf8_valid(v, len))
		return NULL;
	return json_stringn_nocheck(v, len);
}

static json_t *
data_int(const char *v, size_t len)
{
	int64_t n;

	return vg_str_to_i64(v, INT64_MIN, INT64_MAX, &n) == VG_OK ? json_integer(n) : NULL;
}

/* An integer[] in the server's text form ("{79,89}") as a JSON array. */
static json_t *
data_int_array(const char *v, size_t len)
{
	json_t *a = json_array();
	const char *p = v;
	char *end;
	long long n;

	if (!a || *p++ != '{')
		goto bad;
	while (*p && *p != '}') {
		n = strtoll(p, &end, 10);
		if (end == p || json_array_append_new(a, json_integer(n)) != 0)
			goto bad;
		p = *end == ',' ? end + 1 : end;
	}
	if (*p != '}' || p[1])
		goto bad;
	return a;
bad:
	json_decref(a);
	return NULL;
}

/*
 * The members of a finding's data, in FINDING_COLS' order from
 * FINDING_DATA_COL: all of them, null where the column is.  The order is
 * the one the members always had on this backend (the server's own
 * order for an object's keys: shorter first), so answers stay the same
 * byte for byte.
 */
static const struct {
	const char *key;
	json_t *(*read)(const char *v, size_t len);
} finding_data_cols[] = {
	{"model", data_text}, {"title", data_text}, {"engine", data_text},
	{"cwe_ids", data_int_array}, {"rule_id", data_text}, {"category", data_text},
	{"evidence", data_text}, {"line_end", data_int}, {"severity", data_text},
	{"file_path", data_text}, {"confidence", data_text}, {"line_start", data_int},
	{"description", data_text}, {"recommendation", data_text},
	{"exploit_scenario", data_text},
};

static void
finding_clear(void *item)
{
	vg_finding_row_clear(item);
}

/* A finding's data read from its columns into *out (new reference). */
static enum vg_err
finding_data(const PGresult *res, int row, json_t **out)
{
	json_t *o = json_object(), *v;
	size_t i;
	int col;

	*out = NULL;
	if (!o)
		return VG_ERR_NOMEM;
	for (i = 0; i < sizeof finding_data_cols / sizeof finding_data_cols[0]; i++) {
		col = FINDING_DATA_COL + (int)i;
		v = PQgetisnull(res, row, col) ? json_null() :
		    finding_data_cols[i].read(PQgetvalue(res, row, col),
		    (size_t)PQgetlength(res, row, col));
		if (!v || json_object_set_new_nocheck(o, finding_data_cols[i].key, v) != 0) {
			json_decref(o);
			return VG_ERR_INTERNAL;
		}
	}
	*out = o;
	return VG_OK;
}

static enum vg_err
finding_row(const PGresult *res, int row, void *item)
{
	struct vg_finding_row *f = item;
	enum vg_err err;

	memset(f, 0, sizeof *f);
	if ((err = vg_store_pg_cell(res, row, 0, f->id, sizeof f->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, f->scan_id, sizeof f->scan_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, f->repository_id, sizeof f->repository_id)) ||
	    (err = vg_store_pg_cell(res, row, 3, f->fingerprint, sizeof f->fingerprint)) ||
	    (err = vg_store_pg_cell(res, row, 4, f->severity, sizeof f->severity)) ||
	    (err = vg_store_pg_cell(res, row, 5, f->status, sizeof f->status)) ||
	    (err = vg_store_pg_cell(res, row, 6, f->status_reason, sizeof f->status_reason)) ||
	    (err = vg_store_pg_cell(res, row, 7, f->status_actor_id,
	    sizeof f->status_actor_id)) ||
	    (err = vg_store_pg_cell(res, row, 9, f->first_scan_id, sizeof f->first_scan_id)) ||
	    (err = vg_store_pg_cell(res, row, 10, f->last_scan_id, sizeof f->last_scan_id)))
		return err;
	f->status_at_us = vg_pg_i64(res, row, 8, 0);
	f->created_at_us = vg_pg_i64(res, row, 11, 0);
	f->updated_at_us = vg_pg_i64(res, row, 12, 0);
	return finding_data(res, row, &f->data);
}

struct finding_upsert_arg {
	const struct vg_lease *l;
	struct vg_finding_row *f;
	const char *data;
	int64_t now_us;
	bool created;
};

/* The scan's count of severity sev moves by the new row's and the old
 * row's ($13: the old row's severity, "" for a new row). */
#define SEV_DELTA(sev) \
	"  " sev "_count = s." sev "_count + (up.severity = '" sev "')::integer" \
	"   - ($13 = '" sev "')::integer,"

/*
 * Inside the caller's transaction:
 *  1. the scan's row locked under the lease, so the upserts of one scan
 *     run one after another and the old row read below is current;
 *  2. the fingerprint's registry row, created on the first sighting
 *     (which names the first scan); its lock orders every upsert and
 *     triage of the fingerprint, and it answers the decision a new row
 *     takes and the scan's row of the fingerprint as it is (read after
 *     the scan's lock was ours);
 *  3. one statement: the row inserted or updated by (scan, fingerprint)
 *     (a new row is the latest unless a newer one exists), the older
 *     rows of the fingerprint no longer latest, the registry's last scan
 *     set to the latest row's, and the scan's counters moved by the old
 *     and new severity, its UPDATE checking the lease again.
 */
static enum vg_err
do_finding_upsert(struct vg_pg *db, void *arg)
{
	static const char lock[] =
	    "SELECT s.repository_id FROM scans s"
	    " WHERE " LEASE_IS " AND s.status IN ('claimed', 'running') FOR NO KEY UPDATE";
	static const char registry[] =
	    "INSERT INTO finding_triage AS t (repository_id, fingerprint, status,"
	    " first_scan_id, last_scan_id) VALUES ($1, $2, 'open', $3, $3)"
	    " ON CONFLICT (repository_id, fingerprint) DO UPDATE SET"
	    " first_scan_id = COALESCE(t.first_scan_id, EXCLUDED.first_scan_id)"
	    " RETURNING t.status, t.reason, t.actor_id, " TS_TO_US("t.decided_at") ","
	    " t.first_scan_id, COALESCE((SELECT o.severity FROM findings o"
	    "  WHERE o.scan_id = $3 AND o.fingerprint = $2), '')";
	static const char upsert[] =
	    "WITH up AS (INSERT INTO findings AS f (id, scan_id, repository_id, fingerprint, title,"
	    "  severity, cwe_ids, category, file_path, line_start, line_end, evidence,"
	    "  description, exploit_scenario, recommendation, confidence, engine, rule_id, model,"
	    "  status, status_reason, status_actor_id, status_at, first_scan_id, last_scan_id,"
	    "  created_at, updated_at, is_latest)"
	    "  SELECT $3, $1, $4, $2, x.d->>'title', COALESCE(NULLIF($6, ''), x.d->>'severity'),"
	    "  CASE WHEN jsonb_typeof(x.d->'cwe_ids') = 'array' THEN ARRAY(SELECT"
	    "   jsonb_array_elements_text(x.d->'cwe_ids')::integer) ELSE '{}' END,"
	    "  COALESCE(x.d->>'category', ''), x.d->>'file_path',"
	    "  (x.d->>'line_start')::integer, (x.d->>'line_end')::integer,"
	    "  COALESCE(x.d->>'evidence', ''), COALESCE(x.d->>'description', ''),"
	    "  COALESCE(x.d->>'exploit_scenario', ''), COALESCE(x.d->>'recommendation', ''),"
	    "  COALESCE(x.d->>'confidence', 'medium'), x.d->>'engine',"
	    "  NULLIF(x.d->>'rule_id', ''), NULLIF(x.d->>'model', ''),"
	    "  $8, NULLIF($9, ''), NULLIF($10, '')::uuid, " US_TO_TS_NULL("$11") ","
	    "  NULLIF($12, '')::uuid, $1, " US_TO_TS("$7") ", " US_TO_TS("$7") ","
	    "  NOT EXISTS (SELECT 1 FROM findings g WHERE g.repository_id = $4"
	    "   AND g.fingerprint = $2 AND (g.created_at, g.id) > (" US_TO_TS("$7") ", $3::uuid))"
	    "  FROM (SELECT $5::jsonb AS d) x"
	    "  ON CONFLICT (scan_id, fingerprint) DO UPDATE SET title = EXCLUDED.title,"
	    "  severity = EXCLUDED.severity, cwe_ids = EXCLUDED.cwe_ids,"
	    "  category = EXCLUDED.category, file_path = EXCLUDED.file_path,"
	    "  line_start = EXCLUDED.line_start, line_end = EXCLUDED.line_end,"
	    "  evidence = EXCLUDED.evidence, description = EXCLUDED.description,"
	    "  exploit_scenario = EXCLUDED.exploit_scenario,"
	    "  recommendation = EXCLUDED.recommendation, confidence = EXCLUDED.confidence,"
	    "  engine = EXCLUDED.engine, rule_id = EXCLUDED.rule_id, model = EXCLUDED.model,"
	    "  updated_at = EXCLUDED.updated_at"
	    "  RETURNING f.*),"
	    " demote AS (UPDATE findings g SET is_latest = false FROM up"
	    "  WHERE g.repository_id = up.repository_id AND g.fingerprint = up.fingerprint"
	    "  AND g.id <> up.id AND g.is_latest AND up.is_latest),"
	    " reg AS (UPDATE finding_triage t SET last_scan_id = up.scan_id FROM up"
	    "  WHERE t.repository_id = up.repository_id AND t.fingerprint = up.fingerprint"
	    "  AND up.is_latest),"
	    " cnt AS (UPDATE scans s SET"
	    "  findings_count = s.findings_count + ($13 = '')::integer,"
	    SEV_DELTA("critical") SEV_DELTA("high") SEV_DELTA("medium") SEV_DELTA("low")
	    SEV_DELTA("info")
	    "  updated_at = CASE WHEN $13 = up.severity THEN s.updated_at"
	    "   ELSE " US_TO_TS("$7") " END"
	    "  FROM up WHERE s.id = $1 AND s.id = up.scan_id AND s.attempt = $14::integer"
	    "  AND s.lease_token = $15 AND s.status IN ('claimed', 'running'))"
	    " SELECT f.id, f.repository_id, f.severity, f.status, f.status_reason,"
	    " f.status_actor_id, " TS_TO_US("f.status_at") ","
	    " CASE WHEN f.is_latest THEN f.scan_id ELSE t.last_scan_id END, "
	    TS_TO_US("f.created_at") ", " TS_TO_US("f.updated_at")
	    " FROM up f" FINDING_TRIAGE_JOIN;
	struct finding_upsert_arg *a = arg;
	struct vg_finding_row *f = a->f;
	struct vg_store_pg_num att, now, decided;
	const char *p_lock[] = {a->l->scan_id, vg_store_pg_num(&att, a->l->attempt),
	    a->l->lease_token};
	const char *p_reg[3];
	const char *p_up[15];
	char repo[VG_UUID_LEN + 1];
	PGresult *r_lock = NULL, *r_reg = NULL, *res = NULL;
	enum vg_err err;

	vg_store_pg_num(&now, a->now_us);
	if ((err = exec_leased(db, lock, 3, p_lock, &r_lock)) != VG_OK ||
	    (err = vg_store_pg_cell(r_lock, 0, 0, repo, sizeof repo)) != VG_OK)
		goto out;
	p_reg[0] = repo;
	p_reg[1] = f->fingerprint;
	p_reg[2] = a->l->scan_id;
	if ((err = vg_store_pg_exec_one(db, registry, 3, p_reg, &r_reg)) != VG_OK)
		goto out;
	p_up[0] = a->l->scan_id;
	p_up[1] = f->fingerprint;
	p_up[2] = f->id;
	p_up[3] = repo;
	p_up[4] = a->data;
	p_up[5] = f->severity;
	p_up[6] = now.s;
	p_up[7] = vg_pg_text(r_reg, 0, 0);
	p_up[8] = vg_pg_text(r_reg, 0, 1) ? vg_pg_text(r_reg, 0, 1) : "";
	p_up[9] = vg_pg_text(r_reg, 0, 2) ? vg_pg_text(r_reg, 0, 2) : "";
	p_up[10] = vg_store_pg_num(&decided, vg_pg_i64(r_reg, 0, 3, 0));
	p_up[11] = vg_pg_text(r_reg, 0, 4) ? vg_pg_text(r_reg, 0, 4) : "";
	p_up[12] = vg_pg_text(r_reg, 0, 5);
	p_up[13] = att.s;
	p_up[14] = a->l->lease_token;
	if ((err = exec_leased(db, upsert, 15, p_up, &res)) != VG_OK)
		goto out;
	/* The caller keeps its data; everything else is as stored. */
	if ((err = vg_store_pg_cell(res, 0, 0, f->id, sizeof f->id)) ||
	    (err = vg_store_pg_cell(res, 0, 1, f->repository_id, sizeof f->repository_id)) ||
	    (err = vg_store_pg_cell(res, 0, 2, f->severity, sizeof f->severity)) ||
	    (err = vg_store_pg_cell(res, 0, 3, f->status, sizeof f->status)) ||
	    (err = vg_store_pg_cell(res, 0, 4, f->status_reason, sizeof f->status_reason)) ||
	    (err = vg_store_pg_cell(res, 0, 5, f->status_actor_id,
	    sizeof f->status_actor_id)) ||
	    (err = vg_store_pg_cell(r_reg, 0, 4, f->first_scan_id, sizeof f->first_scan_id)) ||
	    (err = vg_store_pg_cell(res, 0, 7, f->last_scan_id, sizeof f->last_scan_id)))
		goto out;
	f->status_at_us = vg_pg_i64(res, 0, 6, 0);
	f->created_at_us = vg_pg_i64(res, 0, 8, 0);
	f->updated_at_us = vg_pg_i64(res, 0, 9, 0);
	a->created = p_up[12] && !p_up[12][0];
out:
	PQclear(res);
	PQclear(r_reg);
	PQclear(r_lock);
	return err;
}

static enum vg_err
pg_finding_upsert(struct vg_store *s, const struct vg_lease *l, struct vg_finding_row *f,
    int64_t now_us, bool *created)
{
	struct finding_upsert_arg a = {l, f, NULL, now_us, false};
	char *data = NULL;
	enum vg_err err;

	if (!f->data || !json_is_object(f->data))
		return VG_ERR_INVALID;
	if ((err = id_or_new(f->id)) != VG_OK || (err = json_param(f->data, &data)) != VG_OK)
		return err;
	if (vg_str_copy(f->scan_id, sizeof f->scan_id, l->scan_id) != VG_OK) {
		free(data);
		return VG_ERR_INVALID;
	}
	a.data = data;
	err = vg_pg_tx(s->pg, do_finding_upsert, &a);
	if (err == VG_OK && created)
		*created = a.created;
	free(data);
	return err;
}

/*
 * The finding list statements: one per (kind, scope, sort), so each can
 * use its index.  $1 the scan or repository; filtered, $2 severity, $3
 * status, $4 CWE, $5 path prefix (each NULL for any), $6 limit, $7
 * offset; unfiltered, $2 limit, $3 offset; the first default page, no
 * more.  The unfiltered ones are prepared once per connection (pg.h);
 * the filtered ones, whose best plan depends on which filters are set,
 * are planned for their values each time.  The first page of the API's
 * default size, what a client asks for most, has its limit and offset
 * written in: the server plans it once, where a limit given as a
 * parameter (guessed at a tenth of the rows) makes a plan for no values
 * in particular look worse than planning each time.  The page is cut
 * first, then joined with the registry.
 */
#define FINDING_FILTER \
	" AND ($2::text IS NULL OR f.severity = $2::text)" \
	" AND ($3::text IS NULL OR f.status = $3::text)" \
	" AND ($4::integer IS NULL OR $4::integer = ANY (f.cwe_ids))" \
	" AND ($5::text IS NULL OR starts_with(f.file_path, $5::text))"
#define FINDING_IN_SCAN " WHERE f.scan_id = $1::uuid"
#define FINDING_IN_REPO " WHERE f.repository_id = $1::uuid AND f.is_latest"
#define ORDER_SEVERITY " ORDER BY f.severity_rank, f.file_path COLLATE \"C\"," \
	" f.line_start, f.id"
#define ORDER_PATH " ORDER BY f.file_path COLLATE \"C\", f.line_start, f.id"
#define ORDER_NEWEST " ORDER BY f.created_at DESC, f.id"
#define FINDING_PAGE(where, order, limit, offset) \
	"SELECT " FINDING_COLS " FROM (SELECT * FROM findings f" where order \
	" LIMIT " limit " OFFSET " offset ") f" FINDING_TRIAGE_JOIN order
#define FINDING_PAGES(filter, limit, offset) { \
		{ \
			[SORT_SEVERITY] = FINDING_PAGE(FINDING_IN_SCAN filter, ORDER_SEVERITY, \
			    limit, offset), \
			[SORT_PATH] = FINDING_PAGE(FINDING_IN_SCAN filter, ORDER_PATH, limit, offset), \
			[SORT_NEWEST] = FINDING_PAGE(FINDING_IN_SCAN filter, ORDER_NEWEST, limit, \
			    offset), \
		}, \
		{ \
			[SORT_SEVERITY] = FINDING_PAGE(FINDING_IN_REPO filter, ORDER_SEVERITY, \
			    limit, offset), \
			[SORT_PATH] = FINDING_PAGE(FINDING_IN_REPO filter, ORDER_PATH, limit, offset), \
			[SORT_NEWEST] = FINDING_PAGE(FINDING_IN_REPO filter, ORDER_NEWEST, limit, \
			    offset), \
		}, \
	}

enum finding_sort { SORT_SEVERITY, SORT_PATH, SORT_NEWEST, SORT__COUNT };

static const char *const sort_names[SORT__COUNT] = {
	[SORT_SEVERITY] = "severity", [SORT_PATH] = "path", [SORT_NEWEST] = "newest",
};

/* The rows of the first default page: the API's default page size
 * (vg_http_page_args) and one more, to know whether another page follows. */
#define FIRST_PAGE_ROWS 51
#define STRINGIFY(x) #x
#define AS_TEXT(x) STRINGIFY(x)

enum finding_kind { PAGE_FIRST, PAGE_UNFILTERED, PAGE_FILTERED, PAGE__COUNT };

/* [kind][by repository][sort] */
static const char *const finding_page_sql[PAGE__COUNT][2][SORT__COUNT] = {
	[PAGE_FIRST] = FINDING_PAGES("", AS_TEXT(FIRST_PAGE_ROWS), "0"),
	[PAGE_UNFILTERED] = FINDING_PAGES("", "$2", "$3"),
	[PAGE_FILTERED] = FINDING_PAGES(FINDING_FILTER, "$6", "$7"),
};

static const char *const finding_count_sql[2] = {
	"SELECT count(*) FROM findings f" FINDING_IN_SCAN FINDING_FILTER,
	"SELECT count(*) FROM findings f" FINDING_IN_REPO FINDING_FILTER,
};

/* The filter's parameters ($1..$5) into params; cwe is written into
 * num.  VG_ERR_INVALID for a scope or sort store.h does not name. */
static enum vg_err
finding_params(const struct vg_finding_filter *f, const char *params[5],
    struct vg_store_pg_num *num, bool *by_repo, enum finding_sort *sort)
{
	size_t i;

	*by_repo = !(f->scan_id && *f->scan_id);
	params[0] = *by_repo ? f->repository_id : f->scan_id;
	if (!params[0] || !*params[0])
		return VG_ERR_INVALID;
	params[1] = f->severity && *f->severity ? f->severity : NULL;
	params[2] = f->status && *f->status ? f->status : NULL;
	params[3] = f->cwe ? vg_store_pg_num(num, f->cwe) : NULL;
	params[4] = f->path_prefix && *f->path_prefix ? f->path_prefix : NULL;
	*sort = SORT_SEVERITY;
	if (!f->sort || !*f->sort)
		return VG_OK;
	for (i = 0; i < SORT__COUNT; i++)
		if (strcmp(f->sort, sort_names[i]) == 0) {
			*sort = (enum finding_sort)i;
			return VG_OK;
		}
	return VG_ERR_INVALID;
}

static enum vg_err
pg_finding_list(struct vg_store *s, const struct vg_finding_filter *f, int64_t offset, int n,
    struct vg_finding_row **out, size_t *count)
{
	struct vg_store_pg_num cwe, lim, off;
	const char *params[7];
	enum finding_sort sort;
	void *items = NULL;
	enum finding_kind kind;
	bool by_repo;
	int np;
	enum vg_err err;

	if ((err = finding_params(f, params, &cwe, &by_repo, &sort)) != VG_OK)
		return err;
	if (params[1] || params[2] || params[3] || params[4]) {
		kind = PAGE_FILTERED;
		np = 5;
	} else {
		kind = offset == 0 && n == FIRST_PAGE_ROWS ? PAGE_FIRST : PAGE_UNFILTERED;
		np = 1;
	}
	if (kind != PAGE_FIRST) {
		params[np++] = vg_store_pg_num(&lim, n);
		params[np++] = vg_store_pg_num(&off, offset);
	}
	err = vg_store_pg_rows(s->pg, finding_page_sql[kind][by_repo][sort], np, params,
	    sizeof **out, finding_row, finding_clear, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_finding_count(struct vg_store *s, const struct vg_finding_filter *f, int64_t *count)
{
	struct vg_store_pg_num cwe;
	const char *params[5];
	enum finding_sort sort;
	bool by_repo;
	enum vg_err err;

	if ((err = finding_params(f, params, &cwe, &by_repo, &sort)) != VG_OK)
		return err;
	return exec_count(s->pg, finding_count_sql[by_repo], 5, params, count);
}

static enum vg_err
pg_finding_get(struct vg_store *s, const char *id, struct vg_finding_row *out)
{
	static const char sql[] =
	    "SELECT " FINDING_COLS " FROM findings f" FINDING_TRIAGE_JOIN " WHERE f.id = $1";
	const char *params[] = {id};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = finding_row(res, 0, out);
	PQclear(res);
	return err;
}

struct triage_arg {
	const char *id;
	const struct vg_triage *t;
};

/*
 * Inside the caller's transaction: the decision goes into the
 * fingerprint's registry row (whose lock also orders upserts of the
 * fingerprint), then, in a statement that sees every row committed
 * before that lock was ours, each row of the fingerprint in the
 * repository takes the status and the history gets its entry.
 */
static enum vg_err
do_triage(struct vg_pg *db, void *arg)
{
	static const char decide[] =
	    "INSERT INTO finding_triage AS t (repository_id, fingerprint, status, reason,"
	    " actor_id, decided_at, comment, first_scan_id, last_scan_id)"
	    " SELECT f.repository_id, f.fingerprint, $2, NULLIF($3, ''), NULLIF($4, '')::uuid, "
	    US_TO_TS("$6") ", NULLIF($5, ''), f.scan_id, f.scan_id FROM findings f WHERE f.id = $1"
	    " ON CONFLICT (repository_id, fingerprint) DO UPDATE SET status = EXCLUDED.status,"
	    " reason = EXCLUDED.reason, actor_id = EXCLUDED.actor_id,"
	    " decided_at = EXCLUDED.decided_at, comment = EXCLUDED.comment"
	    " RETURNING t.repository_id, t.fingerprint";
	static const char apply[] =
	    "WITH u AS (UPDATE findings f SET status = $3, status_reason = NULLIF($4, ''),"
	    "  status_actor_id = NULLIF($5, '')::uuid, status_at = " US_TO_TS("$7") ","
	    "  updated_at = " US_TO_TS("$7")
	    "  WHERE f.repository_id = $1 AND f.fingerprint = $2)"
	    " INSERT INTO finding_history (repository_id, fingerprint, at, actor_id, status,"
	    " reason, comment) VALUES ($1, $2, " US_TO_TS("$7") ", NULLIF($5, '')::uuid, $3,"
	    " NULLIF($4, ''), NULLIF($6, ''))";
	struct triage_arg *a = arg;
	const struct vg_triage *t = a->t;
	struct vg_store_pg_num now;
	const char *p1[] = {a->id, t->status, t->reason, t->actor_id, t->comment,
	    vg_store_pg_num(&now, t->now_us)};
	const char *p2[7];
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = vg_store_pg_exec_one(db, decide, 6, p1, &res)) != VG_OK)
		goto out;
	p2[0] = vg_pg_text(res, 0, 0);
	p2[1] = vg_pg_text(res, 0, 1);
	p2[2] = t->status;
	p2[3] = t->reason;
	p2[4] = t->actor_id;
	p2[5] = t->comment;
	p2[6] = now.s;
	err = vg_store_pg_exec_one(db, apply, 7, p2, NULL);
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_finding_triage(struct vg_store *s, const char *id, const struct vg_triage *t,
    struct vg_finding_row *out)
{
	struct triage_arg a = {id, t};
	enum vg_err err = vg_pg_tx(s->pg, do_triage, &a);

	if (err == VG_OK && out)
		err = pg_finding_get(s, id, out);
	return err;
}

/* No finding: no row; a finding without history: one row of NULLs. */
static enum vg_err
pg_finding_history(struct vg_store *s, const char *id, json_t **items)
{
	static const char sql[] =
	    "SELECT h.id, " TS_TO_US("h.at") ", h.actor_id, h.status, h.reason, h.comment"
	    " FROM findings f LEFT JOIN finding_history h ON h.repository_id = f.repository_id"
	    " AND h.fingerprint = f.fingerprint WHERE f.id = $1 ORDER BY h.at, h.id";
	const char *params[] = {id};
	char at[VG_TIME_RFC3339_LEN];
	PGresult *res = NULL;
	json_t *arr = NULL, *item;
	enum vg_err err;
	int i;

	*items = NULL;
	if ((err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(arr = json_array()))
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if (!vg_pg_text(res, i, 0))
			continue;
		vg_time_format(vg_pg_i64(res, i, 1, 0), at);
		item = json_pack("{s:s, s:s?, s:s, s:s?, s:s?}", "at", at,
		    "actor_id", vg_pg_text(res, i, 2), "status", vg_pg_text(res, i, 3),
		    "reason", vg_pg_text(res, i, 4), "comment", vg_pg_text(res, i, 5));
		if (!item || json_array_append_new(arr, item) != 0)
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

/* ---- runner jobs ---- */

#define JOB_COLS "id, scan_id, attempt, worker_id, mode, external_id, status, exit_code," \
	" error_message, " TS_TO_US("created_at") ", " TS_TO_US("started_at") ", " \
	TS_TO_US("finished_at")

static enum vg_err
job_row(const PGresult *res, int row, void *item)
{
	struct vg_runner_job *j = item;
	enum vg_err err;

	memset(j, 0, sizeof *j);
	if ((err = vg_store_pg_cell(res, row, 0, j->id, sizeof j->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, j->scan_id, sizeof j->scan_id)) ||
	    (err = vg_store_pg_cell(res, row, 3, j->worker_id, sizeof j->worker_id)) ||
	    (err = vg_store_pg_cell(res, row, 4, j->mode, sizeof j->mode)) ||
	    (err = vg_store_pg_cell(res, row, 5, j->external_id, sizeof j->external_id)) ||
	    (err = vg_store_pg_cell(res, row, 6, j->status, sizeof j->status)) ||
	    (err = vg_store_pg_cell(res, row, 8, j->error_message, sizeof j->error_message)))
		return err;
	j->attempt = vg_pg_i64(res, row, 2, 0);
	j->exit_code = vg_pg_i64(res, row, 7, -1);
	j->created_at_us = vg_pg_i64(res, row, 9, 0);
	j->started_at_us = vg_pg_i64(res, row, 10, 0);
	j->finished_at_us = vg_pg_i64(res, row, 11, 0);
	return VG_OK;
}

static enum vg_err
pg_runner_job_get(struct vg_store *s, const char *scan_id, int64_t attempt,
    struct vg_runner_job *out)
{
	static const char sql[] =
	    "SELECT " JOB_COLS " FROM runner_jobs WHERE scan_id = $1 AND attempt = $2::integer";
	struct vg_store_pg_num att;
	const char *params[] = {scan_id, vg_store_pg_num(&att, attempt)};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res);

	if (err == VG_OK)
		err = job_row(res, 0, out);
	PQclear(res);
	return err;
}

/* Insert unless (scan, attempt) has its job; then the stored row, read by
 * a second statement that sees what a concurrent create committed. */
static enum vg_err
pg_runner_job_create(struct vg_store *s, struct vg_runner_job *j, int64_t now_us,
    bool *existed)
{
	static const char sql[] =
	    "INSERT INTO runner_jobs (id, scan_id, attempt, worker_id, mode, external_id, status,"
	    " created_at) SELECT $1, sc.id, $3::integer, NULLIF($4, '')::uuid, $5, NULLIF($6, ''),"
	    " 'starting', " US_TO_TS("$7") " FROM scans sc WHERE sc.id = $2"
	    " ON CONFLICT (scan_id, attempt) DO NOTHING RETURNING " JOB_COLS;
	struct vg_store_pg_num att, now;
	const char *params[7];
	PGresult *res = NULL;
	bool found = false;
	enum vg_err err;

	if ((err = id_or_new(j->id)) != VG_OK)
		return err;
	params[0] = j->id;
	params[1] = j->scan_id;
	params[2] = vg_store_pg_num(&att, j->attempt);
	params[3] = j->worker_id;
	params[4] = j->mode;
	params[5] = j->external_id;
	params[6] = vg_store_pg_num(&now, now_us);
	err = vg_store_pg_exec_one(s->pg, sql, 7, params, &res);
	if (err == VG_OK)
		err = job_row(res, 0, j);
	else if (err == VG_ERR_NOT_FOUND) {
		found = true;
		err = pg_runner_job_get(s, j->scan_id, j->attempt, j);
	}
	if (err == VG_OK && existed)
		*existed = found;
	PQclear(res);
	return err;
}

static enum vg_err
pg_runner_job_update(struct vg_store *s, const char *scan_id, int64_t attempt,
    const struct vg_runner_job_change *c)
{
	static const char sql[] =
	    "UPDATE runner_jobs SET status = $3,"
	    " external_id = COALESCE(NULLIF($4, ''), external_id),"
	    " exit_code = CASE WHEN $5::integer >= 0 THEN $5::integer ELSE exit_code END,"
	    " error_message = COALESCE($6, error_message),"
	    " started_at = CASE WHEN $3 = 'running' THEN COALESCE(started_at, " US_TO_TS("$7") ")"
	    "  ELSE started_at END,"
	    " finished_at = CASE WHEN $3 IN ('exited', 'failed', 'lost') THEN " US_TO_TS("$7")
	    "  ELSE finished_at END"
	    " WHERE scan_id = $1 AND attempt = $2::integer";
	struct vg_store_pg_num att, code, now;
	const char *params[] = {scan_id, vg_store_pg_num(&att, attempt), c->status,
	    c->external_id, vg_store_pg_num(&code, c->exit_code), c->error_message,
	    vg_store_pg_num(&now, c->now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 7, params, NULL);
}

static enum vg_err
pg_runner_job_list(struct vg_store *s, const char *scan_id, struct vg_runner_job **out,
    size_t *count)
{
	static const char sql[] =
	    "SELECT " JOB_COLS " FROM runner_jobs WHERE scan_id = $1 ORDER BY attempt";
	const char *params[] = {scan_id};
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_rows(s->pg, sql, 1, params, sizeof **out, job_row, NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

/* ---- maintenance ---- */

/* What prune removes: refresh families (their tokens cascade) and API
 * keys that ended, expired or revoked, before $1; workers silent since
 * before $1 (a stopped worker's last heartbeat is its stop). */
#define PRUNE_FAMILIES " FROM refresh_token_families" \
	" WHERE expires_at < " US_TO_TS("$1") " OR revoked_at < " US_TO_TS("$1")
#define PRUNE_KEYS " FROM api_keys" \
	" WHERE expires_at < " US_TO_TS("$1") " OR revoked_at < " US_TO_TS("$1")
#define PRUNE_WORKERS " FROM workers WHERE last_heartbeat_at < " US_TO_TS("$1")

/* [dry run][family, keys, workers] */
static const char *const prune_sql[2][3] = {
	{
		"WITH d AS (DELETE" PRUNE_FAMILIES " RETURNING 1) SELECT count(*) FROM d",
		"WITH d AS (DELETE" PRUNE_KEYS " RETURNING 1) SELECT count(*) FROM d",
		"WITH d AS (DELETE" PRUNE_WORKERS " RETURNING 1) SELECT count(*) FROM d",
	},
	{
		"SELECT count(*)" PRUNE_FAMILIES,
		"SELECT count(*)" PRUNE_KEYS,
		"SELECT count(*)" PRUNE_WORKERS,
	},
};

static enum vg_err
pg_prune(struct vg_store *s, const struct vg_prune *p, struct vg_prune_counts *out)
{
	struct vg_store_pg_num tokens, workers;
	const char *p_tok[] = {vg_store_pg_num(&tokens, p->tokens_before_us)};
	const char *p_wrk[] = {vg_store_pg_num(&workers, p->workers_before_us)};
	int dry = p->dry_run ? 1 : 0;
	enum vg_err err;

	memset(out, 0, sizeof *out);
	if ((err = exec_count(s->pg, prune_sql[dry][0], 1, p_tok, &out->refresh_families)) ||
	    (err = exec_count(s->pg, prune_sql[dry][1], 1, p_tok, &out->api_keys)) ||
	    (err = exec_count(s->pg, prune_sql[dry][2], 1, p_wrk, &out->workers)))
		return err;
	return VG_OK;
}

const struct vg_store_scans_ops vg_store_pg_scans_ops = {
	.scan_create = pg_scan_create,
	.scan_get = pg_scan_get,
	.scan_list = pg_scan_list,
	.scan_claim = pg_scan_claim,
	.scan_start = pg_scan_start,
	.scan_heartbeat = pg_scan_heartbeat,
	.scan_finish = pg_scan_finish,
	.scan_cancel = pg_scan_cancel,
	.scan_stale = pg_scan_stale,
	.scan_rescue_running = pg_scan_rescue_running,
	.scan_requeue_claimed = pg_scan_requeue_claimed,
	.scan_count_active = pg_scan_count_active,
	.scan_finished_before = pg_scan_finished_before,
	.event_append = pg_event_append,
	.event_list = pg_event_list,
	.event_list_repository = pg_event_list_repository,
	.finding_upsert = pg_finding_upsert,
	.finding_list = pg_finding_list,
	.finding_count = pg_finding_count,
	.finding_get = pg_finding_get,
	.finding_triage = pg_finding_triage,
	.finding_history = pg_finding_history,
	.runner_job_create = pg_runner_job_create,
	.runner_job_update = pg_runner_job_update,
	.runner_job_get = pg_runner_job_get,
	.runner_job_list = pg_runner_job_list,
	.prune = pg_prune,
};
