/* health.c - GET /v1/healthz and GET /v1/readyz, in every program. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "http/http_int.h"
#include "store/store.h"

/*
 * Deliberate per-process caches (DESIGN.md section 9): the healthz body,
 * which only depends on settings read once, and the store every request
 * of the process uses (readyz, the auth hook, the handlers).
 */
static struct {
	char *healthz_body;
	const struct vg_program *healthz_for;
	struct vg_store *store;
} cache;

void
vg_http_health_reset(void)
{
	free(cache.healthz_body);
	cache.healthz_body = NULL;
	cache.healthz_for = NULL;
	vg_store_free(cache.store);
	cache.store = NULL;
}

enum vg_err
vg_http_store(struct vg_store **out)
{
	enum vg_err err = VG_OK;

	if (!cache.store && (err = vg_store_open(&cache.store)) != VG_OK)
		cache.store = NULL;
	*out = cache.store;
	return err == VG_OK ? VG_OK : VG_ERR_UNAVAILABLE;
}

/* Liveness: answers as long as the process can answer at all.  The body
 * is built once per process, so this costs one write. */
enum vg_err
vg_http_healthz(struct vg_http_req *req)
{
	const struct vg_program *p = vg_http_program(req);

	if (!cache.healthz_body || cache.healthz_for != p) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "status", "ok",
		    "version", PACKAGE_VERSION, "role", p->role ? p->role : "",
		    "persistence_backend", vg_cfg_str(VG_SET_PERSISTENCE_BACKEND));

		free(cache.healthz_body);
		cache.healthz_body = o ? vg_json_dump(o) : NULL;
		cache.healthz_for = cache.healthz_body ? p : NULL;
		json_decref(o);
		if (!cache.healthz_body)
			return vg_http_fail(req, VG_ERR_NOMEM, "healthz body", NULL);
	}
	return vg_http_send(req, 200, "application/json", cache.healthz_body,
	    strlen(cache.healthz_body));
}

/*
 * Readiness: the store opens and answers, and every migration is applied.
 * 200 with the checks, or 503 naming the first failing check in
 * details.check and all of them in details.checks.  The reason (which
 * migration, which connection error) goes to the log, not the client.
 */
enum vg_err
vg_http_readyz(struct vg_http_req *req)
{
	const char *store_state = "ok", *mig_state = "skipped", *failed = NULL;
	char detail[512] = "";
	bool current = false;
	struct vg_store *store = NULL;
	json_t *checks;

	if (vg_http_store(&store) != VG_OK) {
		store_state = "unavailable";
		failed = "store";
	} else if (vg_store_ping(store) != VG_OK) {
		store_state = "unavailable";
		failed = "store";
	} else if (vg_store_schema_current(store, &current, detail, sizeof detail) != VG_OK) {
		mig_state = "unavailable";
		failed = "migrations";
	} else {
		mig_state = current ? "ok" : "pending";
		failed = current ? NULL : "migrations";
	}
	checks = json_pack("{s:s, s:s}", "store", store_state, "migrations", mig_state);
	if (failed) {
		vg_log(VG_LOG_WARN, "not_ready", "check", failed, "detail", detail, NULL);
		return vg_http_error(req, VG_ERR_UNAVAILABLE, "not ready", NULL,
		    json_pack("{s:s, s:o*}", "check", failed, "checks", checks));
	}
	return vg_http_json(req, 200, json_pack("{s:s, s:o*, s:s, s:s, s:s}",
	    "status", "ready", "checks", checks, "version", PACKAGE_VERSION,
	    "role", vg_http_program(req)->role ? vg_http_program(req)->role : "",
	    "persistence_backend", vg_cfg_str(VG_SET_PERSISTENCE_BACKEND)));
}
