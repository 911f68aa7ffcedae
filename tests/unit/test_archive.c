/*
 * test_archive.c - lib/archive: ingestion of every accepted format into one
 * digest, refusal of hostile and broken archives with nothing left behind,
 * canonical tar and manifest, extraction that never leaves its root.
 *
 * Every archive is built here at test time, with libarchive's write API or
 * with the tar, bsdtar and zip commands.
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "core/fsutil.h"
#include "archive/archive.h"
#include "archive/archive_int.h"
#include "blob/blob.h"
#include "core/settings.h"
#include "core/str.h"
#include "vt.h"

static char root[256];      /* everything of this run */
static char datadir[300];   /* VEGA_DATA_DIR */
static char blobdir[320];   /* datadir/blobs */
static char tmpdir[320];    /* datadir/tmp: ingest's temporary files */
static char work[300];      /* archives built by the tests */
static struct vg_blob *blob;

/* ---- helpers: files and directories ---- */

static int
run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The offending path of a result.  Out of line: the compiler would
 * otherwise warn that a 512-byte path may not fit vt.h's message. */
__attribute__((noinline)) static const char *
path_of(const struct vg_archive_result *r)
{
	return r->path;
}

/* ---- helpers: building archives ---- */

struct ent {
	const char *path;
	char type;            /* f file, d dir, l symlink, h hard link, c b p devices/FIFO */
	const char *data;     /* file content; link target for l and h */
	long mode;            /* 0: 0644 / 0755 */
};

#define END {NULL, 0, NULL, 0}

/*
 * Write entries to file as format ("ustar", "pax", "gnutar", "zip",
 * "cpio", ...) through filter ("none", "gzip", "xz", "zstd", "bzip2"),
 * with options (may be NULL), every mtime set to mtime.
 */
static int
build(const char *file, const char *format, const char *filter, const char *options,
    const struct ent *ents, time_t mtime)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int ok = 1;

	if (archive_write_set_format_by_name(a, format) != ARCHIVE_OK ||
	    (strcmp(filter, "none") != 0 && archive_write_add_filter_by_name(a, filter) != ARCHIVE_OK) ||
	    (options && archive_write_set_options(a, options) != ARCHIVE_OK) ||
	    archive_write_open_filename(a, file) != ARCHIVE_OK) {
		fprintf(stderr, "build %s: %s\n", file, archive_error_string(a));
		ok = 0;
		goto out;
	}
	for (; ents->path; ents++) {
		size_t len = ents->type == 'f' && ents->data ? strlen(ents->data) : 0;

		archive_entry_clear(e);
		archive_entry_copy_pathname(e, ents->path);
		archive_entry_set_mtime(e, mtime, 0);
		archive_entry_set_uid(e, 1000);
		archive_entry_set_gid(e, 1000);
		switch (ents->type) {
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_copy_symlink(e, ents->data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_copy_hardlink(e, ents->data);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(e, ents->type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_perm(e, 0600);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, 0600);
			break;
		default:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, ents->mode ? (mode_t)ents->mode : 0644);
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		}
		if (archive_write_header(a, e) < ARCHIVE_WARN) {
			fprintf(stderr, "build %s: header %s: %s\n", file, ents->path,
			    archive_error_string(a));
			ok = 0;
			goto out;
		}
		if (len && archive_write_data(a, ents->data, len) != (la_ssize_t)len) {
			ok = 0;
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		ok = 0;
out:
	archive_entry_free(e);
	archive_write_free(a);
	return ok;
}

/* Path of a work file. */
static const char *
wpath(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", work, name);
	return buf[k];
}

/* ---- helpers: ingesting ---- */

struct reader {
	FILE *f;
	size_t chunk;        /* most bytes per call; 0: as many as asked */
	long fail_after;     /* fail with VG_ERR_IO after this many bytes; -1 never */
	long done;
};

/* A read callback over a file, in uneven pieces so every short read
 * path is exercised. */
static enum vg_err
reader_fn(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct reader *r = ctx;
	static const size_t odd[] = {1, 7, 509, 4096, 65536};
	size_t want = r->chunk ? r->chunk : odd[r->done % 5];

	if (want > cap)
		want = cap;
	if (r->fail_after >= 0 && r->done >= r->fail_after)
		return VG_ERR_IO;
	*got = fread(buf, 1, want, r->f);
	r->done += (long)*got;
	return ferror(r->f) ? VG_ERR_IO : VG_OK;
}

static enum vg_err
ingest_opts(const char *file, const struct vg_archive_limits *lim, size_t chunk,
    long fail_after, struct vg_archive_result *res)
{
	struct reader r = {fopen(file, "rb"), chunk, fail_after, 0};
	enum vg_err err;

	if (!r.f) {
		memset(res, 0, sizeof *res);
		return VG_ERR_IO;
	}
	err = vg_archive_ingest(blob, reader_fn, &r, lim, res);
	fclose(r.f);
	return err;
}

static enum vg_err
ingest(const char *file, const struct vg_archive_limits *lim, struct vg_archive_result *res)
{
	return ingest_opts(file, lim, 0, -1, res);
}

static void
default_limits(struct vg_archive_limits *lim)
{
	lim->source_bytes = 64 << 20;
	lim->entries = 1000;
	lim->file_bytes = 8 << 20;
	lim->total_bytes = 32 << 20;
}

/* The digest by the encoding archive.h defines, computed here on its own
 * from (path, content) pairs given in ascending path order. */
static void
expected_digest(const char *const *paths, const char *const *contents, size_t n,
    char out[VG_ARCHIVE_DIGEST_HEX])
{
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	unsigned char md[32];
	char hex[65];
	size_t i;

	EVP_DigestInit_ex(all, EVP_sha256(), NULL);
	for (i = 0; i < n; i++) {
		EVP_Digest(contents[i], strlen(contents[i]), md, NULL, EVP_sha256(), NULL);
		vg_hex_encode(md, 32, hex);
		EVP_DigestUpdate(all, paths[i], strlen(paths[i]) + 1);
		EVP_DigestUpdate(all, hex, 64);
		EVP_DigestUpdate(all, "\n", 1);
	}
	EVP_DigestFinal_ex(all, md, NULL);
	vg_hex_encode(md, 32, out);
	EVP_MD_CTX_free(all);
}

/* ---- the reference tree ---- */

#define LONGDIR "deep/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Sorted by path, as the digest wants them. */
static const char *const tree_paths[] = {
	"README.md", "bin/run", LONGDIR "/file.go", "empty.txt", "src/main.c",
	"src/util/helper.py",
};
static const char *const tree_data[] = {
	"# readme\n", "#!/bin/sh\necho run\n", "package deep\n", "",
	"int main(void) { return 0; }\n", "#!/usr/bin/env python3\nprint('hi')\n",
};
#define TREE_N (sizeof tree_paths / sizeof tree_paths[0])

/* The tree in arrival order, with directory entries, under prefix. */
static void
tree_ents(struct ent *out, const char *prefix, char names[][512])
{
	static const int order[] = {4, 0, 5, 2, 1, 3};
	size_t i, k = 0;

	snprintf(names[k], 512, "%ssrc/", prefix);
	out[k] = (struct ent){names[k], 'd', NULL, 0};
	k++;
	for (i = 0; i < TREE_N; i++, k++) {
		snprintf(names[k], 512, "%s%s", prefix, tree_paths[order[i]]);
		out[k] = (struct ent){names[k], 'f', tree_data[order[i]],
		    order[i] == 1 ? 0755 : 0};
	}
	out[k] = (struct ent)END;
}

static void
make_tree_dir(const char *dir)
{
	char path[1024];
	size_t i;

	for (i = 0; i < TREE_N; i++) {
		char *slash;

		snprintf(path, sizeof path, "%s/%s", dir, tree_paths[i]);
		for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			mkdir(path, 0755);
			*slash = '/';
		}
		write_file(path, tree_data[i], strlen(tree_data[i]));
	}
}

/*
 * The same tree in every accepted format, with other times, with and
 * without a top directory or "./", and from the command-line tools:
 * one digest, the one the encoding gives, stored once.
 */
