/*
 * test_scan_run.c - lib/domain/scan_run (vega-runner SCAN_ID) against the
 * json store and the local file storage in a temporary VEGA_DATA_DIR.
 *
 * A snapshot is made the way an upload makes it (a tar built here,
 * ingested through lib/archive), with a threat profile that puts docs/
 * out of scope.  Then:
 *   - a queued scan runs to completed (thread dispatch: the runner claims
 *     it and records its runner job): events 1..n from scan_started to
 *     scan_completed, findings stored by fingerprint and none out of
 *     scope, the five artifacts with a SARIF that parses and a debug
 *     bundle holding no source, the temporary directory gone;
 *   - a scan cancelled before it started, queued (exit 4, nothing
 *     written) or claimed by a worker (exit 4, one scan_cancelled);
 *   - a lease taken over by another claim before the start, and a scan
 *     rescued in the middle of the run: exit 5, nothing more written;
 *   - a cancellation in the middle of the run (the worker's signal):
 *     cancelled, findings and events kept; a signal alone: failed,
 *     "interrupted";
 *   - the real vega-runner with a worker's lease in its environment, its
 *     exit codes, its help; SIGTERM in the middle of its run, with and
 *     without a cancellation request.
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "archive/archive.h"
#include "blob/blob.h"
#include "core/fsutil.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/scan_run.h"
#include "store/store.h"
#include "vt.h"

#define MARKER "VEGA_SOURCE_MARKER_7f3a"
#define VULN_LINE "sqlite3.connect(\"d\").execute(q)"

static char root[] = "/tmp/vega-scanrun.XXXXXX";
static char datadir[600], rules[PATH_MAX];
static struct vg_store *store;
static struct vg_blob *blob;
static char repo_id[VG_UUID_LEN + 1], snap_id[VG_UUID_LEN + 1], profile_id[VG_UUID_LEN + 1];

/* ---- fixtures ------------------------------------------------------------ */

/* A vulnerable Python file (the marker proves no source leaks). */
static const char vuln_py[] =
    "# " MARKER "\n"
    "import sqlite3\n"
    "from flask import request\n"
    "\n"
    "def a():\n"
    "    name = request.form.get(\"name\")\n"
    "    q = \"SELECT * FROM u WHERE name = '{}'\".format(name)\n"
    "    " VULN_LINE "\n";

static const char *const tree[] = {
	"proj/src/a1.py", "proj/src/a2.py", "proj/src/a3.py", "proj/src/b/a4.py",
	"proj/src/b/a5.py", "proj/src/c/a6.py", "proj/docs/example.py", NULL,
};

struct mem {
	const unsigned char *p;
	size_t n, off;
};

static enum vg_err
mem_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct mem *m = ctx;
	size_t k = m->n - m->off < cap ? m->n - m->off : cap;

	memcpy(buf, m->p + m->off, k);
	m->off += k;
	*got = k;
	return VG_OK;
}

/* The tree as a ustar archive in buf; its length, 0 on failure. */
static size_t
build_tar(unsigned char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0, i;

	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		used = 0;
	for (i = 0; used == 0 && tree[i]; i++) {
		archive_entry_clear(e);
		archive_entry_copy_pathname(e, tree[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(vuln_py));
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, vuln_py, strlen(vuln_py)) != (la_ssize_t)strlen(vuln_py))
			break;
	}
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

