/*
 * snapshots.c - POST /v1/repositories/{id}/snapshots (an archive upload,
 * or a git re-fetch), the snapshot lists and views, and the files of a
 * snapshot.
 *
 * An upload streams the request body straight into vg_archive_ingest:
 * never held whole in memory, refused with 413 by its declared
 * Content-Length before a byte is read, cut off with 413 when it grows
 * past VEGA_MAX_SOURCE_BYTES, refused with 422 invalid_archive and the
 * reason when an entry breaks a rule.  A refused upload stores nothing
 * (archive.h's promise) and leaves the repository failed with the
 * reason, so the client sees why its last ingest went wrong.
 *
 * The files of a snapshot are read from its manifest (immutable, so a
 * list cursor is simply the last path returned) and one file's bytes
 * from the canonical tar at the offset the manifest gives.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive.h"
#include "archive/git.h"
#include "core/b64.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/limits.h"

#define MANIFEST_MAX_BYTES (256u * 1024 * 1024)
#define FILES_PAGE_MAX 1000

/* What each refusal reason means to a user. */
static const struct {
	const char *reason;
	const char *message;
} reasons[] = {
	{"unsupported_format", "the body is not a tar, tar.gz, tar.xz, tar.zst or zip archive"},
	{"truncated", "the archive ends early"},
	{"corrupt", "the archive is damaged"},
	{"source_too_large", "the archive is larger than VEGA_MAX_SOURCE_BYTES"},
	{"too_many_entries", "the archive has more entries than VEGA_MAX_ARCHIVE_ENTRIES"},
	{"file_too_large", "a file is larger than VEGA_MAX_ARCHIVE_FILE_BYTES"},
	{"uncompressed_too_large", "the archive expands past VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES"},
	{"absolute_path", "an entry has an absolute path"},
	{"path_traversal", "an entry's path climbs out of the tree with .."},
	{"invalid_utf8_name", "an entry's name is not valid UTF-8"},
	{"invalid_name", "an entry's name is empty or holds control characters"},
	{"path_too_long", "an entry's path is too long or too deep"},
	{"link_outside_tree", "a symbolic link points outside the tree"},
	{"hard_link", "the archive holds a hard link"},
	{"special_file", "the archive holds a device, FIFO or socket"},
	{"duplicate_path", "two entries have the same path"},
	{"path_conflict", "a path is used both as a file and as a directory"},
	{"empty_archive", "the archive holds no file"},
};

static const char *
reason_message(const char *reason)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reasons[i].reason, reason) == 0)
			return reasons[i].message;
	return "the archive was refused";
}

/* The request body as the archive reader's stream. */
static enum vg_err
body_reader(void *ctx, void *buf, size_t cap, size_t *got)
{
	return vg_http_body_read(ctx, buf, cap, got);
}

/* The blob store, or a recorded 503. */
static enum vg_err
open_blob(struct vg_http_req *req, struct vg_blob **blob)
{
	char msg[160] = "";

	if (vg_blob_open(blob, msg, sizeof msg) != VG_OK) {
		vg_log(VG_LOG_ERROR, "blob.open_failed", "msg", msg, NULL);
		return vg_http_fail(req, VG_ERR_UNAVAILABLE, "file storage is unavailable", NULL);
	}
	return VG_OK;
}

/* Mark repository id failed with code and message (best effort: the
 * answer to the client is the refusal itself). */
static void
mark_failed(struct vg_store *s, const char *id, const char *code, const char *message)
{
	struct vg_ingest_change c = {.status = VG_INGEST_FAILED, .error_code = code,
	    .error_message = message};

	vg_store_repository_set_ingest(s, id, &c, NULL);
}

