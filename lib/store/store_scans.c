/*
 * store_scans.c - scans, events, findings, triage, runner jobs, pruning
 * and LLM usage: argument checks, defaults, ordering and cursors, shared
 * by both backends (store_json_scans.c, store_pg_scans.c), which receive
 * only well-formed input.
 *
 * Conventions, as in store_sources.c: a malformed id handed in to look a
 * thing up finds nothing (VG_ERR_NOT_FOUND); a malformed field of
 * something being written, the parent id of a list or a count, or a
 * malformed lease is VG_ERR_INVALID.  Ids are lower-cased before the
 * backend sees them; times of 0 become now.
 *
 * What both backends answer alike (the contract suite checks it):
 *   - a lease-checked call (start, heartbeat, finish, event append,
 *     finding upsert) answers VG_ERR_CONFLICT when the scan does not
 *     exist, its attempt or lease token differ, or its state does not
 *     allow the step, and then writes nothing;
 *   - claiming a scan by id answers VG_ERR_NOT_FOUND when that scan is
 *     not queued (or does not exist), like claiming with nothing queued;
 *   - rescue and requeue answer VG_ERR_NOT_FOUND for an unknown scan and
 *     VG_ERR_CONFLICT when their condition does not hold;
 *   - a scan's options, and a finding's data, come back in one canonical
 *     form (data: exactly the columns of findings, defaults filled).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/b64.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static const char *const scan_states[] = {VG_SCAN_QUEUED, VG_SCAN_CLAIMED, VG_SCAN_RUNNING,
    VG_SCAN_COMPLETED, VG_SCAN_FAILED, VG_SCAN_CANCELLED};
static const char *const finish_states[] = {VG_SCAN_COMPLETED, VG_SCAN_FAILED,
    VG_SCAN_CANCELLED};
static const char *const event_types[] = {"scan_started", "scan_progress", "scan_log",
    "finding_updated", "scan_completed", "scan_failed", "scan_cancelled"};
static const char *const finding_states[] = {"open", "confirmed", "dismissed"};
static const char *const confidences[] = {"high", "medium", "low"};
static const char *const finding_sorts[] = {"severity", "path", "newest"};
static const char *const job_modes[] = {"thread", "local", "ecs"};
static const char *const job_states[] = {"starting", "running", "exited", "failed", "lost"};

/* Lengths of the SQL CHECKs that have no name in store.h. */
#define LEASE_MIN 16
#define FINGERPRINT_MIN 8
#define FINGERPRINT_MAX 128
#define TITLE_MAX 500
#define CATEGORY_MAX 128
#define PATH_MAX_BYTES 4096
#define EVIDENCE_MAX 16384
#define PROSE_MAX 32768
#define RULE_MAX 256
#define COMMENT_MAX VG_STORE_DESCRIPTION_MAX
#define PROVIDER_MAX 64
#define MODEL_MAX 256
#define REQUEST_ID_MAX 128

/* The backend's scans table; NULL while a backend has none yet, which
 * every call answers with VG_ERR_INTERNAL rather than a crash. */
static const struct vg_store_scans_ops *
ops_of(const struct vg_store *s)
{
	return s->ops->scans;
}

/* The table when it has the slot, else NULL (a backend in the making). */
#define OP(s, slot) (ops_of(s) && ops_of(s)->slot ? ops_of(s) : NULL)

/* NULL or "" (any / none), else one of list. */
static bool
opt_one_of(const char *v, const char *const *list, size_t n)
{
	return !v || !v[0] || vg_store_one_of(v, list, n);
}

/*
 * A lease as the backend gets it: the scan id lower-cased (into id), an
 * attempt of at least 1 and a token of LEASE_MIN..VG_STORE_LEASE_MAX
 * bytes.  VG_ERR_INVALID otherwise.
 */
static enum vg_err
lease_norm(const struct vg_lease *l, char id[VG_UUID_LEN + 1], struct vg_lease *out)
{
	if (!l || !vg_store_uuid_norm(l->scan_id, id) || l->attempt < 1 || !l->lease_token ||
	    strnlen(l->lease_token, LEASE_MIN) < LEASE_MIN ||
	    !vg_store_text_ok(l->lease_token, VG_STORE_LEASE_MAX))
		return VG_ERR_INVALID;
	out->scan_id = id;
	out->attempt = l->attempt;
	out->lease_token = l->lease_token;
	return VG_OK;
}

/* A scan on its way out: options in the canonical form (a stored text
 * that does not parse is left as the backend answered it). */
static void
scan_out(struct vg_scan *sc)
{
	char copy[VG_STORE_OPTIONS_MAX + 1];

	memcpy(copy, sc->options, sizeof copy);
	if (vg_store_object_text_norm(copy, sizeof copy) == VG_OK)
		memcpy(sc->options, copy, sizeof copy);
}

/* ---- scans ---- */

/*
 * The backend gets sc with ids lower-cased, options canonical, status
 * queued, attempt 0, counters and lease cleared, created_at (now when 0)
 * = updated_at, and fills project_id from the repository.
 */
