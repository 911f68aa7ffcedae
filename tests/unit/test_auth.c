/* test_auth.c - lib/auth: password hashing. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/b64.h"
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

/* PEM of a fresh key pair: the private key and the public key. */
static void
gen_pem(EVP_PKEY *pkey, char **priv, char **pub)
{
	BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
	char *d;
	long n;

	PEM_write_bio_PrivateKey(b1, pkey, NULL, NULL, 0, NULL, NULL);
	PEM_write_bio_PUBKEY(b2, pkey);
	n = BIO_get_mem_data(b1, &d);
	*priv = strndup(d, (size_t)n);
	n = BIO_get_mem_data(b2, &d);
	*pub = strndup(d, (size_t)n);
	BIO_free(b1);
	BIO_free(b2);
}

/* The public half of an RSA key as a JWK with the given kid. */
static json_t *
rsa_jwk(EVP_PKEY *pkey, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	unsigned char raw[1024];
	char b64n[VG_B64_LEN(1024)], b64e[16];
	int len;
	json_t *jwk;

	EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
	len = BN_bn2bin(n, raw);
	vg_b64url_encode(raw, (size_t)len, b64n, sizeof b64n);
	len = BN_bn2bin(e, raw);
	vg_b64url_encode(raw, (size_t)len, b64e, sizeof b64e);
	jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "alg", "RS256",
	    "n", b64n, "e", b64e);
	BN_free(n);
	BN_free(e);
	return jwk;
}

/* header.payload.signature from raw JSON texts, signature given. */
static char *
forge(const char *header, const char *payload, const char *sig)
{
	char h[512], p[512];
	char *out = malloc(1200);

	vg_b64url_encode((const unsigned char *)header, strlen(header), h, sizeof h);
	vg_b64url_encode((const unsigned char *)payload, strlen(payload), p, sizeof p);
	snprintf(out, 1200, "%s.%s.%s", h, p, sig);
	return out;
}

static int
verify_status(struct vg_jwt_key *key, const char *token, int64_t now)
{
	json_t *claims = NULL;
	enum vg_err err = vg_jwt_verify(&key, 1, token, now, 30, &claims);

	json_decref(claims);
	return err;
}

