# bin/: the programs that are not FastCGI roles.  One block per program.

# vega-maintenance: migrate, config, ... (operator one-shots, in sbin).
sbin_PROGRAMS += %reldir%/vega-maintenance
%canon_reldir%_vega_maintenance_SOURCES = %reldir%/vega-maintenance.c

# vega-worker: the worker loop (heartbeat, and later claim and launch).
bin_PROGRAMS += %reldir%/vega-worker
%canon_reldir%_vega_worker_SOURCES = %reldir%/vega-worker.c
E2E_TESTS += tests/e2e/worker-json.e2e tests/e2e/worker-postgres.e2e
EXTRA_DIST += tests/e2e/worker-json.e2e tests/e2e/worker-postgres.e2e tests/e2e/worker.bats
# the pipeline suites: workers, fake runners, and scan-tool for the store's side
check_PROGRAMS += tests/helpers/scan-tool
tests_helpers_scan_tool_SOURCES = tests/helpers/scan-tool.c
E2E_TESTS += tests/e2e/pipeline-json.e2e tests/e2e/pipeline-postgres.e2e
EXTRA_DIST += tests/e2e/pipeline-json.e2e tests/e2e/pipeline-postgres.e2e tests/e2e/pipeline.bats

# vega-runner: one scan; for now the offline mode (vega-runner --dir PATH).
bin_PROGRAMS += %reldir%/vega-runner
%canon_reldir%_vega_runner_SOURCES = %reldir%/vega-runner.c
%canon_reldir%_vega_runner_LDADD = $(VEGA_LIBS) -lm
