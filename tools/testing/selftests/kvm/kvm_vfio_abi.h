/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM-VFIO device's ABI for the kvm_vfio tests, so that they also build
 * on userspace headers older than KVM_DEV_VFIO_FILE (Linux 6.6): the names
 * <linux/kvm.h> lacks are defined here, and where it has them the values
 * are checked to agree.  Not a uapi header: <linux/kvm.h> is the ABI.  See
 * Documentation/virt/kvm/devices/vfio.rst.
 */
#ifndef SELFTEST_KVM_VFIO_ABI_H
#define SELFTEST_KVM_VFIO_ABI_H

#include <assert.h>
#include <linux/kvm.h>

#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE		1
#endif
#ifndef KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_GROUP		KVM_DEV_VFIO_FILE
#endif
#ifndef KVM_DEV_VFIO_FILE_ADD
#define KVM_DEV_VFIO_FILE_ADD		1
#endif
#ifndef KVM_DEV_VFIO_FILE_DEL
#define KVM_DEV_VFIO_FILE_DEL		2
#endif
#ifndef KVM_DEV_VFIO_GROUP_ADD
#define KVM_DEV_VFIO_GROUP_ADD		KVM_DEV_VFIO_FILE_ADD
#endif
#ifndef KVM_DEV_VFIO_GROUP_DEL
#define KVM_DEV_VFIO_GROUP_DEL		KVM_DEV_VFIO_FILE_DEL
#endif
#ifndef KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE
#define KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE	3
#endif

/* The values of the ABI, whichever header defined the names. */
static_assert(KVM_DEV_TYPE_VFIO == 4, "KVM_DEV_TYPE_VFIO");
static_assert(KVM_DEV_VFIO_FILE == 1 && KVM_DEV_VFIO_GROUP == 1,
	      "KVM_DEV_VFIO_FILE");
static_assert(KVM_DEV_VFIO_FILE_ADD == 1 && KVM_DEV_VFIO_GROUP_ADD == 1,
	      "KVM_DEV_VFIO_FILE_ADD");
static_assert(KVM_DEV_VFIO_FILE_DEL == 2 && KVM_DEV_VFIO_GROUP_DEL == 2,
	      "KVM_DEV_VFIO_FILE_DEL");
static_assert(KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE == 3,
	      "KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE");
/* In <linux/kvm.h> since Linux 4.x: { __s32 groupfd; __s32 tablefd; }. */
static_assert(sizeof(struct kvm_vfio_spapr_tce) == 8, "kvm_vfio_spapr_tce");

#endif /* SELFTEST_KVM_VFIO_ABI_H */
