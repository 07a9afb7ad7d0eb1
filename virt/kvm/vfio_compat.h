/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel differences for the KVM-VFIO device, in one place.  Each is
 * decided by testing for the feature, not by the kernel version, so that a
 * distribution kernel that backports a change gets it right.
 *
 * Assignment calls: an architecture that tracks assigned devices defines
 * __KVM_HAVE_ARCH_ASSIGNED_DEVICE and provides kvm_arch_start_assignment()
 * and kvm_arch_end_assignment(), which the device calls once per tracked
 * file: x86, until the device stopped calling them in 6.17 (7.3 has
 * neither the functions nor the macro).  Elsewhere they did nothing.
 * Without the macro the device makes no such call
 * (KVM_VFIO_HAS_ASSIGNMENT_HOOKS is 0).
 */
#ifndef __KVM_VFIO_COMPAT_H
#define __KVM_VFIO_COMPAT_H

#include <linux/kvm_host.h>

#ifdef __KVM_HAVE_ARCH_ASSIGNED_DEVICE
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
