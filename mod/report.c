// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc reports: frees that cannot be honoured, and what debug mode
 * (debug.c) finds.
 *
 * Every path that finds a bad free (the free slow path's top-of-magazine
 * check, the central's bitmap check when objects go back to their spans,
 * the registry lookups of the exported functions) calls
 * mag_report_bad_free() and then leaves the memory alone: magalloc never
 * writes through a pointer it does not own, and an object freed twice is
 * not cached twice.  The first report of each kind says what the pointer
 * is (for a foreign one: an ERR_PTR, a user address, a stack, vmalloc,
 * module, KFENCE, slab or page-allocator address), where it came from (the
 * freeing call chain) and what was done; later ones of that kind are only
 * counted, as KASAN reports once unless kasan_multi_shot.  The counts are
 * in debugfs "stats" (bad_frees) and mag_bad_free_count().
 *
 * A report is a pr_err() and a call chain printed without a "Call Trace"
 * header: it is the consumer's bug, not the kernel's, so it is no WARN.
 *
 * Debug mode reports every violation it finds, in SLUB's form: a "BUG
 * <pool>: <what>" line, the bad bytes, the object's allocation and free
 * tracks, a hex dump of its slot, and what was done (the object is
 * isolated).  It does not taint the kernel (SLUB does), so lockdep stays
 * on for the rest of a test run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kasan.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/jiffies.h>
#include <linux/sched/task_stack.h>
#include <linux/stackdepot.h>
#include <linux/stacktrace.h>
#include <linux/vmalloc.h>

#include "internal.h"

atomic_long_t mag_bad_frees;
static atomic_long_t bad_frees_of[MAG_BAD_NR];
static unsigned long reported;

static const char *const why_text[MAG_BAD_NR] = {
	[MAG_BAD_FOREIGN]	= "not magalloc memory",
	[MAG_BAD_INTERIOR]	= "not the start of an object",
	[MAG_BAD_DOUBLE]	= "double free",
	[MAG_BAD_POOL]		= "an object of another pool or node",
};

/* What a pointer magalloc does not own points to, as far as can be told. */
static const char *foreign_kind(const void *p)
{
	unsigned long addr = (unsigned long)p;

	if (IS_ERR(p))
		return "an ERR_PTR";
	if ((long)addr >= 0)
		return "not a kernel address (NULL page or user space)";
	if (object_is_on_stack(p))
		return "on this task's stack";
#if defined(MODULES_VADDR) && defined(MODULES_END)
	if (addr >= MODULES_VADDR && addr < MODULES_END)
		return "module memory";
#endif
	if (is_vmalloc_addr(p))
		return "a vmalloc address";
	if (is_kfence_address(p))
		return "a KFENCE object (kmalloc)";
	if (!virt_addr_valid(p))
		return "no memory the kernel maps linearly";
	if (folio_test_slab(virt_to_folio(p)))
		return "a slab object (kmalloc or kmem_cache)";
	return "page allocator memory";
}

/**
 * mag_report_bad_free() - report a free that cannot be honoured
 * @obj: the pointer
 * @why: what is wrong with it
 * @pool: the pool it was found in, or NULL
 *
 * The caller drops the free: magalloc never writes through such a pointer.
 * Any context but NMI.
 */
void mag_report_bad_free(const void *obj, enum mag_bad_free why,
			 const struct mag_pool *pool)
{
	unsigned long entries[16];
	unsigned int nr;

	mag_count_bad_free(why);
	if (test_and_set_bit(why, &reported))
		return;
	if (why == MAG_BAD_FOREIGN)
		pr_err("bad free of %p: %s, %s; ignored (reported once)\n",
		       obj, why_text[why], foreign_kind(obj));
	else
		pr_err("bad free of %p: %s in pool %s; ignored (reported once)\n",
		       obj, why_text[why], pool ? pool->name : "?");
	nr = stack_trace_save(entries, ARRAY_SIZE(entries), 1);
	stack_trace_print(entries, nr, 1);
}

/**
 * mag_count_bad_free() - count a bad free reported otherwise
 * @why: the kind
 */
void mag_count_bad_free(enum mag_bad_free why)
{
	atomic_long_inc(&mag_bad_frees);
	atomic_long_inc(&bad_frees_of[why]);
}

