// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: memory initialisation on every path that returns an object.
 *
 * An allocation with __GFP_ZERO, or any allocation with init_on_alloc=1,
 * must return an object whose every byte (all of mag_ksize(), not only
 * what was asked for) is zero, whichever path it takes: the inline
 * constant-size mag_alloc() of magalloc.h, the exported mag_alloc(),
 * mag_alloc_node() on this CPU's node and on another, mag_alloc_bulk(), a
 * typed cache without a constructor, large objects from the page heap
 * (on both nodes), and huge ones from the kernel's page allocator.  A
 * fresh object proves nothing (new pages are mostly zero already), so
 * every check first dirties the very objects it will get back: it
 * allocates them through the same path, fills them with a pattern and
 * frees them; then it allocates again, fails if what comes back is not
 * one of those objects (so the recycled path is known to have run), and
 * looks at every byte.  Each path is a parameter of the cases, and every
 * size class is tried on the small-object paths.
 *
 * make check boots the KUnit kernel twice: every suite without any
 * init_on_* switch, where the __GFP_ZERO case runs and the others skip,
 * and once more with init_on_free=1 init_on_alloc=1 for this suite alone.
 * With init_on_free every free zeroes the object, which would hide a
 * missing zeroing on allocation, so there the freed objects are filled
 * once more where they wait to be reused, as a stale pointer would write
 * them: small objects wholly (magazines and spans keep nothing in them),
 * large ones but for the first bytes of each page (where the page heap
 * links its free blocks).  Huge objects are the page allocator's, which
 * zeroes on free with init_on_free and on allocation otherwise; the check
 * sees what it returns.
 *
 * The periodic trim is paused for the suite, so magazines keep what the
 * checks free into them, and each check runs with migration disabled, so
 * that it allocates from the magazines it freed to.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/kasan.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/preempt.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "internal.h"
#include "kunit_util.h"

#define DIRT		0x5a
/* Large objects dirtied and checked per request (small: see check_request()) */
#define NR_LARGE	2
/* The largest magazine and one more */
#define NR_MAX		63

enum init_kind { INIT_SMALL, INIT_LARGE, INIT_HUGE };

struct init_ctx;

/**
 * struct init_path - one way to get an object
 * @name: the parameter's name
 * @kind: small objects (every class is tried), large or huge ones
 * @remote: objects of another node than this CPU's
 * @alloc: allocate @nr objects into @objs with @gfp; false on failure,
 *	with nothing held
 * @free: free the @nr objects of @objs so that the next @alloc of as
 *	many takes them back
 */
struct init_path {
	const char *name;
	enum init_kind kind;
	bool remote;
	bool (*alloc)(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr);
	void (*free)(struct init_ctx *c, void **objs, unsigned int nr);
};

/**
 * struct init_ctx - one request being checked
 * @test: the test
 * @path: the path
 * @cls: the size class, 0 beyond the classes
 * @size: the request in bytes
 * @node: the node of the objects
 * @cache: the typed cache of the request, for that path
 * @dirty: the objects dirtied, [NR_MAX]
 * @objs: the objects checked, [NR_MAX]
 * @ksize: mag_ksize() of each of @dirty, [NR_MAX]
 */
struct init_ctx {
	struct kunit *test;
	const struct init_path *path;
	unsigned int cls;
	size_t size;
	int node;
	struct mag_cache *cache;
	void **dirty;
	void **objs;
	size_t *ksize;
};

/*
 * mag_alloc() of the smallest request of class @cls as a compile-time
 * constant, so through magalloc.h's inline path: one inline copy of it
 * for each class (none, and NULL, if the generated list disagrees with
 * mag_class_size[]).
 */
static void *inline_alloc(unsigned int cls, gfp_t gfp)
{
	void *obj = NULL;

#define MAG_CLASS_DO(first, size)				\
	do {							\
		if (mag_class_size[cls] == (size))		\
			obj = mag_alloc(first, gfp);		\
	} while (0)
	MAG_FOR_EACH_CLASS();
#undef MAG_CLASS_DO
	return obj;
}

/* Undo a partial allocation of @nr objects (the allocated come first). */
static bool alloc_failed(struct init_ctx *c, void **objs, unsigned int nr)
{
	while (nr--)
		if (objs[nr])
			c->path->free(c, &objs[nr], 1);
	return false;
}

static bool alloc_inline(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		objs[i] = inline_alloc(c->cls, gfp);
		if (!objs[i])
			return alloc_failed(c, objs, i);
	}
	return true;
}

static void free_inline(struct init_ctx *c, void **objs, unsigned int nr)
{
	while (nr--)
		mag_free(objs[nr]);
}

