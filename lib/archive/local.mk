# lib/archive: safe ingestion of source archives into snapshots, and
# safe extraction of a snapshot for a scan.
lib_libvega_a_SOURCES += \
	%reldir%/archive.h %reldir%/archive_int.h \
	%reldir%/common.c \
	%reldir%/lang.c \
	%reldir%/tarw.c \
	%reldir%/spool.c \
	%reldir%/ingest.c \
	%reldir%/extract.c \
	%reldir%/git.c %reldir%/git.h

UNIT_TESTS += tests/unit/test_archive tests/unit/test_git

# Fuzz target, run by `make check` through tests/unit/fuzz_driver.c on the
# seeds in tests/fixtures/fuzz/archive/ plus deterministic mutations.
UNIT_TESTS += tests/unit/fuzz_archive_ingest
tests_unit_fuzz_archive_ingest_SOURCES = %reldir%/fuzz_ingest.c tests/unit/fuzz_driver.c
tests_unit_fuzz_archive_ingest_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVG_FUZZ_CORPUS='"archive"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fixtures/fuzz/archive

# The real libFuzzer binary (clang only), e.g.
#   ./configure CC=clang && make fuzz
#   lib/archive/fuzz-ingest -max_total_time=60 $(srcdir)/tests/fixtures/fuzz/archive
.PHONY: fuzz-archive
fuzz: fuzz-archive
CLEANFILES += %reldir%/fuzz-ingest
fuzz-archive: lib/libvega.a
	@case `$(CC) --version 2>/dev/null` in *clang*) ;; \
	*) echo "make fuzz needs clang: ./configure CC=clang" >&2; exit 1;; esac
	$(CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) \
	    -fsanitize=fuzzer,address,undefined \
	    -o $(top_builddir)/%reldir%/fuzz-ingest $(srcdir)/%reldir%/fuzz_ingest.c \
	    $(VEGA_LIBS) $(LIBS)

# The library-level ingest benchmark (bench/ingest.sh: ~1 GiB tar.gz,
# ingest rate against `bsdtar -tzf` in the same run, peak RSS).
noinst_PROGRAMS += bench/ingest-bench
bench_ingest_bench_SOURCES = bench/ingest-bench.c
EXTRA_DIST += bench/ingest.sh
.PHONY: bench-ingest
bench: bench-ingest
bench-ingest: bench/ingest-bench$(EXEEXT)
	VEGA_BUILDDIR='$(abs_top_builddir)' $(top_srcdir)/bench/ingest.sh
