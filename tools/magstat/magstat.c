// SPDX-License-Identifier: GPL-2.0
/*
 * magstat: slabtop-like view of magalloc.
 *
 * Reads /sys/kernel/debug/magalloc/stats (mod/main.c, mag_stats_show():
 * "key value" lines, then whitespace-separated tables, each introduced by
 * a header line of column names) and /sys/kernel/debug/magalloc/heaps
 * (mod/uheap.c, mag_uheaps_show(): "heap N key value ..." lines, each
 * followed by "  class C key value ..." lines).  Both are parsed by name,
 * not by position, so that added fields or columns do not break it.
 *
 * Span sizes come from the class table of MAGALLOC_IOC_QUERY (a heap is
 * opened for that and closed before anything is read); without the
 * device, kernel pools' span sizes are derived from their object counts
 * and heaps' byte columns are left out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/magalloc.h>

#define DEBUGFS		"/sys/kernel/debug/magalloc"
#define MAX_TOKENS	64
#define MAX_CLASSES	256
#define MAX_POOLS	512

static const char usage[] =
"usage: magstat [-1] [-i SECONDS [-c COUNT]] [-k] [-u]\n"
"\n"
"Shows magalloc's kernel pools (from " DEBUGFS "/stats) and every open\n"
"/dev/magalloc heap (from " DEBUGFS "/heaps), slabtop-like.  Needs debugfs\n"
"(root).\n"
"\n"
"  -1            one snapshot (the default)\n"
"  -i SECONDS    a snapshot every SECONDS seconds, until interrupted\n"
"  -c COUNT      with -i: stop after COUNT snapshots\n"
"  -k            kernel pools only\n"
"  -u            userspace heaps only\n"
"  -h            this text\n"
"\n"
"Columns: OBJECTS are objects allocated from the kernel, including those\n"
"cached in per-CPU magazines (kernel pools) or in libmagalloc's per-thread\n"
"magazines (heaps); BYTES are the bytes of the spans that hold them;\n"
"WASTE = 1 - OBJECTS * SIZE / BYTES; HIT is the share of kernel\n"
"allocations the per-CPU magazines served without a slow path.  The\n"
"parked table shows, per CPU holding any, what its magazines hold\n"
"(BYTES; GENERIC is the part the per-CPU budget bounds) and what its\n"
"generic pools' magazine limits reserve of that budget.  The\n"
"kernel cannot see libmagalloc's per-thread magazines: the library's hit\n"
"rate is printed by the programs that use it (see tools/magdemo, or\n"
"mag_lib_stats() in lib/magalloc.h).\n";

/* The class table, from QUERY, or empty. */
static struct magalloc_class classes[MAX_CLASSES];
static unsigned int nr_classes;
static unsigned long page_size = 4096;

struct pool {
	char name[64];
	unsigned long long size, spans, live, free, depot_full, depot_empty, misses, slow;
	unsigned int nodes;
};

