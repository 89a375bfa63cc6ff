// SPDX-License-Identifier: GPL-2.0
/*
 * libmagalloc: per-thread magazines over /dev/magalloc heaps.
 *
 * The kernel side of a heap (mod/uheap.c) is Go's mheap and mcentral: a
 * buddy over the heap's pages and per-class spans.  This file is the
 * mcache: every thread keeps, per heap, one magazine (a stack of free
 * objects) per size class.  mag_malloc() pops, mag_free() pushes; an
 * empty magazine is refilled with one MAGALLOC_IOC_ALLOC_BULK of a batch
 * of objects, a full one (two batches) gives its oldest batch back with
 * one MAGALLOC_IOC_FREE_BULK.
 *
 * Finding an object's class at free time: a span holds objects of one
 * class only, and a page belongs to one span at a time, so the class of
 * the page an object starts in is the object's class.  page_info[] maps
 * every page of the range to what the library last learned about it: the
 * class of objects handed out there, or "first page of a large object of
 * N pages", or "inside a large object".  It is written when the kernel
 * hands objects out, always while those objects are live, and read when
 * freeing a live object: between the object's allocation and its free the
 * page belongs to the same span, so every write the freeing thread can see
 * carries the right class (writes for the page's earlier lives happened
 * before the span was freed, and the kernel's lock orders that before the
 * span's new life).  Relaxed atomics are enough.  page_info[] is a shared
 * mapping so that a forked child and its parent, which share the heap,
 * also share what they learn.  The range is a large reservation that the
 * kernel's heap uses from its start as it grows (16 GiB by default), so
 * page_info[] is too: untouched pages of its mapping cost nothing, and
 * the word after its entries, top, says how far the library has seen
 * objects, for what walks page_info[] (mag_snapshot()) to stop there.
 * Pointers that do not look like an object of their page's class go to
 * the kernel one at a time, which refuses anything that is not a live
 * object.
 *
 * Locking: the magazines are the owner thread's alone, no lock.  A global
 * mutex (registry_lock), on slow paths only, protects the list of heaps,
 * each heap's list of thread caches and the counters of exited threads.
 * Counters and magazine fill levels that mag_lib_stats() reads from other
 * threads are written by their owner with relaxed atomic stores.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/magalloc.h>

#include "magalloc.h"
#ifdef MAG_PRELOAD
#include "preload.h"
#endif

#define MAG_DEV		"/dev/magalloc"

/*
 * The library's own bookkeeping (heaps, thread caches, magazines).  Built
 * into libmagalloc-preload.so (MAG_PRELOAD), whose malloc() is served by
 * this library, it comes from glibc's allocator directly: through malloc()
 * it would recurse into the heap it is setting up.
 */
#ifdef MAG_PRELOAD
#define lib_malloc	__libc_malloc
#define lib_calloc	__libc_calloc
#define lib_free	__libc_free
#else
#define lib_malloc	malloc
#define lib_calloc	calloc
#define lib_free	free
#endif

/* Objects per refill or drain: about 128 KiB, 4 to 64 objects. */
#define BATCH_BYTES	(128u << 10)
#define BATCH_MIN	4u
#define BATCH_MAX	64u

/* page_info[] values: 0 unknown, 1..nr_classes a class, or these */
#define PI_LARGE	0x80000000u	/* | pages: first page of a large object */
#define PI_INTERIOR	0x40000000u	/* another page of a large object */
#define PI_MAX_CLASSES	255u

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* A counter of the heap's, for paths without a thread cache. */
#define H_INC(h, f)	__atomic_fetch_add(&(h)->shared.f, 1, __ATOMIC_RELAXED)

/* initial-exec: no __tls_get_addr() call on the fast path of the .so */
#define TLS_MODEL	__attribute__((tls_model("initial-exec")))

/**
 * struct mag_class_info - one size class, as the library uses it
 * @size: object size
 * @batch: objects per refill or drain
 * @span_mask: span bytes - 1 if the span size is a power of two (spans are
 *	then naturally aligned buddy blocks), else 0: no position check
 * @span_end: objects * size: the first byte past a span's objects
 */
struct mag_class_info {
	__u32 size;
	__u32 batch;
	__u32 span_mask;
	__u32 span_end;
};

/**
 * struct mag_magazine - free objects of one class, one thread
 * @count: objects in @objs (stores are relaxed atomics for stats readers)
 * @cap: room in @objs (0 until the first use allocates it)
 * @objs: the objects, most recently freed last
 */
struct mag_magazine {
	unsigned int count;
	unsigned int cap;
	void **objs;
};

/**
 * struct mag_tcache - one thread's magazines for one heap
 * @heap_id: the heap's id while the heap holds this cache; 0 once the heap
 *	was closed (the owner then frees the cache)
 * @heap: the heap; only under registry_lock while @heap_id is not 0
 * @owner: the thread
 * @tnext: next cache of the owner thread
 * @hnext: next cache of the heap (registry_lock)
 * @hprev: previous cache of the heap (registry_lock)
 * @st: the owner's counters
 * @mags: per class, [nr_classes + 1] (entry 0 unused)
 */
