// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: false sharing, shown two ways.
 *
 * 1. Layout (suite magalloc_layout): every per-CPU structure is cache-line
 *    aligned and padded, and no line holds data that two CPUs write: the
 *    per-CPU magazines and busy marks, the per-node centrals and heaps,
 *    the magazines themselves and the arena header's read-mostly part.
 * 2. A MESI model (suite magalloc_mesi): with mag_trace_key on, the fast
 *    and exchange paths record each (CPU, cache line, read/write) they
 *    touch.  The trace is replayed through a MESI state machine per line,
 *    which counts the writes that invalidate a copy held by another CPU.
 *    Two CPUs running the fast path side by side must cause none; two CPUs
 *    trading objects through the depot may cause only a bounded number per
 *    magazine exchange.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/hash.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "internal.h"
#include "kunit_util.h"

DEFINE_STATIC_KEY_FALSE(mag_trace_key);

struct mag_trace_rec {
	unsigned long line;
	u16 cpu;
	u8 write;
};

#define MAG_TRACE_MAX	BIT(18)
static struct mag_trace_rec *mag_trace_buf;
static atomic_t mag_trace_len;

void mag_trace_access(const void *addr, bool write)
{
	unsigned int i = atomic_inc_return(&mag_trace_len) - 1;

	if (i < MAG_TRACE_MAX && mag_trace_buf) {
		mag_trace_buf[i].line = (unsigned long)addr / SMP_CACHE_BYTES;
		mag_trace_buf[i].cpu = raw_smp_processor_id();
		mag_trace_buf[i].write = write;
	}
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */
/* ------------------------------------------------------------------ */

static unsigned long first_line(const void *p)
{
	return (unsigned long)p / SMP_CACHE_BYTES;
}

static unsigned long last_line(const void *p, size_t len)
{
	return ((unsigned long)p + len - 1) / SMP_CACHE_BYTES;
}

/* Do [a, a + alen) and [b, b + blen) touch a common cache line? */
static bool lines_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	return first_line(a) <= last_line(b, blen) &&
	       first_line(b) <= last_line(a, alen);
}

static bool line_aligned(const void *p)
{
	return IS_ALIGNED((unsigned long)p, SMP_CACHE_BYTES);
}

/* struct mag_cpu: aligned, padded, and never on another CPU's lines. */
static void layout_mag_cpu(struct kunit *test)
{
	const size_t sz = sizeof(struct mag_cpu);
	struct mag_pool *pool;
	unsigned int pools = 0;
	int a, b, node;

	KUNIT_EXPECT_EQ(test, __alignof__(struct mag_cpu) % SMP_CACHE_BYTES, 0);
	KUNIT_EXPECT_EQ(test, sz % SMP_CACHE_BYTES, 0);

	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		pools++;
		for_each_node(node) {
			for_each_possible_cpu(a) {
				struct mag_cpu *pa = per_cpu_ptr(pool->cpu[node], a);

				KUNIT_EXPECT_TRUE_MSG(test, line_aligned(pa),
						      "%s: mag_cpu %d of CPU %d not line aligned",
						      pool->name, node, a);
				for_each_possible_cpu(b) {
					if (b == a)
						continue;
					struct mag_cpu *pb = per_cpu_ptr(pool->cpu[node], b);
					struct mag_front *f = per_cpu_ptr(&mag_front, b);

					KUNIT_EXPECT_FALSE_MSG(test, lines_overlap(pa, sz, pb, sz),
							       "%s: mag_cpu %d of CPUs %d and %d share a line",
							       pool->name, node, a, b);
					KUNIT_EXPECT_FALSE_MSG(test,
							       lines_overlap(pa, sz, f, sizeof(*f)),
							       "%s: mag_cpu %d of CPU %d on CPU %d's busy-mark line",
							       pool->name, node, a, b);
				}
			}
		}
	}
	mutex_unlock(&mag_pools_mutex);
	KUNIT_EXPECT_GT(test, pools, 0);
}

