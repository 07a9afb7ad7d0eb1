// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vfio_trace_test: what the KVM-VFIO device tells KVM and the tracer.
 *
 * coherency: a VM is registered for non-coherent DMA exactly once when the
 * first non-coherent file arrives and unregistered exactly once when the
 * last one leaves, whatever the order of ADD, DEL and close.  The files
 * are the mtty mdev (not coherent: no IOMMU enforces snooping for it) and
 * QEMU's edu device on vfio-pci behind intel-iommu with snoop control
 * (coherent).  The oracle is a pair of kprobe events on
 * kvm_arch_register_noncoherent_dma() and kvm_arch_unregister_noncoherent_dma()
 * (the same on every kernel) and, where the kernel has them, the device's
 * own kvm_vfio:kvm_vfio_noncoherent events, which must agree.  Where
 * KVM does not track non-coherent DMA (arm64: the two are empty inlines),
 * there is no oracle and the coherency cases SKIP.
 *
 * events: the device's trace events (ours only; the stock kernel has none
 * and SKIPs) carry the fd, the kind of file and the result of each call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "kvm_vfio_util.h"
#include "kvm_vfio_tracefs.h"

#define OUR_EVENTS	TRACEFS "/events/kvm_vfio"
#define KP_GROUP	"kvm_vfio_test"
/* KVM's count of non-coherent DMA users, as kprobe events. */
#define KPROBE_REGISTER	"p:" KP_GROUP "/ncoh_register " \
			"kvm_arch_register_noncoherent_dma\n"
#define KPROBE_UNREGISTER "p:" KP_GROUP "/ncoh_unregister " \
			  "kvm_arch_unregister_noncoherent_dma\n"
#define NO_EVENTS	"feature absent: no kvm_vfio trace events in this kernel"
#define NO_ORACLE	"no oracle: KVM does not track non-coherent DMA on " \
			"this architecture (no kvm_arch_register_noncoherent_dma())"

/* Does the trace have a line with @event followed by @text? */
static bool trace_has(const char *event, const char *text)
{
	char *buf = trace_read(), *line, *save = NULL, *e;
	bool found = false;

	if (!buf)
		return false;
	for (line = strtok_r(buf, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		e = strstr(line, event);
		found = e && strstr(e, text);
	}
	free(buf);
	return found;
}

static bool have_our_events(void)
{
	return !access(OUR_EVENTS, F_OK);
}

/*
 * Is KVM's registration of non-coherent DMA a function of this kernel?
 * Only the architectures that track it (x86) have one; elsewhere it is an
 * empty inline, there is nothing to probe, and the coherency oracle does
 * not exist.
 */
static bool have_ncoh_hooks(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " kvm_arch_register_noncoherent_dma\n");
	fclose(f);
	return found;
}

/*
 * Start tracing from an empty buffer: the kprobes on KVM's registration
 * calls where they exist, the device's events where the kernel has them.
 */
static int trace_start(void)
{
	int ret = 0;

	tracefs_write("tracing_on", "0", false);
	tracefs_write("events/" KP_GROUP "/enable", "0", false);
	tracefs_write("kprobe_events", "", false);
	if (have_ncoh_hooks()) {
		ret = tracefs_write("kprobe_events", KPROBE_REGISTER, true);
		if (!ret)
			ret = tracefs_write("kprobe_events", KPROBE_UNREGISTER,
					    true);
		if (!ret)
			ret = tracefs_write("events/" KP_GROUP "/enable", "1",
					    false);
	}
	if (!ret && have_our_events())
		ret = tracefs_write("events/kvm_vfio/enable", "1", false);
	if (!ret)
		ret = tracefs_write("trace", "", false);
	if (!ret)
		ret = tracefs_write("tracing_on", "1", false);
	return ret;
}

static void trace_stop(void)
{
	tracefs_write("tracing_on", "0", false);
	tracefs_write("events/" KP_GROUP "/enable", "0", false);
	if (have_our_events())
		tracefs_write("events/kvm_vfio/enable", "0", false);
	tracefs_write("kprobe_events", "", false);
}

