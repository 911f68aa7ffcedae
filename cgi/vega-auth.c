/*
 * vega-auth.fcgi - the authentication API (/v1/auth/..., /v1/api-keys...).
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "auth/auth.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	VG_AUTH_ROUTES,
};

static const struct vg_program program = {
	.role = "auth",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate,
	.init = vg_auth_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
