/*
 * scan_run.c - one server scan from lease to final status (the contract is
 * scan_run.h).
 *
 * Two threads: the runner's, which claims or starts the scan, extracts
 * the snapshot, runs the engine and writes what it reports; and the
 * heartbeat thread, which only reads and heartbeats the scan through a
 * store handle of its own and raises flags (cancel requested, lease lost)
 * that the engine's cancellation check reads.  Nothing else is shared.
 */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "archive/archive.h"
#include "core/fsutil.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/scan_run.h"
#include "engine/engine.h"
#include "engine/report.h"

#define EVENT_PAGE 500
#define COPY_CHUNK (64u * 1024)
#define TITLE_MAX 500
#define PATH_TEXT_MAX 4096
#define EVIDENCE_MAX 16384
#define TEXT_MAX 32768
#define CATEGORY_MAX 128
#define RULE_ID_MAX 256

/*
 * A store call that finds the store unreachable (VG_ERR_UNAVAILABLE: a
 * Postgres restart or failover, which lib/store/pg.c does not paper over
 * for writes) is made again for up to STORE_RETRY_SECONDS from the moment
 * the store was first found unreachable, pausing from 100 ms up to
 * STORE_RETRY_PAUSE_MAX_MS between tries.  The end of the scan gets a
 * window of its own.  Past that the runner gives up (store_retry).
 */
#define STORE_RETRY_SECONDS 10
#define STORE_RETRY_PAUSE_MAX_MS 1000

/* The heartbeat thread. */
struct beat {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	struct vg_store *store;      /* its own handle */
	int64_t interval_us;
};

/* One run.  Heap-allocated: struct vg_scan alone is several KiB. */
struct run {
	struct vg_store *store;
	struct vg_blob *blob;
	const struct vg_scan_run_opts *o;
	struct vg_scan scan;
	char token[VG_STORE_LEASE_MAX + 1];
	struct vg_lease lease;
	bool worker_lease;           /* the lease came from the worker */
	bool job;                    /* a runner job row is ours to update */
	bool started;                /* claimed -> running done */
	char tmpdir[PATH_MAX];
	char srcdir[PATH_MAX];
	char outdir[PATH_MAX];
	struct beat beat;
	atomic_int cancel_requested;
	atomic_int lease_lost;
	atomic_int finishing;        /* finish() began: the runner's thread proves the
	                              * lease itself, and the end it writes is its own */
	atomic_llong files_done;
	int64_t deadline_mono_us;    /* 0: none */
	atomic_int timed_out;
	enum vg_err write_err;       /* a store error in the sink, not a lost lease */
	int64_t store_down_us;       /* when (monotonic) the store was found unreachable;
	                              * 0: it is not */
	bool unrecorded;             /* the end could not be recorded (the store stayed
	                              * unreachable): the scan is left to the rescue */
	int64_t last_seq;            /* the number of the last event we know of */
	struct vg_profile *profile;
	struct vg_engine_result *er;
	char engine[VG_STORE_ENGINE_MAX + 1];
	int64_t started_us;
	/* The outcome. */
	const char *status;          /* VG_SCAN_COMPLETED, ... */
	char code[VG_STORE_ERROR_CODE_MAX + 1];
	char msg[VG_STORE_ERROR_MESSAGE_MAX + 1];
	const char *cancel_reason;
	int64_t nevents;
};

/* ---- small helpers ---------------------------------------------------- */

static void
set_failed(struct run *R, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the outcome failed with code and a message. */
static void
set_failed(struct run *R, const char *code, const char *fmt, ...)
{
	va_list ap;

	R->status = VG_SCAN_FAILED;
	vg_str_copy(R->code, sizeof R->code, code);
	va_start(ap, fmt);
	vsnprintf(R->msg, sizeof R->msg, fmt, ap);
	va_end(ap);
}

static void
set_cancelled(struct run *R, const char *reason)
{
	R->status = VG_SCAN_CANCELLED;
	R->code[0] = '\0';
	vg_str_copy(R->msg, sizeof R->msg, "the scan was cancelled");
	R->cancel_reason = reason;
}

static bool signalled(const struct run *R);

static bool
lease_gone(struct run *R)
{
	return atomic_load(&R->lease_lost) != 0;
}

/* Note what a write that names the lease answered: VG_ERR_CONFLICT means
 * the lease is lost for good.  Returns err. */
static enum vg_err
noted(struct run *R, enum vg_err err, const char *what)
{
	if (err == VG_ERR_CONFLICT && !atomic_exchange(&R->lease_lost, 1))
		vg_log(VG_LOG_WARN, "runner_lease_lost", "scan_id", R->scan.id, "write", what, NULL);
	return err;
}

/*
 * After a store call answered err: whether to make it again.  Only
 * VG_ERR_UNAVAILABLE is tried again, until STORE_RETRY_SECONDS have passed
 * since the store was found unreachable (every call shares that window
 * until one gets through), pausing first, the pause doubling from 100 ms
 * up to STORE_RETRY_PAUSE_MAX_MS; a stop signal or a lost lease ends the
 * waiting.  *tries counts the pauses of this call; what names it in the
 * log.  Only the runner's thread calls it.
 */
static bool
store_retry(struct run *R, enum vg_err err, int *tries, const char *what)
{
	int64_t now = vg_time_mono_us(), left, ms;
	struct timespec ts;

	if (err != VG_ERR_UNAVAILABLE) {
		if (R->store_down_us)
			vg_log(VG_LOG_INFO, "runner_store_back", "scan_id", R->scan.id,
			    "call", what, NULL);
		R->store_down_us = 0;
		return false;
	}
	if (!R->store_down_us) {
		R->store_down_us = now;
		vg_log(VG_LOG_WARN, "runner_store_unavailable", "scan_id", R->scan.id, "call", what,
		    NULL);
	}
	left = R->store_down_us + (int64_t)STORE_RETRY_SECONDS * 1000000 - now;
	if (left <= 0 || signalled(R) || lease_gone(R))
		return false;
	ms = (int64_t)100 << (*tries < 4 ? *tries : 4);
	if (ms > STORE_RETRY_PAUSE_MAX_MS)
		ms = STORE_RETRY_PAUSE_MAX_MS;
	if (ms * 1000 > left)
		ms = left / 1000 + 1;
	(*tries)++;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);   /* a signal cuts it short: the next look sees it */
	return !signalled(R);
}

/*
 * Whether the scan is as a write of ours would have left it: our attempt
 * and lease, status, and (when code is not NULL) error code.  Asked when
 * a write answered VG_ERR_CONFLICT after a try that failed with the store
 * unreachable: that try may have committed before the connection went,
 * and the conflict is then our own write, not a lost lease.
 */
static bool
scan_is(struct run *R, const char *status, const char *code)
{
	struct vg_scan sc;
	enum vg_err err;
	int tries = 0;

	do
		err = vg_store_scan_get(R->store, R->scan.id, &sc);
	while (store_retry(R, err, &tries, "scan read"));
	return err == VG_OK && sc.attempt == R->lease.attempt &&
	    strcmp(sc.lease_token, R->lease.lease_token) == 0 && strcmp(sc.status, status) == 0 &&
	    (!code || strcmp(sc.error_code, code) == 0);
}

/* A heartbeat under the lease, tried again while the store is unreachable
 * (it only sets the heartbeat time and the files count: harmless twice). */
static enum vg_err
heartbeat(struct run *R, bool *cancel)
{
	enum vg_err err;
	int tries = 0;

	do
		err = vg_store_scan_heartbeat(R->store, &R->lease, atomic_load(&R->files_done),
		    vg_time_now_us(), cancel);
	while (store_retry(R, err, &tries, "heartbeat"));
	return noted(R, err, "heartbeat");
}