static int open_path(const char *path)
{
	return path ? open(path, O_RDWR) : -ENOENT;
}

/* ---- coherency ------------------------------------------------------- */

FIXTURE(coherency) {
	int kvm_fd, vm_fd, dev_fd;
	char mtty_cdev[300], mtty_group[300], edu_cdev[300], edu_group[300];
};

FIXTURE_SETUP(coherency)
{
	const char *edu = edu_find(), *p;

	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (_metadata->exit_code)
		return;
	if (!mdev_find())
		SKIP(return, NO_MTTY);
	if (!edu)
		SKIP(return, NO_EDU);
	if (access(TRACEFS "/kprobe_events", W_OK))
		SKIP(return, "no kprobe events (CONFIG_KPROBE_EVENTS) in " TRACEFS);
	if (!have_ncoh_hooks())
		SKIP(return, NO_ORACLE);
	p = cdev_path();
	ASSERT_NE(NULL, p);
	snprintf(self->mtty_cdev, sizeof(self->mtty_cdev), "%s", p);
	p = group_path();
	ASSERT_NE(NULL, p);
	snprintf(self->mtty_group, sizeof(self->mtty_group), "%s", p);
	p = sysdev_cdev_path(edu);
	ASSERT_NE(NULL, p);
	snprintf(self->edu_cdev, sizeof(self->edu_cdev), "%s", p);
	p = sysdev_group_path(edu);
	ASSERT_NE(NULL, p);
	snprintf(self->edu_group, sizeof(self->edu_group), "%s", p);
	ASSERT_EQ(0, trace_start());
}

FIXTURE_TEARDOWN(coherency)
{
	trace_stop();
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/*
 * So far: @reg registrations and @unreg unregistrations, by KVM's count
 * and, where it exists, by the device's own event.
 */
#define test_check_ncoh(reg, unreg) do {				\
		int _reg = (reg), _unreg = (unreg);			\
									\
		ASSERT_EQ(_reg, trace_count("ncoh_register:", ")"));	\
		ASSERT_EQ(_unreg, trace_count("ncoh_unregister:", ")")); \
		if (have_our_events()) {				\
			ASSERT_EQ(_reg, trace_count("kvm_vfio_noncoherent:", \
						    " register"));	\
			ASSERT_EQ(_unreg,				\
				  trace_count("kvm_vfio_noncoherent:",	\
					      " unregister"));		\
		}							\
	} while (0)
#define test_cmd_add(fd)	ASSERT_EQ(0, file_add(self->dev_fd, fd))
#define test_cmd_del(fd)	ASSERT_EQ(0, file_del(self->dev_fd, fd))
#define test_cmd_open(fd, path)	ASSERT_LE(0, fd = open_path(path))
#define test_cmd_close_dev()	do {					\
		ASSERT_EQ(0, close(self->dev_fd));			\
		self->dev_fd = -1;					\
	} while (0)

/* Device files: coherent first, then two non-coherent ones, DEL in turn. */
TEST_F(coherency, cdevs_register_and_unregister_once)
{
	int edu, m1, m2;

	test_cmd_open(edu, self->edu_cdev);
	test_cmd_open(m1, self->mtty_cdev);
	test_cmd_open(m2, self->mtty_cdev);
	test_cmd_add(edu);
	test_check_ncoh(0, 0);
	test_cmd_add(m1);
	test_check_ncoh(1, 0);
	test_cmd_add(m2);
	test_check_ncoh(1, 0);
	test_cmd_del(m1);
	test_check_ncoh(1, 0);
	test_cmd_del(m2);
	test_check_ncoh(1, 1);
	test_cmd_del(edu);
	test_check_ncoh(1, 1);
	close(edu);
	close(m1);
	close(m2);
}

