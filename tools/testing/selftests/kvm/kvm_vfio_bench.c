// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_bench: the cost of the KVM-VFIO device's calls as the number of
 * tracked files grows.
 *
 *   kvm_vfio_bench [-r REPS] [-n N,N,...] [-m noncoherent|coherent|both]
 *
 * floor     KVM_HAS_DEVICE_ATTR on the device: the ioctl round trip that
 *           every call pays, with nothing to do
 * add, del  with N files already tracked, FILE_ADD (then an untimed DEL)
 *           and FILE_DEL (after an untimed ADD) of one more file
 * pair      with N files tracked, FILE_ADD + FILE_DEL of one more file
 * teardown  closing a second device that tracks the same N files, per file
 *
 * Each figure is the median and the 99th percentile of REPS timed calls
 * (CLOCK_MONOTONIC), in ns.  The files are device cdevs opened N times:
 * the mtty mdev (not coherent) and QEMU's edu device on vfio-pci behind
 * an IOMMU with snoop control (coherent).  One line per figure set,
 * "# kvm-vfio-bench: key=value ...", which bench/perf.py reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "kvm_vfio_util.h"

#define MAX_SIZES	16

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Median and 99th percentile of @n samples (sorted in place). */
static void stats(long long *s, int n, long long *med, long long *p99)
{
	qsort(s, n, sizeof(*s), cmp_ll);
	*med = s[n / 2];
	*p99 = s[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

static void die(const char *what, int err)
{
	fprintf(stderr, "kvm_vfio_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

struct vmdev {
	int vm_fd, dev_fd;
};

static void vmdev_open(int kvm_fd, struct vmdev *v)
{
	v->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		die("KVM_CREATE_VM", errno);
	v->dev_fd = create_vfio_dev(v->vm_fd, 0);
	if (v->dev_fd < 0)
		die("KVM_CREATE_DEVICE", -v->dev_fd);
}

static void vmdev_close(struct vmdev *v)
{
	close(v->dev_fd);
	close(v->vm_fd);
}

static void must(int ret, const char *what)
{
	if (ret)
		die(what, -ret);
}

static void bench_floor(int dev_fd, int reps, long long *s)
{
	long long med, p99, t;
	int i, ret;

	for (i = 0; i < reps; i++) {
		t = now_ns();
		ret = dev_attr(dev_fd, KVM_HAS_DEVICE_ATTR, KVM_DEV_VFIO_FILE,
			       KVM_DEV_VFIO_FILE_ADD, NULL);
		s[i] = now_ns() - t;
		must(ret, "KVM_HAS_DEVICE_ATTR");
	}
	stats(s, reps, &med, &p99);
	printf("# kvm-vfio-bench: what=floor med=%lld p99=%lld reps=%d\n",
	       med, p99, reps);
}

/* Figures with @n files tracked by @dev_fd; @extra is one more file. */
static void bench_size(const char *mix, int kvm_fd, int dev_fd, int *fds,
		       int n, int extra, int reps, long long *s)
{
	long long add_med, add_p99, del_med, del_p99, pair_med, pair_p99;
	long long td, t;
	struct vmdev v2;
	int i;

	/* Warm-up, untimed: caches, and work left over from the last size. */
	for (i = 0; i < reps / 4 + 1; i++) {
		must(file_add(dev_fd, extra), "FILE_ADD");
		must(file_del(dev_fd, extra), "FILE_DEL");
	}
	for (i = 0; i < reps; i++) {
		t = now_ns();
		must(file_add(dev_fd, extra), "FILE_ADD");
		s[i] = now_ns() - t;
		must(file_del(dev_fd, extra), "FILE_DEL");
	}
	stats(s, reps, &add_med, &add_p99);
	for (i = 0; i < reps; i++) {
		must(file_add(dev_fd, extra), "FILE_ADD");
		t = now_ns();
		must(file_del(dev_fd, extra), "FILE_DEL");
		s[i] = now_ns() - t;
	}
	stats(s, reps, &del_med, &del_p99);
	for (i = 0; i < reps; i++) {
		t = now_ns();
		must(file_add(dev_fd, extra), "FILE_ADD");
		must(file_del(dev_fd, extra), "FILE_DEL");
		s[i] = now_ns() - t;
	}
	stats(s, reps, &pair_med, &pair_p99);

	/* Teardown: a second VM's device with the same n files, closed. */
	vmdev_open(kvm_fd, &v2);
	for (i = 0; i < n; i++)
		must(file_add(v2.dev_fd, fds[i]), "FILE_ADD (teardown)");
	t = now_ns();
	close(v2.dev_fd);
	td = now_ns() - t;
	close(v2.vm_fd);

	printf("# kvm-vfio-bench: what=size mix=%s n=%d reps=%d", mix, n, reps);
	printf(" add_med=%lld add_p99=%lld del_med=%lld del_p99=%lld",
	       add_med, add_p99, del_med, del_p99);
	printf(" pair_med=%lld pair_p99=%lld teardown_ns=%lld teardown_per_file=%lld\n",
	       pair_med, pair_p99, td, n ? td / n : 0);
	fflush(stdout);
}

static void bench_mix(const char *mix, const char *path, int kvm_fd,
		      const int *sizes, int nsizes, int reps, long long *s)
{
	int max = sizes[nsizes - 1], tracked = 0, extra, i, k;
	struct vmdev v;
	int *fds;

	if (!path) {
		printf("# kvm-vfio-bench: what=skip mix=%s reason=no-device\n", mix);
		return;
	}
	fds = calloc(max ? max : 1, sizeof(*fds));
	if (!fds)
		die("calloc", ENOMEM);
	vmdev_open(kvm_fd, &v);
	extra = open(path, O_RDWR);
	if (extra < 0)
		die(path, errno);
	for (k = 0; k < nsizes; k++) {
		for (; tracked < sizes[k]; tracked++) {
			fds[tracked] = open(path, O_RDWR);
			if (fds[tracked] < 0)
				die(path, errno);
			must(file_add(v.dev_fd, fds[tracked]), "FILE_ADD (fill)");
		}
		bench_size(mix, kvm_fd, v.dev_fd, fds, tracked, extra, reps, s);
	}
	vmdev_close(&v);
	for (i = 0; i < tracked; i++)
		close(fds[i]);
	close(extra);
	free(fds);
}

int main(int argc, char **argv)
{
	int sizes[MAX_SIZES] = { 0, 16, 256, 1024, 4096, 16384 };
	int nsizes = 6, reps = 500, opt, kvm_fd;
	const char *mix = "both";
	struct rlimit rl;
	struct vmdev v;
	long long *s;
	char *p;

	while ((opt = getopt(argc, argv, "r:n:m:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			nsizes = 0;
			for (p = strtok(optarg, ","); p && nsizes < MAX_SIZES;
			     p = strtok(NULL, ","))
				sizes[nsizes++] = atoi(p);
			break;
		case 'm':
			mix = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPS] [-n N,N,...] %s\n",
				argv[0], "[-m noncoherent|coherent|both]");
			return 2;
		}
	}
	if (reps < 1 || nsizes < 1) {
		fprintf(stderr, "kvm_vfio_bench: -r and -n need at least one\n");
		return 2;
	}
	/* Every file of the largest size, twice over, plus slack. */
	rl.rlim_cur = 2 * sizes[nsizes - 1] + 1024;
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit(RLIMIT_NOFILE)", errno);
	s = calloc(reps, sizeof(*s));
	kvm_fd = open("/dev/kvm", O_RDWR);
	if (!s || kvm_fd < 0)
		die("/dev/kvm", errno);

	vmdev_open(kvm_fd, &v);
	bench_floor(v.dev_fd, reps, s);
	vmdev_close(&v);
	if (strcmp(mix, "coherent"))
		bench_mix("noncoherent", cdev_path(), kvm_fd, sizes, nsizes,
			  reps, s);
	if (strcmp(mix, "noncoherent"))
		bench_mix("coherent", sysdev_cdev_path(edu_find()), kvm_fd,
			  sizes, nsizes, reps, s);
	printf("# kvm-vfio-bench: what=done\n");
	return 0;
}
