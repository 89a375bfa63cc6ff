// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc page heap: Go's mheap, as a buddy allocator over arenas.
 *
 * Each NUMA node has one struct mag_heap.  It takes arenas, naturally
 * aligned blocks of 2^MAG_ARENA_ORDER pages (2 MiB), from the kernel's page
 * allocator on that node, keeps the first MAG_HDR_PAGES pages of each for
 * the arena header and hands out the rest as buddy blocks: a request for
 * 2^k pages splits the smallest free block that fits, and a freed block
 * merges with its buddy as long as the buddy is free and of the same order.
 * Free blocks are linked through their own first bytes, so the heap needs
 * no memory besides the arena headers.
 *
 * Spans (runs of pages for small objects, or one large object) record
 * themselves in the arena header, one pointer per page: mag_span_of() of
 * any interior pointer is a mask, a shift and a load.  Large objects take
 * exactly the pages they need: the tail of their buddy block is freed
 * again at once.  Objects larger than MAG_LARGE_MAX (half an arena) go to
 * the kernel's page allocator and are tracked in an xarray by pfn; their
 * addresses are arena-aligned, which no arena object ever is.
 *
 * An arena whose pages are all free again goes back to the kernel when
 * mag_heap_release() runs (trim, shrinker, unload).
 *
 * Loose blocks.  Under fragmentation a node can have plenty of free memory
 * and no free block of 2 MiB, where kmalloc() still gets its slab of a few
 * pages.  A span (or large object) that no arena can hold then takes a
 * block of exactly its pages from the page allocator on the same node, as
 * a slab would.  mag_span_of() finds it in a second registry (mag_loose,
 * one entry per page); mag_free()'s fast path never does (the 2 MiB
 * boundary below a loose block is no arena's, and no loose block starts on
 * one), so its objects are freed through the slow path.  Its pages go back
 * to the kernel as soon as the span is released.
 *
 * Locking: heap->lock (irq-safe) protects the free lists, the arena list
 * and the heap-side fields of the arena headers.  It nests inside a
 * central's lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kmemleak.h>
#include <linux/log2.h>
#include <linux/memcontrol.h>
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat.h"
#include "internal.h"
#include "trace.h"

#ifdef MAX_PAGE_ORDER
#define MAG_PAGE_ALLOC_MAX_ORDER	MAX_PAGE_ORDER
#else
#define MAG_PAGE_ALLOC_MAX_ORDER	(MAX_ORDER - 1)
#endif

struct mag_heap **mag_heaps;

/*
 * Live arenas by physical address >> (PAGE_SHIFT + MAG_ARENA_ORDER): the
 * registry that lets slow paths check a pointer without reading memory
 * magalloc may not own.
 */
static DEFINE_XARRAY_FLAGS(mag_arenas, XA_FLAGS_LOCK_IRQ);

static unsigned long arena_key(const void *p)
{
	return __pa(p) >> (PAGE_SHIFT + MAG_ARENA_ORDER);
}

unsigned long mag_arena_magic __ro_after_init;
EXPORT_SYMBOL_GPL(mag_arena_magic);

/**
 * mag_registry_store() - record @entry at @index of a registry
 * @xa: mag_arenas or mag_huge (or a test's)
 * @index: the key
 * @entry: the entry
 * @gfp: the caller's allocation flags
 *
 * The xarray first tries GFP_NOWAIT for a node it needs; if that fails,
 * it allocates with the caller's reclaim permission (mag_meta_gfp()), so
 * a GFP_NOFS or GFP_NOIO caller never recurses into filesystems or I/O
 * here, and __GFP_NOFAIL holds.
 *
 * Return: 0 or -ENOMEM.
 */
int mag_registry_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	unsigned long flags;
	void *old;

	MAG_STATIC_STUB(mag_registry_store, xa, index, entry, gfp);
	xa_lock_irqsave(xa, flags);
	old = __xa_store(xa, index, entry, mag_meta_gfp(gfp) | (gfp & __GFP_NOFAIL));
	xa_unlock_irqrestore(xa, flags);
	return xa_err(old);
}

/* Loose blocks (see above): pfn -> span, for each of their pages. */
static DEFINE_XARRAY_FLAGS(mag_loose, XA_FLAGS_LOCK_IRQ);

