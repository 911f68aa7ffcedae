/* test_blob.c - lib/blob: keys, the local backend, concurrent put-if-absent. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "blob/blob.h"
#include "core/settings.h"
#include "vt.h"

static char root[256];

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The whole object as a NUL-terminated string (at most cap - 1 bytes). */
static enum vg_err
get_str(struct vg_blob *b, enum vg_blob_bucket bucket, const char *key, char *out, size_t cap)
{
	struct vg_blob_reader *r = NULL;
	size_t len = 0, got;
	enum vg_err err;

	out[0] = '\0';
	if ((err = vg_blob_get(b, bucket, key, &r)) != VG_OK)
		return err;
	while ((err = vg_blob_reader_read(r, out + len, cap - 1 - len, &got)) == VG_OK && got > 0)
		len += got;
	out[len] = '\0';
	vg_blob_reader_free(r);
	return err;
}

static void
test_keys(void)
{
	static const struct { const char *key; int ok; } cases[] = {
		{"snapshots/0123abcd.tar", 1}, {"scans/9f/report.json", 1}, {"a", 1},
		{"a-b_c.d/E.F", 1}, {"x/y/z/w", 1},
		{"", 0}, {"/abs", 0}, {"trail/", 0}, {"a//b", 0}, {"..", 0}, {"a/../b", 0},
		{".", 0}, {"a/./b", 0}, {".hidden", 0}, {"a/.tmp-1234", 0}, {"sp ace", 0},
		{"back\\slash", 0}, {"q?", 0}, {"caf\xc3\xa9", 0}, {"nul\x01", 0}, {"a:b", 0},
		{"per%cent", 0},
	};
	char longkey[VG_BLOB_KEY_MAX + 8], seg[VG_BLOB_SEGMENT_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		VT_EQ_INT(vg_blob_key_valid(cases[i].key), cases[i].ok, cases[i].key);
	VT_OK(!vg_blob_key_valid(NULL), "NULL key refused");
	/* The longest key: VG_BLOB_KEY_MAX bytes in segments of 200. */
	for (i = 0; i < VG_BLOB_KEY_MAX; i++)
		longkey[i] = (i % 201 == 200) ? '/' : 'k';
	longkey[VG_BLOB_KEY_MAX] = '\0';
	VT_OK(vg_blob_key_valid(longkey), "key of exactly the maximum length");
	longkey[VG_BLOB_KEY_MAX] = 'k';
	longkey[VG_BLOB_KEY_MAX + 1] = '\0';
	VT_OK(!vg_blob_key_valid(longkey), "key one byte too long");
	memset(seg, 's', VG_BLOB_SEGMENT_MAX);
	seg[VG_BLOB_SEGMENT_MAX] = '\0';
	VT_OK(vg_blob_key_valid(seg), "segment of the maximum length");
	seg[VG_BLOB_SEGMENT_MAX] = 's';
	seg[VG_BLOB_SEGMENT_MAX + 1] = '\0';
	VT_OK(!vg_blob_key_valid(seg), "segment one byte too long");
}

static void
test_open(void)
{
	struct vg_blob *b = NULL;
	char msg[256], dir[300];

	snprintf(dir, sizeof dir, "%s/data", root);
	setenv("VEGA_DATA_DIR", dir, 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "s3", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings with s3");
	VT_EQ_INT(vg_blob_open(&b, msg, sizeof msg), VG_ERR_UNAVAILABLE, "s3 is not available yet");
	VT_OK(b == NULL, "no handle on failure");
	VT_OK(strstr(msg, "not configured") != NULL, "the message says why");
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings with local");
	VT_EQ_INT(vg_blob_open(&b, msg, sizeof msg), VG_OK, "local opens");
	VT_EQ_STR(b ? vg_blob_backend(b) : NULL, "local", "backend name");
	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_ARTIFACTS, "scans/1/report.json", "{}", 2,
	    VG_BLOB_REPLACE, NULL), VG_OK, "put through the settings' backend");
	snprintf(dir, sizeof dir, "%s/data/blobs/artifacts/scans/1/report.json", root);
	VT_OK(access(dir, F_OK) == 0, "object lives under VEGA_DATA_DIR/blobs/<bucket>/<key>");
	vg_blob_free(b);
	vg_blob_free(NULL);
	VT_EQ_INT(vg_blob_open_local("", &b), VG_ERR_INVALID, "empty root refused");
}

