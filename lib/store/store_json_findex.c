/* store_json_findex.c - the json backend's finding index and its
 * per-process cache (store_json_findex.h). */
#include "config.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/id.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_findex.h"

#define C_INDEX VG_STORE_JSON_C_FINDEX
#define C_TRIAGE "finding_triage"
#define C_FINDINGS "findings"
#define C_REPOS "repositories"
#define C_SCANS "scans"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

#define NBUCKETS 256
/* "<repository id>_<bb>" */
#define BUCKET_ID_LEN (VG_UUID_LEN + 4)

/* What one process keeps: repositories, row records per repository, and
 * the repository of each recently listed scan (scans never move). */
#define CACHE_REPOS 8
#define CACHE_ROWS 256
#define CACHE_SCANS 64

/* ---- the records ---- */

/* The bucket of a fingerprint: FNV-1a, modulo NBUCKETS (on disk: never
 * change it without a new build_id scheme). */
static int
bucket_of(const char *fingerprint)
{
	const unsigned char *p;
	uint32_t h = 2166136261u;

	for (p = (const unsigned char *)fingerprint; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return (int)(h % NBUCKETS);
}

static void
bucket_id(const char *repository_id, int b, char out[BUCKET_ID_LEN])
{
	snprintf(out, BUCKET_ID_LEN, "%s_%02x", repository_id, (unsigned)b);
}

/* An empty bucket record (new reference; NULL: out of memory). */
static json_t *
bucket_new(const char *repository_id, int b)
{
	return json_pack("{s:s, s:i, s:I, s:{}}", "repository_id", repository_id, "bucket", b,
	    "generation", (json_int_t)0, "fingerprints");
}

/* A head record naming build_id, the generations and the findings
 * version (new reference). */
static json_t *
head_new(const char *repository_id, const char *build_id, const int64_t gens[NBUCKETS],
    int64_t version)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; arr && i < NBUCKETS; i++)
		if (json_array_append_new(arr, json_integer(gens[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr)
		return NULL;
	return json_pack("{s:s, s:s, s:o, s:I}", "repository_id", repository_id, "build_id",
	    build_id, "buckets", arr, "version", (json_int_t)version);
}

/* The findings version of a head record: 0 when it has none (a head from
 * before versions, or of another form). */
static int64_t
head_version(json_t *head)
{
	json_t *v = json_object_get(head, "version");

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* Move the findings version of head on: one more, or the time now for a
 * head that has none (a build's start, see the header). */
static enum vg_err
head_bump(json_t *head)
{
	int64_t v = head_version(head);

	v = v > 0 && v < INT64_MAX ? v + 1 : vg_time_now_us();
	return json_object_set_new(head, "version", json_integer(v)) == 0 ? VG_OK : VG_ERR_NOMEM;
}

/*
 * The generations and build id of a head record of repository_id.
 * VG_ERR_NOT_FOUND when it does not have that form (another layout, or
 * edited by hand): the index is derived, so such a head is built anew
 * like a missing one (logged).
 */
static enum vg_err
head_read(json_t *head, const char *repository_id, int64_t gens[NBUCKETS],
    char build_id[VG_UUID_LEN + 1])
{
	json_t *arr = json_object_get(head, "buckets"), *v;
	int i;

	if (!vg_store_json_field_is(head, "repository_id", repository_id) || !json_is_array(arr) ||
	    json_array_size(arr) != NBUCKETS ||
	    vg_store_json_get_str(head, "build_id", build_id, VG_UUID_LEN + 1) != VG_OK ||
	    !build_id[0])
		goto foreign;
	for (i = 0; i < NBUCKETS; i++) {
		v = json_array_get(arr, (size_t)i);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			goto foreign;
		gens[i] = json_integer_value(v);
	}
	return VG_OK;
foreign:
	vg_log(VG_LOG_WARN, "finding_index_rebuilt", "repository_id", repository_id,
	    "reason", "head of another form", NULL);
	return VG_ERR_NOT_FOUND;
}

/* Under the lock of the index: the head of repository_id into *head (new
 * reference), its generations and build id; VG_ERR_NOT_FOUND when it is
 * missing or of another form. */
static enum vg_err
head_load(struct vg_jsondb_tx *xtx, const char *repository_id, json_t **head,
    int64_t gens[NBUCKETS], char build_id[VG_UUID_LEN + 1])
{
	enum vg_err err = vg_jsondb_tx_get(xtx, repository_id, head);

	if (err == VG_OK && (err = head_read(*head, repository_id, gens, build_id)) != VG_OK) {
		json_decref(*head);
		*head = NULL;
	}
	return err;
}

/* The index entry of one row (new reference): what the lists filter and
 * sort on, read from the row's data as the lists always did (no path:
 * "", no line: 0, only the integer CWE ids). */
static json_t *
row_entry(const char *id, const char *severity, json_t *data, int64_t created_at_us)
{
	json_t *cwes = json_array(), *c;
	size_t i;

	json_array_foreach(json_object_get(data, "cwe_ids"), i, c)
		if (cwes && json_is_integer(c) && json_array_append(cwes, c) != 0) {
			json_decref(cwes);
			cwes = NULL;
		}
	if (!cwes)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "id", id, "severity", severity,
	    "file_path", vg_store_json_peek(data, "file_path"),
	    "line_start", (json_int_t)json_integer_value(json_object_get(data, "line_start")),
	    "cwe_ids", cwes, "created_at", vg_store_json_time(created_at_us));
}

/* The entry of fingerprint fp in a bucket record's "fingerprints", made
 * when missing (borrowed; NULL: out of memory or a damaged record). */
static json_t *
fp_entry(json_t *bucket, const char *fp)
{
	json_t *fps = json_object_get(bucket, "fingerprints"), *e;

	if (!json_is_object(fps))
		return NULL;
	e = json_object_get(fps, fp);
	if (json_is_object(e) && json_is_object(json_object_get(e, "rows")))
		return e;
	e = json_pack("{s:s, s:n, s:n, s:n, s:{}}", "status", "open", "first_scan_id",
	    "last_scan_id", "latest_finding_id", "rows");
	if (!e || json_object_set_new(fps, fp, e) != 0)
		return NULL;
	return e;
}

/* The fingerprint's own fields of entry e as its triage record says. */
static enum vg_err
fp_from_triage(json_t *e, json_t *tri)
{
	static const char *const keys[] = {
		"status", "first_scan_id", "last_scan_id", "latest_finding_id",
	};
	json_t *v;
	size_t i;

	for (i = 0; i < NELEM(keys); i++) {
		v = json_object_get(tri, keys[i]);
		if (json_object_set(e, keys[i], json_is_string(v) ? v : json_null()) != 0)
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

/* The entry of row record rec (new reference; NULL: out of memory or not
 * a row record). */
static json_t *
row_entry_of(json_t *rec)
{
	int64_t at = 0;

	if (vg_store_json_get_time(rec, "created_at", &at) != VG_OK ||
	    !json_is_object(json_object_get(rec, "data")))
		return NULL;
	return row_entry(vg_store_json_peek(rec, "id"), vg_store_json_peek(rec, "severity"),
	    json_object_get(rec, "data"), at);
}

/*
 * Under the exclusive locks of the index, triage and findings: the index
 * of repository_id made from its triage records (ids "<repository>_<fp>",
 * found by name) and the rows they name, bucket by bucket, the head last
 * (a build cut short leaves no head: the next one starts over; a bucket
 * it did not reach has generation 0 in the new head and is not read).
 */
static enum vg_err
build(struct vg_store_json_held *h, const char *repository_id)
{
	struct vg_jsondb_tx *xtx = vg_store_json_tx_of(h, C_INDEX);
	struct vg_jsondb_tx *ttx = vg_store_json_tx_of(h, C_TRIAGE);
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FINDINGS);
	json_t *ids = NULL, *tri = NULL, *rec = NULL, *bk[NBUCKETS] = {NULL};
	json_t *id, *rows, *e, *v, *entry;
	char prefix[VG_UUID_LEN + 2], bid[BUCKET_ID_LEN], build_id[VG_UUID_LEN + 1];
	int64_t gens[NBUCKETS] = {0};
	const char *fp, *sid;
	size_t i;
	int b;
	enum vg_err err;

	snprintf(prefix, sizeof prefix, "%s_", repository_id);
	if ((err = vg_uuid_new(build_id)) != VG_OK ||
	    (err = vg_jsondb_tx_ids(ttx, prefix, &ids)) != VG_OK)
		goto out;
	json_array_foreach(ids, i, id) {
		err = vg_jsondb_tx_get(ttx, json_string_value(id), &tri);
		if (err == VG_ERR_NOT_FOUND)
			continue;
		if (err != VG_OK)
			goto out;
		fp = vg_store_json_peek(tri, "fingerprint");
		if (!vg_store_json_field_is(tri, "repository_id", repository_id) || !fp[0]) {
			json_decref(tri);
			tri = NULL;
			continue;
		}
		b = bucket_of(fp);
		err = VG_ERR_NOMEM;
		if (!bk[b] && !(bk[b] = bucket_new(repository_id, b)))
			goto out;
		if (!(e = fp_entry(bk[b], fp)) || (err = fp_from_triage(e, tri)) != VG_OK)
			goto out;
		err = VG_ERR_IO;
		if (!json_is_object(rows = json_object_get(tri, "rows")))
			goto out;
		json_object_foreach(rows, sid, v) {
			const char *fid = json_string_value(v);

			err = vg_jsondb_tx_get(ftx, fid ? fid : "", &rec);
			if (err == VG_ERR_NOT_FOUND || err == VG_ERR_INVALID)
				continue;   /* its scan was deleted */
			if (err != VG_OK)
				goto out;
			err = VG_ERR_IO;
			if (!(entry = row_entry_of(rec)))
				goto out;
			err = VG_ERR_NOMEM;
			if (json_object_set_new(json_object_get(e, "rows"), sid, entry) != 0)
				goto out;
			json_decref(rec);
			rec = NULL;
		}
		json_decref(tri);
		tri = NULL;
	}
	for (b = 0; b < NBUCKETS; b++) {
		if (!bk[b])
			continue;
		gens[b] = 1;
		bucket_id(repository_id, b, bid);
		err = VG_ERR_NOMEM;
		if (json_object_set_new(bk[b], "generation", json_integer(1)) != 0)
			goto out;
		if ((err = vg_jsondb_tx_put(xtx, bid, bk[b])) != VG_OK)
			goto out;
	}
	err = vg_store_json_put_new(xtx, repository_id,
	    head_new(repository_id, build_id, gens, vg_time_now_us()), false);
out:
	for (b = 0; b < NBUCKETS; b++)
		json_decref(bk[b]);
	json_decref(rec);
	json_decref(tri);
	json_decref(ids);
	return err;
}

/* ---- the write side ---- */

enum vg_err
vg_store_json_findex_begin(struct vg_store_json_held *h, const char *repository_id,
    const char *fingerprint, struct vg_store_json_findex_w *w)
{
	struct vg_jsondb_tx *xtx = vg_store_json_tx_of(h, C_INDEX);
	json_t *head = NULL;
	char bid[BUCKET_ID_LEN], build_id[VG_UUID_LEN + 1];
	int64_t gens[NBUCKETS];
	int b = bucket_of(fingerprint);
	enum vg_err err;

	memset(w, 0, sizeof *w);
	w->bucket = -1;
	if ((err = vg_str_copy(w->repository_id, sizeof w->repository_id, repository_id)) != VG_OK)
		goto out;
	err = head_load(xtx, repository_id, &head, gens, build_id);
	if (err == VG_ERR_NOT_FOUND && (err = build(h, repository_id)) == VG_OK)
		err = head_load(xtx, repository_id, &head, gens, build_id);
	if (err != VG_OK)
		goto out;
	if (gens[b] > 0) {
		bucket_id(repository_id, b, bid);
		err = vg_jsondb_tx_get(xtx, bid, &w->rec);
		if (err == VG_ERR_NOT_FOUND)
			err = VG_OK;   /* a step cut short before its first bucket write */
		if (err != VG_OK)
			goto out;
		if (w->rec && !json_is_object(json_object_get(w->rec, "fingerprints"))) {
			err = VG_ERR_IO;
			goto out;
		}
	}
	err = VG_ERR_NOMEM;
	if (!w->rec && !(w->rec = bucket_new(repository_id, b)))
		goto out;
	gens[b]++;
	if (json_array_set_new(json_object_get(head, "buckets"), (size_t)b,
	    json_integer(gens[b])) != 0 || head_bump(head) != VG_OK)
		goto out;
	if ((err = vg_jsondb_tx_put(xtx, repository_id, head)) != VG_OK)
		goto out;
	w->bucket = b;
	w->generation = gens[b];
out:
	json_decref(head);
	return err;
}

enum vg_err
vg_store_json_findex_commit(struct vg_store_json_held *h, struct vg_store_json_findex_w *w,
    const char *fingerprint, json_t *tri, const struct vg_finding_row *row)
{
	char bid[BUCKET_ID_LEN];
	json_t *e, *entry;
	enum vg_err err = VG_ERR_INTERNAL;

	if (w->bucket < 0 || !w->rec || bucket_of(fingerprint) != w->bucket)
		return err;
	err = VG_ERR_NOMEM;
	if (!(e = fp_entry(w->rec, fingerprint)) || (err = fp_from_triage(e, tri)) != VG_OK)
		return err;
	if (row) {
		if (!(entry = row_entry(row->id, row->severity, row->data, row->created_at_us)) ||
		    json_object_set_new(json_object_get(e, "rows"), row->scan_id, entry) != 0)
			return VG_ERR_NOMEM;
	}
	if (json_object_set_new(w->rec, "generation", json_integer(w->generation)) != 0)
		return VG_ERR_NOMEM;
	bucket_id(w->repository_id, w->bucket, bid);
	return vg_jsondb_tx_put(vg_store_json_tx_of(h, C_INDEX), bid, w->rec);
}

void
vg_store_json_findex_done(struct vg_store_json_findex_w *w)
{
	json_decref(w->rec);
	w->rec = NULL;
	w->bucket = -1;
}

enum vg_err
vg_store_json_findex_touch(struct vg_store_json_held *h, const char *repository_id)
{
	struct vg_jsondb_tx *xtx = vg_store_json_tx_of(h, C_INDEX);
	json_t *head = NULL;
	char build_id[VG_UUID_LEN + 1];
	int64_t gens[NBUCKETS];
	enum vg_err err = head_load(xtx, repository_id, &head, gens, build_id);

	if (err == VG_ERR_NOT_FOUND)
		return VG_OK;   /* its first list builds it, with a new version */
	if (err == VG_OK && (err = head_bump(head)) == VG_OK)
		err = vg_jsondb_tx_put(xtx, repository_id, head);
	json_decref(head);
	return err;
}

enum vg_err
vg_store_json_findex_purge(struct vg_store_json_held *h, const char *repository_id)
{
	struct vg_jsondb_tx *xtx = vg_store_json_tx_of(h, C_INDEX);
	json_t *ids = NULL, *id;
	char prefix[VG_UUID_LEN + 2];
	size_t i;
	enum vg_err err = vg_jsondb_tx_del(xtx, repository_id);

	if (err != VG_OK && err != VG_ERR_NOT_FOUND)
		return err;
	snprintf(prefix, sizeof prefix, "%s_", repository_id);
	if ((err = vg_jsondb_tx_ids(xtx, prefix, &ids)) != VG_OK)
		return err;
	json_array_foreach(ids, i, id) {
		err = vg_jsondb_tx_del(xtx, json_string_value(id));
		if (err != VG_OK && err != VG_ERR_NOT_FOUND)
			break;
		err = VG_OK;
	}
	json_decref(ids);
	return err;
}

/* ---- the cache ---- */

/* A fingerprint's own fields. */
struct fx_fp {
	char status[12];
	char first_scan_id[VG_UUID_LEN + 1];
	char last_scan_id[VG_UUID_LEN + 1];
};

/* One row as the index has it. */
struct fx_row {
	char id[VG_UUID_LEN + 1];
	char scan_id[VG_UUID_LEN + 1];
	const struct fx_fp *fp;          /* its fingerprint's, in the same bucket */
	bool latest;                     /* the fingerprint's newest row */
	int rank;
	int64_t line, at_us;
	char *path;                      /* owned */
	int64_t *cwes;                   /* owned, ncwe of them */
	size_t ncwe;
	struct vg_finding_row *row;      /* the row record once read (owned), or NULL */
};

struct fx_bucket {
	struct fx_fp *fps;
	struct fx_row *rows;
	size_t nfps, nrows;
};

/* The sorts of store.h, by name; each orders every row of a repository. */
#define NSORTS 3

/* One repository's index as last read. */
struct fx_repo {
	char *root;                      /* of the database */
	char repository_id[VG_UUID_LEN + 1];
	char build_id[VG_UUID_LEN + 1];
	int fd;                          /* the head read, kept open (-1: none yet) */
	struct stat st;                  /* its fstat() */
	int64_t version;                 /* its findings version */
	int64_t gens[NBUCKETS];          /* of the buckets loaded (-1: none) */
	struct fx_bucket b[NBUCKETS];
	struct fx_row **order[NSORTS];   /* NULL until a list asks for it */
	size_t nrows, ncached;
	uint64_t used;
};

struct fx_scan {
	char *root;
	char scan_id[VG_UUID_LEN + 1];
	char repository_id[VG_UUID_LEN + 1];
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fx_repo *repos[CACHE_REPOS];
static struct fx_scan scans[CACHE_SCANS];
static size_t scans_next;
static uint64_t tick;

static void
row_drop_cached(struct fx_repo *r, struct fx_row *x)
{
	if (!x->row)
		return;
	vg_finding_row_clear(x->row);
	free(x->row);
	x->row = NULL;
	if (r->ncached > 0)
		r->ncached--;
}

static void
bucket_free(struct fx_repo *r, struct fx_bucket *bk)
{
	size_t i;

	for (i = 0; i < bk->nrows; i++) {
		row_drop_cached(r, &bk->rows[i]);
		free(bk->rows[i].path);
		free(bk->rows[i].cwes);
	}
	free(bk->rows);
	free(bk->fps);
	memset(bk, 0, sizeof *bk);
}

static void
orders_free(struct fx_repo *r)
{
	int i;

	for (i = 0; i < NSORTS; i++) {
		free(r->order[i]);
		r->order[i] = NULL;
	}
}

static void
repo_free(struct fx_repo *r)
{
	int b;

	if (!r)
		return;
	for (b = 0; b < NBUCKETS; b++)
		bucket_free(r, &r->b[b]);
	orders_free(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r->root);
	free(r);
}

/* Forget every bucket (a new build of the index). */
static void
repo_reset(struct fx_repo *r)
{
	int b;

	for (b = 0; b < NBUCKETS; b++) {
		bucket_free(r, &r->b[b]);
		r->gens[b] = -1;
	}
	orders_free(r);
	r->nrows = r->ncached = 0;
	r->build_id[0] = '\0';
}

/* The cached repository (NULL when there is none); slot gets its index. */
static struct fx_repo *
cache_find(const char *root, const char *repository_id, int *slot)
{
	int i;

	for (i = 0; i < CACHE_REPOS; i++)
		if (repos[i] && strcmp(repos[i]->repository_id, repository_id) == 0 &&
		    strcmp(repos[i]->root, root) == 0) {
			*slot = i;
			repos[i]->used = ++tick;
			return repos[i];
		}
	return NULL;
}

/* A new, empty entry for the repository in the cache, in place of the
 * least recently used one when it is full (NULL: out of memory). */
static struct fx_repo *
cache_add(const char *root, const char *repository_id)
{
	struct fx_repo *r = calloc(1, sizeof *r);
	int i, slot = 0;

	if (!r || !(r->root = strdup(root)) ||
	    vg_str_copy(r->repository_id, sizeof r->repository_id, repository_id) != VG_OK) {
		if (r)
			free(r->root);
		free(r);
		return NULL;
	}
	r->fd = -1;
	for (i = 0; i < NBUCKETS; i++)
		r->gens[i] = -1;
	for (i = 0; i < CACHE_REPOS; i++) {
		if (!repos[i]) {
			slot = i;
			break;
		}
		if (repos[i]->used < repos[slot]->used)
			slot = i;
	}
	repo_free(repos[slot]);
	repos[slot] = r;
	r->used = ++tick;
	return r;
}

static void
cache_drop(const char *root, const char *repository_id)
{
	int slot;

	if (cache_find(root, repository_id, &slot)) {
		repo_free(repos[slot]);
		repos[slot] = NULL;
	}
}

/* Whether two stat()s name the same, unchanged file. */
static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Whether r's head is still the current one (no lock: see the header). */
static bool
head_current(struct vg_jsondb *db, const struct fx_repo *r)
{
	struct stat st;

	return r->fd >= 0 && vg_jsondb_stat(db, C_INDEX, r->repository_id, &st) == VG_OK &&
	    same_file(&st, &r->st);
}

/* One row entry of the bucket record into x; VG_ERR_IO when it does not
 * have the form the writers give it. */
static enum vg_err
row_load(const char *scan_id, json_t *v, const char *latest, struct fx_row *x)
{
	json_t *cwes = json_object_get(v, "cwe_ids"), *c;
	int64_t line = 0;
	size_t i;
	enum vg_err err;

	if (!json_is_object(v) || !json_is_array(cwes) ||
	    vg_str_copy(x->scan_id, sizeof x->scan_id, scan_id) != VG_OK ||
	    (err = vg_store_json_get_str(v, "id", x->id, sizeof x->id)) != VG_OK ||
	    (err = vg_store_json_get_time(v, "created_at", &x->at_us)) != VG_OK)
		return VG_ERR_IO;
	if (json_is_integer(json_object_get(v, "line_start")))
		line = json_integer_value(json_object_get(v, "line_start"));
	x->line = line;
	x->rank = vg_severity_rank(vg_store_json_peek(v, "severity"));
	x->latest = strcmp(x->id, latest) == 0;
	if (!(x->path = strdup(vg_store_json_peek(v, "file_path"))))
		return VG_ERR_NOMEM;
	if (json_array_size(cwes) > 0 &&
	    !(x->cwes = calloc(json_array_size(cwes), sizeof *x->cwes)))
		return VG_ERR_NOMEM;
	json_array_foreach(cwes, i, c)
		x->cwes[x->ncwe++] = json_integer_value(c);
	return VG_OK;
}

/* A bucket record into *bk (empty on entry; freed by the caller on
 * failure too). */
static enum vg_err
bucket_load(json_t *rec, struct fx_bucket *bk)
{
	json_t *fps = json_object_get(rec, "fingerprints"), *e, *rows, *v;
	const char *fp, *sid, *latest;
	size_t nrows = 0;
	struct fx_fp *p;
	enum vg_err err;

	if (!json_is_object(fps))
		return VG_ERR_IO;
	json_object_foreach(fps, fp, e) {
		if (!json_is_object(rows = json_object_get(e, "rows")))
			return VG_ERR_IO;
		nrows += json_object_size(rows);
	}
	if (!(bk->fps = calloc(json_object_size(fps) + 1, sizeof *bk->fps)) ||
	    !(bk->rows = calloc(nrows + 1, sizeof *bk->rows)))
		return VG_ERR_NOMEM;
	json_object_foreach(fps, fp, e) {
		p = &bk->fps[bk->nfps++];
		if ((err = vg_store_json_get_str(e, "status", p->status, sizeof p->status)) ||
		    (err = vg_store_json_get_str(e, "first_scan_id", p->first_scan_id,
		    sizeof p->first_scan_id)) ||
		    (err = vg_store_json_get_str(e, "last_scan_id", p->last_scan_id,
		    sizeof p->last_scan_id)))
			return err;
		latest = vg_store_json_peek(e, "latest_finding_id");
		json_object_foreach(json_object_get(e, "rows"), sid, v) {
			struct fx_row *x = &bk->rows[bk->nrows++];

			x->fp = p;
			if ((err = row_load(sid, v, latest, x)) != VG_OK)
				return err;
		}
	}
	return VG_OK;
}

/*
 * Under the lock of the index (shared is enough): bring r up to date with
 * the head on disk, reading the buckets whose generation moved.
 * VG_ERR_NOT_FOUND when the repository's index has no head.
 */
static enum vg_err
refresh(struct vg_jsondb_tx *xtx, struct fx_repo *r)
{
	json_t *head = NULL, *rec = NULL;
	char bid[BUCKET_ID_LEN], build_id[VG_UUID_LEN + 1];
	int64_t gens[NBUCKETS];
	struct fx_bucket nb;
	struct stat st;
	bool changed = false;
	int fd = -1, b;
	enum vg_err err;

	memset(&nb, 0, sizeof nb);
	if ((err = vg_jsondb_tx_get_open(xtx, r->repository_id, &head, &fd)) != VG_OK)
		goto out;
	err = VG_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (r->fd >= 0 && same_file(&st, &r->st)) {
		err = VG_OK;
		goto out;
	}
	if ((err = head_read(head, r->repository_id, gens, build_id)) != VG_OK)
		goto out;
	if (strcmp(build_id, r->build_id) != 0) {
		repo_reset(r);
		memcpy(r->build_id, build_id, sizeof r->build_id);
	}
	for (b = 0; b < NBUCKETS; b++) {
		if (gens[b] == r->gens[b])
			continue;
		changed = true;
		if (gens[b] > 0) {
			bucket_id(r->repository_id, b, bid);
			err = vg_jsondb_tx_get(xtx, bid, &rec);
			if (err == VG_OK)
				err = bucket_load(rec, &nb);
			else if (err == VG_ERR_NOT_FOUND)
				err = VG_OK;   /* a step cut short before its bucket write */
			json_decref(rec);
			rec = NULL;
			if (err != VG_OK) {
				bucket_free(r, &nb);
				goto out;
			}
		}
		r->nrows -= r->b[b].nrows;
		bucket_free(r, &r->b[b]);
		r->b[b] = nb;
		r->nrows += nb.nrows;
		r->gens[b] = gens[b];
		memset(&nb, 0, sizeof nb);
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->st = st;
	r->version = head_version(head);
	fd = -1;
	err = VG_OK;
out:
	if (changed)
		orders_free(r);
	if (fd >= 0)
		close(fd);
	json_decref(head);
	return err;
}

/* ---- the lists' order and filters ---- */

static int
cmp_path_line_id(const struct fx_row *x, const struct fx_row *y)
{
	int c;

	if ((c = strcmp(x->path, y->path)) != 0)
		return c;
	if (x->line != y->line) {
		if (!x->line || !y->line)
			return x->line ? -1 : 1;   /* no line after every line */
		return x->line < y->line ? -1 : 1;
	}
	return strcmp(x->id, y->id);
}

static int
by_severity(const void *a, const void *b)
{
	const struct fx_row *x = *(const struct fx_row *const *)a;
	const struct fx_row *y = *(const struct fx_row *const *)b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return cmp_path_line_id(x, y);
}

static int
by_path(const void *a, const void *b)
{
	return cmp_path_line_id(*(const struct fx_row *const *)a, *(const struct fx_row *const *)b);
}

static int
by_newest(const void *a, const void *b)
{
	const struct fx_row *x = *(const struct fx_row *const *)a;
	const struct fx_row *y = *(const struct fx_row *const *)b;

	if (x->at_us != y->at_us)
		return x->at_us > y->at_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

static const struct {
	const char *name;
	int (*cmp)(const void *, const void *);
} sorts[NSORTS] = {
	{"severity", by_severity}, {"path", by_path}, {"newest", by_newest},
};

/* Every row of r in the order of sort (borrowed; NULL: out of memory). */
static struct fx_row **
order_of(struct fx_repo *r, const char *sort)
{
	size_t i, k = 0;
	int s = 0, b;

	for (i = 0; i < NSORTS; i++)
		if (sort && strcmp(sorts[i].name, sort) == 0)
			s = (int)i;
	if (r->order[s])
		return r->order[s];
	if (!(r->order[s] = calloc(r->nrows + 1, sizeof *r->order[s])))
		return NULL;
	for (b = 0; b < NBUCKETS; b++)
		for (i = 0; i < r->b[b].nrows; i++)
			r->order[s][k++] = &r->b[b].rows[i];
	qsort(r->order[s], k, sizeof *r->order[s], sorts[s].cmp);
	return r->order[s];
}

/* Whether x is in the list f asks for: the scan's rows or the newest row
 * of each fingerprint, then severity (rank, -1: any), status, path
 * prefix and CWE. */
static bool
row_matches(const struct fx_row *x, const struct vg_finding_filter *f, int rank)
{
	size_t i;

	if (f->scan_id ? strcmp(x->scan_id, f->scan_id) != 0 : !x->latest)
		return false;
	if ((rank >= 0 && x->rank != rank) || (f->status && strcmp(x->fp->status, f->status)) ||
	    (f->path_prefix && !vg_str_has_prefix(x->path, f->path_prefix)))
		return false;
	if (!f->cwe)
		return true;
	for (i = 0; i < x->ncwe; i++)
		if (x->cwes[i] == f->cwe)
			return true;
	return false;
}

static int
filter_rank(const struct vg_finding_filter *f)
{
	return f->severity ? vg_severity_rank(f->severity) : -1;
}

/* ---- reading through the cache ---- */

/* One list (or count) being answered. */
struct ask {
	struct vg_jsondb *db;
	const struct vg_finding_filter *f;
	char repository_id[VG_UUID_LEN + 1];
	int64_t offset;
	int n;
	bool counting;
	int64_t total;                   /* counting: the answer */
	struct vg_finding_row *out;      /* listing: the answer */
	size_t count;
	bool no_head, no_repository;
};

/*
 * Answer a from r.  ftx is the held lock of findings, to read the row
 * records the cache lacks, or NULL: then *done is false when some are
 * lacking (nothing answered).
 */
static enum vg_err
answer(struct ask *a, struct fx_repo *r, struct vg_jsondb_tx *ftx, bool *done)
{
	struct fx_row **order, **sel = NULL;
	struct vg_finding_row *fs = NULL, *one = NULL;
	json_t *rec = NULL;
	size_t i, k = 0, missing = 0, skip, got = 0;
	int rank = filter_rank(a->f), b;
	enum vg_err err = VG_OK;

	*done = false;
	if (a->counting) {
		a->total = 0;
		for (b = 0; b < NBUCKETS; b++)
			for (i = 0; i < r->b[b].nrows; i++)
				if (row_matches(&r->b[b].rows[i], a->f, rank))
					a->total++;
		*done = true;
		return VG_OK;
	}
	err = VG_ERR_NOMEM;
	if (!(order = order_of(r, a->f->sort)) ||
	    !(sel = calloc((size_t)a->n + 1, sizeof *sel)))
		goto out;
	skip = a->offset > (int64_t)r->nrows ? r->nrows : (size_t)a->offset;
	for (i = 0; i < r->nrows && k < (size_t)a->n; i++) {
		if (!row_matches(order[i], a->f, rank))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		sel[k++] = order[i];
		if (!order[i]->row)
			missing++;
	}
	err = VG_OK;
	if (missing > 0 && !ftx)
		goto out;
	if (missing > 0 && r->ncached + missing > CACHE_ROWS)
		for (b = 0; b < NBUCKETS; b++)
			for (i = 0; i < r->b[b].nrows; i++)
				row_drop_cached(r, &r->b[b].rows[i]);
	err = VG_ERR_NOMEM;
	if (!(fs = calloc(k + 1, sizeof *fs)))
		goto out;
	for (i = 0; i < k; i++) {
		struct fx_row *x = sel[i];

		if (!x->row) {
			err = vg_jsondb_tx_get(ftx, x->id, &rec);
			if (err == VG_ERR_NOT_FOUND)
				continue;   /* named by a step cut short: not there */
			if (err != VG_OK)
				goto out;
			err = VG_ERR_NOMEM;
			if (!(one = calloc(1, sizeof *one)))
				goto out;
			if ((err = vg_store_json_finding_from(rec, NULL, one)) != VG_OK)
				goto out;
			json_decref(rec);
			rec = NULL;
			memcpy(one->first_scan_id, x->fp->first_scan_id, sizeof one->first_scan_id);
			memcpy(one->last_scan_id, x->fp->last_scan_id, sizeof one->last_scan_id);
			if (r->ncached < CACHE_ROWS) {
				x->row = one;
				r->ncached++;
			} else {
				fs[got++] = *one;   /* the reference moves to the answer */
				free(one);
				one = NULL;
				continue;
			}
			one = NULL;
		}
		fs[got] = *x->row;
		fs[got++].data = json_incref(x->row->data);
	}
	a->out = fs;
	a->count = got;
	fs = NULL;
	*done = true;
	err = VG_OK;
out:
	if (one) {
		vg_finding_row_clear(one);
		free(one);
	}
	for (i = 0; fs && i < got; i++)
		vg_finding_row_clear(&fs[i]);
	free(fs);
	free(sel);
	json_decref(rec);
	return err;
}

/* Under the shared locks of the index and findings: refresh the cached
 * repository (made when missing) and answer from it. */
static enum vg_err
do_read(struct vg_store_json_held *h, void *arg)
{
	struct ask *a = arg;
	const char *root = vg_jsondb_root(a->db);
	struct fx_repo *r;
	bool done = false;
	int slot;
	enum vg_err err;

	if (!(r = cache_find(root, a->repository_id, &slot)) &&
	    !(r = cache_add(root, a->repository_id)))
		return VG_ERR_NOMEM;
	err = refresh(vg_store_json_tx_of(h, C_INDEX), r);
	if (err == VG_ERR_NOT_FOUND) {
		cache_drop(root, a->repository_id);
		a->no_head = true;
		return VG_OK;
	}
	if (err != VG_OK) {
		cache_drop(root, a->repository_id);   /* start afresh next time */
		return err;
	}
	err = answer(a, r, vg_store_json_tx_of(h, C_FINDINGS), &done);
	return err == VG_OK && !done ? VG_ERR_INTERNAL : err;
}

/* Under the exclusive locks of index, triage and findings, and the shared
 * one of repositories: build the index of a repository that has none; a
 * repository that is gone gets none (its list is empty). */
static enum vg_err
do_build(struct vg_store_json_held *h, void *arg)
{
	struct ask *a = arg;
	json_t *rec = NULL;
	enum vg_err err;

	int64_t gens[NBUCKETS];
	char build_id[VG_UUID_LEN + 1];

	err = head_load(vg_store_json_tx_of(h, C_INDEX), a->repository_id, &rec, gens, build_id);
	json_decref(rec);
	rec = NULL;
	if (err != VG_ERR_NOT_FOUND)
		return err;   /* built meanwhile (or unreadable) */
	err = vg_jsondb_tx_get(vg_store_json_tx_of(h, C_REPOS), a->repository_id, &rec);
	json_decref(rec);
	if (err == VG_ERR_NOT_FOUND) {
		a->no_repository = true;
		return VG_OK;
	}
	if (err != VG_OK)
		return err;
	return build(h, a->repository_id);
}

static const struct vg_store_json_lock read_locks[] = {{C_INDEX, false}, {C_FINDINGS, false}};
static const struct vg_store_json_lock build_locks[] = {
	{C_INDEX, true}, {C_TRIAGE, true}, {C_FINDINGS, true}, {C_REPOS, false},
};

/* The repository of scan_id into out, from the cache or the scan record;
 * VG_ERR_NOT_FOUND when there is no such scan. */
static enum vg_err
scan_repository(struct vg_jsondb *db, const char *scan_id, char out[VG_UUID_LEN + 1])
{
	const char *root = vg_jsondb_root(db);
	struct fx_scan *c;
	json_t *rec = NULL;
	char *dup = NULL;
	size_t i;
	enum vg_err err;

	for (i = 0; i < CACHE_SCANS; i++)
		if (scans[i].root && strcmp(scans[i].scan_id, scan_id) == 0 &&
		    strcmp(scans[i].root, root) == 0)
			return vg_str_copy(out, VG_UUID_LEN + 1, scans[i].repository_id);
	if ((err = vg_jsondb_get(db, C_SCANS, scan_id, &rec)) != VG_OK ||
	    (err = vg_store_json_get_str(rec, "repository_id", out, VG_UUID_LEN + 1)) != VG_OK)
		goto out;
	c = &scans[scans_next++ % CACHE_SCANS];
	if (vg_str_copy(c->scan_id, sizeof c->scan_id, scan_id) == VG_OK && (dup = strdup(root))) {
		free(c->root);
		c->root = dup;
		memcpy(c->repository_id, out, sizeof c->repository_id);
	}
out:
	json_decref(rec);
	return err;
}

/*
 * Answer a: from the cache while the head is the one it read (no lock,
 * no file read), else under the shared locks (refreshing the cache),
 * building a missing index first.
 */
static enum vg_err
ask_index(struct ask *a)
{
	const char *root = vg_jsondb_root(a->db);
	struct fx_repo *r;
	bool done = false;
	int slot, builds = 0;
	enum vg_err err = VG_OK;

	pthread_mutex_lock(&cache_mu);
	if (a->f->scan_id) {
		err = scan_repository(a->db, a->f->scan_id, a->repository_id);
		if (err == VG_ERR_NOT_FOUND)
			err = VG_OK;   /* no scan: no rows */
		if (err != VG_OK || !a->repository_id[0])
			goto out;
	} else if ((err = vg_str_copy(a->repository_id, sizeof a->repository_id,
	    a->f->repository_id)) != VG_OK) {
		goto out;
	}
	if ((r = cache_find(root, a->repository_id, &slot)) && head_current(a->db, r) &&
	    ((err = answer(a, r, NULL, &done)) != VG_OK || done))
		goto out;
	for (;;) {
		a->no_head = false;
		if ((err = vg_store_json_with_locks(a->db, read_locks, NELEM(read_locks), do_read,
		    a)) != VG_OK || !a->no_head)
			break;
		/* Built three times and gone again: something else deletes it. */
		err = VG_ERR_IO;
		if (builds++ == 3)
			break;
		if ((err = vg_store_json_with_locks(a->db, build_locks, NELEM(build_locks),
		    do_build, a)) != VG_OK || a->no_repository)
			break;
	}
out:
	pthread_mutex_unlock(&cache_mu);
	return err;
}

enum vg_err
vg_store_json_findex_list(struct vg_jsondb *db, const struct vg_finding_filter *f,
    int64_t offset, int n, struct vg_finding_row **out, size_t *count)
{
	struct ask a;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (n < 0 || offset < 0)
		return VG_ERR_INVALID;
	memset(&a, 0, sizeof a);
	a.db = db;
	a.f = f;
	a.offset = offset;
	a.n = n;
	err = ask_index(&a);
	if (err == VG_OK && !a.out && !(a.out = calloc(1, sizeof *a.out)))
		err = VG_ERR_NOMEM;   /* an empty answer is still an array */
	if (err != VG_OK) {
		while (a.count > 0)
			vg_finding_row_clear(&a.out[--a.count]);
		free(a.out);
		return err;
	}
	*out = a.out;
	*count = a.count;
	return VG_OK;
}

int64_t
vg_store_json_findex_version(struct vg_jsondb *db, const char *repository_id)
{
	struct fx_repo *r;
	json_t *head = NULL;
	int64_t v = 0;
	int slot;

	pthread_mutex_lock(&cache_mu);
	if ((r = cache_find(vg_jsondb_root(db), repository_id, &slot)) && head_current(db, r))
		v = r->version;
	pthread_mutex_unlock(&cache_mu);
	if (v > 0 || vg_jsondb_get(db, C_INDEX, repository_id, &head) != VG_OK)
		return v;
	if (vg_store_json_field_is(head, "repository_id", repository_id))
		v = head_version(head);
	json_decref(head);
	return v;
}

enum vg_err
vg_store_json_findex_count(struct vg_jsondb *db, const struct vg_finding_filter *f,
    int64_t *count)
{
	struct ask a;
	enum vg_err err;

	*count = 0;
	memset(&a, 0, sizeof a);
	a.db = db;
	a.f = f;
	a.counting = true;
	if ((err = ask_index(&a)) == VG_OK)
		*count = a.total;
	return err;
}
