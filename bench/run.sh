#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh VARIANT MODE: boot VARIANT's kernel under QEMU (TCG, -cpu max, so
# KVM works inside) and run MODE in the guest: check, bench, demo, shell or
# run.
# The console log is kept in a file whose path is printed.  Exit status:
# 0 when the guest reported "done", 1 otherwise (crash, hang, no verdict).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: run.sh VARIANT MODE}
mode=${2:?usage: run.sh VARIANT MODE}
TIMEOUT=${GUEST_TIMEOUT:-600}

kernel=$("$BENCH_DIR/kernel.sh" image "$variant")
[ -f "$kernel" ] || die "$variant: no kernel at $kernel; run 'bench/kernel.sh build $variant'"
initrd=$("$BENCH_DIR/initramfs.sh" "$variant") || exit 1
log="$BENCH_LOGDIR/guest-$KLINE-$variant-$mode.log"
# A WARN ends the run (GUEST_PANIC_ON_WARN=0 only where a kernel's known
# WARN must be reported rather than fatal; the log still shows every one).
panic="panic=-1 oops=panic panic_on_warn=${GUEST_PANIC_ON_WARN:-1} softlockup_panic=1"

case "$variant" in
*-ppc64)
	[ "$mode" = check ] || die "$variant: only 'check' runs on the ppc64 guest"
	command -v qemu-system-ppc64 >/dev/null ||
		die "qemu-system-ppc64 not found; run bench/deps.sh as root"
	step "$variant: booting linux $KLINE (pseries, $mode), timeout ${TIMEOUT}s, console log: $log"
	# pseries with KVM PR inside; the e1000 (no driver in the guest) is
	# the PCI device /init binds to vfio-pci, in iommu group 0.
	rc=0
	timeout --foreground "$TIMEOUT" qemu-system-ppc64 -M pseries,usb=off \
		-cpu POWER9 -accel tcg,thread=multi -m 2G -smp 2 \
		-nodefaults -no-reboot -display none -serial mon:stdio \
		-device e1000,romfile= -kernel "$kernel" -initrd "$initrd" \
		-append "console=hvc0 disable_radix $panic ${GUEST_CMDLINE:-}" \
		</dev/null >"$log" 2>&1 || rc=$?
	# Power-off and a panic both end QEMU with 0: "done" tells them apart.
	if [ $rc -eq 0 ] && tr -d '\r' <"$log" | grep -qx '# kvm-vfio-guest: done'; then
		exit 0
	fi
	case $rc in
	124) echo "ERROR: $variant: guest did not finish within ${TIMEOUT}s (hang); console log: $log" >&2 ;;
	0) echo "ERROR: $variant: guest panicked or stopped before reporting; console log: $log" >&2 ;;
	*) echo "ERROR: $variant: QEMU exited $rc without a verdict; console log: $log" >&2 ;;
	esac
	tail -n 15 "$log" | sed 's/^/    /' >&2
	exit 1 ;;
esac

command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found; run bench/deps.sh as root"
step "$variant: booting linux $KLINE ($mode), timeout ${TIMEOUT}s, console log: $log"
cmdline="console=ttyS0 $panic"
# The emulated Intel IOMMU translates only for the VFIO devices; the rest
# (virtio-9p) stay identity-mapped.
cmdline+=" intel_iommu=on iommu=pt"
# A QEMU with iommufd for the real-client test, run from the host's root.
qemu_fd=$("$BENCH_DIR/qemu-iommufd.sh")
cmdline+=" kvmvfio.mode=$mode ${qemu_fd:+kvmvfio.qemu=$qemu_fd} ${GUEST_CMDLINE:-}"
# Kernel messages would drown the narration; a WARN still panics the guest.
[ "$mode" = check ] || cmdline+=" quiet loglevel=3"
# q35 with an Intel IOMMU that enforces snooping (snoop-control=on), and
# QEMU's edu device behind it: the guest's cache-coherent VFIO device.
# The host's root, read-only over 9p, lets the guest run the host's QEMU.
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2G
      -machine q35 -nodefaults -no-reboot -display none -serial mon:stdio
      -device intel-iommu,snoop-control=on,intremap=off
      -device edu
      -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
      -device isa-debug-exit,iobase=0x501,iosize=1
      -kernel "$kernel" -initrd "$initrd" -append "$cmdline")

rc=0
if [ "$mode" = shell ]; then
	"${qemu[@]}"
	exit 0
elif [ "$mode" = check ]; then
	# Quiet: the log is parsed afterwards.
	timeout --foreground "$TIMEOUT" "${qemu[@]}" </dev/null >"$log" 2>&1 ||
		rc=$?
else
	timeout --foreground "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 |
		tee "$log" | tr -d '\r' | grep --line-buffered -v '^# kvm-vfio-guest' ||
		rc=${PIPESTATUS[0]}
fi

case $rc in
3)	# qemu-exit 1: the guest ran to its end
	if [ "$mode" = run ]; then
		st=$(tr -d '\r' <"$log" | sed -n 's/^# kvm-vfio-guest: program exited //p' | tail -1)
		echo "run-guest: program exited ${st:-?}; console log: $log"
		exit "${st:-1}"
	fi
	exit 0 ;;
124) echo "ERROR: $variant: guest did not finish within ${TIMEOUT}s (hang); console log: $log" >&2 ;;
0) echo "ERROR: $variant: guest rebooted or panicked before reporting; console log: $log" >&2 ;;
5) echo "ERROR: $variant: guest could not set up its fixtures (mtty); console log: $log" >&2 ;;
*) echo "ERROR: $variant: QEMU exited $rc without a verdict; console log: $log" >&2 ;;
esac
tail -n 15 "$log" | sed 's/^/    /' >&2
exit 1