/*
 * Copy at most max bytes of s as a JSON string into obj[key], cut at a
 * UTF-8 character boundary.  NULL s sets def (may be NULL: nothing set).
 */
static void
put_text(json_t *obj, const char *key, const char *s, size_t max, const char *def)
{
	size_t n;

	if (!s)
		s = def;
	if (!s)
		return;
	n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	json_object_set_new(obj, key, json_stringn(s, n));
}

/* Counts of findings by severity, most severe first (vg_severity_names). */
static json_t *
severity_counts(const struct vg_engine_result *er)
{
	int64_t n[VG_SEVERITY_COUNT] = {0};
	json_t *o = json_object();
	size_t i, k;

	for (i = 0; er && i < er->nfindings; i++)
		for (k = 0; k < VG_SEVERITY_COUNT; k++)
			if (strcmp(vg_severity_names[k], vg_sev_name(er->findings[i]->severity)) == 0)
				n[k]++;
	for (k = 0; o && k < VG_SEVERITY_COUNT; k++)
		json_object_set_new(o, vg_severity_names[k], json_integer((json_int_t)n[k]));
	return o;
}

/* ---- the heartbeat thread --------------------------------------------- */

/*
 * One look at the scan: a heartbeat when one is due, else a read that
 * notices a cancellation request or another attempt.  Once the runner's
 * thread is finishing, the thread looks no more, and an answer it was
 * waiting for counts for nothing: the scan may already show the end the
 * runner wrote, which is no lost lease.
 */
static void
beat_once(struct run *R, int64_t *last_beat)
{
	struct beat *B = &R->beat;
	int64_t now = vg_time_mono_us();
	enum vg_err err;

	if (lease_gone(R) || atomic_load(&R->finishing))
		return;
	if (now - *last_beat >= B->interval_us) {
		bool cancel = false;

		*last_beat = now;
		err = vg_store_scan_heartbeat(B->store, &R->lease, atomic_load(&R->files_done),
		    vg_time_now_us(), &cancel);
		if (atomic_load(&R->finishing))
			return;
		if (err == VG_OK && cancel)
			atomic_store(&R->cancel_requested, 1);
		else if (err == VG_ERR_CONFLICT)
			noted(R, err, "heartbeat");
		else if (err != VG_OK)
			vg_log(VG_LOG_WARN, "runner_heartbeat_failed", "scan_id", R->scan.id,
			    "error", vg_err_code(err), NULL);
	} else {
		struct vg_scan sc;

		if (vg_store_scan_get(B->store, R->scan.id, &sc) != VG_OK ||
		    atomic_load(&R->finishing))
			return;
		if (sc.attempt != R->lease.attempt ||
		    (strcmp(sc.status, VG_SCAN_RUNNING) != 0 && strcmp(sc.status, VG_SCAN_CLAIMED) != 0))
			noted(R, VG_ERR_CONFLICT, "scan read");
		else if (sc.cancel_requested_at_us)
			atomic_store(&R->cancel_requested, 1);
	}
}

static void *
beat_main(void *arg)
{
	struct run *R = arg;
	struct beat *B = &R->beat;
	int64_t last = vg_time_mono_us();
	struct timespec ts;

	pthread_mutex_lock(&B->mu);
	while (!B->quit) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;   /* a cancellation is seen within a second */
		pthread_cond_timedwait(&B->cv, &B->mu, &ts);
		if (B->quit)
			break;
		pthread_mutex_unlock(&B->mu);
		beat_once(R, &last);
		pthread_mutex_lock(&B->mu);
	}
	pthread_mutex_unlock(&B->mu);
	return NULL;
}

/* Start the thread (B->store is open).  Signals stay with the runner's
 * thread: the thread blocks them. */
static enum vg_err
beat_start(struct run *R)
{
	struct beat *B = &R->beat;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	B->interval_us = vg_cfg_int(VG_SET_RUNNER_HEARTBEAT_SECONDS) * 1000000;
	if (pthread_condattr_init(&ca) != 0)
		return VG_ERR_INTERNAL;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&B->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return VG_ERR_INTERNAL;
	if (pthread_mutex_init(&B->mu, NULL) != 0) {
		pthread_cond_destroy(&B->cv);
		return VG_ERR_INTERNAL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&B->thread, NULL, beat_main, R);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&B->mu);
		pthread_cond_destroy(&B->cv);
		return VG_ERR_INTERNAL;
	}
	B->started = true;
	return VG_OK;
}

static void
beat_stop(struct run *R)
{
	struct beat *B = &R->beat;

	if (!B->started)
		return;
	pthread_mutex_lock(&B->mu);
	B->quit = true;
	pthread_cond_signal(&B->cv);
	pthread_mutex_unlock(&B->mu);
	pthread_join(B->thread, NULL);
	pthread_mutex_destroy(&B->mu);
	pthread_cond_destroy(&B->cv);
	B->started = false;
}

/* ---- what stops a run ------------------------------------------------- */

static bool
signalled(const struct run *R)
{
	return R->o->stop && *R->o->stop;
}

/* The engine's cancellation check (and the extraction's). */
static bool
should_stop(void *ctx)
{
	struct run *R = ctx;

	if (lease_gone(R) || atomic_load(&R->cancel_requested) || signalled(R))
		return true;
	if (R->deadline_mono_us && vg_time_mono_us() > R->deadline_mono_us) {
		atomic_store(&R->timed_out, 1);
		return true;
	}
	return false;
}

/*
 * The run was stopped (should_stop said so): ask the store once more
 * whether a cancellation was requested (that heartbeat also proves the
 * lease), and set the outcome: cancelled, failed interrupted or timeout.
 * Nothing is set when the lease is lost.
 */
static void
stopped_outcome(struct run *R)
{
	bool cancel = false;
	enum vg_err err;

	if (lease_gone(R))
		return;
	err = heartbeat(R, &cancel);
	if (err == VG_ERR_CONFLICT)
		return;
	if (cancel || atomic_load(&R->cancel_requested))
		set_cancelled(R, "cancel_requested");
	else if (signalled(R))
		set_failed(R, "interrupted", "the runner was stopped by a signal before the scan "
		    "finished");
	else if (atomic_load(&R->timed_out))
		set_failed(R, "timeout", "the scan ran into the runner's time limit (%lld s)",
		    (long long)vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS));
	else
		set_failed(R, "internal", "the scan stopped for an unknown reason");
}

/* ---- events and findings ---------------------------------------------- */

/*
 * Look for our event of type at at_us among the scan's events after the
 * last one we know: VG_OK with *seq, VG_ERR_NOT_FOUND, or the store's
 * error.  The runner chooses each event's time, to the microsecond, so
 * type and time name one event.
 */
static enum vg_err
event_stored(struct run *R, const char *type, int64_t at_us, int64_t *seq)
{
	struct vg_event *evs = NULL;
	int64_t after = R->last_seq;
	size_t n = 0, i;
	enum vg_err err;
	bool found = false;

	do {
		if ((err = vg_store_event_list(R->store, R->scan.id, after, EVENT_PAGE, &evs, &n)))
			return err;
		for (i = 0; i < n; i++) {
			if (!found && evs[i].created_at_us == at_us &&
			    strcmp(evs[i].type, type) == 0) {
				found = true;
				*seq = evs[i].seq;
			}
			after = evs[i].seq;
			vg_event_clear(&evs[i]);
		}
		free(evs);
		evs = NULL;
	} while (!found && n == EVENT_PAGE);
	return found ? VG_OK : VG_ERR_NOT_FOUND;
}

