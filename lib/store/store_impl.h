/*
 * store_impl.h - what a store backend implements (private to lib/store).
 *
 * store.c validates arguments, fills defaults (ids, times), decodes and
 * encodes cursors, and then calls the backend through its const table of
 * function pointers, so both backends see the same well-formed input and
 * their answers can be compared by the contract suite.
 *
 * Adding an entity: a collection name and to/from-JSON functions in
 * store_json.c, a table and a few SQL constants in store_pg.c, one slot
 * per operation here, and the validating wrapper in store.c.
 */
#ifndef VG_STORE_STORE_IMPL_H
#define VG_STORE_STORE_IMPL_H

#include "store/jsondb.h"
#include "store/pg.h"
#include "store/store.h"

/* A keyset position in a newest-first list: the sort time and the id that
 * breaks ties.  Opaque to clients (see vg_store_cursor_encode). */
struct vg_store_pos {
	int64_t at_us;
	char id[VG_UUID_LEN + 1];
};

struct vg_store_auth_ops;
struct vg_store_sources_ops;
struct vg_store_scans_ops;
struct vg_store_llm_ops;

struct vg_store_ops {
	const char *name;
	/* Accounts: users, refresh tokens, API keys, the login throttle. */
	const struct vg_store_auth_ops *auth;
	/* Projects, members, repositories, snapshots, threat profiles. */
	const struct vg_store_sources_ops *sources;
	/* Scans, events, findings, triage, runner jobs, pruning. */
	const struct vg_store_scans_ops *scans;
	/* LLM usage: reservations, settlements, totals. */
	const struct vg_store_llm_ops *llm;
	enum vg_err (*open)(struct vg_store *s);
	void (*close)(struct vg_store *s);
	enum vg_err (*ping)(struct vg_store *s);
	enum vg_err (*schema_current)(struct vg_store *s, bool *current, char *detail,
	    size_t detail_len);
	/* ev has its id and at_us set and has been validated. */
	enum vg_err (*audit_append)(struct vg_store *s, const struct vg_audit_event *ev);
	/* Up to n items strictly after pos (NULL: from the newest), newest
	 * first; *items is a new array of the objects store.h describes. */
	enum vg_err (*audit_list)(struct vg_store *s, const struct vg_store_pos *pos, int n,
	    json_t **items);
	enum vg_err (*worker_upsert)(struct vg_store *s, const struct vg_worker *w);
	/* Every worker, in any order (store.c sorts). */
	enum vg_err (*worker_list)(struct vg_store *s, struct vg_worker **out, size_t *count);
};

struct vg_store {
	const struct vg_store_ops *ops;
	struct vg_jsondb *jdb;   /* json backend */
	struct vg_pg *pg;        /* postgres backend (the process's connection) */
};

extern const struct vg_store_ops vg_store_json_ops;
extern const struct vg_store_ops vg_store_pg_ops;

/* Cursor text <-> position.  encode gives a malloc'd string; decode
 * refuses anything it did not produce with VG_ERR_INVALID. */
char *vg_store_cursor_encode(const struct vg_store_pos *pos);
enum vg_err vg_store_cursor_decode(const char *cursor, struct vg_store_pos *pos);
/* JSON objects in their canonical text, compact with keys sorted, as
 * every backend hands back options and languages (store.c):
 *   dump   obj into buf (size bytes);
 *   canon  the object text in (NULL: invalid; "" means {}) into buf, which
 *          may be in itself;
 *   norm   buf rewritten in place.
 * VG_ERR_INVALID when it is not an object or its text does not fit;
 * VG_ERR_NOMEM. */
enum vg_err vg_store_object_dump(const json_t *obj, char *buf, size_t size);
enum vg_err vg_store_object_text_canon(const char *in, char *buf, size_t size);
enum vg_err vg_store_object_text_norm(char *buf, size_t size);

/* ---- argument checks shared by the validating wrappers ---- */

/* At most max bytes of UTF-8 (and so NUL-terminated within max + 1). */
bool vg_store_text_ok(const char *s, size_t max);
/* 1..max bytes of UTF-8. */
bool vg_store_required_ok(const char *s, size_t max);
/* Whether v (NULL: never) is one of list[0..n). */
bool vg_store_one_of(const char *v, const char *const *list, size_t n);
/* Exactly len lower-case hex digits (h NULL: false). */
bool vg_store_hex_ok(const char *h, size_t len);
/* Copy a UUID into out in its lower-case form (in and out may be the
 * same buffer); false when in is NULL or not a UUID. */
