#!/usr/bin/env bats
# The LLM proxy on its own listener behind the web server (spawn-fcgi,
# several processes), the fake provider behind it: real clients (the
# official openai package, the Codex CLI), token attacks through the web
# server, the budget race, streaming through the web server (nginx or
# Apache, whichever the .e2e names), and the provider key
# nowhere in a log, answer or error.
#
# setup_file restarts the stack with the proxy's settings: keys made
# here, the fake provider on a loopback port.

PROVIDER_KEY=sk-e2e-provider-key-DO-NOT-LEAK-7731

llm_scan() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u www-data -- "$VEGA_BUILDDIR/tests/helpers/llm-scan" "$@"
	else
		"$VEGA_BUILDDIR/tests/helpers/llm-scan" "$@"
	fi
}

# A scan's usage once every call has settled: the proxy ends the answer
# before it writes the settlement, so a read right after an answer may
# still see the reservation (for a few milliseconds).
settled_usage() {
	local u i
	for i in $(seq 100); do
		u=$(llm_scan usage "$1") || return 1
		if python3 -c 'import sys,json; t=json.load(sys.stdin)["totals"]; sys.exit(t["reserved_tokens"] != 0 or t["reserved_microusd"] != 0)' <<<"$u"; then
			break
		fi
		sleep 0.05
	done
	printf '%s\n' "$u"
}

