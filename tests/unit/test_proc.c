/*
 * test_proc.c - lib/core/proc: detached and supervised children.
 *
 * The children are mostly this program itself, run again with
 * "--child MODE ...", so what a child sees (its descriptors, session,
 * signal state, limits, environment) is reported exactly.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include "core/fsutil.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "vt.h"

extern char **environ;

static char self[PATH_MAX];   /* this program, to run as a child */
static char root[] = "/tmp/vega-proc.XXXXXX";

/* ---- the child side ---- */

/* The open descriptors, "0,1,2", without the one listing them. */
static void
list_fds(char *out, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[256], n = 0, i, j, me;
	size_t off = 0;

	out[0] = '\0';
	if (!d)
		return;
	me = dirfd(d);
	while ((de = readdir(d)) != NULL && n < 256) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || v == me)
			continue;
		fds[n++] = (int)v;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%d", i ? "," : "", fds[i]);
}

/* Everything a child can tell about its start, one "key=value" per line. */
static void
child_report(FILE *f)
{
	char fds[512], fd0[256];
	struct sigaction sa;
	struct rlimit rl;
	sigset_t mask;
	int sig, ignored = 0, blocked = 0;
	ssize_t n;

	list_fds(fds, sizeof fds);
	n = readlink("/proc/self/fd/0", fd0, sizeof fd0 - 1);
	fd0[n > 0 ? n : 0] = '\0';
	for (sig = 1; sig < 32; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			ignored++;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (sig = 1; sig < 32; sig++)
		if (sigismember(&mask, sig) == 1)
			blocked++;
	fprintf(f, "fds=%s\nfd0=%s\npid=%ld\nsid=%ld\npgid=%ld\nignored=%d\nblocked=%d\n",
	    fds, fd0, (long)getpid(), (long)getsid(0), (long)getpgid(0), ignored, blocked);
	getrlimit(RLIMIT_NOFILE, &rl);
	fprintf(f, "nofile=%lld\n", (long long)rl.rlim_cur);
	getrlimit(RLIMIT_FSIZE, &rl);
	fprintf(f, "fsize=%lld\n", rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur);
	fflush(f);
}

/*
 *   --child report                   report on stdout
 *   --child detached FILE SECONDS    report into FILE, sleep, write FILE.done
 *   --child env                      print the environment
 *   --child noisy BYTES              BYTES of 'e' on stderr, then "done" on stdout
 */
static int
child_main(int argc, char **argv)
{
	const char *mode = argv[2];

	if (strcmp(mode, "report") == 0) {
		child_report(stdout);
		return 0;
	}
	if (strcmp(mode, "detached") == 0 && argc >= 5) {
		char done[PATH_MAX + 8], *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len), *f;

		/* Gathered before the report file is opened, which would be fd 3. */
		if (!m)
			return 1;
		child_report(m);
		fclose(m);
		if (!(f = fopen(argv[3], "w")))
			return 1;
		fwrite(text, 1, len, f);
		fclose(f);
		free(text);
		printf("child stdout\n");
		fprintf(stderr, "child stderr\n");
		fflush(NULL);
		sleep((unsigned)strtol(argv[4], NULL, 10));
		snprintf(done, sizeof done, "%s.done", argv[3]);
		f = fopen(done, "w");
		if (f)
			fclose(f);
		return 0;
	}
	if (strcmp(mode, "env") == 0) {
		char **e;

		for (e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (strcmp(mode, "noisy") == 0 && argc >= 4) {
		long i, n = strtol(argv[3], NULL, 10);

		for (i = 0; i < n; i++)
			fputc(i == n - 1 ? 'Z' : 'e', stderr);
		fflush(stderr);
		printf("done\n");
		return 0;
	}
	return 2;
}

/* ---- helpers ---- */

/* Out of line: the compiler would otherwise warn that a 4 KiB capture
 * may not fit vt.h's message. */
__attribute__((noinline)) static const char *
out_of(const struct vg_proc_status *st)
{
	return st->out;
}

__attribute__((noinline)) static const char *
err_of(const struct vg_proc_status *st)
{
	return st->err_tail;
}

/* The value of "key=" in a report, or "". */
static const char *
field(const char *report, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof pat, "%s=", key);
	out[0] = '\0';
	for (p = report; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, pat, strlen(pat)) == 0) {
			p += strlen(pat);
			n = strcspn(p, "\n");
			if (n >= len)
				n = len - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			break;
		}
	return out;
}

