/*
 * blob.c - the file-storage interface: backend table, key validation and
 * the checks every backend relies on.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "blob/blob_int.h"
#include "core/settings.h"
#include "core/str.h"

/* VEGA_FILE_STORAGE_BACKEND's choices.  A NULL ops marks a backend that is
 * named in the settings but not built yet: opening it explains why. */
static const struct {
	const char *name;
	const struct vg_blob_ops *ops;
	const char *unavailable;
} backends[] = {
	{"local", &vg_blob_local_ops, NULL},
	{"s3", NULL, "s3 file storage is not configured in this version of Vega; "
	    "use VEGA_FILE_STORAGE_BACKEND=local"},
};

static const char *const bucket_names[VG_BLOB__BUCKETS] = {
	[VG_BLOB_SOURCES] = "sources",
	[VG_BLOB_ARTIFACTS] = "artifacts",
};

const char *
vg_blob_bucket_name(enum vg_blob_bucket bucket)
{
	if ((unsigned)bucket >= VG_BLOB__BUCKETS)
		return "?";
	return bucket_names[bucket];
}

static void
set_msg(char *msg, size_t msglen, const char *text)
{
	if (msg && msglen)
		snprintf(msg, msglen, "%s", text);
}

/* Allocate a handle for ops and let the backend open it. */
static enum vg_err
open_with(const struct vg_blob_ops *ops, const char *root, struct vg_blob **out,
    char *msg, size_t msglen)
{
	struct vg_blob *b = NULL;
	enum vg_err err;

	*out = NULL;
	if (!(b = calloc(1, sizeof *b))) {
		err = VG_ERR_NOMEM;
		set_msg(msg, msglen, "out of memory");
		goto out;
	}
	b->ops = ops;
	if ((err = ops->open(b, root, msg, msglen)) != VG_OK)
		goto out;
	*out = b;
	b = NULL;
out:
	free(b);
	return err;
}

/*
 * The backend named by VEGA_FILE_STORAGE_BACKEND.  Returns
 * VG_ERR_UNAVAILABLE with msg set for a backend that is not built yet.
 */
enum vg_err
vg_blob_open(struct vg_blob **out, char *msg, size_t msglen)
{
	const char *name = vg_cfg_str(VG_SET_FILE_STORAGE_BACKEND);
	size_t i;

	*out = NULL;
	set_msg(msg, msglen, "");
	for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		if (strcmp(backends[i].name, name) != 0)
			continue;
		if (!backends[i].ops) {
			set_msg(msg, msglen, backends[i].unavailable);
			return VG_ERR_UNAVAILABLE;
		}
		return open_with(backends[i].ops, NULL, out, msg, msglen);
	}
	set_msg(msg, msglen, "unknown VEGA_FILE_STORAGE_BACKEND");
	return VG_ERR_INVALID;
}

enum vg_err
vg_blob_open_local(const char *root, struct vg_blob **out)
{
	*out = NULL;
	if (!root || !*root)
		return VG_ERR_INVALID;
	return open_with(&vg_blob_local_ops, root, out, NULL, 0);
}

void
vg_blob_free(struct vg_blob *b)
{
	if (!b)
		return;
	b->ops->close(b);
	free(b);
}

const char *
vg_blob_backend(const struct vg_blob *b)
{
	return b->ops->name;
}

static bool
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

/*
 * Keys are segments of [A-Za-z0-9._-] joined by single slashes; a segment
 * never starts with '.', so ".", ".." and the local backend's ".tmp-"
 * files cannot be named, and no key can leave its bucket.
 */
bool
vg_blob_key_valid(const char *key)
{
	size_t len = 0, seg = 0;
	const char *p;

	if (!key || !*key)
		return false;
	for (p = key; *p; p++, len++) {
		if (len >= VG_BLOB_KEY_MAX)
			return false;
		if (*p == '/') {
			if (seg == 0)
				return false;   /* leading or doubled slash */
			seg = 0;
			continue;
		}
		if (!key_char(*p) || (seg == 0 && *p == '.'))
			return false;
		if (++seg > VG_BLOB_SEGMENT_MAX)
			return false;
	}
	return seg > 0;   /* no trailing slash */
}

