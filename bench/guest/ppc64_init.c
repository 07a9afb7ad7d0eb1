// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the ppc64 (pseries) test guest: a static program, as there is
 * no busybox for ppc64le here.  It mounts what the tests need, binds every
 * PCI device that has no driver (the e1000 QEMU gives it) to vfio-pci,
 * loads kvm-vfio.ko on the module-mode kernel (there is no modprobe to do
 * it on demand), runs the programs of /tests/plan (bench/suites) as the
 * x86 /init's runner does, scans kmemleak, prints the kernel's taint and
 * lockdep's state, and powers off.  The host decides the verdict from the
 * console: a guest that dies or hangs never prints "done".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>

#define KVM_VFIO_KO "/lib/modules/kvm-vfio.ko"

static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		printf("init: writing %s to %s: %s\n", val, path,
		       strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Every PCI device without a driver goes to vfio-pci. */
static void bind_vfio_pci(void)
{
	char p[512], link[512];
	struct dirent *de;
	ssize_t n;
	DIR *d;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver",
			 de->d_name);
		if (!access(p, F_OK))
			continue;
		snprintf(p, sizeof(p),
			 "/sys/bus/pci/devices/%s/driver_override", de->d_name);
		put(p, "vfio-pci");
		put("/sys/bus/pci/drivers_probe", de->d_name);
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group",
			 de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		printf("fixtures: %s on vfio-pci, group /dev/vfio/%s\n",
		       de->d_name, n > 0 ? strrchr(link, '/') + 1 : "(none)");
	}
	closedir(d);
}

/* The guest's uptime, for the timing table: "at <seconds>". */
static const char *up(void)
{
	static char buf[32];
	FILE *f = fopen("/proc/uptime", "r");

	if (!f || fscanf(f, "%31s", buf) != 1)
		snprintf(buf, sizeof(buf), "?");
	if (f)
		fclose(f);
	return buf;
}

/* The run id from the kernel command line (kvmvfio.runid=), echoed so
 * that the host accepts only a log of its own run.
 */
static void echo_run_id(void)
{
	char cmdline[4096], *p, *e;
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n = f ? fread(cmdline, 1, sizeof(cmdline) - 1, f) : 0;

	if (f)
		fclose(f);
	cmdline[n] = 0;
	p = strstr(cmdline, "kvmvfio.runid=");
	if (p) {
		p += strlen("kvmvfio.runid=");
		e = p + strcspn(p, "\n ");
		*e = 0;
	}
	printf("# kvm-vfio-guest: run id %s\n", p ? p : "none");
}

