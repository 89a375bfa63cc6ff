// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc reports: frees that cannot be honoured.
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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched/task_stack.h>
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

	atomic_long_inc(&mag_bad_frees);
	atomic_long_inc(&bad_frees_of[why]);
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
 * mag_bad_free_count() - bad frees of one kind reported since load
 * @why: the kind
 *
 * Return: the count.
 */
unsigned long mag_bad_free_count(enum mag_bad_free why)
{
	return atomic_long_read(&bad_frees_of[why]);
}
