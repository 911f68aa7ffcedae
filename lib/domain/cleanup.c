/* cleanup.c - the maintenance pass over leftovers. */
#include "config.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "core/settings.h"
#include "domain/cleanup.h"

/* Temporary entries under $VEGA_DATA_DIR/tmp older than the retention. */
static enum vg_err
sweep_tmp(bool dry_run, int64_t now_us, json_t *removed, json_t *failed)
{
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
		json_t *item;

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
		item = json_pack("{s:s,s:s,s:I}", "kind", "tmp", "name", de->d_name,
		    "age_seconds", (json_int_t)age);
		if (!dry_run && vg_fs_remove_tree(path) != VG_OK)
			json_array_append_new(failed, item);
		else
			json_array_append_new(removed, item);
	}
	closedir(d);
	return VG_OK;
}

enum vg_err
vg_cleanup_run(struct vg_store *store, bool dry_run, int64_t now_us, json_t **report)
{
	json_t *removed = json_array(), *failed = json_array();
	struct vg_audit_event ev;
	enum vg_err err;

	*report = NULL;
	if (!removed || !failed) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = sweep_tmp(dry_run, now_us, removed, failed)) != VG_OK)
		goto out;
	if (!dry_run) {
		memset(&ev, 0, sizeof ev);
		ev.action = "maintenance.cleanup";
		ev.details = json_pack("{s:I,s:I}", "removed", (json_int_t)json_array_size(removed),
		    "failed", (json_int_t)json_array_size(failed));
		err = vg_store_audit_append(store, &ev);
		json_decref(ev.details);
		if (err != VG_OK)
			goto out;
	}
	*report = json_pack("{s:b,s:I,s:O,s:O}", "dry_run", dry_run, "count",
	    (json_int_t)json_array_size(removed), "removed", removed, "failed", failed);
	err = json_array_size(failed) ? VG_ERR_IO : VG_OK;
out:
	json_decref(removed);
	json_decref(failed);
	return err;
}