/* Release of the device with non-coherent files: one unregistration. */
TEST_F(coherency, release_unregisters_once)
{
	int edu, m1, m2;

	test_cmd_open(edu, self->edu_cdev);
	test_cmd_open(m1, self->mtty_cdev);
	test_cmd_open(m2, self->mtty_cdev);
	test_cmd_add(m1);
	test_cmd_add(edu);
	test_cmd_add(m2);
	test_check_ncoh(1, 0);
	test_cmd_close_dev();
	test_check_ncoh(1, 1);
	close(edu);
	close(m1);
	close(m2);
}

/* The user closes its fd of a tracked file: the device still counts it. */
TEST_F(coherency, closed_fd_still_counts)
{
	int m1;

	test_cmd_open(m1, self->mtty_cdev);
	test_cmd_add(m1);
	close(m1);
	test_check_ncoh(1, 0);
	test_cmd_close_dev();
	test_check_ncoh(1, 1);
}

/* Group files: the same rule. */
TEST_F(coherency, groups_register_and_unregister_once)
{
	int edu, mtty;

	test_cmd_open(edu, self->edu_group);
	test_cmd_open(mtty, self->mtty_group);
	test_cmd_add(edu);
	test_check_ncoh(0, 0);
	test_cmd_add(mtty);
	test_check_ncoh(1, 0);
	test_cmd_del(edu);
	test_check_ncoh(1, 0);
	test_cmd_del(mtty);
	test_check_ncoh(1, 1);
	close(edu);
	close(mtty);
}

/* Groups and device files mixed, then again after the VM went coherent. */
TEST_F(coherency, mixed_kinds_pair_up)
{
	int group, m1, edu;

	test_cmd_open(group, self->mtty_group);
	test_cmd_open(m1, self->mtty_cdev);
	test_cmd_open(edu, self->edu_group);
	test_cmd_add(group);
	test_cmd_add(m1);
	test_cmd_add(edu);
	test_check_ncoh(1, 0);
	test_cmd_del(group);
	test_check_ncoh(1, 0);
	test_cmd_del(m1);
	test_check_ncoh(1, 1);
	test_cmd_add(m1);
	test_check_ncoh(2, 1);
	test_cmd_close_dev();
	test_check_ncoh(2, 2);
	close(group);
	close(m1);
	close(edu);
}

/* Only coherent files: the VM is never registered. */
TEST_F(coherency, coherent_only_never_registers)
{
	int cdev, group;

	test_cmd_open(cdev, self->edu_cdev);
	test_cmd_open(group, self->edu_group);
	test_cmd_add(cdev);
	test_cmd_add(group);
	test_cmd_del(cdev);
	test_cmd_close_dev();
	test_check_ncoh(0, 0);
	close(cdev);
	close(group);
}

/* ---- the device's own events ------------------------------------------ */

FIXTURE(events) {
	int kvm_fd, vm_fd, dev_fd;
};

FIXTURE_SETUP(events)
{
	vm_dev_open(_metadata, &self->kvm_fd, &self->vm_fd, &self->dev_fd);
	if (_metadata->exit_code)
		return;
	if (!have_our_events())
		SKIP(return, NO_EVENTS);
	if (!mdev_find())
		SKIP(return, NO_MTTY);
	ASSERT_EQ(0, trace_start());
}

FIXTURE_TEARDOWN(events)
{
	trace_stop();
	vm_dev_close(&self->kvm_fd, &self->vm_fd, &self->dev_fd);
}

/* The trace has @event with "fd <fd> kind <kind> ret <ret>". */
#define test_check_event(event, fd, kind, ret) do {			\
		const char *_ev = (event);				\
		char want[96];						\
									\
		snprintf(want, sizeof(want), " fd %d kind %s ret %d",	\
			 fd, kind, ret);				\
		ASSERT_TRUE(trace_has(_ev, want))			\
			TH_LOG("no '%s...%s' in the trace", _ev, want);	\
	} while (0)

