/*
 * extract.c - unpack a snapshot tar into an empty private directory (the
 * contract is archive.h).
 *
 * Every file system call is relative to a directory file descriptor under
 * the root, each path component opened with O_NOFOLLOW|O_DIRECTORY, and
 * files created with O_CREAT|O_EXCL|O_NOFOLLOW: whatever the archive or a
 * concurrent process put in the tree, nothing is written outside it and
 * nothing existing is overwritten.  Only regular files and directories
 * are accepted (a snapshot holds nothing else); modes are 0644 and 0755.
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive/archive.h"
#include "core/fsutil.h"
#include "archive/archive_int.h"

#define INBUF_SIZE (256u * 1024)
#define CHUNK_SIZE (256u * 1024)
#define HEADER_ALLOWANCE (16u * 1024)
#define STREAM_SLACK (1024u * 1024)

struct extract {
	struct vg_archive_input in;
	struct vg_archive_limits lim;
	struct vg_archive_result *res;
	int rootfd;
	unsigned char *buf;
};

static bool
dir_empty(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool empty = true;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

/*
 * Open (creating when missing) the directories of path[0..len) under the
 * root, one component at a time.  *out is a new descriptor.  A component
 * that exists as anything but a directory is a path_conflict.
 */
static enum vg_err
open_dirs(struct extract *x, const char *path, size_t len, int *out, const char *raw)
{
	char comp[VG_ARCHIVE_NAME_MAX + 1];
	const char *p = path, *end = path + len;
	enum vg_err err = VG_OK;
	int dfd = dup(x->rootfd), next;

	*out = -1;
	if (dfd < 0) {
		err = VG_ERR_IO;
		goto out;
	}
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);

		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(dfd, comp, 0755) != 0 && errno != EEXIST) {
				err = VG_ERR_IO;
				goto out;
			}
			next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			err = (errno == ENOTDIR || errno == ELOOP) ?
			    vg_archive_refuse(x->res, "path_conflict", raw) : VG_ERR_IO;
			goto out;
		}
		close(dfd);
		dfd = next;
		p += n + (slash ? 1 : 0);
	}
	*out = dfd;
	dfd = -1;
out:
	if (dfd >= 0)
		close(dfd);
	return err;
}

static bool
stream_over(struct extract *x, struct archive *a)
{
	la_int64_t consumed = archive_filter_bytes(a, 0);
	uint64_t allowed = (uint64_t)x->lim.total_bytes + STREAM_SLACK +
	    x->res->entries * (uint64_t)HEADER_ALLOWANCE;

	return consumed > 0 && (uint64_t)consumed > allowed;
}

static enum vg_err
la_failed(struct extract *x, struct archive *a, const char *raw)
{
	const char *reason;

	if (x->in.over)
		return vg_archive_refuse(x->res, "uncompressed_too_large", NULL);
	if (x->in.err)
		return x->in.err;
	reason = vg_archive_la_reason(a);
	if (x->res->entries == 0 && archive_format(a) == 0 && strcmp(reason, "truncated") != 0)
		reason = "unsupported_format";
	return vg_archive_refuse(x->res, reason, raw);
}

/* Create path (normalized) and copy the entry's data into it. */
static enum vg_err
extract_file(struct extract *x, struct archive *a, const char *path, const char *raw)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	enum vg_err err;
	uint64_t size = 0;
	la_ssize_t n;
	int dfd = -1, fd = -1;

	if ((err = open_dirs(x, path, slash ? (size_t)(slash - path) : 0, &dfd, raw)) != VG_OK)
		goto out;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno == EEXIST ? vg_archive_refuse(x->res, "duplicate_path", raw) : VG_ERR_IO;
		goto out;
	}
	while ((n = archive_read_data(a, x->buf, CHUNK_SIZE)) > 0) {
		size += (uint64_t)n;
		x->res->expanded_bytes += (uint64_t)n;
		if (size > (uint64_t)x->lim.file_bytes) {
			err = vg_archive_refuse(x->res, "file_too_large", raw);
			goto out;
		}
		if (x->res->expanded_bytes > (uint64_t)x->lim.total_bytes || stream_over(x, a)) {
			err = vg_archive_refuse(x->res, "uncompressed_too_large", raw);
			goto out;
		}
		if ((err = vg_fs_write_all(fd, x->buf, (size_t)n)) != VG_OK)
			goto out;
	}
	if (n < 0) {
		err = la_failed(x, a, raw);
		goto out;
	}
	x->res->files++;
	x->res->bytes += size;
out:
	if (fd >= 0 && close(fd) != 0 && err == VG_OK)
		err = VG_ERR_IO;
	if (dfd >= 0)
		close(dfd);
	return err;
}

/* The kinds a snapshot may hold; links and the rest are refused with
 * these reasons. */
