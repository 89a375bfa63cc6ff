// SPDX-License-Identifier: GPL-2.0
/*
 * magbench: magalloc against SLUB, measured in the kernel.
 *
 * The whole benchmark runs at load time, after a settling sleep, and
 * prints one console line per figure (parsed by scripts/benchtab.py):
 *
 *   magbench: start init_on_alloc=<0|1> cpus=<online CPUs>
 *   magbench: pair <mag|slub|floor|magcall|slubvar> <size> <ns per pair>
 *   magbench: bulk <mag|slub> 64 <ns per object, 64 objects per call>
 *   magbench: xcpu <mag|slub> 64 <objects per second, best of 5 | n/a>
 *   magbench: trace|replay1|footprint|replay4|churn ...  (bench/replay.c)
 *   magbench: done
 *
 * "mag" and "slub" are mag_alloc()/mag_free() and kmalloc()/kfree() of a
 * size the compiler knows, as at most call sites (sizeof a struct): both
 * resolve the size class at compile time, and magalloc.h inlines its fast
 * paths.  "magcall" calls the exported mag_alloc() and mag_free() (what a
 * MAGALLOC_NO_INLINE consumer gets) and "slubvar" kmalloc() and kfree(),
 * both with a size known only at run time.  "floor" is a bare per-CPU
 * array of pointers, popped and pushed with preemption disabled: the least
 * an allocator with per-CPU caches can cost.
 * Before them the replay's footprints, after them its timings and the
 * churn (bench/replay.c); with replay_only=1, only the replays.
 * Under qemu -icount shift=0 on one vCPU, a guest ns is one instruction.
 * The module then stays loaded, doing nothing, until it is removed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "magalloc.h"
#include "magbench.h"

static unsigned int iters = 20000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "alloc+free pairs per size (a tenth above 8 KiB)");

static unsigned int settle_ms = 3000;
module_param(settle_ms, uint, 0444);
MODULE_PARM_DESC(settle_ms, "sleep before measuring, in ms");

static unsigned int xcpu_objs = 200000;
module_param(xcpu_objs, uint, 0444);
MODULE_PARM_DESC(xcpu_objs, "objects passed from one CPU to another");

static bool replay_only;
module_param(replay_only, bool, 0444);
MODULE_PARM_DESC(replay_only, "only the trace's replays (bench/replay.c)");

static const unsigned int sizes[] = {
	8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768,
};

enum kind { MAG, SLUB, FLOOR, MAGCALL, SLUBVAR };
static const char * const kind_name[] = { "mag", "slub", "floor", "magcall", "slubvar" };

/* ---- the floor: a per-CPU pointer array -------------------------------- */

/*
 * A stack whose index wraps: preemption is enabled between a pop and its
 * push, so a migration can move a pointer from one CPU's array to another's,
 * and the wrap keeps every index in bounds without a test.  Every slot
 * holds a dummy object, which nobody dereferences.
 */
#define FLOOR_SLOTS 64

struct floor_cache {
	unsigned int nr;
	void *objs[FLOOR_SLOTS];
};

static DEFINE_PER_CPU(struct floor_cache, floor_cache);
static char floor_objs[FLOOR_SLOTS];

static void floor_fill(void)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct floor_cache *fc = per_cpu_ptr(&floor_cache, cpu);

		for (i = 0; i < FLOOR_SLOTS; i++)
			fc->objs[i] = &floor_objs[i];
		fc->nr = FLOOR_SLOTS / 2;
	}
}

static __always_inline void *floor_pop(void)
{
	unsigned int nr;
	void *p;

	preempt_disable();
	nr = __this_cpu_read(floor_cache.nr) - 1;
	__this_cpu_write(floor_cache.nr, nr);
	p = __this_cpu_read(floor_cache.objs[nr % FLOOR_SLOTS]);
	preempt_enable();
	return p;
}

static __always_inline void floor_push(void *p)
{
	unsigned int nr;

	preempt_disable();
	nr = __this_cpu_read(floor_cache.nr);
	__this_cpu_write(floor_cache.objs[nr % FLOOR_SLOTS], p);
	__this_cpu_write(floor_cache.nr, nr + 1);
	preempt_enable();
}

/* ---- alloc+free pairs --------------------------------------------------- */

