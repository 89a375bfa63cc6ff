// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: bounded per-CPU caches (magazine.c, "Bounded caches").  A generic
 * pool's magazines start with no room on a CPU and grow at each depot
 * visit; what a CPU's generic pools reserve, and so what they can park,
 * stays within cpu_cache_kib, the others giving way round robin; a drain
 * gives the reservation back; with no budget at all, allocation still
 * works, through the central lists.
 *
 * The periodic trim is paused for the suite, and every case runs on one
 * CPU (migration disabled), reading that CPU's own structures.
 */
#include <kunit/test.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "internal.h"
#include "kunit_util.h"

/* The generic pools' reservation on this CPU, summed from their limits. */
static unsigned long reserved_here(void)
{
	unsigned long sum = 0;
	unsigned int cls;
	int node;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++)
		for_each_node(node)
			sum += 2UL * this_cpu_ptr(mag_generic[cls].cpu[node])->limit *
			       mag_generic[cls].size;
	return sum;
}

/* Bytes of generic objects in this CPU's magazines. */
static unsigned long parked_here(void)
{
	unsigned long sum = 0;
	unsigned int cls;
	int node;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++)
		for_each_node(node) {
			struct mag_cpu *pc = this_cpu_ptr(mag_generic[cls].cpu[node]);

			sum += (unsigned long)(pc->loaded->rounds + pc->prev->rounds) *
			       mag_generic[cls].size;
		}
	return sum;
}

static unsigned long budget_bytes(void)
{
	return (unsigned long)READ_ONCE(mag_cpu_cache_kib) * SZ_1K;
}

/*
 * Allocate @n objects of @size and free them again, on this CPU: both
 * magazines end up as full as the limit lets them.
 */
static void churn(struct kunit *test, size_t size, unsigned int n, void **objs)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		objs[i] = mag_alloc(size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	for (i = 0; i < n; i++)
		mag_free(objs[i]);
}

/*
 * A generic pool's limit starts at 0, grows at each depot visit (a
 * quarter of the magazine, then doubling) up to the magazine size; the
 * loaded magazine has exactly the limit's room; the CPU's reservation is
 * the sum of its limits; a drain gives it back.
 */
static void limit_grows_from_nothing(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(96)];
	unsigned int m = pool->mag_size, step = DIV_ROUND_UP(m, 4), visits = 0, i;
	unsigned long slow, reserved, evictions, now;
	struct mag_cpu *pc;
	void **objs;

	objs = kunit_kcalloc(test, 8 * m, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	/*
	 * Every CPU's limits back to 0 first: a budget that earlier suites
	 * left nearly full would make this pool's growth evict another pool,
	 * and the drain at the end would then give back more than it took.
	 */
	mag_drain_all();
	migrate_disable();
	pc = mag_local_cpu(pool);
	/*
	 * A span with free objects first: a refill that finds none grows the
	 * central and visits again, and each visit grows the limit.
	 */
	objs[0] = mag_alloc(96, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	mag_free(objs[0]);
	drain_here(test, pool);
	KUNIT_EXPECT_EQ(test, pc->limit, 0U);
	reserved = this_cpu_read(mag_budget.reserved);
	KUNIT_EXPECT_EQ(test, reserved, reserved_here());
	evictions = this_cpu_read(mag_budget.evictions);

	objs[0] = mag_alloc(96, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	KUNIT_EXPECT_EQ(test, pc->limit, step);
	KUNIT_ASSERT_FALSE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_EQ(test, pc->loaded->size, step);
	KUNIT_EXPECT_EQ(test, pc->loaded->rounds, step - 1);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved),
			reserved + 2UL * step * pool->size);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved), reserved_here());

	/* Each depot visit doubles it, up to the magazine size. */
	slow = pc->slow;
	for (i = 1; i < 8 * m && pc->limit < m; i++) {
		objs[i] = mag_alloc(96, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_LE(test, pc->loaded->rounds, pc->limit);
	}
	visits = pc->slow - slow;
	KUNIT_EXPECT_EQ(test, pc->limit, m);
	KUNIT_EXPECT_LE(test, visits, 3UL);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved), reserved_here());
	while (i)
		mag_free(objs[--i]);
	KUNIT_EXPECT_LE(test, pc->loaded->rounds, m);

	/* A drain gives the reservation back. */
	drain_here(test, pool);
	KUNIT_EXPECT_EQ(test, pc->limit, 0U);
	now = this_cpu_read(mag_budget.reserved);
	KUNIT_EXPECT_EQ(test, now, reserved);
	/* with an empty budget, growing one pool evicts none */
	now = this_cpu_read(mag_budget.evictions);
	KUNIT_EXPECT_EQ(test, now, evictions);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved), reserved_here());
	migrate_enable();
}