static bool alloc_exported(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		objs[i] = (mag_alloc)(c->size, gfp);
		if (!objs[i])
			return alloc_failed(c, objs, i);
	}
	return true;
}

/* Frees in reverse order: the page heap is then as it was before. */
static void free_exported(struct init_ctx *c, void **objs, unsigned int nr)
{
	while (nr--)
		(mag_free)(objs[nr]);
}

static bool alloc_node(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		objs[i] = mag_alloc_node(c->size, gfp, c->node);
		if (!objs[i])
			return alloc_failed(c, objs, i);
	}
	return true;
}

/*
 * Small objects of another node come straight from that node's spans, so
 * they go straight back there, where magazines would take them in the
 * end; in reverse order, the spans are then as they were before.
 */
static void free_remote(struct init_ctx *c, void **objs, unsigned int nr)
{
	while (nr--) {
		/* what mag_free() would tell KASAN and kmemleak (kasan.c) */
		if (IS_ENABLED(CONFIG_KASAN_GENERIC))
			mag_kasan_freed(objs[nr], mag_ksize(objs[nr]));
		mag_central_free_obj(objs[nr]);
	}
}

static bool alloc_bulk(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr)
{
	return mag_alloc_bulk(c->size, gfp, nr, objs) == nr;
}

static void free_bulk(struct init_ctx *c, void **objs, unsigned int nr)
{
	mag_free_bulk(nr, objs);
}

static bool alloc_cache(struct init_ctx *c, gfp_t gfp, void **objs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		objs[i] = mag_cache_alloc(c->cache, gfp);
		if (!objs[i])
			return alloc_failed(c, objs, i);
	}
	return true;
}

static void free_cache(struct init_ctx *c, void **objs, unsigned int nr)
{
	while (nr--)
		mag_cache_free(c->cache, objs[nr]);
}

static const struct init_path init_paths[] = {
	{ "inline", INIT_SMALL, false, alloc_inline, free_inline },
	{ "exported", INIT_SMALL, false, alloc_exported, free_exported },
	{ "node_local", INIT_SMALL, false, alloc_node, free_exported },
	{ "node_remote", INIT_SMALL, true, alloc_node, free_remote },
	{ "bulk", INIT_SMALL, false, alloc_bulk, free_bulk },
	{ "cache", INIT_SMALL, false, alloc_cache, free_cache },
	{ "large", INIT_LARGE, false, alloc_exported, free_exported },
	{ "large_remote", INIT_LARGE, true, alloc_node, free_exported },
	{ "huge", INIT_HUGE, false, alloc_exported, free_exported },
};

KUNIT_ARRAY_PARAM_DESC(init_path, init_paths, name);

/* Requests beyond the classes: odd sizes, and each end of the range. */
static const size_t large_sizes[] = {
	MAG_MAX_SMALL + 1, SZ_64K, SZ_256K + 8, MAG_LARGE_MAX,
};

static const size_t huge_sizes[] = {
	MAG_LARGE_MAX + 1, SZ_2M + PAGE_SIZE,
};

/*
 * With init_on_free, fill a freed large object again, but for the free
 * list links at the start of each page, if its arena is still in the heap
 * (under the heap lock, which the arena needs to go away).
 */
static void redirty_large(struct init_ctx *c, void *obj, size_t size)
{
	struct mag_heap *h = mag_heaps[c->node];
	struct mag_arena *a;
	unsigned long flags, off;

	spin_lock_irqsave(&h->lock, flags);
	/* a stale pointer's writes, on purpose: not KASAN's business */
	kasan_disable_current();
	list_for_each_entry(a, &h->arenas, link) {
		if (a != mag_arena_of(obj))
			continue;
		for (off = 0; off < size; off += PAGE_SIZE)
			memset(obj + off + sizeof(struct list_head), DIRT,
			       PAGE_SIZE - sizeof(struct list_head));
		break;
	}
	kasan_enable_current();
	spin_unlock_irqrestore(&h->lock, flags);
}

/*
 * With init_on_free, fill a freed small object of @pool again, if its
 * span is still there (under the central's lock, which the span needs to
 * go away): in a magazine it always is, in a span that a free emptied it
 * may not be.
 */
static void redirty_small(struct init_ctx *c, struct mag_pool *pool, void *obj,
			  size_t size)
{
	struct mag_central *ce = pool->central[c->node];
	unsigned long flags;

	spin_lock_irqsave(&ce->lock, flags);
	/* a stale pointer's writes, on purpose: not KASAN's business */
	kasan_disable_current();
	if (span_of(obj))
		memset(obj, DIRT, size);
	kasan_enable_current();
	spin_unlock_irqrestore(&ce->lock, flags);
}

