/*
 * auth.h - who is calling: the bearer-token check every program shares,
 * the access tokens of the built-in provider, and the routes of
 * vega-auth.fcgi.
 *
 * Every program sets the same hook and init:
 *
 *	static const struct vg_program program = {
 *		.role = "projects", VG_HTTP_ROUTES(routes),
 *		.authenticate = vg_auth_authenticate, .init = vg_auth_init,
 *	};
 *
 * VEGA_AUTH_PROVIDER picks who issues user tokens:
 *   custom   built-in accounts.  Access tokens are HS256 JWTs signed with
 *            VEGA_AUTH_SECRET (required, at least 32 bytes: vg_auth_init
 *            refuses to start without it) carrying iss "vega", aud
 *            "vega-api", sub (the user id), iat, exp, jti, groups, sid (the
 *            refresh-token family, so logout and reuse detection end the
 *            session at once) and token_use "access".
 *   cognito  RS256 access tokens of a user pool, checked against its JWKS
 *            (cognito.h); users are created on first sight, keyed by sub.
 * API keys ("vgk_...") work with either provider.
 *
 * A request passes when its Authorization header is "Bearer <credential>"
 * and the credential is a valid access token or a live API key of an
 * enabled user; otherwise 401 invalid_token with WWW-Authenticate (the
 * message never says which check failed).  VG_AUTH_OPERATOR routes also
 * need the group operator or root: 403 forbidden.  A store outage is 503.
 *
 * VG_AUTH_USER_SCOPED routes save a store round trip: for an access token
 * of the built-in provider the hook checks the signature and claims only
 * and attaches a pending principal (user and session ids, nothing else).
 * The handler's access check (domain scope.c) then reads the account and
 * session with the repository it checks (vg_store_repository_scope_as)
 * and settles the principal (vg_auth_settle), or confirms it first with
 * its own read (vg_auth_confirm), so the caller is checked exactly as on
 * any other route before anything is read for it.  vg_auth_principal is
 * NULL while pending: a handler that skips the check acts for nobody.
 * API keys and Cognito tokens are checked whole by the hook on every route.
 */
#ifndef VG_AUTH_AUTH_H
#define VG_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "core/id.h"
#include "http/http.h"
#include "store/store.h"

#define VG_AUTH_ISSUER "vega"
#define VG_AUTH_AUDIENCE "vega-api"

enum vg_principal_via { VG_VIA_ACCESS_TOKEN, VG_VIA_API_KEY };

/* The authenticated caller, attached to the request by the hook. */
struct vg_principal {
	char user_id[VG_UUID_LEN + 1];
	char email[VG_STORE_EMAIL_MAX + 1];      /* "" when unknown */
	char display_name[VG_STORE_NAME_MAX + 1];
	unsigned groups;                         /* VG_GROUP_* */
	enum vg_principal_via via;
	char session_id[VG_UUID_LEN + 1];        /* refresh family; "" when none */
	char api_key_id[VG_UUID_LEN + 1];        /* "" unless via an API key */
	/* Token checked, account and session not yet (VG_AUTH_USER_SCOPED):
	 * only user_id and session_id are set. */
	bool pending;
};

/*
 * Check the settings of the configured provider and prepare its keys;
 * logs the problem naming the setting and returns VG_ERR_INVALID when
 * they are unusable (the program then exits with status 2).  Safe to call
 * again after the settings changed (tests).
 */
enum vg_err vg_auth_init(void);
/* Free what vg_auth_init and the caches hold (tests, leak checkers). */
void vg_auth_reset(void);

/* The hook of every program (vg_http_auth_fn). */
enum vg_err vg_auth_authenticate(struct vg_http_req *req, enum vg_auth need);
/* The caller of an authenticated request, or NULL (also while pending). */
const struct vg_principal *vg_auth_principal(const struct vg_http_req *req);
/* The pending caller of a VG_AUTH_USER_SCOPED request, or NULL. */
const struct vg_principal *vg_auth_pending(const struct vg_http_req *req);
/*
 * Settle the pending caller with what the store holds of it: u (id ""
 * when there is no such user) and f (its session, id "" when none).  The
 * same rule as the hook's: an enabled user, and the token's session live.
 * VG_OK, or VG_ERR_UNAUTHORIZED with the 401 recorded (nothing to add).
 * A request with no pending caller is left as it is (VG_OK).
 */