/* Answer a refused or failed ingest, recording it on the repository. */
static enum vg_err
ingest_refused(struct vg_http_req *req, struct vg_store *s, const char *repo_id,
    enum vg_err err, const struct vg_archive_result *res)
{
	if (res->reason[0]) {
		const char *msg = reason_message(res->reason);
		enum vg_err code = strcmp(res->reason, "source_too_large") == 0 ?
		    VG_ERR_TOO_LARGE : VG_ERR_INVALID_ARCHIVE;

		mark_failed(s, repo_id, res->reason, msg);
		return vg_http_error(req, code, msg, NULL, json_pack("{s:s, s:o}",
		    "reason", res->reason, "path", vg_http_opt_str(res->path)));
	}
	if (err == VG_ERR_TOO_LARGE) {
		mark_failed(s, repo_id, "source_too_large", reason_message("source_too_large"));
		return vg_http_error(req, err, reason_message("source_too_large"), NULL,
		    json_pack("{s:s, s:I}", "reason", "source_too_large",
		    "limit", (json_int_t)vg_cfg_int(VG_SET_MAX_SOURCE_BYTES)));
	}
	mark_failed(s, repo_id, err == VG_ERR_INVALID ? "upload_incomplete" : "ingest_failed",
	    err == VG_ERR_INVALID ? "the upload ended before its declared length" :
	    "the archive could not be stored");
	/* A body error was recorded by the body reader; others are ours. */
	return vg_http_fail(req, err, err == VG_ERR_INVALID ?
	    "the body is shorter than its Content-Length" : NULL,
	    err == VG_ERR_INVALID ? "body" : NULL);
}

/* Record the ingested snapshot and make it the repository's current one;
 * answer 201 (new) or 200 (the same tree was there). */
static enum vg_err
ingest_done(struct vg_http_req *req, struct vg_scope *sc, struct vg_repository *repo,
    const struct vg_archive_result *res)
{
	struct vg_snapshot snap;
	struct vg_ingest_change ready = {.status = VG_INGEST_READY};
	char *langs = res->languages ? vg_json_dump(res->languages) : NULL;
	bool existed = false;
	enum vg_err err;

	memset(&snap, 0, sizeof snap);
	vg_str_copy(snap.repository_id, sizeof snap.repository_id, repo->id);
	vg_str_copy(snap.digest, sizeof snap.digest, res->digest);
	vg_str_copy(snap.storage_key, sizeof snap.storage_key, res->tar_key);
	vg_str_copy(snap.manifest_key, sizeof snap.manifest_key, res->manifest_key);
	vg_str_copy(snap.format, sizeof snap.format, res->format ? res->format : "tar");
	vg_str_copy(snap.languages, sizeof snap.languages, langs ? langs : "{}");
	vg_str_copy(snap.created_by, sizeof snap.created_by, sc->who->user_id);
	snap.file_count = (int64_t)res->files;
	snap.total_bytes = (int64_t)res->bytes;
	free(langs);
	if ((err = vg_store_snapshot_create(sc->store, &snap, &existed)) != VG_OK) {
		mark_failed(sc->store, repo->id, "ingest_failed", "the snapshot could not be recorded");
		return vg_http_fail(req, err, NULL, NULL);
	}
	ready.snapshot_id = snap.id;
	if ((err = vg_store_repository_set_ingest(sc->store, repo->id, &ready, repo)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if (!existed)
		vg_auth_audit(req, sc->who->user_id, "snapshot.created", "snapshot", snap.id,
		    json_pack("{s:s, s:s, s:I}", "repository_id", repo->id, "digest", snap.digest,
		    "files", (json_int_t)snap.file_count));
	return vg_http_json(req, existed ? 200 : 201, vg_api_snapshot_json(&snap));
}

/* POST on a git repository: a re-fetch, optionally of another ref. */
static enum vg_err
refetch(struct vg_http_req *req, struct vg_scope *sc, struct vg_repository *repo)
{
	const char *ctype = vg_http_header(req, "Content-Type");
	const char *ref = NULL;
	json_t *body = NULL;
	const char *why = NULL;
	enum vg_err err = VG_OK;

	if (ctype && *ctype) {
		if ((err = vg_http_read_json(req, &body)) != VG_OK ||
		    (err = vg_http_body_str(req, body, "ref", false, VG_STORE_GIT_REF_MAX, &ref)))
			goto out;
		if (ref && vg_git_ref_check(ref, &why) != VG_OK) {
			err = vg_http_fail(req, VG_ERR_INVALID, why, "ref");
			goto out;
		}
	}
	if ((err = vg_api_git_fetch_start(req, sc->store, repo, ref ? ref : repo->git_ref)))
		goto out;
	vg_auth_audit(req, sc->who->user_id, "repository.fetch_started", "repository", repo->id,
	    NULL);
	err = vg_http_json(req, 202, vg_api_repository_json(repo));
out:
	json_decref(body);
	return err;
}

enum vg_err
vg_api_snapshot_create(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_archive_result res;
	struct vg_ingest_change go = {.status = VG_INGEST_INGESTING};
	struct vg_blob *blob = NULL;
	int64_t declared = -1;
	enum vg_err err;

	memset(&res, 0, sizeof res);
	if ((err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc,
	    &repo)))
		return err;
	if (strcmp(repo.source_type, "git") == 0)
		return refetch(req, &sc, &repo);
	if ((err = vg_http_body_begin(req, vg_cfg_int(VG_SET_MAX_SOURCE_BYTES), &declared)) ||
	    (err = vg_limits_check(req, sc.store, VG_QUOTA_SNAPSHOTS_PER_REPOSITORY, repo.id)) ||
	    (err = open_blob(req, &blob)) != VG_OK)
		goto out;
	if ((err = vg_store_repository_set_ingest(sc.store, repo.id, &go, &repo)) != VG_OK) {
		vg_http_fail(req, err, NULL, NULL);
		goto out;
	}
	err = vg_archive_ingest(blob, body_reader, req, NULL, &res);
	if (err != VG_OK)
		err = ingest_refused(req, sc.store, repo.id, err, &res);
	else
		err = ingest_done(req, &sc, &repo, &res);
out:
	vg_archive_result_clear(&res);
	vg_blob_free(blob);
	return err;
}

enum vg_err
vg_api_snapshot_list(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_snapshot *rows = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_page_args(req, 200, &limit, &cursor)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &repo)))
		return err;
	err = vg_store_snapshot_list(sc.store, repo.id, cursor, (int)limit, &rows, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_snapshot_json(&rows[i]));
	err = vg_http_answer_page(req, err, items, next);
	free(rows);
	free(next);
	return err;
}

