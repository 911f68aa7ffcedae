/* migrate.c - scanning, checking and applying the NNN_name.sql migrations. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/migrate.h"
#include "store/store_impl.h"

/* The advisory lock key every migration run takes ("vegamigr" in ASCII). */
#define MIGRATE_LOCK_KEY "8459015355848304498"

/* Names in the migrations directory that are not migrations. */
static const char *const ignored_names[] = {"README", "README.md", "local.mk"};

static const char *const state_names[] = {
	[VG_MIG_PENDING] = "pending", [VG_MIG_APPLIED] = "applied",
	[VG_MIG_CHANGED] = "changed", [VG_MIG_MISSING] = "missing",
};

const char *
vg_migration_state_name(enum vg_migration_state st)
{
	return (size_t)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

const char *
vg_migrate_dir(void)
{
	const char *d = vg_cfg_str(VG_SET_MIGRATIONS_DIR);

	return *d ? d : VG_DEFAULT_MIGRATIONS_DIR;
}

static bool
is_ignored(const char *name)
{
	size_t i;

	if (name[0] == '.')
		return true;
	for (i = 0; i < sizeof ignored_names / sizeof ignored_names[0]; i++)
		if (strcmp(name, ignored_names[i]) == 0)
			return true;
	return false;
}

/* Parse "NNN_name.sql": 3 to 6 digits, '_', [a-z0-9_]+, ".sql". */
static bool
parse_name(const char *name, int64_t *version)
{
	size_t digits = 0, i, len = strlen(name);
	int64_t v = 0;

	if (len >= sizeof ((struct vg_migration *)0)->name || len < 9 ||
	    strcmp(name + len - 4, ".sql") != 0)
		return false;
	while (name[digits] >= '0' && name[digits] <= '9') {
		v = v * 10 + (name[digits] - '0');
		if (++digits > 6)
			return false;
	}
	if (digits < 3 || name[digits] != '_' || digits + 1 >= len - 4)
		return false;
	for (i = digits + 1; i < len - 4; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	*version = v;
	return true;
}

/* Read dir/name whole (at most VG_MIGRATE_MAX_FILE_BYTES) into buf. */
static enum vg_err
read_file(const char *dir, const char *name, struct vg_buf *buf)
{
	char path[4096], chunk[8192];
	ssize_t n;
	int fd;
	enum vg_err err = VG_OK;

	vg_buf_reset(buf);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return VG_ERR_INVALID;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = VG_ERR_IO;
			break;
		}
		if ((err = vg_buf_append(buf, chunk, (size_t)n)) != VG_OK)
			break;
	}
	close(fd);
	return err;
}

static enum vg_err
sha256_hex(const char *data, size_t len, char out[VG_MIGRATE_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return VG_ERR_INTERNAL;
	vg_hex_encode(md, mdlen, out);
	return VG_OK;
}

static int
by_version(const void *a, const void *b)
{
	const struct vg_migration *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

enum vg_err
vg_migrate_scan(const char *dir, struct vg_migration **out, size_t *count, char *msg,
    size_t msglen)
{
	DIR *d = NULL;
	struct dirent *de;
	struct vg_migration *list = NULL, *grown;
	size_t n = 0, cap = 0, i;
	struct vg_buf content;
	struct stat st;
	char path[4096];
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	*count = 0;
	vg_buf_init(&content, VG_MIGRATE_MAX_FILE_BYTES);
	if (!(d = opendir(dir))) {
		snprintf(msg, msglen, "cannot read the migrations directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		struct vg_migration m;

		if (is_ignored(de->d_name))
			continue;
		memset(&m, 0, sizeof m);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (!parse_name(de->d_name, &m.version) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode)) {
			snprintf(msg, msglen, "%s: not a migration (expected NNN_name.sql: 3 to 6"
			    " digits, '_', lower-case letters, digits or '_')", path);
			err = VG_ERR_INVALID;
			goto out;
		}
		vg_str_copy(m.name, sizeof m.name, de->d_name);
		if ((err = read_file(dir, m.name, &content)) != VG_OK) {
			snprintf(msg, msglen, "%s: %s", path, err == VG_ERR_TOO_LARGE
			    ? "larger than the 4 MiB a migration may be" : "cannot be read");
			goto out;
		}
		if ((err = sha256_hex(vg_buf_str(&content), content.len, m.checksum)) != VG_OK)
			goto out;
		m.state = VG_MIG_PENDING;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(grown = realloc(list, cap * sizeof *list))) {
				err = VG_ERR_NOMEM;
				goto out;
			}
			list = grown;
		}
		list[n++] = m;
	}
	if (n > 1)
		qsort(list, n, sizeof *list, by_version);
	for (i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			snprintf(msg, msglen, "%s/%s and %s share version %lld", dir,
			    list[i - 1].name, list[i].name, (long long)list[i].version);
			err = VG_ERR_INVALID;
			goto out;
		}
	}
	*out = list;
	*count = n;
	list = NULL;
	err = VG_OK;
