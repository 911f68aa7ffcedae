/*
 * test_llm_proxy.c - the LLM proxy's handlers in memory (the program's own
 * route table over vg_http_handle), against the fake provider started on
 * a loopback port and a json store: token attacks (expired, wrong
 * audience, another key, HS256 keyed with the public key, alg none, a
 * cancelled or finished scan, an attempt superseded by a re-claim),
 * forwarding both dialects streamed and not, budgets (requests, tokens
 * with the cap the proxy sets, cost, the scan's own narrower limits), the
 * reservation charged for a stream without usage and nothing for a
 * provider error, GET /v1/scans/{id}/usage, the runner's environment, and
 * the provider key nowhere in an answer or a log line.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include "core/b64.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/settings.h"
#include "domain/api.h"
#include "http/http.h"
#include "llm/proxy.h"
#include "llm/runner_env.h"
#include "llm/scantoken.h"
#include "llm_fixture.h"
#include "vt.h"

#ifndef VG_TEST_SRCDIR
#define VG_TEST_SRCDIR "."
#endif

#define PROVIDER_KEY "sk-fake-provider-key-SECRET-4242"

static char dir[] = "/tmp/vg-llm-proxy-XXXXXX";
static char fake[128], logpath[300];
static pid_t provider = -1;
static struct vg_store *store;
static FILE *logfp;
static struct vg_scantoken_key *key_a, *key_b;
static char pub_a_path[300];

static const struct vg_route routes[] = {
	VG_HTTP_HEALTH_ROUTES,
	{"POST", "/v1/responses", VG_AUTH_USER, vg_llm_proxy_responses},
	{"POST", "/v1/chat/completions", VG_AUTH_USER, vg_llm_proxy_chat},
	{"GET", "/v1/models", VG_AUTH_USER, vg_llm_proxy_models},
};
static const struct vg_program program = {
	.role = "llm-proxy", VG_HTTP_ROUTES(routes),
	.authenticate = vg_llm_proxy_authenticate,
};

/* ---- setup ---- */

