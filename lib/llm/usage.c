/* usage.c - token usage from Chat Completions and Responses answers. */
#include "config.h"
#include <string.h>
#include "core/json.h"
#include "core/str.h"
#include "llm/usage.h"

/* The names each dialect gives the same four counts. */
static const struct dialect {
	const char *input, *output, *input_details, *output_details;
} dialects[] = {
	[VG_LLM_API_CHAT] = {"prompt_tokens", "completion_tokens",
	    "prompt_tokens_details", "completion_tokens_details"},
	[VG_LLM_API_RESPONSES] = {"input_tokens", "output_tokens",
	    "input_tokens_details", "output_tokens_details"},
};

/* The Responses stream events that end a stream, and the status each
 * gives. */
static const struct {
	const char *type, *status;
} responses_terminal[] = {
	{"response.completed", "completed"},
	{"response.incomplete", "incomplete"},
	{"response.failed", "failed"},
};

int64_t
vg_llm_usage_total(const struct vg_llm_usage *u)
{
	return u->input_tokens + u->output_tokens;
}

/* A count: a non-negative integer up to VG_LLM_MAX_TOKENS. */
static bool
count(json_t *v, int64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < 0 || i > VG_LLM_MAX_TOKENS)
		return false;
	*out = (int64_t)i;
	return true;
}

/* A detail count (obj.details.key), 0 when absent or not a count, and
 * never more than whole: a detail is part of its count. */
static int64_t
detail(json_t *obj, const char *details, const char *key, int64_t whole)
{
	int64_t v = 0;

	if (!count(json_object_get(json_object_get(obj, details), key), &v))
		return 0;
	return v > whole ? whole : v;
}

enum vg_err
vg_llm_usage_from_json(enum vg_llm_api api, json_t *usage, struct vg_llm_usage *out)
{
	const struct dialect *d;

	memset(out, 0, sizeof *out);
	if ((unsigned)api >= sizeof dialects / sizeof dialects[0] || !json_is_object(usage))
		return VG_ERR_INVALID;
	d = &dialects[api];
	if (!count(json_object_get(usage, d->input), &out->input_tokens) ||
	    !count(json_object_get(usage, d->output), &out->output_tokens)) {
		memset(out, 0, sizeof *out);
		return VG_ERR_INVALID;
	}
	out->cached_input_tokens = detail(usage, d->input_details, "cached_tokens",
	    out->input_tokens);
	out->reasoning_tokens = detail(usage, d->output_details, "reasoning_tokens",
	    out->output_tokens);
	return VG_OK;
}

void
vg_llm_outcome_init(struct vg_llm_outcome *out)
{
	memset(out, 0, sizeof *out);
}

/* Copy a string member into dst when it is one and fits; else leave dst. */
static void
copy_str(json_t *obj, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v) && json_string_length(v) < size &&
	    strlen(json_string_value(v)) == json_string_length(v))
		vg_str_copy(dst, size, json_string_value(v));
}

/* Take id, model and usage from an answer object (a Chat body or chunk,
 * or a Responses response object).  Returns whether it held usage. */
static bool
take_answer(struct vg_llm_outcome *out, enum vg_llm_api api, json_t *obj)
{
	json_t *usage = json_object_get(obj, "usage");
	struct vg_llm_usage u;

	copy_str(obj, "id", out->response_id, sizeof out->response_id);
	copy_str(obj, "model", out->model, sizeof out->model);
	if (usage && !json_is_null(usage) && vg_llm_usage_from_json(api, usage, &u) == VG_OK) {
		out->usage = u;
		out->have_usage = true;
		return true;
	}
	return false;
}

/* Whether obj carries a non-null "error" member. */
static bool
has_error(json_t *obj)
{
	json_t *e = json_object_get(obj, "error");

	return e && !json_is_null(e);
}

enum vg_err
vg_llm_outcome_from_body(enum vg_llm_api api, const char *body, size_t n,
    struct vg_llm_outcome *out)
{
	json_t *root = NULL;
	enum vg_err err;