/*
 * Every class in turn, hot on one CPU, on the home node and, if there is
 * one, on a remote node (its frees here): the whole set would park far
 * more than the budget; what the CPU reserves and parks never exceeds it,
 * the pools that were hot before give way, and the hot one always gets
 * room.
 */
static void budget_bounds_parked(struct kunit *test)
{
	unsigned long budget = budget_bytes(), want = 0, evictions, most = 0;
	struct mag_parked *pk;
	unsigned int cls, n;
	int home, remote = NUMA_NO_NODE, node, cpu;
	void **objs;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++)
		want += 2UL * mag_generic[cls].mag_size * mag_generic[cls].size;
	kunit_info(test, "all classes at full magazines: %lu KiB per node; budget %lu KiB",
		   want >> 10, budget >> 10);
	KUNIT_ASSERT_GT(test, want, budget);
	objs = kunit_kcalloc(test, 2 * 62 + 2, sizeof(*objs), GFP_KERNEL);
	pk = kunit_kcalloc(test, nr_cpu_ids, sizeof(*pk), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_NOT_NULL(test, pk);

	migrate_disable();
	cpu = smp_processor_id();
	home = mag_home_node();
	for_each_node_state(node, N_MEMORY)
		if (node != home)
			remote = node;
	evictions = this_cpu_read(mag_budget.evictions);
	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		struct mag_pool *pool = &mag_generic[cls];
		unsigned int i;

		n = 2 * pool->mag_size + 2;
		churn(test, pool->size, n, objs);
		KUNIT_EXPECT_EQ_MSG(test, mag_local_cpu(pool)->limit, pool->mag_size,
				    "the hot pool %s got no room", pool->name);
		if (remote != NUMA_NO_NODE) {
			for (i = 0; i < n; i++) {
				objs[i] = mag_alloc_node(pool->size, GFP_KERNEL, remote);
				KUNIT_ASSERT_NOT_NULL(test, objs[i]);
			}
			for (i = 0; i < n; i++)
				mag_free(objs[i]);
		}
		KUNIT_EXPECT_LE_MSG(test, this_cpu_read(mag_budget.reserved), budget,
				    "after %s", pool->name);
		KUNIT_EXPECT_EQ_MSG(test, this_cpu_read(mag_budget.reserved), reserved_here(),
				    "after %s", pool->name);
		KUNIT_EXPECT_LE_MSG(test, parked_here(), budget, "after %s", pool->name);
		most = max(most, parked_here());
	}
	KUNIT_EXPECT_GT(test, this_cpu_read(mag_budget.evictions), evictions);
	migrate_enable();
	kunit_info(test, "most parked on CPU %d: %lu KiB (remote node %s)", cpu, most >> 10,
		   remote == NUMA_NO_NODE ? "none" : "too");

	/* The same, measured on the CPU as debugfs "parked" does. */
	mag_measure_parked(pk);
	KUNIT_EXPECT_LE(test, pk[cpu].generic, budget);
	KUNIT_EXPECT_LE(test, pk[cpu].reserved, budget);
	KUNIT_EXPECT_GT(test, pk[cpu].generic, 0UL);

	/* A drain of everything leaves no reservation anywhere. */
	mag_drain_all();
	mag_measure_parked(pk);
	for_each_possible_cpu(cpu) {
		KUNIT_EXPECT_EQ_MSG(test, pk[cpu].generic, 0UL, "CPU %d", cpu);
		KUNIT_EXPECT_EQ_MSG(test, pk[cpu].reserved, 0UL, "CPU %d", cpu);
	}
}

