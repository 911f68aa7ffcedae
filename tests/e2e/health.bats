#!/usr/bin/env bats
# Health and readiness through the web server, as a load balancer or an
# operator sees them.

load web

setup() {
	web_setup
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$VEGA_BUILDDIR/config.h")
}

@test "healthz answers 200 with version, role and backend" {
	req GET "$U/v1/healthz"
	assert_code 200
	[ "$(jget status)" = ok ]
	[ -n "$version" ] && [ "$(jget version)" = "$version" ]
	[ "$(jget role)" = ops ]
	[ "$(jget persistence_backend)" = "$VG_E2E_BACKEND" ]
	case $(hdr Content-Type) in application/json*) ;; *) false ;; esac
	[ "$(hdr Cache-Control)" = no-store ]
}

@test "HEAD healthz answers 200 without a body" {
	printf 'HEAD /v1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 200'
	# nothing after the blank line that ends the headers
	[ -z "$(sed '1,/^\r\{0,1\}$/d' "$T/out")" ]
}

@test "readyz answers 200 with the store and migration checks" {
	req GET "$U/v1/readyz"
	assert_code 200
	[ "$(jget status)" = ready ]
	[ "$(jget checks.store)" = ok ]
	[ "$(jget checks.migrations)" = ok ]
	[ "$(jget role)" = ops ]
	[ "$(jget persistence_backend)" = "$VG_E2E_BACKEND" ]
	[ "$(jget version)" = "$version" ]
}

@test "the LLM proxy's own listener answers its healthz as llm-proxy" {
	req GET "$P/v1/healthz"
	assert_code 200
	[ "$(jget role)" = llm-proxy ]
	[ "$(jget version)" = "$version" ]
}

@test "every answer of a burst of 50 healthz is 200 (all processes serve)" {
	local i codes
	codes=$(for i in $(seq 1 50); do
		curl -s -o /dev/null -w '%{http_code}\n' "$U/v1/healthz" &
	done; wait)
	[ "$(printf '%s\n' "$codes" | grep -c '^200$')" = 50 ]
}
