// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc userspace heaps: /dev/magalloc.
 *
 * Every open() makes a heap: a range of heap_size_mb MiB of offsets that
 * the opener mmap()s MAP_SHARED at offset 0.  The heap is a small copy of
 * the kernel allocator's lower two levels, over offsets instead of kernel
 * addresses:
 *
 *  - a buddy allocator over the pages the heap has grown to (one bitmap
 *    of free block heads per order), serving spans and large objects with
 *    exact page counts;
 *  - per size class, partial and full spans with allocation bitmaps: the
 *    heap's own central lists.  A heap's spans never hold kernel objects
 *    or another heap's (Go keeps scan and noscan spans apart the same way).
 *
 * The per-thread magazines of this design live in userspace, in
 * libmagalloc, which refills and drains them with the bulk ioctls.
 *
 * Growth: the range is a reservation, as Go and TCMalloc reserve address
 * space (16 GiB by default; see heap_size_mb).  The opener maps all of it
 * once; the heap uses it from offset 0 up, a chunk of UH_CHUNK_PAGES
 * (4 MiB, the largest buddy block) at a time: when no free block of the
 * order a span or large object needs is left, and its cap allows the
 * bytes, uheap_grow() gives the buddy the next chunk.  Nothing moves:
 * offsets stay valid, and so does every mapping, which covers the whole
 * range; a page above the grown part has no span, so touching it raises
 * SIGBUS like any page without one.  The heap's cap (heap_cap_mb, or
 * MAGALLOC_IOC_SET_CAP) bounds the bytes it holds; the range bounds the
 * cap's use.
 *
 * Pages: each heap is backed by a shmem file of its range's size
 * (shmem_file_setup_with_mnt()), private to the heap: no descriptor
 * reaches it.  The files live in a tmpfs of this module's, mounted
 * huge=never: unlike shmem_file_setup()'s internal mount, it gets huge
 * pages from no shmem_enabled setting but "force", and a huge page would
 * hold several spans.  mmap() of /dev/magalloc makes the mapping one of
 * that file (vma_set_file()) with this file's vm_operations, so every
 * mapping of the heap (the opener's, forked children's, those of
 * processes the descriptor was passed to with SCM_RIGHTS) is a shared
 * file mapping of shmem pages, found through the shmem file's
 * address_space, and /proc/<pid>/maps names it "/magalloc (deleted)".
 * A page of the range gets memory only when a mapping first touches it
 * while an allocated span or large object covers it: the fault handler
 * reads the page in through shmem (allocated zeroed, or brought back
 * from swap), charged to the memory cgroup of the process that opened
 * the heap, and hands it to the fault code locked, as filemap_fault()
 * does.  So the pages count in the mapping process's RSS (RssShmem) and
 * in smaps, can be swapped out, and can be pinned (futexes,
 * process-shared pthread mutexes, vmsplice(), O_DIRECT, ptrace, io_uring
 * fixed buffers but on 6.1, whose io_uring wants shmem's own vm_ops).
 * Pages no live span covers are not mapped: touching
 * them raises SIGBUS.  When a span or large object goes back to the
 * buddy, its pages are unmapped from every mapping of the heap and the
 * shmem file's range is truncated (a hole punched: pages and swap freed,
 * memory cgroup uncharged), so a page never carries data into another
 * span's life: a reused range reads back zeroed.
 *
 * The heap's byte cap bounds the pages of its spans and large objects.
 * Per user (the opener's real uid, struct mag_uuser in a hash table under
 * mag_uheaps_mutex), open() counts the heap against user_heaps_max
 * (-EMFILE beyond) and every span or large object is charged to the
 * user's bytes, refused (-ENOMEM) beyond user_heap_mb MiB; freeing it, or
 * the heap's last close, gives the bytes back, and the last close the
 * heap's count.  A heap whose opener had CAP_SYS_RESOURCE is counted and
 * charged but never refused (decided once, at open()).  The page map
 * (h->spans) and the buddy bitmaps, about 9.4 KiB per 4 MiB chunk, cover
 * only what the heap has grown to: allocated at its first span and
 * reallocated, doubling their room, as it grows (uheap_meta_resize()),
 * charged to the opener's memory cgroup.  So an open() costs struct
 * mag_uheap and the shmem file, a heap its metadata in proportion to its
 * grown part, and that part is bounded by twice the heap's cap
 * (uheap_grow_limit()), not by the range.  A heap that cannot have the
 * metadata of its next chunk fails the allocation with -ENOMEM and stays
 * as it was.  Every user of h->spans and h->free_map stays below h->grown,
 * which is 0 while they are NULL.
 * The heap lives as long as the /dev/magalloc file, and each mapping
 * holds that file (vm_private_data, taken and dropped by the
 * vm_operations' open and close), for vm_file is the shmem file: the
 * last close of the opener and every fork or SCM_RIGHTS copy and the last
 * munmap() free everything, and a mapping keeps the module loaded.
 *
 * Locking: heap->lock (a mutex) protects the whole heap and is taken by
 * the ioctls, debugfs and the fault handler (with mmap_lock or the VMA's
 * lock held: mmap_lock -> heap->lock); so the page map and the bitmaps
 * may be reallocated under it.  Under it the fault handler takes a page's
 * folio lock, and freeing a span takes the address_space's i_mmap lock
 * and folio locks (shmem_truncate_range()), never the shmem inode's
 * i_rwsem, which ranks above mmap_lock: heap->lock -> i_mmap_rwsem and
 * folio lock, as for any filesystem's truncation.  Holding heap->lock
 * from the check that a span is live to the folio lock, and truncating
 * under it, keeps a freed span's page from being mapped again: a fault
 * that got its folio before the span was freed holds the folio lock until
 * the page is mapped, and truncation, which waits for it, unmaps it.
 * Nothing copies from or to userspace under heap->lock: a user buffer may
 * itself lie in the heap's mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include "compat.h"
#include "internal.h"

/*
 * 16 GiB by default: the range is a reservation, used from the bottom as
 * the heap grows (see the top of this file), and costs only address space
 * until then: the shmem file is VM_NORESERVE and has no pages, the
 * mapping no page tables, and the heap's metadata follows what it has
 * grown to, which its cap bounds.  64 heaps of a user (user_heaps_max)
 * reserve 1 TiB of the 128 TiB of an x86-64 process's address space; a
 * heap may be given a cap (MAGALLOC_IOC_SET_CAP) of up to its range.
 */
static unsigned int heap_size_mb = 16384;

/**
 * mag_heap_size_set() - check and set heap_size_mb: 1 to 1048576 (MiB)
 * @val: the value given
 * @kp: the parameter
 *
 * The range costs no kernel memory of its own: metadata comes with the
 * chunks a heap grows by, and growth is bounded by the heap's cap.  The
 * bound is 1 TiB of address space per heap.
 *
 * Return: 0, or -EINVAL for anything else.
 */
int mag_heap_size_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 1U << 20);
}

