/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every upager benchmark shares: options, timing, the data
 * pattern and its checksum, test files, page-cache warming, the two engines
 * (the kernel's mmap(2) and an upager pager) behind one small interface,
 * median/min/max, and the table and CSV output.
 *
 * Benchmarks never assert.  They run the kernel's mmap (and read()/write()
 * where it applies) in the same run as upager, interleaved rep by rep, and
 * print ratios, because only a ratio from one run means anything on a
 * shared, noisy machine.  Every result is checked against the expected
 * checksum; a wrong result is printed as WRONG and never as a speed.
 *
 * Header-only: each bench/NAME.c is one program (the Makefile builds them
 * one by one), so everything here is static.
 */
#ifndef UP_BENCH_H
#define UP_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "upager.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define SYS_PAGE 4096u
#define BENCH_MAX_REPS 64
#define BENCH_MAX_ROWS 16
/*
 * Files are written and read in 2 MiB pieces: a buffered write allocates
 * page-cache folios the size of the write, and only 2 MiB folios let the
 * kernel map a file with huge pages (PMD), its best case and the one to
 * compare with.  1 MiB writes leave it mapping 4 KiB entries.
 */
#define CHUNK (2 * MiB)

/* Every helper is static; a benchmark uses only some of them. */
#define BENCH_FN static __attribute__((unused))

/* ---- options ---------------------------------------------------------- */

struct bench_opts {
	int quick;		/* --quick: small sizes, few reps */
	int reps;		/* measured repetitions (after one warm-up) */
	uint64_t size;		/* --size or $UPAGER_BENCH_SIZE; 0: default */
	const char *dir;	/* $UPAGER_BENCH_DIR or /var/tmp */
};

BENCH_FN uint64_t bench_parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mul = 1;

	switch (*end) {
	case 'k': case 'K': mul = KiB; break;
	case 'm': case 'M': mul = MiB; break;
	case 'g': case 'G': mul = GiB; break;
	case 't': case 'T': mul = 1024 * GiB; break;
	case '\0': break;
	default: return 0;
	}
	if (v <= 0)
		return 0;
	/* Round down to whole 2 MiB so every page size divides it. */
	return ((uint64_t)(v * mul) / (2 * MiB)) * (2 * MiB);
}

BENCH_FN void bench_usage(const char *prog, const char *what)
{
	fprintf(stderr,
		"usage: %s [--quick] [--size N[KMG]] [--reps N]\n%s\n"
		"env: UPAGER_BENCH_SIZE, UPAGER_BENCH_DIR (default /var/tmp),\n"
		"     UPAGER_BENCH_OUT (CSV file; default bench/results/NAME.csv)\n",
		prog, what);
	exit(2);
}

BENCH_FN void bench_parse(struct bench_opts *o, int argc, char **argv,
			const char *what)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->reps = 5;
	env = getenv("UPAGER_BENCH_SIZE");
	if (env && *env)
		o->size = bench_parse_size(env);
	env = getenv("UPAGER_BENCH_DIR");
	o->dir = env && *env ? env : "/var/tmp";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			o->quick = 1;
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			o->size = bench_parse_size(argv[++i]);
			if (!o->size)
				bench_usage(argv[0], what);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			o->reps = atoi(argv[++i]);
		} else {
			bench_usage(argv[0], what);
		}
	}
	if (o->quick && o->reps > 3)
		o->reps = 3;
	if (o->reps < 1)
		o->reps = 1;
	if (o->reps > BENCH_MAX_REPS)
		o->reps = BENCH_MAX_REPS;
}

/* ---- time, machine ---------------------------------------------------- */

BENCH_FN inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char bench_kernel[128] __attribute__((unused)), bench_date[32];
static long bench_nproc;
static double bench_load_avg;

