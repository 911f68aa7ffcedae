/*
 * store_pg_util.h - what the postgres backend's files share (private to
 * lib/store): how times cross the wire, numbers as parameters, reading
 * cells, and statements that must touch a row.
 *
 * Times cross as integer microseconds since the epoch, converted by the
 * SQL itself (US_TO_TS / TS_TO_US), so no precision is lost and the C
 * side formats them exactly as the json backend does.  Values reach the
 * server only as parameters (pg.h), never inside the SQL text.
 */
#ifndef VG_STORE_STORE_PG_UTIL_H
#define VG_STORE_STORE_PG_UTIL_H

#include "store/store_impl.h"

/* SQL of a timestamptz from parameter p (microseconds), and of the
 * microseconds of timestamptz column c. */
#define US_TO_TS(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"
#define TS_TO_US(c) "(extract(epoch from " c ") * 1000000)::bigint"
/* A time parameter that may be "0" for NULL. */
#define US_TO_TS_NULL(p) "CASE WHEN (" p ")::bigint = 0 THEN NULL ELSE " US_TO_TS(p) " END"

/* Room for the decimal text of a number, for a parameter. */
struct vg_store_pg_num {
	char s[24];
};

/* Write v in decimal into n; returns n->s (it lives as long as n). */
const char *vg_store_pg_num(struct vg_store_pg_num *n, int64_t v);

/* Copy the text cell (row, col) of res into the fixed field dst of size
 * bytes; SQL NULL gives "".  VG_ERR_INTERNAL when it does not fit. */
enum vg_err vg_store_pg_cell(const PGresult *res, int row, int col, char *dst, size_t size);

/*
 * Run sql (vg_pg_exec); VG_ERR_NOT_FOUND when it touched or returned no
 * row.  On VG_OK, *out (when out is not NULL) is the result, PQclear'd
 * by the caller; otherwise nothing is handed out.
 */
enum vg_err vg_store_pg_exec_one(struct vg_pg *db, const char *sql, int n,
    const char *const *params, PGresult **out);

/* Reads row `row` of a result into one item of a list. */
typedef enum vg_err (*vg_store_pg_row_fn)(const PGresult *res, int row, void *item);

/*
 * Run sql and read every row of its answer into a new array: *out gets a
 * calloc'd array of *count items of size bytes each, read by read_row,
 * freed by the caller with free() (after clear on each item when the
 * items own memory).  On failure nothing is handed out and what the rows
 * already read own is released with clear (NULL: they own nothing).
 */
enum vg_err vg_store_pg_rows(struct vg_pg *db, const char *sql, int nparams,
    const char *const *params, size_t size, vg_store_pg_row_fn read_row,
    void (*clear)(void *item), void **out, size_t *count);

/*
 * One page of a newest-first list (vg_store_pg_rows).  first and after
 * are the statements without and with a position.  Both take $1 the
 * limit n; when key is not NULL (the parent's id), $2 the key; after also
 * takes the time and then the id of pos (as $3 and $4 with a key, $2 and
 * $3 without).
 */
enum vg_err vg_store_pg_list_page(struct vg_pg *db, const char *first, const char *after,
    const char *key, const struct vg_store_pos *pos, int n, size_t size,
    vg_store_pg_row_fn read_row, void (*clear)(void *item), void **out, size_t *count);

/*
 * Rows that statements of more than one family read (a user in the
 * bearer check, and again in a repository scope read): the columns, and
 * the decoders reading them from column col on.
 */
/* The user columns, qualified by prefix p ("" or "u.") for joins. */
#define USER_COLS_P(p) p "id, " p "email, " p "display_name, " p "groups::text, " p "disabled, " \
	p "password_hash, " p "cognito_sub, " TS_TO_US(p "created_at") ", " \
	TS_TO_US(p "updated_at") ", " TS_TO_US(p "last_login_at") ", " \
	TS_TO_US(p "password_changed_at")
#define USER_COLS USER_COLS_P("")
#define USER_NCOLS 11
/* A refresh family, as table alias f. */
#define FAMILY_COLS "f.id, f.user_id, " TS_TO_US("f.created_at") ", " TS_TO_US("f.expires_at") \
	", " TS_TO_US("f.revoked_at") ", f.revoked_reason, f.client_ip, f.user_agent"
#define FAMILY_NCOLS 8

enum vg_err vg_store_pg_user_at(const PGresult *res, int row, int col, struct vg_user *u);
enum vg_err vg_store_pg_family_at(const PGresult *res, int row, int col,
    struct vg_refresh_family *f);

#endif
