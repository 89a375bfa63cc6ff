// SPDX-License-Identifier: GPL-2.0
/*
 * libmagalloc-preload.so: malloc() and friends from a /dev/magalloc heap,
 * for programs that know nothing of magalloc:
 *
 *	LD_PRELOAD=/usr/lib/x86_64-linux-gnu/magalloc/libmagalloc-preload.so program
 *
 * It is a plugin, not a library to link with: no SONAME, installed in a
 * directory of its own (as Debian wants such objects).
 *
 * The heap is opened by the first allocation.  glibc's allocator (its
 * exported __libc_malloc() and friends, which never come back here) serves
 * what the heap cannot: allocations before the heap is open or while it
 * is being opened, every one when it cannot be opened (no /dev/magalloc,
 * MAGALLOC_PRELOAD=0), and those the heap refuses (beyond max_alloc, the
 * cap, a full range).  free(), realloc() and malloc_usable_size() tell the
 * two apart by address: the heap is one range.
 *
 * Threads: libmagalloc's per-thread magazines; a thread-local flag sends
 * any allocation made while this thread is inside the library (glibc's
 * pthread_atfork() and pthread_setspecific() may allocate) to glibc.
 *
 * fork(): the child must get a copy of its parent's memory, not share it:
 * a libmagalloc heap is shared by design, and a child writing to what it
 * inherited would write into its parent's objects.  Before fork() the
 * heap's live pages are copied into a memfd (preload.h); the child maps
 * that copy, private, over the range and opens a heap of its own at its
 * first allocation.  What it inherited stays usable at the same addresses;
 * free() of it does nothing (the child's copy goes with the child).  If
 * the copy cannot be made (no memory for it), the child shares the heap,
 * as libmagalloc's own fork() rule has it, and the stats line says so.
 * vfork() and posix_spawn() run no fork handlers and copy nothing: their
 * child shares the parent's memory anyway.
 *
 * MAGALLOC_PRELOAD_STATS=1 prints one line of counts on stderr at exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "magalloc.h"
#include "preload.h"

#define EXPORT		__attribute__((visibility("default")))
#define TLS_MODEL	__attribute__((tls_model("initial-exec")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define INC(c)		__atomic_fetch_add(&(c), 1, __ATOMIC_RELAXED)

enum { ST_INIT, ST_OPENING, ST_OPEN, ST_OFF };

static int state;
static struct mag_heap *heap;
/* in the library now: allocations go to glibc */
static __thread bool in_lib TLS_MODEL;
static struct mag_snapshot snap = { .fd = -1 };
static bool print_stats;
static bool atfork_done;
static size_t page_size = 4096;
static size_t (*libc_usable_size)(void *p);

/**
 * struct inherited - a parent's heap, now the child's private copy
 * @h: the detached heap: for mag_usable_size() only
 * @next: an older one (a grandchild has two)
 */
struct inherited {
	struct mag_heap *h;
	struct inherited *next;
};

static struct inherited *inherited;

/* Counts of what glibc served, for the stats line. */
static struct {
	unsigned long long mallocs, frees, refused, forks, shared_forks;
} sys;

/* ---- the heap ---- */

static void fork_prepare(void)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != ST_OPEN)
		return;
	in_lib = true;
	mag_snapshot(heap, &snap);
	in_lib = false;
}

static void fork_parent(void)
{
	INC(sys.forks);
	mag_snapshot_drop(&snap);
}

static void fork_child(void)
{
	struct inherited *in;
	int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	/* the child's counts are its own */
	memset(&sys, 0, sizeof(sys));
	if (st == ST_OPENING) {
		/* the opening thread is not in the child: try again */
		__atomic_store_n(&state, ST_INIT, __ATOMIC_RELEASE);
		return;
	}
	if (st != ST_OPEN)
		return;
	in = __libc_malloc(sizeof(*in));
	if (!in || mag_adopt_snapshot(heap, &snap)) {
		/* no copy: the child shares the parent's heap */
		__libc_free(in);
		mag_snapshot_drop(&snap);
		INC(sys.shared_forks);
		return;
	}
	in->h = heap;
	in->next = inherited;
	inherited = in;
	heap = NULL;
	__atomic_store_n(&state, ST_INIT, __ATOMIC_RELEASE);
}

