// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc central lists: Go's mcentral, with Bonwick's magazine depot.
 *
 * Every pool (a size class of the generic allocator, or a typed cache) has
 * one struct mag_central per NUMA node.  Its spinlock protects:
 *
 *  - the spans of that pool on that node: @partial (some objects free) and
 *    @full (none free), and each span's allocation bitmap;
 *  - the depot: a stack of full magazines and a stack of empty ones.
 *
 * CPUs come here only when both of their magazines for the pool are empty
 * (alloc) or full (free), and they trade whole magazines: a full one for
 * an empty one or the reverse.  Only when the depot has no full magazine
 * is a magazine filled from spans, and only when the depot already holds
 * mag_depot_max full magazines are a magazine's objects put back into
 * their spans.  Objects coming back to spans are checked there: a pointer
 * that is not the start of an allocated object of this pool (a double
 * free, a foreign or misaligned pointer) is reported once and dropped.
 *
 * A span whose objects are all free again goes back to the page heap,
 * except the last partial one, kept to damp grow/shrink cycles.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"
#include "trace.h"

unsigned int mag_depot_max = 16;
module_param_named(depot_max, mag_depot_max, uint, 0644);
MODULE_PARM_DESC(depot_max, "full magazines a node's depot keeps per pool (default 16)");

static void *span_obj(struct mag_span *s, unsigned int i)
{
	return s->base + i * s->pool->size;
}

/*
 * Take up to @nr objects from the partial spans.  c->lock held.
 *
 * A word of the allocation bitmap at a time: its free objects are its
 * zero bits, taken lowest first and marked in one store.  (A
 * find_next_zero_bit() call per object made a refill of a magazine cost
 * about 40 instructions per object.)
 */
unsigned int mag_fill_locked(struct mag_central *c, void **objs, unsigned int nr)
{
	unsigned int n = 0;

	while (n < nr && !list_empty(&c->partial)) {
		struct mag_span *s = list_first_entry(&c->partial, struct mag_span, link);
		unsigned int words = BITS_TO_LONGS(s->nr_objs), k, taken = 0;

		mag_trace(s, true);
		for (k = 0; k < words && n < nr && taken < s->nr_free; k++) {
			unsigned long free = ~s->alloc[k], take = 0;

			if (k == words - 1)
				free &= BITMAP_LAST_WORD_MASK(s->nr_objs);
			while (free && n < nr) {
				unsigned long bit = __ffs(free);

				free &= free - 1;
				take |= BIT(bit);
				objs[n++] = span_obj(s, k * BITS_PER_LONG + bit);
				taken++;
			}
			if (take) {
				mag_trace(&s->alloc[k], true);
				s->alloc[k] |= take;
			}
		}
		s->nr_free -= taken;
		if (!s->nr_free)
			list_move(&s->link, &c->full);
	}
	c->nr_free_objs -= n;
	if (n)
		c->filled = true;
	return n;
}

/**
 * mag_span_release() - give a span back to the heap.  c->lock held.
 * @c: the central that holds it
 * @s: an ordinary or debug span, whose free objects are counted in @c
 */
void mag_span_release(struct mag_central *c, struct mag_span *s)
{
	list_del(&s->link);
	if (s->state == MAG_SPAN_DEBUG) {
		c->dbg_spans--;
		c->dbg_objs -= s->nr_objs;
		c->dbg_free -= s->nr_free;
	} else {
		c->nr_spans--;
		c->nr_free_objs -= s->nr_objs;
	}
	trace_magalloc_span_free(c->pool->name, c->node, s->base, s->npages, s->loose);
	mag_heap_free(s);
	kfree_rcu(s, rcu);
}

/*
 * Is @obj the start of an allocated object of @c's pool on @c's node?
 * Returns its span, or NULL after reporting it.  @last, if not NULL, is a
 * live span of @c (c->lock held since it was checked): a pointer inside
 * its pages is its own, as mag_span_of() would say, without the lookup
 * (an xarray walk, most of a flush's cost per object before).
 */
