// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for libmagalloc: objects of every size with their contents,
 * realloc, aligned allocations and usable sizes,
 * the per-thread magazines (hit rate, drains at thread exit, flush), many
 * threads at once, the cap, bad frees, fork, and closing with live and
 * cached objects.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"
#include "magalloc.h"

FIXTURE(lib) {
	struct mag_heap *h;
	struct magalloc_query q;
};

FIXTURE_SETUP(lib)
{
	self->h = mag_open();
	ASSERT_NE(NULL, self->h);
	ASSERT_EQ(0, query(mag_fd(self->h), &self->q, NULL, 0));
}

FIXTURE_TEARDOWN(lib)
{
	mag_close(self->h);
}

/* The pattern of an object: the first, the last and every 61st byte. */
static void stamp(struct mag_heap *h, char *p, size_t len, unsigned int seed)
{
	__u64 off = mag_offset(h, p);
	size_t i;

	for (i = 0; i < len; i += i < 64 || len - i <= 64 ? 1 : 61)
		p[i] = pat(off + i, seed);
}

static bool stamped(struct mag_heap *h, const char *p, size_t len, unsigned int seed)
{
	__u64 off = mag_offset(h, p);
	size_t i;

	for (i = 0; i < len; i += i < 64 || len - i <= 64 ? 1 : 61)
		if ((unsigned char)p[i] != pat(off + i, seed))
			return false;
	return true;
}

static int kstats(struct mag_heap *h, struct magalloc_stats *st)
{
	return mg_stats(mag_fd(h), st);
}

TEST_F(lib, open_and_offsets)
{
	__u64 hs = self->q.heap_size;
	char *base, *p;
	int local;

	EXPECT_LE(0, mag_fd(self->h));
	EXPECT_EQ(hs, mag_heap_size(self->h));
	base = mag_ptr(self->h, 0);
	ASSERT_NE(NULL, base);
	EXPECT_EQ(base + hs - 1, mag_ptr(self->h, hs - 1));
	EXPECT_EQ(NULL, mag_ptr(self->h, hs));
	EXPECT_EQ(0, mag_offset(self->h, base));
	EXPECT_EQ(hs - 1, mag_offset(self->h, base + hs - 1));
	EXPECT_EQ(MAG_NO_OFFSET, mag_offset(self->h, base + hs));
	EXPECT_EQ(MAG_NO_OFFSET, mag_offset(self->h, &local));
	p = mag_malloc(self->h, 100);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(p, mag_ptr(self->h, mag_offset(self->h, p)));
	mag_free(self->h, p);
}

/* Every size up to the largest class, and large ones, with contents. */
TEST_F(lib, malloc_sizes_and_contents)
{
	size_t max_small = self->q.max_small_size, n = 0, i, sz;
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	size_t *sizes;
	char **objs;

	sizes = calloc(4096, sizeof(*sizes));
	objs = calloc(4096, sizeof(*objs));
	ASSERT_NE(NULL, sizes);
	ASSERT_NE(NULL, objs);
	for (sz = 0; sz <= 1100; sz++)
		sizes[n++] = sz;
	for (sz = 1101; sz <= max_small; sz += 97)
		sizes[n++] = sz;
	sizes[n++] = max_small;
	sizes[n++] = max_small + 1;
	sizes[n++] = 100000;
	sizes[n++] = self->q.max_alloc;
	for (i = 0; i < n; i++) {
		objs[i] = mag_malloc(self->h, sizes[i]);
		ASSERT_NE(NULL, objs[i]) {
			TH_LOG("size %zu: errno %d", sizes[i], errno);
		}
		EXPECT_LE(sizes[i], mag_usable_size(self->h, objs[i]));
		stamp(self->h, objs[i], mag_usable_size(self->h, objs[i]), i);
	}
	for (i = 0; i < n; i++) {
		EXPECT_TRUE(stamped(self->h, objs[i], mag_usable_size(self->h, objs[i]), i)) {
			TH_LOG("object %zu of %zu bytes", i, sizes[i]);
		}
	}
	for (i = 0; i < n; i++)
		mag_free(self->h, objs[i]);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(n, ls.mallocs);
	EXPECT_EQ(n, ls.frees);
	EXPECT_EQ(0, ls.bad_frees);
	EXPECT_EQ(0, ls.failed_allocs);
	EXPECT_EQ(3, ls.large_allocs);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.cached_objects);
	EXPECT_EQ(0, ls.cached_bytes);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(st.allocs, st.frees);
	free(sizes);
	free(objs);
}