static const char *
srcdir(void)
{
	const char *s = getenv("VEGA_SRCDIR");

	return s && *s ? s : VG_TEST_SRCDIR;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A P-256 key pair written as name.pem and name.pub.pem. */
static void
make_key(const char *name)
{
	char path[300];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.pem", dir, name);
	if ((f = fopen(path, "w"))) {
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/%s.pub.pem", dir, name);
	if ((f = fopen(path, "w"))) {
		PEM_write_PUBKEY(f, k);
		fclose(f);
	}
	EVP_PKEY_free(k);
}

/* Start the fake provider; 0 when it could not start. */
static int
start_provider(void)
{
	char cmd[2048], portfile[300], pidfile[300];
	FILE *f;
	int port = 0, i;
	long pid = -1;

	snprintf(portfile, sizeof portfile, "%s/port", dir);
	snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
	snprintf(cmd, sizeof cmd, "FAKE_PROVIDER_KEY='%s' node '%s/tests/fixtures/fake-provider/server.js'"
	    " --port-file '%s' >'%s/provider.log' 2>&1 & echo $! > '%s'",
	    PROVIDER_KEY, srcdir(), portfile, dir, pidfile);
	if (system(cmd) != 0)
		return 0;
	for (i = 0; i < 100 && port == 0; i++) {
		usleep(50000);
		if ((f = fopen(portfile, "r"))) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
	}
	if ((f = fopen(pidfile, "r"))) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	provider = (pid_t)pid;
	snprintf(fake, sizeof fake, "http://127.0.0.1:%d", port);
	return port != 0;
}

/* Talk to the fake provider's control endpoints with curl(1). */
static void
fake_ctl(const char *method, const char *path, const char *body, char *out, size_t outlen)
{
	char cmd[4096];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof cmd, "curl -s -X %s '%s%s' %s%s%s", method, fake, path,
	    body ? "-H 'content-type: application/json' -d '" : "", body ? body : "",
	    body ? "'" : "");
	if (!(p = popen(cmd, "r")))
		return;
	if (out)
		n = fread(out, 1, outlen - 1, p);
	else {
		char sink[4096];

		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	if (out)
		out[n] = '\0';
	pclose(p);
}

/* How many model requests the fake provider received so far. */
static int
fake_count(void)
{
	static char buf[1 << 20];
	json_t *o;
	int n;

	fake_ctl("GET", "/_fake/requests", NULL, buf, sizeof buf);
	o = json_loads(buf, 0, NULL);
	n = (int)json_array_size(json_object_get(o, "requests"));
	json_decref(o);
	return n;
}

/* The last request the fake provider received: its Authorization and body. */
static void
fake_last(char *auth, size_t alen, json_t **body)
{
	static char buf[1 << 20];
	json_t *o, *arr, *last;
	const char *a, *b;

	fake_ctl("GET", "/_fake/requests", NULL, buf, sizeof buf);
	o = json_loads(buf, 0, NULL);
	arr = json_object_get(o, "requests");
	last = json_array_get(arr, json_array_size(arr) - 1);
	a = json_string_value(json_object_get(last, "authorization"));
	snprintf(auth, alen, "%s", a ? a : "");
	b = json_string_value(json_object_get(last, "body"));
	*body = b ? json_loads(b, 0, NULL) : json_incref(json_object_get(last, "body"));
	json_decref(o);
}

/* ---- requests ---- */

struct answer {
	int status;
	char *text;      /* the body, malloc'd */
	size_t len;
	json_t *body;    /* parsed when JSON */
	char ctype[128], accel[16], www[64];
};

static void
answer_free(struct answer *a)
{
	free(a->text);
	json_decref(a->body);
	memset(a, 0, sizeof *a);
}

static void
call(struct answer *a, const char *method, const char *uri, const char *token,
    const char *body)
{
	char m[32], u[512], auth[4096], cl[48];
	const char *params[8], *b, *h;
	struct vg_http_mem *mem;
	size_t k = 0, len;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	params[k++] = m;
	params[k++] = u;
	if (token) {
		snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=Bearer %s", token);
		params[k++] = auth;
	}
	if (body) {
		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(body));
		params[k++] = cl;
		params[k++] = "CONTENT_TYPE=application/json";
	}
	params[k] = NULL;
	memset(a, 0, sizeof *a);
	mem = vg_http_mem_new(params, body, body ? strlen(body) : 0);
	vg_http_handle(&program, vg_http_mem_io(mem));
	a->status = vg_http_mem_status(mem);
	h = vg_http_mem_header(mem, "Content-Type");
	snprintf(a->ctype, sizeof a->ctype, "%s", h ? h : "");
	h = vg_http_mem_header(mem, "X-Accel-Buffering");
	snprintf(a->accel, sizeof a->accel, "%s", h ? h : "");
	h = vg_http_mem_header(mem, "WWW-Authenticate");
	snprintf(a->www, sizeof a->www, "%s", h ? h : "");
	b = vg_http_mem_body(mem, &len);
	a->text = malloc(len + 1);
	memcpy(a->text, b, len);
	a->text[len] = '\0';
	a->len = len;
	a->body = json_loadb(b, len, 0, NULL);
	/* the whole raw output must never hold the key */
	b = vg_http_mem_output(mem, &len);
	VT_OK(!memmem(b, len, PROVIDER_KEY, strlen(PROVIDER_KEY)), "the provider key is not in an answer");
	vg_http_mem_free(mem);
}

static const char *
err_code(const struct answer *a)
{
	const char *s = json_string_value(json_object_get(json_object_get(a->body, "error"), "code"));

	return s ? s : "";
}

static const char *
err_field(const struct answer *a, const char *f)
{
	const char *s = json_string_value(json_object_get(json_object_get(a->body, "error"), f));

	return s ? s : "";
}

/* A token for attempt of scan minted with key (now - age, ttl). */
static char *
mint(struct vg_scantoken_key *key, const char *scan, int64_t attempt, int64_t age, int64_t ttl)
{
	char *tok = NULL;

	VT_EQ_INT(vg_scantoken_mint(key, scan, attempt, vg_time_now_us() / 1000000 - age, ttl,
	    &tok, NULL), VG_OK, "mint");
	return tok;
}

/* base64url of n bytes into out. */
static void
b64url(const void *p, size_t n, char *out, size_t outlen)
{
	vg_b64url_encode((const unsigned char *)p, n, out, outlen);
}

/* A JWT with header and payload as given, signed ES256 with the private
 * key in pem_path (so only the claims are wrong). */
static char *
jwt_es256(const char *header, const char *payload, const char *pem_path)
{
	char h[512], pl[1024], sig64[200], *out;
	unsigned char der[128], rs[64];
	size_t derlen = sizeof der, len;
	FILE *f = fopen(pem_path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *sig;
	const unsigned char *dp = der;
	const BIGNUM *r, *s;
	char input[2048];

	if (f)
		fclose(f);
	b64url(header, strlen(header), h, sizeof h);
	b64url(payload, strlen(payload), pl, sizeof pl);
	snprintf(input, sizeof input, "%s.%s", h, pl);
	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
	EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, strlen(input));
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
	ECDSA_SIG_get0(sig, &r, &s);
	BN_bn2binpad(r, rs, 32);
	BN_bn2binpad(s, rs + 32, 32);
	b64url(rs, 64, sig64, sizeof sig64);
	len = strlen(input) + strlen(sig64) + 2;
	out = malloc(len);
	snprintf(out, len, "%s.%s", input, sig64);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return out;
}

/* HS256 keyed with the bytes of the public key's PEM file. */
static char *
jwt_hs256(const char *payload)
{
	char h[512], pl[1024], sig64[100], input[2048], pem[1024], *out;
	unsigned char mac[32];
	unsigned int maclen = sizeof mac;
	size_t n = 0, len;
	FILE *f = fopen(pub_a_path, "r");

	if (f) {
		n = fread(pem, 1, sizeof pem, f);
		fclose(f);
	}
	b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27, h, sizeof h);
	b64url(payload, strlen(payload), pl, sizeof pl);
	snprintf(input, sizeof input, "%s.%s", h, pl);
	HMAC(EVP_sha256(), pem, (int)n, (const unsigned char *)input, strlen(input), mac, &maclen);
	b64url(mac, maclen, sig64, sizeof sig64);
	len = strlen(input) + strlen(sig64) + 2;
	out = malloc(len);
	snprintf(out, len, "%s.%s", input, sig64);
	return out;
}

