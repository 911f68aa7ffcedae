/* pg.c - each thread's Postgres session, statements and transactions. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "store/pg.h"

/* The most statements a session keeps prepared; any past them run
 * unprepared. */
#define STMT_MAX 256

/* A statement a session has seen, and its name on the connection. */
struct stmt {
	char *sql;          /* owned copy of the text */
	uint64_t hash;      /* of sql, to skip most comparisons */
	unsigned serial;    /* its name "vg_<serial>" on conn; 0: not prepared there */
};

/*
 * How a lost connection is replaced.  A session whose connection broke
 * (a server restart, a failover) is reconnected up to RECONNECT_TRIES
 * times, pausing reconnect_pause_ms before each attempt: a restart is over
 * in a second or so.  Once that fails the session counts as never
 * connected, and each later call makes one attempt, so an outage is
 * answered quickly.
 */
#define RECONNECT_TRIES 3
static const long reconnect_pause_ms[RECONNECT_TRIES] = {0, 150, 500};

/* How many times an idle connection's pending input is read when looking
 * whether the server left it (a last error, then the end of the stream). */
#define PROBE_READS 4

/* One thread's session: its connection and what depends on it. */
struct session {
	PGconn *conn;     /* NULL when not connected */
	pid_t pid;        /* the process that opened conn */
	bool in_tx;       /* between a successful BEGIN and COMMIT/ROLLBACK */
	bool pinned;      /* session state matters: never reconnect silently */
	bool doomed;      /* the server said it is ending the session (FATAL) */
	bool broken;      /* the last connection broke: reconnect with retries */
	bool down;        /* the last connection attempt failed */
	bool keyed;       /* registered to be closed when its thread ends */
	struct stmt *stmts;   /* STMT_MAX slots, allocated on first use */
	size_t nstmts;        /* slots in use */
	unsigned serial;      /* the last statement name handed out on conn */
};

/*
 * The process's handle.  It stands for the calling thread's session:
 * libpq runs one statement at a time on a connection, so two threads
 * (the runner and its heartbeat thread) must never share one.  The key
 * closes a thread's connection when the thread ends.
 */
struct vg_pg {
	pthread_once_t once;
	pthread_key_t key;
	bool key_ok;
};

static struct vg_pg the_db = {PTHREAD_ONCE_INIT, 0, false};

/* This thread's session (DESIGN.md section 9: a deliberate cache that
 * survives FastCGI requests). */
static _Thread_local struct session this_thread;

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

/* SQLSTATEs after which the server closes the session. */
static const char *const session_enders[] = {
	"08",      /* connection exceptions */
	"57P01",   /* admin_shutdown: a fast or smart stop, pg_terminate_backend */
	"57P02",   /* crash_shutdown */
};

/*
 * Statements that may be replayed on a new session after the connection
 * broke while they ran, because running them twice changes nothing: the
 * store's SELECTs only read (the one lock a SELECT takes, the migration's
 * advisory lock, belonged to the session that died), and BEGIN starts a
 * transaction whose later statements are never replayed.  Anything else
 * may have committed before the connection went: its caller decides
 * (lib/domain/scan_run.c looks whether an event landed before it appends
 * it again).
 */
static const char *const replayable[] = {"SELECT", "BEGIN"};

/* The statements worth preparing: those a plan is made for. */
static const char *const plannable[] = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE"};

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

/* Forget the statements S prepared, texts and all. */
static void
forget_statements(struct session *S)
{
	size_t i;

	for (i = 0; i < S->nstmts; i++)
		free(S->stmts[i].sql);
	free(S->stmts);
	S->stmts = NULL;
	S->nstmts = 0;
}

/* Close a thread's connection when the thread ends (the key's destructor). */
static void
session_end(void *arg)
{
	struct session *S = arg;

	if (S->conn && S->pid == getpid())
		PQfinish(S->conn);
	S->conn = NULL;
	forget_statements(S);
}

static void
make_key(void)
{
	the_db.key_ok = pthread_key_create(&the_db.key, session_end) == 0;
}

/* The calling thread's session; db is the process's one handle. */
static struct session *
session_of(struct vg_pg *db)
{
	(void)db;
	return &this_thread;
}

/* Sleep ms milliseconds (a reconnect's pause). */
static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Server notices ("already exists, skipping") are not errors: keep them
 * off stderr unless debugging.  A FATAL one is the server's last word on
 * a session it is ending (read while the connection was idle): the
 * session is doomed and is replaced before the next statement.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	struct session *S = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		S->doomed = true;
	vg_log(VG_LOG_DEBUG, "db_notice", "severity", sev ? sev : "", "message",
	    primary ? primary : "", NULL);
}

