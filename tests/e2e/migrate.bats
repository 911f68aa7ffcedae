#!/usr/bin/env bats
# migrate.bats - `vega-maintenance migrate` and its neighbours, driven the
# way an operator runs them, against the cluster run-e2e started
# (VG_PG_DIR, VG_PG_PORT, VG_PG_BIN).  Every test gets a fresh database.

setup() {
	: "${VG_PG_DIR:?run through tests/e2e/migrate-postgres.e2e}"
	M="$VEGA_BUILDDIR/bin/vega-maintenance"
	DB="m${BATS_TEST_NUMBER}_$$"
	"$VG_PG_BIN/createdb" -h "$VG_PG_DIR" -p "$VG_PG_PORT" -U vega "$DB"
	export VEGA_PERSISTENCE_BACKEND=postgres
	export VEGA_DATABASE_URL="host=$VG_PG_DIR port=$VG_PG_PORT user=vega dbname=$DB"
	export VEGA_MIGRATIONS_DIR="$VEGA_SRCDIR/sql"
	export VEGA_LOG_LEVEL=warn
	NFILES=$(find "$VEGA_SRCDIR/sql" -maxdepth 1 -name '[0-9]*.sql' | wc -l)
	WORK=$(mktemp -d "$BATS_TMPDIR/vega-migrate.XXXXXX")
}

teardown() {
	rm -rf "$WORK"
	"$VG_PG_BIN/dropdb" -h "$VG_PG_DIR" -p "$VG_PG_PORT" -U vega --if-exists "$DB" || true
}

# q SQL: one value from the test's database.
q() {
	"$VG_PG_BIN/psql" -h "$VG_PG_DIR" -p "$VG_PG_PORT" -U vega -d "$DB" -XAtq -c "$1"
}

# A private copy of the migrations that a test may edit.
copy_sql() {
	mkdir -p "$WORK/sql"
	cp "$VEGA_SRCDIR"/sql/[0-9]*.sql "$WORK/sql/"
	export VEGA_MIGRATIONS_DIR="$WORK/sql"
}

@test "migrate applies every migration once, with checksums and audit entries" {
	[ "$NFILES" -ge 4 ]
	run "$M" migrate
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied 001_accounts.sql sha256:"* ]]
	[[ "$output" == *"$NFILES migration(s) applied"* ]]
	[ "$(q 'SELECT count(*) FROM schema_migrations')" -eq "$NFILES" ]
	[ "$(q "SELECT count(*) FROM audit_log WHERE action = 'migrate.apply'")" -eq "$NFILES" ]
	# The recorded checksums are the files' SHA-256.
	want=$(cd "$VEGA_SRCDIR/sql" && sha256sum [0-9]*.sql | awk '{print $2 " " $1}' | sort)
	got=$(q 'SELECT name, checksum FROM schema_migrations ORDER BY name' | tr '|' ' ')
	[ "$got" = "$want" ]
	# The domain model is there.
	for t in users refresh_token_families refresh_tokens api_keys projects project_members \
	    repositories snapshots threat_profiles threat_profile_versions scans scan_events \
	    findings finding_triage runner_jobs workers llm_usage audit_log; do
		[ "$(q "SELECT to_regclass('$t') IS NOT NULL")" = t ] || { echo "no table $t"; false; }
	done
}

@test "a second run is a no-op" {
	run "$M" migrate
	[ "$status" -eq 0 ]
	before=$(q "SELECT string_agg(version || ' ' || applied_at::text, ' ') FROM schema_migrations")
	run "$M" migrate
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to migrate"* ]]
	[[ "$output" != *"applied 0"* ]]
	[ "$(q "SELECT string_agg(version || ' ' || applied_at::text, ' ') FROM schema_migrations")" = "$before" ]
	[ "$(q "SELECT count(*) FROM audit_log WHERE action = 'migrate.apply'")" -eq "$NFILES" ]
}

