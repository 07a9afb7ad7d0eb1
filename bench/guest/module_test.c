// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vfio_module_test: kvm-vfio.ko in a kernel that leaves the built-in
 * KVM-VFIO device out (CONFIG_KVM_VFIO_EXTERNAL) and builds VFIO as
 * modules.  The module is installed where modprobe finds it
 * ($KVM_VFIO_KO, by default the DKMS path), so KVM_CREATE_DEVICE loads it
 * through its alias.  Two phases, chosen with the harness's fixture
 * filter:
 *
 *   -f early   before vfio.ko is loaded
 *   -f loaded  with vfio.ko and the mtty mdev present
 *
 * Each case leaves kvm-vfio.ko unloaded and installed.  The race cases
 * print "# kvm-vfio-figures: module-race ..." lines with their outcomes,
 * the cycles "# kvm-vfio-figures: module-cycles ..." with their times.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"
#include "kvm_vfio_tracefs.h"

static bool vfio_loaded(void)
{
	return !access("/sys/module/vfio", F_OK);
}

/* vfio.ko's reference count, or -1. */
static int vfio_refcnt(void)
{
	return module_refcnt_of("vfio");
}

/*
 * Uninstall the module (move it aside, so modprobe cannot find it), or
 * install it again.  The guest's root is in memory: nothing is lost.
 */
static int module_hide(bool hide)
{
	char aside[256];

	snprintf(aside, sizeof(aside), "%s.aside", module_path());
	if (hide)
		return rename(module_path(), aside) ? -errno : 0;
	return rename(aside, module_path()) ? -errno : 0;
}

/* Unload, retrying while another thread still holds a device. */
static int module_unload_wait(void)
{
	int i, ret = 0;

	for (i = 0; i < 1000 && module_loaded(); i++) {
		ret = module_unload();
		if (!ret || ret == -ENOENT)
			return 0;
		usleep(1000);
	}
	return module_loaded() ? ret : 0;
}

/*
 * Teardown of both phases: leave the module installed and unloaded for
 * the next case.
 */
static void unload_if_loaded(void)
{
	module_hide(false);
	module_unload_wait();
}

/*
 * A step of several cases: a device is created (loading the module if
 * need be) and closed, and the module unloads.
 */
static void create_close_unload(struct __test_metadata *_metadata, int vm_fd)
{
	int dev = create_vfio_dev(vm_fd, 0);

	ASSERT_LE(0, dev);
	close(dev);
	ASSERT_EQ(0, module_unload());
}

FIXTURE(early) {
	int kvm_fd, vm_fd;
};

/* Setup of both phases: kvm-vfio.ko not loaded yet, and one VM. */
static void vm_open(struct __test_metadata *_metadata, int *kvm_fd,
		    int *vm_fd)
{
	if (access(module_path(), F_OK))
		SKIP(return, "no %s: not the module-mode kernel", module_path());
	unload_if_loaded();
	ASSERT_FALSE(module_loaded()) TH_LOG("%s stays loaded", MODULE_NAME);
	*kvm_fd = open("/dev/kvm", O_RDWR);
	ASSERT_LE(0, *kvm_fd);
	*vm_fd = ioctl(*kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, *vm_fd);
}

FIXTURE_SETUP(early)
{
	vm_open(_metadata, &self->kvm_fd, &self->vm_fd);
	if (_metadata->exit_code)
		return;
	ASSERT_FALSE(vfio_loaded()) TH_LOG("vfio.ko is loaded already");
}

FIXTURE_TEARDOWN(early)
{
	modprobe_runs_stop();
	unload_if_loaded();
}

/* The first KVM_CREATE_DEVICE loads the module by its alias. */
TEST_F(early, autoload_on_create)
{
	int dev;

	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev) TH_LOG("KVM did not load %s", module_path());
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(1, module_refcnt());
	close(dev);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
	/* And again, after an unload. */
	create_close_unload(_metadata, self->vm_fd);
}