/* A user, project, upload repository, its snapshot and a profile. */
static void
make_sources(void)
{
	static unsigned char tar[1 << 20];
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot s;
	struct vg_threat_profile tp;
	struct vg_archive_result ar;
	struct mem m = {tar, 0, 0};
	char *langs;

	memset(&u, 0, sizeof u);
	vg_str_copy(u.email, sizeof u.email, "runner@example.invalid");
	vg_str_copy(u.display_name, sizeof u.display_name, "R");
	u.groups = VG_GROUP_USER;
	VT_EQ_INT(vg_store_user_create(store, &u), VG_OK, "a user");
	memset(&p, 0, sizeof p);
	vg_str_copy(p.name, sizeof p.name, "p");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	VT_EQ_INT(vg_store_project_create(store, &p), VG_OK, "a project");
	memset(&r, 0, sizeof r);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_str_copy(r.created_by, sizeof r.created_by, u.id);
	VT_EQ_INT(vg_store_repository_create(store, &r), VG_OK, "an upload repository");
	vg_str_copy(repo_id, sizeof repo_id, r.id);

	m.n = build_tar(tar, sizeof tar);
	VT_OK(m.n > 0, "a tar built");
	VT_EQ_INT(vg_archive_ingest(blob, mem_read, &m, NULL, &ar), VG_OK, "the tar ingested");
	memset(&s, 0, sizeof s);
	vg_str_copy(s.repository_id, sizeof s.repository_id, r.id);
	vg_str_copy(s.digest, sizeof s.digest, ar.digest);
	vg_str_copy(s.storage_key, sizeof s.storage_key, ar.tar_key);
	vg_str_copy(s.manifest_key, sizeof s.manifest_key, ar.manifest_key);
	vg_str_copy(s.format, sizeof s.format, "tar");
	langs = ar.languages ? json_dumps(ar.languages, JSON_COMPACT) : NULL;
	vg_str_copy(s.languages, sizeof s.languages, langs ? langs : "{}");
	free(langs);
	s.file_count = (int64_t)ar.files;
	s.total_bytes = (int64_t)ar.bytes;
	vg_archive_result_clear(&ar);
	VT_EQ_INT(vg_store_snapshot_create(store, &s, NULL), VG_OK, "a snapshot");
	vg_str_copy(snap_id, sizeof snap_id, s.id);

	/* The profile as the API stores it. */
	memset(&tp, 0, sizeof tp);
	vg_str_copy(tp.repository_id, sizeof tp.repository_id, r.id);
	vg_str_copy(tp.name, sizeof tp.name, "web");
	tp.content = json_pack("{s:s, s:s, s:[], s:[], s:[], s:[s], s:[s], s:s}", "name", "web",
	    "description", "a web app", "assets", "trust_boundaries", "entry_points",
	    "focus_categories", "sql-injection", "out_of_scope_paths", "docs/**",
	    "min_severity", "info");
	VT_EQ_INT(vg_store_threat_profile_create(store, &tp), VG_OK, "a threat profile");
	vg_str_copy(profile_id, sizeof profile_id, tp.id);
	json_decref(tp.content);
}

/* A new queued scan of the snapshot with the profile. */
static void
new_scan(struct vg_scan *sc)
{
	memset(sc, 0, sizeof *sc);
	vg_str_copy(sc->repository_id, sizeof sc->repository_id, repo_id);
	vg_str_copy(sc->snapshot_id, sizeof sc->snapshot_id, snap_id);
	vg_str_copy(sc->profile_id, sizeof sc->profile_id, profile_id);
	sc->profile_version = 1;
	vg_str_copy(sc->engine, sizeof sc->engine, "rules");
	vg_str_copy(sc->options, sizeof sc->options, "{}");
	VT_EQ_INT(vg_store_scan_create(store, sc, 0), VG_OK, "a queued scan");
}

/* ---- looking at the outcome ----------------------------------------------- */

struct evlist {
	char types[1000][24];
	int64_t seq[1000];
	size_t n;
};

static void
events_of(const char *scan_id, struct evlist *l)
{
	struct vg_event *evs = NULL;
	size_t n = 0, i;

	l->n = 0;
	if (vg_store_event_list(store, scan_id, 0, 1000, &evs, &n) != VG_OK)
		return;
	for (i = 0; i < n && i < 1000; i++) {
		vg_str_copy(l->types[i], sizeof l->types[i], evs[i].type);
		l->seq[i] = evs[i].seq;
		vg_event_clear(&evs[i]);
	}
	free(evs);
	l->n = n < 1000 ? n : 1000;
}

static size_t
count_type(const struct evlist *l, const char *type)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++)
		k += strcmp(l->types[i], type) == 0;
	return k;
}

static bool
numbered(const struct evlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->seq[i] != (int64_t)i + 1)
			return false;
	return true;
}

static int64_t
findings_of(const char *scan_id, bool *all_fingerprinted, bool *any_docs)
{
	struct vg_finding_filter f;
	struct vg_finding_row *rows = NULL;
	size_t n = 0, i;
	char *next = NULL;

	*all_fingerprinted = true;
	*any_docs = false;
	memset(&f, 0, sizeof f);
	f.scan_id = scan_id;
	if (vg_store_finding_list(store, &f, NULL, VG_STORE_LIST_MAX, &rows, &n, &next) != VG_OK)
		return -1;
	for (i = 0; i < n; i++) {
		const char *path = json_string_value(json_object_get(rows[i].data, "file_path"));

		if (strlen(rows[i].fingerprint) != 64)
			*all_fingerprinted = false;
		if (path && strncmp(path, "docs/", 5) == 0)
			*any_docs = true;
		vg_finding_row_clear(&rows[i]);
	}
	free(rows);
	free(next);
	return (int64_t)n;
}

