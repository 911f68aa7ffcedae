/*
 * http_int.h - what the files of lib/http share and nothing else sees:
 * the request object and the steps of handling one request.
 */
#ifndef VG_HTTP_HTTP_INT_H
#define VG_HTTP_HTTP_INT_H

#include "core/buf.h"
#include "core/id.h"
#include "http/http.h"

#define VG_HTTP_MAX_EXTRA_HEADERS 8192   /* bytes of handler-added headers */
#define VG_HTTP_MAX_MESSAGE 256          /* recorded error message */

struct vg_http_capture {
	const char *name;     /* into the route pattern, not NUL-terminated */
	size_t name_len;
	const char *value;    /* into req->segs */
};

enum vg_http_resp_state {
	VG_HTTP_RESP_NONE,     /* nothing written */
	VG_HTTP_RESP_DONE,     /* a complete response was written */
	VG_HTTP_RESP_STREAM,   /* headers written, body streaming */
};

struct vg_http_req {
	const struct vg_http_io *io;
	const struct vg_program *program;
	const struct vg_route *route;
	int64_t started_us;              /* monotonic */

	const char *method;              /* from the transport, or "" */
	bool head;                       /* HEAD: never write a body */
	char path[VG_HTTP_MAX_PATH + 1]; /* decoded */
	char segs[VG_HTTP_MAX_PATH + 1]; /* the path with '/' turned into NUL */
	const char *query_string;
	struct vg_query *query;
	char request_id[VG_HTTP_MAX_REQUEST_ID + 1];

	struct vg_http_capture caps[VG_HTTP_MAX_CAPTURES];
	size_t ncaps;

	void *principal;
	void (*principal_free)(void *);

	/* body reading */
	bool body_begun;
	int64_t body_declared;           /* -1 when none */
	int64_t body_max;
	int64_t body_read;
	bool body_done;

	/* response */
	enum vg_http_resp_state resp;
	int status;
	int retry_after;                 /* 0: the default for the status */
	struct vg_buf extra_headers;
	bool own_cache_control;          /* a Cache-Control among them: no default */
	char allow[64];                  /* for 405 */
	bool io_failed;
	bool finished;                   /* vg_http_finish: no more writes */

	/* the error recorded for the envelope (vg_http_fail) */
	enum vg_err fail_err;
	char fail_message[VG_HTTP_MAX_MESSAGE];
	char fail_field[64];
	bool fail_has_field;
};

/* Initialise req for one request over io (request.c): method, path,
 * request id.  On VG_ERR_INVALID the failure is recorded on req. */
enum vg_err vg_http_req_init(struct vg_http_req *req, const struct vg_program *p,
    const struct vg_http_io *io);
/* Release what req holds (request.c). */
void vg_http_req_release(struct vg_http_req *req);

/* Match path against a route pattern, filling req's captures (router.c). */
bool vg_http_route_match(struct vg_http_req *req, const char *pattern);

#endif
