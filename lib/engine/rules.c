/* rules.c - loading and compiling the JSON rule files. */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/json.h"
#include "core/str.h"
#include "engine/rules.h"

#define RULE_FILE_MAX_BYTES (4 * 1024 * 1024)
#define RULE_DIR_MAX_FILES 1000

/* ---- chains ----------------------------------------------------------- */

void
vg_chain_free(struct vg_chain *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		free(c->comp[i]);
	free(c->comp);
	memset(c, 0, sizeof *c);
}

/*
 * Parse a dotted chain; components are separated by '.', "->" or "::".
 * VG_ERR_INVALID for an empty chain or an empty component.
 */
enum vg_err
vg_chain_parse(const char *s, struct vg_chain *c)
{
	const char *p;
	enum vg_err err = VG_OK;

	memset(c, 0, sizeof *c);
	if (*s == '^') {
		c->anchored = 1;
		s++;
	}
	if (!*s || strlen(s) > 256)
		return VG_ERR_INVALID;
	p = s;
	while (*p) {
		size_t n = 0;
		char **nc;

		while (p[n] && p[n] != '.' && !(p[n] == '-' && p[n + 1] == '>') &&
		    !(p[n] == ':' && p[n + 1] == ':'))
			n++;
		if (n == 0) {
			err = VG_ERR_INVALID;
			break;
		}
		nc = realloc(c->comp, (c->n + 1) * sizeof *nc);
		if (!nc) {
			err = VG_ERR_NOMEM;
			break;
		}
		c->comp = nc;
		if (!(c->comp[c->n] = strndup(p, n))) {
			err = VG_ERR_NOMEM;
			break;
		}
		c->n++;
		p += n;
		if (*p == '.')
			p++;
		else if (*p)
			p += 2;
		if (*p == '\0' && (p[-1] == '.' || p[-1] == '>' || p[-1] == ':')) {
			err = VG_ERR_INVALID;
			break;
		}
	}
	if (err)
		vg_chain_free(c);
	return err;
}

/* ---- regexes and patterns -------------------------------------------- */

static void
regex_free(regex_t *re)
{
	if (!re)
		return;
	regfree(re);
	free(re);
}

/* Compile a case-insensitive extended regex; NULL and msg on failure. */
static regex_t *
regex_new(const char *src, char *msg, size_t msglen)
{
	regex_t *re = malloc(sizeof *re);
	int rc;

	if (!re) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	rc = regcomp(re, src, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char e[128];

		regerror(rc, re, e, sizeof e);
		snprintf(msg, msglen, "bad regex \"%.80s\": %s", src, e);
		free(re);
		return NULL;
	}
	return re;
}

/* Same with capture groups (secrets need the match offsets). */
static regex_t *
regex_new_sub(const char *src, char *msg, size_t msglen)
{
	regex_t *re = malloc(sizeof *re);
	int rc;

	if (!re) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	rc = regcomp(re, src, REG_EXTENDED);
	if (rc != 0) {
		char e[128];

		regerror(rc, re, e, sizeof e);
		snprintf(msg, msglen, "bad regex \"%.80s\": %s", src, e);
		free(re);
		return NULL;
	}
	return re;
}

void
vg_pattern_free(struct vg_pattern *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		for (j = 0; j < p->els[i].nalts; j++)
			free(p->els[i].alts[j]);
		free(p->els[i].alts);
		regex_free(p->els[i].re);
	}
	free(p->els);
	free(p->src);
	free(p);
}

static const struct {
	const char *name;
	enum vg_pel_kind kind;
} pel_names[] = {
	{"$ID", VG_PEL_ID}, {"$STR", VG_PEL_STR}, {"$NUM", VG_PEL_NUM},
	{"$ANY", VG_PEL_ANY}, {"$ARG", VG_PEL_ARG}, {"$NONLIT", VG_PEL_NONLIT},
	{"$ARRAY", VG_PEL_ARRAY},
};