setup_file() {
	. "$VEGA_SRCDIR/tests/helpers/stack.sh"
	export LLM="$VG_E2E_TMP/llm"
	mkdir -p "$LLM" && chmod 0755 "$LLM"
	openssl ecparam -name prime256v1 -genkey -noout -out "$LLM/sign.sec1" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$LLM/sign.sec1" -out "$LLM/sign.pem"
	openssl ec -in "$LLM/sign.pem" -pubout -out "$LLM/verify.pem" 2>/dev/null
	printf '%s\n' "$PROVIDER_KEY" >"$LLM/provider.key"
	cat >"$LLM/prices.json" <<'JSON'
{"models":{"fake-model":{"input":1.25,"cached_input":0.125,"output":10},
 "fake-model-mini":{"input":0.1,"output":0.4}}}
JSON
	chmod 0644 "$LLM"/*
	FAKE_PROVIDER_KEY=$PROVIDER_KEY node "$VEGA_SRCDIR/tests/fixtures/fake-provider/server.js" \
		--port-file "$LLM/port" >"$LLM/provider.log" 2>&1 3>&- &
	echo $! >"$LLM/provider.pid"
	for _ in $(seq 100); do [ -s "$LLM/port" ] && break; sleep 0.05; done
	export FAKE="http://127.0.0.1:$(cat "$LLM/port")"
	export VEGA_LLM_PROVIDER_BASE_URL=$FAKE/v1
	export VEGA_LLM_PROVIDER_API_KEY_FILE=$LLM/provider.key
	export VEGA_LLM_TOKEN_VERIFY_KEY_FILE=$LLM/verify.pem
	export VEGA_LLM_TOKEN_SIGNING_KEY_FILE=$LLM/sign.pem
	export VEGA_LLM_PRICES_FILE=$LLM/prices.json
	export VEGA_LLM_RETRIES=1
	vg_stack_stop
	VG_STACK_PROCESSES=${VG_STACK_PROCESSES:-4} vg_stack_start "$VG_E2E_HTTPD"
	vg_stack_env
	export VEGA_LLM_PROXY_BASE_URL=$VEGA_TEST_PROXY_URL/v1
	# the official SDK and the Codex CLI from the npm registry, cached
	export NPMDIR="${VEGA_NPM_CACHE:-/tmp/vega-npm-cache}/llm-proxy"
	if [ ! -f "$NPMDIR/ok" ]; then
		mkdir -p "$NPMDIR"
		( cd "$NPMDIR" &&
		  npm install --no-audit --no-fund --silent --prefix "$NPMDIR" \
			openai@5.23.2 @openai/codex@0.169.0 >/dev/null 2>&1 && touch ok )
	fi
}

# The stack setup_file started holds bats' own descriptors (its children
# inherit them): it is stopped here, inside bats, or bats would wait for
# those descriptors to close and never end.
teardown_file() {
	[ -f "$LLM/provider.pid" ] && kill "$(cat "$LLM/provider.pid")" 2>/dev/null
	vg_stack_stop
	true
}

setup() {
	. "$VEGA_SRCDIR/tests/helpers/stack.sh"
	vg_stack_env
	export VEGA_LLM_PROXY_BASE_URL=$VEGA_TEST_PROXY_URL/v1
}

# a claimed scan (options JSON optional) and its runner token
new_scan() {
	SCAN=$(llm_scan create "${1:-}")
	TOKEN=$(llm_scan env "$SCAN" | sed -n 's/^VEGA_LLM_SCAN_TOKEN=//p')
	[ -n "$SCAN" ] && [ -n "$TOKEN" ]
}

chat() { # TOKEN [EXTRA_JSON]
	curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" -w '%{http_code}' \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-d "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]${2:-}}" \
		"$VEGA_TEST_PROXY_URL/v1/chat/completions"
}

@test "the runner's environment: token and base URL, the token accepted" {
	new_scan
	run llm_scan env "$SCAN"
	[[ "$output" == *"OPENAI_BASE_URL=$VEGA_TEST_PROXY_URL/v1"* ]]
	[[ "$output" == *"VEGA_LLM_PROXY_BASE_URL=$VEGA_TEST_PROXY_URL/v1"* ]]
	key=$(sed -n 's/^OPENAI_API_KEY=//p' <<<"$output")
	tok=$(sed -n 's/^VEGA_LLM_SCAN_TOKEN=//p' <<<"$output")
	[ -n "$key" ] && [ "$key" = "$tok" ]
	run chat "$key"
	[ "$output" = 200 ]
	grep -q '"usage"' "$BATS_TEST_TMPDIR/body"
}

@test "token attacks through the web server: 401 in the provider's error shape" {
	new_scan
	other=$(llm_scan create)
	expired=$(llm_scan mint "$SCAN" 1 60 3600)
	wrong_attempt=$(llm_scan mint "$SCAN" 2 600)
	openssl ecparam -name prime256v1 -genkey -noout -out "$BATS_TEST_TMPDIR/x.pem" 2>/dev/null
	foreign=$(VEGA_LLM_TOKEN_SIGNING_KEY_FILE=$BATS_TEST_TMPDIR/x.pem llm_scan mint "$SCAN" 1 600 ||
		env VEGA_LLM_TOKEN_SIGNING_KEY_FILE="$BATS_TEST_TMPDIR/x.pem" "$VEGA_BUILDDIR/tests/helpers/llm-scan" mint "$SCAN" 1 600)
	for t in "$expired" "$wrong_attempt" "$foreign" "sk-$PROVIDER_KEY" ""; do
		run chat "$t"
		[ "$output" = 401 ]
		grep -q '"code":"invalid_api_key"' "$BATS_TEST_TMPDIR/body"
		grep -q '"type":"invalid_request_error"' "$BATS_TEST_TMPDIR/body"
	done
	# cancelled, finished, re-claimed
	t2=$(llm_scan env "$other" | sed -n 's/^VEGA_LLM_SCAN_TOKEN=//p')
	run chat "$t2"; [ "$output" = 200 ]
	llm_scan reclaim "$other"
	run chat "$t2"; [ "$output" = 401 ]
	t3=$(llm_scan env "$other" | sed -n 's/^VEGA_LLM_SCAN_TOKEN=//p')
	run chat "$t3"; [ "$output" = 200 ]
	llm_scan cancel "$other"
	run chat "$t3"; [ "$output" = 401 ]
	run chat "$TOKEN"; [ "$output" = 200 ]
	llm_scan finish "$SCAN"
	run chat "$TOKEN"; [ "$output" = 401 ]
}

@test "many scans through the same processes: each token stays its own scan's; a cancel ends only that one" {
	local scans=() toks=() i round u
	for i in 0 1 2 3 4 5; do
		new_scan
		scans+=("$SCAN") toks+=("$TOKEN")
	done
	# every process serves every scan, several times, interleaved
	for round in 1 2 3 4; do
		for i in 0 1 2 3 4 5; do
			run chat "${toks[$i]}"
			[ "$output" = 200 ]
		done
	done
	llm_scan cancel "${scans[2]}"
	for round in 1 2 3 4; do
		for i in 0 1 2 3 4 5; do
			run chat "${toks[$i]}"
			if [ "$i" = 2 ]; then [ "$output" = 401 ]; else [ "$output" = 200 ]; fi
		done
	done
	# each call was charged to its own scan
	for i in 0 1 2 3 4 5; do
		u=$(settled_usage "${scans[$i]}")
		python3 -c 'import sys,json; n=json.load(sys.stdin)["totals"]["requests"]; sys.exit(n != int(sys.argv[1]))' \
			"$([ "$i" = 2 ] && echo 4 || echo 8)" <<<"$u"
	done
}

@test "a stream through the web server arrives piece by piece, not buffered" {
	new_scan
	# 10 pieces 300 ms apart: the first must arrive long before the last
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/next" -H 'content-type: application/json' \
		-d '{"times":1,"chunk_delay_ms":300,"text":"a b c d e f g h i j"}'
	run python3 - "$VEGA_TEST_PROXY_URL/v1/chat/completions" "$TOKEN" <<'PY'
import sys, time, http.client, urllib.parse, json
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
body = json.dumps({"model": "fake-model", "stream": True,
                   "messages": [{"role": "user", "content": "hi"}]})
t0 = time.time()
c.request("POST", u.path, body, {"Authorization": "Bearer " + sys.argv[2],
                                 "Content-Type": "application/json"})
r = c.getresponse()
first = None
while True:
    line = r.fp.readline()
    if not line:
        break
    if line.startswith(b"data: {") and first is None:
        first = time.time() - t0
total = time.time() - t0
print(r.status, r.getheader("Content-Type"), "first=%.2f total=%.2f" % (first, total))
sys.exit(0 if r.status == 200 and first < total - 1.5 else 1)
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"text/event-stream"* ]]
}

@test "the official openai package: chat and responses, streamed and not; usage as recorded" {
	[ -f "$NPMDIR/ok" ] || skip "the openai package could not be installed from the npm registry"
	new_scan
	run env NPMDIR="$NPMDIR" node "$VEGA_SRCDIR/tests/e2e/llm-proxy-client.js" \
		"$VEGA_TEST_PROXY_URL/v1" "$TOKEN" fake-model
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"ok":true' <<<"$output")" -eq 5 ]
	# the extra usage chunk the proxy asked for never reaches the client
	grep '"call":"chat-stream"' <<<"$output" | grep -q '"usage_chunks":0'
	grep '"call":"chat-stream"' <<<"$output" | grep -q '"text":"Hello from the fake provider."'
	# the proxy recorded exactly what the client was told
	sum_in=$(grep '"usage"' <<<"$output" | python3 -c 'import sys,json; print(sum(json.loads(l)["usage"]["input"] for l in sys.stdin))')
	usage=$(settled_usage "$SCAN")
	echo "$usage"
	python3 - "$usage" "$sum_in" <<'PY'
import sys, json
u = json.loads(sys.argv[1]); t = u["totals"]
assert t["requests"] == 5, t
assert t["reserved_tokens"] == 0, t
assert all(r["status"] == "settled" for r in u["records"]), u["records"]
# the chat stream without include_usage was settled from the usage the
# proxy asked for; the others match what the client saw
assert t["input_tokens"] >= int(sys.argv[2]), (t, sys.argv[2])
assert t["cost_microusd"] > 0
PY
}

@test "the official openai package sees insufficient_quota when the budget is spent" {
	[ -f "$NPMDIR/ok" ] || skip "the openai package could not be installed"
	new_scan '{"llm_limits":{"max_requests":1}}'
	run env NPMDIR="$NPMDIR" node "$VEGA_SRCDIR/tests/e2e/llm-proxy-client.js" \
		"$VEGA_TEST_PROXY_URL/v1" "$TOKEN" fake-model quota
	[[ "$output" == *'"ok":true'* ]]
	run env NPMDIR="$NPMDIR" node "$VEGA_SRCDIR/tests/e2e/llm-proxy-client.js" \
		"$VEGA_TEST_PROXY_URL/v1" "$TOKEN" fake-model quota
	echo "$output"
	[[ "$output" == *'"status":429'* ]]
	[[ "$output" == *'"code":"insufficient_quota"'* ]]
	[[ "$output" == *'1 requests per scan'* ]]
}

@test "the Codex CLI runs a turn through the proxy; its usage is what the proxy recorded" {
	codex="$NPMDIR/node_modules/.bin/codex"
	[ -x "$codex" ] || skip "the Codex CLI could not be installed from the npm registry"
	new_scan
	home="$BATS_TEST_TMPDIR/codex-home"
	mkdir -p "$home" "$BATS_TEST_TMPDIR/work"
	cat >"$home/config.toml" <<TOML
model = "fake-model"
model_provider = "vega"

[model_providers.vega]
name = "Vega LLM proxy"
base_url = "$VEGA_TEST_PROXY_URL/v1"
wire_api = "responses"
env_key = "VEGA_LLM_SCAN_TOKEN"
request_max_retries = 0
stream_max_retries = 0
TOML
	curl -sS -o /dev/null -XDELETE "$FAKE/_fake/requests"
	cd "$BATS_TEST_TMPDIR/work"
	run timeout 120 env -i PATH="$PATH" HOME="$home" CODEX_HOME="$home" \
		VEGA_LLM_SCAN_TOKEN="$TOKEN" "$codex" exec --json --skip-git-repo-check \
		--sandbox read-only "Say hello." </dev/null 3>&-
	echo "$output" >"$BATS_TEST_TMPDIR/codex.out"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q 'Hello from the fake provider' <<<"$output"
	usage=$(settled_usage "$SCAN")
	echo "$usage"
	python3 - "$BATS_TEST_TMPDIR/codex.out" "$usage" <<'PY'
import sys, json
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
tc = [e for e in ev if e.get("type") == "turn.completed"]
assert tc, "no turn.completed"
cu = {"input": 0, "cached": 0, "output": 0}
for e in tc:
    u = e["usage"]
    cu["input"] += u.get("input_tokens", 0)
    cu["cached"] += u.get("cached_input_tokens", 0)
    cu["output"] += u.get("output_tokens", 0)
t = json.loads(sys.argv[2])["totals"]
assert t["requests"] >= 1
assert (t["input_tokens"], t["cached_input_tokens"], t["output_tokens"]) == \
       (cu["input"], cu["cached"], cu["output"]), (t, cu)
PY
	# the provider saw the provider key, never the scan token
	curl -sS "$FAKE/_fake/requests" >"$BATS_TEST_TMPDIR/seen.json"
	grep -q "Bearer $PROVIDER_KEY" "$BATS_TEST_TMPDIR/seen.json"
	! grep -q "$TOKEN" "$BATS_TEST_TMPDIR/seen.json"
}

@test "budget race: 50 concurrent requests against a budget of 10" {
	new_scan '{"llm_limits":{"max_requests":10}}'
	curl -sS -o /dev/null -XDELETE "$FAKE/_fake/requests"
	seq 50 | xargs -P 50 -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d '{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}' \
		"$VEGA_TEST_PROXY_URL/v1/chat/completions" >"$BATS_TEST_TMPDIR/codes"
	ok=$(grep -c '^200$' "$BATS_TEST_TMPDIR/codes" || true)
	refused=$(grep -c '^429$' "$BATS_TEST_TMPDIR/codes" || true)
	forwarded=$(curl -sS "$FAKE/_fake/requests" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["requests"]))')
	echo "ok=$ok refused=$refused forwarded=$forwarded"
	[ "$ok" -le 10 ] && [ "$ok" -ge 1 ]
	[ "$forwarded" -eq "$ok" ]
	[ $((ok + refused)) -eq 50 ]
	[ "$(settled_usage "$SCAN" | python3 -c 'import sys,json; print(json.load(sys.stdin)["totals"]["requests"])')" -le 10 ]
}

@test "budget race in tokens: 50 concurrent requests never spend past the limit" {
	# each answer uses its whole cap of 100 output tokens; the reservation
	# of each is its body/4 + 100, and the limit fits 10 reservations
	body='{"model":"fake-model","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}'
	per=$(( (${#body} + 3) / 4 + 100 ))
	limit=$((per * 10 + per / 2))
	new_scan "{\"llm_limits\":{\"max_tokens\":$limit}}"
	curl -sS -o /dev/null -XDELETE "$FAKE/_fake/requests"
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/config" -H 'content-type: application/json' \
		-d "{\"text\":\"$(printf 'w%d ' $(seq 150))\"}"
	seq 50 | xargs -P 50 -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d "$body" "$VEGA_TEST_PROXY_URL/v1/chat/completions" >"$BATS_TEST_TMPDIR/codes"
	forwarded=$(curl -sS "$FAKE/_fake/requests" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["requests"]))')
	refused=$(grep -c '^429$' "$BATS_TEST_TMPDIR/codes" || true)
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/reset"
	echo "forwarded=$forwarded refused=$refused limit=$limit"
	# at least 100 tokens each: never more than limit/100 forwarded
	[ "$forwarded" -le $((limit / 100)) ]
	[ "$refused" -ge 1 ]
	[ $((forwarded + refused)) -eq 50 ]
	settled_usage "$SCAN" | python3 -c "
import sys,json; t=json.load(sys.stdin)['totals']
assert t['input_tokens']+t['output_tokens'] <= $limit, t
assert t['output_tokens'] == 100 * t['requests'], t"
}

@test "a cost limit refuses with the limit in the message" {
	new_scan '{"llm_limits":{"max_cost_usd":"0.000010"}}'
	run chat "$TOKEN" ',"max_tokens":100000'
	[ "$output" = 429 ]
	grep -q '"code":"insufficient_quota"' "$BATS_TEST_TMPDIR/body"
	grep -q '0.00001' "$BATS_TEST_TMPDIR/body"
}

@test "provider failures: its 429 passes through, an unreachable provider is 502, neither charged" {
	new_scan
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/next" -H 'content-type: application/json' \
		-d '{"times":1,"status":429}'
	run chat "$TOKEN"
	[ "$output" = 429 ]
	grep -q '"rate_limit_exceeded"' "$BATS_TEST_TMPDIR/body"
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/next" -H 'content-type: application/json' \
		-d '{"times":10,"fail":"reset"}'
	run chat "$TOKEN"
	echo "$output $(cat "$BATS_TEST_TMPDIR/body")"
	curl -sS -o /dev/null -XPOST "$FAKE/_fake/reset"
	[ "$output" = 502 ]
	grep -q '"upstream_unavailable"' "$BATS_TEST_TMPDIR/body"
	settled_usage "$SCAN" | python3 -c "
import sys,json; u=json.load(sys.stdin); t=u['totals']
assert t['cost_microusd'] == 0 and t['reserved_tokens'] == 0, t
assert all(r['status'] == 'failed' for r in u['records']), u['records']"
}

@test "nothing of the provider key in any log, answer or error" {
	d=$(vg_stack__dir)
	! grep -rqF "$PROVIDER_KEY" "$d/logs"
	! grep -rqF "DO-NOT-LEAK" "$d/logs"
	! grep -rqF "$PROVIDER_KEY" "$BATS_FILE_TMPDIR" 2>/dev/null
	grep -q '"llm_call"' "$d/logs/vega-llm-proxy.log"
	# and the settings print redacts nothing it should not hold: the key
	# file's path is all the proxy's environment carries
	! env | grep -qF "$PROVIDER_KEY"
}
