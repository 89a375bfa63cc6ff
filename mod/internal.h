/* SPDX-License-Identifier: GPL-2.0 */
/*
 * magalloc internal interfaces, shared by the files of mod/ and their KUnit
 * suites.  Nothing here is ABI: in-kernel users include magalloc.h,
 * userspace includes uapi/linux/magalloc.h.  Documentation/design.rst
 * tells the whole story; in brief, from the top:
 *
 *   magazine.c  per-CPU magazines (Go's mcache): struct mag_cpu
 *   central.c   per-pool, per-node central lists and depot (mcentral)
 *   pageheap.c  per-node buddy page heap over arenas (mheap)
 *   api.c       the exported functions, size classes, typed caches
 *   lifecycle.c CPU hotplug, shrinker, periodic trim, unload report
 *   debug.c     debug mode: red zones, poison, alloc/free tracks
 *   report.c    reports of bad frees and of debug-mode violations
 *   kasan.c     poisoning, quarantine and report names under KASAN
 *   memcg.c     __GFP_ACCOUNT: per-memory-cgroup heaps and pools
 *   uheap.c     userspace heaps behind /dev/magalloc (own lock, own spans)
 *   stress.c    the cross-CPU stress (debugfs), for kernels without KUnit
 *   hostile.c   the hostile-free check (debugfs), likewise
 *   main.c      module init/exit, the /dev/magalloc node, debugfs
 *   compat.h    what differs between the kernels it builds for
 *
 * Lock order: mag_pools_mutex -> central->lock -> heap->lock.  The two
 * spinlocks are taken with interrupts disabled (frees may come from
 * hardirq context).  The fast path takes neither.  A userspace heap's
 * locks (uheap.c) never nest with these.
 */
#ifndef _MAGALLOC_INTERNAL_H
#define _MAGALLOC_INTERNAL_H

#include <linux/cache.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>
#include <linux/jump_label.h>
#include <linux/topology.h>
#include <linux/magalloc.h>

/*
 * Test builds (kernels with KUnit) can record the (CPU, cache line,
 * read/write) trace of the fast and exchange paths for the MESI model in
 * mesi_kunit.c; elsewhere mag_trace() is nothing.  Off, it is a static
 * branch: a no-op jump.
 */
#if IS_ENABLED(CONFIG_KUNIT)
DECLARE_STATIC_KEY_FALSE(mag_trace_key);
void mag_trace_access(const void *addr, bool write);
#define mag_trace(addr, write)						\
	do {								\
		if (static_branch_unlikely(&mag_trace_key))		\
			mag_trace_access(addr, write);			\
	} while (0)
#endif

#include "magalloc.h"
#include "sizeclasses.h"

/* Largest buddy block in an arena: the upper half. */
#define MAG_BLOCK_MAX_ORDER	(MAG_ARENA_ORDER - 1)
/* Larger than this goes straight to the kernel's page allocator. */
#define MAG_LARGE_MAX		(PAGE_SIZE << MAG_BLOCK_MAX_ORDER)
#define MAG_NOT_FREE		0xff

struct mag_span;
struct kobject;
struct mag_heap;
struct mag_pool;

enum mag_span_state {
	MAG_SPAN_SMALL,		/* objects of one pool */
	MAG_SPAN_LARGE,		/* one object of npages pages */
	MAG_SPAN_DEBUG,		/* objects of one pool, in debug slots (debug.c) */
};

/**
 * struct mag_span - a run of pages from the heap (Go's mspan)
 * @link: in the central's partial or full list, or the heap's large list
 * @pool: owner of a small-object span; NULL for a large object
 * @base: first byte
 * @heap: the heap its pages came from
 * @npages: length in pages
 * @order: buddy order of the block (small spans: exactly npages pages)
 * @state: enum mag_span_state
 * @loose: its pages are a block of their own from the page allocator, in
 *	no arena (pageheap.c: under fragmentation)
 * @nr_objs: objects in the span
 * @nr_free: objects not allocated (sitting in magazines counts as allocated)
 * @alloc: bitmap, one bit per object, set while the object is allocated;
 *	it finds free objects and catches double frees when objects come
 *	back from magazines
 * @rcu: descriptors are freed a grace period after their span (see
 *	mag_span_of())
 *
 * kmemleak neither scans nor reports descriptors (kmemleak_ignore()):
 * @base would otherwise be a reference to the span's first object, and a
 * leaked large object or first object would never be reported.  The
 * arena header's @span[] keeps them referenced.
 */
