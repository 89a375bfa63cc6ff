// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the allocator through its API and its levels: magazines, central
 * lists and depots, typed caches, bulk, NUMA, hotplug, the shrinker, bad
 * frees, interrupt context and a cross-CPU stress.
 *
 * Tests that count what sits where use a typed cache of their own, so no
 * other user of the module disturbs the counts, and pause the periodic
 * trim for the whole suite.
 */
#include <kunit/test.h>
#include <linux/cpu.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "internal.h"
#include "kunit_util.h"

/* Span accounting of one central, checked against the span bitmaps. */
static void check_central(struct kunit *test, struct mag_central *c)
{
	unsigned long flags, spans = 0, free_objs = 0;
	struct mag_span *s;

	spin_lock_irqsave(&c->lock, flags);
	list_for_each_entry(s, &c->partial, link) {
		KUNIT_EXPECT_GT(test, s->nr_free, 0);
		KUNIT_EXPECT_EQ(test, bitmap_weight(s->alloc, s->nr_objs),
				(unsigned int)(s->nr_objs - s->nr_free));
		spans++;
		free_objs += s->nr_free;
	}
	list_for_each_entry(s, &c->full, link) {
		KUNIT_EXPECT_EQ(test, s->nr_free, 0);
		KUNIT_EXPECT_EQ(test, bitmap_weight(s->alloc, s->nr_objs),
				(unsigned int)s->nr_objs);
		spans++;
	}
	KUNIT_EXPECT_EQ(test, c->nr_spans, spans);
	KUNIT_EXPECT_EQ(test, c->nr_free_objs, free_objs);
	spin_unlock_irqrestore(&c->lock, flags);
}

/* mag_cpu_drain() for this CPU, inside a busy region as it requires. */
void drain_here(struct kunit *test, struct mag_pool *pool)
{
	/* under KASAN, what the quarantine holds goes back first */
	mag_kasan_flush();
	KUNIT_ASSERT_TRUE(test, mag_slow_enter());
	mag_cpu_drain(pool, smp_processor_id(), NUMA_NO_NODE);
	mag_slow_exit();
}

int quarantine_off(struct kunit_suite *suite)
{
	mag_kasan_quarantine(false);
	return 0;
}

void quarantine_on(struct kunit_suite *suite)
{
	mag_kasan_quarantine(true);
}

long in_worker(long (*fn)(void *), void *arg)
{
	return work_on_cpu(raw_smp_processor_id(), fn, arg);
}

long expect_reports(long (*fn)(void *), void *arg)
{
	long ret;

	pr_info("@@MAG EXPECT-BEGIN reports\n");
	ret = in_worker(fn, arg);
	pr_info("@@MAG EXPECT-END reports\n");
	return ret;
}

static long free_fn(void *p)
{
	mag_free(p);
	return 0;
}

static long hostile_fn(void *unused)
{
	return mag_hostile_run();
}

static long free_bulk_fn(void *objs)
{
	mag_free_bulk(2, objs);
	return 0;
}

static struct mag_pool *cache_pool(struct mag_cache *cache)
{
	/* struct mag_cache starts with its pool */
	return (struct mag_pool *)cache;
}

static void destroy_cache(void *cache)
{
	mag_cache_destroy(cache);
}

struct mag_cache *test_cache(struct kunit *test, unsigned int size,
			     void (*ctor)(void *))
{
	struct mag_cache *cache = mag_cache_create("kunit", size, 0, 0, ctor);

	KUNIT_ASSERT_NOT_NULL(test, cache);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_cache, cache), 0);
	return cache;
}

/* Every class: zeroed on request, aligned, sized, writable. */
static void every_class_round_trip(struct kunit *test)
{
	unsigned int cls;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		unsigned int size = mag_class_size[cls];
		u8 *p = mag_alloc(size, GFP_KERNEL | __GFP_ZERO);
		u8 *q = mag_alloc(size - 7, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_ASSERT_NOT_NULL(test, q);
		KUNIT_EXPECT_PTR_NE(test, p, q);
		KUNIT_EXPECT_EQ(test, mag_ksize(p), (size_t)size);
		KUNIT_EXPECT_EQ(test, mag_ksize(q), (size_t)size);
		KUNIT_EXPECT_NULL(test, memchr_inv(p, 0, size));
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED((unsigned long)p, 8));
		if (is_power_of_2(size))
			KUNIT_EXPECT_TRUE(test, IS_ALIGNED((unsigned long)p, size));
		memset(p, 0xff, size);
		memset(q, 0xee, size);
		KUNIT_EXPECT_EQ(test, p[size - 1], 0xff);
		mag_free(p);
		mag_free(q);
	}
	KUNIT_EXPECT_PTR_EQ(test, mag_alloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	mag_free(NULL);
	mag_free(ZERO_SIZE_PTR);
	KUNIT_EXPECT_EQ(test, mag_ksize(NULL), 0UL);
}

/*
 * The magazine layer step by step, on one CPU: first refill from spans,
 * fast pops, second refill, flush to a new magazine, a full magazine to
 * the depot, the swap with @prev, and the exchange of an empty magazine
 * for a full one from the depot.
 */
static void magazine_swap_refill_flush(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	struct mag_pool *pool = cache_pool(cache);
	unsigned int m = pool->mag_size, i, n = 3 * pool->mag_size + 2;
	unsigned long slow;
	struct mag_central *c;
	struct mag_cpu *pc;
	void **objs;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	migrate_disable();
	pc = this_cpu_ptr(pool->cpu[numa_mem_id()]);
	c = pool->central[numa_mem_id()];
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));

	/* First allocation: a magazine is made and filled from a span. */
	objs[0] = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, m - 1);
	KUNIT_EXPECT_EQ(test, c->nr_free_objs, mag_class_objects[pool->cls] - m);
	/* m - 1 more come from the magazine without a slow path */
	slow = pc->slow;
	for (n = 1; n < m; n++)
		objs[n] = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, pc->slow, slow);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, 0U);
	/* the next refills the empty magazine with what the spans have */
	i = c->nr_free_objs;
	objs[n++] = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, pc->slow, slow + 1);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, min(i, m) - 1);
	for (; n < 3 * m + 2; n++)
		objs[n] = mag_cache_alloc(cache, GFP_KERNEL);
	check_central(test, c);
	/* Start the free half from a drained CPU: its magazine waits, empty. */
	drain_here(test, pool);
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_EQ(test, c->nr_empty, 1U);

	/* Free: an empty magazine from the depot is loaded and filled... */
	for (i = 0; i < m; i++)
		mag_cache_free(cache, objs[--n]);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, m);
	/* ...then the second one: the full magazine becomes prev. */
	mag_cache_free(cache, objs[--n]);
	KUNIT_EXPECT_EQ(test, c->nr_empty, 0U);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, 1U);
	KUNIT_EXPECT_EQ(test, pc->prev->rounds, m);
	/* Both full: the full prev goes to the depot. */
	for (i = 0; i < m; i++)
		mag_cache_free(cache, objs[--n]);
	KUNIT_EXPECT_EQ(test, c->nr_full, 1U);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, 1U);
	KUNIT_EXPECT_EQ(test, pc->prev->rounds, m);

	/* Alloc: drain loaded, swap with the full prev (no depot traffic). */
	objs[n++] = mag_cache_alloc(cache, GFP_KERNEL);
	objs[n++] = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, m - 1);
	KUNIT_EXPECT_EQ(test, pc->prev->rounds, 0U);
	KUNIT_EXPECT_EQ(test, c->nr_full, 1U);
	/* Both empty: exchange the empty prev for the depot's full one. */
	for (i = 0; i < m; i++)
		objs[n++] = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, c->nr_full, 0U);
	KUNIT_EXPECT_GE(test, c->nr_empty, 1U);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, m - 1);
	migrate_enable();

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	mag_free_bulk(n, objs);
	check_central(test, c);
}

