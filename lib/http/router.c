/* router.c - route matching and the life of one request. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/timeutil.h"
#include "http/http_int.h"

/*
 * Match req's path against pattern, segment by segment.  A "{name}"
 * segment captures one non-empty path segment; because the decoded path
 * never holds an encoded '/', a capture can never span two segments.
 * A last segment "{name*}" captures the rest of the path, one or more
 * segments with their slashes (pointing into req->path).
 * On a match req->caps holds the captures (pointing into req->segs).
 */
bool
vg_http_route_match(struct vg_http_req *req, const char *pattern)
{
	const char *p = pattern, *s = req->path;

	req->ncaps = 0;
	for (;;) {
		const char *pe, *se;
		size_t plen, slen;

		if (!*p || !*s)
			break;
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		pe = p + strcspn(p, "/");
		se = s + strcspn(s, "/");
		plen = (size_t)(pe - p);
		slen = (size_t)(se - s);
		if (plen >= 4 && *pe == '\0' && p[0] == '{' && memcmp(pe - 2, "*}", 2) == 0) {
			struct vg_http_capture *c;

			/* "{name*}" last: the rest of the path, slashes included
			 * (a file's path inside a snapshot). */
			if (slen == 0 || req->ncaps == VG_HTTP_MAX_CAPTURES)
				return false;
			c = &req->caps[req->ncaps++];
			c->name = p + 1;
			c->name_len = plen - 3;
			c->value = s;
			return true;
		}
		if (plen >= 3 && p[0] == '{' && p[plen - 1] == '}') {
			struct vg_http_capture *c;

			if (slen == 0 || req->ncaps == VG_HTTP_MAX_CAPTURES)
				return false;
			c = &req->caps[req->ncaps++];
			c->name = p + 1;
			c->name_len = plen - 2;
			c->value = req->segs + (s - req->path);
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return false;
		}
		p = pe;
		s = se;
	}
	return !*p && !*s;
}

/* Append method to the Allow list unless it is there already. */
static void
allow_add(char *allow, size_t size, const char *method)
{
	size_t n = strlen(method), len = strlen(allow);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return;
		p += n;
	}
	if (len + n + 3 > size)
		return;
	snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

/*
 * Find the route for req: the first whose pattern and method match, else
 * for HEAD the first GET of a matching pattern.  When a pattern matched
 * but no method did, *allow lists the methods it has (HEAD with GET).
 * Returns the route with req's captures set, or NULL.
 */
static const struct vg_route *
find_route(struct vg_http_req *req, bool *path_known)
{
	const struct vg_program *p = req->program;
	const struct vg_route *found = NULL;
	size_t i;

	*path_known = false;
	req->allow[0] = '\0';
	for (i = 0; i < p->nroutes && !found; i++)
		if (vg_http_route_match(req, p->routes[i].pattern)) {
			*path_known = true;
			if (strcmp(p->routes[i].method, req->method) == 0)
				found = &p->routes[i];
		}
	for (i = 0; i < p->nroutes && !found && req->head; i++)
		if (strcmp(p->routes[i].method, "GET") == 0 &&
		    vg_http_route_match(req, p->routes[i].pattern))
			found = &p->routes[i];
	if (found) {
		vg_http_route_match(req, found->pattern);   /* its captures */
		return found;
	}
	for (i = 0; i < p->nroutes && *path_known; i++)
		if (vg_http_route_match(req, p->routes[i].pattern)) {
			allow_add(req->allow, sizeof req->allow, p->routes[i].method);
			if (strcmp(p->routes[i].method, "GET") == 0)
				allow_add(req->allow, sizeof req->allow, "HEAD");
		}
	req->ncaps = 0;
	return NULL;
}

/* Send the envelope for err, with what was recorded for it if anything. */
static void
answer_failure(struct vg_http_req *req, enum vg_err err)
{
	if (req->fail_err == err && err != VG_OK)
		vg_http_error(req, err, req->fail_message[0] ? req->fail_message : NULL,
		    req->fail_has_field ? req->fail_field : NULL, NULL);
	else
		vg_http_error(req, err, NULL, NULL, NULL);
}

/* Route, check the credentials and the query, run the handler. */
static void
run(struct vg_http_req *req)
{
	const struct vg_program *p = req->program;
	const struct vg_route *route;
	const char *why = NULL;
	bool known;
	enum vg_err err;

	if (!(route = find_route(req, &known))) {
		answer_failure(req, known ? VG_ERR_METHOD : VG_ERR_NOT_FOUND);
		return;
	}
	req->route = route;
	if (route->auth != VG_AUTH_NONE) {
		if (!p->authenticate)
			err = vg_http_fail(req, VG_ERR_UNAUTHORIZED, "authentication required", NULL);
		else
			err = p->authenticate(req, route->auth);
		if (err) {
			if (!vg_http_responded(req))
				answer_failure(req, err);
			return;
		}
	}
	/* after authentication: a stranger learns nothing from a 400 */
	err = vg_query_parse(req->query_string, strlen(req->query_string), &req->query, &why);
	if (err) {
		vg_http_fail(req, err, why, err == VG_ERR_INVALID ? "query" : NULL);
		answer_failure(req, err);
		return;
	}
	err = route->handler(req);
	if (vg_http_responded(req))
		return;
	if (err == VG_OK) {
		vg_http_fail(req, VG_ERR_INTERNAL, "handler returned without answering", NULL);
		err = VG_ERR_INTERNAL;
	}
	answer_failure(req, err);
}

/* The access log line: cheap, and never the query or any header. */
static void
access_log(const struct vg_http_req *req)
{
	char status[8], dur[24];

	snprintf(status, sizeof status, "%d", req->status);
	snprintf(dur, sizeof dur, "%lld", (long long)(vg_time_mono_us() - req->started_us));
	vg_log(VG_LOG_INFO, "request", "method", req->method, "path", req->path,
	    "status", status, "duration_us", dur, NULL);
}

/*
 * Answer one request (see http.h).  The request object lives on the heap
 * for exactly this call, so nothing of it reaches the next request.
 */
enum vg_err
vg_http_handle(const struct vg_program *p, const struct vg_http_io *io)
{
	static const char oom[] = "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n\r\n"
	    "{\"schema_version\":1,\"error\":{\"code\":\"internal\","
	    "\"message\":\"internal error\",\"retryable\":true,\"details\":{}}}";
	struct vg_http_req *req;
	enum vg_err err;

	if (!(req = calloc(1, sizeof *req))) {
		io->write(io->ctx, oom, sizeof oom - 1);
		return VG_ERR_NOMEM;
	}
	if ((err = vg_http_req_init(req, p, io)) != VG_OK)
		answer_failure(req, err);
	else
		run(req);
	access_log(req);
	err = req->io_failed ? VG_ERR_IO : VG_OK;
	vg_http_req_release(req);
	free(req);
	return err;
}
