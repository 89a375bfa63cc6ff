// SPDX-License-Identifier: GPL-2.0
/*
 * magdemo: a small program that allocates through libmagalloc, for the
 * `make run` demo.  Threads make random mallocs and frees with checked
 * contents and leave a working set live; magdemo prints the library's
 * magazine hit rate and the kernel's view of the heap, runs a command
 * (such as magstat) while the objects are live, then frees everything
 * from the main thread and shows that the heap is empty.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magalloc.h>

#include "magalloc.h"

static const char usage[] =
"usage: magdemo [-t THREADS] [-n OPS] [-k KEEP] [-x COMMAND] [-q]\n"
"\n"
"Allocates through libmagalloc from THREADS threads (default 4), OPS random\n"
"mallocs and frees each (default 40000): sizes 8 B to 256 B mostly, up to\n"
"64 KiB sometimes (1% above the largest size class); each object carries a\n"
"pattern checked before it is freed.  Every thread leaves KEEP objects\n"
"(default 500) live and exits.  magdemo then prints the library's counters\n"
"(the magazine hit rate: calls served without a system call) and the\n"
"kernel's counters of the heap, runs COMMAND with /bin/sh while the objects\n"
"are live (e.g. -x 'magstat -u'), frees everything from the main thread and\n"
"closes the heap.  Exit status 1 if any object's contents were wrong.\n";

struct worker {
	struct mag_heap *h;
	pthread_t thread;
	unsigned int id, ops, keep;
	char **obj;
	size_t *len;
	unsigned long bad;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t random_size(uint64_t *rng)
{
	uint64_t r = xorshift(rng);
	unsigned int p = r % 100;

	r >>= 8;
	if (p < 70)
		return 8 + r % 249;
	if (p < 95)
		return 257 + r % (4096 - 256);
	if (p < 99)
		return 4097 + r % (32768 - 4096);
	return 32769 + r % 32768;
}

static unsigned char pattern(const void *p, size_t i, unsigned int seed)
{
	uint64_t x = ((uintptr_t)p + i) * 0x9e3779b97f4a7c15ull + seed;

	return x >> 56;
}

/* The first and last 32 bytes and every 97th byte between. */
static size_t step(size_t i, size_t len)
{
	return i < 32 || len - i <= 32 ? 1 : 97;
}

static void stamp(char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += step(i, len))
		p[i] = pattern(p, i, seed);
}

static bool stamped(const char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += step(i, len))
		if ((unsigned char)p[i] != pattern(p, i, seed))
			return false;
	return true;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x2545f4914f6cdd1dull + w->id;
	unsigned int i, k;

	for (i = 0; i < w->ops; i++) {
		k = xorshift(&rng) % w->keep;
		if (w->obj[k]) {
			w->bad += !stamped(w->obj[k], w->len[k], k);
			mag_free(w->h, w->obj[k]);
			w->obj[k] = NULL;
			continue;
		}
		w->len[k] = random_size(&rng);
		w->obj[k] = mag_malloc(w->h, w->len[k]);
		if (w->obj[k])
			stamp(w->obj[k], w->len[k], k);
	}
	/* leave a full working set live */
	for (k = 0; k < w->keep; k++) {
		if (w->obj[k])
			continue;
		w->len[k] = random_size(&rng);
		w->obj[k] = mag_malloc(w->h, w->len[k]);
		if (w->obj[k])
			stamp(w->obj[k], w->len[k], k);
	}
	return NULL;
}

static void mib(char *buf, size_t len, unsigned long long bytes)
{
	snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
}

static int kernel_stats(struct mag_heap *h, struct magalloc_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(mag_fd(h), MAGALLOC_IOC_STATS, st);
}

static void print_kernel(struct mag_heap *h, const char *when)
{
	char live[32], charged[32], resident[32];
	struct magalloc_stats st;

	if (kernel_stats(h, &st)) {
		perror("magdemo: MAGALLOC_IOC_STATS");
		return;
	}
	mib(live, sizeof(live), st.live_bytes);
	mib(charged, sizeof(charged), st.charged);
	mib(resident, sizeof(resident), st.resident);
	printf("magdemo: kernel, %s: %llu live objects (%s), %s in spans, %s resident\n",
	       when, st.live_objects, live, charged, resident);
}

static void run(const char *cmd)
{
	int status;
	pid_t pid;

	printf("magdemo: running '%s' while the objects are live\n", cmd);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("magdemo: fork");
		return;
	}
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) || WEXITSTATUS(status)))
		printf("magdemo: '%s' failed (status %#x)\n", cmd, status);
}

int main(int argc, char **argv)
{
	unsigned int threads = 4, ops = 40000, keep = 500, i, k;
	unsigned long long calls, ioctls, bad = 0, nobj = 0;
	struct mag_lib_stats ls;
	struct worker *w;
	struct mag_heap *h;
	const char *cmd = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:k:x:h")) != -1) {
		switch (opt) {
		case 't':
			threads = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			ops = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keep = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			cmd = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!threads || !keep || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	h = mag_open();
	if (!h) {
		fprintf(stderr, "magdemo: mag_open: %s\n", strerror(errno));
		return 1;
	}
	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	printf("magdemo: %u threads x %u random mallocs/frees through libmagalloc,", threads, ops);
	printf(" %u objects kept by each\n", keep);
	for (i = 0; i < threads; i++) {
		w[i].h = h;
		w[i].id = i;
		w[i].ops = ops;
		w[i].keep = keep;
		w[i].obj = calloc(keep, sizeof(*w[i].obj));
		w[i].len = calloc(keep, sizeof(*w[i].len));
		if (!w[i].obj || !w[i].len ||
		    pthread_create(&w[i].thread, NULL, worker_fn, &w[i])) {
			fprintf(stderr, "magdemo: cannot start thread %u\n", i);
			return 1;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		bad += w[i].bad;
	}

	mag_lib_stats(h, &ls);
	calls = ls.mallocs + ls.frees;
	ioctls = ls.refills + ls.drains + ls.large_allocs + ls.direct_frees;
	printf("magdemo: libmagalloc: %llu mallocs, %llu frees, magazine hit rate %.2f%%\n",
	       ls.mallocs, ls.frees,
	       100.0 * (ls.alloc_hits + ls.free_hits) /
	       (ls.alloc_hits + ls.alloc_misses + ls.free_hits + ls.free_misses));
	printf("magdemo: %llu ioctls for %llu calls:", ioctls, calls);
	printf(" %llu ALLOC_BULK, %llu FREE_BULK, %llu ALLOC, %llu FREE\n",
	       ls.refills, ls.drains, ls.large_allocs, ls.direct_frees);
	print_kernel(h, "threads done");
	if (cmd)
		run(cmd);

	for (i = 0; i < threads; i++) {
		for (k = 0; k < keep; k++) {
			if (!w[i].obj[k])
				continue;
			bad += !stamped(w[i].obj[k], w[i].len[k], k);
			mag_free(h, w[i].obj[k]);
			nobj++;
		}
		free(w[i].obj);
		free(w[i].len);
	}
	mag_thread_flush(h);
	printf("magdemo: %llu objects checked and freed from one thread%s\n", nobj,
	       bad ? "" : ", contents all intact");
	if (bad)
		printf("magdemo: %llu objects had wrong contents\n", bad);
	print_kernel(h, "all freed");
	mag_close(h);
	free(w);
	return bad ? 1 : 0;
}
