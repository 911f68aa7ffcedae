/* cleanup.c - the maintenance pass over leftovers (cleanup.h). */
#include "config.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "blob/blob.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/cleanup.h"

#define DAY_US (86400LL * 1000000)
#define LIST_PAGE 500

/* What one pass collects. */
struct pass {
	const struct vg_cleanup_opts *o;
	json_t *removed, *failed, *skipped;
	int64_t tmp, artifacts, blobs;   /* entries removed, by kind */
};

/* Record entry name of kind, aged age seconds, as removed (or failed). */
static void
note(struct pass *p, const char *kind, const char *name, int64_t age, bool ok)
{
	json_t *item = json_pack("{s:s,s:s,s:I}", "kind", kind, "name", name,
	    "age_seconds", (json_int_t)age);

	json_array_append_new(ok ? p->removed : p->failed, item);
}

/* Temporary entries under $VEGA_DATA_DIR/tmp older than the retention. */
static enum vg_err
sweep_tmp(struct pass *p)
{
	bool dry_run = p->o->dry_run;
	int64_t now_us = p->o->now_us;
	char dir[PATH_MAX], path[PATH_MAX];
	int64_t keep = vg_cfg_int(VG_SET_TMP_RETENTION_SECONDS);
	struct dirent *de;
	DIR *d;
	int n;

	n = snprintf(dir, sizeof dir, "%s/tmp", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof dir)
		return VG_ERR_INVALID;
	if (!(d = opendir(dir)))
		return VG_OK;  /* nothing was ever spooled */
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int64_t age;
		bool ok;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		age = now_us / 1000000 - (int64_t)st.st_mtime;
		if (age < keep)
			continue;
		n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof path)
			continue;
		ok = dry_run || vg_fs_remove_tree(path) == VG_OK;
		note(p, "tmp", de->d_name, age, ok);
		p->tmp += ok;
	}
	closedir(d);
	return VG_OK;
}

/* ---- blobs ---- */

/* Remove key of bucket when not a dry run; noted either way. */
static void
remove_blob(struct pass *p, struct vg_blob *b, enum vg_blob_bucket bucket, const char *kind,
    const char *key, int64_t age, int64_t *counter)
{
	bool ok = p->o->dry_run || vg_blob_delete(b, bucket, key) == VG_OK;

	note(p, kind, key, age, ok);
	*counter += ok;
}

/* Age in seconds of key at now; -1 when it cannot be read. */
static int64_t
blob_age(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key, int64_t now_us)
{
	struct vg_blob_stat st;

	if (vg_blob_stat(b, bucket, key, &st) != VG_OK)
		return -1;
	return (now_us - st.mtime_us) / 1000000;
}

/* The scan id of an artifact key "scans/<id>/...", into id; false when
 * the key is not of that form. */
static bool
artifact_scan(const char *key, char id[VG_UUID_LEN + 1])
{
	const char *rest, *slash;

	if (!vg_str_has_prefix(key, "scans/"))
		return false;
	rest = key + 6;
	if (!(slash = strchr(rest, '/')) || slash - rest != VG_UUID_LEN)
		return false;
	memcpy(id, rest, VG_UUID_LEN);
	id[VG_UUID_LEN] = '\0';
	return vg_uuid_valid(id);
}

/* Whether the artifacts of scan id may go: finished before cutoff, or
 * gone (then the object's own age decides, against the grace). */
enum verdict { KEEP, EXPIRED, ORPHAN };

static enum vg_err
scan_verdict(struct vg_store *s, const char *id, int64_t cutoff, enum verdict *v)
{
	struct vg_scan sc;
	enum vg_err err = vg_store_scan_get(s, id, &sc);

	*v = KEEP;
	if (err == VG_ERR_NOT_FOUND) {
		*v = ORPHAN;
		return VG_OK;
	}
	if (err != VG_OK)
		return err;
	if (sc.finished_at_us && sc.finished_at_us < cutoff &&
	    (strcmp(sc.status, VG_SCAN_COMPLETED) == 0 || strcmp(sc.status, VG_SCAN_FAILED) == 0 ||
	    strcmp(sc.status, VG_SCAN_CANCELLED) == 0))
		*v = EXPIRED;
	return VG_OK;
}

