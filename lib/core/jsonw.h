/*
 * jsonw.h - JSON text written straight into a buffer, for answers too big
 * to build as a jansson tree first and dump.
 *
 * The text is exactly what vg_json_dump gives for the same values:
 * compact, members in the order written, strings escaped the same way
 * (\" \\ \b \f \n \r \t, any other control character as \u00XX with
 * capital hex digits, everything else as it is, '/' and non-ASCII
 * included), so a writer can stand in for a tree without changing a byte
 * of an answer.  A string that is not valid UTF-8 fails, as it does in
 * jansson (VG_ERR_INVALID).
 *
 * A writer keeps its first error, after which every write does nothing
 * and returns it, and it puts the commas in itself: a caller writes a
 * whole answer and looks at the outcome once.  Keys and values alternate
 * inside objects; the writer does not check the grammar.
 */
#ifndef VG_CORE_JSONW_H
#define VG_CORE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/buf.h"
#include "core/err.h"

struct vg_jsonw {
	struct vg_buf *b;     /* the text is appended here; the caller owns it */
	enum vg_err err;      /* the first failure, VG_OK while none */
	bool comma;           /* a value ended at this level: a ',' comes first */
};

/* A writer appending to b (which the caller initialised). */
void vg_jsonw_init(struct vg_jsonw *w, struct vg_buf *b);

/* Open and close an object or an array. */
enum vg_err vg_jsonw_object(struct vg_jsonw *w);
enum vg_err vg_jsonw_object_end(struct vg_jsonw *w);
enum vg_err vg_jsonw_array(struct vg_jsonw *w);
enum vg_err vg_jsonw_array_end(struct vg_jsonw *w);

/* A member's key, in an object; its value is written next. */
enum vg_err vg_jsonw_key(struct vg_jsonw *w, const char *key);

/* Values.  str and strn write a string of UTF-8 text (n bytes, NUL bytes
 * allowed, for strn); str_or_null writes null for NULL or "". */
enum vg_err vg_jsonw_str(struct vg_jsonw *w, const char *s);
enum vg_err vg_jsonw_strn(struct vg_jsonw *w, const char *s, size_t n);
enum vg_err vg_jsonw_str_or_null(struct vg_jsonw *w, const char *s);
enum vg_err vg_jsonw_int(struct vg_jsonw *w, int64_t v);
enum vg_err vg_jsonw_null(struct vg_jsonw *w);
/* Any jansson value (borrowed), written as vg_json_dump would. */
enum vg_err vg_jsonw_value(struct vg_jsonw *w, const json_t *v);
/* The time us (microseconds since the epoch) as a string, exactly as
 * vg_time_format writes it, without its printf (an answer may hold
 * hundreds of times). */
enum vg_err vg_jsonw_time(struct vg_jsonw *w, int64_t us);

#endif
