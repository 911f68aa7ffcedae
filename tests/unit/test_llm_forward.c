/*
 * test_llm_forward.c - lib/llm/forward against the fake provider
 * (tests/fixtures/fake-provider/server.js, started here on a loopback
 * port): the provider key arrives and the client's credentials do not,
 * headers are filtered, streams are relayed piece by piece as they come,
 * 5xx and connection failures are retried only before anything was
 * relayed, 429 is not retried, a cut stream and an idle provider are
 * reported, and the key never appears in an error.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "core/buf.h"
#include "core/timeutil.h"
#include "llm/forward.h"
#include "llm/sse.h"
#include "llm/usage.h"
#include "vt.h"

#ifndef VG_TEST_SRCDIR
#define VG_TEST_SRCDIR "."
#endif

#define PROVIDER_KEY "sk-fake-provider-key-0123456789"

static char dir[] = "/tmp/vg-llm-forward-XXXXXX";
static char base[128], keyfile[256];
static pid_t provider = -1;

static const char *
srcdir(void)
{
	const char *s = getenv("VEGA_SRCDIR");

	return s && *s ? s : VG_TEST_SRCDIR;
}

/* Start the fake provider; 0 when node or the server is missing. */
static int
start_provider(void)
{
	char cmd[2048], portfile[256], pidfile[256];
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
	snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", port);
	return port != 0;
}

/* What the relay saw. */
struct seen {
	int heads, bodies, status;
	int64_t first_body_us, last_body_us, t0;
	char request_id[128], retry_after[64];
	struct vg_buf body;
	int abort_after;   /* fail on_body after this many pieces (0: never) */
};

static enum vg_err
on_head(void *arg, const struct vg_llm_forward_head *h)
{
	struct seen *s = arg;

	s->heads++;
	s->status = h->status;
	snprintf(s->request_id, sizeof s->request_id, "%s", h->request_id);
	snprintf(s->retry_after, sizeof s->retry_after, "%s", h->retry_after);
	return VG_OK;
}

static enum vg_err
on_body(void *arg, const char *data, size_t n)
{
	struct seen *s = arg;
	int64_t t = vg_time_mono_us() - s->t0;

	if (!s->bodies++)
		s->first_body_us = t;
	s->last_body_us = t;
	vg_buf_append(&s->body, data, n);
	if (s->abort_after && s->bodies >= s->abort_after)
		return VG_ERR_INVALID;
	return VG_OK;
}

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof *s);
	vg_buf_init(&s->body, 1 << 22);
	s->t0 = vg_time_mono_us();
}

/* A control call to the fake provider (outside /v1); the answer body. */
static json_t *
control(const char *method, const char *path, const char *body)
{
	char url[256], *data = NULL;
	size_t len = 0;
	CURL *c = curl_easy_init();
	FILE *mem = open_memstream(&data, &len);
	json_t *j;

	snprintf(url, sizeof url, "%.*s%s", (int)(strlen(base) - 3), base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);   /* curl's default writer: fwrite */
	curl_easy_perform(c);
	fclose(mem);
	j = json_loadb(data ? data : "", len, 0, NULL);
	free(data);
	curl_easy_cleanup(c);
	return j;
}

/* The headers of the last request the provider received. */
static json_t *
last_request(void)
{
	json_t *all = control("GET", "/_fake/requests", NULL), *reqs, *last;

	reqs = json_object_get(all, "requests");
	last = json_array_get(reqs, json_array_size(reqs) - 1);
	json_incref(last);
	json_decref(all);
	return last;
}

static struct vg_llm_upstream *
upstream(int retries, long idle)
{
	struct vg_llm_upstream *up = NULL;
	char msg[256];

	if (vg_llm_upstream_new(base, keyfile, 2, idle, retries, 10, &up, msg, sizeof msg) != VG_OK)
		printf("# upstream: %s\n", msg);
	return up;
}

static enum vg_err
forward(struct vg_llm_upstream *up, const char *path, const char *body,
    const char *const *headers, struct seen *s, struct vg_llm_forward_result *res)
{
	struct vg_llm_forward_req req = {body ? "POST" : "GET", path, body, body ? strlen(body) : 0,
		headers};
	struct vg_llm_forward_cb cb = {on_head, on_body, s};

	return vg_llm_forward(up, &req, &cb, res);
}

struct watch {
	enum vg_llm_api api;
	struct vg_llm_outcome o;
};

/* Read the relayed body as the proxy will: a stream through the SSE
 * parser, or a whole body. */
static enum vg_err
outcome_block(const struct vg_sse_event *ev, void *arg)
{
	struct watch *w = arg;

	if (ev->dispatch)
		vg_llm_outcome_event(&w->o, w->api, ev->type, ev->data, ev->data_len, NULL);
	return VG_OK;
}

