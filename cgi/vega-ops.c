/*
 * vega-ops.fcgi - health, readiness and operator routes (/v1/healthz,
 * /v1/readyz, /v1/ops/...).
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "auth/auth.h"
#include "domain/api.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"GET", "/v1/ops/audit", VG_AUTH_OPERATOR, vg_auth_route_audit},
	{"GET", "/v1/ops/limits", VG_AUTH_OPERATOR, vg_api_limits},
	{"GET", "/v1/ops/workers", VG_AUTH_OPERATOR, vg_api_ops_workers},
	{"GET", "/v1/ops/cleanup", VG_AUTH_OPERATOR, vg_api_ops_cleanup_get},
	{"POST", "/v1/ops/cleanup", VG_AUTH_OPERATOR, vg_api_ops_cleanup_run},
	{"GET", "/v1/ops/scans", VG_AUTH_OPERATOR, vg_api_ops_scans},
};

static const struct vg_program program = {
	.role = "ops",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate,
	.init = vg_auth_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
