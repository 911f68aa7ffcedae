/* cognito.c - user-pool access tokens (JWKS cache) and InitiateAuth. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "auth/cognito.h"
#include "auth/jwt.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "store/store.h"

#define MAX_KEYS 32                     /* keys kept from one JWKS */
#define MAX_RESPONSE (1024 * 1024)      /* bytes read from Cognito */
#define TARGET_PREFIX "AWSCognitoIdentityProviderService."

/*
 * The per-process state: URLs derived from the settings once, and the
 * JWKS cache (a deliberate cache, DESIGN.md section 9).
 */
static struct {
	bool ready;
	char endpoint[1024];   /* no trailing '/' */
	char issuer[1200];
	char jwks_url[1300];
	struct vg_jwt_key *keys[MAX_KEYS];
	size_t nkeys;
	int64_t fetched_at;    /* when the keys were had; 0: never */
	int64_t forced_at;     /* last refetch caused by an unknown kid */
	unsigned fetches;
	bool curl_ready;
} st;

static void
drop_keys(void)
{
	size_t i;

	for (i = 0; i < st.nkeys; i++)
		vg_jwt_key_free(st.keys[i]);
	st.nkeys = 0;
}

void
vg_cognito_reset(void)
{
	drop_keys();
	st.ready = false;
	st.fetched_at = st.forced_at = 0;
	st.fetches = 0;
}

unsigned
vg_cognito_fetch_count(void)
{
	return st.fetches;
}

/* Log an unusable setting by name (and say it on stderr, where an
 * operator starting the program by hand looks). */
static enum vg_err
bad_setting(const char *name, const char *problem)
{
	vg_log(VG_LOG_ERROR, "auth_config_invalid", "setting", name, "problem", problem, NULL);
	fprintf(stderr, "%s %s\n", name, problem);
	return VG_ERR_INVALID;
}

/* Whether s holds only characters of accept. */
static bool
only(const char *s, const char *accept)
{
	return strspn(s, accept) == strlen(s);
}

enum vg_err
vg_cognito_init(void)
{
	const char *region = vg_cfg_str(VG_SET_COGNITO_REGION);
	const char *pool = vg_cfg_str(VG_SET_COGNITO_USER_POOL_ID);
	const char *endpoint = vg_cfg_str(VG_SET_COGNITO_ENDPOINT);
	size_t n;

	static const char required[] = "is required when VEGA_AUTH_PROVIDER=cognito";
	static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

	vg_cognito_reset();
	if (!*pool)
		return bad_setting("VEGA_COGNITO_USER_POOL_ID", required);
	if (!*vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_ID))
		return bad_setting("VEGA_COGNITO_APP_CLIENT_ID", required);
	if (!*endpoint && !*region)
		return bad_setting("VEGA_COGNITO_REGION", required);
	/* The pool id and region become part of URLs: keep them to the
	 * characters AWS uses, so no setting can bend a URL. */
	if (!only(pool, ident))
		return bad_setting("VEGA_COGNITO_USER_POOL_ID", "must be a pool id like eu-west-1_AbC123");
	if (!only(region, ident))
		return bad_setting("VEGA_COGNITO_REGION", "must be a region like eu-west-1");
	if (*endpoint)
		n = (size_t)snprintf(st.endpoint, sizeof st.endpoint, "%s", endpoint);
	else
		n = (size_t)snprintf(st.endpoint, sizeof st.endpoint,
		    "https://cognito-idp.%s.amazonaws.com", region);
	if (n >= sizeof st.endpoint || !(vg_str_has_prefix(st.endpoint, "https://") ||
	    vg_str_has_prefix(st.endpoint, "http://")))
		return bad_setting("VEGA_COGNITO_ENDPOINT", "must be an http(s) URL");
	while (n > 0 && st.endpoint[n - 1] == '/')
		st.endpoint[--n] = '\0';
	snprintf(st.issuer, sizeof st.issuer, "%s/%s", st.endpoint, pool);
	snprintf(st.jwks_url, sizeof st.jwks_url, "%s/.well-known/jwks.json", st.issuer);
	if (!st.curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return VG_ERR_INTERNAL;
		st.curl_ready = true;
	}
	st.ready = true;
	return VG_OK;
}

/* ---- HTTP through libcurl ---- */

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct vg_buf *b = arg;
	size_t n = size * nmemb;

	return vg_buf_append(b, p, n) == VG_OK ? n : 0;   /* 0 aborts: too large */
}