/*
 * The busy marks (struct mag_front) of two CPUs never share a line, and
 * each CPU's @local array is its own node's generic magazines.
 */
static void layout_busy_marks(struct kunit *test)
{
	const size_t sz = sizeof(struct mag_front);
	int a, b;

	KUNIT_EXPECT_EQ(test, sz % SMP_CACHE_BYTES, 0);
	/*
	 * The mark starts a line of its own, so no per-CPU variable another
	 * CPU writes (a work item queued from elsewhere, say) shares it.
	 */
	for_each_possible_cpu(a) {
		struct mag_front *f = per_cpu_ptr(&mag_front, a);

		KUNIT_EXPECT_TRUE_MSG(test, line_aligned(f),
				      "busy mark of CPU %d not line aligned", a);
		KUNIT_EXPECT_EQ_MSG(test, f->busy, 0, "CPU %d's busy mark is set", a);
		KUNIT_EXPECT_PTR_EQ(test, f->local + 1,
				    per_cpu_ptr(mag_generic[1].cpu[cpu_to_mem(a)], a));
	}
	for_each_possible_cpu(a)
		for_each_possible_cpu(b)
			if (a != b)
				KUNIT_EXPECT_FALSE_MSG(test,
						       lines_overlap(per_cpu_ptr(&mag_front, a), sz,
								     per_cpu_ptr(&mag_front, b),
								     sz),
						       "busy marks of CPUs %d and %d share a line",
						       a, b);
}

/*
 * Centrals and heaps start a line, own whole lines (their allocation is
 * a multiple of the line size), and no central shares a line with a heap.
 */
static void layout_central_heap(struct kunit *test)
{
	struct mag_pool *pool;
	int node, hnode;

	KUNIT_EXPECT_EQ(test, sizeof(struct mag_central) % SMP_CACHE_BYTES, 0);
	KUNIT_EXPECT_EQ(test, sizeof(struct mag_heap) % SMP_CACHE_BYTES, 0);
	KUNIT_ASSERT_NOT_NULL(test, mag_heaps);
	for_each_node(node) {
		struct mag_heap *h = mag_heaps[node];

		KUNIT_ASSERT_NOT_NULL(test, h);
		KUNIT_EXPECT_TRUE_MSG(test, line_aligned(h), "heap %d not line aligned", node);
		KUNIT_EXPECT_EQ(test, ksize(h) % SMP_CACHE_BYTES, 0);
		KUNIT_EXPECT_GE(test, ksize(h), sizeof(*h));
	}

	mutex_lock(&mag_pools_mutex);
	list_for_each_entry(pool, &mag_pools, link) {
		for_each_node(node) {
			struct mag_central *c = pool->central[node];
			size_t csz = ksize(c);

			KUNIT_EXPECT_TRUE_MSG(test, line_aligned(c),
					      "%s: central %d not line aligned",
					      pool->name, node);
			KUNIT_EXPECT_EQ_MSG(test, csz % SMP_CACHE_BYTES, 0,
					    "%s: central %d allocation not whole lines",
					    pool->name, node);
			KUNIT_EXPECT_GE(test, csz, sizeof(*c));
			for_each_node(hnode) {
				struct mag_heap *h = mag_heaps[hnode];

				KUNIT_EXPECT_FALSE_MSG(test,
						       lines_overlap(c, csz, h, ksize(h)),
						       "%s: central %d shares a line with heap %d",
						       pool->name, node, hnode);
			}
		}
	}
	mutex_unlock(&mag_pools_mutex);
}

