/*
 * archive_int.h - pieces shared by ingest and extract (private to
 * lib/archive): name checks, the canonical tar writer, languages,
 * libarchive set-up and error classification.
 */
#ifndef VG_ARCHIVE_ARCHIVE_INT_H
#define VG_ARCHIVE_ARCHIVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include "archive/archive.h"
#include "blob/blob.h"

struct archive;

/*
 * The caller's stream as libarchive reads it: every byte is counted into
 * *count and against limit.  pending bytes at the start of buf (read
 * ahead, e.g. to recognise a zip) are handed over first.
 */
struct vg_archive_input {
	vg_archive_read_fn fn;
	void *ctx;
	uint64_t limit;
	uint64_t *count;
	unsigned char *buf;   /* cap bytes, owned by the user of the struct */
	size_t cap;
	size_t pending;
	bool eof;
	bool over;            /* more than limit bytes arrived */
	enum vg_err err;      /* the stream's own failure */
};

/* Read up to cap bytes into dst; *got is 0 at the end.  VG_ERR_TOO_LARGE
 * (and in->over) past the limit; the stream's error as it came. */
enum vg_err vg_archive_input_fill(struct vg_archive_input *in, unsigned char *dst,
    size_t cap, size_t *got);
/* Read until at least n bytes are pending or the stream ends. */
enum vg_err vg_archive_input_sniff(struct vg_archive_input *in, size_t n);
/* A libarchive read callback over a struct vg_archive_input. */
la_ssize_t vg_archive_input_la_read(struct archive *a, void *ud, const void **buff);

/*
 * Normalize an entry's name into out (VG_ARCHIVE_PATH_MAX + 1 bytes):
 * "./" and empty components dropped, trailing '/' removed; "" names the
 * root itself.  Returns NULL when acceptable, else the refusal reason
 * ("absolute_path", "path_traversal", "invalid_utf8_name", "invalid_name",
 * "path_too_long").
 */
const char *vg_archive_path_normalize(const char *raw, char *out, size_t outsz);

/*
 * Whether a symbolic link at path (normalized) with this target stays in
 * the tree, judged on the names alone.  NULL when it does, else the reason
 * ("link_outside_tree", "invalid_utf8_name", "invalid_name").
 */
const char *vg_archive_link_check(const char *path, const char *target);

/* Copy a name for an error report: bytes that are not printable ASCII
 * become \xNN, and it is cut to fit out. */
void vg_archive_show_path(const char *raw, char *out, size_t outsz);

/* Record a refusal in res; returns VG_ERR_INVALID_ARCHIVE. */
enum vg_err vg_archive_refuse(struct vg_archive_result *res, const char *reason,
    const char *raw_path);

/* Why libarchive flagged a header with ARCHIVE_WARN ("invalid_utf8_name"
 * or "corrupt"); raw is the entry's name, may be NULL. */
const char *vg_archive_warn_reason(struct archive *a, const char *raw);

/*
 * Classify libarchive's current error on a: "truncated" when the input
 * ended early, else "corrupt".
 */
const char *vg_archive_la_reason(struct archive *a);

/* Run f(arg) with the calling thread's LC_CTYPE set to C.UTF-8, so
 * libarchive hands names over as the UTF-8 bytes they are. */
enum vg_err vg_archive_with_utf8(enum vg_err (*f)(void *), void *arg);

/* ---- the canonical tar ---- */

/* Room for the longest header vg_tar_header writes (pax member included). */
#define VG_TAR_HEADER_MAX (VG_ARCHIVE_PATH_MAX + 2048)

/* The header blocks for a regular file of size bytes at path, into out;
 * their length (a multiple of 512), 0 when cap is too small. */
size_t vg_tar_header(unsigned char *out, size_t cap, const char *path, uint64_t size);
/* The length vg_tar_header would give, without building the header. */
size_t vg_tar_header_len(const char *path, uint64_t size);
/* Append the header(s) for a regular file of size bytes at path. */
enum vg_err vg_tar_write_header(struct vg_blob_writer *w, const char *path, uint64_t size);
/* Append the zero padding that follows size bytes of data. */
enum vg_err vg_tar_write_padding(struct vg_blob_writer *w, uint64_t size);
/* Append the end-of-archive marker. */
enum vg_err vg_tar_write_end(struct vg_blob_writer *w);

/* ---- the spool writer (spool.c) ---- */

#define VG_SPOOL_CHUNK (256u * 1024)  /* bytes per buffer */
#define VG_SPOOL_HASH 1u              /* the bytes belong to the file's hash */
#define VG_SPOOL_BEGIN 2u             /* they start a file (hash restarts) */
#define VG_SPOOL_END 4u               /* the file ends with them: keep its hash */

struct vg_spool;

/* A spool writer over fd, written front to back (direct: fd has
 * O_DIRECT).  Free with vg_spool_free. */
enum vg_err vg_spool_new(int fd, bool direct, struct vg_spool **out);
/* The buffer (VG_SPOOL_CHUNK bytes) to fill next; NULL when out of memory. */
unsigned char *vg_spool_buffer(struct vg_spool *s);
/* Submit that buffer: n bytes at offset off, at or after the end of what
 * came before (a gap is filled with zeros); flags VG_SPOOL_*; file_no
 * names the file whose hash the bytes feed.  The first failure so far. */
enum vg_err vg_spool_submit(struct vg_spool *s, size_t n, uint64_t off, unsigned flags,
    size_t file_no);
/* Submit n unhashed bytes from p at off, in order like the rest. */
enum vg_err vg_spool_put(struct vg_spool *s, const void *p, size_t n, uint64_t off);
/* Wait for every submission and write the tail: the spool is complete
 * (a direct file may run on with zeros to a 4 KiB boundary). */
enum vg_err vg_spool_drain(struct vg_spool *s);
/* The SHA-256 of file file_no once drained; NULL if there is none. */
const unsigned char *vg_spool_sha(const struct vg_spool *s, size_t file_no);
/* Overwrite n bytes at off of the drained spool; calls in ascending
 * order of off, then vg_spool_patch_done. */
enum vg_err vg_spool_patch(struct vg_spool *s, uint64_t off, const void *p, size_t n);
enum vg_err vg_spool_patch_done(struct vg_spool *s);
/* Copy len bytes of the drained spool from off into w. */
enum vg_err vg_spool_copy_to(struct vg_spool *s, uint64_t off, uint64_t len,
    struct vg_blob_writer *w);
void vg_spool_free(struct vg_spool *s);

/* ---- languages (lang.c) ---- */

int vg_archive_lang_index(const char *path, const void *head, size_t n);
const char *vg_archive_lang_name(int index);
int vg_archive_lang_count(void);

#endif