@test "--status lists pending, then applied, with checksums" {
	run "$M" migrate --status
	[ "$status" -eq 0 ]
	[ "$(grep -c '^pending ' <<<"$output")" -eq "$NFILES" ]
	sum=$(sha256sum "$VEGA_SRCDIR/sql/001_accounts.sql" | cut -d' ' -f1)
	[[ "$output" == *"001_accounts.sql"*"$sum"* ]]
	# --status changes nothing.
	[ "$(q "SELECT to_regclass('schema_migrations') IS NULL")" = t ]
	"$M" migrate >/dev/null
	run "$M" migrate --status
	[ "$status" -eq 0 ]
	[ "$(grep -c '^applied ' <<<"$output")" -eq "$NFILES" ]
	[[ "$output" == *"applied  001_accounts.sql"*"$sum"* ]]
}

@test "concurrent runs all succeed and apply each migration once" {
	for i in 1 2 3 4; do
		"$M" migrate >"$WORK/out$i" 2>&1 &
		pids[$i]=$!
	done
	for i in 1 2 3 4; do
		wait "${pids[$i]}" || { cat "$WORK/out$i"; false; }
	done
	[ "$(q 'SELECT count(*) FROM schema_migrations')" -eq "$NFILES" ]
	[ "$(q "SELECT count(*) FROM audit_log WHERE action = 'migrate.apply'")" -eq "$NFILES" ]
	# Exactly one run applied anything; the others found nothing to do.
	[ "$(cat "$WORK"/out* | grep -c '^applied 001_accounts.sql')" -eq 1 ]
	[ "$(cat "$WORK"/out* | grep -c 'nothing to migrate')" -eq 3 ]
}

@test "a changed applied migration is refused, naming the file" {
	copy_sql
	"$M" migrate >/dev/null
	echo "-- an edit after the fact" >>"$WORK/sql/002_projects_sources.sql"
	echo "SELECT 1;" >"$WORK/sql/999_later.sql"
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"002_projects_sources.sql changed after it was applied"* ]]
	# Nothing else was applied either.
	[ "$(q 'SELECT count(*) FROM schema_migrations WHERE version = 999')" -eq 0 ]
	run "$M" migrate --status
	[ "$status" -eq 1 ]
	[[ "$output" == *"changed  002_projects_sources.sql"* ]]
	[[ "$output" == *"pending  999_later.sql"* ]]
}

@test "a missing applied migration is refused, naming the file" {
	copy_sql
	"$M" migrate >/dev/null
	rm "$WORK/sql/003_scans.sql"
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"003_scans.sql was applied"*"missing"* ]]
	run "$M" migrate --status
	[ "$status" -eq 1 ]
	[[ "$output" == *"missing  003_scans.sql"* ]]
}

@test "a new migration is applied on top; one sorting before applied ones is refused" {
	copy_sql
	"$M" migrate >/dev/null
	echo "CREATE TABLE later_table (id int);" >"$WORK/sql/900_later.sql"
	run "$M" migrate
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied 900_later.sql"* ]]
	[[ "$output" == *"1 migration(s) applied"* ]]
	[ "$(q "SELECT to_regclass('later_table') IS NOT NULL")" = t ]
	echo "SELECT 1;" >"$WORK/sql/500_middle.sql"
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"500_middle.sql is pending but sorts before the applied 900_later.sql"* ]]
}

@test "a failing migration is rolled back whole and named" {
	copy_sql
	"$M" migrate >/dev/null
	printf 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n' >"$WORK/sql/901_broken.sql"
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"901_broken.sql failed"*"no_such_function"* ]]
	[ "$(q "SELECT to_regclass('half_done') IS NULL")" = t ]
	[ "$(q 'SELECT count(*) FROM schema_migrations WHERE version = 901')" -eq 0 ]
}

@test "a stray file in the migrations directory is an error naming it" {
	copy_sql
	touch "$WORK/sql/5_bad_name.sql"
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"5_bad_name.sql: not a migration"* ]]
	# Checked before touching the database.
	[ "$(q "SELECT to_regclass('schema_migrations') IS NULL")" = t ]
}

@test "README and local.mk beside the migrations are ignored" {
	copy_sql
	echo "notes" >"$WORK/sql/README"
	echo "# build" >"$WORK/sql/local.mk"
	run "$M" migrate
	[ "$status" -eq 0 ]
}

