/*
 * fuzz_sse.c - fuzz target for the server-sent events parser.
 *
 * libFuzzer:  ./configure CC=clang && make fuzz
 *             lib/llm/fuzz-sse tests/fixtures/fuzz/llm-sse/
 * make check runs it through tests/unit/fuzz_driver.c on the seeds in
 * tests/fixtures/fuzz/llm-sse/ plus deterministic mutations.
 *
 * The input is fed twice: whole, and in chunks whose sizes come from the
 * input's own bytes.  Both runs must see the same events, and the raw
 * bytes handed back (blocks, then the pending tail) must equal the input.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "llm/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct vg_buf events;
	struct vg_buf raw;
};

static enum vg_err
on_event(const struct vg_sse_event *ev, void *arg)
{
	struct run *r = arg;

	if (!ev->type || !ev->data || !ev->id || ev->data[ev->data_len] != '\0' ||
	    (ev->dispatch && ev->raw_len == 0) || ev->data_len > ev->raw_len)
		abort();
	vg_buf_append(&r->raw, ev->raw, ev->raw_len);
	vg_buf_printf(&r->events, "%d|%s|%zu|%s|%lld;", ev->dispatch, ev->type, ev->data_len,
	    ev->id, (long long)ev->retry);
	vg_buf_append(&r->events, ev->data, ev->data_len);
	return VG_OK;
}

/* Parse data, in chunks when split is set; the result is in r. */
static enum vg_err
parse(const uint8_t *data, size_t size, int split, struct run *r)
{
	struct vg_sse *p = NULL;
	const char *pending;
	size_t plen, at = 0;
	enum vg_err err = VG_OK;

	vg_buf_init(&r->events, 1 << 22);
	vg_buf_init(&r->raw, 1 << 22);
	if (vg_sse_new(512, on_event, r, &p) != VG_OK)
		abort();
	while (at < size && err == VG_OK) {
		size_t n = split ? 1 + (size_t)(data[at] % 7) : size - at;

		if (n > size - at)
			n = size - at;
		err = vg_sse_feed(p, data + at, n);
		at += n;
	}
	if (err == VG_OK) {
		vg_sse_pending(p, &pending, &plen);
		vg_buf_append(&r->raw, pending, plen);
		if (r->raw.len != size || (size && memcmp(r->raw.data, data, size) != 0))
			abort();
	} else if (err != VG_ERR_TOO_LARGE || !vg_sse_error(p) ||
	    vg_sse_feed(p, "\n", 1) != err) {
		abort();
	}
	vg_sse_free(p);
	return err;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, parts;
	enum vg_err e1 = parse(data, size, 0, &whole), e2 = parse(data, size, 1, &parts);

	if (e1 != e2)
		abort();
	if (e1 == VG_OK && (whole.events.len != parts.events.len ||
	    (whole.events.len && memcmp(whole.events.data, parts.events.data, whole.events.len))))
		abort();
	vg_buf_free(&whole.events);
	vg_buf_free(&whole.raw);
	vg_buf_free(&parts.events);
	vg_buf_free(&parts.raw);
	return 0;
}
