/*
 * vega-maintenance - one-shot operator commands: a table of commands and
 * one dispatch call (DESIGN.md section 1).
 *
 * Exit status: 0 success, 1 the command failed, 2 usage or configuration
 * error.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "auth/password.h"
#include "core/b64.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/cleanup.h"
#include "domain/rescue.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "store/store.h"

#define EXIT_USAGE 2

struct command {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *help;
	int (*fn)(int argc, char **argv);
};

static int cmd_migrate(int argc, char **argv);
static int cmd_config(int argc, char **argv);
static int cmd_help(int argc, char **argv);
static int cmd_create_user(int argc, char **argv);
static int cmd_set_password(int argc, char **argv);
static int cmd_disable_user(int argc, char **argv);
static int cmd_enable_user(int argc, char **argv);
static int cmd_list_users(int argc, char **argv);
static int cmd_bootstrap_admin(int argc, char **argv);
static int cmd_cleanup(int argc, char **argv);
static int cmd_rescue(int argc, char **argv);
static int cmd_once(int argc, char **argv);

static const struct command commands[] = {
	{"migrate", "[--status]",
	    "apply pending database migrations; --status lists applied and pending ones", cmd_migrate},
	{"config", "[--markdown]",
	    "print the effective settings (secrets redacted), or the README table", cmd_config},
	{"create-user", "EMAIL [--group root|operator|user]... [--name NAME] [--password-stdin]",
	    "create a built-in account (group user unless given); without --password-stdin a"
	    " random password is made and printed once", cmd_create_user},
	{"set-password", "EMAIL [--password-stdin]",
	    "set a new password (random and printed once unless read from stdin) and end the"
	    " user's sessions", cmd_set_password},
	{"disable-user", "EMAIL", "refuse the user's logins, tokens and API keys, and end their"
	    " sessions", cmd_disable_user},
	{"enable-user", "EMAIL", "let a disabled user in again", cmd_enable_user},
	{"list-users", "", "list every user: id, e-mail, groups, state, last login", cmd_list_users},
	{"bootstrap-admin", "FILE [--email EMAIL]",
	    "when no user exists, create an administrator (group root, e-mail admin@localhost"
	    " unless given) with a random password, print it once and write it to FILE (mode"
	    " 0600); with users present, do nothing", cmd_bootstrap_admin},
	{"cleanup", "[--dry-run]",
	    "remove what nothing needs any more: stale temporary files, expired refresh tokens"
	    " and API keys, old worker rows, artifacts past VEGA_ARTIFACT_RETENTION_DAYS and"
	    " source blobs no snapshot names; --dry-run only lists them", cmd_cleanup},
	{"rescue", "", "fail or re-queue stale scans whose runner is gone (what every worker"
	    " does each iteration)", cmd_rescue},
	{"--once", "", "migrate, then cleanup: one maintenance run for a timer or a task",
	    cmd_once},
	{"help", "", "show this help", cmd_help},
};

static void
usage(FILE *out)
{
	size_t i;

	fputs("usage: vega-maintenance COMMAND [ARGS]\n\ncommands:\n", out);
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].usage,
		    commands[i].help);
	fputs("\nSettings come from VEGA_* environment variables (see `config`).\n"
	    "exit status: 0 success, 1 the command failed, 2 usage or configuration error\n", out);
}

/* Whether argv holds nothing but, optionally, the one flag. */
static int
only_flag(int argc, char **argv, const char *flag, int *set)
{
	*set = 0;
	if (argc == 1)
		return 1;
	if (argc == 2 && strcmp(argv[1], flag) == 0) {
		*set = 1;
		return 1;
	}
	return 0;
}

/* Print the migrations table; 1 when anything applied has drifted. */
static int
print_status(struct vg_pg *db, const char *dir)
{
	struct vg_migration *list = NULL;
	size_t n = 0, i;
	char msg[1024], when[32];
	int rc = 0;

	if (vg_migrate_status(db, dir, &list, &n, msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "vega-maintenance: %s\n", msg);
		return 1;
	}
	printf("%-8s %-36s %-64s %s\n", "state", "migration", "sha256", "applied_at");
	for (i = 0; i < n; i++) {
		const struct vg_migration *m = &list[i];

		when[0] = '\0';
		if (m->applied_at_us)
			vg_time_format(m->applied_at_us, when);
		printf("%-8s %-36s %-64s %s\n", vg_migration_state_name(m->state), m->name,
		    m->checksum[0] ? m->checksum : m->applied_checksum, when[0] ? when : "-");
		if (m->state == VG_MIG_CHANGED || m->state == VG_MIG_MISSING)
			rc = 1;
	}
	if (rc)
		fprintf(stderr, "vega-maintenance: applied migrations differ from %s\n", dir);
	free(list);
	return rc;
}

