/* SPDX-License-Identifier: GPL-2.0 */
/*
 * magalloc: the in-kernel API.
 *
 * Objects of up to MAG_MAX_SMALL (32 KiB) bytes come from per-CPU
 * magazines of size-classed objects; larger ones from magalloc's page heap
 * (exact page counts) or, beyond half an arena, from the kernel's page
 * allocator.  Every function declared here is exported with
 * EXPORT_SYMBOL_GPL by magalloc.ko; a consumer module depends on it
 * through its symbols.
 *
 * Context: mag_free(), mag_cache_free() and mag_free_bulk() may be called
 * from any context but NMI.  The allocation functions may be called from
 * any context but NMI when @gfp allows it (GFP_ATOMIC or GFP_NOWAIT from
 * interrupts); they sleep only if @gfp has __GFP_DIRECT_RECLAIM.
 *
 * Inline fast paths.  As kmalloc() resolves a constant size to its cache
 * at compile time, mag_alloc() of a constant size pops this CPU's
 * magazine for that class inline, and mag_free() pushes inline; whatever
 * the inline code cannot finish (an empty or full magazine, an
 * interrupted magazine user, a large object, a pool in debug mode) calls the
 * exported function of the same name, which does everything.  On x86-64
 * an inline mag_alloc() of 64 bytes takes about 185 bytes of code (its
 * zeroing stores for init_on_alloc included) where the call takes 15, and
 * an inline mag_free() about 130 where the call takes 8; a consumer that
 * prefers plain calls defines MAGALLOC_NO_INLINE before including this
 * header.  The second half of this header is what the
 * inline code needs to see of magalloc's internals: it is not an
 * interface, and consumers must be built against the magalloc.ko they
 * load with.
 */
#ifndef _MAGALLOC_H
#define _MAGALLOC_H

#include <linux/cache.h>
#include <linux/fault-inject.h>
#include <linux/gfp.h>
#include <linux/jump_label.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/string.h>
#include <linux/types.h>
#ifdef CONFIG_X86
#include <asm/asm.h>
#endif

#include "sizeclasses.h"

struct mag_cache;

void *mag_alloc(size_t size, gfp_t gfp);
void *mag_alloc_node(size_t size, gfp_t gfp, int node);
void mag_free(const void *ptr);
size_t mag_ksize(const void *ptr);
int mag_alloc_bulk(size_t size, gfp_t gfp, size_t nr, void **objs);
void mag_free_bulk(size_t nr, void **objs);

struct mag_cache *mag_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *));
void *mag_cache_alloc(struct mag_cache *cache, gfp_t gfp);
void mag_cache_free(struct mag_cache *cache, void *obj);
void mag_cache_destroy(struct mag_cache *cache);

/**
 * struct mag_usage - what magalloc holds, and how often it left its fast
 *	paths (mag_usage())
 * @pages: pages the node heaps hold from the page allocator (arenas, with
 *	their headers and free blocks, and loose blocks), plus those of live
 *	huge objects; not memory cgroups' heaps, and not the metadata that
 *	comes from kmalloc() (span descriptors, magazines)
 * @slow: slow-path entries, every pool and CPU
 * @central_locks: times an allocation or a free took a central list's lock
 * @free_pages: of @pages, those in the arenas' free buddy blocks
 * @span_free_bytes: bytes of the free objects in spans (not those parked
 *	in magazines)
 */
struct mag_usage {
	unsigned long pages;
	unsigned long slow;
	unsigned long central_locks;
	unsigned long free_pages;
	unsigned long span_free_bytes;
};

void mag_usage(struct mag_usage *u);

/* ---- Internals the inline fast paths need (not an interface) ---------- */

/*
 * Zone modifiers magalloc cannot honour (its arenas come from
 * ZONE_NORMAL): such requests get NULL, never memory of the wrong zone.
 */
#define MAG_GFP_REFUSED		(__GFP_DMA | __GFP_DMA32)
/*
 * What the inline and exported fast paths leave to the out-of-line code:
 * the refused zones, and __GFP_ACCOUNT (objects charged to a memory
 * cgroup live apart, outside the per-CPU magazines).  One test either way.
 */
#define MAG_GFP_DIVERT		(MAG_GFP_REFUSED | __GFP_ACCOUNT)

/*
 * Arenas: naturally aligned blocks of 2^MAG_ARENA_ORDER pages from the
 * kernel's page allocator.  The first MAG_HDR_PAGES pages hold the arena's
 * header (struct mag_arena), so the header of any object is found by
 * masking its address, and no object ever starts in an arena's first
 * pages: an arena-aligned pointer is a huge (page allocator) object.
 */
