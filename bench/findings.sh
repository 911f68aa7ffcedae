#!/bin/bash
# findings.sh - the first page of a repository's findings under load:
# GET /v1/repositories/{id}/findings?limit=50 (default sort: most severe
# first) of a repository holding 10,000 findings, through nginx on
# loopback, with an access token, as a ratio to GET /v1/healthz measured
# in the same run with the same wrk settings (rounds alternating, the
# best round of each counts: this machine is shared and noisy).  The goal
# is a ratio of at least 0.3.  GET /v1/auth/me with the same token is a
# second baseline: it pays the token check and one user read, so
# findings/me shows what the list itself costs.  Each is printed with
# requests/s, p50 and p99 (wrk --latency), and the programs' own median
# request time (duration_us of their access log lines).
#
# Both persistence backends by default: json (files under a temporary
# VEGA_DATA_DIR) and postgres (a throwaway cluster from
# tests/helpers/pg.sh, fsync off).  For each: a fresh stack
# (tests/helpers/stack.sh), an account (vega-maintenance create-user), a
# log-in, a project and a repository through the API, then
# bench/findings-fill puts one scan with the findings in through the store
# (snapshot row, scan, claim, start, one upsert per finding under the
# lease, finish completed: the repository's baseline scan; severities,
# paths and CWE ids drawn from a weighted table of rules, see
# findings-fill.c).  On postgres the bench then runs ANALYZE, as
# autovacuum would shortly after such a bulk write (the steady state is
# measured, not the first minute after a big scan).  The first page is
# checked (200, limit items) before it is measured.
#
#   make bench-findings        (builds what it needs, then runs this)
#   bench/findings.sh          (VEGA_SRCDIR, VEGA_BUILDDIR default to the
#                               source dir and the current directory)
#
# Knobs (environment): BENCH_BACKENDS (default "json postgres"),
# BENCH_FINDINGS (10000), BENCH_PAGE (limit, 50), BENCH_DURATION (wrk -d,
# 10s), BENCH_ROUNDS (2), BENCH_CONNECTIONS (8), BENCH_THREADS (2),
# BENCH_PROCESSES (FastCGI processes per program: 4, what the shipped
# units start, FCGI_PROCESSES in systemd/vega-fcgi@.service and
# VEGA_FCGI_PROCESSES in httpd/local.mk; a findings request waits on
# Postgres, and with 2 processes the CPUs idle through those waits),
# BENCH_FILL_PROCESSES
# (parallel fillers: default 1 for json, whose upserts serialise on the
# collections' locks anyway, 4 for postgres), BENCH_PERF=DIR (record the
# vega-scans processes with `perf record -g` during one extra findings run
# per backend, into DIR/vega-scans.BACKEND.data; `perf report -i` it).
# A measurement, never a pass/fail test: a missed goal is reported, not
# failed.
set -u
VEGA_SRCDIR=${VEGA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
VEGA_BUILDDIR=${VEGA_BUILDDIR:-$PWD}
export VEGA_SRCDIR VEGA_BUILDDIR
backends=${BENCH_BACKENDS:-json postgres}
count=${BENCH_FINDINGS:-10000}
page=${BENCH_PAGE:-50}
duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-2}
conns=${BENCH_CONNECTIONS:-8}
threads=${BENCH_THREADS:-2}
export VG_STACK_PROCESSES=${BENCH_PROCESSES:-4}
me=findings.sh
fill=$VEGA_BUILDDIR/bench/findings-fill

for f in "$VEGA_BUILDDIR/cgi/vega-scans.fcgi" "$VEGA_BUILDDIR/cgi/vega-auth.fcgi" \
	"$VEGA_BUILDDIR/bin/vega-maintenance" "$fill"; do
	[ -x "$f" ] || { echo "$me: $f is not built (make bench-findings builds it)" >&2; exit 1; }
done
for tool in wrk curl python3 nginx spawn-fcgi; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$me: $tool is needed" >&2; exit 1; }
done

