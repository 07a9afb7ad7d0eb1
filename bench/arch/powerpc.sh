# SPDX-License-Identifier: GPL-2.0
#
# powerpc: the pseries (ppc64le, KVM PR) kernels of bench/variants, for the
# sPAPR TCE path; cross-built.  Sourced by variant_load (bench/lib.sh).
#
# The guest is pseries under TCG (POWER9, hash MMU for KVM PR) with an
# e1000 that has no driver in the guest: the PCI device /init binds to
# vfio-pci, in iommu group 0.  /init is bench/guest/ppc64_init.c (static);
# the kernel has no modules.  A power-off and a panic both end QEMU with 0;
# the "done" line tells them apart.
KARCH=powerpc
KMAKE=(ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu-
       CC="ccache powerpc64le-linux-gnu-gcc")
KTARGETS=(vmlinux)
KIMAGE=vmlinux
DKMS_ARCH=ppc64le	# dkms -a: the module's machine
GUEST_CC=powerpc64le-linux-gnu-gcc
GUEST_TAG=-ppc64
GUEST_MODES="check"

arch_qemu() {
	QEMU_BIN=qemu-system-ppc64
	QEMU_CMD=(qemu-system-ppc64 -M pseries,usb=off -cpu POWER9
		  -accel tcg,thread=multi -m 2G -smp 2 -nodefaults -no-reboot
		  -display none -serial mon:stdio -device e1000,romfile=
		  -kernel "$1" -initrd "$2"
		  -append "console=hvc0 disable_radix $3")
}
