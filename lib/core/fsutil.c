/* fsutil.c - mkdir -p, directory fsync, removal without following links. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "core/str.h"

enum vg_err
vg_fs_mkdir_p(const char *path, unsigned mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (!*path || vg_str_copy(tmp, sizeof tmp, path) != VG_OK)
		return VG_ERR_INVALID;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return VG_ERR_IO;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return VG_ERR_IO;
	return VG_OK;
}

enum vg_err
vg_fs_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum vg_err err = VG_OK;

	if (fd < 0)
		return VG_ERR_IO;
	if (fsync(fd) != 0)
		err = VG_ERR_IO;
	close(fd);
	return err;
}

/* Remove one entry of dfd: a directory is emptied first, through a
 * descriptor opened with O_NOFOLLOW, so a link is never entered. */
static enum vg_err
remove_entry(int dfd, const char *name)
{
	struct stat st;
	enum vg_err err = VG_OK;
	int sub;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? VG_OK : VG_ERR_IO;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? VG_OK : VG_ERR_IO;
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return VG_ERR_IO;
	err = vg_fs_empty_dirfd(sub);
	close(sub);
	if (err == VG_OK && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		err = VG_ERR_IO;
	return err;
}

enum vg_err
vg_fs_empty_dirfd(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t seen = 1, removed = 1;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return VG_ERR_IO;
	}
	/* Entries removed while reading may make readdir skip others, so pass
	 * again while a pass saw entries and removed some. */
	while (seen && removed) {
		seen = removed = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			seen++;
			if (remove_entry(dfd, de->d_name) == VG_OK)
				removed++;
		}
	}
	closedir(d);
	return seen == 0 ? VG_OK : VG_ERR_IO;
}

enum vg_err
vg_fs_remove_tree(const char *path)
{
	char parent[PATH_MAX];
	const char *base;
	char *slash;
	enum vg_err err;
	int dfd;

	if (vg_str_copy(parent, sizeof parent, path) != VG_OK || !*path)
		return VG_ERR_INVALID;
	slash = strrchr(parent, '/');
	if (!slash) {
		base = path;
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		base = path + (slash - parent) + 1;
		*slash = '\0';
		dfd = open(slash == parent ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		if (dfd >= 0)
			close(dfd);
		return VG_ERR_INVALID;
	}
	if (dfd < 0)
		return errno == ENOENT ? VG_OK : VG_ERR_IO;
	err = remove_entry(dfd, base);
	close(dfd);
	return err;
}

enum vg_err
vg_fs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VG_ERR_IO;
		c += k;
		n -= (size_t)k;
	}
	return VG_OK;
}

enum vg_err
vg_fs_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = pwrite(fd, c, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VG_ERR_IO;
		c += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return VG_OK;
}

/* Count below dir: every non-directory when recurse, else every entry. */
static size_t
count_below(const char *dir, bool recurse)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		int len;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!recurse) {
			n++;
			continue;
		}
		len = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (len < 0 || (size_t)len >= sizeof path || lstat(path, &st) != 0)
			continue;
		n += S_ISDIR(st.st_mode) ? count_below(path, true) : 1;
	}
	closedir(d);
	return n;
}

size_t
vg_fs_count_files(const char *dir)
{
	return count_below(dir, true);
}

size_t
vg_fs_count_entries(const char *dir)
{
	return count_below(dir, false);
}

enum vg_err
vg_fs_read_file(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, saved;
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
		goto out;
	}
	if (max == SIZE_MAX || !(buf = malloc(max + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	while ((r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		n += (size_t)r;
		if (n > max) {
			err = VG_ERR_TOO_LARGE;
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	err = VG_OK;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = saved;
	return err;
}