/* Split a literal element into '|' alternatives ("|" and "||" stay whole). */
static int
split_alts(struct vg_pel *el, const char *w, size_t n)
{
	size_t i, start = 0;
	int all_bars = 1;

	for (i = 0; i < n; i++)
		if (w[i] != '|' && w[i] != '=')
			all_bars = 0;
	el->kind = VG_PEL_LIT;
	for (i = 0; i <= n; i++) {
		if (i == n || (!all_bars && w[i] == '|')) {
			char **na;

			if (i == start)
				return -1;
			na = realloc(el->alts, (el->nalts + 1) * sizeof *na);
			if (!na)
				return -1;
			el->alts = na;
			if (!(el->alts[el->nalts] = strndup(w + start, i - start)))
				return -1;
			el->nalts++;
			start = i + 1;
		}
	}
	return 0;
}

/*
 * Compile a token pattern (see rules.h); NULL with msg when malformed.
 * The caller frees the result with vg_pattern_free.
 */
struct vg_pattern *
vg_pattern_compile(const char *src, char *msg, size_t msglen)
{
	struct vg_pattern *p = calloc(1, sizeof *p);
	const char *s = src;

	if (!p || !(p->src = strdup(src)))
		goto fail_mem;
	while (*s) {
		const char *w;
		size_t n, k;
		struct vg_pel *el, *ne;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		w = s;
		while (*s && *s != ' ')
			s++;
		n = (size_t)(s - w);
		if (p->n >= 64) {
			snprintf(msg, msglen, "pattern \"%.60s\" is too long", src);
			goto fail;
		}
		ne = realloc(p->els, (p->n + 1) * sizeof *ne);
		if (!ne)
			goto fail_mem;
		p->els = ne;
		el = &p->els[p->n++];
		memset(el, 0, sizeof *el);
		if (n == 3 && memcmp(w, "...", 3) == 0) {
			el->kind = VG_PEL_DOTS;
			continue;
		}
		if (w[0] == '$' && n > 1 && w[1] >= 'A' && w[1] <= 'Z') {
			const char *tilde = memchr(w, '~', n);
			size_t base = tilde ? (size_t)(tilde - w) : n;
			int found = 0;

			for (k = 0; k < sizeof pel_names / sizeof pel_names[0]; k++)
				if (strlen(pel_names[k].name) == base &&
				    memcmp(pel_names[k].name, w, base) == 0) {
					el->kind = pel_names[k].kind;
					found = 1;
				}
			if (!found) {
				snprintf(msg, msglen, "unknown element \"%.*s\" in pattern \"%.60s\"",
				    (int)base, w, src);
				goto fail;
			}
			if (tilde) {
				char re[512];

				if (n - base - 1 >= sizeof re || n - base - 1 == 0) {
					snprintf(msg, msglen, "bad regex in pattern \"%.60s\"", src);
					goto fail;
				}
				memcpy(re, tilde + 1, n - base - 1);
				re[n - base - 1] = '\0';
				if (!(el->re = regex_new(re, msg, msglen)))
					goto fail;
			}
			continue;
		}
		if (split_alts(el, w, n) < 0) {
			snprintf(msg, msglen, "bad alternatives in pattern \"%.60s\"", src);
			goto fail;
		}
	}
	if (p->n == 0 || p->els[0].kind == VG_PEL_DOTS) {
		snprintf(msg, msglen, "pattern \"%.60s\" is empty or starts with ...", src);
		goto fail;
	}
	return p;
fail_mem:
	snprintf(msg, msglen, "out of memory");
fail:
	vg_pattern_free(p);
	return NULL;
}

/* ---- the rule set ----------------------------------------------------- */

