# cgi/: one small file per FastCGI program, installed in $(pkglibexecdir)
# (libexec/vega) where the web server configuration and the units find them.
pkglibexec_PROGRAMS += \
	%reldir%/vega-auth.fcgi \
	%reldir%/vega-projects.fcgi \
	%reldir%/vega-scans.fcgi \
	%reldir%/vega-ops.fcgi \
	%reldir%/vega-llm-proxy.fcgi

%canon_reldir%_vega_auth_fcgi_SOURCES = %reldir%/vega-auth.c
%canon_reldir%_vega_projects_fcgi_SOURCES = %reldir%/vega-projects.c
%canon_reldir%_vega_scans_fcgi_SOURCES = %reldir%/vega-scans.c
%canon_reldir%_vega_ops_fcgi_SOURCES = %reldir%/vega-ops.c
%canon_reldir%_vega_llm_proxy_fcgi_SOURCES = %reldir%/vega-llm-proxy.c
