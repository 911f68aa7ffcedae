#!/bin/sh
# bench/ingest.sh - archive ingestion throughput, library level.
#
# Builds a ~1 GiB tar.gz of source-like text (deterministic content,
# compressible like code), then, in the same run, times `bsdtar -tzf`
# reading it (the decompression limit: it must inflate every byte too)
# and bench/ingest-bench ingesting it through vg_archive_ingest into the
# local file storage.  Prints both rates, their ratio (goal: >= 0.7) and
# the ingest's peak RSS (goal: < 64 MiB).  It reports; it does not fail
# when a goal is missed (these machines are shared and noisy).
#
# Two archives: files in sorted order (as git archive and GitHub tarballs
# list them: the spool becomes the stored tar with no copy) and in
# scrambled order (as a tar of a directory in readdir() order: the files
# are copied into sorted order at the end).
#
# Environment:
#   VEGA_BUILDDIR       build directory (default: the current one)
#   VEGA_BENCH_DIR      where archives are kept between runs and the data
#                       directory lives (default: $TMPDIR/vega-bench-ingest);
#                       needs ~2 GiB for the archives plus ~8 GiB while
#                       ingesting
#   VEGA_BENCH_MB       megabytes of text before compression (default 3600,
#                       about 1 GiB of gzip)
#   VEGA_BENCH_ORDERS   "sorted scrambled" (default) or either one
#   VEGA_BENCH_ROUNDS   timed rounds per archive, best kept (default 2)
set -eu

builddir=${VEGA_BUILDDIR:-$(pwd)}
bin=$builddir/bench/ingest-bench
work=${VEGA_BENCH_DIR:-${TMPDIR:-/tmp}/vega-bench-ingest}
mb=${VEGA_BENCH_MB:-3600}
orders=${VEGA_BENCH_ORDERS:-sorted scrambled}
rounds=${VEGA_BENCH_ROUNDS:-2}

for tool in bsdtar gzip split awk; do
	command -v "$tool" >/dev/null 2>&1 || { echo "ingest.sh: $tool is needed" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "ingest.sh: build $bin first (make bench/ingest-bench)" >&2; exit 1; }
timer=
if [ -x /usr/bin/time ]; then
	timer=/usr/bin/time
fi
mkdir -p "$work"

# Seconds since the epoch with nanoseconds.
now() { date +%s.%N; }

# gzip in two halves at once (two gzip members, which every reader
# accepts as one stream): the compression is the slow part of setting up.
make_archive() {
	order=$1 out=$2
	echo "ingest.sh: generating $out ($mb MB of text, $order order; kept for later runs)" >&2
	"$bin" gen "$mb" "$order" > "$work/tree.tar"
	rm -f "$work"/part.*
	(cd "$work" && split -n 2 -d --filter='gzip -6 > "$FILE.gz"' tree.tar part.)
	cat "$work/part.00.gz" "$work/part.01.gz" > "$out.tmp"
	rm -f "$work/tree.tar" "$work"/part.*
	mv "$out.tmp" "$out"
}

for order in $orders; do
	archive=$work/tree-$mb-$order.tar.gz
	[ -s "$archive" ] || make_archive "$order" "$archive"
	size=$(wc -c < "$archive")
	best_b= best_i= rss= line=
	r=0
	while [ "$r" -lt "$rounds" ]; do
		r=$((r + 1))
		# Warm the page cache alike for both readers.
		cat "$archive" > /dev/null
		t0=$(now)
		bsdtar -tzf "$archive" > /dev/null
		t1=$(now)
		b=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
		rm -rf "$work/data"
		export VEGA_DATA_DIR="$work/data"
		# A 1 GiB tarball of code-sized files holds more entries than the
		# default 50,000; the size limits are raised to fit the bench.
		export VEGA_MAX_ARCHIVE_ENTRIES=10000000
		export VEGA_MAX_SOURCE_BYTES=$((size + 1))
		export VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES=$((mb * 2 * 1048576))
		t0=$(now)
		if [ -n "$timer" ]; then
			line=$("$timer" -f 'time_max_rss_kib=%M' -o "$work/time.out" "$bin" ingest "$archive")
		else
			line=$("$bin" ingest "$archive")
		fi
		t1=$(now)
		i=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
		rm -rf "$work/data"
		r_rss=$(echo "$line" | sed -n 's/.*max_rss_kib=\([0-9]*\).*/\1/p')
		if [ -n "$timer" ] && [ -s "$work/time.out" ]; then
			r_rss=$(sed -n 's/^time_max_rss_kib=//p' "$work/time.out")
		fi
		echo "  round $r: bsdtar -tzf ${b}s, ingest ${i}s, peak RSS ${r_rss} KiB" >&2
		best_b=$(echo "${best_b:-$b} $b" | awk '{print ($2 < $1) ? $2 : $1}')
		best_i=$(echo "${best_i:-$i} $i" | awk '{print ($2 < $1) ? $2 : $1}')
		rss=$(echo "${rss:-0} $r_rss" | awk '{print ($2 > $1) ? $2 : $1}')
	done
	files=$(echo "$line" | sed -n 's/.*files=\([0-9]*\).*/\1/p')
	bytes=$(echo "$line" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
	echo "$order order: $archive"
	echo "$size $bytes $files $best_b $best_i $rss" | awk '{
		mib = 1048576
		printf "  archive       %.2f GiB compressed, %.2f GiB in %d files\n", $1 / mib / 1024, $2 / mib / 1024, $3
		printf "  bsdtar -tzf   %7.2f s  %7.1f MiB/s\n", $4, $1 / mib / $4
		printf "  ingest        %7.2f s  %7.1f MiB/s  peak RSS %.1f MiB\n", $5, $1 / mib / $5, $6 / 1024
		ratio = $4 / $5
		met_ratio = (ratio >= 0.7) ? "met" : "NOT met"
		met_rss = ($6 < 65536) ? "met" : "NOT met"
		printf "  ratio         %.2f (goal >= 0.70: %s); peak RSS goal < 64 MiB: %s\n", ratio, met_ratio, met_rss
	}'
done
rm -f "$work/time.out"
