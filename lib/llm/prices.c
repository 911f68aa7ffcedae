/* prices.c - the price table, exact costs, the allow-list and reservations. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/str.h"
#include "llm/prices.h"

#define MICRO 1000000
#define PRICES_FILE_MAX ((size_t)1 << 20)

/* A model name or pattern of the table or the allow-list. */
struct entry {
	char name[VG_LLM_MODEL_MAX + 1];
	size_t len;          /* for a pattern, the prefix's length */
	bool pattern;        /* name ended in '*' (stripped) */
	struct vg_llm_price price;
};

struct vg_llm_prices {
	struct entry *e;
	size_t n;
};

struct vg_llm_allow {
	struct entry *e;
	size_t n;
};

static void
say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

bool
vg_llm_model_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= VG_LLM_MODEL_MAX || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i > 0;
}

/* Fill e from a name that may end in '*'. */
static bool
entry_name(struct entry *e, const char *name, size_t n)
{
	char tmp[VG_LLM_MODEL_MAX + 1];

	if (n == 0 || n > VG_LLM_MODEL_MAX)
		return false;
	memcpy(tmp, name, n);
	tmp[n] = '\0';
	if (strlen(tmp) != n || !vg_llm_model_name_valid(tmp))
		return false;
	e->pattern = tmp[n - 1] == '*';
	if (e->pattern)
		tmp[--n] = '\0';
	/* A '*' is only allowed at the end; "*" alone matches every model. */
	if (strchr(tmp, '*'))
		return false;
	memcpy(e->name, tmp, n + 1);
	e->len = n;
	return true;
}

/* The entry of entries[0..n) that names model: the exact one, else the
 * longest pattern that is a prefix of it; NULL when none. */
static const struct entry *
match(const struct entry *entries, size_t n, const char *model)
{
	const struct entry *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct entry *e = &entries[i];

		if (!e->pattern && strcmp(e->name, model) == 0)
			return e;
		if (e->pattern && strncmp(e->name, model, e->len) == 0 &&
		    (!best || e->len > best->len))
			best = e;
	}
	return best;
}

enum vg_err
vg_llm_usd_parse(const char *s, int64_t *microusd)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, d;

	*microusd = 0;
	if (!s || s[0] < '0' || s[0] > '9')
		return VG_ERR_INVALID;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		whole = whole * 10 + (s[i] - '0');
		if (whole > VG_LLM_MAX_USD)
			return VG_ERR_INVALID;
	}
	if (s[i] == '.') {
		i++;
		for (d = 0; s[i] >= '0' && s[i] <= '9'; i++, d++) {
			if (d >= 6)
				return VG_ERR_INVALID;
			frac = frac * 10 + (s[i] - '0');
		}
		if (d == 0)
			return VG_ERR_INVALID;
		for (; d < 6; d++)
			frac *= 10;
	}
	if (s[i] != '\0' || (whole == VG_LLM_MAX_USD && frac > 0))
		return VG_ERR_INVALID;
	*microusd = whole * MICRO + frac;
	return VG_OK;
}

void
vg_llm_usd_format(int64_t microusd, char out[VG_LLM_USD_LEN])
{
	size_t n;

	if (microusd < 0)
		microusd = 0;
	n = (size_t)snprintf(out, VG_LLM_USD_LEN, "%lld.%06lld", (long long)(microusd / MICRO),
	    (long long)(microusd % MICRO));
	/* Keep two decimals, drop the zeros after them. */
	while (n < VG_LLM_USD_LEN && out[n - 1] == '0' && out[n - 3] != '.')
		out[--n] = '\0';
}

/* A price member: a JSON number or decimal string of USD per million
 * tokens, 0 to VG_LLM_MAX_PRICE_USD, at most six decimals. */
static bool
price_value(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > VG_LLM_MAX_PRICE_USD)
			return false;
		*out = (int64_t)i * MICRO;
		return true;
	}
	if (json_is_real(v)) {
		double x = json_real_value(v), m, diff;
		int64_t r;

		if (!(x >= 0 && x <= VG_LLM_MAX_PRICE_USD))
			return false;
		m = x * MICRO;
		r = (int64_t)(m + 0.5);
		diff = m - (double)r;
		/* More than six decimals is not a price we can keep exactly. */
		if (diff > 1e-3 || diff < -1e-3)
			return false;
		*out = r;
		return true;
	}
	if (json_is_string(v))
		return vg_llm_usd_parse(json_string_value(v), out) == VG_OK &&
		    *out <= (int64_t)VG_LLM_MAX_PRICE_USD * MICRO;
	return false;
}

