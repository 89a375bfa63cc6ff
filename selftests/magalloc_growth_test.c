// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests: a heap's range is a reservation that the heap grows in, a
 * chunk (the largest buddy block, max_alloc) at a time, up to its cap:
 * objects never move, mappings made before the heap grew see what it
 * grows into, and its metadata (debugfs "metadata") follows what it has
 * grown to ("grown"), not the range.  The cases touch one page per large
 * object at most: the KASAN guest has 1 GiB.
 */
#include "kselftest_harness.h"
#include "magalloc_test.h"

#define MIB		(1024ull * 1024)
#define OLD_RANGE	(64 * MIB)	/* the range was fixed at 64 MiB */
#define BIG_CAP		(256 * MIB)
#define NR_BUDDY_ORDERS	11		/* mod/uheap.c: UH_MAX_ORDER + 1 */

/* A cap of about @base that no other heap has while the test runs. */
static __u64 unique_cap(__u64 base, unsigned int k)
{
	return base + ((__u64)(getpid() & 0xff) << 3) + k;
}

/* Bytes of page map and buddy bitmaps for @pages pages (mod/uheap.c). */
static long long meta_for(__u64 pages)
{
	return pages * sizeof(void *) + NR_BUDDY_ORDERS * ((pages + 63) / 64) * 8;
}

static __u64 tag_of(unsigned int i)
{
	return 0x6d6167616c6c6f63ull ^ ((__u64)i * 0x9e3779b97f4a7c15ull);
}

/*
 * Past the old fixed range, up to the cap: 4 MiB objects (one chunk each)
 * until the cap refuses one.  Every object keeps its offset and the word
 * written to it, and a mapping made before the heap grew sees them all.
 */
TEST(grows_past_old_range_to_cap)
{
	__u64 cap = unique_cap(BIG_CAP, 0), chunk, offs[80], hi = 0;
	struct magalloc_stats st;
	unsigned int n = 0, i, j;
	struct heap h;
	char *early;
	int ret;

	ASSERT_EQ(0, mg_open(&h));
	chunk = h.q.max_alloc;
	ASSERT_LE(BIG_CAP, h.q.heap_size) TH_LOG("range %llu: not past the old 64 MiB",
						 (unsigned long long)h.q.heap_size);
	ASSERT_EQ(4 * MIB, chunk);
	ASSERT_EQ(0, mg_set_cap(h.fd, cap));
	early = mg_map(h.fd, h.q.heap_size);
	ASSERT_NE(MAP_FAILED, early);
	/* above what the heap has grown to: no span, SIGBUS */
	EXPECT_EQ(SIGBUS, probe(early + OLD_RANGE, false));
	EXPECT_EQ(SIGBUS, probe(h.base + BIG_CAP - 1, false));

	for (;;) {
		ASSERT_GT(80, n);
		ret = mg_alloc(h.fd, chunk, &offs[n]);
		if (ret)
			break;
		ASSERT_EQ(0, offs[n] % chunk);
		ASSERT_GT(h.q.heap_size, offs[n]);
		*(__u64 *)(h.base + offs[n]) = tag_of(n);
		if (offs[n] > hi)
			hi = offs[n];
		n++;
	}
	EXPECT_EQ(-ENOMEM, ret);
	/* exactly at the cap: every object it allows, not one more */
	EXPECT_EQ(cap / chunk, n);
	ASSERT_EQ(0, mg_stats(h.fd, &st));
	EXPECT_EQ(n * chunk, st.charged);
	EXPECT_LT(cap, st.charged + chunk);
	EXPECT_EQ(1, st.failed_allocs);
	EXPECT_LE(OLD_RANGE, hi);
	EXPECT_EQ(n * chunk, heap_field(cap, "grown"));
	EXPECT_EQ(h.q.heap_size, heap_field(cap, "range"));
	/* smaller objects are refused too */
	EXPECT_EQ(-ENOMEM, mg_alloc(h.fd, 64 * 1024, &offs[n]));

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			EXPECT_NE(offs[j], offs[i]);
		EXPECT_EQ(tag_of(i), *(__u64 *)(h.base + offs[i]));
		/* the mapping older than the object sees it */
		EXPECT_EQ(tag_of(i), *(__u64 *)(early + offs[i]));
		EXPECT_EQ(0, early[offs[i] + chunk - 1]);
	}
	/* objects made through the old mapping show in the new one */
	*(__u64 *)(early + offs[n - 1] + 8) = 42;
	EXPECT_EQ(42, *(__u64 *)(h.base + offs[n - 1] + 8));

	/* freed: SIGBUS through both; the heap stays grown and reuses it */
	ASSERT_EQ(0, mg_free(h.fd, offs[n - 1]));
	EXPECT_EQ(SIGBUS, probe(early + offs[n - 1], false));
	EXPECT_EQ(SIGBUS, probe(h.base + offs[n - 1], false));
	ASSERT_EQ(0, mg_alloc(h.fd, chunk, &offs[n - 1]));
	EXPECT_EQ(0, *(__u64 *)(early + offs[n - 1]));
	EXPECT_EQ(n * chunk, heap_field(cap, "grown"));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, mg_free(h.fd, offs[i]));
	ASSERT_EQ(0, mg_stats(h.fd, &st));
	EXPECT_EQ(0, st.charged);
	munmap(early, h.q.heap_size);
	mg_close(&h);
}

