// SPDX-License-Identifier: GPL-2.0
/*
 * magstat: slabtop-like view of magalloc.
 *
 * Kernel pools come from the stable interface, /sys/kernel/magalloc/<pool>/
 * (mod/sysfs.c: one value per file, the per-node ones followed by
 * "N<node>=<n>"), which any user may read.  What only debugfs has comes
 * from /sys/kernel/debug/magalloc (root): "stats" (mod/main.c,
 * mag_stats_show(): "key value" lines, then whitespace-separated tables,
 * each introduced by a header line of column names: nodes, pools, memory
 * cgroups), "parked" (what per-CPU magazines hold) and "heaps"
 * (mod/uheap.c, mag_uheaps_show(): "heap N key value ..." lines, each
 * followed by "  class C key value ..." lines).  Without the sysfs
 * directory (an older module), pools come from debugfs "stats".  All of
 * it is parsed by name, not by position, so that added files, fields or
 * columns do not break it; optional ones (a hit counter: a sysfs
 * "alloc_hits" file or a debugfs "hits" column) are shown when present.
 *
 * Span sizes of heaps come from the class table of MAGALLOC_IOC_QUERY (a
 * heap is opened for that and closed before anything is read); without
 * the device, heaps' byte columns are left out.
 *
 * Everything read makes one snapshot (struct snap), printed as text or
 * as one JSON document; -w redraws it in place, slabtop-like.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/magalloc.h>

#define DEBUGFS		"/sys/kernel/debug/magalloc"
#define SYSFS		"/sys/kernel/magalloc"
#define MAX_TOKENS	64
#define MAX_CLASSES	256
#define MAX_NODES	64
#define MAX_KV		32

static const char no_hits[] =
"magstat: this module exports no hit counter: cannot sort by hit (see magstat(1))\n";

static const char usage[] =
"usage: magstat [-1 | -i SECONDS | -w] [-c COUNT] [-s KEY] [-a] [-k | -u] [--json]\n"
"\n"
"Shows magalloc's kernel pools (from " SYSFS "/<pool>/) and, where\n"
"debugfs is readable (root), its nodes, what per-CPU magazines hold and every\n"
"open /dev/magalloc heap (from " DEBUGFS "), slabtop-like.\n"
"\n"
"  -1               one snapshot (the default)\n"
"  -i SECONDS       a snapshot every SECONDS seconds, until interrupted\n"
"  -w, --watch      redraw in place every -i SECONDS (3), slabtop-like;\n"
"                   keys: n s o f l c w m e h sort, q quits\n"
"  -c, --count N    with -i or -w: stop after N snapshots\n"
"  -s, --sort KEY   sort the pools by KEY: name, size, objects, free, spans,\n"
"                   bytes, waste, misses, slow (default: objects); hit only\n"
"                   where the module exports a hit counter\n"
"  -a, --all        list pools without spans or depot magazines too\n"
"  -k               kernel pools only\n"
"  -u               userspace heaps only\n"
"  -j, --json       one JSON document per snapshot (see magstat(1))\n"
"  -h, --help       this text\n"
"\n"
"Columns: OBJECTS are objects allocated from the kernel, including those\n"
"cached in per-CPU magazines (kernel pools) or in libmagalloc's per-thread\n"
"magazines (heaps); BYTES are the bytes of the spans that hold them;\n"
"WASTE = 1 - OBJECTS * SIZE / BYTES; MISSES are allocations that took the\n"
"slow path, SLOW slow-path entries that left the magazines (depot visits).\n"
"HIT (hits / (hits + misses)) shows only with a module that counts its\n"
"fast-path hits (make MAGALLOC_STATS=y).  The parked table shows, per CPU\n"
"holding any, what its magazines hold (BYTES; GENERIC is the part the\n"
"per-CPU budget bounds) and what its generic pools' magazine limits\n"
"reserve of that budget.  See magstat(1).\n";

/* The class table, from QUERY, or empty. */
static struct magalloc_class classes[MAX_CLASSES];
static unsigned int nr_classes;
static unsigned long page_size;

/* The per-node files of a sysfs pool directory. */
enum { PN_OBJECTS, PN_TOTAL, PN_SPANS, PN_PARTIAL, PN_FULL, PN_EMPTY, NR_PN };
static const char *const pn_file[NR_PN] = {
	"objects", "total_objects", "spans", "partial", "depot_full", "depot_empty",
};

struct pool {
	char name[128];
	/* from sysfs only */
	bool sysfs;
	unsigned long long object_size, objs_per_span, pages_per_span, magazine_size;
	unsigned long long partial;
	long long debug;
	char ctor[128];
	unsigned long long pn[NR_PN][MAX_NODES];
	bool pn_node[MAX_NODES];
	/* from either */
	unsigned long long size, objects, total, spans, depot_full, depot_empty;
	unsigned long long misses, slow, bytes;
	/* optional: a hit counter (sysfs alloc_hits, or debugfs hits) */
	bool has_hits, hits_sysfs;
	unsigned long long hits;
	/* from debugfs stats only */
	bool has_dbg;
	unsigned long long debug_spans, isolated;
	unsigned int nodes;	/* debugfs rows summed */
};

/* A table of numbers under a header (debugfs nodes, memcg, parked). */
struct table {
	bool present;
	int ncols;
	char cols[MAX_TOKENS][32];
	int nrows;
	char (*label)[16];		/* first column as printed ("all") */
	unsigned long long *vals;	/* nrows * ncols; vals[r * ncols + 0] unused if label */
};

struct kvset {
	int n;
	char key[MAX_KV][32];
	unsigned long long val[MAX_KV];
};

