#!/usr/bin/env bats
# Built-in accounts through the web server: the administrator bootstrap,
# login, access tokens checked against an independent JWT implementation
# (PyJWT), the refresh story, throttling, API keys, groups on /v1/ops/*,
# the audit log.  Run by auth-nginx-json.e2e and auth-nginx-postgres.e2e,
# which set VEGA_AUTH_SECRET, a short refresh-token lifetime and low
# throttle limits.

load web
load ../fixtures/auth/lib

setup_file() {
	# the administrator's password lands in a directory of the programs' user
	local d=$VG_E2E_TMP/secrets user
	mkdir -p "$d"
	user=$(auth_stack_user)
	[ -n "$user" ] && chown "$user" "$d"
	chmod 0700 "$d"
	maint bootstrap-admin "$d/admin.txt" >"$d/bootstrap.out"
}

setup() {
	web_setup
	ADMIN_FILE=$VG_E2E_TMP/secrets/admin.txt
	ADMIN_PW=$(sed -n 's/^password: //p' "$ADMIN_FILE")
}

# Log in as the administrator; sets ADMIN_TOKEN.
admin_login() {
	login admin@localhost "$ADMIN_PW"
	assert_code 200
	ADMIN_TOKEN=$(tok)
}

@test "bootstrap-admin made a root account once, its password only in a 0600 file" {
	[ "$(stat -c %a "$ADMIN_FILE")" = 600 ]
	[ -n "$ADMIN_PW" ]
	grep -q "password: $ADMIN_PW" "$VG_E2E_TMP/secrets/bootstrap.out"
	run maint bootstrap-admin "$VG_E2E_TMP/secrets/again.txt"
	[ "$status" -eq 0 ]
	[[ $output == *"users exist already"* ]]
	[ ! -e "$VG_E2E_TMP/secrets/again.txt" ]
	admin_login
	breq GET /v1/auth/me "$ADMIN_TOKEN"
	assert_code 200
	[ "$(jget groups)" = '["root"]' ]
}

@test "login answers the documented shape; the access token verifies with PyJWT" {
	local claims now
	new_user ada
	login "$email" "$password"
	assert_code 200
	[ "$(jget token_type)" = Bearer ]
	[ "$(jget expires_in)" = 900 ]
	[[ $(jget refresh_token) == vgr_* ]]
	claims=$(mint decode "$(tok)" "$VEGA_AUTH_SECRET" vega-api)
	now=$(date +%s)
	printf '%s' "$claims" | "$PY" -c '
import json, sys, uuid
c = json.load(sys.stdin); now = int(sys.argv[1])
assert c["iss"] == "vega", c
assert c["aud"] == "vega-api", c
uuid.UUID(c["sub"]); uuid.UUID(c["jti"]); uuid.UUID(c["sid"])
assert abs(c["iat"] - now) < 30 and c["exp"] - c["iat"] == 900, c
assert c["groups"] == ["user"], c
assert c["token_use"] == "access", c
' "$now"
}

@test "GET /v1/auth/me answers the user and groups; without a valid bearer, 401 everywhere" {
	local token p
	new_user bea operator
	login "$email" "$password"
	token=$(tok)
	breq GET /v1/auth/me "$token"
	assert_code 200
	[ "$(jget email)" = "$email" ]
	[ "$(jget groups)" = '["operator"]' ]
	[ "$(jget authenticated_by)" = access_token ]
	for p in /v1/auth/me /v1/api-keys /v1/ops/audit; do
		req GET "$U$p"
		assert_401
		req GET "$U$p" -H "Authorization: Basic YWRtaW46YWRtaW4="
		assert_401
		req GET "$U$p" -H "Authorization: Bearer"
		assert_401
		req GET "$U$p" -H "Authorization: Bearer not-a-token"
		assert_401
	done
	req POST "$U/v1/auth/logout"
	assert_401
	req DELETE "$U/v1/api-keys/00000000-0000-4000-8000-000000000000"
	assert_401
	# the public ones answer without a token
	req GET "$U/v1/healthz"
	assert_code 200
	req GET "$U/v1/readyz"
	assert_code 200
}

