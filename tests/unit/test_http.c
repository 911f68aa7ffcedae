/* test_http.c - lib/http: router, query, bodies, envelope, request ids,
 * path decoding, streams, health routes, and the cgi/ programs run as
 * plain CGI. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "http/http.h"
#include "vt.h"

#ifndef VG_TEST_BUILDDIR
#define VG_TEST_BUILDDIR "."
#endif

/* ---- a test program ---- */

static enum vg_err
h_root(struct vg_http_req *req)
{
	return vg_http_json(req, 200, json_pack("{s:s}", "route", "root"));
}

/* Echo the captures that exist, and the route pattern. */
static enum vg_err
h_caps(struct vg_http_req *req)
{
	return vg_http_json(req, 200, json_pack("{s:s, s:s?, s:s?}",
	    "route", vg_http_route(req)->pattern,
	    "id", vg_http_capture(req, "id"),
	    "user_id", vg_http_capture(req, "user_id")));
}

/* Echo the query: every pair in order, and how often "q" occurs. */
static enum vg_err
h_list(struct vg_http_req *req)
{
	const struct vg_query *q = vg_http_query(req);
	json_t *pairs = json_array();
	size_t i;

	for (i = 0; i < vg_query_len(q); i++)
		json_array_append_new(pairs, json_pack("[s,s]", vg_query_key(q, i),
		    vg_query_value(q, i)));
	return vg_http_json(req, 200, json_pack("{s:o, s:i}", "pairs", pairs,
	    "q_count", (json_int_t)vg_query_count(q, "q")));
}

static enum vg_err
h_create(struct vg_http_req *req)
{
	json_t *body = NULL;
	enum vg_err err = vg_http_read_json(req, &body);

	if (err)
		return err;
	return vg_http_json(req, 201, json_pack("{s:o}", "got", body));
}

static enum vg_err
h_limit(struct vg_http_req *req)
{
	int64_t limit = 0;
	enum vg_err err = vg_http_query_int(req, "limit", 1, 100, 20, &limit);

	if (err)
		return err;
	return vg_http_json(req, 200, json_pack("{s:I}", "limit", (json_int_t)limit));
}

static const struct {
	const char *kind;
	enum vg_err err;
	const char *message;
	const char *field;
} fail_kinds[] = {
	{"invalid", VG_ERR_INVALID, "name is required", "name"},
	{"json", VG_ERR_INVALID_JSON, NULL, NULL},
	{"unauthorized", VG_ERR_UNAUTHORIZED, NULL, NULL},
	{"forbidden", VG_ERR_FORBIDDEN, NULL, NULL},
	{"notfound", VG_ERR_NOT_FOUND, "no such project", NULL},
	{"conflict", VG_ERR_CONFLICT, "already exists", NULL},
	{"large", VG_ERR_TOO_LARGE, NULL, NULL},
	{"media", VG_ERR_MEDIA_TYPE, NULL, NULL},
	{"archive", VG_ERR_INVALID_ARCHIVE, "archive has a link", NULL},
	{"quota", VG_ERR_QUOTA, NULL, NULL},
	{"rate", VG_ERR_RATE_LIMITED, NULL, NULL},
	{"unavailable", VG_ERR_UNAVAILABLE, NULL, NULL},
	{"internal", VG_ERR_INTERNAL, "db said: password=hunter2 at /srv/x.c:12", "secret"},
	{"nomem", VG_ERR_NOMEM, NULL, NULL},
	{"io", VG_ERR_IO, "disk full", NULL},
};

/* Return the error named by {kind} without answering, so the framework
 * builds the envelope. */
static enum vg_err
h_fail(struct vg_http_req *req)
{
	const char *kind = vg_http_capture(req, "kind");
	size_t i;

	for (i = 0; i < sizeof fail_kinds / sizeof fail_kinds[0]; i++)
		if (strcmp(kind, fail_kinds[i].kind) == 0) {
			if (fail_kinds[i].message || fail_kinds[i].field)
				return vg_http_fail(req, fail_kinds[i].err,
				    fail_kinds[i].message, fail_kinds[i].field);
			return fail_kinds[i].err;
		}
	return VG_ERR_NOT_FOUND;
}

/* The handler answers the error itself, with details. */
static enum vg_err
h_error_details(struct vg_http_req *req)
{
	vg_http_set_retry_after(req, 7);
	return vg_http_error(req, VG_ERR_RATE_LIMITED, "slow down", NULL,
	    json_pack("{s:i}", "limit", 5));
}

static enum vg_err
h_noanswer(struct vg_http_req *req)
{
	return VG_OK;
}

static enum vg_err
h_twice(struct vg_http_req *req)
{
	vg_http_json(req, 200, json_object());
	return vg_http_json(req, 201, json_object()) == VG_ERR_INTERNAL ? VG_OK : VG_ERR_IO;
}

static enum vg_err
h_header(struct vg_http_req *req)
{
	enum vg_err bad1 = vg_http_add_header(req, "X-Evil", "a\r\nSet-Cookie: x=1");
	enum vg_err bad2 = vg_http_add_header(req, "X Bad", "v");
	enum vg_err good = vg_http_add_header(req, "ETag", "\"abc\"");

	vg_http_add_header(req, "cache-control", "private, no-cache");
	return vg_http_json(req, 200, json_pack("{s:b, s:b, s:b}",
	    "bad1", bad1 == VG_ERR_INVALID, "bad2", bad2 == VG_ERR_INVALID,
	    "good", good == VG_OK));
}

static enum vg_err
h_stream(struct vg_http_req *req)
{
	enum vg_err err = vg_http_stream_begin(req, 200, "text/event-stream");

	if (!err)
		err = vg_http_stream_write(req, "data: one\n\n", 11);
	if (!err)
		err = vg_http_stream_flush(req);
	if (!err)
		err = vg_http_stream_write(req, "data: two\n\n", 11);
	return err;
}

/* A stream ended early, then written to: what the client got stops at the
 * end, and the late write is refused.  The handler's answer code tells
 * the test whether the refusal came. */
static bool finish_late_write_refused;

static enum vg_err
h_finish(struct vg_http_req *req)
{
	enum vg_err err = vg_http_stream_begin(req, 200, "text/event-stream");

	if (!err)
		err = vg_http_stream_write(req, "data: all\n\n", 11);
	if (err)
		return err;
	vg_http_finish(req);
	finish_late_write_refused = vg_http_finished(req) &&
	    vg_http_stream_write(req, "data: late\n\n", 12) == VG_ERR_IO &&
	    vg_http_stream_flush(req) == VG_ERR_IO;
	return VG_OK;
}

/* Read the body in chunks of 3 bytes with a cap of 10. */
static enum vg_err
h_upload(struct vg_http_req *req)
{
	char buf[3];
	size_t got, total = 0, reads = 0;
	int64_t declared;
	enum vg_err err = vg_http_body_begin(req, 10, &declared);

	while (!err) {
		if ((err = vg_http_body_read(req, buf, sizeof buf, &got)) != VG_OK || got == 0)
			break;
		total += got;
		reads++;
	}
	if (err)
		return err;
	return vg_http_json(req, 200, json_pack("{s:I, s:I, s:I}", "bytes",
	    (json_int_t)total, "reads", (json_int_t)reads, "declared", (json_int_t)declared));
}

static enum vg_err
h_echo_meta(struct vg_http_req *req)
{
	const char *auth = vg_http_header(req, "Authorization");

	return vg_http_json(req, 200, json_pack("{s:s, s:s, s:s, s:b, s:s?}",
	    "method", vg_http_method(req), "path", vg_http_path(req),
	    "client", vg_http_client_addr(req), "has_auth", auth != NULL,
	    "custom", vg_http_header(req, "X-Custom-Thing")));
}

static enum vg_err
h_principal(struct vg_http_req *req)
{
	const char *who = vg_http_principal(req);

	return vg_http_json(req, 200, json_pack("{s:s}", "who", who ? who : ""));
}

static const struct vg_route test_routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"GET", "/", VG_AUTH_NONE, h_root},
	{"GET", "/v1/items", VG_AUTH_NONE, h_list},
	{"POST", "/v1/items", VG_AUTH_NONE, h_create},
	{"GET", "/v1/items/{id}", VG_AUTH_NONE, h_caps},
	{"DELETE", "/v1/items/{id}", VG_AUTH_NONE, h_caps},
	{"GET", "/v1/projects/{id}/members/{user_id}", VG_AUTH_NONE, h_caps},
	{"PUT", "/v1/projects/{id}/members/{user_id}", VG_AUTH_NONE, h_caps},
	{"GET", "/v1/projects/{id}/members", VG_AUTH_NONE, h_caps},
	{"GET", "/v1/files/{id*}", VG_AUTH_NONE, h_caps},
	{"GET", "/v1/limit", VG_AUTH_NONE, h_limit},
	{"GET", "/v1/fail/{kind}", VG_AUTH_NONE, h_fail},
	{"GET", "/v1/details", VG_AUTH_NONE, h_error_details},
	{"GET", "/v1/noanswer", VG_AUTH_NONE, h_noanswer},
	{"GET", "/v1/twice", VG_AUTH_NONE, h_twice},
	{"GET", "/v1/header", VG_AUTH_NONE, h_header},
	{"GET", "/v1/stream", VG_AUTH_NONE, h_stream},
	{"GET", "/v1/finish", VG_AUTH_NONE, h_finish},
	{"POST", "/v1/upload", VG_AUTH_NONE, h_upload},
	{"GET", "/v1/meta", VG_AUTH_NONE, h_echo_meta},
	{"GET", "/v1/secure", VG_AUTH_USER, h_principal},
	{"GET", "/v1/ops/thing", VG_AUTH_OPERATOR, h_principal},
};

