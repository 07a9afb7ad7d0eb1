# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the bench scripts.  Sourced, not run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
KVM_VFIO_CACHE=${KVM_VFIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-vfio}
BENCH_LOGDIR=${BENCH_LOGDIR:-$KVM_VFIO_CACHE/logs}
KLINE=${KLINE:-6.12}
mkdir -p "$KVM_VFIO_CACHE" "$BENCH_LOGDIR"

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# need_space DIR MIB: fail early with a clear message when DIR is short.
need_space() {
	local avail
	avail=$(df -Pm "$1" | awk 'NR==2 {print $4}')
	[ "$avail" -ge "$2" ] ||
		die "only ${avail} MiB free under $1, need $2 MiB; free some space or set KVM_VFIO_CACHE to a larger disk"
}

# A command that fails where no check expected it still says where.
trap 'die "$(basename "$0"): unexpected failure at line $LINENO (exit $?)"' ERR
# A step that already said what failed: pass its status on without a second
# message.  Usage: quiet_fail command...
quiet_fail() { "$@" || exit $?; }

# apt_fetch SUITE DIR LOG PKG=VERSION...: download pinned packages of another
# Debian suite into DIR without touching the machine's apt sources or
# installed packages: a separate apt configuration under the cache, with the
# mirror URI read from the machine's own sources.  Returns non-zero (and
# says why on stderr) when a package cannot be had.
apt_fetch() {
	local suite=$1 dir=$2 log=$3 apt uri src=/etc/apt/sources.list.d/debian.sources
	shift 3
	apt="$KVM_VFIO_CACHE/apt/$suite"
	[ -f "$src" ] && uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
	[ -n "${uri:-}" ] || uri=$(awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	if [ -z "$uri" ]; then
		echo "no Debian mirror URI in $src or /etc/apt/sources.list" >&2
		return 1
	fi
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dir"
	echo "deb $uri $suite main" >"$apt/sources.list"
	local opts=(-o Dir::Etc::sourcelist="$apt/sources.list"
		    -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt/lists"
		    -o Dir::Cache::archives="$apt/archives"
		    -o APT::Sandbox::User=root)
	if ! apt-get "${opts[@]}" update >"$log" 2>&1; then
		echo "apt-get update of $suite from $uri failed (see $log)" >&2
		return 1
	fi
	if ! (cd "$dir" && apt-get "${opts[@]}" download "$@") >>"$log" 2>&1; then
		echo "$* not in $suite (see $log; 'apt-cache policy' with that configuration lists what is)" >&2
		return 1
	fi
}