struct hclass {
	struct kvset kv;
	unsigned long long cls, size, objects, spans, bytes;
};

struct heap {
	struct kvset kv;
	struct hclass *cls;
	int ncls;
	unsigned long long large_objs, large_bytes, large_live, small_bytes, small_live;
};

struct snap {
	time_t time;
	const char *pool_source;	/* "sysfs", "debugfs" or NULL */
	bool stats;			/* debugfs stats read */
	struct kvset kernel;
	struct table nodes, memcg, parked;
	unsigned long long budget;
	struct pool *pools;
	int npools;
	bool has_hits;
	bool heaps_read;
	struct heap *heaps;
	int nheaps;
};

/* Sort keys: name, the -s word, the key that picks it while watching. */
enum sort_key { S_NAME, S_SIZE, S_OBJECTS, S_FREE, S_SPANS, S_BYTES, S_WASTE, S_MISSES,
		S_SLOW, S_HIT, NR_SORT };
static const struct {
	const char *word;
	char key;
} sorts[NR_SORT] = {
	[S_NAME] = { "name", 'n' },	[S_SIZE] = { "size", 's' },
	[S_OBJECTS] = { "objects", 'o' }, [S_FREE] = { "free", 'f' },
	[S_SPANS] = { "spans", 'l' },	[S_BYTES] = { "bytes", 'c' },
	[S_WASTE] = { "waste", 'w' },	[S_MISSES] = { "misses", 'm' },
	[S_SLOW] = { "slow", 'e' },	[S_HIT] = { "hit", 'h' },
};

/* SYSFS and DEBUGFS, unless MAGSTAT_SYSFS or MAGSTAT_DEBUGFS say otherwise (tests) */
static const char *sysfs_dir = SYSFS, *debugfs_dir = DEBUGFS;
static enum sort_key sort_by = S_OBJECTS;
static bool show_all, want_kernel = true, want_user = true, json;
/* the signal that ends a repeating run: set by on_signal() */
static atomic_int stop_sig;

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

