// SPDX-License-Identifier: GPL-2.0
/*
 * magbench's replay and churn: a real kmalloc/kfree trace replayed into
 * kmalloc()/kfree() and into mag_alloc()/mag_free(), and a large churn.
 *
 * The trace (bench/replay-trace.xz, made by scripts/replay-capture.sh; its
 * format in scripts/replay-trace.py) is read from @replay_file, which
 * scripts/bench.sh puts in the guest decompressed.  Every allocation takes
 * the size the trace asked for, known only at run time, and __GFP_ZERO
 * where the trace's call asked for zeroed memory (kzalloc()); both
 * allocators are called through their exported functions (mag_alloc(),
 * mag_free(), and kmalloc() of a size the compiler cannot see, kfree()).
 * Three sets of operations: "all", "small", without the objects above
 * 32 KiB (what magalloc's and SLUB's small-object paths serve), and
 * "nozero", the small set with no __GFP_ZERO (the allocators' own work:
 * 83% of the trace's allocations ask for zeroing, which costs both the
 * same memset of the object).  Lines printed:
 *
 *   magbench: trace ops=<n> objects=<n> cpus=<n>
 *   magbench: replay1 kind=<loop|mag|slub> set=<all|small|nozero> ops=<n>
 *             ns_per_op=<best of 3 passes> slow=<n> locks=<n>
 *   magbench: footprint kind=<mag|slub> set=all live=<bytes>
 *             held=<bytes> ratio=<held / live> slab=<bytes> pages=<bytes>
 *   magbench: replay4 kind=<mag|slub> set=all ops=<n>
 *             ns_per_op=<best of 3> slow=<n> locks=<n> busy_ns_per_op=<n>
 *   magbench: churn kind=<mag|slub> round=<start|0..rounds|freed|trim|idle> live=<bytes>
 *             held=<bytes> ratio=<held / live> slab=<bytes> pages=<bytes>
 *
 * replay1 runs every operation in the trace's order on one CPU (a warm-up
 * pass, then the best of 3); "loop" is
 * the same walk storing a dummy pointer, the replay's own cost.  slow and
 * locks are magalloc's slow-path entries and central lock entries in one
 * pass (mag_usage()).  The footprint is taken for the set "all" only, in
 * each allocator's first pass over the trace, before any other figure
 * (magalloc freshly loaded, holding nothing; magalloc's pass first, then
 * SLUB's; a later pass would find what the first left cached), at the
 * operation where the live bytes (bytes requested) peak: held = the
 * growth, since before the pass, of the kernel's slab pages (slab=, from
 * NR_SLAB_*: SLUB's slabs, kmalloc's large objects, and magalloc's
 * metadata, which comes from kmalloc()), plus, for magalloc, every page
 * it holds (pages=, mag_usage(): arenas with their headers and free
 * blocks, loose blocks, huge objects; magbench is magalloc's only user).
 * The kernel folds its per-CPU vmstat deltas lazily: the slab count may
 * lag by up to its threshold per CPU (a few dozen pages).
 *
 * replay4 gives each of the trace's CPUs a kthread on its own CPU, which
 * runs that CPU's operations in order; a free of an object another CPU
 * allocated waits until the allocation is done (the trace's order allows
 * no deadlock).  Wall clock from the first start to the last end; and
 * busy_ns_per_op, the streams' times summed less their waits, per op.
 *
 * The churn allocates @churn_objs objects of sizes drawn from the trace's
 * allocations of at most 32 KiB (each allocation equally likely), then for
 * @churn_rounds rounds frees and allocates again a tenth of them (indices
 * drawn at random), then frees them all; the footprint after each step,
 * and once more 2.5 s later (round=trim: one default trim period of
 * magalloc's and its pass) and 5 s later (round=idle); round=start is what is held
 * before (for magalloc, what the figures before left it holding).  SLUB's churn runs first: it
 * gives its empty slabs back at once, where magalloc keeps its arenas a
 * while, and SLUB's figures would count none of them anyway.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "magalloc.h"
#include "magbench.h"

static char *replay_file = "/demo/replay-trace.bin";
module_param(replay_file, charp, 0444);
MODULE_PARM_DESC(replay_file, "the replay file (scripts/replay-trace.py), uncompressed");

static unsigned int churn_objs = 1000000;
module_param(churn_objs, uint, 0444);
MODULE_PARM_DESC(churn_objs, "live objects of the churn (0: no churn)");

static unsigned int churn_rounds = 10;
module_param(churn_rounds, uint, 0444);
MODULE_PARM_DESC(churn_rounds, "churn rounds, each replacing a tenth of the objects");

#define REC_FREE	BIT(31)
#define REC_ZERO	BIT(30)
#define REC_CPU(info)	((info) >> 24 & 63)
#define REC_SIZE(info)	((info) & (BIT(24) - 1))
#define SMALL_MAX	32768
#define PASSES		3
/* twice magalloc's default trim_interval_ms, and more */
/* one trim period of magalloc's (2 s by default) and its pass; then more */
#define CHURN_TRIM_MS	2500
#define CHURN_IDLE_MS	5000