static struct mag_heap *open_heap(void)
{
	const char *env = getenv("MAGALLOC_PRELOAD");
	int expect = ST_INIT;
	struct mag_heap *h;
	long ps;

	if (!__atomic_compare_exchange_n(&state, &expect, ST_OPENING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expect == ST_OPEN ? heap : NULL;
	if (env && !strcmp(env, "0")) {
		__atomic_store_n(&state, ST_OFF, __ATOMIC_RELEASE);
		return NULL;
	}
	in_lib = true;
	ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		page_size = ps;
	h = mag_open();
	/*
	 * After the library's, so that the child's handler runs after its
	 * own; once: a fork() child that opens a heap of its own inherited
	 * the handlers.
	 */
	if (h && !atfork_done) {
		if (pthread_atfork(fork_prepare, fork_parent, fork_child)) {
			mag_close(h);
			h = NULL;
		} else {
			atfork_done = true;
		}
	}
	in_lib = false;
	if (!h) {
		__atomic_store_n(&state, ST_OFF, __ATOMIC_RELEASE);
		return NULL;
	}
	heap = h;
	__atomic_store_n(&state, ST_OPEN, __ATOMIC_RELEASE);
	return h;
}

/* The heap for an allocation, or NULL: glibc's turn. */
static inline struct mag_heap *alloc_heap(void)
{
	int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (unlikely(in_lib))
		return NULL;
	if (likely(st == ST_OPEN))
		return heap;
	return st == ST_INIT ? open_heap() : NULL;
}

/* The open heap if @p is one of its objects. */
static inline struct mag_heap *owner(const void *p)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != ST_OPEN || !p)
		return NULL;
	return mag_offset(heap, p) != MAG_NO_OFFSET ? heap : NULL;
}

/* The inherited copy holding @p, if any. */
static struct mag_heap *inherited_owner(const void *p)
{
	struct inherited *in;

	for (in = inherited; in && p; in = in->next)
		if (mag_offset(in->h, p) != MAG_NO_OFFSET)
			return in->h;
	return NULL;
}

static void *heap_malloc(size_t size)
{
	struct mag_heap *h = alloc_heap();
	void *p;

	if (likely(h)) {
		in_lib = true;
		p = mag_malloc(h, size);
		in_lib = false;
		if (likely(p))
			return p;
		INC(sys.refused);
	}
	INC(sys.mallocs);
	return __libc_malloc(size);
}

static void heap_free(struct mag_heap *h, void *p)
{
	in_lib = true;
	mag_free(h, p);
	in_lib = false;
}

/* @align: a power of two */
static void *heap_memalign(size_t align, size_t size)
{
	struct mag_heap *h = alloc_heap();
	void *p;

	if (likely(h)) {
		in_lib = true;
		p = mag_aligned_alloc(h, align, size);
		in_lib = false;
		if (likely(p))
			return p;
		INC(sys.refused);
	}
	INC(sys.mallocs);
	return __libc_memalign(align, size);
}

/* ---- the interface ---- */

EXPORT void *malloc(size_t size)
{
	return heap_malloc(size);
}

EXPORT void free(void *p)
{
	struct mag_heap *h = owner(p);

	if (likely(h)) {
		heap_free(h, p);
		return;
	}
	if (!p || inherited_owner(p))
		return;
	INC(sys.frees);
	__libc_free(p);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	struct mag_heap *h = alloc_heap();
	void *p;

	if (likely(h)) {
		in_lib = true;
		p = mag_calloc(h, nmemb, size);
		in_lib = false;
		if (likely(p))
			return p;
		INC(sys.refused);
	}
	INC(sys.mallocs);
	return __libc_calloc(nmemb, size);
}

EXPORT size_t malloc_usable_size(void *p)
{
	struct mag_heap *h = owner(p);
	size_t (*fn)(void *p);

	if (!p)
		return 0;
	if (!h)
		h = inherited_owner(p);
	if (h)
		return mag_usable_size(h, p);
	fn = __atomic_load_n(&libc_usable_size, __ATOMIC_RELAXED);
	if (!fn) {
		fn = dlsym(RTLD_NEXT, "malloc_usable_size");
		__atomic_store_n(&libc_usable_size, fn, __ATOMIC_RELAXED);
	}
	return fn ? fn(p) : 0;
}

