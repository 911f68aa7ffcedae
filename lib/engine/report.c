/* report.c - report.json, report.sarif and the human summary. */
#include "config.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/timeutil.h"
#include "engine/report.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static json_t *
counts_by_severity(const struct vg_engine_result *r)
{
	size_t n[VG_SEV__COUNT] = {0}, i;
	json_t *o = json_object();
	int s;

	for (i = 0; i < r->nfindings; i++)
		n[r->findings[i]->severity]++;
	for (s = VG_SEV_CRITICAL; o && s >= VG_SEV_INFO; s--)
		json_object_set_new(o, vg_sev_name((enum vg_sev)s), json_integer((json_int_t)n[s]));
	return o;
}

static const char *
status_of(const struct vg_engine_result *r)
{
	return r->success ? "completed" : r->cancelled ? "cancelled" : "failed";
}

json_t *
vg_report_json(const struct vg_engine_result *r)
{
	char t0[VG_TIME_RFC3339_LEN], t1[VG_TIME_RFC3339_LEN];
	json_t *o = json_object(), *fa = json_array(), *cats = json_object(), *plan;
	size_t i;

	if (!o || !fa || !cats) {
		json_decref(o);
		json_decref(fa);
		json_decref(cats);
		return NULL;
	}
	vg_time_format(r->started_us, t0);
	vg_time_format(r->finished_us, t1);
	for (i = 0; i < r->nfindings; i++) {
		const struct vg_finding *f = r->findings[i];
		json_t *c = json_object_get(cats, f->category);

		json_array_append_new(fa, vg_finding_to_json(f));
		json_object_set_new(cats, f->category, json_integer(c ? json_integer_value(c) + 1 : 1));
	}
	plan = r->plan ? json_incref(r->plan) : json_null();
	json_object_set_new(o, "schema_version", json_integer(1));
	json_object_set_new(o, "tool", json_pack("{s:s, s:s, s:s?, s:s?, s:I}", "name", "vega",
	    "engine", r->engine ? r->engine : "", "engine_version", r->engine_version,
	    "rules_version", r->rules_version, "rules", (json_int_t)r->nrules));
	json_object_set_new(o, "scan", json_pack("{s:s, s:s, s:s, s:s?}", "status", status_of(r),
	    "started_at", t0, "finished_at", t1, "error", r->error));
	json_object_set_new(o, "timings", r->timings ? json_incref(r->timings) : json_object());
	{
		const char *stmt = r->plan ?
		    json_string_value(json_object_get(r->plan, "coverage_statement")) : NULL;
		json_t *seen = r->plan ? json_object_get(r->plan, "files_seen") : NULL;

		json_object_set_new(o, "coverage", json_pack("{s:s, s:I, s:I, s:I}",
		    "statement", stmt ? stmt : "", "files_audited", (json_int_t)r->files_audited,
		    "bytes_audited", (json_int_t)r->bytes_audited,
		    "files_seen", seen ? json_integer_value(seen) : (json_int_t)0));
	}
	json_object_set_new(o, "plan", plan);
	json_object_set_new(o, "summary", json_pack("{s:I, s:o, s:o}", "total",
	    (json_int_t)r->nfindings, "by_severity", counts_by_severity(r), "by_category", cats));
	json_object_set_new(o, "findings", fa);
	return o;
}

/* Percent-encode a relative path as a URI reference (keeps '/'). */
static char *
uri_of(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct vg_buf b;
	const unsigned char *p;

	vg_buf_init(&b, 3 * 4096 + 16);
	for (p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/') {
			vg_buf_append_char(&b, (char)*p);
		} else {
			vg_buf_append_char(&b, '%');
			vg_buf_append_char(&b, hex[*p >> 4]);
			vg_buf_append_char(&b, hex[*p & 15]);
		}
	}
	return b.data ? vg_buf_detach(&b) : strdup("");
}

/* A rule id as a SARIF rule name: "vg.python.sql-injection" -> "PythonSqlInjection". */
static char *
rule_name(const char *id)
{
	struct vg_buf b;
	const char *p = strncmp(id, "vg.", 3) == 0 ? id + 3 : id;
	int up = 1;

	vg_buf_init(&b, 256);
	for (; *p; p++) {
		if (*p == '.' || *p == '-' || *p == '_') {
			up = 1;
			continue;
		}
		vg_buf_append_char(&b, up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p);
		up = 0;
	}
	return b.data ? vg_buf_detach(&b) : strdup("Rule");
}

