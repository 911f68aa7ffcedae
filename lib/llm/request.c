/* request.c - read and adjust an OpenAI-compatible request body. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/str.h"
#include "llm/request.h"

/* The output cap members of each dialect, and the one the proxy sets. */
static const struct {
	const char *caps[2];
	const char *set;
} cap_names[] = {
	[VG_LLM_API_CHAT] = {{"max_completion_tokens", "max_tokens"}, "max_completion_tokens"},
	[VG_LLM_API_RESPONSES] = {{"max_output_tokens", NULL}, "max_output_tokens"},
};

#define NAPIS (sizeof cap_names / sizeof cap_names[0])

/* An optional boolean member; null counts as absent. */
static bool
opt_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

enum vg_err
vg_llm_request_parse(enum vg_llm_api api, const char *body, size_t n,
    struct vg_llm_request *out, json_t **root, const char **field)
{
	json_t *doc = NULL, *v, *opts;
	const char *bad = NULL;
	size_t i;
	enum vg_err err;

	memset(out, 0, sizeof *out);
	if (root)
		*root = NULL;
	if (field)
		*field = NULL;
	if ((unsigned)api >= NAPIS)
		return VG_ERR_INVALID;
	out->api = api;
	if ((err = vg_json_parse(body, n, &doc)) != VG_OK)
		return err;
	err = VG_ERR_INVALID;
	if (!json_is_object(doc)) {
		err = VG_ERR_INVALID_JSON;
		goto out;
	}
	v = json_object_get(doc, "model");
	if (!json_is_string(v) || json_string_length(v) > VG_LLM_MODEL_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    !vg_llm_model_name_valid(json_string_value(v))) {
		bad = "model";
		goto out;
	}
	vg_str_copy(out->model, sizeof out->model, json_string_value(v));
	if (!opt_bool(doc, "stream", &out->stream)) {
		bad = "stream";
		goto out;
	}
	for (i = 0; i < 2 && cap_names[api].caps[i]; i++) {
		const char *name = cap_names[api].caps[i];

		v = json_object_get(doc, name);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > VG_LLM_MAX_TOKENS) {
			bad = name;
			goto out;
		}
		if (!out->output_cap || json_integer_value(v) < out->output_cap)
			out->output_cap = json_integer_value(v);
	}
	if (api == VG_LLM_API_CHAT && (opts = json_object_get(doc, "stream_options")) &&
	    !json_is_null(opts)) {
		if (!json_is_object(opts)) {
			bad = "stream_options";
			goto out;
		}
		if (!opt_bool(opts, "include_usage", &out->include_usage)) {
			bad = "stream_options.include_usage";
			goto out;
		}
	}
	err = VG_OK;
	if (root) {
		*root = doc;
		doc = NULL;
	}
out:
	if (field)
		*field = bad;
	json_decref(doc);
	return err;
}

enum vg_err
vg_llm_request_rewrite(json_t *root, enum vg_llm_api api, int64_t cap,
    bool include_usage, char **body, size_t *len)
{
	json_t *opts;
	char *s;

	*body = NULL;
	*len = 0;
	if ((unsigned)api >= NAPIS || !json_is_object(root) || cap < 0)
		return VG_ERR_INVALID;
	if (cap > 0 && json_object_set_new(root, cap_names[api].set, json_integer(cap)) != 0)
		return VG_ERR_NOMEM;
	if (include_usage && api == VG_LLM_API_CHAT) {
		opts = json_object_get(root, "stream_options");
		if (!json_is_object(opts)) {
			if (json_object_set_new(root, "stream_options", json_object()) != 0)
				return VG_ERR_NOMEM;
			opts = json_object_get(root, "stream_options");
		}
		if (json_object_set_new(opts, "include_usage", json_true()) != 0)
			return VG_ERR_NOMEM;
	}
	if (!(s = vg_json_dump(root)))
		return VG_ERR_NOMEM;
	*body = s;
	*len = strlen(s);
	return VG_OK;
}