static long
field_long(const char *report, const char *key)
{
	char v[64];

	return strtol(field(report, key, v, sizeof v), NULL, 10);
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static size_t
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, len - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return n;
}

/* Wait up to ms for path to appear. */
static bool
wait_for(const char *path, int ms)
{
	struct timespec ts = {0, 10 * 1000000L};
	int i;

	for (i = 0; i < ms / 10; i++) {
		if (exists(path))
			return true;
		nanosleep(&ts, NULL);
	}
	return exists(path);
}

/* Whether pid is gone (or a zombie) within ms. */
static bool
gone(pid_t pid, int ms)
{
	struct timespec ts = {0, 10 * 1000000L};
	char path[64], buf[512], *p;
	int i;

	for (i = 0; i <= ms / 10; i++) {
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
		if (read_file(path, buf, sizeof buf) == 0)
			return true;
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* ---- supervised children ---- */

struct run_case {
	const char *name;
	const char *script;      /* sh -c */
	int exit_code;
	const char *out;         /* captured stdout */
	const char *err;         /* stderr tail */
};

static void
test_run_table(void)
{
	static const struct run_case cases[] = {
		{"exit 0 with output", "echo hello", 0, "hello\n", ""},
		{"exit status kept", "echo out; echo err >&2; exit 3", 3, "out\n", "err\n"},
		{"stderr only", "echo 'fatal: no' >&2; exit 128", 128, "", "fatal: no\n"},
		{"empty", "true", 0, "", ""},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = {(char *)"sh", (char *)"-c", (char *)cases[i].script, NULL};
		char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
		struct vg_proc_opts o = {argv, envp, NULL, {0, 0, 0, 0}, 10000,
		    VG_PROC_STDOUT_CAPTURE};
		struct vg_proc_status st;

		VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, cases[i].name);
		VT_OK(st.exited && !st.timed_out && st.signal == 0, cases[i].name);
		VT_EQ_INT(st.exit_code, cases[i].exit_code, cases[i].name);
		VT_EQ_STR(out_of(&st), cases[i].out, cases[i].name);
		VT_EQ_STR(err_of(&st), cases[i].err, cases[i].name);
		VT_EQ_INT(vg_proc_succeeded(&st), cases[i].exit_code == 0, cases[i].name);
	}
}

static void
test_start_failures(void)
{
	char noexec[PATH_MAX];
	char *missing[] = {(char *)"/nonexistent/program", NULL};
	char *unknown[] = {(char *)"vega-no-such-program-here", NULL};
	char *plain[] = {noexec, NULL};
	char *sh[] = {(char *)"sh", (char *)"-c", (char *)"true", NULL};
	char *empty[] = {NULL};
	struct vg_proc_opts o;
	struct vg_proc_status st;
	pid_t pid = 0;
	FILE *f;

	snprintf(noexec, sizeof noexec, "%s/not-executable", root);
	f = fopen(noexec, "w");
	if (f) {
		fputs("#!/bin/sh\necho hi\n", f);
		fclose(f);
	}
	memset(&o, 0, sizeof o);
	o.timeout_ms = 5000;
	o.argv = missing;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_IO, "a missing program: VG_ERR_IO");
	o.argv = unknown;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_IO, "a name not in PATH: VG_ERR_IO");
	o.argv = plain;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_IO, "a file that is not executable: VG_ERR_IO");
	o.argv = sh;
	o.cwd = "/nonexistent/dir";
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_IO, "a working directory that is missing: VG_ERR_IO");
	o.cwd = NULL;
	o.argv = empty;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_INVALID, "an empty argv: VG_ERR_INVALID");

	VT_EQ_INT(vg_proc_spawn_detached(missing, NULL, NULL, &pid), VG_ERR_IO,
	    "detached: a missing program is VG_ERR_IO");
	VT_EQ_INT(pid, -1, "detached: no pid for it");
	VT_EQ_INT(vg_proc_spawn_detached(plain, NULL, NULL, &pid), VG_ERR_IO,
	    "detached: a file that is not executable is VG_ERR_IO");
	VT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1, "no child left to reap after the failures");
}

