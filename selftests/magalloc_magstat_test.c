// SPDX-License-Identifier: GPL-2.0
/*
 * tools/magstat, the binary shipped beside this test (scripts/check.sh
 * puts both in the guest's /tests), against the running module: its
 * --json documents parse as JSON and agree with /sys/kernel/magalloc and
 * with objects allocated through debugfs "account" and a heap opened
 * here; -w with a pipe for stdout prints the snapshots asked for and
 * ends by itself; -w on a terminal puts it in non-canonical mode, sorts
 * by key, quits on q and restores it; -s hit is refused without a hit
 * counter.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "kselftest_harness.h"
#include "magalloc_test.h"

#define NOBJS		10000
/*
 * How long a magstat run may take: a snapshot reads about a thousand
 * sysfs files and has a work item run on each CPU (debugfs parked); on
 * the KASAN kernel beside another guest one took more than 15 s.
 */
#define RUN_SECS	60
/* the harness's bound on a test (30 s by default): three such waits */
#define TEST_SECS	(3 * RUN_SECS + 10)

/* ---- a JSON parser, strict (RFC 8259), into a tree ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	int t;			/* enum jtype */
	bool is_int;		/* J_NUM without fraction or exponent */
	double num;
	char *str;		/* J_STR */
	int n;			/* J_ARR, J_OBJ */
	char **keys;		/* J_OBJ */
	struct jv *items;
};

struct jp {
	const char *p;
	const char *err;
};

static void jp_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jp_value(struct jp *j, struct jv *v, int depth);

static bool jp_fail(struct jp *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return false;
}

static bool jp_string(struct jp *j, char **out)
{
	size_t len = 0, cap = 16;
	char *s = malloc(cap);
	int i;

	if (*j->p != '"')
		return jp_fail(j, "a string expected");
	j->p++;
	for (;;) {
		unsigned char c = *j->p++;

		if (len + 2 > cap)
			s = realloc(s, cap *= 2);
		if (c == '"')
			break;
		if (c < 0x20)
			return jp_fail(j, "a control character in a string");
		if (c == '\\') {
			static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
			const char *e;

			c = *j->p++;
			e = c ? strchr(esc, c) : NULL;
			if (e && (e - esc) % 2 == 0) {
				c = e[1];
			} else if (c == 'u') {
				for (i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)j->p[i]))
						return jp_fail(j, "a bad \\u escape");
				j->p += 4;
				c = '?';
			} else {
				return jp_fail(j, "a bad escape");
			}
		}
		s[len++] = c;
	}
	s[len] = 0;
	*out = s;
	return true;
}

static bool jp_number(struct jp *j, struct jv *v)
{
	const char *start = j->p;

	v->t = J_NUM;
	v->is_int = true;
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return jp_fail(j, "a bad number");
	if (*j->p == '.') {
		v->is_int = false;
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return jp_fail(j, "a bad fraction");
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		v->is_int = false;
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return jp_fail(j, "a bad exponent");
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	v->num = strtod(start, NULL);
	return true;
}

static bool jp_value(struct jp *j, struct jv *v, int depth)
{
	memset(v, 0, sizeof(*v));
	if (depth > 32)
		return jp_fail(j, "nested too deep");
	jp_ws(j);
	switch (*j->p) {
	case '{':
	case '[': {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';

		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		jp_ws(j);
		if (*j->p == close) {
			j->p++;
			return true;
		}
		for (;;) {
			v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
			if (obj) {
				v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
				jp_ws(j);
				if (!jp_string(j, &v->keys[v->n]))
					return false;
				jp_ws(j);
				if (*j->p++ != ':')
					return jp_fail(j, "':' expected");
			}
			if (!jp_value(j, &v->items[v->n], depth + 1))
				return false;
			v->n++;
			jp_ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ == close)
				return true;
			return jp_fail(j, "',' or the end expected");
		}
	}
	case '"':
		v->t = J_STR;
		return jp_string(j, &v->str);
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		int i;

		for (i = 0; i < 3; i++)
			if (!strncmp(j->p, words[i], strlen(words[i]))) {
				j->p += strlen(words[i]);
				v->t = i < 2 ? J_BOOL : J_NULL;
				v->num = i == 0;
				return true;
			}
		return jp_fail(j, "an unknown word");
	}
	default:
		return jp_number(j, v);
	}
}