/* Span accounting through a random workload, then everything returns. */
static void span_accounting(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 512, NULL);
	struct mag_pool *pool = cache_pool(cache);
	unsigned int i, n = 0, max = 1000;
	struct rnd_state rnd;
	void **objs;
	int node;

	objs = kunit_kcalloc(test, max, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	prandom_seed_state(&rnd, 42);
	for (i = 0; i < 5000; i++) {
		if (n < max && (prandom_u32_state(&rnd) % 3)) {
			objs[n] = mag_cache_alloc(cache, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, objs[n]);
			n++;
		} else if (n) {
			unsigned int j = prandom_u32_state(&rnd) % n;

			mag_cache_free(cache, objs[j]);
			objs[j] = objs[--n];
		}
	}
	for_each_node(node)
		check_central(test, pool->central[node]);
	mag_free_bulk(n, objs);
	mag_drain_all();
	for_each_node(node) {
		struct mag_central *c = pool->central[node];

		check_central(test, c);
		KUNIT_EXPECT_EQ(test, mag_central_live(c), 0UL);
		KUNIT_EXPECT_EQ(test, c->nr_spans, 0UL);
		KUNIT_EXPECT_EQ(test, c->nr_full, 0U);
	}
}

static void bulk(struct kunit *test)
{
	void **objs = kunit_kcalloc(test, 300, sizeof(*objs), GFP_KERNEL);
	unsigned int i, j;

	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_EQ(test, mag_alloc_bulk(96, GFP_KERNEL | __GFP_ZERO, 300, objs), 300);
	for (i = 0; i < 300; i++) {
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_EQ(test, mag_ksize(objs[i]), 96UL);
		KUNIT_EXPECT_NULL(test, memchr_inv(objs[i], 0, 96));
		memset(objs[i], i, 96);
	}
	for (i = 0; i < 300; i++)
		for (j = i + 1; j < 300; j++)
			KUNIT_ASSERT_PTR_NE(test, objs[i], objs[j]);
	mag_free_bulk(300, objs);
	/* All or nothing: an impossible size gives 0 and holds nothing. */
	KUNIT_EXPECT_EQ(test, mag_alloc_bulk(64UL << 20, GFP_KERNEL, 2, objs), 0);
	/* Sizes beyond the classes work object by object. */
	KUNIT_ASSERT_EQ(test, mag_alloc_bulk(40000, GFP_KERNEL, 3, objs), 3);
	mag_free_bulk(3, objs);
}

static atomic_t ctor_calls;

void test_ctor(void *obj)
{
	atomic_inc(&ctor_calls);
	memset(obj, 0xc7, 100);
}

static void typed_cache_ctor(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 100, test_ctor);
	struct mag_pool *pool = cache_pool(cache);
	struct mag_cache *aligned;
	u8 *objs[40];
	unsigned int i, calls;

	atomic_set(&ctor_calls, 0);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_NULL(test, memchr_inv(objs[i], 0xc7, 100));
	}
	calls = atomic_read(&ctor_calls);
	/* the constructor ran once per object of each new span */
	KUNIT_EXPECT_GT(test, calls, 0U);
	KUNIT_EXPECT_EQ(test, calls % mag_class_objects[pool->cls], 0U);
	/*
	 * On one CPU: freed on another, objects would sit in that CPU's
	 * magazines and new spans be made here.
	 */
	migrate_disable();
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		mag_cache_free(cache, objs[i]);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, atomic_read(&ctor_calls), calls);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		mag_cache_free(cache, objs[i]);

	aligned = mag_cache_create("kunit-aligned", 100, 256, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, aligned);
	objs[0] = mag_cache_alloc(aligned, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED((unsigned long)objs[0], 256));
	mag_cache_free(aligned, objs[0]);
	mag_cache_destroy(aligned);

	KUNIT_EXPECT_NULL(test, mag_cache_create("bad", 0, 0, 0, NULL));
	KUNIT_EXPECT_NULL(test, mag_cache_create("bad", MAG_MAX_SMALL + 1, 0, 0, NULL));
	KUNIT_EXPECT_NULL(test, mag_cache_create("bad", 64, 24, 0, NULL));
	KUNIT_EXPECT_NULL(test, mag_cache_create("bad", 64, 0, 1, NULL));
	KUNIT_EXPECT_NULL(test, mag_cache_create(NULL, 64, 0, 0, NULL));
}

struct on_cpu {
	struct mag_cache *cache;
	void *obj;
	int node;
};

static long alloc_here(void *arg)
{
	struct on_cpu *oc = arg;

	oc->obj = oc->cache ? mag_cache_alloc(oc->cache, GFP_KERNEL) :
			      mag_alloc(192, GFP_KERNEL);
	oc->node = numa_mem_id();
	return 0;
}

static long free_here(void *arg)
{
	struct on_cpu *oc = arg;

	mag_cache_free(oc->cache, oc->obj);
	return 0;
}

static void trim_resume(void *unused)
{
	mag_trim_pause(false);
}

struct on_cpu_batch {
	struct mag_cache *cache;
	unsigned int nr;
	void **objs;
};

static long alloc_batch_here(void *arg)
{
	struct on_cpu_batch *b = arg;
	unsigned int i;

	for (i = 0; i < b->nr; i++)
		b->objs[i] = mag_cache_alloc(b->cache, GFP_KERNEL);
	return 0;
}

static long free_batch_here(void *arg)
{
	struct on_cpu_batch *b = arg;
	unsigned int i;

	for (i = 0; i < b->nr; i++)
		mag_cache_free(b->cache, b->objs[i]);
	return 0;
}

/*
 * Memory comes from the node asked for, or from the allocating CPU's node;
 * an object freed on another node's CPU waits in that CPU's magazine for
 * its own node, never among the CPU's own node's objects, and goes back to
 * its own node with the magazine.
 */
