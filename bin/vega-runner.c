/*
 * vega-runner - run one scan.
 *
 *   vega-runner --dir PATH [--profile FILE] [--sarif OUT] [--json OUT]
 *               [--fail-on SEVERITY] [--engine NAME] [--rules DIR] ...
 *
 *   vega-runner --ingest REPOSITORY_ID [--ref REF]
 *
 *   vega-runner SCAN_ID [--rules DIR]
 *
 * The offline mode scans a directory without any server: it prints a
 * summary, writes the reports it is asked for, and exits 0 when no finding
 * is at or above --fail-on (default high), 1 when some are, 2 on a usage
 * error, 3 when the scan itself could not run.
 *
 * The ingest mode fetches a git repository's snapshot for the store
 * (lib/domain/ingest.h; the API starts it detached) and records the
 * outcome on the repository: exit 0 ready, 1 failed (the failure is
 * recorded on the repository), 2 usage error, 3 could not run (store or
 * file storage unavailable, no such git repository, or the outcome could
 * not be recorded).
 *
 * The server scan mode runs one scan of the store to its end
 * (lib/domain/scan_run.h): with the lease of the worker that claimed it
 * (VEGA_RUNNER_ATTEMPT and VEGA_RUNNER_LEASE_TOKEN in the environment), or
 * claiming the queued scan itself (thread dispatch).  SIGTERM and SIGINT
 * stop it cleanly: the scan ends cancelled when a cancellation was
 * requested, else failed (error "interrupted"), keeping what was written.
 * Exit status:
 *   0  the scan completed
 *   1  the scan failed (recorded on the scan with its error code)
 *   2  usage error (also a malformed lease environment)
 *   3  could not start: store or file storage unavailable, no such scan,
 *      or the scan is not queued and no lease was given; or, for a scan
 *      that started, the store stayed away longer than the runner waits
 *      (its end is then left to the stale-scan rescue)
 *   4  the scan is cancelled
 *   5  the lease was lost (the scan was rescued, re-claimed or finished by
 *      someone else): nothing more was written
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/git.h"
#include "blob/blob.h"
#include "core/id.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/str.h"
#include "domain/ingest.h"
#include "domain/scan_run.h"
#include "engine/engine.h"
#include "store/store.h"
#include "engine/report.h"

#define EXIT_CLEAN 0
#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define EXIT_SCAN_FAILED 3
/* --ingest */
#define EXIT_READY 0
#define EXIT_INGEST_FAILED 1
#define EXIT_NOT_RUN 3

struct args {
	const char *dir, *profile, *sarif, *json, *engine, *rules, *extra_rules;
	const char *fail_on;
	const char *ingest, *ref;
	int64_t max_file_bytes, top;
	bool quiet, verbose, help, version;
	const char *positional;
};

typedef enum vg_err (*opt_fn)(struct args *, const char *);

static enum vg_err
set_int(int64_t *dst, const char *v, int64_t min, int64_t max)
{
	return vg_str_to_i64(v, min, max, dst);
}

#define STR_SETTER(field) \
	static enum vg_err set_##field(struct args *a, const char *v) { a->field = v; return VG_OK; }
STR_SETTER(dir)
STR_SETTER(profile)
STR_SETTER(sarif)
STR_SETTER(json)
STR_SETTER(engine)
STR_SETTER(rules)
STR_SETTER(extra_rules)

static enum vg_err
set_ingest(struct args *a, const char *v)
{
	if (!vg_uuid_valid(v))
		return VG_ERR_INVALID;
	a->ingest = v;
	return VG_OK;
}

static enum vg_err
set_ref(struct args *a, const char *v)
{
	if (!*v || vg_git_ref_check(v, NULL) != VG_OK)
		return VG_ERR_INVALID;
	a->ref = v;
	return VG_OK;
}

static enum vg_err
set_fail_on(struct args *a, const char *v)
{
	enum vg_sev s;

	if (strcmp(v, "none") != 0 && vg_sev_parse(v, &s) != VG_OK)
		return VG_ERR_INVALID;
	a->fail_on = v;
	return VG_OK;
}

static enum vg_err
set_max_file(struct args *a, const char *v)
{
	return set_int(&a->max_file_bytes, v, 1024, 1073741824);
}

static enum vg_err
set_top(struct args *a, const char *v)
{
	return set_int(&a->top, v, 0, 100000);
}

static enum vg_err
set_quiet(struct args *a, const char *v)
{
	a->quiet = true;
	return VG_OK;
}

static enum vg_err
set_verbose(struct args *a, const char *v)
{
	a->verbose = true;
	return VG_OK;
}

