#!/bin/bash
# auth.sh - what authentication costs, through nginx on loopback:
#   - requests/s of GET /v1/auth/me with a valid access token (and with an
#     API key) as a ratio to GET /v1/healthz, measured in the same run,
#     rounds alternating, best round of each;
#   - how long a login takes (scrypt at the production work factor unless
#     BENCH_SCRYPT_LOG_N says otherwise), and how long a failed login
#     takes for a known and for an unknown e-mail (they should match: the
#     KDF runs against a dummy hash for unknown addresses);
#   - how long a token check takes: the program's own request duration
#     (duration_us of its access log line) for /v1/auth/me minus that for
#     /v1/healthz, medians.
#
#   make bench-auth            (builds what it needs, then runs this)
#   bench/auth.sh              (VEGA_SRCDIR, VEGA_BUILDDIR default to the
#                               source dir and the current directory)
#
# Knobs: BENCH_DURATION (wrk -d, default 10s), BENCH_ROUNDS (default 2),
# BENCH_CONNECTIONS (8), BENCH_THREADS (2), BENCH_PROCESSES (FastCGI
# processes per program, 2), BENCH_SCRYPT_LOG_N (17), BENCH_LOGINS (5),
# BENCH_BACKEND (json or postgres; postgres needs tests/helpers/pg.sh's
# throwaway cluster and starts one).  A measurement, never a pass/fail test.
set -u
. "$(dirname "$0")/wrk.sh"
VEGA_SRCDIR=${VEGA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
VEGA_BUILDDIR=${VEGA_BUILDDIR:-$PWD}
export VEGA_SRCDIR VEGA_BUILDDIR
duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-2}
conns=${BENCH_CONNECTIONS:-8}
threads=${BENCH_THREADS:-2}
logins=${BENCH_LOGINS:-5}
backend=${BENCH_BACKEND:-json}
export VG_STACK_PROCESSES=${BENCH_PROCESSES:-2}

for f in "$VEGA_BUILDDIR/cgi/vega-auth.fcgi" "$VEGA_BUILDDIR/bin/vega-maintenance"; do
	[ -x "$f" ] || { echo "auth.sh: $f is not built (make bench-auth builds it)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "auth.sh: wrk not found: apt-get install wrk" >&2; exit 1; }

# shellcheck source=../tests/helpers/stack.sh
. "$VEGA_SRCDIR/tests/helpers/stack.sh"
# shellcheck source=../tests/helpers/pg.sh
. "$VEGA_SRCDIR/tests/helpers/pg.sh"

VG_E2E_TMP=$(mktemp -d /tmp/vega-bench-auth.XXXXXX)
chmod 0755 "$VG_E2E_TMP"
export VG_E2E_TMP
stop_all() {
	vg_stack_stop
	[ "$backend" = postgres ] && vg_pg_stop
	rm -rf "$VG_E2E_TMP"
}
trap stop_all EXIT

export VEGA_DATA_DIR=$VG_E2E_TMP/data VEGA_PERSISTENCE_BACKEND=$backend
export VEGA_MIGRATIONS_DIR=$VEGA_SRCDIR/sql
export VEGA_LOG_LEVEL=info VEGA_AUTH_PROVIDER=custom
export VEGA_AUTH_SECRET=bench-secret-$(head -c 24 /dev/urandom | base64 -w0)
export VEGA_PASSWORD_SCRYPT_LOG_N=${BENCH_SCRYPT_LOG_N:-17}
# the bench fails logins on purpose: keep the throttle out of the way
export VEGA_LOGIN_MAX_FAILURES=1000000 VEGA_LOGIN_MAX_FAILURES_PER_ADDRESS=1000000
mkdir -p "$VEGA_DATA_DIR"
if [ "$backend" = postgres ]; then
	vg_pg_start || { echo "auth.sh: cannot start Postgres" >&2; exit 1; }
	export VEGA_DATABASE_URL=$VEGA_TEST_DATABASE_URL
fi
vg_stack_start nginx >&2 || exit 1
U=$VEGA_TEST_URL

# vega-maintenance as the programs' user, with their settings.
maint() {
	local kv envv=()
	while IFS= read -r -d '' kv; do
		case ${kv%%=*} in VEGA_*) envv+=("$kv") ;; esac
	done < <(env -0)
	if [ "$(id -u)" = 0 ]; then
		runuser -u www-data -- env -i PATH=/usr/bin:/bin "${envv[@]}" \
			"$VEGA_BUILDDIR/bin/vega-maintenance" "$@"
	else
		env -i PATH=/usr/bin:/bin "${envv[@]}" "$VEGA_BUILDDIR/bin/vega-maintenance" "$@"
	fi
}

email=bench@example.org
password=bench-password-$RANDOM-$RANDOM
printf '%s\n' "$password" | maint create-user "$email" --password-stdin >/dev/null ||
	{ echo "auth.sh: create-user failed" >&2; exit 1; }