/* The module-mode kernel: kvm-vfio.ko, as DKMS built it. */
static void load_kvm_vfio(void)
{
	int fd = open(KVM_VFIO_KO, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (syscall(SYS_finit_module, fd, "", 0))
		printf("# kvm-vfio-guest: loading %s failed: %s\n",
		       KVM_VFIO_KO, strerror(errno));
	else
		printf("init: loaded %s\n", KVM_VFIO_KO);
	close(fd);
}

/*
 * Run one program of the plan between the markers, with its timeout: a
 * result of the runner's KTAP document (see bench/guest/init, which does
 * the same on x86 and arm64).  WORDS: [VAR=VALUE...] COMMAND [ARG...],
 * COMMAND relative to /tests.
 */
static void run_prog(int n, const char *name, int secs, char *words)
{
	char *argv[32], path[512];
	int argc = 0, st = 0, waited = 0, timed_out = 0, i;
	char *w, *save = NULL;
	pid_t pid, r;

	for (w = strtok_r(words, " \t\n", &save); w && argc < 31;
	     w = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	for (i = 0; i < argc && strchr(argv[i], '=') && argv[i][0] >= 'A' &&
	     argv[i][0] <= 'Z'; i++)
		;
	if (i == argc) {
		printf("not ok %d %s # SKIP no command in /tests/plan\n", n,
		       name);
		return;
	}
	snprintf(path, sizeof(path), "/tests/%s", argv[i]);
	printf("# kvm-vfio-guest: running %s at %s timeout %d\n", name, up(),
	       secs);
	fflush(stdout);
	if (access(path, X_OK)) {
		printf("# kvm-vfio-guest: %s is not in the image\n", path);
		printf("# kvm-vfio-guest: %s exited 127 at %s\n", name, up());
		printf("not ok %d %s # SKIP not in the image: %s\n", n, name,
		       path);
		return;
	}
	pid = fork();
	if (!pid) {
		int k, fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			dup2(fd, 0);
		/* A group of its own: the timeout ends its children too. */
		setpgid(0, 0);
		for (k = 0; k < i; k++)
			putenv(argv[k]);
		execv(path, argv + i);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* also here: no race with the child */
	st = 127 << 8;
	while (pid > 0) {
		r = waitpid(pid, &st, secs ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0) {
			st = 127 << 8;
			break;
		}
		sleep(1);
		if (++waited == secs) {
			timed_out = 1;
			kill(-pid, SIGTERM);
		} else if (timed_out && waited == secs + 10) {
			kill(-pid, SIGKILL);
		}
	}
	/* What the program left in its group (a child that ignored TERM). */
	if (pid > 0)
		kill(-pid, SIGKILL);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("# kvm-vfio-guest: %s exited %d at %s\n", name, st, up());
	if (timed_out)
		printf("not ok %d %s # TIMEOUT after %d s\n", n, name, secs);
	else if (st)
		printf("not ok %d %s # exit status %d\n", n, name, st);
	else
		printf("ok %d %s\n", n, name);
	fflush(stdout);
}

/*
 * The plan, packed by initramfs.sh from bench/suites: a line per program,
 * STAGE TIMEOUT SUITE [VAR=VALUE...] COMMAND...  pseries has one stage.
 */
static void run_tests(void)
{
	char line[1024], stage[32], name[128];
	int n = 0, secs, off, k = 0;
	FILE *f = fopen("/tests/plan", "r");

	if (!f) {
		printf("# kvm-vfio-guest: no /tests/plan\n");
		return;
	}
	while (fgets(line, sizeof(line), f))
		n += line[0] != '\n';
	printf("KTAP version 1\n1..%d\n", n);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\n')
			continue;
		if (sscanf(line, "%31s %d %127s %n", stage, &secs, name,
			   &off) != 3) {
			printf("not ok %d (plan line) # SKIP unreadable: %s", ++k,
			       line);
			continue;
		}
		run_prog(++k, name, secs, line + off);
	}
	fclose(f);
}

/* The first line of PATH, without its newline, or "unavailable". */
static const char *first_line(const char *path, char *buf, int len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, len, f))
		snprintf(buf, len, "unavailable");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/*
 * One kmemleak record, on one line: the device's, KUnit's (the mm that
 * kunit_vm_mmap() attaches to a test thread, which kmemleak can find
 * unreferenced once the thread has exited; see bench/guest/init), or
 * another's.
 */
static void leak_line(const char *rec, int *leaks)
{
	/* Our functions in the backtrace ("kvm_vfio_" is in comm too). */
	int k = strstr(rec, "kunit_vm_mmap_init") ? 2 :
		strstr(rec, "| kvm_vfio_") ||
		strstr(rec, "| kvm_ioctl_create_device+") ? 0 : 1;
	static const char * const what[] = { "kvm-vfio", "elsewhere", "kunit" };

	leaks[k]++;
	printf("# kmemleak: %s: %s\n", what[k], rec);
}

/*
 * Leaks, as the x86 and arm64 guests report them: two scans 6 s apart,
 * then every record kmemleak holds, one line each, and the figure line.
 * The host fails the run on any record; a kernel without kmemleak says
 * so, and the host fails a kernel that should have it.
 */
static void kmemleak_check(void)
{
	const char *k = "/sys/kernel/debug/kmemleak";
	char line[512], rec[1024] = "";
	int leaks[3] = { 0, 0, 0 }, fd;
	FILE *f;

	fd = open(k, O_WRONLY);
	if (fd < 0) {
		printf("# kmemleak: not available\n");
		return;
	}
	if (write(fd, "scan", 4) != 4) {
		printf("# kmemleak: the scan failed (kmemleak disabled at run time?)\n");
		close(fd);
		return;
	}
	sleep(6);
	if (write(fd, "scan", 4) != 4) {
		close(fd);
		return;
	}
	close(fd);
	f = fopen(k, "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "unreferenced object ", 20)) {
			if (rec[0])
				leak_line(rec, leaks);
			snprintf(rec, sizeof(rec), "%s", line + 20);
		} else if (strlen(rec) + strlen(line) + 4 < sizeof(rec)) {
			strcat(rec, " | ");
			strcat(rec, line + strspn(line, " "));
		}
	}
	if (rec[0])
		leak_line(rec, leaks);
	if (f)
		fclose(f);
	printf("# kvm-vfio-figures: kmemleak ours=%d elsewhere=%d kunit=%d\n",
	       leaks[0], leaks[1], leaks[2]);
}

/* The kernel's own verdict, last: its taint and lockdep's state. */
static void kernel_verdict(void)
{
	char buf[256], *p = NULL;
	FILE *f;

	printf("# kvm-vfio-guest: tainted %s\n",
	       first_line("/proc/sys/kernel/tainted", buf, sizeof(buf)));
	f = fopen("/proc/lockdep_stats", "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		p = strstr(buf, "debug_locks:");
		if (p) {
			p += strlen("debug_locks:");
			p += strspn(p, " ");
			p[strcspn(p, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	printf("# kvm-vfio-guest: debug_locks %s\n", p ? p : "unavailable");
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	echo_run_id();
	bind_vfio_pci();
	load_kvm_vfio();
	run_tests();
	kmemleak_check();
	kernel_verdict();
	printf("# kvm-vfio-guest: end at %s\n", up());
	printf("# kvm-vfio-guest: done\n");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