static void query_classes(void)
{
	struct magalloc_query q;
	int fd = open("/dev/magalloc", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	memset(&q, 0, sizeof(q));
	q.classes_len = MAX_CLASSES;
	q.classes = (uintptr_t)classes;
	if (!ioctl(fd, MAGALLOC_IOC_QUERY, &q)) {
		nr_classes = q.nr_classes < MAX_CLASSES ? q.nr_classes : MAX_CLASSES;
		page_size = q.page_size;
	}
	close(fd);
}

static const struct magalloc_class *class_by_size(unsigned long long size)
{
	unsigned int i;

	for (i = 0; i < nr_classes; i++)
		if (classes[i].size == size)
			return &classes[i];
	return NULL;
}

/* Span bytes of a class: from QUERY, else the smallest that fits @per. */
static unsigned long long span_bytes(unsigned long long size, unsigned long long per)
{
	const struct magalloc_class *c = class_by_size(size);
	unsigned long long bytes;

	if (c)
		return c->span_bytes;
	if (!per || !size)
		return 0;
	for (bytes = page_size; bytes <= (page_size << 10); bytes <<= 1)
		if (bytes / size == per)
			return bytes;
	return 0;
}

static int split(char *line, char **tok)
{
	int n = 0;
	char *save, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < MAX_TOKENS;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

static bool is_number(const char *s)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	strtoll(s, &end, 10);
	return !*end && !errno;
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* Human-readable bytes, into one of four rotating buffers. */
static const char *human(unsigned long long v)
{
	static char buf[4][16];
	static unsigned int i;
	const char *unit = "KMGT";
	char *b = buf[i++ % 4];
	double d = v;
	int u = -1;

	if (v < 1024) {
		snprintf(b, 16, "%llu", v);
		return b;
	}
	while (d >= 1024 && u < 3) {
		d /= 1024;
		u++;
	}
	snprintf(b, 16, "%.1f%c", d, unit[u]);
	return b;
}

/* @part of @total as a percentage, or "-" (four results may be live) */
static const char *share(unsigned long long part, unsigned long long total)
{
	static char buf[4][16];
	static unsigned int i;
	char *b = buf[i++ % 4];

	if (!total || part > total)
		return "-";
	snprintf(b, 16, "%.1f%%", 100.0 * part / total);
	return b;
}

/* waste: the share of @total that @used leaves */
static const char *pct(unsigned long long used, unsigned long long total)
{
	return used > total ? "-" : share(total - used, total);
}

static int col(char **hdr, int nhdr, const char *name)
{
	int i;

	for (i = 0; i < nhdr; i++)
		if (!strcmp(hdr[i], name))
			return i;
	return -1;
}

/* A table row under @hdr: extra leading tokens belong to the first column. */
static unsigned long long field(char **tok, int n, char **hdr, int nhdr, const char *name)
{
	int c = col(hdr, nhdr, name);

	if (c <= 0 || n < nhdr)
		return 0;
	return num(tok[c + n - nhdr]);
}

static void row_name(char *dst, size_t len, char **tok, int n, int nhdr)
{
	int i, extra = n - nhdr;

	dst[0] = 0;
	for (i = 0; i <= extra; i++) {
		if (i)
			strncat(dst, " ", len - strlen(dst) - 1);
		strncat(dst, tok[i], len - strlen(dst) - 1);
	}
}

static int show_kernel(void)
{
	char line[1024], hline[1024], *tok[MAX_TOKENS], *hdr[MAX_TOKENS];
	static struct pool pools[MAX_POOLS];
	int n, nhdr = 0, npools = 0, i;
	unsigned long long bytes, tl = 0, tb = 0, tu = 0;
	bool in_pools = false, in_nodes = false;
	char depot[48];
	struct pool *p;
	FILE *f;

	f = fopen(DEBUGFS "/stats", "r");
	if (!f) {
		fprintf(stderr, "magstat: %s/stats: %s\n", DEBUGFS, strerror(errno));
		fprintf(stderr, "magstat: is magalloc loaded, debugfs mounted, are you root?\n");
		return -1;
	}
	printf("magalloc kernel:");
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (!n)
			continue;
		if (n == 2 && !is_number(tok[0]) && is_number(tok[1]) && !in_pools && !in_nodes) {
			printf(" %s %s", tok[0], tok[1]);
			continue;
		}
		if (!is_number(tok[0]) && !is_number(tok[n - 1])) {
			/* a header: copied, @line is reused */
			hline[0] = 0;
			for (i = 0; i < n; i++) {
				strncat(hline, tok[i], sizeof(hline) - strlen(hline) - 2);
				strcat(hline, " ");
			}
			nhdr = split(hline, hdr);
			in_nodes = !strcmp(hdr[0], "node");
			in_pools = !strcmp(hdr[0], "pool");
			if (in_nodes)
				printf("\n\n NODE  ARENAS  FREE_PAGES  LARGE_PAGES  LOOSE_PAGES\n");
			continue;
		}
		if (in_nodes && n >= nhdr) {
			printf(" %4llu  %6llu  %10llu  %11llu  %11llu\n", num(tok[0]),
			       field(tok, n, hdr, nhdr, "arenas"),
			       field(tok, n, hdr, nhdr, "free_pages"),
			       field(tok, n, hdr, nhdr, "large_pages"),
			       field(tok, n, hdr, nhdr, "loose_pages"));
		} else if (in_pools && n >= nhdr) {
			char name[64];

			row_name(name, sizeof(name), tok, n, nhdr);
			for (i = 0; i < npools; i++)
				if (!strcmp(pools[i].name, name))
					break;
			if (i == npools) {
				if (npools == MAX_POOLS)
					continue;
				memset(&pools[npools], 0, sizeof(pools[0]));
				snprintf(pools[npools].name, sizeof(pools[0].name), "%s", name);
				npools++;
			}
			p = &pools[i];
			p->size = field(tok, n, hdr, nhdr, "size");
			p->spans += field(tok, n, hdr, nhdr, "spans");
			p->live += field(tok, n, hdr, nhdr, "live");
			p->free += field(tok, n, hdr, nhdr, "free_in_spans");
			p->depot_full += field(tok, n, hdr, nhdr, "depot_full");
			p->depot_empty += field(tok, n, hdr, nhdr, "depot_empty");
			p->misses += field(tok, n, hdr, nhdr, "misses");
			p->slow += field(tok, n, hdr, nhdr, "slow");
			p->nodes++;
		}
	}
	fclose(f);
	printf("\n kernel pools, nodes summed: %d in use\n", npools);
	if (!npools)
		return 0;
	/* DEPOT: full/empty magazines */
	printf(" %-18s %6s %9s %9s %6s %9s %6s %7s %9s %9s\n", "POOL", "SIZE", "OBJECTS",
	       "FREE", "SPANS", "BYTES", "WASTE", "DEPOT", "MISSES", "SLOW");
	for (i = 0; i < npools; i++) {
		p = &pools[i];
		bytes = p->spans * span_bytes(p->size, p->spans ?
					      (p->live + p->free) / p->spans : 0);
		snprintf(depot, sizeof(depot), "%llu/%llu", p->depot_full, p->depot_empty);
		printf(" %-18s %6llu %9llu %9llu %6llu %9s %6s %7s %9llu %9llu\n", p->name,
		       p->size, p->live, p->free, p->spans, bytes ? human(bytes) : "-",
		       pct(p->live * p->size, bytes), depot, p->misses, p->slow);
		tl += p->live;
		tu += p->live * p->size;
		tb += bytes;
	}
	printf(" %-18s %6s %9llu %9s %6s %9s %6s\n", "total", "", tl, "", "", human(tb),
	       pct(tu, tb));
	return 0;
}

/*
 * What the per-CPU magazines hold (DEBUGFS/parked: "budget B", then a
 * header and one row per CPU, then "all"): the CPUs holding any, and the
 * total.  Reading it runs a work item on each such CPU.
 */
static int show_parked(void)
{
	char line[1024], hline[1024], *tok[MAX_TOKENS], *hdr[MAX_TOKENS];
	unsigned long long budget = 0;
	int n, nhdr = 0, i;
	FILE *f;

	f = fopen(DEBUGFS "/parked", "r");
	if (!f)
		return 0;	/* an older module: nothing to show */
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (n == 2 && !strcmp(tok[0], "budget")) {
			budget = num(tok[1]);
			printf("\n parked in per-CPU magazines (generic: %s per CPU at most)\n",
			       human(budget));
			printf(" %-6s %9s %9s %9s %9s %9s %9s\n", "CPU", "MAGAZINES", "OBJECTS",
			       "BYTES", "GENERIC", "RESERVED", "EVICTIONS");
			continue;
		}
		if (n > 1 && !strcmp(tok[0], "cpu")) {
			hline[0] = 0;
			for (i = 0; i < n; i++) {
				strncat(hline, tok[i], sizeof(hline) - strlen(hline) - 2);
				strcat(hline, " ");
			}
			nhdr = split(hline, hdr);
			continue;
		}
		if (!nhdr || n < nhdr)
			continue;
		if (is_number(tok[0]) && !field(tok, n, hdr, nhdr, "magazines") &&
		    !field(tok, n, hdr, nhdr, "reserved"))
			continue;	/* a CPU holding nothing */
		printf(" %-6s %9llu %9llu %9s", tok[0], field(tok, n, hdr, nhdr, "magazines"),
		       field(tok, n, hdr, nhdr, "objects"),
		       human(field(tok, n, hdr, nhdr, "bytes")));
		printf(" %9s %9s %9llu\n", human(field(tok, n, hdr, nhdr, "generic")),
		       human(field(tok, n, hdr, nhdr, "reserved")),
		       field(tok, n, hdr, nhdr, "evictions"));
	}
	fclose(f);
	return 0;
}

