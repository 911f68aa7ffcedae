/*
 * test_migrate.c - the migrations directory: names, order, checksums.
 * Applying them to a real database is tests/e2e/migrate.bats.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/settings.h"
#include "store/migrate.h"
#include "vt.h"

static char root[256];
static int dirs;

/* A fresh directory under root holding the given files ("name=content";
 * a name ending in '/' makes a subdirectory). */
static void
make_dir(char *out, size_t outlen, const char *const *files)
{
	char path[600];
	size_t i;

	snprintf(out, outlen, "%s/d%d", root, dirs++);
	mkdir(out, 0700);
	for (i = 0; files && files[i]; i++) {
		const char *eq = strchr(files[i], '=');
		size_t n = eq ? (size_t)(eq - files[i]) : strlen(files[i]);
		FILE *f;

		snprintf(path, sizeof path, "%s/%.*s", out, (int)n, files[i]);
		if (n && files[i][n - 1] == '/') {
			mkdir(path, 0700);
			continue;
		}
		if ((f = fopen(path, "w")) != NULL) {
			fputs(eq ? eq + 1 : "", f);
			fclose(f);
		}
	}
}

static void
test_names(void)
{
	static const struct { const char *name; int ok; } cases[] = {
		{"001_a.sql", 1}, {"123456_x_y.sql", 1}, {"010_with_digits_2.sql", 1},
		{"1_a.sql", 0}, {"01_a.sql", 0}, {"0001a.sql", 0}, {"001_.sql", 0},
		{"001_A.sql", 0}, {"001-a.sql", 0}, {"001_a.SQL", 0}, {"001_a.sql.bak", 0},
		{"1234567_a.sql", 0}, {"001_a b.sql", 0}, {"notes.txt", 0}, {"_001_a.sql", 0},
		{"001_a-b.sql", 0}, {"001_a.sql~", 0}, {"001_\xc3\xa9.sql", 0},
	};
	char dir[300], file[64], msg[512];
	struct vg_migration *list = NULL;
	size_t i, n = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *files[] = {file, NULL};
		enum vg_err err;

		snprintf(file, sizeof file, "%s=SELECT 1;", cases[i].name);
		make_dir(dir, sizeof dir, files);
		msg[0] = '\0';
		err = vg_migrate_scan(dir, &list, &n, msg, sizeof msg);
		VT_EQ_INT(err == VG_OK, cases[i].ok, cases[i].name);
		if (cases[i].ok) {
			VT_EQ_INT(n, 1, "one migration found");
			VT_EQ_STR(n ? list[0].name : NULL, cases[i].name, "its name");
		} else {
			VT_EQ_INT(err, VG_ERR_INVALID, "a bad name is invalid");
			VT_OK(strstr(msg, cases[i].name) != NULL, "the message names the file");
			VT_OK(list == NULL && n == 0, "nothing handed out");
		}
		free(list);
		list = NULL;
	}
}

static void
test_ignored_and_order(void)
{
	static const char *const files[] = {"README=x", "README.md=x", "local.mk=x", ".hidden=x",
	    ".001_a.sql.swp=x", "010_c.sql=c", "002_b.sql=b", "001_a.sql=a", NULL};
	char dir[300], msg[512];
	struct vg_migration *list = NULL;
	size_t n = 0;

	make_dir(dir, sizeof dir, files);
	VT_EQ_INT(vg_migrate_scan(dir, &list, &n, msg, sizeof msg), VG_OK,
	    "README, local.mk and hidden files are ignored");
	VT_EQ_INT(n, 3, "three migrations");
	if (n == 3) {
		VT_EQ_STR(list[0].name, "001_a.sql", "version order 1");
		VT_EQ_STR(list[1].name, "002_b.sql", "version order 2");
		VT_EQ_STR(list[2].name, "010_c.sql", "version order 10");
		VT_EQ_INT(list[2].version, 10, "version parsed");
		VT_EQ_STR(list[0].checksum,
		    "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
		    "sha256 of the file");
		VT_EQ_INT(list[0].state, VG_MIG_PENDING, "scanned files are pending");
	}
	free(list);
}

