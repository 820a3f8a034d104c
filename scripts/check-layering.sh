#!/bin/sh
# check-layering: who may include whom (docs/architecture.md).
# Folders of src/, lowest first; a file may include headers of its own folder and of the
# folders below it, never above. ui/ sits beside cli/ (it may use the cli's common options),
# src/ never includes ui/ or curses (src/main.c alone wires the console in), and ui/rows.c,
# the console's row model, is curses-free so unit tests can drive it. model/model_int.h, the
# model's private layout (keys, digests, tables), is for src/model and src/engine alone.
# Exit 1 with one line per violation: file, line, include, and the rule it breaks.
cd "$(dirname "$0")/.." || exit 2
layers="lib model config xapi engine watch jobs output cli"
rank() { # folder -> rank (ui beside cli, main on top); empty when unknown
	i=0
	for l in $layers; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done
	case $1 in ui) echo 8 ;; main) echo 9 ;; esac
}
folder_of() { # path of a source file -> its layer folder
	case $1 in
	src/main.c) echo main ;;
	src/*/*) p=${1#src/}; echo "${p%%/*}" ;;
	ui/*) echo ui ;;
	*) echo "" ;;
	esac
}
bad=0
for f in $(find src ui -name '*.[ch]' | sort); do
	from=$(folder_of "$f")
	r=$(rank "$from")
	if [ -z "$r" ]; then
		echo "check-layering: $f is in no layer folder (src/{$layers}/ or ui/)" >&2
		bad=1; continue
	fi
	grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$f" | while IFS= read -r line; do
		n=${line%%:*}
		inc=$(printf '%s' "$line" | sed -E 's/.*include[[:space:]]*[<"]([^">]+)[">].*/\1/')
		case $line in *'<'*) sys=1 ;; *) sys=0 ;; esac
		case $inc in
		curses.h|ncurses.h|ncursesw/*|term.h|panel.h|menu.h|form.h)
			if [ "$from" != ui ] || [ "$f" = ui/rows.c ] || [ "$f" = ui/rows.h ]; then
				echo "$f:$n: includes <$inc>: only ui/ draws, and ui/rows.[ch] stay curses-free"
			fi ;;
		*/*)
			[ $sys = 1 ] && continue  # <sys/stat.h>, <openssl/ssl.h>, ...
			to=${inc%%/*}
			t=$(rank "$to")
			[ -z "$t" ] && { echo "$f:$n: includes \"$inc\": $to/ is no layer folder"; continue; }
			if [ "$inc" = model/model_int.h ] && [ "$from" != model ] && [ "$from" != engine ]; then
				echo "$f:$n: includes \"$inc\": the model's private layout is for src/model and the chain engine only"
			elif [ "$to" = ui ] && [ "$from" != ui ] && [ "$from" != main ]; then
				echo "$f:$n: includes \"$inc\": nothing under src/ but main.c uses the console"
			elif [ "$t" -gt "$r" ] || { [ "$from" = cli ] && [ "$to" = ui ]; }; then
				echo "$f:$n: includes \"$inc\": $from/ may not use $to/, which sits above it"
			fi ;;
		*)
			# a quoted bare name: a header of the file's own folder
			d=$(dirname "$f")
			[ $sys = 1 ] || [ -f "$d/$inc" ] ||
				echo "$f:$n: includes \"$inc\", which is not in $d/: name its folder (\"lib/util.h\")" ;;
		esac
	done
done | { out=$(cat); [ -n "$out" ] && { echo "$out" >&2; echo "check-layering: the include rules above are broken (scripts/check-layering.sh)" >&2; exit 1; }; exit 0; } || bad=1
exit $bad
