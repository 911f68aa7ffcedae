-- 003_scans.sql - scans, their events and findings, triage decisions that
-- follow a finding's fingerprint, and the runner jobs that execute scans.
--
-- Worker ids (scans.claimed_by, runner_jobs.worker_id) carry no foreign key:
-- the worker registry (004_ops.sql) is a heartbeat table pruned on its own,
-- and a scan's history must outlive the worker that ran it.

CREATE TABLE scans (
	id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	repository_id       uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	-- A snapshot (or profile version) that scans refer to cannot be
	-- deleted under them.  NO ACTION rather than RESTRICT: the check runs
	-- at the end of the statement, so deleting a whole repository, which
	-- cascades to both its snapshots and its scans, still works.
	snapshot_id         uuid NOT NULL REFERENCES snapshots (id) ON DELETE NO ACTION,
	profile_id          uuid,
	profile_version     integer,
	created_by          uuid REFERENCES users (id) ON DELETE SET NULL,
	status              text NOT NULL DEFAULT 'queued' CHECK (status IN
	                    ('queued', 'claimed', 'running', 'completed', 'failed', 'cancelled')),
	engine              text NOT NULL CHECK (length(engine) BETWEEN 1 AND 64),
	options             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
	-- Every claim increments attempt and draws a fresh lease token; each
	-- later transition names both, so a runner that lost its lease can
	-- change nothing.
	attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
	lease_token         text CHECK (length(lease_token) BETWEEN 16 AND 128),
	claimed_by          uuid,
	claimed_at          timestamptz,
	started_at          timestamptz,
	heartbeat_at        timestamptz,
	finished_at         timestamptz,
	cancel_requested_at timestamptz,
	error_code          text CHECK (length(error_code) <= 64),
	error_message       text CHECK (length(error_message) <= 2000),
	-- Counters, kept current while the scan runs.
	files_scanned       integer NOT NULL DEFAULT 0 CHECK (files_scanned >= 0),
	findings_count      integer NOT NULL DEFAULT 0 CHECK (findings_count >= 0),
	critical_count      integer NOT NULL DEFAULT 0 CHECK (critical_count >= 0),
	high_count          integer NOT NULL DEFAULT 0 CHECK (high_count >= 0),
	medium_count        integer NOT NULL DEFAULT 0 CHECK (medium_count >= 0),
	low_count           integer NOT NULL DEFAULT 0 CHECK (low_count >= 0),
	info_count          integer NOT NULL DEFAULT 0 CHECK (info_count >= 0),
	-- The last event sequence number handed out (events are numbered 1..n).
	last_event_seq      bigint NOT NULL DEFAULT 0 CHECK (last_event_seq >= 0),
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (profile_id, profile_version)
		REFERENCES threat_profile_versions (profile_id, version) ON DELETE NO ACTION,
	CHECK ((profile_id IS NULL) = (profile_version IS NULL)),
	CHECK (status NOT IN ('claimed', 'running')
	       OR (lease_token IS NOT NULL AND claimed_at IS NOT NULL AND attempt >= 1)),
	CHECK (status <> 'running' OR started_at IS NOT NULL),
	CHECK ((status IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
	CHECK (status = 'failed' OR error_code IS NULL)
);
-- The claim: oldest queued first.
CREATE INDEX scans_status_created_idx ON scans (status, created_at);
-- A user's scans, and the race-free count of their active ones.
CREATE INDEX scans_created_by_idx ON scans (created_by, created_at DESC);
CREATE INDEX scans_active_user_idx ON scans (created_by)
	WHERE status IN ('queued', 'claimed', 'running');
CREATE INDEX scans_repository_idx ON scans (repository_id, created_at DESC);
-- The stale-scan rescuer.
CREATE INDEX scans_heartbeat_idx ON scans (heartbeat_at)
	WHERE status IN ('claimed', 'running');

-- Append-only; seq is per scan, from scans.last_event_seq.
CREATE TABLE scan_events (
	scan_id    uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
	seq        bigint NOT NULL CHECK (seq >= 1),
	type       text NOT NULL CHECK (type IN ('scan_started', 'scan_progress', 'scan_log',
	           'finding_updated', 'scan_completed', 'scan_failed', 'scan_cancelled')),
	payload    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scan_id, seq)
);

CREATE TABLE findings (
	id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	scan_id           uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
	repository_id     uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	-- Stable across scans: it does not change when only line numbers move.
	fingerprint       text NOT NULL CHECK (fingerprint ~ '^[0-9A-Za-z_:.-]{8,128}$'),
	title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
	severity          text NOT NULL
	                  CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
	cwe_ids           integer[] NOT NULL DEFAULT '{}' CHECK (0 < ALL (cwe_ids)),
	category          text NOT NULL DEFAULT '' CHECK (length(category) <= 128),
	file_path         text NOT NULL CHECK (length(file_path) BETWEEN 1 AND 4096),
	line_start        integer CHECK (line_start >= 1),
	line_end          integer,
	evidence          text NOT NULL DEFAULT '' CHECK (length(evidence) <= 16384),
	description       text NOT NULL DEFAULT '' CHECK (length(description) <= 32768),
	exploit_scenario  text NOT NULL DEFAULT '' CHECK (length(exploit_scenario) <= 32768),
	recommendation    text NOT NULL DEFAULT '' CHECK (length(recommendation) <= 32768),
	confidence        text NOT NULL DEFAULT 'medium'
	                  CHECK (confidence IN ('high', 'medium', 'low')),
	engine            text NOT NULL CHECK (length(engine) BETWEEN 1 AND 64),
	rule_id           text CHECK (length(rule_id) <= 256),
	model             text CHECK (length(model) <= 256),
	status            text NOT NULL DEFAULT 'open'
	                  CHECK (status IN ('open', 'confirmed', 'dismissed')),
	status_reason     text CHECK (length(status_reason) <= 2000),
	status_actor_id   uuid REFERENCES users (id) ON DELETE SET NULL,
	status_at         timestamptz,
	first_scan_id     uuid REFERENCES scans (id) ON DELETE SET NULL,
	last_scan_id      uuid REFERENCES scans (id) ON DELETE SET NULL,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	CHECK (line_end IS NULL OR (line_start IS NOT NULL AND line_end >= line_start)),
	UNIQUE (scan_id, fingerprint)
);
-- Every sighting of one finding across a repository's scans.
CREATE INDEX findings_repository_fingerprint_idx ON findings (repository_id, fingerprint);
CREATE INDEX findings_repository_status_idx ON findings (repository_id, status, severity);
CREATE INDEX findings_scan_severity_idx ON findings (scan_id, severity);

-- A triage decision belongs to the repository and the fingerprint, not to
-- one scan's row, so it carries into every later scan that sees the same
-- finding.
CREATE TABLE finding_triage (
	repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	fingerprint   text NOT NULL CHECK (fingerprint ~ '^[0-9A-Za-z_:.-]{8,128}$'),
	status        text NOT NULL CHECK (status IN ('open', 'confirmed', 'dismissed')),
	reason        text CHECK (length(reason) <= 2000),
	actor_id      uuid REFERENCES users (id) ON DELETE SET NULL,
	decided_at    timestamptz NOT NULL DEFAULT now(),
	first_scan_id uuid REFERENCES scans (id) ON DELETE SET NULL,
	last_scan_id  uuid REFERENCES scans (id) ON DELETE SET NULL,
	PRIMARY KEY (repository_id, fingerprint)
);

-- One execution of one attempt of a scan: recording it is idempotent per
-- (scan, attempt), so a worker that retries a launch cannot start two.
CREATE TABLE runner_jobs (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	scan_id       uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
	attempt       integer NOT NULL CHECK (attempt >= 1),
	worker_id     uuid,
	mode          text NOT NULL CHECK (mode IN ('thread', 'local', 'ecs')),
	-- The child's pid, or the ECS task ARN.
	external_id   text CHECK (length(external_id) <= 2048),
	status        text NOT NULL DEFAULT 'starting'
	              CHECK (status IN ('starting', 'running', 'exited', 'failed', 'lost')),
	exit_code     integer,
	error_message text CHECK (length(error_message) <= 2000),
	created_at    timestamptz NOT NULL DEFAULT now(),
	started_at    timestamptz,
	finished_at   timestamptz,
	UNIQUE (scan_id, attempt)
);
CREATE INDEX runner_jobs_active_idx ON runner_jobs (status, created_at)
	WHERE status IN ('starting', 'running');
