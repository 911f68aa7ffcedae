/*
 * routes.c - the handlers of vega-auth.fcgi (login, refresh, logout, me,
 * API keys) and the operators' audit log.
 *
 * Login answers the same 401 for an unknown e-mail, a wrong password, a
 * disabled account or an account without a password, and spends the same
 * work on each (the KDF runs against a dummy hash when there is no real
 * one), so neither the answer nor its timing tells whether an address
 * has an account.  Failures are counted per address and per client
 * address; past VEGA_LOGIN_MAX_FAILURES(_PER_ADDRESS) within
 * VEGA_LOGIN_THROTTLE_SECONDS, attempts answer 429 rate_limited with
 * Retry-After, whether or not the password is right.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "auth/auth.h"
#include "auth/cognito.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"

#define MAX_KEYS_PER_USER 100
#define KEY_PREFIX_LEN 12          /* "vgk_" and 8 characters of the secret */
#define US 1000000LL

/* ---- small helpers ---- */

/* The hex SHA-256 of s, prefixed: a throttle key that holds no address. */
static void
throttle_key(const char *kind, const char *s, char out[80])
{
	unsigned char md[32];
	char hex[65];
	unsigned int len = 0;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	vg_hex_encode(md, sizeof md, hex);
	snprintf(out, 80, "%s-%s", kind, hex);
}

/* The e-mail as the store keeps it (ASCII lower case), for the key. */
static void
email_key(const char *email, char out[80])
{
	char low[VG_STORE_EMAIL_MAX + 1];
	size_t i;

	for (i = 0; email[i] && i < VG_STORE_EMAIL_MAX; i++)
		low[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	low[i] = '\0';
	throttle_key("acct", low, out);
}

/* ---- the login throttle ---- */

struct throttle {
	char acct[80], addr[80];
};

/*
 * Whether either counter is at its limit: 429 with Retry-After (the rest
 * of the longer window) recorded on req.
 */
static enum vg_err
throttle_check(struct vg_http_req *req, struct vg_store *s, const struct throttle *t,
    int64_t now_us)
{
	const struct {
		const char *key;
		int64_t max;
	} limits[] = {
		{t->acct, vg_cfg_int(VG_SET_LOGIN_MAX_FAILURES)},
		{t->addr, vg_cfg_int(VG_SET_LOGIN_MAX_FAILURES_PER_ADDRESS)},
	};
	int64_t window = vg_cfg_int(VG_SET_LOGIN_THROTTLE_SECONDS) * US, wait = 0, n, start;
	size_t i;
	enum vg_err err;

	for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		if ((err = vg_store_throttle_get(s, limits[i].key, now_us, window, &n, &start)))
			return vg_http_fail(req, err == VG_ERR_UNAVAILABLE ? err : VG_ERR_INTERNAL,
			    "the login throttle is unavailable", NULL);
		if (n >= limits[i].max && start + window - now_us > wait)
			wait = start + window - now_us;
	}
	if (wait <= 0)
		return VG_OK;
	vg_http_set_retry_after(req, (int)((wait + US - 1) / US));
	return vg_http_fail(req, VG_ERR_RATE_LIMITED, "too many failed logins; try again later",
	    NULL);
}

static void
throttle_count(struct vg_store *s, const struct throttle *t, int64_t now_us)
{
	int64_t window = vg_cfg_int(VG_SET_LOGIN_THROTTLE_SECONDS) * US, n, start;

	if (vg_store_throttle_fail(s, t->acct, now_us, window, &n, &start) != VG_OK ||
	    vg_store_throttle_fail(s, t->addr, now_us, window, &n, &start) != VG_OK)
		vg_log(VG_LOG_ERROR, "login_throttle_write_failed", NULL);
}

/* ---- answers with tokens ---- */

static enum vg_err
answer_tokens(struct vg_http_req *req, const char *access, int64_t expires_in,
    const char *refresh)
{
	return vg_http_json(req, 200, json_pack("{s:s, s:s, s:I, s:o}",
	    "access_token", access, "token_type", "Bearer", "expires_in", (json_int_t)expires_in,
	    "refresh_token", vg_http_opt_str(refresh)));
}

/*
 * A new session for u: a refresh-token family with its first token, and an
 * access token naming it.  Answers 200 with both.
 */
