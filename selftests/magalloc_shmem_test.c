// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/*
 * kselftests for the heap's backing (mod/uheap.c): each heap is a shmem
 * file, so its pages count in the mapping process's RSS (RssShmem, smaps),
 * leave it at munmap(), come back zeroed when a freed span is reused, and
 * can be pinned: vmsplice(), /proc/<pid>/mem (what gdb reads), io_uring
 * fixed buffers, futexes.  The last test is the "shared heaps in
 * practice": processes sharing one heap contend on a process-shared
 * pthread mutex and condition variable living in a heap object and pass
 * objects to each other by offset.
 *
 * Not tested here: swap (the guests of scripts/check.sh have none), and
 * O_DIRECT (they have no block device: their root is the initramfs, and
 * tmpfs treats O_DIRECT as buffered I/O, pinning nothing); vmsplice() and
 * io_uring's buffer registration pin the pages the way O_DIRECT would
 * (get_user_pages / pin_user_pages).
 */
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

/*
 * RSS counters may lag by up to 64 page events per thread on 6.1
 * (SPLIT_RSS_COUNTING): this much slack, in KiB.
 */
#define RSS_SLACK_KB	512

FIXTURE(shm) {
	struct heap h;
	long ps;
};

FIXTURE_SETUP(shm)
{
	ASSERT_EQ(0, mg_open(&self->h));
	self->ps = getpagesize();
}

FIXTURE_TEARDOWN(shm)
{
	mg_close(&self->h);
}

/* The number after "@key" in /proc/self/status, in kB, or -1. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	size_t n = strlen(key);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* "@key:" of the smaps entry of the mapping that holds @addr, in kB, or -1. */
static long smaps_kb(const void *addr, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, a = (unsigned long)addr;
	size_t n = strlen(key);
	bool in = false;
	char line[512];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* a mapping's first line: "lo-hi perms offset dev inode path" */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, key, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The line of /proc/self/maps whose mapping holds @addr, in @buf, or "". */
static void maps_line(const void *addr, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long lo, hi, a = (unsigned long)addr;

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(buf, len, f))
		if (sscanf(buf, "%lx-%lx ", &lo, &hi) == 2 && a >= lo && a < hi)
			break;
	if (ferror(f) || feof(f))
		buf[0] = 0;
	fclose(f);
}

/*
 * The mapping is one of the heap's shmem file: a shared mapping, named
 * HEAP_MAPS_NAME, never executable.
 */
TEST_F(shm, maps_names_shmem_file)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
	char line[512];

	/* small pages for the heap's file but with always, within_size, force */
	if (f) {
		if (fgets(line, sizeof(line), f))
			TH_LOG("shmem_enabled: %s", line);
		fclose(f);
	}
	maps_line(self->h.base, line, sizeof(line));
	TH_LOG("%s", line);
	ASSERT_NE(0, line[0]);
	EXPECT_NE(NULL, strstr(line, " rw-s "));
	EXPECT_NE(NULL, strstr(line, HEAP_MAPS_NAME "\n"));
}

/*
 * The heap's file keeps its times: a write fault on a shared file mapping
 * updates the file's mtime and ctime unless the inode says not to
 * (S_NOCMTIME), and two threads faulting at once raced on them (a KCSAN
 * report in inode_update_timestamps()).  Nobody reads them: the heap sets
 * S_NOCMTIME.
 */