static void numa_placement(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 256, NULL);
	struct mag_pool *pool = cache_pool(cache);
	struct on_cpu oc = { .cache = cache };
	struct on_cpu_batch b = { .cache = cache };
	int node, cpu, other = -1;
	struct mag_central *home;
	struct mag_magazine *m;
	struct mag_cpu *pc;
	unsigned int i;

	for_each_node_state(node, N_MEMORY) {
		void *p = mag_alloc_node(200, GFP_KERNEL, node);
		void *l = mag_alloc_node(100000, GFP_KERNEL, node);

		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_ASSERT_NOT_NULL(test, l);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(p)), node);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(l)), node);
		mag_free(p);
		mag_free(l);
	}
	KUNIT_EXPECT_NULL(test, mag_alloc_node(64, GFP_KERNEL, nr_node_ids));
	KUNIT_EXPECT_NULL(test, mag_alloc_node(64, GFP_KERNEL, -5));

	for_each_online_cpu(cpu) {
		oc.cache = NULL;
		work_on_cpu(cpu, alloc_here, &oc);
		KUNIT_ASSERT_NOT_NULL(test, oc.obj);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(oc.obj)), oc.node);
		mag_free(oc.obj);
		if (cpu_to_mem(cpu) != cpu_to_mem(cpumask_first(cpu_online_mask)))
			other = cpu;
	}
	if (other < 0)
		kunit_skip(test, "one NUMA node: no remote free to test");

	/* Allocate on the first CPU's node, free on the other node's CPU. */
	mag_trim_pause(true);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, trim_resume, NULL), 0);
	oc.cache = cache;
	cpu = cpumask_first(cpu_online_mask);
	work_on_cpu(cpu, alloc_here, &oc);
	KUNIT_ASSERT_NOT_NULL(test, oc.obj);
	KUNIT_ASSERT_NE(test, oc.node, cpu_to_mem(other));
	work_on_cpu(other, free_here, &oc);
	pc = per_cpu_ptr(pool->cpu[oc.node], other);
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, 1U);
	KUNIT_EXPECT_PTR_EQ(test, pc->loaded->objs[0], oc.obj);
	/* its own node's magazines took nothing */
	m = per_cpu_ptr(pool->cpu[cpu_to_mem(other)], other)->loaded;
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(m));
	KUNIT_EXPECT_EQ(test, pool->central[cpu_to_mem(other)]->nr_spans, 0UL);

	/*
	 * At the next trim the magazine goes home to its node's depot
	 * (partial: into the spans): no allocation of this CPU missed on
	 * that node since the last trim, as none ever does on a remote
	 * node's magazines, which only frees fill.
	 */
	mag_trim_now();
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	mag_drain_all();
	KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[oc.node]), 0UL);
	KUNIT_EXPECT_EQ(test, pool->central[cpu_to_mem(other)]->nr_spans, 0UL);

	/*
	 * Many remote frees: full magazines go to the home node's depot, a
	 * whole magazine per trip to that node's central lock.
	 */
	home = pool->central[oc.node];
	b.nr = 2 * pool->mag_size + 1;
	b.objs = kunit_kcalloc(test, b.nr, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b.objs);
	work_on_cpu(cpu, alloc_batch_here, &b);
	for (i = 0; i < b.nr; i++) {
		KUNIT_ASSERT_NOT_NULL(test, b.objs[i]);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(b.objs[i])), oc.node);
	}
	mag_drain_all();
	KUNIT_ASSERT_EQ(test, home->nr_full, 0U);
	KUNIT_EXPECT_EQ(test, mag_central_live(home), (unsigned long)b.nr);
	work_on_cpu(other, free_batch_here, &b);
	KUNIT_EXPECT_EQ(test, home->nr_full, 1U);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, 1U);
	KUNIT_EXPECT_EQ(test, pool->central[cpu_to_mem(other)]->nr_spans, 0UL);
	mag_drain_all();
	KUNIT_EXPECT_EQ(test, mag_central_live(home), 0UL);
}

/* Offlining a CPU drains its magazines; onlining it again works. */
static void hotplug_flush(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 128, NULL);
	struct mag_pool *pool = cache_pool(cache);
	struct on_cpu oc = { .cache = cache };
	struct mag_cpu *pc;
	int cpu = cpumask_last(cpu_online_mask), ret;

	if (num_online_cpus() < 2 || !cpu)
		kunit_skip(test, "needs a second CPU");
	pc = per_cpu_ptr(pool->cpu[cpu_to_mem(cpu)], cpu);
	work_on_cpu(cpu, alloc_here, &oc);
	KUNIT_ASSERT_NOT_NULL(test, oc.obj);
	work_on_cpu(cpu, free_here, &oc);
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));
	KUNIT_ASSERT_GT(test, pc->loaded->rounds, 0U);

	ret = remove_cpu(cpu);
	if (ret)
		kunit_skip(test, "CPU %d cannot go offline: %d", cpu, ret);
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->prev));
	KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[cpu_to_mem(cpu)]), 0UL);
	KUNIT_ASSERT_EQ(test, add_cpu(cpu), 0);

	work_on_cpu(cpu, alloc_here, &oc);
	KUNIT_ASSERT_NOT_NULL(test, oc.obj);
	work_on_cpu(cpu, free_here, &oc);
}

/*
 * The periodic trim: a CPU whose allocations did not miss for a whole
 * period has its magazines drained to the depot; a depot's full magazines
 * that no CPU took for a period go back to their spans.
 */
static void trim_idle_caches(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 256, NULL);
	struct mag_pool *pool = cache_pool(cache);
	unsigned int i, n = 4 * pool->mag_size;
	struct mag_central *c;
	struct mag_cpu *pc;
	void **objs;
	int cpu;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	migrate_disable();
	cpu = smp_processor_id();
	for (i = 0; i < n; i++)
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
	for (i = 0; i < n; i++)
		mag_cache_free(cache, objs[i]);
	migrate_enable();
	pc = per_cpu_ptr(pool->cpu[cpu_to_mem(cpu)], cpu);
	c = pool->central[cpu_to_mem(cpu)];
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));
	KUNIT_ASSERT_GT(test, c->nr_full, 0U);

	/* First pass: the CPU was busy, keeps its magazines; depot too. */
	mag_trim_now();
	KUNIT_EXPECT_FALSE(test, mag_is_sentinel(pc->loaded));
	/* Second: idle for a period, drained; the depot's idle ones go. */
	mag_trim_now();
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->prev));
	mag_trim_now();
	KUNIT_EXPECT_EQ(test, c->nr_full, 0U);
	KUNIT_EXPECT_EQ(test, mag_central_live(c), 0UL);
	check_central(test, c);
}

/*
 * A burst of frees after the allocations stopped: the next trim gives it
 * all back, to the spans and the spans to the heap (the empty one kept
 * against grow and shrink cycles too), in one period.  Before, the CPU
 * kept its magazines a period more for the frees' slow paths, the depot
 * kept the magazines that came during the period (Bonwick's lowest count
 * of the period), and each pool and node kept an empty span for good: the
 * replay's churn still held 0.31x its last live bytes 5 s after freeing
 * them all.
 */
static void trim_frees_burst_in_one_period(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 256, NULL);
	struct mag_pool *pool = cache_pool(cache);
	struct on_cpu_batch b = { .cache = cache, .nr = 8 * pool->mag_size };
	int cpu = cpumask_first(cpu_online_mask);
	struct mag_central *c;
	struct mag_cpu *pc;
	unsigned int i;

	b.objs = kunit_kcalloc(test, b.nr, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b.objs);
	mag_trim_pause(true);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, trim_resume, NULL), 0);
	pc = per_cpu_ptr(pool->cpu[cpu_to_mem(cpu)], cpu);
	c = pool->central[cpu_to_mem(cpu)];
	work_on_cpu(cpu, alloc_batch_here, &b);
	for (i = 0; i < b.nr; i++)
		KUNIT_ASSERT_NOT_NULL(test, b.objs[i]);
	KUNIT_ASSERT_GT(test, c->nr_spans, 1UL);
	/* the period of the allocations */
	mag_trim_now();

	work_on_cpu(cpu, free_batch_here, &b);
	KUNIT_ASSERT_GT(test, c->nr_full, 0U);
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));

	/* the period of the frees: everything goes */
	mag_trim_now();
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->prev));
	KUNIT_EXPECT_EQ(test, c->nr_full, 0U);
	KUNIT_EXPECT_EQ(test, mag_central_live(c), 0UL);
	KUNIT_EXPECT_EQ(test, c->nr_spans, 0UL);
	check_central(test, c);
}

/* Arenas of every node's heap. */
static unsigned long all_arenas(void)
{
	unsigned long n = 0;
	int node;

	for_each_node(node)
		n += READ_ONCE(mag_heaps[node]->nr_arenas);
	return n;
}

/*
 * Reclaim as do_shrink_slab() runs it: count, then scan in batches of 128
 * pages.  Eight arenas' worth of freed 4 KiB objects (in magazines and
 * depots) must come back: every arena the allocations added, or as many
 * others (their spans may also have filled holes in arenas held before).
 * The kernel's own reclaim may run the same shrinker meanwhile (kswapd, in
 * a guest the KUnit suites have filled): the count then reads empty while
 * that scan holds the pools' mutex, and that scan's pages are not this
 * test's.  Judging by what this test's own scans returned made it fail
 * twice (PREEMPT_RT, KASAN) with every arena back in the end; so an
 * empty count is read again after a pause, and the verdict is the
 * arenas.
 */