static void restore_budget(void *kib)
{
	WRITE_ONCE(mag_cpu_cache_kib, (unsigned int)(unsigned long)kib);
}

/*
 * A small budget caps the limit of a big class; no budget leaves the pool
 * uncached on the CPU: allocations and frees go through the central
 * lists, and nothing is lost.
 */
static void small_and_no_budget(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(4096)];
	unsigned int n = 2 * pool->mag_size + 2, i;
	struct mag_cpu *pc;
	void **objs;
	int node;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	void *kib = (void *)(unsigned long)READ_ONCE(mag_cpu_cache_kib);

	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, restore_budget, kib), 0);
	KUNIT_ASSERT_GE(test, 2UL * pool->mag_size * pool->size, (unsigned long)SZ_32K);

	mag_drain_all();
	WRITE_ONCE(mag_cpu_cache_kib, 16);
	migrate_disable();
	pc = mag_local_cpu(pool);
	churn(test, 4096, n, objs);
	KUNIT_EXPECT_EQ(test, pc->limit, (unsigned int)(SZ_16K / (2 * pool->size)));
	KUNIT_EXPECT_LE(test, this_cpu_read(mag_budget.reserved), (unsigned long)SZ_16K);
	KUNIT_EXPECT_LE(test, parked_here(), (unsigned long)SZ_16K);
	migrate_enable();

	mag_drain_all();
	WRITE_ONCE(mag_cpu_cache_kib, 0);
	migrate_disable();
	churn(test, 4096, n, objs);
	KUNIT_EXPECT_EQ(test, pc->limit, 0U);
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->prev));
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved), 0UL);
	for (i = 0; i < n; i++) {
		objs[i] = mag_alloc(4096, GFP_KERNEL | __GFP_ZERO);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_NULL(test, memchr_inv(objs[i], 0, 4096));
	}
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(pc->loaded));
	migrate_enable();
	for (i = 0; i < n; i++)
		mag_free(objs[i]);
	mag_drain_all();
	for_each_node(node)
		KUNIT_EXPECT_EQ(test, mag_central_live(pool->central[node]), 0UL);
}

struct batch {
	struct mag_pool *pool;
	unsigned int nr;
	void **objs;
	unsigned int limit, rounds;
};

/* On the CPU it runs on: drain the pool there, then free the batch. */
static long free_batch_here(void *arg)
{
	struct batch *b = arg;
	unsigned int i;

	if (!mag_slow_enter())
		return -EBUSY;
	mag_cpu_drain(b->pool, smp_processor_id(), NUMA_NO_NODE);
	mag_slow_exit();
	for (i = 0; i < b->nr; i++)
		mag_free(b->objs[i]);
	return 0;
}

/* On the CPU it runs on: drain the pool there, then allocate one object. */
static long alloc_one_here(void *arg)
{
	struct batch *b = arg;
	struct mag_cpu *pc;

	if (!mag_slow_enter())
		return -EBUSY;
	mag_cpu_drain(b->pool, smp_processor_id(), NUMA_NO_NODE);
	mag_slow_exit();
	b->objs[0] = mag_alloc(b->pool->size, GFP_KERNEL);
	preempt_disable();
	pc = mag_local_cpu(b->pool);
	b->limit = pc->limit;
	b->rounds = pc->loaded->rounds;
	preempt_enable();
	return 0;
}

/*
 * A full magazine that a CPU with a large limit left in the depot is cut
 * to the limit of the CPU that takes it: the surplus goes to the spans,
 * so the taker never holds more than its limit.
 */