out:
	if (d)
		closedir(d);
	vg_buf_free(&content);
	free(list);
	return err;
}

/* Whether schema_migrations exists yet (a fresh database has none). */
static enum vg_err
table_exists(struct vg_pg *db, const char *table, bool *exists)
{
	PGresult *res = NULL;
	const char *params[] = {table};
	enum vg_err err;

	err = vg_pg_exec(db, "SELECT to_regclass($1) IS NOT NULL", 1, params, &res);
	if (err == VG_OK)
		*exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return err;
}

/*
 * Merge the applied rows into files (sorted, all pending), appending an
 * entry for each applied version whose file is gone.  *list may move.
 */
static enum vg_err
merge_applied(struct vg_pg *db, struct vg_migration **list, size_t *count)
{
	static const char sql[] =
	    "SELECT version, name, checksum, (extract(epoch from applied_at) * 1000000)::bigint"
	    " FROM schema_migrations ORDER BY version";
	PGresult *res = NULL;
	struct vg_migration *grown;
	enum vg_err err;
	bool exists = false;
	size_t j;
	int i;

	if ((err = table_exists(db, "schema_migrations", &exists)) != VG_OK || !exists)
		return err;
	if ((err = vg_pg_exec(db, sql, 0, NULL, &res)) != VG_OK)
		return err;
	for (i = 0; i < PQntuples(res); i++) {
		int64_t v = vg_pg_i64(res, i, 0, -1);
		struct vg_migration *m = NULL;

		for (j = 0; j < *count && !m; j++)
			if ((*list)[j].version == v)
				m = &(*list)[j];
		if (!m) {
			if (!(grown = realloc(*list, (*count + 1) * sizeof **list))) {
				err = VG_ERR_NOMEM;
				goto out;
			}
			*list = grown;
			m = &(*list)[(*count)++];
			memset(m, 0, sizeof *m);
			m->version = v;
			vg_str_copy(m->name, sizeof m->name, vg_pg_text(res, i, 1));
			m->state = VG_MIG_MISSING;
		}
		vg_str_copy(m->applied_checksum, sizeof m->applied_checksum, vg_pg_text(res, i, 2));
		m->applied_at_us = vg_pg_i64(res, i, 3, 0);
		if (m->state != VG_MIG_MISSING)
			m->state = strcmp(m->checksum, m->applied_checksum) == 0 ? VG_MIG_APPLIED
			    : VG_MIG_CHANGED;
	}
	if (*count > 1)
		qsort(*list, *count, sizeof **list, by_version);
out:
	PQclear(res);
	return err;
}