struct mag_span {
	struct list_head link;
	struct mag_pool *pool;
	void *base;
	struct mag_heap *heap;
	unsigned int npages;
	u8 order;
	u8 state;
	u16 nr_objs;
	u16 nr_free;
	bool loose;
	struct rcu_head rcu;
	unsigned long alloc[];
};

/**
 * struct mag_heap - one NUMA node's page heap (Go's mheap)
 * @lock: protects everything below and the arenas' heap-side fields
 * @node: the node
 * @free: free buddy blocks by order, linked through their first bytes
 * @arenas: arenas of this node
 * @large: spans of large objects handed out
 * @nr_arenas: arenas held
 * @free_pages: pages in free blocks
 * @free_arenas: arenas whose pages are all free (all could be released)
 * @large_pages: pages handed out as large objects
 * @arenas_released: arenas given back to the kernel, ever
 * @loose_pages: pages held in loose blocks (spans outside arenas)
 * @loose_blocks: loose blocks taken, ever
 * @memcg: the memory cgroup its arenas are charged to (memcg.c), or NULL
 */
struct mag_heap {
	spinlock_t lock;	/* see above */
	int node;
	struct list_head free[MAG_BLOCK_MAX_ORDER + 1];
	struct list_head arenas;
	struct list_head large;
	unsigned long nr_arenas;
	unsigned long free_pages;
	unsigned long free_arenas;
	unsigned long large_pages;
	unsigned long arenas_released;
	unsigned long loose_pages;
	unsigned long loose_blocks;
	struct mem_cgroup *memcg;
} ____cacheline_aligned_in_smp;

/* @cpu's sentinel (struct mag_front): a pointer to compare with only. */
static inline struct mag_magazine *mag_sentinel_of(int cpu)
{
	return &per_cpu(mag_front, cpu).sentinel;
}

/* Is @m, a magazine the caller owns or whose CPU is this one, a sentinel? */
static inline bool mag_is_sentinel(const struct mag_magazine *m)
{
	return m->next == MAG_SENTINEL;
}

/**
 * struct mag_central - one pool's central list on one node (mcentral)
 * @lock: protects everything below, and the spans' @alloc and @nr_free
 * @partial: spans with free objects
 * @full: spans without
 * @full_mags: depot of full magazines (a stack through ->next)
 * @empty_mags: depot of empty magazines
 * @nr_full: magazines on @full_mags
 * @nr_empty: magazines on @empty_mags
 * @taken: full magazines CPUs took since the last trim: the depot's working
 *	set (the rest no CPU needed for a whole period)
 * @filled: a CPU took objects from the spans since the last trim
 * @nr_spans: spans held
 * @nr_free_objs: free objects in spans
 * @pool: owner
 * @node: node
 * @heap: the node's heap
 * @bad_frees: double or foreign frees caught returning to spans
 * @locks: times an allocation or a free took @lock (magazine refills and
 *	flushes, objects straight from or to spans, new spans), for
 *	mag_usage()
 * @dbg_partial: debug spans (debug.c) with free objects
 * @dbg_full: debug spans without
 * @dbg_spans: debug spans held
 * @dbg_objs: objects in them
 * @dbg_free: free objects in them
 * @dbg_isolated: objects of them that debug mode found corrupted: never
 *	handed out again, and not counted as allocated
 *
 * Ordinary spans and debug spans never mix: the magazines and the depot
 * hold only objects of ordinary spans, debug mode allocates only from
 * debug spans.
 */
