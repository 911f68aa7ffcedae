/* jwt.c - JWTs with the algorithm pinned per key (libjwt + OpenSSL). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include "auth/jwt.h"
#include "core/b64.h"
#include "core/json.h"
#include "core/str.h"

struct vg_jwt_key {
	enum vg_jwt_alg alg;
	unsigned char *material;
	size_t len;
	char kid[128];
	EVP_PKEY *pkey;     /* RS256/ES256: the key parsed once, for verifying */
	EVP_MAC_CTX *hmac;  /* HS256: keyed once; each check works on a copy */
};

static const struct {
	const char *name;
	jwt_alg_t lib;
} algs[] = {
	[VG_JWT_HS256] = {"HS256", JWT_ALG_HS256},
	[VG_JWT_RS256] = {"RS256", JWT_ALG_RS256},
	[VG_JWT_ES256] = {"ES256", JWT_ALG_ES256},
};

/* A PEM public key, or the public half of a PEM private key; NULL when
 * neither parses (libjwt then judges the material on each use). */
static EVP_PKEY *
parse_pem(const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = NULL;

	if (!bio)
		return NULL;
	if (!(pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) && BIO_reset(bio) == 1)
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return pk;
}

/*
 * An HMAC-SHA256 context keyed with the secret (NULL when OpenSSL will
 * not make one: libjwt then checks each token).  Keyed once, because the
 * one-shot HMAC a library call makes looks the algorithm up among
 * OpenSSL's providers every time, which costs more than the MAC itself.
 */
static EVP_MAC_CTX *
keyed_hmac(const unsigned char *secret, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	EVP_MAC_free(mac);   /* the context holds its own reference */
	if (ctx && EVP_MAC_init(ctx, secret, len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

enum vg_err
vg_jwt_key_new(enum vg_jwt_alg alg, const void *material, size_t len, const char *kid,
    struct vg_jwt_key **out)
{
	struct vg_jwt_key *k;

	*out = NULL;
	if ((unsigned)alg >= sizeof algs / sizeof algs[0] || len == 0 || len > 65536 ||
	    (kid && strlen(kid) >= sizeof k->kid))
		return VG_ERR_INVALID;
	k = calloc(1, sizeof *k);
	if (!k || !(k->material = malloc(len + 1))) {
		free(k);
		return VG_ERR_NOMEM;
	}
	memcpy(k->material, material, len);
	k->material[len] = '\0';  /* PEM readers want a string */
	k->len = len;
	k->alg = alg;
	vg_str_copy(k->kid, sizeof k->kid, kid ? kid : "");
	if (alg != VG_JWT_HS256)
		k->pkey = parse_pem(k->material, k->len);
	else
		k->hmac = keyed_hmac(k->material, k->len);
	*out = k;
	return VG_OK;
}

void
vg_jwt_key_free(struct vg_jwt_key *key)
{
	if (!key)
		return;
	OPENSSL_cleanse(key->material, key->len);
	free(key->material);
	EVP_PKEY_free(key->pkey);
	EVP_MAC_CTX_free(key->hmac);
	free(key);
}

const char *
vg_jwt_key_kid(const struct vg_jwt_key *key)
{
	return key->kid;
}

/* A big-endian unsigned integer from a base64url JWK member. */
static BIGNUM *
jwk_bignum(json_t *jwk, const char *member)
{
	const char *s = NULL;
	unsigned char raw[1024];
	size_t n = 0;

	if (vg_json_get_str(jwk, member, true, 2048, &s) != VG_OK ||
	    vg_b64url_decode(s, raw, sizeof raw, &n) != VG_OK || n == 0)
		return NULL;
	return BN_bin2bn(raw, (int)n, NULL);
}

/* Build an RSA public key from n and e and write it as PEM into *pem. */
static enum vg_err
rsa_pem_from_jwk(json_t *jwk, char **pem, size_t *pem_len)
{
	BIGNUM *n = jwk_bignum(jwk, "n"), *e = jwk_bignum(jwk, "e");
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data = NULL;
	long len;
	enum vg_err err = VG_ERR_INVALID;

	if (!n || !e || BN_num_bits(n) < 2048 || BN_num_bits(n) > 8192)
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    !(bio = BIO_new(BIO_s_mem())) || !PEM_write_bio_PUBKEY(bio, pkey))
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !(*pem = malloc((size_t)len))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, data, (size_t)len);
	*pem_len = (size_t)len;
	err = VG_OK;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return err;
}

enum vg_err
vg_jwt_key_from_jwk(json_t *jwk, struct vg_jwt_key **out)
{
	const char *kty = NULL, *alg = NULL, *kid = NULL, *use = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	enum vg_err err;

	*out = NULL;
	if (vg_json_get_str(jwk, "kty", true, 16, &kty) || strcmp(kty, "RSA") != 0 ||
	    vg_json_get_str(jwk, "alg", false, 16, &alg) || (alg && strcmp(alg, "RS256") != 0) ||
	    vg_json_get_str(jwk, "use", false, 16, &use) || (use && strcmp(use, "sig") != 0) ||
	    vg_json_get_str(jwk, "kid", false, 127, &kid))
		return VG_ERR_INVALID;
	if ((err = rsa_pem_from_jwk(jwk, &pem, &pem_len)) == VG_OK)
		err = vg_jwt_key_new(VG_JWT_RS256, pem, pem_len, kid, out);
	free(pem);
	return err;
}

enum vg_err
vg_jwt_sign(const struct vg_jwt_key *key, json_t *claims, char **token)
{
	jwt_t *jwt = NULL;
	char *payload = NULL;
	enum vg_err err = VG_ERR_INTERNAL;

	*token = NULL;
	if (!json_is_object(claims))
		return VG_ERR_INVALID;
	if (!(payload = vg_json_dump(claims)) || jwt_new(&jwt) != 0 ||
	    jwt_set_alg(jwt, algs[key->alg].lib, key->material, (int)key->len) != 0 ||
	    (key->kid[0] && jwt_add_header(jwt, "kid", key->kid) != 0) ||
	    jwt_add_grants_json(jwt, payload) != 0)
		goto out;
	if ((*token = jwt_encode_str(jwt)) != NULL)
		err = VG_OK;
out:
	jwt_free(jwt);
	free(payload);
	return err;
}

/* Decode one base64url segment of n characters and parse it as a JSON
 * object. */
static enum vg_err
segment_json(const char *seg, size_t n, json_t **out)
{
	char text[VG_JWT_MAX_LEN + 1];
	unsigned char raw[VG_JWT_MAX_LEN];
	size_t len = 0;

	*out = NULL;
	memcpy(text, seg, n);
	text[n] = '\0';
	if (vg_b64url_decode(text, raw, sizeof raw, &len) != VG_OK ||
	    vg_json_parse((const char *)raw, len, out) != VG_OK)
		return VG_ERR_UNAUTHORIZED;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return VG_ERR_UNAUTHORIZED;
	}
	return VG_OK;
}