/* A magazine is line aligned and its allocation is whole lines. */
static void layout_magazine(struct kunit *test)
{
	unsigned int cls;

	for (cls = 1; cls < MAG_NR_CLASSES; cls++) {
		struct mag_pool *pool = &mag_generic[cls];
		struct mag_magazine *m = mag_magazine_alloc(pool, GFP_KERNEL, NUMA_NO_NODE);
		size_t sz;

		KUNIT_ASSERT_NOT_NULL(test, m);
		sz = ksize(m);
		KUNIT_EXPECT_TRUE_MSG(test, line_aligned(m), "%s: magazine not line aligned",
				      pool->name);
		KUNIT_EXPECT_EQ_MSG(test, sz % SMP_CACHE_BYTES, 0,
				    "%s: magazine allocation of %zu bytes not whole lines",
				    pool->name, sz);
		KUNIT_EXPECT_GE(test, sz, struct_size(m, objs, pool->mag_size));
		/* no room until a CPU loads it and gives it its limit */
		KUNIT_EXPECT_EQ(test, m->size, 0U);
		kfree(m);
	}
}

/*
 * The arena header: the read-mostly part (@magic, @node, @cpu[], read by
 * every CPU's free) ends before @heap, which starts the written part on
 * its own line.
 */
static void layout_arena_header(struct kunit *test)
{
	size_t heap_off = offsetof(struct mag_arena, heap);

	KUNIT_EXPECT_EQ(test, heap_off % SMP_CACHE_BYTES, 0);
	KUNIT_EXPECT_LE(test, offsetofend(struct mag_arena, magic), heap_off);
	KUNIT_EXPECT_LE(test, offsetofend(struct mag_arena, node), heap_off);
	KUNIT_EXPECT_LE(test, ALIGN(offsetofend(struct mag_arena, cpu), SMP_CACHE_BYTES),
			heap_off);
	KUNIT_EXPECT_LE(test, sizeof(struct mag_arena), MAG_HDR_PAGES * PAGE_SIZE);
}

static struct kunit_case layout_cases[] = {
	KUNIT_CASE(layout_mag_cpu),
	KUNIT_CASE(layout_busy_marks),
	KUNIT_CASE(layout_central_heap),
	KUNIT_CASE(layout_magazine),
	KUNIT_CASE(layout_arena_header),
	{}
};

static struct kunit_suite layout_suite = {
	.name = "magalloc_layout",
	.test_cases = layout_cases,
};

/* ------------------------------------------------------------------ */
/* MESI model                                                          */
/* ------------------------------------------------------------------ */

#define MESI_CPUS	8
#define MESI_OBJ_SIZE	64
#define MESI_SHOW	4

enum mesi_state { MESI_I, MESI_S, MESI_E, MESI_M };

struct mesi_line {
	unsigned long line;
	bool used;
	u8 state[MESI_CPUS];
};

/**
 * struct mesi_result - what a replay of the trace found
 * @invalidations: writes that invalidated another CPU's copy
 * @transfers: reads that took a line another CPU held in M or E
 * @records: records per CPU
 * @lines: distinct lines
 * @shown: invalidations described in @show
 * @show: the first few invalidations, for the log: record index, writer,
 *	line address and the mask of CPUs invalidated
 */
struct mesi_result {
	unsigned long invalidations;
	unsigned long transfers;
	unsigned long records[MESI_CPUS];
	unsigned long lines;
	unsigned int shown;
	struct {
		unsigned int idx;
		unsigned int cpu;
		unsigned long line;
		unsigned int victims;
	} show[MESI_SHOW];
};

KUNIT_DEFINE_ACTION_WRAPPER(mesi_kvfree, kvfree, const void *);

/*
 * Replay the first @len records through MESI, per line:
 *  - a write by c: every other CPU's copy (M, E or S) becomes I, which is
 *    one invalidation if there was any; c's becomes M;
 *  - a read by c holding I: another CPU's M or E copy becomes S (one
 *    transfer); c's becomes S, or E if no other CPU holds the line.
 */
