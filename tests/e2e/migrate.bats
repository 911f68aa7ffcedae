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
