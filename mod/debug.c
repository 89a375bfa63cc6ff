// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc debug mode: what slub_debug=FZPU does for SLUB's caches.
 *
 * The module parameter "debug" names the pools in debug mode: 1 (or "all")
 * for every pool, 0 for none, or a comma-separated list of pool names
 * ("mag-64,my_cache"; a typed cache created later with a listed name
 * starts in debug mode).  It can be written at any time.
 *
 * A pool in debug mode has no magazines (magazine.c drains them when the
 * switch comes on and installs none while it is on): every allocation
 * comes here, and takes an object of a debug span, which lays its objects
 * out in slots:
 *
 *   | struct mag_debug_meta | red zone | object        | red zone     |
 *   ^ slot                             ^ + dbg_off     ^ + size asked ^ + dbg_stride
 *
 * The object keeps its natural alignment (that of the class size, as in
 * an ordinary span), and each red zone is at least MAG_RED_MIN bytes; the
 * right one starts at the size the caller asked for, so the class tail is
 * a red zone too (SLUB's kmalloc red zone).
 *
 *  - A free object's red zones hold SLUB_RED_INACTIVE (0xbb); the object
 *    holds POISON_FREE (0x6b) ending in POISON_END (0xa5), unless the pool
 *    has a constructor (its objects keep their constructed state).
 *  - An allocated object's red zones hold SLUB_RED_ACTIVE (0xcc); the
 *    object holds what the last free left (zeroes under init_on_alloc or
 *    __GFP_ZERO, up to the size asked).
 *  - The metadata keeps the last allocation's and the last free's track:
 *    call chain (stack depot), CPU, task, time; and the size asked.
 *
 * Allocation checks the red zones and the poison of the object it takes
 * (a write after free shows there); free checks the red zones (a write
 * past either end) and that the object is allocated (a double free).  A
 * violation is reported (report.c: which pool, which object, which bytes,
 * a hex dump, both tracks) and the object is isolated: it stays marked
 * allocated in its span, is never handed out again and does not count as
 * live.  A pointer into a slot but not at its object, or into no slot, is
 * reported as a bad free and ignored.
 *
 * Debug spans' pages point at mag_dummy_cpu in their arena, so the fast
 * path never caches one of their objects: every free comes here, whether
 * the pool is still in debug mode or not.  A pool that leaves debug mode
 * allocates from its ordinary spans again; its debug spans go back to the
 * heap as their objects are freed.  All of it is under the central's lock
 * (debug spans have their own lists there); call chains are taken before
 * the lock, reports printed after it.  Under KASAN, metadata and red zones
 * are read and written with reports off for this task, as SLUB does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kasan.h>
#include <linux/kmemleak.h>
#include <linux/moduleparam.h>
#include <linux/poison.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stackdepot.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "internal.h"

/* On while any pool is in debug mode (mag_pool_debug()). */
DEFINE_STATIC_KEY_FALSE(mag_debug_key);

/* Each red zone is at least this long. */
#define MAG_RED_MIN		16
/* A debug span is made large enough for this many slots, if it can be. */
#define MAG_DBG_MIN_SLOTS	4

/* The parameter as written; debug_mutex protects it. */
static char debug_names[256];
static DEFINE_MUTEX(debug_mutex);
/* The pools exist: the parameter is applied when written (debug_mutex). */
static bool debug_live;
/* The stack depot is initialised; call chains are kept. */
static bool debug_stacks;

/**
 * mag_debug_geometry() - lay out a pool's debug slots
 * @pool: the pool; ->size and ->cls set
 */
void mag_debug_geometry(struct mag_pool *pool)
{
	unsigned int align = max(pool->size & -pool->size, 8U);
	unsigned int off = round_up(sizeof(struct mag_debug_meta) + MAG_RED_MIN, align);
	unsigned int stride = round_up(off + pool->size + MAG_RED_MIN, align);
	unsigned int order = mag_class_order[pool->cls];

	while (order < MAG_BLOCK_MAX_ORDER &&
	       (PAGE_SIZE << order) / stride < MAG_DBG_MIN_SLOTS)
		order++;
	pool->dbg_off = off;
	pool->dbg_stride = stride;
	pool->dbg_order = order;
	pool->dbg_objs = min_t(unsigned long, (PAGE_SIZE << order) / stride, U16_MAX);
}

static struct mag_debug_meta *meta_of(const struct mag_pool *pool, const void *obj)
{
	return (struct mag_debug_meta *)(obj - pool->dbg_off);
}

static void *slot_obj(const struct mag_span *s, unsigned int i)
{
	return s->base + i * s->pool->dbg_stride + s->pool->dbg_off;
}

/* Where a free object's right red zone starts: after its poison. */
static unsigned int red_start(const struct mag_pool *pool)
{
	return pool->ctor ? pool->object_size : pool->size;
}

/*
 * Metadata and red zones are not the caller's object: under KASAN they are
 * poisoned, and only this file touches them (SLUB's metadata_access_enable()).
 */
static void meta_begin(void)
{
	kasan_disable_current();
}

static void meta_end(void)
{
	kasan_enable_current();
}

static void set_track(struct mag_track *t)
{
	unsigned long entries[16];
	unsigned int nr;

	t->stack = 0;
	/*
	 * The depot may allocate pages (GFP_NOWAIT, as SLUB's tracks do):
	 * not where PREEMPT_RT forbids it, with preemption or interrupts off.
	 */
	if (READ_ONCE(debug_stacks) && (!IS_ENABLED(CONFIG_PREEMPT_RT) || preemptible())) {
		nr = stack_trace_save(entries, ARRAY_SIZE(entries), 2);
		t->stack = stack_depot_save(entries, nr, GFP_NOWAIT);
	}
	t->cpu = raw_smp_processor_id();
	t->pid = in_task() ? current->pid : 0;
	t->when = jiffies;
}

/*
 * Is [@from, @to) all @val?  If not, record the bad bytes in @bug, as
 * @what, and say so.
 */
static bool bytes_bad(const void *from, const void *to, u8 val,
		      enum mag_debug_bad what, struct mag_debug_bug *bug)
{
	const u8 *first, *end = to;

	if (from >= to)
		return false;
	first = memchr_inv(from, val, to - from);
	if (!first)
		return false;
	while (end > first && end[-1] == val)
		end--;
	bug->bad = what;
	bug->first = first;
	bug->last = end - 1;
	bug->want = val;
	return true;
}

/* Checks of a free object about to be handed out; @bug says what failed. */
static bool free_obj_bad(const struct mag_pool *pool, void *obj, struct mag_debug_bug *bug)
{
	void *slot = obj - pool->dbg_off;
	u8 *p = obj;

	if (bytes_bad(slot + sizeof(struct mag_debug_meta), obj, SLUB_RED_INACTIVE,
		      MAG_DBG_LEFT_RED, bug) ||
	    bytes_bad(obj + red_start(pool), slot + pool->dbg_stride, SLUB_RED_INACTIVE,
		      MAG_DBG_RIGHT_RED, bug))
		return true;
	if (pool->ctor)
		return false;
	if (bytes_bad(p, p + pool->size - 1, POISON_FREE, MAG_DBG_POISON, bug) ||
	    bytes_bad(p + pool->size - 1, p + pool->size, POISON_END, MAG_DBG_POISON, bug))
		return true;
	return false;
}

/* Checks of an allocated object being freed. */
static bool live_obj_bad(const struct mag_pool *pool, void *obj, unsigned int size,
			 struct mag_debug_bug *bug)
{
	void *slot = obj - pool->dbg_off;

	return bytes_bad(slot + sizeof(struct mag_debug_meta), obj, SLUB_RED_ACTIVE,
			 MAG_DBG_LEFT_RED, bug) ||
	       bytes_bad(obj + size, slot + pool->dbg_stride, SLUB_RED_ACTIVE,
			 MAG_DBG_RIGHT_RED, bug);
}

/* A free object's state: poison (no constructor) and inactive red zones. */
static void make_free(const struct mag_pool *pool, void *obj)
{
	void *slot = obj - pool->dbg_off;

	if (!pool->ctor) {
		mag_memset_obj(obj, POISON_FREE, pool->size - 1);
		((u8 *)obj)[pool->size - 1] = POISON_END;
	}
	mag_memset_obj(slot + sizeof(struct mag_debug_meta), SLUB_RED_INACTIVE,
		       pool->dbg_off - sizeof(struct mag_debug_meta));
	mag_memset_obj(obj + red_start(pool), SLUB_RED_INACTIVE,
		       pool->dbg_stride - pool->dbg_off - red_start(pool));
}

static void fill_bug(struct mag_debug_bug *bug, const struct mag_pool *pool, void *obj)
{
	bug->pool = pool;
	bug->obj = obj;
	bug->slot = obj - pool->dbg_off;
	bug->meta = *meta_of(pool, obj);
}

/**
 * mag_debug_grow() - add a debug span to a central
 * @c: the central
 * @gfp: allocation flags; may sleep if they allow
 *
 * Return: 0 or -ENOMEM.
 */
int mag_debug_grow(struct mag_central *c, gfp_t gfp)
{
	struct mag_pool *pool = c->pool;
	unsigned int n = pool->dbg_objs, i;
	struct mag_span *s;
	unsigned long flags;

	s = kzalloc_node(struct_size(s, alloc, BITS_TO_LONGS(n)), mag_meta_gfp(gfp), c->node);
	if (!s)
		return -ENOMEM;
	/* as an ordinary span's (central.c) */
	kmemleak_ignore(s);
	s->pool = pool;
	s->state = MAG_SPAN_DEBUG;
	s->nr_objs = n;
	s->nr_free = n;
	/* no magazines: every free of these objects comes to mag_debug_free() */
	if (!mag_heap_alloc(c->heap, 1U << pool->dbg_order, gfp, s, NULL)) {
		kfree(s);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		void *obj = slot_obj(s, i);

		memset(meta_of(pool, obj), 0, sizeof(struct mag_debug_meta));
		if (pool->ctor)
			pool->ctor(obj);
		make_free(pool, obj);
	}
	mag_kasan_poison_free(s->base, n * pool->dbg_stride);

	spin_lock_irqsave(&c->lock, flags);
	list_add(&s->link, &c->dbg_partial);
	c->dbg_spans++;
	c->dbg_objs += n;
	c->dbg_free += n;
	spin_unlock_irqrestore(&c->lock, flags);
	return 0;
}

/*
 * Take a free object of a debug span.  c->lock held, meta_begin().  An
 * object found corrupted is isolated and returned with @bug filled in.
 */
static void *take_locked(struct mag_central *c, size_t size, const struct mag_track *t,
			 struct mag_debug_bug *bug)
{
	struct mag_pool *pool = c->pool;
	struct mag_debug_meta *m;
	struct mag_span *s;
	unsigned int i;
	void *obj, *slot;

	if (list_empty(&c->dbg_partial))
		return NULL;
	s = list_first_entry(&c->dbg_partial, struct mag_span, link);
	i = find_first_zero_bit(s->alloc, s->nr_objs);
	__set_bit(i, s->alloc);
	c->dbg_free--;
	if (!--s->nr_free)
		list_move(&s->link, &c->dbg_full);
	obj = slot_obj(s, i);
	m = meta_of(pool, obj);
	if (free_obj_bad(pool, obj, bug)) {
		fill_bug(bug, pool, obj);
		m->state = MAG_DBG_ISOLATED;
		c->dbg_isolated++;
		return obj;
	}
	m->alloc = *t;
	m->size = size;
	m->state = MAG_DBG_ALLOCATED;
	slot = obj - pool->dbg_off;
	mag_memset_obj(slot + sizeof(*m), SLUB_RED_ACTIVE, pool->dbg_off - sizeof(*m));
	mag_memset_obj(obj + size, SLUB_RED_ACTIVE, pool->dbg_stride - pool->dbg_off - size);
	return obj;
}

/* A checked object of @c's debug spans, or NULL if they have none free. */
static void *take(struct mag_central *c, size_t size, const struct mag_track *t)
{
	struct mag_debug_bug bug;
	unsigned long flags;
	void *obj;

	for (;;) {
		bug.bad = MAG_DBG_OK;
		spin_lock_irqsave(&c->lock, flags);
		meta_begin();
		obj = take_locked(c, size, t, &bug);
		meta_end();
		spin_unlock_irqrestore(&c->lock, flags);
		if (!bug.bad)
			return obj;
		mag_report_debug(&bug);
	}
}

/**
 * mag_debug_alloc() - allocate from a pool in debug mode
 * @pool: the pool
 * @node: the node, or NUMA_NO_NODE for this CPU's
 * @size: bytes asked for, at most the pool's size: the rest is red zone
 * @gfp: allocation flags
 *
 * Falls back to other nodes as the ordinary path does (not with
 * __GFP_THISNODE), and retries for __GFP_NOFAIL.
 *
 * Return: the object, zeroed up to @size if init_on_alloc or __GFP_ZERO
 * say so, or NULL.
 */
void *mag_debug_alloc(struct mag_pool *pool, int node, size_t size, gfp_t gfp)
{
	struct mag_track t;
	nodemask_t tried;
	void *obj = NULL;
	int n;

	set_track(&t);
	if (node == NUMA_NO_NODE)
		node = mag_home_node();
	for (;;) {
		nodes_clear(tried);
		while ((n = mag_nearest_node(node, &tried)) != NUMA_NO_NODE) {
			node_set(n, tried);
			obj = take(pool->central[n], size, &t);
			if (!obj && !mag_debug_grow(pool->central[n], gfp))
				obj = take(pool->central[n], size, &t);
			if (obj || (gfp & __GFP_THISNODE))
				break;
		}
		if (obj || !mag_retry(gfp))
			break;
	}
	if (obj && unlikely(want_init_on_alloc(gfp)) && pool->init)
		mag_memset_obj(obj, 0, size);
	return obj;
}

/**
 * mag_debug_free() - free an object of a debug span
 * @s: its span (the caller holds RCU)
 * @obj: the pointer freed, anywhere in the span
 *
 * Any context but NMI.
 */
void mag_debug_free(struct mag_span *s, void *obj)
{
	struct mag_pool *pool = s->pool;
	struct mag_central *c = pool->central[s->heap->node];
	struct mag_debug_bug bug = { .bad = MAG_DBG_OK };
	unsigned int i = (obj - s->base) / pool->dbg_stride;
	struct mag_debug_meta *m;
	unsigned long flags;
	struct mag_track t;

	if (mag_object_of(s, obj) != obj || i >= s->nr_objs) {
		mag_report_bad_free(obj, MAG_BAD_INTERIOR, pool);
		return;
	}
	set_track(&t);
	spin_lock_irqsave(&c->lock, flags);
	meta_begin();
	m = meta_of(pool, obj);
	if (!test_bit(i, s->alloc) || m->state != MAG_DBG_ALLOCATED) {
		/* free, or isolated: the caller's pointer is stale either way */
		bug.bad = MAG_DBG_DOUBLE;
	} else if (live_obj_bad(pool, obj, m->size, &bug)) {
		m->state = MAG_DBG_ISOLATED;
		c->dbg_isolated++;
	} else {
		mag_free_hook(obj);
		m->free = t;
		m->state = MAG_DBG_FREE;
		make_free(pool, obj);
		__clear_bit(i, s->alloc);
		c->dbg_free++;
		if (s->nr_free++ == 0)
			list_move(&s->link, &c->dbg_partial);
		if (s->nr_free == s->nr_objs && !list_is_singular(&c->dbg_partial))
			mag_span_release(c, s);
	}
	if (bug.bad)
		fill_bug(&bug, pool, obj);
	meta_end();
	spin_unlock_irqrestore(&c->lock, flags);
	if (bug.bad == MAG_DBG_DOUBLE)
		mag_count_bad_free(MAG_BAD_DOUBLE);
	if (bug.bad)
		mag_report_debug(&bug);
}

/**
 * mag_debug_ksize() - mag_ksize() of a debug span's object
 * @s: its span (the caller holds RCU)
 * @obj: the pointer
 *
 * The caller may use the whole class size from now on: the red zone moves
 * to its end, as SLUB's ksize() lifts its kmalloc red zone.
 *
 * Return: the class size, or 0 if @obj is not an allocated object.
 */
size_t mag_debug_ksize(struct mag_span *s, const void *obj)
{
	struct mag_pool *pool = s->pool;
	struct mag_central *c = pool->central[s->heap->node];
	struct mag_debug_meta *m;
	unsigned long flags;
	size_t size = 0;

	if (mag_object_of(s, obj) != obj)
		return 0;
	spin_lock_irqsave(&c->lock, flags);
	meta_begin();
	m = meta_of(pool, obj);
	if (m->state == MAG_DBG_ALLOCATED) {
		m->size = pool->size;
		size = pool->size;
	}
	meta_end();
	spin_unlock_irqrestore(&c->lock, flags);
	return size;
}

static bool pool_in_debug(const struct mag_pool *pool)
{
	return READ_ONCE(pool->debug);
}

/**
 * mag_debug_key_hold() - take or drop a holder's reference on mag_debug_key
 * @held: the holder's state (debug mode's, or bypass mode's), under its mutex
 * @want: whether it wants the key on
 *
 * The key is on while debug mode or bypass mode (trace.c) wants it.
 */
void mag_debug_key_hold(bool *held, bool want)
{
	if (want && !*held)
		static_branch_inc(&mag_debug_key);
	else if (!want && *held)
		static_branch_dec(&mag_debug_key);
	*held = want;
}

static bool debug_key_held;

/*
 * The pools' flags are set: turn the key on or off, and on a switch on,
 * drain until no CPU caches an object of a pool in debug mode.  A drain's
 * work item skips a CPU whose busy mark a preempted task holds (RT); that
 * task saw the flag clear and may load a magazine, which the next drain
 * takes.  debug_mutex held.
 */
static void debug_commit(bool any, bool on)
{
	if (any)
		mag_debug_key_hold(&debug_key_held, true);
	if (on && debug_live && !mag_drain_until_uncached(pool_in_debug))
		pr_warn("debug mode: a CPU still caches objects of a pool in debug mode\n");
	if (!any)
		mag_debug_key_hold(&debug_key_held, false);
}

static void debug_stacks_init(void)
{
	if (!debug_stacks && !stack_depot_init())
		WRITE_ONCE(debug_stacks, true);
}

/**
 * mag_debug_names_match() - does a debug parameter value name a pool?
 * @names: "1", "y" or "all" (every pool), "", "0" or "n" (none), or
 *	names separated by commas
 * @name: the pool's name
 *
 * Return: true if the pool is to be in debug mode.
 */
bool mag_debug_names_match(const char *names, const char *name)
{
	const char *p = names;
	size_t len = strlen(name);

	if (!*p || !strcmp(p, "0") || !strcasecmp(p, "n"))
		return false;
	if (!strcmp(p, "1") || !strcasecmp(p, "y") || !strcmp(p, "all"))
		return true;
	while (*p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchrnul(p, ',');
		if (*p)
			p++;
	}
	return false;
}

/**
 * mag_debug_wanted() - does the debug parameter name this pool?
 * @name: the pool's name
 *
 * Return: true if it is to be in debug mode.
 */
bool mag_debug_wanted(const char *name)
{
	bool want;

	mutex_lock(&debug_mutex);
	want = mag_debug_names_match(debug_names, name);
	mutex_unlock(&debug_mutex);
	return want;
}

/* Apply debug_names to every pool.  debug_mutex held. */
static void debug_apply(void)
{
	struct mag_pool *pool;
	bool any = false, on = false;

	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		/* a memory cgroup's pool: accounted objects are not debugged */
		bool want = !pool->parent && mag_debug_names_match(debug_names, pool->name);

		on |= want && !pool->debug;
		any |= want;
		WRITE_ONCE(pool->debug, want);
	}
	mutex_unlock(&mag_pools_mutex);
	if (any)
		debug_stacks_init();
	debug_commit(any, on);
}

