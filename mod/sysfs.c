// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's stable counters, outside debugfs: one directory per pool
 * under /sys/kernel/magalloc/, as /sys/kernel/slab/<cache>/ has one per
 * cache, and /proc/magalloc/slabinfo in /proc/slabinfo's format (version
 * 2.1), so that tools reading that can read magalloc's pools.
 *
 * A pool's directory is its name ("mag-64" for the generic class of 64
 * bytes, a typed cache's name), or "<name>:<id>" where another pool has
 * that name already.  Typed caches get theirs at mag_cache_create() and
 * lose it at mag_cache_destroy(); generic pools have theirs from load to
 * unload.  Removing a directory waits for the readers inside it
 * (kernfs), so a show() never sees a pool freed under it.
 *
 * Each file holds one value, as sysfs wants; the per-node ones (objects,
 * total_objects, spans, partial) add " N<node>=<value>" for each node
 * that has any, as SLUB's do.  A memory cgroup's objects live in pools
 * of its own (memcg.c) and are not counted here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "internal.h"

struct pool_kobj {
	struct kobject kobj;
	struct mag_pool *pool;
};

static struct kset *mag_kset;
static struct proc_dir_entry *mag_proc;
/* directory names are chosen and taken under it */
static DEFINE_MUTEX(sysfs_lock);

/* What a pool's centrals hold, per node and in all. */
struct pool_counts {
	unsigned long objects, total, spans, partial, full_mags, empty_mags;
};

static void central_counts(struct mag_central *c, struct pool_counts *pc)
{
	unsigned int per_span = mag_class_objects[c->pool->cls];
	struct mag_span *s;
	unsigned long flags;

	memset(pc, 0, sizeof(*pc));
	spin_lock_irqsave(&c->lock, flags);
	pc->spans = c->nr_spans + c->dbg_spans;
	pc->total = c->nr_spans * per_span + c->dbg_objs;
	pc->objects = pc->total - c->nr_free_objs - c->dbg_free - c->dbg_isolated;
	list_for_each_entry(s, &c->partial, link)
		pc->partial++;
	list_for_each_entry(s, &c->dbg_partial, link)
		pc->partial++;
	pc->full_mags = c->nr_full;
	pc->empty_mags = c->nr_empty;
	spin_unlock_irqrestore(&c->lock, flags);
}

static void pool_counts(struct mag_pool *pool, struct pool_counts *sum)
{
	struct pool_counts pc;
	int node;

	memset(sum, 0, sizeof(*sum));
	for_each_node(node) {
		central_counts(pool->central[node], &pc);
		sum->objects += pc.objects;
		sum->total += pc.total;
		sum->spans += pc.spans;
		sum->partial += pc.partial;
		sum->full_mags += pc.full_mags;
		sum->empty_mags += pc.empty_mags;
	}
}

static struct mag_pool *kobj_pool(struct kobject *kobj)
{
	return container_of(kobj, struct pool_kobj, kobj)->pool;
}

/*
 * "<sum> <tag><i>=<n> ...": the sum of @v[0..@nr), then each part that is
 * not zero, as SLUB's per-node ("N") and per-CPU ("C") files print them.
 */
