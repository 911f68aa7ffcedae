/*
 * blob_local.c - the local file-storage backend: one file per object under
 * <root>/<bucket>/<key>, root being $VEGA_DATA_DIR/blobs by default.
 *
 * A writer fills "<dir>/.tmp-<random>" next to where the object will live
 * (same directory, hence same filesystem), fsyncs it, then moves it into
 * place with one rename, and fsyncs the directory: a reader sees the whole
 * object or none, and a crash leaves at worst a hidden temporary file,
 * never a torn object.  Keys cannot name hidden files (blob.c), so
 * temporaries never show in listings.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "blob/blob_int.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"

#define STAGE_SIZE (2u << 20)   /* a writer's bytes per write */
#define DIO_ALIGN 4096u         /* O_DIRECT: buffer, offset and length */

struct local {
	char root[PATH_MAX];
};

struct local_writer {
	struct vg_blob_writer base;   /* first: blob.c sees only this */
	enum vg_blob_put_mode mode;
	int fd;
	bool direct;            /* fd switched to O_DIRECT */
	unsigned char *stage;   /* STAGE_SIZE bytes, allocated on the first write */
	size_t staged;          /* bytes in the stage */
	uint64_t flushed;       /* bytes written to the file */
	char tmp[PATH_MAX];
	char final[PATH_MAX];
	char dir[PATH_MAX];
};

struct local_reader {
	struct vg_blob_reader base;
	int fd;
	uint64_t left;          /* bytes the reader may still return */
};

