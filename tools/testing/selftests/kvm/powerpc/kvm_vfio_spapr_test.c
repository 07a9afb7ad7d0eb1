// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_spapr_test: KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE for real, in a
 * pseries guest (KVM PR) under QEMU, with a PCI device bound to vfio-pci
 * behind the sPAPR TCE IOMMU.  Contract row S1 and the ppc64 side of the
 * device's release and DEL rows.
 *
 * Every case of the "spapr" fixture runs with both container types
 * (VFIO_SPAPR_TCE_IOMMU and VFIO_SPAPR_TCE_v2_IOMMU): a group in a
 * container, its device open, a PR VM, a KVM TCE table matching the
 * container's 32-bit DMA window, and the VM's kvm-vfio device.
 *
 * A WARN is caught twice: the guest boots with panic_on_warn (so a WARN
 * ends the run), and the "no_warn" cases also read the kernel's taint, for
 * kernels booted without it.
 *
 * EIO for a tracked file without an iommu group: the device fd that
 * VFIO_GROUP_GET_DEVICE_FD returns (a VFIO file since 6.6) is one
 * (group.device_fd_attach_eio_no_warn); a group file whose iommu group
 * went away (its last device unbound while the file stays open) is the
 * other (group.attach_after_device_gone_no_warn).  A device cdev cannot
 * exist on sPAPR (VFIO_DEVICE_CDEV depends on !SPAPR_TCE_IOMMU).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"
#include "kvm_vfio_tracefs.h"

#define KVM_VM_TYPE_PPC_PR	2	/* KVM_VM_PPC_PR */
#define TCE_PAGE_SHIFT		12
#define TAINT_WARN_BIT		9	/* 'W' in /proc/sys/kernel/tainted */
#define VFIO_PCI_DRIVER		"/sys/bus/pci/drivers/vfio-pci"
#define MAP_BYTES		(64UL << 10)
#define NO_GROUP "no PCI device on vfio-pci: the guest's /init binds the " \
	"pseries e1000 (0000:00:00.0)"

/*
 * The oracle for the group reference: a kprobe event on KVM's
 * kvm_spapr_tce_release_iommu_group(), which the device calls exactly when
 * it drops what SET_SPAPR_TCE attached (the same on every kernel).
 */
#define KP_GROUP	"kvm_vfio_spapr"
#define KP_RELEASE	"p:" KP_GROUP "/tce_release " \
			"kvm_spapr_tce_release_iommu_group\n"
#define NO_KPROBES	"no kprobe events (CONFIG_KPROBE_EVENTS) in " TRACEFS

static void tce_probe_stop(void)
{
	tracefs_write("tracing_on", "0", false);
	tracefs_write("events/" KP_GROUP "/enable", "0", false);
	tracefs_write("kprobe_events", "", false);
}

/* Count releases from now on; 0, or -errno without kprobe events. */
static int tce_probe_start(void)
{
	int ret;

	tce_probe_stop();
	ret = tracefs_write("kprobe_events", KP_RELEASE, true);
	if (!ret)
		ret = tracefs_write("events/" KP_GROUP "/enable", "1", false);
	if (!ret)
		ret = tracefs_write("trace", "", false);
	if (!ret)
		ret = tracefs_write("tracing_on", "1", false);
	return ret;
}

/* Calls to kvm_spapr_tce_release_iommu_group() since tce_probe_start(). */
static int tce_releases(void)
{
	return trace_count("tce_release:", "");
}

/* One step, one line. */
#define test_cmd_add(dev, fd)		ASSERT_EQ(0, file_add(dev, fd))
#define test_cmd_del(dev, fd)		ASSERT_EQ(0, file_del(dev, fd))
#define test_cmd_tce(dev, g, t)		ASSERT_EQ(0, set_tce(dev, g, t))
#define test_err_tce(err, dev, g, t)	ASSERT_EQ(-(err), set_tce(dev, g, t))

static int set_tce(int dev_fd, int groupfd, int tablefd)
{
	struct kvm_vfio_spapr_tce p = { .groupfd = groupfd, .tablefd = tablefd };

	return dev_attr(dev_fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE,
			KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, &p);
}

/* True when the kernel has warned since boot (taint flag W). */
static bool tainted_warn(void)
{
	unsigned long t = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%lu", &t) != 1)
			t = 0;
		fclose(f);
	}
	return t & (1UL << TAINT_WARN_BIT);
}

