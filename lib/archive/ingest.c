/*
 * ingest.c - archive in, snapshot out (the contract is archive.h).
 *
 * Two phases.  READ: every entry is checked as it arrives and each file's
 * bytes are appended to one private spool file while their SHA-256 is
 * computed (spool.c: on a second thread once the archive is large enough
 * to gain from it); only a small record per entry stays in memory.  FINISH: the
 * records are sorted and checked as a whole (top directory, duplicates,
 * conflicts, links), the digest is computed, and the canonical tar goes
 * to file storage, followed by the manifest.  Nothing reaches file
 * storage before every check passed.
 *
 * The spool is laid out as the canonical tar would be if the files came
 * in canonical order: room for each member's header before its data, and
 * padding after.  When they did come in order (git archive and GitHub
 * tarballs list paths sorted), the headers are filled in and the spool
 * itself is handed to file storage: no copy.  Otherwise each file's bytes
 * are copied from the spool into a new tar in sorted order.
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "archive/archive.h"
#include "archive/archive_int.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"

#define INBUF_SIZE (64u * 1024)     /* one read from the caller's stream */
#define HEAD_SIZE 256               /* first bytes kept for "#!" detection */
#define ZIP_TAIL (65535u + 22u)     /* an end-of-central-directory record lies here */
#define MANIFEST_FLUSH (64u * 1024) /* manifest text buffered before a write */
/* The uncompressed stream also carries headers: each entry may use this
 * much beyond its data (ustar and pax blocks for a maximal path). */
#define HEADER_ALLOWANCE (16u * 1024)
#define STREAM_SLACK (1024u * 1024)

enum kind { K_FILE, K_DIR, K_LINK };

struct entry {
	char *path;             /* normalized; owned */
	char *target;           /* K_LINK: the raw target; owned */
	uint64_t off, size;     /* K_FILE: where in the spool */
	uint64_t claimed;       /* K_FILE: the size its header gave (a guess) */
	uint64_t hdr_off;       /* K_FILE: the tar header written before its data */
	size_t hdr_len;
	bool guess_cut;         /* that header's path lost the guessed top directory */
	unsigned char sha[32];  /* K_FILE, once the spool is drained */
	size_t file_no;         /* K_FILE: its number in the spool */
	int lang;               /* K_FILE */
	enum kind kind;
};

/* The kinds an entry's file type maps to; anything else is refused. */
static const struct {
	unsigned int type;
	enum kind kind;
} entry_types[] = {
	{AE_IFREG, K_FILE},
	{AE_IFDIR, K_DIR},
	{AE_IFLNK, K_LINK},
};

/* libarchive's compression filters we accept, and how a format is named. */
static const struct {
	int code;
	const char *name;
} filter_names[] = {
	{ARCHIVE_FILTER_NONE, "tar"},
	{ARCHIVE_FILTER_GZIP, "tar.gz"},
	{ARCHIVE_FILTER_XZ, "tar.xz"},
	{ARCHIVE_FILTER_ZSTD, "tar.zst"},
};

static int (*const filters[])(struct archive *) = {
	archive_read_support_filter_gzip,
	archive_read_support_filter_xz,
	archive_read_support_filter_zstd,
};

struct ingest {
	struct vg_blob *blob;
	struct vg_archive_limits lim;
	struct vg_archive_result *res;
	struct vg_archive_input in;
	/* private temporary directory and spool */
	char tmpdir[PATH_MAX];
	int tmpfd;
	int spool_fd;
	int zip_fd;
	uint64_t spool_len;
	/* in-order spool (see the top of this file) */
	bool in_order;           /* files so far in ascending path order */
	bool guessed;            /* guess_len is set */
	size_t guess_len;        /* length of the top directory guessed to go, 0: none */
	char guess[VG_ARCHIVE_NAME_MAX + 1];
	char *last_file;         /* last file's path, for the order check */
	struct vg_spool *spool;  /* hashes and writes file data */
	size_t nfiles;           /* files spooled */
	/* entries */
	struct entry *ents;
	size_t n, cap;
	uint64_t total;          /* file bytes read */
	EVP_MD_CTX *md;
	uint64_t *lang_count;
};

/* ---- input ---- */

/* The reason for a failed read of the caller's stream, or VG_OK. */
static enum vg_err
input_failure(struct ingest *g)
{
	if (g->in.over)
		return vg_archive_refuse(g->res, "source_too_large", NULL);
	return g->in.err;
}

/* ---- temporary directory ---- */

/* $VEGA_DATA_DIR/tmp/ingest-XXXXXX (0700) with an empty spool in it;
 * made when the first file or a zip needs it, so that input refused at
 * once never touches the disk. */
