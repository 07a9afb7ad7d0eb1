#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh LOG: the static checks, one TAP case each, written to LOG in the
# form bench/ktap.py reads (it also prints them):
#   checkpatch --strict on every file of ours and every patch, sparse (C=2)
#   and W=1 on virt/kvm/vfio.c (KUnit suite included), kernel-doc, the
#   reStructuredText of the documentation (docutils, 80 columns), the UAPI
#   header against the host's (Debian 12) and the kernel line's headers,
#   and the kselftests' standalone and in-tree builds.
# Exits 1 when a check failed (the log is written all the same).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LOG=${1:?usage: lint.sh LOG}
# It builds in the trees' output folders and in the cache's lint folder.
cache_lock
# A log left from an earlier run never stands for this one.
rm -f "$LOG"
TREE=$("$BENCH_DIR/kernel.sh" tree ours)
OUT=$("$BENCH_DIR/kernel.sh" out ours)
HDRS="$KVM_VFIO_CACHE/guest/$KLINE/headers"
WORK="$KVM_VFIO_CACHE/lint/$KLINE"
SELFTESTS=$(cd "$SRC_DIR/tools/testing/selftests/kvm" && ls kvm_vfio*_test.c | sed 's/\.c$//')
mkdir -p "$WORK"

cases=()
n=0
fails=0
# check NAME OUTPUT_FILE: a case passes when the check wrote nothing.
check() {
	local name=$1 out=$2
	n=$((n + 1))
	if [ -s "$out" ]; then
		cases+=("not ok $n $name")
		fails=$((fails + 1))
		while read -r l; do cases+=("# $l"); done < <(head -40 "$out")
		head -40 "$out" | while read -r l; do
			printf '    %s: %s\n' "$name" "$l" >&2
		done
	else
		cases+=("ok $n $name")
	fi
}

# checkpatch: files of ours (not patches) with -f; patches as patches.
files=$(cd "$SRC_DIR" && ls virt/kvm/*.[ch] virt/kvm/vfio/*.[ch] \
	include/trace/events/*.h tools/testing/selftests/kvm/kvm_vfio*.[ch] \
	tools/testing/selftests/kvm/powerpc/kvm_vfio*.c \
	tools/testing/selftests/kvm/kvm_vfio*.sh bench/guest/*.c)
for f in $files; do
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --no-tree --quiet \
		--show-types -f "$SRC_DIR/$f" 2>&1) >"$WORK/out" || true
	check "checkpatch $f" "$WORK/out"
done
# The cache holds no kernel git history, so checkpatch cannot look up the
# commit a Fixes: tag names (UNKNOWN_COMMIT_ID, whatever the id); the tag's
# form is still checked (GIT_COMMIT_ID), and the ids were checked against
# upstream's history when the patches were written (where one could not
# be, the patch's notes say so).
for p in "$SRC_DIR"/patches/*/*.patch "$SRC_DIR"/patches/upstream/*/*.patch; do
	[ -f "$p" ] || continue
	case "$p" in */0000-cover-letter.patch) continue ;; esac
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --quiet --show-types \
		--ignore UNKNOWN_COMMIT_ID "$p" 2>&1) >"$WORK/out" || true
	check "checkpatch ${p#"$SRC_DIR"/}" "$WORK/out"
done

# sparse and W=1: vfio.c compiled as an external object against our build.
rm -rf "$WORK/obj" && mkdir -p "$WORK/obj"
cp "$SRC_DIR"/virt/kvm/vfio*.[ch] "$WORK/obj/"
echo 'obj-m := vfio.o' >"$WORK/obj/Kbuild"
make -s -C "$TREE" O="$OUT" M="$WORK/obj" ARCH=x86_64 C=2 W=1 \
	KBUILD_MODPOST_WARN=1 vfio.o >"$WORK/build.log" 2>&1 || true
grep -E 'warning|error' "$WORK/build.log" >"$WORK/out" || true
[ -f "$WORK/obj/vfio.o" ] || cat "$WORK/build.log" >>"$WORK/out"
check "sparse C=2 and W=1 virt/kvm/vfio.c" "$WORK/out"

