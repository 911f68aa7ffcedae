/*
 * store_json_scans.c - scans, events, findings, triage, runner jobs,
 * pruning and LLM usage in the json backend (store_impl.h).
 *
 * Collections (record id -> content):
 *   scans           scan id -> the scan (options as an object; the
 *                   severity counters as critical_count ... info_count)
 *   scan_events     "<scan id>_<seq, 12 digits>" -> the event; seq comes
 *                   from the scan's last_event_seq, so a scan's events
 *                   are read by number, never by listing
 *   findings        finding id -> the row: its data (the columns of
 *                   findings) under "data", and beside it what the
 *                   project roll-up reads (repository_id, fingerprint,
 *                   severity, status, created_at)
 *   finding_triage  "<repository id>_<fingerprint>" -> what belongs to a
 *                   fingerprint rather than to one row: the decision
 *                   (status, reason, comment, actor_id, decided_at) and
 *                   its history, the first and last scan that saw it,
 *                   its newest row (latest_finding_id, latest_at) and
 *                   every row by scan ("rows": {scan id: finding id})
 *   finding_index   per repository, what the finding lists filter and
 *                   sort on (store_json_findex.h): written by upsert and
 *                   triage in the step that writes the rows, read by the
 *                   lists through a per-process cache
 *   runner_jobs     "<scan id>_<attempt>" -> the job
 *   llm_usage       usage id -> one reserved (then settled) call
 * and, for pruning, refresh_families, refresh_tokens, api_keys and
 * workers (store_json_auth.c, store_json.c).
 *
 * Every step that must be atomic runs under the exclusive lock of the
 * collections it writes (jsondb.h), taken in ascending order of name:
 * finding_index < finding_triage < findings < llm_usage < repositories < runner_jobs <
 * scan_events < scans < snapshots < threat_profiles.  A step that writes
 * several records writes the scan last, so one cut short leaves records
 * the next step overwrites (an event beyond last_event_seq, a finding
 * not yet counted) rather than a counter naming nothing.
 */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_findex.h"

#define C_INDEX VG_STORE_JSON_C_FINDEX
#define C_TRIAGE "finding_triage"
#define C_FINDINGS "findings"
#define C_LLM "llm_usage"
#define C_REPOS "repositories"
#define C_JOBS "runner_jobs"
#define C_EVENTS "scan_events"
#define C_SCANS "scans"
#define C_SNAPS "snapshots"
#define C_PROFILES "threat_profiles"
#define C_FAMILIES "refresh_families"
#define C_TOKENS "refresh_tokens"
#define C_KEYS "api_keys"
#define C_WORKERS "workers"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Record ids of the joins: "<uuid>_<seq>", "<uuid>_<fingerprint>". */
#define EVENT_KEY_LEN (VG_UUID_LEN + 1 + 20 + 1)
#define TRIAGE_KEY_LEN (VG_UUID_LEN + 1 + 128 + 1)

static const char *const count_keys[VG_SEVERITY_COUNT] = {
	"critical_count", "high_count", "medium_count", "low_count", "info_count",
};

static bool
is_active(const char *status)
{
	return !strcmp(status, VG_SCAN_QUEUED) || !strcmp(status, VG_SCAN_CLAIMED) ||
	    !strcmp(status, VG_SCAN_RUNNING);
}

static bool
is_finished(const char *status)
{
	return !strcmp(status, VG_SCAN_COMPLETED) || !strcmp(status, VG_SCAN_FAILED) ||
	    !strcmp(status, VG_SCAN_CANCELLED);
}

static void
event_key(const char *scan_id, int64_t seq, char out[EVENT_KEY_LEN])
{
	snprintf(out, EVENT_KEY_LEN, "%s_%012lld", scan_id, (long long)seq);
}

static void
triage_key(const char *repository_id, const char *fingerprint, char out[TRIAGE_KEY_LEN])
{
	snprintf(out, TRIAGE_KEY_LEN, "%s_%s", repository_id, fingerprint);
}

/* An integer member, 0 when absent or null. */
static enum vg_err
get_int0(json_t *rec, const char *key, int64_t *out)
{
	json_t *v = json_object_get(rec, key);

	*out = 0;
	if (!v || json_is_null(v))
		return VG_OK;
	return vg_store_json_get_int(rec, key, out);
}

/* ---- scans ---- */

static json_t *
scan_json(const struct vg_scan *sc)
{
	json_t *rec, *opts = json_loads(sc->options, JSON_REJECT_DUPLICATES, NULL);
	size_t i;

	if (!json_is_object(opts)) {
		json_decref(opts);
		return NULL;
	}
	rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:I, s:o, s:o,"
	    " s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o}",
	    "id", sc->id, "repository_id", sc->repository_id, "project_id", sc->project_id,
	    "snapshot_id", sc->snapshot_id, "profile_id", vg_store_json_str(sc->profile_id),
	    "profile_version", sc->profile_version ? json_integer(sc->profile_version)
	    : json_null(),
	    "created_by", vg_store_json_str(sc->created_by), "status", sc->status,
	    "engine", sc->engine, "options", opts, "attempt", (json_int_t)sc->attempt,
	    "lease_token", vg_store_json_str(sc->lease_token),
	    "claimed_by", vg_store_json_str(sc->claimed_by),
	    "claimed_at", vg_store_json_time(sc->claimed_at_us),
	    "started_at", vg_store_json_time(sc->started_at_us),
	    "heartbeat_at", vg_store_json_time(sc->heartbeat_at_us),
	    "finished_at", vg_store_json_time(sc->finished_at_us),
	    "cancel_requested_at", vg_store_json_time(sc->cancel_requested_at_us),
	    "error_code", vg_store_json_str(sc->error_code),
	    "error_message", vg_store_json_str(sc->error_message),
	    "files_scanned", (json_int_t)sc->files_scanned,
	    "findings_count", (json_int_t)sc->findings_count,
	    "last_event_seq", (json_int_t)sc->last_event_seq,
	    "created_at", vg_store_json_time(sc->created_at_us),
	    "updated_at", vg_store_json_time(sc->updated_at_us));
	for (i = 0; rec && i < VG_SEVERITY_COUNT; i++)
		if (json_object_set_new(rec, count_keys[i],
		    json_integer(sc->severity_counts[i])) != 0) {
			json_decref(rec);
			return NULL;
		}
	return rec;
}

static enum vg_err
scan_from(json_t *rec, struct vg_scan *sc)
{
	json_t *opts = json_object_get(rec, "options");
	size_t i;
	enum vg_err err;

	memset(sc, 0, sizeof *sc);
	if ((err = vg_store_json_get_str(rec, "id", sc->id, sizeof sc->id)) ||
	    (err = vg_store_json_get_str(rec, "repository_id", sc->repository_id,
	    sizeof sc->repository_id)) ||
	    (err = vg_store_json_get_str(rec, "project_id", sc->project_id,
	    sizeof sc->project_id)) ||
	    (err = vg_store_json_get_str(rec, "snapshot_id", sc->snapshot_id,
	    sizeof sc->snapshot_id)) ||
	    (err = vg_store_json_get_str(rec, "profile_id", sc->profile_id,
	    sizeof sc->profile_id)) ||
	    (err = get_int0(rec, "profile_version", &sc->profile_version)) ||
	    (err = vg_store_json_get_str(rec, "created_by", sc->created_by,
	    sizeof sc->created_by)) ||
	    (err = vg_store_json_get_str(rec, "status", sc->status, sizeof sc->status)) ||
	    (err = vg_store_json_get_str(rec, "engine", sc->engine, sizeof sc->engine)) ||
	    (err = vg_store_json_get_int(rec, "attempt", &sc->attempt)) ||
	    (err = vg_store_json_get_str(rec, "lease_token", sc->lease_token,
	    sizeof sc->lease_token)) ||
	    (err = vg_store_json_get_str(rec, "claimed_by", sc->claimed_by,
	    sizeof sc->claimed_by)) ||
	    (err = vg_store_json_get_time(rec, "claimed_at", &sc->claimed_at_us)) ||
	    (err = vg_store_json_get_time(rec, "started_at", &sc->started_at_us)) ||
	    (err = vg_store_json_get_time(rec, "heartbeat_at", &sc->heartbeat_at_us)) ||
	    (err = vg_store_json_get_time(rec, "finished_at", &sc->finished_at_us)) ||
	    (err = vg_store_json_get_time(rec, "cancel_requested_at",
	    &sc->cancel_requested_at_us)) ||
	    (err = vg_store_json_get_str(rec, "error_code", sc->error_code,
	    sizeof sc->error_code)) ||
	    (err = vg_store_json_get_str(rec, "error_message", sc->error_message,
	    sizeof sc->error_message)) ||
	    (err = vg_store_json_get_int(rec, "files_scanned", &sc->files_scanned)) ||
	    (err = vg_store_json_get_int(rec, "findings_count", &sc->findings_count)) ||
	    (err = vg_store_json_get_int(rec, "last_event_seq", &sc->last_event_seq)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &sc->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &sc->updated_at_us)))
		return err;
	for (i = 0; i < VG_SEVERITY_COUNT; i++)
		if ((err = vg_store_json_get_int(rec, count_keys[i], &sc->severity_counts[i])))
			return err;
	err = vg_store_object_dump(opts, sc->options, sizeof sc->options);
	return err == VG_ERR_INVALID ? VG_ERR_IO : err;   /* a record we did not write */
}

