/* jsonw.c - JSON text written straight into a buffer (jsonw.h). */
#include "config.h"
#include <string.h>
#include <time.h>
#include "core/jsonw.h"
#include "core/timeutil.h"

/* Deeper values than this are refused (jansson's parser stops at 2048;
 * a tree that refers to itself would otherwise never end). */
#define VALUE_DEPTH_MAX 2048

/* The ASCII bytes a string must escape: control characters, '"', '\\'. */
static const bool ascii_escape[128] = {
	[0x00] = true, [0x01] = true, [0x02] = true, [0x03] = true, [0x04] = true,
	[0x05] = true, [0x06] = true, [0x07] = true, [0x08] = true, [0x09] = true,
	[0x0a] = true, [0x0b] = true, [0x0c] = true, [0x0d] = true, [0x0e] = true,
	[0x0f] = true, [0x10] = true, [0x11] = true, [0x12] = true, [0x13] = true,
	[0x14] = true, [0x15] = true, [0x16] = true, [0x17] = true, [0x18] = true,
	[0x19] = true, [0x1a] = true, [0x1b] = true, [0x1c] = true, [0x1d] = true,
	[0x1e] = true, [0x1f] = true, ['"'] = true, ['\\'] = true,
};

/* The two-character escapes; the other control characters are \u00XX. */
static const char *const short_escape[128] = {
	['"'] = "\\\"", ['\\'] = "\\\\", ['\b'] = "\\b", ['\f'] = "\\f",
	['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
};

/*
 * The length of the valid UTF-8 sequence at p (at most n bytes left), 0
 * when it is not one: a stray continuation byte, a truncated or overlong
 * sequence, a surrogate, or a code point past U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		cp = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
	    (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
		return 0;
	return len;
}

/* Record err as the writer's first failure; returns the writer's error. */
static enum vg_err
fail(struct vg_jsonw *w, enum vg_err err)
{
	if (w->err == VG_OK)
		w->err = err;
	return w->err;
}

/* Append n bytes, keeping the first failure. */
static enum vg_err
put(struct vg_jsonw *w, const void *p, size_t n)
{
	enum vg_err err;

	if (w->err == VG_OK && (err = vg_buf_append(w->b, p, n)) != VG_OK)
		w->err = err;
	return w->err;
}

/* The ',' a value or key needs after an earlier one at its level. */
static enum vg_err
separate(struct vg_jsonw *w)
{
	if (w->comma)
		put(w, ",", 1);
	w->comma = false;
	return w->err;
}

/* Bytes of eight copies of b, for looking at eight bytes at once. */
#define EIGHT(b) (0x0101010101010101ULL * (b))
/* Whether a byte of x is 0 (exact for the whole word). */
#define ANY_ZERO(x) (((x) - EIGHT(0x01)) & ~(x) & EIGHT(0x80))

/*
 * How many bytes at the start of p (n bytes) go out as they are: up to
 * the first that needs an escape or is not ASCII.  Eight at a time while
 * none of them does: a finding's text is mostly plain.
 */
static size_t
plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t x;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		/* a control character (< 0x20), '"', '\\', or a byte >= 0x80 */
		if ((((x - EIGHT(0x20)) & ~x) | ANY_ZERO(x ^ EIGHT('"')) |
		    ANY_ZERO(x ^ EIGHT('\\')) | x) & EIGHT(0x80))
			break;
	}
	while (i < n && p[i] < 0x80 && !ascii_escape[p[i]])
		i++;
	return i;
}

/* Strings up to this long that need no escape are put together on the
 * stack and appended at once (most keys and values of an answer). */
#define SHORT_MAX 200

/*
 * s (n bytes) quoted and escaped, after the ',' that is due, followed by
 * suffix (":" after a key, "" after a value).
 */
