/*
 * profiles.c - threat profiles: POST/GET /v1/repositories/{id}/threat-profiles,
 * GET/PUT /v1/threat-profiles/{id}.
 *
 * A profile says what matters in a repository: what the application is
 * and who uses it, its assets, trust boundaries and entry points, the
 * weakness classes to focus on (CWE ids or named classes), paths out of
 * scope (globs) and the least severity worth reporting.  Every PUT adds a
 * version; old versions stay readable (?version=N) because a scan keeps
 * the version it used.
 *
 * Validation is strict and names the field: unknown members are refused
 * too, so a typo ("focus_catgories") is an error rather than silently
 * ignored.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "domain/api.h"
#include "domain/api_int.h"
#include "domain/limits.h"

#define DESCRIPTION_MAX 8000
#define LIST_ITEMS_MAX 200
#define ITEM_MAX 1000
#define GLOB_MAX 1024

/* Named weakness classes a profile may focus on (beside CWE-<n>). */
static const char *const named_classes[] = {
	"authentication", "authorization", "injection", "sql-injection", "command-injection",
	"code-injection", "template-injection", "ldap-injection", "xpath-injection", "xss",
	"csrf", "ssrf", "open-redirect", "path-traversal", "file-upload", "xxe",
	"unsafe-deserialization", "memory-safety", "format-string", "race-condition",
	"weak-crypto", "weak-random", "tls", "secrets", "credentials", "cookies",
	"session-management", "access-control", "business-logic", "denial-of-service",
	"information-disclosure", "logging", "configuration", "dependencies",
	"supply-chain", "input-validation",
};

static bool
is_cwe(const char *s)
{
	int64_t n;

	return strncmp(s, "CWE-", 4) == 0 && s[4] >= '1' && s[4] <= '9' &&
	    strlen(s) <= 10 && vg_str_to_i64(s + 4, 1, 999999, &n) == VG_OK;
}

static bool
focus_ok(const char *s)
{
	size_t i;

	if (is_cwe(s))
		return true;
	for (i = 0; i < sizeof named_classes / sizeof named_classes[0]; i++)
		if (strcmp(s, named_classes[i]) == 0)
			return true;
	return false;
}

/* A relative glob: no leading '/', no ".." segment, printable text. */
static bool
glob_ok(const char *s)
{
	const char *p = s;

	if (!vg_api_text_ok(s, GLOB_MAX, false) || s[0] == '/' || strchr(s, '\\'))
		return false;
	while (*p) {
		size_t seg = strcspn(p, "/");

		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += seg;
		if (*p == '/')
			p++;
	}
	return true;
}

static bool
item_ok(const char *s)
{
	return vg_api_text_ok(s, ITEM_MAX, true);
}

/* The list members: name, the check of each item, and the message. */
static const struct list_field {
	const char *key;
	bool (*ok)(const char *item);
	const char *message;
} list_fields[] = {
	{"assets", item_ok, "assets must be a list of strings of 1 to 1000 bytes"},
	{"trust_boundaries", item_ok, "trust_boundaries must be a list of strings of 1 to 1000 bytes"},
	{"entry_points", item_ok, "entry_points must be a list of strings of 1 to 1000 bytes"},
	{"focus_categories", focus_ok,
	    "focus_categories must be a list of CWE ids (\"CWE-89\") or named classes "
	    "(\"injection\", \"xss\", \"authentication\", ...)"},
	{"out_of_scope_paths", glob_ok,
	    "out_of_scope_paths must be a list of relative path globs without \"..\""},
};

/* Check the list member lf of body into content (an empty list when
 * absent); errors recorded. */
static enum vg_err
read_list(struct vg_http_req *req, json_t *body, const struct list_field *lf, json_t *content)
{
	json_t *v = json_object_get(body, lf->key), *item;
	char msg[256];
	size_t i;

	if (!v || json_is_null(v))
		return json_object_set_new(content, lf->key, json_array()) ? VG_ERR_NOMEM : VG_OK;
	if (!json_is_array(v) || json_array_size(v) > LIST_ITEMS_MAX) {
		snprintf(msg, sizeof msg, "%s (at most %d items)", lf->message, LIST_ITEMS_MAX);
		return vg_http_fail(req, VG_ERR_INVALID, msg, lf->key);
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || !lf->ok(json_string_value(item))) {
			snprintf(msg, sizeof msg, "%s; item %zu is not", lf->message, i);
			return vg_http_fail(req, VG_ERR_INVALID, msg, lf->key);
		}
	}
	return json_object_set(content, lf->key, v) ? VG_ERR_NOMEM : VG_OK;
}