static enum vg_err
tmp_open(struct ingest *g)
{
	char base[PATH_MAX];
	bool direct;
	int n;

	n = snprintf(base, sizeof base, "%s/tmp", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof base)
		return VG_ERR_INVALID;
	if (vg_fs_mkdir_p(base, 0750) != VG_OK)
		goto fail;
	n = snprintf(g->tmpdir, sizeof g->tmpdir, "%s/ingest-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof g->tmpdir)
		return VG_ERR_INVALID;
	if (!mkdtemp(g->tmpdir)) {
		g->tmpdir[0] = '\0';
		goto fail;
	}
	if ((g->tmpfd = open(g->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	g->spool_fd = openat(g->tmpfd, "spool", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g->spool_fd < 0)
		goto fail;
	/* Past the page cache when the file system allows (spool.c says why). */
	direct = fcntl(g->spool_fd, F_SETFL, O_DIRECT) == 0;
	if (vg_spool_new(g->spool_fd, direct, &g->spool) != VG_OK)
		return VG_ERR_NOMEM;
	return VG_OK;
fail:
	vg_log(VG_LOG_ERROR, "ingest_tmp_failed", "dir", base, "error", strerror(errno), NULL);
	return VG_ERR_IO;
}

static void
tmp_close(struct ingest *g)
{
	vg_spool_free(g->spool);   /* first: its thread writes to spool_fd */
	g->spool = NULL;
	if (g->spool_fd >= 0)
		close(g->spool_fd);
	if (g->zip_fd >= 0)
		close(g->zip_fd);
	if (g->tmpfd >= 0) {
		unlinkat(g->tmpfd, "spool", 0);
		unlinkat(g->tmpfd, "input.zip", 0);
		close(g->tmpfd);
	}
	if (g->tmpdir[0] && rmdir(g->tmpdir) != 0)
		vg_log(VG_LOG_WARN, "ingest_tmp_left", "dir", g->tmpdir, "error", strerror(errno), NULL);
	g->spool_fd = g->zip_fd = g->tmpfd = -1;
	g->tmpdir[0] = '\0';
}

/* ---- opening the archive ---- */

/* Why libarchive failed: our stream, our limit, or the archive. */
static enum vg_err
la_failed(struct ingest *g, struct archive *a, const char *raw)
{
	const char *reason;

	if (g->in.over || g->in.err)
		return input_failure(g);
	reason = vg_archive_la_reason(a);
	if (g->res->entries == 0 && archive_format(a) == 0 && strcmp(reason, "truncated") != 0)
		reason = "unsupported_format";
	return vg_archive_refuse(g->res, reason, raw);
}


/* Whether the zip copied to fd ends with an end-of-central-directory
 * record (a zip without one was cut short), and the number of entries it
 * announces (the last record found; zip64 archives say 0xffff). */
static enum vg_err
zip_has_end(int fd, bool *found, unsigned *entries)
{
	unsigned char *tail = NULL;
	struct stat st;
	size_t n, i;
	ssize_t k;

	*found = false;
	*entries = 0;
	if (fstat(fd, &st) != 0)
		return VG_ERR_IO;
	n = (size_t)st.st_size < ZIP_TAIL ? (size_t)st.st_size : ZIP_TAIL;
	if (n < 22)
		return VG_OK;
	if (!(tail = malloc(n)))
		return VG_ERR_NOMEM;
	k = pread(fd, tail, n, st.st_size - (off_t)n);
	if (k == (ssize_t)n) {
		for (i = n - 22 + 1; i-- > 0;) {
			if (memcmp(tail + i, "PK\005\006", 4) == 0) {
				*found = true;
				*entries = tail[i + 10] | (unsigned)tail[i + 11] << 8;
				break;
			}
		}
	}
	free(tail);
	return k == (ssize_t)n ? VG_OK : VG_ERR_IO;
}

/*
 * A zip keeps its table of contents at the end, so it is copied whole to
 * the temporary directory (counted against the compressed limit) and read
 * through the central directory, which libarchive checks against every
 * local header.
 */
static enum vg_err
open_zip(struct ingest *g, struct archive *a)
{
	enum vg_err err;
	bool has_end;
	unsigned entries;
	size_t got;

	if ((err = tmp_open(g)) != VG_OK)
		return err;
	g->zip_fd = openat(g->tmpfd, "input.zip", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g->zip_fd < 0)
		return VG_ERR_IO;
	if ((err = vg_fs_write_all(g->zip_fd, g->in.buf, g->in.pending)) != VG_OK)
		return err;
	g->in.pending = 0;
	for (;;) {
		if ((err = vg_archive_input_fill(&g->in, g->in.buf, g->in.cap, &got)) != VG_OK)
			return input_failure(g);
		if (got == 0)
			break;
		if ((err = vg_fs_write_all(g->zip_fd, g->in.buf, got)) != VG_OK)
			return err;
	}
	if ((err = zip_has_end(g->zip_fd, &has_end, &entries)) != VG_OK)
		return err;
	if (!has_end)
		return vg_archive_refuse(g->res, "truncated", NULL);
	g->res->format = "zip";
	if (entries == 0)   /* libarchive does not recognise an empty zip */
		return vg_archive_refuse(g->res, "empty_archive", NULL);
	if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK)
		return VG_ERR_INTERNAL;
	if (lseek(g->zip_fd, 0, SEEK_SET) != 0)
		return VG_ERR_IO;
	if (archive_read_open_fd(a, g->zip_fd, 64 * 1024) != ARCHIVE_OK)
		return la_failed(g, a, NULL);
	return VG_OK;
}

/* A tar, maybe compressed, read as it streams in.  Each filter must be
 * built in: a filter that would run an outside program is refused. */
static enum vg_err
open_tar(struct ingest *g, struct archive *a)
{
	size_t i;

	for (i = 0; i < sizeof filters / sizeof filters[0]; i++)
		if (filters[i](a) != ARCHIVE_OK)
			return VG_ERR_INTERNAL;
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return VG_ERR_INTERNAL;
	/* Opening reads the first blocks to recognise the format. */
	if (archive_read_open2(a, &g->in, NULL, vg_archive_input_la_read, NULL, NULL) != ARCHIVE_OK)
		return la_failed(g, a, NULL);
	return VG_OK;
}

/* ---- reading entries ---- */

/* The uncompressed stream may not outgrow the total limit by more than
 * headers can account for (many huge pax headers, say). */
static bool
stream_over(struct ingest *g, struct archive *a)
{
	la_int64_t consumed = archive_filter_bytes(a, 0);
	uint64_t allowed = (uint64_t)g->lim.total_bytes + STREAM_SLACK +
	    g->res->entries * (uint64_t)HEADER_ALLOWANCE;

	return consumed > 0 && (uint64_t)consumed > allowed;
}

static enum vg_err
add_entry(struct ingest *g, struct entry *e)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct entry *p = realloc(g->ents, cap * sizeof *p);

		if (!p)
			return VG_ERR_NOMEM;
		g->ents = p;
		g->cap = cap;
	}
	g->ents[g->n++] = *e;
	return VG_OK;
}

/*
 * The top directory that will go, guessed from the first entry (its first
 * component when it has a '/' or is a directory): only to size the room
 * left for each header, which the final path fills at the end.
 */
static void
guess_top(struct ingest *g, const struct entry *e)
{
	const char *slash;
	size_t len;

	if (g->guessed)
		return;
	slash = strchr(e->path, '/');
	len = slash ? (size_t)(slash - e->path) : (e->kind == K_DIR ? strlen(e->path) : 0);
	memcpy(g->guess, e->path, len);
	g->guess[len] = '\0';
	g->guess_len = len;
	g->guessed = true;
}

/* A member's path once the guessed top directory is gone (the path as
 * it is when it does not lie under it). */
static const char *
guess_stripped(const struct ingest *g, const char *path)
{
	if (g->guess_len && strncmp(path, g->guess, g->guess_len) == 0 &&
	    path[g->guess_len] == '/')
		return path + g->guess_len + 1;
	return path;
}

static void
out_of_order(struct ingest *g)
{
	g->in_order = false;
}

/* Files must come in strictly ascending order of path for the spool to
 * be the tar (removing a common top directory keeps that order). */
static enum vg_err
order_check(struct ingest *g, const struct entry *e)
{
	if (!g->in_order || e->kind != K_FILE)
		return VG_OK;
	if (g->last_file && strcmp(e->path, g->last_file) <= 0) {
		out_of_order(g);
		return VG_OK;
	}
	free(g->last_file);
	if (!(g->last_file = strdup(e->path)))
		return VG_ERR_NOMEM;
	return VG_OK;
}

/*
 * Copy one file's data to the spool, counting every byte against the
 * per-file and total limits before it is written; the spool writer
 * hashes it.  A tar header goes before the data, made from the path less
 * the guessed top directory and the size the archive's header claims,
 * and padding after, so that when the guesses hold and the files come in
 * order the spool is the canonical tar.
 */
static enum vg_err
spool_file(struct ingest *g, struct archive *a, struct archive_entry *ae, struct entry *e,
    const char *raw)
{
	unsigned char hdr[VG_TAR_HEADER_MAX], *buf;
	unsigned flags = VG_SPOOL_HASH | VG_SPOOL_BEGIN;
	size_t hdr_len;
	la_ssize_t n;
	enum vg_err err;

	if (g->tmpfd < 0 && (err = tmp_open(g)) != VG_OK)
		return err;
	guess_top(g, e);
	if ((err = order_check(g, e)) != VG_OK)
		return err;
	e->claimed = archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0 ?
	    (uint64_t)archive_entry_size(ae) : 0;
	e->guess_cut = guess_stripped(g, e->path) != e->path;
	if ((hdr_len = vg_tar_header(hdr, sizeof hdr, guess_stripped(g, e->path), e->claimed)) == 0)
		return VG_ERR_INTERNAL;
	if ((err = vg_spool_put(g->spool, hdr, hdr_len, g->spool_len)) != VG_OK)
		return err;
	e->hdr_off = g->spool_len;
	e->hdr_len = hdr_len;
	g->spool_len += hdr_len;
	e->off = g->spool_len;
	e->size = 0;
	e->lang = -1;
	e->file_no = g->nfiles++;
	for (;;) {
		if (!(buf = vg_spool_buffer(g->spool)))
			return VG_ERR_NOMEM;
		if ((n = archive_read_data(a, buf, VG_SPOOL_CHUNK)) <= 0)
			break;
		e->size += (uint64_t)n;
		g->total += (uint64_t)n;
		g->res->expanded_bytes += (uint64_t)n;
		if (e->size > (uint64_t)g->lim.file_bytes)
			return vg_archive_refuse(g->res, "file_too_large", raw);
		if (g->total > (uint64_t)g->lim.total_bytes || stream_over(g, a))
			return vg_archive_refuse(g->res, "uncompressed_too_large", raw);
		if (e->lang < 0)
			e->lang = vg_archive_lang_index(e->path, buf,
			    (size_t)n < HEAD_SIZE ? (size_t)n : HEAD_SIZE);
		if ((err = vg_spool_submit(g->spool, (size_t)n, g->spool_len, flags, e->file_no)) != VG_OK)
			return err;
		flags = VG_SPOOL_HASH;
		g->spool_len += (uint64_t)n;
	}
	if (n < 0)
		return la_failed(g, a, raw);
	if (e->lang < 0)
		e->lang = vg_archive_lang_index(e->path, NULL, 0);
	/* The end of the file's hash; the gap to the next block is padding. */
	if ((err = vg_spool_submit(g->spool, 0, g->spool_len, flags | VG_SPOOL_END, e->file_no)) != VG_OK)
		return err;
	g->spool_len += (512 - e->size % 512) % 512;
	return VG_OK;
}

/* One header: check it, record it, spool a file's data. */
static enum vg_err
read_entry(struct ingest *g, struct archive *a, struct archive_entry *ae, int rc)
{
	char norm[VG_ARCHIVE_PATH_MAX + 1];
	const char *raw = archive_entry_pathname(ae), *reason, *target;
	struct entry e;
	unsigned int type = archive_entry_filetype(ae);
	enum vg_err err = VG_OK;
	size_t i;

	memset(&e, 0, sizeof e);
	if (++g->res->entries > (uint64_t)g->lim.entries)
		return vg_archive_refuse(g->res, "too_many_entries", raw);
	if (rc == ARCHIVE_WARN)
		return vg_archive_refuse(g->res, vg_archive_warn_reason(a, raw), raw);
	if (stream_over(g, a))
		return vg_archive_refuse(g->res, "uncompressed_too_large", raw);
	if (!raw)
		return vg_archive_refuse(g->res, "invalid_name", NULL);
	if ((reason = vg_archive_path_normalize(raw, norm, sizeof norm)) != NULL)
		return vg_archive_refuse(g->res, reason, raw);
	if (archive_entry_hardlink(ae))
		return vg_archive_refuse(g->res, "hard_link", raw);
	for (i = 0; i < sizeof entry_types / sizeof entry_types[0]; i++)
		if (entry_types[i].type == type)
			break;
	if (i == sizeof entry_types / sizeof entry_types[0])
		return vg_archive_refuse(g->res, "special_file", raw);
	e.kind = entry_types[i].kind;
	if (archive_entry_is_encrypted(ae))
		return vg_archive_refuse(g->res, "unsupported_format", raw);
	if (norm[0] == '\0') {   /* the root itself, as "./" */
		if (e.kind == K_DIR)
			return VG_OK;
		return vg_archive_refuse(g->res, "invalid_name", raw);
	}
	if (!(e.path = strdup(norm)))
		return VG_ERR_NOMEM;
	if (e.kind == K_LINK) {
		target = archive_entry_symlink(ae);
		if (!target || !(e.target = strdup(target)))
			err = target ? VG_ERR_NOMEM : vg_archive_refuse(g->res, "invalid_name", raw);
	} else if (e.kind == K_FILE) {
		err = spool_file(g, a, ae, &e, raw);
	}
	if (err == VG_OK && e.kind != K_FILE)
		guess_top(g, &e);
	if (err == VG_OK)
		err = add_entry(g, &e);
	if (err != VG_OK) {
		free(e.path);
		free(e.target);
	}
	return err;
}

static const char *
format_name(struct archive *a)
{
	int code = archive_filter_code(a, 0);
	size_t i;

	for (i = 0; i < sizeof filter_names / sizeof filter_names[0]; i++)
		if (filter_names[i].code == code)
			return filter_names[i].name;
	return "tar";
}

static enum vg_err
read_entries(struct ingest *g, struct archive *a)
{
	struct archive_entry *ae;
	enum vg_err err;
	int rc;

	for (;;) {
		rc = archive_read_next_header(a, &ae);
		if (rc == ARCHIVE_EOF)
			return VG_OK;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)   /* RETRY too: a damaged header */
			return la_failed(g, a, NULL);
		if (!g->res->format)
			g->res->format = format_name(a);
		if ((err = read_entry(g, a, ae, rc)) != VG_OK)
			return err;
	}
}

