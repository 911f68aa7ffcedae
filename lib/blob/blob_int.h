/*
 * blob_int.h - what a file-storage backend provides (private to lib/blob).
 *
 * blob.c validates every key and argument before calling into a backend,
 * so backends see only well-formed keys and buckets in range.
 */
#ifndef VG_BLOB_BLOB_INT_H
#define VG_BLOB_BLOB_INT_H

#include "blob/blob.h"

struct vg_blob_ops {
	const char *name;
	/* root: where the backend keeps its objects, NULL to take it from
	 * the settings.  On failure msg says why. */
	enum vg_err (*open)(struct vg_blob *b, const char *root, char *msg, size_t msglen);
	void (*close)(struct vg_blob *b);
	enum vg_err (*writer_new)(struct vg_blob *b, enum vg_blob_bucket bucket,
	    const char *key, enum vg_blob_put_mode mode, struct vg_blob_writer **out);
	/* The whole object (off 0, len 0), or len bytes from off, which
	 * must lie within it (VG_ERR_INVALID otherwise). */
	enum vg_err (*get)(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
	    uint64_t off, uint64_t len, struct vg_blob_reader **out);
	enum vg_err (*stat)(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
	    struct vg_blob_stat *st);
	enum vg_err (*del)(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key);
	/* Move the local file path into place; VG_ERR_UNAVAILABLE when it
	 * cannot be moved (another file system), and blob.c copies instead.
	 * NULL: always copied. */
	enum vg_err (*put_move)(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
	    const char *path, enum vg_blob_put_mode mode, bool *existed);
	/* Keys starting with prefix and greater than after (NULL: all), the
	 * smallest limit of them, sorted; *more when others remain. */
	enum vg_err (*list)(struct vg_blob *b, enum vg_blob_bucket bucket, const char *prefix,
	    const char *after, size_t limit, struct vg_blob_list *out, bool *more);
};

struct vg_blob_writer_ops {
	enum vg_err (*write)(struct vg_blob_writer *w, const void *p, size_t n);
	enum vg_err (*write_fd)(struct vg_blob_writer *w, int fd, uint64_t off, uint64_t len);
	enum vg_err (*commit)(struct vg_blob_writer *w, bool *existed);   /* frees w */
	void (*abort)(struct vg_blob_writer *w);                          /* frees w */
};

struct vg_blob_reader_ops {
	enum vg_err (*read)(struct vg_blob_reader *r, void *buf, size_t cap, size_t *got);
	void (*free)(struct vg_blob_reader *r);
};

struct vg_blob {
	const struct vg_blob_ops *ops;
	void *impl;             /* the backend's state */
};

/* Backends embed these as their first member. */
struct vg_blob_writer {
	const struct vg_blob_writer_ops *ops;
	uint64_t size;          /* bytes accepted so far */
	bool failed;            /* a write failed: only abort is allowed */
};

struct vg_blob_reader {
	const struct vg_blob_reader_ops *ops;
	uint64_t size;
};

extern const struct vg_blob_ops vg_blob_local_ops;

#endif