static int
cmd_migrate(int argc, char **argv)
{
	struct vg_pg *db = vg_pg_default();
	const char *dir = vg_migrate_dir();
	char msg[1024];
	size_t applied = 0;
	int status = 0, rc = 1;

	if (!only_flag(argc, argv, "--status", &status)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (vg_cfg_is(VG_SET_PERSISTENCE_BACKEND, "json")) {
		printf("nothing to migrate: VEGA_PERSISTENCE_BACKEND=json keeps no schema\n");
		return 0;
	}
	if (vg_pg_connect(db) != VG_OK) {
		fprintf(stderr, "vega-maintenance: cannot connect to the database"
		    " (VEGA_DATABASE_URL)\n");
		goto out;
	}
	if (status) {
		rc = print_status(db, dir);
		goto out;
	}
	if (vg_migrate_run(db, dir, stdout, &applied, msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "vega-maintenance: migrate: %s\n", msg);
		goto out;
	}
	if (applied)
		printf("%zu migration(s) applied from %s\n", applied, dir);
	else
		printf("nothing to migrate: all migrations in %s are applied\n", dir);
	rc = 0;
out:
	vg_pg_disconnect(db);
	return rc;
}

static int
cmd_config(int argc, char **argv)
{
	int markdown = 0;

	if (!only_flag(argc, argv, "--markdown", &markdown)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (markdown)
		vg_settings_print_markdown(stdout);
	else
		vg_settings_print(stdout);
	return 0;
}

/* ---- users ---- */

#define PASSWORD_MIN 12

static int
usage_error(void)
{
	usage(stderr);
	return EXIT_USAGE;
}

static struct vg_store *
open_store(void)
{
	struct vg_store *s = NULL;

	if (vg_store_open(&s) != VG_OK) {
		fprintf(stderr, "vega-maintenance: cannot open the store (VEGA_PERSISTENCE_BACKEND)\n");
		return NULL;
	}
	return s;
}

static void
close_store(struct vg_store *s)
{
	vg_store_free(s);
	vg_pg_disconnect(vg_pg_default());
}

/* Explain a store error on stderr; returns 1. */
static int
store_failed(const char *what, enum vg_err err)
{
	fprintf(stderr, "vega-maintenance: %s: %s\n", what,
	    err == VG_ERR_UNAVAILABLE ? "the store is unavailable" : vg_err_message(err));
	return 1;
}

static void
audit(struct vg_store *s, const char *action, const char *user_id)
{
	struct vg_audit_event ev = {.action = action, .target_type = "user",
	    .target_id = user_id};

	if (vg_store_audit_append(s, &ev) != VG_OK)
		fprintf(stderr, "vega-maintenance: could not write the audit log\n");
}

/* A random password: 18 bytes from the CSPRNG as 24 base64url characters. */
static enum vg_err
random_password(char out[32])
{
	unsigned char raw[18];
	enum vg_err err = vg_random_bytes(raw, sizeof raw);

	if (err == VG_OK)
		err = vg_b64url_encode(raw, sizeof raw, out, 32);
	OPENSSL_cleanse(raw, sizeof raw);
	return err;
}

/* One line from stdin (without its newline) into out.  Returns 0, or 1
 * with a message when it is missing, too short or too long. */
static int
read_password(char *out, size_t size)
{
	size_t n;

	if (!fgets(out, (int)size, stdin)) {
		fprintf(stderr, "vega-maintenance: no password on standard input\n");
		return 1;
	}
	n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n == size - 1) {
		fprintf(stderr, "vega-maintenance: the password is too long\n");
		return 1;
	}
	out[n] = '\0';
	if (n < PASSWORD_MIN) {
		fprintf(stderr, "vega-maintenance: a password needs at least %d characters\n",
		    PASSWORD_MIN);
		return 1;
	}
	return 0;
}

/* The password for create-user/set-password: from stdin, or random
 * (*made set, to be printed once). */
static int
get_password(bool from_stdin, char *out, size_t size, bool *made)
{
	*made = !from_stdin;
	if (from_stdin)
		return read_password(out, size);
	if (size < 32 || random_password(out) != VG_OK) {
		fprintf(stderr, "vega-maintenance: no randomness for a password\n");
		return 1;
	}
	return 0;
}

static int
cmd_create_user(int argc, char **argv)
{
	char password[VG_PASSWORD_MAX_LEN + 2];
	struct vg_user u;
	struct vg_store *s = NULL;
	bool from_stdin = false, made = false;
	enum vg_err err;
	int i, rc = 1;

	memset(&u, 0, sizeof u);
	memset(password, 0, sizeof password);
	if (argc < 2 || vg_str_copy(u.email, sizeof u.email, argv[1]) != VG_OK)
		return usage_error();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0) {
			from_stdin = true;
		} else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
			unsigned bit = vg_group_bit(argv[++i]);

			if (!bit) {
				fprintf(stderr, "vega-maintenance: unknown group '%s' (root, operator,"
				    " user)\n", argv[i]);
				return EXIT_USAGE;
			}
			u.groups |= bit;
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			if (vg_str_copy(u.display_name, sizeof u.display_name, argv[++i]) != VG_OK)
				return usage_error();
		} else {
			return usage_error();
		}
	}
	if (!u.groups)
		u.groups = VG_GROUP_USER;
	if (get_password(from_stdin, password, sizeof password, &made) != 0)
		goto out;
	if ((err = vg_password_hash(password, u.password_hash)) != VG_OK) {
		fprintf(stderr, "vega-maintenance: cannot hash the password\n");
		goto out;
	}
	if (!(s = open_store()))
		goto out;
	if ((err = vg_store_user_create(s, &u)) != VG_OK) {
		if (err == VG_ERR_CONFLICT)
			fprintf(stderr, "vega-maintenance: a user with that e-mail exists\n");
		else if (err == VG_ERR_INVALID)
			fprintf(stderr, "vega-maintenance: '%s' is not a usable e-mail address\n",
			    argv[1]);
		else
			store_failed("create-user", err);
		goto out;
	}
	audit(s, "user.created", u.id);
	printf("created user %s <%s>\n", u.id, u.email);
	if (made)
		printf("password: %s\n(shown once: pass it on safely)\n", password);
	rc = 0;