/* One model's object of the table into e. */
static enum vg_err
parse_model(const char *name, json_t *obj, struct entry *e, char *msg, size_t msglen)
{
	const char *key;
	json_t *v;
	bool has_in = false, has_out = false, has_cached = false;

	if (!entry_name(e, name, strlen(name))) {
		say(msg, msglen, "models: \"%.64s\" is not a model name", name);
		return VG_ERR_INVALID;
	}
	if (!json_is_object(obj)) {
		say(msg, msglen, "models.%s: an object of prices is expected", name);
		return VG_ERR_INVALID;
	}
	json_object_foreach(obj, key, v) {
		int64_t *dst = NULL;

		if (strcmp(key, "input") == 0) {
			dst = &e->price.input;
			has_in = true;
		} else if (strcmp(key, "cached_input") == 0) {
			dst = &e->price.cached_input;
			has_cached = true;
		} else if (strcmp(key, "output") == 0) {
			dst = &e->price.output;
			has_out = true;
		} else if (strcmp(key, "max_output_tokens") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > VG_LLM_MAX_TOKENS) {
				say(msg, msglen, "models.%s.max_output_tokens: a positive integer is expected",
				    name);
				return VG_ERR_INVALID;
			}
			e->price.max_output_tokens = json_integer_value(v);
			continue;
		} else {
			say(msg, msglen, "models.%s.%.32s: unknown field (input, cached_input, output, "
			    "max_output_tokens)", name, key);
			return VG_ERR_INVALID;
		}
		if (!price_value(v, dst)) {
			say(msg, msglen, "models.%s.%s: USD per million tokens expected, 0 to %d, "
			    "at most six decimals", name, key, VG_LLM_MAX_PRICE_USD);
			return VG_ERR_INVALID;
		}
	}
	if (!has_in || !has_out) {
		say(msg, msglen, "models.%s: \"input\" and \"output\" are required", name);
		return VG_ERR_INVALID;
	}
	if (!has_cached)
		e->price.cached_input = e->price.input;
	return VG_OK;
}

/* The top level: schema_version, currency, models. */
static enum vg_err
parse_table(json_t *root, struct vg_llm_prices *t, char *msg, size_t msglen)
{
	json_t *models, *v;
	const char *key;
	size_t i = 0, j;
	enum vg_err err;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "schema_version") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 1) {
				say(msg, msglen, "schema_version: only 1 is known");
				return VG_ERR_INVALID;
			}
		} else if (strcmp(key, "currency") == 0) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "USD") != 0) {
				say(msg, msglen, "currency: prices are in USD");
				return VG_ERR_INVALID;
			}
		} else if (strcmp(key, "models") != 0) {
			say(msg, msglen, "%.32s: unknown field (schema_version, currency, models)", key);
			return VG_ERR_INVALID;
		}
	}
	models = json_object_get(root, "models");
	if (!json_is_object(models)) {
		say(msg, msglen, "models: an object of model names to prices is required");
		return VG_ERR_INVALID;
	}
	if (json_object_size(models) > 4096) {
		say(msg, msglen, "models: more than 4096 models");
		return VG_ERR_INVALID;
	}
	t->n = json_object_size(models);
	if (t->n && !(t->e = calloc(t->n, sizeof *t->e)))
		return VG_ERR_NOMEM;
	json_object_foreach(models, key, v) {
		if ((err = parse_model(key, v, &t->e[i], msg, msglen)) != VG_OK)
			return err;
		for (j = 0; j < i; j++) {
			if (t->e[j].pattern == t->e[i].pattern && strcmp(t->e[j].name, t->e[i].name) == 0) {
				say(msg, msglen, "models.%s: given twice", key);
				return VG_ERR_INVALID;
			}
		}
		i++;
	}
	return VG_OK;
}

enum vg_err
vg_llm_prices_parse(const char *text, size_t n, struct vg_llm_prices **out,
    char *msg, size_t msglen)
{
	struct vg_llm_prices *t = NULL;
	json_t *root = NULL;
	enum vg_err err;

	*out = NULL;
	say(msg, msglen, "%s", "");
	if ((err = vg_json_parse(text, n, &root)) != VG_OK || !json_is_object(root)) {
		say(msg, msglen, "not a JSON object");
		err = VG_ERR_INVALID_JSON;
		goto out;
	}
	if (!(t = calloc(1, sizeof *t))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = parse_table(root, t, msg, msglen)) != VG_OK)
		goto out;
	*out = t;
	t = NULL;
out:
	vg_llm_prices_free(t);
	json_decref(root);
	return err;
}

