#!/usr/bin/env bats
# The scan pipeline's worker side against the store of the configuration
# (json or postgres): real vega-worker processes claim queued scans and
# start fake runners (small shell scripts as VEGA_RUNNER_PROGRAM that play
# the runner's part through scan-tool, with the lease the worker handed
# them), and the tests look at what a user or an operator would see: the
# scans' states, their findings, the runner jobs and the worker registry.
# One test runs the real vega-runner and restarts Postgres under it
# (postgres configuration only; a TAP skip elsewhere).

setup_file() {
	"$VEGA_BUILDDIR/bin/vega-maintenance" migrate >/dev/null
}

setup() {
	export VEGA_SCAN_EXECUTION_MODE=external
	export VEGA_WORKER_POLL_INTERVAL_SECONDS=1
	export VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS=1
	export VEGA_SCAN_HEARTBEAT_STALE_SECONDS=5
	export VEGA_LOG_LEVEL=info
	tool=$VEGA_BUILDDIR/tests/helpers/scan-tool
	workers=()
}

teardown() {
	local p
	# Whatever happened, leave Postgres running for the tests after us.
	if [ "$VEGA_PERSISTENCE_BACKEND" = postgres ] && [ -n "${VG_PG_DIR:-}" ]; then
		. "$VEGA_SRCDIR/tests/helpers/pg.sh"
		vg_pg_as "$VG_PG_BIN/pg_ctl" -D "$VG_PG_DIR/data" status >/dev/null 2>&1 || vg_pg_up
	fi
	for p in "${workers[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ -f "$BATS_TEST_TMPDIR/runner.pids" ]; then
		while read -r p; do kill -9 "$p" 2>/dev/null; done <"$BATS_TEST_TMPDIR/runner.pids"
	fi
	"$tool" drain
}

# runner NAME BODY: a fake runner script; $1 is the scan id, and its pid
# is appended to runner.pids.
runner() {
	local f=$BATS_TEST_TMPDIR/$1
	printf '#!/bin/bash\necho $$ >>"%s/runner.pids"\ntool=%s\n%s\n' \
		"$BATS_TEST_TMPDIR" "$tool" "$2" >"$f"
	chmod +x "$f"
	echo "$f"
}

