/*
 * http.h - the HTTP layer of every FastCGI program: one request object per
 * request, a route table, query and JSON-body parsing, responses and the
 * error envelope.
 *
 * A program is a table and one call (DESIGN.md section 9):
 *
 *	static const struct vg_route routes[] = {
 *		VG_HTTP_HEALTH_ROUTES,
 *		{"GET", "/v1/projects/{id}", VG_AUTH_USER, project_get},
 *	};
 *	static const struct vg_program program = {
 *		.role = "projects", VG_HTTP_ROUTES(routes),
 *	};
 *	int main(void) { return vg_http_serve(&program); }
 *
 * Handlers take the request and return enum vg_err.  A handler answers with
 * exactly one of vg_http_json, vg_http_send, vg_http_error or a stream; if
 * it returns an error without having answered, the framework sends the
 * error envelope for it (with the message and field recorded by
 * vg_http_fail or by the helpers below, which record theirs).  A handler
 * that returns VG_OK without answering is a bug and gets a 500.
 *
 * Nothing in a request object outlives the request; everything a handler
 * gets from it (strings, captures, the parsed query) is borrowed and valid
 * until the handler returns.
 *
 * The same handlers run under libfcgi (spawn-fcgi, mod_fcgid,
 * mod_proxy_fcgi), as plain CGI, and in memory for tests: the request
 * reads and writes only through struct vg_http_io.
 */
#ifndef VG_HTTP_HTTP_H
#define VG_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "core/err.h"

/* ---- limits (not settings: they protect the parser, not a policy) ---- */
#define VG_HTTP_MAX_PATH          4096   /* bytes of the URI path, raw */
#define VG_HTTP_MAX_QUERY         8192   /* bytes of the raw query string */
#define VG_HTTP_MAX_QUERY_PARAMS  64     /* key=value pairs in a query */
#define VG_HTTP_MAX_CAPTURES      8      /* {name} captures in one pattern */
#define VG_HTTP_MAX_REQUEST_ID    128    /* characters of an accepted X-Request-Id */

struct vg_http_req;

/* ---- I/O: how a request reaches the program ---- */

/*
 * The few operations a request needs from its transport.  libfcgi, plain
 * CGI and the in-memory test transport each fill one of these.
 */
struct vg_http_io {
	void *ctx;
	/* A CGI/FastCGI parameter (REQUEST_METHOD, HTTP_X_REQUEST_ID, ...),
	 * or NULL when absent.  The string lives as long as the request. */
	const char *(*param)(void *ctx, const char *name);
	/* Read up to n body bytes: the count read, 0 at the end, -1 on error. */
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	/* Write all n bytes: 0, or -1 when the client is gone. */
	int (*write)(void *ctx, const void *buf, size_t n);
	/* Push what was written to the client (streams): 0 or -1. */
	int (*flush)(void *ctx);
	/* End the answer now (FastCGI: the end of stdout and END_REQUEST),
	 * while the parameters stay readable until the request is over: 0
	 * or -1.  NULL where a transport cannot end early (plain CGI: the
	 * answer ends with the process). */
	int (*finish)(void *ctx);
	/* Whether read() reports the true end of the body (FastCGI, memory).
	 * Plain CGI may block past CONTENT_LENGTH, so it is never read beyond
	 * it (RFC 3875) and a longer body cannot be detected there. */
	bool bounded;
};

/* ---- routes and programs ---- */

enum vg_auth {
	VG_AUTH_NONE,       /* anyone */
	VG_AUTH_USER,       /* any authenticated user */
	VG_AUTH_OPERATOR,   /* group operator or root */
	/* Any authenticated user, whose account and session the handler's
	 * first step confirms with the access check it reads anyway (the
	 * hook then checks the credential itself only: auth.h). */
	VG_AUTH_USER_SCOPED,
};

typedef enum vg_err (*vg_handler_fn)(struct vg_http_req *req);

