/*
 * store_pg_auth.c - accounts in the postgres backend (tables of
 * sql/001_accounts.sql).  Every statement is a constant with parameters;
 * times cross as integer microseconds (US_TO_TS / TS_TO_US,
 * store_pg_util.h).  The rotation of a refresh token runs in one transaction
 * holding row locks on the token and its family.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "core/str.h"
#include "store/store_pg_util.h"

/* ---- users ---- */

/* groups as a Postgres array literal: {root,user}.  Names come from the
 * fixed group table, never from input, and travel as a parameter. */
static void
groups_literal(unsigned set, char out[64])
{
	static const unsigned bits[] = {VG_GROUP_ROOT, VG_GROUP_OPERATOR, VG_GROUP_USER};
	size_t i, o = 0;

	out[o++] = '{';
	for (i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if (set & bits[i])
			o += (size_t)snprintf(out + o, 64 - o, "%s%s", o > 1 ? "," : "",
			    vg_group_name(bits[i]));
	snprintf(out + o, 64 - o, "}");
}

/* Parse an array literal back into bits; 0 when a name is unknown. */
static unsigned
groups_parse(const char *lit)
{
	char copy[128], *tok, *save = NULL;
	unsigned set = 0, bit;

	if (!lit || vg_str_copy(copy, sizeof copy, lit) != VG_OK || copy[0] != '{')
		return 0;
	copy[strcspn(copy, "}")] = '\0';
	for (tok = strtok_r(copy + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!(bit = vg_group_bit(tok)))
			return 0;
		set |= bit;
	}
	return set;
}

enum vg_err
vg_store_pg_user_at(const PGresult *res, int row, int col, struct vg_user *u)
{
	enum vg_err err;

	memset(u, 0, sizeof *u);
	if ((err = vg_store_pg_cell(res, row, col + 0, u->id, sizeof u->id)) ||
	    (err = vg_store_pg_cell(res, row, col + 1, u->email, sizeof u->email)) ||
	    (err = vg_store_pg_cell(res, row, col + 2, u->display_name, sizeof u->display_name)) ||
	    (err = vg_store_pg_cell(res, row, col + 5, u->password_hash, sizeof u->password_hash)) ||
	    (err = vg_store_pg_cell(res, row, col + 6, u->cognito_sub, sizeof u->cognito_sub)))
		return err;
	if (!(u->groups = groups_parse(vg_pg_text(res, row, col + 3))))
		return VG_ERR_INTERNAL;
	u->disabled = strcmp(vg_pg_text(res, row, col + 4) ? vg_pg_text(res, row, col + 4) : "f",
	    "t") == 0;
	u->created_at_us = vg_pg_i64(res, row, col + 7, 0);
	u->updated_at_us = vg_pg_i64(res, row, col + 8, 0);
	u->last_login_us = vg_pg_i64(res, row, col + 9, 0);
	u->password_changed_us = vg_pg_i64(res, row, col + 10, 0);
	return VG_OK;
}

static enum vg_err
user_row(const PGresult *res, int row, void *item)
{
	return vg_store_pg_user_at(res, row, 0, item);
}

static enum vg_err
pg_user_create(struct vg_store *s, const struct vg_user *u)
{
	static const char sql[] =
	    "INSERT INTO users (id, email, display_name, groups, disabled, password_hash,"
	    " cognito_sub, created_at, updated_at, password_changed_at)"
	    " VALUES ($1, NULLIF($2, ''), $3, $4::text[], $5::boolean, NULLIF($6, ''),"
	    " NULLIF($7, ''), " US_TO_TS("$8") ", " US_TO_TS("$8") ", " US_TO_TS_NULL("$9") ")";
	char groups[64];
	struct vg_store_pg_num created, changed;
	const char *params[] = {u->id, u->email, u->display_name, groups,
	    u->disabled ? "true" : "false", u->password_hash, u->cognito_sub,
	    vg_store_pg_num(&created, u->created_at_us),
	    vg_store_pg_num(&changed, u->password_changed_us)};
	PGresult *res = NULL;
	enum vg_err err;

	groups_literal(u->groups, groups);
	err = vg_pg_exec(s->pg, sql, 9, params, &res);
	PQclear(res);
	return err;
}

static enum vg_err
pg_user_get(struct vg_store *s, enum vg_user_key by, const char *key, struct vg_user *out)
{
	static const char *const sql[] = {
		[VG_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = $1",
		[VG_USER_BY_EMAIL] = "SELECT " USER_COLS " FROM users WHERE email = $1",
		[VG_USER_BY_SUB] = "SELECT " USER_COLS " FROM users WHERE cognito_sub = $1",
	};
	const char *params[] = {key};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql[by], 1, params, &res);

	if (err == VG_OK)
		err = user_row(res, 0, out);
	PQclear(res);
	return err;
}

static enum vg_err
pg_user_update(struct vg_store *s, const char *id, const struct vg_user_change *c)
{
	/* One statement per kind of change, indexed by the enum: $1 the id,
	 * $2 the time, $3 the new value (when the change has one). */
	static const struct {
		const char *sql;
		int nparams;
	} stmt[] = {
		[VG_USER_SET_PASSWORD] = {"UPDATE users SET password_hash = $3,"
		    " password_changed_at = " US_TO_TS("$2") ", updated_at = " US_TO_TS("$2")
		    " WHERE id = $1", 3},
		[VG_USER_SET_DISABLED] = {"UPDATE users SET disabled = $3::boolean,"
		    " updated_at = " US_TO_TS("$2") " WHERE id = $1", 3},
		[VG_USER_SET_GROUPS] = {"UPDATE users SET groups = $3::text[],"
		    " updated_at = " US_TO_TS("$2") " WHERE id = $1", 3},
		[VG_USER_TOUCH_LOGIN] = {"UPDATE users SET last_login_at = " US_TO_TS("$2")
		    " WHERE id = $1", 2},
	};
	char groups[64];
	struct vg_store_pg_num now;
	const char *params[3] = {id, vg_store_pg_num(&now, c->now_us), NULL};

	groups_literal(c->groups, groups);
	if (c->kind == VG_USER_SET_PASSWORD)
		params[2] = c->password_hash;
	else if (c->kind == VG_USER_SET_DISABLED)
		params[2] = c->disabled ? "true" : "false";
	else if (c->kind == VG_USER_SET_GROUPS)
		params[2] = groups;
	return vg_store_pg_exec_one(s->pg, stmt[c->kind].sql, stmt[c->kind].nparams, params, NULL);
}

static enum vg_err
pg_user_list(struct vg_store *s, const struct vg_store_pos *pos, int n, struct vg_user **out,
    size_t *count)
{
	static const char first[] =
	    "SELECT " USER_COLS " FROM users ORDER BY created_at DESC, id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " USER_COLS " FROM users WHERE (created_at, id) < (" US_TO_TS("$2") ", $3::uuid)"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, NULL, pos, n, sizeof **out, user_row, NULL,
	    &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_user_count(struct vg_store *s, int64_t *count)
{
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, "SELECT count(*) FROM users", 0, NULL, &res);

	if (err == VG_OK)
		*count = vg_pg_i64(res, 0, 0, 0);
	PQclear(res);
	return err;
}

/* ---- refresh tokens ---- */

enum vg_err
vg_store_pg_family_at(const PGresult *res, int row, int col, struct vg_refresh_family *f)
{
	enum vg_err err;

	memset(f, 0, sizeof *f);
	if ((err = vg_store_pg_cell(res, row, col + 0, f->id, sizeof f->id)) ||
	    (err = vg_store_pg_cell(res, row, col + 1, f->user_id, sizeof f->user_id)) ||
	    (err = vg_store_pg_cell(res, row, col + 5, f->revoked_reason,
	    sizeof f->revoked_reason)) ||
	    (err = vg_store_pg_cell(res, row, col + 6, f->client_ip, sizeof f->client_ip)) ||
	    (err = vg_store_pg_cell(res, row, col + 7, f->user_agent, sizeof f->user_agent)))
		return err;
	f->created_at_us = vg_pg_i64(res, row, col + 2, 0);
	f->expires_at_us = vg_pg_i64(res, row, col + 3, 0);
	f->revoked_at_us = vg_pg_i64(res, row, col + 4, 0);
	return VG_OK;
}

struct start_arg {
	const struct vg_refresh_family *f;
	const char *token_id, *token_hash;
	int64_t token_expires_us;
};

static enum vg_err
do_start(struct vg_pg *db, void *arg)
{
	static const char fam[] =
	    "INSERT INTO refresh_token_families (id, user_id, created_at, expires_at, client_ip,"
	    " user_agent) VALUES ($1, $2, " US_TO_TS("$3") ", " US_TO_TS("$4") ","
	    " NULLIF($5, ''), NULLIF($6, ''))";
	static const char tok[] =
	    "INSERT INTO refresh_tokens (id, family_id, token_hash, created_at, expires_at)"
	    " VALUES ($1, $2, $3, " US_TO_TS("$4") ", " US_TO_TS("$5") ")";
	struct start_arg *a = arg;
	struct vg_store_pg_num c, e, te;
	const char *p1[] = {a->f->id, a->f->user_id, vg_store_pg_num(&c, a->f->created_at_us),
	    vg_store_pg_num(&e, a->f->expires_at_us), a->f->client_ip, a->f->user_agent};
	const char *p2[] = {a->token_id, a->f->id, a->token_hash, c.s,
	    vg_store_pg_num(&te, a->token_expires_us)};
	PGresult *res = NULL;
	enum vg_err err;

	if ((err = vg_pg_exec(db, fam, 6, p1, &res)) == VG_OK) {
		PQclear(res);
		res = NULL;
		err = vg_pg_exec(db, tok, 5, p2, &res);
	}
	PQclear(res);
	return err;
}

static enum vg_err
pg_refresh_start(struct vg_store *s, const struct vg_refresh_family *f, const char *token_id,
    const char *token_hash, int64_t token_expires_us)
{
	struct start_arg a = {f, token_id, token_hash, token_expires_us};

	return vg_pg_tx(s->pg, do_start, &a);
}

static enum vg_err
family_query(struct vg_store *s, const char *sql, const char *key, struct vg_refresh_family *out)
{
	const char *params[] = {key};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = vg_store_pg_family_at(res, 0, 0, out);
	PQclear(res);
	return err;
}

static enum vg_err
pg_refresh_family_get(struct vg_store *s, const char *id, struct vg_refresh_family *out)
{
	return family_query(s, "SELECT " FAMILY_COLS " FROM refresh_token_families f"
	    " WHERE f.id = $1", id, out);
}

static enum vg_err
pg_refresh_family_of(struct vg_store *s, const char *token_hash, struct vg_refresh_family *out)
{
	return family_query(s, "SELECT " FAMILY_COLS " FROM refresh_tokens t"
	    " JOIN refresh_token_families f ON f.id = t.family_id WHERE t.token_hash = $1",
	    token_hash, out);
}

/* The user and, joined in the same statement, the family if it is theirs. */
static enum vg_err
pg_user_session(struct vg_store *s, const char *user_id, const char *family_id,
    struct vg_user *u, struct vg_refresh_family *f)
{
	static const char sql[] =
	    "SELECT " USER_COLS_P("u.") ", " FAMILY_COLS " FROM users u"
	    " LEFT JOIN refresh_token_families f ON f.id = $2::uuid AND f.user_id = u.id"
	    " WHERE u.id = $1";
	const char *params[] = {user_id, family_id};
	PGresult *res = NULL;
	enum vg_err err;

	if (!family_id)
		return pg_user_get(s, VG_USER_BY_ID, user_id, u);
	if ((err = vg_store_pg_exec_one(s->pg, sql, 2, params, &res)) == VG_OK &&
	    (err = user_row(res, 0, u)) == VG_OK && !PQgetisnull(res, 0, USER_NCOLS))
		err = vg_store_pg_family_at(res, 0, USER_NCOLS, f);
	PQclear(res);
	return err;
}

static enum vg_err
pg_refresh_family_revoke(struct vg_store *s, const char *id, const char *reason, int64_t now_us)
{
	/* The first revocation wins; a second is a no-op on an existing row. */
	static const char sql[] =
	    "UPDATE refresh_token_families SET revoked_at = COALESCE(revoked_at, "
	    US_TO_TS("$3") "), revoked_reason = COALESCE(revoked_reason, $2) WHERE id = $1";
	struct vg_store_pg_num now;
	const char *params[] = {id, reason, vg_store_pg_num(&now, now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 3, params, NULL);
}

static enum vg_err
pg_refresh_revoke_user(struct vg_store *s, const char *user_id, const char *reason,
    int64_t now_us, size_t *count)
{
	static const char sql[] =
	    "UPDATE refresh_token_families SET revoked_at = " US_TO_TS("$3") ", revoked_reason = $2"
	    " WHERE user_id = $1 AND revoked_at IS NULL";
	struct vg_store_pg_num now;
	const char *params[] = {user_id, reason, vg_store_pg_num(&now, now_us)};
	PGresult *res = NULL;
	int64_t n = 0;
	enum vg_err err = vg_pg_exec(s->pg, sql, 3, params, &res);

	if (err == VG_OK)
		vg_str_to_i64(PQcmdTuples(res), 0, INT64_MAX, &n);
	*count = (size_t)n;
	PQclear(res);
	return err;
}

struct rotate_arg {
	struct vg_refresh_rotation *r;
	const char *new_id;
};

/*
 * The rotation (store.h gives the rules).  FOR UPDATE on the token and its
 * family serialises every rotation of one token and every revocation of
 * its family: a second rotation of the same token waits, then finds it
 * rotated and revokes the family.
 */
static enum vg_err
do_rotate(struct vg_pg *db, void *arg)
{
	static const char find[] =
	    "SELECT " FAMILY_COLS ", t.id, " TS_TO_US("t.expires_at") ", " TS_TO_US("t.rotated_at")
	    " FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id"
	    " WHERE t.token_hash = $1 FOR UPDATE OF t, f";
	static const char revoke[] =
	    "UPDATE refresh_token_families SET revoked_at = " US_TO_TS("$2") ","
	    " revoked_reason = 'reuse_detected' WHERE id = $1";
	static const char insert[] =
	    "INSERT INTO refresh_tokens (id, family_id, token_hash, created_at, expires_at)"
	    " VALUES ($1, $2, $3, " US_TO_TS("$4") ", " US_TO_TS("$5") ")";
	static const char rotated[] =
	    "UPDATE refresh_tokens SET rotated_at = " US_TO_TS("$2") ", replaced_by = $3"
	    " WHERE id = $1";
	struct rotate_arg *a = arg;
	struct vg_refresh_rotation *r = a->r;
	char old_id[VG_UUID_LEN + 1];
	struct vg_store_pg_num now, exp;
	const char *p_find[] = {r->old_hash};
	PGresult *res = NULL;
	int64_t old_expires, old_rotated, new_expires;
	enum vg_err err;

	r->outcome = VG_REFRESH_INVALID;
	vg_store_pg_num(&now, r->now_us);
	err = vg_store_pg_exec_one(db, find, 1, p_find, &res);
	if (err == VG_ERR_NOT_FOUND) {
		err = VG_OK;
		goto out;
	}
	if (err != VG_OK || (err = vg_store_pg_family_at(res, 0, 0, &r->family)) != VG_OK ||
	    (err = vg_store_pg_cell(res, 0, FAMILY_NCOLS, old_id, sizeof old_id)) != VG_OK)
		goto out;
	old_expires = vg_pg_i64(res, 0, FAMILY_NCOLS + 1, 0);
	old_rotated = vg_pg_i64(res, 0, FAMILY_NCOLS + 2, 0);
	PQclear(res);
	res = NULL;
	if (r->family.revoked_at_us || r->family.expires_at_us <= r->now_us)
		goto out;
	if (old_rotated) {
		const char *p[] = {r->family.id, now.s};

		if ((err = vg_pg_exec(db, revoke, 2, p, &res)) == VG_OK) {
			r->family.revoked_at_us = r->now_us;
			vg_str_copy(r->family.revoked_reason, sizeof r->family.revoked_reason,
			    VG_REVOKE_REUSE);
			r->outcome = VG_REFRESH_REUSED;
		}
		goto out;
	}
	if (old_expires <= r->now_us)
		goto out;
	new_expires = r->new_expires_us < r->family.expires_at_us ? r->new_expires_us
	    : r->family.expires_at_us;
	{
		const char *p_ins[] = {a->new_id, r->family.id, r->new_hash, now.s,
		    vg_store_pg_num(&exp, new_expires)};
		const char *p_rot[] = {old_id, now.s, a->new_id};

		if ((err = vg_pg_exec(db, insert, 5, p_ins, &res)) != VG_OK)
			goto out;
		PQclear(res);
		res = NULL;
		if ((err = vg_pg_exec(db, rotated, 3, p_rot, &res)) != VG_OK)
			goto out;
	}
	r->outcome = VG_REFRESH_ROTATED;
out:
	PQclear(res);
	return err;
}

static enum vg_err
pg_refresh_rotate(struct vg_store *s, struct vg_refresh_rotation *r, const char *new_token_id)
{
	struct rotate_arg a = {r, new_token_id};
	enum vg_err err = vg_pg_tx(s->pg, do_rotate, &a);

	if (err != VG_OK)
		r->outcome = VG_REFRESH_INVALID;
	return err;
}

/* ---- API keys ---- */

#define KEY_COLS "id, user_id, name, prefix, key_hash, " TS_TO_US("created_at") ", " \
	TS_TO_US("expires_at") ", " TS_TO_US("last_used_at") ", " TS_TO_US("revoked_at")

static enum vg_err
key_row(const PGresult *res, int row, void *item)
{
	struct vg_api_key *k = item;
	enum vg_err err;

	memset(k, 0, sizeof *k);
	if ((err = vg_store_pg_cell(res, row, 0, k->id, sizeof k->id)) ||
	    (err = vg_store_pg_cell(res, row, 1, k->user_id, sizeof k->user_id)) ||
	    (err = vg_store_pg_cell(res, row, 2, k->name, sizeof k->name)) ||
	    (err = vg_store_pg_cell(res, row, 3, k->prefix, sizeof k->prefix)) ||
	    (err = vg_store_pg_cell(res, row, 4, k->key_hash, sizeof k->key_hash)))
		return err;
	k->created_at_us = vg_pg_i64(res, row, 5, 0);
	k->expires_at_us = vg_pg_i64(res, row, 6, 0);
	k->last_used_us = vg_pg_i64(res, row, 7, 0);
	k->revoked_at_us = vg_pg_i64(res, row, 8, 0);
	return VG_OK;
}

static enum vg_err
pg_api_key_create(struct vg_store *s, const struct vg_api_key *k)
{
	static const char sql[] =
	    "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5, " US_TO_TS("$6") ", " US_TO_TS_NULL("$7") ")";
	struct vg_store_pg_num c, e;
	const char *params[] = {k->id, k->user_id, k->name, k->prefix, k->key_hash,
	    vg_store_pg_num(&c, k->created_at_us), vg_store_pg_num(&e, k->expires_at_us)};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, sql, 7, params, &res);

	PQclear(res);
	return err;
}

static enum vg_err
pg_api_key_by_hash(struct vg_store *s, const char *hash, struct vg_api_key *out)
{
	static const char sql[] = "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1";
	const char *params[] = {hash};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 1, params, &res);

	if (err == VG_OK)
		err = key_row(res, 0, out);
	PQclear(res);
	return err;
}