struct mag_central {
	spinlock_t lock;	/* see above */
	struct list_head partial;
	struct list_head full;
	struct mag_magazine *full_mags;
	struct mag_magazine *empty_mags;
	unsigned int nr_full;
	unsigned int nr_empty;
	unsigned int taken;
	bool filled;
	unsigned long nr_spans;
	unsigned long nr_free_objs;
	struct mag_pool *pool;
	int node;
	struct mag_heap *heap;
	unsigned long bad_frees;
	unsigned long locks;
	struct list_head dbg_partial;
	struct list_head dbg_full;
	unsigned long dbg_spans;
	unsigned long dbg_objs;
	unsigned long dbg_free;
	unsigned long dbg_isolated;
} ____cacheline_aligned_in_smp;

/**
 * struct mag_pool - objects of one size and kind: a size class of the
 *	generic allocator, or a typed cache
 * @cpu: per node, [nr_node_ids]: per-CPU magazines of objects of that
 *	node (a CPU's own node's for its allocations and frees; the others'
 *	take its frees of remote objects)
 * @size: object size in bytes (the class size)
 * @cls: size class, which fixes the span geometry
 * @mag_size: magazine capacity (pointers), and the largest limit a CPU
 *	may give its magazines of this pool
 * @init: honour init_on_alloc, init_on_free and __GFP_ZERO (no ctor)
 * @generic: one of mag_generic[], whose per-CPU magazines sit in
 *	arrays indexed by class (struct mag_front's @local)
 * @ctor: constructor run on every object of a new span
 * @central: per node, [nr_node_ids]
 * @name: for reports
 * @link: in mag_pools (a memory cgroup's pool: in its set's zombies, if
 *	its cache was destroyed with objects left)
 * @id: the size class for a generic pool; for a typed cache a number of
 *	its own, from MAG_NR_CLASSES up; for a memory cgroup's pool, that of
 *	@parent (the key of the cgroup's pools, memcg.c)
 * @parent: for a memory cgroup's pool, the ordinary pool whose objects
 *	it holds when charged; else NULL
 * @object_size: what a caller asks for: a typed cache's size, the class
 *	size of a generic pool (whose callers say each time)
 * @debug: in debug mode (debug.c): allocations come from debug spans
 * @dbg_off: in a debug span's slot, the object's offset
 * @dbg_stride: the slot's size
 * @dbg_objs: slots in a debug span
 * @dbg_order: buddy order of a debug span
 * @sysfs: its directory under /sys/kernel/magalloc (sysfs.c), or NULL
 */
struct mag_pool {
	struct mag_cpu __percpu **cpu;
	unsigned int size;
	unsigned int cls;
	unsigned int mag_size;
	bool init;
	bool generic;
	void (*ctor)(void *obj);
	struct mag_central **central;
	const char *name;
	struct list_head link;
	unsigned int id;
	struct mag_pool *parent;
	unsigned int object_size;
	bool debug;
	unsigned int dbg_off;
	unsigned int dbg_stride;
	unsigned int dbg_objs;
	unsigned int dbg_order;
	struct kobject *sysfs;
} ____cacheline_aligned;

/*
 * Flags for magalloc's own memory (arenas, span descriptors, magazines):
 * the caller's permission to sleep and reclaim, never its zeroing,
 * accounting or placement modifiers, and never a warning.
 */
static inline gfp_t mag_meta_gfp(gfp_t gfp)
{
	return (gfp & (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HIGH |
		       __GFP_NOMEMALLOC)) | __GFP_NOWARN;
}

/*
 * Flags for an arena: mag_meta_gfp(), but never from the reserves that
 * __GFP_HIGH (GFP_ATOMIC) or PF_MEMALLOC open: a small atomic request must
 * not take 2 MiB from them.  Only the node asked for, and no hard retry.
 */