@test "with the json backend there is nothing to migrate" {
	VEGA_PERSISTENCE_BACKEND=json VEGA_DATA_DIR="$WORK/data" run "$M" migrate
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to migrate"* ]]
	[ "$(q "SELECT to_regclass('schema_migrations') IS NULL")" = t ]
}

@test "an unreachable database fails fast with exit 1" {
	export VEGA_DATABASE_URL="host=$WORK port=1 user=vega dbname=none"
	start=$(date +%s)
	run --separate-stderr "$M" migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot connect to the database"* ]]
	[ $(( $(date +%s) - start )) -lt 10 ]
}

@test "usage: help, unknown commands, bad arguments, bad settings" {
	run "$M" help
	[ "$status" -eq 0 ]
	[[ "$output" == *"migrate [--status]"* ]]
	[[ "$output" == *"config [--markdown]"* ]]
	[[ "$output" == *"exit status: 0 success, 1 the command failed, 2 usage"* ]]
	run --separate-stderr "$M" frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unknown command 'frobnicate'"* ]]
	[[ "$stderr" == *"usage: vega-maintenance"* ]]
	[ -z "$output" ]
	run "$M"
	[ "$status" -eq 2 ]
	run "$M" migrate --bogus
	[ "$status" -eq 2 ]
	run "$M" config extra
	[ "$status" -eq 2 ]
	VEGA_DB_CONNECT_TIMEOUT_SECONDS=0 run "$M" migrate
	[ "$status" -eq 2 ]
	[[ "$output" == *"VEGA_DB_CONNECT_TIMEOUT_SECONDS"* ]]
}

@test "config prints settings with secrets redacted, or the README table" {
	run "$M" config
	[ "$status" -eq 0 ]
	[[ "$output" == *"VEGA_PERSISTENCE_BACKEND=postgres"* ]]
	[[ "$output" == *"VEGA_DATABASE_URL=[redacted]"* ]]
	[[ "$output" != *"$VG_PG_DIR"* ]]
	run "$M" config --markdown
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "| Variable | Type | Default | Meaning |" ]]
	[[ "$output" == *'`VEGA_MIGRATIONS_DIR`'* ]]
}

# scan_fixture: a migrated database with a user $u, project $p, repository
# $r, snapshot $sn, threat profile $tp and a queued scan $sc.
scan_fixture() {
	"$M" migrate >/dev/null
	u=11111111-1111-4111-8111-111111111111 p=22222222-2222-4222-8222-222222222222
	r=33333333-3333-4333-8333-333333333333 sn=44444444-4444-4444-8444-444444444444
	tp=55555555-5555-4555-8555-555555555555 sc=66666666-6666-4666-8666-666666666666
	digest=$(printf x | sha256sum | cut -d' ' -f1)
	q "INSERT INTO users (id, email, groups, password_hash, password_changed_at)
	   VALUES ('$u', 'ada@example.org', '{user,operator}',
	           'scrypt\$17\$8\$1\$c2FsdHNhbHRzYWx0\$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', now());
	   INSERT INTO projects (id, name, owner_id) VALUES ('$p', 'p', '$u');
	   INSERT INTO project_members (project_id, user_id, role) VALUES ('$p', '$u', 'owner');
	   INSERT INTO repositories (id, project_id, name, source_type) VALUES ('$r', '$p', 'r', 'upload');
	   INSERT INTO snapshots (id, repository_id, digest, storage_key, file_count, total_bytes)
	   VALUES ('$sn', '$r', '$digest', 'snapshots/$digest.tar', 1, 1);
	   UPDATE repositories SET ingest_status = 'ready', current_snapshot_id = '$sn' WHERE id = '$r';
	   INSERT INTO threat_profiles (id, project_id, repository_id, name, latest_version)
	   VALUES ('$tp', '$p', '$r', 'web', 1);
	   INSERT INTO threat_profile_versions (profile_id, version, content) VALUES ('$tp', 1, '{}');
	   INSERT INTO scans (id, repository_id, snapshot_id, profile_id, profile_version, created_by, engine)
	   VALUES ('$sc', '$r', '$sn', '$tp', 1, '$u', 'rules');"
}

