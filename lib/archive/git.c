/* git.c - snapshots from git repositories (see git.h). */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive/git.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define ENV_VALUE_MAX 4096
#define STDERR_SHOWN 600      /* bytes of git's stderr quoted in a message */
#define GIT_ARGV_MAX 48

/* ---- URL policy ---- */

/* Characters allowed unescaped in user information, the path and the
 * query of an accepted URL: RFC 3986's unreserved and sub-delims, and
 * ':' '@' '/' '?' (and '%' for escapes, checked apart). */
static bool
url_char_ok(int c)
{
	return isalnum(c) || strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Check s[0..n) against url_char_ok and the %-escape rules; a reason or
 * NULL. */
static const char *
check_chars(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!url_char_ok(c))
			return "the URL holds a character that must be %-escaped";
		if (c == '%') {
			int hi, lo, v;

			if (i + 2 >= n)
				return "the URL holds a broken %-escape";
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return "the URL holds a broken %-escape";
			v = hi * 16 + lo;
			if (v < 0x20 || v == 0x7f)
				return "the URL holds an escaped control character";
			i += 2;
		}
	}
	return NULL;
}

/* The host[:port] part of an https:// or ssh:// URL; a reason or NULL. */
static const char *
check_hostport(const char *s, size_t n)
{
	size_t i = 0, hostlen;

	if (n == 0)
		return "the URL has no host";
	if (s[0] == '-' || s[0] == '.')
		return "the URL's host starts with '-' or '.'";
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return "the URL's host is not a valid IPv6 address";
		if (i >= n || i == 1)
			return "the URL's host is not a valid IPv6 address";
		hostlen = ++i;
	} else {
		for (i = 0; i < n && s[i] != ':'; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
				return "the URL's host holds a character a host name cannot have";
		hostlen = i;
	}
	if (hostlen == 0)
		return "the URL has no host";
	if (hostlen == n)
		return NULL;
	if (s[hostlen] != ':' || hostlen + 1 == n || n - hostlen - 1 > 5)
		return "the URL's port is not a number from 1 to 65535";
	{
		char port[8];
		int64_t v;

		memcpy(port, s + hostlen + 1, n - hostlen - 1);
		port[n - hostlen - 1] = '\0';
		if (vg_str_to_i64(port, 1, 65535, &v) != VG_OK)
			return "the URL's port is not a number from 1 to 65535";
	}
	return NULL;
}

/* An https:// or ssh:// URL after its "scheme://"; a reason or NULL. */
static const char *
check_remote(const char *rest, bool ssh)
{
	const char *slash = strchr(rest, '/'), *at = NULL, *p, *why;
	size_t alen;

	if (!slash || !slash[1])
		return "the URL names no repository path";
	alen = (size_t)(slash - rest);
	for (p = rest; p < slash; p++)
		if (*p == '@')
			at = p;
	if (at) {
		if (at == rest)
			return "the URL's user name is empty";
		if (rest[0] == '-')
			return "the URL's user name starts with '-'";
		if (ssh && memchr(rest, ':', (size_t)(at - rest)))
			return "an ssh:// URL cannot carry a password";
		if ((why = check_chars(rest, (size_t)(at - rest))) != NULL)
			return why;
		if (memchr(rest, '/', (size_t)(at - rest)) || memchr(rest, '?', (size_t)(at - rest)))
			return "the URL's user information holds a character that must be %-escaped";
		if ((why = check_hostport(at + 1, (size_t)(slash - at - 1))) != NULL)
			return why;
	} else if ((why = check_hostport(rest, alen)) != NULL) {
		return why;
	}
	return check_chars(slash, strlen(slash));
}