bool vg_store_uuid_norm(const char *in, char out[VG_UUID_LEN + 1]);
/* An optional UUID field ("" or a UUID), lower-cased in place. */
bool vg_store_opt_uuid_norm(char f[VG_UUID_LEN + 1]);
/* NULL, or at most max bytes of UTF-8. */
bool vg_store_opt_text_ok(const char *v, size_t max);
/* An optional UUID argument: NULL/"" gives *out NULL, a UUID its
 * lower-case form in buf (and *out = buf); false when malformed. */
bool vg_store_opt_uuid_arg(const char *in, char buf[VG_UUID_LEN + 1], const char **out);
/* NULL for NULL or "" (a text the backend stores as null), else v. */
const char *vg_store_null_if_empty(const char *v);
/* us, or the time now when us is 0. */
int64_t vg_store_now_or(int64_t us);

/*
 * Paging of a newest-first list: the wrapper calls vg_store_page_begin,
 * asks the backend for limit + 1 items strictly after the position (when
 * there is one), and hands the answer to vg_store_page_end, which keeps
 * limit items and makes the next cursor from the last one kept, so a
 * cursor means the same in both backends.  A pager describes an item:
 * its size, how to read its (created_at, id), and what it owns.
 */
struct vg_store_pager {
	size_t size;   /* of one item */
	void (*get_pos)(const void *item, struct vg_store_pos *pos);
	void (*release)(void *item);   /* what an item owns; NULL: nothing */
};

/* Check limit (1..VG_STORE_LIST_MAX) and decode cursor (NULL: from the
 * newest) into *pos; *has_pos says whether there is one.  VG_ERR_INVALID
 * for a bad limit or a cursor vg_store_cursor_encode did not make. */
enum vg_err vg_store_page_begin(const char *cursor, int limit, struct vg_store_pos *pos,
    bool *has_pos);
/* Cut items (*count of them, as the backend answered) to limit, releasing
 * the items beyond, and set *next (malloc'd, or NULL on the last page).
 * On failure (VG_ERR_NOMEM) every item is released, the array is freed
 * and *count is 0: the caller must forget items. */
enum vg_err vg_store_page_end(const struct vg_store_pager *pg, void *items, size_t *count,
    int limit, char **next);

/* The audit event as the object audit_list returns (new reference). */
json_t *vg_store_audit_json(const struct vg_audit_event *ev);

/* Insert one audit row on db (inside the caller's transaction, if any);
 * shared by the postgres backend and the migration runner. */
enum vg_err vg_store_pg_audit_insert(struct vg_pg *db, const struct vg_audit_event *ev);

/* How a user is looked up. */
enum vg_user_key { VG_USER_BY_ID, VG_USER_BY_EMAIL, VG_USER_BY_SUB };

/* One change to a user (store_auth.c has validated it). */
struct vg_user_change {
	enum { VG_USER_SET_PASSWORD, VG_USER_SET_DISABLED, VG_USER_SET_GROUPS,
	    VG_USER_TOUCH_LOGIN } kind;
	const char *password_hash;
	bool disabled;
	unsigned groups;
	int64_t now_us;
};

/*
 * The account operations of a backend.  Arguments arrive validated: ids
 * are UUIDs, e-mails lower-cased, hashes 64 hex digits, times set.
 * Lists hand back up to n items strictly after pos (NULL: from the
 * newest), newest first by (created_at, id); store_auth.c pages them.
 */
struct vg_store_auth_ops {
	enum vg_err (*user_create)(struct vg_store *s, const struct vg_user *u);
	enum vg_err (*user_get)(struct vg_store *s, enum vg_user_key by, const char *key,
	    struct vg_user *out);
	/* VG_ERR_NOT_FOUND for an unknown id. */
	enum vg_err (*user_update)(struct vg_store *s, const char *id,
	    const struct vg_user_change *c);
	enum vg_err (*user_list)(struct vg_store *s, const struct vg_store_pos *pos, int n,
	    struct vg_user **out, size_t *count);
	enum vg_err (*user_count)(struct vg_store *s, int64_t *count);

