# bench/: benchmarks that print ratios against a baseline measured in the
# same run (never timed assertions inside tests).  `make bench` builds the
# programs and the baseline, then runs every benchmark.
check_PROGRAMS += %reldir%/minimal-fcgi
%canon_reldir%_minimal_fcgi_SOURCES = %reldir%/minimal-fcgi.c
%canon_reldir%_minimal_fcgi_LDADD = $(FCGI_LIBS)
EXTRA_DIST += %reldir%/healthz.sh %reldir%/wrk.sh

bench: all %reldir%/minimal-fcgi$(EXEEXT)
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/%reldir%/healthz.sh
.PHONY: bench

# bench/ingest-api.sh: the ingest of bench/ingest.sh end to end, a ~1 GiB
# tar.gz uploaded through nginx to the API against `bsdtar -tzf` in the
# same run, and vega-projects' peak RSS (bench/ingest-bench makes the
# archive; lib/archive/local.mk builds it).
EXTRA_DIST += %reldir%/ingest-api.sh
.PHONY: bench-ingest-api
bench: bench-ingest-api
bench-ingest-api: all
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/%reldir%/ingest-api.sh

# bench/claims.sh: claims/s of vg_store_scan_claim with 1, 4 and 8
# concurrent claimers on one Postgres, and zero double claims.
check_PROGRAMS += %reldir%/claims
%canon_reldir%_claims_SOURCES = %reldir%/claims.c
EXTRA_DIST += %reldir%/claims.sh
.PHONY: bench-claims
bench: bench-claims
bench-claims: all %reldir%/claims$(EXEEXT)
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/%reldir%/claims.sh

# bench/findings.sh: GET /v1/repositories/{id}/findings with 10,000
# findings (bench/findings-fill puts them in through the store), first
# page, against /v1/healthz and /v1/auth/me in the same run, on the json
# and the postgres backend.
check_PROGRAMS += %reldir%/findings-fill
%canon_reldir%_findings_fill_SOURCES = %reldir%/findings-fill.c
EXTRA_DIST += %reldir%/findings.sh
.PHONY: bench-findings
bench: bench-findings
bench-findings: all %reldir%/findings-fill$(EXEEXT)
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/%reldir%/findings.sh

# bench/llm-proxy.sh: the latency vega-llm-proxy.fcgi adds (p50, p99) in
# front of the fake provider against calling it directly in the same run,
# whole answers and streams, at 1 and 32 concurrent clients
# (bench/llm-load is the clients), and against the smallest relay through
# the same nginx (bench/minimal-relay: what the architecture costs).
check_PROGRAMS += %reldir%/llm-load %reldir%/minimal-relay
%canon_reldir%_llm_load_SOURCES = %reldir%/llm-load.c
%canon_reldir%_llm_load_LDADD =
%canon_reldir%_minimal_relay_SOURCES = %reldir%/minimal-relay.c
%canon_reldir%_minimal_relay_LDADD = $(FCGI_LIBS) $(LIBCURL_LIBS)
EXTRA_DIST += %reldir%/llm-proxy.sh
.PHONY: bench-llm-proxy
bench: bench-llm-proxy
bench-llm-proxy: all tests/helpers/llm-scan$(EXEEXT) %reldir%/llm-load$(EXEEXT) \
		%reldir%/minimal-relay$(EXEEXT)
	VEGA_SRCDIR='$(abs_top_srcdir)' VEGA_BUILDDIR='$(abs_top_builddir)' \
		$(top_srcdir)/%reldir%/llm-proxy.sh
