/*
 * store.h - the metadata store: one interface, two backends.
 *
 * VEGA_PERSISTENCE_BACKEND picks the backend when the store is opened:
 *   json      human-readable JSON files under VEGA_DATA_DIR/store, safe for
 *             several processes at once (file locks, write to a temporary
 *             file then rename, so nothing is ever half-written);
 *   postgres  VEGA_DATABASE_URL, one connection per process, re-established
 *             after a loss.
 * Callers never see which one they have.  Every entity is in both backends
 * and in the contract suite (tests/unit/test_store.c), which runs unchanged
 * against each.
 *
 * Errors: VG_ERR_UNAVAILABLE when the backend cannot be reached (the API
 * answers 503), VG_ERR_NOT_FOUND, VG_ERR_CONFLICT, VG_ERR_INVALID as usual.
 * Out-parameters that are allocated say so; free them with the matching
 * _free function.
 */
#ifndef VG_STORE_STORE_H
#define VG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "core/id.h"

struct vg_store;

/* Largest page a list call returns (limit is 1..VG_STORE_LIST_MAX). */
#define VG_STORE_LIST_MAX 1000

/* Open the backend chosen by the settings (vg_settings_load first).
 * Opening does not connect: a Postgres outage surfaces as
 * VG_ERR_UNAVAILABLE from the first call that needs the database.
 * *out is freed with vg_store_free. */
enum vg_err vg_store_open(struct vg_store **out);
void vg_store_free(struct vg_store *s);
/* "json" or "postgres". */
const char *vg_store_backend(const struct vg_store *s);

/* Readiness: VG_OK when the backend answers. */
enum vg_err vg_store_ping(struct vg_store *s);
/* Whether every migration in VEGA_MIGRATIONS_DIR is applied with an
 * unchanged checksum; detail says what is pending or changed.  The json
 * backend has no schema and is always current. */
enum vg_err vg_store_schema_current(struct vg_store *s, bool *current,
    char *detail, size_t detail_len);

/* ---- audit log (append-only) ---- */
struct vg_audit_event {
	char id[VG_UUID_LEN + 1];      /* set by append */
	int64_t at_us;                 /* set by append when 0 */
	const char *actor_id;          /* user id, or NULL for the system */
	const char *action;            /* "auth.login", "migrate.apply", ... */
	const char *target_type;       /* may be NULL */
	const char *target_id;         /* may be NULL */
	const char *request_id;        /* may be NULL */
	const char *client_ip;         /* may be NULL */
	json_t *details;               /* borrowed; may be NULL */
};
/* Append ev; fills ev->id and ev->at_us. */
enum vg_err vg_store_audit_append(struct vg_store *s, struct vg_audit_event *ev);
/* Newest first (ties by id).  *items is a new JSON array of objects (id,
 * at, actor_id, action, target_type, target_id, request_id, client_ip,
 * details); *next_cursor is malloc'd, NULL at the end.  cursor may be
 * NULL.  limit outside 1..VG_STORE_LIST_MAX, or a cursor this store did
 * not hand out, is VG_ERR_INVALID. */
enum vg_err vg_store_audit_list(struct vg_store *s, const char *cursor,
    int limit, json_t **items, char **next_cursor);

/* ---- worker registry ---- */
struct vg_worker {
	char id[VG_UUID_LEN + 1];
	char host[256];
	int64_t pid;
	char version[32];
	int64_t started_at_us;
	int64_t last_heartbeat_us;
	char state[16];                   /* "idle", "busy", "stopping", "stopped" */
	char current_scan_id[VG_UUID_LEN + 1];  /* "" when none */
};
/* Insert or update the worker row by id (a heartbeat). */
enum vg_err vg_store_worker_upsert(struct vg_store *s, const struct vg_worker *w);
/* All workers, newest heartbeat first; *out is malloc'd (free()). */
enum vg_err vg_store_worker_list(struct vg_store *s, struct vg_worker **out, size_t *count);

/* ---- users ---- */

/* Groups, as bits: a user holds any combination. */
#define VG_GROUP_ROOT     1u
#define VG_GROUP_OPERATOR 2u
#define VG_GROUP_USER     4u
#define VG_GROUP_ALL      (VG_GROUP_ROOT | VG_GROUP_OPERATOR | VG_GROUP_USER)

#define VG_STORE_EMAIL_MAX 320
#define VG_STORE_NAME_MAX 200
#define VG_STORE_PASSWORD_HASH_MAX 512
#define VG_STORE_SUB_MAX 128

struct vg_user {
	char id[VG_UUID_LEN + 1];          /* set by create */
	char email[VG_STORE_EMAIL_MAX + 1];  /* lower-cased by create; "" when none */
	char display_name[VG_STORE_NAME_MAX + 1];
	unsigned groups;                   /* VG_GROUP_* bits, never 0 */
	bool disabled;
	/* The encoded password hash ("scrypt$..."), "" when none (accounts of
	 * an external identity provider). */
	char password_hash[VG_STORE_PASSWORD_HASH_MAX + 1];
	char cognito_sub[VG_STORE_SUB_MAX + 1];   /* "" when none */
	int64_t created_at_us;             /* set by create */
	int64_t updated_at_us;             /* set by every change */
	int64_t last_login_us;             /* 0: never */
	int64_t password_changed_us;       /* 0: no password */
};

/* Group names <-> bits: "root", "operator", "user". */
const char *vg_group_name(unsigned bit);
/* The bit of a group name, 0 when unknown. */
unsigned vg_group_bit(const char *name);
/* The groups as a new JSON array of names, in a fixed order. */
json_t *vg_groups_json(unsigned groups);

/*
 * Create u: fills id, created_at_us and updated_at_us, lower-cases the
 * e-mail.  A user needs an e-mail or a cognito_sub, valid groups and, when
 * it has a password hash, password_changed_us (0: now).  VG_ERR_CONFLICT
 * when the e-mail or the sub belongs to another user.
 */
