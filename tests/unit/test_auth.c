/* test_auth.c - lib/auth: password hashing. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "auth/password.h"
#include "core/settings.h"
#include "vt.h"

static void
load_settings(const char *log_n)
{
	char msg[256];

	setenv("VEGA_PASSWORD_SCRYPT_LOG_N", log_n, 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "settings: %s\n", msg);
		exit(1);
	}
}

static void
test_password_roundtrip(void)
{
	char h1[VG_PASSWORD_HASH_MAX], h2[VG_PASSWORD_HASH_MAX];
	bool ok = false, rehash = true;

	VT_EQ_INT(vg_password_hash("correct horse", h1), VG_OK, "hash");
	VT_EQ_INT(vg_password_hash("correct horse", h2), VG_OK, "hash again");
	VT_OK(strncmp(h1, "scrypt$10$8$1$", 14) == 0, "parameters stored beside the hash");
	VT_OK(strcmp(h1, h2) != 0, "salted: same password, different hashes");
	VT_OK(strstr(h1, "correct") == NULL, "hash does not contain the password");
	VT_EQ_INT(vg_password_verify("correct horse", h1, &ok, &rehash), VG_OK, "verify");
	VT_OK(ok, "right password accepted");
	VT_OK(!rehash, "current parameters need no rehash");
	VT_EQ_INT(vg_password_verify("correct horsE", h1, &ok, &rehash), VG_OK, "verify wrong");
	VT_OK(!ok, "wrong password refused");
	VT_EQ_INT(vg_password_verify("", h1, &ok, &rehash), VG_OK, "verify empty");
	VT_OK(!ok, "empty password refused");

	load_settings("11");
	VT_EQ_INT(vg_password_verify("correct horse", h1, &ok, &rehash), VG_OK, "verify after raise");
	VT_OK(ok && rehash, "weaker stored hash asks for a rehash");
	load_settings("10");
}

static void
test_password_malformed(void)
{
	static const char *const bad[] = {
		"", "scrypt", "scrypt$10$8$1$c2FsdHNhbHQ", "bcrypt$10$8$1$c2FsdHNhbHRzYWx0$AAAA",
		"scrypt$99$8$1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"scrypt$10$8$1$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"scrypt$10$8$1$c2FsdHNhbHRzYWx0$short",
		"scrypt$10$8$1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$extra",
		"scrypt$-1$8$1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	char longpw[VG_PASSWORD_MAX_LEN + 2], h[VG_PASSWORD_HASH_MAX];
	bool ok = true, rehash = true;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		VT_EQ_INT(vg_password_verify("x", bad[i], &ok, &rehash), VG_ERR_INVALID, bad[i]);
		VT_OK(!ok, "malformed hash never matches");
	}
	memset(longpw, 'a', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	VT_EQ_INT(vg_password_hash(longpw, h), VG_ERR_INVALID, "overlong password refused");
}

int
main(void)
{
	load_settings("10");
	test_password_roundtrip();
	test_password_malformed();
	return vt_done();
}