/*
 * One loop per allocator and size, so that the timed loop holds direct
 * calls only (an indirect call costs a retpoline on Debian kernels) and,
 * but for the magcall and slubvar kinds, a size the compiler sees.
 */
static __always_inline int pairs_loop(enum kind kind, size_t size, unsigned int n)
{
	size_t var = size;
	unsigned int i;
	void *p;

	OPTIMIZER_HIDE_VAR(var);
	switch (kind) {
	case MAG:
		for (i = 0; i < n; i++) {
			p = mag_alloc(size, GFP_KERNEL);
			if (!p)
				return -ENOMEM;
			mag_free(p);
		}
		break;
	case SLUB:
		for (i = 0; i < n; i++) {
			p = kmalloc(size, GFP_KERNEL);
			if (!p)
				return -ENOMEM;
			kfree(p);
		}
		break;
	case MAGCALL:
		for (i = 0; i < n; i++) {
			p = (mag_alloc)(var, GFP_KERNEL);
			if (!p)
				return -ENOMEM;
			(mag_free)(p);
		}
		break;
	case SLUBVAR:
		for (i = 0; i < n; i++) {
			p = kmalloc(var, GFP_KERNEL);
			if (!p)
				return -ENOMEM;
			kfree(p);
		}
		break;
	case FLOOR:
		for (i = 0; i < n; i++)
			floor_push(floor_pop());
		break;
	}
	return 0;
}

static noinline int pairs(enum kind kind, unsigned int size, unsigned int n, u64 *ns)
{
	int ret = -EINVAL;
	u64 t0;

	t0 = ktime_get_ns();
	switch (size) {
	case 8:
		ret = pairs_loop(kind, 8, n);
		break;
	case 16:
		ret = pairs_loop(kind, 16, n);
		break;
	case 32:
		ret = pairs_loop(kind, 32, n);
		break;
	case 64:
		ret = pairs_loop(kind, 64, n);
		break;
	case 128:
		ret = pairs_loop(kind, 128, n);
		break;
	case 256:
		ret = pairs_loop(kind, 256, n);
		break;
	case 512:
		ret = pairs_loop(kind, 512, n);
		break;
	case 1024:
		ret = pairs_loop(kind, 1024, n);
		break;
	case 2048:
		ret = pairs_loop(kind, 2048, n);
		break;
	case 4096:
		ret = pairs_loop(kind, 4096, n);
		break;
	case 8192:
		ret = pairs_loop(kind, 8192, n);
		break;
	case 16384:
		ret = pairs_loop(kind, 16384, n);
		break;
	case 32768:
		ret = pairs_loop(kind, 32768, n);
		break;
	}
	*ns = ktime_get_ns() - t0;
	return ret;
}

/* Prints @ns / @n with two decimals. */
static void report(const char *what, const char *name, unsigned int size,
		   u64 ns, u64 n)
{
	u64 hundredths = div64_u64(ns * 100 + n / 2, n);

	pr_info("%s %s %u %llu.%02llu\n", what, name, size, hundredths / 100,
		hundredths % 100);
}

/**
 * magbench_report_kv() - print a figure of many parts
 * @what: the figure
 * @kind: the allocator
 * @set: the operations
 * @ops: how many
 * @ns: time they took
 * @slow: magalloc's slow-path entries meanwhile
 * @locks: magalloc's central lock entries meanwhile
 * @busy: if not 0, the CPUs' time summed, less waits (busy_ns_per_op=)
 */
void magbench_report_kv(const char *what, const char *kind, const char *set,
			u32 ops, u64 ns, unsigned long slow, unsigned long locks, u64 busy)
{
	u64 hundredths = div64_u64(ns * 100 + ops / 2, max(ops, 1U));
	u64 busy100 = div64_u64(busy * 100 + ops / 2, max(ops, 1U));

	if (busy)
		pr_info("%s kind=%s set=%s ops=%u ns_per_op=%llu.%02llu slow=%lu locks=%lu busy_ns_per_op=%llu.%02llu\n",
			what, kind, set, ops, hundredths / 100, hundredths % 100, slow,
			locks, busy100 / 100, busy100 % 100);
	else
		pr_info("%s kind=%s set=%s ops=%u ns_per_op=%llu.%02llu slow=%lu locks=%lu\n",
			what, kind, set, ops, hundredths / 100, hundredths % 100, slow,
			locks);
}

