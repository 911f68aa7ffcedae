#!/usr/bin/env bats
# vg_stack_stop leaves nothing of the stack running; the stack starts again
# afterwards.  Run last in a configuration.

load web

setup() {
	# The last test runs after the stop, when there is no stack to find.
	web_setup || true
	VG_STACK_DIR=$(vg_stack__dir)
	VG_STACK_PROGDIR=${VG_STACK_PROGDIR:-$VEGA_BUILDDIR/cgi}
}

# Every live process that belongs to this stack, found without its pid
# files: any process whose command line names the stack's directory (the
# web server), and any of our programs whose environment names this run's
# data directory (the FastCGI processes).
ours() {
	local p st
	{
		pgrep -f -- "$VG_STACK_DIR"
		for p in $(pgrep -f -- "$VG_STACK_PROGDIR/vega-"); do
			tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
				grep -qx "VEGA_DATA_DIR=$VEGA_DATA_DIR" && echo "$p"
		done
	} | sort -u | while read -r p; do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || continue
		case $st in Z*) ;; *) echo "$p" ;; esac
	done
}

@test "no program wrote a sanitizer report or a crash during the run" {
	local hits
	hits=$(cat $(program_logs) | grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|Segmentation fault|double free' || true)
	[ -z "$hits" ] || { echo "$hits" | head -20; false; }
}

@test "the stack's processes are found by pgrep while it runs" {
	[ -n "$(ours)" ]
	[ -n "$(vg_stack_pids)" ]
}

@test "after vg_stack_stop nothing of ours runs and the port is closed" {
	local left
	vg_stack_stop
	left=$(ours)
	[ -z "$left" ] || { ps -o pid,stat,args -p $left; false; }
	[ -z "$(vg_stack_pids)" ]
	run curl -sS --max-time 3 "$U/v1/healthz"
	[ "$status" != 0 ]
	run curl -sS --max-time 3 "$P/v1/healthz"
	[ "$status" != 0 ]
	# A second stop is harmless.
	vg_stack_stop
}

@test "the stack starts again after a stop" {
	vg_stack_start "$VG_E2E_HTTPD"
	req GET "$VEGA_TEST_URL/v1/healthz"
	assert_code 200
	[ -n "$(ours)" ]
}
