/* log.c - JSON-lines logging with secret redaction. */
#include "config.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"

static struct {
	char role[32];
	enum vg_log_level min;
	FILE *out;
	char request_id[130];
	char scan_id[64];
} state = {"vega", VG_LOG_INFO, NULL, "", ""};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static const char *const secret_words[] = {
	"password", "token", "secret", "authorization", "api_key", "apikey", "cookie",
	"credential", "private_key",
};

void
vg_log_init(const char *role)
{
	const char *lvl = vg_cfg_str(VG_SET_LOG_LEVEL);
	size_t i;

	vg_str_copy(state.role, sizeof state.role, role);
	for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcmp(lvl, level_names[i]) == 0)
			state.min = (enum vg_log_level)i;
}

void
vg_log_set_stream(FILE *out)
{
	state.out = out;
}

void
vg_log_set_request_id(const char *id)
{
	vg_str_copy(state.request_id, sizeof state.request_id, id ? id : "");
}

void
vg_log_set_scan_id(const char *id)
{
	vg_str_copy(state.scan_id, sizeof state.scan_id, id ? id : "");
}

int
vg_log_key_is_secret(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof secret_words / sizeof secret_words[0]; i++)
		if (strcasestr(key, secret_words[i]))
			return 1;
	return 0;
}

void
vg_log(enum vg_log_level level, const char *event, ...)
{
	char when[VG_TIME_RFC3339_LEN];
	json_t *o;
	va_list ap;
	const char *k;
	char *line;
	FILE *out = state.out ? state.out : stderr;

	if (level < state.min)
		return;
	o = json_object();
	if (!o)
		return;
	vg_time_format(vg_time_now_us(), when);
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "level", json_string(level_names[level]));
	json_object_set_new(o, "role", json_string(state.role));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (state.request_id[0])
		json_object_set_new(o, "request_id", json_string(state.request_id));
	if (state.scan_id[0])
		json_object_set_new(o, "scan_id", json_string(state.scan_id));
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		if (vg_log_key_is_secret(k))
			v = "[redacted]";
		json_t *jv = v ? json_string(v) : json_null();

		/* json_string refuses invalid UTF-8; keep the line anyway. */
		if (!jv)
			jv = json_string("[invalid utf-8]");
		json_object_set_new(o, k, jv);
	}
	va_end(ap);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line) {
		fprintf(out, "%s\n", line);
		fflush(out);
		free(line);
	}
	json_decref(o);
}