static enum vg_err
start_session(struct vg_http_req *req, struct vg_store *s, const struct vg_user *u,
    int64_t now_us)
{
	char refresh[VG_TOKEN_MAX], hash[VG_TOKEN_HASH_HEX];
	struct vg_refresh_family f;
	const char *ua = vg_http_header(req, "User-Agent"), *ip = vg_http_client_addr(req);
	char *access = NULL;
	int64_t expires_in = 0;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	memcpy(f.user_id, u->id, sizeof f.user_id);
	f.created_at_us = now_us;
	f.expires_at_us = now_us + vg_cfg_int(VG_SET_REFRESH_FAMILY_TTL_SECONDS) * US;
	vg_str_copy(f.client_ip, sizeof f.client_ip, ip ? ip : "");
	if (ua && vg_utf8_valid(ua, strlen(ua)))
		vg_str_copy(f.user_agent, sizeof f.user_agent, ua);   /* cut at 512 bytes */
	if (!vg_utf8_valid(f.user_agent, strlen(f.user_agent)))
		f.user_agent[0] = '\0';
	if ((err = vg_token_new(VG_TOKEN_PREFIX_REFRESH, refresh, hash)) != VG_OK ||
	    (err = vg_store_refresh_start(s, &f, hash,
	    now_us + vg_cfg_int(VG_SET_REFRESH_TOKEN_TTL_SECONDS) * US)) != VG_OK ||
	    (err = vg_auth_issue_access(u, f.id, now_us / US, &access, &expires_in)) != VG_OK)
		goto out;
	err = answer_tokens(req, access, expires_in, refresh);
out:
	OPENSSL_cleanse(refresh, sizeof refresh);
	free(access);
	return err;
}

/* ---- login ---- */

/*
 * Verify password against hash, or against a dummy hash of the current
 * work factor when there is none, so that the time spent does not depend
 * on whether the account exists.  *ok is false for the dummy.
 */
