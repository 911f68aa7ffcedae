/* engine_rules.c - the offline rules auditor behind engine.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/log.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "engine/analyze.h"
#include "engine/finding.h"
#include "engine/internal.h"
#include "engine/plan.h"
#include "engine/rules.h"

#ifndef VG_DEFAULT_RULES_DIR
#define VG_DEFAULT_RULES_DIR "/usr/local/share/vega/rules"
#endif

#define PROGRESS_EVERY_FILES 500

const char *
vg_rules_engine_dir(void)
{
	const char *d = vg_cfg_str(VG_SET_RULES_DIR);

	return d && *d ? d : VG_DEFAULT_RULES_DIR;
}

bool
vg_rules_engine_configured(void)
{
	return access(vg_rules_engine_dir(), R_OK | X_OK) == 0;
}

/*
 * Read a whole regular file (at most max bytes) into a NUL-terminated
 * buffer.  Symbolic links are refused (O_NOFOLLOW): the plan skipped them,
 * and the tree must not change under us into something else.
 */
static enum vg_err
read_file(const char *path, uint64_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	enum vg_err err = VG_OK;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		err = VG_ERR_IO;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + n, (size_t)st.st_size - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;   /* the file shrank: audit what is there */
		n += (size_t)got;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

/* Count earlier hits of the same rule, function and statement text. */
static unsigned
occurrence(const struct vg_file_scan *fs, size_t i)
{
	unsigned n = 0;
	size_t k;

	for (k = 0; k < i; k++)
		if (fs->hits[k].rule == fs->hits[i].rule &&
		    strcmp(fs->hits[k].func, fs->hits[i].func) == 0 &&
		    strcmp(fs->hits[k].norm, fs->hits[i].norm) == 0)
			n++;
	return n;
}

/* Turn hit i of a file into a finding (NULL when out of memory). */
static struct vg_finding *
hit_finding(const struct vg_file_scan *fs, size_t i, const char *path, const char *src,
    size_t len)
{
	const struct vg_hit *h = &fs->hits[i];
	const struct vg_rule *r = h->rule;
	struct vg_finding *f = calloc(1, sizeof *f);
	size_t k;

	if (!f)
		return NULL;
	f->rule_id = strdup(r->id);
	f->title = strdup(r->title);
	f->category = strdup(r->category);
	f->path = strdup(path);
	f->description = strdup(r->description);
	f->exploit_scenario = r->exploit ? strdup(r->exploit) : NULL;
	f->recommendation = strdup(r->recommendation);
	f->message = strdup(h->message);
	f->function = strdup(h->func);
	f->engine = strdup("rules");
	f->snippet = vg_snippet(src, len, fs, h->off,
	    h->line_end > h->line + 2 ? 3 : h->line_end - h->line + 1, 400);
	if (!f->rule_id || !f->title || !f->category || !f->path || !f->description ||
	    (r->exploit && !f->exploit_scenario) || !f->recommendation || !f->message ||
	    !f->function || !f->engine || !f->snippet) {
		vg_finding_free(f);
		return NULL;
	}
	f->severity = r->severity;
	f->confidence = r->confidence;
	if (h->in_test) {
		/* Keys in tests and examples are usually fakes: still reported,
		 * at the bottom of the list. */
		f->severity = VG_SEV_LOW;
		f->confidence = VG_CONF_LOW;
	}
	for (k = 0; k < r->ncwe; k++)
		f->cwe[k] = r->cwe[k];
	f->ncwe = r->ncwe;
	f->line_start = h->line;
	f->line_end = h->line_end;
	f->col_start = h->col;
	vg_finding_fingerprint(r->id, path, h->func, h->norm, occurrence(fs, i), f->fingerprint);
	return f;
}

static json_t *
finding_event(const struct vg_finding *f, bool fresh)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "fingerprint", f->fingerprint,
	    "rule_id", f->rule_id, "severity", vg_sev_name(f->severity), "path", f->path,
	    "line", (int)f->line_start, "title", f->title, "new", fresh);
}

