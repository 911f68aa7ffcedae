/* forward.c - one request to the AI provider, relayed as it arrives (libcurl). */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "llm/forward.h"

#define BACKOFF_MAX_MS 5000

struct vg_llm_upstream {
	char base[1024];
	char key[VG_LLM_KEY_MAX + 1];
	long connect_timeout, idle_timeout, backoff_ms;
	int retries;
	CURL *curl;            /* kept between requests: its connection stays open */
};

/* Client headers that never go upstream (lower case).  Credentials, what
 * curl or the proxy decide, hop-by-hop headers (RFC 9110 section 7.6.1),
 * forwarding details, and selectors that belong to the key's owner. */
static const char *const dropped_headers[] = {
	"authorization", "proxy-authorization", "cookie", "api-key", "x-api-key",
	"host", "content-length", "accept-encoding", "expect",
	"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
	"upgrade",
	"forwarded", "x-real-ip", "via",
	"openai-organization", "openai-project",
};
static const char *const dropped_prefixes[] = {"x-forwarded-", "proxy-"};

static void
say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

bool
vg_llm_header_forwardable(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof dropped_headers / sizeof dropped_headers[0]; i++)
		if (strcasecmp(name, dropped_headers[i]) == 0)
			return false;
	for (i = 0; i < sizeof dropped_prefixes / sizeof dropped_prefixes[0]; i++)
		if (strncasecmp(name, dropped_prefixes[i], strlen(dropped_prefixes[i])) == 0)
			return false;
	return true;
}

/* Read the key file into up->key: trimmed, printable ASCII, no spaces. */
static enum vg_err
read_key(struct vg_llm_upstream *up, const char *path, char *msg, size_t msglen)
{
	char buf[VG_LLM_KEY_MAX + 2];
	size_t len = 0, start = 0, i;
	ssize_t r;
	int fd;
	enum vg_err err = VG_ERR_INVALID;

	if (!path || !*path) {
		say(msg, msglen, "VEGA_LLM_PROVIDER_API_KEY_FILE is not set");
		return VG_ERR_INVALID;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		say(msg, msglen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			say(msg, msglen, "%s: %s", path, strerror(errno));
			err = VG_ERR_IO;
			goto out;
		}
		len += (size_t)r;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	if (len - start == 0 || len - start > VG_LLM_KEY_MAX) {
		say(msg, msglen, "%s: no key, or longer than %d bytes", path, VG_LLM_KEY_MAX);
		goto out;
	}
	for (i = start; i < len; i++) {
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f) {
			say(msg, msglen, "%s: the key holds a character that cannot go in a header", path);
			goto out;
		}
	}
	memcpy(up->key, buf + start, len - start);
	up->key[len - start] = '\0';
	err = VG_OK;
out:
	OPENSSL_cleanse(buf, sizeof buf);
	close(fd);
	return err;
}

enum vg_err
vg_llm_upstream_new(const char *base_url, const char *key_file,
    long connect_timeout, long idle_timeout, int retries, long backoff_ms,
    struct vg_llm_upstream **out, char *msg, size_t msglen)
{
	struct vg_llm_upstream *up = NULL;
	size_t n;
	enum vg_err err = VG_ERR_INVALID;

	*out = NULL;
	say(msg, msglen, "%s", "");
	if (!base_url || !(vg_str_has_prefix(base_url, "https://") ||
	    vg_str_has_prefix(base_url, "http://")) || strpbrk(base_url, " \t\r\n?#")) {
		say(msg, msglen, "VEGA_LLM_PROVIDER_BASE_URL must be an http(s) URL without query");
		return VG_ERR_INVALID;
	}
	if (connect_timeout < 1 || idle_timeout < 1 || retries < 0 || retries > 10 ||
	    backoff_ms < 0 || backoff_ms > BACKOFF_MAX_MS) {
		say(msg, msglen, "timeouts, retries or backoff out of range");
		return VG_ERR_INVALID;
	}
	if (!(up = calloc(1, sizeof *up)))
		return VG_ERR_NOMEM;
	if (vg_str_copy(up->base, sizeof up->base, base_url) != VG_OK) {
		say(msg, msglen, "VEGA_LLM_PROVIDER_BASE_URL is too long");
		goto out;
	}
	n = strlen(up->base);
	while (n > 0 && up->base[n - 1] == '/')
		up->base[--n] = '\0';
	if ((err = read_key(up, key_file, msg, msglen)) != VG_OK)
		goto out;
	err = VG_ERR_INTERNAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(up->curl = curl_easy_init())) {
		say(msg, msglen, "libcurl could not start");
		goto out;
	}
	up->connect_timeout = connect_timeout;
	up->idle_timeout = idle_timeout;
	up->retries = retries;
	up->backoff_ms = backoff_ms;
	*out = up;
	up = NULL;
	err = VG_OK;