/* One whole document in @text (trailing whitespace allowed), or false. */
static bool json_parse(const char *text, struct jv *v, const char **err)
{
	struct jp j = { .p = text };

	if (jp_value(&j, v, 0)) {
		jp_ws(&j);
		if (!*j.p)
			return true;
		jp_fail(&j, "text after the document");
	}
	*err = j.err;
	return false;
}

static struct jv *jget(struct jv *o, const char *key)
{
	int i;

	if (!o || o->t != J_OBJ)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->items[i];
	return NULL;
}

/* @key of @o as an integer, or -1 if it is not one. */
static long long jint(struct jv *o, const char *key)
{
	struct jv *v = jget(o, key);

	return v && v->t == J_NUM && v->is_int ? (long long)v->num : -1;
}

/* The pool named @name in @doc's "pools", or NULL. */
static struct jv *jpool(struct jv *doc, const char *name)
{
	struct jv *pools = jget(doc, "pools"), *n;
	int i;

	if (!pools || pools->t != J_ARR)
		return NULL;
	for (i = 0; i < pools->n; i++) {
		n = jget(&pools->items[i], "name");
		if (n && n->t == J_STR && !strcmp(n->str, name))
			return &pools->items[i];
	}
	return NULL;
}

/* ---- running magstat ---- */

static char magstat[PATH_MAX];

/* magstat beside this binary: 0, or -errno. */
static int find_magstat(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = 0;
	snprintf(magstat, sizeof(magstat), "%s/magstat", dirname(self));
	return access(magstat, X_OK) ? -errno : 0;
}

struct run {
	char out[1 << 18];
	size_t len;
	char err[4096];
	size_t elen;
	int status;		/* waitpid's; -1 if killed at the deadline */
};

static void drain(int *fd, char *buf, size_t *len, size_t cap)
{
	ssize_t n = read(*fd, buf + *len, cap - 1 - *len);

	if (n > 0) {
		*len += n;
		buf[*len] = 0;
	} else {
		close(*fd);
		*fd = -1;
	}
}

