// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_driver_test: the kvm reaches the VFIO driver.
 *
 * The KVM-VFIO device exists so that a VFIO driver finds the VM's kvm in
 * open_device().  These cases open the device of the test VFIO driver
 * (virt/kvm/vfio/test_driver.c, CONFIG_KVM_VFIO_TEST_DRIVER), which records
 * what open_device() was given and names the VM as KVM's debugfs does,
 * "<pid>-<VM fd>", so that VM A is told from VM B.
 *
 * Every case runs on both paths (fixture variants):
 *   group: ADD the group file, open the device with VFIO_GROUP_GET_DEVICE_FD
 *   cdev:  ADD the device cdev file, open it with VFIO_DEVICE_BIND_IOMMUFD
 *
 * The "unbind" cases unbind the driver of a device (the mtty mdev, the
 * test VFIO driver's device) while the kvm-vfio device tracks one of its
 * files, on both paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"
#include "../../../../virt/kvm/vfio/test_driver.h"

#define TEST_SYSDEV	"/sys/bus/platform/devices/" KVM_VFIO_TEST_NAME
#define REQUIRE_KVM_DIR	"/sys/module/kvm_vfio_test_driver/parameters"
#define NO_DRIVER	"no test VFIO device: load kvm_vfio_test_driver.ko " \
			"(CONFIG_KVM_VFIO_TEST_DRIVER)"

/* A VM, its kvm-vfio device and the name the driver reports for it. */
struct vm {
	int vm_fd, dev_fd;
	char name[KVM_VFIO_TEST_VM_LEN];
};

static int vm_open(int kvm_fd, struct vm *vm)
{
	vm->dev_fd = -1;
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	vm->dev_fd = create_vfio_dev(vm->vm_fd, 0);
	if (vm->dev_fd < 0)
		return vm->dev_fd;
	snprintf(vm->name, sizeof(vm->name), "%d-%d", getpid(), vm->vm_fd);
	return 0;
}

static void vm_close(struct vm *vm)
{
	if (vm->dev_fd >= 0)
		close(vm->dev_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->dev_fd = -1;
	vm->vm_fd = -1;
}

static int set_require_kvm(bool on)
{
	return sysfs_write(REQUIRE_KVM_DIR, "require_kvm", on ? "Y" : "N");
}

/* The VFIO side of a case. */
struct vside {
	int iommufd;
	char path[300];
	/* group path: the group in a container; cdev path: the cdev file */
	struct group_chain c;
	int vfile;	/* the file given to ADD/DEL */
	int device;	/* the open device, or -1 */
};

FIXTURE(driver) {
	int kvm_fd;
	struct vm a, b;
	struct vside v;
};

FIXTURE_VARIANT(driver) {
	bool cdev;
};

FIXTURE_VARIANT_ADD(driver, group) { .cdev = false };
FIXTURE_VARIANT_ADD(driver, cdev) { .cdev = true };

/* Open the VFIO file the cases ADD: the group (in a container) or a cdev. */
static int vfile_open(struct vside *self, bool cdev)
{
	int ret;

	self->device = -1;
	if (cdev) {
		self->vfile = open(self->path, O_RDWR);
		return self->vfile < 0 ? -errno : 0;
	}
	ret = group_chain_open_dev(&self->c, self->path, NULL);
	self->vfile = self->c.group;
	return ret;
}

static void vfile_close(struct vside *self, bool cdev)
{
	if (self->device >= 0 && self->device != self->vfile)
		close(self->device);
	self->device = -1;
	if (cdev) {
		if (self->vfile >= 0)
			close(self->vfile);
	} else {
		group_chain_close(&self->c);
	}
	self->vfile = -1;
}

/*
 * Open the device: the driver's open_device() runs here.  Group path:
 * VFIO_GROUP_GET_DEVICE_FD; cdev path: VFIO_DEVICE_BIND_IOMMUFD.
 */
static int dev_open(struct vside *self, bool cdev)
{
	int fd;

	if (cdev) {
#ifdef VFIO_DEVICE_BIND_IOMMUFD
		int ret = cdev_bind(self->vfile, self->iommufd);

		if (!ret)
			self->device = self->vfile;
		return ret;
#else
		return -EOPNOTSUPP;
#endif
	}
	fd = ioctl(self->vfile, VFIO_GROUP_GET_DEVICE_FD, KVM_VFIO_TEST_NAME);
	if (fd < 0)
		return -errno;
	self->device = fd;
	return 0;
}

/* Close the device and start again with a VFIO file no VM has. */
static int dev_reopen(struct vside *self, bool cdev)
{
	int ret;

	if (cdev) {
		vfile_close(self, cdev);
		return vfile_open(self, cdev);
	}
	ret = close(self->device) ? -errno : 0;
	self->device = -1;
	return ret;
}

static int dev_state(struct vside *self, struct kvm_vfio_test_state *st)
{
	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	return ioctl(self->device, KVM_VFIO_TEST_GET_STATE, st) ? -errno : 0;
}

FIXTURE_SETUP(driver)
{
	const char *path = variant->cdev ? sysdev_cdev_path(TEST_SYSDEV) :
					   sysdev_group_path(TEST_SYSDEV);

	self->a = (struct vm){ .vm_fd = -1, .dev_fd = -1 };
	self->b = self->a;
	self->v.c = (struct group_chain){ -1, -1, -1 };
	self->v.vfile = -1;
	self->v.device = -1;
	self->v.iommufd = -1;
	self->kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	if (access(TEST_SYSDEV, F_OK))
		SKIP(return, NO_DRIVER);
	if (!path)
		SKIP(return, "no VFIO %s for " TEST_SYSDEV,
		     variant->cdev ? "cdev (CONFIG_VFIO_DEVICE_CDEV)" : "group");
#ifndef VFIO_DEVICE_BIND_IOMMUFD
	if (variant->cdev)
		SKIP(return, "built on UAPI headers without VFIO_DEVICE_BIND_IOMMUFD");
#endif
	snprintf(self->v.path, sizeof(self->v.path), "%s", path);
	ASSERT_EQ(0, set_require_kvm(false));
	ASSERT_EQ(0, vm_open(self->kvm_fd, &self->a));
	ASSERT_EQ(0, vm_open(self->kvm_fd, &self->b));
	if (variant->cdev) {
		self->v.iommufd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, self->v.iommufd);
	}
	ASSERT_EQ(0, vfile_open(&self->v, variant->cdev));
}

FIXTURE_TEARDOWN(driver)
{
	set_require_kvm(false);
	vfile_close(&self->v, variant->cdev);
	vm_close(&self->a);
	vm_close(&self->b);
	if (self->v.iommufd >= 0)
		close(self->v.iommufd);
	if (self->kvm_fd >= 0)
		close(self->kvm_fd);
}

/* One step, one line. */
#define test_cmd_add(vm)	ASSERT_EQ(0, file_add((vm)->dev_fd, self->v.vfile))
#define test_cmd_del(vm)	ASSERT_EQ(0, file_del((vm)->dev_fd, self->v.vfile))
#define test_cmd_open()		ASSERT_EQ(0, dev_open(&self->v, variant->cdev))
#define test_err_open(err)	ASSERT_EQ(-(err), dev_open(&self->v, variant->cdev))
#define test_cmd_reopen()	ASSERT_EQ(0, dev_reopen(&self->v, variant->cdev))
/* The VM open_device() was given and the one the device holds now. */
#define test_check_vm(open, cur) do {					\
		struct kvm_vfio_test_state st;				\
									\
		ASSERT_EQ(0, dev_state(&self->v, &st));			\
		ASSERT_STREQ(open, st.open_vm);				\
		ASSERT_STREQ(cur, st.cur_vm);				\
	} while (0)