enum vg_err
vg_store_scan_create(struct vg_store *s, struct vg_scan *sc, int64_t max_active)
{
	const struct vg_store_scans_ops *o = OP(s, scan_create);
	int64_t created;
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(sc->repository_id, sc->repository_id) ||
	    !vg_store_uuid_norm(sc->snapshot_id, sc->snapshot_id) ||
	    !vg_store_opt_uuid_norm(sc->profile_id) ||
	    (sc->profile_id[0] ? sc->profile_version < 1 || sc->profile_version > INT32_MAX
	    : sc->profile_version != 0) ||
	    !vg_store_opt_uuid_norm(sc->created_by) ||
	    !vg_store_required_ok(sc->engine, VG_STORE_ENGINE_MAX) ||
	    vg_store_object_text_norm(sc->options, sizeof sc->options) != VG_OK || max_active < 0)
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(sc->id)) != VG_OK)
		return err;
	created = vg_store_now_or(sc->created_at_us);
	{
		struct vg_scan c = *sc;

		memset(sc, 0, sizeof *sc);
		memcpy(sc->id, c.id, sizeof sc->id);
		memcpy(sc->repository_id, c.repository_id, sizeof sc->repository_id);
		memcpy(sc->snapshot_id, c.snapshot_id, sizeof sc->snapshot_id);
		memcpy(sc->profile_id, c.profile_id, sizeof sc->profile_id);
		sc->profile_version = c.profile_version;
		memcpy(sc->created_by, c.created_by, sizeof sc->created_by);
		memcpy(sc->engine, c.engine, sizeof sc->engine);
		memcpy(sc->options, c.options, sizeof sc->options);
	}
	vg_str_copy(sc->status, sizeof sc->status, VG_SCAN_QUEUED);
	sc->created_at_us = sc->updated_at_us = created;
	return o->scan_create(s, sc, max_active);
}

enum vg_err
vg_store_scan_get(struct vg_store *s, const char *id, struct vg_scan *out)
{
	const struct vg_store_scans_ops *o = OP(s, scan_get);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	if ((err = o->scan_get(s, key, out)) == VG_OK)
		scan_out(out);
	return err;
}

static void
scan_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_scan *sc = item;

	pos->at_us = sc->created_at_us;
	memcpy(pos->id, sc->id, sizeof pos->id);
}

static const struct vg_store_pager scan_pager = {sizeof(struct vg_scan), scan_pos, NULL};

/* The backend gets the filter with NULL for "any" and ids lower-cased. */
enum vg_err
vg_store_scan_list(struct vg_store *s, const struct vg_scan_filter *f, const char *cursor,
    int limit, struct vg_scan **out, size_t *count, char **next_cursor)
{
	const struct vg_store_scans_ops *o = OP(s, scan_list);
	struct vg_scan_filter n = {NULL, NULL, NULL};
	struct vg_store_pos pos;
	char repo[VG_UUID_LEN + 1], by[VG_UUID_LEN + 1];
	bool has_pos;
	size_t i;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = vg_store_page_begin(cursor, limit, &pos, &has_pos)) != VG_OK)
		return err;
	if (f && (!vg_store_opt_uuid_arg(f->repository_id, repo, &n.repository_id) ||
	    !vg_store_opt_uuid_arg(f->created_by, by, &n.created_by) ||
	    !opt_one_of(f->status, scan_states, NELEM(scan_states))))
		return VG_ERR_INVALID;
	if (f && f->status && f->status[0])
		n.status = f->status;
	if ((err = o->scan_list(s, &n, has_pos ? &pos : NULL, limit + 1, out, count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&scan_pager, *out, count, limit, next_cursor)) != VG_OK) {
		*out = NULL;   /* freed by vg_store_page_end */
		return err;
	}
	for (i = 0; i < *count; i++)
		scan_out(&(*out)[i]);
	return VG_OK;
}

/*
 * worker_id may be NULL or "" (thread dispatch); scan_id NULL claims the
 * oldest queued scan.  out may be NULL.
 */
enum vg_err
vg_store_scan_claim(struct vg_store *s, const char *worker_id, const char *scan_id,
    const char *lease_token, int64_t now_us, struct vg_scan *out)
{
	const struct vg_store_scans_ops *o = OP(s, scan_claim);
	char wid[VG_UUID_LEN + 1], sid[VG_UUID_LEN + 1];
	const char *w = NULL;
	struct vg_scan tmp;
	enum vg_err err;

	if (!out)
		out = &tmp;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_opt_uuid_arg(worker_id, wid, &w) || !lease_token ||
	    strnlen(lease_token, LEASE_MIN) < LEASE_MIN ||
	    !vg_store_text_ok(lease_token, VG_STORE_LEASE_MAX))
		return VG_ERR_INVALID;
	if (scan_id && !vg_store_uuid_norm(scan_id, sid))
		return VG_ERR_NOT_FOUND;
	memset(out, 0, sizeof *out);
	if ((err = o->scan_claim(s, w ? w : "", scan_id ? sid : NULL, lease_token,
	    vg_store_now_or(now_us), out)) == VG_OK)
		scan_out(out);
	return err;
}

enum vg_err
vg_store_scan_start(struct vg_store *s, const struct vg_lease *l, int64_t now_us)
{
	const struct vg_store_scans_ops *o = OP(s, scan_start);
	char id[VG_UUID_LEN + 1];
	struct vg_lease n;
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = lease_norm(l, id, &n)) != VG_OK)
		return err;
	return o->scan_start(s, &n, vg_store_now_or(now_us));
}

