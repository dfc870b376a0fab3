/* SPDX-License-Identifier: MIT */
/*
 * bench runs every workload on every engine, interleaved rep by rep, and
 * prints each engine's median throughput as a ratio to the kernel's mmap:
 * these machines are shared and noisy, and only ratios from one run mean
 * anything.  Every run's checksum must equal the expected one, which is
 * also the kernel's; a wrong result is marked WRONG, never shown as a
 * speed, and makes the exit status 1.
 *
 * The data file (pattern: word i holds (i + 1) * GOLDEN) is page-cached
 * for the first three workloads, which so measure the cost of mapping and
 * faulting rather than the disk.  rand-4x starts each run with the file
 * dropped from the page cache, in a fresh child process; the kernel's and
 * read()'s children are moved into a memory cgroup limited to upager's
 * budget (plus a little slack for the process itself) when one can be
 * made.  The upager children are not: their pager holds at most its
 * budget, but its misses read through the page cache, which is not
 * confined.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_BUF (1 * MiB)
#define GOLDEN 0x9e3779b97f4a7c15ull
#define WRITE_XOR 0x5555555555555555ull
#define CG_ROOT "/sys/fs/cgroup/memory"
#define RAND_SEED 42

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

const struct engine_def engines[E_NR] = {
	[E_KERNEL] = { "kernel", 0, "#555555" },
	[E_READ] = { "read", 0, "#999999" },
	[E_UP4K] = { "upager-4K", 4 * KiB, "#9ecae1" },
	[E_UP64K] = { "upager-64K", 64 * KiB, "#4292c6" },
	[E_UP2M] = { "upager-2M", 2 * MiB, "#08519c" },
};

/* -- engines: the kernel's mmap, or an upager pager -- */

static int eng_open(struct eng *g, int e, uint64_t budget)
{
	struct up_config cfg;

	g->e = e;
	g->p = NULL;
	if (!engines[e].page_len)
		return 0;
	up_config_init(&cfg);
	cfg.budget = budget;
	cfg.page_len = engines[e].page_len;
	return up_pager_open(&g->p, &cfg);
}

static void eng_close(struct eng *g)
{
	if (g->p)
		up_pager_close(g->p);
}

static int eng_map(struct eng *g, int fd, uint64_t len, int prot, char **out)
{
	void *m;

	if (g->p)
		return up_pager_map(g->p, NULL, len, prot, MAP_SHARED, fd, 0,
				    (void **)out);
	m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

static int eng_unmap(struct eng *g, char *m, uint64_t len)
{
	if (g->p)
		return up_pager_unmap(g->p, m, len);
	return munmap(m, len) ? -errno : 0;
}

static int eng_sync(struct eng *g, char *m, uint64_t len)
{
	if (g->p)
		return up_pager_sync(g->p, m, len, MS_SYNC);
	return msync(m, len, MS_SYNC) ? -errno : 0;
}

static void eng_advise(struct eng *g, char *m, uint64_t len, int advice)
{
	if (g->p)
		up_pager_advise(g->p, m, len, advice);
	else
		madvise(m, len, advice);
}

/* -- the data and its checksums -- */

static uint64_t pat(uint64_t off)
{
	return (off / 8 + 1) * GOLDEN;
}

static void fill_words(uint64_t *w, uint64_t off, size_t nr, uint64_t x)
{
	for (size_t i = 0; i < nr; i++)
		w[i] = pat(off + i * 8) ^ x;
}

static uint64_t sum_words(const uint64_t *w, size_t nr)
{
	uint64_t s = 0;

	for (size_t i = 0; i < nr; i++)
		s += w[i];
	return s;
}

/* The sum of all words of [0, len) of fd, by pread(2). */
static int rd_sum(int fd, uint64_t len, uint64_t *sum)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	*sum = 0;
	for (uint64_t off = 0; !err && off < len; off += BENCH_BUF) {
		size_t n = len - off < BENCH_BUF ? len - off : BENCH_BUF;

		err = pread_all(fd, buf, n, (off_t)off);
		*sum += sum_words(buf, n / 8);
	}
	return err;
}

static uint64_t rand_off(uint64_t *rs, uint64_t len)
{
	return rnd_next(rs) % (len / 8) * 8;
}

static uint64_t rand_touch(const char *m, uint64_t len, uint64_t nr)
{
	uint64_t rs = RAND_SEED, sum = 0;

	for (uint64_t i = 0; i < nr; i++)
		sum += *(const volatile uint64_t *)(m + rand_off(&rs, len));
	return sum;
}

static int rand_pread(int fd, uint64_t len, uint64_t nr, uint64_t *sum)
{
	uint64_t rs = RAND_SEED, w;
	int err = 0;

	*sum = 0;
	for (uint64_t i = 0; !err && i < nr; i++) {
		err = pread_all(fd, &w, 8, (off_t)rand_off(&rs, len));
		*sum += w;
	}
	return err;
}

