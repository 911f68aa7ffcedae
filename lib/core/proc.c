/* proc.c - detached and supervised child processes (see proc.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/proc.h"
#include "core/str.h"
#include "core/timeutil.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define CHILD_REPORT_FD 3   /* where the close-on-exec pipe sits in the child */

/* One message on the report pipe: fixed size, far below PIPE_BUF, so
 * writes from the middle child and the program never interleave. */
struct report_msg {
	int kind;    /* MSG_PID or MSG_ERRNO */
	int value;
};
#define MSG_PID 1
#define MSG_ERRNO 2

struct vg_proc {
	pid_t pid;
	int out_fd, err_fd;
	enum vg_proc_stdout mode;
	int64_t deadline_us;        /* monotonic; 0: none */
	bool reaped, timed_out;
	int wstatus;
	bool wstatus_known;
	char tail[VG_PROC_TAIL_MAX];
	size_t tail_len;
	bool tail_truncated;
	char cap[VG_PROC_CAPTURE_MAX];
	size_t cap_len;
};

/* ---- before forking ---- */

/*
 * The path to execute for argv0: as it is when it holds a '/', else the
 * first executable regular file of that name in the PATH of envp (or of
 * this process).  When none is found the name is kept, and execve's
 * ENOENT reports it.
 */
static void
resolve_program(const char *argv0, char *const envp[], char *out, size_t outlen)
{
	const char *path = NULL, *p;
	size_t i;

	if (strchr(argv0, '/') || !*argv0)
		goto asis;
	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0) {
			path = envp[i] + 5;
			break;
		}
	if (!path)
		path = getenv("PATH");
	if (!path || !*path)
		path = DEFAULT_PATH;
	for (p = path; ; ) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		struct stat st;
		int n;

		if (dlen > 0) {
			n = snprintf(out, outlen, "%.*s/%s", (int)dlen, p, argv0);
			if (n > 0 && (size_t)n < outlen && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(out, X_OK) == 0)
				return;
		}
		if (!end)
			break;
		p = end + 1;
	}
asis:
	if (vg_str_copy(out, outlen, argv0) != VG_OK)
		out[0] = '\0';
}

/* Block every signal, so a forked child runs none of the caller's
 * handlers before it resets them; *old gets the mask to restore. */
static void
block_all(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

/* ---- in the child (async-signal-safe calls only) ---- */

static void
report(int fd, int kind, int value)
{
	struct report_msg m;
	ssize_t w;

	m.kind = kind;
	m.value = value;
	do
		w = write(fd, &m, sizeof m);
	while (w < 0 && errno == EINTR);
}

static void
close_from(int lowfd)
{
	struct rlimit rl;
	long max, fd;

#ifdef __linux__
	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	max = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 1048576) ? (long)rl.rlim_cur : 1048576;
	for (fd = lowfd; fd < max; fd++)
		close((int)fd);
}

static int
set_limit(int resource, int64_t v)
{
	struct rlimit rl;

	if (v <= 0)
		return 0;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	return setrlimit(resource, &rl);
}

/*
 * Become the program: fds in0/out1/err2 on 0/1/2, the report pipe on fd 3
 * (close-on-exec), nothing else open; default signal dispositions, the
 * limits, cwd, an empty signal mask; execve.  On any failure errno goes
 * down the report pipe and the child exits 127.  Never returns.
 */
__attribute__((noreturn)) static void
child_exec(const char *path, char *const argv[], char *const envp[], int in0, int out1,
    int err2, int rep, const char *cwd, const struct vg_proc_limits *lim)
{
	static char *const empty_env[] = {NULL};
	struct sigaction sa;
	sigset_t none;
	int src[4], hi[4], i, sig;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);   /* fails harmlessly for KILL, STOP, and glibc's own */

	/* First lift every source above 3, so placing one on 0..3 can never
	 * overwrite another still to be placed. */
	src[0] = in0;
	src[1] = out1;
	src[2] = err2;
	src[3] = rep;
	for (i = 0; i < 4; i++)
		if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 4)) < 0)
			goto fail_early;
	rep = hi[3];
	for (i = 0; i < 3; i++)
		if (dup2(hi[i], i) < 0)   /* dup2 clears close-on-exec on 0..2 */
			goto fail;
	if (dup3(hi[3], CHILD_REPORT_FD, O_CLOEXEC) < 0)
		goto fail;
	rep = CHILD_REPORT_FD;
	close_from(CHILD_REPORT_FD + 1);

	if (lim && (set_limit(RLIMIT_AS, lim->as_bytes) < 0 ||
	    set_limit(RLIMIT_CPU, lim->cpu_seconds) < 0 ||
	    set_limit(RLIMIT_NOFILE, lim->nofile) < 0 ||
	    set_limit(RLIMIT_FSIZE, lim->fsize_bytes) < 0))
		goto fail;
	if (cwd && chdir(cwd) < 0)
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp ? envp : empty_env);
fail:
	report(rep, MSG_ERRNO, errno);
	_exit(127);
