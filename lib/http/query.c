/* query.c - percent-decoding and query-string parsing. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "http/http_int.h"

struct vg_query_pair {
	const char *key;     /* into storage */
	const char *value;   /* into storage */
};

struct vg_query {
	struct vg_query_pair *pairs;
	size_t n;
	char *storage;       /* every decoded key and value, NUL-separated */
};

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum vg_err
vg_http_pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				out[o] = '\0';
				*outlen = o;
				return VG_ERR_INVALID;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return VG_OK;
}

void
vg_query_free(struct vg_query *q)
{
	if (!q)
		return;
	free(q->pairs);
	free(q->storage);
	free(q);
}

/* Decode one key or value of n bytes into *dst (advanced past its NUL). */
static enum vg_err
decode_part(const char *s, size_t n, char **dst, const char **why)
{
	size_t len;

	if (vg_http_pct_decode(s, n, true, *dst, &len) != VG_OK) {
		*why = "malformed percent-escape in query";
		return VG_ERR_INVALID;
	}
	if (memchr(*dst, '\0', len)) {
		*why = "NUL in query";
		return VG_ERR_INVALID;
	}
	if (!vg_utf8_valid(*dst, len)) {
		*why = "query is not valid UTF-8";
		return VG_ERR_INVALID;
	}
	*dst += len + 1;
	return VG_OK;
}

/*
 * Parse the query (see http.h).  Decoded text never grows, so one
 * allocation of n + pairs bytes holds every key and value; the pair array
 * is sized by counting '&' first, bounded by VG_HTTP_MAX_QUERY_PARAMS.
 */
enum vg_err
vg_query_parse(const char *s, size_t n, struct vg_query **out, const char **why)
{
	struct vg_query *q = NULL;
	enum vg_err err = VG_OK;
	size_t i, start, npairs = 1;
	char *dst;

	*out = NULL;
	*why = NULL;
	if (n > VG_HTTP_MAX_QUERY) {
		*why = "query string too long";
		err = VG_ERR_INVALID;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (s[i] == '&')
			npairs++;
	if (!(q = calloc(1, sizeof *q)) ||
	    !(q->pairs = calloc(npairs, sizeof *q->pairs)) ||
	    !(q->storage = malloc(n + 2 * npairs + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	dst = q->storage;
	for (start = 0; start <= n; start = i + 1) {
		const char *eq;
		size_t len, klen;

		for (i = start; i < n && s[i] != '&'; i++)
			;
		len = i - start;
		if (len == 0)
			continue;   /* "a=1&&b=2", a trailing '&' */
		if (q->n == VG_HTTP_MAX_QUERY_PARAMS) {
			*why = "too many query parameters";
			err = VG_ERR_INVALID;
			goto out;
		}
		eq = memchr(s + start, '=', len);
		klen = eq ? (size_t)(eq - (s + start)) : len;
		if (klen == 0) {
			*why = "empty query parameter name";
			err = VG_ERR_INVALID;
			goto out;
		}
		q->pairs[q->n].key = dst;
		if ((err = decode_part(s + start, klen, &dst, why)) != VG_OK)
			goto out;
		q->pairs[q->n].value = dst;
		if (eq) {
			if ((err = decode_part(eq + 1, len - klen - 1, &dst, why)) != VG_OK)
				goto out;
		} else {
			*dst++ = '\0';
		}
		q->n++;
	}
	*out = q;
	q = NULL;
out:
	if (err == VG_ERR_NOMEM)
		*why = "out of memory";
	vg_query_free(q);
	return err;
}

size_t
vg_query_len(const struct vg_query *q)
{
	return q ? q->n : 0;
}

const char *
vg_query_key(const struct vg_query *q, size_t i)
{
	return q && i < q->n ? q->pairs[i].key : NULL;
}

const char *
vg_query_value(const struct vg_query *q, size_t i)
{
	return q && i < q->n ? q->pairs[i].value : NULL;
}

const char *
vg_query_get(const struct vg_query *q, const char *key)
{
	size_t i;

	for (i = 0; q && i < q->n; i++)
		if (strcmp(q->pairs[i].key, key) == 0)
			return q->pairs[i].value;
	return NULL;
}

size_t
vg_query_count(const struct vg_query *q, const char *key)
{
	size_t i, c = 0;

	for (i = 0; q && i < q->n; i++)
		if (strcmp(q->pairs[i].key, key) == 0)
			c++;
	return c;
}

const struct vg_query *
vg_http_query(const struct vg_http_req *req)
{
	return req->query;
}

const char *
vg_http_query_get(const struct vg_http_req *req, const char *key)
{
	return vg_query_get(req->query, key);
}

enum vg_err
vg_http_query_int(struct vg_http_req *req, const char *key, int64_t min,
    int64_t max, int64_t def, int64_t *out)
{
	const char *v = vg_query_get(req->query, key);
	char msg[128];

	if (!v) {
		*out = def;
		return VG_OK;
	}
	if (vg_str_to_i64(v, min, max, out) == VG_OK)
		return VG_OK;
	snprintf(msg, sizeof msg, "%s must be an integer from %lld to %lld", key,
	    (long long)min, (long long)max);
	return vg_http_fail(req, VG_ERR_INVALID, msg, key);
}
