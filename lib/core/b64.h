/*
 * b64.h - base64url without padding (RFC 4648 section 5), as used by JWTs,
 * JWKs and Vega's stored hashes.  Decoding also accepts standard-alphabet
 * input with padding, and refuses anything else.
 */
#ifndef VG_CORE_B64_H
#define VG_CORE_B64_H

#include <stddef.h>
#include "core/err.h"

/* Characters needed to encode n bytes, plus the NUL. */
#define VG_B64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode n bytes into out (outsize >= VG_B64_LEN(n)). */
enum vg_err vg_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsize);
/* Decode a NUL-terminated string into out (at most outsize bytes);
 * *outlen gets the length.  VG_ERR_INVALID on a bad character, a bad
 * length or trailing bits; VG_ERR_TOO_LARGE when out is too small. */
enum vg_err vg_b64url_decode(const char *in, unsigned char *out, size_t outsize, size_t *outlen);

#endif