enum vg_err
vg_ruleset_new(struct vg_ruleset **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? VG_OK : VG_ERR_NOMEM;
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_patv(struct vg_pattern **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vg_pattern_free(v[i]);
	free(v);
}

static void
rule_clear(struct vg_rule *r)
{
	size_t i;

	free(r->id);
	free(r->title);
	free(r->category);
	free(r->description);
	free(r->exploit);
	free(r->recommendation);
	for (i = 0; i < r->nsinks; i++) {
		struct vg_sink *s = &r->sinks[i];

		vg_chain_free(&s->chain);
		free(s->keyword);
		free_strv(s->kwargs, s->nkwargs);
		vg_pattern_free(s->when);
		vg_pattern_free(s->unless);
		regex_free(s->literal);
		regex_free(s->safe_prefix);
		regex_free(s->file);
	}
	free(r->sinks);
	free_patv(r->pats, r->npats);
	free_patv(r->unless, r->nunless);
	free_patv(r->unless_fn, r->nunless_fn);
	regex_free(r->context);
	regex_free(r->file);
	regex_free(r->file_unless);
	regex_free(r->name);
	regex_free(r->placeholder);
	regex_free(r->regex);
	regex_free(r->anchored);
	free(r->prefix);
	free(r->back_chars);
	memset(r, 0, sizeof *r);
}

static void
taint_lang_clear(struct vg_taint_lang *t)
{
	size_t i;

	for (i = 0; i < t->nsources; i++)
		vg_chain_free(&t->sources[i].chain);
	free(t->sources);
	for (i = 0; i < t->nsanitizers; i++)
		vg_chain_free(&t->sanitizers[i].chain);
	free(t->sanitizers);
	for (i = 0; i < t->nprops; i++)
		vg_chain_free(&t->props[i].chain);
	free(t->props);
	free_strv(t->mutators, t->nmutators);
	free_strv(t->param_annotations, t->nparam_annotations);
	memset(t, 0, sizeof *t);
}

void
vg_ruleset_free(struct vg_ruleset *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	for (i = 0; i < VG_LANG__COUNT; i++)
		taint_lang_clear(&rs->taint[i]);
	for (i = 0; i < rs->nclasses; i++)
		free(rs->classes[i]);
	free(rs);
}

int
vg_ruleset_class(const struct vg_ruleset *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->nclasses; i++)
		if (strcmp(rs->classes[i], name) == 0)
			return (int)i;
	return -1;
}

/* The bit index of class name, adding it when new; -1 when full. */
static int
class_intern(struct vg_ruleset *rs, const char *name)
{
	int c = vg_ruleset_class(rs, name);

	if (c >= 0)
		return c;
	if (rs->nclasses >= VG_TAINT_MAX_CLASSES)
		return -1;
	if (!(rs->classes[rs->nclasses] = strdup(name)))
		return -1;
	return (int)rs->nclasses++;
}

/* Loading context: which file, and where the message goes. */
struct ld {
	struct vg_ruleset *rs;
	const char *file;
	char *msg;
	size_t msglen;
};

static enum vg_err
bad(struct ld *L, const char *what, const char *where)
{
	if (!*L->msg)
		snprintf(L->msg, L->msglen, "%s: %s%s%s", L->file, where ? where : "",
		    where ? ": " : "", what);
	return VG_ERR_INVALID;
}

/* Copy an optional string member; required ones must be non-empty. */
static enum vg_err
get_strdup(struct ld *L, json_t *o, const char *key, bool required, char **out,
    const char *where)
{
	const char *s = NULL;

	if (vg_json_get_str(o, key, required, 65536, &s) != VG_OK) {
		char m[96];

		snprintf(m, sizeof m, "\"%s\" must be a%s string", key,
		    required ? " non-empty" : "");
		return bad(L, m, where);
	}
	if (s && !(*out = strdup(s)))
		return VG_ERR_NOMEM;
	return VG_OK;
}

static enum vg_err
get_regex(struct ld *L, json_t *o, const char *key, regex_t **out, int sub,
    const char *where)
{
	const char *s = NULL;
	char m[320];

	if (vg_json_get_str(o, key, false, 4096, &s) != VG_OK)
		return bad(L, "regex must be a string", where);
	if (!s)
		return VG_OK;
	m[0] = '\0';
	*out = sub ? regex_new_sub(s, m, sizeof m) : regex_new(s, m, sizeof m);
	return *out ? VG_OK : bad(L, m, where);
}

static enum vg_err
get_pattern(struct ld *L, json_t *v, struct vg_pattern **out, const char *where)
{
	char m[320];

	if (!json_is_string(v))
		return bad(L, "a pattern must be a string", where);
	m[0] = '\0';
	*out = vg_pattern_compile(json_string_value(v), m, sizeof m);
	return *out ? VG_OK : bad(L, m, where);
}