# shellcheck source=../tests/helpers/stack.sh
. "$VEGA_SRCDIR/tests/helpers/stack.sh"
# shellcheck source=../tests/helpers/pg.sh
. "$VEGA_SRCDIR/tests/helpers/pg.sh"

top=$(mktemp -d /tmp/vega-bench-findings.XXXXXX) || exit 1
chmod 0755 "$top"
perf_pid=
stop_all() {
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null
	[ -n "${VG_E2E_TMP:-}" ] && vg_stack_stop
	vg_pg_stop
	rm -rf "$top"
}
trap stop_all EXIT

# as_programs CMD...: CMD as the programs' user, with their VEGA_* settings
# only (the fillers and vega-maintenance write files the programs read).
as_programs() {
	local kv envv=()
	while IFS= read -r -d '' kv; do
		case ${kv%%=*} in VEGA_SRCDIR | VEGA_BUILDDIR | VEGA_TEST_*) ;; VEGA_*) envv+=("$kv") ;; esac
	done < <(env -0)
	if [ "$(id -u)" = 0 ]; then
		runuser -u www-data -- env -i PATH=/usr/bin:/bin "${envv[@]}" "$@"
	else
		env -i PATH=/usr/bin:/bin "${envv[@]}" "$@"
	fi
}

# api METHOD PATH [JSON]: the body of a call with the token, which must
# answer 2xx.
api() {
	local code
	code=$(curl -sS -o "$top/api.out" -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "$U$2") || return 1
	case $code in 2??) cat "$top/api.out" ;; *)
		echo "$me: $1 $2 answered $code: $(head -c 600 "$top/api.out")" >&2; return 1 ;;
	esac
}

# json EXPR: python expression over the JSON value j read from stdin.
json() {
	python3 -c 'import json,sys; j = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# measure URL [CREDENTIAL]: "requests/s p50_ms p99_ms" of one wrk run;
# non-2xx answers and socket errors go to stderr.  A 30 s timeout: a slow
# answer counts in the latencies rather than as a socket error.
measure() {
	local args=()
	[ -n "${2:-}" ] && args=(-H "Authorization: Bearer $2")
	wrk -t"$threads" -c"$conns" -d"$duration" --timeout 30s --latency "${args[@]}" "$1" 2>&1 |
		awk -v me="$me" '
		function ms(v) {
			if (v ~ /us$/) return (v + 0) / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return (v + 0) * 1000
			return v + 0
		}
		/^Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx|Socket errors/ { bad = bad " " $0 }
		END {
			if (bad != "") print me ": errors:" bad > "/dev/stderr"
			printf "%.1f %.3f %.3f\n", rps, p50, p99
		}'
}

# gt A B: whether the number A is greater than B.
gt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'
}

# median_us PATH_REGEX: median duration_us of the programs' 200 answers
# whose logged path matches.
median_us() {
	grep -h "\"path\":\"$1\"" "$VG_STACK_LOGDIR"/vega-*.log | grep '"status":"200"' |
		sed -n 's/.*"duration_us":"\{0,1\}\([0-9]*\).*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}

# The vega-scans processes of the running stack.
scans_pids() {
	local pid
	while read -r pid || [ -n "$pid" ]; do
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -r "/proc/$pid/status" ] && echo "$pid"
	done <"$VG_STACK_DIR/pids/vega-scans.pid"
}