# The same for ppc64, where the sPAPR TCE code is compiled (and the KUnit
# suite with its sPAPR cases); on the lines with a pseries build
# (LINT_PPC64=0 leaves it out).
if [ "${LINT_PPC64:-1}" = 1 ]; then
POUT=$("$BENCH_DIR/kernel.sh" out ours-ppc64)
rm -rf "$WORK/objppc" && mkdir -p "$WORK/objppc"
cp "$SRC_DIR"/virt/kvm/vfio*.[ch] "$WORK/objppc/"
echo 'obj-m := vfio.o' >"$WORK/objppc/Kbuild"
if [ -f "$POUT/vmlinux" ]; then
	make -s -C "$TREE" O="$POUT" M="$WORK/objppc" ARCH=powerpc \
		CROSS_COMPILE=powerpc64le-linux-gnu- C=2 W=1 \
		KBUILD_MODPOST_WARN=1 vfio.o >"$WORK/buildppc.log" 2>&1 || true
	grep -E 'warning|error' "$WORK/buildppc.log" >"$WORK/out" || true
	[ -f "$WORK/objppc/vfio.o" ] || cat "$WORK/buildppc.log" >>"$WORK/out"
else
	echo "no ours-ppc64 build at $POUT; run 'bench/kernel.sh build ours-ppc64'" >"$WORK/out"
fi
check "sparse C=2 and W=1 virt/kvm/vfio.c (ppc64, sPAPR)" "$WORK/out"
fi

# The same, as the module: 'make module' with this repository's Kbuild
# against the module-mode kernel, from a copy (kbuild writes beside it).
MOUT=$("$BENCH_DIR/kernel.sh" out module)
rm -rf "$WORK/mod" && mkdir -p "$WORK/mod"
(cd "$SRC_DIR" && cp --parents Kbuild virt/kvm/vfio*.[ch] \
	include/trace/events/kvm_vfio.h "$WORK/mod/")
make -s -C "$MOUT" M="$WORK/mod" C=2 W=1 modules >"$WORK/mod.log" 2>&1 || true
grep -E 'warning|error' "$WORK/mod.log" >"$WORK/out" || true
[ -f "$WORK/mod/kvm-vfio.ko" ] || cat "$WORK/mod.log" >>"$WORK/out"
check "sparse C=2 and W=1 kvm-vfio.ko (make module)" "$WORK/out"