/* Human-readable bytes, into one of eight rotating buffers. */
static const char *human(unsigned long long v)
{
	static char buf[8][16];
	static unsigned int i;
	const char *unit = "KMGT";
	char *b = buf[i++ % 8];
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

/* @part of @total as a percentage, or "-" (eight results may be live) */
static const char *share(unsigned long long part, unsigned long long total)
{
	static char buf[8][16];
	static unsigned int i;
	char *b = buf[i++ % 8];

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

/* The same as a fraction, or -1 where unknown. */
static double waste_of(unsigned long long used, unsigned long long total)
{
	return !total || used > total ? -1 : (double)(total - used) / total;
}

static unsigned long long free_of(const struct pool *p)
{
	return p->total > p->objects ? p->total - p->objects : 0;
}

static double hit_rate(const struct pool *p)
{
	return p->has_hits && p->hits + p->misses ?
	       (double)p->hits / (p->hits + p->misses) : -1;
}

static int col(char hdr[][32], int nhdr, const char *name)
{
	int i;

	for (i = 0; i < nhdr; i++)
		if (!strcmp(hdr[i], name))
			return i;
	return -1;
}

/* A table row under @hdr: extra leading tokens belong to the first column. */
static unsigned long long field(char **tok, int n, char hdr[][32], int nhdr, const char *name)
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

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fputs("magstat: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void kv_add(struct kvset *kv, const char *key, unsigned long long val)
{
	if (kv->n == MAX_KV)
		return;
	snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", key);
	kv->val[kv->n++] = val;
}

static bool kv_find(const struct kvset *kv, const char *key, unsigned long long *val)
{
	int i;

	for (i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key)) {
			*val = kv->val[i];
			return true;
		}
	return false;
}

static unsigned long long kv_get(const struct kvset *kv, const char *key)
{
	unsigned long long v = 0;

	kv_find(kv, key, &v);
	return v;
}

/* "key value key value ...": the pairs whose value is a number */
static void kv_parse(struct kvset *kv, char **tok, int n)
{
	int i;

	kv->n = 0;
	for (i = 0; i + 1 < n; i += 2)
		if (is_number(tok[i + 1]))
			kv_add(kv, tok[i], num(tok[i + 1]));
}

static void table_header(struct table *t, char **tok, int n)
{
	int i;

	memset(t, 0, sizeof(*t));
	t->present = true;
	for (i = 0; i < n; i++)
		snprintf(t->cols[t->ncols++], sizeof(t->cols[0]), "%s", tok[i]);
}

/* A row of @t: the first column may be a word ("all"), the rest numbers. */
static void table_row(struct table *t, char **tok, int n)
{
	int i;

	if (n < t->ncols)
		return;
	t->vals = xrealloc(t->vals, (t->nrows + 1) * t->ncols * sizeof(*t->vals));
	t->label = xrealloc(t->label, (t->nrows + 1) * sizeof(*t->label));
	snprintf(t->label[t->nrows], sizeof(t->label[0]), "%s", tok[0]);
	for (i = 0; i < t->ncols; i++)
		t->vals[t->nrows * t->ncols + i] = num(tok[i + n - t->ncols]);
	t->nrows++;
}

static unsigned long long table_get(const struct table *t, int row, const char *name)
{
	int c = col((char (*)[32])t->cols, t->ncols, name);

	return c < 0 ? 0 : t->vals[row * t->ncols + c];
}

static void table_free(struct table *t)
{
	free(t->vals);
	free(t->label);
	memset(t, 0, sizeof(*t));
}

static struct pool *pool_add(struct snap *s, const char *name)
{
	struct pool *p;

	s->pools = xrealloc(s->pools, (s->npools + 1) * sizeof(*s->pools));
	p = &s->pools[s->npools++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

static struct pool *pool_find(struct snap *s, const char *name)
{
	int i;

	for (i = 0; i < s->npools; i++)
		if (!strcmp(s->pools[i].name, name))
			return &s->pools[i];
	return NULL;
}

/* The first line of @dir/@file, without its newline; false if unreadable. */
static bool read_attr(const char *dir, const char *file, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s/%s", sysfs_dir, dir, file);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, len, f);
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

static bool read_num(const char *dir, const char *file, unsigned long long *v)
{
	char buf[64];

	if (!read_attr(dir, file, buf, sizeof(buf)) || !is_number(buf))
		return false;
	*v = num(buf);
	return true;
}

/* A per-node file: "<sum> N0=<n> N1=<n>"; returns the sum. */
static unsigned long long read_per_node(struct pool *p, int which, const char *dir)
{
	char buf[1024], *tok[MAX_TOKENS];
	unsigned long long sum;
	int n, i, node;

	if (!read_attr(dir, pn_file[which], buf, sizeof(buf)))
		return 0;
	n = split(buf, tok);
	if (!n)
		return 0;
	sum = num(tok[0]);
	for (i = 1; i < n; i++)
		if (tok[i][0] == 'N' && sscanf(tok[i] + 1, "%d=", &node) == 1 &&
		    node >= 0 && node < MAX_NODES && strchr(tok[i], '=')) {
			p->pn[which][node] = num(strchr(tok[i], '=') + 1);
			p->pn_node[node] = true;
		}
	return sum;
}

static FILE *debugfs_open(const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", debugfs_dir, file);
	return fopen(path, "re");
}

/* Every pool directory under SYSFS; -1 if there is none. */
static int read_sysfs(struct snap *s)
{
	unsigned long long v;
	struct dirent *e;
	struct pool *p;
	DIR *d = opendir(sysfs_dir);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		p = pool_add(s, e->d_name);
		p->sysfs = true;
		read_num(e->d_name, "object_size", &p->object_size);
		read_num(e->d_name, "size", &p->size);
		read_num(e->d_name, "objs_per_span", &p->objs_per_span);
		read_num(e->d_name, "pages_per_span", &p->pages_per_span);
		read_num(e->d_name, "magazine_size", &p->magazine_size);
		p->objects = read_per_node(p, PN_OBJECTS, e->d_name);
		p->total = read_per_node(p, PN_TOTAL, e->d_name);
		p->spans = read_per_node(p, PN_SPANS, e->d_name);
		p->partial = read_per_node(p, PN_PARTIAL, e->d_name);
		p->depot_full = read_per_node(p, PN_FULL, e->d_name);
		p->depot_empty = read_per_node(p, PN_EMPTY, e->d_name);
		read_num(e->d_name, "alloc_misses", &p->misses);
		read_num(e->d_name, "slow_entries", &p->slow);
		p->debug = -1;
		if (read_num(e->d_name, "debug", &v))
			p->debug = (long long)v;
		if (!read_attr(e->d_name, "ctor", p->ctor, sizeof(p->ctor)))
			p->ctor[0] = 0;
		p->hits_sysfs = read_num(e->d_name, "alloc_hits", &p->hits);
		p->has_hits = p->hits_sysfs;
		p->bytes = p->spans * p->pages_per_span * page_size;
	}
	closedir(d);
	s->pool_source = "sysfs";
	return 0;
}

/*
 * debugfs stats: the "key value" lines, the node and memcg tables, and the
 * pool rows (per pool and node).  @pools: make the pools from these rows
 * (no sysfs); else add to the sysfs pools what only debugfs has, where the
 * name is the directory's and no "<name>:<id>" directory shares it.
 */
static int read_stats(struct snap *s, bool pools)
{
	char line[1024], *tok[MAX_TOKENS], hdr[MAX_TOKENS][32], name[128];
	int n, nhdr = 0, i, dup;
	enum { T_NONE, T_NODES, T_POOLS, T_MEMCG, T_OTHER } in = T_NONE;
	struct pool *p;
	FILE *f;

	f = debugfs_open("stats");
	if (!f)
		return -1;
	s->stats = true;
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (!n)
			continue;
		if (n == 2 && !is_number(tok[0]) && is_number(tok[1]) && in == T_NONE) {
			kv_add(&s->kernel, tok[0], num(tok[1]));
			continue;
		}
		if (!is_number(tok[0]) && !is_number(tok[n - 1])) {
			/* a header */
			nhdr = 0;
			for (i = 0; i < n; i++)
				snprintf(hdr[nhdr++], sizeof(hdr[0]), "%s", tok[i]);
			in = !strcmp(hdr[0], "node") ? T_NODES : !strcmp(hdr[0], "pool") ?
			     T_POOLS : !strcmp(hdr[0], "memcg") ? T_MEMCG : T_OTHER;
			if (in == T_NODES)
				table_header(&s->nodes, tok, n);
			else if (in == T_MEMCG)
				table_header(&s->memcg, tok, n);
			continue;
		}
		if (in == T_NODES) {
			table_row(&s->nodes, tok, n);
			continue;
		}
		if (in == T_MEMCG) {
			table_row(&s->memcg, tok, n);
			continue;
		}
		if (in != T_POOLS || n < nhdr)
			continue;
		row_name(name, sizeof(name), tok, n, nhdr);
		p = pool_find(s, name);
		if (pools && !p)
			p = pool_add(s, name);
		if (!pools && p) {
			/* a duplicate name's rows cannot be told apart */
			for (i = dup = 0; i < s->npools; i++)
				if (!strncmp(s->pools[i].name, name, strlen(name)) &&
				    s->pools[i].name[strlen(name)] == ':')
					dup = 1;
			if (dup)
				p = NULL;
		}
		if (!p)
			continue;
		if (pools) {
			unsigned long long live = field(tok, n, hdr, nhdr, "live");

			p->size = field(tok, n, hdr, nhdr, "size");
			p->spans += field(tok, n, hdr, nhdr, "spans");
			p->objects += live;
			p->total += live + field(tok, n, hdr, nhdr, "free_in_spans");
			p->depot_full += field(tok, n, hdr, nhdr, "depot_full");
			p->depot_empty += field(tok, n, hdr, nhdr, "depot_empty");
			p->misses += field(tok, n, hdr, nhdr, "misses");
			p->slow += field(tok, n, hdr, nhdr, "slow");
		}
		if (col(hdr, nhdr, "debug_spans") > 0) {
			p->has_dbg = true;
			p->debug_spans += field(tok, n, hdr, nhdr, "debug_spans");
			p->isolated += field(tok, n, hdr, nhdr, "isolated");
		}
		if (col(hdr, nhdr, "hits") > 0 && !p->hits_sysfs) {
			p->hits += field(tok, n, hdr, nhdr, "hits");
			p->has_hits = true;
		}
		p->nodes++;
	}
	fclose(f);
	if (pools) {
		for (i = 0; i < s->npools; i++) {
			p = &s->pools[i];
			p->bytes = p->spans * span_bytes(p->size, p->spans ?
							 p->total / p->spans : 0);
		}
		s->pool_source = "debugfs";
	}
	return 0;
}

/* debugfs parked: "budget B", a header, a row per CPU, then "all". */
static int read_parked(struct snap *s)
{
	char line[1024], *tok[MAX_TOKENS];
	FILE *f;
	int n;

	f = debugfs_open("parked");
	if (!f)
		return -1;	/* an older module, or no debugfs */
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (n == 2 && !strcmp(tok[0], "budget")) {
			s->budget = num(tok[1]);
			continue;
		}
		if (n > 1 && !strcmp(tok[0], "cpu")) {
			table_header(&s->parked, tok, n);
			continue;
		}
		if (s->parked.present)
			table_row(&s->parked, tok, n);
	}
	fclose(f);
	return 0;
}

/* The bytes of a heap's class @cls of @size, from QUERY, or 0. */
static unsigned long long class_bytes(unsigned long long cls, unsigned long long size,
				      unsigned long long spans)
{
	if (cls && cls <= nr_classes && classes[cls - 1].size == size)
		return spans * classes[cls - 1].span_bytes;
	if (class_by_size(size))
		return spans * class_by_size(size)->span_bytes;
	return 0;
}

static void heap_end(struct heap *h)
{
	unsigned long long charged = kv_get(&h->kv, "charged");
	unsigned long long live = kv_get(&h->kv, "live_bytes");

	/* large objects: what the classes do not account for */
	h->large_bytes = charged > h->small_bytes ? charged - h->small_bytes : 0;
	h->large_live = live > h->small_live ? live - h->small_live : 0;
}

static int read_heaps(struct snap *s)
{
	char line[1024], *tok[MAX_TOKENS];
	struct heap *h = NULL;
	struct hclass *c;
	struct kvset kv;
	FILE *f;
	int n;

	f = debugfs_open("heaps");
	if (!f)
		return -1;
	s->heaps_read = true;
	while (fgets(line, sizeof(line), f)) {
		n = split(line, tok);
		if (!n)
			continue;
		kv_parse(&kv, tok, n);
		if (!strcmp(tok[0], "heap")) {
			if (h)
				heap_end(h);
			s->heaps = xrealloc(s->heaps, (s->nheaps + 1) * sizeof(*s->heaps));
			h = &s->heaps[s->nheaps++];
			memset(h, 0, sizeof(*h));
			h->kv = kv;
			continue;
		}
		if (strcmp(tok[0], "class") || !h)
			continue;
		if (!kv_get(&kv, "class")) {	/* large objects */
			h->large_objs = kv_get(&kv, "objects");
			continue;
		}
		h->cls = xrealloc(h->cls, (h->ncls + 1) * sizeof(*h->cls));
		c = &h->cls[h->ncls++];
		c->kv = kv;
		c->cls = kv_get(&kv, "class");
		c->size = kv_get(&kv, "size");
		c->objects = kv_get(&kv, "objects");
		c->spans = kv_get(&kv, "spans");
		c->bytes = class_bytes(c->cls, c->size, c->spans);
		h->small_bytes += c->bytes;
		h->small_live += c->objects * c->size;
	}
	if (h)
		heap_end(h);
	fclose(f);
	return 0;
}

static void snap_free(struct snap *s)
{
	int i;

	table_free(&s->nodes);
	table_free(&s->memcg);
	table_free(&s->parked);
	free(s->pools);
	for (i = 0; i < s->nheaps; i++)
		free(s->heaps[i].cls);
	free(s->heaps);
	memset(s, 0, sizeof(*s));
}

/* What @p sorts by (not S_NAME) */
static double sort_value(const struct pool *p)
{
	switch (sort_by) {
	case S_SIZE:
		return p->size;
	case S_OBJECTS:
		return p->objects;
	case S_FREE:
		return free_of(p);
	case S_SPANS:
		return p->spans;
	case S_BYTES:
		return p->bytes;
	case S_WASTE:
		/* wasted bytes, not the share: a big pool's waste matters more */
		return p->bytes > p->objects * p->size ? p->bytes - p->objects * p->size : 0;
	case S_MISSES:
		return p->misses;
	case S_SLOW:
		return p->slow;
	case S_HIT:
		return hit_rate(p);
	default:
		return 0;
	}
}

static int cmp_pools(const void *a, const void *b)
{
	const struct pool *p = a, *q = b;
	double x, y;
	int r;

	if (sort_by == S_NAME)
		return strcmp(p->name, q->name);
	x = sort_value(p);
	y = sort_value(q);
	r = (x < y) - (x > y);		/* descending, as slabtop */
	return r ? r : strcmp(p->name, q->name);
}

/*
 * One snapshot of what -k/-u ask for.  Returns 0, or 1 if something asked
 * for could not be read (said on stderr, once per run).
 */
static int take(struct snap *s)
{
	static bool told_debugfs;
	int ret = 0, i;

	memset(s, 0, sizeof(*s));
	s->time = time(NULL);
	if (want_kernel) {
		if (read_sysfs(s)) {
			if (read_stats(s, true)) {
				fprintf(stderr, "magstat: neither %s nor %s/stats: %s\n",
					sysfs_dir, debugfs_dir, strerror(errno));
				fprintf(stderr, "magstat: is magalloc loaded?\n");
				return 1;
			}
		} else {
			read_stats(s, false);
		}
		read_parked(s);
		if (!s->stats && !told_debugfs) {
			told_debugfs = true;
			fprintf(stderr, "magstat: %s unreadable (not root?): pools only\n",
				debugfs_dir);
		}
		if (s->npools)
			qsort(s->pools, s->npools, sizeof(*s->pools), cmp_pools);
		for (i = 0; i < s->npools; i++)
			s->has_hits |= s->pools[i].has_hits;
	}
	if (want_user && read_heaps(s) && !want_kernel) {
		fprintf(stderr, "magstat: %s/heaps: %s\n", debugfs_dir, strerror(errno));
		ret = 1;
	}
	return ret;
}

/* ---- text ---- */

static void print_kernel(FILE *o, const struct snap *s)
{
	unsigned long long tl = 0, tb = 0, tu = 0;
	char depot[48];
	int i, shown = 0;

	fprintf(o, "magalloc kernel:");
	for (i = 0; i < s->kernel.n; i++)
		fprintf(o, " %s %llu", s->kernel.key[i], s->kernel.val[i]);
	if (!s->stats)
		fprintf(o, " (pools from %s; no debugfs)", sysfs_dir);
	fprintf(o, "\n");
	if (s->nodes.present) {
		fprintf(o, "\n NODE  ARENAS  FREE_PAGES  LARGE_PAGES  LOOSE_PAGES\n");
		for (i = 0; i < s->nodes.nrows; i++)
			fprintf(o, " %4s  %6llu  %10llu  %11llu  %11llu\n", s->nodes.label[i],
				table_get(&s->nodes, i, "arenas"),
				table_get(&s->nodes, i, "free_pages"),
				table_get(&s->nodes, i, "large_pages"),
				table_get(&s->nodes, i, "loose_pages"));
	}
	for (i = 0; i < s->npools; i++)
		shown += show_all || s->pools[i].spans || s->pools[i].depot_full ||
			 s->pools[i].depot_empty;
	fprintf(o, "\n kernel pools, nodes summed: %d %s, sorted by %s\n", shown,
		show_all ? "listed" : "in use", sorts[sort_by].word);
	if (!shown)
		return;
	/* DEPOT: full/empty magazines */
	fprintf(o, " %-18s %6s %9s %9s %6s %9s %6s %7s %9s %9s%s\n", "POOL", "SIZE", "OBJECTS",
		"FREE", "SPANS", "BYTES", "WASTE", "DEPOT", "MISSES", "SLOW",
		s->has_hits ? "    HIT" : "");
	for (i = 0; i < s->npools; i++) {
		const struct pool *p = &s->pools[i];

		if (!show_all && !p->spans && !p->depot_full && !p->depot_empty)
			continue;
		snprintf(depot, sizeof(depot), "%llu/%llu", p->depot_full, p->depot_empty);
		fprintf(o, " %-18s %6llu %9llu %9llu %6llu %9s %6s %7s %9llu %9llu", p->name,
			p->size, p->objects, free_of(p), p->spans,
			p->bytes ? human(p->bytes) : "-", pct(p->objects * p->size, p->bytes),
			depot, p->misses, p->slow);
		if (s->has_hits)
			fprintf(o, " %6s", p->has_hits ? share(p->hits, p->hits + p->misses) : "-");
		fprintf(o, "\n");
		tl += p->objects;
		tu += p->objects * p->size;
		tb += p->bytes;
	}
	fprintf(o, " %-18s %6s %9llu %9s %6s %9s %6s\n", "total", "", tl, "", "", human(tb),
		pct(tu, tb));
}

/* The CPUs whose magazines hold anything, and the total. */
static void print_parked(FILE *o, const struct snap *s)
{
	const struct table *t = &s->parked;
	int i;

	if (!t->present)
		return;
	fprintf(o, "\n parked in per-CPU magazines (generic: %s per CPU at most)\n",
		human(s->budget));
	fprintf(o, " %-6s %9s %9s %9s %9s %9s %9s\n", "CPU", "MAGAZINES", "OBJECTS",
		"BYTES", "GENERIC", "RESERVED", "EVICTIONS");
	for (i = 0; i < t->nrows; i++) {
		if (is_number(t->label[i]) && !table_get(t, i, "magazines") &&
		    !table_get(t, i, "reserved"))
			continue;	/* a CPU holding nothing */
		fprintf(o, " %-6s %9llu %9llu %9s", t->label[i], table_get(t, i, "magazines"),
			table_get(t, i, "objects"), human(table_get(t, i, "bytes")));
		fprintf(o, " %9s %9s %9llu\n", human(table_get(t, i, "generic")),
			human(table_get(t, i, "reserved")), table_get(t, i, "evictions"));
	}
}

static void print_heaps(FILE *o, const struct snap *s)
{
	int i, j;

	if (!s->heaps_read)
		return;
	fprintf(o, "\n/dev/magalloc heaps:\n");
	for (i = 0; i < s->nheaps; i++) {
		const struct heap *h = &s->heaps[i];
		const struct kvset *kv = &h->kv;
		unsigned long long charged = kv_get(kv, "charged");

		fprintf(o, " heap %llu: cap %s, charged %s, resident %s, live %s\n",
			kv_get(kv, "heap"), human(kv_get(kv, "cap")), human(charged),
			human(kv_get(kv, "resident")), human(kv_get(kv, "live_bytes")));
		fprintf(o, "  allocs %llu, frees %llu, failed %llu,", kv_get(kv, "allocs"),
			kv_get(kv, "frees"), kv_get(kv, "failed"));
		fprintf(o, " bad_frees %llu, bad_requests %llu\n", kv_get(kv, "bad_frees"),
			kv_get(kv, "bad_requests"));
		fprintf(o, "  %5s %7s %9s %6s %9s %6s\n", "CLASS", "SIZE", "OBJECTS", "SPANS",
			"BYTES", "WASTE");
		for (j = 0; j < h->ncls; j++) {
			const struct hclass *c = &h->cls[j];

			fprintf(o, "  %5llu %7llu %9llu %6llu %9s %6s\n", c->cls, c->size,
				c->objects, c->spans, c->bytes ? human(c->bytes) : "-",
				pct(c->objects * c->size, c->bytes));
		}
		if (h->large_bytes || h->large_live || h->large_objs)
			fprintf(o, "  %5s %7s %9llu %6s %9s %6s\n", "large", "-", h->large_objs,
				"-", human(h->large_bytes), pct(h->large_live, h->large_bytes));
		fprintf(o, "  %5s %7s %9s %6s %9s %6s\n", "total", "", "", "", human(charged),
			pct(kv_get(kv, "live_bytes"), charged));
	}
	if (!s->nheaps)
		fprintf(o, " none open\n");
}

static void print_text(FILE *o, const struct snap *s)
{
	if (want_kernel && s->pool_source) {
		print_kernel(o, s);
		print_parked(o, s);
	}
	print_heaps(o, s);
}

/* ---- JSON ---- */

struct jw {
	FILE *o;
	int depth;
	bool first[16];
};

static void jstring(FILE *o, const char *str)
{
	const unsigned char *c;

	fputc('"', o);
	for (c = (const unsigned char *)str; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(o, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(o, "\\u%04x", *c);
		else
			fputc(*c, o);
	}
	fputc('"', o);
}

/* A member's key (@key in an object) or an element's comma (NULL, in an array). */
static void jkey(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->o);
	w->first[w->depth] = false;
	if (key) {
		jstring(w->o, key);
		fputc(':', w->o);
	}
}

static void jopen(struct jw *w, const char *key, char c)
{
	if (w->depth >= 0)
		jkey(w, key);
	fputc(c, w->o);
	w->first[++w->depth] = true;
}

static void jclose(struct jw *w, char c)
{
	fputc(c, w->o);
	w->depth--;
}

static void jnum(struct jw *w, const char *key, unsigned long long v)
{
	jkey(w, key);
	fprintf(w->o, "%llu", v);
}

/* A fraction, or null where unknown (< 0). */
static void jfrac(struct jw *w, const char *key, double v)
{
	jkey(w, key);
	if (v < 0)
		fputs("null", w->o);
	else
		fprintf(w->o, "%.4f", v);
}

static void jstr(struct jw *w, const char *key, const char *v)
{
	jkey(w, key);
	jstring(w->o, v);
}

/* Row @r of @t as an object, under @key; the first column too if @first. */
static void jrow(struct jw *w, const char *key, const struct table *t, int r, bool first)
{
	int c;

	jopen(w, key, '{');
	if (first)
		jnum(w, t->cols[0], num(t->label[r]));
	for (c = 1; c < t->ncols; c++)
		jnum(w, t->cols[c], t->vals[r * t->ncols + c]);
	jclose(w, '}');
}

/* The rows of @t whose first column is a number, as an array. */
static void jtable(struct jw *w, const char *key, const struct table *t)
{
	int r;

	jopen(w, key, '[');
	for (r = 0; r < t->nrows; r++)
		if (is_number(t->label[r]))
			jrow(w, NULL, t, r, true);
	jclose(w, ']');
}

static void jpool(struct jw *w, const struct pool *p)
{
	int i, node;

	jopen(w, NULL, '{');
	jstr(w, "name", p->name);
	if (p->sysfs)
		jnum(w, "object_size", p->object_size);
	jnum(w, "size", p->size);
	if (p->sysfs) {
		jnum(w, "objs_per_span", p->objs_per_span);
		jnum(w, "pages_per_span", p->pages_per_span);
		jnum(w, "magazine_size", p->magazine_size);
	}
	jnum(w, "objects", p->objects);
	jnum(w, "total_objects", p->total);
	jnum(w, "free", free_of(p));
	jnum(w, "spans", p->spans);
	if (p->sysfs)
		jnum(w, "partial", p->partial);
	jnum(w, "bytes", p->bytes);
	jfrac(w, "waste", waste_of(p->objects * p->size, p->bytes));
	jnum(w, "depot_full", p->depot_full);
	jnum(w, "depot_empty", p->depot_empty);
	jnum(w, "alloc_misses", p->misses);
	jnum(w, "slow_entries", p->slow);
	if (p->has_hits) {
		jnum(w, "alloc_hits", p->hits);
		jfrac(w, "hit_rate", hit_rate(p));
	}
	if (p->has_dbg) {
		jnum(w, "debug_spans", p->debug_spans);
		jnum(w, "isolated", p->isolated);
	}
	if (p->sysfs) {
		if (p->debug >= 0)
			jnum(w, "debug", p->debug);
		jstr(w, "ctor", p->ctor);
		jopen(w, "per_node", '{');
		for (node = 0; node < MAX_NODES; node++) {
			char id[16];

			if (!p->pn_node[node])
				continue;
			snprintf(id, sizeof(id), "%d", node);
			jopen(w, id, '{');
			for (i = 0; i < NR_PN; i++)
				jnum(w, pn_file[i], p->pn[i][node]);
			jclose(w, '}');
		}
		jclose(w, '}');
	}
	jclose(w, '}');
}

static void jheap(struct jw *w, const struct heap *h)
{
	int i, j;

	jopen(w, NULL, '{');
	for (i = 0; i < h->kv.n; i++)
		jnum(w, h->kv.key[i], h->kv.val[i]);
	jfrac(w, "waste", waste_of(kv_get(&h->kv, "live_bytes"), kv_get(&h->kv, "charged")));
	jopen(w, "classes", '[');
	for (i = 0; i < h->ncls; i++) {
		const struct hclass *c = &h->cls[i];

		jopen(w, NULL, '{');
		for (j = 0; j < c->kv.n; j++)
			jnum(w, c->kv.key[j], c->kv.val[j]);
		if (c->bytes) {
			jnum(w, "bytes", c->bytes);
			jfrac(w, "waste", waste_of(c->objects * c->size, c->bytes));
		}
		jclose(w, '}');
	}
	jclose(w, ']');
	jopen(w, "large", '{');
	jnum(w, "objects", h->large_objs);
	jnum(w, "bytes", h->large_bytes);
	jnum(w, "live_bytes", h->large_live);
	jclose(w, '}');
	jclose(w, '}');
}

static void print_json(FILE *o, const struct snap *s)
{
	struct jw w = { .o = o, .depth = -1 };
	int i;

	jopen(&w, NULL, '{');
	jnum(&w, "magstat", 1);
	jnum(&w, "time", (unsigned long long)s->time);
	jnum(&w, "page_size", page_size);
	if (want_kernel) {
		if (s->pool_source)
			jstr(&w, "pool_source", s->pool_source);
		if (s->stats) {
			jopen(&w, "kernel", '{');
			for (i = 0; i < s->kernel.n; i++)
				jnum(&w, s->kernel.key[i], s->kernel.val[i]);
			jclose(&w, '}');
		}
		if (s->nodes.present)
			jtable(&w, "nodes", &s->nodes);
		if (s->pool_source) {
			jopen(&w, "pools", '[');
			for (i = 0; i < s->npools; i++)
				if (show_all || s->pools[i].spans || s->pools[i].depot_full ||
				    s->pools[i].depot_empty)
					jpool(&w, &s->pools[i]);
			jclose(&w, ']');
		}
		if (s->parked.present) {
			jopen(&w, "parked", '{');
			jnum(&w, "budget", s->budget);
			jtable(&w, "cpus", &s->parked);
			for (i = 0; i < s->parked.nrows; i++)
				if (!strcmp(s->parked.label[i], "all"))
					jrow(&w, "all", &s->parked, i, false);
			jclose(&w, '}');
		}
		if (s->memcg.present)
			jtable(&w, "memcg", &s->memcg);
	}
	if (s->heaps_read) {
		jopen(&w, "heaps", '[');
		for (i = 0; i < s->nheaps; i++)
			jheap(&w, &s->heaps[i]);
		jclose(&w, ']');
	}
	jclose(&w, '}');
	fputc('\n', o);
}

/* ---- watching ---- */

static struct termios saved_tio, raw_tio;
static bool raw_tty, hid_cursor;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void tty_restore(void)
{
	if (hid_cursor) {
		fputs("\033[?25h", stdout);
		fflush(stdout);
		hid_cursor = false;
	}
	if (raw_tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		raw_tty = false;
	}
}

/* Keys one at a time, unechoed, if stdin is a terminal. */
static void tty_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	t = saved_tio;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		raw_tio = t;
		raw_tty = true;
	}
}