/* ADD before the device is opened: the driver sees that VM. */
TEST_F(driver, add_before_open_sees_kvm)
{
	test_cmd_add(&self->a);
	test_cmd_open();
	test_check_vm(self->a.name, self->a.name);
}

/* ADD after the device is opened: too late, the driver saw none. */
TEST_F(driver, add_after_open_not_seen)
{
	test_cmd_open();
	test_cmd_add(&self->a);
	test_check_vm("", "");
}

/* Each VM is told apart: B's ADD gives B, not A. */
TEST_F(driver, other_vm_seen_as_other)
{
	/* The names differ, or this case could not tell the VMs apart. */
	ASSERT_STRNE(self->a.name, self->b.name);
	test_cmd_add(&self->b);
	test_cmd_open();
	test_check_vm(self->b.name, self->b.name);
}

/* A driver that requires a kvm: refused without ADD, opens with it. */
TEST_F(driver, require_kvm_refused_without_add)
{
	struct kvm_vfio_test_state st;

	int refused;

	ASSERT_EQ(0, set_require_kvm(true));
	test_err_open(EINVAL);
	test_cmd_add(&self->a);
	test_cmd_open();
	test_check_vm(self->a.name, self->a.name);
	/* The driver counts its refusals since it was loaded: one more. */
	ASSERT_EQ(0, dev_state(&self->v, &st));
	refused = st.refused;
	/* DEL first: an added cdev would keep the device open (EINVAL). */
	test_cmd_del(&self->a);
	test_cmd_reopen();
	test_err_open(EINVAL);
	test_cmd_add(&self->a);
	test_cmd_open();
	ASSERT_EQ(0, dev_state(&self->v, &st));
	ASSERT_EQ(refused + 1, st.refused);
}

