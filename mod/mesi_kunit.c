// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: false sharing, shown two ways.
 *
 * 1. Layout: every per-CPU structure is cache-line aligned and padded, and
 *    no line holds data that two CPUs write.
 * 2. A MESI model: with mag_trace_key on, the fast and exchange paths
 *    record each (CPU, cache line, read/write) they touch.  The trace is
 *    replayed through a MESI state machine per line, which counts the
 *    writes that invalidate a copy held by another CPU.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/vmalloc.h>

#include "internal.h"

DEFINE_STATIC_KEY_FALSE(mag_trace_key);

struct mag_trace_rec {
	unsigned long line;
	u16 cpu;
	u8 write;
};

#define MAG_TRACE_MAX	(1 << 18)
static struct mag_trace_rec *mag_trace_buf;
static atomic_t mag_trace_len;

void mag_trace_access(const volatile void *addr, bool write)
{
	int i = atomic_inc_return(&mag_trace_len) - 1;

	if (i < MAG_TRACE_MAX && mag_trace_buf) {
		mag_trace_buf[i].line = (unsigned long)addr / SMP_CACHE_BYTES;
		mag_trace_buf[i].cpu = raw_smp_processor_id();
		mag_trace_buf[i].write = write;
	}
}
