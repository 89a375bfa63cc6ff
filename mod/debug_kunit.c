// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of debug mode (debug.c): the slot layout, the tracks, each
 * violation caught and its object isolated, the per-pool switch, and every
 * allocation entry.  The deliberate corruptions are written with KASAN's
 * reports off for this task (they hit red zones KASAN poisons too); the
 * frees and allocations that find them run between the harness's
 * "@@MAG EXPECT" marks, because a debug report is a splat anywhere else.
 */
#include <kunit/test.h>
#include <linux/kallsyms.h>
#include <linux/kasan.h>
#include <linux/poison.h>
#include <linux/stackdepot.h>

#include "internal.h"
#include "kunit_util.h"

static struct mag_pool *pool_of(struct mag_cache *cache)
{
	/* struct mag_cache starts with its pool */
	return (struct mag_pool *)cache;
}

static struct mag_debug_meta meta(const struct mag_pool *pool, const void *obj)
{
	struct mag_debug_meta m;

	kasan_disable_current();
	m = *(const struct mag_debug_meta *)(obj - pool->dbg_off);
	kasan_enable_current();
	return m;
}

/* Are [@p, @p + @len) all @val?  Read with KASAN's reports off. */
static bool all_bytes(const void *p, size_t len, u8 val)
{
	bool ret;

	kasan_disable_current();
	ret = !memchr_inv(p, val, len);
	kasan_enable_current();
	return ret;
}

static void poke(void *p, u8 val)
{
	kasan_disable_current();
	WRITE_ONCE(*(u8 *)p, val);
	kasan_enable_current();
}

static u8 peek(const void *p)
{
	u8 v;

	kasan_disable_current();
	v = READ_ONCE(*(const u8 *)p);
	kasan_enable_current();
	return v;
}

/* KASAN reports about magalloc memory: debug mode's own reads make none. */
static unsigned long kasan_count(void)
{
#ifdef CONFIG_KASAN_GENERIC
	return mag_kasan_reports(NULL);
#else
	return 0;
#endif
}

/* Does the stack depot's chain @handle pass through a function @name? */
static bool chain_has(u32 handle, const char *name)
{
	unsigned long *entries;
	unsigned int nr, i;
	char buf[KSYM_SYMBOL_LEN];

	if (!handle)
		return false;
	nr = stack_depot_fetch(handle, &entries);
	for (i = 0; i < nr; i++) {
		/* "name [magalloc]" */
		snprintf(buf, sizeof(buf), "%ps", (void *)entries[i]);
		if (!strncmp(buf, name, strlen(name)) && (buf[strlen(name)] == ' ' ||
							  !buf[strlen(name)]))
			return true;
	}
	return false;
}

/* A typed cache in debug mode for the test. */
static struct mag_cache *debug_cache(struct kunit *test, unsigned int size,
				     void (*ctor)(void *))
{
	struct mag_cache *cache = test_cache(test, size, ctor);

	KUNIT_ASSERT_EQ(test, mag_pool_set_debug(pool_of(cache), true), 0);
	return cache;
}

/* Not tail calls: each stays in the call chain. */
static noinline void *alloc_here(struct mag_cache *cache)
{
	void *p = mag_cache_alloc(cache, GFP_KERNEL);

	barrier();
	return p;
}

static noinline void free_here(struct mag_cache *cache, void *p)
{
	mag_cache_free(cache, p);
	barrier();
}

