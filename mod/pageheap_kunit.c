// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the size-class table and the buddy page heap.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"
#include "kunit_util.h"

/* Every size maps, in O(1), to the smallest class that fits it. */
static void class_lookup_smallest_fit(struct kunit *test)
{
	size_t size;

	for (size = 1; size <= MAG_MAX_SMALL; size++) {
		unsigned int cls = mag_size_class(size);

		KUNIT_ASSERT_GE(test, cls, 1U);
		KUNIT_ASSERT_LT(test, cls, (unsigned int)MAG_NR_CLASSES);
		KUNIT_ASSERT_GE_MSG(test, mag_class_size[cls], size, "size %zu", size);
		KUNIT_ASSERT_LT_MSG(test, mag_class_size[cls - 1], size, "size %zu", size);
	}
}

/* The rules scripts/mksizeclasses.py states, checked on the table itself. */
static void class_table_rules(struct kunit *test)
{
	unsigned int cls;

	KUNIT_EXPECT_EQ(test, mag_class_size[0], 0U);
	KUNIT_EXPECT_EQ(test, mag_class_size[MAG_NR_CLASSES - 1], (u32)MAG_MAX_SMALL);
	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		u32 size = mag_class_size[cls], prev = mag_class_size[cls - 1];
		unsigned long span = PAGE_SIZE << mag_class_order[cls];
		unsigned long objs = span / size;

		KUNIT_EXPECT_GT(test, size, prev);
		KUNIT_EXPECT_EQ(test, size % (size <= MAG_SMALL_SIZE_MAX ? 8 : 128), 0U);
		KUNIT_EXPECT_LE(test, mag_class_order[cls], MAG_MAX_SPAN_ORDER);
		KUNIT_EXPECT_EQ(test, objs, (unsigned long)mag_class_objects[cls]);
		KUNIT_EXPECT_GE(test, objs, 1UL);
		/* tail plus worst rounding waste at most 1/8 of the span */
		KUNIT_EXPECT_LE_MSG(test, 8 * (span - objs * (prev + 8)), span,
				    "class %u (%u bytes)", cls, size);
		if (size <= 64)
			KUNIT_EXPECT_EQ(test, size, 8 * cls);
		if (is_power_of_2(size))
			KUNIT_EXPECT_EQ(test, span % size, 0UL);
	}
	/* every power of two is a class: natural alignment, as kmalloc */
	for (cls = 8; cls <= MAG_MAX_SMALL; cls <<= 1)
		KUNIT_EXPECT_EQ(test, mag_class_size[mag_size_class(cls)], cls);
}

/*
 * Check a heap's buddy invariants: every page of every arena is header,
 * in exactly one free block or in a span; free blocks are aligned, on the
 * list of their order, and never next to a free buddy of the same order
 * (coalescing is complete); the counters add up.
 */
static void check_heap(struct kunit *test, struct mag_heap *h)
{
	unsigned long free_pages = 0, listed = 0;
	struct mag_arena *a;
	unsigned int o;

	for (o = 0; o <= MAG_BLOCK_MAX_ORDER; o++) {
		struct list_head *blk;

		list_for_each(blk, &h->free[o]) {
			a = mag_arena_of(blk);
			KUNIT_ASSERT_EQ(test, a->free_order[mag_page_index(blk)], o);
			listed += 1UL << o;
		}
	}
	list_for_each_entry(a, &h->arenas, link) {
		unsigned int idx, i, arena_free = 0;

		KUNIT_ASSERT_EQ(test, a->magic, mag_arena_magic);
		KUNIT_ASSERT_PTR_EQ(test, a->heap, h);
		for (idx = 0; idx < MAG_HDR_PAGES; idx++)
			KUNIT_ASSERT_EQ(test, a->free_order[idx], MAG_NOT_FREE);
		while (idx < MAG_ARENA_PAGES) {
			o = a->free_order[idx];
			if (o == MAG_NOT_FREE) {
				KUNIT_ASSERT_NOT_NULL_MSG(test, a->span[idx], "page %u lost", idx);
				idx++;
				continue;
			}
			KUNIT_ASSERT_LE(test, o, MAG_BLOCK_MAX_ORDER);
			KUNIT_ASSERT_EQ_MSG(test, idx & ((1U << o) - 1), 0U, "misaligned block");
			if (o < MAG_BLOCK_MAX_ORDER)
				KUNIT_ASSERT_NE_MSG(test, a->free_order[idx ^ (1U << o)], o,
						    "free buddies of order %u not merged", o);
			for (i = idx; i < idx + (1U << o); i++) {
				KUNIT_ASSERT_NULL(test, a->span[i]);
				if (i > idx)
					KUNIT_ASSERT_EQ(test, a->free_order[i], MAG_NOT_FREE);
			}
			idx += 1U << o;
			arena_free += 1U << o;
		}
		KUNIT_ASSERT_EQ(test, a->nr_free, arena_free);
		free_pages += arena_free;
	}
	KUNIT_ASSERT_EQ(test, h->free_pages, free_pages);
	KUNIT_ASSERT_EQ(test, listed, free_pages);
}

