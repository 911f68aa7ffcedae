/* test_cleanup.c - lib/domain/cleanup against the json store. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "blob/blob.h"
#include "core/str.h"
#include "domain/cleanup.h"
#include "store/store.h"
#include "vt.h"

static char root[] = "/tmp/vega-cleanup.XXXXXX";

/* Create tmp/NAME (a file, or a directory with a file) aged age seconds. */
static void
make_entry(const char *name, bool dir, int64_t age)
{
	char path[512], inner[600];
	struct timeval tv[2];
	FILE *fp;

	snprintf(path, sizeof path, "%s/tmp/%s", root, name);
	if (dir) {
		mkdir(path, 0700);
		snprintf(inner, sizeof inner, "%s/spool", path);
		fp = fopen(inner, "w");
	} else {
		fp = fopen(path, "w");
	}
	if (fp)
		fclose(fp);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age;
	tv[1] = tv[0];
	utimes(path, tv);
}

static bool
exists(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof path, "%s/tmp/%s", root, name);
	return lstat(path, &st) == 0;
}

/* Store a blob and age it age seconds (its file's mtime). */
static void
make_blob(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key, int64_t age)
{
	char path[1200];
	struct timeval tv[2];

	vg_blob_put_mem(b, bucket, key, "x", 1, VG_BLOB_REPLACE, NULL);
	snprintf(path, sizeof path, "%s/blobs/%s/%s", root, vg_blob_bucket_name(bucket), key);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age;
	tv[1] = tv[0];
	utimes(path, tv);
}

static bool
has_blob(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key)
{
	struct vg_blob_stat st;

	return vg_blob_stat(b, bucket, key, &st) == VG_OK;
}

/* Whether the report's removed list names kind/name. */
static bool
listed(const json_t *report, const char *kind, const char *name)
{
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(report, "removed"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
			return true;
	return false;
}

/* A scan of a new repository: finished when finish, else running; its id
 * and its snapshot's storage key into the arguments. */
static void
make_scan(struct vg_store *s, bool finish, char id[VG_UUID_LEN + 1], char *key, size_t klen)
{
	static int n;
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot sn;
	struct vg_scan sc, got;
	struct vg_lease l;
	struct vg_scan_finish f = {VG_SCAN_COMPLETED, NULL, NULL, "scan_completed", NULL, 0};

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&sn, 0, sizeof sn);
	memset(&sc, 0, sizeof sc);
	snprintf(u.email, sizeof u.email, "c%d@example.invalid", ++n);
	vg_str_copy(u.display_name, sizeof u.display_name, "C");
	u.groups = VG_GROUP_USER;
	vg_store_user_create(s, &u);
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	vg_store_project_create(s, &p);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_store_repository_create(s, &r);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	snprintf(sn.digest, sizeof sn.digest, "%064d", n);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	VT_EQ_INT(vg_store_snapshot_create(s, &sn, NULL), VG_OK, "a snapshot row");
	vg_str_copy(key, klen, sn.storage_key);
	vg_str_copy(sc.repository_id, sizeof sc.repository_id, r.id);
	vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, sn.id);
	vg_str_copy(sc.engine, sizeof sc.engine, "rules");
	vg_str_copy(sc.options, sizeof sc.options, "{}");
	VT_EQ_INT(vg_store_scan_create(s, &sc, 0), VG_OK, "a scan");
	VT_EQ_INT(vg_store_scan_claim(s, NULL, sc.id, "cleanup-test-lease-0123456789abcdef",
	    vg_time_now_us(), &got), VG_OK, "claimed");
	l.scan_id = got.id;
	l.attempt = got.attempt;
	l.lease_token = got.lease_token;
	VT_EQ_INT(vg_store_scan_start(s, &l, vg_time_now_us()), VG_OK, "running");
	if (finish) {
		f.now_us = vg_time_now_us();
		VT_EQ_INT(vg_store_scan_finish(s, &l, &f), VG_OK, "finished");
	}
	vg_str_copy(id, VG_UUID_LEN + 1, sc.id);
}