/* The scan id under tx into *sc. */
static enum vg_err
scan_load(struct vg_jsondb_tx *tx, const char *id, struct vg_scan *sc)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_tx_get(tx, id, &rec);

	if (err == VG_OK)
		err = scan_from(rec, sc);
	json_decref(rec);
	return err;
}

static enum vg_err
scan_store(struct vg_jsondb_tx *tx, const struct vg_scan *sc)
{
	return vg_store_json_put_new(tx, sc->id, scan_json(sc), false);
}

/* Whether l is sc's current lease (attempt and token). */
static bool
lease_is(const struct vg_scan *sc, const struct vg_lease *l)
{
	return sc->attempt == l->attempt && sc->lease_token[0] &&
	    strcmp(sc->lease_token, l->lease_token) == 0;
}

/*
 * Load the scan of lease l under tx into *sc and check the lease and
 * that its status is claimed or (when running_ok) running, or exactly
 * claimed.  VG_ERR_CONFLICT otherwise, also for a scan that is gone.
 */
static enum vg_err
lease_load(struct vg_jsondb_tx *tx, const struct vg_lease *l, bool running_ok,
    struct vg_scan *sc)
{
	enum vg_err err = scan_load(tx, l->scan_id, sc);

	if (err == VG_ERR_NOT_FOUND)
		return VG_ERR_CONFLICT;
	if (err != VG_OK)
		return err;
	if (!lease_is(sc, l))
		return VG_ERR_CONFLICT;
	if (strcmp(sc->status, VG_SCAN_CLAIMED) != 0 &&
	    !(running_ok && strcmp(sc->status, VG_SCAN_RUNNING) == 0))
		return VG_ERR_CONFLICT;
	return VG_OK;
}

/* Write the next event of sc (its last_event_seq is advanced; the
 * caller stores sc afterwards).  payload NULL: {}. */
static enum vg_err
event_write(struct vg_jsondb_tx *etx, struct vg_scan *sc, const char *type, json_t *payload,
    int64_t now_us)
{
	char key[EVENT_KEY_LEN];
	json_t *rec;

	sc->last_event_seq++;
	event_key(sc->id, sc->last_event_seq, key);
	rec = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o}", "scan_id", sc->id,
	    "repository_id", sc->repository_id, "seq", (json_int_t)sc->last_event_seq,
	    "type", type, "payload", payload ? json_incref(payload) : json_object(),
	    "created_at", vg_store_json_time(now_us));
	return vg_store_json_put_new(etx, key, rec, false);
}

static enum vg_err
event_from(json_t *rec, struct vg_event *e)
{
	json_t *payload = json_object_get(rec, "payload");
	enum vg_err err;

	memset(e, 0, sizeof *e);
	if ((err = vg_store_json_get_str(rec, "scan_id", e->scan_id, sizeof e->scan_id)) ||
	    (err = vg_store_json_get_int(rec, "seq", &e->seq)) ||
	    (err = vg_store_json_get_str(rec, "type", e->type, sizeof e->type)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &e->created_at_us)))
		return err;
	if (!json_is_object(payload))
		return VG_ERR_IO;
	e->payload = json_incref(payload);
	return VG_OK;
}

/* ---- scan create, get, list ---- */

struct create_op {
	struct vg_scan *sc;
	int64_t max_active;
};

static bool
active_of(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "created_by", arg) &&
	    is_active(vg_store_json_peek(rec, "status"));
}

/* Whether the profile record has version v. */
static bool
has_version(json_t *profile, int64_t v)
{
	json_t *versions = json_object_get(profile, "versions"), *e;
	size_t i;

	json_array_foreach(versions, i, e)
		if (json_integer_value(json_object_get(e, "version")) == v)
			return true;
	return false;
}

/*
 * Under the locks of repositories, snapshots and profiles (shared) and
 * scans: the repository, its snapshot and profile version must exist
 * (another repository's are not found), and the creator must have fewer
 * than max_active active scans, counted under the same lock the new
 * scan is written under.
 */
static enum vg_err
do_scan_create(struct vg_store_json_held *h, void *arg)
{
	struct create_op *op = arg;
	struct vg_scan *sc = op->sc;
	json_t *repo = NULL, *snap = NULL, *prof = NULL, *mine = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), sc->repository_id,
	    &repo)) != VG_OK ||
	    (err = vg_store_json_get_str(repo, "project_id", sc->project_id,
	    sizeof sc->project_id)) != VG_OK)
		goto out;
	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_SNAPS), sc->snapshot_id,
	    &snap)) != VG_OK)
		goto out;
	err = VG_ERR_NOT_FOUND;
	if (!vg_store_json_field_is(snap, "repository_id", sc->repository_id))
		goto out;
	if (sc->profile_id[0]) {
		if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_PROFILES), sc->profile_id,
		    &prof)) != VG_OK)
			goto out;
		err = VG_ERR_NOT_FOUND;
		if (!vg_store_json_field_is(prof, "repository_id", sc->repository_id) ||
		    !has_version(prof, sc->profile_version))
			goto out;
	}
	if (op->max_active > 0 && sc->created_by[0]) {
		if ((err = vg_jsondb_tx_list(vg_store_json_tx_of(h, C_SCANS), active_of,
		    sc->created_by, &mine)) != VG_OK)
			goto out;
		err = VG_ERR_QUOTA;
		if ((int64_t)json_array_size(mine) >= op->max_active)
			goto out;
	}
	err = vg_store_json_put_new(vg_store_json_tx_of(h, C_SCANS), sc->id, scan_json(sc), true);
out:
	json_decref(mine);
	json_decref(prof);
	json_decref(snap);
	json_decref(repo);
	return err;
}

static const struct vg_store_json_lock create_locks[] = {
	{C_REPOS, false}, {C_SCANS, true}, {C_SNAPS, false}, {C_PROFILES, false},
};

static enum vg_err
json_scan_create(struct vg_store *s, struct vg_scan *sc, int64_t max_active)
{
	struct create_op op = {sc, max_active};

	return vg_store_json_with_locks(s->jdb, create_locks, NELEM(create_locks),
	    do_scan_create, &op);
}

static enum vg_err
json_scan_get(struct vg_store *s, const char *id, struct vg_scan *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_SCANS, id, &rec);

	if (err == VG_OK)
		err = scan_from(rec, out);
	json_decref(rec);
	return err;
}

static bool
scan_matches(json_t *rec, void *arg)
{
	const struct vg_scan_filter *f = arg;

	return (!f->repository_id || vg_store_json_field_is(rec, "repository_id",
	    f->repository_id)) &&
	    (!f->created_by || vg_store_json_field_is(rec, "created_by", f->created_by)) &&
	    (!f->status || vg_store_json_field_is(rec, "status", f->status));
}

/* Every scan of the collection that keep() accepts, decoded into a
 * malloc'd array. */