static void
claims(char *buf, size_t n, const char *aud, const char *scan, int attempt)
{
	long long now = (long long)(vg_time_now_us() / 1000000);

	snprintf(buf, n, "{\"iss\":\"vega\",\"aud\":\"%s\",\"scan_id\":\"%s\",\"attempt\":%d,"
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"j-%lld\"}", aud, scan, attempt, now, now + 600, now);
}

static void
set_env(const char *name, const char *value)
{
	char msg[256] = "settings reloaded";

	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, msg);
	VT_EQ_INT(vg_llm_proxy_init(), VG_OK, name);
}

#define CHAT(model, extra) "{\"model\":\"" model "\",\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"hello there\"}]" extra "}"
#define RESP(model, extra) "{\"model\":\"" model "\",\"input\":\"hello there\"" extra "}"

/* ---- tests ---- */

static void
test_tokens(void)
{
	char scan[VG_UUID_LEN + 1], other[VG_UUID_LEN + 1], c[400];
	char *good, *tok;
	struct answer a;
	size_t i;
	struct {
		const char *name;
		char *token;
	} bad[16];
	size_t nbad = 0;

	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a claimed scan");
	VT_EQ_INT(llm_fixture_scan(store, NULL, other), VG_OK, "another claimed scan");
	good = mint(key_a, scan, 1, 0, 600);
	call(&a, "POST", "/v1/chat/completions", good, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 200, "a valid token for a claimed scan goes through");
	answer_free(&a);

	bad[nbad].name = "expired";
	bad[nbad++].token = mint(key_a, scan, 1, 7200, 600);
	bad[nbad].name = "signed with another key";
	bad[nbad++].token = mint(key_b, scan, 1, 0, 600);
	claims(c, sizeof c, "vega-api", scan, 1);
	bad[nbad].name = "wrong audience";
	{
		char p[300];

		snprintf(p, sizeof p, "%s/a.pem", dir);
		bad[nbad++].token = jwt_es256("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", c, p);
		claims(c, sizeof c, "vega-llm-proxy", scan, 1);
		c[8] = 'X';   /* iss "vXga" */
		bad[nbad].name = "wrong issuer";
		bad[nbad++].token = jwt_es256("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", c, p);
		claims(c, sizeof c, "vega-llm-proxy", scan, 1);
		bad[nbad].name = "the right claims, ES256 (control)";
		tok = jwt_es256("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", c, p);
		call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
		VT_EQ_INT(a.status, 200, "a hand-made token with the right claims passes (control)");
		answer_free(&a);
		free(tok);
	}
	bad[nbad].name = "HS256 keyed with the public key";
	bad[nbad++].token = jwt_hs256(c);
	{
		char h[64], pl[1024], t[1200];

		b64url("{\"alg\":\"none\"}", 14, h, sizeof h);
		b64url(c, strlen(c), pl, sizeof pl);
		snprintf(t, sizeof t, "%s.%s.", h, pl);
		bad[nbad].name = "alg none";
		bad[nbad++].token = strdup(t);
	}
	bad[nbad].name = "another scan's id in a token for attempt 2";
	bad[nbad++].token = mint(key_a, other, 2, 0, 600);
	bad[nbad].name = "garbage";
	bad[nbad++].token = strdup("sk-not-a-token");
	for (i = 0; i < nbad; i++) {
		call(&a, "POST", "/v1/chat/completions", bad[i].token, CHAT("fake-model", ""));
		VT_EQ_INT(a.status, 401, bad[i].name);
		VT_EQ_STR(err_code(&a), "invalid_api_key", bad[i].name);
		VT_EQ_STR(err_field(&a, "type"), "invalid_request_error", "OpenAI error type");
		VT_EQ_STR(a.www, "Bearer", "WWW-Authenticate");
		answer_free(&a);
		free(bad[i].token);
	}
	call(&a, "POST", "/v1/responses", NULL, RESP("fake-model", ""));
	VT_EQ_INT(a.status, 401, "no token");
	answer_free(&a);
	call(&a, "GET", "/v1/models", NULL, NULL);
	VT_EQ_INT(a.status, 401, "no token for the models list");
	answer_free(&a);

	/* the scan's state kills a valid token at once */
	VT_EQ_INT(llm_fixture_reclaim(store, other), VG_OK, "re-claim: attempt 2");
	tok = mint(key_a, other, 1, 0, 600);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 401, "attempt 1's token after the re-claim as attempt 2");
	answer_free(&a);
	free(tok);
	tok = mint(key_a, other, 2, 0, 600);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 200, "attempt 2's token works");
	answer_free(&a);
	{
		struct vg_scan *sc = calloc(1, sizeof *sc);

		VT_EQ_INT(vg_store_scan_cancel(store, other, vg_time_now_us(), sc), VG_OK, "cancel");
		free(sc);
	}
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 401, "the token of a scan being cancelled");
	answer_free(&a);
	free(tok);
	VT_EQ_INT(llm_fixture_finish(store, scan), VG_OK, "finish the first scan");
	call(&a, "POST", "/v1/chat/completions", good, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 401, "the token of a finished scan");
	answer_free(&a);
	free(good);
}

