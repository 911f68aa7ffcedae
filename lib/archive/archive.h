/*
 * archive.h - safe ingestion of source archives into content-addressed
 * snapshots, and safe extraction of a snapshot for a scan.
 *
 * INGEST reads an archive from a stream (a read callback, so the HTTP layer
 * can feed a request body as it arrives), checks every entry, and stores
 * a normalized snapshot through the blob interface:
 *
 *   sources/snapshots/<digest>.tar            the files, canonical tar
 *   sources/snapshots/<digest>.manifest.json  what is in it
 *
 * Accepted: tar (ustar, pax, GNU), optionally compressed with gzip, xz or
 * zstd, and zip (stored or deflated).  Anything else is unsupported_format.
 * A zip is first copied to a private temporary file (its table of contents
 * is at its end), then read through its central directory, every entry's
 * local header checked against it.
 *
 * Memory stays bounded whatever the archive's size: data is streamed in
 * fixed-size chunks, file contents are spooled to one private temporary
 * file under $VEGA_DATA_DIR/tmp/, and only a small record per entry (path,
 * size, SHA-256) is kept, which VEGA_MAX_ARCHIVE_ENTRIES bounds.
 *
 * The stream is read to its end: bytes after the archive's end (a tar's
 * padding) are read and dropped, counted against source_bytes, so a
 * stream that fails after the archive (an HTTP body shorter than
 * declared, or growing past the limit) refuses it before anything is
 * stored.
 *
 * LIMITS are counted from bytes actually read, never from sizes that
 * headers claim: compressed input (source_bytes, VEGA_MAX_SOURCE_BYTES),
 * entries of any type (entries), bytes of one file (file_bytes), and bytes
 * of all files plus the uncompressed archive stream itself (total_bytes,
 * with an allowance for headers), so a compression bomb stops as soon as
 * it crosses the limit, not after writing what it expands to.
 *
 * THE TREE.  Paths are normalized: "./" and empty components dropped
 * ("a//b" is "a/b"), a trailing '/' removed.  Then, when every entry lies
 * under one and the same top-level directory (as in GitHub tarballs, or an
 * archive of the folder rather than of its contents), that directory is
 * removed from every path, once: "proj-1a2b/src/x.c" becomes "src/x.c", so
 * the same tree archived either way is the same snapshot.  The snapshot
 * holds regular files only: directories are implied by paths (empty ones
 * are not kept), and symbolic links whose target stays inside the tree
 * are skipped (counted in symlinks_skipped), because a scan reads files
 * and a snapshot must extract without links.  File modes, owners and
 * times are not part of a snapshot.
 *
 * REFUSED (VG_ERR_INVALID_ARCHIVE, with reason and, where there is one,
 * the offending path; VG_ERR_TOO_LARGE for source_too_large), nothing
 * left behind (no blob, no temporary file):
 *   unsupported_format   not one of the formats above (random bytes too)
 *   truncated            the archive or its compression ends early
 *   corrupt              damaged data, failed checksums, a zip whose
 *                        central directory disagrees with its entries
 *   source_too_large     more compressed bytes than source_bytes
 *   too_many_entries     more than entries entries
 *   file_too_large       one file longer than file_bytes
 *   uncompressed_too_large  more than total_bytes in all
 *   absolute_path        a name starting with '/'
 *   path_traversal       a name with a ".." component
 *   invalid_utf8_name    a name or link target that is not UTF-8
 *   invalid_name         an empty name, or one with control characters
 *   path_too_long        over VG_ARCHIVE_PATH_MAX bytes, a component
 *                        over VG_ARCHIVE_NAME_MAX, or more than
 *                        VG_ARCHIVE_DEPTH_MAX components
 *   link_outside_tree    a symbolic link whose target is absolute or
 *                        climbs out of the tree
 *   hard_link            any hard link
 *   special_file         devices, FIFOs, sockets, anything not a file,
 *                        directory or symbolic link
 *   duplicate_path       two entries with the same normalized path
 *                        (two directory entries excepted)
 *   path_conflict        one path used as a file (or link) and as a
 *                        directory ("a" and "a/b")
 *   empty_archive        no regular file at all: an empty snapshot cannot
 *                        be scanned and is most likely a mistake
 *
 * THE DIGEST (the snapshot's id) is the lower-case hex SHA-256 of
 *     for each file, in ascending byte order of its normalized path:
 *         path bytes (UTF-8), one 0x00 byte,
 *         the file's SHA-256 as 64 lower-case hex digits, one 0x0A byte
 * Paths never contain NUL and the hex part has a fixed length, so the
 * encoding is unambiguous.  It depends on paths and contents only: the
 * same tree in tar, tar.gz, tar.xz, tar.zst or zip, with other times,
 * owners or modes, has the same digest.
 *
 * THE CANONICAL TAR: one ustar member per file in the same order, typeflag
 * '0', mode 0644, uid/gid 0, empty owner names, mtime 0; a path longer
 * than 100 bytes and a size of 8 GiB or more go in a pax 'x' header
 * (named "PaxHeader") before the member; two zero blocks at the end, no
 * further padding.  Its bytes are therefore a function of the digest's
 * input alone: identical trees give byte-identical snapshots.
 *
 * THE MANIFEST is JSON, also a function of the tree alone:
 *   {"schema_version":1,"digest":"<hex>","digest_encoding":"vega-tree-v1",
 *    "totals":{"files":N,"bytes":N,"languages":{"c":2,...}},
 *    "files":[{"path":"...","size":N,"sha256":"<hex>","language":"c",
 *              "offset":N},...]}
 * with files sorted like the tar; "language" is detected from the name
 * (extension or well-known file name) or, failing that, a "#!" line;
 * "other" when unknown; "offset" is where the file's bytes start in the
 * canonical tar, so one file can be served with vg_blob_get_range.
 *
 * Names are taken as the bytes they are: no Unicode normalization (a tree
 * archived with decomposed accents is another tree), no case folding, and
 * a backslash is an ordinary character.
 *
 * EXTRACT unpacks a snapshot tar into an empty private directory (itself
 * not a symbolic link): the same name checks (a symbolic link is refused
 * with reason "symlink"), only regular files and directories, created through file
 * descriptors relative to the root with O_NOFOLLOW and O_EXCL (no symlink
 * is ever followed, no existing file overwritten), modes 0644 and 0755
 * whatever the archive says.  A refused archive leaves the root empty.
 */
