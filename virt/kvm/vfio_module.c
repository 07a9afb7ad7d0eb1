// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-vfio.ko: the KVM-VFIO device as a loadable module.
 *
 * Needs a kernel that leaves the built-in device out
 * (CONFIG_KVM_VFIO_EXTERNAL) and lets modules register KVM device types
 * (patches/<line>/0003, 0004 and 0006).  KVM loads it on the first
 * KVM_CREATE_DEVICE of the type, and holds a reference on it for as long
 * as any kvm-vfio device exists, so it cannot be unloaded under a live
 * device.
 */
#include <linux/build_bug.h>
#include <linux/kvm_host.h>
#include <linux/module.h>

#include "vfio.h"

/*
 * KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO) loads this module by the alias
 * kvm-device-type-4 (patches/<line>/0004).  The alias needs the number
 * itself, so check that it is the type's.
 */
static_assert(KVM_DEV_TYPE_VFIO == 4);

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

MODULE_ALIAS_KVM_DEVICE(4);
MODULE_VERSION("0.1");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KVM-VFIO bridge device (KVM_DEV_TYPE_VFIO)");
