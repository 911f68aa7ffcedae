/*
 * err.h - the one error type of libvega.
 *
 * Every fallible function returns enum vg_err (VG_OK is 0) and hands its
 * results back through out-parameters.  One table maps each error to the
 * API's error code, HTTP status and retryability (DESIGN.md section 6), so
 * no other layer decides those.
 */
#ifndef VG_CORE_ERR_H
#define VG_CORE_ERR_H

#include <stdbool.h>

enum vg_err {
	VG_OK = 0,
	VG_ERR_NOMEM,           /* allocation failed */
	VG_ERR_INVALID,         /* a value failed validation (400 validation_failed) */
	VG_ERR_INVALID_JSON,    /* a body is not JSON, or not UTF-8 (400 invalid_json) */
	VG_ERR_UNAUTHORIZED,    /* missing or bad credentials (401 invalid_token) */
	VG_ERR_FORBIDDEN,       /* authenticated, not allowed (403) */
	VG_ERR_NOT_FOUND,       /* no such thing, or not visible to the caller (404) */
	VG_ERR_METHOD,          /* path known, method not (405) */
	VG_ERR_CONFLICT,        /* state does not allow it (409) */
	VG_ERR_TOO_LARGE,       /* body or buffer over its cap (413) */
	VG_ERR_MEDIA_TYPE,      /* unsupported Content-Type (415) */
	VG_ERR_INVALID_ARCHIVE, /* archive refused (422) */
	VG_ERR_QUOTA,           /* quota exceeded (429 quota_exceeded) */
	VG_ERR_RATE_LIMITED,    /* too many attempts (429 rate_limited) */
	VG_ERR_UNAVAILABLE,     /* a dependency is down; retry later (503) */
	VG_ERR_IO,              /* local I/O failed (500) */
	VG_ERR_INTERNAL,        /* a bug or an unexpected state (500) */
	VG_ERR__COUNT
};

/* The API error code ("validation_failed", ...); never NULL. */
const char *vg_err_code(enum vg_err err);
/* The HTTP status the API answers with for err (200 for VG_OK). */
int vg_err_status(enum vg_err err);
/* Whether a client may retry the same request later. */
bool vg_err_retryable(enum vg_err err);
/* A short English description, safe to show to a client. */
const char *vg_err_message(enum vg_err err);

#endif