/*
 * Kernel log records since @fd was opened (at the end of the log) that
 * start a WARN report: "WARNING:" lines.  -errno when the log cannot be
 * read.
 */
static int kmsg_warnings(int fd)
{
	char rec[2048];
	int n = 0;
	ssize_t len;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)	/* overwritten: read on */
			continue;
		if (len < 0)
			return errno == EAGAIN ? n : -errno;
		rec[len] = 0;
		if (strstr(rec, ";WARNING:"))
			n++;
	}
}

/* /dev/kmsg at its end: what is logged from now on, or -errno. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A KVM TCE table of @vm_fd covering @pages 4 KiB pages from @offset. */
static int tce_table(int vm_fd, __u64 liobn, __u64 offset, __u64 pages)
{
	struct kvm_create_spapr_tce_64 t = {
		.liobn = liobn, .page_shift = TCE_PAGE_SHIFT,
		.offset = offset, .size = pages,
	};
	int fd = ioctl(vm_fd, KVM_CREATE_SPAPR_TCE_64, &t);

	return fd < 0 ? -errno : fd;
}

/*
 * ---- a group that never gets a table --------------------------------
 *
 * First, so that no earlier WARN can hide theirs (the taint stays set).
 * Helpers take the fixture as struct _test_data_<name>, the type that
 * FIXTURE_DATA(<name>) names (checkpatch misparses the macro form).
 */

FIXTURE(group) {
	int kvm_fd, vm_fd, dev_fd, group;
	int kmsg;		/* the kernel log from the case's start */
	bool warned_before;
	char unbound[256];	/* a PCI device the case took from vfio-pci */
};

FIXTURE_SETUP(group)
{
	const char *sysdev = vfio_pci_find(NULL);

	self->group = -1;
	self->unbound[0] = 0;
	self->warned_before = tainted_warn();
	self->kmsg = kmsg_open();
	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (_metadata->exit_code)
		return;
	if (!sysdev)
		SKIP(return, NO_GROUP);
	self->group = open(sysdev_group_path(sysdev), O_RDWR);
	ASSERT_LE(0, self->group);
}

FIXTURE_TEARDOWN(group)
{
	tce_probe_stop();
	close_fd(&self->group);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->unbound[0])	/* for the next cases, whatever happened */
		sysfs_write("/sys/bus/pci", "drivers_probe", self->unbound);
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/*
 * The verdict of a no_warn case, once its steps have run: no WARN report
 * in the kernel log since the case began, and no taint W where there was
 * none before.  A kernel tainted W before the case cannot tell: a
 * WARN_ON_ONCE() that fired then stays silent.
 */
static void expect_no_warn(struct __test_metadata *_metadata,
			   struct _test_data_group *self)
{
	if (self->kmsg >= 0)
		ASSERT_EQ(0, kmsg_warnings(self->kmsg))
			TH_LOG("the kernel warned; see dmesg");
	if (self->warned_before)
		SKIP(return, "kernel already tainted W: cannot tell");
	ASSERT_FALSE(tainted_warn()) TH_LOG("the kernel warned; see dmesg");
}

/* A4 on ppc64: SET_SPAPR_TCE is a supported attribute. */
TEST_F(group, has_attr_set_spapr_tce)
{
	ASSERT_EQ(0, dev_attr(self->dev_fd, KVM_HAS_DEVICE_ATTR,
			      KVM_DEV_VFIO_FILE,
			      KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, NULL));
}

/*
 * S1: the device fd that VFIO_GROUP_GET_DEVICE_FD returns is a VFIO file
 * that FILE_ADD accepts, but it has no iommu group: vfio_file_iommu_group()
 * answers for group files only.  SET_SPAPR_TCE of it is EIO and its DEL is
 * 0, without a WARN.  Nothing beyond the group is needed (no unbind, no
 * privilege): the shortest way to both upstream WARNs.  The first of the
 * no_warn cases: on the stock kernel they are WARN_ON_ONCE.
 */
