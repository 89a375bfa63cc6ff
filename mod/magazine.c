// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc per-CPU magazines: Go's mcache, built as Bonwick's magazine layer.
 *
 * Each CPU holds, for each pool and node, two magazines (struct mag_cpu):
 * @loaded, which the fast paths in magalloc.h pop from and push to, and
 * @prev, which is always full or empty.  A fast path is a pointer pop or
 * push on this CPU's own lines, with preemption off and this CPU's busy
 * mark set.  Allocations use the magazines of the CPU's own node; a free
 * goes to the magazines of the object's node, so objects of another node
 * collect in magazines of their own and go home, a whole magazine at a
 * time, to their node's central (SLAB's alien caches, as magazines).
 *
 * Slow paths (here) run when @loaded is empty on alloc or full on free, or
 * when the busy mark shows an interrupted user of the magazines on this
 * CPU:
 *
 *   alloc: if @prev is full, swap the two and pop.  Else, under the node
 *          central's lock, trade the empty @prev for a full magazine from
 *          the depot; failing that, fill @loaded from the spans; failing
 *          that, leave the busy region, grow the central by one span
 *          (this may sleep if gfp allows) and retry.
 *   free:  if @prev is empty, swap and push.  Else trade the full @prev
 *          for an empty magazine from the depot of the object's node (or
 *          a new one); if no magazine can be had, free the object straight
 *          into its span.
 *
 * Bounded caches.  A magazine holds at most its CPU's @limit for the pool
 * (struct mag_cpu), not its capacity.  A typed cache's limit is its
 * magazine size from the start (at most about 32 KiB of objects, 62
 * pointers).  A generic pool's starts at 0 on every CPU and grows, by a
 * quarter of the magazine size or by doubling, each time the CPU visits
 * the depot (both magazines empty on alloc, or full on free), while the
 * CPU's budget allows: the two magazines' worth at the limit, 2 * limit *
 * class size, summed over every generic pool and node, stays within
 * cpu_cache_kib (512 KiB).  A pool that needs more takes it from the
 * others, round robin: the victim's magazines go to its depot and its
 * limit to 0.  A full magazine from the depot is cut to the taker's limit
 * (the rest goes to the spans).  A drain (the trim of a pool a CPU left
 * alone for a period, the shrinker, hotplug) sets the limit back to 0.  So
 * a CPU parks at most cpu_cache_kib of generic objects, and a pool used
 * little parks little; a hot one reaches full magazines after a few depot
 * visits.
 *
 * A pool in debug mode (debug.c) has no magazines: the slow paths look at
 * its flag inside their busy region, never install one for it, and send
 * its allocations to debug.c and its frees to the central.  Switching it
 * on drains every CPU's magazines of it; a slow path that saw the flag
 * clear was in its busy region, which the drain waits out.
 *
 * The busy mark is what makes this safe from interrupts without disabling
 * them: an interrupt (hardirq or softirq) that lands inside a marked region
 * sees the mark and goes to the locked central path, which never touches
 * per-CPU magazines.  Memory is never allocated inside a marked region;
 * magazines are allocated outside it and handed in.  The central lock is
 * taken inside a marked region with interrupts disabled, so an interrupt
 * can never wait on a lock its CPU holds.
 */
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/static_key.h>

#include "internal.h"
#include "trace.h"

/* On a line of its own: only this CPU writes it. */
DEFINE_PER_CPU_ALIGNED(struct mag_front, mag_front);
EXPORT_PER_CPU_SYMBOL_GPL(mag_front);
#ifdef CONFIG_LOCKDEP
struct lockdep_map mag_busy_map = STATIC_LOCKDEP_MAP_INIT("mag_busy", &mag_busy_map);
#endif

unsigned int mag_cpu_cache_kib = 512;
module_param_named(cpu_cache_kib, mag_cpu_cache_kib, uint, 0644);
MODULE_PARM_DESC(cpu_cache_kib,
		 "KiB of generic objects a CPU's magazines may hold, all pools and nodes (default 512)");

/* Per CPU, what its generic pools' limits reserve (see above). */
DEFINE_PER_CPU(struct mag_budget, mag_budget);

/* What @limit reserves of @pc's CPU's budget: both magazines, full. */
static unsigned long budget_charge(const struct mag_cpu *pc, unsigned int limit)
{
	return pc->pool->generic ? 2UL * limit * pc->pool->size : 0;
}

/* The limit a pool's CPU starts with, and goes back to when drained. */
unsigned int mag_limit_start(const struct mag_pool *pool)
{
	return pool->generic ? 0 : pool->mag_size;
}

struct mag_magazine *mag_magazine_alloc(struct mag_pool *pool, gfp_t gfp, int node)
{
	struct mag_magazine *m;