/* Huge objects: pfn -> number of pages, as an xarray value. */
static DEFINE_XARRAY_FLAGS(mag_huge, XA_FLAGS_LOCK_IRQ);

unsigned int mag_order_of(unsigned int npages)
{
	return order_base_2(npages);
}

static void *block_addr(struct mag_arena *a, unsigned int idx)
{
	return (void *)a + ((unsigned long)idx << PAGE_SHIFT);
}

#define ARENA_FREE_PAGES	(MAG_ARENA_PAGES - MAG_HDR_PAGES)

static void block_insert(struct mag_heap *h, struct mag_arena *a,
			 unsigned int idx, unsigned int order)
{
	a->free_order[idx] = order;
	list_add(block_addr(a, idx), &h->free[order]);
	a->nr_free += 1U << order;
	h->free_pages += 1UL << order;
	if (a->nr_free == ARENA_FREE_PAGES)
		h->free_arenas++;
}

static void block_remove(struct mag_heap *h, struct mag_arena *a,
			 unsigned int idx, unsigned int order)
{
	if (a->nr_free == ARENA_FREE_PAGES)
		h->free_arenas--;
	a->free_order[idx] = MAG_NOT_FREE;
	list_del(block_addr(a, idx));
	a->nr_free -= 1U << order;
	h->free_pages -= 1UL << order;
}

/* Free one aligned block and merge it with its free buddies. */
static void buddy_free(struct mag_heap *h, struct mag_arena *a,
		       unsigned int idx, unsigned int order)
{
	while (order < MAG_BLOCK_MAX_ORDER) {
		unsigned int buddy = idx ^ (1U << order);

		/* The header pages are never free, so they stop merging. */
		if (a->free_order[buddy] != order)
			break;
		block_remove(h, a, buddy, order);
		idx &= ~(1U << order);
		order++;
	}
	block_insert(h, a, idx, order);
}

/* Free pages [start, end) of an arena as maximal aligned blocks. */
static void free_range(struct mag_heap *h, struct mag_arena *a,
		       unsigned int start, unsigned int end)
{
	while (start < end) {
		unsigned int order = min_t(unsigned int, __ffs(start), ilog2(end - start));

		order = min_t(unsigned int, order, MAG_BLOCK_MAX_ORDER);
		buddy_free(h, a, start, order);
		start += 1U << order;
	}
}

/* Take a free block of @order, splitting a larger one if needed. */
static struct mag_arena *block_alloc(struct mag_heap *h, unsigned int order,
				     unsigned int *idxp)
{
	struct mag_arena *a;
	unsigned int o, idx;
	void *blk;

	for (o = order; o <= MAG_BLOCK_MAX_ORDER; o++)
		if (!list_empty(&h->free[o]))
			break;
	if (o > MAG_BLOCK_MAX_ORDER)
		return NULL;
	blk = h->free[o].next;
	a = mag_arena_of(blk);
	idx = mag_page_index(blk);
	block_remove(h, a, idx, o);
	while (o > order) {
		o--;
		block_insert(h, a, idx + (1U << o), o);
	}
	*idxp = idx;
	return a;
}

/* Pages for @h; a cgroup's heap has them charged to it (memcg.c). */
static struct page *heap_pages(struct mag_heap *h, gfp_t gfp, unsigned int order)
{
	struct page *page;

#ifdef CONFIG_MEMCG
	if (h->memcg) {
		struct mem_cgroup *old = set_active_memcg(h->memcg);

		page = alloc_pages_node(h->node, gfp | __GFP_ACCOUNT, order);
		set_active_memcg(old);
		return page;
	}
#endif
	page = alloc_pages_node(h->node, gfp, order);
	return page;
}

/* Exactly @npages pages of the block of 2^@order at @page: the tail is freed. */
static void *pages_exact(struct page *page, unsigned int order, unsigned long npages)
{
	unsigned long i;

	if (!page)
		return NULL;
	split_page(page, order);
	for (i = npages; i < (1UL << order); i++)
		__free_page(page + i);
	return page_address(page);
}