static void shrinker_returns_memory(struct kunit *test)
{
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	unsigned int i, n = 8 * MAG_ARENA_SIZE / 4096, rounds = 0;
	unsigned long before, arenas, released = 0, shrunk, count, ret;
	void **objs;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	before = all_arenas();
	for (i = 0; i < n; i++) {
		objs[i] = mag_alloc(4096, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	arenas = all_arenas();
	KUNIT_EXPECT_GE_MSG(test, arenas - before, 4UL, "%lu arenas before, %lu after",
			    before, arenas);
	mag_free_bulk(n, objs);

	shrunk = atomic_long_read(&mag_shrunk_pages);
	while (all_arenas() > before && rounds++ < 200) {
		count = mag_shrinker_count(&sc);
		if (count == SHRINK_EMPTY) {
			msleep(20);
			continue;
		}
		sc.nr_to_scan = min(count, 128UL);
		ret = mag_shrinker_run(&sc);
		/* a scan left short asked the CPUs to drain: let them */
		mag_drain_wait();
		if (ret != SHRINK_STOP)
			released += ret;
	}
	arenas = all_arenas();
	KUNIT_EXPECT_LE_MSG(test, arenas, before, "%u rounds, %lu pages released by them",
			    rounds, released);
	KUNIT_EXPECT_GT(test, released, 0UL);
	/* its own scans' pages, and any concurrent reclaim's */
	KUNIT_EXPECT_GE(test, atomic_long_read(&mag_shrunk_pages) - shrunk, released);
}

/*
 * The count is what can really come back: an arena that holds one live
 * object counts nothing for its free pages, and nothing parked counts
 * nothing at all.
 */
static void shrinker_counts_what_it_frees(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	void *p;

	mag_drain_all();
	p = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_drain_all();
	/* one live object; its arena's other pages are free, but not the arena */
	KUNIT_EXPECT_EQ(test, mag_shrinker_count(&sc), SHRINK_EMPTY);
	mag_cache_free(cache, p);
	mag_drain_all();
}

/*
 * A small scan on a busy allocator takes a small share: the depot's full
 * magazines, its working set, mostly stay.  On one CPU and with the trim
 * paused, so that the depot holds all but the two magazines that CPU
 * keeps: a trim pass in the middle (it gives back full magazines no CPU
 * took in its period) or frees spread over three CPUs left 6 of the 12 in
 * one make check on a slow host.
 */
static void shrinker_keeps_working_set(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 256, NULL);
	struct mag_pool *pool = cache_pool(cache);
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL, .nr_to_scan = 4 };
	unsigned int i, n = 12 * pool->mag_size, full = 0, after = 0;
	void **objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	int node;

	KUNIT_ASSERT_NOT_NULL(test, objs);
	mag_trim_pause(true);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, trim_resume, NULL), 0);
	migrate_disable();
	for (i = 0; i < n; i++) {
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
		if (!objs[i])
			break;
	}
	mag_free_bulk(i, objs);
	migrate_enable();
	KUNIT_ASSERT_EQ(test, i, n);
	for_each_node(node)
		full += pool->central[node]->nr_full;
	KUNIT_ASSERT_GE(test, full, 8U);
	mag_shrinker_run(&sc);
	for_each_node(node)
		after += pool->central[node]->nr_full;
	/* what 4 pages need, and at most one magazine more per node */
	KUNIT_EXPECT_LE(test, full - after,
			DIV_ROUND_UP(4 * PAGE_SIZE, pool->mag_size * pool->size) +
			num_possible_nodes());
	KUNIT_EXPECT_GT(test, after, 0U);
	mag_drain_wait();
}

/*
 * Allocation failures (failslab and fail_page_alloc, armed by the guest
 * for tasks with make_it_fail) give NULL, no warning, and leave nothing
 * behind: no span, no arena, no object.
 */
static void failures_leave_nothing(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 512, NULL);
	struct mag_pool *pool = cache_pool(cache);
	unsigned long arenas = 0, after = 0;
	void *p, *l, *h;
	int node;

	if (!IS_ENABLED(CONFIG_FAILSLAB) || !IS_ENABLED(CONFIG_FAIL_PAGE_ALLOC))
		kunit_skip(test, "no fault injection in this kernel");
	for_each_node(node)
		arenas += mag_heaps[node]->nr_arenas;
	current->make_it_fail = 1;
	p = mag_cache_alloc(cache, GFP_KERNEL);
	l = mag_alloc(100000, GFP_KERNEL);
	h = mag_alloc(3 << 20, GFP_KERNEL);
	current->make_it_fail = 0;
	if (p && l && h) {
		mag_cache_free(cache, p);
		mag_free(l);
		mag_free(h);
		kunit_skip(test, "fault injection not armed (see scripts/guest-init)");
	}
	KUNIT_EXPECT_NULL(test, p);
	KUNIT_EXPECT_NULL(test, l);
	KUNIT_EXPECT_NULL(test, h);
	mag_cache_free(cache, p);
	mag_free(l);
	mag_free(h);
	for_each_node(node) {
		KUNIT_EXPECT_EQ(test, pool->central[node]->nr_spans, 0UL);
		KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[node]), 0UL);
		after += mag_heaps[node]->nr_arenas;
	}
	KUNIT_EXPECT_LE(test, after, arenas);
	/* and it works again */
	p = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	mag_cache_free(cache, p);
}

/* No CPU holds a magazine of @pool: its fast paths all miss. */
static void expect_no_magazines(struct kunit *test, struct mag_pool *pool)
{
	int cpu, node;

	for_each_possible_cpu(cpu)
		for_each_node(node) {
			struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

			/* written by @cpu only, and not for a pool in debug mode */
			KUNIT_EXPECT_TRUE_MSG(test, data_race(pc->loaded == mag_sentinel_of(cpu) &&
							      pc->prev == mag_sentinel_of(cpu)),
					      "CPU %d caches %s", cpu, pool->name);
		}
}

/* Double, foreign and misaligned frees are reported and change nothing. */
static void bad_frees_detected(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	struct mag_pool *pool = cache_pool(cache);
	long bad = atomic_long_read(&mag_bad_frees);
	void *p, *k, *v;
	int node;

	/* Without debug: caught when the magazine goes back to spans. */
	p = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_cache_free(cache, p);
	expect_reports(free_fn, p);
	mag_drain_all();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad + 1);
	for_each_node(node) {
		check_central(test, pool->central[node]);
		KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[node]), 0UL);
	}

	/*
	 * Debug mode: caught at the call.  Its pools have no magazines, so
	 * every free of their objects reaches the checks.
	 */
	mag_set_debug(true);
	expect_no_magazines(test, &mag_generic[mag_size_class(64)]);
	expect_no_magazines(test, pool);
	p = mag_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_free(p + 8);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad + 2);
	mag_free(p);
	expect_reports(free_fn, p);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad + 3);
	k = kmalloc(64, GFP_KERNEL);
	v = vmalloc(PAGE_SIZE);
	mag_free(k);
	mag_free(v);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad + 5);
	kfree(k);
	vfree(v);
	p = mag_alloc(100000, GFP_KERNEL);
	mag_free(p + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad + 6);
	mag_free(p);
	mag_set_debug(false);
	KUNIT_EXPECT_EQ(test, mag_ksize(k), 0UL);
}

