/*
 * fuzz_jwt.c - fuzz target for JWT verification (vg_jwt_verify) with an
 * HS256 key and a JWK-made RS256 key.  Whatever the input, nothing may
 * crash, and no input may verify: the fuzzer cannot produce a valid MAC
 * or signature, so a success would mean a check was skipped.
 * `make check` runs it through tests/unit/fuzz_driver.c on the seeds in
 * tests/fixtures/fuzz/jwt/ plus deterministic mutations.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "auth/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A 2048-bit RSA public key as a JWK (kid "k1"). */
static const char jwk_text[] =
    "{\"kty\":\"RSA\",\"kid\":\"k1\",\"alg\":\"RS256\",\"e\":\"AQAB\",\"n\":"
    "\"18ACoxzus7xuoqqCrfxdGD96rAuTPG00iFA3sMrElmocylfXR2C1gQTY5g9iYE3jvNZBWzII"
    "Aw6bXT7sRhuNSFOyCVPIeVpoHD86QravGNy6twokhqgUjTEFLrKlm7HXmlBNL__Rmhm42ecE"
    "Xm0NfgZdghks4hd1CpHod8wxmdhzWw6K0XxFVRj4BwWv1yXG5X-Jd4sWDYxQX5IkkNTbbV_j"
    "fiZlS4onV3u5DXsJ2sm80E31tKtKgm1sDp-UaqtyZKOtgJ1ALPH-JLgU2c7MrIGpfzMQjq9X"
    "LyiTuNLq2JaHuxHFkVE26-39uooCQC6sNt-wXZACbytuikMmdLoCLw\"}";

static struct vg_jwt_key *keys[2];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = malloc(size + 1);
	json_t *claims = NULL;
	enum vg_err err;

	if (!tok)
		return 0;
	if (!keys[0]) {
		json_t *jwk = json_loads(jwk_text, 0, NULL);

		vg_jwt_key_new(VG_JWT_HS256, "fuzz-secret-fuzz-secret-fuzz-secret", 35, NULL, &keys[0]);
		if (!jwk || vg_jwt_key_from_jwk(jwk, &keys[1]) != VG_OK)
			abort();   /* the fixed key must load */
		json_decref(jwk);
	}
	memcpy(tok, data, size);
	tok[size] = '\0';
	err = vg_jwt_verify(keys, 2, tok, 1800000000, 30, &claims);
	if (err == VG_OK || claims)
		abort();
	free(tok);
	return 0;
}