TEST_F(shm, write_faults_leave_file_times)
{
	char line[512], path[600], *sp;
	struct stat a, b;
	unsigned int i;
	__u64 off;

	maps_line(self->h.base, line, sizeof(line));
	ASSERT_NE(0, line[0]);
	sp = strchr(line, ' ');
	ASSERT_NE(NULL, sp);
	*sp = 0;
	snprintf(path, sizeof(path), "/proc/self/map_files/%s", line);
	if (stat(path, &a))
		SKIP(return, "stat %s: %s", path, strerror(errno));
	ASSERT_EQ(0, mg_alloc(self->h.fd, 4 * self->ps, &off));
	usleep(20000);	/* several ticks of the coarse clock file times use */
	for (i = 0; i < 4; i++)
		__atomic_store_n((char *)self->h.base + off + i * self->ps, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, stat(path, &b));
	TH_LOG("mtime %ld.%09ld, then %ld.%09ld", (long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec,
	       (long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
	EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	EXPECT_EQ(a.st_ctim.tv_sec, b.st_ctim.tv_sec);
	EXPECT_EQ(a.st_ctim.tv_nsec, b.st_ctim.tv_nsec);
	EXPECT_EQ(0, mg_free(self->h.fd, off));
}

/* /sys/module/magalloc/refcnt, or -1 */
static long module_refs(void)
{
	FILE *f = fopen("/sys/module/magalloc/refcnt", "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * A mapping outlives close() with its data, and holds the module (its
 * fault handler) until munmap(): the mapping is of the shmem file, and
 * holds the /dev/magalloc file besides.
 */
TEST_F(shm, mapping_pins_module)
{
	long before, mapped, closed, unmapped;
	struct heap h2;
	__u64 off;

	before = module_refs();
	if (before < 0)
		SKIP(return, "no /sys/module/magalloc/refcnt");
	ASSERT_EQ(0, mg_open(&h2));
	ASSERT_EQ(0, mg_alloc(h2.fd, 64, &off));
	memcpy(h2.base + off, "kept", sizeof("kept"));
	mapped = module_refs();
	ASSERT_EQ(0, close(h2.fd));
	h2.fd = -1;
	closed = module_refs();
	EXPECT_STREQ("kept", h2.base + off);
	mg_close(&h2);
	unmapped = module_refs();
	TH_LOG("magalloc refcnt %ld, %ld with a heap, %ld closed but mapped, %ld unmapped",
	       before, mapped, closed, unmapped);
	/* an open file holds the module twice: its cdev and its fops */
	EXPECT_LT(before, mapped);
	EXPECT_EQ(mapped, closed);
	EXPECT_EQ(before, unmapped);
}

/*
 * Touched pages count in RssShmem and in the mapping's smaps Rss, and in
 * the heap's resident bytes; freed, they leave all three.
 */
TEST_F(shm, rss_follows_objects)
{
	const __u64 size = 2 << 20;
	struct magalloc_stats st;
	long before, touched, freed, rss;
	__u64 off;

	before = status_kb("RssShmem");
	if (before < 0)
		SKIP(return, "no RssShmem in /proc/self/status");
	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	/* allocated but untouched: no memory */
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.resident);
	memset(self->h.base + off, 0x5a, size);
	touched = status_kb("RssShmem");
	rss = smaps_kb(self->h.base + off, "Rss");
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	TH_LOG("RssShmem %ld kB, then %ld kB with %llu kB touched; smaps Rss %ld kB",
	       before, touched, size >> 10, rss);
	EXPECT_EQ(size, st.resident);
	EXPECT_LE(before + (long)(size >> 10) - RSS_SLACK_KB, touched);
	EXPECT_LE((long)(size >> 10), rss);
	EXPECT_LE((long)(size >> 10), smaps_kb(self->h.base + off, "Shared_Dirty") +
		  smaps_kb(self->h.base + off, "Private_Dirty"));

	ASSERT_EQ(0, mg_free(self->h.fd, off));
	freed = status_kb("RssShmem");
	TH_LOG("and %ld kB after the free", freed);
	EXPECT_GE(touched - (long)(size >> 10) + RSS_SLACK_KB, freed);
	EXPECT_EQ(0, smaps_kb(self->h.base + off, "Rss"));
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.resident);
}

/*
 * A freed span's pages are unmapped (SIGBUS) and its range, reused, reads
 * back zeroed: large objects and spans of small objects.
 */
TEST_F(shm, freed_span_reused_zeroed)
{
	const __u64 size = 1 << 20;
	unsigned int c = class_of(&self->h, 64), n = self->h.cls[c].objects, i;
	__u64 off, off2, *offs;
	__u32 done;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	memset(self->h.base + off, 0xa5, size);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
	EXPECT_EQ(SIGBUS, probe(self->h.base + off, false));
	EXPECT_EQ(SIGBUS, probe(self->h.base + off + size - 1, true));
	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off2));
	EXPECT_EQ(off, off2);
	EXPECT_EQ(-1, nonzero(self->h.base + off2, size));
	ASSERT_EQ(0, mg_free(self->h.fd, off2));

	/* a whole span of 64-byte objects, freed: the span goes */
	offs = calloc(n, sizeof(*offs));
	ASSERT_NE(NULL, offs);
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, self->h.cls[c].size,
			     offs, n, &done));
	ASSERT_EQ(n, done);
	for (i = 0; i < n; i++)
		fill(self->h.base, offs[i], self->h.cls[c].size, i);
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_FREE_BULK, 0, offs, n, &done));
	EXPECT_EQ(SIGBUS, probe(self->h.base + offs[0], false));
	ASSERT_EQ(0, mg_bulk(self->h.fd, MAGALLOC_IOC_ALLOC_BULK, self->h.cls[c].size,
			     offs, n, &done));
	ASSERT_EQ(n, done);
	for (i = 0; i < n; i++)
		EXPECT_EQ(-1, nonzero(self->h.base + offs[i], self->h.cls[c].size));
	free(offs);
}