/* magstat @args with stdin /dev/null and stdout, stderr pipes; RUN_SECS at most. */
static void run_magstat(struct run *r, const char *const *args)
{
	int out[2], err[2], null, i;
	char *argv[16];
	struct pollfd pfd[2];
	time_t end = time(NULL) + RUN_SECS;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		r->status = -2;
		return;
	}
	argv[0] = magstat;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (!pid) {
		null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(magstat, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	pfd[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
	while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && time(NULL) < end) {
		if (poll(pfd, 2, 200) <= 0)
			continue;
		if (pfd[0].fd >= 0 && pfd[0].revents)
			drain(&pfd[0].fd, r->out, &r->len, sizeof(r->out));
		if (pfd[1].fd >= 0 && pfd[1].revents)
			drain(&pfd[1].fd, r->err, &r->elen, sizeof(r->err));
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	if (time(NULL) >= end) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r->status = -1;
		return;
	}
	waitpid(pid, &r->status, 0);
}

static int exit_code(const struct run *r)
{
	return r->status >= 0 && WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* The CPUs of /sys/devices/system/cpu/possible ("0-3,5"), or -1. */
static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	int a, b, n = 0, k;
	char c;

	if (!f)
		return -1;
	while ((k = fscanf(f, "%d", &a)) == 1) {
		b = a;
		c = fgetc(f);
		if (c == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			c = fgetc(f);
		}
		n += b - a + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return n ? n : -1;
}

/* Whether the module exports a hit counter magstat would show. */
static bool hit_counter(void)
{
	char line[1024];
	bool found = access(SYS_DIR "/mag-64/alloc_hits", F_OK) == 0;
	FILE *f = fopen("/sys/kernel/debug/magalloc/stats", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "pool ", 5) && strstr(line, " hits");
	if (f)
		fclose(f);
	return found;
}

FIXTURE(magstat) {
	struct run r;
};

FIXTURE_SETUP(magstat)
{
	int ret;

	if (access(DEV_PATH, F_OK))
		SKIP(return, "no %s (module not loaded?)", DEV_PATH);
	ret = find_magstat();
	ASSERT_EQ(0, ret) TH_LOG("%s: %s (check.sh ships it beside the test)", magstat,
				 strerror(-ret));
}

FIXTURE_TEARDOWN(magstat)
{
}

/*
 * One --json -a snapshot: valid JSON, numbers as integers, every generic
 * pool with sysfs's geometry, counts that add up; with debugfs (root), the
 * nodes, the parked table (a row per possible CPU) and the heap opened
 * here; and the objects allocated through "account" in mag-1024.
 */
TEST_F_TIMEOUT(magstat, json_snapshot, TEST_SECS)
{
	static const char *const args[] = { "--json", "-a", NULL };
	static const int sizes[] = { 8, 64, 1024, 4096, 32768 };
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	long long before, page = getpagesize();
	struct jv doc, *p, *v;
	const char *err = "";
	struct heap h;
	char cmd[32], name[32];
	unsigned int i;
	int fd;

	ASSERT_EQ(0, mg_open(&h));
	fd = open(ACCT_FILE, O_RDWR | O_CLOEXEC);
	before = attr("mag-1024", "objects");
	if (fd >= 0) {
		snprintf(cmd, sizeof(cmd), "1024 %d", NOBJS);
		ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	}
	run_magstat(&self->r, args);
	if (fd >= 0)
		close(fd);
	mg_close(&h);
	ASSERT_EQ(0, exit_code(&self->r)) TH_LOG("stderr: %s", self->r.err);
	ASSERT_TRUE(json_parse(self->r.out, &doc, &err))
		TH_LOG("not JSON (%s): %.300s", err, self->r.out);
	ASSERT_EQ(J_OBJ, doc.t);
	EXPECT_EQ(1, jint(&doc, "magstat"));
	EXPECT_EQ(page, jint(&doc, "page_size"));
	EXPECT_LT(0, jint(&doc, "time"));
	v = jget(&doc, "pool_source");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ("sysfs", v->str);

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		long long objects, total;

		snprintf(name, sizeof(name), "mag-%d", sizes[i]);
		p = jpool(&doc, name);
		ASSERT_NE(NULL, p) TH_LOG("%s missing", name);
		EXPECT_EQ(sizes[i], jint(p, "size"));
		EXPECT_EQ(sizes[i], jint(p, "object_size"));
		EXPECT_EQ(attr(name, "objs_per_span"), jint(p, "objs_per_span"));
		EXPECT_EQ(attr(name, "pages_per_span"), jint(p, "pages_per_span"));
		EXPECT_EQ(attr(name, "magazine_size"), jint(p, "magazine_size"));
		objects = jint(p, "objects");
		total = jint(p, "total_objects");
		EXPECT_LE(0, objects);
		EXPECT_LE(objects, total) TH_LOG("%s", name);
		EXPECT_EQ(total - objects, jint(p, "free"));
		EXPECT_EQ(jint(p, "spans") * jint(p, "pages_per_span") * page, jint(p, "bytes"));
		EXPECT_LE(0, jint(p, "alloc_misses"));
		EXPECT_LE(0, jint(p, "slow_entries"));
		EXPECT_NE(NULL, jget(p, "per_node"));
		/* no hit rate unless the module exports a hit counter */
		EXPECT_EQ(attr(name, "alloc_hits") >= 0, !!jget(p, "hit_rate"));
	}
	if (fd >= 0) {
		p = jpool(&doc, "mag-1024");
		EXPECT_LE(before + NOBJS - PARKED(cpus), jint(p, "objects"))
			TH_LOG("before %lld, with %d more %lld", before, NOBJS, jint(p, "objects"));
	}

	if (access("/sys/kernel/debug/magalloc/stats", R_OK))
		return;		/* not root: the pools are all there is */
	v = jget(&doc, "nodes");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(J_ARR, v->t);
	EXPECT_LE(1, v->n);
	EXPECT_LE(0, jint(jget(&doc, "kernel"), "abi_version"));
	v = jget(jget(&doc, "parked"), "cpus");
	ASSERT_NE(NULL, v) TH_LOG("no parked.cpus");
	EXPECT_EQ(possible_cpus(), v->n);
	EXPECT_LE(0, jint(jget(jget(&doc, "parked"), "all"), "bytes"));
	v = jget(&doc, "heaps");
	ASSERT_NE(NULL, v);
	ASSERT_EQ(J_ARR, v->t);
	EXPECT_LE(1, v->n) TH_LOG("the heap opened here is not listed");
	for (i = 0; i < (unsigned int)v->n; i++)
		EXPECT_LT(0, jint(&v->items[i], "cap"));
}

/* -s waste: pools in descending order of wasted bytes. */
TEST_F_TIMEOUT(magstat, json_sorted, TEST_SECS)
{
	static const char *const args[] = { "-k", "--json", "-a", "-s", "waste", NULL };
	long long prev = LLONG_MAX, w;
	const char *err = "";
	struct jv doc, *pools;
	int i;

	run_magstat(&self->r, args);
	ASSERT_EQ(0, exit_code(&self->r)) TH_LOG("stderr: %s", self->r.err);
	ASSERT_TRUE(json_parse(self->r.out, &doc, &err)) TH_LOG("not JSON: %s", err);
	EXPECT_EQ(NULL, jget(&doc, "heaps"));	/* -k */
	pools = jget(&doc, "pools");
	ASSERT_NE(NULL, pools);
	ASSERT_LE(5, pools->n);
	for (i = 0; i < pools->n; i++) {
		struct jv *p = &pools->items[i];

		w = jint(p, "bytes") - jint(p, "objects") * jint(p, "size");
		if (w < 0)
			w = 0;
		EXPECT_GE(prev, w) TH_LOG("pool %d out of order", i);
		prev = w;
	}
}

/* Repeating, one document per line. */
TEST_F_TIMEOUT(magstat, json_lines, TEST_SECS)
{
	static const char *const args[] = { "-k", "--json", "-i", "1", "-c", "2", NULL };
	char *line, *save;
	const char *err = "";
	struct jv doc;
	int n = 0;

	run_magstat(&self->r, args);
	ASSERT_EQ(0, exit_code(&self->r))
		TH_LOG("status %d, stderr: %s", self->r.status, self->r.err);
	for (line = strtok_r(self->r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		EXPECT_TRUE(json_parse(line, &doc, &err)) TH_LOG("line %d: %s", n + 1, err);
		n++;
	}
	EXPECT_EQ(2, n);
}

/*
 * -w with a pipe for stdout: two plain snapshots, no escape sequence, and
 * it ends by itself.  -a: the table whatever the pools hold (an idle
 * system's trim can leave none in use, and then no table).
 */
TEST_F_TIMEOUT(magstat, watch_not_a_tty, TEST_SECS)
{
	static const char *const args[] = { "-w", "-i", "1", "-c", "2", "-k", "-a", "-s", "size",
					    NULL };
	char *s;
	int n = 0;

	run_magstat(&self->r, args);
	ASSERT_NE(-1, self->r.status) TH_LOG("magstat -w -c 2 still ran after %d s", RUN_SECS);
	ASSERT_EQ(0, exit_code(&self->r)) TH_LOG("stderr: %s", self->r.err);
	for (s = self->r.out; (s = strstr(s, "--- magstat ")); s++)
		n++;
	EXPECT_EQ(2, n) TH_LOG("%.600s", self->r.out);
	EXPECT_EQ(NULL, strchr(self->r.out, '\033'));
	EXPECT_NE(NULL, strstr(self->r.out, "sorted by size"));
	EXPECT_NE(NULL, strstr(self->r.out, " POOL "));
}

/* No hit counter, no hit sort; one exported, and it works. */
TEST_F_TIMEOUT(magstat, hit_needs_a_counter, TEST_SECS)
{
	static const char *const args[] = { "-k", "-s", "hit", NULL };

	run_magstat(&self->r, args);
	if (hit_counter()) {
		EXPECT_EQ(0, exit_code(&self->r));
		EXPECT_NE(NULL, strstr(self->r.out, "HIT"));
	} else {
		EXPECT_EQ(2, exit_code(&self->r));
		EXPECT_NE(NULL, strstr(self->r.err, "hit counter"));
		EXPECT_EQ(NULL, strstr(self->r.out, "HIT"));
	}
}

/* Everything of @fd until @want shows or @secs pass; true if it showed. */
static bool read_until(int fd, char *buf, size_t *len, size_t cap, const char *want, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t end = time(NULL) + secs;
	ssize_t n;

	while (!strstr(buf, want) && time(NULL) < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			break;
		*len += n;
		buf[*len] = 0;
	}
	return strstr(buf, want);
}

/* Wait for @pid at most @secs seconds; kill it after. */
static int wait_for(pid_t pid, int *status, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/*
 * -w on a terminal (a pty of a devpts instance of our own, mounted in a
 * mount namespace of our own): non-canonical, no echo while it runs; "n"
 * sorts by name at once; "q" ends it with 0, and the terminal is as it
 * was.
 */
TEST_F_TIMEOUT(magstat, watch_terminal, TEST_SECS)
{
	struct termios before, during, after;
	char buf[65536] = "", dir[] = "/tmp/magstat-pts.XXXXXX", ptmx[64];
	int master, slave, status, unlock = 0;
	size_t len = 0;
	pid_t pid;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		SKIP(return, "no mount namespace of our own: %s", strerror(errno));
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("devpts", dir, "devpts", 0, "newinstance,ptmxmode=0666"))
		TH_LOG("devpts: %s", strerror(errno));
	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", dir);
	master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, master) TH_LOG("%s: %s", ptmx, strerror(errno));
	ASSERT_EQ(0, ioctl(master, TIOCSPTLCK, &unlock));
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, slave) TH_LOG("TIOCGPTPEER: %s", strerror(errno));
	ASSERT_EQ(0, tcgetattr(slave, &before));
	ASSERT_TRUE((before.c_lflag & ICANON) != 0);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		/* no redraw of its own within the test: only keys make one */
		execl(magstat, "magstat", "-w", "-i", "3600", "-k", NULL);
		_exit(127);
	}
	EXPECT_TRUE(read_until(master, buf, &len, sizeof(buf), "sorted by objects", RUN_SECS))
		TH_LOG("no first screen: %.300s", buf);
	EXPECT_NE(NULL, strstr(buf, "\033[H\033[2J"));
	ASSERT_EQ(0, tcgetattr(slave, &during));
	EXPECT_FALSE((during.c_lflag & ICANON) != 0);
	EXPECT_FALSE((during.c_lflag & ECHO) != 0);
	ASSERT_EQ(1, write(master, "n", 1));
	/* a snapshot took over 15 s on the KASAN kernel under load */
	EXPECT_TRUE(read_until(master, buf, &len, sizeof(buf), "sorted by name", RUN_SECS))
		TH_LOG("'n' did not sort by name");
	ASSERT_EQ(1, write(master, "q", 1));
	read_until(master, buf, &len, sizeof(buf), "\033[?25h", RUN_SECS);
	EXPECT_EQ(0, wait_for(pid, &status, RUN_SECS)) TH_LOG("'q' did not end it");
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("status %#x", status);
	ASSERT_EQ(0, tcgetattr(slave, &after));
	EXPECT_EQ(before.c_lflag, after.c_lflag);
	EXPECT_EQ(before.c_cc[VMIN], after.c_cc[VMIN]);
	close(slave);
	close(master);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TEST_HARNESS_MAIN