/*
 * The module KVM loads is the one DKMS built and installed: the image
 * names its srcversion ($KVM_VFIO_KO_SRCVERSION, from the host's modinfo).
 */
TEST_F(early, loads_the_dkms_module)
{
	const char *want = getenv("KVM_VFIO_KO_SRCVERSION");
	char got[64] = "";
	FILE *f;
	int dev;

	if (!want || !*want)
		SKIP(return, "no $KVM_VFIO_KO_SRCVERSION: the image names no DKMS module");
	ASSERT_NE(NULL, strstr(module_path(), "/updates/dkms/"))
		TH_LOG("%s is not where DKMS installs", module_path());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	f = fopen("/sys/module/" MODULE_NAME "/srcversion", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%63s", got));
	fclose(f);
	printf("# kvm-vfio-figures: dkms-module %s srcversion %s\n",
	       module_path(), got);
	ASSERT_STREQ(want, got);
	close(dev);
	ASSERT_EQ(0, module_unload());
}

/* KVM_CREATE_DEVICE_TEST loads it too, and keeps no reference. */
TEST_F(early, autoload_on_create_test)
{
	ASSERT_EQ(0, create_vfio_dev(self->vm_fd, KVM_CREATE_DEVICE_TEST));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
}

/*
 * KVM runs modprobe only for a type this kernel leaves to a module.
 * Probing a type no kernel has (0) or one this kernel lacks (the GICv2,
 * which QEMU probes for on arm64, and the arm64 PV time device) fails at
 * once with ENODEV and runs it 0 times; the VFIO type, not loaded yet,
 * runs it once.
 */
TEST_F(early, modprobe_only_for_module_types)
{
	static const __u32 absent[] = {
		0, KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_PV_TIME,
	};
	unsigned int i;

	if (modprobe_runs_start())
		SKIP(return, "no module:module_request trace event (%s)",
		     "CONFIG_MODULES, CONFIG_FTRACE");
	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		EXPECT_EQ(-ENODEV, create_dev(self->vm_fd, absent[i],
					      KVM_CREATE_DEVICE_TEST));
		EXPECT_EQ(-ENODEV, create_dev(self->vm_fd, absent[i], 0));
	}
	ASSERT_EQ(0, modprobe_runs("kvm-device-type-"))
		TH_LOG("KVM ran modprobe for a type no module provides");
	ASSERT_EQ(0, modprobe_runs_start());
	ASSERT_EQ(0, create_vfio_dev(self->vm_fd, KVM_CREATE_DEVICE_TEST));
	ASSERT_EQ(1, modprobe_runs("kvm-device-type-4 "));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, module_unload());
}

/* ENODEV remains only when the module is not installed. */
TEST_F(early, enodev_when_not_installed)
{
	ASSERT_EQ(0, module_hide(true));
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd,
					   KVM_CREATE_DEVICE_TEST));
	ASSERT_FALSE(module_loaded());
	ASSERT_EQ(0, module_hide(false));
	create_close_unload(_metadata, self->vm_fd);
	/* Loaded by hand, without the alias, it serves as well. */
	ASSERT_EQ(0, module_load());
	create_close_unload(_metadata, self->vm_fd);
}

/* F3: the module loads without vfio.ko; ADD is then EINVAL. */
TEST_F(early, loads_without_vfio)
{
	int dev, efd = eventfd(0, 0);

	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	ASSERT_TRUE(module_loaded());
	ASSERT_FALSE(vfio_loaded());
	ASSERT_EQ(-EINVAL, file_op(dev, KVM_DEV_VFIO_FILE_ADD, efd));
	ASSERT_EQ(-ENOENT, file_op(dev, KVM_DEV_VFIO_FILE_DEL, efd));
	ASSERT_EQ(-EBADF, file_op(dev, KVM_DEV_VFIO_FILE_ADD, -1));
	ASSERT_FALSE(vfio_loaded()) TH_LOG("the device pulled in vfio.ko");
	close(dev);
	ASSERT_EQ(0, module_unload());
}