static inline gfp_t mag_arena_gfp(gfp_t gfp)
{
	return (mag_meta_gfp(gfp) & ~__GFP_HIGH) | __GFP_NOMEMALLOC |
		__GFP_NORETRY | __GFP_THISNODE;
}

/*
 * A free may come from any context kfree() may, even under the runqueue or
 * pi lock, where waking kswapd would deadlock: the magazine it may need is
 * allocated without any reclaim, not even kswapd's, and from no reserve.
 */
#define MAG_FREE_GFP	(__GFP_NOWARN | __GFP_NOMEMALLOC)

/*
 * After a failed grow: false if the caller may get NULL; with
 * __GFP_NOFAIL, wait a little (as the page allocator's callers do) and
 * say to try again.
 */
static inline bool mag_retry(gfp_t gfp)
{
	if (!(gfp & __GFP_NOFAIL))
		return false;
	memalloc_retry_wait(gfp);
	return true;
}

/*
 * Size of an allocation of @size bytes that must own whole cache lines:
 * kmalloc() aligns power-of-two sizes naturally, so the object starts a
 * line and no other object shares its lines.
 */
static inline size_t mag_line_size(size_t size)
{
	return roundup_pow_of_two(max_t(size_t, size, SMP_CACHE_BYTES));
}

/*
 * api.c.  mag_generic[cls] is the pool of size class cls (entry 0 is
 * unused); mag_dummy_cpu is the per-CPU struct mag_cpu, loaded with the
 * sentinel on every CPU, that arena pages outside small spans point to.
 */
extern struct mag_pool mag_generic[MAG_NR_CLASSES];
DECLARE_PER_CPU_ALIGNED(struct mag_cpu, mag_dummy_cpu);
int mag_api_init(void);
void mag_api_exit(void);
void mag_cpu_set_home(unsigned int cpu);
int mag_nearest_node(int node, const nodemask_t *skip);

static __always_inline unsigned int mag_size_class(size_t size)
{
	if (likely(size <= MAG_SMALL_SIZE_MAX))
		return mag_size_to_class8[(size + MAG_SMALL_SIZE_DIV - 1) / MAG_SMALL_SIZE_DIV];
	return mag_size_to_class128[(size - MAG_SMALL_SIZE_MAX + MAG_LARGE_SIZE_DIV - 1) /
				    MAG_LARGE_SIZE_DIV];
}

/*
 * The node this CPU allocates from: its own, or, for a CPU of a node
 * without memory, the nearest node with memory (x86 does not remap such
 * CPUs, so numa_mem_id() would name the memoryless node).  Set for every
 * CPU at load and again when a CPU comes online.
 */
static inline int mag_home_node(void)
{
	return raw_cpu_read(mag_front.node);
}

/* This CPU's magazines of @pool for its home node.  CPU pinned. */
static inline struct mag_cpu *mag_local_cpu(struct mag_pool *pool)
{
	return this_cpu_ptr(pool->cpu[this_cpu_read(mag_front.node)]);
}

/* magazine.c: the per-CPU layer */
#ifdef CONFIG_LOCKDEP
extern struct lockdep_map mag_busy_map;
#endif

/*
 * The busy region of the slow paths and drains, which take central and
 * heap locks inside it (the fast paths in magalloc.h take none, and keep
 * preemption off).  On PREEMPT_RT those locks sleep: the task is pinned to
 * its CPU with migrate_disable() and stays preemptible, and the busy mark
 * alone keeps every other user of this CPU's magazines out: a task that
 * preempts the holder finds the mark taken and takes the central path, as
 * an interrupt does.  Elsewhere preemption is off.  Either way it is a
 * trylock, never a wait, and lockdep sees it as one (mag_busy_map): the
 * locks taken inside are ordered after it.
 */
static inline void mag_slow_pin(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		migrate_disable();
	else
		preempt_disable();
}

static inline void mag_slow_unpin(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		migrate_enable();
	else
		preempt_enable();
}