/* ---- finishing: the tree as a whole ---- */

static int
cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

/*
 * When every entry lies under one top-level directory, remove it from
 * every path (and drop the entry for the directory itself).
 */
static void
strip_top(struct ingest *g)
{
	const char *first, *slash;
	size_t len, i, j;
	bool below = false;

	if (g->n == 0)
		return;
	first = g->ents[0].path;
	slash = strchr(first, '/');
	len = slash ? (size_t)(slash - first) : strlen(first);
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i];

		if (strncmp(e->path, first, len) != 0)
			return;
		if (e->path[len] == '/')
			below = true;
		else if (e->path[len] != '\0' || e->kind != K_DIR)
			return;
	}
	if (!below)
		return;
	memcpy(g->res->stripped_dir, first, len);
	g->res->stripped_dir[len] = '\0';
	for (i = j = 0; i < g->n; i++) {
		struct entry *e = &g->ents[i];

		if (e->path[len] == '\0') {
			free(e->path);
			free(e->target);
			continue;
		}
		memmove(e->path, e->path + len + 1, strlen(e->path + len + 1) + 1);
		g->ents[j++] = *e;
	}
	g->n = j;
}

/* The entry whose path is exactly p[0..len), or NULL. */
static const struct entry *
find(const struct ingest *g, const char *p, size_t len)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *q = g->ents[mid].path;
		int c = strncmp(q, p, len);

		if (c == 0 && q[len] != '\0')
			c = 1;
		if (c == 0)
			return &g->ents[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Sort, then refuse duplicates (two directory entries are merged), paths
 * under a file or link, and links leaving the tree.
 */
static enum vg_err
check_tree(struct ingest *g)
{
	const char *reason;
	size_t i, j;

	if (g->n > 1)   /* qsort wants a non-NULL base even for nothing */
		qsort(g->ents, g->n, sizeof *g->ents, cmp_entries);
	for (i = 1; i < g->n; i++) {
		const struct entry *a = &g->ents[i - 1], *b = &g->ents[i];

		if (strcmp(a->path, b->path) == 0 && (a->kind != K_DIR || b->kind != K_DIR))
			return vg_archive_refuse(g->res, "duplicate_path", b->path);
	}
	/* Only directory entries repeat now: keep one of each. */
	for (i = j = 0; i < g->n; i++) {
		if (j > 0 && strcmp(g->ents[j - 1].path, g->ents[i].path) == 0) {
			free(g->ents[i].path);
			continue;
		}
		g->ents[j++] = g->ents[i];
	}
	g->n = j;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i], *parent;
		const char *p;

		for (p = strchr(e->path, '/'); p; p = strchr(p + 1, '/')) {
			parent = find(g, e->path, (size_t)(p - e->path));
			if (parent && parent->kind != K_DIR)
				return vg_archive_refuse(g->res, "path_conflict", e->path);
		}
		if (e->kind == K_LINK && (reason = vg_archive_link_check(e->path, e->target)))
			return vg_archive_refuse(g->res, reason, e->path);
	}
	return VG_OK;
}

