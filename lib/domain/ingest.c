/* ingest.c - git snapshots in the background: dispatch and the work. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/git.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/dispatch.h"
#include "domain/ingest.h"

/* ---- the work (in the runner) ---- */

/* The snapshot row of a fetch. */
static void
snapshot_fill(struct vg_snapshot *snap, const char *repository_id, const char *actor_id,
    const struct vg_git_result *res)
{
	char *langs = res->archive.languages ? vg_json_dump(res->archive.languages) : NULL;

	memset(snap, 0, sizeof *snap);
	vg_str_copy(snap->repository_id, sizeof snap->repository_id, repository_id);
	vg_str_copy(snap->digest, sizeof snap->digest, res->archive.digest);
	vg_str_copy(snap->storage_key, sizeof snap->storage_key, res->archive.tar_key);
	vg_str_copy(snap->manifest_key, sizeof snap->manifest_key, res->archive.manifest_key);
	vg_str_copy(snap->format, sizeof snap->format, "git");
	vg_str_copy(snap->languages, sizeof snap->languages, langs ? langs : "{}");
	vg_str_copy(snap->git_commit, sizeof snap->git_commit, res->commit);
	vg_str_copy(snap->created_by, sizeof snap->created_by, actor_id ? actor_id : "");
	snap->file_count = (int64_t)res->archive.files;
	snap->total_bytes = (int64_t)res->archive.bytes;
	free(langs);
}

/* Audit the outcome; a failure to audit is logged, not fatal (the
 * outcome itself is recorded already). */
static void
audit(struct vg_store *store, const char *actor_id, const struct vg_repository *repo,
    const char *ref_shown, const struct vg_git_result *res, const struct vg_snapshot *snap,
    bool ready, bool existed)
{
	char url[VG_STORE_GIT_URL_MAX + 1];
	struct vg_audit_event ev;

	vg_git_redact(repo->git_url, url, sizeof url);
	memset(&ev, 0, sizeof ev);
	ev.actor_id = actor_id && *actor_id ? actor_id : NULL;
	ev.action = "repository.ingest";
	ev.target_type = "repository";
	ev.target_id = repo->id;
	if (ready)
		ev.details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "outcome", "ready",
		    "url", url, "ref", ref_shown, "commit", res->commit, "snapshot_id", snap->id,
		    "digest", snap->digest, "existed", existed);
	else
		ev.details = json_pack("{s:s, s:s, s:s, s:s, s:s}", "outcome", "failed",
		    "url", url, "ref", ref_shown, "code", repo->ingest_error_code,
		    "message", repo->ingest_error_message);
	if (vg_store_audit_append(store, &ev) != VG_OK)
		vg_log(VG_LOG_WARN, "audit_failed", "action", ev.action, "repository_id", repo->id,
		    NULL);
	json_decref(ev.details);
	if (ready && !existed) {
		memset(&ev, 0, sizeof ev);
		ev.actor_id = actor_id && *actor_id ? actor_id : NULL;
		ev.action = "snapshot.created";
		ev.target_type = "snapshot";
		ev.target_id = snap->id;
		ev.details = json_pack("{s:s, s:s, s:I}", "repository_id", repo->id,
		    "digest", snap->digest, "files", (json_int_t)snap->file_count);
		if (vg_store_audit_append(store, &ev) != VG_OK)
			vg_log(VG_LOG_WARN, "audit_failed", "action", ev.action, "repository_id",
			    repo->id, NULL);
		json_decref(ev.details);
	}
}

enum vg_err
vg_domain_git_ingest(struct vg_store *store, struct vg_blob *blob,
    const char *repository_id, const char *ref, const char *actor_id,
    struct vg_repository *out)
{
	struct vg_repository *repo = NULL;
	struct vg_git_result *res = NULL;
	struct vg_snapshot *snap = NULL;
	struct vg_ingest_change change;
	const char *use_ref;
	bool existed = false;
	enum vg_err err, fetch_err;

	if (out)
		memset(out, 0, sizeof *out);
	if (!(repo = calloc(1, sizeof *repo)) || !(res = calloc(1, sizeof *res)) ||
	    !(snap = calloc(1, sizeof *snap))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = vg_store_repository_get(store, repository_id, repo)) != VG_OK)
		goto out;
	if (strcmp(repo->source_type, "git") != 0) {
		err = VG_ERR_CONFLICT;
		goto out;
	}
	use_ref = ref && *ref ? ref : repo->git_ref;
	if (strcmp(repo->ingest_status, VG_INGEST_INGESTING) != 0) {
		memset(&change, 0, sizeof change);
		change.status = VG_INGEST_INGESTING;
		change.now_us = vg_time_now_us();
		if ((err = vg_store_repository_set_ingest(store, repo->id, &change, repo)) != VG_OK)
			goto out;
	}
	vg_log(VG_LOG_INFO, "git_ingest_start", "repository_id", repo->id,
	    "ref", *use_ref ? use_ref : "HEAD", NULL);

	fetch_err = vg_git_fetch(blob, repo->git_url, use_ref, NULL, res);
	if (fetch_err == VG_OK) {
		snapshot_fill(snap, repo->id, actor_id, res);
		if ((err = vg_store_snapshot_create(store, snap, &existed)) != VG_OK) {
			fetch_err = err;
			vg_str_copy(res->code, sizeof res->code, "internal");
			vg_str_copy(res->message, sizeof res->message,
			    "the snapshot could not be recorded");
		}
	}
	memset(&change, 0, sizeof change);
	change.now_us = vg_time_now_us();
	if (fetch_err == VG_OK) {
		change.status = VG_INGEST_READY;
		change.snapshot_id = snap->id;
	} else {
		change.status = VG_INGEST_FAILED;
		change.error_code = res->code[0] ? res->code : "internal";
		change.error_message = res->message[0] ? res->message : "the fetch failed";
	}
	if ((err = vg_store_repository_set_ingest(store, repository_id, &change, repo)) != VG_OK) {
		vg_log(VG_LOG_ERROR, "git_ingest_unrecorded", "repository_id", repository_id,
		    "status", change.status, "error", vg_err_code(err), NULL);
		goto out;
	}
	vg_log(fetch_err == VG_OK ? VG_LOG_INFO : VG_LOG_WARN, "git_ingest_done",
	    "repository_id", repo->id, "status", repo->ingest_status,
	    "code", repo->ingest_error_code, "snapshot_id", repo->current_snapshot_id, NULL);
	audit(store, actor_id, repo, *use_ref ? use_ref : "HEAD", res, snap,
	    fetch_err == VG_OK, existed);
	if (out)
		*out = *repo;
	err = fetch_err;
out:
	if (res)
		vg_git_result_clear(res);
	free(snap);
	free(res);
	free(repo);
	return err;
}

/* ---- dispatch (in the API) ---- */

enum vg_err
vg_domain_dispatch_ingest(const char *repository_id, const char *ref)
{
	const char *args[5];
	const char *why = NULL;
	size_t n = 0;

	if (!repository_id || !vg_uuid_valid(repository_id))
		return VG_ERR_INVALID;
	if (vg_git_ref_check(ref, &why) != VG_OK)
		return VG_ERR_INVALID;
	args[n++] = "--ingest";
	args[n++] = repository_id;
	if (ref && *ref) {
		args[n++] = "--ref";
		args[n++] = ref;
	}
	args[n] = NULL;
	return vg_domain_dispatch_runner("ingest", repository_id, NULL, 0, args, NULL);
}
