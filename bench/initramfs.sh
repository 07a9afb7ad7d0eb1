#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# initramfs.sh VARIANT: build the static test programs (once for all
# kernels of an architecture) and pack the initramfs of VARIANT's kernel:
# busybox, /init, the tests, and that kernel's mdev.ko and mtty.ko; for the
# ppc64 kernels, a static /init and the ppc64 tests.  Prints the image's
# path.
#
# Extra program for 'make run-guest': RUN_PROG=path (a static binary or a
# script busybox can run) is packed as /tests/run-guest/prog.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: initramfs.sh VARIANT}
variant_load "$KLINE" "$variant"
PRISTINE=$("$BENCH_DIR/kernel.sh" pristine)
OUT=$("$BENCH_DIR/kernel.sh" out "$variant")
CC=$GUEST_CC
command -v "$CC" >/dev/null || die "$CC not found; run bench/deps.sh as root"
GUEST="$KVM_VFIO_CACHE/guest/$KLINE$GUEST_TAG"
HDRS="$GUEST/headers"
TESTS="$GUEST/tests"
mkdir -p "$GUEST" "$TESTS/kselftests"

# UAPI headers of the kernel line, for the test programs (Debian 12's own
# are 6.1 and lack the VFIO cdev and iommufd calls).
if [ ! -f "$HDRS/.done" ] || [ "$(cat "$HDRS/.done")" != "$PRISTINE" ]; then
	step "guest: installing linux $KLINE UAPI headers ($KARCH)"
	rm -rf "$HDRS"
	make -s -C "$PRISTINE" O="$GUEST/hdr-build" ARCH=$KARCH \
		INSTALL_HDR_PATH="$HDRS" headers_install \
		>"$BENCH_LOGDIR/headers.log" 2>&1 ||
		die "headers_install failed; see $BENCH_LOGDIR/headers.log"
	echo "$PRISTINE" >"$HDRS/.done"
fi

# The programs do not depend on where this checkout or the cache is (debug
# info and its compilation folder, __FILE__): the same sources give the
# same initramfs, so a stock kernel's results stay reusable from CI's fresh
# clone.
cd "$SRC_DIR"
CFLAGS=(-static -pthread -O2 -g -Wall -D_GNU_SOURCE
	-ffile-prefix-map="$SRC_DIR"=. -ffile-prefix-map="$KVM_VFIO_CACHE"=cache
	-I"$PRISTINE/tools/testing/selftests"
	-I"$SRC_DIR/tools/testing/selftests/kvm"
	-isystem "$HDRS/include")

