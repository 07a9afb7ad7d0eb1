#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvm_vfio_qemu_test.sh: a real VMM as the client of the KVM-VFIO device.
#
# Runs the host's own qemu-system-x86_64 (the host's root is shared
# read-only over 9p with mount tag "host"; the test guest has nested KVM)
# with a VFIO device assigned through vfio-pci: the mtty mdev, or without
# one (a distribution's kernel) the first PCI device bound to vfio-pci.
# It checks from outside QEMU, with trace events where the kernel has
# ours, that:
#   - QEMU's ADD reached the device before QEMU opened the VFIO device
#     (kvm_vfio:kvm_vfio_file_add before a kprobe on vfio_df_open), so the
#     driver saw the kvm;
#   - when QEMU exits, every reference is dropped: the device is released
#     with its files (kvm_vfio:kvm_vfio_release) and the group can be
#     opened again (a VFIO group is open only once at a time).
# The legacy container path with the host's QEMU; the iommufd cdev path
# with the QEMU named by $KVM_VFIO_QEMU_IOMMUFD (a path in the host's root:
# the one bench/qemu-iommufd.sh unpacked from bookworm-backports, which it
# checked for -object iommufd), else with the host's QEMU if it has
# -object iommufd, else SKIP with the reason.  Under TCG each QEMU start
# costs tens of seconds, so each path starts QEMU once: the version comes
# from that run's monitor.
# Output is KTAP; each run's QEMU output and trace are printed as
# diagnostics.
#
# On a kernel whose KVM-VFIO device is a module, KVM_VFIO_AUTOLOAD=<module>
# runs each QEMU with the module unloaded: QEMU's KVM_CREATE_DEVICE must
# load it (case *_autoloaded).  The module's trace events do not exist
# before it loads, so the ADD and release cases read kprobes on its
# functions instead (kprobe events on a module wait for it to load).
#
# Needs: $MTTY_UUID (the mdev) or a device bound to vfio-pci, tracefs with
# kprobe events, /dev/kvm; the iommufd path also /dev/iommu and the
# device's cdev.

T=/sys/kernel/tracing
HOST=/host
KP=kvm_vfio_qemu
NO_EVENTS="feature absent: no kvm_vfio trace events in this kernel"
QEMU_TIMEOUT=${QEMU_TIMEOUT:-240}
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
# check NAME CONDITION...: one case from a shell condition.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

AUTOLOAD=${KVM_VFIO_AUTOLOAD:-}
echo "TAP version 13"
echo "1..$([ -n "$AUTOLOAD" ] && echo 10 || echo 8)"

skip_all() {
	for c in legacy_qemu_exits_cleanly ${AUTOLOAD:+legacy_autoloaded} \
		legacy_add_before_open legacy_release_event \
		legacy_group_reopens iommufd_qemu_exits_cleanly \
		${AUTOLOAD:+iommufd_autoloaded} iommufd_add_before_open \
		iommufd_release_event iommufd_cdev_unused; do
		skip "$c" "$1"
	done
	exit 0
}

# ---- setup: the host's root, tracing ------------------------------------

# The device: its sysfs path, which QEMU's vfio-pci takes as sysfsdev.
if [ -n "$MTTY_UUID" ] && [ -e "/sys/bus/mdev/devices/$MTTY_UUID" ]; then
	SYSDEV=/sys/bus/mdev/devices/$MTTY_UUID
else
	SYSDEV=
	for d in /sys/bus/pci/drivers/vfio-pci/*:*:*.*; do
		[ -e "$d" ] && SYSDEV=/sys/bus/pci/devices/${d##*/} && break
	done
	[ -n "$SYSDEV" ] ||
		skip_all "no VFIO device: no mtty mdev (MTTY_UUID), no PCI device bound to vfio-pci"
fi
echo "# the device: $SYSDEV"
[ -e /dev/kvm ] || skip_all "no /dev/kvm"
[ -w $T/kprobe_events ] || skip_all "no kprobe events in $T"
if [ ! -x $HOST/usr/bin/qemu-system-x86_64 ]; then
	mkdir -p $HOST
	# cache=loose: the second QEMU start reads the binary and its
	# libraries from the page cache, not again over 9p (the host's root is
	# read-only, so nothing cached goes stale); a large msize for the first.
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 \
		host $HOST 2>/dev/null ||
		skip_all "no host root over 9p (run.sh adds -virtfs ... mount_tag=host)"
	for d in proc sys dev tmp run; do
		[ -d $HOST/$d ] || skip_all "host root has no /$d"
	done
	mount -t proc none $HOST/proc &&
	mount -t sysfs none $HOST/sys &&
	mount -t devtmpfs none $HOST/dev &&
	mount -t tmpfs none $HOST/tmp &&
	mount -t tmpfs none $HOST/run ||
		skip_all "cannot mount proc, sys, dev, tmp and run in $HOST"
