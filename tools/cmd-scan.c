/* SPDX-License-Identifier: MIT */
/*
 * scan maps a file through a pager, reads (or, with --write, rewrites with
 * its own value) one byte in each system page, in order or at random, and
 * prints the pager's statistics.  The tool times every access that enters
 * a different pager page than the access before, with clock_gettime(), and
 * prints those times as a histogram with power-of-two buckets: faults and
 * cache hits show as separate humps.
 */

#include <fcntl.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#endif
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define HIST_NR 48

struct scan {
	struct pager_opts po;
	struct up_config cfg;	/* made from po */
	const char *path;
	struct source src;
	bool random, write;
	uint64_t count;		/* accesses; 0: one per system page */
	uint64_t seed;
	/* results */
	struct up_pager *p;
	char *map;
	uint64_t len, sum, timed_nr;
	uint64_t hist[HIST_NR];
	double secs;
};

static unsigned hist_bucket(uint64_t ns)
{
	unsigned k = 63 - (unsigned)__builtin_clzll(ns | 1);

	return k < HIST_NR ? k : HIST_NR - 1;
}

/* One access: read the byte, and with --write store it back. */
static inline uint8_t touch(volatile uint8_t *a, bool write)
{
	uint8_t v = *a;

	if (write)
		*a = v;
	return v;
}

/* The kernel backend has no pager pages: the kernel's are the unit. */
static bool is_kernel(struct up_pager *p)
{
	return !strcmp(up_pager_backend(p), "kernel");
}

static void scan_loop(struct scan *s)
{
	uint64_t sp = sys_page(), pages = (s->len + sp - 1) / sp;
	uint64_t nr = s->count ? s->count : pages, rs = s->seed;
	uint64_t last = UINT64_MAX, t0 = now_ns();
	uint64_t plen = is_kernel(s->p) ? sp : s->cfg.page_len;

	for (uint64_t i = 0; i < nr; i++) {
		uint64_t pg = s->random ? rnd_next(&rs) % pages : i % pages;
		uint64_t off = pg * sp, t;
		volatile uint8_t *a = (volatile uint8_t *)s->map + off;

		if (off / plen == last) {
			s->sum = s->sum * 31 + touch(a, s->write);
			continue;
		}
		last = off / plen;
		t = now_ns();
		s->sum = s->sum * 31 + touch(a, s->write);
		s->hist[hist_bucket(now_ns() - t)]++;
		s->timed_nr++;
	}
	s->secs = (double)(now_ns() - t0) / 1e9;
}

/* The loop, with a SIGBUS (the file shrank) reported. */
static int scan_guarded(struct scan *s)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return fail(s->path, -E_CHANGED);
	}
	bus_jmp = &jb;
	scan_loop(s);
	bus_jmp = NULL;
	return ST_OK;
}

static void print_hist(const struct scan *s)
{
	printf("\naccess time of the %llu accesses that entered another page "
	       "(measured by the tool):\n", (unsigned long long)s->timed_nr);
	fmt_hist(stdout, "  ", s->hist, HIST_NR);
}

static void print_scan(const struct scan *s, const struct up_stats *st)
{
	char a[32], b[32];

	struct up_zstore_stat zs;

	printf("file         %s, %llu bytes\n", s->path,
	       (unsigned long long)s->len);
	if (s->src.ops && !up_zstore_stat(s->src.ctx, &zs))
		printf("compressed   %llu bytes in chunks of %s, %.2fx; the "
		       "file %llu bytes\n",
		       (unsigned long long)zs.stored,
		       fmt_size(a, sizeof(a), zs.chunk_len),
		       (double)zs.len / (double)(zs.stored ? zs.stored : 1),
		       (unsigned long long)zs.file_len);
	printf("backend      %s%s%s\n", up_pager_backend(s->p),
	       *up_pager_note(s->p) ? ": " : "", up_pager_note(s->p));
	if (is_kernel(s->p))
		printf("pager        none: the kernel serves the faults, the "
		       "budget does not apply\n");
	else
		printf("pager        page %s, budget %s (%llu pages)\n",
		       fmt_size(a, sizeof(a), st->page_len),
		       fmt_size(b, sizeof(b), s->cfg.budget),
		       (unsigned long long)st->budget_pages);
	printf("pattern      %s %s, seed %llu\n", s->random ? "random" : "seq",
	       s->write ? "write" : "read", (unsigned long long)s->seed);
	printf("time         %.3f s, %.1f MiB/s of file\n", s->secs,
	       (double)s->len / MiB / (s->secs + 1e-9));
	printf("faults       %llu read, %llu write\n",
	       (unsigned long long)st->faults_read,
	       (unsigned long long)st->faults_write);
	printf("fills        %llu (%llu bytes read)\n",
	       (unsigned long long)st->fills,
	       (unsigned long long)st->bytes_read);
	printf("evictions    %llu\n", (unsigned long long)st->evictions);
	printf("write-backs  %llu (%llu bytes written)\n",
	       (unsigned long long)st->writebacks,
	       (unsigned long long)st->bytes_written);
	printf("resident     %llu pages, %llu dirty, %llu the kernel's page "
	       "cache mapped in place\n",
	       (unsigned long long)st->resident, (unsigned long long)st->dirty,
	       (unsigned long long)st->page_cache);
	printf("fault time   p50 %s, p99 %s (measured by the pager)\n",
	       fmt_ns(a, sizeof(a), (double)st->fill_ns_p50),
	       fmt_ns(b, sizeof(b), (double)st->fill_ns_p99));
	printf("checksum     %016llx\n", (unsigned long long)s->sum);
	print_hist(s);
}