enum vg_err vg_store_user_create(struct vg_store *s, struct vg_user *u);
/* Look a user up; VG_ERR_NOT_FOUND when none.  The e-mail is compared
 * without regard to ASCII case. */
enum vg_err vg_store_user_get(struct vg_store *s, const char *id, struct vg_user *out);
enum vg_err vg_store_user_by_email(struct vg_store *s, const char *email, struct vg_user *out);
enum vg_err vg_store_user_by_sub(struct vg_store *s, const char *sub, struct vg_user *out);
/* Set the password hash (password_changed = updated = now_us). */
enum vg_err vg_store_user_set_password(struct vg_store *s, const char *id, const char *hash,
    int64_t now_us);
enum vg_err vg_store_user_set_disabled(struct vg_store *s, const char *id, bool disabled,
    int64_t now_us);
enum vg_err vg_store_user_set_groups(struct vg_store *s, const char *id, unsigned groups,
    int64_t now_us);
/* Record a successful login (last_login = now_us). */
enum vg_err vg_store_user_touch_login(struct vg_store *s, const char *id, int64_t now_us);
/* Newest first (ties by id); *out is malloc'd (free()), *next_cursor as
 * for vg_store_audit_list. */
enum vg_err vg_store_user_list(struct vg_store *s, const char *cursor, int limit,
    struct vg_user **out, size_t *count, char **next_cursor);
/* How many users exist (the bootstrap asks whether there are none). */
enum vg_err vg_store_user_count(struct vg_store *s, int64_t *count);

/* ---- refresh tokens: families and rotation ---- */

/* Why a family was revoked (the values of the SQL CHECK). */
#define VG_REVOKE_LOGOUT "logout"
#define VG_REVOKE_REUSE "reuse_detected"
#define VG_REVOKE_PASSWORD "password_changed"
#define VG_REVOKE_DISABLED "user_disabled"
#define VG_REVOKE_ADMIN "admin"

struct vg_refresh_family {
	char id[VG_UUID_LEN + 1];          /* set by create */
	char user_id[VG_UUID_LEN + 1];
	int64_t created_at_us;             /* set by create */
	int64_t expires_at_us;             /* the absolute end of the login */
	int64_t revoked_at_us;             /* 0: live */
	char revoked_reason[32];           /* "" while live */
	char client_ip[65];                /* may be "" */
	char user_agent[513];              /* may be "" */
};

/*
 * Start a family f (user_id, expires_at_us, client_ip, user_agent given;
 * id and created_at_us filled, now when 0) with its first token:
 * token_hash (a vg_token_hash) valid until token_expires_us.  Both or
 * neither are written.
 */
enum vg_err vg_store_refresh_start(struct vg_store *s, struct vg_refresh_family *f,
    const char *token_hash, int64_t token_expires_us);
enum vg_err vg_store_refresh_family_get(struct vg_store *s, const char *id,
    struct vg_refresh_family *out);
/* The family of the token with this hash (any state); VG_ERR_NOT_FOUND. */
enum vg_err vg_store_refresh_family_of(struct vg_store *s, const char *token_hash,
    struct vg_refresh_family *out);
/*
 * The bearer check's one look-up: user user_id into *u and, when
 * family_id is not NULL, its refresh family family_id into *f (all zero
 * when there is no such family of that user).  VG_ERR_NOT_FOUND when the
 * user does not exist.  One round trip on Postgres.
 */
enum vg_err vg_store_user_session(struct vg_store *s, const char *user_id,
    const char *family_id, struct vg_user *u, struct vg_refresh_family *f);
/* Revoke a family for reason (VG_REVOKE_*).  Revoking a revoked family
 * keeps its first reason and is VG_OK; an unknown one VG_ERR_NOT_FOUND. */
enum vg_err vg_store_refresh_family_revoke(struct vg_store *s, const char *id,
    const char *reason, int64_t now_us);
/* Revoke every live family of a user; *count (may be NULL) gets how many. */
enum vg_err vg_store_refresh_revoke_user(struct vg_store *s, const char *user_id,
    const char *reason, int64_t now_us, size_t *count);

enum vg_refresh_outcome {
	VG_REFRESH_ROTATED,   /* the old token died, new_hash is live */
	VG_REFRESH_REUSED,    /* the token had been rotated: family revoked now */
	VG_REFRESH_INVALID,   /* unknown, expired, or its family revoked/expired */
};

/*
 * One rotation, atomic against every other store call: with the token
 * whose hash is old_hash, as of now_us,
 *   - family revoked or expired, token unknown or expired: INVALID;
 *   - token already rotated (a copy was used before): the family is
 *     revoked with VG_REVOKE_REUSE, REUSED;
 *   - otherwise the token is marked rotated and replaced by a new token
 *     new_hash valid until new_expires_us (never past the family's end),
 *     ROTATED.
 * family (when not INVALID for an unknown token) describes the family as
 * it is afterwards.  Two concurrent rotations of one token: exactly one
 * is ROTATED, the other REUSED.
 */
struct vg_refresh_rotation {
	const char *old_hash;
	const char *new_hash;
	int64_t new_expires_us;
	int64_t now_us;
	enum vg_refresh_outcome outcome;          /* out */
	struct vg_refresh_family family;          /* out */
};
enum vg_err vg_store_refresh_rotate(struct vg_store *s, struct vg_refresh_rotation *r);

/* ---- API keys ---- */

struct vg_api_key {
	char id[VG_UUID_LEN + 1];          /* set by create */
	char user_id[VG_UUID_LEN + 1];
	char name[VG_STORE_NAME_MAX + 1];
	char prefix[33];                   /* shown to tell keys apart */
	char key_hash[65];                 /* vg_token_hash of the key */
	int64_t created_at_us;             /* set by create (now when 0) */
	int64_t expires_at_us;             /* 0: never */
	int64_t last_used_us;              /* 0: never */
	int64_t revoked_at_us;             /* 0: live */
};
/* VG_ERR_CONFLICT when the prefix or hash exists already. */
enum vg_err vg_store_api_key_create(struct vg_store *s, struct vg_api_key *k);
/* The key with this hash, in any state; VG_ERR_NOT_FOUND. */
enum vg_err vg_store_api_key_by_hash(struct vg_store *s, const char *key_hash,
    struct vg_api_key *out);
