/* SPDX-License-Identifier: MIT */
/*
 * seqwrite - overwrite a page-cached file sequentially, then msync(MS_SYNC).
 *
 * Each rep maps the file, writes a new pattern over every byte (a new
 * seed each time, so every page really changes), msyncs with MS_SYNC and
 * unmaps; the time covers all four, and the write and sync phases are
 * shown apart.  Peers: the kernel's mmap (the base) and write() of 2 MiB
 * buffers filled with the same pattern, then fdatasync.  upager runs with
 * a 256 MiB budget (so it writes back while the loop runs) at 4 KiB,
 * 64 KiB and 2 MiB pages.  After each rep the file is read back with
 * pread and must have the expected checksum.  The disk is in the loop
 * (MS_SYNC waits for it), so the ratios say how much of the disk's speed
 * each engine keeps.
 */
#include "bench.h"

#define WHAT "sequential overwrite of a cached file, then msync(MS_SYNC)"

enum { E_KERNEL, E_WRITE, E_UP4K, E_UP64K, E_UP2M, E_NR };
_Static_assert(E_NR == STD_NR, "engines_std() makes these, in this order");

/* write() peer: fill a 2 MiB buffer with the pattern, pwrite it. */
static void write_file(int fd, uint64_t len, uint64_t seed)
{
	static uint64_t buf[CHUNK / 8];

	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		pat_fill(buf, n, off, seed);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			die("pwrite: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	double wsec[E_NR][BENCH_MAX_REPS], ssec[E_NR][BENCH_MAX_REPS];
	struct engine eng[E_NR];
	struct row rows[E_NR];
	struct bench_opts o;
	uint64_t len, budget, expect, seed = 0;
	char path[512];
	int fd;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	budget = o.quick ? 64 * MiB : 256 * MiB;
	bench_banner("seqwrite", WHAT);
	printf("   file %.2f GiB in %s, upager budget %llu MiB, "
	       "read-ahead 16 pages\n", (double)len / GiB, o.dir,
	       (unsigned long long)(budget / MiB));
	bench_csv_open("seqwrite");
	fd = bench_file(&o, "seqwrite", len, seed, path, sizeof(path),
			&expect);

	engines_std(eng, rows, "write() 2 MiB + fdatasync", budget);

	for (int rep = 0; rep <= o.reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			uint64_t t0, t1, t2, t3, f0;
			void *p = NULL;

			if (!row_wants(&rows[e], rep))
				continue;
			seed++;
			bench_warm(fd, len);
			f0 = engine_faults(&eng[e]);
			t0 = now_ns();
			if (e == E_WRITE) {
				write_file(fd, len, seed);
				t1 = now_ns();
				if (fdatasync(fd))
					die("fdatasync: %s", strerror(errno));
				t2 = t3 = now_ns();
			} else {
				p = engine_map(&eng[e], len,
					       PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd);
				pat_fill(p, len, 0, seed);
				t1 = now_ns();
				engine_sync(&eng[e], p, len);
				t2 = now_ns();
				engine_unmap(&eng[e], p, len);
				t3 = now_ns();
			}
			f0 = engine_faults(&eng[e]) - f0;
			if (rep == 0) {	/* warm-up */
				row_cap(&rows[e], (double)(t3 - t0) / 1e9);
				continue;
			}
			wsec[e][rows[e].nr] = (double)(t1 - t0) / 1e9;
			ssec[e][rows[e].nr] = (double)(t2 - t1) / 1e9;
			/* After unmap, the file must hold the new pattern. */
			row_add(&rows[e], (double)len / (double)(t3 - t0), f0,
				file_csum(fd, len) == pat_csum(len, seed));
		}
	}
	for (int e = 0; e < E_NR; e++)
		snprintf(rows[e].extra, sizeof(rows[e].extra),
			 "write %.3f s, sync %.3f s",
			 median_of(wsec[e], rows[e].nr),
			 median_of(ssec[e], rows[e].nr));
	bench_table("seqwrite", "overwrite + MS_SYNC", "GB/s", "higher", rows,
		    E_NR, E_KERNEL, o.reps);
	engines_close(eng, E_NR);
	close(fd);
	unlink(path);
	return 0;
}
