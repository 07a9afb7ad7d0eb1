#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare and build the test kernels.
#
#   kernel.sh src              unpack the pristine linux-source tree (once)
#   kernel.sh build VARIANT    prepare VARIANT's tree and build it
#
# VARIANT is "stock" (the pristine tree), "ours" (a hard-linked copy of it
# with our patches applied and our files overlaid) or "module" (our tree
# configured without the built-in device, plus kvm-vfio.ko built out of
# tree from the same sources): the debug kernels of the tests.
# "stock-nodebug" and "ours-nodebug" are their twins without the debugging
# options, for the benchmark.  "stock-ppc64" and "ours-ppc64" are pseries
# (ppc64le, KVM PR) kernels, cross-built, for the sPAPR TCE path;
# "stockfix-ppc64" is the pristine tree with only patches/upstream/ applied
# (the fix we send upstream), built on demand.  Each variant has its own
# output folder (O=).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Where our files land in the kernel tree.  Everything under these folders
# of the repository is copied to the same path; the top-level Kconfig is
# sourced from virt/kvm/Kconfig by our first patch.
OVERLAY_DIRS=(virt include tools Documentation)

# The kernel lines (KLINE) and where their sources come from: 6.12 is
# Debian 12's linux-source-6.12, installed by deps.sh; 7.3 is
# trixie-backports' linux-source-7.3 at a pinned version, fetched into the
# cache (apt_fetch: the machine's apt sources are not touched).
case "$KLINE" in
6.12) SRC_SUITE= SRC_PIN= ;;
7.3) SRC_SUITE=trixie-backports
     SRC_PIN=${LINUX_SOURCE_7_3_VERSION:-7.3.4-1~bpo13+1} ;;
*) die "unknown kernel line KLINE=$KLINE (expected 6.12 or 7.3)" ;;
esac

src_version() {
	if [ -n "$SRC_PIN" ]; then
		echo "$SRC_PIN"
		return
	fi
	dpkg-query -W -f='${Version}' "linux-source-$KLINE" 2>/dev/null ||
		die "linux-source-$KLINE is not installed; run bench/deps.sh as root"
}

# unpack_fetched DEST: the pinned linux-source package of $SRC_SUITE,
# downloaded and its tarball unpacked into DEST; the package is deleted
# once the tree is there.
unpack_fetched() {
	local dest=$1 name=$2 debs="$KVM_VFIO_CACHE/apt/$SRC_SUITE/linux-source" deb
	local log="$BENCH_LOGDIR/linux-source-$KLINE.log"
	deb=$(ls "$debs"/linux-source-"${KLINE}"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ] || [ "$(dpkg-deb -f "$deb" Version)" != "$KVER" ]; then
		step "fetching linux-source-$KLINE $KVER from $SRC_SUITE (167 MB)"
		rm -rf "$debs"
		apt_fetch "$SRC_SUITE" "$debs" "$log" "linux-source-$KLINE=$KVER" ||
			die "cannot fetch linux-source-$KLINE $KVER; set LINUX_SOURCE_${KLINE//./_}_VERSION to a version $SRC_SUITE has"
		deb=$(ls "$debs"/linux-source-"${KLINE}"_*.deb)
	fi
	step "unpacking linux-source-$KLINE $KVER into $name"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$KLINE.tar.xz" |
		tar -C "$dest" --strip-components=1 -xJf - ||
		die "unpacking linux-source-$KLINE from $deb failed (disk full?)"
	rm -rf "$debs"
}

KVER=$(src_version)
SRC_ROOT="$KVM_VFIO_CACHE/src/$KLINE"
PRISTINE="$SRC_ROOT/pristine-${KVER//[^A-Za-z0-9.+-]/_}"
BUILD_ROOT="$KVM_VFIO_CACHE/build/$KLINE"

