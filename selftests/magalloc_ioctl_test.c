// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for the /dev/magalloc ioctls: every ioctl's success and error
 * paths, the heap's counters, and the cap.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

FIXTURE(heap) {
	struct heap h;
};

FIXTURE_SETUP(heap)
{
	ASSERT_EQ(0, mg_open(&self->h));
}

FIXTURE_TEARDOWN(heap)
{
	mg_close(&self->h);
}

/* A page that is mapped read-only, for copy_to_user() failures. */
static void *ro_page(void)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#define BAD_PTR	((void *)16)

TEST_F(heap, query_answers)
{
	struct magalloc_query *q = &self->h.q;
	struct magalloc_class *c = self->h.cls;
	unsigned int i;

	EXPECT_EQ(MAGALLOC_ABI_VERSION, q->abi_version);
	EXPECT_EQ(getpagesize(), q->page_size);
	EXPECT_EQ(MAGALLOC_MAX_BULK, q->max_bulk);
	ASSERT_LT(0, q->nr_classes);
	ASSERT_GE(MAX_CLASSES, q->nr_classes);
	EXPECT_EQ(0, q->heap_size % q->page_size);
	EXPECT_LT(q->max_small_size, q->max_alloc);
	EXPECT_GE(q->heap_size, q->max_alloc);
	EXPECT_GE(q->heap_size, q->cap);
	EXPECT_LT(0, q->cap);
	EXPECT_EQ(q->max_small_size, c[q->nr_classes - 1].size);
	for (i = 0; i < q->nr_classes; i++) {
		EXPECT_EQ(0, c[i].size % 8);
		EXPECT_LT(i ? c[i - 1].size : 0, c[i].size);
		EXPECT_LE(1, c[i].objects);
		EXPECT_GE(c[i].span_bytes, (__u64)c[i].objects * c[i].size);
		EXPECT_EQ(0, c[i].span_bytes % q->page_size);
		EXPECT_EQ(0, c[i].reserved);
	}
}

TEST_F(heap, query_short_class_table)
{
	struct magalloc_class c[4];
	struct magalloc_query q;

	memset(c, 0xff, sizeof(c));
	ASSERT_EQ(0, query(self->h.fd, &q, c, 2));
	EXPECT_EQ(self->h.q.nr_classes, q.nr_classes);
	EXPECT_EQ(0, memcmp(c, self->h.cls, 2 * sizeof(c[0])));
	EXPECT_EQ(0xffffffff, c[2].size);
	/* no table asked: the pointer is not touched */
	EXPECT_EQ(0, query(self->h.fd, &q, BAD_PTR, 0));
	/* a table of 0 is no table, whatever the length (the uapi says so) */
	EXPECT_EQ(0, query(self->h.fd, &q, NULL, 5));
	EXPECT_EQ(self->h.q.nr_classes, q.nr_classes);
}

TEST_F(heap, query_errors)
{
	struct magalloc_query q;

	memset(&q, 0, sizeof(q));
	q.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.flags = 0;
	q.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_QUERY, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EFAULT, query(self->h.fd, &q, BAD_PTR, 3));
}

/* Every class size and some large sizes: alignment and distinct offsets. */
TEST_F(heap, alloc_free_every_size)
{
	struct magalloc_query *q = &self->h.q;
	__u64 offs[MAX_CLASSES + 8], sizes[MAX_CLASSES + 8], ps = q->page_size, align;
	struct magalloc_stats st;
	unsigned int i, j, n = 0;

	for (i = 0; i < q->nr_classes; i++)
		sizes[n++] = self->h.cls[i].size;
	sizes[n++] = 1;
	sizes[n++] = q->max_small_size + 1;
	sizes[n++] = 3 * ps;
	sizes[n++] = 3 * ps + 1;
	sizes[n++] = q->max_alloc;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, mg_alloc(self->h.fd, sizes[i], &offs[i])) {
			TH_LOG("size %llu", (unsigned long long)sizes[i]);
		}
		/* 8 bytes, the size for powers of two, a page beyond */
		align = !(sizes[i] & (sizes[i] - 1)) ? sizes[i] : 8;
		if (sizes[i] > q->max_small_size)
			align = ps;
		EXPECT_EQ(0, offs[i] % align);
		EXPECT_GE(q->heap_size, offs[i] + sizes[i]);
		for (j = 0; j < i; j++)
			EXPECT_NE(offs[j], offs[i]);
	}
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(n, st.allocs);
	EXPECT_EQ(n, st.live_objects);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, mg_free(self->h.fd, offs[i]));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(n, st.frees);
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.live_bytes);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(0, st.bad_requests);
}