out:
	vg_llm_upstream_free(up);
	return err;
}

enum vg_err
vg_llm_upstream_from_settings(struct vg_llm_upstream **out, char *msg, size_t msglen)
{
	return vg_llm_upstream_new(vg_cfg_str(VG_SET_LLM_PROVIDER_BASE_URL),
	    vg_cfg_str(VG_SET_LLM_PROVIDER_API_KEY_FILE),
	    (long)vg_cfg_int(VG_SET_LLM_CONNECT_TIMEOUT_SECONDS),
	    (long)vg_cfg_int(VG_SET_LLM_IDLE_TIMEOUT_SECONDS),
	    (int)vg_cfg_int(VG_SET_LLM_RETRIES), 250, out, msg, msglen);
}

void
vg_llm_upstream_free(struct vg_llm_upstream *up)
{
	if (!up)
		return;
	if (up->curl)
		curl_easy_cleanup(up->curl);
	OPENSSL_cleanse(up->key, sizeof up->key);
	free(up);
}

/* The state of one transfer attempt. */
struct xfer {
	const struct vg_llm_forward_cb *cb;
	struct vg_llm_forward_result *res;
	CURL *curl;
	bool last_attempt;
	bool head_done;        /* the final head of this attempt was seen */
	bool discard;          /* a 5xx that will be retried: drop its body */
	bool idle;             /* the idle timeout struck */
	long idle_us;
	int64_t last_us;       /* when a byte last moved either way */
	curl_off_t last_dl, last_ul;
	enum vg_err cb_err;
	int64_t t0;
	char content_type[128];
	char request_id[128];
	char retry_after[64];
};

/* Copy a header's value (after "Name:") without surrounding blanks. */
static void
header_value(const char *line, size_t n, size_t name_len, char *dst, size_t size)
{
	const char *v = line + name_len + 1, *end = line + n;
	size_t len;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* The headers we keep from an answer, by name. */
static void
keep_header(struct xfer *x, const char *line, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
		size_t size;
	} kept[] = {
		{"content-type", offsetof(struct xfer, content_type), sizeof ((struct xfer *)0)->content_type},
		{"x-request-id", offsetof(struct xfer, request_id), sizeof ((struct xfer *)0)->request_id},
		{"retry-after", offsetof(struct xfer, retry_after), sizeof ((struct xfer *)0)->retry_after},
	};
	size_t i;

	for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		size_t len = strlen(kept[i].name);

		if (n > len && line[len] == ':' && strncasecmp(line, kept[i].name, len) == 0)
			header_value(line, n, len, (char *)x + kept[i].off, kept[i].size);
	}
}

/*
 * Called per header line.  A status line starts a new head (1xx interim
 * answers come first); the blank line ends it, and decides: a 5xx that a
 * retry may replace is dropped, anything else goes to on_head.
 */
static size_t
on_header(char *p, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems;
	long status = 0;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->content_type[0] = x->request_id[0] = x->retry_after[0] = '\0';
		return n;
	}
	if (!(n <= 2 && (p[0] == '\r' || p[0] == '\n'))) {
		keep_header(x, p, n);
		return n;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200)
		return n;
	x->head_done = true;
	if (status >= 500 && !x->last_attempt) {
		x->discard = true;
		return n;
	}
	{
		struct vg_llm_forward_head head = {(int)status, x->content_type, x->request_id,
			x->retry_after};

		x->res->status = (int)status;
		x->res->relayed = true;
		x->res->first_byte_us = vg_time_mono_us() - x->t0;
		vg_str_copy(x->res->request_id, sizeof x->res->request_id, x->request_id);
		if (x->cb->on_head && (x->cb_err = x->cb->on_head(x->cb->arg, &head)) != VG_OK)
			return 0;   /* abort */
	}
	return n;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->discard || !x->res->relayed)
		return n;
	if (x->cb->on_body && (x->cb_err = x->cb->on_body(x->cb->arg, p, n)) != VG_OK)
		return 0;   /* abort */
	return n;
}

