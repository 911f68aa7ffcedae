/*
 * test_llm_scantoken.c - lib/llm/scantoken: keys (only P-256; the proxy's
 * key file must not hold the private key), mint and verify, the attacks a
 * token must survive (alg none, HS256 keyed with the public key, another
 * key, a DER signature, wrong audience or issuer, expired, tampered), and
 * agreement with independent implementations: tokens we mint verify with
 * node's crypto and python's cryptography, and a token node mints verifies
 * here (tests/fixtures/llm/jws.js, jws_verify.py).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "auth/jwt.h"
#include "core/b64.h"
#include "llm/scantoken.h"
#include "vt.h"

#ifndef VG_TEST_SRCDIR
#define VG_TEST_SRCDIR "."
#endif

#define SCAN "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"
#define NOW ((int64_t)1800000000)

static char dir[] = "/tmp/vg-llm-token-XXXXXX";
static char priv_a[256], pub_a[256], sec1_a[256], priv_b[256], pub_b[256], p384[256],
    p384_pub[256];
static char *pub_a_pem;
static size_t pub_a_len;

static const char *
srcdir(void)
{
	const char *s = getenv("VEGA_SRCDIR");

	return s && *s ? s : VG_TEST_SRCDIR;
}

/* Write key to path in the given form: 0 PKCS#8 private, 1 SEC 1 private,
 * 2 public. */
static void
write_key(EVP_PKEY *k, const char *path, int form)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	if (form == 0)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	else if (form == 1) {
		BIO *b = BIO_new_fp(f, BIO_NOCLOSE);

		PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
		BIO_free(b);
	} else
		PEM_write_PUBKEY(f, k);
	fclose(f);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	if (f && buf) {
		n = fread(buf, 1, 65535, f);
		fclose(f);
	}
	*len = n;
	return buf;
}

static void
make_keys(void)
{
	EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256"), *c = EVP_EC_gen("P-384");

	if (!mkdtemp(dir))
		abort();
	snprintf(priv_a, sizeof priv_a, "%s/a.pem", dir);
	snprintf(sec1_a, sizeof sec1_a, "%s/a-sec1.pem", dir);
	snprintf(pub_a, sizeof pub_a, "%s/a.pub.pem", dir);
	snprintf(priv_b, sizeof priv_b, "%s/b.pem", dir);
	snprintf(pub_b, sizeof pub_b, "%s/b.pub.pem", dir);
	snprintf(p384, sizeof p384, "%s/p384.pem", dir);
	snprintf(p384_pub, sizeof p384_pub, "%s/p384.pub.pem", dir);
	write_key(a, priv_a, 0);
	write_key(a, sec1_a, 1);
	write_key(a, pub_a, 2);
	write_key(b, priv_b, 0);
	write_key(b, pub_b, 2);
	write_key(c, p384, 0);
	write_key(c, p384_pub, 2);
	pub_a_pem = slurp(pub_a, &pub_a_len);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
}

static struct vg_scantoken_key *
load(bool private_key, const char *path)
{
	struct vg_scantoken_key *k = NULL;
	char msg[256];

	if (vg_scantoken_key_load(private_key, path, &k, msg, sizeof msg) != VG_OK)
		printf("# %s\n", msg);
	return k;
}

