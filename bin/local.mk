# bin/: the programs that are not FastCGI roles.  One block per program.

# vega-maintenance: migrate, config, ... (operator one-shots, in sbin).
sbin_PROGRAMS += %reldir%/vega-maintenance
%canon_reldir%_vega_maintenance_SOURCES = %reldir%/vega-maintenance.c

# vega-worker: the worker loop (heartbeat, and later claim and launch).
bin_PROGRAMS += %reldir%/vega-worker
%canon_reldir%_vega_worker_SOURCES = %reldir%/vega-worker.c
E2E_TESTS += tests/e2e/worker-json.e2e tests/e2e/worker-postgres.e2e
EXTRA_DIST += tests/e2e/worker-json.e2e tests/e2e/worker-postgres.e2e tests/e2e/worker.bats

# vega-runner: one scan; for now the offline mode (vega-runner --dir PATH).
bin_PROGRAMS += %reldir%/vega-runner
%canon_reldir%_vega_runner_SOURCES = %reldir%/vega-runner.c
%canon_reldir%_vega_runner_LDADD = $(VEGA_LIBS) -lm