unpack_pristine() {
	local tarball="/usr/src/linux-source-$KLINE.tar.xz"
	[ -f "$PRISTINE/.kvm-vfio-unpacked" ] && return 0
	need_space "$KVM_VFIO_CACHE" 4096
	rm -rf "$PRISTINE" "$PRISTINE.tmp"
	mkdir -p "$PRISTINE.tmp"
	if [ -n "$SRC_PIN" ]; then
		unpack_fetched "$PRISTINE.tmp" "$PRISTINE"
	else
		[ -f "$tarball" ] || die "$tarball missing; run bench/deps.sh as root"
		step "unpacking linux-source-$KLINE $KVER into $PRISTINE"
		tar -C "$PRISTINE.tmp" --strip-components=1 -xJf "$tarball" ||
			die "unpacking $tarball failed (disk full?)"
	fi
	echo "$KVER" >"$PRISTINE.tmp/.kvm-vfio-unpacked"
	mv "$PRISTINE.tmp" "$PRISTINE"
	# Remove trees of other point releases that the cache still holds.
	find "$SRC_ROOT" -maxdepth 1 -name 'pristine-*' ! -path "$PRISTINE" \
		-exec rm -rf {} + 2>/dev/null || true
}

overlay_files() {
	local d
	for d in "${OVERLAY_DIRS[@]}"; do
		if [ -d "$SRC_DIR/$d" ]; then (cd "$SRC_DIR" && find "$d" -type f); fi
	done | sort
}

