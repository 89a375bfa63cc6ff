/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the KUnit suites share, defined in alloc_kunit.c.
 *
 * test_cache() creates a typed cache that the test destroys when it ends
 * (the test fails at once if it cannot be created); test_ctor() is a
 * constructor that fills the first 100 bytes of an object with 0xc7;
 * drain_here() drains this CPU's magazines of a pool (migration must be
 * off).
 */
#ifndef _MAGALLOC_KUNIT_UTIL_H
#define _MAGALLOC_KUNIT_UTIL_H

struct kunit;
struct mag_cache;
struct mag_pool;

struct mag_cache *test_cache(struct kunit *test, unsigned int size,
			     void (*ctor)(void *));
void test_ctor(void *obj);
void drain_here(struct kunit *test, struct mag_pool *pool);

#endif /* _MAGALLOC_KUNIT_UTIL_H */
