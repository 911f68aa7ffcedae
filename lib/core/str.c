/* str.c - bounded copies, checked parsing, UTF-8 validation. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/str.h"

enum vg_err
vg_str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return VG_ERR_TOO_LARGE;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return VG_ERR_TOO_LARGE;
	}
	memcpy(dst, src, n + 1);
	return VG_OK;
}

enum vg_err
vg_str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return VG_ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !end || *end != '\0' || v < min || v > max)
		return VG_ERR_INVALID;
	*out = (int64_t)v;
	return VG_OK;
}

static const struct {
	const char *word;
	bool value;
} bool_words[] = {
	{"1", true}, {"true", true}, {"yes", true}, {"on", true},
	{"0", false}, {"false", false}, {"no", false}, {"off", false},
};

enum vg_err
vg_str_to_bool(const char *s, bool *out)
{
	size_t i;

	for (i = 0; s && i < sizeof bool_words / sizeof bool_words[0]; i++) {
		if (strcasecmp(s, bool_words[i].word) == 0) {
			*out = bool_words[i].value;
			return VG_OK;
		}
	}
	return VG_ERR_INVALID;
}

bool
vg_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

bool
vg_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

bool
vg_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
vg_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0F];
	}
	out[2 * n] = '\0';
}
