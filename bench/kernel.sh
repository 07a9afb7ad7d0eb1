#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare and build the test kernels.
#
#   kernel.sh src              unpack the pristine linux-source tree (once)
#   kernel.sh build VARIANT    prepare VARIANT's tree and build it
#   kernel.sh tree|out|image VARIANT   print VARIANT's tree, output folder
#                              or the image QEMU boots
#   kernel.sh version          the linux-source version of KLINE
#
# The kernels, KLINE-VARIANT, are the rows of bench/variants: which tree
# (pristine, ours or stockfix), architecture and config fragments each
# has.  Every variant has its own tree under build/<line>/<variant>, a
# hard-linked copy of the pristine one (patched and overlaid for ours),
# with its output folder inside it (O=<tree>/out): kbuild then names
# every source by the same relative path in every variant, and ccache
# serves the second and third kernel of a line from the first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Where our files land in the kernel tree.  Everything under these folders
# of the repository is copied to the same path; the top-level Kconfig is
# sourced from virt/kvm/Kconfig by our first patch.
OVERLAY_DIRS=(virt include tools Documentation)

# The kernel lines (KLINE) and where their sources come from: 6.12 is
# Debian 12's linux-source-6.12, installed by deps.sh; 7.3 is
# trixie-backports' linux-source-7.3 at a pinned version, fetched into the
# cache (apt_fetch: the machine's apt sources are not touched).  6.1 has
# only Debian's own kernel (tree "debian": nothing is built); the UAPI
# headers its guest's test programs are compiled with are 6.12's (SRC_LINE),
# as they must name the calls 6.1 lacks to test that it lacks them.
SRC_LINE=$KLINE
case "$KLINE" in
6.12) SRC_SUITE= SRC_PIN= ;;
7.3) SRC_SUITE=trixie-backports
     SRC_PIN=${LINUX_SOURCE_7_3_VERSION:-7.3.4-1~bpo13+1} ;;
6.1) SRC_LINE=6.12 SRC_SUITE= SRC_PIN= ;;
*) die "unknown kernel line KLINE=$KLINE (expected 6.12, 7.3 or 6.1)" ;;
esac

