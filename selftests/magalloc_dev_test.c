// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the /dev/magalloc node and its QUERY ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/magalloc.h>

#include "kselftest_harness.h"

#define DEV_PATH "/dev/magalloc"

TEST(node_is_private_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
}

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, query)
{
	struct magalloc_query q;

	memset(&q, 0, sizeof(q));
	ASSERT_EQ(0, ioctl(self->fd, MAGALLOC_IOC_QUERY, &q));
	EXPECT_EQ(MAGALLOC_ABI_VERSION, q.abi_version);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), q.page_size);
	EXPECT_EQ(0, q.flags);
}

TEST_F(dev, query_nonzero_flags_einval)
{
	struct magalloc_query q;

	memset(&q, 0, sizeof(q));
	q.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MAGALLOC_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.flags = 0;
	q.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MAGALLOC_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, query_bad_pointer_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, MAGALLOC_IOC_QUERY, (void *)16));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, unknown_ioctl_enotty)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(MAGALLOC_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('x', 0, struct magalloc_query), NULL));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_HARNESS_MAIN
