/* SPDX-License-Identifier: MIT */
/*
 * storewb - the write-back of scattered dirty pages to a store: a MAP_SHARED
 * mapping of a store through a pager with the defaults, one byte stored in
 * every fourth page, then msync(MS_SYNC), timed; with the store's
 * write_batch (the ranges of one msync in flight together) and with it
 * taken away (one write call per range, one after the other).  The store
 * is the RADOS one (rados://POOL/NAME, on the cluster $CEPH_CONF names) or
 * the direct one over a file (O_DIRECT, io_uring).  The medians of the
 * reps, and their ratio.
 *
 *   storewb [--quick] [--size SIZE] [rados://POOL/NAME | FILE]
 */
#include "bench.h"

#define WHAT "msync of scattered dirty pages: batched against one by one"

static const struct up_store_ops *unbatched(const struct up_store_ops *ops)
{
	static struct up_store_ops o;

	o = *ops;
	o.write_batch = NULL;
	return &o;
}

static int open_store(const char *where, uint64_t len,
		      const struct up_store_ops **ops, void **ctx)
{
	char pool[128];
	const char *name;
	int fd, err;

	if (!strncmp(where, "rados://", 8)) {
		name = strchr(where + 8, '/');
		if (!name || name - (where + 8) >= (long)sizeof(pool))
			die("rados://POOL/NAME, not %s", where);
		snprintf(pool, sizeof(pool), "%.*s", (int)(name - (where + 8)),
			 where + 8);
		return up_rstore_open(NULL, pool, name + 1, O_RDWR | O_CREAT,
				      (off_t)len, 0, ops, ctx);
	}
	fd = open(where, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len))
		die("%s: %s", where, strerror(errno));
	err = up_dstore_open(fd, O_RDWR, ops, ctx);
	close(fd);
	return err;
}

/* One rep: dirty every fourth page, msync; seconds. */
static double rep(struct up_pager *p, const struct up_store_ops *ops,
		  void *ctx, uint64_t len, size_t pl, int n)
{
	char *m;
	uint64_t t0;
	int err = up_pager_map_store(p, ops, ctx, NULL, len,
				     PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				     (void **)&m);

	if (err)
		die("up_pager_map_store: %s", up_strerror(err));
	for (uint64_t off = 0; off < len; off += 4 * pl)
		m[off] = (char)(n + 1);
	t0 = now_ns();
	err = up_pager_sync(p, m, len, MS_SYNC);
	if (err)
		die("up_pager_sync: %s", up_strerror(err));
	t0 = now_ns() - t0;
	up_pager_unmap(p, m, len);
	return (double)t0 / 1e9;
}

int main(int argc, char **argv)
{
	const char *where = NULL;
	struct bench_opts o;
	struct up_config cfg;
	struct up_pager *p;
	struct up_stats st;
	double t[2][BENCH_MAX_REPS], med[2];
	uint64_t len;
	int i, k, err;

	char path[4096];

	/* The store, last: an argument that no option takes. */
	if (argc > 1 && argv[argc - 1][0] != '-' &&
	    (argc < 3 || (strcmp(argv[argc - 2], "--size") &&
			  strcmp(argv[argc - 2], "--reps"))))
		where = argv[--argc];
	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : (o.quick ? 16 : 64) * MiB;
	if (!where) {
		snprintf(path, sizeof(path), "%s/upager-storewb.bin", o.dir);
		where = path;
	}
	bench_banner("storewb", WHAT);
	up_config_init(&cfg);
	err = up_pager_open(&p, &cfg);
	if (err)
		die("up_pager_open: %s", up_strerror(err));
	up_pager_stats(p, &st);
	printf("store %s, %llu MiB, %llu dirty pages of %zu KiB per msync\n",
	       where, (unsigned long long)(len / MiB),
	       (unsigned long long)(len / st.page_len / 4),
	       (size_t)(st.page_len / KiB));
	for (i = 0; i < o.reps; i++) {
		for (k = 0; k < 2; k++) {
			const struct up_store_ops *ops;
			void *ctx, *keep;

			err = open_store(where, len, &ops, &ctx);
			if (err)
				die("%s: %s", where, up_strerror(err));
			if (k)
				ops = unbatched(ops);
			/* A small mapping holds the store across the rep's
			 * unmap, which would close it. */
			err = up_pager_map_store(p, ops, ctx, NULL, 4096,
						 PROT_READ, MAP_SHARED, 0,
						 &keep);
			if (err)
				die("map: %s", up_strerror(err));
			t[k][i] = rep(p, ops, ctx, len, st.page_len, i);
			up_pager_unmap(p, keep, 4096);
		}
	}
	for (k = 0; k < 2; k++)
		med[k] = median_of(t[k], o.reps);
	printf("%-28s %10.1f ms\n", "write_batch", med[0] * 1e3);
	printf("%-28s %10.1f ms\n", "one write per range", med[1] * 1e3);
	printf("batched / one by one: %.2fx faster\n", med[1] / med[0]);
	up_pager_close(p);
	return 0;
}