/*
 * Append an event under the lease; nothing once the lease is lost.  An
 * append is not idempotent (each draws the next number), and one that
 * failed with the store unreachable may still have committed before the
 * connection went: before appending it again, look whether it is there,
 * so that an outage leaves no gap and no event twice.
 */
static enum vg_err
append_event(struct run *R, const char *type, json_t *payload)
{
	int64_t at = vg_time_now_us(), seq = 0;
	enum vg_err err;
	int tries = 0;

	if (lease_gone(R))
		return VG_ERR_CONFLICT;
	err = vg_store_event_append(R->store, &R->lease, type, payload, at, &seq);
	while (store_retry(R, err, &tries, type)) {
		err = event_stored(R, type, at, &seq);
		if (err == VG_ERR_NOT_FOUND)
			err = vg_store_event_append(R->store, &R->lease, type, payload, at, &seq);
	}
	if (err == VG_OK && seq > R->last_seq)
		R->last_seq = seq;
	return noted(R, err, type);
}

/* The engine's scan_started as a scan_log: one scan_started per scan,
 * the runner's. */
static json_t *
engine_started_log(const json_t *payload)
{
	const char *engine = json_string_value(json_object_get(payload, "engine"));
	const char *rv = json_string_value(json_object_get(payload, "rules_version"));
	json_t *rules = json_object_get(payload, "rules");
	char m[300];
	json_t *o;

	if (rules)
		snprintf(m, sizeof m, "engine %s started with %lld rules (%s)", engine ? engine : "?",
		    (long long)json_integer_value(rules), rv ? rv : "?");
	else
		snprintf(m, sizeof m, "engine %s started", engine ? engine : "?");
	o = json_pack("{s:s, s:s}", "level", "info", "message", m);
	if (o) {
		json_object_update_missing(o, (json_t *)payload);
		json_object_del(o, "root");   /* a temporary path of no use to anyone */
	}
	return o;
}

static enum vg_err
sink_event(void *ctx, const struct vg_engine_event *ev)
{
	struct run *R = ctx;
	const char *type = vg_event_type_name(ev->type);
	json_t *log = NULL;
	enum vg_err err;

	if (ev->type == VG_EV_SCAN_STARTED) {
		if (!(log = engine_started_log(ev->payload)))
			return VG_ERR_NOMEM;
		type = vg_event_type_name(VG_EV_SCAN_LOG);
	} else if (ev->type == VG_EV_SCAN_PROGRESS) {
		json_t *done = json_object_get(ev->payload, "files_done");

		if (json_is_integer(done))
			atomic_store(&R->files_done, (long long)json_integer_value(done));
	}
	err = append_event(R, type, log ? log : ev->payload);
	json_decref(log);
	if (err != VG_OK && err != VG_ERR_CONFLICT && !R->write_err)
		R->write_err = err;
	if (err == VG_OK && R->o->after_event)
		R->o->after_event(R->o->hook_ctx, type);
	return err;
}

/* The finding's data in the fields of the findings table (store.h). */
static json_t *
finding_data(const struct vg_finding *f, const char *engine)
{
	json_t *d = json_object(), *cwe = json_array();
	size_t i;

	if (!d || !cwe) {
		json_decref(d);
		json_decref(cwe);
		return NULL;
	}
	for (i = 0; i < f->ncwe && i < VG_FINDING_MAX_CWE; i++)
		if (f->cwe[i] > 0)
			json_array_append_new(cwe, json_integer(f->cwe[i]));
	put_text(d, "title", f->title && *f->title ? f->title : NULL, TITLE_MAX,
	    f->rule_id ? f->rule_id : "finding");
	json_object_set_new(d, "severity", json_string(vg_sev_name(f->severity)));
	json_object_set_new(d, "cwe_ids", cwe);
	put_text(d, "category", f->category, CATEGORY_MAX, "");
	put_text(d, "file_path", f->path, PATH_TEXT_MAX, "");
	if (f->line_start >= 1) {
		json_object_set_new(d, "line_start", json_integer(f->line_start));
		json_object_set_new(d, "line_end", json_integer(f->line_end >= f->line_start ?
		    f->line_end : f->line_start));
	} else {
		json_object_set_new(d, "line_start", json_null());
		json_object_set_new(d, "line_end", json_null());
	}
	put_text(d, "evidence", f->snippet, EVIDENCE_MAX, "");
	put_text(d, "description", f->description, TEXT_MAX, "");
	put_text(d, "exploit_scenario", f->exploit_scenario, TEXT_MAX, "");
	put_text(d, "recommendation", f->recommendation, TEXT_MAX, "");
	json_object_set_new(d, "confidence", json_string(vg_conf_name(f->confidence)));
	put_text(d, "engine", f->engine && *f->engine ? f->engine : NULL, VG_STORE_ENGINE_MAX,
	    engine);
	if (f->rule_id)
		put_text(d, "rule_id", f->rule_id, RULE_ID_MAX, NULL);
	else
		json_object_set_new(d, "rule_id", json_null());
	json_object_set_new(d, "model", json_null());
	return d;
}

/* Upsert each finding by fingerprint as it arrives (also when a later
 * duplicate merged into it). */
static enum vg_err
sink_finding(void *ctx, const struct vg_finding *f, bool updated)
{
	struct run *R = ctx;
	struct vg_finding_row row;
	enum vg_err err;
	int tries = 0;

	(void)updated;
	if (lease_gone(R))
		return VG_ERR_CONFLICT;
	memset(&row, 0, sizeof row);
	vg_str_copy(row.scan_id, sizeof row.scan_id, R->scan.id);
	vg_str_copy(row.fingerprint, sizeof row.fingerprint, f->fingerprint);
	vg_str_copy(row.severity, sizeof row.severity, vg_sev_name(f->severity));
	if (!(row.data = finding_data(f, R->engine)))
		return VG_ERR_NOMEM;
	/* An upsert by fingerprint is idempotent: one that committed before
	 * the store became unreachable is found and rewritten as it is. */
	do
		err = vg_store_finding_upsert(R->store, &R->lease, &row, vg_time_now_us(), NULL);
	while (store_retry(R, err, &tries, "finding"));
	err = noted(R, err, "finding");
	vg_finding_row_clear(&row);
	if (err != VG_OK && err != VG_ERR_CONFLICT && !R->write_err)
		R->write_err = err;
	return err;
}

/* ---- the snapshot ----------------------------------------------------- */

struct src_read {
	struct run *R;
	struct vg_blob_reader *r;
};

/* The extraction's input: the snapshot tar, stopping when the run must. */
static enum vg_err
src_read_fn(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct src_read *s = ctx;

	if (should_stop(s->R))
		return VG_ERR_CONFLICT;
	return vg_blob_reader_read(s->r, buf, cap, got);
}

/* Make the private temporary directory, with src/ and out/ in it. */
static enum vg_err
make_tmpdir(struct run *R)
{
	char base[PATH_MAX];
	int n;

	n = snprintf(base, sizeof base, "%s/tmp", vg_cfg_str(VG_SET_DATA_DIR));
	if (n < 0 || (size_t)n >= sizeof base || vg_fs_mkdir_p(base, 0700) != VG_OK)
		return VG_ERR_IO;
	n = snprintf(R->tmpdir, sizeof R->tmpdir, "%s/scan-%s-XXXXXX", base, R->scan.id);
	if (n < 0 || (size_t)n >= sizeof R->tmpdir || !mkdtemp(R->tmpdir)) {
		R->tmpdir[0] = '\0';
		return VG_ERR_IO;
	}
	n = snprintf(R->srcdir, sizeof R->srcdir, "%s/src", R->tmpdir);
	if (n < 0 || (size_t)n >= sizeof R->srcdir || mkdir(R->srcdir, 0700) != 0)
		return VG_ERR_IO;
	n = snprintf(R->outdir, sizeof R->outdir, "%s/out", R->tmpdir);
	if (n < 0 || (size_t)n >= sizeof R->outdir || mkdir(R->outdir, 0700) != 0)
		return VG_ERR_IO;
	return VG_OK;
}

