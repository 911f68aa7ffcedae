#!/usr/bin/env bats
# vega-runner --dir: the offline scan a user runs in CI.

setup_file() {
	export RUNNER="$VEGA_BUILDDIR/bin/vega-runner"
	export VEGA_RULES_DIR="$VEGA_SRCDIR/lib/engine/rules"
	export SNIP="$VEGA_SRCDIR/tests/fixtures/engine/snippets"
	# The SARIF 2.1.0 schema and a JSON-schema validator come from the npm
	# registry (the schema ships in @microsoft/jest-sarif); cached between runs.
	export NPMDIR="${VEGA_NPM_CACHE:-/tmp/vega-npm-cache}/sarif-check"
	if [ ! -f "$NPMDIR/ok" ]; then
		mkdir -p "$NPMDIR"
		( cd "$NPMDIR" &&
		  npm install --no-audit --no-fund --silent --prefix "$NPMDIR" ajv@6.12.6 >/dev/null 2>&1 &&
		  tgz=$(npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 2>/dev/null | tail -1) &&
		  tar xzf "$tgz" package/lib/schemas/sarif-2.1.0-rtm.5.json &&
		  cp package/lib/schemas/sarif-2.1.0-rtm.5.json sarif-schema-2.1.0.json &&
		  touch ok )
	fi
}

@test "without --dir: usage and exit 2" {
	run "$RUNNER"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: vega-runner --dir PATH"* ]]
}

@test "unknown option and bad --fail-on are usage errors" {
	run "$RUNNER" --dir "$SNIP" --bogus
	[ "$status" -eq 2 ]
	run "$RUNNER" --dir "$SNIP" --fail-on catastrophic
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid value for --fail-on"* ]]
}

@test "a SCAN_ID is a server scan: not a UUID exits 2, one the store lacks exits 3" {
	run "$RUNNER" not-a-scan-id
	[ "$status" -eq 2 ]
	run "$RUNNER" 3f1c9a52-6a54-4c2e-9a1e-0c7d1b2e3f40
	[ "$status" -eq 3 ]
	[[ "$output" == *"no such scan"* ]]
	run "$RUNNER" 3f1c9a52-6a54-4c2e-9a1e-0c7d1b2e3f40 --fail-on high
	[ "$status" -eq 2 ]
}

@test "vulnerable tree: summary, reports, exit 1 at --fail-on high" {
	run "$RUNNER" --dir "$SNIP/python" --json "$BATS_TMPDIR/r.json" --sarif "$BATS_TMPDIR/r.sarif" --fail-on high
	[ "$status" -eq 1 ]
	[[ "$output" == *"critical"* ]]
	[[ "$output" == *"command-injection.vuln.py:"* ]]
	[[ "$output" == *"at or above high: failing"* ]]
	jq -e '.findings | length > 10' "$BATS_TMPDIR/r.json"
	jq -e '.plan.coverage_statement | test("Audits")' "$BATS_TMPDIR/r.json"
	jq -e '.tool.rules_version | startswith("sha256:")' "$BATS_TMPDIR/r.json"
	jq -e '.runs[0].invocations[0].executionSuccessful == true' "$BATS_TMPDIR/r.sarif"
}

@test "the SARIF report is valid against the SARIF 2.1.0 schema" {
	[ -f "$NPMDIR/ok" ] || { echo "could not install the schema and validator from the npm registry"; false; }
	"$RUNNER" --dir "$SNIP" --sarif "$BATS_TMPDIR/all.sarif" --fail-on none --quiet
	run node "$VEGA_SRCDIR/tests/e2e/engine-sarif-check.js" "$NPMDIR/sarif-schema-2.1.0.json" "$BATS_TMPDIR/all.sarif" "$NPMDIR/node_modules"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == valid:* ]]
}

@test "the schema check rejects a broken log" {
	[ -f "$NPMDIR/ok" ] || false
	echo '{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"message":{}}]}]}' >"$BATS_TMPDIR/bad.sarif"
	run node "$VEGA_SRCDIR/tests/e2e/engine-sarif-check.js" "$NPMDIR/sarif-schema-2.1.0.json" "$BATS_TMPDIR/bad.sarif" "$NPMDIR/node_modules"
	[ "$status" -eq 1 ]
}

@test "safe tree at --fail-on critical exits 0" {
	mkdir -p "$BATS_TMPDIR/safe"
	cp "$SNIP"/python/*.safe.py "$BATS_TMPDIR/safe/"
	run "$RUNNER" --dir "$BATS_TMPDIR/safe" --fail-on critical
	[ "$status" -eq 0 ]
}

@test "--fail-on none never fails; --fail-on low counts low findings" {
	run "$RUNNER" --dir "$SNIP/c" --fail-on none --quiet
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$RUNNER" --dir "$SNIP/c" --fail-on low --quiet
	[ "$status" -eq 1 ]
}

@test "a profile's out-of-scope globs are honoured and named" {
	echo '{"focus":["sql"],"out_of_scope":["*.vuln.py"]}' >"$BATS_TMPDIR/p.json"
	run "$RUNNER" --dir "$SNIP/python" --profile "$BATS_TMPDIR/p.json" --json "$BATS_TMPDIR/p.out.json" --fail-on none
	[ "$status" -eq 0 ]
	jq -e '[.findings[] | select(.file_path | endswith(".vuln.py"))] | length == 0' "$BATS_TMPDIR/p.out.json"
	jq -e '.plan.skipped.counts.out_of_scope > 0' "$BATS_TMPDIR/p.out.json"
	echo '{"focus": 1' >"$BATS_TMPDIR/bad.json"
	run "$RUNNER" --dir "$SNIP/python" --profile "$BATS_TMPDIR/bad.json"
	[ "$status" -eq 2 ]
}

@test "secrets are masked in the summary and both reports" {
	run "$RUNNER" --dir "$SNIP/secrets" --json "$BATS_TMPDIR/s.json" --sarif "$BATS_TMPDIR/s.sarif" --fail-on none --verbose
	[ "$status" -eq 0 ]
	for s in Z7XQ4RT2LM5PW3YD R7b2Kq9Zt4Wm8Xc1Vn6Lp3Hs5Df0Ga2Je9Uy 4eC39HqLyjWDarjtT1zdp7dc9Q Xk9Lm4Vn7Rt1; do
		! grep -q "$s" "$BATS_TMPDIR/s.json"
		! grep -q "$s" "$BATS_TMPDIR/s.sarif"
		[[ "$output" != *"$s"* ]]
	done
}

@test "a missing directory fails the scan with exit 3" {
	run "$RUNNER" --dir "$BATS_TMPDIR/does-not-exist"
	[ "$status" -eq 3 ]
}