/* The digest (archive.h): path NUL hex LF per file, sorted. */
static enum vg_err
compute_digest(struct ingest *g)
{
	unsigned char md[32];
	char hex[65];
	size_t i;

	if (EVP_DigestInit_ex(g->md, EVP_sha256(), NULL) != 1)
		return VG_ERR_INTERNAL;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i];

		if (e->kind != K_FILE)
			continue;
		vg_hex_encode(e->sha, sizeof e->sha, hex);
		hex[64] = '\n';
		if (EVP_DigestUpdate(g->md, e->path, strlen(e->path) + 1) != 1 ||
		    EVP_DigestUpdate(g->md, hex, 65) != 1)
			return VG_ERR_INTERNAL;
	}
	if (EVP_DigestFinal_ex(g->md, md, NULL) != 1)
		return VG_ERR_INTERNAL;
	vg_hex_encode(md, sizeof md, g->res->digest);
	return vg_archive_keys(g->res->digest, g->res->tar_key, g->res->manifest_key);
}

static enum vg_err
write_tar(struct ingest *g, bool *existed)
{
	struct vg_blob_writer *w = NULL;
	enum vg_err err;
	size_t i;

	if ((err = vg_blob_writer_new(g->blob, VG_BLOB_SOURCES, g->res->tar_key,
	    VG_BLOB_IF_ABSENT, &w)) != VG_OK)
		goto out;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i];

		if (e->kind != K_FILE)
			continue;
		if ((err = vg_tar_write_header(w, e->path, e->size)) != VG_OK ||
		    (err = vg_spool_copy_to(g->spool, e->off, e->size, w)) != VG_OK ||
		    (err = vg_tar_write_padding(w, e->size)) != VG_OK)
			goto out;
	}
	if ((err = vg_tar_write_end(w)) != VG_OK)
		goto out;
	g->res->tar_bytes = vg_blob_writer_size(w);
	err = vg_blob_writer_commit(w, existed);
	w = NULL;
