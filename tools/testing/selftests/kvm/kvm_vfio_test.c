// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_test: the KVM-VFIO device (KVM_DEV_TYPE_VFIO) from userspace,
 * with real VFIO files from the mtty sample (one mdev).
 *
 * Every case creates its own VM and kvm-vfio device in FIXTURE_SETUP: the
 * harness forks per case and the device answers EIO to any other process.
 *
 * Leak oracle: a VFIO group can be open only once, so a group that the
 * device still references cannot be reopened (EBUSY) even after the test
 * closed its own fd.
 *
 * The mdev is found through $MTTY_UUID or as the first entry of
 * /sys/bus/mdev/devices; cases that need it SKIP without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

/* One step, one line: test_cmd_* must succeed, test_err_* must fail so. */
#define test_cmd_add(dev, fd)	ASSERT_EQ(0, file_add(dev, fd))
#define test_cmd_del(dev, fd)	ASSERT_EQ(0, file_del(dev, fd))
#define test_err_add(err, dev, fd) ASSERT_EQ(-(err), file_add(dev, fd))
#define test_err_del(err, dev, fd) ASSERT_EQ(-(err), file_del(dev, fd))

/* ---- fixtures: a VM and its kvm-vfio device ------------------------- */

FIXTURE(kvm_vfio) {
	int kvm_fd;
	int vm_fd;
	int dev_fd;
};

FIXTURE_SETUP(kvm_vfio)
{
	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

FIXTURE_TEARDOWN(kvm_vfio)
{
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/* Setup of the group and cdev fixtures: one VFIO file of the mdev too. */
static void vfile_open(struct __test_metadata *_metadata, int *kvm_fd,
		       int *vm_fd, int *dev_fd, int *fd, const char *path,
		       const char *why)
{
	*fd = -1;
	vm_dev_open(_metadata, kvm_fd, vm_fd, dev_fd);
	if (_metadata->exit_code)
		return;
	if (!path)
		SKIP(return, "%s", why);
	*fd = open(path, O_RDWR);
	ASSERT_LE(0, *fd);
}

/* The same, with the mdev's group open (self->g, path self->path). */
FIXTURE(group) {
	int kvm_fd, vm_fd, dev_fd, g;
	const char *path;
};

FIXTURE_SETUP(group)
{
	self->path = group_path();
	vfile_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd,
		   &self->g, self->path, NO_MTTY);
}

FIXTURE_TEARDOWN(group)
{
	close_fd(&self->g);
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/* The same, with one open of the mdev's cdev (self->d). */
FIXTURE(cdev) {
	int kvm_fd, vm_fd, dev_fd, d;
	const char *path;
};

FIXTURE_SETUP(cdev)
{
	self->path = cdev_path();
	vfile_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd,
		   &self->d, self->path, NO_CDEV);
}

FIXTURE_TEARDOWN(cdev)
{
	close_fd(&self->d);
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/* C1: the device fd is read-write and close-on-exec. */
TEST_F(kvm_vfio, create_fd_flags)
{
	int fl = fcntl(self->dev_fd, F_GETFL);

	ASSERT_EQ(O_RDWR, fl & O_ACCMODE);
	ASSERT_EQ(FD_CLOEXEC, fcntl(self->dev_fd, F_GETFD) & FD_CLOEXEC);
}

/* C2: one kvm-vfio device per VM. */
TEST_F(kvm_vfio, create_second_ebusy)
{
	ASSERT_EQ(-EBUSY, create_vfio_dev(self->vm_fd, 0));
}

/* C2: another VM gets its own. */
TEST_F(kvm_vfio, create_in_other_vm)
{
	int vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	int dev2;

	ASSERT_LE(0, vm2);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	close(dev2);
	close(vm2);
}

/* C3: create/close/create 1,000 times, never a stale EBUSY. */
TEST_F(kvm_vfio, create_close_loop)
{
	int i, fd;

	for (i = 0; i < 1000; i++) {
		close(self->dev_fd);
		fd = create_vfio_dev(self->vm_fd, 0);
		ASSERT_LE(0, fd) TH_LOG("iteration %d: %s", i, strerror(-fd));
		self->dev_fd = fd;
	}
}

/* C4: KVM_CREATE_DEVICE_TEST answers 0 and creates nothing. */
TEST_F(kvm_vfio, create_test_flag)
{
	int vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);

	ASSERT_LE(0, vm2);
	ASSERT_EQ(0, create_vfio_dev(vm2, KVM_CREATE_DEVICE_TEST));
	/* Nothing was created: a real create still succeeds. */
	ASSERT_LE(0, create_vfio_dev(vm2, 0));
	/* Even with a device present, the test flag only probes. */
	ASSERT_EQ(0, create_vfio_dev(self->vm_fd, KVM_CREATE_DEVICE_TEST));
	close(vm2);
}

/* A1: any attribute group other than KVM_DEV_VFIO_FILE is ENXIO. */
TEST_F(kvm_vfio, set_attr_bad_group)
{
	__u32 groups[] = { 0, 2, 3, 0x100, 0xffffffff };
	__s32 fd = -1;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(groups); i++)
		ASSERT_EQ(-ENXIO, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
					   groups[i], KVM_DEV_VFIO_FILE_ADD, &fd));
}

