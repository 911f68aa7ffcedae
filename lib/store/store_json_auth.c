/*
 * store_json_auth.c - accounts in the json backend.
 *
 * Collections (record id -> content):
 *   users             user id -> the user
 *   user_emails       sha256(e-mail) -> {"user_id"}     (unique e-mails)
 *   user_subs         sha256(cognito sub) -> {"user_id"} (unique subs)
 *   refresh_families  family id -> the family
 *   refresh_tokens    token hash -> the token (found by the hash presented)
 *   api_keys          key hash -> the key (found by the hash presented)
 *   login_throttle    throttle key -> {"failures", "window_started_at"}
 * An index and its table change under both locks, taken in ascending
 * order of collection name (jsondb.h), so no reader sees one without the
 * other and two processes never deadlock.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_json_util.h"

#define C_USERS "users"
#define C_EMAILS "user_emails"
#define C_SUBS "user_subs"
#define C_FAMILIES "refresh_families"
#define C_TOKENS "refresh_tokens"
#define C_KEYS "api_keys"
#define C_THROTTLE "login_throttle"

/* ---- fields ---- */

/* sha256 hex of s: an index record id that any text may map to. */
static void
index_id(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	vg_hex_encode(md, sizeof md, out);
}

/* ---- users ---- */

static json_t *
user_json(const struct vg_user *u)
{
	return json_pack("{s:s, s:o, s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", u->id, "email", vg_store_json_str(u->email), "display_name", u->display_name,
	    "groups", vg_groups_json(u->groups), "disabled", u->disabled,
	    "password_hash", vg_store_json_str(u->password_hash),
	    "cognito_sub", vg_store_json_str(u->cognito_sub),
	    "created_at", vg_store_json_time(u->created_at_us),
	    "updated_at", vg_store_json_time(u->updated_at_us),
	    "last_login_at", vg_store_json_time(u->last_login_us),
	    "password_changed_at", vg_store_json_time(u->password_changed_us));
}

static enum vg_err
user_from(json_t *rec, struct vg_user *u)
{
	json_t *g = json_object_get(rec, "groups"), *v;
	size_t i;
	enum vg_err err;

	memset(u, 0, sizeof *u);
	if ((err = vg_store_json_get_str(rec, "id", u->id, sizeof u->id)) ||
	    (err = vg_store_json_get_str(rec, "email", u->email, sizeof u->email)) ||
	    (err = vg_store_json_get_str(rec, "display_name", u->display_name,
	    sizeof u->display_name)) ||
	    (err = vg_store_json_get_str(rec, "password_hash", u->password_hash,
	    sizeof u->password_hash)) ||
	    (err = vg_store_json_get_str(rec, "cognito_sub", u->cognito_sub,
	    sizeof u->cognito_sub)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &u->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "updated_at", &u->updated_at_us)) ||
	    (err = vg_store_json_get_time(rec, "last_login_at", &u->last_login_us)) ||
	    (err = vg_store_json_get_time(rec, "password_changed_at", &u->password_changed_us)))
		return err;
	if (!json_is_array(g) || !json_is_boolean(json_object_get(rec, "disabled")))
		return VG_ERR_IO;
	json_array_foreach(g, i, v) {
		unsigned bit = vg_group_bit(json_string_value(v));

		if (!bit)
			return VG_ERR_IO;
		u->groups |= bit;
	}
	u->disabled = json_is_true(json_object_get(rec, "disabled"));
	return VG_OK;
}

struct user_op {
	const struct vg_user *u;
	const char *id;
	const struct vg_user_change *c;
};

/* Point an index record at a user; VG_ERR_CONFLICT when taken. */
static enum vg_err
index_claim(struct vg_jsondb_tx *tx, const char *value, const char *user_id)
{
	char iid[65];
	json_t *rec;
	enum vg_err err;

	index_id(value, iid);
	if (!(rec = json_pack("{s:s}", "user_id", user_id)))
		return VG_ERR_NOMEM;
	err = vg_jsondb_tx_create(tx, iid, rec);
	json_decref(rec);
	return err;
}

