/* body.c - request bodies: bounded streaming reads and JSON. */
#include "config.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "core/json.h"
#include "core/settings.h"
#include "core/str.h"
#include "http/http_int.h"

#define READ_CHUNK 16384

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * application/json, any case, optionally followed by charset=utf-8
 * (quoted or not).  Any other parameter or charset is refused: a body in
 * another encoding would be misread.
 */
bool
vg_http_content_type_is_json(const char *ctype)
{
	static const char type[] = "application/json";
	const char *p;

	if (!ctype)
		return false;
	p = skip_ows(ctype);
	if (strncasecmp(p, type, sizeof type - 1) != 0)
		return false;
	p = skip_ows(p + sizeof type - 1);
	while (*p == ';') {
		const char *v;
		size_t n;

		p = skip_ows(p + 1);
		if (strncasecmp(p, "charset=", 8) != 0)
			return false;
		v = p + 8;
		if (*v == '"') {
			if (strncasecmp(v + 1, "utf-8\"", 6) != 0)
				return false;
			n = 7;
		} else {
			if (strncasecmp(v, "utf-8", 5) != 0)
				return false;
			n = 5;
		}
		p = skip_ows(v + n);
	}
	return *p == '\0';
}

enum vg_err
vg_http_body_begin(struct vg_http_req *req, int64_t max, int64_t *declared)
{
	const char *cl = vg_http_param(req, "CONTENT_LENGTH");
	char msg[96];
	int64_t n = -1;

	*declared = -1;
	if (req->body_begun)
		return vg_http_fail(req, VG_ERR_INTERNAL, "body read twice", NULL);
	if (cl && *cl && vg_str_to_i64(cl, 0, INT64_MAX, &n) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, "invalid Content-Length",
		    "Content-Length");
	if (n > max) {
		/* refused before a byte is read: the client may be sending
		 * gigabytes we would only throw away */
		snprintf(msg, sizeof msg, "request body larger than %lld bytes", (long long)max);
		return vg_http_fail(req, VG_ERR_TOO_LARGE, msg, "body");
	}
	req->body_begun = true;
	req->body_declared = n;
	req->body_max = max;
	req->body_read = 0;
	req->body_done = false;
	*declared = n;
	return VG_OK;
}

/* One read through the transport, with a short read of 0 meaning end.  A
 * failed read is the client's body ending early (the web server aborts
 * the stream when its client goes away): 400, not a server error. */
static enum vg_err
io_read(struct vg_http_req *req, void *buf, size_t n, size_t *got)
{
	ssize_t r = req->io->read(req->io->ctx, buf, n);

	*got = 0;
	if (r < 0)
		return vg_http_fail(req, VG_ERR_INVALID,
		    "the request body ended early or could not be read", "body");
	*got = (size_t)r;
	return VG_OK;
}

/*
 * Read the next chunk (see http.h).  With a declared length, never asks
 * the transport for more than what is left of it; at its end a bounded
 * transport is probed for one more byte, so a body longer than declared
 * is caught instead of silently cut.  Without a declared length, a bounded
 * transport is read to its end and stopped one byte past max.
 */
enum vg_err
vg_http_body_read(struct vg_http_req *req, void *buf, size_t cap, size_t *got)
{
	enum vg_err err = VG_OK;
	size_t want, n = 0;
	char probe;

	*got = 0;
	if (!req->body_begun)
		return vg_http_fail(req, VG_ERR_INTERNAL, "body read before begin", NULL);
	if (req->body_done || cap == 0)
		return VG_OK;
	if (req->body_declared >= 0) {
		int64_t left = req->body_declared - req->body_read;

		if (left == 0) {
			req->body_done = true;
			if (!req->io->bounded)
				return VG_OK;
			if ((err = io_read(req, &probe, 1, &n)) != VG_OK)
				return err;
			if (n > 0)
				return vg_http_fail(req, VG_ERR_TOO_LARGE,
				    "request body longer than its Content-Length", "body");
			return VG_OK;
		}
		want = (uint64_t)left < cap ? (size_t)left : cap;
	} else {
		int64_t left = req->body_max - req->body_read + 1;

		if (!req->io->bounded) {
			/* CGI without CONTENT_LENGTH has no body (RFC 3875) */
			req->body_done = true;
			return VG_OK;
		}
		want = (uint64_t)left < cap ? (size_t)left : cap;
	}
	if ((err = io_read(req, buf, want, &n)) != VG_OK)
		return err;
	if (n > want)
		return vg_http_fail(req, VG_ERR_INTERNAL, "transport read too much", NULL);
	if (n == 0) {
		req->body_done = true;
		if (req->body_declared >= 0 && req->body_read < req->body_declared)
			return vg_http_fail(req, VG_ERR_INVALID,
			    "request body shorter than its Content-Length", "body");
		return VG_OK;
	}
	req->body_read += (int64_t)n;
	if (req->body_read > req->body_max) {
		char msg[96];

		snprintf(msg, sizeof msg, "request body larger than %lld bytes",
		    (long long)req->body_max);
		return vg_http_fail(req, VG_ERR_TOO_LARGE, msg, "body");
	}
	*got = n;
	return VG_OK;
}

/*
 * Read and parse the JSON body (see http.h).  The whole body is held in a
 * buffer capped at VEGA_MAX_JSON_BODY_BYTES; freed before returning.
 */
enum vg_err
vg_http_read_json(struct vg_http_req *req, json_t **out)
{
	int64_t max = vg_cfg_int(VG_SET_MAX_JSON_BODY_BYTES), declared;
	struct vg_buf body;
	char chunk[READ_CHUNK];
	size_t got;
	enum vg_err err;

	*out = NULL;
	vg_buf_init(&body, (size_t)max);
	if (!vg_http_content_type_is_json(vg_http_param(req, "CONTENT_TYPE"))) {
		err = vg_http_fail(req, VG_ERR_MEDIA_TYPE,
		    "Content-Type must be application/json", "Content-Type");
		goto out;
	}
	if ((err = vg_http_body_begin(req, max, &declared)) != VG_OK)
		goto out;
	for (;;) {
		if ((err = vg_http_body_read(req, chunk, sizeof chunk, &got)) != VG_OK)
			goto out;
		if (got == 0)
			break;
		if ((err = vg_buf_append(&body, chunk, got)) != VG_OK) {
			err = vg_http_fail(req, err, "request body too large", "body");
			goto out;
		}
	}
	if (body.len == 0) {
		err = vg_http_fail(req, VG_ERR_INVALID_JSON, "request body is empty", "body");
		goto out;
	}
	if ((err = vg_json_parse(body.data, body.len, out)) != VG_OK)
		err = vg_http_fail(req, VG_ERR_INVALID_JSON,
		    "request body is not valid JSON in UTF-8", "body");
out:
	vg_buf_free(&body);
	return err;
}