static void
test_forwarding(void)
{
	char scan[VG_UUID_LEN + 1], auth[256], *tok;
	struct answer a;
	json_t *sent = NULL;

	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a claimed scan");
	tok = mint(key_a, scan, 1, 0, 600);

	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ",\"max_tokens\":50"));
	VT_EQ_INT(a.status, 200, "chat");
	VT_OK(json_is_object(json_object_get(a.body, "usage")), "chat answer with usage");
	fake_last(auth, sizeof auth, &sent);
	VT_EQ_STR(auth, "Bearer " PROVIDER_KEY, "the provider got the provider key");
	VT_OK(!strstr(auth, tok), "and not the scan token");
	json_decref(sent);
	answer_free(&a);

	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ",\"stream\":true"));
	VT_EQ_INT(a.status, 200, "chat stream");
	VT_OK(strncmp(a.ctype, "text/event-stream", 17) == 0, "as an event stream");
	VT_EQ_STR(a.accel, "no", "X-Accel-Buffering: no");
	VT_OK(strstr(a.text, "data: [DONE]") != NULL, "to its end");
	VT_OK(!strstr(a.text, "\"choices\":[]"), "without the usage chunk the client did not ask for");
	fake_last(auth, sizeof auth, &sent);
	VT_OK(json_is_true(json_object_get(json_object_get(sent, "stream_options"), "include_usage")),
	    "the proxy asked the provider for usage");
	json_decref(sent);
	answer_free(&a);

	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model",
	    ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
	VT_OK(strstr(a.text, "\"choices\":[]") != NULL, "the usage chunk stays when asked for");
	answer_free(&a);

	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ""));
	VT_EQ_INT(a.status, 200, "responses");
	VT_EQ_STR(json_string_value(json_object_get(a.body, "status")), "completed", "completed");
	answer_free(&a);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ",\"stream\":true"));
	VT_OK(strstr(a.text, "event: response.completed") != NULL, "responses stream to its end");
	answer_free(&a);

	call(&a, "GET", "/v1/models", tok, NULL);
	VT_EQ_INT(a.status, 200, "models");
	VT_EQ_STR(json_string_value(json_object_get(a.body, "object")), "list", "a list");
	answer_free(&a);

	call(&a, "POST", "/v1/chat/completions", tok, CHAT("forbidden-model", ""));
	VT_EQ_INT(a.status, 400, "a model off the allow-list");
	VT_EQ_STR(err_code(&a), "model_not_allowed", "model_not_allowed");
	answer_free(&a);
	call(&a, "POST", "/v1/chat/completions", tok, "{\"model\":");
	VT_EQ_INT(a.status, 400, "not JSON");
	answer_free(&a);
	{
		size_t n = 5000;
		char *big = malloc(n + 100);

		snprintf(big, n + 100, "{\"model\":\"fake-model\",\"input\":\"%0*d\"}", (int)n, 0);
		call(&a, "POST", "/v1/responses", tok, big);
		VT_EQ_INT(a.status, 413, "a body over VEGA_LLM_MAX_REQUEST_BYTES");
		answer_free(&a);
		free(big);
	}

	/* provider errors pass through in their shape, uncharged */
	fake_ctl("POST", "/_fake/next", "{\"times\":1,\"status\":429}", NULL, 0);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 429, "the provider's 429 passes through");
	VT_EQ_STR(err_code(&a), "rate_limit_exceeded", "with its code");
	answer_free(&a);
	fake_ctl("POST", "/_fake/next", "{\"times\":5,\"status\":503}", NULL, 0);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_OK(a.status == 503 || a.status == 502, "5xx after the retries");
	answer_free(&a);
	fake_ctl("POST", "/_fake/reset", "{}", NULL, 0);
	free(tok);
}