out:
	OPENSSL_cleanse(password, sizeof password);
	close_store(s);
	return rc;
}

/* Look the user up by e-mail; message and NULL-ish status on failure. */
static int
find_user(struct vg_store *s, const char *email, struct vg_user *u)
{
	enum vg_err err = vg_store_user_by_email(s, email, u);

	if (err == VG_ERR_NOT_FOUND) {
		fprintf(stderr, "vega-maintenance: no user with e-mail '%s'\n", email);
		return 1;
	}
	return err == VG_OK ? 0 : store_failed("find the user", err);
}

static int
cmd_set_password(int argc, char **argv)
{
	char password[VG_PASSWORD_MAX_LEN + 2], hash[VG_PASSWORD_HASH_MAX];
	struct vg_user u;
	struct vg_store *s = NULL;
	bool made = false;
	size_t ended = 0;
	enum vg_err err;
	int rc = 1;

	memset(password, 0, sizeof password);
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--password-stdin") != 0))
		return usage_error();
	if (!(s = open_store()) || find_user(s, argv[1], &u) != 0)
		goto out;
	if (get_password(argc == 3, password, sizeof password, &made) != 0)
		goto out;
	if (vg_password_hash(password, hash) != VG_OK) {
		fprintf(stderr, "vega-maintenance: cannot hash the password\n");
		goto out;
	}
	if ((err = vg_store_user_set_password(s, u.id, hash, 0)) != VG_OK ||
	    (err = vg_store_refresh_revoke_user(s, u.id, VG_REVOKE_PASSWORD, 0, &ended)) != VG_OK) {
		store_failed("set-password", err);
		goto out;
	}
	audit(s, "user.password_set", u.id);
	printf("password of %s <%s> set; %zu session(s) ended\n", u.id, u.email, ended);
	if (made)
		printf("password: %s\n(shown once: pass it on safely)\n", password);
	rc = 0;
out:
	OPENSSL_cleanse(password, sizeof password);
	close_store(s);
	return rc;
}

