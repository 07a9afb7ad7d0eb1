# SPDX-License-Identifier: GPL-2.0
#
# arm64: the kernels of bench/variants for QEMU's virt machine, cross-built
# with Debian's gcc-aarch64-linux-gnu.  Sourced by variant_load
# (bench/lib.sh).
#
# The guest is virt under TCG with -cpu max and the virtualization
# extensions (EL2), so the guest kernel starts at EL2 and KVM runs VMs
# inside it; GICv3 (KVM's vGIC needs it); QEMU's SMMUv3 with the edu PCI
# device behind it (bound to vfio-pci by /init).  /init is bench/guest/init
# on Debian's arm64 busybox-static (fetched into the cache by initramfs.sh,
# not installed).  The host's x86 QEMU cannot run inside, so there is no
# 9p root and no nested QEMU client.  A power-off (PSCI) and a panic both
# end QEMU with 0; the "done" line tells them apart.
KARCH=arm64
KMAKE=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
       CC="ccache aarch64-linux-gnu-gcc")
KTARGETS=(Image modules)
KIMAGE=arch/arm64/boot/Image
DKMS_ARCH=aarch64	# dkms -a: the module's machine
GUEST_CC=aarch64-linux-gnu-gcc
GUEST_TAG=-arm64
GUEST_MODES="check bench demo shell run"

arch_qemu() {
	QEMU_BIN=qemu-system-aarch64
	# pauth-impdef: QEMU's cheap pointer-authentication hash (the
	# architected one dominates a TCG guest's time).
	QEMU_CMD=(qemu-system-aarch64
		  -M virt,virtualization=on,gic-version=3,iommu=smmuv3
		  -cpu max,pauth-impdef=on -accel tcg,thread=multi -smp 2
		  -m 2G -nodefaults -no-reboot -display none -serial mon:stdio
		  -device edu
		  -kernel "$1" -initrd "$2"
		  -append "console=ttyAMA0 $3")
}
