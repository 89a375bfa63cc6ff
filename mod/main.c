// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc: module entry points and the /dev/magalloc character device.
 *
 * Load brings the levels up from the bottom (page heap, pools, lifecycle
 * hooks, then the device); unload takes them down in reverse, drains every
 * magazine, reports what consumers still hold and gives every page back.
 * The ioctl ABI is described in uapi/linux/magalloc.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

static umode_t dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "permission bits of /dev/magalloc (default 0600)");

static unsigned int dev_gid;
module_param(dev_gid, uint, 0444);
MODULE_PARM_DESC(dev_gid, "group owning /dev/magalloc (default 0, root)");

static struct dentry *mag_debugfs, *mag_fault_dir;

/**
 * mag_query_fill() - validate a MAGALLOC_IOC_QUERY request and answer the
 *	parts that do not depend on the heap
 * @q: the request as copied from userspace; answered in place
 *
 * Return: 0, or -EINVAL if @q->flags or any reserved field is not zero.
 */
int mag_query_fill(struct magalloc_query *q)
{
	if (q->flags || memchr_inv(q->reserved, 0, sizeof(q->reserved)))
		return -EINVAL;
	q->abi_version = MAGALLOC_ABI_VERSION;
	q->page_size = PAGE_SIZE;
	q->nr_classes = MAG_NR_CLASSES - 1;
	q->max_small_size = MAG_MAX_SMALL;
	return 0;
}

/*
 * /dev/magalloc is a plain character device rather than a misc device so
 * that its node can get a group (dev_gid) as well as a mode (dev_mode):
 * devtmpfs asks the device type's devnode() for both.
 */
static dev_t mag_devt;
static struct cdev mag_cdev;
struct device *mag_device;

/**
 * mag_devnode() - mode and owner of the /dev/magalloc node
 * @dev: the device
 * @mode: set to dev_mode
 * @uid: left as root
 * @gid: set to dev_gid
 *
 * Return: NULL: the node keeps the device's name.
 */
char *mag_devnode(MAG_DEVNODE_CONST struct device *dev, umode_t *mode,
		  kuid_t *uid, kgid_t *gid)
{
	if (mode)
		*mode = dev_mode & 0777;
	if (gid)
		*gid = make_kgid(&init_user_ns, dev_gid);
	return NULL;
}

static const struct device_type mag_device_type = {
	.name = "magalloc",
	.devnode = mag_devnode,
};

static void mag_device_release(struct device *dev)
{
	kfree(dev);
}

static int mag_chrdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&mag_devt, 0, 1, "magalloc");
	if (ret)
		return ret;
	mag_device = kzalloc(sizeof(*mag_device), GFP_KERNEL);
	if (!mag_device) {
		unregister_chrdev_region(mag_devt, 1);
		return -ENOMEM;
	}
	device_initialize(mag_device);
	mag_device->devt = mag_devt;
	mag_device->type = &mag_device_type;
	mag_device->release = mag_device_release;
	cdev_init(&mag_cdev, &mag_fops);
	mag_cdev.owner = THIS_MODULE;
	ret = dev_set_name(mag_device, "magalloc");
	if (!ret)
		ret = cdev_device_add(&mag_cdev, mag_device);
	if (ret) {
		put_device(mag_device);
		unregister_chrdev_region(mag_devt, 1);
	}
	return ret;
}

static void mag_chrdev_exit(void)
{
	cdev_device_del(&mag_cdev, mag_device);
	put_device(mag_device);
	unregister_chrdev_region(mag_devt, 1);
}

static int mag_stats_show(struct seq_file *m, void *v)
{
	struct mag_pool *pool;
	int node;

	seq_printf(m, "abi_version %u\npage_size %lu\nbad_frees %ld\nshrunk_pages %ld\n",
		   MAGALLOC_ABI_VERSION, PAGE_SIZE, atomic_long_read(&mag_bad_frees),
		   atomic_long_read(&mag_shrunk_pages));
#ifdef CONFIG_FAULT_INJECTION
	seq_printf(m, "injected %ld\n", atomic_long_read(&mag_injected));
#endif
	seq_printf(m, "debug_reports %lu\n",
		   mag_debug_count(MAG_DBG_LEFT_RED) + mag_debug_count(MAG_DBG_RIGHT_RED) +
		   mag_debug_count(MAG_DBG_POISON) + mag_debug_count(MAG_DBG_DOUBLE));
	seq_puts(m, "node arenas free_pages large_pages arenas_released loose_pages loose_blocks\n");
	for_each_node(node) {
		struct mag_heap *h = mag_heaps[node];

		seq_printf(m, "%4d %6lu %10lu %11lu %15lu %11lu %12lu\n", node, h->nr_arenas,
			   h->free_pages, h->large_pages, h->arenas_released,
			   h->loose_pages, h->loose_blocks);
	}
	seq_puts(m, "pool             size node spans      live free_in_spans depot_full depot_empty     misses       slow debug_spans isolated\n");
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		for_each_node(node) {
			struct mag_central *c = pool->central[node];
			unsigned long misses = 0, slow = 0;
			int cpu;

			if (!c->nr_spans && !c->nr_full && !c->nr_empty && !c->dbg_spans)
				continue;
			for_each_possible_cpu(cpu) {
				struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

				/* statistics, each written by its own CPU */
				misses += data_race(pc->misses);
				/* the same */
				slow += data_race(pc->slow);
			}
			seq_printf(m, "%-16s %5u %4d %5lu %9lu %13lu %10u %11u %10lu %10lu %11lu %8lu\n",
				   pool->name, pool->size, node, c->nr_spans,
				   mag_central_live(c), c->nr_free_objs, c->nr_full,
				   c->nr_empty, misses, slow, c->dbg_spans, c->dbg_isolated);
		}
	}
	mutex_unlock(&mag_pools_mutex);
	mag_memcg_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mag_stats);

