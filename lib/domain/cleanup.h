/*
 * cleanup.h - the maintenance pass that removes what nothing needs any more.
 *
 * Now: temporary files and directories under $VEGA_DATA_DIR/tmp (the spool
 * of an archive ingest or an upload that a crashed process left behind)
 * older than VEGA_TMP_RETENTION_SECONDS.  The scan pipeline adds expired
 * tokens, stale worker rows, old artifacts and unreferenced blobs to the
 * same pass.
 */
#ifndef VG_DOMAIN_CLEANUP_H
#define VG_DOMAIN_CLEANUP_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "store/store.h"

/*
 * One pass at time now_us.  With dry_run nothing is removed or recorded.
 * *report (new reference) is {"dry_run":bool, "removed":[{"kind","name",
 * "age_seconds"}...], "failed":[...], "count":N}.  A real pass records an
 * audit event "maintenance.cleanup" with the count.  Entries that could
 * not be removed are listed under "failed" and make the result VG_ERR_IO,
 * after everything else was tried.
 */
enum vg_err vg_cleanup_run(struct vg_store *store, bool dry_run, int64_t now_us,
    json_t **report);

#endif
