// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's exported API: sizes to pools, typed caches, bulk.
 *
 * A request of up to MAG_MAX_SMALL bytes maps in O(1) (two lookup arrays,
 * as Go's size_to_class8/size_to_class128) to one of the generic pools,
 * one per size class; larger requests go to the page heap.  A typed cache
 * (mag_cache_create()) is a pool of its own with the smallest class that
 * fits its size and alignment, so objects built by its constructor never
 * mix with anyone else's.
 *
 * Hardening follows the kernel's switches exactly as SLUB does:
 * want_init_on_alloc() (init_on_alloc=1 or __GFP_ZERO) zeroes the whole
 * object on allocation, want_init_on_free() on free; pools with a
 * constructor do neither.
 */
#include <linux/export.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "internal.h"

/* The functions magalloc.h's inline fast paths fall back to. */
#undef mag_alloc
#undef mag_free

/* What this build is, for consumers' inline code (magalloc.h). */
#ifdef MAGALLOC_STATS
const int mag_abi_stats = 1;
EXPORT_SYMBOL_GPL(mag_abi_stats);
#else
const int mag_abi_nostats;
EXPORT_SYMBOL_GPL(mag_abi_nostats);
#endif

#ifdef CONFIG_FAULT_INJECTION
/* fail_magalloc: magalloc's fault attribute, as failslab is SLUB's. */
struct fault_attr mag_fail_attr = FAULT_ATTR_INITIALIZER;
EXPORT_SYMBOL_GPL(mag_fail_attr);
/* Allocations it failed, since load. */
atomic_long_t mag_injected;

bool mag_should_fail(size_t size, gfp_t gfp)
{
	if (gfp & __GFP_NOFAIL)
		return false;
	if (!should_fail(&mag_fail_attr, size))
		return false;
	atomic_long_inc(&mag_injected);
	return true;
}
#endif

/**
 * mag_fault_debugfs() - create /sys/kernel/debug/fail_magalloc
 *
 * With CONFIG_FAULT_INJECTION_DEBUG_FS: the usual fault attribute files
 * (probability, interval, times, space, verbose, task-filter...), as
 * failslab has.
 *
 * Return: the directory, for debugfs_remove_recursive(), or NULL.
 */
struct dentry *mag_fault_debugfs(void)
{
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	return fault_create_debugfs_attr("fail_magalloc", NULL, &mag_fail_attr);
#else
	return NULL;
#endif
}

struct mag_pool mag_generic[MAG_NR_CLASSES];

/* Typed caches' pool ids (struct mag_pool @id), after the classes'. */
static DEFINE_IDA(mag_cache_ida);

/* Per node, [nr_node_ids]: the per-CPU arrays of the generic pools' magazines. */
static struct mag_cpu __percpu **mag_generic_cpu;

DEFINE_PER_CPU_ALIGNED(struct mag_cpu, mag_dummy_cpu);

/**
 * struct mag_cache - a typed cache
 * @pool: its objects
 * @flags: as given to mag_cache_create(); none are defined yet
 */
struct mag_cache {
	struct mag_pool pool;
	unsigned int flags;
};

/* Allocation from @pool; the slow path when its magazines are empty. */
static __always_inline void *pool_alloc(struct mag_pool *pool, gfp_t gfp)
{
	void *obj = NULL;

	preempt_disable();
	if (likely(mag_busy_enter()))
		obj = mag_pop(mag_local_cpu(pool));
	mag_busy_exit();
	preempt_enable();

	if (unlikely(!obj))
		return mag_alloc_slow(pool, gfp, pool->object_size);
	return mag_init_obj(pool, obj, gfp);
}

/*
 * Free to @pool: @obj must be one of its objects.  A memory cgroup's pool
 * (memcg.c) has no magazines.
 */
static void pool_free(struct mag_pool *pool, void *obj, int node)
{
	if (unlikely(want_init_on_free()) && pool->init)
		mag_memset_obj(obj, 0, pool->size);
	if (unlikely(!pool->cpu))
		return mag_central_free_obj(obj);
	mag_free_slow(pool, obj, node);
}

/*
 * Every free the fast path leaves: NULL, ZERO_SIZE_PTR, huge and large
 * objects, debug spans' objects, init_on_free, and pointers magalloc does
 * not own (reported, never followed further).  RCU read side held.
 */
static noinline void free_other(const void *ptr)
{
	struct mag_span *s;

	if (ZERO_OR_NULL_PTR(ptr))
		return;
	if (!((unsigned long)ptr & (MAG_ARENA_SIZE - 1))) {
		if (!mag_huge_free(ptr))
			mag_report_bad_free(ptr, MAG_BAD_FOREIGN, NULL);
		return;
	}
	s = mag_span_of(ptr);
	if (!s) {
		mag_report_bad_free(ptr, MAG_BAD_FOREIGN, NULL);
	} else if (s->state == MAG_SPAN_LARGE) {
		if (ptr == s->base) {
			mag_free_hook(ptr);
			mag_large_free(s);
		} else {
			mag_report_bad_free(ptr, MAG_BAD_INTERIOR, NULL);
		}
	} else if (s->state == MAG_SPAN_DEBUG) {
		mag_debug_free(s, (void *)ptr);
	} else if (mag_pool_debug(s->pool)) {
		mag_central_free_obj((void *)ptr);
	} else {
		pool_free(s->pool, (void *)ptr, s->heap->node);
	}
}

/* The magazine was empty (kept out of line: mag_alloc() stays small). */
static noinline void *alloc_miss(struct mag_pool *pool, gfp_t gfp, size_t size)
{
	return mag_alloc_slow(pool, gfp, size);
}

/*
 * Zero, large and huge sizes, refused zones, and __GFP_ACCOUNT: an
 * accounted request goes to its memory cgroup's own pools (memcg.c), or,
 * where the kernel would charge no cgroup, to the ordinary ones.  Huge
 * objects keep __GFP_ACCOUNT: the page allocator charges them itself.
 */
static __always_inline void *alloc_any(size_t size, gfp_t gfp);
static void *alloc_node(size_t size, gfp_t gfp, int node);

/* What an object of @size bytes takes: its class, or whole pages. */
static size_t alloc_bytes(size_t size)
{
	return size <= MAG_MAX_SMALL ? mag_class_size[mag_size_class(size)] : PAGE_ALIGN(size);
}

static noinline void *alloc_other(size_t size, gfp_t gfp, int node)
{
	void *obj;

	if (gfp & MAG_GFP_REFUSED)
		return NULL;
	if (!size)
		return ZERO_SIZE_PTR;
	mag_might_alloc(gfp);
	if ((gfp & __GFP_ACCOUNT) && size <= MAG_LARGE_MAX) {
		if (mag_memcg_alloc(size, gfp, node, &obj)) {
			mag_trace_alloc(obj, size, alloc_bytes(size), gfp, node);
			return obj;
		}
		gfp &= ~__GFP_ACCOUNT;
		if (size <= MAG_MAX_SMALL)
			return node == NUMA_NO_NODE ? alloc_any(size, gfp) :
			       alloc_node(size, gfp, node);
	}
	obj = mag_large_alloc(size, gfp, node);
	mag_trace_alloc(obj, size, alloc_bytes(size), gfp, node);
	return obj;
}

static __always_inline void *alloc_any(size_t size, gfp_t gfp)
{
	unsigned int cls;
	void *obj;

	if (mag_should_fail(size, gfp))
		return NULL;
	if (unlikely(size - 1 >= MAG_MAX_SMALL) || unlikely(gfp & MAG_GFP_DIVERT))
		return alloc_other(size, gfp, NUMA_NO_NODE);
	mag_might_alloc(gfp);
	cls = mag_size_class(size);
	/*
	 * No debug test here: switching a pool's debug mode on drains its
	 * magazines to the sentinel, and the slow path installs none then.
	 */
	obj = mag_pop_class(cls);
	if (unlikely(!obj))
		return alloc_miss(&mag_generic[cls], gfp, size);
	if (unlikely(want_init_on_alloc(gfp)))
		return mag_memset_obj(obj, 0, mag_class_size[cls]);
	return obj;
}

/**
 * mag_alloc() - allocate memory
 * @size: bytes; 0 gives ZERO_SIZE_PTR
 * @gfp: allocation flags, as for kmalloc(): __GFP_ZERO zeroes; flags
 *	without __GFP_DIRECT_RECLAIM never sleep; GFP_NOFS and GFP_NOIO hold
 *	for the memory magalloc takes on the caller's behalf too;
 *	__GFP_NOFAIL never gets NULL (magalloc retries, waiting in between);
 *	__GFP_DMA and __GFP_DMA32 always get NULL; __GFP_ACCOUNT charges
 *	the object to the caller's memory cgroup, as kmalloc() does (on
 *	pages of that cgroup's own: see memcg.c for the cost)
 *
 * Return: a pointer aligned to 8 bytes (to its size for powers of two up
 * to 32 KiB, to a page beyond), or NULL.  Never warns (but for a huge
 * __GFP_NOFAIL request, where the page allocator warns, as for kmalloc()).
 */
void *mag_alloc(size_t size, gfp_t gfp)
{
	return mag_alloc_hook(alloc_any(size, gfp), size, gfp);
}
EXPORT_SYMBOL_GPL(mag_alloc);

static void *alloc_node(size_t size, gfp_t gfp, int node)
{
	struct mag_central *c;
	void *obj;

	if (node == NUMA_NO_NODE || node == mag_home_node())
		return alloc_any(size, gfp);
	if (mag_should_fail(size, gfp))
		return NULL;
	if (node < 0 || node >= nr_node_ids)
		return NULL;
	if (!node_state(node, N_MEMORY))
		return alloc_any(size, gfp);
	if (size - 1 >= MAG_MAX_SMALL || (gfp & MAG_GFP_DIVERT))
		return alloc_other(size, gfp, node);
	mag_might_alloc(gfp);
	c = mag_generic[mag_size_class(size)].central[node];
	if (mag_pool_debug(c->pool)) {
		obj = mag_debug_alloc(c->pool, node, size, gfp);
		mag_trace_alloc(obj, size, c->pool->object_size, gfp, node);
		return obj;
	}
	while (!(obj = mag_central_alloc_one(c))) {
		if (!mag_central_grow(c, gfp))
			continue;
		obj = mag_alloc_elsewhere(c->pool, gfp, node);
		if (obj || !mag_retry(gfp))
			break;
	}
	obj = mag_init_obj(c->pool, obj, gfp);
	mag_trace_alloc(obj, size, c->pool->size, gfp, node);
	return obj;
}

/**
 * mag_alloc_node() - allocate memory on a NUMA node
 * @size: bytes
 * @gfp: allocation flags, as for mag_alloc()
 * @node: the node, or NUMA_NO_NODE for this CPU's
 *
 * Objects for another node than this CPU's come from that node's central
 * list directly, without magazines.  A node without memory falls back to
 * this CPU's node.
 *
 * Return: the object, or NULL (also for a node number out of range).
 */
void *mag_alloc_node(size_t size, gfp_t gfp, int node)
{
	return mag_alloc_hook(alloc_node(size, gfp, node), size, gfp);
}
EXPORT_SYMBOL_GPL(mag_alloc_node);

/*
 * A full magazine, a busy CPU, debug mode, init_on_free, an immediate
 * double free, or no object of an ordinary span in a live arena.  Under RCU, so the
 * arena found live stays readable (arenas are freed a grace period after
 * they leave the registry).
 */
static noinline void free_miss(const void *ptr)
{
	const struct mag_arena *a = mag_arena_of(ptr);
	unsigned int idx = mag_page_index(ptr);
	struct mag_pool *pool = NULL;

	rcu_read_lock();
	/*
	 * Debug mode reads nothing at @ptr before the registry vouches for
	 * it; tracing (the same key) goes the same way, and sees every free.
	 */
	if (static_branch_unlikely(&mag_debug_key))
		mag_trace_free(ptr);
	else if ((long)ptr < 0 && idx >= MAG_HDR_PAGES && mag_arena_live(a))
		pool = raw_cpu_ptr(READ_ONCE(a->cpu[idx]))->pool;
	if (pool)
		pool_free(pool, (void *)ptr, a->node);
	else
		free_other(ptr);
	rcu_read_unlock();
}

/**
 * mag_free() - free memory from mag_alloc() and friends
 * @ptr: the object; NULL and ZERO_SIZE_PTR are ignored
 *
 * Any context but NMI.  A pointer that magalloc does not own, or a double
 * free, is caught when the object would go back to its span (at once in
 * debug mode), reported and ignored.
 */
void mag_free(const void *ptr)
{
	/* generic KASAN only: poison, quarantine (kasan.c) */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC) && mag_kasan_free(ptr))
		return;
	if (unlikely(!mag_push_obj(ptr)))
		free_miss(ptr);
}
EXPORT_SYMBOL_GPL(mag_free);