# build_prog OUT SRC: compile SRC, again when a file the last compile read
# changed or went (the compiler's dependency file, kept in GUEST/deps/ so
# that it is neither packed nor pruned with the programs), this script (the
# flags) or the compiler changed, there is no dependency file, or the last
# compile was another checkout's (its dependency file names that one's).  A
# compile that fails or warns leaves no program, so that the next run
# compiles and reports again.
build_prog() {
	local out=$1 src=$2 log dep d f deps=() stale=
	dep="$GUEST/deps/${out#"$GUEST"/}.d"
	if [ -x "$out" ] && [ -f "$dep" ]; then
		# The file is "OUT: SRC HEADER...", its lines continued with
		# backslashes: the files after the target, by their real
		# paths (-ffile-prefix-map does not apply to them).
		d=$(<"$dep")
		d=${d//\\$'\n'/ }
		read -r -d '' -a deps <<<"${d#*: }" || true
		# Those paths are the checkout's that compiled it: from another
		# checkout (a worktree, CI's clone) they say nothing of ours.
		[ "$(cat "$dep.src" 2>/dev/null)" = "$SRC_DIR" ] || deps=(/nonexistent)
		for f in "${deps[@]}" "$BENCH_DIR/initramfs.sh" "$(command -v "$CC")"; do
			if [ ! -e "$f" ] || [ "$f" -nt "$out" ]; then
				stale=1
				break
			fi
		done
		[ -n "$stale" ] || return 0
	fi
	mkdir -p "$(dirname "$dep")"
	log="$BENCH_LOGDIR/cc-$(basename "$out").log"
	step "guest: compiling $(basename "$out")${GUEST_TAG:+ ($KARCH)}"
	"$CC" "${CFLAGS[@]}" -MD -MF "$dep" -o "$out" "$src" >"$log" 2>&1 || {
		rm -f "$out" "$dep"
		sed 's/^/    /' "$log" | head -20 >&2
		die "compiling $src failed; see $log"
	}
	if [ -s "$log" ]; then
		rm -f "$out" "$dep"
		sed 's/^/    /' "$log" | head -20 >&2
		die "compiling $src gave warnings; see $log"
	fi
	echo "$SRC_DIR" >"$dep.src"
}

img="$GUEST/initramfs-$variant.cpio"
# The modules a Debian kernel's guest loads (the rest come as their
# dependencies).
DEBIAN_MODULES="kvm_amd kvm_intel vfio vfio_pci vfio_iommu_type1 9p 9pnet_virtio virtio_pci"

# pack STAGE: the image of VARIANT, whose path is printed.  The same
# files give the same image (fixed mtimes, no inode numbers), so that an
# oracle's results can be keyed by it (run.sh).
pack() {
	find "$1" -exec touch -h -d @0 {} +
	(cd "$1" && find . | LC_ALL=C sort |
		cpio -o -H newc --quiet --reproducible) >"$img"
	echo "$img"
}

# prune DIR NAME...: DIR keeps only the programs NAME... (a test deleted
# from the tree is not run from the cache).
prune() {
	local dir=$1 f
	shift
	for f in "$dir"/*; do
		[ -e "$f" ] || continue
		case " $* " in
		*" $(basename "$f") "*) ;;
		*) rm -rf "$f" ;;
		esac
	done
}

# write_plan FILE: what this kernel's guest runs, from the suite table
# (bench/suites): its /init runs exactly these programs (none for a kernel
# no run row names, such as the benchmark's; the verdict fails a check
# kernel without rows).  KVM_VFIO_SUITES (make test SUITES=): of those
# suites only.
write_plan() {
	python3 "$BENCH_DIR/suites.py" plan "$KLINE-$variant" \
		${KVM_VFIO_SUITES:+--only "$KVM_VFIO_SUITES"} >"$1" ||
		die "$KLINE-$variant: bench/suites cannot give its plan (see the message above)"
}

# ppc64: a static /init runs the tests; the kernel has no modules.
if [ "$KARCH" = powerpc ]; then
	build_prog "$GUEST/init" "$BENCH_DIR/guest/ppc64_init.c"
	progs=()
	for src in "$SRC_DIR"/tools/testing/selftests/kvm/powerpc/kvm_vfio*_test.c; do
		build_prog "$TESTS/$(basename "$src" .c)" "$src"
		progs+=("$(basename "$src" .c)")
	done
	prune "$TESTS" "${progs[@]}" kselftests
	stage="$GUEST/stage-$variant"
	rm -rf "$stage"
	mkdir -p "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" \
		"$stage/tests"
	cp "$GUEST/init" "$stage/init"
	cp "$TESTS"/kvm_vfio* "$stage/tests/"
	write_plan "$stage/tests/plan"
	# The module kernel: kvm-vfio.ko as DKMS installed it, which /init
	# loads (no modprobe here).
	if [ "$V_EXTRA" = module ]; then
		krel=$(cat "$OUT/include/config/kernel.release")
		ko=$(dkms_ko "$variant" "$krel")
		[ -f "$ko" ] || die "$variant: no DKMS-installed $ko; run bench/kernel.sh build $variant"
		mkdir -p "$stage/lib/modules"
		cp "$ko" "$stage/lib/modules/kvm-vfio.ko"
	fi
	pack "$stage"
	exit 0
fi

# guest_busybox: the busybox-static of the guest's architecture: the
# host's on x86_64; else Debian's package of the same version for KARCH,
# fetched once into the cache (apt_fetch: nothing is installed).
guest_busybox() {
	local ver suite bb deb dir="$KVM_VFIO_CACHE/apt/busybox-$KARCH"
	if [ "$KARCH" = x86_64 ]; then
		echo /bin/busybox
		return
	fi
	ver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
		die "busybox-static is not installed; run bench/deps.sh as root"
	bb="$dir/busybox-$ver"
	if [ ! -x "$bb" ]; then
		step "guest: fetching Debian's busybox-static $ver for $KARCH"
		suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
		rm -rf "$dir/deb"
		APT_FETCH_ARCH=$KARCH apt_fetch "$suite" "$dir/deb" \
			"$BENCH_LOGDIR/busybox-$KARCH.log" "busybox-static=$ver" ||
			die "cannot fetch busybox-static $ver for $KARCH; see $BENCH_LOGDIR/busybox-$KARCH.log"
		deb=$(ls "$dir"/deb/busybox-static_*.deb)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$bb.tmp"
		chmod 755 "$bb.tmp"
		mv "$bb.tmp" "$bb"
		rm -rf "$dir/deb"
	fi
	echo "$bb"
}

build_prog "$TESTS/qemu-exit" "$BENCH_DIR/guest/qemu-exit.c"
# kvm_vfio_test is the upstream submission: written on the KVM selftest
# library, it is built by that library's Makefile from the 7.3 tree with
# the series applied (patches/upstream/7.3/), one program for every kernel
# of an architecture, of both lines.
up=$("$BENCH_DIR/upstream.sh" selftest "$KVM_VFIO_CACHE/guest/upstream$GUEST_TAG" "$KARCH")
cmp -s "$up" "$TESTS/kselftests/kvm_vfio_test" ||
	install -m 755 "$up" "$TESTS/kselftests/kvm_vfio_test"
progs=(kvm_vfio_test)
# Upstream's own KVM selftests, from the line's own tree, and the runner
# that gives them one result each.
kt=$("$BENCH_DIR/upstream.sh" kvm-build \
	"$KVM_VFIO_CACHE/guest/upstream-kvm-$("$BENCH_DIR/kernel.sh" src-line)$GUEST_TAG" "$KARCH")
rm -rf "$TESTS/kselftests/upstream-kvm"
for f in $("$BENCH_DIR/upstream.sh" kvm-tests "$KARCH"); do
	mkdir -p "$TESTS/kselftests/upstream-kvm/$(dirname "$f")"
	install -m 755 "$kt/$f" "$TESTS/kselftests/upstream-kvm/$f"
done
install -m 755 "$BENCH_DIR/guest/upstream_kvm_selftests" "$TESTS/kselftests/"
progs+=(upstream-kvm upstream_kvm_selftests)
for src in "$SRC_DIR"/tools/testing/selftests/kvm/kvm_vfio*_test.c; do
	[ "$(basename "$src")" != kvm_vfio_test.c ] || continue
	build_prog "$TESTS/kselftests/$(basename "$src" .c)" "$src"
	progs+=("$(basename "$src" .c)")
done
# Shell tests run as they are.  The QEMU client test runs the host's
# qemu-system-x86_64 over 9p, which an arm64 guest cannot run: not packed
# there (Documentation/kvm-vfio/bench.rst, "The arm64 guest").
for src in "$SRC_DIR"/tools/testing/selftests/kvm/kvm_vfio*_test.sh; do
	[ "$KARCH" = x86_64 ] ||
		[ "$(basename "$src")" != kvm_vfio_qemu_test.sh ] || continue
	cmp -s "$src" "$TESTS/kselftests/$(basename "$src")" ||
		install -m 755 "$src" "$TESTS/kselftests/$(basename "$src")"
	progs+=("$(basename "$src")")
done
prune "$TESTS/kselftests" "${progs[@]}"
build_prog "$TESTS/kvm_vfio_demo" "$BENCH_DIR/guest/demo.c"
# The user's tool, which the demo and kvm_vfio_debugfs_test run.
cmp -s "$SRC_DIR/tools/kvm/kvm_vfio_stat" "$TESTS/kvm_vfio_stat" ||
	install -m 755 "$SRC_DIR/tools/kvm/kvm_vfio_stat" "$TESTS/kvm_vfio_stat"
build_prog "$TESTS/kvm_vfio_bench" \
	"$SRC_DIR/tools/testing/selftests/kvm/kvm_vfio_bench.c"
build_prog "$TESTS/kvm_vfio_module_test" "$BENCH_DIR/guest/module_test.c"

# The image of VARIANT: busybox, /init, the tests and that kernel's
# modules.
stage="$GUEST/stage-$variant"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/tests"
cp "$(guest_busybox)" "$stage/bin/busybox"
# modprobe is kmod's, as on the distributions: busybox's takes a module
# that is still loading (in /proc/modules, its init not yet run) for
# loaded and returns at once, so a second KVM_CREATE_DEVICE racing the
# first one's autoload would find no device type.  kmod waits for it.
# The host's kmod runs only on x86_64; the arm64 kernels have no module
# mode, and busybox's modprobe loads their samples.
if [ "$KARCH" = x86_64 ]; then
	KMOD=$(command -v kmod) || die "no kmod; run bench/deps.sh as root"
	mkdir -p "$stage/sbin" "$stage/usr/bin"
	cp "$KMOD" "$stage/usr/bin/kmod"
	ln -s /usr/bin/kmod "$stage/sbin/modprobe"
	for lib in $(ldd "$KMOD" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
fi
cp "$BENCH_DIR/guest/init" "$stage/init"
cp -r "$TESTS/." "$stage/tests/"
write_plan "$stage/tests/plan"
# The stock kernel with the series we send upstream runs the series' own
# selftest, twice: on the mtty mdev it falls back to, and on the PCI device
# named the VFIO selftests' way (kvm_vfio_test-pci).
# Debian's kernels run it on edu too: they have no mtty.
[ "$V_TREE" != stockfix ] || prune "$stage/tests/kselftests" kvm_vfio_test
case "$V_TREE" in
stockfix | debian)
	install -m 755 "$BENCH_DIR/guest/kvm_vfio_test-pci" "$stage/tests/kselftests/" ;;
esac
# The kernel's modules, with modules.dep for modprobe.
krel=$(cat "$OUT/include/config/kernel.release")
if [ "$V_TREE" = debian ]; then
	# Debian's kernel has thousands: those the guest loads (KVM, VFIO and
	# vfio-pci, the 9p mount of the QEMU client test) and what they
	# depend on, as the package has them (compressed or not; kmod
	# loads both).
	root="$OUT/root"
	[ -f "$root/lib/modules/$krel/modules.dep" ] || depmod -b "$root" "$krel"
	for m in $DEBIAN_MODULES; do
		modprobe -d "$root" -S "$krel" --show-depends "$m" ||
			die "$variant: Debian's $krel has no module $m"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		mkdir -p "$stage$(dirname "${f#"$root"}")"
		cp "$f" "$stage${f#"$root"}"
	done
	mkdir -p "$stage/lib/modules/$krel"
	cp "$root/lib/modules/$krel"/modules.builtin* "$stage/lib/modules/$krel/"
	cp "$root/lib/modules/$krel/modules.order" "$stage/lib/modules/$krel/"
	depmod -b "$stage" "$krel"
else
	make -s -C "$OUT" "${KMAKE[@]}" INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1 \
		modules_install >"$BENCH_LOGDIR/modules-install-$variant.log" 2>&1 ||
		die "$variant: modules_install failed; see $BENCH_LOGDIR/modules-install-$variant.log"
	[ -f "$stage/lib/modules/$krel/modules.dep" ] ||
		depmod -b "$stage" "$krel"
fi
# Out-of-tree modules that modprobe finds (the stock kernel's test driver).
if [ -d "$OUT/extra" ]; then
	mkdir -p "$stage/lib/modules/$krel/extra"
	cp "$OUT"/extra/*.ko "$stage/lib/modules/$krel/extra/"
	depmod -b "$stage" "$krel"
fi
# The module kernel: kvm-vfio.ko as DKMS installed it (kernel.sh), where
# modprobe finds it by its alias, and its srcversion, which the guest
# checks against the module it loaded.
if [ "$V_EXTRA" = module ]; then
	ko=$(dkms_ko "$variant" "$krel")
	[ -f "$ko" ] || die "$variant: no DKMS-installed $ko; run bench/kernel.sh build $variant"
	mkdir -p "$stage/lib/modules/$krel/updates/dkms"
	cp "$ko" "$stage/lib/modules/$krel/updates/dkms/"
	modinfo -F srcversion "$ko" >"$stage/lib/modules/kvm-vfio.srcversion"
	depmod -b "$stage" "$krel"
fi
if [ -n "${RUN_PROG:-}" ]; then
	[ -f "$RUN_PROG" ] || die "RUN_PROG=$RUN_PROG: no such file"
	mkdir -p "$stage/tests/run-guest"
	cp "$RUN_PROG" "$stage/tests/run-guest/prog"
	chmod +x "$stage/tests/run-guest/prog"
fi
pack "$stage"
