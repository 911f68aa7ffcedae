/*
 * blob.h - file storage: named objects in two buckets, one interface,
 * backends chosen by VEGA_FILE_STORAGE_BACKEND.
 *
 *   local  directories under $VEGA_DATA_DIR/blobs/<bucket>/, one file per
 *          object; writes go to a temporary file in the object's directory
 *          (past the page cache, with O_DIRECT, for large objects), are
 *          fsync'ed, then renamed into place, so an object is either whole
 *          or absent and a failed write leaves nothing;
 *   s3     not available yet: opening answers VG_ERR_UNAVAILABLE.
 *
 * Buckets: VG_BLOB_SOURCES (source snapshots and their manifests) and
 * VG_BLOB_ARTIFACTS (scan reports, logs, bundles).
 *
 * Keys are relative paths such as "snapshots/<sha256>.tar" or
 * "scans/<id>/report.json": 1..VG_BLOB_KEY_MAX bytes of [A-Za-z0-9._-]
 * segments separated by single '/', no segment starting with '.' (which
 * excludes "." and ".." and keeps the backend's hidden temporary names out
 * of the key space), no leading or trailing '/'.  Every call validates its
 * key and answers VG_ERR_INVALID for a bad one, before touching storage.
 *
 * Writes are streamed through a writer (write ... commit, or abort).  A
 * writer opened with VG_BLOB_IF_ABSENT never replaces an object: commit
 * succeeds and reports *existed when the key is already taken, leaving the
 * stored object untouched.  That is how content-addressed keys are written:
 * two concurrent writers of the same key both succeed and one intact
 * object remains.  VG_BLOB_REPLACE atomically replaces any object there.
 *
 * Errors: VG_ERR_INVALID (bad key or argument), VG_ERR_NOT_FOUND (no such
 * object), VG_ERR_IO (storage failed), VG_ERR_UNAVAILABLE (backend not
 * configured or unreachable), VG_ERR_NOMEM.
 */
#ifndef VG_BLOB_BLOB_H
#define VG_BLOB_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

#define VG_BLOB_KEY_MAX 1024      /* longest key, bytes (S3's limit) */
#define VG_BLOB_SEGMENT_MAX 255   /* longest segment between slashes */
#define VG_BLOB_LIST_MAX 1000     /* largest page a list call returns */

enum vg_blob_bucket {
	VG_BLOB_SOURCES,
	VG_BLOB_ARTIFACTS,
	VG_BLOB__BUCKETS
};

enum vg_blob_put_mode {
	VG_BLOB_REPLACE,    /* the new object replaces any old one */
	VG_BLOB_IF_ABSENT   /* an existing object wins; the new bytes are dropped */
};

struct vg_blob;           /* an open backend */
struct vg_blob_writer;    /* one object being written */
struct vg_blob_reader;    /* one object being read */

struct vg_blob_stat {
	uint64_t size;        /* bytes */
	int64_t mtime_us;     /* last modification, microseconds since the epoch */
};

/* One page of a listing; free with vg_blob_list_free. */
struct vg_blob_list {
	char **keys;          /* n keys in ascending byte order */
	size_t n;
	char *next_cursor;    /* pass to the next call; NULL on the last page */
};

/*
 * Open the backend VEGA_FILE_STORAGE_BACKEND names (vg_settings_load
 * first).  On failure *out is NULL and msg (msglen bytes, may be NULL)
 * says why, e.g. that s3 is not configured.  Free with vg_blob_free.
 */
enum vg_err vg_blob_open(struct vg_blob **out, char *msg, size_t msglen);
/* Open the local backend rooted at root (the "blobs" directory itself;
 * created on the first write).  For tests and tools. */
enum vg_err vg_blob_open_local(const char *root, struct vg_blob **out);
void vg_blob_free(struct vg_blob *b);
/* "local" or "s3". */
const char *vg_blob_backend(const struct vg_blob *b);
/* The bucket's name ("sources", "artifacts"); "?" when out of range. */
const char *vg_blob_bucket_name(enum vg_blob_bucket bucket);