static const struct vg_program test_program = {
	.role = "test", VG_HTTP_ROUTES(test_routes),
};

/* An auth hook: "Bearer user" is a user, "Bearer op" an operator. */
static enum vg_err
hook_auth(struct vg_http_req *req, enum vg_auth need)
{
	const char *h = vg_http_header(req, "Authorization");
	char *who;

	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return vg_http_fail(req, VG_ERR_UNAUTHORIZED, "no token", NULL);
	if (strcmp(h + 7, "user") != 0 && strcmp(h + 7, "op") != 0)
		return VG_ERR_UNAUTHORIZED;
	if (need == VG_AUTH_OPERATOR && strcmp(h + 7, "op") != 0)
		return VG_ERR_FORBIDDEN;
	if (!(who = strdup(h + 7)))
		return VG_ERR_NOMEM;
	vg_http_set_principal(req, who, free);
	return VG_OK;
}

static const struct vg_program auth_program = {
	.role = "test", VG_HTTP_ROUTES(test_routes), .authenticate = hook_auth,
};

/* ---- helpers ---- */

/*
 * Run one request in memory.  params are "NAME=value" strings (NULL-ended
 * list of at most 12); REQUEST_METHOD and REQUEST_URI come first.
 */
static struct vg_http_mem *
request(const struct vg_program *p, const char *method, const char *uri,
    const char *const *extra, const char *body, size_t body_len, size_t chunk)
{
	char m[64], u[8192];
	const char *params[16];
	size_t n = 0, i;
	struct vg_http_mem *mem;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	if (method)
		params[n++] = m;
	if (uri)
		params[n++] = u;
	for (i = 0; extra && extra[i] && n < 15; i++)
		params[n++] = extra[i];
	params[n] = NULL;
	mem = vg_http_mem_new(params, body, body_len);
	if (!mem)
		return NULL;
	if (chunk)
		vg_http_mem_set_chunk(mem, chunk);
	vg_http_handle(p, vg_http_mem_io(mem));
	return mem;
}

/* Parse the response body as JSON (NULL when it is not). */
static json_t *
body_json(const struct vg_http_mem *m)
{
	size_t n;
	const char *b = vg_http_mem_body(m, &n);

	return json_loadb(b, n, 0, NULL);
}

