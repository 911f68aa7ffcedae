/* finding.c - severities, findings, fingerprints, masking, deduplication. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include "core/str.h"
#include "engine/engine.h"
#include "engine/finding.h"

static const struct {
	const char *name;
	double score;       /* SARIF security-severity */
	const char *level;  /* SARIF level */
} sevs[VG_SEV__COUNT] = {
	[VG_SEV_INFO] = {"info", 0.0, "note"},
	[VG_SEV_LOW] = {"low", 3.0, "note"},
	[VG_SEV_MEDIUM] = {"medium", 5.5, "warning"},
	[VG_SEV_HIGH] = {"high", 8.0, "error"},
	[VG_SEV_CRITICAL] = {"critical", 9.5, "error"},
};

static const char *const confs[VG_CONF__COUNT] = {
	[VG_CONF_LOW] = "low", [VG_CONF_MEDIUM] = "medium", [VG_CONF_HIGH] = "high",
};

const char *
vg_sev_name(enum vg_sev sev)
{
	return (unsigned)sev < VG_SEV__COUNT ? sevs[sev].name : "info";
}

enum vg_err
vg_sev_parse(const char *s, enum vg_sev *out)
{
	int i;

	for (i = 0; s && i < VG_SEV__COUNT; i++)
		if (strcasecmp(s, sevs[i].name) == 0) {
			*out = (enum vg_sev)i;
			return VG_OK;
		}
	return VG_ERR_INVALID;
}

double
vg_sev_score(enum vg_sev sev)
{
	return (unsigned)sev < VG_SEV__COUNT ? sevs[sev].score : 0.0;
}

const char *
vg_sev_sarif_level(enum vg_sev sev)
{
	return (unsigned)sev < VG_SEV__COUNT ? sevs[sev].level : "note";
}

const char *
vg_conf_name(enum vg_conf conf)
{
	return (unsigned)conf < VG_CONF__COUNT ? confs[conf] : "low";
}

enum vg_err
vg_conf_parse(const char *s, enum vg_conf *out)
{
	int i;

	for (i = 0; s && i < VG_CONF__COUNT; i++)
		if (strcasecmp(s, confs[i]) == 0) {
			*out = (enum vg_conf)i;
			return VG_OK;
		}
	return VG_ERR_INVALID;
}

void
vg_finding_free(struct vg_finding *f)
{
	if (!f)
		return;
	free(f->rule_id);
	free(f->title);
	free(f->category);
	free(f->path);
	free(f->snippet);
	free(f->message);
	free(f->description);
	free(f->exploit_scenario);
	free(f->recommendation);
	free(f->function);
	free(f->engine);
	free(f->also_rules);
	free(f);
}

/* strdup that maps NULL to NULL and records failure in *bad. */
static char *
dup_or_null(const char *s, int *bad)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

/*
 * A deep copy of f; NULL when out of memory.  The caller frees it.
 */
struct vg_finding *
vg_finding_dup(const struct vg_finding *f)
{
	struct vg_finding *d = malloc(sizeof *d);
	int bad = 0;

	if (!d)
		return NULL;
	*d = *f;
	d->rule_id = dup_or_null(f->rule_id, &bad);
	d->title = dup_or_null(f->title, &bad);
	d->category = dup_or_null(f->category, &bad);
	d->path = dup_or_null(f->path, &bad);
	d->snippet = dup_or_null(f->snippet, &bad);
	d->message = dup_or_null(f->message, &bad);
	d->description = dup_or_null(f->description, &bad);
	d->exploit_scenario = dup_or_null(f->exploit_scenario, &bad);
	d->recommendation = dup_or_null(f->recommendation, &bad);
	d->function = dup_or_null(f->function, &bad);
	d->engine = dup_or_null(f->engine, &bad);
	d->also_rules = dup_or_null(f->also_rules, &bad);
	if (bad) {
		vg_finding_free(d);
		return NULL;
	}
	return d;
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * The JSON form of a finding (new reference, NULL when out of memory).
 * Field names follow the API's finding resource.
 */
json_t *
vg_finding_to_json(const struct vg_finding *f)
{
	json_t *o = json_object(), *cwe = json_array(), *also = json_array();
	size_t i;

	if (!o || !cwe || !also) {
		json_decref(o);
		json_decref(cwe);
		json_decref(also);
		return NULL;
	}
	for (i = 0; i < f->ncwe; i++)
		json_array_append_new(cwe, json_integer(f->cwe[i]));
	if (f->also_rules) {
		const char *p = f->also_rules;

		while (*p) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);

			json_array_append_new(also, json_stringn(p, n));
			p += n + (c ? 1 : 0);
		}
	}
	json_object_set_new(o, "fingerprint", json_string(f->fingerprint));
	json_object_set_new(o, "rule_id", str_or_null(f->rule_id));
	json_object_set_new(o, "title", str_or_null(f->title));
	json_object_set_new(o, "severity", json_string(vg_sev_name(f->severity)));
	json_object_set_new(o, "confidence", json_string(vg_conf_name(f->confidence)));
	json_object_set_new(o, "cwe_ids", cwe);
	json_object_set_new(o, "category", str_or_null(f->category));
	json_object_set_new(o, "file_path", str_or_null(f->path));
	json_object_set_new(o, "line_start", json_integer(f->line_start));
	json_object_set_new(o, "line_end", json_integer(f->line_end));
	json_object_set_new(o, "column", json_integer(f->col_start));
	json_object_set_new(o, "function", str_or_null(f->function));
	json_object_set_new(o, "evidence_snippet", str_or_null(f->snippet));
	json_object_set_new(o, "message", str_or_null(f->message));
	json_object_set_new(o, "description", str_or_null(f->description));
	json_object_set_new(o, "exploit_scenario", str_or_null(f->exploit_scenario));
	json_object_set_new(o, "recommendation", str_or_null(f->recommendation));
	json_object_set_new(o, "engine", str_or_null(f->engine));
	json_object_set_new(o, "also_matched_rules", also);
	json_object_set_new(o, "status", json_string("open"));
	return o;
}

