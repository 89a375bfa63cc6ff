// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's hostile-free check, for every kernel `make check` boots (the
 * stock ones have no KUnit, and only they have KFENCE): writing anything
 * to /sys/kernel/debug/magalloc/hostile hands mag_free() and
 * mag_cache_free(), inline and exported, every kind of pointer it must
 * refuse, and checks that each was reported as what it is and that the
 * memory behind it is as it was (the write fails with EIO otherwise).
 * The KUnit suite runs it too (mag_hostile_run()).
 *
 * The kinds: an ERR_PTR, a user address, this task's stack, vmalloc and
 * module memory, a kmalloc() object, a KFENCE object where the kernel
 * has KFENCE, a pointer into an arena's header, interior pointers of a
 * small and a large object, and immediate double frees, at the fast path
 * and at a full magazine, of mag_alloc() and typed-cache objects.  After
 * a double free, two allocations must not return the same object.
 *
 * What the fast path cannot see, and this check therefore does not ask of
 * it: an interior pointer of a small object is refused at the call only
 * in debug mode (the check runs it there); otherwise it is cached like an
 * object and reported when its magazine goes back to the spans, as
 * Documentation/design.rst says.  Double frees are caught at the call
 * when the two frees run on one CPU with nothing between them: the check
 * runs them with migration disabled and the trim paused, since a
 * migration or a drain in between is the case it does not catch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kfence.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "internal.h"

#define FILL	0xa5

/* Module memory, with a known content. */
static u8 module_bytes[128] = { [0 ... 127] = FILL };

static bool filled(const void *p, size_t n)
{
	return !memchr_inv(p, FILL, n);
}

/*
 * Free @ptr with both mag_free()s; it must be refused as @why, twice.
 * Returns 0, or 1 after saying what went wrong.
 */
static int refused(const char *what, const void *ptr, enum mag_bad_free why)
{
	unsigned long before = mag_bad_free_count(why);

	mag_free(ptr);		/* the inline fast path */
	(mag_free)(ptr);	/* the exported one */
	if (mag_bad_free_count(why) == before + 2)
		return 0;
	pr_err("hostile: %s: %lu reports of the right kind, want 2\n", what,
	       mag_bad_free_count(why) - before);
	return 1;
}

/* A KFENCE object from kmalloc(), if the kernel samples one within 2 s. */
static void *kfence_object(void)
{
	int i;

	for (i = 0; i < 2000 && IS_ENABLED(CONFIG_KFENCE); i++) {
		void *p = kmalloc(32, GFP_KERNEL);

		if (p && is_kfence_address(p))
			return p;
		kfree(p);
		usleep_range(1000, 2000);
	}
	return NULL;
}

/* Immediate double frees of objects from @alloc; 0 or failures. */
static int double_frees(const char *what, struct mag_cache *cache)
{
	unsigned long before = mag_bad_free_count(MAG_BAD_DOUBLE);
	void *p, *q, *r, *objs[64];
	int i, n, fails = 0;

	mag_trim_pause(true);
	migrate_disable();
	/* At the fast path: the object is the loaded magazine's top. */
	p = cache ? mag_cache_alloc(cache, GFP_KERNEL) : mag_alloc(64, GFP_KERNEL);
	if (!p) {
		fails = 1;
		goto out;
	}
	if (cache) {
		mag_cache_free(cache, p);
		mag_cache_free(cache, p);
		q = mag_cache_alloc(cache, GFP_KERNEL);
		r = mag_cache_alloc(cache, GFP_KERNEL);
	} else {
		mag_free(p);
		mag_free(p);
		q = mag_alloc(64, GFP_KERNEL);
		r = mag_alloc(64, GFP_KERNEL);
	}
	if (q == r) {
		pr_err("hostile: %s: after a double free two allocations returned %p\n", what, q);
		fails++;
	}
	mag_free(q);
	if (q != r)
		mag_free(r);

	/*
	 * At a full magazine: free until a free fills it (the slow path then
	 * takes the second free), as many times as objects fit in one.
	 */
	n = 0;
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = cache ? mag_cache_alloc(cache, GFP_KERNEL) : mag_alloc(64, GFP_KERNEL);
		if (objs[i])
			n++;
	}
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		if (!objs[i])
			continue;
		(mag_free)(objs[i]);
		(mag_free)(objs[i]);
	}
