# web.bash - what the web suites share (bats: `load web`).
#
# Each suite talks to the running stack (tests/helpers/stack.sh, started by
# run-e2e) with curl, as a client would.  After `req`, these are set:
#   $code       the HTTP status
#   $body       the response body
#   $hdrs       the response headers (raw, CR stripped)
# and `hdr NAME` prints one header's value, `jget PATH` one JSON value of
# the body (python3, since jq is not a dependency).

# shellcheck source=../helpers/stack.sh
. "$VEGA_SRCDIR/tests/helpers/stack.sh"

web_setup() {
	vg_stack_env || {
		echo "no running stack: run through run-e2e with VG_E2E_HTTPD set" >&2
		return 1
	}
	U=$VEGA_TEST_URL
	P=$VEGA_TEST_PROXY_URL
	T=$BATS_TEST_TMPDIR
}

# req METHOD URL [curl arguments...]
req() {
	local method=$1 url=$2
	shift 2
	code=$(curl -sS -o "$T/body" -D "$T/hdrs" -w '%{http_code}' --max-time 20 \
		-X "$method" "$@" "$url") || code=000
	body=$(cat "$T/body" 2>/dev/null)
	hdrs=$(tr -d '\r' <"$T/hdrs" 2>/dev/null)
}

# hdr NAME: the value of the last response header NAME (after `req`).
hdr() {
	printf '%s\n' "$hdrs" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) v = substr($0, i + 1) }
		END { sub(/^[ \t]+/, "", v); print v }'
}

# hdr_count NAME: how many times header NAME appears.
hdr_count() {
	printf '%s\n' "$hdrs" | grep -ci "^$1:" || true
}

# jget PATH: a value of $body ("error.code", "checks.store"); objects and
# arrays print as JSON, strings bare, booleans as true/false; "" when absent.
jget() {
	printf '%s' "$body" | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
except Exception:
    sys.exit(0)
if isinstance(v, str):
    print(v)
elif isinstance(v, bool):
    print("true" if v else "false")
else:
    print(json.dumps(v, sort_keys=True))
' "$1"
}

# The body must be the API's error envelope with this code.
assert_envelope() {
	local want=$1
	[ "$(jget schema_version)" = 1 ] || { echo "not an envelope: $body"; return 1; }
	[ "$(jget error.code)" = "$want" ] || { echo "code $(jget error.code), want $want: $body"; return 1; }
	[ -n "$(jget error.message)" ] || { echo "no message: $body"; return 1; }
	case $(jget error.retryable) in true | false) ;; *) echo "no retryable: $body"; return 1 ;; esac
	case $(jget error.details) in '{'*) ;; *) echo "no details object: $body"; return 1 ;; esac
	case $(hdr Content-Type) in application/json*) ;; *) echo "content type $(hdr Content-Type)"; return 1 ;; esac
}

assert_code() {
	[ "$code" = "$1" ] || { echo "status $code, want $1; body: $body"; return 1; }
}

# A fresh request id, unique per call.
new_rid() {
	echo "t-$(date +%s%N)-$RANDOM"
}

# The files the programs log to: one per program under spawn-fcgi, Apache's
# error log under mod_fcgid.
program_logs() {
	if [ "$VG_STACK_KIND" = apache-fcgid ]; then
		echo "$VG_STACK_LOGDIR/error.log"
	else
		ls "$VG_STACK_LOGDIR"/vega-*.log | grep -v -- '-access\.log$'
	fi
}

# roles_for RID: the roles of the program log lines carrying request id
# RID, sorted and unique.  Log lines may lag the response a little.
roles_for() {
	local rid=$1 i out
	for i in 1 2 3 4 5 6 7 8 9 10; do
		out=$(cat $(program_logs) | grep -F "\"request_id\":\"$rid\"" |
			grep -o '"role":"[^"]*"' | sed 's/.*:"\(.*\)"/\1/' | sort -u | tr '\n' ' ')
		[ -n "$out" ] && break
		sleep 0.1
	done
	echo "${out% }"
}

# The web server's access log lines for request id RID.
access_lines_for() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if cat "$VG_STACK_LOGDIR"/vega-*access.log | grep -F "\"request_id\":\"$1\""; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The stack still answers its health check.
assert_alive() {
	req GET "$U/v1/healthz"
	assert_code 200
	[ "$(jget role)" = ops ] || { echo "healthz: $body"; return 1; }
}

# raw HOST PORT: send stdin as raw bytes to the server, print all it
# answers until it closes (or 5 s pass).
raw() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.buffer.write(out)
' "${U##*:}"
}