struct rec {
	__le32 id;
	__le32 info;
};

struct replay_hdr {
	char magic[8];
	__le32 ops, ids, cpus, zero;
};

enum rkind { R_LOOP, R_MAG, R_SLUB };
static const char * const rkind_name[] = { "loop", "mag", "slub" };

/* The trace, and what a pass needs. */
struct trace {
	const struct rec *rec;
	u32 ops, ids, cpus;
	u32 *size;		/* per object, its size */
	void **obj;		/* per object, the pointer while live */
	u32 limit;		/* the set: objects up to this size */
	bool nozero;		/* and no __GFP_ZERO */
	u32 peak_at;		/* op after which the set's live bytes peak */
	u64 peak;		/* and those bytes */
};

/* What is held: slab pages, magalloc's pages. */
struct held {
	unsigned long slab, mag;
	unsigned long mag_free, mag_span_free;	/* pages, bytes (mag_usage()) */
};

static void held_read(struct held *h)
{
	struct mag_usage u;

	mag_usage(&u);
	h->mag = u.pages;
	h->mag_free = u.free_pages;
	h->mag_span_free = u.span_free_bytes;
	h->slab = global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) +
		  global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B);
}

/*
 * Bytes @kind holds in @now: the slab pages beyond @base, and for magalloc
 * every page it holds (magbench is its only user: what it holds beyond the
 * figure's own objects, it holds for nobody).
 */
static s64 held_bytes(enum rkind kind, const struct held *now, const struct held *base)
{
	s64 pages = (s64)(now->slab - base->slab);

	if (kind == R_MAG)
		pages += now->mag;
	return pages * (s64)PAGE_SIZE;
}

/* @num / @den with three decimals, as "x.yyy". */
static void ratio_str(char *buf, size_t len, s64 num, u64 den)
{
	s64 m = den ? div64_s64(num * 1000, den) : 0;

	snprintf(buf, len, "%s%lld.%03lld", m < 0 ? "-" : "", abs(m) / 1000, abs(m) % 1000);
}

static void footprint(const char *what, enum rkind kind, const char *step,
		      u64 live, const struct held *now, const struct held *base)
{
	s64 held = held_bytes(kind, now, base);
	char r[32];

	ratio_str(r, sizeof(r), held, live);
	pr_info("%s kind=%s %s live=%llu held=%lld ratio=%s slab=%lld pages=%lld free_blocks=%lld span_free=%lld\n",
		what, rkind_name[kind], step, live, held, r,
		(s64)(now->slab - base->slab) * (s64)PAGE_SIZE,
		kind == R_MAG ? (s64)now->mag * (s64)PAGE_SIZE : 0,
		kind == R_MAG ? (s64)now->mag_free * (s64)PAGE_SIZE : 0,
		kind == R_MAG ? (s64)now->mag_span_free : 0);
}

/* ---- one stream of operations ---------------------------------------- */

struct stream {
	struct trace *t;
	enum rkind kind;
	const u32 *idx;		/* the ops, or NULL for all in order */
	u32 n;
	struct held *at_peak;	/* sampled after op t->peak_at, if set */
	int ret;
	u64 start, end;
	u64 waited;		/* ns spent waiting for other streams' allocations */
	/* replay4 */
	bool *abort;		/* a stream failed: the others stop waiting */
	atomic_t *ready;
	unsigned int nr_threads;
	struct completion done;
};