static void
stream_outcome(enum vg_llm_api api, const struct vg_buf *b, struct vg_llm_outcome *o)
{
	struct vg_sse *p = NULL;
	struct watch w = {api, {0}};

	vg_llm_outcome_init(&w.o);
	vg_sse_new(0, outcome_block, &w, &p);
	vg_sse_feed(p, b->data, b->len);
	vg_sse_free(p);
	*o = w.o;
}

static void
test_credentials_and_headers(void)
{
	struct vg_llm_upstream *up = upstream(0, 5);
	struct vg_llm_forward_result res;
	struct vg_llm_outcome o;
	struct seen s;
	json_t *last, *h;
	static const char *const headers[] = {
		"Authorization: Bearer the-scan-token", "Cookie: session=1", "X-Api-Key: k2",
		"OpenAI-Organization: org-other", "OpenAI-Project: proj", "X-Forwarded-For: 10.0.0.1",
		"Connection: keep-alive, X-Hop", "X-Hop: 1", "Accept-Encoding: gzip",
		"Host: evil.example", "Content-Type: application/json", "OpenAI-Beta: assistants=v2",
		"X-Client-Note: kept", "Bad\r\nHeader: x", NULL,
	};

	seen_init(&s);
	VT_EQ_INT(forward(up, "/chat/completions",
	    "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	    headers, &s, &res), VG_OK, "non-streaming chat forwarded");
	VT_EQ_INT(res.status, 200, "provider accepted the key");
	VT_EQ_INT(s.heads, 1, "one head relayed");
	VT_OK(res.complete && res.relayed && res.attempts == 1, "complete at the first attempt");
	VT_OK(strncmp(res.request_id, "req_", 4) == 0, "the provider's request id kept");
	VT_EQ_INT(vg_llm_outcome_from_body(VG_LLM_API_CHAT, s.body.data, s.body.len, &o), VG_OK,
	    "body relayed whole");
	VT_OK(o.have_usage && o.usage.input_tokens > 0, "usage in it");
	last = last_request();
	h = json_object_get(last, "headers");
	VT_EQ_STR(json_string_value(json_object_get(last, "authorization")), "Bearer " PROVIDER_KEY,
	    "the provider key arrived");
	{
		char *all = json_dumps(last, 0);

		VT_OK(all && !strstr(all, "the-scan-token"), "the client's token did not");
		free(all);
	}
	VT_OK(!json_object_get(h, "cookie") && !json_object_get(h, "x-api-key") &&
	    !json_object_get(h, "openai-organization") && !json_object_get(h, "openai-project") &&
	    !json_object_get(h, "x-forwarded-for"), "credentials and selectors dropped");
	VT_OK(!json_object_get(h, "x-hop"), "a header named in Connection dropped");
	VT_OK(!json_object_get(h, "accept-encoding"), "no compression asked for");
	VT_OK(strcmp(json_string_value(json_object_get(h, "host")), "evil.example") != 0,
	    "the client's Host not forwarded");
	VT_EQ_STR(json_string_value(json_object_get(h, "openai-beta")), "assistants=v2",
	    "other headers forwarded");
	VT_EQ_STR(json_string_value(json_object_get(h, "x-client-note")), "kept", "custom header kept");
	VT_OK(!json_object_get(h, "bad"), "a header with CR LF dropped");
	json_decref(last);
	vg_buf_free(&s.body);

	seen_init(&s);
	VT_EQ_INT(forward(up, "/models", NULL, NULL, &s, &res), VG_OK, "GET /models");
	VT_OK(res.status == 200 && strstr(vg_buf_str(&s.body), "\"fake-model\""), "models listed");
	vg_buf_free(&s.body);
	vg_llm_upstream_free(up);
}

static void
test_streaming(void)
{
	struct vg_llm_upstream *up = upstream(0, 5);
	struct vg_llm_forward_result res;
	struct vg_llm_outcome o;
	struct seen s;
	static const char *const split[] = {"x-fake-split: 7", "x-fake-split-pause-ms: 1", NULL};
	static const char *const paced[] = {"x-fake-chunk-delay-ms: 60", NULL};
	static const char *const cut[] = {"x-fake-cut: before-terminal", NULL};
	enum vg_err err;

	seen_init(&s);
	VT_EQ_INT(forward(up, "/responses",
	    "{\"model\":\"fake-model\",\"input\":\"hello\",\"stream\":true}", split, &s, &res),
	    VG_OK, "a stream written 7 bytes at a time");
	VT_OK(s.bodies > 20, "relayed in many pieces, as they came");
	stream_outcome(VG_LLM_API_RESPONSES, &s.body, &o);
	VT_OK(o.terminal && o.have_usage && strcmp(o.status, "completed") == 0,
	    "the pieces make the whole stream, usage included");
	vg_buf_free(&s.body);

	seen_init(&s);
	err = forward(up, "/chat/completions", "{\"model\":\"fake-model\",\"messages\":[],"
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true}}", paced, &s, &res);
	VT_EQ_INT(err, VG_OK, "a paced stream");
	VT_OK(s.last_body_us - s.first_body_us > 250000,
	    "the first event was relayed long before the last (no buffering)");
	stream_outcome(VG_LLM_API_CHAT, &s.body, &o);
	VT_OK(o.terminal && o.have_usage, "chat usage chunk relayed");
	vg_buf_free(&s.body);

	seen_init(&s);
	VT_EQ_INT(forward(up, "/responses",
	    "{\"model\":\"fake-model\",\"input\":\"hello\",\"stream\":true}", cut, &s, &res),
	    VG_ERR_UNAVAILABLE, "a stream cut before its end");
	VT_OK(res.relayed && !res.complete && res.attempts == 1, "relayed, incomplete, not retried");
	VT_OK(strstr(res.error, "broke off") != NULL, "the error says so");
	stream_outcome(VG_LLM_API_RESPONSES, &s.body, &o);
	VT_OK(!o.terminal && !o.have_usage, "no terminal event, no usage: the caller charges its reservation");
	vg_buf_free(&s.body);
	vg_llm_upstream_free(up);
}

static void
test_retries(void)
{
	struct vg_llm_upstream *up = upstream(2, 5);
	struct vg_llm_forward_result res;
	struct seen s;
	const char *body = "{\"model\":\"fake-model\",\"input\":\"x\"}";
	json_t *j;

	seen_init(&s);
	json_decref(control("POST", "/_fake/next", "{\"times\":2,\"status\":503}"));
	VT_EQ_INT(forward(up, "/responses", body, NULL, &s, &res), VG_OK, "two 503s then an answer");
	VT_EQ_INT(res.attempts, 3, "three attempts");
	VT_EQ_INT(s.heads, 1, "only the answer relayed");
	VT_EQ_INT(res.status, 200, "status 200");
	VT_OK(strstr(vg_buf_str(&s.body), "server_error") == NULL, "no 503 body reached the client");
	vg_buf_free(&s.body);

	seen_init(&s);
	json_decref(control("POST", "/_fake/next", "{\"times\":3,\"status\":500}"));
	VT_EQ_INT(forward(up, "/responses", body, NULL, &s, &res), VG_OK, "500 every time");
	VT_EQ_INT(res.attempts, 3, "retries used up");
	VT_EQ_INT(res.status, 500, "the last 500 relayed");
	VT_OK(strstr(vg_buf_str(&s.body), "\"server_error\"") != NULL, "in the provider's error shape");
	vg_buf_free(&s.body);

	seen_init(&s);
	json_decref(control("POST", "/_fake/next", "{\"times\":1,\"status\":429}"));
	VT_EQ_INT(forward(up, "/responses", body, NULL, &s, &res), VG_OK, "429");
	VT_EQ_INT(res.attempts, 1, "429 is not retried");
	VT_EQ_INT(res.status, 429, "relayed");
	VT_EQ_STR(s.retry_after, "1", "with Retry-After");
	vg_buf_free(&s.body);

	vg_llm_upstream_free(up);

	/* A fresh connection (curl itself re-sends once on a reused one). */
	up = upstream(2, 5);
	seen_init(&s);
	json_decref(control("POST", "/_fake/next", "{\"times\":1,\"fail\":\"reset\"}"));
	VT_EQ_INT(forward(up, "/responses", body, NULL, &s, &res), VG_OK, "a reset connection, then an answer");
	VT_EQ_INT(res.attempts, 2, "retried once");
	VT_EQ_INT(res.status, 200, "answered");
	vg_buf_free(&s.body);
	vg_llm_upstream_free(up);

	/* Nothing listens: every attempt fails to connect. */
	{
		struct vg_llm_upstream *down = NULL;
		char msg[128];

		vg_llm_upstream_new("http://127.0.0.1:1/v1", keyfile, 2, 5, 2, 10, &down, msg, sizeof msg);
		seen_init(&s);
		VT_EQ_INT(forward(down, "/responses", body, NULL, &s, &res), VG_ERR_UNAVAILABLE,
		    "provider down");
		VT_OK(!res.relayed && res.attempts == 3 && s.heads == 0,
		    "retried, nothing relayed: the caller answers");
		VT_OK(strstr(res.error, "could not be reached") != NULL, "the error says so");
		VT_OK(strstr(res.error, PROVIDER_KEY) == NULL, "the key is not in the error");
		vg_buf_free(&s.body);
		vg_llm_upstream_free(down);
	}
	j = control("POST", "/_fake/reset", NULL);
	json_decref(j);
}

static void
test_timeouts_and_abort(void)
{
	struct vg_llm_upstream *up = upstream(2, 1);
	struct vg_llm_forward_result res;
	struct seen s;
	const char *body = "{\"model\":\"fake-model\",\"input\":\"x\",\"stream\":true}";
	static const char *const slow[] = {"x-fake-delay-ms: 300", NULL};
	static const char *const idle[] = {"x-fake-delay-ms: 2500", NULL};
	static const char *const stall[] = {"x-fake-chunk-delay-ms: 1500", NULL};

	seen_init(&s);
	VT_EQ_INT(forward(up, "/responses", body, slow, &s, &res), VG_OK, "slow first byte");
	VT_OK(res.first_byte_us >= 300000, "first byte after the provider's delay");
	vg_buf_free(&s.body);

	seen_init(&s);
	VT_EQ_INT(forward(up, "/responses", body, idle, &s, &res), VG_ERR_UNAVAILABLE,
	    "no byte within the idle timeout");
	VT_OK(res.timed_out && res.attempts == 1, "timed out, not retried (it may have been served)");
	vg_buf_free(&s.body);

	seen_init(&s);
	VT_EQ_INT(forward(up, "/responses", body, stall, &s, &res), VG_ERR_UNAVAILABLE,
	    "a stream that stalls");
	VT_OK(res.relayed && res.timed_out && !res.complete, "relayed, then timed out");
	vg_buf_free(&s.body);

	seen_init(&s);
	s.abort_after = 1;
	VT_EQ_INT(forward(up, "/responses", body, NULL, &s, &res), VG_ERR_INVALID,
	    "the relay's error stops the transfer");
	VT_OK(res.aborted && s.bodies == 1, "nothing after the stop");
	vg_buf_free(&s.body);
	vg_llm_upstream_free(up);
}

static void
test_setup_errors(void)
{
	struct vg_llm_upstream *up = NULL;
	struct vg_llm_forward_result res;
	struct vg_llm_forward_req get = {"DELETE", "/models", NULL, 0, NULL};
	struct vg_llm_forward_cb cb = {NULL, NULL, NULL};
	char msg[256], bad[256];
	FILE *f;

	VT_EQ_INT(vg_llm_upstream_new(base, "/nonexistent/key", 2, 5, 0, 10, &up, msg, sizeof msg),
	    VG_ERR_IO, "missing key file");
	VT_EQ_INT(vg_llm_upstream_new("ftp://x/v1", keyfile, 2, 5, 0, 10, &up, msg, sizeof msg),
	    VG_ERR_INVALID, "not an http URL");
	VT_EQ_INT(vg_llm_upstream_new(base, "", 2, 5, 0, 10, &up, msg, sizeof msg), VG_ERR_INVALID,
	    "no key file set");
	snprintf(bad, sizeof bad, "%s/bad-key", dir);
	f = fopen(bad, "w");
	fputs("sk-part one\n", f);
	fclose(f);
	VT_EQ_INT(vg_llm_upstream_new(base, bad, 2, 5, 0, 10, &up, msg, sizeof msg), VG_ERR_INVALID,
	    "a key with a space");
	VT_OK(strstr(msg, "sk-part") == NULL, "the message does not show the key");
	VT_EQ_INT(vg_llm_upstream_new(base, keyfile, 2, 5, 0, 10, &up, msg, sizeof msg), VG_OK,
	    "good upstream");
	VT_EQ_INT(vg_llm_forward(up, &get, &cb, &res), VG_ERR_INVALID, "only GET and POST");
	vg_llm_upstream_free(up);
	VT_OK(!vg_llm_header_forwardable("AUTHORIZATION") && !vg_llm_header_forwardable("Proxy-Foo") &&
	    vg_llm_header_forwardable("Content-Type"), "header policy ignores case");
}

int
main(void)
{
	FILE *f;
	char cmd[512];

	if (!mkdtemp(dir))
		return 1;
	snprintf(keyfile, sizeof keyfile, "%s/provider.key", dir);
	f = fopen(keyfile, "w");
	fputs("  " PROVIDER_KEY "\n", f);
	fclose(f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!start_provider()) {
		printf("# the fake provider did not start (node missing?)\n");
		VT_OK(0, "fake provider started");
	} else {
		test_credentials_and_headers();
		test_streaming();
		test_retries();
		test_timeouts_and_abort();
		test_setup_errors();
	}
	if (provider > 0)
		kill(provider, SIGTERM);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return vt_done();
}
