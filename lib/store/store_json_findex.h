/*
 * store_json_findex.h - the json backend's finding index (private to
 * lib/store): per repository, the few fields the finding lists filter
 * and sort on, for every row of every scan, kept by the steps that write
 * rows and triage decisions under the same locks, and read through a
 * per-process cache that one stat() revalidates.
 *
 * Collection finding_index (record id -> content):
 *   <repository id>       the head: {"repository_id", "build_id" (new
 *                         each time the index is built), "buckets": [the
 *                         generation of each of the 256 buckets; 0 for
 *                         one never written, which is empty], "version":
 *                         the repository's findings version}
 *   <repository id>_<bb>  bucket bb (two hex digits: the FNV-1a hash of
 *                         the fingerprint, modulo 256): {"repository_id",
 *                         "bucket", "generation", "fingerprints": {fp:
 *                         {"status", "first_scan_id", "last_scan_id",
 *                         "latest_finding_id", "rows": {scan id: {"id",
 *                         "severity", "file_path", "line_start",
 *                         "cwe_ids", "created_at"}}}}}
 *
 * The rows (findings) and the triage records (finding_triage) stay the
 * truth; the index is derived from them.  A head that is missing (a data
 * directory from before the index, or a repository not listed or
 * scanned since) is built from them under the locks of all three
 * (finding_index < finding_triage < findings), so nothing is lost on an
 * upgrade.
 *
 * A write step bumps, in the head, the generation of the bucket it will
 * change before it writes anything else, and writes the bucket last.  A
 * reader keeps the head it read open (so no other file can take its
 * inode number) and serves what it cached while a stat() of the head
 * still names that file: every write of a row or decision of the
 * repository replaced the head before it began.  A step cut short
 * between the head and the bucket leaves the bucket behind the rows
 * until the fingerprint is written again (the same as the rows and the
 * triage record it left behind).
 *
 * The findings version (store.h: vg_repository.findings_version) moves
 * with every head write: by one, from the time in microseconds when the
 * head was built (or had none), so a version is never given twice to
 * two states of a repository, in any process.  A scan of the repository
 * that completes moves it too (vg_store_json_findex_touch), after its
 * own write, under the exclusive lock of the index: the baseline of the
 * repository's list is its latest completed scan.  A reader that sees a
 * version sees every change made before it moved, and a list read after
 * it is never older (the list reads the index under its shared lock
 * whenever the head changed since it was cached).
 *
 * The cache holds a few repositories (least recently used goes first)
 * and, for each, a bounded number of row records read for pages; it is a
 * read cache, never the source of truth, and is guarded by a mutex.
 */
#ifndef VG_STORE_STORE_JSON_FINDEX_H
#define VG_STORE_STORE_JSON_FINDEX_H

#include "store/store_json_util.h"

#define VG_STORE_JSON_C_FINDEX "finding_index"

/* The bucket one write step changes (vg_store_json_findex_begin). */
struct vg_store_json_findex_w {
	char repository_id[VG_UUID_LEN + 1];
	int bucket;
	int64_t generation;
	json_t *rec;                /* the bucket record (owned) */
};

/*
 * Under the exclusive locks of finding_index, finding_triage and findings
 * (h holds them): the write of fingerprint's rows or decision in
 * repository_id starts.  Builds the index when it has no head, bumps the
 * bucket's generation in the head (written now), and loads the bucket
 * into *w.  Release *w with vg_store_json_findex_done, whatever happens.
 */
enum vg_err vg_store_json_findex_begin(struct vg_store_json_held *h, const char *repository_id,
    const char *fingerprint, struct vg_store_json_findex_w *w);
/*
 * After the step's own writes: the fingerprint's entry takes status,
 * first, last and latest row from its triage record tri and, when row is
 * not NULL, row (its scan, id, severity, data, created_at) as its row of
 * that scan; then the bucket is written.
 */
enum vg_err vg_store_json_findex_commit(struct vg_store_json_held *h,
    struct vg_store_json_findex_w *w, const char *fingerprint, json_t *tri,
    const struct vg_finding_row *row);
void vg_store_json_findex_done(struct vg_store_json_findex_w *w);

/* Under the exclusive lock of finding_index: move the findings version
 * of repository_id on (nothing when it has no index yet: its build
 * starts a new one). */
enum vg_err vg_store_json_findex_touch(struct vg_store_json_held *h, const char *repository_id);

/* Under the exclusive lock of finding_index: remove the index of a
 * deleted repository (the head first). */
enum vg_err vg_store_json_findex_purge(struct vg_store_json_held *h, const char *repository_id);

/*
 * The finding list and count of store_impl.h (f normalised, exactly one
 * of scan_id and repository_id) from the index: the rows matching f in
 * its sort, from offset, at most n; *out as vg_store_finding_list's.  A
 * row's data object may be shared with the cache: read it, never change
 * it (drop the reference as usual).
 */
enum vg_err vg_store_json_findex_list(struct vg_jsondb *db, const struct vg_finding_filter *f,
    int64_t offset, int n, struct vg_finding_row **out, size_t *count);
enum vg_err vg_store_json_findex_count(struct vg_jsondb *db, const struct vg_finding_filter *f,
    int64_t *count);

/* The findings version of repository_id, from the cache while its head
 * is the one cached, else from the head (under the shared lock of the
 * index); 0 when there is none yet or it cannot be read (nothing may be
 * kept on it then).  Takes the lock of the index: call it holding no
 * other. */
int64_t vg_store_json_findex_version(struct vg_jsondb *db, const char *repository_id);

/* The row record rec into *f (f->data a new reference); first and last
 * scan from the fingerprint's triage record tri (may be NULL)
 * (store_json_scans.c). */
enum vg_err vg_store_json_finding_from(json_t *rec, json_t *tri, struct vg_finding_row *f);

#endif
