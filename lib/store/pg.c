/* pg.c - the process's Postgres connection, statements and transactions. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "store/pg.h"

struct vg_pg {
	PGconn *conn;     /* NULL when not connected */
	pid_t pid;        /* the process that opened conn */
	bool in_tx;       /* between a successful BEGIN and COMMIT/ROLLBACK */
	bool pinned;      /* session state matters: never reconnect silently */
};

/* The one connection of this process (DESIGN.md section 9: a deliberate
 * cache that survives FastCGI requests). */
static struct vg_pg the_db = {NULL, 0, false, false};

/* SQLSTATE (or SQLSTATE class) to error, most specific first. */
static const struct {
	const char *prefix;
	enum vg_err err;
} sqlstate_map[] = {
	{"23505", VG_ERR_CONFLICT},     /* unique_violation */
	{"23P01", VG_ERR_CONFLICT},     /* exclusion_violation */
	{"23503", VG_ERR_CONFLICT},     /* foreign_key_violation */
	{"23502", VG_ERR_INVALID},      /* not_null_violation */
	{"23514", VG_ERR_INVALID},      /* check_violation */
	{"22", VG_ERR_INVALID},         /* data exceptions: bad uuid, out of range */
	{"40001", VG_ERR_UNAVAILABLE},  /* serialization_failure: retry later */
	{"40P01", VG_ERR_UNAVAILABLE},  /* deadlock_detected */
	{"08", VG_ERR_UNAVAILABLE},     /* connection exceptions */
	{"53", VG_ERR_UNAVAILABLE},     /* insufficient resources, too many connections */
	{"57P01", VG_ERR_UNAVAILABLE},  /* admin_shutdown */
	{"57P02", VG_ERR_UNAVAILABLE},  /* crash_shutdown */
	{"57P03", VG_ERR_UNAVAILABLE},  /* cannot_connect_now (starting up) */
	{"57014", VG_ERR_UNAVAILABLE},  /* query_canceled (statement timeout) */
	{"55P03", VG_ERR_UNAVAILABLE},  /* lock_not_available */
};

enum vg_err
vg_pg_err_from_sqlstate(const char *sqlstate)
{
	size_t i;

	if (!sqlstate || !*sqlstate)
		return VG_ERR_INTERNAL;
	for (i = 0; i < sizeof sqlstate_map / sizeof sqlstate_map[0]; i++)
		if (vg_str_has_prefix(sqlstate, sqlstate_map[i].prefix))
			return sqlstate_map[i].err;
	return VG_ERR_INTERNAL;
}

struct vg_pg *
vg_pg_default(void)
{
	return &the_db;
}

/* Server notices ("already exists, skipping") are not errors: keep them
 * off stderr unless debugging. */
static void
notice_to_log(void *arg, const char *message)
{
	char line[256];
	char *nl;

	(void)arg;
	vg_str_copy(line, sizeof line, message);
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	vg_log(VG_LOG_DEBUG, "db_notice", "message", line, NULL);
}

/*
 * Forget a connection inherited across fork() without disturbing the
 * parent, which still uses the same socket: point the descriptor at
 * /dev/null first, so the goodbye PQfinish sends goes nowhere.
 */
static void
drop_inherited(struct vg_pg *db)
{
	int sock = PQsocket(db->conn);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (sock >= 0 && devnull >= 0)
		dup2(devnull, sock);
	if (devnull >= 0)
		close(devnull);
	PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = false;
	db->pinned = false;
}

/* Close the connection after it failed; session state is gone with it. */
static void
drop(struct vg_pg *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
}

/* One connection attempt, bounded by the connect timeout. */
static enum vg_err
open_conn(struct vg_pg *db)
{
	char timeout[24], user_timeout[32];
	/* Keepalives and tcp_user_timeout bound how long a statement can hang
	 * on a TCP connection whose server vanished (they do nothing on a Unix
	 * socket, where the kernel reports the loss at once). */
	const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name",
	    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", NULL};
	const char *vals[] = {vg_cfg_str(VG_SET_DATABASE_URL), timeout, "vega",
	    "1", "30", "10", "3", user_timeout, NULL};
	PGconn *c;
	char why[256];
	char *nl;
	int64_t secs = vg_cfg_int(VG_SET_DB_CONNECT_TIMEOUT_SECONDS);

	snprintf(timeout, sizeof timeout, "%lld", (long long)secs);
	snprintf(user_timeout, sizeof user_timeout, "%lld", (long long)(secs * 1000 + 30000));
	/* expand_dbname: the setting may be a URI or a key=value string; the
	 * keys after it (our timeouts) take precedence over its own. */
	c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return VG_ERR_NOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		vg_str_copy(why, sizeof why, PQerrorMessage(c));
		if ((nl = strchr(why, '\n')) != NULL)
			*nl = '\0';
		vg_log(VG_LOG_WARN, "db_connect_failed", "error", why, NULL);
		PQfinish(c);
		return VG_ERR_UNAVAILABLE;
	}
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	db->conn = c;
	db->pid = getpid();
	return VG_OK;
}

/*
 * Make sure db has a usable connection.  A connection that went bad is
 * replaced, unless a transaction or pinned session depended on it: then
 * the caller must learn that its session is gone (VG_ERR_UNAVAILABLE).
 */
static enum vg_err
ensure(struct vg_pg *db)
{
	if (db->conn && db->pid != getpid())
		drop_inherited(db);
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		return VG_OK;
	if (db->conn)
		drop(db);
	if (db->in_tx || db->pinned)
		return VG_ERR_UNAVAILABLE;
	return open_conn(db);
}

enum vg_err
vg_pg_connect(struct vg_pg *db)
{
	return ensure(db);
}

