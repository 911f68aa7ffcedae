/*
 * store_auth.c - the account entities of the store: argument checks,
 * defaults and paging, shared by both backends (store_json_auth.c,
 * store_pg_auth.c), which receive only well-formed input.
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

/* ---- groups ---- */

static const struct {
	unsigned bit;
	const char *name;
} groups[] = {
	{VG_GROUP_ROOT, "root"},
	{VG_GROUP_OPERATOR, "operator"},
	{VG_GROUP_USER, "user"},
};

const char *
vg_group_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i].bit == bit)
			return groups[i].name;
	return NULL;
}

unsigned
vg_group_bit(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof groups / sizeof groups[0]; i++)
		if (strcmp(groups[i].name, name) == 0)
			return groups[i].bit;
	return 0;
}

json_t *
vg_groups_json(unsigned set)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < sizeof groups / sizeof groups[0]; i++)
		if ((set & groups[i].bit) && json_array_append_new(arr, json_string(groups[i].name))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* ---- checks (the shared ones are store.c's, store_impl.h) ---- */

/* 64 lower-case hex digits: the form of vg_token_hash. */
static bool
hash_ok(const char *h)
{
	return vg_store_hex_ok(h, 64);
}

/* A throttle key: what a jsondb record id may be. */
static bool
key_ok(const char *k)
{
	return vg_jsondb_id_valid(k);
}

/*
 * An e-mail as stored: 3..320 bytes, ASCII-lower-cased, an '@' after the
 * first character, no spaces or control characters.  Writes the stored
 * form into out; VG_ERR_INVALID when it is not one.
 */
static enum vg_err
email_norm(const char *in, char out[VG_STORE_EMAIL_MAX + 1])
{
	size_t i, n = in ? strnlen(in, VG_STORE_EMAIL_MAX + 1) : 0;
	const char *at;

	if (n < 3 || n > VG_STORE_EMAIL_MAX || !vg_utf8_valid(in, n) ||
	    !(at = strchr(in, '@')) || at == in || at[1] == '\0')
		return VG_ERR_INVALID;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f)
			return VG_ERR_INVALID;
		out[i] = (char)(c < 0x80 ? tolower(c) : c);
	}
	out[n] = '\0';
	return VG_OK;
}

static bool
reason_ok(const char *r)
{
	static const char *const reasons[] = {VG_REVOKE_LOGOUT, VG_REVOKE_REUSE,
	    VG_REVOKE_PASSWORD, VG_REVOKE_DISABLED, VG_REVOKE_ADMIN};

	return vg_store_one_of(r, reasons, sizeof reasons / sizeof reasons[0]);
}

static bool
password_hash_ok(const char *h)
{
	size_t n = strnlen(h, VG_STORE_PASSWORD_HASH_MAX + 1);

	return n >= 16 && n <= VG_STORE_PASSWORD_HASH_MAX && vg_str_has_prefix(h, "scrypt$") &&
	    vg_utf8_valid(h, n);
}

/* ---- users ---- */

enum vg_err
vg_store_user_create(struct vg_store *s, struct vg_user *u)
{
	char email[VG_STORE_EMAIL_MAX + 1] = "";
	enum vg_err err;

	if (u->email[0] && email_norm(u->email, email) != VG_OK)
		return VG_ERR_INVALID;
	if ((!u->email[0] && !u->cognito_sub[0]) ||
	    !vg_store_text_ok(u->display_name, VG_STORE_NAME_MAX) ||
	    !vg_store_text_ok(u->cognito_sub, VG_STORE_SUB_MAX) || u->groups == 0 ||
	    (u->groups & ~VG_GROUP_ALL) || (u->password_hash[0] && !password_hash_ok(u->password_hash)))
		return VG_ERR_INVALID;
	memcpy(u->email, email, sizeof email);
	if ((err = vg_uuid_new(u->id)) != VG_OK)
		return err;
	if (u->created_at_us == 0)
		u->created_at_us = vg_time_now_us();
	u->updated_at_us = u->created_at_us;
	if (u->password_hash[0] && u->password_changed_us == 0)
		u->password_changed_us = u->created_at_us;
	if (!u->password_hash[0])
		u->password_changed_us = 0;
	return s->ops->auth->user_create(s, u);
}

