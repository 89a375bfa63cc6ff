// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for libmagalloc-preload.so, run with it in LD_PRELOAD (the
 * guest's preload step; without it the first test fails): a dynamically
 * linked program whose plain malloc() family must come from a
 * /dev/magalloc heap, with glibc's allocator for what the heap refuses;
 * threads freeing each other's objects; fork() giving the child a copy of
 * the heap's memory, not the parent's objects.
 *
 * The heap is found in /proc/self/maps (the mapping of its shmem file,
 * HEAP_MAPS_NAME) and its descriptor in /proc/self/fd, for the cap.
 */
#include <dirent.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

/* The heap's mapping: 0 and its bounds, or -1. */
static int heap_range(uintptr_t *lo, uintptr_t *hi)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (!strstr(line, HEAP_MAPS_NAME))
			continue;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2) {
			*lo = a;
			*hi = b;
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* The range as last read: the heap does not move but after fork(). */
static uintptr_t heap_lo, heap_hi;

static bool in_heap(const void *p)
{
	if (!heap_hi && heap_range(&heap_lo, &heap_hi))
		return false;
	return (uintptr_t)p >= heap_lo && (uintptr_t)p < heap_hi;
}

/* In a fork() child: its own heap, at its first allocation. */
static void heap_forget(void)
{
	heap_lo = 0;
	heap_hi = 0;
}

/*
 * The last descriptor whose target contains @what, or -1; *count (if not
 * NULL) gets how many there are.
 */
static int find_fd(const char *what, int *count)
{
	char path[64], target[PATH_MAX];
	struct dirent *d;
	int fd = -1, k = 0;
	DIR *dir;
	ssize_t n;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strstr(target, what)) {
			fd = atoi(d->d_name);
			k++;
		}
	}
	closedir(dir);
	if (count)
		*count = k;
	return fd;
}

/* The heap's descriptor (the interposer's), or -1. */
static int heap_fd(void)
{
	return find_fd(DEV_PATH, NULL);
}

/* Descriptors of the interposer's fork() copies left open (none must be). */
static int fork_copies_open(void)
{
	int k;

	find_fd("magalloc-fork", &k);
	return k;
}

static void fill_p(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

/* How many bytes from the start hold the pattern. */
static size_t filled_p(const unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 31 + seed))
			return i;
	return len;
}

/* Small objects from the heap, what is beyond max_alloc from glibc. */
/* A count that overflows times 2 pages, out of the compiler's sight. */
static size_t huge(void)
{
	return SIZE_MAX / (size_t)sysconf(_SC_PAGESIZE);
}

TEST(interposed)
{
	size_t big = 8 << 20;
	unsigned char *p, *q;

	p = malloc(100);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(in_heap(p))
		TH_LOG("malloc(100) = %p is not in the heap: no libmagalloc-preload.so?", p);
	EXPECT_LE(100, malloc_usable_size(p));
	fill_p(p, malloc_usable_size(p), 1);
	q = malloc(big);
	ASSERT_NE(NULL, q);
	EXPECT_FALSE(in_heap(q));
	EXPECT_LE(big, malloc_usable_size(q));
	fill_p(q, big, 2);
	EXPECT_EQ(big, filled_p(q, big, 2));
	EXPECT_EQ(100, filled_p(p, 100, 1));
	free(q);
	free(p);
	free(NULL);
	EXPECT_EQ(0, malloc_usable_size(NULL));
	/* strdup() is glibc's: its malloc() is ours */
	p = (unsigned char *)strdup("interposed");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(in_heap(p));
	free(p);
}

/* realloc() within the heap, out of it to glibc and there, keeping bytes. */
TEST(realloc_moves)
{
	size_t big = 8 << 20;
	unsigned char *p, *q;

	p = realloc(NULL, 1000);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(in_heap(p));
	fill_p(p, 1000, 3);
	q = realloc(p, 50000);		/* a large object of the heap */
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(in_heap(q));
	EXPECT_EQ(1000, filled_p(q, 1000, 3));
	fill_p(q, 50000, 4);
	p = realloc(q, big);		/* beyond max_alloc: glibc's */
	ASSERT_NE(NULL, p);
	EXPECT_FALSE(in_heap(p));
	EXPECT_EQ(50000, filled_p(p, 50000, 4));
	q = realloc(p, 100);		/* glibc's realloc keeps it */
	ASSERT_NE(NULL, q);
	EXPECT_EQ(100, filled_p(q, 100, 4));
	free(q);
	p = malloc(10);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(NULL, realloc(p, 0));
	errno = 0;
	p = reallocarray(NULL, huge(), 2 * sysconf(_SC_PAGESIZE));
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ENOMEM, errno);
	p = reallocarray(NULL, 10, 10);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(in_heap(p));
	free(p);
}