static void
test_put_get(struct vg_blob *b)
{
	struct vg_blob_stat st;
	struct vg_blob_writer *w = NULL;
	char buf[256];
	bool existed = true;
	int64_t before = (int64_t)time(NULL) * 1000000 - 5000000;

	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_SOURCES, "k/one", "hello", 5, VG_BLOB_REPLACE,
	    &existed), VG_OK, "put");
	VT_OK(!existed, "new object");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "k/one", buf, sizeof buf), VG_OK, "get");
	VT_EQ_STR(buf, "hello", "content back");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/one", &st), VG_OK, "stat");
	VT_EQ_INT(st.size, 5, "stat size");
	VT_OK(st.mtime_us > before && st.mtime_us < before + 60000000, "stat mtime is now");
	VT_EQ_INT(get_str(b, VG_BLOB_ARTIFACTS, "k/one", buf, sizeof buf), VG_ERR_NOT_FOUND,
	    "buckets are separate");

	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_SOURCES, "k/one", "bye", 3, VG_BLOB_REPLACE,
	    &existed), VG_OK, "replace");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "k/one", buf, sizeof buf), VG_OK, "get replaced");
	VT_EQ_STR(buf, "bye", "replaced content");
	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_SOURCES, "k/one", "other", 5, VG_BLOB_IF_ABSENT,
	    &existed), VG_OK, "put-if-absent on a taken key succeeds");
	VT_OK(existed, "and says the key was taken");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "k/one", buf, sizeof buf), VG_OK, "get kept");
	VT_EQ_STR(buf, "bye", "the stored object is untouched");
	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_SOURCES, "k/two", "", 0, VG_BLOB_IF_ABSENT,
	    &existed), VG_OK, "empty object");
	VT_OK(!existed, "put-if-absent on a free key stores");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/two", &st), VG_OK, "stat empty");
	VT_EQ_INT(st.size, 0, "empty size");

	/* Missing and invalid. */
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "k/none", buf, sizeof buf), VG_ERR_NOT_FOUND,
	    "get missing");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/none", &st), VG_ERR_NOT_FOUND, "stat missing");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "k", buf, sizeof buf), VG_ERR_NOT_FOUND,
	    "a directory is not an object");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k", &st), VG_ERR_NOT_FOUND, "stat of a prefix");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/one/deeper", &st), VG_ERR_NOT_FOUND,
	    "stat below an object");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "../etc/passwd", buf, sizeof buf), VG_ERR_INVALID,
	    "get with traversal refused");
	VT_EQ_INT(vg_blob_put_mem(b, VG_BLOB_SOURCES, "/abs", "x", 1, VG_BLOB_REPLACE, NULL),
	    VG_ERR_INVALID, "put absolute refused");
	VT_EQ_INT(vg_blob_writer_new(b, VG_BLOB_SOURCES, "ok", (enum vg_blob_put_mode)7, &w),
	    VG_ERR_INVALID, "unknown mode refused");
	VT_EQ_INT(vg_blob_writer_new(b, (enum vg_blob_bucket)9, "ok", VG_BLOB_REPLACE, &w),
	    VG_ERR_INVALID, "unknown bucket refused");
	VT_EQ_INT(vg_blob_delete(b, VG_BLOB_SOURCES, "a/../b"), VG_ERR_INVALID, "delete traversal");

	/* Delete. */
	VT_EQ_INT(vg_blob_delete(b, VG_BLOB_SOURCES, "k/two"), VG_OK, "delete");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/two", &st), VG_ERR_NOT_FOUND, "gone");
	VT_EQ_INT(vg_blob_delete(b, VG_BLOB_SOURCES, "k/two"), VG_OK, "delete again succeeds");
	VT_EQ_INT(vg_blob_delete(b, VG_BLOB_SOURCES, "k"), VG_OK, "delete of a prefix is a no-op");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "k/one", &st), VG_OK, "sibling untouched");
}