@test "the schema holds a scan's whole life and refuses impossible states" {
	scan_fixture
	q "UPDATE scans SET status = 'claimed', attempt = attempt + 1, lease_token = repeat('a', 32),
	          claimed_at = now() WHERE id = '$sc' AND status = 'queued';
	   INSERT INTO runner_jobs (scan_id, attempt, mode) VALUES ('$sc', 1, 'local');
	   UPDATE scans SET status = 'running', started_at = now(), heartbeat_at = now() WHERE id = '$sc';
	   INSERT INTO scan_events (scan_id, seq, type, payload) VALUES ('$sc', 1, 'scan_started', '{}');
	   INSERT INTO findings (scan_id, repository_id, fingerprint, title, severity, cwe_ids, file_path,
	          line_start, line_end, engine, first_scan_id, last_scan_id)
	   VALUES ('$sc', '$r', 'fp-0123456789', 'SQL injection', 'high', '{89}', 'a.c', 3, 4, 'rules', '$sc', '$sc');
	   INSERT INTO finding_triage (repository_id, fingerprint, status, reason, actor_id)
	   VALUES ('$r', 'fp-0123456789', 'dismissed', 'test code', '$u');
	   UPDATE scans SET status = 'completed', finished_at = now(), findings_count = 1, high_count = 1
	   WHERE id = '$sc';"
	[ "$(q "SELECT status FROM scans WHERE id = '$sc'")" = completed ]
	# Refused: each must fail on its own.
	bad=(
		"INSERT INTO users (email) VALUES ('ada@example.ORG')"
		"INSERT INTO users (email, groups) VALUES ('b@example.org', '{admin}')"
		"INSERT INTO users (email, password_hash) VALUES ('c@example.org', 'h')"
		"INSERT INTO users (email, password_hash) VALUES ('c@example.org', 'scrypt\$17\$8\$1\$c2FsdHNhbHRzYWx0\$AAAA')"
		"INSERT INTO users (display_name) VALUES ('nobody at all')"
		"INSERT INTO project_members VALUES ('$p', '$u', 'boss')"
		"INSERT INTO snapshots (repository_id, digest, storage_key) VALUES ('$r', '$digest', 'k')"
		"INSERT INTO snapshots (repository_id, digest, storage_key) VALUES ('$r', 'XYZ', 'k')"
		"UPDATE repositories SET ingest_status = 'failed' WHERE id = '$r'"
		"INSERT INTO repositories (project_id, name, source_type) VALUES ('$p', 'g', 'git')"
		"INSERT INTO scans (repository_id, snapshot_id, engine, status) VALUES ('$r', '$sn', 'rules', 'claimed')"
		"INSERT INTO scans (repository_id, snapshot_id, engine, status) VALUES ('$r', '$sn', 'rules', 'done')"
		"INSERT INTO scans (repository_id, snapshot_id, engine, profile_id, profile_version) VALUES ('$r', '$sn', 'rules', '$tp', 2)"
		"INSERT INTO scan_events (scan_id, seq, type) VALUES ('$sc', 1, 'scan_log')"
		"INSERT INTO scan_events (scan_id, seq, type) VALUES ('$sc', 2, 'scan_exploded')"
		"INSERT INTO findings (scan_id, repository_id, fingerprint, title, severity, file_path, engine) VALUES ('$sc', '$r', 'fp-0123456789', 't', 'high', 'a.c', 'rules')"
		"INSERT INTO findings (scan_id, repository_id, fingerprint, title, severity, file_path, engine) VALUES ('$sc', '$r', 'fp-9999999999', 't', 'severe', 'a.c', 'rules')"
		"INSERT INTO runner_jobs (scan_id, attempt, mode) VALUES ('$sc', 1, 'local')"
		"INSERT INTO workers (id, host, pid, version, started_at, last_heartbeat_at, state) VALUES (gen_random_uuid(), 'h', 1, 'v', now(), now(), 'napping')"
		"DELETE FROM snapshots WHERE id = '$sn'"
		"DELETE FROM users WHERE id = '$u'"
	)
	for s in "${bad[@]}"; do
		if q "$s" 2>/dev/null; then echo "accepted: $s"; false; fi
	done
	# Deleting the repository takes its snapshots, scans, events and
	# findings along, though a snapshot alone could not go; then the project.
	q "DELETE FROM repositories WHERE id = '$r'"
	q "DELETE FROM projects WHERE id = '$p'"
	[ "$(q 'SELECT count(*) FROM scans') $(q 'SELECT count(*) FROM findings') $(q 'SELECT count(*) FROM scan_events')" = "0 0 0" ]
	[ "$(q "SELECT count(*) FROM finding_triage")" -eq 0 ]
}

