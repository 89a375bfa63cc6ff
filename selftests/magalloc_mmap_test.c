// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for the /dev/magalloc mapping: contents round trips, SIGBUS
 * outside objects and after free, the mmap() rules, isolation between
 * heaps, and memory given back at close.
 */
#include "kselftest_harness.h"
#include "magalloc_test.h"

FIXTURE(map) {
	struct heap h;
};

FIXTURE_SETUP(map)
{
	ASSERT_EQ(0, mg_open(&self->h));
}

FIXTURE_TEARDOWN(map)
{
	mg_close(&self->h);
}

/* Objects of many sizes, all written and read back, then half replaced. */
TEST_F(map, roundtrip_many_sizes)
{
	struct magalloc_query *q = &self->h.q;
	__u64 sizes[MAX_CLASSES * 2 + 8], ps = q->page_size;
	unsigned int i, j, k, n = 0, per = 4, nobj;
	struct magalloc_stats st;
	__u64 *offs, *lens;
	long bad;

	for (i = 0; i < q->nr_classes; i++) {
		sizes[n++] = self->h.cls[i].size;
		sizes[n++] = self->h.cls[i].size - 7;	/* odd sizes round up */
	}
	sizes[n++] = 1;
	sizes[n++] = q->max_small_size + 1;
	sizes[n++] = 2 * ps + 1;
	sizes[n++] = 10 * ps;
	sizes[n++] = 100000;
	nobj = n * per;
	offs = calloc(nobj, sizeof(*offs));
	lens = calloc(nobj, sizeof(*lens));
	ASSERT_NE(NULL, offs);
	ASSERT_NE(NULL, lens);
	for (k = 0; k < nobj; k++) {
		lens[k] = sizes[k % n];
		ASSERT_EQ(0, mg_alloc(self->h.fd, lens[k], &offs[k]));
		fill(self->h.base, offs[k], lens[k], k);
	}
	for (k = 0; k < nobj; k++) {
		bad = check(self->h.base, offs[k], lens[k], k);
		EXPECT_EQ(-1, bad) {
			TH_LOG("object %u, %llu bytes at %llu: byte %ld", k,
			       (unsigned long long)lens[k], (unsigned long long)offs[k], bad);
		}
	}
	/* free every other object, allocate again with another seed */
	for (k = 0; k < nobj; k += 2)
		ASSERT_EQ(0, mg_free(self->h.fd, offs[k]));
	for (k = 0; k < nobj; k += 2) {
		ASSERT_EQ(0, mg_alloc(self->h.fd, lens[k], &offs[k]));
		fill(self->h.base, offs[k], lens[k], k + 1000000);
	}
	for (k = 0; k < nobj; k++) {
		j = k % 2 ? k : k + 1000000;
		EXPECT_EQ(-1, check(self->h.base, offs[k], lens[k], j));
	}
	/* the same bytes, read through a second mapping */
	{
		char *second = mg_map(self->h.fd, q->heap_size);

		ASSERT_NE(MAP_FAILED, second);
		for (k = 0; k < nobj; k++)
			EXPECT_EQ(0, memcmp(second + offs[k], self->h.base + offs[k], lens[k]));
		munmap(second, q->heap_size);
	}
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(nobj, st.live_objects);
	for (k = 0; k < nobj; k++)
		ASSERT_EQ(0, mg_free(self->h.fd, offs[k]));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(0, st.resident);
	free(offs);
	free(lens);
}

TEST_F(map, new_objects_are_zero)
{
	__u64 offs[64], big, ps = self->h.q.page_size;
	unsigned int i;
	__u32 done;

	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 1000, offs, 64, &done));
	ASSERT_EQ(64, done);
	for (i = 0; i < done; i++)
		EXPECT_EQ(-1, nonzero(self->h.base + offs[i], 1000));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 64 * ps, &big));
	EXPECT_EQ(-1, nonzero(self->h.base + big, 64 * ps));
}

