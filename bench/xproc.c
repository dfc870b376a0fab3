/* SPDX-License-Identifier: MIT */
/*
 * xproc - processes sharing one page cache (UP_CONFIG_SHARED).
 *
 * Part 1, a fault on a page another process read in.  Process A (a
 * sharing pager, 4 KiB pages, read-ahead 16, budget = file) faults in
 * every page of a page-cached file, checks it and keeps it mapped; then
 * process B (a sharing pager of its own, no read-ahead) touches N distinct
 * random pages, one word each, timing every touch.  B should pay a map
 * from the shared segment (UFFDIO_CONTINUE) per fault and read nothing
 * from the file.  Beside it, in the same run, each in a fresh process,
 * with the same pages in the same order:
 *   - the kernel's mmap with MADV_RANDOM (the base) of a copy of the file
 *     cached in 4 KiB folios, and of the file as usually cached (2 MiB
 *     folios), as in bench/fault.c;
 *   - B alone on a cold segment (the first toucher, which reads every
 *     page it touches), and B with a pager that does not share;
 *   - B again after unmapping and remapping the file while A still holds
 *     it: pages resident in the segment, re-touched by the same process.
 *     (Without A the segment would go with B's unmap: the cold case.)
 *
 * Part 2, concurrent scans.  P = 1, 2 and 4 processes, each with its own
 * sharing pager (64 KiB or 2 MiB pages, read-ahead 16, budget = file),
 * are released at once and each maps the same page-cached file, checksums
 * all of it and unmaps it.  The figure is aggregate GB/s: P x file / (last
 * end - first start).  The base is P processes doing the same through the
 * kernel's mmap; the contrast, P pagers at 2 MiB that do not share, each
 * reading the file into its own cache.  "fills" says how many times the
 * file was read in all (sharing: 1.00x, each page once, whatever P).
 *
 * Every word touched is checked against the pattern and every scan's
 * checksum against the file's.  This process never opens a pager: each
 * engine runs in freshly forked children, so upager and the kernel alike
 * start from empty page tables, and a child that crashes or hangs (it has
 * CHILD_SECS) is reported, not fatal.
 */
#include "bench.h"

#include <signal.h>
#include <sys/wait.h>

#define WHAT "processes sharing one page cache (UP_CONFIG_SHARED)"
#define CHILD_SECS 120
#define SCANNERS_MAX 4

/* What a child reports, in memory shared with this process. */
struct res {
	double mean_us, p50_us, p99_us;	/* part 1: per touch */
	uint64_t t0, t1;		/* part 2: CLOCK_MONOTONIC ns */
	uint64_t bad;			/* wrong words, or a wrong checksum */
	uint64_t faults, fills;
	char err[160];
};

/* How a child maps the file: page_len 0 is the kernel's mmap. */
struct how {
	size_t page_len;
	unsigned ra, flags;
	uint64_t budget;
};

static struct res *res;		/* MAP_SHARED | MAP_ANONYMOUS, kernel's */
static int uffd_ok;		/* upager rows can run */

