/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the /dev/magalloc kselftests: open and map a heap,
 * thin ioctl wrappers returning 0 or -errno, a SIGBUS probe, and the
 * debugfs heaps file.  Every test binary is one .c file that includes this
 * once.
 */
#ifndef MAGALLOC_TEST_H
#define MAGALLOC_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/magalloc.h>

#define DEV_PATH	"/dev/magalloc"
/*
 * A heap's mapping in /proc/<pid>/maps: a mapping of its shmem file
 * (mod/uheap.c), not of DEV_PATH.
 */
#define HEAP_MAPS_NAME	" /magalloc (deleted)"
#define HEAPS_PATH	"/sys/kernel/debug/magalloc/heaps"
#define MAX_CLASSES	256

/* An open heap: the file, its QUERY answer and class table, the mapping. */
struct heap {
	int fd;
	char *base;
	struct magalloc_query q;
	struct magalloc_class cls[MAX_CLASSES];
};

static inline int query(int fd, struct magalloc_query *q, struct magalloc_class *cls,
			unsigned int len)
{
	memset(q, 0, sizeof(*q));
	q->classes_len = len;
	q->classes = (unsigned long)cls;
	return ioctl(fd, MAGALLOC_IOC_QUERY, q) ? -errno : 0;
}

static inline void *mg_map(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

/* 0 or -errno; on success the whole range is mapped at h->base. */
static inline int mg_open(struct heap *h)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->base = MAP_FAILED;
	h->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (h->fd < 0)
		return -errno;
	ret = query(h->fd, &h->q, h->cls, MAX_CLASSES);
	if (ret)
		return ret;
	if (h->q.nr_classes > MAX_CLASSES)
		return -E2BIG;
	h->base = mg_map(h->fd, h->q.heap_size);
	return h->base == MAP_FAILED ? -errno : 0;
}

static inline void mg_close(struct heap *h)
{
	if (h->base && h->base != MAP_FAILED)
		munmap(h->base, h->q.heap_size);
	h->base = MAP_FAILED;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* Index in h->cls of the class that serves @size bytes. */
static inline unsigned int class_of(const struct heap *h, __u64 size)
{
	unsigned int i = 0;

	while (i + 1 < h->q.nr_classes && h->cls[i].size < size)
		i++;
	return i;
}

/* 0 or -errno; *off is ~0 on failure */
static inline int mg_alloc(int fd, __u64 size, __u64 *off)
{
	struct magalloc_alloc a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.size = size;
	ret = ioctl(fd, MAGALLOC_IOC_ALLOC, &a) ? -errno : 0;
	*off = ret ? ~0ull : a.offset;
	return ret;
}

static inline int mg_free(int fd, __u64 off)
{
	struct magalloc_free f;

	memset(&f, 0, sizeof(f));
	f.offset = off;
	return ioctl(fd, MAGALLOC_IOC_FREE, &f) ? -errno : 0;
}

/* MAGALLOC_IOC_ALLOC_BULK or _FREE_BULK; *done is set to ~0 before. */
static inline int mg_bulk(int fd, unsigned long cmd, __u64 size, __u64 *offs,
			  __u32 count, __u32 *done)
{
	struct magalloc_bulk b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.size = size;
	b.offsets = (unsigned long)offs;
	b.count = count;
	b.done = ~0u;
	ret = ioctl(fd, cmd, &b) ? -errno : 0;
	if (done)
		*done = b.done;
	return ret;
}

static inline int mg_stats(int fd, struct magalloc_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, MAGALLOC_IOC_STATS, st) ? -errno : 0;
}

static inline int mg_set_cap(int fd, __u64 cap)
{
	struct magalloc_cap c;

	memset(&c, 0, sizeof(c));
	c.cap = cap;
	return ioctl(fd, MAGALLOC_IOC_SET_CAP, &c) ? -errno : 0;
}

/*
 * A byte pattern that depends on where it is written, so that overlapping
 * objects, lost writes and bytes of another object show.
 */
static inline unsigned char pat(__u64 off, unsigned int seed)
{
	__u64 x = (off + 1) * 0x9e3779b97f4a7c15ull + seed;

	return (x >> 56) ^ (x >> 29);
}

static inline void fill(char *base, __u64 off, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		base[off + i] = pat(off + i, seed);
}

/* Index of the first wrong byte, or -1. */
static inline long check(const char *base, __u64 off, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)base[off + i] != pat(off + i, seed))
			return i;
	return -1;
}

/* Index of the first byte that is not zero, or -1. */
static inline long nonzero(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return i;
	return -1;
}

/* ---- SIGBUS probe ---- */

