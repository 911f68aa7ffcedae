/*
 * test_pg.c - lib/store/pg.c's prepared statements, against a real
 * Postgres (pg-postgres.e2e): which statements a session prepares, and
 * that one the server forgot, or whose table changed under it, still
 * runs.  Without VEGA_TEST_DATABASE_URL (a plain `make check` of the unit
 * tests) there is nothing to run against: a TAP skip.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store/pg.h"
#include "store_backend.h"
#include "vt.h"

/* Whether the session holds sql as a prepared statement (the server's
 * own list of them). */
static bool
prepared(struct vg_pg *db, const char *sql)
{
	static const char q[] = "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1";
	const char *params[] = {sql};
	PGresult *res = NULL;
	bool yes = false;

	if (vg_pg_exec(db, q, 1, params, &res) == VG_OK)
		yes = vg_pg_i64(res, 0, 0, 0) > 0;
	PQclear(res);
	return yes;
}

/* Run sql with nparams (0 or 1) parameters, param the one (NULL for SQL
 * NULL); its first cell as a number (-1 on error, -2 for a NULL). */
static int64_t
run(struct vg_pg *db, const char *sql, int nparams, const char *param, enum vg_err *err)
{
	const char *params[] = {param};
	PGresult *res = NULL;
	int64_t v = -1;

	*err = vg_pg_exec(db, sql, nparams, params, &res);
	if (*err == VG_OK)
		v = PQntuples(res) ? vg_pg_i64(res, 0, 0, -2) : -1;
	PQclear(res);
	return v;
}

/* run with one parameter. */
static int64_t
one(struct vg_pg *db, const char *sql, const char *param, enum vg_err *err)
{
	return run(db, sql, 1, param, err);
}

/* Which statements are prepared: plannable ones, unless they test a
 * parameter for NULL (their plan depends on which filters are set). */
static void
test_which(struct vg_pg *db)
{
	static const struct {
		const char *sql;
		int nparams;
		const char *param;
		bool prepared;
	} cases[] = {
		{"SELECT $1::int + 1", 1, "41", true},
		{"  select count(*) FROM pg_class WHERE relname IS NULL OR relname = $1", 1, "x",
		    true},
		{"WITH t AS (SELECT $1::int AS v) SELECT v FROM t", 1, "3", true},
		{"SELECT count(*) FROM pg_class WHERE ($1::text IS NULL OR relname = $1::text)", 1,
		    NULL, false},
		{"SELECT count(*) FROM pg_class WHERE (NULLIF($1, '') IS NULL OR relname = $1)", 1,
		    "", false},
		{"SELECT count(*) FROM pg_class WHERE relname = $1 OR $1 IS NULL", 1, "x", false},
		{"SELECT ($1::int) IS NULL", 1, "1", false},
		{"SHOW server_version_num", 0, NULL, false},
	};
	enum vg_err err;
	size_t i;
	int k;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (k = 0; k < 3; k++)
			run(db, cases[i].sql, cases[i].nparams, cases[i].param, &err);
		VT_EQ_INT(err, VG_OK, cases[i].sql);
		VT_EQ_INT(prepared(db, cases[i].sql), cases[i].prepared, cases[i].sql);
	}
}

/* The server forgets every prepared statement (as a pooler resetting a
 * session would): the next call prepares again and answers. */
static void
test_forgotten(struct vg_pg *db)
{
	static const char sql[] = "SELECT $1::int * 2";
	char msg[256] = "";
	enum vg_err err;

	VT_EQ_INT(one(db, sql, "21", &err), 42, "prepared and run");
	VT_OK(prepared(db, sql), "held by the session");
	VT_EQ_INT(vg_pg_exec_script(db, "DEALLOCATE ALL", msg, sizeof msg), VG_OK, "forgotten");
	VT_OK(!prepared(db, sql), "no longer held");
	VT_EQ_INT(one(db, sql, "5", &err), 10, "runs again outside a transaction");
	VT_EQ_INT(err, VG_OK, "without an error");
	VT_OK(prepared(db, sql), "prepared again");

	/* Inside a transaction the failure aborts it; the statement is
	 * prepared again for the next one. */
	VT_EQ_INT(vg_pg_exec_script(db, "DEALLOCATE ALL", msg, sizeof msg), VG_OK, "forgotten");
	VT_EQ_INT(vg_pg_tx_begin(db), VG_OK, "begin");
	one(db, sql, "1", &err);
	VT_OK(err != VG_OK, "fails inside the transaction");
	vg_pg_tx_rollback(db);
	VT_EQ_INT(one(db, sql, "7", &err), 14, "runs after the rollback");
}

/* A table changes under a prepared statement that returns all its
 * columns (a migration while programs run): it answers with the new
 * shape. */
static void
test_table_changed(struct vg_pg *db)
{
	static const char sql[] = "SELECT * FROM pg_test_shape WHERE a = $1::int";
	PGresult *res = NULL;
	const char *params[] = {"1"};
	char msg[256] = "";

	VT_EQ_INT(vg_pg_exec_script(db, "DROP TABLE IF EXISTS pg_test_shape;"
	    " CREATE TABLE pg_test_shape (a int); INSERT INTO pg_test_shape VALUES (1)", msg,
	    sizeof msg), VG_OK, "a table");
	VT_EQ_INT(vg_pg_exec(db, sql, 1, params, &res), VG_OK, "before");
	VT_EQ_INT(res ? PQnfields(res) : -1, 1, "one column");
	PQclear(res);
	res = NULL;
	VT_EQ_INT(vg_pg_exec_script(db, "ALTER TABLE pg_test_shape ADD COLUMN b int DEFAULT 7",
	    msg, sizeof msg), VG_OK, "a column more");
	VT_EQ_INT(vg_pg_exec(db, sql, 1, params, &res), VG_OK, "after");
	VT_EQ_INT(res ? PQnfields(res) : -1, 2, "two columns");
	VT_EQ_INT(res ? vg_pg_i64(res, 0, 1, -1) : -1, 7, "the new column's value");
	PQclear(res);
	vg_pg_exec_script(db, "DROP TABLE pg_test_shape", msg, sizeof msg);
}

/* A new connection has no prepared statements: the session prepares
 * them again. */
static void
test_reconnect(struct vg_pg *db)
{
	static const char sql[] = "SELECT $1::int - 1";
	enum vg_err err;

	VT_EQ_INT(one(db, sql, "10", &err), 9, "before");
	vg_pg_disconnect(db);
	VT_EQ_INT(one(db, sql, "10", &err), 9, "on a new connection");
	VT_OK(prepared(db, sql), "prepared on it");
}

int
main(void)
{
	char tmp[] = "/tmp/vega-test-pg.XXXXXX";
	struct vg_pg *db = vg_pg_default();

	if (!getenv("VEGA_TEST_DATABASE_URL") || !*getenv("VEGA_TEST_DATABASE_URL")) {
		printf("1..0 # SKIP needs Postgres (pg-postgres.e2e)\n");
		return 0;
	}
	setenv("VEGA_TEST_BACKEND", "postgres", 1);
	store_backend_setup(tmp, sizeof tmp);
	test_which(db);
	test_forgotten(db);
	test_table_changed(db);
	test_reconnect(db);
	vg_pg_disconnect(db);
	rmdir(tmp);
	return vt_done();
}
