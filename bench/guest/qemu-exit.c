// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-exit N: end the test guest with status N through QEMU's
 * isa-debug-exit device (iobase 0x501); QEMU then exits with 2N+1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;

	if (ioperm(0x501, 1, 1)) {
		perror("qemu-exit: ioperm(0x501)");
		return 1;
	}
	outb(code, 0x501);
	fprintf(stderr, "qemu-exit: isa-debug-exit did not stop the guest\n");
	return 1;
}