static void
test_environment_and_cwd(void)
{
	char *argv[] = {self, (char *)"--child", (char *)"env", NULL};
	char *envp[] = {(char *)"ONLY=this", (char *)"AND=that", NULL};
	char *pwd[] = {(char *)"/bin/pwd", NULL};
	struct vg_proc_opts o;
	struct vg_proc_status st;

	setenv("VEGA_PROC_TEST_LEAK", "leaked", 1);
	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.envp = envp;
	o.timeout_ms = 10000;
	o.out = VG_PROC_STDOUT_CAPTURE;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, "env child runs");
	VT_EQ_STR(out_of(&st), "ONLY=this\nAND=that\n", "the child sees exactly envp");
	o.envp = NULL;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, "env child runs with no environment");
	VT_EQ_STR(out_of(&st), "", "NULL envp: an empty environment, nothing of ours");

	o.argv = pwd;
	o.cwd = root;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, "pwd runs");
	VT_OK(strncmp(st.out, root, strlen(root)) == 0 && strcmp(st.out + strlen(root), "\n") == 0,
	    "the child starts in cwd");
	unsetenv("VEGA_PROC_TEST_LEAK");
}

/* Whether this test runs under valgrind, whose setrlimit refuses to
 * change RLIMIT_NOFILE's hard limit (the forked child runs under it
 * until execve). */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload") != NULL;
}

static void
test_hygiene_and_limits(void)
{
	char *argv[] = {self, (char *)"--child", (char *)"report", NULL};
	struct vg_proc_opts o;
	struct vg_proc_status st;
	struct sigaction ign, old_term, old_pipe;
	sigset_t block, old_mask;
	char v[256];
	int leak = open("/dev/null", O_RDONLY);   /* no close-on-exec: could leak */

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &ign, &old_term);
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.timeout_ms = 10000;
	o.out = VG_PROC_STDOUT_CAPTURE;
	o.limits.nofile = under_valgrind() ? 0 : 64;
	o.limits.fsize_bytes = 1048576;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, "report child runs");
	VT_EQ_STR(field(st.out, "fds", v, sizeof v), "0,1,2", "only 0, 1 and 2 are open in the child");
	VT_EQ_STR(field(st.out, "fd0", v, sizeof v), "/dev/null", "stdin is /dev/null");
	VT_EQ_INT(field_long(st.out, "ignored"), 0, "no signal ignored in the child");
	VT_EQ_INT(field_long(st.out, "blocked"), 0, "empty signal mask in the child");
	if (under_valgrind())
		printf("ok %d - # SKIP RLIMIT_NOFILE under valgrind\n", ++vt_count);
	else
		VT_EQ_INT(field_long(st.out, "nofile"), 64, "RLIMIT_NOFILE applied");
	VT_EQ_INT(field_long(st.out, "fsize"), 1048576, "RLIMIT_FSIZE applied");
	VT_EQ_INT(field_long(st.out, "sid"), field_long(st.out, "pid"), "its own session");
	VT_EQ_INT(field_long(st.out, "pgid"), field_long(st.out, "pid"), "its own process group");

	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	close(leak);
}

static void
test_timeout(void)
{
	char pidfile[PATH_MAX], script[PATH_MAX * 2], buf[64];
	char *argv[] = {(char *)"sh", (char *)"-c", script, NULL};
	char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	struct vg_proc_opts o;
	struct vg_proc_status st;
	int64_t t0;
	pid_t bg;

	snprintf(pidfile, sizeof pidfile, "%s/bg.pid", root);
	/* A grandchild in the background, the shell waiting for it. */
	snprintf(script, sizeof script, "sleep 30 & echo $! > %s; echo started; wait", pidfile);
	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.envp = envp;
	o.timeout_ms = 400;
	o.out = VG_PROC_STDOUT_CAPTURE;
	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_proc_run(&o, &st), VG_ERR_UNAVAILABLE, "a child past its timeout: UNAVAILABLE");
	VT_OK(st.timed_out, "timed_out is set");
	VT_EQ_INT(st.signal, SIGKILL, "killed with SIGKILL");
	VT_OK(!vg_proc_succeeded(&st), "not a success");
	VT_OK(vg_time_mono_us() - t0 < 5000000, "returned soon after the timeout, not after 30 s");
	VT_EQ_STR(out_of(&st), "started\n", "output before the timeout is kept");
	read_file(pidfile, buf, sizeof buf);
	bg = (pid_t)strtol(buf, NULL, 10);
	VT_OK(bg > 0 && gone(bg, 3000), "the grandchild in the same group was killed too");
}