/* The backend always gets a cancel_requested to fill. */
enum vg_err
vg_store_scan_heartbeat(struct vg_store *s, const struct vg_lease *l, int64_t files_scanned,
    int64_t now_us, bool *cancel_requested)
{
	const struct vg_store_scans_ops *o = OP(s, scan_heartbeat);
	char id[VG_UUID_LEN + 1];
	struct vg_lease n;
	bool cr = false;
	enum vg_err err;

	if (cancel_requested)
		*cancel_requested = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = lease_norm(l, id, &n)) != VG_OK)
		return err;
	if (files_scanned < 0 || files_scanned > INT32_MAX)
		return VG_ERR_INVALID;
	err = o->scan_heartbeat(s, &n, files_scanned, vg_store_now_or(now_us), &cr);
	if (cancel_requested && err == VG_OK)
		*cancel_requested = cr;
	return err;
}

/*
 * The backend gets error_code and error_message never NULL: "" unless
 * the status is failed (where error_code is required), now_us set, and
 * event_type NULL or one of the event types.
 */
enum vg_err
vg_store_scan_finish(struct vg_store *s, const struct vg_lease *l,
    const struct vg_scan_finish *f)
{
	const struct vg_store_scans_ops *o = OP(s, scan_finish);
	char id[VG_UUID_LEN + 1];
	struct vg_lease n;
	struct vg_scan_finish c;
	bool failed;
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = lease_norm(l, id, &n)) != VG_OK)
		return err;
	if (!f || !vg_store_one_of(f->status, finish_states, NELEM(finish_states)) ||
	    (f->event_type && !vg_store_one_of(f->event_type, event_types, NELEM(event_types))) ||
	    (f->event_payload && !json_is_object(f->event_payload)))
		return VG_ERR_INVALID;
	failed = strcmp(f->status, VG_SCAN_FAILED) == 0;
	if (failed && (!f->error_code ||
	    !vg_store_required_ok(f->error_code, VG_STORE_ERROR_CODE_MAX) ||
	    !vg_store_opt_text_ok(f->error_message, VG_STORE_ERROR_MESSAGE_MAX)))
		return VG_ERR_INVALID;
	c = *f;
	c.error_code = failed ? f->error_code : "";
	c.error_message = failed && f->error_message ? f->error_message : "";
	c.now_us = vg_store_now_or(f->now_us);
	return o->scan_finish(s, &n, &c);
}

enum vg_err
vg_store_scan_cancel(struct vg_store *s, const char *id, int64_t now_us, struct vg_scan *out)
{
	const struct vg_store_scans_ops *o = OP(s, scan_cancel);
	char key[VG_UUID_LEN + 1];
	struct vg_scan tmp;
	bool id_ok = vg_store_uuid_norm(id, key);
	enum vg_err err;

	/* id is read before *out is cleared: callers pass sc.id and &sc. */
	if (!out)
		out = &tmp;
	memset(out, 0, sizeof *out);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!id_ok)
		return VG_ERR_NOT_FOUND;
	if ((err = o->scan_cancel(s, key, vg_store_now_or(now_us), out)) == VG_OK)
		scan_out(out);
	return err;
}

/* Oldest first by (created_at, id). */
static int
scan_oldest_cmp(const void *a, const void *b)
{
	const struct vg_scan *x = a, *y = b;

	if (x->created_at_us != y->created_at_us)
		return x->created_at_us < y->created_at_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The candidates, oldest first; *out is malloc'd (free()). */
enum vg_err
vg_store_scan_stale(struct vg_store *s, int64_t heartbeat_before_us, int64_t started_before_us,
    int64_t claimed_before_us, struct vg_scan **out, size_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, scan_stale);
	size_t i;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (heartbeat_before_us < 0 || started_before_us < 0 || claimed_before_us < 0)
		return VG_ERR_INVALID;
	if ((err = o->scan_stale(s, heartbeat_before_us, started_before_us, claimed_before_us,
	    out, count)) != VG_OK)
		return err;
	if (*count > 1)
		qsort(*out, *count, sizeof **out, scan_oldest_cmp);
	for (i = 0; i < *count; i++)
		scan_out(&(*out)[i]);
	return VG_OK;
}

enum vg_err
vg_store_scan_rescue_running(struct vg_store *s, const char *id, int64_t attempt,
    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us)
{
	const struct vg_store_scans_ops *o = OP(s, scan_rescue_running);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (attempt < 1 || heartbeat_before_us < 0 || started_before_us < 0)
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	return o->scan_rescue_running(s, key, attempt, heartbeat_before_us, started_before_us,
	    vg_store_now_or(now_us));
}

enum vg_err
vg_store_scan_requeue_claimed(struct vg_store *s, const char *id, int64_t attempt,
    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us)
{
	const struct vg_store_scans_ops *o = OP(s, scan_requeue_claimed);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (attempt < 1 || claimed_before_us < 0 || max_attempts < 1)
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	return o->scan_requeue_claimed(s, key, attempt, claimed_before_us, max_attempts,
	    vg_store_now_or(now_us));
}