/*
 * The idle timeout: curl's own low-speed check averages over a window of
 * seconds, so the transfer is watched here instead.  The clock runs once
 * the connection stands (connecting has its own timeout) and restarts
 * whenever a byte moves in either direction.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct xfer *x = arg;
	int64_t now = vg_time_mono_us();
	curl_off_t ready = 0;

	/* Zero until the connection stands (new or reused) and the request
	 * is about to go. */
	curl_easy_getinfo(x->curl, CURLINFO_PRETRANSFER_TIME_T, &ready);
	if (ready <= 0 || dlnow != x->last_dl || ulnow != x->last_ul || !x->last_us) {
		x->last_dl = dlnow;
		x->last_ul = ulnow;
		x->last_us = now;
		return 0;
	}
	if (now - x->last_us > x->idle_us) {
		x->idle = true;
		return 1;   /* abort */
	}
	return 0;
}

/* Whether a failed attempt that relayed nothing may be tried again: the
 * connection failed, or no answer came on it. */
static bool
connection_failure(CURLcode rc, CURL *c)
{
	static const CURLcode retryable[] = {
		CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_GOT_NOTHING,
		CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_SSL_CONNECT_ERROR,
	};
	size_t i;
	double connect = 0;

	if (rc == CURLE_OPERATION_TIMEDOUT) {
		/* Only a connect timeout; a slow answer is not retried. */
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connect);
		return connect <= 0;
	}
	for (i = 0; i < sizeof retryable / sizeof retryable[0]; i++)
		if (rc == retryable[i])
			return true;
	return false;
}

/* The names given in the client's Connection headers are hop-by-hop too. */
static bool
named_in_connection(const char *const *headers, const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; headers[i] && i < VG_LLM_FORWARD_MAX_HEADERS; i++) {
		const char *h = headers[i], *v;

		if (strncasecmp(h, "connection:", 11) != 0)
			continue;
		for (v = h + 11; *v;) {
			size_t len;

			while (*v == ' ' || *v == '\t' || *v == ',')
				v++;
			len = strcspn(v, " \t,");
			if (len == name_len && len && strncasecmp(v, name, len) == 0)
				return true;
			v += len;
		}
	}
	return false;
}

/* The upstream request's headers: the client's that may go, the key, and
 * what curl must not add. */
static enum vg_err
build_headers(const struct vg_llm_upstream *up, const struct vg_llm_forward_req *req,
    struct curl_slist **out)
{
	struct curl_slist *list = NULL, *tmp;
	char auth[VG_LLM_KEY_MAX + 32];
	bool has_type = false;
	size_t i;
	enum vg_err err = VG_ERR_NOMEM;