enum vg_err
vg_store_user_get(struct vg_store *s, const char *id, struct vg_user *out)
{
	memset(out, 0, sizeof *out);
	if (!vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;   /* nothing can have that id */
	return s->ops->auth->user_get(s, VG_USER_BY_ID, id, out);
}

enum vg_err
vg_store_user_by_email(struct vg_store *s, const char *email, struct vg_user *out)
{
	char norm[VG_STORE_EMAIL_MAX + 1];

	memset(out, 0, sizeof *out);
	if (email_norm(email, norm) != VG_OK)
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->user_get(s, VG_USER_BY_EMAIL, norm, out);
}

enum vg_err
vg_store_user_by_sub(struct vg_store *s, const char *sub, struct vg_user *out)
{
	memset(out, 0, sizeof *out);
	if (!sub || !vg_store_required_ok(sub, VG_STORE_SUB_MAX))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->user_get(s, VG_USER_BY_SUB, sub, out);
}

static enum vg_err
user_update(struct vg_store *s, const char *id, struct vg_user_change *c)
{
	if (!vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;
	if (c->now_us == 0)
		c->now_us = vg_time_now_us();
	return s->ops->auth->user_update(s, id, c);
}

enum vg_err
vg_store_user_set_password(struct vg_store *s, const char *id, const char *hash, int64_t now_us)
{
	struct vg_user_change c = {.kind = VG_USER_SET_PASSWORD, .password_hash = hash,
	    .now_us = now_us};

	if (!hash || !password_hash_ok(hash))
		return VG_ERR_INVALID;
	return user_update(s, id, &c);
}

enum vg_err
vg_store_user_set_disabled(struct vg_store *s, const char *id, bool disabled, int64_t now_us)
{
	struct vg_user_change c = {.kind = VG_USER_SET_DISABLED, .disabled = disabled,
	    .now_us = now_us};

	return user_update(s, id, &c);
}

enum vg_err
vg_store_user_set_groups(struct vg_store *s, const char *id, unsigned set, int64_t now_us)
{
	struct vg_user_change c = {.kind = VG_USER_SET_GROUPS, .groups = set, .now_us = now_us};

	if (set == 0 || (set & ~VG_GROUP_ALL))
		return VG_ERR_INVALID;
	return user_update(s, id, &c);
}

enum vg_err
vg_store_user_touch_login(struct vg_store *s, const char *id, int64_t now_us)
{
	struct vg_user_change c = {.kind = VG_USER_TOUCH_LOGIN, .now_us = now_us};

	return user_update(s, id, &c);
}

static void
user_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_user *u = item;

	pos->at_us = u->created_at_us;
	memcpy(pos->id, u->id, sizeof pos->id);
}

static const struct vg_store_pager user_pager = {sizeof(struct vg_user), user_pos, NULL};

enum vg_err
vg_store_user_list(struct vg_store *s, const char *cursor, int limit, struct vg_user **out,
    size_t *count, char **next_cursor)
{
	struct vg_store_pos pos;
	bool has_pos;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = vg_store_page_begin(cursor, limit, &pos, &has_pos)) != VG_OK)
		return err;
	if ((err = s->ops->auth->user_list(s, has_pos ? &pos : NULL, limit + 1, out,
	    count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&user_pager, *out, count, limit, next_cursor)) != VG_OK)
		*out = NULL;   /* freed by vg_store_page_end */
	return err;
}

enum vg_err
vg_store_user_count(struct vg_store *s, int64_t *count)
{
	*count = 0;
	return s->ops->auth->user_count(s, count);
}

/* ---- refresh tokens ---- */

