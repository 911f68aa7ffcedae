#!/bin/bash
# bench/engine.sh [BUILDDIR] - the rules engine's throughput against
# flawfinder (C) and bandit (Python), both from Debian, on large real trees
# taken from Debian packages (the kernel source tarball of linux-source, the
# files python3-django installs), measured in the same run; peak memory of
# each; and the corpus score of each tool where it applies.
#
# Prints one line per measurement and the ratios baseline_time / vega_time
# (above 1: Vega is faster).  Installs what it needs with apt-get.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
runner=$build/bin/vega-runner
[ -x "$runner" ] || { echo "no $runner: build first (bench/engine.sh BUILDDIR)" >&2; exit 2; }
export VEGA_RULES_DIR=$src/lib/engine/rules

need() {
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	if [ ${#missing[@]} -gt 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}
need flawfinder bandit python3-django linux-source time

work=$(mktemp -d /tmp/vega-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# C: the kernel's net/, fs/ and drivers/net/ folders (hundreds of MB of C
# would take the baseline many minutes; these are ~100 MB).
tarball=$(ls /usr/src/linux-source-*.tar.* | head -1)
top=$(tar tf "$tarball" | head -1 | cut -d/ -f1)
tar xf "$tarball" -C "$work" "$top/net" "$top/fs" "$top/drivers/net/ethernet/intel" "$top/kernel"
ctree=$work/$top
# Python: the Django that python3-django installs.
pytree=$(python3 -c 'import django, os; print(os.path.dirname(django.__file__))' 2>/dev/null ||
	echo /usr/lib/python3/dist-packages/django)

bytes_of() { find "$1" -type f -name "$2" -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
files_of() { find "$1" -type f -name "$2" | wc -l; }

# measure NAME CMD... : wall seconds and peak RSS (KiB) into $secs/$kib
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
	read -r secs kib < <(tail -1 "$work/time")
	printf '%-28s %8.2f s  %8d KiB peak\n' "$name" "$secs" "$kib"
}

echo "C tree: $ctree: $(files_of "$ctree" '*.[ch]') files, $(( $(bytes_of "$ctree" '*.[ch]') / 1048576 )) MiB of .c/.h"
echo "Python tree: $pytree: $(files_of "$pytree" '*.py') files, $(( $(bytes_of "$pytree" '*.py') / 1048576 )) MiB of .py"
echo

measure "vega (C tree)" "$runner" --dir "$ctree" --sarif "$work/vc.sarif" --fail-on none --quiet
v_c=$secs v_c_kib=$kib
measure "flawfinder (C tree)" flawfinder --quiet --dataonly --sarif "$ctree"
f_c=$secs
measure "vega (Python tree)" "$runner" --dir "$pytree" --sarif "$work/vp.sarif" --fail-on none --quiet
v_p=$secs v_p_kib=$kib
measure "bandit (Python tree)" bandit -r -q -f json -o "$work/bandit.json" "$pytree"
b_p=$secs
echo
awk -v f="$f_c" -v v="$v_c" 'BEGIN { printf "ratio flawfinder/vega on C:      %6.1fx\n", f / (v > 0 ? v : 0.01) }'
awk -v b="$b_p" -v v="$v_p" 'BEGIN { printf "ratio bandit/vega on Python:    %6.1fx\n", b / (v > 0 ? v : 0.01) }'
echo "vega peak memory: C $((v_c_kib / 1024)) MiB, Python $((v_p_kib / 1024)) MiB (goal: under 256 MiB)"
echo "vega findings: C $(jq '.runs[0].results | length' "$work/vc.sarif"), Python $(jq '.runs[0].results | length' "$work/vp.sarif")"

# The labelled corpus, scored for each tool on the files it can read.
corpus=$src/tests/fixtures/engine/corpus
echo
"$runner" --dir "$corpus" --sarif "$work/corpus.sarif" --fail-on none --quiet
python3 "$src/bench/score.py" "$work/corpus.sarif" "$corpus/expected.csv" --name vega
echo
python3 "$src/bench/score.py" "$work/corpus.sarif" "$corpus/expected.csv" --name vega-c --only-ext .c
(cd "$corpus" && flawfinder --quiet --dataonly --sarif . >"$work/ff.sarif" 2>/dev/null || true)
python3 "$src/bench/score.py" "$work/ff.sarif" "$corpus/expected.csv" --name flawfinder --only-ext .c --any-cwe
echo
python3 "$src/bench/score.py" "$work/corpus.sarif" "$corpus/expected.csv" --name vega-py --only-ext .py
(cd "$corpus" && bandit -r -q -f json -o "$work/bandit-corpus.json" . >/dev/null 2>&1 || true)
# bandit 1.6 has no SARIF output: turn its JSON into the few SARIF fields
# the scorer reads (no CWE either: any finding in a file counts).
python3 - "$work/bandit-corpus.json" "$work/bandit.sarif" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
res = [{"ruleId": r["test_id"], "message": {"text": r["issue_text"]},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": r["filename"]}}}]}
       for r in d.get("results", []) if r.get("issue_severity") in ("MEDIUM", "HIGH")]
json.dump({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": res}]},
          open(sys.argv[2], "w"))
PY
python3 "$src/bench/score.py" "$work/bandit.sarif" "$corpus/expected.csv" --name bandit --only-ext .py --any-cwe
