-- 007_findings_version.sql - a counter per repository that moves whenever
-- anything its finding lists show may have changed: a finding row
-- written or removed, a triage decision, a scan of the repository
-- changing state (the baseline is its latest completed scan).  An answer
-- made from the lists can then be kept and served again for as long as
-- the counter has not moved (lib/domain/findings.c), after one read of
-- the repository row the access check makes anyway.
--
-- Triggers keep it, so every writer (the runner, the API, hand-written
-- SQL) moves it in the same transaction as its change: a reader that
-- sees the new counter sees the change.  A scan's heartbeat (no state
-- change) does not move it.

ALTER TABLE repositories ADD COLUMN findings_version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION repositories_findings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	repo uuid;
BEGIN
	IF TG_OP = 'DELETE' THEN
		repo := OLD.repository_id;
	ELSE
		repo := NEW.repository_id;
	END IF;
	UPDATE repositories SET findings_version = findings_version + 1 WHERE id = repo;
	RETURN NULL;
END
$$;

CREATE TRIGGER findings_version AFTER INSERT OR UPDATE OR DELETE ON findings
	FOR EACH ROW EXECUTE FUNCTION repositories_findings_changed();
CREATE TRIGGER finding_triage_version AFTER INSERT OR UPDATE OR DELETE ON finding_triage
	FOR EACH ROW EXECUTE FUNCTION repositories_findings_changed();
CREATE TRIGGER scans_findings_version AFTER UPDATE OF status ON scans
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION repositories_findings_changed();
CREATE TRIGGER scans_findings_version_gone AFTER INSERT OR DELETE ON scans
	FOR EACH ROW EXECUTE FUNCTION repositories_findings_changed();
