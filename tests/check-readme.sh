#!/bin/bash
# check-readme.sh - the README's configuration table must be exactly what
# `vega-maintenance config --markdown` prints from the settings table.
#   tests/check-readme.sh            TAP check (make check)
#   tests/check-readme.sh --update   rewrite the README's table in place
set -u
: "${VEGA_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${VEGA_BUILDDIR:=$VEGA_SRCDIR/build}"
readme=$VEGA_SRCDIR/README.md
begin='<!-- settings-table:begin -->'
end='<!-- settings-table:end -->'
want=$(env -i PATH="$PATH" "$VEGA_BUILDDIR/bin/vega-maintenance" config --markdown) || {
	echo "1..1"; echo "not ok 1 - vega-maintenance config --markdown failed"; exit 1; }
got=$(sed -n "/^$begin\$/,/^$end\$/p" "$readme" | sed '1d;$d')

if [ "${1:-}" = --update ]; then
	{ sed "/^$begin\$/,\$d" "$readme"; echo "$begin"; echo "$want"; echo "$end";
	  sed "1,/^$end\$/d" "$readme"; } >"$readme.new" && mv "$readme.new" "$readme"
	exit 0
fi
echo "1..2"
if grep -qx "$begin" "$readme" && grep -qx "$end" "$readme"; then
	echo "ok 1 - README has the settings table markers"
else
	echo "not ok 1 - README has the settings table markers"
fi
if [ "$got" = "$want" ]; then
	echo "ok 2 - README settings table matches the settings table in lib/core"
else
	echo "not ok 2 - README settings table matches the settings table in lib/core"
	diff <(echo "$want") <(echo "$got") | sed 's/^/# /'
	echo "# run tests/check-readme.sh --update"
fi