static noinline int stream_run(struct stream *s)
{
	struct trace *t = s->t;
	u32 i, k, id, info, size;
	gfp_t gfp;
	void *p;

	for (i = 0; i < s->n; i++) {
		k = s->idx ? s->idx[i] : i;
		id = le32_to_cpu(t->rec[k].id);
		info = le32_to_cpu(t->rec[k].info);
		if (t->size[id] > t->limit)
			continue;
		if (info & REC_FREE) {
			/* acquire: pairs with the allocating stream's release */
			p = smp_load_acquire(&t->obj[id]);
			if (unlikely(!p)) {
				u64 t0 = ktime_get_ns();

				/* one stream allocates before it frees */
				if (!s->abort)
					return -EINVAL;

				/* acquire: as above */
				while (!(p = smp_load_acquire(&t->obj[id]))) {
					if (READ_ONCE(*s->abort))
						return -ECANCELED;
					cpu_relax();
				}
				s->waited += ktime_get_ns() - t0;
			}
			t->obj[id] = NULL;
			if (s->kind == R_MAG)
				(mag_free)(p);
			else if (s->kind == R_SLUB)
				kfree(p);
		} else {
			size = REC_SIZE(info);
			gfp = info & REC_ZERO && !t->nozero ? GFP_KERNEL | __GFP_ZERO : GFP_KERNEL;
			if (s->kind == R_MAG)
				p = (mag_alloc)(size, gfp);
			else if (s->kind == R_SLUB)
				p = kmalloc(size, gfp | __GFP_NOWARN);
			else
				p = t;
			if (!p) {
				if (s->abort)
					WRITE_ONCE(*s->abort, true);
				return -ENOMEM;
			}
			/* release: the object is allocated before a free sees it */
			smp_store_release(&t->obj[id], p);
		}
		if (unlikely(s->at_peak && k == t->peak_at))
			held_read(s->at_peak);
	}
	return 0;
}

/* Returns the pass's ns, or 0 if it failed (objects left are freed). */
static u64 replay1(struct trace *t, enum rkind kind, struct held *at_peak)
{
	struct stream s = { .t = t, .kind = kind, .n = t->ops, .at_peak = at_peak };
	u64 t0, ns;
	u32 id;

	t0 = ktime_get_ns();
	s.ret = stream_run(&s);
	ns = ktime_get_ns() - t0;
	if (!s.ret)
		return max(ns, 1ULL);
	for (id = 0; id < t->ids; id++) {
		if (kind == R_MAG)
			mag_free(t->obj[id]);
		else if (kind == R_SLUB)
			kfree(t->obj[id]);
		t->obj[id] = NULL;
	}
	return 0;
}

/* The ops of the set, and the op after which its live bytes peak. */
static u32 set_prepare(struct trace *t, u32 limit)
{
	u64 live = 0;
	u32 k, id, info, n = 0;

	t->limit = limit;
	t->peak = 0;
	t->peak_at = 0;
	for (k = 0; k < t->ops; k++) {
		id = le32_to_cpu(t->rec[k].id);
		info = le32_to_cpu(t->rec[k].info);
		if (t->size[id] > limit)
			continue;
		n++;
		if (info & REC_FREE) {
			live -= t->size[id];
		} else {
			live += t->size[id];
			if (live > t->peak) {
				t->peak = live;
				t->peak_at = k;
			}
		}
	}
	return n;
}

/* Each allocator's footprint at the peak of the set "all", one pass each. */
static void bench_footprint(struct trace *t)
{
	struct held base, peak;
	enum rkind kind;

	set_prepare(t, U32_MAX);
	for (kind = R_MAG; kind <= R_SLUB; kind++) {
		held_read(&base);
		peak = base;
		if (!replay1(t, kind, &peak))
			pr_info("footprint kind=%s set=all fail\n", rkind_name[kind]);
		else
			footprint("footprint", kind, "set=all", t->peak,
				  &peak, &base);
	}
}

/* The set's replay1 figures: a warm-up pass, then the best of PASSES. */
static void bench_replay1(struct trace *t, u32 limit, bool nozero, const char *set)
{
	u64 ns, best[3] = { U64_MAX, U64_MAX, U64_MAX };
	unsigned long slow = 0, locks = 0;
	struct mag_usage u0, u1;
	enum rkind kind;
	u32 n = set_prepare(t, limit);
	int pass;

	t->nozero = nozero;
	for (pass = 0; pass <= PASSES; pass++) {
		for (kind = R_LOOP; kind <= R_SLUB; kind++) {
			if (!best[kind])
				continue;
			mag_usage(&u0);
			ns = replay1(t, kind, NULL);
			mag_usage(&u1);
			if (!ns) {
				best[kind] = 0;
				continue;
			}
			if (!pass)
				continue;
			if (ns < best[kind] && kind == R_MAG) {
				slow = u1.slow - u0.slow;
				locks = u1.central_locks - u0.central_locks;
			}
			best[kind] = min(best[kind], ns);
		}
	}
	for (kind = R_LOOP; kind <= R_SLUB; kind++) {
		if (!best[kind]) {
			pr_info("replay1 kind=%s set=%s fail\n", rkind_name[kind], set);
			continue;
		}
		magbench_report_kv("replay1", rkind_name[kind], set, n, best[kind],
				   kind == R_MAG ? slow : 0, kind == R_MAG ? locks : 0, 0);
	}
	t->nozero = false;
}

