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
 * per size class, a pool whose spans come from those heaps.  Accounted
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
 * magalloc cannot).  Typed caches refuse __GFP_ACCOUNT (NULL): there are
 * no per-cgroup typed pools yet.
 *
 * Lifetime: sets are found by memcg ID in an xarray, under SRCU (an
 * allocation may sleep while it uses one).  The trim unregisters the set
 * of a cgroup that went offline, waits for SRCU readers, and frees it
 * once its last object is gone, dropping its reference to the cgroup.
 * mag_memcg_lock protects the list of sets; mag_memcg_mutex serializes
 * the trim and unload.  Neither nests with the central or heap locks.
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
 * @link: in mag_memcg_list
 * @heaps: per node, [nr_node_ids], whose arenas are charged to @memcg
 * @pools: per size class, made at the first request of that class
 */
struct mag_memcg {
	struct mem_cgroup *memcg;
	unsigned short id;
	bool registered;
	struct list_head link;
	struct mag_heap **heaps;
	struct mag_pool *pools[MAG_NR_CLASSES];
};

static DEFINE_XARRAY_FLAGS(mag_memcg_registry, XA_FLAGS_LOCK_IRQ);
DEFINE_STATIC_SRCU(mag_memcg_srcu);
static LIST_HEAD(mag_memcg_list);
static DEFINE_SPINLOCK(mag_memcg_lock);	/* protects mag_memcg_list */
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

static void set_free(struct mag_memcg *set)
{
	unsigned int cls;
	int node;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		if (!set->pools[cls])
			continue;
		mag_central_destroy(set->pools[cls]);
		kfree(set->pools[cls]);
	}
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
	int node;

	set = kzalloc(sizeof(*set), mag_meta_gfp(gfp));
	if (!set)
		return NULL;
	css_get(&memcg->css);
	set->memcg = memcg;
	set->id = mem_cgroup_id(memcg);
	set->heaps = kcalloc(nr_node_ids, sizeof(*set->heaps), mag_meta_gfp(gfp));
	if (!set->heaps)
		goto fail;
	for_each_node(node) {
		set->heaps[node] = mag_heap_create(node, mag_meta_gfp(gfp));
		if (!set->heaps[node])
			goto fail;
		set->heaps[node]->memcg = memcg;
	}
	spin_lock_irqsave(&mag_memcg_lock, flags);
	list_add_tail(&set->link, &mag_memcg_list);
	spin_unlock_irqrestore(&mag_memcg_lock, flags);
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

/* The set's pool of size class @cls, made at its first use. */
static struct mag_pool *set_pool(struct mag_memcg *set, unsigned int cls, gfp_t gfp)
{
	struct mag_pool *pool = READ_ONCE(set->pools[cls]), *old;

	if (pool)
		return pool;
	pool = kzalloc(sizeof(*pool), mag_meta_gfp(gfp));
	if (!pool)
		return NULL;
	pool->name = mag_generic[cls].name;
	pool->cls = cls;
	pool->size = mag_class_size[cls];
	pool->init = true;
	INIT_LIST_HEAD(&pool->link);
	/* no pool->cpu: its spans point the free fast path at the sentinel */
	if (mag_central_init(pool, set->heaps, gfp)) {
		kfree(pool);
		return NULL;
	}
	old = cmpxchg(&set->pools[cls], NULL, pool);
	if (old) {
		mag_central_destroy(pool);
		kfree(pool);
		return old;
	}
	return pool;
}

