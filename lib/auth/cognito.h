/*
 * cognito.h - the cognito provider: access tokens of a user pool checked
 * against its JWKS, and the InitiateAuth calls behind login and refresh.
 *
 * Endpoints.  VEGA_COGNITO_ENDPOINT (default
 * https://cognito-idp.<VEGA_COGNITO_REGION>.amazonaws.com) is the service;
 * the pool's issuer is <endpoint>/<VEGA_COGNITO_USER_POOL_ID> and its keys
 * are at <issuer>/.well-known/jwks.json.  InitiateAuth and RevokeToken
 * are POSTs to <endpoint>/ with the X-Amz-Target header and
 * application/x-amz-json-1.1 bodies.
 *
 * Keys.  The JWKS is fetched with libcurl and cached for
 * VEGA_COGNITO_JWKS_TTL_SECONDS.  A token whose kid is not in the cache
 * causes a refetch, at most once per VEGA_COGNITO_JWKS_REFETCH_SECONDS, so
 * a stream of tokens with made-up kids cannot make us hammer the pool.
 * Each JWK becomes an RS256 key: the algorithm is fixed by the key, never
 * read from the token (jwt.h).
 *
 * Checks on a token: signature, exp/nbf/iat with VEGA_JWT_LEEWAY_SECONDS,
 * iss is the pool, token_use is "access", client_id is
 * VEGA_COGNITO_APP_CLIENT_ID, sub present.
 */
#ifndef VG_AUTH_COGNITO_H
#define VG_AUTH_COGNITO_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"

/* Check the settings (region or endpoint, pool, client); logs the missing
 * setting by name and returns VG_ERR_INVALID. */
enum vg_err vg_cognito_init(void);
/* Forget the cached keys and derived URLs. */
void vg_cognito_reset(void);

/*
 * Verify an access token at now (seconds).  On VG_OK *claims is a new
 * reference to its payload.  VG_ERR_UNAUTHORIZED for a bad token,
 * VG_ERR_UNAVAILABLE when no keys could be had.
 */
enum vg_err vg_cognito_verify(const char *token, int64_t now, json_t **claims);

/* The groups of verified claims (cognito:groups) as VG_GROUP_* bits;
 * "user" always, names Vega does not know ignored. */
unsigned vg_cognito_groups(json_t *claims);

/* Install a JWKS as if fetched at now (tests); a new reference is taken. */
enum vg_err vg_cognito_set_jwks(json_t *jwks, int64_t now);
/* How many times the JWKS was fetched over the network (tests). */
unsigned vg_cognito_fetch_count(void);

/*
 * SECRET_HASH of the InitiateAuth API: base64 (standard, padded) of
 * HMAC-SHA256 keyed with the client secret over username + client id.
 * out needs 45 bytes.
 */
enum vg_err vg_cognito_secret_hash(const char *secret, const char *username,
    const char *client_id, char out[45]);

/* The answer of an InitiateAuth call. */
struct vg_cognito_auth {
	char *access_token;     /* malloc'd */
	char *refresh_token;    /* malloc'd; NULL when Cognito sends none (refresh) */
	int64_t expires_in;
	char challenge[64];     /* a challenge Vega cannot answer, "" when none */
	char error_type[128];   /* Cognito's __type on failure, "" otherwise */
};
void vg_cognito_auth_release(struct vg_cognito_auth *a);

/*
 * USER_PASSWORD_AUTH with username and password, or REFRESH_TOKEN_AUTH
 * with a refresh token (username then only feeds SECRET_HASH, needed when
 * the client has a secret).  Returns VG_OK with tokens; VG_ERR_UNAUTHORIZED
 * when Cognito refused the credentials or asks a challenge (a->challenge,
 * a->error_type say which); VG_ERR_RATE_LIMITED when Cognito throttles;
 * VG_ERR_UNAVAILABLE when it cannot be reached or answers garbage.
 */
enum vg_err vg_cognito_password_auth(const char *username, const char *password,
    struct vg_cognito_auth *a);
enum vg_err vg_cognito_refresh_auth(const char *refresh_token, const char *username,
    struct vg_cognito_auth *a);
/* RevokeToken: end the refresh token's session at Cognito. */
enum vg_err vg_cognito_revoke(const char *refresh_token);

#endif
