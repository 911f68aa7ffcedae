/*
 * store_impl.h - what a store backend implements (private to lib/store).
 *
 * store.c validates arguments, fills defaults (ids, times), decodes and
 * encodes cursors, and then calls the backend through its const table of
 * function pointers, so both backends see the same well-formed input and
 * their answers can be compared by the contract suite.
 *
 * Adding an entity: a collection name and to/from-JSON functions in
 * store_json.c, a table and a few SQL constants in store_pg.c, one slot
 * per operation here, and the validating wrapper in store.c.
 */
#ifndef VG_STORE_STORE_IMPL_H
#define VG_STORE_STORE_IMPL_H

#include "store/jsondb.h"
#include "store/pg.h"
#include "store/store.h"

/* A keyset position in a newest-first list: the sort time and the id that
 * breaks ties.  Opaque to clients (see vg_store_cursor_encode). */
struct vg_store_pos {
	int64_t at_us;
	char id[VG_UUID_LEN + 1];
};

struct vg_store_ops {
	const char *name;
	enum vg_err (*open)(struct vg_store *s);
	void (*close)(struct vg_store *s);
	enum vg_err (*ping)(struct vg_store *s);
	enum vg_err (*schema_current)(struct vg_store *s, bool *current, char *detail,
	    size_t detail_len);
	/* ev has its id and at_us set and has been validated. */
	enum vg_err (*audit_append)(struct vg_store *s, const struct vg_audit_event *ev);
	/* Up to n items strictly after pos (NULL: from the newest), newest
	 * first; *items is a new array of the objects store.h describes. */
	enum vg_err (*audit_list)(struct vg_store *s, const struct vg_store_pos *pos, int n,
	    json_t **items);
	enum vg_err (*worker_upsert)(struct vg_store *s, const struct vg_worker *w);
	/* Every worker, in any order (store.c sorts). */
	enum vg_err (*worker_list)(struct vg_store *s, struct vg_worker **out, size_t *count);
};

struct vg_store {
	const struct vg_store_ops *ops;
	struct vg_jsondb *jdb;   /* json backend */
	struct vg_pg *pg;        /* postgres backend (the process's connection) */
};

extern const struct vg_store_ops vg_store_json_ops;
extern const struct vg_store_ops vg_store_pg_ops;

/* Cursor text <-> position.  encode gives a malloc'd string; decode
 * refuses anything it did not produce with VG_ERR_INVALID. */
char *vg_store_cursor_encode(const struct vg_store_pos *pos);
enum vg_err vg_store_cursor_decode(const char *cursor, struct vg_store_pos *pos);

/* The audit event as the object audit_list returns (new reference). */
json_t *vg_store_audit_json(const struct vg_audit_event *ev);

/* Insert one audit row on db (inside the caller's transaction, if any);
 * shared by the postgres backend and the migration runner. */
enum vg_err vg_store_pg_audit_insert(struct vg_pg *db, const struct vg_audit_event *ev);

#endif
