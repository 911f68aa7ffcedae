/*
 * fsutil.h - small file-system helpers shared by the store, the blob store,
 * archive ingestion and maintenance.
 *
 * Removal never follows symbolic links: a link inside a tree is removed as
 * a link, whatever it points to, so a hostile tree cannot make a cleanup
 * delete something outside it.
 */
#ifndef VG_CORE_FSUTIL_H
#define VG_CORE_FSUTIL_H

#include "core/err.h"

/* mkdir -p with mode for every directory it creates. */
enum vg_err vg_fs_mkdir_p(const char *path, unsigned mode);
/* fsync a directory, so a rename or unlink in it survives a crash. */
enum vg_err vg_fs_sync_dir(const char *dir);
/* Remove everything below the directory open as dfd (it stays open and
 * empty).  VG_ERR_IO when something could not be removed. */
enum vg_err vg_fs_empty_dirfd(int dfd);
/* rm -rf path: a file, a link or a whole directory tree.  A path that
 * does not exist is not an error. */
enum vg_err vg_fs_remove_tree(const char *path);

#endif
