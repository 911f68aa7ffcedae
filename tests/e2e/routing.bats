#!/usr/bin/env bats
# Each route family reaches its own program.  The program that answered is
# read from its log line (every line names its role and the request id),
# so the test does not depend on what the route answers yet.

load web

setup() {
	web_setup
}

# route URL ROLE: a request to URL is handled by ROLE and by no other.
route() {
	local rid got
	rid=$(new_rid)
	req GET "$1" -H "X-Request-Id: $rid" --max-time 5
	[ "$code" != 000 ] || { echo "no answer for $1"; return 1; }
	got=$(roles_for "$rid")
	[ "$got" = "$2" ] || { echo "$1: answered by '$got', want '$2' (status $code)"; return 1; }
}

@test "/v1/auth/* and /v1/api-keys* go to vega-auth" {
	route "$U/v1/auth/login" auth
	route "$U/v1/auth/refresh" auth
	route "$U/v1/api-keys" auth
	route "$U/v1/api-keys/k1" auth
}

@test "projects, repositories, snapshots and threat profiles go to vega-projects" {
	route "$U/v1/projects" projects
	route "$U/v1/projects/p1" projects
	route "$U/v1/projects/p1/repositories" projects
	route "$U/v1/repositories/r1" projects
	route "$U/v1/repositories/r1/snapshots" projects
	route "$U/v1/snapshots/s1" projects
	route "$U/v1/threat-profiles/t1" projects
}

@test "a repository's scans, findings and events go to vega-scans, not vega-projects" {
	route "$U/v1/repositories/r1/scans" scans
	route "$U/v1/repositories/r1/scans?limit=5" scans
	route "$U/v1/repositories/r1/findings" scans
	route "$U/v1/repositories/r1/findings/f1" scans
	route "$U/v1/repositories/r1/events" scans
}

@test "/v1/scans* and /v1/findings* go to vega-scans" {
	route "$U/v1/scans" scans
	route "$U/v1/scans/s1" scans
	route "$U/v1/scans/s1/events" scans
	route "$U/v1/findings" scans
	route "$U/v1/findings/f1" scans
}

@test "health, ops and unknown /v1 paths go to vega-ops" {
	route "$U/v1/healthz" ops
	route "$U/v1/readyz" ops
	route "$U/v1/ops/workers" ops
	route "$U/v1/no-such-family" ops
}

@test "the proxy listener serves the LLM proxy only" {
	route "$P/v1/models" llm-proxy
	route "$P/v1/responses" llm-proxy
	route "$P/v1/chat/completions" llm-proxy
	route "$P/v1/projects" llm-proxy
}

@test "the API listener does not expose the LLM proxy" {
	local rid
	rid=$(new_rid)
	req POST "$U/v1/chat/completions" -H "X-Request-Id: $rid" -H 'Content-Type: application/json' -d '{}'
	assert_code 404
	assert_envelope not_found
	[ "$(roles_for "$rid")" = ops ]
}