/*
 * An interrupt that lands inside this CPU's fast path (or, on PREEMPT_RT,
 * a task that preempts a magazine user) finds the busy mark and takes the
 * central path: simulate it by holding the mark.
 */
static void busy_mark_diverts(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	struct mag_pool *pool = cache_pool(cache);
	struct mag_magazine *m, *gm;
	unsigned int rounds, grounds;
	void *warm, *p, *gwarm, *g, *gc;

	warm = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, warm);
	gwarm = mag_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, gwarm);
	KUNIT_ASSERT_TRUE(test, mag_slow_enter());
	m = mag_local_cpu(pool)->loaded;
	rounds = m->rounds;
	gm = mag_local_cpu(&mag_generic[mag_size_class(64)])->loaded;
	grounds = gm->rounds;
	/* a nested entry (what an interrupt would do) finds it taken */
	KUNIT_EXPECT_FALSE(test, mag_slow_enter());
	preempt_disable();
	KUNIT_EXPECT_FALSE(test, mag_busy_enter());
	mag_busy_exit();
	preempt_enable();
	p = mag_cache_alloc(cache, GFP_ATOMIC);
	mag_cache_free(cache, warm);
	/* the inline fast paths of magalloc.h, and the exported functions */
	g = mag_alloc(64, GFP_ATOMIC);
	mag_free(gwarm);
	gc = (mag_alloc)(64, GFP_ATOMIC);
	(mag_free)(g);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_front.busy), 0xff);
	KUNIT_EXPECT_PTR_EQ(test, mag_local_cpu(pool)->loaded, m);
	KUNIT_EXPECT_EQ(test, m->rounds, rounds);
	KUNIT_EXPECT_PTR_EQ(test, mag_local_cpu(&mag_generic[mag_size_class(64)])->loaded, gm);
	KUNIT_EXPECT_EQ(test, gm->rounds, grounds);
	mag_slow_exit();
	preempt_disable();
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_front.busy), 0);
	preempt_enable();
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_NOT_NULL(test, g);
	KUNIT_EXPECT_NOT_NULL(test, gc);
	mag_cache_free(cache, p);
	mag_free(gc);
}

static void irq_alloc(void *arg)
{
	atomic_t *ok = arg;
	u8 *p = mag_alloc(128, GFP_ATOMIC);
	void *l = mag_alloc(50000, GFP_ATOMIC);

	if (p && l) {
		memset(p, 1, 128);
		atomic_inc(ok);
	}
	mag_free(p);
	mag_free(l);
}

/*
 * GFP_ATOMIC from hardirq (IPI) and with interrupts off.  Not on
 * PREEMPT_RT, where no allocator may be called there (kmalloc neither).
 */
static void atomic_contexts(struct kunit *test)
{
	atomic_t ok = ATOMIC_INIT(0);
	unsigned long flags;
	int cpu;

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "no allocation from hardirq context on PREEMPT_RT");

	for_each_online_cpu(cpu)
		smp_call_function_single(cpu, irq_alloc, &ok, 1);
	local_irq_save(flags);
	irq_alloc(&ok);
	local_irq_restore(flags);
	KUNIT_EXPECT_EQ(test, atomic_read(&ok), num_online_cpus() + 1);
}

/* Objects of the generic pools handed out of spans, magazines drained. */
static unsigned long generic_live(void)
{
	unsigned long live = 0;
	unsigned int cls;
	int node;

	mag_drain_all();
	for (cls = 1; cls < MAG_NR_CLASSES; cls++)
		for_each_node(node)
			live += mag_central_live(mag_generic[cls].central[node]);
	return live;
}

/*
 * The cross-CPU stress of stress.c (producers and consumers on every CPU,
 * timers allocating inside fast paths), then nothing may be missing.
 */
static void cross_cpu_stress(struct kunit *test)
{
	struct mag_parked *pk = kunit_kcalloc(test, nr_cpu_ids, sizeof(*pk), GFP_KERNEL);
	struct mag_stress_result res;
	unsigned long live, most = 0;
	int cpu;

	KUNIT_ASSERT_NOT_NULL(test, pk);
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	live = generic_live();
	KUNIT_EXPECT_EQ(test, mag_stress_run(3000, &res), 0);
	/* what the per-CPU level parks after it (the trim is paused) */
	mag_measure_parked(pk);
	for_each_possible_cpu(cpu) {
		KUNIT_EXPECT_LE(test, pk[cpu].objects, pk[cpu].magazines * 62);
		most = max(most, pk[cpu].bytes);
	}
	kunit_info(test, "parked after the stress: at most %lu KiB on one CPU", most >> 10);
	KUNIT_EXPECT_EQ(test, res.bad, 0UL);
	KUNIT_EXPECT_EQ(test, res.nulls, 0UL);
	KUNIT_EXPECT_GT(test, res.moved, 0UL);
	KUNIT_EXPECT_GT(test, res.timer_ok, 0UL);
	/* every object went back: nothing lost between magazines */
	KUNIT_EXPECT_EQ(test, generic_live(), live);
	kunit_info(test, "%lu objects crossed CPUs, %lu timer allocations",
		   res.moved, res.timer_ok);
}

/*
 * The periodic trim wakes only CPUs that hold magazines: one CPU caches a
 * new cache's objects; the first pass visits it alone (the pool was used
 * in the period: kept), the second drains it (idle for a period), the
 * third visits no CPU at all.
 */
static void trim_visits_caching_cpus(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 128, NULL);
	unsigned long *before = kunit_kcalloc(test, nr_cpu_ids, sizeof(*before), GFP_KERNEL);
	unsigned long after;
	int cpu, here, pass;
	void *p;

	KUNIT_ASSERT_NOT_NULL(test, before);
	mag_drain_all();
	migrate_disable();
	here = smp_processor_id();
	p = mag_cache_alloc(cache, GFP_KERNEL);
	mag_cache_free(cache, p);
	migrate_enable();
	KUNIT_ASSERT_NOT_NULL(test, p);
	for (pass = 0; pass < 3; pass++) {
		for_each_possible_cpu(cpu)
			before[cpu] = mag_cpu_visits(cpu);
		mag_trim_now();
		for_each_possible_cpu(cpu) {
			after = mag_cpu_visits(cpu);
			KUNIT_EXPECT_EQ_MSG(test, after - before[cpu],
					    cpu == here && pass < 2 ? 1UL : 0UL,
					    "CPU %d, pass %d (allocated on %d)", cpu, pass, here);
		}
	}
}

/*
 * Pauses of the periodic trim nest.  This suite pauses it for all its
 * cases; numa_placement and trim_frees_burst_in_one_period pause and
 * restart it again, and once restarted it for every case after them, whose
 * depot counts a pass could change at any time (shrinker_keeps_working_set
 * found 7 full magazines where its frees had left 8 or more).
 */
static void trim_pause_nests(struct kunit *test)
{
	KUNIT_ASSERT_FALSE(test, mag_trim_pending());
	mag_trim_pause(true);
	mag_trim_pause(false);
	KUNIT_EXPECT_FALSE(test, mag_trim_pending());
}

static int alloc_suite_init(struct kunit_suite *suite)
{
	mag_trim_pause(true);
	return quarantine_off(suite);
}

static void alloc_suite_exit(struct kunit_suite *suite)
{
	quarantine_on(suite);
	mag_trim_pause(false);
}

/*
 * Every kind of pointer mag_free() must refuse is refused and reported as
 * what it is, memory intact (mod/hostile.c, which the stock boots run
 * through debugfs); and an immediate double free, here through
 * mag_free_bulk(), leaves the object once in the magazine.
 */