enum vg_err
vg_store_scan_count_active(struct vg_store *s, const char *user_id, int64_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, scan_count_active);
	char key[VG_UUID_LEN + 1];

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(user_id, key))
		return VG_ERR_INVALID;
	return o->scan_count_active(s, key, count);
}

enum vg_err
vg_store_scan_finished_before(struct vg_store *s, int64_t before_us, int n,
    char (**out)[VG_UUID_LEN + 1], size_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, scan_finished_before);

	*out = NULL;
	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (n < 1 || n > VG_STORE_LIST_MAX)
		return VG_ERR_INVALID;
	return o->scan_finished_before(s, before_us, n, out, count);
}

/* ---- events ---- */

void
vg_event_clear(struct vg_event *e)
{
	if (!e)
		return;
	json_decref(e->payload);
	e->payload = NULL;
}

/* Release events[0..n) and the array. */
static void
events_free(struct vg_event *es, size_t n)
{
	size_t i;

	for (i = 0; es && i < n; i++)
		vg_event_clear(&es[i]);
	free(es);
}

/* The backend gets payload NULL or an object, and now_us set. */
enum vg_err
vg_store_event_append(struct vg_store *s, const struct vg_lease *l, const char *type,
    json_t *payload, int64_t now_us, int64_t *seq)
{
	const struct vg_store_scans_ops *o = OP(s, event_append);
	char id[VG_UUID_LEN + 1];
	struct vg_lease n;
	int64_t got = 0;
	enum vg_err err;

	if (seq)
		*seq = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = lease_norm(l, id, &n)) != VG_OK)
		return err;
	if (!vg_store_one_of(type, event_types, NELEM(event_types)) ||
	    (payload && !json_is_object(payload)))
		return VG_ERR_INVALID;
	err = o->event_append(s, &n, type, payload, vg_store_now_or(now_us), &got);
	if (seq && err == VG_OK)
		*seq = got;
	return err;
}

static int
event_seq_cmp(const void *a, const void *b)
{
	const struct vg_event *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

enum vg_err
vg_store_event_list(struct vg_store *s, const char *scan_id, int64_t after, int limit,
    struct vg_event **out, size_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, event_list);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key) || after < 0 || limit < 1 ||
	    limit > VG_STORE_LIST_MAX)
		return VG_ERR_INVALID;
	if ((err = o->event_list(s, key, after, limit, out, count)) != VG_OK)
		return err;
	if (*count > 1)
		qsort(*out, *count, sizeof **out, event_seq_cmp);
	return VG_OK;
}

/* ---- opaque cursors of the two lists that are not newest first ----
 *
 * base64url (no padding) of "e.<at_us>.<scan id>.<seq>" (a repository's
 * events) or "f.<offset>.<16 hex digits>" (findings: the offset and the
 * first 8 bytes of a SHA-256 of the filter and sort, so a cursor of
 * another filter is refused).
 */

#define CURSOR_RAW_MAX 96

