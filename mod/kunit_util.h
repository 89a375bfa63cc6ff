/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the KUnit suites share, defined in alloc_kunit.c.
 *
 * test_cache() creates a typed cache that the test destroys when it ends
 * (the test fails at once if it cannot be created); test_ctor() is a
 * constructor that fills the first 100 bytes of an object with 0xc7;
 * drain_here() drains this CPU's magazines of a pool (migration must be
 * off); span_of() is mag_span_of() for a pointer whose span stays (a
 * live object's), read under RCU as mag_span_of() wants.
 *
 * in_worker() runs @fn(@arg) in a work item on this CPU: KASAN fails the
 * KUnit test whose task it reports on, and a test's deliberate double
 * frees are reports under KASAN (mod/kasan.c).  expect_reports() does the
 * same between the "@@MAG EXPECT-BEGIN/END" marks, inside which the
 * harness does not count kernel reports.
 *
 * quarantine_off() and quarantine_on() are the suite_init and suite_exit
 * of the suites that look into magazines and spans: under KASAN they run
 * without the quarantine (freed objects stay poisoned), which only
 * magalloc_kasan tests.
 */
#ifndef _MAGALLOC_KUNIT_UTIL_H
#define _MAGALLOC_KUNIT_UTIL_H

#include <linux/rcupdate.h>

struct kunit;
struct mag_cache;
struct mag_pool;
struct mag_span;
struct mag_span *mag_span_of(const void *p);

static inline struct mag_span *span_of(const void *p)
{
	struct mag_span *s;

	rcu_read_lock();
	s = mag_span_of(p);
	rcu_read_unlock();
	return s;
}

struct mag_cache *test_cache(struct kunit *test, unsigned int size,
			     void (*ctor)(void *));
void test_ctor(void *obj);
void drain_here(struct kunit *test, struct mag_pool *pool);
long in_worker(long (*fn)(void *), void *arg);
struct kunit_suite;
int quarantine_off(struct kunit_suite *suite);
void quarantine_on(struct kunit_suite *suite);
long expect_reports(long (*fn)(void *), void *arg);

#endif /* _MAGALLOC_KUNIT_UTIL_H */