/* A driver that requires a kvm, after ADD then DEL: refused again. */
TEST_F(driver, require_kvm_refused_after_del)
{
	ASSERT_EQ(0, set_require_kvm(true));
	test_cmd_add(&self->a);
	test_cmd_del(&self->a);
	test_err_open(EINVAL);
}

/* DEL while open: the open device keeps its kvm until it is closed. */
TEST_F(driver, del_while_open_keeps_kvm)
{
	test_cmd_add(&self->a);
	test_cmd_open();
	test_cmd_del(&self->a);
	test_check_vm(self->a.name, self->a.name);
	test_cmd_reopen();
	test_cmd_open();
	test_check_vm("", "");
}

/* Closing the VM's device while the VFIO device is open: the same. */
TEST_F(driver, vm_device_closed_while_open_keeps_kvm)
{
	test_cmd_add(&self->a);
	test_cmd_open();
	close(self->a.dev_fd);
	self->a.dev_fd = -1;
	test_check_vm(self->a.name, self->a.name);
	test_cmd_reopen();
	test_cmd_open();
	test_check_vm("", "");
}

/* X1: the same file in two VMs: the last ADD before open wins. */
TEST_F(driver, x1_last_add_wins)
{
	test_cmd_add(&self->a);
	test_cmd_add(&self->b);
	test_cmd_open();
	test_check_vm(self->b.name, self->b.name);
}

/* X1: DEL from either VM clears VFIO's kvm, though the other tracks it. */
TEST_F(driver, x1_del_from_either_clears)
{
	test_cmd_add(&self->a);
	test_cmd_add(&self->b);
	test_cmd_del(&self->a);
	test_cmd_open();
	test_check_vm("", "");
}

/* ---- unbind while a file is tracked --------------------------------- */

/*
 * An open VFIO device file (a cdev, or a device fd from
 * VFIO_GROUP_GET_DEVICE_FD) keeps its device registered: unbinding the
 * driver waits in vfio_unregister_group_dev() until every such file is
 * released.  The kvm-vfio device's reference to a tracked file is one of
 * those, so the unbind must wait for DEL or the device's close, and for
 * nothing else.  The unbind is written by a child process: a wait that
 * never ends is a failed case, not a stuck program.
 */
#define UNBIND_WAITS_MS	500	/* an unbind that does not wait is done by then */
#define UNBIND_DONE_MS	20000	/* TCG, KASAN */

