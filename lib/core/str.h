/*
 * str.h - bounded string helpers and checked number parsing.
 *
 * These replace strcpy/strcat/atoi and friends (DESIGN.md section 9): every
 * copy is bounded by the destination's size and every number is parsed with
 * strtoll/strtoull and range-checked.
 */
#ifndef VG_CORE_STR_H
#define VG_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

/* Copy src into dst (size bytes, always NUL-terminated when size > 0).
 * Returns VG_ERR_TOO_LARGE when src did not fit (dst holds a prefix). */
enum vg_err vg_str_copy(char *dst, size_t size, const char *src);
/* Parse a whole decimal integer within [min, max]; no trailing garbage,
 * no leading blanks.  VG_ERR_INVALID otherwise. */
enum vg_err vg_str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parse a boolean: 1/0, true/false, yes/no, on/off (any case). */
enum vg_err vg_str_to_bool(const char *s, bool *out);
/* Whether the n bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool vg_utf8_valid(const char *s, size_t n);
/* Constant-time comparison of two byte strings of the same length. */
bool vg_ct_equal(const void *a, const void *b, size_t n);
/* Whether s starts with prefix. */
bool vg_str_has_prefix(const char *s, const char *prefix);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void vg_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
