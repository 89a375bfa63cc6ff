// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc_peers: libmagalloc against other malloc()s, for `make bench`.
 *
 *	magalloc_peers [-n PAIRS] [-t TEST] [-T THREADS] NAME
 *
 * NAME lib times libmagalloc's mag_malloc() + mag_free() on one heap
 * (mag_open()); any other NAME times malloc() + free(), whichever
 * allocator the dynamic linker bound them to: glibc's, or one LD_PRELOAD
 * put first (jemalloc, tcmalloc, mimalloc, libmagalloc-preload.so).  The
 * name is checked against where malloc() really is: the malloc the
 * program's lookups find (dlsym(RTLD_DEFAULT)) must be in a file whose
 * name holds the library's ("libc.so", "libjemalloc", "libtcmalloc",
 * "libmimalloc", "libmagalloc-preload"), and an object malloc() returns
 * must (lib, preload) or must not (the others) lie in a heap's mapping,
 * which /proc/self/maps names "/magalloc (deleted)" (the heap's shmem
 * file, mod/uheap.c; both looked up there).  A NAME that fails its
 * check prints "origin-mismatch" and no figures.
 *
 * Tests (all by default; -t one of them), each with 1 thread and with 4
 * threads in one process (-T one of them):
 *
 *   64   PAIRS malloc(64) + free() per thread
 *   mix  per thread 1024 live objects; each step frees a random one and
 *        allocates a new one in its place, of a size drawn from the mixed
 *        distribution (bench/peers-sizes.h: the sizes sqlite3 and perl
 *        asked malloc() for), and writes its first byte.  Sizes and
 *        indices come from a fixed-seed generator (xorshift64*, seeded by
 *        the thread's number), drawn before the clock starts: every run
 *        and every allocator does the same steps.
 *
 * Each test runs PAIRS / 8 pairs per thread untimed first (spans, caches,
 * page tables), then PAIRS timed, all threads started together; the time
 * is from the first thread's start to the last one's end
 * (CLOCK_MONOTONIC: under qemu -icount, instructions).
 *
 * Prints "magbench: peerorigin NAME FILE heap=yes|no" and
 * "magbench: peer NAME TEST ns-per-pair" lines (TEST: 64x1, 64x4, mixx1,
 * mixx4) for scripts/benchtab.py; for lib also "magbench: peerstat lib
 * TEST mallocs=... refills=... drains=... large=...", libmagalloc's
 * counters over the test (warm-up, the slots' fill and their frees
 * included).  Under callgrind
 * (--toggle-collect=timed_run), the instructions of the timed loops alone
 * are counted: scripts/bench.sh divides them by THREADS * PAIRS.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "magalloc.h"
#include "peers-sizes.h"
#include "ubench.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SLOTS		1024	/* live objects per thread, mix */
#define STEPS		65536	/* drawn steps, reused in turn */
#define MAX_THREADS	4

struct step {
	unsigned int slot;
	unsigned int size;
};

struct worker {
	pthread_t tid;
	unsigned int id;
	int fail;
	unsigned long long t0, t1;
	struct step *steps;
	void *slots[SLOTS];
};

static struct mag_heap *heap;	/* NAME lib: the heap, else NULL */
static const char *test;	/* "64" or "mix" */
static unsigned int pairs = 262144;
static unsigned int nthreads;
static pthread_barrier_t start;

static inline void *alloc(size_t n)
{
	return heap ? mag_malloc(heap, n) : malloc(n);
}

static inline void release(void *p)
{
	if (heap)
		mag_free(heap, p);
	else
		free(p);
}

static __u64 xorshift64s(__u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A size from the distribution: the entry whose cumulative count covers @r. */
static unsigned int draw_size(__u64 r)
{
	__u64 want = r % PEER_SIZES_TOTAL, sum = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(peer_sizes); i++) {
		sum += peer_sizes[i].count;
		if (want < sum)
			return peer_sizes[i].size;
	}
	return peer_sizes[0].size;
}

static int loop64(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *p = alloc(64);

		if (!p)
			return -1;
		keep(p);
		release(p);
	}
	return 0;
}

static int loopmix(struct worker *w, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct step *s = &w->steps[i % STEPS];
		char *p;

		release(w->slots[s->slot]);
		p = alloc(s->size);
		w->slots[s->slot] = p;
		if (!p)
			return -1;
		*p = (char)i;
	}
	return 0;
}

static int loop(struct worker *w, unsigned int n)
{
	return test[0] == '6' ? loop64(n) : loopmix(w, n);
}

/*
 * The timed loop: callgrind counts what runs inside it (--toggle-collect),
 * a function of its own as work() calls it through a pointer the compiler
 * cannot see through.
 */
static int timed_run(struct worker *w, unsigned int n)
{
	return loop(w, n);
}

static void *work(void *arg)
{
	int (*timed)(struct worker *w, unsigned int n) = timed_run;
	struct worker *w = arg;
	unsigned int i;

	__asm__("" : "+r"(timed));
	if (test[0] == 'm') {
		for (i = 0; i < SLOTS; i++) {
			w->slots[i] = alloc(w->steps[i].size);
			if (!w->slots[i])
				w->fail = 1;
		}
	}
	if (!w->fail && loop(w, pairs / 8))
		w->fail = 1;
	pthread_barrier_wait(&start);
	w->t0 = now_ns();
	if (!w->fail && timed(w, pairs))
		w->fail = 1;
	w->t1 = now_ns();
	if (test[0] == 'm') {
		for (i = 0; i < SLOTS; i++)
			release(w->slots[i]);
	}
	return NULL;
}