#define NR_LIVE 64

/*
 * A seeded random sequence of allocations of 1 to 256 pages and frees: a
 * new span owns its pages at once; every 50th step the heap's invariants
 * hold and every live span's pages are still its own; at the end
 * everything coalesces back and the arenas return to the kernel.  (A full
 * check costs about as much as ten steps' work under KASAN: checked every
 * tenth step, the case took 12 s of the KASAN boot and 28 s of the
 * PREEMPT_RT one.)
 */
static void buddy_random_sequence(struct kunit *test)
{
	struct mag_heap *h = mag_heap_create(numa_mem_id(), GFP_KERNEL);
	struct mag_span **live;
	struct rnd_state rnd;
	unsigned int step, i, nlive = 0, allocs = 0;

	KUNIT_ASSERT_NOT_NULL(test, h);
	live = kunit_kcalloc(test, NR_LIVE, sizeof(*live), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, live);
	prandom_seed_state(&rnd, 20261125);

	for (step = 0; step < 600; step++) {
		u32 r = prandom_u32_state(&rnd);

		if (nlive < NR_LIVE && (r & 3)) {
			unsigned int npages = 1 + (r >> 8) % 256;
			struct mag_span *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

			KUNIT_ASSERT_NOT_NULL(test, s);
			KUNIT_ASSERT_NOT_NULL(test, mag_heap_alloc(h, npages, GFP_KERNEL, s, NULL));
			KUNIT_ASSERT_EQ(test, s->npages, npages);
			KUNIT_ASSERT_TRUE(test, IS_ALIGNED((unsigned long)s->base,
							   PAGE_SIZE << mag_order_of(npages)));
			memset(s->base, 0xa5, npages << PAGE_SHIFT);
			for (i = 0; i < npages; i++)
				KUNIT_ASSERT_PTR_EQ(test, s, span_of(s->base + (i << PAGE_SHIFT)));
			live[nlive++] = s;
			allocs++;
		} else if (nlive) {
			i = (r >> 8) % nlive;
			mag_heap_free(live[i]);
			live[i] = live[--nlive];
		}
		if (step % 50)
			continue;
		check_heap(test, h);
		for (i = 0; i < nlive; i++) {
			struct mag_span *s = live[i];
			unsigned int p;

			for (p = 0; p < s->npages; p++)
				KUNIT_ASSERT_PTR_EQ(test, s,
						    span_of(s->base + (p << PAGE_SHIFT)));
		}
	}
	KUNIT_EXPECT_GT(test, allocs, 300U);
	while (nlive)
		mag_heap_free(live[--nlive]);
	check_heap(test, h);
	KUNIT_EXPECT_EQ(test, h->free_pages,
			h->nr_arenas * (MAG_ARENA_PAGES - MAG_HDR_PAGES));
	KUNIT_EXPECT_EQ(test, mag_heap_release(h, 0), (unsigned long)h->arenas_released *
			MAG_ARENA_PAGES);
	KUNIT_EXPECT_EQ(test, h->nr_arenas, 0UL);
	KUNIT_EXPECT_GT(test, h->arenas_released, 0UL);
	mag_heap_destroy(h);
}

/* Split on allocation, exact tails, coalesce on free, in one arena. */
static void buddy_split_and_coalesce(struct kunit *test)
{
	struct mag_heap *h = mag_heap_create(numa_mem_id(), GFP_KERNEL);
	unsigned int expect[MAG_BLOCK_MAX_ORDER + 1] = {}, i, order;
	struct mag_span s1 = {}, s2 = {};
	unsigned long total;

	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_NOT_NULL(test, mag_heap_alloc(h, 1, GFP_KERNEL, &s1, NULL));
	total = h->nr_arenas * (MAG_ARENA_PAGES - MAG_HDR_PAGES);
	KUNIT_EXPECT_EQ(test, h->nr_arenas, 1UL);
	KUNIT_EXPECT_EQ(test, h->free_pages, total - 1);
	/* 3 pages: an order-2 block with its last page given back */
	KUNIT_ASSERT_NOT_NULL(test, mag_heap_alloc(h, 3, GFP_KERNEL, &s2, NULL));
	KUNIT_EXPECT_EQ(test, h->free_pages, total - 4);
	KUNIT_EXPECT_EQ(test, s2.order, 2);
	check_heap(test, h);
	mag_heap_free(&s1);
	mag_heap_free(&s2);
	check_heap(test, h);
	/*
	 * Fully merged: the pages after the header in the fewest aligned
	 * blocks (3 header pages: one each of orders 0 and 2 to 8).
	 */
	KUNIT_EXPECT_EQ(test, h->free_pages, total);
	for (i = MAG_HDR_PAGES; i < MAG_ARENA_PAGES; i += 1U << order) {
		order = min_t(unsigned int, __ffs(i), MAG_BLOCK_MAX_ORDER);
		expect[order]++;
	}
	for (order = 0; order <= MAG_BLOCK_MAX_ORDER; order++)
		KUNIT_EXPECT_EQ_MSG(test, list_count_nodes(&h->free[order]), expect[order],
				    "free blocks of order %u", order);
	mag_heap_destroy(h);
}