/*
 * GET url (body NULL) or POST body to it as an InitiateAuth-style call
 * with X-Amz-Target target.  *status is the HTTP status; the response
 * lands in resp (bounded by MAX_RESPONSE).  VG_ERR_UNAVAILABLE when there
 * was no HTTP answer at all.
 */
static enum vg_err
http_call(const char *url, const char *target, const char *body, long *status,
    struct vg_buf *resp)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	char target_hdr[128];
	long timeout = (long)vg_cfg_int(VG_SET_COGNITO_TIMEOUT_SECONDS);
	CURLcode rc;
	enum vg_err err = VG_ERR_UNAVAILABLE;

	*status = 0;
	if (!(c = curl_easy_init()))
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)MAX_RESPONSE);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	if (body) {
		snprintf(target_hdr, sizeof target_hdr, "X-Amz-Target: " TARGET_PREFIX "%s", target);
		if (!(hdrs = curl_slist_append(hdrs, "Content-Type: application/x-amz-json-1.1")) ||
		    !curl_slist_append(hdrs, target_hdr))
			goto out;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		vg_log(VG_LOG_WARN, "cognito_unreachable", "url", url,
		    "error", curl_easy_strerror(rc), NULL);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	err = VG_OK;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return err;
}

/* ---- the JWKS cache ---- */

/* Turn a JWKS document into keys; at least one must be usable. */
static enum vg_err
load_jwks(json_t *jwks, int64_t now)
{
	json_t *arr = json_object_get(jwks, "keys"), *jwk;
	struct vg_jwt_key *keys[MAX_KEYS];
	size_t i, n = 0;

	if (!json_is_array(arr))
		return VG_ERR_INVALID;
	json_array_foreach(arr, i, jwk) {
		if (n < MAX_KEYS && vg_jwt_key_from_jwk(jwk, &keys[n]) == VG_OK)
			n++;
	}
	if (n == 0)
		return VG_ERR_INVALID;
	drop_keys();
	memcpy(st.keys, keys, n * sizeof keys[0]);
	st.nkeys = n;
	st.fetched_at = now;
	return VG_OK;
}

enum vg_err
vg_cognito_set_jwks(json_t *jwks, int64_t now)
{
	return load_jwks(jwks, now);
}

/* Fetch the pool's keys; the old ones stay when this fails. */
static enum vg_err
fetch_jwks(int64_t now)
{
	struct vg_buf b;
	json_t *doc = NULL;
	long status = 0;
	enum vg_err err;

	vg_buf_init(&b, MAX_RESPONSE);
	st.fetches++;
	if ((err = http_call(st.jwks_url, NULL, NULL, &status, &b)) != VG_OK)
		goto out;
	err = VG_ERR_UNAVAILABLE;
	if (status != 200 || vg_json_parse(b.data ? b.data : "", b.len, &doc) != VG_OK ||
	    load_jwks(doc, now) != VG_OK) {
		char code[16];

		snprintf(code, sizeof code, "%ld", status);
		vg_log(VG_LOG_WARN, "cognito_jwks_unusable", "status", code, NULL);
		goto out;
	}
	err = VG_OK;
out:
	json_decref(doc);
	vg_buf_free(&b);
	return err;
}

/* The claims Cognito's access tokens must carry for this pool. */
static enum vg_err
check_claims(json_t *claims)
{
	const char *iss = NULL, *use = NULL, *client = NULL, *sub = NULL;

	if (vg_json_get_str(claims, "iss", true, 2048, &iss) != VG_OK ||
	    vg_json_get_str(claims, "token_use", true, 32, &use) != VG_OK ||
	    vg_json_get_str(claims, "client_id", true, 256, &client) != VG_OK ||
	    vg_json_get_str(claims, "sub", true, VG_STORE_SUB_MAX, &sub) != VG_OK)
		return VG_ERR_UNAUTHORIZED;
	if (strcmp(iss, st.issuer) != 0 || strcmp(use, "access") != 0 ||
	    strcmp(client, vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_ID)) != 0)
		return VG_ERR_UNAUTHORIZED;
	return VG_OK;
}