#define MAG_ARENA_ORDER		9
#define MAG_ARENA_PAGES		BIT(MAG_ARENA_ORDER)
#define MAG_ARENA_SIZE		(PAGE_SIZE << MAG_ARENA_ORDER)
#define MAG_HDR_PAGES		3

/*
 * The first word of every live arena's header: random, drawn at module
 * load, so no other memory holds it but by a 2^-64 chance (a foreign
 * pointer's 2 MiB-aligned word is compared with it before anything else
 * there is trusted).  Cleared when the arena goes back to the kernel.
 */
extern unsigned long mag_arena_magic;

struct mag_pool;
struct mag_heap;
struct mag_span;

/**
 * struct mag_magazine - a stack of free objects (Bonwick's magazine)
 * @rounds: objects held
 * @size: how many it may hold (its CPU's limit while loaded); 0 for the
 *	sentinels
 * @next: link in a depot list; MAG_SENTINEL for the sentinels
 * @objs: the objects; the top of the stack is objs[rounds - 1]
 */
struct mag_magazine {
	unsigned int rounds;
	unsigned int size;
	struct mag_magazine *next;
	void *objs[];
};

/* What marks a sentinel magazine (no real magazine's @next is ever this). */
#define MAG_SENTINEL	((struct mag_magazine *)0x5e)

/**
 * struct mag_cpu - one CPU's magazines for one pool and one node (an
 *	entry of Go's mcache)
 * @loaded: the magazine the fast paths pop from and push to
 * @prev: the previous magazine, always full, empty or the sentinel
 * @pool: the pool (fixed)
 * @node: the node of every object in these magazines (fixed); a CPU's
 *	magazines for another node than its own take only frees, and go
 *	back to that node's central a whole magazine at a time
 * @limit: objects this CPU lets each of the two magazines hold (the
 *	loaded one's @size); 0 until the pool's first slow path here, then
 *	grown at each depot visit up to the pool's @mag_size, within the
 *	CPU's budget for the generic pools (magazine.c)
 * @slow: slow-path entries on this CPU
 * @trimmed_at: @misses when the trimmer last looked
 * @misses: allocations that took the slow path
 * @hits: allocations its magazines served (MAGALLOC_STATS builds only)
 *
 * Only its own CPU writes it (and the hotplug and unload paths, when that
 * CPU is dead or nothing runs).  Aligned and padded to a cache line, so no
 * other CPU's data shares its line.
 */
struct mag_cpu {
	struct mag_magazine *loaded;
	struct mag_magazine *prev;
	struct mag_pool *pool;
	int node;
	unsigned int limit;
	unsigned long slow;
	unsigned long trimmed_at;
	unsigned long misses;
#ifdef MAGALLOC_STATS
	unsigned long hits;
#endif
} ____cacheline_aligned;

/**
 * struct mag_front - what every fast path of a CPU reads first
 * @busy: the busy mark: 0 when no magazine user runs on this CPU; every
 *	user subtracts one on entry and proceeds only if it was 0 (see
 *	mag_busy_enter())
 * @node: the node this CPU allocates from: its own, or the nearest with
 *	memory if its own has none
 * @local: this CPU's struct mag_cpu array of the generic pools of @node,
 *	indexed by size class
 * @sentinel: this CPU's sentinel: the magazine every struct mag_cpu of
 *	this CPU holds where it has none, empty (@rounds 0) and full (@size
 *	0) at once, so both fast paths fall to the slow path without a NULL
 *	test.  The pop's read-modify-write takes its @rounds below 0 and back
 *	inside the busy region: one CPU's, so no other CPU's line is written.
 *
 * Per CPU, aligned and padded to a cache line; only its own CPU writes
 * @busy and @sentinel;
 * @node and @local are written at load and when the CPU comes online,
 * before it runs anything else.
 */
struct mag_front {
	u8 busy;
	int node;
	struct mag_cpu *local;
	struct mag_magazine sentinel;
} ____cacheline_aligned;

/**
 * struct mag_arena - header in the first pages of every arena
 * @magic: mag_arena_magic while the arena is live: mag_free()'s fast
 *	path checks it, so a pointer outside any arena goes to the slow
 *	path, which checks it against the arena registry
 * @cpu: per page, the per-CPU magazines for objects of the small span
 *	that owns the page, or the dummy whose magazines are the sentinel
 *	(header and free pages, large objects); read by mag_free()'s fast
 *	path
 * @node: NUMA node of the arena's pages
 * @heap: the node heap the arena belongs to
 * @link: in @heap->arenas
 * @nr_free: pages of the arena in free buddy blocks
 * @free_order: per page, the order of the free block that starts there,
 *	or MAG_NOT_FREE
 * @span: per page, the span that owns it, or NULL
 * @rcu: the arena goes back to the kernel a grace period after it leaves
 *	the registry (mag_span_of() and the fast paths may be reading it)
 *
 * Cache lines: @magic, @cpu and @node are read on every free by every CPU
 * and written only when an arena or a span is created or destroyed, so
 * they stay shared (S) in every cache.  Everything from @heap on is
 * written under the heap lock and starts on its own line.
 */