/* The 1-minute load average: a busy machine makes every figure noisy. */
BENCH_FN double bench_load(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

BENCH_FN void bench_banner(const char *name, const char *what)
{
	struct utsname u;
	time_t t = time(NULL);

	uname(&u);
	snprintf(bench_kernel, sizeof(bench_kernel), "%s", u.release);
	strftime(bench_date, sizeof(bench_date), "%Y-%m-%d %H:%M",
		 localtime(&t));
	bench_nproc = sysconf(_SC_NPROCESSORS_ONLN);
	bench_load_avg = bench_load();
	printf("== %s: %s\n", name, what);
	printf("   %s, Linux %s %s, %ld CPUs, load %.2f, upager %d.%d\n",
	       bench_date, u.release, u.machine, bench_nproc, bench_load_avg,
	       UP_VERSION_MAJOR, UP_VERSION_MINOR);
}

BENCH_FN uint64_t bench_faults_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/* ---- pattern and checksum ---------------------------------------------- */

/*
 * The data: 64-bit word number i of a file holds i ^ seed.  Cheap enough
 * that generating it does not hide the cost of the thing measured, and
 * different in every word, so a page served from the wrong place shows.
 */
BENCH_FN inline void pat_fill(void *buf, size_t len, uint64_t off,
			    uint64_t seed)
{
	uint64_t *w = buf, first = off / 8;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = (first + i) ^ seed;
}

/*
 * Checksum of whole 4 KiB pages: the sum over pages of (sum of the page's
 * words) * (2 * page number + 1), modulo 2^64.  The inner sum vectorises
 * and runs at memory speed; the weight makes a page in the wrong place
 * show; and checksums of disjoint pieces simply add, so a file can be
 * checked in any order and any chunk size.  len: a multiple of 4 KiB.
 */
BENCH_FN inline uint64_t csum(const void *buf, size_t len, uint64_t off)
{
	const uint64_t *w = buf;
	uint64_t h = 0, pgno = off / SYS_PAGE;

	for (size_t pg = 0; pg < len / SYS_PAGE; pg++, w += SYS_PAGE / 8) {
		uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

		for (size_t i = 0; i < SYS_PAGE / 8; i += 4) {
			s0 += w[i];
			s1 += w[i + 1];
			s2 += w[i + 2];
			s3 += w[i + 3];
		}
		h += (s0 + s1 + s2 + s3) * (2 * (pgno + pg) + 1);
	}
	return h;
}

/* The checksum of len bytes of pattern seed, without any file. */
BENCH_FN uint64_t pat_csum(uint64_t len, uint64_t seed)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t h = 0;

	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		pat_fill(buf, n, off, seed);
		h += csum(buf, n, off);
	}
	return h;
}

/* ---- files -------------------------------------------------------------- */

BENCH_FN void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* pread the whole file through one buffer; returns its checksum. */
BENCH_FN uint64_t file_csum(int fd, uint64_t len)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t h = 0;

	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			die("pread: %s", strerror(errno));
		h += csum(buf, n, off);
	}
	return h;
}

/*
 * Create (or reuse) dir/upager-bench-NAME-PID, len bytes of pattern seed,
 * written back to disk so that the flusher does not run during the
 * measurements.  Returns an O_RDWR fd; *path gets the name (the caller
 * unlinks it).  *sum gets the checksum.
 */
BENCH_FN int bench_file(const struct bench_opts *o, const char *name,
		      uint64_t len, uint64_t seed, char *path, size_t path_len,
		      uint64_t *sum)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t h = 0;
	int fd;

	snprintf(path, path_len, "%s/upager-bench-%s-%d", o->dir, name,
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		pat_fill(buf, n, off, seed);
		h += csum(buf, n, off);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			die("write %s: %s", path, strerror(errno));
	}
	if (fdatasync(fd))
		die("fdatasync %s: %s", path, strerror(errno));
	*sum = h;
	return fd;
}

/* Fraction of the file's pages in the page cache (mincore). */
BENCH_FN double cached_fraction(int fd, uint64_t len)
{
	size_t nr = (len + SYS_PAGE - 1) / SYS_PAGE, in = 0;
	unsigned char *vec;
	void *p;

	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	vec = malloc(nr);
	if (vec && !mincore(p, len, vec))
		for (size_t i = 0; i < nr; i++)
			in += vec[i] & 1;
	free(vec);
	munmap(p, len);
	return (double)in / (double)nr;
}