static const struct kernel_param_ops heap_size_ops = {
	.set = mag_heap_size_set,
	.get = param_get_uint,
};
module_param_cb(heap_size_mb, &heap_size_ops, &heap_size_mb, 0444);
MODULE_PARM_DESC(heap_size_mb, "bytes of each userspace heap's range (the reservation it grows in), MiB, 1 to 1048576 (default 16384)");

static unsigned int heap_cap_mb = 64;
module_param(heap_cap_mb, uint, 0644);
MODULE_PARM_DESC(heap_cap_mb, "default byte cap of a new userspace heap, MiB (default 64)");

static unsigned int user_heaps_max = 64;

/**
 * mag_user_heaps_set() - check and set user_heaps_max: 1 to 65536
 * @val: the value given
 * @kp: the parameter
 *
 * Return: 0, or -EINVAL for anything else.
 */
int mag_user_heaps_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 65536);
}

static const struct kernel_param_ops user_heaps_ops = {
	.set = mag_user_heaps_set,
	.get = param_get_uint,
};
module_param_cb(user_heaps_max, &user_heaps_ops, &user_heaps_max, 0644);
MODULE_PARM_DESC(user_heaps_max, "open userspace heaps per user (uid), 1 to 65536 (default 64); CAP_SYS_RESOURCE exceeds it");

static unsigned int user_heap_mb = 1024;

/**
 * mag_user_heap_mb_set() - check and set user_heap_mb: 1 to 1048576 (MiB)
 * @val: the value given
 * @kp: the parameter
 *
 * Return: 0, or -EINVAL for anything else.
 */
int mag_user_heap_mb_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 1U << 20);
}

static const struct kernel_param_ops user_heap_mb_ops = {
	.set = mag_user_heap_mb_set,
	.get = param_get_uint,
};
module_param_cb(user_heap_mb, &user_heap_mb_ops, &user_heap_mb, 0644);
MODULE_PARM_DESC(user_heap_mb, "bytes of spans and large objects held by one user's (uid's) userspace heaps together, MiB, 1 to 1048576 (default 1024); CAP_SYS_RESOURCE exceeds it");

/* Largest buddy block, and so largest object: 4 MiB. */
#define UH_MAX_ORDER	10
#define UH_MAX_ALLOC	(PAGE_SIZE << UH_MAX_ORDER)
/* A heap grows by chunks of the largest block: each brings one. */
#define UH_CHUNK_PAGES	(UH_MAX_ALLOC >> PAGE_SHIFT)

/**
 * struct mag_uspan - a span or large object of a userspace heap
 * @link: in its class's partial or full list (large objects: none)
 * @first: first page index in the range
 * @npages: pages
 * @order: buddy order of the block
 * @cls: size class, or 0 for a large object
 * @nr_objs: objects
 * @nr_free: objects not allocated
 * @alloc: bitmap, a bit per object, set while allocated
 */
struct mag_uspan {
	struct list_head link;
	unsigned long first;
	unsigned int npages;
	u8 order;
	u8 cls;
	u16 nr_objs;
	u16 nr_free;
	unsigned long alloc[];
};

/**
 * struct mag_uuser - what the heaps of one user (real uid) hold together
 * @node: in mag_users
 * @uid: the user
 * @heaps: heaps open, under mag_uheaps_mutex; the entry goes at 0
 * @bytes: bytes of their spans and large objects
 */
struct mag_uuser {
	struct hlist_node node;
	kuid_t uid;
	unsigned int heaps;
	atomic64_t bytes;
};

/**
 * struct mag_uheap - one open() of /dev/magalloc
 * @user: the opener's user, charged for the heap and its bytes
 * @unlimited: the opener had CAP_SYS_RESOURCE: no per-user limit
 * @lock: protects everything below
 * @shm: the shmem file backing the range, which the mappings map
 * @memcg: memory cgroup of the opener, charged for the pages
 * @npages: pages in the range, the reservation that is mapped
 * @grown: pages of the range, from its start, that the buddy covers: 0
 *	until the first span, then whole chunks (UH_CHUNK_PAGES) but maybe
 *	at the range's end
 * @meta_pages: pages @free_map and @spans have room for, @grown or more
 * @cap: byte cap
 * @charged: bytes of spans and large objects held
 * @free_map: per order, a bit per page below @meta_pages: a free block of
 *	that order starts there
 * @spans: page index -> span, for every page of every span (NULL: none),
 *	below @meta_pages; NULL itself until the heap's first span
 * @partial: per class, spans with free objects
 * @full: per class, spans without
 * @nr_spans: per class, spans held
 * @live: per class, objects allocated (index 0: large objects)
 * @live_bytes: bytes of objects allocated
 * @allocs: successful allocations, ever
 * @frees: successful frees, ever
 * @failed_allocs: allocations refused
 * @bad_frees: frees refused
 * @bad_requests: ioctls refused for bad arguments
 * @link: in mag_uheaps, for debugfs
 */