enum vg_err
vg_store_refresh_start(struct vg_store *s, struct vg_refresh_family *f, const char *token_hash,
    int64_t token_expires_us)
{
	char token_id[VG_UUID_LEN + 1];
	enum vg_err err;

	if (!vg_uuid_valid(f->user_id) || !hash_ok(token_hash) ||
	    !vg_store_text_ok(f->client_ip, 64) || !vg_store_text_ok(f->user_agent, 512))
		return VG_ERR_INVALID;
	if (f->created_at_us == 0)
		f->created_at_us = vg_time_now_us();
	if (f->expires_at_us <= f->created_at_us || token_expires_us <= f->created_at_us)
		return VG_ERR_INVALID;
	if (token_expires_us > f->expires_at_us)
		token_expires_us = f->expires_at_us;
	f->revoked_at_us = 0;
	f->revoked_reason[0] = '\0';
	if ((err = vg_uuid_new(f->id)) != VG_OK || (err = vg_uuid_new(token_id)) != VG_OK)
		return err;
	return s->ops->auth->refresh_start(s, f, token_id, token_hash, token_expires_us);
}

enum vg_err
vg_store_refresh_family_get(struct vg_store *s, const char *id, struct vg_refresh_family *out)
{
	memset(out, 0, sizeof *out);
	if (!vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->refresh_family_get(s, id, out);
}

enum vg_err
vg_store_refresh_family_of(struct vg_store *s, const char *token_hash,
    struct vg_refresh_family *out)
{
	memset(out, 0, sizeof *out);
	if (!hash_ok(token_hash))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->refresh_family_of(s, token_hash, out);
}

enum vg_err
vg_store_user_session(struct vg_store *s, const char *user_id, const char *family_id,
    struct vg_user *u, struct vg_refresh_family *f)
{
	memset(u, 0, sizeof *u);
	memset(f, 0, sizeof *f);
	if (!vg_uuid_valid(user_id))
		return VG_ERR_NOT_FOUND;
	if (family_id && !vg_uuid_valid(family_id))
		family_id = "00000000-0000-0000-0000-000000000000";   /* matches no family */
	return s->ops->auth->user_session(s, user_id, family_id, u, f);
}

enum vg_err
vg_store_refresh_family_revoke(struct vg_store *s, const char *id, const char *reason,
    int64_t now_us)
{
	if (!reason_ok(reason))
		return VG_ERR_INVALID;
	if (!vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->refresh_family_revoke(s, id, reason, now_us ? now_us : vg_time_now_us());
}

enum vg_err
vg_store_refresh_revoke_user(struct vg_store *s, const char *user_id, const char *reason,
    int64_t now_us, size_t *count)
{
	size_t n = 0;
	enum vg_err err;

	if (!reason_ok(reason) || !vg_uuid_valid(user_id))
		return VG_ERR_INVALID;
	err = s->ops->auth->refresh_revoke_user(s, user_id, reason,
	    now_us ? now_us : vg_time_now_us(), &n);
	if (count)
		*count = n;
	return err;
}

enum vg_err
vg_store_refresh_rotate(struct vg_store *s, struct vg_refresh_rotation *r)
{
	char new_id[VG_UUID_LEN + 1];
	enum vg_err err;

	memset(&r->family, 0, sizeof r->family);
	r->outcome = VG_REFRESH_INVALID;
	if (!hash_ok(r->new_hash) || (r->old_hash && strcmp(r->old_hash, r->new_hash) == 0))
		return VG_ERR_INVALID;
	if (!hash_ok(r->old_hash))
		return VG_OK;   /* no such token can exist: INVALID */
	if (r->now_us == 0)
		r->now_us = vg_time_now_us();
	if (r->new_expires_us <= r->now_us)
		return VG_ERR_INVALID;
	if ((err = vg_uuid_new(new_id)) != VG_OK)
		return err;
	return s->ops->auth->refresh_rotate(s, r, new_id);
}

/* ---- API keys ---- */

enum vg_err
vg_store_api_key_create(struct vg_store *s, struct vg_api_key *k)
{
	size_t plen = strnlen(k->prefix, sizeof k->prefix);
	enum vg_err err;

	if (!vg_uuid_valid(k->user_id) || !vg_store_required_ok(k->name, VG_STORE_NAME_MAX) ||
	    plen < 4 || plen >= sizeof k->prefix || !vg_jsondb_id_valid(k->prefix) ||
	    !hash_ok(k->key_hash))
		return VG_ERR_INVALID;
	if (k->created_at_us == 0)
		k->created_at_us = vg_time_now_us();
	if (k->expires_at_us != 0 && k->expires_at_us <= k->created_at_us)
		return VG_ERR_INVALID;
	k->last_used_us = 0;
	k->revoked_at_us = 0;
	if ((err = vg_uuid_new(k->id)) != VG_OK)
		return err;
	return s->ops->auth->api_key_create(s, k);
}

enum vg_err
vg_store_api_key_by_hash(struct vg_store *s, const char *key_hash, struct vg_api_key *out)
{
	memset(out, 0, sizeof *out);
	if (!hash_ok(key_hash))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->api_key_by_hash(s, key_hash, out);
}

static void
key_pos(const void *item, struct vg_store_pos *pos)
{
	const struct vg_api_key *k = item;

	pos->at_us = k->created_at_us;
	memcpy(pos->id, k->id, sizeof pos->id);
}

static const struct vg_store_pager key_pager = {sizeof(struct vg_api_key), key_pos, NULL};

enum vg_err
vg_store_api_key_list(struct vg_store *s, const char *user_id, const char *cursor, int limit,
    struct vg_api_key **out, size_t *count, char **next_cursor)
{
	struct vg_store_pos pos;
	bool has_pos;
	enum vg_err err;

	*out = NULL;
	*count = 0;
	*next_cursor = NULL;
	if ((err = vg_store_page_begin(cursor, limit, &pos, &has_pos)) != VG_OK)
		return err;
	if (!vg_uuid_valid(user_id))
		return VG_ERR_INVALID;
	if ((err = s->ops->auth->api_key_list(s, user_id, has_pos ? &pos : NULL, limit + 1, out,
	    count)) != VG_OK)
		return err;
	if ((err = vg_store_page_end(&key_pager, *out, count, limit, next_cursor)) != VG_OK)
		*out = NULL;   /* freed by vg_store_page_end */
	return err;
}

enum vg_err
vg_store_api_key_count(struct vg_store *s, const char *user_id, int64_t now_us, int64_t *count)
{
	*count = 0;
	if (!vg_uuid_valid(user_id))
		return VG_ERR_INVALID;
	return s->ops->auth->api_key_count(s, user_id, now_us ? now_us : vg_time_now_us(), count);
}

enum vg_err
vg_store_api_key_revoke(struct vg_store *s, const char *user_id, const char *id, int64_t now_us)
{
	if (!vg_uuid_valid(user_id) || !vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->api_key_revoke(s, user_id, id, now_us ? now_us : vg_time_now_us());
}

enum vg_err
vg_store_api_key_touch(struct vg_store *s, const char *id, int64_t now_us)
{
	if (!vg_uuid_valid(id))
		return VG_ERR_NOT_FOUND;
	return s->ops->auth->api_key_touch(s, id, now_us ? now_us : vg_time_now_us());
}

/* ---- throttle ---- */

enum vg_err
vg_store_throttle_get(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	*failures = 0;
	*window_start_us = 0;
	if (!key_ok(key) || window_us <= 0)
		return VG_ERR_INVALID;
	return s->ops->auth->throttle_get(s, key, now_us, window_us, failures, window_start_us);
}

enum vg_err
vg_store_throttle_fail(struct vg_store *s, const char *key, int64_t now_us, int64_t window_us,
    int64_t *failures, int64_t *window_start_us)
{
	*failures = 0;
	*window_start_us = 0;
	if (!key_ok(key) || window_us <= 0)
		return VG_ERR_INVALID;
	return s->ops->auth->throttle_fail(s, key, now_us, window_us, failures, window_start_us);
}

enum vg_err
vg_store_throttle_clear(struct vg_store *s, const char *key)
{
	if (!key_ok(key))
		return VG_ERR_INVALID;
	return s->ops->auth->throttle_clear(s, key);
}