/*
 * Fetch the scan's snapshot and extract it into R->srcdir.  On failure
 * the outcome is set (or the lease is lost) and the error returned.
 */
static enum vg_err
fetch_snapshot(struct run *R)
{
	struct vg_snapshot snap;
	struct vg_archive_limits lim;
	struct vg_archive_result ar;
	struct src_read s = {R, NULL};
	enum vg_err err;
	char m[200];
	int tries = 0;

	memset(&ar, 0, sizeof ar);
	do
		err = vg_store_snapshot_get(R->store, R->scan.snapshot_id, &snap);
	while (store_retry(R, err, &tries, "snapshot read"));
	if (err != VG_OK) {
		set_failed(R, "snapshot_unavailable", "the snapshot %s cannot be read: %s",
		    R->scan.snapshot_id, vg_err_message(err));
		return err;
	}
	if ((err = vg_blob_get(R->blob, VG_BLOB_SOURCES, snap.storage_key, &s.r)) != VG_OK) {
		set_failed(R, "snapshot_unavailable", "the snapshot's files cannot be read: %s",
		    vg_err_message(err));
		return err;
	}
	vg_archive_limits_from_settings(&lim);
	err = vg_archive_extract(src_read_fn, &s, R->srcdir, &lim, &ar);
	vg_blob_reader_free(s.r);
	if (err == VG_ERR_CONFLICT && should_stop(R)) {
		stopped_outcome(R);
	} else if (err == VG_ERR_INVALID_ARCHIVE || err == VG_ERR_TOO_LARGE) {
		set_failed(R, "snapshot_invalid", "the snapshot was refused on extraction: %s%s%s",
		    ar.reason[0] ? ar.reason : vg_err_message(err), ar.path[0] ? ": " : "", ar.path);
	} else if (err != VG_OK) {
		set_failed(R, "snapshot_unavailable", "the snapshot could not be extracted: %s",
		    vg_err_message(err));
	} else {
		snprintf(m, sizeof m, "snapshot extracted: %llu files, %llu bytes",
		    (unsigned long long)ar.files, (unsigned long long)ar.bytes);
		json_t *p = json_pack("{s:s, s:s, s:I, s:I}", "level", "info", "message", m,
		    "files", (json_int_t)ar.files, "bytes", (json_int_t)ar.bytes);

		err = p ? append_event(R, "scan_log", p) : VG_ERR_NOMEM;
		json_decref(p);
	}
	vg_archive_result_clear(&ar);
	return err;
}

/* Load the scan's threat profile version into R->profile (none: NULL). */
static enum vg_err
load_profile(struct run *R)
{
	struct vg_threat_profile tp;
	enum vg_err err;
	int tries = 0;

	if (!R->scan.profile_id[0])
		return VG_OK;
	do {
		memset(&tp, 0, sizeof tp);
		err = vg_store_threat_profile_get(R->store, R->scan.profile_id,
		    R->scan.profile_version, &tp);
	} while (store_retry(R, err, &tries, "profile read"));
	if (err == VG_OK)
		err = tp.content ? vg_profile_from_json(tp.content, &R->profile) : VG_ERR_INVALID;
	if (err == VG_OK && !R->profile->name && !(R->profile->name = strdup(tp.name)))
		err = VG_ERR_NOMEM;
	if (err != VG_OK)
		set_failed(R, "profile_unavailable", "the threat profile %s version %lld cannot be "
		    "used: %s", R->scan.profile_id, (long long)R->scan.profile_version,
		    vg_err_message(err));
	vg_threat_profile_clear(&tp);
	return err;
}

/* ---- the engine ------------------------------------------------------- */

static enum vg_err
run_engine(struct run *R)
{
	struct vg_engine_sink sink = {R, sink_event, sink_finding};
	struct vg_engine_params p;
	enum vg_err err;

	memset(&p, 0, sizeof p);
	p.root = R->srcdir;
	p.profile = R->profile;
	p.rules_dir = R->o->rules_dir;
	p.cancelled = should_stop;
	p.cancel_ctx = R;
	p.sink = &sink;
	err = vg_engine_run(R->engine[0] ? R->engine : NULL, &p, &R->er);
	if (R->er)
		atomic_store(&R->files_done, (long long)R->er->files_audited);
	if (err == VG_OK || lease_gone(R))
		return err;
	if (R->write_err)
		set_failed(R, "store_unavailable", "the scan's results could not be written: %s",
		    vg_err_message(R->write_err));
	else if (err == VG_ERR_CONFLICT && should_stop(R))
		stopped_outcome(R);
	else if (err == VG_ERR_NOT_FOUND && !R->er)
		set_failed(R, "engine_unavailable", "no engine is called \"%s\"", R->engine);
	else if (err == VG_ERR_UNAVAILABLE && !R->er)
		set_failed(R, "engine_unavailable", "the engine \"%s\" is not configured", R->engine);
	else
		set_failed(R, "engine_failed", "the engine failed: %s",
		    R->er && R->er->error ? R->er->error : vg_err_message(err));
	return err;
}

/* ---- artifacts -------------------------------------------------------- */

/* Names under scans/<scan_id>/, in upload order. */
static const char *const artifact_names[] = {
	"events.jsonl", "runner-summary.json", "report.json", "report.sarif", "debug-bundle.zip",
};

