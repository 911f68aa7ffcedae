/* request.c - the request object: method, path, request id, parameters. */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "http/http_int.h"

#define MAX_METHOD 16

/* RFC 9110 token characters, the only ones a method may hold. */
static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool
vg_http_request_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= VG_HTTP_MAX_REQUEST_ID ||
		    !(isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

/* Record a 400 for the envelope during request set-up. */
static enum vg_err
refuse(struct vg_http_req *req, const char *field, const char *why)
{
	return vg_http_fail(req, VG_ERR_INVALID, why, field);
}

/*
 * Whether the raw (not yet decoded) path hides a '/' or a NUL in an
 * escape: %2F would let one capture span two segments, %00 would cut a C
 * string short.  Both are refused rather than guessed at.
 */
static bool
has_forbidden_escape(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i++) {
		if (s[i] != '%')
			continue;
		if ((s[i + 1] == '2' && (s[i + 2] == 'f' || s[i + 2] == 'F')) ||
		    (s[i + 1] == '0' && s[i + 2] == '0'))
			return true;
	}
	return false;
}

/*
 * Check a decoded path: absolute, UTF-8, no control characters, no "."
 * or ".." segments.  Returns a static reason, or NULL when it is fine.
 */
static const char *
path_problem(const char *p, size_t n)
{
	size_t i, seg = 1;

	if (n == 0 || p[0] != '/')
		return "path must be absolute";
	if (!vg_utf8_valid(p, n))
		return "path is not valid UTF-8";
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return "path contains a control character";
	for (i = 1; i <= n; i++) {
		if (i == n || p[i] == '/') {
			size_t len = i - seg;

			if ((len == 1 && p[seg] == '.') ||
			    (len == 2 && p[seg] == '.' && p[seg + 1] == '.'))
				return "path contains a dot segment";
			seg = i + 1;
		}
	}
	return NULL;
}

/*
 * The URI path of the request into req->path.  REQUEST_URI (minus the
 * query) is what nginx, Apache mod_proxy_fcgi and mod_fcgid all pass
 * unchanged, so it is preferred and percent-decoded here; the fallback,
 * SCRIPT_NAME + PATH_INFO, arrives already decoded.
 */
static enum vg_err
extract_path(struct vg_http_req *req)
{
	const char *uri = vg_http_param(req, "REQUEST_URI");
	const char *why;
	size_t n, len = 0;

	if (uri && *uri) {
		/* absolute-form ("http://host/path"): keep from the path on */
		if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
			const char *slash = strchr(strstr(uri, "//") + 2, '/');

			uri = slash ? slash : "/";
		}
		n = strcspn(uri, "?#");
		if (n > VG_HTTP_MAX_PATH)
			return refuse(req, "path", "path too long");
		if (has_forbidden_escape(uri, n))
			return refuse(req, "path", "path contains an encoded slash or NUL");
		if (vg_http_pct_decode(uri, n, false, req->path, &len) != VG_OK)
			return refuse(req, "path", "path has a malformed percent-escape");
	} else {
		const char *script = vg_http_param(req, "SCRIPT_NAME");
		const char *info = vg_http_param(req, "PATH_INFO");
		size_t ls = script ? strlen(script) : 0, li = info ? strlen(info) : 0;

		if (ls + li > VG_HTTP_MAX_PATH)
			return refuse(req, "path", "path too long");
		if (ls)
			memcpy(req->path, script, ls);
		if (li)
			memcpy(req->path + ls, info, li);
		len = ls + li;
		req->path[len] = '\0';
	}
	if (memchr(req->path, '\0', len))
		return refuse(req, "path", "path contains an encoded slash or NUL");
	if ((why = path_problem(req->path, len)) != NULL)
		return refuse(req, "path", why);
	memcpy(req->segs, req->path, len + 1);
	for (n = 0; n < len; n++)
		if (req->segs[n] == '/')
			req->segs[n] = '\0';
	return VG_OK;
}

/* The request id: the web server's X-Request-Id when well-formed (it
 * ties our lines to its access log), otherwise a fresh UUID. */
static void
pick_request_id(struct vg_http_req *req)
{
	const char *given = vg_http_param(req, "HTTP_X_REQUEST_ID");

	if (vg_http_request_id_valid(given))
		vg_str_copy(req->request_id, sizeof req->request_id, given);
	else if (vg_uuid_new(req->request_id) != VG_OK)
		vg_str_copy(req->request_id, sizeof req->request_id, "unknown");
	vg_log_set_request_id(req->request_id);
}

