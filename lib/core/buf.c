/* buf.c - bounded growable buffers. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"

void
vg_buf_init(struct vg_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
vg_buf_free(struct vg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
vg_buf_reset(struct vg_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for need more bytes plus the NUL. */
static enum vg_err
reserve(struct vg_buf *b, size_t need)
{
	size_t want, cap;
	char *p;

	if (need > b->max || b->len > b->max - need)
		return VG_ERR_TOO_LARGE;
	want = b->len + need + 1;
	if (want <= b->cap)
		return VG_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return VG_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return VG_OK;
}

enum vg_err
vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
	enum vg_err err = reserve(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return VG_OK;
}

enum vg_err
vg_buf_append_str(struct vg_buf *b, const char *s)
{
	return vg_buf_append(b, s, strlen(s));
}

enum vg_err
vg_buf_append_char(struct vg_buf *b, char c)
{
	return vg_buf_append(b, &c, 1);
}

enum vg_err
vg_buf_vprintf(struct vg_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;
	enum vg_err err;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return VG_ERR_INTERNAL;
	if ((err = reserve(b, (size_t)n)) != VG_OK)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return VG_OK;
}

enum vg_err
vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum vg_err err;

	va_start(ap, fmt);
	err = vg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

const char *
vg_buf_str(const struct vg_buf *b)
{
	return b->data ? b->data : "";
}

char *
vg_buf_detach(struct vg_buf *b)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