enum vg_err vg_auth_settle(struct vg_http_req *req, const struct vg_user *u,
    const struct vg_refresh_family *f);
/* Settle the pending caller with a read of its own (vg_store_user_session);
 * VG_OK, or the failure recorded (401, or 503/500 when the store fails). */
enum vg_err vg_auth_confirm(struct vg_http_req *req);
/* Whether the principal holds any of the groups. */
bool vg_principal_in(const struct vg_principal *p, unsigned groups);
/* The session p's token names (its refresh family), or NULL when none. */
const char *vg_principal_session(const struct vg_principal *p);

/*
 * Check one bearer credential (the token, without "Bearer ") as of now
 * (seconds) and describe its holder in *out.  VG_ERR_UNAUTHORIZED for
 * anything not acceptable, VG_ERR_UNAVAILABLE when the store or the
 * provider's keys cannot be reached.  The hook's core, for tests.
 */
enum vg_err vg_auth_check(struct vg_store *s, const char *credential, int64_t now,
    struct vg_principal *out);

/*
 * Sign a custom-provider access token for u in session (a refresh family
 * id) at now (seconds).  *token is malloc'd; *expires_in gets its
 * lifetime in seconds (VEGA_ACCESS_TOKEN_TTL_SECONDS).
 */
enum vg_err vg_auth_issue_access(const struct vg_user *u, const char *session, int64_t now,
    char **token, int64_t *expires_in);

/* ---- routes of vega-auth.fcgi ---- */
enum vg_err vg_auth_route_login(struct vg_http_req *req);    /* POST /v1/auth/login */
enum vg_err vg_auth_route_refresh(struct vg_http_req *req);  /* POST /v1/auth/refresh */
enum vg_err vg_auth_route_logout(struct vg_http_req *req);   /* POST /v1/auth/logout */
enum vg_err vg_auth_route_me(struct vg_http_req *req);       /* GET /v1/auth/me */
enum vg_err vg_auth_route_key_create(struct vg_http_req *req);  /* POST /v1/api-keys */
enum vg_err vg_auth_route_key_list(struct vg_http_req *req);    /* GET /v1/api-keys */
enum vg_err vg_auth_route_key_revoke(struct vg_http_req *req);  /* DELETE /v1/api-keys/{id} */
/* GET /v1/ops/audit: the audit log, newest first (limit, cursor). */
enum vg_err vg_auth_route_audit(struct vg_http_req *req);

#define VG_AUTH_ROUTES \
	{"POST", "/v1/auth/login", VG_AUTH_NONE, vg_auth_route_login}, \
	{"POST", "/v1/auth/refresh", VG_AUTH_NONE, vg_auth_route_refresh}, \
	{"POST", "/v1/auth/logout", VG_AUTH_USER, vg_auth_route_logout}, \
	{"GET", "/v1/auth/me", VG_AUTH_USER, vg_auth_route_me}, \
	{"POST", "/v1/api-keys", VG_AUTH_USER, vg_auth_route_key_create}, \
	{"GET", "/v1/api-keys", VG_AUTH_USER, vg_auth_route_key_list}, \
	{"DELETE", "/v1/api-keys/{id}", VG_AUTH_USER, vg_auth_route_key_revoke}

/* Append an audit event for the request (request id and client address
 * filled from it); details (may be NULL) is taken, as jansson's *_new
 * functions take theirs.  Failures are logged, never answered. */
void vg_auth_audit(struct vg_http_req *req, const char *actor_id, const char *action,
    const char *target_type, const char *target_id, json_t *details);

#endif