void
vg_finding_fingerprint(const char *rule_id, const char *path, const char *function,
    const char *normalized, unsigned occurrence, char out[VG_FINGERPRINT_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char occ[16];
	const char *parts[6];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;

	snprintf(occ, sizeof occ, "%u", occurrence);
	parts[0] = "vg1";
	parts[1] = rule_id ? rule_id : "";
	parts[2] = path ? path : "";
	parts[3] = function ? function : "";
	parts[4] = normalized ? normalized : "";
	parts[5] = occ;
	memset(md, 0, sizeof md);
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		for (i = 0; i < 6; i++)
			EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	}
	EVP_MD_CTX_free(ctx);
	vg_hex_encode(md, sizeof md, out);
}

void
vg_secret_mask(const char *s, size_t n, char *out, size_t size)
{
	size_t keep = n >= 16 ? 4 : 0, stars = n - keep, i, o = 0;

	if (size == 0)
		return;
	if (stars > 8)
		stars = 8;
	if (stars < 4)
		stars = 4;
	for (i = 0; i < keep && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Only plain ASCII prefixes are kept, so no multibyte char is cut. */
		out[o++] = (c >= 0x21 && c < 0x7f) ? (char)c : '*';
	}
	for (i = 0; i < stars && o + 1 < size; i++)
		out[o++] = '*';
	out[o] = '\0';
}

/* ---- the deduplicating set -------------------------------------------- */

void
vg_finding_set_init(struct vg_finding_set *s)
{
	memset(s, 0, sizeof *s);
}

void
vg_finding_set_free(struct vg_finding_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		vg_finding_free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof *s);
}

static int
same_place(const struct vg_finding *a, const struct vg_finding *b)
{
	int ca = a->ncwe ? a->cwe[0] : 0, cb = b->ncwe ? b->cwe[0] : 0;

	return a->line_start == b->line_start && ca == cb &&
	    strcmp(a->path ? a->path : "", b->path ? b->path : "") == 0;
}

/* Append rule to the comma list *list unless present. */
static enum vg_err
add_also(char **list, const char *rule)
{
	size_t n = *list ? strlen(*list) : 0, r = strlen(rule);
	const char *p = *list;
	char *nl;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == r && memcmp(p, rule, r) == 0)
			return VG_OK;
		p += len + (c ? 1 : 0);
	}
	nl = realloc(*list, n + r + 2);
	if (!nl)
		return VG_ERR_NOMEM;
	if (n)
		nl[n++] = ',';
	memcpy(nl + n, rule, r + 1);
	*list = nl;
	return VG_OK;
}

/*
 * Add f; see finding.h.  Findings are few compared with files, and most
 * land in different files, so the search walks back only over the recent
 * findings of the same path (callers add a file's findings together).
 */
enum vg_err
vg_finding_set_add(struct vg_finding_set *s, struct vg_finding *f,
    size_t *out_index, int *added, int *changed)
{
	enum vg_err err = VG_OK;
	size_t i;

	*added = 0;
	*changed = 0;
	for (i = s->n; i-- > 0;) {
		struct vg_finding *e = s->items[i];

		if (strcmp(e->path ? e->path : "", f->path ? f->path : "") != 0)
			break;
		if (strcmp(e->fingerprint, f->fingerprint) == 0) {
			*out_index = i;
			goto out;
		}
		if (same_place(e, f)) {
			*out_index = i;
			if (f->severity > e->severity) {
				e->severity = f->severity;
				*changed = 1;
			}
			if (f->confidence > e->confidence) {
				e->confidence = f->confidence;
				*changed = 1;
			}
			if (f->rule_id && e->rule_id && strcmp(f->rule_id, e->rule_id) != 0) {
				char *before = e->also_rules ? strdup(e->also_rules) : NULL;

				err = add_also(&e->also_rules, f->rule_id);
				if (!err && (before ? strcmp(before, e->also_rules) != 0 : 1))
					*changed = 1;
				free(before);
			}
			goto out;
		}
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct vg_finding **ni = realloc(s->items, ncap * sizeof *ni);

		if (!ni) {
			err = VG_ERR_NOMEM;
			goto out;
		}
		s->items = ni;
		s->cap = ncap;
	}
	*out_index = s->n;
	s->items[s->n++] = f;
	*added = 1;
	f = NULL;
out:
	vg_finding_free(f);
	return err;
}
