/*
 * test_auth.c - lib/auth: passwords, JWTs, opaque tokens, the bearer check
 * (custom access tokens, API keys, Cognito tokens against an installed
 * JWKS), the project access rule, and the routes of vega-auth.fcgi driven
 * in memory against a json store in a temporary directory.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/cognito.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/b64.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "store/store.h"
#include "vt.h"

#define SECRET "unit-test-secret-unit-test-secret-0123"

static void
load_settings(const char *log_n)
{
	char msg[256];

	setenv("VEGA_PASSWORD_SCRYPT_LOG_N", log_n, 1);
	setenv("VEGA_AUTH_SECRET", SECRET, 1);
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

/* ---- the project access rule ---- */

static void
test_access(void)
{
	static const struct {
		unsigned groups;
		enum vg_project_role role;
		enum vg_project_need need;
		enum vg_err want;
	} cases[] = {
		{VG_GROUP_USER, VG_ROLE_OWNER, VG_NEED_READ, VG_OK},
		{VG_GROUP_USER, VG_ROLE_OWNER, VG_NEED_WRITE, VG_OK},
		{VG_GROUP_USER, VG_ROLE_OWNER, VG_NEED_MANAGE, VG_OK},
		{VG_GROUP_USER, VG_ROLE_MEMBER, VG_NEED_READ, VG_OK},
		{VG_GROUP_USER, VG_ROLE_MEMBER, VG_NEED_WRITE, VG_OK},
		{VG_GROUP_USER, VG_ROLE_MEMBER, VG_NEED_MANAGE, VG_ERR_FORBIDDEN},
		{VG_GROUP_USER, VG_ROLE_VIEWER, VG_NEED_READ, VG_OK},
		{VG_GROUP_USER, VG_ROLE_VIEWER, VG_NEED_WRITE, VG_ERR_FORBIDDEN},
		{VG_GROUP_USER, VG_ROLE_VIEWER, VG_NEED_MANAGE, VG_ERR_FORBIDDEN},
		{VG_GROUP_USER, VG_ROLE_NONE, VG_NEED_READ, VG_ERR_NOT_FOUND},
		{VG_GROUP_USER, VG_ROLE_NONE, VG_NEED_WRITE, VG_ERR_NOT_FOUND},
		{VG_GROUP_USER, VG_ROLE_NONE, VG_NEED_MANAGE, VG_ERR_NOT_FOUND},
		{VG_GROUP_OPERATOR, VG_ROLE_NONE, VG_NEED_READ, VG_ERR_NOT_FOUND},
		{VG_GROUP_OPERATOR | VG_GROUP_USER, VG_ROLE_VIEWER, VG_NEED_WRITE, VG_ERR_FORBIDDEN},
		{VG_GROUP_ROOT, VG_ROLE_NONE, VG_NEED_READ, VG_OK},
		{VG_GROUP_ROOT, VG_ROLE_NONE, VG_NEED_MANAGE, VG_OK},
		{VG_GROUP_ROOT, VG_ROLE_VIEWER, VG_NEED_MANAGE, VG_OK},
		{VG_GROUP_USER, (enum vg_project_role)42, VG_NEED_READ, VG_ERR_NOT_FOUND},
		{VG_GROUP_USER, VG_ROLE_OWNER, (enum vg_project_need)42, VG_ERR_NOT_FOUND},
	};
	struct vg_principal p;
	size_t i;
	char name[96];

	memset(&p, 0, sizeof p);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p.groups = cases[i].groups;
		snprintf(name, sizeof name, "access case %zu: %s needs %d", i,
		    vg_project_role_name(cases[i].role), (int)cases[i].need);
		VT_EQ_INT(vg_access_project(&p, cases[i].role, cases[i].need), cases[i].want, name);
	}
	VT_EQ_INT(vg_access_project(NULL, VG_ROLE_OWNER, VG_NEED_READ), VG_ERR_NOT_FOUND,
	    "no principal sees nothing");
	VT_EQ_INT(vg_project_role_parse("owner"), VG_ROLE_OWNER, "parse owner");
	VT_EQ_INT(vg_project_role_parse("member"), VG_ROLE_MEMBER, "parse member");
	VT_EQ_INT(vg_project_role_parse("viewer"), VG_ROLE_VIEWER, "parse viewer");
	VT_EQ_INT(vg_project_role_parse("Owner"), VG_ROLE_NONE, "roles are exact");
	VT_EQ_INT(vg_project_role_parse("none"), VG_ROLE_NONE, "none is no role");
	VT_EQ_INT(vg_project_role_parse(NULL), VG_ROLE_NONE, "NULL is no role");
}

/* ---- a store and users for the checks ---- */

static char tmpdir[] = "/tmp/vega-test-auth.XXXXXX";
static struct vg_store *store;