/* The totals of scan. */
static struct vg_llm_totals
totals(const char *scan)
{
	struct vg_llm_totals t;

	memset(&t, 0, sizeof t);
	vg_store_llm_totals(store, scan, &t);
	return t;
}

static void
test_budgets(void)
{
	char scan[VG_UUID_LEN + 1], *tok;
	struct answer a;
	struct vg_llm_totals t;
	int i, before;
	json_t *sent = NULL;
	char auth[256];

	/* requests: 3 per scan */
	set_env("VEGA_LLM_PROXY_MAX_REQUESTS_PER_SCAN", "3");
	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a scan");
	tok = mint(key_a, scan, 1, 0, 600);
	for (i = 0; i < 3; i++) {
		call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
		VT_EQ_INT(a.status, 200, "within the request limit");
		answer_free(&a);
	}
	before = fake_count();
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	VT_EQ_INT(a.status, 429, "the fourth request");
	VT_EQ_STR(err_code(&a), "insufficient_quota", "insufficient_quota");
	VT_OK(strstr(err_field(&a, "message"), "3 requests") != NULL, "the message names the limit");
	VT_EQ_INT(fake_count(), before, "and it never reached the provider");
	answer_free(&a);
	free(tok);

	/* a scan's own narrower limit */
	VT_EQ_INT(llm_fixture_scan(store, "{\"llm_limits\":{\"max_requests\":1}}", scan), VG_OK, "");
	tok = mint(key_a, scan, 1, 0, 600);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ""));
	VT_EQ_INT(a.status, 200, "the first of one");
	answer_free(&a);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ""));
	VT_EQ_INT(a.status, 429, "the scan's limit of 1");
	VT_OK(strstr(err_field(&a, "message"), "1 requests") != NULL, "names 1");
	answer_free(&a);
	free(tok);
	/* ... but not a wider one */
	VT_EQ_INT(llm_fixture_scan(store, "{\"llm_limits\":{\"max_requests\":100}}", scan), VG_OK, "");
	tok = mint(key_a, scan, 1, 0, 600);
	for (i = 0; i < 4; i++) {
		call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ""));
		if (i < 3)
			VT_EQ_INT(a.status, 200, "within the operator's 3");
		else
			VT_EQ_INT(a.status, 429, "a scan cannot widen the operator's limit");
		answer_free(&a);
	}
	free(tok);
	set_env("VEGA_LLM_PROXY_MAX_REQUESTS_PER_SCAN", "0");

	/* tokens: the proxy sets the cap from what remains */
	set_env("VEGA_LLM_PROXY_MAX_TOKENS_PER_SCAN", "1000");
	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a scan");
	tok = mint(key_a, scan, 1, 0, 600);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ""));
	VT_EQ_INT(a.status, 200, "under a token limit");
	fake_last(auth, sizeof auth, &sent);
	{
		json_int_t cap = json_integer_value(json_object_get(sent, "max_output_tokens"));

		VT_OK(cap > 0 && cap < 1000, "the proxy set max_output_tokens below what remains");
	}
	json_decref(sent);
	answer_free(&a);
	t = totals(scan);
	VT_EQ_INT(t.reserved_tokens, 0, "settled: nothing stays reserved");
	VT_OK(t.input_tokens > 0 && t.output_tokens > 0, "the real usage was recorded");
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ",\"max_output_tokens\":5000"));
	VT_EQ_INT(a.status, 429, "a client cap over the remaining tokens");
	VT_OK(strstr(err_field(&a, "message"), "1000 tokens") != NULL, "names 1000 tokens");
	answer_free(&a);
	free(tok);
	set_env("VEGA_LLM_PROXY_MAX_TOKENS_PER_SCAN", "0");

	/* a stream without usage is charged its reservation */
	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a scan");
	tok = mint(key_a, scan, 1, 0, 600);
	fake_ctl("POST", "/_fake/next", "{\"times\":1,\"usage\":\"missing\"}", NULL, 0);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model",
	    ",\"stream\":true,\"max_tokens\":77"));
	VT_EQ_INT(a.status, 200, "a stream without usage");
	answer_free(&a);
	t = totals(scan);
	VT_OK(t.output_tokens == 77, "charged its output cap, not zero");
	VT_OK(t.cost_microusd > 0, "and its priced reservation");
	/* a cut stream: reservation too */
	fake_ctl("POST", "/_fake/next", "{\"times\":1,\"cut\":\"before-terminal\"}", NULL, 0);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model",
	    ",\"stream\":true,\"max_output_tokens\":33"));
	answer_free(&a);
	t = totals(scan);
	VT_EQ_INT(t.output_tokens, 77 + 33, "a cut stream is charged its reservation");
	/* a provider error is not charged */
	fake_ctl("POST", "/_fake/next", "{\"times\":1,\"status\":429}", NULL, 0);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ",\"max_tokens\":500"));
	answer_free(&a);
	VT_EQ_INT(totals(scan).output_tokens, 77 + 33, "a provider error costs nothing");
	VT_EQ_INT(totals(scan).reserved_tokens, 0, "and releases its reservation");
	free(tok);

	/* cost */
	set_env("VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN", "0.0001");
	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a scan");
	tok = mint(key_a, scan, 1, 0, 600);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ",\"max_tokens\":1000000"));
	VT_EQ_INT(a.status, 429, "over the cost limit");
	VT_OK(strstr(err_field(&a, "message"), "USD") != NULL, "names the cost limit");
	answer_free(&a);
	free(tok);
	set_env("VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN", "0");
	fake_ctl("POST", "/_fake/reset", "{}", NULL, 0);
}