struct mag_tcache {
	__u64 heap_id;
	struct mag_heap *heap;
	pthread_t owner;
	struct mag_tcache *tnext;
	struct mag_tcache *hnext;
	struct mag_tcache *hprev;
	struct mag_lib_stats st;
	struct mag_magazine mags[];
};

/**
 * struct mag_heap - an open /dev/magalloc heap
 * @id: unique for the process's lifetime, never 0
 * @fd: the device file
 * @base: the mapping of the whole range
 * @size: bytes of the range
 * @align: alignment of @base: the largest power of two of the classes and
 *	of max_alloc, at least a page
 * @page_shift: log2 of the page size
 * @nr_classes: size classes
 * @max_small: largest size served by a class
 * @max_alloc: largest object the kernel allocates
 * @page_info: per page, what is known of it (see the top of this file)
 * @page_info_bytes: bytes of the @page_info mapping
 * @top: in the @page_info mapping, after its entries: one more than the
 *	highest page page_info[] has a mark for (0: none)
 * @size_class: (size + 7) / 8 -> class, for sizes 0..@max_small
 * @cls: per class, [nr_classes + 1]
 * @tcaches: the thread caches of the heap (registry_lock)
 * @retired: counters of exited threads' caches (registry_lock)
 * @shared: counters of paths without a thread cache (atomic adds)
 * @next: in the list of heaps (registry_lock)
 */