out:
	vg_blob_writer_abort(w);
	return err;
}

/*
 * Whether the in-order spool can be the tar: every header written before
 * a file's data must have the same length as the right one (the guesses
 * of top directory and size only change bytes, not lengths, in the usual
 * case).  Headers whose bytes differ are patched in place.
 */
static enum vg_err
fix_headers(struct ingest *g, bool *ok)
{
	unsigned char want[VG_TAR_HEADER_MAX], had[VG_TAR_HEADER_MAX];
	char orig[VG_ARCHIVE_PATH_MAX + VG_ARCHIVE_NAME_MAX + 2];
	const char *written;
	size_t i, n, top = strlen(g->res->stripped_dir);
	enum vg_err err = VG_OK;

	*ok = true;
	for (i = 0; i < g->n && *ok; i++)
		if (g->ents[i].kind == K_FILE &&
		    vg_tar_header_len(g->ents[i].path, g->ents[i].size) != g->ents[i].hdr_len)
			*ok = false;
	for (i = 0; i < g->n && *ok && err == VG_OK; i++) {
		const struct entry *e = &g->ents[i];

		if (e->kind != K_FILE)
			continue;
		/* The path as it came, then as the header before the data has it. */
		snprintf(orig, sizeof orig, "%s%s%s", g->res->stripped_dir, top ? "/" : "", e->path);
		written = e->guess_cut ? orig + g->guess_len + 1 : orig;
		n = vg_tar_header(want, sizeof want, e->path, e->size);
		if (vg_tar_header(had, sizeof had, written, e->claimed) != n || memcmp(had, want, n) != 0)
			err = vg_spool_patch(g->spool, e->hdr_off, want, n);
	}
	if (err == VG_OK)
		err = vg_spool_patch_done(g->spool);
	return err;
}