/* A user's keys that are not revoked, newest first (ties by id), paged
 * like vg_store_audit_list; *out is malloc'd (free()). */
enum vg_err vg_store_api_key_list(struct vg_store *s, const char *user_id, const char *cursor,
    int limit, struct vg_api_key **out, size_t *count, char **next_cursor);
/* How many unrevoked, unexpired keys the user holds at now_us. */
enum vg_err vg_store_api_key_count(struct vg_store *s, const char *user_id, int64_t now_us,
    int64_t *count);
/* Revoke key id of user_id: VG_ERR_NOT_FOUND when it is not theirs or is
 * already revoked. */
enum vg_err vg_store_api_key_revoke(struct vg_store *s, const char *user_id, const char *id,
    int64_t now_us);
/* Set last_used to now_us (the caller limits how often). */
enum vg_err vg_store_api_key_touch(struct vg_store *s, const char *id, int64_t now_us);

/* ---- failed-login throttle ---- */

/*
 * Counters of failures per key ([A-Za-z0-9_.-]{1,128}) in fixed windows:
 * a window starts at the first failure and lasts window_us.
 *   get   the failures of the window running at now_us (0 and
 *         *window_start 0 when none runs);
 *   fail  count one failure atomically (a new window when none runs) and
 *         give the count and the window's start;
 *   clear forget the key.
 */
enum vg_err vg_store_throttle_get(struct vg_store *s, const char *key, int64_t now_us,
    int64_t window_us, int64_t *failures, int64_t *window_start_us);
enum vg_err vg_store_throttle_fail(struct vg_store *s, const char *key, int64_t now_us,
    int64_t window_us, int64_t *failures, int64_t *window_start_us);
enum vg_err vg_store_throttle_clear(struct vg_store *s, const char *key);

/* ---- projects, members, repositories, snapshots, threat profiles ----
 *
 * The sources of issue 4 (sql/002_projects_sources.sql, 005).  Lists are
 * newest first by (created_at, id) and paged with the opaque cursors of
 * vg_store_audit_list, unless they say otherwise.  Deleting a project
 * removes its members, repositories, snapshots (rows, not blobs: blobs
 * are content-addressed and shared, and cleanup removes the unreferenced
 * ones), threat profiles and everything later issues hang below them.
 */

#define VG_STORE_DESCRIPTION_MAX 4000
#define VG_STORE_GIT_URL_MAX 2048
#define VG_STORE_GIT_REF_MAX 256
#define VG_STORE_ERROR_CODE_MAX 64
#define VG_STORE_ERROR_MESSAGE_MAX 2000
#define VG_STORE_STORAGE_KEY_MAX 1024
#define VG_STORE_LANGUAGES_MAX 2048

/* Severities, most severe first: the index into open_findings[]. */
#define VG_SEVERITY_COUNT 5
extern const char *const vg_severity_names[VG_SEVERITY_COUNT];
/* The index of sev in vg_severity_names (0 most severe), or
 * VG_SEVERITY_COUNT when it is none of them (sev NULL included). */
int vg_severity_rank(const char *sev);

struct vg_project {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char name[VG_STORE_NAME_MAX + 1];            /* 1..200 bytes */
	char description[VG_STORE_DESCRIPTION_MAX + 1];
	char owner_id[VG_UUID_LEN + 1];              /* the creator */
	int64_t created_at_us;                       /* set by create (now when 0) */
	int64_t updated_at_us;
};

/* What the project list shows beside each project. */
struct vg_project_rollup {
	int64_t repositories;
	char last_scan_status[16];                   /* "" when no scan yet */
	int64_t last_scan_at_us;                     /* 0 when no scan yet */
	int64_t open_findings[VG_SEVERITY_COUNT];    /* by severity, status open */
};

/* One line of a user's project list: the project, the user's role in it
 * ("owner", "member", "viewer") and the roll-up. */
struct vg_project_entry {
	struct vg_project project;
	char role[8];
	struct vg_project_rollup rollup;
};

/*
 * Create project p (name, description, owner_id given; id and times
 * filled) and make its owner a member with role "owner", both or
 * neither.  VG_ERR_NOT_FOUND when the owner is no user.
 */
enum vg_err vg_store_project_create(struct vg_store *s, struct vg_project *p);
enum vg_err vg_store_project_get(struct vg_store *s, const char *id, struct vg_project *out);
/* Set name and description of p->id (updated_at = now_us). */
enum vg_err vg_store_project_update(struct vg_store *s, const struct vg_project *p,
    int64_t now_us);
/* Delete a project and everything in it; VG_ERR_NOT_FOUND when absent. */
enum vg_err vg_store_project_delete(struct vg_store *s, const char *id);
/* The projects user_id is a member of (any role), with role and roll-up,
 * paged; *out is malloc'd (free()). */
enum vg_err vg_store_project_list(struct vg_store *s, const char *user_id,
    const char *cursor, int limit, struct vg_project_entry **out, size_t *count,
    char **next_cursor);
/* How many projects user_id owns (role owner). */
enum vg_err vg_store_project_count_owned(struct vg_store *s, const char *user_id,
    int64_t *count);
/* The roll-up of one project. */
enum vg_err vg_store_project_rollup(struct vg_store *s, const char *id,
    struct vg_project_rollup *out);

struct vg_member {
	char project_id[VG_UUID_LEN + 1];
	char user_id[VG_UUID_LEN + 1];
	char role[8];                                /* "owner", "member", "viewer" */
	char added_by[VG_UUID_LEN + 1];              /* "" when unknown */
	int64_t created_at_us;                       /* set by put when new */
	/* From the user, filled by get and list: */
	char email[VG_STORE_EMAIL_MAX + 1];
	char display_name[VG_STORE_NAME_MAX + 1];
};

