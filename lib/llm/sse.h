/*
 * sse.h - an incremental parser of server-sent events (the text/event-stream
 * format), for a proxy that relays a provider's stream and only watches it.
 *
 * Feed it the bytes of a stream in chunks of any size, split anywhere (in
 * the middle of a line, of a CRLF, of a UTF-8 sequence); it calls back once
 * per block, a block being everything up to and including the blank line
 * that ends it.  Lines end in CRLF, LF or CR.  Fields follow the format's
 * rules: a line starting with ':' is a comment; "field: value" loses one
 * space after the colon; data lines are joined with LF; "event" names the
 * type ("message" when absent); "id" sets the last event id, which stays
 * until another id line changes it (an id holding NUL is ignored); "retry"
 * counts only when it is all ASCII digits; unknown fields are ignored; one
 * byte order mark at the very start is skipped.
 *
 * The parser never changes the bytes it is given.  A caller that relays
 * the stream unchanged writes each chunk out as it comes and feeds the
 * same chunk here to observe it.  A caller that must drop or hold back
 * some events relays, instead, the raw bytes of each block it keeps
 * (vg_sse_event.raw): concatenated in order, the blocks and then
 * vg_sse_pending() are exactly the stream.  One detail of CR line ends: a
 * block that ends in CR is delivered at once, so an LF that follows it
 * opens the next block's raw bytes.
 *
 * A block larger than the parser's maximum is an error (VG_ERR_TOO_LARGE,
 * with a message from vg_sse_error()); after any error every later feed
 * fails with the same error.  Memory use is bounded by about twice the
 * maximum.
 */
#ifndef VG_LLM_SSE_H
#define VG_LLM_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

/* A reasonable maximum block size for provider streams: a Responses
 * stream's final event carries the whole answer. */
#define VG_SSE_MAX_EVENT_DEFAULT ((size_t)8 << 20)

struct vg_sse_event {
	/* False for a block without any data line (comments, keep-alives, a
	 * lone id or retry): the format does not dispatch such a block, but
	 * its raw bytes are still handed over so they can be relayed. */
	bool dispatch;
	const char *type;   /* the event field, or "message"; never NULL */
	const char *data;   /* data lines joined with LF, NUL-terminated */
	size_t data_len;    /* may hold NUL bytes of the stream */
	const char *id;     /* the last event id so far ("" when none) */
	int64_t retry;      /* retry milliseconds given in this block, or -1 */
	const char *raw;    /* this block's bytes exactly as received */
	size_t raw_len;
};

/*
 * Called once per block.  Everything in ev is owned by the parser and
 * valid only during the call.  A return other than VG_OK stops the feed,
 * which returns it; the parser stays failed.
 */
typedef enum vg_err (*vg_sse_fn)(const struct vg_sse_event *ev, void *arg);

struct vg_sse;

/* A parser for one stream whose blocks may reach max_event bytes (0: the
 * default).  fn is called with arg for each block.  Free with
 * vg_sse_free. */
enum vg_err vg_sse_new(size_t max_event, vg_sse_fn fn, void *arg, struct vg_sse **out);
void vg_sse_free(struct vg_sse *p);

/* Parse the next n bytes of the stream (n may be 0). */
enum vg_err vg_sse_feed(struct vg_sse *p, const void *data, size_t n);

/* The bytes received since the last block ended: a partial block that the
 * end of the stream would discard.  Valid until the next feed. */
void vg_sse_pending(const struct vg_sse *p, const char **raw, size_t *len);
/* Whether the stream, if it ended now, would end in the middle of an
 * event (a data line already read, or a partial line). */
bool vg_sse_incomplete(const struct vg_sse *p);
/* Blocks dispatched (with data) so far. */
uint64_t vg_sse_count(const struct vg_sse *p);
/* A message describing why the parser failed, or NULL while it has not. */
const char *vg_sse_error(const struct vg_sse *p);

#endif
