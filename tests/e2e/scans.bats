#!/usr/bin/env bats
# Scans through the web server (issues: scans API, dispatch, live events,
# findings and triage, cancellation): the sample application is uploaded,
# scanned by the vega-runner of the build tree (thread dispatch: the API
# starts it detached), followed live, and its findings, SARIF report and
# artifacts read back; triage follows a fingerprint into the next scan;
# the event stream reaches the client through the web server within a
# second of each event being stored (an unbuffered location), resumes
# with Last-Event-ID and ends with the scan.  The operators' routes
# (/v1/ops/*) are refused to users and answer operators.  The last tests
# restart the stack with VEGA_SCAN_EXECUTION_MODE=external (and a short
# worker heartbeat TTL): a scan then waits queued until a vega-worker
# started here claims it, and the stale flag of a silent worker shows;
# teardown_file restarts the stack as the configuration gave it.
#
# Run by scans-nginx-json.e2e, scans-nginx-postgres.e2e,
# scans-apache-json.e2e and scans-apache-fcgid-json.e2e.

load web
load ../fixtures/auth/lib

SSE=$VEGA_SRCDIR/tests/e2e/sse-watch.py
FINISHED="completed failed cancelled"

setup_file() {
	web_setup
	T=$BATS_FILE_TMPDIR
	# The sample application as a tar.gz (12 planted rule findings).
	tar -C "$VEGA_SRCDIR/tests/fixtures" -czf "$T/sample.tar.gz" sample-app
	new_user scanner
	export SC_EMAIL=$email SC_PASSWORD=$password
	login "$email" "$password"
	TOKEN=$(tok)
	api POST /v1/projects -d '{"name":"scans"}'
	[ "$code" = 201 ] || { echo "project: $code $body" >&2; return 1; }
	export SC_PROJECT=$(jget id)
	api POST "/v1/projects/$SC_PROJECT/repositories" -d '{"name":"notes","source_type":"upload"}'
	export SC_REPO=$(jget id)
	upload "$SC_REPO" "$T/sample.tar.gz"
	[ "$code" = 201 ] || { echo "upload: $code $body" >&2; return 1; }
	export SC_SNAPSHOT=$(jget id)
	# One scan run to its end, shared by the read-only tests.
	api POST "/v1/repositories/$SC_REPO/scans" -d '{}'
	[ "$code" = 202 ] || { echo "scan: $code $body" >&2; return 1; }
	export SC_SCAN=$(jget id)
	local sc_token=$TOKEN
	# Another user's scan of their own project, for the operators' list
	# of every user's scans; it runs beside the first.
	new_user other
	login "$email" "$password"
	TOKEN=$(tok)
	api POST /v1/projects -d '{"name":"other"}'
	[ "$code" = 201 ] || { echo "other project: $code $body" >&2; return 1; }
	api POST "/v1/projects/$(jget id)/repositories" -d '{"name":"other","source_type":"upload"}'
	local other_repo=$(jget id)
	upload "$other_repo" "$T/sample.tar.gz"
	[ "$code" = 201 ] || { echo "other upload: $code $body" >&2; return 1; }
	api POST "/v1/repositories/$other_repo/scans" -d '{}'
	[ "$code" = 202 ] || { echo "other scan: $code $body" >&2; return 1; }
	export SC_OTHER_SCAN=$(jget id)
	wait_finished "$SC_OTHER_SCAN" || { echo "scan $SC_OTHER_SCAN did not finish: $body" >&2; return 1; }
	TOKEN=$sc_token
	wait_finished "$SC_SCAN" || { echo "scan $SC_SCAN did not finish: $body" >&2; return 1; }
	# An operator, for /v1/ops/*.
	new_user operator operator
	export OP_EMAIL=$email OP_PASSWORD=$password
}

# The external phase restarted the stack: start it again as the
# configuration gave it, for whatever runs after this file.
teardown_file() {
	if [ -f "$BATS_FILE_TMPDIR/stack-external" ]; then
		rm -f "$BATS_FILE_TMPDIR/stack-external"
		stack_restart
	fi
}

setup() {
	web_setup
	login "$SC_EMAIL" "$SC_PASSWORD"
	assert_code 200
	TOKEN=$(tok)
}

# The workers a test started in the background (workers.pids) do not
# outlive it.
teardown() {
	local p
	[ -f "$BATS_TEST_TMPDIR/workers.pids" ] || return 0
	while read -r p; do kill -9 "$p" 2>/dev/null; done <"$BATS_TEST_TMPDIR/workers.pids"
	true
}

# ---- helpers ----------------------------------------------------------

api() {
	local method=$1 path=$2
	shift 2
	req "$method" "$U$path" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' "$@"
}

upload() {
	code=$(curl -sS -o "$T/body" -w '%{http_code}' --max-time 60 -X POST \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "$U/v1/repositories/$1/snapshots") || code=000
	body=$(cat "$T/body")
}