/* user_id's role in project_id into role (8 bytes); VG_ERR_NOT_FOUND when
 * not a member or when the project does not exist.  The access check of
 * every project-scoped request: one round trip. */
enum vg_err vg_store_member_role(struct vg_store *s, const char *project_id,
    const char *user_id, char role[8]);
/*
 * Add or change a member (project_id, user_id, role, added_by given):
 * *created (may be NULL) tells which.  VG_ERR_NOT_FOUND when the project
 * or the user does not exist; VG_ERR_CONFLICT when the change would leave
 * the project without an owner.  m is filled as stored.
 */
enum vg_err vg_store_member_put(struct vg_store *s, struct vg_member *m, bool *created);
/* Remove a member; VG_ERR_NOT_FOUND when not one, VG_ERR_CONFLICT when it
 * is the last owner. */
enum vg_err vg_store_member_delete(struct vg_store *s, const char *project_id,
    const char *user_id);
enum vg_err vg_store_member_get(struct vg_store *s, const char *project_id,
    const char *user_id, struct vg_member *out);
/* Every member, oldest first (ties by user id); *out is malloc'd. */
enum vg_err vg_store_member_list(struct vg_store *s, const char *project_id,
    struct vg_member **out, size_t *count);

/* Ingest states (the values of the SQL CHECK). */
#define VG_INGEST_PENDING "pending"
#define VG_INGEST_INGESTING "ingesting"
#define VG_INGEST_READY "ready"
#define VG_INGEST_FAILED "failed"

struct vg_repository {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char project_id[VG_UUID_LEN + 1];
	char name[VG_STORE_NAME_MAX + 1];
	char source_type[8];                         /* "upload" or "git" */
	char git_url[VG_STORE_GIT_URL_MAX + 1];      /* "" for uploads */
	char git_ref[VG_STORE_GIT_REF_MAX + 1];      /* "" for the default branch */
	char ingest_status[12];                      /* VG_INGEST_*; create: pending */
	char ingest_error_code[VG_STORE_ERROR_CODE_MAX + 1];       /* "" unless failed */
	char ingest_error_message[VG_STORE_ERROR_MESSAGE_MAX + 1];
	char current_snapshot_id[VG_UUID_LEN + 1];   /* "" when none */
	char created_by[VG_UUID_LEN + 1];            /* "" when unknown */
	int64_t created_at_us;
	int64_t updated_at_us;
	/*
	 * Moves whenever anything the repository's finding lists show may
	 * have changed (a finding, a triage decision, a scan's state), so an
	 * answer made from them may be served again while it stays the
	 * same.  Postgres reads it with the row; the json backend reads it
	 * from the repository's finding index after the row (store_json_
	 * findex.h).  0 when there is none yet: nothing may be kept on it
	 * then.
	 */
	int64_t findings_version;
};

/* Create r (project_id, name, source_type, git_url, git_ref, created_by
 * given; id, status pending and times filled).  VG_ERR_NOT_FOUND when
 * the project does not exist. */
enum vg_err vg_store_repository_create(struct vg_store *s, struct vg_repository *r);
enum vg_err vg_store_repository_get(struct vg_store *s, const char *id,
    struct vg_repository *out);
/*
 * What a repository-scoped request checks: repository id into *repo, its
 * project into *project and user_id's role in that project into role
 * ("" when not a member).  One read on Postgres.  VG_ERR_NOT_FOUND when
 * there is no such repository (or project).
 */
enum vg_err vg_store_repository_scope(struct vg_store *s, const char *id, const char *user_id,
    struct vg_repository *repo, struct vg_project *project, char role[8]);
/* The caller as a scope read finds it: the account and its session. */
struct vg_store_caller {
	struct vg_user user;               /* id "" when there is no such user */
	struct vg_refresh_family session;  /* id "" when the user has no such family */
};
/*
 * vg_store_user_session and vg_store_repository_scope in one read (one
 * statement on Postgres): the access check of a request whose token the
 * same look-up confirms (auth.h, VG_AUTH_USER_SCOPED).  family_id may be
 * NULL (no session to read).  VG_OK unless the store fails: who->user.id
 * is "" when there is no user user_id, and repo->id is "" (with *project
 * zero and role "") when there is no repository id.
 */
enum vg_err vg_store_repository_scope_as(struct vg_store *s, const char *id,
    const char *user_id, const char *family_id, struct vg_store_caller *who,
    struct vg_repository *repo, struct vg_project *project, char role[8]);
/* A project's repositories, paged; *out is malloc'd. */
enum vg_err vg_store_repository_list(struct vg_store *s, const char *project_id,
    const char *cursor, int limit, struct vg_repository **out, size_t *count,
    char **next_cursor);
/* Set name, git_url and git_ref of r->id (updated_at = now_us). */
enum vg_err vg_store_repository_update(struct vg_store *s, const struct vg_repository *r,
    int64_t now_us);
enum vg_err vg_store_repository_delete(struct vg_store *s, const char *id);
enum vg_err vg_store_repository_count(struct vg_store *s, const char *project_id,
    int64_t *count);

/*
 * One ingest transition of repository id, atomic:
 *   status       the new VG_INGEST_* state;
 *   if_not       when not NULL, refuse (VG_ERR_CONFLICT) while the current
 *                status equals it (two git fetches at once);
 *   error_code/  set when status is failed, cleared otherwise;
 *   error_message
 *   snapshot_id  when not NULL (and not ""), becomes current_snapshot_id.
 * VG_ERR_NOT_FOUND when the repository does not exist; *out (may be
 * NULL) gets the repository as it is afterwards.
 */
struct vg_ingest_change {
	const char *status;
	const char *if_not;
	const char *error_code;
	const char *error_message;
	const char *snapshot_id;
	int64_t now_us;
};
enum vg_err vg_store_repository_set_ingest(struct vg_store *s, const char *id,
    const struct vg_ingest_change *c, struct vg_repository *out);