static enum vg_err
scans_where(struct vg_store *s, bool (*keep)(json_t *, void *), void *arg,
    struct vg_scan **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_scan *ss = NULL;
	size_t i;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if ((err = vg_jsondb_list(s->jdb, C_SCANS, keep, arg, &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(ss = calloc(json_array_size(all) + 1, sizeof *ss)))
		goto out;
	json_array_foreach(all, i, rec)
		if ((err = scan_from(rec, &ss[i])) != VG_OK)
			goto out;
	*out = ss;
	*count = json_array_size(all);
	ss = NULL;
	err = VG_OK;
out:
	free(ss);
	json_decref(all);
	return err;
}

static int
scan_newest_cmp(const void *a, const void *b)
{
	const struct vg_scan *x = a, *y = b;

	return vg_store_json_pos_cmp(x->created_at_us, x->id, y->created_at_us, y->id);
}

static enum vg_err
json_scan_list(struct vg_store *s, const struct vg_scan_filter *f,
    const struct vg_store_pos *pos, int n, struct vg_scan **out, size_t *count)
{
	struct vg_scan *ss = NULL;
	size_t all = 0, i, k = 0;
	enum vg_err err;

	if ((err = scans_where(s, scan_matches, (void *)f, &ss, &all)) != VG_OK)
		return err;
	for (i = 0; i < all; i++)
		if (vg_store_json_after(ss[i].created_at_us, ss[i].id, pos))
			ss[k++] = ss[i];
	qsort(ss, k, sizeof *ss, scan_newest_cmp);
	*out = ss;
	*count = k < (size_t)n ? k : (size_t)n;
	return VG_OK;
}

/* ---- claim and the lease-checked transitions ---- */

struct lease_op {
	const struct vg_lease *l;
	const char *worker_id, *scan_id, *lease_token;
	int64_t now_us;
	int64_t files_scanned;
	bool cancel_requested;
	const struct vg_scan_finish *f;
	const char *type;
	json_t *payload;
	int64_t seq;
	struct vg_scan *out;
	/* rescue / requeue */
	int64_t attempt, hb_before, started_before, claimed_before, max_attempts;
};

static bool
is_queued(json_t *rec, void *arg)
{
	(void)arg;
	return vg_store_json_field_is(rec, "status", VG_SCAN_QUEUED);
}

/* Oldest first by (created_at, id): the claim's order. */
static int
keyed_oldest_cmp(const void *a, const void *b)
{
	return -vg_store_json_keyed_cmp(a, b);
}

/* Under the scans lock: the oldest queued scan (or scan_id when it is
 * queued) becomes claimed. */
static enum vg_err
do_claim(struct vg_jsondb_tx *tx, void *arg)
{
	struct lease_op *op = arg;
	struct vg_scan sc;
	struct vg_store_json_keyed *keys = NULL;
	json_t *queued = NULL, *rec;
	size_t i, k = 0;
	enum vg_err err;

	if (op->scan_id) {
		if ((err = scan_load(tx, op->scan_id, &sc)) != VG_OK)
			goto out;
		err = VG_ERR_NOT_FOUND;
		if (strcmp(sc.status, VG_SCAN_QUEUED) != 0)
			goto out;
	} else {
		if ((err = vg_jsondb_tx_list(tx, is_queued, NULL, &queued)) != VG_OK)
			goto out;
		err = VG_ERR_NOT_FOUND;
		if (json_array_size(queued) == 0)
			goto out;
		err = VG_ERR_NOMEM;
		if (!(keys = calloc(json_array_size(queued), sizeof *keys)))
			goto out;
		json_array_foreach(queued, i, rec) {
			keys[k].id = vg_store_json_peek(rec, "id");
			keys[k].rec = rec;
			if ((err = vg_store_json_get_time(rec, "created_at", &keys[k].at_us)) != VG_OK)
				goto out;
			k++;
		}
		qsort(keys, k, sizeof *keys, keyed_oldest_cmp);
		if ((err = scan_from(keys[0].rec, &sc)) != VG_OK)
			goto out;
	}
	vg_str_copy(sc.status, sizeof sc.status, VG_SCAN_CLAIMED);
	sc.attempt++;
	vg_str_copy(sc.lease_token, sizeof sc.lease_token, op->lease_token);
	vg_str_copy(sc.claimed_by, sizeof sc.claimed_by, op->worker_id);
	sc.claimed_at_us = sc.heartbeat_at_us = sc.updated_at_us = op->now_us;
	sc.started_at_us = 0;
	if ((err = scan_store(tx, &sc)) == VG_OK)
		*op->out = sc;
out:
	free(keys);
	json_decref(queued);
	return err;
}

static enum vg_err
json_scan_claim(struct vg_store *s, const char *worker_id, const char *scan_id,
    const char *lease_token, int64_t now_us, struct vg_scan *out)
{
	struct lease_op op = {.worker_id = worker_id, .scan_id = scan_id,
	    .lease_token = lease_token, .now_us = now_us, .out = out};

	return vg_jsondb_tx(s->jdb, C_SCANS, true, do_claim, &op);
}

static enum vg_err
do_start(struct vg_jsondb_tx *tx, void *arg)
{
	struct lease_op *op = arg;
	struct vg_scan sc;
	enum vg_err err;

	if ((err = lease_load(tx, op->l, false, &sc)) != VG_OK)
		return err;
	vg_str_copy(sc.status, sizeof sc.status, VG_SCAN_RUNNING);
	sc.started_at_us = sc.heartbeat_at_us = sc.updated_at_us = op->now_us;
	return scan_store(tx, &sc);
}

static enum vg_err
json_scan_start(struct vg_store *s, const struct vg_lease *l, int64_t now_us)
{
	struct lease_op op = {.l = l, .now_us = now_us};

	return vg_jsondb_tx(s->jdb, C_SCANS, true, do_start, &op);
}

static enum vg_err
do_heartbeat(struct vg_jsondb_tx *tx, void *arg)
{
	struct lease_op *op = arg;
	struct vg_scan sc;
	enum vg_err err;

	if ((err = lease_load(tx, op->l, true, &sc)) != VG_OK)
		return err;
	sc.heartbeat_at_us = sc.updated_at_us = op->now_us;
	sc.files_scanned = op->files_scanned;
	if ((err = scan_store(tx, &sc)) == VG_OK)
		op->cancel_requested = sc.cancel_requested_at_us != 0;
	return err;
}

static enum vg_err
json_scan_heartbeat(struct vg_store *s, const struct vg_lease *l, int64_t files_scanned,
    int64_t now_us, bool *cancel_requested)
{
	struct lease_op op = {.l = l, .now_us = now_us, .files_scanned = files_scanned};
	enum vg_err err = vg_jsondb_tx(s->jdb, C_SCANS, true, do_heartbeat, &op);

	*cancel_requested = op.cancel_requested;
	return err;
}

static const struct vg_store_json_lock events_scans[] = {{C_EVENTS, true}, {C_SCANS, true}};
static const struct vg_store_json_lock finish_locks[] = {
	{C_INDEX, true}, {C_EVENTS, true}, {C_SCANS, true},
};

/* Under the locks of the finding index, events and scans: the final
 * state and event; a completed scan then moves its repository's
 * findings version (it is the lists' new baseline). */
static enum vg_err
do_finish(struct vg_store_json_held *h, void *arg)
{
	struct lease_op *op = arg;
	const struct vg_scan_finish *f = op->f;
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_scan sc;
	enum vg_err err;

	if ((err = lease_load(stx, op->l, true, &sc)) != VG_OK)
		return err;
	vg_str_copy(sc.status, sizeof sc.status, f->status);
	vg_str_copy(sc.error_code, sizeof sc.error_code, f->error_code);
	vg_str_copy(sc.error_message, sizeof sc.error_message, f->error_message);
	sc.finished_at_us = sc.updated_at_us = f->now_us;
	if (f->event_type && (err = event_write(vg_store_json_tx_of(h, C_EVENTS), &sc,
	    f->event_type, f->event_payload, f->now_us)) != VG_OK)
		return err;
	if ((err = scan_store(stx, &sc)) != VG_OK || strcmp(sc.status, VG_SCAN_COMPLETED) != 0)
		return err;
	return vg_store_json_findex_touch(h, sc.repository_id);
}

static enum vg_err
json_scan_finish(struct vg_store *s, const struct vg_lease *l, const struct vg_scan_finish *f)
{
	struct lease_op op = {.l = l, .f = f};

	return vg_store_json_with_locks(s->jdb, finish_locks, NELEM(finish_locks), do_finish, &op);
}

/* Under the locks of events and scans: cancel at once, or ask. */
static enum vg_err
do_cancel(struct vg_store_json_held *h, void *arg)
{
	struct lease_op *op = arg;
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_scan sc;
	enum vg_err err;

	if ((err = scan_load(stx, op->scan_id, &sc)) != VG_OK)
		return err;
	if (strcmp(sc.status, VG_SCAN_QUEUED) == 0) {
		vg_str_copy(sc.status, sizeof sc.status, VG_SCAN_CANCELLED);
		if (!sc.cancel_requested_at_us)
			sc.cancel_requested_at_us = op->now_us;
		sc.finished_at_us = sc.updated_at_us = op->now_us;
		if ((err = event_write(vg_store_json_tx_of(h, C_EVENTS), &sc, "scan_cancelled",
		    NULL, op->now_us)) != VG_OK || (err = scan_store(stx, &sc)) != VG_OK)
			return err;
	} else if (!is_finished(sc.status) && !sc.cancel_requested_at_us) {
		sc.cancel_requested_at_us = sc.updated_at_us = op->now_us;
		if ((err = scan_store(stx, &sc)) != VG_OK)
			return err;
	}
	*op->out = sc;
	return VG_OK;
}

static enum vg_err
json_scan_cancel(struct vg_store *s, const char *id, int64_t now_us, struct vg_scan *out)
{
	struct lease_op op = {.scan_id = id, .now_us = now_us, .out = out};

	return vg_store_json_with_locks(s->jdb, events_scans, 2, do_cancel, &op);
}

/* ---- the stale-scan rescuer ---- */

struct stale_args {
	int64_t hb_before, started_before, claimed_before;
};

/* A running scan whose heartbeat or start is too old. */
static bool
running_stale(const struct vg_scan *sc, int64_t hb_before, int64_t started_before)
{
	return strcmp(sc->status, VG_SCAN_RUNNING) == 0 &&
	    (sc->heartbeat_at_us < hb_before || sc->started_at_us < started_before);
}

/* A claimed scan never started, claimed too long ago. */
static bool
claimed_stale(const struct vg_scan *sc, int64_t claimed_before)
{
	return strcmp(sc->status, VG_SCAN_CLAIMED) == 0 && sc->started_at_us == 0 &&
	    sc->claimed_at_us < claimed_before;
}

static bool
in_flight(json_t *rec, void *arg)
{
	(void)arg;
	return vg_store_json_field_is(rec, "status", VG_SCAN_CLAIMED) ||
	    vg_store_json_field_is(rec, "status", VG_SCAN_RUNNING);
}

static enum vg_err
json_scan_stale(struct vg_store *s, int64_t heartbeat_before_us, int64_t started_before_us,
    int64_t claimed_before_us, struct vg_scan **out, size_t *count)
{
	struct vg_scan *ss = NULL;
	size_t all = 0, i, k = 0;
	enum vg_err err;

	if ((err = scans_where(s, in_flight, NULL, &ss, &all)) != VG_OK)
		return err;
	for (i = 0; i < all; i++)
		if (running_stale(&ss[i], heartbeat_before_us, started_before_us) ||
		    claimed_stale(&ss[i], claimed_before_us))
			ss[k++] = ss[i];
	*out = ss;
	*count = k;
	return VG_OK;
}

/* Fail sc with code and message and its scan_failed event (the caller
 * stores sc). */
static enum vg_err
fail_scan(struct vg_jsondb_tx *etx, struct vg_scan *sc, const char *code, const char *message,
    int64_t now_us)
{
	json_t *payload = json_pack("{s:s, s:s}", "error_code", code, "error_message", message);
	enum vg_err err = VG_ERR_NOMEM;

	vg_str_copy(sc->status, sizeof sc->status, VG_SCAN_FAILED);
	vg_str_copy(sc->error_code, sizeof sc->error_code, code);
	vg_str_copy(sc->error_message, sizeof sc->error_message, message);
	sc->finished_at_us = sc->updated_at_us = now_us;
	if (payload)
		err = event_write(etx, sc, "scan_failed", payload, now_us);
	json_decref(payload);
	return err;
}

/* Under the locks of events and scans, the condition re-checked. */
static enum vg_err
do_rescue(struct vg_store_json_held *h, void *arg)
{
	struct lease_op *op = arg;
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_scan sc;
	enum vg_err err;

	if ((err = scan_load(stx, op->scan_id, &sc)) != VG_OK)
		return err;
	if (sc.attempt != op->attempt || !running_stale(&sc, op->hb_before, op->started_before))
		return VG_ERR_CONFLICT;
	if ((err = fail_scan(vg_store_json_tx_of(h, C_EVENTS), &sc, "stale_scan",
	    sc.heartbeat_at_us < op->hb_before ? "the runner stopped sending heartbeats"
	    : "the scan ran past its time limit", op->now_us)) != VG_OK)
		return err;
	return scan_store(stx, &sc);
}

static enum vg_err
json_scan_rescue_running(struct vg_store *s, const char *id, int64_t attempt,
    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us)
{
	struct lease_op op = {.scan_id = id, .attempt = attempt, .hb_before = heartbeat_before_us,
	    .started_before = started_before_us, .now_us = now_us};

	return vg_store_json_with_locks(s->jdb, events_scans, 2, do_rescue, &op);
}

/*
 * Under the locks of events and scans, the condition re-checked: back to
 * queued with the lease cleared while attempts remain, else failed.  A
 * cancellation asked for stays asked (the next runner sees it).
 */
static enum vg_err
do_requeue(struct vg_store_json_held *h, void *arg)
{
	struct lease_op *op = arg;
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_jsondb_tx *etx = vg_store_json_tx_of(h, C_EVENTS);
	struct vg_scan sc;
	enum vg_err err;

	if ((err = scan_load(stx, op->scan_id, &sc)) != VG_OK)
		return err;
	if (sc.attempt != op->attempt || !claimed_stale(&sc, op->claimed_before))
		return VG_ERR_CONFLICT;
	if (sc.attempt < op->max_attempts) {
		vg_str_copy(sc.status, sizeof sc.status, VG_SCAN_QUEUED);
		sc.lease_token[0] = '\0';
		sc.claimed_by[0] = '\0';
		sc.claimed_at_us = sc.heartbeat_at_us = 0;
		sc.updated_at_us = op->now_us;
	} else {
		err = fail_scan(etx, &sc, "too_many_attempts",
		    "the scan was claimed too many times without starting", op->now_us);
	}
	if (err != VG_OK)
		return err;
	return scan_store(stx, &sc);
}

static enum vg_err
json_scan_requeue_claimed(struct vg_store *s, const char *id, int64_t attempt,
    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us)
{
	struct lease_op op = {.scan_id = id, .attempt = attempt,
	    .claimed_before = claimed_before_us, .max_attempts = max_attempts, .now_us = now_us};

	return vg_store_json_with_locks(s->jdb, events_scans, 2, do_requeue, &op);
}

static enum vg_err
json_scan_count_active(struct vg_store *s, const char *user_id, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_SCANS, active_of, (void *)user_id, count);
}

static bool
is_done(json_t *rec, void *arg)
{
	(void)arg;
	return is_finished(vg_store_json_peek(rec, "status"));
}

static int
finished_cmp(const void *a, const void *b)
{
	const struct vg_scan *x = a, *y = b;

	if (x->finished_at_us != y->finished_at_us)
		return x->finished_at_us < y->finished_at_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

static enum vg_err
json_scan_finished_before(struct vg_store *s, int64_t before_us, int n,
    char (**out)[VG_UUID_LEN + 1], size_t *count)
{
	struct vg_scan *ss = NULL;
	char (*ids)[VG_UUID_LEN + 1] = NULL;
	size_t all = 0, i, k = 0;
	enum vg_err err;

	if ((err = scans_where(s, is_done, NULL, &ss, &all)) != VG_OK)
		return err;
	for (i = 0; i < all; i++)
		if (ss[i].finished_at_us < before_us)
			ss[k++] = ss[i];
	qsort(ss, k, sizeof *ss, finished_cmp);
	if (k > (size_t)n)
		k = (size_t)n;
	err = VG_ERR_NOMEM;
	if (!(ids = calloc(k + 1, sizeof *ids)))
		goto out;
	for (i = 0; i < k; i++)
		memcpy(ids[i], ss[i].id, sizeof ids[i]);
	*out = ids;
	*count = k;
	err = VG_OK;
out:
	free(ss);
	return err;
}

/* ---- events ---- */

static enum vg_err
do_event_append(struct vg_store_json_held *h, void *arg)
{
	struct lease_op *op = arg;
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_scan sc;
	enum vg_err err;

	if ((err = lease_load(stx, op->l, true, &sc)) != VG_OK)
		return err;
	sc.updated_at_us = op->now_us;
	if ((err = event_write(vg_store_json_tx_of(h, C_EVENTS), &sc, op->type, op->payload,
	    op->now_us)) != VG_OK || (err = scan_store(stx, &sc)) != VG_OK)
		return err;
	op->seq = sc.last_event_seq;
	return VG_OK;
}

static enum vg_err
json_event_append(struct vg_store *s, const struct vg_lease *l, const char *type,
    json_t *payload, int64_t now_us, int64_t *seq)
{
	struct lease_op op = {.l = l, .type = type, .payload = payload, .now_us = now_us};
	enum vg_err err = vg_store_json_with_locks(s->jdb, events_scans, 2, do_event_append, &op);

	*seq = op.seq;
	return err;
}

/* Events first..last of one scan, read by number. */
struct event_read {
	const char *scan_id;
	int64_t first, last;
	struct vg_event *es;
	size_t n;
};

static enum vg_err
do_event_read(struct vg_jsondb_tx *tx, void *arg)
{
	struct event_read *r = arg;
	char key[EVENT_KEY_LEN];
	json_t *rec = NULL;
	int64_t seq;
	enum vg_err err = VG_OK;

	for (seq = r->first; seq <= r->last; seq++) {
		event_key(r->scan_id, seq, key);
		if ((err = vg_jsondb_tx_get(tx, key, &rec)) == VG_ERR_NOT_FOUND)
			return VG_OK;   /* written, then the scan's counter was not */
		if (err != VG_OK || (err = event_from(rec, &r->es[r->n])) != VG_OK)
			break;
		r->n++;
		json_decref(rec);
		rec = NULL;
	}
	json_decref(rec);
	return err;
}

/* Append the events of scan sc numbered after+1.. (at most max of them)
 * to *es (grown; *n of them so far). */
static enum vg_err
events_of(struct vg_store *s, const struct vg_scan *sc, int64_t after, int64_t max,
    struct vg_event **es, size_t *n)
{
	struct event_read r = {sc->id, after + 1, sc->last_event_seq, NULL, 0};
	struct vg_event *grown;
	enum vg_err err;

	if (r.last - after > max)
		r.last = after + max;
	if (r.last < r.first)
		return VG_OK;
	if (!(grown = realloc(*es, (*n + (size_t)(r.last - after)) * sizeof *grown)))
		return VG_ERR_NOMEM;
	*es = grown;
	r.es = grown + *n;
	err = vg_jsondb_tx(s->jdb, C_EVENTS, false, do_event_read, &r);
	*n += r.n;
	return err;
}

static void
events_release(struct vg_event *es, size_t n)
{
	size_t i;

	for (i = 0; es && i < n; i++)
		vg_event_clear(&es[i]);
	free(es);
}

static enum vg_err
json_event_list(struct vg_store *s, const char *scan_id, int64_t after, int limit,
    struct vg_event **out, size_t *count)
{
	struct vg_scan sc;
	struct vg_event *es = NULL;
	size_t n = 0;
	enum vg_err err = json_scan_get(s, scan_id, &sc);

	if (err == VG_ERR_NOT_FOUND)
		return VG_OK;
	if (err != VG_OK || (err = events_of(s, &sc, after, limit, &es, &n)) != VG_OK) {
		events_release(es, n);
		return err;
	}
	*out = es;
	*count = n;
	return VG_OK;
}

/* (created_at, scan id, seq) ascending. */
static int
event_pos_cmp(int64_t at_a, const char *id_a, int64_t seq_a, int64_t at_b, const char *id_b,
    int64_t seq_b)
{
	int c;

	if (at_a != at_b)
		return at_a < at_b ? -1 : 1;
	if ((c = strcmp(id_a, id_b)) != 0)
		return c;
	return seq_a < seq_b ? -1 : seq_a > seq_b;
}

static int
event_cmp(const void *a, const void *b)
{
	const struct vg_event *x = a, *y = b;

	return event_pos_cmp(x->created_at_us, x->scan_id, x->seq, y->created_at_us, y->scan_id,
	    y->seq);
}

static bool
of_repository(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "repository_id", arg);
}

/* Every event of every scan of the repository, read by number, sorted
 * and cut after pos. */
static enum vg_err
json_event_list_repository(struct vg_store *s, const char *repository_id,
    const struct vg_event_pos *pos, int n, struct vg_event **out, size_t *count)
{
	struct vg_scan *ss = NULL;
	struct vg_event *es = NULL;
	size_t nscans = 0, ne = 0, i, k = 0;
	enum vg_err err;

	if ((err = scans_where(s, of_repository, (void *)repository_id, &ss, &nscans)) != VG_OK)
		goto out;
	for (i = 0; i < nscans; i++)
		if ((err = events_of(s, &ss[i], 0, INT64_MAX / 2, &es, &ne)) != VG_OK)
			goto out;
	for (i = 0; i < ne; i++) {
		if (!pos || event_pos_cmp(es[i].created_at_us, es[i].scan_id, es[i].seq, pos->at_us,
		    pos->scan_id, pos->seq) > 0)
			es[k++] = es[i];
		else
			vg_event_clear(&es[i]);
	}
	ne = k;
	qsort(es, ne, sizeof *es, event_cmp);
	while (ne > (size_t)n)
		vg_event_clear(&es[--ne]);
	*out = es;
	*count = ne;
	es = NULL;
	ne = 0;
out:
	events_release(es, ne);
	free(ss);
	return err;
}

/* ---- findings ---- */

/* A row's own record (status fields kept current by triage, so the
 * project roll-up can read them). */
static json_t *
finding_json(const struct vg_finding_row *f)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:O, s:o, s:o}",
	    "id", f->id, "scan_id", f->scan_id, "repository_id", f->repository_id,
	    "fingerprint", f->fingerprint, "severity", f->severity, "status", f->status,
	    "status_reason", vg_store_json_str(f->status_reason),
	    "status_actor_id", vg_store_json_str(f->status_actor_id),
	    "status_at", vg_store_json_time(f->status_at_us), "data", f->data,
	    "created_at", vg_store_json_time(f->created_at_us),
	    "updated_at", vg_store_json_time(f->updated_at_us));
}