# wait_finished SCAN: long-poll its events until the scan has finished
# (at most 120 s); $body is then the scan.
wait_finished() {
	local id=$1 after=0 i
	for i in $(seq 1 60); do
		req GET "$U/v1/scans/$id/events?after=$after&wait=2&limit=1000" \
			-H "Authorization: Bearer $TOKEN"
		[ "$code" = 200 ] || return 1
		after=$(jget next_after)
		if [ "$(jget finished)" = true ]; then
			api GET "/v1/scans/$id"
			return 0
		fi
	done
	api GET "/v1/scans/$id"
	return 1
}

# login_as NAME: a new account; sets TOKEN and ME.
login_as() {
	new_user "$1" || return 1
	login "$email" "$password"
	TOKEN=$(tok)
	api GET /v1/auth/me
	ME=$(jget id)
}

# op_login: OP_TOKEN and OP_ID of the operator setup_file made.
op_login() {
	login "$OP_EMAIL" "$OP_PASSWORD"
	assert_code 200
	OP_TOKEN=$(tok)
	breq GET /v1/auth/me "$OP_TOKEN"
	OP_ID=$(jget id)
}

# op METHOD PATH [curl args...]: a request as the operator.
op() {
	local method=$1 path=$2
	shift 2
	breq "$method" "$path" "$OP_TOKEN" "$@"
}

# as_stack [NAME=VALUE...] PROGRAM ARGS...: PROGRAM as the user the
# stack's programs run as (stack.sh), with the VEGA_* settings of the
# configuration plus NAME=VALUE.  It replaces the shell it runs in (so
# that a background one's $! is the program's pid): call it in the
# background, through `run`, or in ( ).
as_stack() {
	local user kv envv=()
	user=$(auth_stack_user)
	while IFS= read -r -d '' kv; do
		case ${kv%%=*} in
		VEGA_TEST_*) ;;
		VEGA_* | ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS) envv+=("$kv") ;;
		esac
	done < <(env -0)
	while [[ $1 == *=* ]]; do
		envv+=("$1")
		shift
	done
	if [ -n "$user" ]; then
		exec setpriv --reuid="$user" --regid="$user" --clear-groups \
			env -i PATH=/usr/bin:/bin "${envv[@]}" "$@"
	fi
	exec env -i PATH=/usr/bin:/bin "${envv[@]}" "$@"
}

# stack_restart [NAME=VALUE...]: stop the stack and start it again (same
# web server, free ports) with these settings added to the
# configuration's; U and P follow.  The new daemons must hold none of
# bats' descriptors (stack.sh closes fd 3, but teardown_file also has
# bats' internal pipes open): bats would wait for them to close, and
# run-e2e, which stops the stack, for bats.
stack_restart() {
	vg_stack_stop || return 1
	(
		for fd in $(ls /proc/$BASHPID/fd); do
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		for kv in "$@"; do export "${kv?}"; done
		VG_STACK_PROCESSES=${VG_STACK_PROCESSES:-3} vg_stack_start "$VG_E2E_HTTPD"
	) || return 1
	web_setup
}

# external_stack: the stack in external dispatch (a scan waits queued for
# a worker) with a worker heartbeat TTL of 3 s; restarted once per file.
external_stack() {
	[ -f "$BATS_FILE_TMPDIR/stack-external" ] && return 0
	stack_restart VEGA_SCAN_EXECUTION_MODE=external VEGA_WORKER_HEARTBEAT_TTL_SECONDS=6 ||
		return 1
	touch "$BATS_FILE_TMPDIR/stack-external"
	# tokens do not survive a restart (a new signing key)
	login "$SC_EMAIL" "$SC_PASSWORD"
	TOKEN=$(tok)
}

# leftovers NAME: an old temporary file and an unreferenced source blob,
# past their retention, as a crashed upload leaves them, owned by the
# programs' user.  NAME starts with "leftover-": nothing else may go.
leftovers() {
	(as_stack mkdir -p "$VEGA_DATA_DIR/tmp" "$VEGA_DATA_DIR/blobs/sources/snapshots") &&
		(as_stack touch -d '3 days ago' "$VEGA_DATA_DIR/tmp/$1" \
			"$VEGA_DATA_DIR/blobs/sources/snapshots/$1.tar")
}

# removes_only PATH NAME: the cleanup report at PATH of $body
# (next_run.removed, removed) names NAME's leftovers, and nothing but
# leftovers (the refused test's may still be there).
removes_only() {
	printf '%s' "$body" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
got = {e["kind"] + "/" + e["name"] for e in v}
mine = {"tmp/" + sys.argv[2], "blob/snapshots/" + sys.argv[2] + ".tar"}
assert mine <= got, got
others = {g for g in got - mine if "/leftover-" not in g}
assert not others, others' "$1" "$2" || { echo "$body"; return 1; }
}