/* @str to stdout from a signal handler, as well as it goes */
static void put_raw(const char *str)
{
	ssize_t n = write(STDOUT_FILENO, str, strlen(str));

	(void)n;
}

/*
 * ^Z while watching: the terminal as it was while stopped, keys again
 * once continued (the wait ends, so the screen is redrawn).
 */
static void on_tstp(int sig)
{
	struct sigaction sa = { .sa_handler = on_tstp };
	int saved_errno = errno;
	sigset_t set;

	if (raw_tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	if (hid_cursor)
		put_raw("\033[?25h");
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* continued */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	if (raw_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &raw_tio);
	if (hid_cursor)
		put_raw("\033[?25l");
	errno = saved_errno;
}

/*
 * Wait @secs seconds, or for a key if stdin is in raw mode.  Returns the
 * key, 0 at the end of the wait, -1 on a signal.
 */
static int wait_key(long secs)
{
	struct timespec ts = { .tv_sec = secs };
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	unsigned char c;
	int r;

	if (stop_sig)
		return -1;
	if (!raw_tty)
		return nanosleep(&ts, NULL) && stop_sig ? -1 : 0;
	r = poll(&pfd, 1, secs * 1000);
	if (r < 0)
		return stop_sig ? -1 : 0;
	if (!r)
		return 0;
	if (read(STDIN_FILENO, &c, 1) != 1)
		return 'q';	/* the terminal went away */
	return c;
}

/* @buf on a terminal: home, clear, at most its rows and columns. */
static void draw(const char *buf, size_t len)
{
	struct winsize ws = { 0 };
	unsigned int rows = 24, cols = 80, r = 0;
	const char *p = buf, *end = buf + len, *nl;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	fputs("\033[H\033[2J", stdout);
	while (p < end && r < rows - 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		fwrite(p, 1, (size_t)(nl - p) < cols ? (size_t)(nl - p) : cols, stdout);
		fputc('\n', stdout);
		p = nl + 1;
		r++;
	}
	fflush(stdout);
}

static int sort_from_key(int c, bool has_hits)
{
	int i;

	for (i = 0; i < NR_SORT; i++)
		if (sorts[i].key == c)
			return i == S_HIT && !has_hits ? -1 : i;
	return -1;
}

/* -w on a terminal: redraw in place, sort keys, q quits. */
static int watch(long interval, long count)
{
	struct snap s;
	char *buf = NULL, ts[32], note[96] = "";
	size_t len = 0;
	long i;
	int ret = 0, c, k;
	struct sigaction sa = { .sa_handler = on_tstp };
	FILE *m;
	time_t t;

	tty_raw();
	fputs("\033[?25l", stdout);
	hid_cursor = true;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, NULL);
	for (i = 0; !count || i < count; i++) {
		ret = take(&s);
		if (sort_by == S_HIT && want_kernel && !s.has_hits) {
			snap_free(&s);
			tty_restore();
			fputs(no_hits, stderr);
			return 2;
		}
		m = open_memstream(&buf, &len);
		if (!m) {
			snap_free(&s);
			ret = 1;
			break;
		}
		t = s.time;
		strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
		fprintf(m, "magstat %s, every %ld s; sort: n s o f l c w m e%s; q quits%s%s\n",
			ts, interval, s.has_hits ? " h" : "", note[0] ? "; " : "", note);
		print_text(m, &s);
		fclose(m);
		draw(buf, len);
		free(buf);
		buf = NULL;
		note[0] = 0;
		if (count && i + 1 == count) {
			snap_free(&s);
			break;
		}
		/* a key redraws at once: a new snapshot, sorted as asked */
		c = wait_key(interval);
		k = c > 0 ? sort_from_key(c, s.has_hits) : -1;
		if (k >= 0)
			sort_by = k;
		else if (c > 0 && c != 'q' && c != ' ')
			snprintf(note, sizeof(note), "no key '%c'", c > 32 && c < 127 ? c : '?');
		snap_free(&s);
		if (c < 0 || c == 'q')
			break;
	}
	tty_restore();
	return ret;
}

