# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the bench scripts.  Sourced, not run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
KVM_VFIO_CACHE=${KVM_VFIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-vfio}
BENCH_LOGDIR=${BENCH_LOGDIR:-$KVM_VFIO_CACHE/logs}
KLINE=${KLINE:-6.12}
mkdir -p "$KVM_VFIO_CACHE" "$BENCH_LOGDIR"

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# need_space DIR MIB: fail early with a clear message when DIR is short.
need_space() {
	local avail
	avail=$(df -Pm "$1" | awk 'NR==2 {print $4}')
	[ "$avail" -ge "$2" ] ||
		die "only ${avail} MiB free under $1, need $2 MiB; free some space or set KVM_VFIO_CACHE to a larger disk"
}

# A command that fails where no check expected it still says where, inside
# functions too (-E).
set -E
trap 'die "$(basename "$0"): unexpected failure at line $LINENO (exit $?)"' ERR
# A step that already said what failed: pass its status on without a second
# message.  Usage: quiet_fail command...
quiet_fail() { "$@" || exit $?; }

# apt_fetch SUITE DIR LOG PKG=VERSION...: download pinned packages of another
# Debian suite into DIR without touching the machine's apt sources or
# installed packages: a separate apt configuration under the cache, with the
# mirror URI read from the machine's own sources.  APT_FETCH_ARCH=arm64
# takes another architecture's packages (the machine's dpkg is not told).
# Returns non-zero (and says why on stderr) when a package cannot be had.
apt_fetch() {
	local suite=$1 dir=$2 log=$3 apt uri src=/etc/apt/sources.list.d/debian.sources
	local arch=${APT_FETCH_ARCH:-}
	shift 3
	apt="$KVM_VFIO_CACHE/apt/$suite${arch:+-$arch}"
	# A security suite is on the security mirror, the others on the main
	# one: the URI of the first stanza (or line) of the same kind.
	local sec=0
	[[ $suite != *-security ]] || sec=1
	[ -f "$src" ] && uri=$(awk -v sec=$sec '/^URIs:/ { u = $2 }
		/^Suites:/ && (/-security/ ? 1 : 0) == sec { print u; exit }' "$src")
	[ -n "${uri:-}" ] || uri=$(awk -v sec=$sec \
		'$1 == "deb" && ($3 ~ /security/ ? 1 : 0) == sec { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	if [ -z "${uri:-}" ]; then
		echo "no Debian mirror URI for $suite in $src or /etc/apt/sources.list" >&2
		return 1
	fi
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dir"
	echo "deb $uri $suite main" >"$apt/sources.list"
	local opts=(-o Dir::Etc::sourcelist="$apt/sources.list"
		    -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt/lists"
		    -o Dir::Cache::archives="$apt/archives"
		    -o APT::Sandbox::User=root)
	[ -z "$arch" ] ||
		opts+=(-o APT::Architecture="$arch" -o APT::Architectures="$arch")
	if ! apt-get "${opts[@]}" update >"$log" 2>&1; then
		echo "apt-get update of $suite from $uri failed (see $log)" >&2
		return 1
	fi
	if ! (cd "$dir" && apt-get "${opts[@]}" download "$@") >>"$log" 2>&1; then
		echo "$* not in $suite (see $log; 'apt-cache policy' with that configuration lists what is)" >&2
		return 1
	fi
}

# variant_load LINE VARIANT: the row LINE-VARIANT of bench/variants in
# V_ARCH, V_TREE, V_CONFIG, V_EXTRA, V_CHECK, V_FUZZ, V_STRESS, V_CYCLES, V_RACES,
# V_TIMEOUT, V_WARN and V_REUSE, and its architecture's settings (bench/arch/<arch>.sh).
variant_load() {
	local row
	row=$(awk -v k="$1-$2" '$1 == k' "$BENCH_DIR/variants")
	[ -n "$row" ] ||
		die "no kernel '$1-$2' in bench/variants (there: $(variant_list all | tr '\n' ' '))"
	read -r _ V_ARCH V_TREE V_CONFIG V_EXTRA V_CHECK V_FUZZ V_STRESS V_CYCLES \
		V_RACES V_TIMEOUT V_WARN V_REUSE <<<"$row"
	[ -f "$BENCH_DIR/arch/$V_ARCH.sh" ] ||
		die "bench/variants: $1-$2 has arch '$V_ARCH', but there is no bench/arch/$V_ARCH.sh"
	# shellcheck source=/dev/null
	. "$BENCH_DIR/arch/$V_ARCH.sh"
}

# dkms_dir VARIANT: DKMS's trees for VARIANT's module (kernel.sh
# build_module); dkms_ko VARIANT RELEASE: the kvm-vfio.ko it installed
# there for kernel RELEASE, which the guest image takes (initramfs.sh).
dkms_dir() {
	echo "$KVM_VFIO_CACHE/dkms/$KLINE-$1"
}
dkms_ko() {
	echo "$(dkms_dir "$1")/install/$2/updates/dkms/kvm-vfio.ko"
}

# variant_list all|check [LINE...]: the kernels (LINE-VARIANT) of
# bench/variants, all of them or those 'make check' runs, of the given
# lines (default: every line), in table order.
variant_list() {
	local which=$1
	shift
	awk -v which="$which" -v lines="$*" '
		BEGIN { n = split(lines, l, " "); for (i = 1; i <= n; i++) want[l[i]] = 1 }
		/^[^#]/ && NF >= 12 {
			line = $1; sub(/-.*/, "", line)
			if ((which == "all" || $6 == "yes") && (n == 0 || line in want))
				print $1
		}' "$BENCH_DIR/variants"
}

# timing NAME SECONDS [NOTE]: one row of this run's timing table (the file
# KVM_VFIO_TIMING names; nothing when it is unset).
timing() {
	[ -z "${KVM_VFIO_TIMING:-}" ] ||
		printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$KVM_VFIO_TIMING"
}

# cache_lock: hold the cache's lock for the rest of this process (and the
# children it starts), so that two runs never rewrite one tree or staging
# folder under each other.  A second run waits, saying so.  Every command
# that builds or boots takes it (the Makefile's LOCK_CACHE for recipes of
# several scripts); KVM_VFIO_LOCKED tells a child that its parent holds it,
# so that it does not wait for itself.
cache_lock() {
	[ -z "${KVM_VFIO_LOCKED:-}" ] || return 0
	exec 9>"$KVM_VFIO_CACHE/.lock"
	if ! flock -n 9; then
		step "the cache $KVM_VFIO_CACHE is busy: another bench command (make check, test, soak, lint, demo, kernel...) holds $KVM_VFIO_CACHE/.lock; waiting"
		flock 9
	fi
	export KVM_VFIO_LOCKED=1
}

# run_begin NAME [WHAT]: how a verdict run (make check, make test, make
# check-ppc64) starts: the cache's lock, this run's id and timing table
# (KVM_VFIO_RUN_ID; KVM_VFIO_TIMING, logs/timing-NAME.tsv) and the
# packages, timed.  The id is always new: one left in the environment (a
# shell that ran a script by hand) would let an earlier run's logs pass
# for this one's.
run_begin() {
	local s
	cache_lock
	KVM_VFIO_RUN_ID=$(date +%Y%m%d-%H%M%S)-$$
	KVM_VFIO_TIMING="$BENCH_LOGDIR/timing-$1.tsv"
	export KVM_VFIO_RUN_ID KVM_VFIO_TIMING
	rm -f "$KVM_VFIO_TIMING"
	step "make $1: run $KVM_VFIO_RUN_ID${2:+, $2}"
	s=$SECONDS
	quiet_fail "$BENCH_DIR/deps.sh"
	timing packages $((SECONDS - s))
}
