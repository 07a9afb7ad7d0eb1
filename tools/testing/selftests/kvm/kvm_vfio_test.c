// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_test: the KVM-VFIO device (KVM_DEV_TYPE_VFIO) from userspace,
 * with a real VFIO device: its group file, its cdev and the device fd that
 * VFIO_GROUP_GET_DEVICE_FD returns.
 *
 * The device under test is the PCI device named by $VFIO_SELFTESTS_BDF
 * (bound to vfio-pci), as for the VFIO selftests; without it, the first
 * mdev of the mtty sample (samples/vfio-mdev/mtty.c), which the test
 * creates, and removes at exit, when there is none and the sample is
 * loaded (root only).  Cases that need a VFIO file SKIP when there is
 * neither.
 *
 * Every case creates its own VM and KVM-VFIO device in FIXTURE_SETUP: the
 * harness forks per case, and KVM answers EIO to a process other than the
 * VM's creator.
 *
 * Leak oracle: a VFIO group can be open only once, so a group that the
 * KVM-VFIO device still references cannot be opened again (EBUSY), even
 * after the test has closed its own fd.
 *
 * Not covered here: that the driver sees the kvm in open_device when ADD
 * comes first (no in-tree sample driver reports it), the noncoherent DMA
 * accounting (not visible to userspace), and
 * KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE (ppc64 only, where these selftests do
 * not build).
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
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

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "kvm_util.h"

/* ---- the VFIO device under test ------------------------------------- */

static char vfio_sysfs[PATH_MAX];	/* its sysfs directory */
static const char *vfio_name;		/* BDF or mdev UUID */
static char vfio_group[PATH_MAX];	/* /dev/vfio/<group> */
static char vfio_cdev[PATH_MAX];	/* /dev/vfio/devices/vfioN, or "" */
static char vfio_none[512];		/* why there is none */

static bool link_ends_with(const char *link, const char *driver)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(strrchr(target, '/') + 1, driver);
}

/* Write @s to the sysfs file @path: true if all of it was taken. */
static bool sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