/* ---- replay4: the trace's CPUs, each on a CPU ------------------------- */

static int stream_thread(void *arg)
{
	struct stream *s = arg;

	atomic_inc(s->ready);
	while (atomic_read(s->ready) < s->nr_threads)
		cpu_relax();
	s->start = ktime_get_ns();
	s->ret = stream_run(s);
	s->end = ktime_get_ns();
	complete(&s->done);
	return 0;
}

/*
 * One pass; returns its ns (first start to last end), or 0; *@busy: the
 * streams' ns summed, less their waits.
 */
static u64 replay4(struct trace *t, enum rkind kind, struct stream *s, u32 **idx,
		   u32 *n, u64 *busy)
{
	struct task_struct *task[64];
	unsigned int cpu = cpumask_first(cpu_online_mask), i, started = 0;
	u64 start = U64_MAX, end = 0;
	atomic_t ready = ATOMIC_INIT(0);
	bool abort = false;
	int ret = 0;

	for (i = 0; i < t->cpus; i++) {
		s[i] = (struct stream){ .t = t, .kind = kind, .idx = idx[i], .n = n[i],
					.abort = &abort, .ready = &ready,
					.nr_threads = t->cpus };
		init_completion(&s[i].done);
		task[i] = kthread_create_on_cpu(stream_thread, &s[i], cpu, "magbench/r%u");
		if (IS_ERR(task[i])) {
			ret = PTR_ERR(task[i]);
			break;
		}
		get_task_struct(task[i]);
		started++;
		cpu = cpumask_next(cpu, cpu_online_mask);
	}
	if (ret) {
		/* none has run: they wait for all to be ready; stop them */
		for (i = 0; i < started; i++) {
			kthread_stop(task[i]);
			put_task_struct(task[i]);
		}
		return 0;
	}
	for (i = 0; i < started; i++)
		wake_up_process(task[i]);
	*busy = 0;
	for (i = 0; i < started; i++) {
		wait_for_completion(&s[i].done);
		kthread_stop(task[i]);
		put_task_struct(task[i]);
		ret = ret ?: s[i].ret;
		start = min(start, s[i].start);
		end = max(end, s[i].end);
		*busy += s[i].end - s[i].start - s[i].waited;
	}
	if (ret) {
		for (i = 0; i < t->ids; i++) {
			if (kind == R_MAG)
				mag_free(t->obj[i]);
			else
				kfree(t->obj[i]);
			t->obj[i] = NULL;
		}
		return 0;
	}
	return max(end - start, 1ULL);
}

static void bench_replay4(struct trace *t)
{
	u64 ns, busy, best[3] = { 0, U64_MAX, U64_MAX }, best_busy[3] = {};
	unsigned long slow = 0, locks = 0;
	struct stream *s = NULL;
	struct mag_usage u0, u1;
	u32 *idx[64] = {}, n[64] = {}, k, c;
	enum rkind kind;
	int pass;

	if (num_online_cpus() < t->cpus || t->cpus > 64) {
		pr_info("replay4 kind=mag set=all n/a\n");
		pr_info("replay4 kind=slub set=all n/a\n");
		return;
	}
	set_prepare(t, U32_MAX);
	for (k = 0; k < t->ops; k++)
		n[REC_CPU(le32_to_cpu(t->rec[k].info))]++;
	s = kcalloc(t->cpus, sizeof(*s), GFP_KERNEL);
	for (c = 0; c < t->cpus; c++) {
		idx[c] = kvmalloc_array(max(n[c], 1U), sizeof(u32), GFP_KERNEL);
		if (!idx[c])
			s = NULL;
		n[c] = 0;
	}
	if (!s)
		goto out;
	for (k = 0; k < t->ops; k++) {
		c = REC_CPU(le32_to_cpu(t->rec[k].info));
		idx[c][n[c]++] = k;
	}
	/* a warm-up pass each, then the best of PASSES */
	for (pass = 0; pass <= PASSES; pass++) {
		for (kind = R_MAG; kind <= R_SLUB; kind++) {
			if (!best[kind])
				continue;
			mag_usage(&u0);
			ns = replay4(t, kind, s, idx, n, &busy);
			mag_usage(&u1);
			if (!ns) {
				best[kind] = 0;
			} else if (pass && ns < best[kind]) {
				best[kind] = ns;
				best_busy[kind] = busy;
				if (kind == R_MAG) {
					slow = u1.slow - u0.slow;
					locks = u1.central_locks - u0.central_locks;
				}
			}
		}
	}
out:
	for (kind = R_MAG; kind <= R_SLUB; kind++) {
		if (!s || !best[kind])
			pr_info("replay4 kind=%s set=all fail\n", rkind_name[kind]);
		else
			magbench_report_kv("replay4", rkind_name[kind], "all", t->ops,
					   best[kind], kind == R_MAG ? slow : 0,
					   kind == R_MAG ? locks : 0, best_busy[kind]);
	}
	for (c = 0; c < t->cpus; c++)
		kvfree(idx[c]);
	kfree(s);
}