static json_t *
cwe_tags(const struct vg_finding *f)
{
	json_t *tags = json_array();
	size_t k;

	json_array_append_new(tags, json_string("security"));
	for (k = 0; k < f->ncwe; k++) {
		char t[48];

		snprintf(t, sizeof t, "external/cwe/cwe-%d", f->cwe[k]);
		json_array_append_new(tags, json_string(t));
	}
	if (f->category)
		json_array_append_new(tags, json_string(f->category));
	return tags;
}

static json_t *
sarif_rule(const struct vg_finding *f)
{
	char sev[16], *name = rule_name(f->rule_id);
	json_t *o;

	snprintf(sev, sizeof sev, "%.1f", vg_sev_score(f->severity));
	o = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:o, s:s, s:s, s:s}}",
	    "id", f->rule_id, "name", name ? name : "Rule",
	    "shortDescription", "text", f->title,
	    "fullDescription", "text", f->description ? f->description : f->title,
	    "help", "text", f->recommendation ? f->recommendation : "",
	    "defaultConfiguration", "level", vg_sev_sarif_level(f->severity),
	    "properties", "tags", cwe_tags(f), "security-severity", sev,
	    "precision", f->confidence == VG_CONF_HIGH ? "high" : f->confidence == VG_CONF_MEDIUM ?
	    "medium" : "low", "problem.severity", f->severity >= VG_SEV_HIGH ? "error" :
	    f->severity >= VG_SEV_MEDIUM ? "warning" : "recommendation");
	free(name);
	return o;
}

json_t *
vg_report_sarif(const struct vg_engine_result *r)
{
	char t0[VG_TIME_RFC3339_LEN], t1[VG_TIME_RFC3339_LEN];
	json_t *rules = json_array(), *results = json_array(), *index = json_object(), *run, *log;
	size_t i, k;

	if (!rules || !results || !index) {
		json_decref(rules);
		json_decref(results);
		json_decref(index);
		return NULL;
	}
	vg_time_format(r->started_us, t0);
	vg_time_format(r->finished_us, t1);
	for (i = 0; i < r->nfindings; i++) {
		const struct vg_finding *f = r->findings[i];
		json_t *ri = json_object_get(index, f->rule_id), *res, *cwe = json_array(), *region;
		char sev[16], *uri = uri_of(f->path);

		if (!ri) {
			ri = json_integer((json_int_t)json_array_size(rules));
			json_object_set_new(index, f->rule_id, ri);
			json_array_append_new(rules, sarif_rule(f));
		}
		for (k = 0; k < f->ncwe; k++)
			json_array_append_new(cwe, json_integer(f->cwe[k]));
		snprintf(sev, sizeof sev, "%.1f", vg_sev_score(f->severity));
		region = json_pack("{s:i, s:i}", "startLine", (int)(f->line_start ? f->line_start : 1),
		    "endLine", (int)(f->line_end >= f->line_start && f->line_end ? f->line_end :
		    (f->line_start ? f->line_start : 1)));
		if (f->snippet && region)
			json_object_set_new(region, "snippet", json_pack("{s:s}", "text", f->snippet));
		res = json_pack("{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s, s:s}, s:o}}],"
		    " s:{s:s}, s:{s:s, s:s, s:s, s:o, s:s, s:s?}}",
		    "ruleId", f->rule_id, "ruleIndex", json_integer_value(ri),
		    "level", vg_sev_sarif_level(f->severity),
		    "message", "text", f->message ? f->message : f->title,
		    "locations", "physicalLocation", "artifactLocation", "uri", uri ? uri : "",
		    "uriBaseId", "SRCROOT", "region", region,
		    "partialFingerprints", "vegaFingerprint/v1", f->fingerprint,
		    "properties", "severity", vg_sev_name(f->severity), "security-severity", sev,
		    "confidence", vg_conf_name(f->confidence), "cwe", cwe,
		    "category", f->category ? f->category : "", "function", f->function);
		free(uri);
		if (res)
			json_array_append_new(results, res);
	}
	json_decref(index);
	run = json_pack("{s:{s:{s:s, s:s, s:s, s:o}}, s:[{s:b, s:s, s:s}], s:o, s:{s:s, s:s?, s:s?}}",
	    "tool", "driver", "name", "Vega", "version", PACKAGE_VERSION,
	    "semanticVersion", PACKAGE_VERSION, "rules", rules,
	    "invocations", "executionSuccessful", r->success, "startTimeUtc", t0, "endTimeUtc", t1,
	    "results", results,
	    "properties", "engine", r->engine ? r->engine : "", "rulesVersion", r->rules_version,
	    "coverage", r->plan ? json_string_value(json_object_get(r->plan, "coverage_statement")) :
	    NULL);
	if (!run)
		return NULL;
	if (!r->success) {
		json_t *inv = json_array_get(json_object_get(run, "invocations"), 0);

		json_object_set_new(inv, "toolExecutionNotifications", json_pack("[{s:{s:s}, s:s}]",
		    "message", "text", r->error ? r->error : "the scan did not finish", "level", "error"));
	}
	log = json_pack("{s:s, s:s, s:[o]}", "$schema", SARIF_SCHEMA, "version", "2.1.0",
	    "runs", run);
	return log;
}