FIXTURE(unbind) {
	int kvm_fd, vm_fd, dev_fd;
	struct group_chain c;	/* group path: group, container, device */
	int file;		/* the device file: c.device or a cdev */
	char sysdev[300], name[sizeof(mdev_uuid)], driver[300];
	pid_t child;
};

FIXTURE_VARIANT(unbind) {
	bool mtty;
	bool cdev;
};

FIXTURE_VARIANT_ADD(unbind, mtty_group) { .mtty = true, .cdev = false };
FIXTURE_VARIANT_ADD(unbind, mtty_cdev) { .mtty = true, .cdev = true };
FIXTURE_VARIANT_ADD(unbind, driver_group) { .mtty = false, .cdev = false };
FIXTURE_VARIANT_ADD(unbind, driver_cdev) { .mtty = false, .cdev = true };

/* Write the device's name to its driver's unbind file, in a child. */
static pid_t unbind_start(const char *driver, const char *name)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	/* Inherited VFIO files would hold the device the unbind waits for. */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	_exit(sysfs_write(driver, "unbind", name) ? 1 : 0);
}

/*
 * 1: the unbind is done (*@pid reaped and set to -1); 0: it still waits
 * after @ms; -1: it failed.
 */
static int unbind_done(pid_t *pid, int ms)
{
	int st;

	for (;;) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = -1;
			return WIFEXITED(st) && !WEXITSTATUS(st) ? 1 : -1;
		}
		if (ms <= 0)
			return 0;
		usleep(10000);
		ms -= 10;
	}
}

/*
 * Bind the device to its driver again.  An mdev cannot be bound through
 * sysfs (the mdev bus matches no driver by itself): it is removed and
 * created again with the same UUID.
 */