static void
test_streams(struct vg_blob *b, const char *dir)
{
	struct vg_blob_writer *w = NULL;
	struct vg_blob_list page;
	char path[512], buf[64], big[8192];
	struct vg_blob_stat st;
	bool existed;
	size_t i;
	FILE *f;
	int fd;

	/* Writer: several writes, a range of a file, commit. */
	snprintf(path, sizeof path, "%s/src.txt", dir);
	f = fopen(path, "w");
	fputs("0123456789", f);
	fclose(f);
	fd = open(path, O_RDONLY);
	VT_EQ_INT(vg_blob_writer_new(b, VG_BLOB_ARTIFACTS, "s/w", VG_BLOB_REPLACE, &w), VG_OK,
	    "writer");
	VT_EQ_INT(vg_blob_writer_write(w, "ab", 2), VG_OK, "write");
	VT_EQ_INT(vg_blob_writer_write_fd(w, fd, 3, 4), VG_OK, "write a file range");
	VT_EQ_INT(vg_blob_writer_write(w, "yz", 2), VG_OK, "write more");
	VT_EQ_INT(vg_blob_writer_size(w), 8, "writer size");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_ARTIFACTS, "s/w", &st), VG_ERR_NOT_FOUND,
	    "nothing visible before commit");
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "s/", NULL, 10, &page), VG_OK,
	    "list while a write is open");
	VT_EQ_INT(page.n, 0, "an open write is not listed");
	vg_blob_list_free(&page);
	VT_EQ_INT(vg_blob_writer_commit(w, &existed), VG_OK, "commit");
	VT_EQ_INT(get_str(b, VG_BLOB_ARTIFACTS, "s/w", buf, sizeof buf), VG_OK, "get");
	VT_EQ_STR(buf, "ab3456yz", "writes and the file range, in order");
	VT_EQ_INT(vg_blob_writer_new(b, VG_BLOB_ARTIFACTS, "s/short", VG_BLOB_REPLACE, &w), VG_OK,
	    "writer for a short range");
	VT_EQ_INT(vg_blob_writer_write_fd(w, fd, 8, 5), VG_ERR_IO, "range past the file's end");
	VT_EQ_INT(vg_blob_writer_write(w, "x", 1), VG_ERR_IO, "a failed writer refuses more");
	VT_EQ_INT(vg_blob_writer_commit(w, NULL), VG_ERR_IO, "and cannot commit");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_ARTIFACTS, "s/short", &st), VG_ERR_NOT_FOUND,
	    "nothing stored by a failed writer");
	close(fd);

	/* put_file, then a reader in small pieces. */
	snprintf(path, sizeof path, "%s/big.bin", dir);
	for (i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	f = fopen(path, "w");
	fwrite(big, 1, sizeof big, f);
	fclose(f);
	VT_EQ_INT(vg_blob_put_file(b, VG_BLOB_SOURCES, "f/big", path, VG_BLOB_IF_ABSENT, &existed),
	    VG_OK, "put_file");
	{
		struct vg_blob_reader *r = NULL;
		size_t got, total = 0;
		int same = 1;

		VT_EQ_INT(vg_blob_get(b, VG_BLOB_SOURCES, "f/big", &r), VG_OK, "reader");
		VT_EQ_INT(r ? vg_blob_reader_size(r) : 0, sizeof big, "reader size");
		while (r && vg_blob_reader_read(r, buf, 7, &got) == VG_OK && got > 0) {
			same &= memcmp(buf, big + total, got) == 0;
			total += got;
		}
		VT_EQ_INT(total, sizeof big, "read it all");
		VT_OK(same, "same bytes");
		vg_blob_reader_free(r);
	}
	/* Ranges. */
	{
		struct vg_blob_reader *r = NULL;
		size_t got, total = 0;

		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/big", 26 * 3 + 2, 5, &r), VG_OK,
		    "range reader");
		VT_EQ_INT(r ? vg_blob_reader_size(r) : 0, 5, "range size");
		while (r && vg_blob_reader_read(r, buf + total, sizeof buf - 1 - total, &got) == VG_OK &&
		    got > 0)
			total += got;
		buf[total] = '\0';
		VT_EQ_STR(buf, "cdefg", "the range's bytes, no more");
		vg_blob_reader_free(r);
		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/big", sizeof big - 3, 3, &r), VG_OK,
		    "range at the very end");
		vg_blob_reader_free(r);
		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/big", sizeof big - 3, 4, &r),
		    VG_ERR_INVALID, "range past the end refused");
		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/big", sizeof big + 1, 1, &r),
		    VG_ERR_INVALID, "range after the end refused");
		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/big", 0, 0, &r), VG_ERR_INVALID,
		    "empty range refused");
		VT_EQ_INT(vg_blob_get_range(b, VG_BLOB_SOURCES, "f/nope", 0, 1, &r), VG_ERR_NOT_FOUND,
		    "range of a missing object");
	}
	snprintf(path, sizeof path, "%s/missing", dir);
	VT_EQ_INT(vg_blob_put_file(b, VG_BLOB_SOURCES, "f/none", path, VG_BLOB_REPLACE, NULL),
	    VG_ERR_IO, "put_file of a missing file");
	VT_EQ_INT(vg_blob_put_file_move(b, VG_BLOB_SOURCES, "f/none", path, VG_BLOB_REPLACE, NULL),
	    VG_ERR_IO, "move of a missing file");

	/* Moving a file in: no copy, the file is gone, the object is there. */
	snprintf(path, sizeof path, "%s/moved.txt", dir);
	write_text(path, "moved");
	VT_EQ_INT(vg_blob_put_file_move(b, VG_BLOB_SOURCES, "m/one", path, VG_BLOB_IF_ABSENT,
	    &existed), VG_OK, "move in");
	VT_OK(!existed, "moved to a free key");
	VT_OK(access(path, F_OK) != 0, "the moved file is gone");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "m/one", buf, sizeof buf), VG_OK, "get moved");
	VT_EQ_STR(buf, "moved", "moved content");
	write_text(path, "again");
	VT_EQ_INT(vg_blob_put_file_move(b, VG_BLOB_SOURCES, "m/one", path, VG_BLOB_IF_ABSENT,
	    &existed), VG_OK, "move onto a taken key");
	VT_OK(existed, "says it was taken");
	VT_OK(access(path, F_OK) != 0, "the dropped file is gone too");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "m/one", buf, sizeof buf), VG_OK, "get kept");
	VT_EQ_STR(buf, "moved", "the stored object is untouched");
	write_text(path, "replace");
	VT_EQ_INT(vg_blob_put_file_move(b, VG_BLOB_SOURCES, "m/one", path, VG_BLOB_REPLACE,
	    &existed), VG_OK, "move replacing");
	VT_EQ_INT(get_str(b, VG_BLOB_SOURCES, "m/one", buf, sizeof buf), VG_OK, "get replaced");
	VT_EQ_STR(buf, "replace", "replaced by the move");
	write_text(path, "x");
	VT_EQ_INT(vg_blob_put_file_move(b, VG_BLOB_SOURCES, "../m", path, VG_BLOB_REPLACE, NULL),
	    VG_ERR_INVALID, "move to a bad key refused");
	VT_OK(access(path, F_OK) == 0, "and the file is left to its owner");
	unlink(path);

	/* Abort leaves nothing, not even a temporary file. */
	snprintf(path, sizeof path, "%s/blobs", dir);
	i = (size_t)(int)vg_fs_count_files(path);
	VT_EQ_INT(vg_blob_writer_new(b, VG_BLOB_SOURCES, "f/aborted", VG_BLOB_REPLACE, &w), VG_OK,
	    "writer to abort");
	VT_EQ_INT(vg_blob_writer_write(w, big, sizeof big), VG_OK, "write before abort");
	VT_EQ_INT((int)vg_fs_count_files(path), i + 1, "a temporary file exists meanwhile");
	vg_blob_writer_abort(w);
	vg_blob_writer_abort(NULL);
	VT_EQ_INT((int)vg_fs_count_files(path), i, "abort removed it");
	VT_EQ_INT(vg_blob_stat(b, VG_BLOB_SOURCES, "f/aborted", &st), VG_ERR_NOT_FOUND,
	    "aborted object absent");
}