/* Add a new arena to @h.  May sleep if @gfp allows. */
static int heap_grow(struct mag_heap *h, gfp_t gfp)
{
	struct mag_arena *a;
	struct page *page;
	unsigned long flags;
	unsigned int i;

	BUILD_BUG_ON(sizeof(struct mag_arena) > MAG_HDR_PAGES * PAGE_SIZE);
	page = heap_pages(h, mag_arena_gfp(gfp), MAG_ARENA_ORDER);
	if (!page)
		return -ENOMEM;
	a = page_address(page);
	memset(a, 0, sizeof(*a));
	memset(a->free_order, MAG_NOT_FREE, sizeof(a->free_order));
	for (i = 0; i < MAG_ARENA_PAGES; i++)
		a->cpu[i] = &mag_dummy_cpu;
	a->node = h->node;
	a->heap = h;
	if (mag_registry_store(&mag_arenas, arena_key(a), a, gfp)) {
		free_pages((unsigned long)a, MAG_ARENA_ORDER);
		return -ENOMEM;
	}
	/*
	 * The magic only once the arena is registered: mag_free()'s fast
	 * path takes any page that starts with it for a live arena's header,
	 * and a store that failed after the magic was written gave it back to
	 * the kernel with the magic still in it; a later free of an object in
	 * a loose block of that 2 MiB then read a stale, NULL magazine pointer
	 * (an oops in mag_free(), kunit-rt, stop 27).  No object of the arena
	 * exists before free_range() below.
	 */
	WRITE_ONCE(a->magic, mag_arena_magic);
	/*
	 * The header holds the only pointers to span descriptors: a kmemleak
	 * object that is scanned and never reported.  The objects in the
	 * arena are kmemleak objects of their own while allocated
	 * (mag_alloc_hook()), as SLUB's are.
	 */
	kmemleak_alloc(a, sizeof(*a), 0, gfp);
	trace_magalloc_arena_grow(h->node, a);

	spin_lock_irqsave(&h->lock, flags);
	list_add(&a->link, &h->arenas);
	h->nr_arenas++;
	free_range(h, a, MAG_HDR_PAGES, MAG_ARENA_PAGES);
	spin_unlock_irqrestore(&h->lock, flags);
	return 0;
}

/*
 * A cgroup's heap takes loose blocks only where an arena failed for want
 * of a free 2 MiB block, not for want of room under memory.max (of the
 * cgroup or an ancestor): there the request fails as it did, and the
 * cgroup keeps the headroom below its limit that an arena's charge left.
 */
static bool memcg_has_room(struct mem_cgroup *memcg)
{
#ifdef CONFIG_MEMCG
	struct page_counter *c;

	for (c = &memcg->memory; c; c = c->parent)
		if (page_counter_read(c) + MAG_ARENA_PAGES > READ_ONCE(c->max))
			return false;
#endif
	return true;
}

/*
 * A loose block of @npages pages for @span, from @h's node.  Only the node
 * asked for (the caller tries the others next) and no hard retry; a small
 * span may use the reserves __GFP_HIGH opens, as a slab would, a costly one
 * not.  A block that starts on a 2 MiB boundary is held aside and another
 * one taken: mag_free() would read its first word as an arena's magic, and
 * free_other() would take it for a huge object.
 */
static void *loose_alloc(struct mag_heap *h, unsigned int npages, gfp_t gfp,
			 struct mag_span *span)
{
	unsigned int order = get_order((size_t)npages << PAGE_SHIFT), n = 0, i;
	gfp_t lgfp = mag_meta_gfp(gfp) | __GFP_THISNODE | __GFP_NORETRY;
	unsigned long pfn, flags;
	void *held[3], *p;

	if (h->memcg && !memcg_has_room(h->memcg))
		return NULL;
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		lgfp = (lgfp & ~__GFP_HIGH) | __GFP_NOMEMALLOC;
	for (;;) {
		p = pages_exact(heap_pages(h, lgfp, order), order, npages);
		if (!p || !IS_ALIGNED((unsigned long)p, MAG_ARENA_SIZE))
			break;
		if (n == ARRAY_SIZE(held)) {
			free_pages_exact(p, (size_t)npages << PAGE_SHIFT);
			p = NULL;
			break;
		}
		held[n++] = p;
	}
	while (n--)
		free_pages_exact(held[n], (size_t)npages << PAGE_SHIFT);
	if (!p)
		return NULL;
	pfn = __pa(p) >> PAGE_SHIFT;
	for (i = 0; i < npages; i++) {
		if (mag_registry_store(&mag_loose, pfn + i, span, gfp)) {
			while (i--)
				xa_erase_irq(&mag_loose, pfn + i);
			free_pages_exact(p, (size_t)npages << PAGE_SHIFT);
			return NULL;
		}
	}
	span->base = p;
	span->npages = npages;
	span->order = order;
	span->loose = true;
	spin_lock_irqsave(&h->lock, flags);
	h->loose_pages += npages;
	h->loose_blocks++;
	spin_unlock_irqrestore(&h->lock, flags);
	return p;
}