/* Under the locks of emails, subs and users: the indexes, then the user. */
static enum vg_err
do_user_create(struct vg_store_json_held *h, void *arg)
{
	struct user_op *op = arg;
	struct vg_jsondb_tx *etx = vg_store_json_tx_of(h, C_EMAILS);
	struct vg_jsondb_tx *stx = vg_store_json_tx_of(h, C_SUBS);
	json_t *rec = NULL;
	enum vg_err err;

	if (op->u->email[0] && (err = index_claim(etx, op->u->email, op->u->id)) != VG_OK)
		return err;
	if (op->u->cognito_sub[0] &&
	    (err = index_claim(stx, op->u->cognito_sub, op->u->id)) != VG_OK)
		goto undo_email;
	err = VG_ERR_NOMEM;
	if ((rec = user_json(op->u)) &&
	    (err = vg_jsondb_tx_create(vg_store_json_tx_of(h, C_USERS), op->u->id, rec)) == VG_OK)
		goto out;
	if (op->u->cognito_sub[0]) {
		char iid[65];

		index_id(op->u->cognito_sub, iid);
		vg_jsondb_tx_del(stx, iid);
	}
undo_email:
	if (op->u->email[0]) {
		char iid[65];

		index_id(op->u->email, iid);
		vg_jsondb_tx_del(etx, iid);
	}
out:
	json_decref(rec);
	return err;
}

static const struct vg_store_json_lock user_locks[] = {
	{C_EMAILS, true}, {C_SUBS, true}, {C_USERS, true},
};

static enum vg_err
json_user_create(struct vg_store *s, const struct vg_user *u)
{
	struct user_op op = {u, NULL, NULL};

	return vg_store_json_with_locks(s->jdb, user_locks, 3, do_user_create, &op);
}

/* The user an index record points at; NOT_FOUND when either is gone. */
static enum vg_err
json_user_get(struct vg_store *s, enum vg_user_key by, const char *key, struct vg_user *out)
{
	json_t *idx = NULL, *rec = NULL;
	const char *id = key;
	char iid[65];
	enum vg_err err;

	if (by != VG_USER_BY_ID) {
		index_id(key, iid);
		if ((err = vg_jsondb_get(s->jdb, by == VG_USER_BY_EMAIL ? C_EMAILS : C_SUBS, iid,
		    &idx)) != VG_OK)
			goto out;
		if (!(id = json_string_value(json_object_get(idx, "user_id")))) {
			err = VG_ERR_IO;
			goto out;
		}
	}
	if ((err = vg_jsondb_get(s->jdb, C_USERS, id, &rec)) != VG_OK)
		goto out;
	err = user_from(rec, out);
out:
	json_decref(idx);
	json_decref(rec);
	return err;
}

