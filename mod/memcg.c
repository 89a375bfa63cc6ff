// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc and memory cgroups: __GFP_ACCOUNT.
 *
 * The kernel charges a kmalloc(GFP_KERNEL_ACCOUNT) object to the memory
 * cgroup of the allocating task, object by object, through obj_cgroup
 * functions it does not export.  What a module can do is what SLUB did
 * before 5.9, with its per-memcg caches: keep each cgroup's accounted
 * objects on pages of their own, and allocate those pages with
 * __GFP_ACCOUNT while the cgroup is the active one (set_active_memcg()),
 * so the page allocator charges them, enforces memory.max on them, and
 * uncharges them when they are freed.
 *
 * So each memory cgroup that makes an accounted request gets a struct
 * mag_memcg: a page heap per node whose arenas are charged to it, and,
 * per generic pool (size class) and typed cache it asks of, a pool whose
 * spans come from those heaps (a typed cache's runs its constructor).  Accounted
 * objects never enter per-CPU magazines (a magazine would hand one
 * cgroup's object to another): they are taken from and freed to their
 * pool's central list, a spinlock per operation, as SLUB's slow path is.
 * Their pages point mag_free()'s fast path at the sentinel, so a free
 * finds the pool through the span and needs no test on the fast path.
 * Large objects (up to half an arena) come from the cgroup's heaps too;
 * huge ones from the page allocator, which charges them itself.
 *
 * The cost: a cgroup is charged for whole arenas, 2 MiB per node in use,
 * of which its objects may fill little (memory.current can exceed what
 * it holds by up to 2 MiB per node; memory.max is enforced 2 MiB at a
 * time); the periodic trim gives back a cgroup's empty spans and free
 * arenas, so the charge falls with its objects within a period.
 *
 * Requests that the kernel would not charge are not accounted here
 * either: the root cgroup, kernel threads with no active cgroup,
 * interrupts outside set_active_memcg(), kernels without memcg or with
 * cgroup.memory=nokmem.  __GFP_NOFAIL at memory.max is served from the
 * unaccounted pools (the kernel forces such a charge past the limit;
 * magalloc cannot).  A typed cache destroyed with charged objects left
 * reports them; their pool stays, off the lookup, until the cgroup's set
 * goes.
 *
 * Lifetime: sets are found by memcg ID in an xarray, under SRCU (an
 * allocation may sleep while it uses one).  The trim unregisters the set
 * of a cgroup that went offline, waits for SRCU readers, and frees it
 * once its last object is gone, dropping its reference to the cgroup.
 * Every set, registered or not, is also in mag_memcg_all (an allocating
 * xarray: walked under RCU while allocations add to it).  mag_memcg_mutex
 * serializes the trim, cache destruction and unload, which alone remove
 * sets and pools; it is held across no spinlock and nests with no lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "compat.h"
#include "internal.h"

#ifdef CONFIG_MEMCG

/**
 * struct mag_memcg - one memory cgroup's accounted objects
 * @memcg: the cgroup (a reference is held)
 * @id: its memcg ID, the registry key
 * @registered: found by lookups (false once the cgroup is offline)
 * @slot: its index in mag_memcg_all
 * @heaps: per node, [nr_node_ids], whose arenas are charged to @memcg
 * @pools: by the id of the pool they shadow (struct mag_pool @id), made
 *	at the first request of that pool
 * @zombies: pools of destroyed typed caches that still hold objects
 *	(under mag_memcg_mutex)
 */
struct mag_memcg {
	struct mem_cgroup *memcg;
	unsigned short id;
	bool registered;
	u32 slot;
	struct mag_heap **heaps;
	struct xarray pools;
	struct list_head zombies;
};

static DEFINE_XARRAY_FLAGS(mag_memcg_registry, XA_FLAGS_LOCK_IRQ);
DEFINE_STATIC_SRCU(mag_memcg_srcu);
static DEFINE_XARRAY_FLAGS(mag_memcg_all, XA_FLAGS_LOCK_IRQ | XA_FLAGS_ALLOC);
static DEFINE_MUTEX(mag_memcg_mutex);	/* serializes trim and unload */

/*
 * The cgroup the kernel would charge for a request made here, with a
 * reference, or NULL where it would charge none (see the top).
 */
static struct mem_cgroup *charged_memcg(void)
{
	struct mem_cgroup *memcg;

	if (mem_cgroup_disabled() || !mag_memcg_kmem_on())
		return NULL;
	if (!in_task() && !this_cpu_read(int_active_memcg))
		return NULL;
	memcg = get_mem_cgroup_from_mm(NULL);
	if (memcg && !memcg->css.parent) {
		/* the root: not charged (and not reference counted) */
		css_put(&memcg->css);
		memcg = NULL;
	}
	return memcg;
}

static void pool_free(struct mag_pool *pool)
{
	mag_central_destroy(pool);
	kfree(pool);
}

static void set_free(struct mag_memcg *set)
{
	struct mag_pool *pool, *tmp;
	unsigned long id;
	int node;

	xa_for_each(&set->pools, id, pool)
		pool_free(pool);
	xa_destroy(&set->pools);
	list_for_each_entry_safe(pool, tmp, &set->zombies, link)
		pool_free(pool);
	if (set->heaps) {
		for_each_node(node)
			if (set->heaps[node])
				mag_heap_destroy(set->heaps[node]);
		kfree(set->heaps);
	}
	css_put(&set->memcg->css);
	kfree(set);
}

static struct mag_memcg *set_create(struct mem_cgroup *memcg, gfp_t gfp)
{
	struct mag_memcg *set;
	unsigned long flags;
	int node, ret;

	set = kzalloc(sizeof(*set), mag_meta_gfp(gfp));
	if (!set)
		return NULL;
	css_get(&memcg->css);
	set->memcg = memcg;
	set->id = mem_cgroup_id(memcg);
	xa_init_flags(&set->pools, XA_FLAGS_LOCK_IRQ);
	INIT_LIST_HEAD(&set->zombies);
	set->heaps = kcalloc(nr_node_ids, sizeof(*set->heaps), mag_meta_gfp(gfp));
	if (!set->heaps)
		goto fail;
	for_each_node(node) {
		set->heaps[node] = mag_heap_create(node, mag_meta_gfp(gfp));
		if (!set->heaps[node])
			goto fail;
		set->heaps[node]->memcg = memcg;
	}
	xa_lock_irqsave(&mag_memcg_all, flags);
	ret = __xa_alloc(&mag_memcg_all, &set->slot, set, xa_limit_32b, mag_meta_gfp(gfp));
	xa_unlock_irqrestore(&mag_memcg_all, flags);
	if (ret)
		goto fail;
	return set;
fail:
	set_free(set);
	return NULL;
}

/*
 * @memcg's set: the registered one, or a new one.  SRCU read side held.
 * A set left registered under the ID of a cgroup that is gone (IDs are
 * reused) is replaced.
 */
static struct mag_memcg *set_get(struct mem_cgroup *memcg, gfp_t gfp)
{
	unsigned short id = mem_cgroup_id(memcg);
	struct mag_memcg *set, *old, *cur;
	unsigned long flags;

	set = xa_load(&mag_memcg_registry, id);
	if (set && set->memcg == memcg)
		return set;
	old = set;
	set = set_create(memcg, gfp);
	if (!set)
		return NULL;
	xa_lock_irqsave(&mag_memcg_registry, flags);
	cur = __xa_cmpxchg(&mag_memcg_registry, id, old, set,
			   mag_meta_gfp(gfp) | (gfp & __GFP_NOFAIL));
	if (cur == old) {
		if (old)
			WRITE_ONCE(old->registered, false);
		WRITE_ONCE(set->registered, true);
	}
	xa_unlock_irqrestore(&mag_memcg_registry, flags);
	if (cur == old)
		return set;
	/*
	 * Lost a race (or no memory for the slot): the new set is on the
	 * list, unregistered and empty, and the trim frees it.
	 */
	if (!xa_is_err(cur) && cur && cur->memcg == memcg)
		return cur;
	return NULL;
}

/* The set's pool shadowing @parent, made at its first use. */
static struct mag_pool *set_pool(struct mag_memcg *set, struct mag_pool *parent, gfp_t gfp)
{
	struct mag_pool *pool = xa_load(&set->pools, parent->id), *old;
	unsigned long flags;

	if (pool)
		return pool;
	pool = kzalloc(sizeof(*pool), mag_meta_gfp(gfp));
	if (!pool)
		return NULL;
	pool->name = parent->name;
	pool->cls = parent->cls;
	pool->size = parent->size;
	pool->init = parent->init;
	pool->ctor = parent->ctor;
	pool->id = parent->id;
	pool->parent = parent;
	INIT_LIST_HEAD(&pool->link);
	/* no pool->cpu: its spans point the free fast path at the sentinel */
	if (mag_central_init(pool, set->heaps, gfp)) {
		kfree(pool);
		return NULL;
	}
	xa_lock_irqsave(&set->pools, flags);
	old = __xa_cmpxchg(&set->pools, parent->id, NULL, pool, mag_meta_gfp(gfp));
	xa_unlock_irqrestore(&set->pools, flags);
	if (old) {
		pool_free(pool);
		return xa_is_err(old) ? NULL : old;
	}
	return pool;
}

/* An object of @parent's (or, without, a large one) charged to @set. */
static void *set_alloc(struct mag_memcg *set, struct mag_pool *parent, size_t size,
		       gfp_t gfp, int node)
{
	struct mag_central *c;
	struct mag_pool *pool;
	void *obj;

	if (node == NUMA_NO_NODE)
		node = mag_home_node();
	/* __GFP_NOFAIL is the caller's: at memory.max this would never end */
	gfp &= ~__GFP_NOFAIL;
	if (!parent)
		return mag_large_alloc_from(set->heaps, size, gfp, node);
	pool = set_pool(set, parent, gfp);
	if (!pool)
		return NULL;
	c = pool->central[node];
	obj = mag_central_alloc_one(c);
	while (!obj && !mag_central_grow(c, gfp))
		obj = mag_central_alloc_one(c);
	if (!obj)
		obj = mag_alloc_elsewhere(pool, gfp, node);
	if (obj && pool->init && want_init_on_alloc(gfp))
		mag_memset_obj(obj, 0, pool->size);
	return obj;
}

/* Allocate for the cgroup the kernel would charge; see mag_memcg_alloc(). */
static bool charged_alloc(struct mag_pool *parent, size_t size, gfp_t gfp, int node,
			  void **objp)
{
	struct mem_cgroup *memcg = charged_memcg();
	struct mag_memcg *set;
	int idx;

	if (!memcg)
		return false;
	idx = srcu_read_lock(&mag_memcg_srcu);
	set = set_get(memcg, gfp);
	*objp = set ? set_alloc(set, parent, size, gfp, node) : NULL;
	srcu_read_unlock(&mag_memcg_srcu, idx);
	css_put(&memcg->css);
	return *objp || !(gfp & __GFP_NOFAIL);
}

/**
 * mag_memcg_alloc() - an accounted object, if the request is charged
 * @size: bytes, 1 to MAG_LARGE_MAX
 * @gfp: allocation flags, with __GFP_ACCOUNT
 * @node: NUMA node, or NUMA_NO_NODE
 * @objp: the object, or NULL, when the answer is true
 *
 * Return: false if the kernel would charge no cgroup for this request
 * here, or if it failed with __GFP_NOFAIL: the caller serves it
 * unaccounted.
 */
bool mag_memcg_alloc(size_t size, gfp_t gfp, int node, void **objp)
{
	struct mag_pool *parent = NULL;

	if (size <= MAG_MAX_SMALL)
		parent = &mag_generic[mag_size_class(size)];
	return charged_alloc(parent, size, gfp, node, objp);
}

/**
 * mag_memcg_cache_alloc() - an accounted object of a typed cache
 * @parent: the cache's pool
 * @gfp: allocation flags, with __GFP_ACCOUNT
 * @objp: the object, or NULL, when the answer is true
 *
 * Return: as mag_memcg_alloc().
 */
bool mag_memcg_cache_alloc(struct mag_pool *parent, gfp_t gfp, void **objp)
{
	return charged_alloc(parent, parent->size, gfp, NUMA_NO_NODE, objp);
}

static unsigned long pool_live(struct mag_pool *pool)
{
	unsigned long live = 0;
	int node;

	for_each_node(node)
		live += mag_central_live(pool->central[node]);
	return live;
}

static void pool_trim(struct mag_pool *pool)
{
	int node;

	for_each_node(node)
		mag_central_trim(pool->central[node], true, UINT_MAX);
}

/**
 * mag_memcg_cache_gone() - a typed cache is being destroyed
 * @parent: its pool
 *
 * Its pools in every cgroup's set go: freed if empty, else reported and
 * kept (off the lookup) until the set goes.
 *
 * Context: process context, may sleep.
 */
void mag_memcg_cache_gone(struct mag_pool *parent)
{
	struct mag_pool *pool[16];
	struct mag_memcg *set[16];
	unsigned long live, slot;
	unsigned int n, i;
	struct mag_memcg *s;

	mutex_lock(&mag_memcg_mutex);
again:
	n = 0;
	xa_for_each(&mag_memcg_all, slot, s) {
		if (n == ARRAY_SIZE(pool))
			break;
		pool[n] = xa_erase_irq(&s->pools, parent->id);
		if (pool[n])
			set[n++] = s;
	}
	if (!n) {
		mutex_unlock(&mag_memcg_mutex);
		return;
	}
	/* No allocation can be using them once the readers are gone. */
	synchronize_srcu(&mag_memcg_srcu);
	for (i = 0; i < n; i++) {
		pool_trim(pool[i]);
		live = pool_live(pool[i]);
		if (!live) {
			pool_free(pool[i]);
			continue;
		}
		pr_err("cache %s destroyed with %lu objects charged to memory cgroup %u; their memory is kept until the cgroup goes\n",
		       parent->name, live, set[i]->id);
		/* nothing of the cache's may be used now: its name, its ctor */
		pool[i]->name = "(destroyed cache)";
		pool[i]->ctor = NULL;
		pool[i]->parent = NULL;
		list_add(&pool[i]->link, &set[i]->zombies);
	}
	goto again;
}

/* mag_memcg_mutex held (the zombies). */
static unsigned long set_live(struct mag_memcg *set)
{
	unsigned long live = 0, id;
	struct mag_pool *pool;
	int node;

	xa_for_each(&set->pools, id, pool)
		live += pool_live(pool);
	list_for_each_entry(pool, &set->zombies, link)
		live += pool_live(pool);
	for_each_node(node)
		live += READ_ONCE(set->heaps[node]->large_pages);
	return live;
}

/*
 * Empty spans to the heaps, free arenas to the kernel (uncharged).
 * mag_memcg_mutex held: pools are made concurrently by allocations, but
 * taken away only under it.
 */
static void set_trim(struct mag_memcg *set)
{
	struct mag_pool *pool;
	unsigned long id;
	int node;

	xa_for_each(&set->pools, id, pool)
		pool_trim(pool);
	list_for_each_entry(pool, &set->zombies, link)
		pool_trim(pool);
	for_each_node(node)
		mag_heap_release(set->heaps[node], 0);
}

/**
 * mag_memcg_trim() - give back cgroups' free memory, and their sets
 * @all: unload: free every set, reporting objects still allocated
 *
 * Context: process context, may sleep.
 */
void mag_memcg_trim(bool all)
{
	unsigned long flags, live, slot;
	bool unregistered = false;
	struct mag_memcg *set;

	/* under KASAN, quarantined objects would keep their cgroups' sets */
	mag_kasan_flush();
	mutex_lock(&mag_memcg_mutex);
	/* Allocations add sets concurrently; only this mutex's holders remove them. */
	xa_for_each(&mag_memcg_all, slot, set) {
		set_trim(set);
		if (!READ_ONCE(set->registered) || (!all && mem_cgroup_online(set->memcg)))
			continue;
		xa_lock_irqsave(&mag_memcg_registry, flags);
		if (__xa_cmpxchg(&mag_memcg_registry, set->id, set, NULL, GFP_ATOMIC) == set)
			WRITE_ONCE(set->registered, false);
		xa_unlock_irqrestore(&mag_memcg_registry, flags);
		unregistered = true;
	}
	if (unregistered)
		synchronize_srcu(&mag_memcg_srcu);
	xa_for_each(&mag_memcg_all, slot, set) {
		if (READ_ONCE(set->registered))
			continue;
		/* No lookup finds it now: only frees of its objects remain. */
		live = set_live(set);
		if (live && !all)
			continue;
		if (live)
			pr_err("memcg %u: %lu objects and large pages still allocated at unload; freed\n",
			       set->id, live);
		xa_erase_irq(&mag_memcg_all, slot);
		set_trim(set);
		set_free(set);
	}
	mutex_unlock(&mag_memcg_mutex);
}

/**
 * mag_memcg_show() - the sets, for debugfs "stats"
 * @m: the file
 */
void mag_memcg_show(struct seq_file *m)
{
	unsigned long arenas, slot;
	struct mag_memcg *set;
	int node;

	mutex_lock(&mag_memcg_mutex);
	seq_puts(m, "memcg online registered arenas live\n");
	xa_for_each(&mag_memcg_all, slot, set) {
		arenas = 0;
		for_each_node(node)
			arenas += READ_ONCE(set->heaps[node]->nr_arenas);
		seq_printf(m, "%u %d %d %lu %lu\n", set->id, mem_cgroup_online(set->memcg),
			   READ_ONCE(set->registered), arenas, set_live(set));
	}
	mutex_unlock(&mag_memcg_mutex);
}

#else /* !CONFIG_MEMCG */

bool mag_memcg_alloc(size_t size, gfp_t gfp, int node, void **objp)
{
	return false;
}

bool mag_memcg_cache_alloc(struct mag_pool *parent, gfp_t gfp, void **objp)
{
	return false;
}

void mag_memcg_cache_gone(struct mag_pool *parent)
{
}

void mag_memcg_trim(bool all)
{
}

void mag_memcg_show(struct seq_file *m)
{
}

#endif /* CONFIG_MEMCG */

/*
 * debugfs "account": accounted allocations for userspace tests.  Each
 * write of "SIZE COUNT" allocates COUNT objects of SIZE bytes with
 * mag_alloc(GFP_KERNEL_ACCOUNT), charged to the writer's cgroup, and
 * keeps them until the file is closed; "SIZE COUNT cache" does the same
 * with mag_cache_alloc() from a typed cache of SIZE bytes the file makes
 * at its first such write (one size per file).  A write that cannot get
 * them all fails with ENOMEM and keeps those it got.  "destroy" destroys
 * that typed cache while its objects are still held (they are freed at
 * close all the same).  Objects are chained through their first word.
 * Reading gives the count held.
 */
struct account_file {
	struct mutex lock;	/* protects everything below */
	void *head;
	unsigned long held;
	struct mag_cache *cache;
	unsigned long cache_size;
};

static int account_open(struct inode *inode, struct file *f)
{
	struct account_file *af = kzalloc(sizeof(*af), GFP_KERNEL);

	if (!af)
		return -ENOMEM;
	mutex_init(&af->lock);
	f->private_data = af;
	return 0;
}

static int account_release(struct inode *inode, struct file *f)
{
	struct account_file *af = f->private_data;
	void *p, *next;

	for (p = af->head; p; p = next) {
		next = *(void **)p;
		mag_free(p);
	}
	mag_kasan_flush();
	mag_cache_destroy(af->cache);
	mutex_destroy(&af->lock);
	kfree(af);
	return 0;
}

static ssize_t account_write(struct file *f, const char __user *ubuf, size_t len,
			     loff_t *pos)
{
	struct account_file *af = f->private_data;
	unsigned long size, count, i;
	char buf[48], kind[8] = "";
	ssize_t ret = len;
	void *p;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sysfs_streq(buf, "destroy")) {
		mutex_lock(&af->lock);
		mag_cache_destroy(af->cache);
		af->cache = NULL;
		mutex_unlock(&af->lock);
		return len;
	}
	if (sscanf(buf, "%lu %lu %7s", &size, &count, kind) < 2 || size < sizeof(void *) ||
	    size > MAG_LARGE_MAX || count > (1UL << 20) || (*kind && strcmp(kind, "cache")))
		return -EINVAL;
	mutex_lock(&af->lock);
	if (*kind && !af->cache) {
		af->cache = mag_cache_create("magalloc-account", size, 0, 0, NULL);
		af->cache_size = size;
	}
	if (*kind && (!af->cache || af->cache_size != size)) {
		ret = af->cache ? -EINVAL : -ENOMEM;
		mutex_unlock(&af->lock);
		return ret;
	}
	for (i = 0; i < count; i++) {
		p = *kind ? mag_cache_alloc(af->cache, GFP_KERNEL_ACCOUNT) :
			    mag_alloc(size, GFP_KERNEL_ACCOUNT);
		if (!p) {
			ret = -ENOMEM;
			break;
		}
		*(void **)p = af->head;
		af->head = p;
		af->held++;
	}
	mutex_unlock(&af->lock);
	return ret;
}

static ssize_t account_read(struct file *f, char __user *ubuf, size_t len, loff_t *pos)
{
	struct account_file *af = f->private_data;
	char buf[32];
	int n;

	mutex_lock(&af->lock);
	n = scnprintf(buf, sizeof(buf), "%lu\n", af->held);
	mutex_unlock(&af->lock);
	return simple_read_from_buffer(ubuf, len, pos, buf, n);
}

static const struct file_operations account_fops = {
	.owner = THIS_MODULE,
	.open = account_open,
	.release = account_release,
	.write = account_write,
	.read = account_read,
	.llseek = default_llseek,
};

/**
 * mag_memcg_debugfs() - create debugfs "account"
 * @dir: magalloc's debugfs directory
 */
void mag_memcg_debugfs(struct dentry *dir)
{
	debugfs_create_file("account", 0600, dir, NULL, &account_fops);
}
