// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's cross-CPU stress, for every kernel `make check` boots: the
 * stock ones have no KUnit, so it lives in the module and runs when a
 * number of milliseconds is written to /sys/kernel/debug/magalloc/stress
 * (the write fails with EIO if a check failed; "MS faults" allows NULLs,
 * for runs under fault injection; "MS debug" runs with every pool in debug
 * mode, and its objects must come from debug spans); the KUnit suite runs
 * it too
 * (mag_stress_run()).
 *
 * Every online CPU runs a producer, which allocates objects of random
 * sizes (8 B to 2 KiB through the exported mag_alloc(), 96 B through the
 * inline one, now and then a large object), stamps them and passes them
 * through a ring to a consumer on the next CPU, which checks the stamp and
 * mag_ksize() and frees them: every free is remote, and many go to another
 * node.  Meanwhile a timer on every CPU allocates and frees, landing inside
 * fast and slow paths: in hardirq context, or on PREEMPT_RT, where no
 * hardirq handler may allocate (as with kmalloc), in the timer softirq,
 * which preempts tasks inside magazine users.  The timers stop at the
 * producers' deadline; the consumers then drain their rings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "internal.h"

#define RING 256

struct stress_ring {
	void *slot[RING];
	unsigned int head, tail;
	int done;
} ____cacheline_aligned;

struct stress {
	struct stress_ring *rings;
	struct hrtimer __percpu *timers;
	unsigned long deadline;
	atomic_t bad, nulls, moved, timer_ok, timer_nulls, debugged;
};

struct stress_arg {
	struct stress *st;
	int idx;
	struct completion done;
};

/* The timers' mode: hardirq, but for RT, where it is the softirq thread. */
#define STRESS_TIMER_MODE	(IS_ENABLED(CONFIG_PREEMPT_RT) ? HRTIMER_MODE_REL_PINNED : \
				 HRTIMER_MODE_REL_PINNED_HARD)

static void stamp(u8 *p, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++)
		p[i] = (u8)((unsigned long)p >> 4) ^ (u8)i;
}

static bool stamp_ok(const u8 *p, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i] != ((u8)((unsigned long)p >> 4) ^ (u8)i))
			return false;
	return true;
}

static void *stress_alloc(struct rnd_state *rnd, size_t *size)
{
	u32 r = prandom_u32_state(rnd);

	if (r % 4 == 0) {
		*size = 96;
		return mag_alloc(96, GFP_KERNEL);
	}
	if (r % 61 == 0)
		*size = MAG_MAX_SMALL + 1 + r % (3 * MAG_MAX_SMALL);
	else
		*size = 8 + r % 2040;
	return mag_alloc(*size, GFP_KERNEL);
}

static int producer(void *data)
{
	struct stress_arg *a = data;
	struct stress *st = a->st;
	struct stress_ring *r = &st->rings[a->idx];
	struct rnd_state rnd;
	size_t size;
	u8 *p;

	prandom_seed_state(&rnd, a->idx + 1);
	while (time_before(jiffies, st->deadline)) {
		p = stress_alloc(&rnd, &size);
		if (!p) {
			/* counted; under fault injection, go on */
			atomic_inc(&st->nulls);
			cond_resched();
			continue;
		}
		/* the size in the first word, a stamp in the rest */
		*(size_t *)p = size;
		stamp(p + sizeof(size_t), size - sizeof(size_t));
		/* acquire: the consumer is done with the slot we reuse */
		while (READ_ONCE(r->head) - smp_load_acquire(&r->tail) == RING)
			cond_resched();
		r->slot[r->head % RING] = p;
		/* release: publish the slot and the object's contents */
		smp_store_release(&r->head, r->head + 1);
		cond_resched();
	}
	/* release: every slot before it is published */
	smp_store_release(&r->done, 1);
	complete(&a->done);
	return 0;
}

