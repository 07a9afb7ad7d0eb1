// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-vfio.ko: the KVM-VFIO device as a loadable module.
 *
 * Needs a kernel that leaves the built-in device out
 * (CONFIG_KVM_VFIO_EXTERNAL) and lets modules register KVM device types
 * (patches/6.12/0003 and 0004).  KVM holds a reference on this module for
 * as long as any kvm-vfio device exists, so it cannot be unloaded under a
 * live device.
 */
#include <linux/module.h>

#include "vfio.h"

static int __init kvm_vfio_module_init(void)
{
	return kvm_vfio_ops_init();
}
module_init(kvm_vfio_module_init);

static void __exit kvm_vfio_module_exit(void)
{
	kvm_vfio_ops_exit();
}
module_exit(kvm_vfio_module_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KVM-VFIO bridge device (KVM_DEV_TYPE_VFIO)");