TEST_F(heap, alloc_errors)
{
	struct magalloc_stats st;
	struct magalloc_alloc a;
	__u64 off;

	EXPECT_EQ(-EINVAL, mg_alloc(self->h.fd, 0, &off));
	EXPECT_EQ(-EINVAL, mg_alloc(self->h.fd, self->h.q.max_alloc + 1, &off));
	EXPECT_EQ(-EINVAL, mg_alloc(self->h.fd, ~0ull, &off));
	memset(&a, 0, sizeof(a));
	a.size = 8;
	a.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_ALLOC, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_ALLOC, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_ALLOC, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.allocs);
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(6, st.bad_requests);
}

/* The answer cannot be written back: the object must not stay allocated. */
TEST_F(heap, alloc_efault_on_copy_out)
{
	size_t ps = getpagesize();
	struct magalloc_alloc *a;
	struct magalloc_stats st;

	a = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	a->size = 100;
	ASSERT_EQ(0, mprotect(a, ps, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_ALLOC, a));
	EXPECT_EQ(EFAULT, errno);
	munmap(a, ps);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(st.allocs, st.frees);
	EXPECT_EQ(1, st.bad_requests);
}

TEST_F(heap, free_errors)
{
	__u64 small = 0, large = 0, ps = self->h.q.page_size;
	__u64 lsize = self->h.q.max_small_size + 1, lpages = (lsize + ps - 1) / ps;
	struct magalloc_stats st;
	struct magalloc_free f;

	ASSERT_EQ(0, mg_alloc(self->h.fd, 64, &small));
	ASSERT_EQ(0, mg_alloc(self->h.fd, lsize, &large));
	memset(&f, 0, sizeof(f));
	f.offset = small;
	f.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_FREE, &f));
	EXPECT_EQ(EINVAL, errno);
	f.flags = 0;
	f.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_FREE, &f));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_FREE, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	/* not live objects: 6 bad frees */
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, small + 64));	/* free slot */
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, small + 1));	/* inside */
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, large + ps));	/* inside */
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, self->h.q.heap_size));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, ~0ull));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, large + lpages * ps));	/* no span */
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(2, st.live_objects);
	EXPECT_EQ(6, st.bad_frees);
	/* both are still live; a second free is a bad one */
	EXPECT_EQ(0, mg_free(self->h.fd, small));
	EXPECT_EQ(0, mg_free(self->h.fd, large));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, small));
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, large));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(2, st.frees);
	EXPECT_EQ(8, st.bad_frees);
	/* a refused free is also a refused request (-EINVAL) */
	EXPECT_EQ(11, st.bad_requests);
}

TEST_F(heap, bulk_alloc_free)
{
	static __u64 offs[MAGALLOC_MAX_BULK];
	struct magalloc_stats st;
	__u32 done, i, j;

	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 64, offs,
			     MAGALLOC_MAX_BULK, &done));
	ASSERT_EQ(MAGALLOC_MAX_BULK, done);
	for (i = 0; i < done; i++) {
		EXPECT_EQ(0, offs[i] % 64);
		EXPECT_GT(self->h.q.heap_size, offs[i]);
	}
	/* distinct: sort-free check through a bitmap of 64-byte slots */
	{
		size_t nslots = self->h.q.heap_size / 64;
		unsigned char *seen = calloc(nslots / 8 + 1, 1);

		ASSERT_NE(NULL, seen);
		for (i = 0; i < done; i++) {
			j = offs[i] / 64;
			EXPECT_EQ(0, seen[j / 8] & (1 << (j % 8)));
			seen[j / 8] |= 1 << (j % 8);
		}
		free(seen);
	}
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(MAGALLOC_MAX_BULK, st.live_objects);
	EXPECT_EQ(64 * MAGALLOC_MAX_BULK, st.live_bytes);
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs,
			     MAGALLOC_MAX_BULK, &done));
	EXPECT_EQ(MAGALLOC_MAX_BULK, done);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(MAGALLOC_MAX_BULK, st.frees);
}

