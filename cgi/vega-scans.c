/*
 * vega-scans.fcgi - scans, findings and their events (/v1/scans...,
 * /v1/findings..., /v1/repositories/{id}/scans|findings|events).
 * A route table and one call; the logic lives in lib/domain.  Every
 * program also answers the shared health routes.  Start-up fails (exit
 * 2) when VEGA_SCAN_EXECUTION_MODE names a dispatch not available yet.
 */
#include "config.h"
#include "auth/auth.h"
#include "domain/api.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"POST", "/v1/repositories/{id}/scans", VG_AUTH_USER, vg_api_scan_create},
	/* VG_AUTH_USER_SCOPED: the handler's access check is its first read
	 * and confirms the caller's account along with it (auth.h) */
	{"GET", "/v1/repositories/{id}/scans", VG_AUTH_USER_SCOPED, vg_api_scan_list_repository},
	{"GET", "/v1/repositories/{id}/findings", VG_AUTH_USER_SCOPED, vg_api_finding_list_repository},
	{"GET", "/v1/repositories/{id}/events", VG_AUTH_USER_SCOPED, vg_api_repository_events},
	{"GET", "/v1/scans", VG_AUTH_USER, vg_api_scan_list},
	{"GET", "/v1/scans/{id}", VG_AUTH_USER, vg_api_scan_get},
	{"POST", "/v1/scans/{id}/cancel", VG_AUTH_USER, vg_api_scan_cancel},
	{"GET", "/v1/scans/{id}/events", VG_AUTH_USER, vg_api_scan_events},
	{"GET", "/v1/scans/{id}/findings", VG_AUTH_USER, vg_api_finding_list_scan},
	{"GET", "/v1/scans/{id}/report.sarif", VG_AUTH_USER, vg_api_scan_sarif},
	{"GET", "/v1/scans/{id}/artifacts", VG_AUTH_USER, vg_api_scan_artifacts},
	{"GET", "/v1/scans/{id}/artifacts/{name}", VG_AUTH_USER, vg_api_scan_artifact},
	{"GET", "/v1/scans/{id}/usage", VG_AUTH_USER, vg_api_scan_usage},
	{"GET", "/v1/findings/{id}", VG_AUTH_USER, vg_api_finding_get},
	{"PATCH", "/v1/findings/{id}", VG_AUTH_USER, vg_api_finding_update},
};

static const struct vg_program program = {
	.role = "scans",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate,
	.init = vg_api_scans_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