static enum vg_err
do_user_update(struct vg_jsondb_tx *tx, void *arg)
{
	struct user_op *op = arg;
	const struct vg_user_change *c = op->c;
	struct vg_user u;
	json_t *rec = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_get(tx, op->id, &rec)) != VG_OK ||
	    (err = user_from(rec, &u)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	switch (c->kind) {
	case VG_USER_SET_PASSWORD:
		vg_str_copy(u.password_hash, sizeof u.password_hash, c->password_hash);
		u.password_changed_us = c->now_us;
		break;
	case VG_USER_SET_DISABLED:
		u.disabled = c->disabled;
		break;
	case VG_USER_SET_GROUPS:
		u.groups = c->groups;
		break;
	case VG_USER_TOUCH_LOGIN:
		u.last_login_us = c->now_us;
		break;
	}
	if (c->kind != VG_USER_TOUCH_LOGIN)
		u.updated_at_us = c->now_us;
	err = VG_ERR_NOMEM;
	if ((rec = user_json(&u)))
		err = vg_jsondb_tx_put(tx, op->id, rec);
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_user_update(struct vg_store *s, const char *id, const struct vg_user_change *c)
{
	struct user_op op = {NULL, id, c};

	return vg_jsondb_tx(s->jdb, C_USERS, true, do_user_update, &op);
}

static int
user_cmp(const void *a, const void *b)
{
	const struct vg_user *x = a, *y = b;

	return vg_store_json_pos_cmp(x->created_at_us, x->id, y->created_at_us, y->id);
}

static enum vg_err
json_user_list(struct vg_store *s, const struct vg_store_pos *pos, int n, struct vg_user **out,
    size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_user *us = NULL;
	size_t i, k = 0;
	enum vg_err err;

	if ((err = vg_jsondb_list(s->jdb, C_USERS, NULL, NULL, &all)) != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(us = calloc(json_array_size(all) + 1, sizeof *us)))
		goto out;
	json_array_foreach(all, i, rec) {
		if ((err = user_from(rec, &us[k])) != VG_OK)
			goto out;
		if (vg_store_json_after(us[k].created_at_us, us[k].id, pos))
			k++;
	}
	qsort(us, k, sizeof *us, user_cmp);
	*out = us;
	*count = k < (size_t)n ? k : (size_t)n;
	us = NULL;
	err = VG_OK;
out:
	free(us);
	json_decref(all);
	return err;
}

static enum vg_err
json_user_count(struct vg_store *s, int64_t *count)
{
	return vg_store_json_count(s->jdb, C_USERS, NULL, NULL, count);
}

/* ---- refresh tokens ---- */

static json_t *
family_json(const struct vg_refresh_family *f)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", f->id, "user_id", f->user_id, "created_at", vg_store_json_time(f->created_at_us),
	    "expires_at", vg_store_json_time(f->expires_at_us),
	    "revoked_at", vg_store_json_time(f->revoked_at_us),
	    "revoked_reason", vg_store_json_str(f->revoked_reason),
	    "client_ip", vg_store_json_str(f->client_ip),
	    "user_agent", vg_store_json_str(f->user_agent));
}

static enum vg_err
family_from(json_t *rec, struct vg_refresh_family *f)
{
	enum vg_err err;

	memset(f, 0, sizeof *f);
	if ((err = vg_store_json_get_str(rec, "id", f->id, sizeof f->id)) ||
	    (err = vg_store_json_get_str(rec, "user_id", f->user_id, sizeof f->user_id)) ||
	    (err = vg_store_json_get_str(rec, "revoked_reason", f->revoked_reason,
	    sizeof f->revoked_reason)) ||
	    (err = vg_store_json_get_str(rec, "client_ip", f->client_ip, sizeof f->client_ip)) ||
	    (err = vg_store_json_get_str(rec, "user_agent", f->user_agent, sizeof f->user_agent)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &f->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "expires_at", &f->expires_at_us)) ||
	    (err = vg_store_json_get_time(rec, "revoked_at", &f->revoked_at_us)))
		return err;
	return VG_OK;
}

struct token {
	char id[VG_UUID_LEN + 1];
	char family_id[VG_UUID_LEN + 1];
	int64_t created_at_us, expires_at_us, rotated_at_us;
	char replaced_by[VG_UUID_LEN + 1];
};

static json_t *
token_json(const struct token *t)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "id", t->id, "family_id", t->family_id,
	    "created_at", vg_store_json_time(t->created_at_us),
	    "expires_at", vg_store_json_time(t->expires_at_us),
	    "rotated_at", vg_store_json_time(t->rotated_at_us),
	    "replaced_by", vg_store_json_str(t->replaced_by));
}

static enum vg_err
token_from(json_t *rec, struct token *t)
{
	enum vg_err err;

	memset(t, 0, sizeof *t);
	if ((err = vg_store_json_get_str(rec, "id", t->id, sizeof t->id)) ||
	    (err = vg_store_json_get_str(rec, "family_id", t->family_id, sizeof t->family_id)) ||
	    (err = vg_store_json_get_str(rec, "replaced_by", t->replaced_by,
	    sizeof t->replaced_by)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &t->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "expires_at", &t->expires_at_us)) ||
	    (err = vg_store_json_get_time(rec, "rotated_at", &t->rotated_at_us)))
		return err;
	return VG_OK;
}