TEST(calloc_zeroes)
{
	unsigned char *p;
	unsigned int i;

	for (i = 0; i < 50; i++) {
		p = malloc(8000);
		ASSERT_NE(NULL, p);
		memset(p, 0xff, 8000);
		free(p);
		p = calloc(1000, 8);
		ASSERT_NE(NULL, p);
		EXPECT_TRUE(in_heap(p));
		EXPECT_EQ(-1, nonzero((char *)p, 8000));
		free(p);
	}
	errno = 0;
	EXPECT_EQ(NULL, calloc(huge(), 2 * sysconf(_SC_PAGESIZE)));
	EXPECT_EQ(ENOMEM, errno);
}

/* Every aligned allocator, from 16 bytes to 1 MiB: aligned, in the heap. */
TEST(aligned_family)
{
	size_t ps = sysconf(_SC_PAGESIZE), align;
	void *p, *v;

	for (align = 16; align <= (1 << 20); align *= 2) {
		p = aligned_alloc(align, 100);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % align);
		EXPECT_TRUE(in_heap(p)) TH_LOG("aligned_alloc(%zu)", align);
		memset(p, 1, malloc_usable_size(p));
		free(p);
		v = NULL;
		ASSERT_EQ(0, posix_memalign(&v, align, 3 * align));
		EXPECT_EQ(0, (uintptr_t)v % align);
		EXPECT_TRUE(in_heap(v));
		EXPECT_LE(3 * align, malloc_usable_size(v));
		memset(v, 2, 3 * align);
		free(v);
		p = memalign(align, 10);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % align);
		free(p);
	}
	p = memalign(24, 10);		/* glibc rounds up to 32 */
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % 32);
	free(p);
	p = valloc(10);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % ps);
	free(p);
	p = pvalloc(ps + 1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % ps);
	EXPECT_LE(2 * ps, malloc_usable_size(p));
	free(p);
	errno = 0;
	EXPECT_EQ(NULL, aligned_alloc(24, 48));
	EXPECT_EQ(EINVAL, errno);
	v = &v;
	EXPECT_EQ(EINVAL, posix_memalign(&v, 4, 8));
	EXPECT_EQ(EINVAL, posix_memalign(&v, 48, 8));
	EXPECT_EQ(&v, v);
	/* beyond max_alloc: glibc serves it, aligned too */
	ASSERT_EQ(0, posix_memalign(&v, 8 << 20, 100));
	EXPECT_EQ(0, (uintptr_t)v % (8 << 20));
	EXPECT_FALSE(in_heap(v));
	free(v);
}

/*
 * At the heap's cap, allocations go to glibc and still work; freeing
 * them and the heap's objects works; the cap back up, the heap serves
 * again.
 */
TEST(heap_full_falls_back)
{
	enum { N = 2000 };
	struct magalloc_stats st;
	unsigned int i, in = 0, out = 0;
	unsigned char *v[N];
	int fd;

	free(malloc(1));
	fd = heap_fd();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mg_stats(fd, &st));
	ASSERT_EQ(0, mg_set_cap(fd, st.charged + (256 << 10)));
	for (i = 0; i < N; i++) {
		v[i] = malloc(1000 + i % 7 * 1000);
		ASSERT_NE(NULL, v[i]);
		fill_p(v[i], 1000, i);
		if (in_heap(v[i]))
			in++;
		else
			out++;
	}
	EXPECT_LT(0, in);
	EXPECT_LT(0, out);
	for (i = 0; i < N; i++) {
		EXPECT_EQ(1000, filled_p(v[i], 1000, i));
		free(v[i]);
	}
	ASSERT_EQ(0, mg_set_cap(fd, st.cap));
	v[0] = malloc(20000);
	ASSERT_NE(NULL, v[0]);
	EXPECT_TRUE(in_heap(v[0]));
	free(v[0]);
}

#define NTHREADS	6
#define PER_THREAD	1500

struct pass {
	unsigned char *objs[NTHREADS][PER_THREAD];
	size_t sizes[NTHREADS][PER_THREAD];
	pthread_barrier_t bar;
	unsigned int bad[NTHREADS], outside[NTHREADS];
};

struct targ {
	struct pass *ps;
	unsigned int id;
};

/* Allocate, then free what the next thread allocated, three rounds. */
static void *pass_thread(void *arg)
{
	struct targ *ta = arg;
	struct pass *ps = ta->ps;
	unsigned int id = ta->id, next = (id + 1) % NTHREADS, r, i;
	__u64 rng = id * 7919 + 1;

	for (r = 0; r < 3; r++) {
		for (i = 0; i < PER_THREAD; i++) {
			size_t sz;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			sz = rng % 100 ? 1 + rng % 2000 : 40000 + rng % 100000;
			ps->objs[id][i] = malloc(sz);
			ps->sizes[id][i] = sz;
			if (!ps->objs[id][i]) {
				ps->bad[id]++;
				continue;
			}
			if (!in_heap(ps->objs[id][i]) && i % 100 == 0)
				ps->outside[id]++;
			fill_p(ps->objs[id][i], sz < 256 ? sz : 256, id + i + r);
		}
		pthread_barrier_wait(&ps->bar);
		for (i = 0; i < PER_THREAD; i++) {
			size_t sz = ps->sizes[next][i], head = sz < 256 ? sz : 256;
			unsigned char *p = ps->objs[next][i];

			if (!p)
				continue;
			if (filled_p(p, head, next + i + r) != head || malloc_usable_size(p) < sz)
				ps->bad[id]++;
			free(p);
		}
		pthread_barrier_wait(&ps->bar);
	}
	return NULL;
}