/**
 * mag_free_unchecked() - mag_free() without its KASAN entry
 * @ptr: an object leaving the KASAN quarantine (kasan.c)
 */
void mag_free_unchecked(const void *ptr)
{
	if (unlikely(!mag_push_obj(ptr)))
		free_miss(ptr);
}

/**
 * mag_ksize() - usable size of an object
 * @ptr: the object
 *
 * Return: its class size, or whole pages for large objects; 0 for NULL or
 * a pointer magalloc does not own.
 */
size_t mag_ksize(const void *ptr)
{
	struct mag_span *s;
	size_t size;

	if (ZERO_OR_NULL_PTR(ptr))
		return 0;
	rcu_read_lock();
	s = (unsigned long)ptr & (MAG_ARENA_SIZE - 1) ? mag_span_of(ptr) : NULL;
	if (!((unsigned long)ptr & (MAG_ARENA_SIZE - 1)))
		size = mag_huge_size(ptr);
	else if (!s)
		size = 0;
	else if (s->state == MAG_SPAN_LARGE)
		size = ptr == s->base ? s->npages << PAGE_SHIFT : 0;
	else if (s->state == MAG_SPAN_DEBUG)
		size = mag_debug_ksize(s, ptr);
	else
		size = s->pool->size;
	rcu_read_unlock();
	/* the caller may use all of it: under KASAN, as SLUB's ksize() */
	if (size)
		mag_kasan_unpoison((void *)ptr, size);
	return size;
}
EXPORT_SYMBOL_GPL(mag_ksize);