struct vg_snapshot {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char repository_id[VG_UUID_LEN + 1];
	char digest[65];                             /* 64 lower-case hex digits */
	char storage_key[VG_STORE_STORAGE_KEY_MAX + 1];   /* the canonical tar */
	char manifest_key[VG_STORE_STORAGE_KEY_MAX + 1];  /* its manifest */
	char format[16];                             /* what was uploaded: "tar.gz", "git", ... */
	int64_t file_count;
	int64_t total_bytes;
	char languages[VG_STORE_LANGUAGES_MAX + 1];  /* JSON object text: {"c":2} */
	char git_commit[65];                         /* "" unless from git */
	char created_by[VG_UUID_LEN + 1];            /* "" when unknown */
	int64_t created_at_us;
};

/*
 * Record snapshot snap of its repository, or find the one already there
 * with the same digest: *existed (may be NULL) says which, and snap is
 * filled with the stored row either way.  Race-free: concurrent creates
 * of one (repository, digest) give one row.  VG_ERR_NOT_FOUND when the
 * repository does not exist.
 */
enum vg_err vg_store_snapshot_create(struct vg_store *s, struct vg_snapshot *snap,
    bool *existed);
enum vg_err vg_store_snapshot_get(struct vg_store *s, const char *id, struct vg_snapshot *out);
enum vg_err vg_store_snapshot_list(struct vg_store *s, const char *repository_id,
    const char *cursor, int limit, struct vg_snapshot **out, size_t *count,
    char **next_cursor);
enum vg_err vg_store_snapshot_count(struct vg_store *s, const char *repository_id,
    int64_t *count);
/* Whether any snapshot row (of any repository) names storage_key. */
enum vg_err vg_store_snapshot_key_used(struct vg_store *s, const char *storage_key,
    bool *used);

struct vg_threat_profile {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char project_id[VG_UUID_LEN + 1];            /* the repository's project */
	char repository_id[VG_UUID_LEN + 1];
	char name[VG_STORE_NAME_MAX + 1];
	int64_t version;                             /* the version described here */
	int64_t latest_version;
	json_t *content;                             /* owned: the version's fields */
	char created_by[VG_UUID_LEN + 1];            /* of this version; "" unknown */
	int64_t created_at_us;                       /* of the profile */
	int64_t updated_at_us;                       /* of its latest version */
};
/* Release p->content (p itself is the caller's). */
void vg_threat_profile_clear(struct vg_threat_profile *p);

/*
 * Create a profile with version 1 (repository_id, name, content, created_by
 * given; id, project_id, versions and times filled).  content is
 * borrowed.  VG_ERR_NOT_FOUND when the repository does not exist.
 */
enum vg_err vg_store_threat_profile_create(struct vg_store *s, struct vg_threat_profile *p);
/* Profile id at version (0: the latest); VG_ERR_NOT_FOUND when either is
 * missing.  out->content is owned by out. */
enum vg_err vg_store_threat_profile_get(struct vg_store *s, const char *id, int64_t version,
    struct vg_threat_profile *out);
/* Add the next version of p->id with p->name, p->content, p->created_by;
 * atomic (two concurrent puts give two versions); p gets the new version
 * numbers and times. */
enum vg_err vg_store_threat_profile_add_version(struct vg_store *s,
    struct vg_threat_profile *p, int64_t now_us);
/* A repository's profiles at their latest versions, paged; free each
 * with vg_threat_profile_clear, then the array with free(). */
enum vg_err vg_store_threat_profile_list(struct vg_store *s, const char *repository_id,
    const char *cursor, int limit, struct vg_threat_profile **out, size_t *count,
    char **next_cursor);
enum vg_err vg_store_threat_profile_count(struct vg_store *s, const char *repository_id,
    int64_t *count);

/* ---- scans, events, findings, triage, runner jobs ----
 *
 * The pipeline of DESIGN.md section 4 (sql/003_scans.sql).  Every
 * transition after the claim names the scan's attempt and lease token:
 * a call whose lease is no longer the scan's current one changes nothing
 * and answers VG_ERR_CONFLICT ("lease lost"), so a runner that was
 * rescued, cancelled or re-claimed can write nothing.
 */

/* Scan states (the values of the SQL CHECK). */
#define VG_SCAN_QUEUED "queued"
#define VG_SCAN_CLAIMED "claimed"
#define VG_SCAN_RUNNING "running"
#define VG_SCAN_COMPLETED "completed"
#define VG_SCAN_FAILED "failed"
#define VG_SCAN_CANCELLED "cancelled"

#define VG_STORE_LEASE_MAX 128
#define VG_STORE_ENGINE_MAX 64
#define VG_STORE_OPTIONS_MAX 4096

struct vg_scan {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char repository_id[VG_UUID_LEN + 1];
	char project_id[VG_UUID_LEN + 1];            /* the repository's; filled by reads */
	char snapshot_id[VG_UUID_LEN + 1];
	char profile_id[VG_UUID_LEN + 1];            /* "" when none */
	int64_t profile_version;                     /* 0 when none */
	char created_by[VG_UUID_LEN + 1];            /* "" when unknown */
	char status[12];                             /* VG_SCAN_* */
	char engine[VG_STORE_ENGINE_MAX + 1];
	char options[VG_STORE_OPTIONS_MAX + 1];      /* JSON object text; "{}" */
	int64_t attempt;                             /* claims so far */
	char lease_token[VG_STORE_LEASE_MAX + 1];    /* "" until claimed */
	char claimed_by[VG_UUID_LEN + 1];            /* worker id; "" when none */
	int64_t claimed_at_us, started_at_us, heartbeat_at_us, finished_at_us;
	int64_t cancel_requested_at_us;              /* 0: not requested */
	char error_code[VG_STORE_ERROR_CODE_MAX + 1];     /* "" unless failed */
	char error_message[VG_STORE_ERROR_MESSAGE_MAX + 1];
	int64_t files_scanned;
	int64_t findings_count;
	int64_t severity_counts[VG_SEVERITY_COUNT];  /* by vg_severity_names order */
	int64_t last_event_seq;
	int64_t created_at_us;
	int64_t updated_at_us;
};

