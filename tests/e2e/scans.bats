#!/usr/bin/env bats
# Scans through the web server (issues: scans API, dispatch, live events,
# findings and triage, cancellation): the sample application is uploaded,
# scanned by the vega-runner of the build tree (thread dispatch: the API
# starts it detached), followed live, and its findings, SARIF report and
# artifacts read back; triage follows a fingerprint into the next scan;
# the event stream reaches the client through the web server within a
# second of each event being stored (an unbuffered location), resumes
# with Last-Event-ID and ends with the scan.
#
# Run by scans-nginx-json.e2e, scans-nginx-postgres.e2e and
# scans-apache-json.e2e.

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
	wait_finished "$SC_SCAN" || { echo "scan $SC_SCAN did not finish: $body" >&2; return 1; }
}

setup() {
	web_setup
	login "$SC_EMAIL" "$SC_PASSWORD"
	assert_code 200
	TOKEN=$(tok)
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
	printf '%s' "$body" | python3 -c '
import json,sys
items=json.load(sys.stdin)["items"]
fps=[f["fingerprint"] for f in items]
assert len(fps)==len(set(fps)), "one row per fingerprint"
assert all(f["baseline_state"]=="unchanged" for f in items), items'
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
