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

int
main(void)
{
	struct vg_store *s = NULL;
	json_t *report = NULL, *items = NULL;
	char path[512], msg[256], *next = NULL;

	if (!mkdtemp(root))
		return 1;
	setenv("VEGA_DATA_DIR", root, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_TMP_RETENTION_SECONDS", "3600", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_store_open(&s) != VG_OK)
		return 1;

	VT_EQ_INT(vg_cleanup_run(s, false, vg_time_now_us(), &report), VG_OK,
	    "a data dir without tmp/ is fine");
	VT_EQ_INT(json_integer_value(json_object_get(report, "count")), 0, "nothing removed");
	json_decref(report);

	snprintf(path, sizeof path, "%s/tmp", root);
	mkdir(path, 0700);
	make_entry("ingest-old", true, 7200);
	make_entry("upload-old", false, 7200);
	make_entry("ingest-new", true, 60);
	snprintf(path, sizeof path, "%s/tmp/link-old", root);
	symlink(root, path);  /* a link to the data dir itself: only the link goes */

	VT_EQ_INT(vg_cleanup_run(s, true, vg_time_now_us(), &report), VG_OK, "dry run");
	VT_EQ_INT(json_integer_value(json_object_get(report, "count")), 2, "dry run lists the two old entries");
	VT_OK(exists("ingest-old") && exists("upload-old"), "dry run removes nothing");
	json_decref(report);

	VT_EQ_INT(vg_cleanup_run(s, false, vg_time_now_us() + 10000000000LL, &report), VG_OK,
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
	vg_store_free(s);
	vg_fs_remove_tree(root);
	return vt_done();
}