static void
test_usage_api_and_env(void)
{
	char scan[VG_UUID_LEN + 1], *env[VG_LLM_RUNNER_ENV_MAX], *tok;
	struct answer a;
	struct vg_scantoken_claims c;
	size_t n = 9, i;
	json_t *items = NULL;

	/* the runner's environment */
	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a scan");
	set_env("VEGA_LLM_TOKEN_SIGNING_KEY_FILE", NULL);
	VT_EQ_INT(vg_llm_runner_env(scan, 1, vg_time_now_us() / 1000000, env, &n), VG_OK,
	    "no signing key: no error");
	VT_EQ_INT((int)n, 0, "and no entries");
	{
		char p[300];

		snprintf(p, sizeof p, "%s/a.pem", dir);
		set_env("VEGA_LLM_TOKEN_SIGNING_KEY_FILE", p);
	}
	set_env("VEGA_LLM_TOKEN_TTL_SECONDS", "3600");
	set_env("VEGA_RUNNER_MAX_SECONDS", "120");
	VT_EQ_INT(vg_llm_runner_env(scan, 1, vg_time_now_us() / 1000000, env, &n), VG_OK, "env");
	VT_EQ_INT((int)n, 4, "four entries");
	VT_OK(strncmp(env[0], "OPENAI_API_KEY=", 15) == 0, "OPENAI_API_KEY");
	VT_OK(strncmp(env[1], "VEGA_LLM_SCAN_TOKEN=", 20) == 0, "VEGA_LLM_SCAN_TOKEN");
	VT_EQ_STR(env[2], "OPENAI_BASE_URL=http://127.0.0.1:8001/v1", "OPENAI_BASE_URL");
	VT_EQ_STR(env[3], "VEGA_LLM_PROXY_BASE_URL=http://127.0.0.1:8001/v1", "VEGA_LLM_PROXY_BASE_URL");
	tok = strdup(env[0] + 15);
	VT_EQ_STR(tok, env[1] + 20, "the same token twice");
	{
		struct vg_scantoken_key *pub = NULL;
		char msg[256];

		vg_scantoken_key_load(false, pub_a_path, &pub, msg, sizeof msg);
		VT_EQ_INT(vg_scantoken_verify(pub, tok, vg_time_now_us() / 1000000, &c), VG_OK,
		    "a token the proxy's key verifies");
		vg_scantoken_key_free(pub);
	}
	VT_EQ_INT((int)(c.exp - c.iat), 120, "living min(TTL, VEGA_RUNNER_MAX_SECONDS)");
	VT_EQ_STR(c.scan_id, scan, "for this scan");
	vg_llm_runner_env_free(env, n);
	call(&a, "POST", "/v1/responses", tok, RESP("fake-model", ",\"max_output_tokens\":20"));
	VT_EQ_INT(a.status, 200, "the runner's token is accepted by the proxy");
	answer_free(&a);
	call(&a, "POST", "/v1/chat/completions", tok, CHAT("fake-model", ""));
	answer_free(&a);
	free(tok);
	{
		char bad[300];

		snprintf(bad, sizeof bad, "%s/a.pub.pem", dir);
		set_env("VEGA_LLM_TOKEN_SIGNING_KEY_FILE", bad);
		VT_EQ_INT(vg_llm_runner_env(scan, 1, 0, env, &n), VG_ERR_INVALID,
		    "a public key as the signing key is refused");
		set_env("VEGA_LLM_TOKEN_SIGNING_KEY_FILE", NULL);
	}

	/* the records: one per call, with counts and no text */
	VT_EQ_INT(vg_store_llm_list(store, scan, &items), VG_OK, "records");
	VT_EQ_INT((int)json_array_size(items), 2, "two records");
	for (i = 0; i < json_array_size(items); i++) {
		json_t *r = json_array_get(items, i);

		VT_EQ_STR(json_string_value(json_object_get(r, "status")), "settled", "settled");
		VT_OK(json_integer_value(json_object_get(r, "input_tokens")) > 0, "input tokens");
		VT_OK(json_string_value(json_object_get(r, "upstream_request_id")) != NULL,
		    "the provider's request id");
	}
	VT_EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "endpoint")),
	    "responses", "endpoint of the first");
	json_decref(items);
}