/*
 * Forget a connection inherited across fork() without disturbing the
 * parent, which still uses the same socket: point the descriptor at
 * /dev/null first, so the goodbye PQfinish sends goes nowhere.
 */
static void
drop_inherited(struct session *S)
{
	int sock = PQsocket(S->conn);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (sock >= 0 && devnull >= 0)
		dup2(devnull, sock);
	if (devnull >= 0)
		close(devnull);
	PQfinish(S->conn);
	S->conn = NULL;
	S->in_tx = false;
	S->pinned = false;
	S->doomed = false;
	S->broken = false;
}

/* Close the connection after it failed; session state is gone with it,
 * and the next connect may retry (a restart is usually brief). */
static void
drop(struct session *S)
{
	if (S->conn)
		PQfinish(S->conn);
	S->conn = NULL;
	S->doomed = false;
	S->broken = true;
}

/* Whether the connection is gone or the server said it is ending it. */
static bool
lost(const struct session *S)
{
	return !S->conn || S->doomed || PQstatus(S->conn) != CONNECTION_OK;
}

/*
 * Whether the server left this idle connection behind our back (a
 * restart, pg_terminate_backend): it then sent a last FATAL error and
 * closed the socket, both of which are waiting to be read.  Looking
 * before a statement is sent is what tells a statement that never reached
 * a server (safe to send on a new connection) from one that may have run.
 */
static bool
server_left(struct session *S)
{
	struct pollfd p;
	int i;

	p.fd = PQsocket(S->conn);
	p.events = POLLIN;
	if (p.fd < 0)
		return true;
	for (i = 0; i < PROBE_READS && !lost(S); i++) {
		p.revents = 0;
		if (poll(&p, 1, 0) <= 0)
			break;   /* nothing pending: the session is as we left it */
		if (!PQconsumeInput(S->conn))
			return true;   /* the end of the stream */
		(void)PQisBusy(S->conn);   /* parses it: a FATAL notice dooms S */
	}
	return lost(S);
}

/* One connection attempt, bounded by the connect timeout; a failure is
 * logged as a warning when last, else for debugging. */
static enum vg_err
open_conn(struct session *S, bool last)
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
	size_t i;
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
		vg_log(last ? VG_LOG_WARN : VG_LOG_DEBUG, "db_connect_failed", "error", why, NULL);
		PQfinish(c);
		return VG_ERR_UNAVAILABLE;
	}
	PQsetNoticeReceiver(c, notice_receiver, S);
	S->conn = c;
	S->pid = getpid();
	S->doomed = false;
	/* prepared statements belong to a connection: none on this one yet */
	for (i = 0; i < S->nstmts; i++)
		S->stmts[i].serial = 0;
	S->serial = 0;
	pthread_once(&the_db.once, make_key);
	if (the_db.key_ok && !S->keyed && pthread_setspecific(the_db.key, S) == 0)
		S->keyed = true;
	return VG_OK;
}

/*
 * Connect S: after a broken connection up to RECONNECT_TRIES attempts
 * with short pauses between them, else one.
 */
static enum vg_err
reconnect(struct session *S)
{
	int tries = S->broken ? RECONNECT_TRIES : 1, i;
	enum vg_err err = VG_ERR_UNAVAILABLE;

	for (i = 0; i < tries; i++) {
		if (reconnect_pause_ms[i])
			pause_ms(reconnect_pause_ms[i]);
		if ((err = open_conn(S, i + 1 == tries)) != VG_ERR_UNAVAILABLE)
			break;
	}
	if (err == VG_OK && (S->broken || S->down))
		vg_log(VG_LOG_INFO, "db_reconnected", NULL);
	/* Connected, or an outage that later calls meet with one attempt. */
	S->down = err != VG_OK;
	S->broken = false;
	return err;
}

/*
 * Make sure S has a usable connection.  A connection that went bad, or
 * that the server left while it was idle, is replaced (no statement of
 * the caller's reached the server on it), unless a transaction or pinned
 * session depended on it: then the caller must learn that its session is
 * gone (VG_ERR_UNAVAILABLE).
 */
static enum vg_err
ensure(struct session *S)
{
	if (S->conn && S->pid != getpid())
		drop_inherited(S);
	if (S->conn && server_left(S)) {
		vg_log(VG_LOG_INFO, "db_connection_lost", "when", "idle", NULL);
		drop(S);
	}
	if (S->conn)
		return VG_OK;
	if (S->in_tx || S->pinned)
		return VG_ERR_UNAVAILABLE;
	return reconnect(S);
}

enum vg_err
vg_pg_connect(struct vg_pg *db)
{
	return ensure(session_of(db));
}