static char *
cursor_make(const char *raw)
{
	size_t n = strlen(raw);
	char *out = malloc(VG_B64_LEN(n));

	if (out && vg_b64url_encode((const unsigned char *)raw, n, out, VG_B64_LEN(n)) != VG_OK) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Decode cursor into raw (NUL-terminated text of at most
 * CURSOR_RAW_MAX - 1 bytes without NULs); VG_ERR_INVALID otherwise. */
static enum vg_err
cursor_raw(const char *cursor, char raw[CURSOR_RAW_MAX])
{
	size_t n = 0;

	if (!cursor || strlen(cursor) > VG_B64_LEN(CURSOR_RAW_MAX) ||
	    vg_b64url_decode(cursor, (unsigned char *)raw, CURSOR_RAW_MAX - 1, &n) != VG_OK)
		return VG_ERR_INVALID;
	raw[n] = '\0';
	return strlen(raw) == n ? VG_OK : VG_ERR_INVALID;
}

/* Split off the next '.'-terminated field of *p (the last one runs to
 * the end); NULL when there is none. */
static char *
field_next(char **p)
{
	char *f = *p, *dot;

	if (!f)
		return NULL;
	if ((dot = strchr(f, '.'))) {
		*dot = '\0';
		*p = dot + 1;
	} else {
		*p = NULL;
	}
	return f;
}

static char *
event_cursor_encode(const struct vg_event *e)
{
	char raw[CURSOR_RAW_MAX];

	snprintf(raw, sizeof raw, "e.%lld.%s.%lld", (long long)e->created_at_us, e->scan_id,
	    (long long)e->seq);
	return cursor_make(raw);
}

static enum vg_err
event_cursor_decode(const char *cursor, struct vg_event_pos *pos)
{
	char raw[CURSOR_RAW_MAX], *p = raw, *tag, *at, *id, *seq;

	if (cursor_raw(cursor, raw) != VG_OK || !(tag = field_next(&p)) || strcmp(tag, "e") != 0 ||
	    !(at = field_next(&p)) || !(id = field_next(&p)) || !(seq = field_next(&p)) || p ||
	    vg_str_to_i64(at, INT64_MIN, INT64_MAX, &pos->at_us) != VG_OK ||
	    !vg_store_uuid_norm(id, pos->scan_id) || strcmp(id, pos->scan_id) != 0 ||
	    vg_str_to_i64(seq, 1, INT64_MAX, &pos->seq) != VG_OK)
		return VG_ERR_INVALID;
	return VG_OK;
}

/* Events of every scan of a repository, oldest first; the backend gets
 * limit + 1 so the presence of a next page is known. */
enum vg_err
vg_store_event_list_repository(struct vg_store *s, const char *repository_id,
    const char *cursor, int limit, struct vg_event **out, size_t *count, char **next_cursor)
{
	const struct vg_store_scans_ops *o = OP(s, event_list_repository);
	struct vg_event_pos pos;
	char key[VG_UUID_LEN + 1];
	size_t all;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if (!o)
		return VG_ERR_INTERNAL;
	if (limit < 1 || limit > VG_STORE_LIST_MAX ||
	    (cursor && event_cursor_decode(cursor, &pos) != VG_OK) ||
	    !vg_store_uuid_norm(repository_id, key))
		return VG_ERR_INVALID;
	if ((err = o->event_list_repository(s, key, cursor ? &pos : NULL, limit + 1, out,
	    count)) != VG_OK)
		return err;
	if (*count <= (size_t)limit)
		return VG_OK;
	all = *count;
	*count = (size_t)limit;
	while (all > *count)
		vg_event_clear(&(*out)[--all]);
	if (!(*next_cursor = event_cursor_encode(&(*out)[*count - 1]))) {
		events_free(*out, *count);
		*out = NULL;
		*count = 0;
		return VG_ERR_NOMEM;
	}
	return VG_OK;
}

/* ---- findings ---- */

void
vg_finding_row_clear(struct vg_finding_row *f)
{
	if (!f)
		return;
	json_decref(f->data);
	f->data = NULL;
}

static void
rows_free(struct vg_finding_row *fs, size_t n)
{
	size_t i;

	for (i = 0; fs && i < n; i++)
		vg_finding_row_clear(&fs[i]);
	free(fs);
}

/* [0-9A-Za-z_:.-]{8,128} */
static bool
fingerprint_ok(const char *fp)
{
	size_t i, n = strnlen(fp, FINGERPRINT_MAX + 1);

	if (n < FINGERPRINT_MIN || n > FINGERPRINT_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'z') ||
		    (fp[i] >= 'A' && fp[i] <= 'Z') || strchr("_:.-", fp[i])))
			return false;
	return true;
}

/* The text fields of a finding's data: key, required, most bytes, and
 * the default when absent (NULL: null). */
static const struct {
	const char *key;
	bool required;
	size_t max;
	const char *dflt;
} data_texts[] = {
	{"title", true, TITLE_MAX, NULL},
	{"category", false, CATEGORY_MAX, ""},
	{"file_path", true, PATH_MAX_BYTES, NULL},
	{"evidence", false, EVIDENCE_MAX, ""},
	{"description", false, PROSE_MAX, ""},
	{"exploit_scenario", false, PROSE_MAX, ""},
	{"recommendation", false, PROSE_MAX, ""},
	{"engine", true, VG_STORE_ENGINE_MAX, NULL},
	{"rule_id", false, RULE_MAX, NULL},
	{"model", false, RULE_MAX, NULL},
};

/* A line number member: absent or null gives 0; else an integer of
 * 1..INT32_MAX.  false when it is something else. */
static bool
line_of(json_t *data, const char *key, int64_t *line)
{
	json_t *v = json_object_get(data, key);

	*line = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
		return false;
	*line = json_integer_value(v);
	return true;
}

/*
 * The canonical form of a finding's data (a new object in *out): exactly
 * the columns of findings (store.h), each checked as the SQL CHECKs do,
 * absent ones filled with their defaults, rule_id and model null when
 * empty, cwe_ids a sorted list without repeats.  Members it does not
 * know are left out.  VG_ERR_INVALID when a member is wrong.
 */