static struct mag_span *check_obj(struct mag_central *c, struct mag_span *last,
				  void *obj, unsigned int *idx)
{
	struct mag_span *s = last;
	unsigned long off;

	if (!s || (unsigned long)obj - (unsigned long)s->base >=
		  (unsigned long)s->npages << PAGE_SHIFT) {
		s = mag_span_of(obj);
		if (!s) {
			mag_report_bad_free(obj, MAG_BAD_FOREIGN, NULL);
			return NULL;
		}
		if (s->state != MAG_SPAN_SMALL || s->pool != c->pool ||
		    s->heap->node != c->node) {
			mag_report_bad_free(obj, MAG_BAD_POOL, c->pool);
			return NULL;
		}
	}
	off = obj - s->base;
	*idx = off / c->pool->size;
	if (off % c->pool->size || *idx >= s->nr_objs) {
		mag_report_bad_free(obj, MAG_BAD_INTERIOR, c->pool);
		return NULL;
	}
	if (!test_bit(*idx, s->alloc)) {
		mag_report_bad_free(obj, MAG_BAD_DOUBLE, c->pool);
		return NULL;
	}
	return s;
}

/*
 * Give @nr objects back to their spans.  c->lock held.  @freed: they come
 * from a caller's free (not from a magazine), so kmemleak hears of each.
 */
static void put_locked(struct mag_central *c, void **objs, unsigned int nr, bool freed)
{
	struct mag_span *s, *last = NULL;
	unsigned int i, idx;

	for (i = 0; i < nr; i++) {
		s = check_obj(c, last, objs[i], &idx);
		if (!s) {
			c->bad_frees++;
			continue;
		}
		/* a magazine's objects often come from a few spans */
		last = s;
		if (freed)
			mag_free_hook(objs[i]);
		mag_trace(s, true);
		mag_trace(&s->alloc[BIT_WORD(idx)], true);
		__clear_bit(idx, s->alloc);
		c->nr_free_objs++;
		if (s->nr_free++ == 0)
			list_move(&s->link, &c->partial);
		if (s->nr_free == s->nr_objs &&
		    !list_is_singular(&c->partial)) {
			mag_span_release(c, s);
			/* its pages may be another pool's span now */
			last = NULL;
		}
	}
}

/**
 * mag_central_alloc_one() - one object straight from the spans
 * @c: the central
 *
 * The path of allocations that cannot use magazines: from an interrupt
 * that landed in this CPU's fast path, for another node, or in debug mode.
 *
 * Return: an object, or NULL if no span has a free one (grow and retry).
 */
void *mag_central_alloc_one(struct mag_central *c)
{
	unsigned long flags;
	void *obj = NULL;

	spin_lock_irqsave(&c->lock, flags);
	c->locks++;
	mag_fill_locked(c, &obj, 1);
	spin_unlock_irqrestore(&c->lock, flags);
	return obj;
}

/* Give @nr objects back to their spans, taking the lock. */
static void central_put(struct mag_central *c, void **objs, unsigned int nr)
{
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->locks++;
	put_locked(c, objs, nr, true);
	spin_unlock_irqrestore(&c->lock, flags);
}

/**
 * mag_central_free_obj() - free one object straight into its span
 * @obj: any pointer handed to a free function
 *
 * Finds the owning pool and node from the arena, so it serves remote-node
 * frees, frees from an interrupted fast path, typed-cache objects freed
 * with mag_free(), and pools in debug mode (whose debug spans' objects go
 * to debug.c).  Anything that is not a live object is reported and
 * dropped.
 */
void mag_central_free_obj(void *obj)
{
	struct mag_span *s;

	rcu_read_lock();
	s = mag_span_of(obj);
	if (!s)
		mag_report_bad_free(obj, MAG_BAD_FOREIGN, NULL);
	else if (s->state == MAG_SPAN_DEBUG)
		mag_debug_free(s, obj);
	else if (s->state != MAG_SPAN_SMALL)
		mag_report_bad_free(obj, MAG_BAD_INTERIOR, NULL);
	else
		central_put(s->pool->central[s->heap->node], &obj, 1);
	rcu_read_unlock();
}

/**
 * mag_central_grow() - add a new span of the pool's class
 * @c: the central
 * @gfp: allocation flags; may sleep if they allow
 *
 * Runs the pool's constructor on every object of the span.
 *
 * Return: 0 or -ENOMEM.
 */