/*
 * Create scan sc (repository_id, snapshot_id, profile_id/version,
 * created_by, engine, options given; id, status queued, times filled),
 * race-free against the user's quota: when max_active > 0 and created_by
 * already has max_active scans queued, claimed or running, nothing is
 * created and the answer is VG_ERR_QUOTA (20 concurrent creates against
 * a limit of 4 create exactly 4).  VG_ERR_NOT_FOUND when the repository,
 * snapshot or profile version does not exist.
 */
enum vg_err vg_store_scan_create(struct vg_store *s, struct vg_scan *sc, int64_t max_active);
enum vg_err vg_store_scan_get(struct vg_store *s, const char *id, struct vg_scan *out);
/* Filters of a scan list: each NULL/"" means any. */
struct vg_scan_filter {
	const char *repository_id;
	const char *created_by;
	const char *status;
};
/* Scans matching f, newest first, paged; *out is malloc'd. */
enum vg_err vg_store_scan_list(struct vg_store *s, const struct vg_scan_filter *f,
    const char *cursor, int limit, struct vg_scan **out, size_t *count, char **next_cursor);

/*
 * Claim the oldest queued scan for worker_id: queued -> claimed, attempt
 * + 1, lease_token = the given fresh token, claimed_at = heartbeat_at =
 * now, in one atomic step (FOR UPDATE SKIP LOCKED; the json backend under
 * the collection's lock): two workers never claim the same scan.
 * VG_ERR_NOT_FOUND when nothing is queued.  scan_id, when not NULL,
 * claims that scan only (thread dispatch).  *out gets the claimed scan.
 */
enum vg_err vg_store_scan_claim(struct vg_store *s, const char *worker_id,
    const char *scan_id, const char *lease_token, int64_t now_us, struct vg_scan *out);

/* The lease a runner holds. */
struct vg_lease {
	const char *scan_id;
	int64_t attempt;
	const char *lease_token;
};

/* claimed -> running (started_at = heartbeat_at = now).  VG_ERR_CONFLICT
 * when the lease is not current or the scan is not claimed. */
enum vg_err vg_store_scan_start(struct vg_store *s, const struct vg_lease *l, int64_t now_us);
/* heartbeat_at = now, files_scanned; *cancel_requested (may be NULL) tells
 * whether a cancellation was asked for.  VG_ERR_CONFLICT: lease lost. */
enum vg_err vg_store_scan_heartbeat(struct vg_store *s, const struct vg_lease *l,
    int64_t files_scanned, int64_t now_us, bool *cancel_requested);
/*
 * Finish: running (or claimed) -> status (completed, failed with
 * error_code/error_message, or cancelled), finished_at = now, and append
 * the final event (type, payload; may be NULL type for none) in the same
 * step.  VG_ERR_CONFLICT: lease lost.
 */
struct vg_scan_finish {
	const char *status;
	const char *error_code;
	const char *error_message;
	const char *event_type;       /* "scan_completed", ...; NULL: none */
	json_t *event_payload;        /* borrowed; may be NULL */
	int64_t now_us;
};
enum vg_err vg_store_scan_finish(struct vg_store *s, const struct vg_lease *l,
    const struct vg_scan_finish *f);

/*
 * Ask to cancel scan id: a queued scan becomes cancelled at once (with a
 * scan_cancelled event); a claimed or running scan gets
 * cancel_requested_at (once; the runner stops and finishes it
 * cancelled); a finished scan is left alone.  Idempotent.  *out gets the
 * scan afterwards.
 */
enum vg_err vg_store_scan_cancel(struct vg_store *s, const char *id, int64_t now_us,
    struct vg_scan *out);

/*
 * The stale-scan rescuer, one scan at a time, its condition re-checked
 * inside the step that moves the scan (never overwriting a scan that just
 * finished, heartbeat or was re-claimed):
 *   rescue_running: a running scan (with this attempt) whose heartbeat is
 *     older than heartbeat_before_us or which started before
 *     started_before_us becomes failed, error stale_scan, with a
 *     stale_scan... scan_failed event;
 *   requeue_claimed: a claimed scan (this attempt) never started, claimed
 *     before claimed_before_us, goes back to queued (lease cleared) when
 *     attempt < max_attempts, else failed (error too_many_attempts).
 * VG_ERR_CONFLICT when the condition no longer holds.  The caller lists
 * candidates with vg_store_scan_stale and checks that their runner is
 * gone before calling these.
 */
enum vg_err vg_store_scan_stale(struct vg_store *s, int64_t heartbeat_before_us,
    int64_t started_before_us, int64_t claimed_before_us, struct vg_scan **out,
    size_t *count);
enum vg_err vg_store_scan_rescue_running(struct vg_store *s, const char *id, int64_t attempt,
    int64_t heartbeat_before_us, int64_t started_before_us, int64_t now_us);
enum vg_err vg_store_scan_requeue_claimed(struct vg_store *s, const char *id, int64_t attempt,
    int64_t claimed_before_us, int64_t max_attempts, int64_t now_us);

/* Active (queued, claimed, running) scans of a user. */
enum vg_err vg_store_scan_count_active(struct vg_store *s, const char *user_id,
    int64_t *count);

/* ---- events (append-only) ---- */
struct vg_event {
	char scan_id[VG_UUID_LEN + 1];
	int64_t seq;                     /* 1, 2, ... per scan */
	char type[24];                   /* scan_started, scan_progress, scan_log, finding_updated,
	                                  * scan_completed, scan_failed, scan_cancelled */
	json_t *payload;                 /* owned by the event */
	int64_t created_at_us;
};
void vg_event_clear(struct vg_event *e);
/* Append an event under lease l (payload borrowed): *seq (may be NULL)
 * gets its number.  VG_ERR_CONFLICT: lease lost. */