static void
test_list(struct vg_blob *b)
{
	static const char *const keys[] = {
		"l/a/1", "l/a/2", "l/a/3", "l/a/sub/4", "l/ab", "l/b/5", "lz", "m/6",
	};
	struct vg_blob_list page;
	struct vg_blob_writer *w = NULL;
	char all[512];
	char *cursor = NULL;
	size_t i, pages = 0;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		vg_blob_put_mem(b, VG_BLOB_ARTIFACTS, keys[i], "x", 1, VG_BLOB_REPLACE, NULL);
	/* An uncommitted write must not show. */
	vg_blob_writer_new(b, VG_BLOB_ARTIFACTS, "l/a/0", VG_BLOB_REPLACE, &w);

	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/a/", NULL, 100, &page), VG_OK, "list dir");
	VT_EQ_INT(page.n, 4, "four keys under l/a/");
	VT_EQ_STR(page.n ? page.keys[0] : NULL, "l/a/1", "sorted first");
	VT_EQ_STR(page.n == 4 ? page.keys[3] : NULL, "l/a/sub/4", "nested key listed");
	VT_OK(page.next_cursor == NULL, "one page only");
	vg_blob_list_free(&page);

	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/a", NULL, 100, &page), VG_OK,
	    "list by a partial name");
	VT_EQ_INT(page.n, 5, "l/a prefix matches l/a/... and l/ab");
	vg_blob_list_free(&page);

	/* Pages of two over everything under "l". */
	all[0] = '\0';
	do {
		VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l", cursor, 2, &page), VG_OK, "page");
		free(cursor);
		cursor = page.next_cursor ? strdup(page.next_cursor) : NULL;
		for (i = 0; i < page.n; i++) {
			strncat(all, page.keys[i], sizeof all - strlen(all) - 2);
			strncat(all, " ", sizeof all - strlen(all) - 1);
		}
		VT_OK(page.n <= 2, "page within its limit");
		vg_blob_list_free(&page);
		pages++;
	} while (cursor && pages < 10);
	VT_EQ_STR(all, "l/a/1 l/a/2 l/a/3 l/a/sub/4 l/ab l/b/5 lz ", "pages cover all, in order");
	VT_EQ_INT(pages, 4, "seven keys in pages of two");

	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "", NULL, 1000, &page), VG_OK, "list all");
	VT_EQ_INT(page.n, 9, "every key of the bucket (these and s/w)");
	vg_blob_list_free(&page);
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "nothing/", NULL, 10, &page), VG_OK,
	    "list an absent prefix");
	VT_EQ_INT(page.n, 0, "empty page");
	vg_blob_list_free(&page);

	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "../", NULL, 10, &page), VG_ERR_INVALID,
	    "traversal prefix refused");
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/", NULL, 0, &page), VG_ERR_INVALID,
	    "limit 0 refused");
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/", NULL, VG_BLOB_LIST_MAX + 1, &page),
	    VG_ERR_INVALID, "limit over the maximum refused");
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/", "m/6", 10, &page), VG_ERR_INVALID,
	    "cursor outside the prefix refused");
	VT_EQ_INT(vg_blob_list(b, VG_BLOB_ARTIFACTS, "l/", "l/../x", 10, &page), VG_ERR_INVALID,
	    "malformed cursor refused");
	vg_blob_writer_abort(w);
}