/* A string member at a dotted path ("error.details.field"), or NULL. */
static const char *
jstr(json_t *v, const char *path)
{
	char key[64];
	const char *dot;

	while (v && (dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
		v = json_object_get(v, key);
		path = dot + 1;
	}
	v = v ? json_object_get(v, path) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *logbuf;
static size_t loglen;
static FILE *log_fp;

/* Capture log lines in a fresh memory stream from here on (fflush
 * log_fp before reading logbuf). */
static void
log_capture(void)
{
	vg_log_set_stream(NULL);
	if (log_fp)
		fclose(log_fp);
	free(logbuf);
	logbuf = NULL;
	loglen = 0;
	log_fp = open_memstream(&logbuf, &loglen);
	vg_log_set_stream(log_fp);
}

static void
log_release(void)
{
	vg_log_set_stream(NULL);
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
	free(logbuf);
	logbuf = NULL;
}

/* ---- router ---- */

static void
test_router(void)
{
	static const struct {
		const char *method, *uri;
		int status;
		const char *route, *id, *user_id, *allow;
	} cases[] = {
		{"GET", "/", 200, NULL, NULL, NULL, NULL},
		{"GET", "/v1/items/abc", 200, "/v1/items/{id}", "abc", NULL, NULL},
		{"DELETE", "/v1/items/abc", 200, "/v1/items/{id}", "abc", NULL, NULL},
		{"GET", "/v1/items/a%20b", 200, "/v1/items/{id}", "a b", NULL, NULL},
		{"GET", "/v1/items/caf%C3%A9", 200, "/v1/items/{id}", "caf\xc3\xa9", NULL, NULL},
		{"GET", "/v1/items/a+b", 200, "/v1/items/{id}", "a+b", NULL, NULL},
		{"GET", "/v1/projects/p1/members/u2", 200, "/v1/projects/{id}/members/{user_id}",
		    "p1", "u2", NULL},
		{"PUT", "/v1/projects/p1/members/u2", 200, "/v1/projects/{id}/members/{user_id}",
		    "p1", "u2", NULL},
		{"GET", "/v1/projects/p1/members", 200, "/v1/projects/{id}/members", "p1", NULL, NULL},
		/* a last {name*} takes the rest of the path, slashes and all */
		{"GET", "/v1/files/a", 200, "/v1/files/{id*}", "a", NULL, NULL},
		{"GET", "/v1/files/src/a%20b/c.h", 200, "/v1/files/{id*}", "src/a b/c.h", NULL, NULL},
		{"GET", "/v1/files/", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/files", 404, NULL, NULL, NULL, NULL},
		/* a capture never matches an empty segment or a '/' */
		{"GET", "/v1/items/", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/items//", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/projects//members/u2", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/items/a/b", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/projects/p1/members/u2/x", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/item", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/itemsx", 404, NULL, NULL, NULL, NULL},
		{"GET", "/V1/items", 404, NULL, NULL, NULL, NULL},
		{"GET", "/nope", 404, NULL, NULL, NULL, NULL},
		{"GET", "/v1/items/abc/", 404, NULL, NULL, NULL, NULL},
		/* method not allowed, with Allow */
		{"POST", "/v1/items/abc", 405, NULL, NULL, NULL, "GET, HEAD, DELETE"},
		{"PATCH", "/v1/items", 405, NULL, NULL, NULL, "GET, HEAD, POST"},
		{"DELETE", "/v1/projects/p/members/u", 405, NULL, NULL, NULL, "GET, HEAD, PUT"},
		{"POST", "/v1/healthz", 405, NULL, NULL, NULL, "GET, HEAD"},
		{"OPTIONS", "/", 405, NULL, NULL, NULL, "GET, HEAD"},
		{"get", "/v1/items/x", 405, NULL, NULL, NULL, "GET, HEAD, DELETE"},
		{"POST", "/v1/upload-not", 404, NULL, NULL, NULL, NULL},
		/* HEAD is served by GET */
		{"HEAD", "/v1/items/abc", 200, NULL, NULL, NULL, NULL},
		{"HEAD", "/v1/upload", 405, NULL, NULL, NULL, "POST"},
		/* bad methods */
		{"G ET", "/", 400, NULL, NULL, NULL, NULL},
		{"", "/", 400, NULL, NULL, NULL, NULL},
		{"VERYLONGMETHODNAMEXX", "/", 400, NULL, NULL, NULL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_http_mem *m = request(&test_program, cases[i].method, cases[i].uri,
		    NULL, NULL, 0, 0);
		json_t *b = m ? body_json(m) : NULL;
		char name[160];

		snprintf(name, sizeof name, "%s %s", cases[i].method, cases[i].uri);
		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, name);
		if (cases[i].route) {
			VT_EQ_STR(jstr(b, "route"), cases[i].route, name);
			VT_EQ_STR(jstr(b, "id"), cases[i].id, name);
			VT_EQ_STR(jstr(b, "user_id"), cases[i].user_id, name);
		}
		if (cases[i].status == 405) {
			VT_EQ_STR(vg_http_mem_header(m, "Allow"), cases[i].allow, name);
			if (strcmp(cases[i].method, "HEAD") != 0)
				VT_EQ_STR(jstr(b, "error.code"), "method_not_allowed", name);
		} else {
			VT_OK(vg_http_mem_header(m, "Allow") == NULL, name);
		}
		if (cases[i].status == 404)
			VT_EQ_STR(jstr(b, "error.code"), "not_found", name);
		if (cases[i].status == 400)
			VT_EQ_STR(jstr(b, "error.details.field"), "method", name);
		json_decref(b);
		vg_http_mem_free(m);
	}
}

/* HEAD: the GET's headers, Content-Length included, and no body. */
static void
test_head(void)
{
	struct vg_http_mem *g = request(&test_program, "GET", "/v1/items/abc", NULL, NULL, 0, 0);
	struct vg_http_mem *h = request(&test_program, "HEAD", "/v1/items/abc", NULL, NULL, 0, 0);
	struct vg_http_mem *e = request(&test_program, "HEAD", "/nope", NULL, NULL, 0, 0);
	size_t gl = 0, hl = 0, el = 0;
	char glen[32];

	vg_http_mem_body(g, &gl);
	vg_http_mem_body(h, &hl);
	vg_http_mem_body(e, &el);
	snprintf(glen, sizeof glen, "%zu", gl);
	VT_OK(gl > 0, "GET has a body");
	VT_EQ_INT(hl, 0, "HEAD has no body");
	VT_EQ_STR(vg_http_mem_header(h, "Content-Length"), glen, "HEAD Content-Length is GET's");
	VT_EQ_STR(vg_http_mem_header(h, "Content-Type"), "application/json", "HEAD type");
	VT_EQ_INT(vg_http_mem_status(e), 404, "HEAD of unknown path is 404");
	VT_EQ_INT(el, 0, "HEAD error has no body");
	vg_http_mem_free(g);
	vg_http_mem_free(h);
	vg_http_mem_free(e);
}

/* ---- path decoding ---- */

static void
test_paths(void)
{
	static const struct {
		const char *name;
		const char *params[5];
		int status;
		const char *path;
	} cases[] = {
		{"encoded slash", {"REQUEST_URI=/v1/items/a%2Fb"}, 400, NULL},
		{"encoded slash lower", {"REQUEST_URI=/v1/items/a%2fb"}, 400, NULL},
		{"encoded NUL", {"REQUEST_URI=/v1/items/a%00b"}, 400, NULL},
		{"dot-dot", {"REQUEST_URI=/v1/items/../items"}, 400, NULL},
		{"encoded dot-dot", {"REQUEST_URI=/v1/items/%2e%2E"}, 400, NULL},
		{"dot", {"REQUEST_URI=/v1/./items"}, 400, NULL},
		{"trailing dot-dot", {"REQUEST_URI=/v1/.."}, 400, NULL},
		{"dots inside a name are fine", {"REQUEST_URI=/v1/meta/..x"}, 404, NULL},
		{"bad escape", {"REQUEST_URI=/v1/items/%zz"}, 400, NULL},
		{"short escape", {"REQUEST_URI=/v1/items/%4"}, 400, NULL},
		{"invalid UTF-8", {"REQUEST_URI=/v1/items/%ff"}, 400, NULL},
		{"overlong UTF-8", {"REQUEST_URI=/v1/items/%c0%af"}, 400, NULL},
		{"control char", {"REQUEST_URI=/v1/items/a%0Ab"}, 400, NULL},
		{"relative", {"REQUEST_URI=v1/meta"}, 400, NULL},
		{"only a query", {"REQUEST_URI=?a=1"}, 400, NULL},
		/* nginx: REQUEST_URI with the query */
		{"nginx", {"REQUEST_URI=/v1/meta?x=1", "QUERY_STRING=x=1",
		    "DOCUMENT_URI=/v1/meta", "SCRIPT_NAME=/v1/meta"}, 200, "/v1/meta"},
		/* Apache mod_fcgid: SCRIPT_NAME is the program, PATH_INFO the rest */
		{"mod_fcgid", {"REQUEST_URI=/v1/meta", "SCRIPT_NAME=/vega/vega-ops.fcgi",
		    "PATH_INFO=/v1/meta"}, 200, "/v1/meta"},
		/* Apache mod_proxy_fcgi: SCRIPT_NAME and PATH_INFO split anywhere */
		{"mod_proxy_fcgi", {"REQUEST_URI=/v1/meta", "SCRIPT_NAME=/v1",
		    "PATH_INFO=/meta"}, 200, "/v1/meta"},
		/* without REQUEST_URI: SCRIPT_NAME + PATH_INFO, already decoded */
		{"script+info", {"SCRIPT_NAME=/v1", "PATH_INFO=/meta"}, 200, "/v1/meta"},
		{"script+info dots", {"SCRIPT_NAME=/v1", "PATH_INFO=/../meta"}, 400, NULL},
		{"nothing at all", {NULL}, 400, NULL},
		{"absolute-form", {"REQUEST_URI=http://example.test/v1/meta?q=1"}, 200, "/v1/meta"},
		{"absolute-form root", {"REQUEST_URI=https://example.test"}, 200, NULL},
		{"fragment", {"REQUEST_URI=/v1/meta#frag"}, 200, "/v1/meta"},
	};
	size_t i;
	char longuri[VG_HTTP_MAX_PATH + 64];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vg_http_mem *m = request(&test_program, "GET", NULL, cases[i].params,
		    NULL, 0, 0);
		json_t *b = body_json(m);

		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].name);
		if (cases[i].status == 400) {
			VT_EQ_STR(jstr(b, "error.code"), "validation_failed", cases[i].name);
			VT_EQ_STR(jstr(b, "error.details.field"), "path", cases[i].name);
		}
		if (cases[i].path)
			VT_EQ_STR(jstr(b, "path"), cases[i].path, cases[i].name);
		json_decref(b);
		vg_http_mem_free(m);
	}
	memset(longuri, 'a', sizeof longuri - 1);
	longuri[0] = '/';
	longuri[sizeof longuri - 1] = '\0';
	{
		struct vg_http_mem *m = request(&test_program, "GET", longuri, NULL, NULL, 0, 0);

		VT_EQ_INT(vg_http_mem_status(m), 400, "overlong path is refused");
		vg_http_mem_free(m);
	}
}

/* ---- query strings ---- */

static void
test_query_parse(void)
{
	static const struct {
		const char *in;
		int ok;
		size_t n;
		const char *k0, *v0, *k1, *v1;
	} cases[] = {
		{"", 1, 0, NULL, NULL, NULL, NULL},
		{"a=1&b=x%20y", 1, 2, "a", "1", "b", "x y"},
		{"a=x+y", 1, 1, "a", "x y", NULL, NULL},
		{"a=%2B", 1, 1, "a", "+", NULL, NULL},
		{"q=1&q=2", 1, 2, "q", "1", "q", "2"},
		{"a=&b", 1, 2, "a", "", "b", ""},
		{"&&a=1&", 1, 1, "a", "1", NULL, NULL},
		{"a=b=c", 1, 1, "a", "b=c", NULL, NULL},
		{"k%C3%A9y=v%E2%82%AC", 1, 1, "k\xc3\xa9y", "v\xe2\x82\xac", NULL, NULL},
		{"a=%2F", 1, 1, "a", "/", NULL, NULL},
		{"a;b=1", 1, 1, "a;b", "1", NULL, NULL},
		{"a=%", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%4", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%zz", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%g0", 0, 0, NULL, NULL, NULL, NULL},
		{"%=1", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%00", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%ff", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%C3%28", 0, 0, NULL, NULL, NULL, NULL},
		{"a=%ED%A0%80", 0, 0, NULL, NULL, NULL, NULL},
		{"a=\xff", 0, 0, NULL, NULL, NULL, NULL},
		{"=1", 0, 0, NULL, NULL, NULL, NULL},
		{"a=1&=2", 0, 0, NULL, NULL, NULL, NULL},
	};
	struct vg_query *q = NULL;
	const char *why = NULL;
	char big[VG_HTTP_MAX_QUERY + 2];
	size_t i, len;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum vg_err err = vg_query_parse(cases[i].in, strlen(cases[i].in), &q, &why);

		VT_EQ_INT(err == VG_OK, cases[i].ok, cases[i].in);
		if (!cases[i].ok) {
			VT_OK(q == NULL && why != NULL, cases[i].in);
			continue;
		}
		VT_EQ_INT(vg_query_len(q), cases[i].n, cases[i].in);
		VT_EQ_STR(vg_query_key(q, 0), cases[i].k0, cases[i].in);
		VT_EQ_STR(vg_query_value(q, 0), cases[i].v0, cases[i].in);
		VT_EQ_STR(vg_query_key(q, 1), cases[i].k1, cases[i].in);
		VT_EQ_STR(vg_query_value(q, 1), cases[i].v1, cases[i].in);
		vg_query_free(q);
		q = NULL;
	}
	VT_EQ_INT(vg_query_parse("q=1&q=2&r=3", 11, &q, &why), VG_OK, "repeated keys");
	VT_EQ_INT(vg_query_count(q, "q"), 2, "q twice");
	VT_EQ_STR(vg_query_get(q, "q"), "1", "first value wins");
	VT_OK(vg_query_get(q, "zz") == NULL, "absent key");
	vg_query_free(q);
	vg_query_free(NULL);

	/* caps: length and number of pairs */
	memset(big, 'a', sizeof big);
	big[0] = 'k';
	big[1] = '=';
	VT_EQ_INT(vg_query_parse(big, VG_HTTP_MAX_QUERY, &q, &why), VG_OK, "query at length cap");
	vg_query_free(q);
	VT_EQ_INT(vg_query_parse(big, VG_HTTP_MAX_QUERY + 1, &q, &why), VG_ERR_INVALID,
	    "query over length cap");
	VT_OK(q == NULL, "nothing returned over cap");
	len = 0;
	for (i = 0; i < VG_HTTP_MAX_QUERY_PARAMS + 1; i++)
		len += (size_t)snprintf(big + len, sizeof big - len, "%sk=%zu", i ? "&" : "", i);
	VT_EQ_INT(vg_query_parse(big, len, &q, &why), VG_ERR_INVALID, "too many pairs");
	VT_OK(why && strstr(why, "too many"), "reason says too many");
	len = 0;
	for (i = 0; i < VG_HTTP_MAX_QUERY_PARAMS; i++)
		len += (size_t)snprintf(big + len, sizeof big - len, "%sk=%zu", i ? "&" : "", i);
	VT_EQ_INT(vg_query_parse(big, len, &q, &why), VG_OK, "pairs at cap");
	VT_EQ_INT(vg_query_len(q), VG_HTTP_MAX_QUERY_PARAMS, "all pairs kept");
	vg_query_free(q);

	/* the decoder itself */
	{
		char out[16];

		VT_EQ_INT(vg_http_pct_decode("a%41+", 5, true, out, &len), VG_OK, "decode");
		VT_EQ_STR(out, "aA ", "decoded with plus");
		VT_EQ_INT(vg_http_pct_decode("a%41+", 5, false, out, &len), VG_OK, "decode");
		VT_EQ_STR(out, "aA+", "decoded without plus");
		VT_EQ_INT(vg_http_pct_decode("%", 1, false, out, &len), VG_ERR_INVALID, "lone %");
	}
}

/* Queries through whole requests: 400 naming "query", integer params. */
static void
test_query_requests(void)
{
	static const struct {
		const char *uri, *qs;
		int status;
		const char *field, *want_body;
	} cases[] = {
		{"/v1/items?a=1&q=x+y&q=%7Ez", "a=1&q=x+y&q=%7Ez", 200, NULL,
		    "{\"pairs\":[[\"a\",\"1\"],[\"q\",\"x y\"],[\"q\",\"~z\"]],\"q_count\":2}"},
		{"/v1/items?a=%zz", "a=%zz", 400, "query", NULL},
		{"/v1/items?a=%ff", "a=%ff", 400, "query", NULL},
		{"/v1/items?a=%00", "a=%00", 400, "query", NULL},
		{"/v1/items?=x", "=x", 400, "query", NULL},
		/* QUERY_STRING missing: taken from REQUEST_URI */
		{"/v1/items?b=2", NULL, 200, NULL, "{\"pairs\":[[\"b\",\"2\"]],\"q_count\":0}"},
		{"/v1/limit?limit=50", "limit=50", 200, NULL, "{\"limit\":50}"},
		{"/v1/limit", "", 200, NULL, "{\"limit\":20}"},
		{"/v1/limit?limit=0", "limit=0", 400, "limit", NULL},
		{"/v1/limit?limit=abc", "limit=abc", 400, "limit", NULL},
		{"/v1/limit?limit=1e3", "limit=1e3", 400, "limit", NULL},
		/* a bad query does not hide a 404 */
		{"/nope?a=%zz", "a=%zz", 404, NULL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char qs[256];
		const char *extra[] = {qs, NULL};
		struct vg_http_mem *m;
		json_t *b;

		snprintf(qs, sizeof qs, "QUERY_STRING=%s", cases[i].qs ? cases[i].qs : "");
		m = request(&test_program, "GET", cases[i].uri, cases[i].qs ? extra : NULL,
		    NULL, 0, 0);
		b = body_json(m);
		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].uri);
		if (cases[i].field) {
			VT_EQ_STR(jstr(b, "error.code"), "validation_failed", cases[i].uri);
			VT_EQ_STR(jstr(b, "error.details.field"), cases[i].field, cases[i].uri);
		}
		if (cases[i].want_body)
			VT_EQ_STR(vg_http_mem_body(m, NULL), cases[i].want_body, cases[i].uri);
		json_decref(b);
		vg_http_mem_free(m);
	}
	{
		char uri[VG_HTTP_MAX_QUERY + 32], qs[VG_HTTP_MAX_QUERY + 32];
		const char *extra[] = {qs, NULL};
		struct vg_http_mem *m;
		size_t n;

		memcpy(uri, "/v1/items?a=", 12);
		n = 12;
		memset(uri + n, 'x', VG_HTTP_MAX_QUERY);
		uri[n + VG_HTTP_MAX_QUERY] = '\0';
		snprintf(qs, sizeof qs, "QUERY_STRING=%.*s", VG_HTTP_MAX_QUERY + 2, uri + 10);
		m = request(&test_program, "GET", uri, extra, NULL, 0, 0);
		VT_EQ_INT(vg_http_mem_status(m), 400, "overlong query is 400");
		vg_http_mem_free(m);
	}
}

/* ---- request bodies ---- */

static void
test_bodies(void)
{
	static const char big_doc_head[] = "{\"a\":\"";
	static const struct {
		const char *name, *ctype, *clen, *body;
		size_t chunk;
		int status;
		const char *code, *field, *want;
	} cases[] = {
		{"good", "application/json", "9", "{\"a\":[1]}", 0, 201, NULL, NULL,
		    "{\"got\":{\"a\":[1]}}"},
		{"good chunked reads", "application/json", "9", "{\"a\":[1]}", 1, 201, NULL, NULL,
		    "{\"got\":{\"a\":[1]}}"},
		{"charset", "application/json; charset=utf-8", "2", "{}", 0, 201, NULL, NULL, NULL},
		{"charset upper quoted", "Application/JSON;charset=\"UTF-8\"", "2", "[]", 0, 201,
		    NULL, NULL, NULL},
		{"no content length", "application/json", NULL, "{}", 0, 201, NULL, NULL, NULL},
		{"wrong type", "text/plain", "2", "{}", 0, 415, "unsupported_media_type",
		    "Content-Type", NULL},
		{"no type", NULL, "2", "{}", 0, 415, "unsupported_media_type", "Content-Type", NULL},
		{"other charset", "application/json; charset=latin1", "2", "{}", 0, 415,
		    "unsupported_media_type", NULL, NULL},
		{"json prefix only", "application/jsonx", "2", "{}", 0, 415,
		    "unsupported_media_type", NULL, NULL},
		{"declared over cap", "application/json", "2000", "{}", 0, 413,
		    "payload_too_large", "body", NULL},
		{"declared huge", "application/json", "99999999999999999", "{}", 0, 413,
		    "payload_too_large", "body", NULL},
		{"bad length", "application/json", "12x", "{}", 0, 400, "validation_failed",
		    "Content-Length", NULL},
		{"negative length", "application/json", "-1", "{}", 0, 400, "validation_failed",
		    "Content-Length", NULL},
		{"longer than declared", "application/json", "2", "{}   ", 0, 413,
		    "payload_too_large", "body", NULL},
		{"shorter than declared", "application/json", "10", "{}", 0, 400,
		    "validation_failed", "body", NULL},
		{"broken json", "application/json", "5", "{\"a\":", 0, 400, "invalid_json",
		    "body", NULL},
		{"trailing garbage", "application/json", "3", "{}x", 0, 400, "invalid_json",
		    "body", NULL},
		{"invalid utf-8", "application/json", "9", "{\"a\":\"\xff\"}", 0, 400,
		    "invalid_json", "body", NULL},
		{"escaped NUL", "application/json", "14", "{\"a\":\"\\u0000\"}", 0, 400,
		    "invalid_json", "body", NULL},
		{"empty body", "application/json", "0", "", 0, 400, "invalid_json", "body", NULL},
		{"empty undeclared", "application/json", NULL, "", 0, 400, "invalid_json", "body",
		    NULL},
		{"scalar", "application/json", "1", "1", 0, 400, "invalid_json", "body", NULL},
	};
	char msg[256];
	size_t i;

	/* the smallest cap the settings allow, to test it cheaply */
	setenv("VEGA_MAX_JSON_BODY_BYTES", "1024", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings with a 1 KiB cap");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char ct[128], cl[64];
		const char *extra[3] = {NULL};
		size_t n = 0;
		struct vg_http_mem *m;
		json_t *b;

		if (cases[i].ctype) {
			snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", cases[i].ctype);
			extra[n++] = ct;
		}
		if (cases[i].clen) {
			snprintf(cl, sizeof cl, "CONTENT_LENGTH=%s", cases[i].clen);
			extra[n++] = cl;
		}
		m = request(&test_program, "POST", "/v1/items", extra, cases[i].body,
		    strlen(cases[i].body), cases[i].chunk);
		b = body_json(m);
		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].name);
		if (cases[i].code)
			VT_EQ_STR(jstr(b, "error.code"), cases[i].code, cases[i].name);
		if (cases[i].field)
			VT_EQ_STR(jstr(b, "error.details.field"), cases[i].field, cases[i].name);
		if (cases[i].want)
			VT_EQ_STR(vg_http_mem_body(m, NULL), cases[i].want, cases[i].name);
		if (cases[i].status == 413 && cases[i].clen && strlen(cases[i].clen) > 3)
			VT_EQ_INT(vg_http_mem_consumed(m), 0, "413 before reading a byte");
		json_decref(b);
		vg_http_mem_free(m);
	}

	/* bodies around the cap, without a declared length */
	{
		static const struct { size_t len; int status; } sizes[] = {
			{1024, 201}, {1025, 413}, {50000, 413},
		};

		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			char *doc = malloc(sizes[i].len);
			const char *extra[] = {"CONTENT_TYPE=application/json", NULL};
			struct vg_http_mem *m;

			if (!doc)
				continue;
			memset(doc, 'x', sizes[i].len);
			memcpy(doc, big_doc_head, sizeof big_doc_head - 1);
			memcpy(doc + sizes[i].len - 2, "\"}", 2);
			m = request(&test_program, "POST", "/v1/items", extra, doc, sizes[i].len, 100);
			VT_EQ_INT(vg_http_mem_status(m), sizes[i].status, "undeclared body vs cap");
			VT_OK(vg_http_mem_consumed(m) <= 1025, "never read more than cap + 1");
			vg_http_mem_free(m);
			free(doc);
		}
	}
	unsetenv("VEGA_MAX_JSON_BODY_BYTES");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "default settings again");
}

