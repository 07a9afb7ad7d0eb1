/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the kvm_vfio_*_test programs: the device's attribute
 * calls, the mtty mdev's VFIO files, the group-reopen leak oracle.
 */
#ifndef SELFTEST_KVM_VFIO_UTIL_H
#define SELFTEST_KVM_VFIO_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <linux/kvm.h>
#include "kvm_vfio_abi.h"
#include <linux/vfio.h>
#ifdef VFIO_DEVICE_BIND_IOMMUFD
#include <linux/iommufd.h>
#endif

/* ---- the device ----------------------------------------------------- */

static inline int dev_attr(int dev_fd, unsigned long req, __u32 group,
			   __u64 attr, const void *addr)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (__u64)(unsigned long)addr,
	};

	return ioctl(dev_fd, req, &a) ? -errno : 0;
}

static inline int file_op(int dev_fd, __u64 attr, int fd)
{
	__s32 v = fd;

	return dev_attr(dev_fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE, attr, &v);
}

static inline int file_add(int dev_fd, int fd)
{
	return file_op(dev_fd, KVM_DEV_VFIO_FILE_ADD, fd);
}

static inline int file_del(int dev_fd, int fd)
{
	return file_op(dev_fd, KVM_DEV_VFIO_FILE_DEL, fd);
}

/* KVM_CREATE_DEVICE of @type: its fd (0 with KVM_CREATE_DEVICE_TEST), or -errno. */
static inline int create_dev(int vm_fd, __u32 type, __u32 flags)
{
	struct kvm_create_device cd = {
		.type = type, .flags = flags, .fd = -1,
	};

	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &cd))
		return -errno;
	return flags & KVM_CREATE_DEVICE_TEST ? 0 : (int)cd.fd;
}

static inline int create_vfio_dev(int vm_fd, __u32 flags)
{
	return create_dev(vm_fd, KVM_DEV_TYPE_VFIO, flags);
}

/* ---- the mtty fixture ----------------------------------------------- */

static char mdev_uuid[256];

/* Path of the mdev in sysfs, or NULL when there is none. */
static inline const char *mdev_find(void)
{
	static char path[300];
	const char *env = getenv("MTTY_UUID");
	struct dirent *de;
	DIR *d;

	if (env && *env) {
		snprintf(mdev_uuid, sizeof(mdev_uuid), "%s", env);
	} else {
		d = opendir("/sys/bus/mdev/devices");
		if (!d)
			return NULL;
		mdev_uuid[0] = 0;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') {
				snprintf(mdev_uuid, sizeof(mdev_uuid), "%s",
					 de->d_name);
				break;
			}
		closedir(d);
		if (!mdev_uuid[0])
			return NULL;
	}
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s", mdev_uuid);
	return access(path, F_OK) ? NULL : path;
}

/* /dev/vfio/<group> of the VFIO device at sysfs path @sysdev. */
static inline const char *sysdev_group_path(const char *sysdev)
{
	static char path[300];
	char link[320], target[300];
	ssize_t n;

	if (!sysdev)
		return NULL;
	snprintf(link, sizeof(link), "%s/iommu_group", sysdev);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(target, '/') + 1);
	return path;
}

/* /dev/vfio/devices/vfioN of the device at @sysdev (VFIO_DEVICE_CDEV). */
static inline const char *sysdev_cdev_path(const char *sysdev)
{
	static char path[300];
	char dir[320];
	struct dirent *de;
	DIR *d;

	if (!sysdev)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/vfio-dev", sysdev);
	d = opendir(dir);
	if (!d)
		return NULL;
	path[0] = 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s",
				 de->d_name);
	closedir(d);
	/* Without CONFIG_VFIO_DEVICE_CDEV, vfio-dev/vfioN has no node. */
	return path[0] && !access(path, F_OK) ? path : NULL;
}

/* /dev/vfio/<group> of the mdev. */
static inline const char *group_path(void)
{
	return sysdev_group_path(mdev_find());
}