TEST_F(group, device_fd_attach_eio_no_warn)
{
	int container, device, table;

	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &container));
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU) != 1)
		SKIP(return, "no VFIO_SPAPR_TCE_IOMMU container");
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	device = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD,
		       strrchr(vfio_pci_find(NULL), '/') + 1);
	ASSERT_LE(0, device);
	table = tce_table(self->vm_fd, 0x80000000, 0, 1024);
	ASSERT_LE(0, table);

	test_cmd_add(self->dev_fd, device);
	test_err_tce(EIO, self->dev_fd, device, table);
	test_err_tce(EIO, self->dev_fd, device, table);	/* again */
	test_cmd_del(self->dev_fd, device);
	test_err_tce(ENOENT, self->dev_fd, device, table);
	expect_no_warn(_metadata, self);

	/* Nothing of it stayed: the group opens again once all is closed. */
	close(table);
	close(device);
	close(container);
	close_fd(&self->group);
	ASSERT_EQ(0, group_reopen(sysdev_group_path(vfio_pci_find(NULL))));
}

/* S1: DEL of a group that never had a table is 0, without a WARN. */
TEST_F(group, del_without_table_no_warn)
{
	if (tce_probe_start())
		SKIP(return, NO_KPROBES);
	test_cmd_add(self->dev_fd, self->group);
	test_cmd_del(self->dev_fd, self->group);
	ASSERT_EQ(0, tce_releases());	/* nothing was attached */
	expect_no_warn(_metadata, self);
	close_fd(&self->group);
	ASSERT_EQ(0, group_reopen(sysdev_group_path(vfio_pci_find(NULL))));
}

/* S1, R1: release with such a group tracked, without a WARN. */
TEST_F(group, release_without_table_no_warn)
{
	if (tce_probe_start())
		SKIP(return, NO_KPROBES);
	test_cmd_add(self->dev_fd, self->group);
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, tce_releases());
	expect_no_warn(_metadata, self);
	close_fd(&self->group);
	ASSERT_EQ(0, group_reopen(sysdev_group_path(vfio_pci_find(NULL))));
}

/*
 * S1: SET_SPAPR_TCE of a tracked group whose iommu group has gone away is
 * EIO, without a WARN.  The group's last device is unbound from vfio-pci
 * while the VMM keeps the group file open (a hot unplug does the same):
 * VFIO then disassociates the group from its iommu group, and
 * vfio_file_iommu_group() returns NULL for it.  DEL and a rebind work
 * afterwards.
 */
TEST_F(group, attach_after_device_gone_no_warn)
{
	char *name = self->unbound;
	int table;

	snprintf(self->unbound, sizeof(self->unbound), "%s",
		 strrchr(vfio_pci_find(NULL), '/') + 1);
	table = tce_table(self->vm_fd, 0x80000000, 0, 1024);
	ASSERT_LE(0, table);
	test_cmd_add(self->dev_fd, self->group);
	ASSERT_EQ(0, sysfs_write(VFIO_PCI_DRIVER, "unbind", name));
	test_err_tce(EIO, self->dev_fd, self->group, table);
	test_err_tce(EIO, self->dev_fd, self->group, table);	/* again */
	test_cmd_del(self->dev_fd, self->group);
	close(table);
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci", "drivers_probe", name));
	ASSERT_NE(NULL, vfio_pci_find(NULL)) TH_LOG("%s not bound again", name);
	self->unbound[0] = 0;
	expect_no_warn(_metadata, self);
	close_fd(&self->group);
	ASSERT_EQ(0, group_reopen(sysdev_group_path(vfio_pci_find(NULL))));
}

/* ---- the spapr fixture ---------------------------------------------- */

FIXTURE(spapr) {
	int kvm_fd, vm_fd, dev_fd;	/* the VM and its kvm-vfio device */
	int container, group, device;	/* VFIO */
	int table;			/* KVM TCE table matching the window */
	__u64 win_start, win_size;
	void *buf;			/* what v2 registers and maps */
	const char *sysdev;
};

FIXTURE_VARIANT(spapr) {
	__u32 iommu_type;
};

FIXTURE_VARIANT_ADD(spapr, v1) {
	.iommu_type = VFIO_SPAPR_TCE_IOMMU,
};

FIXTURE_VARIANT_ADD(spapr, v2) {
	.iommu_type = VFIO_SPAPR_TCE_v2_IOMMU,
};