static enum vg_err
pg_api_key_list(struct vg_store *s, const char *user_id, const struct vg_store_pos *pos, int n,
    struct vg_api_key **out, size_t *count)
{
	static const char first[] =
	    "SELECT " KEY_COLS " FROM api_keys WHERE user_id = $2 AND revoked_at IS NULL"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	static const char after[] =
	    "SELECT " KEY_COLS " FROM api_keys WHERE user_id = $2 AND revoked_at IS NULL"
	    " AND (created_at, id) < (" US_TO_TS("$3") ", $4::uuid)"
	    " ORDER BY created_at DESC, id DESC LIMIT $1";
	void *items = NULL;
	enum vg_err err;

	err = vg_store_pg_list_page(s->pg, first, after, user_id, pos, n, sizeof **out, key_row,
	    NULL, &items, count);
	if (err == VG_OK)
		*out = items;
	return err;
}

static enum vg_err
pg_api_key_count(struct vg_store *s, const char *user_id, int64_t now_us, int64_t *count)
{
	static const char sql[] =
	    "SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL"
	    " AND (expires_at IS NULL OR expires_at > " US_TO_TS("$2") ")";
	struct vg_store_pg_num now;
	const char *params[] = {user_id, vg_store_pg_num(&now, now_us)};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, sql, 2, params, &res);

	if (err == VG_OK)
		*count = vg_pg_i64(res, 0, 0, 0);
	PQclear(res);
	return err;
}

