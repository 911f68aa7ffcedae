/* store_json_util.c - what the json backend's files share (store_json_util.h). */
#include "config.h"
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_util.h"

/* ---- several collections under one set of locks ---- */

static enum vg_err held_step(struct vg_jsondb_tx *tx, void *arg);

/* Take lock l (as the writer of h's key's records when exclusive and h
 * has a key), then go on in held_step. */
static enum vg_err
take(struct vg_store_json_held *h, const struct vg_store_json_lock *l)
{
	if (h->key && l->exclusive)
		return vg_jsondb_tx_keyed(h->db, l->coll, h->key, held_step, h);
	return vg_jsondb_tx(h->db, l->coll, l->exclusive, held_step, h);
}

/* Record the lock just taken; take the next one, or run fn under all. */
static enum vg_err
held_step(struct vg_jsondb_tx *tx, void *arg)
{
	struct vg_store_json_held *h = arg;
	enum vg_err err;

	h->tx[h->depth++] = tx;
	if (h->depth == h->n)
		err = h->fn(h, h->arg);
	else
		err = take(h, &h->locks[h->depth]);
	h->depth--;
	return err;
}

enum vg_err
vg_store_json_with_key_locks(struct vg_jsondb *db, const struct vg_store_json_lock *locks,
    size_t n, const char *key, enum vg_err (*fn)(struct vg_store_json_held *h, void *arg),
    void *arg)
{
	struct vg_store_json_held h = {db, locks, n, 0, {NULL}, fn, arg, key};
	size_t i;

	if (n == 0 || n > VG_STORE_JSON_MAX_LOCKS)
		return VG_ERR_INTERNAL;
	for (i = 1; i < n; i++)
		if (strcmp(locks[i - 1].coll, locks[i].coll) >= 0)
			return VG_ERR_INTERNAL;
	return take(&h, &locks[0]);
}

enum vg_err
vg_store_json_with_locks(struct vg_jsondb *db, const struct vg_store_json_lock *locks,
    size_t n, enum vg_err (*fn)(struct vg_store_json_held *h, void *arg), void *arg)
{
	return vg_store_json_with_key_locks(db, locks, n, NULL, fn, arg);
}

struct vg_jsondb_tx *
vg_store_json_tx_of(struct vg_store_json_held *h, const char *coll)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->locks[i].coll, coll) == 0)
			return h->tx[i];
	return NULL;
}

/* ---- fields ---- */

json_t *
vg_store_json_time(int64_t us)
{
	char at[VG_TIME_RFC3339_LEN];

	if (us == 0)
		return json_null();
	vg_time_format(us, at);
	return json_string(at);
}

json_t *
vg_store_json_str(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *
vg_store_json_opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

const char *
vg_store_json_peek(json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : "";
}

bool
vg_store_json_field_is(json_t *rec, const char *key, const char *want)
{
	return strcmp(vg_store_json_peek(rec, key), want) == 0;
}

enum vg_err
vg_store_json_get_time(json_t *rec, const char *key, int64_t *us)
{
	json_t *v = json_object_get(rec, key);

	*us = 0;
	if (!v || json_is_null(v))
		return VG_OK;
	return vg_time_parse(json_string_value(v), us) == VG_OK ? VG_OK : VG_ERR_IO;
}

enum vg_err
vg_store_json_get_str(json_t *rec, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(rec, key);

	dst[0] = '\0';
	if (!v || json_is_null(v))
		return VG_OK;
	if (!json_is_string(v))
		return VG_ERR_IO;
	return vg_str_copy(dst, size, json_string_value(v)) == VG_OK ? VG_OK : VG_ERR_IO;
}

enum vg_err
vg_store_json_get_int(json_t *rec, const char *key, int64_t *out)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_integer(v))
		return VG_ERR_IO;
	*out = json_integer_value(v);
	return VG_OK;
}

enum vg_err
vg_store_json_put_new(struct vg_jsondb_tx *tx, const char *id, json_t *rec, bool create)
{
	enum vg_err err = VG_ERR_NOMEM;

	if (rec)
		err = create ? vg_jsondb_tx_create(tx, id, rec) : vg_jsondb_tx_put(tx, id, rec);
	json_decref(rec);
	return err;
}

enum vg_err
vg_store_json_count(struct vg_jsondb *db, const char *coll, bool (*keep)(json_t *rec, void *arg),
    void *arg, int64_t *count)
{
	json_t *all = NULL;
	enum vg_err err = vg_jsondb_list(db, coll, keep, arg, &all);

	if (err == VG_OK)
		*count = (int64_t)json_array_size(all);
	json_decref(all);
	return err;
}

/* ---- newest-first order ---- */

int
vg_store_json_pos_cmp(int64_t at_a, const char *id_a, int64_t at_b, const char *id_b)
{
	if (at_a != at_b)
		return at_a > at_b ? -1 : 1;
	return -strcmp(id_a, id_b);
}

bool
vg_store_json_after(int64_t at, const char *id, const struct vg_store_pos *pos)
{
	return !pos || vg_store_json_pos_cmp(at, id, pos->at_us, pos->id) > 0;
}

int
vg_store_json_keyed_cmp(const void *a, const void *b)
{
	const struct vg_store_json_keyed *x = a, *y = b;

	return vg_store_json_pos_cmp(x->at_us, x->id, y->at_us, y->id);
}
