# tests/ui/lib_ui.sh - drive the console in a private tmux server. Source after tests/lib.sh.
#   ui_start [env VAR=...] ARGS...  run chaintop ARGS in a 120x40 tmux session; when it exits
#                                   the pane prints "chaintop exited rc=N" and stays open
#   ui_screen [-e]                  the pane as text (-e: with colour/attribute escapes)
#   ui_keys KEYS...                 tmux send-keys
#   ui_wait SECONDS TEXT            wait until TEXT is on screen
#   ui_wait_gone SECONDS TEXT       wait until TEXT is no longer on screen
#   ui_resize COLS ROWS
# The tmux server is killed when the test exits.
UI_SOCK_BASE="chaintop-ui-$$-${RANDOM}"
UI_SOCK="$UI_SOCK_BASE-0"
UI_RUNS=0
UI_SESSION=ct
UI_STARTED=0

# Sanitizer builds: ncurses keeps some memory until exit by design (terminfo cache, the
# screen's line buffers); tests/ui/lsan.supp names it, added to the project's list.
if [ -f "$T_ROOT/tests/ui/lsan.supp" ]; then
	cat "$T_ROOT/tests/lsan.supp" "$T_ROOT/tests/ui/lsan.supp" >"$T_TMP/lsan.supp" 2>/dev/null
	export LSAN_OPTIONS="suppressions=$T_TMP/lsan.supp:print_suppressions=0"
fi

ui_tmux() { tmux -L "$UI_SOCK" -f /dev/null "$@"; }

ui_cleanup() {
	if [ "$UI_STARTED" -eq 1 ]; then
		ui_tmux kill-server 2>/dev/null
		rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$UI_SOCK"
	fi
	UI_STARTED=0
}
trap 'ui_cleanup; t_cleanup' EXIT

# ui_start [VAR=value ...] -- chaintop args...
ui_start() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	{
		echo '#!/bin/sh'
		printf 'exec env '
		printf '%q ' LANG="${UI_LANG:-C.UTF-8}" LC_ALL="${UI_LANG:-C.UTF-8}" \
			CHAINTOP_TEST_PASSWORD="$CHAINTOP_TEST_PASSWORD" XDG_STATE_HOME="$XDG_STATE_HOME" \
			XDG_CONFIG_HOME="$XDG_CONFIG_HOME" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
			LSAN_OPTIONS="${LSAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
			"${envs[@]}" "$CHAINTOP" "$@"
		echo '2>"$0.stderr"'
	} >"$T_TMP/ui-run.sh"
	ui_cleanup
	UI_RUNS=$((UI_RUNS + 1))
	UI_SOCK="$UI_SOCK_BASE-$UI_RUNS"   # a fresh server each time: no race with the old one's exit
	ui_tmux new-session -d -s "$UI_SESSION" -x "${UI_COLS:-120}" -y "${UI_ROWS:-40}" \
		"sh $T_TMP/ui-run.sh; echo \"chaintop exited rc=\$?\"; exec sleep 600" || return 1
	ui_tmux set-option -t "$UI_SESSION" status off >/dev/null
	UI_STARTED=1
}
# what chaintop wrote to stderr (sanitizer reports end up here)
ui_stderr() { cat "$T_TMP/ui-run.sh.stderr" 2>/dev/null; }

ui_screen() { ui_tmux capture-pane -p "$@" -t "$UI_SESSION" 2>/dev/null; }
ui_keys() { ui_tmux send-keys -t "$UI_SESSION" "$@"; }
ui_has() { ui_screen | grep -qF -- "$1"; }
ui_lacks() { ! ui_screen | grep -qF -- "$1"; }
ui_wait() { wait_for "$1" ui_has "$2"; }
ui_wait_gone() { wait_for "$1" ui_lacks "$2"; }
ui_resize() { ui_tmux resize-window -t "$UI_SESSION" -x "$1" -y "$2"; }
ui_pane_size() { ui_tmux display -p -t "$UI_SESSION" '#{pane_width}x#{pane_height}'; }
# ui_check "what" TEXT: ok if TEXT is on screen within 15 s, else fail with the screen
ui_check() {
	if ui_wait "${3:-15}" "$2"; then ok "$1"; else fail "$1: [$2] not on screen:"; ui_screen | sed 's/^/    | /'; fi
}
ui_check_gone() {
	if ui_wait_gone "${3:-15}" "$2"; then ok "$1"; else fail "$1: [$2] still on screen:"; ui_screen | sed 's/^/    | /'; fi
}
# the line of the screen holding TEXT
ui_line() { ui_screen "${@:2}" | grep -F -- "$1" | head -n1; }
# the selected row of a list view: "LINE<TAB>text" (the line drawn in the selection colour,
# below the header and tab lines)
ui_selected() {
	local n=0 line plain
	while IFS= read -r line; do
		n=$((n + 1))
		[ $n -le 3 ] && continue
		case "$line" in *$'\e[30m\e[46m'*|*$'\e[7m'*)
			plain=$(sed -E $'s/\e\\[[0-9;]*m//g' <<<"$line")
			printf '%s\t%s\n' "$n" "$plain"; return 0;;
		esac
	done < <(ui_screen -e)
	return 1
}