/* The artifact scans/<id>/<name> whole (malloc'd, NUL-terminated), or NULL. */
static char *
artifact(const char *scan_id, const char *name, size_t *len)
{
	struct vg_blob_reader *r = NULL;
	char key[200], *buf = NULL;
	size_t n = 0, got, cap = 1 << 16;

	snprintf(key, sizeof key, "scans/%s/%s", scan_id, name);
	if (vg_blob_get(blob, VG_BLOB_ARTIFACTS, key, &r) != VG_OK)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && vg_blob_reader_read(r, buf + n, cap - n, &got) == VG_OK && got > 0) {
		n += got;
		if (n == cap) {
			char *b2 = realloc(buf, 2 * cap + 1);

			if (!b2) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b2;
			cap *= 2;
		}
	}
	vg_blob_reader_free(r);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static size_t
artifacts_present(const char *scan_id)
{
	static const char *const names[] = {"events.jsonl", "runner-summary.json", "report.json",
		"report.sarif", "debug-bundle.zip"};
	struct vg_blob_stat st;
	char key[200];
	size_t i, k = 0;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(key, sizeof key, "scans/%s/%s", scan_id, names[i]);
		k += vg_blob_stat(blob, VG_BLOB_ARTIFACTS, key, &st) == VG_OK && st.size > 0;
	}
	return k;
}

/* Whether a runner temporary directory of scan_id is left under tmp/. */
static bool
tmp_left(const char *scan_id)
{
	char dir[700], prefix[64];
	DIR *d;
	struct dirent *de;
	bool left = false;

	snprintf(dir, sizeof dir, "%s/tmp", datadir);
	snprintf(prefix, sizeof prefix, "scan-%s-", scan_id);
	if (!(d = opendir(dir)))
		return false;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			left = true;
	closedir(d);
	return left;
}

/* The names in a zip held in memory, comma-joined into out; whether any
 * entry's bytes contain needle. */
static bool
zip_names(const char *data, size_t n, char *out, size_t outlen, const char *needle,
    const char *needle2)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool found = false;
	char buf[1 << 16];

	out[0] = '\0';
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, data, n) != ARCHIVE_OK) {
		archive_read_free(a);
		return false;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		la_ssize_t got;
		size_t used = strlen(out);

		snprintf(out + used, outlen - used, "%s%s", used ? "," : "", archive_entry_pathname(e));
		while ((got = archive_read_data(a, buf, sizeof buf - 1)) > 0) {
			buf[got] = '\0';
			if (strstr(buf, needle) || strstr(buf, needle2))
				found = true;
		}
	}
	archive_read_free(a);
	return found;
}

/* ---- the cases ------------------------------------------------------------ */