int mag_central_grow(struct mag_central *c, gfp_t gfp)
{
	struct mag_pool *pool = c->pool;
	unsigned int nobj = mag_class_objects[pool->cls], i;
	struct mag_span *s;
	unsigned long flags;

	MAG_STATIC_STUB(mag_central_grow, c, gfp);
	s = kzalloc_node(struct_size(s, alloc, BITS_TO_LONGS(nobj)),
			 mag_meta_gfp(gfp), c->node);
	if (!s)
		return -ENOMEM;
	/* its @base would vouch for the span's first object (internal.h) */
	kmemleak_ignore(s);
	s->pool = pool;
	s->state = MAG_SPAN_SMALL;
	s->nr_objs = nobj;
	s->nr_free = nobj;
	if (!mag_heap_alloc(c->heap, 1U << mag_class_order[pool->cls], gfp, s,
			    pool->cpu ? pool->cpu[c->node] : NULL)) {
		kfree(s);
		return -ENOMEM;
	}
	trace_magalloc_span_alloc(pool->name, c->node, s->base, s->npages, s->loose);
	if (pool->ctor)
		for (i = 0; i < nobj; i++)
			pool->ctor(span_obj(s, i));
	/* under KASAN, free objects are poisoned (kasan.c) */
	mag_kasan_poison_free(s->base, nobj * pool->size);

	spin_lock_irqsave(&c->lock, flags);
	c->locks++;
	list_add(&s->link, &c->partial);
	c->nr_spans++;
	c->nr_free_objs += nobj;
	spin_unlock_irqrestore(&c->lock, flags);
	return 0;
}

/**
 * mag_depot_get() - take a magazine from the depot.  c->lock held.
 * @c: the central
 * @full: a full magazine, else an empty one
 *
 * Return: the magazine, or NULL if that stack is empty.
 */
struct mag_magazine *mag_depot_get(struct mag_central *c, bool full)
{
	struct mag_magazine **top = full ? &c->full_mags : &c->empty_mags;
	struct mag_magazine *m = *top;

	mag_trace(c, true);
	if (!m)
		return NULL;
	mag_trace(m, false);
	*top = m->next;
	if (full)
		c->nr_full--;
	else
		c->nr_empty--;
	return m;
}

/**
 * mag_depot_get_full() - take a full magazine, cut to a CPU's limit.
 *	c->lock held.
 * @c: the central
 * @limit: the taker's limit (struct mag_cpu), at least 1
 *
 * A magazine filled on a CPU with a larger limit gives its surplus back to
 * the spans, so the taker never holds more than its limit.
 *
 * Return: the magazine, or NULL if the depot has no full one.
 */
struct mag_magazine *mag_depot_get_full(struct mag_central *c, unsigned int limit)
{
	struct mag_magazine *m = mag_depot_get(c, true);

	if (!m)
		return NULL;
	c->taken++;
	if (m->rounds > limit) {
		put_locked(c, m->objs + limit, m->rounds - limit, false);
		m->rounds = limit;
	}
	return m;
}

/**
 * mag_depot_put() - leave a magazine in the depot.  c->lock held.
 * @c: the central
 * @m: a full, partial or empty magazine, or the sentinel (ignored)
 *
 * A partial magazine, or a full one when the depot is at mag_depot_max,
 * is emptied into its spans first.  Empty magazines beyond mag_depot_max
 * are freed.
 */
void mag_depot_put(struct mag_central *c, struct mag_magazine *m)
{
	if (mag_is_sentinel(m))
		return;
	mag_trace(c, true);
	mag_trace(m, true);
	if (m->rounds && (m->rounds < m->size || c->nr_full >= mag_depot_max)) {
		put_locked(c, m->objs, m->rounds, false);
		m->rounds = 0;
	}
	if (m->rounds) {
		m->next = c->full_mags;
		c->full_mags = m;
		c->nr_full++;
	} else if (c->nr_empty < mag_depot_max) {
		m->next = c->empty_mags;
		c->empty_mags = m;
		c->nr_empty++;
	} else {
		kfree(m);
	}
}

/**
 * mag_central_trim() - return depot memory
 * @c: the central
 * @all: everything, else only the full magazines no CPU needed since the
 *	last trim (the depot's working set stays)
 * @max_full: at most this many full magazines (the shrinker's share)
 *
 * Full magazines are emptied into their spans, empty magazines are freed,
 * and with @all the kept empty span goes back to the heap too.
 *
 * Return: objects returned to spans.
 */