static void
verify_password(const char *password, const char *hash, bool *ok, bool *rehash)
{
	char dummy[VG_PASSWORD_HASH_MAX];

	*ok = *rehash = false;
	if (hash && *hash) {
		if (vg_password_verify(password, hash, ok, rehash) != VG_OK)
			*ok = false;
		return;
	}
	snprintf(dummy, sizeof dummy, "scrypt$%lld$8$1$ZHVtbXlzYWx0ZHVtbXlzYQ$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    (long long)vg_cfg_int(VG_SET_PASSWORD_SCRYPT_LOG_N));
	vg_password_verify(password, dummy, ok, rehash);
	*ok = false;
}

static enum vg_err
login_failed(struct vg_http_req *req, struct vg_store *s, const struct throttle *t,
    const char *user_id, const char *reason, int64_t now_us)
{
	throttle_count(s, t, now_us);
	/* no actor: whoever tried is not known to be that user */
	vg_auth_audit(req, NULL, "auth.login_failed", user_id ? "user" : NULL, user_id,
	    json_pack("{s:s}", "reason", reason));
	return vg_http_fail(req, VG_ERR_UNAUTHORIZED, "invalid e-mail or password", NULL);
}

/* Built-in accounts. */
static enum vg_err
login_custom(struct vg_http_req *req, struct vg_store *s, const char *email,
    const char *password, const struct throttle *t, int64_t now_us)
{
	struct vg_user u;
	char fresh[VG_PASSWORD_HASH_MAX];
	bool ok = false, rehash = false, known;
	enum vg_err err;

	err = vg_store_user_by_email(s, email, &u);
	if (err != VG_OK && err != VG_ERR_NOT_FOUND)
		return vg_http_fail(req, err, "the store is unavailable", NULL);
	known = err == VG_OK;
	verify_password(password, known ? u.password_hash : NULL, &ok, &rehash);
	if (!known)
		return login_failed(req, s, t, NULL, "unknown_email", now_us);
	if (!ok)
		return login_failed(req, s, t, u.id, u.password_hash[0] ? "bad_password"
		    : "no_password", now_us);
	if (u.disabled)
		return login_failed(req, s, t, u.id, "disabled", now_us);
	if (vg_store_throttle_clear(s, t->acct) != VG_OK)
		vg_log(VG_LOG_WARN, "login_throttle_clear_failed", NULL);
	/* a hash made with a weaker work factor is replaced while we hold
	 * the password */
	if (rehash && vg_password_hash(password, fresh) == VG_OK &&
	    vg_store_user_set_password(s, u.id, fresh, now_us) != VG_OK)
		vg_log(VG_LOG_WARN, "password_rehash_failed", "user_id", u.id, NULL);
	if (vg_store_user_touch_login(s, u.id, now_us) != VG_OK)
		vg_log(VG_LOG_WARN, "last_login_failed", "user_id", u.id, NULL);
	if ((err = start_session(req, s, &u, now_us)) != VG_OK)
		return err;
	vg_auth_audit(req, u.id, "auth.login", "user", u.id,
	    json_pack("{s:s, s:b}", "provider", "custom", "rehashed", rehash));
	return VG_OK;
}

/*
 * The user an access token from Cognito stands for: verified like any
 * presented token (so a compromised endpoint cannot hand us a forged one).
 */
static enum vg_err
cognito_principal(struct vg_http_req *req, struct vg_store *s, const char *access,
    struct vg_principal *p)
{
	enum vg_err err = vg_auth_check(s, access, vg_time_now_us() / US, p);

	if (err == VG_ERR_UNAUTHORIZED)
		return vg_http_fail(req, VG_ERR_UNAVAILABLE,
		    "the identity provider returned a token that does not verify", NULL);
	return err;
}

/* Map a refused Cognito call to the answer, auditing refusals. */
static enum vg_err
cognito_refused(struct vg_http_req *req, struct vg_store *s, const struct throttle *t,
    const struct vg_cognito_auth *a, enum vg_err err, int64_t now_us)
{
	if (err == VG_ERR_UNAUTHORIZED && a->challenge[0]) {
		vg_auth_audit(req, NULL, "auth.login_failed", NULL, NULL,
		    json_pack("{s:s, s:s}", "reason", "challenge", "challenge", a->challenge));
		return vg_http_fail(req, VG_ERR_UNAUTHORIZED,
		    "the identity provider asks for a step Vega cannot complete", NULL);
	}
	if (err == VG_ERR_UNAUTHORIZED && t)
		return login_failed(req, s, t, NULL, a->error_type[0] ? a->error_type : "refused",
		    now_us);
	if (err == VG_ERR_UNAUTHORIZED)
		return vg_http_fail(req, err, "the refresh token is invalid or expired", NULL);
	if (err == VG_ERR_RATE_LIMITED)
		return vg_http_fail(req, err, "the identity provider throttles; try again later", NULL);
	if (err == VG_ERR_INVALID)
		return vg_http_fail(req, err, "username is required: the app client has a secret",
		    "username");
	return vg_http_fail(req, VG_ERR_UNAVAILABLE, "the identity provider is unavailable", NULL);
}

static enum vg_err
login_cognito(struct vg_http_req *req, struct vg_store *s, const char *email,
    const char *password, const struct throttle *t, int64_t now_us)
{
	struct vg_cognito_auth a;
	struct vg_principal p;
	enum vg_err err;

	if ((err = vg_cognito_password_auth(email, password, &a)) != VG_OK)
		return cognito_refused(req, s, t, &a, err, now_us);
	if ((err = cognito_principal(req, s, a.access_token, &p)) != VG_OK)
		goto out;
	if (vg_store_throttle_clear(s, t->acct) != VG_OK)
		vg_log(VG_LOG_WARN, "login_throttle_clear_failed", NULL);
	if (vg_store_user_touch_login(s, p.user_id, now_us) != VG_OK)
		vg_log(VG_LOG_WARN, "last_login_failed", "user_id", p.user_id, NULL);
	vg_auth_audit(req, p.user_id, "auth.login", "user", p.user_id,
	    json_pack("{s:s}", "provider", "cognito"));
	err = answer_tokens(req, a.access_token, a.expires_in, a.refresh_token);
out:
	vg_cognito_auth_release(&a);
	return err;
}

enum vg_err
vg_auth_route_login(struct vg_http_req *req)
{
	json_t *body = NULL;
	const char *email = NULL, *password = NULL, *ip;
	struct vg_store *s = NULL;
	struct throttle t;
	int64_t now_us = vg_time_now_us();
	enum vg_err err;

	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "email", true, VG_STORE_EMAIL_MAX, &email)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "password", true, VG_PASSWORD_MAX_LEN, &password)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		goto out;
	ip = vg_http_client_addr(req);
	email_key(email, t.acct);
	throttle_key("addr", ip && *ip ? ip : "unknown", t.addr);
	if ((err = throttle_check(req, s, &t, now_us)) != VG_OK) {
		if (err == VG_ERR_RATE_LIMITED)
			vg_auth_audit(req, NULL, "auth.login_throttled", NULL, NULL, NULL);
		goto out;
	}
	if (vg_cfg_is(VG_SET_AUTH_PROVIDER, "custom"))
		err = login_custom(req, s, email, password, &t, now_us);
	else
		err = login_cognito(req, s, email, password, &t, now_us);