static int
out_path(const struct run *R, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", R->outdir, name);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* One event as its events.jsonl line. */
static enum vg_err
write_event_line(FILE *fp, const char *scan_id, int64_t seq, const char *type,
    json_t *payload, int64_t at_us)
{
	char at[VG_TIME_RFC3339_LEN];
	json_t *o;
	char *s;
	int rc;

	vg_time_format(at_us, at);
	o = json_pack("{s:s, s:I, s:s, s:o, s:s}", "scan_id", scan_id, "seq", (json_int_t)seq,
	    "type", type, "payload", payload ? json_incref(payload) : json_object(),
	    "created_at", at);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (!s)
		return VG_ERR_NOMEM;
	rc = fprintf(fp, "%s\n", s);
	free(s);
	return rc < 0 ? VG_ERR_IO : VG_OK;
}

/*
 * events.jsonl: every stored event of the scan, then the final event as
 * vg_store_scan_finish will store it (type, payload, at now_us).
 */
static enum vg_err
write_events(struct run *R, const char *path, const char *final_type, json_t *final_payload,
    int64_t now_us)
{
	struct vg_event *evs = NULL;
	size_t n = 0, i;
	int64_t after = 0;
	FILE *fp;
	enum vg_err err = VG_OK;
	int tries = 0;

	if (!(fp = fopen(path, "w")))
		return VG_ERR_IO;
	R->nevents = 0;
	for (;;) {
		do
			err = vg_store_event_list(R->store, R->scan.id, after, EVENT_PAGE, &evs, &n);
		while (store_retry(R, err, &tries, "event list"));
		if (err)
			break;
		for (i = 0; i < n; i++) {
			if (!err)
				err = write_event_line(fp, R->scan.id, evs[i].seq, evs[i].type,
				    evs[i].payload, evs[i].created_at_us);
			after = evs[i].seq;
			R->nevents++;
			vg_event_clear(&evs[i]);
		}
		free(evs);
		evs = NULL;
		if (err || n < EVENT_PAGE)
			break;
	}
	if (!err) {
		err = write_event_line(fp, R->scan.id, after + 1, final_type, final_payload, now_us);
		R->nevents++;
	}
	if (fclose(fp) != 0 && !err)
		err = VG_ERR_IO;
	return err;
}

/* runner-summary.json as a new object. */
static json_t *
summary_json(struct run *R, int64_t now_us)
{
	const struct vg_engine_result *er = R->er;
	char t0[VG_TIME_RFC3339_LEN], t1[VG_TIME_RFC3339_LEN];
	struct vg_llm_totals llm;
	json_t *o, *usage = json_null();

	vg_time_format(R->started_us, t0);
	vg_time_format(now_us, t1);
	memset(&llm, 0, sizeof llm);
	if (vg_store_llm_totals(R->store, R->scan.id, &llm) == VG_OK) {
		json_decref(usage);
		usage = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "requests", (json_int_t)llm.requests, "input_tokens", (json_int_t)llm.input_tokens,
		    "cached_input_tokens", (json_int_t)llm.cached_input_tokens,
		    "output_tokens", (json_int_t)llm.output_tokens,
		    "reasoning_tokens", (json_int_t)llm.reasoning_tokens,
		    "cost_microusd", (json_int_t)llm.cost_microusd,
		    "reserved_tokens", (json_int_t)llm.reserved_tokens,
		    "reserved_microusd", (json_int_t)llm.reserved_microusd);
	}
	o = json_pack("{s:i, s:s, s:I, s:s, s:s?, s:s?, s:s, s:s}",
	    "schema_version", 1, "scan_id", R->scan.id, "attempt", (json_int_t)R->lease.attempt,
	    "status", R->status, "error_code", R->code[0] ? R->code : NULL,
	    "error_message", strcmp(R->status, VG_SCAN_COMPLETED) ? R->msg : NULL,
	    "repository_id", R->scan.repository_id, "snapshot_id", R->scan.snapshot_id);
	if (!o) {
		json_decref(usage);
		return NULL;
	}
	json_object_set_new(o, "profile_id", R->scan.profile_id[0] ?
	    json_string(R->scan.profile_id) : json_null());
	json_object_set_new(o, "profile_version", R->scan.profile_id[0] ?
	    json_integer((json_int_t)R->scan.profile_version) : json_null());
	json_object_set_new(o, "runner", json_pack("{s:s, s:I}", "mode",
	    R->worker_lease ? "worker" : "thread", "pid", (json_int_t)getpid()));
	json_object_set_new(o, "started_at", json_string(t0));
	json_object_set_new(o, "finished_at", json_string(t1));
	json_object_set_new(o, "duration_ms", json_integer((json_int_t)(now_us - R->started_us) / 1000));
	json_object_set_new(o, "timings", er && er->timings ? json_incref(er->timings) : json_object());
	json_object_set_new(o, "engine", json_pack("{s:s, s:s?, s:s?, s:I}",
	    "name", er && er->engine ? er->engine : R->engine,
	    "version", er ? er->engine_version : NULL, "rules_version", er ? er->rules_version : NULL,
	    "rules", (json_int_t)(er ? er->nrules : 0)));
	json_object_set_new(o, "files_scanned", json_integer((json_int_t)(er ? er->files_audited : 0)));
	json_object_set_new(o, "bytes_scanned", json_integer((json_int_t)(er ? er->bytes_audited : 0)));
	json_object_set_new(o, "findings", json_pack("{s:I, s:o}", "total",
	    (json_int_t)(er ? er->nfindings : 0), "by_severity", severity_counts(er)));
	json_object_set_new(o, "events", json_integer((json_int_t)R->nevents));
	json_object_set_new(o, "llm_usage", usage ? usage : json_null());
	return o;
}

/* Add n bytes of data as name to the zip a. */
static enum vg_err
zip_add_mem(struct archive *a, const char *name, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	enum vg_err err = VG_OK;

	if (!e)
		return VG_ERR_NOMEM;
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (n && archive_write_data(a, data, n) != (la_ssize_t)n))
		err = VG_ERR_IO;
	archive_entry_free(e);
	return err;
}

/* Add the file at path as name to the zip a, read in chunks. */
static enum vg_err
zip_add_file(struct archive *a, const char *name, const char *path)
{
	struct archive_entry *e = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	enum vg_err err = VG_OK;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !(buf = malloc(COPY_CHUNK)) || !(e = archive_entry_new())) {
		err = VG_ERR_IO;
		goto out;
	}
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)st.st_size);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		err = VG_ERR_IO;
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf, COPY_CHUNK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = VG_ERR_IO;
			break;
		}
		if (got == 0)
			break;
		if (archive_write_data(a, buf, (size_t)got) != (la_ssize_t)got) {
			err = VG_ERR_IO;
			break;
		}
	}
out:
	archive_entry_free(e);
	free(buf);
	close(fd);
	return err;
}

/* debug-bundle.zip: the summary, the events, the plan and the coverage
 * statement.  Never the source or the findings' evidence. */