@test "rejected access tokens: each answers 401 invalid_token" {
	local sub good key pub
	new_user cid
	login "$email" "$password"
	good=$(tok)
	breq GET /v1/auth/me "$good"
	sub=$(jget id)
	key=$BATS_TEST_TMPDIR/rsa.pem
	pub=$BATS_TEST_TMPDIR/rsa.pub
	openssl genrsa -out "$key" 2048 2>/dev/null
	openssl rsa -in "$key" -pubout -out "$pub" 2>/dev/null
	base="\"iss\":\"vega\",\"aud\":\"vega-api\",\"sub\":\"$sub\",\"jti\":\"j\",\"token_use\":\"access\",\"groups\":[\"user\"]"
	# a token made right by PyJWT passes: the cases below differ in one thing
	breq GET /v1/auth/me "$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"iat\":\"@now\",\"exp\":\"@now+300\"}")"
	assert_code 200
	declare -A cases=(
		[expired]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"iat\":\"@now-900\",\"exp\":\"@now-120\"}")
		[not-yet-valid]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"iat\":\"@now\",\"nbf\":\"@now+600\",\"exp\":\"@now+900\"}")
		[issued-in-future]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"iat\":\"@now+600\",\"exp\":\"@now+900\"}")
		[wrong-iss]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"iss\":\"evil\",\"exp\":\"@now+300\"}")
		[wrong-aud]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"aud\":\"other\",\"exp\":\"@now+300\"}")
		[id-token]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"token_use\":\"id\",\"exp\":\"@now+300\"}")
		[no-exp]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base}")
		[other-secret]=$(mint hs256 "another-secret-another-secret-another-secret" "{$base,\"exp\":\"@now+300\"}")
		[alg-none]=$(mint none "{$base,\"exp\":\"@now+300\"}")
		[rs256]=$(mint rs256 "$key" k1 "{$base,\"exp\":\"@now+300\"}")
		[hs256-with-rsa-public-key]=$(mint hs256-file "$pub" k1 "{$base,\"exp\":\"@now+300\"}")
		[bad-signature]="${good%.*}.$(printf 'x%.0s' $(seq 43))"
		[truncated]=${good:0:$((${#good} - 7))}
		[two-segments]=${good%.*}
		[non-base64-payload]="$(echo "$good" | cut -d. -f1).@@@@.$(echo "$good" | cut -d. -f3)"
		[non-base64-header]="%%%.$(echo "$good" | cut -d. -f2-)"
		[unknown-user]=$(mint hs256 "$VEGA_AUTH_SECRET" "{$base,\"sub\":\"00000000-0000-4000-8000-000000000000\",\"exp\":\"@now+300\"}")
	)
	for c in "${!cases[@]}"; do
		breq GET /v1/auth/me "${cases[$c]}"
		[ "$code" = 401 ] || { echo "case $c: status $code $body"; false; }
		assert_401
	done
}

@test "refresh rotates; reusing a rotated token revokes the family; logout ends a session" {
	local r1 r2 r3 a1 a2
	new_user dan
	login "$email" "$password"
	r1=$(jget refresh_token)
	a1=$(tok)
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r1\"}"
	assert_code 200
	r2=$(jget refresh_token)
	a2=$(tok)
	[ "$r2" != "$r1" ] && [ "$a2" != "$a1" ]
	breq GET /v1/auth/me "$a2"
	assert_code 200
	# r1 again: theft assumed, the whole family dies
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r1\"}"
	assert_401
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r2\"}"
	assert_401
	breq GET /v1/auth/me "$a2"
	assert_401
	# a new login is a new family; logout ends it
	login "$email" "$password"
	r3=$(jget refresh_token)
	a1=$(tok)
	breq POST /v1/auth/logout "$a1"
	assert_code 204
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r3\"}"
	assert_401
	breq GET /v1/auth/me "$a1"
	assert_401
	# refresh needs no bearer, but a token in the body
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' --data-binary '{}'
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = refresh_token ]
}

@test "a refresh token expires (VEGA_REFRESH_TOKEN_TTL_SECONDS)" {
	local r
	new_user eve
	login "$email" "$password"
	r=$(jget refresh_token)
	sleep $((VEGA_REFRESH_TOKEN_TTL_SECONDS + 1))
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r\"}"
	assert_401
}

@test "failed logins: the same answer for an unknown e-mail, then 429 per account" {
	local m1 i
	new_user fay
	login "$email" "wrong password" 127.0.0.11
	assert_401
	m1=$(jget error.message)
	login "nobody-$RANDOM@example.org" "wrong password" 127.0.0.11
	assert_401
	[ "$(jget error.message)" = "$m1" ]
	for i in $(seq 2 "$VEGA_LOGIN_MAX_FAILURES"); do
		login "$email" "wrong password" 127.0.0.12
		assert_401
	done
	# now even the right password, from anywhere, waits
	login "$email" "$password" 127.0.0.13
	assert_code 429
	assert_envelope rate_limited
	[ "$(hdr Retry-After)" -ge 1 ] && [ "$(hdr Retry-After)" -le "$VEGA_LOGIN_THROTTLE_SECONDS" ]
	# unknown e-mails are throttled the same way: no enumeration by 429
	for i in $(seq 1 "$VEGA_LOGIN_MAX_FAILURES"); do
		login "ghost@example.org" "wrong password" 127.0.0.14
	done
	login "ghost@example.org" "wrong password" 127.0.0.15
	assert_code 429
}

@test "failed logins are throttled per client address" {
	local i
	new_user gus
	for i in $(seq 1 "$VEGA_LOGIN_MAX_FAILURES_PER_ADDRESS"); do
		login "guess-$i@example.org" "wrong password" 127.0.0.21
		assert_401
	done
	login "$email" "$password" 127.0.0.21
	assert_code 429
	assert_envelope rate_limited
	[ -n "$(hdr Retry-After)" ]
	login "$email" "$password" 127.0.0.22
	assert_code 200
}

@test "a disabled user can neither log in nor use a token; enabling lets them back" {
	local token
	new_user hal
	login "$email" "$password" 127.0.0.31
	token=$(tok)
	maint disable-user "$email" >/dev/null
	breq GET /v1/auth/me "$token"
	assert_401
	login "$email" "$password" 127.0.0.31
	assert_401
	maint enable-user "$email" >/dev/null
	login "$email" "$password" 127.0.0.31
	assert_code 200
}

@test "API keys: created once, listed without secrets, used as bearer, revoked" {
	local token key id
	new_user ivy
	login "$email" "$password"
	token=$(tok)
	breq POST /v1/api-keys "$token" -H 'Content-Type: application/json' --data-binary '{"name":"ci"}'
	assert_code 201
	key=$(jget key)
	id=$(jget id)
	[[ $key == vgk_* ]] && [[ $key == "$(jget prefix)"* ]]
	[ "$(jget name)" = ci ] && [ "$(jget expires_at)" = null ]
	breq GET /v1/auth/me "$key"
	assert_code 200
	[ "$(jget email)" = "$email" ]
	[ "$(jget authenticated_by)" = api_key ]
	breq GET /v1/api-keys "$token"
	assert_code 200
	[ "$(jget items.0.id)" = "$id" ]
	[ -n "$(jget items.0.last_used_at)" ]
	[[ $body != *"$key"* ]]
	[ "$(jget items.0.key)" = "" ]
	# a key cannot mint keys
	breq POST /v1/api-keys "$key" -H 'Content-Type: application/json' --data-binary '{"name":"x"}'
	assert_code 403
	assert_envelope forbidden
	breq POST /v1/api-keys "$token" -H 'Content-Type: application/json' --data-binary '{}'
	assert_code 400
	[ "$(jget error.details.field)" = name ]
	breq DELETE "/v1/api-keys/$id" "$token"
	assert_code 204
	breq GET /v1/auth/me "$key"
	assert_401
	breq DELETE "/v1/api-keys/$id" "$token"
	assert_code 404
	breq GET /v1/api-keys "$token"
	[ "$(jget items)" = '[]' ]
}

@test "API keys expire, and nobody else can revoke them" {
	local token key id other until
	new_user jon
	login "$email" "$password"
	token=$(tok)
	until=$(($(date +%s) + 6))
	breq POST /v1/api-keys "$token" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"short\",\"expires_at\":\"$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)\"}"
	assert_code 201
	key=$(jget key)
	id=$(jget id)
	[ -n "$(jget expires_at)" ]
	breq GET /v1/auth/me "$key"
	assert_code 200
	new_user kim
	login "$email" "$password"
	other=$(tok)
	breq DELETE "/v1/api-keys/$id" "$other"
	assert_code 404
	while [ "$(date +%s)" -le "$until" ]; do sleep 0.5; done
	breq GET /v1/auth/me "$key"
	assert_401
	breq POST /v1/api-keys "$token" -H 'Content-Type: application/json' \
		--data-binary '{"name":"past","expires_at":"2020-01-01T00:00:00Z"}'
	assert_code 400
	[ "$(jget error.details.field)" = expires_at ]
}

@test "/v1/ops/* needs operator or root: 403 for users, with tokens and with keys" {
	local user_tok op_tok key
	new_user lea
	login "$email" "$password"
	user_tok=$(tok)
	breq GET /v1/ops/audit "$user_tok"
	assert_code 403
	assert_envelope forbidden
	breq POST /v1/api-keys "$user_tok" -H 'Content-Type: application/json' --data-binary '{"name":"k"}'
	key=$(jget key)
	breq GET /v1/ops/audit "$key"
	assert_code 403
	new_user max operator
	login "$email" "$password"
	op_tok=$(tok)
	breq GET "/v1/ops/audit?limit=2" "$op_tok"
	assert_code 200
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = 2 ]
	[ -n "$(jget next_cursor)" ]
	breq GET "/v1/ops/audit?limit=2&cursor=$(jget next_cursor)" "$op_tok"
	assert_code 200
	breq GET "/v1/ops/audit?cursor=garbage" "$op_tok"
	assert_code 400
	admin_login
	breq GET /v1/ops/audit "$ADMIN_TOKEN"
	assert_code 200
}

@test "every authentication event is in the audit log" {
	local a
	admin_login
	for a in auth.login auth.login_failed auth.login_throttled auth.refresh \
		auth.refresh_reuse_detected auth.logout api_key.created api_key.revoked user.created; do
		audit_has "$ADMIN_TOKEN" "$a"
	done
	# and no secret is in it
	breq GET "/v1/ops/audit?limit=1000" "$ADMIN_TOKEN"
	! printf '%s' "$body" | grep -E 'vgr_|vgk_[A-Za-z0-9_-]{20}|eyJhbGciOi'
	[[ $body != *"$ADMIN_PW"* ]]
}

@test "the programs' logs never hold a token, a key or a password, nor a sanitizer report" {
	local f
	for f in $(program_logs); do
		! grep -E 'vgr_[A-Za-z0-9_-]{20}|vgk_[A-Za-z0-9_-]{20}|eyJhbGciOi' "$f"
		! grep -F "$ADMIN_PW" "$f"
		! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"
	done
}