out:
	json_decref(body);
	return err;
}

/* ---- refresh ---- */

static enum vg_err
refresh_custom(struct vg_http_req *req, struct vg_store *s, const char *presented)
{
	char fresh[VG_TOKEN_MAX], old_hash[VG_TOKEN_HASH_HEX], new_hash[VG_TOKEN_HASH_HEX];
	struct vg_refresh_rotation r;
	struct vg_user u;
	char *access = NULL;
	int64_t now_us = vg_time_now_us(), expires_in = 0;
	enum vg_err err;

	vg_token_hash(presented, old_hash);
	if ((err = vg_token_new(VG_TOKEN_PREFIX_REFRESH, fresh, new_hash)) != VG_OK)
		goto out;
	memset(&r, 0, sizeof r);
	r.old_hash = old_hash;
	r.new_hash = new_hash;
	r.now_us = now_us;
	r.new_expires_us = now_us + vg_cfg_int(VG_SET_REFRESH_TOKEN_TTL_SECONDS) * US;
	if ((err = vg_store_refresh_rotate(s, &r)) != VG_OK) {
		vg_http_fail(req, err, "the store is unavailable", NULL);
		goto out;
	}
	if (r.outcome == VG_REFRESH_REUSED) {
		vg_log(VG_LOG_WARN, "refresh_token_reuse", "user_id", r.family.user_id,
		    "family_id", r.family.id, NULL);
		/* no actor: the presenter may be the thief */
		vg_auth_audit(req, NULL, "auth.refresh_reuse_detected", "refresh_family",
		    r.family.id, json_pack("{s:s}", "user_id", r.family.user_id));
		err = vg_http_fail(req, VG_ERR_UNAUTHORIZED, "the refresh token is invalid or expired",
		    NULL);
		goto out;
	}
	if (r.outcome != VG_REFRESH_ROTATED) {
		vg_auth_audit(req, NULL, "auth.refresh_failed",
		    r.family.id[0] ? "refresh_family" : NULL, r.family.id[0] ? r.family.id : NULL,
		    NULL);
		err = vg_http_fail(req, VG_ERR_UNAUTHORIZED, "the refresh token is invalid or expired",
		    NULL);
		goto out;
	}
	err = vg_store_user_get(s, r.family.user_id, &u);
	if (err == VG_OK && u.disabled)
		err = VG_ERR_NOT_FOUND;
	if (err == VG_ERR_NOT_FOUND) {
		vg_store_refresh_family_revoke(s, r.family.id, VG_REVOKE_DISABLED, now_us);
		err = vg_http_fail(req, VG_ERR_UNAUTHORIZED, "the refresh token is invalid or expired",
		    NULL);
		goto out;
	}
	if (err != VG_OK ||
	    (err = vg_auth_issue_access(&u, r.family.id, now_us / US, &access, &expires_in)))
		goto out;
	vg_auth_audit(req, u.id, "auth.refresh", "refresh_family", r.family.id, NULL);
	err = answer_tokens(req, access, expires_in, fresh);
out:
	OPENSSL_cleanse(fresh, sizeof fresh);
	free(access);
	return err;
}

static enum vg_err
refresh_cognito(struct vg_http_req *req, struct vg_store *s, const char *presented,
    const char *username)
{
	struct vg_cognito_auth a;
	struct vg_principal p;
	enum vg_err err;

	if ((err = vg_cognito_refresh_auth(presented, username, &a)) != VG_OK) {
		if (err == VG_ERR_UNAUTHORIZED)
			vg_auth_audit(req, NULL, "auth.refresh_failed", NULL, NULL,
			    json_pack("{s:s}", "reason", a.error_type[0] ? a.error_type : "refused"));
		return cognito_refused(req, s, NULL, &a, err, vg_time_now_us());
	}
	if ((err = cognito_principal(req, s, a.access_token, &p)) == VG_OK) {
		vg_auth_audit(req, p.user_id, "auth.refresh", "user", p.user_id, NULL);
		/* Cognito keeps the refresh token unless it rotated it */
		err = answer_tokens(req, a.access_token, a.expires_in,
		    a.refresh_token ? a.refresh_token : presented);
	}
	vg_cognito_auth_release(&a);
	return err;
}