static void bench_expect(struct bench *b)
{
	uint64_t rs, s;

	s = 0;
	for (uint64_t off = 0; off < b->len; off += 8)
		s += pat(off);
	b->expect[W_SEQ] = b->expect[W_RESCAN] = s;
	s = 0;
	for (uint64_t off = 0; off < b->len; off += 8)
		s += pat(off) ^ WRITE_XOR;
	b->expect[W_WRITE] = s;
	rs = RAND_SEED;
	s = 0;
	for (uint64_t i = 0; i < b->rand_nr; i++)
		s += pat(rand_off(&rs, b->len));
	b->expect[W_RAND] = s;
	rs = RAND_SEED;
	s = 0;
	for (uint64_t i = 0; i < b->rand4x_nr; i++)
		s += pat(rand_off(&rs, b->len4x));
	b->expect[W_RAND4X] = s;
}

/* -- the workloads: each fills s->secs, s->work and s->sum -- */

/* Where an untimed scan's sum goes, so the compiler keeps the scan. */
static volatile uint64_t sink;

/* Map, optionally scan once untimed, then time a scan (with the map). */
static int scan_map(struct bench *b, struct eng *g, struct sample *s,
		    bool rescan)
{
	uint64_t t0 = now_ns();
	char *m;
	int err = eng_map(g, b->fd, b->len, PROT_READ, &m);

	if (err)
		return err;
	if (rescan) {
		sink = sum_words((const uint64_t *)m, b->len / 8);
		t0 = now_ns();
	}
	s->sum = sum_words((const uint64_t *)m, b->len / 8);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return eng_unmap(g, m, b->len);
}

static int w_scan(struct bench *b, struct eng *g, struct sample *s,
		  bool rescan)
{
	uint64_t t0;
	int err;

	s->work = (double)b->len;
	if (g->e != E_READ)
		return scan_map(b, g, s, rescan);
	if (rescan && (err = rd_sum(b->fd, b->len, &s->sum)))
		return err;
	t0 = now_ns();
	err = rd_sum(b->fd, b->len, &s->sum);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return err;
}

static int w_seq(struct bench *b, struct eng *g, struct sample *s)
{
	return w_scan(b, g, s, false);
}

static int w_rescan(struct bench *b, struct eng *g, struct sample *s)
{
	return w_scan(b, g, s, true);
}

static int w_random(struct bench *b, struct eng *g, struct sample *s,
		    uint64_t len, uint64_t nr)
{
	uint64_t t0 = now_ns();
	char *m;
	int err;

	s->work = (double)nr;
	if (g->e == E_READ) {
		err = rand_pread(b->fd, len, nr, &s->sum);
		s->secs = (double)(now_ns() - t0) / 1e9;
		return err;
	}
	if ((err = eng_map(g, b->fd, len, PROT_READ, &m)))
		return err;
	eng_advise(g, m, len, MADV_RANDOM);
	s->sum = rand_touch(m, len, nr);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return eng_unmap(g, m, len);
}

static int w_rand(struct bench *b, struct eng *g, struct sample *s)
{
	return w_random(b, g, s, b->len, b->rand_nr);
}

static int w_rand4x(struct bench *b, struct eng *g, struct sample *s)
{
	return w_random(b, g, s, b->len4x, b->rand4x_nr);
}

static int write_read(int fd, uint64_t len)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	for (uint64_t off = 0; !err && off < len; off += BENCH_BUF) {
		size_t n = len - off < BENCH_BUF ? len - off : BENCH_BUF;

		fill_words(buf, off, n / 8, WRITE_XOR);
		err = pwrite_all(fd, buf, n, (off_t)off);
	}
	return err ? err : fdatasync(fd) ? -errno : 0;
}

static int write_map(struct eng *g, int fd, uint64_t len)
{
	char *m;
	int err = eng_map(g, fd, len, PROT_READ | PROT_WRITE, &m);

	if (err)
		return err;
	fill_words((uint64_t *)m, 0, len / 8, WRITE_XOR);
	err = eng_sync(g, m, len);
	eng_unmap(g, m, len);
	return err;
}