/* Artifacts, source blobs and worker rows. */
static void
test_store_and_blobs(struct vg_store *s)
{
	struct vg_cleanup_opts o = {false, 0, NULL, NULL};
	struct vg_blob *b = NULL;
	struct vg_worker w;
	json_t *report = NULL, *last = NULL;
	char done[VG_UUID_LEN + 1], active[VG_UUID_LEN + 1], used[1100], used_manifest[1100];
	char k_done[200], k_active[200], k_orphan[200], other[1100];
	int64_t now = vg_time_now_us(), day = 86400LL * 1000000;

	VT_EQ_INT(vg_blob_open(&b, NULL, 0), VG_OK, "the file storage");
	make_scan(s, true, done, used, sizeof used);
	make_scan(s, false, active, other, sizeof other);
	snprintf(used_manifest, sizeof used_manifest, "%.*s.manifest.json",
	    (int)(strlen(used) - 4), used);
	make_blob(b, VG_BLOB_SOURCES, used, 7200);
	make_blob(b, VG_BLOB_SOURCES, used_manifest, 7200);
	make_blob(b, VG_BLOB_SOURCES, "snapshots/orphan.tar", 7200);
	make_blob(b, VG_BLOB_SOURCES, "snapshots/orphan.manifest.json", 7200);
	make_blob(b, VG_BLOB_SOURCES, "snapshots/fresh.tar", 0);
	snprintf(k_done, sizeof k_done, "scans/%s/report.json", done);
	snprintf(k_active, sizeof k_active, "scans/%s/events.jsonl", active);
	snprintf(k_orphan, sizeof k_orphan, "scans/%s/report.json",
	    "0b7d7a52-93a4-4e43-9a57-1c0c54f5e001");
	make_blob(b, VG_BLOB_ARTIFACTS, k_done, 0);
	make_blob(b, VG_BLOB_ARTIFACTS, k_active, 0);
	make_blob(b, VG_BLOB_ARTIFACTS, k_orphan, 7200);
	memset(&w, 0, sizeof w);
	vg_uuid_new(w.id);
	vg_str_copy(w.host, sizeof w.host, "h");
	vg_str_copy(w.version, sizeof w.version, "t");
	vg_str_copy(w.state, sizeof w.state, "stopped");
	w.started_at_us = w.last_heartbeat_us = now - 10 * day;
	VT_EQ_INT(vg_store_worker_upsert(s, &w), VG_OK, "a worker stopped 10 days ago");

	o.dry_run = true;
	o.now_us = now;
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK, "dry run with blobs");
	VT_OK(listed(report, "blob", "snapshots/orphan.tar") &&
	    listed(report, "blob", "snapshots/orphan.manifest.json"), "unreferenced blobs listed");
	VT_OK(listed(report, "artifact", k_orphan), "artifacts of a scan that is gone listed");
	VT_OK(!listed(report, "blob", used) && !listed(report, "blob", used_manifest),
	    "a snapshot's archive and manifest are not");
	VT_OK(!listed(report, "blob", "snapshots/fresh.tar"), "nor a blob within the grace");
	VT_OK(!listed(report, "artifact", k_done), "nor a scan's artifacts within the retention");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(report, "pruned"), "workers")),
	    1, "the old worker row would be pruned");
	VT_OK(has_blob(b, VG_BLOB_SOURCES, "snapshots/orphan.tar") &&
	    has_blob(b, VG_BLOB_ARTIFACTS, k_orphan), "a dry run removes nothing");
	json_decref(report);

	o.dry_run = false;
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK, "real run");
	VT_OK(!has_blob(b, VG_BLOB_SOURCES, "snapshots/orphan.tar") &&
	    !has_blob(b, VG_BLOB_SOURCES, "snapshots/orphan.manifest.json") &&
	    !has_blob(b, VG_BLOB_ARTIFACTS, k_orphan), "unreferenced blobs removed");
	VT_OK(has_blob(b, VG_BLOB_SOURCES, used) && has_blob(b, VG_BLOB_SOURCES, used_manifest) &&
	    has_blob(b, VG_BLOB_SOURCES, "snapshots/fresh.tar") &&
	    has_blob(b, VG_BLOB_ARTIFACTS, k_done) && has_blob(b, VG_BLOB_ARTIFACTS, k_active),
	    "everything else kept");
	json_decref(report);
	VT_EQ_INT(vg_cleanup_last(s, &last), VG_OK, "the last run");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(last, "counts"), "workers")),
	    1, "the last run's counts, from the audit log");
	json_decref(last);

	o.now_us = now + 2 * day;   /* past VEGA_ARTIFACT_RETENTION_DAYS=1 */
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK, "two days later");
	VT_OK(!has_blob(b, VG_BLOB_ARTIFACTS, k_done), "a finished scan's artifacts expire");
	VT_OK(has_blob(b, VG_BLOB_ARTIFACTS, k_active), "a running scan's stay");
	VT_OK(!has_blob(b, VG_BLOB_SOURCES, "snapshots/fresh.tar"),
	    "an unreferenced blob goes once past the grace");
	VT_OK(has_blob(b, VG_BLOB_SOURCES, used), "a referenced one never");
	json_decref(report);
	vg_blob_free(b);
}

