/*
 * cleanup.h - the maintenance pass that removes what nothing needs any more
 * (vega-maintenance cleanup, POST /v1/ops/cleanup).
 *
 * One pass removes:
 *   tmp       entries under $VEGA_DATA_DIR/tmp (the spool of an ingest or
 *             an upload a crashed process left behind) older than
 *             VEGA_TMP_RETENTION_SECONDS;
 *   rows      refresh-token families and API keys that expired or were
 *             revoked, and worker rows stopped or silent for
 *             VEGA_WORKER_RETENTION_DAYS (vg_store_prune; counted);
 *   artifact  objects under scans/<id>/ in the artifacts bucket of scans
 *             that finished more than VEGA_ARTIFACT_RETENTION_DAYS ago,
 *             and of scans that no longer exist once the object is older
 *             than VEGA_BLOB_GRACE_SECONDS;
 *   blob      objects of the sources bucket that no snapshot row names (a
 *             manifest counts as named with its archive) and that are
 *             older than VEGA_BLOB_GRACE_SECONDS, so an upload that has
 *             stored its archive but not yet its row keeps it.
 * The artifacts are found by listing the bucket (not by listing old
 * scans), so each pass costs what is stored, and nothing is missed
 * behind scans whose artifacts are gone already.
 */
#ifndef VG_DOMAIN_CLEANUP_H
#define VG_DOMAIN_CLEANUP_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "store/store.h"

struct vg_cleanup_opts {
	bool dry_run;              /* list only: nothing removed or recorded */
	int64_t now_us;
	const char *actor_id;      /* the audit event's actor; NULL: the system */
	const char *request_id;    /* may be NULL */
};

/*
 * One pass as o says.  *report (new reference, also on failure when it
 * could be made) is
 *   {"dry_run":bool, "at":RFC 3339, "count":N,
 *    "removed":[{"kind","name","age_seconds"}...], "failed":[...],
 *    "pruned":{"refresh_families":n,"api_keys":n,"workers":n},
 *    "skipped":[reason...]}
 * where count is the entries removed plus the rows pruned, and skipped
 * names parts that could not run (the file storage unavailable).  A real
 * pass records an audit event "maintenance.cleanup" whose details are the
 * counts by kind.  Entries that could not be removed are listed under
 * "failed" and make the result VG_ERR_IO, after everything else was
 * tried; a store failure is returned as it is.
 */
enum vg_err vg_cleanup_run(struct vg_store *store, const struct vg_cleanup_opts *o,
    json_t **report);

/*
 * The last real pass, from the audit log (its newest "maintenance.cleanup"
 * event among the latest VG_CLEANUP_AUDIT_SCAN events): *last (new
 * reference) is {"at", "actor_id", "counts"}, or NULL when none is found
 * there.
 */
#define VG_CLEANUP_AUDIT_SCAN 5000
enum vg_err vg_cleanup_last(struct vg_store *store, json_t **last);

#endif
