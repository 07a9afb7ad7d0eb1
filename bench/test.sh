#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test.sh: 'make test', the edit loop.  One kernel of bench/variants
# (KLINE, default 6.12; VARIANT, default ours): its incremental build, then
# its guest with every suite the full run has (KUnit, every kselftest, the
# nested QEMU client) and the robustness suites at a reduced strength
# (TEST_FUZZ, TEST_STRESS, TEST_CYCLES, TEST_RACES), read by the same
# verdict as 'make check' (any report, hang, taint or missing result
# fails; each figure is held to what was asked) and ending with the same
# "N passed, N failed, N skipped" line and the timing table.  'make check'
# stays the full verdict.  SUITES="suite ..." runs some of the kernel's
# suites only (the run rows of bench/suites; KUnit runs at boot anyway):
# the guest's plan and the verdict both hold to them, and the summary
# says which ran.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$SECONDS
variant=${VARIANT:-ours}
k="$KLINE-$variant"
variant_load "$KLINE" "$variant"
only=()
if [ -n "${SUITES:-}" ]; then
	python3 "$BENCH_DIR/suites.py" plan "$k" --only "$SUITES" >/dev/null ||
		die "SUITES=\"$SUITES\": see the message above; give suites of $k's run rows in bench/suites"
	only=(--only "$SUITES")
fi
export KVM_VFIO_SUITES=${SUITES:-}
run_begin test "$k${SUITES:+ (suites: $SUITES)}"
failed=() logs=() oracles=()
[ "$V_REUSE" != oracle ] || oracles=(--oracle "$k")
if "$BENCH_DIR/kernel.sh" build "$variant"; then
	[ "$V_FUZZ" = - ] || export KVM_VFIO_FUZZ=${TEST_FUZZ:-5000}
	[ "$V_STRESS" = - ] || export KVM_VFIO_STRESS=${TEST_STRESS:-20000}
	[ "$V_CYCLES" = - ] || export KVM_VFIO_CYCLES=${TEST_CYCLES:-100}
	[ "$V_RACES" = - ] || export KVM_VFIO_RACES=${TEST_RACES:-30}
	"$BENCH_DIR/run.sh" "$variant" check || true
	logs=("$k=$BENCH_LOGDIR/guest-$KLINE-$variant-check.log")
else
	failed=(--failed "$k: the kernel build failed (see $BENCH_LOGDIR/build-$KLINE-$variant.log)")
fi
# The verdict's own tests, as in make check.
python3 "$BENCH_DIR/test_ktap.py" --log "$BENCH_LOGDIR/verdict-selftest.log" \
	--run-id "$KVM_VFIO_RUN_ID" >&2 || true
logs+=("verdict-selftest=$BENCH_LOGDIR/verdict-selftest.log")
timing total $((SECONDS - t0))
step "summary ($k, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" --run-id "$KVM_VFIO_RUN_ID" \
	--suites "$BENCH_DIR/suites" --timing "$KVM_VFIO_TIMING" "${only[@]}" \
	"${oracles[@]}" "${failed[@]}" "${logs[@]}"