/* False, with nothing held, if the mark was taken. */
static inline bool mag_slow_enter(void)
{
	mag_slow_pin();
	if (likely(mag_busy_enter())) {
		lock_map_acquire_try(&mag_busy_map);
		return true;
	}
	mag_busy_exit();
	mag_slow_unpin();
	return false;
}

static inline void mag_slow_exit(void)
{
	lock_map_release(&mag_busy_map);
	mag_busy_exit();
	mag_slow_unpin();
}

/**
 * struct mag_budget - what a CPU's generic pools may park (magazine.c)
 * @reserved: bytes its limits reserve: 2 * limit * class size, summed
 *	over the generic pools and nodes; at most mag_cpu_cache_kib KiB
 * @evictions: pools drained to make room for another, ever
 * @cursor: the next pool to look at for that, an index over node and class
 *
 * Only its own CPU writes it, inside a busy region (or anyone, for a CPU
 * that is dead).
 */
struct mag_budget {
	unsigned long reserved;
	unsigned long evictions;
	unsigned int cursor;
};

DECLARE_PER_CPU(struct mag_budget, mag_budget);
extern unsigned int mag_cpu_cache_kib;
unsigned int mag_limit_start(const struct mag_pool *pool);
void *mag_alloc_slow(struct mag_pool *pool, gfp_t gfp, size_t size);
void *mag_alloc_elsewhere(struct mag_pool *pool, gfp_t gfp, int node);
void mag_free_slow(struct mag_pool *pool, void *obj, int node);
struct mag_magazine *mag_magazine_alloc(struct mag_pool *pool, gfp_t gfp, int node);
void mag_cpu_drain(struct mag_pool *pool, int cpu, int node);

/* central.c */
extern unsigned int mag_depot_max;
int mag_central_init(struct mag_pool *pool, struct mag_heap **heaps, gfp_t gfp);
void mag_central_destroy(struct mag_pool *pool);
void *mag_central_alloc_one(struct mag_central *c);
unsigned int mag_fill_locked(struct mag_central *c, void **objs, unsigned int nr);
void mag_central_free_obj(void *obj);
void mag_span_release(struct mag_central *c, struct mag_span *s);
int mag_central_grow(struct mag_central *c, gfp_t gfp);
struct mag_magazine *mag_depot_get(struct mag_central *c, bool full);
struct mag_magazine *mag_depot_get_full(struct mag_central *c, unsigned int limit);
void mag_depot_put(struct mag_central *c, struct mag_magazine *m);
unsigned long mag_central_trim(struct mag_central *c, bool all, unsigned int max_full);
unsigned long mag_central_live(struct mag_central *c);

/* pageheap.c */
extern struct mag_heap **mag_heaps;
int mag_heap_init(void);
void mag_heap_exit(void);
struct mag_heap *mag_heap_create(int node, gfp_t gfp);
void mag_heap_destroy(struct mag_heap *h);
void *mag_heap_alloc(struct mag_heap *h, unsigned int npages, gfp_t gfp,
		     struct mag_span *span, struct mag_cpu __percpu *pcpu);
void mag_heap_free(struct mag_span *span);
struct mag_span *mag_span_of(const void *p);
struct xarray;
int mag_registry_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);
unsigned long mag_heap_release(struct mag_heap *h, unsigned int keep);
void *mag_large_alloc(size_t size, gfp_t gfp, int node);
void *mag_large_alloc_from(struct mag_heap **heaps, size_t size, gfp_t gfp, int node);
void mag_large_free(struct mag_span *s);
bool mag_huge_free(const void *p);
size_t mag_huge_size(const void *p);
unsigned long mag_heap_pages(struct mag_heap *h, unsigned long *free);
unsigned long mag_huge_pages(void);
unsigned int mag_order_of(unsigned int npages);

/* uheap.c */
struct kernel_param;
int mag_heap_size_set(const char *val, const struct kernel_param *kp);
int mag_user_heaps_set(const char *val, const struct kernel_param *kp);
int mag_user_heap_mb_set(const char *val, const struct kernel_param *kp);