static const struct {
	unsigned int type;
	const char *reason;   /* NULL: accepted */
} extract_types[] = {
	{AE_IFREG, NULL},
	{AE_IFDIR, NULL},
	{AE_IFLNK, "symlink"},
};

static enum vg_err
extract_entry(struct extract *x, struct archive *a, struct archive_entry *ae, int rc)
{
	char norm[VG_ARCHIVE_PATH_MAX + 1];
	const char *raw = archive_entry_pathname(ae), *reason;
	unsigned int type = archive_entry_filetype(ae);
	size_t i;
	int dfd = -1;
	enum vg_err err;

	if (++x->res->entries > (uint64_t)x->lim.entries)
		return vg_archive_refuse(x->res, "too_many_entries", raw);
	if (rc == ARCHIVE_WARN)
		return vg_archive_refuse(x->res, vg_archive_warn_reason(a, raw), raw);
	if (!raw)
		return vg_archive_refuse(x->res, "invalid_name", NULL);
	if ((reason = vg_archive_path_normalize(raw, norm, sizeof norm)) != NULL)
		return vg_archive_refuse(x->res, reason, raw);
	if (archive_entry_hardlink(ae))
		return vg_archive_refuse(x->res, "hard_link", raw);
	for (i = 0; i < sizeof extract_types / sizeof extract_types[0]; i++)
		if (extract_types[i].type == type)
			break;
	if (i == sizeof extract_types / sizeof extract_types[0])
		return vg_archive_refuse(x->res, "special_file", raw);
	if (extract_types[i].reason)
		return vg_archive_refuse(x->res, extract_types[i].reason, raw);
	if (type == AE_IFREG) {
		if (norm[0] == '\0')
			return vg_archive_refuse(x->res, "invalid_name", raw);
		return extract_file(x, a, norm, raw);
	}
	if ((err = open_dirs(x, norm, strlen(norm), &dfd, raw)) != VG_OK)
		return err;
	close(dfd);
	return VG_OK;
}

static enum vg_err
extract_run(void *arg)
{
	struct extract *x = arg;
	struct archive *a = NULL;
	struct archive_entry *ae;
	enum vg_err err = VG_OK;
	int rc;

	if (!(a = archive_read_new())) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if (archive_read_support_format_tar(a) != ARCHIVE_OK) {
		err = VG_ERR_INTERNAL;
		goto out;
	}
	if (archive_read_open2(a, &x->in, NULL, vg_archive_input_la_read, NULL, NULL) != ARCHIVE_OK) {
		err = la_failed(x, a, NULL);
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(a, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {   /* RETRY too: a damaged header */
			err = la_failed(x, a, NULL);
			goto out;
		}
		if ((err = extract_entry(x, a, ae, rc)) != VG_OK)
			goto out;
	}
out:
	if (a)
		archive_read_free(a);
	return err;
}

/*
 * See archive.h.  The input may be as large as the limits let the files
 * be, plus headers: a snapshot is uncompressed, so source_bytes (meant
 * for compressed uploads) does not apply.
 */
enum vg_err
vg_archive_extract(vg_archive_read_fn read_fn, void *ctx, const char *root,
    const struct vg_archive_limits *lim, struct vg_archive_result *res)
{
	struct extract x;
	enum vg_err err;

	memset(res, 0, sizeof *res);
	memset(&x, 0, sizeof x);
	x.res = res;
	x.rootfd = -1;
	if (lim)
		x.lim = *lim;
	else
		vg_archive_limits_from_settings(&x.lim);
	if (!read_fn || !root || x.lim.entries < 0 || x.lim.file_bytes < 0 || x.lim.total_bytes < 0)
		return VG_ERR_INVALID;
	x.in.fn = read_fn;
	x.in.ctx = ctx;
	x.in.count = &res->input_bytes;
	x.in.limit = (uint64_t)x.lim.total_bytes + STREAM_SLACK +
	    (uint64_t)x.lim.entries * HEADER_ALLOWANCE;
	x.in.cap = INBUF_SIZE;
	x.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x.rootfd < 0) {
		err = errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? VG_ERR_INVALID : VG_ERR_IO;
		goto out;
	}
	if (!dir_empty(x.rootfd)) {
		err = VG_ERR_INVALID;
		goto out;
	}
	if (!(x.in.buf = malloc(INBUF_SIZE)) || !(x.buf = malloc(CHUNK_SIZE))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	res->format = "tar";
	err = vg_archive_with_utf8(extract_run, &x);
	if (err != VG_OK)
		vg_fs_empty_dirfd(x.rootfd);   /* a refused archive leaves the root empty */
out:
	if (err != VG_OK && err != VG_ERR_INVALID_ARCHIVE && err != VG_ERR_TOO_LARGE)
		res->reason[0] = '\0';
	if (x.rootfd >= 0)
		close(x.rootfd);
	free(x.in.buf);
	free(x.buf);
	return err;
}