static enum vg_err
pg_api_key_revoke(struct vg_store *s, const char *user_id, const char *id, int64_t now_us)
{
	static const char sql[] =
	    "UPDATE api_keys SET revoked_at = " US_TO_TS("$3")
	    " WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
	struct vg_store_pg_num now;
	const char *params[] = {id, user_id, vg_store_pg_num(&now, now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 3, params, NULL);
}

static enum vg_err
pg_api_key_touch(struct vg_store *s, const char *id, int64_t now_us)
{
	static const char sql[] =
	    "UPDATE api_keys SET last_used_at = " US_TO_TS("$2") " WHERE id = $1";
	struct vg_store_pg_num now;
	const char *params[] = {id, vg_store_pg_num(&now, now_us)};

	return vg_store_pg_exec_one(s->pg, sql, 2, params, NULL);
}

/* ---- throttle ---- */

static enum vg_err
pg_throttle_get(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	static const char sql[] =
	    "SELECT failures, " TS_TO_US("window_started_at") " FROM login_throttle"
	    " WHERE key = $1 AND window_started_at > " US_TO_TS("$2::bigint - $3::bigint");
	struct vg_store_pg_num now, win;
	const char *params[] = {key, vg_store_pg_num(&now, now_us),
	    vg_store_pg_num(&win, window_us)};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, sql, 3, params, &res);

	if (err == VG_OK && PQntuples(res) == 1) {
		*failures = vg_pg_i64(res, 0, 0, 0);
		*window_start_us = vg_pg_i64(res, 0, 1, 0);
	}
	PQclear(res);
	return err;
}

