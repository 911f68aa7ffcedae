/*
 * test_ingest.c - lib/domain/ingest against the json store: a git
 * repository made by the test becomes a ready snapshot (format "git",
 * its commit), a bad ref leaves it failed with the fetch's code, every
 * outcome is audited; dispatch starts the runner detached with PATH and
 * VEGA_* only, and the real vega-runner (from VEGA_BUILDDIR) carries a
 * repository from "ingesting" to "ready" on its own.
 */
#include "config.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "blob/blob.h"
#include "core/fsutil.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/ingest.h"
#include "store/store.h"
#include "vt.h"

static char root[] = "/tmp/vega-ingest.XXXXXX";
static char datadir[512], src[512], src_url[600];
static struct vg_store *store;
static struct vg_blob *blob;

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
load_settings(void)
{
	char msg[256];

	if (vg_settings_load(msg, sizeof msg) != VG_OK)
		fprintf(stderr, "settings: %s\n", msg);
}

/* A user, a project and a git repository of url. */
static void
make_repository(const char *url, const char *ref, struct vg_repository *r)
{
	struct vg_user u;
	struct vg_project p;
	char tag[40];

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(r, 0, sizeof *r);
	snprintf(tag, sizeof tag, "%lld", (long long)vg_time_now_us());
	snprintf(u.email, sizeof u.email, "u%s@example.invalid", tag);
	vg_str_copy(u.display_name, sizeof u.display_name, "U");
	u.groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(store, &u), VG_OK, "a user");
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	VT_EQ_INT(vg_store_project_create(store, &p), VG_OK, "a project");
	vg_str_copy(r->project_id, sizeof r->project_id, p.id);
	vg_str_copy(r->name, sizeof r->name, "r");
	vg_str_copy(r->source_type, sizeof r->source_type, "git");
	vg_str_copy(r->git_url, sizeof r->git_url, url);
	vg_str_copy(r->git_ref, sizeof r->git_ref, ref);
	vg_str_copy(r->created_by, sizeof r->created_by, u.id);
	VT_EQ_INT(vg_store_repository_create(store, r), VG_OK, "a git repository");
}

/* The newest audit event's action and details.outcome. */
static void
last_audit(char *action, size_t alen, char *outcome, size_t olen, const char *target)
{
	json_t *items = NULL;
	char *next = NULL;
	size_t i;

	action[0] = outcome[0] = '\0';
	if (vg_store_audit_list(store, NULL, 20, &items, &next) != VG_OK)
		return;
	for (i = 0; i < json_array_size(items); i++) {
		json_t *ev = json_array_get(items, i);
		const char *a = json_string_value(json_object_get(ev, "action"));
		const char *t = json_string_value(json_object_get(ev, "target_id"));
		const char *o = json_string_value(json_object_get(json_object_get(ev, "details"),
		    "outcome"));

		if (a && t && strcmp(a, "repository.ingest") == 0 && strcmp(t, target) == 0) {
			vg_str_copy(action, alen, a);
			vg_str_copy(outcome, olen, o ? o : "");
			break;
		}
	}
	json_decref(items);
	free(next);
}

