/* engine.c - the engine table, "auto", events and results. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/settings.h"
#include "core/timeutil.h"
#include "engine/engine.h"
#include "engine/internal.h"

struct engine_entry {
	const char *name;
	int priority;                       /* "auto" takes the highest configured */
	bool (*configured)(void);
	enum vg_err (*run)(const struct vg_engine_params *, struct vg_engine_result *);
};

static const struct engine_entry engines[] = {
	{"rules", 10, vg_rules_engine_configured, vg_rules_engine_run},
};

static const char *const engine_names[] = {"auto", "rules", NULL};

static const char *const event_names[VG_EV__COUNT] = {
	[VG_EV_SCAN_STARTED] = "scan_started",
	[VG_EV_SCAN_PROGRESS] = "scan_progress",
	[VG_EV_SCAN_LOG] = "scan_log",
	[VG_EV_FINDING_UPDATED] = "finding_updated",
};

const char *
vg_event_type_name(enum vg_event_type t)
{
	return (unsigned)t < VG_EV__COUNT ? event_names[t] : "scan_log";
}

const char *const *
vg_engine_names(void)
{
	return engine_names;
}

const char *
vg_engine_auto_name(void)
{
	const struct engine_entry *best = NULL;
	size_t i;

	for (i = 0; i < sizeof engines / sizeof engines[0]; i++)
		if (engines[i].configured() && (!best || engines[i].priority > best->priority))
			best = &engines[i];
	return best ? best->name : "rules";
}

enum vg_err
vg_engine_emit(const struct vg_engine_params *p, enum vg_event_type type, json_t *payload)
{
	struct vg_engine_event ev;
	enum vg_err err = VG_OK;

	if (!payload)
		return VG_ERR_NOMEM;
	if (p->sink && p->sink->event) {
		ev.type = type;
		ev.payload = payload;
		err = p->sink->event(p->sink->ctx, &ev);
	}
	json_decref(payload);
	return err;
}

enum vg_err
vg_engine_log(const struct vg_engine_params *p, const char *level, const char *message)
{
	return vg_engine_emit(p, VG_EV_SCAN_LOG, json_pack("{s:s, s:s}", "level", level,
	    "message", message));
}

bool
vg_engine_cancelled(const struct vg_engine_params *p)
{
	return p->cancelled && p->cancelled(p->cancel_ctx);
}

void
vg_engine_result_free(struct vg_engine_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfindings; i++)
		vg_finding_free(r->findings[i]);
	free(r->findings);
	free(r->engine);
	free(r->engine_version);
	free(r->rules_version);
	json_decref(r->plan);
	json_decref(r->timings);
	free(r->error);
	free(r);
}

/*
 * Resolve the engine by name (NULL: VEGA_SCAN_ENGINE; "auto": the best
 * configured) and run it.  See engine.h for the errors.
 */
enum vg_err
vg_engine_run(const char *name, const struct vg_engine_params *p,
    struct vg_engine_result **out)
{
	const struct engine_entry *e = NULL;
	struct vg_engine_result *r = NULL;
	enum vg_err err;
	size_t i;

	*out = NULL;
	if (!name)
		name = vg_cfg_str(VG_SET_SCAN_ENGINE);
	if (!name || !*name || strcmp(name, "auto") == 0)
		name = vg_engine_auto_name();
	for (i = 0; i < sizeof engines / sizeof engines[0]; i++)
		if (strcmp(engines[i].name, name) == 0)
			e = &engines[i];
	if (!e)
		return VG_ERR_NOT_FOUND;
	if (!p || !p->root)
		return VG_ERR_INVALID;
	if (!(r = calloc(1, sizeof *r)) || !(r->engine = strdup(e->name)))
		goto nomem;
	r->started_us = vg_time_now_us();
	err = e->run(p, r);
	r->finished_us = vg_time_now_us();
	r->cancelled = err == VG_ERR_CONFLICT;
	r->success = err == VG_OK;
	if (err && !r->error && !(r->error = strdup(r->cancelled ? "cancelled" : vg_err_message(err)))) {
		vg_engine_result_free(r);
		return VG_ERR_NOMEM;
	}
	*out = r;
	return err;
nomem:
	vg_engine_result_free(r);
	return VG_ERR_NOMEM;
}