static void
test_content_type(void)
{
	static const struct { const char *ct; int ok; } cases[] = {
		{"application/json", 1}, {" application/json ", 1}, {"APPLICATION/JSON", 1},
		{"application/json;charset=utf-8", 1}, {"application/json ; charset=UTF-8", 1},
		{"application/json; charset=\"utf-8\"", 1},
		{"application/json;", 0}, {"application/json; charset=utf-16", 0},
		{"application/json; boundary=x", 0}, {"application/json-patch+json", 0},
		{"text/json", 0}, {"", 0}, {"application/json; charset=utf-8x", 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		VT_EQ_INT(vg_http_content_type_is_json(cases[i].ct), cases[i].ok, cases[i].ct);
	VT_OK(!vg_http_content_type_is_json(NULL), "NULL type");
}

/* The streaming body reader: chunking, caps, declared lengths. */
static void
test_upload(void)
{
	static const struct {
		const char *name, *clen, *body;
		size_t chunk;
		int status;
		const char *want;
	} cases[] = {
		{"exact", "7", "abcdefg", 0, 200, "{\"bytes\":7,\"reads\":3,\"declared\":7}"},
		{"one byte per read", "7", "abcdefg", 1, 200,
		    "{\"bytes\":7,\"reads\":7,\"declared\":7}"},
		{"undeclared", NULL, "abcd", 0, 200, "{\"bytes\":4,\"reads\":2,\"declared\":-1}"},
		{"at cap", "10", "0123456789", 0, 200, "{\"bytes\":10,\"reads\":4,\"declared\":10}"},
		{"declared over cap", "11", "0123456789a", 0, 413, NULL},
		{"undeclared over cap", NULL, "0123456789a", 0, 413, NULL},
		{"longer than declared", "3", "abcdef", 0, 413, NULL},
		{"shorter than declared", "9", "abc", 0, 400, NULL},
		{"empty", "0", "", 0, 200, "{\"bytes\":0,\"reads\":0,\"declared\":0}"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char cl[64];
		const char *extra[] = {cl, NULL};
		struct vg_http_mem *m;

		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%s", cases[i].clen ? cases[i].clen : "");
		m = request(&test_program, "POST", "/v1/upload", extra, cases[i].body,
		    strlen(cases[i].body), cases[i].chunk);
		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].name);
		if (cases[i].want)
			VT_EQ_STR(vg_http_mem_body(m, NULL), cases[i].want, cases[i].name);
		VT_OK(vg_http_mem_consumed(m) <= 11, "reads stop at cap + 1");
		vg_http_mem_free(m);
	}
}

/* A transport whose body read fails after its first chunk: the web
 * server aborting a client's upload half way. */
struct failing_io {
	const struct vg_http_io *inner;
	int reads;
};

static const char *
failing_param(void *ctx, const char *name)
{
	struct failing_io *f = ctx;

	return f->inner->param(f->inner->ctx, name);
}

static ssize_t
failing_read(void *ctx, void *buf, size_t n)
{
	struct failing_io *f = ctx;

	if (f->reads++ > 0)
		return -1;
	return f->inner->read(f->inner->ctx, buf, n);
}

static int
failing_write(void *ctx, const void *buf, size_t n)
{
	struct failing_io *f = ctx;

	return f->inner->write(f->inner->ctx, buf, n);
}

static int
failing_flush(void *ctx)
{
	struct failing_io *f = ctx;

	return f->inner->flush ? f->inner->flush(f->inner->ctx) : 0;
}

/* A body read that fails is the client's body ending early: 400 with the
 * envelope naming the body, never a 500. */
static void
test_upload_aborted(void)
{
	const char *params[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/v1/upload",
	    "CONTENT_LENGTH=9", NULL};
	struct vg_http_mem *m = vg_http_mem_new(params, "abcdefghi", 9);
	struct failing_io f = {vg_http_mem_io(m), 0};
	struct vg_http_io io = {.ctx = &f, .param = failing_param, .read = failing_read,
	    .write = failing_write, .flush = failing_flush, .bounded = true};

	VT_EQ_INT(vg_http_handle(&test_program, &io), VG_OK, "aborted upload handled");
	VT_EQ_INT(vg_http_mem_status(m), 400, "aborted upload is 400");
	VT_OK(strstr(vg_http_mem_body(m, NULL), "\"field\":\"body\"") != NULL,
	    "the envelope names the body");
	vg_http_mem_free(m);
}

/* vg_http_finish ends the answer toward the web server while the handler
 * goes on; nothing written afterwards reaches the client. */
static void
test_finish_early(void)
{
	struct vg_http_mem *m = request(&test_program, "GET", "/v1/finish", NULL, NULL, 0, 0);
	size_t n;
	const char *body = vg_http_mem_body(m, &n);

	VT_EQ_INT(vg_http_mem_status(m), 200, "finished stream: 200");
	VT_OK(vg_http_mem_finished(m), "the transport was told the answer ended");
	VT_OK(n == 11 && memcmp(body, "data: all\n\n", 11) == 0, "the client has the answer");
	VT_OK(finish_late_write_refused, "a write after the end is refused");
	vg_http_mem_free(m);
	m = request(&test_program, "GET", "/v1/stream", NULL, NULL, 0, 0);
	VT_OK(!vg_http_mem_finished(m), "a handler that just returns is not ended early");
	vg_http_mem_free(m);
}

/* ---- responses and the envelope ---- */

static void
test_envelope(void)
{
	static const struct {
		const char *kind;
		int status;
		const char *body, *hname, *hvalue;
	} cases[] = {
		{"invalid", 400, "{\"schema_version\":1,\"error\":{\"code\":\"validation_failed\","
		    "\"message\":\"name is required\",\"retryable\":false,"
		    "\"details\":{\"field\":\"name\"}}}", NULL, NULL},
		{"json", 400, "{\"schema_version\":1,\"error\":{\"code\":\"invalid_json\","
		    "\"message\":\"request body is not valid JSON\",\"retryable\":false,"
		    "\"details\":{}}}", NULL, NULL},
		{"unauthorized", 401, "{\"schema_version\":1,\"error\":{\"code\":\"invalid_token\","
		    "\"message\":\"missing or invalid credentials\",\"retryable\":false,"
		    "\"details\":{}}}", "WWW-Authenticate", "Bearer"},
		{"forbidden", 403, "{\"schema_version\":1,\"error\":{\"code\":\"forbidden\","
		    "\"message\":\"not allowed\",\"retryable\":false,\"details\":{}}}", NULL, NULL},
		{"notfound", 404, "{\"schema_version\":1,\"error\":{\"code\":\"not_found\","
		    "\"message\":\"no such project\",\"retryable\":false,\"details\":{}}}", NULL, NULL},
		{"conflict", 409, "{\"schema_version\":1,\"error\":{\"code\":\"conflict\","
		    "\"message\":\"already exists\",\"retryable\":false,\"details\":{}}}", NULL, NULL},
		{"large", 413, "{\"schema_version\":1,\"error\":{\"code\":\"payload_too_large\","
		    "\"message\":\"payload too large\",\"retryable\":false,\"details\":{}}}",
		    NULL, NULL},
		{"media", 415, "{\"schema_version\":1,\"error\":{\"code\":\"unsupported_media_type\","
		    "\"message\":\"unsupported media type\",\"retryable\":false,\"details\":{}}}",
		    NULL, NULL},
		{"archive", 422, "{\"schema_version\":1,\"error\":{\"code\":\"invalid_archive\","
		    "\"message\":\"archive has a link\",\"retryable\":false,\"details\":{}}}",
		    NULL, NULL},
		{"quota", 429, "{\"schema_version\":1,\"error\":{\"code\":\"quota_exceeded\","
		    "\"message\":\"quota exceeded\",\"retryable\":false,\"details\":{}}}",
		    "Retry-After", "60"},
		{"rate", 429, "{\"schema_version\":1,\"error\":{\"code\":\"rate_limited\","
		    "\"message\":\"too many requests\",\"retryable\":true,\"details\":{}}}",
		    "Retry-After", "60"},
		{"unavailable", 503, "{\"schema_version\":1,\"error\":{\"code\":\"unavailable\","
		    "\"message\":\"service temporarily unavailable\",\"retryable\":true,"
		    "\"details\":{}}}", "Retry-After", "5"},
		{"internal", 500, "{\"schema_version\":1,\"error\":{\"code\":\"internal\","
		    "\"message\":\"internal error\",\"retryable\":false,\"details\":{}}}",
		    NULL, NULL},
		{"nomem", 500, "{\"schema_version\":1,\"error\":{\"code\":\"internal\","
		    "\"message\":\"internal error\",\"retryable\":true,\"details\":{}}}", NULL, NULL},
		{"io", 500, "{\"schema_version\":1,\"error\":{\"code\":\"internal\","
		    "\"message\":\"internal error\",\"retryable\":false,\"details\":{}}}", NULL, NULL},
	};
	size_t i;

	log_capture();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char uri[64];
		struct vg_http_mem *m;

		snprintf(uri, sizeof uri, "/v1/fail/%s", cases[i].kind);
		m = request(&test_program, "GET", uri, NULL, NULL, 0, 0);
		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].kind);
		VT_EQ_STR(vg_http_mem_body(m, NULL), cases[i].body, cases[i].kind);
		VT_EQ_STR(vg_http_mem_header(m, "Content-Type"), "application/json", cases[i].kind);
		VT_EQ_STR(vg_http_mem_header(m, "Cache-Control"), "no-store", cases[i].kind);
		VT_EQ_STR(vg_http_mem_header(m, "X-Content-Type-Options"), "nosniff",
		    cases[i].kind);
		VT_OK(vg_http_request_id_valid(vg_http_mem_header(m, "X-Request-Id")),
		    cases[i].kind);
		if (cases[i].hname)
			VT_EQ_STR(vg_http_mem_header(m, cases[i].hname), cases[i].hvalue,
			    cases[i].kind);
		else
			VT_OK(!vg_http_mem_header(m, "Retry-After") &&
			    !vg_http_mem_header(m, "WWW-Authenticate"), cases[i].kind);
		vg_http_mem_free(m);
	}
	fflush(log_fp);
	VT_OK(strstr(logbuf, "hunter2") != NULL, "the 500's cause is logged");
	VT_OK(strstr(logbuf, "\"internal_error\"") != NULL, "as an internal_error line");
	log_capture();

	{
		struct vg_http_mem *m = request(&test_program, "GET", "/v1/details", NULL, NULL, 0, 0);

		VT_EQ_INT(vg_http_mem_status(m), 429, "handler-sent error");
		VT_EQ_STR(vg_http_mem_body(m, NULL), "{\"schema_version\":1,\"error\":{\"code\":"
		    "\"rate_limited\",\"message\":\"slow down\",\"retryable\":true,"
		    "\"details\":{\"limit\":5}}}", "details are kept");
		VT_EQ_STR(vg_http_mem_header(m, "Retry-After"), "7", "Retry-After as set");
		vg_http_mem_free(m);
	}
	{
		struct vg_http_mem *m = request(&test_program, "GET", "/v1/noanswer", NULL, NULL, 0, 0);

		VT_EQ_INT(vg_http_mem_status(m), 500, "handler without an answer is a 500");
		vg_http_mem_free(m);
	}
	{
		struct vg_http_mem *m = request(&test_program, "GET", "/v1/twice", NULL, NULL, 0, 0);
		size_t out_len = 0;
		const char *out = vg_http_mem_output(m, &out_len);

		VT_EQ_INT(vg_http_mem_status(m), 200, "second answer refused");
		VT_OK(strstr(out + 1, "Status:") == NULL, "only one status line");
		vg_http_mem_free(m);
	}
	{
		struct vg_http_mem *m = request(&test_program, "GET", "/v1/header", NULL, NULL, 0, 0);

		VT_EQ_STR(vg_http_mem_body(m, NULL), "{\"bad1\":true,\"bad2\":true,\"good\":true}",
		    "header injection refused");
		VT_EQ_STR(vg_http_mem_header(m, "ETag"), "\"abc\"", "good header sent");
		VT_OK(vg_http_mem_header(m, "Set-Cookie") == NULL, "no injected header");
		VT_EQ_STR(vg_http_mem_header(m, "Cache-Control"), "private, no-cache",
		    "the handler's Cache-Control");
		VT_OK(strstr(vg_http_mem_output(m, NULL), "no-store") == NULL,
		    "in place of the default, not beside it");
		vg_http_mem_free(m);
	}
	{
		struct vg_http_mem *m = request(&test_program, "GET", "/v1/stream", NULL, NULL, 0, 0);

		VT_EQ_INT(vg_http_mem_status(m), 200, "stream status");
		VT_EQ_STR(vg_http_mem_header(m, "Content-Type"), "text/event-stream", "stream type");
		VT_EQ_STR(vg_http_mem_header(m, "X-Accel-Buffering"), "no", "stream not buffered");
		VT_OK(vg_http_mem_header(m, "Content-Length") == NULL, "stream has no length");
		VT_EQ_STR(vg_http_mem_body(m, NULL), "data: one\n\ndata: two\n\n", "stream body");
		vg_http_mem_free(m);
	}
	{
		struct vg_http_mem *m = request(&test_program, "HEAD", "/v1/stream", NULL, NULL, 0, 0);
		size_t n = 1;

		vg_http_mem_body(m, &n);
		VT_EQ_INT(n, 0, "HEAD stream has no body");
		vg_http_mem_free(m);
	}
}

