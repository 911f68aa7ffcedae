# lib/engine/: the engine boundary, planning, the rules auditor, reports.
lib_libvega_a_SOURCES += \
	%reldir%/engine.c %reldir%/engine.h %reldir%/internal.h \
	%reldir%/finding.c %reldir%/finding.h \
	%reldir%/profile.c \
	%reldir%/plan.c %reldir%/plan.h \
	%reldir%/lex.c %reldir%/lex.h \
	%reldir%/rules.c %reldir%/rules.h \
	%reldir%/analyze.c %reldir%/analyze.h \
	%reldir%/engine_rules.c \
	%reldir%/report.c %reldir%/report.h

# The rules are data, installed beside the migrations.
enginerulesdir = $(pkgdatadir)/rules
dist_enginerules_DATA = \
	%reldir%/rules/00-taint.json \
	%reldir%/rules/10-injection.json \
	%reldir%/rules/20-patterns.json \
	%reldir%/rules/30-secrets.json

UNIT_TESTS += tests/unit/test_engine
tests_unit_test_engine_LDADD = $(VEGA_LIBS) -lm

# The offline command end to end: reports, exit codes, masking, and the
# SARIF 2.1.0 schema check (schema and validator from the npm registry).
E2E_TESTS += tests/e2e/engine.e2e
EXTRA_DIST += tests/e2e/engine.e2e tests/e2e/engine.bats tests/e2e/engine-sarif-check.js
EXTRA_DIST += tests/fixtures/engine bench/engine.sh bench/score.py