# start_worker [ENV=VALUE...]: a worker in the background, its log in
# worker-N.log; its pid is appended to workers.
start_worker() {
	local n=${#workers[@]}
	env "$@" "$VEGA_BUILDDIR/bin/vega-worker" 2>"$BATS_TEST_TMPDIR/worker-$n.log" &
	workers+=($!)
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; fails after SECONDS.
wait_for() {
	local limit=$(($1 * 10))
	shift
	for _ in $(seq "$limit"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

status_is() { [[ "$("$tool" show "$1")" == "$2 "* ]]; }
file_has() { [ -s "$1" ]; }

registry() {
	if [ "$VEGA_PERSISTENCE_BACKEND" = postgres ]; then
		psql "$VEGA_DATABASE_URL" -At -F' ' -c 'SELECT state, pid FROM workers'
	else
		for f in "$VEGA_DATA_DIR"/store/workers/*.json; do
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["state"], d["pid"])' "$f"
		done
	fi
}

# psql ARGS...: one query against the store's database, unaligned.
q() { psql "$VEGA_DATABASE_URL" -At -F' ' "$@"; }
findings_at_least() { [ "$("$tool" show "$1" | cut -d' ' -f3)" -ge "$2" ]; }
finished() { [[ "$("$tool" show "$1")" =~ ^(completed|failed|cancelled)\  ]]; }

@test "exactly once: 200 queued scans, 4 workers racing, one runner job per scan" {
	prog=$(runner complete.sh 'exec "$tool" complete "$1"')
	"$tool" seed 200 >"$BATS_TEST_TMPDIR/ids"
	for _ in 1 2 3 4; do start_worker VEGA_RUNNER_PROGRAM="$prog"; done
	done_all() { [ "$("$tool" summary $(cat "$BATS_TEST_TMPDIR/ids"))" = "completed 200" ]; }
	wait_for 240 done_all
	# a worker records its runner's exit once the process is gone, a
	# moment after the runner completed the scan
	jobs_ended() {
		"$tool" jobs $(cat "$BATS_TEST_TMPDIR/ids") >"$BATS_TEST_TMPDIR/jobs" &&
			! grep -q ' running ' "$BATS_TEST_TMPDIR/jobs"
	}
	wait_for 30 jobs_ended
	# one job per scan, all of attempt 1, every runner exited 0
	[ "$(wc -l <"$BATS_TEST_TMPDIR/jobs")" -eq 200 ]
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/jobs" | sort -u | wc -l)" -eq 200 ]
	# (on failure, the jobs that are not so, and what their workers said)
	awk '!($2 == 1 && $3 == "exited" && $4 == 0)' "$BATS_TEST_TMPDIR/jobs" | head -5
	grep -h '"level":"\(warn\|error\)"' "$BATS_TEST_TMPDIR"/worker-*.log | head -10
	[ "$(awk '$2 == 1 && $3 == "exited" && $4 == 0' "$BATS_TEST_TMPDIR/jobs" | wc -l)" -eq 200 ]
	# the work was shared: every worker launched some
	for n in 0 1 2 3; do
		grep -q '"event":"worker.runner_started"' "$BATS_TEST_TMPDIR/worker-$n.log"
	done
}

@test "kill -9 of a runner mid-scan: the scan fails as stale after the threshold, its findings kept" {
	prog=$(runner hang.sh '"$tool" start "$1" && echo up >"'"$BATS_TEST_TMPDIR"'/started"
exec sleep 300')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog"
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	status_is "$id" running
	pid=$(tail -1 "$BATS_TEST_TMPDIR/runner.pids")
	killed_at=$(date +%s)
	kill -9 "$pid"
	wait_for 30 status_is "$id" failed
	# not before the heartbeat was VEGA_SCAN_HEARTBEAT_STALE_SECONDS old
	[ $(($(date +%s) - killed_at)) -ge 4 ]
	run "$tool" show "$id"
	[ "$output" = "failed stale_scan 1 1" ]
	run "$tool" jobs "$id"
	[[ "$output" == "$id 1 failed -1 $pid:"* ]]
	grep -q '"event":"rescue.scan"' "$BATS_TEST_TMPDIR/worker-0.log"
}

@test "kill -9 of a worker: the next worker re-queues its claim and runs it" {
	hang=$(runner hang.sh 'echo up >"'"$BATS_TEST_TMPDIR"'/started"
exec sleep 300')
	done_prog=$(runner complete.sh 'exec "$tool" complete "$1"')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$hang"
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	status_is "$id" claimed
	first=${workers[0]}
	# the machine dies: the worker and its runner with it
	kill -9 "$first" "$(tail -1 "$BATS_TEST_TMPDIR/runner.pids")"
	start_worker VEGA_RUNNER_PROGRAM="$done_prog"
	wait_for 30 status_is "$id" completed
	run "$tool" show "$id"
	[ "$output" = "completed - 1 2" ]
	second_done() { [[ "$("$tool" jobs "$id")" == *"$id 2 exited 0 "* ]]; }
	wait_for 10 second_done
	run "$tool" jobs "$id"
	[[ "${lines[0]}" == "$id 1 lost -1 "* ]]
	[[ "${lines[1]}" == "$id 2 exited 0 "* ]]
	# the dead worker never said it stopped; the new one is alive
	registry | grep -q "^busy $first\$"
}

@test "SIGTERM of a busy worker: a clean stop at once, and its runner finishes the scan" {
	prog=$(runner slow.sh 'echo up >"'"$BATS_TEST_TMPDIR"'/started"; sleep 2
exec "$tool" complete "$1"')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog"
	pid=${workers[0]}
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	kill -TERM "$pid"
	t0=$(date +%s%N)
	wait "$pid"
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 1500 ]
	registry | grep -q "^stopped $pid\$"
	grep -q '"event":"worker.runner_left"' "$BATS_TEST_TMPDIR/worker-0.log"
	wait_for 20 status_is "$id" completed
}

@test "cancel: the worker stops its runner with SIGTERM and the scan is cancelled within 5 s" {
	prog=$(runner hang.sh '"$tool" start "$1" && echo up >"'"$BATS_TEST_TMPDIR"'/started"
exec sleep 300')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog"
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	"$tool" cancel "$id"
	wait_for 5 status_is "$id" cancelled
	run "$tool" jobs "$id"
	[[ "$output" == "$id 1 failed -1 "* ]]
	grep -q '"event":"worker.runner_stop".*"signal":"SIGTERM"' "$BATS_TEST_TMPDIR/worker-0.log"
	! grep -q '"event":"worker.runner_kill"' "$BATS_TEST_TMPDIR/worker-0.log"
}

@test "cancel: a runner that ignores SIGTERM is killed after the grace" {
	prog=$(runner stubborn.sh 'trap "" TERM
"$tool" start "$1" && echo up >"'"$BATS_TEST_TMPDIR"'/started"
exec sleep 300')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog"
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	"$tool" cancel "$id"
	sleep 3
	status_is "$id" running
	wait_for 10 status_is "$id" cancelled
	grep -q '"event":"worker.runner_kill"' "$BATS_TEST_TMPDIR/worker-0.log"
	run "$tool" jobs "$id"
	[[ "$output" == *"failed -1 "* ]]
}

@test "a runner's exit code is recorded in its job" {
	prog=$(runner three.sh 'exit 3')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog"
	job_ended() { [[ "$("$tool" jobs "$id")" == "$id 1 exited 3 "* ]]; }
	wait_for 20 job_ended
}

@test "a runner that cannot be started: the job says why and the scan is re-queued" {
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM=/nonexistent/vega-runner VEGA_SCAN_MAX_ATTEMPTS=2
	gave_up() { status_is "$id" failed; }
	wait_for 40 gave_up
	run "$tool" jobs "$id"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "$id 1 failed -1 -" ]]
	grep -q '"event":"worker.launch_failed".*/nonexistent/vega-runner' "$BATS_TEST_TMPDIR/worker-0.log"
}

@test "a worker in thread mode claims nothing" {
	id=$("$tool" seed 1)
	VEGA_SCAN_EXECUTION_MODE=thread run "$VEGA_BUILDDIR/bin/vega-worker" --once
	[ "$status" -eq 0 ]
	status_is "$id" queued
}

@test "the wall-clock limit: a runner past VEGA_RUNNER_MAX_SECONDS is stopped and its scan failed" {
	prog=$(runner hang.sh '"$tool" start "$1" && echo up >"'"$BATS_TEST_TMPDIR"'/started"
exec sleep 300')
	id=$("$tool" seed 1)
	start_worker VEGA_RUNNER_PROGRAM="$prog" VEGA_RUNNER_MAX_SECONDS=10
	wait_for 20 file_has "$BATS_TEST_TMPDIR/started"
	sleep 5
	status_is "$id" running
	wait_for 15 status_is "$id" failed
	run "$tool" show "$id"
	[ "$output" = "failed runner_timeout 1 1" ]
	grep -q '"event":"worker.runner_stop".*"reason":"timeout"' "$BATS_TEST_TMPDIR/worker-0.log"
}

@test "Postgres restarted mid-scan: the real runner rides it out, every event once, every finding kept" {
	[ "$VEGA_PERSISTENCE_BACKEND" = postgres ] ||
		skip "it restarts the test's Postgres cluster: postgres configuration only"
	. "$VEGA_SRCDIR/tests/helpers/pg.sh"
	local n=400 i key src=$BATS_TEST_TMPDIR/src ev up_at
	id=$("$tool" seed 1)
	# A snapshot of n vulnerable files under the scan's storage key: one
	# finding, one upsert and one event per file make a scan of a few
	# seconds, each step a store write.
	mkdir -p "$src/app"
	for i in $(seq 1 "$n"); do
		printf 'import sqlite3\nfrom flask import request\n\ndef view%d():\n    q = "SELECT * FROM u WHERE n = '"'"'{}'"'"'".format(request.form.get("n"))\n    sqlite3.connect("d").execute(q)\n' \
			"$i" >"$src/app/m$i.py"
	done
	key=$(q -c "SELECT n.storage_key FROM scans s JOIN snapshots n ON n.id = s.snapshot_id WHERE s.id = '$id'")
	mkdir -p "$(dirname "$VEGA_DATA_DIR/blobs/sources/$key")"
	tar -C "$src" -cf "$VEGA_DATA_DIR/blobs/sources/$key" app
	prog=$(runner real.sh 'exec "'"$VEGA_BUILDDIR"'/bin/vega-runner" "$1"')
	start_worker VEGA_RUNNER_PROGRAM="$prog" VEGA_RULES_DIR="$VEGA_SRCDIR/lib/engine/rules" \
		VEGA_RUNNER_HEARTBEAT_SECONDS=1
	# Mid-scan: running, some findings stored, most still to come.
	wait_for 30 findings_at_least "$id" 20
	run "$tool" show "$id"
	[[ "$output" == "running - "* ]]
	[ "$(echo "$output" | cut -d' ' -f3)" -lt $((n / 2)) ]
	vg_pg_restart 2
	up_at=$(date +%s.%N)
	# Never stuck: the scan ends, and ends completed.
	wait_for 30 finished "$id"
	run "$tool" show "$id"
	[ "$output" = "completed - $n 1" ]
	# The outage hit the run: the runner found the store gone, waited, and
	# wrote again once it was back.
	grep -q '"event":"runner_store_unavailable"' "$BATS_TEST_TMPDIR/worker-0.log"
	grep -q '"event":"runner_store_back"' "$BATS_TEST_TMPDIR/worker-0.log"
	[ "$(q -c "SELECT count(*) FROM scan_events WHERE scan_id = '$id' AND created_at > to_timestamp($up_at)")" -gt 0 ]
	# Events: numbered 1..N without a gap, none stored twice (a retried
	# append has the same type and time), one scan_started, one
	# finding_updated per finding, scan_completed last.
	ev=$(q -c "SELECT count(*), min(seq), max(seq), count(DISTINCT seq), count(DISTINCT (type, created_at)) FROM scan_events WHERE scan_id = '$id'")
	read -r total lo hi distinct once <<<"$ev"
	[ "$lo" = 1 ] && [ "$hi" = "$total" ] && [ "$distinct" = "$total" ] && [ "$once" = "$total" ] ||
		{ echo "events: $ev"; false; }
	[ "$(q -c "SELECT last_event_seq FROM scans WHERE id = '$id'")" = "$total" ]
	[ "$(q -c "SELECT count(*) FROM scan_events WHERE scan_id = '$id' AND type = 'scan_started'")" = 1 ]
	[ "$(q -c "SELECT count(*) FROM scan_events WHERE scan_id = '$id' AND type = 'finding_updated'")" = "$n" ]
	[ "$(q -c "SELECT type FROM scan_events WHERE scan_id = '$id' ORDER BY seq DESC LIMIT 1")" = scan_completed ]
	# Findings: one per file, each once.
	[ "$(q -c "SELECT count(*), count(DISTINCT fingerprint) FROM findings WHERE scan_id = '$id'")" = "$n $n" ]
	# The artifacts hold every event, and the runner exited 0.
	[ "$(wc -l <"$VEGA_DATA_DIR/blobs/artifacts/scans/$id/events.jsonl")" -eq "$total" ]
	job_done() { [[ "$("$tool" jobs "$id")" == "$id 1 exited 0 "* ]]; }
	wait_for 10 job_done
	rm -f "$VEGA_DATA_DIR/blobs/sources/$key"
}
