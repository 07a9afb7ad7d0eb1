#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the bench needs.  Idempotent: packages that
# are already installed are skipped, and nothing is done when all are.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
	build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils kmod rsync
	ccache sparse python3 python3-docutils perl
	qemu-system-x86 busybox-static gnuplot-nox
	gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross qemu-system-ppc
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
	dkms
	# The upstream selftest: 7.3's KVM selftests link libuuid (static
	# here); git am and format-patch for patches/upstream/.
	uuid-dev git
	linux-source-6.12
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	step "deps: all ${#PKGS[@]} packages present"
	exit 0
fi

[ "$(id -u)" -eq 0 ] ||
	die "deps: missing packages (${missing[*]}) and not root; run 'make check' as root or install them with apt-get"

log="$BENCH_LOGDIR/apt.log"
step "deps: installing ${#missing[@]} packages: ${missing[*]} (log: $log)"
export DEBIAN_FRONTEND=noninteractive
apt-get update >"$log" 2>&1 ||
	die "deps: apt-get update failed; see $log"
apt-get install -y --no-install-recommends \
	-o Dpkg::Progress-Fancy=0 "${missing[@]}" 2>&1 | tee -a "$log" |
	grep --line-buffered -E '^(Unpacking|Setting up) ' | sed -u 's/^/  /' ||
	true
for p in "${missing[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		die "deps: apt-get could not install $p; see $log"
done
step "deps: done"