#ifndef VG_ARCHIVE_ARCHIVE_H
#define VG_ARCHIVE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "blob/blob.h"
#include "core/err.h"

#define VG_ARCHIVE_DIGEST_HEX 65       /* 64 hex digits and a NUL */
#define VG_ARCHIVE_PATH_MAX 4096       /* longest normalized path, bytes */
#define VG_ARCHIVE_NAME_MAX 255        /* longest path component, bytes */
#define VG_ARCHIVE_DEPTH_MAX 256       /* most components in a path */
#define VG_ARCHIVE_REASON_MAX 32
#define VG_ARCHIVE_SHOWN_PATH_MAX 512  /* offending path as reported */
#define VG_ARCHIVE_KEY_MAX 128         /* "snapshots/<digest>.manifest.json" */

/*
 * Where input comes from: fill buf with up to cap bytes, set *got (0 means
 * the end), return VG_OK; any error is handed back by the caller of
 * vg_archive_ingest/_extract unchanged (e.g. VG_ERR_TOO_LARGE from an HTTP
 * body that grew past its Content-Length).
 */
typedef enum vg_err (*vg_archive_read_fn)(void *ctx, void *buf, size_t cap, size_t *got);

struct vg_archive_limits {
	int64_t source_bytes;   /* compressed input */
	int64_t entries;        /* headers of any type */
	int64_t file_bytes;     /* one file */
	int64_t total_bytes;    /* all files */
};

