// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_debugfs_test: the VM's debugfs view of its kvm-vfio device
 * (/sys/kernel/debug/kvm/<pid>-<vm fd>/vfio) says what the test added.
 *
 * After every step of the real clients' call sequences (QEMU's group and
 * cdev paths, the legacy group alias of crosvm and rust-vmm), after failed
 * calls, DEL, close and release, the test reads the view and compares it
 * with its own model of what the device holds: one line per file (kind,
 * path, character device number from stat(), coherent or not), then the
 * totals and the device's own noncoherent_dma flag (any file not
 * coherent; kvm_vfio_trace_test checks KVM's side of it).  The files are
 * the mtty mdev (not coherent) and, where the guest has it, QEMU's edu on
 * vfio-pci (coherent behind intel-iommu with snoop control, not behind
 * arm64's SMMUv3; see edu_coherent()).  The view is
 * gone after release, and reads racing release get data or EIO.
 *
 * The stock kernel has no view: every case SKIPs there, with the reason;
 * a kernel with kvm-vfio's trace events but no view fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

#define VIEW_SIZE	8192
#define MAX_LINES	16

/* One file as the view must show it, built from stat() of its node. */
struct vfile {
	char line[320];
	bool group, coherent;
};

static const char *base(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

/*
 * @path: the node the test opens; NULL for the device fd of
 * VFIO_GROUP_GET_DEVICE_FD, which has none.  0 or -errno.
 */
static int vfile_init(struct vfile *f, bool group, const char *path,
		      bool coherent)
{
	struct stat st;

	f->group = group;
	f->coherent = coherent;
	if (!path) {
		snprintf(f->line, sizeof(f->line),
			 "device name=anon_inode:[vfio-device] rdev=- coherent=%s",
			 coherent ? "yes" : "no");
		return 0;
	}
	if (stat(path, &st))
		return -errno;
	snprintf(f->line, sizeof(f->line), "%s name=%s rdev=%u:%u coherent=%s",
		 group ? "group" : "device", path, major(st.st_rdev),
		 minor(st.st_rdev), coherent ? "yes" : "no");
	return 0;
}

/*
 * Whether QEMU's edu is coherent: behind intel-iommu with snoop control
 * (the x86_64 guest) it is; behind arm64's SMMUv3, which offers no
 * IOMMU_CAP_ENFORCE_CACHE_COHERENCY in these kernels, it is not.  (VFIO's
 * own VFIO_DMA_CC_IOMMU cannot be asked: the x86_64 guest has no interrupt
 * remapping, so type1 refuses the group.)
 */
static bool edu_coherent(void)
{
	struct utsname u;

	return !uname(&u) && !strcmp(u.machine, "x86_64");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The view of @vm_fd against @want (NULL-terminated): the same file lines
 * in any order, then the totals.  0, or -1 after logging both.
 */
static int view_check(struct __test_metadata *_metadata, int vm_fd,
		      const struct vfile *const *want)
{
	char buf[VIEW_SIZE], total[160], *got[MAX_LINES], *exp[MAX_LINES];
	char *line, *save, *last = NULL;
	int nr_got = 0, nr_exp = 0, groups = 0, ncoh_devs = 0, i;
	bool ncoh = false, same;
	ssize_t len;

	len = view_read(vm_fd, buf, sizeof(buf));
	if (len < 0) {
		TH_LOG("reading the view: %s", strerror(-len));
		return -1;
	}
	if (!len || buf[len - 1] != '\n' || strstr(buf, "\n\n")) {
		TH_LOG("the view is not whole lines:\n%s", buf);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (last && nr_got < MAX_LINES)
			got[nr_got++] = last;
		last = line;
	}
	for (; want[nr_exp]; nr_exp++) {
		exp[nr_exp] = (char *)want[nr_exp]->line;
		groups += want[nr_exp]->group;
		ncoh_devs += !want[nr_exp]->group && !want[nr_exp]->coherent;
		ncoh |= !want[nr_exp]->coherent;
	}
	snprintf(total, sizeof(total),
		 "total files=%d groups=%d noncoherent_devices=%d noncoherent_dma=%s",
		 nr_exp, groups, ncoh_devs, ncoh ? "yes" : "no");
	qsort(got, nr_got, sizeof(*got), cmp_str);
	qsort(exp, nr_exp, sizeof(*exp), cmp_str);
	same = last && !strcmp(last, total) && nr_got == nr_exp;
	for (i = 0; same && i < nr_exp; i++)
		same = !strcmp(got[i], exp[i]);
	if (same)
		return 0;
	TH_LOG("the view differs from what was added; expected:");
	for (i = 0; i < nr_exp; i++)
		TH_LOG("  %s", exp[i]);
	TH_LOG("  %s", total);
	TH_LOG("read:");
	for (i = 0; i < nr_got; i++)
		TH_LOG("  %s", got[i]);
	TH_LOG("  %s", last ? last : "(nothing)");
	return -1;
}

#define test_check_view(vm, ...)					\
	ASSERT_EQ(0, view_check(_metadata, vm,				\
				(const struct vfile *const[]){ __VA_ARGS__, NULL }))
#define test_check_empty(vm)	test_check_view(vm, NULL)
#define test_cmd_add(fd)	ASSERT_EQ(0, file_add(self->dev_fd, fd))
#define test_cmd_del(fd)	ASSERT_EQ(0, file_del(self->dev_fd, fd))
#define test_cmd_open(fd, path)	ASSERT_LE(0, fd = open(path, O_RDWR))

FIXTURE(view) {
	int kvm_fd, vm_fd, dev_fd;
	char mgroup_path[300], mcdev_path[300], ecdev_path[300];
	char mdev[300], edu[300];
	struct vfile mgroup, mcdev, mdevfd, ecdev;
};

FIXTURE_SETUP(view)
{
	char buf[VIEW_SIZE];
	const char *p;
	ssize_t n;

	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (_metadata->exit_code)
		return;
	n = view_read(self->vm_fd, buf, sizeof(buf));
	if (n == -ENOENT && !kvm_vfio_events_present())
		SKIP(return, NO_VIEW);
	ASSERT_LE(0, n) TH_LOG("reading the view of kvm-vfio's own device: %s",
			       strerror(-n));
	p = mdev_find();
	if (!p)
		SKIP(return, NO_MTTY);
	snprintf(self->mdev, sizeof(self->mdev), "%s", p);
	p = group_path();
	ASSERT_NE(NULL, p);
	snprintf(self->mgroup_path, sizeof(self->mgroup_path), "%s", p);
	p = cdev_path();
	if (!p)
		SKIP(return, NO_CDEV);
	snprintf(self->mcdev_path, sizeof(self->mcdev_path), "%s", p);
	/* No IOMMU enforces snooping for an mdev. */
	ASSERT_EQ(0, vfile_init(&self->mgroup, true, self->mgroup_path, false));
	ASSERT_EQ(0, vfile_init(&self->mcdev, false, self->mcdev_path, false));
	ASSERT_EQ(0, vfile_init(&self->mdevfd, false, NULL, false));
	self->edu[0] = 0;
	p = edu_find();
	if (p)
		snprintf(self->edu, sizeof(self->edu), "%s", p);
	p = p ? sysdev_cdev_path(self->edu) : NULL;
	if (!p) {
		self->edu[0] = 0;
	} else {
		snprintf(self->ecdev_path, sizeof(self->ecdev_path), "%s", p);
		ASSERT_EQ(0, vfile_init(&self->ecdev, false, self->ecdev_path,
					edu_coherent()));
	}
}

FIXTURE_TEARDOWN(view)
{
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/* The view exists as soon as the device does, with nothing in it. */
TEST_F(view, created_empty)
{
	struct stat st;
	char path[128];

	test_check_empty(self->vm_fd);
	ASSERT_EQ(0, stat(view_path(self->vm_fd, path, sizeof(path)), &st));
	ASSERT_EQ(0444, st.st_mode & 0777);
}

/* QEMU's group path: the group in its container, then the device fd. */
TEST_F(view, qemu_group_path)
{
	struct group_chain c;
	int ret;

	if (no_type1_container())
		SKIP(return, "%s", no_type1_container());
	close_fd(&self->dev_fd);	/* QEMU creates it after the container */
	ret = group_chain_open(&c, self->mgroup_path, false);
	ASSERT_EQ(0, ret);
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
	test_check_empty(self->vm_fd);
	test_cmd_add(c.group);
	test_check_view(self->vm_fd, &self->mgroup);
	c.device = ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD, mdev_uuid);
	ASSERT_LE(0, c.device);
	test_check_view(self->vm_fd, &self->mgroup);
	close_fd(&c.device);
	test_check_view(self->vm_fd, &self->mgroup);
	test_cmd_del(c.group);
	test_check_empty(self->vm_fd);
	group_chain_close(&c);
	test_check_empty(self->vm_fd);
}

/* QEMU with iommufd: ADD the cdev, bind, attach, detach, DEL. */
TEST_F(view, qemu_cdev_path)
{
#ifdef VFIO_DEVICE_BIND_IOMMUFD
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	int d, iommufd;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		SKIP(return, "no /dev/iommu (CONFIG_IOMMUFD)");
	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(d);
	test_check_view(self->vm_fd, &self->mcdev);
	ASSERT_EQ(0, cdev_bind(d, iommufd));
	ASSERT_EQ(0, iommufd_ioas(iommufd, &attach.pt_id));
	ASSERT_EQ(0, ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	test_check_view(self->vm_fd, &self->mcdev);
	ASSERT_EQ(0, ioctl(d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	test_check_view(self->vm_fd, &self->mcdev);
	test_cmd_del(d);
	test_check_empty(self->vm_fd);
	close(d);
	close(iommufd);
#else
	SKIP(return, "no VFIO_DEVICE_BIND_IOMMUFD in these headers");
#endif
}

/* crosvm and rust-vmm: the legacy KVM_DEV_VFIO_GROUP_ADD/DEL alias. */
TEST_F(view, crosvm_rust_vmm_group_alias)
{
	__s32 g;

	test_cmd_open(g, self->mgroup_path);
	ASSERT_EQ(0, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
			      KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_ADD, &g));
	test_check_view(self->vm_fd, &self->mgroup);
	ASSERT_EQ(0, dev_attr(self->dev_fd, KVM_SET_DEVICE_ATTR,
			      KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_DEL, &g));
	test_check_empty(self->vm_fd);
	close(g);
}

/* The device fd of VFIO_GROUP_GET_DEVICE_FD: no node, so no name. */
TEST_F(view, group_device_fd)
{
	struct group_chain c;
	int ret;

	if (no_type1_container())
		SKIP(return, "%s", no_type1_container());
	ret = group_chain_open(&c, self->mgroup_path, true);
	ASSERT_EQ(0, ret);
	test_cmd_add(c.device);
	test_cmd_add(c.group);
	test_check_view(self->vm_fd, &self->mdevfd, &self->mgroup);
	test_cmd_del(c.device);
	test_check_view(self->vm_fd, &self->mgroup);
	test_cmd_del(c.group);
	test_check_empty(self->vm_fd);
	group_chain_close(&c);
}

/* Coherent and non-coherent files: noncoherent_dma follows them. */
TEST_F(view, coherency_follows_files)
{
	int e, g, d;

	if (!self->edu[0])
		SKIP(return, NO_EDU);
	test_cmd_open(e, self->ecdev_path);
	test_cmd_open(g, self->mgroup_path);
	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(e);
	test_check_view(self->vm_fd, &self->ecdev);
	test_cmd_add(g);
	test_check_view(self->vm_fd, &self->ecdev, &self->mgroup);
	test_cmd_add(d);
	test_check_view(self->vm_fd, &self->ecdev, &self->mgroup, &self->mcdev);
	test_cmd_del(g);
	test_check_view(self->vm_fd, &self->ecdev, &self->mcdev);
	test_cmd_del(d);
	test_check_view(self->vm_fd, &self->ecdev);
	test_cmd_del(e);
	test_check_empty(self->vm_fd);
	close(d);
	close(g);
	close(e);
}

/* Calls that fail change nothing in the view. */
TEST_F(view, failed_calls_change_nothing)
{
	int d, ev = eventfd(0, 0);

	ASSERT_LE(0, ev);
	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(d);
	ASSERT_EQ(-EEXIST, file_add(self->dev_fd, d));
	ASSERT_EQ(-EINVAL, file_add(self->dev_fd, ev));
	ASSERT_EQ(-ENOENT, file_del(self->dev_fd, ev));
	ASSERT_EQ(-EBADF, file_add(self->dev_fd, 4321));
	test_check_view(self->vm_fd, &self->mcdev);
	test_cmd_del(d);
	ASSERT_EQ(-ENOENT, file_del(self->dev_fd, d));
	test_check_empty(self->vm_fd);
	close(d);
	close(ev);
}

/* Files the VMM closed stay while tracked; release takes the view away. */
TEST_F(view, closed_files_listed_until_release)
{
	char path[128], dir[128];
	struct stat st;
	int g, d;

	test_cmd_open(g, self->mgroup_path);
	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(g);
	test_cmd_add(d);
	close(g);
	close(d);
	test_check_view(self->vm_fd, &self->mgroup, &self->mcdev);
	view_path(self->vm_fd, path, sizeof(path));
	close_fd(&self->dev_fd);
	ASSERT_EQ(-1, stat(path, &st));
	ASSERT_EQ(ENOENT, errno);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path),
		 path);
	ASSERT_EQ(0, stat(dir, &st)) TH_LOG("the VM's folder %s went", dir);
	ASSERT_EQ(0, group_reopen(self->mgroup_path));
}

/* A reader that kept the view open across release gets EIO. */
TEST_F(view, reader_open_across_release)
{
	char path[128], buf[VIEW_SIZE];
	int fd, d;

	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(d);
	fd = open(view_path(self->vm_fd, path, sizeof(path)), O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, view_pread(fd, buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, self->mcdev.line));
	close_fd(&self->dev_fd);
	ASSERT_EQ(-EIO, view_pread(fd, buf, sizeof(buf)));
	close(fd);
	close(d);
}

/* Two VMs, one file in both: each view is its own VM's. */
TEST_F(view, two_vms_two_views)
{
	char path2[128];
	int vm2, dev2, d;

	vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	test_cmd_open(d, self->mcdev_path);
	test_cmd_add(d);
	ASSERT_EQ(0, file_add(dev2, d));
	test_check_view(self->vm_fd, &self->mcdev);
	test_check_view(vm2, &self->mcdev);
	test_cmd_del(d);
	test_check_empty(self->vm_fd);
	test_check_view(vm2, &self->mcdev);
	view_path(vm2, path2, sizeof(path2));
	close(dev2);
	ASSERT_EQ(-1, access(path2, F_OK));
	ASSERT_EQ(ENOENT, errno);
	close(vm2);
	test_check_empty(self->vm_fd);
	close(d);
}

struct race {
	int fd;			/* the open view */
	bool stop;		/* __atomic */
	unsigned long data, eio, other;	/* eio: __atomic */
	int other_err;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	char buf[VIEW_SIZE];
	ssize_t n;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		n = view_pread(r->fd, buf, sizeof(buf));
		if (n > 0 && strstr(buf, "total files="))
			r->data++;
		else if (n == -EIO)
			__atomic_add_fetch(&r->eio, 1, __ATOMIC_RELAXED);
		else if (!r->other++)
			r->other_err = n < 0 ? (int)-n : 0;
	}
	return NULL;
}

#define RACE_ROUNDS	50

/*
 * Reads in progress while the device is released: debugfs_remove() waits
 * for them under kvm->lock.  Every read gives the whole view or EIO, and
 * after release only EIO; lockdep and KASAN watch the rest.
 */
TEST_F(view, reads_race_release)
{
	struct race r = { 0 };
	unsigned long after;
	char path[128];
	pthread_t t;
	int i, d;

	test_cmd_open(d, self->mcdev_path);
	for (i = 0; i < RACE_ROUNDS; i++) {
		if (self->dev_fd < 0) {
			self->dev_fd = create_vfio_dev(self->vm_fd, 0);
			ASSERT_LE(0, self->dev_fd);
		}
		test_cmd_add(d);
		r.fd = open(view_path(self->vm_fd, path, sizeof(path)), O_RDONLY);
		ASSERT_LE(0, r.fd);
		__atomic_store_n(&r.stop, false, __ATOMIC_RELEASE);
		ASSERT_EQ(0, pthread_create(&t, NULL, race_reader, &r));
		usleep(1000 * (i % 4));
		close_fd(&self->dev_fd);
		after = r.eio;
		while (__atomic_load_n(&r.eio, __ATOMIC_RELAXED) == after)
			usleep(100);
		__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		close(r.fd);
		ASSERT_EQ(0, r.other) TH_LOG("a read gave neither the view nor EIO: %s",
					     strerror(r.other_err));
	}
	printf("# kvm-vfio-figures: view-race rounds=%d reads=%lu eio=%lu\n",
	       RACE_ROUNDS, r.data, r.eio);
	close(d);
}

/* What tools/kvm/kvm_vfio_stat -p <our pid> printed, or NULL. */
static char *stat_tool(struct __test_metadata *_metadata, const char *tool,
		       char *buf, size_t size)
{
	char cmd[400];
	size_t len;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s -p %d 2>&1", tool, (int)getpid());
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	len = fread(buf, 1, size - 1, p);
	buf[len] = 0;
	st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		TH_LOG("%s: exit status %d:\n%s", cmd, st, buf);
		return NULL;
	}
	return buf;
}

/*
 * The user's tool lists this VM with its lines, and adds what sysfs says
 * of the files: the device behind a cdev and its IOMMU group.
 */
TEST_F(view, stat_tool)
{
	const char *tool = getenv("KVM_VFIO_STAT") ?: "/tests/kvm_vfio_stat";
	char buf[VIEW_SIZE], want[1024];
	/* The mdev's group node, /dev/vfio/<N>, is named after its group. */
	const char *grp = base(self->mgroup_path);
	int d, g;

	if (access(tool, X_OK))
		SKIP(return, "no kvm_vfio_stat at %s (KVM_VFIO_STAT)", tool);
	test_cmd_open(d, self->mcdev_path);
	test_cmd_open(g, self->mgroup_path);
	test_cmd_add(d);
	test_cmd_add(g);
	ASSERT_NE(NULL, stat_tool(_metadata, tool, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "VM %d-%d (", (int)getpid(), self->vm_fd);
	ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("no '%s' in:\n%s", want, buf);
	snprintf(want, sizeof(want), "\n  %s device=%s iommu_group=%s\n",
		 self->mcdev.line, base(self->mdev), grp);
	ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("no '%s' in:\n%s", want, buf);
	snprintf(want, sizeof(want), "\n  %s iommu_group=%s\n",
		 self->mgroup.line, grp);
	ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("no '%s' in:\n%s", want, buf);
	test_cmd_del(d);
	test_cmd_del(g);
	ASSERT_NE(NULL, stat_tool(_metadata, tool, buf, sizeof(buf)));
	ASSERT_EQ(NULL, strstr(buf, self->mcdev.line)) TH_LOG("%s", buf);
	ASSERT_NE(NULL, strstr(buf, "\n  total files=0 ")) TH_LOG("%s", buf);
	close_fd(&self->dev_fd);
	ASSERT_NE(NULL, stat_tool(_metadata, tool, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "no VM of process %d has a kvm-vfio device",
		 (int)getpid());
	ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("%s", buf);
	close(g);
	close(d);
}

TEST_HARNESS_MAIN