/*
 * When the files came in order, the spool is the canonical tar once its
 * headers are right (its end blocks were added before the drain): cut it
 * to length and hand it over whole.  Otherwise copy the files in sorted
 * order.
 */
static enum vg_err
store_tar(struct ingest *g, bool *existed)
{
	char path[PATH_MAX];
	enum vg_err err;
	bool ok = false;
	int n;

	if (g->in_order && (err = fix_headers(g, &ok)) != VG_OK)
		return err;
	if (!ok) {
		g->res->reordered = true;
		return write_tar(g, existed);
	}
	g->res->tar_bytes = g->spool_len + 1024;
	if (ftruncate(g->spool_fd, (off_t)g->res->tar_bytes) != 0)
		return VG_ERR_IO;
	n = snprintf(path, sizeof path, "%s/spool", g->tmpdir);
	if (n < 0 || (size_t)n >= sizeof path)
		return VG_ERR_INTERNAL;
	return vg_blob_put_file_move(g->blob, VG_BLOB_SOURCES, g->res->tar_key, path,
	    VG_BLOB_IF_ABSENT, existed);
}

/* A path as a JSON string; names are UTF-8 without control characters
 * (checked on the way in), so only '"' and '\' need escaping. */
static enum vg_err
json_path(struct vg_buf *b, const char *s)
{
	enum vg_err err = vg_buf_append_char(b, '"');

	for (; err == VG_OK && *s; s++) {
		if (*s == '"' || *s == '\\')
			err = vg_buf_append_char(b, '\\');
		if (err == VG_OK)
			err = vg_buf_append_char(b, *s);
	}
	return err == VG_OK ? vg_buf_append_char(b, '"') : err;
}

static int
cmp_lang_names(const void *a, const void *b)
{
	return strcmp(vg_archive_lang_name(*(const int *)a), vg_archive_lang_name(*(const int *)b));
}

/* Totals and per-language counts (sorted by name) into b and res. */
static enum vg_err
manifest_head(struct ingest *g, struct vg_buf *b)
{
	int order[64], nl = vg_archive_lang_count(), i, k = 0;
	enum vg_err err;

	if (nl > 64)
		return VG_ERR_INTERNAL;
	for (i = 0; i < nl; i++)
		order[i] = i;
	qsort(order, (size_t)nl, sizeof order[0], cmp_lang_names);
	if (!(g->res->languages = json_object()))
		return VG_ERR_NOMEM;
	err = vg_buf_printf(b, "{\"schema_version\":1,\"digest\":\"%s\","
	    "\"digest_encoding\":\"vega-tree-v1\",\"totals\":{\"files\":%llu,"
	    "\"bytes\":%llu,\"languages\":{", g->res->digest,
	    (unsigned long long)g->res->files, (unsigned long long)g->res->bytes);
	for (i = 0; err == VG_OK && i < nl; i++) {
		uint64_t c = g->lang_count[order[i]];
		const char *name = vg_archive_lang_name(order[i]);

		if (c == 0)
			continue;
		err = vg_buf_printf(b, "%s\"%s\":%llu", k++ ? "," : "", name, (unsigned long long)c);
		if (err == VG_OK && json_object_set_new(g->res->languages, name,
		    json_integer((json_int_t)c)) != 0)
			err = VG_ERR_NOMEM;
	}
	if (err == VG_OK)
		err = vg_buf_append_str(b, "}},\"files\":[");
	return err;
}

