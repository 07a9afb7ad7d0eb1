// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_fuzz_test: seeded random KVM_{SET,HAS,GET}_DEVICE_ATTR calls on
 * the kvm-vfio device, checked against a model of the device.
 *
 * Every call draws an ioctl, attribute group, attribute, flags and addr
 * (NULL, unmapped, a kernel address, an unaligned or read-only buffer, the
 * attr struct itself unreadable) and an fd of every kind, real VFIO files
 * included.  The model knows which files are tracked, so each answer is
 * checked exactly, not just against the contract's errno set.
 *
 * The draw is steered: three calls in four are KVM_SET_DEVICE_ATTR of
 * KVM_DEV_VFIO_FILE_ADD or _DEL, the requests that get past attribute
 * dispatch to the file code; the rest are drawn from everything.  The
 * figures line reports how many calls reached the file code ("reached").
 *
 * The VFIO files are those of the mtty mdev, or without one of the first
 * device bound to vfio-pci: its group and, without a cdev, device fds of
 * the group, which the model takes as VFIO files from 6.6 on.
 *
 * KVM_VFIO_FUZZ_CALLS (default 100000) and KVM_VFIO_SEED set the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"

#define NR_CDEV		4
#define MAX_FDS		32

/* One fd of the pool and what the model knows of its struct file. */
struct pool_fd {
	int fd;
	int file;	/* struct file identity: dups share it, -1 if closed */
	bool vfio;	/* a VFIO group or device file */
	const char *kind;
};

struct fuzz {
	struct pool_fd fds[MAX_FDS];
	int nr;
	bool tracked[MAX_FDS];	/* indexed by file identity */
	uint64_t rng;
	unsigned long calls, ok, reached, errs[256];
};

static uint64_t rnd(struct fuzz *z)
{
	/* xorshift64* */
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dULL;
}