/* Write a fresh file and sync it; then checksum it, untimed. */
static int w_write(struct bench *b, struct eng *g, struct sample *s)
{
	int fd = open(b->wfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t t0;
	int err;

	if (fd < 0)
		return -errno;
	s->work = (double)b->len;
	t0 = now_ns();
	if (ftruncate(fd, (off_t)b->len))
		err = -errno;
	else if (g->e == E_READ)
		err = write_read(fd, b->len);
	else
		err = write_map(g, fd, b->len);
	s->secs = (double)(now_ns() - t0) / 1e9;
	if (!err)
		err = rd_sum(fd, b->len, &s->sum);
	close(fd);
	return err;
}

const struct workload workloads[W_NR] = {
	[W_SEQ] = { "seq-first", "first-touch sequential scan (page-cached)",
		    "MiB/s", MiB, w_seq },
	[W_RESCAN] = { "rescan", "resident re-scan", "MiB/s", MiB, w_rescan },
	[W_RAND] = { "rand", "random 8-byte reads, file within the budget",
		     "k reads/s", 1e3, w_rand },
	[W_RAND4X] = { "rand-4x", "random 8-byte reads, file 4 x the budget, "
		       "cold", "k reads/s", 1e3, w_rand4x },
	[W_WRITE] = { "seq-write", "sequential write + msync(MS_SYNC)",
		      "MiB/s", MiB, w_write },
};

/* -- running: here, or in a child process (in the cgroup) -- */

static int put_file(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Make the memory cgroup for rand-4x; NULL, or why there is none. */
static const char *cg_make(const struct bench *b)
{
	char val[32];

	if (SANITIZED)
		return "a sanitizer build, whose shadow memory would not fit";
	if (geteuid())
		return "not root";
	if (access(CG_ROOT "/memory.limit_in_bytes", W_OK))
		return "no writable memory cgroup v1 at " CG_ROOT;
	snprintf(clean_cg, sizeof(clean_cg), CG_ROOT "/upager-bench-%d",
		 (int)getpid());
	if (mkdir(clean_cg, 0755)) {
		clean_cg[0] = 0;
		return "cannot make a memory cgroup";
	}
	snprintf(val, sizeof(val), "%llu",
		 (unsigned long long)(b->budget4x + CG_SLACK));
	if (put_file(clean_cg, "memory.limit_in_bytes", val)) {
		rmdir(clean_cg);
		clean_cg[0] = 0;
		return "cannot set memory.limit_in_bytes";
	}
	return NULL;
}

static void cg_remove(void)
{
	if (clean_cg[0] && rmdir(clean_cg))
		msg("%s: %s", clean_cg, strerror(errno));
	clean_cg[0] = 0;
}

static bool confined(const struct bench *b, int w, int e)
{
	return w == W_RAND4X && !b->nocg && (e == E_KERNEL || e == E_READ);
}

static int run_here(struct bench *b, int w, int e, struct sample *s)
{
	uint64_t budget = w == W_RAND4X ? b->budget4x : b->len;
	struct eng g;
	int err = eng_open(&g, e, budget);

	if (err)
		return err;
	snprintf(s->backend, sizeof(s->backend), "%s",
		 g.p ? up_pager_backend(g.p) : e == E_KERNEL ? "mmap" : "read");
	err = workloads[w].run(b, &g, s);
	eng_close(&g);
	return err;
}

static void __attribute__((noreturn))
child_main(struct bench *b, int w, int e, int out)
{
	struct sample s = { 0 };
	char cg[PATH_MAX], pid[32];

	/* The parent removes the files and the cgroup, not the child. */
	snprintf(cg, sizeof(cg), "%s", clean_cg);
	clean_set(0, NULL);
	clean_set(1, NULL);
	clean_cg[0] = 0;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (confined(b, w, e))
		s.err = put_file(cg, "cgroup.procs", pid);
	if (!s.err)
		s.err = run_here(b, w, e, &s);
	_exit(write(out, &s, sizeof(s)) == sizeof(s) ? 0 : 1);
}

/* A run in a fresh child, which the kernel's OOM killer may end. */
static int run_child(struct bench *b, int w, int e, struct sample *s)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pfd[0]);
		child_main(b, w, e, pfd[1]);
	}
	clean_pid = pid;
	close(pfd[1]);
	do
		n = read(pfd[0], s, sizeof(*s));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	clean_pid = 0;
	if (n != sizeof(*s))
		return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
			       ? -ENOMEM : -ECHILD;
	return s->err;
}

static void bench_progress(struct bench *b, int w, int e, int rep)
{
	bool tty = isatty(STDERR_FILENO);

	b->step++;
	fprintf(stderr, "%sbench: [%d/%d] %-10s %-11s %s %d/%d%s",
		tty ? "\r" : "", b->step, b->steps, workloads[w].name,
		engines[e].name, rep < 0 ? "warm-up" : "rep", rep < 0 ? 1
		: rep + 1, rep < 0 ? 1 : b->reps, tty ? "\033[K" : "\n");
}