/**
 * mag_bad_free_count() - bad frees of one kind reported since load
 * @why: the kind
 *
 * Return: the count.
 */
unsigned long mag_bad_free_count(enum mag_bad_free why)
{
	return atomic_long_read(&bad_frees_of[why]);
}

static atomic_long_t debug_bugs[MAG_DBG_NR];

static const char *const bad_text[MAG_DBG_NR] = {
	[MAG_DBG_LEFT_RED]	= "Left Redzone overwritten",
	[MAG_DBG_RIGHT_RED]	= "Right Redzone overwritten",
	[MAG_DBG_POISON]	= "Poison overwritten",
	[MAG_DBG_DOUBLE]	= "Object already free",
};

static void print_track(const char *what, const struct mag_track *t)
{
	if (!t->when) {
		pr_err("%s: never\n", what);
		return;
	}
	pr_err("%s by cpu %d pid %d, %u ms ago:\n", what, t->cpu, t->pid,
	       jiffies_to_msecs(jiffies - t->when));
	if (t->stack)
		stack_depot_print(t->stack);
	else
		pr_err(" (no call chain: the stack depot is unavailable)\n");
}

/*
 * Hex dump of at most @max bytes of [@from, @to), those around @near if
 * it is there, each line headed by its offset from the object.
 */
static void print_section(const char *text, const u8 *obj, const u8 *from,
			  const u8 *to, const u8 *near, long max)
{
	char line[16 * 4 + 8];
	const u8 *p;

	if (to - from > max) {
		if (near >= from && near < to)
			from = max(from, obj + round_down(near - obj, 16) - max / 2);
		to = min(to, from + max);
	}
	for (p = from; p < to; p += 16) {
		hex_dump_to_buffer(p, min_t(long, 16, to - p), 16, 1, line, sizeof(line), true);
		pr_err("%s %+6ld: %s\n", text, (long)(p - obj), line);
	}
}

/**
 * mag_report_debug() - report what debug mode found wrong with an object
 * @bug: what, where, and the object's tracks
 *
 * Any context but NMI; no lock held.  The object is isolated already
 * (or, for a double free, left as it was).
 */
void mag_report_debug(const struct mag_debug_bug *bug)
{
	const struct mag_pool *pool = bug->pool;
	const u8 *obj = bug->obj, *slot = bug->slot;
	const u8 *end = slot + pool->dbg_stride;
	const u8 *red = slot + sizeof(struct mag_debug_meta);
	unsigned long entries[16];
	unsigned int nr;

	atomic_long_inc(&debug_bugs[bug->bad]);
	/* the slot is poisoned under KASAN: only this report reads it */
	kasan_disable_current();
	pr_err("=============================================================================\n");
	pr_err("BUG %s: %s\n", pool->name, bad_text[bug->bad]);
	pr_err("-----------------------------------------------------------------------------\n");
	if (bug->first)
		pr_err("Bytes %+ld to %+ld of the object: first 0x%02x instead of 0x%02x\n",
		       (long)(bug->first - obj), (long)(bug->last - obj), *bug->first, bug->want);
	pr_err("Object %p of pool %s: %u bytes, %u asked for; its slot: %u bytes from %+ld\n",
	       obj, pool->name, pool->size, bug->meta.size, pool->dbg_stride, (long)(slot - obj));
	print_track("Allocated", &bug->meta.alloc);
	print_track("Freed", &bug->meta.free);
	print_section("Redzone", obj, red, obj, bug->first, 32);
	print_section("Object ", obj, obj, obj + pool->size, bug->first, 128);
	print_section("Redzone", obj, obj + pool->size, end, bug->first, 32);
	kasan_enable_current();
	if (bug->bad == MAG_DBG_DOUBLE)
		pr_err("The free is ignored.\n");
	else
		pr_err("Object isolated: it will not be handed out again.\n");
	nr = stack_trace_save(entries, ARRAY_SIZE(entries), 1);
	stack_trace_print(entries, nr, 1);
}

/**
 * mag_debug_count() - violations of one kind debug mode reported
 * @bad: the kind
 *
 * Return: the count since load.
 */
unsigned long mag_debug_count(enum mag_debug_bad bad)
{
	return atomic_long_read(&debug_bugs[bad]);
}
