# sql/: the NNN_name.sql migrations, installed where vega-maintenance looks
# by default (VG_DEFAULT_MIGRATIONS_DIR = $(pkgdatadir)/sql) and shipped in
# the dist tarball.
sqldir = $(pkgdatadir)/sql
dist_sql_DATA = \
	%reldir%/001_accounts.sql \
	%reldir%/002_projects_sources.sql \
	%reldir%/003_scans.sql \
	%reldir%/004_ops.sql \
	%reldir%/005_sources.sql \
	%reldir%/006_pipeline.sql \
	%reldir%/007_findings_version.sql \
	%reldir%/008_llm_hot_path.sql