static void mesi_replay(struct kunit *test, unsigned int len, struct mesi_result *r)
{
	unsigned int bits = ilog2(roundup_pow_of_two(2 * len + 2));
	unsigned long mask = (1UL << bits) - 1;
	struct mesi_line *tab;
	unsigned int i, o;

	memset(r, 0, sizeof(*r));
	tab = kvcalloc(mask + 1, sizeof(*tab), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tab);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, mesi_kvfree, tab), 0);

	for (i = 0; i < len; i++) {
		const struct mag_trace_rec *rec = &mag_trace_buf[i];
		unsigned int c = rec->cpu, victims = 0;
		unsigned long h = hash_long(rec->line, bits);
		struct mesi_line *e;

		KUNIT_ASSERT_LT(test, c, nr_cpu_ids);
		for (e = &tab[h]; e->used && e->line != rec->line; e = &tab[h])
			h = (h + 1) & mask;
		if (!e->used) {
			e->used = true;
			e->line = rec->line;
			r->lines++;
		}
		r->records[c]++;

		if (rec->write) {
			for (o = 0; o < nr_cpu_ids; o++) {
				if (o != c && e->state[o] != MESI_I) {
					e->state[o] = MESI_I;
					victims |= BIT(o);
				}
			}
			if (victims) {
				if (r->shown < MESI_SHOW) {
					r->show[r->shown].idx = i;
					r->show[r->shown].cpu = c;
					r->show[r->shown].line = rec->line;
					r->show[r->shown].victims = victims;
					r->shown++;
				}
				r->invalidations++;
			}
			e->state[c] = MESI_M;
		} else if (e->state[c] == MESI_I) {
			bool held = false, taken = false;

			for (o = 0; o < nr_cpu_ids; o++) {
				if (o == c || e->state[o] == MESI_I)
					continue;
				held = true;
				if (e->state[o] == MESI_M || e->state[o] == MESI_E) {
					e->state[o] = MESI_S;
					taken = true;
				}
			}
			if (taken)
				r->transfers++;
			e->state[c] = held ? MESI_S : MESI_E;
		}
	}
}

static void mesi_show(struct kunit *test, const struct mesi_result *r)
{
	unsigned int i;

	for (i = 0; i < r->shown; i++)
		kunit_info(test, "record %u: CPU %u wrote line %p, invalidating CPUs %#x\n",
			   r->show[i].idx, r->show[i].cpu,
			   (void *)(r->show[i].line * SMP_CACHE_BYTES),
			   r->show[i].victims);
}

/*
 * Tracing is on only between mesi_trace_start() and mesi_trace_stop().
 * Every mag_trace() call site runs with preemption off (fast paths, busy
 * regions, central lock), so once the key is off, synchronize_rcu()
 * waits out any recorder still writing.  The cleanup action turns the
 * key off again in case a test stopped between the two.
 */
static void mesi_trace_release(void *buf)
{
	static_branch_disable(&mag_trace_key);
	synchronize_rcu();
	mag_trace_buf = NULL;
	vfree(buf);
}

static void mesi_trace_init(struct kunit *test)
{
	struct mag_trace_rec *buf;

	KUNIT_ASSERT_FALSE(test, static_key_enabled(&mag_trace_key));
	buf = vzalloc(array_size(MAG_TRACE_MAX, sizeof(*buf)));
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, mesi_trace_release, buf), 0);
	mag_trace_buf = buf;
}

static void mesi_trace_start(void)
{
	atomic_set(&mag_trace_len, 0);
	static_branch_enable(&mag_trace_key);
}

/* Returns the number of records the window asked for. */
static unsigned int mesi_trace_stop(void)
{
	static_branch_disable(&mag_trace_key);
	synchronize_rcu();
	return atomic_read(&mag_trace_len);
}

static void mesi_trim_resume(void *unused)
{
	mag_trim_pause(false);
}

/*
 * The MESI tests need the magazines (no debug mode) and a small machine,
 * and run with the periodic trim paused: it would drain magazines and
 * depots under them and add its own central traffic to the trace.
 */
static void mesi_prepare(struct kunit *test)
{
	if (static_key_enabled(&mag_debug_key))
		kunit_skip(test, "debug mode: no magazines");
	KUNIT_ASSERT_LE(test, nr_cpu_ids, MESI_CPUS);
	mag_trim_pause(true);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, mesi_trim_resume, NULL), 0);
}