enum vg_err
vg_report_write(const json_t *v, const char *path)
{
	char tmp[4096];
	int fd = -1;
	enum vg_err err = VG_OK;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
		return VG_ERR_INVALID;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return VG_ERR_IO;
	if (json_dumpfd(v, fd, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0 || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0)
		err = VG_ERR_IO;
	if (close(fd) != 0)
		err = VG_ERR_IO;
	if (!err && rename(tmp, path) != 0)
		err = VG_ERR_IO;
	if (err)
		unlink(tmp);
	return err;
}

size_t
vg_report_count_at_least(const struct vg_engine_result *r, enum vg_sev sev)
{
	size_t n = 0, i;

	for (i = 0; i < r->nfindings; i++)
		if (r->findings[i]->severity >= sev)
			n++;
	return n;
}

void
vg_report_summary(const struct vg_engine_result *r, FILE *out, size_t top)
{
	size_t n[VG_SEV__COUNT] = {0}, i;
	const char *stmt = r->plan ? json_string_value(json_object_get(r->plan, "coverage_statement")) : NULL;
	json_t *tm = r->timings ? json_object_get(r->timings, "total_ms") : NULL;

	for (i = 0; i < r->nfindings; i++)
		n[r->findings[i]->severity]++;
	fprintf(out, "vega %s: %s engine, rules %s (%zu rules)\n", r->engine_version ?
	    r->engine_version : PACKAGE_VERSION, r->engine ? r->engine : "?",
	    r->rules_version ? r->rules_version : "-", r->nrules);
	if (stmt)
		fprintf(out, "%s\n", stmt);
	fprintf(out, "Audited %zu files in %.1f s: %zu finding%s (%zu critical, %zu high, %zu medium, "
	    "%zu low, %zu info)\n", r->files_audited, tm ? (double)json_integer_value(tm) / 1000.0 : 0.0,
	    r->nfindings, r->nfindings == 1 ? "" : "s", n[VG_SEV_CRITICAL], n[VG_SEV_HIGH],
	    n[VG_SEV_MEDIUM], n[VG_SEV_LOW], n[VG_SEV_INFO]);
	for (i = 0; i < r->nfindings && i < top; i++) {
		const struct vg_finding *f = r->findings[i];

		fprintf(out, "  %-8s %s:%u  %s  [%s", vg_sev_name(f->severity), f->path,
		    f->line_start, f->title, f->rule_id);
		if (f->ncwe)
			fprintf(out, ", CWE-%d", f->cwe[0]);
		fprintf(out, "]\n");
	}
	if (r->nfindings > top)
		fprintf(out, "  ... and %zu more (see the JSON or SARIF report)\n", r->nfindings - top);
	if (!r->success)
		fprintf(out, "The scan did not finish: %s\n", r->error ? r->error : "unknown error");
}
