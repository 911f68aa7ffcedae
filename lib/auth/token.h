/*
 * token.h - opaque secrets handed to clients (refresh tokens, API keys) and
 * the Authorization header that carries credentials back.
 *
 * Opaque secrets are 256 random bits, base64url, behind a recognisable
 * prefix ("vgr_" refresh tokens, "vgk_" API keys).  They are stored only as
 * their SHA-256 (hex): a high-entropy secret needs no slow hash, and a
 * stolen table holds nothing usable.
 */
#ifndef VG_AUTH_TOKEN_H
#define VG_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"

#define VG_TOKEN_MAX 64           /* buffer for a token: prefix + 43 chars */
#define VG_TOKEN_HASH_HEX 65      /* buffer for a SHA-256 in hex */
#define VG_BEARER_MAX 8192        /* longest credential accepted */

#define VG_TOKEN_PREFIX_REFRESH "vgr_"
#define VG_TOKEN_PREFIX_API_KEY "vgk_"

/* A fresh secret "<prefix><43 base64url chars>" and its hash. */
enum vg_err vg_token_new(const char *prefix, char token[VG_TOKEN_MAX],
    char hash[VG_TOKEN_HASH_HEX]);
/* The stored form of a presented secret. */
void vg_token_hash(const char *token, char hash[VG_TOKEN_HASH_HEX]);

/*
 * Parse an Authorization header value: the scheme "Bearer" (any case), one
 * or more spaces, then a token of RFC 6750's b64token characters
 * ([A-Za-z0-9-._~+/]+ then '='*), nothing after it.  On success *token
 * points into header and *len is its length.  VG_ERR_UNAUTHORIZED for
 * anything else, including a token longer than VG_BEARER_MAX.
 */
enum vg_err vg_bearer_parse(const char *header, const char **token, size_t *len);

#endif