/* ---- request ids and the access log ---- */

static void
test_request_ids(void)
{
	static const struct { const char *given; int kept; } cases[] = {
		{"abc-123", 1}, {"a.b_c:d-E", 1}, {"0", 1},
		{"", 0}, {"has space", 0}, {"semi;colon", 0}, {"quote\"", 0},
		{"caf\xc3\xa9", 0}, {"a/b", 0},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy", 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char h[256];
		const char *extra[] = {h, NULL};
		struct vg_http_mem *m;
		const char *got;
		char want_log[300];

		snprintf(h, sizeof h, "HTTP_X_REQUEST_ID=%s", cases[i].given);
		log_capture();
		m = request(&test_program, "GET", "/v1/items/x", extra, NULL, 0, 0);
		got = vg_http_mem_header(m, "X-Request-Id");
		VT_EQ_INT(vg_http_request_id_valid(cases[i].given), cases[i].kept, cases[i].given);
		if (cases[i].kept) {
			VT_EQ_STR(got, cases[i].given, "accepted id echoed");
		} else {
			VT_OK(got && vg_uuid_valid(got), "refused id replaced by a UUID");
		}
		fflush(log_fp);
		snprintf(want_log, sizeof want_log, "\"request_id\":\"%s\"", got ? got : "?");
		VT_OK(strstr(logbuf, want_log) != NULL, "the log line carries the id");
		vg_http_mem_free(m);
		log_capture();
	}
	{
		struct vg_http_mem *a = request(&test_program, "GET", "/", NULL, NULL, 0, 0);
		struct vg_http_mem *b = request(&test_program, "GET", "/", NULL, NULL, 0, 0);
		const char *ia = vg_http_mem_header(a, "X-Request-Id");
		char first[VG_UUID_LEN + 1] = "";

		if (ia)
			snprintf(first, sizeof first, "%s", ia);
		VT_OK(vg_uuid_valid(first), "generated id is a UUID");
		VT_OK(strcmp(first, vg_http_mem_header(b, "X-Request-Id")) != 0,
		    "each request gets its own id");
		vg_http_mem_free(a);
		vg_http_mem_free(b);
	}
}