/* Nothing of the provider key in the logs. */
static void
test_logs(void)
{
	char *text = NULL;
	size_t len = 0;

	fflush(logfp);
	VT_EQ_INT(vg_fs_read_file(logpath, (size_t)64 << 20, &text, &len), VG_OK, "read the log");
	VT_OK(len > 0, "the proxy logged");
	VT_OK(strstr(text, "\"llm_call\"") != NULL, "a line per call");
	VT_OK(!memmem(text, len, PROVIDER_KEY, strlen(PROVIDER_KEY)), "the provider key is in no log line");
	VT_OK(!memmem(text, len, "SECRET-4242", 11), "nor any part of it");
	free(text);
}

/* Whether the log holds needle. */
static bool
log_has(const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	bool found;

	fflush(logfp);
	if (vg_fs_read_file(logpath, (size_t)64 << 20, &text, &len) != VG_OK)
		return false;
	found = memmem(text, len, needle, strlen(needle)) != NULL;
	free(text);
	return found;
}

/* VEGA_LLM_LOG_BODIES: prompts and answers reach the log only when set. */
static void
test_log_bodies(void)
{
	char scan[VG_UUID_LEN + 1], msg[256], *tok;
	struct answer a;

	VT_EQ_INT(llm_fixture_scan(store, NULL, scan), VG_OK, "a claimed scan");
	tok = mint(key_a, scan, 1, 0, 600);
	call(&a, "POST", "/v1/chat/completions", tok, "{\"model\":\"fake-model\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"PROMPT-OFF-77\"}]}");
	VT_EQ_INT(a.status, 200, "a call with bodies not logged");
	answer_free(&a);
	VT_OK(!log_has("PROMPT-OFF-77"), "by default no prompt in the log");
	VT_OK(!log_has("\"llm_bodies\""), "nor any body line");

	setenv("VEGA_LLM_LOG_BODIES", "true", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "bodies logged");
	VT_EQ_INT(vg_llm_proxy_init(), VG_OK, "proxy restarted");
	call(&a, "POST", "/v1/chat/completions", tok, "{\"model\":\"fake-model\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"PROMPT-ON-78\"}]}");
	VT_EQ_INT(a.status, 200, "a call with bodies logged");
	VT_OK(log_has("\"llm_bodies\""), "a body line");
	VT_OK(log_has("PROMPT-ON-78"), "with the prompt");
	VT_OK(log_has("chatcmpl-"), "and the answer");
	answer_free(&a);
	free(tok);

	setenv("VEGA_LLM_LOG_BODIES", "false", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "bodies not logged again");
	VT_EQ_INT(vg_llm_proxy_init(), VG_OK, "proxy restarted");
}