FIXTURE(loaded) {
	int kvm_fd, vm_fd;
	const char *group;
};

FIXTURE_SETUP(loaded)
{
	vm_open(_metadata, &self->kvm_fd, &self->vm_fd);
	if (_metadata->exit_code)
		return;
	self->group = group_path();
	if (!self->group)
		SKIP(return, "no mtty mdev ($MTTY_UUID)");
	ASSERT_TRUE(vfio_loaded());
}

FIXTURE_TEARDOWN(loaded)
{
	unload_if_loaded();
}

/* After vfio.ko arrives the same module works with real files. */
TEST_F(loaded, works_after_vfio)
{
	int dev, g;

	ASSERT_EQ(0, module_load());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(-EEXIST, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	close(g);
	close(dev);
	ASSERT_EQ(0, module_unload());
}

/* rmmod under a live device fails "in use"; the device keeps working. */
TEST_F(loaded, unload_in_use)
{
	int dev, g, r;

	ASSERT_EQ(0, module_load());
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));

	/* KVM pins the module once per device: delete_module refuses. */
	ASSERT_EQ(1, module_refcnt());
	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	/* What a user sees (busybox rmmod, then the reference count): */
	fflush(stdout);
	r = system("rmmod " MODULE_NAME " 2>&1 | sed 's/^/# /'; "
		   "echo \"# in use: refcnt $(cat /sys/module/" MODULE_NAME
		   "/refcnt)\"");
	ASSERT_TRUE(module_loaded());
	(void)r;

	/* The device still works, also with its VM fd closed. */
	close(self->vm_fd);
	self->vm_fd = -1;
	ASSERT_EQ(-EEXIST, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	close(g);
	ASSERT_EQ(-EWOULDBLOCK, module_unload());

	close(dev);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
	ASSERT_FALSE(module_loaded());
	/* The device dropped the group: it can be opened again. */
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	close(g);
}

/*
 * The device pins vfio.ko while it tracks a file (it resolves VFIO's entry
 * points with symbol_get()), and gives every reference back when it tracks
 * nothing again: after DEL of its last file, and when it is closed with
 * files tracked.
 */
TEST_F(loaded, vfio_references_given_back)
{
	int dev, g, with_file;

	ASSERT_EQ(0, module_load());
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	with_file = vfio_refcnt();
	ASSERT_LT(0, with_file) TH_LOG("no /sys/module/vfio/refcnt");

	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	ASSERT_LT(with_file, vfio_refcnt());
	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	ASSERT_EQ(with_file, vfio_refcnt());
	/* A DEL that finds nothing takes and gives back its own. */
	ASSERT_EQ(-ENOENT, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
	ASSERT_EQ(with_file, vfio_refcnt());

	ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
	close(dev);
	ASSERT_EQ(with_file, vfio_refcnt());
	close(g);
	ASSERT_EQ(0, module_unload());
}

/* Two VMs with a device each: two references, dropped one by one. */
TEST_F(loaded, one_reference_per_device)
{
	int vm2, dev, dev2;

	ASSERT_EQ(0, module_load());
	vm2 = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);
	dev = create_vfio_dev(self->vm_fd, 0);
	ASSERT_LE(0, dev);
	dev2 = create_vfio_dev(vm2, 0);
	ASSERT_LE(0, dev2);
	ASSERT_EQ(2, module_refcnt());
	/* EBUSY for the second device in a VM takes no reference. */
	ASSERT_EQ(-EBUSY, create_vfio_dev(vm2, 0));
	ASSERT_EQ(2, module_refcnt());
	close(vm2);
	ASSERT_EQ(2, module_refcnt());
	close(dev2);
	ASSERT_EQ(1, module_refcnt());
	close(dev);
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
}

/* A count from the environment (the guest's kernel command line). */
static int env_count(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : dflt;
}