# The test VFIO driver, out of tree against our build, as the stock kernel
# gets it.
rm -rf "$WORK/drv" && mkdir -p "$WORK/drv"
cp "$SRC_DIR"/virt/kvm/vfio/Makefile "$SRC_DIR"/virt/kvm/vfio/*.[ch] "$WORK/drv/"
make -s -C "$TREE" O="$OUT" M="$WORK/drv" ARCH=x86_64 C=2 W=1 \
	CONFIG_KVM_VFIO_TEST_DRIVER=m modules >"$WORK/drv.log" 2>&1 || true
grep -E 'warning|error' "$WORK/drv.log" >"$WORK/out" || true
[ -f "$WORK/drv/kvm_vfio_test_driver.ko" ] || cat "$WORK/drv.log" >>"$WORK/out"
check "sparse C=2 and W=1 kvm_vfio_test_driver.ko" "$WORK/out"

for f in virt/kvm/vfio.c virt/kvm/vfio_test.c virt/kvm/vfio_module.c \
	virt/kvm/vfio.h virt/kvm/vfio_compat.h include/trace/events/kvm_vfio.h \
	virt/kvm/vfio/test_driver.c virt/kvm/vfio/test_driver.h; do
	"$TREE/scripts/kernel-doc" -none -Wall "$SRC_DIR/$f" >"$WORK/out" 2>&1 || true
	check "kernel-doc $f" "$WORK/out"
done

# The documentation: the device's contract and the bench's reference
# (Documentation/kvm-vfio/), each with docutils and within 80 columns,
# as the kernel's documentation keeps to them (checkpatch does for code).
for rel in Documentation/virt/kvm/devices/vfio.rst \
	$(cd "$SRC_DIR" && ls Documentation/kvm-vfio/*.rst 2>/dev/null || true); do
	rst="$SRC_DIR/$rel"
	if [ -f "$rst" ]; then
		rst2html --halt=warning --report=info --strict "$rst" >/dev/null 2>"$WORK/out" || true
	else
		echo "missing $rst" >"$WORK/out"
	fi
	check "docutils $rel" "$WORK/out"
	awk 'length > 80 { printf "%s:%d: %d columns\n", FILENAME, FNR, length }' \
		"$rst" >"$WORK/out" 2>&1 || true
	check "80 columns $rel" "$WORK/out"
done

# The tests' ABI header alone, on the host's headers (older than
# KVM_DEV_VFIO_FILE on Debian 12) and on the line's own.
printf '#include "kvm_vfio_abi.h"\nint main(void) { return KVM_DEV_VFIO_FILE_ADD + KVM_DEV_VFIO_FILE_DEL; }\n' >"$WORK/abi.c"
ABI_INC=-I"$SRC_DIR/tools/testing/selftests/kvm"
gcc -std=c11 -Wall -Werror "$ABI_INC" -c "$WORK/abi.c" \
	-o "$WORK/abi.o" >"$WORK/out" 2>&1 || true
check "kvm_vfio_abi.h with the host's linux/kvm.h" "$WORK/out"
gcc -std=c11 -Wall -Werror "$ABI_INC" -isystem "$HDRS/include" \
	-c "$WORK/abi.c" -o "$WORK/abi.o" >"$WORK/out" 2>&1 || true
check "kvm_vfio_abi.h with linux $KLINE headers" "$WORK/out"
# The kselftests build standalone on the host's own headers too, but for
# kvm_vfio_test, the upstream submission (patches/upstream/7.3/), which is
# written on the KVM selftest library: the in-tree build below builds it.
: >"$WORK/out"
for t in $SELFTESTS; do
	[ "$t" != kvm_vfio_test ] || continue
	gcc -Wall -pthread -D_GNU_SOURCE -I"$TREE/tools/testing/selftests" \
		-o "$WORK/$t" \
		"$SRC_DIR/tools/testing/selftests/kvm/$t.c" >>"$WORK/out" 2>&1 || true
done
check "kselftests standalone build on host headers" "$WORK/out"

# The in-tree build: the KVM selftests Makefile (our patch 0002 adds the
# test) with our tree's UAPI headers.  Warnings count only in our file.
for t in $SELFTESTS; do rm -f "$WORK/selftests/$t"; done
{
	make -s -C "$TREE" O="$OUT" ARCH=x86_64 \
		INSTALL_HDR_PATH="$WORK/hdr" headers_install &&
	make -C "$TREE/tools/testing/selftests/kvm" OUTPUT="$WORK/selftests" \
		KHDR_INCLUDES="-isystem $WORK/hdr/include" \
		INSTALL_HDR_PATH="$WORK/hdr" -j"${JOBS:-3}" \
		$(for t in $SELFTESTS; do echo "$WORK/selftests/$t"; done)
} >"$WORK/intree.log" 2>&1 || true
grep -E 'kvm_vfio[a-z_]*\.[ch].*(warning|error)' "$WORK/intree.log" >"$WORK/out" || true
for t in $SELFTESTS; do
	[ -x "$WORK/selftests/$t" ] ||
		{ echo "no $t; see $WORK/intree.log"; tail -5 "$WORK/intree.log"; } >>"$WORK/out"
done
check "kselftest in-tree build (tools/testing/selftests/kvm)" "$WORK/out"

{
	echo "# kvm-vfio-bench: run ${KVM_VFIO_RUN_ID:-none} kernel $KLINE-static-checks mode lint"
	echo "# kvm-vfio-guest: run id ${KVM_VFIO_RUN_ID:-none}"
	echo "# kvm-vfio-guest: running static-checks"
	echo "TAP version 13"
	echo "1..$n"
	printf '%s\n' "${cases[@]}"
	echo "# kvm-vfio-guest: static-checks exited $((fails > 0))"
	echo "# kvm-vfio-guest: done"
} >"$LOG"
step "static checks: $((n - fails)) of $n clean (log: $LOG)"
# make lint fails with a check; make check reads the log instead.
[ "$fails" -eq 0 ] || exit 1
