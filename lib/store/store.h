/*
 * store.h - the metadata store: one interface, two backends.
 *
 * VEGA_PERSISTENCE_BACKEND picks the backend when the store is opened:
 *   json      human-readable JSON files under VEGA_DATA_DIR/store, safe for
 *             several processes at once (file locks, write to a temporary
 *             file then rename, so nothing is ever half-written);
 *   postgres  VEGA_DATABASE_URL, one connection per process, re-established
 *             after a loss.
 * Callers never see which one they have.  Every entity is in both backends
 * and in the contract suite (tests/unit/test_store.c), which runs unchanged
 * against each.
 *
 * Errors: VG_ERR_UNAVAILABLE when the backend cannot be reached (the API
 * answers 503), VG_ERR_NOT_FOUND, VG_ERR_CONFLICT, VG_ERR_INVALID as usual.
 * Out-parameters that are allocated say so; free them with the matching
 * _free function.
 */
#ifndef VG_STORE_STORE_H
#define VG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "core/id.h"

struct vg_store;

/* Largest page a list call returns (limit is 1..VG_STORE_LIST_MAX). */
#define VG_STORE_LIST_MAX 1000

/* Open the backend chosen by the settings (vg_settings_load first).
 * Opening does not connect: a Postgres outage surfaces as
 * VG_ERR_UNAVAILABLE from the first call that needs the database.
 * *out is freed with vg_store_free. */
enum vg_err vg_store_open(struct vg_store **out);
void vg_store_free(struct vg_store *s);
/* "json" or "postgres". */
const char *vg_store_backend(const struct vg_store *s);

/* Readiness: VG_OK when the backend answers. */
enum vg_err vg_store_ping(struct vg_store *s);
/* Whether every migration in VEGA_MIGRATIONS_DIR is applied with an
 * unchanged checksum; detail says what is pending or changed.  The json
 * backend has no schema and is always current. */
enum vg_err vg_store_schema_current(struct vg_store *s, bool *current,
    char *detail, size_t detail_len);

/* ---- audit log (append-only) ---- */
struct vg_audit_event {
	char id[VG_UUID_LEN + 1];      /* set by append */
	int64_t at_us;                 /* set by append when 0 */
	const char *actor_id;          /* user id, or NULL for the system */
	const char *action;            /* "auth.login", "migrate.apply", ... */
	const char *target_type;       /* may be NULL */
	const char *target_id;         /* may be NULL */
	const char *request_id;        /* may be NULL */
	const char *client_ip;         /* may be NULL */
	json_t *details;               /* borrowed; may be NULL */
};
/* Append ev; fills ev->id and ev->at_us. */
enum vg_err vg_store_audit_append(struct vg_store *s, struct vg_audit_event *ev);
/* Newest first (ties by id).  *items is a new JSON array of objects (id,
 * at, actor_id, action, target_type, target_id, request_id, client_ip,
 * details); *next_cursor is malloc'd, NULL at the end.  cursor may be
 * NULL.  limit outside 1..VG_STORE_LIST_MAX, or a cursor this store did
 * not hand out, is VG_ERR_INVALID. */
enum vg_err vg_store_audit_list(struct vg_store *s, const char *cursor,
    int limit, json_t **items, char **next_cursor);

/* ---- worker registry ---- */
struct vg_worker {
	char id[VG_UUID_LEN + 1];
	char host[256];
	int64_t pid;
	char version[32];
	int64_t started_at_us;
	int64_t last_heartbeat_us;
	char state[16];                   /* "idle", "busy", "stopping", "stopped" */
	char current_scan_id[VG_UUID_LEN + 1];  /* "" when none */
};
/* Insert or update the worker row by id (a heartbeat). */
enum vg_err vg_store_worker_upsert(struct vg_store *s, const struct vg_worker *w);
/* All workers, newest heartbeat first; *out is malloc'd (free()). */
enum vg_err vg_store_worker_list(struct vg_store *s, struct vg_worker **out, size_t *count);

#endif
