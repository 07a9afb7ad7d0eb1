// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_stress_test: the kvm-vfio device under concurrent load, and one
 * regression test for each race upstream fixed in it.
 *
 * The stress case runs KVM_VFIO_STRESS_THREADS threads (default 4) for
 * KVM_VFIO_STRESS_OPS operations in all (default 1000000), seeded with
 * KVM_VFIO_SEED: ADD and DEL of shared and private files, dup and close of
 * fds, VFIO_GROUP_GET_DEVICE_FD and VFIO_DEVICE_BIND_IOMMUFD on the same
 * device, and short-lived VMs with their own kvm-vfio device.  Every return
 * value must be in the allowed set of its operation; afterwards the group
 * can be reopened (a cdev reference the device failed to put is left to
 * kmemleak).  Meanwhile a reader thread reads the debugfs views of all
 * those VMs, racing ADD, DEL and release (view_reads in its figure).
 *
 * The device is the mtty mdev, or without one the first device bound to
 * vfio-pci (a distribution's kernel); without its cdev, the files are
 * device fds of its group, which KVM takes only since 6.6 (EINVAL before:
 * an allowed result, so on such a kernel ADD succeeds only for the group).
 *
 * The regression cases scale with KVM_VFIO_STRESS_OPS too: a twentieth of
 * it ADD/DEL calls on one fd, and 300 VMs per 1,000,000 operations (at
 * least 30) against VFIO_GROUP_GET_DEVICE_FD; each prints its figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

#define NR_SHARED	4
#define NR_PRIVATE	4
#define MAX_THREADS	16
#define MAX_VIEW_SCANS	1000

struct stress;

struct worker {
	struct stress *s;
	pthread_t thread;
	uint64_t rng;
	unsigned long ops, vms;
	pid_t tid;		/* __atomic: its short-lived VMs are named so */
	int priv[NR_PRIVATE];	/* fds, swapped atomically */
	char bad[200];		/* first disallowed result, if any */
};

struct stress {
	pthread_t reader;
	bool stop;		/* the workers are done: the reader stops */
	unsigned long view_reads, vm_view_reads;	/* the latter: short-lived VMs' */
	pid_t main_tid;		/* created the main VM */
	char view_bad[200];	/* the reader's first wrong read, if any */
	int kvm_fd, vm_fd, dev_fd;
	int group, container, iommufd;
	struct vfio_target t;	/* without its cdev: device fds of its group */
	int shared[NR_SHARED];	/* fds, swapped atomically */
	unsigned long ops_per_thread;
	int nr_threads;
	struct worker w[MAX_THREADS];
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* The operations asked of the stress case, which sizes the regressions. */
static unsigned long stress_ops(void)
{
	return env_ul("KVM_VFIO_STRESS_OPS", 1000000);
}

/* Record the first result outside @allowed (a -errno list ending in 1). */
static void check(struct worker *w, const char *op, int ret,
		  const int *allowed)
{
	for (; *allowed != 1; allowed++)
		if (ret == *allowed)
			return;
	if (!w->bad[0])
		snprintf(w->bad, sizeof(w->bad), "%s returned %d (%s)", op,
			 ret, strerror(-ret));
}

static const int only_ok[] = { 0, 1 };
static const int add_ok[] = { 0, -EEXIST, -EBADF, -EINVAL, 1 };
static const int del_ok[] = { 0, -ENOENT, -EBADF, 1 };
/* An fd another thread may have closed (EBADF) or reused for a non-VFIO file. */
static const int vfio_ok[] = { 0, -EBADF, -EINVAL, -EBUSY, -EEXIST,
			       -ENOTTY, -EPERM, -ENODEV, 1 };

static int pick_fd(struct worker *w, uint64_t r)
{
	struct stress *s = w->s;

	if (r & 1)
		return __atomic_load_n(&s->shared[(r >> 1) % NR_SHARED], __ATOMIC_SEQ_CST);
	return __atomic_load_n(&w->priv[(r >> 1) % NR_PRIVATE], __ATOMIC_SEQ_CST);
}

/* A new struct file of the device: an open of its cdev, or a device fd. */
static int device_open(struct stress *s)
{
	if (s->t.cdev[0])
		return open(s->t.cdev, O_RDWR);
	return ioctl(s->group, VFIO_GROUP_GET_DEVICE_FD, s->t.name);
}

/* Replace an fd of the pool with a fresh open (a new struct file). */
static void reopen(struct worker *w, int *slot, bool dup_it)
{
	int fd = dup_it ? dup(__atomic_load_n(slot, __ATOMIC_SEQ_CST)) :
			  device_open(w->s);
	int old;

	if (fd < 0)
		fd = device_open(w->s);
	old = __atomic_exchange_n(slot, fd, __ATOMIC_SEQ_CST);
	close(old);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	unsigned long i;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	for (i = 0; i < s->ops_per_thread && !w->bad[0]; i++) {
		uint64_t r = rnd(&w->rng);
		int op = r % 100, fd = pick_fd(w, r >> 8), ret;

		if (op < 35) {
			check(w, "ADD", file_add(s->dev_fd, fd), add_ok);
		} else if (op < 70) {
			check(w, "DEL", file_del(s->dev_fd, fd), del_ok);
		} else if (op < 78) {
			/* dup or reopen one of our own fds */
			reopen(w, &w->priv[(r >> 16) % NR_PRIVATE], r & 0x100000);
		} else if (op < 82) {
			reopen(w, &s->shared[(r >> 16) % NR_SHARED], r & 0x100000);
		} else if (op < 88) {
			ret = ioctl(s->group, VFIO_GROUP_GET_DEVICE_FD, s->t.name);
			if (ret >= 0)
				close(ret);
			check(w, "GET_DEVICE_FD", ret < 0 ? -errno : 0, vfio_ok);
		} else if (op < 94) {
#ifdef VFIO_DEVICE_BIND_IOMMUFD
			check(w, "BIND_IOMMUFD", cdev_bind(fd, s->iommufd),
			      vfio_ok);
#endif
		} else if (op < 99 || (r >> 32) % 16) {
			check(w, "ADD (group)", file_add(s->dev_fd, s->group),
			      add_ok);
			check(w, "DEL (group)", file_del(s->dev_fd, s->group),
			      del_ok);
		} else {
			/*
			 * A short-lived VM with its own device, 1 op in 1,600:
			 * creating a VM is slow under TCG.
			 */
			int vm = ioctl(s->kvm_fd, KVM_CREATE_VM, 0), dev;

			if (vm < 0) {
				check(w, "KVM_CREATE_VM", -errno, only_ok);
				break;
			}
			dev = create_vfio_dev(vm, 0);
			check(w, "KVM_CREATE_DEVICE", dev < 0 ? dev : 0, only_ok);
			if (dev >= 0) {
				check(w, "ADD (new VM)", file_add(dev, fd), add_ok);
				check(w, "ADD (new VM)", file_add(dev, s->group),
				      add_ok);
				if (r & 0x200)
					close(vm);	/* VM before device */
				close(dev);
			}
			if (!(r & 0x200))
				close(vm);
			w->vms++;
		}
		w->ops++;
	}
	return NULL;
}

/*
 * Read the open view @fd to its end, which can be long (files the VMM
 * closed without DEL stay tracked): its last 200 bytes into @tail, its
 * length, or -errno.
 */
static ssize_t view_tail(int fd, char *tail)
{
	static char chunk[65536];	/* the reader's alone */
	size_t len = 0, keep = 0;
	ssize_t n;

	tail[0] = 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		len += n;
		if (n >= 200) {
			memcpy(tail, chunk + n - 200, 200);
			keep = 200;
		} else {
			size_t drop = keep + n > 200 ? keep + n - 200 : 0;

			memmove(tail, tail + drop, keep - drop);
			memcpy(tail + keep - drop, chunk, n);
			keep = keep - drop + n;
		}
		tail[keep] = 0;
	}
	return n < 0 ? -errno : (ssize_t)len;
}

/* A VM directory named after @tid is one of the test's. */
static bool our_vm(struct stress *s, int tid)
{
	int i;

	if (tid <= 0)		/* a worker's is 0 until it runs */
		return false;
	if (tid == s->main_tid)
		return true;
	for (i = 0; i < s->nr_threads; i++)
		if (tid == __atomic_load_n(&s->w[i].tid, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

/*
 * Reads the debugfs views of every VM of the test while the workers run:
 * the main VM's (named after the fixture's thread) must always read whole,
 * ending with its totals; the workers' short-lived VMs' (named after each
 * worker) may go between the listing and the open (ENOENT) or during the
 * read (EIO), which is the read racing release.  A kernel without the view
 * reads nothing, unless it is kvm-vfio's own (it has the kvm_vfio trace
 * events): that fails.  It rests twice as long as a scan took (the views
 * grow with the files the workers closed without DEL), so as not to
 * starve the workers of kv->lock, and stops after MAX_VIEW_SCANS scans,
 * so that make soak's million operations are not slowed by reads of
 * views of tens of thousands of lines.
 */
static void *reader_fn(void *arg)
{
	struct stress *s = arg;
	char path[300], tail[201], main_view[128];
	struct timespec t0, t1;
	int scans;
	struct dirent *de;
	ssize_t n;
	DIR *d;

	view_path_of(s->main_tid, s->vm_fd, main_view, sizeof(main_view));
	if (access(main_view, R_OK)) {
		if (kvm_vfio_events_present())
			snprintf(s->view_bad, sizeof(s->view_bad),
				 "kvm-vfio's own kernel, but no view %s: %s",
				 main_view, strerror(errno));
		return NULL;
	}
	for (scans = 0; scans < MAX_VIEW_SCANS && !s->view_bad[0] &&
	     !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); scans++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		d = opendir(KVM_DEBUGFS);
		if (!d)
			break;
		while ((de = readdir(d))) {
			int fd, tid, vm;

			/* VMs are <tid>-<vm fd>; KVM's statistics are files. */
			if (sscanf(de->d_name, "%d-%d", &tid, &vm) != 2 ||
			    !our_vm(s, tid))
				continue;
			snprintf(path, sizeof(path), KVM_DEBUGFS "/%s/vfio",
				 de->d_name);
			fd = open(path, O_RDONLY);
			n = fd < 0 ? -errno : view_tail(fd, tail);
			if (fd >= 0)
				close(fd);
			if (!strcmp(path, main_view) &&
			    (n < 0 || !strstr(tail, "total files=")))
				snprintf(s->view_bad, sizeof(s->view_bad),
					 "reading %.100s: %s", path,
					 n < 0 ? strerror(-n) : "no totals");
			else if (n < 0 && n != -ENOENT && n != -EIO)
				snprintf(s->view_bad, sizeof(s->view_bad),
					 "reading %.100s: %s", path, strerror(-n));
			s->view_reads += n >= 0;
			s->vm_view_reads += n >= 0 && strcmp(path, main_view);
		}
		closedir(d);
		/* Read a third of the time at most. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		usleep(1000 + 2 * ((t1.tv_sec - t0.tv_sec) * 1000000 +
				   (t1.tv_nsec - t0.tv_nsec) / 1000));
	}
	return NULL;
}

FIXTURE(stress) {
	struct stress s;
};

FIXTURE_SETUP(stress)
{
	struct stress *s = &self->s;
	struct group_chain c;
	int i, j;

	memset(s, 0, sizeof(*s));
	s->kvm_fd = open("/dev/kvm", O_RDWR);
	if (s->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	if (!vfio_target_find(&s->t))
		SKIP(return, NO_TARGET);
	s->vm_fd = ioctl(s->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, s->vm_fd);
	s->main_tid = gettid();
	s->dev_fd = create_vfio_dev(s->vm_fd, 0);
	ASSERT_LE(0, s->dev_fd);
	ASSERT_EQ(0, group_chain_open_dev(&c, s->t.group, NULL));
	s->group = c.group;
	s->container = c.container;
	s->iommufd = open("/dev/iommu", O_RDWR);
	for (i = 0; i < NR_SHARED; i++) {
		s->shared[i] = device_open(s);
		ASSERT_LE(0, s->shared[i]);
	}
	s->nr_threads = env_ul("KVM_VFIO_STRESS_THREADS", 4);
	if (s->nr_threads > MAX_THREADS)
		s->nr_threads = MAX_THREADS;
	s->ops_per_thread = stress_ops() / s->nr_threads;
	for (i = 0; i < s->nr_threads; i++) {
		s->w[i].s = s;
		s->w[i].rng = (env_ul("KVM_VFIO_SEED", 0x6b766d76) + i) * 2 + 1;
		for (j = 0; j < NR_PRIVATE; j++) {
			s->w[i].priv[j] = device_open(s);
			ASSERT_LE(0, s->w[i].priv[j]);
		}
	}
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, mixed_ops, 900)
{
	struct stress *s = &self->s;
	unsigned long total = 0, vms = 0;
	struct timespec t0, t1;
	double secs;
	int i, j, ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = pthread_create(&s->reader, NULL, reader_fn, s);
	ASSERT_EQ(0, ret) TH_LOG("pthread_create: %s", strerror(ret));
	/* Never leave the test with workers running: join what started. */
	for (i = 0; i < s->nr_threads && !ret; i++)
		ret = pthread_create(&s->w[i].thread, NULL, worker_fn, &s->w[i]);
	if (ret)
		s->nr_threads = i - 1;
	for (i = 0; i < s->nr_threads; i++)
		pthread_join(s->w[i].thread, NULL);
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_join(s->reader, NULL);
	ASSERT_EQ(0, ret) TH_LOG("pthread_create: %s", strerror(ret));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (i = 0; i < s->nr_threads; i++) {
		total += s->w[i].ops;
		vms += s->w[i].vms;
		EXPECT_EQ(0, s->w[i].bad[0]) TH_LOG("thread %d: %s", i, s->w[i].bad);
	}
	EXPECT_EQ(0, s->view_bad[0]) TH_LOG("view reader: %s", s->view_bad);
	/* One line, in two calls: the format is longer than a line. */
	printf("# kvm-vfio-figures: stress ops=%lu threads=%d seconds=%.1f seed=%#lx vms=%lu",
	       total, s->nr_threads, secs, env_ul("KVM_VFIO_SEED", 0x6b766d76),
	       vms);
	printf(" view_reads=%lu vm_view_reads=%lu\n", s->view_reads,
	       s->vm_view_reads);

	/* The oracle: close everything, nothing may stay referenced. */
	for (i = 0; i < s->nr_threads; i++)
		for (j = 0; j < NR_PRIVATE; j++)
			close(s->w[i].priv[j]);
	for (i = 0; i < NR_SHARED; i++)
		close(s->shared[i]);
	ioctl(s->group, VFIO_GROUP_UNSET_CONTAINER);
	close(s->group);
	close(s->container);
	if (s->iommufd >= 0)
		close(s->iommufd);
	close(s->dev_fd);
	close(s->vm_fd);
	ASSERT_EQ(0, group_reopen(s->t.group));
}

/* ---- regressions of upstream fixes ----------------------------------- */

FIXTURE(regress) {
	int kvm_fd, vm_fd, dev_fd;
	struct vfio_target t;
	const char *path;	/* its group */
};

FIXTURE_SETUP(regress)
{
	self->path = self->t.group;
	self->kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	if (!vfio_target_find(&self->t))
		SKIP(return, NO_TARGET);
	self->vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm_fd);
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);
}

FIXTURE_TEARDOWN(regress)
{
}

/*
 * Self-deadlock when VFIO dropped the last kvm reference while VM teardown
 * called back into VFIO (fixed by .release instead of .destroy): the VFIO
 * device fd holds the last kvm reference and is closed last.
 */
TEST_F_TIMEOUT(regress, vfio_device_closed_last, 60)
{
	struct group_chain c;
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, group_chain_open_dev(&c, self->path, NULL));
		ASSERT_EQ(0, file_add(self->dev_fd, c.group));
		c.device = ioctl(c.group, VFIO_GROUP_GET_DEVICE_FD, self->t.name);
		ASSERT_LE(0, c.device);
		close(self->vm_fd);
		close(self->dev_fd);
		group_chain_close(&c);		/* device fd last */
		ASSERT_EQ(0, group_reopen(self->path));
		self->vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
		ASSERT_LE(0, self->vm_fd);
		self->dev_fd = create_vfio_dev(self->vm_fd, 0);
		ASSERT_LE(0, self->dev_fd);
	}
}

