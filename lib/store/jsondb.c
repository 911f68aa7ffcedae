/* jsondb.c - JSON record files: atomic writes, per-collection flock(). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fsutil.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "store/jsondb.h"

#define SUFFIX ".json"
/* Room for an id, the suffix and a temporary prefix. */
#define NAME_MAX_LEN 256

struct vg_jsondb {
	char *root;
	int rootfd;
};

struct vg_jsondb_tx {
	struct vg_jsondb *db;
	const char *collection;
	int dirfd;
	bool exclusive;
};

static bool
name_chars_ok(const char *s, size_t maxlen, const char *extra)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= maxlen)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		    (extra && strchr(extra, c))))
			return false;
	}
	return n > 0;
}

bool
vg_jsondb_collection_valid(const char *name)
{
	return name && name_chars_ok(name, 64, NULL);
}

bool
vg_jsondb_id_valid(const char *id)
{
	return id && id[0] != '.' &&
	    name_chars_ok(id, 128, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-");
}

/* mkdir -p: create dir and its missing parents. */
static enum vg_err
make_dirs(const char *dir)
{
	char path[4096];
	size_t i;

	if (vg_str_copy(path, sizeof path, dir) != VG_OK)
		return VG_ERR_INVALID;
	for (i = 1; path[i]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0770) != 0 && errno != EEXIST)
			return VG_ERR_IO;
		path[i] = '/';
	}
	if (mkdir(path, 0770) != 0 && errno != EEXIST)
		return VG_ERR_IO;
	return VG_OK;
}

enum vg_err
vg_jsondb_open(const char *dir, struct vg_jsondb **out)
{
	struct vg_jsondb *db = NULL;
	enum vg_err err;

	*out = NULL;
	if (!dir || !*dir)
		return VG_ERR_INVALID;
	if ((err = make_dirs(dir)) != VG_OK) {
		vg_log(VG_LOG_ERROR, "jsondb_mkdir_failed", "dir", dir, "error", strerror(errno), NULL);
		goto out;
	}
	err = VG_ERR_NOMEM;
	if (!(db = calloc(1, sizeof *db)))
		goto out;
	db->rootfd = -1;
	if (!(db->root = strdup(dir)))
		goto out;
	db->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (db->rootfd < 0) {
		vg_log(VG_LOG_ERROR, "jsondb_open_failed", "dir", dir, "error", strerror(errno), NULL);
		err = VG_ERR_IO;
		goto out;
	}
	*out = db;
	db = NULL;
	err = VG_OK;
out:
	vg_jsondb_free(db);
	return err;
}

void
vg_jsondb_free(struct vg_jsondb *db)
{
	if (!db)
		return;
	if (db->rootfd >= 0)
		close(db->rootfd);
	free(db->root);
	free(db);
}

const char *
vg_jsondb_root(const struct vg_jsondb *db)
{
	return db->root;
}

/* "<id>.json" into name. */
static enum vg_err
record_name(const char *id, char name[NAME_MAX_LEN])
{
	if (!vg_jsondb_id_valid(id))
		return VG_ERR_INVALID;
	snprintf(name, NAME_MAX_LEN, "%s" SUFFIX, id);
	return VG_OK;
}

/* Read and parse one record file relative to dirfd; NOT_FOUND if absent.
 * keep_fd not NULL: the file is left open there on success (else -1). */