enum vg_err
vg_git_url_check(const char *url, const char **reason)
{
	const char *why = NULL, *sep, *p;
	size_t len;

	if (reason)
		*reason = NULL;
	if (!url || !*url) {
		why = "the URL is empty";
		goto out;
	}
	len = strlen(url);
	if (len > VG_STORE_GIT_URL_MAX) {
		why = "the URL is longer than 2048 bytes";
		goto out;
	}
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			why = "the URL holds spaces, control characters or non-ASCII bytes";
			goto out;
		}
	if (url[0] == '-') {
		why = "the URL starts with '-'";
		goto out;
	}
	sep = strstr(url, "://");
	if (strstr(url, "::") && (!sep || strstr(url, "::") < sep)) {
		why = "transport helpers (\"name::address\", such as ext::) are refused";
		goto out;
	}
	if (!sep) {
		const char *colon = strchr(url, ':'), *slash = strchr(url, '/');

		if (colon && (!slash || colon < slash))
			why = "the scp-like form host:path is not accepted; write ssh://user@host/path";
		else
			why = "local paths are refused; use an https:// or ssh:// URL";
		goto out;
	}
	if (vg_str_has_prefix(url, "https://")) {
		why = check_remote(url + 8, false);
	} else if (vg_str_has_prefix(url, "ssh://")) {
		why = check_remote(url + 6, true);
	} else if (vg_str_has_prefix(url, "file://")) {
		if (!vg_cfg_bool(VG_SET_ALLOW_FILE_GIT_URLS))
			why = "file:// URLs are refused (VEGA_ALLOW_FILE_GIT_URLS is off)";
		else if (url[7] != '/' || !url[8])
			why = "a file:// URL must name an absolute path (file:///path)";
		else
			why = check_chars(url + 7, len - 7);
	} else if (vg_str_has_prefix(url, "http://") || vg_str_has_prefix(url, "git://")) {
		why = "unencrypted transports (http://, git://) are refused; use https:// or ssh://";
	} else {
		why = "only https:// and ssh:// URLs are accepted";
	}
out:
	if (reason)
		*reason = why;
	return why ? VG_ERR_INVALID : VG_OK;
}

/* ---- refs ---- */

/* One component of a ref name; a reason or NULL. */
static const char *
check_component(const char *s, size_t n)
{
	if (n == 0)
		return "the ref has an empty component (\"//\", or a leading or trailing '/')";
	if (s[0] == '.')
		return "a ref component cannot start with '.'";
	if (n >= 5 && memcmp(s + n - 5, ".lock", 5) == 0)
		return "a ref component cannot end in \".lock\"";
	return NULL;
}

enum vg_err
vg_git_ref_check(const char *ref, const char **reason)
{
	const char *why = NULL, *p, *start;
	size_t len;

	if (reason)
		*reason = NULL;
	if (!ref || !*ref)
		goto out;   /* HEAD */
	len = strlen(ref);
	if (len > VG_STORE_GIT_REF_MAX) {
		why = "the ref is longer than 256 bytes";
		goto out;
	}
	if (ref[0] == '-' || ref[0] == '+') {
		why = "the ref starts with '-' or '+'";
		goto out;
	}
	if (strcmp(ref, "@") == 0) {
		why = "the ref cannot be \"@\"";
		goto out;
	}
	for (p = ref; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c >= 0x80 || strchr(" ~^:?*[\\", c)) {
			why = "the ref holds a character ref names cannot have "
			    "(space, control, non-ASCII, ~ ^ : ? * [ \\)";
			goto out;
		}
	}
	if (strstr(ref, "..")) {
		why = "the ref cannot hold \"..\"";
		goto out;
	}
	if (strstr(ref, "@{")) {
		why = "the ref cannot hold \"@{\"";
		goto out;
	}
	if (ref[len - 1] == '.') {
		why = "the ref cannot end in '.'";
		goto out;
	}
	for (start = ref; ; ) {
		const char *slash = strchr(start, '/');
		size_t n = slash ? (size_t)(slash - start) : strlen(start);

		if ((why = check_component(start, n)) != NULL)
			goto out;
		if (!slash)
			break;
		start = slash + 1;
	}
