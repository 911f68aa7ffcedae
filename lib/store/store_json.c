/*
 * store_json.c - the json backend: each entity a jsondb collection under
 * $VEGA_DATA_DIR/store, each record the entity's JSON form (times as
 * RFC 3339 text, so an operator can read the files).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_util.h"

/* Collection names: one per entity. */
#define COLL_AUDIT "audit"
#define COLL_WORKERS "workers"

static enum vg_err
json_open(struct vg_store *s)
{
	char dir[4096];
	int n;

	n = snprintf(dir, sizeof dir, "%s/store", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof dir)
		return VG_ERR_INVALID;
	return vg_jsondb_open(dir, &s->jdb);
}

static void
json_close(struct vg_store *s)
{
	vg_jsondb_free(s->jdb);
	s->jdb = NULL;
}

/* The directory answers when we can still read and write in it. */
static enum vg_err
json_ping(struct vg_store *s)
{
	return access(vg_jsondb_root(s->jdb), R_OK | W_OK | X_OK) == 0 ? VG_OK
	    : VG_ERR_UNAVAILABLE;
}

static enum vg_err
json_schema_current(struct vg_store *s, bool *current, char *detail, size_t detail_len)
{
	*current = true;
	snprintf(detail, detail_len, "the json backend has no schema");
	return VG_OK;
}

/* ---- audit ---- */

static enum vg_err
json_audit_append(struct vg_store *s, const struct vg_audit_event *ev)
{
	json_t *rec = vg_store_audit_json(ev);
	enum vg_err err;

	if (!rec)
		return VG_ERR_NOMEM;
	err = vg_jsondb_create(s->jdb, COLL_AUDIT, ev->id, rec);
	json_decref(rec);
	return err;
}

/*
 * Read the whole collection and page it in memory, newest first by (at,
 * id) as the pg backend's ORDER BY at DESC, id DESC.  The one-machine
 * shape keeps modest audit logs; the pg backend answers the same
 * question with an index.
 */
static enum vg_err
json_audit_list(struct vg_store *s, const struct vg_store_pos *pos, int n, json_t **items)
{
	json_t *all = NULL, *arr = NULL, *rec;
	struct vg_store_json_keyed *keys = NULL;
	size_t i, count = 0, total;
	enum vg_err err;

	*items = NULL;
	if ((err = vg_jsondb_list(s->jdb, COLL_AUDIT, NULL, NULL, &all)) != VG_OK)
		goto out;
	total = json_array_size(all);
	err = VG_ERR_NOMEM;
	if (!(keys = calloc(total ? total : 1, sizeof *keys)) || !(arr = json_array()))
		goto out;
	json_array_foreach(all, i, rec) {
		struct vg_store_json_keyed k = {0, json_string_value(json_object_get(rec, "id")),
		    rec};

		if (!k.id || vg_time_parse(json_string_value(json_object_get(rec, "at")),
		    &k.at_us) != VG_OK) {
			err = VG_ERR_IO;   /* a hand-edited record lost its keys */
			goto out;
		}
		if (vg_store_json_after(k.at_us, k.id, pos))
			keys[count++] = k;
	}
	qsort(keys, count, sizeof *keys, vg_store_json_keyed_cmp);
	for (i = 0; i < count && i < (size_t)n; i++)
		if (json_array_append(arr, keys[i].rec) != 0)
			goto out;
	*items = arr;
	arr = NULL;
	err = VG_OK;
out:
	free(keys);
	json_decref(arr);
	json_decref(all);
	return err;
}

/* ---- workers ---- */

static json_t *
worker_to_json(const struct vg_worker *w)
{
	char started[VG_TIME_RFC3339_LEN], beat[VG_TIME_RFC3339_LEN];

	vg_time_format(w->started_at_us, started);
	vg_time_format(w->last_heartbeat_us, beat);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o}",
	    "id", w->id, "host", w->host, "pid", (json_int_t)w->pid, "version", w->version,
	    "started_at", started, "last_heartbeat_at", beat, "state", w->state,
	    "current_scan_id", w->current_scan_id[0] ? json_string(w->current_scan_id)
	    : json_null());
}

/* A time member that must be there (a worker always has both). */
static enum vg_err
field_time(json_t *rec, const char *key, int64_t *us)
{
	return vg_time_parse(json_string_value(json_object_get(rec, key)), us) == VG_OK
	    ? VG_OK : VG_ERR_IO;
}

static enum vg_err
worker_from_json(json_t *rec, struct vg_worker *w)
{
	json_t *pid = json_object_get(rec, "pid");
	enum vg_err err;

	memset(w, 0, sizeof *w);
	if ((err = vg_store_json_get_str(rec, "id", w->id, sizeof w->id)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "host", w->host, sizeof w->host)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "version", w->version, sizeof w->version)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "state", w->state, sizeof w->state)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "current_scan_id", w->current_scan_id,
	    sizeof w->current_scan_id)) != VG_OK ||
	    (err = field_time(rec, "started_at", &w->started_at_us)) != VG_OK ||
	    (err = field_time(rec, "last_heartbeat_at", &w->last_heartbeat_us)) != VG_OK)
		return err;
	if (!json_is_integer(pid))
		return VG_ERR_IO;
	w->pid = json_integer_value(pid);
	return VG_OK;
}

static enum vg_err
json_worker_upsert(struct vg_store *s, const struct vg_worker *w)
{
	json_t *rec = worker_to_json(w);
	enum vg_err err;

	if (!rec)
		return VG_ERR_NOMEM;
	/* A heartbeat replaces the whole record; rename makes it atomic. */
	err = vg_jsondb_put(s->jdb, COLL_WORKERS, w->id, rec);
	json_decref(rec);
	return err;
}

static enum vg_err
json_worker_list(struct vg_store *s, struct vg_worker **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_worker *ws = NULL;
	size_t i, n;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, COLL_WORKERS, NULL, NULL, &all)) != VG_OK)
		goto out;
	n = json_array_size(all);
	err = VG_ERR_NOMEM;
	if (!(ws = calloc(n ? n : 1, sizeof *ws)))
		goto out;
	json_array_foreach(all, i, rec) {
		if ((err = worker_from_json(rec, &ws[i])) != VG_OK)
			goto out;
	}
	*out = ws;
	*count = n;
	ws = NULL;
	err = VG_OK;
out:
	free(ws);
	json_decref(all);
	return err;
}

const struct vg_store_ops vg_store_json_ops = {
	.name = "json",
	.auth = &vg_store_json_auth_ops,
	.sources = &vg_store_json_sources_ops,
	.scans = &vg_store_json_scans_ops,
	.llm = &vg_store_json_llm_ops,
	.open = json_open,
	.close = json_close,
	.ping = json_ping,
	.schema_current = json_schema_current,
	.audit_append = json_audit_append,
	.audit_list = json_audit_list,
	.worker_upsert = json_worker_upsert,
	.worker_list = json_worker_list,
};