static void
test_access_log(void)
{
	const char *extra[] = {
		"HTTP_AUTHORIZATION=Bearer sekrit-token", "QUERY_STRING=api_key=qsecret&x=1",
		"REMOTE_ADDR=192.0.2.7", "HTTP_X_CUSTOM_THING=hello", NULL,
	};
	struct vg_http_mem *m;
	json_t *line, *b;

	log_capture();
	m = request(&test_program, "GET", "/v1/meta?api_key=qsecret&x=1", extra, NULL, 0, 0);
	fflush(log_fp);
	VT_EQ_INT(vg_http_mem_status(m), 200, "meta answers");
	b = body_json(m);
	VT_EQ_STR(jstr(b, "client"), "192.0.2.7", "client address");
	VT_EQ_STR(jstr(b, "custom"), "hello", "header by HTTP name");
	VT_OK(json_is_true(json_object_get(b, "has_auth")), "Authorization readable by handlers");
	json_decref(b);
	line = json_loads(logbuf, JSON_DISABLE_EOF_CHECK, NULL);
	VT_EQ_STR(jstr(line, "event"), "request", "one access line");
	VT_EQ_STR(jstr(line, "method"), "GET", "access line method");
	VT_EQ_STR(jstr(line, "path"), "/v1/meta", "access line path, no query");
	VT_EQ_STR(jstr(line, "status"), "200", "access line status");
	VT_OK(jstr(line, "duration_us") != NULL, "access line duration");
	VT_OK(strstr(logbuf, "qsecret") == NULL, "query values never logged");
	VT_OK(strstr(logbuf, "sekrit") == NULL, "Authorization never logged");
	VT_OK(strchr(logbuf, '\n') == logbuf + loglen - 1, "exactly one line per request");
	json_decref(line);
	vg_http_mem_free(m);
	log_capture();
}

/* ---- authentication ---- */

static void
test_auth(void)
{
	static const struct {
		const struct vg_program *p;
		const char *uri, *token;
		int status;
		const char *who;
	} cases[] = {
		{&test_program, "/v1/secure", NULL, 401, NULL},
		{&test_program, "/v1/secure", "HTTP_AUTHORIZATION=Bearer user", 401, NULL},
		{&test_program, "/v1/ops/thing", "HTTP_AUTHORIZATION=Bearer op", 401, NULL},
		{&auth_program, "/v1/secure", NULL, 401, NULL},
		{&auth_program, "/v1/secure", "HTTP_AUTHORIZATION=Bearer nobody", 401, NULL},
		{&auth_program, "/v1/secure", "HTTP_AUTHORIZATION=Bearer user", 200, "user"},
		{&auth_program, "/v1/ops/thing", "HTTP_AUTHORIZATION=Bearer user", 403, NULL},
		{&auth_program, "/v1/ops/thing", "HTTP_AUTHORIZATION=Bearer op", 200, "op"},
		{&auth_program, "/v1/items/x", NULL, 200, NULL},
		/* credentials are checked before the query: 401, not 400 */
		{&auth_program, "/v1/secure?a=%zz", NULL, 401, NULL},
		{&auth_program, "/v1/secure?a=%zz", "HTTP_AUTHORIZATION=Bearer user", 400, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *extra[] = {cases[i].token, NULL};
		struct vg_http_mem *m = request(cases[i].p, "GET", cases[i].uri, extra, NULL, 0, 0);
		json_t *b = body_json(m);

		VT_EQ_INT(vg_http_mem_status(m), cases[i].status, cases[i].uri);
		if (cases[i].status == 401) {
			VT_EQ_STR(vg_http_mem_header(m, "WWW-Authenticate"), "Bearer", cases[i].uri);
			VT_EQ_STR(jstr(b, "error.code"), "invalid_token", cases[i].uri);
		}
		if (cases[i].status == 403)
			VT_EQ_STR(jstr(b, "error.code"), "forbidden", cases[i].uri);
		if (cases[i].who)
			VT_EQ_STR(jstr(b, "who"), cases[i].who, cases[i].uri);
		json_decref(b);
		vg_http_mem_free(m);
	}
}

/* ---- health routes ---- */

static void
test_health(void)
{
	char dir[] = "/tmp/vega-test-http.XXXXXX", msg[256];
	struct vg_http_mem *m;
	json_t *b;

	VT_OK(mkdtemp(dir) != NULL, "temp data dir");
	setenv("VEGA_DATA_DIR", dir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "json settings");
	vg_http_health_reset();

	m = request(&test_program, "GET", "/v1/healthz", NULL, NULL, 0, 0);
	VT_EQ_INT(vg_http_mem_status(m), 200, "healthz");
	VT_EQ_STR(vg_http_mem_body(m, NULL), "{\"status\":\"ok\",\"version\":\"" PACKAGE_VERSION
	    "\",\"role\":\"test\",\"persistence_backend\":\"json\"}", "healthz body");
	vg_http_mem_free(m);

	m = request(&test_program, "GET", "/v1/readyz", NULL, NULL, 0, 0);
	b = body_json(m);
	VT_EQ_INT(vg_http_mem_status(m), 200, "readyz with the json store");
	VT_EQ_STR(jstr(b, "status"), "ready", "readyz status");
	VT_EQ_STR(jstr(b, "checks.store"), "ok", "store check");
	VT_EQ_STR(jstr(b, "checks.migrations"), "ok", "migrations check");
	json_decref(b);
	vg_http_mem_free(m);

	/* a database that is not there: 503 naming the store */
	setenv("VEGA_PERSISTENCE_BACKEND", "postgres", 1);
	setenv("VEGA_DATABASE_URL", "postgresql:///nodb?host=/nonexistent-vega-socket-dir", 1);
	setenv("VEGA_DB_CONNECT_TIMEOUT_SECONDS", "1", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "postgres settings");
	vg_http_health_reset();
	log_capture();
	m = request(&test_program, "GET", "/v1/readyz", NULL, NULL, 0, 0);
	b = body_json(m);
	VT_EQ_INT(vg_http_mem_status(m), 503, "readyz without a database");
	VT_EQ_STR(jstr(b, "error.code"), "unavailable", "503 code");
	VT_EQ_STR(jstr(b, "error.details.check"), "store", "failing check named");
	VT_EQ_STR(jstr(b, "error.details.checks.store"), "unavailable", "store check state");
	VT_EQ_STR(jstr(b, "error.details.checks.migrations"), "skipped", "migrations skipped");
	VT_OK(json_is_true(json_object_get(json_object_get(b, "error"), "retryable")),
	    "503 is retryable");
	VT_EQ_STR(vg_http_mem_header(m, "Retry-After"), "5", "503 has Retry-After");
	json_decref(b);
	vg_http_mem_free(m);
	m = request(&test_program, "GET", "/v1/healthz", NULL, NULL, 0, 0);
	VT_EQ_INT(vg_http_mem_status(m), 200, "healthz does not need the store");
	vg_http_mem_free(m);
	log_capture();

	unsetenv("VEGA_PERSISTENCE_BACKEND");
	unsetenv("VEGA_DATABASE_URL");
	unsetenv("VEGA_DB_CONNECT_TIMEOUT_SECONDS");
	vg_http_health_reset();
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "settings restored");
	{
		char cmd[256];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		VT_EQ_INT(system(cmd), 0, "temp dir removed");
	}
}