/*
 * Huge objects are not reused by magalloc: dirty a block of the page
 * allocator of the order that the allocation will ask for, on its node,
 * and free it; the page allocator usually hands the same block out next.
 * Returns its address (freed), or NULL.
 */
static void *dirty_huge(struct init_ctx *c)
{
	unsigned int order = get_order(c->size);
	struct page *page;

	page = alloc_pages_node(c->node, GFP_KERNEL | __GFP_NOWARN, order);
	if (!page)
		return NULL;
	memset(page_address(page), DIRT, PAGE_SIZE << order);
	__free_pages(page, order);
	return page_address(page);
}

static bool one_of(void *obj, void **objs, unsigned int nr)
{
	while (nr--)
		if (obj == objs[nr])
			return true;
	return false;
}

/*
 * Dirty objects of the request (allocated, filled and freed through the
 * path), allocate as many again with @gfp, and check them: each must be
 * one of the dirtied (for huge ones, this is counted in *@reused), be as
 * large as mag_ksize() says, and be zero throughout.  Small objects come
 * a magazine and one more at a time: at least one of them is then taken
 * by the slow path (a magazine swap), which zeroes on its own.  Small
 * objects of another node come from the spans one at a time: a span that
 * a second free empties goes back to the heap, and may not come back.
 */
static void check_request(struct init_ctx *c, gfp_t gfp, unsigned int *reused)
{
	const struct init_path *path = c->path;
	struct kunit *test = c->test;
	void **dirty = c->dirty, **objs = c->objs;
	size_t want, *ksize = c->ksize;
	struct mag_pool *pool = NULL;
	unsigned int i, nr;
	const u8 *bad;

	if (path->kind == INIT_LARGE)
		nr = NR_LARGE;
	else if (path->kind == INIT_HUGE || path->remote)
		nr = 1;
	else
		nr = mag_generic[c->cls].mag_size + 1;
	KUNIT_ASSERT_LE(test, nr, NR_MAX);
	memset(dirty, 0, NR_MAX * sizeof(*dirty));
	memset(objs, 0, NR_MAX * sizeof(*objs));

	want = c->cls ? mag_class_size[c->cls] : PAGE_ALIGN(c->size);
	migrate_disable();
	c->node = numa_mem_id();
	if (path->remote)
		c->node = next_node_in(c->node, node_states[N_MEMORY]);

	if (path->kind == INIT_HUGE) {
		dirty[0] = dirty_huge(c);
	} else {
		if (!path->alloc(c, GFP_KERNEL, dirty, nr)) {
			KUNIT_FAIL(test, "%s: %zu bytes: allocation failed", path->name, c->size);
			goto out;
		}
		for (i = 0; i < nr; i++) {
			ksize[i] = mag_ksize(dirty[i]);
			memset(dirty[i], DIRT, ksize[i]);
		}
		if (path->kind == INIT_SMALL)
			pool = span_of(dirty[0])->pool;
		path->free(c, dirty, nr);
		for (i = 0; i < nr && want_init_on_free(); i++) {
			if (pool)
				redirty_small(c, pool, dirty[i], ksize[i]);
			else
				redirty_large(c, dirty[i], ksize[i]);
		}
	}

	if (!path->alloc(c, gfp, objs, nr)) {
		KUNIT_FAIL(test, "%s: %zu bytes: allocation failed", path->name, c->size);
		goto out;
	}
	for (i = 0; i < nr; i++) {
		if (path->kind == INIT_HUGE)
			*reused += objs[i] == dirty[0];
		else if (!one_of(objs[i], dirty, nr))
			KUNIT_FAIL(test,
				   "%s: %zu bytes (class %u): object %u is not one of those just dirtied",
				   path->name, c->size, c->cls, i);
		KUNIT_EXPECT_EQ_MSG(test, mag_ksize(objs[i]), want, "%s: %zu bytes", path->name,
				    c->size);
		bad = memchr_inv(objs[i], 0, mag_ksize(objs[i]));
		if (bad) {
			KUNIT_FAIL(test,
				   "%s: %zu bytes (class %u, %s): object %u has %#x at byte %zu of %zu",
				   path->name, c->size, c->cls,
				   gfp & __GFP_ZERO ? "__GFP_ZERO" : "init_on_alloc", i, *bad,
				   (size_t)(bad - (const u8 *)objs[i]), mag_ksize(objs[i]));
			break;
		}
	}
	path->free(c, objs, nr);
out:
	migrate_enable();
}