/* A loose span's pages go back to the kernel (mag_heap_free()). */
static void loose_free(struct mag_span *span)
{
	unsigned long pfn = __pa(span->base) >> PAGE_SHIFT, flags, i;
	struct mag_heap *h = span->heap;

	xa_lock_irqsave(&mag_loose, flags);
	for (i = 0; i < span->npages; i++)
		__xa_erase(&mag_loose, pfn + i);
	xa_unlock_irqrestore(&mag_loose, flags);
	spin_lock_irqsave(&h->lock, flags);
	h->loose_pages -= span->npages;
	spin_unlock_irqrestore(&h->lock, flags);
	free_pages_exact(span->base, (size_t)span->npages << PAGE_SHIFT);
}

static void set_span(struct mag_span *span, struct mag_span *val,
		     struct mag_cpu __percpu *pcpu)
{
	struct mag_arena *a = mag_arena_of(span->base);
	unsigned int i, idx = mag_page_index(span->base);

	for (i = 0; i < span->npages; i++) {
		WRITE_ONCE(a->span[idx + i], val);
		WRITE_ONCE(a->cpu[idx + i], pcpu && !want_init_on_free() ?
			   pcpu : &mag_dummy_cpu);
	}
}

/**
 * mag_heap_alloc() - take @npages pages from a node's heap for a span
 * @h: the node's heap
 * @npages: pages wanted, at most 2^MAG_BLOCK_MAX_ORDER
 * @gfp: allocation flags for a new arena, if one is needed
 * @span: descriptor to fill in (base, npages, order) and register
 * @pcpu: the per-CPU magazines mag_free()'s fast path is to push the
 *	span's objects to, or NULL (large objects); with init_on_free every
 *	free must zero the object, and the fast path is kept off
 *
 * Small spans ask for a power of two; large objects for their exact page
 * count, and the rest of the buddy block is freed at once.  Where no arena
 * can be had, a loose block of the node's.
 *
 * Return: the first byte, or NULL.
 */
void *mag_heap_alloc(struct mag_heap *h, unsigned int npages, gfp_t gfp,
		     struct mag_span *span, struct mag_cpu __percpu *pcpu)
{
	unsigned int order = mag_order_of(npages), idx;
	struct mag_arena *a;
	unsigned long flags;

	if (order > MAG_BLOCK_MAX_ORDER)
		return NULL;
	span->heap = h;
	for (;;) {
		spin_lock_irqsave(&h->lock, flags);
		a = block_alloc(h, order, &idx);
		if (a) {
			if (npages < (1U << order))
				free_range(h, a, idx + npages, idx + (1U << order));
			span->base = block_addr(a, idx);
			span->npages = npages;
			span->order = order;
			set_span(span, span, pcpu);
			spin_unlock_irqrestore(&h->lock, flags);
			return span->base;
		}
		spin_unlock_irqrestore(&h->lock, flags);
		if (heap_grow(h, gfp))
			return loose_alloc(h, npages, gfp, span);
	}
}

/**
 * mag_heap_free() - give a span's pages back to its heap
 * @span: the span; its descriptor stays the caller's to free
 */
void mag_heap_free(struct mag_span *span)
{
	struct mag_arena *a = mag_arena_of(span->base);
	struct mag_heap *h = span->heap;
	unsigned int idx = mag_page_index(span->base);
	unsigned long flags;

	/* under KASAN: the heap links free blocks through their bytes */
	mag_kasan_unpoison(span->base, (size_t)span->npages << PAGE_SHIFT);
	if (span->loose) {
		loose_free(span);
		return;
	}
	spin_lock_irqsave(&h->lock, flags);
	set_span(span, NULL, NULL);
	free_range(h, a, idx, idx + span->npages);
	spin_unlock_irqrestore(&h->lock, flags);
}

