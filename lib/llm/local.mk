# lib/llm: the LLM proxy's parts: server-sent events, usage, prices and
# budgets, client requests, scan tokens, forwarding to the provider.
lib_libvega_a_SOURCES += \
	%reldir%/sse.c %reldir%/sse.h \
	%reldir%/usage.c %reldir%/usage.h \
	%reldir%/prices.c %reldir%/prices.h \
	%reldir%/request.c %reldir%/request.h \
	%reldir%/scantoken.c %reldir%/scantoken.h \
	%reldir%/forward.c %reldir%/forward.h \
	%reldir%/relay.c %reldir%/relay.h \
	%reldir%/proxy.c %reldir%/proxy.h \
	%reldir%/runner_env.c %reldir%/runner_env.h
# GET /v1/scans/{id}/usage, the API side of the proxy's accounting.
lib_libvega_a_SOURCES += lib/domain/usage.c

UNIT_TESTS += tests/unit/test_llm_sse tests/unit/test_llm_usage tests/unit/test_llm_prices \
	tests/unit/test_llm_relay

# Scan tokens, also checked against node's crypto and python's
# cryptography (tests/fixtures/llm/jws.js, jws_verify.py).
UNIT_TESTS += tests/unit/test_llm_scantoken
tests_unit_test_llm_scantoken_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_TEST_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/llm/jws.js tests/fixtures/llm/jws_verify.py

# The fake AI provider the proxy's tests forward to (node, no packages);
# test_llm_forward starts it on a loopback port.
EXTRA_DIST += tests/fixtures/fake-provider/server.js tests/fixtures/fake-provider/README.md
UNIT_TESTS += tests/unit/test_llm_forward
tests_unit_test_llm_forward_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_TEST_SRCDIR='"$(abs_top_srcdir)"'

# Fuzz targets, run by `make check` through tests/unit/fuzz_driver.c on
# their seeds in tests/fixtures/fuzz/llm-*/ plus deterministic mutations.
UNIT_TESTS += tests/unit/fuzz_llm_sse
tests_unit_fuzz_llm_sse_SOURCES = %reldir%/fuzz_sse.c tests/unit/fuzz_driver.c
tests_unit_fuzz_llm_sse_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"llm-sse"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/llm-sse
UNIT_TESTS += tests/unit/fuzz_llm_usage
tests_unit_fuzz_llm_usage_SOURCES = %reldir%/fuzz_usage.c tests/unit/fuzz_driver.c
tests_unit_fuzz_llm_usage_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"llm-usage"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/llm-usage
UNIT_TESTS += tests/unit/fuzz_llm_prices tests/unit/fuzz_llm_request
tests_unit_fuzz_llm_prices_SOURCES = %reldir%/fuzz_prices.c tests/unit/fuzz_driver.c
tests_unit_fuzz_llm_prices_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"llm-prices"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_fuzz_llm_request_SOURCES = %reldir%/fuzz_request.c tests/unit/fuzz_driver.c
tests_unit_fuzz_llm_request_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"llm-request"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/llm-prices tests/fixtures/fuzz/llm-request
UNIT_TESTS += tests/unit/fuzz_llm_scantoken
tests_unit_fuzz_llm_scantoken_SOURCES = %reldir%/fuzz_scantoken.c tests/unit/fuzz_driver.c
tests_unit_fuzz_llm_scantoken_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"llm-scantoken"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/llm-scantoken

# Real libFuzzer binaries (clang only): ./configure CC=clang ... && make fuzz
LLM_FUZZERS = %reldir%/fuzz-sse %reldir%/fuzz-usage %reldir%/fuzz-prices \
	%reldir%/fuzz-request %reldir%/fuzz-scantoken
CLEANFILES += $(LLM_FUZZERS)
.PHONY: fuzz-llm
fuzz: fuzz-llm
fuzz-llm: lib/libvega.a
	@case `$(CC) --version 2>/dev/null` in *clang*) ;; \
	*) echo "make fuzz needs clang: ./configure CC=clang" >&2; exit 1;; esac
	for f in sse usage prices request scantoken; do \
	  out=`echo "$$f" | tr _ -`; \
	  $(CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) \
	    -fsanitize=fuzzer,address,undefined \
	    -o $(top_builddir)/%reldir%/fuzz-$$out $(srcdir)/%reldir%/fuzz_$$f.c \
	    $(VEGA_LIBS) $(LIBS) || exit 1; \
	done

# The proxy's handlers in memory against the fake provider and a json
# store; llm-scan is the end-to-end suites' hand on the store
# (tests/e2e/llm-proxy.bats).
UNIT_TESTS += tests/unit/test_llm_proxy
tests_unit_test_llm_proxy_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_TEST_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/unit/llm_fixture.h
check_PROGRAMS += tests/helpers/llm-scan
tests_helpers_llm_scan_SOURCES = tests/helpers/llm-scan.c tests/unit/llm_fixture.h

# The proxy behind nginx and Apache with real clients
# (tests/e2e/llm-proxy.bats).
E2E_TESTS += tests/e2e/llm-proxy-nginx-json.e2e tests/e2e/llm-proxy-nginx-postgres.e2e \
	tests/e2e/llm-proxy-apache-json.e2e
EXTRA_DIST += tests/e2e/llm-proxy-nginx-json.e2e tests/e2e/llm-proxy-nginx-postgres.e2e \
	tests/e2e/llm-proxy-apache-json.e2e \
	tests/e2e/llm-proxy.bats tests/e2e/llm-proxy-client.js
