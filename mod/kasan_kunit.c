// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite magalloc_kasan (kernels with generic KASAN): each test makes
 * one bad access to a magalloc object on purpose and expects KASAN's
 * report, as mm/kasan/kasan_test_c.c does for SLUB's objects.  A report is
 * seen through magalloc's probe on the error_report_end tracepoint
 * (kasan.c), which counts reports that name a magalloc object and keeps
 * the last bad address.  The console shows the reports between
 * "@@MAG EXPECT-BEGIN" and "@@MAG EXPECT-END" marks, which the harness
 * (scripts/results.py) does not count as kernel reports.  The boot must
 * have kasan_multi_shot (scripts/check.sh gives it): KASAN otherwise
 * reports only its first bad access.  The bad access runs in a work item:
 * KASAN fails the KUnit test whose task makes a report (only its own
 * suite, with CONFIG_KASAN_KUNIT_TEST, is spared).
 */
#include <kunit/test.h>
#include <linux/kasan.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "internal.h"
#include "kunit_util.h"

/* READ_ONCE()/WRITE_ONCE(): accesses the compiler must make, checked. */
static long do_read(void *p)
{
	char *c = p;

	OPTIMIZER_HIDE_VAR(c);
	return READ_ONCE(*c);
}

static long do_write(void *p)
{
	char *c = p;

	OPTIMIZER_HIDE_VAR(c);
	WRITE_ONCE(*c, 1);
	return 0;
}

static long do_free(void *p)
{
	mag_free(p);
	return 0;
}

/*
 * @fn(@arg) in a work item on this CPU: one KASAN report naming @addr, as
 * @count counts them (mag_kasan_reports(): on magalloc objects;
 * mag_kasan_all_reports(): on any memory).
 */
static void expect_counted(struct kunit *test, unsigned long (*count)(const void **),
			   long (*fn)(void *), void *arg, const void *addr)
{
	unsigned long n = count(NULL);
	const void *last = NULL;

	pr_info("@@MAG EXPECT-BEGIN kasan\n");
	in_worker(fn, arg);
	pr_info("@@MAG EXPECT-END kasan\n");
	KUNIT_EXPECT_EQ(test, count(&last), n + 1);
	KUNIT_EXPECT_PTR_EQ(test, last, addr);
}

static void expect_report(struct kunit *test, long (*fn)(void *), void *arg,
			  const void *addr)
{
	expect_counted(test, mag_kasan_reports, fn, arg, addr);
}

#define EXPECT_REPORT(test, addr, fn, arg)	expect_report(test, fn, (void *)(arg), addr)

static void bad_read(const void *p)
{
	do_read((void *)p);
}

static void bad_write(void *p)
{
	do_write(p);
}

/* mag_alloc(): use after free, and the class tail past the request. */
static void kasan_mag_alloc(struct kunit *test)
{
	char *p = mag_alloc(60, GFP_KERNEL);

	unsigned long n;

	KUNIT_ASSERT_NOT_NULL(test, p);
	n = mag_kasan_reports(NULL);
	bad_read(p + 59);			/* the last byte asked for: fine */
	KUNIT_EXPECT_EQ(test, mag_kasan_reports(NULL), n);
	EXPECT_REPORT(test, p + 60, do_read, p + 60);
	EXPECT_REPORT(test, p + 63, do_write, p + 63);
	mag_free(p);
	EXPECT_REPORT(test, p, do_read, p);
	EXPECT_REPORT(test, p + 8, do_write, p + 8);
}