patch_files() {
	ls "$SRC_DIR/patches/$KLINE"/*.patch 2>/dev/null || true
}

upstream_patch_files() {
	ls "$SRC_DIR/patches/upstream/$KLINE"/*.patch 2>/dev/null || true
}

# patch_tree NAME TREE PATCH...: TREE becomes a hard-linked copy of the
# pristine tree with PATCHes applied.
patch_tree() {
	local name=$1 tree=$2 p f
	shift 2
	step "$name: creating $tree from pristine $KVER"
	rm -rf "$tree"
	cp -al "$PRISTINE" "$tree"
	for p in "$@"; do
		# Break the hard links of the files the patch touches so the
		# pristine tree is never written through them.
		for f in $(sed -n 's|^+++ b/||p' "$p"); do
			if [ -f "$tree/$f" ] && [ "$(stat -c %h "$tree/$f")" -gt 1 ]; then
				cp "$tree/$f" "$tree/$f.unlink"
				mv -f "$tree/$f.unlink" "$tree/$f"
			fi
		done
		step "$name: applying $(basename "$p")"
		patch -d "$tree" -p1 -s --no-backup-if-mismatch <"$p" ||
			die "patch $p does not apply to linux-source-$KLINE $KVER"
	done
}

# The pristine tree with only the fixes we send upstream.
prepare_stockfix() {
	local tree="$SRC_ROOT/stockfix" stamp p
	stamp=$( { echo "$KVER"; for p in $(upstream_patch_files); do
		basename "$p"; sha1sum <"$p"; done; } | sha1sum | cut -d' ' -f1)
	[ "$(cat "$tree/.kvm-vfio-stamp" 2>/dev/null)" = "$stamp" ] && return 0
	# shellcheck disable=SC2046
	patch_tree stockfix "$tree" $(upstream_patch_files)
	echo "$stamp" >"$tree/.kvm-vfio-stamp"
}

# The tree of "ours" is rebuilt from the pristine one when the set of
# patches or overlaid files changes; otherwise only changed files are copied
# so that make rebuilds what depends on them and nothing else.
prepare_ours() {
	local tree="$SRC_ROOT/ours" stamp p f
	# Content only: the same change checked out elsewhere (CI's fresh
	# clone) must not recreate the tree and rebuild what the patches touch.
	stamp=$( { echo "$KVER"; overlay_files; for p in $(patch_files); do
		basename "$p"; sha1sum <"$p"; done; } | sha1sum | cut -d' ' -f1)
	if [ "$(cat "$tree/.kvm-vfio-stamp" 2>/dev/null)" != "$stamp" ]; then
		# shellcheck disable=SC2046
		patch_tree ours "$tree" $(patch_files)
		echo "$stamp" >"$tree/.kvm-vfio-stamp"
	fi
	overlay_files | while read -r f; do
		cmp -s "$SRC_DIR/$f" "$tree/$f" || {
			mkdir -p "$(dirname "$tree/$f")"
			cp --remove-destination "$SRC_DIR/$f" "$tree/$f"
		}
	done
	mkdir -p "$tree/virt/kvm/vfio"
	cmp -s "$SRC_DIR/Kconfig" "$tree/virt/kvm/vfio/Kconfig" ||
		cp --remove-destination "$SRC_DIR/Kconfig" "$tree/virt/kvm/vfio/Kconfig"
}

VARIANTS_HELP="stock, ours, module, stock-nodebug, ours-nodebug, stock-ppc64, ours-ppc64 or stockfix-ppc64"

variant_tree() {
	case "$1" in
	stock | stock-nodebug | stock-ppc64) echo "$PRISTINE" ;;
	ours | module | ours-nodebug | ours-ppc64) echo "$SRC_ROOT/ours" ;;
	stockfix-ppc64) echo "$SRC_ROOT/stockfix" ;;
	*) die "unknown kernel variant '$1' (expected $VARIANTS_HELP)" ;;
	esac
}

prepare_tree() {
	case "$1" in
	ours | module | ours-nodebug | ours-ppc64) prepare_ours ;;
	stockfix-ppc64) prepare_stockfix ;;
	esac
}

# The architecture of VARIANT: KARCH, the make arguments (KMAKE), the build
# targets and the image QEMU boots, relative to the output folder.
set_arch() {
	case "$1" in
	*-ppc64)
		KARCH=powerpc
		KMAKE=(ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu-
		       CC="ccache powerpc64le-linux-gnu-gcc")
		KTARGETS=(vmlinux)
		KIMAGE=vmlinux ;;
	*)
		KARCH=x86_64
		KMAKE=(ARCH=x86_64 CC="ccache gcc")
		KTARGETS=(bzImage modules)
		KIMAGE=arch/x86/boot/bzImage ;;
	esac
}

# configure VARIANT TREE OUT: tinyconfig + our fragments, redone only when a
# fragment changes, then checked: every requested option must have stuck.
configure() {
	local variant=$1 tree=$2 out=$3 frags stamp log
	case "$variant" in
	*-ppc64) frags=("$BENCH_DIR/config/ppc64.config"
			"$BENCH_DIR/config/ppc64-debug.config") ;;
	*-nodebug) frags=("$BENCH_DIR/config/base.config") ;;
	*) frags=("$BENCH_DIR/config/base.config"
		  "$BENCH_DIR/config/debug.config") ;;
	esac
	# Per-line additions, only where an option changed name or appeared.
	[ ! -f "$BENCH_DIR/config/line-$KLINE.config" ] ||
		frags+=("$BENCH_DIR/config/line-$KLINE.config")
	case "$variant" in
	ours) frags+=("$BENCH_DIR/config/ours.config") ;;
	ours-ppc64) frags+=("$BENCH_DIR/config/ours-ppc64.config") ;;
	module) frags+=("$BENCH_DIR/config/module.config") ;;
	esac
	stamp=$(cat "${frags[@]}" | sha1sum | cut -d' ' -f1)
	[ -f "$out/.config" ] &&
		[ "$(cat "$out/.kvm-vfio-config" 2>/dev/null)" = "$stamp" ] && return 0
	log="$BENCH_LOGDIR/config-$KLINE-$variant.log"
	step "$variant: configuring (tinyconfig + ${frags[*]##*/})"
	{
		make -C "$tree" O="$out" "${KMAKE[@]}" tinyconfig &&
		(cd "$out" && ARCH=$KARCH "$tree/scripts/kconfig/merge_config.sh" \
			-m .config "${frags[@]}") &&
		make -C "$tree" O="$out" "${KMAKE[@]}" olddefconfig
	} >"$log" 2>&1 || die "$variant: kernel configuration failed; see $log"
	# The last fragment that sets an option wins, as in merge_config.sh.
	local opt missing=()
	while read -r opt; do
		grep -qx "$opt" "$out/.config" || missing+=("$opt")
	done < <(grep -h '^CONFIG_' "${frags[@]}" | tac | sort -u -t= -k1,1)
	[ ${#missing[@]} -eq 0 ] ||
		die "$variant: options not set after olddefconfig: ${missing[*]} (unmet dependencies?); see $log"
	echo "$stamp" >"$out/.kvm-vfio-config"
}

build() {
	local variant=$1 tree out log t0
	unpack_pristine
	tree=$(variant_tree "$variant")
	prepare_tree "$variant"
	set_arch "$variant"
	out="$BUILD_ROOT/$variant"
	mkdir -p "$out"
	need_space "$KVM_VFIO_CACHE" 2048
	configure "$variant" "$tree" "$out"
	log="$BENCH_LOGDIR/build-$KLINE-$variant.log"
	step "$variant: building linux $KVER (log: $log)"
	t0=$SECONDS
	export CCACHE_DIR=${CCACHE_DIR:-$KVM_VFIO_CACHE/ccache}
	export CCACHE_BASEDIR="$KVM_VFIO_CACHE"
	if ! make -C "$tree" O="$out" "${KMAKE[@]}" \
		-j"${JOBS:-3}" "${KTARGETS[@]}" 2>&1 | tee "$log" |
		awk '/^  [A-Z]/ { n++; if (n % 250 == 0) { print "    ... " n " build steps"; fflush() } }'
	then
		grep -m5 -E 'error|Error' "$log" | sed 's/^/    /' >&2 || true
		die "$variant: kernel build failed; see $log"
	fi
	[ "$variant" != module ] || build_module "$out"
	[ "$variant" != stock ] || build_test_driver "$out"
	step "$variant: built in $((SECONDS - t0)) s: $out/$KIMAGE"
}

# kvm-vfio.ko for the module kernel, with the project's own Kbuild, from a
# copy of the sources (kbuild writes objects beside them).
build_module() {
	local out=$1 msrc="$KVM_VFIO_CACHE/module-src/$KLINE" f log
	log="$BENCH_LOGDIR/module-$KLINE.log"
	mkdir -p "$msrc"
	for f in Kbuild virt/kvm/vfio.c virt/kvm/vfio.h virt/kvm/vfio_compat.h \
		virt/kvm/vfio_test.c virt/kvm/vfio_module.c \
		include/uapi/linux/kvm_vfio.h include/trace/events/kvm_vfio.h; do
		mkdir -p "$msrc/$(dirname "$f")"
		cmp -s "$SRC_DIR/$f" "$msrc/$f" || cp "$SRC_DIR/$f" "$msrc/$f"
	done
	step "module: building kvm-vfio.ko out of tree (log: $log)"
	make -C "$out" M="$msrc" CC="ccache gcc" modules >"$log" 2>&1 ||
		die "module: building kvm-vfio.ko failed; see $log"
	cp "$msrc/kvm-vfio.ko" "$out/kvm-vfio.ko"
}

# The test VFIO driver for a kernel without our overlay (stock): built out
# of tree from a copy of virt/kvm/vfio/, installed as OUT/extra/*.ko.
build_test_driver() {
	local out=$1 dsrc="$KVM_VFIO_CACHE/test-driver-src/$KLINE" f log
	log="$BENCH_LOGDIR/test-driver-$KLINE.log"
	mkdir -p "$dsrc" "$out/extra"
	for f in Makefile test_driver.c test_driver.h; do
		cmp -s "$SRC_DIR/virt/kvm/vfio/$f" "$dsrc/$f" ||
			cp "$SRC_DIR/virt/kvm/vfio/$f" "$dsrc/$f"
	done
	step "stock: building the test VFIO driver out of tree (log: $log)"
	make -C "$out" M="$dsrc" CC="ccache gcc" CONFIG_KVM_VFIO_TEST_DRIVER=m \
		modules >"$log" 2>&1 ||
		die "stock: building kvm_vfio_test_driver.ko failed; see $log"
	cp "$dsrc/kvm_vfio_test_driver.ko" "$out/extra/"
}

case "${1:-}" in
src) unpack_pristine ;;
build) build "${2:?usage: kernel.sh build VARIANT ($VARIANTS_HELP)}" ;;
tree)
	unpack_pristine
	prepare_tree "${2:-ours}"
	variant_tree "${2:-ours}" ;;
out) echo "$BUILD_ROOT/${2:?}" ;;
image)
	variant_tree "${2:?}" >/dev/null
	set_arch "$2"
	echo "$BUILD_ROOT/$2/$KIMAGE" ;;
version) echo "$KVER" ;;
*) die "usage: kernel.sh src | build VARIANT | tree VARIANT | out VARIANT | image VARIANT | version (VARIANT: $VARIANTS_HELP)" ;;
esac
