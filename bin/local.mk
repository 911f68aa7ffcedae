# bin/: the programs that are not FastCGI roles.  One block per program.

# vega-maintenance: migrate, config, ... (operator one-shots, in sbin).
sbin_PROGRAMS += %reldir%/vega-maintenance
%canon_reldir%_vega_maintenance_SOURCES = %reldir%/vega-maintenance.c