TEST_F(heap, bulk_errors)
{
	__u64 offs[4], max_small = self->h.q.max_small_size;
	unsigned long a = MAGALLOC_IOC_ALLOC_BULK, f = MAGALLOC_IOC_FREE_BULK;
	struct magalloc_stats st;
	struct magalloc_bulk b;
	__u32 done;

	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, a, 8, offs, 0, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, a, 8, offs, MAGALLOC_MAX_BULK + 1, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, a, 0, offs, 4, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, a, max_small + 1, offs, 4, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, f, 0, offs, 0, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, f, 0, offs, MAGALLOC_MAX_BULK + 1, NULL));
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, f, 8, offs, 1, NULL));	/* size */
	memset(&b, 0, sizeof(b));
	b.size = 8;
	b.offsets = (unsigned long)offs;
	b.count = 1;
	b.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, a, &b));
	EXPECT_EQ(EINVAL, errno);
	b.flags = 0;
	b.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, a, &b));
	EXPECT_EQ(EINVAL, errno);
	b.size = 0;
	EXPECT_EQ(-1, ioctl(self->h.fd, f, &b));
	EXPECT_EQ(EINVAL, errno);
	b.reserved = 0;
	b.done = 1;	/* out only: ignored */
	b.size = 8;
	ASSERT_EQ(0, ioctl(self->h.fd, a, &b));
	EXPECT_EQ(1, b.done);
	b.size = 0;
	ASSERT_EQ(0, ioctl(self->h.fd, f, &b));
	EXPECT_EQ(1, b.done);
	EXPECT_EQ(-1, ioctl(self->h.fd, a, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, f, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	/* bad offsets arrays: nothing may stay allocated */
	EXPECT_EQ(-EFAULT, mg_bulk(self->h.fd, a, 8, BAD_PTR, 4, &done));
	EXPECT_EQ(-EFAULT, mg_bulk(self->h.fd, f, 0, BAD_PTR, 4, &done));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
	EXPECT_EQ(st.allocs, st.frees);
	EXPECT_EQ(14, st.bad_requests);
	EXPECT_EQ(0, st.bad_frees);
}

/* ALLOC_BULK into a read-only array: allocated, then all given back. */
TEST_F(heap, bulk_alloc_efault_on_copy_out)
{
	struct magalloc_stats st;
	__u64 *ro = ro_page();
	__u32 done;

	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 24, ro, 100, &done));
	munmap(ro, getpagesize());
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(100, st.allocs);
	EXPECT_EQ(100, st.frees);
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
}

/*
 * A struct FREE_BULK cannot write back (a read-only page): -EFAULT and
 * nothing freed, so the caller, who cannot learn @done, loses nothing.
 */
TEST_F(heap, free_bulk_efault_frees_nothing)
{
	__u64 offs[4];
	struct magalloc_bulk *b;
	struct magalloc_stats st;
	char *page;
	__u32 done, i;

	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 64, offs, 4, &done));
	ASSERT_EQ(4, done);
	page = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	b = (struct magalloc_bulk *)page;
	memset(b, 0, sizeof(*b));
	b->offsets = (uintptr_t)offs;
	b->count = 4;
	ASSERT_EQ(0, mprotect(page, getpagesize(), PROT_READ));
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_FREE_BULK, b));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(4, st.live_objects);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, mg_free(self->h.fd, offs[i]));
	munmap(page, getpagesize());
}