static enum vg_err
join(char *out, size_t size, const char *a, const char *b, const char *c)
{
	int n = snprintf(out, size, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");

	return (n < 0 || (size_t)n >= size) ? VG_ERR_INVALID : VG_OK;
}

/* <root>/<bucket>/<key> into out. */
static enum vg_err
object_path(const struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    char *out, size_t size)
{
	const struct local *l = b->impl;

	return join(out, size, l->root, vg_blob_bucket_name(bucket), key);
}

static enum vg_err
local_open(struct vg_blob *b, const char *root, char *msg, size_t msglen)
{
	struct local *l = calloc(1, sizeof *l);
	enum vg_err err = VG_OK;
	int n;

	if (!l)
		return VG_ERR_NOMEM;
	if (root)
		n = snprintf(l->root, sizeof l->root, "%s", root);
	else
		n = snprintf(l->root, sizeof l->root, "%s/blobs", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof l->root) {
		if (msg && msglen)
			snprintf(msg, msglen, "VEGA_DATA_DIR is too long");
		err = VG_ERR_INVALID;
		goto out;
	}
	b->impl = l;
	l = NULL;
out:
	free(l);
	return err;
}

static void
local_close(struct vg_blob *b)
{
	free(b->impl);
	b->impl = NULL;
}

/* ---- writer ---- */

/*
 * A writer gathers bytes in a stage and writes it out in STAGE_SIZE
 * pieces.  From the first full piece on, the file is switched to O_DIRECT
 * where the file system allows: a large object then bypasses the page
 * cache, whose copying costs more CPU than the rest of an ingest on some
 * virtual machines, and commit's fsync has little left to do.  A small
 * object (one stage) is written in one ordinary write at commit.
 */
static enum vg_err
lw_flush(struct local_writer *w, bool last)
{
	size_t n = w->staged;

	if (n == 0)
		return VG_OK;
	if (!last && !w->direct && w->flushed == 0)
		w->direct = fcntl(w->fd, F_SETFL, O_DIRECT) == 0;
	if (last && w->direct && n % DIO_ALIGN) {
		/* Whole blocks only; commit cuts the file back to its size. */
		memset(w->stage + n, 0, DIO_ALIGN - n % DIO_ALIGN);
		n += DIO_ALIGN - n % DIO_ALIGN;
	}
	if (vg_fs_pwrite_all(w->fd, w->stage, n, w->flushed) != VG_OK)
		return VG_ERR_IO;
	w->flushed += w->staged;
	w->staged = 0;
	return VG_OK;
}

static enum vg_err
lw_stage(struct local_writer *w)
{
	void *p = NULL;

	if (w->stage)
		return VG_OK;
	if (posix_memalign(&p, DIO_ALIGN, STAGE_SIZE) != 0)
		return VG_ERR_NOMEM;
	w->stage = p;
	return VG_OK;
}

static enum vg_err
lw_write(struct vg_blob_writer *base, const void *p, size_t n)
{
	struct local_writer *w = (struct local_writer *)base;
	const unsigned char *c = p;
	enum vg_err err;

	if ((err = lw_stage(w)) != VG_OK)
		return err;
	while (n > 0) {
		size_t k = STAGE_SIZE - w->staged;

		if (k > n)
			k = n;
		memcpy(w->stage + w->staged, c, k);
		w->staged += k;
		c += k;
		n -= k;
		if (w->staged == STAGE_SIZE && (err = lw_flush(w, false)) != VG_OK)
			return err;
	}
	return VG_OK;
}

/* Copy len bytes of fd at off into the object, read straight into the
 * stage (fd must not be an O_DIRECT file). */
static enum vg_err
lw_write_fd(struct vg_blob_writer *base, int fd, uint64_t off, uint64_t len)
{
	struct local_writer *w = (struct local_writer *)base;
	enum vg_err err;

	if ((err = lw_stage(w)) != VG_OK)
		return err;
	while (len > 0) {
		size_t want = STAGE_SIZE - w->staged;
		ssize_t k;

		if (want > len)
			want = (size_t)len;
		k = pread(fd, w->stage + w->staged, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VG_ERR_IO;   /* error, or the file is shorter than said */
		w->staged += (size_t)k;
		off += (uint64_t)k;
		len -= (uint64_t)k;
		if (w->staged == STAGE_SIZE && (err = lw_flush(w, false)) != VG_OK)
			return err;
	}
	return VG_OK;
}

static void
lw_free(struct local_writer *w, bool remove_tmp)
{
	free(w->stage);
	if (w->fd >= 0)
		close(w->fd);
	if (remove_tmp && w->tmp[0])
		unlink(w->tmp);
	free(w);
}

static void
lw_abort(struct vg_blob_writer *base)
{
	lw_free((struct local_writer *)base, true);
}

/*
 * Make the temporary file durable, then move it into place.  IF_ABSENT
 * uses renameat2(RENAME_NOREPLACE), or link() where the filesystem lacks
 * it: both fail with EEXIST instead of replacing, so of two concurrent
 * writers of one key exactly one installs its file.
 */
static enum vg_err
lw_commit(struct vg_blob_writer *base, bool *existed)
{
	struct local_writer *w = (struct local_writer *)base;
	uint64_t size = w->flushed + w->staged;
	enum vg_err err = VG_OK;
	int rc;

	if ((err = lw_flush(w, true)) != VG_OK ||
	    (w->direct && ftruncate(w->fd, (off_t)size) != 0)) {
		err = VG_ERR_IO;
		goto out;
	}
	if (fsync(w->fd) != 0 || close(w->fd) != 0) {
		w->fd = -1;
		err = VG_ERR_IO;
		goto out;
	}
	w->fd = -1;
	if (w->mode == VG_BLOB_REPLACE) {
		if (rename(w->tmp, w->final) != 0) {
			err = VG_ERR_IO;
			goto out;
		}
		w->tmp[0] = '\0';
	} else {
		rc = renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->final, RENAME_NOREPLACE);
		if (rc != 0 && (errno == EINVAL || errno == ENOSYS))
			rc = link(w->tmp, w->final);   /* tmp is removed below */
		else if (rc == 0)
			w->tmp[0] = '\0';
		if (rc != 0 && errno == EEXIST) {
			if (existed)
				*existed = true;
		} else if (rc != 0) {
			err = VG_ERR_IO;
			goto out;
		}
	}
	err = vg_fs_sync_dir(w->dir);
out:
	if (err != VG_OK)
		vg_log(VG_LOG_ERROR, "blob_commit_failed", "error", strerror(errno), NULL);
	lw_free(w, true);
	return err;
}

static const struct vg_blob_writer_ops local_writer_ops = {
	.write = lw_write,
	.write_fd = lw_write_fd,
	.commit = lw_commit,
	.abort = lw_abort,
};

/* Create the temporary file beside the object's final place. */
static enum vg_err
local_writer_new(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    enum vg_blob_put_mode mode, struct vg_blob_writer **out)
{
	struct local_writer *w = calloc(1, sizeof *w);
	unsigned char rnd[8];
	char hex[17], *slash;
	enum vg_err err;
	int attempt, n;

	if (!w)
		return VG_ERR_NOMEM;
	w->base.ops = &local_writer_ops;
	w->mode = mode;
	w->fd = -1;
	if ((err = object_path(b, bucket, key, w->final, sizeof w->final)) != VG_OK)
		goto out;
	vg_str_copy(w->dir, sizeof w->dir, w->final);
	slash = strrchr(w->dir, '/');
	*slash = '\0';
	if ((err = vg_random_bytes(rnd, sizeof rnd)) != VG_OK)
		goto out;
	vg_hex_encode(rnd, sizeof rnd, hex);
	n = snprintf(w->tmp, sizeof w->tmp, "%s/.tmp-%s", w->dir, hex);
	if (n < 0 || (size_t)n >= sizeof w->tmp) {
		err = VG_ERR_INVALID;
		goto out;
	}
	/* A second attempt covers a directory removed between mkdir and open. */
	for (attempt = 0; attempt < 2 && w->fd < 0; attempt++) {
		if ((err = vg_fs_mkdir_p(w->dir, 0750)) != VG_OK)
			goto out;
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (w->fd < 0 && errno != ENOENT)
			break;
	}
	if (w->fd < 0) {
		err = VG_ERR_IO;
		goto out;
	}
	*out = &w->base;
	w = NULL;
out:
	if (w) {
		w->tmp[0] = '\0';
		lw_free(w, false);
	}
	return err;
}

/*
 * Move a file the caller owns into place, as a writer's commit would
 * (fsync the file, rename or no-replace rename, fsync the directory),
 * without copying its bytes.  VG_ERR_UNAVAILABLE when it lives on
 * another file system.
 */
static enum vg_err
local_put_move(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    const char *path, enum vg_blob_put_mode mode, bool *existed)
{
	char final[PATH_MAX], dir[PATH_MAX];
	enum vg_err err;
	struct stat st;
	int fd, rc;

	if ((err = object_path(b, bucket, key, final, sizeof final)) != VG_OK)
		return err;
	vg_str_copy(dir, sizeof dir, final);
	*strrchr(dir, '/') = '\0';
	if ((err = vg_fs_mkdir_p(dir, 0750)) != VG_OK)
		return err;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return VG_ERR_IO;
	rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fchmod(fd, 0640) == 0 && fsync(fd) == 0;
	close(fd);
	if (!rc)
		return VG_ERR_IO;
	if (mode == VG_BLOB_REPLACE) {
		rc = rename(path, final);
	} else {
		rc = renameat2(AT_FDCWD, path, AT_FDCWD, final, RENAME_NOREPLACE);
		if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
			rc = link(path, final);
			if (rc == 0 || errno == EEXIST) {
				int saved = errno;

				unlink(path);
				errno = saved;
			}
		}
		if (rc != 0 && errno == EEXIST) {
			if (existed)
				*existed = true;
			unlink(path);
			rc = 0;
		}
	}
	if (rc != 0)
		return errno == EXDEV ? VG_ERR_UNAVAILABLE : VG_ERR_IO;
	return vg_fs_sync_dir(dir);
}

