/* SPDX-License-Identifier: MIT */
/*
 * seqscan - first-touch sequential scan of a page-cached file.
 *
 * Each rep maps the file afresh, reads every byte once (checksumming it)
 * and unmaps it; the time covers map + scan + unmap.  Peers in the same
 * run: the kernel's mmap(2) (the base of the ratios) and read() through a
 * 2 MiB buffer.  upager runs with a 256 MiB budget, read-ahead on, at
 * 4 KiB, 64 KiB and 2 MiB pages; each pager lives across the reps, as the
 * kernel's page cache does.  The file is re-read (and checked with
 * mincore) right before every measurement, so every engine scans a
 * page-cached file.
 */
#include "bench.h"

#define WHAT "first-touch sequential scan of a page-cached file"

enum { E_KERNEL, E_READ, E_UP4K, E_UP64K, E_UP2M, E_NR };
_Static_assert(E_NR == STD_NR, "engines_std() makes these, in this order");

static uint64_t scan_read(int fd, uint64_t len)
{
	return file_csum(fd, len);
}

int main(int argc, char **argv)
{
	struct engine eng[E_NR];
	struct row rows[E_NR];
	struct bench_opts o;
	uint64_t len, budget = 256 * MiB, expect;
	char path[512];
	int fd;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : 4 * GiB;
	bench_banner("seqscan", WHAT);
	printf("   file %.2f GiB in %s, upager budget %llu MiB, "
	       "read-ahead 16 pages\n", (double)len / GiB, o.dir,
	       (unsigned long long)(budget / MiB));
	bench_csv_open("seqscan");
	fd = bench_file(&o, "seqscan", len, 0x5eed, path, sizeof(path),
			&expect);

	engines_std(eng, rows, "read() 2 MiB", budget);

	for (int rep = 0; rep <= o.reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			uint64_t t0, t1, f0, h;
			void *p;

			if (!row_wants(&rows[e], rep))
				continue;
			bench_warm(fd, len);
			f0 = engine_faults(&eng[e]);
			t0 = now_ns();
			if (e == E_READ) {
				h = scan_read(fd, len);
			} else {
				p = engine_map(&eng[e], len, PROT_READ,
					       MAP_SHARED, fd);
				h = csum(p, len, 0);
				engine_unmap(&eng[e], p, len);
			}
			t1 = now_ns();
			if (rep == 0) {	/* warm-up */
				row_cap(&rows[e], (double)(t1 - t0) / 1e9);
				continue;
			}
			row_add(&rows[e], (double)len / (double)(t1 - t0),
				engine_faults(&eng[e]) - f0, h == expect);
		}
	}
	bench_table("seqscan", "first-touch scan", "GB/s", "higher", rows,
		    E_NR, E_KERNEL, o.reps);
	engines_close(eng, E_NR);
	close(fd);
	unlink(path);
	return 0;
}
