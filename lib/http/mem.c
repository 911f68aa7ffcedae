/* mem.c - the in-memory transport: a request from strings, the response
 * captured in a buffer.  For tests and fuzz harnesses. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/buf.h"
#include "core/str.h"
#include "http/http_int.h"

#define MEM_MAX_OUTPUT (64u * 1024 * 1024)

struct vg_http_mem {
	char **params;        /* "NAME=value", NULL-terminated, owned */
	char *body;
	size_t body_len, pos, chunk;
	struct vg_buf out;
	char header[1024];    /* last vg_http_mem_header answer */
	struct vg_http_io io;
	bool finished;        /* the handler called vg_http_finish */
};

static const char *
mem_param(void *ctx, const char *name)
{
	struct vg_http_mem *m = ctx;
	size_t i, n = strlen(name);

	for (i = 0; m->params[i]; i++)
		if (strncmp(m->params[i], name, n) == 0 && m->params[i][n] == '=')
			return m->params[i] + n + 1;
	return NULL;
}

static ssize_t
mem_read(void *ctx, void *buf, size_t n)
{
	struct vg_http_mem *m = ctx;
	size_t left = m->body_len - m->pos;

	if (n > left)
		n = left;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	if (n)
		memcpy(buf, m->body + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int
mem_write(void *ctx, const void *buf, size_t n)
{
	struct vg_http_mem *m = ctx;

	if (m->finished)
		return -1;   /* as a closed FastCGI stream */
	return vg_buf_append(&m->out, buf, n) == VG_OK ? 0 : -1;
}

static int
mem_flush(void *ctx)
{
	return 0;
}

static int
mem_finish(void *ctx)
{
	struct vg_http_mem *m = ctx;

	m->finished = true;
	return 0;
}

struct vg_http_mem *
vg_http_mem_new(const char *const *params, const void *body, size_t n)
{
	struct vg_http_mem *m = calloc(1, sizeof *m);
	size_t i, count = 0;

	if (!m)
		return NULL;
	while (params && params[count])
		count++;
	if (!(m->params = calloc(count + 1, sizeof *m->params)))
		goto fail;
	for (i = 0; i < count; i++)
		if (!(m->params[i] = strdup(params[i])))
			goto fail;
	if (!(m->body = malloc(n ? n : 1)))
		goto fail;
	if (n)
		memcpy(m->body, body, n);
	m->body_len = n;
	vg_buf_init(&m->out, MEM_MAX_OUTPUT);
	m->io = (struct vg_http_io){
		.ctx = m, .param = mem_param, .read = mem_read, .write = mem_write,
		.flush = mem_flush, .finish = mem_finish, .bounded = true,
	};
	return m;
fail:
	vg_http_mem_free(m);
	return NULL;
}

void
vg_http_mem_free(struct vg_http_mem *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; m->params && m->params[i]; i++)
		free(m->params[i]);
	free(m->params);
	free(m->body);
	vg_buf_free(&m->out);
	free(m);
}

const struct vg_http_io *
vg_http_mem_io(struct vg_http_mem *m)
{
	return &m->io;
}

void
vg_http_mem_set_chunk(struct vg_http_mem *m, size_t chunk)
{
	m->chunk = chunk;
}

const char *
vg_http_mem_output(const struct vg_http_mem *m, size_t *len)
{
	if (len)
		*len = m->out.len;
	return vg_buf_str(&m->out);
}

/* Where the header block ends (the blank line), or NULL. */
static const char *
head_end(const struct vg_http_mem *m)
{
	const char *s = vg_buf_str(&m->out);
	const char *e = strstr(s, "\r\n\r\n");

	return e;
}

int
vg_http_mem_status(const struct vg_http_mem *m)
{
	const char *s = vg_buf_str(&m->out);
	int64_t v = 0;
	char num[4];

	if (!vg_str_has_prefix(s, "Status: ") || strlen(s) < 11)
		return 0;
	memcpy(num, s + 8, 3);
	num[3] = '\0';
	if (vg_str_to_i64(num, 100, 999, &v) != VG_OK)
		return 0;
	return (int)v;
}

const char *
vg_http_mem_header(struct vg_http_mem *m, const char *name)
{
	const char *s = vg_buf_str(&m->out), *end = head_end(m);
	size_t n = strlen(name);

	if (!end)
		return NULL;
	while (s < end) {
		const char *eol = strstr(s, "\r\n");

		if (eol - s > (ptrdiff_t)n && strncasecmp(s, name, n) == 0 && s[n] == ':') {
			const char *v = s + n + 1;
			size_t len;

			while (*v == ' ')
				v++;
			len = (size_t)(eol - v);
			if (len >= sizeof m->header)
				len = sizeof m->header - 1;
			memcpy(m->header, v, len);
			m->header[len] = '\0';
			return m->header;
		}
		s = eol + 2;
	}
	return NULL;
}

const char *
vg_http_mem_body(const struct vg_http_mem *m, size_t *len)
{
	const char *end = head_end(m);
	const char *body = end ? end + 4 : "";

	if (len)
		*len = end ? m->out.len - (size_t)(body - vg_buf_str(&m->out)) : 0;
	return body;
}

size_t
vg_http_mem_consumed(const struct vg_http_mem *m)
{
	return m->pos;
}

bool
vg_http_mem_finished(const struct vg_http_mem *m)
{
	return m->finished;
}
