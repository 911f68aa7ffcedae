#!/usr/bin/env bats
# The worker loop against the store of the configuration (json or postgres):
# it registers itself, heartbeats, and stops cleanly on SIGTERM.

setup_file() {
	"$VEGA_BUILDDIR/bin/vega-maintenance" migrate >/dev/null
}

worker() { "$VEGA_BUILDDIR/bin/vega-worker" "$@"; }

# The registry as "state pid" lines, read through the store's own backend.
registry() {
	if [ "$VEGA_PERSISTENCE_BACKEND" = postgres ]; then
		psql "$VEGA_DATABASE_URL" -At -F' ' -c 'SELECT state, pid FROM workers'
	else
		for f in "$VEGA_DATA_DIR"/store/workers/*.json; do
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["state"], d["pid"])' "$f"
		done
	fi
}

@test "worker --once registers itself, heartbeats once and records a clean stop" {
	run worker --once
	[ "$status" -eq 0 ]
	[[ "$output" == *'"event":"worker.started"'* ]]
	[[ "$output" == *'"event":"worker.stopped"'* ]]
	run registry
	[[ "$output" == *"stopped"* ]]
}

@test "worker loop heartbeats as idle and stops on SIGTERM with status 0" {
	VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS=1 "$VEGA_BUILDDIR/bin/vega-worker" 2>"$BATS_TEST_TMPDIR/log" &
	pid=$!
	for _ in $(seq 50); do
		registry | grep -q "^idle $pid\$" && break
		sleep 0.1
	done
	registry | grep -q "^idle $pid\$"
	kill -TERM "$pid"
	wait "$pid"
	registry | grep -q "^stopped $pid\$"
}

@test "worker refuses unknown arguments with usage and status 2" {
	run worker --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: vega-worker"* ]]
}

@test "worker refuses an invalid setting, naming it" {
	VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS=0 run worker --once
	[ "$status" -eq 2 ]
	[[ "$output" == *"VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS"* ]]
}