fail_early:
	report(src[3], MSG_ERRNO, errno);
	_exit(127);
}

/* ---- report pipe, parent side ---- */

/*
 * Read messages from fd until every writer closed it: the pid (when
 * pid_out is not NULL and one came) and an errno, if the program failed
 * to start (*child_errno, 0 when it started).
 */
static void
read_reports(int fd, pid_t *pid_out, int *child_errno)
{
	struct report_msg m;
	size_t have = 0;
	ssize_t r;

	*child_errno = 0;
	for (;;) {
		r = read(fd, (char *)&m + have, sizeof m - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have < sizeof m)
			continue;
		have = 0;
		if (m.kind == MSG_PID && pid_out)
			*pid_out = (pid_t)m.value;
		else if (m.kind == MSG_ERRNO)
			*child_errno = m.value ? m.value : EIO;
	}
}

static int
open_devnull(void)
{
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* ---- detached ---- */

enum vg_err
vg_proc_spawn_detached(char *const argv[], char *const envp[], const char *log_path,
    pid_t *pid)
{
	char path[PATH_MAX];
	sigset_t old;
	pid_t mid, gpid = -1;
	int rep[2] = {-1, -1}, devnull = -1, logfd = -1, child_errno = 0, status;
	enum vg_err err = VG_ERR_IO;

	if (pid)
		*pid = -1;
	if (!argv || !argv[0] || !argv[0][0])
		return VG_ERR_INVALID;
	resolve_program(argv[0], envp, path, sizeof path);
	if ((devnull = open_devnull()) < 0)
		goto out;
	if (!log_path || (!*log_path && fcntl(STDERR_FILENO, F_GETFD) < 0))
		log_path = NULL;   /* to /dev/null; also when there is no fd 2 to inherit */
	else if (!*log_path)
		logfd = -1;   /* VG_PROC_LOG_INHERIT: fd 2 below */
	else if ((logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600)) < 0)
		goto out;
	if (pipe2(rep, O_CLOEXEC) < 0)
		goto out;

	block_all(&old);
	mid = fork();
	if (mid == 0) {
		int out1 = logfd >= 0 ? logfd : (log_path ? STDERR_FILENO : devnull);
		pid_t g;

		close(rep[0]);
		if (setsid() < 0) {
			report(rep[1], MSG_ERRNO, errno);
			_exit(1);
		}
		g = fork();
		if (g == 0)
			child_exec(path, argv, envp, devnull, out1, out1, rep[1], NULL, NULL);
		if (g < 0)
			report(rep[1], MSG_ERRNO, errno);
		else
			report(rep[1], MSG_PID, (int)g);
		_exit(g < 0 ? 1 : 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (mid < 0)
		goto out;
	close(rep[1]);
	rep[1] = -1;
	read_reports(rep[0], &gpid, &child_errno);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (child_errno != 0 || gpid <= 0) {
		errno = child_errno;
		goto out;
	}
	if (pid)
		*pid = gpid;
	err = VG_OK;
out:
	if (rep[0] >= 0)
		close(rep[0]);
	if (rep[1] >= 0)
		close(rep[1]);
	if (logfd >= 0)
		close(logfd);
	if (devnull >= 0)
		close(devnull);
	return err;
}

/* ---- supervised ---- */

static void
kill_group(struct vg_proc *p)
{
	if (p->reaped || p->pid <= 0)
		return;
	/* The group, and the pid itself in case the child had not called
	 * setsid yet when this ran. */
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
tail_add(struct vg_proc *p, const char *b, size_t n)
{
	if (n >= sizeof p->tail) {
		memcpy(p->tail, b + n - sizeof p->tail, sizeof p->tail);
		p->tail_truncated = p->tail_truncated || p->tail_len > 0 || n > sizeof p->tail;
		p->tail_len = sizeof p->tail;
		return;
	}
	if (p->tail_len + n > sizeof p->tail) {
		size_t drop = p->tail_len + n - sizeof p->tail;

		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
		p->tail_truncated = true;
	}
	memcpy(p->tail + p->tail_len, b, n);
	p->tail_len += n;
}

static void
cap_add(struct vg_proc *p, const char *b, size_t n)
{
	size_t room = sizeof p->cap - p->cap_len;

	if (p->mode != VG_PROC_STDOUT_CAPTURE)
		return;
	if (n > room)
		n = room;
	memcpy(p->cap + p->cap_len, b, n);
	p->cap_len += n;
}

/* Milliseconds left before the deadline for poll(): -1 without one. */
static int
poll_timeout(const struct vg_proc *p)
{
	int64_t left;

	if (!p->deadline_us)
		return -1;
	left = p->deadline_us - vg_time_mono_us();
	if (left <= 0)
		return 0;
	return left / 1000 > INT_MAX ? INT_MAX : (int)((left + 999) / 1000);
}

static bool
past_deadline(const struct vg_proc *p)
{
	return p->deadline_us && vg_time_mono_us() >= p->deadline_us;
}

/*
 * Move data until one of: (buf != NULL) some stdout bytes were read into
 * buf (*got > 0) or stdout ended (*got = 0); (buf == NULL) both pipes
 * ended, stdout being dropped (or captured).  stderr always goes to the
 * tail.  VG_ERR_UNAVAILABLE past the deadline (the group is killed),
 * VG_ERR_IO on a failed poll or read.
 */
static enum vg_err
pump(struct vg_proc *p, void *buf, size_t cap, size_t *got)
{
	char tmp[4096];

	if (got)
		*got = 0;
	for (;;) {
		struct pollfd fds[2];
		nfds_t n = 0;
		int out_i = -1, err_i = -1, r, i;

		if (buf && p->out_fd < 0)
			return VG_OK;
		if (!buf && p->out_fd < 0 && p->err_fd < 0)
			return VG_OK;
		if (p->out_fd >= 0) {
			fds[n].fd = p->out_fd;
			fds[n].events = POLLIN;
			out_i = (int)n++;
		}
		if (p->err_fd >= 0) {
			fds[n].fd = p->err_fd;
			fds[n].events = POLLIN;
			err_i = (int)n++;
		}
		if (past_deadline(p))
			goto timeout;
		r = poll(fds, n, poll_timeout(p));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return VG_ERR_IO;
		}
		if (r == 0)
			continue;   /* the deadline check at the top decides */
		for (i = 0; i < (int)n; i++) {
			ssize_t k;

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i == out_i && buf) {
				k = read(p->out_fd, buf, cap);
				if (k < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (k < 0)
					return VG_ERR_IO;
				if (k == 0)
					close_fd(&p->out_fd);
				*got = (size_t)k;
				return VG_OK;
			}
			k = read(fds[i].fd, tmp, sizeof tmp);
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (k <= 0) {
				close_fd(i == out_i ? &p->out_fd : &p->err_fd);
				continue;
			}
			if (i == err_i)
				tail_add(p, tmp, (size_t)k);
			else
				cap_add(p, tmp, (size_t)k);
		}
	}
timeout:
	p->timed_out = true;
	kill_group(p);
	return VG_ERR_UNAVAILABLE;
}

/* Reap the child, blocking; ECHILD (SIGCHLD ignored) leaves the status
 * unknown. */
static void
reap_blocking(struct vg_proc *p)
{
	pid_t r;

	if (p->reaped)
		return;
	do
		r = waitpid(p->pid, &p->wstatus, 0);
	while (r < 0 && errno == EINTR);
	p->wstatus_known = r == p->pid;
	p->reaped = true;
}

/* Reap the child within the deadline, polling; past it, kill and reap. */
static enum vg_err
reap(struct vg_proc *p)
{
	int64_t nap_us = 1000;

	while (!p->reaped) {
		pid_t r = waitpid(p->pid, &p->wstatus, WNOHANG);
		struct timespec ts;

		if (r == p->pid) {
			p->reaped = p->wstatus_known = true;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			p->reaped = true;   /* ECHILD: reaped by someone else */
			break;
		}
		if (past_deadline(p)) {
			p->timed_out = true;
			kill_group(p);
			reap_blocking(p);
			return VG_ERR_UNAVAILABLE;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)nap_us * 1000;
		nanosleep(&ts, NULL);
		if (nap_us < 50000)
			nap_us *= 2;
	}
	return VG_OK;
}

enum vg_err
vg_proc_start(const struct vg_proc_opts *o, struct vg_proc **out)
{
	struct vg_proc *p = NULL;
	char path[PATH_MAX];
	sigset_t old;
	pid_t pid;
	int rep[2] = {-1, -1}, opipe[2] = {-1, -1}, epipe[2] = {-1, -1};
	int devnull = -1, child_errno = 0;
	enum vg_err err = VG_ERR_IO;

	*out = NULL;
	if (!o || !o->argv || !o->argv[0] || !o->argv[0][0])
		return VG_ERR_INVALID;
	if (!(p = calloc(1, sizeof *p)))
		return VG_ERR_NOMEM;
	p->pid = -1;
	p->out_fd = p->err_fd = -1;
	p->mode = o->out;
	if (o->timeout_ms > 0)
		p->deadline_us = vg_time_mono_us() + o->timeout_ms * 1000;
	resolve_program(o->argv[0], o->envp, path, sizeof path);
	if ((devnull = open_devnull()) < 0 || pipe2(rep, O_CLOEXEC) < 0 ||
	    pipe2(epipe, O_CLOEXEC) < 0)
		goto out;
	if (o->out != VG_PROC_STDOUT_NULL && pipe2(opipe, O_CLOEXEC) < 0)
		goto out;

	block_all(&old);
	pid = fork();
	if (pid == 0) {
		close(rep[0]);
		if (setsid() < 0) {
			report(rep[1], MSG_ERRNO, errno);
			_exit(127);
		}
		child_exec(path, o->argv, o->envp, devnull, opipe[1] >= 0 ? opipe[1] : devnull,
		    epipe[1], rep[1], o->cwd, &o->limits);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto out;
	p->pid = pid;
	close_fd(&rep[1]);
	close_fd(&opipe[1]);
	close_fd(&epipe[1]);
	read_reports(rep[0], NULL, &child_errno);
	if (child_errno != 0) {
		reap_blocking(p);
		errno = child_errno;
		goto out;
	}
	p->out_fd = opipe[0];
	p->err_fd = epipe[0];
	opipe[0] = epipe[0] = -1;
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	if (p->out_fd >= 0)
		fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	*out = p;
	p = NULL;
	err = VG_OK;
out:
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	close_fd(&opipe[0]);
	close_fd(&opipe[1]);
	close_fd(&epipe[0]);
	close_fd(&epipe[1]);
	close_fd(&devnull);
	vg_proc_free(p);
	return err;
}

enum vg_err
vg_proc_read(struct vg_proc *p, void *buf, size_t cap, size_t *got)
{
	*got = 0;
	if (p->mode != VG_PROC_STDOUT_PIPE || !buf || cap == 0)
		return VG_ERR_INVALID;
	if (p->timed_out)
		return VG_ERR_UNAVAILABLE;
	return pump(p, buf, cap, got);
}

enum vg_err
vg_proc_wait(struct vg_proc *p, struct vg_proc_status *st)
{
	enum vg_err err = VG_OK;

	if (!p->timed_out)
		err = pump(p, NULL, 0, NULL);
	if (err == VG_ERR_IO)
		kill_group(p);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	if (p->timed_out)
		reap_blocking(p);
	else if (reap(p) != VG_OK)
		err = VG_ERR_UNAVAILABLE;
	if (p->timed_out)
		err = VG_ERR_UNAVAILABLE;

	memset(st, 0, sizeof *st);
	st->exit_code = -1;
	if (p->wstatus_known && WIFEXITED(p->wstatus)) {
		st->exited = true;
		st->exit_code = WEXITSTATUS(p->wstatus);
	} else if (p->wstatus_known && WIFSIGNALED(p->wstatus)) {
		st->signal = WTERMSIG(p->wstatus);
	}
	st->timed_out = p->timed_out;
	memcpy(st->err_tail, p->tail, p->tail_len);
	st->err_tail[p->tail_len] = '\0';
	st->err_len = p->tail_len;
	st->err_truncated = p->tail_truncated;
	memcpy(st->out, p->cap, p->cap_len);
	st->out[p->cap_len] = '\0';
	st->out_len = p->cap_len;
	return err;
}

void
vg_proc_free(struct vg_proc *p)
{
	if (!p)
		return;
	if (p->pid > 0 && !p->reaped) {
		kill_group(p);
		reap_blocking(p);
	}
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	free(p);
}

enum vg_err
vg_proc_run(const struct vg_proc_opts *o, struct vg_proc_status *st)
{
	struct vg_proc *p = NULL;
	enum vg_err err;

	memset(st, 0, sizeof *st);
	st->exit_code = -1;
	if ((err = vg_proc_start(o, &p)) != VG_OK)
		return err;
	err = vg_proc_wait(p, st);
	vg_proc_free(p);
	return err;
}

bool
vg_proc_succeeded(const struct vg_proc_status *st)
{
	return st->exited && st->exit_code == 0 && !st->timed_out;
}