/* sysfs.c */
int mag_sysfs_init(void);
void mag_sysfs_exit(void);
void mag_sysfs_add(struct mag_pool *pool);
void mag_sysfs_del(struct mag_pool *pool);
unsigned long mag_cpu_sum(struct mag_pool *pool, size_t field);

/* lifecycle.c */
extern struct list_head mag_pools;
extern struct list_head mag_zombies;
extern struct mutex mag_pools_mutex;
extern atomic_long_t mag_shrunk_pages;
int mag_lifecycle_init(void);
void mag_lifecycle_exit(void);
unsigned long mag_drain_all(void);
unsigned long mag_cpu_visits(int cpu);
bool mag_cpu_caches(struct mag_pool *pool, int cpu);
bool mag_drain_until_uncached(bool (*want)(const struct mag_pool *pool));

/**
 * struct mag_parked - what one CPU's magazines hold
 * @magazines: magazines loaded (not the sentinel)
 * @objects: objects in them
 * @bytes: their bytes (class sizes)
 * @generic: the part of @bytes in generic pools' magazines (the budget's)
 * @reserved: what the generic pools' limits reserve (struct mag_budget)
 * @evictions: pools drained to make room for another, ever
 */
struct mag_parked {
	unsigned long magazines, objects, bytes, generic, reserved, evictions;
};

void mag_measure_parked(struct mag_parked *out);
void mag_measure_pool_parked(struct mag_pool *pool, struct mag_parked *out,
			     unsigned long *objs);
void mag_trim_pause(bool pause);
bool mag_trim_pending(void);
void mag_trim_now(void);
void mag_drain_wait(void);
struct shrink_control;
unsigned long mag_shrinker_count(struct shrink_control *sc);
unsigned long mag_shrinker_run(struct shrink_control *sc);

/* report.c */
enum mag_bad_free {
	MAG_BAD_FOREIGN,	/* in no live arena, and no huge object */
	MAG_BAD_INTERIOR,	/* inside an object, not at its start */
	MAG_BAD_DOUBLE,		/* an object that is free already */
	MAG_BAD_POOL,		/* another pool's or node's object */
	MAG_BAD_NR,
};

extern atomic_long_t mag_bad_frees;
void mag_report_bad_free(const void *obj, enum mag_bad_free why,
			 const struct mag_pool *pool);
void mag_count_bad_free(enum mag_bad_free why);
unsigned long mag_bad_free_count(enum mag_bad_free why);

/*
 * debug.c: debug mode, slub_debug=FZPU for magalloc pools.  A debug span
 * lays its objects out in slots of @dbg_stride bytes:
 *
 *   | struct mag_debug_meta | red zone | object ... | red zone |
 *   ^ slot                             ^ slot + @dbg_off       ^ + @dbg_stride
 */
DECLARE_STATIC_KEY_FALSE(mag_debug_key);

/**
 * struct mag_track - who allocated or freed a debug-mode object
 * @stack: the call chain in the stack depot, or 0
 * @cpu: the CPU
 * @pid: the task
 * @when: jiffies
 */
struct mag_track {
	u32 stack;
	int cpu;
	int pid;
	unsigned long when;
};

enum mag_debug_state {
	MAG_DBG_FREE,
	MAG_DBG_ALLOCATED,
	MAG_DBG_ISOLATED,	/* found corrupted: kept out of use for good */
};

/**
 * struct mag_debug_meta - what a debug slot keeps about its object
 * @alloc: the last allocation
 * @free: the last free
 * @size: bytes the caller asked for; the red zone starts there
 * @state: enum mag_debug_state
 */
struct mag_debug_meta {
	struct mag_track alloc;
	struct mag_track free;
	unsigned int size;
	unsigned int state;
};