static void
test_formats(void)
{
	static const struct {
		const char *name, *format, *filter, *options, *prefix;
		time_t mtime;
		const char *fmt_name, *stripped;
	} cases[] = {
		{"t.ustar.tar", "ustar", "none", NULL, "", 1000000000, "tar", ""},
		{"t.pax.tar", "pax", "none", NULL, "", 1500000000, "tar", ""},
		{"t.gnu.tar", "gnutar", "none", NULL, "", 1, "tar", ""},
		{"t.tar.gz", "pax", "gzip", NULL, "", 1600000000, "tar.gz", ""},
		{"t.tar.xz", "pax", "xz", NULL, "./", 1600000001, "tar.xz", ""},
		{"t.tar.zst", "pax", "zstd", NULL, "", 1600000002, "tar.zst", ""},
		{"t.zip", "zip", "none", NULL, "", 1700000000, "zip", ""},
		{"t.store.zip", "zip", "none", "zip:compression=store", "", 1700000000, "zip", ""},
		{"t.top.tar.gz", "pax", "gzip", NULL, "proj-1a2b3c/", 1234567890, "tar.gz",
		    "proj-1a2b3c"},
		{"t.top.zip", "zip", "none", NULL, "proj-main/", 1234567890, "zip", "proj-main"},
		{"t.dot.tar", "gnutar", "none", NULL, "./", 42, "tar", ""},
		{"t.dot-top.tar", "ustar", "none", NULL, ".//x//", 42, "tar", "x"},
	};
	/* Run in the work directory. */
	static const char *const tools[][2] = {
		{"cd tree && tar -czf ../gnu.tgz .", "gnu.tgz"},
		{"tar -cJf gnu-top.txz tree", "gnu-top.txz"},
		{"bsdtar -C tree --zstd -cf bsd.tzst .", "bsd.tzst"},
		{"cd tree && zip -qr ../info.zip .", "info.zip"},
		{"zip -qr info-top.zip tree", "info-top.zip"},
	};
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	char want[VG_ARCHIVE_DIGEST_HEX], names[16][512], cmd[1024], dir[512];
	struct ent ents[16];
	size_t i;
	int stored = 0;

	default_limits(&lim);
	expected_digest(tree_paths, tree_data, TREE_N, want);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum vg_err err;

		tree_ents(ents, cases[i].prefix, names);
		VT_OK(build(wpath(cases[i].name), cases[i].format, cases[i].filter, cases[i].options,
		    ents, cases[i].mtime), cases[i].name);
		err = ingest(wpath(cases[i].name), &lim, &res);
		VT_EQ_INT(err, VG_OK, cases[i].name);
		VT_EQ_STR(res.digest, want, cases[i].name);
		VT_EQ_INT(res.files, TREE_N, "file count");
		VT_EQ_STR(res.reason, "", "no reason on success");
		VT_EQ_STR(res.stripped_dir, cases[i].stripped, "top directory stripped only when shared");
		VT_EQ_STR(res.format, cases[i].fmt_name, "format named");
		stored += !res.existed;
		vg_archive_result_clear(&res);
	}
	VT_EQ_INT(stored, 1, "the tree was stored once, then found");
	VT_EQ_INT((int)vg_fs_count_files(blobdir), 2, "one tar and one manifest in file storage");
	VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");

	/* The same tree written by the usual tools. */
	snprintf(dir, sizeof dir, "%s/tree", work);
	mkdir(dir, 0755);
	make_tree_dir(dir);
	for (i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		snprintf(cmd, sizeof cmd, "cd '%s' && %s", work, tools[i][0]);
		VT_EQ_INT(run(cmd), 0, tools[i][0]);
		VT_EQ_INT(ingest(wpath(tools[i][1]), &lim, &res), VG_OK, tools[i][1]);
		VT_EQ_STR(res.digest, want, tools[i][1]);
		VT_OK(res.existed, "already stored");
		vg_archive_result_clear(&res);
	}
	/* One byte changed: another digest. */
	tree_ents(ents, "", names);
	ents[1].data = "int main(void) { return 1; }\n";
	VT_OK(build(wpath("changed.tar"), "pax", "none", NULL, ents, 1), "build changed");
	VT_EQ_INT(ingest(wpath("changed.tar"), &lim, &res), VG_OK, "ingest changed");
	VT_OK(strcmp(res.digest, want) != 0 && strlen(res.digest) == 64, "one byte, another digest");
	VT_OK(!res.existed, "stored anew");
	vg_archive_result_clear(&res);
	/* A renamed file: another digest too. */
	tree_ents(ents, "", names);
	snprintf(names[1], 512, "src/main2.c");
	VT_OK(build(wpath("renamed.tar"), "pax", "none", NULL, ents, 1), "build renamed");
	VT_EQ_INT(ingest(wpath("renamed.tar"), &lim, &res), VG_OK, "ingest renamed");
	VT_OK(strcmp(res.digest, want) != 0, "a renamed file, another digest");
	vg_archive_result_clear(&res);
}

/* Read a whole blob into memory (tests only; small objects). */
static char *
blob_slurp(const char *key, size_t *len)
{
	struct vg_blob_reader *r = NULL;
	char *buf = NULL;
	size_t cap = 0, got;

	*len = 0;
	if (vg_blob_get(blob, VG_BLOB_SOURCES, key, &r) != VG_OK)
		return NULL;
	cap = (size_t)vg_blob_reader_size(r) + 1;
	buf = malloc(cap);
	while (buf && vg_blob_reader_read(r, buf + *len, cap - *len, &got) == VG_OK && got > 0)
		*len += got;
	vg_blob_reader_free(r);
	return buf;
}

/*
 * The stored tar: the tree's files only, sorted, mode 0644, owner 0,
 * time 0, the long path intact; and the manifest describing them.
 */
static void
test_canonical(void)
{
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char names[16][512], hex[65];
	struct ent ents[16];
	unsigned char md[32];
	json_t *m = NULL, *files, *f;
	char *tar = NULL;
	size_t len = 0, i = 0;
	int sorted_ok = 1, meta_ok = 1, data_ok = 1;

	default_limits(&lim);
	tree_ents(ents, "", names);
	build(wpath("canon.tar"), "pax", "gzip", NULL, ents, 99);
	VT_EQ_INT(ingest(wpath("canon.tar"), &lim, &res), VG_OK, "ingest for the canonical checks");
	tar = blob_slurp(res.tar_key, &len);
	VT_OK(tar != NULL, "tar stored under its key");
	VT_EQ_INT(len, res.tar_bytes, "tar_bytes is its size");
	VT_EQ_INT(len % 512, 0, "whole blocks");
	archive_read_support_format_tar(a);
	if (tar && archive_read_open_memory(a, tar, len) == ARCHIVE_OK) {
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			char buf[256];
			la_ssize_t n;

			if (i >= TREE_N || strcmp(archive_entry_pathname(e), tree_paths[i]) != 0)
				sorted_ok = 0;
			if (archive_entry_filetype(e) != AE_IFREG || (archive_entry_perm(e) & 07777) != 0644 ||
			    archive_entry_mtime(e) != 0 || archive_entry_uid(e) != 0 ||
			    archive_entry_gid(e) != 0)
				meta_ok = 0;
			n = archive_read_data(a, buf, sizeof buf);
			if (i < TREE_N && (n != (la_ssize_t)strlen(tree_data[i]) ||
			    memcmp(buf, tree_data[i], (size_t)n) != 0))
				data_ok = 0;
			i++;
		}
	}
	VT_EQ_INT(i, TREE_N, "one member per file, no directories");
	VT_OK(sorted_ok, "members in byte order of path, long path kept whole");
	VT_OK(meta_ok, "regular files, 0644, uid/gid 0, mtime 0 (even for bin/run, 0755 upstream)");
	VT_OK(data_ok, "contents intact");
	archive_read_free(a);
	free(tar);

	/* The manifest. */
	VT_EQ_INT(vg_archive_manifest_load(blob, res.digest, 1 << 20, &m), VG_OK, "manifest loads");
	VT_EQ_STR(m ? json_string_value(json_object_get(m, "digest")) : NULL, res.digest,
	    "manifest names its digest");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(m, "totals"), "files")), TREE_N,
	    "totals.files");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(m, "totals"), "bytes")),
	    res.bytes, "totals.bytes");
	files = json_object_get(m, "files");
	VT_EQ_INT(json_array_size(files), TREE_N, "one record per file");
	for (i = 0; i < TREE_N && i < json_array_size(files); i++) {
		f = json_array_get(files, i);
		EVP_Digest(tree_data[i], strlen(tree_data[i]), md, NULL, EVP_sha256(), NULL);
		vg_hex_encode(md, 32, hex);
		VT_EQ_STR(json_string_value(json_object_get(f, "path")), tree_paths[i], "manifest path");
		VT_EQ_INT(json_integer_value(json_object_get(f, "size")), strlen(tree_data[i]),
		    "manifest size");
		VT_EQ_STR(json_string_value(json_object_get(f, "sha256")), hex, "manifest sha256");
		/* One file, read from the tar by its manifest offset. */
		if (strlen(tree_data[i]) > 0) {
			struct vg_blob_reader *r = NULL;
			char got[256] = {0};
			size_t n = 0, k;

			uint64_t at = (uint64_t)json_integer_value(json_object_get(f, "offset"));
			enum vg_err rerr = vg_blob_get_range(blob, VG_BLOB_SOURCES, res.tar_key, at,
			    strlen(tree_data[i]), &r);

			VT_EQ_INT(rerr, VG_OK, "range of one file");
			while (r && vg_blob_reader_read(r, got + n, sizeof got - 1 - n, &k) == VG_OK && k > 0)
				n += k;
			vg_blob_reader_free(r);
			VT_EQ_STR(got, tree_data[i], "the file's bytes at its manifest offset");
		}
	}
	{
		static const char *const langs[TREE_N] = {
			"markdown", "shell", "go", "text", "c", "python",
		};
		for (i = 0; i < TREE_N && i < json_array_size(files); i++)
			VT_EQ_STR(json_string_value(json_object_get(json_array_get(files, i), "language")),
			    langs[i], tree_paths[i]);
	}
	VT_EQ_INT(json_integer_value(json_object_get(res.languages, "python")), 1,
	    "per-language counts in the result");
	VT_EQ_INT(json_integer_value(json_object_get(json_object_get(json_object_get(m, "totals"),
	    "languages"), "c")), 1, "per-language counts in the manifest");
	json_decref(m);
	VT_EQ_INT(vg_archive_manifest_load(blob, "nothex", 1 << 20, &m), VG_ERR_INVALID,
	    "manifest of a malformed digest");
	VT_EQ_INT(vg_archive_manifest_load(blob, "0000000000000000000000000000000000000000000000000000000000000000",
	    1 << 20, &m), VG_ERR_NOT_FOUND, "manifest of an unknown digest");
	VT_EQ_INT(vg_archive_manifest_load(blob, res.digest, 16, &m), VG_ERR_TOO_LARGE,
	    "manifest over the caller's cap");
	vg_archive_result_clear(&res);
}