/* The first mdev of the mtty sample, into vfio_sysfs; false if none. */
static bool mtty_mdev_find(void)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	DIR *d;

	d = opendir("/sys/bus/mdev/devices");
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/mdev_type",
			 de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!strstr(strrchr(target, '/'), "/mtty-"))
			continue;
		snprintf(vfio_sysfs, sizeof(vfio_sysfs),
			 "/sys/bus/mdev/devices/%s", de->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

static pid_t mdev_creator;	/* the process that created the mdev, or 0 */

/* The mdev this test created goes at exit, not at a forked case's. */
static void mtty_mdev_remove(void)
{
	char path[PATH_MAX + 8];
	int fd;

	if (getpid() != mdev_creator)
		return;
	/*
	 * mtty cannot ask for its device back: removing it would wait,
	 * uninterruptibly, for a reference a failed case leaked.  Leave it
	 * while its group cannot be opened.
	 */
	fd = open(vfio_group, O_RDWR);
	if (fd < 0) {
		printf("# leaving the mdev at %s: its group is held (%s)\n",
		       vfio_sysfs, strerror(errno));
		return;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/remove", vfio_sysfs);
	sysfs_write(path, "1");
}

/* A new mdev of the first mtty type with room, into vfio_sysfs. */
static bool mtty_mdev_create(void)
{
	char uuid[37] = "";
	bool made = false;
	glob_t types;
	int err = 0;
	size_t i;
	FILE *f;

	if (glob("/sys/class/mdev_bus/*/mdev_supported_types/mtty-*/create",
		 0, NULL, &types))
		return false;
	f = fopen("/proc/sys/kernel/random/uuid", "r");
	if (f) {
		if (fscanf(f, "%36s", uuid) != 1)
			uuid[0] = '\0';
		fclose(f);
	}
	for (i = 0; uuid[0] && !made && i < types.gl_pathc; i++) {
		made = sysfs_write(types.gl_pathv[i], uuid);
		err = errno;
	}
	globfree(&types);
	if (!made) {
		snprintf(vfio_none, sizeof(vfio_none),
			 "cannot create an mdev of the mtty sample (root only): %s",
			 uuid[0] ? strerror(err) : "no UUID");
		return false;
	}
	snprintf(vfio_sysfs, sizeof(vfio_sysfs), "/sys/bus/mdev/devices/%s",
		 uuid);
	mdev_creator = getpid();
	atexit(mtty_mdev_remove);
	return true;
}

/* The group and cdev paths of the device at vfio_sysfs. */
static void vfio_paths(void)
{
	char path[PATH_MAX + 32], target[PATH_MAX];
	struct dirent *de;
	ssize_t n;
	DIR *d;

	vfio_name = strrchr(vfio_sysfs, '/') + 1;
	snprintf(path, sizeof(path), "%s/iommu_group", vfio_sysfs);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(vfio_none, sizeof(vfio_none),
			 "%.256s has no iommu group", vfio_sysfs);
		return;
	}
	target[n] = '\0';
	snprintf(vfio_group, sizeof(vfio_group), "/dev/vfio/%s",
		 strrchr(target, '/') + 1);

	snprintf(path, sizeof(path), "%s/vfio-dev", vfio_sysfs);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(vfio_cdev, sizeof(vfio_cdev),
				 "/dev/vfio/devices/%s", de->d_name);
	closedir(d);
	/* Without CONFIG_VFIO_DEVICE_CDEV, vfio-dev/vfioN has no node. */
	if (vfio_cdev[0] && access(vfio_cdev, F_OK))
		vfio_cdev[0] = '\0';
}

static void vfio_device_find(void)
{
	const char *bdf = getenv("VFIO_SELFTESTS_BDF");
	char drv[PATH_MAX + 16];

	if (bdf) {
		snprintf(vfio_sysfs, sizeof(vfio_sysfs),
			 "/sys/bus/pci/devices/%s", bdf);
		snprintf(drv, sizeof(drv), "%s/driver", vfio_sysfs);
		if (!link_ends_with(drv, "vfio-pci")) {
			snprintf(vfio_none, sizeof(vfio_none),
				 "VFIO_SELFTESTS_BDF=%.64s is not bound to vfio-pci",
				 bdf);
			return;
		}
	} else if (!mtty_mdev_find() && !mtty_mdev_create()) {
		if (!vfio_none[0])
			snprintf(vfio_none, sizeof(vfio_none),
				 "no VFIO device: set VFIO_SELFTESTS_BDF to a PCI device bound to vfio-pci, or load the mtty sample (CONFIG_SAMPLE_VFIO_MDEV_MTTY)");
		return;
	}
	vfio_paths();
}

/* True, with the case marked SKIP, when there is no VFIO group. */
static bool no_group(struct __test_metadata *_metadata)
{
	if (vfio_group[0])
		return false;
	SKIP(return true, "%s", vfio_none);
}

/* The same when there is no group or no device cdev. */
static bool no_cdev(struct __test_metadata *_metadata)
{
	if (no_group(_metadata))
		return true;
	if (vfio_cdev[0])
		return false;
	SKIP(return true, "%s has no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV)",
	     vfio_name);
}

#define NO_CONTAINER \
	"no legacy VFIO container (/dev/vfio/vfio: CONFIG_VFIO_CONTAINER or CONFIG_IOMMUFD_VFIO_CONTAINER)"

/* The same when there is no group or no type1 container to put it in. */
static bool no_container(struct __test_metadata *_metadata)
{
	int fd, type1;

	if (no_group(_metadata))
		return true;
	fd = open("/dev/vfio/vfio", O_RDWR);
	if (fd < 0)
		SKIP(return true, NO_CONTAINER);
	type1 = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	close(fd);
	if (type1 > 0)
		return false;
	SKIP(return true,
	     "the VFIO container has no type1v2 IOMMU (CONFIG_VFIO_IOMMU_TYPE1)");
}

/* The leak oracle: 0 if the group can be opened (nobody holds it). */
static int group_reopen(void)
{
	int fd = open(vfio_group, O_RDWR);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * A group in a type1 container (the case checked no_container()), and
 * optionally its device fd.
 */
struct group_chain {
	int container, group, device;
};

/* Closes what is open: group_chain_open() calls it when it fails. */
static void group_chain_close(struct group_chain *c)
{
	if (c->device >= 0)
		close(c->device);
	if (c->group >= 0) {
		ioctl(c->group, VFIO_GROUP_UNSET_CONTAINER);
		close(c->group);
	}
	if (c->container >= 0)
		close(c->container);
	c->device = -1;
	c->group = -1;
	c->container = -1;
}

/* 0, or -errno with nothing left open. */
static int group_chain_open(struct group_chain *c, bool get_device)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int ret;

	c->device = -1;
	c->container = -1;
	c->group = open(vfio_group, O_RDWR);
	if (c->group < 0 || ioctl(c->group, VFIO_GROUP_GET_STATUS, &st))
		goto fail;
	errno = EINVAL;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		goto fail;
	c->container = open("/dev/vfio/vfio", O_RDWR);
	if (c->container < 0 ||
	    ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container) ||
	    ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto fail;
	if (!get_device)
		return 0;
	c->device = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, vfio_name);
	if (c->device >= 0)
		return 0;
fail:
	ret = -errno;
	group_chain_close(c);
	return ret;
}

