// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-exit N: end the test guest.  x86_64: with status N through QEMU's
 * isa-debug-exit device (iobase 0x501); QEMU then exits with 2N+1.
 * Elsewhere (arm64 virt): a power-off, after which QEMU exits with 0
 * whatever N is; the host tells a finished guest by its "done" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/reboot.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;

#if defined(__x86_64__)
	if (ioperm(0x501, 1, 1)) {
		perror("qemu-exit: ioperm(0x501)");
		return 1;
	}
	outb(code, 0x501);
	fprintf(stderr, "qemu-exit: isa-debug-exit did not stop the guest\n");
#else
	fprintf(stderr, "qemu-exit: status %d, powering off\n", code);
	sync();
	reboot(RB_POWER_OFF);
	perror("qemu-exit: reboot(RB_POWER_OFF)");
#endif
	return 1;
}