struct refresh_op {
	const struct vg_refresh_family *f;
	const char *token_id, *token_hash;
	int64_t token_expires_us;
	struct vg_refresh_rotation *r;
	const char *family_id, *reason, *user_id;
	int64_t now_us;
	size_t count;
};

static const struct vg_store_json_lock refresh_locks[] = {{C_FAMILIES, true}, {C_TOKENS, true}};

static enum vg_err
do_refresh_start(struct vg_store_json_held *h, void *arg)
{
	struct refresh_op *op = arg;
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FAMILIES);
	struct vg_jsondb_tx *ttx = vg_store_json_tx_of(h, C_TOKENS);
	struct token t;
	enum vg_err err;

	memset(&t, 0, sizeof t);
	memcpy(t.id, op->token_id, sizeof t.id);
	memcpy(t.family_id, op->f->id, sizeof t.family_id);
	t.created_at_us = op->f->created_at_us;
	t.expires_at_us = op->token_expires_us;
	if ((err = vg_store_json_put_new(ftx, op->f->id, family_json(op->f), true)) != VG_OK)
		return err;
	if ((err = vg_store_json_put_new(ttx, op->token_hash, token_json(&t), true)) != VG_OK)
		vg_jsondb_tx_del(ftx, op->f->id);
	return err;
}

static enum vg_err
json_refresh_start(struct vg_store *s, const struct vg_refresh_family *f, const char *token_id,
    const char *token_hash, int64_t token_expires_us)
{
	struct refresh_op op = {.f = f, .token_id = token_id, .token_hash = token_hash,
	    .token_expires_us = token_expires_us};

	return vg_store_json_with_locks(s->jdb, refresh_locks, 2, do_refresh_start, &op);
}

static enum vg_err
json_refresh_family_get(struct vg_store *s, const char *id, struct vg_refresh_family *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_FAMILIES, id, &rec);

	if (err == VG_OK)
		err = family_from(rec, out);
	json_decref(rec);
	return err;
}