out:
	if (reason)
		*reason = why;
	return why ? VG_ERR_INVALID : VG_OK;
}

/* ---- redaction ---- */

struct outbuf {
	char *p;
	size_t cap, len;
};

static void
out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	if (n > o->cap - 1 - o->len)
		n = o->cap - 1 - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Where the word holding a URL ends: at white space, a quote or an
 * angle bracket. */
static bool
word_end(char c)
{
	return c == '\0' || isspace((unsigned char)c) || strchr("\"'`<>", c) != NULL;
}

void
vg_git_redact(const char *text, char *out, size_t outlen)
{
	struct outbuf o = {out, outlen, 0};
	const char *p = text ? text : "";

	if (outlen == 0)
		return;
	out[0] = '\0';
	while (*p) {
		const char *sep = strstr(p, "://"), *q, *at = NULL;

		if (!sep) {
			out_add(&o, p, strlen(p));
			break;
		}
		out_add(&o, p, (size_t)(sep - p) + 3);
		p = sep + 3;
		for (q = p; !word_end(*q); q++)
			if (*q == '@')
				at = q;
		if (at) {
			out_add(&o, "***@", 4);
			p = at + 1;
		}
	}
}

/* ---- running git ---- */

struct git_run {
	char dir[PATH_MAX];         /* $VEGA_DATA_DIR/tmp/git-XXXXXX */
	char repo[PATH_MAX];        /* dir/repo: the bare repository */
	char gitdir_arg[PATH_MAX + 16];
	char path_env[ENV_VALUE_MAX];
	char home_env[PATH_MAX + 8];
	char *envp[8];
	const char *program;
	bool allow_file;
	int64_t deadline_us;        /* monotonic */
	int64_t fsize;
	char url_shown[VG_STORE_GIT_URL_MAX + 1];   /* redacted */
	const char *ref_shown;
};

/* The settings every git command gets before its subcommand. */
static const char *const git_config[] = {
	"core.hooksPath=/dev/null",
	"protocol.allow=never",
	"protocol.https.allow=always",
	"protocol.ssh.allow=always",
	"submodule.recurse=false",
	"fetch.recurseSubmodules=false",
	"credential.helper=",
	"core.fsmonitor=false",
	"gc.auto=0",
	"maintenance.auto=false",
	"transfer.bundleURI=false",
};

/* What the tree's own .gitattributes may not do to the archive. */
static const char neutral_attributes[] =
    "* -export-ignore -export-subst -ident -text -eol -filter -working-tree-encoding\n";

/*
 * Build argv: the program, the -c settings, --git-dir (unless without_gitdir),
 * then args (NULL-terminated).  argv must hold GIT_ARGV_MAX pointers.
 */
static enum vg_err
build_argv(struct git_run *g, bool with_gitdir, const char *const *args, char **argv)
{
	size_t n = 0, i;

	argv[n++] = (char *)g->program;
	for (i = 0; i < sizeof git_config / sizeof git_config[0]; i++) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)git_config[i];
	}
	if (g->allow_file) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)"protocol.file.allow=always";
	}
	if (with_gitdir)
		argv[n++] = g->gitdir_arg;
	for (i = 0; args[i]; i++) {
		if (n + 1 >= GIT_ARGV_MAX)
			return VG_ERR_INTERNAL;
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	return VG_OK;
}

/* Milliseconds left before the fetch's deadline (at least 1, so that a
 * spent budget still runs into the child's timeout rather than none). */
static int64_t
ms_left(const struct git_run *g)
{
	int64_t left = (g->deadline_us - vg_time_mono_us()) / 1000;

	return left > 0 ? left : 1;
}

static void
fill_opts(struct git_run *g, char **argv, enum vg_proc_stdout out, struct vg_proc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->argv = argv;
	o->envp = g->envp;
	o->cwd = g->dir;
	o->limits.fsize_bytes = g->fsize;
	o->timeout_ms = ms_left(g);
	o->out = out;
}