/**
 * mag_span_of() - the span that owns an arena address
 * @p: a pointer into an arena
 *
 * Safe for any pointer: the arena is looked up in the registry before
 * anything is read from it.  The caller is in an RCU read-side critical
 * section (a spinlock or disabled preemption is one) until it is done
 * with the span: arenas and span descriptors are freed after a grace
 * period.
 *
 * Return: the span, or NULL if @p is in no live arena or loose block, or
 * no span owns it.
 */
struct mag_span *mag_span_of(const void *p)
{
	struct mag_arena *a;

	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(), "span lookup outside RCU");
	if ((long)p >= 0 || !virt_addr_valid(p))
		return NULL;
	a = xa_load(&mag_arenas, arena_key(p));
	if (!a)
		return xa_load(&mag_loose, __pa(p) >> PAGE_SHIFT);
	if (mag_page_index(p) < MAG_HDR_PAGES)
		return NULL;
	return READ_ONCE(a->span[mag_page_index(p)]);
}

/*
 * An arena goes back to the kernel a grace period after it left the
 * registry: mag_span_of() readers (RCU) and fast paths (preemption off)
 * that read its header before may still be looking.
 */
static void arena_free_rcu(struct rcu_head *rcu)
{
	struct mag_arena *a = container_of(rcu, struct mag_arena, rcu);

	kmemleak_free(a);
	free_pages((unsigned long)a, MAG_ARENA_ORDER);
}

/**
 * mag_heap_release() - give fully free arenas back to the kernel
 * @h: the node's heap
 * @keep: free arenas to keep for future spans
 *
 * Return: pages released.
 */
unsigned long mag_heap_release(struct mag_heap *h, unsigned int keep)
{
	struct mag_arena *a, *tmp;
	unsigned long flags, released = 0;
	LIST_HEAD(victims);

	spin_lock_irqsave(&h->lock, flags);
	list_for_each_entry_safe(a, tmp, &h->arenas, link) {
		unsigned int idx, order;

		if (a->nr_free != ARENA_FREE_PAGES)
			continue;
		if (keep) {
			keep--;
			continue;
		}
		/* A fully free arena is fully merged: one block per order. */
		for (idx = MAG_HDR_PAGES; idx < MAG_ARENA_PAGES; idx += 1U << order) {
			order = a->free_order[idx];
			block_remove(h, a, idx, order);
		}
		list_move(&a->link, &victims);
		h->nr_arenas--;
		h->arenas_released++;
	}
	spin_unlock_irqrestore(&h->lock, flags);

	list_for_each_entry_safe(a, tmp, &victims, link) {
		xa_erase_irq(&mag_arenas, arena_key(a));
		WRITE_ONCE(a->magic, 0);
		call_rcu(&a->rcu, arena_free_rcu);
		released += MAG_ARENA_PAGES;
	}
	if (released)
		trace_magalloc_arena_release(h->node, released / MAG_ARENA_PAGES);
	return released;
}

/**
 * mag_huge_alloc() - an object too large for an arena, from the kernel
 * @size: bytes, more than MAG_LARGE_MAX
 * @gfp: allocation flags
 * @node: NUMA node, or NUMA_NO_NODE
 *
 * Takes exactly the pages needed: the block is split and its tail freed.
 *
 * Return: the object (arena-aligned, as its order is at least
 * MAG_ARENA_ORDER), or NULL.
 */
static void *mag_huge_alloc(size_t size, gfp_t gfp, int node)
{
	unsigned long npages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned int order = get_order(size);
	void *p;

	if (order > MAG_PAGE_ALLOC_MAX_ORDER)
		return NULL;
	p = pages_exact(alloc_pages_node(node, (gfp & ~__GFP_COMP) | __GFP_NOWARN, order),
			order, npages);
	if (!p)
		return NULL;
	if (mag_registry_store(&mag_huge, __pa(p) >> PAGE_SHIFT, xa_mk_value(npages), gfp)) {
		free_pages_exact(p, npages << PAGE_SHIFT);
		return NULL;
	}
	return p;
}

/*
 * A large object from @node's heap or, without __GFP_THISNODE, from the
 * nearest other node's that can serve it, as the page allocator falls
 * back.  Its descriptor in *@sp.
 */
static void *large_alloc_near(struct mag_heap **heaps, size_t size, gfp_t gfp, int node,
			      struct mag_span **sp)
{
	nodemask_t tried = NODE_MASK_NONE;
	struct mag_span *s;
	void *p;

