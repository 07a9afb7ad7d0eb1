#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# perf.sh: 'make bench'.  Builds the non-debug twins of the stock kernel
# and ours (the test configuration without KASAN, lockdep, kmemleak, fault
# injection and KUnit), boots each under the same QEMU settings as the
# tests, runs kvm_vfio_bench in both and prints one table with both
# columns and their ratio, the benchmark's targets, and the folder with
# the CSV and the plot.
#
# BENCH_REPS (default 500) timed calls per figure; BENCH_SIZES (default
# 0,16,256,1024,4096,16384) numbers of tracked files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

REPS=${BENCH_REPS:-500}
SIZES=${BENCH_SIZES:-0,16,256,1024,4096,16384}
[[ "$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -gt 0 ] ||
	die "BENCH_REPS=$REPS: give a positive number of repetitions"
[[ "$SIZES" =~ ^[0-9]+(,[0-9]+)*$ ]] ||
	die "BENCH_SIZES=$SIZES: give numbers of files separated by commas, e.g. 0,16,256"

t0=$SECONDS
quiet_fail "$BENCH_DIR/deps.sh"
need_space "$KVM_VFIO_CACHE" 4096
VARIANTS=(stock-nodebug ours-nodebug)
for v in "${VARIANTS[@]}"; do
	quiet_fail "$BENCH_DIR/kernel.sh" build "$v"
done

out="$KVM_VFIO_CACHE/bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
logs=()
for v in "${VARIANTS[@]}"; do
	GUEST_CMDLINE="kvmvfio.bench_reps=$REPS kvmvfio.bench_sizes=$SIZES ${GUEST_CMDLINE:-}" \
	GUEST_TIMEOUT=${GUEST_TIMEOUT:-3000} \
		quiet_fail "$BENCH_DIR/run.sh" "$v" bench
	cp "$BENCH_LOGDIR/guest-$KLINE-$v-bench.log" "$out/"
	logs+=("${v%-nodebug}=$out/guest-$KLINE-$v-bench.log")
done

step "benchmark (linux $("$BENCH_DIR/kernel.sh" version), non-debug, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/perf.py" "$out" "${logs[@]}"
