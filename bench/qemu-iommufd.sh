#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-iommufd.sh: a QEMU that has -object iommufd, for the iommufd cdev
# path of the real-client test (Debian 12's own QEMU 7.2 has not).
#
# Takes qemu-system-x86 from bookworm-backports without touching the
# machine's apt sources or installed packages: a separate apt
# configuration (mirror URI read from the machine's own sources), 'apt-get
# download' of a pinned version, 'dpkg-deb -x' into the cache.  It runs
# with the libraries of the installed QEMU 7.2 (same dependencies).
# Prints the path of the binary; prints nothing (and says why on stderr)
# when it cannot be had, and the test then SKIPs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=bookworm-backports
VERSION=${QEMU_IOMMUFD_VERSION:-1:10.0.2+ds-2+deb13u1~bpo12+1}
PKGS=(qemu-system-x86 qemu-system-common qemu-system-data)
DEST="$KVM_VFIO_CACHE/qemu/${VERSION//[^A-Za-z0-9.+-]/_}"

if [ -f "$DEST/.done" ]; then
	echo "$DEST/usr/bin/qemu-system-x86_64"
	exit 0
fi

unavailable() {
	printf 'WARNING: %s; the iommufd cdev cases of the QEMU test will SKIP\n' "$*" >&2
	exit 0
}

step "qemu: fetching qemu-system-x86 $VERSION from $SUITE into $DEST"
log="$BENCH_LOGDIR/qemu-iommufd.log"
debs="$KVM_VFIO_CACHE/apt/$SUITE/debs"
rm -rf "$debs"
why=$(apt_fetch "$SUITE" "$debs" "$log" "${PKGS[@]/%/=$VERSION}" 2>&1) ||
	unavailable "$why; set QEMU_IOMMUFD_VERSION to a version $SUITE has"
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
for deb in "$debs"/*.deb; do
	dpkg-deb -x "$deb" "$DEST.tmp"
done
"$DEST.tmp/usr/bin/qemu-system-x86_64" -object help 2>/dev/null |
	grep -qx ' *iommufd' ||
	unavailable "the QEMU fetched does not run here or has no iommufd (see $log)"
touch "$DEST.tmp/.done"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "$DEST/usr/bin/qemu-system-x86_64"
