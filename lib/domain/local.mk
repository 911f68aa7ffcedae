# lib/domain: the rules of Vega's entities; maintenance passes.
lib_libvega_a_SOURCES += \
	%reldir%/cleanup.c %reldir%/cleanup.h

UNIT_TESTS += tests/unit/test_cleanup
