// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the per-user limits of /dev/magalloc (mod/uheap.c):
 * user_heaps_max heaps open per uid (EMFILE beyond), user_heap_mb MiB of
 * spans and large objects held per uid (ENOMEM beyond), both exceeded by
 * an opener with CAP_SYS_RESOURCE; and the page map and bitmaps of a
 * heap allocated at its first allocation, not at open().
 *
 * The unprivileged user is uid 65534 keeping CAP_DAC_OVERRIDE (the node
 * is 0600 root), with or without CAP_SYS_RESOURCE.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "magalloc_test.h"
#include "kselftest_harness.h"

#define NOBODY	65534

/*
 * Become uid and gid NOBODY keeping only CAP_DAC_OVERRIDE, and
 * CAP_SYS_RESOURCE if @resource; 0 or -1.
 */
static int become_nobody(bool resource)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	unsigned int caps = 1u << CAP_DAC_OVERRIDE;
	struct __user_cap_data_struct data[2];

	if (resource)
		caps |= 1u << CAP_SYS_RESOURCE;
	memset(data, 0, sizeof(data));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	data[0].effective = caps;
	data[0].permitted = caps;
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

#define UNPRIV	false
#define PRIV	true

/*
 * Run @fn in a child as NOBODY, with CAP_SYS_RESOURCE if @resource; its
 * exit status (0: all well).
 */
static int as_nobody(int (*fn)(void), bool resource)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(become_nobody(resource) ? 100 : fn());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int dev_open(void)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

#define LIMIT_HEAPS	3

/* LIMIT_HEAPS heaps open; the next is refused with EMFILE; a close gives one back. */
static int heaps_limited(void)
{
	int fd[LIMIT_HEAPS], i, bad = 0;

	for (i = 0; i < LIMIT_HEAPS; i++) {
		fd[i] = dev_open();
		if (fd[i] < 0)
			return 1;
	}
	bad |= (dev_open() != -EMFILE) << 1;
	bad |= (dev_open() != -EMFILE) << 2;
	close(fd[0]);
	fd[0] = dev_open();
	bad |= (fd[0] < 0) << 3;
	bad |= (dev_open() != -EMFILE) << 4;
	return bad;
}

/* CAP_SYS_RESOURCE: twice the limit and more open. */
static int heaps_exceeded(void)
{
	int i;

	for (i = 0; i < 2 * LIMIT_HEAPS + 1; i++)
		if (dev_open() < 0)
			return 1;
	return 0;
}

FIXTURE(limits) {
	long long heaps_max, heap_mb;
};

FIXTURE_SETUP(limits)
{
	self->heaps_max = param_swap("user_heaps_max", LIMIT_HEAPS);
	ASSERT_LT(0, self->heaps_max);
	self->heap_mb = param_swap("user_heap_mb", 1);
	ASSERT_LT(0, self->heap_mb);
}

FIXTURE_TEARDOWN(limits)
{
	if (self->heaps_max > 0)
		param_swap("user_heaps_max", self->heaps_max);
	if (self->heap_mb > 0)
		param_swap("user_heap_mb", self->heap_mb);
}

TEST_F(limits, heaps_per_user)
{
	EXPECT_EQ(0, as_nobody(heaps_limited, UNPRIV));
	/* the last close gave every heap back: the same again */
	EXPECT_EQ(0, as_nobody(heaps_limited, UNPRIV));
	EXPECT_EQ(0, as_nobody(heaps_exceeded, PRIV));
}

/* Heaps of root (CAP_SYS_RESOURCE) are not limited. */
TEST_F(limits, root_exceeds_heaps)
{
	int fd[2 * LIMIT_HEAPS], i;

	for (i = 0; i < 2 * LIMIT_HEAPS; i++) {
		fd[i] = dev_open();
		EXPECT_LE(0, fd[i]);
	}
	while (i--)
		if (fd[i] >= 0)
			close(fd[i]);
}

#define KIB	1024ull

/* user_heap_mb = 1: 1 MiB of spans for all of the user's heaps. */
static int bytes_limited(void)
{
	int a = dev_open(), b = dev_open(), c, bad = 0;
	__u64 off1, off2, off3;

	if (a < 0 || b < 0)
		return 1;
	bad |= (mg_alloc(a, 512 * KIB, &off1) != 0) << 1;
	/* the heap's own cap (64 MiB) allows it, the user's budget not */
	bad |= (mg_alloc(b, 768 * KIB, &off2) != -ENOMEM) << 2;
	bad |= (mg_alloc(b, 512 * KIB, &off2) != 0) << 3;
	bad |= (mg_alloc(a, 16, &off3) != -ENOMEM) << 4;
	/* a free gives the bytes back, to any heap of the user */
	bad |= (mg_free(a, off1) != 0) << 5;
	bad |= (mg_alloc(b, 16, &off3) != 0) << 6;
	/* closing a heap gives back what it held */
	close(b);
	c = dev_open();
	bad |= (c < 0) << 7;
	bad |= (mg_alloc(c, 1024 * KIB, &off1) != 0) << 8;
	return bad;
}

static int bytes_exceeded(void)
{
	int a = dev_open();
	__u64 off;

	if (a < 0)
		return 1;
	return mg_alloc(a, 4096 * KIB, &off) ? 2 : 0;
}

TEST_F(limits, bytes_per_user)
{
	EXPECT_EQ(0, as_nobody(bytes_limited, UNPRIV));
	EXPECT_EQ(0, as_nobody(bytes_limited, UNPRIV));
	EXPECT_EQ(0, as_nobody(bytes_exceeded, PRIV));
}

/* Both take a range: nothing else is written. */
TEST(params_range_checked)
{
	long long heaps = param_swap("user_heaps_max", 64);
	long long mb;

	ASSERT_LT(0, heaps);
	mb = param_swap("user_heap_mb", 1024);
	ASSERT_LT(0, mb);
	EXPECT_EQ(-1, param_swap("user_heaps_max", 0));
	EXPECT_EQ(-1, param_swap("user_heaps_max", 65537));
	EXPECT_EQ(-1, param_swap("user_heap_mb", 0));
	EXPECT_EQ(-1, param_swap("user_heap_mb", 1048577));
	EXPECT_EQ(64, param_swap("user_heaps_max", heaps));
	EXPECT_EQ(1024, param_swap("user_heap_mb", mb));
}

/*
 * A fresh heap has no page map nor bitmaps; its first allocation makes
 * them for the one chunk (max_alloc bytes) it grows to, not for its range
 * (magalloc_growth_test has the rest).
 */
TEST(metadata_at_first_alloc)
{
	__u64 cap = tag_cap(1), off, chunk_pages;
	struct heap h;

	ASSERT_EQ(0, mg_open(&h));
	ASSERT_EQ(0, mg_set_cap(h.fd, cap));
	chunk_pages = h.q.max_alloc / h.q.page_size;
	EXPECT_EQ(0, heap_field(cap, "metadata"));
	ASSERT_EQ(0, mg_alloc(h.fd, 16, &off));
	EXPECT_LE((long long)(chunk_pages * sizeof(void *)), heap_field(cap, "metadata"));
	EXPECT_GE((long long)(2 * chunk_pages * sizeof(void *)), heap_field(cap, "metadata"));
	EXPECT_EQ(0, mg_free(h.fd, off));
	mg_close(&h);
}

TEST_HARNESS_MAIN