/* A string or an array of strings, compiled as patterns. */
static enum vg_err
get_patterns(struct ld *L, json_t *o, const char *key, struct vg_pattern ***out,
    size_t *n, const char *where)
{
	json_t *v = json_object_get(o, key), *it;
	size_t i;
	enum vg_err err;

	if (!v)
		return VG_OK;
	if (json_is_string(v)) {
		if (!(*out = calloc(1, sizeof **out)))
			return VG_ERR_NOMEM;
		if ((err = get_pattern(L, v, &(*out)[0], where)))
			return err;
		*n = 1;
		return VG_OK;
	}
	if (!json_is_array(v) || json_array_size(v) > 256)
		return bad(L, "patterns must be a string or an array of strings", where);
	if (!(*out = calloc(json_array_size(v) + 1, sizeof **out)))
		return VG_ERR_NOMEM;
	json_array_foreach(v, i, it) {
		if ((err = get_pattern(L, it, &(*out)[*n], where)))
			return err;
		(*n)++;
	}
	return VG_OK;
}

static enum vg_err
get_strv(struct ld *L, json_t *o, const char *key, char ***out, size_t *n,
    const char *where)
{
	json_t *v = json_object_get(o, key), *it;
	size_t i;

	if (!v)
		return VG_OK;
	if (!json_is_array(v) || json_array_size(v) > 4096)
		return bad(L, "must be an array of strings", key);
	if (!(*out = calloc(json_array_size(v) + 1, sizeof **out)))
		return VG_ERR_NOMEM;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it))
			return bad(L, "must be an array of strings", where ? where : key);
		if (!((*out)[*n] = strdup(json_string_value(it))))
			return VG_ERR_NOMEM;
		(*n)++;
	}
	return VG_OK;
}

static enum vg_err
load_sink(struct ld *L, json_t *o, struct vg_sink *s, const char *where)
{
	const char *call = NULL, *assign = NULL;
	json_t *args, *v;
	enum vg_err err;
	size_t i;

	if (!json_is_object(o))
		return bad(L, "a sink must be an object", where);
	if (vg_json_get_str(o, "call", false, 256, &call) ||
	    vg_json_get_str(o, "assign", false, 256, &assign))
		return bad(L, "sink call/assign must be strings", where);
	if ((err = get_strdup(L, o, "keyword", false, &s->keyword, where)))
		return err;
	if (call) {
		s->kind = VG_SINK_CALL;
		if (vg_chain_parse(call, &s->chain))
			return bad(L, "bad sink chain", where);
	} else if (assign) {
		s->kind = VG_SINK_ASSIGN;
		if (vg_chain_parse(assign, &s->chain))
			return bad(L, "bad sink chain", where);
	} else if (s->keyword) {
		s->kind = VG_SINK_KEYWORD;
	} else {
		return bad(L, "a sink needs call, assign or keyword", where);
	}
	args = json_object_get(o, "args");
	if (args) {
		if (!json_is_array(args) || json_array_size(args) > 8)
			return bad(L, "args must be an array of at most 8 integers", where);
		json_array_foreach(args, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < -8 ||
			    json_integer_value(v) > 64)
				return bad(L, "args must be integers in [-8, 64]", where);
			s->args[s->nargs++] = (int)json_integer_value(v);
		}
	}
	if ((err = get_strv(L, o, "kwargs", &s->kwargs, &s->nkwargs, where)))
		return err;
	if ((v = json_object_get(o, "when")) && (err = get_pattern(L, v, &s->when, where)))
		return err;
	if ((v = json_object_get(o, "unless")) && (err = get_pattern(L, v, &s->unless, where)))
		return err;
	if ((err = get_regex(L, o, "literal", &s->literal, 0, where)) ||
	    (err = get_regex(L, o, "safe_prefix", &s->safe_prefix, 0, where)) ||
	    (err = get_regex(L, o, "file", &s->file, 0, where)))
		return err;
	return VG_OK;
}

