/* store.c - backend choice, argument checks, cursors, shared shaping. */
#include "config.h"
#include <ctype.h>
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

/* ---- argument checks shared by the wrappers (store_impl.h) ---- */

bool
vg_store_text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n <= max && vg_utf8_valid(s, n);
}

bool
vg_store_required_ok(const char *s, size_t max)
{
	return s[0] != '\0' && vg_store_text_ok(s, max);
}

bool
vg_store_one_of(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

bool
vg_store_hex_ok(const char *h, size_t len)
{
	size_t i;

	for (i = 0; h && i < len; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return h && h[len] == '\0';
}

bool
vg_store_uuid_norm(const char *in, char out[VG_UUID_LEN + 1])
{
	size_t i;

	if (!in || !vg_uuid_valid(in))
		return false;
	for (i = 0; i < VG_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[VG_UUID_LEN] = '\0';
	return true;
}

bool
vg_store_opt_uuid_norm(char f[VG_UUID_LEN + 1])
{
	return f[0] == '\0' || vg_store_uuid_norm(f, f);
}

bool
vg_store_opt_text_ok(const char *v, size_t max)
{
	return !v || vg_store_text_ok(v, max);
}

bool
vg_store_opt_uuid_arg(const char *in, char buf[VG_UUID_LEN + 1], const char **out)
{
	*out = NULL;
	if (!in || !in[0])
		return true;
	if (!vg_store_uuid_norm(in, buf))
		return false;
	*out = buf;
	return true;
}

const char *
vg_store_null_if_empty(const char *v)
{
	return v && v[0] ? v : NULL;
}

int64_t
vg_store_now_or(int64_t us)
{
	return us ? us : vg_time_now_us();
}

/* ---- paging (store_impl.h) ---- */

enum vg_err
vg_store_page_begin(const char *cursor, int limit, struct vg_store_pos *pos, bool *has_pos)
{
	*has_pos = false;
	if (limit < 1 || limit > VG_STORE_LIST_MAX)
		return VG_ERR_INVALID;
	if (cursor) {
		if (vg_store_cursor_decode(cursor, pos) != VG_OK)
			return VG_ERR_INVALID;
		*has_pos = true;
	}
	return VG_OK;
}

/* Release items[from..to) (nothing when the items own nothing). */
static void
page_release(const struct vg_store_pager *pg, void *items, size_t from, size_t to)
{
	for (; pg->release && items && from < to; from++)
		pg->release((char *)items + from * pg->size);
}

enum vg_err
vg_store_page_end(const struct vg_store_pager *pg, void *items, size_t *count, int limit,
    char **next)
{
	struct vg_store_pos last;
	size_t all = *count;

	*next = NULL;
	if (*count <= (size_t)limit)
		return VG_OK;
	*count = (size_t)limit;
	page_release(pg, items, *count, all);   /* the look-ahead item */
	pg->get_pos((const char *)items + (*count - 1) * pg->size, &last);
	if ((*next = vg_store_cursor_encode(&last)))
		return VG_OK;
	page_release(pg, items, 0, *count);
	free(items);
	*count = 0;
	return VG_ERR_NOMEM;
}

/* ---- audit log ---- */


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

	if (!ev->action || !*ev->action || !vg_store_opt_text_ok(ev->action, 128) ||
	    (ev->actor_id && !vg_uuid_valid(ev->actor_id)) ||
	    !vg_store_opt_text_ok(ev->target_type, 64) || !vg_store_opt_text_ok(ev->target_id, 256) ||
	    !vg_store_opt_text_ok(ev->request_id, 128) || !vg_store_opt_text_ok(ev->client_ip, 64) ||
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
	bool has_pos;
	enum vg_err err;

	*items = NULL;
	*next_cursor = NULL;
	if ((err = vg_store_page_begin(cursor, limit, &pos, &has_pos)) != VG_OK)
		return err;
	if ((err = s->ops->audit_list(s, has_pos ? &pos : NULL, limit + 1, &arr)) != VG_OK)
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
	return vg_store_one_of(w->state, worker_states,
	    sizeof worker_states / sizeof worker_states[0]) && vg_uuid_valid(w->id) &&
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

enum vg_err
vg_store_object_dump(const json_t *obj, char *buf, size_t size)
{
	char *text;
	enum vg_err err;

	if (!json_is_object(obj))
		return VG_ERR_INVALID;
	if (!(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS)))
		return VG_ERR_NOMEM;
	err = strlen(text) < size ? vg_str_copy(buf, size, text) : VG_ERR_INVALID;
	free(text);
	return err;
}

enum vg_err
vg_store_object_text_canon(const char *in, char *buf, size_t size)
{
	json_t *v;
	enum vg_err err;

	if (!in)
		return VG_ERR_INVALID;
	if (!in[0])
		return vg_str_copy(buf, size, "{}");
	if (!(v = json_loads(in, JSON_REJECT_DUPLICATES, NULL)))
		return VG_ERR_INVALID;
	err = vg_store_object_dump(v, buf, size);   /* in is parsed: buf may be in */
	json_decref(v);
	return err;
}

enum vg_err
vg_store_object_text_norm(char *buf, size_t size)
{
	if (strnlen(buf, size) >= size)
		return VG_ERR_INVALID;
	return vg_store_object_text_canon(buf, buf, size);
}
