/* id.c - UUIDv4 and random bytes from OpenSSL's CSPRNG. */
#include "config.h"
#include <ctype.h>
#include <string.h>
#include <openssl/rand.h>
#include "core/id.h"
#include "core/str.h"

enum vg_err
vg_random_bytes(void *buf, size_t n)
{
	if (n > (size_t)INT32_MAX || RAND_bytes(buf, (int)n) != 1)
		return VG_ERR_INTERNAL;
	return VG_OK;
}

enum vg_err
vg_uuid_new(char out[VG_UUID_LEN + 1])
{
	unsigned char b[16];
	char hex[33];
	enum vg_err err;

	if ((err = vg_random_bytes(b, sizeof b)) != VG_OK)
		return err;
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);  /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);  /* RFC 4122 variant */
	vg_hex_encode(b, sizeof b, hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return VG_OK;
}

bool
vg_uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != VG_UUID_LEN)
		return false;
	for (i = 0; i < VG_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}