/* ---- reader, stat, delete ---- */

static enum vg_err
lr_read(struct vg_blob_reader *base, void *buf, size_t cap, size_t *got)
{
	struct local_reader *r = (struct local_reader *)base;
	ssize_t k;

	if (cap > r->left)
		cap = (size_t)r->left;
	if (cap == 0)
		return VG_OK;
	do
		k = read(r->fd, buf, cap);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return VG_ERR_IO;
	*got = (size_t)k;
	r->left -= (uint64_t)k;
	return VG_OK;
}

static void
lr_free(struct vg_blob_reader *base)
{
	struct local_reader *r = (struct local_reader *)base;

	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static const struct vg_blob_reader_ops local_reader_ops = {
	.read = lr_read,
	.free = lr_free,
};

/* Open key; with a range (len > 0 or off > 0) the reader starts at off
 * and stops after len bytes, which must lie within the object. */
static enum vg_err
local_get(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key, uint64_t off,
    uint64_t len, struct vg_blob_reader **out)
{
	struct local_reader *r = NULL;
	char path[PATH_MAX];
	struct stat st;
	enum vg_err err;
	int fd = -1;

	if ((err = object_path(b, bucket, key, path, sizeof path)) != VG_OK)
		goto out;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err = (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ?
		    VG_ERR_NOT_FOUND : VG_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = VG_ERR_NOT_FOUND;   /* a directory is a prefix, not an object */
		goto out;
	}
	if (len == 0)
		len = off <= (uint64_t)st.st_size ? (uint64_t)st.st_size - off : 0;
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		err = VG_ERR_INVALID;
		goto out;
	}
	if (off && lseek(fd, (off_t)off, SEEK_SET) != (off_t)off) {
		err = VG_ERR_IO;
		goto out;
	}
	if (!(r = calloc(1, sizeof *r))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	r->base.ops = &local_reader_ops;
	r->base.size = len;
	r->left = len;
	r->fd = fd;
	fd = -1;
	*out = &r->base;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static enum vg_err
local_stat(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key,
    struct vg_blob_stat *st)
{
	char path[PATH_MAX];
	struct stat s;
	enum vg_err err;

	if ((err = object_path(b, bucket, key, path, sizeof path)) != VG_OK)
		return err;
	if (lstat(path, &s) != 0)
		return (errno == ENOENT || errno == ENOTDIR) ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	if (!S_ISREG(s.st_mode))
		return VG_ERR_NOT_FOUND;
	st->size = (uint64_t)s.st_size;
	st->mtime_us = (int64_t)s.st_mtim.tv_sec * 1000000 + s.st_mtim.tv_nsec / 1000;
	return VG_OK;
}

static enum vg_err
local_delete(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key)
{
	char path[PATH_MAX], *slash;
	struct stat s;
	enum vg_err err;

	if ((err = object_path(b, bucket, key, path, sizeof path)) != VG_OK)
		return err;
	if (lstat(path, &s) != 0)
		return (errno == ENOENT || errno == ENOTDIR) ? VG_OK : VG_ERR_IO;
	if (!S_ISREG(s.st_mode))
		return VG_OK;   /* a directory: no object by that name */
	if (unlink(path) != 0)
		return errno == ENOENT ? VG_OK : VG_ERR_IO;
	slash = strrchr(path, '/');
	*slash = '\0';
	return vg_fs_sync_dir(path);
}

/* ---- listing ---- */

/*
 * The smallest keys seen so far, as a max-heap of at most cap entries:
 * memory stays bounded by the page size however many objects match.
 */
struct heap {
	char **k;
	size_t n, cap;
};

static void
heap_swap(struct heap *h, size_t a, size_t b)
{
	char *t = h->k[a];

	h->k[a] = h->k[b];
	h->k[b] = t;
}

static void
heap_down(struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && strcmp(h->k[l], h->k[m]) > 0)
			m = l;
		if (r < h->n && strcmp(h->k[r], h->k[m]) > 0)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Offer a key; kept only while among the cap smallest. */
static enum vg_err
heap_offer(struct heap *h, const char *key)
{
	size_t i;
	char *dup;

	if (h->n == h->cap && strcmp(key, h->k[0]) >= 0)
		return VG_OK;
	if (!(dup = strdup(key)))
		return VG_ERR_NOMEM;
	if (h->n == h->cap) {
		free(h->k[0]);
		h->k[0] = dup;
		heap_down(h, 0);
		return VG_OK;
	}
	i = h->n++;
	h->k[i] = dup;
	while (i > 0 && strcmp(h->k[(i - 1) / 2], h->k[i]) < 0) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return VG_OK;
}

struct walk {
	const char *prefix;
	size_t prefix_len;
	const char *after;
	struct heap heap;
	char key[VG_BLOB_KEY_MAX + 1];
};

/*
 * Visit the directory dfd whose key so far is wk->key[0..len): files are
 * offered, subdirectories entered only when they can hold a key with the
 * prefix.  Names that cannot be keys (hidden temporaries, foreign files)
 * are ignored.  Takes ownership of dfd.
 */
static enum vg_err
walk_dir(struct walk *wk, int dfd, size_t len)
{
	DIR *d = fdopendir(dfd);
	enum vg_err err = VG_OK;
	struct dirent *de;

	if (!d) {
		close(dfd);
		return VG_ERR_IO;
	}
	while (err == VG_OK && (de = readdir(d)) != NULL) {
		size_t nlen = strlen(de->d_name), klen = len + nlen;
		size_t cmp;
		struct stat st;

		if (de->d_name[0] == '.' || klen > VG_BLOB_KEY_MAX)
			continue;
		memcpy(wk->key + len, de->d_name, nlen + 1);
		if (!vg_blob_key_valid(wk->key))
			continue;
		/* Prune: the key so far must agree with the prefix. */
		cmp = klen < wk->prefix_len ? klen : wk->prefix_len;
		if (memcmp(wk->key, wk->prefix, cmp) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;   /* removed meanwhile */
		if (S_ISREG(st.st_mode)) {
			if (klen >= wk->prefix_len && (!wk->after || strcmp(wk->key, wk->after) > 0))
				err = heap_offer(&wk->heap, wk->key);
		} else if (S_ISDIR(st.st_mode) && klen + 1 < VG_BLOB_KEY_MAX) {
			int sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				continue;
			wk->key[klen] = '/';
			wk->key[klen + 1] = '\0';
			if (klen + 1 <= wk->prefix_len &&
			    memcmp(wk->key, wk->prefix, klen + 1) != 0) {
				close(sub);
				continue;
			}
			err = walk_dir(wk, sub, klen + 1);
		}
	}
	closedir(d);
	wk->key[len] = '\0';
	return err;
}

static int
cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Walk the bucket and keep the limit + 1 smallest keys with the prefix
 * after the cursor: the extra one says whether another page exists.
 * Costs one walk of the matching subtree per page.
 */
static enum vg_err
local_list(struct vg_blob *b, enum vg_blob_bucket bucket, const char *prefix,
    const char *after, size_t limit, struct vg_blob_list *out, bool *more)
{
	const struct local *l = b->impl;
	struct walk wk;
	char dir[PATH_MAX];
	enum vg_err err = VG_OK;
	int dfd;

	memset(&wk, 0, sizeof wk);
	wk.prefix = prefix;
	wk.prefix_len = strlen(prefix);
	wk.after = after;
	wk.heap.cap = limit + 1;
	if (!(wk.heap.k = calloc(wk.heap.cap, sizeof *wk.heap.k)))
		return VG_ERR_NOMEM;
	if ((err = join(dir, sizeof dir, l->root, vg_blob_bucket_name(bucket), NULL)) != VG_OK)
		goto out;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT)
			err = VG_ERR_IO;   /* no bucket directory yet: empty */
		goto out;
	}
	if ((err = walk_dir(&wk, dfd, 0)) != VG_OK)
		goto out;
	qsort(wk.heap.k, wk.heap.n, sizeof *wk.heap.k, cmp_keys);
	if (wk.heap.n > limit) {
		*more = true;
		free(wk.heap.k[limit]);
		wk.heap.n = limit;
	}
	out->keys = wk.heap.k;
	out->n = wk.heap.n;
	wk.heap.k = NULL;
	wk.heap.n = 0;
out:
	while (wk.heap.n > 0)
		free(wk.heap.k[--wk.heap.n]);
	free(wk.heap.k);
	return err;
}

const struct vg_blob_ops vg_blob_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.writer_new = local_writer_new,
	.get = local_get,
	.stat = local_stat,
	.del = local_delete,
	.list = local_list,
	.put_move = local_put_move,
};