/*
 * One route.  pattern is an absolute path whose segments are literal or a
 * {name} capture; a capture matches one non-empty segment (never '/'),
 * except a last segment {name*}, which captures the rest of the path
 * (one or more segments, slashes included).
 * HEAD is served by the GET route of the same pattern, without the body.
 */
struct vg_route {
	const char *method;
	const char *pattern;
	enum vg_auth auth;
	vg_handler_fn handler;
};

/*
 * Authentication hook: called before the handler of a route whose auth is
 * not VG_AUTH_NONE.  It checks the credentials for need, may attach the
 * principal with vg_http_set_principal, and returns VG_OK to let the
 * request through or an error (VG_ERR_UNAUTHORIZED, VG_ERR_FORBIDDEN,
 * VG_ERR_UNAVAILABLE...), which the framework answers unless the hook
 * answered itself.  Without a hook, such routes answer 401.  It runs
 * before the query is parsed, so an unauthenticated client gets 401
 * whatever else is wrong with its request; a 401 always carries
 * WWW-Authenticate: Bearer.
 */
typedef enum vg_err (*vg_http_auth_fn)(struct vg_http_req *req, enum vg_auth need);

struct vg_program {
	const char *role;                 /* log role; "role" in /v1/healthz */
	const struct vg_route *routes;
	size_t nroutes;
	vg_http_auth_fn authenticate;     /* NULL: every auth route answers 401 */
	/* Called once per process after settings and logging are set up,
	 * before the first request; an error makes the program exit: with
	 * status 2 for VG_ERR_INVALID (a configuration error, which the hook
	 * has logged naming the setting), 1 otherwise. */
	enum vg_err (*init)(void);
};

/* .routes and .nroutes from a static array. */
#define VG_HTTP_ROUTES(table) \
	.routes = (table), .nroutes = sizeof(table) / sizeof((table)[0])

/* ---- serving ---- */

/*
 * The whole main() of a FastCGI program: load settings (exit 2 when
 * invalid), start logging as p->role, ignore SIGPIPE, run p->init, then
 * answer requests: a FastCGI accept loop on fd 0 (spawn-fcgi, mod_fcgid),
 * or exactly one request from the environment, stdin and stdout when
 * started as plain CGI.  Returns the process exit status.
 */
int vg_http_serve(const struct vg_program *p);

/*
 * Answer one request from io with p's routes: parse, route, authenticate,
 * run the handler, send the envelope when the handler did not answer,
 * write the access log line.  Returns VG_OK, or VG_ERR_IO when the client
 * could not be written to.  Used by vg_http_serve and by tests.
 */
enum vg_err vg_http_handle(const struct vg_program *p, const struct vg_http_io *io);

/* ---- the request ---- */

const char *vg_http_method(const struct vg_http_req *req);   /* "GET", ... */
/* The URI path, percent-decoded (never contains NUL, "%2F", "." or ".."
 * segments: those requests were refused with 400). */
const char *vg_http_path(const struct vg_http_req *req);
/* The raw query string ("" when none). */
const char *vg_http_query_string(const struct vg_http_req *req);
/* A request header by its HTTP name ("Content-Type", "X-Foo"), or NULL. */
const char *vg_http_header(const struct vg_http_req *req, const char *name);
/* A raw CGI/FastCGI parameter, or NULL. */
const char *vg_http_param(const struct vg_http_req *req, const char *name);
/* REMOTE_ADDR as the web server saw it ("" when unknown). */
const char *vg_http_client_addr(const struct vg_http_req *req);
/* The value of capture {name} of the matched route, or NULL. */
const char *vg_http_capture(const struct vg_http_req *req, const char *name);
/* The request id: the accepted X-Request-Id, or a new UUID. */
const char *vg_http_request_id(const struct vg_http_req *req);
/* The program answering the request. */
const struct vg_program *vg_http_program(const struct vg_http_req *req);
/* The route that matched, or NULL before routing. */
const struct vg_route *vg_http_route(const struct vg_http_req *req);