static enum vg_err
load_matcher(struct ld *L, json_t *m, struct vg_rule *r)
{
	const char *kind = NULL, *cls = NULL;
	json_t *sinks, *v;
	enum vg_err err;
	size_t i;
	int64_t min_len = 0;

	if (!json_is_object(m))
		return bad(L, "\"match\" must be an object", r->id);
	if (vg_json_get_str(m, "kind", true, 32, &kind))
		return bad(L, "match.kind is required", r->id);
	if (strcmp(kind, "taint") == 0) {
		r->kind = VG_MATCH_TAINT;
		if (vg_json_get_str(m, "class", true, 64, &cls))
			return bad(L, "a taint matcher needs a class", r->id);
		if ((r->cls = class_intern(L->rs, cls)) < 0)
			return bad(L, "too many taint classes", r->id);
		sinks = json_object_get(m, "sinks");
		if (!json_is_array(sinks) || json_array_size(sinks) == 0 ||
		    json_array_size(sinks) > 512)
			return bad(L, "a taint matcher needs sinks", r->id);
		if (!(r->sinks = calloc(json_array_size(sinks), sizeof *r->sinks)))
			return VG_ERR_NOMEM;
		json_array_foreach(sinks, i, v) {
			r->nsinks++;
			if ((err = load_sink(L, v, &r->sinks[i], r->id)))
				return err;
		}
	} else if (strcmp(kind, "pattern") == 0) {
		r->kind = VG_MATCH_PATTERN;
		if ((err = get_patterns(L, m, "patterns", &r->pats, &r->npats, r->id)) ||
		    (err = get_patterns(L, m, "unless", &r->unless, &r->nunless, r->id)) ||
		    (err = get_patterns(L, m, "unless_in_function", &r->unless_fn,
		    &r->nunless_fn, r->id)))
			return err;
		if (r->npats == 0)
			return bad(L, "a pattern matcher needs patterns", r->id);
		if ((err = get_regex(L, m, "context", &r->context, 0, r->id)) ||
		    (err = get_regex(L, m, "file", &r->file, 0, r->id)) ||
		    (err = get_regex(L, m, "file_unless", &r->file_unless, 0, r->id)))
			return err;
	} else if (strcmp(kind, "credential") == 0 || strcmp(kind, "secret") == 0) {
		json_t *ent = json_object_get(m, "entropy");

		r->kind = strcmp(kind, "secret") == 0 ? VG_MATCH_SECRET : VG_MATCH_CREDENTIAL;
		if ((err = get_regex(L, m, "name", &r->name, 0, r->id)) ||
		    (err = get_regex(L, m, "placeholder", &r->placeholder, 0, r->id)) ||
		    (err = get_regex(L, m, "regex", &r->regex, 1, r->id)) ||
		    (err = get_strdup(L, m, "prefix", false, &r->prefix, r->id)) ||
		    (err = get_strdup(L, m, "back_chars", false, &r->back_chars, r->id)))
			return err;
		if (r->regex) {
			const char *src = json_string_value(json_object_get(m, "regex"));
			char *anch = malloc(strlen(src) + 4), em[320];

			if (!anch)
				return VG_ERR_NOMEM;
			snprintf(anch, strlen(src) + 4, "^(%s)", src);
			em[0] = '\0';
			r->anchored = regex_new_sub(anch, em, sizeof em);
			free(anch);
			if (!r->anchored)
				return bad(L, em, r->id);
		}
		if (vg_json_get_int(m, "min_length", false, 1, 4096, &min_len))
			return bad(L, "min_length must be in [1, 4096]", r->id);
		r->min_length = (size_t)min_len;
		if (ent && !json_is_number(ent))
			return bad(L, "entropy must be a number", r->id);
		r->entropy = ent ? json_number_value(ent) : 0.0;
		min_len = 0;
		if (vg_json_get_int(m, "secret_group", false, 0, 9, &min_len))
			return bad(L, "secret_group must be in [0, 9]", r->id);
		r->secret_group = (int)min_len;
		if (r->kind == VG_MATCH_CREDENTIAL && !r->name)
			return bad(L, "a credential matcher needs a name regex", r->id);
		if (r->kind == VG_MATCH_SECRET && !r->regex && r->entropy <= 0)
			return bad(L, "a secret matcher needs a regex or an entropy", r->id);
	} else {
		return bad(L, "unknown match.kind", r->id);
	}
	return VG_OK;
}