TEST_F(lib, alignment_and_usable_size)
{
	size_t ps = self->q.page_size, sz;
	char *p;
	int local;

	for (sz = 8; sz <= self->q.max_small_size; sz *= 2) {
		p = mag_malloc(self->h, sz);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % sz);
		EXPECT_EQ(sz, mag_usable_size(self->h, p));
		mag_free(self->h, p);
	}
	for (sz = 1; sz < 3000; sz += 37) {
		p = mag_malloc(self->h, sz);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % 8);
		mag_free(self->h, p);
	}
	p = mag_malloc(self->h, self->q.max_small_size + 1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % ps);
	EXPECT_EQ((self->q.max_small_size + ps) / ps * ps, mag_usable_size(self->h, p));
	EXPECT_EQ(0, mag_usable_size(self->h, p + 8));
	mag_free(self->h, p);
	EXPECT_EQ(0, mag_usable_size(self->h, NULL));
	EXPECT_EQ(0, mag_usable_size(self->h, &local));
}

/*
 * A pattern that moves with the bytes, not with the address: every byte
 * of the first 64 KiB, every 61st after (every page), so that a prefix of
 * a filled object is a filled object.
 */
#define FILL_STEP(i)	((i) < (64 << 10) ? 1 : 61)

static void fill_n(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += FILL_STEP(i))
		p[i] = (unsigned char)(i * 131 + seed);
}

/* How many bytes from the start hold the pattern (@len if all). */
static size_t filled_n(const unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += FILL_STEP(i))
		if (p[i] != (unsigned char)(i * 131 + seed))
			return i;
	return len;
}

/*
 * mag_realloc(): NULL is malloc, growing past the usable size moves and
 * keeps the contents, within it stays in place, a small shrink stays, a
 * large one moves, 0 frees; and in the end nothing is left in the kernel.
 */
TEST_F(lib, realloc_grow_shrink_contents)
{
	size_t sz, old, u, big = 1 << 20;
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	unsigned char *p, *q;

	p = mag_realloc(self->h, NULL, 100);
	ASSERT_NE(NULL, p);
	u = mag_usable_size(self->h, p);
	ASSERT_LE(100, u);
	fill_n(p, u, 1);
	/* in place: up to the usable size, and back down a little */
	EXPECT_EQ(p, mag_realloc(self->h, p, u));
	EXPECT_EQ(p, mag_realloc(self->h, p, u - 7));
	EXPECT_EQ(u, filled_n(p, u, 1));
	/* every step past the usable size moves, small to large */
	for (sz = u + 1; sz <= big; sz = sz * 3 / 2 + 1) {
		old = mag_usable_size(self->h, p);
		q = mag_realloc(self->h, p, sz);
		ASSERT_NE(NULL, q);
		EXPECT_NE(p, q);
		u = mag_usable_size(self->h, q);
		ASSERT_LE(sz, u);
		ASSERT_EQ(old, filled_n(q, old, 1)) TH_LOG("size %zu", sz);
		fill_n(q, u, 1);
		p = q;
	}
	EXPECT_EQ(0, (uintptr_t)p % self->q.page_size);
	/* a shrink by a page stays, to a tenth moves to a smaller object */
	q = mag_realloc(self->h, p, u - self->q.page_size);
	EXPECT_EQ(p, q);
	q = mag_realloc(self->h, p, 100);
	ASSERT_NE(NULL, q);
	EXPECT_NE(p, q);
	EXPECT_GT(self->q.page_size, mag_usable_size(self->h, q));
	EXPECT_EQ(100, filled_n(q, 100, 1));
	/* a large one shrunk to another large one */
	p = mag_realloc(self->h, NULL, big);
	ASSERT_NE(NULL, p);
	fill_n(p, big, 2);
	p = mag_realloc(self->h, p, big / 4);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(big / 4, mag_usable_size(self->h, p));
	EXPECT_EQ(big / 4, filled_n(p, big / 4, 2));
	/* size 0 frees and returns NULL */
	EXPECT_EQ(NULL, mag_realloc(self->h, p, 0));
	EXPECT_EQ(NULL, mag_realloc(self->h, q, 0));
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.bad_frees);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.bad_frees);
}

