# httpd/: nginx and Apache configuration.  One render script fills the
# @TOKENS@ of the templates: here with the configured paths (installed in
# $(pkgdatadir)/httpd), in the tests and the benchmark with temp dirs and
# loopback ports.  Install-time values can be changed on the make command
# line, e.g. `make VEGA_HTTPD_LISTEN=127.0.0.1:8000`.
httpddir = $(pkgdatadir)/httpd
httpderrorsdir = $(httpddir)/errors

VEGA_HTTPD_LISTEN = *:80
VEGA_HTTPD_PROXY_LISTEN = 127.0.0.1:8081
VEGA_HTTPD_SERVER_NAME = localhost
VEGA_HTTPD_MAX_JSON_BODY_BYTES = 1048576
VEGA_HTTPD_MAX_SOURCE_BYTES = 2147483648
VEGA_HTTPD_PROXY_MAX_BODY_BYTES = 33554432
VEGA_FCGI_PROCESSES = 4
VEGA_WEB_GROUP = www-data
VEGA_SPAWN_FCGI = /usr/bin/spawn-fcgi
VEGA_SYSTEMD_CAT = /usr/bin/systemd-cat
vega_rundir = $(runstatedir)/vega
vega_proxy_rundir = $(runstatedir)/vega-llm
vega_statedir = $(localstatedir)/lib/vega

VEGA_RENDER = $(top_srcdir)/httpd/render
VEGA_RENDER_ARGS = \
	LISTEN='$(VEGA_HTTPD_LISTEN)' \
	PROXY_LISTEN='$(VEGA_HTTPD_PROXY_LISTEN)' \
	SERVER_NAME='$(VEGA_HTTPD_SERVER_NAME)' \
	MAX_JSON_BODY_BYTES='$(VEGA_HTTPD_MAX_JSON_BODY_BYTES)' \
	MAX_SOURCE_BYTES='$(VEGA_HTTPD_MAX_SOURCE_BYTES)' \
	PROXY_MAX_BODY_BYTES='$(VEGA_HTTPD_PROXY_MAX_BODY_BYTES)' \
	FCGI_PROCESSES='$(VEGA_FCGI_PROCESSES)' \
	RUNDIR='$(vega_rundir)' \
	PROXY_RUNDIR='$(vega_proxy_rundir)' \
	VEGA_DATA_DIR='$(vega_statedir)' \
	ERRORDIR='$(httpderrorsdir)' \
	PKGLIBEXECDIR='$(pkglibexecdir)' \
	PKGDATADIR='$(pkgdatadir)' \
	SYSCONFDIR='$(sysconfdir)' \
	BINDIR='$(bindir)' \
	SBINDIR='$(sbindir)' \
	FCGID_ENV='$(sysconfdir)/vega/apache-fcgid-env.conf' \
	PROXY_FCGID_ENV='$(sysconfdir)/vega/apache-fcgid-llm-proxy-env.conf' \
	WEB_GROUP='$(VEGA_WEB_GROUP)' \
	SPAWN_FCGI='$(VEGA_SPAWN_FCGI)' \
	SYSTEMD_CAT='$(VEGA_SYSTEMD_CAT)'

httpd_DATA = \
	%reldir%/vega-nginx.conf \
	%reldir%/vega-apache.conf \
	%reldir%/vega-apache-fcgid.conf
# The templates and the script too, to render again with other values.
dist_httpd_DATA = \
	%reldir%/README.md \
	%reldir%/vega-nginx.conf.in \
	%reldir%/vega-apache.conf.in \
	%reldir%/vega-apache-fcgid.conf.in \
	%reldir%/nginx-standalone.conf.in \
	%reldir%/apache-standalone.conf.in
dist_httpd_SCRIPTS = %reldir%/render
dist_httpderrors_DATA = \
	%reldir%/errors/400.json \
	%reldir%/errors/404.json \
	%reldir%/errors/405.json \
	%reldir%/errors/413.json \
	%reldir%/errors/414.json \
	%reldir%/errors/500.json \
	%reldir%/errors/503.json
CLEANFILES += $(httpd_DATA)

%reldir%/vega-nginx.conf: %reldir%/vega-nginx.conf.in %reldir%/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-nginx.conf.in \
		$(VEGA_RENDER_ARGS) LOGDIR='$(localstatedir)/log/nginx'
%reldir%/vega-apache.conf: %reldir%/vega-apache.conf.in %reldir%/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-apache.conf.in \
		$(VEGA_RENDER_ARGS) LOGDIR='$(localstatedir)/log/apache2'
%reldir%/vega-apache-fcgid.conf: %reldir%/vega-apache-fcgid.conf.in %reldir%/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-apache-fcgid.conf.in \
		$(VEGA_RENDER_ARGS) LOGDIR='$(localstatedir)/log/apache2'
