/*
 * handler.c - small pieces every route handler needs: the store or a 503,
 * string members of a body with a 400 naming the field, list paging, and
 * the JSON shapes of optional values.
 */
#include "config.h"
#include <stdio.h>
#include "core/json.h"
#include "core/timeutil.h"
#include "http/http.h"

enum vg_err
vg_http_store_or_fail(struct vg_http_req *req, struct vg_store **s)
{
	if (vg_http_store(s) != VG_OK)
		return vg_http_fail(req, VG_ERR_UNAVAILABLE, "the store is unavailable", NULL);
	return VG_OK;
}

enum vg_err
vg_http_body_str(struct vg_http_req *req, json_t *body, const char *key, bool required,
    size_t max, const char **out)
{
	char msg[128];

	if (!json_is_object(body))
		return vg_http_fail(req, VG_ERR_INVALID, "the body must be a JSON object", NULL);
	if (vg_json_get_str(body, key, required, max, out) != VG_OK) {
		snprintf(msg, sizeof msg, "%s must be a string of 1 to %zu bytes", key, max);
		return vg_http_fail(req, VG_ERR_INVALID, msg, key);
	}
	return VG_OK;
}

enum vg_err
vg_http_page_args(struct vg_http_req *req, int64_t max, int64_t *limit, const char **cursor)
{
	enum vg_err err = vg_http_query_int(req, "limit", 1, max, 50, limit);

	*cursor = vg_http_query_get(req, "cursor");
	if (err == VG_OK && *cursor && !**cursor)
		*cursor = NULL;
	return err;
}

enum vg_err
vg_http_answer_page(struct vg_http_req *req, enum vg_err err, json_t *items, const char *next)
{
	if (err == VG_ERR_INVALID) {
		json_decref(items);
		return vg_http_fail(req, err, "the cursor is not one this list handed out", "cursor");
	}
	if (err != VG_OK) {
		json_decref(items);
		return vg_http_fail(req, err, NULL, NULL);
	}
	return vg_http_json(req, 200, json_pack("{s:o, s:o}", "items", items ? items : json_array(),
	    "next_cursor", vg_http_opt_str(next)));
}

enum vg_err
vg_http_items_add(json_t **items, json_t *item)
{
	if (!*items && !(*items = json_array())) {
		json_decref(item);
		return VG_ERR_NOMEM;
	}
	/* jansson refuses a NULL item (a renderer out of memory). */
	return json_array_append_new(*items, item) == 0 ? VG_OK : VG_ERR_NOMEM;
}

json_t *
vg_http_opt_str(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *
vg_http_opt_time(int64_t us)
{
	char at[VG_TIME_RFC3339_LEN];

	if (us == 0)
		return json_null();
	vg_time_format(us, at);
	return json_string(at);
}
