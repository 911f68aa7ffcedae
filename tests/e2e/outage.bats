#!/usr/bin/env bats
# Postgres goes away in the middle of a run and comes back: readiness says
# so, naming the store, and recovers on the very next request without a
# restart of the programs.  (Postgres configurations only.)

load web

setup() {
	web_setup
	. "$VEGA_SRCDIR/tests/helpers/pg.sh"
	[ "$VG_E2E_BACKEND" = postgres ] || {
		echo "outage.bats needs the postgres backend" >&2
		return 1
	}
	: "${VG_PG_DIR:?}" "${VG_PG_BIN:?}" "${VG_PG_PORT:?}"
}

# Postgres started from a test must not inherit bats' fd 3 (its TAP
# stream): bats would wait for it to close, i.e. for Postgres to exit.
pg_up() {
	vg_pg_up 3>&-
}

teardown() {
	# Whatever happened, leave Postgres running for the suites after us.
	vg_pg_as "$VG_PG_BIN/pg_ctl" -D "$VG_PG_DIR/data" status >/dev/null 2>&1 || pg_up
}

@test "readyz is 200 while Postgres runs" {
	req GET "$U/v1/readyz"
	assert_code 200
	[ "$(jget checks.store)" = ok ]
	[ "$(jget persistence_backend)" = postgres ]
}

@test "Postgres down: readyz 503 unavailable naming the store, healthz still 200; back up: the next readyz is 200" {
	local before after i
	# Touch every process so each holds a connection that will break.
	for i in $(seq 1 8); do req GET "$U/v1/readyz"; assert_code 200; done
	before=$(vg_stack_pids | tr '\n' ' ')

	vg_pg_down
	for i in 1 2 3; do
		req GET "$U/v1/readyz"
		assert_code 503
		assert_envelope unavailable
		[ "$(jget error.retryable)" = true ]
		[ "$(jget error.details.check)" = store ]
		[ -n "$(hdr Retry-After)" ]
	done
	# Liveness does not depend on the store.
	req GET "$U/v1/healthz"
	assert_code 200

	pg_up
	req GET "$U/v1/readyz"
	assert_code 200
	[ "$(jget checks.store)" = ok ]
	# ... and so does every process, each reconnecting on its own.
	for i in $(seq 1 8); do req GET "$U/v1/readyz"; assert_code 200; done
	after=$(vg_stack_pids | tr '\n' ' ')
	[ "$before" = "$after" ] || { echo "processes changed: $before -> $after"; false; }
}
