#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh VARIANT MODE: boot the kernel KLINE-VARIANT of bench/variants
# under QEMU (TCG; the machine is its architecture's, bench/arch/) and run
# MODE in the guest: check, bench, demo, shell or run.
#
# The console log is kept in a file whose path is printed.  Its first line,
# written before QEMU starts, names this run (KVM_VFIO_RUN_ID, or a new
# id), and the guest echoes the same id from its command line: a log
# without both is not this run's.  Exit status: 0 when the guest reported
# "done", 1 otherwise (crash, hang, no verdict).
#
# An oracle kernel (reuse=oracle in bench/variants: the stock kernels) in
# check mode reuses the results of an earlier run whose kernel image,
# initramfs, command line and host QEMU were the same; the log then says
# so.  KVM_VFIO_RERUN=1 forces a new run.
#
# KVM_VFIO_FAILFAST=1 (make mutants) ends a check at its first failed
# case ("not ok"): the verdict fails the cut log as it would the whole
# one, and a mutant killed early costs less.  Not for a stock kernel,
# whose known upstream failures would stop it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: run.sh VARIANT MODE}
mode=${2:?usage: run.sh VARIANT MODE}
variant_load "$KLINE" "$variant"
case " $GUEST_MODES " in
*" $mode "*) ;;
*) die "$variant: mode '$mode' does not run on $KARCH guests (modes: $GUEST_MODES)" ;;
esac
TIMEOUT=${GUEST_TIMEOUT:-$V_TIMEOUT}
RUN_ID=${KVM_VFIO_RUN_ID:-$(date +%s)-$$}
log="$BENCH_LOGDIR/guest-$KLINE-$variant-$mode.log"
rm -f "$log"
t0=$SECONDS

# fail WHY: the log says why this run has no verdict, and so does stderr.
fail() {
	echo "# kvm-vfio-bench: FAILED: $*" >>"$log"
	echo "ERROR: $variant: $*; console log: $log" >&2
	timing "guest $KLINE-$variant" $((SECONDS - t0)) "FAILED: $*"
	exit 1
}

# failfast PID: print the first failed case of the log ("not ok"), if
# one comes while PID (the timeout that runs QEMU) lives.
failfast() {
	local line re='^(\[[ 0-9.]+\])?[[:space:]#]*not ok [0-9]'
	while IFS= read -r line; do
		line=${line%$'\r'}
		[[ $line =~ $re ]] || continue
		printf '%s\n' "$line"
		return 0
	done < <(tail -n +1 -F --pid="$1" "$log" 2>/dev/null)
}

# The strengths asked of the guest's robustness suites: bench/variants,
# or KVM_VFIO_FUZZ, _STRESS, _CYCLES, _RACES (make test and make soak ask
# other amounts); none for a kernel whose row has "-".  The log's first
# line names this run, this kernel and them: the verdict holds the
# figures to what was asked.
declare -A ask=()
if [ "$mode" = check ]; then
	[ "$V_FUZZ" = - ] || ask[fuzz]=${KVM_VFIO_FUZZ:-$V_FUZZ}
	[ "$V_STRESS" = - ] || ask[stress]=${KVM_VFIO_STRESS:-$V_STRESS}
	[ "$V_CYCLES" = - ] || ask[cycles]=${KVM_VFIO_CYCLES:-$V_CYCLES}
	[ "$V_RACES" = - ] || ask[races]=${KVM_VFIO_RACES:-$V_RACES}
fi
asked=
for k in fuzz stress cycles races; do
	[ -z "${ask[$k]:-}" ] || asked+=" $k=${ask[$k]}"
done
echo "# kvm-vfio-bench: run $RUN_ID kernel $KLINE-$variant mode $mode${asked:+ asked$asked}" >"$log"

kernel=$("$BENCH_DIR/kernel.sh" image "$variant")
[ -f "$kernel" ] || fail "no kernel at $kernel; run 'KLINE=$KLINE bench/kernel.sh build $variant'"
# The build this variant's last link made: UTS_VERSION ("#N SMP date"),
# which the booted kernel's banner must end with (booted_as).
out=$("$BENCH_DIR/kernel.sh" out "$variant")
uts=$(sed -n 's/^#define UTS_VERSION "\(.*\)"$/\1/p' \
	"$out/include/generated/utsversion.h" 2>/dev/null || true)
[ "$mode" != check ] || [ -n "$uts" ] ||
	fail "no UTS_VERSION in $out/include/generated/utsversion.h: which build a guest boots cannot be told; run 'KLINE=$KLINE bench/kernel.sh build $variant'"