static void
test_errors(void)
{
	static const char *const dup[] = {"001_a.sql=a", "001_b.sql=b", NULL};
	static const char *const subdir[] = {"005_dir.sql/", NULL};
	char dir[300], msg[512], path[400];
	struct vg_migration *list = NULL;
	size_t n = 0;
	FILE *f;

	make_dir(dir, sizeof dir, dup);
	VT_EQ_INT(vg_migrate_scan(dir, &list, &n, msg, sizeof msg), VG_ERR_INVALID,
	    "duplicate versions refused");
	VT_OK(strstr(msg, "001_a.sql") && strstr(msg, "001_b.sql"), "both files named");
	make_dir(dir, sizeof dir, subdir);
	VT_EQ_INT(vg_migrate_scan(dir, &list, &n, msg, sizeof msg), VG_ERR_INVALID,
	    "a directory is not a migration");
	VT_OK(strstr(msg, "005_dir.sql") != NULL, "the directory is named");
	VT_OK(vg_migrate_scan("/nonexistent/vega-sql", &list, &n, msg, sizeof msg) != VG_OK,
	    "a missing directory is an error");
	VT_OK(strstr(msg, "/nonexistent/vega-sql") != NULL, "the directory is named");
	make_dir(dir, sizeof dir, NULL);
	snprintf(path, sizeof path, "%s/001_huge.sql", dir);
	if ((f = fopen(path, "w")) != NULL) {
		VT_EQ_INT(fseek(f, VG_MIGRATE_MAX_FILE_BYTES + 1, SEEK_SET), 0, "sparse huge file");
		fputc('x', f);
		fclose(f);
	}
	VT_OK(vg_migrate_scan(dir, &list, &n, msg, sizeof msg) != VG_OK, "an oversized file is refused");
	VT_OK(strstr(msg, "001_huge.sql") != NULL, "the oversized file is named");
	make_dir(dir, sizeof dir, NULL);
	VT_EQ_INT(vg_migrate_scan(dir, &list, &n, msg, sizeof msg), VG_OK, "an empty directory is fine");
	VT_EQ_INT(n, 0, "with no migrations");
	free(list);
}

/* The shipped sql/ directory is well-formed and numbered from 1 upwards. */
static void
test_shipped(void)
{
	const char *src = getenv("VEGA_SRCDIR");
	char dir[600], msg[512];
	struct vg_migration *list = NULL;
	size_t n = 0, i;
	int ordered = 1;

	if (!src) {
		VT_OK(0, "VEGA_SRCDIR is set (run through make check)");
		return;
	}
	snprintf(dir, sizeof dir, "%s/sql", src);
	VT_EQ_INT(vg_migrate_scan(dir, &list, &n, msg, sizeof msg), VG_OK, "sql/ scans cleanly");
	VT_OK(n >= 4, "sql/ holds the domain model's migrations");
	for (i = 0; i < n; i++)
		if (list[i].version != (int64_t)i + 1)
			ordered = 0;
	VT_OK(ordered, "versions run 1, 2, 3... without gaps");
	free(list);
}

static void
test_state_names(void)
{
	VT_EQ_STR(vg_migration_state_name(VG_MIG_PENDING), "pending", "pending");
	VT_EQ_STR(vg_migration_state_name(VG_MIG_APPLIED), "applied", "applied");
	VT_EQ_STR(vg_migration_state_name(VG_MIG_CHANGED), "changed", "changed");
	VT_EQ_STR(vg_migration_state_name(VG_MIG_MISSING), "missing", "missing");
	VT_EQ_STR(vg_migration_state_name((enum vg_migration_state)99), "?", "out of range");
}

static void
test_default_dir(void)
{
	char msg[256];

	unsetenv("VEGA_MIGRATIONS_DIR");
	vg_settings_load(msg, sizeof msg);
	VT_EQ_STR(vg_migrate_dir(), VG_DEFAULT_MIGRATIONS_DIR, "empty setting: the installed sql/");
	setenv("VEGA_MIGRATIONS_DIR", "/srv/vega-sql", 1);
	vg_settings_load(msg, sizeof msg);
	VT_EQ_STR(vg_migrate_dir(), "/srv/vega-sql", "the setting wins");
}

int
main(void)
{
	char cmd[300];
	int rc;

	snprintf(root, sizeof root, "/tmp/vega-test-migrate.XXXXXX");
	if (!mkdtemp(root)) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	test_names();
	test_ignored_and_order();
	test_errors();
	test_shipped();
	test_state_names();
	test_default_dir();
	rc = vt_done();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return rc;
}