/*
 * A fixture for a longer bound than the harness's 30 s: on the KCSAN
 * PREEMPT_RT kernel the test took 23 s alone and about three times that
 * beside another guest on a slow host; 300 s keeps a margin.
 */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, threads_free_each_others, 300)
{
	struct targ ta[NTHREADS];
	pthread_t t[NTHREADS];
	struct pass *ps;
	unsigned int i;

	ps = calloc(1, sizeof(*ps));
	ASSERT_NE(NULL, ps);
	ASSERT_EQ(0, pthread_barrier_init(&ps->bar, NULL, NTHREADS));
	for (i = 0; i < NTHREADS; i++) {
		ta[i].ps = ps;
		ta[i].id = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pass_thread, &ta[i]));
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, ps->bad[i]);
		EXPECT_EQ(0, ps->outside[i]);
	}
	pthread_barrier_destroy(&ps->bar);
	free(ps);
}

/*
 * fork(): the child sees the parent's objects as they were at fork() and
 * its writes, frees and reallocs of them stay its own; it allocates from
 * a heap of its own; the parent, which frees and reuses one object right
 * after fork(), changes nothing the child sees.
 */
TEST(fork_copies_memory)
{
	unsigned char *a, *b, *big;
	int go[2], status;
	pid_t pid;
	char c;

	/* the copy goes into a memfd: without one the child shares */
	status = memfd_create("probe", MFD_CLOEXEC);
	if (status < 0)
		SKIP(return, "memfd_create(): %s (CONFIG_MEMFD_CREATE)", strerror(errno));
	close(status);
	a = malloc(3000);
	b = malloc(200);
	big = malloc(100000);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, big);
	ASSERT_TRUE(in_heap(a));
	ASSERT_TRUE(in_heap(big));
	fill_p(a, 3000, 5);
	fill_p(b, 200, 6);
	fill_p(big, 100000, 7);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char *n, *r;
		int bad = 0;

		heap_forget();
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		/* the parent freed and reused b meanwhile */
		bad |= (filled_p(b, 200, 6) != 200) << 0;
		bad |= (filled_p(a, 3000, 5) != 3000) << 1;
		bad |= (filled_p(big, 100000, 7) != 100000) << 2;
		bad |= (malloc_usable_size(a) < 3000) << 3;
		fill_p(a, 3000, 8);		/* the parent must not see it */
		memset(big, 0, 100000);
		n = malloc(500);
		bad |= (!n || !in_heap(n)) << 4;
		bad |= (n && n >= a && n < a + 3000) << 5;
		r = realloc(b, 5000);
		bad |= (!r || filled_p(r, 200, 6) != 200) << 6;
		free(a);
		free(r);
		free(n);
		_exit(bad);
	}
	free(b);
	b = malloc(200);
	ASSERT_NE(NULL, b);
	memset(b, 0xee, 200);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child's failures (bits): %#x", WEXITSTATUS(status));
	EXPECT_EQ(3000, filled_p(a, 3000, 5));
	EXPECT_EQ(100000, filled_p(big, 100000, 7));
	EXPECT_EQ(0, fork_copies_open());
	free(a);
	free(b);
	free(big);
	a = malloc(3000);
	ASSERT_NE(NULL, a);
	EXPECT_TRUE(in_heap(a));
	free(a);
	close(go[0]);
	close(go[1]);
}

/*
 * A child's child: two copies inherited, both usable; the child, which
 * opened a heap of its own, made one copy for it and closed it.
 */
TEST(fork_twice)
{
	unsigned char *a;
	int status;
	pid_t pid;

	a = malloc(777);
	ASSERT_NE(NULL, a);
	fill_p(a, 777, 9);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char *b;
		pid_t gc;

		heap_forget();
		b = malloc(555);
		if (!b || !in_heap(b))
			_exit(1);
		fill_p(b, 555, 10);
		gc = fork();
		if (gc < 0)
			_exit(2);
		if (!gc) {
			unsigned char *c;

			heap_forget();
			c = malloc(100);
			_exit((filled_p(a, 777, 9) != 777) | (filled_p(b, 555, 10) != 555) << 1 |
			      (!c || !in_heap(c)) << 2 | (c && c == b) << 3);
		}
		if (waitpid(gc, &status, 0) != gc || !WIFEXITED(status))
			_exit(3);
		/* its own heap's fork handlers ran once: no copy left open */
		if (fork_copies_open())
			_exit(4);
		_exit(WEXITSTATUS(status) ? 8 + WEXITSTATUS(status) : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(777, filled_p(a, 777, 9));
	free(a);
}

TEST_HARNESS_MAIN