static unsigned long slow_count(struct mag_pool *pool, int cpu)
{
	return READ_ONCE(per_cpu_ptr(pool->cpu[cpu_to_mem(cpu)], cpu)->slow);
}

/*
 * A thread bound to @cpu, created stopped, with a reference so that
 * kthread_stop_put() may reap it whether or not it has returned already
 * (or ever ran: it then returns -EINTR without calling @fn).
 */
static struct task_struct *mesi_thread(int (*fn)(void *), void *arg, int cpu)
{
	struct task_struct *t = kthread_create_on_cpu(fn, arg, cpu, "mag_mesi/%u");

	if (!IS_ERR(t))
		get_task_struct(t);
	return t;
}

struct mesi_call {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	struct completion done;
};

static int mesi_call_fn(void *data)
{
	struct mesi_call *call = data;

	call->ret = call->fn(call->arg);
	complete(&call->done);
	return 0;
}

/*
 * Run @fn(@arg) on @cpu and wait for it.  Returns what @fn returned.
 * (A kthread stopped before it first runs never calls its function, so
 * wait for the call's end before kthread_stop_put().)
 */
static int mesi_run_on(int cpu, int (*fn)(void *), void *arg)
{
	struct mesi_call call = { .fn = fn, .arg = arg };
	struct task_struct *t;

	init_completion(&call.done);
	t = mesi_thread(mesi_call_fn, &call, cpu);
	if (IS_ERR(t))
		return PTR_ERR(t);
	wake_up_process(t);
	wait_for_completion(&call.done);
	kthread_stop_put(t);
	return call.ret;
}

/* Test 1: two CPUs on the fast path at once. */

#define STEADY_ITERS	2000

struct mesi_steady {
	struct completion start;
	atomic_t running;
	unsigned int warm;
};

struct mesi_worker {
	struct mesi_steady *s;
	struct completion ready;
	void **objs;
	unsigned int failed;
};

static int mesi_steady_fn(void *arg)
{
	struct mesi_worker *w = arg;
	struct mesi_steady *s = w->s;
	unsigned int i;
	u64 *p;

	/*
	 * Load the magazines: 2 * mag_size + 2 allocations cannot all come
	 * from the two magazines a CPU holds, so this goes through the slow
	 * path whatever state earlier tests left.  The frees leave the
	 * loaded magazine non-empty, so each alloc/free pair below is a pop
	 * and a push on it.
	 */
	for (i = 0; i < s->warm; i++)
		w->objs[i] = mag_alloc(MESI_OBJ_SIZE, GFP_KERNEL);
	for (i = 0; i < s->warm; i++)
		mag_free(w->objs[i]);
	complete(&w->ready);

	wait_for_completion(&s->start);
	atomic_inc(&s->running);
	while (atomic_read(&s->running) < 2)
		cpu_relax();

	for (i = 0; i < STEADY_ITERS; i++) {
		p = mag_alloc(MESI_OBJ_SIZE, GFP_KERNEL);
		if (!p) {
			w->failed++;
			continue;
		}
		/* The caller's own write to its object is traced too. */
		WRITE_ONCE(*p, i);
		mag_trace(p, true);
		mag_free(p);
	}
	return 0;
}