/**
 * mag_alloc_bulk() - allocate many objects of one size
 * @size: bytes per object
 * @gfp: allocation flags, as for mag_alloc()
 * @nr: how many
 * @objs: where to store them
 *
 * Takes as many as it can per visit to this CPU's magazine.
 *
 * Return: @nr, or 0 if not all could be had (none are then allocated).
 */
int mag_alloc_bulk(size_t size, gfp_t gfp, size_t nr, void **objs)
{
	struct mag_pool *pool;
	struct mag_magazine *m;
	size_t i = 0, n, k;

	if (mag_should_fail(size * nr, gfp))
		return 0;
	if (size > MAG_MAX_SMALL || !size || (gfp & MAG_GFP_DIVERT)) {
		for (; i < nr; i++) {
			objs[i] = mag_alloc(size, gfp);
			if (!objs[i]) {
				mag_free_bulk(i, objs);
				return 0;
			}
		}
		return nr;
	}
	mag_might_alloc(gfp);
	pool = &mag_generic[mag_size_class(size)];
	while (i < nr) {
		n = 0;
		preempt_disable();
		/* a pool in debug mode has only the sentinel: n stays 0 */
		if (mag_busy_enter()) {
			m = mag_local_cpu(pool)->loaded;
			n = min_t(size_t, m->rounds, nr - i);
			/* never a write to the sentinel */
			if (n) {
				m->rounds -= n;
				memcpy(&objs[i], &m->objs[m->rounds], n * sizeof(void *));
			}
		}
		mag_busy_exit();
		preempt_enable();
		/* the slow path's objects come initialised */
		if (unlikely(want_init_on_alloc(gfp)) && pool->init)
			for (k = 0; k < n; k++)
				mag_memset_obj(objs[i + k], 0, pool->size);
		i += n;
		if (i < nr) {
			objs[i] = mag_alloc_slow(pool, gfp, size);
			if (!objs[i])
				break;
			i++;
		}
	}
	/* allocated, even those a failure gives back at once */
	for (n = 0; n < i; n++)
		mag_alloc_hook(objs[n], size, gfp);
	if (i == nr)
		return nr;
	mag_free_bulk(i, objs);
	return 0;
}
EXPORT_SYMBOL_GPL(mag_alloc_bulk);