	/* f complete (id, times); token_id names the first token. */
	enum vg_err (*refresh_start)(struct vg_store *s, const struct vg_refresh_family *f,
	    const char *token_id, const char *token_hash, int64_t token_expires_us);
	enum vg_err (*refresh_family_get)(struct vg_store *s, const char *id,
	    struct vg_refresh_family *out);
	enum vg_err (*refresh_family_of)(struct vg_store *s, const char *token_hash,
	    struct vg_refresh_family *out);
	/* family_id NULL: only the user; f zeroed when not the user's. */
	enum vg_err (*user_session)(struct vg_store *s, const char *user_id,
	    const char *family_id, struct vg_user *u, struct vg_refresh_family *f);
	enum vg_err (*refresh_family_revoke)(struct vg_store *s, const char *id,
	    const char *reason, int64_t now_us);
	enum vg_err (*refresh_revoke_user)(struct vg_store *s, const char *user_id,
	    const char *reason, int64_t now_us, size_t *count);
	/* new_token_id names the replacement when the outcome is ROTATED. */
	enum vg_err (*refresh_rotate)(struct vg_store *s, struct vg_refresh_rotation *r,
	    const char *new_token_id);

	enum vg_err (*api_key_create)(struct vg_store *s, const struct vg_api_key *k);
	enum vg_err (*api_key_by_hash)(struct vg_store *s, const char *hash,
	    struct vg_api_key *out);
	enum vg_err (*api_key_list)(struct vg_store *s, const char *user_id,
	    const struct vg_store_pos *pos, int n, struct vg_api_key **out, size_t *count);
	enum vg_err (*api_key_count)(struct vg_store *s, const char *user_id, int64_t now_us,
	    int64_t *count);
	enum vg_err (*api_key_revoke)(struct vg_store *s, const char *user_id, const char *id,
	    int64_t now_us);
	enum vg_err (*api_key_touch)(struct vg_store *s, const char *id, int64_t now_us);

	enum vg_err (*throttle_get)(struct vg_store *s, const char *key, int64_t now_us,
	    int64_t window_us, int64_t *failures, int64_t *window_start_us);
	enum vg_err (*throttle_fail)(struct vg_store *s, const char *key, int64_t now_us,
	    int64_t window_us, int64_t *failures, int64_t *window_start_us);
	enum vg_err (*throttle_clear)(struct vg_store *s, const char *key);
};

extern const struct vg_store_auth_ops vg_store_json_auth_ops;
extern const struct vg_store_auth_ops vg_store_pg_auth_ops;

/*
 * The sources operations of a backend (store.h, "projects, members,
 * ..."); store_sources.c has validated the arguments (UUIDs, names,
 * roles, states, digests) and filled ids and times.  Lists hand back up
 * to n items strictly after pos (NULL: from the newest), newest first
 * by (created_at, id); store_sources.c pages them.
 */
struct vg_store_sources_ops {
	enum vg_err (*project_create)(struct vg_store *s, const struct vg_project *p,
	    int64_t now_us);
	enum vg_err (*project_get)(struct vg_store *s, const char *id, struct vg_project *out);
	enum vg_err (*project_update)(struct vg_store *s, const struct vg_project *p,
	    int64_t now_us);
	enum vg_err (*project_delete)(struct vg_store *s, const char *id);
	enum vg_err (*project_list)(struct vg_store *s, const char *user_id,
	    const struct vg_store_pos *pos, int n, struct vg_project_entry **out, size_t *count);
	enum vg_err (*project_count_owned)(struct vg_store *s, const char *user_id,
	    int64_t *count);
	enum vg_err (*project_rollup)(struct vg_store *s, const char *id,
	    struct vg_project_rollup *out);

	enum vg_err (*member_role)(struct vg_store *s, const char *project_id,
	    const char *user_id, char role[8]);
	enum vg_err (*member_put)(struct vg_store *s, struct vg_member *m, int64_t now_us,
	    bool *created);
	enum vg_err (*member_delete)(struct vg_store *s, const char *project_id,
	    const char *user_id);
	enum vg_err (*member_get)(struct vg_store *s, const char *project_id,
	    const char *user_id, struct vg_member *out);
	/* Every member in any order (store_sources.c sorts). */
	enum vg_err (*member_list)(struct vg_store *s, const char *project_id,
	    struct vg_member **out, size_t *count);

