#!/bin/bash
# UI: a fatal signal (SEGV, BUS, ABRT, FPE, ILL) puts the terminal back (line editing and
# echo on, the alternate screen left, the cursor shown) and the console still dies of that
# signal (exit status 128+N); SIGTERM and SIGHUP close it as `q` does, terminal restored.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_ui.sh"

sim_start lab --scenario coalescing --gc-speed 0 || { fail "simulator starts"; finish; }
write_config "$T_TMP/c.conf" lab "$SIM_URL_lab"

# the console's pid (exec'd by env from the pane's script), not the sh around it
console_pid() {
	pgrep -f -- "-c $T_TMP/c.conf" | while read -r p; do
		[ "$(ps -o comm= -p "$p")" = chaintop ] && echo "$p"
	done | head -n1
}
tty_modes() { stty -a -F "$(ui_tmux display -p -t "$UI_SESSION" '#{pane_tty}')"; }
has_mode() { tty_modes | tr ' ' '\n' | grep -qx -- "$1"; }
alt_screen() { ui_tmux display -p -t "$UI_SESSION" '#{alternate_on}'; }

# Sanitizer builds: the sanitizer's own handlers would report a sent signal as a finding;
# this test wants the console's handler and the default action behind it.
NOSAN="ASAN_OPTIONS=${ASAN_OPTIONS:-}:handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0"

for spec in SEGV:139 BUS:135 ABRT:134 FPE:136 ILL:132; do
	sig=${spec%%:*} want=${spec##*:}
	ui_start "$NOSAN" -- -c "$T_TMP/c.conf"
	ui_check "$sig: console up" "lab: connected"
	pid=$(console_pid)
	[ -n "$pid" ] || { fail "$sig: console pid not found"; continue; }
	if has_mode -icanon && has_mode -echo; then ok "$sig: terminal raw while the console runs"
	else fail "$sig: terminal not raw while running: $(tty_modes | head -n4)"; fi
	kill -s "$sig" "$pid"
	ui_check "$sig: dies of the signal (exit status $want)" "chaintop exited rc=$want"
	if has_mode icanon && has_mode echo && has_mode icrnl && has_mode opost; then
		ok "$sig: line editing and echo restored"
	else
		fail "$sig: terminal left raw: $(tty_modes | head -n4)"
	fi
	assert_eq "$sig: alternate screen left" "$(alt_screen)" "0"
	assert_eq "$sig: cursor shown" "$(ui_tmux display -p -t "$UI_SESSION" '#{cursor_flag}')" "1"
done

for sig in TERM HUP; do
	ui_start -- -c "$T_TMP/c.conf"
	ui_check "$sig: console up" "lab: connected"
	pid=$(console_pid)
	[ -n "$pid" ] || { fail "$sig: console pid not found"; continue; }
	kill -s "$sig" "$pid"
	ui_check "$sig: closes like q" "chaintop exited rc=0"
	if has_mode icanon && has_mode echo; then ok "$sig: terminal restored"
	else fail "$sig: terminal left raw: $(tty_modes | head -n4)"; fi
	assert_eq "$sig: alternate screen left" "$(alt_screen)" "0"
	assert_eq "$sig: nothing on stderr" "$(ui_stderr)" ""
done
finish