void
vg_pg_disconnect(struct vg_pg *db)
{
	struct session *S = session_of(db);

	if (S->conn && S->pid != getpid())
		drop_inherited(S);
	drop(S);
	S->in_tx = false;
	S->pinned = false;
	S->broken = false;
	S->down = false;
	forget_statements(S);
}

void
vg_pg_pin(struct vg_pg *db, bool pinned)
{
	session_of(db)->pinned = pinned;
}

/* The error a failed result stands for, logging what a bug looks like;
 * an error that ends the session dooms S. */
static enum vg_err
result_error(struct session *S, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	enum vg_err err;
	size_t i;

	for (i = 0; state && i < sizeof session_enders / sizeof session_enders[0]; i++)
		if (vg_str_has_prefix(state, session_enders[i]))
			S->doomed = true;
	if (lost(S))
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

/* Whether the first word of sql is one of words[0..n). */
static bool
first_word_in(const char *sql, const char *const *words, size_t n)
{
	size_t i, len;

	while (isspace((unsigned char)*sql))
		sql++;
	for (i = 0; i < n; i++) {
		len = strlen(words[i]);
		if (strncasecmp(sql, words[i], len) == 0 && !isalnum((unsigned char)sql[len]) &&
		    sql[len] != '_')
			return true;
	}
	return false;
}

/*
 * Whether sql tests a parameter for NULL ("$2::text IS NULL OR ...",
 * "NULLIF($4, '') IS NULL"): an optional filter.  The best plan of such a
 * statement depends on which filters are set, and a generic plan (one the
 * server may choose to reuse for a prepared statement, made for no values
 * in particular) cannot know: it scans past all of them.  So such a
 * statement is planned for its values every time instead.
 */
static bool
tests_param_null(const char *sql)
{
	const char *at, *p;
	int depth;

	for (at = strstr(sql, " IS NULL"); at; at = strstr(at + 1, " IS NULL")) {
		p = at;
		/* step back over a cast: ::name */
		while (p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			p--;
		if (p - sql >= 2 && p[-1] == ':' && p[-2] == ':')
			p -= 2;
		else
			p = at;
		if (p > sql && p[-1] == ')') {
			/* a parenthesised expression: does it hold a parameter? */
			for (depth = 0, p--; p >= sql; p--) {
				if (*p == ')')
					depth++;
				else if (*p == '(' && --depth == 0)
					break;
				else if (*p == '$')
					return true;
			}
			continue;
		}
		while (p > sql && isdigit((unsigned char)p[-1]))
			p--;
		if (p > sql && p < at && p[-1] == '$')
			return true;
	}
	return false;
}

/* FNV-1a of s. */
static uint64_t
text_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * The slot of sql among S's statements, added when new; NULL when sql is
 * not to be prepared (not a plannable statement, or one that tests a
 * parameter for NULL), when the slots are all taken, or out of memory:
 * then it runs unprepared.
 */
static struct stmt *
stmt_of(struct session *S, const char *sql)
{
	uint64_t h;
	size_t i;
	char *copy;

	if (!first_word_in(sql, plannable, sizeof plannable / sizeof plannable[0]) ||
	    tests_param_null(sql))
		return NULL;
	h = text_hash(sql);
	for (i = 0; i < S->nstmts; i++)
		if (S->stmts[i].hash == h && strcmp(S->stmts[i].sql, sql) == 0)
			return &S->stmts[i];
	if (!S->stmts && !(S->stmts = calloc(STMT_MAX, sizeof *S->stmts)))
		return NULL;
	if (S->nstmts == STMT_MAX || !(copy = strdup(sql)))
		return NULL;
	S->stmts[S->nstmts].sql = copy;
	S->stmts[S->nstmts].hash = h;
	S->stmts[S->nstmts].serial = 0;
	return &S->stmts[S->nstmts++];
}

/* Run st by name, preparing it on the connection first when it is not
 * yet; the result (NULL when libpq has none). */
static PGresult *
run_prepared(struct session *S, struct stmt *st, int nparams, const char *const *params)
{
	char name[24];
	PGresult *res;

	if (!st->serial) {
		snprintf(name, sizeof name, "vg_%u", S->serial + 1);
		res = PQprepare(S->conn, name, st->sql, 0, NULL);
		if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		st->serial = ++S->serial;
	}
	snprintf(name, sizeof name, "vg_%u", st->serial);
	return PQexecPrepared(S->conn, name, nparams, params, NULL, NULL, 0);
}

/* Whether res says a prepared statement is gone (26000) or no longer
 * fits its tables (0A000: a migration changed what it returns). */
static bool
stmt_stale(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

/*
 * Run sql once on the current connection: prepared once per connection
 * and then run by name when it may be (stmt_of), else with PQexecParams.
 * A stale prepared statement is prepared afresh under a new name, and run
 * again at once when no transaction was open (inside one, its failure
 * has aborted the transaction).
 */
static enum vg_err
exec_once(struct session *S, const char *sql, int nparams, const char *const *params,
    PGresult **out)
{
	struct stmt *st = stmt_of(S, sql);
	PGresult *res;
	ExecStatusType status;
	enum vg_err err;
	bool idle;

	if (st) {
		idle = PQtransactionStatus(S->conn) == PQTRANS_IDLE;
		res = run_prepared(S, st, nparams, params);
		if (stmt_stale(res)) {
			st->serial = 0;
			if (idle) {
				PQclear(res);
				res = run_prepared(S, st, nparams, params);
			}
		}
	} else {
		res = PQexecParams(S->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	}
	status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		*out = res;
		return VG_OK;
	}
	err = result_error(S, res);
	PQclear(res);
	return err;
}

/* Whether sql is one of the replayable statements (its first word). */
static bool
replay_safe(const char *sql)
{
	return first_word_in(sql, replayable, sizeof replayable / sizeof replayable[0]);
}

enum vg_err
vg_pg_exec(struct vg_pg *db, const char *sql, int nparams, const char *const *params,
    PGresult **out)
{
	struct session *S = session_of(db);
	PGresult *res = NULL;
	enum vg_err err;
	bool replay;

	if (out)
		*out = NULL;
	/* A connection the server left while idle is replaced here, before
	 * anything is sent: the statement never reached the old server. */
	if ((err = ensure(S)) != VG_OK)
		goto out;
	/* Replaying on a new session is only sound when nothing of the old
	 * one (transaction, pinned locks) is lost with it, and when running
	 * the statement twice is harmless (replayable[]). */
	replay = !S->in_tx && !S->pinned && PQtransactionStatus(S->conn) == PQTRANS_IDLE &&
	    replay_safe(sql);
	err = exec_once(S, sql, nparams, params, &res);
	if (err == VG_ERR_UNAVAILABLE && lost(S)) {
		vg_log(VG_LOG_INFO, "db_connection_lost", "when", "statement", "replay",
		    replay ? "yes" : "no", NULL);
		drop(S);
		if (replay) {
			if ((err = ensure(S)) != VG_OK)
				goto out;
			err = exec_once(S, sql, nparams, params, &res);
			if (err == VG_ERR_UNAVAILABLE && lost(S))
				drop(S);
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
	struct session *S = session_of(db);
	PGresult *res = NULL;
	enum vg_err err;
	const char *state, *primary, *pos;

	if ((err = ensure(S)) != VG_OK) {
		snprintf(msg, msglen, "database unavailable");
		goto out;
	}
	res = PQexec(S->conn, script);
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
	err = lost(S) ? VG_ERR_UNAVAILABLE : vg_pg_err_from_sqlstate(state);
	if (err == VG_ERR_UNAVAILABLE)
		drop(S);
out:
	PQclear(res);
	return err;
}

enum vg_err
vg_pg_tx_begin(struct vg_pg *db)
{
	struct session *S = session_of(db);
	enum vg_err err;
	PGresult *res = NULL;

	if (S->in_tx)
		return VG_ERR_INTERNAL;
	if ((err = vg_pg_exec(db, "BEGIN", 0, NULL, &res)) == VG_OK)
		S->in_tx = true;
	PQclear(res);
	return err;
}

enum vg_err
vg_pg_tx_commit(struct vg_pg *db)
{
	struct session *S = session_of(db);
	PGresult *res = NULL;
	enum vg_err err;

	if (!S->in_tx)
		return VG_ERR_INTERNAL;
	err = vg_pg_exec(db, "COMMIT", 0, NULL, &res);
	/* A transaction that saw an error "commits" as ROLLBACK. */
	if (err == VG_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		vg_log(VG_LOG_ERROR, "db_commit_rolled_back", NULL);
		err = VG_ERR_INTERNAL;
	}
	S->in_tx = false;
	PQclear(res);
	return err;
}

void
vg_pg_tx_rollback(struct vg_pg *db)
{
	struct session *S = session_of(db);
	PGresult *res = NULL;

	if (S->conn && S->pid == getpid() && !lost(S) &&
	    PQtransactionStatus(S->conn) != PQTRANS_IDLE) {
		/* exec_once, not vg_pg_exec: never reconnect for a rollback. */
		if (exec_once(S, "ROLLBACK", 0, NULL, &res) == VG_OK)
			PQclear(res);
		else if (lost(S))
			drop(S);
	}
	S->in_tx = false;
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