/*
 * munmap() takes the pages out of the process's RSS; they stay in the heap
 * (resident) while the file is open, and a new mapping sees the data.
 */
TEST_F(shm, rss_gone_after_munmap)
{
	const __u64 size = 2 << 20;
	struct magalloc_stats st;
	long touched, unmapped, mapped;
	__u64 off;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	fill(self->h.base, off, size, 7);
	touched = status_kb("RssShmem");
	if (touched < 0)
		SKIP(return, "no RssShmem in /proc/self/status");
	ASSERT_EQ(0, munmap(self->h.base, self->h.q.heap_size));
	unmapped = status_kb("RssShmem");
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(size, st.resident);
	self->h.base = mg_map(self->h.fd, self->h.q.heap_size);
	ASSERT_NE(MAP_FAILED, self->h.base);
	mapped = status_kb("RssShmem");
	EXPECT_EQ(-1, check(self->h.base, off, size, 7));
	TH_LOG("RssShmem %ld kB touched, %ld kB unmapped, %ld kB mapped again, %ld kB read",
	       touched, unmapped, mapped, status_kb("RssShmem"));
	EXPECT_GE(touched - (long)(size >> 10) + RSS_SLACK_KB, unmapped);
	EXPECT_GE(unmapped + RSS_SLACK_KB, mapped);
}

/* vmsplice() takes references on the pages (get_user_pages). */
TEST_F(shm, vmsplice_from_object)
{
	const size_t size = 16 * self->ps;
	struct iovec iov;
	char *buf;
	int p[2];
	__u64 off;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	fill(self->h.base, off, size, 3);
	ASSERT_EQ(0, pipe(p));
	ASSERT_LE((int)size, fcntl(p[1], F_SETPIPE_SZ, (int)size));
	iov.iov_base = self->h.base + off;
	iov.iov_len = size;
	ASSERT_EQ((ssize_t)size, vmsplice(p[1], &iov, 1, 0))
		TH_LOG("vmsplice: %s", strerror(errno));
	buf = malloc(size);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)size, read(p[0], buf, size));
	EXPECT_EQ(0, memcmp(buf, self->h.base + off, size));
	free(buf);
	close(p[0]);
	close(p[1]);
}

/* /proc/<pid>/mem, as a debugger reads and writes: access_remote_vm(). */
TEST_F(shm, proc_mem_reads_object)
{
	const size_t size = 2 * self->ps;
	char *buf;
	__u64 off;
	int fd;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	fill(self->h.base, off, size, 5);
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	buf = malloc(size);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, (off_t)(uintptr_t)(self->h.base + off)))
		TH_LOG("read: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(buf, self->h.base + off, size));
	buf[0] ^= 0xff;
	ASSERT_EQ(1, pwrite(fd, buf, 1, (off_t)(uintptr_t)(self->h.base + off)));
	EXPECT_EQ(buf[0], self->h.base[off]);
	free(buf);
	close(fd);
}

/*
 * io_uring fixed buffers: a long-term pin (pin_user_pages(FOLL_LONGTERM)).
 * 6.1's io_uring refuses file-backed memory other than shmem's and
 * hugetlbfs's own mappings (EOPNOTSUPP): skipped there.
 */