static void
test_ingest(const char *commit)
{
	struct vg_repository r, after;
	struct vg_snapshot snap;
	char action[64], outcome[32];

	make_repository(src_url, "", &r);
	VT_EQ_INT(vg_domain_git_ingest(store, blob, r.id, NULL, NULL, &after), VG_OK,
	    "the default branch is ingested");
	VT_EQ_STR(after.ingest_status, VG_INGEST_READY, "the repository is ready");
	VT_OK(after.current_snapshot_id[0] != '\0', "with a current snapshot");
	VT_EQ_STR(after.ingest_error_code, "", "and no error");
	memset(&snap, 0, sizeof snap);
	VT_EQ_INT(vg_store_snapshot_get(store, after.current_snapshot_id, &snap), VG_OK,
	    "the snapshot row exists");
	VT_EQ_STR(snap.format, "git", "format git");
	VT_EQ_STR(snap.git_commit, commit, "the commit fetched");
	VT_EQ_INT(snap.file_count, 2, "two files");
	VT_EQ_STR(snap.repository_id, r.id, "of this repository");
	{
		struct vg_blob_stat st;

		VT_EQ_INT(vg_blob_stat(blob, VG_BLOB_SOURCES, snap.storage_key, &st), VG_OK,
		    "its tar is stored");
	}
	last_audit(action, sizeof action, outcome, sizeof outcome, r.id);
	VT_EQ_STR(outcome, "ready", "audited as ready");

	/* A ref that is not there: failed with the fetch's code. */
	VT_EQ_INT(vg_domain_git_ingest(store, blob, r.id, "nosuch", NULL, &after),
	    VG_ERR_NOT_FOUND, "a missing ref fails");
	VT_EQ_STR(after.ingest_status, VG_INGEST_FAILED, "the repository is failed");
	VT_EQ_STR(after.ingest_error_code, "git_ref_not_found", "with the fetch's code");
	VT_OK(strstr(after.ingest_error_message, "nosuch") != NULL, "and a message naming the ref");
	last_audit(action, sizeof action, outcome, sizeof outcome, r.id);
	VT_EQ_STR(outcome, "failed", "audited as failed");

	/* Credentials in the URL never reach the stored error. */
	make_repository("https://someone:s3cr3t@127.0.0.1:1/r.git", "main", &r);
	VT_EQ_INT(vg_domain_git_ingest(store, blob, r.id, NULL, NULL, &after), VG_ERR_UNAVAILABLE,
	    "an unreachable host fails");
	VT_EQ_STR(after.ingest_error_code, "git_fetch_failed", "git_fetch_failed");
	VT_OK(!strstr(after.ingest_error_message, "s3cr3t"), "no credential in ingest_error");

	{
		char id[VG_UUID_LEN + 1];

		vg_uuid_new(id);
		VT_EQ_INT(vg_domain_git_ingest(store, blob, id, NULL, NULL, &after), VG_ERR_NOT_FOUND,
		    "an unknown repository: VG_ERR_NOT_FOUND");
		VT_EQ_STR(after.ingest_status, "", "and nothing recorded");
	}
}