static int cdev_bind(int device, int iommufd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = iommufd,
	};

	return ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
}

/* ---- the KVM-VFIO device -------------------------------------------- */

/* KVM_SET_DEVICE_ATTR of the FILE group: 0 or -errno. */
static int file_attr(int dev_fd, u64 attr, int fd)
{
	s32 val = fd;

	return __kvm_device_attr_set(dev_fd, KVM_DEV_VFIO_FILE, attr, &val) ?
	       -errno : 0;
}

/* Any device attribute ioctl with any addr: 0 or -errno. */
static int dev_ioctl(int dev_fd, unsigned long cmd, u32 group, u64 attr,
		     void *addr)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)addr,
	};

	return ioctl(dev_fd, cmd, &a) ? -errno : 0;
}

/* The KVM-VFIO device of @vm: its fd or -errno. */
static int vfio_dev_create(struct kvm_vm *vm)
{
	int fd = __kvm_create_device(vm, KVM_DEV_TYPE_VFIO);

	return fd < 0 ? -errno : fd;
}

/* One step, one line: test_cmd_* must succeed, test_err_* fail so. */
#define test_cmd_add(dev, fd)	ASSERT_EQ(0, file_attr(dev, KVM_DEV_VFIO_FILE_ADD, fd))
#define test_cmd_del(dev, fd)	ASSERT_EQ(0, file_attr(dev, KVM_DEV_VFIO_FILE_DEL, fd))
#define test_err_add(err, dev, fd) \
	ASSERT_EQ(-(err), file_attr(dev, KVM_DEV_VFIO_FILE_ADD, fd))
#define test_err_del(err, dev, fd) \
	ASSERT_EQ(-(err), file_attr(dev, KVM_DEV_VFIO_FILE_DEL, fd))

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* What every fixture starts from: a VM and its KVM-VFIO device. */
static void vm_dev_open(struct __test_metadata *_metadata,
			struct kvm_vm **vm, int *dev_fd)
{
	*vm = vm_create_barebones();
	*dev_fd = vfio_dev_create(*vm);
	ASSERT_LE(0, *dev_fd);
}

/* Either may have been closed by the case already. */
static void vm_dev_close(struct kvm_vm **vm, int *dev_fd)
{
	close_fd(dev_fd);
	if (*vm)
		kvm_vm_free(*vm);
	*vm = NULL;
}

/*
 * The group and cdev fixtures: the same, and the group (or the cdev)
 * open in @fd; the case SKIPs without one.
 */
static void vfile_open(struct __test_metadata *_metadata, struct kvm_vm **vm,
		       int *dev_fd, int *fd, bool cdev)
{
	const char *path = cdev ? vfio_cdev : vfio_group;

	*fd = -1;
	vm_dev_open(_metadata, vm, dev_fd);
	if (_metadata->exit_code)
		return;
	if (cdev ? no_cdev(_metadata) : no_group(_metadata))
		return;
	*fd = open(path, O_RDWR);
	ASSERT_LE(0, *fd) TH_LOG("%s: %s", path, strerror(errno));
}

FIXTURE(kvm_vfio) {
	struct kvm_vm *vm;
	int dev_fd;
};

FIXTURE_SETUP(kvm_vfio)
{
	vm_dev_open(_metadata, &self->vm, &self->dev_fd);
}

FIXTURE_TEARDOWN(kvm_vfio)
{
	vm_dev_close(&self->vm, &self->dev_fd);
}

/* The same with the group open (self->g). */
FIXTURE(group) {
	struct kvm_vm *vm;
	int dev_fd, g;
};

FIXTURE_SETUP(group)
{
	vfile_open(_metadata, &self->vm, &self->dev_fd, &self->g, false);
}

FIXTURE_TEARDOWN(group)
{
	close_fd(&self->g);
	vm_dev_close(&self->vm, &self->dev_fd);
}

/* The same with one open of the device's cdev (self->d). */
FIXTURE(cdev) {
	struct kvm_vm *vm;
	int dev_fd, d;
};

FIXTURE_SETUP(cdev)
{
	vfile_open(_metadata, &self->vm, &self->dev_fd, &self->d, true);
}

FIXTURE_TEARDOWN(cdev)
{
	close_fd(&self->d);
	vm_dev_close(&self->vm, &self->dev_fd);
}

/* ---- creation -------------------------------------------------------- */