fi
[ -x $HOST/usr/bin/qemu-system-x86_64 ] ||
	skip_all "the host has no qemu-system-x86_64"

our_events=
[ -d $T/events/kvm_vfio ] && our_events=1
# The module's functions, probed before it loads (autoload mode).
ADD_RE="kvm_vfio_file_add: .* kind KIND ret 0"
REL_RE='kvm_vfio_release: .* files 1$'
if [ -n "$AUTOLOAD" ]; then
	our_events=1
	ADD_RE="kvm_vfio_set_attr: "
	REL_RE="kvm_vfio_release: "
fi
GROUP=$(basename "$(readlink "$SYSDEV/iommu_group")")

trace_start() {
	echo 0 > $T/tracing_on
	echo 0 2>/dev/null > $T/events/$KP/enable
	echo > $T/kprobe_events
	# Only the ADD-before-open case reads it (and 6.1 has no vfio_df_open).
	[ -z "$our_events" ] ||
		echo "p:$KP/vfio_df_open vfio_df_open" >> $T/kprobe_events ||
		return 1
	if [ -n "$AUTOLOAD" ]; then
		for f in kvm_vfio_set_attr kvm_vfio_release; do
			echo "p:$KP/$f $AUTOLOAD:$f" >> $T/kprobe_events ||
				return 1
		done
	fi
	[ -z "$(cat $T/kprobe_events)" ] || echo 1 > $T/events/$KP/enable ||
		return 1
	[ -z "$our_events" ] || [ -n "$AUTOLOAD" ] ||
		echo 1 > $T/events/kvm_vfio/enable || return 1
	echo > $T/trace
	echo 1 > $T/tracing_on
}

# Stop and keep the trace in $TRACE: removing a kprobe event resets the
# ring buffer.
TRACE=/tmp/kvm_vfio_qemu.trace
trace_stop() {
	echo 0 > $T/tracing_on
	grep -v '^#' $T/trace > $TRACE
	[ ! -d $T/events/$KP ] || echo 0 > $T/events/$KP/enable
	[ -z "$our_events" ] || [ -n "$AUTOLOAD" ] ||
		echo 0 > $T/events/kvm_vfio/enable
	echo > $T/kprobe_events
}

# Line number in the trace of the first line matching the regex $1, or 0.
first_line() {
	grep -n -m1 -E "$1" $TRACE | cut -d: -f1 | grep . || echo 0
}

# qemu_version QEMU: the version of the QEMU binary QEMU (host path).
qemu_version() {
	chroot $HOST "$1" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'
}

# run_qemu NAME QEMU ARGS...: QEMU (a path in the host's root) with the
# device, quit from the monitor once the machine is built (the device is
# realized, so opened, by then).
run_qemu() {
	name=$1
	qemu=$2
	shift 2
	# Nothing of an earlier run may answer for this one.
	qemu_rc=1
	refcnt=
	: > $TRACE
	if [ -n "$AUTOLOAD" ]; then
		[ ! -d /sys/module/$AUTOLOAD ] || rmmod $AUTOLOAD ||
			echo "# $name: could not unload $AUTOLOAD"
		loaded_before=$([ -d /sys/module/$AUTOLOAD ] && echo 1)
	fi
	if ! trace_start; then
		echo "# $name: the trace could not be started; QEMU not run"
		return 1
	fi
	echo "# $name: $qemu $*"
	# A QEMU unpacked outside /usr loads its own modules, if any.
	moddir=$(dirname "$qemu")/../lib/x86_64-linux-gnu/qemu
	[ -d "$HOST$moddir" ] || moddir=
	printf 'info version\ninfo pci\nquit\n' | timeout "$QEMU_TIMEOUT" chroot $HOST \
		env ${moddir:+QEMU_MODULE_DIR=$moddir} \
		"$qemu" -accel kvm -cpu host -m 64 -S -nodefaults \
		-display none -monitor stdio "$@" >/tmp/qemu-$name.log 2>&1
	qemu_rc=$?
	trace_stop
	if [ -n "$AUTOLOAD" ]; then
		refcnt=$(cat /sys/module/$AUTOLOAD/refcnt 2>/dev/null)
		echo "# $name: $AUTOLOAD loaded before QEMU: ${loaded_before:-no}," \
			"after: $([ -n "$refcnt" ] && echo "yes, refcnt $refcnt" || echo no)"
	fi
	echo "# $name: QEMU version $(tr -d '\r' </tmp/qemu-$name.log |
		grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+[^[:cntrl:]]*')"
	sed "s/^/# $name: qemu: /" /tmp/qemu-$name.log | tr -d '\r' | tail -20
	sed "s/^ */# $name: trace: /" $TRACE
	return 0
}

