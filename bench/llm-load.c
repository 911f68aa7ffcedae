/*
 * llm-load - concurrent HTTP/1.1 clients that time chat completions, for
 * bench/llm-proxy.sh: the same requests to the fake provider directly and
 * through the proxy, so the difference is what the proxy adds.
 *
 *   llm-load URL TOKENS STREAM CLIENTS REQUESTS
 *
 * URL is http://127.0.0.1:PORT (loopback, no TLS); each of CLIENTS
 * threads keeps one connection (reopened when the server closes it) and
 * POSTs REQUESTS chat completions to URL/v1/chat/completions with
 * "Authorization: Bearer TOKEN", streamed when STREAM is 1.  TOKENS is
 * one token or several separated by commas: client i sends token i
 * modulo their number (one scan per client, as one runner per scan).  Each
 * request's time to the last byte and to the first "data:" of a stream
 * (to the last byte when not streamed) is recorded; prints one line:
 *
 *   <requests> <p50 ms> <p99 ms> <first-event p50 ms> <first-event p99 ms>
 *
 * Exit status 1 when any request failed (non-200, a broken answer).
 * A measurement tool, not a test: it has no opinion on the figures.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_WHOLE "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"Say hello.\"}]}"
#define BODY_STREAM "{\"model\":\"fake-model\",\"stream\":true,\"messages\":" \
	"[{\"role\":\"user\",\"content\":\"Say hello.\"}]}"
#define BUF_SIZE 65536
#define MAX_CLIENTS 512

struct conf {
	struct sockaddr_in addr;
	char host[64];
	char *tokens[MAX_CLIENTS];   /* into the copy of TOKENS */
	long ntokens;
	bool stream;
	long requests;
};

/* One client's connection and what it measured (owned by its thread). */
struct client {
	const struct conf *cf;
	const char *token;
	int fd;
	char buf[BUF_SIZE];
	size_t have, off;        /* buffered bytes; next unread */
	double *total_ms, *first_ms;
	long done;
	bool failed;
	char why[160];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
fail(struct client *c, const char *why)
{
	if (!c->failed)
		snprintf(c->why, sizeof c->why, "%.100s", why);
	c->failed = true;
	return -1;
}

static int
connect_to(struct client *c)
{
	int one = 1;

	if (c->fd >= 0)
		close(c->fd);
	c->have = c->off = 0;
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return fail(c, "socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (const struct sockaddr *)&c->cf->addr, sizeof c->cf->addr) != 0)
		return fail(c, "connect");
	return 0;
}

/* More bytes into the buffer: 0, or -1 at the end or on an error. */
static int
fill(struct client *c)
{
	ssize_t n;

	if (c->off == c->have)
		c->off = c->have = 0;
	if (c->have == sizeof c->buf) {
		memmove(c->buf, c->buf + c->off, c->have - c->off);
		c->have -= c->off;
		c->off = 0;
	}
	do
		n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	return 0;
}

/* One CRLF-terminated line (without it) into out: 0 or -1. */
static int
read_line(struct client *c, char *out, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->have - c->off);

		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->off));

			if (n && nl[-1] == '\r')
				n--;
			if (n >= size)
				n = size - 1;
			memcpy(out, c->buf + c->off, n);
			out[n] = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			return 0;
		}
		if (fill(c) != 0)
			return -1;
	}
}

/* Consume n body bytes; the first "data:" seen sets *first (ms since t0;
 * a marker split across two reads is missed, and then the last byte
 * counts instead, which only makes the proxy look slower). */
static int
consume(struct client *c, size_t n, double t0, double *first)
{
	while (n > 0) {
		size_t take;

		if (c->off == c->have && fill(c) != 0)
			return -1;
		take = c->have - c->off < n ? c->have - c->off : n;
		if (*first < 0 && memmem(c->buf + c->off, take, "data:", 5))
			*first = now_ms() - t0;
		c->off += take;
		n -= take;
	}
	return 0;
}

static int
send_all(struct client *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request and its whole answer; records its times. */
static int
one_request(struct client *c, const char *req, size_t req_len)
{
	char line[1024];
	double t0, first = -1;
	long status;
	long long length = -1;
	bool chunked = false, closing = false;

	if (c->fd < 0 && connect_to(c) != 0)
		return -1;
	t0 = now_ms();
	if (send_all(c, req, req_len) != 0) {
		/* the server closed an idle keep-alive connection: once more */
		if (connect_to(c) != 0 || send_all(c, req, req_len) != 0)
			return fail(c, "send");
	}
	if (read_line(c, line, sizeof line) != 0 && (connect_to(c) != 0 ||
	    send_all(c, req, req_len) != 0 || read_line(c, line, sizeof line) != 0))
		return fail(c, "no status line");
	if (sscanf(line, "HTTP/1.%*d %ld", &status) != 1)
		return fail(c, "bad status line");
	for (;;) {
		if (read_line(c, line, sizeof line) != 0)
			return fail(c, "headers cut");
		if (!line[0])
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			length = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line, "chunked"))
			chunked = true;
		else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close"))
			closing = true;
	}
	if (chunked) {
		for (;;) {
			long long size;

			if (read_line(c, line, sizeof line) != 0)
				return fail(c, "chunk size cut");
			size = strtoll(line, NULL, 16);
			if (size < 0)
				return fail(c, "bad chunk size");
			if (size == 0) {
				do
					if (read_line(c, line, sizeof line) != 0)
						return fail(c, "trailer cut");
				while (line[0]);
				break;
			}
			if (consume(c, (size_t)size, t0, &first) != 0 ||
			    read_line(c, line, sizeof line) != 0)
				return fail(c, "chunk cut");
		}
	} else if (length >= 0) {
		if (consume(c, (size_t)length, t0, &first) != 0)
			return fail(c, "body cut");
	} else {
		while (consume(c, 1, t0, &first) == 0)
			;
		closing = true;
	}
	if (status != 200) {
		snprintf(line, sizeof line, "status %ld", status);
		return fail(c, line);
	}
	c->total_ms[c->done] = now_ms() - t0;
	c->first_ms[c->done] = first >= 0 && c->cf->stream ? first : c->total_ms[c->done];
	c->done++;
	if (closing) {
		close(c->fd);
		c->fd = -1;
	}
	return 0;
}