/* Principal attached by the auth hook; free_fn (may be NULL) releases it
 * when the request ends.  Replacing one frees the old one. */
void vg_http_set_principal(struct vg_http_req *req, void *principal,
    void (*free_fn)(void *));
void *vg_http_principal(const struct vg_http_req *req);

/* Whether s is an acceptable X-Request-Id: 1..128 of [A-Za-z0-9._:-]. */
bool vg_http_request_id_valid(const char *s);

/* ---- query strings ---- */

struct vg_query;

/*
 * Parse an application/x-www-form-urlencoded query of n bytes: pairs split
 * on '&', '+' is a space, %XX escapes; a pair without '=' has the value "";
 * empty pairs are skipped; repeated keys are kept in order.  Refused
 * (VG_ERR_INVALID, *why a static reason): more than VG_HTTP_MAX_QUERY
 * bytes or VG_HTTP_MAX_QUERY_PARAMS pairs, bad %-escapes, an empty key,
 * NUL or invalid UTF-8 after decoding.  *out is freed with vg_query_free.
 */
enum vg_err vg_query_parse(const char *s, size_t n, struct vg_query **out,
    const char **why);
void vg_query_free(struct vg_query *q);
size_t vg_query_len(const struct vg_query *q);
const char *vg_query_key(const struct vg_query *q, size_t i);
const char *vg_query_value(const struct vg_query *q, size_t i);
/* The first value of key, or NULL. */
const char *vg_query_get(const struct vg_query *q, const char *key);
/* How many times key occurs. */
size_t vg_query_count(const struct vg_query *q, const char *key);

/* The parsed query of the request (parsed before the handler runs: a bad
 * query was already answered with 400 field "query"). */
const struct vg_query *vg_http_query(const struct vg_http_req *req);
/* First value of key in the request's query, or NULL. */
const char *vg_http_query_get(const struct vg_http_req *req, const char *key);
/* Integer query parameter in [min, max]; def when absent.  Otherwise
 * VG_ERR_INVALID recorded with the parameter as field. */
enum vg_err vg_http_query_int(struct vg_http_req *req, const char *key,
    int64_t min, int64_t max, int64_t def, int64_t *out);

/*
 * Percent-decode n bytes of s into out (at least n + 1 bytes), with '+' as
 * a space when plus_space; out is NUL-terminated and *outlen is its length
 * (it may contain NUL bytes: callers refuse them).  VG_ERR_INVALID on a
 * '%' not followed by two hex digits.
 */
enum vg_err vg_http_pct_decode(const char *s, size_t n, bool plus_space,
    char *out, size_t *outlen);

/* ---- request bodies ---- */

/*
 * Read the body as one JSON value: Content-Type must be application/json
 * (optionally ;charset=utf-8) else VG_ERR_MEDIA_TYPE; a declared
 * CONTENT_LENGTH over VEGA_MAX_JSON_BODY_BYTES is refused before reading,
 * and a body longer than declared or than the cap while reading, with
 * VG_ERR_TOO_LARGE; bad JSON, invalid UTF-8 or an empty body give
 * VG_ERR_INVALID_JSON.  Errors are recorded for the envelope.  *out is a
 * new reference (json_decref).
 */
enum vg_err vg_http_read_json(struct vg_http_req *req, json_t **out);

/* Whether a Content-Type value means JSON in UTF-8. */
bool vg_http_content_type_is_json(const char *ctype);

/*
 * Stream the body in chunks (uploads).  vg_http_body_begin checks the
 * declared CONTENT_LENGTH against max (VG_ERR_TOO_LARGE before reading)
 * and gives it in *declared (-1 when none was declared).  Each
 * vg_http_body_read fills up to cap bytes; *got is 0 at the end.  A body
 * longer than declared or than max is VG_ERR_TOO_LARGE, one shorter than
 * declared VG_ERR_INVALID (field "body").  Errors are recorded.
 */