/*
 * A warm-up pass, then the fastest of PASSES measured passes: a timer
 * interrupt that lands in a pass adds its cost to that pass only.
 */
#define PASSES 5

static void bench_pairs(void)
{
	unsigned int s, n, pass;
	enum kind kind;
	u64 ns, best;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		n = sizes[s] > 8192 ? iters / 10 : iters;
		for (kind = MAG; kind <= SLUBVAR; kind++) {
			best = U64_MAX;
			for (pass = 0; pass <= PASSES; pass++) {
				if (pairs(kind, sizes[s], n, &ns))
					break;
				if (pass)
					best = min(best, ns);
			}
			if (pass <= PASSES) {
				pr_info("pair %s %u fail\n", kind_name[kind],
					sizes[s]);
				continue;
			}
			report("pair", kind_name[kind], sizes[s], best, n);
		}
	}
}

/* ---- bulk: 64 objects of 64 B per call ---------------------------------- */

#define BULK_NR 64
#define BULK_SIZE 64

static void *bulk_objs[BULK_NR];

static int bulk(enum kind kind, struct kmem_cache *cache, unsigned int rounds,
		u64 *ns)
{
	unsigned int i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < rounds; i++) {
		if (kind == MAG) {
			if (mag_alloc_bulk(BULK_SIZE, GFP_KERNEL, BULK_NR,
					   bulk_objs) != BULK_NR)
				return -ENOMEM;
			mag_free_bulk(BULK_NR, bulk_objs);
		} else {
			if (kmem_cache_alloc_bulk(cache, GFP_KERNEL, BULK_NR,
						  bulk_objs) != BULK_NR)
				return -ENOMEM;
			kmem_cache_free_bulk(cache, BULK_NR, bulk_objs);
		}
	}
	*ns = ktime_get_ns() - t0;
	return 0;
}

static void bench_bulk(void)
{
	unsigned int rounds = max(iters / BULK_NR, 1U);
	struct kmem_cache *cache;
	enum kind kind;
	u64 ns;

	cache = kmem_cache_create("magbench64", BULK_SIZE, 0, 0, NULL);
	if (!cache) {
		pr_info("bulk slub %u fail\n", BULK_SIZE);
		return;
	}
	for (kind = MAG; kind <= SLUB; kind++) {
		if (bulk(kind, cache, rounds, &ns) ||
		    bulk(kind, cache, rounds, &ns)) {
			pr_info("bulk %s %u fail\n", kind_name[kind], BULK_SIZE);
			continue;
		}
		report("bulk", kind_name[kind], BULK_SIZE, ns,
		       (u64)rounds * BULK_NR);
	}
	kmem_cache_destroy(cache);
}

/* ---- cross-CPU: one CPU allocates, another frees ------------------------ */

#define RING_SLOTS 1024
#define XCPU_SIZE 64

/* A single-producer, single-consumer ring; head and tail only grow. */
struct xcpu {
	enum kind kind;
	unsigned int count;
	atomic_t ready;
	struct completion done[2];
	u64 t0, t1;
	unsigned int head ____cacheline_aligned;
	unsigned int tail ____cacheline_aligned;
	void *ring[RING_SLOTS] ____cacheline_aligned;
};

static struct xcpu xcpu;

/* Both threads start together, each on its own CPU. */
static void xcpu_start(struct xcpu *x)
{
	atomic_inc(&x->ready);
	while (atomic_read(&x->ready) < 2)
		cond_resched();
}

static int xcpu_producer(void *arg)
{
	struct xcpu *x = arg;
	unsigned int head;
	int ret = 0;
	void *p;

	xcpu_start(x);
	x->t0 = ktime_get_ns();
	for (head = 0; head < x->count; head++) {
		if (x->kind == MAG)
			p = mag_alloc(XCPU_SIZE, GFP_KERNEL);
		else
			p = kmalloc(XCPU_SIZE, GFP_KERNEL);
		if (!p)
			ret = -ENOMEM;	/* the consumer skips NULL */
		/* acquire: the consumer is done with the slot we reuse */
		while (head - smp_load_acquire(&x->tail) >= RING_SLOTS)
			cond_resched();
		x->ring[head % RING_SLOTS] = p;
		/* release: publish the slot's pointer before the new head */
		smp_store_release(&x->head, head + 1);
	}
	complete(&x->done[0]);
	return ret;
}