static void *
run_client(void *arg)
{
	struct client *c = arg;
	const char *body = c->cf->stream ? BODY_STREAM : BODY_WHOLE;
	char req[2048];
	int n = snprintf(req, sizeof req, "POST /v1/chat/completions HTTP/1.1\r\n"
	    "Host: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", c->cf->host, c->token, strlen(body), body);
	long i;

	if (n < 0 || (size_t)n >= sizeof req) {
		fail(c, "token too long");
		return NULL;
	}
	for (i = 0; i < c->cf->requests && !c->failed; i++)
		one_request(c, req, (size_t)n);
	if (c->fd >= 0)
		close(c->fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
quantile(double *v, long n, double q)
{
	long i = (long)(q * (double)n);

	return v[i >= n ? n - 1 : i];
}

static long
arg_long(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "llm-load: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct conf cf;
	struct client *cs;
	char *list, *tok, *save = NULL;
	pthread_t th[MAX_CLIENTS];
	double *total, *first;
	long clients, i, n = 0;
	unsigned port;
	int status = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: llm-load URL TOKENS STREAM CLIENTS REQUESTS\n");
		return 2;
	}
	memset(&cf, 0, sizeof cf);
	if (sscanf(argv[1], "http://%63[0-9.]:%u", cf.host, &port) != 2 || port > 65535 ||
	    inet_pton(AF_INET, cf.host, &cf.addr.sin_addr) != 1) {
		fprintf(stderr, "llm-load: URL must be http://IPv4:PORT\n");
		return 2;
	}
	cf.addr.sin_family = AF_INET;
	cf.addr.sin_port = htons((uint16_t)port);
	if (!(list = strdup(argv[2]))) {
		fprintf(stderr, "llm-load: out of memory\n");
		return 2;
	}
	for (tok = strtok_r(list, ",", &save); tok && cf.ntokens < MAX_CLIENTS;
	    tok = strtok_r(NULL, ",", &save))
		cf.tokens[cf.ntokens++] = tok;
	if (cf.ntokens == 0) {
		fprintf(stderr, "llm-load: no token\n");
		return 2;
	}
	cf.stream = arg_long(argv[3], 0, 1) == 1;
	clients = arg_long(argv[4], 1, MAX_CLIENTS);
	cf.requests = arg_long(argv[5], 1, 1000000);
	cs = calloc((size_t)clients, sizeof *cs);
	total = calloc((size_t)(clients * cf.requests), sizeof *total);
	first = calloc((size_t)(clients * cf.requests), sizeof *first);
	if (!cs || !total || !first) {
		fprintf(stderr, "llm-load: out of memory\n");
		return 2;
	}
	for (i = 0; i < clients; i++) {
		cs[i].cf = &cf;
		cs[i].token = cf.tokens[i % cf.ntokens];
		cs[i].fd = -1;
		cs[i].total_ms = total + i * cf.requests;
		cs[i].first_ms = first + i * cf.requests;
	}
	for (i = 0; i < clients; i++)
		if (pthread_create(&th[i], NULL, run_client, &cs[i]) != 0) {
			fprintf(stderr, "llm-load: cannot start a client\n");
			return 2;
		}
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < clients; i++) {
		if (cs[i].failed) {
			fprintf(stderr, "llm-load: client %ld: %s\n", i, cs[i].why);
			status = 1;
		}
		/* pack the measured requests together */
		memmove(total + n, cs[i].total_ms, (size_t)cs[i].done * sizeof *total);
		memmove(first + n, cs[i].first_ms, (size_t)cs[i].done * sizeof *first);
		n += cs[i].done;
	}
	if (n == 0) {
		fprintf(stderr, "llm-load: no request succeeded\n");
		return 1;
	}
	qsort(total, (size_t)n, sizeof *total, cmp_double);
	qsort(first, (size_t)n, sizeof *first, cmp_double);
	printf("%ld %.3f %.3f %.3f %.3f\n", n, quantile(total, n, 0.5), quantile(total, n, 0.99),
	    quantile(first, n, 0.5), quantile(first, n, 0.99));
	free(cs);
	free(total);
	free(first);
	free(list);
	return status;
}
