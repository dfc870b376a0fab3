/* SPDX-License-Identifier: MIT */
/*
 * rescan - scan a mapping whose every page is already resident.
 *
 * Each engine maps the file once and scans it once (the warm-up, which
 * faults everything in and is checked too); the reps then time further
 * scans of the same mapping, which should take no faults at all.  The
 * upager budget is twice the file, so nothing is evicted.  Measures what
 * a pager costs once it is out of the way: nothing, if it maps its pages
 * as well as the kernel does (huge pages, no write-protect traps).  read()
 * of the page-cached file runs alongside for scale.
 */
#include "bench.h"

#define WHAT "second scan of a fully resident mapping"

enum { E_KERNEL, E_READ, E_UP4K, E_UP64K, E_UP2M, E_NR };
_Static_assert(E_NR == STD_NR, "engines_std() makes these, in this order");

int main(int argc, char **argv)
{
	struct engine eng[E_NR];
	struct row rows[E_NR];
	struct bench_opts o;
	uint64_t len, budget, expect;
	void *map[E_NR] = { 0 };
	char path[512];
	int fd, reps;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	budget = 2 * len;
	reps = o.reps * 2 > BENCH_MAX_REPS ? BENCH_MAX_REPS : o.reps * 2;
	bench_banner("rescan", WHAT);
	printf("   file %.2f GiB in %s, upager budget %.2f GiB, "
	       "read-ahead 16 pages\n", (double)len / GiB, o.dir,
	       (double)budget / GiB);
	bench_csv_open("rescan");
	fd = bench_file(&o, "rescan", len, 0x7e5ca9, path, sizeof(path),
			&expect);

	engines_std(eng, rows, "read() 2 MiB", budget);

	bench_warm(fd, len);
	for (int rep = 0; rep <= reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			uint64_t t0, t1, f0, h;

			if (!row_wants(&rows[e], rep))
				continue;
			if (e == E_READ)
				bench_warm(fd, len);
			else if (rep == 0)
				map[e] = engine_map(&eng[e], len, PROT_READ,
						    MAP_SHARED, fd);
			f0 = engine_faults(&eng[e]);
			t0 = now_ns();
			h = e == E_READ ? file_csum(fd, len)
					: csum(map[e], len, 0);
			t1 = now_ns();
			if (rep == 0) {	/* the first, faulting scan */
				if (h != expect)
					rows[e].wrong = 1;
				continue;
			}
			row_add(&rows[e], (double)len / (double)(t1 - t0),
				engine_faults(&eng[e]) - f0, h == expect);
		}
	}
	for (int e = 0; e < E_NR; e++) {
		struct up_stats st;

		if (eng[e].pager && map[e] &&
		    !up_mapping_stats(eng[e].pager, map[e], &st))
			snprintf(rows[e].extra, sizeof(rows[e].extra),
				 "resident %.2f GiB",
				 (double)(st.resident * st.page_len) / GiB);
	}
	bench_table("rescan", "second scan, all resident", "GB/s", "higher",
		    rows, E_NR, E_KERNEL, reps);
	for (int e = 0; e < E_NR; e++)
		if (map[e])
			engine_unmap(&eng[e], map[e], len);
	engines_close(eng, E_NR);
	close(fd);
	unlink(path);
	return 0;
}