/* The row rec into *f (store_json_findex.h). */
enum vg_err
vg_store_json_finding_from(json_t *rec, json_t *tri, struct vg_finding_row *f)
{
	json_t *data = json_object_get(rec, "data");
	enum vg_err err;

	memset(f, 0, sizeof *f);
	if ((err = vg_store_json_get_str(rec, "id", f->id, sizeof f->id)) ||
	    (err = vg_store_json_get_str(rec, "scan_id", f->scan_id, sizeof f->scan_id)) ||
	    (err = vg_store_json_get_str(rec, "repository_id", f->repository_id,
	    sizeof f->repository_id)) ||
	    (err = vg_store_json_get_str(rec, "fingerprint", f->fingerprint,
	    sizeof f->fingerprint)) ||
	    (err = vg_store_json_get_str(rec, "severity", f->severity, sizeof f->severity)) ||
	    (err = vg_store_json_get_str(rec, "status", f->status, sizeof f->status)) ||
	    (err = vg_store_json_get_str(rec, "status_reason", f->status_reason,
	    sizeof f->status_reason)) ||
	    (err = vg_store_json_get_str(rec, "status_actor_id", f->status_actor_id,
	    sizeof f->status_actor_id)) ||
	    (err = vg_store_json_get_time(rec, "status_at", &f->status_at_us)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &f->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &f->updated_at_us)))
		return err;
	if (tri && ((err = vg_store_json_get_str(tri, "first_scan_id", f->first_scan_id,
	    sizeof f->first_scan_id)) ||
	    (err = vg_store_json_get_str(tri, "last_scan_id", f->last_scan_id,
	    sizeof f->last_scan_id))))
		return err;
	if (!json_is_object(data))
		return VG_ERR_IO;
	f->data = json_incref(data);
	return VG_OK;
}

