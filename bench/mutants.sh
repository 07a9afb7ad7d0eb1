#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mutants.sh: 'make mutants', the mutation score of the suites.  Each mutant
# of bench/mutants (a small change of virt/kvm/vfio.c that stands for a
# bug) is applied to a copy of this checkout, and make test runs from that
# copy on the mutant's kernel (line 6.12; ours, module or ours-ppc64): an
# incremental build, the guest with every suite, the verdict.  A mutant is
# killed when that run fails, survived when it passes, and invalid when its
# kernel does not build (the mutant, not the tests, is wrong) or its guest
# booted another build (a stale boot image: the mutant never ran; each
# output keeps the banner of the kernel its guest booted).  First the
# unmutated copy runs once on each kernel the mutants use: a failure there
# stops everything, as it would count as kills.  The table
# (mutant, kernel, result, seconds, what failed) is printed at the end and
# kept in logs/mutants.tsv; each run's output in logs/mutant-NAME.out.
# A mutant's guest stops at its first failed case (KVM_VFIO_FAILFAST, see
# run.sh), so "what failed" names what failed first; a mutant that
# survives runs everything.  MUTANTS="name ..." runs some of them.  It
# exits non-zero unless every mutant run was killed.  On demand only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Every suite of make test kills: SUITES is not for this run.
unset SUITES KVM_VFIO_SUITES

t0=$SECONDS
list="$BENCH_DIR/mutants"
copy="$KVM_VFIO_CACHE/mutants/src"
table="$BENCH_LOGDIR/mutants.tsv"
run_begin mutants "${MUTANTS:-every mutant of bench/mutants}"
python3 "$BENCH_DIR/mutants.py" check "$list" "$SRC_DIR" >&2 ||
	die "bench/mutants does not apply to this checkout's virt/kvm/vfio.c; update the mutants to the code"
mapfile -t rows < <(python3 "$BENCH_DIR/mutants.py" list "$list")
declare -A known=()
for row in "${rows[@]}"; do
	known[${row%% *}]=${row#* }
done
for m in ${MUTANTS:-}; do
	[ -n "${known[$m]:-}" ] ||
		die "MUTANTS names $m, which bench/mutants does not have; see 'python3 bench/mutants.py list bench/mutants'"
done

# failed_what OUT: the suites of the summary in OUT with a failed case, or
# else its first FAILED line (a report, a leak, a figure, the taint...).
failed_what() {
	local what
	what=$(sed -n 's/^  \([^ ]*\)  *[0-9]* passed, [1-9][0-9]* failed.*/\1/p' "$1" |
		sort -u | paste -sd, -)
	[ -n "$what" ] || what=$(sed -n '/^ *FAILED: /{s///p;q}' "$1")
	what=${what:--}
	echo "${what:0:100}"
}

# copy_tree [NAME]: this checkout in $copy, with mutant NAME applied;
# prints what the mutant stands for.
copy_tree() {
	rm -rf "$copy"
	mkdir -p "$copy"
	tar -C "$SRC_DIR" --exclude=./.git -cf - . | tar -C "$copy" -xf -
	[ -z "${1:-}" ] || python3 "$BENCH_DIR/mutants.py" apply "$list" "$1" "$copy"
}

# The unmutated copy passes on every kernel the mutants run on.
declare -A variants=()
for row in "${rows[@]}"; do
	name=${row%% *}
	[ -z "${MUTANTS:-}" ] || [[ " $MUTANTS " == *" $name "* ]] || continue
	variants[${row#* }]=1
done
copy_tree
for variant in "${!variants[@]}"; do
	out="$BENCH_LOGDIR/mutant-baseline-$variant.out"
	step "baseline: the unmutated copy on 6.12-$variant"
	s=$SECONDS
	KLINE=6.12 VARIANT=$variant "$copy/bench/test.sh" >"$out" 2>&1 ||
		die "the unmutated copy fails make test on 6.12-$variant ($(failed_what "$out")); see $out: fix that first"
	timing "baseline 6.12-$variant" $((SECONDS - s))
done

: >"$table"
n=0 killed=0 survived=0 invalid=0
for row in "${rows[@]}"; do
	name=${row%% *} variant=${row#* }
	[ -z "${MUTANTS:-}" ] || [[ " $MUTANTS " == *" $name "* ]] || continue
	n=$((n + 1))
	why=$(copy_tree "$name")
	step "mutant $n: $name, on 6.12-$variant: $why"
	out="$BENCH_LOGDIR/mutant-$name.out"
	s=$SECONDS rc=0
	rm -f "$BENCH_LOGDIR/guest-6.12-$variant-check.log"
	KVM_VFIO_FAILFAST=1 KVM_VFIO_MUTANT=$name KLINE=6.12 VARIANT=$variant \
		"$copy/bench/test.sh" >"$out" 2>&1 || rc=$?
	secs=$((SECONDS - s))
	# The kernel its guest booted, kept with its output (the guest's
	# log is the next mutant's).
	{ tr -d '\r' <"$BENCH_LOGDIR/guest-6.12-$variant-check.log" |
		grep -a -m1 -o 'Linux version .*' | sed 's/^/# booted: /'; } >>"$out" 2>/dev/null || true
	if grep -q 'the kernel build failed' "$out"; then
		result=invalid invalid=$((invalid + 1)) what="its kernel does not build"
	elif grep -q "not this kernel's last build" "$out"; then
		# A stale boot image (run.sh): the mutant did not run.
		result=invalid invalid=$((invalid + 1)) what="its guest booted another build"
	elif [ "$rc" -eq 0 ]; then
		result=survived survived=$((survived + 1)) what=-
	else
		result=killed killed=$((killed + 1)) what=$(failed_what "$out")
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$variant" "$result" "$secs" "$what" >>"$table"
	timing "mutant $name" "$secs" "$result"
	step "mutant $name: $result in $secs s${what:+ ($what)}"
done
rm -rf "$copy"

step "mutants (bench/mutants, $((SECONDS - t0)) s; outputs in $BENCH_LOGDIR/mutant-NAME.out)"
{
	printf '%-32s %-11s %-9s %5s  %s\n' mutant kernel result s "what failed"
	while IFS=$'\t' read -r name variant result secs what; do
		printf '%-32s %-11s %-9s %5s  %s\n' "$name" "6.12-$variant" "$result" "$secs" "$what"
	done <"$table"
} >&2
echo "$killed killed, $survived survived, $invalid invalid (of $n)"
if [ "$n" -eq 0 ] || [ "$killed" -ne "$n" ]; then
	exit 1
fi
