/* store.c - backend choice, argument checks, cursors, shared shaping. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

/* The backends, by the value of VEGA_PERSISTENCE_BACKEND. */
static const struct vg_store_ops *const backends[] = {
	&vg_store_json_ops,
	&vg_store_pg_ops,
};

/* The backend named want, or NULL. */
static const struct vg_store_ops *
find_backend(const char *want)
{
	size_t i;

	for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(backends[i]->name, want) == 0)
			return backends[i];
	return NULL;
}

enum vg_err
vg_store_open(struct vg_store **out)
{
	const char *want = vg_cfg_str(VG_SET_PERSISTENCE_BACKEND);
	const struct vg_store_ops *ops = find_backend(want);
	struct vg_store *s = NULL;
	enum vg_err err = VG_ERR_INVALID;

	*out = NULL;
	if (!ops) {
		vg_log(VG_LOG_ERROR, "store_unknown_backend", "backend", want, NULL);
		goto out;
	}
	err = VG_ERR_NOMEM;
	if (!(s = calloc(1, sizeof *s)))
		goto out;
	s->ops = ops;
	if ((err = ops->open(s)) != VG_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	free(s);
	return err;
}

void
vg_store_free(struct vg_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

const char *
vg_store_backend(const struct vg_store *s)
{
	return s->ops->name;
}

enum vg_err
vg_store_ping(struct vg_store *s)
{
	return s->ops->ping(s);
}

enum vg_err
vg_store_schema_current(struct vg_store *s, bool *current, char *detail, size_t detail_len)
{
	*current = false;
	if (detail_len)
		detail[0] = '\0';
	return s->ops->schema_current(s, current, detail, detail_len);
}

/* ---- cursors: base64url (no padding) of "<at_us>.<uuid>" ---- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
vg_store_cursor_encode(const struct vg_store_pos *pos)
{
	char raw[96], *out;
	size_t n, i, o = 0;

	n = (size_t)snprintf(raw, sizeof raw, "%lld.%s", (long long)pos->at_us, pos->id);
	if (n >= sizeof raw || !(out = malloc((n + 2) / 3 * 4 + 1)))
		return NULL;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)raw[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)raw[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return out;
}

enum vg_err
vg_store_cursor_decode(const char *cursor, struct vg_store_pos *pos)
{
	char raw[96];
	size_t len, i, o = 0;
	unsigned acc = 0;
	int bits = 0;
	const char *p;
	char *dot;

	if (!cursor || (len = strlen(cursor)) == 0 || len > 120)
		return VG_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (!(p = strchr(b64url, cursor[i])) || cursor[i] == '\0')
			return VG_ERR_INVALID;
		acc = (acc << 6) | (unsigned)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= sizeof raw)
				return VG_ERR_INVALID;
			raw[o++] = (char)((acc >> bits) & 0xFF);
		}
	}
	/* Leftover bits must be the zero padding of a canonical encoding. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return VG_ERR_INVALID;
	raw[o] = '\0';
	if (strlen(raw) != o || !(dot = strchr(raw, '.')))
		return VG_ERR_INVALID;
	*dot = '\0';
	if (vg_str_to_i64(raw, INT64_MIN, INT64_MAX, &pos->at_us) != VG_OK ||
	    !vg_uuid_valid(dot + 1) || vg_str_copy(pos->id, sizeof pos->id, dot + 1) != VG_OK)
		return VG_ERR_INVALID;
	return VG_OK;
}

/* ---- audit log ---- */

/* Optional text fields: NULL or at most max bytes of UTF-8. */
static bool
opt_text_ok(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return true;
	n = strlen(s);
	return n <= max && vg_utf8_valid(s, n);
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
vg_store_audit_json(const struct vg_audit_event *ev)
{
	char at[VG_TIME_RFC3339_LEN];

	vg_time_format(ev->at_us, at);
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:O}",
	    "id", ev->id, "at", at, "actor_id", str_or_null(ev->actor_id),
	    "action", ev->action, "target_type", str_or_null(ev->target_type),
	    "target_id", str_or_null(ev->target_id),
	    "request_id", str_or_null(ev->request_id),
	    "client_ip", str_or_null(ev->client_ip),
	    "details", ev->details ? ev->details : json_null());
}

enum vg_err
vg_store_audit_append(struct vg_store *s, struct vg_audit_event *ev)
{
	enum vg_err err;

	if (!ev->action || !*ev->action || !opt_text_ok(ev->action, 128) ||
	    (ev->actor_id && !vg_uuid_valid(ev->actor_id)) ||
	    !opt_text_ok(ev->target_type, 64) || !opt_text_ok(ev->target_id, 256) ||
	    !opt_text_ok(ev->request_id, 128) || !opt_text_ok(ev->client_ip, 64) ||
	    (ev->details && !json_is_object(ev->details)))
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(ev->id)) != VG_OK)
		return err;
	if (ev->at_us == 0)
		ev->at_us = vg_time_now_us();
	return s->ops->audit_append(s, ev);
}