static enum vg_err
write_bundle(struct run *R, const char *path)
{
	char p_events[PATH_MAX], p_summary[PATH_MAX];
	const json_t *plan = R->er ? R->er->plan : NULL;
	const char *stmt = plan ?
	    json_string_value(json_object_get(plan, "coverage_statement")) : NULL;
	struct archive *a = archive_write_new();
	char *plan_text = NULL;
	enum vg_err err = VG_OK;

	if (!a)
		return VG_ERR_NOMEM;
	if (out_path(R, "events.jsonl", p_events, sizeof p_events) < 0 ||
	    out_path(R, "runner-summary.json", p_summary, sizeof p_summary) < 0 ||
	    archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		err = VG_ERR_IO;
		goto out;
	}
	if (plan && !(plan_text = json_dumps(plan, JSON_INDENT(2) | JSON_ENSURE_ASCII))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if (!stmt)
		stmt = "No coverage: the engine did not plan this scan.";
	if ((err = zip_add_file(a, "runner-summary.json", p_summary)) ||
	    (err = zip_add_file(a, "events.jsonl", p_events)) ||
	    (err = zip_add_mem(a, "plan.json", plan_text ? plan_text : "null\n",
	    plan_text ? strlen(plan_text) : 5)) ||
	    (err = zip_add_mem(a, "coverage.txt", stmt, strlen(stmt))))
		goto out;
out:
	if (archive_write_close(a) != ARCHIVE_OK && !err)
		err = VG_ERR_IO;
	archive_write_free(a);
	free(plan_text);
	return err;
}

/* The engine's result for the reports, made to agree with the outcome;
 * a stand-in when the engine never ran. */
static enum vg_err
report_result(struct run *R, int64_t now_us)
{
	struct vg_engine_result *er = R->er;

	if (!er) {
		if (!(er = calloc(1, sizeof *er)) ||
		    !(er->engine = strdup(R->engine[0] ? R->engine : vg_engine_auto_name()))) {
			free(er);
			return VG_ERR_NOMEM;
		}
		er->started_us = R->started_us;
		er->finished_us = now_us;
		R->er = er;
	}
	er->success = strcmp(R->status, VG_SCAN_COMPLETED) == 0;
	er->cancelled = strcmp(R->status, VG_SCAN_CANCELLED) == 0;
	if (!er->success) {
		free(er->error);
		if (!(er->error = strdup(R->msg)))
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

/* The final event's payload, as a new object. */
static json_t *
final_payload(struct run *R, int64_t now_us)
{
	json_t *o = json_pack("{s:I, s:I, s:o, s:I, s:I}", "attempt", (json_int_t)R->lease.attempt,
	    "findings", (json_int_t)(R->er ? R->er->nfindings : 0), "by_severity",
	    severity_counts(R->er), "files_scanned", (json_int_t)atomic_load(&R->files_done),
	    "duration_ms", (json_int_t)(now_us - R->started_us) / 1000);

	if (!o)
		return NULL;
	if (strcmp(R->status, VG_SCAN_FAILED) == 0) {
		json_object_set_new(o, "error_code", json_string(R->code));
		json_object_set_new(o, "error_message", json_string(R->msg));
	} else if (strcmp(R->status, VG_SCAN_CANCELLED) == 0) {
		json_object_set_new(o, "reason", json_string(R->cancel_reason ? R->cancel_reason :
		    "cancel_requested"));
	}
	return o;
}

static const char *
final_type(const char *status)
{
	static const struct {
		const char *status, *event;
	} map[] = {
		{VG_SCAN_COMPLETED, "scan_completed"},
		{VG_SCAN_FAILED, "scan_failed"},
		{VG_SCAN_CANCELLED, "scan_cancelled"},
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].status, status) == 0)
			return map[i].event;
	return "scan_failed";
}

/*
 * Write every artifact into R->outdir and upload them under
 * scans/<scan_id>/, for the outcome as it stands, with the final event
 * (payload fp) at now_us.
 */
static enum vg_err
artifacts(struct run *R, json_t *fp, int64_t now_us)
{
	char path[PATH_MAX], key[VG_BLOB_KEY_MAX + 1];
	json_t *doc = NULL;
	enum vg_err err;
	size_t i;

	if (!R->outdir[0])
		return VG_ERR_IO;   /* no temporary directory: nothing can be written */
	if ((err = report_result(R, now_us)))
		return err;
	if (out_path(R, "events.jsonl", path, sizeof path) < 0)
		return VG_ERR_IO;
	if ((err = write_events(R, path, final_type(R->status), fp, now_us)))
		return err;
	if (out_path(R, "runner-summary.json", path, sizeof path) < 0)
		return VG_ERR_IO;
	doc = summary_json(R, now_us);
	err = doc ? vg_report_write(doc, path) : VG_ERR_NOMEM;
	json_decref(doc);
	if (err)
		return err;
	if (out_path(R, "report.json", path, sizeof path) < 0)
		return VG_ERR_IO;
	doc = vg_report_json(R->er);
	err = doc ? vg_report_write(doc, path) : VG_ERR_NOMEM;
	json_decref(doc);
	if (err)
		return err;
	if (out_path(R, "report.sarif", path, sizeof path) < 0)
		return VG_ERR_IO;
	doc = vg_report_sarif(R->er);
	err = doc ? vg_report_write(doc, path) : VG_ERR_NOMEM;
	json_decref(doc);
	if (err)
		return err;
	if (out_path(R, "debug-bundle.zip", path, sizeof path) < 0)
		return VG_ERR_IO;
	if ((err = write_bundle(R, path)))
		return err;
	for (i = 0; i < sizeof artifact_names / sizeof artifact_names[0]; i++) {
		int n = snprintf(key, sizeof key, "scans/%s/%s", R->scan.id, artifact_names[i]);

		if (n < 0 || (size_t)n >= sizeof key || out_path(R, artifact_names[i], path,
		    sizeof path) < 0)
			return VG_ERR_INTERNAL;
		if ((err = vg_blob_put_file(R->blob, VG_BLOB_ARTIFACTS, key, path, VG_BLOB_REPLACE,
		    NULL))) {
			vg_log(VG_LOG_ERROR, "runner_artifact_failed", "scan_id", R->scan.id,
			    "key", key, "error", vg_err_code(err), NULL);
			return err;
		}
	}
	return VG_OK;
}

/*
 * Record the end f under the lease, trying again while the store is
 * unreachable.  A try that committed before the connection went makes
 * the next one answer VG_ERR_CONFLICT (the scan is no longer active):
 * when the scan is just as f leaves it, under our lease, that is our own
 * end, recorded once (status and final event are one statement).
 */
static enum vg_err
finish_write(struct run *R, const struct vg_scan_finish *f)
{
	enum vg_err err;
	int tries = 0;

	err = vg_store_scan_finish(R->store, &R->lease, f);
	while (store_retry(R, err, &tries, "finish"))
		err = vg_store_scan_finish(R->store, &R->lease, f);
	if (err == VG_ERR_CONFLICT && tries > 0 && scan_is(R, f->status, f->error_code))
		err = VG_OK;
	return noted(R, err, "finish");
}

/*
 * The end of a started scan: artifacts, then the status and final event
 * in one step.  A completed scan whose artifacts cannot be stored fails
 * (artifacts_failed) and its artifacts are written again for that.  The
 * end has a store retry window of its own; a store still unreachable
 * after it answers VG_ERR_UNAVAILABLE, with nothing uploaded (the events
 * cannot be read) and nothing recorded.
 */
static enum vg_err
finish(struct run *R)
{
	struct vg_scan_finish f;
	json_t *fp = NULL;
	int64_t now_us;
	enum vg_err err;
	bool cancel = false;

	if (lease_gone(R))
		return VG_ERR_CONFLICT;
	atomic_store(&R->finishing, 1);
	R->store_down_us = 0;
	/* Prove the lease before anything is uploaded under the scan's name. */
	err = heartbeat(R, &cancel);
	if (err == VG_ERR_CONFLICT || err == VG_ERR_UNAVAILABLE)
		return err;
	now_us = vg_time_now_us();
	if (!(fp = final_payload(R, now_us)))
		return VG_ERR_NOMEM;
	if ((err = artifacts(R, fp, now_us)) != VG_OK) {
		vg_log(VG_LOG_ERROR, "runner_artifacts_failed", "scan_id", R->scan.id,
		    "error", vg_err_code(err), NULL);
		if (strcmp(R->status, VG_SCAN_COMPLETED) == 0) {
			set_failed(R, "artifacts_failed", "the scan's artifacts could not be stored: %s",
			    vg_err_message(err));
			json_decref(fp);
			now_us = vg_time_now_us();
			if (!(fp = final_payload(R, now_us)))
				return VG_ERR_NOMEM;
			(void)artifacts(R, fp, now_us);
		}
	}
	memset(&f, 0, sizeof f);
	f.status = R->status;
	f.error_code = strcmp(R->status, VG_SCAN_FAILED) == 0 ? R->code : NULL;
	f.error_message = strcmp(R->status, VG_SCAN_FAILED) == 0 ? R->msg : NULL;
	f.event_type = final_type(R->status);
	f.event_payload = fp;
	f.now_us = now_us;
	err = finish_write(R, &f);
	json_decref(fp);
	return err;
}

/* ---- the lease -------------------------------------------------------- */

enum vg_err
vg_scan_run_lease_from_env(struct vg_scan_run_opts *o)
{
	const char *a = getenv("VEGA_RUNNER_ATTEMPT");
	const char *t = getenv("VEGA_RUNNER_LEASE_TOKEN");
	int64_t attempt;
	size_t n;

	if (!a && !t)
		return VG_OK;
	if (!a || !t || vg_str_to_i64(a, 1, INT32_MAX, &attempt) != VG_OK)
		return VG_ERR_INVALID;
	n = strlen(t);
	if (n < 16 || n > VG_STORE_LEASE_MAX)
		return VG_ERR_INVALID;
	o->attempt = attempt;
	o->lease_token = t;
	return VG_OK;
}

/* Update our runner job, when there is one; failures are logged only. */
static void
job_update(struct run *R, const char *status, int64_t exit_code, const char *message)
{
	struct vg_runner_job_change c;
	char pid[24];
	enum vg_err err;
	int tries = 0;

	if (!R->job)
		return;
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	memset(&c, 0, sizeof c);
	c.status = status;
	c.external_id = R->worker_lease ? NULL : pid;
	c.exit_code = exit_code;
	c.error_message = message;
	/* Setting the same values twice is harmless. */
	do {
		c.now_us = vg_time_now_us();
		err = vg_store_runner_job_update(R->store, R->scan.id, R->lease.attempt, &c);
	} while (store_retry(R, err, &tries, "runner job"));
	if (err)
		vg_log(VG_LOG_WARN, "runner_job_update_failed", "scan_id", R->scan.id,
		    "status", status, "error", vg_err_code(err), NULL);
}

/*
 * Take the lease: the worker's, or a claim of our own with a runner job
 * (thread dispatch).  Writes nothing else.  On failure res says why.
 */
static enum vg_err
take_lease(struct run *R, struct vg_scan_run_result *res)
{
	char worker[VG_UUID_LEN + 1];
	unsigned char raw[32];
	struct vg_runner_job j;
	struct vg_scan sc;
	enum vg_err err;
	bool existed = false;
	int tries = 0;

	if (R->o->lease_token) {
		R->worker_lease = true;
		vg_str_copy(R->token, sizeof R->token, R->o->lease_token);
		R->lease.attempt = R->o->attempt;
		R->job = true;
		return VG_OK;
	}
	if (strcmp(R->scan.status, VG_SCAN_QUEUED) != 0) {
		res->exit_code = strcmp(R->scan.status, VG_SCAN_CANCELLED) == 0 ?
		    VG_SCAN_EXIT_CANCELLED : VG_SCAN_EXIT_NOT_RUN;
		snprintf(res->message, sizeof res->message, "the scan is %s, not queued, and no "
		    "lease was given", R->scan.status);
		return VG_ERR_CONFLICT;
	}
	if ((err = vg_uuid_new(worker)) || (err = vg_random_bytes(raw, sizeof raw)))
		goto fail;
	vg_hex_encode(raw, sizeof raw, R->token);
	/* Into sc: a failed claim clears its answer, and R->scan.id is
	 * needed again. */
	do
		err = vg_store_scan_claim(R->store, worker, R->scan.id, R->token, vg_time_now_us(),
		    &sc);
	while (store_retry(R, err, &tries, "claim"));
	/* A try that committed before the store became unreachable: the
	 * scan is claimed with our fresh token. */
	if ((err == VG_ERR_NOT_FOUND || err == VG_ERR_CONFLICT) && tries > 0 &&
	    vg_store_scan_get(R->store, R->scan.id, &sc) == VG_OK &&
	    strcmp(sc.status, VG_SCAN_CLAIMED) == 0 && strcmp(sc.lease_token, R->token) == 0)
		err = VG_OK;
	if (err == VG_OK)
		R->scan = sc;
	if (err == VG_ERR_NOT_FOUND || err == VG_ERR_CONFLICT) {
		/* Claimed by someone else, or cancelled, since we read it. */
		if (vg_store_scan_get(R->store, R->scan.id, &R->scan) == VG_OK &&
		    strcmp(R->scan.status, VG_SCAN_CANCELLED) == 0)
			res->exit_code = VG_SCAN_EXIT_CANCELLED;
		else
			res->exit_code = VG_SCAN_EXIT_NOT_RUN;
		snprintf(res->message, sizeof res->message, "the scan could not be claimed: it is %s",
		    R->scan.status);
		return VG_ERR_CONFLICT;
	}
	if (err)
		goto fail;
	R->lease.attempt = R->scan.attempt;
	memset(&j, 0, sizeof j);
	vg_str_copy(j.scan_id, sizeof j.scan_id, R->scan.id);
	j.attempt = R->scan.attempt;
	vg_str_copy(j.mode, sizeof j.mode, "thread");
	snprintf(j.external_id, sizeof j.external_id, "%ld", (long)getpid());
	j.exit_code = -1;
	if ((err = vg_store_runner_job_create(R->store, &j, vg_time_now_us(), &existed)) == VG_OK)
		R->job = true;
	else
		vg_log(VG_LOG_WARN, "runner_job_create_failed", "scan_id", R->scan.id,
		    "error", vg_err_code(err), NULL);
	return VG_OK;
fail:
	res->exit_code = VG_SCAN_EXIT_NOT_RUN;
	snprintf(res->message, sizeof res->message, "the scan could not be claimed: %s",
	    vg_err_message(err));
	return err;
}

/* ---- the run ---------------------------------------------------------- */

/* The scan_started event's payload. */
static json_t *
started_payload(const struct run *R)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "attempt", (json_int_t)R->lease.attempt,
	    "snapshot_id", R->scan.snapshot_id, "engine", R->engine[0] ? R->engine : "auto",
	    "runner", R->worker_lease ? "worker" : "thread", "pid", (json_int_t)getpid());

	if (o && R->scan.profile_id[0]) {
		json_object_set_new(o, "profile_id", json_string(R->scan.profile_id));
		json_object_set_new(o, "profile_version", json_integer(R->scan.profile_version));
	}
	return o;
}

