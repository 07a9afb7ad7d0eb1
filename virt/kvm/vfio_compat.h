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

#endif /* __KVM_VFIO_COMPAT_H */