/* ---- children ---------------------------------------------------------- */

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(struct res *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* Run fn(arg) in a child that ends with _exit(0). */
static pid_t spawn(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(CHILD_SECS);	/* a hang ends as SIGALRM, reported */
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* Wait for a child; 0 if it exited with 0, else why goes into r->err. */
static int reap(pid_t pid, struct res *r)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		snprintf(r->err, sizeof(r->err), "waitpid: %s",
			 strerror(errno));
	else if (WIFSIGNALED(st))
		snprintf(r->err, sizeof(r->err), "child killed by %s%s",
			 strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGALRM ? " (over its time)" : "");
	else if (WEXITSTATUS(st) && !r->err[0])
		snprintf(r->err, sizeof(r->err), "child exit status %d",
			 WEXITSTATUS(st));
	return r->err[0] ? -1 : 0;
}

static struct up_pager *child_open(const struct how *h, struct res *r)
{
	struct up_config cfg;
	struct up_pager *p;
	int err;

	if (!h->page_len)
		return NULL;
	up_config_init(&cfg);
	cfg.budget = h->budget;
	cfg.page_len = h->page_len;
	cfg.readahead_nr = h->ra;
	cfg.backend = UP_BACKEND_UFFD;	/* never the kernel under our name */
	cfg.flags = h->flags;
	err = up_pager_open(&p, &cfg);
	if (err)
		fail(r, "up_pager_open: %s", up_strerror(err));
	return p;
}

static void *child_map(struct up_pager *p, int fd, uint64_t len, int advice,
		       struct res *r)
{
	void *addr;
	int err;

	if (!p) {
		addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (addr == MAP_FAILED)
			fail(r, "mmap: %s", strerror(errno));
		if (advice >= 0)
			madvise(addr, len, advice);
		return addr;
	}
	err = up_pager_map(p, NULL, len, PROT_READ, MAP_SHARED, fd, 0, &addr);
	if (err)
		fail(r, "up_pager_map: %s (%s)", up_strerror(err),
		     up_pager_note(p));
	if (advice >= 0)
		up_pager_advise(p, addr, len, advice);
	return addr;
}

static void child_unmap(struct up_pager *p, void *addr, uint64_t len,
			struct res *r)
{
	int err = p ? up_pager_unmap(p, addr, len)
		    : (munmap(addr, len) ? -errno : 0);

	if (err)
		fail(r, "unmap: %s", up_strerror(err));
}

static void child_close(struct up_pager *p, struct res *r)
{
	int err = p ? up_pager_close(p) : 0;

	if (err)
		fail(r, "up_pager_close: %s", up_strerror(err));
}

/* Faults and fills so far: the pager's, or the process's for the kernel. */
static void counts(struct up_pager *p, uint64_t *faults, uint64_t *fills)
{
	struct up_stats st = { 0 };

	if (!p) {
		*faults = bench_faults_self();
		*fills = 0;
		return;
	}
	up_pager_stats(p, &st);
	*faults = st.faults_read + st.faults_write;
	*fills = st.fills;
}

/* A one-byte signal between this process and a child. */
static void put1(int fd)
{
	if (write(fd, "", 1) != 1)
		_exit(3);
}

static int get1(int fd)
{
	char c;

	return read(fd, &c, 1) == 1;
}

/* ---- part 1: random touches ---------------------------------------------- */

struct touch_job {
	struct how how;
	int fd;
	uint64_t len, seed, expect;	/* expect: A's checksum */
	uint64_t *pgno;		/* the pages, in order */
	size_t nr;
	int remap;		/* B: touch again after unmap + map */
	struct res *r, *r2;	/* the touches, and the re-touches */
	int ready_w, go_r;	/* A: says it is ready, waits to go */
};

/* Touch every page once; fills r with the time per touch and the wrong
 * words.  A different word of each page, so no page is read at 0. */
static void touch(const struct touch_job *j, const char *p, double *us,
		  struct up_pager *pg, struct res *r)
{
	uint64_t f0, f1, fl0, fl1, t0 = now_ns();

	counts(pg, &f0, &fl0);
	for (size_t i = 0; i < j->nr; i++) {
		uint64_t off = j->pgno[i] * SYS_PAGE + (j->pgno[i] % 512) * 8;
		uint64_t s = now_ns(), v;

		v = *(const volatile uint64_t *)(p + off);
		us[i] = (double)(now_ns() - s) / 1e3;
		r->bad += v != ((off / 8) ^ j->seed);
	}
	r->mean_us = (double)(now_ns() - t0) / 1e3 / (double)j->nr;
	counts(pg, &f1, &fl1);
	r->faults = f1 - f0;
	r->fills = fl1 - fl0;
	r->p50_us = pct_sorted(us, j->nr, 0.50);
	r->p99_us = pct_sorted(us, j->nr, 0.99);
}

static void toucher(void *arg)
{
	const struct touch_job *j = arg;
	double *us = malloc(j->nr * sizeof(*us));
	struct up_pager *p;
	void *addr;

	if (!us)
		fail(j->r, "out of memory");
	memset(us, 0, j->nr * sizeof(*us));	/* no faults of ours timed */
	p = child_open(&j->how, j->r);
	addr = child_map(p, j->fd, j->len, MADV_RANDOM, j->r);
	touch(j, addr, us, p, j->r);
	child_unmap(p, addr, j->len, j->r);
	if (j->remap) {
		addr = child_map(p, j->fd, j->len, MADV_RANDOM, j->r2);
		touch(j, addr, us, p, j->r2);
		child_unmap(p, addr, j->len, j->r2);
	}
	child_close(p, j->r);
	free(us);
}

/* A: fault in the whole file with a sequential checked scan, say so, and
 * hold the mapping until told to go. */
static void holder(void *arg)
{
	const struct touch_job *j = arg;
	struct up_pager *p = child_open(&j->how, j->r);
	void *addr;

	j->r->t0 = now_ns();
	addr = child_map(p, j->fd, j->len, MADV_SEQUENTIAL, j->r);
	j->r->bad = csum(addr, j->len, 0) != j->expect;
	j->r->t1 = now_ns();
	counts(p, &j->r->faults, &j->r->fills);
	put1(j->ready_w);
	close(j->ready_w);
	get1(j->go_r);
	child_unmap(p, addr, j->len, j->r);
	child_close(p, j->r);
}

enum { T_K4K, T_K2M, T_COLD, T_UNSHARED, T_XPROC, T_REMAP, T_NR };

struct touch_rows {
	struct row rows[T_NR];
	double p50[T_NR][BENCH_MAX_REPS], p99[T_NR][BENCH_MAX_REPS];
	double per[T_NR][BENCH_MAX_REPS], fills[T_NR][BENCH_MAX_REPS];
	double a_gbs[BENCH_MAX_REPS];
	int a_nr, a_wrong;
};

static void touch_record(struct touch_rows *t, int e, const struct res *r,
			 int rep, double secs, int nr)
{
	struct row *w = &t->rows[e];

	if (r->err[0]) {
		printf("   %s: rep %d: %s\n", w->engine, rep, r->err);
		return;
	}
	if (rep == 0) {		/* warm-up */
		row_cap(w, secs);
		return;
	}
	t->p50[e][w->nr] = r->p50_us;
	t->p99[e][w->nr] = r->p99_us;
	t->per[e][w->nr] = r->mean_us * nr /
			   (double)(r->faults ? r->faults : 1);
	t->fills[e][w->nr] = (double)r->fills;
	row_add(w, r->mean_us, r->faults, r->bad == 0);
}

/* A holds the file while B touches, then B touches again after a remap. */
static void run_xproc(struct touch_rows *t, struct touch_job *b,
		      uint64_t expect, int rep)
{
	struct touch_job a = *b;
	int ready[2], go[2];
	pid_t pa, pb;
	uint64_t t0;

	if (pipe(ready) || pipe(go))
		die("pipe: %s", strerror(errno));
	memset(&res[0], 0, 3 * sizeof(res[0]));
	a.how.ra = 16;
	a.expect = expect;
	a.r = &res[0];
	a.ready_w = ready[1];
	a.go_r = go[0];
	pa = spawn(holder, &a);
	close(ready[1]);
	if (!get1(ready[0])) {	/* A died before it was ready */
		reap(pa, &res[0]);
		printf("   process A: rep %d: %s\n", rep, res[0].err);
		goto out;
	}
	if (res[0].bad) {
		t->a_wrong = 1;
		printf("   process A: rep %d: checksum WRONG\n", rep);
	} else if (rep > 0) {
		t->a_gbs[t->a_nr++] = (double)b->len /
				      (double)(res[0].t1 - res[0].t0);
	}
	b->r = &res[1];
	b->r2 = &res[2];
	b->remap = 1;
	t0 = now_ns();
	pb = spawn(toucher, b);
	reap(pb, &res[1]);
	if (res[1].err[0] && !res[2].err[0])
		memcpy(res[2].err, res[1].err, sizeof(res[2].err));
	put1(go[1]);
	if (reap(pa, &res[0]))
		printf("   process A: rep %d: %s\n", rep, res[0].err);
	touch_record(t, T_XPROC, &res[1], rep,
		     (double)(now_ns() - t0) / 1e9 / 2, (int)b->nr);
	touch_record(t, T_REMAP, &res[2], rep, 0, (int)b->nr);
out:
	b->remap = 0;
	close(ready[0]);
	close(go[0]);
	close(go[1]);
}

static void part_touch(const struct bench_opts *o, int fd, int fd4k,
		       uint64_t len, uint64_t seed, uint64_t expect)
{
	static const char *const names[T_NR] = {
		"kernel mmap MADV_RANDOM", "kernel mmap RANDOM, 2M folios",
		"upager B alone, cold", "upager B alone, unshared",
		"upager B after A (xproc)", "upager B remap, A holds",
	};
	static struct touch_rows t;
	struct engine eng[T_NR];
	struct touch_job j = { .len = len, .seed = seed, .fd = fd4k };
	uint64_t *all = malloc(len / SYS_PAGE * sizeof(*all));

	j.nr = len / SYS_PAGE / 8;
	if (j.nr > 32768)
		j.nr = 32768;
	j.pgno = malloc(j.nr * sizeof(*j.pgno));
	if (!all || !j.pgno)
		die("out of memory");
	printf("\n   part 1: %zu random 4 KiB touches per rep, file %.2f GiB; "
	       "upager 4 KiB pages, budget = file; A reads ahead 16, B none\n",
	       j.nr, (double)len / GiB);
	for (int e = 0; e < T_NR; e++) {
		engine_kernel(&eng[e], names[e]);
		eng[e].ok = e < T_COLD || uffd_ok;
		row_init(&t.rows[e], &eng[e]);
	}
	for (int rep = 0; rep <= o->reps; rep++) {
		bench_pick(j.pgno, j.nr, all, len / SYS_PAGE,
			   seed + (uint64_t)rep);
		for (int e = 0; e < T_NR; e++) {
			uint64_t t0;

			if (e == T_REMAP || !row_wants(&t.rows[e], rep))
				continue;
			j.how = (struct how){ 0 };
			if (e >= T_COLD) {
				j.how.page_len = 4 * KiB;
				j.how.budget = len;
				j.how.flags =
					e == T_UNSHARED ? 0 : UP_CONFIG_SHARED;
			}
			j.fd = e == T_K2M ? fd : fd4k;
			if (e == T_K2M)
				bench_warm(fd, len);
			else
				bench_warm_4k(fd4k, len, seed);
			if (e == T_XPROC) {
				run_xproc(&t, &j, expect, rep);
				continue;
			}
			memset(&res[0], 0, sizeof(res[0]));
			j.r = &res[0];
			t0 = now_ns();
			reap(spawn(toucher, &j), &res[0]);
			touch_record(&t, e, &res[0], rep,
				     (double)(now_ns() - t0) / 1e9, (int)j.nr);
		}
	}
	for (int e = 0; e < T_NR; e++)
		snprintf(t.rows[e].extra, sizeof(t.rows[e].extra),
			 "%.2f us/fault; p50 %.2f, p99 %.2f us; fills %.0f",
			 median_of(t.per[e], t.rows[e].nr),
			 median_of(t.p50[e], t.rows[e].nr),
			 median_of(t.p99[e], t.rows[e].nr),
			 median_of(t.fills[e], t.rows[e].nr));
	bench_table("xproc", "random 4 KiB touch, another process resident",
		    "us/touch", "lower", t.rows, T_NR, T_K4K, o->reps);
	if (t.a_wrong)
		printf("   process A: its scan's checksum was WRONG in some "
		       "rep\n");
	if (t.a_nr)
		printf("   process A: its first-touch scan (4K pages, "
		       "read-ahead 16) at %.2f GB/s, median\n",
		       median_of(t.a_gbs, t.a_nr));
	free(all);
	free(j.pgno);
}

/* ---- part 2: concurrent scans ------------------------------------------- */

struct scan_job {
	struct how how;
	int fd;
	uint64_t len, expect;
	struct res *r;
	int ready_w, gate_r;
};

static void scanner(void *arg)
{
	const struct scan_job *j = arg;
	struct up_pager *p = child_open(&j->how, j->r);
	uint64_t f0, fl0, f1, fl1, h;
	void *addr;

	counts(p, &f0, &fl0);
	put1(j->ready_w);
	close(j->ready_w);
	get1(j->gate_r);
	j->r->t0 = now_ns();
	addr = child_map(p, j->fd, j->len, -1, j->r);
	h = csum(addr, j->len, 0);
	child_unmap(p, addr, j->len, j->r);
	j->r->t1 = now_ns();
	counts(p, &f1, &fl1);
	j->r->bad = h != j->expect;
	j->r->faults = f1 - f0;
	j->r->fills = fl1 - fl0;
	child_close(p, j->r);
}

/* The last engine is the contrast: a pager per process that does not
 * share, so each process reads the file into a cache of its own. */
enum { S_KERNEL, S_UP64K, S_UP2M, S_UP2M_OWN, S_NR };
static const char *const scan_names[S_NR] = {
	"kernel mmap", "upager 64K shared", "upager 2M shared",
	"upager 2M unshared",
};
static const size_t scan_pages[S_NR] = { 0, 64 * KiB, 2 * MiB, 2 * MiB };
static const int scan_procs[] = { 1, 2, 4 };
#define P_NR 3

/* One rep of nr processes scanning at once; the aggregate GB/s, or -1. */
static double scan_once(struct scan_job *j, int nr, uint64_t *faults,
			double *fills, int *wrong)
{
	uint64_t first = UINT64_MAX, last = 0, fl = 0;
	int ready[2], gate[2], failed = 0;
	pid_t pid[SCANNERS_MAX];

	if (pipe(ready) || pipe(gate))
		die("pipe: %s", strerror(errno));
	memset(res, 0, (size_t)nr * sizeof(*res));
	j->ready_w = ready[1];
	j->gate_r = gate[0];
	for (int i = 0; i < nr; i++) {
		j->r = &res[i];
		pid[i] = spawn(scanner, j);
	}
	close(ready[1]);
	/* Every child ready (or gone), then all released at once. */
	for (int i = 0; i < nr && get1(ready[0]); i++)
		;
	for (int i = 0; i < nr; i++)
		put1(gate[1]);
	*faults = 0;
	*wrong = 0;
	for (int i = 0; i < nr; i++) {
		if (reap(pid[i], &res[i])) {
			printf("   scanner %d of %d: %s\n", i + 1, nr,
			       res[i].err);
			failed = 1;
			continue;
		}
		first = res[i].t0 < first ? res[i].t0 : first;
		last = res[i].t1 > last ? res[i].t1 : last;
		*faults += res[i].faults;
		fl += res[i].fills;
		*wrong |= res[i].bad != 0;
	}
	close(ready[0]);
	close(gate[0]);
	close(gate[1]);
	*fills = j->how.page_len ? (double)fl * (double)j->how.page_len /
					   (double)j->len
				 : 0;
	return failed ? -1 : (double)nr * (double)j->len /
				     (double)(last - first);
}

static void part_scan(const struct bench_opts *o, int fd, uint64_t len,
		      uint64_t expect)
{
	static struct row rows[P_NR][S_NR];
	static double fills[P_NR][S_NR][BENCH_MAX_REPS];
	struct scan_job j = { .fd = fd, .len = len, .expect = expect };

	printf("\n   part 2: 1, 2, 4 processes scan one %.2f GiB file at once; "
	       "upager budget = file, read-ahead 16\n", (double)len / GiB);
	for (int pi = 0; pi < P_NR; pi++) {
		for (int e = 0; e < S_NR; e++) {
			struct engine n;

			engine_kernel(&n, "");
			snprintf(n.name, sizeof(n.name), "%s x%d",
				 scan_names[e], scan_procs[pi]);
			n.ok = e == S_KERNEL || uffd_ok;
			row_init(&rows[pi][e], &n);
		}
	}
	for (int rep = 0; rep <= o->reps; rep++) {
		for (int pi = 0; pi < P_NR; pi++) {
			for (int e = 0; e < S_NR; e++) {
				struct row *r = &rows[pi][e];
				uint64_t faults, t0;
				double gbs, fl;
				int wrong;

				if (!row_wants(r, rep))
					continue;
				j.how = (struct how){
					.page_len = scan_pages[e], .ra = 16,
					.budget = len,
					.flags = e == S_UP2M_OWN
							 ? 0 : UP_CONFIG_SHARED,
				};
				bench_warm(fd, len);
				t0 = now_ns();
				gbs = scan_once(&j, scan_procs[pi], &faults,
						&fl, &wrong);
				if (gbs < 0)
					continue;
				if (rep == 0) {
					row_cap(r, (double)(now_ns() - t0) /
							   1e9);
					continue;
				}
				fills[pi][e][r->nr] = fl;
				row_add(r, gbs, faults, !wrong);
			}
		}
	}
	for (int pi = 0; pi < P_NR; pi++) {
		char wl[64];

		for (int e = S_UP64K; e < S_NR; e++)
			snprintf(rows[pi][e].extra, sizeof(rows[pi][e].extra),
				 "fills %.2fx the file",
				 median_of(fills[pi][e], rows[pi][e].nr));
		snprintf(wl, sizeof(wl), "concurrent scan, %d process%s",
			 scan_procs[pi], scan_procs[pi] > 1 ? "es" : "");
		bench_table("xproc", wl, "GB/s", "higher", rows[pi], S_NR,
			    S_KERNEL, o->reps);
	}
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t len_t, len_s, seed = 0x9c0c, expect, e2;
	char path[512], path4k[512], why[256] = "";
	int fd, fd4k;

	bench_parse(&o, argc, argv, WHAT);
	len_t = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	len_s = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	res = mmap(NULL, (SCANNERS_MAX + 3) * sizeof(*res),
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	bench_banner("xproc", WHAT);
	uffd_ok = !up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why));
	if (!uffd_ok)
		printf("   upager rows skipped: %s\n", why);
	bench_csv_open("xproc");
	fd = bench_file(&o, "xproc", len_t > len_s ? len_t : len_s, seed, path,
			sizeof(path), &expect);
	fd4k = bench_file(&o, "xproc4k", len_t, seed, path4k, sizeof(path4k),
			  &e2);
	bench_drop(fd4k, len_t);
	part_touch(&o, fd, fd4k, len_t, seed, e2);
	if (len_s != len_t)
		expect = pat_csum(len_s, seed);
	part_scan(&o, fd, len_s, expect);
	close(fd);
	close(fd4k);
	unlink(path);
	unlink(path4k);
	return 0;
}
