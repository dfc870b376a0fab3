/* SPDX-License-Identifier: MIT */
/*
 * fault - the cost of one random 4 KiB read fault on a cold mapping.
 *
 * The file is page-cached; each rep maps it afresh and reads one word from
 * each of N distinct random pages (the same pages, in the same order, for
 * every engine of that rep), timing every touch.  The figure is the mean
 * time per touch; p50 and p99 of the single touches are shown beside it.
 * Every word read is checked against the pattern.  upager runs with 4 KiB
 * and 64 KiB pages and no read-ahead, and a budget as large as the file so
 * nothing is evicted, with faults served by its service thread and, in
 * the "inline" rows, in the faulting thread (UP_CONFIG_FAULT_INLINE), and
 * on the signals backend (a SIGSEGV on a guard page, what an ordinary user
 * gets where userfaultfd is not permitted); the base is the kernel's mmap
 * with MADV_RANDOM.
 *
 * The kernel's cost depends on the folios its page cache holds.  A file
 * written in large chunks is cached in 2 MiB folios on ext4, and the
 * kernel then maps a whole folio per fault (PMD), MADV_RANDOM or not, so
 * most touches take no fault at all.  To measure a 4 KiB fault, the base
 * row and upager read a copy written 4 KiB at a time, which the page cache
 * holds in 4 KiB folios (the kernel's fault-around still maps up to 16
 * cached neighbours); the row "2M folios" reads the file as usually
 * cached.  "us/fault" divides the time by the faults taken.
 */
#include "bench.h"

#define WHAT "random 4 KiB read faults on a cold mapping of a cached file"

enum { E_K4K, E_KRAND, E_UP4K, E_UP64K, E_IN4K, E_IN64K, E_SIG4K, E_SIG64K,
       E_NR };

struct touches {
	uint64_t *pgno;		/* the pages, in order */
	double *us;		/* each touch's time */
	size_t nr;
};

/* Touch every page of t; returns the number of wrong words read. */
static size_t touch(struct touches *t, const char *p, uint64_t seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < t->nr; i++) {
		/* A different word of each page, so no page is read at 0. */
		uint64_t off = t->pgno[i] * SYS_PAGE + (t->pgno[i] % 512) * 8;
		uint64_t t0 = now_ns(), v;

		v = *(const volatile uint64_t *)(p + off);
		t->us[i] = (double)(now_ns() - t0) / 1e3;
		bad += v != ((off / 8) ^ seed);
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct engine eng[E_NR];
	struct row rows[E_NR];
	struct bench_opts o;
	struct touches t;
	uint64_t len, seed = 0xfa017, expect, *all;
	double p50[E_NR][BENCH_MAX_REPS], p99[E_NR][BENCH_MAX_REPS];
	double per[E_NR][BENCH_MAX_REPS];
	char path[512], path4k[512];
	int fd, fd4k;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	t.nr = len / SYS_PAGE / 8;
	if (t.nr > 32768)
		t.nr = 32768;
	t.pgno = malloc(t.nr * sizeof(*t.pgno));
	t.us = malloc(t.nr * sizeof(*t.us));
	all = malloc(len / SYS_PAGE * sizeof(*all));
	if (!t.pgno || !t.us || !all)
		die("out of memory");
	bench_banner("fault", WHAT);
	printf("   file %.2f GiB in %s, %zu touches per rep, upager budget "
	       "= file, no read-ahead\n", (double)len / GiB, o.dir, t.nr);
	bench_csv_open("fault");
	fd = bench_file(&o, "fault", len, seed, path, sizeof(path), &expect);
	fd4k = bench_file(&o, "fault4k", len, seed, path4k, sizeof(path4k),
			  &expect);
	bench_drop(fd4k, len);

	engine_kernel(&eng[E_K4K], "kernel mmap MADV_RANDOM");
	engine_kernel(&eng[E_KRAND], "kernel mmap RANDOM, 2M folios");
	engine_upager(&eng[E_UP4K], len, 4 * KiB, 0);
	engine_upager(&eng[E_UP64K], len, 64 * KiB, 0);
	engine_upager_flags(&eng[E_IN4K], len, 4 * KiB, 0,
			    UP_CONFIG_FAULT_INLINE);
	engine_upager_flags(&eng[E_IN64K], len, 64 * KiB, 0,
			    UP_CONFIG_FAULT_INLINE);
	engine_upager_flags(&eng[E_SIG4K], len, 4 * KiB, 0, BENCH_SIGNALS);
	engine_upager_flags(&eng[E_SIG64K], len, 64 * KiB, 0, BENCH_SIGNALS);
	for (int e = 0; e < E_NR; e++)
		row_init(&rows[e], &eng[e]);

	for (int rep = 0; rep <= o.reps; rep++) {
		bench_pick(t.pgno, t.nr, all, len / SYS_PAGE,
			   seed + (uint64_t)rep);
		for (int e = 0; e < E_NR; e++) {
			uint64_t t0, t1, f0;
			size_t bad;
			void *p;

			if (!row_wants(&rows[e], rep))
				continue;
			if (e == E_KRAND)
				bench_warm(fd, len);
			else
				bench_warm_4k(fd4k, len, seed);
			p = engine_map(&eng[e], len, PROT_READ, MAP_SHARED,
				       e == E_KRAND ? fd : fd4k);
			engine_advise(&eng[e], p, len, MADV_RANDOM);
			f0 = engine_faults(&eng[e]);
			t0 = now_ns();
			bad = touch(&t, p, seed);
			t1 = now_ns();
			f0 = engine_faults(&eng[e]) - f0;
			engine_unmap(&eng[e], p, len);
			if (rep == 0) {	/* warm-up */
				row_cap(&rows[e], (double)(t1 - t0) / 1e9);
				continue;
			}
			p50[e][rows[e].nr] = pct_sorted(t.us, t.nr, 0.50);
			p99[e][rows[e].nr] = pct_sorted(t.us, t.nr, 0.99);
			per[e][rows[e].nr] = (double)(t1 - t0) / 1e3 /
					     (double)(f0 ? f0 : 1);
			row_add(&rows[e], (double)(t1 - t0) / 1e3 / (double)t.nr,
				f0, bad == 0);
		}
	}
	for (int e = 0; e < E_NR; e++)
		snprintf(rows[e].extra, sizeof(rows[e].extra),
			 "%.2f us/fault; touch p50 %.2f us, p99 %.2f us",
			 median_of(per[e], rows[e].nr),
			 median_of(p50[e], rows[e].nr),
			 median_of(p99[e], rows[e].nr));
	bench_table("fault", "random 4 KiB read fault", "us/touch", "lower",
		    rows, E_NR, E_K4K, o.reps);
	engines_close(eng, E_NR);
	close(fd);
	close(fd4k);
	unlink(path);
	unlink(path4k);
	free(t.pgno);
	free(t.us);
	free(all);
	return 0;
}