/*
 * Large objects: exact pages from the heap; huge ones from the kernel.
 * Pinned: a task that moves to another node's CPU (seen on PREEMPT_RT)
 * takes its large objects from that node's heap.
 */
static void large_objects(struct kunit *test)
{
	size_t sizes[] = { MAG_MAX_SMALL + 1, 40000, 9 * PAGE_SIZE, MAG_LARGE_MAX,
			   MAG_LARGE_MAX + 1, 3 * MAG_LARGE_MAX };
	unsigned long large0;
	struct mag_heap *h;
	unsigned int i;

	migrate_disable();
	h = mag_heaps[mag_home_node()];
	large0 = h->large_pages;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 *p = mag_alloc(sizes[i], GFP_KERNEL | __GFP_ZERO);
		size_t ks;

		if (!p) {
			/* no assertion here: migration must be enabled again */
			KUNIT_FAIL(test, "%zu bytes: NULL", sizes[i]);
			break;
		}
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(p));
		ks = mag_ksize(p);
		KUNIT_EXPECT_EQ(test, ks, PAGE_ALIGN(sizes[i]));
		KUNIT_EXPECT_NULL(test, memchr_inv(p, 0, sizes[i]));
		memset(p, 0x5a, ks);
		if (sizes[i] <= MAG_LARGE_MAX) {
			KUNIT_EXPECT_EQ(test, h->large_pages, large0 + (ks >> PAGE_SHIFT));
			KUNIT_EXPECT_PTR_EQ(test, span_of(p)->base, (void *)p);
		} else {
			KUNIT_EXPECT_TRUE(test, IS_ALIGNED((unsigned long)p, MAG_ARENA_SIZE));
		}
		mag_free(p);
		KUNIT_EXPECT_EQ(test, h->large_pages, large0);
	}
	migrate_enable();
	/* Beyond what the page allocator can give: NULL, no warning. */
	KUNIT_EXPECT_NULL(test, mag_alloc(64UL << 20, GFP_KERNEL));
}

#if IS_ENABLED(CONFIG_KUNIT) && KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
static unsigned int stores_seen, stores_published;

/* mag_registry_store() for the failing grow below: counts, then fails. */
static int store_fails(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	const struct mag_arena *a = entry;

	/* an arena's header (loose blocks store span descriptors) */
	if (!xa_is_value(entry) && IS_ALIGNED((unsigned long)entry, MAG_ARENA_SIZE)) {
		stores_seen++;
		if (READ_ONCE(a->magic) == mag_arena_magic)
			stores_published++;
	}
	return -ENOMEM;
}
#endif

/*
 * A grow whose registry store fails gives its 2 MiB back without the
 * magic in it: mag_free()'s fast path takes any page that starts with the
 * magic for a live arena's header, and a magic left in freed memory made
 * a later free of an object in a loose block there read a NULL magazine
 * pointer (an oops in mag_free(), a kunit-rt boot of stop 27).  So the
 * header must not carry the magic before the arena is registered.
 */
static void failed_grow_leaves_no_magic(struct kunit *test)
{
#if IS_ENABLED(CONFIG_KUNIT) && KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
	struct mag_heap *h = mag_heap_create(numa_mem_id(), GFP_KERNEL);
	struct mag_span *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_NOT_NULL(test, s);
	stores_seen = 0;
	stores_published = 0;
	kunit_activate_static_stub(test, mag_registry_store, store_fails);
	/* the grow fails, and so does the loose block after it */
	KUNIT_EXPECT_NULL(test, mag_heap_alloc(h, 1, GFP_KERNEL, s, NULL));
	kunit_deactivate_static_stub(test, mag_registry_store);
	KUNIT_EXPECT_EQ(test, h->nr_arenas, 0UL);
	mag_heap_destroy(h);
	if (!stores_seen)
		kunit_skip(test, "no free 2 MiB block: the grow never reached its store");
	KUNIT_EXPECT_EQ(test, stores_published, 0U);
#else
	kunit_skip(test, "no KUnit static stubs (6.4 on)");
#endif
}

static struct kunit_case pageheap_cases[] = {
	KUNIT_CASE(class_lookup_smallest_fit),
	KUNIT_CASE(class_table_rules),
	KUNIT_CASE(buddy_split_and_coalesce),
	KUNIT_CASE_SLOW(buddy_random_sequence),
	KUNIT_CASE(large_objects),
	KUNIT_CASE(failed_grow_leaves_no_magic),
	{}
};

static struct kunit_suite pageheap_suite = {
	.name = "magalloc_pageheap",
	.suite_init = quarantine_off,
	.suite_exit = quarantine_on,
	.test_cases = pageheap_cases,
};

kunit_test_suite(pageheap_suite);