static int consumer(void *data)
{
	struct stress_arg *a = data;
	struct stress *st = a->st;
	struct stress_ring *r = &st->rings[a->idx];
	struct mag_span *span;

	for (;;) {
		/* acquire: pairs with the producer's release of head */
		unsigned int head = smp_load_acquire(&r->head);
		size_t size;
		u8 *p;

		if (r->tail == head) {
			/* acquire: pairs with the producer's release of done */
			if (smp_load_acquire(&r->done) && r->tail == READ_ONCE(r->head))
				break;
			cond_resched();
			continue;
		}
		p = r->slot[r->tail % RING];
		size = *(size_t *)p;
		if (!stamp_ok(p + sizeof(size_t), size - sizeof(size_t)) ||
		    mag_ksize(p) < size)
			atomic_inc(&st->bad);
		rcu_read_lock();
		span = mag_span_of(p);
		if (span && span->state == MAG_SPAN_DEBUG)
			atomic_inc(&st->debugged);
		rcu_read_unlock();
		mag_free(p);
		atomic_inc(&st->moved);
		/* release: the slot may be reused only after we read it */
		smp_store_release(&r->tail, r->tail + 1);
	}
	complete(&a->done);
	return 0;
}

static struct stress *timer_stress;

static enum hrtimer_restart stress_timer(struct hrtimer *t)
{
	u8 *p = mag_alloc(64, GFP_ATOMIC);
	u8 *q = (mag_alloc)(300, GFP_ATOMIC);

