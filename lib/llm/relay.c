/* relay.c - write the provider's answer on and read its usage on the way. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "llm/relay.h"
#include "llm/sse.h"

struct vg_llm_relay {
	enum vg_llm_api api;
	bool stream, drop_usage_chunk;
	bool watching;              /* the parser still follows the stream */
	vg_llm_write_fn write;
	void *arg;
	struct vg_sse *sse;
	struct vg_buf body;         /* a whole body's copy */
	struct vg_buf held;         /* dropping: stream bytes not yet written nor dropped */
	size_t consumed;            /* of held, by the blocks of the current feed */
	struct vg_buf out;          /* dropping: the current feed's blocks to write */
	bool body_over;             /* it outgrew max_body */
	enum vg_err write_err;
	struct vg_llm_outcome outcome;
};

/* Dropping: write the blocks the current feed let through, in one piece
 * (one flush to the client for what arrived together). */
static enum vg_err
write_out(struct vg_llm_relay *r)
{
	enum vg_err err = VG_OK;

	if (r->out.len)
		err = r->write(r->arg, r->out.data, r->out.len);
	r->out.len = 0;
	if (err != VG_OK)
		r->write_err = err;
	return err;
}

/* One block of the stream: observe it and, when the relay holds blocks
 * back, pass it on unless it is the usage chunk to remove. */
static enum vg_err
on_block(const struct vg_sse_event *ev, void *arg)
{
	struct vg_llm_relay *r = arg;
	bool usage_only = false;

	if (ev->dispatch)
		vg_llm_outcome_event(&r->outcome, r->api, ev->type, ev->data, ev->data_len, &usage_only);
	if (!r->drop_usage_chunk)
		return VG_OK;
	r->consumed += ev->raw_len;
	if (usage_only || vg_buf_append(&r->out, ev->raw, ev->raw_len) == VG_OK)
		return VG_OK;
	/* No memory to gather it (out is bounded as held is, so never its
	 * size): what is gathered, then this block. */
	if (write_out(r) != VG_OK ||
	    (r->write_err = r->write(r->arg, ev->raw, ev->raw_len)) != VG_OK)
		return r->write_err;
	return VG_OK;
}

enum vg_err
vg_llm_relay_new(enum vg_llm_api api, bool stream, bool drop_usage_chunk,
    size_t max_body, vg_llm_write_fn write, void *arg, struct vg_llm_relay **out)
{
	struct vg_llm_relay *r;
	enum vg_err err;

	*out = NULL;
	if (!write || (api != VG_LLM_API_CHAT && api != VG_LLM_API_RESPONSES))
		return VG_ERR_INVALID;
	if (!(r = calloc(1, sizeof *r)))
		return VG_ERR_NOMEM;
	r->api = api;
	r->stream = stream;
	r->drop_usage_chunk = stream && drop_usage_chunk && api == VG_LLM_API_CHAT;
	r->write = write;
	r->arg = arg;
	vg_buf_init(&r->body, max_body);
	vg_buf_init(&r->held, VG_SSE_MAX_EVENT_DEFAULT + ((size_t)1 << 20));
	vg_buf_init(&r->out, VG_SSE_MAX_EVENT_DEFAULT + ((size_t)1 << 20));
	vg_llm_outcome_init(&r->outcome);
	if (stream && (err = vg_sse_new(0, on_block, r, &r->sse)) != VG_OK) {
		vg_llm_relay_free(r);
		return err;
	}
	r->watching = stream;
	*out = r;
	return VG_OK;
}

void
vg_llm_relay_free(struct vg_llm_relay *r)
{
	if (!r)
		return;
	vg_sse_free(r->sse);
	vg_buf_free(&r->body);
	vg_buf_free(&r->held);
	vg_buf_free(&r->out);
	free(r);
}

/* Stop watching: write what is held back and relay the rest as it is. */
static enum vg_err
stop_watching(struct vg_llm_relay *r)
{
	enum vg_err err = VG_OK;

	r->watching = false;
	if (r->drop_usage_chunk && r->held.len > r->consumed)
		err = r->write(r->arg, r->held.data + r->consumed, r->held.len - r->consumed);
	r->drop_usage_chunk = false;
	vg_buf_free(&r->held);
	return err;
}

enum vg_err
vg_llm_relay_feed(struct vg_llm_relay *r, const char *data, size_t n)
{
	enum vg_err err;

	if (r->write_err)
		return r->write_err;
	if (!r->stream) {
		if (!r->body_over && vg_buf_append(&r->body, data, n) != VG_OK)
			r->body_over = true;
		return r->write_err = r->write(r->arg, data, n);
	}
	if (!r->drop_usage_chunk) {
		if ((err = r->write(r->arg, data, n)) != VG_OK)
			return r->write_err = err;
		/* The parser may give up (an event over its bound); the relay goes on. */
		if (r->watching && vg_sse_feed(r->sse, data, n) != VG_OK)
			r->watching = false;
		return VG_OK;
	}
	r->consumed = 0;
	if (vg_buf_append(&r->held, data, n) != VG_OK) {
		/* A chunk too big to hold: write everything and stop dropping. */
		if ((err = stop_watching(r)) != VG_OK)
			return r->write_err = err;
		return r->write_err = r->write(r->arg, data, n);
	}
	err = vg_sse_feed(r->sse, data, n);
	if (r->write_err || write_out(r) != VG_OK)
		return r->write_err;
	if (err != VG_OK)
		return r->write_err = stop_watching(r);
	memmove(r->held.data, r->held.data + r->consumed, r->held.len - r->consumed);
	r->held.len -= r->consumed;
	r->consumed = 0;
	return VG_OK;
}

enum vg_err
vg_llm_relay_finish(struct vg_llm_relay *r)
{
	if (r->write_err)
		return r->write_err;
	if (!r->stream) {
		if (!r->body_over)
			vg_llm_outcome_from_body(r->api, r->body.data ? r->body.data : "", r->body.len,
			    &r->outcome);
		return VG_OK;
	}
	return r->write_err = stop_watching(r);
}

const struct vg_llm_outcome *
vg_llm_relay_outcome(const struct vg_llm_relay *r)
{
	return &r->outcome;
}