/* Artifacts of scans past the retention, and of scans that are gone. */
static enum vg_err
sweep_artifacts(struct pass *p, struct vg_store *s, struct vg_blob *b)
{
	int64_t now = p->o->now_us, grace = vg_cfg_int(VG_SET_BLOB_GRACE_SECONDS);
	int64_t cutoff = now - vg_cfg_int(VG_SET_ARTIFACT_RETENTION_DAYS) * DAY_US;
	char id[VG_UUID_LEN + 1], last[VG_UUID_LEN + 1] = "", *cursor = NULL;
	struct vg_blob_list page;
	enum verdict v = KEEP;
	enum vg_err err = VG_OK;
	size_t i;

	do {
		memset(&page, 0, sizeof page);
		if ((err = vg_blob_list(b, VG_BLOB_ARTIFACTS, "scans/", cursor, LIST_PAGE,
		    &page)) != VG_OK)
			break;
		for (i = 0; i < page.n && err == VG_OK; i++) {
			int64_t age;

			if (!artifact_scan(page.keys[i], id))
				continue;
			/* keys are sorted: one look-up per scan */
			if (strcmp(id, last) != 0) {
				if ((err = scan_verdict(s, id, cutoff, &v)) != VG_OK)
					break;
				vg_str_copy(last, sizeof last, id);
			}
			if (v == KEEP)
				continue;
			age = blob_age(b, VG_BLOB_ARTIFACTS, page.keys[i], now);
			if (age < 0 || (v == ORPHAN && age < grace))
				continue;
			remove_blob(p, b, VG_BLOB_ARTIFACTS, "artifact", page.keys[i], age,
			    &p->artifacts);
		}
		free(cursor);
		cursor = page.next_cursor;
		page.next_cursor = NULL;
		vg_blob_list_free(&page);
	} while (cursor && err == VG_OK);
	free(cursor);
	return err;
}

/* The snapshot archive a sources key belongs to: a manifest
 * "<x>.manifest.json" to "<x>.tar", anything else to itself. */
static void
owning_key(const char *key, char *out, size_t len)
{
	static const char suffix[] = ".manifest.json";
	size_t n = strlen(key), sl = sizeof suffix - 1;

	if (n > sl && strcmp(key + n - sl, suffix) == 0 && n - sl + 5 <= len) {
		memcpy(out, key, n - sl);
		memcpy(out + n - sl, ".tar", 5);
		return;
	}
	vg_str_copy(out, len, key);
}

/* Source objects no snapshot names, older than the grace. */
static enum vg_err
sweep_sources(struct pass *p, struct vg_store *s, struct vg_blob *b)
{
	int64_t now = p->o->now_us, grace = vg_cfg_int(VG_SET_BLOB_GRACE_SECONDS);
	char owner[VG_BLOB_KEY_MAX + 8], *cursor = NULL;
	struct vg_blob_list page;
	enum vg_err err = VG_OK;
	size_t i;

	do {
		memset(&page, 0, sizeof page);
		if ((err = vg_blob_list(b, VG_BLOB_SOURCES, "", cursor, LIST_PAGE, &page)) != VG_OK)
			break;
		for (i = 0; i < page.n && err == VG_OK; i++) {
			int64_t age = blob_age(b, VG_BLOB_SOURCES, page.keys[i], now);
			bool used = true;

			if (age < 0 || age < grace)
				continue;
			owning_key(page.keys[i], owner, sizeof owner);
			if ((err = vg_store_snapshot_key_used(s, owner, &used)) != VG_OK || used)
				continue;
			remove_blob(p, b, VG_BLOB_SOURCES, "blob", page.keys[i], age, &p->blobs);
		}
		free(cursor);
		cursor = page.next_cursor;
		page.next_cursor = NULL;
		vg_blob_list_free(&page);
	} while (cursor && err == VG_OK);
	free(cursor);
	return err;
}

/* Both buckets; a file storage that cannot be opened is noted as
 * skipped, not an error of the pass. */
static enum vg_err
sweep_blobs(struct pass *p, struct vg_store *s)
{
	struct vg_blob *b = NULL;
	char msg[256] = "";
	enum vg_err err;

	if (vg_blob_open(&b, msg, sizeof msg) != VG_OK) {
		json_array_append_new(p->skipped, json_sprintf("artifacts and blobs: %s",
		    msg[0] ? msg : "the file storage is unavailable"));
		return VG_OK;
	}
	err = sweep_artifacts(p, s, b);
	if (err == VG_OK)
		err = sweep_sources(p, s, b);
	vg_blob_free(b);
	return err;
}

