#!/usr/bin/env bats
# The systemd units, rendered with paths that exist on this machine (the
# build tree's programs), pass `systemd-analyze verify` and keep their
# hardening and the provider key's isolation.

UNITS="vega-fcgi@.service vega-llm-proxy.service vega-worker.service
vega-maintenance.service vega-maintenance.timer vega.target"

setup() {
	T=$BATS_TEST_TMPDIR
	D=$T/units
	mkdir -p "$D"
	local f
	for f in $UNITS vega.tmpfiles vega.sysusers; do
		"$VEGA_SRCDIR/httpd/render" -o "$D/$f" "$VEGA_SRCDIR/systemd/$f.in" \
			RUNDIR=/run/vega PROXY_RUNDIR=/run/vega-llm SYSCONFDIR=/etc \
			PKGDATADIR=/usr/share/vega PKGLIBEXECDIR="$VEGA_BUILDDIR/cgi" \
			BINDIR="$VEGA_BUILDDIR/bin" SBINDIR="$VEGA_BUILDDIR/bin" \
			VEGA_DATA_DIR=/var/lib/vega SPAWN_FCGI="$(command -v spawn-fcgi)" \
			SYSTEMD_CAT="$(command -v systemd-cat)" WEB_GROUP=www-data
	done
}

# The value(s) of KEY= in unit file $1.
prop() {
	sed -n "s/^$2=//p" "$D/$1"
}

@test "systemd-analyze verify accepts every unit, without a warning" {
	cd "$D"
	run systemd-analyze verify --man=no ./vega-fcgi@vega-auth.service \
		./vega-fcgi@vega-ops.service ./vega-llm-proxy.service ./vega-worker.service \
		./vega-maintenance.service ./vega-maintenance.timer ./vega.target
	echo "$output"
	[ "$status" = 0 ]
	[ -z "$output" ]
}

@test "a misspelt setting makes verify complain (the check can fail)" {
	cd "$D"
	sed -i 's/^ProtectSystem=strict/ProtectSystem=stirct/' vega-maintenance.service
	run systemd-analyze verify --man=no ./vega-maintenance.service
	[ -n "$output" ]
}

@test "every service runs hardened, as its own unprivileged user" {
	local u
	for u in vega-fcgi@.service vega-llm-proxy.service vega-worker.service vega-maintenance.service; do
		[ "$(prop $u NoNewPrivileges)" = yes ]
		[ "$(prop $u ProtectSystem)" = strict ]
		[ "$(prop $u ProtectHome)" = yes ]
		[ "$(prop $u PrivateTmp)" = yes ]
		[ "$(prop $u CapabilityBoundingSet)" = "" ]
		[ -n "$(prop $u RestrictAddressFamilies)" ]
		[ -n "$(prop $u ReadWritePaths)" ]
		case $(prop $u User) in vega | vega-llm) ;; *) echo "$u: user $(prop $u User)"; false ;; esac
	done
	for u in vega-fcgi@.service vega-worker.service vega-maintenance.service; do
		[ "$(prop $u EnvironmentFile)" = /etc/vega/vega.env ]
		[ "$(prop $u ReadWritePaths)" = "/var/lib/vega" ] ||
			[ "$(prop $u ReadWritePaths)" = "/var/lib/vega /run/vega" ]
	done
}

@test "systemd rates every service's exposure as OK (below 2.0)" {
	local u
	cd "$D"
	for u in vega-fcgi@vega-auth.service vega-llm-proxy.service vega-worker.service vega-maintenance.service; do
		run systemd-analyze security --offline=yes --threshold=20 "./$u"
		echo "$u: ${lines[-1]}"
		[ "$status" = 0 ]
	done
}

@test "only the LLM proxy's unit gets the provider key, as a credential, under its own user" {
	[ "$(prop vega-llm-proxy.service User)" = vega-llm ]
	prop vega-llm-proxy.service LoadCredential | grep -q '^llm-provider-key:/etc/vega/llm-provider.key$'
	local u
	for u in vega-fcgi@.service vega-worker.service vega-maintenance.service; do
		[ "$(prop $u User)" = vega ]
		if grep -q -e LoadCredential -e llm-provider -e API_KEY "$D/$u"; then
			echo "$u mentions the key"; false
		fi
		[ "$(prop $u User)" != "$(prop vega-llm-proxy.service User)" ]
	done
	# The proxy's socket directory is not the API's.
	[[ $(prop vega-llm-proxy.service ExecStart) == *" -s /run/vega-llm/vega-llm-proxy.sock "* ]]
	if grep -q '/run/vega-llm' "$D/vega-fcgi@.service"; then false; fi
}

@test "spawn-fcgi starts the instance's program on its socket under /run/vega" {
	local x
	x=$(prop vega-fcgi@.service ExecStart)
	[[ $x == *"spawn-fcgi -s /run/vega/%i.sock -M 0660 -F \${FCGI_PROCESSES} "* ]]
	[[ $x == *" -- $(command -v systemd-cat) --identifier=%i $VEGA_BUILDDIR/cgi/%i.fcgi" ]]
	[ "$(prop vega-fcgi@.service Type)" = forking ]
	[ "$(prop vega-fcgi@.service PIDFile)" = /run/vega/%i.pid ]
}

@test "the maintenance timer runs the maintenance service daily" {
	[ "$(prop vega-maintenance.timer OnCalendar)" = daily ]
	[ "$(prop vega-maintenance.timer Persistent)" = true ]
	[ "$(prop vega-maintenance.service Type)" = oneshot ]
}

@test "the tmpfiles and sysusers entries create the users and directories the units use" {
	grep -Eq '^d /run/vega +2750 vega +www-data' "$D/vega.tmpfiles"
	grep -Eq '^d /run/vega-llm +2750 vega-llm +www-data' "$D/vega.tmpfiles"
	grep -Eq '^d /var/lib/vega +0750 vega +vega' "$D/vega.tmpfiles"
	grep -Eq '^u vega ' "$D/vega.sysusers"
	grep -Eq '^u vega-llm ' "$D/vega.sysusers"
}