/* What debug mode found wrong with an object (report.c). */
enum mag_debug_bad {
	MAG_DBG_OK,
	MAG_DBG_LEFT_RED,	/* the red zone before it */
	MAG_DBG_RIGHT_RED,	/* the red zone after the size asked for */
	MAG_DBG_POISON,		/* a free object written to */
	MAG_DBG_DOUBLE,		/* freed when free */
	MAG_DBG_NR,
};

/**
 * struct mag_debug_bug - one violation, for the report
 * @pool: the pool
 * @obj: the object
 * @slot: its slot (its struct mag_debug_meta)
 * @meta: the metadata as found
 * @bad: what is wrong
 * @first: the first byte found wrong (NULL for a double free)
 * @last: the last byte found wrong
 * @want: the byte it should be
 */
struct mag_debug_bug {
	const struct mag_pool *pool;
	const void *obj;
	const void *slot;
	struct mag_debug_meta meta;
	enum mag_debug_bad bad;
	const u8 *first;
	const u8 *last;
	u8 want;
};

void mag_report_debug(const struct mag_debug_bug *bug);
unsigned long mag_debug_count(enum mag_debug_bad bad);

static inline bool mag_pool_debug(const struct mag_pool *pool)
{
	return static_branch_unlikely(&mag_debug_key) && READ_ONCE(pool->debug);
}

/*
 * trace.c: bypass mode, while magalloc_alloc or magalloc_free traces.  It
 * holds mag_debug_key too, so the slow paths test both with the one
 * patched jump they had for debug mode.
 */
extern bool mag_bypass_on;

static inline bool mag_bypass(void)
{
	return static_branch_unlikely(&mag_debug_key) && READ_ONCE(mag_bypass_on);
}

/* No magazines for @pool now: debug mode, or tracing. */
static inline bool mag_pool_nocache(const struct mag_pool *pool)
{
	if (!static_branch_unlikely(&mag_debug_key))
		return false;
	return READ_ONCE(pool->debug) || READ_ONCE(mag_bypass_on);
}

void mag_set_bypass(bool on);
void mag_debug_key_hold(bool *held, bool want);
void __mag_trace_alloc(const void *obj, size_t bytes_req, size_t bytes_alloc, gfp_t gfp,
		       int node);
void __mag_trace_free(const void *obj);

/* The events are on only in bypass mode: a patched jump when not. */
static inline void mag_trace_alloc(const void *obj, size_t bytes_req, size_t bytes_alloc,
				   gfp_t gfp, int node)
{
	if (mag_bypass())
		__mag_trace_alloc(obj, bytes_req, bytes_alloc, gfp, node);
}

static inline void mag_trace_free(const void *obj)
{
	if (mag_bypass())
		__mag_trace_free(obj);
}

void mag_debug_geometry(struct mag_pool *pool);
bool mag_debug_names_match(const char *names, const char *name);
bool mag_debug_wanted(const char *name);
void mag_set_debug(bool on);
int mag_pool_set_debug(struct mag_pool *pool, bool on);
void *mag_debug_alloc(struct mag_pool *pool, int node, size_t size, gfp_t gfp);
void mag_debug_free(struct mag_span *s, void *obj);
size_t mag_debug_ksize(struct mag_span *s, const void *obj);
int mag_debug_grow(struct mag_central *c, gfp_t gfp);
void mag_debug_start(void);
void mag_debug_exit(void);

/*
 * The start of the object of small or debug span @s that @p points into;
 * NULL if @p is in a debug slot's metadata or red zones.
 */
static inline void *mag_object_of(const struct mag_span *s, const void *p)
{
	unsigned long off = p - s->base, in;

	if (s->state != MAG_SPAN_DEBUG)
		return s->base + off - off % s->pool->size;
	in = off % s->pool->dbg_stride;
	if (in < s->pool->dbg_off || in >= s->pool->dbg_off + s->pool->size)
		return NULL;
	return s->base + off - in + s->pool->dbg_off;
}

