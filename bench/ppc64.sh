#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ppc64.sh [VARIANT...]: build the given pseries kernels (default:
# stock-ppc64 ours-ppc64 module-ppc64), run the ppc64 suites in each and
# print their summary, with a run id and a timing table as 'make check'
# has them.  'make check' runs these and stockfix-ppc64 among everything
# else; this is the quick way to work on the sPAPR path, and the way to
# check the fixes we send upstream on the stock tree: ppc64.sh
# stockfix-ppc64.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Every suite: SUITES (make test) is not for this run.
unset KVM_VFIO_SUITES

t0=$SECONDS
[ $# -gt 0 ] || set -- stock-ppc64 ours-ppc64 module-ppc64
VARIANTS=("$@")
for v in "${VARIANTS[@]}"; do
	case "$v" in
	*-ppc64) ;;
	*) die "ppc64.sh: '$v' is not a ppc64 variant (stock-ppc64, ours-ppc64, module-ppc64 or stockfix-ppc64)" ;;
	esac
done
run_begin check-ppc64 "$KLINE ${VARIANTS[*]}"
for v in "${VARIANTS[@]}"; do
	quiet_fail "$BENCH_DIR/kernel.sh" build "$v"
done
logs=() cmp=() oracles=()
for v in "${VARIANTS[@]}"; do
	# panic_on_warn comes from bench/variants: only the unmodified
	# kernel's known WARN is reported instead of fatal.
	"$BENCH_DIR/run.sh" "$v" check || true
	logs+=("$KLINE-$v=$BENCH_LOGDIR/guest-$KLINE-$v-check.log")
	# An oracle's (reuse=oracle) results may be an earlier run's, whose
	# id its log carries.
	variant_load "$KLINE" "$v"
	[ "$V_REUSE" != oracle ] || oracles+=(--oracle "$KLINE-$v")
done

# ran VARIANT: whether this run has VARIANT's guest (in any order).
ran() {
	case " ${VARIANTS[*]} " in *" $1 "*) ;; *) return 1 ;; esac
}
if ran stock-ppc64 && ran ours-ppc64; then
	cmp+=(--compare "$KLINE-stock-ppc64,$KLINE-ours-ppc64")
fi
if ran ours-ppc64 && ran module-ppc64; then
	cmp+=(--compare "$KLINE-ours-ppc64,$KLINE-module-ppc64")
fi
# The stock kernel with our upstream fixes must behave as ours.
if ran stockfix-ppc64 && ran ours-ppc64; then
	cmp+=(--compare "$KLINE-stockfix-ppc64,$KLINE-ours-ppc64")
fi
timing total $((SECONDS - t0))
step "summary (linux $("$BENCH_DIR/kernel.sh" version), ${VARIANTS[*]}, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" --run-id "$KVM_VFIO_RUN_ID" \
	--suites "$BENCH_DIR/suites" --timing "$KVM_VFIO_TIMING" \
	"${oracles[@]}" "${logs[@]}" "${cmp[@]}"