	enum vg_err (*repository_create)(struct vg_store *s, const struct vg_repository *r);
	enum vg_err (*repository_get)(struct vg_store *s, const char *id,
	    struct vg_repository *out);
	/* Optional (NULL: store_sources.c reads the three in turn); role
	 * "" when user_id is not a member. */
	enum vg_err (*repository_scope)(struct vg_store *s, const char *id, const char *user_id,
	    struct vg_repository *repo, struct vg_project *project, char role[8]);
	/* Optional (NULL: store_sources.c reads the user and session, then
	 * the scope); ids normalised, family_id NULL or a uuid; the outputs
	 * cleared by the caller. */
	enum vg_err (*repository_scope_as)(struct vg_store *s, const char *id,
	    const char *user_id, const char *family_id, struct vg_store_caller *who,
	    struct vg_repository *repo, struct vg_project *project, char role[8]);
	enum vg_err (*repository_list)(struct vg_store *s, const char *project_id,
	    const struct vg_store_pos *pos, int n, struct vg_repository **out, size_t *count);
	enum vg_err (*repository_update)(struct vg_store *s, const struct vg_repository *r,
	    int64_t now_us);
	enum vg_err (*repository_delete)(struct vg_store *s, const char *id);
	enum vg_err (*repository_count)(struct vg_store *s, const char *project_id,
	    int64_t *count);
	enum vg_err (*repository_set_ingest)(struct vg_store *s, const char *id,
	    const struct vg_ingest_change *c, struct vg_repository *out);

	/* snap complete (id, created_at_us set). */
	enum vg_err (*snapshot_create)(struct vg_store *s, struct vg_snapshot *snap,
	    bool *existed);
	enum vg_err (*snapshot_get)(struct vg_store *s, const char *id, struct vg_snapshot *out);
	enum vg_err (*snapshot_list)(struct vg_store *s, const char *repository_id,
	    const struct vg_store_pos *pos, int n, struct vg_snapshot **out, size_t *count);
	enum vg_err (*snapshot_count)(struct vg_store *s, const char *repository_id,
	    int64_t *count);
	enum vg_err (*snapshot_key_used)(struct vg_store *s, const char *storage_key,
	    bool *used);

	/* p complete but for project_id, which the backend fills. */
	enum vg_err (*threat_profile_create)(struct vg_store *s, struct vg_threat_profile *p);
	enum vg_err (*threat_profile_get)(struct vg_store *s, const char *id, int64_t version,
	    struct vg_threat_profile *out);
	enum vg_err (*threat_profile_add_version)(struct vg_store *s,
	    struct vg_threat_profile *p, int64_t now_us);
	enum vg_err (*threat_profile_list)(struct vg_store *s, const char *repository_id,
	    const struct vg_store_pos *pos, int n, struct vg_threat_profile **out,
	    size_t *count);
	enum vg_err (*threat_profile_count)(struct vg_store *s, const char *repository_id,
	    int64_t *count);
};

extern const struct vg_store_sources_ops vg_store_json_sources_ops;
extern const struct vg_store_sources_ops vg_store_pg_sources_ops;

/* A position in a repository's event stream (created_at, scan id, seq). */
struct vg_event_pos {
	int64_t at_us;
	char scan_id[VG_UUID_LEN + 1];
	int64_t seq;
};

/*
 * The scan operations of a backend (store.h, "scans, events, findings,
 * ..."); store_scans.c has validated the arguments and filled ids and
 * times.  Scan lists hand back up to n items strictly after pos (NULL:
 * from the newest), newest first by (created_at, id); findings are paged
 * by offset in the filter's sort order; store_scans.c makes the cursors.
 */
struct vg_store_scans_ops {
	enum vg_err (*scan_create)(struct vg_store *s, struct vg_scan *sc, int64_t max_active);
	enum vg_err (*scan_get)(struct vg_store *s, const char *id, struct vg_scan *out);
	enum vg_err (*scan_list)(struct vg_store *s, const struct vg_scan_filter *f,
	    const struct vg_store_pos *pos, int n, struct vg_scan **out, size_t *count);
	enum vg_err (*scan_claim)(struct vg_store *s, const char *worker_id,
	    const char *scan_id, const char *lease_token, int64_t now_us, struct vg_scan *out);
	enum vg_err (*scan_start)(struct vg_store *s, const struct vg_lease *l, int64_t now_us);
	enum vg_err (*scan_heartbeat)(struct vg_store *s, const struct vg_lease *l,
	    int64_t files_scanned, int64_t now_us, bool *cancel_requested);
	enum vg_err (*scan_finish)(struct vg_store *s, const struct vg_lease *l,
	    const struct vg_scan_finish *f);
	enum vg_err (*scan_cancel)(struct vg_store *s, const char *id, int64_t now_us,
	    struct vg_scan *out);
	enum vg_err (*scan_stale)(struct vg_store *s, int64_t heartbeat_before_us,
	    int64_t started_before_us, int64_t claimed_before_us, struct vg_scan **out,
	    size_t *count);
	enum vg_err (*scan_rescue_running)(struct vg_store *s, const char *id, int64_t attempt,
	    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us);
	enum vg_err (*scan_requeue_claimed)(struct vg_store *s, const char *id, int64_t attempt,
	    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us);
	enum vg_err (*scan_count_active)(struct vg_store *s, const char *user_id,
	    int64_t *count);
	enum vg_err (*scan_finished_before)(struct vg_store *s, int64_t before_us, int n,
	    char (**out)[VG_UUID_LEN + 1], size_t *count);