# ---- tests ------------------------------------------------------------

@test "a repository that is not ready cannot be scanned: 409 naming its state" {
	api POST "/v1/projects/$SC_PROJECT/repositories" -d '{"name":"empty","source_type":"upload"}'
	assert_code 201
	local repo=$(jget id)
	api POST "/v1/repositories/$repo/scans"
	assert_code 409
	assert_envelope conflict
	[ "$(jget error.details.ingest_status)" = pending ]
}

@test "upload, scan, findings: the runner completes the scan and its findings are listed" {
	api GET "/v1/scans/$SC_SCAN"
	assert_code 200
	[ "$(jget status)" = completed ] || { echo "$body"; false; }
	[ "$(jget snapshot_id)" = "$SC_SNAPSHOT" ]
	[ "$(jget attempt)" = 1 ]
	[ -n "$(jget started_at)" ] && [ -n "$(jget finished_at)" ]
	[ "$(jget error)" = null ]
	local n=$(jget findings_count)
	[ "$n" -ge 5 ] || { echo "findings_count $n"; false; }
	# the counts by severity add up to the total
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(sum(c.values()))')" = "$n" ]
	api GET "/v1/scans/$SC_SCAN/findings?limit=500"
	assert_code 200
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = "$n" ]
	[ -n "$(jget items.0.fingerprint)" ] && [ -n "$(jget items.0.file_path)" ]
	[ "$(jget items.0.baseline_state)" = new ]
	[ "$(jget items.0.status)" = open ]
	# most severe first
	case $(jget items.0.severity) in critical | high) ;; *) echo "$body"; false ;; esac
}

@test "findings filters: severity, path_prefix, cwe; a bad filter is 400 naming it" {
	api GET "/v1/scans/$SC_SCAN/findings?severity=high&limit=500"
	assert_code 200
	printf '%s' "$body" | python3 -c 'import json,sys; assert all(f["severity"]=="high" for f in json.load(sys.stdin)["items"])'
	local dir=$(dirname "$(jget items.0.file_path)")/
	api GET "/v1/scans/$SC_SCAN/findings?path_prefix=$dir&limit=500"
	assert_code 200
	printf '%s' "$body" | python3 -c '
import json,sys
items=json.load(sys.stdin)["items"]
assert items and all(f["file_path"].startswith(sys.argv[1]) for f in items), items' "$dir"
	api GET "/v1/scans/$SC_SCAN/findings?severity=urgent"
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = severity ]
}

@test "SARIF report and artifacts are served as the runner stored them" {
	req GET "$U/v1/scans/$SC_SCAN/report.sarif" -H "Authorization: Bearer $TOKEN"
	assert_code 200
	case $(hdr Content-Type) in application/sarif+json*) ;; *) echo "$hdrs"; false ;; esac
	[ "$(jget version)" = 2.1.0 ]
	api GET "/v1/scans/$SC_SCAN/artifacts"
	assert_code 200
	[[ "$body" == *'"report.sarif"'* ]] && [[ "$body" == *'"events.jsonl"'* ]]
	api GET "/v1/scans/$SC_SCAN"
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["artifacts"]["report.sarif"])')" = "/v1/scans/$SC_SCAN/artifacts/report.sarif" ]
	req GET "$U/v1/scans/$SC_SCAN/artifacts/events.jsonl" -H "Authorization: Bearer $TOKEN"
	assert_code 200
	# one event a line, the last one the scan's end
	[ "$(printf '%s\n' "$body" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["type"])')" = scan_completed ]
	api GET "/v1/scans/$SC_SCAN/artifacts/nothing.bin"
	assert_code 404
	assert_envelope not_found
}

@test "events: pages in order, long-poll returns at once for a finished scan" {
	api GET "/v1/scans/$SC_SCAN/events?after=0&limit=2"
	assert_code 200
	[ "$(jget items.0.seq)" = 1 ] && [ "$(jget items.1.seq)" = 2 ]
	[ "$(jget items.0.type)" = scan_started ]
	[ "$(jget next_after)" = 2 ]
	local start=$(date +%s%N)
	api GET "/v1/scans/$SC_SCAN/events?after=100000&wait=10"
	assert_code 200
	[ "$(jget finished)" = true ]
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]
	api GET "/v1/scans/$SC_SCAN/events?wait=31"
	assert_code 400
	[ "$(jget error.details.field)" = wait ]
}

