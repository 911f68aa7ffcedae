/* auth.c - the bearer check of every program and custom access tokens. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth/auth.h"
#include "auth/cognito.h"
#include "auth/jwt.h"
#include "auth/token.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"

#define SECRET_MIN 32                 /* bytes of VEGA_AUTH_SECRET */
#define KEY_TOUCH_EVERY_US 60000000LL /* last_used is recorded at most once a minute */

/* The HS256 key of the custom provider, built once per process. */
static struct vg_jwt_key *custom_key;

static bool
provider_is_custom(void)
{
	return vg_cfg_is(VG_SET_AUTH_PROVIDER, "custom");
}

void
vg_auth_reset(void)
{
	vg_jwt_key_free(custom_key);
	custom_key = NULL;
	vg_cognito_reset();
}

enum vg_err
vg_auth_init(void)
{
	const char *secret = vg_cfg_str(VG_SET_AUTH_SECRET);

	vg_auth_reset();
	if (!provider_is_custom())
		return vg_cognito_init();
	if (strlen(secret) < SECRET_MIN) {
		vg_log(VG_LOG_ERROR, "auth_config_invalid", "setting", "VEGA_AUTH_SECRET",
		    "problem", "required with VEGA_AUTH_PROVIDER=custom: at least 32 bytes", NULL);
		fprintf(stderr, "VEGA_AUTH_SECRET is required when VEGA_AUTH_PROVIDER=custom"
		    " (at least %d bytes, e.g. from `openssl rand -base64 48`)\n", SECRET_MIN);
		return VG_ERR_INVALID;
	}
	return vg_jwt_key_new(VG_JWT_HS256, secret, strlen(secret), NULL, &custom_key);
}

bool
vg_principal_in(const struct vg_principal *p, unsigned groups)
{
	return p && (p->groups & groups) != 0;
}

const char *
vg_principal_session(const struct vg_principal *p)
{
	return p->session_id[0] ? p->session_id : NULL;
}

const struct vg_principal *
vg_auth_principal(const struct vg_http_req *req)
{
	const struct vg_principal *p = vg_http_principal(req);

	return p && !p->pending ? p : NULL;
}

/* Fill the principal's user fields; a disabled user is refused. */
static enum vg_err
from_user(const struct vg_user *u, struct vg_principal *p)
{
	if (u->disabled)
		return VG_ERR_UNAUTHORIZED;
	memcpy(p->user_id, u->id, sizeof p->user_id);
	memcpy(p->email, u->email, sizeof p->email);
	memcpy(p->display_name, u->display_name, sizeof p->display_name);
	p->groups = u->groups;
	return VG_OK;
}

/* NOT_FOUND from a lookup means the credential names nobody: 401. */
static enum vg_err
as_auth_error(enum vg_err err)
{
	return err == VG_ERR_NOT_FOUND ? VG_ERR_UNAUTHORIZED : err;
}

/* An API key: live, unexpired, its owner enabled; the owner's groups. */
static enum vg_err
check_api_key(struct vg_store *s, const char *key, int64_t now, struct vg_principal *p)
{
	char hash[VG_TOKEN_HASH_HEX];
	struct vg_api_key k;
	struct vg_user u;
	int64_t now_us = now * 1000000;
	enum vg_err err;

	vg_token_hash(key, hash);
	if ((err = as_auth_error(vg_store_api_key_by_hash(s, hash, &k))) != VG_OK)
		return err;
	/* the lookup was by hash; compare again in constant time anyway */
	if (!vg_ct_equal(k.key_hash, hash, 64) || k.revoked_at_us ||
	    (k.expires_at_us && k.expires_at_us <= now_us))
		return VG_ERR_UNAUTHORIZED;
	if ((err = as_auth_error(vg_store_user_get(s, k.user_id, &u))) != VG_OK ||
	    (err = from_user(&u, p)) != VG_OK)
		return err;
	p->via = VG_VIA_API_KEY;
	memcpy(p->api_key_id, k.id, sizeof p->api_key_id);
	if (now_us - k.last_used_us >= KEY_TOUCH_EVERY_US &&
	    vg_store_api_key_touch(s, k.id, now_us) != VG_OK)
		vg_log(VG_LOG_WARN, "api_key_touch_failed", NULL);
	return VG_OK;
}