struct mag_uheap {
	struct mag_uuser *user;
	bool unlimited;
	struct mutex lock;	/* see above */
	struct file *shm;
	struct mem_cgroup *memcg;
	unsigned long npages;
	unsigned long grown;
	unsigned long meta_pages;
	u64 cap;
	u64 charged;
	unsigned long *free_map[UH_MAX_ORDER + 1];
	struct mag_uspan **spans;
	struct list_head partial[MAG_NR_CLASSES];
	struct list_head full[MAG_NR_CLASSES];
	unsigned long nr_spans[MAG_NR_CLASSES];
	unsigned long live[MAG_NR_CLASSES];
	u64 live_bytes;
	u64 allocs;
	u64 frees;
	u64 failed_allocs;
	u64 bad_frees;
	u64 bad_requests;
	struct list_head link;
};

static LIST_HEAD(mag_uheaps);
static DEFINE_MUTEX(mag_uheaps_mutex);	/* protects mag_uheaps, mag_users */
static DEFINE_HASHTABLE(mag_users, 6);
static struct vfsmount *mag_shm_mnt;	/* the heaps' shmem files' tmpfs */

/* ---- the buddy over page indices ---- */

static void block_set(struct mag_uheap *h, unsigned long pg, unsigned int order)
{
	__set_bit(pg, h->free_map[order]);
}

/* Free pages [pg, pg + 2^order) and merge with free buddies. */
static void buddy_free(struct mag_uheap *h, unsigned long pg, unsigned int order)
{
	while (order < UH_MAX_ORDER) {
		unsigned long buddy = pg ^ (1UL << order);

		if (buddy >= h->grown || !test_bit(buddy, h->free_map[order]))
			break;
		__clear_bit(buddy, h->free_map[order]);
		pg &= ~(1UL << order);
		order++;
	}
	block_set(h, pg, order);
}

static void free_range(struct mag_uheap *h, unsigned long pg, unsigned long end)
{
	while (pg < end) {
		unsigned int order = min_t(unsigned int, pg ? __ffs(pg) : UH_MAX_ORDER,
					   ilog2(end - pg));

		order = min_t(unsigned int, order, UH_MAX_ORDER);
		buddy_free(h, pg, order);
		pg += 1UL << order;
	}
}

/* Take a block of 2^order pages, splitting a larger one; -1 if none. */
static long buddy_alloc(struct mag_uheap *h, unsigned int order)
{
	unsigned int o;
	unsigned long pg;

	for (o = order; o <= UH_MAX_ORDER; o++) {
		pg = find_first_bit(h->free_map[o], h->grown);
		if (pg < h->grown)
			break;
	}
	if (o > UH_MAX_ORDER)
		return -1;
	__clear_bit(pg, h->free_map[o]);
	while (o > order) {
		o--;
		block_set(h, pg + (1UL << o), o);
	}
	return pg;
}

/* ---- spans ---- */

/*
 * The heap's metadata: charged to the opener's memory cgroup, whoever
 * allocates (set_active_memcg()).  At its memory.max the allocation fails
 * (-ENOMEM, no warning) rather than OOM-killing in the opener's cgroup
 * for an allocation another cgroup's task may have asked for.
 */
#define UH_META_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/*
 * Pages the heap may grow to: twice its cap and a chunk, in whole chunks,
 * within the range.  Growth comes only when no free block of the wanted
 * order is left, so a heap grows past its cap only through fragmentation
 * (a large object of 2 MiB and a page takes a 4 MiB block); the bound
 * keeps a pattern of frees that pins one page in every chunk from making
 * metadata for the whole range.
 */
static unsigned long uheap_grow_limit(const struct mag_uheap *h)
{
	u64 pages = (h->cap >> PAGE_SHIFT) * 2 + UH_CHUNK_PAGES;

	return min_t(u64, round_up(pages, UH_CHUNK_PAGES), h->npages);
}

/**
 * uheap_meta_resize() - room in the page map and bitmaps for @pages pages
 * @h: the heap, its lock held
 * @pages: pages, more than @h->meta_pages
 *
 * New arrays, the old ones copied and freed: every reader of @h->spans
 * and @h->free_map holds the heap's lock.  On failure the heap keeps its
 * old arrays, unchanged.
 *
 * Return: 0, or -ENOMEM.
 */
static int uheap_meta_resize(struct mag_uheap *h, unsigned long pages)
{
	size_t longs = BITS_TO_LONGS(pages), old_longs = BITS_TO_LONGS(h->meta_pages);
	unsigned long *map[UH_MAX_ORDER + 1] = {};
	struct mag_uspan **spans;
	struct mem_cgroup *old;
	unsigned int o;

	old = set_active_memcg(h->memcg);
	spans = kvcalloc(pages, sizeof(*spans), UH_META_GFP);
	for (o = 0; spans && o <= UH_MAX_ORDER; o++) {
		map[o] = kvcalloc(longs, sizeof(long), UH_META_GFP);
		if (!map[o])
			break;
	}
	set_active_memcg(old);
	if (!spans || o <= UH_MAX_ORDER) {
		for (o = 0; o <= UH_MAX_ORDER; o++)
			kvfree(map[o]);
		kvfree(spans);
		return -ENOMEM;
	}
	if (h->spans)
		memcpy(spans, h->spans, h->meta_pages * sizeof(*spans));
	kvfree(h->spans);
	h->spans = spans;
	for (o = 0; o <= UH_MAX_ORDER; o++) {
		if (h->free_map[o])
			memcpy(map[o], h->free_map[o], old_longs * sizeof(long));
		kvfree(h->free_map[o]);
		h->free_map[o] = map[o];
	}
	h->meta_pages = pages;
	return 0;
}

