#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: everything 'make check' does.  The kernels are the rows of
# bench/variants with check=yes on the lines in KLINES (default "6.12
# 7.3"): on x86_64 ours, module and stock of each line and 7.3's
# stockfix (the stock tree with the series we send upstream); on 6.12
# also the pseries kernels (ours, stock, module and stockfix; ppc64le, the
# sPAPR TCE path) and the arm64 pair (ours, stock).
#
# Two lanes share the machine: the kernels build one after another (on a
# fresh machine the first of a line and architecture cold, the others from
# a copy of its output: kernel.sh seed_out), and each kernel's guest boots
# as soon as its kernel is built, while the next one builds
# (CHECK_GUEST_JOBS guests at once, default 2).
# Then the static checks per line, and the summary: per kernel, per line,
# the stock/ours/module comparisons, the timing table, and one line
# "N passed, N failed, N skipped".
#
# KVM_VFIO_RERUN=1 runs the oracle (stock) guests even when their results
# could be reused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Every suite: SUITES (make test) is not for this run.
unset KVM_VFIO_SUITES

t0=$SECONDS
read -r -a LINES <<<"${KLINES:-6.12 7.3}"
[ ${#LINES[@]} -gt 0 ] || die "KLINES is empty; give kernel lines, e.g. KLINES=\"6.12 7.3\""
run_begin check "lines ${LINES[*]}"
need_space "$KVM_VFIO_CACHE" $((6144 * ${#LINES[@]}))
mapfile -t KERNELS < <(variant_list check "${LINES[@]}")
[ ${#KERNELS[@]} -gt 0 ] || die "bench/variants has no check=yes kernel on the lines ${LINES[*]}"

lane="$BENCH_LOGDIR/check-lane"
rm -rf "$lane"
mkdir -p "$lane"
logs=() cmps=() oracles=() failed=()

# src LINE: fetch and unpack LINE's pristine tree, timed.
src() {
	local s=$SECONDS
	KLINE=$1 "$BENCH_DIR/kernel.sh" src >"$lane/src-$1.out" 2>&1 || {
		cat "$lane/src-$1.out" >&2
		return 1
	}
	timing "source $1 (fetch, unpack)" $((SECONDS - s)) \
		"$(grep -q unpacking "$lane/src-$1.out" && echo new || echo cached)"
}
# The first line's tree now; the others' while the first kernels build.
src "${LINES[0]}" || die "the linux ${LINES[0]} source could not be unpacked"
cat "$lane/src-${LINES[0]}.out" >&2
src_pids=()
for line in "${LINES[@]:1}"; do
	src "$line" &
	src_pids+=("$line=$!")
done

# guest KERNEL: run KERNEL's guest in the background, its output kept in
# the lane folder and shown when it ends.
guest() {
	local k=$1 line=${1%%-*} v=${1#*-} s=$SECONDS rc=0
	step "guest $k: started"
	KLINE=$line "$BENCH_DIR/run.sh" "$v" check >"$lane/guest-$k.out" 2>&1 || rc=$?
	sed 's/^/    /' "$lane/guest-$k.out" >&2
	step "guest $k: finished in $((SECONDS - s)) s$([ $rc -eq 0 ] || echo ", FAILED")"
}

# The guest lane: a kernel name per line on its queue starts that guest
# when one of CHECK_GUEST_JOBS slots is free.  Two beside a build too: a
# warm run's builds are mostly single-threaded links, and a fresh run's
# compiles keep both cores busy either way.
slots=${CHECK_GUEST_JOBS:-2}
mkfifo "$lane/queue"
(
	while read -r k; do
		while [ "$(jobs -rp | wc -l)" -ge "$slots" ]; do
			wait -n 2>/dev/null || true
		done
		guest "$k" &
	done <"$lane/queue"
	wait
) &
lane_pid=$!
exec 8>"$lane/queue"

# src_wait [LINE]: wait for LINE's source (every line's without LINE)
# if it is still being fetched, once.
src_wait() {
	local i p
	for i in "${!src_pids[@]}"; do
		p=${src_pids[$i]}
		[ -z "${1:-}" ] || [ "${p%%=*}" = "$1" ] || continue
		wait "${p#*=}" || die "the linux ${p%%=*} source could not be fetched or unpacked"
		cat "$lane/src-${p%%=*}.out" >&2
		unset "src_pids[$i]"
	done
}

for k in "${KERNELS[@]}"; do
	line=${k%%-*} v=${k#*-}
	src_wait "$line"
	# A kernel that does not build, or whose initramfs does not, is a
	# failed case of the summary; the others still run.
	if ! KLINE=$line "$BENCH_DIR/kernel.sh" build "$v"; then
		failed+=(--failed "$k: the kernel build failed (see $BENCH_LOGDIR/build-$line-$v.log)")
		continue
	fi
	# Its initramfs (and the test programs of its line) now, in this
	# lane, so that two guests never compile the same programs at once.
	# The x86_64 images carry the upstream selftest, built from the 7.3
	# tree: every line's source must be unpacked by then.
	src_wait
	s=$SECONDS
	if ! KLINE=$line "$BENCH_DIR/initramfs.sh" "$v" >/dev/null; then
		failed+=(--failed "$k: its initramfs could not be built (see the messages above)")
		continue
	fi
	timing "initramfs $k" $((SECONDS - s))
	echo "$k" >&8
	logs+=("$k=$BENCH_LOGDIR/guest-$line-$v-check.log")
done

# Comparisons, per line and architecture: the stock kernel, and the
# stock kernel with our upstream fixes, against our first kernel, and
# that one against our others.  The lines with a
# pseries kernel also lint the sPAPR build.
declare -A stock=() first=() fixed=() ppc=()
for k in "${KERNELS[@]}"; do
	variant_load "${k%%-*}" "${k#*-}"
	key="${k%%-*}/$V_ARCH"
	[ "$V_ARCH" != powerpc ] || ppc[${k%%-*}]=1
	[ "$V_REUSE" != oracle ] || oracles+=(--oracle "$k")
	case "$V_TREE" in
	pristine) stock[$key]=$k ;;
	stockfix) fixed[$key]=$k ;;
	ours)
		if [ -z "${first[$key]:-}" ]; then first[$key]=$k
		else cmps+=(--compare "${first[$key]},$k"); fi ;;
	esac
done
for key in "${!first[@]}"; do
	[ -z "${stock[$key]:-}" ] || cmps+=(--compare "${stock[$key]},${first[$key]}")
	# The stock kernel with our upstream fixes must behave as ours.
	[ -z "${fixed[$key]:-}" ] || cmps+=(--compare "${fixed[$key]},${first[$key]}")
done

# The static checks, per line, while the last guests run.
for line in "${LINES[@]}"; do
	s=$SECONDS
	KLINE=$line LINT_PPC64=${ppc[$line]:-0} \
		"$BENCH_DIR/lint.sh" "$BENCH_LOGDIR/static-checks-$line.log" || true
	timing "static checks $line" $((SECONDS - s))
	logs+=("$line-static-checks=$BENCH_LOGDIR/static-checks-$line.log")
done

# The verdict's own tests (bench/test_ktap.py), a suite of the summary.
python3 "$BENCH_DIR/test_ktap.py" --log "$BENCH_LOGDIR/verdict-selftest.log" \
	--run-id "$KVM_VFIO_RUN_ID" >&2 || true
logs+=("verdict-selftest=$BENCH_LOGDIR/verdict-selftest.log")

exec 8>&-
s=$SECONDS
wait "$lane_pid" || true
timing "waiting for the last guests" $((SECONDS - s))

versions=$(for line in "${LINES[@]}"; do KLINE=$line "$BENCH_DIR/kernel.sh" version; done | paste -sd, -)
timing total $((SECONDS - t0))
step "summary (linux $versions, $((SECONDS - t0)) s)"
exec python3 "$BENCH_DIR/ktap.py" --run-id "$KVM_VFIO_RUN_ID" \
	--suites "$BENCH_DIR/suites" --timing "$KVM_VFIO_TIMING" \
	"${oracles[@]}" "${failed[@]}" \
	"${logs[@]}" "${cmps[@]}"