/* Reload the settings after setenv()s (exits on a bad setting). */
static void
reload(void)
{
	char msg[256];

	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		exit(1);
	}
}

static void
make_user(const char *email, unsigned groups, const char *password, struct vg_user *u)
{
	memset(u, 0, sizeof *u);
	vg_str_copy(u->email, sizeof u->email, email);
	u->groups = groups;
	if (password)
		vg_password_hash(password, u->password_hash);
	VT_EQ_INT(vg_store_user_create(store, u), VG_OK, email);
}

/* Sign claims with the custom key (the same secret the programs hold). */
static char *
sign_hs(json_t *claims, const char *secret)
{
	struct vg_jwt_key *k = NULL;
	char *tok = NULL;

	vg_jwt_key_new(VG_JWT_HS256, secret, strlen(secret), NULL, &k);
	vg_jwt_sign(k, claims, &tok);
	vg_jwt_key_free(k);
	return tok;
}

static int
check(const char *cred, int64_t now, struct vg_principal *p)
{
	return vg_auth_check(store, cred, now, p);
}

static void
test_custom_tokens(void)
{
	struct vg_user alice, carol;
	struct vg_principal p;
	struct vg_refresh_family f;
	char *tok = NULL, *bad;
	char rsa_tok_key[] = "k1";
	int64_t now = vg_time_now_us() / 1000000, expires_in = 0;
	json_t *c;
	size_t i;

	VT_EQ_INT(vg_auth_init(), VG_OK, "custom provider starts with a secret");
	make_user("alice@example.org", VG_GROUP_USER, NULL, &alice);
	make_user("carol@example.org", VG_GROUP_USER | VG_GROUP_OPERATOR, NULL, &carol);
	memset(&f, 0, sizeof f);
	memcpy(f.user_id, alice.id, sizeof f.user_id);
	f.expires_at_us = (now + 3600) * 1000000;
	VT_EQ_INT(vg_store_refresh_start(store, &f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    f.expires_at_us), VG_OK, "a session for alice");

	VT_EQ_INT(vg_auth_issue_access(&alice, f.id, now, &tok, &expires_in), VG_OK, "issue");
	VT_EQ_INT(expires_in, 900, "default lifetime");
	VT_EQ_INT(check(tok, now, &p), VG_OK, "an issued token passes");
	VT_EQ_STR(p.user_id, alice.id, "principal is alice");
	VT_EQ_STR(p.session_id, f.id, "with her session");
	VT_EQ_INT(p.groups, VG_GROUP_USER, "and her groups");
	VT_EQ_INT(p.via, VG_VIA_ACCESS_TOKEN, "via an access token");
	VT_EQ_INT(check(tok, now + 900 + 31, &p), VG_ERR_UNAUTHORIZED, "expired past the leeway");
	VT_EQ_INT(check(tok, now - 31, &p), VG_ERR_UNAUTHORIZED, "issued in the future");
	VT_OK(p.user_id[0] == '\0', "a refused check leaves no principal");
	/* groups follow the store, not the token */
	VT_EQ_INT(vg_store_user_set_groups(store, alice.id, VG_GROUP_USER | VG_GROUP_ROOT, 0),
	    VG_OK, "alice becomes root");
	VT_EQ_INT(check(tok, now, &p), VG_OK, "token still passes");
	VT_EQ_INT(p.groups, VG_GROUP_USER | VG_GROUP_ROOT, "current groups apply");
	vg_store_user_set_groups(store, alice.id, VG_GROUP_USER, 0);
	VT_EQ_INT(vg_store_user_set_disabled(store, alice.id, true, 0), VG_OK, "disable alice");
	VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "a disabled user's token is refused");
	vg_store_user_set_disabled(store, alice.id, false, 0);
	VT_EQ_INT(vg_store_refresh_family_revoke(store, f.id, VG_REVOKE_LOGOUT, 0), VG_OK, "logout");
	VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "a token of an ended session is refused");
	free(tok);

	/* Tokens made with the right key but the wrong claims. */
	{
		static const struct {
			const char *name, *key, *value;
		} wrong[] = {
			{"wrong issuer", "iss", "someone-else"},
			{"wrong audience", "aud", "other-api"},
			{"an id token", "token_use", "id"},
			{"sub not a uuid", "sub", "alice"},
			{"unknown user", "sub", "00000000-0000-4000-8000-000000000000"},
			{"unknown session", "sid", "00000000-0000-4000-8000-000000000000"},
		};

		for (i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
			c = json_pack("{s:s, s:[s], s:s, s:I, s:I, s:s, s:s}", "iss", "vega",
			    "aud", "vega-api", "sub", carol.id, "iat", (json_int_t)now,
			    "exp", (json_int_t)(now + 60), "jti", "j1", "token_use", "access");
			json_object_set_new(c, wrong[i].key, json_string(wrong[i].value));
			tok = sign_hs(c, SECRET);
			VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, wrong[i].name);
			free(tok);
			json_decref(c);
		}
		c = json_pack("{s:s, s:[s], s:s, s:I, s:I, s:s, s:s}", "iss", "vega",
		    "aud", "vega-api", "sub", carol.id, "iat", (json_int_t)now,
		    "exp", (json_int_t)(now + 60), "jti", "j1", "token_use", "access");
		tok = sign_hs(c, SECRET);
		VT_EQ_INT(check(tok, now, &p), VG_OK, "the same claims done right pass");
		VT_EQ_INT(p.groups, VG_GROUP_USER | VG_GROUP_OPERATOR, "carol's groups");
		free(tok);
		tok = sign_hs(c, "another-secret-another-secret-another");
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "signed with another secret");
		free(tok);
		json_object_del(c, "jti");
		tok = sign_hs(c, SECRET);
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "without jti");
		free(tok);
		json_object_set_new(c, "jti", json_string("j2"));
		json_object_del(c, "exp");
		tok = sign_hs(c, SECRET);
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "without exp");
		free(tok);
		json_decref(c);
	}
	/* An RS256 token is never accepted by the custom provider. */
	{
		EVP_PKEY *rsa = EVP_RSA_gen(2048);
		char *priv, *pub;
		struct vg_jwt_key *k = NULL;

		gen_pem(rsa, &priv, &pub);
		vg_jwt_key_new(VG_JWT_RS256, priv, strlen(priv), rsa_tok_key, &k);
		c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", "vega",
		    "aud", "vega-api", "sub", carol.id, "iat", (json_int_t)now,
		    "exp", (json_int_t)(now + 60), "jti", "j1", "token_use", "access");
		vg_jwt_sign(k, c, &tok);
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "RS256 token refused by custom");
		free(tok);
		vg_jwt_key_free(k);
		vg_jwt_key_new(VG_JWT_RS256, priv, strlen(priv), NULL, &k);
		vg_jwt_sign(k, c, &tok);
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "RS256 without kid refused");
		free(tok);
		/* HS256 "signed" with the public key as the secret */
		tok = sign_hs(c, pub);
		VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "HS256 with another key refused");
		free(tok);
		vg_jwt_key_free(k);
		json_decref(c);
		free(priv);
		free(pub);
		EVP_PKEY_free(rsa);
	}
	bad = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"sub\":\"x\",\"exp\":9999999999}", "");
	VT_EQ_INT(check(bad, now, &p), VG_ERR_UNAUTHORIZED, "alg none refused");
	free(bad);
	VT_EQ_INT(check("not.a.jwt", now, &p), VG_ERR_UNAUTHORIZED, "garbage refused");
	VT_EQ_INT(check("", now, &p), VG_ERR_UNAUTHORIZED, "empty refused");
}