TEST_F(shm, io_uring_fixed_buffer)
{
	const size_t size = 8 * self->ps;
	struct io_uring_params prm;
	struct iovec iov;
	__u64 off;
	int ring, ret;

	memset(&prm, 0, sizeof(prm));
	ring = syscall(__NR_io_uring_setup, 4, &prm);
	if (ring < 0)
		SKIP(return, "no io_uring (%s)", strerror(errno));
	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	memset(self->h.base + off, 1, size);
	iov.iov_base = self->h.base + off;
	iov.iov_len = size;
	ret = syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
	if (ret && errno == EOPNOTSUPP) {
		close(ring);
		SKIP(return, "io_uring takes no file-backed buffer here (%s)", strerror(errno));
	}
	EXPECT_EQ(0, ret) TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	if (!ret)
		EXPECT_EQ(0, syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS,
				     NULL, 0));
	close(ring);
}

/*
 * Frees race faults: a thread reads the range through /proc/self/mem (its
 * faults fail with an error, not SIGBUS, where no live span is) while
 * another allocates, checks, fills and frees the same large object over
 * and over.  A fault that got a page before the free must not leave it
 * mapped, or visible, in the next span: every new object reads zeroed.
 */
struct racer {
	char *addr;
	size_t len;
	int stop;
	long reads;
};

static void *reader(void *arg)
{
	struct racer *r = arg;
	char *buf = malloc(r->len);
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

	while (buf && fd >= 0 && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		if (pread(fd, buf, r->len, (off_t)(uintptr_t)r->addr) > 0)
			r->reads++;
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* 19.5 s alone on the KCSAN PREEMPT_RT kernel on a slow host: 300 s keeps a margin */
TEST_F_TIMEOUT(shm, free_races_faults, 300)
{
	const size_t size = 16 * self->ps;
	struct racer r = { .len = size };
	unsigned int i, dirty = 0;
	pthread_t t;
	__u64 off, first;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &first));
	ASSERT_EQ(0, mg_free(self->h.fd, first));
	r.addr = self->h.base + first;
	ASSERT_EQ(0, pthread_create(&t, NULL, reader, &r));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
		dirty += nonzero(self->h.base + off, size) >= 0;
		memset(self->h.base + off, 0xee, size);
		ASSERT_EQ(0, mg_free(self->h.fd, off));
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	TH_LOG("%u rounds, %ld reads of the range by the other thread", i, r.reads);
	EXPECT_EQ(0, dirty);
}

/*
 * mlock(): the mapping is VM_DONTEXPAND (mremap() may not grow it), which
 * mlock() counts as special: it faults the range in but locks nothing
 * (VmLck stays).  A range with pages no live span covers cannot be
 * faulted in, so mlock() of it fails (ENOMEM, as for any range it cannot
 * populate).
 */
TEST_F(shm, mlock_populates_only)
{
	const size_t size = 8 * self->ps;
	long lck, rss, lck2, rss2;
	__u64 off;

	ASSERT_EQ(0, mg_alloc(self->h.fd, size, &off));
	lck = status_kb("VmLck");
	rss = status_kb("RssShmem");
	ASSERT_EQ(0, mlock(self->h.base + off, size)) TH_LOG("mlock: %s", strerror(errno));
	lck2 = status_kb("VmLck");
	rss2 = status_kb("RssShmem");
	TH_LOG("VmLck %ld kB, then %ld kB; RssShmem %ld kB, then %ld kB", lck, lck2, rss, rss2);
	EXPECT_EQ(lck, lck2);
	EXPECT_LE(rss + (long)(size >> 10) - RSS_SLACK_KB, rss2);
	EXPECT_EQ(0, munlock(self->h.base + off, size));
	EXPECT_EQ(-1, mlock(self->h.base + off, size + self->ps));
	EXPECT_EQ(ENOMEM, errno);
	munlock(self->h.base + off, size + self->ps);
}

/* ---- shared heaps in practice ---- */

#define NR_PROCS	4	/* 2 producers, 2 consumers */
#define PER_PRODUCER	300
#define QLEN		16

/* In a heap object: the queue of object offsets, and its lock. */
struct shared {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	unsigned int head, tail, len;
	unsigned int produced, consumed;
	unsigned int bad;
	__u64 sum;
	__u64 q[QLEN];
};

/* An object passed by offset: who made it, its number, a pattern. */
struct msg {
	unsigned int producer, seq;
	unsigned char body[120];
};

