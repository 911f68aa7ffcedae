/*
 * vega-llm-proxy.fcgi - the LLM proxy on its own listener: the
 * OpenAI-compatible /v1/responses, /v1/chat/completions and /v1/models.
 * A route table and one call; the logic lives in lib/.  Every program
 * also answers the shared health routes.
 */
#include "config.h"
#include "http/http.h"
#include "llm/proxy.h"

/*
 * The LLM routes take a scan token, not a user's: the authentication hook
 * verifies it with a verification-only key (the proxy must not hold
 * VEGA_AUTH_SECRET nor the signing key, which could mint tokens) and
 * checks the scan's state in the store.
 */
static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"POST", "/v1/responses", VG_AUTH_USER, vg_llm_proxy_responses},
	{"POST", "/v1/chat/completions", VG_AUTH_USER, vg_llm_proxy_chat},
	{"GET", "/v1/models", VG_AUTH_USER, vg_llm_proxy_models},
};

static const struct vg_program program = {
	.role = "llm-proxy",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_llm_proxy_authenticate,
	.init = vg_llm_proxy_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