/* A2: unknown attributes of the FILE group are ENXIO (3 too, off ppc64). */
TEST_F(kvm_vfio, set_attr_bad_attr)
{
	__u64 attrs[] = { 0, 4, 0x100, 1ULL << 32 | 1, ~0ULL };
	__s32 fd = -1;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		ASSERT_EQ(-ENXIO, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
					   KVM_DEV_VFIO_FILE, attrs[i], &fd));
	if (!is_ppc64())
		ASSERT_EQ(-ENXIO, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
					   KVM_DEV_VFIO_FILE,
					   KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, &fd));
}

/* The legacy GROUP names are the same attributes. */
TEST_F(kvm_vfio, group_alias)
{
	ASSERT_EQ(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_GROUP);
	ASSERT_EQ(KVM_DEV_VFIO_FILE_ADD, KVM_DEV_VFIO_GROUP_ADD);
	ASSERT_EQ(KVM_DEV_VFIO_FILE_DEL, KVM_DEV_VFIO_GROUP_DEL);
	ASSERT_EQ(1, KVM_DEV_VFIO_FILE);
	ASSERT_EQ(1, KVM_DEV_VFIO_FILE_ADD);
	ASSERT_EQ(2, KVM_DEV_VFIO_FILE_DEL);
}

/* A3: ADD and DEL with an unreadable addr are EFAULT. */
TEST_F(kvm_vfio, set_attr_efault)
{
	void *unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *addrs[] = { NULL, unmapped, (void *)-4096L, (void *)1 };
	unsigned int i;

	ASSERT_NE(MAP_FAILED, unmapped);
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		ASSERT_EQ(-EFAULT, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
					    KVM_DEV_VFIO_FILE,
					    KVM_DEV_VFIO_FILE_ADD, addrs[i]));
		ASSERT_EQ(-EFAULT, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
					    KVM_DEV_VFIO_FILE,
					    KVM_DEV_VFIO_FILE_DEL, addrs[i]));
	}
}

/* A4: HAS_DEVICE_ATTR is 0 for FILE/ADD and FILE/DEL only; addr ignored. */
TEST_F(kvm_vfio, has_attr)
{
	__u64 a;

	for (a = 0; a < 8; a++) {
		int want = (a == KVM_DEV_VFIO_FILE_ADD ||
			    a == KVM_DEV_VFIO_FILE_DEL) ? 0 : -ENXIO;
		if (a == KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE && is_ppc64())
			want = 0;
		ASSERT_EQ(want, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR,
					 KVM_DEV_VFIO_FILE, a, NULL));
		ASSERT_EQ(want, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR,
					 KVM_DEV_VFIO_FILE, a, (void *)1));
	}
	ASSERT_EQ(-ENXIO, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR, 0,
				   KVM_DEV_VFIO_FILE_ADD, NULL));
	ASSERT_EQ(-ENXIO, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR, 2,
				   KVM_DEV_VFIO_FILE_ADD, NULL));
}

/* A5: there is no GET_DEVICE_ATTR. */
TEST_F(kvm_vfio, get_attr_eperm)
{
	__s32 fd = -1;

	ASSERT_EQ(-EPERM, dev_attr(self->dev_fd, KVM_GET_DEVICE_ATTR,
				   KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD,
				   &fd));
}

