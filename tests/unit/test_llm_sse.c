/*
 * test_llm_sse.c - lib/llm/sse: every case is fed whole, one byte at a
 * time and split at every position, and must give the same events each
 * time; the raw bytes handed back must add up to the stream exactly.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "llm/sse.h"
#include "vt.h"

struct seen {
	struct vg_buf events;   /* "[type|data|id|retry]" per dispatched block, "-" otherwise */
	struct vg_buf raw;      /* the raw bytes of every block, in order */
	int stop_after;         /* fail the callback after this many blocks (0: never) */
	int blocks;
};

static enum vg_err
on_event(const struct vg_sse_event *ev, void *arg)
{
	struct seen *s = arg;
	size_t i;

	s->blocks++;
	vg_buf_append(&s->raw, ev->raw, ev->raw_len);
	if (!ev->dispatch) {
		vg_buf_append_char(&s->events, '-');
	} else {
		vg_buf_printf(&s->events, "[%s|", ev->type);
		/* NUL bytes shown as \0 so they can be compared as text */
		for (i = 0; i < ev->data_len; i++) {
			if (ev->data[i] == '\0')
				vg_buf_append_str(&s->events, "\\0");
			else
				vg_buf_append_char(&s->events, ev->data[i]);
		}
		vg_buf_printf(&s->events, "|%s|%lld]", ev->id, (long long)ev->retry);
	}
	if (s->stop_after && s->blocks >= s->stop_after)
		return VG_ERR_INVALID;
	return VG_OK;
}

/* A literal with NUL bytes in it, and its length. */
#define BIN(s) s, sizeof(s) - 1

static const struct sse_case {
	const char *name;
	const char *in;
	size_t len;          /* 0: strlen(in) */
	const char *want;
	int incomplete;      /* the stream would end mid-event */
} cases[] = {
	{"one event", "data: hello\n\n", 0, "[message|hello||-1]", 0},
	{"CRLF and a type", "event: a\r\ndata: x\r\n\r\n", 0, "[a|x||-1]", 0},
	{"CR alone", "data: x\r\rdata: y\r\r", 0, "[message|x||-1][message|y||-1]", 0},
	{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", 0, "[message|a\nb\nc||-1]", 0},
	{"multi-line data", "data: a\ndata: b\n\n", 0, "[message|a\nb||-1]", 0},
	{"comment block", ": ping\n\ndata: z\n\n", 0, "-[message|z||-1]", 0},
	{"comment inside an event", "data: a\n: note\ndata: b\n\n", 0, "[message|a\nb||-1]", 0},
	{"no space after colon", "data:x\n\n", 0, "[message|x||-1]", 0},
	{"only one space removed", "data:  x\n\n", 0, "[message| x||-1]", 0},
	{"field without colon", "data\n\n", 0, "[message|||-1]", 0},
	{"empty data lines", "data:\ndata:\n\n", 0, "[message|\n||-1]", 0},
	{"colon in the value", "data: {\"a\":\"b:c\"}\n\n", 0, "[message|{\"a\":\"b:c\"}||-1]", 0},
	{"id persists", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", 0,
	    "[message|a|7|-1][message|b|7|-1][message|c||-1]", 0},
	{"id with NUL ignored", BIN("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"),
	    "[message|a|1|-1][message|b|1|-1]", 0},
	{"retry", "retry: 3000\ndata: a\n\nretry: 30x\ndata: b\n\n", 0,
	    "[message|a||3000][message|b||-1]", 0},
	{"retry alone is not dispatched", "retry: 10\n\n", 0, "-", 0},
	{"byte order mark", "\xEF\xBB\xBF" "data: a\n\n", 0, "[message|a||-1]", 0},
	{"second BOM is data", "\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n", 0, "-", 0},
	{"unknown field", "foo: bar\ndata: a\n\n", 0, "[message|a||-1]", 0},
	{"type reset after each event", "event: x\ndata: 1\n\ndata: 2\n\n", 0,
	    "[x|1||-1][message|2||-1]", 0},
	{"type without data", "event: x\n\ndata: 2\n\n", 0, "-[message|2||-1]", 0},
	{"empty type is message", "event:\ndata: 1\n\n", 0, "[message|1||-1]", 0},
	{"NUL in data", BIN("data: a\0b\n\n"), "[message|a\\0b||-1]", 0},
	{"cut after a data line", "data: a\n\ndata: b\n", 0, "[message|a||-1]", 1},
	{"cut mid-line", "data: a\n\ndata: b", 0, "[message|a||-1]", 1},
	{"leading blank lines", "\n\n\r\ndata: a\n\n", 0, "---[message|a||-1]", 0},
	{"chat wire format",
	    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n"
	    "data: [DONE]\n\n", 0,
	    "[message|{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[]}||-1]"
	    "[message|[DONE]||-1]", 0},
	{"responses wire format",
	    "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
	    "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n", 0,
	    "[response.created|{\"type\":\"response.created\"}||-1]"
	    "[response.completed|{\"type\":\"response.completed\"}||-1]", 0},
};

/* Feed in[0..len) cut at the given points (sorted, each < len) and check
 * the events, the raw bytes and the incomplete flag. */
static int
run_split(const struct sse_case *c, size_t len, const size_t *cuts, size_t ncuts,
    const char *how)
{
	struct seen s = {0};
	struct vg_sse *p = NULL;
	const char *pending;
	size_t plen, at = 0, i;
	char name[200];
	int ok = 1;

	vg_buf_init(&s.events, 1 << 20);
	vg_buf_init(&s.raw, 1 << 20);
	vg_sse_new(0, on_event, &s, &p);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (vg_sse_feed(p, c->in + at, end - at) != VG_OK)
			ok = 0;
		at = end;
	}
	vg_sse_pending(p, &pending, &plen);
	vg_buf_append(&s.raw, pending, plen);
	if (strcmp(vg_buf_str(&s.events), c->want) != 0 || s.raw.len != len ||
	    memcmp(s.raw.data, c->in, len) != 0 || vg_sse_incomplete(p) != (bool)c->incomplete)
		ok = 0;
	if (!ok || ncuts == 0) {
		snprintf(name, sizeof name, "%s (%s)", c->name, how);
		VT_EQ_STR(vg_buf_str(&s.events), c->want, name);
		VT_OK(s.raw.len == len && memcmp(s.raw.data, c->in, len) == 0, name);
		VT_EQ_INT(vg_sse_incomplete(p), c->incomplete, name);
	}
	vg_sse_free(p);
	vg_buf_free(&s.events);
	vg_buf_free(&s.raw);
	return ok;
}

