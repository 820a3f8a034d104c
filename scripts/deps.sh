#!/bin/sh
# Install the Debian packages chaintop needs to build, test and run the demo (clang and
# libexpat1-dev: the libFuzzer harnesses of `make fuzz`; time: peak memory in the hostile-server
# test; nodejs and npm: Xen Orchestra's xen-api client loads the simulator in a test; jq,
# sqlite3 and python3-yaml: the tests read JSON output, the job history and the alert rules).
# As root: installs what is missing with apt-get. Otherwise: prints the exact command.
set -eu
PKGS="build-essential pkg-config libncurses-dev libcurl4-openssl-dev
libxmlrpc-core-c3-dev libconfig-dev libsqlite3-dev libjansson-dev libssl-dev check
zlib1g-dev libzstd-dev libxxhash-dev
python3 python3-yaml tmux openssl curl procps time jq sqlite3 clang libexpat1-dev"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# node and npm by command, not by package: a Node.js from another source (NodeSource's
# nodejs bundles npm) conflicts with Debian's npm package and serves the test as well.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "deps: missing Debian packages. Run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
