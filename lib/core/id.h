/*
 * id.h - identifiers: random UUIDs (version 4) and random tokens.
 * Randomness comes from the kernel (getrandom) or OpenSSL's CSPRNG.
 */
#ifndef VG_CORE_ID_H
#define VG_CORE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"

#define VG_UUID_LEN 36   /* characters, without the NUL */

/* Fill out (VG_UUID_LEN + 1 bytes) with a fresh lower-case UUIDv4. */
enum vg_err vg_uuid_new(char out[VG_UUID_LEN + 1]);
/* Whether s is a canonical UUID (8-4-4-4-12 hex digits, any case). */
bool vg_uuid_valid(const char *s);
/* Fill buf with n cryptographically random bytes. */
enum vg_err vg_random_bytes(void *buf, size_t n);

#endif