/* Run one git command to its end; st filled. */
static enum vg_err
run_git(struct git_run *g, bool with_gitdir, const char *const *args,
    enum vg_proc_stdout out, struct vg_proc_status *st)
{
	char *argv[GIT_ARGV_MAX];
	struct vg_proc_opts o;
	enum vg_err err;

	memset(st, 0, sizeof *st);
	if ((err = build_argv(g, with_gitdir, args, argv)) != VG_OK)
		return err;
	fill_opts(g, argv, out, &o);
	return vg_proc_run(&o, st);
}

/* ---- results ---- */

void
vg_git_result_clear(struct vg_git_result *res)
{
	vg_archive_result_clear(&res->archive);
	memset(res, 0, sizeof *res);
}

/*
 * The last STDERR_SHOWN bytes of git's stderr, redacted, on one line:
 * line breaks become "; ", other control bytes and non-ASCII bytes '?'
 * (the message ends up in JSON and must be UTF-8).
 */
static void
stderr_excerpt(const struct vg_proc_status *st, char *out, size_t outlen)
{
	char red[VG_PROC_TAIL_MAX + 64], line[VG_PROC_TAIL_MAX * 2 + 64];
	struct outbuf o;
	const char *s;
	size_t i, n = 0, len;

	vg_git_redact(st->err_tail, red, sizeof red);
	len = strlen(red);
	s = red + (len > STDERR_SHOWN ? len - STDERR_SHOWN : 0);
	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	for (i = 0; s[i] && n + 3 < sizeof line; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			if (s[i + 1] && s[i + 1] != '\n' && n > 0 && line[n - 1] != ' ') {
				line[n++] = ';';
				line[n++] = ' ';
			}
		} else if (c == '\r' || c == '\t') {
			line[n++] = ' ';
		} else {
			line[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
		}
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == ';'))
		n--;
	o.p = out;
	o.cap = outlen;
	o.len = 0;
	if (outlen)
		out[0] = '\0';
	if (len > STDERR_SHOWN)
		out_add(&o, "...", 3);
	out_add(&o, line, n);
}

/* Record a failure: code, and a message "<what> (<url>, ref <ref>)[: <git's stderr>]". */
static void
fail(struct git_run *g, struct vg_git_result *res, const char *code, const char *what,
    const struct vg_proc_status *st)
{
	char tail[STDERR_SHOWN + 16];
	struct outbuf o = {res->message, sizeof res->message, 0};

	tail[0] = '\0';
	if (st && st->err_len > 0)
		stderr_excerpt(st, tail, sizeof tail);
	vg_str_copy(res->code, sizeof res->code, code);
	res->message[0] = '\0';
	out_add(&o, what, strlen(what));
	out_add(&o, " (", 2);
	out_add(&o, g->url_shown, strlen(g->url_shown));
	out_add(&o, ", ref ", 6);
	out_add(&o, g->ref_shown, strlen(g->ref_shown));
	out_add(&o, ")", 1);
	if (tail[0]) {
		out_add(&o, ": ", 2);
		out_add(&o, tail, strlen(tail));
	}
	vg_log(VG_LOG_WARN, "git_fetch_failed", "code", code, "url", g->url_shown,
	    "ref", g->ref_shown, "message", res->message, NULL);
}