/* An ES256 signature as JWS carries it (r and s, 32 bytes each) in the
 * DER form OpenSSL verifies (*der malloc'd). */
static enum vg_err
es256_der(const unsigned char *raw, size_t n, unsigned char **der, int *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	*der = NULL;
	if (n != 64)
		return err;
	if (!(sig = ECDSA_SIG_new()) || !(r = BN_bin2bn(raw, 32, NULL)) ||
	    !(sv = BN_bin2bn(raw + 32, 32, NULL)) || !ECDSA_SIG_set0(sig, r, sv))
		goto out;
	r = sv = NULL;   /* the signature owns them */
	if ((*der_len = i2d_ECDSA_SIG(sig, der)) <= 0)
		goto out;
	err = VG_OK;
out:
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(sig);
	return err;
}

/*
 * The signature of an RS256/ES256 token against the key parsed once at
 * load (libjwt would parse the PEM text again on every token, which costs
 * more than the check itself): SHA-256 over "header.payload".
 */
static enum vg_err
verify_cached(const struct vg_jwt_key *key, const char *token, size_t signed_len,
    const char *sig64)
{
	unsigned char raw[1024], *der = NULL;
	const unsigned char *sig = raw;
	size_t n = 0;
	int sig_len;
	EVP_MD_CTX *md = NULL;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	if (vg_b64url_decode(sig64, raw, sizeof raw, &n) != VG_OK || n == 0)
		goto out;
	sig_len = (int)n;
	if (key->alg == VG_JWT_ES256) {
		if (es256_der(raw, n, &der, &sig_len) != VG_OK)
			goto out;
		sig = der;
	}
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestVerify(md, sig, (size_t)sig_len, (const unsigned char *)token,
	    signed_len) != 1)
		goto out;
	err = VG_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return err;
}

/*
 * The signature of an HS256 token with the context keyed at load: the
 * MAC of "header.payload", base64url-encoded, must be the token's third
 * segment character for character (compared in constant time), and a
 * "typ" header, when it is a string, must be JWT: the checks the library
 * made.
 */
