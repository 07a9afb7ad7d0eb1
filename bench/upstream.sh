#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# upstream.sh: the series we send upstream, patches/upstream/7.3/ (the
# newest line), and its stable backport, patches/upstream/6.12/.
#
#   upstream.sh selftest DIR [ARCH]
#                             build the series' kvm_vfio_test, on the KVM
#                             selftest library of the 7.3 tree with the
#                             series applied (static; x86_64, or arm64
#                             cross-built), into DIR; prints the
#                             program's path.
#   upstream.sh kvm-tests ARCH
#                             upstream's own KVM selftests the guests of
#                             KLINE run (UPSTREAM_KVM_TESTS_<line>_<ARCH>),
#                             as paths relative to kvm-build's folder
#   upstream.sh kvm-build DIR ARCH
#                             build them from KLINE's pristine tree into
#                             DIR/build; prints that folder
#   upstream.sh series        write patches/upstream/7.3/ again from the
#                             patches and tools/testing/selftests/kvm/
#                             kvm_vfio_test.c, which patch 0003 adds: edit
#                             the test there, then run this (make
#                             upstream-series)
#   upstream.sh check KSRC    for a maintainer (make upstream-check
#                             KSRC=...): on a new branch of the kernel git
#                             tree KSRC, git am the series, checkpatch
#                             --strict each patch, build the selftest and
#                             vfio.o (x86_64; powerpc too with its cross
#                             compiler), and run the selftest when this
#                             machine has /dev/kvm
#
# The test program lives in the repository as a file, so that the bench
# and the developers read and edit it like the others; patch 0003 is
# written from it, and 'selftest' refuses to build a series whose copy
# differs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LINE=7.3
# The version of the series: its subjects read [PATCH vN n/m] (N > 1).
VERSION=2
SERIES="$SRC_DIR/patches/upstream/$LINE"
TEST_C=tools/testing/selftests/kvm/kvm_vfio_test.c

# series_tree: the bench's tree of the 7.3 stockfix kernel, pristine 7.3
# with every patch of the series applied.
series_tree() {
	KLINE=$LINE "$BENCH_DIR/kernel.sh" tree stockfix
}

# Upstream's own KVM selftests that the guests also run (the suite
# upstream_kvm_selftests, bench/guest/upstream_kvm_selftests), on ours and
# on stock alike: what our patches to KVM touch (device creation, the VM
# and vCPU lifecycle) and costs little under TCG.  Each line runs its own
# tree's tests, which expect that line's KVM.  Left out: the perf,
# stress, dirty-log and memslot tests (set_memory_region_test ran over
# 8 minutes under nested TCG before it was stopped), kvm_create_max_vcpus
# (hundreds of vCPUs), on arm64 the timer and PMU tests (TCG's timing)
# and vgic_init, which creates and destroys GICv2 and GICv3 devices (the
# path our autoload patch changes) but fails in our arm64 guests on the
# stock kernel as on ours: 7.3's on 6.12 with EBUSY from
# KVM_GET_DEVICE_ATTR, and 6.12's own with EIO ("KVM killed/bugged the
# VM") when its first GICv3 VM deletes its memory slot, with nothing in
# the kernel log (7 Dec).  6.12 has no vm_types_test.
UPSTREAM_KVM_TESTS_7_3_x86_64="kvm_binary_stats_test guest_print_test vm_types_test"
UPSTREAM_KVM_TESTS_7_3_arm64="kvm_binary_stats_test guest_print_test"
UPSTREAM_KVM_TESTS_6_12_x86_64="kvm_binary_stats_test guest_print_test"
UPSTREAM_KVM_TESTS_6_12_arm64="kvm_binary_stats_test guest_print_test"

# kvm_tests ARCH: the upstream tests above of ARCH, for the tree of
# KLINE's source (6.12's for 6.1, whose programs are 6.12's).
kvm_tests() {
	local line v
	line=$("$BENCH_DIR/kernel.sh" src-line)
	v="UPSTREAM_KVM_TESTS_${line//./_}_$1"
	echo "${!v:-}"
}

# install_headers TREE OUT ARCH LOG: TREE's UAPI headers into OUT/headers,
# again when TREE or its stamp changed.
install_headers() {
	local tree=$1 out=$2 arch=$3 log=$4
	if [ "$(cat "$out/headers/.tree" 2>/dev/null)" != "$tree $(cat "$tree/.kvm-vfio-stamp" 2>/dev/null)" ]; then
		step "upstream: installing the UAPI headers of $(basename "$tree") ($arch)"
		rm -rf "$out/headers"
		make -s -C "$tree" O="$out/hdr-build" ARCH="$arch" \
			INSTALL_HDR_PATH="$out/headers" headers_install \
			>"$log" 2>&1 || die "headers_install failed; see $log"
		echo "$tree $(cat "$tree/.kvm-vfio-stamp" 2>/dev/null)" >"$out/headers/.tree"
	fi
}