struct rmmod_loop {
	atomic_bool stop;
	atomic_bool hold;	/* no rmmod while set */
	atomic_int unloads;
};

/*
 * rmmod every 1-50 ms (a fixed seed): often enough to hit creates while
 * the module loads or goes away, seldom enough that some find it loaded.
 */
static void *rmmod_loop(void *arg)
{
	struct rmmod_loop *r = arg;
	unsigned int seed = 1;

	while (!atomic_load(&r->stop)) {
		if (!atomic_load(&r->hold) && !module_unload())
			atomic_fetch_add(&r->unloads, 1);
		usleep(1000 + rand_r(&seed) % 49000);
	}
	return NULL;
}

/*
 * KVM_CREATE_DEVICE against rmmod in a loop: each create either succeeds,
 * with the module pinned until its fd closes, or fails with ENODEV (the
 * module was going away).  Leaks are kmemleak's to find.  Which side wins
 * a round is the scheduler's choice (on a busy 2-core host rmmod can win
 * every one), so both outcomes are made to happen: while no create has
 * won, every tenth holds rmmod off, and while rmmod has not won the loop
 * goes on (up to 10n rounds).
 */
TEST_F_TIMEOUT(loaded, create_races_rmmod, 600)
{
	int i, n = env_count("KVM_VFIO_MODULE_RACES", 300);
	int ok = 0, enodev = 0, other = 0, held = 0, dev, g;
	struct rmmod_loop r = { .unloads = 0 };
	unsigned int seed = 2;
	pthread_t t;

	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, pthread_create(&t, NULL, rmmod_loop, &r));
	for (i = 0; i < n || ((!ok || !atomic_load(&r.unloads)) && i < 10 * n);
	     i++) {
		atomic_store(&r.hold, !ok && i % 10 == 9);
		held += atomic_load(&r.hold);
		/* A gap without a device, for rmmod to hit. */
		usleep(rand_r(&seed) % 2000);
		dev = create_vfio_dev(self->vm_fd, 0);
		atomic_store(&r.hold, false);
		if (dev == -ENODEV) {
			enodev++;
			continue;
		}
		if (dev < 0) {
			other++;
			TH_LOG("create %d: %s", i, strerror(-dev));
			continue;
		}
		ok++;
		/* The rmmod loop cannot take it away now. */
		EXPECT_TRUE(module_loaded());
		EXPECT_LE(1, module_refcnt());
		EXPECT_EQ(0, file_add(dev, g));
		EXPECT_EQ(-EWOULDBLOCK, module_unload());
		EXPECT_EQ(0, file_del(dev, g));
		close(dev);
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	close(g);
	printf("# kvm-vfio-figures: module-race create-vs-rmmod iterations %d", i);
	printf(" ok %d enodev %d other %d unloads %d held %d\n",
	       ok, enodev, other, atomic_load(&r.unloads), held);
	ASSERT_EQ(0, other);
	ASSERT_LT(0, ok);
	ASSERT_LT(0, atomic_load(&r.unloads)) TH_LOG("rmmod never won");
	ASSERT_EQ(0, module_unload_wait());
	/* Nothing kept a reference: the group opens again. */
	g = open(self->group, O_RDWR);
	ASSERT_LE(0, g);
	close(g);
}

struct racer {
	pthread_barrier_t *start;
	int vm_fd;
	int ret;
};

static void *create_after_barrier(void *arg)
{
	struct racer *c = arg;

	pthread_barrier_wait(c->start);
	c->ret = create_vfio_dev(c->vm_fd, 0);
	return NULL;
}

/*
 * Two VMs create their device at once while the module is not loaded:
 * one create's autoload races the other's.  Both must succeed.
 */