static int producer(struct heap *h, struct shared *s, unsigned int id)
{
	struct msg *m;
	unsigned int i;
	__u64 off;

	for (i = 0; i < PER_PRODUCER; i++) {
		if (mg_alloc(h->fd, sizeof(*m), &off))
			return 2;
		m = (struct msg *)(h->base + off);
		m->producer = id;
		m->seq = i;
		memset(m->body, (id * 31 + i) & 0xff, sizeof(m->body));
		if (pthread_mutex_lock(&s->lock))
			return 3;
		while (s->len == QLEN)
			pthread_cond_wait(&s->nonfull, &s->lock);
		s->q[s->tail] = off;
		s->tail = (s->tail + 1) % QLEN;
		s->len++;
		s->produced++;
		pthread_cond_signal(&s->nonempty);
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

static int consumer(struct heap *h, struct shared *s)
{
	const unsigned int total = PER_PRODUCER * (NR_PROCS / 2);
	struct msg *m;
	unsigned int i;
	__u64 off;

	for (;;) {
		if (pthread_mutex_lock(&s->lock))
			return 3;
		while (!s->len && s->consumed < total)
			pthread_cond_wait(&s->nonempty, &s->lock);
		if (!s->len) {
			/* all consumed: wake the other consumer too */
			pthread_cond_broadcast(&s->nonempty);
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		off = s->q[s->head];
		s->head = (s->head + 1) % QLEN;
		s->len--;
		pthread_cond_signal(&s->nonfull);
		pthread_mutex_unlock(&s->lock);

		m = (struct msg *)(h->base + off);
		for (i = 0; i < sizeof(m->body); i++)
			if (m->body[i] != ((m->producer * 31 + m->seq) & 0xff))
				break;

		pthread_mutex_lock(&s->lock);
		s->bad += i < sizeof(m->body);
		s->sum += (__u64)m->producer * PER_PRODUCER + m->seq;
		s->consumed++;
		if (s->consumed == total)
			pthread_cond_broadcast(&s->nonempty);
		pthread_mutex_unlock(&s->lock);
		if (mg_free(h->fd, off))
			return 4;
	}
}

TEST_F_TIMEOUT(shm, processes_share_mutex_and_condvar, 120)
{
	const unsigned int total = PER_PRODUCER * (NR_PROCS / 2);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	struct magalloc_stats st;
	pid_t pid[NR_PROCS];
	struct shared *s;
	__u64 off, want = 0;
	int i, status;

	ASSERT_EQ(0, mg_alloc(self->h.fd, sizeof(*s), &off));
	s = (struct shared *)(self->h.base + off);
	ASSERT_EQ(0, pthread_mutexattr_init(&ma));
	ASSERT_EQ(0, pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED));
	ASSERT_EQ(0, pthread_mutex_init(&s->lock, &ma));
	ASSERT_EQ(0, pthread_condattr_init(&ca));
	ASSERT_EQ(0, pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED));
	ASSERT_EQ(0, pthread_cond_init(&s->nonempty, &ca));
	ASSERT_EQ(0, pthread_cond_init(&s->nonfull, &ca));

	for (i = 0; i < NR_PROCS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			/* a lost wakeup or a futex that fails ends here */
			alarm(100);
			_exit(i % 2 ? consumer(&self->h, s) : producer(&self->h, s, i / 2));
		}
	}
	for (i = 0; i < NR_PROCS; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("process %d: %s %d", i, WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	for (i = 0; i < NR_PROCS / 2; i++)
		want += (__u64)i * PER_PRODUCER * PER_PRODUCER +
			(__u64)PER_PRODUCER * (PER_PRODUCER - 1) / 2;
	TH_LOG("%u objects passed, %u consumed, %u bad", s->produced, s->consumed, s->bad);
	EXPECT_EQ(total, s->produced);
	EXPECT_EQ(total, s->consumed);
	EXPECT_EQ(0, s->bad);
	EXPECT_EQ(want, s->sum);
	EXPECT_EQ(0, s->len);
	/* every object passed was freed: only the shared one is left */
	ASSERT_EQ(0, mg_stats(self->h.fd, &st));
	EXPECT_EQ(1, st.live_objects);
	pthread_cond_destroy(&s->nonempty);
	pthread_cond_destroy(&s->nonfull);
	pthread_mutex_destroy(&s->lock);
	ASSERT_EQ(0, mg_free(self->h.fd, off));
}

TEST_HARNESS_MAIN