/* Whether key is acceptable (see the rules above). */
bool vg_blob_key_valid(const char *key);

/*
 * Start writing key.  Nothing is visible under key until commit.  *out is
 * consumed by exactly one of vg_blob_writer_commit or _abort.
 */
enum vg_err vg_blob_writer_new(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, enum vg_blob_put_mode mode, struct vg_blob_writer **out);
/* Append n bytes.  After a failure the writer only accepts abort. */
enum vg_err vg_blob_writer_write(struct vg_blob_writer *w, const void *p, size_t n);
/* Append len bytes of the open file fd from offset off (the fd's own
 * offset is not used nor moved; fd must not be an O_DIRECT file);
 * VG_ERR_IO if fewer are there. */
enum vg_err vg_blob_writer_write_fd(struct vg_blob_writer *w, int fd, uint64_t off,
    uint64_t len);
/* Bytes written so far. */
uint64_t vg_blob_writer_size(const struct vg_blob_writer *w);
/*
 * Make the object durable and visible, and free the writer (always, even
 * on failure, after which nothing was stored).  existed (may be NULL) is
 * set when a VG_BLOB_IF_ABSENT writer found the key already taken.
 */
enum vg_err vg_blob_writer_commit(struct vg_blob_writer *w, bool *existed);
/* Drop everything written and free the writer; NULL is accepted. */
void vg_blob_writer_abort(struct vg_blob_writer *w);

/* Store the whole file at path under key (a writer fed from the file). */
enum vg_err vg_blob_put_file(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, const char *path, enum vg_blob_put_mode mode, bool *existed);
/*
 * Store the file at path under key by handing the file itself over: the
 * local backend moves it into place when path lies on the same file
 * system (no copy), else copies it.  path must be a regular file the
 * caller made and nobody else writes.  On success path is gone (moved, or
 * copied then removed); on failure it may remain and the caller removes
 * it.  existed as for vg_blob_writer_commit.
 */
enum vg_err vg_blob_put_file_move(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, const char *path, enum vg_blob_put_mode mode, bool *existed);
/* Store n bytes from memory under key. */
enum vg_err vg_blob_put_mem(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, const void *p, size_t n, enum vg_blob_put_mode mode, bool *existed);

/* Open key for reading; VG_ERR_NOT_FOUND when absent.  Free with
 * vg_blob_reader_free. */
enum vg_err vg_blob_get(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, struct vg_blob_reader **out);
/* Open length (> 0) bytes of key from offset for reading, e.g. one file
 * of a snapshot tar; the range must lie within the object
 * (VG_ERR_INVALID otherwise).  Free with vg_blob_reader_free. */
enum vg_err vg_blob_get_range(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, uint64_t offset, uint64_t length, struct vg_blob_reader **out);
/* Read up to cap bytes into buf; *got is 0 only at the end. */
enum vg_err vg_blob_reader_read(struct vg_blob_reader *r, void *buf, size_t cap, size_t *got);
/* The bytes the reader will return in all: the object's size as it was
 * when opened, or the range's length. */
uint64_t vg_blob_reader_size(const struct vg_blob_reader *r);
void vg_blob_reader_free(struct vg_blob_reader *r);

/* Size and modification time of key; VG_ERR_NOT_FOUND when absent. */
enum vg_err vg_blob_stat(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *key, struct vg_blob_stat *st);
/* Remove key.  Removing an absent key succeeds (as S3 does), so callers
 * can retry a delete. */
enum vg_err vg_blob_delete(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key);

/*
 * List keys starting with prefix ("" for all; need not end at a '/'), in
 * ascending byte order, at most limit (1..VG_BLOB_LIST_MAX) per page,
 * after cursor (NULL for the first page; otherwise a next_cursor from an
 * earlier page).  out is filled; free it with vg_blob_list_free.
 */
enum vg_err vg_blob_list(struct vg_blob *b, enum vg_blob_bucket bucket,
    const char *prefix, const char *cursor, size_t limit, struct vg_blob_list *out);
void vg_blob_list_free(struct vg_blob_list *l);

#endif