/*
 * A started scan: fetch, extract, run the engine, then finish.  Sets the
 * outcome; returns the error that decided it.
 */
static enum vg_err
run_started(struct run *R)
{
	enum vg_err err, decided = VG_OK;
	json_t *p;
	int64_t max_s, margin;

	max_s = vg_cfg_int(VG_SET_RUNNER_MAX_SECONDS);
	margin = max_s / 10 < 60 ? max_s / 10 : 60;
	R->deadline_mono_us = vg_time_mono_us() + (max_s - margin) * 1000000;
	if (!(p = started_payload(R)))
		return VG_ERR_NOMEM;
	err = append_event(R, "scan_started", p);
	json_decref(p);
	if (err == VG_ERR_CONFLICT)
		return err;
	if (err) {
		set_failed(R, "store_unavailable", "the scan_started event could not be written: %s",
		    vg_err_message(err));
		decided = err;
	}
	if (!decided && (err = make_tmpdir(R)) != VG_OK) {
		set_failed(R, "internal", "the runner's temporary directory could not be made");
		decided = err;
	}
	if (!decided && (decided = load_profile(R)) == VG_OK) {
		if ((decided = fetch_snapshot(R)) == VG_OK) {
			if (should_stop(R)) {
				stopped_outcome(R);
				decided = VG_ERR_CONFLICT;
			} else {
				decided = run_engine(R);
			}
		}
	}
	if (lease_gone(R))
		return VG_ERR_CONFLICT;
	if (!decided)
		R->status = VG_SCAN_COMPLETED;
	else if (!R->status)
		set_failed(R, "internal", "%s", vg_err_message(decided));
	err = finish(R);
	if (err == VG_ERR_CONFLICT)
		return err;
	if (err) {
		/* Still running in the store, with no runner: the stale-scan
		 * rescue ends it once its heartbeat is old. */
		vg_log(VG_LOG_ERROR, "runner_finish_failed", "scan_id", R->scan.id,
		    "status", R->status, "error", vg_err_code(err), NULL);
		R->unrecorded = true;
		return err;
	}
	return decided;
}

/* The exit code of an outcome (status set). */
static int
exit_of(const char *status)
{
	if (strcmp(status, VG_SCAN_COMPLETED) == 0)
		return VG_SCAN_EXIT_COMPLETED;
	if (strcmp(status, VG_SCAN_CANCELLED) == 0)
		return VG_SCAN_EXIT_CANCELLED;
	return VG_SCAN_EXIT_FAILED;
}

