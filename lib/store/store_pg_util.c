/* store_pg_util.c - what the postgres backend's files share (store_pg_util.h). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "store/store_pg_util.h"

const char *
vg_store_pg_num(struct vg_store_pg_num *n, int64_t v)
{
	snprintf(n->s, sizeof n->s, "%lld", (long long)v);
	return n->s;
}

enum vg_err
vg_store_pg_cell(const PGresult *res, int row, int col, char *dst, size_t size)
{
	const char *v = vg_pg_text(res, row, col);

	return vg_str_copy(dst, size, v ? v : "") == VG_OK ? VG_OK : VG_ERR_INTERNAL;
}

enum vg_err
vg_store_pg_exec_one(struct vg_pg *db, const char *sql, int n, const char *const *params,
    PGresult **out)
{
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(db, sql, n, params, &res);

	if (err == VG_OK && PQntuples(res) == 0 &&
	    (PQresultStatus(res) == PGRES_TUPLES_OK || strcmp(PQcmdTuples(res), "0") == 0))
		err = VG_ERR_NOT_FOUND;
	if (err == VG_OK && out) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return err;
}

enum vg_err
vg_store_pg_rows(struct vg_pg *db, const char *sql, int nparams, const char *const *params,
    size_t size, vg_store_pg_row_fn read_row, void (*clear)(void *item), void **out,
    size_t *count)
{
	PGresult *res = NULL;
	char *items = NULL;
	enum vg_err err;
	int i = 0, rows;

	if ((err = vg_pg_exec(db, sql, nparams, params, &res)) != VG_OK)
		goto out;
	rows = PQntuples(res);
	err = VG_ERR_NOMEM;
	if (!(items = calloc((size_t)rows + 1, size)))
		goto out;
	for (i = 0; i < rows; i++)
		if ((err = read_row(res, i, items + (size_t)i * size)) != VG_OK)
			goto out;
	*out = items;
	*count = (size_t)rows;
	items = NULL;
	err = VG_OK;
out:
	if (items && clear)
		while (i-- > 0)
			clear(items + (size_t)i * size);
	free(items);
	PQclear(res);
	return err;
}

enum vg_err
vg_store_pg_list_page(struct vg_pg *db, const char *first, const char *after, const char *key,
    const struct vg_store_pos *pos, int n, size_t size, vg_store_pg_row_fn read_row,
    void (*clear)(void *item), void **out, size_t *count)
{
	struct vg_store_pg_num lim, at;
	const char *params[4];
	int np = 0;

	params[np++] = vg_store_pg_num(&lim, n);
	if (key)
		params[np++] = key;
	if (pos) {
		params[np++] = vg_store_pg_num(&at, pos->at_us);
		params[np++] = pos->id;
	}
	return vg_store_pg_rows(db, pos ? after : first, np, params, size, read_row, clear, out,
	    count);
}
