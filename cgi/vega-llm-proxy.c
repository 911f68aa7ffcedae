/*
 * vega-llm-proxy.fcgi - the LLM proxy on its own listener: the
 * OpenAI-compatible /v1/responses, /v1/chat/completions and /v1/models.
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
};

/*
 * No user-token hook here: the proxy must not hold VEGA_AUTH_SECRET (which
 * could mint user tokens); its routes will check the scan-scoped tokens of
 * DESIGN.md section 4 with a verification-only key.
 */
static const struct vg_program program = {
	.role = "llm-proxy",
	VG_HTTP_ROUTES(routes),
};

int
main(void)
{
	return vg_http_serve(&program);
}
