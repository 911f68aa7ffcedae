/* err.c - the error table: code, status, retryability, public message. */
#include "config.h"
#include "core/err.h"

struct err_entry {
	const char *code;
	int status;
	bool retryable;
	const char *message;
};

static const struct err_entry err_table[VG_ERR__COUNT] = {
	[VG_OK]                  = {"ok", 200, false, "ok"},
	[VG_ERR_NOMEM]           = {"internal", 500, true, "internal error"},
	[VG_ERR_INVALID]         = {"validation_failed", 400, false, "validation failed"},
	[VG_ERR_INVALID_JSON]    = {"invalid_json", 400, false, "request body is not valid JSON"},
	[VG_ERR_UNAUTHORIZED]    = {"invalid_token", 401, false, "missing or invalid credentials"},
	[VG_ERR_FORBIDDEN]       = {"forbidden", 403, false, "not allowed"},
	[VG_ERR_NOT_FOUND]       = {"not_found", 404, false, "not found"},
	[VG_ERR_METHOD]          = {"method_not_allowed", 405, false, "method not allowed"},
	[VG_ERR_CONFLICT]        = {"conflict", 409, false, "conflict"},
	[VG_ERR_TOO_LARGE]       = {"payload_too_large", 413, false, "payload too large"},
	[VG_ERR_MEDIA_TYPE]      = {"unsupported_media_type", 415, false, "unsupported media type"},
	[VG_ERR_INVALID_ARCHIVE] = {"invalid_archive", 422, false, "archive refused"},
	[VG_ERR_QUOTA]           = {"quota_exceeded", 429, false, "quota exceeded"},
	[VG_ERR_RATE_LIMITED]    = {"rate_limited", 429, true, "too many requests"},
	[VG_ERR_UNAVAILABLE]     = {"unavailable", 503, true, "service temporarily unavailable"},
	[VG_ERR_IO]              = {"internal", 500, false, "internal error"},
	[VG_ERR_INTERNAL]        = {"internal", 500, false, "internal error"},
};

static const struct err_entry *
entry(enum vg_err err)
{
	if ((int)err < 0 || err >= VG_ERR__COUNT)
		err = VG_ERR_INTERNAL;
	return &err_table[err];
}

const char *vg_err_code(enum vg_err err) { return entry(err)->code; }
int vg_err_status(enum vg_err err) { return entry(err)->status; }
bool vg_err_retryable(enum vg_err err) { return entry(err)->retryable; }
const char *vg_err_message(enum vg_err err) { return entry(err)->message; }
