/*
 * jwt.h - signing and verifying JSON Web Tokens with the algorithm fixed
 * by the key, never by the token.
 *
 * A vg_jwt_key pairs key material with the one algorithm it may be used
 * with (HS256 secret, RS256 or ES256 PEM).  Verification refuses a token
 * whose header names another algorithm before any signature check runs,
 * so "alg":"none" and HS/RS confusion (an HS256 token "signed" with an RSA
 * public key as the secret) are refused by construction.  Verification
 * checks exp (required), nbf and iat with a leeway; checking iss, aud and
 * provider-specific claims is the caller's job, on the claims returned.
 */
#ifndef VG_AUTH_JWT_H
#define VG_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"

#define VG_JWT_MAX_LEN 8192   /* longest token accepted */

enum vg_jwt_alg { VG_JWT_HS256, VG_JWT_RS256, VG_JWT_ES256 };

struct vg_jwt_key;

/* A key from raw material: an HS256 secret, or a PEM public key (verify)
 * or private key (sign) for RS256/ES256.  kid may be NULL.  The material
 * is copied.  Free with vg_jwt_key_free. */
enum vg_err vg_jwt_key_new(enum vg_jwt_alg alg, const void *material, size_t len,
    const char *kid, struct vg_jwt_key **out);
/* An RS256 verification key from a JWK object (kty RSA, n, e, kid; an
 * "alg" member, if present, must be RS256). */
enum vg_err vg_jwt_key_from_jwk(json_t *jwk, struct vg_jwt_key **out);
void vg_jwt_key_free(struct vg_jwt_key *key);
const char *vg_jwt_key_kid(const struct vg_jwt_key *key);

/* Sign claims (copied into the payload as they are) with key; sets the
 * header's alg, typ JWT and kid when the key has one.  *token is malloc'd. */
enum vg_err vg_jwt_sign(const struct vg_jwt_key *key, json_t *claims, char **token);

/*
 * Verify token against keys[0..nkeys).  When the token names a kid, the key
 * with that kid is used (VG_ERR_NOT_FOUND when none has it, so a JWKS cache
 * may refetch); without one, a key without kid is used.  The header's alg
 * must equal that key's algorithm.  exp must be present and later than
 * now - leeway; nbf and iat, when present, not later than now + leeway.
 * On success *claims is a new reference to the payload object.  Every
 * other failure is VG_ERR_UNAUTHORIZED.
 */
enum vg_err vg_jwt_verify(struct vg_jwt_key *const *keys, size_t nkeys, const char *token,
    int64_t now, int64_t leeway, json_t **claims);

#endif