static void
test_stream(void)
{
	char script[] = "head -c 3000000 /dev/zero; echo tail >&2";
	char *argv[] = {(char *)"sh", (char *)"-c", script, NULL};
	char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	char *slow_argv[] = {(char *)"sh", (char *)"-c", (char *)"echo first; sleep 30", NULL};
	char *noisy[] = {self, (char *)"--child", (char *)"noisy", (char *)"200000", NULL};
	struct vg_proc_opts o;
	struct vg_proc_status st;
	struct vg_proc *p = NULL;
	char buf[65536];
	size_t got, total = 0;
	enum vg_err err;
	int64_t t0;

	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.envp = envp;
	o.timeout_ms = 20000;
	o.out = VG_PROC_STDOUT_PIPE;
	VT_EQ_INT(vg_proc_start(&o, &p), VG_OK, "streaming child starts");
	while ((err = vg_proc_read(p, buf, sizeof buf, &got)) == VG_OK && got > 0)
		total += got;
	VT_EQ_INT(err, VG_OK, "stream read to its end");
	VT_EQ_INT(total, 3000000, "every byte of stdout streamed");
	VT_EQ_INT(vg_proc_wait(p, &st), VG_OK, "wait after the stream");
	VT_OK(vg_proc_succeeded(&st), "the streaming child succeeded");
	VT_EQ_STR(err_of(&st), "tail\n", "stderr collected while streaming");
	vg_proc_free(p);
	p = NULL;

	/* The caller stops reading early: wait drains the rest. */
	VT_EQ_INT(vg_proc_start(&o, &p), VG_OK, "second streaming child starts");
	VT_EQ_INT(vg_proc_read(p, buf, 100, &got), VG_OK, "a first read");
	VT_EQ_INT(vg_proc_wait(p, &st), VG_OK, "wait drains the unread stdout");
	VT_OK(vg_proc_succeeded(&st), "the child finished normally (no SIGPIPE)");
	vg_proc_free(p);
	p = NULL;

	/* A timeout while the caller streams. */
	o.argv = slow_argv;
	o.timeout_ms = 300;
	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_proc_start(&o, &p), VG_OK, "slow child starts");
	VT_EQ_INT(vg_proc_read(p, buf, sizeof buf, &got), VG_OK, "its first line arrives");
	VT_EQ_INT(got, 6, "\"first\\n\"");
	VT_EQ_INT(vg_proc_read(p, buf, sizeof buf, &got), VG_ERR_UNAVAILABLE,
	    "the next read runs into the timeout");
	VT_EQ_INT(vg_proc_wait(p, &st), VG_ERR_UNAVAILABLE, "wait reports the timeout");
	VT_OK(st.timed_out && st.signal == SIGKILL, "killed by the timeout");
	VT_OK(vg_time_mono_us() - t0 < 5000000, "well before the child's 30 s");
	vg_proc_free(p);
	p = NULL;

	/* Much stderr and a little stdout: no dead lock, the tail is the end. */
	o.argv = noisy;
	o.envp = NULL;
	o.timeout_ms = 20000;
	o.out = VG_PROC_STDOUT_CAPTURE;
	VT_EQ_INT(vg_proc_run(&o, &st), VG_OK, "noisy child runs");
	VT_EQ_STR(out_of(&st), "done\n", "its stdout");
	VT_EQ_INT(st.err_len, VG_PROC_TAIL_MAX, "stderr tail is VG_PROC_TAIL_MAX bytes");
	VT_OK(st.err_truncated, "earlier stderr dropped");
	VT_OK(st.err_len > 0 && st.err_tail[st.err_len - 1] == 'Z', "the tail ends with the last byte");

	/* vg_proc_free kills a child still running. */
	o.argv = slow_argv;
	o.envp = envp;
	o.timeout_ms = 0;
	o.out = VG_PROC_STDOUT_PIPE;
	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_proc_start(&o, &p), VG_OK, "child without timeout starts");
	vg_proc_free(p);
	VT_OK(vg_time_mono_us() - t0 < 5000000, "free kills it instead of waiting 30 s");
	VT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1, "and reaps it");
}