/* Map a finished git command that did not succeed; returns the error. */
static enum vg_err
fail_step(struct git_run *g, struct vg_git_result *res, enum vg_err err,
    const struct vg_proc_status *st, const char *step)
{
	char what[160];

	if (err == VG_ERR_IO) {
		snprintf(what, sizeof what, "the git program \"%s\" could not be started",
		    g->program);
		fail(g, res, "git_unavailable", what, NULL);
		return VG_ERR_UNAVAILABLE;
	}
	if (st->timed_out) {
		snprintf(what, sizeof what, "git %s did not finish within %lld seconds", step,
		    (long long)vg_cfg_int(VG_SET_GIT_TIMEOUT_SECONDS));
		fail(g, res, "git_timeout", what, st);
		return VG_ERR_UNAVAILABLE;
	}
	if (err != VG_OK && err != VG_ERR_UNAVAILABLE) {
		fail(g, res, "internal", "git could not be run", NULL);
		return err;
	}
	if (st->signal == SIGXFSZ) {
		fail(g, res, "source_too_large",
		    "the fetched repository is larger than VEGA_MAX_SOURCE_BYTES", NULL);
		return VG_ERR_TOO_LARGE;
	}
	if (strstr(st->err_tail, "couldn't find remote ref") ||
	    strstr(st->err_tail, "not our ref") ||
	    strstr(st->err_tail, "unadvertised object") ||
	    strstr(st->err_tail, "no such remote ref")) {
		fail(g, res, "git_ref_not_found", "the repository has no such branch, tag or commit",
		    st);
		return VG_ERR_NOT_FOUND;
	}
	if (st->signal)
		snprintf(what, sizeof what, "git %s was killed by signal %d", step, st->signal);
	else
		snprintf(what, sizeof what, "git %s failed with status %d", step, st->exit_code);
	fail(g, res, "git_fetch_failed", what, st);
	return VG_ERR_UNAVAILABLE;
}

/* ---- set-up ---- */

