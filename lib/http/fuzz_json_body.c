/*
 * fuzz_json_body.c - fuzz target for the JSON request-body path: the
 * Content-Length checks, the bounded chunked reads and the parser, through
 * a whole request in memory.
 *
 * Input: byte 0 picks how Content-Length relates to the body (exact,
 * shorter, longer, absent, garbage), byte 1 the read chunk size, the rest
 * is the body.
 *
 * libFuzzer:  ./configure CC=clang && make fuzz
 *             lib/http/fuzz-json-body tests/fixtures/fuzz/http-json-body/
 * make check runs it through tests/unit/fuzz_driver.c.
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/settings.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Echo the parsed body back, so serialising it is fuzzed too. */
static enum vg_err
echo(struct vg_http_req *req)
{
	json_t *body = NULL;
	enum vg_err err = vg_http_read_json(req, &body);

	if (err)
		return err;
	return vg_http_json(req, 200, body);
}

static const struct vg_route routes[] = {
	{"POST", "/echo", VG_AUTH_NONE, echo},
};
static const struct vg_program program = {.role = "fuzz", VG_HTTP_ROUTES(routes)};

static void
setup(void)
{
	static int done;
	char msg[256];

	if (done)
		return;
	done = 1;
	/* the smallest cap the settings allow, so inputs reach it */
	setenv("VEGA_MAX_JSON_BODY_BYTES", "1024", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK)
		abort();
	vg_log_set_stream(fopen("/dev/null", "w"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int allowed[] = {200, 400, 413, 415};
	char cl[64];
	const char *params[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/echo",
		"CONTENT_TYPE=application/json", cl, NULL,
	};
	struct vg_http_mem *m;
	size_t body_len, i;
	int status, ok = 0;

	setup();
	if (size < 2)
		return 0;
	body_len = size - 2;
	switch (data[0] % 5) {
	case 0: snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", body_len); break;
	case 1: snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", body_len / 2); break;
	case 2: snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", body_len + data[1]); break;
	case 3: snprintf(cl, sizeof cl, "X_NONE=1"); break;
	default: snprintf(cl, sizeof cl, "CONTENT_LENGTH=%.*s", (int)(size > 12 ? 10 : size - 2),
	    (const char *)data + 2); break;
	}
	if (!(m = vg_http_mem_new(params, data + 2, body_len)))
		return 0;
	vg_http_mem_set_chunk(m, data[1] ? data[1] : 1);
	vg_http_handle(&program, vg_http_mem_io(m));
	status = vg_http_mem_status(m);
	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		ok |= status == allowed[i];
	/* never answered, or read past the body */
	if (!ok || vg_http_mem_consumed(m) > body_len)
		abort();
	vg_http_mem_free(m);
	return 0;
}
