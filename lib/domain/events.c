/*
 * events.c - GET /v1/scans/{id}/events and /v1/repositories/{id}/events:
 * a scan's append-only events, as JSON pages, long-polled, or as a
 * server-sent event stream.
 *
 * Three ways to follow a scan:
 *   ?after=SEQ&limit=N         the events after SEQ at once;
 *   ... &wait=S                the same, but when there are none the
 *                              request waits up to S (<= 30) seconds for
 *                              the first, ending early when the scan
 *                              finishes;
 *   Accept: text/event-stream  a stream: each event as "id: SEQ, event:
 *                              TYPE, data: JSON", written and flushed
 *                              within STREAM_POLL_MS of being stored; a
 *                              ": keep-alive" comment when quiet; the
 *                              stream ends once the scan has finished
 *                              and every event was sent, or after
 *                              STREAM_MAX_SECONDS, and the client
 *                              resumes with Last-Event-ID.  A finished
 *                              scan with nothing left answers 204, which
 *                              tells an EventSource to stop reconnecting.
 * The store is polled (a row append is cheap to look for, and polling
 * works the same with either backend and any number of processes).
 *
 * A repository's events run across its scans in the order they were
 * written; their position is an opaque cursor (a store cursor and how
 * many events past it were already delivered), which the stream uses as
 * its event ids, so it resumes the same way.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "domain/api_int.h"

#define EVENTS_PAGE_MAX 1000
#define EVENTS_PAGE_DEFAULT 100
#define WAIT_MAX_SECONDS 30
#define STREAM_POLL_MS 200
#define STREAM_MAX_SECONDS 30
#define STREAM_KEEPALIVE_SECONDS 10
#define STREAM_RETRY_MS 1000
#define REPO_CURSOR_MAX 512

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
free_events(struct vg_event *ev, size_t n)
{
	size_t i;

	for (i = 0; ev && i < n; i++)
		vg_event_clear(&ev[i]);
	free(ev);
}

/* An event's JSON form (new reference). */
static json_t *
event_json(const struct vg_event *e)
{
	return json_pack("{s:s, s:I, s:s, s:O, s:o}", "scan_id", e->scan_id,
	    "seq", (json_int_t)e->seq, "type", e->type,
	    "payload", e->payload ? e->payload : json_null(),
	    "created_at", vg_http_opt_time(e->created_at_us));
}

/* Whether the client asked for a stream. */
static bool
wants_stream(struct vg_http_req *req)
{
	const char *accept = vg_http_header(req, "Accept");

	return accept && strstr(accept, "text/event-stream") != NULL;
}

/* Write one event to the stream: "id:", "event:", "data:" (the JSON has
 * no newline, so one data line). */
static enum vg_err
stream_event(struct vg_http_req *req, const char *id, const struct vg_event *e)
{
	json_t *o = event_json(e);
	char *data = o ? vg_json_dump(o) : NULL;
	char head[REPO_CURSOR_MAX + 64];
	enum vg_err err;
	int n;

	json_decref(o);
	if (!data)
		return VG_ERR_NOMEM;
	n = snprintf(head, sizeof head, "id: %s\nevent: %s\ndata: ", id, e->type);
	if (n < 0 || (size_t)n >= sizeof head)
		err = VG_ERR_INTERNAL;
	else if ((err = vg_http_stream_write(req, head, (size_t)n)) == VG_OK &&
	    (err = vg_http_stream_write(req, data, strlen(data))) == VG_OK)
		err = vg_http_stream_write(req, "\n\n", 2);
	free(data);
	return err;
}

/* Begin a stream: the headers and the reconnection delay. */
static enum vg_err
stream_open(struct vg_http_req *req)
{
	char retry[32];
	enum vg_err err;
	int n;

	if ((err = vg_http_stream_begin(req, 200, "text/event-stream; charset=utf-8")) != VG_OK)
		return err;
	n = snprintf(retry, sizeof retry, "retry: %d\n\n", STREAM_RETRY_MS);
	if ((err = vg_http_stream_write(req, retry, (size_t)n)) != VG_OK)
		return err;
	return vg_http_stream_flush(req);
}

/* ---- a scan's events ---- */

/* The scan's status now; false when it cannot be read (stop following). */
static bool
scan_finished_now(struct vg_store *s, const char *id, bool *finished)
{
	struct vg_scan scan;

	if (vg_store_scan_get(s, id, &scan) != VG_OK)
		return false;
	*finished = vg_api_scan_finished(scan.status);
	return true;
}

