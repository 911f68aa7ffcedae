/* token.c - opaque secrets, their hashes, and the Bearer header. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include "auth/token.h"
#include "core/b64.h"
#include "core/id.h"
#include "core/str.h"

enum vg_err
vg_token_new(const char *prefix, char token[VG_TOKEN_MAX], char hash[VG_TOKEN_HASH_HEX])
{
	unsigned char raw[32];
	char b64[VG_B64_LEN(32)];
	enum vg_err err;
	int n;

	if ((err = vg_random_bytes(raw, sizeof raw)) != VG_OK)
		return err;
	vg_b64url_encode(raw, sizeof raw, b64, sizeof b64);
	n = snprintf(token, VG_TOKEN_MAX, "%s%s", prefix, b64);
	if (n < 0 || n >= VG_TOKEN_MAX)
		return VG_ERR_INVALID;
	vg_token_hash(token, hash);
	return VG_OK;
}

void
vg_token_hash(const char *token, char hash[VG_TOKEN_HASH_HEX])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL);
	vg_hex_encode(md, sizeof md, hash);
}

static bool
b64token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

enum vg_err
vg_bearer_parse(const char *header, const char **token, size_t *len)
{
	const char *p, *start;

	*token = NULL;
	*len = 0;
	if (!header || strncasecmp(header, "Bearer", 6) != 0 || header[6] != ' ')
		return VG_ERR_UNAUTHORIZED;
	for (p = header + 6; *p == ' '; p++)
		;
	start = p;
	while (b64token_char(*p))
		p++;
	if (p == start)
		return VG_ERR_UNAUTHORIZED;
	while (*p == '=')
		p++;
	if (*p != '\0' || (size_t)(p - start) > VG_BEARER_MAX)
		return VG_ERR_UNAUTHORIZED;
	*token = start;
	*len = (size_t)(p - start);
	return VG_OK;
}
