// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc_example: an in-kernel user of magalloc.
 *
 * It keeps a small table of "sessions" in a typed cache with a
 * constructor, attaches variable-sized buffers from mag_alloc(), grows a
 * batch with mag_alloc_bulk() and allocates from interrupt context (BH
 * context on PREEMPT_RT), then
 * checks every byte it wrote and frees everything.  `make check` loads it
 * on every kernel as a smoke test: if anything is wrong, insmod fails.
 *
 * A consumer needs only magalloc.h and magalloc.ko's exported symbols
 * (build it in the same kbuild run, or point KBUILD_EXTRA_SYMBOLS at
 * magalloc's Module.symvers).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/cpu.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/workqueue.h>

#include "magalloc.h"

struct session {
	u32 magic;
	u32 id;
	size_t len;
	u8 *buf;
};

#define SESSION_MAGIC	0x5e55
#define NR_SESSIONS	256

static void session_ctor(void *obj)
{
	struct session *s = obj;

	s->magic = SESSION_MAGIC;
	s->buf = NULL;
}

static atomic_t irq_ok;

static void irq_alloc(void *unused)
{
	u8 *p = mag_alloc(200, GFP_ATOMIC | __GFP_ZERO);

	if (p && !memchr_inv(p, 0, 200))
		atomic_inc(&irq_ok);
	mag_free(p);
}

/*
 * On PREEMPT_RT no allocator may be called from a hardirq handler
 * (kmalloc neither): there, allocate in a BH-disabled section on each
 * CPU, where softirq handlers run.
 */
static long bh_alloc(void *unused)
{
	local_bh_disable();
	irq_alloc(NULL);
	local_bh_enable();
	return 0;
}

static void alloc_on_each_cpu(void)
{
	int cpu;

	if (!IS_ENABLED(CONFIG_PREEMPT_RT)) {
		on_each_cpu(irq_alloc, NULL, 1);
		return;
	}
	cpus_read_lock();
	for_each_online_cpu(cpu)
		work_on_cpu(cpu, bh_alloc, NULL);
	cpus_read_unlock();
}

static int __init example_init(void)
{
	struct session **sessions;
	struct mag_cache *cache;
	void *batch[64];
	int i, bad = 0;

	sessions = mag_alloc(NR_SESSIONS * sizeof(*sessions), GFP_KERNEL);
	cache = mag_cache_create("example-session", sizeof(struct session), 0, 0,
				 session_ctor);
	if (!cache || !sessions) {
		mag_cache_destroy(cache);
		mag_free(sessions);
		return -ENOMEM;
	}
	for (i = 0; i < NR_SESSIONS; i++) {
		struct session *s = mag_cache_alloc(cache, GFP_KERNEL);

		sessions[i] = s;
		if (!s || s->magic != SESSION_MAGIC || s->buf) {
			bad++;
			continue;
		}
		s->id = i;
		s->len = 1 + (i * 997) % 70000;	/* small, large and page-sized */
		s->buf = mag_alloc(s->len, GFP_KERNEL);
		if (!s->buf || mag_ksize(s->buf) < s->len)
			bad++;
		else
			memset(s->buf, i, s->len);
	}
	if (mag_alloc_bulk(128, GFP_KERNEL | __GFP_ZERO, ARRAY_SIZE(batch), batch) !=
	    ARRAY_SIZE(batch))
		bad++;
	else
		mag_free_bulk(ARRAY_SIZE(batch), batch);
	alloc_on_each_cpu();
	if (atomic_read(&irq_ok) != num_online_cpus())
		bad++;

	for (i = 0; i < NR_SESSIONS; i++) {
		struct session *s = sessions[i];

		if (!s)
			continue;
		if (s->buf && memchr_inv(s->buf, i, s->len))
			bad++;
		mag_free(s->buf);
		s->buf = NULL;	/* back in constructed state */
		mag_cache_free(cache, s);
	}
	mag_cache_destroy(cache);
	mag_free(sessions);
	if (bad) {
		pr_err("%d checks failed\n", bad);
		return -EIO;
	}
	pr_info("%d sessions, buffers of 1 to 70000 bytes, bulk and irq allocations: ok\n",
		NR_SESSIONS);
	return 0;
}

static void __exit example_exit(void)
{
}

module_init(example_init);
module_exit(example_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("magalloc example consumer and smoke test");
