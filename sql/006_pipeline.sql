-- 006_pipeline.sql - what the scan pipeline needs beyond 003 and 004: the
-- repository's event stream and "latest row per fingerprint" findings
-- lists served from indexes, triage comments and history, the queue's
-- own index, and per-scan LLM budget counters that make a reservation
-- one atomic UPDATE.

-- Events carry their scan's repository, so the repository's stream reads
-- one index in the order it is served: (created_at, scan_id, seq).
ALTER TABLE scan_events ADD COLUMN repository_id uuid;
UPDATE scan_events e SET repository_id = s.repository_id FROM scans s WHERE s.id = e.scan_id;
ALTER TABLE scan_events ALTER COLUMN repository_id SET NOT NULL;
-- Vega names the repository itself; an insert that does not (hand-written
-- SQL) gets its scan's.
CREATE FUNCTION scan_events_repository() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.repository_id IS NULL THEN
		NEW.repository_id := (SELECT s.repository_id FROM scans s WHERE s.id = NEW.scan_id);
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER scan_events_repository BEFORE INSERT ON scan_events
	FOR EACH ROW EXECUTE FUNCTION scan_events_repository();
CREATE INDEX scan_events_repository_idx
	ON scan_events (repository_id, created_at, scan_id, seq);

-- The claim reads the oldest queued scan; finished scans are pruned
-- oldest first.
CREATE INDEX scans_queued_idx ON scans (created_at, id) WHERE status = 'queued';
CREATE INDEX scans_finished_idx ON scans (finished_at, id) WHERE finished_at IS NOT NULL;

-- is_latest marks the newest row (by created_at, id) of each fingerprint
-- in a repository: the repository's findings list is the rows that carry
-- it.  Upserts keep it current under the lock of the fingerprint's
-- finding_triage row.  severity_rank orders most severe first.
ALTER TABLE findings
	ADD COLUMN is_latest boolean NOT NULL DEFAULT false,
	ADD COLUMN severity_rank smallint NOT NULL GENERATED ALWAYS AS (CASE severity
		WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
		WHEN 'low' THEN 3 ELSE 4 END) STORED;
UPDATE findings f SET is_latest = NOT EXISTS (SELECT 1 FROM findings g
	WHERE g.repository_id = f.repository_id AND g.fingerprint = f.fingerprint
	AND (g.created_at, g.id) > (f.created_at, f.id));
-- One index per sort order of the lists (severity, path, newest); paths
-- compare as bytes whatever the database's collation.
CREATE INDEX findings_latest_severity_idx ON findings (repository_id, severity_rank,
	file_path COLLATE "C", line_start, id) WHERE is_latest;
CREATE INDEX findings_latest_path_idx ON findings (repository_id,
	file_path COLLATE "C", line_start, id) WHERE is_latest;
CREATE INDEX findings_latest_newest_idx ON findings (repository_id, created_at DESC, id)
	WHERE is_latest;
CREATE INDEX findings_scan_sort_idx ON findings (scan_id, severity_rank,
	file_path COLLATE "C", line_start, id);

-- finding_triage is also the fingerprint's registry (first and last scan
-- that saw it): a row exists from the first sighting, and decided_at
-- stays NULL until someone triages.
ALTER TABLE finding_triage
	ALTER COLUMN decided_at DROP NOT NULL,
	ALTER COLUMN decided_at DROP DEFAULT,
	ADD COLUMN comment text CHECK (length(comment) <= 4000);

-- Every triage decision of a fingerprint, oldest first.  actor_id has no
-- foreign key: the history keeps naming a user after the user is gone.
CREATE TABLE finding_history (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	fingerprint   text NOT NULL CHECK (fingerprint ~ '^[0-9A-Za-z_:.-]{8,128}$'),
	at            timestamptz NOT NULL,
	actor_id      uuid,
	status        text NOT NULL CHECK (status IN ('open', 'confirmed', 'dismissed')),
	reason        text CHECK (length(reason) <= 2000),
	comment       text CHECK (length(comment) <= 4000)
);
CREATE INDEX finding_history_fingerprint_idx
	ON finding_history (repository_id, fingerprint, at, id);

-- What the proxy learns when it settles a call.
ALTER TABLE llm_usage
	ADD COLUMN latency_ms bigint CHECK (latency_ms >= 0),
	ADD COLUMN http_status integer CHECK (http_status BETWEEN 0 AND 999),
	ADD COLUMN upstream_request_id text CHECK (length(upstream_request_id) <= 256);

-- A scan's running LLM totals: settled usage and open reservations.  A
-- reservation is one UPDATE of this row that checks the limits in its
-- WHERE, so concurrent reservations queue on the row lock and each sees
-- the others' effect.
CREATE TABLE scan_llm_budget (
	scan_id             uuid PRIMARY KEY REFERENCES scans (id) ON DELETE CASCADE,
	requests            bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
	reserved_tokens     bigint NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
	reserved_microusd   bigint NOT NULL DEFAULT 0 CHECK (reserved_microusd >= 0),
	input_tokens        bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
	cached_input_tokens bigint NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
	output_tokens       bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
	reasoning_tokens    bigint NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
	cost_microusd       bigint NOT NULL DEFAULT 0 CHECK (cost_microusd >= 0)
);
INSERT INTO scan_llm_budget (scan_id, requests, reserved_tokens, reserved_microusd,
	input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_microusd)
SELECT scan_id, count(*),
	coalesce(sum(reserved_tokens) FILTER (WHERE status = 'reserved'), 0),
	coalesce(sum(reserved_microusd) FILTER (WHERE status = 'reserved'), 0),
	coalesce(sum(input_tokens) FILTER (WHERE status = 'settled'), 0),
	coalesce(sum(cached_input_tokens) FILTER (WHERE status = 'settled'), 0),
	coalesce(sum(output_tokens) FILTER (WHERE status = 'settled'), 0),
	coalesce(sum(reasoning_tokens) FILTER (WHERE status = 'settled'), 0),
	coalesce(sum(cost_microusd) FILTER (WHERE status = 'settled'), 0)
FROM llm_usage WHERE scan_id IS NOT NULL GROUP BY scan_id;