void
vg_pg_disconnect(struct vg_pg *db)
{
	if (db->conn && db->pid != getpid())
		drop_inherited(db);
	drop(db);
	db->in_tx = false;
	db->pinned = false;
}

void
vg_pg_pin(struct vg_pg *db, bool pinned)
{
	db->pinned = pinned;
}

/* The error a failed result stands for, logging what a bug looks like. */
static enum vg_err
result_error(struct vg_pg *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	enum vg_err err;

	if (PQstatus(db->conn) != CONNECTION_OK)
		return VG_ERR_UNAVAILABLE;
	err = vg_pg_err_from_sqlstate(state);
	/* Constraint and data errors are the caller's to report; anything
	 * unmapped is a bug worth a log line (the message names no values we
	 * pass, only the statement's problem). */
	if (err == VG_ERR_INTERNAL)
		vg_log(VG_LOG_ERROR, "db_error", "sqlstate", state ? state : "",
		    "message", primary ? primary : "", NULL);
	return err;
}

/* Run sql once on the current connection. */
static enum vg_err
exec_once(struct vg_pg *db, const char *sql, int nparams, const char *const *params,
    PGresult **out)
{
	PGresult *res;
	ExecStatusType st;
	enum vg_err err;

	res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*out = res;
		return VG_OK;
	}
	err = result_error(db, res);
	PQclear(res);
	return err;
}

enum vg_err
vg_pg_exec(struct vg_pg *db, const char *sql, int nparams, const char *const *params,
    PGresult **out)
{
	PGresult *res = NULL;
	enum vg_err err;
	bool may_retry;

	if (out)
		*out = NULL;
	if ((err = ensure(db)) != VG_OK)
		goto out;
	/* Replaying on a new session is only sound when nothing of the old
	 * one (transaction, pinned locks) is lost with it. */
	may_retry = !db->in_tx && !db->pinned &&
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	err = exec_once(db, sql, nparams, params, &res);
	if (err == VG_ERR_UNAVAILABLE && PQstatus(db->conn) != CONNECTION_OK) {
		drop(db);
		if (may_retry) {
			vg_log(VG_LOG_INFO, "db_reconnect", NULL);
			if ((err = ensure(db)) != VG_OK)
				goto out;
			err = exec_once(db, sql, nparams, params, &res);
			if (err == VG_ERR_UNAVAILABLE && PQstatus(db->conn) != CONNECTION_OK)
				drop(db);
		}
	}
out:
	if (err == VG_OK && out)
		*out = res;
	else
		PQclear(res);
	return err;
}

enum vg_err
vg_pg_exec_script(struct vg_pg *db, const char *script, char *msg, size_t msglen)
{
	PGresult *res = NULL;
	enum vg_err err;
	const char *state, *primary, *pos;

	if ((err = ensure(db)) != VG_OK) {
		snprintf(msg, msglen, "database unavailable");
		goto out;
	}
	res = PQexec(db->conn, script);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_EMPTY_QUERY)) {
		err = VG_OK;
		goto out;
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	snprintf(msg, msglen, "%s (SQLSTATE %s%s%s)",
	    primary ? primary : "connection lost", state ? state : "none",
	    pos ? ", at character " : "", pos ? pos : "");
	err = PQstatus(db->conn) != CONNECTION_OK ? VG_ERR_UNAVAILABLE
	    : vg_pg_err_from_sqlstate(state);
	if (err == VG_ERR_UNAVAILABLE)
		drop(db);
out:
	PQclear(res);
	return err;
}

enum vg_err
vg_pg_tx_begin(struct vg_pg *db)
{
	enum vg_err err;
	PGresult *res = NULL;

	if (db->in_tx)
		return VG_ERR_INTERNAL;
	if ((err = vg_pg_exec(db, "BEGIN", 0, NULL, &res)) == VG_OK)
		db->in_tx = true;
	PQclear(res);
	return err;
}

enum vg_err
vg_pg_tx_commit(struct vg_pg *db)
{
	PGresult *res = NULL;
	enum vg_err err;

	if (!db->in_tx)
		return VG_ERR_INTERNAL;
	err = vg_pg_exec(db, "COMMIT", 0, NULL, &res);
	/* A transaction that saw an error "commits" as ROLLBACK. */
	if (err == VG_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		vg_log(VG_LOG_ERROR, "db_commit_rolled_back", NULL);
		err = VG_ERR_INTERNAL;
	}
	db->in_tx = false;
	PQclear(res);
	return err;
}

void
vg_pg_tx_rollback(struct vg_pg *db)
{
	PGresult *res = NULL;

	if (db->conn && db->pid == getpid() && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		/* exec_once, not vg_pg_exec: never reconnect for a rollback. */
		if (exec_once(db, "ROLLBACK", 0, NULL, &res) == VG_OK)
			PQclear(res);
		else if (PQstatus(db->conn) != CONNECTION_OK)
			drop(db);
	}
	db->in_tx = false;
}

enum vg_err
vg_pg_tx(struct vg_pg *db, enum vg_err (*fn)(struct vg_pg *db, void *arg), void *arg)
{
	enum vg_err err;

	if ((err = vg_pg_tx_begin(db)) != VG_OK)
		return err;
	if ((err = fn(db, arg)) != VG_OK) {
		vg_pg_tx_rollback(db);
		return err;
	}
	return vg_pg_tx_commit(db);
}

const char *
vg_pg_text(const PGresult *res, int row, int col)
{
	if (col < 0 || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

int64_t
vg_pg_i64(const PGresult *res, int row, int col, int64_t def)
{
	const char *s = vg_pg_text(res, row, col);
	int64_t v;

	if (!s || vg_str_to_i64(s, INT64_MIN, INT64_MAX, &v) != VG_OK)
		return def;
	return v;
}