static int unbind_restore(const char *sysdev, const char *name,
			  const char *driver, bool mtty)
{
	char path[320], type[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/driver", sysdev);
	if (!access(path, F_OK))
		return 0;
	if (!mtty)
		return sysfs_write(driver, "bind", name);
	snprintf(path, sizeof(path), "%s/mdev_type", sysdev);
	if (!realpath(path, type))
		return -errno;
	ret = sysfs_write(sysdev, "remove", "1");
	return ret ? ret : sysfs_write(type, "create", name);
}

/* The VMM lets go of every VFIO file it has; the device's may stay. */
static void unbind_vmm_close(struct _test_data_unbind *self)
{
	if (self->file != self->c.device)
		close_fd(&self->file);
	self->file = -1;
	group_chain_close(&self->c);
}

FIXTURE_SETUP(unbind)
{
	const char *sysdev, *path;

	self->c = (struct group_chain){ -1, -1, -1 };
	self->file = -1;
	self->child = -1;
	self->sysdev[0] = '\0';
	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (_metadata->exit_code)
		return;
	if (variant->mtty) {
		sysdev = mdev_find();
		if (!sysdev)
			SKIP(return, NO_MTTY);
		snprintf(self->name, sizeof(self->name), "%s", mdev_uuid);
		snprintf(self->driver, sizeof(self->driver),
			 "/sys/bus/mdev/drivers/mtty");
	} else {
		sysdev = TEST_SYSDEV;
		if (access(sysdev, F_OK))
			SKIP(return, NO_DRIVER);
		snprintf(self->name, sizeof(self->name), KVM_VFIO_TEST_NAME);
		snprintf(self->driver, sizeof(self->driver),
			 "/sys/bus/platform/drivers/" KVM_VFIO_TEST_NAME);
		ASSERT_EQ(0, set_require_kvm(false));
	}
	snprintf(self->sysdev, sizeof(self->sysdev), "%s", sysdev);
	if (variant->cdev) {
		path = sysdev_cdev_path(sysdev);
		if (!path)
			SKIP(return, "no VFIO cdev (CONFIG_VFIO_DEVICE_CDEV) for %s",
			     sysdev);
		self->file = open(path, O_RDWR);
		ASSERT_LE(0, self->file);
	} else {
		path = sysdev_group_path(sysdev);
		ASSERT_NE(NULL, path);
		ASSERT_EQ(0, group_chain_open_dev(&self->c, path, self->name));
		self->file = self->c.device;
	}
}

FIXTURE_TEARDOWN(unbind)
{
	int ret;

	unbind_vmm_close(self);
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (self->child > 0 && unbind_done(&self->child, UNBIND_DONE_MS) == 0)
		TH_LOG("the unbind of %s still waits", self->name);
	/* For the cases that follow. */
	ret = self->sysdev[0] ? unbind_restore(self->sysdev, self->name,
					       self->driver, variant->mtty) : 0;
	if (ret)
		TH_LOG("binding %s again: %s", self->name, strerror(-ret));
}

#define test_unbind_start()						\
	ASSERT_LT(0, self->child = unbind_start(self->driver, self->name))
/* Still waiting after UNBIND_WAITS_MS; done within UNBIND_DONE_MS. */
#define test_unbind_waits()						\
	ASSERT_EQ(0, unbind_done(&self->child, UNBIND_WAITS_MS))
#define test_unbind_done()						\
	ASSERT_EQ(1, unbind_done(&self->child, UNBIND_DONE_MS))

/* Without kvm-vfio: the VMM's own file holds the unbind until closed. */
TEST_F_TIMEOUT(unbind, untracked_waits_for_vmm, 90)
{
	test_unbind_start();
	test_unbind_waits();
	unbind_vmm_close(self);
	test_unbind_done();
}

/* DEL lets go of the device's reference: then the VMM's close ends it. */
TEST_F_TIMEOUT(unbind, tracked_del_lets_go, 90)
{
	ASSERT_EQ(0, file_add(self->dev_fd, self->file));
	test_unbind_start();
	test_unbind_waits();
	ASSERT_EQ(0, file_del(self->dev_fd, self->file));
	test_unbind_waits();		/* the VMM still has it */
	unbind_vmm_close(self);
	test_unbind_done();
}

/*
 * Tracked and closed by the VMM (and the VM fd closed too): still held,
 * until the kvm-vfio device's fd is closed.
 */
TEST_F_TIMEOUT(unbind, tracked_release_lets_go, 90)
{
	ASSERT_EQ(0, file_add(self->dev_fd, self->file));
	test_unbind_start();
	test_unbind_waits();
	unbind_vmm_close(self);
	test_unbind_waits();
	close_fd(&self->vm_fd);
	test_unbind_waits();
	close_fd(&self->dev_fd);
	test_unbind_done();
}

/*
 * R1: release runs under kvm->lock and takes neither the device's lock nor
 * any of VFIO's mutexes there.  The test driver takes kvm->lock in open_device(),
 * under VFIO's group_lock and device-set lock, as vfio-ap does: one of
 * those under kvm->lock closes a cycle, which lockdep reports by itself
 * (a report fails the guest) once both orders have run in the boot, as
 * the driver cases make them run.  This case reads lockdep's graph for
 * the direct edges too, after ADD of the mtty group and the device's
 * close, so that a lock taken there is named even before its cycle is.
 */
TEST(release_lock_order)
{
	static const char *const inner[] = {
		"&kv->lock", "&group->group_lock", "&group->device_lock",
		"&new_dev_set->lock", "&vfio.group_lock", NULL
	};
	const char *path = group_path();
	int kvm_fd, vm_fd, dev_fd, g;

	vm_dev_open(_metadata, &kvm_fd, &vm_fd, &dev_fd);
	if (_metadata->exit_code)
		return;
	if (!path)
		SKIP(return, NO_MTTY);
	g = open(path, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, file_add(dev_fd, g));
	close_fd(&dev_fd);
	close(g);
	vm_dev_close(&kvm_fd, &vm_fd, &dev_fd);
	expect_lockdep_not_under(_metadata, "&kvm->lock", inner);
}

TEST_HARNESS_MAIN
