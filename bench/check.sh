#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: everything 'make check' does, in order.  Builds the stock
# kernel, ours and the module-mode one, boots each and runs every suite,
# runs the static checks, and ends with one line
# "N passed, N failed, N skipped".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$SECONDS
quiet_fail "$BENCH_DIR/deps.sh"
need_space "$KVM_VFIO_CACHE" 6144
VARIANTS=(stock ours module)
for v in "${VARIANTS[@]}"; do
	quiet_fail "$BENCH_DIR/kernel.sh" build "$v"
done

logs=()
for v in "${VARIANTS[@]}"; do
	# A failed boot is reported by the summary, not fatal here.
	"$BENCH_DIR/run.sh" "$v" check || true
	logs+=("$KLINE-$v=$BENCH_LOGDIR/guest-$KLINE-$v-check.log")
done

"$BENCH_DIR/lint.sh" "$BENCH_LOGDIR/static-checks.log" || true
logs+=("static-checks=$BENCH_LOGDIR/static-checks.log")

step "summary (linux $("$BENCH_DIR/kernel.sh" version), $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" "${logs[@]}" \
	--compare "$KLINE-stock,$KLINE-ours" --compare "$KLINE-ours,$KLINE-module"