/* /dev/vfio/devices/vfioN of the mdev. */
static inline const char *cdev_path(void)
{
	return sysdev_cdev_path(mdev_find());
}

/*
 * The sysfs path of the first PCI device bound to vfio-pci whose device id
 * (sysfs "device", e.g. "0x11e8") is @device_id, any device when NULL; or
 * NULL when there is none.
 */
static inline const char *vfio_pci_find(const char *device_id)
{
	static char path[300];
	char f[600], id[32], drv[300];
	struct dirent *de;
	ssize_t n;
	FILE *fp;
	DIR *d;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return NULL;
	path[0] = 0;
	while (!path[0] && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (device_id) {
			snprintf(f, sizeof(f), "/sys/bus/pci/devices/%s/device",
				 de->d_name);
			fp = fopen(f, "r");
			if (!fp)
				continue;
			if (!fgets(id, sizeof(id), fp))
				id[0] = 0;
			fclose(fp);
			if (strncmp(id, device_id, strlen(device_id)))
				continue;
		}
		snprintf(f, sizeof(f), "/sys/bus/pci/devices/%s/driver",
			 de->d_name);
		n = readlink(f, drv, sizeof(drv) - 1);
		if (n > 0) {
			drv[n] = 0;
			if (!strcmp(strrchr(drv, '/') + 1, "vfio-pci"))
				snprintf(path, sizeof(path),
					 "/sys/bus/pci/devices/%s", de->d_name);
		}
	}
	closedir(d);
	return path[0] ? path : NULL;
}

/*
 * The cache-coherent VFIO device of the test guest: QEMU's edu PCI device
 * (1234:11e8) bound to vfio-pci behind the emulated Intel IOMMU with snoop
 * control.  Its sysfs path, or NULL.
 */
static inline const char *edu_find(void)
{
	return vfio_pci_find("0x11e8");
}

/*
 * The VFIO device the fuzz and stress tests drive: the mtty mdev, or where
 * there is none (a distribution's kernel has no mtty sample) the first PCI
 * device bound to vfio-pci.  Its group is required.  Its cdev is empty
 * without CONFIG_VFIO_DEVICE_CDEV: the tests then take device fds from
 * VFIO_GROUP_GET_DEVICE_FD where they would open the cdev.
 */
struct vfio_target {
	char group[300];	/* /dev/vfio/<group> */
	char cdev[300];		/* /dev/vfio/devices/vfioN, or "" */
	char name[256];		/* for VFIO_GROUP_GET_DEVICE_FD: UUID or BDF */
};

#define NO_TARGET "no VFIO device: no mtty mdev, and no PCI device bound to vfio-pci"

/* Fills @t; false when there is no device with a group. */
static inline bool vfio_target_find(struct vfio_target *t)
{
	const char *sysdev = mdev_find(), *p;

	if (!sysdev)
		sysdev = vfio_pci_find(NULL);
	p = sysdev_group_path(sysdev);
	if (!p)
		return false;
	snprintf(t->group, sizeof(t->group), "%s", p);
	p = sysdev_cdev_path(sysdev);
	snprintf(t->cdev, sizeof(t->cdev), "%s", p ? p : "");
	snprintf(t->name, sizeof(t->name), "%s", strrchr(sysdev, '/') + 1);
	return true;
}

#define NO_EDU "no coherent VFIO device: QEMU's edu behind " \
	"intel-iommu,snoop-control=on, bound to vfio-pci"
#define NO_MTTY "no mtty mdev: load mtty.ko and create an mdev"
#define NO_CDEV "no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV) for the mdev"

static inline bool is_ppc64(void)
{
	struct utsname u;

	return !uname(&u) && !strncmp(u.machine, "ppc64", 5);
}