/* aud is "vega-api" or an array holding it. */
static bool
audience_ok(json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), VG_AUTH_AUDIENCE) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), VG_AUTH_AUDIENCE) == 0)
			return true;
	return false;
}

/*
 * The claims of a custom access token: our signature, issuer, audience
 * and use, a user id (sub) and, when it names one, a session id (sid);
 * those two into p, nothing else.
 */
static enum vg_err
custom_token(const char *token, int64_t now, struct vg_principal *p)
{
	json_t *claims = NULL;
	const char *iss = NULL, *sub = NULL, *sid = NULL, *use = NULL, *jti = NULL;
	enum vg_err err = VG_ERR_UNAUTHORIZED;

	if (!custom_key)
		return VG_ERR_UNAVAILABLE;
	if (vg_jwt_verify(&custom_key, 1, token, now, vg_cfg_int(VG_SET_JWT_LEEWAY_SECONDS),
	    &claims) != VG_OK)
		goto out;
	if (vg_json_get_str(claims, "iss", true, 64, &iss) || strcmp(iss, VG_AUTH_ISSUER) ||
	    !audience_ok(json_object_get(claims, "aud")) ||
	    vg_json_get_str(claims, "token_use", true, 16, &use) || strcmp(use, "access") ||
	    vg_json_get_str(claims, "jti", true, 64, &jti) ||
	    vg_json_get_str(claims, "sub", true, VG_UUID_LEN, &sub) || !vg_uuid_valid(sub) ||
	    vg_json_get_str(claims, "sid", false, VG_UUID_LEN, &sid) ||
	    (sid && !vg_uuid_valid(sid)))   /* such a session can never be live */
		goto out;
	vg_str_copy(p->user_id, sizeof p->user_id, sub);
	vg_str_copy(p->session_id, sizeof p->session_id, sid ? sid : "");
	err = VG_OK;
out:
	json_decref(claims);
	return err;
}

/* The holder of a custom token whose ids p holds, as the store has it:
 * an enabled user u, and the token's session f live when it names one. */
static enum vg_err
custom_holder(const struct vg_user *u, const struct vg_refresh_family *f,
    struct vg_principal *p)
{
	if (!u->id[0] || (p->session_id[0] && (!f->id[0] || f->revoked_at_us)))
		return VG_ERR_UNAUTHORIZED;
	return from_user(u, p);
}

/* The account and session p's ids name, in one look-up: who->user.id is
 * "" when there is no such user (custom_holder refuses it). */