static void mesi_steady_same_cpu(struct kunit *test)
{
	struct mag_pool *pool = &mag_generic[mag_size_class(MESI_OBJ_SIZE)];
	unsigned long before[2], after[2];
	struct task_struct *t[2] = { };
	struct mesi_worker *w;
	struct mesi_steady *s;
	struct mesi_result *r;
	unsigned int len, i;
	int cpu[2], ret[2];

	mesi_prepare(test);
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	cpu[0] = cpumask_first(cpu_online_mask);
	cpu[1] = cpumask_next(cpu[0], cpu_online_mask);

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	w = kunit_kcalloc(test, 2, sizeof(*w), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_NOT_NULL(test, r);
	init_completion(&s->start);
	atomic_set(&s->running, 0);
	s->warm = 2 * pool->mag_size + 2;
	for (i = 0; i < 2; i++) {
		w[i].s = s;
		init_completion(&w[i].ready);
		w[i].objs = kunit_kcalloc(test, s->warm, sizeof(void *), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, w[i].objs);
	}
	mesi_trace_init(test);

	for (i = 0; i < 2; i++) {
		t[i] = mesi_thread(mesi_steady_fn, &w[i], cpu[i]);
		if (IS_ERR(t[i])) {
			ret[0] = PTR_ERR(t[i]);
			if (i)	/* never woken: returns without running */
				kthread_stop_put(t[0]);
			KUNIT_FAIL_AND_ABORT(test, "kthread on CPU %d: %d", cpu[i], ret[0]);
		}
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	for (i = 0; i < 2; i++)
		wait_for_completion(&w[i].ready);

	for (i = 0; i < 2; i++)
		before[i] = slow_count(pool, cpu[i]);
	mesi_trace_start();
	complete_all(&s->start);
	for (i = 0; i < 2; i++)
		ret[i] = kthread_stop_put(t[i]);
	len = mesi_trace_stop();
	for (i = 0; i < 2; i++)
		after[i] = slow_count(pool, cpu[i]);

	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, ret[i], 0);
		KUNIT_EXPECT_EQ(test, w[i].failed, 0);
		KUNIT_EXPECT_EQ_MSG(test, after[i], before[i],
				    "CPU %d left the fast path %lu times", cpu[i],
				    after[i] - before[i]);
	}
	KUNIT_ASSERT_LE_MSG(test, len, MAG_TRACE_MAX, "trace overflowed");
	KUNIT_ASSERT_GT(test, len, 0);

	mesi_replay(test, len, r);
	kunit_info(test, "%u records on %lu lines, CPUs %d/%d: %lu/%lu; %lu invalidations, %lu transfers\n",
		   len, r->lines, cpu[0], cpu[1], r->records[cpu[0]],
		   r->records[cpu[1]], r->invalidations, r->transfers);
	KUNIT_EXPECT_GT(test, r->records[cpu[0]], 0);
	KUNIT_EXPECT_GT(test, r->records[cpu[1]], 0);
	KUNIT_EXPECT_EQ(test, r->invalidations, 0);
	mesi_show(test, r);
}

/* Test 2: objects handed from one CPU to another through the depot. */

struct mesi_exchange {
	void **objs;
	unsigned int nr;
	unsigned int got;
};

static int mesi_alloc_all_fn(void *arg)
{
	struct mesi_exchange *x = arg;
	unsigned int i;

	x->got = 0;
	for (i = 0; i < x->nr; i++) {
		x->objs[i] = mag_alloc(MESI_OBJ_SIZE, GFP_KERNEL);
		if (x->objs[i])
			x->got++;
	}
	return 0;
}

static int mesi_free_all_fn(void *arg)
{
	struct mesi_exchange *x = arg;
	unsigned int i;

	for (i = 0; i < x->nr; i++) {
		mag_free(x->objs[i]);
		x->objs[i] = NULL;
	}
	return 0;
}

/* Cleanup: whatever the test still holds (mag_free(NULL) is a no-op). */
static void mesi_exchange_release(void *arg)
{
	mesi_free_all_fn(arg);
}