out:
	migrate_enable();
	mag_trim_pause(false);
	if (mag_bad_free_count(MAG_BAD_DOUBLE) != before + 1 + n) {
		pr_err("hostile: %s: %lu double frees reported, want %d\n", what,
		       mag_bad_free_count(MAG_BAD_DOUBLE) - before, 1 + n);
		fails++;
	}
	return fails;
}

/**
 * mag_hostile_run() - free every kind of pointer magalloc must refuse
 *
 * Context: process context, may sleep.
 *
 * Return: the number of checks that failed (each said why on the console).
 */
int mag_hostile_run(void)
{
	struct mag_cache *cache = mag_cache_create("mag_hostile", 64, 0, 0, NULL);
	u8 stack[64];
	u8 *v, *k, *s, *l, *f;
	int fails = 0;

	memset(stack, FILL, sizeof(stack));
	v = vmalloc(PAGE_SIZE);
	k = kmalloc(64, GFP_KERNEL);
	s = mag_alloc(64, GFP_KERNEL);
	l = mag_alloc(100000, GFP_KERNEL);
	if (!cache || !v || !k || !s || !l) {
		pr_err("hostile: out of memory\n");
		fails++;
		goto out;
	}
	memset(v, FILL, PAGE_SIZE);
	memset(k, FILL, 64);

	fails += refused("ERR_PTR", ERR_PTR(-ENOMEM), MAG_BAD_FOREIGN);
	fails += refused("user address", (void *)0x10000UL + 64, MAG_BAD_FOREIGN);
	fails += refused("stack", stack + 8, MAG_BAD_FOREIGN);
	fails += refused("vmalloc", v + 64, MAG_BAD_FOREIGN);
	fails += refused("module", module_bytes + 8, MAG_BAD_FOREIGN);
	fails += refused("kmalloc", k, MAG_BAD_FOREIGN);
	fails += refused("arena header", (u8 *)mag_arena_of(s) + 64, MAG_BAD_FOREIGN);
	fails += refused("interior of a large object", l + PAGE_SIZE, MAG_BAD_INTERIOR);
	mag_set_debug(true);
	fails += refused("interior of a small object (debug mode)", s + 8, MAG_BAD_INTERIOR);
	mag_set_debug(false);
	if (!filled(stack, sizeof(stack)) || !filled(v, PAGE_SIZE) || !filled(k, 64) ||
	    !filled(module_bytes, sizeof(module_bytes))) {
		pr_err("hostile: memory behind a refused pointer changed\n");
		fails++;
	}
	if (mag_ksize(s) != 64 || mag_ksize(l) < 100000) {
		pr_err("hostile: an object lost its size after its interior was freed\n");
		fails++;
	}

	f = kfence_object();
	if (f) {
		memset(f, FILL, 32);
		fails += refused("KFENCE", f, MAG_BAD_FOREIGN);
		if (!filled(f, 32)) {
			pr_err("hostile: the KFENCE object changed\n");
			fails++;
		}
		kfree(f);
	} else {
		pr_info("hostile: no KFENCE object (%s)\n", IS_ENABLED(CONFIG_KFENCE) ?
			"none sampled in 2 s" : "no CONFIG_KFENCE");
	}

	/* under KASAN each double free is a KASAN report too (kasan.c) */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		pr_info("@@MAG EXPECT-BEGIN double frees\n");
	fails += double_frees("mag_alloc", NULL);
	fails += double_frees("typed cache", cache);
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		pr_info("@@MAG EXPECT-END double frees\n");
out:
	mag_free(l);
	mag_free(s);
	kfree(k);
	vfree(v);
	mag_cache_destroy(cache);
	pr_info("hostile: %d checks failed\n", fails);
	return fails;
}

