/*
 * vega-projects.fcgi - projects, repositories, snapshots and threat
 * profiles (/v1/projects..., /v1/repositories..., /v1/snapshots...,
 * /v1/threat-profiles...).
 * A route table and one call; the logic lives in lib/domain.  Every
 * program also answers the shared health routes.
 */
#include "config.h"
#include "auth/auth.h"
#include "domain/api.h"
#include "http/http.h"

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"GET", "/v1/projects", VG_AUTH_USER, vg_api_project_list},
	{"POST", "/v1/projects", VG_AUTH_USER, vg_api_project_create},
	{"GET", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_get},
	{"PATCH", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_update},
	{"DELETE", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_delete},
	{"GET", "/v1/projects/{id}/members", VG_AUTH_USER, vg_api_member_list},
	{"GET", "/v1/projects/{id}/members/{user_id}", VG_AUTH_USER, vg_api_member_get},
	{"PUT", "/v1/projects/{id}/members/{user_id}", VG_AUTH_USER, vg_api_member_put},
	{"DELETE", "/v1/projects/{id}/members/{user_id}", VG_AUTH_USER, vg_api_member_delete},
	{"GET", "/v1/projects/{id}/repositories", VG_AUTH_USER, vg_api_repository_list},
	{"POST", "/v1/projects/{id}/repositories", VG_AUTH_USER, vg_api_repository_create},
	/* VG_AUTH_USER_SCOPED: the handler's access check is its first read
	 * and confirms the caller's account along with it (auth.h) */
	{"GET", "/v1/repositories/{id}", VG_AUTH_USER_SCOPED, vg_api_repository_get},
	{"PATCH", "/v1/repositories/{id}", VG_AUTH_USER, vg_api_repository_update},
	{"DELETE", "/v1/repositories/{id}", VG_AUTH_USER, vg_api_repository_delete},
	{"GET", "/v1/repositories/{id}/snapshots", VG_AUTH_USER_SCOPED, vg_api_snapshot_list},
	{"POST", "/v1/repositories/{id}/snapshots", VG_AUTH_USER, vg_api_snapshot_create},
	{"GET", "/v1/repositories/{id}/threat-profiles", VG_AUTH_USER_SCOPED, vg_api_profile_list},
	{"POST", "/v1/repositories/{id}/threat-profiles", VG_AUTH_USER, vg_api_profile_create},
	{"GET", "/v1/snapshots/{id}", VG_AUTH_USER, vg_api_snapshot_get},
	{"GET", "/v1/snapshots/{id}/files", VG_AUTH_USER, vg_api_snapshot_files},
	{"GET", "/v1/snapshots/{id}/files/{path*}", VG_AUTH_USER, vg_api_snapshot_file},
	{"GET", "/v1/threat-profiles/{id}", VG_AUTH_USER, vg_api_profile_get},
	{"PUT", "/v1/threat-profiles/{id}", VG_AUTH_USER, vg_api_profile_put},
};

static const struct vg_program program = {
	.role = "projects",
	VG_HTTP_ROUTES(routes),
	.authenticate = vg_auth_authenticate,
	.init = vg_auth_init,
};

int
main(void)
{
	return vg_http_serve(&program);
}