/* The device fd is read-write and close-on-exec. */
TEST_F(kvm_vfio, create_fd_flags)
{
	ASSERT_EQ(O_RDWR, fcntl(self->dev_fd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(FD_CLOEXEC, fcntl(self->dev_fd, F_GETFD) & FD_CLOEXEC);
}

/* One KVM-VFIO device per VM. */
TEST_F(kvm_vfio, create_second_ebusy)
{
	ASSERT_EQ(-EBUSY, vfio_dev_create(self->vm));
}

/* Another VM gets its own. */
TEST_F(kvm_vfio, create_in_other_vm)
{
	struct kvm_vm *vm2 = vm_create_barebones();
	int dev2 = vfio_dev_create(vm2);

	ASSERT_LE(0, dev2);
	close(dev2);
	kvm_vm_free(vm2);
}

/*
 * Create, close, create 1,000 times: never a stale EBUSY.  Slow under
 * emulation with KASAN, hence a longer timeout than the harness's 30 s.
 */
TEST_F_TIMEOUT(kvm_vfio, create_close_loop, 120)
{
	int i;

	for (i = 0; i < 1000; i++) {
		close(self->dev_fd);
		self->dev_fd = vfio_dev_create(self->vm);
		ASSERT_LE(0, self->dev_fd)
			TH_LOG("iteration %d: %s", i, strerror(-self->dev_fd));
	}
}

/* KVM_CREATE_DEVICE_TEST answers 0 and creates nothing. */
TEST_F(kvm_vfio, create_test_flag)
{
	struct kvm_vm *vm2 = vm_create_barebones();
	int dev2;

	ASSERT_EQ(0, __kvm_test_create_device(vm2, KVM_DEV_TYPE_VFIO));
	dev2 = vfio_dev_create(vm2);	/* nothing was created */
	ASSERT_LE(0, dev2);
	/* With a device present, the test flag still only probes. */
	ASSERT_EQ(0, __kvm_test_create_device(self->vm, KVM_DEV_TYPE_VFIO));
	close(dev2);
	kvm_vm_free(vm2);
}

/* ---- attributes ------------------------------------------------------ */

/* Any attribute group other than KVM_DEV_VFIO_FILE is ENXIO. */
TEST_F(kvm_vfio, set_attr_bad_group)
{
	u32 groups[] = { 0, 2, 3, 0x100, 0xffffffff };
	s32 fd = -1;
	int i;

	for (i = 0; i < ARRAY_SIZE(groups); i++)
		ASSERT_EQ(-ENXIO, dev_ioctl(self->dev_fd, KVM_SET_DEVICE_ATTR,
					    groups[i], KVM_DEV_VFIO_FILE_ADD,
					    &fd));
}

/* Unknown attributes of the FILE group are ENXIO, SET_SPAPR_TCE too. */
TEST_F(kvm_vfio, set_attr_bad_attr)
{
	u64 attrs[] = { 0, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, 4, 0x100,
			1ULL << 32 | 1, ~0ULL };
	s32 fd = -1;
	int i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		ASSERT_EQ(-ENXIO, dev_ioctl(self->dev_fd, KVM_SET_DEVICE_ATTR,
					    KVM_DEV_VFIO_FILE, attrs[i], &fd));
}

/*
 * A VMM built against an old uapi sends the legacy GROUP names, whose
 * values are those of the FILE names: the device cannot tell them apart,
 * so the FILE cases cover them and no case sends them again.
 */
static_assert(KVM_DEV_VFIO_GROUP == KVM_DEV_VFIO_FILE, "GROUP is FILE");
static_assert(KVM_DEV_VFIO_GROUP_ADD == KVM_DEV_VFIO_FILE_ADD, "GROUP_ADD");
static_assert(KVM_DEV_VFIO_GROUP_DEL == KVM_DEV_VFIO_FILE_DEL, "GROUP_DEL");

/* ADD and DEL with an unreadable addr are EFAULT. */
TEST_F(kvm_vfio, set_attr_efault)
{
	void *unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *addrs[] = { NULL, unmapped, (void *)-4096L, (void *)1 };
	int i;

	ASSERT_NE(MAP_FAILED, unmapped);
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		ASSERT_EQ(-EFAULT, dev_ioctl(self->dev_fd, KVM_SET_DEVICE_ATTR,
					     KVM_DEV_VFIO_FILE,
					     KVM_DEV_VFIO_FILE_ADD, addrs[i]));
		ASSERT_EQ(-EFAULT, dev_ioctl(self->dev_fd, KVM_SET_DEVICE_ATTR,
					     KVM_DEV_VFIO_FILE,
					     KVM_DEV_VFIO_FILE_DEL, addrs[i]));
	}
	munmap(unmapped, 4096);
}

/* HAS_DEVICE_ATTR is 0 for FILE/ADD and FILE/DEL only; addr is ignored. */
TEST_F(kvm_vfio, has_attr)
{
	u64 a;

	for (a = 0; a < 8; a++) {
		int want = (a == KVM_DEV_VFIO_FILE_ADD ||
			    a == KVM_DEV_VFIO_FILE_DEL) ? 0 : -ENXIO;

		ASSERT_EQ(want, dev_ioctl(self->dev_fd, KVM_HAS_DEVICE_ATTR,
					  KVM_DEV_VFIO_FILE, a, NULL));
		ASSERT_EQ(want, dev_ioctl(self->dev_fd, KVM_HAS_DEVICE_ATTR,
					  KVM_DEV_VFIO_FILE, a, (void *)1));
	}
	ASSERT_EQ(-1, __kvm_has_device_attr(self->dev_fd, 0,
					    KVM_DEV_VFIO_FILE_ADD));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, __kvm_has_device_attr(self->dev_fd, 2,
					    KVM_DEV_VFIO_FILE_ADD));
	ASSERT_EQ(ENXIO, errno);
}