/* The slot: red zones, poison, alignment, the size asked and both tracks. */
static void layout_and_tracks(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 50, NULL);
	struct mag_pool *pool = pool_of(cache);
	unsigned int align = max(pool->size & -pool->size, 8U);
	struct mag_debug_meta m;
	u8 *p, *slot;

	p = alloc_here(cache);
	KUNIT_ASSERT_NOT_NULL(test, p);
	slot = p - pool->dbg_off;
	KUNIT_EXPECT_EQ(test, span_of(p)->state, (u8)MAG_SPAN_DEBUG);
	KUNIT_EXPECT_EQ(test, (unsigned long)p % align, 0UL);
	m = meta(pool, p);
	KUNIT_EXPECT_EQ(test, m.state, (unsigned int)MAG_DBG_ALLOCATED);
	KUNIT_EXPECT_EQ(test, m.size, 50U);
	KUNIT_EXPECT_EQ(test, m.alloc.pid, (int)current->pid);
	KUNIT_EXPECT_TRUE(test, chain_has(m.alloc.stack, "alloc_here"));
	KUNIT_EXPECT_EQ(test, m.free.when, 0UL);
	/* both red zones active, the class tail included */
	KUNIT_EXPECT_TRUE(test, all_bytes(slot + sizeof(m), pool->dbg_off - sizeof(m),
					  SLUB_RED_ACTIVE));
	KUNIT_EXPECT_TRUE(test, all_bytes(p + 50, pool->dbg_stride - pool->dbg_off - 50,
					  SLUB_RED_ACTIVE));
	KUNIT_EXPECT_GE(test, pool->dbg_off - sizeof(m), 16UL);
	KUNIT_EXPECT_GE(test, pool->dbg_stride - pool->dbg_off - pool->size, 16U);
	/* a new object holds the poison its span was made with */
	KUNIT_EXPECT_TRUE(test, all_bytes(p, 49, POISON_FREE));
	memset(p, 0x11, 50);

	free_here(cache, p);
	m = meta(pool, p);
	KUNIT_EXPECT_EQ(test, m.state, (unsigned int)MAG_DBG_FREE);
	KUNIT_EXPECT_EQ(test, m.free.pid, (int)current->pid);
	KUNIT_EXPECT_TRUE(test, chain_has(m.free.stack, "free_here"));
	KUNIT_EXPECT_TRUE(test, chain_has(m.alloc.stack, "alloc_here"));
	KUNIT_EXPECT_TRUE(test, all_bytes(p, pool->size - 1, POISON_FREE));
	KUNIT_EXPECT_EQ(test, peek(p + pool->size - 1), (u8)POISON_END);
	KUNIT_EXPECT_TRUE(test, all_bytes(slot + sizeof(m), pool->dbg_off - sizeof(m),
					  SLUB_RED_INACTIVE));
	KUNIT_EXPECT_TRUE(test, all_bytes(p + pool->size,
					  pool->dbg_stride - pool->dbg_off - pool->size,
					  SLUB_RED_INACTIVE));

	/* __GFP_ZERO zeroes the size asked, not the red zone */
	p = mag_cache_alloc(cache, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, all_bytes(p, 50, 0));
	KUNIT_EXPECT_TRUE(test, all_bytes(p + 50, pool->size - 50, SLUB_RED_ACTIVE));
	mag_cache_free(cache, p);
	mag_pool_set_debug(pool, false);
}

struct corrupt {
	struct mag_cache *cache;
	u8 *obj;
	long offset;
};

static long corrupt_and_free(void *arg)
{
	struct corrupt *c = arg;

	poke(c->obj + c->offset, 0x42);
	mag_cache_free(c->cache, c->obj);
	return 0;
}

/* A write past either end is caught at free; the object is kept out of use. */
static void red_zones_checked_at_free(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 50, NULL);
	struct mag_pool *pool = pool_of(cache);
	struct mag_central *c;
	unsigned long right = mag_debug_count(MAG_DBG_RIGHT_RED);
	unsigned long left = mag_debug_count(MAG_DBG_LEFT_RED);
	unsigned long kasan = kasan_count();
	unsigned long live;
	struct corrupt bad = { .cache = cache };
	void *objs[64];
	int i, n;

	/* one past the size asked: the class tail is a red zone */
	bad.obj = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bad.obj);
	c = pool->central[mag_arena_of(bad.obj)->node];
	live = mag_central_live(c);
	bad.offset = 50;
	expect_reports(corrupt_and_free, &bad);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_RIGHT_RED), right + 1);
	KUNIT_EXPECT_EQ(test, meta(pool, bad.obj).state, (unsigned int)MAG_DBG_ISOLATED);
	/* isolated: not live, not free, never handed out again, left as found */
	KUNIT_EXPECT_EQ(test, mag_central_live(c), live - 1);
	KUNIT_EXPECT_EQ(test, c->dbg_isolated, 1UL);
	n = min_t(int, ARRAY_SIZE(objs), pool->dbg_objs);
	for (i = 0; i < n; i++) {
		objs[i] = mag_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_PTR_NE(test, objs[i], (void *)bad.obj);
	}
	KUNIT_EXPECT_EQ(test, peek(bad.obj + 50), 0x42);
	for (i = 0; i < n; i++)
		mag_cache_free(cache, objs[i]);

	/* one before the start */
	bad.obj = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bad.obj);
	bad.offset = -1;
	expect_reports(corrupt_and_free, &bad);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_LEFT_RED), left + 1);
	KUNIT_EXPECT_EQ(test, meta(pool, bad.obj).state, (unsigned int)MAG_DBG_ISOLATED);
	KUNIT_EXPECT_EQ(test, kasan_count(), kasan);
	mag_pool_set_debug(pool, false);
}

struct reuse {
	struct mag_cache *cache;
	u8 *first, *second;
};

/* On one CPU, so both allocations use the same node's span. */
static long write_after_free(void *arg)
{
	struct reuse *r = arg;

	r->first = mag_cache_alloc(r->cache, GFP_KERNEL);
	if (!r->first)
		return -ENOMEM;
	mag_cache_free(r->cache, r->first);
	poke(r->first + 3, 0);
	/* the lowest free slot again: the one just written to */
	r->second = mag_cache_alloc(r->cache, GFP_KERNEL);
	return 0;
}