/* ---- detached ---- */

static void
test_detached(void)
{
	char report[PATH_MAX], done[PATH_MAX + 8], logp[PATH_MAX], text[4096], v[256];
	char *argv[] = {self, (char *)"--child", (char *)"detached", report, (char *)"2", NULL};
	char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	struct sigaction ign, old_term;
	int sock, saved0, leak, one = 1;
	struct sockaddr_in sin;
	int64_t t0, took;
	pid_t pid = -1;
	FILE *f;

	snprintf(report, sizeof report, "%s/detached.report", root);
	snprintf(done, sizeof done, "%s.done", report);
	snprintf(logp, sizeof logp, "%s/detached.log", root);
	f = fopen(logp, "w");
	if (f) {
		fputs("earlier line\n", f);
		fclose(f);
	}

	/* Make this process look like a FastCGI program: a listening socket
	 * on fd 0, another descriptor without close-on-exec, SIGTERM ignored,
	 * SIGUSR1 blocked. */
	sock = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(sock, (struct sockaddr *)&sin, sizeof sin);
	listen(sock, 4);
	saved0 = dup(0);
	dup2(sock, 0);
	close(sock);
	leak = open("/dev/null", O_RDONLY);
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &ign, &old_term);

	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_proc_spawn_detached(argv, envp, logp, &pid), VG_OK, "detached spawn");
	took = vg_time_mono_us() - t0;

	dup2(saved0, 0);
	close(saved0);
	close(leak);
	sigaction(SIGTERM, &old_term, NULL);

	VT_OK(took < 1500000, "returns at once while the child sleeps 2 s");
	VT_OK(pid > 0, "the program's pid is given");
	VT_OK(pid > 0 && kill(pid, 0) == 0, "the program is running");
	VT_OK(!exists(done), "and has not finished");
	VT_EQ_INT(waitpid(pid, NULL, WNOHANG), -1, "it is not our child (nothing to wait for)");
	VT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1, "the middle child was reaped already");

	VT_OK(wait_for(report, 5000), "the program wrote its report");
	wait_for(done, 0);
	read_file(report, text, sizeof text);
	VT_EQ_STR(field(text, "fds", v, sizeof v), "0,1,2",
	    "detached: no inherited descriptor but 0, 1, 2");
	VT_EQ_STR(field(text, "fd0", v, sizeof v), "/dev/null",
	    "detached: stdin is /dev/null, not the listening socket");
	VT_EQ_INT(field_long(text, "pid"), pid, "the pid reported is the program's");
	VT_OK(field_long(text, "sid") != (long)getsid(0), "detached: another session than ours");
	VT_OK(field_long(text, "sid") != field_long(text, "pid"),
	    "detached: not a session leader (cannot get a terminal back)");
	VT_EQ_INT(field_long(text, "ignored"), 0, "detached: default signal dispositions");
	VT_EQ_INT(field_long(text, "blocked"), 0, "detached: empty signal mask");

	VT_OK(wait_for(done, 6000), "the program ran to its end on its own");
	read_file(logp, text, sizeof text);
	VT_OK(strncmp(text, "earlier line\n", 13) == 0, "the log is appended to, not truncated");
	VT_OK(strstr(text, "child stdout\n") != NULL, "the program's stdout is in the log");
	VT_OK(strstr(text, "child stderr\n") != NULL, "the program's stderr is in the log");

	/* No log: /dev/null, still fine. */
	unlink(report);
	unlink(done);
	argv[4] = (char *)"0";
	VT_EQ_INT(vg_proc_spawn_detached(argv, envp, NULL, &pid), VG_OK, "detached without a log");
	VT_OK(wait_for(done, 5000), "runs without a log");
	VT_EQ_INT(vg_proc_spawn_detached(argv, envp, "/nonexistent/dir/log", &pid), VG_ERR_IO,
	    "a log that cannot be opened: VG_ERR_IO");
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	if (!realpath(argv[0], self) || !mkdtemp(root))
		return 1;
	test_run_table();
	test_start_failures();
	test_environment_and_cwd();
	test_hygiene_and_limits();
	test_timeout();
	test_stream();
	test_detached();
	vg_fs_remove_tree(root);
	return vt_done();
}