	/* counted apart: GFP_ATOMIC may fail where GFP_KERNEL may not */
	if (!p || !q)
		atomic_inc(&timer_stress->timer_nulls);
	if (p && q) {
		memset(p, 0x3c, 64);
		memset(q, 0xc3, 300);
		if (!memchr_inv(p, 0x3c, 64) && !memchr_inv(q, 0xc3, 300))
			atomic_inc(&timer_stress->timer_ok);
	}
	mag_free(p);
	mag_free(q);
	/*
	 * Not past the producers' deadline: on a busy TCG host a vCPU's
	 * callbacks can take the whole period, and consumers left to drain
	 * their rings under them made a 3 s stress last 9 to 15 s.
	 */
	if (time_after_eq(jiffies, timer_stress->deadline))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(200 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void start_timer(void *arg)
{
	struct hrtimer *t = this_cpu_ptr(timer_stress->timers);

	hrtimer_init(t, CLOCK_MONOTONIC, STRESS_TIMER_MODE);
	t->function = stress_timer;
	hrtimer_start(t, ns_to_ktime(200 * NSEC_PER_USEC), STRESS_TIMER_MODE);
}

/**
 * mag_stress_run() - run the cross-CPU stress
 * @ms: how long producers allocate, in milliseconds
 * @res: what happened
 *
 * Context: process context, may sleep; one run at a time.
 * Return: 0 if every check passed, -EIO if one failed, -ENOMEM or -EINTR
 * if it could not run.
 */
int mag_stress_run(unsigned int ms, struct mag_stress_result *res)
{
	static DEFINE_MUTEX(lock);
	struct task_struct **tasks = NULL;
	struct stress_arg *args = NULL;
	struct stress st = {};
	int i, cpu, nr, ret = -ENOMEM;
	int *cpus = NULL;

	if (mutex_lock_interruptible(&lock))
		return -EINTR;
	cpus_read_lock();
	nr = num_online_cpus();
	st.rings = kvcalloc(nr, sizeof(*st.rings), GFP_KERNEL);
	args = kcalloc(2 * nr, sizeof(*args), GFP_KERNEL);
	tasks = kcalloc(2 * nr, sizeof(*tasks), GFP_KERNEL);
	cpus = kcalloc(nr, sizeof(*cpus), GFP_KERNEL);
	st.timers = alloc_percpu(struct hrtimer);
	if (!st.rings || !args || !tasks || !cpus || !st.timers)
		goto out;
	i = 0;
	for_each_online_cpu(cpu)
		cpus[i++] = cpu;
	/* Producer i on CPU i, its consumer on the next one. */
	for (i = 0; i < 2 * nr; i++) {
		args[i] = (struct stress_arg){ .st = &st, .idx = i / 2 };
		init_completion(&args[i].done);
		tasks[i] = kthread_create(i % 2 ? consumer : producer, &args[i],
					  i % 2 ? "magcons/%d" : "magprod/%d", i / 2);
		if (IS_ERR(tasks[i])) {
			ret = PTR_ERR(tasks[i]);
			while (i--)
				kthread_stop(tasks[i]);
			goto out;
		}
		kthread_bind(tasks[i], cpus[(i / 2 + i % 2) % nr]);
	}
	st.deadline = jiffies + msecs_to_jiffies(ms);
	timer_stress = &st;
	on_each_cpu(start_timer, NULL, 1);
	for (i = 0; i < 2 * nr; i++)
		wake_up_process(tasks[i]);
	for (i = 0; i < 2 * nr; i++)
		wait_for_completion(&args[i].done);
	for_each_online_cpu(cpu)
		hrtimer_cancel(per_cpu_ptr(st.timers, cpu));
	timer_stress = NULL;
	ret = atomic_read(&st.bad) ? -EIO : 0;
	res->moved = atomic_read(&st.moved);
	res->timer_ok = atomic_read(&st.timer_ok);
	res->bad = atomic_read(&st.bad);
	res->nulls = atomic_read(&st.nulls);
	res->debugged = atomic_read(&st.debugged);
	pr_info("stress: %u ms on %d CPUs: %lu objects crossed CPUs (%lu in debug mode), %lu timer allocations, %lu bad, %lu NULL, %d NULL in timers\n",
		ms, nr, res->moved, res->debugged, res->timer_ok, res->bad, res->nulls,
		atomic_read(&st.timer_nulls));
out:
	free_percpu(st.timers);
	kfree(cpus);
	kfree(tasks);
	kfree(args);
	kvfree(st.rings);
	cpus_read_unlock();
	mutex_unlock(&lock);
	return ret;
}

static ssize_t stress_write(struct file *file, const char __user *buf,
			    size_t len, loff_t *ppos)
{
	struct mag_stress_result res;
	char kbuf[32], mode[8] = "";
	unsigned int ms;
	bool debug;
	int ret;

	if (len >= sizeof(kbuf))
		return -EINVAL;
	if (copy_from_user(kbuf, buf, len))
		return -EFAULT;
	kbuf[len] = 0;
	if (sscanf(kbuf, "%u %7s", &ms, mode) < 1 || !ms || ms > 60000 ||
	    (*mode && strcmp(mode, "faults") && strcmp(mode, "debug")))
		return -EINVAL;
	debug = !strcmp(mode, "debug");
	if (debug)
		mag_set_debug(true);
	ret = mag_stress_run(ms, &res);
	if (debug) {
		mag_set_debug(false);
		/* the objects must have come from debug spans */
		if (!ret && !res.debugged)
			ret = -EIO;
		*mode = 0;
	}
	/*
	 * A NULL from GFP_KERNEL with memory to spare is a failure too, but
	 * for "faults" (fault injection on: NULLs are what it is for, each
	 * counted and printed; objects must still be whole).
	 */
	if (!ret && ((res.nulls && !*mode) || !res.moved))
		ret = -EIO;
	if (!ret && !*mode && !res.timer_ok)
		ret = -EIO;
	return ret ?: len;
}

static const struct file_operations stress_fops = {
	.owner = THIS_MODULE,
	.write = stress_write,
	.llseek = noop_llseek,
};

/**
 * mag_stress_debugfs() - create the stress file
 * @dir: magalloc's debugfs directory
 */
void mag_stress_debugfs(struct dentry *dir)
{
	debugfs_create_file("stress", 0200, dir, NULL, &stress_fops);
}