/**
 * uheap_grow() - give the buddy the next chunk of the range
 * @h: the heap, its lock held
 *
 * The range is used from its start, a chunk (UH_CHUNK_PAGES, the largest
 * block) at a time, when no free block is big enough: nothing already
 * allocated moves.  The page map and bitmaps double their room when the
 * chunk does not fit in them, so they stay within twice what the heap has
 * grown to, and the copy costs about one more copy of them overall.
 *
 * Return: 0; -ENOSPC at the range's end or the growth limit; -ENOMEM if
 * the metadata could not be had (the heap is then as it was).
 */
static int uheap_grow(struct mag_uheap *h)
{
	unsigned long limit = uheap_grow_limit(h), start = h->grown, end;

	if (start >= limit)
		return -ENOSPC;
	end = min(start + UH_CHUNK_PAGES, limit);
	if (end > h->meta_pages &&
	    uheap_meta_resize(h, max(end, min(2 * h->meta_pages, limit))))
		return -ENOMEM;
	h->grown = end;
	free_range(h, start, end);
	return 0;
}

/* Bytes of the page map and buddy bitmaps: none before the first span. */
static size_t uheap_meta(const struct mag_uheap *h)
{
	return h->meta_pages * sizeof(*h->spans) +
	       (UH_MAX_ORDER + 1) * BITS_TO_LONGS(h->meta_pages) * sizeof(long);
}

/**
 * user_charge() - charge @bytes of spans to the heap's user
 * @h: the heap
 * @bytes: bytes of the span or large object to be
 *
 * Refused if the user's heaps would hold more than user_heap_mb together,
 * unless the heap's opener had CAP_SYS_RESOURCE.
 *
 * Return: true if charged.
 */
static bool user_charge(struct mag_uheap *h, u64 bytes)
{
	u64 now = atomic64_add_return(bytes, &h->user->bytes);

	if (h->unlimited || now <= (u64)READ_ONCE(user_heap_mb) << 20)
		return true;
	atomic64_sub(bytes, &h->user->bytes);
	return false;
}

static struct mag_uspan *span_new(struct mag_uheap *h, unsigned int npages,
				  unsigned int cls)
{
	unsigned int nobj = cls ? mag_class_objects[cls] : 1;
	unsigned int order = mag_order_of(npages);
	struct mag_uspan *s;
	unsigned long i;
	long pg;

	if (h->charged + ((u64)npages << PAGE_SHIFT) > h->cap)
		return NULL;
	if (!user_charge(h, (u64)npages << PAGE_SHIFT))
		return NULL;
	s = kzalloc(struct_size(s, alloc, BITS_TO_LONGS(nobj)), GFP_KERNEL_ACCOUNT);
	if (!s)
		goto uncharge;
	/* no free block that big: the heap grows, chunk by chunk */
	while ((pg = buddy_alloc(h, order)) < 0) {
		if (uheap_grow(h)) {
			kfree(s);
			goto uncharge;
		}
	}
	for (i = 0; i < npages; i++)
		h->spans[pg + i] = s;
	if (npages < (1U << order))
		free_range(h, pg + npages, pg + (1UL << order));
	s->first = pg;
	s->npages = npages;
	s->order = order;
	s->cls = cls;
	s->nr_objs = nobj;
	s->nr_free = nobj;
	h->charged += (u64)npages << PAGE_SHIFT;
	return s;
uncharge:
	atomic64_sub((u64)npages << PAGE_SHIFT, &h->user->bytes);
	return NULL;
}

/*
 * Unmap a span's pages from every mapping, free them (a hole punched in
 * the shmem file: pages and swap entries go, uncharged), give the range
 * back to the buddy.
 */
static void span_release(struct mag_uheap *h, struct mag_uspan *s)
{
	loff_t start = (loff_t)s->first << PAGE_SHIFT;
	loff_t len = (loff_t)s->npages << PAGE_SHIFT;
	unsigned long i;

	unmap_mapping_range(h->shm->f_mapping, start, len, 1);
	shmem_truncate_range(file_inode(h->shm), start, start + len - 1);
	for (i = s->first; i < s->first + s->npages; i++)
		h->spans[i] = NULL;
	free_range(h, s->first, s->first + s->npages);
	h->charged -= (u64)s->npages << PAGE_SHIFT;
	atomic64_sub((u64)s->npages << PAGE_SHIFT, &h->user->bytes);
	kfree(s);
}

/* Bytes of the range in memory: the shmem file's pages in its page cache. */
static u64 uheap_resident(struct mag_uheap *h)
{
	return (u64)READ_ONCE(h->shm->f_mapping->nrpages) << PAGE_SHIFT;
}

static u64 span_obj(struct mag_uspan *s, unsigned int i)
{
	return ((u64)s->first << PAGE_SHIFT) + (u64)i * mag_class_size[s->cls];
}

/* The first free object of a span with one: an inline scan, no call. */
static __always_inline unsigned int span_first_free(struct mag_uspan *s)
{
	unsigned int w = 0;

	while (!~s->alloc[w])
		w++;
	return w * BITS_PER_LONG + ffz(s->alloc[w]);
}