static enum vg_err
data_norm(json_t *data, json_t **out)
{
	json_t *c = NULL, *v, *cwes = NULL;
	const char *sev, *conf;
	int64_t ls, le, ids[64];
	size_t i, j, k = 0, n;
	enum vg_err err = VG_ERR_INVALID;

	*out = NULL;
	if (!json_is_object(data))
		goto out;
	sev = json_string_value(json_object_get(data, "severity"));
	if (!vg_store_one_of(sev, vg_severity_names, VG_SEVERITY_COUNT))
		goto out;
	v = json_object_get(data, "confidence");
	conf = v && !json_is_null(v) ? json_string_value(v) : "medium";
	if (!vg_store_one_of(conf, confidences, NELEM(confidences)))
		goto out;
	if (!line_of(data, "line_start", &ls) || !line_of(data, "line_end", &le) ||
	    (le && (!ls || le < ls)))
		goto out;
	v = json_object_get(data, "cwe_ids");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > NELEM(ids))
			goto out;
		for (i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			int64_t id;

			if (!json_is_integer(e) || (id = json_integer_value(e)) < 1 || id > INT32_MAX)
				goto out;
			for (j = k; j > 0 && ids[j - 1] > id; j--)
				ids[j] = ids[j - 1];
			if (j > 0 && ids[j - 1] == id) {
				memmove(&ids[j], &ids[j + 1], (k - j) * sizeof ids[0]);
				continue;
			}
			ids[j] = id;
			k++;
		}
	}
	err = VG_ERR_NOMEM;
	if (!(c = json_object()) || !(cwes = json_array()))
		goto out;
	for (i = 0; i < k; i++)
		if (json_array_append_new(cwes, json_integer(ids[i])) != 0)
			goto out;
	if (json_object_set_new(c, "severity", json_string(sev)) != 0 ||
	    json_object_set_new(c, "confidence", json_string(conf)) != 0 ||
	    json_object_set_new(c, "line_start", ls ? json_integer(ls) : json_null()) != 0 ||
	    json_object_set_new(c, "line_end", le ? json_integer(le) : json_null()) != 0 ||
	    json_object_set(c, "cwe_ids", cwes) != 0)
		goto out;
	for (i = 0; i < NELEM(data_texts); i++) {
		const char *t;

		v = json_object_get(data, data_texts[i].key);
		err = VG_ERR_INVALID;
		if (v && !json_is_null(v) && !json_is_string(v))
			goto out;
		t = v && json_is_string(v) ? json_string_value(v) : NULL;
		n = t ? json_string_length(v) : 0;
		if (t && (n != strlen(t) || !vg_store_text_ok(t, data_texts[i].max)))
			goto out;
		if (data_texts[i].required && (!t || !t[0]))
			goto out;
		err = VG_ERR_NOMEM;
		if (t && t[0])
			v = json_string(t);
		else
			v = data_texts[i].dflt ? json_string(data_texts[i].dflt) : json_null();
		if (json_object_set_new(c, data_texts[i].key, v) != 0)
			goto out;
	}
	*out = c;
	c = NULL;
	err = VG_OK;
out:
	json_decref(cwes);
	json_decref(c);
	return err;
}

/*
 * f->data is replaced by its canonical form (still owned by f); the
 * backend gets f with scan_id (from the lease when ""; another scan's is
 * VG_ERR_INVALID), fingerprint, data, severity from data, and a fresh id
 * and created_at = updated_at = now that it keeps for a new row; it
 * fills the rest as stored.
 */
enum vg_err
vg_store_finding_upsert(struct vg_store *s, const struct vg_lease *l,
    struct vg_finding_row *f, int64_t now_us, bool *created)
{
	const struct vg_store_scans_ops *o = OP(s, finding_upsert);
	char id[VG_UUID_LEN + 1];
	struct vg_lease n;
	json_t *canon = NULL;
	bool made = false;
	enum vg_err err;

	if (created)
		*created = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if ((err = lease_norm(l, id, &n)) != VG_OK)
		return err;
	if (!f->scan_id[0])
		memcpy(f->scan_id, id, sizeof f->scan_id);
	if (!vg_store_uuid_norm(f->scan_id, f->scan_id) || strcmp(f->scan_id, id) != 0 ||
	    !fingerprint_ok(f->fingerprint))
		return VG_ERR_INVALID;
	if ((err = data_norm(f->data, &canon)) != VG_OK)
		return err;
	json_decref(f->data);
	f->data = canon;
	vg_str_copy(f->severity, sizeof f->severity,
	    json_string_value(json_object_get(canon, "severity")));
	if ((err = vg_uuid_new(f->id)) != VG_OK)
		return err;
	f->repository_id[0] = '\0';
	f->created_at_us = f->updated_at_us = vg_store_now_or(now_us);
	err = o->finding_upsert(s, &n, f, f->created_at_us, &made);
	if (created)
		*created = err == VG_OK && made;
	return err;
}

/* A filter as the backend gets it: ids lower-cased, NULL/0 for "any",
 * sort always set. */
struct filter_buf {
	struct vg_finding_filter f;
	char scan[VG_UUID_LEN + 1], repo[VG_UUID_LEN + 1];
};

static enum vg_err
filter_norm(const struct vg_finding_filter *in, struct filter_buf *b)
{
	memset(b, 0, sizeof *b);
	if (!in || !vg_store_opt_uuid_arg(in->scan_id, b->scan, &b->f.scan_id) ||
	    !vg_store_opt_uuid_arg(in->repository_id, b->repo, &b->f.repository_id) ||
	    !b->f.scan_id == !b->f.repository_id ||
	    !opt_one_of(in->severity, vg_severity_names, VG_SEVERITY_COUNT) ||
	    !opt_one_of(in->status, finding_states, NELEM(finding_states)) || in->cwe < 0 ||
	    in->cwe > INT32_MAX || !vg_store_opt_text_ok(in->path_prefix, PATH_MAX_BYTES) ||
	    !opt_one_of(in->sort, finding_sorts, NELEM(finding_sorts)))
		return VG_ERR_INVALID;
	b->f.severity = vg_store_null_if_empty(in->severity);
	b->f.status = vg_store_null_if_empty(in->status);
	b->f.cwe = in->cwe;
	b->f.path_prefix = vg_store_null_if_empty(in->path_prefix);
	b->f.sort = in->sort && in->sort[0] ? in->sort : "severity";
	return VG_OK;
}