/*
 * Make sure the whole file is in the page cache right before a
 * measurement: an idle-page reclaimer on these machines drops page cache
 * unused for about a minute.  Re-reads it and checks with mincore.
 */
BENCH_FN void bench_warm(int fd, uint64_t len)
{
	static uint64_t buf[CHUNK / 8];
	double f = 0;

	for (int tries = 0; tries < 3; tries++) {
		for (uint64_t off = 0; off < len; off += CHUNK)
			if (pread(fd, buf, CHUNK, (off_t)off) < 0)
				die("pread: %s", strerror(errno));
		f = cached_fraction(fd, len);
		if (f >= 0.999)
			return;
	}
	printf("   warning: only %.1f%% of the file stays in the page "
	       "cache\n", f * 100);
}

/* Drop the file from the page cache (it is clean): a cold start. */
BENCH_FN double bench_drop(int fd, uint64_t len)
{
	fdatasync(fd);
	posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_DONTNEED);
	return cached_fraction(fd, len);
}

/*
 * Keep fd cached in 4 KiB folios: if anything was dropped, drop the rest
 * and rewrite it 4 KiB at a time (a buffered write allocates folios the
 * size of the write); else re-read it so the reclaimer leaves it alone.
 */
BENCH_FN void bench_warm_4k(int fd, uint64_t len, uint64_t seed)
{
	static uint64_t buf[SYS_PAGE / 8];

	if (cached_fraction(fd, len) >= 0.999) {
		bench_warm(fd, len);
		return;
	}
	bench_drop(fd, len);
	for (uint64_t off = 0; off < len; off += SYS_PAGE) {
		pat_fill(buf, SYS_PAGE, off, seed);
		if (pwrite(fd, buf, SYS_PAGE, (off_t)off) != SYS_PAGE)
			die("pwrite: %s", strerror(errno));
	}
	if (fdatasync(fd))
		die("fdatasync: %s", strerror(errno));
}

/* ---- engines ------------------------------------------------------------ */

/*
 * An engine maps files either through the kernel's mmap(2) (pager NULL)
 * or through an upager pager.  Faults come from getrusage for the kernel
 * and from up_pager_stats for upager.
 */
struct engine {
	char name[64];
	struct up_pager *pager;
	int ok;			/* 0: could not be made; skipped */
};

BENCH_FN void engine_kernel(struct engine *e, const char *name)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->ok = 1;
}

BENCH_FN const char *page_name(size_t len)
{
	static char s[4][16];
	static int i;

	i = (i + 1) % 4;
	if (len >= MiB)
		snprintf(s[i], sizeof(s[i]), "%zuM", len / (size_t)MiB);
	else
		snprintf(s[i], sizeof(s[i]), "%zuK", len / (size_t)KiB);
	return s[i];
}

/*
 * An upager engine on the userfaultfd backend.  The benchmarks never fall
 * back to the kernel backend: that would print the kernel's figures under
 * upager's name.  When userfaultfd is not usable the rows are skipped.
 */
/* Not a config flag: the signals backend (what an ordinary user gets
 * where userfaultfd is not permitted), "signals" in its name. */
#define BENCH_SIGNALS (1u << 31)

/* A pager with these settings and config flags (UP_CONFIG_FAULT_INLINE:
 * "inline" in its name). */
