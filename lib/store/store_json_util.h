/*
 * store_json_util.h - what the json backend's files share (private to
 * lib/store): changes that span several collections under all their
 * locks, the JSON form of times and texts, and the keyset order of
 * newest-first lists.
 *
 * Records keep times as RFC 3339 text (null for 0) and optional texts as
 * null when empty, so an operator can read the files; the readers here
 * turn them back and report a record that does not have that form as
 * VG_ERR_IO (a damaged or hand-edited file), never as bad input.
 */
#ifndef VG_STORE_STORE_JSON_UTIL_H
#define VG_STORE_STORE_JSON_UTIL_H

#include "store/store_impl.h"

/* ---- several collections under one set of locks ---- */

/* How many locks one vg_store_json_with_locks may hold. */
#define VG_STORE_JSON_MAX_LOCKS 8

/* One collection to lock, shared or exclusive. */
struct vg_store_json_lock {
	const char *coll;
	bool exclusive;
};

/* The locks held while fn runs: tx[i] is the transaction of locks[i]. */
struct vg_store_json_held {
	struct vg_jsondb *db;
	const struct vg_store_json_lock *locks;   /* ascending names */
	size_t n, depth;
	struct vg_jsondb_tx *tx[VG_STORE_JSON_MAX_LOCKS];
	enum vg_err (*fn)(struct vg_store_json_held *h, void *arg);
	void *arg;
	const char *key;    /* vg_store_json_with_key_locks: the key, else NULL */
};

/*
 * Run fn(h, arg) holding the locks of locks[0..n) (each shared or
 * exclusive as it says), taken in that order.  The names must ascend
 * (jsondb.h: the order that keeps two processes from deadlocking), or it
 * is a bug: VG_ERR_INTERNAL, as is n of 0 or above
 * VG_STORE_JSON_MAX_LOCKS.  Returns fn's result or the error of taking a
 * lock.
 */
enum vg_err vg_store_json_with_locks(struct vg_jsondb *db, const struct vg_store_json_lock *locks,
    size_t n, enum vg_err (*fn)(struct vg_store_json_held *h, void *arg), void *arg);

/*
 * vg_store_json_with_locks for a writer of one key's records (a scan's,
 * say): each exclusive lock is taken as the writer of key's records
 * (vg_jsondb_tx_keyed: the collection shared, the key exclusive), so
 * writers of other keys run beside it; shared locks are taken as such.
 * fn must write only key's records.
 */
enum vg_err vg_store_json_with_key_locks(struct vg_jsondb *db,
    const struct vg_store_json_lock *locks, size_t n, const char *key,
    enum vg_err (*fn)(struct vg_store_json_held *h, void *arg), void *arg);

/* The held transaction of collection coll (one of h's locks; NULL
 * otherwise). */
struct vg_jsondb_tx *vg_store_json_tx_of(struct vg_store_json_held *h, const char *coll);

/* ---- fields ---- */

/* A time member: RFC 3339 text, or null for 0 (new reference). */
json_t *vg_store_json_time(int64_t us);
/* A text member: null for "" (new reference). */
json_t *vg_store_json_str(const char *s);
/* A text member that may be absent: null for NULL (new reference). */
json_t *vg_store_json_opt_str(const char *s);
/* A string member of rec, "" when absent or not a string (borrowed). */
const char *vg_store_json_peek(json_t *rec, const char *key);
/* Whether the string member key of rec equals want. */
bool vg_store_json_field_is(json_t *rec, const char *key, const char *want);
/* Read a time member into *us (null or absent: 0); VG_ERR_IO when it is
 * not RFC 3339 text. */
enum vg_err vg_store_json_get_time(json_t *rec, const char *key, int64_t *us);
/* Copy a string member into the fixed field dst of size bytes (null or
 * absent: ""); VG_ERR_IO when it is not a string or does not fit. */
enum vg_err vg_store_json_get_str(json_t *rec, const char *key, char *dst, size_t size);
/* Read an integer member; VG_ERR_IO when it is not one. */
enum vg_err vg_store_json_get_int(json_t *rec, const char *key, int64_t *out);

/*
 * Write rec, a new record just built (NULL: out of memory, VG_ERR_NOMEM),
 * as record id under tx, with vg_jsondb_tx_create when create, else
 * vg_jsondb_tx_put; rec is released either way.
 */
enum vg_err vg_store_json_put_new(struct vg_jsondb_tx *tx, const char *id, json_t *rec,
    bool create);

/* How many records of collection coll keep() accepts (keep NULL: all). */
enum vg_err vg_store_json_count(struct vg_jsondb *db, const char *coll,
    bool (*keep)(json_t *rec, void *arg), void *arg, int64_t *count);

/* ---- newest-first order ---- */

/* Newest first by (created_at, id), ties by descending id: the order of
 * the pg backend's ORDER BY created_at DESC, id DESC.  <0 when a comes
 * first. */
int vg_store_json_pos_cmp(int64_t at_a, const char *id_a, int64_t at_b, const char *id_b);
/* Whether (at, id) comes strictly after pos in that order (pos NULL:
 * always). */
bool vg_store_json_after(int64_t at, const char *id, const struct vg_store_pos *pos);

/* A record with its sort key read once, to sort and page before the
 * whole record is decoded. */
struct vg_store_json_keyed {
	int64_t at_us;
	const char *id;
	json_t *rec;   /* borrowed from the listed array */
};

/* qsort comparator of vg_store_json_keyed in that order. */
int vg_store_json_keyed_cmp(const void *a, const void *b);

/* Remove the scans of a deleted repository with everything under them
 * (store_json_scans.c). */
enum vg_err vg_store_json_purge_scans(struct vg_jsondb *db, const char *repository_id);

#endif