/* A span freed and allocated again gets fresh zeroed pages. */
TEST_F(map, reused_span_is_zero)
{
	__u64 off, off2, ps = self->h.q.page_size;

	ASSERT_EQ(0, mg_alloc(self->h.fd, 512, &off));
	memset(self->h.base + off, 0xa5, 512);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 512, &off2));
	EXPECT_EQ(-1, nonzero(self->h.base + off2, 512));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 15 * ps, &off));
	memset(self->h.base + off, 0xa5, 15 * ps);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 15 * ps, &off));
	EXPECT_EQ(-1, nonzero(self->h.base + off, 15 * ps));
}

TEST_F(map, sigbus_outside_objects)
{
	__u64 ps = self->h.q.page_size, hs = self->h.q.heap_size, off, big;
	/* just above the largest class: whole pages, not a power of two */
	__u64 lsize = self->h.q.max_small_size + 1, lpages = (lsize + ps - 1) / ps;
	char *b = self->h.base;

	/* nothing allocated: every page raises SIGBUS */
	EXPECT_EQ(SIGBUS, probe(b, false));
	EXPECT_EQ(b, probe_addr);
	EXPECT_EQ(SIGBUS, probe(b + hs / 2, true));
	EXPECT_EQ(SIGBUS, probe(b + hs - 1, false));

	ASSERT_EQ(0, mg_alloc(self->h.fd, 8, &off));
	EXPECT_EQ(0, probe(b + off, true));
	EXPECT_EQ(0x5a, b[off]);
	/* the rest of the object's span page is the span's */
	EXPECT_EQ(0, probe(b + (off & ~(ps - 1)) + ps - 1, false));
	EXPECT_EQ(SIGBUS, probe(b + hs - ps, false));

	/* a large object has whole pages: its last page is its, the next not */
	ASSERT_EQ(0, mg_alloc(self->h.fd, lsize, &big));
	EXPECT_EQ(-1, nonzero(b + big, lpages * ps));
	EXPECT_EQ(0, probe(b + big, true));
	EXPECT_EQ(0, probe(b + big + lpages * ps - 1, true));
	EXPECT_EQ(SIGBUS, probe(b + big + lpages * ps, false));
	EXPECT_EQ(b + big + lpages * ps, probe_addr);
	EXPECT_EQ(SIGBUS, probe(b + big + lpages * ps, true));
}

/*
 * The rule the documentation states: SIGBUS off the live spans and large
 * objects, not off the objects.  Every page of a span with one live
 * object is mapped (zeroed), even pages no object of it covers; when
 * the span goes, all of them raise SIGBUS.
 */
TEST_F(map, span_pages_live_with_the_span)
{
	__u64 ps = self->h.q.page_size, off, span, sb = 0;
	char *b = self->h.base;
	unsigned int i;

	for (i = 0; i < self->h.q.nr_classes; i++) {
		sb = self->h.cls[i].span_bytes;
		if (sb >= 4 * ps && !(sb & (sb - 1)))
			break;
	}
	ASSERT_LT(i, self->h.q.nr_classes) TH_LOG("no class with a span of 4 pages or more");
	ASSERT_EQ(0, mg_alloc(self->h.fd, self->h.cls[i].size, &off));
	span = off & ~(sb - 1);
	/* the span's last page, away from the one object */
	if (off - span < sb - ps) {
		EXPECT_EQ(0, probe(b + span + sb - 1, false));
		EXPECT_EQ(0, b[span + sb - 1]);
	}
	EXPECT_EQ(0, probe(b + span, false));
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	EXPECT_EQ(SIGBUS, probe(b + span, false));
	EXPECT_EQ(SIGBUS, probe(b + span + sb - 1, false));
}

TEST_F(map, sigbus_after_free)
{
	__u64 ps = self->h.q.page_size, off, big;
	char *b = self->h.base;

	/* the only object of its span: the span and its pages go */
	ASSERT_EQ(0, mg_alloc(self->h.fd, 100, &off));
	memset(b + off, 1, 100);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	EXPECT_EQ(SIGBUS, probe(b + off, false));
	EXPECT_EQ(SIGBUS, probe(b + off, true));

	ASSERT_EQ(0, mg_alloc(self->h.fd, 20 * ps, &big));
	memset(b + big, 1, 20 * ps);
	ASSERT_EQ(0, mg_free(self->h.fd, big));
	EXPECT_EQ(SIGBUS, probe(b + big, false));
	EXPECT_EQ(SIGBUS, probe(b + big + 19 * ps, true));
}

