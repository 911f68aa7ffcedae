/* settings.c - the settings table, loading and validation. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/settings.h"
#include "core/str.h"

static const struct vg_setting_def defs[VG_SET__COUNT] = {
#define VG_SETTING(id, nm, ty, df, mn, mx, ch, sec, hp) \
	[VG_SET_##id] = {.name = nm, .type = VG_TYPE_##ty, .def = df, .min = mn, \
	    .max = mx, .choices = ch, .secret = sec, .help = hp},
#include "core/settings_table.h"
#undef VG_SETTING
};

/* The effective values.  Strings point into the environment or defs. */
static struct {
	const char *str;
	int64_t num;
	bool loaded;
} values[VG_SET__COUNT];

/* Whether value is one of the '|'-separated choices. */
static bool
choice_ok(const char *choices, const char *value)
{
	size_t n = strlen(value);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, value, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* Validate one raw value and store it; message on failure. */
static enum vg_err
load_one(size_t i, const char *raw, char *msg, size_t msglen)
{
	const struct vg_setting_def *d = &defs[i];
	bool b;

	values[i].str = raw;
	values[i].num = 0;
	switch (d->type) {
	case VG_TYPE_STRING:
		return VG_OK;
	case VG_TYPE_ENUM:
		if (choice_ok(d->choices, raw))
			return VG_OK;
		snprintf(msg, msglen, "%s=\"%s\" is invalid: expected one of %s",
		    d->name, raw, d->choices);
		return VG_ERR_INVALID;
	case VG_TYPE_INT:
		if (vg_str_to_i64(raw, d->min, d->max, &values[i].num) == VG_OK)
			return VG_OK;
		snprintf(msg, msglen, "%s=\"%s\" is invalid: expected an integer from %lld to %lld",
		    d->name, raw, (long long)d->min, (long long)d->max);
		return VG_ERR_INVALID;
	case VG_TYPE_BOOL:
		if (vg_str_to_bool(raw, &b) == VG_OK) {
			values[i].num = b;
			return VG_OK;
		}
		snprintf(msg, msglen, "%s=\"%s\" is invalid: expected true or false", d->name, raw);
		return VG_ERR_INVALID;
	}
	return VG_ERR_INTERNAL;
}

/* Rules that involve more than one setting. */
static enum vg_err
check_combinations(char *msg, size_t msglen)
{
	if (vg_cfg_is(VG_SET_PERSISTENCE_BACKEND, "postgres") &&
	    !*vg_cfg_str(VG_SET_DATABASE_URL)) {
		snprintf(msg, msglen, "VEGA_DATABASE_URL is required when VEGA_PERSISTENCE_BACKEND=postgres");
		return VG_ERR_INVALID;
	}
	if (!*vg_cfg_str(VG_SET_DATA_DIR)) {
		snprintf(msg, msglen, "VEGA_DATA_DIR must not be empty");
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

enum vg_err
vg_settings_load(char *msg, size_t msglen)
{
	size_t i;
	enum vg_err err;

	for (i = 0; i < VG_SET__COUNT; i++) {
		const char *raw = getenv(defs[i].name);

		if (!raw)
			raw = defs[i].def;
		if ((err = load_one(i, raw, msg, msglen)) != VG_OK)
			return err;
		values[i].loaded = true;
	}
	return check_combinations(msg, msglen);
}

void
vg_settings_load_or_exit(const char *program)
{
	char msg[512];

	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "%s: invalid configuration: %s\n", program, msg);
		exit(2);
	}
}

const char *
vg_cfg_str(enum vg_setting_id id)
{
	return values[id].loaded ? values[id].str : defs[id].def;
}

int64_t
vg_cfg_int(enum vg_setting_id id)
{
	int64_t v = 0;

	if (values[id].loaded)
		return values[id].num;
	vg_str_to_i64(defs[id].def, INT64_MIN, INT64_MAX, &v);
	return v;
}

bool
vg_cfg_bool(enum vg_setting_id id)
{
	bool b = false;

	if (values[id].loaded)
		return values[id].num != 0;
	vg_str_to_bool(defs[id].def, &b);
	return b;
}

bool
vg_cfg_is(enum vg_setting_id id, const char *value)
{
	return strcmp(vg_cfg_str(id), value) == 0;
}

const struct vg_setting_def *
vg_settings_defs(size_t *count)
{
	*count = VG_SET__COUNT;
	return defs;
}

void
vg_settings_print(FILE *out)
{
	size_t i;

	for (i = 0; i < VG_SET__COUNT; i++) {
		const char *v = vg_cfg_str((enum vg_setting_id)i);

		if (defs[i].secret && *v)
			v = "[redacted]";
		fprintf(out, "%s=%s\n", defs[i].name, v);
	}
}

static const char *const type_names[] = {
	[VG_TYPE_STRING] = "string", [VG_TYPE_INT] = "integer",
	[VG_TYPE_BOOL] = "boolean", [VG_TYPE_ENUM] = "one of",
};

void
vg_settings_print_markdown(FILE *out)
{
	size_t i;

	fputs("| Variable | Type | Default | Meaning |\n|---|---|---|---|\n", out);
	for (i = 0; i < VG_SET__COUNT; i++) {
		const struct vg_setting_def *d = &defs[i];

		fprintf(out, "| `%s` | %s", d->name, type_names[d->type]);
		if (d->type == VG_TYPE_ENUM) {
			const char *c;

			/* A bare '|' would end the table cell. */
			fputs(" `", out);
			for (c = d->choices; *c; c++) {
				if (*c == '|')
					fputc('\\', out);
				fputc(*c, out);
			}
			fputc('`', out);
		}
		if (d->type == VG_TYPE_INT)
			fprintf(out, " %lld..%lld", (long long)d->min, (long long)d->max);
		fprintf(out, " | %s%s%s | %s%s |\n", *d->def ? "`" : "", *d->def ? d->def : "(empty)",
		    *d->def ? "`" : "", d->help, d->secret ? " (secret: redacted)" : "");
	}
}