static int parse_sort(const char *word)
{
	int i;

	for (i = 0; i < NR_SORT; i++)
		if (!strcmp(sorts[i].word, word))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "sort", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	long interval = 0, count = 0, i;
	bool watching = false;
	int opt, ret = 0;
	char *end;
	struct snap s;

	while ((opt = getopt_long(argc, argv, "1i:c:s:wajkuh", longopts, NULL)) != -1) {
		switch (opt) {
		case '1':
			interval = 0;
			watching = false;
			break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (interval <= 0 || *end) {
				fprintf(stderr, "magstat: -i needs seconds > 0\n");
				return 2;
			}
			break;
		case 'c':
			count = strtol(optarg, &end, 10);
			if (count <= 0 || *end) {
				fprintf(stderr, "magstat: -c needs a count > 0\n");
				return 2;
			}
			break;
		case 's':
			if (parse_sort(optarg) < 0) {
				fprintf(stderr, "magstat: -s: no sort key '%s'\n", optarg);
				fputs(usage, stderr);
				return 2;
			}
			sort_by = parse_sort(optarg);
			break;
		case 'w':
			watching = true;
			break;
		case 'a':
			show_all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'k':
			want_user = false;
			want_kernel = true;
			break;
		case 'u':
			want_kernel = false;
			want_user = true;
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
	if (watching && !interval)
		interval = 3;
	if (getenv("MAGSTAT_SYSFS"))
		sysfs_dir = getenv("MAGSTAT_SYSFS");
	if (getenv("MAGSTAT_DEBUGFS"))
		debugfs_dir = getenv("MAGSTAT_DEBUGFS");
	page_size = sysconf(_SC_PAGESIZE);
	query_classes();
	/* no SA_RESTART: a signal ends the wait, and the terminal is restored */
	sigemptyset(&sa.sa_mask);
	if (interval) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (watching && !json && isatty(STDOUT_FILENO)) {
		sigaction(SIGHUP, &sa, NULL);
		ret = watch(interval, count);
	} else {
		for (i = 0; !interval || !count || i < count; i++) {
			ret = take(&s);
			if (sort_by == S_HIT && want_kernel && !s.has_hits) {
				fputs(no_hits, stderr);
				snap_free(&s);
				return 2;
			}
			if (json) {
				print_json(stdout, &s);
			} else {
				if (interval) {
					char ts[32];

					strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&s.time));
					printf("%s--- magstat %s ---\n", i ? "\n" : "", ts);
				}
				print_text(stdout, &s);
			}
			snap_free(&s);
			fflush(stdout);
			if (!interval || ret || (count && i + 1 == count) || wait_key(interval) < 0)
				break;
		}
	}
	if (stop_sig) {
		/* end as the signal would have: the caller sees it */
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
	return ret;
}