static enum vg_err
set_help(struct args *a, const char *v)
{
	a->help = true;
	return VG_OK;
}

static enum vg_err
set_version(struct args *a, const char *v)
{
	a->version = true;
	return VG_OK;
}

static const struct option_entry {
	const char *name;
	const char *metavar;   /* NULL: a flag without a value */
	opt_fn set;
	const char *help;
} options[] = {
	{"--dir", "PATH", set_dir, "scan this directory offline (no server)"},
	{"--profile", "FILE", set_profile, "threat profile (JSON: focus, out_of_scope, ...)"},
	{"--sarif", "OUT", set_sarif, "write a SARIF 2.1.0 report"},
	{"--json", "OUT", set_json, "write the JSON report (plan, coverage, findings)"},
	{"--fail-on", "SEVERITY", set_fail_on,
	    "exit 1 when a finding is at or above it: critical|high|medium|low|info|none (default high)"},
	{"--engine", "NAME", set_engine, "engine to run: auto|rules (default VEGA_SCAN_ENGINE)"},
	{"--rules", "DIR", set_rules, "rules directory (default VEGA_RULES_DIR or the installed rules)"},
	{"--extra-rules", "DIR", set_extra_rules, "additional rules directory"},
	{"--max-file-bytes", "N", set_max_file, "skip files larger than N bytes"},
	{"--top", "N", set_top, "show the first N findings in the summary (default 20)"},
	{"--quiet", NULL, set_quiet, "print nothing but errors"},
	{"--verbose", NULL, set_verbose, "print engine events as JSON lines on stderr"},
	{"--help", NULL, set_help, "show this help"},
	{"--version", NULL, set_version, "show the version"},
	{"--ingest", "REPOSITORY_ID", set_ingest,
	    "fetch the git repository's snapshot into the store (started by the API)"},
	{"--ref", "REF", set_ref, "with --ingest: branch, tag or commit (default: the repository's)"},
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: vega-runner --dir PATH [--profile FILE] [--sarif OUT] [--json OUT]\n"
	    "                   [--fail-on SEVERITY] [options]\n"
	    "       vega-runner --ingest REPOSITORY_ID [--ref REF]\n"
	    "       vega-runner SCAN_ID [--rules DIR]\n\n");
	for (i = 0; i < sizeof options / sizeof options[0]; i++) {
		char left[40];

		snprintf(left, sizeof left, "%s%s%s", options[i].name, options[i].metavar ? " " : "",
		    options[i].metavar ? options[i].metavar : "");
		fprintf(out, "  %-24s %s\n", left, options[i].help);
	}
	fprintf(out, "\nexit status with --dir: 0 clean, 1 findings at or above --fail-on,"
	    " 2 usage error, 3 scan failed\n");
	fprintf(out, "with --ingest: 0 snapshot ready, 1 fetch failed (recorded on the repository),"
	    " 2 usage error,\n  3 could not run (store or storage unavailable, no such git"
	    " repository)\n");
	fprintf(out, "with SCAN_ID: 0 completed, 1 scan failed (recorded on the scan), 2 usage error,\n"
	    "  3 could not start (store or storage unavailable, no such scan, not queued and no\n"
	    "  lease in VEGA_RUNNER_ATTEMPT/VEGA_RUNNER_LEASE_TOKEN; or its end could not be\n"
	    "  recorded: the store stayed away, left to the stale-scan rescue), 4 cancelled,\n"
	    "  5 lease lost (nothing more written)\n");
}