/* A write to a free object is caught when its slot would be reused. */
static void poison_checked_at_alloc(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 64, NULL);
	struct mag_pool *pool = pool_of(cache);
	unsigned long poison = mag_debug_count(MAG_DBG_POISON);
	unsigned long kasan = kasan_count();
	struct reuse r = { .cache = cache };

	KUNIT_ASSERT_EQ(test, expect_reports(write_after_free, &r), 0);
	KUNIT_ASSERT_NOT_NULL(test, r.second);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_POISON), poison + 1);
	KUNIT_EXPECT_PTR_NE(test, (void *)r.second, (void *)r.first);
	KUNIT_EXPECT_EQ(test, meta(pool, r.first).state, (unsigned int)MAG_DBG_ISOLATED);
	KUNIT_EXPECT_EQ(test, meta(pool, r.second).state, (unsigned int)MAG_DBG_ALLOCATED);
	KUNIT_EXPECT_EQ(test, kasan_count(), kasan);
	mag_cache_free(cache, r.second);
	mag_pool_set_debug(pool, false);
}

static long free_fn(void *arg)
{
	mag_free(arg);
	return 0;
}

/* A double free is reported with both tracks and changes nothing. */
static void double_free_reported(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 64, NULL);
	struct mag_pool *pool = pool_of(cache);
	unsigned long dbl = mag_bad_free_count(MAG_BAD_DOUBLE);
	unsigned long seen = mag_debug_count(MAG_DBG_DOUBLE);
	void *p, *a, *b;

	p = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_cache_free(cache, p);
	expect_reports(free_fn, p);
	KUNIT_EXPECT_EQ(test, mag_bad_free_count(MAG_BAD_DOUBLE), dbl + 1);
	/* under KASAN its own check catches it first (kasan.c) */
	if (!IS_ENABLED(CONFIG_KASAN_GENERIC))
		KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_DOUBLE), seen + 1);
	KUNIT_EXPECT_EQ(test, meta(pool, p).state, (unsigned int)MAG_DBG_FREE);
	a = mag_cache_alloc(cache, GFP_KERNEL);
	b = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	mag_cache_free(cache, a);
	mag_cache_free(cache, b);
	mag_pool_set_debug(pool, false);
}

/* mag_ksize() gives the class size, and the red zone moves to its end. */
static void ksize_lifts_tail(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 50, NULL);
	struct mag_pool *pool = pool_of(cache);
	unsigned long right = mag_debug_count(MAG_DBG_RIGHT_RED);
	u8 *p = mag_cache_alloc(cache, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, mag_ksize(p), (size_t)pool->size);
	KUNIT_EXPECT_EQ(test, mag_ksize(p + 8), (size_t)0);
	memset(p, 0x33, pool->size);
	mag_cache_free(cache, p);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_RIGHT_RED), right);
	KUNIT_EXPECT_EQ(test, meta(pool, p).state, (unsigned int)MAG_DBG_FREE);
	mag_pool_set_debug(pool, false);
}

/* A constructed object is not poisoned: it keeps what its constructor made. */
static void ctor_objects_kept(struct kunit *test)
{
	struct mag_cache *cache = debug_cache(test, 128, test_ctor);
	struct mag_pool *pool = pool_of(cache);
	u8 *p = mag_cache_alloc(cache, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, all_bytes(p, 100, 0xc7));
	mag_cache_free(cache, p);
	KUNIT_EXPECT_TRUE(test, all_bytes(p, 100, 0xc7));
	p = mag_cache_alloc(cache, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, all_bytes(p, 100, 0xc7));
	mag_cache_free(cache, p);
	mag_pool_set_debug(pool, false);
}

/*
 * Debug mode is per pool: another pool keeps its magazines.  Switched
 * off, the pool allocates from ordinary spans again, while the objects of
 * its debug spans are still checked when freed, and their spans go back.
 */