static void
test_keys(void)
{
	static const struct {
		const char *name;
		bool private_key;
		const char *path;
		enum vg_err err;
		const char *msg_has;
	} cases[] = {
		{"PKCS#8 private key", true, priv_a, VG_OK, ""},
		{"SEC 1 private key", true, sec1_a, VG_OK, ""},
		{"public key", false, pub_a, VG_OK, ""},
		{"private key as the verification key", false, priv_a, VG_ERR_INVALID,
		    "a private key where only the public key belongs"},
		{"public key as the signing key", true, pub_a, VG_ERR_INVALID, "no unencrypted PEM private"},
		{"P-384 private key", true, p384, VG_ERR_INVALID, "not an EC P-256 key"},
		{"P-384 public key", false, p384_pub, VG_ERR_INVALID, "not an EC P-256 key"},
		{"missing file", false, "/nonexistent/key.pem", VG_ERR_IO, "/nonexistent/key.pem"},
		{"no file set", false, "", VG_ERR_INVALID, "no key file set"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_scantoken_key *k = NULL;
		char msg[256] = "";

		VT_EQ_INT(vg_scantoken_key_load(cases[i].private_key, cases[i].path, &k, msg, sizeof msg),
		    cases[i].err, cases[i].name);
		if (!VT_OK(strstr(msg, cases[i].msg_has) != NULL, cases[i].name))
			printf("# message: %s\n", msg);
		VT_OK((k != NULL) == (cases[i].err == VG_OK), cases[i].name);
		vg_scantoken_key_free(k);
	}
	{
		struct vg_scantoken_key *k = NULL;
		char msg[128];

		VT_EQ_INT(vg_scantoken_key_from_pem(false, "garbage", 7, &k, msg, sizeof msg),
		    VG_ERR_INVALID, "garbage is no key");
		VT_EQ_INT(vg_scantoken_key_from_pem(false, pub_a_pem, pub_a_len, &k, msg, sizeof msg),
		    VG_OK, "key from PEM text");
		vg_scantoken_key_free(k);
	}
}

/* header.payload.signature from JSON texts and a ready signature. */
static char *
forge(const char *header, const char *payload, const char *sig)
{
	char h[1024], p[2048], *out = malloc(4096);

	vg_b64url_encode((const unsigned char *)header, strlen(header), h, sizeof h);
	vg_b64url_encode((const unsigned char *)payload, strlen(payload), p, sizeof p);
	snprintf(out, 4096, "%s.%s.%s", h, p, sig);
	return out;
}

/* An HS256 token keyed with the given bytes (the attacker's guess at what
 * a confused verifier would use: the public key's own bytes). */
static char *
hs256_with(const void *key, size_t keylen, const char *payload)
{
	char *t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, ""), sig[64];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(t) - 1;   /* without the last '.' */

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)t, n, mac, &maclen);
	vg_b64url_encode(mac, maclen, sig, sizeof sig);
	t = realloc(t, strlen(t) + sizeof sig);
	memcpy(t + n + 1, sig, strlen(sig) + 1);
	return t;
}

/* The same token with its r||s signature re-encoded as DER. */
static char *
der_signature(const char *token)
{
	const char *dot = strrchr(token, '.');
	unsigned char raw[64], *der = NULL;
	size_t rawlen = 0;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	char b64[256], *out = malloc(4096);
	int derlen;

	vg_b64url_decode(dot + 1, raw, sizeof raw, &rawlen);
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	derlen = i2d_ECDSA_SIG(sig, &der);
	vg_b64url_encode(der, (size_t)derlen, b64, sizeof b64);
	snprintf(out, 4096, "%.*s.%s", (int)(dot - token), token, b64);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return out;
}

static enum vg_err
verify(struct vg_scantoken_key *k, const char *t, int64_t now)
{
	struct vg_scantoken_claims c;

	return vg_scantoken_verify(k, t, now, &c);
}