enum vg_err vg_store_event_append(struct vg_store *s, const struct vg_lease *l,
    const char *type, json_t *payload, int64_t now_us, int64_t *seq);
/* Up to limit events of scan_id with seq > after, in order; free each
 * with vg_event_clear, then the array with free(). */
enum vg_err vg_store_event_list(struct vg_store *s, const char *scan_id, int64_t after,
    int limit, struct vg_event **out, size_t *count);

/* ---- findings ---- */
struct vg_finding_row {
	char id[VG_UUID_LEN + 1];                    /* set by upsert */
	char scan_id[VG_UUID_LEN + 1];
	char repository_id[VG_UUID_LEN + 1];         /* filled from the scan */
	char fingerprint[129];
	json_t *data;           /* a reference the row holds (released with it):
	                         * title, severity, cwe_ids, category, file_path,
	                         * line_start, line_end, evidence, description,
	                         * exploit_scenario, recommendation, confidence,
	                         * engine, rule_id, model (the columns of
	                         * findings).  Read only: a list may share it with
	                         * the json backend's per-process cache */
	char severity[12];
	char status[12];        /* open, confirmed, dismissed (from triage) */
	char status_reason[VG_STORE_ERROR_MESSAGE_MAX + 1];
	char status_actor_id[VG_UUID_LEN + 1];
	int64_t status_at_us;
	char first_scan_id[VG_UUID_LEN + 1];
	char last_scan_id[VG_UUID_LEN + 1];
	int64_t created_at_us;
	int64_t updated_at_us;
};
void vg_finding_row_clear(struct vg_finding_row *f);
/*
 * Insert or update f (scan_id, fingerprint, data) by (scan, fingerprint)
 * under lease l, keeping the scan's counters, the triage decision of the
 * fingerprint (status follows it) and first/last scan seen.  *created
 * (may be NULL) says whether it was new.  VG_ERR_CONFLICT: lease lost.
 */
enum vg_err vg_store_finding_upsert(struct vg_store *s, const struct vg_lease *l,
    struct vg_finding_row *f, int64_t now_us, bool *created);

/* Findings of one scan, or the latest row per fingerprint of a
 * repository's scans; each NULL/""/0 filter means any. */
struct vg_finding_filter {
	const char *scan_id;          /* exactly one of scan_id, repository_id */
	const char *repository_id;    /* the latest row per fingerprint */
	const char *severity;         /* one of vg_severity_names */
	const char *status;           /* open, confirmed, dismissed */
	int64_t cwe;                  /* a CWE id among the finding's cwe_ids */
	const char *path_prefix;      /* file_path starts with it (bytes) */
	const char *sort;             /* "severity" (default: most severe first,
	                               * then path, line, id), "path" (path, line,
	                               * id), "newest" (created_at desc, id) */
};
/*
 * Findings matching f, paged: cursor is opaque (NULL: the first page);
 * *next_cursor is malloc'd, NULL at the end.  Free each row with
 * vg_finding_row_clear, then the array with free().  A cursor this store
 * did not hand out, or one made for another filter or sort, is
 * VG_ERR_INVALID.
 */
enum vg_err vg_store_finding_list(struct vg_store *s, const struct vg_finding_filter *f,
    const char *cursor, int limit, struct vg_finding_row **out, size_t *count,
    char **next_cursor);
/* Matching rows, counted (for totals next to a page). */
enum vg_err vg_store_finding_count(struct vg_store *s, const struct vg_finding_filter *f,
    int64_t *count);
enum vg_err vg_store_finding_get(struct vg_store *s, const char *id,
    struct vg_finding_row *out);

/*
 * Triage finding id: the decision (status open|confirmed|dismissed,
 * reason, comment, actor, time) is recorded for the finding's repository
 * and fingerprint, so it follows the fingerprint into later scans; every
 * row of that fingerprint in the repository takes the status, and an
 * entry is appended to the fingerprint's history.  *out (may be NULL)
 * gets the finding afterwards.
 */
struct vg_triage {
	const char *status;
	const char *reason;           /* may be NULL */
	const char *comment;          /* may be NULL */
	const char *actor_id;
	int64_t now_us;
};
enum vg_err vg_store_finding_triage(struct vg_store *s, const char *id,
    const struct vg_triage *t, struct vg_finding_row *out);
/* The triage history of finding id's fingerprint, oldest first: *items is
 * a new array of {at, actor_id, status, reason, comment}. */
enum vg_err vg_store_finding_history(struct vg_store *s, const char *id, json_t **items);

/* Events of every scan of a repository in the order they were written
 * (created_at, scan_id, seq), paged by an opaque cursor as above. */
enum vg_err vg_store_event_list_repository(struct vg_store *s, const char *repository_id,
    const char *cursor, int limit, struct vg_event **out, size_t *count,
    char **next_cursor);

/* ---- runner jobs: one execution of one attempt of a scan ---- */
#define VG_STORE_EXTERNAL_ID_MAX 2048
struct vg_runner_job {
	char id[VG_UUID_LEN + 1];                    /* set by create */
	char scan_id[VG_UUID_LEN + 1];
	int64_t attempt;
	char worker_id[VG_UUID_LEN + 1];             /* "" for thread dispatch */
	char mode[8];                                /* thread, local, ecs */
	char external_id[VG_STORE_EXTERNAL_ID_MAX + 1];  /* pid[:start time] or task ARN */
	char status[12];                             /* starting, running, exited, failed, lost */
	int64_t exit_code;                           /* -1 until known */
	char error_message[VG_STORE_ERROR_MESSAGE_MAX + 1];
	int64_t created_at_us, started_at_us, finished_at_us;
};
/* Record job j (status starting): idempotent per (scan, attempt) — when
 * a job for that attempt exists nothing is written, *existed is set and
 * j is filled with the stored row, so a retried launch starts nothing. */
enum vg_err vg_store_runner_job_create(struct vg_store *s, struct vg_runner_job *j,
    int64_t now_us, bool *existed);