BENCH_FN int engine_upager_flags(struct engine *e, size_t budget,
				 size_t page_len, unsigned readahead_nr,
				 unsigned flags)
{
	enum up_backend b = (flags & BENCH_SIGNALS) ? UP_BACKEND_SIGNALS
						    : UP_BACKEND_UFFD;
	struct up_config cfg;
	int err;

	memset(e, 0, sizeof(*e));
	flags &= ~BENCH_SIGNALS;
	snprintf(e->name, sizeof(e->name), "upager %s ra%u%s",
		 page_name(page_len), readahead_nr,
		 (flags & UP_CONFIG_FAULT_INLINE) ? " inline"
		 : b == UP_BACKEND_SIGNALS	  ? " signals"
						  : "");
	up_config_init(&cfg);
	cfg.budget = budget;
	cfg.page_len = page_len;
	cfg.readahead_nr = readahead_nr;
	cfg.backend = b;
	cfg.flags = flags;
	err = up_pager_open(&e->pager, &cfg);
	if (err) {
		char why[256] = "";

		up_backend_probe(b, flags, why, sizeof(why));
		printf("   %s: skipped: %s %s\n", e->name, up_strerror(err),
		       why);
		e->pager = NULL;
		return err;
	}
	e->ok = 1;
	return 0;
}

BENCH_FN int engine_upager(struct engine *e, size_t budget, size_t page_len,
			 unsigned readahead_nr)
{
	return engine_upager_flags(e, budget, page_len, readahead_nr, 0);
}

BENCH_FN void engine_close(struct engine *e)
{
	if (e->pager)
		up_pager_close(e->pager);
	e->pager = NULL;
}

BENCH_FN void *engine_map(struct engine *e, size_t len, int prot, int flags,
			int fd)
{
	void *p;
	int err;

	if (!e->pager) {
		p = mmap(NULL, len, prot, flags, fd, 0);
		if (p == MAP_FAILED)
			die("%s: mmap: %s", e->name, strerror(errno));
		return p;
	}
	err = up_pager_map(e->pager, NULL, len, prot, flags, fd, 0, &p);
	if (err)
		die("%s: up_pager_map: %s", e->name, up_strerror(err));
	return p;
}

BENCH_FN void engine_unmap(struct engine *e, void *p, size_t len)
{
	int err = e->pager ? up_pager_unmap(e->pager, p, len)
			   : (munmap(p, len) ? -errno : 0);

	if (err)
		die("%s: unmap: %s", e->name, strerror(-err));
}

BENCH_FN void engine_sync(struct engine *e, void *p, size_t len)
{
	int err = e->pager ? up_pager_sync(e->pager, p, len, MS_SYNC)
			   : (msync(p, len, MS_SYNC) ? -errno : 0);

	if (err)
		die("%s: msync: %s", e->name, strerror(-err));
}

BENCH_FN void engine_advise(struct engine *e, void *p, size_t len, int advice)
{
	int err = e->pager ? up_pager_advise(e->pager, p, len, advice)
			   : (madvise(p, len, advice) ? -errno : 0);

	if (err)
		printf("   %s: madvise: %s\n", e->name, strerror(-err));
}

/* Faults so far: the pager's for upager, the process's for the kernel. */
BENCH_FN uint64_t engine_faults(struct engine *e)
{
	struct up_stats st;

	if (!e->pager)
		return bench_faults_self();
	if (up_pager_stats(e->pager, &st))
		return 0;
	return st.faults_read + st.faults_write;
}

/* ---- results -------------------------------------------------------------- */

/* One row of a table: one engine's measurements over the reps. */
struct row {
	char engine[64];
	double v[BENCH_MAX_REPS];	/* the metric, one per rep */
	int nr;
	int wrong;			/* a rep's checksum did not match */
	int skipped;
	int cap;			/* most reps this engine gets */
	double faults;			/* per rep, median */
	double f[BENCH_MAX_REPS];
	char extra[96];			/* free text: latencies, phases */
};

BENCH_FN int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

BENCH_FN double median_of(const double *v, int nr)
{
	double s[BENCH_MAX_REPS];

	if (nr <= 0)
		return NAN;
	memcpy(s, v, sizeof(double) * (size_t)nr);
	qsort(s, (size_t)nr, sizeof(double), dbl_cmp);
	return nr % 2 ? s[nr / 2] : (s[nr / 2 - 1] + s[nr / 2]) / 2;
}