	m = kmalloc_node(mag_line_size(struct_size(m, objs, pool->mag_size)),
			 mag_meta_gfp(gfp), node);
	if (m) {
		m->rounds = 0;
		/* set to its CPU's limit when a CPU loads it */
		m->size = 0;
		m->next = NULL;
		/*
		 * kmemleak scans @next (a depot's chain) and nothing else:
		 * a slot above @rounds keeps the pointer to an object handed
		 * out, and read as a reference it would hide that object's
		 * leak.  The slots below hold free objects, which are no
		 * kmemleak objects.
		 */
		kmemleak_scan_area(&m->next, sizeof(m->next), mag_meta_gfp(gfp));
	}
	return m;
}

/*
 * Make room in this CPU's budget: drain the next generic pool, round
 * robin, that holds a limit, other than @keep.  Busy region held, no
 * central lock.  False if there was none.
 */
static bool evict_one(struct mag_budget *b, struct mag_cpu *keep)
{
	unsigned int total = nr_node_ids * MAG_NR_CLASSES, i, cls, node;
	struct mag_cpu *v;

	for (i = 0; i < total; i++) {
		if (++b->cursor >= total)
			b->cursor = 0;
		cls = b->cursor % MAG_NR_CLASSES;
		node = b->cursor / MAG_NR_CLASSES;
		if (!cls || !node_possible(node))
			continue;
		v = this_cpu_ptr(mag_generic[cls].cpu[node]);
		if (v == keep || !v->limit)
			continue;
		b->evictions++;
		mag_cpu_drain(&mag_generic[cls], smp_processor_id(), node);
		return true;
	}
	return false;
}

/*
 * This CPU is on its way to the depot for @pc's pool: let its magazines
 * hold more, within the budget (see the top of this file).  Busy region
 * held, no central lock.
 */
static void grow(struct mag_cpu *pc)
{
	struct mag_pool *pool = pc->pool;
	unsigned long budget, room;
	struct mag_budget *b;
	unsigned int want;

	if (pc->limit >= pool->mag_size)
		return;
	want = min(pool->mag_size, max(2 * pc->limit, DIV_ROUND_UP(pool->mag_size, 4)));
	if (pool->generic) {
		b = this_cpu_ptr(&mag_budget);
		budget = (unsigned long)READ_ONCE(mag_cpu_cache_kib) * SZ_1K;
		while (b->reserved + budget_charge(pc, want - pc->limit) > budget &&
		       evict_one(b, pc))
			;
		room = budget > b->reserved ? budget - b->reserved : 0;
		want = min_t(unsigned long, want, pc->limit + room / budget_charge(pc, 1));
		if (want <= pc->limit)
			return;
		b->reserved += budget_charge(pc, want - pc->limit);
	}
	pc->limit = want;
	if (!mag_is_sentinel(pc->loaded))
		pc->loaded->size = want;
}

static void *pop(struct mag_magazine *m)
{
	mag_trace(m, true);
	mag_trace(&m->objs[m->rounds - 1], false);
	return m->objs[--m->rounds];
}

/* @obj is one a caller frees (flush() alone pushes): kmemleak hears of it. */
static void push(struct mag_magazine *m, void *obj)
{
	mag_free_hook(obj);
	mag_trace(m, true);
	mag_trace(&m->objs[m->rounds], true);
	m->objs[m->rounds++] = obj;
}

/*
 * Busy region held.  Returns an object, or NULL when the node has none
 * left in spans or depot.  *spare, if set, is an empty magazine to use
 * when this CPU has none yet.
 */
static void *refill(struct mag_cpu *pc, struct mag_central *c,
		    struct mag_magazine **spare)
{
	struct mag_magazine *m = pc->loaded;
	unsigned long flags;
	void *obj = NULL;

	/*
	 * The task may have moved to another CPU since its fast path missed:
	 * this CPU's loaded magazine may have objects.
	 */
	if (m->rounds)
		return pop(m);
	mag_trace(pc, true);
	pc->slow++;
	m = pc->prev;
	if (m->rounds) {
		pc->prev = pc->loaded;
		pc->loaded = m;
		m->size = pc->limit;
		return pop(m);
	}
	grow(pc);
	spin_lock_irqsave(&c->lock, flags);
	c->locks++;
	mag_trace(&c->lock, true);
	m = pc->limit ? mag_depot_get_full(c, pc->limit) : NULL;
	if (m) {
		mag_depot_put(c, pc->prev);
		pc->prev = pc->loaded;
		pc->loaded = m;
		m->size = pc->limit;
		trace_magalloc_refill(c->pool->name, c->node, m->rounds, true);
		obj = pop(m);
	} else {
		m = pc->loaded;
		if (mag_is_sentinel(m) && pc->limit) {
			m = *spare ?: mag_depot_get(c, false);
			if (m == *spare)
				*spare = NULL;
			if (m)
				pc->loaded = m;
		}
		if (m && !mag_is_sentinel(m)) {
			m->size = pc->limit;
			m->rounds = mag_fill_locked(c, m->objs, m->size);
			trace_magalloc_refill(c->pool->name, c->node, m->rounds, false);
			if (m->rounds)
				obj = pop(m);
		} else {
			/* no magazine, or the budget left this pool none */
			mag_fill_locked(c, &obj, 1);
		}
	}
	spin_unlock_irqrestore(&c->lock, flags);
	return obj;
}