static void record(struct bench *b, int w, int e, const struct sample *s,
		   int err)
{
	struct cell *c = &b->cells[w][e];

	c->confined = confined(b, w, e);
	snprintf(c->backend, sizeof(c->backend), "%s", s->backend);
	if (err) {
		if (!c->err)
			msg("%s on %s: %s", workloads[w].name, engines[e].name,
			    up_strerror(err));
		c->err = err;
		return;
	}
	c->sum = s->sum;
	/* The kernel ran first in this rep: its checksum is the peer's. */
	if (s->sum != b->expect[w] || (b->cells[w][E_KERNEL].nr &&
				       s->sum != b->cells[w][E_KERNEL].sum))
		c->wrong = true;
	if (c->nr < BENCH_REPS_MAX)
		c->v[c->nr++] = s->work / workloads[w].scale /
				(s->secs > 1e-9 ? s->secs : 1e-9);
}

static void run_cell(struct bench *b, int w, int e, int rep)
{
	struct sample s = { 0 };
	int err;

	bench_progress(b, w, e, rep);
	if (w == W_RAND4X) {
		posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
		err = run_child(b, w, e, &s);
	} else {
		err = run_here(b, w, e, &s);
	}
	if (rep >= 0)
		record(b, w, e, &s, err);
}

static void bench_run(struct bench *b)
{
	b->steps = W_NR * E_NR * (b->reps + b->warm);
	for (int w = 0; w < W_NR; w++)
		for (int rep = b->warm ? -1 : 0; rep < b->reps; rep++)
			for (int e = 0; e < E_NR; e++)
				run_cell(b, w, e, rep);
	if (isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(path))
		return fail(dir, -ENAMETOOLONG);
	memcpy(path, dir, n + 1);
	for (char *s = path + 1; ; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return fail(path, -errno);
		*s = c;
		if (!c)
			break;
	}
	return ST_OK;
}

/* The data file, page-cached and synced (so it can be dropped). */
static int make_data(struct bench *b)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	snprintf(b->data, sizeof(b->data), "%s/upager-bench-data-%d", b->dir,
		 (int)getpid());
	snprintf(b->wfile, sizeof(b->wfile), "%s/upager-bench-write-%d",
		 b->dir, (int)getpid());
	b->fd = open(b->data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0)
		return fail(b->data, -errno);
	clean_set(0, b->data);
	clean_set(1, b->wfile);
	fprintf(stderr, "bench: writing %llu MiB of data to %s\n",
		(unsigned long long)(b->len4x / MiB), b->data);
	for (uint64_t off = 0; !err && off < b->len4x; off += BENCH_BUF) {
		fill_words(buf, off, BENCH_BUF / 8, 0);
		err = pwrite_all(b->fd, buf, BENCH_BUF, (off_t)off);
	}
	if (!err && fdatasync(b->fd))
		err = -errno;
	return err ? fail(b->data, err) : ST_OK;
}

static void remove_data(struct bench *b)
{
	if (b->fd >= 0)
		close(b->fd);
	unlink(b->data);
	unlink(b->wfile);
	clean_set(0, NULL);
	clean_set(1, NULL);
}

static int bench_sizes(struct bench *b)
{
	b->len = b->size ? b->size : b->quick ? 32 * MiB : 256 * MiB;
	if (b->len < 4 * MiB || b->len % (2 * MiB))
		return usage("--size %s: must be a multiple of 2M, at least 4M",
			     b->size_arg);
	b->len4x = 2 * b->len;
	b->budget4x = b->len / 2;
	b->rand_nr = 2 * b->len / sys_page();
	b->rand4x_nr = 2 * b->budget4x / sys_page();
	if (!b->reps)
		b->reps = b->quick ? 1 : 3;
	b->warm = !b->quick;
	return 0;
}

/* A bench option for get_opts(). */
static int bench_opt(void *ctx, int c, const char *arg)
{
	struct bench *b = ctx;
	uint64_t v;

	switch (c) {
	case 'q':
		b->quick = true;
		return 0;
	case 'o':
		b->out = arg;
		return 0;
	case 'd':
		b->dir = arg;
		return 0;
	case 's':
		b->size_arg = arg;
		return opt_size("--size", arg, &b->size);
	case 'r':
		if (opt_size("--reps", arg, &v))
			return ST_USAGE;
		if (!v || v > BENCH_REPS_MAX)
			return usage("--reps %s: must be from 1 to %d", arg,
				     BENCH_REPS_MAX);
		b->reps = (int)v;
		return 0;
	}
	return -1;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct bench b;
	int st;

	b.out = "upager-bench";
	b.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	b.fd = -1;
	if ((st = get_opts(argc, argv, ":h", lo, bench_opt, &b)) >= 0)
		return st;
	if (optind != argc)
		return usage("takes no operands");
	if ((st = bench_sizes(&b)) || (st = mkdir_p(b.out)))
		return st;
	if ((st = make_data(&b))) {
		remove_data(&b);
		return st;
	}
	b.nocg = cg_make(&b);
	print_header(&b);
	fflush(stdout);
	bench_expect(&b);
	bench_run(&b);
	cg_remove();
	remove_data(&b);
	return bench_report(&b);
}