# in_order A B: line A exists and line B comes after it.
in_order() {
	[ "$1" -gt 0 ] && [ "$2" -gt "$1" ]
}

autoloaded() {
	[ -z "$loaded_before" ] && [ "$refcnt" = 0 ]
}

# cases_for PATH KIND: the cases of one QEMU run.
cases_for() {
	path=$1
	kind=$2
	check ${path}_qemu_exits_cleanly [ "$qemu_rc" = 0 ]
	if [ -n "$AUTOLOAD" ]; then
		# Not loaded before QEMU; loaded by it, and unused after it.
		check ${path}_autoloaded autoloaded
	fi
	if [ -n "$our_events" ]; then
		add=$(first_line "$(echo "$ADD_RE" | sed "s/KIND/$kind/")")
		open=$(first_line "vfio_df_open: ")
		echo "# $path: ADD at trace line $add, vfio_df_open at line $open"
		check ${path}_add_before_open in_order "$add" "$open"
		check ${path}_release_event [ "$(first_line "$REL_RE")" -gt 0 ]
	else
		skip ${path}_add_before_open "$NO_EVENTS"
		skip ${path}_release_event "$NO_EVENTS"
	fi
}

# ---- the legacy container path --------------------------------------------

group_reopens() {
	exec 3<>/dev/vfio/$GROUP || return 1
	exec 3>&-
}

run_qemu legacy /usr/bin/qemu-system-x86_64 -device vfio-pci,sysfsdev=$SYSDEV
cases_for legacy group
check legacy_group_reopens group_reopens

# ---- the iommufd cdev path --------------------------------------------------

# The QEMU $KVM_VFIO_QEMU_IOMMUFD names (checked by the bench; if it has no
# iommufd after all, its run fails), else the host's if it has iommufd.
has_iommufd() {
	chroot $HOST "$1" -object help 2>/dev/null | grep -qx ' *iommufd'
}
qemu_fd=${KVM_VFIO_QEMU_IOMMUFD:-}
if [ -z "$qemu_fd" ] || [ ! -x "$HOST$qemu_fd" ]; then
	qemu_fd=/usr/bin/qemu-system-x86_64
	has_iommufd $qemu_fd || qemu_fd=
fi
cdev=
for d in "$SYSDEV"/vfio-dev/vfio*; do
	[ -e "/dev/vfio/devices/${d##*/}" ] && cdev=/dev/vfio/devices/${d##*/}
done
why=
if [ ! -e /dev/iommu ]; then
	why="no /dev/iommu (CONFIG_IOMMUFD)"
elif [ -z "$cdev" ]; then
	why="no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV) for $SYSDEV"
elif [ -z "$qemu_fd" ]; then
	why="the host's QEMU $(qemu_version /usr/bin/qemu-system-x86_64)"
	why="$why has no -object iommufd and bench/qemu-iommufd.sh found none"
fi
if [ -n "$why" ]; then
	skip iommufd_qemu_exits_cleanly "$why"
	[ -z "$AUTOLOAD" ] || skip iommufd_autoloaded "$why"
	skip iommufd_add_before_open "$why"
	skip iommufd_release_event "$why"
	skip iommufd_cdev_unused "$why"
else
	run_qemu iommufd "$qemu_fd" -object iommufd,id=i0 \
		-device vfio-pci,sysfsdev=$SYSDEV,iommufd=i0
	cases_for iommufd device
	# No file of the device is left open anywhere: its group opens again.
	check iommufd_cdev_unused group_reopens
fi
exit $failed