/*
 * The events of scan after seq after, waiting up to wait_us for the
 * first when there are none yet and the scan is still going.  *finished
 * tells whether the scan has finished and nothing is left after the
 * events given.
 */
static enum vg_err
scan_events_wait(struct vg_store *s, const struct vg_scan *scan, int64_t after, int limit,
    int64_t wait_us, struct vg_event **ev, size_t *n, bool *finished)
{
	int64_t deadline = vg_time_mono_us() + wait_us;
	enum vg_err err;

	*finished = vg_api_scan_finished(scan->status);
	for (;;) {
		if ((err = vg_store_event_list(s, scan->id, after, limit, ev, n)) != VG_OK)
			return err;
		if (*n > 0 || *finished)
			break;
		/* The last event is written in the step that finishes the
		 * scan: once finished, one more look gets everything. */
		if (!scan_finished_now(s, scan->id, finished))
			break;
		if (*finished)
			continue;
		if (vg_time_mono_us() >= deadline)
			break;
		sleep_ms(STREAM_POLL_MS);
	}
	if (*n > 0 && (size_t)limit == *n)
		*finished = false;
	return VG_OK;
}

/* Follow scan as a stream from after. */
static enum vg_err
scan_stream(struct vg_http_req *req, struct vg_store *s, const struct vg_scan *scan,
    int64_t after)
{
	int64_t start = vg_time_mono_us(), last = start;
	struct vg_event *ev = NULL;
	size_t n = 0, i;
	bool finished = vg_api_scan_finished(scan->status);
	char id[24];
	enum vg_err err;

	/* Nothing more will ever come: tell the client to stop. */
	if (finished && (err = vg_store_event_list(s, scan->id, after, 1, &ev, &n)) == VG_OK &&
	    n == 0)
		return vg_http_send(req, 204, NULL, NULL, 0);
	free_events(ev, n);
	ev = NULL;
	n = 0;
	if ((err = stream_open(req)) != VG_OK || strcmp(vg_http_method(req), "HEAD") == 0)
		return VG_OK;
	for (;;) {
		err = vg_store_event_list(s, scan->id, after, EVENTS_PAGE_DEFAULT, &ev, &n);
		if (err != VG_OK)
			break;
		for (i = 0; err == VG_OK && i < n; i++) {
			snprintf(id, sizeof id, "%lld", (long long)ev[i].seq);
			if ((err = stream_event(req, id, &ev[i])) == VG_OK)
				after = ev[i].seq;
		}
		free_events(ev, n);
		ev = NULL;
		if (err != VG_OK || (n > 0 && (err = vg_http_stream_flush(req)) != VG_OK))
			break;
		if (n > 0) {
			last = vg_time_mono_us();
			if (n == EVENTS_PAGE_DEFAULT)
				continue;
		}
		if (finished)
			break;
		if (!scan_finished_now(s, scan->id, &finished))
			break;
		if (finished)
			continue;   /* one more look for the last events */
		if (vg_time_mono_us() - start >= (int64_t)STREAM_MAX_SECONDS * 1000000)
			break;
		if (vg_time_mono_us() - last >= (int64_t)STREAM_KEEPALIVE_SECONDS * 1000000) {
			if ((err = vg_http_stream_write(req, ": keep-alive\n\n", 14)) != VG_OK ||
			    (err = vg_http_stream_flush(req)) != VG_OK)
				break;
			last = vg_time_mono_us();
		}
		sleep_ms(STREAM_POLL_MS);
	}
	if (err != VG_OK && err != VG_ERR_IO)
		vg_log(VG_LOG_WARN, "event_stream_ended", "scan_id", scan->id,
		    "error", vg_err_code(err), NULL);
	/* The stream is the answer, whatever ended it. */
	return VG_OK;
}

/* ?after= (or, for a stream without it, Last-Event-ID), ?limit=, ?wait=. */
static enum vg_err
scan_event_args(struct vg_http_req *req, int64_t *after, int64_t *limit, int64_t *wait)
{
	const char *last = vg_http_header(req, "Last-Event-ID");
	enum vg_err err;

	if ((err = vg_http_query_int(req, "after", 0, INT64_MAX, 0, after)) != VG_OK ||
	    (err = vg_http_query_int(req, "limit", 1, EVENTS_PAGE_MAX, EVENTS_PAGE_DEFAULT,
	    limit)) != VG_OK ||
	    (err = vg_http_query_int(req, "wait", 0, WAIT_MAX_SECONDS, 0, wait)) != VG_OK)
		return err;
	if (!vg_http_query_get(req, "after") && last && *last &&
	    vg_str_to_i64(last, 0, INT64_MAX, after) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, "Last-Event-ID is not an event of this scan",
		    "Last-Event-ID");
	return VG_OK;
}