static int
set_disabled(int argc, char **argv, bool disabled)
{
	struct vg_user u;
	struct vg_store *s = NULL;
	size_t ended = 0;
	enum vg_err err;
	int rc = 1;

	if (argc != 2)
		return usage_error();
	if (!(s = open_store()) || find_user(s, argv[1], &u) != 0)
		goto out;
	if ((err = vg_store_user_set_disabled(s, u.id, disabled, 0)) != VG_OK ||
	    (disabled &&
	    (err = vg_store_refresh_revoke_user(s, u.id, VG_REVOKE_DISABLED, 0, &ended)) != VG_OK)) {
		store_failed(disabled ? "disable-user" : "enable-user", err);
		goto out;
	}
	audit(s, disabled ? "user.disabled" : "user.enabled", u.id);
	if (disabled)
		printf("disabled %s <%s>; %zu session(s) ended\n", u.id, u.email, ended);
	else
		printf("enabled %s <%s>\n", u.id, u.email);
	rc = 0;
out:
	close_store(s);
	return rc;
}

static int
cmd_disable_user(int argc, char **argv)
{
	return set_disabled(argc, argv, true);
}

static int
cmd_enable_user(int argc, char **argv)
{
	return set_disabled(argc, argv, false);
}

/* "root,user" */
static void
groups_text(unsigned set, char *out, size_t size)
{
	static const unsigned bits[] = {VG_GROUP_ROOT, VG_GROUP_OPERATOR, VG_GROUP_USER};
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof bits / sizeof bits[0] && o < size; i++)
		if (set & bits[i])
			o += (size_t)snprintf(out + o, size - o, "%s%s", o ? "," : "",
			    vg_group_name(bits[i]));
}

static int
cmd_list_users(int argc, char **argv)
{
	struct vg_user *page = NULL;
	struct vg_store *s = NULL;
	char *cursor = NULL, *next = NULL, groups[64], created[VG_TIME_RFC3339_LEN],
	    login[VG_TIME_RFC3339_LEN];
	size_t i, n = 0;
	enum vg_err err;
	int rc = 1;

	(void)argv;
	if (argc != 1)
		return usage_error();
	if (!(s = open_store()))
		goto out;
	printf("%-36s %-32s %-20s %-8s %-27s %s\n", "id", "email", "groups", "state", "created_at",
	    "last_login_at");
	do {
		if ((err = vg_store_user_list(s, cursor, 200, &page, &n, &next)) != VG_OK) {
			store_failed("list-users", err);
			goto out;
		}
		for (i = 0; i < n; i++) {
			groups_text(page[i].groups, groups, sizeof groups);
			vg_time_format(page[i].created_at_us, created);
			if (page[i].last_login_us)
				vg_time_format(page[i].last_login_us, login);
			printf("%-36s %-32s %-20s %-8s %-27s %s\n", page[i].id,
			    page[i].email[0] ? page[i].email : "-", groups,
			    page[i].disabled ? "disabled" : "active", created,
			    page[i].last_login_us ? login : "-");
		}
		free(page);
		page = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor);
	rc = 0;
out:
	free(page);
	free(cursor);
	close_store(s);
	return rc;
}

/*
 * Write text to path with mode 0600, atomically: a temporary file in the
 * same directory, then rename.  0 on success.
 */
static int
write_secret_file(const char *path, const char *text)
{
	char tmp[4200];
	size_t len = strlen(text);
	int fd, rc = 1;

	if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return 1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "vega-maintenance: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

static int
cmd_bootstrap_admin(int argc, char **argv)
{
	char password[32], text[400];
	struct vg_user u;
	struct vg_store *s = NULL;
	int64_t count = 0;
	enum vg_err err;
	int rc = 1;

	memset(&u, 0, sizeof u);
	memset(password, 0, sizeof password);
	vg_str_copy(u.email, sizeof u.email, "admin@localhost");
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--email") == 0 &&
	    vg_str_copy(u.email, sizeof u.email, argv[3]) == VG_OK))
		return usage_error();
	if (!(s = open_store()))
		goto out;
	if ((err = vg_store_user_count(s, &count)) != VG_OK) {
		store_failed("bootstrap-admin", err);
		goto out;
	}
	if (count > 0) {
		printf("users exist already: no administrator created\n");
		rc = 0;
		goto out;
	}
	u.groups = VG_GROUP_ROOT;
	vg_str_copy(u.display_name, sizeof u.display_name, "Administrator");
	if (random_password(password) != VG_OK ||
	    vg_password_hash(password, u.password_hash) != VG_OK) {
		fprintf(stderr, "vega-maintenance: cannot make a password\n");
		goto out;
	}
	snprintf(text, sizeof text, "email: %s\npassword: %s\n", u.email, password);
	/* the file first: a password nobody can read again is worth nothing */
	if (write_secret_file(argv[1], text) != 0)
		goto out;
	if ((err = vg_store_user_create(s, &u)) != VG_OK) {
		unlink(argv[1]);
		store_failed("bootstrap-admin", err);
		goto out;
	}
	audit(s, "user.created", u.id);
	printf("created administrator %s <%s> (group root)\npassword: %s\n"
	    "(shown once; also in %s, readable by its owner only)\n", u.id, u.email, password,
	    argv[1]);
	rc = 0;