sigjmp_buf probe_env;
void *probe_addr;

static inline void probe_handler(int sig, siginfo_t *si, void *uc)
{
	probe_addr = si->si_addr;
	siglongjmp(probe_env, 1);
}

/*
 * Read (or write) one byte at @p.  Returns 0 if that worked, SIGBUS if it
 * raised SIGBUS; probe_addr is then the fault address.
 */
static inline int probe(void *p, bool write)
{
	struct sigaction sa, old;
	int ret = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	probe_addr = NULL;
	if (!sigsetjmp(probe_env, 1)) {
		if (write)
			__atomic_store_n((char *)p, 0x5a, __ATOMIC_RELAXED);
		else
			(void)__atomic_load_n((char *)p, __ATOMIC_RELAXED);
	} else {
		ret = SIGBUS;
	}
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/* ---- debugfs ---- */

/* One heap's line of the debugfs heaps file (mod/uheap.c, mag_uheaps_show()) */
#define HEAP_LINE_FMT \
	"heap %*u cap %llu charged %llu resident %llu live_bytes %llu allocs %llu frees %llu"

struct heap_line {
	unsigned long long cap, charged, resident, live_bytes, allocs, frees;
};

/*
 * Find the heaps whose cap is @cap in the debugfs heaps file (tests give
 * their heap a cap nothing else has, to find it).  Returns how many there
 * are and fills @hl from the last, or -1 if the file cannot be read.
 */
static inline int heaps_with_cap(unsigned long long cap, struct heap_line *hl)
{
	FILE *f = fopen(HEAPS_PATH, "r");
	struct heap_line l;
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		memset(&l, 0, sizeof(l));
		if (sscanf(line, HEAP_LINE_FMT, &l.cap, &l.charged, &l.resident,
			   &l.live_bytes, &l.allocs, &l.frees) != 6 || l.cap != cap)
			continue;
		n++;
		if (hl)
			*hl = l;
	}
	fclose(f);
	return n;
}

/*
 * The number after " @key " on the debugfs heaps line of the heap whose
 * cap is @cap (e.g. "metadata", "grown", "range"), or -1.
 */
static inline long long heap_field(unsigned long long cap, const char *key)
{
	FILE *f = fopen(HEAPS_PATH, "r");
	unsigned long long c;
	long long v = -1;
	char line[512], k[32], *p;

	if (!f)
		return -1;
	snprintf(k, sizeof(k), " %s ", key);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, " cap ");
		if (strncmp(line, "heap ", 5) || !p || sscanf(p, " cap %llu", &c) != 1 ||
		    c != cap)
			continue;
		p = strstr(line, k);
		if (p)
			v = atoll(p + strlen(k));
	}
	fclose(f);
	return v;
}

/* Lines starting with "heap " in the debugfs heaps file, or -1. */
static inline int heaps_open(void)
{
	FILE *f = fopen(HEAPS_PATH, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "heap ", 5);
	fclose(f);
	return n;
}

/* ---- sysfs ---- */

#define SYS_DIR		"/sys/kernel/magalloc"
/* debugfs "account": "<size> <count>" allocates, close() frees (memcg.c) */
#define ACCT_FILE	"/sys/kernel/debug/magalloc/account"
/*
 * A pool's "objects" counts objects parked in per-CPU magazines too, and
 * the trim may drain them meanwhile: at most cpu_cache_kib (512 KiB) per
 * CPU.
 */
#define PARKED(cpus)	((cpus) * 512 + 64)

/* The whole line of SYS_DIR/@dir/@file, or "" */
static inline void attr_line(const char *dir, const char *file, char *buf, size_t len)
{
	char path[512];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/%s/%s", SYS_DIR, dir, file);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
}

/* The first number in SYS_DIR/@dir/@file, or -1. */
static inline long long attr(const char *dir, const char *file)
{
	char buf[256];

	attr_line(dir, file, buf, sizeof(buf));
	return buf[0] ? atoll(buf) : -1;
}

/* Sets module parameter @name to @val; returns its old value, or -1. */
static inline long long param_swap(const char *name, long long val)
{
	char path[256], buf[32];
	long long old = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/magalloc/parameters/%s", name);
	f = fopen(path, "r+e");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		old = atoll(buf);
	rewind(f);
	fprintf(f, "%lld\n", val);
	if (fclose(f))
		old = -1;
	return old;
}

/* A cap below the default that no other heap of the run has. */
static inline __u64 tag_cap(unsigned int k)
{
	return (32ull << 20) + ((__u64)(getpid() & 0xffff) << 8) + k * 8;
}

#endif /* MAGALLOC_TEST_H */