static void
test_completed(void)
{
	struct vg_scan sc, after;
	struct vg_scan_run_result res;
	struct vg_runner_job job;
	struct evlist ev;
	bool fp_ok, docs;
	int64_t nf;
	char *text, names[512];
	size_t len, lines = 0;
	json_t *doc, *sev;
	json_int_t high;

	new_scan(&sc);
	VT_EQ_INT(vg_scan_run(store, blob, sc.id, NULL, &res), VG_OK, "a queued scan runs");
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_COMPLETED, "exit 0");
	VT_EQ_STR(res.status, "completed", "completed");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_COMPLETED, "the scan is completed");
	VT_EQ_INT(after.attempt, 1, "attempt 1, claimed by the runner itself");
	VT_OK(after.started_at_us > 0 && after.finished_at_us >= after.started_at_us,
	    "started and finished");

	events_of(sc.id, &ev);
	VT_OK(ev.n >= 4, "several events");
	VT_OK(numbered(&ev), "numbered 1..n");
	VT_EQ_STR(ev.n ? ev.types[0] : "", "scan_started", "the first is scan_started");
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_completed", "the last is scan_completed");
	VT_EQ_INT(count_type(&ev, "scan_started"), 1, "one scan_started");
	VT_OK(count_type(&ev, "scan_progress") > 0, "progress events");
	VT_EQ_INT(count_type(&ev, "finding_updated"), 6, "a finding_updated per finding");

	nf = findings_of(sc.id, &fp_ok, &docs);
	VT_EQ_INT(nf, 6, "six findings stored (one per file in scope)");
	VT_EQ_INT(res.findings, 6, "as the result says");
	VT_OK(fp_ok, "each with its fingerprint");
	VT_OK(!docs, "none out of the profile's scope (docs/)");
	VT_EQ_INT(after.findings_count, 6, "the scan's counter");

	VT_EQ_INT(artifacts_present(sc.id), 5, "the five artifacts");
	text = artifact(sc.id, "report.sarif", &len);
	doc = text ? json_loads(text, 0, NULL) : NULL;
	VT_EQ_STR(json_string_value(json_object_get(doc, "version")), "2.1.0", "SARIF 2.1.0 parses");
	VT_EQ_INT(json_array_size(json_object_get(json_array_get(json_object_get(doc, "runs"), 0),
	    "results")), 6, "with the six results");
	json_decref(doc);
	free(text);
	text = artifact(sc.id, "events.jsonl", &len);
	for (size_t i = 0; text && i < len; i++)
		lines += text[i] == '\n';
	VT_EQ_INT(lines, ev.n, "events.jsonl: every event, a line each");
	VT_OK(text && strstr(text, "\"type\":\"scan_completed\"") != NULL,
	    "the final event included");
	snprintf(names, sizeof names, "\"seq\":%zu,\"type\":\"scan_completed\"", ev.n);
	VT_OK(text && strstr(text, names) != NULL, "numbered as stored");
	free(text);
	text = artifact(sc.id, "runner-summary.json", &len);
	doc = text ? json_loads(text, 0, NULL) : NULL;
	VT_EQ_STR(json_string_value(json_object_get(doc, "status")), "completed", "summary: status");
	VT_EQ_INT(json_integer_value(json_object_get(doc, "attempt")), 1, "summary: attempt");
	sev = json_object_get(json_object_get(doc, "findings"), "by_severity");
	high = json_integer_value(json_object_get(sev, "high"));
	VT_EQ_INT(high, 6, "summary: counts by severity");
	VT_OK(json_object_get(doc, "llm_usage") != NULL, "summary: llm_usage");
	json_decref(doc);
	free(text);
	text = artifact(sc.id, "debug-bundle.zip", &len);
	VT_OK(text && !zip_names(text, len, names, sizeof names, MARKER, VULN_LINE),
	    "the debug bundle holds no source");
	VT_OK(strstr(names, "runner-summary.json") && strstr(names, "events.jsonl") &&
	    strstr(names, "plan.json") && strstr(names, "coverage.txt"),
	    "the debug bundle: summary, events, plan, coverage");
	free(text);

	memset(&job, 0, sizeof job);
	VT_EQ_INT(vg_store_runner_job_get(store, sc.id, 1, &job), VG_OK, "a runner job recorded");
	VT_EQ_STR(job.mode, "thread", "mode thread");
	VT_EQ_STR(job.status, "exited", "exited");
	VT_EQ_INT(job.exit_code, 0, "with exit code 0");
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");

	/* Run again: the scan is not queued any more. */
	VT_OK(vg_scan_run(store, blob, sc.id, NULL, &res) != VG_OK, "a finished scan is not re-run");
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_NOT_RUN, "exit 3");
	events_of(sc.id, &ev);
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_completed", "and nothing was written");
}