struct mag_arena {
	unsigned long magic;
	struct mag_cpu __percpu *cpu[MAG_ARENA_PAGES];
	int node;
	struct mag_heap *heap ____cacheline_aligned;
	struct list_head link;
	unsigned int nr_free;
	u8 free_order[MAG_ARENA_PAGES];
	struct mag_span *span[MAG_ARENA_PAGES];
	struct rcu_head rcu;
};

/* The arena of any pointer into one, and the page of the pointer in it. */
static __always_inline struct mag_arena *mag_arena_of(const void *p)
{
	return (struct mag_arena *)((unsigned long)p & ~(MAG_ARENA_SIZE - 1));
}

static __always_inline unsigned long mag_page_index(const void *p)
{
	return ((unsigned long)p >> PAGE_SHIFT) & (MAG_ARENA_PAGES - 1);
}

DECLARE_PER_CPU_ALIGNED(struct mag_front, mag_front);

/*
 * A MAGALLOC_STATS magalloc.ko counts the hits of the inline fast paths
 * too, and its struct mag_cpu has one more field: a consumer must be
 * built the same way.  Every object file that includes this header refers
 * to the symbol of its own build, and magalloc.ko defines only its own,
 * so a mismatch fails at load ("Unknown symbol").
 */
#ifdef MAGALLOC_STATS
extern const int mag_abi_stats;
static const int *const mag_abi_ref __used = &mag_abi_stats;
#else
extern const int mag_abi_nostats;
static const int *const mag_abi_ref __used = &mag_abi_nostats;
#endif

/*
 * Test builds of magalloc.ko define mag_trace() (internal.h) to record the
 * cache lines the fast paths touch; everywhere else it is nothing.
 */
#ifndef mag_trace
static __always_inline void mag_trace(const void *addr, bool write) { }
#endif

#ifdef __my_cpu_var
#define mag_my_cpu_var(var)	__my_cpu_var(var)
#else
#define mag_my_cpu_var(var)	(var)
#endif

/*
 * The busy mark.  Every user of this CPU's magazines (fast paths, slow
 * paths, drains) subtracts one from it with preemption off, proceeds only
 * if it was 0, and adds the one back when done.  An interrupt that lands
 * inside such a region finds it non-zero and takes the locked central
 * path, which never touches per-CPU magazines.  One instruction
 * each way on this CPU's own line (on x86 the borrow of the subtraction
 * is the answer): no lock, no atomic instruction.  The memory clobbers
 * keep the magazine accesses inside.
 */
static __always_inline bool mag_busy_enter(void)
{
	bool idle;

#ifdef CONFIG_X86
	asm volatile("subb $1, " __percpu_arg([mark])
		     CC_SET(c)
		     : [mark] "+m" (mag_my_cpu_var(mag_front.busy)), CC_OUT(c) (idle)
		     : : "memory");
#else
	this_cpu_sub(mag_front.busy, 1);
	barrier();
	idle = this_cpu_read(mag_front.busy) == 0xff;
#endif
	mag_trace(this_cpu_ptr(&mag_front), true);
	return idle;
}

static __always_inline void mag_busy_exit(void)
{
	barrier();
	this_cpu_add(mag_front.busy, 1);
	mag_trace(this_cpu_ptr(&mag_front), true);
}

/*
 * Pop one object from the loaded magazine of @pc, or push one to the
 * loaded magazine @m: the fast paths proper.  Busy region held.  The lines
 * touched are this CPU's struct mag_cpu and its magazine, written by this
 * CPU alone.
 *
 * The pop takes one from @rounds in place and looks at the sign: an empty
 * magazine (a sentinel too) went below 0 and is set back before anyone
 * else can look, for the busy region is held.
 */
