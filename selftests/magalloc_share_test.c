// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for heaps shared between processes: after fork() (the child
 * inherits the file and the mapping) and over SCM_RIGHTS (the receiver
 * maps the heap itself).  Children report through a pipe or socket and
 * their exit status; they never return into the harness.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

FIXTURE(share) {
	struct heap h;
	int sv[2];	/* parent end, child end */
};

FIXTURE_SETUP(share)
{
	ASSERT_EQ(0, mg_open(&self->h));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->sv));
}

FIXTURE_TEARDOWN(share)
{
	close(self->sv[0]);
	close(self->sv[1]);
	mg_close(&self->h);
}

static int send_u64(int fd, __u64 v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static __u64 recv_u64(int fd)
{
	__u64 v;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : ~0ull;
}

/* Exit status of @pid: 0-255, or 1000 + signal. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

static int send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))], byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = buf,
		.msg_controllen = sizeof(buf),
	};
	struct cmsghdr *c;

	memset(buf, 0, sizeof(buf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = buf,
		.msg_controllen = sizeof(buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The child allocates and writes; the parent reads and frees. */
TEST_F(share, fork_child_allocates)
{
	__u64 offs[3], sizes[3] = { 24, 5000, self->h.q.max_small_size + 1 };
	struct magalloc_stats st;
	unsigned int i;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (i = 0; i < 3; i++) {
			if (mg_alloc(self->h.fd, sizes[i], &offs[i]))
				_exit(1);
			fill(self->h.base, offs[i], sizes[i], 100 + i);
			send_u64(self->sv[1], offs[i]);
		}
		_exit(0);
	}
	for (i = 0; i < 3; i++)
		offs[i] = recv_u64(self->sv[0]);
	ASSERT_EQ(0, reap(pid));
	for (i = 0; i < 3; i++) {
		/* faulted in by the child only: the parent gets the same pages */
		EXPECT_EQ(-1, check(self->h.base, offs[i], sizes[i], 100 + i));
		EXPECT_EQ(0, mg_free(self->h.fd, offs[i]));
	}
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(3, st.allocs);
	EXPECT_EQ(3, st.frees);
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
}

/* Parent's objects, before and after fork, are the child's to read. */
TEST_F(share, fork_parent_objects_visible)
{
	__u64 before, after;
	pid_t pid;

	ASSERT_EQ(0, mg_alloc(self->h.fd, 3000, &before));
	fill(self->h.base, before, 3000, 1);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = check(self->h.base, before, 3000, 1) != -1;

		after = recv_u64(self->sv[1]);
		bad |= (check(self->h.base, after, 3000, 2) != -1) << 1;
		/* and the child frees the parent's object */
		bad |= (mg_free(self->h.fd, after) != 0) << 2;
		fill(self->h.base, before, 3000, 3);
		_exit(bad);
	}
	ASSERT_EQ(0, mg_alloc(self->h.fd, 3000, &after));
	fill(self->h.base, after, 3000, 2);
	ASSERT_EQ(0, send_u64(self->sv[0], after));
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(-1, check(self->h.base, before, 3000, 3));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, after));
	EXPECT_EQ(0, mg_free(self->h.fd, before));
}

/* Freed by the parent, the object's pages leave the child's mapping too. */
TEST_F(share, fork_free_unmaps_child)
{
	__u64 off;
	pid_t pid;

	ASSERT_EQ(0, mg_alloc(self->h.fd, 40000, &off));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		memset(self->h.base + off, 9, 40000);	/* faulted in here */
		send_u64(self->sv[1], 1);
		recv_u64(self->sv[1]);			/* parent freed it */
		bad |= probe(self->h.base + off, false) != SIGBUS;
		bad |= (probe(self->h.base + off + 39999, true) != SIGBUS) << 1;
		_exit(bad);
	}
	ASSERT_EQ(1, recv_u64(self->sv[0]));
	EXPECT_EQ(9, self->h.base[off + 20000]);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	ASSERT_EQ(0, send_u64(self->sv[0], 2));
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(SIGBUS, probe(self->h.base + off, false));
}

/* The heap lives as long as any process holds it. */
TEST_F(share, fork_outlives_parent_close)
{
	__u64 cap = tag_cap(1), off;
	pid_t pid;

	if (heaps_with_cap(cap, NULL) < 0)
		SKIP(return, "no %s", HEAPS_PATH);
	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 700, &off));
	fill(self->h.base, off, 700, 5);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad;

		recv_u64(self->sv[1]);		/* the parent closed */
		bad = check(self->h.base, off, 700, 5) != -1;
		bad |= (mg_free(self->h.fd, off) != 0) << 1;
		bad |= (mg_alloc(self->h.fd, 700, &off) != 0) << 2;
		_exit(bad);
	}
	mg_close(&self->h);
	EXPECT_EQ(1, heaps_with_cap(cap, NULL));
	ASSERT_EQ(0, send_u64(self->sv[0], 1));
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, heaps_with_cap(cap, NULL));
}