	*out = NULL;
	for (i = 0; req->headers && req->headers[i] && i < VG_LLM_FORWARD_MAX_HEADERS; i++) {
		const char *h = req->headers[i], *colon = strchr(h, ':');
		char name[128];
		size_t nlen;

		if (!colon || colon == h || (nlen = (size_t)(colon - h)) >= sizeof name ||
		    strpbrk(h, "\r\n") || strcspn(h, " \t") < nlen)
			continue;
		memcpy(name, h, nlen);
		name[nlen] = '\0';
		if (!vg_llm_header_forwardable(name) || named_in_connection(req->headers, name, nlen))
			continue;
		has_type |= strcasecmp(name, "content-type") == 0;
		if (!(tmp = curl_slist_append(list, h)))
			goto out;
		list = tmp;
	}
	if (req->body && !has_type) {
		if (!(tmp = curl_slist_append(list, "Content-Type: application/json")))
			goto out;
		list = tmp;
	}
	/* No 100-continue round trip, and curl's own Accept stays out. */
	if (!(tmp = curl_slist_append(list, "Expect:")))
		goto out;
	list = tmp;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", up->key);
	tmp = curl_slist_append(list, auth);
	OPENSSL_cleanse(auth, sizeof auth);
	if (!tmp)
		goto out;
	list = tmp;
	*out = list;
	list = NULL;
	err = VG_OK;
out:
	curl_slist_free_all(list);
	return err;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Wipe the key from the header list before it is freed. */
static void
free_headers(struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l; l = l->next)
		if (strncmp(l->data, "Authorization:", 14) == 0)
			OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

enum vg_err
vg_llm_forward(struct vg_llm_upstream *up, const struct vg_llm_forward_req *req,
    const struct vg_llm_forward_cb *cb, struct vg_llm_forward_result *res)
{
	struct curl_slist *headers = NULL;
	char url[2048], errbuf[CURL_ERROR_SIZE];
	bool post;
	int attempt;
	int64_t t0 = vg_time_mono_us();
	CURLcode rc = CURLE_OK;
	enum vg_err err = VG_ERR_INVALID;

	memset(res, 0, sizeof *res);
	if (!up || !req || !cb || !req->method || !req->path || req->path[0] != '/' ||
	    strpbrk(req->path, " \t\r\n#")) {
		vg_str_copy(res->error, sizeof res->error, "bad request to forward");
		return VG_ERR_INVALID;
	}
	post = strcmp(req->method, "POST") == 0;
	if (!post && strcmp(req->method, "GET") != 0) {
		vg_str_copy(res->error, sizeof res->error, "only GET and POST are forwarded");
		return VG_ERR_INVALID;
	}
	if ((size_t)snprintf(url, sizeof url, "%s%s", up->base, req->path) >= sizeof url) {
		vg_str_copy(res->error, sizeof res->error, "URL too long");
		return VG_ERR_INVALID;
	}
	if ((err = build_headers(up, req, &headers)) != VG_OK)
		return err;
	for (attempt = 0; attempt <= up->retries; attempt++) {
		struct xfer x;
		CURL *c = up->curl;

		if (attempt > 0) {
			long ms = up->backoff_ms << (attempt - 1);

			sleep_ms(ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms);
		}
		memset(&x, 0, sizeof x);
		x.cb = cb;
		x.res = res;
		x.curl = c;
		x.last_attempt = attempt == up->retries;
		x.t0 = t0;
		errbuf[0] = '\0';
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, up->connect_timeout);
		x.idle_us = up->idle_timeout * 1000000L;
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		if (post) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		} else {
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		}
		rc = curl_easy_perform(c);
		res->attempts = attempt + 1;
		if (x.cb_err != VG_OK) {
			res->aborted = true;
			snprintf(res->error, sizeof res->error, "the relay stopped the transfer");
			err = x.cb_err;
			goto out;
		}
		if (res->relayed) {
			res->complete = rc == CURLE_OK;
			res->timed_out = rc == CURLE_OPERATION_TIMEDOUT || x.idle;
			res->error[0] = '\0';
			if (x.idle)
				snprintf(res->error, sizeof res->error, "the provider's answer stalled for %ld s",
				    up->idle_timeout);
			else if (rc != CURLE_OK)
				snprintf(res->error, sizeof res->error, "the provider's answer broke off: %.200s",
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
			err = rc == CURLE_OK ? VG_OK : VG_ERR_UNAVAILABLE;
			goto out;
		}
		if (x.discard) {
			snprintf(res->error, sizeof res->error, "the provider answered 5xx");
			continue;
		}
		res->timed_out = rc == CURLE_OPERATION_TIMEDOUT || x.idle;
		if (x.idle)
			snprintf(res->error, sizeof res->error, "no answer from the provider within %ld s",
			    up->idle_timeout);
		else
			snprintf(res->error, sizeof res->error, "the provider could not be reached: %.200s",
			    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_OK || !connection_failure(rc, c))
			break;
	}
	err = VG_ERR_UNAVAILABLE;
out:
	res->total_us = vg_time_mono_us() - t0;
	free_headers(headers);
	return err;
}
