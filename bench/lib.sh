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