/* One statement: a new row, a new window, or one more failure. */
static enum vg_err
pg_throttle_fail(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	static const char sql[] =
	    "INSERT INTO login_throttle AS t (key, failures, window_started_at)"
	    " VALUES ($1, 1, " US_TO_TS("$2") ")"
	    " ON CONFLICT (key) DO UPDATE SET"
	    " failures = CASE WHEN t.window_started_at > " US_TO_TS("$2::bigint - $3::bigint")
	    " THEN t.failures + 1 ELSE 1 END,"
	    " window_started_at = CASE WHEN t.window_started_at > "
	    US_TO_TS("$2::bigint - $3::bigint") " THEN t.window_started_at ELSE "
	    US_TO_TS("$2") " END"
	    " RETURNING failures, " TS_TO_US("window_started_at");
	struct vg_store_pg_num now, win;
	const char *params[] = {key, vg_store_pg_num(&now, now_us),
	    vg_store_pg_num(&win, window_us)};
	PGresult *res = NULL;
	enum vg_err err = vg_store_pg_exec_one(s->pg, sql, 3, params, &res);

	if (err == VG_OK) {
		*failures = vg_pg_i64(res, 0, 0, 0);
		*window_start_us = vg_pg_i64(res, 0, 1, 0);
	}
	PQclear(res);
	return err;
}