static void
test_cancelled_before_start(void)
{
	struct vg_scan sc, after;
	struct vg_scan_run_result res;
	struct vg_scan_run_opts o;
	struct evlist ev;
	char worker[VG_UUID_LEN + 1];
	const char *token = "0123456789abcdef0123456789abcdef-w";

	/* Queued, then cancelled: nothing to run. */
	new_scan(&sc);
	VT_EQ_INT(vg_store_scan_cancel(store, sc.id, vg_time_now_us(), &after), VG_OK, "cancelled");
	VT_EQ_STR(after.status, VG_SCAN_CANCELLED, "a queued scan is cancelled at once");
	vg_scan_run(store, blob, sc.id, NULL, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_CANCELLED, "the runner exits 4");
	events_of(sc.id, &ev);
	VT_EQ_INT(ev.n, 1, "only the cancellation's event");
	VT_EQ_INT(count_type(&ev, "scan_started"), 0, "no scan_started");
	VT_EQ_INT(artifacts_present(sc.id), 0, "no artifacts");

	/* Claimed by a worker, cancelled before its runner started. */
	new_scan(&sc);
	vg_uuid_new(worker);
	VT_EQ_INT(vg_store_scan_claim(store, worker, sc.id, token, vg_time_now_us(), &after), VG_OK,
	    "a worker claims it");
	VT_EQ_INT(vg_store_scan_cancel(store, sc.id, vg_time_now_us(), &after), VG_OK,
	    "cancellation requested");
	memset(&o, 0, sizeof o);
	o.attempt = after.attempt;
	o.lease_token = token;
	vg_scan_run(store, blob, sc.id, &o, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_CANCELLED, "the worker's runner exits 4");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_CANCELLED, "the scan is cancelled");
	events_of(sc.id, &ev);
	VT_EQ_INT(count_type(&ev, "scan_started"), 0, "it never started");
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_cancelled", "ends with scan_cancelled");
	VT_OK(!tmp_left(sc.id), "no temporary directory left");
}

static void
test_lease_taken_before_start(void)
{
	struct vg_scan sc, after;
	struct vg_scan_run_result res;
	struct vg_scan_run_opts o;
	struct evlist ev;
	char worker[VG_UUID_LEN + 1];
	const char *old = "old-lease-0123456789abcdef0123456789";
	const char *fresh = "new-lease-0123456789abcdef0123456789";
	int64_t now = vg_time_now_us();

	new_scan(&sc);
	vg_uuid_new(worker);
	VT_EQ_INT(vg_store_scan_claim(store, worker, sc.id, old, now, &after), VG_OK, "claimed");
	VT_EQ_INT(vg_store_scan_requeue_claimed(store, sc.id, 1, now + 1000000, 3, now + 2000000),
	    VG_OK, "requeued as never started");
	VT_EQ_INT(vg_store_scan_claim(store, worker, sc.id, fresh, now + 3000000, &after), VG_OK,
	    "claimed again");
	VT_EQ_INT(after.attempt, 2, "attempt 2");
	memset(&o, 0, sizeof o);
	o.attempt = 1;
	o.lease_token = old;
	vg_scan_run(store, blob, sc.id, &o, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_LEASE_LOST, "the old lease's runner exits 5");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_CLAIMED, "the scan stays claimed by attempt 2");
	events_of(sc.id, &ev);
	VT_EQ_INT(ev.n, 0, "no event written");
	VT_EQ_INT(artifacts_present(sc.id), 0, "no artifact written");
}

/* ---- in the middle of a run ------------------------------------------------ */

enum hook_action { HOOK_RESCUE, HOOK_CANCEL_AND_SIGNAL, HOOK_SIGNAL };

struct hook {
	enum hook_action action;
	const char *scan_id;
	volatile sig_atomic_t stop;
	bool fired;
	size_t events_then;
	int64_t findings_then;
};

static void
hook_fn(void *ctx, const char *type)
{
	struct hook *h = ctx;
	struct vg_scan sc;
	struct evlist ev;
	bool a, b;
	int64_t now = vg_time_now_us();

	if (h->fired || strcmp(type, "finding_updated") != 0)
		return;
	h->fired = true;
	switch (h->action) {
	case HOOK_RESCUE:
		/* The rescuer decides the runner is gone. */
		vg_store_scan_get(store, h->scan_id, &sc);
		VT_EQ_INT(vg_store_scan_rescue_running(store, h->scan_id, sc.attempt,
		    now + 3600000000LL, 0, now), VG_OK, "rescued in the middle of the run");
		break;
	case HOOK_CANCEL_AND_SIGNAL:
		VT_EQ_INT(vg_store_scan_cancel(store, h->scan_id, now, &sc), VG_OK,
		    "cancellation requested mid-run");
		h->stop = SIGTERM;
		break;
	case HOOK_SIGNAL:
		h->stop = SIGTERM;
		break;
	}
	events_of(h->scan_id, &ev);
	h->events_then = ev.n;
	h->findings_then = findings_of(h->scan_id, &a, &b);
}

static void
run_hooked(enum hook_action action, struct vg_scan *sc, struct hook *h,
    struct vg_scan_run_result *res)
{
	struct vg_scan_run_opts o;