src_version() {
	if [ -n "$SRC_PIN" ]; then
		echo "$SRC_PIN"
		return
	fi
	dpkg-query -W -f='${Version}' "linux-source-$SRC_LINE" 2>/dev/null ||
		die "linux-source-$SRC_LINE is not installed; run bench/deps.sh as root"
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
SRC_ROOT="$KVM_VFIO_CACHE/src/$SRC_LINE"
PRISTINE="$SRC_ROOT/pristine-${KVER//[^A-Za-z0-9.+-]/_}"
BUILD_ROOT="$KVM_VFIO_CACHE/build/$KLINE"

unpack_pristine() {
	local tarball="/usr/src/linux-source-$SRC_LINE.tar.xz"
	[ -f "$PRISTINE/.kvm-vfio-unpacked" ] && return 0
	# Unpacking deletes trees that another run may be reading ('src' and
	# 'pristine' take the lock only now, so that printing a path never
	# waits); that run may also have unpacked it while this one waited.
	cache_lock
	[ -f "$PRISTINE/.kvm-vfio-unpacked" ] && return 0
	need_space "$KVM_VFIO_CACHE" 4096
	rm -rf "$PRISTINE" "$PRISTINE.tmp"
	mkdir -p "$PRISTINE.tmp"
	if [ -n "$SRC_PIN" ]; then
		unpack_fetched "$PRISTINE.tmp" "$PRISTINE"
	else
		[ -f "$tarball" ] || die "$tarball missing; run bench/deps.sh as root"
		step "unpacking linux-source-$SRC_LINE $KVER into $PRISTINE"
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

# The series we send upstream, without its cover letter.
upstream_patch_files() {
	ls "$SRC_DIR/patches/upstream/$KLINE"/*.patch 2>/dev/null |
		grep -v '/0000-cover-letter\.patch$' || true
}

# The patches of a tree kind: ours takes patches/<line>/, stockfix only
# the fixes we send upstream, pristine none.
tree_patches() {
	case "$1" in
	ours) patch_files ;;
	stockfix) upstream_patch_files ;;
	esac
}

# unlink_copy FILE: FILE gets an inode of its own (the pristine tree is
# never written through a hard link) and a new mtime.
unlink_copy() {
	cp "$1" "$1.unlink"
	mv -f "$1.unlink" "$1"
}

# make_tree NAME TREE KIND: TREE becomes a hard-linked copy of the
# pristine tree with KIND's patches applied.  Its output folder
# (TREE/out) is kept, and the files that the old and the new patch sets
# touch get new mtimes, so make rebuilds exactly what they change.
make_tree() {
	local name=$1 tree=$2 kind=$3 p f keep="$2.out-keep" touched
	step "$name: creating its tree from pristine $KVER"
	touched=$(cat "$tree/.kvm-vfio-patched" 2>/dev/null || true)
	rm -rf "$keep"
	[ ! -d "$tree/out" ] || mv "$tree/out" "$keep"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -al "$PRISTINE" "$tree"
	rm -f "$tree/.kvm-vfio-unpacked"
	for p in $(tree_patches "$kind"); do
		for f in $(sed -n 's|^+++ b/||p' "$p"); do
			[ ! -f "$tree/$f" ] || unlink_copy "$tree/$f"
			touched+=$'\n'"$f"
		done
		step "$name: applying $(basename "$p")"
		patch -d "$tree" -p1 -s --no-backup-if-mismatch <"$p" ||
			die "patch $p does not apply to linux-source-$KLINE $KVER"
	done
	# Files a patch touched before and no longer does are pristine again,
	# older than their objects: new mtimes make them rebuild.
	for f in $touched; do
		[ ! -f "$tree/$f" ] || [ "$(stat -c %h "$tree/$f")" -eq 1 ] ||
			unlink_copy "$tree/$f"
	done
	printf '%s\n' $touched | sort -u >"$tree/.kvm-vfio-patched"
	[ ! -d "$keep" ] || mv "$keep" "$tree/out"
}

# sync_overlay TREE: our files copied over TREE where they differ (make
# rebuilds what depends on them and nothing else); a file we overlaid
# before and no longer have gets its pristine version back, or goes.
sync_overlay() {
	local tree=$1 f
	overlay_files >"$tree/.kvm-vfio-overlay.new"
	while read -r f; do
		cmp -s "$SRC_DIR/$f" "$tree/$f" || {
			mkdir -p "$(dirname "$tree/$f")"
			cp --remove-destination "$SRC_DIR/$f" "$tree/$f"
		}
	done <"$tree/.kvm-vfio-overlay.new"
	if [ -f "$tree/.kvm-vfio-overlay" ]; then
		comm -23 "$tree/.kvm-vfio-overlay" "$tree/.kvm-vfio-overlay.new" |
		while read -r f; do
			rm -f "$tree/$f"
			[ ! -f "$PRISTINE/$f" ] || cp "$PRISTINE/$f" "$tree/$f"
		done
	fi
	mv "$tree/.kvm-vfio-overlay.new" "$tree/.kvm-vfio-overlay"
	mkdir -p "$tree/virt/kvm/vfio"
	cmp -s "$SRC_DIR/Kconfig" "$tree/virt/kvm/vfio/Kconfig" ||
		cp --remove-destination "$SRC_DIR/Kconfig" "$tree/virt/kvm/vfio/Kconfig"
}

# prepare_tree VARIANT: VARIANT's tree, made again from the pristine one
# only when its patch set changes (the stamp hashes the patches' content,
# so CI's fresh clone elsewhere reuses it); then, for ours, our files.
prepare_tree() {
	local tree p stamp
	tree=$(variant_tree "$1")
	stamp=$( { echo "$KVER $V_TREE"; for p in $(tree_patches "$V_TREE"); do
		basename "$p"; sha1sum <"$p"; done; } | sha1sum | cut -d' ' -f1)
	[ "$(cat "$tree/.kvm-vfio-stamp" 2>/dev/null)" = "$stamp" ] || {
		make_tree "$KLINE-$1" "$tree" "$V_TREE"
		echo "$stamp" >"$tree/.kvm-vfio-stamp"
	}
	[ "$V_TREE" != ours ] || sync_overlay "$tree"
}

variant_tree() {
	echo "$BUILD_ROOT/$1"
}

# variant_out VARIANT: its output folder, inside its tree.
variant_out() {
	echo "$BUILD_ROOT/$1/out"
}

# config_frags: the config fragments of the loaded variant, in merge
# order, in FRAGS.
config_frags() {
	local f
	FRAGS=()
	for f in ${V_CONFIG//,/ }; do
		# The KVM selftests' own fragment, from the kernel's tree.
		if [ "$f" = kvm-selftests ]; then
			FRAGS+=("$(variant_tree "$variant")/tools/testing/selftests/kvm/config")
			continue
		fi
		FRAGS+=("$BENCH_DIR/config/$f.config")
		# Per-line additions, only where an option changed name or appeared.
		[ "$f" != base ] || [ ! -f "$BENCH_DIR/config/line-$KLINE.config" ] ||
			FRAGS+=("$BENCH_DIR/config/line-$KLINE.config")
	done
}

# configure VARIANT TREE OUT: tinyconfig + VARIANT's fragments, redone when
# a fragment, the tree's patch set (its stamp) or, for ours, our Kconfig
# changes (a patch or a Kconfig can drop an option as well as a fragment);
# then checked every time (config_check).
configure() {
	local variant=$1 tree=$2 out=$3 stamp log
	config_frags
	log="$BENCH_LOGDIR/config-$KLINE-$variant.log"
	stamp=$( { cat "${FRAGS[@]}" "$tree/.kvm-vfio-stamp"
		[ "$V_TREE" != ours ] || cat "$SRC_DIR/Kconfig"; } |
		sha1sum | cut -d' ' -f1)
	if [ ! -f "$out/.config" ] ||
		[ "$(cat "$out/.kvm-vfio-config" 2>/dev/null)" != "$stamp" ]; then
		step "$variant: configuring (tinyconfig + ${FRAGS[*]##*/})"
		rm -f "$out/.kvm-vfio-config"
		{
			make -C "$tree" O="$out" "${KMAKE[@]}" tinyconfig &&
			(cd "$out" && ARCH=$KARCH "$tree/scripts/kconfig/merge_config.sh" \
				-m .config "${FRAGS[@]}") &&
			make -C "$tree" O="$out" "${KMAKE[@]}" olddefconfig
		} >"$log" 2>&1 || die "$variant: kernel configuration failed; see $log"
		echo "$stamp" >"$out/.kvm-vfio-config"
	fi
	config_check "$variant" "$out" olddefconfig "$log"
}