static void
test_api_keys(void)
{
	struct vg_user dave;
	struct vg_api_key k, got;
	struct vg_principal p;
	char key[VG_TOKEN_MAX], other[VG_TOKEN_MAX], hash[VG_TOKEN_HASH_HEX];
	int64_t now = vg_time_now_us() / 1000000;

	make_user("dave@example.org", VG_GROUP_USER | VG_GROUP_OPERATOR, NULL, &dave);
	memset(&k, 0, sizeof k);
	memcpy(k.user_id, dave.id, sizeof k.user_id);
	vg_str_copy(k.name, sizeof k.name, "ci");
	vg_token_new(VG_TOKEN_PREFIX_API_KEY, key, k.key_hash);
	memcpy(k.prefix, key, 12);
	k.expires_at_us = (now + 100) * 1000000;
	VT_EQ_INT(vg_store_api_key_create(store, &k), VG_OK, "store a key");
	VT_EQ_INT(check(key, now, &p), VG_OK, "the key authenticates");
	VT_EQ_STR(p.user_id, dave.id, "as its owner");
	VT_EQ_INT(p.groups, VG_GROUP_USER | VG_GROUP_OPERATOR, "with the owner's groups");
	VT_EQ_INT(p.via, VG_VIA_API_KEY, "via an API key");
	VT_EQ_STR(p.api_key_id, k.id, "naming the key");
	VT_EQ_INT(vg_store_api_key_by_hash(store, k.key_hash, &got), VG_OK, "read it back");
	VT_EQ_INT(got.last_used_us, now * 1000000, "last use recorded");
	VT_EQ_INT(check(key, now + 30, &p), VG_OK, "used again within the minute");
	vg_store_api_key_by_hash(store, k.key_hash, &got);
	VT_EQ_INT(got.last_used_us, now * 1000000, "not rewritten within the minute");
	VT_EQ_INT(check(key, now + 100, &p), VG_ERR_UNAUTHORIZED, "refused at expiry");
	vg_token_new(VG_TOKEN_PREFIX_API_KEY, other, hash);
	VT_EQ_INT(check(other, now, &p), VG_ERR_UNAUTHORIZED, "an unknown key is refused");
	VT_EQ_INT(vg_store_user_set_disabled(store, dave.id, true, 0), VG_OK, "disable dave");
	VT_EQ_INT(check(key, now, &p), VG_ERR_UNAUTHORIZED, "a disabled owner's key is refused");
	vg_store_user_set_disabled(store, dave.id, false, 0);
	VT_EQ_INT(vg_store_api_key_revoke(store, dave.id, k.id, 0), VG_OK, "revoke");
	VT_EQ_INT(check(key, now, &p), VG_ERR_UNAUTHORIZED, "a revoked key is refused");
}

