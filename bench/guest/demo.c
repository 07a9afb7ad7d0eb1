// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vfio_demo: a narrated tour of the KVM-VFIO device with the mtty mdev.
 * Each step says what it does and what the kernel answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "kvm_vfio_util.h"

static int failures;

static const char *res(int r)
{
	static char buf[64];

	if (r >= 0)
		snprintf(buf, sizeof(buf), "ok (%d)", r);
	else
		snprintf(buf, sizeof(buf), "%s (%s)", strerrorname_np(-r) ?:
			 "?", strerror(-r));
	return buf;
}

/* Print the step, its result, and whether that is what the contract says. */
static int step(const char *what, int r, int want)
{
	int good = want == 1 ? r >= 0 : r == want;

	printf("  %-58s -> %s%s\n", what, res(r), good ? "" : "   UNEXPECTED");
	failures += !good;
	return r;
}

static int sys(int r)
{
	return r < 0 ? -errno : r;
}

int main(void)
{
	const char *uuid = getenv("MTTY_UUID");
	char link[256], target[256], group_path[300], cdev_path[300];
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int kvm, vm, dev, group, container, device, cdev, efd, r;
	ssize_t n;

	if (!uuid) {
		fprintf(stderr, "demo: MTTY_UUID is not set\n");
		return 2;
	}
	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group",
		 uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		perror("demo: mtty mdev iommu_group");
		return 2;
	}
	target[n] = 0;
	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s",
		 strrchr(target, '/') + 1);
	snprintf(cdev_path, sizeof(cdev_path), "/dev/vfio/devices/vfio0");

	printf("\n== KVM-VFIO device demo: mtty mdev %s\n", uuid);
	printf("   group %s, device cdev %s\n\n", group_path, cdev_path);

	printf("1. A VM and its kvm-vfio device\n");
	kvm = step("open /dev/kvm", sys(open("/dev/kvm", O_RDWR)), 1);
	vm = step("KVM_CREATE_VM", sys(ioctl(kvm, KVM_CREATE_VM, 0)), 1);
	r = sys(ioctl(vm, KVM_CREATE_DEVICE, &cd));
	dev = step("KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO): the device fd",
		   r < 0 ? r : (int)cd.fd, 1);
	step("a second KVM_CREATE_DEVICE in the same VM",
	     sys(ioctl(vm, KVM_CREATE_DEVICE, &cd)), -EBUSY);

	printf("\n2. The group path (legacy container), as QEMU does it\n");
	group = step("open the VFIO group", sys(open(group_path, O_RDWR)), 1);
	container = step("open /dev/vfio/vfio",
			 sys(open("/dev/vfio/vfio", O_RDWR)), 1);
	step("VFIO_GROUP_SET_CONTAINER",
	     sys(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)), 0);
	step("VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)",
	     sys(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 0);
	step("KVM_DEV_VFIO_FILE_ADD(group)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, group), 0);
	step("KVM_DEV_VFIO_FILE_ADD(group) again",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, group), -EEXIST);
	device = step("VFIO_GROUP_GET_DEVICE_FD (driver sees the kvm)",
		      sys(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid)), 1);

	printf("\n3. The cdev path: a device file\n");
	cdev = step("open the device cdev", sys(open(cdev_path, O_RDWR)), 1);
	step("KVM_DEV_VFIO_FILE_ADD(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, cdev), 0);

	printf("\n4. Bad input gets a clear errno\n");
	efd = eventfd(0, 0);
	close(dup2(efd, 99));
	step("FILE_ADD of a closed fd (99)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, 99), -EBADF);
	step("FILE_ADD of an eventfd (not a VFIO file)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, efd), -EINVAL);
	step("FILE_DEL of an eventfd (not tracked)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, efd), -ENOENT);

	printf("\n5. Delete, close, and the group is free again\n");
	step("KVM_DEV_VFIO_FILE_DEL(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, cdev), 0);
	close(device);
	step("KVM_DEV_VFIO_FILE_DEL(group)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, group), 0);
	step("KVM_DEV_VFIO_FILE_ADD(group) once more, then close the group fd",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, group), 0);
	ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
	close(group);
	step("reopen the group while the device holds it",
	     sys(open(group_path, O_RDWR)), -EBUSY);
	printf("  close the kvm-vfio device fd\n");
	close(dev);
	r = step("reopen the group after the device is closed",
		 sys(open(group_path, O_RDWR)), 1);
	close(r);
	close(cdev);
	close(container);
	close(vm);
	close(kvm);

	printf("\n== demo %s: %d unexpected result(s)\n\n",
	       failures ? "FAILED" : "done", failures);
	return failures ? 1 : 0;
}