enum vg_err
vg_migrate_status(struct vg_pg *db, const char *dir, struct vg_migration **out,
    size_t *count, char *msg, size_t msglen)
{
	enum vg_err err;

	if ((err = vg_migrate_scan(dir, out, count, msg, msglen)) != VG_OK)
		return err;
	if ((err = merge_applied(db, out, count)) != VG_OK) {
		snprintf(msg, msglen, "cannot read schema_migrations: %s", vg_err_message(err));
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

/*
 * Whether the applied history allows applying the pending files: nothing
 * applied may have changed or vanished, and nothing pending may sort
 * before something applied.  msg names the first offending file.
 */
static enum vg_err
check_history(const char *dir, const struct vg_migration *list, size_t n, char *msg,
    size_t msglen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct vg_migration *m = &list[i];

		if (m->state == VG_MIG_CHANGED) {
			snprintf(msg, msglen, "%s/%s changed after it was applied (applied sha256 %s,"
			    " file now %s); restore it and add a new migration instead", dir,
			    m->name, m->applied_checksum, m->checksum);
			return VG_ERR_CONFLICT;
		}
		if (m->state == VG_MIG_MISSING) {
			snprintf(msg, msglen, "%s/%s was applied (sha256 %s) but is missing", dir,
			    m->name, m->applied_checksum);
			return VG_ERR_CONFLICT;
		}
		if (m->state != VG_MIG_PENDING)
			continue;
		for (j = i + 1; j < n; j++) {
			if (list[j].state == VG_MIG_APPLIED) {
				snprintf(msg, msglen, "%s/%s is pending but sorts before the applied"
				    " %s; give it a higher number", dir, m->name, list[j].name);
				return VG_ERR_CONFLICT;
			}
		}
	}
	return VG_OK;
}

struct apply_ctx {
	const char *dir;
	const struct vg_migration *m;
	const struct vg_buf *content;
	char *msg;
	size_t msglen;
};

/* One migration inside its transaction: the script, its record, its audit
 * entry (once the audit table exists, i.e. from the first migration on). */
static enum vg_err
apply_one(struct vg_pg *db, void *arg)
{
	struct apply_ctx *c = arg;
	char version[24], why[512];
	const char *params[3];
	struct vg_audit_event ev;
	PGresult *res = NULL;
	json_t *details = NULL;
	bool audit = false;
	enum vg_err err;

	if ((err = vg_pg_exec_script(db, vg_buf_str(c->content), why, sizeof why)) != VG_OK) {
		snprintf(c->msg, c->msglen, "%s/%s failed: %s", c->dir, c->m->name, why);
		goto out;
	}
	snprintf(version, sizeof version, "%lld", (long long)c->m->version);
	params[0] = version;
	params[1] = c->m->name;
	params[2] = c->m->checksum;
	err = vg_pg_exec(db, "INSERT INTO schema_migrations (version, name, checksum)"
	    " VALUES ($1, $2, $3)", 3, params, &res);
	if (err != VG_OK) {
		snprintf(c->msg, c->msglen, "%s: cannot record it in schema_migrations: %s",
		    c->m->name, vg_err_message(err));
		goto out;
	}
	if ((err = table_exists(db, "audit_log", &audit)) != VG_OK || !audit)
		goto out;
	memset(&ev, 0, sizeof ev);
	err = VG_ERR_NOMEM;
	if (!(details = json_pack("{s:I, s:s}", "version", (json_int_t)c->m->version,
	    "checksum", c->m->checksum)))
		goto out;
	if ((err = vg_uuid_new(ev.id)) != VG_OK)
		goto out;
	ev.at_us = vg_time_now_us();
	ev.action = "migrate.apply";
	ev.target_type = "migration";
	ev.target_id = c->m->name;
	ev.details = details;
	if ((err = vg_store_pg_audit_insert(db, &ev)) != VG_OK)
		snprintf(c->msg, c->msglen, "%s: cannot write its audit entry: %s", c->m->name,
		    vg_err_message(err));
out:
	json_decref(details);
	PQclear(res);
	return err;
}

/* Apply the pending entries of list, in order, each in its own transaction. */
static enum vg_err
apply_pending(struct vg_pg *db, const char *dir, const struct vg_migration *list, size_t n,
    FILE *report, size_t *applied, char *msg, size_t msglen)
{
	struct vg_buf content;
	char sum[VG_MIGRATE_SHA256_HEX];
	enum vg_err err = VG_OK;
	size_t i;

	vg_buf_init(&content, VG_MIGRATE_MAX_FILE_BYTES);
	for (i = 0; i < n; i++) {
		struct apply_ctx c = {dir, &list[i], &content, msg, msglen};

		if (list[i].state != VG_MIG_PENDING)
			continue;
		/* Apply exactly the bytes that were checksummed. */
		if ((err = read_file(dir, list[i].name, &content)) != VG_OK ||
		    (err = sha256_hex(vg_buf_str(&content), content.len, sum)) != VG_OK ||
		    strcmp(sum, list[i].checksum) != 0) {
			snprintf(msg, msglen, "%s/%s changed while migrating", dir, list[i].name);
			err = VG_ERR_CONFLICT;
			goto out;
		}
		if ((err = vg_pg_tx(db, apply_one, &c)) != VG_OK) {
			if (!*msg)
				snprintf(msg, msglen, "%s/%s: %s", dir, list[i].name,
				    vg_err_message(err));
			goto out;
		}
		(*applied)++;
		vg_log(VG_LOG_INFO, "migration_applied", "migration", list[i].name,
		    "checksum", list[i].checksum, NULL);
		if (report)
			fprintf(report, "applied %s sha256:%s\n", list[i].name, list[i].checksum);
	}
out:
	vg_buf_free(&content);
	return err;
}

enum vg_err
vg_migrate_run(struct vg_pg *db, const char *dir, FILE *report, size_t *applied, char *msg,
    size_t msglen)
{
	static const char create[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version integer PRIMARY KEY CHECK (version >= 0),"
	    " name text NOT NULL,"
	    " checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),"
	    " applied_at timestamptz NOT NULL DEFAULT now())";
	const char *key[] = {MIGRATE_LOCK_KEY};
	struct vg_migration *list = NULL;
	size_t n = 0;
	PGresult *res = NULL;
	bool locked = false;
	enum vg_err err;

	*applied = 0;
	msg[0] = '\0';
	/* Check the files before touching the database. */
	if ((err = vg_migrate_scan(dir, &list, &n, msg, msglen)) != VG_OK)
		goto out;
	free(list);
	list = NULL;
	/* Waits for any other run; then this session holds the lock, and must
	 * not be swapped for another behind our back (pin). */
	if ((err = vg_pg_exec(db, "SELECT pg_advisory_lock($1::bigint)", 1, key, &res)) != VG_OK) {
		snprintf(msg, msglen, "cannot take the migration lock: %s", vg_err_message(err));
		goto out;
	}
	PQclear(res);
	res = NULL;
	locked = true;
	vg_pg_pin(db, true);
	if ((err = vg_pg_exec(db, create, 0, NULL, &res)) != VG_OK) {
		snprintf(msg, msglen, "cannot create schema_migrations: %s", vg_err_message(err));
		goto out;
	}
	/* Re-read under the lock: another run may have applied some. */
	if ((err = vg_migrate_status(db, dir, &list, &n, msg, msglen)) != VG_OK ||
	    (err = check_history(dir, list, n, msg, msglen)) != VG_OK)
		goto out;
	err = apply_pending(db, dir, list, n, report, applied, msg, msglen);
out:
	PQclear(res);
	res = NULL;
	if (locked) {
		/* Dropping the session also drops the lock, so a failure here is
		 * harmless. */
		if (vg_pg_exec(db, "SELECT pg_advisory_unlock($1::bigint)", 1, key, &res) == VG_OK)
			PQclear(res);
		vg_pg_pin(db, false);
	}
	free(list);
	return err;
}

enum vg_err
vg_migrate_check(struct vg_pg *db, const char *dir, bool *current, char *detail,
    size_t detail_len)
{
	struct vg_migration *list = NULL;
	struct vg_buf b;
	size_t n = 0, i;
	enum vg_err err;

	*current = false;
	vg_buf_init(&b, detail_len > 0 ? detail_len - 1 : 0);
	if ((err = vg_migrate_status(db, dir, &list, &n, detail, detail_len)) != VG_OK)
		goto out;
	*current = true;
	for (i = 0; i < n; i++) {
		if (list[i].state == VG_MIG_APPLIED)
			continue;
		*current = false;
		/* A detail cut short by its buffer still says enough. */
		(void)vg_buf_printf(&b, "%s%s %s", b.len ? ", " : "",
		    vg_migration_state_name(list[i].state), list[i].name);
	}
	snprintf(detail, detail_len, "%s", *current ? "all migrations applied" : vg_buf_str(&b));
out:
	vg_buf_free(&b);
	free(list);
	return err;
}