/* There is no GET_DEVICE_ATTR. */
TEST_F(kvm_vfio, get_attr_eperm)
{
	s32 fd = -1;

	ASSERT_EQ(-1, __kvm_device_attr_get(self->dev_fd, KVM_DEV_VFIO_FILE,
					    KVM_DEV_VFIO_FILE_ADD, &fd));
	ASSERT_EQ(EPERM, errno);
}

/* A process other than the VM's creator gets EIO. */
TEST_F(kvm_vfio, other_process_eio)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int r1 = file_attr(self->dev_fd, KVM_DEV_VFIO_FILE_ADD, -1);
		int r2 = dev_ioctl(self->dev_fd, KVM_HAS_DEVICE_ATTR,
				   KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD,
				   NULL);

		_exit(r1 == -EIO && r2 == -EIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* ---- files that are not VFIO files ---------------------------------- */

/* File descriptors that are not open are EBADF for ADD and DEL. */
TEST_F(kvm_vfio, bad_fd_ebadf)
{
	int fds[] = { -1, INT_MIN, INT_MAX, 4095, 0x10000 };
	int closed = dup(self->dev_fd);
	int i;

	ASSERT_LE(0, closed);
	close(closed);
	test_err_add(EBADF, self->dev_fd, closed);
	test_err_del(EBADF, self->dev_fd, closed);
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		test_err_add(EBADF, self->dev_fd, fds[i]);
		test_err_del(EBADF, self->dev_fd, fds[i]);
	}
}

FIXTURE(not_vfio) {
	struct kvm_vm *vm;
	int dev_fd;
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
	vm_dev_open(_metadata, &self->vm, &self->dev_fd);
	if (_metadata->exit_code)
		return;

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
		self->fd = dup(self->vm->kvm_fd);
	} else if (!strcmp(k, "vm")) {
		self->fd = dup(self->vm->fd);
	} else if (!strcmp(k, "device")) {
		self->fd = dup(self->dev_fd);
	} else if (!strcmp(k, "container")) {
		self->fd = open("/dev/vfio/vfio", O_RDWR);
		if (self->fd < 0)
			SKIP(return, NO_CONTAINER);
	} else if (!strcmp(k, "iommufd")) {
		self->fd = open("/dev/iommu", O_RDWR);
		if (self->fd < 0)
			SKIP(return, "no /dev/iommu (CONFIG_IOMMUFD)");
	} else if (!strcmp(k, "sysfs")) {
		if (no_group(_metadata))
			return;
		self->fd = open(vfio_sysfs, O_RDONLY | O_DIRECTORY);
	}
	ASSERT_LE(0, self->fd) TH_LOG("opening %s: %s", k, strerror(errno));
}

FIXTURE_TEARDOWN(not_vfio)
{
	close_fd(&self->fd);
	close_fd(&self->fd2);
	vm_dev_close(&self->vm, &self->dev_fd);
}

/* ADD of a file that is neither a VFIO group nor a device is EINVAL. */
TEST_F(not_vfio, add_einval)
{
	test_err_add(EINVAL, self->dev_fd, self->fd);
	test_err_add(EINVAL, self->dev_fd, self->fd);
}

/* DEL of a file that is not tracked is ENOENT, whatever it is. */
TEST_F(not_vfio, del_enoent)
{
	test_err_del(ENOENT, self->dev_fd, self->fd);
}