/* A fingerprint seen for the first time: open, no decision. */
static json_t *
triage_new(const char *repository_id, const char *fingerprint)
{
	return json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:{}, s:[]}",
	    "repository_id", repository_id, "fingerprint", fingerprint, "status", "open",
	    "reason", "comment", "actor_id", "decided_at", "first_scan_id", "last_scan_id",
	    "latest_finding_id", "latest_at", "rows", "history");
}

/* The status fields of f as the decision tri says. */
static enum vg_err
status_from_triage(json_t *tri, struct vg_finding_row *f)
{
	enum vg_err err;

	if ((err = vg_store_json_get_str(tri, "status", f->status, sizeof f->status)) ||
	    (err = vg_store_json_get_str(tri, "reason", f->status_reason,
	    sizeof f->status_reason)) ||
	    (err = vg_store_json_get_str(tri, "actor_id", f->status_actor_id,
	    sizeof f->status_actor_id)) ||
	    (err = vg_store_json_get_time(tri, "decided_at", &f->status_at_us)))
		return err;
	return VG_OK;
}

struct upsert_op {
	const struct vg_lease *l;
	struct vg_finding_row *f;
	int64_t now_us;
	bool created;
};

/*
 * Under the locks of the index, triage, findings and scans: the lease
 * checked, the row of (scan, fingerprint) found through the
 * fingerprint's triage record or made (status from the decision), the
 * fingerprint's first, last and newest row kept, its index entry
 * following, and the scan's counters moved.
 */
static enum vg_err
do_upsert(struct vg_store_json_held *h, void *arg)
{
	struct upsert_op *op = arg;
	struct vg_finding_row *f = op->f, cur;
	struct vg_jsondb_tx *ttx = vg_store_json_tx_of(h, C_TRIAGE);
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FINDINGS);
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SCANS);
	struct vg_store_json_findex_w xw = {.bucket = -1};
	struct vg_scan sc;
	char tkey[TRIAGE_KEY_LEN];
	json_t *tri = NULL, *rec = NULL, *rows;
	const char *existing;
	int64_t latest_at = 0;
	int old_rank, new_rank;
	enum vg_err err;

	memset(&cur, 0, sizeof cur);
	if ((err = lease_load(stx, op->l, true, &sc)) != VG_OK)
		goto out;
	memcpy(f->repository_id, sc.repository_id, sizeof f->repository_id);
	/* Before any write: the index's head moves first (store_json_findex.h). */
	if ((err = vg_store_json_findex_begin(h, sc.repository_id, f->fingerprint, &xw)) != VG_OK)
		goto out;
	triage_key(sc.repository_id, f->fingerprint, tkey);
	err = vg_jsondb_tx_get(ttx, tkey, &tri);
	if (err == VG_ERR_NOT_FOUND) {
		err = VG_ERR_NOMEM;
		if (!(tri = triage_new(sc.repository_id, f->fingerprint)))
			goto out;
	} else if (err != VG_OK) {
		goto out;
	}
	err = VG_ERR_IO;
	if (!json_is_object(rows = json_object_get(tri, "rows")))
		goto out;
	existing = json_string_value(json_object_get(rows, sc.id));
	if (existing) {
		/* The row is there: new data, counters follow a new severity. */
		if ((err = vg_jsondb_tx_get(ftx, existing, &rec)) != VG_OK ||
		    (err = vg_store_json_finding_from(rec, NULL, &cur)) != VG_OK)
			goto out;
		old_rank = vg_severity_rank(cur.severity);
		new_rank = vg_severity_rank(f->severity);
		json_decref(cur.data);
		cur.data = json_incref(f->data);
		memcpy(cur.severity, f->severity, sizeof cur.severity);
		cur.updated_at_us = op->now_us;
		if ((err = vg_store_json_put_new(ftx, cur.id, finding_json(&cur), false)) ||
		    (err = vg_store_json_findex_commit(h, &xw, f->fingerprint, tri, &cur)))
			goto out;
		if (old_rank != new_rank) {
			if (old_rank < VG_SEVERITY_COUNT && sc.severity_counts[old_rank] > 0)
				sc.severity_counts[old_rank]--;
			if (new_rank < VG_SEVERITY_COUNT)
				sc.severity_counts[new_rank]++;
			sc.updated_at_us = op->now_us;
			if ((err = scan_store(stx, &sc)) != VG_OK)
				goto out;
		}
		json_decref(f->data);
		*f = cur;
		cur.data = NULL;
	} else {
		if ((err = status_from_triage(tri, f)) != VG_OK)
			goto out;
		f->created_at_us = f->updated_at_us = op->now_us;
		if ((err = vg_store_json_put_new(ftx, f->id, finding_json(f), true)) != VG_OK)
			goto out;
		if ((err = vg_store_json_get_time(tri, "latest_at", &latest_at)) != VG_OK)
			goto out;
		err = VG_ERR_NOMEM;
		if (json_object_set_new(rows, sc.id, json_string(f->id)) != 0 ||
		    (json_is_null(json_object_get(tri, "first_scan_id")) &&
		    json_object_set_new(tri, "first_scan_id", json_string(sc.id)) != 0))
			goto out;
		if (json_is_null(json_object_get(tri, "latest_finding_id")) ||
		    vg_store_json_pos_cmp(f->created_at_us, f->id, latest_at,
		    vg_store_json_peek(tri, "latest_finding_id")) < 0) {
			if (json_object_set_new(tri, "latest_finding_id", json_string(f->id)) != 0 ||
			    json_object_set_new(tri, "latest_at",
			    vg_store_json_time(f->created_at_us)) != 0 ||
			    json_object_set_new(tri, "last_scan_id", json_string(sc.id)) != 0)
				goto out;
		}
		if ((err = vg_jsondb_tx_put(ttx, tkey, tri)) != VG_OK ||
		    (err = vg_store_json_findex_commit(h, &xw, f->fingerprint, tri, f)) != VG_OK)
			goto out;
		sc.findings_count++;
		new_rank = vg_severity_rank(f->severity);
		if (new_rank < VG_SEVERITY_COUNT)
			sc.severity_counts[new_rank]++;
		sc.updated_at_us = op->now_us;
		if ((err = scan_store(stx, &sc)) != VG_OK)
			goto out;
		op->created = true;
	}
	err = vg_store_json_get_str(tri, "first_scan_id", f->first_scan_id,
	    sizeof f->first_scan_id);
	if (err == VG_OK)
		err = vg_store_json_get_str(tri, "last_scan_id", f->last_scan_id,
		    sizeof f->last_scan_id);