/* The fd over a UNIX socket: the receiver maps the same heap. */
TEST_F(share, scm_rights)
{
	__u64 cap = tag_cap(2), off, coff;
	int have_debugfs = heaps_with_cap(cap, NULL) >= 0;
	pid_t pid;

	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 1500, &off));
	fill(self->h.base, off, 1500, 7);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct magalloc_query q;
		int fd, bad = 0;
		char *base;

		/* forget what fork() gave: only the received fd is used */
		munmap(self->h.base, self->h.q.heap_size);
		close(self->h.fd);
		fd = recv_fd(self->sv[1]);
		if (fd < 0 || query(fd, &q, NULL, 0))
			_exit(100);
		bad |= q.cap != cap;
		base = mg_map(fd, q.heap_size);
		if (base == MAP_FAILED)
			_exit(101);
		off = recv_u64(self->sv[1]);
		bad |= (check(base, off, 1500, 7) != -1) << 1;
		bad |= (mg_alloc(fd, 1500, &coff) != 0) << 2;
		fill(base, coff, 1500, 8);
		send_u64(self->sv[1], coff);
		recv_u64(self->sv[1]);		/* the parent read it */
		bad |= (mg_free(fd, off) != 0) << 3;
		munmap(base, q.heap_size);
		close(fd);
		_exit(bad);
	}
	ASSERT_EQ(0, send_fd(self->sv[0], self->h.fd));
	ASSERT_EQ(0, send_u64(self->sv[0], off));
	coff = recv_u64(self->sv[0]);
	ASSERT_NE(~0ull, coff);
	EXPECT_EQ(-1, check(self->h.base, coff, 1500, 8));
	ASSERT_EQ(0, send_u64(self->sv[0], 1));
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, off));	/* the child freed it */
	EXPECT_EQ(0, mg_free(self->h.fd, coff));
	if (have_debugfs) {
		EXPECT_EQ(1, heaps_with_cap(cap, NULL));
		mg_close(&self->h);
		EXPECT_EQ(0, heaps_with_cap(cap, NULL));
	}
}

/* The sender closes at once; the receiver keeps the heap alive. */
TEST_F(share, scm_rights_sender_closes)
{
	__u64 cap = tag_cap(3), off;
	int have_debugfs = heaps_with_cap(cap, NULL) >= 0;
	pid_t pid;

	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 64, &off));
	fill(self->h.base, off, 64, 9);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd, bad = 0;
		char *base;

		munmap(self->h.base, self->h.q.heap_size);
		close(self->h.fd);
		fd = recv_fd(self->sv[1]);
		if (fd < 0)
			_exit(100);
		recv_u64(self->sv[1]);		/* the parent closed */
		base = mg_map(fd, self->h.q.heap_size);
		if (base == MAP_FAILED)
			_exit(101);
		bad |= check(base, off, 64, 9) != -1;
		bad |= (mg_free(fd, off) != 0) << 1;
		bad |= (probe(base + off, false) != SIGBUS) << 2;
		_exit(bad);
	}
	ASSERT_EQ(0, send_fd(self->sv[0], self->h.fd));
	mg_close(&self->h);
	if (have_debugfs)
		EXPECT_EQ(1, heaps_with_cap(cap, NULL));
	ASSERT_EQ(0, send_u64(self->sv[0], 1));
	EXPECT_EQ(0, reap(pid));
	if (have_debugfs)
		EXPECT_EQ(0, heaps_with_cap(cap, NULL));
}

/* Two processes allocating from one heap at once never share an object. */
TEST_F(share, fork_concurrent_allocs)
{
	enum { N = 2000 };
	__u64 *mine = calloc(N, sizeof(*mine));
	struct magalloc_stats st;
	unsigned int i;
	pid_t pid;

	ASSERT_NE(NULL, mine);
	pid = fork();
	ASSERT_LE(0, pid);
	for (i = 0; i < N; i++) {
		if (mg_alloc(self->h.fd, 48 + (i % 7) * 40, &mine[i])) {
			if (!pid)
				_exit(1);
			ASSERT_TRUE(false);
		}
		fill(self->h.base, mine[i], 48 + (i % 7) * 40, !pid);
	}
	if (!pid) {
		for (i = 0; i < N; i++)
			if (check(self->h.base, mine[i], 48 + (i % 7) * 40, 1) != -1)
				_exit(2);
		/* leave them: the parent's close frees them */
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	for (i = 0; i < N; i++) {
		EXPECT_EQ(-1, check(self->h.base, mine[i], 48 + (i % 7) * 40, 0));
		EXPECT_EQ(0, mg_free(self->h.fd, mine[i]));
	}
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(2 * N, st.allocs);
	EXPECT_EQ(N, st.live_objects);
	free(mine);
}

TEST_HARNESS_MAIN
