/*
 * internal.h - what the engines of lib/engine share behind engine.h.
 */
#ifndef VG_ENGINE_INTERNAL_H
#define VG_ENGINE_INTERNAL_H

#include <jansson.h>
#include "core/err.h"
#include "engine/engine.h"

/* Send an event to p's sink; payload is stolen (decref'd here). */
enum vg_err vg_engine_emit(const struct vg_engine_params *p, enum vg_event_type type,
    json_t *payload);
/* A scan_log event. */
enum vg_err vg_engine_log(const struct vg_engine_params *p, const char *level,
    const char *message);
/* Whether p's cancellation check says stop. */
bool vg_engine_cancelled(const struct vg_engine_params *p);

/* The rules engine (engine_rules.c): fills r, which the caller allocated. */
enum vg_err vg_rules_engine_run(const struct vg_engine_params *p,
    struct vg_engine_result *r);
/* Whether the rules engine can run (its rules directory is readable). */
bool vg_rules_engine_configured(void);
/* The rules directory in force: VEGA_RULES_DIR, or the installed one. */
const char *vg_rules_engine_dir(void);

#endif
