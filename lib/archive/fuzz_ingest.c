/*
 * fuzz_ingest.c - fuzz target for archive ingestion (and the extraction of
 * what it accepted).  Build for libFuzzer: clang -fsanitize=fuzzer,address
 * (see `make fuzz`); `make check` runs it through tests/unit/fuzz_driver.c
 * on the seeds in tests/fixtures/fuzz/archive/ plus deterministic
 * mutations.
 *
 * Beyond "does not crash", every input checks the contract's promises:
 * only the documented outcomes, a reason with every refusal, no temporary
 * file after any run, nothing in file storage after a refusal, and an
 * accepted snapshot extracts to exactly the files it claims.
 */
#include "config.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "archive/archive.h"
#include "blob/blob.h"
#include "core/settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[256], tmpdir[300], blobdir[300], outdir[300];
static struct vg_blob *blob;
static const struct vg_archive_limits lim = {
	.source_bytes = 1 << 20,
	.entries = 256,
	.file_bytes = 1 << 20,
	.total_bytes = 4 << 20,
};

struct mem {
	const uint8_t *p;
	size_t n, off;
};

/* Hand the input over in uneven pieces, as a network would. */
static enum vg_err
mem_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct mem *m = ctx;
	size_t want = 1 + (m->off * 7919 + 13) % 9000;

	if (want > cap)
		want = cap;
	if (want > m->n - m->off)
		want = m->n - m->off;
	memcpy(buf, m->p + m->off, want);
	m->off += want;
	*got = want;
	return VG_OK;
}

static enum vg_err
blob_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	return vg_blob_reader_read(ctx, buf, cap, got);
}

static void
cleanup(void)
{
	vg_blob_free(blob);
	blob = NULL;
	if (top[0] && vg_fs_remove_tree(top) != VG_OK)
		fprintf(stderr, "could not remove %s\n", top);
}

/*
 * Scratch space in memory (/dev/shm) when there is one: every accepted
 * input is written and fsync'ed twice, which on a disk would make the
 * run's time that of the disk.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char msg[256];

	(void)argc;
	(void)argv;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		t = "/dev/shm";
	snprintf(top, sizeof top, "%s/vg-fuzz-archive-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(top))
		abort();
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", top);
	snprintf(blobdir, sizeof blobdir, "%s/blobs", top);
	snprintf(outdir, sizeof outdir, "%s/out", top);
	setenv("VEGA_DATA_DIR", top, 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_blob_open(&blob, msg, sizeof msg) != VG_OK)
		abort();
	atexit(cleanup);
	return 0;
}

/* Extract what was accepted and compare with what ingest reported. */
static void
check_snapshot(const struct vg_archive_result *res)
{
	struct vg_archive_result x;
	struct vg_blob_reader *r = NULL;

	if (strlen(res->digest) != 64 || res->files == 0 || !res->languages)
		abort();
	if (vg_blob_get(blob, VG_BLOB_SOURCES, res->tar_key, &r) != VG_OK)
		abort();
	if (mkdir(outdir, 0700) != 0)
		abort();
	if (vg_archive_extract(blob_read, r, outdir, &lim, &x) != VG_OK ||
	    x.files != res->files || x.bytes != res->bytes ||
	    (int)vg_fs_count_files(outdir) != (int)res->files)
		abort();
	vg_blob_reader_free(r);
	vg_archive_result_clear(&x);
	if (vg_fs_remove_tree(outdir) != VG_OK)
		abort();
	if (vg_blob_delete(blob, VG_BLOB_SOURCES, res->tar_key) != VG_OK ||
	    vg_blob_delete(blob, VG_BLOB_SOURCES, res->manifest_key) != VG_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = {data, size, 0};
	struct vg_archive_result res;
	enum vg_err err;

	err = vg_archive_ingest(blob, mem_read, &m, &lim, &res);
	if ((int)vg_fs_count_entries(tmpdir) != 0)
		abort();   /* a temporary file outlived the run */
	if (err == VG_OK) {
		check_snapshot(&res);
	} else if (err == VG_ERR_INVALID_ARCHIVE || err == VG_ERR_TOO_LARGE) {
		if (!res.reason[0] || res.digest[0] || res.languages)
			abort();
	} else {
		abort();   /* I/O or internal errors are not an answer to bytes */
	}
	if ((int)vg_fs_count_files(blobdir) != 0)
		abort();   /* a refusal stored something, or a delete failed */
	vg_archive_result_clear(&res);
	return 0;
}