/* Up to @nr objects of class @cls, span by span; how many were had. */
static unsigned int uheap_alloc_small(struct mag_uheap *h, unsigned int cls,
				      u64 *offs, unsigned int nr)
{
	unsigned int n = 0;

	while (n < nr) {
		struct mag_uspan *s;
		unsigned int i;

		if (list_empty(&h->partial[cls])) {
			s = span_new(h, 1U << mag_class_order[cls], cls);
			if (!s)
				break;
			list_add(&s->link, &h->partial[cls]);
			h->nr_spans[cls]++;
		}
		s = list_first_entry(&h->partial[cls], struct mag_uspan, link);
		while (n < nr && s->nr_free) {
			i = span_first_free(s);
			__set_bit(i, s->alloc);
			s->nr_free--;
			offs[n++] = span_obj(s, i);
		}
		if (!s->nr_free)
			list_move(&s->link, &h->full[cls]);
	}
	h->live[cls] += n;
	h->live_bytes += (u64)n * mag_class_size[cls];
	h->allocs += n;
	if (n < nr)
		h->failed_allocs++;
	return n;
}

static int uheap_alloc(struct mag_uheap *h, u64 size, u64 *off)
{
	struct mag_uspan *s;

	if (mag_should_fail(size, GFP_KERNEL)) {
		h->failed_allocs++;
		return -ENOMEM;
	}
	if (size <= MAG_MAX_SMALL)
		return uheap_alloc_small(h, mag_size_class(size), off, 1) ? 0 : -ENOMEM;
	s = span_new(h, DIV_ROUND_UP(size, PAGE_SIZE), 0);
	if (!s) {
		h->failed_allocs++;
		return -ENOMEM;
	}
	*off = (u64)s->first << PAGE_SHIFT;
	h->live[0]++;
	h->live_bytes += (u64)s->npages << PAGE_SHIFT;
	h->allocs++;
	return 0;
}

/* Free the object at @off; -EINVAL unless it is a live object here. */
static __always_inline int uheap_free(struct mag_uheap *h, u64 off)
{
	struct mag_uspan *s = NULL;
	unsigned long rel;
	unsigned int i, size;

	if (off < ((u64)h->grown << PAGE_SHIFT))
		s = h->spans[off >> PAGE_SHIFT];
	if (!s)
		goto bad;
	rel = off - ((u64)s->first << PAGE_SHIFT);
	if (!s->cls) {
		if (rel)
			goto bad;
		h->live[0]--;
		h->live_bytes -= (u64)s->npages << PAGE_SHIFT;
		span_release(h, s);
		h->frees++;
		return 0;
	}
	size = mag_class_size[s->cls];
	i = rel / size;
	if (rel % size || i >= s->nr_objs || !test_bit(i, s->alloc))
		goto bad;
	__clear_bit(i, s->alloc);
	h->live[s->cls]--;
	h->live_bytes -= size;
	h->frees++;
	if (s->nr_free++ == 0)
		list_move(&s->link, &h->partial[s->cls]);
	if (s->nr_free == s->nr_objs) {
		list_del(&s->link);
		h->nr_spans[s->cls]--;
		span_release(h, s);
	}
	return 0;
bad:
	h->bad_frees++;
	return -EINVAL;
}

/* ---- the file ---- */

/**
 * uheap_create() - a new heap, grown to nothing yet: no page map nor bitmaps
 *
 * Return: the heap, or NULL.
 */
static struct mag_uheap *uheap_create(void)
{
	struct mag_uheap *h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	unsigned int cls;

	if (!h)
		return NULL;
	mutex_init(&h->lock);
	for (cls = 0; cls < MAG_NR_CLASSES; cls++) {
		INIT_LIST_HEAD(&h->partial[cls]);
		INIT_LIST_HEAD(&h->full[cls]);
	}
	h->npages = ((u64)heap_size_mb << 20) >> PAGE_SHIFT;
	h->cap = (u64)READ_ONCE(heap_cap_mb) << 20;
	/* VM_NORESERVE: pages are accounted (overcommit) as they come */
	h->shm = shmem_file_setup_with_mnt(mag_shm_mnt, "magalloc",
					   (loff_t)h->npages << PAGE_SHIFT, VM_NORESERVE);
	if (IS_ERR(h->shm)) {
		kfree(h);
		return NULL;
	}
	/*
	 * No mtime or ctime: nobody reads them (no descriptor reaches the
	 * file), and a write fault on a shared mapping would update them
	 * (file_update_time() in fault_dirty_shared_page()), two threads
	 * faulting at once racing on them (KCSAN reported that race, in
	 * inode_update_timestamps(), during the preload step on kunit-rt).
	 */
	file_inode(h->shm)->i_flags |= S_NOCMTIME;
	h->memcg = get_mem_cgroup_from_mm(current->mm);
	return h;
}

static void uheap_destroy(struct mag_uheap *h)
{
	struct mag_uspan *s;
	unsigned long pg;
	unsigned int o;

	/*
	 * No mapping is left (each holds the file): spans go without
	 * unmapping, and the pages with the shmem file's last reference.
	 */
	for (pg = 0; pg < h->grown; pg++) {
		s = h->spans[pg];
		if (!s)
			continue;
		/* the first page seen of a span is its first: skip the rest */
		pg += s->npages - 1;
		kfree(s);
	}
	kvfree(h->spans);
	for (o = 0; o <= UH_MAX_ORDER; o++)
		kvfree(h->free_map[o]);
	mem_cgroup_put(h->memcg);
	fput(h->shm);
	kfree(h);
}

/**
 * user_get() - the entry of the current user (real uid), one heap more
 * @unlimited: the opener has CAP_SYS_RESOURCE: user_heaps_max does not
 *	apply
 *
 * Called with mag_uheaps_mutex held.
 *
 * Return: the entry, ERR_PTR(-EMFILE) at user_heaps_max heaps, or
 * ERR_PTR(-ENOMEM).
 */
