/*
 * store_scans.c - scans, events, findings, triage, runner jobs, pruning
 * and LLM usage: argument checks, defaults, cursors, shared by both
 * backends (store_json_scans.c, store_pg_scans.c), which receive only
 * well-formed input.  Conventions as in store_sources.c.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

static const struct vg_store_scans_ops *
ops_of(const struct vg_store *s)
{
	return s->ops->scans;
}

enum vg_err
vg_store_scan_create(struct vg_store *s, struct vg_scan *sc, int64_t max_active)
{
	if (!ops_of(s) || !ops_of(s)->scan_create)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_create(s, sc, max_active);
}

enum vg_err
vg_store_scan_get(struct vg_store *s, const char *id, struct vg_scan *out)
{
	if (!ops_of(s) || !ops_of(s)->scan_get)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_get(s, id, out);
}

enum vg_err
vg_store_scan_claim(struct vg_store *s, const char *worker_id,
    const char *scan_id, const char *lease_token, int64_t now_us, struct vg_scan *out)
{
	if (!ops_of(s) || !ops_of(s)->scan_claim)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_claim(s, worker_id, scan_id, lease_token, now_us, out);
}

enum vg_err
vg_store_scan_start(struct vg_store *s, const struct vg_lease *l, int64_t now_us)
{
	if (!ops_of(s) || !ops_of(s)->scan_start)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_start(s, l, now_us);
}

enum vg_err
vg_store_scan_heartbeat(struct vg_store *s, const struct vg_lease *l,
    int64_t files_scanned, int64_t now_us, bool *cancel_requested)
{
	if (!ops_of(s) || !ops_of(s)->scan_heartbeat)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_heartbeat(s, l, files_scanned, now_us, cancel_requested);
}

enum vg_err
vg_store_scan_finish(struct vg_store *s, const struct vg_lease *l,
    const struct vg_scan_finish *f)
{
	if (!ops_of(s) || !ops_of(s)->scan_finish)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_finish(s, l, f);
}

enum vg_err
vg_store_scan_cancel(struct vg_store *s, const char *id, int64_t now_us,
    struct vg_scan *out)
{
	if (!ops_of(s) || !ops_of(s)->scan_cancel)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_cancel(s, id, now_us, out);
}

enum vg_err
vg_store_scan_stale(struct vg_store *s, int64_t heartbeat_before_us,
    int64_t started_before_us, int64_t claimed_before_us, struct vg_scan **out,
    size_t *count)
{
	if (!ops_of(s) || !ops_of(s)->scan_stale)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_stale(s, heartbeat_before_us, started_before_us, claimed_before_us, out, count);
}

enum vg_err
vg_store_scan_rescue_running(struct vg_store *s, const char *id, int64_t attempt,
    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us)
{
	if (!ops_of(s) || !ops_of(s)->scan_rescue_running)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_rescue_running(s, id, attempt, heartbeat_before_us, started_before_us, now_us);
}

enum vg_err
vg_store_scan_requeue_claimed(struct vg_store *s, const char *id, int64_t attempt,
    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us)
{
	if (!ops_of(s) || !ops_of(s)->scan_requeue_claimed)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_requeue_claimed(s, id, attempt, claimed_before_us, max_attempts, now_us);
}

enum vg_err
vg_store_scan_count_active(struct vg_store *s, const char *user_id,
    int64_t *count)
{
	if (!ops_of(s) || !ops_of(s)->scan_count_active)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_count_active(s, user_id, count);
}

enum vg_err
vg_store_scan_finished_before(struct vg_store *s, int64_t before_us, int n,
    char (**out)[VG_UUID_LEN + 1], size_t *count)
{
	if (!ops_of(s) || !ops_of(s)->scan_finished_before)
		return VG_ERR_INTERNAL;
	return ops_of(s)->scan_finished_before(s, before_us, n, out, count);
}

enum vg_err
vg_store_event_append(struct vg_store *s, const struct vg_lease *l,
    const char *type, json_t *payload, int64_t now_us, int64_t *seq)
{
	if (!ops_of(s) || !ops_of(s)->event_append)
		return VG_ERR_INTERNAL;
	return ops_of(s)->event_append(s, l, type, payload, now_us, seq);
}

enum vg_err
vg_store_event_list(struct vg_store *s, const char *scan_id, int64_t after,
    int limit, struct vg_event **out, size_t *count)
{
	if (!ops_of(s) || !ops_of(s)->event_list)
		return VG_ERR_INTERNAL;
	return ops_of(s)->event_list(s, scan_id, after, limit, out, count);
}

enum vg_err
vg_store_finding_upsert(struct vg_store *s, const struct vg_lease *l,
    struct vg_finding_row *f, int64_t now_us, bool *created)
{
	if (!ops_of(s) || !ops_of(s)->finding_upsert)
		return VG_ERR_INTERNAL;
	return ops_of(s)->finding_upsert(s, l, f, now_us, created);
}

enum vg_err
vg_store_finding_count(struct vg_store *s, const struct vg_finding_filter *f,
    int64_t *count)
{
	if (!ops_of(s) || !ops_of(s)->finding_count)
		return VG_ERR_INTERNAL;
	return ops_of(s)->finding_count(s, f, count);
}

enum vg_err
vg_store_finding_get(struct vg_store *s, const char *id,
    struct vg_finding_row *out)
{
	if (!ops_of(s) || !ops_of(s)->finding_get)
		return VG_ERR_INTERNAL;
	return ops_of(s)->finding_get(s, id, out);
}

enum vg_err
vg_store_finding_triage(struct vg_store *s, const char *id,
    const struct vg_triage *t, struct vg_finding_row *out)
{
	if (!ops_of(s) || !ops_of(s)->finding_triage)
		return VG_ERR_INTERNAL;
	return ops_of(s)->finding_triage(s, id, t, out);
}

enum vg_err
vg_store_finding_history(struct vg_store *s, const char *id, json_t **items)
{
	if (!ops_of(s) || !ops_of(s)->finding_history)
		return VG_ERR_INTERNAL;
	return ops_of(s)->finding_history(s, id, items);
}

enum vg_err
vg_store_runner_job_create(struct vg_store *s, struct vg_runner_job *j,
    int64_t now_us, bool *existed)
{
	if (!ops_of(s) || !ops_of(s)->runner_job_create)
		return VG_ERR_INTERNAL;
	return ops_of(s)->runner_job_create(s, j, now_us, existed);
}

enum vg_err
vg_store_runner_job_update(struct vg_store *s, const char *scan_id,
    int64_t attempt, const struct vg_runner_job_change *c)
{
	if (!ops_of(s) || !ops_of(s)->runner_job_update)
		return VG_ERR_INTERNAL;
	return ops_of(s)->runner_job_update(s, scan_id, attempt, c);
}

enum vg_err
vg_store_runner_job_get(struct vg_store *s, const char *scan_id, int64_t attempt,
    struct vg_runner_job *out)
{
	if (!ops_of(s) || !ops_of(s)->runner_job_get)
		return VG_ERR_INTERNAL;
	return ops_of(s)->runner_job_get(s, scan_id, attempt, out);
}

enum vg_err
vg_store_runner_job_list(struct vg_store *s, const char *scan_id,
    struct vg_runner_job **out, size_t *count)
{
	if (!ops_of(s) || !ops_of(s)->runner_job_list)
		return VG_ERR_INTERNAL;
	return ops_of(s)->runner_job_list(s, scan_id, out, count);
}

enum vg_err
vg_store_prune(struct vg_store *s, const struct vg_prune *p,
    struct vg_prune_counts *out)
{
	if (!ops_of(s) || !ops_of(s)->prune)
		return VG_ERR_INTERNAL;
	return ops_of(s)->prune(s, p, out);
}

enum vg_err
vg_store_llm_reserve(struct vg_store *s, struct vg_llm_reservation *r,
    const struct vg_llm_limits *lim, struct vg_llm_totals *after)
{
	if (!ops_of(s) || !ops_of(s)->llm_reserve)
		return VG_ERR_INTERNAL;
	return ops_of(s)->llm_reserve(s, r, lim, after);
}

enum vg_err
vg_store_llm_settle(struct vg_store *s, const char *id,
    const struct vg_llm_settlement *st)
{
	if (!ops_of(s) || !ops_of(s)->llm_settle)
		return VG_ERR_INTERNAL;
	return ops_of(s)->llm_settle(s, id, st);
}

enum vg_err
vg_store_llm_totals(struct vg_store *s, const char *scan_id,
    struct vg_llm_totals *out)
{
	if (!ops_of(s) || !ops_of(s)->llm_totals)
		return VG_ERR_INTERNAL;
	return ops_of(s)->llm_totals(s, scan_id, out);
}

enum vg_err
vg_store_llm_list(struct vg_store *s, const char *scan_id, json_t **items)
{
	if (!ops_of(s) || !ops_of(s)->llm_list)
		return VG_ERR_INTERNAL;
	return ops_of(s)->llm_list(s, scan_id, items);
}

/* Paged lists: the cursors are made here (to be completed). */
enum vg_err
vg_store_scan_list(struct vg_store *s, const struct vg_scan_filter *f, const char *cursor,
    int limit, struct vg_scan **out, size_t *count, char **next_cursor)
{
	(void)s; (void)f; (void)cursor; (void)limit; (void)out; (void)count; (void)next_cursor;
	return VG_ERR_INTERNAL;
}

enum vg_err
vg_store_event_list_repository(struct vg_store *s, const char *repository_id,
    const char *cursor, int limit, struct vg_event **out, size_t *count, char **next_cursor)
{
	(void)s; (void)repository_id; (void)cursor; (void)limit; (void)out; (void)count;
	(void)next_cursor;
	return VG_ERR_INTERNAL;
}

enum vg_err
vg_store_finding_list(struct vg_store *s, const struct vg_finding_filter *f,
    const char *cursor, int limit, struct vg_finding_row **out, size_t *count,
    char **next_cursor)
{
	(void)s; (void)f; (void)cursor; (void)limit; (void)out; (void)count; (void)next_cursor;
	return VG_ERR_INTERNAL;
}

void
vg_event_clear(struct vg_event *e)
{
	if (!e)
		return;
	json_decref(e->payload);
	e->payload = NULL;
}

void
vg_finding_row_clear(struct vg_finding_row *f)
{
	if (!f)
		return;
	json_decref(f->data);
	f->data = NULL;
}
