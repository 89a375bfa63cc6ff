// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc's counters outside debugfs: a directory per pool under
 * /sys/kernel/magalloc and /proc/magalloc/slabinfo in /proc/slabinfo's
 * format.  Objects allocated in the kernel through debugfs "account"
 * (GFP_KERNEL_ACCOUNT from the root cgroup: the ordinary pools) must show
 * in both, and a typed cache's directory must come and go with it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

#define SLABINFO	"/proc/magalloc/slabinfo"
/* Well above what the CPUs may park (PARKED), so the counts must move. */
#define NOBJS		6000

/* A slabinfo row: the 16 fields of version 2.1, or -1 if @name has none. */
struct row {
	char name[64];
	unsigned long active, num, objsize, perslab, pages;
	unsigned long limit, batch, shared, aslabs, nslabs, avail;
};

static int slabinfo_row(const char *name, struct row *r)
{
	char line[512], c1[16], t[16], c2[16], sd[16];
	int found = -1, n;
	FILE *f = fopen(SLABINFO, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		n = sscanf(line,
			   "%63s %lu %lu %lu %lu %lu %15s %15s %lu %lu %lu %15s %15s %lu %lu %lu",
			   r->name, &r->active, &r->num, &r->objsize, &r->perslab, &r->pages,
			   c1, t, &r->limit, &r->batch, &r->shared, c2, sd, &r->aslabs,
			   &r->nslabs, &r->avail);
		if (n == 16 && !strcmp(r->name, name) && !strcmp(c1, ":") &&
		    !strcmp(t, "tunables") && !strcmp(c2, ":") && !strcmp(sd, "slabdata")) {
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/* nr_node_ids: the highest possible node + 1 (a CPU has magazines for each). */
static long long nr_node_ids(void)
{
	FILE *f = fopen("/sys/devices/system/node/possible", "re");
	char buf[128] = "0", *p;

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "0");
		fclose(f);
	}
	p = strrchr(buf, '-');
	if (!p || strrchr(buf, ',') > p)
		p = strrchr(buf, ',');
	return atoll(p ? p + 1 : buf) + 1;
}

FIXTURE(sysfs) {
};

FIXTURE_SETUP(sysfs)
{
	if (access(DEV_PATH, F_OK))
		SKIP(return, "no %s (module not loaded?)", DEV_PATH);
	ASSERT_EQ(0, access(SYS_DIR, F_OK)) TH_LOG("magalloc is loaded, %s missing", SYS_DIR);
}

FIXTURE_TEARDOWN(sysfs)
{
}

/* Every generic class has a directory whose geometry adds up. */
TEST_F(sysfs, generic_pools_listed)
{
	static const int sizes[] = { 8, 64, 1024, 4096, 32768 };
	char dir[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		long long per, pages;

		snprintf(dir, sizeof(dir), "mag-%d", sizes[i]);
		EXPECT_EQ(sizes[i], attr(dir, "object_size")) TH_LOG("%s", dir);
		EXPECT_EQ(sizes[i], attr(dir, "size"));
		per = attr(dir, "objs_per_span");
		pages = attr(dir, "pages_per_span");
		EXPECT_LT(0, per);
		EXPECT_LT(0, pages);
		EXPECT_GE(pages * getpagesize(), per * sizes[i]);
		EXPECT_LT(0, attr(dir, "magazine_size"));
		EXPECT_EQ(0, attr(dir, "debug"));
		EXPECT_LE(attr(dir, "partial"), attr(dir, "spans"));
		EXPECT_LE(attr(dir, "objects"), attr(dir, "total_objects"));
		/* (debug spans, from the debug stress, hold fewer or more) */
		EXPECT_EQ(attr(dir, "total_objects") > 0, attr(dir, "spans") > 0);
	}
}

/* slabinfo's header, and a row per pool agreeing with its directory. */
TEST_F(sysfs, slabinfo_format)
{
	char line[512];
	struct row r;
	FILE *f = fopen(SLABINFO, "re");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_STREQ("slabinfo - version: 2.1\n", line);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "# name            <active_objs> <num_objs> <objsize>", 51));
	fclose(f);

	ASSERT_EQ(0, slabinfo_row("mag-64", &r));
	EXPECT_EQ(64, r.objsize);
	EXPECT_EQ(attr("mag-64", "objs_per_span"), r.perslab);
	EXPECT_EQ(attr("mag-64", "pages_per_span"), r.pages);
	EXPECT_EQ(attr("mag-64", "magazine_size"), r.limit);
	EXPECT_LE(r.active, r.num);
	EXPECT_EQ(r.num > 0, r.nslabs > 0);
	EXPECT_EQ(r.aslabs, r.nslabs);
}

