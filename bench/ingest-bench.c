/*
 * ingest-bench.c - the library-level ingest benchmark's two halves
 * (bench/ingest.sh runs them):
 *
 *   ingest-bench gen MEGABYTES sorted|scrambled > tree.tar
 *       write an uncompressed tar of about MEGABYTES of source-like text
 *       (deterministic: the same bytes every run) to stdout; the script
 *       compresses it.  "sorted" lists paths in byte order, as git
 *       archive (and so GitHub's tarballs) do; "scrambled" in an order
 *       unrelated to the names, as a tar of a directory in readdir()
 *       order does;
 *   ingest-bench ingest ARCHIVE
 *       ingest ARCHIVE through vg_archive_ingest into the local file
 *       storage of $VEGA_DATA_DIR, reading it in 64 KiB pieces as the
 *       HTTP layer would, and print one line:
 *       "seconds=S input_bytes=N files=N bytes=N max_rss_kib=K digest=D".
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "archive/archive.h"
#include "blob/blob.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t
below(size_t n)
{
	return (size_t)(next() % n);
}

static const char *const keywords[] = {
	"if", "for", "while", "return", "static", "const", "int", "char", "void", "struct",
	"else", "switch", "case", "break", "def", "class", "import", "from", "func", "var",
	"let", "public", "private", "new", "self", "this", "null", "true", "false", "try",
};
static const char *const syllables[] = {
	"get", "set", "buf", "len", "ctx", "req", "res", "user", "name", "id", "key", "val",
	"item", "list", "map", "node", "next", "prev", "size", "count", "read", "write",
	"open", "close", "parse", "load", "save", "token", "path", "file", "conn", "query",
};
static const char *const ops[] = {
	" = ", " == ", " != ", " + ", " - ", " < ", " > ", " && ", " || ", "->", ".", ", ",
};
static const char *const exts[] = {".c", ".py", ".js", ".go", ".java", ".ts", ".rb", ".h"};

#define NIDENT 1500
static char idents[NIDENT][40];

static void
make_idents(void)
{
	size_t i;

	for (i = 0; i < NIDENT; i++) {
		int parts = 1 + (int)below(3), k;

		idents[i][0] = '\0';
		for (k = 0; k < parts; k++) {
			if (k)
				strncat(idents[i], "_", sizeof idents[i] - strlen(idents[i]) - 1);
			strncat(idents[i], syllables[below(sizeof syllables / sizeof syllables[0])],
			    sizeof idents[i] - strlen(idents[i]) - 1);
		}
	}
}

/* One line of code-like text into out (at most cap bytes); its length. */
static size_t
code_line(char *out, size_t cap, int depth)
{
	size_t n = 0, words = 2 + below(8), w;
	int r;

	r = snprintf(out, cap, "%*s", depth * 4, "");
	n = r > 0 ? (size_t)r : 0;
	if (below(9) == 0) {
		r = snprintf(out + n, cap - n, "/* %s %s %s */\n", idents[below(NIDENT)],
		    syllables[below(32)], idents[below(NIDENT)]);
		return n + (size_t)r;
	}
	r = snprintf(out + n, cap - n, "%s ", keywords[below(sizeof keywords / sizeof keywords[0])]);
	n += (size_t)r;
	for (w = 0; w < words && n + 64 < cap; w++) {
		if (below(5) == 0)
			r = snprintf(out + n, cap - n, "%zu", below(1000));
		else
			r = snprintf(out + n, cap - n, "%s", idents[below(NIDENT)]);
		n += (size_t)r;
		if (w + 1 < words) {
			r = snprintf(out + n, cap - n, "%s", ops[below(sizeof ops / sizeof ops[0])]);
			n += (size_t)r;
		}
	}
	r = snprintf(out + n, cap - n, "%s\n", below(4) == 0 ? " {" : ";");
	return n + (size_t)r;
}

