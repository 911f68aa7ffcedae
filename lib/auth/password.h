/*
 * password.h - password hashing with scrypt (OpenSSL), memory-hard.
 *
 * A stored hash carries its own parameters:
 *     scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<key, base64url>
 * so the work factor can be raised later: vg_password_verify reports
 * whether a hash is weaker than the current setting (rehash on login).
 * The default work factor is OWASP's recommendation for scrypt
 * (N = 2^17, r = 8, p = 1: 128 MiB per hash); VEGA_PASSWORD_SCRYPT_LOG_N
 * lowers it for tests only.
 */
#ifndef VG_AUTH_PASSWORD_H
#define VG_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"

#define VG_PASSWORD_HASH_MAX 160   /* buffer size for an encoded hash */
#define VG_PASSWORD_MAX_LEN 1024   /* longest password accepted */

/* Hash password with a fresh salt at the configured work factor into out. */
enum vg_err vg_password_hash(const char *password, char out[VG_PASSWORD_HASH_MAX]);
/* Check password against an encoded hash.  *ok tells the outcome (the
 * comparison is constant-time); *needs_rehash is set when the hash uses
 * weaker parameters than configured.  VG_ERR_INVALID for a malformed hash. */
enum vg_err vg_password_verify(const char *password, const char *encoded,
    bool *ok, bool *needs_rehash);

#endif