static struct mag_uuser *user_get(bool unlimited)
{
	kuid_t uid = current_uid();
	struct mag_uuser *u;

	hash_for_each_possible(mag_users, u, node, __kuid_val(uid)) {
		if (!uid_eq(u->uid, uid))
			continue;
		if (u->heaps >= READ_ONCE(user_heaps_max) && !unlimited)
			return ERR_PTR(-EMFILE);
		u->heaps++;
		return u;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		return ERR_PTR(-ENOMEM);
	u->uid = uid;
	u->heaps = 1;
	atomic64_set(&u->bytes, 0);
	hash_add(mag_users, &u->node, __kuid_val(uid));
	return u;
}

/**
 * user_put() - one heap of @u less; the entry goes with its last
 * @u: the entry
 *
 * Called with mag_uheaps_mutex held.
 */
static void user_put(struct mag_uuser *u)
{
	if (--u->heaps)
		return;
	hash_del(&u->node);
	kfree(u);
}

static int mag_open(struct inode *inode, struct file *file)
{
	bool unlimited = capable(CAP_SYS_RESOURCE);
	struct mag_uuser *u;
	struct mag_uheap *h;

	mutex_lock(&mag_uheaps_mutex);
	u = user_get(unlimited);
	mutex_unlock(&mag_uheaps_mutex);
	if (IS_ERR(u))
		return PTR_ERR(u);
	h = uheap_create();
	mutex_lock(&mag_uheaps_mutex);
	if (!h) {
		user_put(u);
		mutex_unlock(&mag_uheaps_mutex);
		return -ENOMEM;
	}
	h->user = u;
	h->unlimited = unlimited;
	file->private_data = h;
	list_add_tail(&h->link, &mag_uheaps);
	mutex_unlock(&mag_uheaps_mutex);
	return 0;
}

static int mag_release(struct inode *inode, struct file *file)
{
	struct mag_uheap *h = file->private_data;
	struct mag_uuser *u = h->user;

	mutex_lock(&mag_uheaps_mutex);
	list_del(&h->link);
	mutex_unlock(&mag_uheaps_mutex);
	/* no span is left to release its bytes one by one */
	atomic64_sub(h->charged, &u->bytes);
	uheap_destroy(h);
	mutex_lock(&mag_uheaps_mutex);
	user_put(u);
	mutex_unlock(&mag_uheaps_mutex);
	return 0;
}

/*
 * The page at vmf->pgoff, if a live span covers it: read in through shmem
 * (allocated zeroed or swapped in), returned locked (VM_FAULT_LOCKED), for
 * the fault code to map and unlock.
 */
static vm_fault_t mag_fault(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_private_data;
	struct mag_uheap *h = file->private_data;
	pgoff_t pg = vmf->pgoff;
	struct mem_cgroup *old;
	struct page *page;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&h->lock);
	/* beyond what the heap has grown to: no span, as below it */
	if (pg >= h->grown || !h->spans[pg])
		goto out;
	/*
	 * Charged to the opener's cgroup, whoever touches: shmem charges
	 * the active memcg when it is given no mm (no vma).  At the
	 * opener's memory.max the toucher gets SIGBUS: VM_FAULT_OOM would
	 * retry the fault for ever when the toucher is in another cgroup
	 * (the OOM handling looks at the toucher's), and
	 * __GFP_RETRY_MAYFAIL keeps the opener's cgroup from an OOM kill
	 * that another cgroup's task caused.  A page swapped out comes
	 * back charged to the cgroup it was charged to.
	 */
	old = set_active_memcg(h->memcg);
	page = shmem_read_mapping_page_gfp(h->shm->f_mapping, pg,
					   GFP_HIGHUSER_MOVABLE | __GFP_RETRY_MAYFAIL |
					   __GFP_NOWARN);
	set_active_memcg(old);
	if (IS_ERR(page))
		goto out;
	/*
	 * Locked before heap->lock goes: a free of the span, which
	 * truncates under heap->lock, waits for the page to be mapped and
	 * then unmaps it.
	 */
	lock_page(page);
	vmf->page = page;
	ret = VM_FAULT_LOCKED;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/* A mapping copied (fork(), a split, mremap()) holds the file too. */
static void mag_vm_open(struct vm_area_struct *vma)
{
	get_file(vma->vm_private_data);
}

/* fput() defers the release: never run from here, under mmap_lock */
static void mag_vm_close(struct vm_area_struct *vma)
{
	fput(vma->vm_private_data);
}

/*
 * No ->map_pages (fault-around): every page is mapped through mag_fault(),
 * which checks that a live span covers it.  A ->close also keeps the
 * kernel from merging the heap's mappings with each other.
 */
static const struct vm_operations_struct mag_vm_ops = {
	.open = mag_vm_open,
	.close = mag_vm_close,
	.fault = mag_fault,
};

static int mag_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mag_uheap *h = file->private_data;