static void depot_magazine_cut_to_limit(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(136)];
	unsigned int m = pool->mag_size, q = DIV_ROUND_UP(m, 4), i;
	int cpu0, cpu1, node;
	unsigned long live;
	struct mag_central *c;
	struct batch b = { .pool = pool };

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	cpu0 = cpumask_first(cpu_online_mask);
	cpu1 = cpumask_next(cpu0, cpu_online_mask);
	if (cpu_to_mem(cpu0) != cpu_to_mem(cpu1))
		kunit_skip(test, "needs two CPUs on one node");
	node = cpu_to_mem(cpu0);
	c = pool->central[node];
	b.nr = 3 * m;
	b.objs = kunit_kcalloc(test, b.nr, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b.objs);
	mag_drain_all();
	for (i = 0; i < b.nr; i++) {
		b.objs[i] = mag_alloc_node(pool->size, GFP_KERNEL, node);
		KUNIT_ASSERT_NOT_NULL(test, b.objs[i]);
	}
	/* cpu0 frees 3m: its limit grows to m, and full magazines of m go to the depot */
	KUNIT_ASSERT_EQ(test, work_on_cpu(cpu0, free_batch_here, &b), 0L);
	KUNIT_ASSERT_GT(test, c->nr_full, 0U);
	KUNIT_ASSERT_EQ(test, c->full_mags->rounds, m);
	live = mag_central_live(c);
	/* cpu1, drained (limit 0), allocates one: it takes that magazine, cut to q */
	KUNIT_ASSERT_EQ(test, work_on_cpu(cpu1, alloc_one_here, &b), 0L);
	KUNIT_ASSERT_NOT_NULL(test, b.objs[0]);
	KUNIT_EXPECT_EQ(test, b.limit, q);
	KUNIT_EXPECT_EQ(test, b.rounds, q - 1);
	/*
	 * The surplus went back to the spans (at least: the drain of cpu1
	 * before its allocation may give back objects it still held).
	 */
	KUNIT_EXPECT_LE(test, mag_central_live(c), live - (m - q));
	mag_free(b.objs[0]);
	mag_drain_all();
	KUNIT_EXPECT_EQ(test, mag_central_live(c), 0UL);
}

/* A typed cache is outside the budget: full magazines from the start. */
static void typed_cache_outside_budget(struct kunit *test)
{
	struct mag_cache *cache = mag_cache_create("kunit-budget", 96, 0, 0, NULL);
	struct mag_pool *pool = (struct mag_pool *)cache;
	unsigned long reserved;
	void *p;

	KUNIT_ASSERT_NOT_NULL(test, cache);
	migrate_disable();
	reserved = this_cpu_read(mag_budget.reserved);
	KUNIT_EXPECT_EQ(test, mag_local_cpu(pool)->limit, pool->mag_size);
	p = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, mag_local_cpu(pool)->loaded->size, pool->mag_size);
	KUNIT_EXPECT_EQ(test, this_cpu_read(mag_budget.reserved), reserved);
	mag_cache_free(cache, p);
	migrate_enable();
	mag_cache_destroy(cache);
}

static int budget_suite_init(struct kunit_suite *suite)
{
	mag_trim_pause(true);
	return quarantine_off(suite);
}

static void budget_suite_exit(struct kunit_suite *suite)
{
	quarantine_on(suite);
	mag_trim_pause(false);
}

static struct kunit_case budget_cases[] = {
	KUNIT_CASE(limit_grows_from_nothing),
	KUNIT_CASE_SLOW(budget_bounds_parked),
	KUNIT_CASE(small_and_no_budget),
	KUNIT_CASE(depot_magazine_cut_to_limit),
	KUNIT_CASE(typed_cache_outside_budget),
	{}
};

static struct kunit_suite budget_suite = {
	.name = "magalloc_budget",
	.suite_init = budget_suite_init,
	.suite_exit = budget_suite_exit,
	.test_cases = budget_cases,
};

kunit_test_suite(budget_suite);