/*
 * Files in canonical order (as git archive lists them) let the spool
 * become the tar without a copy; out of order they are copied.  Both
 * must give the same bytes, and so must an order broken late.
 */
static void
test_in_order(void)
{
	static const struct { const char *name, *prefix; int sorted; const char *format; } cases[] = {
		{"sorted-top.tar.gz", "proj-abc/", 1, "pax"},
		{"sorted.tar", "", 1, "gnutar"},
		{"sorted.zip", "z/", 1, "zip"},
		{"scrambled.tar", "", 0, "pax"},
		{"scrambled-top.tar.zst", "q/", 0, "pax"},
	};
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	char names[16][512], *first = NULL, *tar;
	struct ent ents[16];
	size_t i, k, len = 0, first_len = 0;

	default_limits(&lim);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].sorted) {
			/* The top directory's own entry, then every file in order. */
			size_t at = 0;

			if (cases[i].prefix[0]) {
				snprintf(names[at], 512, "%s", cases[i].prefix);
				ents[at] = (struct ent){names[at], 'd', NULL, 0};
				at++;
			}
			for (k = 0; k < TREE_N; k++, at++) {
				snprintf(names[at], 512, "%s%s", cases[i].prefix, tree_paths[k]);
				ents[at] = (struct ent){names[at], 'f', tree_data[k], 0};
			}
			ents[at] = (struct ent)END;
		} else {
			tree_ents(ents, cases[i].prefix, names);
		}
		VT_OK(build(wpath(cases[i].name), cases[i].format,
		    strstr(cases[i].name, ".gz") ? "gzip" : strstr(cases[i].name, ".zst") ? "zstd" : "none",
		    NULL, ents, 3), cases[i].name);
		VT_EQ_INT(ingest(wpath(cases[i].name), &lim, &res), VG_OK, cases[i].name);
		VT_EQ_INT(res.reordered, !cases[i].sorted, "copied only when out of order");
		tar = blob_slurp(res.tar_key, &len);
		VT_OK(tar != NULL && len == res.tar_bytes, "tar stored whole");
		if (!first) {
			first = tar;
			first_len = len;
		} else {
			VT_OK(tar && len == first_len && memcmp(tar, first, len) == 0,
			    "byte-identical canonical tar whatever the order");
			free(tar);
		}
		/* Remove it, so the next case stores its own. */
		vg_blob_delete(blob, VG_BLOB_SOURCES, res.tar_key);
		vg_blob_delete(blob, VG_BLOB_SOURCES, res.manifest_key);
		VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
		vg_archive_result_clear(&res);
	}
	free(first);

	/* In order, but the guessed top directory is wrong and a header
	 * grows a pax member once the path is whole again: copied. */
	{
		static char longp[128];
		struct ent two[4];
		const char *paths[2], *datas[2] = {"long\n", "z\n"};
		char want[VG_ARCHIVE_DIGEST_HEX];

		memset(longp, 'x', sizeof longp);
		memcpy(longp, "d/", 2);
		longp[101] = '\0';   /* 101 bytes; 99 without "d/" */
		two[0] = (struct ent){"d/", 'd', NULL, 0};
		two[1] = (struct ent){longp, 'f', datas[0], 0};
		two[2] = (struct ent){"z.c", 'f', datas[1], 0};
		two[3] = (struct ent)END;
		paths[0] = longp;
		paths[1] = "z.c";
		expected_digest(paths, datas, 2, want);
		VT_OK(build(wpath("guess.tar"), "pax", "none", NULL, two, 1), "guess.tar");
		VT_EQ_INT(ingest(wpath("guess.tar"), &lim, &res), VG_OK, "wrong guess, longer header");
		VT_EQ_STR(res.digest, want, "digest");
		VT_EQ_INT(res.reordered, 1, "copied, since a header changed length");
		tar = blob_slurp(res.tar_key, &len);
		VT_OK(tar && len == res.tar_bytes && len > 2048, "tar stored");
		free(tar);
		vg_archive_result_clear(&res);
	}
}

static enum vg_err blob_read_fn(void *ctx, void *buf, size_t cap, size_t *got);

/*
 * Files large enough for the spool's second thread (it starts after a
 * few MiB), in order and out of order: the digest the encoding gives,
 * the same tar bytes both ways, and the contents back out intact.
 */
static void
test_large(void)
{
	static const char *const paths[] = {"big/a.bin", "big/b.bin", "big/c.txt", "small.c"};
	static const size_t sizes[] = {3 << 20, (2 << 20) + 123, 700001, 10};
	enum { N = 4 };
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	const char *contents[N];
	char *bufs[N], want[VG_ARCHIVE_DIGEST_HEX], dir[600], *tar1 = NULL;
	struct ent ents[N + 1];
	size_t i, k, len = 0, len1 = 0;
	uint64_t x = 7;
	int round;

	for (i = 0; i < N; i++) {
		bufs[i] = malloc(sizes[i] + 1);
		for (k = 0; k < sizes[i]; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			bufs[i][k] = (char)('a' + (x >> 59));   /* letters: strlen works */
		}
		bufs[i][sizes[i]] = '\0';
		contents[i] = bufs[i];
	}
	expected_digest(paths, contents, N, want);
	default_limits(&lim);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < N; i++) {   /* round 0 in order, round 1 reversed */
			k = round ? N - 1 - i : i;
			ents[i] = (struct ent){paths[k], 'f', contents[k], 0};
		}
		ents[N] = (struct ent)END;
		VT_OK(build(wpath("large.tar"), "pax", "none", NULL, ents, 1), "large.tar");
		VT_EQ_INT(ingest(wpath("large.tar"), &lim, &res), VG_OK, "ingest large files");
		VT_EQ_STR(res.digest, want, "digest of large files");
		VT_EQ_INT(res.reordered, round, "copied only when out of order");
		{
			char *tar = blob_slurp(res.tar_key, &len);

			if (round == 0) {
				tar1 = tar;
				len1 = len;
			} else {
				VT_OK(tar && len == len1 && memcmp(tar, tar1, len) == 0,
				    "same tar bytes from either order");
				free(tar);
			}
		}
		snprintf(dir, sizeof dir, "%s/large-out", work);
		mkdir(dir, 0700);
		{
			struct vg_blob_reader *r = NULL;
			struct vg_archive_result x2;
			char path[700];
			FILE *f;
			int same = 1;

			vg_blob_get(blob, VG_BLOB_SOURCES, res.tar_key, &r);
			VT_EQ_INT(r ? vg_archive_extract(blob_read_fn, r, dir, &lim, &x2) : VG_ERR_IO, VG_OK,
			    "extract large files");
			vg_blob_reader_free(r);
			for (i = 0; i < N; i++) {
				char *got = malloc(sizes[i] + 1);
				size_t n = 0;

				snprintf(path, sizeof path, "%s/%s", dir, paths[i]);
				if ((f = fopen(path, "rb")) != NULL) {
					n = fread(got, 1, sizes[i] + 1, f);
					fclose(f);
				}
				same &= n == sizes[i] && memcmp(got, contents[i], n) == 0;
				free(got);
			}
			VT_OK(same, "large contents intact");
			snprintf(path, sizeof path, "rm -rf '%s'", dir);
			run(path);
		}
		vg_blob_delete(blob, VG_BLOB_SOURCES, res.tar_key);
		vg_blob_delete(blob, VG_BLOB_SOURCES, res.manifest_key);
		VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
		vg_archive_result_clear(&res);
	}
	free(tar1);
	for (i = 0; i < N; i++)
		free(bufs[i]);
}