/*
 * Set req up for one request over io: request id first (so every later
 * line carries it), then method and path.  The caller zeroed req.
 * VG_ERR_INVALID (recorded on req) when the method or path is refused.
 */
enum vg_err
vg_http_req_init(struct vg_http_req *req, const struct vg_program *p,
    const struct vg_http_io *io)
{
	const char *m;
	size_t i;

	req->io = io;
	req->program = p;
	req->started_us = vg_time_mono_us();
	req->body_declared = -1;
	req->method = "";
	req->query_string = "";
	vg_buf_init(&req->extra_headers, VG_HTTP_MAX_EXTRA_HEADERS);
	pick_request_id(req);

	m = vg_http_param(req, "REQUEST_METHOD");
	if (!m || !*m || strlen(m) > MAX_METHOD)
		return refuse(req, "method", "missing or invalid request method");
	for (i = 0; m[i]; i++)
		if (!is_tchar((unsigned char)m[i]))
			return refuse(req, "method", "missing or invalid request method");
	req->method = m;
	req->head = strcmp(m, "HEAD") == 0;
	req->query_string = vg_http_param(req, "QUERY_STRING");
	if (!req->query_string)
		req->query_string = "";
	/* REQUEST_URI carries the query too; QUERY_STRING is set by every
	 * server we run under, but fall back to it just in case. */
	if (!*req->query_string) {
		const char *uri = vg_http_param(req, "REQUEST_URI");
		const char *q = uri ? strchr(uri, '?') : NULL;

		if (q)
			req->query_string = q + 1;
	}
	return extract_path(req);
}

void
vg_http_req_release(struct vg_http_req *req)
{
	if (req->principal_free && req->principal)
		req->principal_free(req->principal);
	req->principal = NULL;
	vg_query_free(req->query);
	req->query = NULL;
	vg_buf_free(&req->extra_headers);
	vg_log_set_request_id(NULL);
}

const char *
vg_http_param(const struct vg_http_req *req, const char *name)
{
	return req->io->param(req->io->ctx, name);
}

/* Header names map to CGI parameters: Content-Type and Content-Length
 * have their own, the rest are HTTP_ + upper case with '-' as '_'. */
const char *
vg_http_header(const struct vg_http_req *req, const char *name)
{
	char key[128];
	size_t i, n = strlen(name);

	if (strcasecmp(name, "Content-Type") == 0)
		return vg_http_param(req, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return vg_http_param(req, "CONTENT_LENGTH");
	if (n == 0 || n + 6 > sizeof key)
		return NULL;
	memcpy(key, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		key[5 + i] = c == '-' ? '_' : (char)toupper(c);
	}
	key[5 + n] = '\0';
	return vg_http_param(req, key);
}

const char *
vg_http_method(const struct vg_http_req *req)
{
	return req->method;
}

const char *
vg_http_path(const struct vg_http_req *req)
{
	return req->path;
}

const char *
vg_http_query_string(const struct vg_http_req *req)
{
	return req->query_string;
}

const char *
vg_http_client_addr(const struct vg_http_req *req)
{
	const char *a = vg_http_param(req, "REMOTE_ADDR");

	return a ? a : "";
}

const char *
vg_http_capture(const struct vg_http_req *req, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < req->ncaps; i++)
		if (req->caps[i].name_len == n && memcmp(req->caps[i].name, name, n) == 0)
			return req->caps[i].value;
	return NULL;
}

const char *
vg_http_request_id(const struct vg_http_req *req)
{
	return req->request_id;
}

const struct vg_program *
vg_http_program(const struct vg_http_req *req)
{
	return req->program;
}

const struct vg_route *
vg_http_route(const struct vg_http_req *req)
{
	return req->route;
}

void
vg_http_set_principal(struct vg_http_req *req, void *principal, void (*free_fn)(void *))
{
	if (req->principal_free && req->principal && req->principal != principal)
		req->principal_free(req->principal);
	req->principal = principal;
	req->principal_free = free_fn;
}

void *
vg_http_principal(const struct vg_http_req *req)
{
	return req->principal;
}