/* Parse argv through the option table; "--name=value" also works. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		size_t k, n;

		if (arg[0] != '-' || arg[1] == '\0') {
			if (a->positional) {
				fprintf(stderr, "vega-runner: unexpected argument \"%s\"\n", arg);
				return -1;
			}
			a->positional = arg;
			continue;
		}
		eq = strchr(arg, '=');
		n = eq ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; k < sizeof options / sizeof options[0]; k++)
			if (strlen(options[k].name) == n && strncmp(options[k].name, arg, n) == 0)
				break;
		if (k == sizeof options / sizeof options[0]) {
			fprintf(stderr, "vega-runner: unknown option \"%.*s\"\n", (int)n, arg);
			return -1;
		}
		if (options[k].metavar) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "vega-runner: %s needs %s\n", options[k].name, options[k].metavar);
				return -1;
			}
		} else if (eq) {
			fprintf(stderr, "vega-runner: %s takes no value\n", options[k].name);
			return -1;
		}
		if (options[k].set(a, val) != VG_OK) {
			fprintf(stderr, "vega-runner: invalid value for %s: \"%s\"\n", options[k].name,
			    val ? val : "");
			return -1;
		}
	}
	return 0;
}

/* ---- the offline mode -------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool
cancelled(void *ctx)
{
	(void)ctx;
	return stop_requested != 0;
}

static enum vg_err
print_event(void *ctx, const struct vg_engine_event *ev)
{
	const struct args *a = ctx;

	if (a->verbose) {
		json_t *line = json_pack("{s:s, s:O}", "type", vg_event_type_name(ev->type),
		    "payload", ev->payload);
		char *s = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(line);
	}
	return VG_OK;
}

static int
write_report(json_t *doc, const char *path, const char *what)
{
	if (!doc || vg_report_write(doc, path) != VG_OK) {
		fprintf(stderr, "vega-runner: cannot write the %s report to %s\n", what, path);
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	return 0;
}

static int
run_offline(struct args *a)
{
	struct vg_profile *prof = NULL;
	struct vg_engine_result *res = NULL;
	struct vg_engine_sink sink = {a, print_event, NULL};
	struct vg_engine_params p;
	struct sigaction sa;
	enum vg_sev fail_sev = VG_SEV_HIGH;
	bool fail_none = false;
	enum vg_err err;
	int rc = EXIT_SCAN_FAILED;

	if (a->fail_on) {
		if (strcmp(a->fail_on, "none") == 0)
			fail_none = true;
		else
			vg_sev_parse(a->fail_on, &fail_sev);
	}
	if (a->profile) {
		err = vg_profile_load(a->profile, &prof);
		if (err) {
			fprintf(stderr, "vega-runner: cannot use the profile %s: %s\n", a->profile,
			    err == VG_ERR_IO ? "cannot read it" : "not a valid profile");
			return EXIT_USAGE;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(&p, 0, sizeof p);
	p.root = a->dir;
	p.profile = prof;
	p.rules_dir = a->rules;
	p.extra_rules_dir = a->extra_rules;
	p.cancelled = cancelled;
	p.sink = &sink;
	p.limits.max_file_bytes = (uint64_t)a->max_file_bytes;
	err = vg_engine_run(a->engine, &p, &res);
	if (err == VG_ERR_NOT_FOUND && !res) {
		fprintf(stderr, "vega-runner: unknown engine \"%s\"\n", a->engine ? a->engine : "");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!res) {
		fprintf(stderr, "vega-runner: the scan could not start: %s\n", vg_err_message(err));
		goto out;
	}
	if (a->json && write_report(vg_report_json(res), a->json, "JSON") < 0)
		goto out;
	if (a->sarif && write_report(vg_report_sarif(res), a->sarif, "SARIF") < 0)
		goto out;
	if (!a->quiet)
		vg_report_summary(res, stdout, a->top >= 0 ? (size_t)a->top : 20);
	if (err) {
		fprintf(stderr, "vega-runner: scan %s: %s\n", res->cancelled ? "cancelled" : "failed",
		    res->error ? res->error : vg_err_message(err));
		goto out;
	}
	if (!fail_none && vg_report_count_at_least(res, fail_sev) > 0) {
		if (!a->quiet)
			printf("%zu finding%s at or above %s: failing.\n",
			    vg_report_count_at_least(res, fail_sev),
			    vg_report_count_at_least(res, fail_sev) == 1 ? "" : "s", vg_sev_name(fail_sev));
		rc = EXIT_FINDINGS;
	} else {
		rc = EXIT_CLEAN;
	}
out:
	vg_engine_result_free(res);
	vg_profile_free(prof);
	return rc;
}

/* ---- the ingest mode ---------------------------------------------------- */

static int
run_ingest(struct args *a)
{
	struct vg_store *store = NULL;
	struct vg_blob *blob = NULL;
	struct vg_repository repo;
	char msg[256];
	enum vg_err err;
	int rc = EXIT_NOT_RUN;

	if (a->dir) {
		fprintf(stderr, "vega-runner: --ingest and --dir do not go together\n");
		return EXIT_USAGE;
	}
	if ((err = vg_store_open(&store)) != VG_OK) {
		fprintf(stderr, "vega-runner: the store cannot be opened: %s\n", vg_err_message(err));
		goto out;
	}
	msg[0] = '\0';
	if ((err = vg_blob_open(&blob, msg, sizeof msg)) != VG_OK) {
		fprintf(stderr, "vega-runner: the file storage cannot be opened: %s\n",
		    msg[0] ? msg : vg_err_message(err));
		goto out;
	}
	err = vg_domain_git_ingest(store, blob, a->ingest, a->ref, NULL, &repo);
	if (err == VG_OK) {
		rc = EXIT_READY;
	} else if (strcmp(repo.ingest_status, VG_INGEST_FAILED) == 0) {
		fprintf(stderr, "vega-runner: ingest of %s failed: %s: %s\n", a->ingest,
		    repo.ingest_error_code, repo.ingest_error_message);
		rc = EXIT_INGEST_FAILED;
	} else {
		fprintf(stderr, "vega-runner: ingest of %s could not run: %s\n", a->ingest,
		    err == VG_ERR_CONFLICT ? "not a git repository" : vg_err_message(err));
	}
out:
	vg_blob_free(blob);
	vg_store_free(store);
	return rc;
}