static void
test_jwt(void)
{
	const int64_t now = 1800000000;
	const char *secret = "0123456789abcdef0123456789abcdef";
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
	char *rsa_priv, *rsa_pub, *ec_priv, *ec_pub, *tok = NULL, *bad;
	struct vg_jwt_key *hs, *rs_sign, *rs_pub, *rs_jwk, *es_sign, *es_pub, *hs_with_pem;
	json_t *claims = json_pack("{s:s,s:I,s:I}", "sub", "u1", "exp", (json_int_t)(now + 600),
	    "iat", (json_int_t)now), *got = NULL, *jwk;
	char hdr_hs[64];
	size_t i;

	gen_pem(rsa, &rsa_priv, &rsa_pub);
	gen_pem(ec, &ec_priv, &ec_pub);
	vg_jwt_key_new(VG_JWT_HS256, secret, strlen(secret), NULL, &hs);
	vg_jwt_key_new(VG_JWT_RS256, rsa_priv, strlen(rsa_priv), "k1", &rs_sign);
	vg_jwt_key_new(VG_JWT_RS256, rsa_pub, strlen(rsa_pub), "k1", &rs_pub);
	vg_jwt_key_new(VG_JWT_ES256, ec_priv, strlen(ec_priv), NULL, &es_sign);
	vg_jwt_key_new(VG_JWT_ES256, ec_pub, strlen(ec_pub), NULL, &es_pub);
	/* The attacker's view: the RSA public key used as an HMAC secret. */
	vg_jwt_key_new(VG_JWT_HS256, rsa_pub, strlen(rsa_pub), "k1", &hs_with_pem);
	jwk = rsa_jwk(rsa, "k1");
	VT_EQ_INT(vg_jwt_key_from_jwk(jwk, &rs_jwk), VG_OK, "RSA key from JWK");

	/* HS256 round trip and the time checks. */
	VT_EQ_INT(vg_jwt_sign(hs, claims, &tok), VG_OK, "HS256 sign");
	VT_EQ_INT(vg_jwt_verify(&hs, 1, tok, now, 30, &got), VG_OK, "HS256 verify");
	VT_EQ_STR(json_string_value(json_object_get(got, "sub")), "u1", "claims returned");
	json_decref(got);
	VT_EQ_INT(verify_status(hs, tok, now + 600 + 31), VG_ERR_UNAUTHORIZED, "expired");
	VT_EQ_INT(verify_status(hs, tok, now + 600 + 29), VG_OK, "within leeway");
	VT_EQ_INT(verify_status(hs, tok, now - 31), VG_ERR_UNAUTHORIZED, "issued in the future");
	VT_EQ_INT(verify_status(rs_pub, tok, now), VG_ERR_NOT_FOUND, "no key without kid");
	free(tok);

	/* RS256 through the JWK, ES256 with PEM. */
	VT_EQ_INT(vg_jwt_sign(rs_sign, claims, &tok), VG_OK, "RS256 sign");
	VT_EQ_INT(verify_status(rs_jwk, tok, now), VG_OK, "RS256 verified with the JWK key");
	VT_EQ_INT(verify_status(rs_pub, tok, now), VG_OK, "RS256 verified with the PEM key");
	VT_EQ_INT(verify_status(hs_with_pem, tok, now), VG_ERR_UNAUTHORIZED,
	    "RS256 token refused by an HS256 key");
	free(tok);
	VT_EQ_INT(vg_jwt_sign(es_sign, claims, &tok), VG_OK, "ES256 sign");
	VT_EQ_INT(verify_status(es_pub, tok, now), VG_OK, "ES256 verify");
	VT_EQ_INT(verify_status(hs, tok, now), VG_ERR_UNAUTHORIZED, "ES256 token refused by HS256 key");
	free(tok);

	/* HS/RS confusion: HS256 signed with the RSA public key as secret. */
	VT_EQ_INT(vg_jwt_sign(hs_with_pem, claims, &tok), VG_OK, "forge HS256 with the public key");
	VT_EQ_INT(verify_status(rs_pub, tok, now), VG_ERR_UNAUTHORIZED, "HS/RS confusion refused");
	VT_EQ_INT(verify_status(rs_jwk, tok, now), VG_ERR_UNAUTHORIZED, "HS/RS confusion refused (JWK)");
	free(tok);

	/* alg none, unknown kid, tampering, malformed. */
	bad = forge("{\"alg\":\"none\"}", "{\"sub\":\"u1\",\"exp\":1800000600}", "x");
	VT_EQ_INT(verify_status(hs, bad, now), VG_ERR_UNAUTHORIZED, "alg none refused");
	free(bad);
	bad = forge("{\"alg\":\"none\"}", "{\"sub\":\"u1\",\"exp\":1800000600}", "");
	VT_EQ_INT(verify_status(hs, bad, now), VG_ERR_UNAUTHORIZED, "alg none, empty signature");
	free(bad);
	bad = forge("{\"alg\":\"RS256\",\"kid\":\"zz\"}", "{\"exp\":1800000600}", "AAAA");
	VT_EQ_INT(verify_status(rs_jwk, bad, now), VG_ERR_NOT_FOUND, "unknown kid");
	free(bad);
	snprintf(hdr_hs, sizeof hdr_hs, "{\"alg\":\"HS256\"}");
	bad = forge(hdr_hs, "{\"sub\":\"u1\"}", "AAAA");
	VT_EQ_INT(verify_status(hs, bad, now), VG_ERR_UNAUTHORIZED, "bad signature");
	free(bad);
	json_object_del(claims, "exp");
	vg_jwt_sign(hs, claims, &tok);
	VT_EQ_INT(verify_status(hs, tok, now), VG_ERR_UNAUTHORIZED, "missing exp refused");
	free(tok);
	json_object_set_new(claims, "exp", json_integer(now + 600));
	json_object_set_new(claims, "nbf", json_integer(now + 120));
	vg_jwt_sign(hs, claims, &tok);
	VT_EQ_INT(verify_status(hs, tok, now), VG_ERR_UNAUTHORIZED, "not yet valid");
	{
		static const char *const malformed[] = {
			"", ".", "..", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.!!!.sig",
			"e30.e30.sig", "eyJhbGciOiJIUzI1NiJ9..sig",
		};
		char *cut = strndup(tok, strlen(tok) - 5);

		VT_EQ_INT(verify_status(hs, cut, now + 200), VG_ERR_UNAUTHORIZED, "truncated signature");
		free(cut);
		for (i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
			VT_EQ_INT(verify_status(hs, malformed[i], now), VG_ERR_UNAUTHORIZED, malformed[i]);
	}
	free(tok);
	{
		char *huge = malloc(VG_JWT_MAX_LEN + 10);

		memset(huge, 'a', VG_JWT_MAX_LEN + 9);
		huge[VG_JWT_MAX_LEN + 9] = '\0';
		VT_EQ_INT(verify_status(hs, huge, now), VG_ERR_UNAUTHORIZED, "oversized token");
		free(huge);
	}
	json_decref(claims);
	json_decref(jwk);
	vg_jwt_key_free(hs);
	vg_jwt_key_free(rs_sign);
	vg_jwt_key_free(rs_pub);
	vg_jwt_key_free(rs_jwk);
	vg_jwt_key_free(es_sign);
	vg_jwt_key_free(es_pub);
	vg_jwt_key_free(hs_with_pem);
	vg_jwt_key_free(NULL);
	free(rsa_priv);
	free(rsa_pub);
	free(ec_priv);
	free(ec_pub);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void
test_tokens(void)
{
	static const struct { const char *in; int ok; const char *tok; } bearer[] = {
		{"Bearer abc.def-ghi_jkl", 1, "abc.def-ghi_jkl"},
		{"bearer   vgk_AAAA==", 1, "vgk_AAAA=="},
		{"BEARER a+b/c~", 1, "a+b/c~"},
		{"Bearer", 0, NULL}, {"Bearer ", 0, NULL}, {"Bearerabc", 0, NULL},
		{"Basic dXNlcjpwYXNz", 0, NULL}, {"Bearer abc def", 0, NULL},
		{"Bearer abc\tdef", 0, NULL}, {"Bearer ab=c", 0, NULL}, {"Bearer \"abc\"", 0, NULL},
		{"Bearer abc\r\n", 0, NULL}, {"Bearer \xc3\xa9", 0, NULL}, {"", 0, NULL},
		{" Bearer abc", 0, NULL},
	};
	char t1[VG_TOKEN_MAX], t2[VG_TOKEN_MAX], h1[VG_TOKEN_HASH_HEX], h2[VG_TOKEN_HASH_HEX];
	const char *tok;
	size_t i, len;
	char *huge;

	for (i = 0; i < sizeof bearer / sizeof bearer[0]; i++) {
		enum vg_err e = vg_bearer_parse(bearer[i].in, &tok, &len);

		VT_EQ_INT(e == VG_OK, bearer[i].ok, bearer[i].in);
		if (bearer[i].ok)
			VT_OK(len == strlen(bearer[i].tok) && memcmp(tok, bearer[i].tok, len) == 0,
			    bearer[i].in);
	}
	VT_EQ_INT(vg_bearer_parse(NULL, &tok, &len), VG_ERR_UNAUTHORIZED, "no header");
	huge = malloc(VG_BEARER_MAX + 16);
	memcpy(huge, "Bearer ", 7);
	memset(huge + 7, 'a', VG_BEARER_MAX + 1);
	huge[VG_BEARER_MAX + 8] = '\0';
	VT_EQ_INT(vg_bearer_parse(huge, &tok, &len), VG_ERR_UNAUTHORIZED, "oversized bearer");
	free(huge);

	VT_EQ_INT(vg_token_new(VG_TOKEN_PREFIX_API_KEY, t1, h1), VG_OK, "api key");
	VT_EQ_INT(vg_token_new(VG_TOKEN_PREFIX_API_KEY, t2, h2), VG_OK, "second api key");
	VT_OK(strncmp(t1, "vgk_", 4) == 0 && strlen(t1) == 47, "recognisable prefix, 256 bits");
	VT_OK(strcmp(t1, t2) != 0 && strcmp(h1, h2) != 0, "keys differ");
	VT_OK(strstr(h1, t1 + 4) == NULL && strlen(h1) == 64, "hash is not the key");
	vg_token_hash(t1, h2);
	VT_EQ_STR(h2, h1, "hash of the presented key matches the stored one");
	VT_OK(vg_bearer_parse("Bearer vgk_x", &tok, &len) == VG_OK, "a key parses as a bearer");
}

int
main(void)
{
	load_settings("10");
	test_tokens();
	test_jwt();
	test_password_roundtrip();
	test_password_malformed();
	return vt_done();
}
