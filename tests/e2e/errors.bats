#!/usr/bin/env bats
# Errors a client meets through the web server: unknown routes, wrong
# methods, paths outside the API.  All of them use the error envelope.

load web

setup() {
	web_setup
}

@test "an unknown /v1 route answers 404 not_found in the envelope" {
	req GET "$U/v1/no-such-thing"
	assert_code 404
	assert_envelope not_found
	[ "$(jget error.retryable)" = false ]
	[ -n "$(hdr X-Request-Id)" ]
}

@test "an unknown id under a known family answers 404 not_found" {
	req GET "$U/v1/scans/00000000-0000-4000-8000-000000000000/no-such-sub"
	assert_code 404
	assert_envelope not_found
}

@test "a path outside /v1 answers 404 not_found from the web server" {
	local p
	for p in / /index.html /v2/healthz /.vega-errors/404.json /v1; do
		req GET "$U$p"
		assert_code 404
		assert_envelope not_found
		[ -n "$(hdr X-Request-Id)" ]
	done
}

@test "a wrong method answers 405 method_not_allowed with Allow" {
	req POST "$U/v1/healthz" -H 'Content-Type: application/json' -d '{}'
	assert_code 405
	assert_envelope method_not_allowed
	[ "$(hdr Allow)" = "GET, HEAD" ]
	req DELETE "$U/v1/readyz"
	assert_code 405
	assert_envelope method_not_allowed
	case $(hdr Allow) in *GET*) ;; *) false ;; esac
}

@test "an unknown method answers 405 or 501, never 2xx" {
	req FROB "$U/v1/healthz"
	case $code in 405 | 501) ;; *) echo "status $code"; false ;; esac
	assert_alive
}

@test "an error response carries exactly one X-Request-Id" {
	req GET "$U/v1/no-such-thing" -H 'X-Request-Id: one-id-only'
	[ "$(hdr_count X-Request-Id)" = 1 ]
	[ "$(hdr X-Request-Id)" = one-id-only ]
	req GET "$U/nothing-here" -H 'X-Request-Id: one-id-too'
	[ "$(hdr_count X-Request-Id)" = 1 ]
	[ "$(hdr X-Request-Id)" = one-id-too ]
}