	do {
		node_set(node, tried);
		s = kzalloc_node(sizeof(*s), mag_meta_gfp(gfp), node);
		if (!s)
			return NULL;
		/* its @base would vouch for the object (internal.h) */
		kmemleak_ignore(s);
		s->state = MAG_SPAN_LARGE;
		p = mag_heap_alloc(heaps[node], DIV_ROUND_UP(size, PAGE_SIZE), gfp, s, NULL);
		if (p) {
			*sp = s;
			return p;
		}
		kfree(s);
		if (gfp & __GFP_THISNODE)
			return NULL;
		node = mag_nearest_node(node, &tried);
	} while (node != NUMA_NO_NODE);
	return NULL;
}

/**
 * mag_large_alloc() - an object of more than MAG_MAX_SMALL bytes
 * @size: bytes
 * @gfp: allocation flags (__GFP_ZERO and init_on_alloc honoured)
 * @node: NUMA node, or NUMA_NO_NODE for this CPU's
 *
 * Up to MAG_LARGE_MAX, exactly the pages needed from the node's heap;
 * beyond, from the kernel's page allocator.
 *
 * Return: the object, or NULL.
 */
void *mag_large_alloc(size_t size, gfp_t gfp, int node)
{
	if (node == NUMA_NO_NODE)
		node = mag_home_node();
	if (size > MAG_LARGE_MAX)
		return mag_huge_alloc(size, gfp, node);
	return mag_large_alloc_from(mag_heaps, size, gfp, node);
}

/**
 * mag_large_alloc_from() - a large object from given heaps
 * @heaps: per node, the heaps (a memory cgroup's, or mag_heaps)
 * @size: bytes, more than MAG_MAX_SMALL, at most MAG_LARGE_MAX
 * @gfp: allocation flags (__GFP_ZERO and init_on_alloc honoured)
 * @node: NUMA node
 *
 * Return: the object, or NULL.
 */
void *mag_large_alloc_from(struct mag_heap **heaps, size_t size, gfp_t gfp, int node)
{
	struct mag_heap *h;
	struct mag_span *s;
	unsigned long flags;
	void *p;

	while (!(p = large_alloc_near(heaps, size, gfp, node, &s)))
		if (!mag_retry(gfp))
			return NULL;
	h = s->heap;
	spin_lock_irqsave(&h->lock, flags);
	list_add(&s->link, &h->large);
	h->large_pages += s->npages;
	spin_unlock_irqrestore(&h->lock, flags);
	if (want_init_on_alloc(gfp))
		mag_memset_obj(p, 0, s->npages << PAGE_SHIFT);
	return p;
}

/**
 * mag_large_free() - free a large object from a heap
 * @s: its span, whose base the caller has checked
 */
void mag_large_free(struct mag_span *s)
{
	struct mag_heap *h = s->heap;
	unsigned long flags;

	if (want_init_on_free())
		mag_memset_obj(s->base, 0, s->npages << PAGE_SHIFT);
	spin_lock_irqsave(&h->lock, flags);
	list_del(&s->link);
	h->large_pages -= s->npages;
	spin_unlock_irqrestore(&h->lock, flags);
	mag_heap_free(s);
	kfree_rcu(s, rcu);
}

/**
 * mag_huge_size() - size of a huge object
 * @p: the pointer
 *
 * Return: its size in bytes (whole pages), or 0 if @p is not one.
 */
size_t mag_huge_size(const void *p)
{
	void *v;

	if (!virt_addr_valid(p))
		return 0;
	v = xa_load(&mag_huge, PHYS_PFN(__pa(p)));
	return v ? xa_to_value(v) << PAGE_SHIFT : 0;
}

/**
 * mag_huge_pages() - pages of every live huge object
 *
 * Return: the pages huge objects hold, all nodes (a walk of the registry).
 */
unsigned long mag_huge_pages(void)
{
	unsigned long index, pages = 0;
	void *v;

	xa_lock_irq(&mag_huge);
	xa_for_each(&mag_huge, index, v)
		pages += xa_to_value(v);
	xa_unlock_irq(&mag_huge);
	return pages;
}

/**
 * mag_heap_pages() - pages a heap holds from the page allocator
 * @h: the heap
 * @free: set to the pages of its arenas' free blocks
 *
 * Return: the pages of its arenas, headers and free blocks included, and
 * of its loose blocks.
 */