static void
test_config(void)
{
	char msg[256];

	setenv("VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN", "2.5x", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "the setting is a string");
	VT_EQ_INT(vg_llm_proxy_init(), VG_ERR_INVALID, "a bad cost limit stops the start");
	setenv("VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN", "0", 1);
	setenv("VEGA_LLM_PRICES_FILE", "/nonexistent/prices.json", 1);
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "");
	VT_EQ_INT(vg_llm_proxy_init(), VG_ERR_INVALID, "a missing price table stops the start");
	{
		char p[300];

		snprintf(p, sizeof p, "%s/prices.json", dir);
		setenv("VEGA_LLM_PRICES_FILE", p, 1);
	}
	unsetenv("VEGA_LLM_PROVIDER_API_KEY_FILE");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "");
	VT_EQ_INT(vg_llm_proxy_init(), VG_OK, "no provider key: starts");
	{
		struct answer a;

		call(&a, "POST", "/v1/responses", "x", RESP("fake-model", ""));
		VT_EQ_INT(a.status, 503, "but answers 503: not configured");
		answer_free(&a);
		call(&a, "GET", "/v1/healthz", NULL, NULL);
		VT_EQ_INT(a.status, 200, "health still answers");
		answer_free(&a);
	}
}

int
main(void)
{
	char msg[512], p[300];

	if (!mkdtemp(dir))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (!start_provider()) {
		printf("1..0 # SKIP the fake provider (node) could not start\n");
		return 0;
	}
	make_key("a");
	make_key("b");
	snprintf(pub_a_path, sizeof pub_a_path, "%s/a.pub.pem", dir);
	snprintf(p, sizeof p, "%s/provider.key", dir);
	write_file(p, PROVIDER_KEY "\n");
	setenv("VEGA_LLM_PROVIDER_API_KEY_FILE", p, 1);
	snprintf(p, sizeof p, "%s/prices.json", dir);
	write_file(p, "{\"models\":{\"fake-model\":{\"input\":1.25,\"cached_input\":0.125,"
	    "\"output\":10,\"max_output_tokens\":4096},\"fake-model-mini\":{\"input\":0.1,\"output\":0.4}}}");
	setenv("VEGA_LLM_PRICES_FILE", p, 1);
	setenv("VEGA_LLM_TOKEN_VERIFY_KEY_FILE", pub_a_path, 1);
	snprintf(p, sizeof p, "%s/v1", fake);
	setenv("VEGA_LLM_PROVIDER_BASE_URL", p, 1);
	setenv("VEGA_LLM_MAX_REQUEST_BYTES", "4096", 1);
	setenv("VEGA_LLM_RETRIES", "1", 1);
	setenv("VEGA_LLM_ALLOWED_MODELS", "", 1);
	unsetenv("VEGA_LLM_TOKEN_SIGNING_KEY_FILE");
	snprintf(p, sizeof p, "%s/data", dir);
	setenv("VEGA_DATA_DIR", p, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "setup: %s\n", msg);
		return 1;
	}
	snprintf(logpath, sizeof logpath, "%s/proxy.log", dir);
	logfp = fopen(logpath, "w");
	vg_log_init("llm-proxy");
	vg_log_set_stream(logfp);
	if (vg_llm_proxy_init() != VG_OK || vg_http_store(&store) != VG_OK) {
		fprintf(stderr, "setup: proxy init\n");
		return 1;
	}
	snprintf(p, sizeof p, "%s/a.pem", dir);
	vg_scantoken_key_load(true, p, &key_a, msg, sizeof msg);
	snprintf(p, sizeof p, "%s/b.pem", dir);
	vg_scantoken_key_load(true, p, &key_b, msg, sizeof msg);

	test_tokens();
	test_forwarding();
	test_budgets();
	test_usage_api_and_env();
	test_log_bodies();
	test_logs();
	test_config();

	vg_log_set_stream(NULL);
	fclose(logfp);
	vg_llm_proxy_shutdown();
	vg_http_health_reset();
	vg_scantoken_key_free(key_a);
	vg_scantoken_key_free(key_b);
	if (provider > 0) {
		kill(provider, SIGTERM);
		waitpid(provider, NULL, 0);
	}
	vg_fs_remove_tree(dir);
	return vt_done();
}
