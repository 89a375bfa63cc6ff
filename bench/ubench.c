// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc_ubench: the userspace half of `make bench`, run in the same
 * guest as magbench.ko.  Per object of 64 bytes, timed with
 * CLOCK_MONOTONIC (under qemu -icount the guest clock counts
 * instructions, user and kernel alike):
 *
 *   single  MAGALLOC_IOC_ALLOC + MAGALLOC_IOC_FREE, one object per call
 *   bulk    MAGALLOC_IOC_ALLOC_BULK + _FREE_BULK, 64 objects per call
 *   lib     libmagalloc mag_malloc() + mag_free()
 *   glibc   malloc() + free()
 *
 * The heap is in a steady state, as a program's heap is: two objects of
 * the class stay allocated throughout, one in each of the two spans the
 * loops use, so no loop empties a span (which would unmap and free its
 * pages, and make the next allocation build a span again).
 *
 * Prints "magbench: user <kind> 64 <ns per object>" lines for
 * scripts/benchtab.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/magalloc.h>
#include "magalloc.h"
#include "ubench.h"

#define SIZE	64
#define BATCH	64

static int single(int fd, unsigned int n)
{
	struct magalloc_alloc a = { .size = SIZE };
	struct magalloc_free f = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (ioctl(fd, MAGALLOC_IOC_ALLOC, &a))
			return -1;
		f.offset = a.offset;
		if (ioctl(fd, MAGALLOC_IOC_FREE, &f))
			return -1;
	}
	return 0;
}

static int bulk(int fd, unsigned int n)
{
	__u64 offs[BATCH];
	struct magalloc_bulk b = {
		.offsets = (uintptr_t)offs, .count = BATCH,
	};
	unsigned int i;

	for (i = 0; i < n / BATCH; i++) {
		b.size = SIZE;
		if (ioctl(fd, MAGALLOC_IOC_ALLOC_BULK, &b) || b.done != BATCH)
			return -1;
		b.size = 0;
		if (ioctl(fd, MAGALLOC_IOC_FREE_BULK, &b))
			return -1;
	}
	return 0;
}

static int lib(struct mag_heap *h, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *p = mag_malloc(h, SIZE);

		if (!p)
			return -1;
		keep(p);
		mag_free(h, p);
	}
	return 0;
}

static int libc(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *p = malloc(SIZE);

		if (!p)
			return -1;
		keep(p);
		free(p);
	}
	return 0;
}

enum kind { SINGLE, BULK, LIB, GLIBC };
static const char * const names[] = { "single", "bulk", "lib", "glibc" };

static int run(enum kind k, int fd, struct mag_heap *h, unsigned int n)
{
	switch (k) {
	case SINGLE:
		return single(fd, n);
	case BULK:
		return bulk(fd, n);
	case LIB:
		return lib(h, n);
	default:
		return libc(n);
	}
}

/* One object at the start of each of the first two spans of the class. */
static int pin(int fd)
{
	__u64 offs[BATCH + 1];
	struct magalloc_bulk b = {
		.size = SIZE, .offsets = (uintptr_t)offs, .count = BATCH + 1,
	};

	if (ioctl(fd, MAGALLOC_IOC_ALLOC_BULK, &b) || b.done != BATCH + 1)
		return -1;
	/* keep offs[0] and offs[BATCH], free the rest */
	b.offsets = (uintptr_t)&offs[1];
	b.count = BATCH - 1;
	b.size = 0;
	return ioctl(fd, MAGALLOC_IOC_FREE_BULK, &b);
}

int main(void)
{
	unsigned int counts[] = { 16384, 65536, 262144, 262144 };
	struct mag_heap *h = mag_open();
	int fd = open("/dev/magalloc", O_RDWR | O_CLOEXEC);
	enum kind k;

	if (!h || fd < 0 || pin(fd)) {
		printf("magbench: user error setup %d\n", errno);
		return 1;
	}
	for (k = SINGLE; k <= GLIBC; k++) {
		unsigned long long t;

		/* warm up: spans, magazines and page tables in place */
		if (run(k, fd, h, counts[k] / 8)) {
			printf("magbench: user %s %d fail\n", names[k], SIZE);
			continue;
		}
		t = now_ns();
		if (run(k, fd, h, counts[k])) {
			printf("magbench: user %s %d fail\n", names[k], SIZE);
			continue;
		}
		t = now_ns() - t;
		printf("magbench: user %s %d %.1f\n", names[k], SIZE, (double)t / counts[k]);
	}
	mag_close(h);
	close(fd);
	return 0;
}