enum vg_err
vg_cognito_verify(const char *token, int64_t now, json_t **claims)
{
	int64_t leeway = vg_cfg_int(VG_SET_JWT_LEEWAY_SECONDS);
	enum vg_err err;

	*claims = NULL;
	if (!st.ready)
		return VG_ERR_UNAVAILABLE;
	/* Keys past their TTL are refreshed; if that fails the old ones
	 * still serve, since the pool rotates keys rarely. */
	if (st.nkeys == 0 || now - st.fetched_at >= vg_cfg_int(VG_SET_COGNITO_JWKS_TTL_SECONDS))
		fetch_jwks(now);
	if (st.nkeys == 0)
		return VG_ERR_UNAVAILABLE;
	err = vg_jwt_verify(st.keys, st.nkeys, token, now, leeway, claims);
	if (err == VG_ERR_NOT_FOUND &&
	    (st.forced_at == 0 || now - st.forced_at >= vg_cfg_int(VG_SET_COGNITO_JWKS_REFETCH_SECONDS))) {
		/* an unknown kid: the pool may have rotated its keys */
		st.forced_at = now;
		if (fetch_jwks(now) == VG_OK)
			err = vg_jwt_verify(st.keys, st.nkeys, token, now, leeway, claims);
	}
	if (err == VG_OK && (err = check_claims(*claims)) != VG_OK) {
		json_decref(*claims);
		*claims = NULL;
	}
	return err == VG_OK ? VG_OK : VG_ERR_UNAUTHORIZED;
}

unsigned
vg_cognito_groups(json_t *claims)
{
	json_t *arr = json_object_get(claims, "cognito:groups"), *g;
	unsigned set = VG_GROUP_USER;
	size_t i;

	json_array_foreach(arr, i, g)
		set |= vg_group_bit(json_string_value(g));
	return set;
}

/* ---- InitiateAuth ---- */

enum vg_err
vg_cognito_secret_hash(const char *secret, const char *username, const char *client_id,
    char out[45])
{
	unsigned char mac[32];
	unsigned int len = 0;
	struct vg_buf msg;
	enum vg_err err;

	vg_buf_init(&msg, 4096);
	if ((err = vg_buf_append_str(&msg, username)) != VG_OK ||
	    (err = vg_buf_append_str(&msg, client_id)) != VG_OK)
		goto out;
	err = VG_ERR_INTERNAL;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg.data,
	    msg.len, mac, &len) || len != sizeof mac)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)sizeof mac);
	err = VG_OK;
out:
	OPENSSL_cleanse(mac, sizeof mac);
	vg_buf_free(&msg);
	return err;
}

void
vg_cognito_auth_release(struct vg_cognito_auth *a)
{
	free(a->access_token);
	free(a->refresh_token);
	a->access_token = a->refresh_token = NULL;
}

/* Errors of the Cognito API that mean "these credentials are refused". */
static const struct {
	const char *type;
	enum vg_err err;
} api_errors[] = {
	{"NotAuthorizedException", VG_ERR_UNAUTHORIZED},
	{"UserNotFoundException", VG_ERR_UNAUTHORIZED},
	{"PasswordResetRequiredException", VG_ERR_UNAUTHORIZED},
	{"UserNotConfirmedException", VG_ERR_UNAUTHORIZED},
	{"TooManyRequestsException", VG_ERR_RATE_LIMITED},
	{"LimitExceededException", VG_ERR_RATE_LIMITED},
	{"TooManyFailedAttemptsException", VG_ERR_RATE_LIMITED},
};

static enum vg_err
map_api_error(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof api_errors / sizeof api_errors[0]; i++)
		if (strcmp(type, api_errors[i].type) == 0)
			return api_errors[i].err;
	return VG_ERR_UNAVAILABLE;
}

/* Copy a string member of obj into a new malloc'd string (NULL if none). */
static char *
dup_member(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? strdup(v) : NULL;
}

/*
 * Call target with the JSON request; interpret an InitiateAuth-style
 * answer into *a when want_tokens.  See cognito.h for the errors.
 */