/* The limits from the settings (VEGA_MAX_SOURCE_BYTES, ...ARCHIVE_*). */
void vg_archive_limits_from_settings(struct vg_archive_limits *lim);

/* What an ingest produced, or why it refused; clear with
 * vg_archive_result_clear. */
struct vg_archive_result {
	char digest[VG_ARCHIVE_DIGEST_HEX];
	char tar_key[VG_ARCHIVE_KEY_MAX];        /* in VG_BLOB_SOURCES */
	char manifest_key[VG_ARCHIVE_KEY_MAX];   /* in VG_BLOB_SOURCES */
	bool existed;            /* an identical snapshot was already stored */
	bool reordered;          /* files came out of canonical order: the tar
	                          * was rebuilt by copying (see ingest.c) */
	const char *format;      /* "tar", "tar.gz", "tar.xz", "tar.zst", "zip" */
	char stripped_dir[VG_ARCHIVE_NAME_MAX + 1];  /* top directory removed, or "" */
	uint64_t files;          /* regular files in the snapshot */
	uint64_t bytes;          /* their total size */
	uint64_t symlinks_skipped;
	uint64_t entries;        /* headers read */
	uint64_t input_bytes;    /* compressed bytes read from the stream */
	uint64_t expanded_bytes; /* file bytes read (even when refused) */
	uint64_t tar_bytes;      /* size of the canonical tar */
	uint64_t manifest_bytes;
	json_t *languages;       /* {"c": 2, ...}: files per language; owned */
	/* On refusal: */
	char reason[VG_ARCHIVE_REASON_MAX];           /* "" on success */
	char path[VG_ARCHIVE_SHOWN_PATH_MAX];         /* escaped; may be "" */
};

void vg_archive_result_clear(struct vg_archive_result *res);

/*
 * Ingest the archive read_fn yields into blob (VG_BLOB_SOURCES), with lim
 * (NULL: the settings).  Temporary files go to $VEGA_DATA_DIR/tmp/ and
 * are removed on every path out.  res is always filled (cleared first):
 * the digest and keys on success, reason and path on refusal.
 * Returns VG_OK, VG_ERR_INVALID_ARCHIVE, VG_ERR_TOO_LARGE, an error of
 * read_fn, or VG_ERR_IO/NOMEM/INTERNAL.
 */
enum vg_err vg_archive_ingest(struct vg_blob *blob, vg_archive_read_fn read_fn,
    void *ctx, const struct vg_archive_limits *lim, struct vg_archive_result *res);

/*
 * Unpack a snapshot tar (uncompressed) from read_fn into root, which must
 * be an existing empty directory (VG_ERR_INVALID otherwise).  res gets
 * files, bytes, entries, and reason/path on refusal, after which root is
 * empty again.  Returns like vg_archive_ingest.
 */
enum vg_err vg_archive_extract(vg_archive_read_fn read_fn, void *ctx, const char *root,
    const struct vg_archive_limits *lim, struct vg_archive_result *res);

/* Read the manifest of digest from blob and parse it (at most max_bytes).
 * *out is a new reference. */
enum vg_err vg_archive_manifest_load(struct vg_blob *blob, const char *digest,
    size_t max_bytes, json_t **out);

/* The snapshot's blob keys for digest (64 lower-case hex digits). */
enum vg_err vg_archive_keys(const char *digest, char tar_key[VG_ARCHIVE_KEY_MAX],
    char manifest_key[VG_ARCHIVE_KEY_MAX]);

/*
 * The language of a file from its path and, when the name says nothing,
 * its first bytes (head, n bytes; may be NULL) for a "#!" line.  A static
 * string: "c", "python", ... or "other".
 */
const char *vg_archive_language(const char *path, const void *head, size_t n);

#endif