struct mag_heap {
	__u64 id;
	int fd;
	char *base;
	size_t size;
	size_t align;
	unsigned int page_shift;
	unsigned int nr_classes;
	size_t max_small;
	size_t max_alloc;
	__u32 *page_info;
	size_t page_info_bytes;
	__u64 *top;
	unsigned char *size_class;
	struct mag_class_info *cls;
	struct mag_tcache *tcaches;
	struct mag_lib_stats retired;
	struct mag_lib_stats shared;
	struct mag_heap *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mag_heap *heaps;
static __u64 next_heap_id = 1;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_init_err;
static pthread_key_t tc_key;

/* The cache last used by this thread, and all of this thread's caches. */
static __thread struct mag_tcache *tls_last TLS_MODEL;
static __thread struct mag_tcache *tls_list TLS_MODEL;

/* A counter of a thread cache: only the owner writes it. */
static inline void tc_inc(unsigned long long *c)
{
	WRITE_ONCE(*c, *c + 1);
}

#define NR_STATS	(sizeof(struct mag_lib_stats) / sizeof(unsigned long long))

static void stats_add(struct mag_lib_stats *dst, struct mag_lib_stats *src)
{
	unsigned long long *d = (unsigned long long *)dst;
	unsigned long long *s = (unsigned long long *)src;
	size_t i;

	for (i = 0; i < NR_STATS; i++)
		d[i] += READ_ONCE(s[i]);
}

/* Where top is in a page_info[] block: after the entries, aligned. */
static size_t top_offset(const struct mag_heap *h)
{
	return ((h->size >> h->page_shift) * sizeof(__u32) + 7) & ~(size_t)7;
}

static void note_page(struct mag_heap *h, __u64 off, __u32 info)
{
	__u64 pg = off >> h->page_shift, top = READ_ONCE(*h->top);
	__u32 *pi = &h->page_info[pg];

	if (READ_ONCE(*pi) != info)
		WRITE_ONCE(*pi, info);
	/* rarely: only when the heap has grown past what was seen */
	while (top <= pg &&
	       !__atomic_compare_exchange_n(h->top, &top, pg + 1, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* Could @off be an object of class @cls?  Only a cheap sanity check. */
static bool in_class(struct mag_heap *h, __u64 off, unsigned int cls)
{
	const struct mag_class_info *ci = &h->cls[cls];
	__u32 rel;

	if (off & 7)
		return false;
	if (!ci->span_mask)
		return true;
	rel = off & ci->span_mask;
	return rel < ci->span_end && rel % ci->size == 0;
}

/* ---- giving objects back ---- */

static void free_one(struct mag_heap *h, __u64 off)
{
	struct magalloc_free f;

	memset(&f, 0, sizeof(f));
	f.offset = off;
	H_INC(h, direct_frees);
	if (ioctl(h->fd, MAGALLOC_IOC_FREE, &f))
		H_INC(h, bad_frees);
}

/*
 * Free @n offsets with FREE_BULK.  A refused offset (the kernel stops at
 * the first) is counted and skipped; on any other failure the rest go one
 * at a time.
 */
static void free_offsets(struct mag_heap *h, struct mag_tcache *tc, __u64 *offs,
			 unsigned int n)
{
	struct magalloc_bulk b;
	unsigned int i;

	while (n) {
		memset(&b, 0, sizeof(b));
		b.offsets = (uintptr_t)offs;
		b.count = n;
		b.done = ~0u;
		tc_inc(&tc->st.drains);
		if (!ioctl(h->fd, MAGALLOC_IOC_FREE_BULK, &b))
			return;
		if (errno == EINVAL && b.done < n) {
			tc_inc(&tc->st.bad_frees);
			offs += b.done + 1;
			n -= b.done + 1;
			continue;
		}
		for (i = 0; i < n; i++)
			free_one(h, offs[i]);
		return;
	}
}

static void free_objs(struct mag_heap *h, struct mag_tcache *tc, void **objs,
		      unsigned int n)
{
	__u64 offs[BATCH_MAX];
	unsigned int i, k;

	while (n) {
		k = n < BATCH_MAX ? n : BATCH_MAX;
		for (i = 0; i < k; i++)
			offs[i] = (char *)objs[i] - h->base;
		free_offsets(h, tc, offs, k);
		objs += k;
		n -= k;
	}
}

/* Empty every magazine of @tc; returns how many objects went back. */
static unsigned int tcache_drain(struct mag_heap *h, struct mag_tcache *tc)
{
	unsigned int cls, n = 0;

	for (cls = 1; cls <= h->nr_classes; cls++) {
		struct mag_magazine *m = &tc->mags[cls];

		if (!m->count)
			continue;
		free_objs(h, tc, m->objs, m->count);
		n += m->count;
		WRITE_ONCE(m->count, 0);
	}
	return n;
}

/* registry_lock held */
static void tcache_unlink(struct mag_heap *h, struct mag_tcache *tc)
{
	if (tc->hprev)
		tc->hprev->hnext = tc->hnext;
	else
		h->tcaches = tc->hnext;
	if (tc->hnext)
		tc->hnext->hprev = tc->hprev;
	tc->hnext = NULL;
	tc->hprev = NULL;
}

/* ---- thread caches ---- */

/* Free this thread's caches of closed heaps. */
static void tcache_prune(void)
{
	struct mag_tcache **pp = &tls_list, *tc;

	while ((tc = *pp)) {
		if (__atomic_load_n(&tc->heap_id, __ATOMIC_ACQUIRE)) {
			pp = &tc->tnext;
			continue;
		}
		*pp = tc->tnext;
		if (tls_last == tc)
			tls_last = NULL;
		/* the heap is gone; nr_mags is not known, objs were freed */
		lib_free(tc);
	}
	pthread_setspecific(tc_key, tls_list);
}

static struct mag_tcache *tcache_find(struct mag_heap *h)
{
	struct mag_tcache *tc;

	for (tc = tls_list; tc; tc = tc->tnext)
		if (READ_ONCE(tc->heap_id) == h->id)
			return tc;
	return NULL;
}

static struct mag_tcache *tcache_slow(struct mag_heap *h)
{
	struct mag_tcache *tc;

	tcache_prune();
	tc = tcache_find(h);
	if (tc) {
		tls_last = tc;
		return tc;
	}
	tc = lib_calloc(1, sizeof(*tc) + (h->nr_classes + 1) * sizeof(tc->mags[0]));
	if (!tc)
		return NULL;
	tc->owner = pthread_self();
	tc->heap = h;
	tc->heap_id = h->id;
	pthread_mutex_lock(&registry_lock);
	tc->hnext = h->tcaches;
	if (h->tcaches)
		h->tcaches->hprev = tc;
	h->tcaches = tc;
	pthread_mutex_unlock(&registry_lock);
	tc->tnext = tls_list;
	tls_list = tc;
	/* a non-NULL value makes the key's destructor run at thread exit */
	pthread_setspecific(tc_key, tc);
	tls_last = tc;
	return tc;
}

static inline struct mag_tcache *tcache_get(struct mag_heap *h)
{
	struct mag_tcache *tc = tls_last;

	if (likely(tc && READ_ONCE(tc->heap_id) == h->id))
		return tc;
	return tcache_slow(h);
}

/*
 * Disown @tc from its heap (registry_lock held).  The objects in its
 * magazines must have gone back to the kernel already, or go with the heap.
 */
static void tcache_disown(struct mag_heap *h, struct mag_tcache *tc)
{
	unsigned int cls;

	tcache_unlink(h, tc);
	stats_add(&h->retired, &tc->st);
	for (cls = 1; cls <= h->nr_classes; cls++) {
		lib_free(tc->mags[cls].objs);
		tc->mags[cls].objs = NULL;
		tc->mags[cls].count = 0;
		tc->mags[cls].cap = 0;
	}
	tc->heap = NULL;
	__atomic_store_n(&tc->heap_id, 0, __ATOMIC_RELEASE);
}

/* pthread key destructor: the thread exits, its magazines go back. */
static void thread_exit(void *arg)
{
	struct mag_tcache *tc, *next;

	(void)arg;
	pthread_mutex_lock(&registry_lock);
	for (tc = tls_list; tc; tc = tc->tnext) {
		if (!READ_ONCE(tc->heap_id))
			continue;
		tcache_drain(tc->heap, tc);
		tcache_disown(tc->heap, tc);
	}
	pthread_mutex_unlock(&registry_lock);
	for (tc = tls_list; tc; tc = next) {
		next = tc->tnext;
		lib_free(tc);
	}
	tls_list = NULL;
	tls_last = NULL;
}

/* ---- fork ---- */

static void fork_prepare(void)
{
	pthread_mutex_lock(&registry_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

/*
 * In the child only the forking thread lives on.  Its magazines' objects
 * are the parent's (the parent's copy of the magazines hands them out), so
 * they are forgotten, not freed; other threads' caches are dropped.
 */
static void fork_child(void)
{
	pthread_t self = pthread_self();
	struct mag_tcache *tc, *next;
	struct mag_heap *h;
	unsigned int cls;

	for (h = heaps; h; h = h->next) {
		for (tc = h->tcaches; tc; tc = next) {
			next = tc->hnext;
			if (pthread_equal(tc->owner, self)) {
				for (cls = 1; cls <= h->nr_classes; cls++)
					tc->mags[cls].count = 0;
				continue;
			}
			tcache_disown(h, tc);
			lib_free(tc);
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static void lib_init(void)
{
	lib_init_err = pthread_key_create(&tc_key, thread_exit);
	if (!lib_init_err)
		lib_init_err = pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- open and close ---- */

static int setup_classes(struct mag_heap *h, const struct magalloc_query *q,
			 const struct magalloc_class *ct)
{
	unsigned int cls, i, prev = 0;

	h->cls = lib_calloc(q->nr_classes + 1, sizeof(*h->cls));
	h->size_class = lib_malloc(q->max_small_size / 8 + 1);
	if (!h->cls || !h->size_class)
		return -1;
	for (cls = 1; cls <= q->nr_classes; cls++) {
		const struct magalloc_class *c = &ct[cls - 1];
		struct mag_class_info *ci = &h->cls[cls];
		__u32 batch;

		if (c->size <= prev || c->size % 8 || !c->objects ||
		    (__u64)c->objects * c->size > c->span_bytes)
			goto proto;
		prev = c->size;
		batch = BATCH_BYTES / c->size;
		if (batch < BATCH_MIN)
			batch = BATCH_MIN;
		if (batch > BATCH_MAX)
			batch = BATCH_MAX;
		if (batch > q->max_bulk)
			batch = q->max_bulk;
		ci->size = c->size;
		ci->batch = batch;
		if (!(c->span_bytes & (c->span_bytes - 1)))
			ci->span_mask = c->span_bytes - 1;
		ci->span_end = c->objects * c->size;
	}
	if (prev != q->max_small_size)
		goto proto;
	h->align = q->page_size;
	for (cls = 1; cls <= q->nr_classes; cls++) {
		__u32 sz = h->cls[cls].size;

		if (!(sz & (sz - 1)) && sz > h->align)
			h->align = sz;
	}
	/*
	 * And to the largest power of two a large object may have (4 MiB):
	 * the kernel's buddy places a large object of 2^k pages on a 2^k-page
	 * offset, which mag_aligned_alloc() uses for alignments beyond the
	 * classes'.  It costs only address space while mapping.
	 */
	while (h->align < (1ul << 30) && h->align * 2 <= h->max_alloc)
		h->align *= 2;
	cls = 1;
	for (i = 0; i <= q->max_small_size / 8; i++) {
		while (h->cls[cls].size < (i ? i * 8 : 1))
			cls++;
		h->size_class[i] = cls;
	}
	return 0;
proto:
	errno = EPROTO;
	return -1;
}

static int query(struct mag_heap *h)
{
	struct magalloc_class *ct;
	struct magalloc_query q;
	long page = sysconf(_SC_PAGESIZE);
	int ret = -1;

	memset(&q, 0, sizeof(q));
	if (ioctl(h->fd, MAGALLOC_IOC_QUERY, &q))
		return -1;
	if (q.abi_version != MAGALLOC_ABI_VERSION || page <= 0 || q.page_size != (__u64)page ||
	    (page & (page - 1)) ||
	    !q.nr_classes || q.nr_classes > PI_MAX_CLASSES || !q.heap_size ||
	    q.heap_size % q.page_size || !q.max_bulk || q.max_small_size > (1u << 20) ||
	    q.max_small_size % 8) {
		errno = EPROTO;
		return -1;
	}
	ct = lib_calloc(q.nr_classes, sizeof(*ct));
	if (!ct)
		return -1;
	q.classes_len = q.nr_classes;
	q.classes = (uintptr_t)ct;
	if (ioctl(h->fd, MAGALLOC_IOC_QUERY, &q))
		goto out;
	h->size = q.heap_size;
	h->page_shift = __builtin_ctzl(page);
	h->nr_classes = q.nr_classes;
	h->max_small = q.max_small_size;
	h->max_alloc = q.max_alloc;
	ret = setup_classes(h, &q, ct);
out:
	lib_free(ct);
	return ret;
}

/*
 * Map the range at an address aligned to @align: offsets are aligned to
 * power-of-two object sizes, pointers are only if the base is too.
 */
static void *map_aligned(int fd, size_t size, size_t align)
{
	size_t len = size + align;
	char *res, *a, *p;
	int err;

	res = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	a = (char *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	p = mmap(a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		err = errno;
		munmap(res, len);
		errno = err;
		return MAP_FAILED;
	}
	if (a > res)
		munmap(res, a - res);
	if (a + size < res + len)
		munmap(a + size, res + len - (a + size));
	return p;
}

static void heap_free(struct mag_heap *h)
{
	int err = errno;

	if (h->base && h->base != MAP_FAILED)
		munmap(h->base, h->size);
	if (h->page_info && h->page_info != MAP_FAILED)
		munmap(h->page_info, h->page_info_bytes);
	if (h->fd >= 0)
		close(h->fd);
	lib_free(h->cls);
	lib_free(h->size_class);
	lib_free(h);
	errno = err;
}

struct mag_heap *mag_open(void)
{
	struct mag_heap *h;

	pthread_once(&lib_once, lib_init);
	if (lib_init_err) {
		errno = lib_init_err;
		return NULL;
	}
	h = lib_calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fd = open(MAG_DEV, O_RDWR | O_CLOEXEC);
	if (h->fd < 0 || query(h))
		goto fail;
	h->base = map_aligned(h->fd, h->size, h->align);
	if (h->base == MAP_FAILED)
		goto fail;
	/* the entries, then top, aligned */
	h->page_info_bytes = top_offset(h) + sizeof(__u64);
	h->page_info = mmap(NULL, h->page_info_bytes, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->page_info == MAP_FAILED)
		goto fail;
	h->top = (__u64 *)((char *)h->page_info + top_offset(h));
	pthread_mutex_lock(&registry_lock);
	h->id = next_heap_id++;
	h->next = heaps;
	heaps = h;
	pthread_mutex_unlock(&registry_lock);
	return h;
fail:
	heap_free(h);
	return NULL;
}

void mag_close(struct mag_heap *h)
{
	pthread_t self = pthread_self();
	struct mag_heap **pp;
	struct mag_tcache *tc;

	if (!h)
		return;
	pthread_mutex_lock(&registry_lock);
	while ((tc = h->tcaches)) {
		/* only the caller's objects may go back: others may be in use */
		if (pthread_equal(tc->owner, self))
			tcache_drain(h, tc);
		tcache_disown(h, tc);
	}
	for (pp = &heaps; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	tcache_prune();
	heap_free(h);
}

/* ---- allocation ---- */

/*
 * An allocation failed: if it was for want of memory and the calling
 * thread holds cached objects, give them back (their spans may free up)
 * and say to try once more.
 */
static bool retry_after_flush(struct mag_heap *h, struct mag_tcache *tc, bool *flushed)
{
	int err = errno;

	if (err != ENOMEM || *flushed || !tc || !tcache_drain(h, tc))
		return false;
	errno = err;
	*flushed = true;
	return true;
}

/* One object straight from the kernel: large, or small without a cache. */
static void *alloc_direct(struct mag_heap *h, size_t size, unsigned int cls)
{
	struct mag_tcache *tc = tcache_find(h);
	struct magalloc_alloc a;
	bool flushed = false;
	__u64 pg, i, npages;

	if (size > h->max_alloc) {
		H_INC(h, failed_allocs);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		memset(&a, 0, sizeof(a));
		a.size = size;
		H_INC(h, large_allocs);
		if (!ioctl(h->fd, MAGALLOC_IOC_ALLOC, &a))
			break;
		if (!retry_after_flush(h, tc, &flushed)) {
			H_INC(h, failed_allocs);
			return NULL;
		}
	}
	pg = a.offset >> h->page_shift;
	if (cls) {
		note_page(h, a.offset, cls);
	} else {
		npages = (size + (1ul << h->page_shift) - 1) >> h->page_shift;
		for (i = 1; i < npages; i++)
			note_page(h, (pg + i) << h->page_shift, PI_INTERIOR);
		note_page(h, a.offset, PI_LARGE | npages);
	}
	H_INC(h, mallocs);
	return h->base + a.offset;
}

static void *refill(struct mag_heap *h, struct mag_tcache *tc, unsigned int cls)
{
	const struct mag_class_info *ci = &h->cls[cls];
	struct mag_magazine *m = &tc->mags[cls];
	struct magalloc_bulk b;
	__u64 offs[BATCH_MAX];
	bool flushed = false;
	unsigned int i, n;

	if (!m->objs) {
		m->objs = lib_malloc(2 * ci->batch * sizeof(void *));
		if (!m->objs)
			return alloc_direct(h, ci->size, cls);
		m->cap = 2 * ci->batch;
	}
	for (;;) {
		memset(&b, 0, sizeof(b));
		b.size = ci->size;
		b.offsets = (uintptr_t)offs;
		b.count = ci->batch;
		tc_inc(&tc->st.refills);
		if (!ioctl(h->fd, MAGALLOC_IOC_ALLOC_BULK, &b)) {
			if (b.done && b.done <= ci->batch)
				break;
			errno = ENOMEM;
		}
		if (!retry_after_flush(h, tc, &flushed)) {
			tc_inc(&tc->st.failed_allocs);
			return NULL;
		}
	}
	n = b.done;
	for (i = 0; i < n; i++)
		note_page(h, offs[i], cls);
	/* the magazine is empty: hand out offs[0], then offs[1], ... */
	for (i = 1; i < n; i++)
		m->objs[n - 1 - i] = h->base + offs[i];
	WRITE_ONCE(m->count, n - 1);
	tc_inc(&tc->st.alloc_misses);
	tc_inc(&tc->st.mallocs);
	return h->base + offs[0];
}

void *mag_malloc(struct mag_heap *h, size_t size)
{
	struct mag_magazine *m;
	struct mag_tcache *tc;
	unsigned int cls, n;

	if (unlikely(!h)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(size > h->max_small))
		return alloc_direct(h, size, 0);
	cls = h->size_class[(size + 7) >> 3];
	tc = tcache_get(h);
	if (unlikely(!tc))
		return alloc_direct(h, h->cls[cls].size, cls);
	m = &tc->mags[cls];
	n = m->count;
	if (unlikely(!n))
		return refill(h, tc, cls);
	WRITE_ONCE(m->count, n - 1);
	tc_inc(&tc->st.alloc_hits);
	tc_inc(&tc->st.mallocs);
	return m->objs[n - 1];
}

void *mag_calloc(struct mag_heap *h, size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	p = mag_malloc(h, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/* The smallest class whose objects are all aligned to @align, 0 if none. */
static unsigned int aligned_class(struct mag_heap *h, size_t size, size_t align)
{
	size_t page = 1ul << h->page_shift;
	unsigned int cls;
	__u32 sz;

	if (size > h->max_small)
		return 0;
	for (cls = h->size_class[(size + 7) >> 3]; cls <= h->nr_classes; cls++) {
		sz = h->cls[cls].size;
		/*
		 * Spans start on a page: up to a page, a size that is a
		 * multiple of @align keeps every object aligned.  Beyond,
		 * only power-of-two sizes are (to their size).
		 */
		if (align <= page ? !(sz & (align - 1)) :
		    !(sz & (sz - 1)) && sz >= align)
			return cls;
	}
	return 0;
}

/* @align: a power of two; errno EINVAL or ENOMEM on failure */
static void *alloc_aligned(struct mag_heap *h, size_t align, size_t size)
{
	size_t page, bytes, npages;
	unsigned int cls;
	void *p;

	if (unlikely(!h)) {
		errno = EINVAL;
		return NULL;
	}
	if (align <= 8)
		return mag_malloc(h, size);
	cls = aligned_class(h, size, align);
	if (cls) {
		p = mag_malloc(h, h->cls[cls].size);
		if (!p || !((uintptr_t)p & (align - 1)))
			return p;
		/* not what the kernel promises: try a large object */
		mag_free(h, p);
	}
	/*
	 * A large object: page-aligned; beyond a page, 2^k pages that the
	 * buddy places on a 2^k-page offset of a base aligned as much.
	 */
	page = 1ul << h->page_shift;
	if (size > h->max_alloc || align > h->max_alloc || align > h->align) {
		errno = ENOMEM;
		return NULL;
	}
	npages = (size + page - 1) >> h->page_shift;
	if (npages * page <= h->max_small)
		npages = (h->max_small >> h->page_shift) + 1;
	if (align > page) {
		if (npages < align >> h->page_shift)
			npages = align >> h->page_shift;
		while (npages & (npages - 1))
			npages += npages & -npages;
	}
	bytes = npages << h->page_shift;
	if (bytes > h->max_alloc) {
		errno = ENOMEM;
		return NULL;
	}
	p = alloc_direct(h, bytes, 0);
	if (p && ((uintptr_t)p & (align - 1))) {
		mag_free(h, p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void *mag_aligned_alloc(struct mag_heap *h, size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(h, align, size);
}

int mag_posix_memalign(struct mag_heap *h, void **pp, size_t align, size_t size)
{
	int err = errno, ret = EINVAL;
	void *p;

	/* POSIX's errors are positive */
	if (!pp || !align || (align & (align - 1)) || align % sizeof(void *))
		return ret;
	p = alloc_aligned(h, align, size);
	if (!p) {
		ret = errno;
		errno = err;
		return ret;
	}
	*pp = p;
	return 0;
}

/* The usable size mag_malloc(@size) would give. */
static size_t usable_for(struct mag_heap *h, size_t size)
{
	size_t page = 1ul << h->page_shift;

	if (size <= h->max_small)
		return h->cls[h->size_class[(size + 7) >> 3]].size;
	return (size + page - 1) & ~(page - 1);
}

void *mag_realloc(struct mag_heap *h, void *p, size_t size)
{
	size_t old;
	void *q;

	if (!p)
		return mag_malloc(h, size);
	if (!size) {
		mag_free(h, p);
		return NULL;
	}
	old = mag_usable_size(h, p);
	if (!old) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * In place while it fits and a new object for @size would be more
	 * than half the size: a shrink to a much smaller class or to fewer
	 * pages moves, to give the rest back.
	 */
	if (size <= old && 2 * usable_for(h, size) > old)
		return p;
	q = mag_malloc(h, size);
	if (!q)
		/* a shrink that could not move stays where it is */
		return size <= old ? p : NULL;
	memcpy(q, p, size < old ? size : old);
	mag_free(h, p);
	return q;
}

/* ---- free ---- */

/* The magazine is full or not allocated yet; false: free directly. */
static bool free_slow(struct mag_heap *h, struct mag_tcache *tc, unsigned int cls,
		      void *p)
{
	const struct mag_class_info *ci = &h->cls[cls];
	struct mag_magazine *m = &tc->mags[cls];

	if (!m->objs) {
		m->objs = lib_malloc(2 * ci->batch * sizeof(void *));
		if (!m->objs)
			return false;
		m->cap = 2 * ci->batch;
		m->objs[0] = p;
		WRITE_ONCE(m->count, 1);
		tc_inc(&tc->st.free_hits);
		tc_inc(&tc->st.frees);
		return true;
	}
	/* give the oldest batch back, keep the most recently freed */
	free_objs(h, tc, m->objs, ci->batch);
	memmove(m->objs, m->objs + ci->batch, (m->count - ci->batch) * sizeof(void *));
	m->objs[m->count - ci->batch] = p;
	WRITE_ONCE(m->count, m->count - ci->batch + 1);
	tc_inc(&tc->st.free_misses);
	tc_inc(&tc->st.frees);
	return true;
}

void mag_free(struct mag_heap *h, void *p)
{
	struct mag_magazine *m;
	struct mag_tcache *tc;
	__u32 info;
	__u64 off;

	if (unlikely(!p || !h))
		return;
	off = (uintptr_t)p - (uintptr_t)h->base;
	if (unlikely(off >= h->size)) {
		H_INC(h, frees);
		H_INC(h, bad_frees);
		return;
	}
	info = READ_ONCE(h->page_info[off >> h->page_shift]);
	if (likely(info - 1 < h->nr_classes && in_class(h, off, info))) {
		tc = tcache_get(h);
		if (likely(tc)) {
			m = &tc->mags[info];
			if (likely(m->count < m->cap)) {
				m->objs[m->count] = p;
				WRITE_ONCE(m->count, m->count + 1);
				tc_inc(&tc->st.free_hits);
				tc_inc(&tc->st.frees);
				return;
			}
			if (free_slow(h, tc, info, p))
				return;
		}
	}
	/*
	 * A large object, or a pointer the library cannot place.  A large
	 * object's mark goes before the kernel may reuse its pages.
	 */
	if ((info & PI_LARGE) && !(off & ((1ul << h->page_shift) - 1)))
		WRITE_ONCE(h->page_info[off >> h->page_shift], 0);
	H_INC(h, frees);
	free_one(h, off);
}

size_t mag_usable_size(struct mag_heap *h, const void *p)
{
	__u32 info;
	__u64 off;

	if (!h || !p)
		return 0;
	off = (uintptr_t)p - (uintptr_t)h->base;
	if (off >= h->size)
		return 0;
	info = READ_ONCE(h->page_info[off >> h->page_shift]);
	if (info - 1 < h->nr_classes && in_class(h, off, info))
		return h->cls[info].size;
	if ((info & PI_LARGE) && !(off & ((1ul << h->page_shift) - 1)))
		return (size_t)(info & ~PI_LARGE) << h->page_shift;
	return 0;
}

/* ---- the rest ---- */

void *mag_ptr(struct mag_heap *h, uint64_t off)
{
	if (!h || off >= h->size) {
		errno = EINVAL;
		return NULL;
	}
	return h->base + off;
}

uint64_t mag_offset(struct mag_heap *h, const void *p)
{
	__u64 off;

	if (!h)
		return MAG_NO_OFFSET;
	off = (uintptr_t)p - (uintptr_t)h->base;
	return off < h->size ? off : MAG_NO_OFFSET;
}

int mag_fd(struct mag_heap *h)
{
	return h ? h->fd : -1;
}

size_t mag_heap_size(struct mag_heap *h)
{
	return h ? h->size : 0;
}

void mag_thread_flush(struct mag_heap *h)
{
	struct mag_tcache *tc;

	if (!h)
		return;
	tc = tcache_find(h);
	if (tc)
		tcache_drain(h, tc);
}

int mag_lib_stats(struct mag_heap *h, struct mag_lib_stats *st)
{
	struct mag_tcache *tc;
	unsigned int cls, n;

	if (!h || !st) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&registry_lock);
	stats_add(st, &h->retired);
	stats_add(st, &h->shared);
	for (tc = h->tcaches; tc; tc = tc->hnext) {
		stats_add(st, &tc->st);
		for (cls = 1; cls <= h->nr_classes; cls++) {
			n = READ_ONCE(tc->mags[cls].count);
			st->cached_objects += n;
			st->cached_bytes += (unsigned long long)n * h->cls[cls].size;
		}
		st->threads++;
	}
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

#ifdef MAG_PRELOAD
/* ---- fork() for libmagalloc-preload.so (preload.h) ---- */

int mag_snapshot(struct mag_heap *h, struct mag_snapshot *s)
{
	size_t page = 1ul << h->page_shift, npages = h->size >> h->page_shift;
	size_t pg, i, n, a, off, len, top;
	unsigned char *want;
	__u32 *pi, info;
	ssize_t done;

	/*
	 * Only as far as the heap has handed out objects, not the whole
	 * range: marks end at top, and objects there within a large
	 * object's pages of it.  The copy of page_info[] is a mapping of
	 * its own: only the pages written cost memory (a calloc() of
	 * megabytes may come from the heap and be cleared).
	 */
	top = READ_ONCE(*h->top);
	if (top > npages)
		top = npages;
	s->fd = -1;
	s->page_info_bytes = h->page_info_bytes;
	s->page_info = mmap(NULL, s->page_info_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->page_info == MAP_FAILED)
		s->page_info = NULL;
	npages = top + (h->max_alloc >> h->page_shift) + 1 < npages ?
		 top + (h->max_alloc >> h->page_shift) + 1 : npages;
	want = lib_calloc(npages, 1);
	if (!s->page_info || !want)
		goto fail;
	pi = s->page_info;
	for (pg = 0; pg < top; pg++)
		pi[pg] = READ_ONCE(h->page_info[pg]);
	*(__u64 *)((char *)pi + top_offset(h)) = top;
	/*
	 * The pages that may hold bytes of a live object: every object of a
	 * class starts on a page marked with its class and ends within its
	 * size of that page's end; a large object's pages are marked.  Stale
	 * marks of freed spans only cost a refused pwrite().
	 */
	for (pg = 0; pg < top; pg++) {
		info = pi[pg];
		if (info - 1 < h->nr_classes)
			n = (page + h->cls[info].size + page - 1) >> h->page_shift;
		else if (info & PI_LARGE)
			n = info & ~PI_LARGE;
		else
			n = info & PI_INTERIOR ? 1 : 0;
		for (i = 0; i < n && pg + i < npages; i++)
			want[pg + i] = 1;
	}
	s->fd = memfd_create("magalloc-fork", MFD_CLOEXEC);
	if (s->fd < 0 || ftruncate(s->fd, h->size))
		goto fail;
	for (pg = 0; pg < npages; pg = a) {
		while (pg < npages && !want[pg])
			pg++;
		for (a = pg; a < npages && want[a]; a++)
			;
		off = pg << h->page_shift;
		len = (a - pg) << h->page_shift;
		while (len) {
			/* the kernel copies until a page that is not live */
			done = pwrite(s->fd, h->base + off, len, off);
			if (done > 0) {
				off += done;
				len -= done;
				continue;
			}
			if (done < 0 && errno == EINTR)
				continue;
			if (done < 0 && errno != EFAULT)
				goto fail;
			/* not live (freed since its mark): it stays a hole */
			done = page - (off & (page - 1));
			off += done;
			len -= done;
		}
	}
	lib_free(want);
	return 0;
fail:
	lib_free(want);
	mag_snapshot_drop(s);
	return -1;
}

void mag_snapshot_drop(struct mag_snapshot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->page_info)
		munmap(s->page_info, s->page_info_bytes);
	s->fd = -1;
	s->page_info = NULL;
}

int mag_adopt_snapshot(struct mag_heap *h, struct mag_snapshot *s)
{
	struct mag_heap **pp;
	struct mag_tcache *tc;
	void *p;

	if (s->fd < 0)
		return -1;
	p = mmap(h->base, h->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, s->fd, 0);
	close(s->fd);
	s->fd = -1;
	if (p == MAP_FAILED)
		return -1;
	/* the library's own fork_child() ran: only this thread's cache is left */
	pthread_mutex_lock(&registry_lock);
	while ((tc = h->tcaches))
		tcache_disown(h, tc);
	for (pp = &heaps; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	munmap(h->page_info, h->page_info_bytes);
	h->page_info = s->page_info;
	h->top = (__u64 *)((char *)h->page_info + top_offset(h));
	s->page_info = NULL;
	close(h->fd);
	h->fd = -1;
	return 0;
}
#endif