enum vg_err
vg_api_snapshot_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_snapshot snap;
	enum vg_err err;

	if ((err = vg_api_scope_snapshot(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &snap, &repo)))
		return err;
	return vg_http_json(req, 200, vg_api_snapshot_json(&snap));
}

/* ---- files ---- */

/* The manifest's "files" array of snap (*manifest owns it). */
static enum vg_err
load_files(struct vg_http_req *req, const struct vg_snapshot *snap, json_t **manifest,
    json_t **files)
{
	struct vg_blob *blob = NULL;
	enum vg_err err;

	if ((err = open_blob(req, &blob)) != VG_OK)
		return err;
	err = vg_archive_manifest_load(blob, snap->digest, MANIFEST_MAX_BYTES, manifest);
	vg_blob_free(blob);
	if (err != VG_OK)
		return vg_http_fail(req, err == VG_ERR_NOT_FOUND ? VG_ERR_INTERNAL : err,
		    "the snapshot's manifest cannot be read", NULL);
	*files = json_object_get(*manifest, "files");
	if (!json_is_array(*files))
		return vg_http_fail(req, VG_ERR_INTERNAL, "the snapshot's manifest is malformed", NULL);
	return VG_OK;
}

static const char *
file_path(json_t *files, size_t i)
{
	const char *p = json_string_value(json_object_get(json_array_get(files, i), "path"));

	return p ? p : "";
}

/* The first index whose path is > after (or >= from when after is
 * NULL): the files are sorted by path, byte order. */