/* Parse one rule object into r (zeroed by the caller). */
static enum vg_err
load_rule(struct ld *L, json_t *o, struct vg_rule *r)
{
	const char *sev = NULL, *conf = NULL;
	json_t *cwe, *langs, *v;
	enum vg_err err;
	size_t i;

	if (!json_is_object(o))
		return bad(L, "a rule must be an object", NULL);
	if ((err = get_strdup(L, o, "id", true, &r->id, NULL)))
		return err;
	if ((err = get_strdup(L, o, "title", true, &r->title, r->id)) ||
	    (err = get_strdup(L, o, "category", true, &r->category, r->id)) ||
	    (err = get_strdup(L, o, "description", true, &r->description, r->id)) ||
	    (err = get_strdup(L, o, "exploit_scenario", false, &r->exploit, r->id)) ||
	    (err = get_strdup(L, o, "recommendation", true, &r->recommendation, r->id)))
		return err;
	if (vg_json_get_str(o, "severity", true, 16, &sev) || vg_sev_parse(sev, &r->severity))
		return bad(L, "severity must be critical, high, medium, low or info", r->id);
	r->confidence = VG_CONF_MEDIUM;
	if (vg_json_get_str(o, "confidence", false, 16, &conf) ||
	    (conf && vg_conf_parse(conf, &r->confidence)))
		return bad(L, "confidence must be high, medium or low", r->id);
	cwe = json_object_get(o, "cwe");
	if (!json_is_array(cwe) || json_array_size(cwe) == 0 ||
	    json_array_size(cwe) > VG_FINDING_MAX_CWE)
		return bad(L, "cwe must be an array of 1 to 4 integers", r->id);
	json_array_foreach(cwe, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 100000)
			return bad(L, "cwe ids are positive integers", r->id);
		r->cwe[r->ncwe++] = (int)json_integer_value(v);
	}
	langs = json_object_get(o, "languages");
	if (!json_is_array(langs) || json_array_size(langs) == 0)
		return bad(L, "languages must be a non-empty array", r->id);
	json_array_foreach(langs, i, v) {
		enum vg_lang lg;

		if (!json_is_string(v))
			return bad(L, "languages must be strings", r->id);
		if (strcmp(json_string_value(v), "any") == 0) {
			r->langs = 0xffffffffu & ~(1u << VG_LANG_NONE);
			continue;
		}
		lg = vg_lang_from_name(json_string_value(v));
		if (lg == VG_LANG_NONE)
			return bad(L, "unknown language", r->id);
		r->langs |= 1u << lg;
	}
	return load_matcher(L, json_object_get(o, "match"), r);
}

