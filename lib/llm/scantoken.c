/* scantoken.c - ES256 scan tokens over the pinned-algorithm JWT layer. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "auth/jwt.h"
#include "core/fsutil.h"
#include "core/b64.h"
#include "core/id.h"
#include "core/str.h"
#include "llm/scantoken.h"

#define KEY_FILE_MAX 65536

struct vg_scantoken_key {
	struct vg_jwt_key *jwt;   /* the key, pinned to ES256 */
	bool private_key;
};

static void
say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* Never prompt for a passphrase: an encrypted key is simply refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Read a PEM key of the wanted kind; NULL when the text holds none. */
static EVP_PKEY *
read_key(bool private_key, const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = NULL;

	if (!bio)
		return NULL;
	pk = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
	    : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return pk;
}

/* Whether pk is an EC key on P-256. */
static bool
is_p256(EVP_PKEY *pk)
{
	char group[64];

	return EVP_PKEY_is_a(pk, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
	    NULL) == 1 && (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

/* pk written back as PEM (PKCS#8 or SubjectPublicKeyInfo), so the JWT
 * layer sees one form whatever the file used. */
static enum vg_err
write_pem(EVP_PKEY *pk, bool private_key, char **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	enum vg_err err = VG_ERR_INTERNAL;

	*pem = NULL;
	if (!bio)
		return VG_ERR_NOMEM;
	if (!(private_key ? PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)
	    : PEM_write_bio_PUBKEY(bio, pk)))
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || !(*pem = malloc((size_t)n))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, data, (size_t)n);
	*len = (size_t)n;
	err = VG_OK;
out:
	BIO_free(bio);
	ERR_clear_error();
	return err;
}

enum vg_err
vg_scantoken_key_from_pem(bool private_key, const char *pem, size_t len,
    struct vg_scantoken_key **out, char *msg, size_t msglen)
{
	struct vg_scantoken_key *k = NULL;
	EVP_PKEY *pk = NULL, *other = NULL;
	char *norm = NULL;
	size_t norm_len = 0;
	enum vg_err err = VG_ERR_INVALID;

	*out = NULL;
	say(msg, msglen, "%s", "");
	if (len == 0 || len > KEY_FILE_MAX) {
		say(msg, msglen, "no PEM key");
		goto out;
	}
	if (!(pk = read_key(private_key, pem, len))) {
		/* The proxy must not hold what mints tokens. */
		if (!private_key && (other = read_key(true, pem, len)) != NULL)
			say(msg, msglen, "a private key where only the public key belongs");
		else
			say(msg, msglen, "no unencrypted PEM %s key", private_key ? "private" : "public");
		goto out;
	}
	if (!is_p256(pk)) {
		say(msg, msglen, "not an EC P-256 key (ES256 needs one)");
		goto out;
	}
	if ((err = write_pem(pk, private_key, &norm, &norm_len)) != VG_OK)
		goto out;
	if (!(k = calloc(1, sizeof *k))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = vg_jwt_key_new(VG_JWT_ES256, norm, norm_len, NULL, &k->jwt)) != VG_OK)
		goto out;
	k->private_key = private_key;
	*out = k;
	k = NULL;
out:
	vg_scantoken_key_free(k);
	if (norm) {
		OPENSSL_cleanse(norm, norm_len);
		free(norm);
	}
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
	return err;
}

enum vg_err
vg_scantoken_key_load(bool private_key, const char *path, struct vg_scantoken_key **out,
    char *msg, size_t msglen)
{
	char *buf = NULL;
	size_t len = 0;
	enum vg_err err;

	*out = NULL;
	if (!path || !*path) {
		say(msg, msglen, "no key file set");
		return VG_ERR_INVALID;
	}
	err = vg_fs_read_file(path, KEY_FILE_MAX, &buf, &len);
	if (err == VG_ERR_TOO_LARGE) {
		say(msg, msglen, "%s: larger than a key file", path);
		err = VG_ERR_INVALID;
		goto out;
	}
	if (err != VG_OK) {
		if (err != VG_ERR_NOMEM)
			say(msg, msglen, "%s: %s", path, strerror(errno));
		if (err == VG_ERR_NOT_FOUND)
			err = VG_ERR_IO;
		goto out;
	}
	if ((err = vg_scantoken_key_from_pem(private_key, buf, len, out, msg, msglen)) != VG_OK &&
	    msg && msglen) {
		char why[200];

		vg_str_copy(why, sizeof why, msg);
		say(msg, msglen, "%s: %s", path, why);
	}
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return err;
}

void
vg_scantoken_key_free(struct vg_scantoken_key *key)
{
	if (!key)
		return;
	vg_jwt_key_free(key->jwt);
	free(key);
}

