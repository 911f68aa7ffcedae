# lib/archive: safe ingestion of source archives into snapshots, and
# safe extraction of a snapshot for a scan.
lib_libvega_a_SOURCES += \
	%reldir%/archive.h %reldir%/archive_int.h \
	%reldir%/common.c \
	%reldir%/lang.c \
	%reldir%/tarw.c \
	%reldir%/ingest.c \
	%reldir%/extract.c

UNIT_TESTS += tests/unit/test_archive
