-- 005_sources.sql - what the sources of issue 4 need beyond 002: a threat
-- profile belongs to one repository, and a snapshot records where its
-- manifest lives, what was uploaded and which languages it holds.

-- Profiles hang below a repository (project_id stays, as the repository's
-- project, for the project-wide views).  No release wrote threat_profiles
-- before this migration, so the new column can be required at once.
ALTER TABLE threat_profiles
	ADD COLUMN repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE;
CREATE INDEX threat_profiles_repository_idx ON threat_profiles (repository_id, created_at DESC);

-- manifest_key: the blob listing path, size and SHA-256 of every file
-- (the manifest column of 002 stays empty: manifests can be large).
-- format: what the user gave, "tar.gz", "zip", "git" and the like.
-- languages: files per language, {"c": 12, "python": 3}.
-- The bounds are those of struct vg_snapshot; NULL stands for "".
ALTER TABLE snapshots
	ADD COLUMN manifest_key text CHECK (length(manifest_key) BETWEEN 1 AND 1024),
	ADD COLUMN format text CHECK (octet_length(format) BETWEEN 1 AND 15),
	ADD COLUMN languages jsonb NOT NULL DEFAULT '{}'
		CHECK (jsonb_typeof(languages) = 'object' AND length(languages::text) <= 4096);

-- Cleanup asks, blob by blob, whether any snapshot still names a key.
CREATE INDEX snapshots_storage_key_idx ON snapshots (storage_key);
