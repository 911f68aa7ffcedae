# pg.sh - a throwaway Postgres cluster for tests (source this file).
#
#   vg_pg_start       initdb + start a cluster in a new /tmp/vega-pg.* dir
#                     (socket there too, no TCP); exports
#                     VEGA_TEST_DATABASE_URL, VG_PG_DIR
#   vg_pg_stop        stop it and remove its directory
#   vg_pg_restart [SECONDS]   stop and start it again (same data, same
#                     port), down for SECONDS (default 0) in between
#   vg_pg_down / vg_pg_up   stop (fast: sessions are ended) / start
#                     without touching the data
#
# initdb refuses to run as root, so as root the cluster runs as the
# 'postgres' system user (created by Debian's postgresql package).

vg_pg_bindir() {
	local d
	for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	done
	echo "pg.sh: initdb not found: apt-get install postgresql" >&2
	return 1
}

vg_pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

vg_pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The server must not inherit fd 3: under bats that is the TAP stream,
# and bats would wait for it to close, i.e. for Postgres to exit.
vg_pg_up() {
	vg_pg_as "$VG_PG_BIN/pg_ctl" -D "$VG_PG_DIR/data" -l "$VG_PG_DIR/server.log" \
		-o "-p $VG_PG_PORT -k $VG_PG_DIR -c listen_addresses='' -c fsync=off -c max_connections=200" \
		-w -t 60 start >/dev/null 3>&-
}

vg_pg_down() {
	vg_pg_as "$VG_PG_BIN/pg_ctl" -D "$VG_PG_DIR/data" -m fast -w -t 60 stop >/dev/null
}

vg_pg_start() {
	VG_PG_BIN=$(vg_pg_bindir) || return 1
	VG_PG_PORT=$(vg_pg_free_port)
	# Short path: the socket's path must fit in sun_path.
	VG_PG_DIR=$(mktemp -d /tmp/vega-pg.XXXXXX) || return 1
	chmod 0755 "$VG_PG_DIR"
	if [ "$(id -u)" = 0 ]; then chown postgres "$VG_PG_DIR"; fi
	vg_pg_as "$VG_PG_BIN/initdb" -D "$VG_PG_DIR/data" -U vega --auth=trust \
		-E UTF8 --no-locale >"$VG_PG_DIR/initdb.log" 2>&1 || {
		cat "$VG_PG_DIR/initdb.log" >&2; return 1; }
	vg_pg_up || { cat "$VG_PG_DIR/server.log" >&2; return 1; }
	vg_pg_as "$VG_PG_BIN/createdb" -h "$VG_PG_DIR" -p "$VG_PG_PORT" -U vega vega
	VEGA_TEST_DATABASE_URL="host=$VG_PG_DIR port=$VG_PG_PORT user=vega dbname=vega"
	export VG_PG_DIR VG_PG_BIN VG_PG_PORT VEGA_TEST_DATABASE_URL
}

vg_pg_restart() {
	vg_pg_down || return 1
	sleep "${1:-0}"
	vg_pg_up
}

vg_pg_stop() {
	[ -n "${VG_PG_DIR:-}" ] && [ -d "$VG_PG_DIR/data" ] || return 0
	vg_pg_down 2>/dev/null
	rm -rf "$VG_PG_DIR"
	return 0
}