static __always_inline void *mag_pop(struct mag_cpu *pc)
{
	struct mag_magazine *m = pc->loaded;
	bool empty;
	void *obj;

	mag_trace(pc, false);
	mag_trace(&m->rounds, true);
#ifdef CONFIG_X86
	asm volatile("subl $1, %[rounds]" CC_SET(s)
		     : [rounds] "+m" (m->rounds), CC_OUT(s) (empty));
#else
	empty = (int)(m->rounds -= 1) < 0;
#endif
	if (unlikely(empty)) {
		m->rounds = 0;
		return NULL;
	}
	mag_trace(&m->objs[m->rounds], false);
	obj = m->objs[m->rounds];
	/*
	 * Magazines never hold NULL: tell the compiler, so callers' NULL
	 * tests fold away (unreachable() keeps the branch, for objtool).
	 */
	if (!obj)
		__builtin_unreachable();
#ifdef MAGALLOC_STATS
	pc->hits++;
#endif
	return obj;
}

/*
 * Sanitizer hooks of the fast paths, as SLUB's slab_post_alloc_hook() and
 * slab_free_hook() have them: kmemleak knows every live object (and no
 * free one); without CONFIG_DEBUG_KMEMLEAK they are nothing.  A free is
 * told to kmemleak before the object can be handed out again.
 */
#ifdef CONFIG_KASAN_GENERIC
void mag_kasan_alloc(void *obj, size_t size);
#else
static inline void mag_kasan_alloc(void *obj, size_t size) { }
#endif

static __always_inline void *mag_alloc_hook(void *obj, size_t size, gfp_t gfp)
{
	if (!ZERO_OR_NULL_PTR(obj)) {
		kmemleak_alloc(obj, size, 1, gfp);
		mag_kasan_alloc(obj, size);
	}
	return obj;
}

/* Under KASAN, mag_free()'s quarantine entry has done it already. */
static __always_inline void mag_free_hook(const void *obj)
{
	if (!IS_ENABLED(CONFIG_KASAN_GENERIC))
		kmemleak_free(obj);
}

/*
 * False if @m is full, and if @obj is already its top: an immediate double
 * free (the slow path then reports it), as SLAB_FREELIST_HARDENED catches
 * it for SLUB.  objs[-1] is @next, never an object.
 */
static __always_inline bool mag_push(struct mag_magazine *m, const void *obj)
{
	unsigned int n = m->rounds;

	mag_trace(&m->rounds, false);
	if (unlikely(n >= m->size))
		return false;
	mag_trace(&m->objs[(long)n - 1], false);
	if (unlikely(m->objs[(long)n - 1] == obj))
		return false;
	mag_free_hook(obj);
	m->objs[n] = (void *)obj;
	/* Count it in place (one instruction on x86), not from a register. */
	barrier();
	m->rounds++;
	mag_trace(&m->rounds, true);
	mag_trace(&m->objs[n], true);
	return true;
}

/*
 * Does @a start with mag_arena_magic?  Read whatever @a is: on x86 an
 * exception-table entry turns a fault (an unmapped vmalloc, module or
 * stack address, a guard page) into "no", at no cost in instructions;
 * @a must be a kernel address (a user one would be an SMAP oops).
 * Elsewhere only pointers of the linear map are read.
 */
static __always_inline bool mag_arena_live(const struct mag_arena *a)
{
#if defined(CONFIG_X86) && defined(_ASM_EXTABLE)
	asm goto("1: cmp %[magic], %[word]\n\t"
		 "jne %l[no]\n\t"
		 _ASM_EXTABLE(1b, %l[no])
		 : : [word] "m" (a->magic), [magic] "r" (mag_arena_magic)
		 : "cc" : no);
	return true;
no:
	return false;
#else
	return virt_addr_valid(a) && READ_ONCE(a->magic) == mag_arena_magic;
#endif
}

/*
 * might_alloc() is a debugging aid (lockdep's reclaim annotation and the
 * sleep-in-atomic check), plus a voluntary preemption point that an
 * allocator's fast path does not need: only kernels that debug keep it.
 */
static __always_inline void mag_might_alloc(gfp_t gfp)
{
	if (IS_ENABLED(CONFIG_LOCKDEP) || IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP))
		might_alloc(gfp);
}

/* Pop an object of size class @cls from this CPU's magazines, or NULL. */
static __always_inline void *mag_pop_class(unsigned int cls)
{
	void *obj;

	preempt_disable();
	if (unlikely(!mag_busy_enter()))
		goto miss;
	mag_trace(this_cpu_ptr(&mag_front.local), false);
	obj = mag_pop(this_cpu_read(mag_front.local) + cls);
	if (unlikely(!obj))
		goto miss;
	mag_busy_exit();
	preempt_enable();
	return obj;
miss:
	mag_busy_exit();
	preempt_enable();
	return NULL;
}