/**
 * mag_alloc_elsewhere() - one object from another node than @node
 * @pool: the pool
 * @gfp: allocation flags; none with __GFP_THISNODE
 * @node: the node that could not grow (no free 2 MiB block there)
 *
 * As the page allocator falls back along the zonelist, take an object
 * from the nearest node whose central has one or can grow.  It is that
 * node's object: its free goes home there.
 *
 * Return: the object, or NULL.
 */
void *mag_alloc_elsewhere(struct mag_pool *pool, gfp_t gfp, int node)
{
	nodemask_t tried = NODE_MASK_NONE;
	struct mag_central *c;
	void *obj;
	int n;

	if (gfp & __GFP_THISNODE)
		return NULL;
	node_set(node, tried);
	while ((n = mag_nearest_node(node, &tried)) != NUMA_NO_NODE) {
		node_set(n, tried);
		c = pool->central[n];
		obj = mag_central_alloc_one(c);
		if (!obj && !mag_central_grow(c, gfp))
			obj = mag_central_alloc_one(c);
		if (obj)
			return obj;
	}
	return NULL;
}

/*
 * One object from the home node's spans: the paths that have no magazine,
 * tracing's among them (the refill's path has no tracepoint in it).
 */
static void *central_one(struct mag_pool *pool, gfp_t gfp, size_t size)
{
	void *obj = mag_central_alloc_one(pool->central[mag_home_node()]);

	if (obj)
		mag_trace_alloc(obj, size, pool->size, gfp, NUMA_NO_NODE);
	return obj;
}

/**
 * mag_alloc_slow() - allocate when this CPU's magazines of @pool are empty
 * @pool: the pool
 * @gfp: allocation flags
 * @size: bytes the caller asked for (debug mode keeps the rest a red zone)
 *
 * Return: the object, initialised as init_on_alloc and __GFP_ZERO say, or
 * NULL.
 */
void *mag_alloc_slow(struct mag_pool *pool, gfp_t gfp, size_t size)
{
	struct mag_magazine *spare = NULL;
	struct mag_cpu *pc;
	void *obj;
	int node, cpu;

	for (;;) {
		if (unlikely(mag_pool_debug(pool)))
			break;
		/* A hint only: this task may run elsewhere by the time it looks. */
		cpu = raw_smp_processor_id();
		if (!spare && READ_ONCE(per_cpu_ptr(pool->cpu[mag_home_node()], cpu)->loaded) ==
			      mag_sentinel_of(cpu) && !mag_bypass())
			spare = mag_magazine_alloc(pool, gfp, mag_home_node());

		if (mag_slow_enter()) {
			/* Debug mode or tracing came on since: no magazine. */
			if (unlikely(mag_pool_nocache(pool))) {
				mag_slow_exit();
				if (mag_pool_debug(pool))
					break;
				obj = central_one(pool, gfp, size);
			} else {
				pc = mag_local_cpu(pool);
				pc->misses++;
				obj = refill(pc, pool->central[pc->node], &spare);
				mag_slow_exit();
			}
		} else {
			/* an interrupted magazine user on this CPU */
			obj = central_one(pool, gfp, size);
		}
		if (obj)
			goto out;
		node = mag_home_node();
		if (!mag_central_grow(pool->central[node], gfp))
			continue;
		obj = mag_alloc_elsewhere(pool, gfp, node);
		if (obj)
			mag_trace_alloc(obj, size, pool->size, gfp, node);
		if (obj || !mag_retry(gfp))
			goto out;
	}
	kfree(spare);
	obj = mag_debug_alloc(pool, NUMA_NO_NODE, size, gfp);
	mag_trace_alloc(obj, size, pool->object_size, gfp, NUMA_NO_NODE);
	return obj;
out:
	kfree(spare);
	return mag_init_obj(pool, obj, gfp);
}

enum mag_flush {
	MAG_FLUSHED,		/* the object is in a magazine */
	MAG_FLUSH_DOUBLE,	/* it was there already: a double free */
	MAG_FLUSH_NEED_MAG,	/* an empty magazine is needed */
	MAG_FLUSH_UNCACHED,	/* the budget left this pool no magazine */
};