/*
 * Objects allocated in the kernel show in mag-1024's "objects", its node
 * breakdown and its slabinfo row; a typed cache's directory appears with
 * the cache and goes with it.
 */
TEST_F(sysfs, objects_follow_allocations)
{
	long long before, during, total, nodes = 0;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	char line[512], cmd[32], *p;
	struct row r;
	DIR *d;
	struct dirent *e;
	int fd, found = 0;

	fd = open(ACCT_FILE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no %s (debugfs)", ACCT_FILE);
	before = attr("mag-1024", "objects");
	snprintf(cmd, sizeof(cmd), "1024 %d", NOBJS);
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	during = attr("mag-1024", "objects");
	EXPECT_LE(before + NOBJS - PARKED(cpus), during)
		TH_LOG("before %lld, with %d more %lld", before, NOBJS, during);
	attr_line("mag-1024", "objects", line, sizeof(line));
	total = atoll(line);
	for (p = strstr(line, " N"); p; p = strstr(p + 1, " N"))
		nodes += atoll(strchr(p, '=') + 1);
	EXPECT_EQ(total, nodes) TH_LOG("objects: %s", line);
	ASSERT_EQ(0, slabinfo_row("mag-1024", &r));
	EXPECT_LE(before + NOBJS - PARKED(cpus), (long long)r.active);

	ASSERT_EQ(13, write(fd, "1024 16 cache", 13));
	d = opendir(SYS_DIR);
	ASSERT_NE(NULL, d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "magalloc-account", 16)) {
			found = 1;
			EXPECT_LE(16, attr(e->d_name, "objects"));
			EXPECT_EQ(1024, attr(e->d_name, "object_size"));
			snprintf(line, sizeof(line), "%s", e->d_name);
		}
	closedir(d);
	EXPECT_EQ(1, found);
	close(fd);
	if (found)
		EXPECT_EQ(-1, attr(line, "objects")) TH_LOG("%s stayed after the cache went", line);
}

/*
 * Objects freed on one CPU park in that CPU's magazines: cpu_objects names
 * that CPU with at most two magazines' worth (loaded and previous), and
 * its sum is the sum of its CPUs.
 */
TEST_F(sysfs, cpu_objects_name_the_freeing_cpu)
{
	long long sum, cpus_sum = 0, here = 0, mag, trim, nodes;
	char line[512], cmd[32], *p;
	cpu_set_t set, old;
	int fd, cpu;

	fd = open(ACCT_FILE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no %s (debugfs)", ACCT_FILE);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	/*
	 * No periodic trim from here to the reading: a second trim with no
	 * slow path between would drain this CPU, and a guest its host
	 * starves can take seconds between two syscalls.  A pass already
	 * running may still visit, but the frees below take slow paths: it
	 * cannot drain what they leave.
	 */
	trim = param_swap("trim_interval_ms", 0);
	ASSERT_LE(0, trim);
	/* allocated and freed (at close) here, more than magazines hold */
	snprintf(cmd, sizeof(cmd), "1024 %d", 4096);
	EXPECT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	close(fd);
	attr_line("mag-1024", "cpu_objects", line, sizeof(line));
	EXPECT_EQ(0, param_swap("trim_interval_ms", trim));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(old), &old));
	mag = attr("mag-1024", "magazine_size");
	nodes = nr_node_ids();
	sum = atoll(line);
	for (p = strstr(line, " C"); p; p = strstr(p + 1, " C")) {
		long long n = atoll(strchr(p, '=') + 1);

		cpus_sum += n;
		if (atoi(p + 2) == cpu)
			here = n;
	}
	EXPECT_EQ(sum, cpus_sum) TH_LOG("cpu_objects: %s", line);
	EXPECT_LE(1, here) TH_LOG("CPU %d freed 4096, cpu_objects: %s", cpu, line);
	/*
	 * Two magazines per node: under KASAN the frees push out of the
	 * quarantine the objects freed before them, which may be another
	 * node's (the test before this one's, freed on another CPU).
	 */
	EXPECT_LE(here, 2 * mag * nodes)
		TH_LOG("magazine_size %lld, %lld nodes, cpu_objects: %s", mag, nodes, line);
}

TEST_HARNESS_MAIN
