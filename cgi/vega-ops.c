/*
 * vega-ops.fcgi - health, readiness and operator routes (/v1/healthz,
 * /v1/readyz, /v1/ops/...).
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
};

static const struct vg_program program = {
	.role = "ops",
	VG_HTTP_ROUTES(routes),
};

int
main(void)
{
	return vg_http_serve(&program);
}
