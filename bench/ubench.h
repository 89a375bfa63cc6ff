/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userspace halves of `make bench` (ubench.c, peers.c, shm.cc)
 * share: a clock and a compiler barrier.
 */
#ifndef _MAGALLOC_UBENCH_H
#define _MAGALLOC_UBENCH_H

#include <time.h>

/* Keep the compiler from dropping an allocation whose result is unused. */
static inline void keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* CLOCK_MONOTONIC in ns (under qemu -icount, guest instructions). */
static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif /* _MAGALLOC_UBENCH_H */