	/*
	 * MAP_SHARED: VM_MAYSHARE, for a read-only descriptor's shared
	 * mapping has no VM_SHARED (do_mmap() drops it with VM_MAYWRITE).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE) || vma->vm_pgoff ||
	    vma_pages(vma) > h->npages)
		return -EINVAL;
	/* data only: never executable, nor made so later by mprotect() */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	mag_vm_flags_clear(vma, VM_MAYEXEC);
	/*
	 * Shmem pages, never grown by mremap() (VM_DONTEXPAND, which also
	 * makes mlock() fault the pages in without locking them), shared
	 * with forked children.  VM_NOHUGEPAGE: the heap's shmem file gets
	 * huge pages only if shmem_enabled is "force" (see mag_uheap_init()),
	 * and a PMD mapping of one would map its pages of other spans (live,
	 * or freed and so zeroed) without mag_fault()'s check; 6.12's
	 * do_set_pmd() refuses it for VM_NOHUGEPAGE, which MADV_HUGEPAGE
	 * clears: "force" is not supported.
	 */
	mag_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_NOHUGEPAGE);
	/*
	 * A mapping of the shmem file: what looks at vma->vm_file (smaps'
	 * shmem swap count, futex keys, rmap) sees shmem's own inode and
	 * address_space.  This file, and so the heap, is held through
	 * vm_private_data.
	 */
	vma_set_file(vma, h->shm);
	vma->vm_private_data = get_file(file);
	vma->vm_ops = &mag_vm_ops;
	return 0;
}

static int check_zero(const void *p, size_t len)
{
	return memchr_inv(p, 0, len) ? -EINVAL : 0;
}

static long ioc_query(struct mag_uheap *h, void __user *uarg)
{
	struct magalloc_query q;
	struct magalloc_class c = {};
	struct magalloc_class __user *uc;
	unsigned int cls;

	if (copy_from_user(&q, uarg, sizeof(q)))
		return -EFAULT;
	if (mag_query_fill(&q))
		return -EINVAL;
	q.heap_size = (u64)h->npages << PAGE_SHIFT;
	q.max_alloc = min_t(u64, UH_MAX_ALLOC, q.heap_size);
	q.cap = READ_ONCE(h->cap);
	q.max_bulk = MAGALLOC_MAX_BULK;
	uc = u64_to_user_ptr(q.classes);
	/* a table of 0 is no table, whatever its length says (uapi) */
	for (cls = 1; uc && cls < MAG_NR_CLASSES && cls <= q.classes_len; cls++) {
		c.size = mag_class_size[cls];
		c.span_bytes = PAGE_SIZE << mag_class_order[cls];
		c.objects = mag_class_objects[cls];
		if (copy_to_user(&uc[cls - 1], &c, sizeof(c)))
			return -EFAULT;
	}
	return copy_to_user(uarg, &q, sizeof(q)) ? -EFAULT : 0;
}

static long ioc_alloc(struct mag_uheap *h, void __user *uarg)
{
	struct magalloc_alloc a;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.reserved || !a.size ||
	    a.size > min_t(u64, UH_MAX_ALLOC, (u64)h->npages << PAGE_SHIFT))
		return -EINVAL;
	mutex_lock(&h->lock);
	ret = uheap_alloc(h, a.size, &a.offset);
	mutex_unlock(&h->lock);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		mutex_lock(&h->lock);
		uheap_free(h, a.offset);
		mutex_unlock(&h->lock);
		return -EFAULT;
	}
	return 0;
}

static long ioc_free(struct mag_uheap *h, void __user *uarg)
{
	struct magalloc_free f;
	int ret;

	if (copy_from_user(&f, uarg, sizeof(f)))
		return -EFAULT;
	if (f.flags || f.reserved)
		return -EINVAL;
	mutex_lock(&h->lock);
	ret = uheap_free(h, f.offset);
	mutex_unlock(&h->lock);
	return ret;
}

/*
 * The bulk ioctls copy the offsets through a buffer of their own (on the
 * stack up to BULK_ON_STACK entries, else allocated), and copy from and
 * to userspace holding no lock: a sharer whose copy stalls (a page that
 * userfaultfd or a slow file must bring in) stalls no one else.  The
 * struct is written back once, with @done, before FREE_BULK frees
 * anything: a struct that cannot be written fails with -EFAULT and
 * nothing freed.
 */
#define BULK_ON_STACK	64

static long ioc_bulk(struct mag_uheap *h, void __user *uarg, bool alloc)
{
	struct magalloc_bulk __user *ub = uarg;
	u64 stack_offs[BULK_ON_STACK];
	struct magalloc_bulk b;
	u64 __user *uoffs;
	u64 *offs = stack_offs;
	long ret = 0;
	u32 i;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (b.flags || b.reserved || !b.count || b.count > MAGALLOC_MAX_BULK ||
	    (alloc ? !b.size || b.size > MAG_MAX_SMALL : b.size))
		return -EINVAL;
	uoffs = u64_to_user_ptr(b.offsets);
	if (put_user(0, &ub->done))
		return -EFAULT;
	if (b.count > BULK_ON_STACK) {
		offs = kvmalloc_array(b.count, sizeof(*offs), GFP_KERNEL_ACCOUNT);
		if (!offs)
			return -ENOMEM;
	}
	if (!alloc && copy_from_user(offs, uoffs, b.count * sizeof(*offs))) {
		ret = -EFAULT;
		goto out;
	}
	mutex_lock(&h->lock);
	if (alloc) {
		i = mag_should_fail(b.size * b.count, GFP_KERNEL) ? 0 :
		    uheap_alloc_small(h, mag_size_class(b.size), offs, b.count);
		ret = i ? 0 : -ENOMEM;
	} else {
		for (i = 0; i < b.count; i++) {
			ret = uheap_free(h, offs[i]);
			if (ret)
				break;
		}
	}
	mutex_unlock(&h->lock);
	/* partial success: done < count */
	if (alloc) {
		if (copy_to_user(uoffs, offs, i * sizeof(*offs)) || put_user(i, &ub->done)) {
			mutex_lock(&h->lock);
			while (i--)
				uheap_free(h, offs[i]);
			mutex_unlock(&h->lock);
			ret = -EFAULT;
		}
	} else if (put_user(i, &ub->done)) {
		/* written a moment ago: another thread changed the mapping */
		ret = -EFAULT;
	}
out:
	if (offs != stack_offs)
		kvfree(offs);
	return ret;
}