static int emit_parts(char *buf, char tag, const unsigned long *v, unsigned int nr)
{
	unsigned long sum = 0;
	unsigned int i;
	int len;

	for (i = 0; i < nr; i++)
		sum += v[i];
	len = sysfs_emit(buf, "%lu", sum);
	for (i = 0; i < nr; i++)
		if (v[i])
			len += sysfs_emit_at(buf, len, " %c%u=%lu", tag, i, v[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}

/* @field of struct pool_counts, per node. */
static ssize_t per_node(struct mag_pool *pool, size_t field, char *buf)
{
	struct pool_counts pc;
	unsigned long *v;
	int node, len;

	v = kcalloc(nr_node_ids, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for_each_node(node) {
		central_counts(pool->central[node], &pc);
		v[node] = *(unsigned long *)((char *)&pc + field);
	}
	len = emit_parts(buf, 'N', v, nr_node_ids);
	kfree(v);
	return len;
}

#define NODE_ATTR(_name, _field)						\
static ssize_t _name##_show(struct kobject *kobj, struct kobj_attribute *a,	\
			    char *buf)						\
{										\
	return per_node(kobj_pool(kobj), offsetof(struct pool_counts, _field),	\
			buf);							\
}										\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

NODE_ATTR(objects, objects);
NODE_ATTR(total_objects, total);
NODE_ATTR(spans, spans);
NODE_ATTR(partial, partial);
NODE_ATTR(depot_full, full_mags);
NODE_ATTR(depot_empty, empty_mags);

#define VALUE_ATTR(_name, _fmt, _expr)						\
static ssize_t _name##_show(struct kobject *kobj, struct kobj_attribute *a,	\
			    char *buf)						\
{										\
	struct mag_pool *pool = kobj_pool(kobj);				\
										\
	return sysfs_emit(buf, _fmt "\n", _expr);				\
}										\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

VALUE_ATTR(object_size, "%u", pool->object_size);
VALUE_ATTR(size, "%u", pool->size);
VALUE_ATTR(objs_per_span, "%u", (unsigned int)mag_class_objects[pool->cls]);
VALUE_ATTR(pages_per_span, "%u", 1U << mag_class_order[pool->cls]);
VALUE_ATTR(magazine_size, "%u", pool->mag_size);
VALUE_ATTR(debug, "%d", READ_ONCE(pool->debug));
VALUE_ATTR(ctor, "%ps", pool->ctor);

/**
 * mag_cpu_sum() - a per-CPU counter of struct mag_cpu, summed over CPUs
 *	and nodes
 * @pool: a pool with per-CPU state
 * @field: offsetof() the counter, an unsigned long
 *
 * Return: the sum, read without stopping the CPUs that move it.
 */
unsigned long mag_cpu_sum(struct mag_pool *pool, size_t field)
{
	unsigned long sum = 0;
	int node, cpu;

	for_each_node(node)
		for_each_possible_cpu(cpu) {
			struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

			/* statistics, each written by its own CPU */
			sum += data_race(*(unsigned long *)((char *)pc + field));
		}
	return sum;
}

/*
 * "<sum> C<cpu>=<n> ...": the objects each CPU's magazines of this pool
 * hold (loaded and previous, every node), as SLUB's cpu_slabs lists its
 * per-CPU slabs.  Measured on each CPU that holds magazines, by a work
 * item there (mag_measure_pool_parked()): a reader asked.
 */
static ssize_t cpu_objects_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	unsigned long *objs;
	int len;

	objs = kcalloc(nr_cpu_ids, sizeof(*objs), GFP_KERNEL);
	if (!objs)
		return -ENOMEM;
	mag_measure_pool_parked(kobj_pool(kobj), NULL, objs);
	len = emit_parts(buf, 'C', objs, nr_cpu_ids);
	kfree(objs);
	return len;
}

static struct kobj_attribute cpu_objects_attr = __ATTR_RO(cpu_objects);

VALUE_ATTR(alloc_misses, "%lu", mag_cpu_sum(pool, offsetof(struct mag_cpu, misses)));
VALUE_ATTR(slow_entries, "%lu", mag_cpu_sum(pool, offsetof(struct mag_cpu, slow)));

#ifdef MAGALLOC_STATS
/*
 * MAGALLOC_STATS builds (Kbuild): allocations the magazines served, and
 * their share of all allocations that tried them, in percent with two
 * decimals (mag_alloc() of a size class, mag_cache_alloc(); not bulk
 * calls, which count neither).  Without it, as SLUB without
 * CONFIG_SLUB_STATS, the files do not exist.
 */
VALUE_ATTR(alloc_hits, "%lu", mag_cpu_sum(pool, offsetof(struct mag_cpu, hits)));

static ssize_t hit_rate_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct mag_pool *pool = kobj_pool(kobj);
	unsigned long hits = mag_cpu_sum(pool, offsetof(struct mag_cpu, hits));
	unsigned long all = hits + mag_cpu_sum(pool, offsetof(struct mag_cpu, misses));
	unsigned long bp = all ? div64_ul((u64)hits * 10000, all) : 0;

	return sysfs_emit(buf, "%lu.%02lu\n", bp / 100, bp % 100);
}

static struct kobj_attribute hit_rate_attr = __ATTR_RO(hit_rate);
#endif

static struct attribute *pool_attrs[] = {
	&object_size_attr.attr,
	&size_attr.attr,
	&objs_per_span_attr.attr,
	&pages_per_span_attr.attr,
	&magazine_size_attr.attr,
	&objects_attr.attr,
	&total_objects_attr.attr,
	&spans_attr.attr,
	&partial_attr.attr,
	&depot_full_attr.attr,
	&depot_empty_attr.attr,
	&cpu_objects_attr.attr,
	&alloc_misses_attr.attr,
	&slow_entries_attr.attr,
#ifdef MAGALLOC_STATS
	&alloc_hits_attr.attr,
	&hit_rate_attr.attr,
#endif
	&debug_attr.attr,
	&ctor_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pool);