	vg_llm_outcome_init(out);
	if ((unsigned)api >= sizeof dialects / sizeof dialects[0])
		return VG_ERR_INVALID;
	if ((err = vg_json_parse(body, n, &root)) != VG_OK)
		return err;
	if (!json_is_object(root)) {
		err = VG_ERR_INVALID_JSON;
		goto out;
	}
	if (has_error(root) && api == VG_LLM_API_CHAT) {
		vg_str_copy(out->status, sizeof out->status, "error");
		goto out;
	}
	if (api == VG_LLM_API_RESPONSES && has_error(root) &&
	    !json_is_string(json_object_get(root, "status"))) {
		/* An error envelope, not a failed response object. */
		vg_str_copy(out->status, sizeof out->status, "error");
		goto out;
	}
	take_answer(out, api, root);
	out->terminal = true;
	if (api == VG_LLM_API_RESPONSES)
		copy_str(root, "status", out->status, sizeof out->status);
	else
		vg_str_copy(out->status, sizeof out->status, "completed");
out:
	json_decref(root);
	return err;
}

/*
 * Whether a Chat chunk may hold something we read: the first chunk (id
 * and model), an "error", or a "usage" that is not null.  Most chunks are
 * content deltas; skipping their parse keeps the proxy's cost per chunk
 * to a scan.
 */
static bool
chat_chunk_worth_parsing(const struct vg_llm_outcome *out, const char *data, size_t n)
{
	const char *p = data, *end = data + n, *hit;

	if (!out->response_id[0] || memmem(data, n, "\"error\"", 7))
		return true;
	while ((hit = memmem(p, (size_t)(end - p), "\"usage\"", 7)) != NULL) {
		p = hit + 7;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':'))
			p++;
		if ((size_t)(end - p) < 4 || memcmp(p, "null", 4) != 0)
			return true;
	}
	return false;
}

static void
chat_event(struct vg_llm_outcome *out, const char *data, size_t n, bool *usage_only)
{
	json_t *root = NULL, *choices;
	bool took;

	if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
		out->terminal = true;
		if (!out->status[0])
			vg_str_copy(out->status, sizeof out->status, "completed");
		return;
	}
	if (!chat_chunk_worth_parsing(out, data, n) || vg_json_parse(data, n, &root) != VG_OK)
		return;
	if (!json_is_object(root))
		goto out;
	if (has_error(root)) {
		vg_str_copy(out->status, sizeof out->status, "error");
		goto out;
	}
	took = take_answer(out, VG_LLM_API_CHAT, root);
	choices = json_object_get(root, "choices");
	if (usage_only && took && (!choices || json_is_null(choices) ||
	    (json_is_array(choices) && json_array_size(choices) == 0)))
		*usage_only = true;
out:
	json_decref(root);
}

/* Lifecycle events carry the response object; deltas are skipped unread. */
static bool
responses_event_worth_parsing(const char *type)
{
	return strcmp(type, "message") == 0 || strcmp(type, "error") == 0 ||
	    (vg_str_has_prefix(type, "response.") && !strchr(type + 9, '.'));
}

static void
responses_event(struct vg_llm_outcome *out, const char *sse_type, const char *data, size_t n)
{
	json_t *root = NULL, *response;
	const char *type;
	size_t i;

	if (!responses_event_worth_parsing(sse_type) || vg_json_parse(data, n, &root) != VG_OK)
		return;
	if (!json_is_object(root))
		goto out;
	/* The data's own type names the event; the event field repeats it. */
	type = json_string_value(json_object_get(root, "type"));
	if (!type)
		type = sse_type;
	if (strcmp(type, "error") == 0) {
		vg_str_copy(out->status, sizeof out->status, "error");
		goto out;
	}
	response = json_object_get(root, "response");
	if (!json_is_object(response) || !vg_str_has_prefix(type, "response."))
		goto out;
	take_answer(out, VG_LLM_API_RESPONSES, response);
	for (i = 0; i < sizeof responses_terminal / sizeof responses_terminal[0]; i++) {
		if (strcmp(type, responses_terminal[i].type) == 0) {
			out->terminal = true;
			vg_str_copy(out->status, sizeof out->status, responses_terminal[i].status);
		}
	}
out:
	json_decref(root);
}

enum vg_err
vg_llm_outcome_event(struct vg_llm_outcome *out, enum vg_llm_api api,
    const char *type, const char *data, size_t n, bool *usage_only)
{
	if (usage_only)
		*usage_only = false;
	if (api == VG_LLM_API_CHAT)
		chat_event(out, data, n, usage_only);
	else if (api == VG_LLM_API_RESPONSES)
		responses_event(out, type ? type : "message", data, n);
	else
		return VG_ERR_INVALID;
	return VG_OK;
}