static enum vg_err
verify_hmac(const struct vg_jwt_key *key, json_t *header, const char *token,
    size_t signed_len, const char *sig64)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char want[VG_B64_LEN(EVP_MAX_MD_SIZE)];
	const char *typ = json_string_value(json_object_get(header, "typ"));
	EVP_MAC_CTX *ctx = NULL;
	size_t n = 0, len;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	if (typ && strcasecmp(typ, "JWT") != 0)
		goto out;
	if (!(ctx = EVP_MAC_CTX_dup(key->hmac)) ||
	    EVP_MAC_update(ctx, (const unsigned char *)token, signed_len) != 1 ||
	    EVP_MAC_final(ctx, mac, &n, sizeof mac) != 1 ||
	    vg_b64url_encode(mac, n, want, sizeof want) != VG_OK)
		goto out;
	len = strlen(want);
	if (strnlen(sig64, len + 1) != len || CRYPTO_memcmp(want, sig64, len) != 0)
		goto out;
	err = VG_OK;
out:
	ERR_clear_error();
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(mac, sizeof mac);
	return err;
}

/* The key the header asks for, or VG_ERR_NOT_FOUND. */
static enum vg_err
pick_key(struct vg_jwt_key *const *keys, size_t nkeys, json_t *header,
    struct vg_jwt_key **key)
{
	const char *kid = NULL;
	size_t i;

	if (vg_json_get_str(header, "kid", false, 127, &kid) != VG_OK)
		return VG_ERR_UNAUTHORIZED;
	for (i = 0; i < nkeys; i++) {
		if (kid ? strcmp(keys[i]->kid, kid) == 0 : keys[i]->kid[0] == '\0') {
			*key = keys[i];
			return VG_OK;
		}
	}
	return VG_ERR_NOT_FOUND;
}

/* A NumericDate claim: absent is fine unless required; wrong type is not. */
static enum vg_err
time_claim(json_t *claims, const char *name, bool required, int64_t *out, bool *present)
{
	json_t *v = json_object_get(claims, name);

	*present = v != NULL;
	if (!v)
		return required ? VG_ERR_UNAUTHORIZED : VG_OK;
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15)
		*out = (int64_t)json_real_value(v);
	else
		return VG_ERR_UNAUTHORIZED;
	return VG_OK;
}

static enum vg_err
check_times(json_t *claims, int64_t now, int64_t leeway)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	bool has_exp, has_nbf, has_iat;

	if (time_claim(claims, "exp", true, &exp, &has_exp) ||
	    time_claim(claims, "nbf", false, &nbf, &has_nbf) ||
	    time_claim(claims, "iat", false, &iat, &has_iat))
		return VG_ERR_UNAUTHORIZED;
	if (exp <= now - leeway || (has_nbf && nbf > now + leeway) ||
	    (has_iat && iat > now + leeway))
		return VG_ERR_UNAUTHORIZED;
	return VG_OK;
}

enum vg_err
vg_jwt_verify(struct vg_jwt_key *const *keys, size_t nkeys, const char *token,
    int64_t now, int64_t leeway, json_t **claims)
{
	const char *dot1, *dot2;
	json_t *header = NULL, *payload = NULL;
	struct vg_jwt_key *key = NULL;
	const char *alg = NULL;
	jwt_t *jwt = NULL;
	size_t len;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	*claims = NULL;
	len = strnlen(token, VG_JWT_MAX_LEN + 1);
	if (len == 0 || len > VG_JWT_MAX_LEN || !(dot1 = strchr(token, '.')) ||
	    !(dot2 = strchr(dot1 + 1, '.')) || strchr(dot2 + 1, '.') ||
	    dot1 == token || dot2 == dot1 + 1 || dot2[1] == '\0')
		goto out;
	if (segment_json(token, (size_t)(dot1 - token), &header) != VG_OK ||
	    segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload) != VG_OK)
		goto out;
	if ((err = pick_key(keys, nkeys, header, &key)) != VG_OK)
		goto out;
	err = VG_ERR_UNAUTHORIZED;
	/* The key decides the algorithm; a header naming another one (none,
	 * HS256 against an RSA key, ...) is refused before any crypto runs. */
	if (vg_json_get_str(header, "alg", true, 16, &alg) != VG_OK ||
	    strcmp(alg, algs[key->alg].name) != 0)
		goto out;
	if (key->pkey) {
		if (verify_cached(key, token, (size_t)(dot2 - token), dot2 + 1) != VG_OK)
			goto out;
	} else if (key->hmac) {
		if (verify_hmac(key, header, token, (size_t)(dot2 - token), dot2 + 1) != VG_OK)
			goto out;
	} else if (jwt_decode(&jwt, token, key->material, (int)key->len) != 0 ||
	    jwt_get_alg(jwt) != algs[key->alg].lib) {
		goto out;
	}
	if ((err = check_times(payload, now, leeway)) != VG_OK)
		goto out;
	*claims = payload;
	payload = NULL;
	err = VG_OK;
out:
	jwt_free(jwt);
	json_decref(header);
	json_decref(payload);
	return err;
}
