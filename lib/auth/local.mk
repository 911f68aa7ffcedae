# lib/auth: passwords, tokens, API keys, the bearer check of every
# program, Cognito JWKS, project access.
lib_libvega_a_SOURCES += \
	%reldir%/password.c %reldir%/password.h \
	%reldir%/jwt.c %reldir%/jwt.h \
	%reldir%/token.c %reldir%/token.h \
	%reldir%/auth.c %reldir%/auth.h \
	%reldir%/routes.c \
	%reldir%/cognito.c %reldir%/cognito.h \
	%reldir%/access.c %reldir%/access.h

UNIT_TESTS += tests/unit/test_auth tests/unit/test_jwt_hs256

# Fuzz target for the Authorization header parser (see tests/unit/fuzz_driver.c).
UNIT_TESTS += tests/unit/fuzz_bearer
tests_unit_fuzz_bearer_SOURCES = %reldir%/fuzz_bearer.c tests/unit/fuzz_driver.c
tests_unit_fuzz_bearer_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"bearer"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/bearer

# End to end through nginx: built-in accounts on both stores, and the
# cognito provider against tests/fixtures/auth/fake_cognito.py.
E2E_TESTS += tests/e2e/auth-nginx-json.e2e tests/e2e/auth-nginx-postgres.e2e
EXTRA_DIST += tests/e2e/auth-nginx-json.e2e tests/e2e/auth-nginx-postgres.e2e \
	tests/e2e/auth.bats tests/fixtures/auth/lib.bash tests/fixtures/auth/mint.py \
	tests/fixtures/auth/fake_cognito.py
E2E_TESTS += tests/e2e/auth-cognito-nginx-json.e2e
EXTRA_DIST += tests/e2e/auth-cognito-nginx-json.e2e tests/e2e/auth-cognito.bats
# The same accounts suite behind Apache: the bearer header must get through.
E2E_TESTS += tests/e2e/auth-apache-json.e2e tests/e2e/auth-apache-fcgid-json.e2e
EXTRA_DIST += tests/e2e/auth-apache-json.e2e tests/e2e/auth-apache-fcgid-json.e2e

# bench/auth.sh: /v1/auth/me against /v1/healthz, login and token-check
# times (a measurement, not a test).
EXTRA_DIST += bench/auth.sh
bench-auth: all
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/bench/auth.sh
.PHONY: bench-auth

# Fuzz target for JWT verification: nothing crashes, nothing unsigned passes.
UNIT_TESTS += tests/unit/fuzz_jwt
tests_unit_fuzz_jwt_SOURCES = %reldir%/fuzz_jwt.c tests/unit/fuzz_driver.c
tests_unit_fuzz_jwt_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"jwt"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/jwt
