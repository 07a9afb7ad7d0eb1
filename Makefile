# SPDX-License-Identifier: GPL-2.0
#
# kvm-vfio: the front door.  See README.md.
#
#   make check              build stock and our kernel, boot both, run all tests
#   make demo               a narrated scenario in our kernel with a real VFIO device
#   make shell              our kernel with an interactive shell
#   make run-guest PROG=p   run program p in the test guest, return its status
#   make lint               static checks only (checkpatch, sparse, W=1, kernel-doc)
#   make kernel             build (or refresh) both kernels
#
# Variables: KVM_VFIO_CACHE (default ~/.cache/kvm-vfio), JOBS (default 3),
# GUEST_TIMEOUT (seconds, default 900), VARIANT (stock|ours, default ours).

VARIANT ?= ours
BENCH := bench

.PHONY: all check demo shell run-guest lint kernel deps clean-cache help

all: help

help:
	@sed -n '3,14p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@$(BENCH)/deps.sh

check:
	@$(BENCH)/check.sh

kernel: deps
	@$(BENCH)/kernel.sh build stock
	@$(BENCH)/kernel.sh build ours

demo: deps
	@$(BENCH)/kernel.sh build $(VARIANT)
	@$(BENCH)/run.sh $(VARIANT) demo

shell: deps
	@$(BENCH)/kernel.sh build $(VARIANT)
	@$(BENCH)/run.sh $(VARIANT) shell

run-guest: deps
	@test -n "$(PROG)" || { echo "ERROR: give the program: make run-guest PROG=path/to/static-binary-or-script" >&2; exit 2; }
	@$(BENCH)/kernel.sh build $(VARIANT)
	@RUN_PROG="$(abspath $(PROG))" $(BENCH)/run.sh $(VARIANT) run

lint: deps
	@$(BENCH)/kernel.sh build ours
	@$(BENCH)/lint.sh $${KVM_VFIO_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kvm-vfio}/logs/static-checks.log

clean-cache:
	rm -rf $${KVM_VFIO_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kvm-vfio}
