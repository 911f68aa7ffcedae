/*
 * test_jwt_hs256.c - lib/auth/jwt.c checks an HS256 token's signature
 * itself, with an HMAC context keyed once: for every token here it must
 * judge exactly as the library's own check (jwt_decode with the secret)
 * does, whether the signature, the payload or the header was tampered
 * with.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "auth/jwt.h"
#include "core/b64.h"
#include "vt.h"

#define SECRET "an-hs256-secret-for-the-equivalence-test"
#define NOW 1800000000

/* "b64(header).b64(payload).sig" with sig the HMAC of the first two under
 * secret (or the given text when sig is not NULL); malloc'd. */
static char *
token(const char *header, const char *payload, const char *secret, const char *sig)
{
	char h[512], p[512], s[128], *out = malloc(1400);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	vg_b64url_encode((const unsigned char *)header, strlen(header), h, sizeof h);
	vg_b64url_encode((const unsigned char *)payload, strlen(payload), p, sizeof p);
	snprintf(out, 1400, "%s.%s", h, p);
	if (!sig) {
		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out,
		    strlen(out), mac, &n);
		vg_b64url_encode(mac, n, s, sizeof s);
		sig = s;
	}
	snprintf(out + strlen(out), 1400 - strlen(out), ".%s", sig);
	return out;
}

/* Whether the library's own check takes tok. */
static bool
library_takes(const char *tok)
{
	jwt_t *jwt = NULL;
	bool ok = jwt_decode(&jwt, tok, (const unsigned char *)SECRET, (int)strlen(SECRET)) == 0 &&
	    jwt_get_alg(jwt) == JWT_ALG_HS256;

	jwt_free(jwt);
	return ok;
}

/* Whether vg_jwt_verify takes tok. */
static bool
we_take(struct vg_jwt_key *key, const char *tok)
{
	json_t *claims = NULL;
	enum vg_err err = vg_jwt_verify(&key, 1, tok, NOW, 30, &claims);

	json_decref(claims);
	return err == VG_OK;
}

/* tok with its character at i (from the end when negative) replaced by c;
 * malloc'd. */
static char *
with_char(const char *tok, long i, char c)
{
	char *t = strdup(tok);
	size_t n = strlen(t);

	t[i < 0 ? (long)n + i : i] = c;
	return t;
}

int
main(void)
{
	static const char *const payload = "{\"sub\":\"u1\",\"exp\":1800000600,\"iat\":1800000000}";
	static const struct {
		const char *header;
		const char *payload;
		const char *secret;
		bool want;
		const char *name;
	} signed_cases[] = {
		{"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", NULL, SECRET, true, "typ JWT"},
		{"{\"alg\":\"HS256\"}", NULL, SECRET, true, "no typ"},
		{"{\"typ\":\"JWT\",\"alg\":\"HS256\"}", NULL, SECRET, true, "members in another order"},
		{"{\"alg\":\"HS256\",\"typ\":\"jwt\"}", NULL, SECRET, true, "typ in lower case"},
		{"{\"alg\":\"HS256\",\"typ\":\"JWS\"}", NULL, SECRET, false, "typ JWS"},
		{"{\"alg\":\"HS256\",\"typ\":7}", NULL, SECRET, true, "typ not a string"},
		{"{\"alg\":\"HS256\"}", NULL, "another-secret", false, "another secret"},
		{"{\"alg\":\"HS256\"}", NULL, "", false, "an empty secret"},
		{"{\"alg\":\"HS256\"}", "{\"sub\":\"u2\",\"exp\":1800000600}", SECRET, true,
		    "another payload, signed"},
	};
	struct vg_jwt_key *key = NULL;
	char *good, *t, name[160];
	size_t i;
	long k;

	VT_EQ_INT(vg_jwt_key_new(VG_JWT_HS256, SECRET, strlen(SECRET), NULL, &key), VG_OK, "key");
	for (i = 0; i < sizeof signed_cases / sizeof signed_cases[0]; i++) {
		t = token(signed_cases[i].header, signed_cases[i].payload ? signed_cases[i].payload :
		    payload, signed_cases[i].secret, NULL);
		VT_EQ_INT(library_takes(t), signed_cases[i].want, signed_cases[i].name);
		VT_EQ_INT(we_take(key, t), signed_cases[i].want, signed_cases[i].name);
		free(t);
	}

	/* Tampering with a good token: every character of the signature in
	 * turn, padding, a cut, the other alphabet, another payload under the
	 * old signature. */
	good = token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET, NULL);
	for (k = 1; k <= 43; k++) {
		char c = good[strlen(good) - (size_t)k];

		t = with_char(good, -k, c == 'A' ? 'B' : 'A');
		snprintf(name, sizeof name, "signature character %ld from the end changed", k);
		VT_OK(library_takes(t) == we_take(key, t) && !we_take(key, t), name);
		free(t);
	}
	{
		static const char *const suffixes[] = {"=", "==", "A", " "};
		char *cut = strndup(good, strlen(good) - 1);

		for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
			t = malloc(strlen(good) + 4);
			snprintf(t, strlen(good) + 4, "%s%s", good, suffixes[i]);
			snprintf(name, sizeof name, "signature followed by '%s'", suffixes[i]);
			VT_OK(library_takes(t) == we_take(key, t) && !we_take(key, t), name);
			free(t);
		}
		VT_OK(library_takes(cut) == we_take(key, cut) && !we_take(key, cut),
		    "signature cut by one character");
		free(cut);
	}
	{
		const char *sig = strrchr(good, '.') + 1;
		char std[128];
		size_t j;

		/* the standard alphabet for the same bytes: not what was signed */
		for (j = 0; sig[j] && j < sizeof std - 1; j++)
			std[j] = sig[j] == '-' ? '+' : sig[j] == '_' ? '/' : sig[j];
		std[j] = '\0';
		if (strcmp(std, sig) != 0) {
			t = token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET, std);
			VT_OK(library_takes(t) == we_take(key, t), "signature in the standard alphabet");
			free(t);
		} else {
			VT_OK(1, "signature in the standard alphabet (nothing to change)");
		}
		t = token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		    "{\"sub\":\"root\",\"exp\":1800000600,\"iat\":1800000000}", SECRET, sig);
		VT_OK(!library_takes(t) && !we_take(key, t), "another payload under the old signature");
		free(t);
	}
	VT_OK(library_takes(good) && we_take(key, good), "the good token, still");
	free(good);
	vg_jwt_key_free(key);
	return vt_done();
}