# One backend: fresh stack, data, measurements.  Appends its summary to
# $top/summary.
bench_backend() {
	local backend=$1 fillers email password user proj repo scan secs n h m f
	local best_h=0 best_m=0 best_f=0 p50_h=0 p50_m=0 p50_f=0 p99_h=0 p99_m=0 p99_f=0
	local rps p50 p99 i bytes furl
	export VG_E2E_TMP=$top/$backend
	mkdir -p "$VG_E2E_TMP/data" && chmod 0755 "$VG_E2E_TMP"
	export VEGA_DATA_DIR=$VG_E2E_TMP/data VEGA_PERSISTENCE_BACKEND=$backend
	export VEGA_MIGRATIONS_DIR=$VEGA_SRCDIR/sql VEGA_LOG_LEVEL=info VEGA_AUTH_PROVIDER=custom
	VEGA_AUTH_SECRET=bench-secret-$(head -c 24 /dev/urandom | base64 -w0)
	export VEGA_AUTH_SECRET
	# a login is not what is measured: a cheap KDF
	export VEGA_PASSWORD_SCRYPT_LOG_N=14
	unset VEGA_DATABASE_URL
	if [ "$backend" = postgres ]; then
		vg_pg_start || { echo "$me: cannot start Postgres" >&2; return 1; }
		export VEGA_DATABASE_URL=$VEGA_TEST_DATABASE_URL
		fillers=${BENCH_FILL_PROCESSES:-4}
	else
		fillers=${BENCH_FILL_PROCESSES:-1}
	fi
	vg_stack_start nginx >&2 || return 1
	U=$VEGA_TEST_URL

	email=bench@example.org
	password=bench-password-$RANDOM-$RANDOM
	printf '%s\n' "$password" | as_programs "$VEGA_BUILDDIR/bin/vega-maintenance" \
		create-user "$email" --password-stdin >/dev/null ||
		{ echo "$me: create-user failed" >&2; return 1; }
	token=$(curl -sS -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$email\",\"password\":\"$password\"}" \
		"$U/v1/auth/login" | json 'j["access_token"]') || return 1
	user=$(api GET /v1/auth/me | json 'j.get("id") or j["user"]["id"]') || return 1
	proj=$(api POST /v1/projects '{"name":"bench"}' | json 'j["id"]') || return 1
	repo=$(api POST "/v1/projects/$proj/repositories" \
		'{"name":"service","source_type":"upload"}' | json 'j["id"]') || return 1

	echo "$me: $backend: filling $count findings ($fillers filler process(es))..." >&2
	read -r scan secs < <(as_programs "$fill" "$repo" "$user" "$count" "$fillers") ||
		{ echo "$me: findings-fill failed" >&2; return 1; }
	[ -n "${secs:-}" ] || { echo "$me: findings-fill failed" >&2; return 1; }
	if [ "$backend" = postgres ]; then
		# What autovacuum does within a minute or so of a bulk write; before
		# it, the planner's row estimate for the repository is stale and
		# the page is sorted from all its rows instead of read off the
		# severity index (about 20 times slower in the store).
		vg_pg_as "$VG_PG_BIN/psql" -h "$VG_PG_DIR" -p "$VG_PG_PORT" -U vega -d vega -qc ANALYZE ||
			{ echo "$me: ANALYZE failed" >&2; return 1; }
	fi
	n=$(api GET "/v1/scans/$scan" | json 'j["findings_count"]') || return 1
	furl="$U/v1/repositories/$repo/findings?limit=$page"
	api GET "/v1/repositories/$repo/findings?limit=$page" >"$top/page.json" || return 1
	bytes=$(wc -c <"$top/page.json")
	i=$(json 'len(j["items"])' <"$top/page.json")
	if [ "$i" != "$page" ]; then
		echo "$me: the first page has $i items, not $page" >&2
		return 1
	fi
	echo "$me: $backend: $n findings in ${secs}s ($(awk -v n="$n" -v s="$secs" \
		'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }') upserts/s); first page $bytes bytes," \
		"first item $(json '"%s %s %s" % (j["items"][0]["severity"], j["items"][0]["file_path"], j["items"][0]["baseline_state"])' <"$top/page.json")" >&2

	wrk -t1 -c2 -d1s "$U/v1/healthz" >/dev/null 2>&1
	wrk -t1 -c2 -d1s -H "Authorization: Bearer $token" "$U/v1/auth/me" >/dev/null 2>&1
	wrk -t1 -c2 -d2s -H "Authorization: Bearer $token" "$furl" >/dev/null 2>&1
	for i in $(seq 1 "$rounds"); do
		read -r rps p50 p99 < <(measure "$U/v1/healthz")
		printf '%-8s round %d  healthz    %8s req/s  p50 %8s ms  p99 %8s ms\n' "$backend" "$i" "$rps" "$p50" "$p99"
		if gt "$rps" "$best_h"; then best_h=$rps p50_h=$p50 p99_h=$p99; fi
		read -r rps p50 p99 < <(measure "$U/v1/auth/me" "$token")
		printf '%-8s round %d  auth/me    %8s req/s  p50 %8s ms  p99 %8s ms\n' "$backend" "$i" "$rps" "$p50" "$p99"
		if gt "$rps" "$best_m"; then best_m=$rps p50_m=$p50 p99_m=$p99; fi
		read -r rps p50 p99 < <(measure "$furl" "$token")
		printf '%-8s round %d  findings   %8s req/s  p50 %8s ms  p99 %8s ms\n' "$backend" "$i" "$rps" "$p50" "$p99"
		if gt "$rps" "$best_f"; then best_f=$rps p50_f=$p50 p99_f=$p99; fi
	done
	h=$(median_us /v1/healthz)
	m=$(median_us /v1/auth/me)
	f=$(median_us "/v1/repositories/$repo/findings")

	if [ -n "${BENCH_PERF:-}" ]; then
		mkdir -p "$BENCH_PERF"
		perf record -q -g -o "$BENCH_PERF/vega-scans.$backend.data" \
			-p "$(scans_pids | paste -sd,)" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 1
		measure "$furl" "$token" >/dev/null
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		perf_pid=
		echo "$me: $backend: perf data in $BENCH_PERF/vega-scans.$backend.data" >&2
	fi

	{
		echo "backend $backend: $n findings in one completed scan (filled in ${secs}s by $fillers process(es)); first page $bytes bytes"
		printf '  %-34s %8s req/s  p50 %8s ms  p99 %8s ms  program median %6s us\n' \
			"GET /v1/healthz" "$best_h" "$p50_h" "$p99_h" "$h"
		printf '  %-34s %8s req/s  p50 %8s ms  p99 %8s ms  program median %6s us\n' \
			"GET /v1/auth/me (access token)" "$best_m" "$p50_m" "$p99_m" "$m"
		printf '  %-34s %8s req/s  p50 %8s ms  p99 %8s ms  program median %6s us\n' \
			"GET .../findings?limit=$page" "$best_f" "$p50_f" "$p99_f" "$f"
		awk -v h="$best_h" -v m="$best_m" -v f="$best_f" -v ph="$p99_h" -v pm="$p99_m" \
			-v pf="$p99_f" -v uh="$h" -v um="$m" -v uf="$f" 'BEGIN {
			if (h > 0 && m > 0) {
				r = f / h
				printf "  ratio findings/healthz %.4f (goal >= 0.30: %s); auth/me/healthz %.3f; findings/auth/me %.4f\n", r, (r >= 0.3 ? "met" : "NOT met"), m / h, f / m
			}
			if (ph > 0 && pm > 0)
				printf "  p99 findings/healthz %.1fx, findings/auth/me %.1fx\n", pf / ph, pf / pm
			printf "  program-side: token check + user read %d us (auth/me - healthz), the list itself %d us (findings - auth/me)\n", um - uh, uf - um
		}'
	} >>"$top/summary"

	vg_stack_stop
	[ "$backend" = postgres ] && vg_pg_stop
	return 0
}

: >"$top/summary"
for b in $backends; do
	case $b in json | postgres) ;; *) echo "$me: unknown backend '$b'" >&2; exit 1 ;; esac
	bench_backend "$b" || { echo "$me: the $b run failed" >&2; exit 1; }
done
echo "GET /v1/repositories/{id}/findings?limit=$page through nginx, $VG_STACK_PROCESSES FastCGI processes per program, wrk -t$threads -c$conns -d$duration --latency, best of $rounds rounds (by req/s):"
cat "$top/summary"
