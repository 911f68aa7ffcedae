/*
 * buf.h - growable byte buffers with a hard maximum.
 *
 * A vg_buf owns its data; data is always NUL-terminated (the NUL is not
 * counted in len) so text can be used as a C string.  Appending past max
 * fails with VG_ERR_TOO_LARGE and leaves the buffer unchanged.
 */
#ifndef VG_CORE_BUF_H
#define VG_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "core/err.h"

struct vg_buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes used, excluding the trailing NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* most bytes len may reach */
};

/* Initialise an empty buffer that may grow to max bytes. */
void vg_buf_init(struct vg_buf *b, size_t max);
/* Release the data; the buffer is empty and reusable afterwards. */
void vg_buf_free(struct vg_buf *b);
/* Forget the contents, keep the allocation. */
void vg_buf_reset(struct vg_buf *b);
enum vg_err vg_buf_append(struct vg_buf *b, const void *p, size_t n);
enum vg_err vg_buf_append_str(struct vg_buf *b, const char *s);
enum vg_err vg_buf_append_char(struct vg_buf *b, char c);
enum vg_err vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum vg_err vg_buf_vprintf(struct vg_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The contents as a C string ("" when empty); owned by the buffer. */
const char *vg_buf_str(const struct vg_buf *b);
/* Hand the data to the caller (free() it); the buffer becomes empty. */
char *vg_buf_detach(struct vg_buf *b);

#endif