/* ---- the FastCGI transport, spoken to by a tiny client ---- */

enum { FCGI_BEGIN = 1, FCGI_END = 3, FCGI_PARAMS = 4, FCGI_STDIN = 5, FCGI_STDOUT = 6 };

/* Append one record (request id 1, no padding). */
static void
fcgi_record(struct vg_buf *b, int type, const void *p, size_t n)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1,
		(unsigned char)(n >> 8), (unsigned char)n, 0, 0};

	vg_buf_append(b, h, sizeof h);
	vg_buf_append(b, p, n);
}

static void
fcgi_len(struct vg_buf *b, size_t n)
{
	unsigned char l[4] = {(unsigned char)((n >> 24) | 0x80), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n};

	if (n < 128)
		vg_buf_append_char(b, (char)n);
	else
		vg_buf_append(b, l, 4);
}

/*
 * One request over a fresh connection to the socket at path: params
 * ("NAME=value", NULL-ended), then stdin data (n bytes).  The response's
 * stdout goes to out (NUL-terminated).  Returns 0, or -1 on a protocol
 * or connection failure.
 */
static int
fcgi_request(const char *path, const char *const *params, const char *data, size_t n,
    char *out, size_t outsz)
{
	static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};   /* responder */
	struct sockaddr_un sa;
	struct vg_buf req, pairs;
	size_t i, on = 0;
	int fd, rc = -1, ended = 0;

	vg_buf_init(&req, 1 << 24);
	vg_buf_init(&pairs, 1 << 16);
	fcgi_record(&req, FCGI_BEGIN, begin, sizeof begin);
	for (i = 0; params[i]; i++) {
		const char *eq = strchr(params[i], '=');

		fcgi_len(&pairs, (size_t)(eq - params[i]));
		fcgi_len(&pairs, strlen(eq + 1));
		vg_buf_append(&pairs, params[i], (size_t)(eq - params[i]));
		vg_buf_append_str(&pairs, eq + 1);
	}
	fcgi_record(&req, FCGI_PARAMS, pairs.data, pairs.len);
	fcgi_record(&req, FCGI_PARAMS, NULL, 0);
	for (i = 0; i < n; i += 60000)
		fcgi_record(&req, FCGI_STDIN, data + i, n - i < 60000 ? n - i : 60000);
	fcgi_record(&req, FCGI_STDIN, NULL, 0);

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		goto out;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    write(fd, req.data, req.len) != (ssize_t)req.len)
		goto out_close;
	while (!ended) {
		unsigned char h[8], body[65536 + 256];
		size_t len, got = 0;

		for (got = 0; got < 8; ) {
			ssize_t r = read(fd, h + got, 8 - got);

			if (r <= 0)
				goto out_close;
			got += (size_t)r;
		}
		len = ((size_t)h[4] << 8 | h[5]) + h[6];
		for (got = 0; got < len; ) {
			ssize_t r = read(fd, body + got, len - got);

			if (r <= 0)
				goto out_close;
			got += (size_t)r;
		}
		len -= h[6];
		if (h[1] == FCGI_STDOUT && on + 1 < outsz) {
			/* what fits: the answers checked begin with what matters */
			if (len > outsz - 1 - on)
				len = outsz - 1 - on;
			memcpy(out + on, body, len);
			on += len;
		}
		ended = h[1] == FCGI_END;
	}
	rc = 0;
out_close:
	close(fd);
out:
	out[on] = '\0';
	vg_buf_free(&req);
	vg_buf_free(&pairs);
	return rc;
}

/* Wait up to ms for pid; its wait status, or -1 when it is still running. */
static int
wait_for(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

/*
 * Serve the test program over real FastCGI: a child process with the
 * listening socket on fd 0 runs vg_http_serve, exactly as spawn-fcgi
 * starts a program.  Several requests reach the same process.
 */
static void
test_fastcgi(void)
{
	static const struct {
		const char *name, *method, *uri, *ctype, *clen, *body;
		int status;
		const char *want;
	} cases[] = {
		{"healthz", "GET", "/v1/healthz", NULL, NULL, "", 200,
		    "\"role\":\"test\""},
		{"captures", "GET", "/v1/projects/p/members/u", NULL, NULL, "", 200,
		    "\"user_id\":\"u\""},
		{"json body", "POST", "/v1/items", "application/json", "7", "{\"a\":1}", 201,
		    "{\"got\":{\"a\":1}}"},
		{"big json body", "POST", "/v1/items", "application/json", NULL, NULL, 201,
		    "{\"got\":{\"k\":\""},
		{"body longer than declared", "POST", "/v1/items", "application/json", "2",
		    "{}  ", 413, "\"payload_too_large\""},
		{"body shorter than declared", "POST", "/v1/items", "application/json", "20",
		    "{}", 400, "\"field\":\"body\""},
		{"declared over cap", "POST", "/v1/items", "application/json", "99999999", "{}",
		    413, "\"payload_too_large\""},
		{"unread body", "POST", "/v1/healthz", "application/json", "2", "{}", 405,
		    "method_not_allowed"},
		{"upload", "POST", "/v1/upload", NULL, "5", "hello", 200, "\"bytes\":5"},
		{"stream", "GET", "/v1/stream", NULL, NULL, "", 200, "data: one\n\ndata: two\n\n"},
		{"query", "GET", "/v1/items?q=a&q=b", NULL, NULL, "", 200, "\"q_count\":2"},
		{"bad path", "GET", "/v1/items/%2F", NULL, NULL, "", 400, "\"field\":\"path\""},
	};
	char dir[] = "/tmp/vega-test-fcgi.XXXXXX", sock[64], first_id[64] = "";
	struct sockaddr_un sa;
	char *big = NULL;
	size_t i, big_len = 200000;
	int lfd = -1, status;
	pid_t pid;

	VT_OK(mkdtemp(dir) != NULL, "temp dir for the socket");
	snprintf(sock, sizeof sock, "%s/s", dir);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	VT_OK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    listen(lfd, 16) == 0, "listening socket");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(lfd, 0);
		close(lfd);
		dup2(nul, 1);   /* the TAP stream is the parent's */
		dup2(nul, 2);
		log_release();
		setenv("VEGA_MAX_JSON_BODY_BYTES", "1048576", 1);
		_exit(vg_http_serve(&test_program));
	}
	close(lfd);

	/* a JSON body of 200000 bytes: several FastCGI records */
	if ((big = malloc(big_len)) != NULL) {
		memset(big, 'x', big_len);
		memcpy(big, "{\"k\":\"", 6);
		memcpy(big + big_len - 2, "\"}", 2);
	}
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		static char out[1 << 20];
		char m[64], u[256], qs[256], ct[128], cl[64], cl_big[64];
		const char *params[8];
		size_t n = 0;
		const char *body = cases[i].body ? cases[i].body : big;
		size_t body_len = cases[i].body ? strlen(cases[i].body) : big_len;
		char status_line[32];

		snprintf(m, sizeof m, "REQUEST_METHOD=%s", cases[i].method);
		snprintf(u, sizeof u, "REQUEST_URI=%s", cases[i].uri);
		params[n++] = m;
		params[n++] = u;
		snprintf(qs, sizeof qs, "QUERY_STRING=%s",
		    strchr(cases[i].uri, '?') ? strchr(cases[i].uri, '?') + 1 : "");
		params[n++] = qs;
		if (cases[i].ctype) {
			snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", cases[i].ctype);
			params[n++] = ct;
		}
		if (cases[i].clen) {
			snprintf(cl, sizeof cl, "CONTENT_LENGTH=%s", cases[i].clen);
			params[n++] = cl;
		} else if (!cases[i].body) {
			snprintf(cl_big, sizeof cl_big, "CONTENT_LENGTH=%zu", big_len);
			params[n++] = cl_big;
		}
		params[n] = NULL;
		VT_EQ_INT(fcgi_request(sock, params, body, body ? body_len : 0, out, sizeof out), 0,
		    cases[i].name);
		snprintf(status_line, sizeof status_line, "Status: %d ", cases[i].status);
		VT_OK(strncmp(out, status_line, strlen(status_line)) == 0, cases[i].name);
		VT_OK(strstr(out, cases[i].want) != NULL, cases[i].name);
		if (!cases[i].body) {
			/* the echo of the big body, whole and in order (records
			 * of the largest size go out straight) */
			const char *b = strstr(out, "\r\n\r\n");
			size_t xs = b ? strspn(b + 4 + 13, "x") : 0;

			VT_EQ_INT(xs, big_len - 8, "the big answer arrives whole");
			VT_OK(b && strcmp(b + 4 + 13 + xs, "\"}}") == 0, "and ends as it should");
		}
		if (i == 0) {
			const char *id = strstr(out, "X-Request-Id: ");

			if (id)
				snprintf(first_id, sizeof first_id, "%.36s", id + 14);
		} else {
			VT_OK(first_id[0] && !strstr(out, first_id), "a new request id per request");
		}
	}
	free(big);
	/* SIGTERM while idle: the process leaves at once, with status 0 */
	kill(pid, SIGTERM);
	status = wait_for(pid, 5000);
	VT_OK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "SIGTERM ends the FastCGI process cleanly");
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	unlink(sock);
	rmdir(dir);
}