/* Write @val to @dir/@file (sysfs): 0 or -errno. */
static inline int sysfs_write(const char *dir, const char *file,
			      const char *val)
{
	char path[2 * PATH_MAX];	/* room for any @dir and @file */
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The leak oracle: 0 if the group can be opened (nobody holds it). */
static inline int group_reopen(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Group in a type1 container, and a device fd from it. */
struct group_chain {
	int container, group, device;
};

/* @device: the device name for VFIO_GROUP_GET_DEVICE_FD, or NULL */
static inline int group_chain_open_dev(struct group_chain *c, const char *path,
				       const char *device)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	c->container = -1;
	c->group = -1;
	c->device = -1;
	c->group = open(path, O_RDWR);
	if (c->group < 0)
		return -errno;
	if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &st))
		return -errno;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EINVAL;
	c->container = open("/dev/vfio/vfio", O_RDWR);
	if (c->container < 0)
		return -errno;
	if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container))
		return -errno;
	if (ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -errno;
	if (!device)
		return 0;
	c->device = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, device);
	return c->device < 0 ? -errno : 0;
}

/* The same with the mdev's group, and its device if @get_device. */
static inline int group_chain_open(struct group_chain *c, const char *path,
				   bool get_device)
{
	return group_chain_open_dev(c, path, get_device ? mdev_uuid : NULL);
}

static inline void group_chain_close(struct group_chain *c)
{
	if (c->device >= 0)
		close(c->device);
	if (c->group >= 0) {
		ioctl(c->group, VFIO_GROUP_UNSET_CONTAINER);
		close(c->group);
	}
	if (c->container >= 0)
		close(c->container);
	c->container = -1;
	c->group = -1;
	c->device = -1;
}

#ifdef VFIO_DEVICE_BIND_IOMMUFD
static inline int iommufd_ioas(int iommufd, __u32 *ioas)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &a))
		return -errno;
	*ioas = a.out_ioas_id;
	return 0;
}

static inline int cdev_bind(int device, int iommufd)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b), .iommufd = iommufd,
	};

	return ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &b) ? -errno : 0;
}

#endif

/* ---- the VM's debugfs view ------------------------------------------- */

#define KVM_DEBUGFS	"/sys/kernel/debug/kvm"
#define NO_VIEW		"no kvm-vfio debugfs view in this kernel (the stock " \
			"device has none; kvm-vfio's needs CONFIG_DEBUG_FS " \
			"and debugfs mounted)"

/*
 * The view of the VM @vm_fd that thread @tid created: KVM names a VM's
 * directory after the creating thread, not its process.
 */
static inline const char *view_path_of(pid_t tid, int vm_fd, char *buf,
				       size_t size)
{
	snprintf(buf, size, KVM_DEBUGFS "/%d-%d/vfio", (int)tid, vm_fd);
	return buf;
}

/* The view of the VM @vm_fd that this thread created. */
static inline const char *view_path(int vm_fd, char *buf, size_t size)
{
	return view_path_of(gettid(), vm_fd, buf, size);
}

/* The kernel has kvm-vfio's own trace events: it is kvm-vfio's device. */
static inline bool kvm_vfio_events_present(void)
{
	return !access("/sys/kernel/tracing/events/kvm_vfio", F_OK);
}

/* Read the open view @fd whole, from its start: its length, or -errno. */
static inline ssize_t view_pread(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		n = pread(fd, buf + len, size - 1 - len, len);
		if (n < 0)
			return -errno;
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	return len;
}

/* The view of the VM @vm_fd into @buf: its length, or -errno. */
static inline ssize_t view_read(int vm_fd, char *buf, size_t size)
{
	char path[128];
	ssize_t ret;
	int fd;

	fd = open(view_path(vm_fd, path, sizeof(path)), O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = view_pread(fd, buf, size);
	close(fd);
	return ret;
}

/*
 * Why a case cannot use the legacy container with a type1v2 IOMMU, or
 * NULL when it can.
 */
static inline const char *no_type1_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR), type1;

	if (fd < 0)
		return "no legacy VFIO container (/dev/vfio/vfio)";
	type1 = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	close(fd);
	return type1 > 0 ? NULL :
	       "the VFIO container has no type1v2 IOMMU (CONFIG_VFIO_IOMMU_TYPE1)";
}

