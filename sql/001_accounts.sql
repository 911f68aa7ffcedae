-- 001_accounts.sql - the audit log, users and their credentials.
--
-- Ids are UUIDs made by Vega (the defaults only serve hand-written SQL);
-- times are timestamptz in UTC.  Secrets are never stored: refresh tokens
-- and API keys only as hashes, passwords only as memory-hard hashes.

-- Append-only record of who did what.  First, so that every later
-- migration can audit itself.  actor_id has no foreign key on purpose: the
-- log must keep naming a user after that user is deleted.
CREATE TABLE audit_log (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	at          timestamptz NOT NULL DEFAULT now(),
	actor_id    uuid,
	action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 128),
	target_type text CHECK (length(target_type) <= 64),
	target_id   text CHECK (length(target_id) <= 256),
	request_id  text CHECK (length(request_id) <= 128),
	client_ip   text CHECK (length(client_ip) <= 64),
	details     jsonb CHECK (details IS NULL OR jsonb_typeof(details) = 'object')
);
-- Newest-first paging with (at, id) cursors.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, at DESC);

CREATE TABLE users (
	id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	-- Stored lower-cased.  NULL only for accounts of an external identity
	-- provider, whose access tokens do not carry an address.
	email                text
	                     CHECK (length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1
	                        AND email = lower(email)),
	display_name         text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
	groups               text[] NOT NULL DEFAULT '{user}'
	                     CHECK (groups <@ ARRAY['root', 'operator', 'user']::text[]),
	disabled             boolean NOT NULL DEFAULT false,
	-- Built-in accounts: the memory-hard hash in its encoded form, which
	-- names the KDF and carries its parameters and salt beside the key
	-- ("scrypt$<log2 N>$<r>$<p>$<salt>$<key>"), so the work factor can be
	-- raised for new hashes while old ones still verify.  NULL for
	-- accounts of an external identity provider, which have cognito_sub.
	password_hash        text CHECK (length(password_hash) BETWEEN 16 AND 512
	                        AND password_hash LIKE 'scrypt$%'),
	password_changed_at  timestamptz,
	cognito_sub          text UNIQUE CHECK (length(cognito_sub) BETWEEN 1 AND 128),
	created_at           timestamptz NOT NULL DEFAULT now(),
	updated_at           timestamptz NOT NULL DEFAULT now(),
	last_login_at        timestamptz,
	CHECK (email IS NOT NULL OR cognito_sub IS NOT NULL),
	CHECK ((password_hash IS NULL) = (password_changed_at IS NULL))
);
-- E-mail addresses are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (email);
-- Newest-first listing with (created_at, id) cursors.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

-- A login starts a family of refresh tokens; each use rotates the token.
-- Presenting a rotated token again means it was stolen: the whole family
-- is revoked (revoked_reason 'reuse_detected').
CREATE TABLE refresh_token_families (
	id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at     timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL,
	revoked_at     timestamptz,
	revoked_reason text CHECK (revoked_reason IN
	               ('logout', 'reuse_detected', 'password_changed', 'user_disabled', 'admin')),
	client_ip      text CHECK (length(client_ip) <= 64),
	user_agent     text CHECK (length(user_agent) <= 512),
	CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX refresh_token_families_user_idx ON refresh_token_families (user_id)
	WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	family_id   uuid NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
	token_hash  text NOT NULL UNIQUE CHECK (length(token_hash) BETWEEN 32 AND 256),
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	-- Set when the token was exchanged for replaced_by.
	rotated_at  timestamptz,
	replaced_by uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
	revoked_at  timestamptz,
	CHECK (replaced_by IS NULL OR rotated_at IS NOT NULL)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Long-lived keys for scripts.  The prefix is shown to the user to tell
-- keys apart; only the hash of the whole key is kept, and finds the row.
CREATE TABLE api_keys (
	id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	prefix       text NOT NULL UNIQUE CHECK (length(prefix) BETWEEN 4 AND 32),
	key_hash     text NOT NULL UNIQUE CHECK (length(key_hash) BETWEEN 32 AND 256),
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz,
	CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC);

-- Failed logins counted per key: "acct-<sha256 of the address>" or
-- "addr-<sha256 of the client address>" (hashes, so the table holds no
-- addresses).  A window starts at the first failure; once failures reach
-- the limit, attempts are refused until the window ends.
CREATE TABLE login_throttle (
	key               text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
	failures          integer NOT NULL CHECK (failures >= 0),
	window_started_at timestamptz NOT NULL
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_started_at);