/* ---- the cgi/ programs as plain CGI ---- */

/*
 * Run program with exactly envp, stdin from /dev/null; collect stdout
 * (into out, NUL-terminated) and stderr (into err).  Returns the exit
 * status, or -1.
 */
static int
run_cgi(const char *program, char *const envp[], char *out, size_t outsz, char *err,
    size_t errsz)
{
	int po[2], pe[2], status = -1;
	pid_t pid;
	size_t on = 0, en = 0;

	if (pipe(po) != 0)
		return -1;
	if (pipe(pe) != 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		char *argv[] = {(char *)program, NULL};

		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execve(program, argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (;;) {
		ssize_t r = read(po[0], out + on, outsz - 1 - on);

		if (r <= 0)
			break;
		on += (size_t)r;
	}
	for (;;) {
		ssize_t r = read(pe[0], err + en, errsz - 1 - en);

		if (r <= 0)
			break;
		en += (size_t)r;
	}
	out[on] = '\0';
	err[en] = '\0';
	close(po[0]);
	close(pe[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_cgi_programs(void)
{
	static const struct { const char *file, *role; } progs[] = {
		{"vega-auth.fcgi", "auth"}, {"vega-projects.fcgi", "projects"},
		{"vega-scans.fcgi", "scans"}, {"vega-ops.fcgi", "ops"},
		{"vega-llm-proxy.fcgi", "llm-proxy"},
	};
	static const struct {
		const char *name, *method, *uri, *script, *info;
		const char *status_line, *body_part, *header;
	} reqs[] = {
		{"healthz", "GET", "/v1/healthz", "/v1/healthz", NULL,
		    "Status: 200 OK\r\n", "\"status\":\"ok\"", "Cache-Control: no-store\r\n"},
		{"readyz", "GET", "/v1/readyz", "/v1/readyz", NULL,
		    "Status: 200 OK\r\n", "\"status\":\"ready\"", "X-Content-Type-Options: nosniff\r\n"},
		{"unknown", "GET", "/v1/nope", "/v1/nope", NULL,
		    "Status: 404 Not Found\r\n", "\"code\":\"not_found\"", "Content-Type: application/json\r\n"},
		{"method", "DELETE", "/v1/healthz", "/v1/healthz", NULL,
		    "Status: 405 Method Not Allowed\r\n", "\"code\":\"method_not_allowed\"",
		    "Allow: GET, HEAD\r\n"},
		{"apache split", "GET", "/v1/healthz", "/v1", "/healthz",
		    "Status: 200 OK\r\n", "\"status\":\"ok\"", "X-Request-Id: rid-7\r\n"},
		{"encoded slash", "GET", "/v1%2Fhealthz", "/v1/healthz", NULL,
		    "Status: 400 Bad Request\r\n", "\"field\":\"path\"", NULL},
	};
	char dir[] = "/tmp/vega-test-cgi.XXXXXX";
	size_t i, j;

	VT_OK(mkdtemp(dir) != NULL, "temp data dir for the programs");
	for (i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		char path[1024];

		snprintf(path, sizeof path, "%s/cgi/%s", VG_TEST_BUILDDIR, progs[i].file);
		for (j = 0; j < sizeof reqs / sizeof reqs[0]; j++) {
			char e_method[64], e_uri[256], e_script[256], e_info[256], e_data[256];
			char *envp[14], out[16384], err[16384], name[128], want_role[64];
			size_t n = 0;
			int rc;

			snprintf(e_method, sizeof e_method, "REQUEST_METHOD=%s", reqs[j].method);
			snprintf(e_uri, sizeof e_uri, "REQUEST_URI=%s", reqs[j].uri);
			snprintf(e_script, sizeof e_script, "SCRIPT_NAME=%s", reqs[j].script);
			snprintf(e_info, sizeof e_info, "PATH_INFO=%s",
			    reqs[j].info ? reqs[j].info : "");
			snprintf(e_data, sizeof e_data, "VEGA_DATA_DIR=%s", dir);
			envp[n++] = e_method;
			envp[n++] = e_uri;
			envp[n++] = e_script;
			envp[n++] = e_info;
			envp[n++] = e_data;
			envp[n++] = (char *)"GATEWAY_INTERFACE=CGI/1.1";
			envp[n++] = (char *)"SERVER_PROTOCOL=HTTP/1.1";
			envp[n++] = (char *)"QUERY_STRING=";
			envp[n++] = (char *)"HTTP_X_REQUEST_ID=rid-7";
			envp[n++] = (char *)"VEGA_PERSISTENCE_BACKEND=json";
			envp[n++] = (char *)"VEGA_AUTH_SECRET=test-secret-test-secret-test-secret!";
			envp[n] = NULL;
			snprintf(name, sizeof name, "%s %s", progs[i].file, reqs[j].name);
			rc = run_cgi(path, envp, out, sizeof out, err, sizeof err);
			VT_EQ_INT(rc, 0, name);
			VT_OK(strncmp(out, reqs[j].status_line, strlen(reqs[j].status_line)) == 0, name);
			VT_OK(strstr(out, reqs[j].body_part) != NULL, name);
			if (reqs[j].header)
				VT_OK(strstr(out, reqs[j].header) != NULL, name);
			VT_OK(strstr(out, "\r\n\r\n{") != NULL, name);
			VT_OK(strstr(err, "\"event\":\"request\"") != NULL &&
			    strstr(err, "\"request_id\":\"rid-7\"") != NULL, name);
			if (strcmp(reqs[j].name, "healthz") == 0) {
				snprintf(want_role, sizeof want_role, "\"role\":\"%s\"", progs[i].role);
				VT_OK(strstr(out, want_role) != NULL, name);
			}
		}
	}
	{
		char *envp[] = {(char *)"REQUEST_METHOD=GET", (char *)"REQUEST_URI=/v1/healthz",
			(char *)"VEGA_LOG_LEVEL=loud", NULL};
		char out[4096], err[4096], path[1024];

		snprintf(path, sizeof path, "%s/cgi/vega-ops.fcgi", VG_TEST_BUILDDIR);
		VT_EQ_INT(run_cgi(path, envp, out, sizeof out, err, sizeof err), 2,
		    "invalid settings exit 2");
		VT_OK(strstr(err, "VEGA_LOG_LEVEL") != NULL, "and name the setting");
	}
	/* The API programs refuse to start without the access-token key of
	 * the built-in accounts, or with a short one, and say which setting;
	 * the LLM proxy never holds it. */
	for (i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		char *none[] = {(char *)"REQUEST_METHOD=GET", (char *)"REQUEST_URI=/v1/healthz",
			(char *)"GATEWAY_INTERFACE=CGI/1.1", (char *)"VEGA_PERSISTENCE_BACKEND=json",
			NULL, NULL};
		char out[4096], err[4096], path[1024], data[300], name[128];
		bool proxy = strcmp(progs[i].role, "llm-proxy") == 0;
		int rc;

		snprintf(data, sizeof data, "VEGA_DATA_DIR=%s", dir);
		none[4] = data;
		snprintf(path, sizeof path, "%s/cgi/%s", VG_TEST_BUILDDIR, progs[i].file);
		rc = run_cgi(path, none, out, sizeof out, err, sizeof err);
		snprintf(name, sizeof name, "%s without VEGA_AUTH_SECRET", progs[i].file);
		VT_EQ_INT(rc, proxy ? 0 : 2, name);
		VT_OK(proxy ? strstr(out, "\"status\":\"ok\"") != NULL
		    : strstr(err, "VEGA_AUTH_SECRET") != NULL && strstr(out, "\"status\"") == NULL,
		    name);
	}
	{
		char *shortkey[] = {(char *)"REQUEST_METHOD=GET", (char *)"REQUEST_URI=/v1/healthz",
			(char *)"GATEWAY_INTERFACE=CGI/1.1", (char *)"VEGA_AUTH_SECRET=too-short", NULL};
		char out[4096], err[4096], path[1024];

		snprintf(path, sizeof path, "%s/cgi/vega-auth.fcgi", VG_TEST_BUILDDIR);
		VT_EQ_INT(run_cgi(path, shortkey, out, sizeof out, err, sizeof err), 2,
		    "a VEGA_AUTH_SECRET under 32 bytes is refused");
		VT_OK(strstr(err, "VEGA_AUTH_SECRET") != NULL, "naming it");
	}
	{
		char cmd[256];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		VT_EQ_INT(system(cmd), 0, "temp dir removed");
	}
}

int
main(void)
{
	char msg[256];

	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		return 1;
	}
	vg_log_init("test");
	log_capture();   /* keep request lines out of the TAP stream */
	test_router();
	test_head();
	test_paths();
	test_query_parse();
	test_query_requests();
	test_bodies();
	test_content_type();
	test_upload();
	test_upload_aborted();
	test_finish_early();
	test_envelope();
	test_request_ids();
	test_access_log();
	test_auth();
	test_health();
	test_fastcgi();
	test_cgi_programs();
	vg_http_health_reset();
	log_release();
	return vt_done();
}