EXPORT void *realloc(void *p, size_t size)
{
	struct mag_heap *h = owner(p);
	size_t old;
	void *q;

	if (!p)
		return heap_malloc(size);
	if (!h) {
		h = inherited_owner(p);
		if (!h)
			return __libc_realloc(p, size);
		/* the child's copy of a parent's object: moved, never freed */
		if (!size)
			return NULL;
		old = mag_usable_size(h, p);
		q = heap_malloc(size);
		if (q)
			memcpy(q, p, old < size ? old : size);
		return q;
	}
	if (!size) {
		heap_free(h, p);
		return NULL;
	}
	in_lib = true;
	q = mag_realloc(h, p, size);
	in_lib = false;
	if (likely(q))
		return q;
	if (errno != ENOMEM)
		return NULL;	/* not an object: left alone */
	/* the heap has no room: glibc takes the object */
	INC(sys.refused);
	INC(sys.mallocs);
	q = __libc_malloc(size);
	if (!q)
		return NULL;
	old = mag_usable_size(h, p);
	memcpy(q, p, old < size ? old : size);
	heap_free(h, p);
	return q;
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, bytes);
}

/* POSIX's errors are positive, and errno is not theirs */
EXPORT int posix_memalign(void **pp, size_t align, size_t size)
{
	int err = errno, ret = EINVAL;
	void *p;

	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return ret;
	p = heap_memalign(align, size);
	if (!p) {
		ret = errno;
		errno = err;
		return ret;
	}
	*pp = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return heap_memalign(align, size);
}

/* glibc's memalign(): an alignment that is not a power of two is rounded up */
EXPORT void *memalign(size_t align, size_t size)
{
	size_t a = 1;

	if (align > ((size_t)1 << 63)) {
		errno = EINVAL;
		return NULL;
	}
	while (a < align)
		a <<= 1;
	return heap_memalign(a, size);
}

EXPORT void *valloc(size_t size)
{
	return heap_memalign(page_size, size);
}

EXPORT void *pvalloc(size_t size)
{
	size_t bytes;

	if (__builtin_add_overflow(size, page_size - 1, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return heap_memalign(page_size, bytes & ~(page_size - 1));
}

/* ---- stats ---- */

__attribute__((constructor)) static void preload_init(void)
{
	const char *env = getenv("MAGALLOC_PRELOAD_STATS");
	long ps = sysconf(_SC_PAGESIZE);

	print_stats = env && *env && strcmp(env, "0");
	if (ps > 0)
		page_size = ps;
}

/*
 * One line on stderr: heap_mallocs counts every object the heap gave
 * (malloc, calloc, realloc that moved, the aligned ones), system_mallocs
 * every allocation glibc served, refused those the heap said no to (and
 * glibc then served), forks the fork()s of this process; a fork() child
 * counts from zero.
 */
__attribute__((destructor)) static void preload_exit(void)
{
	struct mag_lib_stats ls = { 0 };
	char line[512];
	int n, st;

	if (!print_stats)
		return;
	st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (st == ST_OPEN)
		mag_lib_stats(heap, &ls);
	n = snprintf(line, sizeof(line), "magalloc-preload: pid %d heap %s",
		     (int)getpid(), st == ST_OPEN ? "open" : st == ST_OFF ? "off" : "unopened");
	n += snprintf(line + n, sizeof(line) - n, " heap_mallocs %llu heap_frees %llu",
		      ls.mallocs, ls.frees);
	n += snprintf(line + n, sizeof(line) - n, " system_mallocs %llu system_frees %llu",
		      sys.mallocs, sys.frees);
	n += snprintf(line + n, sizeof(line) - n, " refused %llu bad_frees %llu",
		      sys.refused, ls.bad_frees);
	n += snprintf(line + n, sizeof(line) - n, " forks %llu shared_forks %llu\n",
		      sys.forks, sys.shared_forks);
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}