	new_scan(sc);
	memset(h, 0, sizeof *h);
	h->action = action;
	h->scan_id = sc->id;
	memset(&o, 0, sizeof o);
	o.stop = &h->stop;
	o.after_event = hook_fn;
	o.hook_ctx = h;
	vg_scan_run(store, blob, sc->id, &o, res);
	VT_OK(h->fired, "the hook ran");
}

static void
test_lease_lost_mid_run(void)
{
	struct vg_scan sc, after;
	struct vg_scan_run_result res;
	struct hook h;
	struct evlist ev;
	bool a, b;

	run_hooked(HOOK_RESCUE, &sc, &h, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_LEASE_LOST, "a rescued runner exits 5");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_FAILED, "the scan stays as the rescuer left it");
	VT_EQ_STR(after.error_code, "stale_scan", "failed stale");
	events_of(sc.id, &ev);
	VT_EQ_INT(ev.n, h.events_then, "no event written after the rescue");
	VT_EQ_INT(count_type(&ev, "scan_completed"), 0, "no scan_completed");
	VT_EQ_INT(findings_of(sc.id, &a, &b), h.findings_then, "no finding written after it");
	VT_EQ_INT(artifacts_present(sc.id), 0, "no artifact written");
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");
}

static void
test_cancel_mid_run(void)
{
	struct vg_scan sc, after;
	struct vg_scan_run_result res;
	struct hook h;
	struct evlist ev;
	bool a, b;
	char *text;
	json_t *doc;

	run_hooked(HOOK_CANCEL_AND_SIGNAL, &sc, &h, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_CANCELLED, "a cancelled run exits 4");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_CANCELLED, "the scan is cancelled");
	events_of(sc.id, &ev);
	VT_OK(numbered(&ev), "events numbered 1..n");
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_cancelled", "ends with scan_cancelled");
	VT_OK(ev.n > h.events_then, "the events written so far are kept");
	VT_OK(findings_of(sc.id, &a, &b) >= 1, "the findings written so far are kept");
	VT_OK(findings_of(sc.id, &a, &b) < 6, "the engine stopped before the end");
	VT_EQ_INT(artifacts_present(sc.id), 5, "artifacts of the partial run");
	text = artifact(sc.id, "runner-summary.json", NULL);
	doc = text ? json_loads(text, 0, NULL) : NULL;
	VT_EQ_STR(json_string_value(json_object_get(doc, "status")), "cancelled", "summary says so");
	json_decref(doc);
	free(text);
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");

	run_hooked(HOOK_SIGNAL, &sc, &h, &res);
	VT_EQ_INT(res.exit_code, VG_SCAN_EXIT_FAILED, "a signal alone: exit 1");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_FAILED, "the scan failed");
	VT_EQ_STR(after.error_code, "interrupted", "interrupted");
	events_of(sc.id, &ev);
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_failed", "ends with scan_failed");
	VT_OK(findings_of(sc.id, &a, &b) >= 1, "its findings are kept");
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");
}

/* ---- the program ---------------------------------------------------------- */

/* Whether scan_id has a scan_progress event of step "audit". */
static bool
auditing(const char *scan_id)
{
	struct vg_event *evs = NULL;
	size_t n = 0, i;
	bool yes = false;

	if (vg_store_event_list(store, scan_id, 0, 1000, &evs, &n) != VG_OK)
		return false;
	for (i = 0; i < n; i++) {
		const char *step = json_string_value(json_object_get(evs[i].payload, "step"));

		if (strcmp(evs[i].type, "scan_progress") == 0 && step && strcmp(step, "audit") == 0)
			yes = true;
		vg_event_clear(&evs[i]);
	}
	free(evs);
	return yes;
}

/*
 * SIGTERM to a real runner in the middle of its run.  Holding the json
 * store's lock of the findings collection (jsondb.h: <collection>/.lock)
 * parks the runner at its first finding, after it started; the signal
 * comes then, and the lock is let go.
 */