@test "event stream of a finished scan: every event, then the end; Last-Event-ID resumes; 204 when nothing is left" {
	run python3 "$SSE" "$U/v1/scans/$SC_SCAN/events" "$TOKEN" --timeout 20
	[ "$status" -eq 0 ]
	body=$output
	[ "$(jget status)" = 200 ]
	case $(jget headers.content-type) in text/event-stream*) ;; *) echo "$output"; false ;; esac
	[ "$(jget ended)" = true ]
	[ "$(jget events.0.id)" = 1 ] && [ "$(jget events.0.type)" = scan_started ]
	local n=$(printf '%s' "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
	local last=$(printf '%s' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"][-1]["type"])')
	[ "$last" = scan_completed ]
	run python3 "$SSE" "$U/v1/scans/$SC_SCAN/events" "$TOKEN" --last-event-id 2 --timeout 20
	body=$output
	[ "$(jget events.0.id)" = 3 ]
	[ "$(printf '%s' "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')" = $((n - 2)) ]
	run python3 "$SSE" "$U/v1/scans/$SC_SCAN/events" "$TOKEN" --last-event-id "$n" --timeout 20
	body=$output
	[ "$(jget status)" = 204 ]
}

@test "live events reach the client through the web server within a second" {
	# The repository's stream from its current end, then a new scan: each
	# of its events must arrive within a second of being stored, long
	# before the stream's 30 s bound (a buffering web server holds them
	# until then).
	api GET "/v1/repositories/$SC_REPO/events?limit=999"
	local pos=$(jget next_cursor)
	while [ "$(jget items)" != "[]" ]; do
		api GET "/v1/repositories/$SC_REPO/events?limit=999&cursor=$pos"
		pos=$(jget next_cursor)
	done
	run python3 "$SSE" "$U/v1/repositories/$SC_REPO/events" "$TOKEN" --last-event-id "$pos" \
		--trigger "$U/v1/repositories/$SC_REPO/scans" '{}' --until scan_completed --timeout 28
	[ "$status" -eq 0 ]
	body=$output
	echo "$output"
	[ "$(jget status)" = 200 ]
	[ "$(jget headers.x-accel-buffering)" = no ] || [ "$(jget headers.x-accel-buffering)" = "" ]
	[ "$(jget trigger.status)" = 202 ]
	printf '%s' "$output" | python3 -c '
import json,sys
o=json.load(sys.stdin)
ev=o["events"]
scan=o["trigger"]["body"]["id"]
mine=[e for e in ev if e["scan_id"]==scan]
assert mine and mine[-1]["type"]=="scan_completed", ev
late=[e for e in mine if e["lag"] is None or e["lag"] > 1.0]
assert not late, late'
}

# Each FastCGI process keeps its own answers, and nginx hands requests to
# whichever is free: asking six times reaches every process of the stack.
@test "findings lists: a kept answer is served only while nothing changed; ETag and If-None-Match give 304" {
	local url="/v1/repositories/$SC_REPO/findings?limit=500" i etag fid was now n last
	for i in 1 2 3 4 5 6; do
		api GET "$url"
		assert_code 200
	done
	etag=$(hdr ETag)
	# The last finding: the next test triages the first one and reads its
	# history from the start.
	n=$(jget items | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" -ge 2 ]
	last=$((n - 1))
	fid=$(jget items.$last.id) was=$(jget items.$last.status)
	[[ $etag == W/\"*\" ]] || { echo "ETag: $etag"; false; }
	[ "$(hdr Cache-Control)" = "private, no-cache" ]
	for i in 1 2 3 4 5 6; do
		api GET "$url" -H "If-None-Match: \"other\", $etag"
		assert_code 304
		[ -z "$body" ] && [ "$(hdr ETag)" = "$etag" ]
	done
	now=confirmed
	[ "$was" != confirmed ] || now=open
	api PATCH "/v1/findings/$fid" -d "{\"status\":\"$now\"}"
	assert_code 200
	for i in 1 2 3 4 5 6; do
		api GET "$url" -H "If-None-Match: $etag"
		assert_code 200
		[ "$(jget items.$last.id)" = "$fid" ] && [ "$(jget items.$last.status)" = "$now" ] ||
			{ echo "request $i (ETag $(hdr ETag), was $etag): $body"; false; }
		[ "$(hdr ETag)" != "$etag" ]
	done
	api PATCH "/v1/findings/$fid" -d "{\"status\":\"$was\"}"
	assert_code 200
	api GET "$url"
	[ "$(jget items.$last.status)" = "$was" ]
	# The next test scans again: its repository list (this same URL) must
	# then show the new baseline, not an answer kept from before.
}

@test "triage: a member dismisses, the history keeps it, and it follows the fingerprint into the next scan" {
	api GET "/v1/scans/$SC_SCAN/findings?limit=1"
	local fid=$(jget items.0.id) fp=$(jget items.0.fingerprint)
	api PATCH "/v1/findings/$fid" -d '{"status":"dismissed","reason":"accepted risk","comment":"internal tool"}'
	assert_code 200
	[ "$(jget status)" = dismissed ]
	[ "$(jget history.0.reason)" = "accepted risk" ]
	[ "$(jget history.0.status)" = dismissed ]
	api PATCH "/v1/findings/$fid" -d '{"status":"wontfix"}'
	assert_code 400
	[ "$(jget error.details.field)" = status ]
	api POST "/v1/repositories/$SC_REPO/scans" -d "{\"snapshot_id\":\"$SC_SNAPSHOT\"}"
	assert_code 202
	local next=$(jget id)
	wait_finished "$next"
	[ "$(jget status)" = completed ]
	api GET "/v1/scans/$next/findings?status=dismissed&limit=500"
	assert_code 200
	[ "$(jget items.0.fingerprint)" = "$fp" ] || { echo "$body"; false; }
	[ "$(jget items.0.baseline_state)" = unchanged ]
	api GET "/v1/repositories/$SC_REPO/findings?limit=500"
	assert_code 200
	printf '%s' "$body" | NEXT=$next python3 -c '
import json,os,sys
items=json.load(sys.stdin)["items"]
fps=[f["fingerprint"] for f in items]
assert len(fps)==len(set(fps)), "one row per fingerprint"
assert all(f["baseline_state"]=="unchanged" for f in items), items
assert all(f["last_scan_id"]==os.environ["NEXT"] for f in items), "the new scan is the last seen"'
}

@test "roles: a viewer reads but cannot triage or cancel (403), a stranger sees nothing (404)" {
	local owner_token=$TOKEN fid
	api GET "/v1/scans/$SC_SCAN/findings?limit=1"
	fid=$(jget items.0.id)
	login_as viewer
	local viewer_token=$TOKEN viewer_id=$ME
	TOKEN=$owner_token
	api PUT "/v1/projects/$SC_PROJECT/members/$viewer_id" -d '{"role":"viewer"}'
	assert_code 201
	TOKEN=$viewer_token
	api GET "/v1/scans/$SC_SCAN"
	assert_code 200
	api PATCH "/v1/findings/$fid" -d '{"status":"confirmed"}'
	assert_code 403
	assert_envelope forbidden
	api POST "/v1/scans/$SC_SCAN/cancel"
	assert_code 403
	login_as stranger
	api GET "/v1/scans/$SC_SCAN"
	assert_code 404
	api GET "/v1/findings/$fid"
	assert_code 404
	api GET "/v1/scans/$SC_SCAN/events"
	assert_code 404
	api GET /v1/scans
	assert_code 200
	[ "$(jget items)" = "[]" ]
}

# The repository reads whose access check also confirms the caller's
# account and session in the same store read (VG_AUTH_USER_SCOPED): on
# every one of them a logged-out session, a disabled user and a token
# with a wrong signature are 401, also for a repository that does not
# exist; a stranger gets 404, a member and an API key 200.
scoped_reads() {
	local r=$1
	echo "/v1/repositories/$r /v1/repositories/$r/snapshots" \
		"/v1/repositories/$r/threat-profiles /v1/repositories/$r/scans" \
		"/v1/repositories/$r/findings?limit=1 /v1/repositories/$r/events?limit=1"
}

@test "repository reads confirm the caller with the access check: logged out, disabled, forged are 401 before any 404" {
	local owner_token=$TOKEN nobody=00000000-0000-4000-8000-0000000000aa p t key
	# a second session of the owner, then logged out
	login "$SC_EMAIL" "$SC_PASSWORD"
	assert_code 200
	t=$(tok)
	for p in $(scoped_reads "$SC_REPO"); do
		TOKEN=$t api GET "$p"
		assert_code 200
	done
	TOKEN=$t api POST /v1/auth/logout
	assert_code 204
	for p in $(scoped_reads "$SC_REPO") $(scoped_reads "$nobody"); do
		TOKEN=$t api GET "$p"
		assert_401
	done
	# the owner's other session is untouched; an unknown repository is 404
	for p in $(scoped_reads "$nobody"); do
		TOKEN=$owner_token api GET "$p"
		assert_code 404
		assert_envelope not_found
	done
	# a token whose signature is not ours (its first character changed)
	local sig=${owner_token##*.} c=A forged
	[ "${sig:0:1}" = A ] && c=B
	forged="${owner_token%.*}.$c${sig:1}"
	for p in $(scoped_reads "$SC_REPO"); do
		TOKEN=$forged api GET "$p"
		assert_401
	done
	# a member, then disabled, then enabled again
	login_as scoped-viewer
	local viewer_token=$TOKEN viewer_email=$email viewer_password=$password
	TOKEN=$owner_token api PUT "/v1/projects/$SC_PROJECT/members/$ME" -d '{"role":"viewer"}'
	assert_code 201
	for p in $(scoped_reads "$SC_REPO"); do
		TOKEN=$viewer_token api GET "$p"
		assert_code 200
	done
	maint disable-user "$viewer_email" >/dev/null
	for p in $(scoped_reads "$SC_REPO") $(scoped_reads "$nobody"); do
		TOKEN=$viewer_token api GET "$p"
		assert_401
	done
	# disabling ended the viewer's sessions: enabled again, the old token
	# stays refused and a new log-in reads
	maint enable-user "$viewer_email" >/dev/null
	TOKEN=$viewer_token api GET "/v1/repositories/$SC_REPO/findings?limit=1"
	assert_401
	login "$viewer_email" "$viewer_password"
	assert_code 200
	TOKEN=$(tok) api GET "/v1/repositories/$SC_REPO/findings?limit=1"
	assert_code 200
	# a stranger sees nothing; an API key of the owner reads
	login_as scoped-stranger
	for p in $(scoped_reads "$SC_REPO"); do
		api GET "$p"
		assert_code 404
	done
	TOKEN=$owner_token api POST /v1/api-keys -d '{"name":"scoped"}'
	assert_code 201
	key=$(jget key)
	for p in $(scoped_reads "$SC_REPO"); do
		TOKEN=$key api GET "$p"
		assert_code 200
	done
}

@test "cancel: idempotent on a finished scan (200, unchanged)" {
	api POST "/v1/scans/$SC_SCAN/cancel"
	assert_code 200
	[ "$(jget status)" = completed ]
	[ "$(jget cancel_requested_at)" = "" ] || [ "$(jget cancel_requested_at)" = null ]
	api POST "/v1/scans/$SC_SCAN/cancel"
	assert_code 200
	[ "$(jget status)" = completed ]
}

@test "lists: my scans by status, a repository's scans, paging" {
	api GET "/v1/scans?status=completed"
	assert_code 200
	[[ "$body" == *"$SC_SCAN"* ]]
	api GET "/v1/scans?status=bogus"
	assert_code 400
	api GET "/v1/repositories/$SC_REPO/scans?limit=1"
	assert_code 200
	local c=$(jget next_cursor)
	[ -n "$c" ] && [ "$c" != null ]
	api GET "/v1/repositories/$SC_REPO/scans?limit=1&cursor=$c"
	assert_code 200
	[ -n "$(jget items.0.id)" ]
}

# ---- the operators' routes (/v1/ops/*) ----------------------------------

# refused STATUS CODE: the answer is STATUS with the error envelope of
# CODE (assert_envelope's checks in one python run; a 401 also names the
# Bearer scheme).
refused() {
	assert_code "$1" || return 1
	printf '%s' "$body" | python3 -c '
import json, sys
b = json.load(sys.stdin)
e = b["error"]
assert b["schema_version"] == 1 and e["code"] == sys.argv[1] and e["message"], b
assert isinstance(e["retryable"], bool) and isinstance(e["details"], dict), b' "$2" ||
		{ echo "not the envelope of $2: $body"; return 1; }
	case $(hdr Content-Type) in application/json*) ;; *) echo "$hdrs"; return 1 ;; esac
	[ "$1" != 401 ] && return 0
	case $(hdr WWW-Authenticate) in Bearer*) ;; *) echo "no WWW-Authenticate: $hdrs"; return 1 ;; esac
}

@test "ops routes: 401 without a token, 403 forbidden for a user; a refused cleanup removes nothing" {
	local route method path name=leftover-refused-$RANDOM
	leftovers "$name"
	for route in "GET /v1/ops/workers" "GET /v1/ops/limits" "GET /v1/ops/cleanup" \
		"POST /v1/ops/cleanup" "GET /v1/ops/scans?status=completed"; do
		method=${route% *} path=${route#* }
		echo "# $route"
		req "$method" "$U$path"
		refused 401 invalid_token
		api "$method" "$path"
		refused 403 forbidden
	done
	[ -e "$VEGA_DATA_DIR/tmp/$name" ]
	[ -e "$VEGA_DATA_DIR/blobs/sources/snapshots/$name.tar" ]
}

@test "ops limits: an operator reads the limits in force, as the configuration set them" {
	op_login
	op GET /v1/ops/limits
	assert_code 200
	[ "$(jget limits.VEGA_MAX_ACTIVE_SCANS_PER_USER)" = "$VEGA_MAX_ACTIVE_SCANS_PER_USER" ]
	printf '%s' "$body" | python3 -c '
import json, sys
l = json.load(sys.stdin)["limits"]
want = {"VEGA_MAX_PROJECTS_PER_USER", "VEGA_MAX_SOURCE_BYTES", "VEGA_MAX_JSON_BODY_BYTES",
        "VEGA_MAX_ACTIVE_SCANS_PER_USER", "VEGA_RUNNER_MAX_SECONDS"}
assert want <= set(l), l
assert all(type(v) is int for v in l.values()), l'
}

@test "ops cleanup: GET shows what a pass would remove, POST removes it, and GET then shows that run" {
	local name=leftover-$RANDOM
	leftovers "$name"
	op_login
	op GET /v1/ops/cleanup
	assert_code 200
	[ "$(jget next_run.dry_run)" = true ]
	removes_only next_run.removed "$name"
	[ -e "$VEGA_DATA_DIR/tmp/$name" ]
	[ -e "$VEGA_DATA_DIR/blobs/sources/snapshots/$name.tar" ]
	op POST /v1/ops/cleanup
	assert_code 200
	[ "$(jget dry_run)" = false ]
	removes_only removed "$name"
	[ "$(jget failed)" = "[]" ]
	[ ! -e "$VEGA_DATA_DIR/tmp/$name" ]
	[ ! -e "$VEGA_DATA_DIR/blobs/sources/snapshots/$name.tar" ]
	op GET /v1/ops/cleanup
	assert_code 200
	[ "$(jget last_run.actor_id)" = "$OP_ID" ] || { echo "$body"; false; }
	[ -n "$(jget last_run.at)" ]
	[ "$(jget next_run.removed)" = "[]" ]
	# what the scans need was kept
	req GET "$U/v1/scans/$SC_SCAN/report.sarif" -H "Authorization: Bearer $TOKEN"
	assert_code 200
}

@test "ops scans: an operator lists every user's scans by status; a bad status is 400" {
	op_login
	op GET "/v1/ops/scans?status=completed&limit=200"
	assert_code 200
	printf '%s' "$body" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
by_id = {i["id"]: i for i in items}
assert all(i["status"] == "completed" for i in items), items
a, b = by_id.get(sys.argv[1]), by_id.get(sys.argv[2])
assert a and b, (sys.argv[1:], items)
assert a["created_by"] != b["created_by"], (a, b)
assert "claimed_by" in a, a' "$SC_SCAN" "$SC_OTHER_SCAN"
	# the operator's own list holds none of them: this one is every user's
	op GET /v1/scans
	assert_code 200
	[ "$(jget items)" = "[]" ]
	op GET "/v1/ops/scans?status=queued"
	assert_code 200
	[[ "$body" != *"$SC_SCAN"* && "$body" != *"$SC_OTHER_SCAN"* ]]
	op GET "/v1/ops/scans?status=completed&limit=1"
	assert_code 200
	local first=$(jget items.0.id) c=$(jget next_cursor)
	[ -n "$c" ] && [ "$c" != null ]
	op GET "/v1/ops/scans?status=completed&limit=1&cursor=$c"
	assert_code 200
	[ -n "$(jget items.0.id)" ] && [ "$(jget items.0.id)" != "$first" ]
	op GET "/v1/ops/scans?status=bogus"
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = status ]
}

# ---- external dispatch: the stack is restarted (external_stack) --------

# worker_row PID: the registry row of the worker with that pid, as JSON
# ("" when there is none), from the last GET /v1/ops/workers.
worker_row() {
	printf '%s' "$body" | python3 -c '
import json, sys
for w in json.load(sys.stdin)["items"]:
    if str(w["pid"]) == sys.argv[1]:
        print(json.dumps(w))' "$1"
}

# wait_worker PID: until /v1/ops/workers lists it (10 s at most).
wait_worker() {
	local i
	for i in $(seq 1 50); do
		op GET /v1/ops/workers
		[ -n "$(worker_row "$1")" ] && return 0
		sleep 0.2
	done
	echo "worker $1 never registered: $body"
	return 1
}

@test "ops workers: a worker silent past the heartbeat TTL is stale; a live one and a stopped one are not" {
	external_stack
	op_login
	local dead live once_id i
	# Workers that claim nothing (thread mode in their own settings).
	as_stack VEGA_SCAN_EXECUTION_MODE=thread VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS=1 \
		"$VEGA_BUILDDIR/bin/vega-worker" </dev/null >"$BATS_TEST_TMPDIR/dead.log" 2>&1 3>&- &
	dead=$!
	echo "$dead" >>"$BATS_TEST_TMPDIR/workers.pids"
	wait_worker "$dead"
	kill -9 "$dead"
	wait "$dead" 2>/dev/null || true
	as_stack VEGA_SCAN_EXECUTION_MODE=thread VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS=1 \
		"$VEGA_BUILDDIR/bin/vega-worker" </dev/null >"$BATS_TEST_TMPDIR/live.log" 2>&1 3>&- &
	live=$!
	echo "$live" >>"$BATS_TEST_TMPDIR/workers.pids"
	(as_stack VEGA_SCAN_EXECUTION_MODE=thread "$VEGA_BUILDDIR/bin/vega-worker" --once \
		</dev/null >"$BATS_TEST_TMPDIR/once.log" 2>&1 3>&-)
	once_id=$(grep -o '"event":"worker.started"[^}]*' "$BATS_TEST_TMPDIR/once.log" |
		grep -o '"worker_id":"[^"]*"' | cut -d'"' -f4)
	[ -n "$once_id" ] || { cat "$BATS_TEST_TMPDIR/once.log"; false; }
	wait_worker "$live"
	# until the silent one is past the TTL (6 s: the live one, beating each
	# second, stays fresh on a loaded machine), and the stopped one too
	for i in $(seq 1 50); do
		op GET /v1/ops/workers
		printf '%s' "$body" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
dead = [x for x in items if str(x["pid"]) == sys.argv[1]][0]
once = [x for x in items if x["id"] == sys.argv[2]][0]
sys.exit(0 if dead["stale"] and once["heartbeat_age_seconds"] > 6 else 1)' "$dead" "$once_id" &&
			break
		sleep 0.2
	done
	echo "$body"
	assert_code 200
	[ "$(jget heartbeat_ttl_seconds)" = 6 ]
	printf '%s' "$body" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
by_pid = {str(x["pid"]): x for x in items}
by_id = {x["id"]: x for x in items}
dead, live, once = by_pid[sys.argv[1]], by_pid[sys.argv[2]], by_id[sys.argv[3]]
assert dead["stale"] is True and dead["state"] != "stopped" and dead["heartbeat_age_seconds"] > 6, dead
assert live["stale"] is False and live["state"] == "idle", live
assert once["stale"] is False and once["state"] == "stopped" and once["heartbeat_age_seconds"] > 6, once
assert all(isinstance(x["stale"], bool) for x in items), items' "$dead" "$live" "$once_id"
	# SIGTERM: a clean stop (status 0) within 10 s
	kill -TERM "$live"
	for i in $(seq 1 50); do
		kill -0 "$live" 2>/dev/null || break
		sleep 0.2
	done
	! kill -0 "$live" 2>/dev/null
	wait "$live"
}

@test "external mode: upload, a scan waits queued, vega-worker --once runs it; findings and SARIF through the web server" {
	external_stack
	op_login
	local repo scan n worker_id
	api POST "/v1/projects/$SC_PROJECT/repositories" -d '{"name":"external","source_type":"upload"}'
	assert_code 201
	repo=$(jget id)
	upload "$repo" "$BATS_FILE_TMPDIR/sample.tar.gz"
	assert_code 201
	api POST "/v1/repositories/$repo/scans" -d '{}'
	assert_code 202
	scan=$(jget id)
	[ "$(jget status)" = queued ]
	# nothing runs it until a worker claims it
	sleep 2
	api GET "/v1/scans/$scan"
	[ "$(jget status)" = queued ] && [ "$(jget attempt)" = 0 ] || { echo "$body"; false; }
	op GET "/v1/ops/scans?status=queued"
	assert_code 200
	printf '%s' "$body" | python3 -c '
import json, sys
s = [i for i in json.load(sys.stdin)["items"] if i["id"] == sys.argv[1]]
assert s and s[0]["claimed_by"] is None, s' "$scan"
	# one worker iteration: claim, run the build tree's runner, watch it end
	run as_stack VEGA_SCAN_EXECUTION_MODE=external "$VEGA_BUILDDIR/bin/vega-worker" --once \
		</dev/null 3>&-
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	[[ "$output" == *'"event":"worker.runner_started"'*"$scan"* ]]
	worker_id=$(printf '%s\n' "$output" | grep '"event":"worker.started"' |
		grep -o '"worker_id":"[^"]*"' | cut -d'"' -f4)
	api GET "/v1/scans/$scan"
	assert_code 200
	[ "$(jget status)" = completed ] || { echo "$body"; false; }
	[ "$(jget attempt)" = 1 ] && [ "$(jget error)" = null ]
	n=$(jget findings_count)
	# the same source as the thread-dispatched scan: the same findings
	api GET "/v1/scans/$SC_SCAN"
	[ "$n" = "$(jget findings_count)" ] && [ "$n" -ge 5 ]
	api GET "/v1/scans/$scan/findings?limit=500"
	assert_code 200
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = "$n" ]
	req GET "$U/v1/scans/$scan/report.sarif" -H "Authorization: Bearer $TOKEN"
	assert_code 200
	case $(hdr Content-Type) in application/sarif+json*) ;; *) echo "$hdrs"; false ;; esac
	[ "$(jget version)" = 2.1.0 ]
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"][0]["results"]))')" = "$n" ]
	api GET "/v1/scans/$scan/events?after=0&limit=1000"
	assert_code 200
	[ "$(jget finished)" = true ]
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][-1]["type"])')" = scan_completed ]
	# the operators see which worker claimed it
	op GET "/v1/ops/scans?status=completed&limit=200"
	printf '%s' "$body" | python3 -c '
import json, sys
s = [i for i in json.load(sys.stdin)["items"] if i["id"] == sys.argv[1]]
assert s and s[0]["claimed_by"] == sys.argv[2], (s, sys.argv[2])' "$scan" "$worker_id"
}