struct stalled_bulk {
	int fd;
	__u64 *offs;
	__u32 count;
	unsigned long cmd;
	int done;	/* __atomic_load_n/__atomic_store_n */
	int ret;
};

static void *bulk_thread(void *arg)
{
	struct stalled_bulk *s = arg;
	struct magalloc_bulk b = {
		.size = s->cmd == MAGALLOC_IOC_ALLOC_BULK ? 64 : 0,
		.offsets = (uintptr_t)s->offs,
		.count = s->count,
	};

	s->ret = ioctl(s->fd, s->cmd, &b) ? -errno : (int)b.done;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A sharer whose FREE_BULK stalls copying its offsets in (a page
 * userfaultfd holds back) must not hold up another's bulk call on the
 * same heap: both once used one buffer under one mutex, held across the
 * copy.
 */
TEST_F(heap, bulk_not_held_up_by_stalled_copy)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy cp = { .mode = 0 };
	struct stalled_bulk a = { .fd = self->h.fd, .count = 1, .cmd = MAGALLOC_IOC_FREE_BULK };
	struct stalled_bulk b = { .fd = self->h.fd, .count = 4, .cmd = MAGALLOC_IOC_ALLOC_BULK };
	long page = getpagesize();
	struct pollfd pfd;
	struct uffd_msg msg;
	pthread_t ta, tb;
	__u64 offs[4], *src;
	int uffd, i;
	char *area;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "no userfaultfd (%s)", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	reg.range.start = (uintptr_t)area;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	a.offs = (__u64 *)area;
	b.offs = offs;
	ASSERT_EQ(0, pthread_create(&ta, NULL, bulk_thread, &a));
	/* a's copy of its offsets has faulted and waits on us */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ(0, pthread_create(&tb, NULL, bulk_thread, &b));
	for (i = 0; i < 200 && !__atomic_load_n(&b.done, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	EXPECT_TRUE(__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
		TH_LOG("ALLOC_BULK waited on a stalled FREE_BULK");
	/* let a go on, with offset 1: never the start of an object */
	src = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	src[0] = 1;
	cp.dst = (uintptr_t)area;
	cp.src = (uintptr_t)src;
	cp.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	EXPECT_EQ(-EINVAL, a.ret);
	EXPECT_EQ(4, b.ret);
	for (i = 0; i < b.ret; i++)
		EXPECT_EQ(0, mg_free(self->h.fd, offs[i]));
	munmap(area, page);
	munmap(src, page);
	close(uffd);
}

TEST_F(heap, free_bulk_stops_at_first_bad)
{
	__u64 offs[10], list[11];
	struct magalloc_stats st;
	__u32 done, i;

	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 32, offs, 10, &done));
	ASSERT_EQ(10, done);
	for (i = 0; i < 3; i++)
		list[i] = offs[i];
	list[3] = offs[0] + 1;	/* not an object */
	for (i = 3; i < 10; i++)
		list[i + 1] = offs[i];
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, list, 11, &done));
	EXPECT_EQ(3, done);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(7, st.live_objects);
	EXPECT_EQ(3, st.frees);
	EXPECT_EQ(1, st.bad_frees);
	/* the first three are gone, the rest still live */
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-EINVAL, mg_free(self->h.fd, offs[i]));
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs + 3, 7, &done));
	EXPECT_EQ(7, done);
	/* a bad first entry: nothing freed */
	EXPECT_EQ(-EINVAL, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs, 2, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.live_objects);
	EXPECT_EQ(0, st.charged);
}

