// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc lifecycle: what moves memory between the levels when no
 * allocation asks for it.
 *
 *  - CPU hotplug (a CPUHP_BP_PREPARE_DYN state, run on a live CPU): before
 *    a CPU comes up, its home node is set (its own, or the nearest with
 *    memory); when it is dead, its magazines of every pool go to the
 *    depots.
 *  - Periodic trim (every trim_interval_ms): on each CPU, the magazines of
 *    pools for which that CPU's allocations have not missed since the last
 *    trim go to the depot (a CPU that only frees keeps nothing for a
 *    second period); each depot gives back the full magazines beyond
 *    those CPUs took during the period (its working set stays); empty
 *    spans go back to the heap, the one kept against grow and shrink
 *    cycles too where no CPU took objects from the spans; fully free
 *    arenas beyond one per node go back to the kernel.  So what a burst
 *    of frees left cached is back in the page allocator one period after
 *    the last free.
 *  - Memory pressure: a shrinker counts free arenas and depot objects in
 *    pages and gives back about what reclaim asks: free arenas first,
 *    then full depot magazines into their spans, then the arenas that
 *    fell free; if that was not enough, it asks the CPUs holding
 *    magazines to drain them.
 *  - Debug mode (module parameter debug): every allocation and free takes
 *    the checked central path, so a double free or foreign pointer is
 *    caught at the call.
 *
 * mag_pools_mutex protects the list of pools against these walkers and
 * typed cache creation and destruction.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched/isolation.h>
#include <linux/shrinker.h>
#include <linux/workqueue.h>

#include "internal.h"
#include "trace.h"

LIST_HEAD(mag_pools);
LIST_HEAD(mag_zombies);
/* protects mag_pools and mag_zombies; see the lock order in internal.h */
DEFINE_MUTEX(mag_pools_mutex);

atomic_long_t mag_shrunk_pages;

static unsigned int trim_interval_ms = 2000;
module_param(trim_interval_ms, uint, 0644);
MODULE_PARM_DESC(trim_interval_ms, "period of idle-cache trimming, 0 = never (default 2000)");

/*
 * Which CPUs get a work item.  Drains visit only CPUs that hold a
 * magazine, so an idle CPU is woken at most once or twice after it stops
 * allocating; the periodic trim and the
 * shrinker never visit an isolated CPU (isolcpus=, nohz_full=), whose
 * magazines stay until it takes a slow path again or goes offline.
 */
enum mag_visit {
	MAG_VISIT_CACHING,	/* CPUs holding magazines */
	MAG_VISIT_HOUSEKEEPING,	/* the same, but not isolated ones */
};

/* Times each CPU ran a drain or trim work item (debugfs "visits"). */
static DEFINE_PER_CPU(unsigned long, visits);

/**
 * mag_cpu_caches() - does a CPU hold a magazine of a pool, on any node?
 * @pool: the pool
 * @cpu: the CPU
 *
 * Read from another CPU, which never writes them: a hint, to be checked
 * again after acting on it (a stale answer delays a drain by a period).
 *
 * Return: true if @cpu's magazines of @pool are not all the sentinel.
 */
bool mag_cpu_caches(struct mag_pool *pool, int cpu)
{
	int node;

	if (!pool->cpu)
		return false;
	for_each_node(node) {
		struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

		/* a hint; only @cpu writes them (see above) */
		if (data_race(pc->loaded != mag_sentinel_of(cpu) ||
			      pc->prev != mag_sentinel_of(cpu)))
			return true;
	}
	return false;
}

/*
 * Does @cpu hold a magazine of any pool, or a reservation of its budget?
 * mag_pools_mutex held.
 */
static bool cpu_holds_magazines(int cpu)
{
	struct mag_pool *pool;

	/* written by @cpu alone (see mag_cpu_caches()) */
	if (data_race(per_cpu(mag_budget, cpu).reserved))
		return true;
	list_for_each_entry(pool, &mag_pools, link)
		if (mag_cpu_caches(pool, cpu))
			return true;
	return false;
}

static bool cpu_wanted_housekeeping(int cpu)
{
	return housekeeping_cpu(cpu, HK_TYPE_DOMAIN) && housekeeping_cpu(cpu, HK_TYPE_TICK);
}

static bool cpu_wanted(int cpu, enum mag_visit visit)
{
	if (visit == MAG_VISIT_HOUSEKEEPING && !cpu_wanted_housekeeping(cpu))
		return false;
	return cpu_holds_magazines(cpu);
}