enum vg_err
vg_api_scan_events(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_scan scan;
	struct vg_repository repo;
	struct vg_event *ev = NULL;
	json_t *items = NULL;
	int64_t after, limit, wait, next;
	size_t i, n = 0;
	bool finished = false;
	enum vg_err err;

	if ((err = scan_event_args(req, &after, &limit, &wait)) != VG_OK ||
	    (err = vg_api_scope_scan(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc, &scan,
	    &repo)))
		return err;
	if (wants_stream(req))
		return scan_stream(req, sc.store, &scan, after);
	err = scan_events_wait(sc.store, &scan, after, (int)limit, wait * 1000000, &ev, &n,
	    &finished);
	next = after;
	for (i = 0; err == VG_OK && i < n; i++) {
		err = vg_http_items_add(&items, event_json(&ev[i]));
		next = ev[i].seq;
	}
	free_events(ev, n);
	if (err != VG_OK) {
		json_decref(items);
		return vg_http_fail(req, err, NULL, NULL);
	}
	return vg_http_json(req, 200, json_pack("{s:o, s:I, s:b}",
	    "items", items ? items : json_array(), "next_after", (json_int_t)next,
	    "finished", finished));
}

/* ---- a repository's events ---- */

/* A position in a repository's events: the store cursor a page started
 * from ("" for the start) and how many events past it were delivered. */
struct repo_pos {
	char cursor[REPO_CURSOR_MAX];
	int64_t skip;
};

/* "SKIP.CURSOR" -> pos; VG_ERR_INVALID for anything else. */
static enum vg_err
repo_pos_parse(const char *s, struct repo_pos *pos)
{
	const char *dot = s ? strchr(s, '.') : NULL;
	char num[24];

	memset(pos, 0, sizeof *pos);
	if (!s || !*s)
		return VG_OK;
	if (!dot || dot == s || (size_t)(dot - s) >= sizeof num)
		return VG_ERR_INVALID;
	memcpy(num, s, (size_t)(dot - s));
	num[dot - s] = '\0';
	if (vg_str_to_i64(num, 0, EVENTS_PAGE_MAX, &pos->skip) != VG_OK ||
	    vg_str_copy(pos->cursor, sizeof pos->cursor, dot + 1) != VG_OK)
		return VG_ERR_INVALID;
	return VG_OK;
}

static void
repo_pos_format(const struct repo_pos *pos, char *out, size_t len)
{
	snprintf(out, len, "%lld.%s", (long long)pos->skip, pos->cursor);
}

/*
 * Up to limit events of repository id after pos; *next gets the position
 * after them.  The store's last page has no cursor past it, so the
 * position stays at the page's start and counts what was delivered.
 */
static enum vg_err
repo_page(struct vg_store *s, const char *id, const struct repo_pos *pos, int limit,
    struct vg_event **out, size_t *count, struct repo_pos *next)
{
	struct vg_event *ev = NULL;
	char *snext = NULL;
	size_t n = 0, skip, i;
	int want = (int)pos->skip + limit;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	if (want > VG_STORE_LIST_MAX)
		want = VG_STORE_LIST_MAX;
	err = vg_store_event_list_repository(s, id, pos->cursor[0] ? pos->cursor : NULL, want,
	    &ev, &n, &snext);
	if (err != VG_OK)
		return err;
	skip = (size_t)pos->skip < n ? (size_t)pos->skip : n;
	for (i = 0; i < skip; i++)
		vg_event_clear(&ev[i]);
	memmove(ev, ev + skip, (n - skip) * sizeof *ev);
	*next = *pos;
	if (snext && strlen(snext) < sizeof next->cursor) {
		vg_str_copy(next->cursor, sizeof next->cursor, snext);
		next->skip = 0;
	} else {
		next->skip = (int64_t)n;
	}
	free(snext);
	*out = ev;
	*count = n - skip;
	return VG_OK;
}