TEST_F(heap, alloc_bulk_partial_at_cap)
{
	__u64 ps = self->h.q.page_size, one, per_span;
	static __u64 offs[MAGALLOC_MAX_BULK];
	struct magalloc_stats st;
	unsigned int i;
	__u32 done;

	/* 32 bytes: a class whose span is one page */
	i = class_of(&self->h, 32);
	ASSERT_EQ(32, self->h.cls[i].size);
	ASSERT_EQ(ps, self->h.cls[i].span_bytes);
	per_span = self->h.cls[i].objects;
	ASSERT_EQ(0, mg_set_cap(self->h.fd, ps));
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 32, offs,
			     MAGALLOC_MAX_BULK, &done));
	EXPECT_EQ(per_span, done);
	EXPECT_GT(MAGALLOC_MAX_BULK, done);
	EXPECT_EQ(-ENOMEM, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 32, offs + done,
				   1, NULL));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, 32, &one));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, 8, &one));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(ps, st.charged);
	EXPECT_EQ(per_span, st.live_objects);
	/* three refused calls, and maybe the partial first call (it is today) */
	EXPECT_LE(3, st.failed_allocs);
	EXPECT_GE(4, st.failed_allocs);
	EXPECT_EQ(0, st.bad_requests);
	/* the cap counts spans, not objects: free one, and one more fits */
	ASSERT_EQ(0, mg_free(self->h.fd, offs[0]));
	EXPECT_EQ(0, mg_alloc(self->h.fd, 32, &offs[0]));
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs, done, &done));
	EXPECT_EQ(per_span, done);
}

/* Buffers of the ioctls inside the heap's own mapping, not yet faulted in. */
TEST_F(heap, buffers_in_the_heap)
{
	__u64 arr = 0, sst = 0, qo = 0, *offs, ps = self->h.q.page_size;
	struct magalloc_class_stats *cs;
	struct magalloc_query *q;
	struct magalloc_stats *st;
	__u32 done;

	ASSERT_EQ(0, mg_alloc(self->h.fd, MAGALLOC_MAX_BULK * 8, &arr));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 2 * ps, &sst));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 2 * ps, &qo));
	offs = (__u64 *)(self->h.base + arr);
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 16, offs,
			     MAGALLOC_MAX_BULK, &done));
	EXPECT_EQ(MAGALLOC_MAX_BULK, done);
	st = (struct magalloc_stats *)(self->h.base + sst);
	cs = (struct magalloc_class_stats *)(st + 1);
	st->classes_len = self->h.q.nr_classes;
	st->classes = (unsigned long)cs;
	ASSERT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_STATS, st));
	EXPECT_EQ(MAGALLOC_MAX_BULK + 3, st->live_objects);
	EXPECT_EQ(MAGALLOC_MAX_BULK, cs[class_of(&self->h, 16)].objects);
	q = (struct magalloc_query *)(self->h.base + qo);
	q->classes_len = self->h.q.nr_classes;
	q->classes = (unsigned long)(q + 1);
	ASSERT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_QUERY, q));
	EXPECT_EQ(0, memcmp(q + 1, self->h.cls, q->nr_classes * sizeof(self->h.cls[0])));
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs,
			     MAGALLOC_MAX_BULK, &done));
	EXPECT_EQ(MAGALLOC_MAX_BULK, done);
	EXPECT_EQ(0, mg_free(self->h.fd, arr));
	EXPECT_EQ(0, mg_free(self->h.fd, sst));
	EXPECT_EQ(0, mg_free(self->h.fd, qo));
}