/* ns per pair of @nthreads threads running @test, or -1. */
static double run_test(struct worker *ws)
{
	unsigned long long t0 = ~0ull, t1 = 0;
	unsigned int i;
	int fail = 0;

	pthread_barrier_init(&start, NULL, nthreads);
	for (i = 0; i < nthreads; i++) {
		ws[i].fail = 0;
		if (i && pthread_create(&ws[i].tid, NULL, work, &ws[i]))
			return -1;
	}
	work(&ws[0]);
	for (i = 0; i < nthreads; i++) {
		if (i)
			pthread_join(ws[i].tid, NULL);
		fail |= ws[i].fail;
		if (ws[i].t0 < t0)
			t0 = ws[i].t0;
		if (ws[i].t1 > t1)
			t1 = ws[i].t1;
	}
	pthread_barrier_destroy(&start);
	return fail ? -1 : (double)(t1 - t0) / ((double)pairs * nthreads);
}

/*
 * The file mapped at @p (/proc/self/maps), in @buf; "?" when none is.  The
 * heap's range is a mapping of its shmem file, "/magalloc (deleted)".
 */
static const char *mapped_file(const void *p, char *buf, size_t len)
{
	unsigned long lo, hi, a = (unsigned long)p;
	char line[512], *path;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(buf, len, "?");
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi)
			continue;
		path = strchr(line, '/');
		if (path) {
			path[strcspn(path, "\n")] = 0;
			snprintf(buf, len, "%s", path);
		}
		break;
	}
	fclose(f);
	return buf;
}

/* Checks that NAME is the allocator it says; prints the origin line. */
static int check_origin(const char *name)
{
	static const char * const files[][2] = {
		{ "glibc", "libc.so" }, { "jemalloc", "libjemalloc" },
		{ "tcmalloc", "libtcmalloc" }, { "mimalloc", "libmimalloc" },
		{ "preload", "libmagalloc-preload" },
	};
	bool heap_want = heap || !strcmp(name, "preload"), heap_got;
	void *sym = heap ? (void *)mag_malloc : dlsym(RTLD_DEFAULT, "malloc");
	void *p = alloc(64);
	char file[256], where[256];
	const char *want = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++)
		if (!strcmp(name, files[i][0]))
			want = files[i][1];
	mapped_file(sym, file, sizeof(file));
	heap_got = p && strstr(mapped_file(p, where, sizeof(where)), "/magalloc (deleted)");
	release(p);
	if ((want && !strstr(file, want)) || (!want && !heap) || heap_got != heap_want) {
		printf("magbench: peerorigin %s origin-mismatch %s heap=%s\n", name, file,
		       heap_got ? "yes" : "no");
		return -1;
	}
	printf("magbench: peerorigin %s %s heap=%s\n", name, file, heap_got ? "yes" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	static const char * const tests[] = { "64", "mix" };
	static const unsigned int thread_counts[] = { 1, MAX_THREADS };
	static struct worker ws[MAX_THREADS];
	const char *only_test = NULL, *name;
	unsigned int only_threads = 0, i, j;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:T:")) != -1) {
		switch (opt) {
		case 'n':
			pairs = strtoul(optarg, NULL, 0);
			break;
		case 't':
			only_test = optarg;
			break;
		case 'T':
			only_threads = strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || !pairs || only_threads > MAX_THREADS) {
		fprintf(stderr, "usage: %s [-n PAIRS] [-t 64|mix] [-T 1|4] NAME\n", argv[0]);
		return 2;
	}
	name = argv[optind];
	if (!strcmp(name, "lib")) {
		heap = mag_open();
		if (!heap) {
			printf("magbench: peerorigin lib fail %d\n", errno);
			return 1;
		}
	}
	if (check_origin(name))
		return 1;

	for (i = 0; i < MAX_THREADS; i++) {
		__u64 seed = 0x9e3779b97f4a7c15ull * (i + 1);

		ws[i].id = i;
		ws[i].steps = malloc(STEPS * sizeof(*ws[i].steps));
		if (!ws[i].steps)
			return 1;
		for (j = 0; j < STEPS; j++) {
			/* the first SLOTS sizes fill the slots */
			ws[i].steps[j].slot = xorshift64s(&seed) % SLOTS;
			ws[i].steps[j].size = draw_size(xorshift64s(&seed));
		}
	}
	for (i = 0; i < 2; i++) {
		test = tests[i];
		if (only_test && strcmp(only_test, test))
			continue;
		for (j = 0; j < 2; j++) {
			double ns;

			nthreads = thread_counts[j];
			if (only_threads && only_threads != nthreads)
				continue;
			struct mag_lib_stats a = { 0 }, b = { 0 };

			if (heap)
				mag_lib_stats(heap, &a);
			ns = run_test(ws);
			if (ns < 0)
				printf("magbench: peer %s %sx%u fail\n", name, test, nthreads);
			else
				printf("magbench: peer %s %sx%u %.1f\n", name, test, nthreads, ns);
			if (heap) {
				mag_lib_stats(heap, &b);
				printf("magbench: peerstat %s %sx%u mallocs=%llu", name, test,
				       nthreads, b.mallocs - a.mallocs);
				printf(" refills=%llu drains=%llu large=%llu\n",
				       b.refills - a.refills, b.drains - a.drains,
				       b.large_allocs - a.large_allocs);
			}
			fflush(stdout);
		}
	}
	for (i = 0; i < MAX_THREADS; i++)
		free(ws[i].steps);
	mag_close(heap);
	return 0;
}