/* Follow a repository's events as a stream from pos, for at most
 * STREAM_MAX_SECONDS (a repository never finishes). */
static enum vg_err
repo_stream(struct vg_http_req *req, struct vg_store *s, const char *id,
    struct repo_pos pos)
{
	int64_t start = vg_time_mono_us(), last = start;
	struct vg_event *ev = NULL;
	struct repo_pos next;
	char token[REPO_CURSOR_MAX + 32];
	size_t n = 0, i;
	enum vg_err err;

	if (stream_open(req) != VG_OK || strcmp(vg_http_method(req), "HEAD") == 0)
		return VG_OK;
	for (;;) {
		if ((err = repo_page(s, id, &pos, EVENTS_PAGE_DEFAULT, &ev, &n, &next)) != VG_OK)
			break;
		/* Each event's id is the position just after it. */
		for (i = 0; err == VG_OK && i < n; i++) {
			struct repo_pos at = pos;

			at.skip = pos.skip + (int64_t)i + 1;
			if (i + 1 == n)
				at = next;
			repo_pos_format(&at, token, sizeof token);
			err = stream_event(req, token, &ev[i]);
		}
		free_events(ev, n);
		ev = NULL;
		if (err != VG_OK || (n > 0 && (err = vg_http_stream_flush(req)) != VG_OK))
			break;
		pos = next;
		if (n > 0) {
			last = vg_time_mono_us();
			continue;
		}
		if (vg_time_mono_us() - start >= (int64_t)STREAM_MAX_SECONDS * 1000000)
			break;
		if (vg_time_mono_us() - last >= (int64_t)STREAM_KEEPALIVE_SECONDS * 1000000) {
			if ((err = vg_http_stream_write(req, ": keep-alive\n\n", 14)) != VG_OK ||
			    (err = vg_http_stream_flush(req)) != VG_OK)
				break;
			last = vg_time_mono_us();
		}
		sleep_ms(STREAM_POLL_MS);
	}
	return VG_OK;
}

enum vg_err
vg_api_repository_events(struct vg_http_req *req)
{
	struct vg_scope sc;
	struct vg_repository repo;
	struct vg_event *ev = NULL;
	struct repo_pos pos, next;
	const char *cursor = vg_http_query_get(req, "cursor");
	const char *last = vg_http_header(req, "Last-Event-ID");
	char token[REPO_CURSOR_MAX + 32];
	json_t *items = NULL;
	int64_t limit, wait, deadline;
	size_t i, n = 0;
	enum vg_err err;

	if ((err = vg_http_query_int(req, "limit", 1, EVENTS_PAGE_MAX - 1, EVENTS_PAGE_DEFAULT,
	    &limit)) != VG_OK ||
	    (err = vg_http_query_int(req, "wait", 0, WAIT_MAX_SECONDS, 0, &wait)) != VG_OK)
		return err;
	if ((!cursor || !*cursor) && wants_stream(req) && last && *last)
		cursor = last;
	if (repo_pos_parse(cursor, &pos) != VG_OK)
		return vg_http_fail(req, VG_ERR_INVALID, "the cursor is not one this list handed out",
		    "cursor");
	if ((err = vg_api_scope_repository(req, vg_http_capture(req, "id"), VG_NEED_READ, &sc,
	    &repo)))
		return err;
	if (wants_stream(req))
		return repo_stream(req, sc.store, repo.id, pos);
	deadline = vg_time_mono_us() + wait * 1000000;
	for (;;) {
		if ((err = repo_page(sc.store, repo.id, &pos, (int)limit, &ev, &n, &next)) != VG_OK)
			break;
		if (n > 0 || vg_time_mono_us() >= deadline)
			break;
		sleep_ms(STREAM_POLL_MS);
	}
	for (i = 0; err == VG_OK && i < n; i++)
		err = vg_http_items_add(&items, event_json(&ev[i]));
	free_events(ev, n);
	if (err == VG_ERR_INVALID) {
		json_decref(items);
		return vg_http_fail(req, err, "the cursor is not one this list handed out", "cursor");
	}
	if (err != VG_OK) {
		json_decref(items);
		return vg_http_fail(req, err, NULL, NULL);
	}
	/* Always a position to come back with: the feed never ends. */
	repo_pos_format(&next, token, sizeof token);
	return vg_http_json(req, 200, json_pack("{s:o, s:s}", "items",
	    items ? items : json_array(), "next_cursor", token));
}