enum vg_err vg_http_body_begin(struct vg_http_req *req, int64_t max, int64_t *declared);
enum vg_err vg_http_body_read(struct vg_http_req *req, void *buf, size_t cap, size_t *got);

/* ---- responses ---- */

/*
 * Answer with a JSON body.  Takes the reference to body (as jansson's
 * *_new functions do), even on failure; a NULL body answers 500.  The
 * response carries Content-Type, Content-Length, X-Request-Id,
 * Cache-Control: no-store and X-Content-Type-Options: nosniff.
 */
enum vg_err vg_http_json(struct vg_http_req *req, int status, json_t *body);

/*
 * Answer with the error envelope
 *   {"schema_version":1,"error":{"code","message","retryable","details"}}
 * with the status, code and retryability of err.  message NULL means the
 * generic one; field, when given, becomes details.field; details (taken,
 * may be NULL) adds members.  For 500 the message and details are only
 * logged and the client sees the generic message.  401 adds
 * WWW-Authenticate: Bearer, 405 Allow (when known), 429 and 503
 * Retry-After.  Returns err, so handlers can `return vg_http_error(...)`.
 */
enum vg_err vg_http_error(struct vg_http_req *req, enum vg_err err,
    const char *message, const char *field, json_t *details);

/* Record an error without answering: the framework sends the envelope
 * when the handler returns it.  Returns err.  message/field are copied. */
enum vg_err vg_http_fail(struct vg_http_req *req, enum vg_err err,
    const char *message, const char *field);

/* Answer with a raw body (n bytes) of content_type (NULL: no body, e.g. 204). */
enum vg_err vg_http_send(struct vg_http_req *req, int status,
    const char *content_type, const void *body, size_t n);

/* Add a response header before answering.  A name that is not a token or
 * a value with CR, LF or other control characters is refused
 * (VG_ERR_INVALID); past 8 KiB of added headers, VG_ERR_TOO_LARGE. */
enum vg_err vg_http_add_header(struct vg_http_req *req, const char *name,
    const char *value);
/* Seconds for Retry-After on a 429/503 (default 5 for 503, 60 for 429). */
void vg_http_set_retry_after(struct vg_http_req *req, int seconds);

/*
 * Streaming (server-sent events, long downloads): begin writes the status
 * and headers (text/event-stream also gets X-Accel-Buffering: no so the
 * web server does not hold chunks back), write sends bytes, flush pushes
 * them to the client.  VG_ERR_IO means the client is gone: stop.  The
 * stream ends when the handler returns.
 */
enum vg_err vg_http_stream_begin(struct vg_http_req *req, int status,
    const char *content_type);
enum vg_err vg_http_stream_write(struct vg_http_req *req, const void *p, size_t n);
enum vg_err vg_http_stream_flush(struct vg_http_req *req);

/*
 * The answer is complete: push it out and end it toward the web server
 * now, so the client is not kept waiting for bookkeeping the handler
 * does afterwards (the LLM proxy's settlement).  Later writes are
 * dropped (VG_ERR_IO).  The process takes its next request only when the
 * handler returns.  Where the transport cannot end early, this is a
 * flush and the answer ends with the handler.
 */
void vg_http_finish(struct vg_http_req *req);
/* Whether vg_http_finish ended the answer. */
bool vg_http_finished(const struct vg_http_req *req);
/* Whether the request has been answered (or a stream begun). */
bool vg_http_responded(const struct vg_http_req *req);
/* The status answered so far (0 before answering). */
int vg_http_status(const struct vg_http_req *req);

/* ---- health routes, shared by every program (health.c) ---- */

/* GET /v1/healthz: liveness, never touches the store. */
enum vg_err vg_http_healthz(struct vg_http_req *req);
/* GET /v1/readyz: the store answers and its schema is current.  The store
 * is opened on first use and kept for the life of the process. */
enum vg_err vg_http_readyz(struct vg_http_req *req);
/* Close the cached store (tests, and at exit for leak checkers). */
void vg_http_health_reset(void);