static void *set_alloc(struct mag_memcg *set, size_t size, gfp_t gfp, int node)
{
	struct mag_central *c;
	struct mag_pool *pool;
	void *obj;

	if (node == NUMA_NO_NODE)
		node = mag_home_node();
	/* __GFP_NOFAIL is the caller's: at memory.max this would never end */
	gfp &= ~__GFP_NOFAIL;
	if (size > MAG_MAX_SMALL)
		return mag_large_alloc_from(set->heaps, size, gfp, node);
	pool = set_pool(set, mag_size_class(size), gfp);
	if (!pool)
		return NULL;
	c = pool->central[node];
	obj = mag_central_alloc_one(c);
	while (!obj && !mag_central_grow(c, gfp))
		obj = mag_central_alloc_one(c);
	if (!obj)
		obj = mag_alloc_elsewhere(pool, gfp, node);
	if (obj && want_init_on_alloc(gfp))
		memset(obj, 0, pool->size);
	return obj;
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
	struct mem_cgroup *memcg = charged_memcg();
	struct mag_memcg *set;
	int idx;

	if (!memcg)
		return false;
	idx = srcu_read_lock(&mag_memcg_srcu);
	set = set_get(memcg, gfp);
	*objp = set ? set_alloc(set, size, gfp, node) : NULL;
	srcu_read_unlock(&mag_memcg_srcu, idx);
	css_put(&memcg->css);
	return *objp || !(gfp & __GFP_NOFAIL);
}

static unsigned long set_live(struct mag_memcg *set)
{
	unsigned long live = 0;
	unsigned int cls;
	int node;

	struct mag_pool *pool;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		pool = READ_ONCE(set->pools[cls]);
		if (pool)
			for_each_node(node)
				live += mag_central_live(pool->central[node]);
	}
	for_each_node(node)
		live += READ_ONCE(set->heaps[node]->large_pages);
	return live;
}

/* Empty spans to the heaps, free arenas to the kernel (uncharged). */
static void set_trim(struct mag_memcg *set)
{
	unsigned int cls;
	int node;

	struct mag_pool *pool;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		/* made concurrently by allocations, never taken away */
		pool = READ_ONCE(set->pools[cls]);
		if (pool)
			for_each_node(node)
				mag_central_trim(pool->central[node], true, UINT_MAX);
	}
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
	struct mag_memcg *set, *tmp;
	unsigned long flags, live;
	LIST_HEAD(dead);
	bool unregistered = false;

	mutex_lock(&mag_memcg_mutex);
	/* Sets are added at the tail, concurrently; only this removes them. */
	list_for_each_entry(set, &mag_memcg_list, link) {
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
	spin_lock_irqsave(&mag_memcg_lock, flags);
	list_for_each_entry_safe(set, tmp, &mag_memcg_list, link) {
		if (READ_ONCE(set->registered))
			continue;
		/* No lookup finds it now: only frees of its objects remain. */
		live = set_live(set);
		if (live && !all)
			continue;
		if (live)
			pr_err("memcg %u: %lu objects and large pages still allocated at unload; freed\n",
			       set->id, live);
		list_move(&set->link, &dead);
	}
	spin_unlock_irqrestore(&mag_memcg_lock, flags);
	list_for_each_entry_safe(set, tmp, &dead, link) {
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
	struct mag_memcg *set;
	unsigned long arenas;
	int node;

	mutex_lock(&mag_memcg_mutex);
	seq_puts(m, "memcg online registered arenas live\n");
	/* stable: only the trim, excluded by the mutex, removes sets */
	list_for_each_entry(set, &mag_memcg_list, link) {
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
 * GFP_KERNEL_ACCOUNT, charged to the writer's cgroup, and keeps them
 * until the file is closed; a write that cannot get them all fails with
 * ENOMEM and keeps those it got.  Objects are chained through their first
 * word.  The file's position counts the objects held.
 */
struct account_file {
	struct mutex lock;	/* protects the chain */
	void *head;
	unsigned long held;
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
	mutex_destroy(&af->lock);
	kfree(af);
	return 0;
}

static ssize_t account_write(struct file *f, const char __user *ubuf, size_t len,
			     loff_t *pos)
{
	struct account_file *af = f->private_data;
	unsigned long size, count, i;
	char buf[48];
	ssize_t ret = len;
	void *p;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%lu %lu", &size, &count) != 2 || size < sizeof(void *) ||
	    size > MAG_LARGE_MAX || count > (1UL << 20))
		return -EINVAL;
	mutex_lock(&af->lock);
	for (i = 0; i < count; i++) {
		p = mag_alloc(size, GFP_KERNEL_ACCOUNT);
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
