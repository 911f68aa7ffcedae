/* response.c - status lines, headers, JSON answers, the error envelope,
 * streams. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "http/http_int.h"

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
	{206, "Partial Content"}, {301, "Moved Permanently"}, {302, "Found"},
	{304, "Not Modified"}, {400, "Bad Request"}, {401, "Unauthorized"},
	{403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
	{409, "Conflict"}, {410, "Gone"}, {412, "Precondition Failed"},
	{413, "Content Too Large"}, {415, "Unsupported Media Type"},
	{422, "Unprocessable Content"}, {429, "Too Many Requests"},
	{500, "Internal Server Error"}, {502, "Bad Gateway"},
	{503, "Service Unavailable"}, {504, "Gateway Timeout"},
};

static const char *
reason_of(int status)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

/* Whether a header name or value is safe to put on a header line. */
static bool
header_text_ok(const char *s, bool is_name)
{
	const unsigned char *p = (const unsigned char *)s;

	if (is_name && !*p)
		return false;
	for (; *p; p++) {
		if (*p == '\r' || *p == '\n' || (*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
		if (is_name && (*p == ':' || *p == ' ' || *p == '\t'))
			return false;
	}
	return true;
}

enum vg_err
vg_http_add_header(struct vg_http_req *req, const char *name, const char *value)
{
	size_t before = req->extra_headers.len;
	enum vg_err err;

	if (!header_text_ok(name, true) || !header_text_ok(value, false))
		return VG_ERR_INVALID;
	err = vg_buf_printf(&req->extra_headers, "%s: %s\r\n", name, value);
	if (!err && strcasecmp(name, "Cache-Control") == 0)
		req->own_cache_control = true;
	if (err) {
		/* keep the block whole: drop a partial line */
		req->extra_headers.len = before;
		if (req->extra_headers.data)
			req->extra_headers.data[before] = '\0';
	}
	return err;
}

void
vg_http_set_retry_after(struct vg_http_req *req, int seconds)
{
	req->retry_after = seconds > 0 ? seconds : 1;
}

/* Write n bytes through the transport, remembering a failure so the rest
 * of the request does not keep writing to a closed connection. */
static enum vg_err
io_write(struct vg_http_req *req, const void *p, size_t n)
{
	if (req->io_failed || req->finished)
		return VG_ERR_IO;
	if (n && req->io->write(req->io->ctx, p, n) != 0) {
		req->io_failed = true;
		return VG_ERR_IO;
	}
	return VG_OK;
}

/*
 * Write the status line and headers.  content_length < 0 leaves it out
 * (streams); content_type NULL leaves out the type.
 */
static enum vg_err
write_head(struct vg_http_req *req, int status, const char *content_type,
    long long content_length)
{
	char head[1024];
	int n;
	enum vg_err err;

	n = snprintf(head, sizeof head, "Status: %d %s\r\n", status, reason_of(status));
	if (content_type && n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n",
		    content_type);
	if (content_length >= 0 && n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %lld\r\n",
		    content_length);
	if (n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n,
		    "X-Request-Id: %s\r\n%sX-Content-Type-Options: nosniff\r\n", req->request_id,
		    req->own_cache_control ? "" : "Cache-Control: no-store\r\n");
	if (n < 0 || (size_t)n >= sizeof head)
		return VG_ERR_INTERNAL;
	req->status = status;
	if ((err = io_write(req, head, (size_t)n)) != VG_OK)
		return err;
	if ((err = io_write(req, req->extra_headers.data ? req->extra_headers.data : "",
	    req->extra_headers.len)) != VG_OK)
		return err;
	return io_write(req, "\r\n", 2);
}

enum vg_err
vg_http_send(struct vg_http_req *req, int status, const char *content_type,
    const void *body, size_t n)
{
	enum vg_err err;

	if (req->resp != VG_HTTP_RESP_NONE) {
		vg_log(VG_LOG_ERROR, "double_response", "path", req->path, NULL);
		return VG_ERR_INTERNAL;
	}
	if (content_type && !header_text_ok(content_type, false))
		return vg_http_error(req, VG_ERR_INTERNAL, "bad Content-Type", NULL, NULL);
	req->resp = VG_HTTP_RESP_DONE;
	if (!content_type)
		n = 0;
	err = write_head(req, status, content_type, content_type ? (long long)n : -1);
	if (err == VG_OK && !req->head && n)
		err = io_write(req, body, n);
	return err;
}

enum vg_err
vg_http_json(struct vg_http_req *req, int status, json_t *body)
{
	char *text = NULL;
	enum vg_err err;

	if (!body) {
		err = vg_http_error(req, VG_ERR_NOMEM, "no response body", NULL, NULL);
		goto out;
	}
	if (!(text = vg_json_dump(body))) {
		err = vg_http_error(req, VG_ERR_INTERNAL, "response body does not serialise",
		    NULL, NULL);
		goto out;
	}
	err = vg_http_send(req, status, "application/json", text, strlen(text));
out:
	free(text);
	json_decref(body);
	return err;
}

/* The headers some statuses must carry (RFC 9110, RFC 6750, RFC 6585). */
static void
add_status_headers(struct vg_http_req *req, int status)
{
	char n[16];

	if (status == 401)
		vg_http_add_header(req, "WWW-Authenticate", "Bearer");
	if (status == 405 && req->allow[0])
		vg_http_add_header(req, "Allow", req->allow);
	if (status == 429 || status == 503) {
		int secs = req->retry_after ? req->retry_after : status == 503 ? 5 : 60;

		snprintf(n, sizeof n, "%d", secs);
		vg_http_add_header(req, "Retry-After", n);
	}
}

/*
 * Build and send the envelope (see http.h).  A 500 hides message and
 * details from the client: they are logged with the request id, which
 * the client gets, so an operator can find the cause.
 */
enum vg_err
vg_http_error(struct vg_http_req *req, enum vg_err err, const char *message,
    const char *field, json_t *details)
{
	int status = vg_err_status(err);
	json_t *env = NULL, *d = NULL;

	if (err == VG_OK)
		err = VG_ERR_INTERNAL, status = 500;
	if (status >= 500 && status != 503) {
		char *dump = details ? vg_json_dump(details) : NULL;

		vg_log(VG_LOG_ERROR, "internal_error", "cause", message ? message : "",
		    "details", dump ? dump : "", NULL);
		free(dump);
		json_decref(details);
		details = NULL;
		message = NULL;
		field = NULL;
	}
	if (req->resp != VG_HTTP_RESP_NONE) {
		/* too late for an envelope: the client already has a status */
		vg_log(VG_LOG_WARN, "error_after_response", "code", vg_err_code(err), NULL);
		json_decref(details);
		return err;
	}
	d = json_is_object(details) ? details : json_object();
	if (!json_is_object(details))
		json_decref(details);
	if (d && field && vg_utf8_valid(field, strlen(field)))
		json_object_set_new(d, "field", json_string(field));
	if (!message || !vg_utf8_valid(message, strlen(message)))
		message = vg_err_message(err);
	env = json_pack("{s:i, s:{s:s, s:s, s:b, s:o}}", "schema_version", 1, "error",
	    "code", vg_err_code(err), "message", message, "retryable",
	    vg_err_retryable(err), "details", d);
	if (!env) {
		/* out of memory, or a message that is not UTF-8: say less */
		static const char fallback[] = "{\"schema_version\":1,\"error\":"
		    "{\"code\":\"internal\",\"message\":\"internal error\","
		    "\"retryable\":false,\"details\":{}}}";

		vg_http_send(req, 500, "application/json", fallback, sizeof fallback - 1);
		return err;
	}
	add_status_headers(req, status);
	vg_http_json(req, status, env);
	return err;
}

enum vg_err
vg_http_fail(struct vg_http_req *req, enum vg_err err, const char *message,
    const char *field)
{
	req->fail_err = err;
	vg_str_copy(req->fail_message, sizeof req->fail_message, message ? message : "");
	req->fail_has_field = field != NULL;
	vg_str_copy(req->fail_field, sizeof req->fail_field, field ? field : "");
	return err;
}

enum vg_err
vg_http_stream_begin(struct vg_http_req *req, int status, const char *content_type)
{
	enum vg_err err;

	if (req->resp != VG_HTTP_RESP_NONE)
		return VG_ERR_INTERNAL;
	if (content_type && !header_text_ok(content_type, false))
		return vg_http_error(req, VG_ERR_INTERNAL, "bad Content-Type", NULL, NULL);
	req->resp = VG_HTTP_RESP_STREAM;
	if (content_type && vg_str_has_prefix(content_type, "text/event-stream"))
		vg_http_add_header(req, "X-Accel-Buffering", "no");
	if ((err = write_head(req, status, content_type, -1)) != VG_OK)
		return err;
	return vg_http_stream_flush(req);
}

enum vg_err
vg_http_stream_write(struct vg_http_req *req, const void *p, size_t n)
{
	if (req->resp != VG_HTTP_RESP_STREAM)
		return VG_ERR_INTERNAL;
	if (req->head)
		return req->io_failed ? VG_ERR_IO : VG_OK;
	return io_write(req, p, n);
}

enum vg_err
vg_http_stream_flush(struct vg_http_req *req)
{
	if (req->io_failed || req->finished)
		return VG_ERR_IO;
	if (req->io->flush && req->io->flush(req->io->ctx) != 0) {
		req->io_failed = true;
		return VG_ERR_IO;
	}
	return VG_OK;
}

void
vg_http_finish(struct vg_http_req *req)
{
	if (req->finished)
		return;
	if (req->io->flush && !req->io_failed && req->io->flush(req->io->ctx) != 0)
		req->io_failed = true;
	if (req->io->finish && !req->io_failed && req->io->finish(req->io->ctx) != 0)
		req->io_failed = true;
	req->finished = req->io->finish != NULL;
}

bool
vg_http_finished(const struct vg_http_req *req)
{
	return req->finished;
}

bool
vg_http_responded(const struct vg_http_req *req)
{
	return req->resp != VG_HTTP_RESP_NONE;
}

int
vg_http_status(const struct vg_http_req *req)
{
	return req->status;
}
