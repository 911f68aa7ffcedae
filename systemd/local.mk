# systemd/: hardened units, a timer, tmpfiles.d and sysusers.d entries,
# rendered by httpd/render with the configured paths (VEGA_RENDER_ARGS,
# httpd/local.mk).  The unit directory defaults to $(prefix)/lib/systemd/
# system; packagers set it on the make command line, e.g.
# `make install systemdsystemunitdir=/lib/systemd/system`.
systemdsystemunitdir = $(prefix)/lib/systemd/system
tmpfilesdir = $(prefix)/lib/tmpfiles.d
sysusersdir = $(prefix)/lib/sysusers.d

systemdsystemunit_DATA = \
	%reldir%/vega-fcgi@.service \
	%reldir%/vega-llm-proxy.service \
	%reldir%/vega-worker.service \
	%reldir%/vega-maintenance.service \
	%reldir%/vega-maintenance.timer \
	%reldir%/vega.target
tmpfiles_DATA = %reldir%/tmpfiles/vega.conf
sysusers_DATA = %reldir%/sysusers/vega.conf
EXTRA_DIST += \
	%reldir%/README.md \
	%reldir%/vega-fcgi@.service.in \
	%reldir%/vega-llm-proxy.service.in \
	%reldir%/vega-worker.service.in \
	%reldir%/vega-maintenance.service.in \
	%reldir%/vega-maintenance.timer.in \
	%reldir%/vega.target.in \
	%reldir%/vega.tmpfiles.in \
	%reldir%/vega.sysusers.in
CLEANFILES += $(systemdsystemunit_DATA) $(tmpfiles_DATA) $(sysusers_DATA)

%reldir%/vega-fcgi@.service: %reldir%/vega-fcgi@.service.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-fcgi@.service.in $(VEGA_RENDER_ARGS)
%reldir%/vega-llm-proxy.service: %reldir%/vega-llm-proxy.service.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-llm-proxy.service.in $(VEGA_RENDER_ARGS)
%reldir%/vega-worker.service: %reldir%/vega-worker.service.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-worker.service.in $(VEGA_RENDER_ARGS)
%reldir%/vega-maintenance.service: %reldir%/vega-maintenance.service.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-maintenance.service.in $(VEGA_RENDER_ARGS)
%reldir%/vega-maintenance.timer: %reldir%/vega-maintenance.timer.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega-maintenance.timer.in $(VEGA_RENDER_ARGS)
%reldir%/vega.target: %reldir%/vega.target.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega.target.in $(VEGA_RENDER_ARGS)
%reldir%/tmpfiles/vega.conf: %reldir%/vega.tmpfiles.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir%/tmpfiles && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega.tmpfiles.in $(VEGA_RENDER_ARGS)
%reldir%/sysusers/vega.conf: %reldir%/vega.sysusers.in httpd/render Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir%/sysusers && $(VEGA_RENDER) -o $@ $(top_srcdir)/%reldir%/vega.sysusers.in $(VEGA_RENDER_ARGS)
