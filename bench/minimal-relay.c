/*
 * minimal-relay - the baseline of bench/llm-proxy.sh: the smallest
 * libfcgi program that relays a POST to the AI provider with libcurl and
 * writes the answer back as it arrives.  It has no token, no store, no
 * budget, no parsing and no log; it is what the architecture itself costs
 * (nginx, a FastCGI connection, one more HTTP hop on a kept connection),
 * so whatever vega-llm-proxy costs on top of it is Vega's own.
 *
 * Reads VEGA_LLM_PROVIDER_BASE_URL (ending in /v1) and
 * VEGA_LLM_PROVIDER_API_KEY_FILE, as vega-llm-proxy does.  The request's
 * path below /v1 is appended to the base URL; a GET (the stack's
 * readiness probe) is answered here.  All of the bench stack's programs
 * are this one.  A bench tool: it answers 502 when anything fails, and
 * nothing else is checked.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <fcgiapp.h>

#define BODY_MAX (1 << 20)

struct relay {
	FCGX_Request *r;
	CURL *c;
	int head_sent;
};

/* The status line and headers, once, before the first byte of the body:
 * the provider's status and type as curl read them (502 when there is
 * no transfer, x->c NULL, or it brought no status). */
static void
send_head(struct relay *x)
{
	long status = 0;
	char *type = NULL;

	if (x->head_sent)
		return;
	if (x->c) {
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->c, CURLINFO_CONTENT_TYPE, &type);
	}
	FCGX_FPrintF(x->r->out, "Status: %ld\r\nContent-Type: %s\r\n"
	    "X-Accel-Buffering: no\r\n\r\n", status ? status : 502L,
	    type ? type : "application/json");
	x->head_sent = 1;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct relay *x = arg;

	send_head(x);
	if (FCGX_PutStr(data, (int)(size * n), x->r->out) < 0 || FCGX_FFlush(x->r->out) < 0)
		return 0;
	return size * n;
}

/* The key file's first line, as a Bearer header. */
static struct curl_slist *
auth_headers(void)
{
	const char *path = getenv("VEGA_LLM_PROVIDER_API_KEY_FILE");
	char key[512], line[600];
	struct curl_slist *h = NULL;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (!f || !fgets(key, sizeof key, f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	snprintf(line, sizeof line, "Authorization: Bearer %s", key);
	h = curl_slist_append(h, line);
	return curl_slist_append(h, "Content-Type: application/json");
}

/* One request: its body, then the provider's answer relayed. */
static void
serve(FCGX_Request *r, CURL *c, struct curl_slist *headers, const char *base, char *body)
{
	const char *uri = FCGX_GetParam("DOCUMENT_URI", r->envp);
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	const char *method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	long len = cl ? strtol(cl, NULL, 10) : 0;
	struct relay x = {r, c, 0};
	char url[2048];

	if (method && strcmp(method, "GET") == 0) {
		/* the stack's readiness probe (GET /v1/healthz) */
		FCGX_PutS("Status: 200\r\nContent-Type: application/json\r\n\r\n"
		    "{\"status\":\"ok\"}", r->out);
		return;
	}
	if (!uri || strncmp(uri, "/v1/", 4) != 0 || len < 0 || len > BODY_MAX ||
	    FCGX_GetStr(body, (int)len, r->in) != (int)len) {
		x.c = NULL;
		send_head(&x);
		return;
	}
	snprintf(url, sizeof url, "%s%s", base, uri + 3);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_perform(c);
	send_head(&x);
}

int
main(void)
{
	const char *base = getenv("VEGA_LLM_PROVIDER_BASE_URL");
	struct curl_slist *headers;
	FCGX_Request r;
	char *body = malloc(BODY_MAX + 1);
	CURL *c;

	if (!base || !body || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    !(headers = auth_headers()) || !(c = curl_easy_init()) ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0)
		serve(&r, c, headers, base, body);
	FCGX_Free(&r, 1);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	free(body);
	return 0;
}