/* Wait up to ms for path to exist. */
static bool
wait_for(const char *path, int ms)
{
	struct timespec ts = {0, 20 * 1000000L};
	struct stat st;
	int i;

	for (i = 0; i < ms / 20; i++) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void
test_dispatch_fake(void)
{
	char fake[600], out[600], text[8192], id[VG_UUID_LEN + 1];
	FILE *f;
	size_t n = 0;

	snprintf(fake, sizeof fake, "%s/fake-runner", root);
	snprintf(out, sizeof out, "%s/fake-runner.out", root);
	f = fopen(fake, "w");
	if (f) {
		fprintf(f, "#!/bin/sh\n{ echo \"args: $*\"; env | sort; } > '%s.tmp'\n"
		    "mv '%s.tmp' '%s'\n", out, out, out);
		fclose(f);
	}
	chmod(fake, 0755);
	setenv("VEGA_RUNNER_PROGRAM", fake, 1);
	setenv("NOT_VEGA_SECRET", "must-not-pass", 1);
	load_settings();
	vg_uuid_new(id);
	VT_EQ_INT(vg_domain_dispatch_ingest(id, "feature/x"), VG_OK, "dispatch with a ref");
	VT_OK(wait_for(out, 5000), "the runner ran");
	f = fopen(out, "r");
	if (f) {
		n = fread(text, 1, sizeof text - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	{
		char want[128];

		snprintf(want, sizeof want, "args: --ingest %s --ref feature/x\n", id);
		VT_OK(strncmp(text, want, strlen(want)) == 0, "argv: --ingest ID --ref REF");
	}
	VT_OK(strstr(text, "\nVEGA_DATA_DIR=") && strstr(text, "\nVEGA_RUNNER_PROGRAM=") &&
	    strstr(text, "\nPATH="), "PATH and the VEGA_* settings are passed");
	VT_OK(!strstr(text, "NOT_VEGA_SECRET") && !strstr(text, "\nHOME="),
	    "nothing else of the environment");
	unlink(out);
	VT_EQ_INT(vg_domain_dispatch_ingest(id, NULL), VG_OK, "dispatch without a ref");
	VT_OK(wait_for(out, 5000), "the runner ran again");
	f = fopen(out, "r");
	n = 0;
	if (f) {
		n = fread(text, 1, sizeof text - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	VT_OK(strstr(text, "--ref") == NULL, "no --ref when none is given");
	VT_EQ_INT(vg_domain_dispatch_ingest("not-a-uuid", NULL), VG_ERR_INVALID, "a bad id");
	VT_EQ_INT(vg_domain_dispatch_ingest(id, "--upload-pack=x"), VG_ERR_INVALID, "a bad ref");
	setenv("VEGA_RUNNER_PROGRAM", "/nonexistent/vega-runner", 1);
	load_settings();
	VT_EQ_INT(vg_domain_dispatch_ingest(id, NULL), VG_ERR_IO, "a runner that does not exist");
	unsetenv("NOT_VEGA_SECRET");
}

/* The real runner, detached, carries the repository to ready. */
static void
test_dispatch_real(const char *commit)
{
	const char *builddir = getenv("VEGA_BUILDDIR");
	char runner[600], logp[600];
	struct vg_repository r, now;
	struct vg_snapshot snap;
	struct vg_ingest_change go = {.status = VG_INGEST_INGESTING, .if_not = VG_INGEST_INGESTING};
	struct timespec ts = {0, 50 * 1000000L};
	int i;

	snprintf(runner, sizeof runner, "%s/bin/vega-runner", builddir ? builddir : ".");
	if (access(runner, X_OK) != 0) {
		printf("ok %d - # SKIP no vega-runner built at %s\n", ++vt_count, runner);
		return;
	}
	setenv("VEGA_RUNNER_PROGRAM", runner, 1);
	load_settings();
	make_repository(src_url, "main", &r);
	VT_EQ_INT(vg_store_repository_set_ingest(store, r.id, &go, &r), VG_OK,
	    "the API marks it ingesting");
	VT_EQ_INT(vg_domain_dispatch_ingest(r.id, NULL), VG_OK, "and dispatches the runner");
	memset(&now, 0, sizeof now);
	for (i = 0; i < 600; i++) {
		if (vg_store_repository_get(store, r.id, &now) == VG_OK &&
		    strcmp(now.ingest_status, VG_INGEST_INGESTING) != 0)
			break;
		nanosleep(&ts, NULL);
	}
	VT_EQ_STR(now.ingest_status, VG_INGEST_READY, "the runner made it ready");
	memset(&snap, 0, sizeof snap);
	vg_store_snapshot_get(store, now.current_snapshot_id, &snap);
	VT_EQ_STR(snap.git_commit, commit, "with the commit");
	snprintf(logp, sizeof logp, "%s/logs/runner.log", datadir);
	VT_OK(access(logp, F_OK) == 0, "the runner logged to logs/runner.log");
}

int
main(void)
{
	char home[600], blobdir[600], cmd[1200], commit[80];
	FILE *p;

	if (!mkdtemp(root))
		return 1;
	snprintf(datadir, sizeof datadir, "%s/data", root);
	snprintf(src, sizeof src, "%s/src", root);
	snprintf(src_url, sizeof src_url, "file://%s", src);
	snprintf(home, sizeof home, "%s/home", root);
	snprintf(blobdir, sizeof blobdir, "%s/blobs", datadir);
	mkdir(datadir, 0700);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	setenv("VEGA_ALLOW_FILE_GIT_URLS", "1", 1);
	setenv("VEGA_GIT_TIMEOUT_SECONDS", "60", 1);
	unsetenv("VEGA_RUNNER_PROGRAM");
	unsetenv("VEGA_GIT_PROGRAM");
	load_settings();
	vg_log_init("test");
	if (vg_store_open(&store) != VG_OK || vg_blob_open_local(blobdir, &blob) != VG_OK)
		return 1;

	if (run("git init -q -b main '%s' && echo 'int x;' > '%s/a.c' && echo '# r' > '%s/R.md' &&"
	    " git -C '%s' add -A && git -C '%s' -c user.name=T -c user.email=t@e.invalid"
	    " commit -qm one", src, src, src, src, src) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD", src);
	commit[0] = '\0';
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(commit, sizeof commit, p))
			commit[strcspn(commit, "\n")] = '\0';
		pclose(p);
	}

	test_ingest(commit);
	test_dispatch_fake();
	test_dispatch_real(commit);

	vg_blob_free(blob);
	vg_store_free(store);
	vg_fs_remove_tree(root);
	return vt_done();
}