/* ---- Cognito ---- */

#define POOL "eu-west-1_TestPool"
#define CLIENT "client-abc"
#define ISSUER "http://127.0.0.1:9/" POOL

static void
test_cognito_secret_hash(void)
{
	char out[45];

	/* expected value computed independently (Python's hmac module) */
	VT_EQ_INT(vg_cognito_secret_hash("client-secret-1", "alice@example.org", "abc123client", out),
	    VG_OK, "secret hash");
	VT_EQ_STR(out, "0EMaTGm76UKUSWCdptW+1WYT08YPslRskeKUBzri3Xk=", "HMAC-SHA256, base64");
}

static void
test_cognito(void)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *rogue = EVP_RSA_gen(2048);
	char *priv, *pub, *rpriv, *rpub, *tok = NULL;
	struct vg_jwt_key *k = NULL, *rk = NULL;
	json_t *jwks, *base, *c;
	struct vg_principal p;
	struct vg_user u;
	int64_t now = vg_time_now_us() / 1000000;
	unsigned fetches;
	size_t i;

	setenv("VEGA_AUTH_PROVIDER", "cognito", 1);
	unsetenv("VEGA_AUTH_SECRET");
	setenv("VEGA_COGNITO_USER_POOL_ID", POOL, 1);
	setenv("VEGA_COGNITO_APP_CLIENT_ID", CLIENT, 1);
	/* a closed port: every fetch fails at once, so only installed keys work */
	setenv("VEGA_COGNITO_ENDPOINT", "http://127.0.0.1:9/", 1);
	setenv("VEGA_COGNITO_TIMEOUT_SECONDS", "2", 1);
	reload();
	VT_EQ_INT(vg_auth_init(), VG_OK, "cognito provider starts without VEGA_AUTH_SECRET");
	gen_pem(rsa, &priv, &pub);
	gen_pem(rogue, &rpriv, &rpub);
	vg_jwt_key_new(VG_JWT_RS256, priv, strlen(priv), "kid-1", &k);
	vg_jwt_key_new(VG_JWT_RS256, rpriv, strlen(rpriv), "kid-1", &rk);
	jwks = json_pack("{s:[o]}", "keys", rsa_jwk(rsa, "kid-1"));
	VT_EQ_INT(check("x.y.z", now, &p), VG_ERR_UNAVAILABLE, "no keys at all: unavailable");
	VT_EQ_INT(vg_cognito_set_jwks(jwks, now), VG_OK, "install the pool's keys");

	base = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:[s,s,s]}",
	    "sub", "11111111-2222-4333-8444-555555555555", "iss", ISSUER, "client_id", CLIENT,
	    "token_use", "access", "iat", (json_int_t)now, "exp", (json_int_t)(now + 300),
	    "auth_time", (json_int_t)now, "username", "erin",
	    "cognito:groups", "operator", "admins", "user");
	vg_jwt_sign(k, base, &tok);
	VT_EQ_INT(check(tok, now, &p), VG_OK, "a pool token passes");
	VT_EQ_INT(p.groups, VG_GROUP_OPERATOR | VG_GROUP_USER, "groups from cognito:groups");
	VT_EQ_STR(p.display_name, "erin", "the user was created from the token");
	VT_EQ_INT(vg_store_user_by_sub(store, "11111111-2222-4333-8444-555555555555", &u), VG_OK,
	    "keyed by sub");
	VT_EQ_STR(u.id, p.user_id, "the same user");
	VT_EQ_INT(check(tok, now, &p), VG_OK, "second sight finds the same user");
	VT_EQ_STR(u.id, p.user_id, "not created twice");
	free(tok);
	{
		static const struct {
			const char *name, *key;
			int kind;   /* 0 string value, 1 integer offset from now, 2 delete */
			const char *s;
			int64_t off;
		} bad[] = {
			{"wrong issuer", "iss", 0, "http://127.0.0.1:9/eu-west-1_Other", 0},
			{"token_use id", "token_use", 0, "id", 0},
			{"wrong client_id", "client_id", 0, "client-other", 0},
			{"expired", "exp", 1, NULL, -120},
			{"not yet valid", "nbf", 1, NULL, 120},
			{"issued in the future", "iat", 1, NULL, 120},
			{"no client_id", "client_id", 2, NULL, 0},
			{"no token_use", "token_use", 2, NULL, 0},
			{"no sub", "sub", 2, NULL, 0},
		};

		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			c = json_deep_copy(base);
			if (bad[i].kind == 0)
				json_object_set_new(c, bad[i].key, json_string(bad[i].s));
			else if (bad[i].kind == 1)
				json_object_set_new(c, bad[i].key, json_integer(now + bad[i].off));
			else
				json_object_del(c, bad[i].key);
			vg_jwt_sign(k, c, &tok);
			VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, bad[i].name);
			free(tok);
			json_decref(c);
		}
	}
	vg_jwt_sign(rk, base, &tok);
	VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "same kid, another key: bad signature");
	free(tok);
	tok = sign_hs(base, pub);
	VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "HS256 signed with the public key");
	free(tok);
	/* unknown kid: one refetch (which fails here), then none within the interval */
	vg_jwt_key_free(rk);
	vg_jwt_key_new(VG_JWT_RS256, rpriv, strlen(rpriv), "kid-unknown", &rk);
	vg_jwt_sign(rk, base, &tok);
	fetches = vg_cognito_fetch_count();
	/* (the HS256 token above had no kid and already caused one refetch at
	 * now: the clock moves on past the interval first) */
	VT_EQ_INT(check(tok, now + 200, &p), VG_ERR_UNAUTHORIZED, "unknown kid refused");
	VT_EQ_INT(vg_cognito_fetch_count(), fetches + 1, "an unknown kid refetches the keys");
	VT_EQ_INT(check(tok, now + 201, &p), VG_ERR_UNAUTHORIZED, "unknown kid again");
	VT_EQ_INT(check(tok, now + 202, &p), VG_ERR_UNAUTHORIZED, "and again");
	VT_EQ_INT(vg_cognito_fetch_count(), fetches + 1, "no second fetch within the interval");
	VT_EQ_INT(check(tok, now + 261, &p), VG_ERR_UNAUTHORIZED, "after the interval");
	VT_EQ_INT(vg_cognito_fetch_count(), fetches + 2, "one more fetch");
	free(tok);
	/* the installed keys outlive a failed refresh past their TTL */
	vg_jwt_sign(k, base, &tok);
	VT_EQ_INT(check(tok, now + 262, &p), VG_OK, "keys still serve when a refetch failed");
	free(tok);
	/* a disabled Cognito user is refused */
	vg_store_user_set_disabled(store, u.id, true, 0);
	vg_jwt_sign(k, base, &tok);
	VT_EQ_INT(check(tok, now, &p), VG_ERR_UNAUTHORIZED, "disabled cognito user refused");
	free(tok);

	/* settings the provider needs */
	unsetenv("VEGA_COGNITO_USER_POOL_ID");
	reload();
	VT_EQ_INT(vg_auth_init(), VG_ERR_INVALID, "a pool id is required");
	setenv("VEGA_COGNITO_USER_POOL_ID", "bad/pool", 1);
	reload();
	VT_EQ_INT(vg_auth_init(), VG_ERR_INVALID, "a pool id cannot bend the URL");

	json_decref(base);
	json_decref(jwks);
	vg_jwt_key_free(k);
	vg_jwt_key_free(rk);
	free(priv);
	free(pub);
	free(rpriv);
	free(rpub);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rogue);
	unsetenv("VEGA_COGNITO_USER_POOL_ID");
	unsetenv("VEGA_COGNITO_APP_CLIENT_ID");
	unsetenv("VEGA_COGNITO_ENDPOINT");
	setenv("VEGA_AUTH_PROVIDER", "custom", 1);
	setenv("VEGA_AUTH_SECRET", SECRET, 1);
	reload();
	VT_EQ_INT(vg_auth_init(), VG_OK, "back to the custom provider");
}

