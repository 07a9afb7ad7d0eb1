# SPDX-License-Identifier: GPL-2.0
#
# kvm-vfio: the front door.  See README.md; the bench and the suites are
# described in Documentation/kvm-vfio/ (bench.rst, tests.rst).
#
#   make test               the edit loop: one kernel (VARIANT, KLINE), its
#                           incremental build, every suite, reduced fuzz/stress
#                           (SUITES="suite ..." some of them, e.g.
#                           SUITES=kvm_vfio_module_test-loaded VARIANT=module)
#   make check              the verdict: build every check=yes kernel of
#                           bench/variants on KLINES (stock, ours, module and
#                           stockfix on x86_64; pseries and arm64 on 6.12),
#                           boot each, run the suites bench/suites gives it,
#                           the static checks per line and the verdict's tests
#   make soak               the robustness suites at full strength on 6.12
#                           ours and module: before a release, and after any
#                           change to locking or lifetime in vfio.c
#   make mutants            the mutation score: each mutant of bench/mutants
#                           (a small bug in vfio.c) under make test's suites;
#                           every one must be killed (MUTANTS="name ..." some)
#   make check-ppc64        only the pseries (sPAPR TCE) kernels of KLINE and
#                           their tests (PPC64_VARIANTS, default stock-ppc64
#                           ours-ppc64 module-ppc64; "stockfix-ppc64" checks
#                           our upstream fixes)
#   make check-distro       Debian's own kernels (the debian rows of
#                           bench/variants: bookworm's 6.1 and 6.12 images,
#                           fetched, nothing built) with the suites that can
#                           run there, compared with our stock kernel of the
#                           line (DISTRO_KERNELS="6.1-debian" some of them)
#   make bench              ADD/DEL/teardown cost, ours against stock
#                           (non-debug kernels; BENCH_REPS, BENCH_SIZES)
#   make demo               a narrated scenario in the guest of VARIANT
#                           with a real VFIO device (x86_64, arm64)
#   make shell              the guest of VARIANT with an interactive shell
#   make run-guest PROG=p   run program p in the guest of VARIANT, return its
#                           status
#   make lint               build KLINE's ours, module and ours-ppc64, then
#                           the static checks (checkpatch, sparse, W=1,
#                           kernel-doc, docutils, UAPI header, kselftest
#                           builds) and the verdict's own tests
#   make kernel             build (or refresh) every check=yes kernel of KLINES
#   make module KDIR=dir    build kvm-vfio.ko out of tree against a kernel build
#   make module-install     install it (modules_install) for KDIR
#   make module-clean       remove what make module built
#   make upstream-check KSRC=tree
#                           the series for upstream (patches/upstream/7.3/)
#                           on a kernel git tree: git am, checkpatch,
#                           build, and the selftest where /dev/kvm exists
#   make upstream-series    write patches/upstream/7.3/ again after an edit
#                           of its selftest (kvm_vfio_test.c)
#   make deps               install the Debian packages the bench needs (root)
#   make clean-cache        remove the cache folder
#
# Variables: KVM_VFIO_CACHE (default ~/.cache/kvm-vfio), JOBS (make -j of a
# kernel build, default 3), VARIANT (a variant of KLINE in bench/variants:
# ours, stock, module, ours-ppc64, stock-arm64...; default ours), KLINE
# (kernel line of one kernel: 6.12 or 7.3, default 6.12), KLINES (lines of
# make check and make kernel, default "6.12 7.3"), KDIR (default
# /lib/modules/$(uname -r)/build), and:
#   GUEST_TIMEOUT        seconds a guest may run (default: bench/variants,
#                        timeout; make soak 14400, make bench 3000)
#   GUEST_PANIC_ON_WARN  the guests' panic_on_warn, 0 or 1 (default:
#                        bench/variants, warn)
#   GUEST_CMDLINE        more kernel command line (kvmvfio.seed=N: the seed)
#   CHECK_GUEST_JOBS     guests make check boots while it builds (default 2)
#   TEST_FUZZ            make test's fuzzer calls (default 5000)
#   TEST_STRESS          make test's stress-test operations (default 20000)
#   TEST_CYCLES          make test's module load/unload cycles (default 100)
#   TEST_RACES           make test's module race rounds (default 30)
#   SUITES               make test's suites (default every suite of the kernel
#                        in bench/suites; KUnit runs at boot whatever it says)
#   SOAK_FUZZ, SOAK_STRESS, SOAK_CYCLES, SOAK_RACES, SOAK_TIMEOUT_SCALE
#                        make soak's strengths (1000000, 1000000, 1000, 300)
#                        and its per-program timeout factor (8)
#   KVM_VFIO_FUZZ, KVM_VFIO_STRESS, KVM_VFIO_CYCLES, KVM_VFIO_RACES
#                        make check's strengths for every kernel that has
#                        one (default: bench/variants)
#   BENCH_REPS, BENCH_SIZES
#                        make bench's timed calls per figure (500) and
#                        numbers of tracked files (0,16,256,1024,4096,16384)
#   KVM_VFIO_RERUN=1     run the stock (oracle) guests even when reusable
#   LINUX_SOURCE_7_3_VERSION, QEMU_IOMMUFD_VERSION
#                        the pinned linux-source-7.3 and QEMU packages