/* ---- the server scan mode ---------------------------------------------- */

static volatile sig_atomic_t scan_stop;

static void
on_scan_signal(int sig)
{
	scan_stop = sig;
}

static int
run_scan(struct args *a)
{
	struct vg_store *store = NULL;
	struct vg_blob *blob = NULL;
	struct vg_scan_run_opts o;
	struct vg_scan_run_result res;
	struct sigaction sa;
	char msg[256];
	enum vg_err err;
	int rc = VG_SCAN_EXIT_NOT_RUN;

	if (a->profile || a->sarif || a->json || a->fail_on || a->engine || a->extra_rules ||
	    a->max_file_bytes || a->top >= 0 || a->ref) {
		fprintf(stderr, "vega-runner: with SCAN_ID only --rules is accepted (the scan says "
		    "the rest)\n");
		return VG_SCAN_EXIT_USAGE;
	}
	if (!vg_uuid_valid(a->positional)) {
		fprintf(stderr, "vega-runner: \"%s\" is not a scan id\n", a->positional);
		return VG_SCAN_EXIT_USAGE;
	}
	memset(&o, 0, sizeof o);
	if (vg_scan_run_lease_from_env(&o) != VG_OK) {
		fprintf(stderr, "vega-runner: VEGA_RUNNER_ATTEMPT and VEGA_RUNNER_LEASE_TOKEN go "
		    "together: an attempt of 1 or more and a token of 16 to %d bytes\n",
		    VG_STORE_LEASE_MAX);
		return VG_SCAN_EXIT_USAGE;
	}
	o.stop = &scan_stop;
	o.rules_dir = a->rules;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_scan_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((err = vg_store_open(&store)) != VG_OK) {
		fprintf(stderr, "vega-runner: the store cannot be opened: %s\n", vg_err_message(err));
		goto out;
	}
	msg[0] = '\0';
	if ((err = vg_blob_open(&blob, msg, sizeof msg)) != VG_OK) {
		fprintf(stderr, "vega-runner: the file storage cannot be opened: %s\n",
		    msg[0] ? msg : vg_err_message(err));
		goto out;
	}
	vg_scan_run(store, blob, a->positional, &o, &res);
	rc = res.exit_code;
	if (rc != VG_SCAN_EXIT_COMPLETED)
		fprintf(stderr, "vega-runner: scan %s: %s%s%s\n", a->positional,
		    res.status[0] ? res.status : "could not run", res.message[0] ? ": " : "",
		    res.message);
out:
	vg_blob_free(blob);
	vg_store_free(store);
	return rc;
}

/* ---- modes ------------------------------------------------------------- */

static bool
wants_ingest(const struct args *a)
{
	return a->ingest != NULL;
}

static bool
wants_offline(const struct args *a)
{
	return a->dir != NULL;
}

static bool
wants_scan(const struct args *a)
{
	return a->positional != NULL && !a->dir && !a->ingest;
}

static const struct mode {
	const char *name;
	bool (*applies)(const struct args *);
	int (*run)(struct args *);
} modes[] = {
	{"ingest", wants_ingest, run_ingest},
	{"offline", wants_offline, run_offline},
	{"scan", wants_scan, run_scan},
};

int
main(int argc, char **argv)
{
	struct args a;
	size_t i;

	memset(&a, 0, sizeof a);
	a.top = -1;
	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.help) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (a.version) {
		printf("vega-runner %s\n", PACKAGE_VERSION);
		return EXIT_CLEAN;
	}
	if (a.ref && !a.ingest) {
		fprintf(stderr, "vega-runner: --ref goes with --ingest\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	vg_settings_load_or_exit("vega-runner");
	vg_log_init("runner");
	if (a.positional && a.ingest) {
		fprintf(stderr, "vega-runner: SCAN_ID and --ingest do not go together\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (modes[i].applies(&a))
			return modes[i].run(&a);
	usage(stderr);
	return EXIT_USAGE;
}
