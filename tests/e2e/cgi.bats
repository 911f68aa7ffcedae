#!/usr/bin/env bats
# Plain CGI: every program answers one request from its environment and
# stdin, the way a web server's CGI module (or a test) runs it.

setup() {
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/data"
}

# cgi PROGRAM METHOD URI [BODY]: run PROGRAM as CGI, set $out (the raw
# CGI response), $status_line and $json (the body).
cgi() {
	local prog=$1 method=$2 uri=$3 body=${4-}
	local env=(REQUEST_METHOD="$method" REQUEST_URI="$uri" QUERY_STRING="${uri#*\?}"
		GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost
		SERVER_PORT=80 REMOTE_ADDR=127.0.0.1 SCRIPT_NAME="" PATH_INFO="${uri%%\?*}"
		VEGA_DATA_DIR="$T/data" VEGA_PERSISTENCE_BACKEND=json PATH=/usr/bin:/bin
		VEGA_AUTH_SECRET=cgi-test-secret-of-at-least-32-bytes
		HTTP_X_REQUEST_ID=cgi-test-1)
	[ "$uri" = "${uri#*\?}" ] && env[2]=QUERY_STRING=
	if [ -n "$body" ]; then
		env+=(CONTENT_TYPE=application/json CONTENT_LENGTH=${#body})
	fi
	out=$(printf '%s' "$body" | env -i "${env[@]}" "$VEGA_BUILDDIR/cgi/$prog.fcgi" 2>"$T/stderr")
	rc=$?
	status_line=$(printf '%s\n' "$out" | head -n1 | tr -d '\r')
	json=$(printf '%s' "$out" | sed '1,/^\r\{0,1\}$/d')
}

field() {
	printf '%s' "$json" | python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v if not isinstance(v,bool) else str(v).lower())' "$1"
}

@test "each program answers GET /v1/healthz as CGI with its role" {
	local p role
	for p in auth:auth projects:projects scans:scans ops:ops llm-proxy:llm-proxy; do
		role=${p#*:}
		cgi "vega-${p%%:*}" GET /v1/healthz
		[ "$rc" = 0 ]
		[ "$status_line" = "Status: 200 OK" ] || [ "$status_line" = "Status: 200" ]
		[ "$(field role)" = "$role" ]
		[ "$(field status)" = ok ]
	done
}

@test "CGI responses carry the request id and the JSON content type" {
	cgi vega-ops GET /v1/healthz
	printf '%s\n' "$out" | tr -d '\r' | grep -q '^X-Request-Id: cgi-test-1$'
	printf '%s\n' "$out" | tr -d '\r' | grep -qi '^Content-Type: application/json'
}

@test "CGI: an unknown route answers the 404 envelope" {
	cgi vega-ops GET /v1/nothing
	case $status_line in "Status: 404"*) ;; *) echo "$status_line"; false ;; esac
	[ "$(field error.code)" = not_found ]
	[ "$(field schema_version)" = 1 ]
}

@test "CGI: a wrong method answers 405 with Allow" {
	cgi vega-ops POST /v1/healthz '{}'
	case $status_line in "Status: 405"*) ;; *) echo "$status_line"; false ;; esac
	printf '%s\n' "$out" | tr -d '\r' | grep -q '^Allow: GET, HEAD$'
}

@test "CGI: readyz on the json backend answers 200" {
	cgi vega-ops GET /v1/readyz
	case $status_line in "Status: 200"*) ;; *) echo "$status_line $json"; false ;; esac
	[ "$(field checks.store)" = ok ]
}

@test "CGI: a log line on stderr names the role and the request id" {
	cgi vega-scans GET /v1/scans/nothing
	grep -q '"role":"scans"' "$T/stderr"
	grep -q '"request_id":"cgi-test-1"' "$T/stderr"
}

@test "CGI: an invalid setting makes the program exit with status 2, not serve" {
	run env -i REQUEST_METHOD=GET REQUEST_URI=/v1/healthz GATEWAY_INTERFACE=CGI/1.1 \
		VEGA_PERSISTENCE_BACKEND=nonsense "$VEGA_BUILDDIR/cgi/vega-ops.fcgi"
	[ "$status" = 2 ]
	[[ $output != *'"status":"ok"'* ]]
}