/*
 * schedule_on_each_cpu() is not exported: the same, with one work item per
 * CPU, serialized by a mutex so the items are never reused while pending,
 * for the CPUs @visit asks for.
 */
/* Written by the CPU that queues it: kept off the lines of hot data. */
static DEFINE_PER_CPU_ALIGNED(struct work_struct, cpu_work);
static DEFINE_MUTEX(cpu_work_mutex);
static struct cpumask cpu_work_queued;	/* under cpu_work_mutex */

static void run_on_cpus(work_func_t fn, enum mag_visit visit)
{
	int cpu;

	mutex_lock(&cpu_work_mutex);
	cpus_read_lock();
	cpumask_clear(&cpu_work_queued);
	mutex_lock(&mag_pools_mutex);
	for_each_online_cpu(cpu)
		if (cpu_wanted(cpu, visit))
			cpumask_set_cpu(cpu, &cpu_work_queued);
	mutex_unlock(&mag_pools_mutex);
	for_each_cpu(cpu, &cpu_work_queued) {
		INIT_WORK(per_cpu_ptr(&cpu_work, cpu), fn);
		queue_work_on(cpu, system_wq, per_cpu_ptr(&cpu_work, cpu));
	}
	for_each_cpu(cpu, &cpu_work_queued)
		flush_work(per_cpu_ptr(&cpu_work, cpu));
	cpus_read_unlock();
	mutex_unlock(&cpu_work_mutex);
}

/**
 * mag_cpu_visits() - drain and trim work items a CPU has run
 * @cpu: the CPU
 *
 * Return: the count since load.
 */
unsigned long mag_cpu_visits(int cpu)
{
	/* a statistic, written by @cpu alone */
	return data_race(per_cpu(visits, cpu));
}

static int mag_cpu_prepare(unsigned int cpu)
{
	mag_cpu_set_home(cpu);
	return 0;
}

static int mag_cpu_dead(unsigned int cpu)
{
	struct mag_pool *pool;

	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link)
		mag_cpu_drain(pool, cpu, NUMA_NO_NODE);
	mutex_unlock(&mag_pools_mutex);
	return 0;
}

/* On one CPU: drain the pools it left alone (@all: every pool). */
static void drain_this_cpu(bool all)
{
	struct mag_pool *pool;

	this_cpu_inc(visits);
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		struct mag_cpu *pc;
		int node;

		/*
		 * Taken: debug mode (no magazine is loaded then), or on RT a
		 * task preempted inside a magazine user: not an idle CPU.
		 */
		if (!mag_slow_enter())
			continue;
		for_each_node(node) {
			pc = this_cpu_ptr(pool->cpu[node]);
			if (all || pc->misses == pc->trimmed_at)
				mag_cpu_drain(pool, smp_processor_id(), node);
			pc->trimmed_at = pc->misses;
		}
		mag_slow_exit();
	}
	mutex_unlock(&mag_pools_mutex);
}

/*
 * What this CPU's magazines hold, measured on it (debugfs "parked"), and
 * the part of it in one pool's (sysfs "cpu_objects"); parked_mutex keeps
 * one measure at a time, from the work items to the copying out.
 */
static DEFINE_PER_CPU(struct mag_parked, parked);
static DEFINE_PER_CPU(unsigned long, parked_pool_objs);
static struct mag_pool *parked_pool;	/* under parked_mutex */
static DEFINE_MUTEX(parked_mutex);

static void parked_fn(struct work_struct *w)
{
	struct mag_parked *pk = this_cpu_ptr(&parked);
	struct mag_pool *pool;
	int node;

	memset(pk, 0, sizeof(*pk));
	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		if (!mag_slow_enter())
			continue;
		for_each_node(node) {
			struct mag_cpu *pc = this_cpu_ptr(pool->cpu[node]);
			unsigned long n = pc->loaded->rounds + pc->prev->rounds;

			pk->objects += n;
			pk->bytes += n * pool->size;
			if (pool->generic)
				pk->generic += n * pool->size;
			pk->magazines += !mag_is_sentinel(pc->loaded) +
					 !mag_is_sentinel(pc->prev);
			if (pool == parked_pool)
				this_cpu_add(parked_pool_objs, n);
		}
		mag_slow_exit();
	}
	mutex_unlock(&mag_pools_mutex);
	/* written by this CPU inside busy regions: a snapshot is enough */
	pk->reserved = data_race(this_cpu_read(mag_budget.reserved));
	/* the same */
	pk->evictions = data_race(this_cpu_read(mag_budget.evictions));
}