enum vg_err
vg_auth_route_refresh(struct vg_http_req *req)
{
	json_t *body = NULL;
	const char *token = NULL, *username = NULL;
	struct vg_store *s = NULL;
	enum vg_err err;

	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "refresh_token", true, VG_BEARER_MAX, &token)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "username", false, VG_STORE_EMAIL_MAX, &username)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		goto out;
	if (vg_cfg_is(VG_SET_AUTH_PROVIDER, "custom"))
		err = refresh_custom(req, s, token);
	else
		err = refresh_cognito(req, s, token, username);
out:
	json_decref(body);
	return err;
}

/* ---- logout ---- */

/* Whether the request carries a body at all (logout's is optional). */
static bool
has_body(struct vg_http_req *req)
{
	const char *cl = vg_http_param(req, "CONTENT_LENGTH");
	const char *te = vg_http_header(req, "Transfer-Encoding");

	return (cl && *cl && strcmp(cl, "0") != 0) || te;
}

enum vg_err
vg_auth_route_logout(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_principal(req);
	json_t *body = NULL;
	const char *token = NULL;
	char hash[VG_TOKEN_HASH_HEX], family[VG_UUID_LEN + 1];
	struct vg_refresh_family f;
	struct vg_store *s = NULL;
	enum vg_err err;

	if (has_body(req) &&
	    ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "refresh_token", false, VG_BEARER_MAX, &token)) != VG_OK))
		goto out;
	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		goto out;
	if (!vg_cfg_is(VG_SET_AUTH_PROVIDER, "custom")) {
		if (!token) {
			err = vg_http_fail(req, VG_ERR_INVALID, "refresh_token is required", "refresh_token");
			goto out;
		}
		if ((err = vg_cognito_revoke(token)) != VG_OK) {
			err = vg_http_fail(req, err == VG_ERR_UNAUTHORIZED ? VG_ERR_NOT_FOUND
			    : VG_ERR_UNAVAILABLE, "the session could not be ended", NULL);
			goto out;
		}
		vg_auth_audit(req, p->user_id, "auth.logout", "user", p->user_id, NULL);
		err = vg_http_send(req, 204, NULL, NULL, 0);
		goto out;
	}
	memcpy(family, p->session_id, sizeof family);
	if (token) {
		/* only a session of the caller's own can be ended */
		vg_token_hash(token, hash);
		err = vg_store_refresh_family_of(s, hash, &f);
		if (err == VG_OK && strcmp(f.user_id, p->user_id) != 0)
			err = VG_ERR_NOT_FOUND;
		if (err != VG_OK) {
			err = vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such session" : NULL,
			    NULL);
			goto out;
		}
		memcpy(family, f.id, sizeof family);
	}
	if (!family[0]) {
		err = vg_http_fail(req, VG_ERR_INVALID,
		    "refresh_token is required when the credential is an API key", "refresh_token");
		goto out;
	}
	if ((err = vg_store_refresh_family_revoke(s, family, VG_REVOKE_LOGOUT, 0)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such session" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, p->user_id, "auth.logout", "refresh_family", family, NULL);
	err = vg_http_send(req, 204, NULL, NULL, 0);
out:
	json_decref(body);
	return err;
}

/* ---- me ---- */

enum vg_err
vg_auth_route_me(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_principal(req);

	return vg_http_json(req, 200, json_pack("{s:s, s:o, s:s, s:o, s:s, s:s, s:o}",
	    "id", p->user_id, "email", vg_http_opt_str(p->email), "display_name", p->display_name,
	    "groups", vg_groups_json(p->groups),
	    "authenticated_by", p->via == VG_VIA_API_KEY ? "api_key" : "access_token",
	    "provider", vg_cfg_str(VG_SET_AUTH_PROVIDER),
	    "api_key_id", vg_http_opt_str(p->api_key_id)));
}

/* ---- API keys ---- */

static json_t *
key_json(const struct vg_api_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "id", k->id, "name", k->name,
	    "prefix", k->prefix, "created_at", vg_http_opt_time(k->created_at_us),
	    "expires_at", vg_http_opt_time(k->expires_at_us),
	    "last_used_at", vg_http_opt_time(k->last_used_us));
}

