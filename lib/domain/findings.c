/*
 * findings.c - GET /v1/scans/{id}/findings, GET /v1/repositories/{id}/
 * findings, GET and PATCH /v1/findings/{id}.
 *
 * A repository's findings are the latest row per fingerprint across its
 * scans.  Each carries baseline_state, its place against a baseline scan:
 *   for a scan's findings, the scan itself: "new" when this scan saw the
 *     fingerprint first, else "unchanged";
 *   for a repository's, its latest completed scan: "absent" when that
 *     scan did not see the fingerprint (fixed, or out of its scope),
 *     "new" when it saw it first, else "unchanged" ("new" for all while
 *     no scan has completed).
 * Triage (PATCH, by members and owners) records status, reason and
 * comment with actor and time for the fingerprint, so the decision
 * follows it into later scans; GET /v1/findings/{id} shows the history.
 *
 * A list answer is kept (core/acache.h) under its path and query and the
 * repository's findings_version, which the store moves with every change
 * a list could show, and is served again while that version holds; its
 * ETag names the version, so a client that sends it back in
 * If-None-Match gets 304 while nothing changed.  The version is read with
 * the access check, so nothing is served to a caller who may not see it,
 * nor from an older state than the one the check saw.
 */
#include "config.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/acache.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"

#define FINDINGS_PAGE_MAX 500
#define TRIAGE_TEXT_MAX 2000
/* The most an answer's text may take: far above a full page of the
 * largest findings the store accepts. */
#define ANSWER_MAX ((size_t)1 << 30)

static const char *const statuses[] = {"open", "confirmed", "dismissed"};
static const char *const sorts[] = {"severity", "path", "newest"};