/* A second mapping of the same heap loses the pages at free time too. */
TEST_F(map, sigbus_after_free_every_mapping)
{
	char *second = mg_map(self->h.fd, self->h.q.heap_size);
	__u64 off;

	ASSERT_NE(MAP_FAILED, second);
	ASSERT_EQ(0, mg_alloc(self->h.fd, 3000, &off));
	memset(self->h.base + off, 7, 3000);
	EXPECT_EQ(7, second[off + 2999]);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	EXPECT_EQ(SIGBUS, probe(second + off, false));
	EXPECT_EQ(SIGBUS, probe(self->h.base + off, false));
	munmap(second, self->h.q.heap_size);
}

TEST_F(map, mmap_rules)
{
	__u64 hs = self->h.q.heap_size, ps = self->h.q.page_size, off;
	char *p;

	/*
	 * A writable private mapping of the whole range would be refused by
	 * overcommit accounting (ENOMEM) before the heap is asked: the range
	 * is larger than the guest's memory.  MAP_NORESERVE skips that.
	 */
	p = mmap(NULL, hs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, self->h.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->h.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, self->h.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->h.fd, ps);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, hs + ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->h.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* data only: never executable, nor made so by mprotect() */
	p = mmap(NULL, ps, PROT_READ | PROT_EXEC, MAP_SHARED, self->h.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect(self->h.base, ps, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);

	/* shorter is fine, and read-only too */
	ASSERT_EQ(0, mg_alloc(self->h.fd, 64, &off));
	ASSERT_GT(hs / 2, off);
	self->h.base[off] = 42;
	p = mmap(NULL, hs / 2, PROT_READ, MAP_SHARED, self->h.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(42, p[off]);
	munmap(p, hs / 2);
}

TEST_F(map, mremap_grow_refused)
{
	__u64 hs = self->h.q.heap_size;
	char *p, *q;

	p = mg_map(self->h.fd, hs / 2);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(p, hs / 2, hs, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EFAULT, errno);
	q = mremap(p, hs / 2, hs, 0);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EFAULT, errno);
	/* shrinking is allowed */
	q = mremap(p, hs / 2, hs / 4, 0);
	EXPECT_EQ(p, q);
	munmap(p, hs / 4);
}

/* Heap B cannot free heap A's objects, and A's are untouched by B. */
TEST_F(map, isolation_foreign_free)
{
	struct magalloc_stats st;
	__u64 off, big, boff;
	struct heap b;

	ASSERT_EQ(0, mg_alloc(self->h.fd, 128, &off));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 40000, &big));
	fill(self->h.base, off, 128, 1);
	ASSERT_EQ(0, mg_open(&b));
	EXPECT_EQ(-EINVAL, mg_free(b.fd, off));
	EXPECT_EQ(-EINVAL, mg_free(b.fd, big));
	/* the same offset in B is B's own object, not A's */
	ASSERT_EQ(0, mg_alloc(b.fd, 128, &boff));
	EXPECT_EQ(-1, nonzero(b.base + boff, 128));
	memset(b.base + boff, 0xee, 128);
	EXPECT_EQ(-1, check(self->h.base, off, 128, 1));
	EXPECT_EQ(SIGBUS, probe(b.base + big, false));
	ASSERT_EQ(0, mg_stats(b.fd, &st));
	EXPECT_EQ(2, st.bad_frees);
	EXPECT_EQ(1, st.live_objects);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(2, st.live_objects);
	mg_close(&b);
	EXPECT_EQ(-1, check(self->h.base, off, 128, 1));
	EXPECT_EQ(0, mg_free(self->h.fd, off));
	EXPECT_EQ(0, mg_free(self->h.fd, big));
}