static void
signal_case(const char *runner, bool cancel, int want_exit, const char *want_status,
    const char *want_last)
{
	char lockp[800], worker[VG_UUID_LEN + 1], attempt[24], name[120];
	const char *token = "signal-lease-0123456789abcdef0123456";
	struct timespec tick = {0, 20 * 1000000L};
	struct vg_scan sc, after;
	struct vg_runner_job j;
	struct evlist ev;
	bool existed = false, a, b, seen = false;
	int fd, status = -1, i;
	pid_t pid;

	new_scan(&sc);
	vg_uuid_new(worker);
	VT_EQ_INT(vg_store_scan_claim(store, worker, sc.id, token, vg_time_now_us(), &after), VG_OK,
	    "claimed for the signal case");
	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, sc.id);
	j.attempt = after.attempt;
	vg_str_copy(j.worker_id, sizeof j.worker_id, worker);
	vg_str_copy(j.mode, sizeof j.mode, "local");
	j.exit_code = -1;
	vg_store_runner_job_create(store, &j, vg_time_now_us(), &existed);
	snprintf(lockp, sizeof lockp, "%s/store/findings", datadir);
	vg_fs_mkdir_p(lockp, 0700);
	snprintf(lockp, sizeof lockp, "%s/store/findings/.lock", datadir);
	fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	VT_OK(fd >= 0 && flock(fd, LOCK_EX) == 0, "the findings lock held");
	snprintf(attempt, sizeof attempt, "%lld", (long long)after.attempt);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char logp[700];
		int lfd;

		snprintf(logp, sizeof logp, "%s/runner.log", root);
		lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lfd >= 0)
			dup2(lfd, 2);
		setenv("VEGA_RUNNER_ATTEMPT", attempt, 1);
		setenv("VEGA_RUNNER_LEASE_TOKEN", token, 1);
		execl(runner, runner, sc.id, (char *)NULL);
		_exit(127);
	}
	/* Until the audit of the first file started (past its cancellation
	 * check, the runner is then at, or on its way to, the first finding). */
	for (i = 0; i < 500 && !seen; i++) {
		seen = auditing(sc.id);
		if (!seen)
			nanosleep(&tick, NULL);
	}
	VT_OK(seen, "the runner is auditing");
	if (cancel)
		VT_EQ_INT(vg_store_scan_cancel(store, sc.id, vg_time_now_us(), &after), VG_OK,
		    "cancellation requested");
	kill(pid, SIGTERM);
	nanosleep(&tick, NULL);
	if (fd >= 0)
		close(fd);   /* the lock goes with it */
	waitpid(pid, &status, 0);
	snprintf(name, sizeof name, "SIGTERM%s: exit %d", cancel ? " after a cancellation" : "",
	    want_exit);
	VT_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, want_exit, name);
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, want_status, "the scan's end");
	events_of(sc.id, &ev);
	VT_OK(numbered(&ev), "events numbered 1..n");
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", want_last, "the final event");
	VT_OK(findings_of(sc.id, &a, &b) >= 1, "the finding written before the signal is kept");
	VT_OK(findings_of(sc.id, &a, &b) < 6, "the engine stopped before the end");
	VT_EQ_INT(artifacts_present(sc.id), 5, "artifacts of the partial run");
	memset(&j, 0, sizeof j);
	vg_store_runner_job_get(store, sc.id, after.attempt, &j);
	VT_EQ_INT(j.exit_code, want_exit, "the job holds the exit code");
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");
}

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
test_program(void)
{
	const char *bdir = getenv("VEGA_BUILDDIR");
	char runner[1024], cmd[4096], worker[VG_UUID_LEN + 1];
	const char *token = "worker-lease-0123456789abcdef012345";
	struct vg_scan sc, after;
	struct vg_runner_job j;
	struct evlist ev;
	bool existed = false;

	if (!bdir) {
		printf("# VEGA_BUILDDIR unset: the program is not run\n");
		return;
	}
	snprintf(runner, sizeof runner, "%s/bin/vega-runner", bdir);
	snprintf(cmd, sizeof cmd, "'%s' --help | grep -q '5 lease lost'", runner);
	VT_EQ_INT(sh(cmd), 0, "--help documents the exit codes");
	snprintf(cmd, sizeof cmd, "'%s' not-a-scan 2>/dev/null", runner);
	VT_EQ_INT(sh(cmd), VG_SCAN_EXIT_USAGE, "not a scan id: exit 2");
	snprintf(cmd, sizeof cmd, "VEGA_RUNNER_ATTEMPT=1 '%s' %s 2>/dev/null", runner,
	    "00000000-0000-4000-8000-000000000000");
	VT_EQ_INT(sh(cmd), VG_SCAN_EXIT_USAGE, "an attempt without a token: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", runner,
	    "00000000-0000-4000-8000-000000000000");
	VT_EQ_INT(sh(cmd), VG_SCAN_EXIT_NOT_RUN, "no such scan: exit 3");

	/* As a worker launches it: claim, job, lease in the environment. */
	new_scan(&sc);
	vg_uuid_new(worker);
	VT_EQ_INT(vg_store_scan_claim(store, worker, sc.id, token, vg_time_now_us(), &after), VG_OK,
	    "the worker claims");
	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, sc.id);
	j.attempt = after.attempt;
	vg_str_copy(j.worker_id, sizeof j.worker_id, worker);
	vg_str_copy(j.mode, sizeof j.mode, "local");
	vg_str_copy(j.external_id, sizeof j.external_id, "1");
	j.exit_code = -1;
	VT_EQ_INT(vg_store_runner_job_create(store, &j, vg_time_now_us(), &existed), VG_OK,
	    "and records the job");
	snprintf(cmd, sizeof cmd, "VEGA_RUNNER_ATTEMPT=%lld VEGA_RUNNER_LEASE_TOKEN=%s '%s' %s "
	    "2>>'%s/runner.log'", (long long)after.attempt, token, runner, sc.id, root);
	VT_EQ_INT(sh(cmd), VG_SCAN_EXIT_COMPLETED, "vega-runner SCAN_ID exits 0");
	VT_EQ_INT(vg_store_scan_get(store, sc.id, &after), VG_OK, "read back");
	VT_EQ_STR(after.status, VG_SCAN_COMPLETED, "the scan completed");
	VT_EQ_INT(after.attempt, 1, "under the worker's attempt");
	events_of(sc.id, &ev);
	VT_EQ_STR(ev.n ? ev.types[ev.n - 1] : "", "scan_completed", "ends with scan_completed");
	VT_EQ_INT(artifacts_present(sc.id), 5, "the five artifacts");
	memset(&j, 0, sizeof j);
	VT_EQ_INT(vg_store_runner_job_get(store, sc.id, 1, &j), VG_OK, "the job");
	VT_EQ_STR(j.status, "exited", "the runner marked its job exited");
	VT_EQ_INT(j.exit_code, 0, "with its exit code");
	VT_EQ_STR(j.mode, "local", "the worker's job, not a new one");
	VT_OK(!tmp_left(sc.id), "the temporary directory is gone");

	/* Its lease again: the scan is finished, the lease no longer current. */
	VT_EQ_INT(sh(cmd), VG_SCAN_EXIT_LEASE_LOST, "a second run under the same lease: exit 5");

	signal_case(runner, true, VG_SCAN_EXIT_CANCELLED, VG_SCAN_CANCELLED, "scan_cancelled");
	signal_case(runner, false, VG_SCAN_EXIT_FAILED, VG_SCAN_FAILED, "scan_failed");
}

