#!/bin/bash
# llm-proxy.sh - the latency the LLM proxy adds: the same requests to the
# fake provider (tests/fixtures/fake-provider) directly and through nginx
# and vega-llm-proxy.fcgi (token check, store check, reservation,
# relaying, settlement), in the same run, non-streaming and streaming
# (time to the last byte and to the first event), at 1 and 32 concurrent
# clients (bench/llm-load: one thread and one keep-alive connection per
# client, and one scan per client, as one runner per scan; a last row per
# provider latency has the 32 clients share one scan, whose budget row
# every reservation and settlement then updates in turn).  Prints p50 and
# p99 of each and the overhead (proxy - direct); the goal is p50 overhead
# under 1 ms and p99 under 5 ms at 32 clients.
#
# The baseline: the same requests through a second nginx of the same
# configuration to bench/minimal-relay, the smallest libfcgi program that
# relays to the provider with libcurl (no token, store or parsing), with as
# many processes.  Its overhead over direct is what the architecture costs
# (nginx, a FastCGI connection, one more HTTP hop); the last two columns,
# proxy - relay, are what Vega itself adds.
#
# Each set of cases runs at a provider latency (the fake provider waits
# that long before its first byte, direct and proxied alike).  At 0 ms
# the 32 clients send back to back and the two cores are saturated: the
# overhead is then the whole chain's lower throughput, since every proxied
# call also does the direct call's work.  A real provider takes hundreds
# of milliseconds; at 50 ms, 32 clients offer about 600 calls/s, and the
# overhead is the latency the proxy adds to a call under that load.
#
#   make bench-llm-proxy
#   bench/llm-proxy.sh    (VEGA_SRCDIR, VEGA_BUILDDIR default to the
#                          source dir and the current directory)
#
# Knobs: BENCH_REQUESTS (per client and case, default 200), BENCH_PROCESSES
# (vega-llm-proxy processes, default 40: each holds one call while the
# provider answers, so 32 concurrent clients need at least 32, as the
# systemd unit's 32 allow), BENCH_BACKEND (json or
# postgres, default json; postgres starts a throwaway cluster),
# BENCH_PROVIDER_DELAYS (the provider latencies in ms, default "0 50"),
# BENCH_CLIENTS (the numbers of concurrent clients, default "1 32").
# Loopback only.  A measurement, never a pass/fail test.
set -u
VEGA_SRCDIR=${VEGA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
VEGA_BUILDDIR=${VEGA_BUILDDIR:-$PWD}
export VEGA_SRCDIR VEGA_BUILDDIR
requests=${BENCH_REQUESTS:-200}
delays=${BENCH_PROVIDER_DELAYS:-0 50}
clients=${BENCH_CLIENTS:-1 32}
export VG_STACK_PROCESSES=2 VG_STACK_PROXY_PROCESSES=${BENCH_PROCESSES:-40}
backend=${BENCH_BACKEND:-json}
relay=$VEGA_BUILDDIR/bench/minimal-relay
for f in "$VEGA_BUILDDIR/cgi/vega-llm-proxy.fcgi" "$VEGA_BUILDDIR/tests/helpers/llm-scan" \
	"$VEGA_BUILDDIR/bench/llm-load" "$relay"; do
	[ -x "$f" ] || { echo "llm-proxy.sh: $f is not built (make bench-llm-proxy builds it)" >&2; exit 1; }
done

. "$VEGA_SRCDIR/tests/helpers/stack.sh"
. "$VEGA_SRCDIR/tests/helpers/pg.sh"
VG_E2E_TMP=$(mktemp -d /tmp/vega-bench-llm.XXXXXX)
chmod 0755 "$VG_E2E_TMP"
export VG_E2E_TMP VG_E2E_BACKEND=$backend
LLM=$VG_E2E_TMP/llm
mkdir -p "$LLM"
provider_pid=
cleanup() {
	VG_E2E_TMP=$VG_E2E_TMP/relay vg_stack_stop >/dev/null 2>&1
	vg_stack_stop >/dev/null 2>&1
	[ -n "$provider_pid" ] && kill "$provider_pid" 2>/dev/null
	[ "$backend" = postgres ] && vg_pg_stop
	rm -rf "$VG_E2E_TMP"
}
trap cleanup EXIT

key=sk-bench-provider-key
openssl ecparam -name prime256v1 -genkey -noout -out "$LLM/sign.sec1" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$LLM/sign.sec1" -out "$LLM/sign.pem"
openssl ec -in "$LLM/sign.pem" -pubout -out "$LLM/verify.pem" 2>/dev/null
echo "$key" >"$LLM/provider.key"
echo '{"models":{"fake-model":{"input":1.25,"output":10}}}' >"$LLM/prices.json"
chmod 0755 "$LLM"; chmod 0644 "$LLM"/*
# provider DELAY_MS: (re)start the fake provider on the same port (the
# first time on any), answering after DELAY_MS.
provider() {
	if [ -n "$provider_pid" ]; then
		kill "$provider_pid" 2>/dev/null
		wait "$provider_pid" 2>/dev/null
	fi
	local port=${fake##*:}
	rm -f "$LLM/port"
	FAKE_PROVIDER_KEY=$key FAKE_PROVIDER_DEFAULTS="{\"delay_ms\":$1}" \
		node "$VEGA_SRCDIR/tests/fixtures/fake-provider/server.js" --port "${port:-0}" \
		--port-file "$LLM/port" >>"$LLM/provider.log" 2>&1 &
	provider_pid=$!
	for _ in $(seq 100); do [ -s "$LLM/port" ] && break; sleep 0.05; done
	[ -s "$LLM/port" ] || { echo "llm-proxy.sh: the fake provider did not start" >&2; exit 1; }
	fake=http://127.0.0.1:$(cat "$LLM/port")
}
fake=
provider 0

export VEGA_PERSISTENCE_BACKEND=$backend VEGA_DATA_DIR=$VG_E2E_TMP/data
export VEGA_MIGRATIONS_DIR=$VEGA_SRCDIR/sql
mkdir -p "$VEGA_DATA_DIR"
if [ "$backend" = postgres ]; then
	vg_pg_start || { echo "llm-proxy.sh: cannot start Postgres" >&2; exit 1; }
	export VEGA_DATABASE_URL=$VEGA_TEST_DATABASE_URL
fi
export VEGA_LLM_PROVIDER_BASE_URL=$fake/v1 VEGA_LLM_PROVIDER_API_KEY_FILE=$LLM/provider.key
export VEGA_LLM_TOKEN_VERIFY_KEY_FILE=$LLM/verify.pem VEGA_LLM_TOKEN_SIGNING_KEY_FILE=$LLM/sign.pem
export VEGA_LLM_PRICES_FILE=$LLM/prices.json VEGA_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
# The baseline's stack first (every program of it is the relay, on a json
# store it never reads), then Vega's.
mkdir -p "$VG_E2E_TMP/relay/progs" "$VG_E2E_TMP/relay/data"
for p in $VG_STACK_PROGRAMS; do ln -s "$relay" "$VG_E2E_TMP/relay/progs/$p.fcgi"; done
relay_url=$(
	export VG_STACK_PROGDIR=$VG_E2E_TMP/relay/progs
	export VEGA_PERSISTENCE_BACKEND=json VEGA_DATA_DIR=$VG_E2E_TMP/relay/data
	export VG_E2E_TMP=$VG_E2E_TMP/relay
	vg_stack_start nginx >&2 && echo "$VEGA_TEST_PROXY_URL"
) || { echo "llm-proxy.sh: cannot start the baseline's stack" >&2; exit 1; }
vg_stack_start nginx >/dev/null || { echo "llm-proxy.sh: cannot start the stack" >&2; exit 1; }
vg_stack_env
as_web() { if [ "$(id -u)" = 0 ]; then runuser -u www-data -- "$@"; else "$@"; fi; }
# scan_token: a new running scan's token (llm-scan create, then env).
scan_token() {
	local scan
	scan=$(as_web "$VEGA_BUILDDIR/tests/helpers/llm-scan" create) || return 1
	as_web "$VEGA_BUILDDIR/tests/helpers/llm-scan" env "$scan" | sed -n 's/^VEGA_LLM_SCAN_TOKEN=//p'
}
# One scan per client, as one runner per scan: tokens[c] for client c.
tokens=()
for _ in $(seq 32); do tokens+=("$(scan_token)") || exit 1; done
token=${tokens[0]}
all_tokens=$(IFS=,; echo "${tokens[*]}")

echo "llm-proxy.sh: $backend store, $VG_STACK_PROXY_PROCESSES proxy processes, $requests requests per client and case, $(nproc) cores"
load=$VEGA_BUILDDIR/bench/llm-load
# p50/p99 of the last byte and of the first event, one case: URL TOKEN STREAM CLIENTS
measure() { "$load" "$1" "$2" "$3" "$4" "$requests" || exit 1; }
header() {
	printf '%-10s %4s %8s %8s %8s %8s %10s %10s %8s %8s %8s\n' case conc direct50 proxy50 \
		direct99 proxy99 overhead50 overhead99 over-rly50 over-rly99 calls/s
}
# row NAME CONC D50 P50 D99 P99 SECONDS R50 R99: SECONDS is the proxied
# run's wall time, for its calls per second; R50 and R99 the relay's.
row() {
	awk -v name="$1" -v conc="$2" -v d50="$3" -v p50="$4" -v d99="$5" -v p99="$6" \
		-v secs="$7" -v r50="$8" -v r99="$9" -v n="$((requests * $2))" 'BEGIN {
		printf "%-10s %4d %6.2fms %6.2fms %6.2fms %6.2fms %8.2fms %8.2fms %6.2fms %6.2fms %8.0f\n",
			name, conc, d50, p50, d99, p99, p50 - d50, p99 - d99, p50 - r50, p99 - r99,
			(secs > 0 ? n / secs : 0) }'
}
# relay_row NAME CONC D50 R50 D99 R99: the baseline's own overhead.
relay_row() {
	awk -v name="$1" -v conc="$2" -v d50="$3" -v r50="$4" -v d99="$5" -v r99="$6" 'BEGIN {
		printf "%-10s %4d %6.2fms %6.2fms %6.2fms %6.2fms %8.2fms %8.2fms\n",
			name, conc, d50, r50, d99, r99, r50 - d50, r99 - d99 }'
}
for delay in $delays; do
	provider "$delay"
	# warm the three paths (connections, the processes' first store reads)
	measure "$fake" "$key" 0 4 >/dev/null
	measure "$relay_url" "$key" 0 32 >/dev/null
	measure "$VEGA_TEST_PROXY_URL" "$all_tokens" 0 32 >/dev/null
	echo "provider latency ${delay} ms:"
	header
	relays=()
	for stream in 0 1; do
		for conc in $clients; do
			read -r _ d50 d99 df50 df99 < <(measure "$fake" "$key" $stream $conc)
			read -r _ r50 r99 rf50 rf99 < <(measure "$relay_url" "$key" $stream $conc)
			t0=$(date +%s.%N)
			read -r _ p50 p99 pf50 pf99 < <(measure "$VEGA_TEST_PROXY_URL" "$all_tokens" \
				$stream $conc)
			secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
			if [ $stream = 0 ]; then
				row whole $conc "$d50" "$p50" "$d99" "$p99" "$secs" "$r50" "$r99"
				relays+=("$(relay_row whole $conc "$d50" "$r50" "$d99" "$r99")")
			else
				row stream $conc "$d50" "$p50" "$d99" "$p99" "$secs" "$r50" "$r99"
				row "  first" $conc "$df50" "$pf50" "$df99" "$pf99" "$secs" "$rf50" "$rf99"
				relays+=("$(relay_row stream $conc "$d50" "$r50" "$d99" "$r99")")
				relays+=("$(relay_row "  first" $conc "$df50" "$rf50" "$df99" "$rf99")")
			fi
		done
	done
	# the worst case of the budget's row lock: 32 clients of one scan
	read -r _ d50 d99 _ _ < <(measure "$fake" "$key" 0 32)
	read -r _ r50 r99 _ _ < <(measure "$relay_url" "$key" 0 32)
	t0=$(date +%s.%N)
	read -r _ p50 p99 _ _ < <(measure "$VEGA_TEST_PROXY_URL" "$token" 0 32)
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	row "one scan" 32 "$d50" "$p50" "$d99" "$p99" "$secs" "$r50" "$r99"
	echo "the baseline (bench/minimal-relay), provider latency ${delay} ms:"
	printf '%-10s %4s %8s %8s %8s %8s %10s %10s\n' case conc direct50 relay50 direct99 \
		relay99 overhead50 overhead99
	printf '%s\n' "${relays[@]}"
done
