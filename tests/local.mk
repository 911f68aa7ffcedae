# tests/: the end-to-end configurations of the web stack (run-e2e runs
# each .e2e file: it starts Postgres when needed, the web server and the
# programs through tests/helpers/stack.sh, then the bats suites it names).
E2E_TESTS += \
	tests/e2e/nginx-json.e2e \
	tests/e2e/nginx-postgres.e2e \
	tests/e2e/apache-json.e2e \
	tests/e2e/apache-postgres.e2e \
	tests/e2e/apache-fcgid-json.e2e \
	tests/e2e/sources-nginx-json.e2e \
	tests/e2e/sources-nginx-postgres.e2e \
	tests/e2e/scans-apache-fcgid-json.e2e

EXTRA_DIST += \
	tests/e2e/nginx-json.e2e \
	tests/e2e/nginx-postgres.e2e \
	tests/e2e/apache-json.e2e \
	tests/e2e/apache-postgres.e2e \
	tests/e2e/apache-fcgid-json.e2e \
	tests/e2e/web.bash \
	tests/e2e/health.bats \
	tests/e2e/routing.bats \
	tests/e2e/errors.bats \
	tests/e2e/requestid.bats \
	tests/e2e/malformed.bats \
	tests/e2e/outage.bats \
	tests/e2e/cgi.bats \
	tests/e2e/systemd.bats \
	tests/e2e/stop.bats \
	tests/e2e/sources-nginx-json.e2e \
	tests/e2e/sources-nginx-postgres.e2e \
	tests/e2e/sources.bats \
	tests/e2e/scans-apache-fcgid-json.e2e \
	tests/fixtures/archives/make-archive.py \
	tests/helpers/stack.sh \
	tests/helpers/demo-scan.py \
	tests/fixtures/sample-app