/*
 * A failed mag_realloc() leaves the object as it was: beyond max_alloc,
 * and at the heap's cap; a pointer the heap does not hold is refused.
 */
TEST_F(lib, realloc_failure_keeps_object)
{
	struct magalloc_stats st;
	unsigned char *p;
	size_t u;
	int local;

	p = mag_malloc(self->h, 3000);
	ASSERT_NE(NULL, p);
	u = mag_usable_size(self->h, p);
	fill_n(p, u, 3);
	errno = 0;
	EXPECT_EQ(NULL, mag_realloc(self->h, p, self->q.max_alloc + 1));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(u, filled_n(p, u, 3));
	ASSERT_EQ(0, kstats(self->h, &st));
	/* the cap at what the heap holds: no room for a larger object */
	ASSERT_EQ(0, mg_set_cap(mag_fd(self->h), st.charged));
	errno = 0;
	EXPECT_EQ(NULL, mag_realloc(self->h, p, 256 << 10));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(u, mag_usable_size(self->h, p));
	EXPECT_EQ(u, filled_n(p, u, 3));
	errno = 0;
	EXPECT_EQ(NULL, mag_realloc(self->h, &local, 10));
	EXPECT_EQ(EINVAL, errno);
	mag_free(self->h, p);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.bad_frees);
}

/*
 * mag_aligned_alloc() and mag_posix_memalign() for every power of two from
 * 1 byte to max_alloc, small and large sizes: aligned, usable over their
 * whole usable size (a byte outside the live pages would raise SIGBUS),
 * apart from each other, and freed for good.
 */
TEST_F_TIMEOUT(lib, aligned_alloc_every_alignment, 120)
{
	size_t sizes[] = { 0, 1, 100, 4000, 5000, 40000 };
	size_t align, u, ua, ub, i;
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	unsigned char *a, *b;
	void *v;

	for (align = 1; align <= self->q.max_alloc; align *= 2) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			/*
			 * Beyond 64 KiB every size takes the same (large)
			 * path, and each object is mostly page faults: the
			 * smallest and the largest size are enough there.
			 */
			if (align > (64 << 10) && i && i != ARRAY_SIZE(sizes) - 1)
				continue;
			a = mag_aligned_alloc(self->h, align, sizes[i]);
			ASSERT_NE(NULL, a) TH_LOG("align %zu size %zu", align, sizes[i]);
			v = NULL;
			ASSERT_EQ(0, mag_posix_memalign(self->h, &v, align < 8 ? 8 : align,
							sizes[i]));
			b = v;
			ua = mag_usable_size(self->h, a);
			ub = mag_usable_size(self->h, b);
			EXPECT_EQ(0, (uintptr_t)a % align)
				TH_LOG("align %zu size %zu", align, sizes[i]);
			EXPECT_EQ(0, (uintptr_t)b % align);
			EXPECT_LE(sizes[i], ua);
			EXPECT_LE(sizes[i], ub);
			EXPECT_TRUE(a + ua <= b || b + ub <= a);
			fill_n(a, ua, 4);
			fill_n(b, ub, 5);
			EXPECT_EQ(ua, filled_n(a, ua, 4));
			EXPECT_EQ(ub, filled_n(b, ub, 5));
			mag_free(self->h, a);
			mag_free(self->h, b);
		}
	}
	/* a page and beyond, for a small size: an object of exactly align */
	for (align = self->q.page_size; align <= self->q.max_alloc; align *= 2) {
		a = mag_aligned_alloc(self->h, align, 10);
		ASSERT_NE(NULL, a);
		u = mag_usable_size(self->h, a);
		EXPECT_EQ(align, u);
		mag_free(self->h, a);
	}
	errno = 0;
	EXPECT_EQ(NULL, mag_aligned_alloc(self->h, self->q.max_alloc * 2, 8));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, mag_aligned_alloc(self->h, 4096, self->q.max_alloc + 1));
	EXPECT_EQ(ENOMEM, errno);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(0, st.bad_frees);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.bad_frees);
}

