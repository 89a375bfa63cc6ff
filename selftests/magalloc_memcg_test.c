// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests: a heap's pages are charged to the memory cgroup of the
 * process that opened it, whoever touches them, and the charge goes away
 * when the heap does.  Needs cgroup2 with the memory controller; skips
 * otherwise.
 */
#include <sys/klog.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_TEST		CG_ROOT "/magalloc_memcg"
#define OBJ_SIZE	(2UL << 20)
#define NR_OBJS		4
/* memcg charges in per-CPU batches: ask for half of what is touched */
#define MIN_CHARGE	(NR_OBJS * OBJ_SIZE / 2)

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long long read_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

static int join(const char *cgroup)
{
	char path[128], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_str(path, pid);
}

/* cgroup2 mounted, memory enabled for children, CG_TEST made: or false. */
static bool setup_cgroup(void)
{
	struct stat st;

	if (stat(CG_ROOT "/cgroup.controllers", &st)) {
		mkdir(CG_ROOT, 0755);
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
			return false;
	}
	if (write_str(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return false;
	if (mkdir(CG_TEST, 0755) && errno != EEXIST)
		return false;
	return !stat(CG_TEST "/memory.current", &st);
}

/*
 * In the test cgroup, open a heap and allocate a large object; a child
 * moved back to the root cgroup touches every page of it.  Returns, as the
 * exit status: 0 on success, 1 to 5 for the failed step.
 */
static int opener(void)
{
	long long before, touched, closed;
	__u64 off[NR_OBJS];
	struct heap h;
	pid_t pid;
	int st, i;

	if (join(CG_TEST))
		return 1;
	if (mg_open(&h))
		return 2;
	for (i = 0; i < NR_OBJS; i++)
		if (mg_alloc(h.fd, OBJ_SIZE, &off[i]))
			return 2;
	before = read_ll(CG_TEST "/memory.current");
	pid = fork();
	if (!pid) {
		if (join(CG_ROOT))
			_exit(1);
		for (i = 0; i < NR_OBJS; i++)
			memset(h.base + off[i], 0x5a, OBJ_SIZE);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 3;
	touched = read_ll(CG_TEST "/memory.current");
	printf("# memory.current of the heap's cgroup: %lld, then %lld after a task\n"
	       "# of another cgroup touched %lu bytes\n", before, touched, NR_OBJS * OBJ_SIZE);
	if (touched - before < (long long)MIN_CHARGE)
		return 4;
	mg_close(&h);
	closed = read_ll(CG_TEST "/memory.current");
	printf("# and %lld after close\n", closed);
	if (touched - closed < (long long)MIN_CHARGE)
		return 5;
	return 0;
}

/*
 * The opener's cgroup at its memory.max: a task of another cgroup that
 * touches the heap's pages gets SIGBUS (once VM_FAULT_OOM made it retry
 * the fault for ever), and nobody is OOM-killed.  Exit status: 0, or the
 * failed step.
 */
static int opener_at_limit(void)
{
	long long now;
	__u64 off[4], i, done = 0;
	struct heap h;
	char max[32];
	pid_t pid;
	int st, k;

	if (join(CG_TEST))
		return 1;
	if (mg_open(&h))
		return 2;
	/* 16 MiB, none of it touched: the limit is 1 MiB above now */
	for (k = 0; k < 4; k++)
		if (mg_alloc(h.fd, 4UL << 20, &off[k]))
			return 3;
	now = read_ll(CG_TEST "/memory.current");
	snprintf(max, sizeof(max), "%lld", now + (1LL << 20));
	if (write_str(CG_TEST "/memory.max", max))
		return 4;
	pid = fork();
	if (!pid) {
		if (join(CG_ROOT))
			_exit(1);
		/* a fault retried for ever would end here, as a failure */
		alarm(20);
		for (k = 0; k < 4; k++)
			for (i = 0; i < 4UL << 20; i += h.q.page_size, done += h.q.page_size)
				if (probe(h.base + off[k] + i, true) == SIGBUS)
					_exit(done >= (512UL << 10) ? 0 : 2);
		_exit(3);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 5;
	printf("# a task of another cgroup touching 16 MiB with 1 MiB left: %s %d\n",
	       WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	write_str(CG_TEST "/memory.max", "max");
	mg_close(&h);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 6;
}

/* @child() in a child process, which joins CG_TEST; its exit status: 0. */
static void in_test_cgroup(struct __test_metadata *_metadata, int (*child)(void))
{
	pid_t pid;
	int st;

	if (!setup_cgroup())
		SKIP(return, "no cgroup2 memory controller");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child());
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	rmdir(CG_TEST);
}

TEST(sigbus_at_opener_limit)
{
	in_test_cgroup(_metadata, opener_at_limit);
}

TEST(pages_charged_to_opener_cgroup)
{
	in_test_cgroup(_metadata, opener);
}

/*
 * A heap's page map and bitmaps (about 9.4 KiB per 4 MiB it has grown
 * to) come with its allocations, not at open(), and are charged to the
 * opener's cgroup even when a task of another cgroup allocates.  Each
 * heap here grows to 32 MiB (8 large objects of 4 MiB, never touched):
 * about 75 KiB.  memcg charges in per-CPU batches (256 KiB): the bounds
 * leave room for them.
 */
#define NR_HEAPS	32
#define OPEN_MAX_KIB	48	/* per open that never allocates */
#define META_OBJS	8	/* of 4 MiB per heap */
#define META_MIN_KIB	48	/* per heap grown to 32 MiB */

/* Exit status: 0 on success, 1 to 5 for the failed step. */
static int opener_meta(void)
{
	long long start, opened, allocated;
	int fd[NR_HEAPS], st, i;
	__u64 off;
	pid_t pid;

	if (join(CG_TEST))
		return 1;
	start = read_ll(CG_TEST "/memory.current");
	for (i = 0; i < NR_HEAPS; i++) {
		fd[i] = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd[i] < 0)
			return 2;
	}
	opened = read_ll(CG_TEST "/memory.current");
	pid = fork();
	if (!pid) {
		if (join(CG_ROOT))
			_exit(1);
		for (i = 0; i < NR_HEAPS * META_OBJS; i++)
			if (mg_alloc(fd[i / META_OBJS], 4UL << 20, &off))
				_exit(2);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 3;
	allocated = read_ll(CG_TEST "/memory.current");
	printf("# memory.current: %lld, %lld after %d open()s, %lld after each grew to %d MiB\n",
	       start, opened, NR_HEAPS, allocated, META_OBJS * 4);
	if (opened - start > NR_HEAPS * OPEN_MAX_KIB * 1024LL)
		return 4;
	if (allocated - opened < NR_HEAPS * META_MIN_KIB * 1024LL)
		return 5;
	return 0;
}

TEST(open_metadata_lazy_and_charged)
{
	in_test_cgroup(_metadata, opener_meta);
}

/*
 * The opener's cgroup at its memory.max: the metadata of the heap's next
 * chunk cannot be had.  A task of the root cgroup allocates (so that only
 * the metadata, charged to the opener's cgroup, meets the limit): the
 * allocation that needs a new chunk fails with ENOMEM, leaving the heap
 * as it was (its charge, grown part and metadata; every object live),
 * what fits in it is still served, a bulk allocation stops part way with
 * done right; once the limit is lifted the heap grows again, to its cap.
 * Closing gives the metadata back.
 */
#define GROW_CAP	(1024ULL * 1024 * 1024)
#define GROW_ROOM	(256LL << 10)	/* memory.max above memory.current */
#define NR_GROW		(GROW_CAP >> 22)

/*
 * memory.current of @cg once it stops moving (10 ms apart, 2 s at most):
 * what a refused charge's drain of the cgroup's per-CPU charge stocks,
 * run on the other CPUs by a work item, gives back has come back.
 */
static long long settled_current(const char *cg)
{
	char path[128];
	long long prev, now;
	int i;

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	now = read_ll(path);
	for (i = 0; i < 200; i++) {
		usleep(10000);
		prev = now;
		now = read_ll(path);
		if (now == prev)
			break;
	}
	return now;
}

/* The root cgroup's task: exit status 0, or the failed step (10 on). */
static int grow_at_limit(struct heap *h, __u64 cap)
{
	static __u64 offs[NR_GROW + 1], bulk[MAGALLOC_MAX_BULK];
	__u64 chunk = 4ULL << 20, off, big = h->q.max_small_size;
	long long meta, grown, now;
	struct magalloc_stats st;
	unsigned int n = 0, i;
	char max[32];
	__u32 done;
	int ret;

	if (join(CG_ROOT))
		return 10;
	now = read_ll(CG_TEST "/memory.current");
	snprintf(max, sizeof(max), "%lld", now + GROW_ROOM);
	if (write_str(CG_TEST "/memory.max", max))
		return 11;
	for (;;) {
		meta = heap_field(cap, "metadata");
		grown = heap_field(cap, "grown");
		ret = mg_alloc(h->fd, chunk, &offs[n]);
		if (ret)
			break;
		if (++n >= NR_GROW)
			return 12;
	}
	printf("# %u objects of 4 MiB, then %d with %lld bytes of metadata, %lld grown\n",
	       n, ret, meta, grown);
	/* refused for the metadata, not the cap; nothing changed */
	if (ret != -ENOMEM || !n || mg_stats(h->fd, &st) || st.charged != n * chunk ||
	    st.live_objects != n || st.failed_allocs != 1)
		return 13;
	if (heap_field(cap, "metadata") != meta || heap_field(cap, "grown") != grown ||
	    grown != (long long)(n * chunk))
		return 14;
	/* a freed object's block serves again without growing */
	if (mg_free(h->fd, offs[n - 1]) || mg_alloc(h->fd, chunk, &offs[n - 1]))
		return 15;
	/* bulk: what the freed block holds, then the growth fails */
	if (mg_free(h->fd, offs[n - 1]))
		return 16;
	/*
	 * The limit again, at what is charged now: the objects of the block
	 * freed above charge nothing to this cgroup (span descriptors go to
	 * the allocating task's), while the next chunk needs the map doubled,
	 * about 300 KiB more.  With the room left from the first limit
	 * (GROW_ROOM above memory.current at the start) the growth went
	 * through in two boots of stop 27 (k61, then k612: the bulk got all it
	 * asked for), and again with the limit set afresh 128 KiB above a
	 * settled memory.current; where that room came from is not known.
	 * On failure the cgroup's figures are printed.
	 */
	now = settled_current(CG_TEST);
	snprintf(max, sizeof(max), "%lld", now);
	if (write_str(CG_TEST "/memory.max", max))
		return 25;
	done = ~0u;
	ret = mg_bulk(h->fd, MAGALLOC_IOC_ALLOC_BULK, big, bulk, MAGALLOC_MAX_BULK, &done);
	printf("# bulk of %u objects of %llu bytes: %d, done %u\n", MAGALLOC_MAX_BULK,
	       (unsigned long long)big, ret, done);
	if (ret || !done || done >= MAGALLOC_MAX_BULK || done * big > chunk ||
	    mg_stats(h->fd, &st) || st.live_objects != n - 1 + done) {
		printf("# memory.current %lld (limit %lld), metadata %lld, grown %lld\n",
		       read_ll(CG_TEST "/memory.current"), now,
		       heap_field(cap, "metadata"), heap_field(cap, "grown"));
		return 17;
	}
	for (i = 0; i < done; i++)
		if (bulk[i] < offs[n - 1] || bulk[i] >= offs[n - 1] + chunk)
			return 18;
	if (mg_bulk(h->fd, MAGALLOC_IOC_FREE_BULK, 0, bulk, done, &i) || i != done)
		return 19;
	if (heap_field(cap, "metadata") != meta || heap_field(cap, "grown") != grown)
		return 20;
	/* the limit lifted: it grows again, to the cap and not past it */
	if (write_str(CG_TEST "/memory.max", "max"))
		return 21;
	n--;
	while (!(ret = mg_alloc(h->fd, chunk, &offs[n])))
		if (++n > NR_GROW)
			return 22;
	if (ret != -ENOMEM || n != NR_GROW || mg_stats(h->fd, &st) || st.charged != GROW_CAP ||
	    mg_alloc(h->fd, h->q.page_size, &off) != -ENOMEM)
		return 23;
	printf("# limit lifted: %u objects of 4 MiB, %lld bytes of metadata\n",
	       n, heap_field(cap, "metadata"));
	for (i = 0; i < n; i++)
		if (mg_free(h->fd, offs[i]))
			return 24;
	return 0;
}

/* The opener, in CG_TEST: exit status 0, or the failed step. */
static int opener_meta_enomem(void)
{
	long long start, closed;
	__u64 cap = GROW_CAP;
	struct heap h;
	pid_t pid;
	int st;

	if (join(CG_TEST))
		return 1;
	start = read_ll(CG_TEST "/memory.current");
	if (mg_open(&h))
		return 2;
	if (mg_set_cap(h.fd, cap))
		return 3;
	if (heap_field(cap, "metadata") < 0)
		return 4;	/* no debugfs heaps file */
	pid = fork();
	if (!pid)
		_exit(grow_at_limit(&h, cap));
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 5;
	write_str(CG_TEST "/memory.max", "max");
	if (WEXITSTATUS(st))
		return WEXITSTATUS(st);
	mg_close(&h);
	closed = read_ll(CG_TEST "/memory.current");
	printf("# memory.current: %lld at open, %lld after close\n", start, closed);
	/* the metadata of 1 GiB (about 2.4 MiB) went */
	if (closed - start > (1LL << 20))
		return 6;
	return 0;
}

TEST(metadata_enomem_at_opener_limit)
{
	in_test_cgroup(_metadata, opener_meta_enomem);
}

/*
 * __GFP_ACCOUNT: in-kernel objects allocated with GFP_KERNEL_ACCOUNT on
 * behalf of a task (through debugfs "account", which allocates with
 * mag_alloc() and holds the objects until close) are charged to its
 * cgroup, memory.max refuses them, and the charge goes when they do.
 */
#define CG_ACCT		CG_ROOT "/magalloc_account"
#define TRIM_MS		200
#define ACCT_HELD	(4LL << 20)
#define ACCT_ROOM	(8LL << 20)
/*
 * Objects of 4 KiB, a size class: the same paths as 1 KiB ones with a
 * quarter of the calls (14000 1 KiB frees were 18 s of the KASAN boot).
 */
#define ACCT_OBJ	4096LL

static long long held_objects(int fd)
{
	char buf[32] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return atoll(buf);
}

/*
 * In CG_ACCT, with mag_alloc() or, @kind " cache", a typed cache; the exit
 * status: 0, 10 to skip, or the failed step.
 */
/* Milliseconds since @t0, and @t0 moved to now. */
static long lap(struct timespec *t0)
{
	struct timespec t;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ms = (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
	*t0 = t;
	return ms;
}

static int accounted(const char *kind)
{
	long long base, held, full, limit, objs, now;
	struct timespec t0;
	char cmd[64];
	int fd, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (join(CG_ACCT))
		return 1;
	fd = open(ACCT_FILE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 10;
	base = read_ll(CG_ACCT "/memory.current");
	snprintf(cmd, sizeof(cmd), "%lld %lld%s", ACCT_OBJ, ACCT_HELD / ACCT_OBJ, kind);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return 2;
	held = read_ll(CG_ACCT "/memory.current");
	printf("# memory.current %lld, then %lld holding %lld bytes of 4 KiB objects (%ld ms)\n",
	       base, held, ACCT_HELD, lap(&t0));
	if (held - base < (long long)ACCT_HELD)
		return 3;

	/* A limit ACCT_ROOM above: twice as much more must fail. */
	limit = held + ACCT_ROOM;
	snprintf(cmd, sizeof(cmd), "%lld", limit);
	if (write_str(CG_ACCT "/memory.max", cmd))
		return 4;
	snprintf(cmd, sizeof(cmd), "%lld %lld%s", ACCT_OBJ, 2 * ACCT_ROOM / ACCT_OBJ, kind);
	errno = 0;
	if (write(fd, cmd, strlen(cmd)) >= 0 || errno != ENOMEM)
		return 5;
	objs = held_objects(fd) - ACCT_HELD / ACCT_OBJ;
	full = read_ll(CG_ACCT "/memory.current");
	printf("# with memory.max %lld: refused after %lld more 4 KiB objects,\n"
	       "# memory.current %lld (%ld ms)\n", limit, objs, full, lap(&t0));
	/*
	 * Refused near the limit: everything held fits under it, and at most
	 * two arenas' worth (2 MiB each) of room was left unused.
	 */
	if (objs <= 0 || (long long)ACCT_HELD + objs * ACCT_OBJ > limit - base ||
	    objs * ACCT_OBJ < (long long)ACCT_ROOM - (4LL << 20) || full > limit)
		return 6;

	/* Freed: the trim gives the cgroup's arenas back within a period. */
	close(fd);
	printf("# closed (%ld ms)\n", lap(&t0));
	for (i = 0; i < 100; i++) {
		now = read_ll(CG_ACCT "/memory.current");
		if (now < base + (2LL << 20))
			break;
		usleep(100000);
	}
	printf("# after close: memory.current %lld (%d ms)\n", now, i * 100);
	return now < base + (2LL << 20) ? 0 : 7;
}

/*
 * Rows of the memory cgroups' table at the end of debugfs "stats" (one
 * per cgroup set), or -1 if there is no such table.
 */
static int memcg_sets(void)
{
	FILE *f = fopen("/sys/kernel/debug/magalloc/stats", "re");
	char line[256];
	int rows = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "memcg ", 6))
			rows = 0;
		else if (rows >= 0 && line[0] >= '0' && line[0] <= '9')
			rows++;
	}
	fclose(f);
	return rows;
}

/*
 * In a child, in a cgroup of its own, @child(@kind) (its exit status: 0
 * passes); then the cgroup goes, and the trim frees its set (and its
 * reference to the cgroup) once the cgroup is offline and its objects are
 * gone.
 */
static void in_own_cgroup(struct __test_metadata *_metadata, int (*child)(const char *),
			  const char *kind)
{
	long long trim;
	int i, sets;
	pid_t pid;
	int st;

	if (!setup_cgroup())
		SKIP(return, "no cgroup2 memory controller");
	if (mkdir(CG_ACCT, 0755) && errno != EEXIST)
		SKIP(return, "cannot make %s", CG_ACCT);
	if (access(ACCT_FILE, W_OK))
		SKIP(return, "no %s (debugfs)", ACCT_FILE);
	/*
	 * What is freed goes back within a trim period or two: a short
	 * period makes the waits below short (4 s of each test at 2 s).
	 */
	trim = param_swap("trim_interval_ms", TRIM_MS);
	ASSERT_LT(0, trim);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child(kind));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_LT(0, memcg_sets());
	ASSERT_EQ(0, rmdir(CG_ACCT));
	for (i = 0; i < 100 && (sets = memcg_sets()) > 0; i++)
		usleep(100000);
	printf("# %d cgroup sets left %d ms after the cgroup was removed\n", sets, i * 100);
	EXPECT_EQ(TRIM_MS, param_swap("trim_interval_ms", trim));
	EXPECT_EQ(0, sets);
}

/*
 * The accounted tests in a fixture of their own for a longer bound than
 * the harness's 30 s: cache_objects_charged_and_limited, which takes
 * about 4 s, twice ran past 30 s in a full make check (the kunit boot
 * beside another guest), stopped after its refusal; the laps it prints
 * say where the time goes.
 */
FIXTURE(acct) {
};

FIXTURE_SETUP(acct)
{
}

FIXTURE_TEARDOWN(acct)
{
}

TEST_F_TIMEOUT(acct, kernel_objects_charged_and_limited, 120)
{
	in_own_cgroup(_metadata, accounted, "");
}

TEST_F_TIMEOUT(acct, cache_objects_charged_and_limited, 120)
{
	in_own_cgroup(_metadata, accounted, " cache");
}

/*
 * A typed cache destroyed while a cgroup holds charged objects of it: the
 * destruction reports them, the objects stay good and charged, and freeing
 * them later gives the charge back; then the cgroup and its set go.
 */
static int destroy_with_objects(const char *kind)
{
	long long base, held, now;
	char log[1 << 16], cmd[32];
	int fd, n, i;

	if (join(CG_ACCT))
		return 1;
	fd = open(ACCT_FILE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 10;
	base = read_ll(CG_ACCT "/memory.current");
	snprintf(cmd, sizeof(cmd), "1024 1024%s", kind);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return 2;
	if (write(fd, "destroy", 7) != 7)
		return 3;
	held = read_ll(CG_ACCT "/memory.current");
	n = klogctl(3, log, sizeof(log) - 1);	/* SYSLOG_ACTION_READ_ALL */
	log[n > 0 ? n : 0] = 0;
	printf("# memory.current %lld, then %lld after the cache went with 1 MiB held\n",
	       base, held);
	if (held - base < (1LL << 20))
		return 4;
	if (!strstr(log, "cache magalloc-account destroyed with 1024 objects charged"))
		return 5;
	close(fd);
	for (i = 0; i < 100; i++) {
		now = read_ll(CG_ACCT "/memory.current");
		if (now < base + (1LL << 20))
			break;
		usleep(100000);
	}
	printf("# after close: memory.current %lld (%d ms)\n", now, i * 100);
	return now < base + (1LL << 20) ? 0 : 6;
}

TEST_F_TIMEOUT(acct, cache_destroyed_with_charged_objects, 120)
{
	in_own_cgroup(_metadata, destroy_with_objects, " cache");
}

TEST_HARNESS_MAIN
