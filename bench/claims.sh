#!/bin/bash
# claims.sh - claims per second of vg_store_scan_claim with 1, 4 and 8
# concurrent claimer processes on one throwaway Postgres, the 1-claimer
# figure as the baseline ratio, and a count of double claims (must be 0).
# The goal: at least 1,000 claims/s with 8 claimers.
#
#   make bench-claims        (builds bench/claims, then runs this)
#   bench/claims.sh          (VEGA_SRCDIR, VEGA_BUILDDIR default to the
#                             source dir and the current directory)
#
# Knobs: BENCH_CLAIMS_SCANS (queued scans per round, default 4000),
# BENCH_CLAIMERS (default "1 4 8").  A measurement, never a pass/fail
# test; it exits 1 only when a scan was claimed twice or missed.
set -u
VEGA_SRCDIR=${VEGA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
VEGA_BUILDDIR=${VEGA_BUILDDIR:-$PWD}
scans=${BENCH_CLAIMS_SCANS:-4000}
claimers=${BENCH_CLAIMERS:-1 4 8}
prog=$VEGA_BUILDDIR/bench/claims
[ -x "$prog" ] || { echo "claims.sh: $prog is not built (make bench-claims builds it)" >&2; exit 1; }

# shellcheck source=../tests/helpers/pg.sh
. "$VEGA_SRCDIR/tests/helpers/pg.sh"
work=$(mktemp -d /tmp/vega-bench-claims.XXXXXX)
trap 'vg_pg_stop; rm -rf "$work"' EXIT
vg_pg_start || { echo "claims.sh: cannot start Postgres" >&2; exit 1; }
export VEGA_PERSISTENCE_BACKEND=postgres VEGA_DATABASE_URL=$VEGA_TEST_DATABASE_URL
export VEGA_DATA_DIR=$work VEGA_MIGRATIONS_DIR=$VEGA_SRCDIR/sql VEGA_LOG_LEVEL=error
"$VEGA_BUILDDIR/bin/vega-maintenance" migrate >/dev/null || exit 1

args=()
for n in $claimers; do args+=("$n" "$scans"); done
echo "vg_store_scan_claim on one Postgres (fsync off), $scans queued scans per round:"
"$prog" "${args[@]}"
