#!/usr/bin/env bats
# The cognito provider through the web server, against a local fake of the
# user pool (tests/fixtures/auth/fake_cognito.py: the JWKS endpoint and the
# InitiateAuth / RevokeToken JSON API).  Tokens for the hostile cases are
# minted with PyJWT.  Run by auth-cognito-nginx-json.e2e.

load web
load ../fixtures/auth/lib

FAKE_DIR=$VG_E2E_TMP/cognito
POOL=$VEGA_COGNITO_USER_POOL_ID
ISS=$VEGA_COGNITO_ENDPOINT/$VEGA_COGNITO_USER_POOL_ID
ERIN_SUB=7d0c2a55-5f0e-4b8e-9f43-2a6a1c0e9d11

setup_file() {
	local d=$VG_E2E_TMP/cognito k
	mkdir -p "$d/keys"
	for k in k1 k2 rogue; do openssl genrsa -out "$d/keys/$k.pem" 2048 2>/dev/null; done
	openssl rsa -in "$d/keys/k1.pem" -pubout -out "$d/k1.pub" 2>/dev/null
	mv "$d/keys/rogue.pem" "$d/rogue.pem"
	cat >"$d/users.json" <<-JSON
	{"erin@example.org": {"password": "erin-password-1", "sub": "$ERIN_SUB", "groups": ["operator", "testers"]},
	 "finn@example.org": {"password": "finn-password-1", "sub": "3c6d1f0e-8a8b-4a43-b0b3-5e2f6a7c8d90"},
	 "gail@example.org": {"password": "gail-password-1", "sub": "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "challenge": "NEW_PASSWORD_REQUIRED"}}
	JSON
	"$PY" "$AUTH_FIXTURES/fake_cognito.py" --port "${VEGA_COGNITO_ENDPOINT##*:}" \
		--pool "$POOL" --client-id "$VEGA_COGNITO_APP_CLIENT_ID" \
		--client-secret "$VEGA_COGNITO_APP_CLIENT_SECRET" --keys-dir "$d/keys" --active k1 \
		--users "$d/users.json" --parent $$ </dev/null >"$d/fake.log" 2>&1 3>&- &
	echo $! >"$d/fake.pid"
	for _ in $(seq 50); do
		curl -fsS -o /dev/null "$VEGA_COGNITO_ENDPOINT/_admin/stats" && return 0
		sleep 0.1
	done
	echo "the fake user pool did not start: $(cat "$d/fake.log")" >&2
	return 1
}

teardown_file() {
	[ -r "$VG_E2E_TMP/cognito/fake.pid" ] && kill "$(cat "$VG_E2E_TMP/cognito/fake.pid")" 2>/dev/null
	return 0
}

setup() {
	web_setup
}

stat_of() {
	curl -fsS "$VEGA_COGNITO_ENDPOINT/_admin/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# Claims of a good access token of the pool, for erin; extra members after.
claims() {
	printf '{"sub":"%s","iss":"%s","client_id":"%s","token_use":"access","scope":"aws.cognito.signin.user.admin","auth_time":"@now","iat":"@now","exp":"@now+600","jti":"j-%s","username":"erin@example.org","cognito:groups":["operator"]%s}' \
		"$ERIN_SUB" "$ISS" "$VEGA_COGNITO_APP_CLIENT_ID" "$RANDOM" "${1:+,$1}"
}

@test "login calls InitiateAuth with SECRET_HASH; the user is created on first sight with its groups" {
	local before
	before=$(stat_of initiate_auth)
	login erin@example.org erin-password-1
	assert_code 200
	[ "$(jget token_type)" = Bearer ]
	[ "$(jget expires_in)" = 3600 ]
	[ -n "$(jget refresh_token)" ]
	[ "$(stat_of initiate_auth)" -gt "$before" ]
	[ "$(stat_of bad_secret_hash)" = 0 ]
	breq GET /v1/auth/me "$(tok)"
	assert_code 200
	[ "$(jget groups)" = '["operator", "user"]' ]
	[ "$(jget provider)" = cognito ]
	[ "$(jget display_name)" = erin@example.org ]
	[ "$(jget email)" = null ]
}

@test "wrong passwords and unknown users get the same 401; a challenge is refused" {
	local m
	login erin@example.org wrong-password 127.0.0.41
	assert_401
	m=$(jget error.message)
	login nobody@example.org wrong-password 127.0.0.41
	assert_401
	[ "$(jget error.message)" = "$m" ]
	login gail@example.org gail-password-1 127.0.0.42
	assert_401
}

@test "refresh calls REFRESH_TOKEN_AUTH; logout calls RevokeToken, after which refresh fails" {
	local r a
	login finn@example.org finn-password-1
	r=$(jget refresh_token)
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r\",\"username\":\"finn@example.org\"}"
	assert_code 200
	a=$(tok)
	[ "$(jget refresh_token)" = "$r" ]
	breq GET /v1/auth/me "$a"
	assert_code 200
	[ "$(jget groups)" = '["user"]' ]
	# the app client has a secret: SECRET_HASH needs the username
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r\"}"
	assert_code 400
	[ "$(jget error.details.field)" = username ]
	breq POST /v1/auth/logout "$a" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r\"}"
	assert_code 204
	[ "$(stat_of revoke)" -ge 1 ]
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary "{\"refresh_token\":\"$r\",\"username\":\"finn@example.org\"}"
	assert_401
	req POST "$U/v1/auth/refresh" -H 'Content-Type: application/json' \
		--data-binary '{"refresh_token":"made-up","username":"finn@example.org"}'
	assert_401
}

@test "groups from cognito:groups decide /v1/ops/*" {
	login erin@example.org erin-password-1
	breq GET /v1/ops/audit "$(tok)"
	assert_code 200
	login finn@example.org finn-password-1
	breq GET /v1/ops/audit "$(tok)"
	assert_code 403
	assert_envelope forbidden
}

@test "a token minted by PyJWT with the pool's key passes" {
	breq GET /v1/auth/me "$(mint rs256 "$FAKE_DIR/keys/k1.pem" k1 "$(claims)")"
	assert_code 200
}

@test "rejected pool tokens: each answers 401 invalid_token" {
	local k1=$FAKE_DIR/keys/k1.pem good c
	good=$(mint rs256 "$k1" k1 "$(claims)")
	declare -A cases=(
		[expired]=$(mint rs256 "$k1" k1 "$(claims '"exp":"@now-120"')")
		[not-yet-valid]=$(mint rs256 "$k1" k1 "$(claims '"nbf":"@now+600"')")
		[issued-in-future]=$(mint rs256 "$k1" k1 "$(claims '"iat":"@now+600"')")
		[wrong-iss]=$(mint rs256 "$k1" k1 "$(claims "\"iss\":\"$VEGA_COGNITO_ENDPOINT/eu-west-1_Other\"")")
		[wrong-client-id]=$(mint rs256 "$k1" k1 "$(claims '"client_id":"someone-else"')")
		[token-use-id]=$(mint rs256 "$k1" k1 "$(claims '"token_use":"id"')")
		[unknown-kid]=$(mint rs256 "$FAKE_DIR/rogue.pem" rogue "$(claims)")
		[bad-signature]=$(mint rs256 "$FAKE_DIR/rogue.pem" k1 "$(claims)")
		[alg-none]=$(mint none "$(claims)")
		[hs256-with-rsa-public-key]=$(mint hs256-file "$FAKE_DIR/k1.pub" k1 "$(claims)")
		[hs256-custom-style]=$(mint hs256 "some-secret-some-secret-some-secret-1" "$(claims)")
		[truncated]=${good:0:$((${#good} - 9))}
		[non-base64-signature]="${good%.*}.!!!!"
		[non-base64-payload]="$(echo "$good" | cut -d. -f1).***.$(echo "$good" | cut -d. -f3)"
		[four-segments]="$good.AAAA"
	)
	for c in "${!cases[@]}"; do
		breq GET /v1/auth/me "${cases[$c]}"
		[ "$code" = 401 ] || { echo "case $c: status $code $body"; false; }
		assert_401
	done
}

@test "a rotated pool key is fetched on its first token; unknown kids refetch at most once per interval" {
	local before after i tok2 rogue t0 t1 codes allowed
	sleep "$VEGA_COGNITO_JWKS_REFETCH_SECONDS"
	curl -fsS -X POST "$VEGA_COGNITO_ENDPOINT/_admin/active" --data '{"kids":["k2","k1"]}' >/dev/null
	tok2=$(mint rs256 "$FAKE_DIR/keys/k2.pem" k2 "$(claims)")
	breq GET /v1/auth/me "$tok2"
	assert_code 200
	rogue=$(mint rs256 "$FAKE_DIR/rogue.pem" made-up "$(claims)")
	sleep "$VEGA_COGNITO_JWKS_REFETCH_SECONDS"
	before=$(stat_of jwks)
	# a burst of plain requests (no per-answer checks slowing it down)
	t0=$(date +%s)
	codes=$(for i in $(seq 1 12); do
		curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $rogue" "$U/v1/auth/me"
	done)
	t1=$(date +%s)
	after=$(stat_of jwks)
	[ "$codes" = "$(printf '401 %.0s' $(seq 1 12))" ] || { echo "codes: $codes"; false; }
	# at most one refetch per FastCGI process of vega-auth and interval begun
	allowed=$(( ${VG_STACK_PROCESSES:-2} * (1 + (t1 - t0) / VEGA_COGNITO_JWKS_REFETCH_SECONDS) ))
	[ $((after - before)) -ge 1 ] && [ $((after - before)) -le "$allowed" ] ||
		{ echo "fetches: $before -> $after"; false; }
}

@test "API keys work with the cognito provider" {
	local key
	login erin@example.org erin-password-1
	breq POST /v1/api-keys "$(tok)" -H 'Content-Type: application/json' --data-binary '{"name":"ci"}'
	assert_code 201
	key=$(jget key)
	breq GET /v1/ops/audit "$key"
	assert_code 200
	audit_has "$key" auth.login
	audit_has "$key" auth.refresh
	audit_has "$key" auth.logout
	audit_has "$key" auth.login_failed
}

@test "the programs' logs hold no token and no sanitizer report" {
	local f
	for f in $(program_logs); do
		! grep -E 'eyJhbGciOi|eyJjdHkiOi|vgk_[A-Za-z0-9_-]{20}|erin-password-1' "$f"
		! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"
	done
}
