/*
 * timeutil.h - wall-clock and monotonic time, RFC 3339 UTC formatting.
 * Times are int64 microseconds since the Unix epoch unless said otherwise.
 */
#ifndef VG_CORE_TIMEUTIL_H
#define VG_CORE_TIMEUTIL_H

#include <stdint.h>
#include "core/err.h"

#define VG_TIME_RFC3339_LEN 32  /* buffer size for vg_time_format */

/* Wall-clock now, microseconds since the epoch. */
int64_t vg_time_now_us(void);
/* Monotonic clock, microseconds; for measuring durations only. */
int64_t vg_time_mono_us(void);
/* Format us as "2026-01-02T03:04:05.678901Z" into out. */
void vg_time_format(int64_t us, char out[VG_TIME_RFC3339_LEN]);
/* Parse an RFC 3339 timestamp with Z or a numeric offset. */
enum vg_err vg_time_parse(const char *s, int64_t *us);

#endif
