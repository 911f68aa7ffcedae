# stack.sh - the web server and the FastCGI programs, on loopback, for the
# end-to-end tests and a developer's local stack (source this file).
#
#   vg_stack_start nginx|apache|apache-fcgid
#        render the configurations of httpd/ into $VG_E2E_TMP/stack, start
#        the five programs (spawn-fcgi on unix sockets; Apache's mod_fcgid
#        starts them itself for apache-fcgid), start the web server on two
#        free loopback ports, wait until /v1/healthz answers on both
#        listeners, and export VEGA_TEST_URL and VEGA_TEST_PROXY_URL.
#   vg_stack_stop
#        stop all of it and wait until none of its processes is left.
#        Safe to call twice, and from another shell (a bats test): all
#        state lives in files under $VG_E2E_TMP/stack.
#   vg_stack_env
#        re-export VEGA_TEST_URL, VEGA_TEST_PROXY_URL and VG_STACK_* from
#        those files (for a bats file's setup).
#   vg_stack_pids
#        print the process ids of everything the stack started that still
#        runs (zombies excluded).
#
# Needs VG_E2E_TMP (0755), VEGA_SRCDIR and VEGA_BUILDDIR.  Optional:
#   VG_STACK_PROGDIR    directory of the vega-*.fcgi programs
#                       (default $VEGA_BUILDDIR/cgi)
#   VG_STACK_PROCESSES  FastCGI processes per program (default 2)
#   VG_STACK_PROXY_PROCESSES
#                       processes of vega-llm-proxy (default
#                       VG_STACK_PROCESSES): each holds one model call for
#                       as long as the provider takes
#   VG_STACK_PORT, VG_STACK_PROXY_PORT
#                       fixed loopback ports for the API and the LLM proxy
#                       (default: free ports; the local stack uses 8000/8001)
# The programs get the VEGA_* settings of the caller's environment and
# nothing else (apart from PATH and the sanitizers' options), plus a random
# VEGA_AUTH_SECRET when the built-in accounts are on and none was given.
# Before a postgres stack starts, the migrations are applied with
# $VEGA_BUILDDIR/bin/vega-maintenance migrate.
#
# Every process started here has fd 3 closed: a bats test that restarts
# the stack must not hand bats' TAP stream to a daemon, or bats would wait
# for the daemon to exit.
#
# Users.  As a normal user everything runs as that user.  As root (CI), the
# programs and the web server's workers run as the unprivileged user
# www-data (nginx `user`, Apache `User`; Apache refuses to serve as root
# anyway), the sockets are owned by it with mode 0600, and the data dir is
# handed to it: the same shape as production (a dedicated user, sockets
# only the web server can reach), and a permission mistake shows up here
# rather than in production.  Running the workers as root would hide one.

VG_STACK_PROGRAMS="vega-auth vega-projects vega-scans vega-ops vega-llm-proxy"

vg_stack__dir() {
	echo "${VG_E2E_TMP:?stack.sh: VG_E2E_TMP is not set}/stack"
}

vg_stack__free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The user the programs and web server workers run as ("" = ourselves).
vg_stack__user() {
	if [ "$(id -u)" = 0 ]; then echo www-data; fi
}

# Fill the array vg_stack__envv with NAME=value for every VEGA_* setting of
# the environment (the test plumbing's own VEGA_SRCDIR, VEGA_BUILDDIR and
# VEGA_TEST_* excluded), and the sanitizers' options, so a sanitizer build
# runs its programs as the caller asked.
vg_stack__collect_env() {
	local kv name
	vg_stack__envv=()
	while IFS= read -r -d '' kv; do
		name=${kv%%=*}
		case $name in
		VEGA_SRCDIR | VEGA_BUILDDIR | VEGA_TEST_*) ;;
		VEGA_* | ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS) vg_stack__envv+=("$kv") ;;
		esac
	done < <(env -0)
	# The API programs refuse to start without an access-token key when
	# the built-in accounts are on: a caller that set none gets one for
	# this stack's life (tokens do not survive a restart).
	if [ "${VEGA_AUTH_PROVIDER:-custom}" = custom ] && [ -z "${VEGA_AUTH_SECRET:-}" ]; then
		vg_stack__envv+=("VEGA_AUTH_SECRET=$(head -c 48 /dev/urandom | base64 -w0)")
	fi
}