/*
 * claimed -> running under the lease, tried again while the store is
 * unreachable; when a try that committed before the connection went
 * makes the next one conflict, the scan is running under our lease.
 */
static enum vg_err
start_scan(struct run *R)
{
	enum vg_err err;
	int tries = 0;

	do
		err = vg_store_scan_start(R->store, &R->lease, vg_time_now_us());
	while (store_retry(R, err, &tries, "start"));
	if (err == VG_ERR_CONFLICT && tries > 0 && scan_is(R, VG_SCAN_RUNNING, NULL))
		err = VG_OK;
	return noted(R, err, "start");
}

/*
 * The scan is claimed under our lease but cancellation was requested
 * before it started: finish it cancelled from claimed.
 */
static enum vg_err
cancel_unstarted(struct run *R)
{
	struct vg_scan_finish f;
	json_t *p = json_pack("{s:I, s:s, s:b}", "attempt", (json_int_t)R->lease.attempt,
	    "reason", "cancel_requested", "started", 0);
	enum vg_err err;

	if (!p)
		return VG_ERR_NOMEM;
	memset(&f, 0, sizeof f);
	f.status = VG_SCAN_CANCELLED;
	f.event_type = "scan_cancelled";
	f.event_payload = p;
	f.now_us = vg_time_now_us();
	err = finish_write(R, &f);
	json_decref(p);
	if (err == VG_OK)
		set_cancelled(R, "cancel_requested");
	return err;
}

enum vg_err
vg_scan_run(struct vg_store *store, struct vg_blob *blob, const char *scan_id,
    const struct vg_scan_run_opts *o, struct vg_scan_run_result *res)
{
	static const struct vg_scan_run_opts no_opts;
	struct run *R = NULL;
	struct vg_scan now;
	enum vg_err err;
	char emsg[64];
	int tries = 0;

	memset(res, 0, sizeof *res);
	res->exit_code = VG_SCAN_EXIT_NOT_RUN;
	if (!o)
		o = &no_opts;
	if (!scan_id || !vg_uuid_valid(scan_id) || (o->lease_token && o->attempt < 1)) {
		res->exit_code = VG_SCAN_EXIT_USAGE;
		vg_str_copy(res->message, sizeof res->message, "not a scan id, or a lease without "
		    "an attempt");
		return VG_ERR_INVALID;
	}
	if (!(R = calloc(1, sizeof *R))) {
		vg_str_copy(res->message, sizeof res->message, "out of memory");
		return VG_ERR_NOMEM;
	}
	R->store = store;
	R->blob = blob;
	R->o = o;
	R->started_us = vg_time_now_us();
	vg_log_set_scan_id(scan_id);
	do
		err = vg_store_scan_get(store, scan_id, &R->scan);
	while (store_retry(R, err, &tries, "scan read"));
	if (err != VG_OK) {
		snprintf(res->message, sizeof res->message, "the scan cannot be read: %s",
		    err == VG_ERR_NOT_FOUND ? "no such scan" : vg_err_message(err));
		goto out;
	}
	vg_str_copy(R->engine, sizeof R->engine, R->scan.engine);
	if ((err = vg_store_open(&R->beat.store)) != VG_OK) {
		snprintf(res->message, sizeof res->message, "the store cannot be opened for the "
		    "heartbeat: %s", vg_err_message(err));
		goto out;
	}
	if ((err = take_lease(R, res)) != VG_OK)
		goto out;
	R->lease.scan_id = R->scan.id;
	R->lease.lease_token = R->token;
	res->attempt = R->lease.attempt;
	job_update(R, "running", -1, NULL);

	/* The scan may have been cancelled while claimed.  Read into now: a
	 * failed read clears its answer, and R->scan.id names the lease. */
	tries = 0;
	do
		err = vg_store_scan_get(store, scan_id, &now);
	while (store_retry(R, err, &tries, "scan read"));
	if (err == VG_OK)
		R->scan = now;
	R->last_seq = R->scan.last_event_seq;
	if (err == VG_OK && R->scan.attempt == R->lease.attempt && R->scan.cancel_requested_at_us &&
	    strcmp(R->scan.status, VG_SCAN_CLAIMED) == 0) {
		err = cancel_unstarted(R);
		goto done;
	}
	err = start_scan(R);
	if (err != VG_OK && err != VG_ERR_CONFLICT) {
		snprintf(res->message, sizeof res->message, "the scan could not be started: %s",
		    vg_err_message(err));
		job_update(R, "failed", VG_SCAN_EXIT_NOT_RUN, res->message);
		goto out;
	}
	if (err == VG_OK) {
		R->started = true;
		vg_log(VG_LOG_INFO, "runner_scan_started", "scan_id", R->scan.id, "mode",
		    R->worker_lease ? "worker" : "thread", NULL);
		if (beat_start(R) != VG_OK) {
			set_failed(R, "internal", "the heartbeat thread could not be started");
			err = finish(R);
			if (err != VG_OK && err != VG_ERR_CONFLICT)
				R->unrecorded = true;
			if (err == VG_OK)
				err = VG_ERR_INTERNAL;
		} else {
			err = run_started(R);
			beat_stop(R);
		}
	}
done:
	if (lease_gone(R)) {
		res->exit_code = VG_SCAN_EXIT_LEASE_LOST;
		vg_str_copy(res->message, sizeof res->message, "the scan's lease was lost (another "
		    "attempt holds it, or the scan was rescued or finished): nothing more was written");
		err = VG_ERR_CONFLICT;
	} else if (R->unrecorded) {
		res->exit_code = VG_SCAN_EXIT_NOT_RUN;
		vg_str_copy(res->error_code, sizeof res->error_code, "store_unavailable");
		snprintf(res->message, sizeof res->message, "the scan's end (%s%s%s) could not be "
		    "recorded: %s; it stays running until the stale-scan rescue ends it", R->status,
		    R->code[0] ? ", " : "", R->code, vg_err_message(err));
	} else if (R->status) {
		res->exit_code = exit_of(R->status);
		vg_str_copy(res->status, sizeof res->status, R->status);
		vg_str_copy(res->error_code, sizeof res->error_code, R->code);
		if (strcmp(R->status, VG_SCAN_COMPLETED) != 0)
			vg_str_copy(res->message, sizeof res->message, R->msg);
	} else if (err) {
		res->exit_code = VG_SCAN_EXIT_NOT_RUN;
		snprintf(res->message, sizeof res->message, "the scan could not be run: %s",
		    vg_err_message(err));
	}
	res->findings = R->er ? (int64_t)R->er->nfindings : 0;
	res->files_scanned = atomic_load(&R->files_done);
	snprintf(emsg, sizeof emsg, "%d", res->exit_code);
	vg_log(res->exit_code == VG_SCAN_EXIT_COMPLETED ? VG_LOG_INFO : VG_LOG_WARN,
	    "runner_scan_done", "scan_id", R->scan.id, "status", res->status,
	    "error_code", res->error_code, "exit_code", emsg, NULL);
	if (res->exit_code == VG_SCAN_EXIT_NOT_RUN)
		job_update(R, "failed", res->exit_code, res->message);
	else
		job_update(R, "exited", res->exit_code, NULL);
out:
	if (R->tmpdir[0] && vg_fs_remove_tree(R->tmpdir) != VG_OK)
		vg_log(VG_LOG_ERROR, "runner_tmpdir_left", "scan_id", scan_id, "path", R->tmpdir, NULL);
	vg_engine_result_free(R->er);
	vg_profile_free(R->profile);
	vg_store_free(R->beat.store);
	free(R);
	vg_log_set_scan_id(NULL);
	return err;
}