struct kv {
	char *key[MAX_TOKENS / 2];
	char *val[MAX_TOKENS / 2];
	int n;
};

static void kv_parse(struct kv *kv, char **tok, int n)
{
	int i;

	kv->n = 0;
	for (i = 0; i + 1 < n; i += 2) {
		kv->key[kv->n] = tok[i];
		kv->val[kv->n++] = tok[i + 1];
	}
}

static unsigned long long kv_get(const struct kv *kv, const char *key)
{
	int i;

	for (i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return num(kv->val[i]);
	return 0;
}

struct heap_sum {
	unsigned long long charged, live_bytes, small_bytes, small_live, large_objs;
	bool open;
};

static void heap_end(struct heap_sum *s)
{
	unsigned long long lb, lu;

	if (!s->open)
		return;
	/* large objects: what the classes do not account for */
	lb = s->charged > s->small_bytes ? s->charged - s->small_bytes : 0;
	lu = s->live_bytes > s->small_live ? s->live_bytes - s->small_live : 0;
	if (lb || lu || s->large_objs)
		printf("  %5s %7s %9llu %6s %9s %6s\n", "large", "-", s->large_objs, "-",
		       human(lb), pct(lu, lb));
	printf("  %5s %7s %9s %6s %9s %6s\n", "total", "", "", "",
	       human(s->charged), pct(s->live_bytes, s->charged));
	s->open = false;
}

static int show_heaps(void)
{
	char line[1024], *tok[MAX_TOKENS];
	struct heap_sum s = { 0 };
	unsigned long long cls, size, spans, objs, bytes;
	int n, heaps = 0;
	struct kv kv;
	FILE *f;

	f = fopen(DEBUGFS "/heaps", "r");
	if (!f) {
		fprintf(stderr, "magstat: %s/heaps: %s\n", DEBUGFS, strerror(errno));
		return -1;
	}
	printf("\n/dev/magalloc heaps:\n");
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (!n)
			continue;
		kv_parse(&kv, tok, n);
		if (!strcmp(tok[0], "heap")) {
			heap_end(&s);
			heaps++;
			s = (struct heap_sum){ .open = true };
			s.charged = kv_get(&kv, "charged");
			s.live_bytes = kv_get(&kv, "live_bytes");
			printf(" heap %s: cap %s, charged %s, resident %s, live %s\n",
			       kv.val[0], human(kv_get(&kv, "cap")), human(s.charged),
			       human(kv_get(&kv, "resident")), human(s.live_bytes));
			printf("  allocs %llu, frees %llu, failed %llu,", kv_get(&kv, "allocs"),
			       kv_get(&kv, "frees"), kv_get(&kv, "failed"));
			printf(" bad_frees %llu, bad_requests %llu\n", kv_get(&kv, "bad_frees"),
			       kv_get(&kv, "bad_requests"));
			printf("  %5s %7s %9s %6s %9s %6s\n", "CLASS", "SIZE", "OBJECTS", "SPANS",
			       "BYTES", "WASTE");
			continue;
		}
		if (strcmp(tok[0], "class") || !s.open)
			continue;
		cls = kv_get(&kv, "class");
		size = kv_get(&kv, "size");
		objs = kv_get(&kv, "objects");
		spans = kv_get(&kv, "spans");
		if (!cls) {		/* large objects: printed at the end */
			s.large_objs = objs;
			continue;
		}
		bytes = 0;
		if (cls <= nr_classes && classes[cls - 1].size == size)
			bytes = spans * classes[cls - 1].span_bytes;
		else if (class_by_size(size))
			bytes = spans * class_by_size(size)->span_bytes;
		s.small_bytes += bytes;
		s.small_live += objs * size;
		printf("  %5llu %7llu %9llu %6llu %9s %6s\n", cls, size, objs, spans,
		       bytes ? human(bytes) : "-", pct(objs * size, bytes));
	}
	heap_end(&s);
	fclose(f);
	if (!heaps)
		printf(" none open\n");
	return 0;
}

int main(int argc, char **argv)
{
	bool kernel = true, user = true;
	long interval = 0, count = 0, i;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "1i:c:kuh")) != -1) {
		switch (opt) {
		case '1':
			interval = 0;
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			if (interval <= 0) {
				fprintf(stderr, "magstat: -i needs seconds > 0\n");
				return 2;
			}
			break;
		case 'c':
			count = strtol(optarg, NULL, 10);
			break;
		case 'k':
			user = false;
			break;
		case 'u':
			kernel = false;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	query_classes();
	for (i = 0; !interval || !count || i < count; i++) {
		if (interval) {
			time_t t = time(NULL);
			char ts[32];

			strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
			printf("%s--- magstat %s ---\n", i ? "\n" : "", ts);
		}
		if (kernel && (show_kernel() || show_parked()))
			ret = 1;
		if (user && show_heaps())
			ret = 1;
		fflush(stdout);
		if (!interval || ret)
			break;
		sleep(interval);
	}
	return ret;
}