out:
	OPENSSL_cleanse(password, sizeof password);
	OPENSSL_cleanse(text, sizeof text);
	close_store(s);
	return rc;
}

static int
cmd_help(int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	usage(stdout);
	return 0;
}

/* Find argv[1] in the table and run it with the remaining arguments. */
static int
dispatch(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vega-maintenance: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	vg_settings_load_or_exit("vega-maintenance");
	vg_log_init("maintenance");
	return dispatch(argc, argv);
}

/* ---- cleanup, rescue, --once ---- */

/* Print a cleanup report: one line per entry, the pruned rows, what was
 * skipped, and a total. */
static void
print_report(const json_t *report, bool dry)
{
	const char *names[] = {"refresh_families", "api_keys", "workers"};
	json_t *item, *pruned = json_object_get(report, "pruned");
	size_t i;

	json_array_foreach(json_object_get(report, "removed"), i, item)
		printf("%s %s %s (%lld s old)\n", dry ? "would remove" : "removed",
		    json_string_value(json_object_get(item, "kind")),
		    json_string_value(json_object_get(item, "name")),
		    (long long)json_integer_value(json_object_get(item, "age_seconds")));
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_int_t n = json_integer_value(json_object_get(pruned, names[i]));

		if (n)
			printf("%s %lld %s row(s)\n", dry ? "would remove" : "removed", (long long)n,
			    names[i]);
	}
	json_array_foreach(json_object_get(report, "failed"), i, item)
		printf("could not remove %s %s\n", json_string_value(json_object_get(item, "kind")),
		    json_string_value(json_object_get(item, "name")));
	json_array_foreach(json_object_get(report, "skipped"), i, item)
		printf("skipped %s\n", json_string_value(item));
	printf("%s: %lld item(s)\n", dry ? "dry run" : "cleanup",
	    (long long)json_integer_value(json_object_get(report, "count")));
}

/* One cleanup pass: print what was (or would be) removed.  A real pass
 * is recorded in the audit log (action maintenance.cleanup), which is
 * where GET /v1/ops/cleanup finds the last run. */
static int
cmd_cleanup(int argc, char **argv)
{
	struct vg_cleanup_opts o;
	struct vg_store *s = NULL;
	json_t *report = NULL;
	int dry = 0, rc = 1;
	enum vg_err err;

	if (!only_flag(argc, argv, "--dry-run", &dry))
		return usage_error();
	if (!(s = open_store()))
		goto out;
	memset(&o, 0, sizeof o);
	o.dry_run = dry;
	o.now_us = vg_time_now_us();
	err = vg_cleanup_run(s, &o, &report);
	if (report)
		print_report(report, dry);
	if (err != VG_OK) {
		rc = store_failed("cleanup", err);
		goto out;
	}
	rc = 0;
out:
	json_decref(report);
	close_store(s);
	return rc;
}

/* One stale-scan rescue pass (rescue.h), its counts printed. */
static int
cmd_rescue(int argc, char **argv)
{
	struct vg_rescue_counts c;
	struct vg_store *s = NULL;
	enum vg_err err;
	int rc = 1;

	(void)argv;
	if (argc != 1)
		return usage_error();
	if (!(s = open_store()))
		goto out;
	if ((err = vg_rescue_run(s, vg_time_now_us(), &c)) != VG_OK) {
		rc = store_failed("rescue", err);
		goto out;
	}
	printf("rescue: %lld failed as stale, %lld re-queued, %lld failed after their last"
	    " attempt, %lld left to a live runner\n", (long long)c.failed, (long long)c.requeued,
	    (long long)c.exhausted, (long long)c.alive);
	rc = 0;
out:
	close_store(s);
	return rc;
}

/* migrate, then cleanup; the first failure ends it with its status. */
static int
cmd_once(int argc, char **argv)
{
	char *only[] = {argv[0], NULL};
	int rc;

	if (argc != 1)
		return usage_error();
	if ((rc = cmd_migrate(1, only)) != 0)
		return rc;
	return cmd_cleanup(1, only);
}
