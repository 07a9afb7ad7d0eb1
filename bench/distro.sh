#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# distro.sh [KERNEL...]: Debian's own kernels as targets (the debian rows
# of bench/variants, default all of them), with nothing built but the test
# VFIO driver: each package is fetched at its pinned version, booted with
# its own modules, and runs the suites bench/suites gives it.  The
# summary, with a run id and a timing table as 'make check' has them,
# then compares each with our built stock kernel of the same line, or
# for a line we do not build (6.1) with that of the line whose test
# programs it runs (6.12): every case whose result differs is listed, and
# fails unless bench/suites allows it there (a skip with its reason).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
unset KVM_VFIO_SUITES

t0=$SECONDS
# debian_rows: the kernels of bench/variants whose tree is Debian's.
debian_rows() {
	local k
	for k in $(variant_list all); do
		variant_load "${k%%-*}" "${k#*-}"
		[ "$V_TREE" != debian ] || echo "$k"
	done
}
rows=$(debian_rows)
# shellcheck disable=SC2046
[ $# -gt 0 ] || set -- $rows
KERNELS=("$@")
for k in "${KERNELS[@]}"; do
	grep -qx -- "$k" <<<"$rows" ||
		die "distro.sh: '$k' is not a debian row of bench/variants (${rows//$'\n'/ })"
done
run_begin check-distro "${KERNELS[*]}"
logs=() oracles=() cmp=() refs=" "
for k in "${KERNELS[@]}"; do
	line=${k%%-*} v=${k#*-}
	KLINE=$line quiet_fail "$BENCH_DIR/kernel.sh" build "$v"
	KLINE=$line "$BENCH_DIR/run.sh" "$v" check || true
	logs+=("$k=$BENCH_LOGDIR/guest-$k-check.log")
	oracles+=(--oracle "$k")
	# Our stock kernel of the line (6.12's for 6.1, see above), run once.
	ref=$line
	variant_list all "$line" | grep -qx -- "$line-stock" || ref=6.12
	if [ "${refs#* "$ref" }" = "$refs" ]; then
		refs="$refs$ref "
		KLINE=$ref quiet_fail "$BENCH_DIR/kernel.sh" build stock
		KLINE=$ref "$BENCH_DIR/run.sh" stock check || true
		logs+=("$ref-stock=$BENCH_LOGDIR/guest-$ref-stock-check.log")
		oracles+=(--oracle "$ref-stock")
	fi
	cmp+=(--compare "$ref-stock,$k")
done
timing total $((SECONDS - t0))
step "summary (Debian's kernels ${KERNELS[*]}, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" --run-id "$KVM_VFIO_RUN_ID" \
	--suites "$BENCH_DIR/suites" --timing "$KVM_VFIO_TIMING" \
	"${oracles[@]}" "${logs[@]}" "${cmp[@]}"