/**
 * mag_pool_set_debug() - switch one pool's debug mode
 * @pool: the pool (not a memory cgroup's)
 * @on: on or off
 *
 * Context: process context, may sleep.
 * Return: 0, or -EINVAL for a memory cgroup's pool.
 */
int mag_pool_set_debug(struct mag_pool *pool, bool on)
{
	struct mag_pool *p;
	bool any = false;

	if (pool->parent)
		return -EINVAL;
	mutex_lock(&debug_mutex);
	if (on)
		debug_stacks_init();
	mutex_lock(&mag_pools_mutex);
	WRITE_ONCE(pool->debug, on);
	list_for_each_entry(p, &mag_pools, link)
		any |= p->debug;
	mutex_unlock(&mag_pools_mutex);
	debug_commit(any, on);
	mutex_unlock(&debug_mutex);
	return 0;
}

static void set_names(const char *val)
{
	strscpy(debug_names, val, sizeof(debug_names));
	strim(debug_names);
	if (debug_names[0] && debug_names[strlen(debug_names) - 1] == '\n')
		debug_names[strlen(debug_names) - 1] = '\0';
}

/**
 * mag_set_debug() - every pool in debug mode, or none
 * @on: which
 *
 * As writing 1 or 0 to the parameter.
 *
 * Context: process context, may sleep.
 */