/* The manifest, streamed into file storage in MANIFEST_FLUSH pieces. */
static enum vg_err
write_manifest(struct ingest *g, bool *existed)
{
	struct vg_blob_writer *w = NULL;
	struct vg_buf b;
	char hex[65];
	enum vg_err err;
	size_t i, k = 0;
	uint64_t off = 0;   /* where each file's data lies in the canonical tar */

	vg_buf_init(&b, MANIFEST_FLUSH + VG_ARCHIVE_PATH_MAX * 2 + 512);
	if ((err = vg_blob_writer_new(g->blob, VG_BLOB_SOURCES, g->res->manifest_key,
	    VG_BLOB_IF_ABSENT, &w)) != VG_OK)
		goto out;
	if ((err = manifest_head(g, &b)) != VG_OK)
		goto out;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i];

		if (e->kind != K_FILE)
			continue;
		vg_hex_encode(e->sha, sizeof e->sha, hex);
		off += vg_tar_header_len(e->path, e->size);
		if ((err = vg_buf_append_str(&b, k++ ? ",{\"path\":" : "{\"path\":")) != VG_OK ||
		    (err = json_path(&b, e->path)) != VG_OK ||
		    (err = vg_buf_printf(&b, ",\"size\":%llu,\"sha256\":\"%s\",\"language\":\"%s\","
		    "\"offset\":%llu}", (unsigned long long)e->size, hex, vg_archive_lang_name(e->lang),
		    (unsigned long long)off)) != VG_OK)
			goto out;
		off += e->size + (512 - e->size % 512) % 512;
		if (b.len >= MANIFEST_FLUSH) {
			if ((err = vg_blob_writer_write(w, b.data, b.len)) != VG_OK)
				goto out;
			vg_buf_reset(&b);
		}
	}
	if ((err = vg_buf_append_str(&b, "]}\n")) != VG_OK ||
	    (err = vg_blob_writer_write(w, b.data, b.len)) != VG_OK)
		goto out;
	g->res->manifest_bytes = vg_blob_writer_size(w);
	err = vg_blob_writer_commit(w, existed);
	w = NULL;
out:
	vg_blob_writer_abort(w);
	vg_buf_free(&b);
	return err;
}

/* Both objects present already: the same tree was ingested before. */
static bool
already_stored(struct ingest *g)
{
	struct vg_blob_stat t, m;

	if (vg_blob_stat(g->blob, VG_BLOB_SOURCES, g->res->tar_key, &t) != VG_OK ||
	    vg_blob_stat(g->blob, VG_BLOB_SOURCES, g->res->manifest_key, &m) != VG_OK)
		return false;
	g->res->tar_bytes = t.size;
	g->res->manifest_bytes = m.size;
	return true;
}

static enum vg_err
finish(struct ingest *g)
{
	bool tar_existed = false, manifest_existed = false;
	enum vg_err err;
	size_t i;

	if (g->spool) {
		static const unsigned char end[1024];

		/* The tar's end blocks: kept if the spool becomes the tar. */
		if ((err = vg_spool_put(g->spool, end, sizeof end, g->spool_len)) != VG_OK ||
		    (err = vg_spool_drain(g->spool)) != VG_OK)
			return err;
	}
	for (i = 0; i < g->n; i++) {
		struct entry *e = &g->ents[i];
		const unsigned char *sha;

		if (e->kind != K_FILE)
			continue;
		if (!(sha = vg_spool_sha(g->spool, e->file_no)))
			return VG_ERR_INTERNAL;
		memcpy(e->sha, sha, sizeof e->sha);
	}
	strip_top(g);
	if ((err = check_tree(g)) != VG_OK)
		return err;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->ents[i];

		if (e->kind == K_FILE) {
			g->res->files++;
			g->res->bytes += e->size;
			g->lang_count[e->lang]++;
		} else if (e->kind == K_LINK) {
			g->res->symlinks_skipped++;
		}
	}
	if (g->res->files == 0)
		return vg_archive_refuse(g->res, "empty_archive", NULL);
	if ((err = compute_digest(g)) != VG_OK)
		return err;
	if (already_stored(g)) {
		struct vg_buf b;

		/* Still build the language totals the caller reads. */
		vg_buf_init(&b, 64 * 1024);
		err = manifest_head(g, &b);
		vg_buf_free(&b);
		g->res->existed = true;
		return err;
	}
	if ((err = store_tar(g, &tar_existed)) != VG_OK)
		return err;
	if ((err = write_manifest(g, &manifest_existed)) != VG_OK)
		return err;
	g->res->existed = tar_existed && manifest_existed;
	return VG_OK;
}

/* ---- the whole ---- */