/* A6: a process other than the VM's creator gets EIO. */
TEST_F(kvm_vfio, other_process_eio)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int r1 = file_add(self->dev_fd, -1);
		int r2 = dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR,
				  KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, NULL);
		_exit(r1 == -EIO && r2 == -EIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* F1, F6: fds that are not open are EBADF for ADD and DEL. */
TEST_F(kvm_vfio, bad_fd_ebadf)
{
	int fds[] = { -1, INT_MIN, INT_MAX, 4095, 0x10000 };
	int closed = dup(0);
	unsigned int i;

	ASSERT_LE(0, closed);
	close(closed);
	test_err_add(EBADF, self->dev_fd, closed);
	test_err_del(EBADF, self->dev_fd, closed);
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		test_err_add(EBADF, self->dev_fd, fds[i]);
		test_err_del(EBADF, self->dev_fd, fds[i]);
	}
}

/* F2, F7: files that are not VFIO group or device files. */
FIXTURE(not_vfio) {
	int kvm_fd, vm_fd, dev_fd;
	int fd, fd2;
};

FIXTURE_VARIANT(not_vfio) {
	const char *kind;
};

FIXTURE_VARIANT_ADD(not_vfio, eventfd) { .kind = "eventfd" };
FIXTURE_VARIANT_ADD(not_vfio, pipe) { .kind = "pipe" };
FIXTURE_VARIANT_ADD(not_vfio, socket) { .kind = "socket" };
FIXTURE_VARIANT_ADD(not_vfio, dev_null) { .kind = "dev_null" };
FIXTURE_VARIANT_ADD(not_vfio, tmpfile) { .kind = "tmpfile" };
FIXTURE_VARIANT_ADD(not_vfio, memfd) { .kind = "memfd" };
FIXTURE_VARIANT_ADD(not_vfio, kvm_fd) { .kind = "kvm" };
FIXTURE_VARIANT_ADD(not_vfio, vm_fd) { .kind = "vm" };
FIXTURE_VARIANT_ADD(not_vfio, device_fd) { .kind = "device" };
FIXTURE_VARIANT_ADD(not_vfio, container) { .kind = "container" };
FIXTURE_VARIANT_ADD(not_vfio, iommufd) { .kind = "iommufd" };
FIXTURE_VARIANT_ADD(not_vfio, group_sysfs) { .kind = "sysfs" };

FIXTURE_SETUP(not_vfio)
{
	const char *k = variant->kind;
	int p[2];

	self->fd = -1;
	self->fd2 = -1;
	self->vm_fd = -1;
	self->dev_fd = -1;
	self->kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	self->vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm_fd);
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);

	if (!strcmp(k, "eventfd")) {
		self->fd = eventfd(0, 0);
	} else if (!strcmp(k, "pipe")) {
		ASSERT_EQ(0, pipe(p));
		self->fd = p[0];
		self->fd2 = p[1];
	} else if (!strcmp(k, "socket")) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, p));
		self->fd = p[0];
		self->fd2 = p[1];
	} else if (!strcmp(k, "dev_null")) {
		self->fd = open("/dev/null", O_RDWR);
	} else if (!strcmp(k, "tmpfile")) {
		self->fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	} else if (!strcmp(k, "memfd")) {
		self->fd = memfd_create("kvm_vfio_test", MFD_CLOEXEC);
	} else if (!strcmp(k, "kvm")) {
		self->fd = dup(self->kvm_fd);
	} else if (!strcmp(k, "vm")) {
		self->fd = dup(self->vm_fd);
	} else if (!strcmp(k, "device")) {
		self->fd = dup(self->dev_fd);
	} else if (!strcmp(k, "container")) {
		self->fd = open("/dev/vfio/vfio", O_RDWR);
		if (self->fd < 0)
			SKIP(return, "no /dev/vfio/vfio (CONFIG_VFIO_CONTAINER)");
	} else if (!strcmp(k, "iommufd")) {
		self->fd = open("/dev/iommu", O_RDWR);
		if (self->fd < 0)
			SKIP(return, "no /dev/iommu (CONFIG_IOMMUFD)");
	} else if (!strcmp(k, "sysfs")) {
		const char *mdev = mdev_find();

		if (!mdev)
			SKIP(return, "no mtty mdev");
		self->fd = open(mdev, O_RDONLY | O_DIRECTORY);
	}
	ASSERT_LE(0, self->fd) TH_LOG("opening %s: %s", k, strerror(errno));
}