/* Busy region held; @obj is of @pc's node. */
static enum mag_flush flush(struct mag_cpu *pc, struct mag_central *c, void *obj,
			    struct mag_magazine **spare)
{
	struct mag_magazine *m = pc->loaded;
	unsigned long flags;

	/*
	 * The fast path's check again, for a full magazine too: after a
	 * push, the object is the loaded magazine's top, whichever path
	 * pushed it.
	 */
	if (m->rounds && m->objs[m->rounds - 1] == obj)
		return MAG_FLUSH_DOUBLE;
	/* As in refill(): this may not be the CPU whose magazine was full. */
	if (m->rounds < m->size) {
		push(m, obj);
		return MAG_FLUSHED;
	}
	mag_trace(pc, true);
	pc->slow++;
	m = pc->prev;
	if (!mag_is_sentinel(m) && !m->rounds) {
		pc->prev = pc->loaded;
		pc->loaded = m;
		m->size = pc->limit;
		push(m, obj);
		return MAG_FLUSHED;
	}
	grow(pc);
	m = pc->loaded;
	if (m->rounds < m->size) {
		push(m, obj);
		return MAG_FLUSHED;
	}
	if (!pc->limit)
		return MAG_FLUSH_UNCACHED;
	spin_lock_irqsave(&c->lock, flags);
	c->locks++;
	mag_trace(&c->lock, true);
	m = *spare ?: mag_depot_get(c, false);
	if (m) {
		if (m == *spare)
			*spare = NULL;
		trace_magalloc_flush(c->pool->name, c->node, pc->prev->rounds);
		mag_depot_put(c, pc->prev);
		pc->prev = pc->loaded;
		pc->loaded = m;
		m->size = pc->limit;
		push(m, obj);
	}
	spin_unlock_irqrestore(&c->lock, flags);
	return m ? MAG_FLUSHED : MAG_FLUSH_NEED_MAG;
}

/* @obj is one of @pool's, from @node's heap.  Any context but NMI. */
void mag_free_slow(struct mag_pool *pool, void *obj, int node)
{
	struct mag_magazine *spare = NULL;
	enum mag_flush done;

	for (;;) {
		if (!mag_slow_enter()) {
			mag_central_free_obj(obj);
			break;
		}
		/* In debug mode the pool has no magazines, nor while tracing. */
		if (unlikely(mag_pool_nocache(pool))) {
			mag_slow_exit();
			mag_central_free_obj(obj);
			break;
		}
		done = flush(this_cpu_ptr(pool->cpu[node]), pool->central[node], obj, &spare);
		mag_slow_exit();
		if (done == MAG_FLUSHED)
			break;
		if (done == MAG_FLUSH_DOUBLE) {
			mag_report_bad_free(obj, MAG_BAD_DOUBLE, pool);
			break;
		}
		/* Frees must not sleep or fail: no magazine, no caching. */
		if (done == MAG_FLUSH_NEED_MAG && !spare)
			spare = mag_magazine_alloc(pool, MAG_FREE_GFP, node);
		if (done == MAG_FLUSH_UNCACHED || !spare) {
			mag_central_free_obj(obj);
			break;
		}
	}
	kfree(spare);
}

/**
 * mag_cpu_drain() - empty one CPU's magazines of a pool into the depots
 * @pool: the pool
 * @cpu: a CPU that is dead, or this CPU inside a busy region, or any CPU
 *	when nothing else can run magalloc code (unload)
 * @node: the node whose magazines to drain, or NUMA_NO_NODE for all
 */
void mag_cpu_drain(struct mag_pool *pool, int cpu, int node)
{
	struct mag_central *c;
	struct mag_cpu *pc;
	unsigned long flags;
	int n;

	for_each_node(n) {
		if (node != NUMA_NO_NODE && n != node)
			continue;
		pc = per_cpu_ptr(pool->cpu[n], cpu);
		if (pc->limit != mag_limit_start(pool)) {
			per_cpu_ptr(&mag_budget, cpu)->reserved -= budget_charge(pc, pc->limit);
			pc->limit = mag_limit_start(pool);
		}
		if (mag_is_sentinel(pc->loaded) && mag_is_sentinel(pc->prev))
			continue;
		c = pool->central[n];
		spin_lock_irqsave(&c->lock, flags);
		mag_depot_put(c, pc->loaded);
		mag_depot_put(c, pc->prev);
		pc->loaded = mag_sentinel_of(cpu);
		pc->prev = mag_sentinel_of(cpu);
		spin_unlock_irqrestore(&c->lock, flags);
	}
}