/* The 16 hex digits that name a normalised filter in its cursors. */
static enum vg_err
filter_digest(const struct vg_finding_filter *f, char hex[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char head[256];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *prefix = f->path_prefix ? f->path_prefix : "";
	enum vg_err err = VG_ERR_NOMEM;

	snprintf(head, sizeof head, "s=%s\nr=%s\nv=%s\nt=%s\nc=%lld\no=%s\np=",
	    f->scan_id ? f->scan_id : "", f->repository_id ? f->repository_id : "",
	    f->severity ? f->severity : "", f->status ? f->status : "", (long long)f->cwe,
	    f->sort);
	if (!ctx)
		goto out;
	err = VG_ERR_INTERNAL;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, head, strlen(head)) != 1 ||
	    EVP_DigestUpdate(ctx, prefix, strlen(prefix)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 8)
		goto out;
	vg_hex_encode(md, 8, hex);
	hex[16] = '\0';
	err = VG_OK;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* The offset a findings cursor names, checked against the filter's
 * digest. */
static enum vg_err
finding_cursor_decode(const char *cursor, const char *digest, int64_t *offset)
{
	char raw[CURSOR_RAW_MAX], *p = raw, *tag, *off, *dig;

	if (cursor_raw(cursor, raw) != VG_OK || !(tag = field_next(&p)) || strcmp(tag, "f") != 0 ||
	    !(off = field_next(&p)) || !(dig = field_next(&p)) || p ||
	    vg_str_to_i64(off, 1, INT32_MAX, offset) != VG_OK || strcmp(dig, digest) != 0)
		return VG_ERR_INVALID;
	return VG_OK;
}

/*
 * Findings are paged by offset in the sort order; the cursor carries
 * the offset of the next page and the filter's digest.  The backend gets
 * limit + 1 rows from the offset.
 */
enum vg_err
vg_store_finding_list(struct vg_store *s, const struct vg_finding_filter *f,
    const char *cursor, int limit, struct vg_finding_row **out, size_t *count,
    char **next_cursor)
{
	const struct vg_store_scans_ops *o = OP(s, finding_list);
	struct filter_buf b;
	char digest[17], raw[CURSOR_RAW_MAX];
	int64_t offset = 0;
	size_t all;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if (!o)
		return VG_ERR_INTERNAL;
	if (limit < 1 || limit > VG_STORE_LIST_MAX || filter_norm(f, &b) != VG_OK)
		return VG_ERR_INVALID;
	if ((err = filter_digest(&b.f, digest)) != VG_OK)
		return err;
	if (cursor && finding_cursor_decode(cursor, digest, &offset) != VG_OK)
		return VG_ERR_INVALID;
	if ((err = o->finding_list(s, &b.f, offset, limit + 1, out, count)) != VG_OK)
		return err;
	if (*count <= (size_t)limit)
		return VG_OK;
	all = *count;
	*count = (size_t)limit;
	while (all > *count)
		vg_finding_row_clear(&(*out)[--all]);
	snprintf(raw, sizeof raw, "f.%lld.%s", (long long)(offset + limit), digest);
	if (!(*next_cursor = cursor_make(raw))) {
		rows_free(*out, *count);
		*out = NULL;
		*count = 0;
		return VG_ERR_NOMEM;
	}
	return VG_OK;
}

enum vg_err
vg_store_finding_count(struct vg_store *s, const struct vg_finding_filter *f, int64_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, finding_count);
	struct filter_buf b;

	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (filter_norm(f, &b) != VG_OK)
		return VG_ERR_INVALID;
	return o->finding_count(s, &b.f, count);
}

enum vg_err
vg_store_finding_get(struct vg_store *s, const char *id, struct vg_finding_row *out)
{
	const struct vg_store_scans_ops *o = OP(s, finding_get);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	/* Cleared only now: callers may pass an id that lives in *out. */
	memset(out, 0, sizeof *out);
	if ((err = o->finding_get(s, key, out)) != VG_OK)
		vg_finding_row_clear(out);
	return err;
}

/*
 * The backend gets t with reason and comment NULL when empty, actor_id
 * lower-cased and now_us set; out is never NULL (a row it fills).
 */
enum vg_err
vg_store_finding_triage(struct vg_store *s, const char *id, const struct vg_triage *t,
    struct vg_finding_row *out)
{
	const struct vg_store_scans_ops *o = OP(s, finding_triage);
	struct vg_finding_row tmp;
	struct vg_triage c;
	char key[VG_UUID_LEN + 1], actor[VG_UUID_LEN + 1];
	bool id_ok = vg_store_uuid_norm(id, key);
	enum vg_err err;

	if (!o)
		return VG_ERR_INTERNAL;
	if (!t || !vg_store_one_of(t->status, finding_states, NELEM(finding_states)) ||
	    !vg_store_opt_text_ok(t->reason, VG_STORE_ERROR_MESSAGE_MAX) ||
	    !vg_store_opt_text_ok(t->comment, COMMENT_MAX) || !vg_store_uuid_norm(t->actor_id, actor))
		return VG_ERR_INVALID;
	if (!id_ok)
		return VG_ERR_NOT_FOUND;
	c.status = t->status;
	c.reason = vg_store_null_if_empty(t->reason);
	c.comment = vg_store_null_if_empty(t->comment);
	c.actor_id = actor;
	c.now_us = vg_store_now_or(t->now_us);
	memset(&tmp, 0, sizeof tmp);
	if (out)
		memset(out, 0, sizeof *out);
	err = o->finding_triage(s, key, &c, out ? out : &tmp);
	vg_finding_row_clear(&tmp);
	if (err != VG_OK && out)
		vg_finding_row_clear(out);
	return err;
}

