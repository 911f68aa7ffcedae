/* serve.c - the main loop: libfcgi's accept loop, or one plain CGI request. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include "core/log.h"
#include "core/settings.h"
#include "http/http_int.h"

/* ---- FastCGI transport: one FCGX_Request ---- */

static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *r = ctx;

	return FCGX_GetParam(name, r->envp);
}

static ssize_t
fcgi_read(void *ctx, void *buf, size_t n)
{
	FCGX_Request *r = ctx;
	int want = n > (size_t)(1 << 30) ? 1 << 30 : (int)n;
	int got = FCGX_GetStr(buf, want, r->in);

	if (got == 0 && FCGX_GetError(r->in) != 0)
		return -1;
	return got;
}

/*
 * libfcgi writes stdout in records of its 8 KiB buffer, one write() each.
 * A large piece (a findings page is about 86 KiB) goes out instead in
 * records of up to 65,535 bytes, the protocol's largest, written straight
 * to the connection after what the buffer held: a tenth of the system
 * calls here and of the reads in the web server.
 */
#define DIRECT_MIN ((size_t)16 << 10)
#define RECORD_MAX ((size_t)65535)

/* Write all of iov[0..cnt) to fd: 0, or -1 (the client is gone). */
static int
write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* n bytes of stdout as FCGI_STDOUT records straight to r's connection,
 * after flushing libfcgi's buffer so the order holds. */
static int
fcgi_write_records(FCGX_Request *r, const char *p, size_t n)
{
	if (FCGX_FFlush(r->out) != 0)
		return -1;
	while (n > 0) {
		size_t c = n > RECORD_MAX ? RECORD_MAX : n;
		unsigned char head[8] = {FCGI_VERSION_1, FCGI_STDOUT,
		    (unsigned char)(r->requestId >> 8), (unsigned char)r->requestId,
		    (unsigned char)(c >> 8), (unsigned char)c, 0, 0};
		struct iovec iov[2] = {{head, sizeof head}, {(void *)p, c}};

		if (write_all(r->ipcFd, iov, 2) != 0)
			return -1;
		p += c;
		n -= c;
	}
	return 0;
}

static int
fcgi_write(void *ctx, const void *buf, size_t n)
{
	FCGX_Request *r = ctx;

	if (n >= DIRECT_MIN)
		return fcgi_write_records(r, buf, n);
	while (n > 0) {
		int chunk = n > (size_t)(1 << 30) ? 1 << 30 : (int)n;

		if (FCGX_PutStr(buf, chunk, r->out) != chunk)
			return -1;
		buf = (const char *)buf + chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static int
fcgi_flush(void *ctx)
{
	FCGX_Request *r = ctx;

	return FCGX_FFlush(r->out) == 0 ? 0 : -1;
}

/* The end of stdout and stderr: the second close sends END_REQUEST.  The
 * streams and parameters stay allocated until FCGX_Finish_r, whose own
 * closes then find them closed already. */
static int
fcgi_finish(void *ctx)
{
	FCGX_Request *r = ctx;
	int err = FCGX_FClose(r->err);

	err |= FCGX_FClose(r->out);
	return err == 0 ? 0 : -1;
}

/* ---- plain CGI transport: environ, stdin, stdout ---- */

static const char *
cgi_param(void *ctx, const char *name)
{
	return getenv(name);
}

static ssize_t
cgi_read(void *ctx, void *buf, size_t n)
{
	size_t got = fread(buf, 1, n, stdin);

	if (got == 0 && ferror(stdin))
		return -1;
	return (ssize_t)got;
}

static int
cgi_write(void *ctx, const void *buf, size_t n)
{
	return fwrite(buf, 1, n, stdout) == n ? 0 : -1;
}

static int
cgi_flush(void *ctx)
{
	return fflush(stdout) == 0 ? 0 : -1;
}

/*
 * SIGTERM (spawn-fcgi's supervisor, mod_fcgid retiring an idle process,
 * systemd): between requests the process leaves at once; during one it
 * finishes the request first, so no client sees a cut answer.
 */
static volatile sig_atomic_t in_request, stop_after_request;

static void
on_term(int sig)
{
	if (!in_request)
		_exit(0);
	stop_after_request = 1;
}

/*
 * The accept loop.  Each request gets a fresh request object in
 * vg_http_handle; the FCGX_Request is only the connection.
 */
static int
serve_fcgi(const struct vg_program *p)
{
	FCGX_Request r;
	struct vg_http_io io = {
		.ctx = &r, .param = fcgi_param, .read = fcgi_read,
		.write = fcgi_write, .flush = fcgi_flush, .finish = fcgi_finish,
		.bounded = true,
	};

	struct sigaction sa;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		vg_log(VG_LOG_ERROR, "fcgi_init_failed", NULL);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESTART;   /* a request in flight keeps its reads */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	while (FCGX_Accept_r(&r) >= 0) {
		in_request = 1;
		vg_http_handle(p, &io);
		FCGX_Finish_r(&r);
		in_request = 0;
		if (stop_after_request)
			break;
	}
	FCGX_Free(&r, 1);
	return 0;
}

static int
serve_cgi(const struct vg_program *p)
{
	struct vg_http_io io = {
		.ctx = NULL, .param = cgi_param, .read = cgi_read,
		.write = cgi_write, .flush = cgi_flush, .bounded = false,
	};
	enum vg_err err = vg_http_handle(p, &io);

	if (fflush(stdout) != 0)
		err = VG_ERR_IO;
	return err == VG_OK ? 0 : 1;
}

int
vg_http_serve(const struct vg_program *p)
{
	enum vg_err err;
	int status;

	vg_settings_load_or_exit(p->role);
	vg_log_init(p->role);
	/* a client that hangs up must cost a write error, not the process */
	signal(SIGPIPE, SIG_IGN);
	if (p->init && (err = p->init()) != VG_OK) {
		vg_log(VG_LOG_ERROR, "init_failed", "error", vg_err_code(err), NULL);
		return err == VG_ERR_INVALID ? 2 : 1;
	}
	status = FCGX_IsCGI() ? serve_cgi(p) : serve_fcgi(p);
	vg_http_health_reset();
	return status;
}