/*
 * Several processes put the same key at once, each with its own bytes:
 * every put succeeds, exactly one stores, and the object is one writer's
 * bytes whole.
 */
static void
test_concurrent(struct vg_blob *b, const char *dir)
{
	enum { WRITERS = 6, SIZE = 1 << 20 };
	pid_t pids[WRITERS];
	int i, stored = 0, failed = 0, whole = 1;
	char path[512];

	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vg_blob_writer *w = NULL;
			static char data[SIZE];
			bool existed = false;
			int k;

			memset(data, 'A' + i, sizeof data);
			if (vg_blob_writer_new(b, VG_BLOB_SOURCES, "snapshots/same.tar",
			    VG_BLOB_IF_ABSENT, &w) != VG_OK)
				_exit(3);
			for (k = 0; k < 16; k++)   /* in pieces, so the writers overlap */
				if (vg_blob_writer_write(w, data + k * (SIZE / 16), SIZE / 16) != VG_OK)
					_exit(3);
			if (vg_blob_writer_commit(w, &existed) != VG_OK)
				_exit(3);
			_exit(existed ? 1 : 0);
		}
	}
	for (i = 0; i < WRITERS; i++) {
		int status = 0;

		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
			failed++;
		else if (WEXITSTATUS(status) == 0)
			stored++;
	}
	VT_EQ_INT(failed, 0, "every concurrent put succeeds");
	VT_EQ_INT(stored, 1, "exactly one stored its bytes");
	{
		struct vg_blob_reader *r = NULL;
		static char buf[SIZE + 1];
		size_t got, total = 0;

		VT_EQ_INT(vg_blob_get(b, VG_BLOB_SOURCES, "snapshots/same.tar", &r), VG_OK, "get");
		while (r && vg_blob_reader_read(r, buf + total, sizeof buf - total, &got) == VG_OK &&
		    got > 0)
			total += got;
		vg_blob_reader_free(r);
		VT_EQ_INT(total, SIZE, "one whole object");
		for (i = 1; i < (int)total; i++)
			if (buf[i] != buf[0])
				whole = 0;
		VT_OK(whole && buf[0] >= 'A' && buf[0] < 'A' + WRITERS, "one writer's bytes, not a mix");
	}
	snprintf(path, sizeof path, "%s/blobs/sources/snapshots", dir);
	VT_EQ_INT((int)vg_fs_count_files(path), 1, "no temporary file left behind");
}

int
main(void)
{
	struct vg_blob *b = NULL;
	char dir[300], cmd[400];

	snprintf(root, sizeof root, "%s/vg-blob-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_keys();
	test_open();
	snprintf(dir, sizeof dir, "%s/blobs", root);
	VT_EQ_INT(vg_blob_open_local(dir, &b), VG_OK, "open local");
	if (b) {
		test_put_get(b);
		test_streams(b, root);
		test_list(b);
		test_concurrent(b, root);
	}
	vg_blob_free(b);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	VT_EQ_INT(system(cmd), 0, "temp dir removed");
	return vt_done();
}
