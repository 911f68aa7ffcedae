/*
 * vega-scans.fcgi - scans, findings and their events (/v1/scans...,
 * /v1/findings..., /v1/repositories/{id}/scans|findings|events).
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "auth/auth.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
};

static const struct vg_program program = {
	.role = "scans",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate,
	.init = vg_auth_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
