/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracefs for the kvm_vfio tests: write a control file, read the trace,
 * count events.  kprobe events on KVM's own functions are the oracle that
 * works the same on the stock kernel and ours.  Note: removing a kprobe
 * event clears the trace buffer, so read before removing.
 */
#ifndef SELFTEST_KVM_VFIO_TRACEFS_H
#define SELFTEST_KVM_VFIO_TRACEFS_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACEFS		"/sys/kernel/tracing"

static inline int tracefs_write(const char *file, const char *val, bool append)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* The trace buffer as one string (malloc'd), NULL on error. */
static inline char *trace_read(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = open(TRACEFS "/trace", O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				break;
			buf = nb;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* Lines of the trace that contain @event and end with @tail. */
static inline int trace_count(const char *event, const char *tail)
{
	char *buf = trace_read(), *line, *save = NULL;
	size_t tl = strlen(tail);
	int n = 0;

	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t ll = strlen(line);

		if (strstr(line, event) && ll >= tl &&
		    !strcmp(line + ll - tl, tail))
			n++;
	}
	free(buf);
	return n;
}

/*
 * modprobe runs, counted with the module:module_request event, which the
 * kernel emits each time it is about to run modprobe (CONFIG_MODULES).
 * Start: the event on and the trace empty; 0 or -errno.
 */
static inline int modprobe_runs_start(void)
{
	int ret = tracefs_write("events/module/module_request/enable", "1",
				false);

	if (!ret)
		ret = tracefs_write("tracing_on", "1", false);
	return ret ? ret : tracefs_write("trace", "", false);
}

/* The event off, for a teardown after a case stopped midway. */
static inline void modprobe_runs_stop(void)
{
	tracefs_write("events/module/module_request/enable", "0", false);
}

/*
 * The runs since the start for module names beginning with @prefix, or -1;
 * the event off.
 */
static inline int modprobe_runs(const char *prefix)
{
	char *buf = trace_read(), *p, pat[128];
	int n = 0;

	modprobe_runs_stop();
	if (!buf)
		return -1;
	snprintf(pat, sizeof(pat), "module_request: %s", prefix);
	for (p = buf; (p = strstr(p, pat)); p += strlen(pat))
		n++;
	free(buf);
	return n;
}

#endif /* SELFTEST_KVM_VFIO_TRACEFS_H */
