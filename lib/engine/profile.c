/* profile.c - the engine's view of a threat profile, and path globs. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "engine/engine.h"

#define PROFILE_MAX_BYTES (1024 * 1024)
#define PROFILE_MAX_ITEMS 1000
#define PROFILE_MAX_ITEM_LEN 1024

void
vg_profile_free(struct vg_profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nfocus; i++)
		free(p->focus[i]);
	for (i = 0; i < p->nout; i++)
		free(p->out_of_scope[i]);
	for (i = 0; i < p->nin; i++)
		free(p->in_scope[i]);
	free(p->focus);
	free(p->out_of_scope);
	free(p->in_scope);
	free(p->name);
	free(p);
}

enum vg_err
vg_profile_default(struct vg_profile **out)
{
	struct vg_profile *p = calloc(1, sizeof *p);

	*out = NULL;
	if (!p)
		return VG_ERR_NOMEM;
	p->include_tests = true;
	p->min_severity = VG_SEV_INFO;
	*out = p;
	return VG_OK;
}

/*
 * Copy the strings of the first present array member among keys into
 * *list and *n.  A non-array or a non-string item is VG_ERR_INVALID.
 */
static enum vg_err
string_list(json_t *obj, const char *const *keys, char ***list, size_t *n)
{
	json_t *arr = NULL, *v;
	size_t i, k;

	for (k = 0; keys[k] && !arr; k++)
		arr = json_object_get(obj, keys[k]);
	if (!arr || json_is_null(arr))
		return VG_OK;
	if (json_is_string(arr)) {
		/* One string is accepted as a one-item list. */
		*list = calloc(1, sizeof **list);
		if (!*list || !((*list)[0] = strdup(json_string_value(arr))))
			return VG_ERR_NOMEM;
		*n = 1;
		return VG_OK;
	}
	if (!json_is_array(arr) || json_array_size(arr) > PROFILE_MAX_ITEMS)
		return VG_ERR_INVALID;
	*list = calloc(json_array_size(arr) + 1, sizeof **list);
	if (!*list)
		return VG_ERR_NOMEM;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) > PROFILE_MAX_ITEM_LEN)
			return VG_ERR_INVALID;
		if (json_string_length(v) == 0)
			continue;
		(*list)[*n] = strdup(json_string_value(v));
		if (!(*list)[*n])
			return VG_ERR_NOMEM;
		(*n)++;
	}
	return VG_OK;
}

/*
 * Build a profile from obj (borrowed).  A "profile" or "content" member
 * holding an object is looked into first, so an API profile resource works.
 */
enum vg_err
vg_profile_from_json(json_t *obj, struct vg_profile **out)
{
	static const char *const focus_keys[] = {"focus", "focus_areas", "focus_categories", NULL};
	static const char *const out_keys[] = {"out_of_scope", "out_of_scope_paths",
		"exclude", "exclude_paths", NULL};
	static const char *const in_keys[] = {"in_scope", "in_scope_paths", "include", NULL};
	struct vg_profile *p = NULL;
	json_t *inner;
	const char *name = NULL, *sev = NULL;
	enum vg_err err;

	*out = NULL;
	if (!json_is_object(obj))
		return VG_ERR_INVALID;
	inner = json_object_get(obj, "profile");
	if (!json_is_object(inner))
		inner = json_object_get(obj, "content");
	if (json_is_object(inner))
		obj = inner;
	if ((err = vg_profile_default(&p)))
		goto out;
	if ((err = vg_json_get_str(obj, "name", false, 256, &name)))
		goto out;
	if (name && !(p->name = strdup(name))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = string_list(obj, focus_keys, &p->focus, &p->nfocus)) ||
	    (err = string_list(obj, out_keys, &p->out_of_scope, &p->nout)) ||
	    (err = string_list(obj, in_keys, &p->in_scope, &p->nin)))
		goto out;
	if ((err = vg_json_get_bool(obj, "include_vendored", false, &p->include_vendored)) ||
	    (err = vg_json_get_bool(obj, "include_tests", false, &p->include_tests)))
		goto out;
	if ((err = vg_json_get_str(obj, "min_severity", false, 16, &sev)))
		goto out;
	if (sev && (err = vg_sev_parse(sev, &p->min_severity)))
		goto out;
	*out = p;
	p = NULL;