/* Alignments C11 and POSIX refuse: EINVAL, nothing allocated. */
TEST_F(lib, aligned_alloc_bad_alignments)
{
	size_t bad[] = { 0, 3, 24, 100, 4097, ((size_t)1 << 63) + 8 };
	struct magalloc_stats st;
	void *v = &v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(NULL, mag_aligned_alloc(self->h, bad[i], 64));
		EXPECT_EQ(EINVAL, errno);
		errno = 1234;
		EXPECT_EQ(EINVAL, mag_posix_memalign(self->h, &v, bad[i], 64));
		EXPECT_EQ(1234, errno);
		EXPECT_EQ(&v, v);
	}
	/* a power of two below sizeof(void *): fine for C11, not POSIX */
	EXPECT_EQ(EINVAL, mag_posix_memalign(self->h, &v, 4, 64));
	EXPECT_EQ(EINVAL, mag_posix_memalign(self->h, NULL, 64, 64));
	EXPECT_EQ(EINVAL, mag_posix_memalign(NULL, &v, 64, 64));
	EXPECT_EQ(&v, v);
	errno = 1234;
	EXPECT_EQ(ENOMEM, mag_posix_memalign(self->h, &v, 64, self->q.max_alloc + 1));
	EXPECT_EQ(1234, errno);
	EXPECT_EQ(&v, v);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
}

/* mag_usable_size() of an object of every class and of large ones. */
TEST_F(lib, usable_size_every_object)
{
	struct magalloc_class cls[MAX_CLASSES];
	struct magalloc_query q;
	size_t ps = self->q.page_size, sz, prev = 0;
	struct magalloc_stats st;
	unsigned int i;
	char *p;

	ASSERT_EQ(0, query(mag_fd(self->h), &q, cls, MAX_CLASSES));
	ASSERT_GE(MAX_CLASSES, q.nr_classes);
	for (i = 0; i < q.nr_classes; i++) {
		p = mag_malloc(self->h, prev + 1);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(cls[i].size, mag_usable_size(self->h, p)) TH_LOG("size %zu", prev + 1);
		p[cls[i].size - 1] = 1;
		mag_free(self->h, p);
		p = mag_malloc(self->h, cls[i].size);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(cls[i].size, mag_usable_size(self->h, p));
		mag_free(self->h, p);
		prev = cls[i].size;
	}
	for (sz = q.max_small_size + 1; sz <= q.max_alloc; sz = sz * 2 + 1) {
		p = mag_malloc(self->h, sz > q.max_alloc ? q.max_alloc : sz);
		ASSERT_NE(NULL, p);
		EXPECT_EQ((sz + ps - 1) / ps * ps, mag_usable_size(self->h, p));
		EXPECT_EQ(0, mag_usable_size(self->h, p + ps));
		mag_free(self->h, p);
		EXPECT_EQ(0, mag_usable_size(self->h, p));
	}
	p = mag_malloc(self->h, q.max_alloc);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(q.max_alloc, mag_usable_size(self->h, p));
	mag_free(self->h, p);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
}