static enum vg_err
put_string(struct vg_jsonw *w, const char *s, size_t n, const char *suffix)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	char u[6] = {'\\', 'u', '0', '0', 0, 0}, small[SHORT_MAX + 4];
	size_t len, k = 0, slen = strlen(suffix);

	len = plain_run(p, n);
	if (len == n && n <= SHORT_MAX) {
		if (w->comma)
			small[k++] = ',';
		small[k++] = '"';
		memcpy(small + k, s, n);
		k += n;
		small[k++] = '"';
		memcpy(small + k, suffix, slen);
		w->comma = false;
		return put(w, small, k + slen);
	}
	separate(w);
	put(w, "\"", 1);
	run = p;
	p += len;
	while (p < end) {
		if (*p >= 0x80) {
			/* copied as it is, once known to be UTF-8 */
			if (!(len = utf8_seq(p, (size_t)(end - p))))
				return fail(w, VG_ERR_INVALID);
			p += len;
		} else {
			put(w, run, (size_t)(p - run));
			if (short_escape[*p]) {
				put(w, short_escape[*p], 2);
			} else {
				u[4] = hex[*p >> 4];
				u[5] = hex[*p & 0xF];
				put(w, u, sizeof u);
			}
			run = ++p;
		}
		p += plain_run(p, (size_t)(end - p));
	}
	put(w, run, (size_t)(p - run));
	put(w, "\"", 1);
	return put(w, suffix, slen);
}

void
vg_jsonw_init(struct vg_jsonw *w, struct vg_buf *b)
{
	w->b = b;
	w->err = VG_OK;
	w->comma = false;
}

/* Open a container with c. */
static enum vg_err
open_with(struct vg_jsonw *w, char c)
{
	separate(w);
	return put(w, &c, 1);
}

/* Close a container with c: it is a value of the level around it. */
static enum vg_err
close_with(struct vg_jsonw *w, char c)
{
	put(w, &c, 1);
	w->comma = true;
	return w->err;
}

enum vg_err
vg_jsonw_object(struct vg_jsonw *w)
{
	return open_with(w, '{');
}

enum vg_err
vg_jsonw_object_end(struct vg_jsonw *w)
{
	return close_with(w, '}');
}

enum vg_err
vg_jsonw_array(struct vg_jsonw *w)
{
	return open_with(w, '[');
}

enum vg_err
vg_jsonw_array_end(struct vg_jsonw *w)
{
	return close_with(w, ']');
}

enum vg_err
vg_jsonw_key(struct vg_jsonw *w, const char *key)
{
	return put_string(w, key, strlen(key), ":");
}

enum vg_err
vg_jsonw_strn(struct vg_jsonw *w, const char *s, size_t n)
{
	put_string(w, s, n, "");
	w->comma = true;
	return w->err;
}

enum vg_err
vg_jsonw_str(struct vg_jsonw *w, const char *s)
{
	return vg_jsonw_strn(w, s, strlen(s));
}

enum vg_err
vg_jsonw_str_or_null(struct vg_jsonw *w, const char *s)
{
	return s && *s ? vg_jsonw_str(w, s) : vg_jsonw_null(w);
}

/* A bare token (a number, true, false, null: short) as a value. */
static enum vg_err
put_token(struct vg_jsonw *w, const char *t, size_t n)
{
	char small[72];
	size_t k = 0;

	if (n > sizeof small - 1) {
		separate(w);
		put(w, t, n);
	} else {
		if (w->comma)
			small[k++] = ',';
		memcpy(small + k, t, n);
		put(w, small, k + n);
	}
	w->comma = true;
	return w->err;
}

enum vg_err
vg_jsonw_int(struct vg_jsonw *w, int64_t v)
{
	char n[24];
	char *p = n + sizeof n;
	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		*--p = '-';
	return put_token(w, p, (size_t)(n + sizeof n - p));
}

enum vg_err
vg_jsonw_null(struct vg_jsonw *w)
{
	return put_token(w, "null", 4);
}

static enum vg_err put_value(struct vg_jsonw *w, const json_t *v, int depth);

/* Writers of each type of value at nesting depth. */
static enum vg_err
put_object(struct vg_jsonw *w, const json_t *v, int depth)
{
	const char *key;
	json_t *m;

	vg_jsonw_object(w);
	/* the object's own (insertion) order, as vg_json_dump keeps */
	json_object_foreach((json_t *)v, key, m) {
		vg_jsonw_key(w, key);
		put_value(w, m, depth + 1);
	}
	return vg_jsonw_object_end(w);
}

