// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_fail_nth_test: fault injection sweep, in the style of iommufd's
 * fail_nth test.  For each operation of the kvm-vfio device and each client
 * sequence, fail the 1st, 2nd, ... slab allocation the sequence makes
 * (/proc/self/task/<tid>/fail-nth with CONFIG_FAILSLAB) until it completes
 * without reaching the injected failure.  Each injected failure must give
 * success or ENOMEM/ENFILE, and leave a device that still works and no
 * reference behind (the group can be reopened).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

#define MAX_NTH		2000

static int nth_fd = -1;

static int fail_nth_init(void)
{
	char path[64];
	int fd;

	/* GFP_KERNEL allocations are exempt unless this is off. */
	fd = open("/sys/kernel/debug/failslab/ignore-gfp-wait", O_WRONLY);
	if (fd < 0 || write(fd, "N", 1) != 1)
		return -1;
	close(fd);
	fd = open("/sys/kernel/debug/failslab/verbose", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "0", 1) != 1)
			return -1;
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR);
	return nth_fd < 0 ? -1 : 0;
}

static void fail_nth_set(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		abort();
}

/* 0 once the injected failure happened; the remaining count otherwise. */
static int fail_nth_get(void)
{
	char buf[16] = { 0 };

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		abort();
	fail_nth_set(0);
	return atoi(buf);
}

/* State a sequence works on; everything is closed after each attempt. */
struct seq {
	int kvm_fd, vm_fd, dev_fd;
	struct group_chain c;
	int cdev, iommufd;
	const char *group, *cdev_path;
};

/* The steps under injection.  Each returns 0 or the first -errno. */
static int seq_create(struct seq *q)
{
	q->dev_fd = create_vfio_dev(q->vm_fd, 0);
	return q->dev_fd < 0 ? q->dev_fd : 0;
}

static int seq_add_group(struct seq *q)
{
	return file_add(q->dev_fd, q->c.group);
}

static int seq_add_devfd(struct seq *q)
{
	return file_add(q->dev_fd, q->c.device);
}

static int seq_add_cdev(struct seq *q)
{
	return file_add(q->dev_fd, q->cdev);
}

static int seq_del(struct seq *q)
{
	return file_del(q->dev_fd, q->cdev);
}

static int seq_release(struct seq *q)
{
	int r = close(q->dev_fd) ? -errno : 0;

	q->dev_fd = -1;
	return r;
}

/*
 * Client A from creating the device to DEL.  A failure of VFIO's own step
 * (GET_DEVICE_FD) is VFIO's answer, not the device's: the client goes on
 * to DEL, which must then succeed.
 */
static int seq_client_a(struct seq *q)
{
	int r = seq_create(q);

	if (!r)
		r = seq_add_group(q);
	if (r)
		return r;
	q->c.device = ioctl(q->c.group, VFIO_GROUP_GET_DEVICE_FD, mdev_uuid);
	return file_del(q->dev_fd, q->c.group);
}

#ifdef VFIO_DEVICE_BIND_IOMMUFD
/* Client B and C: ADD the cdev, bind it (may fail: VFIO's answer), DEL. */
static int seq_client_b(struct seq *q)
{
	int r = seq_add_cdev(q);

	if (r)
		return r;
	cdev_bind(q->cdev, q->iommufd);
	return seq_del(q);
}
#endif

/* What a sequence needs before it starts (not under injection). */
enum prep {
	PREP_DEVICE = 1, PREP_DEVFD = 2, PREP_CDEV_ADDED = 4,
	PREP_GROUP_ADDED = 8,	/* group_reopen() then proves it was put */
};

struct sweep {
	const char *name;
	int (*run)(struct seq *q);
	unsigned int prep;
};