TEST_F(heap, stats_counters)
{
	__u64 offs[100], big = 0, tmp, ps = self->h.q.page_size;
	__u64 large = self->h.q.max_small_size + 1, lpages = (large + ps - 1) / ps;
	struct magalloc_class_stats cs[MAX_CLASSES];
	unsigned int nc = self->h.q.nr_classes, i;
	struct magalloc_stats st;
	__u32 done;

	memset(&st, 0, sizeof(st));
	st.classes_len = nc;
	st.classes = (unsigned long)cs;
	ASSERT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(self->h.q.cap, st.cap);
	EXPECT_EQ(0, st.charged + st.resident + st.live_objects + st.live_bytes);
	EXPECT_EQ(0, st.allocs + st.frees + st.failed_allocs + st.bad_frees + st.bad_requests);
	for (i = 0; i < nc; i++)
		EXPECT_EQ(0, cs[i].objects + cs[i].spans + cs[i].bytes);

	/* 100 objects of 100 bytes, one large object (whole pages) */
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, 100, offs, 100, &done));
	ASSERT_EQ(100, done);
	ASSERT_EQ(0, mg_alloc(self->h.fd, large, &big));
	i = class_of(&self->h, 100);
	memset(&st, 0, sizeof(st));
	st.classes_len = nc;
	st.classes = (unsigned long)cs;
	ASSERT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(101, st.allocs);
	EXPECT_EQ(101, st.live_objects);
	EXPECT_EQ(100 * self->h.cls[i].size + lpages * ps, st.live_bytes);
	EXPECT_EQ(100, cs[i].objects);
	EXPECT_EQ((100 + self->h.cls[i].objects - 1) / self->h.cls[i].objects, cs[i].spans);
	EXPECT_EQ(cs[i].spans * self->h.cls[i].span_bytes, cs[i].bytes);
	EXPECT_EQ(cs[i].bytes + lpages * ps, st.charged);
	EXPECT_EQ(0, st.resident);

	/* touching pages makes them resident */
	memset(self->h.base + big, 1, large);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(lpages * ps, st.resident);

	/* refused requests of each kind */
	EXPECT_EQ(-EINVAL, mg_free(self->h.fd, big + 8));	/* bad free */
	EXPECT_EQ(-EINVAL, mg_alloc(self->h.fd, 0, &tmp));
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_STATS, BAD_PTR));
	EXPECT_EQ(-1, ioctl(self->h.fd, _IO(MAGALLOC_IOC_MAGIC, 0x42)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(0, mg_set_cap(self->h.fd, st.charged));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, large, &tmp));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(1, st.bad_frees);
	EXPECT_EQ(4, st.bad_requests);
	EXPECT_EQ(1, st.failed_allocs);
	EXPECT_EQ(101, st.allocs);

	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs, 100, &done));
	ASSERT_EQ(0, mg_free(self->h.fd, big));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(101, st.frees);
	EXPECT_EQ(0, st.live_objects + st.live_bytes + st.charged + st.resident);
}

TEST_F(heap, stats_errors)
{
	struct magalloc_stats st;

	memset(&st, 0, sizeof(st));
	st.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	st.flags = 0;
	st.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	st.reserved[3] = 0;
	st.classes_len = 2;
	st.classes = (unsigned long)BAD_PTR;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(EFAULT, errno);
	/* no table asked: the pointer is not touched */
	st.classes_len = 0;
	EXPECT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(3, st.bad_requests);
	/* nor with a table of 0, whatever the length (the uapi says so) */
	st.classes_len = 2;
	st.classes = 0;
	EXPECT_EQ(0, ioctl(self->h.fd, MAGALLOC_IOC_STATS, &st));
	EXPECT_EQ(3, st.bad_requests);
}

/*
 * A descriptor opened read-only may look (QUERY, STATS, a read-only
 * mapping) but not change the heap: EBADF, as write() on it would give.
 */