/* Most calls make no system call. */
TEST_F(lib, magazine_hit_rate)
{
	struct mag_lib_stats ls;
	unsigned int i, r;
	double rate;
	void **v;

	v = calloc(1000, sizeof(*v));
	ASSERT_NE(NULL, v);
	for (i = 0; i < 100000; i++)
		mag_free(self->h, mag_malloc(self->h, 64));
	for (r = 0; r < 20; r++) {
		for (i = 0; i < 1000; i++)
			v[i] = mag_malloc(self->h, 16 + (i % 4) * 100);
		for (i = 0; i < 1000; i++)
			mag_free(self->h, v[i]);
	}
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(120000, ls.mallocs);
	EXPECT_EQ(120000, ls.frees);
	EXPECT_EQ(ls.mallocs, ls.alloc_hits + ls.alloc_misses);
	EXPECT_EQ(ls.frees, ls.free_hits + ls.free_misses);
	EXPECT_EQ(ls.alloc_misses, ls.refills);
	EXPECT_EQ(ls.free_misses, ls.drains);
	rate = (double)(ls.alloc_hits + ls.free_hits) / (ls.mallocs + ls.frees);
	ksft_print_msg("hit rate %.4f, %llu refills, %llu drains for %llu calls\n", rate,
		       ls.refills, ls.drains, ls.mallocs + ls.frees);
	EXPECT_LT(0.97, rate);
	EXPECT_EQ(1, ls.threads);
	free(v);
}

TEST_F(lib, calloc_zeroes)
{
	unsigned char *p;
	size_t i;

	p = mag_malloc(self->h, 500);
	ASSERT_NE(NULL, p);
	memset(p, 0xff, 500);
	mag_free(self->h, p);
	p = mag_calloc(self->h, 50, 10);
	ASSERT_NE(NULL, p);	/* the same object, recycled, zeroed */
	for (i = 0; i < 500; i++)
		ASSERT_EQ(0, p[i]);
	mag_free(self->h, p);
	errno = 0;
	EXPECT_EQ(NULL, mag_calloc(self->h, SIZE_MAX / 2, 3));
	EXPECT_EQ(ENOMEM, errno);
}

TEST_F(lib, errors)
{
	struct mag_lib_stats ls;

	errno = 0;
	EXPECT_EQ(NULL, mag_malloc(NULL, 8));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, mag_malloc(self->h, self->q.max_alloc + 1));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, mag_malloc(self->h, SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
	mag_free(self->h, NULL);
	mag_free(NULL, NULL);
	mag_close(NULL);
	mag_thread_flush(NULL);
	EXPECT_EQ(-1, mag_lib_stats(NULL, &ls));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mag_lib_stats(self->h, NULL));
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(2, ls.failed_allocs);
	EXPECT_EQ(0, ls.frees);
}

/* Frees of things that are not objects are counted, and harmless. */
TEST_F(lib, bad_frees)
{
	size_t large = self->q.max_small_size + 1;
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	char *p, *q;
	int local;

	p = mag_malloc(self->h, 64);
	q = mag_malloc(self->h, large);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	memset(p, 1, 64);
	mag_free(self->h, &local);	/* not in the heap */
	mag_free(self->h, p + 1);	/* misaligned: the kernel refuses */
	mag_free(self->h, q + 4096);	/* inside a large object */
	mag_free(self->h, q + 8);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(4, ls.bad_frees);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(3, st.bad_frees);
	EXPECT_LE(2, st.live_objects);	/* and the rest of a refill's batch */
	EXPECT_EQ(1, p[63]);
	q[large - 1] = 2;
	mag_free(self->h, p);
	mag_free(self->h, q);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
}

/* At the cap mag_malloc() fails with ENOMEM, and works again after frees. */
TEST_F(lib, cap_enomem)
{
	size_t cap = 1 << 20, n = 0, i;
	struct mag_lib_stats ls;
	void **v;

	v = calloc(4096, sizeof(*v));
	ASSERT_NE(NULL, v);
	/* some small objects of another class stay cached in the magazine */
	for (i = 0; i < 10; i++)
		mag_free(self->h, mag_malloc(self->h, 20000));
	ASSERT_EQ(0, mg_set_cap(mag_fd(self->h), cap));
	errno = 0;
	while (n < 4096 && (v[n] = mag_malloc(self->h, 1000)))
		n++;
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_LT(cap / 1024 / 2, n);
	EXPECT_GE(cap / 1000, n);
	EXPECT_EQ(NULL, mag_malloc(self->h, cap + 1));
	for (i = 0; i < n; i++)
		mag_free(self->h, v[i]);
	mag_thread_flush(self->h);
	v[0] = mag_malloc(self->h, cap - 4096);
	EXPECT_NE(NULL, v[0]);
	mag_free(self->h, v[0]);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_LE(2, ls.failed_allocs);
	free(v);
}