/*
 * Fetch limit + 1 items so the presence of a next page is known without a
 * second query; the cursor is built from the last item returned, so it
 * means the same in both backends.
 */
enum vg_err
vg_store_audit_list(struct vg_store *s, const char *cursor, int limit, json_t **items,
    char **next_cursor)
{
	struct vg_store_pos pos, last;
	json_t *arr = NULL, *item;
	enum vg_err err;

	*items = NULL;
	*next_cursor = NULL;
	if (limit < 1 || limit > VG_STORE_LIST_MAX)
		return VG_ERR_INVALID;
	if (cursor && (err = vg_store_cursor_decode(cursor, &pos)) != VG_OK)
		return err;
	if ((err = s->ops->audit_list(s, cursor ? &pos : NULL, limit + 1, &arr)) != VG_OK)
		goto out;
	if (json_array_size(arr) > (size_t)limit) {
		json_array_remove(arr, (size_t)limit);
		item = json_array_get(arr, (size_t)limit - 1);
		err = VG_ERR_INTERNAL;
		if (vg_time_parse(json_string_value(json_object_get(item, "at")), &last.at_us) != VG_OK ||
		    vg_str_copy(last.id, sizeof last.id,
		    json_string_value(json_object_get(item, "id"))) != VG_OK)
			goto out;
		err = VG_ERR_NOMEM;
		if (!(*next_cursor = vg_store_cursor_encode(&last)))
			goto out;
	}
	*items = arr;
	arr = NULL;
	err = VG_OK;
out:
	json_decref(arr);
	return err;
}

/* ---- workers ---- */

static const char *const worker_states[] = {"idle", "busy", "stopping", "stopped"};

static bool
worker_valid(const struct vg_worker *w)
{
	size_t i;
	bool state_ok = false;

	for (i = 0; i < sizeof worker_states / sizeof worker_states[0]; i++)
		if (strcmp(w->state, worker_states[i]) == 0)
			state_ok = true;
	return state_ok && vg_uuid_valid(w->id) &&
	    strnlen(w->host, sizeof w->host) < sizeof w->host && w->host[0] &&
	    vg_utf8_valid(w->host, strlen(w->host)) &&
	    strnlen(w->version, sizeof w->version) < sizeof w->version &&
	    vg_utf8_valid(w->version, strlen(w->version)) &&
	    w->pid >= 0 && w->started_at_us > 0 && w->last_heartbeat_us > 0 &&
	    (w->current_scan_id[0] == '\0' || vg_uuid_valid(w->current_scan_id));
}

enum vg_err
vg_store_worker_upsert(struct vg_store *s, const struct vg_worker *w)
{
	if (!worker_valid(w))
		return VG_ERR_INVALID;
	return s->ops->worker_upsert(s, w);
}

/* Newest heartbeat first; equal heartbeats by id, so the order is total. */
static int
worker_cmp(const void *a, const void *b)
{
	const struct vg_worker *x = a, *y = b;

	if (x->last_heartbeat_us != y->last_heartbeat_us)
		return x->last_heartbeat_us > y->last_heartbeat_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

enum vg_err
vg_store_worker_list(struct vg_store *s, struct vg_worker **out, size_t *count)
{
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if ((err = s->ops->worker_list(s, out, count)) != VG_OK)
		return err;
	if (*count > 1)
		qsort(*out, *count, sizeof **out, worker_cmp);
	return VG_OK;
}