/* Set status (and external_id when not NULL/"", exit_code when >= 0,
 * error_message when not NULL) of (scan_id, attempt); started_at is set
 * on running, finished_at on exited/failed/lost. */
struct vg_runner_job_change {
	const char *status;
	const char *external_id;
	int64_t exit_code;
	const char *error_message;
	int64_t now_us;
};
enum vg_err vg_store_runner_job_update(struct vg_store *s, const char *scan_id,
    int64_t attempt, const struct vg_runner_job_change *c);
enum vg_err vg_store_runner_job_get(struct vg_store *s, const char *scan_id, int64_t attempt,
    struct vg_runner_job *out);
/* Every job of a scan, by attempt; *out is malloc'd. */
enum vg_err vg_store_runner_job_list(struct vg_store *s, const char *scan_id,
    struct vg_runner_job **out, size_t *count);

/* ---- maintenance ---- */
/*
 * What the cleanup pass prunes from the store (counted only with
 * dry_run): refresh-token families that expired or were revoked before
 * tokens_before_us (with their tokens), API keys expired or revoked
 * before tokens_before_us, worker rows stopped or silent since before
 * workers_before_us.
 */
struct vg_prune {
	bool dry_run;
	int64_t tokens_before_us;
	int64_t workers_before_us;
};
struct vg_prune_counts {
	int64_t refresh_families;
	int64_t api_keys;
	int64_t workers;
};
enum vg_err vg_store_prune(struct vg_store *s, const struct vg_prune *p,
    struct vg_prune_counts *out);
/* Ids of scans that finished before before_us, oldest first, at most n;
 * *out is malloc'd (ids). */
enum vg_err vg_store_scan_finished_before(struct vg_store *s, int64_t before_us, int n,
    char (**out)[VG_UUID_LEN + 1], size_t *count);

/* ---- LLM usage: reserved before a provider call, settled after ---- */
/* Per-scan limits; 0 means unlimited. */
struct vg_llm_limits {
	int64_t max_requests;
	int64_t max_tokens;
	int64_t max_cost_microusd;
};
/* A scan's usage: settled rows count their real tokens and cost, rows
 * still reserved count their reservation. */
struct vg_llm_totals {
	int64_t requests;             /* every row, any status */
	int64_t input_tokens, cached_input_tokens, output_tokens, reasoning_tokens;
	int64_t cost_microusd;        /* settled cost */
	int64_t reserved_tokens;      /* outstanding reservations */
	int64_t reserved_microusd;
};
struct vg_llm_reservation {
	char id[VG_UUID_LEN + 1];     /* set by reserve */
	const char *scan_id;
	const char *user_id;          /* may be NULL */
	const char *provider;
	const char *model;
	const char *endpoint;         /* "responses", "chat_completions" */
	int64_t tokens;               /* the estimate: input + output cap */
	int64_t microusd;             /* the estimate, priced */
	const char *request_id;       /* ours; may be NULL */
	int64_t now_us;
	int64_t attempt;              /* > 0: the scan must be live at it (below) */
};
/*
 * Reserve r against the scan's limits in one atomic step: refused with
 * VG_ERR_QUOTA (nothing written) when requests + 1, or spent + reserved
 * + the estimate in tokens or cost, would cross a non-zero limit.  N
 * concurrent reserves never take a scan past a limit.  *after (may be
 * NULL) gets the totals including this reservation (or, when refused,
 * as they were).  With r->attempt > 0 the same step also requires the
 * scan to be live at that attempt (vg_store_llm_live), else
 * VG_ERR_UNAUTHORIZED with nothing written.
 */
enum vg_err vg_store_llm_reserve(struct vg_store *s, struct vg_llm_reservation *r,
    const struct vg_llm_limits *lim, struct vg_llm_totals *after);
/* Settle reservation id with the real usage: status "settled" or
 * "failed" (no charge when failed); the reservation stops counting.
 * VG_ERR_CONFLICT when it was settled already. */
struct vg_llm_settlement {
	const char *status;
	int64_t input_tokens, cached_input_tokens, output_tokens, reasoning_tokens;
	int64_t cost_microusd;
	int64_t latency_ms;
	int64_t http_status;
	const char *upstream_request_id;   /* may be NULL */
	int64_t now_us;
};
enum vg_err vg_store_llm_settle(struct vg_store *s, const char *id,
    const struct vg_llm_settlement *st);
enum vg_err vg_store_llm_totals(struct vg_store *s, const char *scan_id,
    struct vg_llm_totals *out);
/* What the LLM proxy reads before each call, in one read: the scan's
 * state, its options (where its limits are) and its usage so far. */
struct vg_llm_gate {
	char scan_id[VG_UUID_LEN + 1];
	char created_by[VG_UUID_LEN + 1];            /* "" when unknown */
	char status[12];                             /* VG_SCAN_* */
	int64_t attempt;
	int64_t cancel_requested_at_us;              /* 0: not requested */
	char options[VG_STORE_OPTIONS_MAX + 1];      /* JSON object text */
	struct vg_llm_totals totals;
};
/* VG_ERR_NOT_FOUND when there is no such scan. */
enum vg_err vg_store_llm_gate(struct vg_store *s, const char *scan_id,
    struct vg_llm_gate *out);
/* Whether a scan in status, at attempt, with cancel_requested_at_us (0:
 * none) may still use the LLM proxy with a token for want_attempt:
 * claimed or running, that attempt, no cancellation requested. */
bool vg_store_llm_live(const char *status, int64_t attempt, int64_t cancel_requested_at_us,
    int64_t want_attempt);
/* A scan's usage records, oldest first: *items is a new array of {id,
 * model, endpoint, status, input_tokens, cached_input_tokens,
 * output_tokens, reasoning_tokens, cost_microusd, reserved_tokens,
 * reserved_microusd, latency_ms, http_status, request_id,
 * upstream_request_id, created_at, settled_at}. */
enum vg_err vg_store_llm_list(struct vg_store *s, const char *scan_id, json_t **items);

#endif
