// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vfio_module_test: kvm-vfio.ko in a kernel that leaves the built-in
 * KVM-VFIO device out (CONFIG_KVM_VFIO_EXTERNAL) and builds VFIO as
 * modules.  Two phases, chosen with the harness's fixture filter:
 *
 *   -f early   before vfio.ko is loaded
 *   -f loaded  with vfio.ko and the mtty mdev present
 *
 * Each case leaves kvm-vfio.ko unloaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

#define MODULE_PATH	"/lib/modules/kvm-vfio.ko"
#define MODULE_NAME	"kvm_vfio"

static int module_load(void)
{
	int fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int module_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

/* /sys/module/kvm_vfio/refcnt: one reference per live device. */
static int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/" MODULE_NAME "/refcnt", "r");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static bool module_loaded(void)
{
	return !access("/sys/module/" MODULE_NAME, F_OK);
}

static bool vfio_loaded(void)
{
	return !access("/sys/module/vfio", F_OK);
}

FIXTURE(early) {
	int kvm_fd, vm_fd;
};

/* Setup of both phases: kvm-vfio.ko not loaded yet, and one VM. */
static void vm_open(struct __test_metadata *_metadata, int *kvm_fd,
		    int *vm_fd)
{
	if (access(MODULE_PATH, F_OK))
		SKIP(return, "no %s: not the module-mode kernel", MODULE_PATH);
	ASSERT_FALSE(module_loaded());
	*kvm_fd = open("/dev/kvm", O_RDWR);
	ASSERT_LE(0, *kvm_fd);
	*vm_fd = ioctl(*kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, *vm_fd);
}

/* Teardown of both phases: leave the module unloaded for the next case. */
static void unload_if_loaded(void)
{
	if (module_loaded())
		module_unload();
}

FIXTURE_SETUP(early)
{
	vm_open(_metadata, &self->kvm_fd, &self->vm_fd);
	if (_metadata->exit_code)
		return;
	ASSERT_FALSE(vfio_loaded()) TH_LOG("vfio.ko is loaded already");
}

FIXTURE_TEARDOWN(early)
{
	unload_if_loaded();
}

/* Without the module there is no KVM_DEV_TYPE_VFIO: ENODEV. */
TEST_F(early, enodev_without_module)
{
	int dev;

	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
	ASSERT_EQ(0, module_load());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	close(dev);
	ASSERT_EQ(0, module_unload());
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
}

/* F3: the module loads without vfio.ko; ADD is then EINVAL. */
TEST_F(early, loads_without_vfio)
{
	int dev, efd = eventfd(0, 0);

	ASSERT_EQ(0, module_load());
	ASSERT_FALSE(vfio_loaded());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(-EINVAL, file_op(dev, KVM_DEV_VFIO_FILE_ADD, efd));
	ASSERT_EQ(-ENOENT, file_op(dev, KVM_DEV_VFIO_FILE_DEL, efd));
	ASSERT_EQ(-EBADF, file_op(dev, KVM_DEV_VFIO_FILE_ADD, -1));
	ASSERT_FALSE(vfio_loaded()) TH_LOG("the device pulled in vfio.ko");
	close(dev);
	ASSERT_EQ(0, module_unload());
}

FIXTURE(loaded) {
	int kvm_fd, vm_fd;
	const char *group;
};

FIXTURE_SETUP(loaded)
{
	vm_open(_metadata, &self->kvm_fd, &self->vm_fd);
	if (_metadata->exit_code)
		return;
	self->group = group_path();
	if (!self->group)
		SKIP(return, "no mtty mdev ($MTTY_UUID)");
	ASSERT_TRUE(vfio_loaded());
}

FIXTURE_TEARDOWN(loaded)
{
	unload_if_loaded();
}

/* After vfio.ko arrives the same module works with real files. */
TEST_F(loaded, works_after_vfio)
{
	int dev, g;

	ASSERT_EQ(0, module_load());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(-EEXIST, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	close(g);
	close(dev);
	ASSERT_EQ(0, module_unload());
}

/* rmmod under a live device fails "in use"; the device keeps working. */
TEST_F(loaded, unload_in_use)
{
	int dev, g, r;

	ASSERT_EQ(0, module_load());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));

	/* KVM pins the module once per device: delete_module refuses. */
	ASSERT_EQ(1, module_refcnt());
	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	/* What a user sees (busybox rmmod, then the reference count): */
	fflush(stdout);
	r = system("rmmod " MODULE_NAME " 2>&1 | sed 's/^/# /'; "
		   "echo \"# in use: refcnt $(cat /sys/module/" MODULE_NAME
		   "/refcnt)\"");
	ASSERT_TRUE(module_loaded());
	(void)r;

	/* The device still works, also with its VM fd closed. */
	close(self->vm_fd);
	self->vm_fd = -1;
	ASSERT_EQ(-EEXIST, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	close(g);
	ASSERT_EQ(-EWOULDBLOCK, module_unload());

	close(dev);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
	ASSERT_FALSE(module_loaded());
	/* The device dropped the group: it can be opened again. */
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	close(g);
}

/* Two VMs with a device each: two references, dropped one by one. */
TEST_F(loaded, one_reference_per_device)
{
	int vm2, dev, dev2;

	ASSERT_EQ(0, module_load());
	vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	ASSERT_EQ(2, module_refcnt());
	/* EBUSY for the second device in a VM takes no reference. */
	ASSERT_EQ(-EBUSY, create_vfio_dev(vm2, 0));
	ASSERT_EQ(2, module_refcnt());
	close(vm2);
	ASSERT_EQ(2, module_refcnt());
	close(dev2);
	ASSERT_EQ(1, module_refcnt());
	close(dev);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
}

/* 100 cycles: load, VM and device, ADD/DEL a real file, close, unload. */
TEST_F_TIMEOUT(loaded, load_unload_cycles, 300)
{
	int i, vm, dev, g;

	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, module_load()) TH_LOG("cycle %d", i);
		vm = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
		ASSERT_LE(0, vm);
		dev = create_vfio_dev(vm, 0);
		ASSERT_LE(0, dev) TH_LOG("cycle %d", i);
		g = open(self->group, O_RDWR);
		ASSERT_LE(0, g) TH_LOG("cycle %d: group still held", i);
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
		close(g);
		close(dev);
		close(vm);
		ASSERT_EQ(0, module_unload()) TH_LOG("cycle %d", i);
	}
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
}

TEST_HARNESS_MAIN