/**
 * mag_usage() - what magalloc holds, and how often it left its fast paths
 * @u: filled in (see struct mag_usage)
 *
 * For benchmarks (bench/replay.c) and monitors: a snapshot, each counter
 * read without stopping the CPUs that move it.  Takes mag_pools_mutex: may
 * sleep.
 */
void mag_usage(struct mag_usage *u)
{
	struct mag_pool *pool;
	int node;

	memset(u, 0, sizeof(*u));
	for_each_node(node)
		u->pages += mag_heap_pages(mag_heaps[node]);
	u->pages += mag_huge_pages();
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		for_each_node(node)
			/* statistics, each written under its central's lock */
			u->central_locks += data_race(pool->central[node]->locks);
		if (pool->cpu)
			u->slow += mag_cpu_sum(pool, offsetof(struct mag_cpu, slow));
	}
	mutex_unlock(&mag_pools_mutex);
}
EXPORT_SYMBOL_GPL(mag_usage);

/* Per CPU, the drain and trim work items it ran: isolated CPUs run none. */
static int mag_visits_show(struct seq_file *m, void *v)
{
	int cpu;

	for_each_possible_cpu(cpu)
		seq_printf(m, "%d %lu\n", cpu, mag_cpu_visits(cpu));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mag_visits);

/*
 * Per CPU, what its magazines hold now, measured on each CPU (a work item
 * on every CPU holding a magazine), and the total.
 */
static int mag_parked_show(struct seq_file *m, void *v)
{
	struct mag_parked *pk, sum = {};
	int cpu;

	pk = kcalloc(nr_cpu_ids, sizeof(*pk), GFP_KERNEL);
	if (!pk)
		return -ENOMEM;
	mag_measure_parked(pk);
	seq_printf(m, "budget %lu\n", (unsigned long)READ_ONCE(mag_cpu_cache_kib) * SZ_1K);
	seq_puts(m, "cpu magazines objects bytes generic reserved evictions\n");
	for_each_possible_cpu(cpu) {
		seq_printf(m, "%d %lu %lu %lu %lu %lu %lu\n", cpu, pk[cpu].magazines,
			   pk[cpu].objects, pk[cpu].bytes, pk[cpu].generic,
			   pk[cpu].reserved, pk[cpu].evictions);
		sum.magazines += pk[cpu].magazines;
		sum.objects += pk[cpu].objects;
		sum.bytes += pk[cpu].bytes;
		sum.generic += pk[cpu].generic;
		sum.reserved += pk[cpu].reserved;
		sum.evictions += pk[cpu].evictions;
	}
	seq_printf(m, "all %lu %lu %lu %lu %lu %lu\n", sum.magazines, sum.objects,
		   sum.bytes, sum.generic, sum.reserved, sum.evictions);
	kfree(pk);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mag_parked);

static int mag_heaps_show(struct seq_file *m, void *v)
{
	mag_uheaps_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mag_heaps);

static int __init magalloc_init(void)
{
	int ret;

	ret = mag_heap_init();
	if (ret)
		return ret;
	ret = mag_api_init();
	if (ret)
		goto out_heap;
	ret = mag_lifecycle_init();
	if (ret)
		goto out_api;
	ret = mag_uheap_init();
	if (ret)
		goto out_lifecycle;
	ret = mag_chrdev_init();
	if (ret) {
		pr_err("cannot register /dev/magalloc: %d\n", ret);
		goto out_uheap;
	}
	ret = mag_sysfs_init();
	if (ret) {
		mag_chrdev_exit();
		goto out_uheap;
	}
	mag_debugfs = debugfs_create_dir("magalloc", NULL);
	debugfs_create_file("stats", 0444, mag_debugfs, NULL, &mag_stats_fops);
	debugfs_create_file("heaps", 0444, mag_debugfs, NULL, &mag_heaps_fops);
	debugfs_create_file("visits", 0444, mag_debugfs, NULL, &mag_visits_fops);
	debugfs_create_file("parked", 0444, mag_debugfs, NULL, &mag_parked_fops);
	mag_stress_debugfs(mag_debugfs);
	mag_hostile_debugfs(mag_debugfs);
	mag_fault_dir = mag_fault_debugfs();
	mag_memcg_debugfs(mag_debugfs);
	/* KASAN kernels: name magalloc objects in KASAN's reports */
	if (mag_kasan_init())
		pr_warn("KASAN reports will not name magalloc objects\n");
	pr_info("loaded: %u size classes up to %u bytes, /dev/magalloc %u:%u\n",
		MAG_NR_CLASSES - 1, MAG_MAX_SMALL, MAJOR(mag_devt), MINOR(mag_devt));
	return 0;

out_uheap:
	mag_uheap_exit();
out_lifecycle:
	mag_lifecycle_exit();
out_api:
	mag_api_exit();
out_heap:
	mag_heap_exit();
	return ret;
}

static void __exit magalloc_exit(void)
{
	debugfs_remove_recursive(mag_debugfs);
	debugfs_remove_recursive(mag_fault_dir);
	mag_hostile_exit();
	mag_kasan_exit();
	mag_sysfs_exit();
	mag_chrdev_exit();
	mag_uheap_exit();
	mag_lifecycle_exit();
	mag_memcg_trim(true);
	mag_api_exit();
	mag_heap_exit();
	pr_info("unloaded\n");
}

module_init(magalloc_init);
module_exit(magalloc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("magalloc: a per-CPU magazine allocator in the style of Go's runtime");
