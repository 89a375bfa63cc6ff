// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc under generic KASAN (built only with CONFIG_KASAN_GENERIC).
 *
 * magalloc's objects live in arenas from the page allocator, which KASAN
 * sees as plain pages; this file gives them the shadow states SLUB's
 * objects have, so that the kernel's own reports catch a consumer's bugs:
 *
 *  - free: every free object (in a magazine, a depot, a span, the
 *    quarantine) is poisoned KASAN_SLAB_FREE: an access is reported as a
 *    slab-use-after-free.  Spans are poisoned when they are made (after
 *    the constructor) and unpoisoned when their pages go back to the heap,
 *    whose free-block links live in those pages.
 *  - allocated: exactly the requested size is accessible; the rest of the
 *    class (or of a large object's pages) is a KASAN_SLAB_REDZONE: an
 *    access is a slab-out-of-bounds.
 *  - quarantine: mag_free() poisons the object and parks it in a FIFO of
 *    MAG_QUARANTINE objects before it goes back to its pool, so a freed
 *    object is not handed out again at once and a use-after-free is caught
 *    even where the magazine would reuse the slot next (KASAN's own
 *    quarantine does this for SLUB).  Drains, the shrinker, cache
 *    destruction and unload empty it.
 *  - double free: freeing an object whose shadow says free is a checked
 *    read of it (KASAN reports it as a use-after-free in mag_free()), and
 *    magalloc's own report (report.c) says it was a double free.
 *  - naming magalloc: KASAN describes an address outside slab pages by its
 *    page; a probe on the error_report_end tracepoint adds, inside the
 *    report, which magalloc object and pool the bad address is in.
 *
 * The inline fast paths of magalloc.h go to the exported functions in such
 * a kernel (they would zero and hand out objects the shadow says are free),
 * and the zeroing magalloc does itself ignores the shadow (__memset()).
 * None of this exists in a kernel without KASAN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kasan.h>
#include <linux/spinlock.h>
#include <trace/events/error_report.h>

#include "compat.h"
#include "internal.h"

/* What mm/kasan/kasan.h calls these (generic mode); internal there. */
#define MAG_KASAN_FREE		0xFB	/* KASAN_SLAB_FREE */
#define MAG_KASAN_REDZONE	0xFC	/* KASAN_SLAB_REDZONE */
#define KASAN_GRANULE_SIZE	BIT(KASAN_SHADOW_SCALE_SHIFT)
#define KASAN_GRANULE_MASK	(KASAN_GRANULE_SIZE - 1)

/* Objects held back from reuse, oldest first out. */
#define MAG_QUARANTINE	1024

static struct {
	raw_spinlock_t lock;
	unsigned int head, count;
	void *objs[MAG_QUARANTINE];
} quarantine = { .lock = __RAW_SPIN_LOCK_UNLOCKED(quarantine.lock) };

/* Off: a freed object goes back to its pool at once (poisoned still). */
static bool quarantine_on = true;

static atomic_long_t kasan_reports;
static const void *last_report;
/* every KASAN report, whoever's memory (kmalloc's too, for comparison) */
static atomic_long_t any_reports;
static const void *last_any;

static u8 __no_sanitize_address shadow_of(const void *p)
{
	return *(u8 *)kasan_mem_to_shadow(p);
}

/* Accessible: [p, p + size); the rest of [p, p + room) a redzone. */
static void __no_sanitize_address unpoison(void *p, size_t size, size_t room)
{
	size_t whole = round_down(size, KASAN_GRANULE_SIZE);

	room = round_up(room, KASAN_GRANULE_SIZE);
	kasan_poison(p, room, MAG_KASAN_REDZONE, false);
	kasan_poison(p, whole, 0, false);
	if (size > whole)
		*(u8 *)kasan_mem_to_shadow(p + whole) = size - whole;
}

static size_t object_size(const void *ptr, bool *large);

/**
 * mag_kasan_alloc() - an object handed out: its requested size accessible
 * @obj: the object
 * @size: bytes requested
 */
void mag_kasan_alloc(void *obj, size_t size)
{
	bool large;
	size_t room = (unsigned long)obj & (MAG_ARENA_SIZE - 1) ?
		      object_size(obj, &large) : mag_huge_size(obj);

	if (room >= size && !((unsigned long)obj & KASAN_GRANULE_MASK))
		unpoison(obj, size, room);
}
EXPORT_SYMBOL_GPL(mag_kasan_alloc);

/**
 * mag_kasan_poison_free() - mark objects free (a new span's)
 * @p: the first
 * @size: bytes, a multiple of the granule
 */
void mag_kasan_poison_free(void *p, size_t size)
{
	kasan_poison(p, round_down(size, KASAN_GRANULE_SIZE), MAG_KASAN_FREE, false);
}

/**
 * mag_kasan_unpoison() - make pages accessible again (back to the heap)
 * @p: the first byte
 * @size: bytes
 */
void mag_kasan_unpoison(void *p, size_t size)
{
	kasan_poison(p, round_up(size, KASAN_GRANULE_SIZE), 0, false);
}

/* The object's size, if @ptr starts one: 0 for anything else. */
static size_t object_size(const void *ptr, bool *large)
{
	struct mag_span *s;
	size_t size = 0;

	rcu_read_lock();
	s = mag_span_of(ptr);
	if (s && s->state == MAG_SPAN_LARGE && ptr == s->base) {
		size = (size_t)s->npages << PAGE_SHIFT;
		*large = true;
	} else if (s && s->state != MAG_SPAN_LARGE && mag_object_of(s, ptr) == ptr) {
		size = s->pool->size;
		*large = false;
	}
	rcu_read_unlock();
	return size;
}

/**
 * mag_kasan_freed() - what mag_free() tells the tools of a freed object
 * @ptr: the object
 * @size: its class size, or a large object's pages
 *
 * For callers that give an object straight to its central (tests).
 */
void mag_kasan_freed(const void *ptr, size_t size)
{
	kmemleak_free(ptr);
	kasan_poison(ptr, round_up(size, KASAN_GRANULE_SIZE), MAG_KASAN_FREE, false);
}

/* Back to its pool, for real: large objects' pages hold heap links. */
static void release(void *obj)
{
	bool large;
	size_t size = object_size(obj, &large);

	if (size && large)
		mag_kasan_unpoison(obj, size);
	mag_free_unchecked(obj);
}

/**
 * mag_kasan_free() - mag_free()'s entry under KASAN
 * @ptr: what the caller frees
 *
 * A small or large object is poisoned and quarantined (the oldest one
 * goes back to its pool); one that is free already is reported.
 *
 * Return: true if done with @ptr, false for what mag_free() handles as
 * without KASAN (NULL, huge objects, and pointers it reports).
 */
bool mag_kasan_free(const void *ptr)
{
	unsigned long flags;
	void *old = NULL;
	size_t size;
	bool large;

	if (ZERO_OR_NULL_PTR(ptr) || (long)ptr >= 0)
		return false;
	if (!((unsigned long)ptr & (MAG_ARENA_SIZE - 1))) {
		/* a huge object: the page allocator's KASAN takes it */
		if (mag_huge_size(ptr))
			kmemleak_free(ptr);
		return false;
	}
	size = object_size(ptr, &large);
	if (!size)
		return false;
	if (shadow_of(ptr) == MAG_KASAN_FREE) {
		mag_report_bad_free(ptr, MAG_BAD_DOUBLE, NULL);
		/* KASAN's report: a read of a freed object, in mag_free() */
		kasan_check_read(ptr, 1);
		return true;
	}
	mag_kasan_freed(ptr, size);
	if (!READ_ONCE(quarantine_on)) {
		release((void *)ptr);
		return true;
	}
	raw_spin_lock_irqsave(&quarantine.lock, flags);
	if (quarantine.count == MAG_QUARANTINE)
		old = quarantine.objs[quarantine.head];
	else
		quarantine.count++;
	quarantine.objs[quarantine.head] = (void *)ptr;
	quarantine.head = (quarantine.head + 1) % MAG_QUARANTINE;
	raw_spin_unlock_irqrestore(&quarantine.lock, flags);
	if (old)
		release(old);
	return true;
}

/**
 * mag_kasan_quarantine() - switch the quarantine
 * @on: hold freed objects back; off, empty it and free at once
 *
 * For the KUnit suites that look into magazines and spans (all but
 * magalloc_kasan): objects stay poisoned while free either way.
 */
void mag_kasan_quarantine(bool on)
{
	WRITE_ONCE(quarantine_on, on);
	if (!on)
		mag_kasan_flush();
}

/**
 * mag_kasan_quarantined() - whether the quarantine holds @p in any slot
 * @p: an address
 *
 * For the KUnit suite: a slot it left must not keep the pointer.
 *
 * Return: true if some slot, used or not, holds @p.
 */
bool mag_kasan_quarantined(const void *p)
{
	unsigned long flags;
	bool found = false;
	int i;

	raw_spin_lock_irqsave(&quarantine.lock, flags);
	for (i = 0; i < MAG_QUARANTINE; i++)
		found |= quarantine.objs[i] == p;
	raw_spin_unlock_irqrestore(&quarantine.lock, flags);
	return found;
}

/**
 * mag_kasan_flush() - give every quarantined object back to its pool
 */
void mag_kasan_flush(void)
{
	unsigned long flags;
	void *obj;

	for (;;) {
		raw_spin_lock_irqsave(&quarantine.lock, flags);
		obj = NULL;
		if (quarantine.count) {
			unsigned int tail = (quarantine.head + MAG_QUARANTINE -
					     quarantine.count) % MAG_QUARANTINE;

			obj = quarantine.objs[tail];
			/*
			 * Forgotten: the slot is module data, which kmemleak
			 * scans, and the object may be allocated again; a
			 * stale copy hid that object's leak.
			 */
			quarantine.objs[tail] = NULL;
			quarantine.count--;
		}
		raw_spin_unlock_irqrestore(&quarantine.lock, flags);
		if (!obj)
			break;
		release(obj);
	}
}

/*
 * Inside a KASAN report (its lock held, its checks off): if the bad
 * address is in an arena, say which object and pool, and whether the
 * object is allocated.
 */
static void report_probe(void *data, enum error_detector detector, unsigned long id)
{
	const void *addr = (const void *)id, *obj;
	struct mag_span *s;

	if (detector != ERROR_DETECTOR_KASAN)
		return;
	WRITE_ONCE(last_any, addr);
	atomic_long_inc(&any_reports);
	rcu_read_lock();
	s = mag_span_of(addr);
	obj = s && s->state != MAG_SPAN_LARGE ? mag_object_of(s, addr) : NULL;
	if (obj) {
		pr_err("the bad address is in magalloc object %p of pool %s (%u bytes), at offset %lu; the object is %s\n",
		       obj, s->pool->name, s->pool->size, (unsigned long)(addr - obj),
		       shadow_of(obj) == MAG_KASAN_FREE ? "free" : "allocated");
	} else if (s && s->state != MAG_SPAN_LARGE) {
		pr_err("the bad address is in a red zone or the metadata of a debug-mode slot of pool %s\n",
		       s->pool->name);
	} else if (s) {
		pr_err("the bad address is in magalloc large object %p (%u pages), at offset %lu\n",
		       s->base, s->npages, (unsigned long)(addr - s->base));
	}
	rcu_read_unlock();
	if (s) {
		WRITE_ONCE(last_report, addr);
		atomic_long_inc(&kasan_reports);
	}
}

/**
 * mag_kasan_reports() - KASAN reports that named a magalloc object
 * @last: where to store the last bad address, or NULL
 *
 * Return: their count since load.
 */
unsigned long mag_kasan_reports(const void **last)
{
	if (last)
		*last = READ_ONCE(last_report);
	return atomic_long_read(&kasan_reports);
}

/**
 * mag_kasan_all_reports() - every KASAN report since load, on any memory
 * @last: where to store the last bad address, or NULL
 *
 * Return: the count.
 */
unsigned long mag_kasan_all_reports(const void **last)
{
	if (last)
		*last = READ_ONCE(last_any);
	return atomic_long_read(&any_reports);
}

int mag_kasan_init(void)
{
	return register_trace_error_report_end(report_probe, NULL);
}

void mag_kasan_exit(void)
{
	mag_kasan_flush();
	unregister_trace_error_report_end(report_probe, NULL);
	tracepoint_synchronize_unregister();
}