enum vg_err
vg_llm_prices_load(const char *path, struct vg_llm_prices **out, char *msg, size_t msglen)
{
	char *buf = NULL;
	size_t len = 0;
	enum vg_err err;

	*out = NULL;
	err = vg_fs_read_file(path, PRICES_FILE_MAX, &buf, &len);
	if (err == VG_ERR_TOO_LARGE)
		say(msg, msglen, "%s: larger than 1 MiB", path);
	else if (err == VG_ERR_NOT_FOUND || err == VG_ERR_IO)
		say(msg, msglen, "%s: %s", path, strerror(errno));
	if (err == VG_ERR_NOT_FOUND)
		err = VG_ERR_IO;
	if (err == VG_OK)
		err = vg_llm_prices_parse(buf, len, out, msg, msglen);
	free(buf);
	return err;
}

void
vg_llm_prices_free(struct vg_llm_prices *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

size_t
vg_llm_prices_count(const struct vg_llm_prices *t)
{
	return t ? t->n : 0;
}

enum vg_err
vg_llm_prices_lookup(const struct vg_llm_prices *t, const char *model, struct vg_llm_price *out)
{
	const struct entry *e = t && model ? match(t->e, t->n, model) : NULL;

	memset(out, 0, sizeof *out);
	if (!e)
		return VG_ERR_NOT_FOUND;
	*out = e->price;
	return VG_OK;
}

/*
 * tokens * price_per_million / 10^6 without 128-bit arithmetic: the
 * price splits into whole micro-USD per token (hi) and the rest (lo, under
 * 10^6).  *whole collects tokens * hi, *rest collects tokens * lo (in
 * units of 10^-6 micro-USD); tokens <= 10^12 and lo < 10^6 keep each
 * product below 10^18.
 */
static void
add_cost(int64_t tokens, int64_t per_million, uint64_t *whole, uint64_t *rest)
{
	if (tokens <= 0 || per_million <= 0)
		return;
	*whole += (uint64_t)tokens * (uint64_t)(per_million / MICRO);
	*rest += (uint64_t)tokens * (uint64_t)(per_million % MICRO);
}

int64_t
vg_llm_cost_microusd(const struct vg_llm_price *price, const struct vg_llm_usage *u)
{
	uint64_t whole = 0, rest = 0, total;
	int64_t in = u->input_tokens, cached = u->cached_input_tokens, out = u->output_tokens;

	if (in < 0 || out < 0 || cached < 0 || in > VG_LLM_MAX_TOKENS || out > VG_LLM_MAX_TOKENS)
		return INT64_MAX;
	if (cached > in)
		cached = in;
	add_cost(in - cached, price->input, &whole, &rest);
	add_cost(cached, price->cached_input, &whole, &rest);
	add_cost(out, price->output, &whole, &rest);
	total = whole + rest / MICRO + (rest % MICRO ? 1 : 0);
	return total > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)total;
}

enum vg_err
vg_llm_allow_parse(const char *list, struct vg_llm_allow **out)
{
	struct vg_llm_allow *a = NULL;
	const char *p = list ? list : "", *end;
	size_t cap = 1;
	enum vg_err err = VG_ERR_INVALID;

	*out = NULL;
	for (end = p; *end; end++)
		cap += *end == ',';
	if (!(a = calloc(1, sizeof *a)) || !(a->e = calloc(cap, sizeof *a->e))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	while (*p) {
		const char *s = p, *e;

		while (*p && *p != ',')
			p++;
		e = p;
		if (*p == ',')
			p++;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s == e)
			continue;
		if (!entry_name(&a->e[a->n], s, (size_t)(e - s)))
			goto out;
		a->n++;
	}
	*out = a;
	a = NULL;
	err = VG_OK;
out:
	vg_llm_allow_free(a);
	return err;
}

void
vg_llm_allow_free(struct vg_llm_allow *a)
{
	if (!a)
		return;
	free(a->e);
	free(a);
}

bool
vg_llm_model_allowed(const struct vg_llm_allow *allow, const struct vg_llm_prices *prices,
    const char *model)
{
	if (!model || !vg_llm_model_name_valid(model) || strchr(model, '*'))
		return false;
	if (allow && allow->n)
		return match(allow->e, allow->n, model) != NULL;
	return prices && match(prices->e, prices->n, model) != NULL;
}

/* a + b, at most INT64_MAX (both non-negative). */
static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The most output tokens that cost at most room micro-USD at the output
 * price per million: floor(room * 10^6 / per_million), without overflow. */