/* Open everything a VMM opens; SKIP without the device or KVM. */
static void spapr_open(struct __test_metadata *_metadata,
		       struct _test_data_spapr *self, __u32 type)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };

	self->kvm_fd = -1;
	self->vm_fd = -1;
	self->dev_fd = -1;
	self->container = -1;
	self->group = -1;
	self->device = -1;
	self->table = -1;
	self->sysdev = vfio_pci_find(NULL);
	if (!self->sysdev)
		SKIP(return, NO_GROUP);
	self->kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));

	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	self->group = open(sysdev_group_path(self->sysdev), O_RDWR);
	ASSERT_LE(0, self->group);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_GET_STATUS, &st));
	ASSERT_TRUE(st.flags & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	if (ioctl(self->container, VFIO_CHECK_EXTENSION, type) != 1)
		SKIP(return, "container type %u not supported", type);
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, type));
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_SPAPR_TCE_GET_INFO,
			   &info));
	self->win_start = info.dma32_window_start;
	self->win_size = info.dma32_window_size;
	ASSERT_LT(0, self->win_size);
	self->device = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD,
			     strrchr(self->sysdev, '/') + 1);
	ASSERT_LE(0, self->device);

	self->vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, KVM_VM_TYPE_PPC_PR);
	ASSERT_LE(0, self->vm_fd) TH_LOG("KVM_CREATE_VM(PR): %s",
					 strerror(errno));
	self->table = tce_table(self->vm_fd, 0x80000000,
				self->win_start >> TCE_PAGE_SHIFT,
				self->win_size >> TCE_PAGE_SHIFT);
	ASSERT_LE(0, self->table);
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
}

static void spapr_close(struct _test_data_spapr *self)
{
	close_fd(&self->dev_fd);
	close_fd(&self->table);
	close_fd(&self->vm_fd);
	close_fd(&self->device);
	close_fd(&self->group);
	close_fd(&self->container);
	close_fd(&self->kvm_fd);
	if (self->buf)
		munmap(self->buf, MAP_BYTES);
	self->buf = NULL;
}

/*
 * The DMA window the table must match.  On pseries the platform drops the
 * group's default window when VFIO takes the group; the container creates
 * it again at the first map, for both container types.  Here: one map at
 * the window's start (v1: after VFIO_IOMMU_ENABLE; v2: of pre-registered
 * memory).
 */
static void spapr_window(struct __test_metadata *_metadata,
			 struct _test_data_spapr *self, __u32 type)
{
	struct vfio_iommu_spapr_register_memory reg = { .argsz = sizeof(reg) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };

	self->buf = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, MAP_BYTES);
	if (type == VFIO_SPAPR_TCE_v2_IOMMU) {
		reg.vaddr = (__u64)(unsigned long)self->buf;
		reg.size = MAP_BYTES;
		ASSERT_EQ(0, ioctl(self->container,
				   VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &reg));
	} else {
		ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_ENABLE));
	}
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (__u64)(unsigned long)self->buf;
	map.iova = self->win_start;
	map.size = MAP_BYTES;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
}

FIXTURE_SETUP(spapr)
{
	self->buf = NULL;
	spapr_open(_metadata, self, variant->iommu_type);
}

FIXTURE_TEARDOWN(spapr)
{
	tce_probe_stop();
	spapr_close(self);
}

/* S1: a table attached twice in a row is 0 both times. */
TEST_F(spapr, attach_twice)
{
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	test_cmd_tce(self->dev_fd, self->group, self->table);
}

/* S1: a group that is not tracked (yet, or any more) is ENOENT. */
TEST_F(spapr, attach_untracked_enoent)
{
	spapr_window(_metadata, self, variant->iommu_type);
	test_err_tce(ENOENT, self->dev_fd, self->group, self->table);
	/* A valid fd that is not a tracked file: the container. */
	test_cmd_add(self->dev_fd, self->group);
	test_err_tce(ENOENT, self->dev_fd, self->container, self->table);
	test_cmd_del(self->dev_fd, self->group);
	test_err_tce(ENOENT, self->dev_fd, self->group, self->table);
}

/* S1: bad fds are EBADF, an unreadable argument EFAULT. */
TEST_F(spapr, attach_bad_args)
{
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_err_tce(EBADF, self->dev_fd, -1, self->table);
	test_err_tce(EBADF, self->dev_fd, self->group, -1);
	ASSERT_EQ(-EFAULT, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
				    KVM_DEV_VFIO_FILE,
				    KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, NULL));
	/* Nothing was attached by the failures: a real attach works. */
	test_cmd_tce(self->dev_fd, self->group, self->table);
}

