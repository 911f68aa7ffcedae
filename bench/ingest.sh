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
# A third baseline, also in the same run: dd writing as many bytes as the
# snapshot holds to the same file system with an fsync.  A snapshot is
# stored uncompressed and made durable, so its bytes must reach the disk;
# when the disk writes them slower than bsdtar decompresses them, the disk
# is the ingest's limit, and the last line says how close to
# max(bsdtar, dd) the ingest came.  CPU seconds (user + system) are shown
# too: they are what the ingest adds to the decompression.
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
	total=$(wc -c < "$work/tree.tar")
	half=$((total / 2))
	head -c "$half" "$work/tree.tar" | gzip -6 > "$work/part.0.gz" &
	tail -c "+$((half + 1))" "$work/tree.tar" | gzip -6 > "$work/part.1.gz" &
	wait
	cat "$work/part.0.gz" "$work/part.1.gz" > "$out.tmp"
	rm -f "$work/tree.tar" "$work"/part.*
	mv "$out.tmp" "$out"
}

# Run a command, timing it; sets secs (wall) and cpu (user + system).
timed() {
	t0=$(now)
	if [ -n "$timer" ]; then
		"$timer" -f 'cpu=%U %S rss=%M' -o "$work/time.out" "$@"
	else
		"$@"
	fi
	t1=$(now)
	secs=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
	cpu=$(sed -n 's/^cpu=\([0-9.]*\) \([0-9.]*\).*/\1 \2/p' "$work/time.out" 2>/dev/null |
		awk '{printf "%.2f", $1 + $2}')
	cpu=${cpu:-?}
}

for order in $orders; do
	archive=$work/tree-$mb-$order.tar.gz
	[ -s "$archive" ] || make_archive "$order" "$archive"
	size=$(wc -c < "$archive")
	best_b= best_i= best_d= rss= line= cpu_b= cpu_i=
	r=0
	while [ "$r" -lt "$rounds" ]; do
		r=$((r + 1))
		# Warm the page cache alike for both readers.
		cat "$archive" > /dev/null
		timed sh -c 'bsdtar -tzf "$1" > /dev/null' sh "$archive"
		b=$secs c_b=$cpu
		rm -rf "$work/data"
		export VEGA_DATA_DIR="$work/data"
		# A 1 GiB tarball of code-sized files holds more entries than the
		# default 50,000; the size limits are raised to fit the bench.
		export VEGA_MAX_ARCHIVE_ENTRIES=10000000
		export VEGA_MAX_SOURCE_BYTES=$((size + 1))
		export VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES=$((mb * 2 * 1048576))
		timed "$bin" ingest "$archive" > "$work/ingest.out"
		i=$secs c_i=$cpu
		line=$(cat "$work/ingest.out")
		bytes=$(echo "$line" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
		r_rss=$(echo "$line" | sed -n 's/.*max_rss_kib=\([0-9]*\).*/\1/p')
		if [ -n "$timer" ]; then
			r_rss=$(sed -n 's/.*rss=\([0-9]*\).*/\1/p' "$work/time.out")
		fi
		rm -rf "$work/data"
		# The disk: as many bytes as the snapshot, written and fsync'ed.
		timed dd if=/dev/zero of="$work/dd.out" bs=1M count=$((bytes / 1048576 + 1)) \
			conv=fsync status=none
		d=$secs
		rm -f "$work/dd.out"
		echo "  round $r: bsdtar -tzf ${b}s (cpu $c_b), ingest ${i}s (cpu $c_i), dd ${d}s, peak RSS ${r_rss} KiB" >&2
		if [ -z "$best_b" ] || [ "$(echo "$b $best_b" | awk '{print ($1 < $2)}')" = 1 ]; then
			best_b=$b cpu_b=$c_b
		fi
		if [ -z "$best_i" ] || [ "$(echo "$i $best_i" | awk '{print ($1 < $2)}')" = 1 ]; then
			best_i=$i cpu_i=$c_i
		fi
		best_d=$(echo "${best_d:-$d} $d" | awk '{print ($2 < $1) ? $2 : $1}')
		rss=$(echo "${rss:-0} $r_rss" | awk '{print ($2 > $1) ? $2 : $1}')
	done
	files=$(echo "$line" | sed -n 's/.*files=\([0-9]*\).*/\1/p')
	echo "$order order: $archive (best of $rounds rounds)"
	echo "$size $bytes $files $best_b $best_i $rss $best_d $cpu_b $cpu_i" | awk '{
		mib = 1048576
		printf "  archive       %.2f GiB compressed, %.2f GiB in %d files\n", $1 / mib / 1024, $2 / mib / 1024, $3
		printf "  bsdtar -tzf   %7.2f s  %7.1f MiB/s   cpu %6s s\n", $4, $1 / mib / $4, $8
		printf "  ingest        %7.2f s  %7.1f MiB/s   cpu %6s s   peak RSS %.1f MiB\n", $5, $1 / mib / $5, $9, $6 / 1024
		printf "  dd + fsync    %7.2f s  (%.1f MiB/s to disk, the snapshot'"'"'s size)\n", $7, $2 / mib / $7
		ratio = $4 / $5
		floor = ($7 > $4) ? $7 : $4
		met_ratio = (ratio >= 0.7) ? "met" : "NOT met"
		met_rss = ($6 < 65536) ? "met" : "NOT met"
		printf "  ratio         %.2f of bsdtar (goal >= 0.70: %s); peak RSS goal < 64 MiB: %s\n", ratio, met_ratio, met_rss
		printf "  vs the limit  %.2f of max(bsdtar, dd) = %.2f s\n", floor / $5, floor
	}'
done
rm -f "$work/time.out" "$work/ingest.out"