static bool
args_ok(const struct vg_blob *b, enum vg_blob_bucket bucket, const char *key)
{
	return b && (unsigned)bucket < VG_BLOB__BUCKETS && vg_blob_key_valid(key);
}

enum vg_err
vg_blob_writer_new(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    enum vg_blob_put_mode mode, struct vg_blob_writer **out)
{
	*out = NULL;
	if (!args_ok(b, bucket, key) || (mode != VG_BLOB_REPLACE && mode != VG_BLOB_IF_ABSENT))
		return VG_ERR_INVALID;
	return b->ops->writer_new(b, bucket, key, mode, out);
}

enum vg_err
vg_blob_writer_write(struct vg_blob_writer *w, const void *p, size_t n)
{
	enum vg_err err;

	if (w->failed)
		return VG_ERR_IO;
	if (n == 0)
		return VG_OK;
	if ((err = w->ops->write(w, p, n)) != VG_OK)
		w->failed = true;
	else
		w->size += n;
	return err;
}

enum vg_err
vg_blob_writer_write_fd(struct vg_blob_writer *w, int fd, uint64_t off, uint64_t len)
{
	enum vg_err err;

	if (w->failed)
		return VG_ERR_IO;
	if (len == 0)
		return VG_OK;
	if ((err = w->ops->write_fd(w, fd, off, len)) != VG_OK)
		w->failed = true;
	else
		w->size += len;
	return err;
}

uint64_t
vg_blob_writer_size(const struct vg_blob_writer *w)
{
	return w->size;
}

enum vg_err
vg_blob_writer_commit(struct vg_blob_writer *w, bool *existed)
{
	if (existed)
		*existed = false;
	if (w->failed) {
		w->ops->abort(w);
		return VG_ERR_IO;
	}
	return w->ops->commit(w, existed);
}

void
vg_blob_writer_abort(struct vg_blob_writer *w)
{
	if (w)
		w->ops->abort(w);
}

/* Feed a writer from a whole file, then commit it. */
enum vg_err
vg_blob_put_file(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    const char *path, enum vg_blob_put_mode mode, bool *existed)
{
	struct vg_blob_writer *w = NULL;
	char buf[65536];
	enum vg_err err;
	FILE *f = NULL;
	size_t n;

	if (existed)
		*existed = false;
	if (!(f = fopen(path, "rb"))) {
		err = VG_ERR_IO;
		goto out;
	}
	if ((err = vg_blob_writer_new(b, bucket, key, mode, &w)) != VG_OK)
		goto out;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if ((err = vg_blob_writer_write(w, buf, n)) != VG_OK)
			goto out;
	}
	if (ferror(f)) {
		err = VG_ERR_IO;
		goto out;
	}
	err = vg_blob_writer_commit(w, existed);
	w = NULL;
out:
	vg_blob_writer_abort(w);
	if (f)
		fclose(f);
	return err;
}

enum vg_err
vg_blob_put_file_move(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    const char *path, enum vg_blob_put_mode mode, bool *existed)
{
	enum vg_err err = VG_ERR_UNAVAILABLE;

	if (existed)
		*existed = false;
	if (!args_ok(b, bucket, key) || !path || (mode != VG_BLOB_REPLACE && mode != VG_BLOB_IF_ABSENT))
		return VG_ERR_INVALID;
	if (b->ops->put_move)
		err = b->ops->put_move(b, bucket, key, path, mode, existed);
	if (err == VG_ERR_UNAVAILABLE) {   /* not movable: copy, then drop the file */
		err = vg_blob_put_file(b, bucket, key, path, mode, existed);
		if (err == VG_OK)
			unlink(path);
	}
	return err;
}

