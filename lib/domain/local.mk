# lib/domain: the rules of Vega's entities; maintenance passes.
lib_libvega_a_SOURCES += \
	%reldir%/cleanup.c %reldir%/cleanup.h \
	%reldir%/ingest.c %reldir%/ingest.h \
	%reldir%/api.h %reldir%/api_int.h %reldir%/scope.c \
	%reldir%/projects.c %reldir%/repositories.c %reldir%/snapshots.c \
	%reldir%/profiles.c %reldir%/limits.c %reldir%/limits.h \
	%reldir%/worker.c %reldir%/worker.h %reldir%/rescue.c %reldir%/rescue.h \
	%reldir%/ops.c \
	%reldir%/dispatch.c %reldir%/dispatch.h \
	%reldir%/scans.c %reldir%/events.c %reldir%/findings.c

UNIT_TESTS += tests/unit/test_cleanup tests/unit/test_api_sources tests/unit/test_ingest \
	tests/unit/test_api_scans
UNIT_TESTS += tests/unit/test_worker tests/unit/test_rescue tests/unit/test_ops
# The server scan of vega-runner SCAN_ID.
lib_libvega_a_SOURCES += %reldir%/scan_run.c %reldir%/scan_run.h
UNIT_TESTS += tests/unit/test_scan_run
tests_unit_test_scan_run_LDADD = $(VEGA_LIBS) -lm

# The scans API through the web servers, with the runner of the build tree.
E2E_TESTS += tests/e2e/scans-nginx-json.e2e tests/e2e/scans-nginx-postgres.e2e \
	tests/e2e/scans-apache-json.e2e
EXTRA_DIST += tests/e2e/scans.bats tests/e2e/sse-watch.py tests/e2e/scans-nginx-json.e2e \
	tests/e2e/scans-nginx-postgres.e2e tests/e2e/scans-apache-json.e2e
