// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's tracepoints (trace.h), and how they cost the fast paths
 * nothing.
 *
 * A tracepoint in mag_alloc()'s or mag_free()'s fast path would cost a
 * patched jump on every operation even when disabled, and the inline fast
 * paths of magalloc.h would carry one into every consumer.  Instead, while
 * magalloc_alloc or magalloc_free is enabled, magalloc runs in **bypass**
 * mode: every CPU's magazines are drained to the sentinel and the slow
 * paths install none (mag_pool_nocache(), behind the same patched jump as
 * debug mode's test: the key is held by either), so that every allocation and every
 * free misses its fast path and reaches a slow path, which serves it from
 * the central lists and fires the event.  Tracing is then slower (a central
 * lock per operation) but complete, and a kernel that never traces runs
 * exactly the code it ran before.  Enabling the event drains until no CPU
 * caches an object (as debug mode's switch does), so the events cover
 * every operation from then on.
 *
 * The call site is the first return address on the stack outside this
 * module: a consumer's call of mag_alloc(), or of the slow path its
 * inline fast path fell to.  Its cost (an unwind) is paid only when the
 * event is on.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/stacktrace.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

bool mag_bypass_on;

static DEFINE_MUTEX(bypass_mutex);
static unsigned int bypass_users;
static bool bypass_key_held;

/**
 * mag_set_bypass() - enter or leave bypass mode (see above)
 * @on: enter (counted: each call with true needs one with false)
 *
 * Context: process context, may sleep.
 */
void mag_set_bypass(bool on)
{
	mutex_lock(&bypass_mutex);
	if (on && !bypass_users++) {
		WRITE_ONCE(mag_bypass_on, true);
		mag_debug_key_hold(&bypass_key_held, true);
		if (!mag_drain_until_uncached(NULL))
			pr_warn("magalloc: tracing: a CPU still caches objects\n");
	} else if (!on && bypass_users && !--bypass_users) {
		mag_debug_key_hold(&bypass_key_held, false);
		WRITE_ONCE(mag_bypass_on, false);
	}
	mutex_unlock(&bypass_mutex);
}

/* TRACE_EVENT_FN's: the first of the two events on enters bypass mode. */
int mag_trace_reg(void)
{
	mag_set_bypass(true);
	return 0;
}

void mag_trace_unreg(void)
{
	mag_set_bypass(false);
}

/* The first return address outside this module: the consumer's call. */
static unsigned long call_site(void)
{
	unsigned long entries[12];
	unsigned int n, i;

	n = stack_trace_save(entries, ARRAY_SIZE(entries), 1);
	for (i = 0; i < n; i++)
		if (!within_module(entries[i], THIS_MODULE))
			return entries[i];
	return n ? entries[n - 1] : 0;
}

/**
 * __mag_trace_alloc() - fire magalloc_alloc, if it is on
 * @obj: the object, or NULL
 * @bytes_req: what the caller asked for
 * @bytes_alloc: what it got (the class size, or whole pages)
 * @gfp: the caller's flags
 * @node: the node asked for, or NUMA_NO_NODE
 */
void __mag_trace_alloc(const void *obj, size_t bytes_req, size_t bytes_alloc, gfp_t gfp,
		       int node)
{
	if (trace_magalloc_alloc_enabled())
		trace_magalloc_alloc(call_site(), obj, bytes_req, obj ? bytes_alloc : 0, gfp,
				     node);
}

/**
 * __mag_trace_free() - fire magalloc_free, if it is on
 * @obj: the pointer freed
 */
void __mag_trace_free(const void *obj)
{
	if (trace_magalloc_free_enabled())
		trace_magalloc_free(call_site(), obj);
}