VARIANT ?= ours
KLINE ?= 6.12
KLINES ?= 6.12 7.3
BENCH := bench
export KLINE KLINES

KDIR ?= /lib/modules/$(shell uname -r)/build

# The cache, as bench/lib.sh finds it.
CACHE_DIR = $${KVM_VFIO_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kvm-vfio}
# LOCK_CACHE cmd && cmd...: the cache's lock, taken as bench/lib.sh's
# cache_lock takes it (fd 9 on CACHE_DIR/.lock, waiting with a message),
# for a recipe of several bench scripts: held from its first to its last,
# so that no other bench command rebuilds a kernel between this recipe's
# build and its boot.  KVM_VFIO_LOCKED tells the scripts they have it.
LOCK_CACHE = if [ -z "$${KVM_VFIO_LOCKED:-}" ]; then \
		mkdir -p "$(CACHE_DIR)" && exec 9>"$(CACHE_DIR)/.lock" && \
		{ flock -n 9 || { echo "==> the cache $(CACHE_DIR) is busy: another bench command (make check, test, soak, lint, demo, kernel...) holds $(CACHE_DIR)/.lock; waiting" >&2; \
			flock 9; }; } && \
		export KVM_VFIO_LOCKED=1; \
	fi &&

.PHONY: all test check soak mutants check-ppc64 check-distro bench demo shell run-guest lint kernel deps clean-cache help \
	module module-install module-clean upstream-check upstream-series

all: help

# The comment block at the top, from its third line to the blank line
# after it.
help:
	@sed -n '3,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@$(BENCH)/deps.sh

check:
	@$(BENCH)/check.sh

test:
	@VARIANT=$(VARIANT) $(BENCH)/test.sh

soak:
	@$(BENCH)/soak.sh

mutants:
	@$(BENCH)/mutants.sh

check-ppc64:
	@$(BENCH)/ppc64.sh $(PPC64_VARIANTS)

check-distro:
	@$(BENCH)/distro.sh $(DISTRO_KERNELS)

upstream-check:
	@$(BENCH)/upstream.sh check "$(KSRC)"

upstream-series:
	@$(BENCH)/upstream.sh series

bench:
	@$(LOCK_CACHE) $(BENCH)/perf.sh

# The recipe's shell is sh, which cannot source lib.sh: bash lists the
# kernels.
kernel: deps
	@$(LOCK_CACHE) \
	ks=$$(bash -c '. $(BENCH)/lib.sh && variant_list check $(KLINES)') && \
	for k in $$ks; do \
		KLINE=$${k%%-*} $(BENCH)/kernel.sh build $${k#*-} || exit; \
	done

# The module: the same virt/kvm/vfio.c, Kbuild in this folder.
module:
	@test -f "$(KDIR)/Makefile" || { echo "ERROR: no kernel build at KDIR=$(KDIR); give KDIR=<kernel build dir> (it needs patches/<line>/0003-0006 and CONFIG_KVM_VFIO_EXTERNAL=y)" >&2; exit 2; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

module-clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

demo: deps
	@$(LOCK_CACHE) \
	$(BENCH)/kernel.sh build $(VARIANT) && \
	$(BENCH)/run.sh $(VARIANT) demo

shell: deps
	@$(LOCK_CACHE) \
	$(BENCH)/kernel.sh build $(VARIANT) && \
	$(BENCH)/run.sh $(VARIANT) shell

run-guest: deps
	@test -n "$(PROG)" || { echo "ERROR: give the program: make run-guest PROG=path/to/static-binary-or-script" >&2; exit 2; }
	@$(LOCK_CACHE) \
	$(BENCH)/kernel.sh build $(VARIANT) && \
	RUN_PROG="$(abspath $(PROG))" $(BENCH)/run.sh $(VARIANT) run

lint: deps
	@$(LOCK_CACHE) \
	$(BENCH)/kernel.sh build ours && \
	$(BENCH)/kernel.sh build module && \
	$(BENCH)/kernel.sh build ours-ppc64 && \
	$(BENCH)/lint.sh "$(CACHE_DIR)/logs/static-checks.log" && \
	python3 $(BENCH)/test_ktap.py

clean-cache:
	rm -rf "$(CACHE_DIR)"