/* Whether v is one of list[0..n). */
static bool
one_of(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

/* The baseline state of f against scan baseline ("" for none); for a
 * scan's own list, against that scan. */
static const char *
baseline_state(const struct vg_finding_row *f, const char *baseline, bool scan_list)
{
	if (scan_list)
		return strcmp(f->first_scan_id, baseline) == 0 ? "new" : "unchanged";
	if (!baseline[0])
		return "new";
	if (strcmp(f->last_scan_id, baseline) != 0)
		return "absent";
	return strcmp(f->first_scan_id, baseline) == 0 ? "new" : "unchanged";
}

/* Writers of a row's own members: field points into the row. */
static enum vg_err
put_text(struct vg_jsonw *w, const void *field, const char *baseline)
{
	return vg_jsonw_str(w, field);
}

static enum vg_err
put_opt_text(struct vg_jsonw *w, const void *field, const char *baseline)
{
	return vg_jsonw_str_or_null(w, field);
}

static enum vg_err
put_time(struct vg_jsonw *w, const void *field, const char *baseline)
{
	int64_t us = *(const int64_t *)field;

	return us == 0 ? vg_jsonw_null(w) : vg_jsonw_time(w, us);
}

static enum vg_err
put_status(struct vg_jsonw *w, const void *field, const char *baseline)
{
	const char *status = field;

	return vg_jsonw_str(w, *status ? status : "open");
}

static enum vg_err
put_baseline(struct vg_jsonw *w, const void *field, const char *baseline)
{
	return vg_jsonw_str(w, baseline);
}

/*
 * The members a finding's row sets over its data, in the order they
 * follow data's own members; one named like a member of data takes that
 * member's place.  baseline_state only where there is a baseline.
 */
static const struct {
	const char *key;
	enum vg_err (*put)(struct vg_jsonw *w, const void *field, const char *baseline);
	size_t off;   /* of the field in struct vg_finding_row */
} row_members[] = {
	{"id", put_text, offsetof(struct vg_finding_row, id)},
	{"scan_id", put_text, offsetof(struct vg_finding_row, scan_id)},
	{"repository_id", put_text, offsetof(struct vg_finding_row, repository_id)},
	{"fingerprint", put_text, offsetof(struct vg_finding_row, fingerprint)},
	{"severity", put_text, offsetof(struct vg_finding_row, severity)},
	{"status", put_status, offsetof(struct vg_finding_row, status)},
	{"status_reason", put_opt_text, offsetof(struct vg_finding_row, status_reason)},
	{"status_actor_id", put_opt_text, offsetof(struct vg_finding_row, status_actor_id)},
	{"status_at", put_time, offsetof(struct vg_finding_row, status_at_us)},
	{"first_scan_id", put_opt_text, offsetof(struct vg_finding_row, first_scan_id)},
	{"last_scan_id", put_opt_text, offsetof(struct vg_finding_row, last_scan_id)},
	{"created_at", put_time, offsetof(struct vg_finding_row, created_at_us)},
	{"updated_at", put_time, offsetof(struct vg_finding_row, updated_at_us)},
	{"baseline_state", put_baseline, 0},
};
#define ROW_MEMBERS (sizeof row_members / sizeof row_members[0])

/* The row member named key (ROW_MEMBERS for none); baseline_state is one
 * only where there is a baseline. */
static size_t
row_member(const char *key, const char *baseline)
{
	size_t i;

	for (i = 0; i < ROW_MEMBERS; i++)
		if (key[0] == row_members[i].key[0] && strcmp(key, row_members[i].key) == 0)
			break;
	if (i < ROW_MEMBERS && row_members[i].put == put_baseline && !baseline)
		return ROW_MEMBERS;
	return i;
}

/* Write row member i of f. */
static enum vg_err
put_member(struct vg_jsonw *w, const struct vg_finding_row *f, size_t i, const char *baseline)
{
	vg_jsonw_key(w, row_members[i].key);
	return row_members[i].put(w, (const char *)f + row_members[i].off, baseline);
}

/*
 * A finding's JSON form, written into w: its data (title, severity,
 * cwe_ids, file_path, ...) with the row's own members over it, then its
 * history when history is not NULL.  The text is what a jansson object
 * built the same way (data copied, the row's members set over it) dumps
 * to, written without building one: a page of findings is large.
 */
static enum vg_err
write_finding(struct vg_jsonw *w, const struct vg_finding_row *f, const char *baseline,
    const json_t *history)
{
	bool done[ROW_MEMBERS] = {false};
	const char *key;
	json_t *v;
	size_t i;

	vg_jsonw_object(w);
	if (json_is_object(f->data)) {
		json_object_foreach(f->data, key, v) {
			if ((i = row_member(key, baseline)) < ROW_MEMBERS) {
				put_member(w, f, i, baseline);
				done[i] = true;
			} else {
				vg_jsonw_key(w, key);
				vg_jsonw_value(w, v);
			}
		}
	}
	for (i = 0; i < ROW_MEMBERS; i++)
		if (!done[i] && (baseline || row_members[i].put != put_baseline))
			put_member(w, f, i, baseline);
	if (history) {
		vg_jsonw_key(w, "history");
		vg_jsonw_value(w, history);
	}
	return vg_jsonw_object_end(w);
}

/* How a list answer is kept: under key at version ("<repository
 * id>:<findings_version>"); etag is its ETag.  A repository without a
 * findings_version (0: none yet) has none. */
struct kept {
	bool on;
	char key[VG_ACACHE_KEY_MAX + 1];
	char version[VG_UUID_LEN + 24];
	char etag[64];
};

/*
 * Answer status with the n bytes of JSON text (none for 304) and, when k
 * is kept, its ETag; or a 500 when writing the text failed (werr).
 */
static enum vg_err
send_text(struct vg_http_req *req, const struct kept *k, int status, enum vg_err werr,
    const char *text, size_t n)
{
	if (werr != VG_OK)
		return vg_http_fail(req, VG_ERR_INTERNAL, "the answer does not serialise", NULL);
	if (k && k->on && (vg_http_add_header(req, "ETag", k->etag) != VG_OK ||
	    vg_http_add_header(req, "Cache-Control", "private, no-cache") != VG_OK))
		return vg_http_fail(req, VG_ERR_INTERNAL, NULL, NULL);
	return vg_http_send(req, status, status == 304 ? NULL : "application/json", text, n);
}

/* The id of repository id's latest completed scan into out ("" when none
 * has completed). */
static enum vg_err
latest_completed(struct vg_store *s, const char *id, char out[VG_UUID_LEN + 1])
{
	struct vg_scan_filter f = {.repository_id = id, .status = VG_SCAN_COMPLETED};
	struct vg_scan *rows = NULL;
	char *next = NULL;
	size_t n = 0;
	enum vg_err err = vg_store_scan_list(s, &f, NULL, 1, &rows, &n, &next);

	out[0] = '\0';
	if (err == VG_OK && n > 0)
		vg_str_copy(out, VG_UUID_LEN + 1, rows[0].id);
	free(rows);
	free(next);
	return err;
}

/* One list request's parameters. */
struct list_args {
	struct vg_finding_filter f;
	int64_t limit;
	const char *cursor;     /* NULL: the first page */
};

/* The filters and page of a list request into a; errors recorded naming
 * the parameter. */
static enum vg_err
read_filters(struct vg_http_req *req, struct list_args *a)
{
	struct vg_finding_filter *f = &a->f;
	const char *cwe = vg_http_query_get(req, "cwe");

	f->severity = vg_http_query_get(req, "severity");
	f->status = vg_http_query_get(req, "status");
	f->path_prefix = vg_http_query_get(req, "path_prefix");
	f->sort = vg_http_query_get(req, "sort");
	if (f->severity && *f->severity) {
		if (vg_severity_rank(f->severity) == VG_SEVERITY_COUNT)
			return vg_http_fail(req, VG_ERR_INVALID,
			    "severity must be critical, high, medium, low or info", "severity");
	}
	if (f->status && *f->status && !one_of(f->status, statuses, 3))
		return vg_http_fail(req, VG_ERR_INVALID,
		    "status must be open, confirmed or dismissed", "status");
	if (f->sort && *f->sort && !one_of(f->sort, sorts, 3))
		return vg_http_fail(req, VG_ERR_INVALID, "sort must be severity, path or newest",
		    "sort");
	if (cwe && *cwe) {
		if (strncmp(cwe, "CWE-", 4) == 0 || strncmp(cwe, "cwe-", 4) == 0)
			cwe += 4;
		if (vg_str_to_i64(cwe, 1, 1000000, &f->cwe) != VG_OK)
			return vg_http_fail(req, VG_ERR_INVALID, "cwe must be a CWE id such as 79 or "
			    "CWE-79", "cwe");
	}
	if (f->path_prefix && strlen(f->path_prefix) > 4096)
		return vg_http_fail(req, VG_ERR_INVALID, "path_prefix is too long", "path_prefix");
	return vg_http_page_args(req, FINDINGS_PAGE_MAX, &a->limit, &a->cursor);
}

/* Whether the If-None-Match header names etag (or is "*"). */
static bool
etag_matches(const char *header, const char *etag)
{
	const char *tag = etag + 2;     /* W/"..." compares weakly: the quoted part */
	size_t n = strlen(tag);
	const char *p;

	if (!header)
		return false;
	if (strcmp(header, "*") == 0)
		return true;
	for (p = strstr(header, tag); p; p = strstr(p + 1, tag)) {
		char after = p[n];

		if ((p == header || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (after == '\0' || after == ',' || after == ' '))
			return true;
	}
	return false;
}

/*
 * Serve a kept answer of this request for repo when there is one: 304
 * when the client has it (If-None-Match), else the kept text.  Sets k
 * up either way (for keeping the answer made instead); true when
 * answered.
 */
static bool
answer_kept(struct vg_http_req *req, const struct vg_repository *repo, struct kept *k,
    enum vg_err *err)
{
	const char *q = vg_http_query_string(req);
	char *data = NULL;
	size_t len = 0;
	int n;

	memset(k, 0, sizeof *k);
	if (repo->findings_version <= 0)
		return false;
	n = snprintf(k->key, sizeof k->key, "%s?%s", vg_http_path(req), q ? q : "");
	if (n < 0 || (size_t)n >= sizeof k->key)
		return false;
	n = snprintf(k->version, sizeof k->version, "%s:%lld", repo->id,
	    (long long)repo->findings_version);
	if (n < 0 || (size_t)n >= sizeof k->version)
		return false;   /* a version cut short could name another state */
	n = snprintf(k->etag, sizeof k->etag, "W/\"%lld-%s\"", (long long)repo->findings_version,
	    PACKAGE_VERSION);
	if (n < 0 || (size_t)n >= sizeof k->etag)
		return false;
	k->on = true;
	if (etag_matches(vg_http_header(req, "If-None-Match"), k->etag)) {
		*err = send_text(req, k, 304, VG_OK, NULL, 0);
		return true;
	}
	if (!vg_acache_get(k->key, k->version, &data, &len))
		return false;
	*err = send_text(req, k, 200, VG_OK, data, len);
	free(data);
	return true;
}

/* One page of findings matching f, each with its baseline state:
 * {"items":[...],"next_cursor":...}, written straight into the answer,
 * and kept as k says. */
static enum vg_err
answer_findings(struct vg_http_req *req, struct vg_store *s, const struct list_args *a,
    const char *baseline, bool scan_list, const struct kept *k)
{
	struct vg_finding_row *rows = NULL;
	struct vg_jsonw w;
	struct vg_buf b;
	char *next = NULL;
	size_t i, n = 0;
	enum vg_err err;

	vg_buf_init(&b, ANSWER_MAX);
	vg_jsonw_init(&w, &b);
	err = vg_store_finding_list(s, &a->f, a->cursor, (int)a->limit, &rows, &n, &next);
	if (err != VG_OK) {
		err = vg_http_answer_page(req, err, NULL, NULL);
		goto out;
	}
	vg_jsonw_object(&w);
	vg_jsonw_key(&w, "items");
	vg_jsonw_array(&w);
	for (i = 0; i < n; i++)
		write_finding(&w, &rows[i], baseline_state(&rows[i], baseline, scan_list), NULL);
	vg_jsonw_array_end(&w);
	vg_jsonw_key(&w, "next_cursor");
	vg_jsonw_str_or_null(&w, next);
	vg_jsonw_object_end(&w);
	if ((err = send_text(req, k, 200, w.err, vg_buf_str(&b), b.len)) == VG_OK && k->on)
		vg_acache_put(k->key, k->version, vg_buf_str(&b), b.len);
out:
	for (i = 0; i < n; i++)
		vg_finding_row_clear(&rows[i]);
	free(rows);
	free(next);
	vg_buf_free(&b);
	return err;
}

enum vg_err
vg_api_finding_list_scan(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	struct list_args a;
	struct kept k;
	enum vg_err err;

	memset(&a, 0, sizeof a);
	if ((err = read_filters(req, &a)) != VG_OK ||
	    (err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)))
		return err;
	if (answer_kept(req, &repo, &k, &err))
		return err;
	a.f.scan_id = scan.id;
	return answer_findings(req, sc.store, &a, scan.id, true, &k);
}

enum vg_err
vg_api_finding_list_repository(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct list_args a;
	char baseline[VG_UUID_LEN + 1];
	struct kept k;
	enum vg_err err;

	memset(&a, 0, sizeof a);
	if ((err = read_filters(req, &a)) != VG_OK ||
	    (err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &repo)))
		return err;
	if (answer_kept(req, &repo, &k, &err))
		return err;
	if ((err = latest_completed(sc.store, repo.id, baseline)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	a.f.repository_id = repo.id;
	return answer_findings(req, sc.store, &a, baseline, false, &k);
}

/* The finding with its history and repository baseline state. */
static enum vg_err
answer_finding(struct vg_http_req *req, struct vg_store *s, const struct vg_finding_row *f,
    int status)
{
	char baseline[VG_UUID_LEN + 1];
	json_t *history = NULL;
	struct vg_jsonw w;
	struct vg_buf b;
	enum vg_err err;

	if ((err = latest_completed(s, f->repository_id, baseline)) != VG_OK ||
	    (err = vg_store_finding_history(s, f->id, &history)) != VG_OK)
		return vg_http_fail(req, err, NULL, NULL);
	if (!history && !(history = json_array()))
		return vg_http_fail(req, VG_ERR_NOMEM, NULL, NULL);
	vg_buf_init(&b, ANSWER_MAX);
	vg_jsonw_init(&w, &b);
	write_finding(&w, f, baseline_state(f, baseline, false), history);
	err = send_text(req, NULL, status, w.err, vg_buf_str(&b), b.len);
	vg_buf_free(&b);
	json_decref(history);
	return err;
}

enum vg_err
vg_api_finding_get(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_finding_row f;
	enum vg_err err;

	if ((err = vg_api_scope_finding(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &f,
	    &repo)))
		return err;
	err = answer_finding(req, sc.store, &f, 200);
	vg_finding_row_clear(&f);
	return err;
}

/* The members a PATCH may carry. */
static const char *const triage_members[] = {"status", "reason", "comment"};

enum vg_err
vg_api_finding_update(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_finding_row f, after;
	struct vg_triage t;
	json_t *body = NULL, *v;
	const char *status = NULL, *reason = NULL, *comment = NULL, *key;
	enum vg_err err;

	memset(&f, 0, sizeof f);
	memset(&after, 0, sizeof after);
	if ((err = vg_http_read_json(req, &body)) != VG_OK ||
	    (err = vg_api_scope_finding(req, vg_http_capture(req, "id"), VG_NEED_WRITE, &sc, &f,
	    &repo)) ||
	    (err = vg_http_body_str(req, body, "status", true, 16, &status)) ||
	    (err = vg_http_body_str(req, body, "reason", false, TRIAGE_TEXT_MAX, &reason)) ||
	    (err = vg_http_body_str(req, body, "comment", false, TRIAGE_TEXT_MAX, &comment)))
		goto out;
	json_object_foreach(body, key, v) {
		if (!one_of(key, triage_members, 3)) {
			err = vg_http_fail(req, VG_ERR_INVALID, "unknown member", key);
			goto out;
		}
	}
	if (!one_of(status, statuses, 3)) {
		err = vg_http_fail(req, VG_ERR_INVALID, "status must be open, confirmed or dismissed",
		    "status");
		goto out;
	}
	if ((reason && !vg_api_text_ok(reason, TRIAGE_TEXT_MAX, true)) ||
	    (comment && !vg_api_text_ok(comment, TRIAGE_TEXT_MAX, true))) {
		err = vg_http_fail(req, VG_ERR_INVALID, "reason and comment must be text without "
		    "control characters", reason && !vg_api_text_ok(reason, TRIAGE_TEXT_MAX, true) ?
		    "reason" : "comment");
		goto out;
	}
	memset(&t, 0, sizeof t);
	t.status = status;
	t.reason = reason;
	t.comment = comment;
	t.actor_id = sc.who->user_id;
	t.now_us = vg_time_now_us();
	if ((err = vg_store_finding_triage(sc.store, f.id, &t, &after)) != VG_OK) {
		vg_http_fail(req, err, err == VG_ERR_NOT_FOUND ? "no such finding" : NULL, NULL);
		goto out;
	}
	vg_auth_audit(req, sc.who->user_id, "finding.triaged", "finding", f.id,
	    json_pack("{s:s, s:s, s:s, s:s, s:o}", "repository_id", f.repository_id,
	    "fingerprint", f.fingerprint, "status", status,
	    "previous_status", f.status[0] ? f.status : "open", "reason", vg_http_opt_str(reason)));
	err = answer_finding(req, sc.store, &after, 200);
out:
	vg_finding_row_clear(&after);
	vg_finding_row_clear(&f);
	json_decref(body);
	return err;
}
