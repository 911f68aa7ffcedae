/*
 * pg.h - Postgres access for the store: one cached session per thread,
 * parameterized statements only, transactions, SQLSTATE mapping.
 *
 * Each thread that uses the store gets a connection of its own, opened
 * lazily from VEGA_DATABASE_URL with connect_timeout
 * VEGA_DB_CONNECT_TIMEOUT_SECONDS and closed when the thread ends: libpq
 * runs one statement at a time on a connection, and the runner's
 * heartbeat thread works beside the runner's own.  A database outage
 * costs a caller at most the connect timeout per attempt and surfaces as
 * VG_ERR_UNAVAILABLE.  After fork() a child never touches its parent's
 * connection: it opens its own.
 *
 * A LOST CONNECTION (a server restart, a failover, pg_terminate_backend):
 *  - found before a statement is sent (the connection is bad, or the
 *    server left it while it was idle: its last error and the end of the
 *    stream are read first), it is replaced and the statement sent on the
 *    new one: it never reached the old server;
 *  - found while a statement ran, the statement is replayed once on a new
 *    connection only when that is harmless: a SELECT or BEGIN, outside a
 *    transaction and a pinned session.  Any other statement may have
 *    committed before the connection went; it answers VG_ERR_UNAVAILABLE
 *    and its caller decides whether and how to try again;
 *  - a connection that broke is reconnected up to three times within
 *    about two thirds of a second (a restart is brief); after that, each
 *    call makes one attempt until one succeeds, so an outage is answered
 *    quickly.
 * Inside a transaction (or a pinned session) nothing is replaced behind
 * the caller's back: the transaction is gone, the call fails with
 * VG_ERR_UNAVAILABLE, and the next one outside it reconnects.
 *
 * PREPARED STATEMENTS.  A session prepares each statement it runs once
 * (PQprepare, named per connection) and from then on only sends its name
 * and parameters: the server skips parsing it, and, where it finds a
 * plan made for no values in particular as good as one made for the
 * values (by its own cost estimates), planning it.  Not prepared, and
 * planned for their values each time as before: statements that test a
 * parameter for NULL (an optional filter, "$2::text IS NULL OR ..."),
 * whose best plan depends on which filters are set, and anything but
 * SELECT, WITH, INSERT, UPDATE and DELETE.  A prepared statement the
 * server no longer knows or whose result no longer fits its tables (a
 * migration) is prepared again.  Statements are recognised by their text,
 * so a caller needs nothing but constant SQL.
 *
 * Values reach the server only as parameters (PQexecParams,
 * PQexecPrepared), never inside the SQL text (DESIGN.md section 7).
 */
#ifndef VG_STORE_PG_H
#define VG_STORE_PG_H

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "core/err.h"

/* The process's handle.  Every call through it works on the calling
 * thread's session (the deliberate cache of DESIGN.md section 9), which
 * survives reconnects, so a caller may keep the pointer and hand it to
 * another thread. */
struct vg_pg;

/* The process's handle; never NULL.  Does not connect. */
struct vg_pg *vg_pg_default(void);
/* Connect the calling thread now if not connected: VG_OK, or
 * VG_ERR_UNAVAILABLE. */
enum vg_err vg_pg_connect(struct vg_pg *db);
/* Close the calling thread's connection (tests, shutdown); its next call
 * reconnects. */
void vg_pg_disconnect(struct vg_pg *db);

/*
 * Run one parameterized statement.  params holds nparams NUL-terminated
 * text values (an element may be NULL for SQL NULL).  On VG_OK, *out (when
 * out is not NULL) is the result, freed by the caller with PQclear;
 * otherwise *out is NULL and the error is mapped from the SQLSTATE
 * (vg_pg_err_from_sqlstate), VG_ERR_UNAVAILABLE when the server cannot be
 * reached.
 */
enum vg_err vg_pg_exec(struct vg_pg *db, const char *sql, int nparams,
    const char *const *params, PGresult **out);
/*
 * Run a static multi-statement script with the simple query protocol.
 * Only for migration files, which are fixed SQL shipped with Vega and carry
 * no values; everything else goes through vg_pg_exec.  Never retried.
 */
enum vg_err vg_pg_exec_script(struct vg_pg *db, const char *script,
    char *msg, size_t msglen);

/* Transactions.  begin connects (or reconnects) when needed; a connection
 * lost inside a transaction is reported as VG_ERR_UNAVAILABLE and the
 * transaction is gone.  rollback is safe to call in any state. */
enum vg_err vg_pg_tx_begin(struct vg_pg *db);
enum vg_err vg_pg_tx_commit(struct vg_pg *db);
void vg_pg_tx_rollback(struct vg_pg *db);
/* Run fn(db, arg) inside BEGIN/COMMIT; rolled back when fn fails. */
enum vg_err vg_pg_tx(struct vg_pg *db, enum vg_err (*fn)(struct vg_pg *db, void *arg),
    void *arg);

/*
 * Pin the calling thread's session: while pinned, a lost connection is never silently
 * replaced, because the caller relies on session state (an advisory lock).
 * Calls fail with VG_ERR_UNAVAILABLE until the caller unpins.
 */
void vg_pg_pin(struct vg_pg *db, bool pinned);

/* The error a SQLSTATE stands for: 23505 -> VG_ERR_CONFLICT, class 08 and
 * server shutdown -> VG_ERR_UNAVAILABLE, and so on (see pg.c's table). */
enum vg_err vg_pg_err_from_sqlstate(const char *sqlstate);

/* Readers for result cells.  text is NULL for SQL NULL (borrowed from
 * res); the numeric readers give def for NULL or unparsable values. */
const char *vg_pg_text(const PGresult *res, int row, int col);
int64_t vg_pg_i64(const PGresult *res, int row, int col, int64_t def);

#endif
