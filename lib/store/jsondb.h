/*
 * jsondb.h - records as human-readable JSON files, safe for many processes.
 *
 * A database is a directory; a collection is a subdirectory; a record is one
 * pretty-printed file <collection>/<id>.json holding a JSON object.
 *
 *   - Writes go to a temporary file in the same directory (named
 *     ".tmp-..."), are fsync'd, then rename()d over the record, and the
 *     directory is fsync'd: a reader sees the old record or the new one,
 *     never half of one, and a crash leaves at most a stray temporary file,
 *     which every reader ignores (so does anything else starting with '.').
 *   - Each collection has a lock file (".lock"); every operation holds a
 *     flock() on it, shared for reads and exclusive for writes, so a
 *     read-modify-write sequence run through vg_jsondb_tx() sees no
 *     interleaved writer from any process.  A writer of one key's records
 *     may instead hold it shared and that key's lock exclusive
 *     (vg_jsondb_tx_keyed), beside writers of other keys.
 *
 * Locks are per collection.  A sequence that must hold several at once
 * takes them in ascending order of collection name (never the reverse) so
 * two processes cannot deadlock; the same collection is never locked twice
 * by one process (flock locks are per open file, so that would deadlock).
 *
 * Collection names are [a-z0-9_]{1,64}; record ids are [A-Za-z0-9_.-]{1,128}
 * not starting with '.'; anything else is VG_ERR_INVALID, so an id taken
 * from a request can never name a path outside the collection.
 */
#ifndef VG_STORE_JSONDB_H
#define VG_STORE_JSONDB_H

#include <stdbool.h>
#include <sys/stat.h>
#include <jansson.h>
#include "core/err.h"

/* Largest record file read back (a bigger one is refused as corrupt). */
#define VG_JSONDB_MAX_RECORD_BYTES (64u * 1024 * 1024)

struct vg_jsondb;
/* A held collection lock: the handle record operations run under. */
struct vg_jsondb_tx;

/* Open (creating it when missing) the database rooted at dir.  *out is
 * freed with vg_jsondb_free. */
enum vg_err vg_jsondb_open(const char *dir, struct vg_jsondb **out);
void vg_jsondb_free(struct vg_jsondb *db);
/* The root directory (borrowed). */
const char *vg_jsondb_root(const struct vg_jsondb *db);

/* Whether name is an acceptable collection name / record id. */
bool vg_jsondb_collection_valid(const char *name);
bool vg_jsondb_id_valid(const char *id);

/*
 * Run fn(tx, arg) holding the collection's lock, exclusive when
 * exclusive is true (needed for put/create/del).  Returns fn's result, or
 * the error taking the lock failed with.  The collection directory is
 * created on first use.
 */
enum vg_err vg_jsondb_tx(struct vg_jsondb *db, const char *collection, bool exclusive,
    enum vg_err (*fn)(struct vg_jsondb_tx *tx, void *arg), void *arg);

/* How many key locks a collection has (vg_jsondb_tx_keyed). */
#define VG_JSONDB_KEY_LOCKS 64

/*
 * Run fn(tx, arg) as a writer of the records of one key (a scan's, say):
 * holding the collection's lock shared and the key's lock exclusive.
 * Writers of different keys then run side by side; a whole-collection
 * exclusive vg_jsondb_tx waits for them all (and they for it), and a
 * shared one runs beside them, seeing each record whole, old or new.
 * The key's lock is one of VG_JSONDB_KEY_LOCKS lock files (".lock-NN",
 * by a hash of the key), so two keys may share one and the files stay
 * few.  put/create/del are allowed; fn must write only records of its
 * key, since a writer of another key does not wait for it.  key must be
 * a valid record id (VG_ERR_INVALID otherwise).
 */
enum vg_err vg_jsondb_tx_keyed(struct vg_jsondb *db, const char *collection, const char *key,
    enum vg_err (*fn)(struct vg_jsondb_tx *tx, void *arg), void *arg);

/* ---- under a held lock ---- */
/* *out is a new reference to the record; VG_ERR_NOT_FOUND when absent. */
enum vg_err vg_jsondb_tx_get(struct vg_jsondb_tx *tx, const char *id, json_t **out);
/* Write rec (an object; borrowed) as record id, replacing any old one. */
enum vg_err vg_jsondb_tx_put(struct vg_jsondb_tx *tx, const char *id, json_t *rec);
/* Like put, but VG_ERR_CONFLICT when the record already exists. */
enum vg_err vg_jsondb_tx_create(struct vg_jsondb_tx *tx, const char *id, json_t *rec);
/* Remove record id; VG_ERR_NOT_FOUND when absent. */
enum vg_err vg_jsondb_tx_del(struct vg_jsondb_tx *tx, const char *id);
/*
 * Every record, in no particular order: *out is a new JSON array.  When
 * keep is not NULL only records for which keep(rec, arg) is true are
 * included.  A record file that does not parse is reported (logged with
 * its name) as VG_ERR_IO rather than silently skipped.
 */
enum vg_err vg_jsondb_tx_list(struct vg_jsondb_tx *tx,
    bool (*keep)(json_t *rec, void *arg), void *arg, json_t **out);

/*
 * Like vg_jsondb_tx_get, and *fd (>= 0, close-on-exec, the caller's to
 * close) is the record file that was read, left open: its fstat() names
 * the record's version, since a write replaces the file (rename) and
 * never rewrites one in place, and an open file's inode number cannot
 * be handed to another file.  *fd is -1 on failure.
 */
enum vg_err vg_jsondb_tx_get_open(struct vg_jsondb_tx *tx, const char *id, json_t **out,
    int *fd);
/*
 * The ids of the records whose id starts with prefix ("" for all), in no
 * particular order, read from the names alone (no record is parsed): *out
 * is a new JSON array of strings.
 */
enum vg_err vg_jsondb_tx_ids(struct vg_jsondb_tx *tx, const char *prefix, json_t **out);

/*
 * stat() of record id of collection without taking any lock (a cache's
 * check that a record it read is still the current one: compare with
 * the fstat() of the file vg_jsondb_tx_get_open left open).
 * VG_ERR_NOT_FOUND when the record (or the collection) is absent.
 */
enum vg_err vg_jsondb_stat(struct vg_jsondb *db, const char *collection, const char *id,
    struct stat *st);

/* ---- one-shot forms: each takes and releases the lock itself ---- */
enum vg_err vg_jsondb_get(struct vg_jsondb *db, const char *collection, const char *id,
    json_t **out);
enum vg_err vg_jsondb_put(struct vg_jsondb *db, const char *collection, const char *id,
    json_t *rec);
enum vg_err vg_jsondb_create(struct vg_jsondb *db, const char *collection, const char *id,
    json_t *rec);
enum vg_err vg_jsondb_del(struct vg_jsondb *db, const char *collection, const char *id);
enum vg_err vg_jsondb_list(struct vg_jsondb *db, const char *collection,
    bool (*keep)(json_t *rec, void *arg), void *arg, json_t **out);

#endif
