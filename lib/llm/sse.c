/* sse.c - incremental server-sent events parser that observes, never edits. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "llm/sse.h"

struct vg_sse {
	vg_sse_fn fn;
	void *arg;
	size_t max;
	struct vg_buf raw;    /* the current block's bytes as received */
	size_t line_start;    /* where the current line starts in raw */
	struct vg_buf data;   /* data lines, each followed by LF */
	struct vg_buf type;   /* the event field of this block */
	struct vg_buf id;     /* the last event id (lives across blocks) */
	int64_t retry;        /* retry of this block, or -1 */
	bool after_cr;        /* the last byte seen was a CR ending a line */
	bool at_start;        /* no line completed yet: a BOM may lead */
	uint64_t count;
	enum vg_err failed;
	char msg[128];
};

enum vg_err
vg_sse_new(size_t max_event, vg_sse_fn fn, void *arg, struct vg_sse **out)
{
	struct vg_sse *p;

	*out = NULL;
	if (!fn)
		return VG_ERR_INVALID;
	if (!(p = calloc(1, sizeof *p)))
		return VG_ERR_NOMEM;
	p->fn = fn;
	p->arg = arg;
	p->max = max_event ? max_event : VG_SSE_MAX_EVENT_DEFAULT;
	vg_buf_init(&p->raw, p->max);
	vg_buf_init(&p->data, p->max);
	vg_buf_init(&p->type, p->max);
	vg_buf_init(&p->id, p->max);
	p->retry = -1;
	p->at_start = true;
	*out = p;
	return VG_OK;
}

void
vg_sse_free(struct vg_sse *p)
{
	if (!p)
		return;
	vg_buf_free(&p->raw);
	vg_buf_free(&p->data);
	vg_buf_free(&p->type);
	vg_buf_free(&p->id);
	free(p);
}

/* Enter the failed state with err and a message for vg_sse_error(). */
static enum vg_err
fail(struct vg_sse *p, enum vg_err err)
{
	p->failed = err;
	if (err == VG_ERR_TOO_LARGE)
		snprintf(p->msg, sizeof p->msg, "server-sent event larger than %zu bytes", p->max);
	else if (err == VG_ERR_NOMEM)
		snprintf(p->msg, sizeof p->msg, "out of memory reading server-sent events");
	else
		snprintf(p->msg, sizeof p->msg, "server-sent events stopped by the consumer");
	return err;
}

/* Hand the finished block to the callback and start a new one. */
static enum vg_err
end_block(struct vg_sse *p)
{
	struct vg_sse_event ev;
	enum vg_err err;

	ev.dispatch = p->data.len > 0;
	ev.type = p->type.len ? vg_buf_str(&p->type) : "message";
	if (ev.dispatch) {
		/* Drop the LF after the last data line. */
		p->data.len--;
		p->data.data[p->data.len] = '\0';
	}
	ev.data = vg_buf_str(&p->data);
	ev.data_len = p->data.len;
	ev.id = vg_buf_str(&p->id);
	ev.retry = p->retry;
	ev.raw = p->raw.data ? p->raw.data : "";
	ev.raw_len = p->raw.len;
	if (ev.dispatch)
		p->count++;
	err = p->fn(&ev, p->arg);
	vg_buf_reset(&p->raw);
	vg_buf_reset(&p->data);
	vg_buf_reset(&p->type);
	p->line_start = 0;
	p->retry = -1;
	return err;
}

/* A retry value: ASCII digits only, else ignored (-1). */
static int64_t
parse_retry(const char *v, size_t n)
{
	int64_t r = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (r > (INT64_MAX - 9) / 10)
			return -1;
		r = r * 10 + (v[i] - '0');
	}
	return r;
}

/* Interpret one complete line (without its terminator). */
static enum vg_err
process_line(struct vg_sse *p, const char *line, size_t n)
{
	const char *colon, *value;
	size_t flen, vlen;
	enum vg_err err = VG_OK;

	if (p->at_start) {
		p->at_start = false;
		if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return end_block(p);
	if (line[0] == ':')
		return VG_OK;
	colon = memchr(line, ':', n);
	flen = colon ? (size_t)(colon - line) : n;
	value = colon ? colon + 1 : line + n;
	vlen = n - (size_t)(value - line);
	if (vlen && *value == ' ') {
		value++;
		vlen--;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		if ((err = vg_buf_append(&p->data, value, vlen)) == VG_OK)
			err = vg_buf_append_char(&p->data, '\n');
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		vg_buf_reset(&p->type);
		err = vg_buf_append(&p->type, value, vlen);
	} else if (flen == 2 && memcmp(line, "id", 2) == 0) {
		if (!memchr(value, '\0', vlen)) {
			vg_buf_reset(&p->id);
			err = vg_buf_append(&p->id, value, vlen);
		}
	} else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
		int64_t r = parse_retry(value, vlen);

		if (r >= 0)
			p->retry = r;
	}
	return err;
}

/*
 * Append the chunk to the current block and process each line it
 * completes.  A line is parsed from the block's raw copy, so a line split
 * across chunks needs no second buffer.
 */
enum vg_err
vg_sse_feed(struct vg_sse *p, const void *data, size_t n)
{
	const char *s = data;
	enum vg_err err;

	if (p->failed)
		return p->failed;
	while (n > 0) {
		size_t k, line_end;

		if (p->after_cr) {
			p->after_cr = false;
			if (*s == '\n') {
				/* The LF of a CRLF whose CR already ended the line. */
				if ((err = vg_buf_append(&p->raw, s, 1)) != VG_OK)
					return fail(p, err);
				p->line_start = p->raw.len;
				s++;
				n--;
				continue;
			}
		}
		for (k = 0; k < n && s[k] != '\n' && s[k] != '\r'; k++)
			;
		if ((err = vg_buf_append(&p->raw, s, k < n ? k + 1 : n)) != VG_OK)
			return fail(p, err);
		if (k == n)
			break;
		p->after_cr = s[k] == '\r';
		line_end = p->raw.len - 1;
		err = process_line(p, p->raw.data + p->line_start, line_end - p->line_start);
		if (err != VG_OK)
			return fail(p, err);
		p->line_start = p->raw.len;
		s += k + 1;
		n -= k + 1;
	}
	return VG_OK;
}

void
vg_sse_pending(const struct vg_sse *p, const char **raw, size_t *len)
{
	*raw = p->raw.data ? p->raw.data : "";
	*len = p->raw.len;
}

bool
vg_sse_incomplete(const struct vg_sse *p)
{
	return p->data.len > 0 || p->raw.len > p->line_start;
}

uint64_t
vg_sse_count(const struct vg_sse *p)
{
	return p->count;
}

const char *
vg_sse_error(const struct vg_sse *p)
{
	return p->failed ? p->msg : NULL;
}