# kvm_make TREE OUT ARCH LOG TARGET...: TARGETs of TREE's KVM selftests,
# static, for ARCH (x86_64, or arm64 cross-built), into OUT/build.
kvm_make() {
	local tree=$1 out=$2 arch=$3 log=$4 cross=()
	shift 4
	case "$arch" in
	x86_64) ;;
	arm64) cross=(CROSS_COMPILE=aarch64-linux-gnu-) ;;
	*) die "upstream: no KVM selftest build for '$arch' (x86_64 or arm64)" ;;
	esac
	mkdir -p "$out"
	install_headers "$tree" "$out" "$arch" "$log"
	make -C "$tree/tools/testing/selftests/kvm" ARCH="$arch" "${cross[@]}" \
		OUTPUT="$out/build" \
		INSTALL_HDR_PATH="$out/headers" \
		KHDR_INCLUDES="-isystem $out/headers/include" \
		LDFLAGS="-static -pthread -no-pie" -j"${JOBS:-3}" \
		"$@" >"$log" 2>&1
}

# cmd_kvm_build OUT ARCH: the upstream tests of KLINE's source tree, its
# pristine one, into OUT/build; prints that folder.
cmd_kvm_build() {
	local out=${1:?usage: upstream.sh kvm-build DIR ARCH} arch=${2:?usage: upstream.sh kvm-build DIR ARCH}
	local tree log t targets=()
	tree=$("$BENCH_DIR/kernel.sh" pristine)
	log="$BENCH_LOGDIR/upstream-kvm-tests-$KLINE-$arch.log"
	for t in $(kvm_tests "$arch"); do
		targets+=("$out/build/$t")
	done
	if [ ${#targets[@]} -gt 0 ]; then
		step "upstream: building ${#targets[@]} of upstream's KVM selftests of $(basename "$tree") ($arch)"
		kvm_make "$tree" "$out" "$arch" "$log" "${targets[@]}" ||
			{ tail -20 "$log" >&2; die "building upstream's KVM selftests failed; see $log"; }
	fi
	echo "$out/build"
}

# build_selftest TREE OUT [ARCH]: kvm_vfio_test of TREE's KVM selftests,
# static, for ARCH (x86_64 or arm64, cross-built), into OUT/build;
# warnings in the test itself fail.
build_selftest() {
	local tree=$1 out=$2 arch=${3:-x86_64} log
	log="$BENCH_LOGDIR/upstream-selftest-$arch.log"
	step "upstream: building kvm_vfio_test ($arch)"
	kvm_make "$tree" "$out" "$arch" "$log" "$out/build/kvm_vfio_test" ||
		{ tail -20 "$log" >&2; die "building kvm_vfio_test failed; see $log"; }
	if grep -E 'kvm_vfio_test\.c.*(warning|error)' "$log" >&2; then
		die "kvm_vfio_test.c has warnings; see $log"
	fi
	echo "$out/build/kvm_vfio_test"
}

cmd_selftest() {
	local out=${1:?usage: upstream.sh selftest DIR [ARCH]} tree
	tree=$(series_tree)
	cmp -s "$tree/$TEST_C" "$SRC_DIR/$TEST_C" ||
		die "$TEST_C differs from the copy patches/upstream/$LINE/ adds; run 'make upstream-series'"
	build_selftest "$tree" "$out" "${2:-x86_64}"
}

# A throw-away git repository of the pristine 7.3 files the series
# touches, for git am and format-patch.
scratch_repo() {
	local repo=$1 pristine
	pristine=$(KLINE=$LINE "$BENCH_DIR/kernel.sh" pristine)
	rm -rf "$repo"
	mkdir -p "$repo"
	(cd "$pristine" && cp -r --parents MAINTAINERS virt/kvm Documentation/virt/kvm \
		tools/testing/selftests/kvm "$repo/")
	git -C "$repo" init -q
	git -C "$repo" add -A
	git -C "$repo" -c user.name=pristine -c user.email=pristine@localhost \
		commit -q -m "linux $LINE pristine"
}

# address_series DIR: To: and Cc: headers on each patch of DIR, from
# scripts/get_maintainer.pl of the pristine 7.3 tree (maintainers To:,
# reviewers and lists Cc:), and their union on the cover letter.  Keywords
# (K: lines) are not followed: "rust-vmm" in the test would Cc the Rust
# maintainers.  A patch to virt/kvm/vfio.c also goes to the VFIO
# maintainers, whose side of the bridge it changes, and one whose vfio.c
# hunks are in the sPAPR code to the powerpc KVM maintainers, whose TCE
# code it calls.
address_series() {
	local dir=$1 pristine p extra
	pristine=$(KLINE=$LINE "$BENCH_DIR/kernel.sh" pristine)
	for p in "$dir"/0*.patch; do
		case "$p" in *0000-cover-letter.patch) continue ;; esac
		extra=()
		! grep -q '^+++ b/virt/kvm/vfio\.c' "$p" ||
			extra+=(drivers/vfio/vfio_main.c)
		! awk '/^diff --git/ { f = / b\/virt\/kvm\/vfio\.c$/ }
			f && /^(@@|[-+][^-+])/ && tolower($0) ~ /spapr/ { x = 1 }
			END { exit !x }' "$p" ||
			extra+=(arch/powerpc/kvm/book3s_64_vio.c)
		(cd "$pristine" && ./scripts/get_maintainer.pl --no-git \
			--no-git-fallback --no-keywords --rolestats "$p" &&
		for f in "${extra[@]}"; do
			./scripts/get_maintainer.pl --no-git --no-git-fallback \
				--no-keywords --rolestats -f "$f"
		done) >"$p.to" 2>/dev/null ||
			die "get_maintainer.pl failed on $(basename "$p")"
	done
	python3 - "$dir" <<'PY'
import glob, os, re, sys
d = sys.argv[1]
def heads(lines):
    to, cc = [], []
    for l in lines:
        # A name may hold parentheses: the address ends at its '>'.
        m = re.match(r'(.*<[^>]*>|[^ ]+@[^ ]+) \((.*)\)$', l.strip())
        if not m:
            continue
        addr, role = m.groups()
        dest = to if re.search(r'\b(maintainer|supporter|odd fixer):', role) else cc
        if addr not in to and addr not in cc:
            dest.append(addr)
    return to, cc
def put(path, to, cc):
    # The mail's headers only: the body has Cc: stable tags of its own.
    head, sep, body = open(path).read().partition('\n\n')
    head = re.sub(r'^(To|Cc): .*\n?(?: .*\n?)*', '', head + '\n', flags=re.M)
    hdr = ''.join('%s: %s\n' % (k, a) for k, l in (('To', to), ('Cc', cc))
                  for a in l)
    head = re.sub(r'^Subject: ', lambda m: hdr + m.group(0), head,
                  count=1, flags=re.M)
    open(path, 'w').write(head.rstrip('\n') + sep + body)
all_to, all_cc = [], []
for p in sorted(glob.glob(os.path.join(d, '0*.patch.to'))):
    to, cc = heads(open(p).read().splitlines())
    put(p[:-3], to, cc)
    os.unlink(p)
    all_to += [a for a in to if a not in all_to]
    all_cc += [a for a in cc if a not in all_cc]
all_cc = [a for a in all_cc if a not in all_to]
put(os.path.join(d, '0000-cover-letter.patch'), all_to, all_cc)
PY
}

cmd_series() {
	local repo="$KVM_VFIO_CACHE/upstream/series-repo" out p n=0 cover
	[ -f "$SERIES/0000-cover-letter.patch" ] ||
		die "no $SERIES/0000-cover-letter.patch to take the cover letter from"
	scratch_repo "$repo"
	for p in "$SERIES"/0*.patch; do
		case "$p" in *0000-cover-letter.patch) continue ;; esac
		git -C "$repo" am -q "$p" ||
			die "$(basename "$p") does not apply to pristine $LINE; fix it by hand"
		n=$((n + 1))
		# The patch that adds the test gets the repository's copy.
		if git -C "$repo" show --stat --format= HEAD | grep -q "${TEST_C#tools/testing/selftests/kvm/}"; then
			cp "$SRC_DIR/$TEST_C" "$repo/$TEST_C"
			git -C "$repo" add "$TEST_C"
			git -C "$repo" commit -q --amend --no-edit
		fi
	done
	out="$KVM_VFIO_CACHE/upstream/series-out"
	rm -rf "$out"
	git -C "$repo" format-patch -q --cover-letter \
		--subject-prefix="PATCH v$VERSION" -o "$out" "HEAD~$n"
	# The cover letter keeps its subject and text; shortlog and diffstat
	# are new.
	cover="$out/0000-cover-letter.patch"
	python3 - "$SERIES/0000-cover-letter.patch" "$cover" <<'EOF'
import re, sys
old = open(sys.argv[1]).read()
gen = open(sys.argv[2]).read()
subj = re.search(r'^Subject: \[PATCH(?: v\d+)? 0/\d+\] (.*(?:\n .*)*)', old, re.M).group(1)
body = old.split('\n\n', 1)[1]
blurb = re.split(r'\n(?=\S.* \(\d+\):\n)', body, 1)[0]
gen = re.sub(r'\*\*\* SUBJECT HERE \*\*\*', lambda m: subj, gen)
gen = gen.replace('*** BLURB HERE ***', blurb.rstrip('\n'))
open(sys.argv[2], 'w').write(gen)
EOF
	address_series "$out"
	# Dates and commit ids change at every run; keep the old ones where
	# the content is the same.
	for p in "$out"/*.patch; do
		local old="$SERIES/$(basename "$p")"
		if [ -f "$old" ] && diff -q <(sed '1d;/^Date: /d' "$old") \
			<(sed '1d;/^Date: /d' "$p") >/dev/null; then
			cp "$old" "$p"
		fi
	done
	rm -f "$SERIES"/*.patch
	cp "$out"/*.patch "$SERIES/"
	step "upstream: patches/upstream/$LINE/ written ($n patches and the cover letter)"
	git -C "$SRC_DIR" status --short -- "patches/upstream/$LINE"
}

# report NAME STATUS: one line of the check's table; STATUS is ok,
# "SKIP: why" or FAILED.
report() {
	printf '  %-60s %s\n' "$1" "$2"
	case "$2" in
	ok) n_ok=$((n_ok + 1)) ;;
	SKIP*) n_skip=$((n_skip + 1)) ;;
	*) n_bad=$((n_bad + 1)) ;;
	esac
}

# kbuild_dir TREE OUT LOG ARCH-ARGS... -- FRAGMENTS... -- DIR: tinyconfig
# plus the bench's config fragments, then DIR built with W=1, going on
# past other files (W=1 turns warnings of theirs into errors on powerpc):
# vfio.o must be built, without a warning of its own.
kbuild_dir() {
	local tree=$1 out=$2 log=$3 args=() frags=() dir
	shift 3
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	while [ "$1" != -- ]; do frags+=("$BENCH_DIR/config/$1.config"); shift; done
	dir=$2
	{
		make -C "$tree" O="$out" "${args[@]}" tinyconfig &&
		(cd "$out" && "$tree/scripts/kconfig/merge_config.sh" -m .config "${frags[@]}") &&
		make -C "$tree" O="$out" "${args[@]}" olddefconfig &&
		rm -f "$out/virt/kvm/vfio.o"
		make -k -C "$tree" O="$out" "${args[@]}" -j"${JOBS:-3}" W=1 "$dir" || true
	} >"$log" 2>&1
	[ -f "$out/virt/kvm/vfio.o" ] && ! grep -E 'virt/kvm/vfio\.c.*(warning|error)' "$log"
}

cmd_check() {
	local ksrc=${1:-} branch work p name ign tests
	n_ok=0 n_skip=0 n_bad=0
	[ -n "$ksrc" ] || die "usage: make upstream-check KSRC=<path to a kernel git tree>"
	git -C "$ksrc" rev-parse --git-dir >/dev/null 2>&1 ||
		die "KSRC=$ksrc is not a git tree; give a kernel git checkout ('git init -q && git add -Af . && git commit -qm base' turns an unpacked tree into one)"
	[ -x "$ksrc/scripts/checkpatch.pl" ] ||
		die "KSRC=$ksrc has no scripts/checkpatch.pl: not a kernel tree"
	work="$KVM_VFIO_CACHE/upstream/check"
	rm -rf "$work"
	mkdir -p "$work"
	branch="kvm-vfio-upstream-check-$(date +%s)"
	mapfile -t patches < <(ls "$SERIES"/0*.patch | grep -v '/0000-cover-letter\.patch$')

	step "upstream-check: git am of patches/upstream/$LINE on a new worktree and branch $branch of $ksrc"
	git -C "$ksrc" worktree add -q -b "$branch" "$work/tree" HEAD
	if git -C "$work/tree" am "${patches[@]}" >"$work/am.log" 2>&1; then
		sed 's/^/    /' "$work/am.log"
		report "git am (${#patches[@]} patches)" ok
	else
		sed 's/^/    /' "$work/am.log" | tail -20
		git -C "$work/tree" am --abort 2>/dev/null || true
		report "git am" FAILED
	fi

	for p in "${patches[@]}"; do
		name=$(basename "$p")
		# A Fixes: id must be in the tree's history for checkpatch to
		# find it; an unpacked tree made a git repository has none.
		ign=()
		for id in $(sed -n 's/^Fixes: \([0-9a-f]\{12,\}\) .*/\1/p' "$p"); do
			git -C "$ksrc" cat-file -e "$id^{commit}" 2>/dev/null ||
				ign=(--ignore UNKNOWN_COMMIT_ID)
		done
		if (cd "$work/tree" && ./scripts/checkpatch.pl --strict --quiet "${ign[@]}" "$p") \
			>"$work/checkpatch-$name.txt" 2>&1; then
			report "checkpatch --strict $name${ign:+ (Fixes: ids not in this history)}" ok
		else
			sed 's/^/    /' "$work/checkpatch-$name.txt" | head -20
			report "checkpatch --strict $name" FAILED
		fi
	done

	if build_selftest "$work/tree" "$work/selftest" >"$work/selftest.path"; then
		report "kvm_vfio_test builds on the KVM selftest library" ok
	else
		report "kvm_vfio_test builds on the KVM selftest library" FAILED
	fi

	step "upstream-check: building arch/x86/kvm/ with W=1 (tinyconfig + bench/config/base, slim)"
	if kbuild_dir "$work/tree" "$work/x86" "$work/x86.log" ARCH=x86_64 -- base slim -- arch/x86/kvm/; then
		report "virt/kvm/vfio.c builds, W=1 (x86_64)" ok
	else
		tail -20 "$work/x86.log" | sed 's/^/    /'
		report "virt/kvm/vfio.c builds, W=1 (x86_64)" FAILED
	fi
	if command -v powerpc64le-linux-gnu-gcc >/dev/null; then
		step "upstream-check: building arch/powerpc/kvm/ with W=1 (pseries, SPAPR_TCE_IOMMU)"
		if kbuild_dir "$work/tree" "$work/ppc" "$work/ppc.log" ARCH=powerpc \
			CROSS_COMPILE=powerpc64le-linux-gnu- -- ppc64 -- arch/powerpc/kvm/; then
			report "virt/kvm/vfio.c builds, W=1 (powerpc, sPAPR TCE)" ok
		else
			tail -20 "$work/ppc.log" | sed 's/^/    /'
			report "virt/kvm/vfio.c builds, W=1 (powerpc, sPAPR TCE)" FAILED
		fi
	else
		report "virt/kvm/vfio.c builds (powerpc)" "SKIP: no powerpc64le-linux-gnu-gcc (bench/deps.sh installs it)"
	fi

	tests=$(cat "$work/selftest.path" 2>/dev/null || true)
	if [ -z "$tests" ]; then
		report "kvm_vfio_test passes" "SKIP: it did not build"
	elif ! [ -w /dev/kvm ]; then
		report "kvm_vfio_test passes" "SKIP: no /dev/kvm here; 'make check' runs it in its guests"
	elif "$tests" >"$work/selftest.tap" 2>&1; then
		report "kvm_vfio_test passes on this machine ($(sed -n 's/^# Totals: //p' "$work/selftest.tap"))" ok
	else
		grep -E '^not ok|^# Totals' "$work/selftest.tap" | sed 's/^/    /'
		report "kvm_vfio_test passes on this machine" FAILED
	fi

	git -C "$ksrc" worktree remove --force "$work/tree"
	git -C "$ksrc" branch -q -D "$branch"
	step "upstream-check: $n_ok ok, $n_bad failed, $n_skip skipped (logs: $work)"
	[ "$n_bad" -eq 0 ] || exit 1
}

case "${1:-}" in
selftest) cmd_selftest "${2:-}" "${3:-}" ;;
kvm-tests) kvm_tests "${2:?usage: upstream.sh kvm-tests ARCH}" ;;
kvm-build) cmd_kvm_build "${2:-}" "${3:-}" ;;
series) cmd_series ;;
check) cmd_check "${2:-}" ;;
*) die "usage: upstream.sh selftest DIR [ARCH] | kvm-tests ARCH | kvm-build DIR ARCH | series | check KSRC" ;;
esac