static void mesi_magazine_exchange(struct kunit *test)
{
	unsigned int cls = mag_size_class(MESI_OBJ_SIZE);
	struct mag_pool *pool = &mag_generic[cls];
	unsigned long before = 0, after = 0, exchanges, per100;
	unsigned int len, mag_lines, central_lines, bound;
	struct mesi_exchange *x;
	struct mesi_result *r;
	int a, b, ret[3];

	mesi_prepare(test);
	/* Two online CPUs of one node: they share the node's depot. */
	a = cpumask_first(cpu_online_mask);
	for_each_online_cpu(b)
		if (b != a && cpu_to_mem(b) == cpu_to_mem(a))
			break;
	if (b >= nr_cpu_ids)
		kunit_skip(test, "needs two online CPUs on one node");

	x = kunit_kzalloc(test, sizeof(*x), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x);
	KUNIT_ASSERT_NOT_NULL(test, r);
	x->nr = 8 * pool->mag_size;
	x->objs = kunit_kcalloc(test, x->nr, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x->objs);
	mesi_trace_init(test);
	/* After the trace's release is registered: runs before it. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, mesi_exchange_release, x), 0);

	before = slow_count(pool, a) + slow_count(pool, b);
	mesi_trace_start();
	ret[0] = mesi_run_on(a, mesi_alloc_all_fn, x);
	KUNIT_EXPECT_EQ(test, x->got, x->nr);
	ret[1] = mesi_run_on(b, mesi_free_all_fn, x);
	ret[2] = mesi_run_on(a, mesi_alloc_all_fn, x);
	len = mesi_trace_stop();
	after = slow_count(pool, a) + slow_count(pool, b);
	KUNIT_EXPECT_EQ(test, x->got, x->nr);
	KUNIT_EXPECT_EQ(test, ret[0], 0);
	KUNIT_EXPECT_EQ(test, ret[1], 0);
	KUNIT_EXPECT_EQ(test, ret[2], 0);
	KUNIT_ASSERT_EQ(test, mesi_run_on(a, mesi_free_all_fn, x), 0);

	KUNIT_ASSERT_LE_MSG(test, len, MAG_TRACE_MAX, "trace overflowed");
	exchanges = after - before;
	KUNIT_ASSERT_GT(test, exchanges, 0);
	mesi_replay(test, len, r);

	/*
	 * The bound, per exchange (one slow-path entry on one CPU, counted
	 * by ->slow).  Between exchanges a CPU touches only its own lines
	 * (busy mark, struct mag_cpu, its two magazines) and read-mostly
	 * ones, all of which the layout suite proves are not shared.  An
	 * exchange may write, once each, lines another CPU last held:
	 *  - the node central (lock, depot stacks and counters): at most the
	 *    lines of struct mag_central;
	 *  - the magazine it takes from the depot, which another CPU filled
	 *    or emptied: its header when popped or pushed, its object slots
	 *    as the following fast paths push (mag_line_size() of the
	 *    magazine, in lines).  The magazine it leaves in the depot is
	 *    one it has written itself: no invalidation;
	 *  - when the depot is empty or over mag_depot_max, objects go
	 *    between a magazine and the spans: the span header and a bitmap
	 *    word, amortized (a bitmap word covers 64 objects, about a
	 *    magazine's worth): 2 lines.
	 */
	mag_lines = mag_line_size(struct_size_t(struct mag_magazine, objs, pool->mag_size)) /
		    SMP_CACHE_BYTES;
	central_lines = DIV_ROUND_UP(sizeof(struct mag_central), SMP_CACHE_BYTES);
	bound = mag_lines + central_lines + 2;

	per100 = r->invalidations * 100 / exchanges;
	kunit_info(test, "%u records on %lu lines: %lu invalidations, %lu transfers over %lu exchanges\n",
		   len, r->lines, r->invalidations, r->transfers, exchanges);
	kunit_info(test, "%lu.%02lu invalidations per exchange; bound %u = %u magazine + %u central + 2 span lines\n",
		   per100 / 100, per100 % 100, bound, mag_lines, central_lines);
	KUNIT_EXPECT_GT(test, r->records[a], 0);
	KUNIT_EXPECT_GT(test, r->records[b], 0);
	KUNIT_EXPECT_GT(test, r->invalidations, 0);
	KUNIT_EXPECT_LE(test, r->invalidations, exchanges * bound);
}

static struct kunit_case mesi_cases[] = {
	KUNIT_CASE(mesi_steady_same_cpu),
	KUNIT_CASE(mesi_magazine_exchange),
	{}
};

static struct kunit_suite mesi_suite = {
	.name = "magalloc_mesi",
	.suite_init = quarantine_off,
	.suite_exit = quarantine_on,
	.test_cases = mesi_cases,
};

kunit_test_suites(&layout_suite, &mesi_suite);
