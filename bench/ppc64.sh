#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ppc64.sh [VARIANT...]: build the given pseries kernels (default:
# stock-ppc64 ours-ppc64 module-ppc64), run the ppc64 suites in each and
# print their summary.  'make check' runs the same three among everything
# else; this is
# the quick way to work on the sPAPR path, and the way to check the fixes
# we send upstream on the stock tree: ppc64.sh stockfix-ppc64.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- stock-ppc64 ours-ppc64 module-ppc64
quiet_fail "$BENCH_DIR/deps.sh"
for v in "$@"; do
	case "$v" in
	*-ppc64) ;;
	*) die "ppc64.sh: '$v' is not a ppc64 variant (stock-ppc64, ours-ppc64, module-ppc64 or stockfix-ppc64)" ;;
	esac
	quiet_fail "$BENCH_DIR/kernel.sh" build "$v"
done
logs=() cmp=()
for v in "$@"; do
	# panic_on_warn comes from bench/variants: only the unmodified
	# kernel's known WARN is reported instead of fatal.
	"$BENCH_DIR/run.sh" "$v" check || true
	logs+=("$KLINE-$v=$BENCH_LOGDIR/guest-$KLINE-$v-check.log")
done
case " $* " in
*" stock-ppc64 "*" ours-ppc64 "*) cmp=(--compare "$KLINE-stock-ppc64,$KLINE-ours-ppc64") ;;
esac
case " $* " in
*" ours-ppc64 "*" module-ppc64 "*) cmp+=(--compare "$KLINE-ours-ppc64,$KLINE-module-ppc64") ;;
esac
exec python3 "$BENCH_DIR/ktap.py" --manifest "$BENCH_DIR/expect" \
	--oracle "$KLINE-stock-ppc64" "${logs[@]}" "${cmp[@]}"