static enum vg_err
setup(struct git_run *g, const struct vg_archive_limits *lim)
{
	const char *path = getenv("PATH");
	char base[PATH_MAX];
	int n;

	g->program = vg_cfg_str(VG_SET_GIT_PROGRAM);
	if (!g->program || !*g->program)
		g->program = "git";
	g->allow_file = vg_cfg_bool(VG_SET_ALLOW_FILE_GIT_URLS);
	g->deadline_us = vg_time_mono_us() + vg_cfg_int(VG_SET_GIT_TIMEOUT_SECONDS) * 1000000;
	g->fsize = lim->source_bytes > 0 ? lim->source_bytes : 0;

	n = snprintf(base, sizeof base, "%s/tmp", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof base || vg_fs_mkdir_p(base, 0700) != VG_OK)
		return VG_ERR_IO;
	n = snprintf(g->dir, sizeof g->dir, "%s/git-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof g->dir)
		return VG_ERR_IO;
	if (!mkdtemp(g->dir)) {
		vg_log(VG_LOG_ERROR, "git_tmp_failed", "dir", base, "error", strerror(errno), NULL);
		g->dir[0] = '\0';
		return VG_ERR_IO;
	}
	n = snprintf(g->repo, sizeof g->repo, "%s/repo", g->dir);
	if (n < 0 || (size_t)n >= sizeof g->repo)
		return VG_ERR_IO;
	snprintf(g->gitdir_arg, sizeof g->gitdir_arg, "--git-dir=%s", g->repo);

	if (!path || !*path || strlen(path) + 6 > sizeof g->path_env)
		path = DEFAULT_PATH;
	snprintf(g->path_env, sizeof g->path_env, "PATH=%s", path);
	snprintf(g->home_env, sizeof g->home_env, "HOME=%s", g->dir);
	g->envp[0] = g->path_env;
	g->envp[1] = g->home_env;
	g->envp[2] = (char *)"LANG=C";
	g->envp[3] = (char *)"GIT_TERMINAL_PROMPT=0";
	g->envp[4] = (char *)"GIT_CONFIG_NOSYSTEM=1";
	g->envp[5] = (char *)"GIT_CONFIG_GLOBAL=/dev/null";
	g->envp[6] = NULL;
	return VG_OK;
}

/* repo/info/attributes, which outranks the tree's own .gitattributes. */
static enum vg_err
write_attributes(struct git_run *g)
{
	char path[PATH_MAX + 32];
	int fd, n;
	enum vg_err err;

	n = snprintf(path, sizeof path, "%s/info", g->repo);
	if (n < 0 || (size_t)n >= sizeof path || vg_fs_mkdir_p(path, 0700) != VG_OK)
		return VG_ERR_IO;
	snprintf(path, sizeof path, "%s/info/attributes", g->repo);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return VG_ERR_IO;
	err = vg_fs_write_all(fd, neutral_attributes, sizeof neutral_attributes - 1);
	if (close(fd) != 0 && err == VG_OK)
		err = VG_ERR_IO;
	return err;
}

static bool
is_commit_id(const char *s, size_t n)
{
	size_t i;

	if (n != 40 && n != 64)
		return false;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* git archive's stdout as the ingest's input; remembers a failed read,
 * to tell git's failures from the ingest's own. */
struct git_stream {
	struct vg_proc *p;
	enum vg_err err;
};

static enum vg_err
stream_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct git_stream *s = ctx;

	s->err = vg_proc_read(s->p, buf, cap, got);
	return s->err;
}

/*
 * git archive FETCH_HEAD, streamed into vg_archive_ingest.  A refusal
 * of the tree, or a storage failure, kills git at once; a stream that
 * failed or ended early is blamed on git when git failed.
 */
static enum vg_err
archive_step(struct git_run *g, struct vg_blob *blob, const struct vg_archive_limits *lim,
    struct vg_git_result *res)
{
	static const char *const args[] = {"archive", "--format=tar", "FETCH_HEAD", NULL};
	char *argv[GIT_ARGV_MAX];
	char what[VG_ARCHIVE_SHOWN_PATH_MAX + 128];
	struct vg_proc_status st;
	struct vg_proc_opts o;
	struct vg_proc *p = NULL;
	struct git_stream stream;
	enum vg_err err, werr;

	memset(&st, 0, sizeof st);
	if ((err = build_argv(g, true, args, argv)) != VG_OK)
		goto out;
	fill_opts(g, argv, VG_PROC_STDOUT_PIPE, &o);
	o.limits.fsize_bytes = 0;   /* it writes to a pipe; the ingest counts */
	if ((err = vg_proc_start(&o, &p)) != VG_OK) {
		err = fail_step(g, res, err, &st, "archive");
		goto out;
	}
	stream.p = p;
	stream.err = VG_OK;
	err = vg_archive_ingest(blob, stream_read, &stream, lim, &res->archive);
	if (err == VG_OK || stream.err != VG_OK || strcmp(res->archive.reason, "truncated") == 0 ||
	    strcmp(res->archive.reason, "corrupt") == 0) {
		/* Drain the padding after the tar, or learn why the stream broke. */
		werr = vg_proc_wait(p, &st);
		if (!vg_proc_succeeded(&st)) {
			/* (A failed wait is git's failure here, not a failed start.) */
			err = fail_step(g, res, werr == VG_ERR_IO ? VG_OK : werr, &st, "archive");
			goto out;
		}
	}
	if (err == VG_ERR_INVALID_ARCHIVE || err == VG_ERR_TOO_LARGE) {
		const char *reason = res->archive.reason[0] ? res->archive.reason : "source_too_large";

		if (res->archive.path[0])
			snprintf(what, sizeof what, "the repository's tree was refused: %s at \"%s\"",
			    reason, res->archive.path);
		else
			snprintf(what, sizeof what, "the repository's tree was refused: %s", reason);
		fail(g, res, reason, what, NULL);
	} else if (err != VG_OK) {
		fail(g, res, "internal", "the snapshot could not be stored", NULL);
	}
out:
	vg_proc_free(p);
	return err;
}

enum vg_err
vg_git_fetch(struct vg_blob *blob, const char *url, const char *ref,
    const struct vg_archive_limits *lim, struct vg_git_result *res)
{
	struct git_run *g = NULL;
	struct vg_archive_limits deflim;
	struct vg_proc_status *st = NULL;
	const char *why = NULL;
	const char *fetch_args[] = {"fetch", "--quiet", "--depth", "1", "--no-tags",
	    "--no-recurse-submodules", "--", url, (ref && *ref) ? ref : "HEAD", NULL};
	const char *init_args[] = {"init", "--quiet", "--bare", "--template=", NULL, NULL};
	static const char *const revparse_args[] = {"rev-parse", "--verify", "--quiet",
	    "FETCH_HEAD^{commit}", NULL};
	char what[256];
	size_t n;
	enum vg_err err;

	memset(res, 0, sizeof *res);
	if (!lim) {
		vg_archive_limits_from_settings(&deflim);
		lim = &deflim;
	}
	if (!(g = calloc(1, sizeof *g)) || !(st = calloc(1, sizeof *st))) {
		err = VG_ERR_NOMEM;
		vg_str_copy(res->code, sizeof res->code, "internal");
		vg_str_copy(res->message, sizeof res->message, "out of memory");
		goto out;
	}
	vg_git_redact(url ? url : "", g->url_shown, sizeof g->url_shown);
	g->ref_shown = (ref && *ref) ? ref : "HEAD";
	if (vg_git_url_check(url, &why) != VG_OK) {
		/* The URL is not shown: a refused one may not even parse well
		 * enough to redact. */
		vg_str_copy(res->code, sizeof res->code, "git_url_refused");
		snprintf(res->message, sizeof res->message, "the git URL was refused: %s", why);
		err = VG_ERR_INVALID;
		goto out;
	}
	if (vg_git_ref_check(ref, &why) != VG_OK) {
		g->ref_shown = "(refused)";
		vg_str_copy(res->code, sizeof res->code, "git_ref_invalid");
		snprintf(res->message, sizeof res->message, "the git ref was refused: %s", why);
		err = VG_ERR_INVALID;
		goto out;
	}
	if ((err = setup(g, lim)) != VG_OK) {
		fail(g, res, "internal", "no private temporary directory could be made", NULL);
		goto out;
	}

	init_args[4] = g->repo;
	err = run_git(g, false, init_args, VG_PROC_STDOUT_NULL, st);
	if (err != VG_OK || !vg_proc_succeeded(st)) {
		err = fail_step(g, res, err, st, "init");
		goto out;
	}
	if ((err = write_attributes(g)) != VG_OK) {
		fail(g, res, "internal", "the private repository could not be prepared", NULL);
		goto out;
	}
	err = run_git(g, true, fetch_args, VG_PROC_STDOUT_NULL, st);
	if (err != VG_OK || !vg_proc_succeeded(st)) {
		err = fail_step(g, res, err, st, "fetch");
		goto out;
	}
	err = run_git(g, true, revparse_args, VG_PROC_STDOUT_CAPTURE, st);
	if (err != VG_OK || !vg_proc_succeeded(st)) {
		err = fail_step(g, res, err, st, "rev-parse");
		goto out;
	}
	n = strcspn(st->out, "\r\n");
	if (!is_commit_id(st->out, n)) {
		snprintf(what, sizeof what, "git rev-parse gave no commit id");
		fail(g, res, "git_fetch_failed", what, st);
		err = VG_ERR_UNAVAILABLE;
		goto out;
	}
	memcpy(res->commit, st->out, n);
	res->commit[n] = '\0';
	if ((err = archive_step(g, blob, lim, res)) != VG_OK)
		goto out;
	vg_log(VG_LOG_INFO, "git_fetched", "url", g->url_shown, "ref", g->ref_shown,
	    "commit", res->commit, "digest", res->archive.digest, NULL);
out:
	if (g && g->dir[0] && vg_fs_remove_tree(g->dir) != VG_OK)
		vg_log(VG_LOG_WARN, "git_tmp_left", "dir", g->dir, NULL);
	if (err != VG_OK)
		res->commit[0] = '\0';
	free(st);
	free(g);
	return err;
}