FIXTURE_TEARDOWN(not_vfio)
{
	int *fds[] = { &self->fd, &self->fd2, &self->dev_fd, &self->vm_fd,
		       &self->kvm_fd };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* F2: ADD of a non-VFIO file is EINVAL. */
TEST_F(not_vfio, add_einval)
{
	test_err_add(EINVAL, self->dev_fd, self->fd);
	test_err_add(EINVAL, self->dev_fd, self->fd);
}

/* F7: DEL of a file that is not tracked is ENOENT, whatever it is. */
TEST_F(not_vfio, del_enoent)
{
	test_err_del(ENOENT, self->dev_fd, self->fd);
}

/* The device itself still works after the refusal. */
TEST_F(not_vfio, device_still_works)
{
	test_err_add(EINVAL, self->dev_fd, self->fd);
	ASSERT_EQ(0, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR,
			      KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, NULL));
	test_err_del(ENOENT, self->dev_fd, self->fd);
}

/* F9, F5, F8: a group file, with the reference oracle. */
TEST_F(group, group_add_del)
{
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(0, group_reopen(self->path));
}

/* F5: the device holds its own reference: the group stays busy. */
TEST_F(group, group_ref_held_after_close)
{
	int g2;

	test_cmd_add(self->dev_fd, self->g);
	g2 = dup(self->g);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	/* DEL through the dup, which is the same struct file. */
	test_cmd_del(self->dev_fd, g2);
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	close(g2);
	ASSERT_EQ(0, group_reopen(self->path));
}

/* F4: the same group fd again, or a dup of it, is EEXIST. */
TEST_F(group, group_add_twice_eexist)
{
	int d;

	test_cmd_add(self->dev_fd, self->g);
	test_err_add(EEXIST, self->dev_fd, self->g);
	d = dup(self->g);
	ASSERT_LE(0, d);
	test_err_add(EEXIST, self->dev_fd, d);
	d = fcntl(self->g, F_DUPFD_CLOEXEC, 100);
	test_err_add(EEXIST, self->dev_fd, d);
	test_cmd_del(self->dev_fd, d);
	test_err_del(ENOENT, self->dev_fd, self->g);
}

/* F7: DEL of a group that is open but not tracked is ENOENT. */
TEST_F(group, group_del_untracked)
{
	test_err_del(ENOENT, self->dev_fd, self->g);
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	test_err_del(ENOENT, self->dev_fd, self->g);
}

/* R1: closing the device drops the reference. */
TEST_F(group, group_released_on_device_close)
{
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(self->path));
}

/*
 * R1: release runs under kvm->lock and takes nothing of the device's
 * there (the sPAPR suite explains the cycle that would close).
 */
TEST_F(group, release_lock_order)
{
	static const char *const inner[] = { "&kv->lock", NULL };

	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->dev_fd);
	expect_lockdep_not_under(_metadata, "&kvm->lock", inner);
}

/* R2: VM closed first; the device works until its own fd is closed. */
TEST_F(group, vm_closed_first)
{
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->vm_fd);
	test_err_add(EEXIST, self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(self->path));
}

/* R1: device closed first, then the VM. */
TEST_F(group, device_closed_first)
{
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(self->path));
	close_fd(&self->vm_fd);
	ASSERT_EQ(0, group_reopen(self->path));
}

/* F9: a device fd from VFIO_GROUP_GET_DEVICE_FD is accepted. */
TEST_F(kvm_vfio, group_device_fd)
{
	struct group_chain c;
	const char *path;
	int r;

	path = group_path();
	if (!path)
		SKIP(return, NO_MTTY);
	r = group_chain_open(&c, path, true);
	ASSERT_EQ(0, r) TH_LOG("group/container/device: %s", strerror(-r));
	test_cmd_add(self->dev_fd, c.device);
	test_err_add(EEXIST, self->dev_fd, c.device);
	test_cmd_add(self->dev_fd, c.group);
	test_cmd_del(self->dev_fd, c.device);
	test_err_del(ENOENT, self->dev_fd, c.device);
	test_cmd_del(self->dev_fd, c.group);
	group_chain_close(&c);
	ASSERT_EQ(0, group_reopen(path));
}