static void
test_mint_verify(void)
{
	struct vg_scantoken_key *signer = load(true, priv_a), *sec1 = load(true, sec1_a),
	    *pub = load(false, pub_a), *other = load(false, pub_b);
	struct vg_scantoken_claims minted, got;
	char *tok = NULL, *tok2 = NULL;

	VT_EQ_INT(vg_scantoken_mint(signer, SCAN, 2, NOW, 600, &tok, &minted), VG_OK, "mint");
	VT_EQ_INT(vg_scantoken_verify(pub, tok, NOW + 10, &got), VG_OK, "verify");
	VT_EQ_STR(got.scan_id, SCAN, "scan id");
	VT_EQ_INT(got.attempt, 2, "attempt");
	VT_EQ_INT(got.iat, NOW, "iat");
	VT_EQ_INT(got.exp, NOW + 600, "exp");
	VT_EQ_STR(got.jti, minted.jti, "jti");
	VT_OK(strlen(got.jti) >= 22, "jti holds 128 random bits");
	VT_EQ_INT(vg_scantoken_mint(signer, SCAN, 2, NOW, 600, &tok2, NULL), VG_OK, "mint again");
	VT_OK(strcmp(tok, tok2) != 0, "two tokens differ (jti)");
	free(tok2);
	tok2 = NULL;
	VT_EQ_INT(vg_scantoken_mint(sec1, SCAN, 1, NOW, 60, &tok2, NULL), VG_OK, "SEC 1 key mints");
	VT_EQ_INT(verify(pub, tok2, NOW), VG_OK, "its token verifies with the public key");
	free(tok2);

	VT_EQ_INT(verify(pub, tok, NOW + 600 + VG_SCANTOKEN_LEEWAY + 1), VG_ERR_UNAUTHORIZED, "expired");
	VT_EQ_INT(verify(pub, tok, NOW + 600 + VG_SCANTOKEN_LEEWAY - 1), VG_OK, "within the leeway");
	VT_EQ_INT(verify(pub, tok, NOW - VG_SCANTOKEN_LEEWAY - 1), VG_ERR_UNAUTHORIZED,
	    "issued in the future");
	VT_EQ_INT(verify(other, tok, NOW), VG_ERR_UNAUTHORIZED, "another key refuses it");
	VT_EQ_INT(verify(signer, tok, NOW), VG_ERR_UNAUTHORIZED, "a signing key does not verify");
	{
		char *der = der_signature(tok);

		VT_EQ_INT(verify(pub, der, NOW), VG_ERR_UNAUTHORIZED, "a DER signature is not JWS");
		free(der);
	}
	{
		char *t = strdup(tok), *sig = strrchr(t, '.') + 1;

		sig[5] = sig[5] == 'A' ? 'B' : 'A';
		VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "a changed signature");
		t[strlen(t) - 4] = '\0';
		VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "a truncated signature");
		free(t);
	}
	{
		/* The payload of attempt 2 changed to attempt 3, signature kept. */
		char pl[512], *t;
		const char *dot = strrchr(tok, '.');

		snprintf(pl, sizeof pl, "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN
		    "\",\"attempt\":3,\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"}", (long long)NOW,
		    (long long)(NOW + 600), minted.jti);
		t = forge("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", pl, dot + 1);
		VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "a tampered payload");
		free(t);
	}

	/* Minting refuses what it must not sign. */
	tok2 = NULL;
	VT_EQ_INT(vg_scantoken_mint(pub, SCAN, 1, NOW, 60, &tok2, NULL), VG_ERR_INVALID,
	    "a public key cannot mint");
	VT_EQ_INT(vg_scantoken_mint(signer, "not-a-uuid", 1, NOW, 60, &tok2, NULL), VG_ERR_INVALID,
	    "bad scan id");
	VT_EQ_INT(vg_scantoken_mint(signer, SCAN, 0, NOW, 60, &tok2, NULL), VG_ERR_INVALID, "attempt 0");
	VT_EQ_INT(vg_scantoken_mint(signer, SCAN, 1, NOW, 0, &tok2, NULL), VG_ERR_INVALID, "no life");
	VT_EQ_INT(vg_scantoken_mint(signer, SCAN, 1, NOW, VG_SCANTOKEN_MAX_TTL + 1, &tok2, NULL),
	    VG_ERR_INVALID, "life over the bound");
	VT_OK(tok2 == NULL, "nothing minted");
	free(tok);
	vg_scantoken_key_free(signer);
	vg_scantoken_key_free(sec1);
	vg_scantoken_key_free(pub);
	vg_scantoken_key_free(other);
}

/* Copy payload into out with each '@' replaced: by iat then exp, or by
 * exp alone when the payload has no iat. */
static void
fill(char *out, size_t size, const char *payload, int has_iat)
{
	size_t n = 0;
	int k = has_iat ? 0 : 1;

	for (; *payload && n + 24 < size; payload++) {
		if (*payload == '@') {
			n += (size_t)snprintf(out + n, size - n, "%lld",
			    (long long)(k++ == 0 ? NOW : NOW + 60));
		} else {
			out[n++] = *payload;
		}
	}
	out[n] = '\0';
}

