/* test_worker.c - lib/domain/worker: configuration, the runner's
 * environment and limits, one iteration against the json store with a
 * fake runner script. */
#include "config.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "core/fsutil.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/dispatch.h"
#include "domain/worker.h"
#include "llm/scantoken.h"
#include "store/store.h"
#include "vt.h"

static char root[] = "/tmp/vega-worker.XXXXXX";
static struct vg_store *s;
static volatile sig_atomic_t stop_flag;

static void
load(void)
{
	char msg[256];

	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("# settings: %s\n", msg);
		exit(1);
	}
}

/* Whether this test runs under valgrind (tests/helpers/valgrind-wrap),
 * whose setrlimit refuses to change RLIMIT_NOFILE's hard limit. */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload") != NULL;
}

/* ---- configuration ---- */
static void
test_config(void)
{
	static const struct {
		const char *exec, *worker;
		enum vg_err want;
		const char *names;
	} cases[] = {
		{"external", "local", VG_OK, NULL},
		{"thread", "local", VG_OK, NULL},
		{"external", "ecs", VG_ERR_INVALID, "VEGA_SCAN_WORKER_EXECUTION_MODE"},
		{"sqs", "local", VG_ERR_INVALID, "VEGA_SCAN_EXECUTION_MODE"},
	};
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv("VEGA_SCAN_EXECUTION_MODE", cases[i].exec, 1);
		setenv("VEGA_SCAN_WORKER_EXECUTION_MODE", cases[i].worker, 1);
		load();
		msg[0] = '\0';
		VT_EQ_INT(vg_worker_check_config(msg, sizeof msg), cases[i].want, cases[i].exec);
		if (cases[i].names)
			VT_OK(strstr(msg, cases[i].names) != NULL, "the message names the setting");
	}
	setenv("VEGA_SCAN_EXECUTION_MODE", "external", 1);
	setenv("VEGA_SCAN_WORKER_EXECUTION_MODE", "local", 1);
	load();
}

/* ---- environment ---- */
static bool
has(char **env, const char *entry)
{
	for (; env && *env; env++)
		if (strcmp(*env, entry) == 0)
			return true;
	return false;
}

static bool
has_prefix(char **env, const char *prefix)
{
	for (; env && *env; env++)
		if (vg_str_has_prefix(*env, prefix))
			return true;
	return false;
}

static void
test_env(void)
{
	struct vg_scan sc;
	char **env = NULL;

	memset(&sc, 0, sizeof sc);
	vg_str_copy(sc.id, sizeof sc.id, "8d3f6f7e-0d7c-4c1e-9a55-5c3f1f2a7b10");
	sc.attempt = 3;
	setenv("VEGA_RUNNER_LEASE_TOKEN", "inherited-must-not-pass", 1);
	setenv("SOME_SECRET_KEY", "nope", 1);
	VT_EQ_INT(vg_dispatch_runner_env(sc.id, sc.attempt, "the-fresh-lease-token-0123456789", &env), VG_OK,
	    "environment built");
	VT_OK(has(env, "VEGA_RUNNER_ATTEMPT=3"), "the attempt");
	VT_OK(has(env, "VEGA_RUNNER_LEASE_TOKEN=the-fresh-lease-token-0123456789"),
	    "the lease the worker claimed");
	VT_OK(!has(env, "VEGA_RUNNER_LEASE_TOKEN=inherited-must-not-pass"),
	    "never a lease of the worker's own environment");
	VT_OK(has_prefix(env, "VEGA_DATA_DIR="), "the settings pass");
	VT_OK(has_prefix(env, "PATH="), "PATH passes");
	VT_OK(!has_prefix(env, "SOME_SECRET_KEY="), "nothing else does");
	vg_dispatch_runner_env_free(env);
	unsetenv("VEGA_RUNNER_LEASE_TOKEN");
	unsetenv("SOME_SECRET_KEY");
}

