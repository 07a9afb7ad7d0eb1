#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# soak.sh: 'make soak', the robustness suites at full strength, on the
# kernels where they mean most: 6.12 ours (KASAN; the fuzzer and the
# stress test) and 6.12 module (KASAN; kvm-vfio.ko's load/unload cycles
# and its rmmod races).  Each guest runs every suite, as in make check,
# with 1,000,000 fuzzer calls (SOAK_FUZZ), 1,000,000 stress operations
# on 4 threads (SOAK_STRESS), 1,000 module cycles (SOAK_CYCLES) and 300
# race rounds (SOAK_RACES), the per-program timeouts of bench/suites
# scaled by SOAK_TIMEOUT_SCALE (default 8).  The same verdict holds every
# figure to what was asked and ends with the same "N passed, N failed, N
# skipped" line and the timing table.  Run it before a release and after
# any change to locking or object lifetime in virt/kvm/vfio.c.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Every suite: SUITES (make test) is not for this run.
unset KVM_VFIO_SUITES

t0=$SECONDS
KLINE=6.12
export KLINE
run_begin soak "6.12 ours and module at full strength"
export KVM_VFIO_FUZZ=${SOAK_FUZZ:-1000000}
export KVM_VFIO_STRESS=${SOAK_STRESS:-1000000}
export KVM_VFIO_CYCLES=${SOAK_CYCLES:-1000}
export KVM_VFIO_RACES=${SOAK_RACES:-300}
export KVM_VFIO_TIMEOUT_SCALE=${SOAK_TIMEOUT_SCALE:-8}
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-14400}
failed=() logs=() ready=() pids=()
# The kernels and their images one after another (two image builds would
# compile the same test programs at once), then both guests side by side.
for v in ours module; do
	rm -f "$BENCH_LOGDIR/soak-$v.out"
	if ! "$BENCH_DIR/kernel.sh" build "$v"; then
		failed+=(--failed "$KLINE-$v: the kernel build failed (see $BENCH_LOGDIR/build-$KLINE-$v.log)")
	elif ! "$BENCH_DIR/initramfs.sh" "$v" >/dev/null; then
		failed+=(--failed "$KLINE-$v: its initramfs could not be built (see the messages above)")
	else
		ready+=("$v")
	fi
done
for v in "${ready[@]}"; do
	logs+=("$KLINE-$v=$BENCH_LOGDIR/guest-$KLINE-$v-check.log")
	"$BENCH_DIR/run.sh" "$v" check >"$BENCH_LOGDIR/soak-$v.out" 2>&1 &
	pids+=("$!")
done
for p in "${pids[@]}"; do
	wait "$p" || true
done
for v in "${ready[@]}"; do
	sed 's/^/    /' "$BENCH_LOGDIR/soak-$v.out" >&2
done
timing total $((SECONDS - t0))
step "summary (make soak, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" --run-id "$KVM_VFIO_RUN_ID" \
	--suites "$BENCH_DIR/suites" --timing "$KVM_VFIO_TIMING" \
	"${failed[@]}" "${logs[@]}"