/**
 * struct mag_stress_result - what a run of the cross-CPU stress saw
 * @moved: objects allocated on one CPU and freed on another
 * @timer_ok: allocations in timer context that passed their checks
 * @bad: objects whose contents or size were wrong
 * @nulls: GFP_KERNEL allocations that failed
 * @debugged: moved objects of debug spans (debug mode)
 */
struct mag_stress_result {
	unsigned long moved, timer_ok, bad, nulls, debugged;
};

/* stress.c */
struct dentry;
int mag_stress_run(unsigned int ms, struct mag_stress_result *res);
void mag_stress_debugfs(struct dentry *dir);

/*
 * api.c: fault injection.  mag_should_fail() decides for each allocation
 * entry (not for each internal step), as failslab does for kmalloc();
 * __GFP_NOFAIL requests never fail.  Compiled out without
 * CONFIG_FAULT_INJECTION.
 */
#ifdef CONFIG_FAULT_INJECTION
bool mag_should_fail(size_t size, gfp_t gfp);
extern atomic_long_t mag_injected;
#else
static inline bool mag_should_fail(size_t size, gfp_t gfp)
{
	return false;
}
#endif
struct dentry *mag_fault_debugfs(void);

/*
 * kasan.c: magalloc's objects as KASAN sees SLUB's (generic KASAN only).
 * mag_memset_obj() zeroes objects whatever their shadow says.
 */
#ifdef CONFIG_KASAN_GENERIC
bool mag_kasan_free(const void *ptr);
void mag_kasan_flush(void);
bool mag_kasan_quarantined(const void *p);
void mag_kasan_quarantine(bool on);
void mag_kasan_freed(const void *ptr, size_t size);
void mag_kasan_poison_free(void *p, size_t size);
void mag_kasan_unpoison(void *p, size_t size);
unsigned long mag_kasan_reports(const void **last);
unsigned long mag_kasan_all_reports(const void **last);
int mag_kasan_init(void);
void mag_kasan_exit(void);
#define mag_memset_obj(p, c, n)	__memset(p, c, n)
#else
static inline bool mag_kasan_free(const void *ptr) { return false; }
static inline void mag_kasan_flush(void) { }
static inline void mag_kasan_quarantine(bool on) { }
static inline void mag_kasan_freed(const void *ptr, size_t size) { }
static inline void mag_kasan_poison_free(void *p, size_t size) { }
static inline void mag_kasan_unpoison(void *p, size_t size) { }
static inline int mag_kasan_init(void) { return 0; }
static inline void mag_kasan_exit(void) { }
#define mag_memset_obj(p, c, n)	memset(p, c, n)
#endif
void mag_free_unchecked(const void *ptr);

/*
 * An object just allocated from @pool, initialised as init_on_alloc and
 * __GFP_ZERO say (pools with a constructor: never).
 */
static __always_inline void *mag_init_obj(struct mag_pool *pool, void *obj, gfp_t gfp)
{
	if (unlikely(want_init_on_alloc(gfp)) && pool->init && obj)
		return mag_memset_obj(obj, 0, pool->size);
	return obj;
}

/* hostile.c */
int mag_hostile_run(void);
void mag_hostile_debugfs(struct dentry *dir);
void mag_hostile_exit(void);

/* memcg.c: __GFP_ACCOUNT */
bool mag_memcg_alloc(size_t size, gfp_t gfp, int node, void **objp);
bool mag_memcg_cache_alloc(struct mag_pool *parent, gfp_t gfp, void **objp);
void mag_memcg_cache_gone(struct mag_pool *parent);
void mag_memcg_trim(bool all);
void mag_memcg_show(struct seq_file *m);
void mag_memcg_debugfs(struct dentry *dir);

/* main.c: the character device */
extern struct device *mag_device;
int mag_query_fill(struct magalloc_query *q);

/* uheap.c: userspace heaps behind the character device */
struct seq_file;
extern const struct file_operations mag_fops;
int mag_uheap_init(void);
void mag_uheap_exit(void);
void mag_uheaps_show(struct seq_file *m);

#endif /* _MAGALLOC_INTERNAL_H */