static size_t
lower_bound(json_t *files, const char *key, bool strictly_after)
{
	size_t lo = 0, hi = json_array_size(files);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(file_path(files, mid), key);

		if (c < 0 || (strictly_after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The path a cursor stands for (out: VG_ARCHIVE_PATH_MAX + 1 bytes). */
static enum vg_err
cursor_path(const char *cursor, char *out)
{
	size_t n = 0;

	if (vg_b64url_decode(cursor, (unsigned char *)out, VG_ARCHIVE_PATH_MAX, &n) != VG_OK)
		return VG_ERR_INVALID;
	out[n] = '\0';
	return strlen(out) == n && n > 0 ? VG_OK : VG_ERR_INVALID;
}

enum vg_err
vg_api_snapshot_files(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_snapshot snap;
	json_t *manifest = NULL, *files = NULL, *items = NULL;
	const char *cursor, *prefix = vg_http_query_get(req, "path_prefix");
	char after[VG_ARCHIVE_PATH_MAX + 1], next[VG_B64_LEN(VG_ARCHIVE_PATH_MAX)];
	size_t i, total, plen = prefix ? strlen(prefix) : 0;
	int64_t limit;
	enum vg_err err;

	next[0] = '\0';
	if ((err = vg_http_page_args(req, FILES_PAGE_MAX, &limit, &cursor)) != VG_OK)
		return err;
	if (cursor && cursor_path(cursor, after) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, "the cursor is not one this list handed out",
		    "cursor");
	if ((err = vg_api_scope_snapshot(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &snap, &repo)) || (err = load_files(req, &snap, &manifest, &files)) != VG_OK)
		goto out;
	if (!(items = json_array())) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	total = json_array_size(files);
	/* A cursor is the last path of a page: one this list handed out
	 * names a file of the snapshot. */
	if (cursor && ((i = lower_bound(files, after, false)) >= total ||
	    strcmp(file_path(files, i), after) != 0)) {
		err = vg_http_fail(req, VG_ERR_INVALID, "the cursor is not one this list handed out",
		    "cursor");
		goto out;
	}
	i = cursor ? lower_bound(files, after, true) : lower_bound(files, prefix ? prefix : "", false);
	for (; i < total && json_array_size(items) < (size_t)limit; i++) {
		json_t *f = json_array_get(files, i);
		const char *p = file_path(files, i);

		if (plen && strncmp(p, prefix, plen) != 0)
			break;
		json_array_append_new(items, json_pack("{s:s, s:O, s:O, s:O}", "path", p,
		    "size", json_object_get(f, "size"), "sha256", json_object_get(f, "sha256"),
		    "language", json_object_get(f, "language")));
	}
	if (i < total && json_array_size(items) == (size_t)limit &&
	    (!plen || strncmp(file_path(files, i), prefix, plen) == 0)) {
		const char *last = file_path(files, i - 1);

		vg_b64url_encode((const unsigned char *)last, strlen(last), next, sizeof next);
	}
	err = vg_http_answer_page(req, VG_OK, items, next);
	items = NULL;
out:
	json_decref(items);
	json_decref(manifest);
	return err;
}

enum vg_err
vg_api_snapshot_file(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_snapshot snap;
	struct vg_blob *blob = NULL;
	struct vg_blob_reader *rd = NULL;
	json_t *manifest = NULL, *files = NULL, *f;
	const char *path = vg_http_capture(req, "path");
	char *data = NULL;
	json_int_t size, offset;
	size_t i, have = 0, got = 0;
	enum vg_err err;

	if ((err = vg_api_scope_snapshot(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &snap, &repo)) || (err = load_files(req, &snap, &manifest, &files)) != VG_OK)
		goto out;
	i = lower_bound(files, path ? path : "", false);
	if (!path || i >= json_array_size(files) || strcmp(file_path(files, i), path) != 0) {
		err = vg_http_fail(req, VG_ERR_NOT_FOUND, "no such file in this snapshot", NULL);
		goto out;
	}
	f = json_array_get(files, i);
	size = json_integer_value(json_object_get(f, "size"));
	offset = json_integer_value(json_object_get(f, "offset"));
	if (size > vg_cfg_int(VG_SET_MAX_FILE_VIEW_BYTES)) {
		err = vg_http_error(req, VG_ERR_TOO_LARGE, "the file is larger than "
		    "VEGA_MAX_FILE_VIEW_BYTES", NULL, json_pack("{s:I, s:I}", "size", size,
		    "limit", (json_int_t)vg_cfg_int(VG_SET_MAX_FILE_VIEW_BYTES)));
		goto out;
	}
	if (size > 0) {
		if ((err = open_blob(req, &blob)) != VG_OK)
			goto out;
		if (!(data = malloc((size_t)size))) {
			err = vg_http_fail(req, VG_ERR_NOMEM, NULL, NULL);
			goto out;
		}
		err = vg_blob_get_range(blob, VG_BLOB_SOURCES, snap.storage_key, (uint64_t)offset,
		    (uint64_t)size, &rd);
		while (err == VG_OK && have < (size_t)size &&
		    (err = vg_blob_reader_read(rd, data + have, (size_t)size - have, &got)) == VG_OK &&
		    got > 0)
			have += got;
		if (err != VG_OK || have != (size_t)size) {
			err = vg_http_fail(req, err != VG_OK ? err : VG_ERR_IO,
			    "the file cannot be read from storage", NULL);
			goto out;
		}
	}
	err = vg_http_send(req, 200, "text/plain", data ? data : "", (size_t)size);
out:
	vg_blob_reader_free(rd);
	vg_blob_free(blob);
	free(data);
	json_decref(manifest);
	return err;
}