static int64_t
tokens_for(int64_t room, int64_t per_million)
{
	int64_t q = room / per_million, r = room % per_million;

	if (q > VG_LLM_MAX_TOKENS / MICRO)
		return VG_LLM_MAX_TOKENS;
	return q * MICRO + (r * MICRO) / per_million;
}

/* Refuse by limit `which`. */
static enum vg_err
refuse(struct vg_llm_estimate *est, enum vg_llm_limit which)
{
	est->refused = which;
	return VG_ERR_QUOTA;
}

enum vg_err
vg_llm_estimate(const struct vg_llm_price *price, const struct vg_llm_budget *lim,
    const struct vg_llm_spent *spent, size_t body_bytes, int64_t client_cap,
    struct vg_llm_estimate *est)
{
	static const struct vg_llm_price free_price;
	struct vg_llm_usage u = {0};

	memset(est, 0, sizeof *est);
	if (!price)
		price = &free_price;
	if (client_cap < 0 || lim->requests < 0 || lim->tokens < 0 || lim->microusd < 0 ||
	    spent->requests < 0 || spent->tokens < 0 || spent->microusd < 0)
		return VG_ERR_INVALID;
	est->input_tokens = (int64_t)(body_bytes / VG_LLM_BYTES_PER_TOKEN +
	    (body_bytes % VG_LLM_BYTES_PER_TOKEN ? 1 : 0));
	if (est->input_tokens > VG_LLM_MAX_TOKENS)
		est->input_tokens = VG_LLM_MAX_TOKENS;
	if (client_cap > VG_LLM_MAX_TOKENS)
		client_cap = VG_LLM_MAX_TOKENS;
	if (lim->requests && spent->requests >= lim->requests)
		return refuse(est, VG_LLM_LIMIT_REQUESTS);
	/* A model without a price cannot be held to a cost limit. */
	if (lim->microusd && price == &free_price)
		return refuse(est, VG_LLM_LIMIT_COST);
	est->output_tokens = client_cap;
	if (client_cap == 0 && (lim->tokens || lim->microusd)) {
		int64_t cap = price->max_output_tokens ? price->max_output_tokens
		    : VG_LLM_DEFAULT_OUTPUT_CAP;

		if (lim->tokens) {
			int64_t room = lim->tokens - spent->tokens - est->input_tokens;

			if (room < 1)
				return refuse(est, VG_LLM_LIMIT_TOKENS);
			if (room < cap)
				cap = room;
		}
		if (lim->microusd && price->output > 0) {
			struct vg_llm_usage in_only = {.input_tokens = est->input_tokens};
			int64_t room = lim->microusd - spent->microusd -
			    vg_llm_cost_microusd(price, &in_only), by_cost;

			by_cost = room > 0 ? tokens_for(room, price->output) : 0;
			if (by_cost < 1)
				return refuse(est, VG_LLM_LIMIT_COST);
			if (by_cost < cap)
				cap = by_cost;
		}
		est->output_tokens = cap;
		est->cap_set = true;
	}
	est->tokens = est->input_tokens + est->output_tokens;
	u.input_tokens = est->input_tokens;
	u.output_tokens = est->output_tokens;
	est->microusd = vg_llm_cost_microusd(price, &u);
	if (lim->tokens && sat_add(spent->tokens, est->tokens) > lim->tokens)
		return refuse(est, VG_LLM_LIMIT_TOKENS);
	if (lim->microusd && sat_add(spent->microusd, est->microusd) > lim->microusd)
		return refuse(est, VG_LLM_LIMIT_COST);
	return VG_OK;
}

/* The unit each limit is counted in, for the refusal's message. */
static const char *const limit_units[] = {
	[VG_LLM_LIMIT_REQUESTS] = "requests",
	[VG_LLM_LIMIT_TOKENS] = "tokens",
	[VG_LLM_LIMIT_COST] = "USD",
};

void
vg_llm_quota_message(const struct vg_llm_budget *lim, enum vg_llm_limit which,
    char *buf, size_t size)
{
	char value[VG_LLM_USD_LEN];

	if (which == VG_LLM_LIMIT_COST)
		vg_llm_usd_format(lim->microusd, value);
	else if (which == VG_LLM_LIMIT_REQUESTS || which == VG_LLM_LIMIT_TOKENS)
		snprintf(value, sizeof value, "%lld",
		    (long long)(which == VG_LLM_LIMIT_TOKENS ? lim->tokens : lim->requests));
	else {
		snprintf(buf, size, "This scan's LLM budget is spent.");
		return;
	}
	snprintf(buf, size, "This scan's LLM budget is spent: the limit is %s %s per scan.",
	    value, limit_units[which]);
}
