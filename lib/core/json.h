/*
 * json.h - helpers over jansson for reading request bodies and building
 * answers with field-level validation errors.
 *
 * Getters return VG_ERR_INVALID and name the offending field in *field
 * (a static string: the key itself) so the caller can put it in the error
 * envelope's details.
 */
#ifndef VG_CORE_JSON_H
#define VG_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"

/* Parse n bytes as one JSON value (object or array at the top), rejecting
 * invalid UTF-8, NUL bytes and nesting deeper than jansson's limit.
 * *out is a new reference; VG_ERR_INVALID_JSON on failure. */
enum vg_err vg_json_parse(const char *data, size_t n, json_t **out);

/* String member of obj.  Missing: VG_OK with *out NULL unless required.
 * Wrong type, empty when required, or longer than maxlen: VG_ERR_INVALID.
 * *out is borrowed from obj. */
enum vg_err vg_json_get_str(json_t *obj, const char *key, bool required,
    size_t maxlen, const char **out);
/* Integer member within [min, max]; missing leaves *out unchanged. */
enum vg_err vg_json_get_int(json_t *obj, const char *key, bool required,
    int64_t min, int64_t max, int64_t *out);
/* Boolean member; missing leaves *out unchanged. */
enum vg_err vg_json_get_bool(json_t *obj, const char *key, bool required, bool *out);

/* Serialise compactly; the caller frees the string with free(). */
char *vg_json_dump(const json_t *v);

#endif