/* F2: the container of a group is not a VFIO file for the device. */
TEST_F(kvm_vfio, container_einval)
{
	struct group_chain c;
	const char *path;

	path = group_path();
	if (!path)
		SKIP(return, NO_MTTY);
	ASSERT_EQ(0, group_chain_open(&c, path, false));
	test_err_add(EINVAL, self->dev_fd, c.container);
	test_err_del(ENOENT, self->dev_fd, c.container);
	group_chain_close(&c);
}

/* F9: a device cdev is accepted; DEL drops it. */
TEST_F(cdev, cdev_add_del)
{
	test_cmd_add(self->dev_fd, self->d);
	test_err_add(EEXIST, self->dev_fd, self->d);
	test_cmd_del(self->dev_fd, self->d);
	test_err_del(ENOENT, self->dev_fd, self->d);
	close_fd(&self->d);
}

/* F4: each open() of a cdev is a distinct file, each accepted once. */
TEST_F(kvm_vfio, cdev_several_opens)
{
	const char *path;
	int d[8], i;

	path = cdev_path();
	if (!path)
		SKIP(return, NO_CDEV);
	for (i = 0; i < 8; i++) {
		d[i] = open(path, O_RDWR);
		ASSERT_LE(0, d[i]);
		test_cmd_add(self->dev_fd, d[i]);
	}
	for (i = 0; i < 8; i++)
		test_err_add(EEXIST, self->dev_fd, d[i]);
	for (i = 0; i < 8; i += 2)
		test_cmd_del(self->dev_fd, d[i]);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(i % 2 ? 0 : -ENOENT, file_del(self->dev_fd, d[i]));
	for (i = 0; i < 8; i++)
		close(d[i]);
}

/* Group and cdev of one device can be tracked together. */
TEST_F(kvm_vfio, group_and_cdev_together)
{
	const char *gpath, *cpath;
	int g, d;

	gpath = group_path();
	if (!gpath)
		SKIP(return, NO_MTTY);
	cpath = cdev_path();
	if (!cpath)
		SKIP(return, NO_CDEV);
	g = open(gpath, O_RDWR);
	d = open(cpath, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_LE(0, d);
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	close(g);
	close(d);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(gpath));
}

/* X1: the same file in two VMs: both accept it (VFIO keeps the last kvm). */
TEST_F(group, same_group_two_vms)
{
	int vm2, dev2;

	vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_add(dev2, self->g);
	close_fd(&self->g);
	close_fd(&self->dev_fd);
	/* VM 2's device still holds the group. */
	ASSERT_EQ(-EBUSY, group_reopen(self->path));
	close(dev2);
	ASSERT_EQ(0, group_reopen(self->path));
	close(vm2);
}

/* Client A (QEMU, crosvm, rust-vmm): the legacy group path. */
TEST_F(kvm_vfio, client_a_group_path)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	const char *path;
	int group, container, device;

	path = group_path();
	if (!path)
		SKIP(return, NO_MTTY);
	close(self->dev_fd);		/* the client creates it itself */
	self->dev_fd = -1;
	group = open(path, O_RDWR);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_GET_STATUS, &st));
	ASSERT_TRUE(!!(st.flags & VFIO_GROUP_FLAGS_VIABLE));
	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
	test_cmd_add(self->dev_fd, group);
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, mdev_uuid);
	ASSERT_LE(0, device);
	close(device);
	test_cmd_del(self->dev_fd, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	close(group);
	close_fd(&self->dev_fd);
	close(container);
	ASSERT_EQ(0, group_reopen(path));
}