static enum vg_err
load_chain_list(struct ld *L, json_t *arr, const char *what, struct vg_taint_lang *t,
    int which)
{
	size_t i;
	json_t *v;
	enum vg_err err;

	if (!arr)
		return VG_OK;
	if (!json_is_array(arr) || json_array_size(arr) > 4096)
		return bad(L, "must be an array", what);
	json_array_foreach(arr, i, v) {
		const char *call = NULL;
		struct vg_chain ch;
		int64_t arg = -1;

		if (json_is_string(v)) {
			call = json_string_value(v);
		} else if (!json_is_object(v) || vg_json_get_str(v, "call", true, 256, &call)) {
			return bad(L, "entries are strings or objects with \"call\"", what);
		}
		if (vg_chain_parse(call, &ch))
			return bad(L, "bad chain", what);
		if (which == 0) {
			struct vg_source *ns = realloc(t->sources, (t->nsources + 1) * sizeof *ns);

			if (!ns) {
				vg_chain_free(&ch);
				return VG_ERR_NOMEM;
			}
			t->sources = ns;
			if (json_is_object(v) && vg_json_get_int(v, "taints_arg", false, -2, 64, &arg)) {
				vg_chain_free(&ch);
				return bad(L, "taints_arg must be in [-2, 64]", what);
			}
			ns[t->nsources].chain = ch;
			ns[t->nsources].taints_arg = (int)arg;
			t->nsources++;
		} else if (which == 1) {
			struct vg_sanitizer *ns = realloc(t->sanitizers,
			    (t->nsanitizers + 1) * sizeof *ns);
			json_t *cl = json_is_object(v) ? json_object_get(v, "classes") : NULL, *c;
			uint32_t mask = 0;
			size_t k;

			if (!ns) {
				vg_chain_free(&ch);
				return VG_ERR_NOMEM;
			}
			t->sanitizers = ns;
			if (!cl) {
				mask = VG_TAINT_ALL;
			} else if (json_is_array(cl)) {
				json_array_foreach(cl, k, c) {
					int bit;

					if (!json_is_string(c)) {
						vg_chain_free(&ch);
						return bad(L, "classes must be strings", what);
					}
					if (strcmp(json_string_value(c), "*") == 0) {
						mask = VG_TAINT_ALL;
						continue;
					}
					if ((bit = class_intern(L->rs, json_string_value(c))) < 0) {
						vg_chain_free(&ch);
						return bad(L, "too many taint classes", what);
					}
					mask |= 1u << bit;
				}
			} else {
				vg_chain_free(&ch);
				return bad(L, "classes must be an array", what);
			}
			ns[t->nsanitizers].chain = ch;
			ns[t->nsanitizers].clears = mask;
			t->nsanitizers++;
		} else {
			struct vg_propagator *np = realloc(t->props, (t->nprops + 1) * sizeof *np);
			int64_t to = 0;

			if (!np) {
				vg_chain_free(&ch);
				return VG_ERR_NOMEM;
			}
			t->props = np;
			if (json_is_object(v) && vg_json_get_int(v, "to", false, 0, 64, &to)) {
				vg_chain_free(&ch);
				return bad(L, "to must be in [0, 64]", what);
			}
			np[t->nprops].chain = ch;
			np[t->nprops].to = (int)to;
			t->nprops++;
		}
	}
	(void)err;
	return VG_OK;
}

static enum vg_err
load_taint(struct ld *L, json_t *taint)
{
	const char *key;
	json_t *lang;
	enum vg_err err;

	if (!json_is_object(taint))
		return bad(L, "\"taint\" must be an object", NULL);
	json_object_foreach(taint, key, lang) {
		enum vg_lang lg = vg_lang_from_name(key);
		struct vg_taint_lang *t;

		if (lg == VG_LANG_NONE || !json_is_object(lang))
			return bad(L, "taint keys are language names with objects", key);
		t = &L->rs->taint[lg];
		if ((err = load_chain_list(L, json_object_get(lang, "sources"), key, t, 0)) ||
		    (err = load_chain_list(L, json_object_get(lang, "sanitizers"), key, t, 1)) ||
		    (err = load_chain_list(L, json_object_get(lang, "propagators"), key, t, 2)))
			return err;
		if (!t->mutators && (err = get_strv(L, lang, "mutators", &t->mutators,
		    &t->nmutators, key)))
			return err;
		if (!t->param_annotations && (err = get_strv(L, lang, "param_annotations",
		    &t->param_annotations, &t->nparam_annotations, key)))
			return err;
	}
	return VG_OK;
}

/*
 * Add the rules and taint tables of one JSON document.  A rule whose id is
 * already loaded replaces the earlier one (user rules override built-ins).
 */