/**
 * mag_free_bulk() - free many objects
 * @nr: how many
 * @objs: the objects, of any sizes
 */
void mag_free_bulk(size_t nr, void **objs)
{
	size_t i = 0;

	/* under KASAN, each through mag_free()'s quarantine entry */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC)) {
		for (; i < nr; i++)
			mag_free(objs[i]);
		return;
	}
	/* as many pushes as succeed in one busy region; mag_free() the rest */
	while (i < nr) {
		preempt_disable();
		if (likely(mag_busy_enter()))
			while (i < nr && mag_push_obj_busy(objs[i]))
				i++;
		mag_busy_exit();
		preempt_enable();
		if (i < nr)
			mag_free(objs[i++]);
	}
}
EXPORT_SYMBOL_GPL(mag_free_bulk);

/*
 * Magazine capacity: about 32 KiB of objects, at least 2 and at most 62
 * (62 pointers and the header fill 512 bytes, eight cache lines).
 */
static unsigned int magazine_size(unsigned int size)
{
	return clamp_t(unsigned int, SZ_32K / size, 2, 62);
}

static void pool_free_cpu(struct mag_pool *pool)
{
	int node;

	if (!pool->generic)
		for_each_node(node)
			free_percpu(pool->cpu[node]);
	kfree(pool->cpu);
	pool->cpu = NULL;
}