static void pool_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct pool_kobj, kobj));
}

static const struct kobj_type pool_ktype = {
	.release = pool_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = pool_groups,
};

/**
 * mag_sysfs_add() - give a pool its directory under /sys/kernel/magalloc
 * @pool: a generic pool or a typed cache's, initialised
 *
 * A pool without one (no memory, or before mag_sysfs_init()) works as
 * well; only its directory is missing.
 */
void mag_sysfs_add(struct mag_pool *pool)
{
	struct pool_kobj *pk;
	struct kobject *other;
	int ret;

	if (!mag_kset || !pool->cpu)
		return;
	pk = kzalloc(sizeof(*pk), GFP_KERNEL);
	if (!pk)
		return;
	pk->pool = pool;
	pk->kobj.kset = mag_kset;
	mutex_lock(&sysfs_lock);
	other = kset_find_obj(mag_kset, pool->name);
	if (other) {
		kobject_put(other);
		ret = kobject_init_and_add(&pk->kobj, &pool_ktype, NULL, "%s:%u",
					   pool->name, pool->id);
	} else {
		ret = kobject_init_and_add(&pk->kobj, &pool_ktype, NULL, "%s", pool->name);
	}
	if (ret) {
		kobject_put(&pk->kobj);
		pk = NULL;
	}
	pool->sysfs = pk ? &pk->kobj : NULL;
	mutex_unlock(&sysfs_lock);
}

/**
 * mag_sysfs_del() - remove a pool's directory
 * @pool: the pool; its directory's readers are done when this returns
 */
void mag_sysfs_del(struct mag_pool *pool)
{
	struct kobject *kobj;

	mutex_lock(&sysfs_lock);
	kobj = pool->sysfs;
	pool->sysfs = NULL;
	mutex_unlock(&sysfs_lock);
	if (!kobj)
		return;
	kobject_del(kobj);
	kobject_put(kobj);
}

/* /proc/magalloc/slabinfo: /proc/slabinfo's format, one line per pool. */
static int slabinfo_show(struct seq_file *m, void *v)
{
	struct pool_counts pc;
	struct mag_pool *pool;

	seq_puts(m, "slabinfo - version: 2.1\n");
	seq_puts(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>");
	seq_puts(m, " : tunables <limit> <batchcount> <sharedfactor>");
	seq_puts(m, " : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	mutex_lock(&mag_pools_mutex);
	/* pool->sysfs and its name stay while it is held (mag_sysfs_del()) */
	mutex_lock(&sysfs_lock);
	list_for_each_entry(pool, &mag_pools, link) {
		pool_counts(pool, &pc);
		seq_printf(m, "%-17s %6lu %6lu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6lu %6lu %6u\n",
			   pool->sysfs ? kobject_name(pool->sysfs) : pool->name,
			   pc.objects, pc.total, pool->size,
			   (unsigned int)mag_class_objects[pool->cls],
			   1U << mag_class_order[pool->cls], pool->mag_size, pool->mag_size, 0,
			   pc.spans, pc.spans, 0);
	}
	mutex_unlock(&sysfs_lock);
	mutex_unlock(&mag_pools_mutex);
	return 0;
}

/**
 * mag_sysfs_init() - create /sys/kernel/magalloc, the generic pools'
 *	directories, and /proc/magalloc/slabinfo
 *
 * Return: 0 or -ENOMEM.
 */
int mag_sysfs_init(void)
{
	unsigned int cls;

	mag_kset = kset_create_and_add("magalloc", NULL, kernel_kobj);
	if (!mag_kset)
		return -ENOMEM;
	mag_proc = proc_mkdir("magalloc", NULL);
	if (!mag_proc || !proc_create_single("slabinfo", 0400, mag_proc, slabinfo_show)) {
		mag_sysfs_exit();
		return -ENOMEM;
	}
	for (cls = 1; cls < MAG_NR_CLASSES; cls++)
		mag_sysfs_add(&mag_generic[cls]);
	return 0;
}

/**
 * mag_sysfs_exit() - remove them all: the generic pools', and those of
 *	typed caches still there at unload
 */
void mag_sysfs_exit(void)
{
	struct mag_pool *pool;

	proc_remove(mag_proc);
	mag_proc = NULL;
	if (!mag_kset)
		return;
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link)
		mag_sysfs_del(pool);
	list_for_each_entry(pool, &mag_zombies, link)
		mag_sysfs_del(pool);
	mutex_unlock(&mag_pools_mutex);
	kset_unregister(mag_kset);
	mag_kset = NULL;
}