/* A typed cache's object, after free. */
static void kasan_cache(struct kunit *test)
{
	struct mag_cache *cache = test_cache(test, 100, NULL);
	char *p = mag_cache_alloc(cache, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	bad_write(p + 99);
	mag_cache_free(cache, p);
	EXPECT_REPORT(test, p + 50, do_read, p + 50);
}

/* Bulk: every object of the batch is poisoned after mag_free_bulk(). */
static void kasan_bulk(struct kunit *test)
{
	void *objs[8];
	int i;

	KUNIT_ASSERT_EQ(test, mag_alloc_bulk(100, GFP_KERNEL, 8, objs), 8);
	for (i = 0; i < 8; i++)
		bad_write(objs[i] + 99);
	EXPECT_REPORT(test, objs[3] + 100, do_read, objs[3] + 100);
	mag_free_bulk(8, objs);
	for (i = 0; i < 8; i += 7)
		EXPECT_REPORT(test, objs[i], do_read, objs[i]);
}

/* A large object: past the request in its last page, and after free. */
static void kasan_large(struct kunit *test)
{
	char *p = mag_alloc(100000, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	bad_write(p + 99999);
	EXPECT_REPORT(test, p + 100001, do_read, p + 100001);
	mag_free(p);
	EXPECT_REPORT(test, p + 5000, do_read, p + 5000);
}

/* A double free: KASAN's report of the read, and magalloc's own. */
static void kasan_double_free(struct kunit *test)
{
	unsigned long dbl = mag_bad_free_count(MAG_BAD_DOUBLE);
	char *p = mag_alloc(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_free(p);
	EXPECT_REPORT(test, p, do_free, p);
	KUNIT_EXPECT_EQ(test, mag_bad_free_count(MAG_BAD_DOUBLE), dbl + 1);
}

/*
 * The quarantine: a freed object is not the next one handed out, though
 * the magazine is a stack; a use after free is still caught after other
 * objects were allocated and freed.
 */
static void kasan_quarantine(struct kunit *test)
{
	void *p, *q;
	int i;

	migrate_disable();
	p = mag_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_free(p);
	q = mag_alloc(64, GFP_KERNEL);
	KUNIT_EXPECT_PTR_NE(test, p, q);
	mag_free(q);
	for (i = 0; i < 100; i++)
		mag_free(mag_alloc(64, GFP_KERNEL));
	migrate_enable();
	EXPECT_REPORT(test, p, do_read, p);
	mag_drain_all();
}

/*
 * An object that left the quarantine is not in any slot of it: module data
 * is scanned by kmemleak, and a stale copy of an object allocated again
 * hid that object's leak (the leak check failed now and then).
 */
static void kasan_quarantine_forgets(struct kunit *test)
{
	void *p = mag_alloc(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	mag_free(p);
	KUNIT_EXPECT_TRUE(test, mag_kasan_quarantined(p));
	mag_kasan_flush();
	KUNIT_EXPECT_FALSE(test, mag_kasan_quarantined(p));
}

/* The trim empties the quarantine: not while a test counts on it. */
static int kasan_suite_init(struct kunit_suite *suite)
{
	mag_trim_pause(true);
	return 0;
}

static void kasan_suite_exit(struct kunit_suite *suite)
{
	mag_trim_pause(false);
}

static long do_kfree(void *p)
{
	kfree(p);
	return 0;
}

static void expect_any_report(struct kunit *test, long (*fn)(void *), void *arg,
			      const void *addr)
{
	expect_counted(test, mag_kasan_all_reports, fn, arg, addr);
}

/*
 * kmalloc()'s column of Documentation/debugging.rst, measured: the same
 * bugs on a kmalloc() object give one KASAN report each.
 */
static void kasan_kmalloc_column(struct kunit *test)
{
	char *p = kmalloc(60, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	OPTIMIZER_HIDE_VAR(p);
	expect_any_report(test, do_read, p + 60, p + 60);
	kfree(p);
	expect_any_report(test, do_read, p, p);
	expect_any_report(test, do_kfree, p, p);
}

static struct kunit_case kasan_cases[] = {
	KUNIT_CASE(kasan_mag_alloc),
	KUNIT_CASE(kasan_cache),
	KUNIT_CASE(kasan_bulk),
	KUNIT_CASE(kasan_large),
	KUNIT_CASE(kasan_double_free),
	KUNIT_CASE(kasan_quarantine),
	KUNIT_CASE(kasan_quarantine_forgets),
	KUNIT_CASE(kasan_kmalloc_column),
	{}
};

static struct kunit_suite kasan_suite = {
	.name = "magalloc_kasan",
	.suite_init = kasan_suite_init,
	.suite_exit = kasan_suite_exit,
	.test_cases = kasan_cases,
};

kunit_test_suites(&kasan_suite);
