/*
 * fuzz_request.c - fuzz target for a whole request: method, URI (path
 * decoding, dot segments, routing with captures), query, request id.
 *
 * Input: lines "METHOD\nREQUEST_URI\nQUERY_STRING\nX-Request-Id\n" (a
 * missing line leaves the parameter out).
 *
 * libFuzzer:  ./configure CC=clang && make fuzz
 *             lib/http/fuzz-request tests/fixtures/fuzz/http-request/
 * make check runs it through tests/unit/fuzz_driver.c.
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Answer with the captures, checking they are single segments. */
static enum vg_err
show(struct vg_http_req *req)
{
	const char *a = vg_http_capture(req, "a"), *b = vg_http_capture(req, "b");

	if (!a || !*a || strchr(a, '/') || (b && (!*b || strchr(b, '/'))))
		abort();
	return vg_http_json(req, 200, json_pack("{s:s, s:s?}", "a", a, "b", b));
}

static enum vg_err
root(struct vg_http_req *req)
{
	if (strcmp(vg_http_path(req), "/") != 0 || vg_http_capture(req, "a"))
		abort();
	return vg_http_json(req, 200, json_object());
}

static const struct vg_route routes[] = {
	{"GET", "/v1/x/{a}", VG_AUTH_NONE, show},
	{"POST", "/v1/x/{a}", VG_AUTH_NONE, show},
	{"GET", "/v1/x/{a}/y/{b}", VG_AUTH_NONE, show},
	{"DELETE", "/v1/x/{a}/y/{b}", VG_AUTH_USER, show},
	{"GET", "/", VG_AUTH_NONE, root},
};
static const struct vg_program program = {.role = "fuzz", VG_HTTP_ROUTES(routes)};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"REQUEST_METHOD=", "REQUEST_URI=", "QUERY_STRING=", "HTTP_X_REQUEST_ID=",
	};
	static const int allowed[] = {200, 400, 401, 404, 405};
	static FILE *devnull;
	char *lines[5] = {NULL};
	const char *params[5] = {NULL};
	size_t i, n = 0, start = 0;
	struct vg_http_mem *m = NULL;
	const char *rid;
	int status, ok = 0;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		vg_log_set_stream(devnull);
	}
	for (i = 0; i <= size && n < 4; i++) {
		if (i == size || data[i] == '\n') {
			size_t len = i - start, pre = strlen(names[n]);

			if (!(lines[n] = malloc(pre + len + 1)))
				goto out;
			memcpy(lines[n], names[n], pre);
			memcpy(lines[n] + pre, data + start, len);
			lines[n][pre + len] = '\0';
			params[n] = lines[n];
			n++;
			start = i + 1;
		}
	}
	if (!(m = vg_http_mem_new(params, NULL, 0)))
		goto out;
	vg_http_handle(&program, vg_http_mem_io(m));
	status = vg_http_mem_status(m);
	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		ok |= status == allowed[i];
	rid = vg_http_mem_header(m, "X-Request-Id");
	if (!ok || !rid || !vg_http_request_id_valid(rid))
		abort();
out:
	vg_http_mem_free(m);
	for (i = 0; i < 4; i++)
		free(lines[i]);
	return 0;
}