/* Hand a file's hits to the set and the sink. */
static enum vg_err
report_hits(const struct vg_engine_params *p, struct vg_finding_set *set,
    const struct vg_file_scan *fs, const char *path, const char *src, size_t len)
{
	const struct vg_profile *prof = p->profile;
	enum vg_err err = VG_OK;
	size_t i;

	for (i = 0; i < fs->nhits && !err; i++) {
		struct vg_finding *f = hit_finding(fs, i, path, src, len);
		size_t idx;
		int added, changed;

		if (!f)
			return VG_ERR_NOMEM;
		if (prof && f->severity < prof->min_severity) {
			vg_finding_free(f);
			continue;
		}
		if ((err = vg_finding_set_add(set, f, &idx, &added, &changed)))
			break;
		if (!added && !changed)
			continue;
		if (p->sink && p->sink->finding &&
		    (err = p->sink->finding(p->sink->ctx, set->items[idx], !added)))
			break;
		err = vg_engine_emit(p, VG_EV_FINDING_UPDATED, finding_event(set->items[idx], added));
	}
	return err;
}

static int
cmp_findings(const void *a, const void *b)
{
	const struct vg_finding *x = *(struct vg_finding *const *)a;
	const struct vg_finding *y = *(struct vg_finding *const *)b;
	int c;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if ((c = strcmp(x->path, y->path)))
		return c;
	if (x->line_start != y->line_start)
		return x->line_start < y->line_start ? -1 : 1;
	return strcmp(x->fingerprint, y->fingerprint);
}

static enum vg_err
progress(const struct vg_engine_params *p, const struct vg_plan *plan, size_t done,
    uint64_t bytes_done, const char *component)
{
	int pct = plan->bytes ? (int)(bytes_done * 100 / plan->bytes) : 100;

	return vg_engine_emit(p, VG_EV_SCAN_PROGRESS, json_pack("{s:s, s:s, s:i, s:I, s:I}",
	    "step", "audit", "component", component, "percent", pct,
	    "files_done", (json_int_t)done, "files_total", (json_int_t)plan->nfiles));
}

/*
 * The rules engine: load the rules, plan, audit each file in plan order,
 * report findings as they are found.  Fills r (allocated by the caller).
 */