static enum vg_err
api_call(const char *target, json_t *request, bool want_tokens, struct vg_cognito_auth *a)
{
	struct vg_buf b;
	char *body = NULL;
	json_t *doc = NULL, *res;
	const char *type, *hash;
	long status = 0;
	enum vg_err err = VG_ERR_NOMEM;

	vg_buf_init(&b, MAX_RESPONSE);
	if (!st.ready) {
		err = VG_ERR_UNAVAILABLE;
		goto out;
	}
	if (!request || !(body = vg_json_dump(request)))
		goto out;
	if ((err = http_call(st.endpoint, target, body, &status, &b)) != VG_OK)
		goto out;
	err = VG_ERR_UNAVAILABLE;
	if (b.len > 0 && vg_json_parse(b.data, b.len, &doc) != VG_OK)
		goto out;
	if (status != 200) {
		type = json_string_value(json_object_get(doc, "__type"));
		type = type ? type : "";
		if ((hash = strrchr(type, '#')) != NULL)
			type = hash + 1;
		vg_str_copy(a->error_type, sizeof a->error_type, type);
		err = status == 429 ? VG_ERR_RATE_LIMITED : map_api_error(type);
		if (err == VG_ERR_UNAVAILABLE) {
			char code[16];

			snprintf(code, sizeof code, "%ld", status);
			vg_log(VG_LOG_WARN, "cognito_error", "target", target, "status", code,
			    "type", a->error_type, NULL);
		}
		goto out;
	}
	if (!want_tokens) {
		err = VG_OK;
		goto out;
	}
	if (json_string_value(json_object_get(doc, "ChallengeName"))) {
		vg_str_copy(a->challenge, sizeof a->challenge,
		    json_string_value(json_object_get(doc, "ChallengeName")));
		err = VG_ERR_UNAUTHORIZED;
		goto out;
	}
	res = json_object_get(doc, "AuthenticationResult");
	if (!json_is_object(res) || !(a->access_token = dup_member(res, "AccessToken")))
		goto out;
	a->refresh_token = dup_member(res, "RefreshToken");
	a->expires_in = json_integer_value(json_object_get(res, "ExpiresIn"));
	err = VG_OK;
out:
	if (err != VG_OK && want_tokens)
		vg_cognito_auth_release(a);
	json_decref(doc);
	free(body);
	vg_buf_free(&b);
	return err;
}

/* AuthParameters with SECRET_HASH added when the client has a secret. */
static enum vg_err
add_secret_hash(json_t *params, const char *username)
{
	const char *secret = vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_SECRET);
	char hash[45];
	enum vg_err err;

	if (!*secret)
		return VG_OK;
	if (!username || !*username)
		return VG_ERR_INVALID;
	if ((err = vg_cognito_secret_hash(secret, username,
	    vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_ID), hash)) != VG_OK)
		return err;
	return json_object_set_new(params, "SECRET_HASH", json_string(hash)) ? VG_ERR_NOMEM : VG_OK;
}

static enum vg_err
initiate(const char *flow, json_t *params, struct vg_cognito_auth *a)
{
	json_t *req = json_pack("{s:s, s:s, s:O}", "AuthFlow", flow,
	    "ClientId", vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_ID), "AuthParameters", params);
	enum vg_err err = api_call("InitiateAuth", req, true, a);

	json_decref(req);
	return err;
}

enum vg_err
vg_cognito_password_auth(const char *username, const char *password, struct vg_cognito_auth *a)
{
	json_t *params = json_pack("{s:s, s:s}", "USERNAME", username, "PASSWORD", password);
	enum vg_err err = VG_ERR_NOMEM;

	memset(a, 0, sizeof *a);
	if (params && (err = add_secret_hash(params, username)) == VG_OK)
		err = initiate("USER_PASSWORD_AUTH", params, a);
	json_decref(params);
	return err;
}

enum vg_err
vg_cognito_refresh_auth(const char *refresh_token, const char *username,
    struct vg_cognito_auth *a)
{
	json_t *params = json_pack("{s:s}", "REFRESH_TOKEN", refresh_token);
	enum vg_err err = VG_ERR_NOMEM;

	memset(a, 0, sizeof *a);
	if (params && (err = add_secret_hash(params, username)) == VG_OK)
		err = initiate("REFRESH_TOKEN_AUTH", params, a);
	json_decref(params);
	return err;
}

enum vg_err
vg_cognito_revoke(const char *refresh_token)
{
	const char *secret = vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_SECRET);
	json_t *req = json_pack("{s:s, s:s}", "Token", refresh_token,
	    "ClientId", vg_cfg_str(VG_SET_COGNITO_APP_CLIENT_ID));
	struct vg_cognito_auth unused;
	enum vg_err err = VG_ERR_NOMEM;

	memset(&unused, 0, sizeof unused);
	if (req && (!*secret || json_object_set_new(req, "ClientSecret", json_string(secret)) == 0))
		err = api_call("RevokeToken", req, false, &unused);
	json_decref(req);
	return err;
}