/* Names that need escaping in JSON, and non-ASCII ones, come back from
 * the manifest as they went in. */
static void
test_odd_names(void)
{
	static const char *const names[] = {
		"dir with space/a\"quoted\".c", "back\\slash.py", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.go",
		"emoji\xf0\x9f\x98\x80.txt",
	};
	struct ent ents[5];
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	json_t *m = NULL, *files;
	size_t i, k;
	int found = 0;

	default_limits(&lim);
	for (i = 0; i < 4; i++)
		ents[i] = (struct ent){names[i], 'f', names[i], 0};
	ents[4] = (struct ent)END;
	VT_OK(build(wpath("odd.tar"), "pax", "none", NULL, ents, 1), "odd.tar");
	VT_EQ_INT(ingest(wpath("odd.tar"), &lim, &res), VG_OK, "odd names accepted");
	VT_EQ_INT(vg_archive_manifest_load(blob, res.digest, 1 << 20, &m), VG_OK, "manifest parses");
	files = json_object_get(m, "files");
	for (i = 0; i < 4; i++)
		for (k = 0; k < json_array_size(files); k++)
			if (strcmp(json_string_value(json_object_get(json_array_get(files, k), "path")),
			    names[i]) == 0)
				found++;
	VT_EQ_INT(found, 4, "every odd name intact in the manifest");
	json_decref(m);
	vg_archive_result_clear(&res);
}

/* ---- refusals ---- */

enum limit_kind { LIM_DEFAULT, LIM_SMALL_FILE, LIM_SMALL_TOTAL, LIM_SMALL_SOURCE, LIM_SMALL_ENTRIES };

struct refusal {
	const char *name;
	const char *file;        /* built by the case's builder */
	enum limit_kind limits;
	enum vg_err err;
	const char *reason;
	const char *path;        /* offending path as reported; NULL: not checked */
};

static void
set_limits(struct vg_archive_limits *lim, enum limit_kind k)
{
	default_limits(lim);
	if (k == LIM_SMALL_FILE)
		lim->file_bytes = 1000;
	else if (k == LIM_SMALL_TOTAL)
		lim->total_bytes = 1 << 20;
	else if (k == LIM_SMALL_SOURCE)
		lim->source_bytes = 300;
	else if (k == LIM_SMALL_ENTRIES)
		lim->entries = 10;
}

/* Patch 4 little-endian bytes at off of the central-directory record of
 * name in the zip at file, adding delta. */
static int
zip_patch_cd(const char *file, const char *name, size_t off, long delta, const char *out)
{
	FILE *f = fopen(file, "rb");
	unsigned char *d;
	long n, i;
	int done = 0;

	if (!f)
		return 0;
	d = malloc(1 << 20);
	n = (long)fread(d, 1, 1 << 20, f);
	fclose(f);
	for (i = 0; i + 46 < n; i++) {
		unsigned nlen;
		uint32_t v;

		if (memcmp(d + i, "PK\001\002", 4) != 0)
			continue;
		nlen = d[i + 28] | (unsigned)d[i + 29] << 8;
		if (nlen != strlen(name) || memcmp(d + i + 46, name, nlen) != 0)
			continue;
		v = (uint32_t)d[i + off] | (uint32_t)d[i + off + 1] << 8 |
		    (uint32_t)d[i + off + 2] << 16 | (uint32_t)d[i + off + 3] << 24;
		v = (uint32_t)((long)v + delta);
		d[i + off] = (unsigned char)v;
		d[i + off + 1] = (unsigned char)(v >> 8);
		d[i + off + 2] = (unsigned char)(v >> 16);
		d[i + off + 3] = (unsigned char)(v >> 24);
		done = 1;
	}
	write_file(out, d, (size_t)n);
	free(d);
	return done;
}

/* Keep the first keep bytes of file in out. */
static int
truncate_copy(const char *file, long keep, const char *out)
{
	FILE *f = fopen(file, "rb");
	char *d = malloc((size_t)keep + 1);
	size_t n;

	if (!f || !d) {
		if (f)
			fclose(f);
		free(d);
		return 0;
	}
	n = fread(d, 1, (size_t)keep, f);
	fclose(f);
	write_file(out, d, n);
	free(d);
	return (long)n == keep;
}

