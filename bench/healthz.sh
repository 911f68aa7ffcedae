#!/bin/bash
# healthz.sh - GET /v1/healthz through nginx: vega-ops against the smallest
# libfcgi program (bench/minimal-fcgi), with the same nginx configuration
# (httpd/vega-nginx.conf, rendered by tests/helpers/stack.sh) and the same
# number of FastCGI processes.  Prints requests/s and p99 latency of each
# and the ratio vega/minimal; the goal is a ratio of at least 0.8.
#
#   make bench              (builds what it needs, then runs this)
#   bench/healthz.sh        (VEGA_SRCDIR, VEGA_BUILDDIR default to the
#                            source dir and the current directory)
#
# Knobs (environment): BENCH_DURATION (wrk -d, default 10s), BENCH_ROUNDS
# (default 2: rounds alternate vega and minimal, the best round of each
# counts, since this machine is shared and noisy), BENCH_CONNECTIONS
# (default 8), BENCH_THREADS (default 2), BENCH_PROCESSES (FastCGI
# processes per program, default 2), BENCH_LOG_LEVEL (VEGA_LOG_LEVEL of
# vega-ops, default info as in production), BENCH_KEEPALIVE=N (measure the
# configuration httpd/README.md advises against: an upstream keepalive
# pool of N connections per nginx worker and fastcgi_keep_conn on).
# Loopback only.  This is a measurement, never a pass/fail test.
set -u
. "$(dirname "$0")/wrk.sh"
VEGA_SRCDIR=${VEGA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
VEGA_BUILDDIR=${VEGA_BUILDDIR:-$PWD}
export VEGA_SRCDIR VEGA_BUILDDIR
duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-2}
conns=${BENCH_CONNECTIONS:-8}
threads=${BENCH_THREADS:-2}
export VG_STACK_PROCESSES=${BENCH_PROCESSES:-2}

minimal=$VEGA_BUILDDIR/bench/minimal-fcgi
for f in "$minimal" "$VEGA_BUILDDIR/cgi/vega-ops.fcgi"; do
	[ -x "$f" ] || { echo "healthz.sh: $f is not built (make bench builds it)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "healthz.sh: wrk not found: apt-get install wrk" >&2; exit 1; }

# shellcheck source=../tests/helpers/stack.sh
. "$VEGA_SRCDIR/tests/helpers/stack.sh"

top=$(mktemp -d /tmp/vega-bench.XXXXXX)
chmod 0755 "$top"
# The baseline answers on every program's socket: a directory of links.
mkdir -p "$top/minimal-progs"
for p in $VG_STACK_PROGRAMS; do ln -s "$minimal" "$top/minimal-progs/$p.fcgi"; done

stop_all() {
	VG_E2E_TMP=$top/vega vg_stack_stop
	VG_E2E_TMP=$top/minimal vg_stack_stop
	rm -rf "$top"
}
trap stop_all EXIT

# start NAME PROGDIR: a stack under $top/NAME; prints its URL.
start() {
	mkdir -p "$top/$1/data" && chmod 0755 "$top/$1"
	(
		export VG_E2E_TMP=$top/$1 VG_STACK_PROGDIR=$2
		export VEGA_DATA_DIR=$top/$1/data VEGA_PERSISTENCE_BACKEND=json
		export VEGA_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
		vg_stack_start nginx >&2 && echo "$VEGA_TEST_URL"
	)
}

vega_url=$(start vega "$VEGA_BUILDDIR/cgi") || exit 1
minimal_url=$(start minimal "$top/minimal-progs") || exit 1

if [ -n "${BENCH_KEEPALIVE:-}" ]; then
	for s in vega minimal; do
		sed -i -e "s|^\(upstream [a-z_]* *{ server unix:[^;]*;\) }|\1 keepalive $BENCH_KEEPALIVE; }|" \
			-e 's/fastcgi_keep_conn off;/fastcgi_keep_conn on;/' "$top/$s/stack/vega-nginx.conf"
		kill -HUP "$(cat "$top/$s/stack/nginx.pid")"
	done
	sleep 1
	echo "nginx: upstream keepalive $BENCH_KEEPALIVE, fastcgi_keep_conn on"
fi

# run URL: "requests/s p99_ms" of one wrk run.
run() {
	bench_wrk "$1/v1/healthz"
}

# Warm both up (first connections, page cache), then alternate.
wrk -t1 -c2 -d1s "$vega_url/v1/healthz" >/dev/null 2>&1
wrk -t1 -c2 -d1s "$minimal_url/v1/healthz" >/dev/null 2>&1
best_v=0 best_m=0 p99_v=0 p99_m=0
for i in $(seq 1 "$rounds"); do
	read -r rps p99 < <(run "$vega_url")
	printf 'round %d  vega-ops      %8s req/s  p99 %7s ms\n' "$i" "$rps" "$p99"
	if [ "$rps" -gt "$best_v" ]; then best_v=$rps p99_v=$p99; fi
	read -r rps p99 < <(run "$minimal_url")
	printf 'round %d  minimal-fcgi  %8s req/s  p99 %7s ms\n' "$i" "$rps" "$p99"
	if [ "$rps" -gt "$best_m" ]; then best_m=$rps p99_m=$p99; fi
done

echo "GET /v1/healthz through nginx, $VG_STACK_PROCESSES FastCGI processes, wrk -t$threads -c$conns -d$duration, best of $rounds:"
printf '  vega-ops      %8s req/s  p99 %7s ms\n' "$best_v" "$p99_v"
printf '  minimal-fcgi  %8s req/s  p99 %7s ms\n' "$best_m" "$p99_m"
awk -v v="$best_v" -v m="$best_m" 'BEGIN {
	if (m > 0) printf "  ratio vega/minimal: %.2f (goal >= 0.80)\n", v / m
	else print "  ratio vega/minimal: n/a (the baseline did not answer)"
}'