/* A device file: ADD, ADD again, DEL, DEL again. */
TEST_F(events, device_file_add_del)
{
	int d = open_path(cdev_path());

	ASSERT_LE(0, d);
	ASSERT_EQ(0, file_add(self->dev_fd, d));
	ASSERT_EQ(-EEXIST, file_add(self->dev_fd, d));
	ASSERT_EQ(0, file_del(self->dev_fd, d));
	ASSERT_EQ(-ENOENT, file_del(self->dev_fd, d));
	test_check_event("kvm_vfio_file_add:", d, "device", 0);
	test_check_event("kvm_vfio_file_add:", d, "device", -EEXIST);
	test_check_event("kvm_vfio_file_del:", d, "device", 0);
	test_check_event("kvm_vfio_file_del:", d, "none", -ENOENT);
	close(d);
}

/* A group file, a file that is not VFIO's, an fd that is not open. */
TEST_F(events, group_and_bad_files)
{
	int g = open_path(group_path());
	int e = eventfd(0, 0);

	ASSERT_LE(0, g);
	ASSERT_LE(0, e);
	ASSERT_EQ(0, file_add(self->dev_fd, g));
	ASSERT_EQ(-EINVAL, file_add(self->dev_fd, e));
	ASSERT_EQ(-EBADF, file_add(self->dev_fd, 4321));
	ASSERT_EQ(-EBADF, file_del(self->dev_fd, -1));
	test_check_event("kvm_vfio_file_add:", g, "group", 0);
	test_check_event("kvm_vfio_file_add:", e, "none", -EINVAL);
	test_check_event("kvm_vfio_file_add:", 4321, "none", -EBADF);
	test_check_event("kvm_vfio_file_del:", -1, "none", -EBADF);
	close(e);
	close(g);
}

/* Release: one event with the number of files dropped. */
TEST_F(events, release_counts_files)
{
	int g = open_path(group_path());
	int d = open_path(cdev_path());

	ASSERT_LE(0, g);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, file_add(self->dev_fd, g));
	ASSERT_EQ(0, file_add(self->dev_fd, d));
	close(self->dev_fd);
	self->dev_fd = -1;
	ASSERT_EQ(1, trace_count("kvm_vfio_release:", " files 2"));
	ASSERT_EQ(1, trace_count("kvm_vfio_noncoherent:", " register"));
	ASSERT_EQ(1, trace_count("kvm_vfio_noncoherent:", " unregister"));
	close(d);
	close(g);
}

/*
 * Probing device types this kernel lacks (0, s390's FLIC, the Freescale
 * MPIC) fails with ENODEV and runs modprobe 0 times, whether the KVM-VFIO
 * device is built in or a module: KVM asks modprobe only for the types its
 * configuration leaves to a module.
 */
TEST(no_modprobe_for_absent_types)
{
	static const __u32 absent[] = {
		0, KVM_DEV_TYPE_FLIC, KVM_DEV_TYPE_FSL_MPIC_20,
	};
	int kvm_fd, vm_fd, ret;
	unsigned int i;

	if (modprobe_runs_start())
		SKIP(return, "no module:module_request trace event (CONFIG_MODULES)");
	kvm_fd = open("/dev/kvm", O_RDWR);
	vm_fd = kvm_fd < 0 ? -1 : ioctl(kvm_fd, KVM_CREATE_VM, 0);
	for (i = 0; vm_fd >= 0 && i < ARRAY_SIZE(absent); i++) {
		EXPECT_EQ(-ENODEV, create_dev(vm_fd, absent[i],
					      KVM_CREATE_DEVICE_TEST));
		EXPECT_EQ(-ENODEV, create_dev(vm_fd, absent[i], 0));
	}
	ret = modprobe_runs("kvm-device-type-");
	ASSERT_LE(0, vm_fd);
	ASSERT_EQ(0, ret) TH_LOG("KVM ran modprobe for a type it lacks");
	close(vm_fd);
	close(kvm_fd);
}

TEST_HARNESS_MAIN