static enum vg_err
json_refresh_family_of(struct vg_store *s, const char *token_hash, struct vg_refresh_family *out)
{
	json_t *rec = NULL;
	struct token t;
	enum vg_err err;

	if ((err = vg_jsondb_get(s->jdb, C_TOKENS, token_hash, &rec)) != VG_OK ||
	    (err = token_from(rec, &t)) != VG_OK)
		goto out;
	err = json_refresh_family_get(s, t.family_id, out);
	if (err == VG_ERR_NOT_FOUND)
		err = VG_ERR_IO;   /* a token without its family: damaged files */
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_user_session(struct vg_store *s, const char *user_id, const char *family_id,
    struct vg_user *u, struct vg_refresh_family *f)
{
	enum vg_err err = json_user_get(s, VG_USER_BY_ID, user_id, u);

	if (err != VG_OK || !family_id)
		return err;
	err = json_refresh_family_get(s, family_id, f);
	if (err == VG_ERR_NOT_FOUND || (err == VG_OK && strcmp(f->user_id, user_id) != 0)) {
		memset(f, 0, sizeof *f);
		err = VG_OK;
	}
	return err;
}

/* Revoke the family record id under its held lock (idempotent). */
static enum vg_err
revoke_in(struct vg_jsondb_tx *tx, const char *id, const char *reason, int64_t now_us,
    struct vg_refresh_family *f, bool *changed)
{
	json_t *rec = NULL;
	enum vg_err err;

	*changed = false;
	if ((err = vg_jsondb_tx_get(tx, id, &rec)) != VG_OK || (err = family_from(rec, f)) != VG_OK)
		goto out;
	if (f->revoked_at_us)
		goto out;
	f->revoked_at_us = now_us;
	vg_str_copy(f->revoked_reason, sizeof f->revoked_reason, reason);
	if ((err = vg_store_json_put_new(tx, id, family_json(f), false)) == VG_OK)
		*changed = true;
out:
	json_decref(rec);
	return err;
}

static enum vg_err
do_family_revoke(struct vg_jsondb_tx *tx, void *arg)
{
	struct refresh_op *op = arg;
	struct vg_refresh_family f;
	bool changed;

	return revoke_in(tx, op->family_id, op->reason, op->now_us, &f, &changed);
}

static enum vg_err
json_refresh_family_revoke(struct vg_store *s, const char *id, const char *reason, int64_t now_us)
{
	struct refresh_op op = {.family_id = id, .reason = reason, .now_us = now_us};

	return vg_jsondb_tx(s->jdb, C_FAMILIES, true, do_family_revoke, &op);
}

static bool
live_family_of(json_t *rec, void *arg)
{
	const char *user_id = arg;

	return json_is_null(json_object_get(rec, "revoked_at")) &&
	    strcmp(vg_store_json_peek(rec, "user_id"), user_id) == 0;
}

static enum vg_err
do_revoke_user(struct vg_jsondb_tx *tx, void *arg)
{
	struct refresh_op *op = arg;
	struct vg_refresh_family f;
	json_t *live = NULL, *rec;
	size_t i;
	bool changed;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, live_family_of, (void *)op->user_id, &live)) != VG_OK)
		return err;
	json_array_foreach(live, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "id"));

		if (!id) {
			err = VG_ERR_IO;
			break;
		}
		if ((err = revoke_in(tx, id, op->reason, op->now_us, &f, &changed)) != VG_OK)
			break;
		op->count += changed;
	}
	json_decref(live);
	return err;
}

static enum vg_err
json_refresh_revoke_user(struct vg_store *s, const char *user_id, const char *reason,
    int64_t now_us, size_t *count)
{
	struct refresh_op op = {.user_id = user_id, .reason = reason, .now_us = now_us};
	enum vg_err err = vg_jsondb_tx(s->jdb, C_FAMILIES, true, do_revoke_user, &op);

	*count = op.count;
	return err;
}

/* The rotation under both locks (store.h gives the rules). */
static enum vg_err
do_rotate(struct vg_store_json_held *h, void *arg)
{
	struct refresh_op *op = arg;
	struct vg_jsondb_tx *ftx = vg_store_json_tx_of(h, C_FAMILIES);
	struct vg_jsondb_tx *ttx = vg_store_json_tx_of(h, C_TOKENS);
	struct vg_refresh_rotation *r = op->r;
	struct token old, fresh;
	json_t *rec = NULL;
	bool changed;
	enum vg_err err;

	r->outcome = VG_REFRESH_INVALID;
	err = vg_jsondb_tx_get(ttx, r->old_hash, &rec);
	if (err == VG_ERR_NOT_FOUND) {
		err = VG_OK;
		goto out;
	}
	if (err != VG_OK || (err = token_from(rec, &old)) != VG_OK)
		goto out;
	json_decref(rec);
	rec = NULL;
	if ((err = vg_jsondb_tx_get(ftx, old.family_id, &rec)) != VG_OK ||
	    (err = family_from(rec, &r->family)) != VG_OK) {
		if (err == VG_ERR_NOT_FOUND)
			err = VG_ERR_IO;
		goto out;
	}
	if (r->family.revoked_at_us || r->family.expires_at_us <= r->now_us)
		goto out;
	if (old.rotated_at_us) {
		err = revoke_in(ftx, old.family_id, VG_REVOKE_REUSE, r->now_us, &r->family,
		    &changed);
		if (err == VG_OK)
			r->outcome = VG_REFRESH_REUSED;
		goto out;
	}
	if (old.expires_at_us <= r->now_us)
		goto out;
	memset(&fresh, 0, sizeof fresh);
	memcpy(fresh.id, op->token_id, sizeof fresh.id);
	memcpy(fresh.family_id, old.family_id, sizeof fresh.family_id);
	fresh.created_at_us = r->now_us;
	fresh.expires_at_us = r->new_expires_us < r->family.expires_at_us ? r->new_expires_us
	    : r->family.expires_at_us;
	if ((err = vg_store_json_put_new(ttx, r->new_hash, token_json(&fresh), true)) != VG_OK)
		goto out;
	old.rotated_at_us = r->now_us;
	memcpy(old.replaced_by, fresh.id, sizeof old.replaced_by);
	if ((err = vg_store_json_put_new(ttx, r->old_hash, token_json(&old), false)) != VG_OK) {
		vg_jsondb_tx_del(ttx, r->new_hash);
		goto out;
	}
	r->outcome = VG_REFRESH_ROTATED;
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_refresh_rotate(struct vg_store *s, struct vg_refresh_rotation *r, const char *new_token_id)
{
	struct refresh_op op = {.r = r, .token_id = new_token_id};

	return vg_store_json_with_locks(s->jdb, refresh_locks, 2, do_rotate, &op);
}

/* ---- API keys ---- */

static json_t *
key_json(const struct vg_api_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", k->id,
	    "user_id", k->user_id, "name", k->name, "prefix", k->prefix, "key_hash", k->key_hash,
	    "created_at", vg_store_json_time(k->created_at_us),
	    "expires_at", vg_store_json_time(k->expires_at_us),
	    "last_used_at", vg_store_json_time(k->last_used_us),
	    "revoked_at", vg_store_json_time(k->revoked_at_us));
}