out:
	vg_store_json_findex_done(&xw);
	vg_finding_row_clear(&cur);
	json_decref(rec);
	json_decref(tri);
	return err;
}

static const struct vg_store_json_lock upsert_locks[] = {
	{C_INDEX, true}, {C_TRIAGE, true}, {C_FINDINGS, true}, {C_SCANS, true},
};

static enum vg_err
json_finding_upsert(struct vg_store *s, const struct vg_lease *l, struct vg_finding_row *f,
    int64_t now_us, bool *created)
{
	struct upsert_op op = {l, f, now_us, false};
	enum vg_err err = vg_store_json_with_locks(s->jdb, upsert_locks, NELEM(upsert_locks),
	    do_upsert, &op);

	*created = op.created;
	return err;
}

/* The triage record of a row record (NULL when there is none). */
static json_t *
triage_of(struct vg_store *s, json_t *rec)
{
	char key[TRIAGE_KEY_LEN];
	json_t *tri = NULL;

	triage_key(vg_store_json_peek(rec, "repository_id"), vg_store_json_peek(rec, "fingerprint"),
	    key);
	if (vg_jsondb_get(s->jdb, C_TRIAGE, key, &tri) != VG_OK)
		return NULL;
	return tri;
}

static enum vg_err
json_finding_get(struct vg_store *s, const char *id, struct vg_finding_row *out)
{
	json_t *rec = NULL, *tri = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_FINDINGS, id, &rec);

	if (err == VG_OK) {
		tri = triage_of(s, rec);
		err = vg_store_json_finding_from(rec, tri, out);
	}
	json_decref(tri);
	json_decref(rec);
	return err;
}

/* A scan's rows, or a repository's newest row per fingerprint, from the
 * finding index (store_json_findex.h). */
static enum vg_err
json_finding_list(struct vg_store *s, const struct vg_finding_filter *f, int64_t offset, int n,
    struct vg_finding_row **out, size_t *count)
{
	return vg_store_json_findex_list(s->jdb, f, offset, n, out, count);
}

static enum vg_err
json_finding_count(struct vg_store *s, const struct vg_finding_filter *f, int64_t *count)
{
	return vg_store_json_findex_count(s->jdb, f, count);
}

struct triage_op {
	const char *id;
	const struct vg_triage *t;
	struct vg_finding_row *out;
};

/*
 * Under the locks of the index, triage and findings: the decision and
 * its history entry on the fingerprint's record, the status on every row
 * of the fingerprint (the roll-up reads it there) and on its index
 * entry.
 */
static enum vg_err
do_triage(struct vg_store_json_held *h, void *arg)
{
	struct triage_op *op = arg;
	const struct vg_triage *t = op->t;
	struct vg_jsondb_tx *ttx = vg_store_json_tx_of(h, C_TRIAGE);
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FINDINGS);
	struct vg_store_json_findex_w xw = {.bucket = -1};
	char tkey[TRIAGE_KEY_LEN], fp[sizeof ((struct vg_finding_row *)0)->fingerprint];
	json_t *rec = NULL, *tri = NULL, *row = NULL, *entry = NULL, *rows, *v;
	const char *sid;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(ftx, op->id, &rec)) != VG_OK)
		goto out;
	if ((err = vg_store_json_get_str(rec, "fingerprint", fp, sizeof fp)) != VG_OK ||
	    (err = vg_store_json_findex_begin(h, vg_store_json_peek(rec, "repository_id"), fp,
	    &xw)) != VG_OK)
		goto out;
	triage_key(vg_store_json_peek(rec, "repository_id"), vg_store_json_peek(rec, "fingerprint"),
	    tkey);
	err = vg_jsondb_tx_get(ttx, tkey, &tri);
	if (err == VG_ERR_NOT_FOUND) {
		err = VG_ERR_NOMEM;
		if (!(tri = triage_new(vg_store_json_peek(rec, "repository_id"),
		    vg_store_json_peek(rec, "fingerprint"))) ||
		    json_object_set_new(json_object_get(tri, "rows"),
		    vg_store_json_peek(rec, "scan_id"), json_string(op->id)) != 0)
			goto out;
	} else if (err != VG_OK) {
		goto out;
	}
	err = VG_ERR_NOMEM;
	if (!(entry = json_pack("{s:o, s:s, s:s, s:o, s:o}", "at", vg_store_json_time(t->now_us),
	    "actor_id", t->actor_id, "status", t->status, "reason", vg_store_json_opt_str(t->reason),
	    "comment", vg_store_json_opt_str(t->comment))))
		goto out;
	if (!json_is_array(json_object_get(tri, "history")) &&
	    json_object_set_new(tri, "history", json_array()) != 0)
		goto out;
	if (json_array_append(json_object_get(tri, "history"), entry) != 0 ||
	    json_object_set_new(tri, "status", json_string(t->status)) != 0 ||
	    json_object_set_new(tri, "reason", vg_store_json_opt_str(t->reason)) != 0 ||
	    json_object_set_new(tri, "comment", vg_store_json_opt_str(t->comment)) != 0 ||
	    json_object_set_new(tri, "actor_id", json_string(t->actor_id)) != 0 ||
	    json_object_set_new(tri, "decided_at", vg_store_json_time(t->now_us)) != 0)
		goto out;
	if ((err = vg_jsondb_tx_put(ttx, tkey, tri)) != VG_OK)
		goto out;
	rows = json_object_get(tri, "rows");
	json_object_foreach(rows, sid, v) {
		err = vg_jsondb_tx_get(ftx, json_string_value(v) ? json_string_value(v) : "", &row);
		if (err == VG_ERR_NOT_FOUND || err == VG_ERR_INVALID)
			continue;   /* its scan was deleted */
		if (err != VG_OK)
			goto out;
		err = VG_ERR_NOMEM;
		if (json_object_set_new(row, "status", json_string(t->status)) != 0 ||
		    json_object_set_new(row, "status_reason", vg_store_json_opt_str(t->reason)) != 0 ||
		    json_object_set_new(row, "status_actor_id", json_string(t->actor_id)) != 0 ||
		    json_object_set_new(row, "status_at", vg_store_json_time(t->now_us)) != 0 ||
		    json_object_set_new(row, "updated_at", vg_store_json_time(t->now_us)) != 0)
			goto out;
		if ((err = vg_jsondb_tx_put(ftx, json_string_value(v), row)) != VG_OK)
			goto out;
		json_decref(row);
		row = NULL;
	}
	if ((err = vg_store_json_findex_commit(h, &xw, fp, tri, NULL)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	if ((err = vg_jsondb_tx_get(ftx, op->id, &rec)) == VG_OK)
		err = vg_store_json_finding_from(rec, tri, op->out);
out:
	vg_store_json_findex_done(&xw);
	json_decref(entry);
	json_decref(row);
	json_decref(tri);
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock triage_locks[] = {
	{C_INDEX, true}, {C_TRIAGE, true}, {C_FINDINGS, true},
};

static enum vg_err
json_finding_triage(struct vg_store *s, const char *id, const struct vg_triage *t,
    struct vg_finding_row *out)
{
	struct triage_op op = {id, t, out};

	return vg_store_json_with_locks(s->jdb, triage_locks, NELEM(triage_locks), do_triage, &op);
}

static enum vg_err
json_finding_history(struct vg_store *s, const char *id, json_t **items)
{
	json_t *rec = NULL, *tri = NULL, *hist;
	enum vg_err err = vg_jsondb_get(s->jdb, C_FINDINGS, id, &rec);

	if (err != VG_OK)
		goto out;
	tri = triage_of(s, rec);
	hist = json_object_get(tri, "history");
	err = VG_ERR_NOMEM;
	if ((*items = json_is_array(hist) ? json_deep_copy(hist) : json_array()))
		err = VG_OK;
out:
	json_decref(tri);
	json_decref(rec);
	return err;
}

/* ---- runner jobs ---- */

#define JOB_KEY_LEN (VG_UUID_LEN + 1 + 20 + 1)

static void
job_key(const char *scan_id, int64_t attempt, char out[JOB_KEY_LEN])
{
	snprintf(out, JOB_KEY_LEN, "%s_%lld", scan_id, (long long)attempt);
}

static json_t *
job_json(const struct vg_runner_job *j)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "id", j->id, "scan_id", j->scan_id, "attempt", (json_int_t)j->attempt,
	    "worker_id", vg_store_json_str(j->worker_id), "mode", j->mode,
	    "external_id", vg_store_json_str(j->external_id), "status", j->status,
	    "exit_code", j->exit_code >= 0 ? json_integer(j->exit_code) : json_null(),
	    "error_message", vg_store_json_str(j->error_message),
	    "created_at", vg_store_json_time(j->created_at_us),
	    "started_at", vg_store_json_time(j->started_at_us),
	    "finished_at", vg_store_json_time(j->finished_at_us));
}