/* A new heap never sees what another heap wrote, open or closed. */
TEST_F(map, isolation_new_heap_zero)
{
	__u64 ps = self->h.q.page_size, offs[256], big[8];
	unsigned int i, round;
	struct heap b;
	__u32 done;

	for (round = 0; round < 2; round++) {
		/* A writes everywhere it can, frees half, B allocates the same */
		ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 2000, offs, 256, &done));
		ASSERT_EQ(256, done);
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, mg_alloc(self->h.fd, 16 * ps, &big[i]));
			memset(self->h.base + big[i], 0xaa, 16 * ps);
		}
		for (i = 0; i < 256; i++)
			memset(self->h.base + offs[i], 0xaa, 2000);
		ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs, 128, &done));
		if (round)	/* second round: A closed before B opens */
			mg_close(&self->h);
		ASSERT_EQ(0, mg_open(&b));
		ASSERT_EQ(0, mg_bulk(b.fd, MAGALLOC_IOC_ALLOC_BULK, 2000, offs, 256, &done));
		ASSERT_EQ(256, done);
		for (i = 0; i < 256; i++)
			ASSERT_EQ(-1, nonzero(b.base + offs[i], 2000));
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, mg_alloc(b.fd, 16 * ps, &big[i]));
			ASSERT_EQ(-1, nonzero(b.base + big[i], 16 * ps));
		}
		mg_close(&b);
		if (round)
			ASSERT_EQ(0, mg_open(&self->h));
	}
}

/* Memory goes back when the last reference (fd or mapping) goes. */
TEST_F(map, memory_back_after_close)
{
	__u64 cap = tag_cap(1), offs[512], big;
	struct heap_line hl;
	unsigned int i;
	__u32 done;

	if (heaps_with_cap(cap, NULL) < 0)
		SKIP(return, "no %s", HEAPS_PATH);
	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap));
	ASSERT_EQ(1, heaps_with_cap(cap, &hl));
	EXPECT_EQ(0, hl.charged);
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 300, offs, 512, &done));
	ASSERT_EQ(512, done);
	ASSERT_EQ(0, mg_alloc(self->h.fd, 1 << 20, &big));
	for (i = 0; i < 512; i++)
		memset(self->h.base + offs[i], 3, 300);
	memset(self->h.base + big, 3, 1 << 20);
	ASSERT_EQ(1, heaps_with_cap(cap, &hl));
	EXPECT_LE(512 * 300 + (1 << 20), hl.resident);
	EXPECT_EQ(513, hl.allocs);

	/* the mapping holds the heap after the fd is closed */
	ASSERT_EQ(0, close(self->h.fd));
	self->h.fd = -1;
	ASSERT_EQ(1, heaps_with_cap(cap, NULL));
	EXPECT_EQ(3, self->h.base[big + 12345]);
	ASSERT_EQ(0, munmap(self->h.base, self->h.q.heap_size));
	self->h.base = MAP_FAILED;
	EXPECT_EQ(0, heaps_with_cap(cap, NULL));
}

/* Closing a heap with live objects frees them all. */
TEST_F(map, close_with_live_objects)
{
	struct magalloc_query *q = &self->h.q;
	__u64 cap = tag_cap(2), off;
	int before = heaps_open();
	unsigned int i, k;

	if (before < 0)
		SKIP(return, "no %s", HEAPS_PATH);
	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap));
	for (i = 0; i < q->nr_classes; i++) {
		for (k = 0; k < 5; k++) {
			ASSERT_EQ(0, mg_alloc(self->h.fd, self->h.cls[i].size, &off));
			self->h.base[off] = 1;
		}
	}
	for (k = 1; k < 8; k++) {
		ASSERT_EQ(0, mg_alloc(self->h.fd, k * 100000, &off));
		self->h.base[off + k * 100000 - 1] = 1;
	}
	ASSERT_EQ(1, heaps_with_cap(cap, NULL));
	mg_close(&self->h);
	EXPECT_EQ(0, heaps_with_cap(cap, NULL));
	EXPECT_EQ(before - 1, heaps_open());
}

/* Many heaps at once, each with its own objects. */
TEST_F(map, many_heaps)
{
	struct heap *hs = calloc(16, sizeof(*hs));
	__u64 offs[16];
	unsigned int i;

	ASSERT_NE(NULL, hs);
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, mg_open(&hs[i]));
		ASSERT_EQ(0, mg_alloc(hs[i].fd, 4000, &offs[i]));
		fill(hs[i].base, offs[i], 4000, i);
	}
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(-1, check(hs[i].base, offs[i], 4000, i));
		mg_close(&hs[i]);
	}
	free(hs);
}

TEST_HARNESS_MAIN