/* Client D: teardown without DEL, device fd still open in the driver. */
TEST_F(kvm_vfio, client_d_close_without_del)
{
	struct group_chain c;
	const char *path;

	path = group_path();
	if (!path)
		SKIP(return, NO_MTTY);
	ASSERT_EQ(0, group_chain_open(&c, path, false));
	test_cmd_add(self->dev_fd, c.group);
	c.device = ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD, mdev_uuid);
	ASSERT_LE(0, c.device);
	close_fd(&self->dev_fd);
	/* Regression: VFIO may drop the last kvm reference; close it last. */
	group_chain_close(&c);
	ASSERT_EQ(0, group_reopen(path));
}

/* Client E: the VM is replaced; every fd is added to the new device. */
TEST_F(kvm_vfio, client_e_vm_replaced)
{
	const char *gpath, *cpath;
	int vm2, dev2, g, d;

	gpath = group_path();
	if (!gpath)
		SKIP(return, NO_MTTY);
	cpath = cdev_path();
	if (!cpath)
		SKIP(return, NO_CDEV);
	g = open(gpath, O_RDWR);
	d = open(cpath, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_LE(0, d);
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	close(self->dev_fd);
	self->dev_fd = dev2;
	close(self->vm_fd);
	self->vm_fd = vm2;
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	close(g);
	close(d);
	ASSERT_EQ(-EBUSY, group_reopen(gpath));
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(gpath));
}

#ifdef VFIO_DEVICE_BIND_IOMMUFD
/* Client B (QEMU with iommufd, rust-vmm): the cdev path. */
TEST_F(kvm_vfio, client_b_cdev_path)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };
	const char *path;
	int device, iommufd;
	__u32 ioas = 0;

	path = cdev_path();
	if (!path)
		SKIP(return, NO_CDEV);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		SKIP(return, "no /dev/iommu (CONFIG_IOMMUFD)");
	device = open(path, O_RDWR);
	ASSERT_LE(0, device);
	test_cmd_add(self->dev_fd, device);
	ASSERT_EQ(0, iommufd_ioas(iommufd, &ioas));
	ASSERT_EQ(0, cdev_bind(device, iommufd));
	at.pt_id = ioas;
	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));
	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt));
	test_cmd_del(self->dev_fd, device);
	close(device);
	close(iommufd);
}

/* Client C (QEMU): BIND fails, the client deletes the file again. */
TEST_F(cdev, client_c_bind_failure)
{
	test_cmd_add(self->dev_fd, self->d);
	ASSERT_GT(0, cdev_bind(self->d, -1));	/* no such iommufd */
	test_cmd_del(self->dev_fd, self->d);
	test_err_del(ENOENT, self->dev_fd, self->d);
	close_fd(&self->d);
}
#endif

#define MANY 4096

/* 4,096 distinct files tracked, half deleted, the device closed. */
TEST_F_TIMEOUT(kvm_vfio, many_files_released, 120)
{
	struct rlimit rl = { MANY + 256, MANY + 256 };
	const char *gpath, *cpath;
	long before, after;
	int *d, g, i;

	gpath = group_path();
	if (!gpath)
		SKIP(return, NO_MTTY);
	cpath = cdev_path();
	if (!cpath)
		SKIP(return, NO_CDEV);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	d = calloc(MANY, sizeof(*d));
	ASSERT_NE(NULL, d);
	before = files_in_use();
	ASSERT_LE(0, before);
	g = open(gpath, O_RDWR);
	ASSERT_LE(0, g);
	test_cmd_add(self->dev_fd, g);
	close(g);
	for (i = 0; i < MANY; i++) {
		d[i] = open(cpath, O_RDWR);
		ASSERT_LE(0, d[i]) TH_LOG("open %d: %s", i, strerror(errno));
		test_cmd_add(self->dev_fd, d[i]);
	}
	for (i = 0; i < MANY; i += 2)
		test_cmd_del(self->dev_fd, d[i]);
	for (i = 0; i < MANY; i++)
		close(d[i]);
	/* Half the cdev files and the group are still held by the device. */
	after = files_in_use();
	ASSERT_LE(before + MANY / 2, after);
	ASSERT_EQ(-EBUSY, group_reopen(gpath));
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen(gpath));
	/* Far below the 2,048 files a leak would leave. */
	after = files_in_use();
	ASSERT_GT(before + FILE_NR_SLACK, after)
		TH_LOG("before %ld after %ld", before, after);
	free(d);
}

TEST_HARNESS_MAIN
