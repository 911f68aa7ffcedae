/*
 * scan-tool - the store's side of the pipeline suites (tests/e2e/
 * pipeline.bats): seeds queued scans and reads what the worker did,
 * through the store of the settings (json or postgres), and plays the
 * runner's part for a fake runner script, with the lease the worker put
 * into its environment (VEGA_RUNNER_ATTEMPT, VEGA_RUNNER_LEASE_TOKEN).
 *
 *   scan-tool seed N           N queued scans of a new user's repository;
 *                              their ids, one a line
 *   scan-tool start ID         claimed -> running, one finding, a heartbeat
 *   scan-tool complete ID      start, then completed
 *   scan-tool show ID          "status error_code findings_count attempt"
 *   scan-tool jobs ID...       "scan attempt status exit_code" per job
 *   scan-tool cancel ID        ask to cancel
 *   scan-tool summary ID...    "status count" per status among the scans
 *   scan-tool drain            end every scan still active (cancelled,
 *                              under the lease its row holds), so the
 *                              next test starts from an empty queue
 *
 * Exit status 0, 1 on a store error (named on stderr), 2 on usage.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store.h"

static struct vg_store *store;

static int
fail(const char *what, enum vg_err err)
{
	fprintf(stderr, "scan-tool: %s: %s\n", what, vg_err_code(err));
	return 1;
}

static int
cmd_seed(int argc, char **argv)
{
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot snap;
	struct vg_scan sc;
	int64_t n = 0, i;
	char tag[32];
	enum vg_err err;

	if (argc != 2 || vg_str_to_i64(argv[1], 1, 100000, &n) != VG_OK)
		return 2;
	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&snap, 0, sizeof snap);
	snprintf(tag, sizeof tag, "%lld", (long long)vg_time_now_us());
	snprintf(u.email, sizeof u.email, "seed%s@example.invalid", tag);
	vg_str_copy(u.display_name, sizeof u.display_name, "Seed");
	u.groups = VG_GROUP_USER;
	if ((err = vg_store_user_create(store, &u)) != VG_OK)
		return fail("user", err);
	vg_str_copy(p.name, sizeof p.name, "pipeline");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	if ((err = vg_store_project_create(store, &p)) != VG_OK)
		return fail("project", err);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "repo");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_str_copy(r.created_by, sizeof r.created_by, u.id);
	if ((err = vg_store_repository_create(store, &r)) != VG_OK)
		return fail("repository", err);
	vg_str_copy(snap.repository_id, sizeof snap.repository_id, r.id);
	snprintf(snap.digest, sizeof snap.digest, "%064d", 7);
	snprintf(snap.storage_key, sizeof snap.storage_key, "snapshots/%s.tar", snap.digest);
	snprintf(snap.manifest_key, sizeof snap.manifest_key, "snapshots/%s.manifest.json",
	    snap.digest);
	vg_str_copy(snap.format, sizeof snap.format, "tar");
	vg_str_copy(snap.languages, sizeof snap.languages, "{}");
	vg_str_copy(snap.created_by, sizeof snap.created_by, u.id);
	if ((err = vg_store_snapshot_create(store, &snap, NULL)) != VG_OK)
		return fail("snapshot", err);
	for (i = 0; i < n; i++) {
		memset(&sc, 0, sizeof sc);
		vg_str_copy(sc.repository_id, sizeof sc.repository_id, r.id);
		vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, snap.id);
		vg_str_copy(sc.created_by, sizeof sc.created_by, u.id);
		vg_str_copy(sc.engine, sizeof sc.engine, "rules");
		vg_str_copy(sc.options, sizeof sc.options, "{}");
		if ((err = vg_store_scan_create(store, &sc, 0)) != VG_OK)
			return fail("scan", err);
		printf("%s\n", sc.id);
	}
	return 0;
}

/* The lease of the environment for scan id. */
static int
env_lease(const char *id, struct vg_lease *l)
{
	const char *a = getenv("VEGA_RUNNER_ATTEMPT"), *t = getenv("VEGA_RUNNER_LEASE_TOKEN");

	if (!a || !t || vg_str_to_i64(a, 1, 1000, &l->attempt) != VG_OK) {
		fprintf(stderr, "scan-tool: no lease in the environment\n");
		return 2;
	}
	l->scan_id = id;
	l->lease_token = t;
	return 0;
}

static int
do_start(const struct vg_lease *l)
{
	struct vg_finding_row f;
	enum vg_err err;

	if ((err = vg_store_scan_start(store, l, vg_time_now_us())) != VG_OK)
		return fail("start", err);
	memset(&f, 0, sizeof f);
	vg_str_copy(f.fingerprint, sizeof f.fingerprint, "pipeline-fp-1");
	f.data = json_pack("{s:s,s:s,s:s,s:s,s:i}", "title", "partial finding", "severity",
	    "high", "file_path", "src/a.c", "engine", "rules", "line_start", 3);
	err = vg_store_finding_upsert(store, l, &f, vg_time_now_us(), NULL);
	vg_finding_row_clear(&f);
	if (err != VG_OK)
		return fail("finding", err);
	if ((err = vg_store_scan_heartbeat(store, l, 1, vg_time_now_us(), NULL)) != VG_OK)
		return fail("heartbeat", err);
	return 0;
}