static int pool_init(struct mag_pool *pool, const char *name, unsigned int cls,
		     void (*ctor)(void *))
{
	int cpu, node;

	pool->name = name;
	pool->cls = cls;
	pool->size = mag_class_size[cls];
	pool->object_size = pool->size;
	mag_debug_geometry(pool);
	pool->mag_size = magazine_size(pool->size);
	pool->ctor = ctor;
	pool->init = !ctor;
	pool->cpu = kcalloc(nr_node_ids, sizeof(*pool->cpu), GFP_KERNEL);
	if (!pool->cpu)
		return -ENOMEM;
	for_each_node(node) {
		if (pool->generic)
			pool->cpu[node] = mag_generic_cpu[node] + cls;
		else
			pool->cpu[node] = alloc_percpu(struct mag_cpu);
		if (!pool->cpu[node])
			goto fail;
		for_each_possible_cpu(cpu) {
			struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

			pc->loaded = mag_sentinel_of(cpu);
			pc->prev = mag_sentinel_of(cpu);
			pc->pool = pool;
			pc->node = node;
			pc->limit = mag_limit_start(pool);
		}
	}
	if (mag_central_init(pool, mag_heaps, GFP_KERNEL))
		goto fail;
	return 0;
fail:
	pool_free_cpu(pool);
	return -ENOMEM;
}

/**
 * mag_nearest_node() - the nearest node with memory
 * @node: from where, or NUMA_NO_NODE
 * @skip: nodes not to answer, or NULL
 *
 * Return: @node itself if it has memory and is not skipped, else the
 * node with memory nearest to it by node_distance() (the first one for
 * NUMA_NO_NODE), or NUMA_NO_NODE if every one is skipped.
 */
int mag_nearest_node(int node, const nodemask_t *skip)
{
	int n, best = NUMA_NO_NODE;

	if (node >= nr_node_ids)
		node = NUMA_NO_NODE;
	for_each_node_state(n, N_MEMORY) {
		if (skip && node_isset(n, *skip))
			continue;
		if (best == NUMA_NO_NODE ||
		    (node != NUMA_NO_NODE && node_distance(node, n) < node_distance(node, best)))
			best = n;
	}
	return best;
}

/**
 * mag_cpu_set_home() - set a CPU's home node and generic magazines
 * @cpu: a CPU that runs no magalloc code: at load, or before it comes
 *	online (its node may be known only then)
 *
 * A CPU of a node without memory allocates from the nearest node with
 * memory, and so does one whose node is unknown (NUMA_NO_NODE).
 */
void mag_cpu_set_home(unsigned int cpu)
{
	int node = mag_nearest_node(cpu_to_node(cpu), NULL);

	per_cpu(mag_front, cpu).node = node;
	per_cpu(mag_front, cpu).local = per_cpu_ptr(mag_generic_cpu[node], cpu);
}

/*
 * Drain every CPU's magazines and every depot of a pool that nothing uses
 * any more.  Returns the objects still allocated.
 */
static unsigned long pool_drain(struct mag_pool *pool)
{
	unsigned long live = 0;
	int cpu, node;

	for_each_possible_cpu(cpu)
		mag_cpu_drain(pool, cpu, NUMA_NO_NODE);
	for_each_node(node) {
		mag_central_trim(pool->central[node], true, UINT_MAX);
		live += mag_central_live(pool->central[node]);
	}
	return live;
}

static void pool_destroy(struct mag_pool *pool)
{
	mag_central_destroy(pool);
	pool_free_cpu(pool);
	if (!pool->generic)
		kfree_const(pool->name);
}

