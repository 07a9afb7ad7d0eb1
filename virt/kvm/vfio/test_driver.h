/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The test-only interface of the kvm-vfio test VFIO driver (test_driver.c),
 * shared with its kselftest.  Not a stable ABI: it exists for the tests.
 */
#ifndef _KVM_VFIO_TEST_DRIVER_H
#define _KVM_VFIO_TEST_DRIVER_H

#include <linux/types.h>
#include <linux/vfio.h>

/* The platform device and driver name; also the sysfs folder. */
#define KVM_VFIO_TEST_NAME	"kvm_vfio_test"
#define KVM_VFIO_TEST_VM_LEN	32

/**
 * struct kvm_vfio_test_state - what the driver saw, read on an open device
 * @argsz:	in: the size of this structure
 * @opens:	out: open_device() calls since the module was loaded, whatever
 *		their outcome
 * @refused:	out: open_device() calls refused because require_kvm is set
 *		and VFIO gave no kvm
 * @pad:	reserved, zero
 * @open_vm:	out: the VM this open_device() was given, named as KVM names
 *		it in debugfs ("<pid>-<VM fd>"); empty when it got none
 * @cur_vm:	out: the VM the device holds now (struct vfio_device::kvm),
 *		named the same way
 */
struct kvm_vfio_test_state {
	__u32 argsz;
	__u32 opens;
	__u32 refused;
	__u32 pad;
	char open_vm[KVM_VFIO_TEST_VM_LEN];
	char cur_vm[KVM_VFIO_TEST_VM_LEN];
};

/* On the device fd; far above the numbers VFIO itself uses. */
#define KVM_VFIO_TEST_GET_STATE	_IO(VFIO_TYPE, VFIO_BASE + 90)

#endif /* _KVM_VFIO_TEST_DRIVER_H */
