/* password.c - scrypt password hashes with embedded parameters. */
#include "config.h"
#include <string.h>
#include <openssl/evp.h>
#include "auth/password.h"
#include "core/b64.h"
#include "core/id.h"
#include "core/settings.h"
#include "core/str.h"

#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1

struct params {
	int log_n;
	int r;
	int p;
};

/* Derive KEY_LEN bytes; maxmem leaves room for N * r * 128 bytes. */
static enum vg_err
derive(const char *password, const unsigned char *salt, size_t salt_len,
    const struct params *pp, unsigned char key[KEY_LEN])
{
	uint64_t n = (uint64_t)1 << pp->log_n;
	uint64_t maxmem = 128ULL * (uint64_t)pp->r * (n + (uint64_t)pp->p + 2) + (1 << 20);

	if (EVP_PBE_scrypt(password, strlen(password), salt, salt_len, n,
	    (uint64_t)pp->r, (uint64_t)pp->p, maxmem, key, KEY_LEN) != 1)
		return VG_ERR_INTERNAL;
	return VG_OK;
}

enum vg_err
vg_password_hash(const char *password, char out[VG_PASSWORD_HASH_MAX])
{
	struct params pp = {(int)vg_cfg_int(VG_SET_PASSWORD_SCRYPT_LOG_N), SCRYPT_R, SCRYPT_P};
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char salt64[VG_B64_LEN(SALT_LEN)], key64[VG_B64_LEN(KEY_LEN)];
	enum vg_err err;
	int n;

	if (strlen(password) > VG_PASSWORD_MAX_LEN)
		return VG_ERR_INVALID;
	if ((err = vg_random_bytes(salt, sizeof salt)) != VG_OK ||
	    (err = derive(password, salt, sizeof salt, &pp, key)) != VG_OK)
		goto out;
	vg_b64url_encode(salt, sizeof salt, salt64, sizeof salt64);
	vg_b64url_encode(key, sizeof key, key64, sizeof key64);
	n = snprintf(out, VG_PASSWORD_HASH_MAX, "scrypt$%d$%d$%d$%s$%s", pp.log_n, pp.r,
	    pp.p, salt64, key64);
	err = n > 0 && n < VG_PASSWORD_HASH_MAX ? VG_OK : VG_ERR_INTERNAL;
out:
	OPENSSL_cleanse(key, sizeof key);
	return err;
}

/* Split "scrypt$logn$r$p$salt$key" into its parts; VG_ERR_INVALID if off. */
static enum vg_err
parse(const char *encoded, struct params *pp, unsigned char *salt, size_t *salt_len,
    unsigned char *key, size_t *key_len)
{
	char copy[VG_PASSWORD_HASH_MAX];
	char *fields[6], *save = NULL, *tok;
	int64_t v[3];
	size_t i = 0;

	if (vg_str_copy(copy, sizeof copy, encoded) != VG_OK)
		return VG_ERR_INVALID;
	for (tok = strtok_r(copy, "$", &save); tok && i < 6; tok = strtok_r(NULL, "$", &save))
		fields[i++] = tok;
	if (i != 6 || tok || strcmp(fields[0], "scrypt") != 0 ||
	    vg_str_to_i64(fields[1], 10, 24, &v[0]) || vg_str_to_i64(fields[2], 1, 64, &v[1]) ||
	    vg_str_to_i64(fields[3], 1, 16, &v[2]))
		return VG_ERR_INVALID;
	pp->log_n = (int)v[0];
	pp->r = (int)v[1];
	pp->p = (int)v[2];
	if (vg_b64url_decode(fields[4], salt, SALT_LEN * 2, salt_len) != VG_OK || *salt_len < 8 ||
	    vg_b64url_decode(fields[5], key, KEY_LEN, key_len) != VG_OK || *key_len != KEY_LEN)
		return VG_ERR_INVALID;
	return VG_OK;
}

enum vg_err
vg_password_verify(const char *password, const char *encoded, bool *ok, bool *needs_rehash)
{
	struct params pp;
	unsigned char salt[SALT_LEN * 2], want[KEY_LEN], got[KEY_LEN];
	size_t salt_len = 0, key_len = 0;
	enum vg_err err;

	*ok = false;
	*needs_rehash = false;
	if ((err = parse(encoded, &pp, salt, &salt_len, want, &key_len)) != VG_OK)
		return err;
	if (strlen(password) > VG_PASSWORD_MAX_LEN)
		return VG_OK;  /* never matches; no work spent on it */
	if ((err = derive(password, salt, salt_len, &pp, got)) != VG_OK)
		goto out;
	*ok = vg_ct_equal(got, want, KEY_LEN);
	*needs_rehash = pp.log_n < vg_cfg_int(VG_SET_PASSWORD_SCRYPT_LOG_N) ||
	    pp.r < SCRYPT_R || pp.p < SCRYPT_P;
out:
	OPENSSL_cleanse(got, sizeof got);
	return err;
}
