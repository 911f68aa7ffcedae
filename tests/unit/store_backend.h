/*
 * store_backend.h - how the store contract suites (test_store,
 * test_store_sources, test_store_scans) pick the backend they run against.
 *
 * VEGA_TEST_BACKEND, else VEGA_PERSISTENCE_BACKEND, else json.  json gets a
 * fresh data directory under a new temporary directory; postgres needs
 * VEGA_TEST_DATABASE_URL and VEGA_SRCDIR (the *-postgres.e2e configurations
 * set them) and has the migrations applied.  A bad set-up is a TAP
 * "Bail out!" and exit 1.
 */
#ifndef VEGA_TESTS_STORE_BACKEND_H
#define VEGA_TESTS_STORE_BACKEND_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/settings.h"
#include "store/migrate.h"
#include "store/pg.h"

static void
store_backend_bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

/*
 * Point the settings at the backend under test: the temporary directory
 * (made from the mkdtemp template given, size bytes, rewritten in place)
 * holds the json data and is the caller's to remove.  Returns "json" or
 * "postgres".
 */
static const char *
store_backend_setup(char *tmpdir, size_t size)
{
	const char *why = "VEGA_TEST_BACKEND", *backend = getenv("VEGA_TEST_BACKEND");
	char msg[512], dir[512];

	if (!backend || !*backend) {
		backend = getenv("VEGA_PERSISTENCE_BACKEND");
		why = "VEGA_PERSISTENCE_BACKEND";
	}
	if (!backend || !*backend) {
		backend = "json";
		why = "the default";
	}
	printf("# backend: %s (from %s)\n", backend, why);
	if (strnlen(tmpdir, size) >= size || !mkdtemp(tmpdir))
		store_backend_bail("cannot make a temporary directory");
	if (strcmp(backend, "json") == 0) {
		snprintf(dir, sizeof dir, "%s/data", tmpdir);
		setenv("VEGA_DATA_DIR", dir, 1);
	} else if (strcmp(backend, "postgres") == 0) {
		const char *url = getenv("VEGA_TEST_DATABASE_URL");
		const char *src = getenv("VEGA_SRCDIR");

		if (!url || !*url || !src || !*src)
			store_backend_bail("the postgres backend needs VEGA_TEST_DATABASE_URL and"
			    " VEGA_SRCDIR (run the *-postgres.e2e configurations through make check)");
		setenv("VEGA_DATABASE_URL", url, 1);
		snprintf(dir, sizeof dir, "%s/sql", src);
		setenv("VEGA_MIGRATIONS_DIR", dir, 1);
		setenv("VEGA_DB_CONNECT_TIMEOUT_SECONDS", "2", 1);
	} else {
		printf("Bail out! unknown backend '%s' (json or postgres)\n", backend);
		exit(1);
	}
	setenv("VEGA_PERSISTENCE_BACKEND", backend, 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		exit(1);
	}
	if (strcmp(backend, "postgres") == 0) {
		size_t applied = 0;

		if (vg_migrate_run(vg_pg_default(), vg_migrate_dir(), NULL, &applied, msg,
		    sizeof msg) != VG_OK) {
			printf("Bail out! migrations: %s\n", msg);
			exit(1);
		}
		printf("# %zu migration(s) applied\n", applied);
	}
	return backend;
}

#endif