static enum vg_err
put_array(struct vg_jsonw *w, const json_t *v, int depth)
{
	json_t *m;
	size_t i;

	vg_jsonw_array(w);
	json_array_foreach(v, i, m)
		put_value(w, m, depth + 1);
	return vg_jsonw_array_end(w);
}

static enum vg_err
put_string_value(struct vg_jsonw *w, const json_t *v, int depth)
{
	(void)depth;
	return vg_jsonw_strn(w, json_string_value(v), json_string_length(v));
}

static enum vg_err
put_integer(struct vg_jsonw *w, const json_t *v, int depth)
{
	(void)depth;
	return vg_jsonw_int(w, (int64_t)json_integer_value(v));
}

/* Write v as width decimal digits ending just before end; returns the
 * start of what it wrote. */
static char *
digits(char *end, long v, int width)
{
	while (width-- > 0) {
		*--end = (char)('0' + v % 10);
		v /= 10;
	}
	return end;
}

enum vg_err
vg_jsonw_time(struct vg_jsonw *w, int64_t us)
{
	char t[VG_TIME_RFC3339_LEN];
	time_t secs = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	/* Years 0 to 9999 here; vg_time_format itself for the rest (its
	 * clamp, and whatever it makes of a time gmtime cannot take). */
	if (!gmtime_r(&secs, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		vg_time_format(us, t);
		return vg_jsonw_str(w, t);
	}
	/* YYYY-MM-DDTHH:MM:SS.ffffffZ */
	digits(t + 4, tm.tm_year + 1900L, 4);
	t[4] = '-';
	digits(t + 7, tm.tm_mon + 1L, 2);
	t[7] = '-';
	digits(t + 10, tm.tm_mday, 2);
	t[10] = 'T';
	digits(t + 13, tm.tm_hour, 2);
	t[13] = ':';
	digits(t + 16, tm.tm_min, 2);
	t[16] = ':';
	digits(t + 19, tm.tm_sec, 2);
	t[19] = '.';
	digits(t + 26, frac, 6);
	t[26] = 'Z';
	return vg_jsonw_strn(w, t, 27);
}

/* A real as jansson formats it (its own rules for digits and ".0"). */
static enum vg_err
put_real(struct vg_jsonw *w, const json_t *v, int depth)
{
	char n[64];
	size_t len = json_dumpb(v, n, sizeof n, JSON_COMPACT | JSON_ENCODE_ANY);

	(void)depth;
	if (len == 0 || len > sizeof n)
		return fail(w, VG_ERR_INVALID);
	return put_token(w, n, len);
}

static enum vg_err
put_true(struct vg_jsonw *w, const json_t *v, int depth)
{
	(void)v;
	(void)depth;
	return put_token(w, "true", 4);
}

static enum vg_err
put_false(struct vg_jsonw *w, const json_t *v, int depth)
{
	(void)v;
	(void)depth;
	return put_token(w, "false", 5);
}

static enum vg_err
put_null(struct vg_jsonw *w, const json_t *v, int depth)
{
	(void)v;
	(void)depth;
	return vg_jsonw_null(w);
}

static enum vg_err (*const writers[])(struct vg_jsonw *w, const json_t *v, int depth) = {
	[JSON_OBJECT] = put_object, [JSON_ARRAY] = put_array, [JSON_STRING] = put_string_value,
	[JSON_INTEGER] = put_integer, [JSON_REAL] = put_real, [JSON_TRUE] = put_true,
	[JSON_FALSE] = put_false, [JSON_NULL] = put_null,
};

/* v at nesting depth, recursively. */
static enum vg_err
put_value(struct vg_jsonw *w, const json_t *v, int depth)
{
	size_t t = (size_t)json_typeof(v);

	if (depth > VALUE_DEPTH_MAX || t >= sizeof writers / sizeof writers[0] || !writers[t])
		return fail(w, VG_ERR_INVALID);
	return writers[t](w, v, depth);
}

enum vg_err
vg_jsonw_value(struct vg_jsonw *w, const json_t *v)
{
	if (!v)
		return fail(w, VG_ERR_INVALID);
	return put_value(w, v, 0);
}
