// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for main.c: the device node and the QUERY ioctl's checks.
 */
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>

#include "compat.h"
#include "internal.h"
#include "kunit_util.h"

static void query_answers(struct kunit *test)
{
	struct magalloc_query q = { };

	KUNIT_ASSERT_EQ(test, mag_query_fill(&q), 0);
	KUNIT_EXPECT_EQ(test, q.abi_version, MAGALLOC_ABI_VERSION);
	KUNIT_EXPECT_EQ(test, q.page_size, PAGE_SIZE);
}

static void query_rejects_flags(struct kunit *test)
{
	struct magalloc_query q = { .flags = 1 };

	KUNIT_EXPECT_EQ(test, mag_query_fill(&q), -EINVAL);
	q.flags = 0;
	q.reserved[1] = 1;
	KUNIT_EXPECT_EQ(test, mag_query_fill(&q), -EINVAL);
	KUNIT_EXPECT_EQ(test, q.abi_version, 0);
}

static void device_registered(struct kunit *test)
{
	umode_t mode = 0;
	kuid_t uid = GLOBAL_ROOT_UID;
	kgid_t gid = KGIDT_INIT(1234);

	KUNIT_ASSERT_NOT_NULL(test, mag_device);
	KUNIT_EXPECT_TRUE(test, device_is_registered(mag_device));
	KUNIT_EXPECT_NE(test, MAJOR(mag_device->devt), 0U);
	/* the node devtmpfs makes: dev_mode and dev_gid, 0600 and root by default */
	KUNIT_EXPECT_NULL(test, mag_devnode(mag_device, &mode, &uid, &gid));
	KUNIT_EXPECT_EQ(test, mode, 0600);
	KUNIT_EXPECT_TRUE(test, gid_eq(gid, GLOBAL_ROOT_GID));
}

/* heap_size_mb takes 1 to 1048576 (MiB) and nothing else. */
static void heap_size_range_checked(struct kunit *test)
{
	unsigned int v = 7;
	struct kernel_param kp = { .arg = &v };

	KUNIT_EXPECT_EQ(test, mag_heap_size_set("0", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_heap_size_set("1048577", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_heap_size_set("-1", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_heap_size_set("64k", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, v, 7U);
	KUNIT_EXPECT_EQ(test, mag_heap_size_set("1", &kp), 0);
	KUNIT_EXPECT_EQ(test, v, 1U);
	KUNIT_EXPECT_EQ(test, mag_heap_size_set("1048576", &kp), 0);
	KUNIT_EXPECT_EQ(test, v, 1048576U);
}

/* user_heaps_max takes 1 to 65536, user_heap_mb 1 to 1048576 (MiB). */
static void user_limits_range_checked(struct kunit *test)
{
	unsigned int v = 7;
	struct kernel_param kp = { .arg = &v };

	KUNIT_EXPECT_EQ(test, mag_user_heaps_set("0", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_user_heaps_set("65537", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_user_heaps_set("-1", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_user_heap_mb_set("0", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_user_heap_mb_set("1048577", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, mag_user_heap_mb_set("1g", &kp), -EINVAL);
	KUNIT_EXPECT_EQ(test, v, 7U);
	KUNIT_EXPECT_EQ(test, mag_user_heaps_set("65536", &kp), 0);
	KUNIT_EXPECT_EQ(test, v, 65536U);
	KUNIT_EXPECT_EQ(test, mag_user_heap_mb_set("1", &kp), 0);
	KUNIT_EXPECT_EQ(test, v, 1U);
	KUNIT_EXPECT_EQ(test, mag_user_heap_mb_set("1048576", &kp), 0);
	KUNIT_EXPECT_EQ(test, v, 1048576U);
}

static struct kunit_case main_cases[] = {
	KUNIT_CASE(query_answers),
	KUNIT_CASE(query_rejects_flags),
	KUNIT_CASE(device_registered),
	KUNIT_CASE(heap_size_range_checked),
	KUNIT_CASE(user_limits_range_checked),
	{}
};

static struct kunit_suite main_suite = {
	.name = "magalloc_main",
	.suite_init = quarantine_off,
	.suite_exit = quarantine_on,
	.test_cases = main_cases,
};

kunit_test_suite(main_suite);