/* S1: a tablefd that is not a TCE table of this VM is EINVAL. */
TEST_F(spapr, attach_not_a_table_einval)
{
	int other_vm, other;

	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_err_tce(EINVAL, self->dev_fd, self->group, self->dev_fd);
	/* The same window, but another VM's table. */
	other_vm = ioctl(self->kvm_fd, KVM_CREATE_VM, KVM_VM_TYPE_PPC_PR);
	ASSERT_LE(0, other_vm);
	other = tce_table(other_vm, 0x80000000,
			  self->win_start >> TCE_PAGE_SHIFT,
			  self->win_size >> TCE_PAGE_SHIFT);
	ASSERT_LE(0, other);
	test_err_tce(EINVAL, self->dev_fd, self->group, other);
	close(other);
	close(other_vm);
}

/* S1: a table that does not match the container's window is EINVAL. */
TEST_F(spapr, attach_window_mismatch_einval)
{
	__u64 past = (self->win_start + self->win_size) >> TCE_PAGE_SHIFT;
	int t;

	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	t = tce_table(self->vm_fd, 0x80000001, past, 16);
	ASSERT_LE(0, t);
	test_err_tce(EINVAL, self->dev_fd, self->group, t);
	close(t);
}

/*
 * Before the first map the container has no window (see spapr_window):
 * the table matches nothing (EINVAL), and nothing is attached by that.
 */
TEST_F(spapr, attach_before_first_map)
{
	test_cmd_add(self->dev_fd, self->group);
	test_err_tce(EINVAL, self->dev_fd, self->group, self->table);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
}

/* Everything closed, then a new VMM session: open, add, attach. */
static void spapr_again(struct __test_metadata *_metadata,
			struct _test_data_spapr *self, __u32 type)
{
	spapr_close(self);
	spapr_open(_metadata, self, type);
	ASSERT_EQ(0, _metadata->exit_code);
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
}

/*
 * The debugfs view of the VM: the one group, with its TCE table or not
 * (@tce "yes" or "no"), or nothing (@tce NULL), then the totals.  The
 * sPAPR TCE IOMMU does not enforce cache coherency (it answers
 * IOMMU_CAP_CACHE_COHERENCY, not IOMMU_CAP_ENFORCE_CACHE_COHERENCY), so
 * the group is not coherent and the VM has non-coherent DMA.
 */
static void view_expect(struct __test_metadata *_metadata,
			struct _test_data_spapr *self, const char *tce)
{
	const char *path = sysdev_group_path(self->sysdev);
	char buf[4096], want[600];
	struct stat st;

	ASSERT_LT(0, view_read(self->vm_fd, buf, sizeof(buf)));
	if (!tce) {
		ASSERT_STREQ("total files=0 groups=0 noncoherent_devices=0 noncoherent_dma=no\n",
			     buf);
		return;
	}
	ASSERT_EQ(0, stat(path, &st));
	snprintf(want, sizeof(want),
		 "group name=%s rdev=%u:%u coherent=no spapr_tce=%s\n"
		 "total files=1 groups=1 noncoherent_devices=0 noncoherent_dma=yes\n",
		 path, major(st.st_rdev), minor(st.st_rdev), tce);
	ASSERT_STREQ(want, buf);
}

/* The debugfs view follows ADD, SET_SPAPR_TCE, DEL and release. */
TEST_F(spapr, view_shows_table)
{
	char buf[4096], path[128];
	ssize_t n;

	n = view_read(self->vm_fd, buf, sizeof(buf));
	if (n == -ENOENT && !kvm_vfio_events_present())
		SKIP(return, NO_VIEW);
	ASSERT_LE(0, n) TH_LOG("reading the view of kvm-vfio's own device: %s",
			       strerror(-n));
	view_expect(_metadata, self, NULL);
	test_cmd_add(self->dev_fd, self->group);
	view_expect(_metadata, self, "no");
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	view_expect(_metadata, self, "yes");
	test_cmd_del(self->dev_fd, self->group);
	view_expect(_metadata, self, NULL);
	test_cmd_add(self->dev_fd, self->group);
	view_expect(_metadata, self, "no");
	view_path(self->vm_fd, path, sizeof(path));
	close_fd(&self->dev_fd);
	ASSERT_EQ(-1, access(path, F_OK));
	ASSERT_EQ(ENOENT, errno);
}

/* S1, D-rows: DEL after attach drops the group; it can be used again. */
TEST_F(spapr, del_after_attach_drops_group)
{
	if (tce_probe_start())
		SKIP(return, NO_KPROBES);
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	ASSERT_EQ(0, tce_releases());
	test_cmd_del(self->dev_fd, self->group);
	ASSERT_EQ(1, tce_releases());	/* once, for two attaches */
	test_err_tce(ENOENT, self->dev_fd, self->group, self->table);
	spapr_again(_metadata, self, variant->iommu_type);
}