/* ---- for kselftest_harness programs ---------------------------------- */
#ifdef __KSELFTEST_HARNESS_H

/*
 * The first lock class that lockdep has seen taken directly under a class
 * named @outer (or a subclass of it, "@outer/1") and whose name starts with
 * one of @inner, copied to @found ("" when there is none).  Returns 0, or
 * -errno without /proc/lockdep (CONFIG_PROVE_LOCKING).
 */
static inline int lockdep_inner(const char *outer, const char *const *inner,
				char *found, size_t len)
{
	char line[512], *name;
	bool in_outer = false;
	FILE *f = fopen("/proc/lockdep", "r");
	size_t n = strlen(outer);
	int i;

	if (!f)
		return -errno;
	found[0] = '\0';
	while (!found[0] && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, " -> ", 4)) {
			/* A class: "<key> FD: <n> BD: <n> <usage>: <name>" */
			name = strstr(line, " BD:");
			name = name ? strstr(name + 4, ": ") : NULL;
			name = name ? name + 2 : "";
			in_outer = !strncmp(name, outer, n) &&
				   (!name[n] || name[n] == '/');
			continue;
		}
		if (!in_outer)
			continue;
		/* A direct dependency: " -> [<key>] <name>" */
		name = strchr(line, ']');
		if (!name)
			continue;
		for (i = 0; inner[i]; i++)
			if (!strncmp(name + 2, inner[i], strlen(inner[i])))
				snprintf(found, len, "%s", name + 2);
	}
	fclose(f);
	return 0;
}

/*
 * Fails the case if lockdep saw a class of @inner (NULL-terminated) taken
 * directly under @outer; SKIPs without /proc/lockdep.
 */
static inline void expect_lockdep_not_under(struct __test_metadata *_metadata,
					    const char *outer,
					    const char *const *inner)
{
	char found[256];
	int ret = lockdep_inner(outer, inner, found, sizeof(found));

	if (ret)
		SKIP(return, "no /proc/lockdep (CONFIG_PROVE_LOCKING): %s",
		     strerror(-ret));
	ASSERT_STREQ("", found) TH_LOG("lockdep saw %s taken under %s",
				       found, outer);
}

static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* What every fixture starts from; SKIPs without /dev/kvm. */
static inline void vm_dev_open(struct __test_metadata *_metadata,
			       int *kvm_fd, int *vm_fd, int *dev_fd)
{
	*vm_fd = -1;
	*dev_fd = -1;
	*kvm_fd = open("/dev/kvm", O_RDWR);
	if (*kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	*vm_fd = ioctl(*kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, *vm_fd);
	*dev_fd = create_vfio_dev(*vm_fd, 0);
	ASSERT_LE(0, *dev_fd);
}

static inline void vm_dev_close(int *kvm_fd, int *vm_fd, int *dev_fd)
{
	close_fd(dev_fd);
	close_fd(vm_fd);
	close_fd(kvm_fd);
}

#endif /* __KSELFTEST_HARNESS_H */

/*
 * ---- kvm-vfio.ko, on module-mode kernels --------------------------------
 *
 * Where the module is installed ($KVM_VFIO_KO: what modprobe loads for the
 * alias on x86, the file /init loads on pseries).
 */
#define MODULE_NAME	"kvm_vfio"

static inline const char *module_path(void)
{
	const char *p = getenv("KVM_VFIO_KO");

	return p && *p ? p : "/lib/modules/kvm-vfio.ko";
}

static inline int module_load(void)
{
	int fd = open(module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int module_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

/* /sys/module/@name/refcnt, or -1. */
static inline int module_refcnt_of(const char *name)
{
	char path[128];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* /sys/module/kvm_vfio/refcnt: one reference per live device. */
static inline int module_refcnt(void)
{
	return module_refcnt_of(MODULE_NAME);
}

static inline bool module_loaded(void)
{
	return !access("/sys/module/" MODULE_NAME, F_OK);
}

#endif /* SELFTEST_KVM_VFIO_UTIL_H */