out:
	vg_profile_free(p);
	return err;
}

/*
 * Read path (at most 1 MiB) and parse it as a profile.  VG_ERR_IO when it
 * cannot be read, VG_ERR_INVALID_JSON or VG_ERR_INVALID when malformed.
 */
enum vg_err
vg_profile_load(const char *path, struct vg_profile **out)
{
	FILE *fp = NULL;
	char *data = NULL;
	size_t n;
	json_t *obj = NULL;
	enum vg_err err;

	*out = NULL;
	if (!(fp = fopen(path, "rb"))) {
		err = VG_ERR_IO;
		goto out;
	}
	if (!(data = malloc(PROFILE_MAX_BYTES + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	n = fread(data, 1, PROFILE_MAX_BYTES + 1, fp);
	if (ferror(fp)) {
		err = VG_ERR_IO;
		goto out;
	}
	if (n > PROFILE_MAX_BYTES) {
		err = VG_ERR_TOO_LARGE;
		goto out;
	}
	if ((err = vg_json_parse(data, n, &obj)))
		goto out;
	err = vg_profile_from_json(obj, out);
out:
	json_decref(obj);
	free(data);
	if (fp)
		fclose(fp);
	return err;
}

/*
 * Glob matching over '/'-separated paths: '*' and '?' stay within one
 * component, '**' crosses components.  Iterative with one backtrack point
 * per star kind, so hostile globs cannot blow up.
 */
static bool
glob_full(const char *g, const char *s)
{
	const char *gs = NULL, *ss = NULL;   /* last '*' */
	const char *gd = NULL, *sd = NULL;   /* last '**' */

	while (*s) {
		if (g[0] == '*' && g[1] == '*') {
			g += 2;
			if (*g == '/')
				g++;   /* a double star and slash also match zero directories */
			gd = g;
			sd = s;
			gs = NULL;
			continue;
		}
		if (*g == '*') {
			gs = ++g;
			ss = s;
			continue;
		}
		if (*g && (*g == *s || (*g == '?' && *s != '/'))) {
			g++;
			s++;
			continue;
		}
		if (gs && *ss != '/') {
			g = gs;
			s = ++ss;
			continue;
		}
		if (gd) {
			g = gd;
			s = ++sd;
			gs = NULL;
			continue;
		}
		return false;
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

bool
vg_glob_match(const char *glob, const char *path)
{
	char pre[4096];
	const char *base, *p;
	size_t gl = strlen(glob);

	if (gl == 0)
		return false;
	if (glob[0] == '/')
		glob++;
	if (glob_full(glob, path))
		return true;
	/* A glob ending in a slash and a double star also names the folder. */
	gl = strlen(glob);
	if (gl > 3 && strcmp(glob + gl - 3, "/**") == 0 && strlen(path) == gl - 3 &&
	    strncmp(glob, path, gl - 3) == 0)
		return true;
	/* "docs" or "docs/" also covers everything below docs/. */
	for (p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
		size_t n = (size_t)(p - path);
		size_t g2 = strlen(glob);
		char gbuf[4096];

		if (n >= sizeof pre || g2 >= sizeof gbuf)
			break;
		memcpy(pre, path, n);
		pre[n] = '\0';
		memcpy(gbuf, glob, g2 + 1);
		if (g2 > 0 && gbuf[g2 - 1] == '/')
			gbuf[g2 - 1] = '\0';
		if (glob_full(gbuf, pre))
			return true;
	}
	if (!strchr(glob, '/')) {
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (glob_full(glob, base))
			return true;
	}
	return false;
}