/*
 * The leak check (debugfs "leak", kernels with kmemleak): writing 1
 * allocates one object of each kind (inline and exported mag_alloc(), a
 * typed cache's, a bulk one, a large one) and keeps their addresses only
 * in a form kmemleak cannot read as pointers, printing each ("leak:
 * 0x..."); a kmemleak scan must then report exactly those, with this
 * function in their allocation backtrace.  Writing 0 frees them.
 */
#define LEAK_MASK	0x5a5a5a5a5a5a5a5aUL
static unsigned long leaked[5];
static struct mag_cache *leak_cache;
static DEFINE_MUTEX(leak_lock);

static int leak_start(void)
{
	void *objs[5] = {}, *bulk[1];
	int i;

	if (leak_cache)
		return -EBUSY;
	leak_cache = mag_cache_create("mag_leak", 96, 0, 0, NULL);
	if (!leak_cache)
		return -ENOMEM;
	objs[0] = mag_alloc(64, GFP_KERNEL);
	objs[1] = (mag_alloc)(200, GFP_KERNEL);
	objs[2] = mag_cache_alloc(leak_cache, GFP_KERNEL);
	if (mag_alloc_bulk(128, GFP_KERNEL, 1, bulk) == 1)
		objs[3] = bulk[0];
	objs[4] = mag_alloc(100000, GFP_KERNEL);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		if (objs[i]) {
			memset(objs[i], 0, 64);
			pr_info("leak: 0x%lx\n", (unsigned long)objs[i]);
		}
		leaked[i] = (unsigned long)objs[i] ^ LEAK_MASK;
	}
	/* no copy of a pointer may stay for kmemleak's scan of this stack */
	memzero_explicit(objs, sizeof(objs));
	memzero_explicit(bulk, sizeof(bulk));
	return 0;
}

/*
 * What the allocations left deeper in this task's stack, wiped: kmemleak
 * scans every task's whole stack, stale frames included.  Recursion to
 * reach half the stack (8 KiB, 16 with KASAN's larger stacks) below the
 * caller without one large frame: a first allocation that grows the heap
 * goes that deep, and 6 KiB once left a copy of one object's address
 * (kunit-faults boot, where the leak check runs right after load).
 */
static noinline void scrub_stack(int depth)
{
	char buf[512];

	memzero_explicit(buf, sizeof(buf));
	if (depth > 0)
		scrub_stack(depth - 1);
	barrier_data(buf);
}

static void leak_end(void)
{
	int i;

	if (!leak_cache)
		return;
	for (i = 0; i < ARRAY_SIZE(leaked); i++) {
		void *p = (void *)(leaked[i] ^ LEAK_MASK);

		if (i == 2)
			mag_cache_free(leak_cache, p);
		else
			mag_free(p);
	}
	mag_cache_destroy(leak_cache);
	leak_cache = NULL;
}

static ssize_t leak_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	bool on;
	int ret;

	ret = kstrtobool_from_user(buf, count, &on);
	if (ret)
		return ret;
	mutex_lock(&leak_lock);
	if (on) {
		ret = leak_start();
		scrub_stack(THREAD_SIZE / 2 / 512 - 1);
	} else {
		leak_end();
		ret = 0;
	}
	mutex_unlock(&leak_lock);
	return ret ?: count;
}

static const struct file_operations leak_fops = {
	.owner = THIS_MODULE,
	.write = leak_write,
	.llseek = noop_llseek,
};

static ssize_t hostile_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	return mag_hostile_run() ? -EIO : count;
}

static const struct file_operations hostile_fops = {
	.owner = THIS_MODULE,
	.write = hostile_write,
	.llseek = noop_llseek,
};

/**
 * mag_hostile_debugfs() - create the hostile file
 * @dir: magalloc's debugfs directory
 */
void mag_hostile_debugfs(struct dentry *dir)
{
	debugfs_create_file("hostile", 0200, dir, NULL, &hostile_fops);
	if (IS_ENABLED(CONFIG_DEBUG_KMEMLEAK))
		debugfs_create_file("leak", 0200, dir, NULL, &leak_fops);
}

/**
 * mag_hostile_exit() - free what the leak check still holds (unload)
 */
void mag_hostile_exit(void)
{
	mutex_lock(&leak_lock);
	leak_end();
	mutex_unlock(&leak_lock);
}