struct vg_store;
/*
 * The process's store: opened on first use and kept for the life of the
 * process (a deliberate cache: the Postgres connection, the json root),
 * shared by readyz, the auth hook and the handlers.  Opening does not
 * connect, so a database outage shows in the first call that needs it.
 * *out is borrowed; VG_ERR_UNAVAILABLE when the store cannot be opened.
 */
enum vg_err vg_http_store(struct vg_store **out);

/* ---- helpers for handlers (handler.c) ---- */

/* The process's store, or VG_ERR_UNAVAILABLE recorded for a 503. */
enum vg_err vg_http_store_or_fail(struct vg_http_req *req, struct vg_store **s);
/* String member key of body (an object), 1..max bytes; missing is VG_OK
 * with *out NULL unless required.  Errors recorded, naming key as the
 * field.  *out is borrowed from body. */
enum vg_err vg_http_body_str(struct vg_http_req *req, json_t *body, const char *key,
    bool required, size_t max, const char **out);
/* ?limit= (1..max, default 50) and ?cursor= (NULL when absent or empty)
 * of a list request; errors recorded. */
enum vg_err vg_http_page_args(struct vg_http_req *req, int64_t max, int64_t *limit,
    const char **cursor);
/* Answer {"items": items, "next_cursor": next or null} with 200, or the
 * error err of the list call (VG_ERR_INVALID: a cursor this list did not
 * hand out).  Takes items; NULL is an empty list. */
enum vg_err vg_http_answer_page(struct vg_http_req *req, enum vg_err err, json_t *items,
    const char *next);
/* Append item (taken; NULL means its renderer ran out of memory) to
 * *items, made on the first call: VG_OK or VG_ERR_NOMEM.  The loop of
 * every list handler. */
enum vg_err vg_http_items_add(json_t **items, json_t *item);
/* s as a JSON string, or null when NULL or "" (new reference). */
json_t *vg_http_opt_str(const char *s);
/* An RFC 3339 time, or null for 0 (new reference). */
json_t *vg_http_opt_time(int64_t us);

#define VG_HTTP_HEALTH_ROUTES \
	{"GET", "/v1/healthz", VG_AUTH_NONE, vg_http_healthz}, \
	{"GET", "/v1/readyz", VG_AUTH_NONE, vg_http_readyz}

/* ---- in-memory transport for tests (mem.c) ---- */

struct vg_http_mem;

/*
 * A request held in memory: params is a NULL-terminated list of
 * "NAME=value" strings (like environ), body the n body bytes (may be
 * NULL).  Both are copied.  The response is captured; free with
 * vg_http_mem_free.  NULL when out of memory.
 */
struct vg_http_mem *vg_http_mem_new(const char *const *params,
    const void *body, size_t n);
void vg_http_mem_free(struct vg_http_mem *m);
const struct vg_http_io *vg_http_mem_io(struct vg_http_mem *m);
/* Read the body at most chunk bytes per read() call (default: all). */
void vg_http_mem_set_chunk(struct vg_http_mem *m, size_t chunk);
/* The response as written: the raw CGI output. */
const char *vg_http_mem_output(const struct vg_http_mem *m, size_t *len);
/* The status of the response (from its Status: line), 0 when none. */
int vg_http_mem_status(const struct vg_http_mem *m);
/* The first response header called name (case-insensitive), or NULL;
 * valid until the next call on m. */
const char *vg_http_mem_header(struct vg_http_mem *m, const char *name);
/* The response body (after the blank line), NUL-terminated. */
const char *vg_http_mem_body(const struct vg_http_mem *m, size_t *len);
/* How many body bytes the handler consumed. */
size_t vg_http_mem_consumed(const struct vg_http_mem *m);
/* Whether the handler ended the answer early (vg_http_finish). */
bool vg_http_mem_finished(const struct vg_http_mem *m);

#endif
