# SPDX-License-Identifier: GPL-2.0
#
# x86_64: what every x86_64 kernel of bench/variants shares.  Sourced by
# variant_load (bench/lib.sh).
#
# The guest is a q35 machine under TCG with -cpu max (the emulated CPU has
# SVM, so kvm_amd loads and VMs can be created inside), QEMU's Intel IOMMU
# enforcing snooping with QEMU's edu device behind it (the cache-coherent
# VFIO device), the host's root read-only over 9p (the nested QEMU
# client) and isa-debug-exit for the verdict.  /init is bench/guest/init
# (busybox).
KARCH=x86_64
KMAKE=(ARCH=x86_64 CC="ccache gcc")
KTARGETS=(bzImage modules)
KIMAGE=arch/x86/boot/bzImage
DKMS_ARCH=x86_64	# dkms -a: the module's machine
GUEST_CC=gcc
GUEST_TAG=
GUEST_MODES="check bench demo shell run"

# arch_qemu KERNEL INITRD CMDLINE: the QEMU command line, in QEMU_CMD.
arch_qemu() {
	QEMU_BIN=qemu-system-x86_64
	QEMU_CMD=(qemu-system-x86_64 -accel tcg,thread=${QEMU_TCG_THREAD:-multi} -cpu max -smp 2
		  -m 2G -machine q35 -nodefaults -no-reboot -display none
		  -serial mon:stdio
		  -device intel-iommu,snoop-control=on,intremap=off
		  -device edu
		  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
		  -device isa-debug-exit,iobase=0x501,iosize=1
		  -kernel "$1" -initrd "$2"
		  -append "console=ttyS0 intel_iommu=on iommu=pt $3")
	# QEMU_TCG_THREAD=single: one host thread for both vCPUs (run.sh,
	# Debian's kernels).
	# iommu=pt: the emulated IOMMU translates only for the VFIO devices;
	# the rest (virtio-9p) stay identity-mapped.
}