/*
 * Metadata of what the heap has grown to: none at open(), one chunk's
 * after a small allocation, and it grows (doubling its room) with the
 * heap; far from the range's.
 */
TEST(metadata_follows_growth)
{
	__u64 cap = unique_cap(BIG_CAP, 1), chunk, cpages, off, offs[16];
	long long meta, prev;
	unsigned int i;
	struct heap h;

	ASSERT_EQ(0, mg_open(&h));
	ASSERT_EQ(0, mg_set_cap(h.fd, cap));
	chunk = h.q.max_alloc;
	cpages = chunk / h.q.page_size;
	if (heap_field(cap, "metadata") < 0)
		SKIP(return, "no %s", HEAPS_PATH);
	EXPECT_EQ(0, heap_field(cap, "metadata"));
	EXPECT_EQ(0, heap_field(cap, "grown"));

	ASSERT_EQ(0, mg_alloc(h.fd, 16, &off));
	EXPECT_EQ(chunk, heap_field(cap, "grown"));
	meta = heap_field(cap, "metadata");
	EXPECT_EQ(meta_for(cpages), meta);
	/* the range's page map alone would be heap_size / page * 8 */
	EXPECT_GT((long long)(h.q.heap_size / h.q.page_size * sizeof(void *)) / 100, meta);

	/* grown chunk by chunk; the room doubles: 2, 4, 4, 8, 8, 8, 8, 16 */
	prev = meta;
	for (i = 0; i < 15; i++) {
		ASSERT_EQ(0, mg_alloc(h.fd, chunk, &offs[i]));
		EXPECT_EQ((i + 2) * chunk, heap_field(cap, "grown"));
		meta = heap_field(cap, "metadata");
		EXPECT_LE(prev, meta);
		EXPECT_LE(meta_for((i + 2) * cpages), meta);
		EXPECT_GE(meta_for(2 * (i + 2) * cpages), meta);
		prev = meta;
	}
	EXPECT_EQ(meta_for(16 * cpages), meta);
	for (i = 0; i < 15; i++)
		EXPECT_EQ(0, mg_free(h.fd, offs[i]));
	EXPECT_EQ(0, mg_free(h.fd, off));
	/* what it grew to stays, as its metadata, until close */
	EXPECT_EQ(16 * chunk, heap_field(cap, "grown"));
	EXPECT_EQ(meta, heap_field(cap, "metadata"));
	mg_close(&h);
	EXPECT_EQ(-1, heap_field(cap, "metadata"));
}

/*
 * Fragmentation cannot grow a heap without bound: a page pinned in every
 * chunk (here one object of 16 pages in each, the rest freed) leaves no
 * free chunk, so each object of 2 MiB and a page needs a new one.  The
 * heap grows to twice its cap and a chunk, no further: the allocation
 * that would go past fails with ENOMEM while the cap still has room, and
 * the heap serves what fits in what it has.
 */
TEST(growth_bounded_by_twice_the_cap)
{
	__u64 cap = unique_cap(32 * MIB, 2), chunk, small, odd, off, limit;
	static __u64 offs[600];
	struct magalloc_stats st;
	unsigned int n = 0, i, m = 0;
	struct heap h;
	int ret;

	ASSERT_EQ(0, mg_open(&h));
	ASSERT_EQ(0, mg_set_cap(h.fd, cap));
	chunk = h.q.max_alloc;
	small = 16 * h.q.page_size;
	odd = chunk / 2 + h.q.page_size;
	ASSERT_LT(h.q.max_small_size, small);
	if (heap_field(cap, "metadata") < 0)
		SKIP(return, "no %s", HEAPS_PATH);
	/* the bound, in whole chunks: (2 * cap pages + a chunk) rounded up */
	limit = 2 * (cap / h.q.page_size) * h.q.page_size + chunk;
	limit = (limit + chunk - 1) / chunk * chunk;
	ASSERT_GT(h.q.heap_size, limit + 16 * chunk);

	while (!(ret = mg_alloc(h.fd, small, &offs[n])))
		ASSERT_GT(600, ++n);
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(cap / small, n);
	EXPECT_EQ(n * small / chunk * chunk, heap_field(cap, "grown"));
	/* keep the first object of each chunk */
	for (i = 0; i < n; i++)
		if (offs[i] % chunk)
			ASSERT_EQ(0, mg_free(h.fd, offs[i]));
	while (!(ret = mg_alloc(h.fd, odd, &off)))
		ASSERT_GT(100, ++m);
	EXPECT_EQ(-ENOMEM, ret);
	ASSERT_EQ(0, mg_stats(h.fd, &st));
	/* refused with room under the cap: the growth bound */
	EXPECT_GE(cap, st.charged + odd);
	EXPECT_EQ(limit, heap_field(cap, "grown"));
	EXPECT_EQ(limit / chunk - n * small / chunk, m);
	EXPECT_EQ(meta_for(limit / h.q.page_size), heap_field(cap, "metadata"));
	/* what fits in the grown part is still served */
	EXPECT_EQ(0, mg_alloc(h.fd, small, &off));
	EXPECT_EQ(0, mg_free(h.fd, off));
	mg_close(&h);
}

TEST_HARNESS_MAIN