static enum vg_err
key_from(json_t *rec, struct vg_api_key *k)
{
	enum vg_err err;

	memset(k, 0, sizeof *k);
	if ((err = vg_store_json_get_str(rec, "id", k->id, sizeof k->id)) ||
	    (err = vg_store_json_get_str(rec, "user_id", k->user_id, sizeof k->user_id)) ||
	    (err = vg_store_json_get_str(rec, "name", k->name, sizeof k->name)) ||
	    (err = vg_store_json_get_str(rec, "prefix", k->prefix, sizeof k->prefix)) ||
	    (err = vg_store_json_get_time(rec, "created_at", &k->created_at_us)) ||
	    (err = vg_store_json_get_time(rec, "expires_at", &k->expires_at_us)) ||
	    (err = vg_store_json_get_time(rec, "last_used_at", &k->last_used_us)) ||
	    (err = vg_store_json_get_time(rec, "revoked_at", &k->revoked_at_us)) ||
	    (err = vg_store_json_get_str(rec, "key_hash", k->key_hash, sizeof k->key_hash)))
		return err;
	return VG_OK;
}

static bool
key_has_prefix(json_t *rec, void *arg)
{
	return strcmp(vg_store_json_peek(rec, "prefix"), arg) == 0;
}

static enum vg_err
do_key_create(struct vg_jsondb_tx *tx, void *arg)
{
	const struct vg_api_key *k = arg;
	json_t *same = NULL;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, key_has_prefix, (void *)k->prefix, &same)) != VG_OK)
		return err;
	err = json_array_size(same) ? VG_ERR_CONFLICT
	    : vg_store_json_put_new(tx, k->key_hash, key_json(k), true);
	json_decref(same);
	return err;
}

static enum vg_err
json_api_key_create(struct vg_store *s, const struct vg_api_key *k)
{
	return vg_jsondb_tx(s->jdb, C_KEYS, true, do_key_create, (void *)k);
}

static enum vg_err
json_api_key_by_hash(struct vg_store *s, const char *hash, struct vg_api_key *out)
{
	json_t *rec = NULL;
	enum vg_err err = vg_jsondb_get(s->jdb, C_KEYS, hash, &rec);

	if (err == VG_OK)
		err = key_from(rec, out);
	json_decref(rec);
	return err;
}