/* ---- the routes, in memory ---- */

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	VG_AUTH_ROUTES,
	{"GET", "/v1/ops/audit", VG_AUTH_OPERATOR, vg_auth_route_audit},
};

static const struct vg_program program = {
	.role = "auth", VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate, .init = vg_auth_init,
};

struct answer {
	int status;
	json_t *body;
	char retry_after[16];
	char www_auth[64];
};

/* Run one request; bearer may be NULL, body JSON text or NULL. */
static void
call(const char *method, const char *uri, const char *bearer, const char *body, const char *ip,
    struct answer *a)
{
	char m[32], u[512], auth[1024], cl[48], addr[64];
	const char *params[12];
	struct vg_http_mem *mem;
	const char *h, *b;
	size_t n = 0, len;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	snprintf(addr, sizeof addr, "REMOTE_ADDR=%s", ip ? ip : "192.0.2.10");
	params[n++] = m;
	params[n++] = u;
	params[n++] = addr;
	if (bearer) {
		snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=Bearer %s", bearer);
		params[n++] = auth;
	}
	if (body) {
		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(body));
		params[n++] = cl;
		params[n++] = "CONTENT_TYPE=application/json";
	}
	params[n] = NULL;
	memset(a, 0, sizeof *a);
	mem = vg_http_mem_new(params, body, body ? strlen(body) : 0);
	vg_http_handle(&program, vg_http_mem_io(mem));
	a->status = vg_http_mem_status(mem);
	if ((h = vg_http_mem_header(mem, "Retry-After")))
		vg_str_copy(a->retry_after, sizeof a->retry_after, h);
	if ((h = vg_http_mem_header(mem, "WWW-Authenticate")))
		vg_str_copy(a->www_auth, sizeof a->www_auth, h);
	b = vg_http_mem_body(mem, &len);
	a->body = len ? json_loadb(b, len, 0, NULL) : NULL;
	vg_http_mem_free(mem);
}

