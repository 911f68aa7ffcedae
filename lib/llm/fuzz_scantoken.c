/*
 * fuzz_scantoken.c - fuzz target for scan-token verification with a fixed
 * P-256 public key.  Nothing may crash and nothing may verify: the fuzzer
 * cannot make an ECDSA signature for this key, so a success would mean a
 * check was skipped.  The seeds are tokens of every shape (signed with
 * another key, alg none, HS256, DER signature) in
 * tests/fixtures/fuzz/llm-scantoken/.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm/scantoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1H6Ue8CddtfSXp8ZasGDRFxrnkGS\n"
    "ENI7bKodRonfOAstV/Qn8w2m1G1Dz4WS/xssTYRliQSjH1zTzmTmkW82ag==\n"
    "-----END PUBLIC KEY-----\n";

static struct vg_scantoken_key *key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_scantoken_claims c;
	char *tok = malloc(size + 1);

	if (!tok)
		return 0;
	if (!key && vg_scantoken_key_from_pem(false, pub_pem, sizeof pub_pem - 1, &key, NULL, 0))
		abort();   /* the fixed key must load */
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (vg_scantoken_verify(key, tok, 1800000000, &c) != VG_ERR_UNAUTHORIZED || c.scan_id[0])
		abort();
	free(tok);
	return 0;
}