/*
 * Push @ptr to this CPU's magazine for its pool and node, as the page of
 * @ptr's arena tells; false if that cannot be done here and now.  Pointers
 * outside the kernel half (NULL, ZERO_SIZE_PTR, user addresses) and
 * outside live arenas (huge objects are arena-aligned: their first word
 * is theirs, not the magic) give false, and so do pages outside small
 * spans, the pages of debug spans, and every page with init_on_free
 * (their magazines are the dummy's: the sentinel).
 */
/* mag_push_obj() inside a busy region (mag_free_bulk() holds one). */
static __always_inline bool mag_push_obj_busy(const void *ptr)
{
	const void *addr = ptr;
	const struct mag_arena *a;
	struct mag_cpu __percpu *pcpu;
	unsigned long idx;

	/* Computed here, the mask's flags serve the sign test below. */
	OPTIMIZER_HIDE_VAR(addr);
	a = mag_arena_of(addr);
	if (unlikely((long)a >= 0))
		return false;
	idx = mag_page_index(addr);
	if (unlikely(!mag_arena_live(a)))
		return false;
	pcpu = READ_ONCE(a->cpu[idx]);
	mag_trace(&a->cpu[idx], false);
	mag_trace(this_cpu_ptr(pcpu), false);
	return mag_push(this_cpu_read(pcpu->loaded), ptr);
}

static __always_inline bool mag_push_obj(const void *ptr)
{
	preempt_disable();
	if (unlikely(!mag_busy_enter()))
		goto miss;
	if (unlikely(!mag_push_obj_busy(ptr)))
		goto miss;
	mag_busy_exit();
	preempt_enable();
	return true;
miss:
	mag_busy_exit();
	preempt_enable();
	return false;
}

/*
 * Zeroing a constant @size: up to a cache line with plain 8-byte stores,
 * which cost less than the start-up of the rep stos the compiler would
 * otherwise choose; beyond, the kernel's memset(), as SLUB (the size is
 * hidden from the compiler, which would expand it inline).
 */
static __always_inline void mag_zero_const(void *obj, size_t size)
{
	u64 *p = obj;

	if (size > 64) {
		OPTIMIZER_HIDE_VAR(size);
		memset(obj, 0, size);
		return;
	}
	switch (size / 8) {
	case 8:
		p[7] = 0;
		fallthrough;
	case 7:
		p[6] = 0;
		fallthrough;
	case 6:
		p[5] = 0;
		fallthrough;
	case 5:
		p[4] = 0;
		fallthrough;
	case 4:
		p[3] = 0;
		fallthrough;
	case 3:
		p[2] = 0;
		fallthrough;
	case 2:
		p[1] = 0;
		fallthrough;
	default:
		p[0] = 0;
	}
}

/* Allocation of a constant @size, inline. */
static __always_inline void *mag_alloc_const(size_t size, gfp_t gfp)
{
	void *obj;

	mag_might_alloc(gfp);
	obj = mag_pop_class(mag_const_class(size));
	if (unlikely(!obj))
		return (mag_alloc)(size, gfp);
	if (unlikely(want_init_on_alloc(gfp)))
		mag_zero_const(obj, mag_const_class_size(size));
	return mag_alloc_hook(obj, size, gfp);
}

/*
 * Under generic KASAN the inline paths leave everything to the exported
 * functions, which keep the shadow of each object (mod/kasan.c).
 */
static __always_inline void mag_free_inline(const void *ptr)
{
	if (IS_ENABLED(CONFIG_KASAN_GENERIC) || unlikely(!mag_push_obj(ptr)))
		(mag_free)(ptr);
}

/*
 * Fault injection (kernels with CONFIG_FAULT_INJECTION only): while
 * fail_magalloc in debugfs has a probability, the inline allocation goes
 * to the exported one, which decides.
 */
#ifdef CONFIG_FAULT_INJECTION
extern struct fault_attr mag_fail_attr;
#define mag_fail_armed()	(READ_ONCE(mag_fail_attr.probability) != 0)
#else
#define mag_fail_armed()	false
#endif

static __always_inline void *mag_alloc_inline(size_t size, gfp_t gfp)
{
	/* All constant but for @gfp in some callers: then one more test. */
	if (__builtin_constant_p(size) && size && size <= MAG_MAX_SMALL &&
	    !(gfp & MAG_GFP_DIVERT) && !mag_fail_armed() &&
	    !IS_ENABLED(CONFIG_KASAN_GENERIC))
		return mag_alloc_const(size, gfp);
	return (mag_alloc)(size, gfp);
}

#ifndef MAGALLOC_NO_INLINE
#define mag_alloc(size, gfp)	mag_alloc_inline(size, gfp)
#define mag_free(ptr)		mag_free_inline(ptr)
#endif

#endif /* _MAGALLOC_H */