enum vg_err
vg_blob_put_mem(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    const void *p, size_t n, enum vg_blob_put_mode mode, bool *existed)
{
	struct vg_blob_writer *w = NULL;
	enum vg_err err;

	if (existed)
		*existed = false;
	if ((err = vg_blob_writer_new(b, bucket, key, mode, &w)) != VG_OK)
		goto out;
	if ((err = vg_blob_writer_write(w, p, n)) != VG_OK)
		goto out;
	err = vg_blob_writer_commit(w, existed);
	w = NULL;
out:
	vg_blob_writer_abort(w);
	return err;
}

enum vg_err
vg_blob_get(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    struct vg_blob_reader **out)
{
	*out = NULL;
	if (!args_ok(b, bucket, key))
		return VG_ERR_INVALID;
	return b->ops->get(b, bucket, key, 0, 0, out);
}

enum vg_err
vg_blob_get_range(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    uint64_t offset, uint64_t length, struct vg_blob_reader **out)
{
	*out = NULL;
	if (!args_ok(b, bucket, key) || length == 0)
		return VG_ERR_INVALID;
	return b->ops->get(b, bucket, key, offset, length, out);
}

enum vg_err
vg_blob_reader_read(struct vg_blob_reader *r, void *buf, size_t cap, size_t *got)
{
	*got = 0;
	if (cap == 0)
		return VG_ERR_INVALID;
	return r->ops->read(r, buf, cap, got);
}

uint64_t
vg_blob_reader_size(const struct vg_blob_reader *r)
{
	return r->size;
}

void
vg_blob_reader_free(struct vg_blob_reader *r)
{
	if (r)
		r->ops->free(r);
}

enum vg_err
vg_blob_stat(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    struct vg_blob_stat *st)
{
	memset(st, 0, sizeof *st);
	if (!args_ok(b, bucket, key))
		return VG_ERR_INVALID;
	return b->ops->stat(b, bucket, key, st);
}

enum vg_err
vg_blob_delete(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key)
{
	if (!args_ok(b, bucket, key))
		return VG_ERR_INVALID;
	return b->ops->del(b, bucket, key);
}

/* A prefix is a key, or the start of one: the same characters, and it may
 * end with a slash. */
static bool
prefix_valid(const char *prefix)
{
	char tmp[VG_BLOB_KEY_MAX + 2];
	size_t n = strlen(prefix);

	if (n == 0)
		return true;
	if (n > VG_BLOB_KEY_MAX)
		return false;
	memcpy(tmp, prefix, n + 1);
	if (tmp[n - 1] == '/')
		tmp[n - 1] = '\0';
	return vg_blob_key_valid(tmp);
}

/*
 * One page of keys.  The cursor is the last key of the previous page,
 * which is all a backend needs to resume (S3's StartAfter works alike).
 */
enum vg_err
vg_blob_list(struct vg_blob *b, enum vg_blob_bucket bucket, const char *prefix,
    const char *cursor, size_t limit, struct vg_blob_list *out)
{
	bool more = false;
	enum vg_err err;

	memset(out, 0, sizeof *out);
	if (!b || (unsigned)bucket >= VG_BLOB__BUCKETS || !prefix || !prefix_valid(prefix) ||
	    limit < 1 || limit > VG_BLOB_LIST_MAX)
		return VG_ERR_INVALID;
	if (cursor && (!vg_blob_key_valid(cursor) || !vg_str_has_prefix(cursor, prefix)))
		return VG_ERR_INVALID;
	if ((err = b->ops->list(b, bucket, prefix, cursor, limit, out, &more)) != VG_OK) {
		vg_blob_list_free(out);
		return err;
	}
	if (more && out->n > 0 && !(out->next_cursor = strdup(out->keys[out->n - 1]))) {
		vg_blob_list_free(out);
		return VG_ERR_NOMEM;
	}
	return VG_OK;
}

void
vg_blob_list_free(struct vg_blob_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	free(l->next_cursor);
	memset(l, 0, sizeof *l);
}