static bool
key_of_user(json_t *rec, void *arg)
{
	return strcmp(vg_store_json_peek(rec, "user_id"), arg) == 0;
}

static enum vg_err
user_keys(struct vg_jsondb_tx *tx, struct vg_jsondb *db, const char *user_id,
    struct vg_api_key **out, size_t *count)
{
	json_t *all = NULL, *rec;
	struct vg_api_key *ks = NULL;
	size_t i;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	err = tx ? vg_jsondb_tx_list(tx, key_of_user, (void *)user_id, &all)
	    : vg_jsondb_list(db, C_KEYS, key_of_user, (void *)user_id, &all);
	if (err != VG_OK)
		goto out;
	err = VG_ERR_NOMEM;
	if (!(ks = calloc(json_array_size(all) + 1, sizeof *ks)))
		goto out;
	json_array_foreach(all, i, rec)
		if ((err = key_from(rec, &ks[i])) != VG_OK)
			goto out;
	*out = ks;
	*count = json_array_size(all);
	ks = NULL;
	err = VG_OK;
out:
	free(ks);
	json_decref(all);
	return err;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct vg_api_key *x = a, *y = b;

	return vg_store_json_pos_cmp(x->created_at_us, x->id, y->created_at_us, y->id);
}

static enum vg_err
json_api_key_list(struct vg_store *s, const char *user_id, const struct vg_store_pos *pos, int n,
    struct vg_api_key **out, size_t *count)
{
	struct vg_api_key *ks = NULL;
	size_t i, k = 0, total = 0;
	enum vg_err err;

	if ((err = user_keys(NULL, s->jdb, user_id, &ks, &total)) != VG_OK)
		return err;
	for (i = 0; i < total; i++)
		if (!ks[i].revoked_at_us && vg_store_json_after(ks[i].created_at_us, ks[i].id, pos))
			ks[k++] = ks[i];
	qsort(ks, k, sizeof *ks, key_cmp);
	*out = ks;
	*count = k < (size_t)n ? k : (size_t)n;
	return VG_OK;
}

static enum vg_err
json_api_key_count(struct vg_store *s, const char *user_id, int64_t now_us, int64_t *count)
{
	struct vg_api_key *ks = NULL;
	size_t i, total = 0;
	enum vg_err err;

	if ((err = user_keys(NULL, s->jdb, user_id, &ks, &total)) != VG_OK)
		return err;
	for (i = 0; i < total; i++)
		if (!ks[i].revoked_at_us && (!ks[i].expires_at_us || ks[i].expires_at_us > now_us))
			(*count)++;
	free(ks);
	return VG_OK;
}

struct key_op {
	const char *user_id, *id;
	int64_t now_us;
	bool revoke;
};

static bool
key_with_id(json_t *rec, void *arg)
{
	return strcmp(vg_store_json_peek(rec, "id"), arg) == 0;
}

/*
 * Revoke or touch key op->id.  Records are named by the key's hash, so the
 * key is found by its id through a listing, and rewritten under the hash
 * its record carries.
 */
static enum vg_err
do_key_change(struct vg_jsondb_tx *tx, void *arg)
{
	struct key_op *op = arg;
	json_t *found = NULL, *rec;
	const char *hash;
	enum vg_err err;

	if ((err = vg_jsondb_tx_list(tx, key_with_id, (void *)op->id, &found)) != VG_OK)
		return err;
	err = VG_ERR_NOT_FOUND;
	if (json_array_size(found) != 1)
		goto out;
	rec = json_array_get(found, 0);
	if (!(hash = json_string_value(json_object_get(rec, "key_hash")))) {
		err = VG_ERR_IO;
		goto out;
	}
	if (op->revoke) {
		if (strcmp(vg_store_json_peek(rec, "user_id"), op->user_id) ||
		    !json_is_null(json_object_get(rec, "revoked_at")))
			goto out;
		json_object_set_new(rec, "revoked_at", vg_store_json_time(op->now_us));
	} else {
		json_object_set_new(rec, "last_used_at", vg_store_json_time(op->now_us));
	}
	err = vg_jsondb_tx_put(tx, hash, rec);
out:
	json_decref(found);
	return err;
}

