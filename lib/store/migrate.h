/*
 * migrate.h - the Postgres schema: NNN_name.sql files applied in order.
 *
 * The migrations directory is VEGA_MIGRATIONS_DIR, or the sql/ directory
 * installed with Vega when that is empty.  It holds only files named
 * NNN_name.sql (3 to 6 digits, then lower-case letters, digits and '_');
 * hidden files, README, README.md and local.mk (the build fragment beside
 * them in the source tree) are ignored; anything else is an error naming
 * the file, so a misnamed migration is never silently skipped.
 *
 * Applying takes a Postgres advisory lock for the whole run, so concurrent
 * runs serialise: the second waits, then finds nothing to do.  Each
 * migration runs in its own transaction together with its row in
 * schema_migrations (version, name, SHA-256 checksum, applied_at) and its
 * audit-log entry.  A run refuses to start when an applied migration's file
 * changed or disappeared, or when a pending file sorts before an applied
 * one: the schema would no longer be what the files say.
 */
#ifndef VG_STORE_MIGRATE_H
#define VG_STORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/err.h"
#include "store/pg.h"

#define VG_MIGRATE_SHA256_HEX 65        /* 64 hex digits and the NUL */
#define VG_MIGRATE_MAX_FILE_BYTES (4u * 1024 * 1024)

enum vg_migration_state {
	VG_MIG_PENDING,    /* file present, not applied */
	VG_MIG_APPLIED,    /* applied, file unchanged */
	VG_MIG_CHANGED,    /* applied, file differs from what was applied */
	VG_MIG_MISSING,    /* applied, file gone */
};

struct vg_migration {
	int64_t version;
	char name[128];                              /* "001_accounts.sql" */
	char checksum[VG_MIGRATE_SHA256_HEX];        /* of the file; "" if missing */
	enum vg_migration_state state;
	char applied_checksum[VG_MIGRATE_SHA256_HEX]; /* "" unless applied */
	int64_t applied_at_us;                       /* 0 unless applied */
};

/* "pending", "applied", "changed", "missing". */
const char *vg_migration_state_name(enum vg_migration_state st);

/* The migrations directory in effect (borrowed, static). */
const char *vg_migrate_dir(void);

/*
 * Read dir: every migration file with its checksum, in version order, all
 * VG_MIG_PENDING.  A bad name, a duplicate version or an unreadable file
 * is VG_ERR_INVALID (or VG_ERR_IO) with msg naming the file.  *out is
 * malloc'd (free()).
 */
enum vg_err vg_migrate_scan(const char *dir, struct vg_migration **out, size_t *count,
    char *msg, size_t msglen);

/*
 * The files of dir merged with what schema_migrations records: one entry
 * per version, in version order, each with its state.  Takes no lock and
 * creates nothing.  *out is malloc'd (free()).
 */
enum vg_err vg_migrate_status(struct vg_pg *db, const char *dir, struct vg_migration **out,
    size_t *count, char *msg, size_t msglen);

/*
 * Apply every pending migration of dir under the advisory lock, writing
 * one line per applied file to report (may be NULL); *applied counts them.
 * On failure msg says what failed and which file.
 */
enum vg_err vg_migrate_run(struct vg_pg *db, const char *dir, FILE *report, size_t *applied,
    char *msg, size_t msglen);

/* Whether everything in dir is applied unchanged; detail lists what is
 * pending, changed or missing (or why the check failed). */
enum vg_err vg_migrate_check(struct vg_pg *db, const char *dir, bool *current, char *detail,
    size_t detail_len);

#endif