static void hostile_frees_refused(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(64)];
	struct mag_magazine *m;
	unsigned long dbl;
	void *objs[2];
	unsigned int i, seen = 0;

	KUNIT_EXPECT_EQ(test, in_worker(hostile_fn, NULL), 0);
	dbl = mag_bad_free_count(MAG_BAD_DOUBLE);

	mag_trim_pause(true);
	migrate_disable();
	objs[0] = mag_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	objs[1] = objs[0];
	expect_reports(free_bulk_fn, objs);
	KUNIT_EXPECT_EQ(test, mag_bad_free_count(MAG_BAD_DOUBLE), dbl + 1);
	m = mag_local_cpu(pool)->loaded;
	for (i = 0; i < m->rounds; i++)
		seen += m->objs[i] == objs[0];
	KUNIT_EXPECT_LE(test, seen, 1U);
	migrate_enable();
	mag_trim_pause(false);
}

/*
 * fail_magalloc: with the attribute at probability 100 and times N, the
 * next N allocations through every entry (inline and exported mag_alloc(),
 * mag_alloc_node(), mag_cache_alloc(), mag_alloc_bulk()) fail and are
 * counted, __GFP_NOFAIL ones never do, and then allocations succeed again.
 */
static void fault_attr_fails_allocations(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct mag_cache *cache = test_cache(test, 64, NULL);
	long injected = atomic_long_read(&mag_injected);
	int other = next_node_in(mag_home_node(), node_states[N_MEMORY]);
	struct fault_attr saved = mag_fail_attr;
	void *objs[4], *p;

	mag_fail_attr.probability = 100;
	mag_fail_attr.interval = 1;
	mag_fail_attr.verbose = 0;
	mag_fail_attr.task_filter = false;
	atomic_set(&mag_fail_attr.times, 6);
	KUNIT_EXPECT_NULL(test, mag_alloc(64, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, (mag_alloc)(200, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, mag_alloc(100000, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, mag_alloc_node(64, GFP_KERNEL, other));
	KUNIT_EXPECT_NULL(test, mag_cache_alloc(cache, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, mag_alloc_bulk(64, GFP_KERNEL, 4, objs), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_injected), injected + 6);
	atomic_set(&mag_fail_attr.times, -1);
	p = mag_alloc(64, GFP_KERNEL | __GFP_NOFAIL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	mag_free(p);
	mag_fail_attr.probability = 0;
	p = mag_alloc(64, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	mag_free(p);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_injected), injected + 6);
	mag_fail_attr = saved;
#else
	kunit_skip(test, "no CONFIG_FAULT_INJECTION");
#endif
}

/*
 * Bypass mode (trace.c: while magalloc_alloc or magalloc_free traces, every
 * operation must reach a slow path): once it is on no CPU holds a
 * magazine, and allocations and frees of every kind still work, from the
 * central lists, without loading one; off again, magazines come back.
 */
static void bypass_mode_skips_magazines(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 96, NULL);
	struct mag_pool *pool = &mag_generic[mag_size_class(64)];
	bool cached_on, cached_off;
	const unsigned int n = 200;
	void **objs, *bulk[32], *large;
	unsigned int i, ok = 0;
	int cpu;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	mag_set_bypass(true);
	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_FALSE(test, mag_cpu_caches(pool, cpu));
	migrate_disable();
	for (i = 0; i < n; i++)
		objs[i] = mag_alloc(64, GFP_KERNEL);
	for (i = 0; i < n; i++) {
		ok += !!objs[i];
		mag_free(objs[i]);
	}
	ok += mag_alloc_bulk(64, GFP_KERNEL, ARRAY_SIZE(bulk), bulk) == ARRAY_SIZE(bulk);
	mag_free_bulk(ARRAY_SIZE(bulk), bulk);
	objs[0] = mag_cache_alloc(cache, GFP_KERNEL);
	ok += !!objs[0];
	mag_cache_free(cache, objs[0]);
	large = mag_alloc(100000, GFP_KERNEL);
	ok += !!large;
	mag_free(large);
	cached_on = mag_cpu_caches(pool, smp_processor_id()) ||
		    mag_cpu_caches(cache_pool(cache), smp_processor_id());
	migrate_enable();
	mag_set_bypass(false);
	KUNIT_EXPECT_EQ(test, ok, n + 3);
	KUNIT_EXPECT_FALSE(test, cached_on);

	migrate_disable();
	for (i = 0; i < n; i++)
		objs[i] = mag_alloc(64, GFP_KERNEL);
	for (i = 0; i < n; i++)
		mag_free(objs[i]);
	cached_off = mag_cpu_caches(pool, smp_processor_id());
	migrate_enable();
	KUNIT_EXPECT_TRUE(test, cached_off);
}

static struct kunit_case alloc_cases[] = {
	KUNIT_CASE(every_class_round_trip),
	KUNIT_CASE(magazine_swap_refill_flush),
	KUNIT_CASE(span_accounting),
	KUNIT_CASE(bulk),
	KUNIT_CASE(typed_cache_ctor),
	KUNIT_CASE(numa_placement),
	KUNIT_CASE(hotplug_flush),
	KUNIT_CASE(trim_idle_caches),
	KUNIT_CASE(trim_frees_burst_in_one_period),
	KUNIT_CASE(trim_pause_nests),
	KUNIT_CASE(shrinker_returns_memory),
	KUNIT_CASE(shrinker_counts_what_it_frees),
	KUNIT_CASE(shrinker_keeps_working_set),
	KUNIT_CASE(failures_leave_nothing),
	KUNIT_CASE(fault_attr_fails_allocations),
	KUNIT_CASE(busy_mark_diverts),
	KUNIT_CASE(bypass_mode_skips_magazines),
	KUNIT_CASE(atomic_contexts),
	KUNIT_CASE(trim_visits_caching_cpus),
	KUNIT_CASE_SLOW(cross_cpu_stress),
	{}
};

static struct kunit_suite alloc_suite = {
	.name = "magalloc_alloc",
	.suite_init = alloc_suite_init,
	.suite_exit = alloc_suite_exit,
	.test_cases = alloc_cases,
};

/*
 * GFP flags mean what they mean to kmalloc().  The zone modifiers magalloc
 * cannot honour get NULL on every path.
 */
static void gfp_dma_refused(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	static const gfp_t zones[] = { __GFP_DMA, __GFP_DMA32 };
	void *objs[4];
	unsigned int i;
	int other = next_node_in(mag_home_node(), node_states[N_MEMORY]);

	for (i = 0; i < ARRAY_SIZE(zones); i++) {
		gfp_t gfp = GFP_KERNEL | zones[i];

		KUNIT_EXPECT_NULL(test, mag_alloc(64, gfp));
		KUNIT_EXPECT_NULL(test, (mag_alloc)(200, gfp));
		KUNIT_EXPECT_NULL(test, mag_alloc(100000, gfp));
		KUNIT_EXPECT_NULL(test, mag_alloc(3 << 20, gfp));
		KUNIT_EXPECT_NULL(test, mag_alloc_node(64, gfp, mag_home_node()));
		KUNIT_EXPECT_NULL(test, mag_alloc_node(64, gfp, other));
		KUNIT_EXPECT_NULL(test, mag_cache_alloc(cache, gfp));
		KUNIT_EXPECT_EQ(test, mag_alloc_bulk(64, gfp, ARRAY_SIZE(objs), objs), 0);
	}
}

struct nofail_arg {
	struct mag_cache *cache;
	size_t size;
	void *obj;
	struct completion done;
};

static int nofail_fn(void *data)
{
	struct nofail_arg *a = data;

	current->make_it_fail = 1;
	if (a->cache)
		a->obj = mag_cache_alloc(a->cache, GFP_KERNEL | __GFP_NOFAIL);
	else
		a->obj = mag_alloc(a->size, GFP_KERNEL | __GFP_NOFAIL);
	complete(&a->done);
	return 0;
}

/*
 * __GFP_NOFAIL never gets NULL: while every allocation of its task fails
 * (failslab and fail_page_alloc, armed by the guest for tasks with
 * make_it_fail), it waits; when memory comes back, it succeeds.
 */
static void gfp_nofail_waits(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 512, NULL);
	struct nofail_arg args[] = {
		{ .cache = cache },		/* a new span */
		{ .size = 100000 },		/* a large object */
	};
	struct task_struct *t;
	unsigned int i;
	void *p;

	if (!IS_ENABLED(CONFIG_FAILSLAB) || !IS_ENABLED(CONFIG_FAIL_PAGE_ALLOC))
		kunit_skip(test, "no fault injection in this kernel");
	current->make_it_fail = 1;
	p = mag_cache_alloc(cache, GFP_KERNEL);
	current->make_it_fail = 0;
	if (p) {
		mag_cache_free(cache, p);
		kunit_skip(test, "fault injection not armed (see scripts/guest-init)");
	}
	for (i = 0; i < ARRAY_SIZE(args); i++) {
		init_completion(&args[i].done);
		t = kthread_create(nofail_fn, &args[i], "magnofail");
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
		get_task_struct(t);
		wake_up_process(t);
		/* still waiting: no NULL */
		KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&args[i].done,
								  msecs_to_jiffies(300)), 0UL);
		WRITE_ONCE(t->make_it_fail, 0);
		KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&args[i].done,
								  msecs_to_jiffies(20000)), 0UL);
		put_task_struct(t);
		KUNIT_EXPECT_NOT_NULL(test, args[i].obj);
		if (args[i].cache)
			mag_cache_free(cache, args[i].obj);
		else
			mag_free(args[i].obj);
	}
}