int
main(void)
{
	const char *src = getenv("VEGA_SRCDIR");
	char msg[256], logp[700];
	FILE *logf;

	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(datadir, sizeof datadir, "%s/data", root);
	snprintf(rules, sizeof rules, "%s/lib/engine/rules", src ? src : ".");
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_FILE_STORAGE_BACKEND", "local", 1);
	setenv("VEGA_RULES_DIR", rules, 1);
	setenv("VEGA_SCAN_ENGINE", "rules", 1);
	setenv("VEGA_RUNNER_HEARTBEAT_SECONDS", "1", 1);
	unsetenv("VEGA_RUNNER_ATTEMPT");
	unsetenv("VEGA_RUNNER_LEASE_TOKEN");
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		printf("Bail out! settings: %s\n", msg);
		return 1;
	}
	snprintf(logp, sizeof logp, "%s/test.log", root);
	logf = fopen(logp, "w");
	vg_log_init("test");
	vg_log_set_stream(logf);
	msg[0] = '\0';
	if (vg_store_open(&store) != VG_OK || vg_blob_open(&blob, msg, sizeof msg) != VG_OK) {
		printf("Bail out! store or blob: %s\n", msg);
		return 1;
	}
	make_sources();
	test_completed();
	test_cancelled_before_start();
	test_lease_taken_before_start();
	test_lease_lost_mid_run();
	test_cancel_mid_run();
	test_program();
	vg_blob_free(blob);
	vg_store_free(store);
	vg_log_set_stream(NULL);
	if (logf)
		fclose(logf);
	if (!vt_failed)
		vg_fs_remove_tree(root);
	else
		printf("# kept %s\n", root);
	return vt_done();
}