static enum vg_err
job_from(json_t *rec, struct vg_runner_job *j)
{
	json_t *code = json_object_get(rec, "exit_code");
	enum vg_err err;

	memset(j, 0, sizeof *j);
	if ((err = vg_store_json_get_str(rec, "id", j->id, sizeof j->id)) ||
	    (err = vg_store_json_get_str(rec, "scan_id", j->scan_id, sizeof j->scan_id)) ||
	    (err = vg_store_json_get_int(rec, "attempt", &j->attempt)) ||
	    (err = vg_store_json_get_str(rec, "worker_id", j->worker_id, sizeof j->worker_id)) ||
	    (err = vg_store_json_get_str(rec, "mode", j->mode, sizeof j->mode)) ||
	    (err = vg_store_json_get_str(rec, "external_id", j->external_id,
	    sizeof j->external_id)) ||
	    (err = vg_store_json_get_str(rec, "status", j->status, sizeof j->status)) ||
	    (err = vg_store_json_get_str(rec, "error_message", j->error_message,
	    sizeof j->error_message)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &j->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "started_at", &j->started_at_us)) ||
	    (err = vg_store_json_get_time(rec, "finished_at", &j->finished_at_us)))
		return err;
	j->exit_code = -1;
	if (code && !json_is_null(code) && (err = vg_store_json_get_int(rec, "exit_code",
	    &j->exit_code)))
		return err;
	return VG_OK;
}

struct job_op {
	struct vg_runner_job *j;
	const char *scan_id;
	int64_t attempt;
	const struct vg_runner_job_change *c;
	bool existed;
};

/* Under the locks of jobs and scans (shared): one job per attempt. */
static enum vg_err
do_job_create(struct vg_store_json_held *h, void *arg)
{
	struct job_op *op = arg;
	struct vg_jsondb_tx *jtx = vg_store_json_tx_of(h, C_JOBS);
	char key[JOB_KEY_LEN];
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_SCANS), op->j->scan_id,
	    &rec)) != VG_OK)
		return err;
	json_decref(rec);
	rec = NULL;
	job_key(op->j->scan_id, op->j->attempt, key);
	err = vg_jsondb_tx_get(jtx, key, &rec);
	if (err == VG_OK) {
		op->existed = true;
		err = job_from(rec, op->j);
	} else if (err == VG_ERR_NOT_FOUND) {
		err = vg_store_json_put_new(jtx, key, job_json(op->j), true);
	}
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock jobs_scans[] = {{C_JOBS, true}, {C_SCANS, false}};

static enum vg_err
json_runner_job_create(struct vg_store *s, struct vg_runner_job *j, int64_t now_us,
    bool *existed)
{
	struct job_op op = {.j = j};
	enum vg_err err;

	(void)now_us;   /* already j->created_at_us */
	err = vg_store_json_with_locks(s->jdb, jobs_scans, 2, do_job_create, &op);
	*existed = op.existed;
	return err;
}

static enum vg_err
do_job_update(struct vg_jsondb_tx *tx, void *arg)
{
	struct job_op *op = arg;
	const struct vg_runner_job_change *c = op->c;
	struct vg_runner_job j;
	char key[JOB_KEY_LEN];
	json_t *rec = NULL;
	enum vg_err err;

	job_key(op->scan_id, op->attempt, key);
	if ((err = vg_jsondb_tx_get(tx, key, &rec)) != VG_OK || (err = job_from(rec, &j)) != VG_OK)
		goto out;
	vg_str_copy(j.status, sizeof j.status, c->status);
	if (c->external_id)
		vg_str_copy(j.external_id, sizeof j.external_id, c->external_id);
	if (c->exit_code >= 0)
		j.exit_code = c->exit_code;
	if (c->error_message)
		vg_str_copy(j.error_message, sizeof j.error_message, c->error_message);
	if (strcmp(c->status, "running") == 0)
		j.started_at_us = c->now_us;
	else if (strcmp(c->status, "starting") != 0)
		j.finished_at_us = c->now_us;
	err = vg_store_json_put_new(tx, key, job_json(&j), false);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_runner_job_update(struct vg_store *s, const char *scan_id, int64_t attempt,
    const struct vg_runner_job_change *c)
{
	struct job_op op = {.scan_id = scan_id, .attempt = attempt, .c = c};

	return vg_jsondb_tx(s->jdb, C_JOBS, true, do_job_update, &op);
}

static enum vg_err
json_runner_job_get(struct vg_store *s, const char *scan_id, int64_t attempt,
    struct vg_runner_job *out)
{
	char key[JOB_KEY_LEN];
	json_t *rec = NULL;
	enum vg_err err;

	job_key(scan_id, attempt, key);
	if ((err = vg_jsondb_get(s->jdb, C_JOBS, key, &rec)) == VG_OK)
		err = job_from(rec, out);
	json_decref(rec);
	return err;
}

static bool
of_scan(json_t *rec, void *arg)
{
	return vg_store_json_field_is(rec, "scan_id", arg);
}

static enum vg_err
json_runner_job_list(struct vg_store *s, const char *scan_id, struct vg_runner_job **out,
    size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_runner_job *js = NULL;
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_JOBS, of_scan, (void *)scan_id, &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(js = calloc(json_array_size(all) + 1, sizeof *js)))
		goto out;
	json_array_foreach(all, i, rec)
		if ((err = job_from(rec, &js[i])) != VG_OK)
			goto out;
	*out = js;
	*count = json_array_size(all);
	js = NULL;
	err = VG_OK;
out:
	free(js);
	json_decref(all);
	return err;
}

/* ---- pruning ---- */

/* Whether the time member key of rec is set and before *before. */
static bool
time_before(json_t *rec, const char *key, int64_t before)
{
	int64_t at = 0;

	return vg_store_json_get_time(rec, key, &at) == VG_OK && at != 0 && at < before;
}

static bool
family_prunable(json_t *rec, void *arg)
{
	int64_t before = *(int64_t *)arg;

	return time_before(rec, "expires_at", before) || time_before(rec, "revoked_at", before);
}

static bool
key_prunable(json_t *rec, void *arg)
{
	return family_prunable(rec, arg);
}

static bool
worker_prunable(json_t *rec, void *arg)
{
	return time_before(rec, "last_heartbeat_at", *(int64_t *)arg);
}

struct prune_op {
	const struct vg_prune *p;
	struct vg_prune_counts *out;
};


/* Whether family id is among the families fams. */
static bool
family_among(const char *id, json_t *fams)
{
	json_t *f;
	size_t i;

	json_array_foreach(fams, i, f)
		if (strcmp(vg_store_json_peek(f, "id"), id) == 0)
			return true;
	return false;
}

/*
 * Delete the tokens of the families fams under ttx.  A token record is
 * named by its hash, which it does not hold, so the names come from the
 * collection's directory (jsondb.h: <collection>/<id>.json; names that
 * start with '.' are not records).
 */