/*
 * GFP_NOFS and GFP_NOIO hold for the memory magalloc takes on the
 * caller's behalf, the registries' xarray nodes included: the xarray
 * tries GFP_NOWAIT first, and only when that fails (here by fault
 * injection: the task's next allocation fails) uses the flags it is
 * given.  Inside fs reclaim, an allocation with __GFP_FS makes lockdep
 * report a recursion on fs_reclaim and turn itself off.
 */
static void gfp_nofs_metadata(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	static const gfp_t flags[] = { GFP_NOFS, GFP_NOIO };
	struct xarray xa;
	unsigned int i;
	int ret;

	if (!IS_ENABLED(CONFIG_LOCKDEP) || !IS_ENABLED(CONFIG_FAILSLAB) || !debug_locks)
		kunit_skip(test, "needs lockdep, still on, and failslab");
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		xa_init_flags(&xa, XA_FLAGS_LOCK_IRQ);
		fs_reclaim_acquire(GFP_KERNEL);
		current->fail_nth = 1;
		ret = mag_registry_store(&xa, 1UL << 30, xa_mk_value(1), flags[i]);
		/* the injected failure was taken: the node came from @flags */
		KUNIT_EXPECT_EQ(test, current->fail_nth, 0U);
		current->fail_nth = 0;
		fs_reclaim_release(GFP_KERNEL);
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_PTR_EQ(test, xa_load(&xa, 1UL << 30), xa_mk_value(1));
		xa_destroy(&xa);
	}
	KUNIT_EXPECT_TRUE(test, debug_locks);
#else
	kunit_skip(test, "needs fault injection");
#endif
}

/*
 * Arenas never come from the atomic reserves, and never with a hard
 * retry; a free's magazine never wakes kswapd (mag_free() is legal where
 * kfree() is, under the runqueue lock too) and never fails a free.
 */
static void gfp_reserves_and_frees(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	struct mag_pool *pool = cache_pool(cache);
	unsigned int i, n = 2 * pool->mag_size + 8;
	void **objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	int node;

	KUNIT_EXPECT_FALSE(test, mag_arena_gfp(GFP_ATOMIC) & __GFP_HIGH);
	KUNIT_EXPECT_TRUE(test, mag_arena_gfp(GFP_ATOMIC) & __GFP_NOMEMALLOC);
	KUNIT_EXPECT_FALSE(test, mag_arena_gfp(GFP_NOFS) & __GFP_FS);
	KUNIT_EXPECT_FALSE(test, mag_arena_gfp(GFP_NOIO) & (__GFP_FS | __GFP_IO));
	KUNIT_EXPECT_TRUE(test, mag_arena_gfp(GFP_KERNEL) & __GFP_DIRECT_RECLAIM);
	KUNIT_EXPECT_FALSE(test, MAG_FREE_GFP & (__GFP_RECLAIM | __GFP_HIGH));
	KUNIT_EXPECT_FALSE(test, mag_meta_gfp(MAG_FREE_GFP) & (__GFP_RECLAIM | __GFP_HIGH));

	/*
	 * Frees that need a magazine none can be had for (the task's
	 * allocations fail) go straight to their spans: nothing lost.
	 */
	KUNIT_ASSERT_NOT_NULL(test, objs);
	for (i = 0; i < n; i++) {
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	mag_drain_all();
	current->make_it_fail = 1;
	for (i = 0; i < n; i++)
		mag_cache_free(cache, objs[i]);
	current->make_it_fail = 0;
	mag_drain_all();
	for_each_node(node)
		KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[node]), 0UL);
}

/*
 * Fragmentation, made: of every free block of 32 pages or more on a node,
 * the first page of each 32 is held and the other 31 freed again.  Free
 * memory hardly shrinks (watermarks are not what is tested), but no free
 * block of more than 16 pages is left, nor can compaction make one: each
 * aligned run of 32 pages has a pinned page.
 */
struct hog {
	struct page *page[16384];
	unsigned int n;
};

#define HOG_ORDER	5

/*
 * Fragment what is free on @node now.  Called again, it does the same to
 * the blocks that came free since (compaction, deferred frees).
 */
static void hog_node(struct hog *h, int node)
{
	unsigned int i;
	int order;

	for (order = MAG_ARENA_ORDER; order >= HOG_ORDER; order--) {
		while (h->n + (1U << (order - HOG_ORDER)) <= ARRAY_SIZE(h->page)) {
			struct page *page = alloc_pages_node(node, GFP_KERNEL | __GFP_THISNODE |
							     __GFP_NORETRY | __GFP_NOWARN,
							     order);

			if (!page)
				break;
			split_page(page, order);
			for (i = 0; i < (1U << order); i++) {
				if (i % (1U << HOG_ORDER))
					__free_page(page + i);
				else
					h->page[h->n++] = page + i;
			}
		}
	}
}

static void hog_release(void *data)
{
	struct hog *h = data;

	while (h->n--)
		__free_page(h->page[h->n]);
	vfree(h);
}

static struct hog *hog_start(struct kunit *test)
{
	struct hog *h = vzalloc(sizeof(*h));

	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, hog_release, h), 0);
	return h;
}

/*
 * Fragmentation: this CPU's node has free memory but no free block of 2
 * MiB, nor of 32 pages (hog_node()), and its heap has no free pages
 * left.  Small GFP_KERNEL allocations still succeed on this node, as
 * kmalloc()'s do, from loose blocks of their span's size (two pages for
 * 8 KiB objects), and so does a large object of 9 pages.  Freed, the loose
 * blocks go back to the kernel.  (Whether a request of 32 pages falls to
 * the other node is not asserted: compaction of what the fragmenting left
 * alone can make such a block on this node at any time.)
 */