static enum vg_err
read_holder(struct vg_store *s, const struct vg_principal *p, struct vg_store_caller *who)
{
	enum vg_err err = vg_store_user_session(s, p->user_id, vg_principal_session(p),
	    &who->user, &who->session);

	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

/* A custom access token: a valid token (custom_token) whose holder the
 * store confirms (custom_holder). */
static enum vg_err
check_custom(struct vg_store *s, const char *token, int64_t now, struct vg_principal *p)
{
	struct vg_store_caller who;
	enum vg_err err;

	if ((err = custom_token(token, now, p)) != VG_OK || (err = read_holder(s, p, &who)) != VG_OK)
		return err;
	p->via = VG_VIA_ACCESS_TOKEN;
	return custom_holder(&who.user, &who.session, p);
}

/*
 * The user behind verified Cognito claims: found by sub, or created on
 * first sight; its groups follow the token's cognito:groups.
 */
static enum vg_err
cognito_user(struct vg_store *s, json_t *claims, struct vg_user *u)
{
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *name = json_string_value(json_object_get(claims, "username"));
	unsigned groups = vg_cognito_groups(claims);
	enum vg_err err = vg_store_user_by_sub(s, sub, u);

	if (err == VG_ERR_NOT_FOUND) {
		memset(u, 0, sizeof *u);
		vg_str_copy(u->cognito_sub, sizeof u->cognito_sub, sub);
		if (name && strlen(name) <= VG_STORE_NAME_MAX && vg_utf8_valid(name, strlen(name)))
			vg_str_copy(u->display_name, sizeof u->display_name, name);
		u->groups = groups;
		err = vg_store_user_create(s, u);
		if (err == VG_OK)
			vg_log(VG_LOG_INFO, "user_created", "user_id", u->id, "provider", "cognito", NULL);
		else if (err == VG_ERR_CONFLICT)   /* a concurrent first request made it */
			err = vg_store_user_by_sub(s, sub, u);
		return err;
	}
	if (err == VG_OK && u->groups != groups &&
	    (err = vg_store_user_set_groups(s, u->id, groups, 0)) == VG_OK)
		u->groups = groups;
	return err;
}

static enum vg_err
check_cognito(struct vg_store *s, const char *token, int64_t now, struct vg_principal *p)
{
	json_t *claims = NULL;
	struct vg_user u;
	enum vg_err err;

	if ((err = vg_cognito_verify(token, now, &claims)) != VG_OK)
		return err;
	if ((err = cognito_user(s, claims, &u)) == VG_OK)
		err = from_user(&u, p);
	p->via = VG_VIA_ACCESS_TOKEN;
	json_decref(claims);
	return err;
}

/* A check's outcome as the client hears it: a credential that names
 * nothing valid is refused; a store that cannot answer is not the
 * client's fault (503 or 500).  Nothing is left of a refused principal. */
static enum vg_err
refusal(enum vg_err err, struct vg_principal *p)
{
	if (err != VG_OK)
		memset(p, 0, sizeof *p);
	if (err == VG_ERR_NOT_FOUND || err == VG_ERR_INVALID || err == VG_ERR_FORBIDDEN)
		err = VG_ERR_UNAUTHORIZED;
	return err;
}

enum vg_err
vg_auth_check(struct vg_store *s, const char *credential, int64_t now, struct vg_principal *out)
{
	enum vg_err err;

	memset(out, 0, sizeof *out);
	if (vg_str_has_prefix(credential, VG_TOKEN_PREFIX_API_KEY))
		err = check_api_key(s, credential, now, out);
	else if (provider_is_custom())
		err = check_custom(s, credential, now, out);
	else
		err = check_cognito(s, credential, now, out);
	return refusal(err, out);
}

/* The hook's check for need: whole, or for a custom access token on a
 * VG_AUTH_USER_SCOPED route the token alone (a pending principal). */
static enum vg_err
check_for(struct vg_store *s, const char *credential, enum vg_auth need, int64_t now,
    struct vg_principal *p)
{
	if (need != VG_AUTH_USER_SCOPED || !provider_is_custom() ||
	    vg_str_has_prefix(credential, VG_TOKEN_PREFIX_API_KEY))
		return vg_auth_check(s, credential, now, p);
	memset(p, 0, sizeof *p);
	p->via = VG_VIA_ACCESS_TOKEN;
	p->pending = true;
	return refusal(custom_token(credential, now, p), p);
}

const struct vg_principal *
vg_auth_pending(const struct vg_http_req *req)
{
	const struct vg_principal *p = vg_http_principal(req);

	return p && p->pending ? p : NULL;
}

enum vg_err
vg_auth_settle(struct vg_http_req *req, const struct vg_user *u,
    const struct vg_refresh_family *f)
{
	struct vg_principal *p = vg_http_principal(req);

	if (!p || !p->pending)
		return VG_OK;
	/* a refused caller stays pending: vg_auth_principal never names it */
	if (custom_holder(u, f, p) != VG_OK)
		return vg_http_fail(req, VG_ERR_UNAUTHORIZED, "the bearer token is invalid or expired",
		    NULL);
	p->pending = false;
	vg_log(VG_LOG_DEBUG, "authenticated", "user_id", p->user_id, "via", "access_token", NULL);
	return VG_OK;
}

enum vg_err
vg_auth_confirm(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_pending(req);
	struct vg_store_caller who;
	struct vg_store *s = NULL;
	enum vg_err err;

	if (!p)
		return VG_OK;
	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	if ((err = read_holder(s, p, &who)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	return vg_auth_settle(req, &who.user, &who.session);
}

enum vg_err
vg_auth_authenticate(struct vg_http_req *req, enum vg_auth need)
{
	const char *tok = NULL;
	char *cred = NULL;
	struct vg_principal *p = NULL;
	struct vg_store *s = NULL;
	size_t len = 0;
	enum vg_err err;

	if (vg_bearer_parse(vg_http_header(req, "Authorization"), &tok, &len) != VG_OK)
		return vg_http_fail(req, VG_ERR_UNAUTHORIZED, "a bearer token is required", NULL);
	err = VG_ERR_NOMEM;
	if (!(cred = strndup(tok, len)) || !(p = calloc(1, sizeof *p)))
		goto out;
	if ((err = vg_http_store(&s)) != VG_OK)
		goto out;
	err = check_for(s, cred, need, vg_time_now_us() / 1000000, p);
	if (err == VG_ERR_UNAUTHORIZED) {
		vg_http_fail(req, err, "the bearer token is invalid or expired", NULL);
		goto out;
	}
	if (err != VG_OK)
		goto out;
	if (need == VG_AUTH_OPERATOR && !vg_principal_in(p, VG_GROUP_OPERATOR | VG_GROUP_ROOT)) {
		err = vg_http_fail(req, VG_ERR_FORBIDDEN, "this needs the operator or root group", NULL);
		goto out;
	}
	if (!p->pending)
		vg_log(VG_LOG_DEBUG, "authenticated", "user_id", p->user_id,
		    "via", p->via == VG_VIA_API_KEY ? "api_key" : "access_token", NULL);
	vg_http_set_principal(req, p, free);
	p = NULL;
out:
	if (cred) {
		OPENSSL_cleanse(cred, len);
		free(cred);
	}
	free(p);
	return err;
}

enum vg_err
vg_auth_issue_access(const struct vg_user *u, const char *session, int64_t now, char **token,
    int64_t *expires_in)
{
	int64_t ttl = vg_cfg_int(VG_SET_ACCESS_TOKEN_TTL_SECONDS);
	char jti[VG_UUID_LEN + 1];
	json_t *claims = NULL;
	enum vg_err err;

	*token = NULL;
	*expires_in = ttl;
	if (!custom_key)
		return VG_ERR_INTERNAL;
	if ((err = vg_uuid_new(jti)) != VG_OK)
		return err;
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:s}",
	    "iss", VG_AUTH_ISSUER, "aud", VG_AUTH_AUDIENCE, "sub", u->id,
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl), "jti", jti,
	    "groups", vg_groups_json(u->groups), "token_use", "access");
	if (!claims)
		return VG_ERR_NOMEM;
	if (session && *session &&
	    json_object_set_new(claims, "sid", json_string(session)) != 0)
		err = VG_ERR_NOMEM;
	else
		err = vg_jwt_sign(custom_key, claims, token);
	json_decref(claims);
	return err;
}

void
vg_auth_audit(struct vg_http_req *req, const char *actor_id, const char *action,
    const char *target_type, const char *target_id, json_t *details)
{
	struct vg_store *s = NULL;
	const char *ip = vg_http_client_addr(req);
	struct vg_audit_event ev = {
		.actor_id = actor_id && *actor_id ? actor_id : NULL, .action = action,
		.target_type = target_type, .target_id = target_id,
		.request_id = vg_http_request_id(req), .client_ip = ip && *ip ? ip : NULL,
		.details = details,
	};

	if (vg_http_store(&s) != VG_OK || vg_store_audit_append(s, &ev) != VG_OK)
		vg_log(VG_LOG_ERROR, "audit_append_failed", "action", action, NULL);
	json_decref(details);
}
