/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel version differences for the KVM-VFIO device, in one place.
 *
 * 6.12:  KVM is told when a VM starts and stops using assigned devices
 *        (kvm_arch_start_assignment / kvm_arch_end_assignment), once per
 *        tracked file.
 * 6.17+: those calls were dropped from the device (7.3 has none); the
 *        hooks below do nothing there and the device does not call them
 *        (KVM_VFIO_HAS_ASSIGNMENT_HOOKS is 0).
 * Module enablers (ours): struct kvm_device_ops has an owner.
 */
#ifndef __KVM_VFIO_COMPAT_H
#define __KVM_VFIO_COMPAT_H

#include <linux/kvm_host.h>
#include <linux/version.h>

#if LINUX_VERSION_MAJOR < 6 || \
	(LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL < 17)
#define KVM_VFIO_HAS_ASSIGNMENT_HOOKS 1

static inline void kvm_vfio_compat_start_assignment(struct kvm *kvm)
{
	kvm_arch_start_assignment(kvm);
}

static inline void kvm_vfio_compat_end_assignment(struct kvm *kvm)
{
	kvm_arch_end_assignment(kvm);
}
#else
#define KVM_VFIO_HAS_ASSIGNMENT_HOOKS 0

static inline void kvm_vfio_compat_start_assignment(struct kvm *kvm)
{
}

static inline void kvm_vfio_compat_end_assignment(struct kvm *kvm)
{
}
#endif

/*
 * Kernels with the module enabler patches (patches/6.12/0003, 0004) give
 * struct kvm_device_ops an owner and have the KVM_VFIO_BUILTIN/EXTERNAL
 * choice; KVM then pins kvm-vfio.ko while a device exists.
 */
#if defined(CONFIG_KVM_VFIO_BUILTIN) || defined(CONFIG_KVM_VFIO_EXTERNAL)
static inline void kvm_vfio_compat_set_owner(struct kvm_device_ops *ops,
					     struct module *owner)
{
	ops->owner = owner;
}
#else
static inline void kvm_vfio_compat_set_owner(struct kvm_device_ops *ops,
					     struct module *owner)
{
}
#endif

#endif /* __KVM_VFIO_COMPAT_H */