static enum vg_err
pg_throttle_clear(struct vg_store *s, const char *key)
{
	const char *params[] = {key};
	PGresult *res = NULL;
	enum vg_err err = vg_pg_exec(s->pg, "DELETE FROM login_throttle WHERE key = $1", 1,
	    params, &res);

	PQclear(res);
	return err;
}

const struct vg_store_auth_ops vg_store_pg_auth_ops = {
	.user_create = pg_user_create,
	.user_get = pg_user_get,
	.user_update = pg_user_update,
	.user_list = pg_user_list,
	.user_count = pg_user_count,
	.refresh_start = pg_refresh_start,
	.refresh_family_get = pg_refresh_family_get,
	.refresh_family_of = pg_refresh_family_of,
	.user_session = pg_user_session,
	.refresh_family_revoke = pg_refresh_family_revoke,
	.refresh_revoke_user = pg_refresh_revoke_user,
	.refresh_rotate = pg_refresh_rotate,
	.api_key_create = pg_api_key_create,
	.api_key_by_hash = pg_api_key_by_hash,
	.api_key_list = pg_api_key_list,
	.api_key_count = pg_api_key_count,
	.api_key_revoke = pg_api_key_revoke,
	.api_key_touch = pg_api_key_touch,
	.throttle_get = pg_throttle_get,
	.throttle_fail = pg_throttle_fail,
	.throttle_clear = pg_throttle_clear,
};
