/*
 * proc.h - child processes: detached background programs, and supervised
 * children with a minimal environment, resource limits and a timeout.
 *
 * DETACHED (vg_proc_spawn_detached): the program runs on after the caller
 * is gone, and the caller never waits for it.  A double fork: the middle
 * child calls setsid (so the program has its own session, and no
 * controlling terminal it could re-acquire), forks the program and exits;
 * the caller reaps the middle child at once.  The program starts with
 * stdin from /dev/null, stdout and stderr appended to a log file, no other
 * file descriptor (a FastCGI program's listening socket is fd 0 and must
 * never leak into a child), default signal dispositions and an empty
 * signal mask.
 *
 * SUPERVISED (vg_proc_start ... vg_proc_wait, or vg_proc_run for both):
 * the child gets its own session and process group (a timeout kills the
 * whole group, grandchildren included, with SIGKILL), stdin from
 * /dev/null, stdout to /dev/null, captured (its first bytes) or handed to
 * the caller as a stream, and stderr captured: its last VG_PROC_TAIL_MAX
 * bytes are kept for error messages.  The same fd and signal hygiene as
 * above.
 *
 * Both report a program that could not be started (not found, not
 * executable, a working directory that cannot be entered) as VG_ERR_IO
 * before returning, through a close-on-exec pipe: the pipe closes without
 * a word when execve succeeds, and carries errno when it fails.
 *
 * PROGRAMS are named by argv[0]: a name with a '/' is used as it is,
 * otherwise it is looked up in the PATH of envp (or, when envp has none,
 * of the calling process), before forking.
 *
 * A timeout is reported as VG_ERR_UNAVAILABLE with status->timed_out set
 * (the error table has no timeout of its own; "try again later" is what a
 * timeout means to a client).
 */
#ifndef VG_CORE_PROC_H
#define VG_CORE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

#define VG_PROC_TAIL_MAX 4096      /* bytes of stderr kept */
#define VG_PROC_CAPTURE_MAX 4096   /* bytes of stdout kept with VG_PROC_STDOUT_CAPTURE */

/* Pass as log_path of vg_proc_spawn_detached: the program writes to the
 * caller's own stderr (its fd 2), for callers that have no log file. */
#define VG_PROC_LOG_INHERIT ""

/*
 * Start argv (argv[0] the program, NULL-terminated) detached, with the
 * environment envp (NULL-terminated; NULL for an empty one).  stdout and
 * stderr are appended to log_path (created 0600 when missing), go to
 * /dev/null when log_path is NULL, or to the caller's stderr with
 * VG_PROC_LOG_INHERIT.  *pid (may be NULL) gets the program's pid, which
 * is not the caller's child: it cannot be waited for.
 * Returns VG_OK once the program is running (its execve succeeded),
 * VG_ERR_IO when it could not be started (fork failed, program missing or
 * not executable, log file cannot be opened), VG_ERR_INVALID for an empty
 * argv.  Never waits for the program itself.
 */
enum vg_err vg_proc_spawn_detached(char *const argv[], char *const envp[],
    const char *log_path, pid_t *pid);

/* Resource limits of a supervised child; 0 leaves a limit as inherited.
 * Each is set as both the soft and the hard limit. */
struct vg_proc_limits {
	int64_t as_bytes;       /* RLIMIT_AS: address space */
	int64_t cpu_seconds;    /* RLIMIT_CPU */
	int64_t nofile;         /* RLIMIT_NOFILE */
	int64_t fsize_bytes;    /* RLIMIT_FSIZE: largest file it may write */
};

enum vg_proc_stdout {
	VG_PROC_STDOUT_NULL,      /* to /dev/null */
	VG_PROC_STDOUT_CAPTURE,   /* first VG_PROC_CAPTURE_MAX bytes kept, the rest dropped */
	VG_PROC_STDOUT_PIPE       /* the caller reads it with vg_proc_read */
};

/* What to run.  Everything is borrowed for the duration of the call. */
struct vg_proc_opts {
	char *const *argv;            /* argv[0]: the program */
	char *const *envp;            /* NULL: an empty environment */
	const char *cwd;              /* NULL: the caller's */
	struct vg_proc_limits limits;
	int64_t timeout_ms;           /* wall clock from the start; 0: none */
	enum vg_proc_stdout out;
};

/* How a supervised child ended. */
struct vg_proc_status {
	bool exited;                  /* exited normally: exit_code is valid */
	int exit_code;                /* 0..255, or -1 */
	int signal;                   /* the signal that killed it, or 0 */
	bool timed_out;               /* killed by the timeout */
	char err_tail[VG_PROC_TAIL_MAX + 1];   /* last bytes of stderr, NUL-terminated */
	size_t err_len;
	bool err_truncated;           /* earlier stderr bytes were dropped */
	char out[VG_PROC_CAPTURE_MAX + 1];     /* VG_PROC_STDOUT_CAPTURE: first bytes */
	size_t out_len;
};

struct vg_proc;   /* a running supervised child */

/*
 * Start a supervised child as o says.  *out is freed with vg_proc_free
 * (after vg_proc_wait, or instead of it to kill the child).  Returns
 * VG_ERR_IO when the program could not be started (nothing is left
 * running then), VG_ERR_INVALID for an empty argv, VG_ERR_NOMEM.
 */
enum vg_err vg_proc_start(const struct vg_proc_opts *o, struct vg_proc **out);

/*
 * Read up to cap bytes of the child's stdout (VG_PROC_STDOUT_PIPE) into
 * buf; *got is 0 only at its end.  stderr is collected meanwhile, so the
 * child never blocks on a full stderr pipe.  Past the timeout the child's
 * process group is killed and VG_ERR_UNAVAILABLE returned (timed_out is
 * then set in the status vg_proc_wait gives).  VG_ERR_INVALID without a
 * stdout pipe, VG_ERR_IO when reading fails.
 */
enum vg_err vg_proc_read(struct vg_proc *p, void *buf, size_t cap, size_t *got);

/*
 * Let the child finish: read (and drop) whatever stdout the caller left
 * unread, collect stderr, reap the child, all within the timeout, and
 * fill *st.  Returns VG_OK when the child ended on its own (whatever its
 * exit status: see st), VG_ERR_UNAVAILABLE when the timeout killed it.
 * Call at most once.
 */
enum vg_err vg_proc_wait(struct vg_proc *p, struct vg_proc_status *st);

/* Kill the child's process group if it has not been reaped yet, reap it,
 * close everything and free p.  NULL is accepted. */
void vg_proc_free(struct vg_proc *p);

/*
 * vg_proc_start, then vg_proc_wait, then vg_proc_free: run a child to its
 * end.  With VG_PROC_STDOUT_PIPE the output is dropped.  *st is filled
 * whenever the child was started.  Returns as those do.
 */
enum vg_err vg_proc_run(const struct vg_proc_opts *o, struct vg_proc_status *st);

/*
 * Whether st says the child exited with status 0 (no signal, no timeout).
 */
bool vg_proc_succeeded(const struct vg_proc_status *st);

#endif