/* Write a fresh P-256 key pair as PEM files priv and pub; false on failure. */
static bool
write_keypair(const char *priv, const char *pub)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *fp = NULL, *fq = NULL;
	bool ok = false;

	if (!k || !(fp = fopen(priv, "w")) || !(fq = fopen(pub, "w")))
		goto out;
	ok = PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    PEM_write_PUBKEY(fq, k) == 1;
out:
	if (fp)
		fclose(fp);
	if (fq)
		fclose(fq);
	EVP_PKEY_free(k);
	return ok;
}

/* The value of NAME= in env, or NULL. */
static const char *
value_of(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* With a signing key configured, the runner's environment carries a scan
 * token for the claimed attempt (verifiable with the public key) and the
 * proxy's address; without one, neither. */
static void
test_env_token(void)
{
	struct vg_scan sc;
	struct vg_scantoken_key *key = NULL;
	struct vg_scantoken_claims claims;
	char priv[256], pub[256], msg[128], **env = NULL;
	const char *tok;

	memset(&sc, 0, sizeof sc);
	vg_str_copy(sc.id, sizeof sc.id, "3f1c2e8a-1b2c-4d5e-8f90-a1b2c3d4e5f6");
	sc.attempt = 2;
	snprintf(priv, sizeof priv, "%s/llm-sign.pem", root);
	snprintf(pub, sizeof pub, "%s/llm-verify.pem", root);
	VT_OK(write_keypair(priv, pub), "a P-256 key pair");
	setenv("VEGA_LLM_TOKEN_SIGNING_KEY_FILE", priv, 1);
	setenv("VEGA_LLM_PROXY_BASE_URL", "http://127.0.0.1:8001/v1", 1);
	load();
	VT_EQ_INT(vg_dispatch_runner_env(sc.id, sc.attempt, "the-fresh-lease-token-0123456789", &env), VG_OK,
	    "environment with a token");
	tok = value_of(env, "OPENAI_API_KEY");
	VT_OK(tok != NULL, "the token is the runner's API key");
	VT_OK(tok && value_of(env, "VEGA_LLM_SCAN_TOKEN") &&
	    strcmp(tok, value_of(env, "VEGA_LLM_SCAN_TOKEN")) == 0, "and under our own name");
	VT_OK(value_of(env, "OPENAI_BASE_URL") &&
	    strcmp(value_of(env, "OPENAI_BASE_URL"), "http://127.0.0.1:8001/v1") == 0,
	    "the proxy is the runner's base URL");
	VT_EQ_INT(vg_scantoken_key_load(false, pub, &key, msg, sizeof msg), VG_OK, "public key");
	VT_EQ_INT(vg_scantoken_verify(key, tok ? tok : "", vg_time_now_us() / 1000000, &claims),
	    VG_OK, "the token verifies");
	VT_EQ_STR(claims.scan_id, sc.id, "bound to the scan");
	VT_EQ_INT(claims.attempt, 2, "and to the claimed attempt");
	vg_scantoken_key_free(key);
	vg_dispatch_runner_env_free(env);
	env = NULL;

	unsetenv("VEGA_LLM_TOKEN_SIGNING_KEY_FILE");
	load();
	VT_EQ_INT(vg_dispatch_runner_env(sc.id, sc.attempt, "the-fresh-lease-token-0123456789", &env), VG_OK,
	    "environment without a key");
	VT_OK(!value_of(env, "OPENAI_API_KEY") && !value_of(env, "VEGA_LLM_SCAN_TOKEN"),
	    "no token without a signing key");
	vg_dispatch_runner_env_free(env);
	unsetenv("VEGA_LLM_PROXY_BASE_URL");
	load();
}

/* ---- an iteration ---- */

/* A queued scan of a fresh user's repository; its id into id. */
static void
queued_scan(char id[VG_UUID_LEN + 1])
{
	static int n;
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot sn;
	struct vg_scan sc;

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&sn, 0, sizeof sn);
	memset(&sc, 0, sizeof sc);
	snprintf(u.email, sizeof u.email, "w%d@example.invalid", ++n);
	vg_str_copy(u.display_name, sizeof u.display_name, "W");
	u.groups = VG_GROUP_USER;
	vg_store_user_create(s, &u);
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	vg_store_project_create(s, &p);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_store_repository_create(s, &r);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	snprintf(sn.digest, sizeof sn.digest, "%064d", n);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	vg_store_snapshot_create(s, &sn, NULL);
	vg_str_copy(sc.repository_id, sizeof sc.repository_id, r.id);
	vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, sn.id);
	vg_str_copy(sc.created_by, sizeof sc.created_by, u.id);
	vg_str_copy(sc.engine, sizeof sc.engine, "rules");
	vg_str_copy(sc.options, sizeof sc.options, "{}");
	VT_EQ_INT(vg_store_scan_create(s, &sc, 0), VG_OK, "a queued scan");
	vg_str_copy(id, VG_UUID_LEN + 1, sc.id);
}

