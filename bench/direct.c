/* SPDX-License-Identifier: MIT */
/*
 * direct - a cold sequential scan of a file through a small budget: the
 * kernel's mmap(2) (MADV_SEQUENTIAL; the base of the ratios), a file
 * mapping through a pager with the defaults, the direct store
 * (up_dstore_open(): O_DIRECT, read-ahead batched through io_uring) and the
 * same store with the read-ahead hint taken away (each page read on
 * demand, one at a time), at 64 KiB pages and at 2 MiB; the store's own
 * reads without a pager, 64 KiB at a time, with the hint and without; and
 * O_DIRECT pread(2) of 1 MiB.  Before each rep
 * the file is dropped from the page cache; after it, the pages of the
 * file the page cache still holds are counted (mincore): what the scan
 * cost the system beside the pager's own budget.
 */
#include "bench.h"

#define WHAT "cold sequential scan: page cache against O_DIRECT"

enum {
	E_KERNEL, E_FILE, E_DIRECT, E_DIRECT_2M, E_DIRECT_SYNC, E_CALLS,
	E_CALLS_HINT, E_PREAD, E_NR
};

static const struct up_store_ops *sync_ops(const struct up_store_ops *ops)
{
	static struct up_store_ops o;

	o = *ops;
	o.readahead = NULL;
	return &o;
}

/* O_DIRECT pread(2) of 1 MiB at a time. */
static uint64_t scan_pread(int fd, uint64_t len)
{
	static char *buf;
	uint64_t h = 0;

	if (!buf && posix_memalign((void **)&buf, 4096, MiB))
		die("posix_memalign");
	for (uint64_t off = 0; off < len; off += MiB) {
		if (pread(fd, buf, MiB, (off_t)off) != (ssize_t)MiB)
			die("pread O_DIRECT: %s", strerror(errno));
		h += csum(buf, MiB, off);
	}
	return h;
}

/* The store's own calls, 64 KiB reads as a pager of 64 KiB pages makes
 * them, with the hint of a 1 MiB window before each window or without. */
static uint64_t scan_calls(int fd, uint64_t len, int hint)
{
	const struct up_store_ops *ops;
	static char *buf;
	uint64_t h = 0;
	void *ctx;

	if (!buf && posix_memalign((void **)&buf, 4096, 64 * KiB))
		die("posix_memalign");
	if (up_dstore_open(fd, O_RDONLY, &ops, &ctx))
		die("up_dstore_open");
	for (uint64_t off = 0; off < len; off += 64 * KiB) {
		if (hint && !(off % MiB))
			ops->readahead(ctx, (off_t)off, MiB);
		if (ops->read(ctx, buf, 64 * KiB, (off_t)off) != 64 * KiB)
			die("the direct store's read");
		h += csum(buf, 64 * KiB, off);
	}
	ops->close(ctx);
	return h;
}

int main(int argc, char **argv)
{
	static const char *names[E_NR] = {
		"kernel mmap MADV_SEQUENTIAL", "upager file mapping",
		"upager direct store", "upager direct store, 2M pages",
		"upager direct, no read-ahead hint",
		"direct store's reads, 64K",
		"direct store's reads, 64K + hint", "pread O_DIRECT 1 MiB",
	};
	struct engine eng[E_NR];
	struct row rows[E_NR];
	double cached[E_NR] = { 0 };
	struct bench_opts o;
	uint64_t len, budget = 64 * MiB, expect;
	char path[512];
	int fd, dfd;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : 1 * GiB;
	bench_banner("direct", WHAT);
	printf("   file %.2f GiB in %s, upager budget %llu MiB, the "
	       "defaults otherwise\n", (double)len / GiB, o.dir,
	       (unsigned long long)(budget / MiB));
	bench_csv_open("direct");
	fd = bench_file(&o, "direct", len, 0xd1ec7, path, sizeof(path),
			&expect);
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		die("O_DIRECT: %s", strerror(errno));
	for (int e = 0; e < E_NR; e++) {
		if (e == E_KERNEL || e >= E_CALLS)
			engine_kernel(&eng[e], names[e]);
		else if (engine_upager(&eng[e], budget,
				       e == E_DIRECT_2M ? 2 * MiB : 64 * KiB,
				       16) == 0)
			snprintf(eng[e].name, sizeof(eng[e].name), "%s",
				 names[e]);
		row_init(&rows[e], &eng[e]);
	}
	for (int rep = 0; rep <= o.reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			const struct up_store_ops *ops;
			uint64_t t0, t1, h = 0;
			void *ctx;
			char *p = NULL;

			if (!row_wants(&rows[e], rep))
				continue;
			bench_drop(fd, len);
			t0 = now_ns();
			if (e == E_PREAD) {
				h = scan_pread(dfd, len);
			} else if (e == E_CALLS || e == E_CALLS_HINT) {
				h = scan_calls(fd, len, e == E_CALLS_HINT);
			} else if (e != E_FILE && e != E_KERNEL) {
				if (up_dstore_open(fd, O_RDONLY, &ops, &ctx))
					die("up_dstore_open");
				if (up_pager_map_store(eng[e].pager,
						       e == E_DIRECT
							       ? ops
							       : sync_ops(ops),
						       ctx, NULL, len,
						       PROT_READ, MAP_SHARED, 0,
						       (void **)&p))
					die("up_pager_map_store");
				engine_advise(&eng[e], p, len,
					      MADV_SEQUENTIAL);
				h = csum(p, len, 0);
				engine_unmap(&eng[e], p, len);
			} else {
				p = engine_map(&eng[e], len, PROT_READ,
					       MAP_SHARED, fd);
				engine_advise(&eng[e], p, len,
					      MADV_SEQUENTIAL);
				h = csum(p, len, 0);
				engine_unmap(&eng[e], p, len);
			}
			t1 = now_ns();
			cached[e] = cached_fraction(fd, len);
			if (rep == 0) {	/* warm-up */
				row_cap(&rows[e], (double)(t1 - t0) / 1e9);
				continue;
			}
			row_add(&rows[e], (double)len / (double)(t1 - t0), 0,
				h == expect);
		}
	}
	bench_table("direct", "cold sequential scan", "GB/s", "higher", rows,
		    E_NR, E_KERNEL, o.reps);
	printf("\n   the file's pages in the page cache after the last rep "
	       "(budget %llu MiB):\n", (unsigned long long)(budget / MiB));
	for (int e = 0; e < E_NR; e++)
		if (eng[e].ok)
			printf("   %-36s %8.1f MiB\n", eng[e].name,
			       cached[e] * (double)len / MiB);
	engines_close(eng, E_NR);
	close(dfd);
	close(fd);
	unlink(path);
	return 0;
}