TEST_F_TIMEOUT(loaded, autoload_races_create, 600)
{
	int i, k, n = env_count("KVM_VFIO_MODULE_RACES", 300) / 6;
	int ok = 0, enodev = 0, other = 0;
	struct racer c[2];
	pthread_barrier_t start;
	pthread_t t[2];

	c[0].vm_fd = self->vm_fd;
	c[1].vm_fd = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, c[1].vm_fd);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 2));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, module_unload_wait());
		ASSERT_FALSE(module_loaded());
		for (k = 0; k < 2; k++) {
			c[k].start = &start;
			ASSERT_EQ(0, pthread_create(&t[k], NULL,
						    create_after_barrier, &c[k]));
		}
		for (k = 0; k < 2; k++) {
			pthread_join(t[k], NULL);
			if (c[k].ret >= 0) {
				ok++;
				close(c[k].ret);
			} else if (c[k].ret == -ENODEV) {
				enodev++;
			} else {
				other++;
			}
			if (c[k].ret < 0)
				TH_LOG("round %d, VM %d: %s", i, k,
				       strerror(-c[k].ret));
		}
	}
	pthread_barrier_destroy(&start);
	close(c[1].vm_fd);
	printf("# kvm-vfio-figures: module-race autoload-vs-create rounds %d", n);
	printf(" ok %d enodev %d other %d\n", ok, enodev, other);
	ASSERT_EQ(2 * n, ok);
	ASSERT_EQ(0, module_unload_wait());
}

/* VMs without a kvm-vfio device do not pin the module. */
TEST_F(loaded, unload_with_vms_without_device)
{
	int vm[3], i, dev;

	for (i = 0; i < 3; i++) {
		vm[i] = ioctl(self->kvm_fd, KVM_CREATE_VM, 0);
		ASSERT_LE(0, vm[i]);
	}
	ASSERT_EQ(0, create_vfio_dev(vm[0], KVM_CREATE_DEVICE_TEST));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, module_refcnt());
	ASSERT_EQ(0, module_unload());
	ASSERT_FALSE(module_loaded());
	/* Those VMs get their device later: loaded again. */
	dev = create_vfio_dev(vm[1], 0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(1, module_refcnt());
	for (i = 0; i < 3; i++)
		close(vm[i]);
	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	close(dev);
	ASSERT_EQ(0, module_unload());
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * $KVM_VFIO_MODULE_CYCLES (1000 by default) cycles of load, device create,
 * ADD/DEL/ADD of a real file, close and unload, in one VM.  Every tenth
 * load is KVM's autoload (through modprobe, the costly part under TCG),
 * the others finit_module().  Prints where the time went.
 */
TEST_F_TIMEOUT(loaded, load_unload_cycles, 1200)
{
	int i, dev, g, n = env_count("KVM_VFIO_MODULE_CYCLES", 1000);
	double t0 = now(), t, load = 0, unload = 0;
	int autoloads = 0;

	for (i = 0; i < n; i++) {
		t = now();
		if (i % 10) {
			ASSERT_EQ(0, module_load()) TH_LOG("cycle %d", i);
		} else {
			ASSERT_FALSE(module_loaded());
			autoloads++;
		}
		dev = create_vfio_dev(self->vm_fd, 0);
		ASSERT_LE(0, dev) TH_LOG("cycle %d", i);
		load += now() - t;
		g = open(self->group, O_RDWR);
		ASSERT_LE(0, g) TH_LOG("cycle %d: group still held", i);
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_DEL, g));
		ASSERT_EQ(0, file_op(dev, KVM_DEV_VFIO_FILE_ADD, g));
		close(g);
		close(dev);
		t = now();
		ASSERT_EQ(0, module_unload()) TH_LOG("cycle %d", i);
		unload += now() - t;
	}
	printf("# kvm-vfio-figures: module-cycles %d autoloads %d seconds %.1f",
	       n, autoloads, now() - t0);
	printf(" load+create %.1f unload %.1f\n", load, unload);
	ASSERT_EQ(0, module_hide(true));
	ASSERT_EQ(-ENODEV, create_vfio_dev(self->vm_fd, 0));
}

TEST_HARNESS_MAIN