TEST(rdonly_cannot_change_heap)
{
	struct magalloc_query q;
	struct magalloc_stats st;
	__u64 offs[2] = { 0, 0 }, off = 0;
	int fd = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	char *p;

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, query(fd, &q, NULL, 0));
	EXPECT_EQ(0, mg_stats(fd, &st));
	EXPECT_EQ(-EBADF, mg_alloc(fd, 64, &off));
	EXPECT_EQ(-EBADF, mg_free(fd, 0));
	EXPECT_EQ(-EBADF, mg_bulk(fd, MAGALLOC_IOC_ALLOC_BULK, 64, offs, 2, NULL));
	EXPECT_EQ(-EBADF, mg_set_cap(fd, 1 << 20));
	EXPECT_EQ(0, mg_stats(fd, &st));
	EXPECT_EQ(0, st.allocs);
	EXPECT_EQ(0, st.live_objects);
	p = mmap(NULL, q.page_size, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, q.page_size);
	p = mmap(NULL, q.page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

TEST_F(heap, set_cap)
{
	__u64 ps = self->h.q.page_size, cap0 = self->h.q.cap, a = 0, b = 0, tmp;
	struct magalloc_stats st;
	struct magalloc_query q;
	struct magalloc_cap c;

	ASSERT_EQ(0, mg_set_cap(self->h.fd, 4 * ps));
	ASSERT_EQ(0, query(self->h.fd, &q, NULL, 0));
	EXPECT_EQ(4 * ps, q.cap);
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, 5 * ps, &tmp));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 4 * ps, &a));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, 8, &tmp));
	/* lowering below what the heap holds only stops new allocations */
	ASSERT_EQ(0, mg_set_cap(self->h.fd, ps));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(ps, st.cap);
	EXPECT_EQ(4 * ps, st.charged);
	EXPECT_EQ(0, probe(self->h.base + a + 3 * ps, true));
	EXPECT_EQ(0, mg_free(self->h.fd, a));
	EXPECT_EQ(0, mg_alloc(self->h.fd, ps, &a));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, ps, &tmp));
	/* raising needs CAP_SYS_RESOURCE: the tests run as root */
	ASSERT_EQ(0, mg_set_cap(self->h.fd, cap0));
	EXPECT_EQ(0, mg_alloc(self->h.fd, ps, &b));
	EXPECT_EQ(0, mg_set_cap(self->h.fd, 0));
	EXPECT_EQ(-ENOMEM, mg_alloc(self->h.fd, 1, &tmp));
	EXPECT_EQ(0, mg_set_cap(self->h.fd, ~0ull));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(~0ull, st.cap);
	EXPECT_EQ(4, st.failed_allocs);

	memset(&c, 0, sizeof(c));
	c.cap = ps;
	c.flags = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_SET_CAP, &c));
	EXPECT_EQ(EINVAL, errno);
	c.flags = 0;
	c.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_SET_CAP, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, MAGALLOC_IOC_SET_CAP, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(~0ull, st.cap);
	EXPECT_EQ(3, st.bad_requests);
	EXPECT_EQ(0, mg_free(self->h.fd, a));
	EXPECT_EQ(0, mg_free(self->h.fd, b));
}

/* Opened as root, then the process drops to nobody: it may lower only. */
TEST_F(heap, set_cap_unprivileged)
{
	__u64 cap0 = self->h.q.cap;
	struct magalloc_stats st;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		/* the open file keeps working for the new owner */
		bad |= mg_set_cap(self->h.fd, cap0 + 4096) != -EPERM;
		bad |= (mg_set_cap(self->h.fd, cap0 / 2) != 0) << 1;
		bad |= (mg_set_cap(self->h.fd, cap0) != -EPERM) << 2;
		bad |= (mg_set_cap(self->h.fd, cap0 / 4) != 0) << 3;
		bad |= (mg_set_cap(self->h.fd, cap0 / 4) != 0) << 4;	/* equal */
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(cap0 / 4, st.cap);
	EXPECT_EQ(0, st.bad_requests);	/* -EPERM is not a bad argument */
	/* root raises it back */
	EXPECT_EQ(0, mg_set_cap(self->h.fd, cap0));
}

TEST_F(heap, unknown_ioctl_enotty)
{
	struct magalloc_stats st;
	int arg = 0;

	EXPECT_EQ(-1, ioctl(self->h.fd, _IO(MAGALLOC_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, _IOWR(MAGALLOC_IOC_MAGIC, 0x07, int), &arg));
	EXPECT_EQ(ENOTTY, errno);
	/* a known number with the wrong size is another command */
	EXPECT_EQ(-1, ioctl(self->h.fd, _IOWR(MAGALLOC_IOC_MAGIC, 0x00, int), &arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->h.fd, _IOWR('x', 0, struct magalloc_query), &arg));
	EXPECT_EQ(ENOTTY, errno);
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(4, st.bad_requests);
}

TEST_HARNESS_MAIN
