/*
 * report.h - a scan's reports: report.json (plan, coverage, findings,
 * timings, engine and rules version), report.sarif (SARIF 2.1.0) and the
 * human summary the offline command prints.
 */
#ifndef VG_ENGINE_REPORT_H
#define VG_ENGINE_REPORT_H

#include <stdio.h>
#include <jansson.h>
#include "core/err.h"
#include "engine/engine.h"

/* report.json as a new JSON object (NULL when out of memory). */
json_t *vg_report_json(const struct vg_engine_result *r);
/* report.sarif as a new JSON object (NULL when out of memory). */
json_t *vg_report_sarif(const struct vg_engine_result *r);
/*
 * Write v to path, pretty-printed, through a temporary file and a rename
 * so a reader never sees half a report.  VG_ERR_IO on failure.
 */
enum vg_err vg_report_write(const json_t *v, const char *path);
/* Print the human summary: counts by severity and the top findings. */
void vg_report_summary(const struct vg_engine_result *r, FILE *out, size_t top);
/* Findings at or above sev. */
size_t vg_report_count_at_least(const struct vg_engine_result *r, enum vg_sev sev);

#endif