/* Copy a UUID in lower case. */
static void
lower_uuid(char dst[VG_UUID_LEN + 1], const char *src)
{
	size_t i;

	for (i = 0; i < VG_UUID_LEN; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[VG_UUID_LEN] = '\0';
}

enum vg_err
vg_scantoken_mint(const struct vg_scantoken_key *key, const char *scan_id,
    int64_t attempt, int64_t now, int64_t ttl, char **token,
    struct vg_scantoken_claims *claims)
{
	struct vg_scantoken_claims c;
	unsigned char rnd[16];
	json_t *payload = NULL;
	enum vg_err err;

	*token = NULL;
	memset(&c, 0, sizeof c);
	if (!key || !key->private_key || !scan_id || !vg_uuid_valid(scan_id) || attempt < 1 ||
	    attempt > INT32_MAX || ttl < 1 || ttl > VG_SCANTOKEN_MAX_TTL || now < 0 ||
	    now > INT64_MAX - ttl)
		return VG_ERR_INVALID;
	if ((err = vg_random_bytes(rnd, sizeof rnd)) != VG_OK ||
	    (err = vg_b64url_encode(rnd, sizeof rnd, c.jti, sizeof c.jti)) != VG_OK)
		return err;
	lower_uuid(c.scan_id, scan_id);
	c.attempt = attempt;
	c.iat = now;
	c.exp = now + ttl;
	payload = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "iss", VG_SCANTOKEN_ISSUER,
	    "aud", VG_SCANTOKEN_AUDIENCE, "scan_id", c.scan_id, "attempt", (json_int_t)c.attempt,
	    "iat", (json_int_t)c.iat, "exp", (json_int_t)c.exp, "jti", c.jti);
	if (!payload)
		return VG_ERR_NOMEM;
	err = vg_jwt_sign(key->jwt, payload, token);
	json_decref(payload);
	if (err == VG_OK && claims)
		*claims = c;
	return err;
}

/* aud: the audience string, or an array holding it. */
static bool
audience_ok(json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), VG_SCANTOKEN_AUDIENCE) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), VG_SCANTOKEN_AUDIENCE) == 0)
			return true;
	return false;
}

/* The claims beyond what the JWT layer checks (exp present and not past,
 * iat and nbf not in the future). */
static bool
claims_ok(json_t *p, struct vg_scantoken_claims *c)
{
	json_t *iss = json_object_get(p, "iss"), *id = json_object_get(p, "scan_id"),
	    *attempt = json_object_get(p, "attempt"), *iat = json_object_get(p, "iat"),
	    *exp = json_object_get(p, "exp"), *jti = json_object_get(p, "jti");

	if (!json_is_string(iss) || strcmp(json_string_value(iss), VG_SCANTOKEN_ISSUER) != 0 ||
	    !audience_ok(json_object_get(p, "aud")))
		return false;
	if (!json_is_string(id) || json_string_length(id) != VG_UUID_LEN ||
	    !vg_uuid_valid(json_string_value(id)))
		return false;
	if (!json_is_integer(attempt) || json_integer_value(attempt) < 1 ||
	    json_integer_value(attempt) > INT32_MAX)
		return false;
	if (!json_is_integer(iat) || !json_is_integer(exp) ||
	    json_integer_value(exp) <= json_integer_value(iat) ||
	    json_integer_value(iat) < 0 ||
	    json_integer_value(exp) - json_integer_value(iat) > VG_SCANTOKEN_MAX_TTL)
		return false;
	if (!json_is_string(jti) || json_string_length(jti) == 0 ||
	    json_string_length(jti) > VG_SCANTOKEN_JTI_MAX ||
	    strlen(json_string_value(jti)) != json_string_length(jti))
		return false;
	lower_uuid(c->scan_id, json_string_value(id));
	c->attempt = json_integer_value(attempt);
	c->iat = json_integer_value(iat);
	c->exp = json_integer_value(exp);
	vg_str_copy(c->jti, sizeof c->jti, json_string_value(jti));
	return true;
}

enum vg_err
vg_scantoken_verify(const struct vg_scantoken_key *key, const char *token,
    int64_t now, struct vg_scantoken_claims *out)
{
	struct vg_jwt_key *k;
	json_t *payload = NULL;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	memset(out, 0, sizeof *out);
	if (!key || key->private_key || !token)
		return VG_ERR_UNAUTHORIZED;
	k = key->jwt;
	/* The JWT layer pins ES256 to this key: the header cannot choose. */
	if (vg_jwt_verify(&k, 1, token, now, VG_SCANTOKEN_LEEWAY, &payload) != VG_OK)
		goto out;
	if (!claims_ok(payload, out)) {
		memset(out, 0, sizeof *out);
		goto out;
	}
	err = VG_OK;
out:
	json_decref(payload);
	return err;
}