/* Tokens signed with the right key but with claims that must be refused. */
static void
test_claims(void)
{
	static const struct {
		const char *name;
		const char *payload;   /* each @ becomes iat, then exp */
		enum vg_err err;
	} cases[] = {
		{"all claims", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j1\"}", VG_OK},
		{"audience in an array", "{\"iss\":\"vega\",\"aud\":[\"x\",\"vega-llm-proxy\"],"
		    "\"scan_id\":\"" SCAN "\",\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_OK},
		{"wrong audience", "{\"iss\":\"vega\",\"aud\":\"vega-api\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"no audience", "{\"iss\":\"vega\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"wrong issuer", "{\"iss\":\"other\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"no issuer", "{\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"bad scan id", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"../x\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"no scan id", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"attempt 0", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":0,\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"attempt as a string", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN
		    "\",\"attempt\":\"1\",\"iat\":@,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"no iat", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"exp\":@,\"jti\":\"j\"}", VG_ERR_UNAUTHORIZED},
		{"no jti", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@}", VG_ERR_UNAUTHORIZED},
		{"empty jti", "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":1,\"iat\":@,\"exp\":@,\"jti\":\"\"}", VG_ERR_UNAUTHORIZED},
	};
	struct vg_jwt_key *k = NULL;
	struct vg_scantoken_key *pub = load(false, pub_a);
	size_t len, i;
	char *pem = slurp(priv_a, &len);

	vg_jwt_key_new(VG_JWT_ES256, pem, len, NULL, &k);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024], *tok = NULL;
		json_t *claims;

		fill(text, sizeof text, cases[i].payload, strstr(cases[i].payload, "\"iat\"") != NULL);
		claims = json_loads(text, 0, NULL);
		VT_OK(claims != NULL, cases[i].name);
		vg_jwt_sign(k, claims, &tok);
		VT_EQ_INT(verify(pub, tok, NOW), cases[i].err, cases[i].name);
		free(tok);
		json_decref(claims);
	}
	/* Life longer than the bound, even though it has not expired. */
	{
		json_t *c = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s}", "iss", "vega", "aud",
		    "vega-llm-proxy", "scan_id", SCAN, "attempt", 1, "iat", (json_int_t)NOW, "exp",
		    (json_int_t)(NOW + VG_SCANTOKEN_MAX_TTL + 1), "jti", "j");
		char *tok = NULL;

		vg_jwt_sign(k, c, &tok);
		VT_EQ_INT(verify(pub, tok, NOW), VG_ERR_UNAUTHORIZED, "life longer than the bound");
		free(tok);
		json_object_set_new(c, "exp", json_integer(NOW + VG_SCANTOKEN_MAX_TTL));
		vg_jwt_sign(k, c, &tok);
		VT_EQ_INT(verify(pub, tok, NOW), VG_OK, "life at the bound");
		free(tok);
		json_decref(c);
	}
	vg_jwt_key_free(k);
	vg_scantoken_key_free(pub);
	free(pem);
}

/* Headers that name another algorithm, whatever the signature. */
static void
test_algorithms(void)
{
	struct vg_scantoken_key *pub = load(false, pub_a);
	char payload[512], *t;
	unsigned char der[512], *p = der;
	EVP_PKEY *pk = NULL;
	FILE *f;
	int derlen;

	snprintf(payload, sizeof payload, "{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\""
	    SCAN "\",\"attempt\":1,\"iat\":%lld,\"exp\":%lld,\"jti\":\"j\"}", (long long)NOW,
	    (long long)(NOW + 60));
	t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "alg none, no signature");
	free(t);
	t = forge("{\"alg\":\"none\"}", payload, "AAAA");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "alg none with a signature");
	free(t);
	t = forge("{\"alg\":\"NONE\"}", payload, "");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "alg NONE");
	free(t);
	t = hs256_with(pub_a_pem, pub_a_len, payload);
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "HS256 keyed with the public key's PEM");
	free(t);
	f = fopen(pub_a, "r");
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	derlen = i2d_PUBKEY(pk, &p);
	t = hs256_with(der, (size_t)derlen, payload);
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "HS256 keyed with the public key's DER");
	free(t);
	EVP_PKEY_free(pk);
	t = forge("{\"alg\":\"ES384\"}", payload, "AAAA");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "ES384 header");
	free(t);
	t = forge("{\"alg\":\"RS256\"}", payload, "AAAA");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "RS256 header");
	free(t);
	t = forge("{\"typ\":\"JWT\"}", payload, "AAAA");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "no alg");
	free(t);
	t = forge("{\"alg\":\"ES256\",\"kid\":\"other\"}", payload, "AAAA");
	VT_EQ_INT(verify(pub, t, NOW), VG_ERR_UNAUTHORIZED, "a kid we do not have");
	free(t);
	{
		static const char *const junk[] = {"", ".", "..", "a.b.c", "a.b", "a.b.c.d"};
		size_t i;

		for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
			VT_EQ_INT(verify(pub, junk[i], NOW), VG_ERR_UNAUTHORIZED, junk[i]);
		VT_EQ_INT(verify(pub, NULL, NOW), VG_ERR_UNAUTHORIZED, "NULL");
	}
	vg_scantoken_key_free(pub);
}

