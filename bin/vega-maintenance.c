/*
 * vega-maintenance - one-shot operator commands: a table of commands and
 * one dispatch call (DESIGN.md section 1).
 *
 * Exit status: 0 success, 1 the command failed, 2 usage or configuration
 * error.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "store/migrate.h"
#include "store/pg.h"

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

static const struct command commands[] = {
	{"migrate", "[--status]",
	    "apply pending database migrations; --status lists applied and pending ones", cmd_migrate},
	{"config", "[--markdown]",
	    "print the effective settings (secrets redacted), or the README table", cmd_config},
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