static long ioc_stats(struct mag_uheap *h, void __user *uarg)
{
	struct magalloc_class_stats cs[MAG_NR_CLASSES];
	struct magalloc_stats st;
	unsigned int cls, n;

	if (copy_from_user(&st, uarg, sizeof(st)))
		return -EFAULT;
	if (st.flags || check_zero(st.reserved, sizeof(st.reserved)))
		return -EINVAL;
	mutex_lock(&h->lock);
	st.cap = h->cap;
	st.charged = h->charged;
	st.resident = uheap_resident(h);
	st.live_bytes = h->live_bytes;
	st.allocs = h->allocs;
	st.frees = h->frees;
	st.failed_allocs = h->failed_allocs;
	st.bad_frees = h->bad_frees;
	st.bad_requests = h->bad_requests;
	st.live_objects = 0;
	for (cls = 0; cls < MAG_NR_CLASSES; cls++) {
		st.live_objects += h->live[cls];
		cs[cls].objects = h->live[cls];
		cs[cls].spans = h->nr_spans[cls];
		cs[cls].bytes = (u64)h->nr_spans[cls] << (PAGE_SHIFT + mag_class_order[cls]);
	}
	mutex_unlock(&h->lock);
	n = st.classes ? min_t(unsigned int, st.classes_len, MAG_NR_CLASSES - 1) : 0;
	if (n && copy_to_user(u64_to_user_ptr(st.classes), &cs[1], n * sizeof(cs[0])))
		return -EFAULT;
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long ioc_set_cap(struct mag_uheap *h, void __user *uarg)
{
	struct magalloc_cap c;
	long ret = 0;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	if (c.flags || c.reserved)
		return -EINVAL;
	mutex_lock(&h->lock);
	if (c.cap > h->cap && !capable(CAP_SYS_RESOURCE))
		ret = -EPERM;
	else
		h->cap = c.cap;
	mutex_unlock(&h->lock);
	return ret;
}

static long mag_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mag_uheap *h = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	/* what changes the heap needs a descriptor opened for writing */
	if (cmd != MAGALLOC_IOC_QUERY && cmd != MAGALLOC_IOC_STATS &&
	    _IOC_TYPE(cmd) == MAGALLOC_IOC_MAGIC && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	switch (cmd) {
	case MAGALLOC_IOC_QUERY:
		ret = ioc_query(h, uarg);
		break;
	case MAGALLOC_IOC_ALLOC:
		ret = ioc_alloc(h, uarg);
		break;
	case MAGALLOC_IOC_FREE:
		ret = ioc_free(h, uarg);
		break;
	case MAGALLOC_IOC_ALLOC_BULK:
		ret = ioc_bulk(h, uarg, true);
		break;
	case MAGALLOC_IOC_FREE_BULK:
		ret = ioc_bulk(h, uarg, false);
		break;
	case MAGALLOC_IOC_STATS:
		ret = ioc_stats(h, uarg);
		break;
	case MAGALLOC_IOC_SET_CAP:
		ret = ioc_set_cap(h, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	if (ret == -EINVAL || ret == -EFAULT || ret == -ENOTTY) {
		mutex_lock(&h->lock);
		h->bad_requests++;
		mutex_unlock(&h->lock);
	}
	return ret;
}

const struct file_operations mag_fops = {
	.owner		= THIS_MODULE,
	.open		= mag_open,
	.release	= mag_release,
	.mmap		= mag_mmap,
	.unlocked_ioctl	= mag_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * mag_uheaps_show() - the class table of every open heap, for debugfs
 * @m: the seq_file
 */
void mag_uheaps_show(struct seq_file *m)
{
	struct mag_uheap *h;
	unsigned int cls, n = 0;

	mutex_lock(&mag_uheaps_mutex);
	list_for_each_entry(h, &mag_uheaps, link) {
		mutex_lock(&h->lock);
		seq_printf(m, "heap %u cap %llu charged %llu resident %llu live_bytes %llu allocs %llu frees %llu failed %llu bad_frees %llu bad_requests %llu range %llu grown %llu metadata %zu\n",
			   n++, h->cap, h->charged, uheap_resident(h), h->live_bytes,
			   h->allocs, h->frees, h->failed_allocs, h->bad_frees,
			   h->bad_requests, (u64)h->npages << PAGE_SHIFT,
			   (u64)h->grown << PAGE_SHIFT, uheap_meta(h));
		for (cls = 0; cls < MAG_NR_CLASSES; cls++)
			if (h->live[cls] || h->nr_spans[cls])
				seq_printf(m, "  class %u size %u objects %lu spans %lu\n", cls,
					   mag_class_size[cls], h->live[cls], h->nr_spans[cls]);
		mutex_unlock(&h->lock);
	}
	mutex_unlock(&mag_uheaps_mutex);
}

/**
 * mag_uheap_init() - mount the tmpfs of the heaps' shmem files
 *
 * Return: 0, or a negative errno.
 */
int mag_uheap_init(void)
{
	/* parsed in place; tmpfs knows "huge" only with THP built in */
	char opts[] = "huge=never";
	struct file_system_type *type = get_fs_type("tmpfs");

	/* built in (shmem), so get_fs_type() took no module reference */
	if (!type)
		return -ENODEV;
	mag_shm_mnt = vfs_kern_mount(type, SB_KERNMOUNT, type->name,
				     IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) ? opts : NULL);
	return PTR_ERR_OR_ZERO(mag_shm_mnt);
}

/**
 * mag_uheap_exit() - unmount it
 *
 * Shmem files still open (their last fput() pending) hold the mount's
 * superblock themselves.
 */
void mag_uheap_exit(void)
{
	kern_unmount(mag_shm_mnt);
}
