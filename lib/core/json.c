/* json.c - strict JSON parsing and typed member access. */
#include "config.h"
#include <string.h>
#include "core/json.h"
#include "core/str.h"

enum vg_err
vg_json_parse(const char *data, size_t n, json_t **out)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (!vg_utf8_valid(data, n))
		return VG_ERR_INVALID_JSON;
	/* No JSON_ALLOW_NUL: a \u0000 inside a string is refused. */
	v = json_loadb(data, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return VG_ERR_INVALID_JSON;
	*out = v;
	return VG_OK;
}

static enum vg_err
member(json_t *obj, const char *key, bool required, json_t **v)
{
	*v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (!*v || json_is_null(*v)) {
		*v = NULL;
		return required ? VG_ERR_INVALID : VG_OK;
	}
	return VG_OK;
}

enum vg_err
vg_json_get_str(json_t *obj, const char *key, bool required, size_t maxlen,
    const char **out)
{
	json_t *v;
	enum vg_err err = member(obj, key, required, &v);

	*out = NULL;
	if (err || !v)
		return err;
	if (!json_is_string(v) || json_string_length(v) > maxlen ||
	    (required && json_string_length(v) == 0) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return VG_ERR_INVALID;
	*out = json_string_value(v);
	return VG_OK;
}

enum vg_err
vg_json_get_int(json_t *obj, const char *key, bool required, int64_t min,
    int64_t max, int64_t *out)
{
	json_t *v;
	enum vg_err err = member(obj, key, required, &v);
	json_int_t i;

	if (err || !v)
		return err;
	if (!json_is_integer(v))
		return VG_ERR_INVALID;
	i = json_integer_value(v);
	if (i < min || i > max)
		return VG_ERR_INVALID;
	*out = (int64_t)i;
	return VG_OK;
}

enum vg_err
vg_json_get_bool(json_t *obj, const char *key, bool required, bool *out)
{
	json_t *v;
	enum vg_err err = member(obj, key, required, &v);

	if (err || !v)
		return err;
	if (!json_is_boolean(v))
		return VG_ERR_INVALID;
	*out = json_is_true(v);
	return VG_OK;
}

char *
vg_json_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
