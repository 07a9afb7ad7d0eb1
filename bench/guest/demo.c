// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vfio_demo: a narrated tour of the KVM-VFIO device with the mtty mdev,
 * and with the test VFIO driver to show a driver seeing the VM.  Each step
 * says what it does and what the kernel answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kvm_vfio_util.h"
#include "../../virt/kvm/vfio/test_driver.h"

#define TEST_SYSDEV	"/sys/bus/platform/devices/" KVM_VFIO_TEST_NAME

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

/* What the user's tool, tools/kvm/kvm_vfio_stat, shows of our VMs now. */
static void show_stat(void)
{
	char cmd[64];
	int st;

	snprintf(cmd, sizeof(cmd), "/tests/kvm_vfio_stat -p %d", (int)getpid());
	printf("  $ kvm_vfio_stat -p %d\n", (int)getpid());
	fflush(stdout);
	st = system(cmd);
	if (st)
		printf("  kvm_vfio_stat: exit status %d\n",
		       WIFEXITED(st) ? WEXITSTATUS(st) : st);
	step("kvm_vfio_stat exits 0", st ? -EIO : 0, 0);
}

/* The VM the test driver's open_device() was given, as it names VMs. */
static void driver_saw(int device, const char *want)
{
	struct kvm_vfio_test_state st = { .argsz = sizeof(st) };
	int r = sys(ioctl(device, KVM_VFIO_TEST_GET_STATE, &st));
	bool good = r == 0 && !strcmp(st.open_vm, want);

	if (r)
		printf("  %-58s -> %s   UNEXPECTED\n", "KVM_VFIO_TEST_GET_STATE",
		       res(r));
	else
		printf("  open_device() was given VM \"%s\"; this demo's VM is \"%s\"%s\n",
		       st.open_vm, want, good ? "" : "   UNEXPECTED");
	failures += !good;
}

/*
 * The point of the device: ADD before the device is opened, and the
 * driver finds the VM's kvm in open_device().  The test VFIO driver
 * records it; VMs are named as KVM's debugfs names them, "<pid>-<VM fd>".
 */
static void driver_sees_kvm(int dev, int vm)
{
	const char *group_path = sysdev_group_path(TEST_SYSDEV);
	char vm_name[KVM_VFIO_TEST_VM_LEN];
	struct group_chain c;
	int cdev, iommufd;

	printf("\n4. The driver sees the kvm (the test VFIO driver)\n");
	if (!group_path) {
		printf("  skipped: no test VFIO device (load kvm_vfio_test_driver.ko)\n");
		return;
	}
	snprintf(vm_name, sizeof(vm_name), "%d-%d", getpid(), vm);
	step("open its group in a container",
	     group_chain_open_dev(&c, group_path, NULL), 0);
	step("KVM_DEV_VFIO_FILE_ADD(group)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, c.group), 0);
	c.device = step("VFIO_GROUP_GET_DEVICE_FD: open_device() runs",
			sys(ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD,
				  KVM_VFIO_TEST_NAME)), 1);
	driver_saw(c.device, vm_name);
	step("KVM_DEV_VFIO_FILE_DEL(group)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, c.group), 0);
	group_chain_close(&c);

#ifdef VFIO_DEVICE_BIND_IOMMUFD
	cdev = step("open its device cdev",
		    sys(open(sysdev_cdev_path(TEST_SYSDEV), O_RDWR)), 1);
	step("KVM_DEV_VFIO_FILE_ADD(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, cdev), 0);
	iommufd = sys(open("/dev/iommu", O_RDWR));
	step("VFIO_DEVICE_BIND_IOMMUFD: open_device() runs",
	     cdev_bind(cdev, iommufd), 0);
	driver_saw(cdev, vm_name);
	step("KVM_DEV_VFIO_FILE_DEL(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, cdev), 0);
	close(cdev);
	close(iommufd);
#endif
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
	device = step("VFIO_GROUP_GET_DEVICE_FD: mtty's open_device() runs",
		      sys(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid)), 1);

	printf("\n3. The cdev path: a device file\n");
	cdev = step("open the device cdev", sys(open(cdev_path, O_RDWR)), 1);
	step("KVM_DEV_VFIO_FILE_ADD(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, cdev), 0);
	show_stat();

	driver_sees_kvm(dev, vm);

	printf("\n5. Bad input gets a clear errno\n");
	efd = eventfd(0, 0);
	close(dup2(efd, 99));
	step("FILE_ADD of a closed fd (99)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, 99), -EBADF);
	step("FILE_ADD of an eventfd (not a VFIO file)",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, efd), -EINVAL);
	step("FILE_DEL of an eventfd (not tracked)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, efd), -ENOENT);

	printf("\n6. Delete, close, and the group is free again\n");
	step("KVM_DEV_VFIO_FILE_DEL(cdev)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, cdev), 0);
	close(device);
	step("KVM_DEV_VFIO_FILE_DEL(group)",
	     file_op(dev, KVM_DEV_VFIO_FILE_DEL, group), 0);
	show_stat();
	step("KVM_DEV_VFIO_FILE_ADD(group) once more, then close the group fd",
	     file_op(dev, KVM_DEV_VFIO_FILE_ADD, group), 0);
	ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
	close(group);
	step("reopen the group while the device holds it",
	     sys(open(group_path, O_RDWR)), -EBUSY);
	printf("  close the kvm-vfio device fd\n");
	close(dev);
	show_stat();
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
