/*
 * scantoken.h - the short-lived tokens that let one runner of one scan use
 * the LLM proxy.
 *
 * A scan token is a JWT signed with ES256 (ECDSA on P-256 with SHA-256,
 * the signature as the raw 64 bytes r||s of RFC 7518).  The dispatching
 * roles (the worker, or the API in thread mode) mint it with the private
 * key of VEGA_LLM_TOKEN_SIGNING_KEY_FILE; the proxy verifies it with the
 * public key of VEGA_LLM_TOKEN_VERIFY_KEY_FILE only, so the proxy cannot
 * mint one.  A verification key file holding a private key is refused for
 * that reason.
 *
 * Claims: iss "vega", aud "vega-llm-proxy", scan_id (a UUID), attempt (the
 * scan's attempt, 1 or more), iat, exp and jti (random).  The algorithm is
 * fixed, never read from the token: a header naming anything but ES256
 * (none, HS256 keyed with the public key's bytes, RS256, ES384) is refused
 * before any signature check.  exp must be in the future (VG_SCANTOKEN_LEEWAY
 * seconds of clock skew allowed), iat not in the future, and exp - iat at
 * most VG_SCANTOKEN_MAX_TTL.  The minting role bounds the life further:
 * VEGA_LLM_TOKEN_TTL_SECONDS, and never past the scan's run limit.
 *
 * A valid token is necessary, not sufficient: the proxy also checks the
 * store (the scan exists, is claimed or running, is not cancelled, and the
 * attempt matches), so a finished, cancelled or re-claimed scan's token is
 * dead at once.
 */
#ifndef VG_LLM_SCANTOKEN_H
#define VG_LLM_SCANTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"
#include "core/id.h"

#define VG_SCANTOKEN_ISSUER "vega"
#define VG_SCANTOKEN_AUDIENCE "vega-llm-proxy"
#define VG_SCANTOKEN_MAX_TTL 604800   /* seconds: the longest a token can live */
#define VG_SCANTOKEN_LEEWAY 30        /* seconds of clock difference tolerated */
#define VG_SCANTOKEN_JTI_MAX 64

struct vg_scantoken_claims {
	char scan_id[VG_UUID_LEN + 1];
	int64_t attempt;
	int64_t iat, exp;                  /* seconds since the epoch */
	char jti[VG_SCANTOKEN_JTI_MAX + 1];
};

struct vg_scantoken_key;

/*
 * A key from PEM text: a P-256 private key (PKCS#8 or SEC 1, unencrypted)
 * when private_key is set, else a P-256 public key (SubjectPublicKeyInfo).
 * Any other key, curve or form is VG_ERR_INVALID with a reason in msg.
 * Free with vg_scantoken_key_free.
 */
enum vg_err vg_scantoken_key_from_pem(bool private_key, const char *pem, size_t len,
    struct vg_scantoken_key **out, char *msg, size_t msglen);
/* The same from a file (VEGA_LLM_TOKEN_SIGNING_KEY_FILE for the private
 * key, VEGA_LLM_TOKEN_VERIFY_KEY_FILE for the public one); VG_ERR_IO when it
 * cannot be read. */
enum vg_err vg_scantoken_key_load(bool private_key, const char *path,
    struct vg_scantoken_key **out, char *msg, size_t msglen);
void vg_scantoken_key_free(struct vg_scantoken_key *key);

/*
 * Mint a token for attempt of scan_id, issued at now (seconds) and valid
 * for ttl seconds (1 to VG_SCANTOKEN_MAX_TTL).  key must be a private key.
 * *token is malloc'd (the caller frees); claims, when not NULL, receives
 * what was signed.
 */
enum vg_err vg_scantoken_mint(const struct vg_scantoken_key *key, const char *scan_id,
    int64_t attempt, int64_t now, int64_t ttl, char **token,
    struct vg_scantoken_claims *claims);

/*
 * Verify token with key (a public key) at now and fill *out.  Every
 * failure is VG_ERR_UNAUTHORIZED, and *out is then zeroed.
 */
enum vg_err vg_scantoken_verify(const struct vg_scantoken_key *key, const char *token,
    int64_t now, struct vg_scantoken_claims *out);

#endif