static void pool_add(struct fuzz *z, int fd, int file, bool vfio,
		     const char *kind)
{
	z->fds[z->nr++] = (struct pool_fd){ fd, file, vfio, kind };
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* What the device must answer for one call, given the model. */
static int expect(struct fuzz *z, unsigned long req, __u32 group, __u64 attr,
		  bool readable, int slot, bool *track, bool *untrack)
{
	struct pool_fd *p = slot >= 0 ? &z->fds[slot] : NULL;

	*track = false;
	*untrack = false;
	if (req == KVM_GET_DEVICE_ATTR)
		return -EPERM;
	if (req == KVM_HAS_DEVICE_ATTR)
		return group == KVM_DEV_VFIO_FILE &&
		       (attr == KVM_DEV_VFIO_FILE_ADD ||
			attr == KVM_DEV_VFIO_FILE_DEL) ? 0 : -ENXIO;
	if (group != KVM_DEV_VFIO_FILE ||
	    (attr != KVM_DEV_VFIO_FILE_ADD && attr != KVM_DEV_VFIO_FILE_DEL))
		return -ENXIO;
	if (!readable)
		return -EFAULT;
	if (!p || p->file < 0)
		return -EBADF;
	if (attr == KVM_DEV_VFIO_FILE_ADD) {
		if (!p->vfio)
			return -EINVAL;
		if (z->tracked[p->file])
			return -EEXIST;
		*track = true;
		return 0;
	}
	if (!z->tracked[p->file])
		return -ENOENT;
	*untrack = true;
	return 0;
}

/*
 * Whether KVM takes a device fd of VFIO_GROUP_GET_DEVICE_FD as a VFIO file:
 * since 6.6; before, only groups (EINVAL).
 */
static bool device_fd_is_vfio_file(void)
{
	return ksft_min_kernel_version(6, 6);
}

FIXTURE(fuzz) {
	int kvm_fd, vm_fd, dev_fd;
	struct vfio_target t;
	struct group_chain c;
	struct fuzz z;
	char *rw, *ro, *none;
};

FIXTURE_SETUP(fuzz)
{
	struct vfio_target *t = &self->t;
	struct fuzz *z = &self->z;
	int p[2], s[2], i, fd;
	bool devfd_vfio;

	memset(z, 0, sizeof(*z));
	self->kvm_fd = open("/dev/kvm", O_RDWR);
	if (self->kvm_fd < 0)
		SKIP(return, "no /dev/kvm: %s", strerror(errno));
	if (!vfio_target_find(t))
		SKIP(return, NO_TARGET);
	self->vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm_fd);
	self->dev_fd = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, self->dev_fd);

	/*
	 * The pool: file identity = index of its first fd.  The device's
	 * files are opens of its cdev, or without one device fds of its
	 * group, which KVM takes as VFIO files only since 6.6.
	 */
	if (t->cdev[0]) {
		fd = open(t->group, O_RDWR);
		ASSERT_LE(0, fd);
	} else {
		if (no_type1_container())
			SKIP(return, "%s has no cdev, and %s", t->name,
			     no_type1_container());
		ASSERT_EQ(0, group_chain_open_dev(&self->c, t->group, NULL));
		fd = self->c.group;
	}
	pool_add(z, fd, z->nr, true, "group");
	pool_add(z, dup(fd), 0, true, "group dup");
	devfd_vfio = t->cdev[0] || device_fd_is_vfio_file();
	for (i = 0; i < NR_CDEV; i++) {
		fd = t->cdev[0] ? open(t->cdev, O_RDWR) :
			ioctl(self->c.group, VFIO_GROUP_GET_DEVICE_FD, t->name);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", t->cdev[0] ? t->cdev : t->name,
					strerror(errno));
		pool_add(z, fd, z->nr, devfd_vfio,
			 t->cdev[0] ? "cdev" : "device fd");
	}
	pool_add(z, dup(z->fds[2].fd), 2, devfd_vfio,
		 t->cdev[0] ? "cdev dup" : "device fd dup");
	pool_add(z, eventfd(0, 0), z->nr, false, "eventfd");
	ASSERT_EQ(0, pipe(p));
	pool_add(z, p[0], z->nr, false, "pipe");
	pool_add(z, p[1], z->nr, false, "pipe");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	pool_add(z, s[0], z->nr, false, "socket");
	pool_add(z, open("/dev/null", O_RDWR), z->nr, false, "/dev/null");
	pool_add(z, open("/dev/vfio/vfio", O_RDWR), z->nr, false, "container");
	pool_add(z, self->kvm_fd, z->nr, false, "kvm");
	pool_add(z, self->vm_fd, z->nr, false, "vm");
	pool_add(z, self->dev_fd, z->nr, false, "kvm-vfio device");
	pool_add(z, 1000, -1, false, "closed");
	pool_add(z, -1, -1, false, "-1");
	pool_add(z, INT_MAX, -1, false, "INT_MAX");
	for (i = 0; i < z->nr; i++)
		ASSERT_TRUE(z->fds[i].file < 0 || z->fds[i].fd >= 0)
			TH_LOG("opening %s", z->fds[i].kind);

	self->rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->none = mmap(NULL, 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rw);
	ASSERT_NE(MAP_FAILED, self->ro);
	ASSERT_NE(MAP_FAILED, self->none);
	z->rng = env_ul("KVM_VFIO_SEED", 0x6b766d76)  | 1;
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_attrs, 600)
{
	static const __u32 groups[] = { 0, KVM_DEV_VFIO_FILE, 2, 3, ~0U };
	static const __u64 attrs[] = { 0, KVM_DEV_VFIO_FILE_ADD,
		KVM_DEV_VFIO_FILE_DEL, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, 4,
		1ULL << 32 | 1, ~0ULL };
	static const unsigned long reqs[] = { KVM_SET_DEVICE_ATTR,
		KVM_HAS_DEVICE_ATTR, KVM_GET_DEVICE_ATTR };
	unsigned long n = env_ul("KVM_VFIO_FUZZ_CALLS", 100000), i;
	struct fuzz *z = &self->z;
	struct timespec t0, t1;
	double secs;
	int e;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		uint64_t r = rnd(z), r2 = rnd(z), r3 = rnd(z);
		bool steer = r3 % 4 != 0;
		unsigned long req = steer ? KVM_SET_DEVICE_ATTR : reqs[r % 3];
		struct kvm_device_attr a = {
			.flags = r2 & 1 ? (__u32)(r2 >> 32) : 0,
			.group = groups[(r >> 2) % ARRAY_SIZE(groups)],
			.attr = attrs[(r >> 5) % ARRAY_SIZE(attrs)],
		};
		int slot = (r >> 8) % z->nr, want, got, kind = (r >> 16) % 8;
		bool readable = true, track, untrack, bad_arg = false;
		__s32 fd = z->fds[slot].fd;
		char *buf;

		if (steer) {	/* a request the file code handles */
			a.group = KVM_DEV_VFIO_FILE;
			a.attr = r3 & 4 ? KVM_DEV_VFIO_FILE_ADD :
					  KVM_DEV_VFIO_FILE_DEL;
		} else if (r2 & 2) {	/* sometimes a random attr altogether */
			a.attr = r2 >> 8;
		}
		switch (kind) {
		case 0:		/* NULL */
			a.addr = 0;
			readable = false;
			break;
		case 1:		/* unmapped */
			a.addr = (__u64)(unsigned long)self->none;
			readable = false;
			break;
		case 2:		/* a kernel address */
			a.addr = 0xffffffff81000000ULL;
			readable = false;
			break;
		case 3:		/* unaligned */
			buf = self->rw + 1 + (r >> 24) % 7;
			memcpy(buf, &fd, sizeof(fd));
			a.addr = (__u64)(unsigned long)buf;
			break;
		case 4:		/* read-only page */
			mprotect(self->ro, 4096, PROT_READ | PROT_WRITE);
			memcpy(self->ro, &fd, sizeof(fd));
			mprotect(self->ro, 4096, PROT_READ);
			a.addr = (__u64)(unsigned long)self->ro;
			break;
		case 5:		/* the attr struct itself is unreadable */
			bad_arg = true;
			break;
		default:	/* aligned, writable */
			memcpy(self->rw, &fd, sizeof(fd));
			a.addr = (__u64)(unsigned long)self->rw;
			break;
		}
		if (bad_arg && req != KVM_GET_DEVICE_ATTR) {
			want = -EFAULT;
			track = false;
			untrack = false;
		} else {
			want = expect(z, req, a.group, a.attr, readable, slot,
				      &track, &untrack);
		}
		got = ioctl(self->dev_fd, req, bad_arg ? (void *)self->none :
			    (void *)&a) ? -errno : 0;
		ASSERT_EQ(want, got)
			TH_LOG("call %lu: req %lx group %u attr %llx addr kind %d fd %d (%s)",
			       i, req, a.group, (unsigned long long)a.attr,
			       kind, fd, z->fds[slot].kind);
		if (track)
			z->tracked[z->fds[slot].file] = true;
		if (untrack)
			z->tracked[z->fds[slot].file] = false;
		e = -got;
		z->errs[e < 256 ? e : 0]++;
		if (!bad_arg && req == KVM_SET_DEVICE_ATTR &&
		    a.group == KVM_DEV_VFIO_FILE &&
		    (a.attr == KVM_DEV_VFIO_FILE_ADD ||
		     a.attr == KVM_DEV_VFIO_FILE_DEL))
			z->reached++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# kvm-vfio-figures: fuzz calls=%lu reached=%lu seed=%#lx seconds=%.1f",
	       n, z->reached, env_ul("KVM_VFIO_SEED", 0x6b766d76), secs);
	printf(" ok=%lu EPERM=%lu ENXIO=%lu EFAULT=%lu", z->errs[0],
	       z->errs[EPERM], z->errs[ENXIO], z->errs[EFAULT]);
	printf(" EBADF=%lu EINVAL=%lu EEXIST=%lu ENOENT=%lu\n", z->errs[EBADF],
	       z->errs[EINVAL], z->errs[EEXIST], z->errs[ENOENT]);
}

TEST_HARNESS_MAIN