enum vg_err
vg_rules_engine_run(const struct vg_engine_params *p, struct vg_engine_result *r)
{
	struct vg_ruleset *rs = NULL;
	struct vg_analyzer *an = NULL;
	struct vg_plan *plan = NULL;
	struct vg_profile *defprof = NULL;
	const struct vg_profile *prof = p->profile;
	struct vg_engine_params pp = *p;
	struct vg_finding_set set;
	struct vg_engine_limits lim = p->limits;
	const char *dir = p->rules_dir ? p->rules_dir : vg_rules_engine_dir();
	const char *extra = p->extra_rules_dir ? p->extra_rules_dir : vg_cfg_str(VG_SET_EXTRA_RULES_DIR);
	const char *base;
	char msg[512], path[8192];
	int64_t t0 = vg_time_mono_us(), t_plan = 0, t_audit = 0;
	size_t i, done = 0, last_comp = (size_t)-1, truncated = 0;
	uint64_t bytes_done = 0;
	enum vg_err err;

	vg_finding_set_init(&set);
	if (!prof) {
		if ((err = vg_profile_default(&defprof)))
			goto out;
		prof = defprof;
		pp.profile = prof;
	}
	if (!lim.max_file_bytes)
		lim.max_file_bytes = (uint64_t)vg_cfg_int(VG_SET_ENGINE_MAX_FILE_BYTES);
	if (!lim.max_component_bytes)
		lim.max_component_bytes = (uint64_t)vg_cfg_int(VG_SET_ENGINE_MAX_COMPONENT_BYTES);
	if (!lim.max_files)
		lim.max_files = (uint64_t)vg_cfg_int(VG_SET_ENGINE_MAX_FILES);
	if (!(r->engine_version = strdup(PACKAGE_VERSION))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = vg_ruleset_load(dir, extra, &rs, msg, sizeof msg))) {
		r->error = strdup(msg);
		vg_log(VG_LOG_ERROR, "rules_load_failed", "message", msg, NULL);
		goto out;
	}
	r->nrules = rs->n;
	if (!(r->rules_version = strdup(rs->version))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	base = strrchr(p->root, '/');
	base = base && base[1] ? base + 1 : p->root;
	if ((err = vg_engine_emit(&pp, VG_EV_SCAN_STARTED, json_pack("{s:s, s:s, s:s, s:I, s:s}",
	    "engine", "rules", "engine_version", PACKAGE_VERSION, "rules_version", rs->version,
	    "rules", (json_int_t)rs->n, "root", base))))
		goto out;
	if ((err = vg_plan_build(p->root, prof, &lim, p->cancelled, p->cancel_ctx, &plan)))
		goto out;
	t_plan = vg_time_mono_us();
	if (!(r->plan = vg_plan_to_json(plan, prof))) {
		err = VG_ERR_NOMEM;
		goto out;
	}
	if ((err = vg_engine_emit(&pp, VG_EV_SCAN_PROGRESS, json_pack("{s:s, s:i, s:I, s:O}",
	    "step", "plan", "percent", 0, "files_total", (json_int_t)plan->nfiles, "plan", r->plan))) ||
	    (err = vg_engine_log(&pp, "info", plan->statement)))
		goto out;
	if ((err = vg_analyzer_new(rs, &an)))
		goto out;
	for (i = 0; i < plan->nfiles; i++) {
		const struct vg_plan_file *f = &plan->files[i];
		struct vg_file_scan fs;
		char *src = NULL;
		size_t len = 0;

		if (vg_engine_cancelled(p)) {
			err = VG_ERR_CONFLICT;
			goto out;
		}
		if (f->comp != last_comp || done % PROGRESS_EVERY_FILES == 0) {
			last_comp = f->comp;
			if ((err = progress(&pp, plan, done, bytes_done, plan->comps[f->comp].name)))
				goto out;
		}
		snprintf(path, sizeof path, "%s/%s", p->root, f->path);
		if (read_file(path, lim.max_file_bytes, &src, &len) != VG_OK) {
			char m[600];

			/* Gone or changed since planning: say so, go on. */
			snprintf(m, sizeof m, "could not read %s; not audited", f->path);
			free(src);
			if ((err = vg_engine_log(&pp, "warn", m)))
				goto out;
			continue;
		}
		err = vg_analyze_file(an, f->path, f->lang, src, len, &fs);
		if (!err) {
			if (fs.truncated || fs.steps >= 200000000ull)
				truncated++;
			err = report_hits(&pp, &set, &fs, f->path, src, len);
		}
		vg_file_scan_free(&fs);
		free(src);
		if (err)
			goto out;
		done++;
		bytes_done += f->size;
		r->files_audited = done;
		r->bytes_audited = bytes_done;
	}
	if (truncated) {
		char m[160];

		snprintf(m, sizeof m, "%zu file%s audited only in part (token or work limit)",
		    truncated, truncated == 1 ? " was" : "s were");
		if ((err = vg_engine_log(&pp, "warn", m)))
			goto out;
	}
	if ((err = vg_engine_emit(&pp, VG_EV_SCAN_PROGRESS, json_pack("{s:s, s:i, s:I, s:I}",
	    "step", "audit", "percent", 100, "files_done", (json_int_t)done,
	    "files_total", (json_int_t)plan->nfiles))))
		goto out;
out:
	t_audit = vg_time_mono_us();
	/* Hand the findings over even on cancellation: a partial report helps. */
	if (set.n)
		qsort(set.items, set.n, sizeof *set.items, cmp_findings);
	r->findings = set.items;
	r->nfindings = set.n;
	set.items = NULL;
	set.n = 0;
	r->timings = json_pack("{s:I, s:I, s:I}",
	    "plan_ms", (json_int_t)((t_plan ? t_plan : t_audit) - t0) / 1000,
	    "audit_ms", (json_int_t)(t_plan ? (t_audit - t_plan) / 1000 : 0),
	    "total_ms", (json_int_t)(t_audit - t0) / 1000);
	vg_finding_set_free(&set);
	vg_analyzer_free(an);
	vg_plan_free(plan);
	vg_ruleset_free(rs);
	vg_profile_free(defprof);
	return err;
}
