/*
 * log.h - structured logs: one JSON object per line on stderr.
 *
 * Every line carries time, level, role, event, and the request id and scan
 * id when set.  Fields are given as NULL-terminated key/value string pairs.
 * Values under keys that name secrets (password, token, secret,
 * authorization, api_key, cookie) are replaced by "[redacted]", so a
 * careless call cannot leak one.
 */
#ifndef VG_CORE_LOG_H
#define VG_CORE_LOG_H

#include <stdio.h>

enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };

/* Set the role ("api", "worker", ...) and the level from VEGA_LOG_LEVEL. */
void vg_log_init(const char *role);
/* Send lines to out instead of stderr (tests); NULL restores stderr. */
void vg_log_set_stream(FILE *out);
/* Context for the lines that follow; NULL clears. Copied. */
void vg_log_set_request_id(const char *id);
void vg_log_set_scan_id(const char *id);
/* Write one line: vg_log(VG_LOG_INFO, "request", "path", p, NULL). */
void vg_log(enum vg_log_level level, const char *event, ...)
	__attribute__((sentinel));
/* Whether a field name denotes a secret that must never be logged. */
int vg_log_key_is_secret(const char *key);

#endif
