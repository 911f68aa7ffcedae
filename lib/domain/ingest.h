/*
 * ingest.h - a git repository's snapshot, fetched in the background.
 *
 * The API marks the repository "ingesting" and calls
 * vg_domain_dispatch_ingest, which starts
 *     vega-runner --ingest REPOSITORY_ID [--ref REF]
 * as a detached process and returns at once.  The runner calls
 * vg_domain_git_ingest, which fetches the tree (archive/git.h), records
 * the snapshot and moves the repository to "ready" or "failed" with the
 * failure's code and message (the codes of vg_git_fetch; messages name
 * the URL without its credentials).  Every outcome is audited as
 * "repository.ingest".
 */
#ifndef VG_DOMAIN_INGEST_H
#define VG_DOMAIN_INGEST_H

#include "blob/blob.h"
#include "core/err.h"
#include "store/store.h"

/*
 * Fetch repository_id's git source at ref (NULL or "": the repository's
 * own ref, and when that is empty the remote's default branch), store the
 * snapshot (format "git", its commit id) and record the outcome:
 *   ready   current_snapshot_id = the snapshot, error cleared;
 *   failed  ingest_error_code and _message from vg_git_fetch.
 * actor_id (may be NULL: the system) is the snapshot's created_by and the
 * audit event's actor.  A repository that is not "ingesting" yet (a run
 * by hand) is moved to "ingesting" first.
 *
 * out (may be NULL) gets the repository as stored afterwards, and is
 * zeroed when no outcome could be recorded.  Returns VG_OK when it is
 * ready; the fetch's error (VG_ERR_INVALID, VG_ERR_NOT_FOUND,
 * VG_ERR_UNAVAILABLE, VG_ERR_INVALID_ARCHIVE, ...) when it was recorded
 * as failed (out->ingest_status is then "failed"); VG_ERR_NOT_FOUND
 * without any change when the repository does not exist (out zeroed),
 * VG_ERR_CONFLICT when it is not a git repository, or the store's error
 * when the outcome could not be written.
 */
enum vg_err vg_domain_git_ingest(struct vg_store *store, struct vg_blob *blob,
    const char *repository_id, const char *ref, const char *actor_id,
    struct vg_repository *out);

/*
 * Start "vega-runner --ingest repository_id [--ref ref]" detached, as
 * dispatch.h describes (program, environment, log file).  Returns once the runner is executing: VG_OK, VG_ERR_INVALID
 * for a repository id that is not a UUID or a ref git would refuse,
 * VG_ERR_IO when it could not be started, VG_ERR_NOMEM.
 */
enum vg_err vg_domain_dispatch_ingest(const char *repository_id, const char *ref);

#endif