struct race {
	int dev_fd, fd, group;
	const char *name;	/* the device, for VFIO_GROUP_GET_DEVICE_FD */
	unsigned long n;
	int bad;	/* accessed with __atomic builtins */
	int stop;
};

static void *add_del_loop(void *arg)
{
	struct race *r = arg;
	unsigned long i;
	int ret;

	for (i = 0; i < r->n; i++) {
		ret = i & 1 ? file_del(r->dev_fd, r->fd) : file_add(r->dev_fd, r->fd);
		if (ret && ret != -EEXIST && ret != -ENOENT)
			__atomic_store_n(&r->bad, ret, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * Use-after-free when ADD dropped the device lock before vfio_file_set_kvm
 * and a racing DEL freed the entry: two threads ADD and DEL one fd.
 */
TEST_F_TIMEOUT(regress, add_del_same_fd_race, 300)
{
	struct race r = { .dev_fd = self->dev_fd,
			  .n = (stress_ops() + 19) / 20 };
	pthread_t t[2];
	int i, ret = 0;

	r.fd = open(self->path, O_RDWR);
	ASSERT_LE(0, r.fd);
	for (i = 0; i < 2 && !ret; i++)
		ret = pthread_create(&t[i], NULL, add_del_loop, &r);
	for (i -= ret ? 2 : 1; i >= 0; i--)
		pthread_join(t[i], NULL);
	ASSERT_EQ(0, ret) TH_LOG("pthread_create: %s", strerror(ret));
	printf("# kvm-vfio-figures: regress add-del-race calls=%lu threads=2\n",
	       r.n * 2);
	ASSERT_EQ(0, __atomic_load_n(&r.bad, __ATOMIC_SEQ_CST));
	file_del(self->dev_fd, r.fd);
	close(r.fd);
	ASSERT_EQ(0, group_reopen(self->path));
}

static void *get_device_fd_loop(void *arg)
{
	struct race *r = arg;
	int fd;

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		fd = ioctl(r->group, VFIO_GROUP_GET_DEVICE_FD, r->name);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/*
 * Lock-order inversion between kvm->lock and VFIO's group lock (a driver's
 * open_device may take kvm->lock): VFIO_GROUP_GET_DEVICE_FD in one thread,
 * kvm-vfio devices tracking the group closed in another.  Lockdep reports
 * an inversion as a splat, which fails the run.
 */
TEST_F_TIMEOUT(regress, get_device_fd_vs_close, 300)
{
	unsigned long i, rounds = stress_ops() * 3 / 10000;
	struct race r = { .name = self->t.name };
	struct group_chain c;
	int vm, dev, ret = 0;
	const char *step = "";
	pthread_t t;

	if (rounds < 30)
		rounds = 30;

	ASSERT_EQ(0, group_chain_open_dev(&c, self->path, NULL));
	r.group = c.group;
	ASSERT_EQ(0, pthread_create(&t, NULL, get_device_fd_loop, &r));
	/* The thread runs on @r: stop and join it before any ASSERT. */
	for (i = 0; i < rounds; i++) {
		vm = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
		if (vm < 0) {
			ret = -errno;
			step = "KVM_CREATE_VM";
			break;
		}
		dev = create_vfio_dev(vm, 0);
		ret = dev < 0 ? dev : file_add(dev, c.group);
		step = dev < 0 ? "KVM_CREATE_DEVICE" : "KVM_DEV_VFIO_FILE_ADD";
		close(vm);
		if (dev >= 0)
			close(dev);	/* the last reference: release */
		if (ret)
			break;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("round %lu: %s: %s", i, step, strerror(-ret));
	printf("# kvm-vfio-figures: regress get-device-fd-vs-close vms=%lu\n", i);
	group_chain_close(&c);
	ASSERT_EQ(0, group_reopen(self->path));
}

TEST_HARNESS_MAIN
