// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc_shm: allocating in memory shared between processes, for
 * `make bench`.
 *
 *	magalloc_shm [-n PAIRS] [-P PROCS] boost|mag
 *
 * PROCS processes (4) allocate and free in one shared heap:
 *
 *   boost  a Boost.Interprocess managed_shared_memory segment of 64 MiB
 *          (shm_open(), so /dev/shm), made before fork(): its default
 *          allocator, rbtree_best_fit, under the segment's interprocess
 *          mutex (a process-shared pthread mutex): allocate() and
 *          deallocate();
 *   mag    one /dev/magalloc heap opened with mag_open() before fork():
 *          libmagalloc's mag_malloc() and mag_free(), each process with
 *          its own magazines.
 *
 * Each process does what magalloc_peers' mix test does on one thread
 * (bench/peers.c: 1024 live objects, each step frees a random one and
 * allocates one of a size drawn from bench/peers-sizes.h, the same
 * fixed-seed steps, seeded by the process's number), PAIRS / 8 steps
 * untimed, then PAIRS timed, all processes released together.  Prints
 * "magbench: shm boost|mag PROCS <operations per second>", an operation
 * being one allocation or one free, from the first process's start to the
 * last one's end (CLOCK_MONOTONIC), and "magbench: shmns boost|mag PROCS
 * <ns per pair>" (under qemu -icount, instructions).
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/managed_shared_memory.hpp>

#include "magalloc.h"
#include "peers-sizes.h"
#include "ubench.h"

namespace bip = boost::interprocess;

#define SLOTS		1024
#define STEPS		65536
#define MAX_PROCS	16
#define SEGMENT		"magalloc_shm_bench"

struct step {
	unsigned int slot;
	unsigned int size;
};

/* the processes' meeting point: an anonymous shared page */
struct board {
	int ready;
	int go;
	int fail;
	unsigned long long t0[MAX_PROCS], t1[MAX_PROCS];
};

static bip::managed_shared_memory *seg;
static struct mag_heap *heap;

static inline void *alloc(size_t n)
{
	return heap ? mag_malloc(heap, n) : seg->allocate(n, std::nothrow);
}

static inline void release(void *p)
{
	if (heap)
		mag_free(heap, p);
	else
		seg->deallocate(p);
}

static uint64_t xorshift64s(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static unsigned int draw_size(uint64_t r)
{
	uint64_t want = r % PEER_SIZES_TOTAL, sum = 0;
	size_t i;

	for (i = 0; i < sizeof(peer_sizes) / sizeof(peer_sizes[0]); i++) {
		sum += peer_sizes[i].count;
		if (want < sum)
			return peer_sizes[i].size;
	}
	return peer_sizes[0].size;
}

static int loop(const struct step *steps, void **slots, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct step *s = &steps[i % STEPS];
		char *p;

		release(slots[s->slot]);
		p = static_cast<char *>(alloc(s->size));
		slots[s->slot] = p;
		if (!p)
			return -1;
		*p = (char)i;
	}
	return 0;
}

static int child(struct board *b, unsigned int id, unsigned int nprocs, unsigned int pairs)
{
	static struct step steps[STEPS];
	static void *slots[SLOTS];
	uint64_t seed = 0x9e3779b97f4a7c15ull * (id + 1);
	int rc = 0;

	for (unsigned int j = 0; j < STEPS; j++) {
		steps[j].slot = xorshift64s(&seed) % SLOTS;
		steps[j].size = draw_size(xorshift64s(&seed));
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		if (!(slots[i] = alloc(steps[i].size)))
			rc = -1;
	if (!rc)
		rc = loop(steps, slots, pairs / 8);
	__atomic_add_fetch(&b->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&b->go, __ATOMIC_ACQUIRE))
		sched_yield();
	b->t0[id] = now_ns();
	if (!rc)
		rc = loop(steps, slots, pairs);
	b->t1[id] = now_ns();
	for (unsigned int i = 0; i < SLOTS; i++)
		release(slots[i]);
	if (rc)
		__atomic_store_n(&b->fail, 1, __ATOMIC_SEQ_CST);
	(void)nprocs;
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int pairs = 65536, nprocs = 4, i;
	unsigned long long t0 = ~0ull, t1 = 0;
	struct board *b;
	const char *name;
	pid_t pids[MAX_PROCS];
	int opt, fail = 0;

	while ((opt = getopt(argc, argv, "n:P:")) != -1) {
		switch (opt) {
		case 'n':
			pairs = strtoul(optarg, NULL, 0);
			break;
		case 'P':
			nprocs = strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || !pairs || !nprocs || nprocs > MAX_PROCS) {
		fprintf(stderr, "usage: %s [-n PAIRS] [-P PROCS] boost|mag\n", argv[0]);
		return 2;
	}
	name = argv[optind];
	b = static_cast<struct board *>(mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
					     MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	if (b == MAP_FAILED)
		return 1;
	memset(b, 0, sizeof(*b));
	try {
		if (!strcmp(name, "boost")) {
			bip::shared_memory_object::remove(SEGMENT);
			seg = new bip::managed_shared_memory(bip::create_only, SEGMENT, 64 << 20);
		} else if (!strcmp(name, "mag")) {
			heap = mag_open();
			if (!heap)
				throw std::runtime_error(strerror(errno));
		} else {
			fprintf(stderr, "%s: boost or mag\n", argv[0]);
			return 2;
		}
	} catch (const std::exception &e) {
		printf("magbench: shm %s %u fail (%s)\n", name, nprocs, e.what());
		return 1;
	}
	fflush(stdout);
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child(b, i, nprocs, pairs));
		if (pids[i] < 0) {
			fail = 1;
			nprocs = i;
			break;
		}
	}
	while (!fail && __atomic_load_n(&b->ready, __ATOMIC_ACQUIRE) < (int)nprocs)
		sched_yield();
	__atomic_store_n(&b->go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nprocs; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			fail = 1;
		if (b->t0[i] < t0)
			t0 = b->t0[i];
		if (b->t1[i] > t1)
			t1 = b->t1[i];
	}
	if (fail || b->fail || t1 <= t0) {
		printf("magbench: shm %s %u fail\n", name, nprocs);
	} else {
		double ns = (double)(t1 - t0);

		printf("magbench: shm %s %u %.0f\n", name, nprocs,
		       2.0 * pairs * nprocs / ns * 1e9);
		printf("magbench: shmns %s %u %.1f\n", name, nprocs, ns / ((double)pairs * nprocs));
	}
	if (seg) {
		delete seg;
		bip::shared_memory_object::remove(SEGMENT);
	}
	mag_close(heap);
	return fail;
}