static const char *
field(struct answer *a, const char *key)
{
	return json_string_value(json_object_get(a->body, key));
}

static const char *
err_code(struct answer *a)
{
	return json_string_value(json_object_get(json_object_get(a->body, "error"), "code"));
}

static void
done(struct answer *a)
{
	json_decref(a->body);
	a->body = NULL;
}

/* Count audit entries with this action. */
static int
audit_count(const char *action)
{
	json_t *items = NULL, *it;
	char *next = NULL;
	size_t i;
	int n = 0;

	if (vg_store_audit_list(store, NULL, VG_STORE_LIST_MAX, &items, &next) != VG_OK)
		return -1;
	json_array_foreach(items, i, it)
		n += strcmp(json_string_value(json_object_get(it, "action")), action) == 0;
	json_decref(items);
	free(next);
	return n;
}

static void
test_routes(void)
{
	struct vg_user frank, gina;
	struct answer a;
	char access[2048], refresh[128], refresh2[128], key[128], key_id[64], body[512];
	char first_msg[128];
	int i, fails0 = audit_count("auth.login_failed");

	make_user("frank@example.org", VG_GROUP_USER, "frank's long password", &frank);
	make_user("gina@example.org", VG_GROUP_USER | VG_GROUP_OPERATOR, "gina's long password",
	    &gina);

	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"Frank@Example.org\",\"password\":\"frank's long password\"}", NULL, &a);
	VT_EQ_INT(a.status, 200, "login");
	VT_EQ_STR(field(&a, "token_type"), "Bearer", "token type");
	VT_EQ_INT(json_integer_value(json_object_get(a.body, "expires_in")), 900, "expires_in");
	VT_OK(field(&a, "refresh_token") && vg_str_has_prefix(field(&a, "refresh_token"), "vgr_"),
	    "an opaque refresh token");
	vg_str_copy(access, sizeof access, field(&a, "access_token") ? field(&a, "access_token") : "");
	vg_str_copy(refresh, sizeof refresh, field(&a, "refresh_token") ? field(&a, "refresh_token") : "");
	done(&a);
	VT_EQ_INT(audit_count("auth.login"), 1, "the login is audited");

	call("GET", "/v1/auth/me", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 200, "me");
	VT_EQ_STR(field(&a, "id"), frank.id, "me is frank");
	VT_EQ_STR(field(&a, "email"), "frank@example.org", "his e-mail");
	VT_EQ_STR(json_string_value(json_array_get(json_object_get(a.body, "groups"), 0)), "user",
	    "his groups");
	done(&a);
	call("GET", "/v1/auth/me", NULL, NULL, NULL, &a);
	VT_EQ_INT(a.status, 401, "me without a token");
	VT_EQ_STR(err_code(&a), "invalid_token", "invalid_token");
	VT_OK(vg_str_has_prefix(a.www_auth, "Bearer"), "WWW-Authenticate: Bearer");
	done(&a);
	call("GET", "/v1/ops/audit", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 403, "a plain user cannot read the audit log");
	VT_EQ_STR(err_code(&a), "forbidden", "forbidden");
	done(&a);

	/* refresh: rotate, then reuse of the old token kills the family */
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	call("POST", "/v1/auth/refresh", NULL, body, NULL, &a);
	VT_EQ_INT(a.status, 200, "refresh");
	VT_OK(field(&a, "refresh_token") && strcmp(field(&a, "refresh_token"), refresh) != 0,
	    "a new refresh token");
	vg_str_copy(refresh2, sizeof refresh2, field(&a, "refresh_token") ? field(&a, "refresh_token") : "");
	done(&a);
	call("POST", "/v1/auth/refresh", NULL, body, NULL, &a);
	VT_EQ_INT(a.status, 401, "the rotated token is refused");
	done(&a);
	VT_EQ_INT(audit_count("auth.refresh_reuse_detected"), 1, "reuse is audited");
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh2);
	call("POST", "/v1/auth/refresh", NULL, body, NULL, &a);
	VT_EQ_INT(a.status, 401, "the family is revoked: the newest token is refused too");
	done(&a);
	call("GET", "/v1/auth/me", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 401, "and so is its access token");
	done(&a);
	call("POST", "/v1/auth/refresh", NULL, "{\"refresh_token\":\"vgr_nonsense\"}", NULL, &a);
	VT_EQ_INT(a.status, 401, "an unknown refresh token");
	done(&a);
	call("POST", "/v1/auth/refresh", NULL, "{}", NULL, &a);
	VT_EQ_INT(a.status, 400, "refresh without a token");
	VT_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(a.body,
	    "error"), "details"), "field")), "refresh_token", "names the field");
	done(&a);

	/* logout */
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"frank@example.org\",\"password\":\"frank's long password\"}", NULL, &a);
	vg_str_copy(access, sizeof access, field(&a, "access_token") ? field(&a, "access_token") : "");
	vg_str_copy(refresh, sizeof refresh, field(&a, "refresh_token") ? field(&a, "refresh_token") : "");
	done(&a);
	call("POST", "/v1/auth/logout", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 204, "logout");
	done(&a);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	call("POST", "/v1/auth/refresh", NULL, body, NULL, &a);
	VT_EQ_INT(a.status, 401, "no refresh after logout");
	done(&a);
	call("GET", "/v1/auth/me", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 401, "no access after logout");
	done(&a);

	/* failures: same answer for an unknown e-mail and a wrong password */
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"frank@example.org\",\"password\":\"wrong password!\"}", "198.51.100.1", &a);
	VT_EQ_INT(a.status, 401, "wrong password");
	snprintf(first_msg, sizeof first_msg, "%s", json_string_value(json_object_get(
	    json_object_get(a.body, "error"), "message")));
	done(&a);
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"nobody@example.org\",\"password\":\"wrong password!\"}", "198.51.100.1", &a);
	VT_EQ_INT(a.status, 401, "unknown e-mail");
	VT_EQ_STR(json_string_value(json_object_get(json_object_get(a.body, "error"), "message")),
	    first_msg, "the same message");
	done(&a);
	VT_EQ_INT(audit_count("auth.login_failed"), fails0 + 2, "failures are audited");
	call("POST", "/v1/auth/login", NULL, "{\"email\":\"frank@example.org\"}", NULL, &a);
	VT_EQ_INT(a.status, 400, "no password");
	done(&a);
	call("POST", "/v1/auth/login", NULL, "{\"email\":", NULL, &a);
	VT_EQ_INT(a.status, 400, "broken JSON");
	VT_EQ_STR(err_code(&a), "invalid_json", "invalid_json");
	done(&a);

	/* throttle per account (5 by default): frank has one failure already */
	for (i = 0; i < 4; i++) {
		call("POST", "/v1/auth/login", NULL,
		    "{\"email\":\"frank@example.org\",\"password\":\"wrong password!\"}",
		    "198.51.100.2", &a);
		VT_EQ_INT(a.status, 401, "more wrong passwords");
		done(&a);
	}
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"frank@example.org\",\"password\":\"frank's long password\"}",
	    "198.51.100.3", &a);
	VT_EQ_INT(a.status, 429, "throttled, even with the right password");
	VT_EQ_STR(err_code(&a), "rate_limited", "rate_limited");
	VT_OK(atoi(a.retry_after) > 0 && atoi(a.retry_after) <= 900, "Retry-After within the window");
	done(&a);
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"FRANK@example.org\",\"password\":\"frank's long password\"}",
	    "198.51.100.3", &a);
	VT_EQ_INT(a.status, 429, "the address's case does not dodge it");
	done(&a);
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"gina@example.org\",\"password\":\"gina's long password\"}",
	    "198.51.100.3", &a);
	VT_EQ_INT(a.status, 200, "another account logs in");
	vg_str_copy(access, sizeof access, field(&a, "access_token") ? field(&a, "access_token") : "");
	done(&a);

	/* operator routes */
	call("GET", "/v1/ops/audit?limit=3", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 200, "an operator reads the audit log");
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 3, "a page of three");
	VT_OK(json_is_string(json_object_get(a.body, "next_cursor")), "and a cursor");
	done(&a);
	call("GET", "/v1/ops/audit?cursor=bogus", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 400, "a bad cursor");
	done(&a);

	/* API keys */
	call("POST", "/v1/api-keys", access, "{\"name\":\"ci\"}", NULL, &a);
	VT_EQ_INT(a.status, 201, "create a key");
	VT_OK(field(&a, "key") && vg_str_has_prefix(field(&a, "key"), "vgk_"), "the key, once");
	VT_OK(field(&a, "key") && field(&a, "prefix") &&
	    vg_str_has_prefix(field(&a, "key"), field(&a, "prefix")), "its prefix");
	vg_str_copy(key, sizeof key, field(&a, "key") ? field(&a, "key") : "");
	vg_str_copy(key_id, sizeof key_id, field(&a, "id") ? field(&a, "id") : "");
	done(&a);
	call("GET", "/v1/ops/audit", key, NULL, NULL, &a);
	VT_EQ_INT(a.status, 200, "the key carries the operator group");
	done(&a);
	call("GET", "/v1/api-keys", key, NULL, NULL, &a);
	VT_EQ_INT(a.status, 200, "list keys with a key");
	VT_EQ_INT(json_array_size(json_object_get(a.body, "items")), 1, "one key");
	VT_OK(!json_object_get(json_array_get(json_object_get(a.body, "items"), 0), "key"),
	    "the list holds no secret");
	VT_OK(json_is_string(json_object_get(json_array_get(json_object_get(a.body, "items"), 0),
	    "last_used_at")), "last use shown");
	done(&a);
	call("POST", "/v1/api-keys", key, "{\"name\":\"more\"}", NULL, &a);
	VT_EQ_INT(a.status, 403, "a key cannot make keys");
	done(&a);
	call("POST", "/v1/api-keys", access, "{\"name\":\"old\",\"expires_at\":\"2001-01-01T00:00:00Z\"}",
	    NULL, &a);
	VT_EQ_INT(a.status, 400, "an expiry in the past");
	done(&a);
	call("POST", "/v1/api-keys", access, "{\"name\":\"\"}", NULL, &a);
	VT_EQ_INT(a.status, 400, "an empty name");
	done(&a);
	snprintf(body, sizeof body, "/v1/api-keys/%s", key_id);
	call("DELETE", body, NULL, NULL, NULL, &a);
	VT_EQ_INT(a.status, 401, "revoke needs a token");
	done(&a);
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"frank@example.org\",\"password\":\"frank's long password\"}",
	    "203.0.113.9", &a);
	done(&a);
	call("DELETE", body, key, NULL, NULL, &a);
	VT_EQ_INT(a.status, 204, "revoke the key");
	done(&a);
	call("GET", "/v1/auth/me", key, NULL, NULL, &a);
	VT_EQ_INT(a.status, 401, "a revoked key is refused");
	done(&a);
	call("DELETE", body, access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 404, "revoking twice");
	done(&a);
	VT_EQ_INT(audit_count("api_key.created"), 1, "key creation audited");
	VT_EQ_INT(audit_count("api_key.revoked"), 1, "key revocation audited");
	call("POST", "/v1/auth/logout", access, NULL, NULL, &a);
	VT_EQ_INT(a.status, 204, "gina logs out");
	done(&a);
	VT_EQ_INT(audit_count("auth.logout"), 2, "logouts audited");
}