# config_check VARIANT OUT WHEN LOG: every option VARIANT's fragments
# request must be in OUT/.config, after a reconfigure and after every
# build as well: an unchanged fragment proves nothing when a patch or a
# Kconfig change dropped the option (kbuild's syncconfig does that quietly
# during the build).  On failure the config stamp goes, so that the next
# build configures from the fragments again instead of trusting this
# .config.
config_check() {
	local variant=$1 out=$2 when=$3 log=$4 opt missing=()
	config_frags
	# The last fragment that sets an option wins, as in merge_config.sh,
	# an "is not set" line too (it then asks nothing: an option that
	# something selects may come back, see slim.config).
	while read -r opt; do
		grep -qx "$opt" "$out/.config" || missing+=("$opt")
	done < <(sed -n -e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1=n/p' \
		-e '/^CONFIG_/p' "${FRAGS[@]}" | tac | sort -u -t= -k1,1 |
		grep -v '=n$')
	[ ${#missing[@]} -eq 0 ] && return 0
	rm -f "$out/.kvm-vfio-config"
	die "$variant: options not set after $when: ${missing[*]} (unmet dependencies, or a patch or Kconfig change dropped them?); see $log"
}

# ccache_hits_misses: ccache's hits (direct and preprocessed) and misses
# since the last 'ccache -z'.
ccache_hits_misses() {
	ccache --print-stats 2>/dev/null | awk '
		$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { h += $2 }
		$1 == "cache_miss" { m += $2 }
		END { print h + 0, m + 0 }'
}

# build_inputs TREE TARGET...: what a kernel build depends on besides
# the files of TREE: the configuration (configure's stamp: fragments, the
# tree's patch set, our Kconfig; and .config itself), how make is called
# and what it reads from the environment, the compilers (the target's and
# the host tools') and the linker, the names at the tree's top (a file
# removed there leaves nothing newer), and the scripts that call make.
build_inputs() {
	local tree=$1 cc
	shift
	cc=$(printf '%s\n' "${KMAKE[@]}" | sed -n 's/^CC=\(ccache \)\{0,1\}//p')
	cc=${cc:-gcc}
	{
		cat "$tree/out/.kvm-vfio-config" "$tree/.kvm-vfio-stamp" "$tree/out/.config"
		echo "${KMAKE[*]} | $*"
		env | grep -E '^(K[A-Z]*FLAGS|KBUILD_[A-Z_]*|LOCALVERSION|LLVM|ARCH|CROSS_COMPILE)=' |
			sort || true
		"$cc" --version | head -1
		"${cc%gcc}ld" --version | head -1
		gcc --version | head -1
		find "$tree" -mindepth 1 -maxdepth 1 ! -name '.kvm-vfio-*' -printf '%f\n' | sort
		cat "$BENCH_DIR/kernel.sh" "$BENCH_DIR/arch/$KARCH.sh"
	} | sha1sum | cut -d' ' -f1
}

# unchanged TREE OUT INPUTS: true when OUT holds a kernel built by a
# build that ended well from the same INPUTS, and nothing in TREE (but
# its output folder and our stamps) is newer than that build's start.
# Our files are copied into TREE with new mtimes whenever they differ
# (sync_overlay, make_tree, seed_out), and so is a file edited by hand; a
# file added or removed changes its folder's mtime (TREE's own changes
# with our stamps, which are written there every time).
unchanged() {
	local tree=$1 out=$2 stamp="$2/.kvm-vfio-built" newer
	[ -f "$out/$KIMAGE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$3" ] ||
		return 1
	newer=$(find "$tree" -mindepth 1 -path "$out" -prune -o \
		-path "$tree/.kvm-vfio-*" -prune -o \
		-newer "$stamp" -print -quit) || return 1
	[ -z "$newer" ]
}

# seed_out VARIANT TREE OUT: a kernel's first build starts from a copy of
# the output folder of a built kernel of the same line and architecture
# (same tree kind first), with its mtimes, rather than from nothing.
# kbuild then recompiles only what differs, by what it records per object:
# its command line (out/ lies inside each tree, so sources are named by
# relative paths, the same in every tree) and the CONFIG_ options it
# depends on (syncconfig touches those that change).  The sources that may
# differ between the two trees, either's patches and our overlay, get new
# mtimes in TREE first, so that no object made from the other tree's
# version of one is taken as up to date.  Prints the donor, or nothing.
seed_out() {
	local variant=$1 tree=$2 out=$3 pass k a t d dtree f rows
	[ ! -e "$out/$KIMAGE" ] || return 0
	# LINE-VARIANT ARCH TREE-KIND of this line's kernels.
	rows=$(awk -v line="$KLINE" '/^[^#]/ && NF >= 12 {
		l = $1; sub(/-.*/, "", l); if (l == line) print $1, $2, $3 }' \
		"$BENCH_DIR/variants")
	for pass in same any; do
		while read -r k a t; do
			d=${k#*-}
			[ "$d" != "$variant" ] && [ "$a" = "$V_ARCH" ] &&
				[ "$t" != debian ] || continue
			[ "$pass" = any ] || [ "$t" = "$V_TREE" ] || continue
			dtree=$(variant_tree "$d")
			[ -f "$dtree/out/$KIMAGE" ] || continue
			# In a folder of its own until complete: a kernel whose
			# out/ has an image is never seeded again.
			rm -rf "$out" "$out.seed"
			cp -a "$dtree/out" "$out.seed"
			rm -f "$out.seed/.kvm-vfio-built"
			# objtool is built by tools/' own make, whose command lines
			# name folders by absolute paths: the donor's become this
			# tree's, or objtool, and every object with it, is rebuilt.
			{ grep -rlIZ -F "$dtree/" "$out.seed" || true; } |
				xargs -0r sed -i "s|$dtree/|$tree/|g"
			{ cat "$tree/.kvm-vfio-patched" "$tree/.kvm-vfio-overlay" \
				"$dtree/.kvm-vfio-patched" "$dtree/.kvm-vfio-overlay" \
				2>/dev/null || true; } | sort -u | while read -r f; do
				[ -z "$f" ] || [ ! -f "$tree/$f" ] || unlink_copy "$tree/$f"
			done
			[ ! -f "$tree/virt/kvm/vfio/Kconfig" ] ||
				unlink_copy "$tree/virt/kvm/vfio/Kconfig"
			mv "$out.seed" "$out"
			echo "$d"
			return 0
		done <<<"$rows"
	done
}

# build_extra OUT VARIANT: what bench/variants builds beside the kernel
# (its extra column), each checking its own inputs.
build_extra() {
	case "$V_EXTRA" in
	module) build_module "$1" "$2" ;;
	testdrv) build_test_driver "$1" ;;
	esac
}

build() {
	local variant=$1 tree out log t0 kind hits misses ncc note targets donor inputs
	variant_load "$KLINE" "$variant"
	if [ "$V_TREE" = debian ]; then
		build_debian "$variant"
		return
	fi
	unpack_pristine
	# A tree of the old layout (output folder beside the tree) goes.
	tree=$(variant_tree "$variant")
	[ ! -d "$tree" ] || [ -f "$tree/.kvm-vfio-stamp" ] || rm -rf "$tree"
	rm -rf "$SRC_ROOT/ours" "$SRC_ROOT/stockfix"
	prepare_tree "$variant"
	out=$(variant_out "$variant")
	need_space "$KVM_VFIO_CACHE" 2048
	donor=$(seed_out "$variant" "$tree" "$out")
	mkdir -p "$out"
	configure "$variant" "$tree" "$out"
	# A module kernel also writes Module.symvers, which DKMS builds against.
	targets=("${KTARGETS[@]}")
	[ "$V_EXTRA" != module ] || [[ " ${targets[*]} " = *" modules "* ]] ||
		targets+=(modules)
	t0=$SECONDS
	inputs=$(build_inputs "$tree" "${targets[@]}")
	# Nothing changed since the last build: make is not run at all (a
	# kbuild that has nothing to do still walks the whole tree, 15 to 40
	# s beside two guests).  What is built beside the kernel checks its
	# own inputs.
	if unchanged "$tree" "$out" "$inputs"; then
		config_check "$variant" "$out" "the last build" \
			"$BENCH_LOGDIR/build-$KLINE-$variant.log"
		build_extra "$out" "$variant"
		timing "build $KLINE-$variant" $((SECONDS - t0)) "unchanged, make not run"
		step "$variant: unchanged since its last build, make not run: $out/$KIMAGE"
		return 0
	fi
	# The stamp's mtime is this build's start: a file changed while make
	# runs is newer than it, and the next build runs make.
	rm -f "$out/.kvm-vfio-built"
	echo "$inputs" >"$out/.kvm-vfio-built.new"
	kind=incremental
	[ -f "$out/$KIMAGE" ] || kind=cold
	[ -z "$donor" ] || kind="first, seeded from $donor"
	log="$BENCH_LOGDIR/build-$KLINE-$variant.log"
	rm -f "$log"
	step "$variant: building linux $KVER, $kind (log: $log)"
	export CCACHE_DIR=${CCACHE_DIR:-$KVM_VFIO_CACHE/ccache}
	export CCACHE_BASEDIR="$KVM_VFIO_CACHE"
	# Without debug info the working directory is not hashed anyway;
	# with it, the variants' folders must not keep them apart.
	export CCACHE_NOHASHDIR=1
	# Not ccache's depend mode: it hashes what the compiler's dependency
	# file lists, and an assembler file's .incbin is not in it.  In
	# December 2026 it served arch/x86/boot/compressed/piggy.o, which
	# .incbin's the compressed kernel, from an earlier build whose sizes
	# were the same: the bzImage booted a kernel of a mutant built half an
	# hour before (run.sh now checks the booted kernel's banner).  The
	# preprocessor mode sees .incbin and does not cache such a file.
	export CCACHE_NODEPEND=1
	# ccache's keys do not say which mode made an entry, and turning the
	# depend mode off does not drop those it made: a namespace of our own
	# keeps every earlier entry out (one cold compile per object, once).
	export CCACHE_NAMESPACE=kvm-vfio-nodepend
	ccache -z >/dev/null 2>&1 || true
	if ! make -C "$tree" O="$out" "${KMAKE[@]}" \
		-j"${JOBS:-3}" "${targets[@]}" 2>&1 | tee "$log" |
		awk '/^  [A-Z]/ { n++; if (n % 250 == 0) { print "    ... " n " build steps"; fflush() } }'
	then
		grep -m5 -E 'error|Error' "$log" | sed 's/^/    /' >&2 || true
		timing "build $KLINE-$variant" $((SECONDS - t0)) "$kind, FAILED"
		die "$variant: kernel build failed; see $log"
	fi
	# kbuild runs syncconfig when a Kconfig file is newer than the
	# configuration, which drops what no longer has its dependencies.
	config_check "$variant" "$out" "the build" "$log"
	build_extra "$out" "$variant"
	mv "$out/.kvm-vfio-built.new" "$out/.kvm-vfio-built"
	ncc=$(grep -cE '^  CC( |\s*\[M\])' "$log" || true)
	[ "$ncc" -gt 0 ] || [ "$kind" = cold ] || kind=cached
	read -r hits misses < <(ccache_hits_misses)
	note="$kind, $ncc compiled"
	[ $((hits + misses)) -eq 0 ] ||
		note+=", ccache $hits hits / $misses misses ($((100 * hits / (hits + misses)))%)"
	timing "build $KLINE-$variant" $((SECONDS - t0)) "$note"
	step "$variant: built in $((SECONDS - t0)) s ($note): $out/$KIMAGE"
}

# The files of kvm-vfio.ko's source package: what dkms.conf builds.
MODULE_FILES="Kbuild dkms.conf virt/kvm/vfio.c virt/kvm/vfio.h
	virt/kvm/vfio_compat.h virt/kvm/vfio_test.c virt/kvm/vfio_module.c
	include/trace/events/kvm_vfio.h"

# kvm-vfio.ko for the module kernel, built and installed by DKMS as
# README's DKMS steps do, with DKMS's trees in the cache (not /var/lib/dkms,
# /usr/src or /lib/modules) and no depmod (initramfs.sh runs it on the
# guest's image).  The guest loads the module from the install tree,
# INSTALL/<kernel release>/updates/dkms/, so what it runs is DKMS's.
build_module() {
	local out=$1 d ver krel pkg f log stamp ko
	local opts cross=() cc=gcc
	d=$(dkms_dir "$2")
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$SRC_DIR/dkms.conf")
	grep -q "^MODULE_VERSION(\"$ver\");" "$SRC_DIR/virt/kvm/vfio_module.c" ||
		die "module: dkms.conf's PACKAGE_VERSION ($ver) is not vfio_module.c's MODULE_VERSION; make them equal"
	krel=$(cat "$out/include/config/kernel.release")
	ko=$(dkms_ko "$2" "$krel")
	pkg="$d/src/kvm-vfio-$ver"
	log="$BENCH_LOGDIR/module-$KLINE-$2.log"
	# Cross builds: Kbuild takes ARCH and CROSS_COMPILE from the
	# environment DKMS passes on.
	for f in "${KMAKE[@]}"; do
		case "$f" in ARCH=* | CROSS_COMPILE=*) cross+=("$f") ;; esac
		case "$f" in CROSS_COMPILE=*) cc="${f#CROSS_COMPILE=}gcc" ;; esac
	done
	opts=(--dkmstree "$d/tree" --sourcetree "$d/src" --installtree "$d/install"
		-a "$DKMS_ARCH")
	command -v dkms >/dev/null || die "module: no dkms; run bench/deps.sh as root"
	mkdir -p "$pkg" "$d/tree" "$d/install/$krel"
	for f in $MODULE_FILES; do
		mkdir -p "$pkg/$(dirname "$f")"
		cmp -s "$SRC_DIR/$f" "$pkg/$f" || cp "$SRC_DIR/$f" "$pkg/$f"
	done
	# Built again when the sources, the kernel's exports, its
	# configuration (an option dropped from a fragment), its release, its
	# tree (the patch set) or the compiler changed.
	stamp=$( { cat "$pkg"/Kbuild "$pkg"/dkms.conf "$pkg"/virt/kvm/* \
		"$pkg"/include/*/*/*.h "$out/Module.symvers" \
		"$out/include/generated/autoconf.h" \
		"$out/include/config/kernel.release" \
		"$(variant_tree "$2")/.kvm-vfio-stamp"
		"$cc" --version | sed -n 1p; } | sha1sum)
	if [ -f "$ko" ] &&
		[ "$(cat "$d/stamp-$krel" 2>/dev/null)" = "$stamp" ]; then
		step "module: kvm-vfio/$ver for $krel is installed by DKMS, nothing it is built from changed"
		return 0
	fi
	step "module: dkms add, build and install kvm-vfio/$ver for $krel (log: $log)"
	{
		dkms status "${opts[@]}" "kvm-vfio/$ver" | grep -q . ||
			dkms add "${opts[@]}" "kvm-vfio/$ver"
		env "${cross[@]}" dkms build "${opts[@]}" --force \
			"kvm-vfio/$ver" -k "$krel" --kernelsourcedir "$out" &&
		env "${cross[@]}" dkms install "${opts[@]}" --force \
			--no-depmod "kvm-vfio/$ver" -k "$krel" \
			--kernelsourcedir "$out" &&
		dkms status "${opts[@]}" "kvm-vfio/$ver" -k "$krel"
	} >"$log" 2>&1 || {
		cat "$d/tree/kvm-vfio/$ver/build/make.log" >>"$log" 2>/dev/null
		die "module: DKMS could not build or install kvm-vfio; see $log"
	}
	[ -f "$ko" ] || die "module: DKMS installed no $ko; see $log"
	echo "$stamp" >"$d/stamp-$krel"
	step "module: $(tail -1 "$log")"
}

# The test VFIO driver for a kernel without our overlay (stock, Debian's):
# built out of tree from a copy of virt/kvm/vfio/ against KBUILD (the
# kernel's output folder, or the headers of Debian's package), installed as
# OUT/extra/*.ko.
build_test_driver() {
	local out=$1 kbuild=${2:-$1} f log
	local dsrc="$KVM_VFIO_CACHE/test-driver-src/$KLINE${2:+-$variant}"
	log="$BENCH_LOGDIR/test-driver-$KLINE${2:+-$variant}.log"
	mkdir -p "$dsrc" "$out/extra"
	for f in Makefile test_driver.c test_driver.h; do
		cmp -s "$SRC_DIR/virt/kvm/vfio/$f" "$dsrc/$f" ||
			cp "$SRC_DIR/virt/kvm/vfio/$f" "$dsrc/$f"
	done
	step "$V_TREE: building the test VFIO driver out of tree (log: $log)"
	make -C "$kbuild" M="$dsrc" "${KMAKE[@]}" CONFIG_KVM_VFIO_TEST_DRIVER=m \
		modules >"$log" 2>&1 ||
		die "$V_TREE: building kvm_vfio_test_driver.ko failed; see $log"
	cp "$dsrc/kvm_vfio_test_driver.ko" "$out/extra/"
}

# build_debian VARIANT: Debian's own kernel, nothing built but the test
# driver.  Its row's config column pins the package, ABI=VERSION (for
# example 6.12.118+deb12-amd64=6.12.118-1~deb12u1): linux-image-ABI, the
# headers and kbuild packages of the same version, fetched from bookworm's
# security suite (apt_fetch: the machine's apt is not touched) and
# unpacked into OUT/root.  OUT then looks as a built kernel's does to
# run.sh and initramfs.sh: the image at KIMAGE, include/config/
# kernel.release, UTS_VERSION (read from the image's own version string:
# run.sh checks the booted banner against it) and the test driver in
# OUT/extra.  The packages are deleted once unpacked.
build_debian() {
	local variant=$1 out abi ver root debs log pkgs common kb uts f t0=$SECONDS
	abi=${V_CONFIG%%=*} ver=${V_CONFIG#*=}
	[ -n "$abi" ] && [ -n "$ver" ] && [ "$abi" != "$V_CONFIG" ] ||
		die "bench/variants: $KLINE-$variant: the config of a debian kernel is ABI=VERSION, e.g. 6.12.118+deb12-amd64=6.12.118-1~deb12u1"
	out=$(variant_out "$variant")
	root="$out/root"
	if [ "$(cat "$out/.kvm-vfio-built" 2>/dev/null)" != "$V_CONFIG" ] ||
		[ ! -f "$out/$KIMAGE" ]; then
		need_space "$KVM_VFIO_CACHE" 2048
		rm -rf "$out"
		mkdir -p "$out"
		debs="$KVM_VFIO_CACHE/apt/debian-kernel-$KLINE"
		log="$BENCH_LOGDIR/debian-kernel-$KLINE-$variant.log"
		# linux-headers-ABI names its common and kbuild packages.
		rm -rf "$debs"
		step "$variant: fetching Debian's linux-image-$abi $ver and its headers (about 110 MB)"
		apt_fetch bookworm-security "$debs" "$log" \
			"linux-image-$abi=$ver" "linux-headers-$abi=$ver" ||
			die "$variant: cannot fetch Debian's linux-image-$abi $ver (a security update replaced it?); pin the version bookworm-security has now in bench/variants (apt-cache policy linux-image-amd64)"
		pkgs=$(dpkg-deb -f "$debs"/linux-headers-"$abi"_*.deb Depends)
		common=$(grep -o 'linux-headers-[^ ,]*-common' <<<"$pkgs" | head -1)
		kb=$(grep -o 'linux-kbuild-[^ ,]*' <<<"$pkgs" | head -1)
		[ -n "$common" ] && [ -n "$kb" ] ||
			die "$variant: linux-headers-$abi depends on no common or kbuild package: $pkgs"
		apt_fetch bookworm-security "$debs" "$log" "$common=$ver" "$kb=$ver" ||
			die "$variant: cannot fetch $common and $kb $ver; see $log"
		step "$variant: unpacking Debian's kernel $ver into $root"
		for f in "$debs"/*.deb; do
			dpkg-deb -x "$f" "$root" ||
				die "$variant: unpacking $f failed (disk full?)"
		done
		rm -rf "$debs"
		# The headers' Makefile names the common headers by their
		# installed path.
		sed -i "s|^include /usr/src/|include $root/usr/src/|" \
			"$root/usr/src/linux-headers-$abi/Makefile"
		# Its vmlinux serves only the modules' BTF, which needs pahole
		# (dwarves): without it kbuild skips BTF, saying so.
		rm -f "$root/usr/src/linux-headers-$abi/vmlinux"
		mkdir -p "$out/$(dirname "$KIMAGE")" "$out/include/config" \
			"$out/include/generated"
		cp "$root/boot/vmlinuz-$abi" "$out/$KIMAGE"
		echo "$abi" >"$out/include/config/kernel.release"
		# x86 boot protocol: the version string's offset, less 0x200,
		# is the 16-bit word at 0x20e.
		uts=$(python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
o = int.from_bytes(b[0x20e:0x210], "little") + 0x200
print(b[o:b.index(b"\0", o)].decode().split(") ", 1)[1])' "$out/$KIMAGE") ||
			die "$variant: no version string in $out/$KIMAGE"
		printf '#define UTS_VERSION "%s"\n' "$uts" \
			>"$out/include/generated/utsversion.h"
		echo "$V_CONFIG" >"$out/.kvm-vfio-built"
		timing "build $KLINE-$variant" $((SECONDS - t0)) "Debian's $abi $ver, fetched"
	else
		timing "build $KLINE-$variant" $((SECONDS - t0)) "Debian's $abi $ver, cached"
	fi
	if [ "$V_EXTRA" = testdrv ]; then
		build_test_driver "$out" "$root/usr/src/linux-headers-$abi"
	else
		rm -rf "$out/extra"
	fi
	step "$variant: Debian's kernel $abi $ver: $out/$KIMAGE"
}

USAGE="usage: kernel.sh src | pristine | src-line | build VARIANT | tree VARIANT | out VARIANT | image VARIANT | version (VARIANT: a $KLINE row of bench/variants: $(variant_list all "$KLINE" | sed "s/^$KLINE-//" | tr '\n' ' '))"
case "${1:-}" in
src) unpack_pristine ;;
pristine)
	unpack_pristine
	echo "$PRISTINE" ;;
# The line whose source the kernel's test programs come from.
src-line) echo "$SRC_LINE" ;;
# build and tree rewrite trees: under the cache's lock (lib.sh).
build)
	: "${2:?$USAGE}"
	cache_lock
	build "$2" ;;
tree)
	cache_lock
	variant_load "$KLINE" "${2:-ours}"
	unpack_pristine
	prepare_tree "${2:-ours}"
	variant_tree "${2:-ours}" ;;
out)
	variant_load "$KLINE" "${2:?$USAGE}"
	variant_out "$2" ;;
image)
	variant_load "$KLINE" "${2:?$USAGE}"
	echo "$(variant_out "$2")/$KIMAGE" ;;
version) echo "$KVER" ;;
*) die "$USAGE" ;;
esac