static void seq_open(struct __test_metadata *_metadata, struct seq *q,
		     unsigned int prep)
{
	q->vm_fd = ioctl(q->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, q->vm_fd);
	q->dev_fd = -1;
	if (prep & PREP_DEVICE) {
		q->dev_fd = create_vfio_dev(q->vm_fd, 0);
		ASSERT_LE(0, q->dev_fd);
	}
	ASSERT_EQ(0, group_chain_open(&q->c, q->group, prep & PREP_DEVFD));
	q->cdev = open(q->cdev_path, O_RDWR);
	ASSERT_LE(0, q->cdev);
	q->iommufd = open("/dev/iommu", O_RDWR);
	if (prep & PREP_CDEV_ADDED)
		ASSERT_EQ(0, file_add(q->dev_fd, q->cdev));
	if (prep & PREP_GROUP_ADDED)
		ASSERT_EQ(0, file_add(q->dev_fd, q->c.group));
}

/* After an attempt: the device (or a new one) works, nothing leaks. */
static void seq_check_close(struct __test_metadata *_metadata, struct seq *q)
{
	int dev = q->dev_fd >= 0 ? q->dev_fd : create_vfio_dev(q->vm_fd, 0);
	int fd = open(q->cdev_path, O_RDWR);

	ASSERT_LE(0, dev);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, file_add(dev, fd));
	ASSERT_EQ(0, file_del(dev, fd));
	close(fd);
	close(dev);
	q->dev_fd = -1;
	group_chain_close(&q->c);
	close(q->cdev);
	if (q->iommufd >= 0)
		close(q->iommufd);
	close(q->vm_fd);
	ASSERT_EQ(0, group_reopen(q->group));
}

FIXTURE(fail_nth) {
	struct seq q;
};

FIXTURE_VARIANT(fail_nth) {
	struct sweep s;
};

FIXTURE_VARIANT_ADD(fail_nth, create) {
	{ "create", seq_create, 0 } };
FIXTURE_VARIANT_ADD(fail_nth, add_group) {
	{ "ADD group", seq_add_group, PREP_DEVICE } };
FIXTURE_VARIANT_ADD(fail_nth, add_group_device_fd) {
	{ "ADD group device fd", seq_add_devfd, PREP_DEVICE | PREP_DEVFD } };
FIXTURE_VARIANT_ADD(fail_nth, add_cdev) {
	{ "ADD cdev", seq_add_cdev, PREP_DEVICE } };
FIXTURE_VARIANT_ADD(fail_nth, del) {
	{ "DEL", seq_del, PREP_DEVICE | PREP_CDEV_ADDED | PREP_GROUP_ADDED } };
FIXTURE_VARIANT_ADD(fail_nth, release) {
	{ "release", seq_release,
	  PREP_DEVICE | PREP_CDEV_ADDED | PREP_GROUP_ADDED } };
FIXTURE_VARIANT_ADD(fail_nth, client_a) {
	{ "client A", seq_client_a, 0 } };
#ifdef VFIO_DEVICE_BIND_IOMMUFD
FIXTURE_VARIANT_ADD(fail_nth, client_b) {
	{ "client B", seq_client_b, PREP_DEVICE } };
#endif

FIXTURE_SETUP(fail_nth)
{
	self->q.group = group_path();
	self->q.cdev_path = cdev_path();
	self->q.kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->q.kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	if (!self->q.group || !self->q.cdev_path)
		SKIP(return, "no mtty mdev with a group and a cdev");
	if (fail_nth_init())
		SKIP(return, "no fail-nth (CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, debugfs)");
}

FIXTURE_TEARDOWN(fail_nth)
{
}

TEST_F_TIMEOUT(fail_nth, sweep, 600)
{
	struct seq *q = &self->q;
	int nth, r, left, injected = 0;

	for (nth = 1; nth < MAX_NTH; nth++) {
		seq_open(_metadata, q, variant->s.prep);
		fail_nth_set(nth);
		r = variant->s.run(q);
		left = fail_nth_get();
		ASSERT_TRUE(r == 0 || r == -ENOMEM || r == -ENFILE)
			TH_LOG("%s, failing allocation %d: %d (%s)",
			       variant->s.name, nth, r, strerror(-r));
		seq_check_close(_metadata, q);
		if (left)	/* completed before the nth allocation */
			break;
		injected++;
	}
	ASSERT_LT(nth, MAX_NTH);
	printf("# kvm-vfio-figures: fail_nth %s failure_points=%d\n",
	       variant->s.name, injected);
}

TEST_HARNESS_MAIN