unsigned long mag_heap_pages(struct mag_heap *h, unsigned long *free)
{
	unsigned long flags, pages;

	spin_lock_irqsave(&h->lock, flags);
	pages = (h->nr_arenas << MAG_ARENA_ORDER) + h->loose_pages;
	*free = h->free_pages;
	spin_unlock_irqrestore(&h->lock, flags);
	return pages;
}

/**
 * mag_huge_free() - free a huge object
 * @p: the pointer
 *
 * Return: false if @p is not a huge object (nothing is done).
 */
bool mag_huge_free(const void *p)
{
	unsigned long flags;
	void *v;

	if (!virt_addr_valid(p))
		return false;
	xa_lock_irqsave(&mag_huge, flags);
	v = __xa_erase(&mag_huge, PHYS_PFN(__pa(p)));
	xa_unlock_irqrestore(&mag_huge, flags);
	if (!v)
		return false;
	mag_free_hook(p);
	free_pages_exact((void *)p, xa_to_value(v) << PAGE_SHIFT);
	return true;
}

/**
 * mag_heap_create() - a new, empty heap for a node
 * @node: the node its arenas come from
 * @gfp: allocation flags for the heap
 *
 * Return: the heap, or NULL.
 */
struct mag_heap *mag_heap_create(int node, gfp_t gfp)
{
	struct mag_heap *h = kzalloc_node(mag_line_size(sizeof(*h)), gfp, node);
	int i;

	if (!h)
		return NULL;
	spin_lock_init(&h->lock);
	h->node = node;
	for (i = 0; i <= MAG_BLOCK_MAX_ORDER; i++)
		INIT_LIST_HEAD(&h->free[i]);
	INIT_LIST_HEAD(&h->arenas);
	INIT_LIST_HEAD(&h->large);
	return h;
}

/**
 * mag_heap_destroy() - free a heap, its large objects and its free arenas
 * @h: the heap; all its small-object spans must be gone
 *
 * Reports large objects still allocated (they are freed) and arenas still
 * in use (they are leaked rather than freed under a user).
 */
void mag_heap_destroy(struct mag_heap *h)
{
	struct mag_span *s, *tmp;

	if (!list_empty(&h->large)) {
		pr_err("node %d: %lu pages of large objects still held at unload; freed\n",
		       h->node, h->large_pages);
		list_for_each_entry_safe(s, tmp, &h->large, link)
			mag_large_free(s);
	}
	mag_heap_release(h, 0);
	if (h->nr_arenas)
		pr_err("node %d: %lu arenas still in use; leaked\n", h->node, h->nr_arenas);
	if (h->loose_pages)
		pr_err("node %d: %lu pages of loose blocks still in use; leaked\n",
		       h->node, h->loose_pages);
	kfree(h);
}

int mag_heap_init(void)
{
	int node;

	while (!mag_arena_magic)
		mag_arena_magic = get_random_u64();
	mag_heaps = kcalloc(nr_node_ids, sizeof(*mag_heaps), GFP_KERNEL);
	if (!mag_heaps)
		return -ENOMEM;
	for_each_node(node) {
		mag_heaps[node] = mag_heap_create(node, GFP_KERNEL);
		if (!mag_heaps[node]) {
			mag_heap_exit();
			return -ENOMEM;
		}
	}
	return 0;
}

/* Unload: every pool is gone; free huge objects and the heaps. */
void mag_heap_exit(void)
{
	unsigned long idx, leaked = 0;
	void *v;
	int node;

	xa_for_each(&mag_huge, idx, v) {
		free_pages_exact(page_address(pfn_to_page(idx)), xa_to_value(v) << PAGE_SHIFT);
		leaked++;
	}
	xa_destroy(&mag_huge);
	if (leaked)
		pr_err("%lu huge objects still held at unload; freed\n", leaked);
	if (!mag_heaps)
		return;
	for_each_node(node)
		if (mag_heaps[node])
			mag_heap_destroy(mag_heaps[node]);
	kfree(mag_heaps);
	mag_heaps = NULL;
	xa_destroy(&mag_arenas);
	xa_destroy(&mag_loose);
	/* arena_free_rcu() is this module's code */
	rcu_barrier();
}