static enum vg_err
json_api_key_revoke(struct vg_store *s, const char *user_id, const char *id, int64_t now_us)
{
	struct key_op op = {user_id, id, now_us, true};

	return vg_jsondb_tx(s->jdb, C_KEYS, true, do_key_change, &op);
}

static enum vg_err
json_api_key_touch(struct vg_store *s, const char *id, int64_t now_us)
{
	struct key_op op = {NULL, id, now_us, false};

	return vg_jsondb_tx(s->jdb, C_KEYS, true, do_key_change, &op);
}

/* ---- throttle ---- */

struct throttle_op {
	const char *key;
	int64_t now_us, window_us;
	int64_t *failures, *start_us;
	bool count;
};

static enum vg_err
do_throttle(struct vg_jsondb_tx *tx, void *arg)
{
	struct throttle_op *op = arg;
	json_t *rec = NULL;
	int64_t failures = 0, start = 0;
	enum vg_err err = vg_jsondb_tx_get(tx, op->key, &rec);

	if (err == VG_OK) {
		json_t *f = json_object_get(rec, "failures");

		if (!json_is_integer(f) ||
		    vg_store_json_get_time(rec, "window_started_at", &start) != VG_OK) {
			err = VG_ERR_IO;
			goto out;
		}
		failures = json_integer_value(f);
	} else if (err != VG_ERR_NOT_FOUND) {
		goto out;
	}
	if (start == 0 || start + op->window_us <= op->now_us) {
		failures = 0;   /* no window runs */
		start = 0;
	}
	err = VG_OK;
	if (op->count) {
		if (start == 0)
			start = op->now_us;
		failures++;
		json_decref(rec);
		rec = json_pack("{s:I, s:o}", "failures", (json_int_t)failures,
		    "window_started_at", vg_store_json_time(start));
		err = rec ? vg_jsondb_tx_put(tx, op->key, rec) : VG_ERR_NOMEM;
	}
	*op->failures = failures;
	*op->start_us = start;
out:
	json_decref(rec);
	return err;
}

static enum vg_err
json_throttle_get(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	struct throttle_op op = {key, now_us, window_us, failures, window_start_us, false};

	return vg_jsondb_tx(s->jdb, C_THROTTLE, false, do_throttle, &op);
}

static enum vg_err
json_throttle_fail(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	struct throttle_op op = {key, now_us, window_us, failures, window_start_us, true};

	return vg_jsondb_tx(s->jdb, C_THROTTLE, true, do_throttle, &op);
}

static enum vg_err
json_throttle_clear(struct vg_store *s, const char *key)
{
	enum vg_err err = vg_jsondb_del(s->jdb, C_THROTTLE, key);

	return err == VG_ERR_NOT_FOUND ? VG_OK : err;
}

const struct vg_store_auth_ops vg_store_json_auth_ops = {
	.user_create = json_user_create,
	.user_get = json_user_get,
	.user_update = json_user_update,
	.user_list = json_user_list,
	.user_count = json_user_count,
	.refresh_start = json_refresh_start,
	.refresh_family_get = json_refresh_family_get,
	.refresh_family_of = json_refresh_family_of,
	.user_session = json_user_session,
	.refresh_family_revoke = json_refresh_family_revoke,
	.refresh_revoke_user = json_refresh_revoke_user,
	.refresh_rotate = json_refresh_rotate,
	.api_key_create = json_api_key_create,
	.api_key_by_hash = json_api_key_by_hash,
	.api_key_list = json_api_key_list,
	.api_key_count = json_api_key_count,
	.api_key_revoke = json_api_key_revoke,
	.api_key_touch = json_api_key_touch,
	.throttle_get = json_throttle_get,
	.throttle_fail = json_throttle_fail,
	.throttle_clear = json_throttle_clear,
};