vg_stack__fail() {
	local d
	d=$(vg_stack__dir)
	echo "stack.sh: $*" >&2
	for f in "$d"/logs/*; do
		[ -s "$f" ] || continue
		echo "--- $f (last lines)" >&2
		tail -n 20 "$f" >&2
	done
	return 1
}

# Start one program with spawn-fcgi on a unix socket in the stack's run
# dir.  Its stderr (the JSON log lines) goes to logs/PROGRAM.log:
# spawn-fcgi points a forked child's stderr at /dev/null, so a shell
# reopens it before exec'ing the program (same pid, so the pid file holds).
vg_stack__spawn() {
	local prog=$1 d user exe
	d=$(vg_stack__dir)
	user=$(vg_stack__user)
	exe=$VG_STACK_PROGDIR/$prog.fcgi
	[ -x "$exe" ] || { vg_stack__fail "$exe is not built"; return 1; }
	local n=$VG_STACK_PROCESSES
	[ "$prog" = vega-llm-proxy ] && n=${VG_STACK_PROXY_PROCESSES:-$VG_STACK_PROCESSES}
	local opts=(-s "$d/run/$prog.sock" -M 0600 -F "$n" -P "$d/pids/$prog.pid")
	[ -n "$user" ] && opts+=(-u "$user" -g "$user" -U "$user" -G "$user")
	: >"$d/logs/$prog.log"
	[ -n "$user" ] && chown "$user" "$d/logs/$prog.log"
	env -i PATH=/usr/bin:/bin "${vg_stack__envv[@]}" \
		spawn-fcgi "${opts[@]}" -- /bin/sh -c 'exec "$0" 2>>"$1"' \
		"$exe" "$d/logs/$prog.log" \
		</dev/null >>"$d/logs/spawn-fcgi.log" 2>&1 3>&- ||
		{ vg_stack__fail "spawn-fcgi $prog failed"; return 1; }
}

# Write `FcgidInitialEnv NAME "value"` lines for mod_fcgid.
vg_stack__fcgid_env() {
	local kv name value
	for kv in "${vg_stack__envv[@]}"; do
		name=${kv%%=*}
		value=${kv#*=}
		value=${value//\\/\\\\}
		value=${value//\"/\\\"}
		printf 'FcgidInitialEnv %s "%s"\n' "$name" "$value"
	done
}

vg_stack__render() {
	"$VEGA_SRCDIR/httpd/render" "$@" || vg_stack__fail "cannot render $2"
}

vg_stack__wait_http() {
	local url=$1 i
	for i in $(seq 1 150); do
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

vg_stack__migrate() {
	local m=$VEGA_BUILDDIR/bin/vega-maintenance
	[ "${VEGA_PERSISTENCE_BACKEND:-json}" = postgres ] || return 0
	if [ ! -x "$m" ]; then
		echo "stack.sh: $m is not built: the schema is not migrated" >&2
		return 0
	fi
	env -i PATH=/usr/bin:/bin "${vg_stack__envv[@]}" "$m" migrate \
		>>"$(vg_stack__dir)/logs/migrate.log" 2>&1 ||
		vg_stack__fail "vega-maintenance migrate failed"
}

# Up to three attempts: a free port found here may be taken by a parallel
# run before the web server binds it.
vg_stack_start() {
	local attempt
	for attempt in 1 2 3; do
		vg_stack__start "$@" && return 0
		vg_stack_stop
		echo "stack.sh: attempt $attempt to start $1 failed" >&2
	done
	return 1
}

vg_stack__start() {
	local kind=$1 d user group port pport prog common
	d=$(vg_stack__dir)
	case $kind in
	nginx | apache | apache-fcgid) ;;
	*) echo "stack.sh: unknown web server '$kind'" >&2; return 1 ;;
	esac
	: "${VEGA_SRCDIR:?}" "${VEGA_BUILDDIR:?}"
	VG_STACK_PROGDIR=${VG_STACK_PROGDIR:-$VEGA_BUILDDIR/cgi}
	VG_STACK_PROCESSES=${VG_STACK_PROCESSES:-2}
	user=$(vg_stack__user)
	group=${user:-$(id -gn)}
	user=${user:-$(id -un)}

	mkdir -p "$d"/{logs,run,pids,tmp,htdocs} || return 1
	chmod 0755 "$d" "$d"/logs "$d"/run
	if [ "$(id -u)" = 0 ]; then
		chown "$user:$group" "$d/run" "$d/tmp"
		[ -n "${VEGA_DATA_DIR:-}" ] && mkdir -p "$VEGA_DATA_DIR" &&
			chown -R "$user:$group" "$VEGA_DATA_DIR"
	fi
	echo "$kind" >"$d/kind"
	vg_stack__collect_env
	vg_stack__migrate || return 1

	port=${VG_STACK_PORT:-$(vg_stack__free_port)} || return 1
	pport=${VG_STACK_PROXY_PORT:-$(vg_stack__free_port)} || return 1
	[ "$port" != "$pport" ] || pport=$(vg_stack__free_port)
	common=(SERVER_NAME=localhost RUNDIR="$d/run" PROXY_RUNDIR="$d/run"
		ERRORDIR="$VEGA_SRCDIR/httpd/errors" LOGDIR="$d/logs"
		LISTEN="127.0.0.1:$port" PROXY_LISTEN="127.0.0.1:$pport"
		MAX_JSON_BODY_BYTES="${VEGA_MAX_JSON_BODY_BYTES:-1048576}"
		MAX_SOURCE_BYTES="${VEGA_MAX_SOURCE_BYTES:-2147483648}"
		PROXY_MAX_BODY_BYTES=33554432)

	if [ "$kind" != apache-fcgid ]; then
		for prog in $VG_STACK_PROGRAMS; do
			vg_stack__spawn "$prog" || return 1
		done
	fi

	case $kind in
	nginx)
		local nuser=
		[ "$(id -u)" = 0 ] && nuser="user $user $group;"
		vg_stack__render -o "$d/vega-nginx.conf" "$VEGA_SRCDIR/httpd/vega-nginx.conf.in" \
			"${common[@]}" || return 1
		vg_stack__render -o "$d/nginx.conf" "$VEGA_SRCDIR/httpd/nginx-standalone.conf.in" \
			PREFIX="$d" USER="$nuser" WORKERS=2 VHOST="$d/vega-nginx.conf" || return 1
		mkdir -p "$d"/tmp/{body,fastcgi,proxy,scgi,uwsgi}
		[ "$(id -u)" = 0 ] && chown -R "$user:$group" "$d/tmp"
		nginx -t -q -p "$d" -c "$d/nginx.conf" >>"$d/logs/nginx-test.log" 2>&1 ||
			{ vg_stack__fail "nginx rejects its configuration"; return 1; }
		# daemon off: nginx stays a child of the caller, its stdio on files
		# so that a bats test that restarts the stack does not wait on it.
		env -i PATH=/usr/bin:/bin /usr/sbin/nginx -p "$d" -c "$d/nginx.conf" \
			</dev/null >>"$d/logs/nginx.out" 2>&1 3>&- &
		echo $! >"$d/pids/nginx.pid"
		;;
	apache | apache-fcgid)
		local vhost=vega-apache.conf.in extra=proxy_fcgi
		if [ "$kind" = apache-fcgid ]; then
			vhost=vega-apache-fcgid.conf.in
			extra=fcgid
			vg_stack__fcgid_env >"$d/fcgid-env.conf"
			: >"$d/fcgid-proxy-env.conf"
			common+=(PKGLIBEXECDIR="$VG_STACK_PROGDIR" FCGID_ENV="$d/fcgid-env.conf"
				PROXY_FCGID_ENV="$d/fcgid-proxy-env.conf"
				FCGI_PROCESSES="$VG_STACK_PROCESSES")
		fi
		vg_stack__render -o "$d/vega-apache.conf" "$VEGA_SRCDIR/httpd/$vhost" \
			"${common[@]}" || return 1
		vg_stack__render -o "$d/apache.conf" "$VEGA_SRCDIR/httpd/apache-standalone.conf.in" \
			PREFIX="$d" MODULES=/usr/lib/apache2/modules LISTEN="127.0.0.1:$port" \
			USER="$user" GROUP="$group" EXTRA_MODULE="$extra" \
			VHOST="$d/vega-apache.conf" || return 1
		env -i PATH=/usr/bin:/bin /usr/sbin/apache2 -t -f "$d/apache.conf" \
			>>"$d/logs/apache-test.log" 2>&1 ||
			{ vg_stack__fail "apache2 rejects its configuration"; return 1; }
		env -i PATH=/usr/bin:/bin /usr/sbin/apache2 -f "$d/apache.conf" -k start \
			</dev/null >>"$d/logs/apache.out" 2>&1 3>&- ||
			{ vg_stack__fail "apache2 did not start"; return 1; }
		;;
	esac

	{
		echo "export VEGA_TEST_URL=http://127.0.0.1:$port"
		echo "export VEGA_TEST_PROXY_URL=http://127.0.0.1:$pport"
		echo "export VG_STACK_KIND=$kind"
		echo "export VG_STACK_DIR=$d"
		echo "export VG_STACK_LOGDIR=$d/logs"
		echo "export VG_STACK_PROGDIR=$VG_STACK_PROGDIR"
	} >"$d/env"
	vg_stack_env
	if ! vg_stack__wait_http "$VEGA_TEST_URL/v1/healthz"; then
		vg_stack__fail "$kind: no answer from $VEGA_TEST_URL/v1/healthz"
		return 1
	fi
	if ! vg_stack__wait_http "$VEGA_TEST_PROXY_URL/v1/healthz"; then
		vg_stack__fail "$kind: no answer from $VEGA_TEST_PROXY_URL/v1/healthz"
		return 1
	fi
	return 0
}

vg_stack_env() {
	local d
	d=$(vg_stack__dir)
	[ -r "$d/env" ] || return 1
	# shellcheck source=/dev/null
	. "$d/env"
}

# Whether pid is a live process (a zombie is not: where init does not reap
# orphans, stopped daemons linger as zombies).
vg_stack__alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}

vg_stack_pids() {
	local d f pid
	d=$(vg_stack__dir)
	{
		for f in "$d"/pids/*.pid "$d"/httpd.pid; do
			[ -r "$f" ] || continue
			while read -r pid || [ -n "$pid" ]; do
				case $pid in '' | *[!0-9]*) continue ;; esac
				vg_stack__alive "$pid" || continue
				echo "$pid"
				# Its children: nginx workers, Apache children, the
				# programs mod_fcgid started.
				vg_stack__descendants "$pid"
			done <"$f"
		done
	} | sort -u
}

vg_stack__descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		vg_stack__alive "$c" && echo "$c"
		vg_stack__descendants "$c"
	done
}

vg_stack_stop() {
	local d kind pid f i left
	d=$(vg_stack__dir)
	[ -d "$d/pids" ] || return 0
	kind=$(cat "$d/kind" 2>/dev/null)
	# Remember every process now, children included: once a master is
	# gone its orphans can no longer be found through it.
	vg_stack_pids >"$d/pids/all.pid"
	case $kind in
	nginx)
		[ -r "$d/pids/nginx.pid" ] && read -r pid <"$d/pids/nginx.pid" &&
			vg_stack__alive "$pid" && kill -QUIT "$pid" 2>/dev/null
		;;
	apache | apache-fcgid)
		if [ -r "$d/httpd.pid" ] && [ -r "$d/apache.conf" ]; then
			env -i PATH=/usr/bin:/bin /usr/sbin/apache2 -f "$d/apache.conf" -k stop \
				>>"$d/logs/apache.out" 2>&1
		fi
		;;
	esac
	for f in "$d"/pids/vega-*.pid; do
		[ -r "$f" ] || continue
		while read -r pid || [ -n "$pid" ]; do
			case $pid in '' | *[!0-9]*) continue ;; esac
			vg_stack__alive "$pid" && kill -TERM "$pid" 2>/dev/null
		done <"$f"
	done
	# Give them 10 s, then kill what is left of ours, by pid.
	for i in $(seq 1 100); do
		[ -z "$(vg_stack_pids)" ] && break
		sleep 0.1
	done
	left=$(vg_stack_pids)
	if [ -n "$left" ]; then
		echo "stack.sh: killing what did not stop: $left" >&2
		kill -KILL $left 2>/dev/null
		for i in $(seq 1 50); do
			left=$(vg_stack_pids)
			[ -z "$left" ] && break
			sleep 0.1
		done
	fi
	[ -z "$left" ] || return 1
	rm -f "$d"/pids/*.pid "$d/httpd.pid" "$d/env"
	return 0
}