/* Run cmd; its first line of output (malloc'd), or NULL when it failed. */
static char *
run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char buf[4096] = "";
	int status;

	if (!p)
		return NULL;
	if (!fgets(buf, sizeof buf, p))
		buf[0] = '\0';
	status = pclose(p);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

static int
have(const char *cmd)
{
	char *out = run(cmd);

	free(out);
	return out != NULL;
}

static void
test_independent(void)
{
	struct vg_scantoken_key *signer = load(true, priv_a), *pub = load(false, pub_a);
	struct vg_scantoken_claims c;
	char cmd[8192], *tok = NULL, *out;
	int64_t now = (int64_t)time(NULL);

	vg_scantoken_mint(signer, SCAN, 3, now, 300, &tok, NULL);
	if (have("node -e 0 2>/dev/null")) {
		snprintf(cmd, sizeof cmd, "node '%s/tests/fixtures/llm/jws.js' verify '%s' '%s'",
		    srcdir(), pub_a, tok);
		out = run(cmd);
		VT_OK(out && strstr(out, "\"scan_id\":\"" SCAN "\"") && strstr(out, "\"attempt\":3") &&
		    strstr(out, "\"aud\":\"vega-llm-proxy\"") && strstr(out, "\"iss\":\"vega\""),
		    "node verifies our token and reads its claims");
		free(out);
		snprintf(cmd, sizeof cmd, "node '%s/tests/fixtures/llm/jws.js' verify '%s' '%s' 2>/dev/null",
		    srcdir(), pub_b, tok);
		out = run(cmd);
		VT_OK(out == NULL, "node refuses it with another key (the check can fail)");
		free(out);

		snprintf(cmd, sizeof cmd, "node '%s/tests/fixtures/llm/jws.js' sign '%s' "
		    "'{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":4,\"iat\":%lld,\"exp\":%lld,\"jti\":\"from-node\"}'",
		    srcdir(), priv_a, (long long)now, (long long)(now + 120));
		out = run(cmd);
		VT_OK(out != NULL, "node mints a token");
		VT_EQ_INT(vg_scantoken_verify(pub, out ? out : "", now, &c), VG_OK,
		    "we verify node's token");
		VT_EQ_INT(c.attempt, 4, "with node's claims");
		VT_EQ_STR(c.jti, "from-node", "jti from node");
		free(out);
		snprintf(cmd, sizeof cmd, "node '%s/tests/fixtures/llm/jws.js' sign '%s' "
		    "'{\"iss\":\"vega\",\"aud\":\"vega-llm-proxy\",\"scan_id\":\"" SCAN "\","
		    "\"attempt\":4,\"iat\":%lld,\"exp\":%lld,\"jti\":\"b\"}'",
		    srcdir(), priv_b, (long long)now, (long long)(now + 120));
		out = run(cmd);
		VT_EQ_INT(vg_scantoken_verify(pub, out ? out : "", now, &c), VG_ERR_UNAUTHORIZED,
		    "node's token from another key is refused");
		free(out);
	} else {
		printf("# node not found: node interoperability not checked\n");
	}
	if (have("python3 -c 'import cryptography' 2>/dev/null")) {
		snprintf(cmd, sizeof cmd, "python3 '%s/tests/fixtures/llm/jws_verify.py' '%s' '%s'",
		    srcdir(), pub_a, tok);
		out = run(cmd);
		VT_OK(out && strstr(out, "\"scan_id\": \"" SCAN "\""),
		    "python's cryptography verifies our token");
		free(out);
		snprintf(cmd, sizeof cmd, "python3 '%s/tests/fixtures/llm/jws_verify.py' '%s' '%s'",
		    srcdir(), pub_b, tok);
		out = run(cmd);
		VT_OK(out == NULL, "python refuses it with another key");
		free(out);
	} else {
		printf("# python3 cryptography not found: not checked\n");
	}
	free(tok);
	vg_scantoken_key_free(signer);
	vg_scantoken_key_free(pub);
}

int
main(void)
{
	char cmd[512];

	make_keys();
	test_keys();
	test_mint_verify();
	test_claims();
	test_algorithms();
	test_independent();
	free(pub_a_pem);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return vt_done();
}