static void
test_cases(void)
{
	size_t i, k;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sse_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		size_t *cuts = malloc(len * sizeof *cuts);
		int all_ok = 1;
		char name[200];

		run_split(c, len, NULL, 0, "whole");
		for (k = 1; k < len; k++)
			cuts[k - 1] = k;
		all_ok &= run_split(c, len, cuts, len ? len - 1 : 0, "byte by byte");
		for (k = 1; k < len; k++)
			all_ok &= run_split(c, len, &k, 1, "split in two");
		snprintf(name, sizeof name, "%s: same events at every split", c->name);
		VT_OK(all_ok, name);
		free(cuts);
	}
}

static void
test_limits(void)
{
	struct seen s = {0};
	struct vg_sse *p = NULL;
	char big[200];

	vg_buf_init(&s.events, 1 << 16);
	vg_buf_init(&s.raw, 1 << 16);
	/* 64 bytes of block: "data: " + 56 + "\n" + "\n" fits exactly. */
	VT_EQ_INT(vg_sse_new(64, on_event, &s, &p), VG_OK, "parser with a 64-byte limit");
	memset(big, 'x', sizeof big);
	VT_EQ_INT(vg_sse_feed(p, "data: ", 6), VG_OK, "start");
	VT_EQ_INT(vg_sse_feed(p, big, 56), VG_OK, "data up to the limit");
	VT_EQ_INT(vg_sse_feed(p, "\n\n", 2), VG_OK, "a block of exactly the limit passes");
	VT_EQ_INT(s.blocks, 1, "delivered");
	VT_OK(vg_sse_error(p) == NULL, "no error yet");
	VT_EQ_INT(vg_sse_feed(p, "data: ", 6), VG_OK, "next");
	VT_EQ_INT(vg_sse_feed(p, big, 57), VG_OK, "63 bytes so far");
	VT_EQ_INT(vg_sse_feed(p, "\n\n", 2), VG_ERR_TOO_LARGE, "one byte over the limit refused");
	VT_OK(vg_sse_error(p) && strstr(vg_sse_error(p), "larger than 64 bytes"),
	    "the error says which limit");
	VT_EQ_INT(vg_sse_feed(p, "\n", 1), VG_ERR_TOO_LARGE, "stays failed");
	VT_EQ_INT(s.blocks, 1, "nothing more delivered");
	vg_sse_free(p);

	/* Comment lines count too: keep-alives cannot grow a block forever. */
	p = NULL;
	vg_sse_new(64, on_event, &s, &p);
	{
		int i, err = VG_OK;

		for (i = 0; i < 20 && err == VG_OK; i++)
			err = vg_sse_feed(p, ": keep-alive\n", 13);
		VT_EQ_INT(err, VG_ERR_TOO_LARGE, "endless comment lines in one block refused");
	}
	vg_sse_free(p);

	/* A consumer may stop the stream. */
	p = NULL;
	s.blocks = 0;
	s.stop_after = 1;
	vg_sse_new(0, on_event, &s, &p);
	VT_EQ_INT(vg_sse_feed(p, "data: a\n\ndata: b\n\n", 18), VG_ERR_INVALID,
	    "the callback's error stops the feed");
	VT_EQ_INT(s.blocks, 1, "no block after the stop");
	VT_EQ_INT(vg_sse_count(p), 1, "one dispatched");
	vg_sse_free(p);
	VT_EQ_INT(vg_sse_new(0, NULL, NULL, &p), VG_ERR_INVALID, "a callback is required");
	vg_sse_free(NULL);
	vg_buf_free(&s.events);
	vg_buf_free(&s.raw);
}

/* The CR of a CRLF that ends a block is delivered at once; the LF opens
 * the next block, so dropping blocks still leaves a well-formed stream. */
static void
test_crlf_at_block_end(void)
{
	struct seen s = {0};
	struct vg_sse *p = NULL;

	vg_buf_init(&s.events, 1 << 16);
	vg_buf_init(&s.raw, 1 << 16);
	vg_sse_new(0, on_event, &s, &p);
	VT_EQ_INT(vg_sse_feed(p, "data: a\r\n\r", 10), VG_OK, "first block up to CR");
	VT_EQ_STR(vg_buf_str(&s.events), "[message|a||-1]", "delivered without waiting for the LF");
	VT_EQ_INT(vg_sse_feed(p, "\ndata: b\r\n\r\n", 12), VG_OK, "LF then the next block");
	VT_EQ_STR(vg_buf_str(&s.events), "[message|a||-1][message|b||-1]", "no empty block from the LF");
	vg_sse_free(p);
	vg_buf_free(&s.events);
	vg_buf_free(&s.raw);
}

int
main(void)
{
	test_cases();
	test_limits();
	test_crlf_at_block_end();
	return vt_done();
}