/**
 * mag_cache_create() - create a typed cache
 * @name: for reports (copied)
 * @size: object size, 1 to MAG_MAX_SMALL bytes
 * @align: alignment, a power of two (0 means 8); at most MAG_MAX_SMALL
 * @flags: must be 0
 * @ctor: constructor, or NULL; run once on each object when its span is
 *	made, so objects must be freed back in their constructed state
 *
 * Context: process context, may sleep.
 * Return: the cache, or NULL on bad arguments or no memory.
 */
struct mag_cache *mag_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *))
{
	struct mag_cache *cache;
	unsigned int cls;
	int ret;

	if (!name || !size || size > MAG_MAX_SMALL || flags ||
	    (align & (align - 1)) || align > MAG_MAX_SMALL)
		return NULL;
	align = max(align, 8U);
	for (cls = mag_size_class(size); cls < MAG_NR_CLASSES; cls++)
		if (mag_class_size[cls] % align == 0)
			break;
	if (cls == MAG_NR_CLASSES)
		return NULL;
	cache = kzalloc(sizeof(*cache), GFP_KERNEL);
	if (!cache)
		return NULL;
	cache->flags = flags;
	ret = ida_alloc_min(&mag_cache_ida, MAG_NR_CLASSES, GFP_KERNEL);
	if (ret < 0) {
		kfree(cache);
		return NULL;
	}
	cache->pool.id = ret;
	name = kstrdup_const(name, GFP_KERNEL);
	if (!name || pool_init(&cache->pool, name, cls, ctor)) {
		ida_free(&mag_cache_ida, cache->pool.id);
		kfree_const(name);
		kfree(cache);
		return NULL;
	}
	cache->pool.object_size = size;
	mutex_lock(&mag_pools_mutex);
	list_add_tail(&cache->pool.link, &mag_pools);
	mutex_unlock(&mag_pools_mutex);
	if (mag_debug_wanted(name))
		mag_pool_set_debug(&cache->pool, true);
	mag_sysfs_add(&cache->pool);
	return cache;
}
EXPORT_SYMBOL_GPL(mag_cache_create);

/* Refused zones, and __GFP_ACCOUNT (see alloc_other()). */
static noinline void *cache_alloc_other(struct mag_cache *cache, gfp_t gfp)
{
	void *obj;

	if (gfp & MAG_GFP_REFUSED)
		return NULL;
	mag_might_alloc(gfp);
	if (mag_memcg_cache_alloc(&cache->pool, gfp, &obj)) {
		mag_trace_alloc(obj, cache->pool.object_size, cache->pool.size, gfp, NUMA_NO_NODE);
		return obj;
	}
	return pool_alloc(&cache->pool, gfp & ~__GFP_ACCOUNT);
}

/**
 * mag_cache_alloc() - allocate an object from a typed cache
 * @cache: the cache
 * @gfp: allocation flags, as for mag_alloc(); __GFP_ZERO is ignored for
 *	caches with a constructor, as by SLUB; __GFP_ACCOUNT charges the
 *	object to the caller's memory cgroup, as for mag_alloc()
 *
 * Return: the object, or NULL.
 */
void *mag_cache_alloc(struct mag_cache *cache, gfp_t gfp)
{
	void *obj;

	if (mag_should_fail(cache->pool.size, gfp))
		return NULL;
	if (unlikely(gfp & MAG_GFP_DIVERT)) {
		obj = cache_alloc_other(cache, gfp);
	} else {
		mag_might_alloc(gfp);
		obj = pool_alloc(&cache->pool, gfp);
	}
	return mag_alloc_hook(obj, cache->pool.size, gfp);
}
EXPORT_SYMBOL_GPL(mag_cache_alloc);

/**
 * mag_cache_free() - free an object to its typed cache
 * @cache: the cache
 * @obj: the object, or NULL
 *
 * The object goes back to the cache it came from, whatever @cache says,
 * exactly as mag_free() does; while a pool is in debug mode, an object of
 * another cache (or none) is reported and left alone.
 */
void mag_cache_free(struct mag_cache *cache, void *obj)
{
	struct mag_span *s;

	if (static_branch_unlikely(&mag_debug_key) && !ZERO_OR_NULL_PTR(obj)) {
		rcu_read_lock();
		s = mag_span_of(obj);
		if (!s || s->state == MAG_SPAN_LARGE ||
		    (s->pool != &cache->pool && s->pool->parent != &cache->pool)) {
			mag_report_bad_free(obj, s ? MAG_BAD_POOL : MAG_BAD_FOREIGN, &cache->pool);
			s = NULL;
		}
		rcu_read_unlock();
		if (!s)
			return;
	}
	mag_free(obj);
}
EXPORT_SYMBOL_GPL(mag_cache_free);