unsigned long mag_central_trim(struct mag_central *c, bool all, unsigned int max_full)
{
	struct mag_magazine *m, *empties;
	struct mag_span *s, *tmp;
	unsigned long flags, objs = 0;
	unsigned int n;

	spin_lock_irqsave(&c->lock, flags);
	/* without @all: what no CPU took in the period (all, if none took any) */
	n = min(all ? c->nr_full : c->nr_full - min(c->nr_full, c->taken), max_full);
	for (; n; n--) {
		m = mag_depot_get(c, true);
		put_locked(c, m->objs, m->rounds, false);
		objs += m->rounds;
		m->next = c->empty_mags;
		c->empty_mags = m;
		c->nr_empty++;
	}
	c->taken = 0;
	empties = c->empty_mags;
	c->empty_mags = NULL;
	c->nr_empty = 0;
	/*
	 * The empty span kept against grow and shrink cycles goes too once
	 * no CPU took objects from the spans for a whole period: spread over
	 * arenas, one per pool and node would keep dozens of them.
	 */
	if (all || !c->filled) {
		list_for_each_entry_safe(s, tmp, &c->partial, link)
			if (s->nr_free == s->nr_objs)
				mag_span_release(c, s);
		list_for_each_entry_safe(s, tmp, &c->dbg_partial, link)
			if (s->nr_free == s->nr_objs)
				mag_span_release(c, s);
	}
	c->filled = false;
	spin_unlock_irqrestore(&c->lock, flags);

	while (empties) {
		m = empties;
		empties = m->next;
		kfree(m);
	}
	return objs;
}

/**
 * mag_central_live() - objects of this central handed out of its spans
 * @c: the central
 *
 * Return: allocated objects, including those in magazines, but not
 * those debug mode isolated.
 */
unsigned long mag_central_live(struct mag_central *c)
{
	unsigned long flags, live;

	spin_lock_irqsave(&c->lock, flags);
	live = c->nr_spans * mag_class_objects[c->pool->cls] - c->nr_free_objs +
	       c->dbg_objs - c->dbg_free - c->dbg_isolated;
	spin_unlock_irqrestore(&c->lock, flags);
	return live;
}

/**
 * mag_central_init() - give a pool its central on every node
 * @pool: the pool; ->cls must be set
 * @heaps: per node, the heaps its spans come from
 * @gfp: allocation flags for the centrals
 *
 * Return: 0 or -ENOMEM.
 */
int mag_central_init(struct mag_pool *pool, struct mag_heap **heaps, gfp_t gfp)
{
	int node;

	pool->central = kcalloc(nr_node_ids, sizeof(*pool->central), mag_meta_gfp(gfp));
	if (!pool->central)
		return -ENOMEM;
	for_each_node(node) {
		struct mag_central *c = kzalloc_node(mag_line_size(sizeof(*c)),
						     mag_meta_gfp(gfp), node);

		if (!c) {
			mag_central_destroy(pool);
			return -ENOMEM;
		}
		spin_lock_init(&c->lock);
		INIT_LIST_HEAD(&c->partial);
		INIT_LIST_HEAD(&c->full);
		INIT_LIST_HEAD(&c->dbg_partial);
		INIT_LIST_HEAD(&c->dbg_full);
		c->pool = pool;
		c->node = node;
		c->heap = heaps[node];
		pool->central[node] = c;
	}
	return 0;
}

/**
 * mag_central_destroy() - free a pool's centrals and all their spans
 * @pool: the pool, whose CPUs' magazines are already drained
 *
 * Objects still allocated are freed with their spans: callers check
 * mag_central_live() first and report.
 */
void mag_central_destroy(struct mag_pool *pool)
{
	struct mag_span *s, *tmp;
	int node;

	if (!pool->central)
		return;
	for_each_node(node) {
		struct mag_central *c = pool->central[node];

		if (!c)
			continue;
		mag_central_trim(c, true, UINT_MAX);
		list_splice_init(&c->full, &c->partial);
		list_splice_init(&c->dbg_partial, &c->partial);
		list_splice_init(&c->dbg_full, &c->partial);
		list_for_each_entry_safe(s, tmp, &c->partial, link)
			mag_span_release(c, s);
		kfree(c);
	}
	kfree(pool->central);
	pool->central = NULL;
}