/**
 * mag_measure_parked() - measure what every CPU's magazines hold
 * @out: per possible CPU, [nr_cpu_ids]; CPUs that hold no magazine (or
 *	are offline) read zero
 *
 * Runs a work item on each CPU that holds a magazine, isolated ones too:
 * an administrator asked.
 *
 * Context: process context, may sleep.
 */
void mag_measure_parked(struct mag_parked *out)
{
	mag_measure_pool_parked(NULL, out, NULL);
}

/**
 * mag_measure_pool_parked() - measure what every CPU's magazines hold,
 *	and what of it is one pool's
 * @pool: the pool, or NULL
 * @out: per possible CPU, [nr_cpu_ids], or NULL
 * @objs: per possible CPU, [nr_cpu_ids]: the objects @pool's magazines on
 *	that CPU hold, all nodes; or NULL
 *
 * As mag_measure_parked(), which it is with @pool NULL.
 *
 * Context: process context, may sleep.
 */
void mag_measure_pool_parked(struct mag_pool *pool, struct mag_parked *out,
			     unsigned long *objs)
{
	int cpu;

	mutex_lock(&parked_mutex);
	for_each_possible_cpu(cpu) {
		memset(per_cpu_ptr(&parked, cpu), 0, sizeof(struct mag_parked));
		*per_cpu_ptr(&parked_pool_objs, cpu) = 0;
	}
	/* the work items are queued after it: they see it */
	parked_pool = pool;
	run_on_cpus(parked_fn, MAG_VISIT_CACHING);
	parked_pool = NULL;
	for_each_possible_cpu(cpu) {
		if (out)
			out[cpu] = *per_cpu_ptr(&parked, cpu);
		if (objs)
			objs[cpu] = *per_cpu_ptr(&parked_pool_objs, cpu);
	}
	mutex_unlock(&parked_mutex);
}

static void trim_cpu_fn(struct work_struct *w)
{
	drain_this_cpu(false);
}

static void drain_cpu_fn(struct work_struct *w)
{
	drain_this_cpu(true);
}

/* Depots, spans and arenas; returns pages given back to the kernel. */
static unsigned long trim_central(bool all)
{
	unsigned long pages = 0;
	struct mag_pool *pool;
	int node;

	list_for_each_entry(pool, &mag_pools, link)
		for_each_node(node)
			mag_central_trim(pool->central[node], all, UINT_MAX);
	for_each_node(node)
		pages += mag_heap_release(mag_heaps[node], all ? 0 : 1);
	return pages;
}

/**
 * mag_drain_all() - drain every CPU's magazines, depots, spans and arenas
 *
 * Context: process context, may sleep; takes mag_pools_mutex.
 * Return: pages given back to the kernel.
 */
unsigned long mag_drain_all(void)
{
	unsigned long pages;

	mag_kasan_flush();
	run_on_cpus(drain_cpu_fn, MAG_VISIT_CACHING);
	mutex_lock(&mag_pools_mutex);
	pages = trim_central(true);
	mutex_unlock(&mag_pools_mutex);
	mag_memcg_trim(false);
	atomic_long_add(pages, &mag_shrunk_pages);
	return pages;
}

/* Does a CPU hold a magazine of a pool @want accepts?  mag_pools_mutex held. */
static bool pools_cached(bool (*want)(const struct mag_pool *pool))
{
	struct mag_pool *pool;
	int cpu;

	list_for_each_entry(pool, &mag_pools, link) {
		if (want && !want(pool))
			continue;
		for_each_possible_cpu(cpu)
			if (mag_cpu_caches(pool, cpu))
				return true;
	}
	return false;
}

/**
 * mag_drain_until_uncached() - drain until no CPU caches objects of some pools
 * @want: which pools (NULL: all)
 *
 * For a switch that takes pools off their magazines (debug mode, tracing):
 * a slow path that looked before the switch may load one more magazine, and
 * a drain's work item skips a CPU whose busy mark a preempted task holds
 * (RT), so drain again until none is left, for about a second at most.
 *
 * Context: process context, may sleep.
 * Return: true if no CPU caches one any more.
 */