struct worker {
	struct mag_heap *h;
	unsigned int id, ops;
	unsigned long long mallocs, bad;
	pthread_barrier_t *bar;
};

static __u64 xorshift(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t random_size(__u64 *rng)
{
	__u64 r = xorshift(rng);

	switch (r % 100) {
	case 0:
		return 32769 + (r >> 8) % 100000;	/* large */
	case 1 ... 9:
		return 1 + (r >> 8) % 32768;
	default:
		return 1 + (r >> 8) % 512;
	}
}

#define SLOTS	64

/* Random mallocs and frees with contents checks; everything freed at the end. */
static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	size_t len[SLOTS] = { 0 };
	char *slot[SLOTS] = { NULL };
	__u64 rng = 0x1234567ull * (w->id + 1);
	unsigned int i, k;

	if (w->bar)
		pthread_barrier_wait(w->bar);
	for (i = 0; i < w->ops; i++) {
		k = xorshift(&rng) % SLOTS;
		if (slot[k]) {
			w->bad += !stamped(w->h, slot[k], len[k], w->id * SLOTS + k);
			mag_free(w->h, slot[k]);
			slot[k] = NULL;
			continue;
		}
		len[k] = random_size(&rng);
		slot[k] = mag_malloc(w->h, len[k]);
		if (!slot[k]) {
			w->bad++;
			continue;
		}
		w->mallocs++;
		stamp(w->h, slot[k], len[k], w->id * SLOTS + k);
	}
	for (k = 0; k < SLOTS; k++) {
		if (!slot[k])
			continue;
		w->bad += !stamped(w->h, slot[k], len[k], w->id * SLOTS + k);
		mag_free(w->h, slot[k]);
	}
	return NULL;
}

TEST_F_TIMEOUT(lib, threads_random, 120)
{
	enum { NT = 8, OPS = 5000 };
	unsigned long long mallocs = 0;
	struct worker w[NT];
	pthread_t t[NT];
	pthread_barrier_t bar;
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	unsigned int i;

	pthread_barrier_init(&bar, NULL, NT);
	for (i = 0; i < NT; i++) {
		w[i] = (struct worker){ .h = self->h, .id = i, .ops = OPS, .bar = &bar };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker_fn, &w[i]));
	}
	for (i = 0; i < NT; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, w[i].bad);
		mallocs += w[i].mallocs;
	}
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	ksft_print_msg("%llu mallocs, hit rate %.4f, %llu refills, %llu drains, %llu large\n",
		       ls.mallocs, (double)(ls.alloc_hits + ls.free_hits) / (ls.mallocs + ls.frees),
		       ls.refills, ls.drains, ls.large_allocs);
	EXPECT_EQ(mallocs, ls.mallocs);
	EXPECT_EQ(mallocs, ls.frees);
	EXPECT_EQ(0, ls.threads);
	EXPECT_EQ(0, ls.cached_objects);
	EXPECT_EQ(0, ls.failed_allocs);
	EXPECT_EQ(0, ls.bad_frees);
	/* every thread exited: its magazines went back, so the heap is empty */
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.live_bytes);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(0, st.bad_requests);
	EXPECT_EQ(st.allocs, st.frees);
	pthread_barrier_destroy(&bar);
}

struct holder {
	struct mag_heap *h;
	pthread_barrier_t *bar;
	unsigned int keep;
	void *kept[16];
};

/* Cache some objects, keep some live, wait, then (optionally) exit. */
static void *holder_fn(void *arg)
{
	struct holder *hd = arg;
	void *v[100];
	unsigned int i;

	for (i = 0; i < 100; i++)
		v[i] = mag_malloc(hd->h, 48 + i % 3 * 500);
	for (i = 0; i < 100; i++) {
		if (i < hd->keep)
			hd->kept[i] = v[i];
		else
			mag_free(hd->h, v[i]);
	}
	pthread_barrier_wait(hd->bar);	/* cached and live objects */
	pthread_barrier_wait(hd->bar);	/* the main thread looked (or closed) */
	return NULL;
}