# login_time EMAIL PASSWORD: seconds of one login, and the body in $T/body.
T=$VG_E2E_TMP
login_time() {
	curl -sS -o "$T/body" -w '%{time_total} %{http_code}\n' -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$1\",\"password\":\"$2\"}" "$U/v1/auth/login"
}

# mean SECONDS...: the mean of the arguments, in ms.
mean_ms() {
	printf '%s\n' "$@" | awk '{ s += $1; n++ } END { printf "%.1f", n ? s * 1000 / n : 0 }'
}

ok_t=() bad_t=() ghost_t=()
login_time "$email" "$password" >/dev/null   # warm-up
for i in $(seq 1 "$logins"); do
	read -r t c < <(login_time "$email" "$password")
	[ "$c" = 200 ] || { echo "auth.sh: login answered $c: $(cat "$T/body")" >&2; exit 1; }
	ok_t+=("$t")
	read -r t c < <(login_time "$email" "wrong-$password")
	[ "$c" = 401 ] || { echo "auth.sh: a wrong password answered $c" >&2; exit 1; }
	bad_t+=("$t")
	read -r t c < <(login_time "ghost-$i@example.org" "wrong-$password")
	[ "$c" = 401 ] || { echo "auth.sh: an unknown e-mail answered $c" >&2; exit 1; }
	ghost_t+=("$t")
done
login_time "$email" "$password" >/dev/null
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$T/body")
key=$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	--data-binary '{"name":"bench"}' "$U/v1/api-keys" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# run PATH [CREDENTIAL]: "requests/s p99_ms" of one wrk run.
run() {
	local args=()
	[ -n "${2:-}" ] && args=(-H "Authorization: Bearer $2")
	bench_wrk "$U$1" "${args[@]}"
}

wrk -t1 -c2 -d1s "$U/v1/healthz" >/dev/null 2>&1
wrk -t1 -c2 -d1s -H "Authorization: Bearer $token" "$U/v1/auth/me" >/dev/null 2>&1
best_h=0 best_t=0 best_k=0 p99_h=0 p99_t=0 p99_k=0
for i in $(seq 1 "$rounds"); do
	read -r rps p99 < <(run /v1/healthz)
	printf 'round %d  healthz            %8s req/s  p99 %7s ms\n' "$i" "$rps" "$p99"
	if [ "$rps" -gt "$best_h" ]; then best_h=$rps p99_h=$p99; fi
	read -r rps p99 < <(run /v1/auth/me "$token")
	printf 'round %d  me (access token)  %8s req/s  p99 %7s ms\n' "$i" "$rps" "$p99"
	if [ "$rps" -gt "$best_t" ]; then best_t=$rps p99_t=$p99; fi
	read -r rps p99 < <(run /v1/auth/me "$key")
	printf 'round %d  me (API key)       %8s req/s  p99 %7s ms\n' "$i" "$rps" "$p99"
	if [ "$rps" -gt "$best_k" ]; then best_k=$rps p99_k=$p99; fi
done

# The programs' own durations: median duration_us of the access log lines.
median_us() {
	grep -h "\"path\":\"$1\"" "$VG_STACK_LOGDIR"/vega-*.log | grep '"status":"200"' |
		sed -n 's/.*"duration_us":"\([0-9]*\)".*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}
med_h=$(median_us /v1/healthz)
med_m=$(median_us /v1/auth/me)

echo "backend $backend, scrypt log2 N = $VEGA_PASSWORD_SCRYPT_LOG_N, $VG_STACK_PROCESSES FastCGI processes per program"
echo "login (POST /v1/auth/login, client-side, mean of $logins):"
echo "  success               $(mean_ms "${ok_t[@]}") ms"
echo "  wrong password        $(mean_ms "${bad_t[@]}") ms"
echo "  unknown e-mail        $(mean_ms "${ghost_t[@]}") ms"
awk -v b="$(mean_ms "${bad_t[@]}")" -v g="$(mean_ms "${ghost_t[@]}")" 'BEGIN {
	if (b > 0) printf "  unknown/known failure time ratio: %.2f (1.00: nothing to learn from timing)\n", g / b }'
echo "token check (program-side median duration_us, /v1/auth/me minus /v1/healthz):"
echo "  /v1/healthz $med_h us, /v1/auth/me $med_m us: check and answer $((med_m - med_h)) us"
echo "throughput through nginx, wrk -t$threads -c$conns -d$duration, best of $rounds:"
printf '  healthz             %8s req/s  p99 %7s ms\n' "$best_h" "$p99_h"
printf '  me (access token)   %8s req/s  p99 %7s ms\n' "$best_t" "$p99_t"
printf '  me (API key)        %8s req/s  p99 %7s ms\n' "$best_k" "$p99_k"
awk -v h="$best_h" -v t="$best_t" -v k="$best_k" 'BEGIN {
	if (h > 0) printf "  ratio me/healthz: %.2f with an access token, %.2f with an API key\n", t / h, k / h
}'
