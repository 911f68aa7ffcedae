# lib/core: settings, logging, errors, buffers, JSON helpers, ids, time.
lib_libvega_a_SOURCES += \
	%reldir%/err.c %reldir%/err.h \
	%reldir%/buf.c %reldir%/buf.h \
	%reldir%/str.c %reldir%/str.h \
	%reldir%/id.c %reldir%/id.h \
	%reldir%/timeutil.c %reldir%/timeutil.h \
	%reldir%/log.c %reldir%/log.h \
	%reldir%/json.c %reldir%/json.h \
	%reldir%/jsonw.c %reldir%/jsonw.h \
	%reldir%/acache.c %reldir%/acache.h \
	%reldir%/b64.c %reldir%/b64.h \
	%reldir%/fsutil.c %reldir%/fsutil.h \
	%reldir%/proc.c %reldir%/proc.h \
	%reldir%/settings.c %reldir%/settings.h %reldir%/settings_table.h

UNIT_TESTS += tests/unit/test_core tests/unit/test_proc tests/unit/test_jsonw tests/unit/test_acache