static enum vg_err
del_family_tokens(struct vg_jsondb *db, struct vg_jsondb_tx *ttx, json_t *fams)
{
	char dir[4096], id[160];
	struct dirent *de;
	json_t *rec = NULL;
	DIR *d = NULL;
	size_t n;
	enum vg_err err = VG_OK;

	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", vg_jsondb_root(db), C_TOKENS) >= sizeof dir)
		return VG_ERR_IO;
	if (!(d = opendir(dir)))
		return VG_OK;   /* no tokens were ever written */
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= 5 || n - 5 >= sizeof id ||
		    strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = '\0';
		if ((err = vg_jsondb_tx_get(ttx, id, &rec)) == VG_OK &&
		    family_among(vg_store_json_peek(rec, "family_id"), fams))
			err = vg_jsondb_tx_del(ttx, id);
		json_decref(rec);
		rec = NULL;
		if (err != VG_OK && err != VG_ERR_NOT_FOUND && err != VG_ERR_INVALID)
			break;
		err = VG_OK;
	}
	closedir(d);
	return err;
}

/* Under the locks of families and tokens: the families with their
 * tokens. */
static enum vg_err
do_prune_families(struct vg_store_json_held *h, void *arg)
{
	struct prune_op *op = arg;
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FAMILIES);
	json_t *fams = NULL, *rec;
	int64_t before = op->p->tokens_before_us;
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(ftx, family_prunable, &before, &fams)) != VG_OK)
		goto out;
	op->out->refresh_families = (int64_t)json_array_size(fams);
	if (op->p->dry_run || json_array_size(fams) == 0)
		goto out;
	if ((err = del_family_tokens(h->db, vg_store_json_tx_of(h, C_TOKENS), fams)) != VG_OK)
		goto out;
	json_array_foreach(fams, i, rec)
		if ((err = vg_jsondb_tx_del(ftx, vg_store_json_peek(rec, "id"))) != VG_OK &&
		    err != VG_ERR_NOT_FOUND)
			goto out;
	err = VG_OK;
out:
	json_decref(fams);
	return err;
}

static const struct vg_store_json_lock family_locks[] = {{C_FAMILIES, true}, {C_TOKENS, true}};

/* One collection's pruning: records keep() accepts, named by their
 * member id_key. */
struct prune_coll {
	bool (*keep)(json_t *, void *);
	int64_t before;
	const char *id_key;
	bool dry_run;
	int64_t n;
};

static enum vg_err
do_prune_coll(struct vg_jsondb_tx *tx, void *arg)
{
	struct prune_coll *pc = arg;
	json_t *all = NULL, *rec;
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, pc->keep, &pc->before, &all)) != VG_OK)
		goto out;
	pc->n = (int64_t)json_array_size(all);
	json_array_foreach(all, i, rec)
		if (!pc->dry_run && (err = vg_jsondb_tx_del(tx, vg_store_json_peek(rec,
		    pc->id_key))) != VG_OK && err != VG_ERR_NOT_FOUND)
			goto out;
	err = VG_OK;
out:
	json_decref(all);
	return err;
}

static enum vg_err
json_prune(struct vg_store *s, const struct vg_prune *p, struct vg_prune_counts *out)
{
	struct prune_op op = {p, out};
	struct prune_coll keys = {key_prunable, p->tokens_before_us, "key_hash", p->dry_run, 0};
	struct prune_coll workers = {worker_prunable, p->workers_before_us, "id", p->dry_run, 0};
	enum vg_err err;

	if ((err = vg_store_json_with_locks(s->jdb, family_locks, 2, do_prune_families,
	    &op)) != VG_OK ||
	    (err = vg_jsondb_tx(s->jdb, C_KEYS, !p->dry_run, do_prune_coll, &keys)) != VG_OK ||
	    (err = vg_jsondb_tx(s->jdb, C_WORKERS, !p->dry_run, do_prune_coll, &workers)) != VG_OK)
		return err;
	out->api_keys = keys.n;
	out->workers = workers.n;
	return VG_OK;
}

const struct vg_store_scans_ops vg_store_json_scans_ops = {
	.scan_create = json_scan_create,
	.scan_get = json_scan_get,
	.scan_list = json_scan_list,
	.scan_claim = json_scan_claim,
	.scan_start = json_scan_start,
	.scan_heartbeat = json_scan_heartbeat,
	.scan_finish = json_scan_finish,
	.scan_cancel = json_scan_cancel,
	.scan_stale = json_scan_stale,
	.scan_rescue_running = json_scan_rescue_running,
	.scan_requeue_claimed = json_scan_requeue_claimed,
	.scan_count_active = json_scan_count_active,
	.scan_finished_before = json_scan_finished_before,
	.event_append = json_event_append,
	.event_list = json_event_list,
	.event_list_repository = json_event_list_repository,
	.finding_upsert = json_finding_upsert,
	.finding_list = json_finding_list,
	.finding_count = json_finding_count,
	.finding_get = json_finding_get,
	.finding_triage = json_finding_triage,
	.finding_history = json_finding_history,
	.runner_job_create = json_runner_job_create,
	.runner_job_update = json_runner_job_update,
	.runner_job_get = json_runner_job_get,
	.runner_job_list = json_runner_job_list,
	.prune = json_prune,
};

/* ---- a deleted repository's scans (what Postgres cascades) ---- */

static bool
of_scan_in(json_t *rec, void *arg)
{
	json_t *ids = arg;
	const char *sid = vg_store_json_peek(rec, "scan_id");

	return sid && json_object_get(ids, sid) != NULL;
}

/* Delete the records of coll that keep() selects, each by its id_key
 * member or, without one, by key_fn. */
static enum vg_err
purge_where(struct vg_store_json_held *h, const char *coll, bool (*keep)(json_t *, void *),
    void *arg, const char *id_key)
{
	struct vg_jsondb_tx *tx = vg_store_json_tx_of(h, coll);
	json_t *all = NULL, *rec;
	char key[TRIAGE_KEY_LEN + EVENT_KEY_LEN];
	size_t i;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, keep, arg, &all)) != VG_OK)
		return err;
	json_array_foreach(all, i, rec) {
		if (!strcmp(coll, C_EVENTS))
			event_key(vg_store_json_peek(rec, "scan_id"),
			    json_integer_value(json_object_get(rec, "seq")), key);
		else if (!strcmp(coll, C_JOBS))
			job_key(vg_store_json_peek(rec, "scan_id"),
			    json_integer_value(json_object_get(rec, "attempt")), key);
		else if (!strcmp(coll, C_TRIAGE))
			triage_key(vg_store_json_peek(rec, "repository_id"),
			    vg_store_json_peek(rec, "fingerprint"), key);
		else if (vg_str_copy(key, sizeof key, vg_store_json_peek(rec, id_key)) != VG_OK)
			continue;
		err = vg_jsondb_tx_del(tx, key);
		if (err != VG_OK && err != VG_ERR_NOT_FOUND)
			break;
		err = VG_OK;
	}
	json_decref(all);
	return err;
}

static enum vg_err
do_purge(struct vg_store_json_held *h, void *arg)
{
	const char *repository_id = arg;
	json_t *scans = NULL, *ids = json_object(), *rec;
	size_t i;
	enum vg_err err;

	if (!ids)
		return VG_ERR_NOMEM;
	if ((err = vg_jsondb_tx_list(vg_store_json_tx_of(h, C_SCANS), of_repository,
	    (void *)repository_id, &scans)) != VG_OK)
		goto out;
	json_array_foreach(scans, i, rec)
		if (json_object_set(ids, vg_store_json_peek(rec, "id"), json_true()) != 0) {
			err = VG_ERR_NOMEM;
			goto out;
		}
	if ((err = vg_store_json_findex_purge(h, repository_id)) != VG_OK ||
	    (err = purge_where(h, C_EVENTS, of_scan_in, ids, NULL)) != VG_OK ||
	    (err = purge_where(h, C_JOBS, of_scan_in, ids, NULL)) != VG_OK ||
	    (err = purge_where(h, C_FINDINGS, of_repository, (void *)repository_id, "id")) != VG_OK ||
	    (err = purge_where(h, C_TRIAGE, of_repository, (void *)repository_id, NULL)) != VG_OK)
		goto out;
	err = purge_where(h, C_SCANS, of_repository, (void *)repository_id, "id");
out:
	json_decref(scans);
	json_decref(ids);
	return err;
}

/* Names ascending, as vg_store_json_with_locks wants. */
static const struct vg_store_json_lock purge_locks[] = {
	{C_INDEX, true}, {C_TRIAGE, true}, {C_FINDINGS, true}, {C_JOBS, true}, {C_EVENTS, true},
	{C_SCANS, true},
};

/*
 * Remove the scans of a deleted repository with their events, findings,
 * triage decisions, finding index and runner jobs (LLM usage records stay: they are the
 * accounting).  Called after the repository itself is gone: a crash in
 * between leaves records nothing can reach, which the next delete of the
 * same id (none) or a later purge would take; readers never see them
 * because every route reaches scans through their repository.
 */
enum vg_err
vg_store_json_purge_scans(struct vg_jsondb *db, const char *repository_id)
{
	return vg_store_json_with_locks(db, purge_locks,
	    sizeof purge_locks / sizeof purge_locks[0], do_purge, (void *)repository_id);
}