/*
 * Read what follows the archive's end (a tar's padding) to the end of the
 * stream, counted against source_bytes, so that a stream failing after the
 * archive (an HTTP body shorter than declared, or longer than allowed)
 * refuses the archive before anything is stored.
 */
static enum vg_err
drain_input(struct ingest *g)
{
	unsigned char sink[16384];
	size_t got = 0;

	do {
		if (vg_archive_input_fill(&g->in, sink, sizeof sink, &got) != VG_OK)
			return input_failure(g);
	} while (got > 0);
	return VG_OK;
}

static enum vg_err
ingest_run(void *arg)
{
	struct ingest *g = arg;
	struct archive *a = NULL;
	enum vg_err err;

	if (!(g->in.buf = malloc(INBUF_SIZE)) ||
	    !(g->md = EVP_MD_CTX_new()) ||
	    !(g->lang_count = calloc((size_t)vg_archive_lang_count(), sizeof *g->lang_count))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	g->in.cap = INBUF_SIZE;
	if ((err = vg_archive_input_sniff(&g->in, 4)) != VG_OK) {
		err = input_failure(g);
		goto out;
	}
	if (g->in.pending == 0) {
		err = vg_archive_refuse(g->res, "empty_archive", NULL);
		goto out;
	}
	if (!(a = archive_read_new())) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if (g->in.pending >= 4 && (memcmp(g->in.buf, "PK\003\004", 4) == 0 ||
	    memcmp(g->in.buf, "PK\005\006", 4) == 0))
		err = open_zip(g, a);
	else
		err = open_tar(g, a);
	if (err != VG_OK)
		goto out;
	if ((err = read_entries(g, a)) != VG_OK || (err = drain_input(g)) != VG_OK)
		goto out;
	err = finish(g);
out:
	if (a)
		archive_read_free(a);
	tmp_close(g);
	return err;
}

/*
 * See archive.h.  Every resource of the run lives in struct ingest and is
 * released here, whatever happened.
 */
enum vg_err
vg_archive_ingest(struct vg_blob *blob, vg_archive_read_fn read_fn, void *ctx,
    const struct vg_archive_limits *lim, struct vg_archive_result *res)
{
	struct ingest g;
	enum vg_err err;
	size_t i;

	memset(res, 0, sizeof *res);
	memset(&g, 0, sizeof g);
	g.blob = blob;
	g.in.fn = read_fn;
	g.in.ctx = ctx;
	g.in.count = &res->input_bytes;
	g.res = res;
	g.tmpfd = g.spool_fd = g.zip_fd = -1;
	g.in_order = true;
	if (lim)
		g.lim = *lim;
	else
		vg_archive_limits_from_settings(&g.lim);
	g.in.limit = (uint64_t)g.lim.source_bytes;
	if (!blob || !read_fn || g.lim.source_bytes < 0 || g.lim.entries < 0 ||
	    g.lim.file_bytes < 0 || g.lim.total_bytes < 0)
		return VG_ERR_INVALID;
	err = vg_archive_with_utf8(ingest_run, &g);
	for (i = 0; i < g.n; i++) {
		free(g.ents[i].path);
		free(g.ents[i].target);
	}
	free(g.ents);
	free(g.last_file);
	free(g.in.buf);
	free(g.lang_count);
	EVP_MD_CTX_free(g.md);
	if (err != VG_OK) {
		/* A refusal reports no snapshot. */
		json_decref(res->languages);
		res->languages = NULL;
		res->digest[0] = res->tar_key[0] = res->manifest_key[0] = '\0';
		res->existed = false;
		if (err != VG_ERR_INVALID_ARCHIVE && err != VG_ERR_TOO_LARGE)
			res->reason[0] = '\0';
	}
	return err;
}

/*
 * Read the manifest object of digest into memory (at most max_bytes) and
 * parse it.
 */
enum vg_err
vg_archive_manifest_load(struct vg_blob *blob, const char *digest, size_t max_bytes,
    json_t **out)
{
	char tar_key[VG_ARCHIVE_KEY_MAX], key[VG_ARCHIVE_KEY_MAX];
	struct vg_blob_reader *r = NULL;
	struct vg_buf b;
	char chunk[16384];
	enum vg_err err;
	size_t got;

	*out = NULL;
	vg_buf_init(&b, max_bytes);
	if ((err = vg_archive_keys(digest, tar_key, key)) != VG_OK)
		goto out;
	if ((err = vg_blob_get(blob, VG_BLOB_SOURCES, key, &r)) != VG_OK)
		goto out;
	for (;;) {
		if ((err = vg_blob_reader_read(r, chunk, sizeof chunk, &got)) != VG_OK)
			goto out;
		if (got == 0)
			break;
		if ((err = vg_buf_append(&b, chunk, got)) != VG_OK)
			goto out;
	}
	if (vg_json_parse(b.data ? b.data : "", b.len, out) != VG_OK)
		err = VG_ERR_INTERNAL;   /* a stored manifest is always JSON */
out:
	vg_blob_reader_free(r);
	vg_buf_free(&b);
	return err;
}