/* Whether key is a member a profile body may have. */
static bool
known_key(const char *key)
{
	static const char *const scalars[] = {"name", "description", "min_severity"};
	size_t i;

	for (i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
		if (strcmp(key, scalars[i]) == 0)
			return true;
	for (i = 0; i < sizeof list_fields / sizeof list_fields[0]; i++)
		if (strcmp(key, list_fields[i].key) == 0)
			return true;
	return false;
}

/*
 * Validate a whole profile body: *name is borrowed from body, *content a
 * new object with every field (defaults filled).  Errors
 * recorded, naming the field.
 */
static enum vg_err
read_profile(struct vg_http_req *req, json_t *body, const char **name, json_t **content)
{
	const char *desc = NULL, *sev = NULL, *key;
	json_t *c = NULL, *v;
	size_t i;
	enum vg_err err;

	*content = NULL;
	if ((err = vg_http_body_str(req, body, "name", true, VG_STORE_NAME_MAX, name)))
		return err;
	json_object_foreach(body, key, v) {
		if (!known_key(key))
			return vg_http_fail(req, VG_ERR_INVALID, "unknown member of a threat profile",
			    key);
	}
	if (!vg_api_text_ok(*name, VG_STORE_NAME_MAX, false))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "name must be 1 to 200 bytes of text without control characters", "name");
	if ((err = vg_http_body_str(req, body, "description", false, DESCRIPTION_MAX, &desc)) ||
	    (err = vg_http_body_str(req, body, "min_severity", false, 16, &sev)))
		return err;
	if (desc && *desc && !vg_api_text_ok(desc, DESCRIPTION_MAX, true))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "description must be at most 8000 bytes of text", "description");
	if (sev && vg_severity_rank(sev) == VG_SEVERITY_COUNT)
		return vg_http_fail(req, VG_ERR_INVALID,
		    "min_severity must be critical, high, medium, low or info", "min_severity");
	/* The name is kept in each version too: reading version 1 shows the
	 * profile as it was then, name included. */
	if (!(c = json_pack("{s:s, s:s, s:s}", "name", *name, "description", desc ? desc : "",
	    "min_severity", sev ? sev : "info")))
		return vg_http_fail(req, VG_ERR_NOMEM, NULL, NULL);
	for (i = 0; i < sizeof list_fields / sizeof list_fields[0]; i++)
		if ((err = read_list(req, body, &list_fields[i], c)) != VG_OK) {
			json_decref(c);
			return err == VG_ERR_NOMEM ? vg_http_fail(req, err, NULL, NULL) : err;
		}
	*content = c;
	return VG_OK;
}

enum vg_err
vg_api_profile_create(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_threat_profile p;
	json_t *body = NULL, *content = NULL;
	const char *name = NULL;
	enum vg_err err;

	memset(&p, 0, sizeof p);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc,
	    &repo)) || (err = read_profile(req, body, &name, &content)) != VG_OK ||
	    (err = vg_limits_check(req, sc.store, VG_QUOTA_PROFILES_PER_REPOSITORY, repo.id)))
		goto out;
	vg_str_copy(p.repository_id, sizeof p.repository_id, repo.id);
	vg_str_copy(p.name, sizeof p.name, name);
	vg_str_copy(p.created_by, sizeof p.created_by, sc.who->user_id);
	p.content = content;
	if ((err = vg_store_threat_profile_create(sc.store, &p)) != VG_OK) {
		p.content = NULL;
		vg_http_fail(req, err, NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "threat_profile.created", "threat_profile", p.id,
	    json_pack("{s:s}", "repository_id", repo.id));
	err = vg_http_json(req, 201, vg_api_profile_json(&p));
	p.content = NULL;
out:
	json_decref(content);
	json_decref(body);
	return err;
}

enum vg_err
vg_api_profile_list(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_threat_profile *rows = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_page_args(req, 200, &limit, &cursor)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &repo)))
		return err;
	err = vg_store_threat_profile_list(sc.store, repo.id, cursor, (int)limit, &rows, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, vg_api_profile_json(&rows[i]));
	for (i = 0; i < n; i++)
		vg_threat_profile_clear(&rows[i]);
	err = vg_http_answer_page(req, err, items, next);
	free(rows);
	free(next);
	return err;
}

/* Load profile {id} (at version, 0: latest) and check need through its
 * repository; errors recorded. */
static enum vg_err
profile_scope(struct vg_http_req *req, int64_t version, enum vg_project_need need,
    struct vg_scope *sc, struct vg_threat_profile *p)
{
	const char *id = vg_http_capture(req, "id");
	struct vg_store *s = NULL;
	struct vg_repository repo;
	enum vg_err err;

	memset(p, 0, sizeof *p);
	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	if (!id || !vg_uuid_valid(id) ||
	    (err = vg_store_threat_profile_get(s, id, version, p)) == VG_ERR_NOT_FOUND)
		return vg_http_fail(req, VG_ERR_NOT_FOUND, version ? "no such threat profile or "
		    "version" : "no such threat profile", NULL);
	if (err != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if ((err = vg_api_scope_repository(req, p->repository_id, need, sc, &repo)) != VG_OK) {
		vg_threat_profile_clear(p);
		/* The repository's 404 says "repository"; say what was asked. */
		if (err == VG_ERR_NOT_FOUND)
			vg_http_fail(req, err, "no such threat profile", NULL);
		return err;
	}
	return VG_OK;
}

enum vg_err
vg_api_profile_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_threat_profile p;
	int64_t version = 0;
	enum vg_err err;

	if ((err = vg_http_query_int(req, "version", 1, INT32_MAX, 0, &version)) != VG_OK ||
	    (err = profile_scope(req, version, VG_NEED_READ, &sc, &p)) != VG_OK)
		return err;
	err = vg_http_json(req, 200, vg_api_profile_json(&p));
	vg_threat_profile_clear(&p);
	return err;
}

enum vg_err
vg_api_profile_put(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_threat_profile p;
	json_t *body = NULL, *content = NULL;
	const char *name = NULL;
	enum vg_err err;

	memset(&p, 0, sizeof p);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = profile_scope(req, 0, VG_NEED_WRITE, &sc, &p)) != VG_OK)
		goto out;
	if ((err = read_profile(req, body, &name, &content)) != VG_OK)
		goto out;
	json_decref(p.content);
	p.content = content;
	content = NULL;
	vg_str_copy(p.name, sizeof p.name, name);
	vg_str_copy(p.created_by, sizeof p.created_by, sc.who->user_id);
	if ((err = vg_store_threat_profile_add_version(sc.store, &p, 0)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such threat profile" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "threat_profile.version_added", "threat_profile", p.id,
	    json_pack("{s:I}", "version", (json_int_t)p.version));
	err = vg_http_json(req, 200, vg_api_profile_json(&p));
out:
	vg_threat_profile_clear(&p);
	json_decref(content);
	json_decref(body);
	return err;
}