int
main(void)
{
	struct vg_store *s = NULL;
	struct vg_cleanup_opts o = {false, 0, NULL, NULL};
	json_t *report = NULL, *items = NULL;
	char path[512], msg[256], *next = NULL;

	if (!mkdtemp(root))
		return 1;
	setenv("VEGA_DATA_DIR", root, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_TMP_RETENTION_SECONDS", "3600", 1);
	setenv("VEGA_BLOB_GRACE_SECONDS", "3600", 1);
	setenv("VEGA_ARTIFACT_RETENTION_DAYS", "1", 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_store_open(&s) != VG_OK)
		return 1;

	o.now_us = vg_time_now_us();
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK, "a data dir without tmp/ is fine");
	VT_EQ_INT(json_integer_value(json_object_get(report, "count")), 0, "nothing removed");
	json_decref(report);

	snprintf(path, sizeof path, "%s/tmp", root);
	mkdir(path, 0700);
	make_entry("ingest-old", true, 7200);
	make_entry("upload-old", false, 7200);
	make_entry("ingest-new", true, 60);
	snprintf(path, sizeof path, "%s/tmp/link-old", root);
	symlink(root, path);  /* a link to the data dir itself: only the link goes */

	o.dry_run = true;
	o.now_us = vg_time_now_us();
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK, "dry run");
	VT_EQ_INT(json_integer_value(json_object_get(report, "count")), 2, "dry run lists the two old entries");
	VT_OK(exists("ingest-old") && exists("upload-old"), "dry run removes nothing");
	json_decref(report);

	o.dry_run = false;
	o.now_us = vg_time_now_us() + 10000000000LL;
	VT_EQ_INT(vg_cleanup_run(s, &o, &report), VG_OK,
	    "real run (clock ahead: everything is old)");
	VT_EQ_INT(json_integer_value(json_object_get(report, "count")), 4, "every old entry removed");
	VT_OK(!exists("ingest-old") && !exists("upload-old") && !exists("ingest-new") &&
	    !exists("link-old"), "entries are gone");
	snprintf(path, sizeof path, "%s/store", root);
	VT_OK(access(path, F_OK) == 0, "the link's target survives");
	json_decref(report);

	VT_EQ_INT(vg_store_audit_list(s, NULL, 10, &items, &next), VG_OK, "audit log readable");
	VT_EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "action")),
	    "maintenance.cleanup", "the real run is in the audit log");
	json_decref(items);
	free(next);
	test_store_and_blobs(s);
	vg_store_free(s);
	vg_fs_remove_tree(root);
	return vt_done();
}
