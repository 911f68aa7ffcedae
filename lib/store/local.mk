# lib/store: the metadata store (json and postgres backends), Postgres
# access and the migration runner.
lib_libvega_a_SOURCES += \
	%reldir%/store.c %reldir%/store.h %reldir%/store_impl.h \
	%reldir%/store_json.c %reldir%/store_pg.c \
	%reldir%/store_json_util.c %reldir%/store_json_util.h \
	%reldir%/store_json_findex.c %reldir%/store_json_findex.h \
	%reldir%/store_pg_util.c %reldir%/store_pg_util.h \
	%reldir%/store_auth.c %reldir%/store_json_auth.c %reldir%/store_pg_auth.c \
	%reldir%/store_sources.c %reldir%/store_json_sources.c \
	%reldir%/store_pg_sources.c \
	%reldir%/store_scans.c %reldir%/store_json_scans.c %reldir%/store_pg_scans.c \
	%reldir%/store_llm.c %reldir%/store_json_llm.c %reldir%/store_pg_llm.c \
	%reldir%/jsondb.c %reldir%/jsondb.h \
	%reldir%/pg.c %reldir%/pg.h \
	%reldir%/migrate.c %reldir%/migrate.h

# The contract suite runs against json here, and against a real Postgres
# through store-postgres.e2e; migrate-postgres.e2e drives vega-maintenance.
UNIT_TESTS += tests/unit/test_store tests/unit/test_store_sources tests/unit/test_migrate
UNIT_TESTS += tests/unit/test_store_scans
UNIT_TESTS += tests/unit/test_pg
E2E_TESTS += tests/e2e/pg-postgres.e2e
EXTRA_DIST += tests/e2e/pg-postgres.e2e
E2E_TESTS += tests/e2e/store-postgres.e2e tests/e2e/store-sources-postgres.e2e \
	tests/e2e/migrate-postgres.e2e
E2E_TESTS += tests/e2e/store-scans-postgres.e2e
EXTRA_DIST += tests/e2e/store-postgres.e2e tests/e2e/store-sources-postgres.e2e \
	tests/e2e/migrate-postgres.e2e \
	tests/e2e/migrate.bats
EXTRA_DIST += tests/e2e/store-scans-postgres.e2e