static int
cmd_start(int argc, char **argv)
{
	struct vg_lease l;
	int rc;

	if (argc != 2)
		return 2;
	if ((rc = env_lease(argv[1], &l)) != 0)
		return rc;
	return do_start(&l);
}

static int
cmd_complete(int argc, char **argv)
{
	struct vg_scan_finish f = {VG_SCAN_COMPLETED, NULL, NULL, "scan_completed", NULL, 0};
	struct vg_lease l;
	enum vg_err err;
	int rc;

	if (argc != 2)
		return 2;
	if ((rc = env_lease(argv[1], &l)) != 0 || (rc = do_start(&l)) != 0)
		return rc;
	f.now_us = vg_time_now_us();
	if ((err = vg_store_scan_finish(store, &l, &f)) != VG_OK)
		return fail("finish", err);
	return 0;
}

static int
cmd_show(int argc, char **argv)
{
	struct vg_scan sc;
	enum vg_err err;

	if (argc != 2)
		return 2;
	if ((err = vg_store_scan_get(store, argv[1], &sc)) != VG_OK)
		return fail("get", err);
	printf("%s %s %lld %lld\n", sc.status, sc.error_code[0] ? sc.error_code : "-",
	    (long long)sc.findings_count, (long long)sc.attempt);
	return 0;
}

static int
cmd_jobs(int argc, char **argv)
{
	struct vg_runner_job *j = NULL;
	size_t n = 0, k;
	enum vg_err err;
	int i;

	for (i = 1; i < argc; i++) {
		if ((err = vg_store_runner_job_list(store, argv[i], &j, &n)) != VG_OK)
			return fail("jobs", err);
		for (k = 0; k < n; k++)
			printf("%s %lld %s %lld %s\n", j[k].scan_id, (long long)j[k].attempt,
			    j[k].status, (long long)j[k].exit_code,
			    j[k].external_id[0] ? j[k].external_id : "-");
		free(j);
		j = NULL;
	}
	return 0;
}

static int
cmd_cancel(int argc, char **argv)
{
	struct vg_scan sc;
	enum vg_err err;

	if (argc != 2)
		return 2;
	if ((err = vg_store_scan_cancel(store, argv[1], vg_time_now_us(), &sc)) != VG_OK)
		return fail("cancel", err);
	return 0;
}

static int
cmd_summary(int argc, char **argv)
{
	static const char *const states[] = {VG_SCAN_QUEUED, VG_SCAN_CLAIMED, VG_SCAN_RUNNING,
	    VG_SCAN_COMPLETED, VG_SCAN_FAILED, VG_SCAN_CANCELLED};
	long long count[6] = {0};
	struct vg_scan sc;
	enum vg_err err;
	size_t k;
	int i;

	for (i = 1; i < argc; i++) {
		if ((err = vg_store_scan_get(store, argv[i], &sc)) != VG_OK)
			return fail("get", err);
		for (k = 0; k < 6; k++)
			if (strcmp(sc.status, states[k]) == 0)
				count[k]++;
	}
	for (k = 0; k < 6; k++)
		if (count[k])
			printf("%s %lld\n", states[k], count[k]);
	return 0;
}

static int
cmd_drain(int argc, char **argv)
{
	static const char *const active[] = {VG_SCAN_QUEUED, VG_SCAN_CLAIMED, VG_SCAN_RUNNING};
	struct vg_scan_finish f = {VG_SCAN_CANCELLED, NULL, NULL, "scan_cancelled", NULL, 0};
	struct vg_scan_filter flt = {NULL, NULL, NULL};
	struct vg_scan *rows = NULL, got;
	char *next = NULL;
	size_t n = 0, i, k;
	enum vg_err err;

	(void)argv;
	if (argc != 1)
		return 2;
	for (k = 0; k < 3; k++) {
		flt.status = active[k];
		if ((err = vg_store_scan_list(store, &flt, NULL, VG_STORE_LIST_MAX, &rows, &n,
		    &next)) != VG_OK)
			return fail("list", err);
		for (i = 0; i < n; i++) {
			struct vg_lease l = {rows[i].id, rows[i].attempt, rows[i].lease_token};

			vg_store_scan_cancel(store, rows[i].id, vg_time_now_us(), &got);
			f.now_us = vg_time_now_us();
			if (k > 0)
				vg_store_scan_finish(store, &l, &f);
		}
		free(rows);
		free(next);
		rows = NULL;
		next = NULL;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{"seed", cmd_seed},
	{"start", cmd_start},
	{"complete", cmd_complete},
	{"show", cmd_show},
	{"jobs", cmd_jobs},
	{"cancel", cmd_cancel},
	{"summary", cmd_summary},
	{"drain", cmd_drain},
};

int
main(int argc, char **argv)
{
	char msg[256];
	size_t i;
	int rc = 2;

	if (argc < 2)
		goto usage;
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "scan-tool: %s\n", msg);
		return 2;
	}
	if (vg_store_open(&store) != VG_OK)
		return fail("open", VG_ERR_UNAVAILABLE);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			rc = cmds[i].fn(argc - 1, argv + 1);
	vg_store_free(store);
	if (rc != 2)
		return rc;
usage:
	fputs("usage: scan-tool seed N | start ID | complete ID | show ID | jobs ID... |"
	    " cancel ID | summary ID... | drain\n", stderr);
	return 2;
}
