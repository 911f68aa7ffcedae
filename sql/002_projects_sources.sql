-- 002_projects_sources.sql - projects, their members, repositories, the
-- immutable snapshots of their source, and versioned threat profiles.

CREATE TABLE projects (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
	-- A user who still owns projects cannot be deleted; hand them over first.
	owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner_idx ON projects (owner_id, created_at DESC);

CREATE TABLE project_members (
	project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       text NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
	added_by   uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (project_id, user_id)
);
-- "Projects I belong to".
CREATE INDEX project_members_user_idx ON project_members (user_id);

CREATE TABLE repositories (
	id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id           uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	source_type          text NOT NULL CHECK (source_type IN ('upload', 'git')),
	git_url              text CHECK (length(git_url) <= 2048),
	git_ref              text CHECK (length(git_ref) <= 256),
	ingest_status        text NOT NULL DEFAULT 'pending'
	                     CHECK (ingest_status IN ('pending', 'ingesting', 'ready', 'failed')),
	ingest_error_code    text CHECK (length(ingest_error_code) <= 64),
	ingest_error_message text CHECK (length(ingest_error_message) <= 2000),
	current_snapshot_id  uuid,   -- foreign key below, once snapshots exist
	created_by           uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at           timestamptz NOT NULL DEFAULT now(),
	updated_at           timestamptz NOT NULL DEFAULT now(),
	CHECK ((source_type = 'git') = (git_url IS NOT NULL)),
	CHECK (git_ref IS NULL OR source_type = 'git'),
	-- An error explains a failure and nothing else.
	CHECK ((ingest_status = 'failed') = (ingest_error_code IS NOT NULL))
);
CREATE INDEX repositories_project_idx ON repositories (project_id, created_at DESC);
CREATE INDEX repositories_ingest_idx ON repositories (ingest_status, updated_at)
	WHERE ingest_status IN ('pending', 'ingesting');

-- Frozen source, addressed by the SHA-256 of its content: the same content
-- ingested twice into one repository is one snapshot.
CREATE TABLE snapshots (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	digest        text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
	-- Where the archive lives in file storage (local directory or S3).
	storage_key   text NOT NULL CHECK (length(storage_key) BETWEEN 1 AND 1024),
	-- The files: path, size and SHA-256 of each.
	manifest      jsonb NOT NULL DEFAULT '[]'
	              CHECK (jsonb_typeof(manifest) IN ('array', 'object')),
	file_count    integer NOT NULL DEFAULT 0 CHECK (file_count >= 0),
	total_bytes   bigint NOT NULL DEFAULT 0 CHECK (total_bytes >= 0),
	git_commit    text CHECK (git_commit ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
	created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (repository_id, digest)
);
CREATE INDEX snapshots_repository_idx ON snapshots (repository_id, created_at DESC);

ALTER TABLE repositories ADD CONSTRAINT repositories_current_snapshot_fkey
	FOREIGN KEY (current_snapshot_id) REFERENCES snapshots (id) ON DELETE SET NULL;

-- What matters to the project, in versions: a scan names the exact
-- version it used, and versions are never edited, only added.
CREATE TABLE threat_profiles (
	id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id     uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	latest_version integer NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
	created_by     uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	archived_at    timestamptz
);
CREATE INDEX threat_profiles_project_idx ON threat_profiles (project_id, created_at DESC);

CREATE TABLE threat_profile_versions (
	profile_id uuid NOT NULL REFERENCES threat_profiles (id) ON DELETE CASCADE,
	version    integer NOT NULL CHECK (version >= 1),
	-- Assets, trust boundaries, focus areas, exclusions.
	content    jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'),
	created_by uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (profile_id, version)
);