	enum vg_err (*event_append)(struct vg_store *s, const struct vg_lease *l,
	    const char *type, json_t *payload, int64_t now_us, int64_t *seq);
	enum vg_err (*event_list)(struct vg_store *s, const char *scan_id, int64_t after,
	    int limit, struct vg_event **out, size_t *count);
	/* Up to n events strictly after pos (NULL: from the first). */
	enum vg_err (*event_list_repository)(struct vg_store *s, const char *repository_id,
	    const struct vg_event_pos *pos, int n, struct vg_event **out, size_t *count);

	enum vg_err (*finding_upsert)(struct vg_store *s, const struct vg_lease *l,
	    struct vg_finding_row *f, int64_t now_us, bool *created);
	enum vg_err (*finding_list)(struct vg_store *s, const struct vg_finding_filter *f,
	    int64_t offset, int n, struct vg_finding_row **out, size_t *count);
	enum vg_err (*finding_count)(struct vg_store *s, const struct vg_finding_filter *f,
	    int64_t *count);
	enum vg_err (*finding_get)(struct vg_store *s, const char *id, struct vg_finding_row *out);
	enum vg_err (*finding_triage)(struct vg_store *s, const char *id,
	    const struct vg_triage *t, struct vg_finding_row *out);
	enum vg_err (*finding_history)(struct vg_store *s, const char *id, json_t **items);

	enum vg_err (*runner_job_create)(struct vg_store *s, struct vg_runner_job *j,
	    int64_t now_us, bool *existed);
	enum vg_err (*runner_job_update)(struct vg_store *s, const char *scan_id,
	    int64_t attempt, const struct vg_runner_job_change *c);
	enum vg_err (*runner_job_get)(struct vg_store *s, const char *scan_id, int64_t attempt,
	    struct vg_runner_job *out);
	enum vg_err (*runner_job_list)(struct vg_store *s, const char *scan_id,
	    struct vg_runner_job **out, size_t *count);

	enum vg_err (*prune)(struct vg_store *s, const struct vg_prune *p,
	    struct vg_prune_counts *out);
};

extern const struct vg_store_scans_ops vg_store_json_scans_ops;
extern const struct vg_store_scans_ops vg_store_pg_scans_ops;

/*
 * LLM usage (store_llm.c checks the arguments; see store.h): the
 * reservation with its limit check is one atomic step; a settlement
 * leaves 'reserved' once.
 */
struct vg_store_llm_ops {
	enum vg_err (*reserve)(struct vg_store *s, struct vg_llm_reservation *r,
	    const struct vg_llm_limits *lim, struct vg_llm_totals *after);
	enum vg_err (*settle)(struct vg_store *s, const char *id,
	    const struct vg_llm_settlement *st);
	enum vg_err (*totals)(struct vg_store *s, const char *scan_id,
	    struct vg_llm_totals *out);
	enum vg_err (*list)(struct vg_store *s, const char *scan_id, json_t **items);
	enum vg_err (*gate)(struct vg_store *s, const char *scan_id, struct vg_llm_gate *out);
};

/* Whether one more request of tokens and microusd on top of t crosses a
 * non-zero limit of lim.  Tokens spent are input plus output plus what
 * is reserved (cached input is part of input, reasoning part of output). */
bool vg_store_llm_over_limit(const struct vg_llm_totals *t, const struct vg_llm_limits *lim,
    int64_t tokens, int64_t microusd);

extern const struct vg_store_llm_ops vg_store_json_llm_ops;
extern const struct vg_store_llm_ops vg_store_pg_llm_ops;

#endif
