/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The KVM-VFIO device ABI (KVM_DEV_TYPE_VFIO), in one header.
 *
 * It completes <linux/kvm.h> on systems whose kernel headers predate
 * KVM_DEV_VFIO_FILE (Linux 6.6; Debian 12 ships 6.1 headers) and checks at
 * compile time that the values agree where <linux/kvm.h> has them.  See
 * Documentation/virt/kvm/devices/vfio.rst.
 */
#ifndef _UAPI_LINUX_KVM_VFIO_H
#define _UAPI_LINUX_KVM_VFIO_H

#include <linux/kvm.h>
#include <linux/types.h>

/* The values of the ABI, under names no other header uses. */
#define KVM_VFIO_ABI_DEV_TYPE		4
#define KVM_VFIO_ABI_FILE		1
#define KVM_VFIO_ABI_FILE_ADD		1
#define KVM_VFIO_ABI_FILE_DEL		2
#define KVM_VFIO_ABI_SET_SPAPR_TCE	3

#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE		KVM_VFIO_ABI_FILE
#endif
#ifndef KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_GROUP		KVM_DEV_VFIO_FILE
#endif
#ifndef KVM_DEV_VFIO_FILE_ADD
#define KVM_DEV_VFIO_FILE_ADD		KVM_VFIO_ABI_FILE_ADD
#endif
#ifndef KVM_DEV_VFIO_FILE_DEL
#define KVM_DEV_VFIO_FILE_DEL		KVM_VFIO_ABI_FILE_DEL
#endif
#ifndef KVM_DEV_VFIO_GROUP_ADD
#define KVM_DEV_VFIO_GROUP_ADD		KVM_DEV_VFIO_FILE_ADD
#endif
#ifndef KVM_DEV_VFIO_GROUP_DEL
#define KVM_DEV_VFIO_GROUP_DEL		KVM_DEV_VFIO_FILE_DEL
#endif
#ifndef KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE
#define KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE	KVM_VFIO_ABI_SET_SPAPR_TCE
#endif

/*
 * struct kvm_vfio_spapr_tce, the argument of KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE,
 * has been in <linux/kvm.h> since Linux 4.x:
 *
 *	struct kvm_vfio_spapr_tce {
 *		__s32	groupfd;
 *		__s32	tablefd;
 *	};
 */

#ifdef __KERNEL__
#define __KVM_VFIO_ASSERT(c)	static_assert(c)
#else
/* C89-compatible: a negative array size stops the build. */
#define __KVM_VFIO_ASSERT(c)	extern int __kvm_vfio_abi_check[(c) ? 1 : -1]
#endif
#define __KVM_VFIO_SAME(a, b)	((a) == (b))

/* Where <linux/kvm.h> defines the ABI too, both must agree. */

__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(KVM_DEV_TYPE_VFIO, KVM_VFIO_ABI_DEV_TYPE));
__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(KVM_DEV_VFIO_FILE, KVM_VFIO_ABI_FILE) &&
		  __KVM_VFIO_SAME(KVM_DEV_VFIO_GROUP, KVM_VFIO_ABI_FILE));
__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(KVM_DEV_VFIO_FILE_ADD, KVM_VFIO_ABI_FILE_ADD) &&
		  __KVM_VFIO_SAME(KVM_DEV_VFIO_GROUP_ADD, KVM_VFIO_ABI_FILE_ADD));
__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(KVM_DEV_VFIO_FILE_DEL, KVM_VFIO_ABI_FILE_DEL) &&
		  __KVM_VFIO_SAME(KVM_DEV_VFIO_GROUP_DEL, KVM_VFIO_ABI_FILE_DEL));
__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, KVM_VFIO_ABI_SET_SPAPR_TCE));
__KVM_VFIO_ASSERT(__KVM_VFIO_SAME(sizeof(struct kvm_vfio_spapr_tce), 8));

#endif /* _UAPI_LINUX_KVM_VFIO_H */
