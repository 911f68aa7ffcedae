-- 004_ops.sql - what operators watch: the worker registry and the LLM usage
-- that the proxy reserves and settles.

-- One row per worker process, replaced by every heartbeat.
-- current_scan_id has no foreign key: a heartbeat must never fail because
-- the scan it reports was deleted meanwhile.
CREATE TABLE workers (
	id                uuid PRIMARY KEY,
	host              text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
	pid               bigint NOT NULL CHECK (pid >= 0),
	version           text NOT NULL CHECK (length(version) <= 31),
	started_at        timestamptz NOT NULL,
	last_heartbeat_at timestamptz NOT NULL,
	state             text NOT NULL CHECK (state IN ('idle', 'busy', 'stopping', 'stopped')),
	current_scan_id   uuid
);
CREATE INDEX workers_heartbeat_idx ON workers (last_heartbeat_at DESC);

-- One provider call: reserved before forwarding (so concurrent calls cannot
-- overspend a budget), settled with the real usage afterwards.  Costs are
-- in millionths of a US dollar, integers so sums are exact.
CREATE TABLE llm_usage (
	id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	scan_id             uuid REFERENCES scans (id) ON DELETE SET NULL,
	user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
	provider            text NOT NULL CHECK (length(provider) BETWEEN 1 AND 64),
	model               text NOT NULL CHECK (length(model) BETWEEN 1 AND 256),
	endpoint            text NOT NULL CHECK (endpoint IN ('responses', 'chat_completions')),
	status              text NOT NULL DEFAULT 'reserved'
	                    CHECK (status IN ('reserved', 'settled', 'failed')),
	reserved_tokens     bigint NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
	input_tokens        bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
	cached_input_tokens bigint NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
	output_tokens       bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
	reasoning_tokens    bigint NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
	reserved_microusd   bigint NOT NULL DEFAULT 0 CHECK (reserved_microusd >= 0),
	cost_microusd       bigint NOT NULL DEFAULT 0 CHECK (cost_microusd >= 0),
	request_id          text CHECK (length(request_id) <= 128),
	created_at          timestamptz NOT NULL DEFAULT now(),
	settled_at          timestamptz,
	CHECK ((status = 'reserved') = (settled_at IS NULL))
);
CREATE INDEX llm_usage_scan_idx ON llm_usage (scan_id, created_at);
CREATE INDEX llm_usage_user_idx ON llm_usage (user_id, created_at);
CREATE INDEX llm_usage_created_idx ON llm_usage (created_at);
CREATE INDEX llm_usage_reserved_idx ON llm_usage (created_at) WHERE status = 'reserved';