static void switch_per_pool(struct kunit *test)
{
	struct mag_cache *dbg = debug_cache(test, 64, NULL);
	struct mag_cache *plain = test_cache(test, 64, NULL);
	unsigned long right = mag_debug_count(MAG_DBG_RIGHT_RED);
	struct corrupt bad = { .cache = dbg };
	void *objs[4];
	int i, node;

	KUNIT_EXPECT_TRUE(test, static_key_enabled(&mag_debug_key));
	migrate_disable();
	for (i = 0; i < 4; i++) {
		objs[i] = mag_cache_alloc(plain, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_EQ(test, span_of(objs[i])->state, (u8)MAG_SPAN_SMALL);
	}
	for (i = 0; i < 4; i++)
		mag_cache_free(plain, objs[i]);
	KUNIT_EXPECT_FALSE(test, mag_is_sentinel(mag_local_cpu(pool_of(plain))->loaded));
	KUNIT_EXPECT_TRUE(test, mag_is_sentinel(mag_local_cpu(pool_of(dbg))->loaded));
	migrate_enable();

	bad.obj = mag_cache_alloc(dbg, GFP_KERNEL);
	objs[0] = mag_cache_alloc(dbg, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bad.obj);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	mag_pool_set_debug(pool_of(dbg), false);
	KUNIT_EXPECT_FALSE(test, static_key_enabled(&mag_debug_key));
	objs[1] = mag_cache_alloc(dbg, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs[1]);
	KUNIT_EXPECT_EQ(test, span_of(objs[1])->state, (u8)MAG_SPAN_SMALL);
	mag_cache_free(dbg, objs[1]);

	bad.offset = 64;
	expect_reports(corrupt_and_free, &bad);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_RIGHT_RED), right + 1);
	mag_cache_free(dbg, objs[0]);
	mag_drain_all();
	for_each_node(node) {
		struct mag_central *c = pool_of(dbg)->central[node];

		/* only the span of the isolated object stays */
		KUNIT_EXPECT_EQ(test, c->dbg_spans, c->dbg_isolated);
		KUNIT_EXPECT_EQ(test, mag_central_live(c), 0UL);
	}
}

/* Every allocation entry of a generic pool gives checked objects. */
static void every_entry_debugged(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(40)];
	unsigned long before = mag_debug_count(MAG_DBG_RIGHT_RED);
	void *objs[5], *p;
	int node, i;

	KUNIT_ASSERT_EQ(test, mag_pool_set_debug(pool, true), 0);
	p = mag_alloc(40, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, span_of(p)->state, (u8)MAG_SPAN_DEBUG);
	KUNIT_EXPECT_EQ(test, meta(pool, p).size, 40U);
	mag_free(p);
	for_each_node_state(node, N_MEMORY) {
		p = mag_alloc_node(36, GFP_KERNEL, node);
		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_EXPECT_EQ(test, span_of(p)->state, (u8)MAG_SPAN_DEBUG);
		KUNIT_EXPECT_EQ(test, mag_arena_of(p)->node, node);
		KUNIT_EXPECT_EQ(test, meta(pool, p).size, 36U);
		mag_free(p);
	}
	KUNIT_ASSERT_EQ(test, mag_alloc_bulk(33, GFP_KERNEL, ARRAY_SIZE(objs), objs),
			(int)ARRAY_SIZE(objs));
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		KUNIT_EXPECT_EQ(test, span_of(objs[i])->state, (u8)MAG_SPAN_DEBUG);
		KUNIT_EXPECT_EQ(test, meta(pool, objs[i]).size, 33U);
	}
	mag_free_bulk(ARRAY_SIZE(objs), objs);
	KUNIT_EXPECT_EQ(test, mag_debug_count(MAG_DBG_RIGHT_RED), before);
	mag_pool_set_debug(pool, false);
	mag_drain_all();
}

/* The parameter's names: 1, 0, or a list. */
static void names_parsed(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, mag_debug_names_match("1", "mag-64"));
	KUNIT_EXPECT_TRUE(test, mag_debug_names_match("all", "kunit"));
	KUNIT_EXPECT_FALSE(test, mag_debug_names_match("0", "mag-64"));
	KUNIT_EXPECT_FALSE(test, mag_debug_names_match("", "mag-64"));
	KUNIT_EXPECT_TRUE(test, mag_debug_names_match("mag-8,mag-64", "mag-64"));
	KUNIT_EXPECT_TRUE(test, mag_debug_names_match("mag-64,mag-8", "mag-64"));
	KUNIT_EXPECT_FALSE(test, mag_debug_names_match("mag-640", "mag-64"));
	KUNIT_EXPECT_FALSE(test, mag_debug_names_match("mag-6", "mag-64"));
	KUNIT_EXPECT_FALSE(test, mag_debug_names_match("mag-8,mag-6", "mag-64"));
}

static struct kunit_case debug_cases[] = {
	KUNIT_CASE(layout_and_tracks),
	KUNIT_CASE(red_zones_checked_at_free),
	KUNIT_CASE(poison_checked_at_alloc),
	KUNIT_CASE(double_free_reported),
	KUNIT_CASE(ksize_lifts_tail),
	KUNIT_CASE(ctor_objects_kept),
	KUNIT_CASE(switch_per_pool),
	KUNIT_CASE(every_entry_debugged),
	KUNIT_CASE(names_parsed),
	{}
};

static struct kunit_suite debug_suite = {
	.name = "magalloc_debug",
	.suite_init = quarantine_off,
	.suite_exit = quarantine_on,
	.test_cases = debug_cases,
};

kunit_test_suite(debug_suite);