@test "the LLM usage tables refuse negative counts and impossible states" {
	scan_fixture
	l=77777777-7777-4777-8777-777777777777
	q "INSERT INTO scan_llm_budget (scan_id, requests, reserved_tokens) VALUES ('$sc', 1, 40);
	   INSERT INTO llm_usage (id, scan_id, user_id, provider, model, endpoint, reserved_tokens,
	          request_id) VALUES ('$l', '$sc', '$u', 'openai', 'm', 'responses', 40, 'req-1');
	   UPDATE llm_usage SET status = 'settled', settled_at = now(), input_tokens = 10,
	          output_tokens = 5, latency_ms = 50, http_status = 200, upstream_request_id = 'up-1'
	   WHERE id = '$l';"
	[ "$(q "SELECT status FROM llm_usage WHERE id = '$l'")" = settled ]
	# Each must fail on a CHECK of its own table, not on anything else.
	bad=(
		"UPDATE scan_llm_budget SET requests = -1"
		"UPDATE scan_llm_budget SET reserved_tokens = -1"
		"UPDATE scan_llm_budget SET reserved_microusd = -1"
		"UPDATE scan_llm_budget SET input_tokens = -1"
		"UPDATE scan_llm_budget SET cached_input_tokens = -1"
		"UPDATE scan_llm_budget SET output_tokens = -1"
		"UPDATE scan_llm_budget SET reasoning_tokens = -1"
		"UPDATE scan_llm_budget SET cost_microusd = -1"
		"UPDATE llm_usage SET reserved_tokens = -1"
		"UPDATE llm_usage SET input_tokens = -1"
		"UPDATE llm_usage SET cached_input_tokens = -1"
		"UPDATE llm_usage SET output_tokens = -1"
		"UPDATE llm_usage SET reasoning_tokens = -1"
		"UPDATE llm_usage SET reserved_microusd = -1"
		"UPDATE llm_usage SET cost_microusd = -1"
		"UPDATE llm_usage SET latency_ms = -1"
		"UPDATE llm_usage SET provider = ''"
		"UPDATE llm_usage SET provider = repeat('p', 65)"
		"UPDATE llm_usage SET model = ''"
		"UPDATE llm_usage SET model = repeat('m', 257)"
		"UPDATE llm_usage SET endpoint = 'completions'"
		"UPDATE llm_usage SET status = 'lost'"
		"UPDATE llm_usage SET request_id = repeat('r', 129)"
		"UPDATE llm_usage SET http_status = 1000"
		"UPDATE llm_usage SET http_status = -1"
		"UPDATE llm_usage SET upstream_request_id = repeat('u', 257)"
		"UPDATE llm_usage SET status = 'reserved'"
		"UPDATE llm_usage SET settled_at = NULL"
	)
	for s in "${bad[@]}"; do
		run q "$s"
		[[ "$output" == *"violates check constraint"* ]] || { echo "not refused by a CHECK: $s: $output"; false; }
	done
	# What the columns allow: NULLs where they were optional, the bounds.
	q "UPDATE llm_usage SET request_id = NULL, latency_ms = NULL, http_status = NULL,
	   upstream_request_id = NULL, provider = repeat('p', 64), model = repeat('m', 256),
	   endpoint = 'chat_completions', status = 'failed', cost_microusd = 0 WHERE id = '$l'"
	[ "$(q "SELECT status FROM llm_usage WHERE id = '$l'")" = failed ]
	# The settlement's UPDATE changes no indexed column, so it can stay on
	# the row's page: no index names status, settled_at or a counter.
	[ "$(q "SELECT count(*) FROM pg_indexes WHERE tablename = 'llm_usage' AND
	       (indexdef ~ '(status|settled_at|tokens|microusd|latency_ms|http_status)')")" -eq 0 ]
}