# banner_of LOG: the first kernel banner ("Linux version ...") of LOG.
banner_of() {
	tr -d '\r' <"$1" | grep -a -m1 -o 'Linux version .*' || true
}

# booted_as LOG: true when the kernel that LOG's console shows booting is
# this variant's last build.  A boot image can hold another build's
# kernel while its own files are new (a stale cached object of the
# compressed kernel did that: kernel.sh, ccache), and its results must
# not pass as this kernel's.
booted_as() {
	local banner
	banner=$(banner_of "$1")
	[ -n "$uts" ] && [[ $banner == *") $uts" ]]
}

initrd=$("$BENCH_DIR/initramfs.sh" "$variant" 2>>"$log") ||
	fail "the initramfs could not be built (see the end of the log)"

# A WARN ends the run (warn=0 in bench/variants only where a kernel's
# known WARN must be reported rather than fatal; the log still shows every
# one).
warn=${GUEST_PANIC_ON_WARN:-$V_WARN}
cmdline="panic=-1 oops=panic panic_on_warn=$warn softlockup_panic=1"
cmdline+=" watchdog_thresh=60 hung_task_panic=1"
cmdline+=" kvmvfio.mode=$mode"
if [ "$KARCH" = x86_64 ]; then
	# A QEMU with iommufd for the real-client test, run from the host's
	# root.
	qemu_fd=$("$BENCH_DIR/qemu-iommufd.sh")
	cmdline+="${qemu_fd:+ kvmvfio.qemu=$qemu_fd}"
fi
# The strengths asked above.
[ -z "${ask[fuzz]:-}" ] || cmdline+=" kvmvfio.fuzz=${ask[fuzz]}"
[ -z "${ask[stress]:-}" ] || cmdline+=" kvmvfio.stress=${ask[stress]}"
[ -z "${ask[cycles]:-}" ] || cmdline+=" kvmvfio.module_cycles=${ask[cycles]}"
[ -z "${ask[races]:-}" ] || cmdline+=" kvmvfio.module_races=${ask[races]}"
# make soak: the per-program timeouts of bench/suites, scaled.
[ -z "${KVM_VFIO_TIMEOUT_SCALE:-}" ] ||
	cmdline+=" kvmvfio.timeout_scale=$KVM_VFIO_TIMEOUT_SCALE"
cmdline+="${GUEST_CMDLINE:+ $GUEST_CMDLINE}"
# Kernel messages would drown the narration; a WARN still panics the guest.
[ "$mode" = check ] || cmdline+=" quiet loglevel=3"

# Debian's kernels patch their own code at run time (jump labels, static
# calls): under multi-threaded TCG they die of an Oops on an int3 in
# __schedule() while KVM flips a static key (3 runs of 3 in December
# 2026, QEMU 7.2), never under single-threaded TCG.  Our kernels are built
# from tinyconfig, without jump labels.
[ "$V_TREE" != debian ] || export QEMU_TCG_THREAD=single

# Results of an oracle may be reused: the key is everything the guest
# sees, the run id left out.
key=
arch_qemu "$kernel" "$initrd" "$cmdline"
if [ "$V_REUSE" = oracle ] && [ "$mode" = check ] && [ -z "${KVM_VFIO_RERUN:-}" ]; then
	parts=$( { sha1sum <"$kernel"; sha1sum <"$initrd"; echo "${QEMU_CMD[*]}"
		 sha1sum <"$0"; echo "$TIMEOUT"
		 "$QEMU_BIN" --version 2>/dev/null | head -1
		 # The nested client runs the host's QEMU and the fetched one.
		 [ "$KARCH" != x86_64 ] || sha1sum </usr/bin/qemu-system-x86_64
		 [ -z "${qemu_fd:-}" ] || sha1sum <"$qemu_fd"; })
	key=$(printf '%s\n' "$parts" | sha1sum | cut -d' ' -f1)
	# What the key was made of, this run's and the last one's: when an
	# oracle runs again unexpectedly, diff the two to see what changed.
	kept="$BENCH_LOGDIR/oracle-key-$KLINE-$variant.txt"
	[ ! -f "$kept" ] || mv "$kept" "$kept.prev"
	printf '%s\n' "$parts" >"$kept"
	saved="$KVM_VFIO_CACHE/results/$KLINE-$variant-$key.log"
	if [ -f "$saved" ] && booted_as "$saved"; then
		old=$(sed -n 's/^# kvm-vfio-bench: run \([^ ]*\) .*/\1/p' "$saved" | head -1)
		step "$variant: reusing the results of run $old (oracle kernel; same kernel, initramfs and command line; KVM_VFIO_RERUN=1 runs it again): $log"
		{
			echo "# kvm-vfio-bench: reused run $old key $key"
			tail -n +2 "$saved"
		} >>"$log"
		timing "guest $KLINE-$variant" $((SECONDS - t0)) "reused (run $old)"
		exit 0
	fi
