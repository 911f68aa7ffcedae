#!/usr/bin/env bats
# Hostile and broken input through the web server: the client gets a 4xx
# in the error envelope (or the web server's refusal), nothing crashes,
# and the programs keep answering afterwards.

load web

setup() {
	web_setup
}

# A JSON endpoint that reads its body before anything else (no account
# needed to reach the parser).
JSON_URL_PATH=/v1/auth/login

big_file() {
	head -c "$1" /dev/zero | tr '\0' ' ' >"$T/big"
	echo "$T/big"
}

@test "broken JSON answers 400 invalid_json" {
	local b
	for b in '{"email":' '{' 'not json' '{"a":1}}' '[1,2' '{"a":01}'; do
		req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' --data-binary "$b"
		assert_code 400
		assert_envelope invalid_json
	done
	assert_alive
}

@test "an empty JSON body answers 400 invalid_json" {
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' --data-binary ''
	assert_code 400
	assert_envelope invalid_json
}

@test "invalid UTF-8 in a JSON body answers 400 invalid_json" {
	printf '{"email":"a\xff\xfe@example.com","password":"x"}' >"$T/bad"
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' --data-binary @"$T/bad"
	assert_code 400
	assert_envelope invalid_json
	printf '{"email":"\xc0\xafa@example.com","password":"x"}' >"$T/bad"
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' --data-binary @"$T/bad"
	assert_code 400
	assert_envelope invalid_json
}

@test "a body that is not JSON by its Content-Type answers 415" {
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: text/plain' --data-binary '{}'
	assert_code 415
	assert_envelope unsupported_media_type
}

@test "a JSON body over the cap answers 413 (Content-Length)" {
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' \
		--data-binary @"$(big_file 2000000)"
	assert_code 413
	assert_envelope payload_too_large
	assert_alive
}

@test "a JSON body over the cap answers 413 (chunked)" {
	req POST "$U$JSON_URL_PATH" -H 'Content-Type: application/json' \
		-H 'Transfer-Encoding: chunked' --data-binary @"$(big_file 2000000)"
	assert_code 413
	assert_envelope payload_too_large
	assert_alive
}

@test "a JSON body over the cap on any API path answers 413 before routing" {
	req PUT "$U/v1/projects/p1" -H 'Content-Type: application/json' \
		--data-binary @"$(big_file 3000000)"
	assert_code 413
	assert_envelope payload_too_large
}

@test "a malformed percent-escape in the path answers 400" {
	local p
	for p in /v1/projects/%zz /v1/scans/%4 /v1/findings/%G0; do
		req GET "$U$p"
		assert_code 400
		assert_envelope validation_failed
	done
	assert_alive
}

@test "a malformed percent-escape in the query answers 400 naming the query" {
	req GET "$U/v1/healthz?x=%zz"
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = query ]
}

@test "invalid UTF-8 and NUL in the path answer 4xx, never 2xx or 5xx" {
	local p
	for p in /v1/scans/%C3%28 /v1/scans/%FF /v1/scans/a%00b /v1/scans/a%2Fb; do
		req GET "$U$p"
		case $code in 400 | 404) ;; *) echo "$p: status $code"; false ;; esac
		assert_envelope "$( [ "$code" = 400 ] && echo validation_failed || echo not_found)"
	done
	assert_alive
}

@test "dot segments never reach another family" {
	printf 'GET /v1/healthz/../scans/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		raw >"$T/out"
	grep -q '^HTTP/1.1 4' "$T/out"
	assert_alive
}

@test "an oversized header line answers 4xx and the programs keep answering" {
	local big
	big=$(head -c 9000 /dev/zero | tr '\0' a)
	req GET "$U/v1/healthz" -H "X-Big: $big"
	case $code in 400 | 431 | 494) ;; *) echo "status $code"; false ;; esac
	assert_alive
}

@test "too many header bytes answer 4xx and the programs keep answering" {
	local i args=()
	for i in $(seq 1 120); do args+=(-H "X-Filler-$i: $(head -c 400 /dev/zero | tr '\0' b)"); done
	req GET "$U/v1/healthz" "${args[@]}"
	case $code in 400 | 431 | 494) ;; *) echo "status $code"; false ;; esac
	assert_alive
}

@test "an overlong URI answers 414 or 400 and the programs keep answering" {
	local long
	long=$(head -c 12000 /dev/zero | tr '\0' a)
	req GET "$U/v1/scans/$long"
	case $code in 400 | 414) ;; *) echo "status $code"; false ;; esac
	assert_alive
}

@test "Content-Length with Transfer-Encoding: the trailing bytes are never a second request" {
	local rid
	rid=$(new_rid)
	printf 'POST /v1/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n0\r\n\r\nGET /v1/readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n\r\n' "$rid" |
		raw >"$T/out"
	[ "$(grep -c '^HTTP/1\.[01] ' "$T/out")" = 1 ]
	grep -qi -e '^HTTP/1.1 400' -e '^Connection: close' "$T/out"
	sleep 0.3
	[ -z "$(cat "$VG_STACK_LOGDIR"/*.log | grep -F "$rid")" ]
	assert_alive
}

@test "conflicting Content-Length headers answer 400" {
	printf 'POST /v1/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef' |
		raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
}

@test "a negative Content-Length answers 400" {
	printf 'POST /v1/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
}

@test "an unknown transfer coding answers 400 or 501" {
	printf 'POST /v1/healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -qE '^HTTP/1.1 (400|501)'
	assert_alive
}

@test "a malformed chunk size answers 400" {
	printf 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n' |
		raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
	assert_alive
}

@test "a NUL byte or a space in a header name answers 400" {
	printf 'GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
	printf 'GET /v1/healthz HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
}

@test "HTTP/1.1 without Host answers 400" {
	printf 'GET /v1/healthz HTTP/1.1\r\n\r\n' | raw >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400'
}

@test "a client that disconnects mid-body does not hurt the programs" {
	printf 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"email":"' |
		python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.close()
' "${U##*:}"
	sleep 0.5
	assert_alive
}