/* Every request of @path: each size class, or the large or huge sizes. */
static void check_path(struct kunit *test, gfp_t gfp)
{
	struct init_ctx c = { .test = test, .path = test->param_value };
	const size_t *sizes = c.path->kind == INIT_LARGE ? large_sizes : huge_sizes;
	unsigned int i, n, reused = 0;

	if (c.path->remote && num_node_state(N_MEMORY) < 2)
		kunit_skip(test, "needs a second node with memory");
	c.dirty = kunit_kcalloc(test, NR_MAX, sizeof(*c.dirty), GFP_KERNEL);
	c.objs = kunit_kcalloc(test, NR_MAX, sizeof(*c.objs), GFP_KERNEL);
	c.ksize = kunit_kcalloc(test, NR_MAX, sizeof(*c.ksize), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c.dirty);
	KUNIT_ASSERT_NOT_NULL(test, c.objs);
	KUNIT_ASSERT_NOT_NULL(test, c.ksize);
	if (c.path->kind == INIT_SMALL) {
		for (c.cls = 1; c.cls < MAG_NR_CLASSES; c.cls++) {
			c.size = mag_class_size[c.cls - 1] + 1;
			if (c.path->alloc == alloc_cache)
				c.cache = test_cache(test, c.size, NULL);
			check_request(&c, gfp, &reused);
		}
		return;
	}
	n = c.path->kind == INIT_LARGE ? ARRAY_SIZE(large_sizes) : ARRAY_SIZE(huge_sizes);
	for (i = 0; i < n; i++) {
		c.size = sizes[i];
		check_request(&c, gfp, &reused);
	}
	/* Not every time, but the check must have seen some dirt. */
	if (c.path->kind == INIT_HUGE)
		KUNIT_EXPECT_GT_MSG(test, reused, 0U,
				    "no huge allocation reused the block just dirtied");
}

/* __GFP_ZERO: in every boot. */
static void gfp_zero_every_path(struct kunit *test)
{
	check_path(test, GFP_KERNEL | __GFP_ZERO);
}

/* init_on_alloc=1: every allocation is zeroed, without __GFP_ZERO. */
static void init_on_alloc_every_path(struct kunit *test)
{
	if (!want_init_on_alloc(0))
		kunit_skip(test, "needs a boot with init_on_alloc=1");
	check_path(test, GFP_KERNEL);
}

/*
 * With init_on_free=1 every free zeroes the object: span pages point
 * to the dummy magazines, so the inline free goes out of line, which
 * zeroes and then caches the object.  Objects of a cache with a
 * constructor keep their constructed state, as SLUB's do.
 */
static void init_on_free_zeroes(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 100, test_ctor);
	u8 *p, *q, *c;

	if (!want_init_on_free())
		kunit_skip(test, "needs a boot with init_on_free=1");
	p = mag_alloc(64, GFP_KERNEL);
	q = (mag_alloc)(200, GFP_KERNEL);
	c = mag_cache_alloc(cache, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_TRUE(test, mag_arena_of(p)->cpu[mag_page_index(p)] == &mag_dummy_cpu);
	KUNIT_EXPECT_TRUE(test, mag_arena_of(q)->cpu[mag_page_index(q)] == &mag_dummy_cpu);
	memset(p, 0xa5, 64);
	memset(q, 0xa5, 200);
	mag_free(p);
	(mag_free)(q);
	mag_cache_free(cache, c);
	/* They sit in magazines now: nothing else writes them. */
	kasan_disable_current();	/* reads of freed objects, on purpose */
	KUNIT_EXPECT_NULL(test, memchr_inv(p, 0, 64));
	KUNIT_EXPECT_NULL(test, memchr_inv(q, 0, mag_class_size[mag_size_class(200)]));
	KUNIT_EXPECT_NULL(test, memchr_inv(c, 0xc7, 100));
	kasan_enable_current();
}

static int init_suite_init(struct kunit_suite *suite)
{
	mag_trim_pause(true);
	return quarantine_off(suite);
}

static void init_suite_exit(struct kunit_suite *suite)
{
	quarantine_on(suite);
	mag_trim_pause(false);
}

static struct kunit_case init_cases[] = {
	KUNIT_CASE_PARAM(gfp_zero_every_path, init_path_gen_params),
	KUNIT_CASE_PARAM(init_on_alloc_every_path, init_path_gen_params),
	KUNIT_CASE(init_on_free_zeroes),
	{}
};

static struct kunit_suite init_suite = {
	.name = "magalloc_init",
	.suite_init = init_suite_init,
	.suite_exit = init_suite_exit,
	.test_cases = init_cases,
};

kunit_test_suite(init_suite);