fi

cmdline+=" kvmvfio.runid=$RUN_ID"
arch_qemu "$kernel" "$initrd" "$cmdline"
command -v "$QEMU_BIN" >/dev/null ||
	fail "$QEMU_BIN not found; run bench/deps.sh as root"
step "$KLINE-$variant: booting ($mode), timeout ${TIMEOUT}s, console log: $log"

rc=0
if [ "$mode" = shell ]; then
	"${QEMU_CMD[@]}"
	exit 0
elif [ "$mode" = check ]; then
	# Quiet: the log is parsed afterwards.
	timeout --foreground "$TIMEOUT" "${QEMU_CMD[@]}" </dev/null >>"$log" 2>&1 &
	qemu=$!
	if [ -n "${KVM_VFIO_FAILFAST:-}" ]; then
		failfast "$qemu" >"$log.failed" &
		watch=$! ended=
		# Whichever ends first.  Until it is waited for, QEMU's timeout
		# stays this shell's child: ending it cannot hit another process.
		wait -n -p ended "$qemu" "$watch" || rc=$?
		if [ "$ended" != "$qemu" ]; then
			rc=0
			if [ -s "$log.failed" ]; then
				kill "$qemu" 2>/dev/null || true
				echo "# kvm-vfio-bench: failfast: stopped at: $(<"$log.failed")" >>"$log"
			fi
			wait "$qemu" || rc=$?
		fi
		wait "$watch" || true
		rm -f "$log.failed"
	else
		wait "$qemu" || rc=$?
	fi
else
	timeout --foreground "$TIMEOUT" "${QEMU_CMD[@]}" </dev/null 2>&1 |
		tee -a "$log" | tr -d '\r' | grep --line-buffered -v '^# kvm-vfio-guest' ||
		rc=${PIPESTATUS[0]}
fi

done_line=
tr -d '\r' <"$log" | grep -qx '# kvm-vfio-guest: done' && done_line=1
if [ "$mode" = check ]; then
	banner=$(banner_of "$log")
	[ -n "$banner" ] || [ -z "$done_line" ] ||
		fail "the console shows no 'Linux version' banner, so which kernel booted cannot be told (quiet or loglevel= in GUEST_CMDLINE?)"
	[ -z "$banner" ] || booted_as "$log" ||
		fail "the guest booted ${banner##*) }, not this kernel's last build ($uts): a stale boot image ($kernel) holding another build's kernel; clear ccache (CCACHE_DIR=$KVM_VFIO_CACHE/ccache ccache -C), delete $out and build it again"
fi
# x86: isa-debug-exit ends QEMU with 3 when the guest ran to its end.
# pseries, arm64: a power-off and a panic both end QEMU with 0; "done"
# tells.
case "$KARCH/$rc" in
x86_64/3 | powerpc/0 | arm64/0)
	if [ -n "$done_line" ]; then
		timing "guest $KLINE-$variant" $((SECONDS - t0)) "$mode"
		if [ -n "$key" ]; then
			mkdir -p "$KVM_VFIO_CACHE/results"
			rm -f "$KVM_VFIO_CACHE/results/$KLINE-$variant-"*.log
			cp "$log" "$saved"
		fi
		if [ "$mode" = run ]; then
			st=$(tr -d '\r' <"$log" | sed -n 's/^# kvm-vfio-guest: program exited //p' | tail -1)
			echo "run-guest: program exited ${st:-?}; console log: $log"
			exit "${st:-1}"
		fi
		exit 0
	fi ;;
esac
tail -n 15 "$log" | sed 's/^/    /' >&2
stopped=$(sed -n 's/^# kvm-vfio-bench: failfast: stopped at: //p' "$log")
[ -z "$stopped" ] || fail "a case failed, and KVM_VFIO_FAILFAST stopped the guest there: $stopped"
case $rc in
124) fail "guest did not finish within ${TIMEOUT}s (hang)" ;;
0 | 3) fail "guest panicked, rebooted or stopped before reporting" ;;
5) fail "guest could not set up its fixtures (mtty)" ;;
*) fail "QEMU exited $rc without a verdict" ;;
esac