/* Map, run, sync a --write, print; the pager is open. */
static int scan_mapped(struct scan *s, int fd)
{
	int prot = PROT_READ | (s->write ? PROT_WRITE : 0);
	struct up_stats st;
	int err, status;

	(void)fd;
	err = source_map(s->p, &s->src, prot, (void **)&s->map);
	if (err)
		return fail_up(s->path, err);
	up_pager_advise(s->p, s->map, s->len,
			s->random ? MADV_RANDOM : MADV_SEQUENTIAL);
	status = scan_guarded(s);
	if (!status && s->write &&
	    (err = up_pager_sync(s->p, s->map, s->len, MS_SYNC)))
		status = fail_up(s->path, err);
	if (!status && (err = up_pager_stats(s->p, &st)))
		status = fail_up("stats", err);
	if (!status)
		print_scan(s, &st);
	err = up_pager_unmap(s->p, s->map, s->len);
	if (err && !status)
		status = fail_up(s->path, err);
	return status;
}

static int scan_file(struct scan *s)
{
	struct stat st;
	int fd, status, err;

	if (is_rados(s->path)) {
		fd = -1;
		if (source_rados(&s->src, s->path, s->write, false, 0))
			return ST_FAIL;
	} else {
		fd = open_regular(s->path, s->write ? O_RDWR : O_RDONLY, &st);
		if (fd < 0)
			return ST_FAIL;
		if (source_open(&s->src, fd, &st, s->write, s->path)) {
			close(fd);
			return ST_FAIL;
		}
	}
	s->len = s->src.len;
	/* (Large pages for a store read in order, not at random.) */
	if (s->src.ops && !s->random)
		source_page(&s->cfg, &s->po);
	if (!s->len) {
		source_close(&s->src);
		close(fd);
		return msg("%s: the file is empty", s->path), ST_FAIL;
	}
	status = pager_open(&s->cfg, &s->p);
	if (!status)
		status = scan_mapped(s, fd);
	if (s->p && (err = up_pager_close(s->p)) && !status)
		status = fail_up(s->path, err);
	source_close(&s->src);
	if (fd >= 0)
		close(fd);
	return status;
}

/* A scan option for get_opts(). */
static int scan_opt(void *ctx, int c, const char *arg)
{
	struct scan *s = ctx;
	int st = pager_opt(&s->po, c, arg);

	if (st >= 0)
		return st;
	switch (c) {
	case 'P':
		if (strcmp(arg, "seq") && strcmp(arg, "random"))
			return usage("--pattern %s: not seq or random", arg);
		s->random = !strcmp(arg, "random");
		return 0;
	case 'w':
		s->write = true;
		return 0;
	case 'n':
		if (opt_size("--count", arg, &s->count))
			return ST_USAGE;
		return s->count ? 0 : usage("--count %s: must be more than 0",
					    arg);
	case 's':
		return opt_size("--seed", arg, &s->seed);
	}
	return -1;
}

int cmd_scan(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pattern", required_argument, NULL, 'P' },
		{ "write", no_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		PAGER_LONGOPTS,
		{ 0 }
	};
	struct scan s = { .seed = (uint64_t)time(NULL) };
	int st;

	if ((st = get_opts(argc, argv, ":h", lo, scan_opt, &s)) >= 0)
		return st;
	if (argc - optind != 1)
		return usage("needs one FILE");
	s.path = argv[optind];
	if ((st = pager_config(&s.po, 0, &s.cfg)))
		return st;
	return scan_file(&s);
}