TEST_F(lib, thread_exit_drains)
{
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	pthread_barrier_t bar;
	struct holder hd = { .h = self->h, .bar = &bar, .keep = 0 };
	pthread_t t;

	pthread_barrier_init(&bar, NULL, 2);
	ASSERT_EQ(0, pthread_create(&t, NULL, holder_fn, &hd));
	pthread_barrier_wait(&bar);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(1, ls.threads);
	EXPECT_LE(100, ls.cached_objects);	/* freed, and refilled but unused */
	EXPECT_LT(100 * 48, ls.cached_bytes);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_LE(100, st.live_objects);	/* cached objects are live for the kernel */
	pthread_barrier_wait(&bar);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.threads);
	EXPECT_EQ(0, ls.cached_objects);
	EXPECT_EQ(100, ls.mallocs);
	EXPECT_EQ(100, ls.frees);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	pthread_barrier_destroy(&bar);
}

TEST_F(lib, thread_flush)
{
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	void *keep;

	keep = mag_malloc(self->h, 200);
	mag_free(self->h, mag_malloc(self->h, 100));
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_LT(0, ls.cached_objects);
	mag_thread_flush(self->h);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.cached_objects);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(1, st.live_objects);
	mag_free(self->h, keep);
}

/*
 * mag_close() while other threads (idle, not exited) hold cached and live
 * objects: the heap goes; the threads' caches are freed when they exit or
 * use another heap.
 */
TEST_F(lib, close_with_cached_and_live_objects)
{
	struct holder hd[3];
	pthread_barrier_t bar;
	__u64 cap = tag_cap(1);
	int have_debugfs = heaps_with_cap(cap, NULL) >= 0;
	unsigned int i;
	pthread_t t[3];
	char *mine;

	ASSERT_EQ(0, mg_set_cap(mag_fd(self->h), cap));
	pthread_barrier_init(&bar, NULL, 4);
	for (i = 0; i < 3; i++) {
		hd[i] = (struct holder){ .h = self->h, .bar = &bar, .keep = 5 * i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, holder_fn, &hd[i]));
	}
	mine = mag_malloc(self->h, 5000);
	ASSERT_NE(NULL, mine);
	mag_free(self->h, mag_malloc(self->h, 77));
	pthread_barrier_wait(&bar);
	mag_close(self->h);
	self->h = NULL;
	if (have_debugfs)
		EXPECT_EQ(0, heaps_with_cap(cap, NULL));
	pthread_barrier_wait(&bar);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	/* a new heap works for this thread, whose old cache was disowned */
	self->h = mag_open();
	ASSERT_NE(NULL, self->h);
	mine = mag_malloc(self->h, 77);
	ASSERT_NE(NULL, mine);
	mag_free(self->h, mine);
	pthread_barrier_destroy(&bar);
}

/* A thread that used a closed heap goes on with a new one. */
static void *reuser_fn(void *arg)
{
	struct holder *hd = arg;
	void *p;

	mag_free(hd->h, mag_malloc(hd->h, 300));
	pthread_barrier_wait(hd->bar);	/* the main thread closes, reopens */
	pthread_barrier_wait(hd->bar);
	p = mag_malloc(hd->h, 300);
	hd->kept[0] = p;
	if (p)
		memset(p, 1, 300);
	mag_free(hd->h, p);
	return NULL;
}

TEST_F(lib, thread_moves_to_new_heap)
{
	struct holder hd = { .h = self->h };
	struct magalloc_stats st;
	pthread_barrier_t bar;
	pthread_t t;

	pthread_barrier_init(&bar, NULL, 2);
	hd.bar = &bar;
	ASSERT_EQ(0, pthread_create(&t, NULL, reuser_fn, &hd));
	pthread_barrier_wait(&bar);
	mag_close(self->h);
	self->h = mag_open();
	ASSERT_NE(NULL, self->h);
	hd.h = self->h;
	pthread_barrier_wait(&bar);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_NE(NULL, hd.kept[0]);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_LE(1, st.allocs);	/* a refill's batch */
	EXPECT_EQ(st.allocs, st.frees);
	EXPECT_EQ(0, st.live_objects);
	pthread_barrier_destroy(&bar);
}