/**
 * mag_cache_destroy() - destroy a typed cache
 * @cache: the cache, or NULL; nothing may use it any more
 *
 * If objects are still allocated, they are reported and the cache's
 * memory is kept until the module unloads, as SLUB keeps such slabs.
 *
 * Context: process context, may sleep.
 */
void mag_cache_destroy(struct mag_cache *cache)
{
	unsigned long live;

	if (!cache)
		return;
	mag_sysfs_del(&cache->pool);
	mag_kasan_flush();
	if (cache->pool.debug)
		mag_pool_set_debug(&cache->pool, false);
	/* its memory cgroups' pools first: they report what they keep */
	mag_memcg_cache_gone(&cache->pool);
	mutex_lock(&mag_pools_mutex);
	list_del(&cache->pool.link);
	live = pool_drain(&cache->pool);
	if (live) {
		pr_err("magalloc: cache %s destroyed with %lu objects allocated; its memory is kept until unload\n",
		       cache->pool.name, live);
		list_add_tail(&cache->pool.link, &mag_zombies);
		mutex_unlock(&mag_pools_mutex);
		return;
	}
	mutex_unlock(&mag_pools_mutex);
	ida_free(&mag_cache_ida, cache->pool.id);
	pool_destroy(&cache->pool);
	kfree(cache);
}
EXPORT_SYMBOL_GPL(mag_cache_destroy);

/* Release a pool at unload, reporting what consumers still hold. */
static void pool_unload(struct mag_pool *pool)
{
	unsigned long live = pool_drain(pool);

	if (live)
		pr_err("%s: %lu objects (%lu bytes) still allocated at unload\n",
		       pool->name, live, live * pool->size);
	pool_destroy(pool);
}

int mag_api_init(void)
{
	static char names[MAG_NR_CLASSES][16];
	unsigned int cls;
	int cpu, node;

	mag_generic_cpu = kcalloc(nr_node_ids, sizeof(*mag_generic_cpu), GFP_KERNEL);
	if (!mag_generic_cpu)
		return -ENOMEM;
	for_each_node(node) {
		mag_generic_cpu[node] = __alloc_percpu(MAG_NR_CLASSES * sizeof(struct mag_cpu),
						       __alignof__(struct mag_cpu));
		if (!mag_generic_cpu[node])
			goto fail;
	}
	for_each_possible_cpu(cpu) {
		mag_sentinel_of(cpu)->next = MAG_SENTINEL;
		per_cpu(mag_dummy_cpu, cpu).loaded = mag_sentinel_of(cpu);
		per_cpu(mag_dummy_cpu, cpu).prev = mag_sentinel_of(cpu);
		per_cpu(mag_dummy_cpu, cpu).node = NUMA_NO_NODE;
		mag_cpu_set_home(cpu);
	}
	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		snprintf(names[cls], sizeof(names[cls]), "mag-%u", mag_class_size[cls]);
		mag_generic[cls].generic = true;
		mag_generic[cls].id = cls;
		if (pool_init(&mag_generic[cls], names[cls], cls, NULL))
			goto fail;
		list_add_tail(&mag_generic[cls].link, &mag_pools);
	}
	return 0;
fail:
	mag_api_exit();
	return -ENOMEM;
}

/* Module unload: no consumer is left, nothing else runs magalloc code. */
void mag_api_exit(void)
{
	struct mag_pool *pool, *tmp;
	int cpu, node;

	mutex_lock(&mag_pools_mutex);
	list_splice_init(&mag_zombies, &mag_pools);
	list_for_each_entry_safe(pool, tmp, &mag_pools, link) {
		list_del(&pool->link);
		pool_unload(pool);
		if (!pool->generic)
			kfree(container_of(pool, struct mag_cache, pool));
	}
	mutex_unlock(&mag_pools_mutex);
	ida_destroy(&mag_cache_ida);
	for_each_possible_cpu(cpu)
		per_cpu(mag_front, cpu).local = NULL;
	if (mag_generic_cpu)
		for_each_node(node)
			free_percpu(mag_generic_cpu[node]);
	kfree(mag_generic_cpu);
	mag_generic_cpu = NULL;
}