/* S1, R1: release after attach drops the group; it can be used again. */
TEST_F(spapr, release_after_attach_drops_group)
{
	if (tce_probe_start())
		SKIP(return, NO_KPROBES);
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	/* The device goes first; the VFIO files stay open meanwhile. */
	close_fd(&self->dev_fd);
	ASSERT_EQ(1, tce_releases());
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
	test_cmd_add(self->dev_fd, self->group);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	spapr_again(_metadata, self, variant->iommu_type);
}

/*
 * Lock order: release runs under kvm->lock and must take neither the
 * device's lock nor VFIO's group lock there.  SET_SPAPR_TCE takes the
 * group lock under the device's lock, and drivers that take kvm->lock
 * under the group lock in open_device (vfio-ap, GVT-g) would close a
 * cycle.  Read from lockdep's graph after ADD, SET_SPAPR_TCE and close.
 */
TEST_F(spapr, release_lock_order)
{
	static const char *const inner[] = {
		"&kv->lock", "&group->group_lock", NULL
	};

	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	close_fd(&self->dev_fd);
	expect_lockdep_not_under(_metadata, "&kvm->lock", inner);
}

/*
 * Module mode (kvm-vfio.ko, loaded by /init): a device with a group
 * attached to a TCE table pins the module; once the device is closed the
 * module unloads, and loads again for the next case.
 */
TEST_F(spapr, module_pinned_while_attached)
{
	if (!module_loaded())
		SKIP(return, "built-in device: no %s module", MODULE_NAME);
	test_cmd_add(self->dev_fd, self->group);
	spapr_window(_metadata, self, variant->iommu_type);
	test_cmd_tce(self->dev_fd, self->group, self->table);
	ASSERT_EQ(1, module_refcnt());
	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	close_fd(&self->dev_fd);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
	ASSERT_FALSE(module_loaded());
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
	ASSERT_EQ(0, module_load()) TH_LOG("reload %s", module_path());
	/* The group left the table with the device: it attaches again. */
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
	test_cmd_add(self->dev_fd, self->group);
	test_cmd_tce(self->dev_fd, self->group, self->table);
}

/*
 * KVM runs modprobe only for a type the kernel leaves to a module.
 * Probing a type no kernel has (0) or one pseries lacks (the GICv2 and the
 * arm64 PV time device) fails at once with ENODEV and runs it 0 times; on
 * the module kernel, the VFIO type whose module is not loaded runs it once
 * (this guest has no modprobe, so the create itself fails).
 */
TEST(modprobe_only_for_module_types)
{
	static const __u32 absent[] = {
		0, KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_PV_TIME,
	};
	bool was_loaded = module_loaded();
	int kvm_fd, vm_fd, ret;
	unsigned int i;

	if (modprobe_runs_start())
		SKIP(return, "no module:module_request trace event (CONFIG_MODULES)");
	kvm_fd = open("/dev/kvm", O_RDWR);
	vm_fd = kvm_fd < 0 ? -1 : ioctl(kvm_fd, KVM_CREATE_VM,
					KVM_VM_TYPE_PPC_PR);
	for (i = 0; vm_fd >= 0 && i < ARRAY_SIZE(absent); i++) {
		EXPECT_EQ(-ENODEV, create_dev(vm_fd, absent[i],
					      KVM_CREATE_DEVICE_TEST));
		EXPECT_EQ(-ENODEV, create_dev(vm_fd, absent[i], 0));
	}
	ret = modprobe_runs("kvm-device-type-");
	ASSERT_LE(0, vm_fd);
	ASSERT_EQ(0, ret) TH_LOG("KVM ran modprobe for a type no module provides");
	if (!access(module_path(), F_OK)) {
		if (was_loaded)
			ASSERT_EQ(0, module_unload());
		ASSERT_EQ(0, modprobe_runs_start());
		ret = create_dev(vm_fd, KVM_DEV_TYPE_VFIO,
				 KVM_CREATE_DEVICE_TEST);
		EXPECT_EQ(1, modprobe_runs("kvm-device-type-4 "));
		EXPECT_TRUE(ret == 0 || ret == -ENODEV) TH_LOG("%d", ret);
		if (was_loaded && !module_loaded())
			ASSERT_EQ(0, module_load());
	}
	close(vm_fd);
	close(kvm_fd);
}

TEST_HARNESS_MAIN
