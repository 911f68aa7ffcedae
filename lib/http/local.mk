# lib/http: FastCGI request/response, router, error envelope, health routes.
lib_libvega_a_SOURCES += \
	%reldir%/http.h %reldir%/http_int.h \
	%reldir%/request.c \
	%reldir%/query.c \
	%reldir%/body.c \
	%reldir%/response.c \
	%reldir%/router.c \
	%reldir%/serve.c \
	%reldir%/mem.c \
	%reldir%/health.c \
	%reldir%/handler.c

# test_http also runs the built cgi/*.fcgi programs as plain CGI.
UNIT_TESTS += tests/unit/test_http
tests_unit_test_http_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_TEST_BUILDDIR='"$(abs_top_builddir)"'
EXTRA_tests_unit_test_http_DEPENDENCIES = $(pkglibexec_PROGRAMS)

# Fuzz targets, run by `make check` through tests/unit/fuzz_driver.c on
# their seeds in tests/fixtures/fuzz/http-*/ plus deterministic mutations.
UNIT_TESTS += tests/unit/fuzz_http_query tests/unit/fuzz_http_json_body \
	tests/unit/fuzz_http_request
tests_unit_fuzz_http_query_SOURCES = %reldir%/fuzz_query.c tests/unit/fuzz_driver.c
tests_unit_fuzz_http_query_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"http-query"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_fuzz_http_json_body_SOURCES = %reldir%/fuzz_json_body.c tests/unit/fuzz_driver.c
tests_unit_fuzz_http_json_body_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"http-json-body"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_fuzz_http_request_SOURCES = %reldir%/fuzz_request.c tests/unit/fuzz_driver.c
tests_unit_fuzz_http_request_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"http-request"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/http-query \
	tests/fixtures/fuzz/http-json-body \
	tests/fixtures/fuzz/http-request

# Real libFuzzer binaries (clang only), e.g.
#   ./configure CC=clang CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' \
#       && make fuzz
#   lib/http/fuzz-query -max_total_time=60 $(srcdir)/tests/fixtures/fuzz/http-query
# Other folders hook in with their own `fuzz: fuzz-NAME` line.
HTTP_FUZZERS = %reldir%/fuzz-query %reldir%/fuzz-json-body %reldir%/fuzz-request
CLEANFILES += $(HTTP_FUZZERS)
.PHONY: fuzz fuzz-http
fuzz: fuzz-http
fuzz-http: lib/libvega.a
	@case `$(CC) --version 2>/dev/null` in *clang*) ;; \
	*) echo "make fuzz needs clang: ./configure CC=clang" >&2; exit 1;; esac
	for f in query json_body request; do \
	  out=`echo "$$f" | tr _ -`; \
	  $(CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) \
	    -fsanitize=fuzzer,address,undefined \
	    -o $(top_builddir)/%reldir%/fuzz-$$out $(srcdir)/%reldir%/fuzz_$$f.c \
	    $(VEGA_LIBS) $(LIBS) || exit 1; \
	done