/* ---- the pass ---- */

static void
pass_clear(struct pass *p)
{
	json_decref(p->removed);
	json_decref(p->failed);
	json_decref(p->skipped);
}

enum vg_err
vg_cleanup_run(struct vg_store *store, const struct vg_cleanup_opts *o, json_t **report)
{
	struct pass p = {o, json_array(), json_array(), json_array(), 0, 0, 0};
	struct vg_prune prune;
	struct vg_prune_counts pc;
	struct vg_audit_event ev;
	char at[VG_TIME_RFC3339_LEN];
	json_t *counts = NULL;
	enum vg_err err, ferr = VG_OK;
	int64_t total;

	*report = NULL;
	memset(&pc, 0, sizeof pc);
	if (!p.removed || !p.failed || !p.skipped) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	memset(&prune, 0, sizeof prune);
	prune.dry_run = o->dry_run;
	prune.tokens_before_us = o->now_us;
	prune.workers_before_us = o->now_us - vg_cfg_int(VG_SET_WORKER_RETENTION_DAYS) * DAY_US;
	if ((err = sweep_tmp(&p)) != VG_OK ||
	    (err = vg_store_prune(store, &prune, &pc)) != VG_OK ||
	    (err = sweep_blobs(&p, store)) != VG_OK)
		ferr = err;   /* report what was done so far */
	total = (int64_t)json_array_size(p.removed) + pc.refresh_families + pc.api_keys + pc.workers;
	counts = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "removed", (json_int_t)total,
	    "failed", (json_int_t)json_array_size(p.failed), "tmp", (json_int_t)p.tmp,
	    "artifacts", (json_int_t)p.artifacts, "blobs", (json_int_t)p.blobs,
	    "refresh_families", (json_int_t)pc.refresh_families, "api_keys",
	    (json_int_t)pc.api_keys, "workers", (json_int_t)pc.workers);
	if (!o->dry_run && ferr == VG_OK) {
		memset(&ev, 0, sizeof ev);
		ev.action = "maintenance.cleanup";
		ev.actor_id = o->actor_id;
		ev.request_id = o->request_id;
		ev.details = counts;
		ferr = vg_store_audit_append(store, &ev);
	}
	vg_time_format(o->now_us, at);
	*report = json_pack("{s:b,s:s,s:I,s:O,s:O,s:{s:I,s:I,s:I},s:O}", "dry_run", o->dry_run,
	    "at", at, "count", (json_int_t)total, "removed", p.removed, "failed", p.failed,
	    "pruned", "refresh_families", (json_int_t)pc.refresh_families, "api_keys",
	    (json_int_t)pc.api_keys, "workers", (json_int_t)pc.workers, "skipped", p.skipped);
	if (ferr != VG_OK)
		err = ferr;
	else
		err = json_array_size(p.failed) ? VG_ERR_IO : VG_OK;
out:
	json_decref(counts);
	pass_clear(&p);
	return err;
}

enum vg_err
vg_cleanup_last(struct vg_store *store, json_t **last)
{
	char *cursor = NULL, *next = NULL;
	json_t *items = NULL, *e;
	int seen = 0;
	enum vg_err err = VG_OK;
	size_t i;

	*last = NULL;
	while (seen < VG_CLEANUP_AUDIT_SCAN && !*last) {
		if ((err = vg_store_audit_list(store, cursor, VG_STORE_LIST_MAX, &items, &next)) !=
		    VG_OK)
			break;
		json_array_foreach(items, i, e) {
			const char *action = json_string_value(json_object_get(e, "action"));
			json_t *actor = json_object_get(e, "actor_id"), *details;

			if (!action || strcmp(action, "maintenance.cleanup") != 0)
				continue;
			details = json_object_get(e, "details");
			*last = json_pack("{s:O,s:O,s:O}", "at", json_object_get(e, "at"),
			    "actor_id", actor ? actor : json_null(),
			    "counts", details ? details : json_null());
			break;
		}
		seen += (int)json_array_size(items);
		json_decref(items);
		items = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
		if (!cursor)
			break;
	}
	free(cursor);
	return err;
}