enum vg_err
vg_store_finding_history(struct vg_store *s, const char *id, json_t **items)
{
	const struct vg_store_scans_ops *o = OP(s, finding_history);
	char key[VG_UUID_LEN + 1];

	*items = NULL;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(id, key))
		return VG_ERR_NOT_FOUND;
	return o->finding_history(s, key, items);
}

/* ---- runner jobs ---- */

/* The backend gets j with ids lower-cased, a fresh id, status starting,
 * exit_code -1, created_at = now_us and the other times 0. */
enum vg_err
vg_store_runner_job_create(struct vg_store *s, struct vg_runner_job *j, int64_t now_us,
    bool *existed)
{
	const struct vg_store_scans_ops *o = OP(s, runner_job_create);
	bool found = false;
	enum vg_err err;

	if (existed)
		*existed = false;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(j->scan_id, j->scan_id) || j->attempt < 1 ||
	    j->attempt > INT32_MAX || !vg_store_opt_uuid_norm(j->worker_id) ||
	    !vg_store_one_of(j->mode, job_modes, NELEM(job_modes)) ||
	    !vg_store_text_ok(j->external_id, VG_STORE_EXTERNAL_ID_MAX))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(j->id)) != VG_OK)
		return err;
	vg_str_copy(j->status, sizeof j->status, "starting");
	j->exit_code = -1;
	j->error_message[0] = '\0';
	j->created_at_us = vg_store_now_or(now_us);
	j->started_at_us = j->finished_at_us = 0;
	if ((err = o->runner_job_create(s, j, j->created_at_us, &found)) == VG_OK && existed)
		*existed = found;
	return err;
}

/* The backend gets external_id NULL unless one is given, exit_code -1
 * unless one is given, and now_us set. */
enum vg_err
vg_store_runner_job_update(struct vg_store *s, const char *scan_id, int64_t attempt,
    const struct vg_runner_job_change *c)
{
	const struct vg_store_scans_ops *o = OP(s, runner_job_update);
	struct vg_runner_job_change n;
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!c || !vg_store_one_of(c->status, job_states, NELEM(job_states)) ||
	    !vg_store_opt_text_ok(c->external_id, VG_STORE_EXTERNAL_ID_MAX) || c->exit_code > INT32_MAX ||
	    !vg_store_opt_text_ok(c->error_message, VG_STORE_ERROR_MESSAGE_MAX) || attempt < 1)
		return VG_ERR_INVALID;
	if (!vg_store_uuid_norm(scan_id, key))
		return VG_ERR_NOT_FOUND;
	n = *c;
	n.external_id = vg_store_null_if_empty(c->external_id);
	n.exit_code = c->exit_code >= 0 ? c->exit_code : -1;
	n.now_us = vg_store_now_or(c->now_us);
	return o->runner_job_update(s, key, attempt, &n);
}

enum vg_err
vg_store_runner_job_get(struct vg_store *s, const char *scan_id, int64_t attempt,
    struct vg_runner_job *out)
{
	const struct vg_store_scans_ops *o = OP(s, runner_job_get);
	char key[VG_UUID_LEN + 1];

	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key) || attempt < 1)
		return VG_ERR_NOT_FOUND;
	memset(out, 0, sizeof *out);
	return o->runner_job_get(s, key, attempt, out);
}

static int
job_attempt_cmp(const void *a, const void *b)
{
	const struct vg_runner_job *x = a, *y = b;

	return x->attempt < y->attempt ? -1 : x->attempt > y->attempt;
}

enum vg_err
vg_store_runner_job_list(struct vg_store *s, const char *scan_id, struct vg_runner_job **out,
    size_t *count)
{
	const struct vg_store_scans_ops *o = OP(s, runner_job_list);
	char key[VG_UUID_LEN + 1];
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (!o)
		return VG_ERR_INTERNAL;
	if (!vg_store_uuid_norm(scan_id, key))
		return VG_ERR_INVALID;
	if ((err = o->runner_job_list(s, key, out, count)) != VG_OK)
		return err;
	if (*count > 1)
		qsort(*out, *count, sizeof **out, job_attempt_cmp);
	return VG_OK;
}

/* ---- maintenance ---- */

enum vg_err
vg_store_prune(struct vg_store *s, const struct vg_prune *p, struct vg_prune_counts *out)
{
	const struct vg_store_scans_ops *o = OP(s, prune);
	struct vg_prune_counts tmp;

	if (!out)
		out = &tmp;
	memset(out, 0, sizeof *out);
	if (!o)
		return VG_ERR_INTERNAL;
	if (!p || p->tokens_before_us < 0 || p->workers_before_us < 0)
		return VG_ERR_INVALID;
	return o->prune(s, p, out);
}
