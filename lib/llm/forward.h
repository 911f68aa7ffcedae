/*
 * forward.h - send one client request to the AI provider and relay the
 * answer while it arrives.
 *
 * The provider is VEGA_LLM_PROVIDER_BASE_URL; the key comes from
 * VEGA_LLM_PROVIDER_API_KEY_FILE, is sent only as the provider's
 * Authorization header, and is never logged nor handed to a callback.
 * Client headers are filtered: Authorization and every other credential
 * header, Host, Content-Length, Accept-Encoding (the proxy must see the
 * stream as text), the hop-by-hop headers (and any named in Connection),
 * the X-Forwarded-* family and the organisation/project selectors that
 * belong to the key's owner never go upstream.
 *
 * Timeouts: connecting (VEGA_LLM_CONNECT_TIMEOUT_SECONDS), and idle: the
 * transfer is abandoned when nothing arrives for
 * VEGA_LLM_IDLE_TIMEOUT_SECONDS.
 *
 * Retries (VEGA_LLM_RETRIES, with exponential backoff) happen only when
 * nothing has reached the client: a connection that failed before an
 * answer, or an answer with a 5xx status, whose body is then dropped.  The
 * last attempt's 5xx is relayed like any other answer.  Once on_head has
 * been called nothing is retried.
 *
 * The budget and the store stay outside: the caller reserves before
 * calling vg_llm_forward, observes the body through on_body (an SSE parser
 * and vg_llm_outcome_event for a stream), and settles afterwards.
 *
 * A vg_llm_upstream keeps one connection to the provider alive between
 * requests; use it from one thread at a time.
 */
#ifndef VG_LLM_FORWARD_H
#define VG_LLM_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

#define VG_LLM_KEY_MAX 4096          /* longest provider key */
#define VG_LLM_FORWARD_MAX_HEADERS 64 /* client headers considered */

struct vg_llm_upstream;

/*
 * An upstream: base_url (http or https, trailing '/' dropped), the key read
 * from key_file (surrounding whitespace dropped; printable ASCII without
 * spaces), timeouts in seconds, retries (0 to 10) and the first backoff in
 * milliseconds (doubled each retry, at most 5 s).  VG_ERR_INVALID or
 * VG_ERR_IO with a message in msg (which never holds the key).  Free with
 * vg_llm_upstream_free, which wipes the key.
 */
enum vg_err vg_llm_upstream_new(const char *base_url, const char *key_file,
    long connect_timeout, long idle_timeout, int retries, long backoff_ms,
    struct vg_llm_upstream **out, char *msg, size_t msglen);
/* The same from the VEGA_LLM_* settings (backoff from 250 ms). */
enum vg_err vg_llm_upstream_from_settings(struct vg_llm_upstream **out, char *msg, size_t msglen);
void vg_llm_upstream_free(struct vg_llm_upstream *up);

/* Whether a client header (by name, any case) may go to the provider. */
bool vg_llm_header_forwardable(const char *name);

struct vg_llm_forward_req {
	const char *method;          /* "GET" or "POST" */
	const char *path;            /* below the base URL: "/responses", "/chat/completions", "/models" */
	const char *body;            /* POST body (may be NULL for GET) */
	size_t body_len;
	/* The client's headers as "Name: value" strings, NULL-terminated (may
	 * be NULL); filtered as above. */
	const char *const *headers;
};

/* The provider's answer head, given to on_head. */
struct vg_llm_forward_head {
	int status;
	const char *content_type;    /* "" when absent */
	const char *request_id;      /* the provider's x-request-id, "" when absent */
	const char *retry_after;     /* "" when absent */
};

struct vg_llm_forward_cb {
	/* Called once, before any body byte, when the answer that will be
	 * relayed has its status and headers.  A non-OK return aborts. */
	enum vg_err (*on_head)(void *arg, const struct vg_llm_forward_head *head);
	/* Called with each piece of the body as it arrives (any size, any
	 * split).  A non-OK return aborts the transfer. */
	enum vg_err (*on_body)(void *arg, const char *data, size_t n);
	void *arg;
};

struct vg_llm_forward_result {
	int status;             /* the relayed status, 0 when none was */
	int attempts;           /* requests sent */
	bool relayed;           /* on_head was called */
	bool complete;          /* the answer arrived whole */
	bool aborted;           /* a callback stopped it */
	bool timed_out;         /* the connect or idle timeout struck */
	char request_id[128];   /* the provider's x-request-id */
	int64_t first_byte_us;  /* from the call to the relayed head */
	int64_t total_us;
	char error[256];        /* what went wrong, safe to log; "" when complete */
};

/*
 * Send req to the provider and relay the answer through cb.  Returns
 * VG_OK when an answer was relayed to its end (whatever its status);
 * VG_ERR_UNAVAILABLE when no answer could be had (res->relayed false: the
 * caller answers the client itself) or the answer broke off
 * (res->relayed true, res->complete false); the callbacks' own error when
 * one aborted; VG_ERR_INVALID for a bad request.  *res is always filled.
 */
enum vg_err vg_llm_forward(struct vg_llm_upstream *up, const struct vg_llm_forward_req *req,
    const struct vg_llm_forward_cb *cb, struct vg_llm_forward_result *res);

#endif