/* Two heaps used by one thread keep their objects apart. */
TEST_F(lib, two_heaps_one_thread)
{
	struct mag_heap *b = mag_open();
	struct magalloc_stats st;
	void *pa[200], *pb[200];
	unsigned int i;

	ASSERT_NE(NULL, b);
	for (i = 0; i < 200; i++) {
		pa[i] = mag_malloc(self->h, 32 + i);
		pb[i] = mag_malloc(b, 32 + i);
		ASSERT_NE(NULL, pa[i]);
		ASSERT_NE(NULL, pb[i]);
		EXPECT_NE(MAG_NO_OFFSET, mag_offset(self->h, pa[i]));
		EXPECT_EQ(MAG_NO_OFFSET, mag_offset(self->h, pb[i]));
		stamp(self->h, pa[i], 32 + i, i);
		stamp(b, pb[i], 32 + i, i + 1);
	}
	for (i = 0; i < 200; i++) {
		EXPECT_TRUE(stamped(self->h, pa[i], 32 + i, i));
		EXPECT_TRUE(stamped(b, pb[i], 32 + i, i + 1));
		mag_free(self->h, pa[i]);
	}
	mag_thread_flush(self->h);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	ASSERT_EQ(0, kstats(b, &st));
	EXPECT_LE(200, st.live_objects);	/* and what B's magazine caches */
	mag_close(b);
	/* heap A is unaffected by B's close */
	pa[0] = mag_malloc(self->h, 100);
	ASSERT_NE(NULL, pa[0]);
	mag_free(self->h, pa[0]);
}

/*
 * After fork() the child starts with empty magazines (what the parent had
 * cached stays the parent's); both allocate from the shared heap and each
 * frees objects of the other.
 */
TEST_F(lib, fork_shares_heap)
{
	enum { N = 300 };
	struct magalloc_stats st;
	struct mag_lib_stats ls;
	char *mine[N], *theirs[N];
	int pfd[2], status;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < N; i++)		/* leave objects cached */
		mag_free(self->h, mag_malloc(self->h, 40 + i % 5 * 200));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		bad |= mag_lib_stats(self->h, &ls) || ls.cached_objects;
		for (i = 0; i < N; i++) {
			mine[i] = mag_malloc(self->h, 40 + i % 5 * 200);
			if (!mine[i])
				_exit(2);
			stamp(self->h, mine[i], 40 + i % 5 * 200, 1000 + i);
		}
		if (write(pfd[1], mine, sizeof(mine)) != sizeof(mine))
			_exit(3);
		mag_thread_flush(self->h);
		_exit(bad);
	}
	for (i = 0; i < N; i++) {
		mine[i] = mag_malloc(self->h, 40 + i % 5 * 200);
		ASSERT_NE(NULL, mine[i]);
		stamp(self->h, mine[i], 40 + i % 5 * 200, i);
	}
	ASSERT_EQ(sizeof(theirs), read(pfd[0], theirs, sizeof(theirs)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	for (i = 0; i < N; i++) {
		EXPECT_TRUE(stamped(self->h, mine[i], 40 + i % 5 * 200, i));
		EXPECT_TRUE(stamped(self->h, theirs[i], 40 + i % 5 * 200, 1000 + i));
		mag_free(self->h, mine[i]);
		mag_free(self->h, theirs[i]);
	}
	mag_thread_flush(self->h);
	ASSERT_EQ(0, mag_lib_stats(self->h, &ls));
	EXPECT_EQ(0, ls.bad_frees);
	ASSERT_EQ(0, kstats(self->h, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.bad_frees);
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(lib, open_close_many)
{
	unsigned int i;
	void *p;

	for (i = 0; i < 30; i++) {
		mag_close(self->h);
		self->h = mag_open();
		ASSERT_NE(NULL, self->h);
		p = mag_malloc(self->h, 10 + i);
		ASSERT_NE(NULL, p);
		mag_free(self->h, p);
	}
}

TEST_HARNESS_MAIN