void mag_set_debug(bool on)
{
	mutex_lock(&debug_mutex);
	set_names(on ? "1" : "0");
	if (debug_live)
		debug_apply();
	mutex_unlock(&debug_mutex);
}

static int debug_set(const char *val, const struct kernel_param *kp)
{
	if (strlen(val) >= sizeof(debug_names))
		return -ENOSPC;
	mutex_lock(&debug_mutex);
	set_names(val);
	if (debug_live)
		debug_apply();
	mutex_unlock(&debug_mutex);
	return 0;
}

static int debug_get(char *buf, const struct kernel_param *kp)
{
	int ret;

	mutex_lock(&debug_mutex);
	ret = sysfs_emit(buf, "%s\n", debug_names[0] ? debug_names : "0");
	mutex_unlock(&debug_mutex);
	return ret;
}

static const struct kernel_param_ops debug_ops = {
	.set = debug_set,
	.get = debug_get,
};
module_param_cb(debug, &debug_ops, NULL, 0644);
MODULE_PARM_DESC(debug,
		 "pools in debug mode (red zones, poison, alloc/free tracks): 1 = all, 0 = none, or names, comma-separated");

/**
 * mag_debug_start() - apply the parameter, now that the pools exist
 */
void mag_debug_start(void)
{
	mutex_lock(&debug_mutex);
	debug_live = true;
	debug_apply();
	mutex_unlock(&debug_mutex);
}

/**
 * mag_debug_exit() - every pool out of debug mode, at unload
 */
void mag_debug_exit(void)
{
	struct mag_pool *pool;

	mutex_lock(&debug_mutex);
	debug_live = false;
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link)
		WRITE_ONCE(pool->debug, false);
	mutex_unlock(&mag_pools_mutex);
	mag_debug_key_hold(&debug_key_held, false);
	mutex_unlock(&debug_mutex);
}