bool mag_drain_until_uncached(bool (*want)(const struct mag_pool *pool))
{
	unsigned int tries = 0;
	bool cached;

	for (;;) {
		mag_drain_all();
		mutex_lock(&mag_pools_mutex);
		cached = pools_cached(want);
		mutex_unlock(&mag_pools_mutex);
		if (!cached || ++tries == 1000)
			return !cached;
		usleep_range(1000, 2000);
	}
}

static void trim_fn(struct work_struct *w);
static DECLARE_DELAYED_WORK(trim_work, trim_fn);
static void drain_fn(struct work_struct *w);
static DECLARE_WORK(drain_work, drain_fn);

/**
 * mag_trim_now() - one pass of the periodic trim, at once
 *
 * Context: process context, may sleep.
 */
void mag_trim_now(void)
{
	/* under KASAN, an object stays quarantined a trim period at most */
	mag_kasan_flush();
	run_on_cpus(trim_cpu_fn, MAG_VISIT_HOUSEKEEPING);
	mutex_lock(&mag_pools_mutex);
	trim_central(false);
	mutex_unlock(&mag_pools_mutex);
	mag_memcg_trim(false);
}

static void trim_fn(struct work_struct *w)
{
	unsigned int ms = READ_ONCE(trim_interval_ms);

	if (ms)
		mag_trim_now();
	queue_delayed_work(system_unbound_wq, &trim_work,
			   msecs_to_jiffies(ms ?: 1000));
}

static void drain_fn(struct work_struct *w)
{
	run_on_cpus(drain_cpu_fn, MAG_VISIT_HOUSEKEEPING);
}

static DEFINE_MUTEX(trim_pause_mutex);
static unsigned int trim_pauses;	/* under trim_pause_mutex */

/**
 * mag_trim_pause() - stop or restart the periodic trim
 * @pause: stop it (waiting for a pass in progress), else restart it
 *
 * For tests that count what sits in magazines and depots.  Pauses nest:
 * the trim restarts when every pause has been undone (a KUnit suite
 * pauses it for all its cases, and a case that pauses and restarts it
 * again must not restart it for the cases after it).
 */
void mag_trim_pause(bool pause)
{
	mutex_lock(&trim_pause_mutex);
	if (pause) {
		if (!trim_pauses++)
			cancel_delayed_work_sync(&trim_work);
	} else if (!WARN_ON_ONCE(!trim_pauses) && !--trim_pauses) {
		queue_delayed_work(system_unbound_wq, &trim_work,
				   msecs_to_jiffies(trim_interval_ms ?: 1000));
	}
	mutex_unlock(&trim_pause_mutex);
}

/**
 * mag_trim_pending() - is the periodic trim queued?
 *
 * Return: true if its next pass is queued (not paused).
 */
bool mag_trim_pending(void)
{
	return delayed_work_pending(&trim_work);
}

/**
 * mag_drain_wait() - wait for the drain the shrinker asked the CPUs for
 */
void mag_drain_wait(void)
{
	flush_work(&drain_work);
}

/*
 * The shrinker counts and frees pages.  What it can give back: fully free
 * arenas, and the objects parked in depots and in the magazines of the
 * CPUs a drain visits (a bound: a magazine counts as full, and pages come
 * back only when whole spans, then whole arenas, fall free).  A scan that
 * depots and arenas could not satisfy asks those CPUs to drain their
 * magazines, for the next scan.  mag_pools_mutex held.
 */
static unsigned long parked_pages(void)
{
	unsigned long bytes = 0, mags, held;
	struct mag_pool *pool;
	int node, cpu;

	list_for_each_entry(pool, &mag_pools, link) {
		for_each_node(node) {
			/* hints, read without the central lock */
			mags = data_race(pool->central[node]->nr_full);
			for_each_online_cpu(cpu) {
				struct mag_cpu *pc = per_cpu_ptr(pool->cpu[node], cpu);

				if (!cpu_wanted_housekeeping(cpu))
					continue;
				/* only @cpu writes them; never followed */
				held = data_race((pc->loaded != mag_sentinel_of(cpu)) +
						 (pc->prev != mag_sentinel_of(cpu)));
				/* the same: a magazine counts as full */
				bytes += held * data_race(pc->limit) * pool->size;
			}
			bytes += mags * pool->mag_size * pool->size;
		}
	}
	return bytes >> PAGE_SHIFT;
}

static unsigned long free_arena_pages(void)
{
	unsigned long pages = 0;
	int node;

	for_each_node(node)
		pages += READ_ONCE(mag_heaps[node]->free_arenas) * MAG_ARENA_PAGES;
	return pages;
}