/* Every hostile or broken archive of the refusal table, built here. */
static void
build_refusals(void)
{
	static const struct ent ok_tree[] = {
		{"a/one.c", 'f', "int one;\n", 0}, {"a/two.c", 'f', "int two;\n", 0},
		{"b/three.py", 'f', "three = 3\n", 0}, END,
	};
	static const struct { const char *file, *format, *filter; struct ent ents[4]; } simple[] = {
		{"dotdot.tar", "pax", "none", {{"../x", 'f', "x", 0}, END}},
		{"abs.tar", "pax", "none", {{"/etc/x", 'f', "x", 0}, END}},
		{"deepdotdot.tar", "ustar", "none", {{"ok.c", 'f', "x", 0}, {"a/../../x", 'f', "x", 0}, END}},
		{"innerdotdot.zip", "zip", "none", {{"a/../b.c", 'f', "x", 0}, END}},
		{"abs.zip", "zip", "none", {{"/tmp/evil", 'f', "x", 0}, END}},
		{"symout.tar", "pax", "none", {{"a.c", 'f', "x", 0}, {"l", 'l', "../../etc/passwd", 0}, END}},
		{"symabs.tar", "pax", "gzip", {{"a.c", 'f', "x", 0}, {"d/l", 'l', "/etc/passwd", 0}, END}},
		{"symtop.tar", "pax", "none", {{"top/a.c", 'f', "x", 0}, {"top/l", 'l', "../x", 0}, END}},
		{"symdeep.tar", "pax", "none", {{"a/b/l", 'l', "../../../x", 0}, {"f", 'f', "x", 0}, END}},
		{"symzip.zip", "zip", "none", {{"a.c", 'f', "x", 0}, {"l", 'l', "../x", 0}, END}},
		{"hard.tar", "pax", "none", {{"a.c", 'f', "x", 0}, {"b.c", 'h', "a.c", 0}, END}},
		{"chr.tar", "pax", "none", {{"a.c", 'f', "x", 0}, {"dev/null", 'c', NULL, 0}, END}},
		{"blk.tar", "ustar", "none", {{"a.c", 'f', "x", 0}, {"dev/sda", 'b', NULL, 0}, END}},
		{"fifo.tar", "gnutar", "xz", {{"a.c", 'f', "x", 0}, {"pipe", 'p', NULL, 0}, END}},
		{"dup.tar", "pax", "none", {{"a.c", 'f', "x", 0}, {"a.c", 'f', "y", 0}, END}},
		{"dupnorm.tar", "pax", "none", {{"./a//b.c", 'f', "x", 0}, {"a/b.c", 'f', "y", 0}, END}},
		{"dupzip.zip", "zip", "none", {{"a.c", 'f', "x", 0}, {"./a.c", 'f', "y", 0}, END}},
		{"conflict.tar", "pax", "none", {{"a", 'f', "x", 0}, {"a/b.c", 'f', "y", 0}, END}},
		{"conflictlink.tar", "pax", "none", {{"d", 'l', "e", 0}, {"d/f.c", 'f', "y", 0}, END}},
		{"filedir.tar", "pax", "none", {{"a", 'd', NULL, 0}, {"a", 'f', "y", 0}, END}},
		{"badutf8.ustar.tar", "ustar", "none", {{"ok.c", 'f', "x", 0}, {"bad\xff.c", 'f', "x", 0}, END}},
		{"badutf8.pax.tar", "pax", "none", {{"bad\xc3\x28.c", 'f', "x", 0}, END}},
		{"badutf8.zip", "zip", "none", {{"bad\xed\xa0\x80.c", 'f', "x", 0}, END}},
		{"ctrl.tar", "pax", "none", {{"a\nb.c", 'f', "x", 0}, END}},
		{"dirsonly.tar", "pax", "gzip", {{"a/", 'd', NULL, 0}, {"a/b/", 'd', NULL, 0}, END}},
		{"onlylink.tar", "pax", "none", {{"l", 'l', "x", 0}, END}},
		{"big.tar", "pax", "zstd", {{"small.c", 'f', "x", 0}, {"dir/big.bin", 'f', NULL, 0}, END}},
		{"bz2.tar.bz2", "pax", "bzip2", {{"a.c", 'f', "x", 0}, END}},
		{"cpio.cpio", "cpio", "none", {{"a.c", 'f', "x", 0}, END}},
		{"cpio.gz", "cpio", "gzip", {{"a.c", 'f', "x", 0}, END}},
		{"sevenz.7z", "7zip", "none", {{"a.c", 'f', "x", 0}, END}},
		{"longname.tar", "pax", "none", {{NULL, 'f', "x", 0}, END}},
	};
	static char bigdata[1002], longname[300];
	struct ent ents[8];
	unsigned char *zeros;
	size_t i;
	char cmd[1024];

	memset(bigdata, 'b', sizeof bigdata - 1);   /* 1001 bytes: one over */
	memset(longname, 'n', 256);
	memcpy(longname + 256, ".c", 3);
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		size_t k;

		for (k = 0; k < 4; k++) {
			ents[k] = simple[i].ents[k];
			if (ents[k].path && strcmp(ents[k].path, "dir/big.bin") == 0)
				ents[k].data = bigdata;
			if (!ents[k].path && ents[k].type == 'f')
				ents[k].path = longname;
			if (!ents[k].path)
				break;
		}
		VT_OK(build(wpath(simple[i].file), simple[i].format, simple[i].filter, NULL, ents, 5),
		    simple[i].file);
	}
	/* Truncated: a gzip cut in its middle, a tar cut in a file's data, a
	 * zip without its end, xz and zstd cut short. */
	VT_OK(build(wpath("ok.tar.gz"), "pax", "gzip", NULL, ok_tree, 5), "ok.tar.gz");
	VT_OK(build(wpath("ok.tar"), "pax", "none", NULL, ok_tree, 5), "ok.tar");
	VT_OK(build(wpath("ok.zip"), "zip", "none", NULL, ok_tree, 5), "ok.zip");
	VT_OK(build(wpath("ok.tar.xz"), "pax", "xz", NULL, ok_tree, 5), "ok.tar.xz");
	VT_OK(build(wpath("ok.tar.zst"), "pax", "zstd", NULL, ok_tree, 5), "ok.tar.zst");
	VT_OK(truncate_copy(wpath("ok.tar.gz"), file_size(wpath("ok.tar.gz")) / 2,
	    wpath("trunc.tar.gz")), "trunc.tar.gz");
	VT_OK(truncate_copy(wpath("ok.tar"), 512 + 5, wpath("trunc.tar")), "trunc.tar");
	VT_OK(truncate_copy(wpath("ok.zip"), file_size(wpath("ok.zip")) - 30, wpath("trunc.zip")),
	    "trunc.zip");
	VT_OK(truncate_copy(wpath("ok.tar.xz"), file_size(wpath("ok.tar.xz")) - 20,
	    wpath("trunc.tar.xz")), "trunc.tar.xz");
	VT_OK(truncate_copy(wpath("ok.tar.zst"), file_size(wpath("ok.tar.zst")) - 10,
	    wpath("trunc.tar.zst")), "trunc.tar.zst");
	VT_OK(truncate_copy(wpath("ok.tar.gz"), 12, wpath("trunc-head.tar.gz")), "trunc-head.tar.gz");
	/* Corrupt: a flipped byte inside the deflate stream; a tar header
	 * whose checksum fails. */
	{
		FILE *f = fopen(wpath("ok.tar"), "rb");
		char blk[4096];
		size_t n = f ? fread(blk, 1, sizeof blk, f) : 0;

		if (f)
			fclose(f);
		blk[512 + 512 + 100] ^= 0x55;   /* the second header's mode field */
		blk[512 + 512 + 101] ^= 0x55;
		write_file(wpath("badsum.tar"), blk, n);
	}
	/* Zips whose central directory disagrees with the entries: the
	 * uncompressed size (offset 24) and compressed size (offset 20),
	 * up and down; once from libarchive (data descriptors), once from
	 * Info-ZIP (sizes in the local headers). */
	VT_OK(zip_patch_cd(wpath("ok.zip"), "a/one.c", 24, 1000, wpath("lie-usize-up.zip")), "lie 1");
	VT_OK(zip_patch_cd(wpath("ok.zip"), "a/one.c", 24, -1, wpath("lie-usize-down.zip")), "lie 2");
	VT_OK(zip_patch_cd(wpath("ok.zip"), "a/two.c", 20, 1000, wpath("lie-csize-up.zip")), "lie 3");
	VT_OK(zip_patch_cd(wpath("ok.zip"), "b/three.py", 20, -2, wpath("lie-csize-down.zip")), "lie 4");
	snprintf(cmd, sizeof cmd, "cd '%s/tree' && zip -q -0 '%s/info0.zip' README.md src/main.c",
	    work, work);
	VT_EQ_INT(run(cmd), 0, "zip -0");
	VT_OK(zip_patch_cd(wpath("info0.zip"), "src/main.c", 24, 4096, wpath("lie-info.zip")), "lie 5");
	snprintf(cmd, sizeof cmd, "cd '%s/tree' && zip -q -P secret '%s/enc.zip' README.md", work, work);
	VT_EQ_INT(run(cmd), 0, "zip -P");
	/* Garbage, empty input, an empty tar, an empty zip, gzip of text. */
	{
		unsigned char junk[3000];
		unsigned int x = 12345;

		for (i = 0; i < sizeof junk; i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (unsigned char)(x >> 16);
		}
		write_file(wpath("garbage.bin"), junk, sizeof junk);
	}
	write_file(wpath("empty.bin"), "", 0);
	zeros = calloc(1, 10240);
	write_file(wpath("empty.tar"), zeros, 10240);
	free(zeros);
	write_file(wpath("empty.zip"), "PK\005\006\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
	snprintf(cmd, sizeof cmd, "echo 'just text' | gzip > '%s/text.gz'", work);
	VT_EQ_INT(run(cmd), 0, "text.gz");
	/* Eleven entries against a limit of ten; a bigger archive than the
	 * compressed limit. */
	{
		static char p[12][16];
		struct ent many[13];

		for (i = 0; i < 11; i++) {
			snprintf(p[i], sizeof p[i], "f%02zu.c", i);
			many[i] = (struct ent){p[i], 'f', "x", 0};
		}
		many[11] = (struct ent)END;
		VT_OK(build(wpath("eleven.tar"), "pax", "none", NULL, many, 5), "eleven.tar");
	}
}

