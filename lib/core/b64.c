/* b64.c - base64url encode/decode with strict checks. */
#include "config.h"
#include <string.h>
#include "core/b64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum vg_err
vg_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsize)
{
	size_t i, o = 0;

	if (outsize < VG_B64_LEN(n))
		return VG_ERR_TOO_LARGE;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return VG_OK;
}

/* Value of one character, -1 when not in either alphabet. */
static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-' || c == '+') return 62;
	if (c == '_' || c == '/') return 63;
	return -1;
}

enum vg_err
vg_b64url_decode(const char *in, unsigned char *out, size_t outsize, size_t *outlen)
{
	size_t n = strlen(in), i, o = 0;
	unsigned acc = 0;
	int bits = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1 || strlen(in) - n > 2)
		return VG_ERR_INVALID;
	for (i = 0; i < n; i++) {
		int s = sextet(in[i]);

		if (s < 0)
			return VG_ERR_INVALID;
		acc = (acc << 6) | (unsigned)s;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsize)
				return VG_ERR_TOO_LARGE;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)  /* non-canonical trailing bits */
		return VG_ERR_INVALID;
	*outlen = o;
	return VG_OK;
}
