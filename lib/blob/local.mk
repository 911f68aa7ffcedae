# lib/blob: file storage behind one interface (local backend; S3 later).
lib_libvega_a_SOURCES += \
	%reldir%/blob.h %reldir%/blob_int.h \
	%reldir%/blob.c \
	%reldir%/blob_local.c

UNIT_TESTS += tests/unit/test_blob
