/*
 * archive_int.h - pieces shared by ingest and extract (private to
 * lib/archive): name checks, the canonical tar writer, languages,
 * libarchive set-up and error classification.
 */
#ifndef VG_ARCHIVE_ARCHIVE_INT_H
#define VG_ARCHIVE_ARCHIVE_INT_H

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

/* Append the header(s) for a regular file of size bytes at path. */
enum vg_err vg_tar_write_header(struct vg_blob_writer *w, const char *path, uint64_t size);
/* Append the zero padding that follows size bytes of data. */
enum vg_err vg_tar_write_padding(struct vg_blob_writer *w, uint64_t size);
/* Append the end-of-archive marker. */
enum vg_err vg_tar_write_end(struct vg_blob_writer *w);

/* ---- languages (lang.c) ---- */

int vg_archive_lang_index(const char *path, const void *head, size_t n);
const char *vg_archive_lang_name(int index);
int vg_archive_lang_count(void);

#endif