/* The device still works after the refusal. */
TEST_F(not_vfio, device_still_works)
{
	test_err_add(EINVAL, self->dev_fd, self->fd);
	ASSERT_EQ(0, __kvm_has_device_attr(self->dev_fd, KVM_DEV_VFIO_FILE,
					   KVM_DEV_VFIO_FILE_ADD));
	test_err_del(ENOENT, self->dev_fd, self->fd);
}

/* ---- group files ---------------------------------------------------- */

/* A group is accepted and deleted; the oracle sees its reference. */
TEST_F(group, group_add_del)
{
	ASSERT_EQ(-EBUSY, group_reopen());
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(0, group_reopen());
}

/*
 * An O_PATH descriptor of the group names the file without opening it:
 * no file for ADD or DEL (EBADF), even while the group is tracked.
 */
TEST_F(group, group_o_path_ebadf)
{
	int p = open(vfio_group, O_PATH);

	ASSERT_LE(0, p);
	test_err_add(EBADF, self->dev_fd, p);
	test_err_del(EBADF, self->dev_fd, p);
	test_cmd_add(self->dev_fd, self->g);
	test_err_del(EBADF, self->dev_fd, p);
	test_cmd_del(self->dev_fd, self->g);
	close(p);
}

/* The device holds its own reference: the group stays busy. */
TEST_F(group, group_ref_held_after_close)
{
	int g2;

	test_cmd_add(self->dev_fd, self->g);
	g2 = dup(self->g);
	ASSERT_LE(0, g2);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen());
	/* DEL through the dup, which is the same struct file. */
	test_cmd_del(self->dev_fd, g2);
	ASSERT_EQ(-EBUSY, group_reopen());
	close(g2);
	ASSERT_EQ(0, group_reopen());
}

/* The same group fd again, or a dup of it, is EEXIST. */
TEST_F(group, group_add_twice_eexist)
{
	int d;

	test_cmd_add(self->dev_fd, self->g);
	test_err_add(EEXIST, self->dev_fd, self->g);
	d = dup(self->g);
	ASSERT_LE(0, d);
	test_err_add(EEXIST, self->dev_fd, d);
	close(d);
	d = fcntl(self->g, F_DUPFD_CLOEXEC, 100);
	ASSERT_LE(100, d);
	test_err_add(EEXIST, self->dev_fd, d);
	test_cmd_del(self->dev_fd, d);
	test_err_del(ENOENT, self->dev_fd, self->g);
	close(d);
}

/* DEL of a group that is open but not tracked is ENOENT. */
TEST_F(group, group_del_untracked)
{
	test_err_del(ENOENT, self->dev_fd, self->g);
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	test_err_del(ENOENT, self->dev_fd, self->g);
}

/* Closing the device drops the reference. */
TEST_F(group, group_released_on_device_close)
{
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen());
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
}

/* The VM closed first: the device works until its own fd is closed. */
TEST_F(group, vm_closed_first)
{
	test_cmd_add(self->dev_fd, self->g);
	kvm_vm_free(self->vm);
	self->vm = NULL;
	test_err_add(EEXIST, self->dev_fd, self->g);
	test_cmd_del(self->dev_fd, self->g);
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	ASSERT_EQ(-EBUSY, group_reopen());
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
}

/* The device closed first, then the VM. */
TEST_F(group, device_closed_first)
{
	test_cmd_add(self->dev_fd, self->g);
	close_fd(&self->g);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
	kvm_vm_free(self->vm);
	self->vm = NULL;
	ASSERT_EQ(0, group_reopen());
}

/*
 * The same group in two VMs: both accept it (VFIO keeps the kvm of the
 * last ADD), and each device holds its own reference.
 */
TEST_F(group, same_group_two_vms)
{
	struct kvm_vm *vm2 = vm_create_barebones();
	int dev2 = vfio_dev_create(vm2);

	ASSERT_LE(0, dev2);
	test_cmd_add(self->dev_fd, self->g);
	test_cmd_add(dev2, self->g);
	close_fd(&self->g);
	close_fd(&self->dev_fd);
	ASSERT_EQ(-EBUSY, group_reopen());	/* the second still holds it */
	close(dev2);
	ASSERT_EQ(0, group_reopen());
	kvm_vm_free(vm2);
}

/* ---- device fds and cdevs ------------------------------------------- */

/*
 * A device fd from VFIO_GROUP_GET_DEVICE_FD is accepted since 6.6, when
 * KVM began to take VFIO device files as well as groups.  Before, only a
 * group is a VFIO file for the device: EINVAL, and nothing is tracked.
 */