static unsigned long release_arenas(void)
{
	unsigned long pages = 0;
	int node;

	for_each_node(node)
		pages += mag_heap_release(mag_heaps[node], 0);
	return pages;
}

static unsigned long mag_count(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long pages = free_arena_pages();

	if (mutex_trylock(&mag_pools_mutex)) {
		pages += parked_pages();
		mutex_unlock(&mag_pools_mutex);
	}
	return pages ?: SHRINK_EMPTY;
}

/*
 * Give back about @sc->nr_to_scan pages: free arenas first, then full
 * depot magazines, one per pool and node per round, until the objects
 * returned to spans add up to what is still wanted.  A busy allocator's
 * depots keep what a small scan does not need.
 */
static unsigned long mag_scan(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long want = sc->nr_to_scan, pages, bytes = 0;
	struct mag_pool *pool;
	bool more = true;
	int node;

	mag_kasan_flush();
	/* Reclaim may come from an allocation made under the mutex. */
	if (!mutex_trylock(&mag_pools_mutex))
		return SHRINK_STOP;
	pages = release_arenas();
	while (more) {
		more = false;
		list_for_each_entry(pool, &mag_pools, link) {
			for_each_node(node) {
				unsigned long objs;

				if (pages + (bytes >> PAGE_SHIFT) >= want)
					goto trimmed;
				objs = mag_central_trim(pool->central[node], true, 1);
				more |= objs;
				bytes += objs * pool->size;
			}
		}
	}
trimmed:
	if (bytes)
		pages += release_arenas();
	mutex_unlock(&mag_pools_mutex);
	atomic_long_add(pages, &mag_shrunk_pages);
	trace_magalloc_shrink(want, pages);
	sc->nr_scanned = max(want, pages);
	/* Magazines belong to their CPUs: ask them, do not wait. */
	if (pages < want)
		queue_work(system_unbound_wq, &drain_work);
	return pages ?: SHRINK_STOP;
}

/* shrinker_alloc() came with SHRINKER_ALLOCATED in 6.7. */
#ifdef SHRINKER_ALLOCATED
static struct shrinker *mag_shrinker;

static int shrinker_init(void)
{
	mag_shrinker = shrinker_alloc(0, "magalloc");
	if (!mag_shrinker)
		return -ENOMEM;
	mag_shrinker->count_objects = mag_count;
	mag_shrinker->scan_objects = mag_scan;
	shrinker_register(mag_shrinker);
	return 0;
}

static void shrinker_exit(void)
{
	shrinker_free(mag_shrinker);
}
#else
static struct shrinker mag_shrinker = {
	.count_objects = mag_count,
	.scan_objects = mag_scan,
	.seeks = DEFAULT_SEEKS,
};

static int shrinker_init(void)
{
	return register_shrinker(&mag_shrinker, "magalloc");
}

static void shrinker_exit(void)
{
	unregister_shrinker(&mag_shrinker);
}
#endif

/**
 * mag_shrinker_count() - the shrinker's count_objects, for tests
 * @sc: the shrink control
 *
 * Return: what count_objects returns.
 */
unsigned long mag_shrinker_count(struct shrink_control *sc)
{
	return mag_count(NULL, sc);
}

/**
 * mag_shrinker_run() - the shrinker's scan_objects, for tests
 * @sc: the shrink control
 *
 * Return: what scan_objects returns.
 */
unsigned long mag_shrinker_run(struct shrink_control *sc)
{
	return mag_scan(NULL, sc);
}

static int cpuhp_state;

int mag_lifecycle_init(void)
{
	int ret;

	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "magalloc:cpu",
					mag_cpu_prepare, mag_cpu_dead);
	if (ret < 0)
		return ret;
	cpuhp_state = ret;
	ret = shrinker_init();
	if (ret) {
		cpuhp_remove_state_nocalls(cpuhp_state);
		return ret;
	}
	mag_debug_start();
	queue_delayed_work(system_unbound_wq, &trim_work,
			   msecs_to_jiffies(trim_interval_ms ?: 1000));
	return 0;
}

void mag_lifecycle_exit(void)
{
	cancel_delayed_work_sync(&trim_work);
	shrinker_exit();
	cancel_work_sync(&drain_work);
	cpuhp_remove_state_nocalls(cpuhp_state);
	mag_debug_exit();
}