static int xcpu_consumer(void *arg)
{
	struct xcpu *x = arg;
	unsigned int tail;
	void *p;

	xcpu_start(x);
	for (tail = 0; tail < x->count; tail++) {
		/* acquire: pairs with the producer's release of head */
		while (smp_load_acquire(&x->head) == tail)
			cond_resched();
		p = x->ring[tail % RING_SLOTS];
		/* release: the slot is read before the producer may reuse it */
		smp_store_release(&x->tail, tail + 1);
		if (!p)
			continue;
		if (x->kind == MAG)
			mag_free(p);
		else
			kfree(p);
	}
	x->t1 = ktime_get_ns();
	complete(&x->done[1]);
	return 0;
}

/* Runs @count objects from the first online CPU to the second. */
static int xcpu_run(enum kind kind, unsigned int count, u64 *ns)
{
	int (*fn[2])(void *) = { xcpu_producer, xcpu_consumer };
	struct task_struct *t[2];
	unsigned int cpu = cpumask_first(cpu_online_mask);
	int i, ret = 0;

	memset(&xcpu, 0, sizeof(xcpu));
	xcpu.kind = kind;
	xcpu.count = count;
	init_completion(&xcpu.done[0]);
	init_completion(&xcpu.done[1]);
	for (i = 0; i < 2; i++) {
		t[i] = kthread_create_on_cpu(fn[i], &xcpu, cpu, "magbench/%u");
		if (IS_ERR(t[i])) {
			ret = PTR_ERR(t[i]);
			break;
		}
		get_task_struct(t[i]);
		cpu = cpumask_next(cpu, cpu_online_mask);
	}
	if (ret) {
		/* only the producer can exist: stop it before it starts */
		if (i == 1) {
			kthread_stop(t[0]);
			put_task_struct(t[0]);
		}
		return ret;
	}
	wake_up_process(t[0]);
	wake_up_process(t[1]);
	for (i = 0; i < 2; i++) {
		/*
		 * kthread_stop() before a thread first runs would keep it
		 * from running at all: wait for its end, then reap it.
		 */
		wait_for_completion(&xcpu.done[i]);
		ret = kthread_stop(t[i]) ?: ret;
		put_task_struct(t[i]);
	}
	*ns = xcpu.t1 - xcpu.t0;
	return ret;
}

/*
 * Runs alternate between the two allocators, and each reports its fastest
 * run: on a loaded host a vCPU can lose its host CPU for milliseconds, which
 * only ever slows a run down.
 */
#define XCPU_RUNS 5

static void bench_xcpu(void)
{
	u64 ns, best[2] = { U64_MAX, U64_MAX };
	enum kind kind;
	int run;

	for (run = 0; run <= XCPU_RUNS; run++) {
		for (kind = MAG; kind <= SLUB && num_online_cpus() >= 2; kind++) {
			/* run 0, a tenth as long, is the warm-up */
			if (xcpu_run(kind, run ? xcpu_objs : xcpu_objs / 10 + 1,
				     &ns))
				best[kind] = 0;
			else if (run && best[kind])
				best[kind] = min(best[kind], ns);
		}
	}
	for (kind = MAG; kind <= SLUB; kind++) {
		if (num_online_cpus() < 2)
			pr_info("xcpu %s %u n/a\n", kind_name[kind], XCPU_SIZE);
		else if (!best[kind])
			pr_info("xcpu %s %u fail\n", kind_name[kind], XCPU_SIZE);
		else
			pr_info("xcpu %s %u %llu\n", kind_name[kind], XCPU_SIZE,
				div64_u64((u64)xcpu_objs * NSEC_PER_SEC,
					  max(best[kind], 1ULL)));
	}
}

static int __init magbench_init(void)
{
	if (!iters)
		return -EINVAL;
	msleep(settle_ms);
	pr_info("start init_on_alloc=%d cpus=%u\n",
		want_init_on_alloc(GFP_KERNEL), num_online_cpus());
	magbench_replay_load();
	if (!replay_only) {
		floor_fill();
		bench_pairs();
		bench_bulk();
		bench_xcpu();
	}
	magbench_replay(replay_only);
	pr_info("done\n");
	return 0;
}

static void __exit magbench_exit(void)
{
}

module_init(magbench_init);
module_exit(magbench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("magbench: magalloc against SLUB, in the kernel");