TEST_F(kvm_vfio, group_device_fd)
{
	struct group_chain c;

	if (no_container(_metadata))
		return;
	ASSERT_EQ(0, group_chain_open(&c, true));
	if (!ksft_min_kernel_version(6, 6)) {
		test_err_add(EINVAL, self->dev_fd, c.device);
		test_err_del(ENOENT, self->dev_fd, c.device);
		group_chain_close(&c);
		ASSERT_EQ(0, group_reopen());
		return;
	}
	test_cmd_add(self->dev_fd, c.device);
	test_err_add(EEXIST, self->dev_fd, c.device);
	test_cmd_add(self->dev_fd, c.group);
	test_cmd_del(self->dev_fd, c.device);
	test_err_del(ENOENT, self->dev_fd, c.device);
	test_cmd_del(self->dev_fd, c.group);
	group_chain_close(&c);
	ASSERT_EQ(0, group_reopen());
}

/* The container of a group is not a VFIO file for the device. */
TEST_F(kvm_vfio, container_einval)
{
	struct group_chain c;

	if (no_container(_metadata))
		return;
	ASSERT_EQ(0, group_chain_open(&c, false));
	test_err_add(EINVAL, self->dev_fd, c.container);
	test_err_del(ENOENT, self->dev_fd, c.container);
	group_chain_close(&c);
}

/* A device cdev is accepted; DEL drops it. */
TEST_F(cdev, cdev_add_del)
{
	test_cmd_add(self->dev_fd, self->d);
	test_err_add(EEXIST, self->dev_fd, self->d);
	test_cmd_del(self->dev_fd, self->d);
	test_err_del(ENOENT, self->dev_fd, self->d);
}

/* Each open() of a cdev is a file of its own, each accepted once. */
TEST_F(kvm_vfio, cdev_several_opens)
{
	int d[8], i;

	if (no_cdev(_metadata))
		return;
	for (i = 0; i < 8; i++) {
		d[i] = open(vfio_cdev, O_RDWR);
		ASSERT_LE(0, d[i]);
		test_cmd_add(self->dev_fd, d[i]);
	}
	for (i = 0; i < 8; i++)
		test_err_add(EEXIST, self->dev_fd, d[i]);
	for (i = 0; i < 8; i += 2)
		test_cmd_del(self->dev_fd, d[i]);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(i % 2 ? 0 : -ENOENT,
			  file_attr(self->dev_fd, KVM_DEV_VFIO_FILE_DEL, d[i]));
	for (i = 0; i < 8; i++)
		close(d[i]);
}

/* The group and the cdev of one device can be tracked together. */
TEST_F(kvm_vfio, group_and_cdev_together)
{
	int g, d;

	if (no_cdev(_metadata))
		return;
	g = open(vfio_group, O_RDWR);
	ASSERT_LE(0, g);
	d = open(vfio_cdev, O_RDWR);
	ASSERT_LE(0, d);
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	close(g);
	close(d);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
}

/* ---- what real VMMs do ---------------------------------------------- */

/*
 * QEMU, crosvm and rust-vmm on the legacy group path: the group in its
 * container before the KVM-VFIO device exists, the device fd after ADD.
 */
TEST_F(kvm_vfio, client_a_group_path)
{
	struct group_chain c;

	if (no_container(_metadata))
		return;
	close_fd(&self->dev_fd);	/* the VMM creates it itself */
	ASSERT_EQ(0, group_chain_open(&c, false));
	self->dev_fd = vfio_dev_create(self->vm);
	ASSERT_LE(0, self->dev_fd);
	test_cmd_add(self->dev_fd, c.group);
	c.device = ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD, vfio_name);
	ASSERT_LE(0, c.device);
	close_fd(&c.device);
	test_cmd_del(self->dev_fd, c.group);
	ASSERT_EQ(0, ioctl(c.group, VFIO_GROUP_UNSET_CONTAINER));
	group_chain_close(&c);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
}

/* QEMU with iommufd, and rust-vmm: the cdev path. */
TEST_F(kvm_vfio, client_b_cdev_path)
{
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	int device, iommufd;

	if (no_cdev(_metadata))
		return;
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		SKIP(return, "no /dev/iommu (CONFIG_IOMMUFD)");
	device = open(vfio_cdev, O_RDWR);
	ASSERT_LE(0, device);
	test_cmd_add(self->dev_fd, device);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas));
	ASSERT_EQ(0, cdev_bind(device, iommufd));
	attach.pt_id = ioas.out_ioas_id;
	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	test_cmd_del(self->dev_fd, device);
	close(device);
	close(iommufd);
}

