#!/usr/bin/env bats
# X-Request-Id: echoed when the client sends a well-formed one, generated
# when not, and the same id in the response, the web server's access log
# and the program's log.

load web

setup() {
	web_setup
}

valid_id() {
	[[ $1 =~ ^[A-Za-z0-9._:-]{1,128}$ ]]
}

@test "a well-formed X-Request-Id is echoed" {
	req GET "$U/v1/healthz" -H 'X-Request-Id: client-id_1.2:3'
	assert_code 200
	[ "$(hdr X-Request-Id)" = 'client-id_1.2:3' ]
	[ "$(hdr_count X-Request-Id)" = 1 ]
}

@test "without X-Request-Id each response gets a fresh, well-formed one" {
	local a b
	req GET "$U/v1/healthz"
	a=$(hdr X-Request-Id)
	req GET "$U/v1/healthz"
	b=$(hdr X-Request-Id)
	valid_id "$a" && valid_id "$b"
	[ "$a" != "$b" ]
}

@test "a malformed X-Request-Id is replaced, not echoed" {
	local bad long
	for bad in 'has space' 'semi;colon' 'quote"d' '<script>'; do
		req GET "$U/v1/healthz" -H "X-Request-Id: $bad"
		assert_code 200
		[ "$(hdr X-Request-Id)" != "$bad" ]
		valid_id "$(hdr X-Request-Id)"
	done
	long=$(printf 'a%.0s' $(seq 1 200))
	req GET "$U/v1/healthz" -H "X-Request-Id: $long"
	assert_code 200
	[ "$(hdr X-Request-Id)" != "$long" ]
	valid_id "$(hdr X-Request-Id)"
}

@test "the id appears in the access log and the program's log" {
	local rid
	rid=$(new_rid)
	req GET "$U/v1/readyz" -H "X-Request-Id: $rid"
	assert_code 200
	access_lines_for "$rid" | grep -q '"status":200'
	[ "$(roles_for "$rid")" = ops ]
}

@test "a generated id is the same in the response and both logs" {
	local rid
	req GET "$U/v1/healthz"
	rid=$(hdr X-Request-Id)
	valid_id "$rid"
	access_lines_for "$rid" >/dev/null
	[ "$(roles_for "$rid")" = ops ]
}

@test "answers of the web server itself carry the id too" {
	local rid
	rid=$(new_rid)
	req GET "$U/outside-the-api" -H "X-Request-Id: $rid"
	assert_code 404
	[ "$(hdr X-Request-Id)" = "$rid" ]
	access_lines_for "$rid" | grep -q '"status":404'
	req POST "$U/v1/projects" -H "Content-Type: application/json" \
		--data-binary @<(head -c 2000000 /dev/zero | tr '\0' ' ')
	assert_code 413
	valid_id "$(hdr X-Request-Id)"
	access_lines_for "$(hdr X-Request-Id)" | grep -q '"status":413'
}