static enum vg_err
read_record_fd(struct vg_jsondb_tx *tx, const char *name, json_t **out, int *keep_fd)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	fd = openat(tx->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > VG_JSONDB_MAX_RECORD_BYTES)
		goto bad;
	if (!(data = malloc((size_t)st.st_size + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto bad;
		got += (size_t)n;
	}
	if (vg_json_parse(data, got, out) != VG_OK || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		goto bad;
	}
	err = VG_OK;
	if (keep_fd) {
		*keep_fd = fd;
		fd = -1;
	}
	goto out;
bad:
	vg_log(VG_LOG_ERROR, "jsondb_bad_record", "collection", tx->collection,
	    "file", name, NULL);
	err = VG_ERR_IO;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return err;
}

static enum vg_err
read_record(struct vg_jsondb_tx *tx, const char *name, json_t **out)
{
	return read_record_fd(tx, name, out, NULL);
}

enum vg_err
vg_jsondb_tx_get(struct vg_jsondb_tx *tx, const char *id, json_t **out)
{
	char name[NAME_MAX_LEN];
	enum vg_err err;

	*out = NULL;
	if ((err = record_name(id, name)) != VG_OK)
		return err;
	return read_record(tx, name, out);
}

enum vg_err
vg_jsondb_tx_get_open(struct vg_jsondb_tx *tx, const char *id, json_t **out, int *fd)
{
	char name[NAME_MAX_LEN];
	enum vg_err err;

	*out = NULL;
	*fd = -1;
	if ((err = record_name(id, name)) != VG_OK)
		return err;
	return read_record_fd(tx, name, out, fd);
}

enum vg_err
vg_jsondb_stat(struct vg_jsondb *db, const char *collection, const char *id, struct stat *st)
{
	char name[NAME_MAX_LEN], path[64 + 1 + NAME_MAX_LEN];

	if (!vg_jsondb_collection_valid(collection))
		return VG_ERR_INVALID;
	if (record_name(id, name) != VG_OK)
		return VG_ERR_INVALID;
	snprintf(path, sizeof path, "%s/%s", collection, name);
	if (fstatat(db->rootfd, path, st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT || errno == ENOTDIR ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	return VG_OK;
}

/*
 * The atomic write: temporary file, fsync, rename over the record, fsync
 * the directory so the rename itself survives a crash.
 */
enum vg_err
vg_jsondb_tx_put(struct vg_jsondb_tx *tx, const char *id, json_t *rec)
{
	char name[NAME_MAX_LEN], tmp[NAME_MAX_LEN + 64], rnd[17];
	unsigned char raw[8];
	char *text = NULL;
	int fd = -1;
	bool tmp_made = false;
	enum vg_err err;

	if (!tx->exclusive)
		return VG_ERR_INTERNAL;
	if (!json_is_object(rec))
		return VG_ERR_INVALID;
	if ((err = record_name(id, name)) != VG_OK)
		return err;
	if ((err = vg_random_bytes(raw, sizeof raw)) != VG_OK)
		return err;
	vg_hex_encode(raw, sizeof raw, rnd);
	snprintf(tmp, sizeof tmp, ".tmp-%s-%ld-%s", id, (long)getpid(), rnd);
	err = VG_ERR_NOMEM;
	if (!(text = json_dumps(rec, JSON_INDENT(2))))
		goto out;
	err = VG_ERR_IO;
	fd = openat(tx->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (fd < 0)
		goto out;
	tmp_made = true;
	if (vg_fs_write_all(fd, text, strlen(text)) != VG_OK ||
	    vg_fs_write_all(fd, "\n", 1) != VG_OK ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(tx->dirfd, tmp, tx->dirfd, name) != 0)
		goto out;
	tmp_made = false;
	if (fsync(tx->dirfd) != 0)
		goto out;
	err = VG_OK;
out:
	if (err == VG_ERR_IO)
		vg_log(VG_LOG_ERROR, "jsondb_write_failed", "collection", tx->collection,
		    "file", name, "error", strerror(errno), NULL);
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlinkat(tx->dirfd, tmp, 0);
	free(text);
	return err;
}

enum vg_err
vg_jsondb_tx_create(struct vg_jsondb_tx *tx, const char *id, json_t *rec)
{
	char name[NAME_MAX_LEN];
	enum vg_err err;

	if ((err = record_name(id, name)) != VG_OK)
		return err;
	if (faccessat(tx->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return VG_ERR_CONFLICT;
	if (errno != ENOENT)
		return VG_ERR_IO;
	return vg_jsondb_tx_put(tx, id, rec);
}

enum vg_err
vg_jsondb_tx_del(struct vg_jsondb_tx *tx, const char *id)
{
	char name[NAME_MAX_LEN];
	enum vg_err err;

	if (!tx->exclusive)
		return VG_ERR_INTERNAL;
	if ((err = record_name(id, name)) != VG_OK)
		return err;
	if (unlinkat(tx->dirfd, name, 0) != 0)
		return errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	if (fsync(tx->dirfd) != 0)
		return VG_ERR_IO;
	return VG_OK;
}

/* Whether a directory entry names a record (not a temporary or lock file). */
static bool
is_record_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > strlen(SUFFIX) &&
	    strcmp(name + n - strlen(SUFFIX), SUFFIX) == 0;
}

/* The collection's directory to read from its start, on a descriptor of
 * its own (closedir closes it, not the transaction's); NULL on failure. */
static DIR *
open_dir(struct vg_jsondb_tx *tx)
{
	DIR *d;
	int fd = dup(tx->dirfd);

	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

enum vg_err
vg_jsondb_tx_list(struct vg_jsondb_tx *tx, bool (*keep)(json_t *rec, void *arg), void *arg,
    json_t **out)
{
	DIR *d = NULL;
	struct dirent *de;
	json_t *arr = NULL, *rec = NULL;
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	if (!(d = open_dir(tx)))
		goto out;
	err = VG_ERR_NOMEM;
	if (!(arr = json_array()))
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (!is_record_name(de->d_name))
			continue;
		err = read_record(tx, de->d_name, &rec);
		if (err == VG_ERR_NOT_FOUND)
			continue;   /* deleted by a writer that held no lock: gone */
		if (err != VG_OK)
			goto out;
		if (!keep || keep(rec, arg)) {
			if (json_array_append_new(arr, rec) != 0) {
				rec = NULL;
				err = VG_ERR_NOMEM;
				goto out;
			}
		} else {
			json_decref(rec);
		}
		rec = NULL;
	}
	*out = arr;
	arr = NULL;
	err = VG_OK;
out:
	if (d)
		closedir(d);
	json_decref(arr);
	return err;
}

enum vg_err
vg_jsondb_tx_ids(struct vg_jsondb_tx *tx, const char *prefix, json_t **out)
{
	DIR *d = NULL;
	struct dirent *de;
	json_t *arr = NULL;
	size_t plen = strlen(prefix), n;
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	if (!(d = open_dir(tx)))
		goto out;
	err = VG_ERR_NOMEM;
	if (!(arr = json_array()))
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (!is_record_name(de->d_name) || strncmp(de->d_name, prefix, plen) != 0)
			continue;
		n = strlen(de->d_name) - strlen(SUFFIX);
		if (json_array_append_new(arr, json_stringn(de->d_name, n)) != 0)
			goto out;
	}
	*out = arr;
	arr = NULL;
	err = VG_OK;
out:
	if (d)
		closedir(d);
	json_decref(arr);
	return err;
}

/* Open (creating when missing) a collection directory under the root. */
static int
open_collection(struct vg_jsondb *db, const char *collection)
{
	if (mkdirat(db->rootfd, collection, 0770) != 0 && errno != EEXIST)
		return -1;
	return openat(db->rootfd, collection, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The key lock a key falls on: FNV-1a of the key, modulo the count. */
static unsigned
key_slot(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % VG_JSONDB_KEY_LOCKS;
}

/* Open the lock file name in the collection and flock it as asked;
 * -1 (errno set) when either fails. */
static int
lock_file(int dirfd, const char *name, int how)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660);

	if (fd < 0)
		return -1;
	while (flock(fd, how) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* vg_jsondb_tx and vg_jsondb_tx_keyed: the collection's lock (shared
 * under a key), then the key's, then fn. */
static enum vg_err
run_tx(struct vg_jsondb *db, const char *collection, const char *key, bool exclusive,
    enum vg_err (*fn)(struct vg_jsondb_tx *tx, void *arg), void *arg)
{
	struct vg_jsondb_tx tx = {db, collection, -1, exclusive || key};
	char name[32];
	int lockfd = -1, keyfd = -1;
	enum vg_err err = VG_ERR_INVALID;

	if (!vg_jsondb_collection_valid(collection) || (key && !vg_jsondb_id_valid(key)))
		goto out;
	err = VG_ERR_IO;
	if ((tx.dirfd = open_collection(db, collection)) < 0 ||
	    (lockfd = lock_file(tx.dirfd, ".lock", exclusive && !key ? LOCK_EX : LOCK_SH)) < 0)
		goto out;
	if (key) {
		snprintf(name, sizeof name, ".lock-%02u", key_slot(key));
		if ((keyfd = lock_file(tx.dirfd, name, LOCK_EX)) < 0)
			goto out;
	}
	err = fn(&tx, arg);
out:
	if (err == VG_ERR_IO && (lockfd < 0 || (key && keyfd < 0)))
		vg_log(VG_LOG_ERROR, "jsondb_lock_failed", "collection", collection,
		    "error", strerror(errno), NULL);
	/* Closing a lock file releases its lock. */
	if (keyfd >= 0)
		close(keyfd);
	if (lockfd >= 0)
		close(lockfd);
	if (tx.dirfd >= 0)
		close(tx.dirfd);
	return err;
}

enum vg_err
vg_jsondb_tx(struct vg_jsondb *db, const char *collection, bool exclusive,
    enum vg_err (*fn)(struct vg_jsondb_tx *tx, void *arg), void *arg)
{
	return run_tx(db, collection, NULL, exclusive, fn, arg);
}

enum vg_err
vg_jsondb_tx_keyed(struct vg_jsondb *db, const char *collection, const char *key,
    enum vg_err (*fn)(struct vg_jsondb_tx *tx, void *arg), void *arg)
{
	if (!key)
		return VG_ERR_INVALID;
	return run_tx(db, collection, key, true, fn, arg);
}

/* ---- one-shot forms ---- */

struct one_shot {
	const char *id;
	json_t *rec;
	json_t **out;
	bool (*keep)(json_t *rec, void *arg);
	void *arg;
};

static enum vg_err
do_get(struct vg_jsondb_tx *tx, void *arg)
{
	struct one_shot *o = arg;

	return vg_jsondb_tx_get(tx, o->id, o->out);
}

static enum vg_err
do_put(struct vg_jsondb_tx *tx, void *arg)
{
	struct one_shot *o = arg;

	return vg_jsondb_tx_put(tx, o->id, o->rec);
}

static enum vg_err
do_create(struct vg_jsondb_tx *tx, void *arg)
{
	struct one_shot *o = arg;

	return vg_jsondb_tx_create(tx, o->id, o->rec);
}

static enum vg_err
do_del(struct vg_jsondb_tx *tx, void *arg)
{
	struct one_shot *o = arg;

	return vg_jsondb_tx_del(tx, o->id);
}

static enum vg_err
do_list(struct vg_jsondb_tx *tx, void *arg)
{
	struct one_shot *o = arg;

	return vg_jsondb_tx_list(tx, o->keep, o->arg, o->out);
}

enum vg_err
vg_jsondb_get(struct vg_jsondb *db, const char *collection, const char *id, json_t **out)
{
	struct one_shot o = {.id = id, .out = out};

	*out = NULL;
	return vg_jsondb_tx(db, collection, false, do_get, &o);
}

enum vg_err
vg_jsondb_put(struct vg_jsondb *db, const char *collection, const char *id, json_t *rec)
{
	struct one_shot o = {.id = id, .rec = rec};

	return vg_jsondb_tx(db, collection, true, do_put, &o);
}

enum vg_err
vg_jsondb_create(struct vg_jsondb *db, const char *collection, const char *id, json_t *rec)
{
	struct one_shot o = {.id = id, .rec = rec};

	return vg_jsondb_tx(db, collection, true, do_create, &o);
}

enum vg_err
vg_jsondb_del(struct vg_jsondb *db, const char *collection, const char *id)
{
	struct one_shot o = {.id = id};

	return vg_jsondb_tx(db, collection, true, do_del, &o);
}

enum vg_err
vg_jsondb_list(struct vg_jsondb *db, const char *collection,
    bool (*keep)(json_t *rec, void *arg), void *arg, json_t **out)
{
	struct one_shot o = {.out = out, .keep = keep, .arg = arg};

	*out = NULL;
	return vg_jsondb_tx(db, collection, false, do_list, &o);
}