static const struct refusal refusals[] = {
	{"../x", "dotdot.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_traversal", "../x"},
	{"/etc/x", "abs.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "absolute_path", "/etc/x"},
	{"a/../../x", "deepdotdot.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_traversal", "a/../../x"},
	{"a/../b.c in zip", "innerdotdot.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_traversal", "a/../b.c"},
	{"absolute in zip", "abs.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "absolute_path", "/tmp/evil"},
	{"symlink out", "symout.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "link_outside_tree", "l"},
	{"symlink absolute", "symabs.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "link_outside_tree", "d/l"},
	{"symlink out after the top dir goes", "symtop.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE,
	    "link_outside_tree", "l"},
	{"symlink out from deep", "symdeep.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "link_outside_tree", "a/b/l"},
	{"symlink out in zip", "symzip.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "link_outside_tree", "l"},
	{"hard link", "hard.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "hard_link", "b.c"},
	{"character device", "chr.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "special_file", "dev/null"},
	{"block device", "blk.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "special_file", "dev/sda"},
	{"FIFO", "fifo.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "special_file", "pipe"},
	{"duplicate", "dup.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "duplicate_path", "a.c"},
	{"duplicate after normalizing", "dupnorm.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "duplicate_path", "b.c"},
	{"duplicate in zip", "dupzip.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "duplicate_path", "a.c"},
	{"file used as a directory", "conflict.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_conflict", "a/b.c"},
	{"link used as a directory", "conflictlink.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_conflict", "d/f.c"},
	{"directory and file", "filedir.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "duplicate_path", "a"},
	{"invalid UTF-8 (ustar)", "badutf8.ustar.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "invalid_utf8_name", "bad\\xff.c"},
	{"invalid UTF-8 (pax)", "badutf8.pax.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "invalid_utf8_name", NULL},
	{"invalid UTF-8 (zip, surrogate)", "badutf8.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "invalid_utf8_name", NULL},
	{"control character", "ctrl.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "invalid_name", "a\\x0ab.c"},
	{"component too long", "longname.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "path_too_long", NULL},
	{"directories only", "dirsonly.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "empty_archive", ""},
	{"a link only", "onlylink.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "empty_archive", ""},
	{"empty tar", "empty.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "empty_archive", ""},
	{"empty zip", "empty.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "empty_archive", ""},
	{"no bytes", "empty.bin", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "empty_archive", ""},
	{"random garbage", "garbage.bin", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"gzip of text", "text.gz", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"bzip2 is not accepted", "bz2.tar.bz2", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"cpio is not accepted", "cpio.cpio", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"gzipped cpio is not accepted", "cpio.gz", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"7-Zip is not accepted", "sevenz.7z", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", ""},
	{"encrypted zip entry", "enc.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "unsupported_format", "README.md"},
	{"truncated gzip", "trunc.tar.gz", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", NULL},
	{"gzip cut in its header", "trunc-head.tar.gz", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", ""},
	{"truncated tar", "trunc.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", NULL},
	{"truncated zip", "trunc.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", ""},
	{"truncated xz", "trunc.tar.xz", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", NULL},
	{"truncated zstd", "trunc.tar.zst", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "truncated", NULL},
	{"tar header checksum", "badsum.tar", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", NULL},
	{"zip CD: larger size", "lie-usize-up.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", "a/one.c"},
	{"zip CD: smaller size", "lie-usize-down.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", "a/one.c"},
	{"zip CD: larger compressed size", "lie-csize-up.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", "a/two.c"},
	{"zip CD: smaller compressed size", "lie-csize-down.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", "b/three.py"},
	{"zip CD (Info-ZIP): larger size", "lie-info.zip", LIM_DEFAULT, VG_ERR_INVALID_ARCHIVE, "corrupt", "src/main.c"},
	{"file over the per-file limit", "big.tar", LIM_SMALL_FILE, VG_ERR_INVALID_ARCHIVE, "file_too_large", "dir/big.bin"},
	{"more entries than the limit", "eleven.tar", LIM_SMALL_ENTRIES, VG_ERR_INVALID_ARCHIVE, "too_many_entries", "f10.c"},
	{"compressed input over the limit", "ok.tar", LIM_SMALL_SOURCE, VG_ERR_TOO_LARGE, "source_too_large", ""},
	{"zip over the compressed limit", "ok.zip", LIM_SMALL_SOURCE, VG_ERR_TOO_LARGE, "source_too_large", ""},
};

/*
 * Each refusal: the error, the reason, the offending path, and nothing
 * left behind: no new object in file storage, no temporary file.
 */
static void
test_refusals(void)
{
	size_t i;

	build_refusals();
	for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *c = &refusals[i];
		struct vg_archive_limits lim;
		struct vg_archive_result res;
		int before = (int)vg_fs_count_files(blobdir);
		enum vg_err err;

		set_limits(&lim, c->limits);
		err = ingest(wpath(c->file), &lim, &res);
		VT_EQ_INT(err, c->err, c->name);
		VT_EQ_STR(res.reason, c->reason, c->name);
		if (c->path)
			VT_EQ_STR(path_of(&res), c->path, c->name);
		VT_EQ_STR(res.digest, "", "no digest on refusal");
		VT_OK(res.languages == NULL, "no totals on refusal");
		VT_EQ_INT((int)vg_fs_count_files(blobdir), before, "nothing stored");
		VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
		vg_archive_result_clear(&res);
	}
}

/* A ustar header for a regular file of size bytes (the data follows). */
static void
raw_header(FILE *f, const char *name, unsigned long long size)
{
	unsigned char h[512];
	unsigned sum = 0;
	size_t i;

	memset(h, 0, sizeof h);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", size & 077777777777ULL);
	memcpy(h + 136, "00000000000", 12);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	fwrite(h, 1, 512, f);
}

/*
 * 60,000 real entries against the default limit of 50,000 (through the
 * settings): refused at entry 50,001, having kept nothing.  The tar is
 * written by hand: a library writing 60,000 headers is slow under
 * valgrind.
 */
static void
test_many_entries(void)
{
	static const char end[1024];
	struct vg_archive_result res;
	char name[32], msg[256];
	FILE *f = fopen(wpath("60k.tar"), "wb");
	int i;

	for (i = 0; f && i < 60000; i++) {
		snprintf(name, sizeof name, "d%03d/f%05d.c", i / 1000, i);
		raw_header(f, name, 0);
	}
	if (f) {
		fwrite(end, 1, sizeof end, f);
		fclose(f);
	}
	VT_EQ_INT(file_size(wpath("60k.tar")), 60000 * 512 + 1024, "60,000-entry tar built");
	unsetenv("VEGA_MAX_ARCHIVE_ENTRIES");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "default settings");
	VT_EQ_INT(vg_cfg_int(VG_SET_MAX_ARCHIVE_ENTRIES), 50000, "default entry limit is 50,000");
	VT_EQ_INT(ingest(wpath("60k.tar"), NULL, &res), VG_ERR_INVALID_ARCHIVE, "60,000 entries refused");
	VT_EQ_STR(res.reason, "too_many_entries", "reason");
	VT_EQ_INT(res.entries, 50001, "stopped at the first entry over the limit");
	VT_EQ_STR(path_of(&res), "d050/f50000.c", "the entry that crossed it");
	VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
	vg_archive_result_clear(&res);

	/* At the limit exactly, through the settings: accepted. */
	setenv("VEGA_MAX_ARCHIVE_ENTRIES", "11", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings with 11 entries");
	VT_EQ_INT(ingest(wpath("eleven.tar"), NULL, &res), VG_OK, "11 entries at a limit of 11");
	VT_EQ_INT(res.files, 11, "every file kept");
	vg_archive_result_clear(&res);
	unsetenv("VEGA_MAX_ARCHIVE_ENTRIES");
	vg_settings_load(msg, sizeof msg);
}

/*
 * A compression bomb: 64 MiB of zeros gzip'ed to a few dozen KiB (by the
 * gzip command), against a total limit of 1 MiB.  Stopped once past
 * 1 MiB: little input read, little expanded, nothing kept.
 */
static void
test_bomb(void)
{
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	char cmd[1024];
	long size;
	FILE *f = fopen(wpath("bomb.hdr"), "wb");

	if (f) {
		raw_header(f, "bomb.bin", 64 << 20);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "cd '%s' && { cat bomb.hdr; head -c %d /dev/zero; } | gzip -9 "
	    "> bomb.tar.gz", work, (64 << 20) + 1024);
	VT_EQ_INT(run(cmd), 0, "bomb built");
	size = file_size(wpath("bomb.tar.gz"));
	VT_OK(size > 0 && size < 200 * 1024, "64 MiB in a small gzip");

	default_limits(&lim);
	lim.total_bytes = 1 << 20;
	lim.file_bytes = 1LL << 40;
	VT_EQ_INT(ingest_opts(wpath("bomb.tar.gz"), &lim, 4096, -1, &res), VG_ERR_INVALID_ARCHIVE,
	    "bomb refused");
	VT_EQ_STR(res.reason, "uncompressed_too_large", "bomb reason");
	VT_EQ_STR(path_of(&res), "bomb.bin", "bomb path");
	VT_OK(res.expanded_bytes <= (1 << 20) + 256 * 1024, "stopped within a chunk of the limit");
	VT_OK(res.input_bytes < (uint64_t)size / 4, "most of the input never read");
	VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
	vg_archive_result_clear(&res);

	/* The per-file limit stops it the same way. */
	lim.total_bytes = 1LL << 40;
	lim.file_bytes = 2 << 20;
	VT_EQ_INT(ingest_opts(wpath("bomb.tar.gz"), &lim, 4096, -1, &res), VG_ERR_INVALID_ARCHIVE,
	    "bomb against the file limit");
	VT_EQ_STR(res.reason, "file_too_large", "file limit reason");
	VT_OK(res.expanded_bytes <= (2 << 20) + 256 * 1024, "stopped within a chunk of the file limit");
	vg_archive_result_clear(&res);
}

/* The caller's stream failing is handed back as it came, nothing kept;
 * the zip path (copied first) likewise. */
static void
test_stream_errors(void)
{
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	int before = (int)vg_fs_count_files(blobdir);

	default_limits(&lim);
	VT_EQ_INT(ingest_opts(wpath("bomb.tar.gz"), &lim, 0, 1000, &res), VG_ERR_IO,
	    "a failing stream fails the ingest");
	VT_EQ_STR(res.reason, "", "no archive reason for the caller's own error");
	VT_EQ_INT(ingest_opts(wpath("ok.zip"), &lim, 0, 64, &res), VG_ERR_IO, "failing zip stream");
	VT_EQ_INT(ingest_opts(wpath("ok.tar"), &lim, 0, 0, &res), VG_ERR_IO, "failing at once");
	VT_EQ_INT((int)vg_fs_count_files(blobdir), before, "nothing stored");
	VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
	VT_OK(file_size(wpath("ok.zip")) > 300, "ok.zip is over the small source limit");
	VT_EQ_INT(vg_archive_ingest(NULL, reader_fn, NULL, &lim, &res), VG_ERR_INVALID,
	    "no file storage");
	/* Accepted: a file of exactly the per-file limit, one byte chunks. */
	lim.file_bytes = 1001;
	VT_EQ_INT(ingest_opts(wpath("big.tar"), &lim, 1, -1, &res), VG_OK, "exactly at the file limit");
	VT_EQ_INT(res.bytes, 1002, "both files");
	vg_archive_result_clear(&res);
}

/* Links inside the tree are accepted and left out of the snapshot. */
static void
test_symlinks_skipped(void)
{
	static const struct ent with_links[] = {
		{"top/a/x.c", 'f', "x", 0}, {"top/a/l", 'l', "x.c", 0},
		{"top/b/l2", 'l', "../a/x.c", 0}, {"top/b/l3", 'l', "./../a", 0}, END,
	};
	static const struct ent without[] = {{"top/a/x.c", 'f', "x", 0}, END};
	struct vg_archive_limits lim;
	struct vg_archive_result r1, r2;

	default_limits(&lim);
	build(wpath("links.tar"), "pax", "none", NULL, with_links, 5);
	build(wpath("nolinks.zip"), "zip", "none", NULL, without, 5);
	VT_EQ_INT(ingest(wpath("links.tar"), &lim, &r1), VG_OK, "links inside the tree accepted");
	VT_EQ_INT(r1.symlinks_skipped, 3, "and skipped");
	VT_EQ_INT(r1.files, 1, "files only");
	VT_EQ_INT(ingest(wpath("nolinks.zip"), &lim, &r2), VG_OK, "same tree without links");
	VT_EQ_STR(r1.digest, r2.digest, "links do not change the digest");
	vg_archive_result_clear(&r1);
	vg_archive_result_clear(&r2);
}

/* Two processes ingest the same tree at once: both succeed, one object. */
static void
test_concurrent_ingest(void)
{
	static const struct ent tree[] = {
		{"c/one.c", 'f', "concurrent one\n", 0}, {"c/two.c", 'f', "concurrent two\n", 0}, END,
	};
	struct vg_archive_limits lim;
	pid_t pids[4];
	int i, failed = 0, before = (int)vg_fs_count_files(blobdir);

	default_limits(&lim);
	build(wpath("conc.tar.gz"), "pax", "gzip", NULL, tree, 5);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vg_archive_result res;
			enum vg_err err = ingest(wpath("conc.tar.gz"), &lim, &res);

			vg_archive_result_clear(&res);
			_exit(err == VG_OK ? 0 : 1);
		}
	}
	for (i = 0; i < 4; i++) {
		int st = 0;

		waitpid(pids[i], &st, 0);
		failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	VT_EQ_INT(failed, 0, "concurrent ingests of one tree all succeed");
	VT_EQ_INT((int)vg_fs_count_files(blobdir), before + 2, "one tar and one manifest");
	VT_EQ_INT((int)vg_fs_count_entries(tmpdir), 0, "no temporary file left");
}

/* The header length the spool reserves equals what is written. */
static void
test_tar_header_len(void)
{
	static const uint64_t sizes[] = {0, 1, 077777777777ULL, 077777777777ULL + 1, 1ULL << 40};
	static const size_t lens[] = {1, 99, 100, 101, 150, 420, 503, 504, 505, 1000, 4000};
	unsigned char hdr[VG_TAR_HEADER_MAX];
	char path[4097];
	size_t i, k;
	int same = 1;

	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		memset(path, 'p', lens[i]);
		path[lens[i]] = '\0';
		for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
			if (vg_tar_header_len(path, sizes[k]) != vg_tar_header(hdr, sizeof hdr, path, sizes[k]))
				same = 0;
	}
	VT_OK(same, "reserved header length equals the header written");
	VT_EQ_INT(vg_tar_header_len("a", 1), 512, "short path: one block");
	VT_EQ_INT(vg_tar_header_len(path, 1), 512 + 4096 + 512, "4000-byte path: pax member (a 4011-byte record)");
}

static void
test_languages(void)
{
	static const struct { const char *path, *head, *want; } cases[] = {
		{"a/b.c", NULL, "c"}, {"x.h", NULL, "c"}, {"x.cpp", NULL, "cpp"}, {"X.C", NULL, "cpp"},
		{"x.PY", NULL, "python"}, {"lib/x.ts", NULL, "typescript"}, {"x.tsx", NULL, "typescript"},
		{"Makefile", NULL, "makefile"}, {"d/Dockerfile.prod", NULL, "dockerfile"},
		{"CMakeLists.txt", NULL, "cmake"}, {"notes.txt", NULL, "text"},
		{"run", "#!/bin/bash\nset -e\n", "shell"}, {"tool", "#!/usr/bin/env python3.11\n", "python"},
		{"srv", "#!/usr/bin/env -S node --harmony\n", "javascript"},
		{"weird", "#!/opt/bin/unknown\n", "other"}, {"noext", "plain text\n", "other"},
		{".profile", NULL, "other"}, {"x.", NULL, "other"}, {"x.go", "#!/bin/sh\n", "go"},
		{"a.rs", NULL, "rust"}, {"A.Java", NULL, "java"}, {"s.sql", NULL, "sql"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		VT_EQ_STR(vg_archive_language(cases[i].path, cases[i].head,
		    cases[i].head ? strlen(cases[i].head) : 0), cases[i].want, cases[i].path);
}

/* ---- extraction ---- */

/* One hand-made ustar member: header (name as given, no normalizing),
 * then data padded to a block. */
static void
raw_member(FILE *f, const char *name, char type, const char *link, const char *data, unsigned mode)
{
	unsigned char h[512];
	size_t len = data ? strlen(data) : 0, i;
	unsigned sum = 0;
	static const char pad[512];

	memset(h, 0, sizeof h);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)(len & 0x3fffffff));
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	if (type == '3' || type == '4') {
		snprintf((char *)h + 329, 8, "%07o", 1);
		snprintf((char *)h + 337, 8, "%07o", 3);
	}
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	fwrite(h, 1, 512, f);
	if (len) {
		fwrite(data, 1, len, f);
		fwrite(pad, 1, (512 - len % 512) % 512, f);
	}
}

struct raw_ent {
	const char *name;
	char type;
	const char *link;
	const char *data;
	unsigned mode;
};

static void
raw_tar(const char *file, const struct raw_ent *ents)
{
	static const char end[1024];
	FILE *f = fopen(file, "wb");

	if (!f)
		return;
	for (; ents->name; ents++)
		raw_member(f, ents->name, ents->type, ents->link, ents->data, ents->mode);
	fwrite(end, 1, sizeof end, f);
	fclose(f);
}

static enum vg_err
extract_file_to(const char *file, const char *dir, const struct vg_archive_limits *lim,
    struct vg_archive_result *res)
{
	struct reader r = {fopen(file, "rb"), 0, -1, 0};
	enum vg_err err;

	if (!r.f) {
		memset(res, 0, sizeof *res);
		return VG_ERR_IO;
	}
	err = vg_archive_extract(reader_fn, &r, dir, lim, res);
	fclose(r.f);
	return err;
}

static enum vg_err
blob_read_fn(void *ctx, void *buf, size_t cap, size_t *got)
{
	return vg_blob_reader_read(ctx, buf, cap, got);
}

/*
 * A snapshot comes back out as the same files; hostile tars, even in the
 * canonical shape, are refused and never write outside the root, which
 * is left empty.
 */
static void
test_extract(void)
{
	static const struct { const char *name; struct raw_ent ents[4]; const char *reason; } bad[] = {
		{"traversal", {{"ok.c", '0', NULL, "fine", 0644}, {"../escaped", '0', NULL, "evil", 0644},
		    {NULL, 0, NULL, NULL, 0}}, "path_traversal"},
		{"deep traversal", {{"a/../../escaped", '0', NULL, "evil", 0644}, {NULL, 0, NULL, NULL, 0}},
		    "path_traversal"},
		{"absolute", {{"/tmp/vg-extract-escaped", '0', NULL, "evil", 0644}, {NULL, 0, NULL, NULL, 0}},
		    "absolute_path"},
		{"symlink then through it", {{"l", '2', "..", NULL, 0777}, {"l/escaped", '0', NULL, "evil", 0644},
		    {NULL, 0, NULL, NULL, 0}}, "symlink"},
		{"hard link", {{"a.c", '0', NULL, "x", 0644}, {"b.c", '1', "a.c", NULL, 0644},
		    {NULL, 0, NULL, NULL, 0}}, "hard_link"},
		{"device", {{"null", '3', NULL, NULL, 0666}, {NULL, 0, NULL, NULL, 0}}, "special_file"},
		{"fifo", {{"p", '6', NULL, NULL, 0666}, {NULL, 0, NULL, NULL, 0}}, "special_file"},
		{"duplicate", {{"a.c", '0', NULL, "x", 0644}, {"a.c", '0', NULL, "y", 0644},
		    {NULL, 0, NULL, NULL, 0}}, "duplicate_path"},
		{"file under a file", {{"a", '0', NULL, "x", 0644}, {"a/b.c", '0', NULL, "y", 0644},
		    {NULL, 0, NULL, NULL, 0}}, "path_conflict"},
		{"too large", {{"big.c", '0', NULL, "0123456789abcdef", 0644}, {NULL, 0, NULL, NULL, 0}},
		    "file_too_large"},
		{"bad name", {{"bad\xff", '0', NULL, "x", 0644}, {NULL, 0, NULL, NULL, 0}},
		    "invalid_utf8_name"},
	};
	struct vg_archive_limits lim;
	struct vg_archive_result res;
	char dir[512], path[700], canary[512], buf[64];
	size_t i;
	FILE *f;

	default_limits(&lim);
	snprintf(dir, sizeof dir, "%s/x/root", work);
	snprintf(path, sizeof path, "%s/x", work);
	mkdir(path, 0700);
	snprintf(canary, sizeof canary, "%s/x/canary", work);
	write_file(canary, "canary", 6);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mkdir(dir, 0700);
		raw_tar(wpath("bad-extract.tar"), bad[i].ents);
		lim.file_bytes = strcmp(bad[i].name, "too large") == 0 ? 8 : 8 << 20;
		VT_EQ_INT(extract_file_to(wpath("bad-extract.tar"), dir, &lim, &res),
		    VG_ERR_INVALID_ARCHIVE, bad[i].name);
		VT_EQ_STR(res.reason, bad[i].reason, bad[i].name);
		VT_EQ_INT((int)vg_fs_count_entries(dir), 0, "root left empty");
		snprintf(path, sizeof path, "%s/x/escaped", work);
		VT_OK(access(path, F_OK) != 0, "nothing written beside the root");
		VT_OK(access("/tmp/vg-extract-escaped", F_OK) != 0, "nothing written at an absolute path");
		f = fopen(canary, "rb");
		memset(buf, 0, sizeof buf);
		if (f) {
			fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
		}
		VT_EQ_STR(buf, "canary", "canary outside the root untouched");
		rmdir(dir);
	}
	lim.file_bytes = 8 << 20;

	/* Modes are sanitized: setuid and exec bits never come through. */
	{
		static const struct raw_ent modes[] = {
			{"sub/dir/", '5', NULL, NULL, 07777}, {"sub/dir/x.sh", '0', NULL, "echo\n", 06777},
			{NULL, 0, NULL, NULL, 0},
		};
		struct stat st;

		mkdir(dir, 0700);
		raw_tar(wpath("modes.tar"), modes);
		VT_EQ_INT(extract_file_to(wpath("modes.tar"), dir, &lim, &res), VG_OK, "extract modes");
		snprintf(path, sizeof path, "%s/sub/dir/x.sh", dir);
		VT_OK(stat(path, &st) == 0 && (st.st_mode & 07111) == 0, "no setuid, no exec bits");
		snprintf(path, sizeof path, "%s/sub/dir", dir);
		VT_OK(stat(path, &st) == 0 && (st.st_mode & 07000) == 0 && (st.st_mode & 0700) == 0700,
		    "directory without special bits");
		VT_EQ_INT(extract_file_to(wpath("modes.tar"), dir, &lim, &res), VG_ERR_INVALID,
		    "a root that is not empty is refused");
		snprintf(path, sizeof path, "rm -rf '%s'", dir);
		run(path);
	}
	VT_EQ_INT(extract_file_to(wpath("modes.tar"), dir, &lim, &res), VG_ERR_INVALID,
	    "a missing root is refused");
	mkdir(dir, 0700);
	VT_EQ_INT(extract_file_to(wpath("garbage.bin"), dir, &lim, &res), VG_ERR_INVALID_ARCHIVE,
	    "garbage refused");
	VT_EQ_STR(res.reason, "unsupported_format", "garbage reason");
	VT_EQ_INT(extract_file_to(wpath("ok.tar.gz"), dir, &lim, &res), VG_ERR_INVALID_ARCHIVE,
	    "a compressed tar is not a snapshot");
	VT_EQ_INT(extract_file_to(wpath("trunc.tar"), dir, &lim, &res), VG_ERR_INVALID_ARCHIVE,
	    "truncated snapshot refused");
	VT_EQ_STR(res.reason, "truncated", "truncated reason");
	VT_EQ_INT((int)vg_fs_count_entries(dir), 0, "root left empty");

	/* A real snapshot, read from file storage, comes back whole. */
	{
		struct vg_archive_result ing;
		struct vg_blob_reader *r = NULL;
		char names[16][512];
		struct ent ents[16];
		int same = 1;

		tree_ents(ents, "", names);
		build(wpath("forextract.tar.xz"), "pax", "xz", NULL, ents, 7);
		VT_EQ_INT(ingest(wpath("forextract.tar.xz"), &lim, &ing), VG_OK, "ingest for extraction");
		VT_EQ_INT(vg_blob_get(blob, VG_BLOB_SOURCES, ing.tar_key, &r), VG_OK, "open snapshot");
		VT_EQ_INT(r ? vg_archive_extract(blob_read_fn, r, dir, &lim, &res) : VG_ERR_IO, VG_OK,
		    "extract snapshot");
		vg_blob_reader_free(r);
		VT_EQ_INT(res.files, TREE_N, "every file extracted");
		VT_EQ_INT(res.bytes, ing.bytes, "every byte extracted");
		for (i = 0; i < TREE_N; i++) {
			char got[128] = {0};

			snprintf(path, sizeof path, "%s/%s", dir, tree_paths[i]);
			f = fopen(path, "rb");
			if (f) {
				fread(got, 1, sizeof got - 1, f);
				fclose(f);
			}
			if (!f || strcmp(got, tree_data[i]) != 0)
				same = 0;
		}
		VT_OK(same, "same contents at the same paths");
		vg_archive_result_clear(&ing);
	}
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	run(path);
}

int
main(void)
{
	char msg[256], cmd[400];
	const char *t = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/vg-archive-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(datadir, sizeof datadir, "%s/data", root);
	snprintf(blobdir, sizeof blobdir, "%s/blobs", datadir);
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", datadir);
	snprintf(work, sizeof work, "%s/work", root);
	mkdir(work, 0700);
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "settings: %s\n", msg);
		return 1;
	}
	VT_EQ_INT(vg_blob_open(&blob, msg, sizeof msg), VG_OK, "file storage");
	if (!blob)
		return vt_done();
	test_languages();
	test_tar_header_len();
	test_formats();
	test_canonical();
	test_in_order();
	test_large();
	test_odd_names();
	test_refusals();
	test_many_entries();
	test_bomb();
	test_stream_errors();
	test_symlinks_skipped();
	test_concurrent_ingest();
	test_extract();
	vg_blob_free(blob);
	if (!getenv("VG_KEEP_TEST_DIR")) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		VT_EQ_INT(run(cmd), 0, "temp dir removed");
	}
	return vt_done();
}
