# lib/auth: passwords, tokens, API keys, Cognito JWKS.
lib_libvega_a_SOURCES += \
	%reldir%/password.c %reldir%/password.h \
	%reldir%/jwt.c %reldir%/jwt.h \
	%reldir%/token.c %reldir%/token.h

UNIT_TESTS += tests/unit/test_auth