static void gfp_fragmentation_loose_blocks(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 8192, NULL);
	unsigned int nobjs = 0, loose = 0, i;
	unsigned long base_loose, after;
	struct mag_heap *heap;
	void **objs, *p;
	struct hog *hog;
	int home;

	objs = kunit_kcalloc(test, 4096, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	hog = hog_start(test);
	migrate_disable();
	home = mag_home_node();
	heap = mag_heaps[home];
	/* no free arena left to serve from */
	mag_drain_all();
	mag_heap_release(heap, 0);
	/* released arenas reach the page allocator a grace period later */
	rcu_barrier();
	base_loose = READ_ONCE(heap->loose_pages);
	hog_node(hog, home);
	/* until the heap's free pages are gone and loose blocks serve */
	while (loose < 16 && nobjs < 4096) {
		p = mag_cache_alloc(cache, GFP_KERNEL);
		if (!p) {
			KUNIT_FAIL(test, "object %u: NULL", nobjs);
			break;
		}
		objs[nobjs++] = p;
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(p)), home);
		if (span_of(p)->loose)
			loose++;
		if (nobjs % 16 == 0)
			hog_node(hog, home);
	}
	KUNIT_EXPECT_EQ(test, loose, 16U);
	KUNIT_EXPECT_GE(test, READ_ONCE(heap->loose_pages), base_loose + 2 * loose);

	/* no free block of 16 pages in the heap now; on the node, many */
	hog_node(hog, home);
	p = mag_alloc(9 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	if (p) {
		KUNIT_EXPECT_TRUE(test, span_of(p)->loose);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(p)), home);
		KUNIT_EXPECT_EQ(test, mag_ksize(p), 9 * PAGE_SIZE);
		memset(p, 0x5a, 9 * PAGE_SIZE);
	}

	migrate_enable();

	mag_free(p);
	for (i = 0; i < nobjs; i++)
		mag_cache_free(cache, objs[i]);
	kunit_release_action(test, destroy_cache, cache);
	after = READ_ONCE(heap->loose_pages);
	KUNIT_EXPECT_EQ(test, after, base_loose);
	kunit_info(test, "%u pages pinned on node %d, %u objects, %u in loose blocks",
		   hog->n, home, nobjs, loose);
}

/*
 * __GFP_ACCOUNT where the kernel charges no cgroup (this KUnit thread has
 * no mm and no active cgroup: the root's): the ordinary pools serve it,
 * small, large, bulk and typed caches alike.  (Charging a cgroup is
 * tested from userspace: magalloc_memcg_test.)
 */
static void gfp_account_uncharged(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 64, NULL);
	long bad = atomic_long_read(&mag_bad_frees);
	void *p, *q, *objs[8];
	int i;

	p = mag_alloc(64, GFP_KERNEL_ACCOUNT);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_PTR_EQ(test, span_of(p)->pool, &mag_generic[mag_size_class(64)]);
	q = mag_alloc(100000, GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_PTR_EQ(test, mag_arena_of(q)->heap, mag_heaps[mag_arena_of(q)->node]);
	KUNIT_EXPECT_NULL(test, memchr_inv(q, 0, 100000));
	KUNIT_ASSERT_EQ(test, mag_alloc_bulk(64, GFP_KERNEL_ACCOUNT, 8, objs), 8);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_EQ(test, mag_ksize(objs[i]), (size_t)64);
	mag_free_bulk(8, objs);
	mag_free(q);
	mag_free(p);
	p = mag_cache_alloc(cache, GFP_KERNEL_ACCOUNT);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_PTR_EQ(test, span_of(p)->pool, (struct mag_pool *)cache);
	mag_cache_free(cache, p);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mag_bad_frees), bad);
}

#if IS_ENABLED(CONFIG_KUNIT) && KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
static int grow_fails_on;

/* mag_central_grow() that cannot grow on node grow_fails_on */
static int grow_elsewhere(struct mag_central *c, gfp_t gfp)
{
	struct kunit *test = kunit_get_current_test();
	int ret;

	if (c->node == grow_fails_on)
		return -ENOMEM;
	kunit_deactivate_static_stub(test, mag_central_grow);
	ret = mag_central_grow(c, gfp);
	kunit_activate_static_stub(test, mag_central_grow, grow_elsewhere);
	return ret;
}
#endif

/*
 * Where the home node cannot grow (no free 2 MiB block, no loose block:
 * here a static stub says so), an allocation is served by the nearest
 * node that can, as the page allocator falls back along the zonelist;
 * with __GFP_THISNODE it gets NULL.  The object is its node's: its free
 * goes home there.
 */
static void gfp_other_node_fallback(struct kunit *test)
{
#if IS_ENABLED(CONFIG_KUNIT) && KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
	struct mag_cache *cache = test_cache(test, 256, NULL);
	struct mag_pool *pool = cache_pool(cache);
	int home, nid = NUMA_NO_NODE;
	void *p, *q;

	if (num_node_state(N_MEMORY) < 2)
		kunit_skip(test, "one node with memory");
	migrate_disable();
	home = mag_home_node();
	grow_fails_on = home;
	kunit_activate_static_stub(test, mag_central_grow, grow_elsewhere);
	p = mag_cache_alloc(cache, GFP_KERNEL);
	q = mag_cache_alloc(cache, GFP_KERNEL | __GFP_THISNODE);
	kunit_deactivate_static_stub(test, mag_central_grow);
	migrate_enable();
	KUNIT_EXPECT_NULL(test, q);
	KUNIT_ASSERT_NOT_NULL(test, p);
	nid = page_to_nid(virt_to_page(p));
	KUNIT_EXPECT_NE(test, nid, home);
	KUNIT_EXPECT_EQ(test, pool->central[home]->nr_spans, 0UL);
	KUNIT_EXPECT_EQ(test, pool->central[nid]->nr_spans, 1UL);
	mag_cache_free(cache, p);
	mag_drain_all();
	KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[nid]), 0UL);
#else
	kunit_skip(test, "no KUnit static stubs (6.4 on)");
#endif
}

static struct kunit_case gfp_cases[] = {
	KUNIT_CASE(gfp_account_uncharged),
	KUNIT_CASE(gfp_dma_refused),
	KUNIT_CASE(gfp_nofail_waits),
	KUNIT_CASE(gfp_nofs_metadata),
	KUNIT_CASE(gfp_reserves_and_frees),
	KUNIT_CASE(gfp_fragmentation_loose_blocks),
	KUNIT_CASE(gfp_other_node_fallback),
	{}
};

static struct kunit_suite gfp_suite = {
	.name = "magalloc_gfp",
	.suite_init = alloc_suite_init,
	.suite_exit = alloc_suite_exit,
	.test_cases = gfp_cases,
};

/*
 * The bad frees, in a suite of their own that runs after every suite
 * but magalloc_debug and magalloc_kasan, which make KASAN reports too
 * (Kbuild links those files last): under KASAN a double free is a KASAN
 * report, and a KASAN report taints the kernel and turns lockdep off for
 * the rest of the boot (end_report(): LOCKDEP_NOW_UNRELIABLE).  Run in
 * the middle of magalloc_alloc, they left every later suite of the kunit
 * boot without lockdep (gfp_nofs_metadata skipped there for that).
 */
static struct kunit_case frees_cases[] = {
	KUNIT_CASE(bad_frees_detected),
	KUNIT_CASE(hostile_frees_refused),
	{}
};

static struct kunit_suite frees_suite = {
	.name = "magalloc_frees",
	.suite_init = alloc_suite_init,
	.suite_exit = alloc_suite_exit,
	.test_cases = frees_cases,
};

kunit_test_suites(&alloc_suite, &gfp_suite, &frees_suite);
