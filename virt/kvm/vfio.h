/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Registration of the KVM-VFIO device type.  KVM calls these at init and
 * exit when the device is built into KVM; kvm-vfio.ko calls them from its
 * module init and exit when the kernel leaves the device out
 * (CONFIG_KVM_VFIO_EXTERNAL) and Kbuild defines KVM_VFIO_MODULE.
 */
#ifndef __KVM_VFIO_H
#define __KVM_VFIO_H

#if (defined(CONFIG_KVM_VFIO) && !defined(CONFIG_KVM_VFIO_EXTERNAL)) || \
	defined(KVM_VFIO_MODULE)
int kvm_vfio_ops_init(void);
void kvm_vfio_ops_exit(void);
#else
static inline int kvm_vfio_ops_init(void)
{
	return 0;
}

static inline void kvm_vfio_ops_exit(void)
{
}
#endif

#endif /* __KVM_VFIO_H */