/* Per-address throttling: many accounts from one address. */
static void
test_address_throttle(void)
{
	struct answer a;
	char body[256];
	int i;

	setenv("VEGA_LOGIN_MAX_FAILURES_PER_ADDRESS", "3", 1);
	reload();
	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof body, "{\"email\":\"who%d@example.org\",\"password\":\"x\"}", i);
		call("POST", "/v1/auth/login", NULL, body, "203.0.113.50", &a);
		VT_EQ_INT(a.status, 401, "a guess from the address");
		done(&a);
	}
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"gina@example.org\",\"password\":\"gina's long password\"}",
	    "203.0.113.50", &a);
	VT_EQ_INT(a.status, 429, "the address is throttled for every account");
	VT_OK(a.retry_after[0] != '\0', "with Retry-After");
	done(&a);
	call("POST", "/v1/auth/login", NULL,
	    "{\"email\":\"gina@example.org\",\"password\":\"gina's long password\"}",
	    "203.0.113.51", &a);
	VT_EQ_INT(a.status, 200, "another address is not");
	done(&a);
	unsetenv("VEGA_LOGIN_MAX_FAILURES_PER_ADDRESS");
	reload();
}

int
main(void)
{
	char msg[64];

	load_settings("10");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	setenv("VEGA_DATA_DIR", tmpdir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_LOG_LEVEL", "error", 1);
	reload();
	vg_log_init("test");
	if (vg_http_store(&store) != VG_OK) {
		printf("Bail out! no store\n");
		return 1;
	}
	test_tokens();
	test_jwt();
	test_password_roundtrip();
	test_password_malformed();
	test_access();
	test_custom_tokens();
	test_api_keys();
	test_cognito_secret_hash();
	test_cognito();
	test_routes();
	test_address_throttle();
	vg_auth_reset();
	vg_http_health_reset();
	snprintf(msg, sizeof msg, "rm -rf %s", tmpdir);
	if (system(msg) != 0)
		printf("# could not remove %s\n", tmpdir);
	return vt_done();
}
