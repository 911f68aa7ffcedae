# wrk.sh - one wrk measurement, summarised (source this file).
#
#   bench_wrk URL [wrk options...]   prints "requests/s p99_ms"
#
# Uses $threads, $conns and $duration of the calling script.  Non-2xx
# answers and socket errors are reported on stderr, so a benchmark that
# measured errors says so.
bench_wrk() {
	local url=$1
	shift
	wrk -t"$threads" -c"$conns" -d"$duration" --latency "$@" "$url" 2>&1 |
		awk -v me="$(basename "$0")" '
		function ms(v) {
			if (v ~ /us$/) return (v + 0) / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return (v + 0) * 1000
			return v + 0
		}
		/^Requests\/sec:/ { rps = $2 }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx|Socket errors/ { bad = bad " " $0 }
		END {
			if (bad != "") print me ": errors:" bad > "/dev/stderr"
			printf "%.0f %.3f\n", rps, p99
		}'
}