BENCH_FN double min_of(const double *v, int nr)
{
	double m = INFINITY;

	for (int i = 0; i < nr; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

BENCH_FN double max_of(const double *v, int nr)
{
	double m = -INFINITY;

	for (int i = 0; i < nr; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Percentile q (0..1) of nr values, sorting them in place. */
BENCH_FN double pct_sorted(double *v, size_t nr, double q)
{
	size_t i;

	if (!nr)
		return NAN;
	qsort(v, nr, sizeof(double), dbl_cmp);
	i = (size_t)(q * (double)(nr - 1) + 0.5);
	return v[i];
}

/* Name row r after engine e; an engine that could not be made is skipped. */
BENCH_FN void row_init(struct row *r, const struct engine *e)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->engine, e->name, sizeof(e->name));
	r->skipped = !e->ok;
	r->cap = BENCH_MAX_REPS;
}

/*
 * After the warm-up: an engine whose one rep takes secs gets fewer reps
 * (never fewer than 3), so that no engine takes much over 45 s and
 * `make bench` stays within its ten minutes even when one is slow.
 */
#define BENCH_ENGINE_SECS 45.0
BENCH_FN void row_cap(struct row *r, double secs)
{
	double n = secs > 0 ? BENCH_ENGINE_SECS / secs : BENCH_MAX_REPS;

	r->cap = n < 3 ? 3 : n > BENCH_MAX_REPS ? BENCH_MAX_REPS : (int)n;
}

/* Should engine row r run in rep (0 is the warm-up)? */
BENCH_FN int row_wants(const struct row *r, int rep)
{
	return !r->skipped && (rep == 0 || r->nr < r->cap);
}

BENCH_FN void row_add(struct row *r, double v, uint64_t faults, int right)
{
	if (r->nr >= BENCH_MAX_REPS)
		return;
	r->f[r->nr] = (double)faults;
	r->v[r->nr++] = v;
	if (!right)
		r->wrong = 1;
}

static FILE *bench_csv;

BENCH_FN void bench_csv_open(const char *name)
{
	const char *env = getenv("UPAGER_BENCH_OUT");
	char path[512];
	struct stat st;

	if (env && *env) {
		/* Appended to: bench/run.sh collects every benchmark in one. */
		bench_csv = fopen(env, "a");
		snprintf(path, sizeof(path), "%s", env);
	} else {
		const char *dir = !stat("bench", &st) && S_ISDIR(st.st_mode)
					  ? "bench/results" : ".";

		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
		bench_csv = fopen(path, "w");
	}
	if (!bench_csv) {
		printf("   (no CSV: %s: %s)\n", path, strerror(errno));
		return;
	}
	if (ftell(bench_csv) == 0)
		fprintf(bench_csv, "date,kernel,nproc,load,bench,workload,engine,"
			"unit,median,min,max,x_kernel,reps,faults_per_rep,"
			"verified,extra\n");
}

/*
 * Print one table (and its CSV rows): the engine, median, min, max of the
 * metric over the reps, and its ratio to the row named base (the kernel's
 * mmap).  The ratio is of the metric as shown, so for a time it is
 * "x the kernel's time" and for a rate "x the kernel's rate".
 */
BENCH_FN void bench_table(const char *bench, const char *workload,
			const char *unit, const char *better, struct row *rows,
			int nr, int base, int reps)
{
	double bmed = median_of(rows[base].v, rows[base].nr);

	printf("\n-- %s  (%s, %s is better; %d reps after a warm-up; ratio = "
	       "median / median of \"%s\")\n", workload, unit, better, reps,
	       rows[base].engine);
	printf("   %-30s %10s %10s %10s %9s %10s  %s\n", "engine", "median",
	       "min", "max", "x kernel", "faults/rep", "");
	for (int i = 0; i < nr; i++) {
		struct row *r = &rows[i];
		double med = median_of(r->v, r->nr);

		if (r->skipped || !r->nr) {
			printf("   %-30s %10s\n", r->engine, "skipped");
			continue;
		}
		r->faults = median_of(r->f, r->nr);
		if (r->nr < reps) {
			size_t l = strlen(r->extra);

			snprintf(r->extra + l, sizeof(r->extra) - l,
				 "%s[%d reps]", l ? " " : "", r->nr);
		}
		if (r->wrong) {
			printf("   %-30s %10s  (contents did not match the "
			       "expected checksum: no figure)\n", r->engine,
			       "WRONG");
		} else {
			printf("   %-30s %10.3f %10.3f %10.3f %8.2fx %10.0f  "
			       "%s\n", r->engine, med, min_of(r->v, r->nr),
			       max_of(r->v, r->nr), med / bmed, r->faults,
			       r->extra);
		}
		if (bench_csv)
			fprintf(bench_csv, "%s,%s,%ld,%.2f,%s,\"%s\",\"%s\","
				"%s,%.6g,%.6g,%.6g,%.4f,%d,%.0f,%s,\"%s\"\n",
				bench_date, bench_kernel, bench_nproc,
				bench_load_avg, bench, workload,
				r->engine, unit, med, min_of(r->v, r->nr),
				max_of(r->v, r->nr), med / bmed, r->nr,
				r->faults, r->wrong ? "no" : "yes", r->extra);
	}
	if (bench_csv)
		fflush(bench_csv);
}

/* Print the pager's statistics in one line, for the record. */
BENCH_FN void bench_pager_line(struct engine *e)
{
	struct up_stats st;

	if (!e->pager || up_pager_stats(e->pager, &st))
		return;
	printf("   %-30s fills %llu, evictions %llu, writebacks %llu, "
	       "read %.2f GiB, written %.2f GiB, fill p50 %.1f us p99 %.1f us\n",
	       e->name, (unsigned long long)st.fills,
	       (unsigned long long)st.evictions,
	       (unsigned long long)st.writebacks,
	       (double)st.bytes_read / GiB, (double)st.bytes_written / GiB,
	       st.fill_ns_p50 / 1e3, st.fill_ns_p99 / 1e3);
}

/* The pager's statistics of each engine, then close them all. */
BENCH_FN void engines_close(struct engine *eng, int nr)
{
	for (int e = 0; e < nr; e++) {
		bench_pager_line(&eng[e]);
		engine_close(&eng[e]);
	}
}

/*
 * The five engines of the scan and write benchmarks, in this order: the
 * kernel's mmap (the base of the ratios), a peer through read() or
 * write() named peer (the benchmark runs it itself), and upager at 4 KiB,
 * 64 KiB and 2 MiB pages with read-ahead 16 and the given budget; and a
 * row named after each.
 */
#define STD_NR 5
BENCH_FN void engines_std(struct engine *eng, struct row *rows,
			  const char *peer, uint64_t budget)
{
	static const size_t pages[] = { 4 * KiB, 64 * KiB, 2 * MiB };

	engine_kernel(&eng[0], "kernel mmap");
	engine_kernel(&eng[1], peer);
	for (int i = 0; i < 3; i++)
		engine_upager(&eng[2 + i], budget, pages[i], 16);
	for (int e = 0; e < STD_NR; e++)
		row_init(&rows[e], &eng[e]);
}

/* A small, fast, seeded PRNG (splitmix64) for random offsets. */
BENCH_FN inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* nr distinct random pages out of pages_nr into pgno (all: scratch for
 * pages_nr entries): a partial Fisher-Yates. */
BENCH_FN void bench_pick(uint64_t *pgno, size_t nr, uint64_t *all,
			 uint64_t pages_nr, uint64_t seed)
{
	for (uint64_t i = 0; i < pages_nr; i++)
		all[i] = i;
	for (size_t i = 0; i < nr; i++) {
		uint64_t k = i + rnd_next(&seed) % (pages_nr - i), x = all[i];

		all[i] = all[k];
		all[k] = x;
		pgno[i] = all[i];
	}
}

#endif /* UP_BENCH_H */