enum vg_err
vg_auth_route_key_create(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_principal(req);
	json_t *body = NULL, *out;
	const char *name = NULL, *expires = NULL;
	char key[VG_TOKEN_MAX];
	struct vg_api_key k;
	struct vg_store *s = NULL;
	int64_t now_us = vg_time_now_us(), count = 0;
	int tries;
	enum vg_err err;

	memset(&k, 0, sizeof k);
	memset(key, 0, sizeof key);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "name", true, VG_STORE_NAME_MAX, &name)) != VG_OK ||
	    (err = vg_http_body_str(req, body, "expires_at", false, 64, &expires)) != VG_OK)
		goto out;
	/* a leaked key must not be able to outlive its revocation */
	if (p->via == VG_VIA_API_KEY) {
		err = vg_http_fail(req, VG_ERR_FORBIDDEN, "API keys cannot create API keys", NULL);
		goto out;
	}
	if (expires && (vg_time_parse(expires, &k.expires_at_us) != VG_OK ||
	    k.expires_at_us <= now_us)) {
		err = vg_http_fail(req, VG_ERR_INVALID, "expires_at must be an RFC 3339 time in the"
		    " future", "expires_at");
		goto out;
	}
	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		goto out;
	if ((err = vg_store_api_key_count(s, p->user_id, now_us, &count)) != VG_OK)
		goto out;
	if (count >= MAX_KEYS_PER_USER) {
		err = vg_http_fail(req, VG_ERR_QUOTA, "too many API keys; revoke one first", NULL);
		goto out;
	}
	memcpy(k.user_id, p->user_id, sizeof k.user_id);
	vg_str_copy(k.name, sizeof k.name, name);
	k.created_at_us = now_us;
	/* the shown prefix is 48 random bits: a clash is rare, and retried */
	for (tries = 0, err = VG_ERR_CONFLICT; tries < 3 && err == VG_ERR_CONFLICT; tries++) {
		if ((err = vg_token_new(VG_TOKEN_PREFIX_API_KEY, key, k.key_hash)) != VG_OK)
			goto out;
		memcpy(k.prefix, key, KEY_PREFIX_LEN);
		k.prefix[KEY_PREFIX_LEN] = '\0';
		err = vg_store_api_key_create(s, &k);
	}
	if (err != VG_OK)
		goto out;
	vg_auth_audit(req, p->user_id, "api_key.created", "api_key", k.id,
	    json_pack("{s:s, s:s}", "name", k.name, "prefix", k.prefix));
	out = key_json(&k);
	if (out && json_object_set_new(out, "key", json_string(key)) != 0) {
		json_decref(out);
		out = NULL;
	}
	err = vg_http_json(req, 201, out);
out:
	OPENSSL_cleanse(key, sizeof key);
	json_decref(body);
	return err;
}

enum vg_err
vg_auth_route_key_list(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_principal(req);
	struct vg_api_key *keys = NULL;
	struct vg_store *s = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_page_args(req, 100, &limit, &cursor)) != VG_OK || (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_api_key_list(s, p->user_id, cursor, (int)limit, &keys, &n, &next);
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, key_json(&keys[i]));
	err = vg_http_answer_page(req, err, items, next);
	free(keys);
	free(next);
	return err;
}

enum vg_err
vg_auth_route_key_revoke(struct vg_http_req *req)
{
	const struct vg_principal *p = vg_auth_principal(req);
	const char *id = vg_http_capture(req, "id");
	struct vg_store *s = NULL;
	enum vg_err err;

	if ((err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_api_key_revoke(s, p->user_id, id, 0);
	if (err == VG_ERR_NOT_FOUND)
		return vg_http_fail(req, err, "no such API key", NULL);
	if (err != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	vg_auth_audit(req, p->user_id, "api_key.revoked", "api_key", id, NULL);
	return vg_http_send(req, 204, NULL, NULL, 0);
}

/* ---- the audit log (vega-ops) ---- */

enum vg_err
vg_auth_route_audit(struct vg_http_req *req)
{
	struct vg_store *s = NULL;
	const char *cursor;
	char *next = NULL;
	json_t *items = NULL;
	int64_t limit;
	enum vg_err err;

	if ((err = vg_http_page_args(req, VG_STORE_LIST_MAX, &limit, &cursor)) != VG_OK ||
	    (err = vg_http_store_or_fail(req, &s)) != VG_OK)
		return err;
	err = vg_store_audit_list(s, cursor, (int)limit, &items, &next);
	err = vg_http_answer_page(req, err, items, next);
	free(next);
	return err;
}