enum vg_err
vg_ruleset_add_json(struct vg_ruleset *rs, const char *name, const char *text,
    size_t len, char *msg, size_t msglen)
{
	struct ld L = {rs, name, msg, msglen};
	json_t *doc = NULL, *rules, *v;
	enum vg_err err = VG_OK;
	size_t i;

	if (msglen)
		msg[0] = '\0';
	if (vg_json_parse(text, len, &doc) != VG_OK || !json_is_object(doc)) {
		err = bad(&L, "not a JSON object", NULL);
		goto out;
	}
	if (json_object_get(doc, "taint") &&
	    (err = load_taint(&L, json_object_get(doc, "taint"))))
		goto out;
	rules = json_object_get(doc, "rules");
	if (rules && !json_is_array(rules)) {
		err = bad(&L, "\"rules\" must be an array", NULL);
		goto out;
	}
	json_array_foreach(rules, i, v) {
		struct vg_rule r;
		size_t k;

		memset(&r, 0, sizeof r);
		if ((err = load_rule(&L, v, &r))) {
			rule_clear(&r);
			goto out;
		}
		for (k = 0; k < rs->n; k++)
			if (strcmp(rs->rules[k].id, r.id) == 0)
				break;
		if (k < rs->n) {
			rule_clear(&rs->rules[k]);
			rs->rules[k] = r;
			continue;
		}
		if (rs->n == rs->cap) {
			size_t ncap = rs->cap ? rs->cap * 2 : 64;
			struct vg_rule *nr = realloc(rs->rules, ncap * sizeof *nr);

			if (!nr) {
				rule_clear(&r);
				err = VG_ERR_NOMEM;
				goto out;
			}
			rs->rules = nr;
			rs->cap = ncap;
		}
		rs->rules[rs->n++] = r;
	}
out:
	json_decref(doc);
	return err;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read one file into a new buffer (at most RULE_FILE_MAX_BYTES). */
static enum vg_err
slurp(const char *path, char **out, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	enum vg_err err = VG_OK;

	*out = NULL;
	if (!fp)
		return VG_ERR_IO;
	if (!(buf = malloc(RULE_FILE_MAX_BYTES + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	*n = fread(buf, 1, RULE_FILE_MAX_BYTES + 1, fp);
	if (ferror(fp))
		err = VG_ERR_IO;
	else if (*n > RULE_FILE_MAX_BYTES)
		err = VG_ERR_TOO_LARGE;
out:
	fclose(fp);
	if (err)
		free(buf);
	else
		*out = buf;
	return err;
}

/* Load the *.json files of dir in name order, feeding the version hash. */
static enum vg_err
load_dir(struct vg_ruleset *rs, const char *dir, EVP_MD_CTX *md, char *msg,
    size_t msglen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, i;
	enum vg_err err = VG_OK;

	if (!d) {
		snprintf(msg, msglen, "cannot open rules directory %s", dir);
		return VG_ERR_IO;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || de->d_name[0] == '.')
			continue;
		if (n >= RULE_DIR_MAX_FILES) {
			snprintf(msg, msglen, "%s: too many rule files", dir);
			err = VG_ERR_INVALID;
			goto out;
		}
		if (!(nn = realloc(names, (n + 1) * sizeof *nn))) {
			err = VG_ERR_NOMEM;
			goto out;
		}
		names = nn;
		if (!(names[n] = strdup(de->d_name))) {
			err = VG_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n && !err; i++) {
		char *text = NULL;
		size_t len = 0;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((err = slurp(path, &text, &len))) {
			snprintf(msg, msglen, "cannot read rule file %s", path);
			break;
		}
		EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1);
		EVP_DigestUpdate(md, text, len);
		err = vg_ruleset_add_json(rs, path, text, len, msg, msglen);
		free(text);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return err;
}

enum vg_err
vg_ruleset_load(const char *dir, const char *extra, struct vg_ruleset **out,
    char *msg, size_t msglen)
{
	struct vg_ruleset *rs = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char dg[32];
	unsigned int dl = 0;
	char hex[65];
	enum vg_err err;

	*out = NULL;
	if (msglen)
		msg[0] = '\0';
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = vg_ruleset_new(&rs)))
		goto out;
	if (dir && *dir && (err = load_dir(rs, dir, md, msg, msglen)))
		goto out;
	if (extra && *extra && (err = load_dir(rs, extra, md, msg, msglen)))
		goto out;
	if (rs->n == 0) {
		snprintf(msg, msglen, "no rules found in %s", dir && *dir ? dir : "(none)");
		err = VG_ERR_INVALID;
		goto out;
	}
	EVP_DigestFinal_ex(md, dg, &dl);
	vg_hex_encode(dg, sizeof dg, hex);
	snprintf(rs->version, sizeof rs->version, "sha256:%.12s", hex);
	*out = rs;
	rs = NULL;
out:
	EVP_MD_CTX_free(md);
	vg_ruleset_free(rs);
	return err;
}