/* QEMU when BIND fails: the file is deleted again. */
TEST_F(cdev, client_c_bind_failure)
{
	test_cmd_add(self->dev_fd, self->d);
	ASSERT_EQ(-EINVAL, cdev_bind(self->d, -1));	/* not an fd at all */
	test_cmd_del(self->dev_fd, self->d);
	test_err_del(ENOENT, self->dev_fd, self->d);
}

/*
 * Teardown without DEL, the device fd still open.  VFIO may then drop the
 * last kvm reference when the device fd is closed last.
 */
TEST_F(kvm_vfio, client_d_close_without_del)
{
	struct group_chain c;

	if (no_container(_metadata))
		return;
	ASSERT_EQ(0, group_chain_open(&c, false));
	test_cmd_add(self->dev_fd, c.group);
	c.device = ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD, vfio_name);
	ASSERT_LE(0, c.device);
	close_fd(&self->dev_fd);
	kvm_vm_free(self->vm);
	self->vm = NULL;
	group_chain_close(&c);
	ASSERT_EQ(0, group_reopen());
}

/* The VM is replaced (QEMU's reset of a confidential VM): ADD again. */
TEST_F(kvm_vfio, client_e_vm_replaced)
{
	struct kvm_vm *vm2;
	int dev2, g, d;

	if (no_cdev(_metadata))
		return;
	g = open(vfio_group, O_RDWR);
	ASSERT_LE(0, g);
	d = open(vfio_cdev, O_RDWR);
	ASSERT_LE(0, d);
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	vm2 = vm_create_barebones();
	dev2 = vfio_dev_create(vm2);
	ASSERT_LE(0, dev2);
	close(self->dev_fd);
	self->dev_fd = dev2;
	kvm_vm_free(self->vm);
	self->vm = vm2;
	test_cmd_add(self->dev_fd, g);
	test_cmd_add(self->dev_fd, d);
	close(g);
	close(d);
	ASSERT_EQ(-EBUSY, group_reopen());
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
}

#define MANY 4096

/*
 * 4,096 files tracked, half of them deleted, then the device closed.  The
 * tracking holds at that size: a kept file is still there (EEXIST), a
 * deleted one is gone (ENOENT).  The release is proven by the group, which
 * only the device still holds at the end; a cdev file it failed to put is
 * left to kmemleak (CONFIG_DEBUG_KMEMLEAK), as this process cannot count
 * the references the kernel holds.
 */
TEST_F_TIMEOUT(kvm_vfio, many_files_released, 120)
{
	struct rlimit rl = { MANY + 256, MANY + 256 };
	int *d, g, i;

	if (no_cdev(_metadata))
		return;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		SKIP(return, "cannot raise RLIMIT_NOFILE to %d: %s", MANY + 256,
		     strerror(errno));
	d = calloc(MANY, sizeof(*d));
	ASSERT_NE(NULL, d);
	g = open(vfio_group, O_RDWR);
	ASSERT_LE(0, g);
	test_cmd_add(self->dev_fd, g);
	close(g);
	for (i = 0; i < MANY; i++) {
		d[i] = open(vfio_cdev, O_RDWR);
		ASSERT_LE(0, d[i]) TH_LOG("open %d: %s", i, strerror(errno));
		test_cmd_add(self->dev_fd, d[i]);
	}
	for (i = 0; i < MANY; i += 2)
		test_cmd_del(self->dev_fd, d[i]);
	for (i = 0; i < MANY; i += 2) {
		test_err_del(ENOENT, self->dev_fd, d[i]);
		test_err_add(EEXIST, self->dev_fd, d[i + 1]);
	}
	for (i = 0; i < MANY; i++)
		close(d[i]);
	ASSERT_EQ(-EBUSY, group_reopen());
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, group_reopen());
	free(d);
}

/*
 * Whether KVM has the device type (CONFIG_KVM_VFIO): asked of the type
 * itself, as KVM_CAP_DEVICE_CTRL only says that KVM has the device API (and
 * x86 reported it only once the capability became generic: not on 6.1,
 * where the device works).  Any answer but ENODEV is a failure.
 */
static bool vfio_dev_type_present(void)
{
	struct kvm_vm *vm = vm_create_barebones();
	int r = __kvm_test_create_device(vm, KVM_DEV_TYPE_VFIO);

	TEST_ASSERT(!r || errno == ENODEV,
		    "KVM_CREATE_DEVICE_TEST of KVM_DEV_TYPE_VFIO: %s",
		    strerror(errno));
	kvm_vm_free(vm);
	return !r;
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(vfio_dev_type_present());
	vfio_device_find();
	return test_harness_run(argc, argv);
}