static int
gen(long megabytes, bool sorted)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	uint64_t target = (uint64_t)megabytes << 20, written = 0;
	size_t cap = 256 * 1024, nfiles = 0;
	char *body = malloc(cap), line[512], path[256];
	int rc = 0;

	make_idents();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 65536);
	if (!body || archive_write_open_fd(a, 1) != ARCHIVE_OK) {
		fprintf(stderr, "gen: cannot write\n");
		rc = 1;
		goto out;
	}
	while (written < target) {
		size_t want = 4096 + below(120 * 1024), len = 0;
		int depth = 0;

		if (sorted)
			snprintf(path, sizeof path, "project/mod%03zu/sub%02zu/file%06zu%s",
			    nfiles / 400, nfiles / 20 % 20, nfiles,
			    exts[nfiles % (sizeof exts / sizeof exts[0])]);
		else   /* module and file numbers jump around */
			snprintf(path, sizeof path, "project/mod%03zu/sub%02zu/file%06zu%s",
			    (nfiles * 37) % 211, (nfiles * 11) % 17, (nfiles * 7919) % 1000003,
			    exts[nfiles % (sizeof exts / sizeof exts[0])]);
		while (len < want) {
			size_t n = code_line(line, sizeof line, depth);

			if (len + n > cap)
				break;
			memcpy(body + len, line, n);
			len += n;
			depth = (int)below(4);
		}
		archive_entry_clear(e);
		archive_entry_copy_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_size(e, (la_int64_t)len);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, body, len) != (la_ssize_t)len) {
			fprintf(stderr, "gen: %s\n", archive_error_string(a));
			rc = 1;
			goto out;
		}
		written += len;
		nfiles++;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = 1;
	fprintf(stderr, "gen: %zu files, %llu bytes of text\n", nfiles, (unsigned long long)written);
out:
	archive_entry_free(e);
	archive_write_free(a);
	free(body);
	return rc;
}

static enum vg_err
file_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	size_t want = cap < 65536 ? cap : 65536;

	*got = fread(buf, 1, want, ctx);
	return ferror((FILE *)ctx) ? VG_ERR_IO : VG_OK;
}

static int
ingest(const char *file)
{
	struct vg_archive_result res;
	struct vg_blob *blob = NULL;
	struct rusage ru;
	char msg[256];
	int64_t t0, t1;
	enum vg_err err;
	FILE *f;

	if (vg_settings_load(msg, sizeof msg) != VG_OK ||
	    vg_blob_open(&blob, msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "ingest: %s\n", msg);
		return 1;
	}
	if (!(f = fopen(file, "rb"))) {
		perror(file);
		vg_blob_free(blob);
		return 1;
	}
	t0 = vg_time_mono_us();
	err = vg_archive_ingest(blob, file_read, f, NULL, &res);
	t1 = vg_time_mono_us();
	fclose(f);
	getrusage(RUSAGE_SELF, &ru);
	if (err != VG_OK) {
		fprintf(stderr, "ingest: %s (%s %s)\n", vg_err_code(err), res.reason, res.path);
		vg_archive_result_clear(&res);
		vg_blob_free(blob);
		return 1;
	}
	printf("seconds=%.3f input_bytes=%llu files=%llu bytes=%llu max_rss_kib=%ld digest=%s\n",
	    (double)(t1 - t0) / 1e6, (unsigned long long)res.input_bytes,
	    (unsigned long long)res.files, (unsigned long long)res.bytes, ru.ru_maxrss, res.digest);
	vg_archive_result_clear(&res);
	vg_blob_free(blob);
	return 0;
}

int
main(int argc, char **argv)
{
	int64_t mb = 0;

	if (argc == 4 && strcmp(argv[1], "gen") == 0 &&
	    vg_str_to_i64(argv[2], 1, 1 << 20, &mb) == VG_OK &&
	    (strcmp(argv[3], "sorted") == 0 || strcmp(argv[3], "scrambled") == 0))
		return gen((long)mb, strcmp(argv[3], "sorted") == 0);
	if (argc == 3 && strcmp(argv[1], "ingest") == 0)
		return ingest(argv[2]);
	fprintf(stderr, "usage: %s gen MEGABYTES sorted|scrambled > tree.tar | ingest ARCHIVE\n",
	    argv[0]);
	return 2;
}