/* Write the fake runner: it records its argument, lease variables and
 * limits into out, then exits with code. */
static void
fake_runner(const char *path, const char *out, int code)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		return;
	fprintf(fp, "#!/bin/sh\n{\n echo \"arg=$1\"\n echo \"attempt=$VEGA_RUNNER_ATTEMPT\"\n"
	    " echo \"lease=${#VEGA_RUNNER_LEASE_TOKEN}\"\n echo \"core=$(ulimit -c)\"\n"
	    " echo \"nofile=$(ulimit -n)\"\n echo \"cpu=$(ulimit -t)\"\n"
	    " echo \"as=$(ulimit -v)\"\n echo \"fds= $(ls /proc/self/fd | tr '\\n' ' ')\"\n} >%s\nexit %d\n",
	    out, code);
	fclose(fp);
	chmod(path, 0755);
}

/* The value after "key=" in the file's text, or "". */
static const char *
value(const char *text, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof pat, "%s=", key);
	buf[0] = '\0';
	if (!text || !(p = strstr(text, pat)))
		return buf;
	p += strlen(pat);
	n = strcspn(p, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static void
test_iteration(void)
{
	struct vg_worker_loop wl;
	struct vg_runner_job j;
	struct vg_worker *rows = NULL;
	char id[VG_UUID_LEN + 1], prog[600], out[600], *text = NULL, v[128];
	size_t len = 0, n = 0;
	bool worked = true;
	int fd;

	snprintf(prog, sizeof prog, "%s/runner.sh", root);
	snprintf(out, sizeof out, "%s/runner.out", root);
	fake_runner(prog, out, 7);
	setenv("VEGA_RUNNER_PROGRAM", prog, 1);
	setenv("VEGA_RUNNER_MEMORY_LIMIT_MB", "2048", 1);
	setenv("VEGA_RUNNER_MAX_SECONDS", "120", 1);
	load();
	VT_EQ_INT(vg_worker_init(&wl, s, &stop_flag), VG_OK, "init");

	VT_EQ_INT(vg_worker_iterate(&wl, &worked), VG_OK, "an iteration with nothing queued");
	VT_OK(!worked, "nothing claimed");
	VT_EQ_INT(vg_store_worker_list(s, &rows, &n), VG_OK, "registry");
	VT_OK(n == 1 && strcmp(rows[0].state, "idle") == 0 && rows[0].pid == getpid(),
	    "registered as idle");
	free(rows);

	queued_scan(id);
	/* a descriptor of the worker's without close-on-exec, as a store's
	 * socket could be: the runner must not get it */
	fd = open("/dev/zero", O_RDONLY);
	VT_EQ_INT(dup2(fd, 47), 47, "a worker descriptor");
	VT_EQ_INT(vg_worker_iterate(&wl, &worked), VG_OK, "an iteration with a queued scan");
	close(47);
	close(fd);
	VT_OK(worked, "it claimed the scan");
	VT_EQ_INT(vg_store_runner_job_get(s, id, 1, &j), VG_OK, "its runner job");
	VT_EQ_STR(j.status, "exited", "the runner ended");
	VT_EQ_INT(j.exit_code, 7, "with its exit code");
	VT_EQ_STR(j.mode, "local", "as a local child");
	VT_EQ_STR(j.worker_id, wl.row.id, "of this worker");
	VT_OK(strchr(j.external_id, ':') != NULL, "external id pid:start time");
	VT_EQ_INT(vg_fs_read_file(out, 4096, &text, &len), VG_OK, "the runner ran");
	VT_EQ_STR(value(text, "arg", v, sizeof v), id, "started as PROGRAM SCAN_ID");
	VT_EQ_STR(value(text, "attempt", v, sizeof v), "1", "VEGA_RUNNER_ATTEMPT");
	VT_EQ_STR(value(text, "lease", v, sizeof v), "32", "VEGA_RUNNER_LEASE_TOKEN: 32 characters");
	VT_EQ_STR(value(text, "core", v, sizeof v), "0", "no core files");
	if (under_valgrind())   /* its setrlimit cannot change RLIMIT_NOFILE */
		printf("ok %d - # SKIP RLIMIT_NOFILE under valgrind\n", ++vt_count);
	else
		VT_EQ_STR(value(text, "nofile", v, sizeof v), "1024", "RLIMIT_NOFILE");
	VT_EQ_STR(value(text, "cpu", v, sizeof v), "120", "RLIMIT_CPU = VEGA_RUNNER_MAX_SECONDS");
#if !defined(__SANITIZE_ADDRESS__)
	VT_EQ_STR(value(text, "as", v, sizeof v), "2097152", "RLIMIT_AS = VEGA_RUNNER_MEMORY_LIMIT_MB");
#endif
	/* 0, 1, 2, the fd ls opens, and sh's own: nothing of the worker's */
	value(text, "fds", v, sizeof v);
	VT_OK(strstr(v, " 0 ") && !strstr(v, " 47 "),
	    "no file descriptor of the worker's leaks into the runner");
	free(text);

	/* a relaunch of the same attempt starts nothing: the job exists */
	{
		struct vg_runner_job again;
		bool existed = false;

		memset(&again, 0, sizeof again);
		vg_str_copy(again.scan_id, sizeof again.scan_id, id);
		again.attempt = 1;
		vg_str_copy(again.mode, sizeof again.mode, "local");
		VT_EQ_INT(vg_store_runner_job_create(s, &again, vg_time_now_us(), &existed), VG_OK,
		    "create again");
		VT_OK(existed, "the attempt's job exists: a relaunch would start nothing");
	}

	/* thread mode: the API starts runners; the worker claims nothing */
	setenv("VEGA_SCAN_EXECUTION_MODE", "thread", 1);
	load();
	queued_scan(id);
	VT_EQ_INT(vg_worker_iterate(&wl, &worked), VG_OK, "an iteration in thread mode");
	VT_OK(!worked, "thread mode claims nothing");
	setenv("VEGA_SCAN_EXECUTION_MODE", "external", 1);
	load();

	/* a program that is not there: the job says so */
	setenv("VEGA_RUNNER_PROGRAM", "/nonexistent/vega-runner", 1);
	load();
	VT_EQ_INT(vg_worker_iterate(&wl, &worked), VG_OK, "an iteration without a runner");
	VT_EQ_INT(vg_store_runner_job_get(s, id, 1, &j), VG_OK, "its job");
	VT_EQ_STR(j.status, "failed", "failed to start");
	VT_OK(strstr(j.error_message, "/nonexistent/vega-runner") != NULL, "naming the program");

	vg_worker_heartbeat(&wl, "stopped", NULL);
	VT_EQ_INT(vg_store_worker_list(s, &rows, &n), VG_OK, "registry");
	VT_OK(n == 1 && strcmp(rows[0].state, "stopped") == 0, "stopped");
	free(rows);
}

int
main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("VEGA_DATA_DIR", root, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_LOG_LEVEL", "error", 1);
	load();
	if (vg_store_open(&s) != VG_OK)
		return 1;
	test_config();
	test_env();
	test_env_token();
	test_iteration();
	vg_store_free(s);
	vg_fs_remove_tree(root);
	return vt_done();
}