/* ---- the churn --------------------------------------------------------- */

/* xorshift64*: the same sizes and victims in every boot */
static u64 churn_rand(u64 *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static void *churn_alloc(enum rkind kind, u32 size)
{
	return kind == R_MAG ? (mag_alloc)(size, GFP_KERNEL) :
			       kmalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

static void churn_free(enum rkind kind, void *p)
{
	if (kind == R_MAG)
		(mag_free)(p);
	else
		kfree(p);
}

static void bench_churn(struct trace *t)
{
	u32 *mix, nmix = 0, *size, k, id, round, i;
	enum rkind kind;
	struct held base, now;
	void **obj;
	u64 x, live;
	char step[24];

	mix = kvmalloc_array(t->ids, sizeof(*mix), GFP_KERNEL);
	obj = kvcalloc(churn_objs, sizeof(*obj), GFP_KERNEL);
	size = kvmalloc_array(churn_objs, sizeof(*size), GFP_KERNEL);
	if (!mix || !obj || !size)
		goto fail;
	for (k = 0; k < t->ops; k++) {
		u32 info = le32_to_cpu(t->rec[k].info);

		if (!(info & REC_FREE) && REC_SIZE(info) <= SMALL_MAX)
			mix[nmix++] = REC_SIZE(info);
	}
	if (!nmix)
		goto fail;
	/* SLUB first: it gives its empty slabs back, magalloc keeps arenas */
	for (kind = R_SLUB; kind >= R_MAG; kind--) {
		x = 0x9e3779b97f4a7c15ULL;
		live = 0;
		held_read(&base);
		/* what magalloc holds already, from the figures before */
		footprint("churn", kind, "round=start", 0, &base, &base);
		for (id = 0; id < churn_objs; id++) {
			size[id] = mix[churn_rand(&x) % nmix];
			obj[id] = churn_alloc(kind, size[id]);
			if (!obj[id])
				goto nomem;
			live += size[id];
		}
		for (round = 0; round <= churn_rounds; round++) {
			for (i = 0; round && i < churn_objs / 10; i++) {
				id = churn_rand(&x) % churn_objs;
				churn_free(kind, obj[id]);
				live -= size[id];
				size[id] = mix[churn_rand(&x) % nmix];
				obj[id] = churn_alloc(kind, size[id]);
				if (!obj[id])
					goto nomem;
				live += size[id];
			}
			held_read(&now);
			snprintf(step, sizeof(step), "round=%u", round);
			footprint("churn", kind, step, live, &now, &base);
			cond_resched();
		}
		for (id = 0; id < churn_objs; id++) {
			churn_free(kind, obj[id]);
			obj[id] = NULL;
		}
		/* the ratio: held after freeing all, over the last live bytes */
		held_read(&now);
		footprint("churn", kind, "round=freed", live, &now, &base);
		/* and after CHURN_TRIM_MS, CHURN_IDLE_MS, for caches that trim themselves */
		msleep(CHURN_TRIM_MS);
		held_read(&now);
		footprint("churn", kind, "round=trim", live, &now, &base);
		msleep(CHURN_IDLE_MS - CHURN_TRIM_MS);
		held_read(&now);
		footprint("churn", kind, "round=idle", live, &now, &base);
		continue;
nomem:
		pr_info("churn kind=%s fail\n", rkind_name[kind]);
		for (id = 0; id < churn_objs; id++) {
			if (obj[id])
				churn_free(kind, obj[id]);
			obj[id] = NULL;
		}
	}
	goto out;
fail:
	pr_info("churn kind=mag fail\n");
	pr_info("churn kind=slub fail\n");
out:
	kvfree(size);
	kvfree(obj);
	kvfree(mix);
}

/* ---- the file ---------------------------------------------------------- */

/* The whole file at @path, in *@buf (vmalloc()ed); returns its length. */
static ssize_t read_whole(const char *path, void **buf)
{
	struct file *f;
	ssize_t len, got = 0, r;
	loff_t pos = 0;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	len = i_size_read(file_inode(f));
	*buf = len > 0 && len < SZ_256M ? vmalloc(len) : NULL;
	if (!*buf) {
		got = -ENOMEM;
		goto out;
	}
	while (got < len) {
		r = kernel_read(f, *buf + got, len - got, &pos);
		if (r <= 0) {
			got = r ?: -EIO;
			break;
		}
		got += r;
	}
out:
	filp_close(f, NULL);
	return got;
}

static int trace_load(struct trace *t, void **buf)
{
	const struct replay_hdr *h;
	ssize_t len;
	u32 k, id, info, next = 0;

	len = read_whole(replay_file, buf);
	if (len < 0)
		return len;
	h = *buf;
	if (len < sizeof(*h) || memcmp(h->magic, "MAGREPL1", 8))
		return -EINVAL;
	t->ops = le32_to_cpu(h->ops);
	t->ids = le32_to_cpu(h->ids);
	t->cpus = le32_to_cpu(h->cpus);
	if ((len - sizeof(*h)) / sizeof(struct rec) < t->ops || !t->ids)
		return -EINVAL;
	t->rec = (const struct rec *)(h + 1);
	t->size = kvcalloc(t->ids, sizeof(*t->size), GFP_KERNEL);
	t->obj = kvcalloc(t->ids, sizeof(*t->obj), GFP_KERNEL);
	if (!t->size || !t->obj)
		return -ENOMEM;
	/*
	 * Objects numbered in order of allocation, each freed once after its
	 * allocation, none left live; obj[] marks the live ones meanwhile.
	 */
	for (k = 0; k < t->ops; k++) {
		id = le32_to_cpu(t->rec[k].id);
		info = le32_to_cpu(t->rec[k].info);
		if (REC_CPU(info) >= t->cpus || id >= t->ids)
			return -EINVAL;
		if (info & REC_FREE) {
			if (t->obj[id] != t)
				return -EINVAL;
			t->obj[id] = NULL;
		} else {
			if (id != next++ || !REC_SIZE(info))
				return -EINVAL;
			t->size[id] = REC_SIZE(info);
			t->obj[id] = t;
		}
	}
	if (next != t->ids || memchr_inv(t->obj, 0, t->ids * sizeof(*t->obj)))
		return -EINVAL;
	return 0;
}

static struct trace trace;
static void *trace_buf;

/**
 * magbench_replay_load() - read the trace, and take the footprints
 *
 * Runs first, magalloc freshly loaded: the footprints then count what the
 * replay makes magalloc take, not what earlier figures left it holding.
 */
void magbench_replay_load(void)
{
	int ret = trace_load(&trace, &trace_buf);

	if (ret) {
		pr_info("trace %s: error %d\n", replay_file, ret);
		trace.ops = 0;
		return;
	}
	pr_info("trace ops=%u objects=%u cpus=%u\n", trace.ops, trace.ids, trace.cpus);
	bench_footprint(&trace);
}

/**
 * magbench_replay() - the replays' timings and the churn; frees the trace
 * @replay_only: only the replays (no churn)
 */
void magbench_replay(bool replay_only)
{
	if (trace.ops) {
		bench_replay1(&trace, U32_MAX, false, "all");
		bench_replay1(&trace, SMALL_MAX, false, "small");
		bench_replay1(&trace, SMALL_MAX, true, "nozero");
		bench_replay4(&trace);
		if (!replay_only && churn_objs)
			bench_churn(&trace);
	}
	kvfree(trace.obj);
	kvfree(trace.size);
	vfree(trace_buf);
	trace = (struct trace){};
	trace_buf = NULL;
}
