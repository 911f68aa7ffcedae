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

@test "worker refuses ecs execution and sqs receiving at start-up, naming the setting" {
	VEGA_SCAN_WORKER_EXECUTION_MODE=ecs run worker --once
	[ "$status" -eq 2 ]
	[[ "$output" == *"VEGA_SCAN_WORKER_EXECUTION_MODE=ecs is not available"* ]]
	VEGA_SCAN_EXECUTION_MODE=sqs run worker --once
	[ "$status" -eq 2 ]
	[[ "$output" == *"VEGA_SCAN_EXECUTION_MODE=sqs is not available"* ]]
}

maint() { "$VEGA_BUILDDIR/bin/vega-maintenance" "$@"; }

# An old temporary file, and an unreferenced source blob past the grace.
leftovers() {
	mkdir -p "$VEGA_DATA_DIR/tmp" "$VEGA_DATA_DIR/blobs/sources/snapshots"
	touch -d '3 days ago' "$VEGA_DATA_DIR/tmp/upload-crashed" \
		"$VEGA_DATA_DIR/blobs/sources/snapshots/unreferenced.tar"
}

@test "maintenance cleanup --dry-run lists what it would remove and removes nothing" {
	leftovers
	run maint cleanup --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"would remove tmp upload-crashed"* ]]
	[[ "$output" == *"would remove blob snapshots/unreferenced.tar"* ]]
	[[ "$output" == *"dry run: "* ]]
	[ -e "$VEGA_DATA_DIR/tmp/upload-crashed" ]
	[ -e "$VEGA_DATA_DIR/blobs/sources/snapshots/unreferenced.tar" ]
}

@test "maintenance cleanup removes them, keeps a worker row within its retention, and has nothing left after" {
	leftovers
	worker --once   # a stopped row, heartbeat now
	run maint cleanup
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed tmp upload-crashed"* ]]
	[[ "$output" == *"removed blob snapshots/unreferenced.tar"* ]]
	[ ! -e "$VEGA_DATA_DIR/tmp/upload-crashed" ]
	[ ! -e "$VEGA_DATA_DIR/blobs/sources/snapshots/unreferenced.tar" ]
	registry | grep -q stopped   # a fresh stopped row stays within the retention
	run maint cleanup
	[[ "$output" == *"cleanup: 0 item(s)"* ]]
}

@test "maintenance --once migrates, then cleans up" {
	leftovers
	run maint --once
	[ "$status" -eq 0 ]
	[[ "$output" == *"migrat"* ]]
	[[ "$output" == *"removed tmp upload-crashed"* ]]
}

@test "maintenance rescue runs one stale-scan pass" {
	run maint rescue
	[ "$status" -eq 0 ]
	[[ "$output" == "rescue: 0 failed as stale, 0 re-queued"* ]]
}
