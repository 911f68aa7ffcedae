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

#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

/* mkdir -p with mode for every directory it creates. */
enum vg_err vg_fs_mkdir_p(const char *path, unsigned mode);
/* fsync a directory, so a rename or unlink in it survives a crash. */
enum vg_err vg_fs_sync_dir(const char *dir);
/* Remove everything below the directory open as dfd (it stays open and
 * empty).  VG_ERR_IO when something could not be removed. */
enum vg_err vg_fs_empty_dirfd(int dfd);
/* Write all n bytes to fd (at its offset, or at off for the p-form),
 * retrying short writes and EINTR.  VG_ERR_IO on failure. */
enum vg_err vg_fs_write_all(int fd, const void *p, size_t n);
enum vg_err vg_fs_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* Files (anything but directories, links included) below dir, recursively;
 * and entries directly in dir.  0 when dir does not exist. */
size_t vg_fs_count_files(const char *dir);
size_t vg_fs_count_entries(const char *dir);
/*
 * Read the whole file at path into *out (malloc'd, NUL-terminated; *len
 * bytes before the NUL) when it holds at most max bytes.  Errors:
 * VG_ERR_NOT_FOUND (no such file), VG_ERR_TOO_LARGE (over max),
 * VG_ERR_IO (errno says why), VG_ERR_NOMEM; *out is NULL then.  For
 * small configuration files: keys, price tables.
 */
enum vg_err vg_fs_read_file(const char *path, size_t max, char **out, size_t *len);
/* rm -rf path: a file, a link or a whole directory tree.  A path that
 * does not exist is not an error. */
enum vg_err vg_fs_remove_tree(const char *path);

#endif
