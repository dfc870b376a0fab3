/* SPDX-License-Identifier: MIT */
/*
 * store-direct: a file mapped through the direct store (up_dstore_open(),
 * O_DIRECT with io_uring read-ahead) against a model: sequential passes
 * that read ahead, random stores of unaligned runs, a pass over what was
 * stored (read-ahead must not serve what a write replaced), msync, then
 * the file holds what pwrite(2) on a copy would.  The end of the file
 * behaves as a mapping's end.  A scan leaves the kernel's page cache of
 * the file empty.
 */
#include "harness.h"

#include <sys/mman.h>

#define LEN (5 * H_MIB + 777)	/* ends inside a page */
#define SYS_UP_LEN(x) (((x) + 4095) / 4096 * 4096)

static void small(struct up_config *c)
{
	c->budget = 8 * c->page_len;
}

static void small4k(struct up_config *c)
{
	c->page_len = 4096;
	c->budget = 64 * 4096;
}

/* Pages of fd's file in the kernel's page cache. */
static size_t cached_pages(int fd, size_t len)
{
	size_t n = SYS_UP_LEN(len) / 4096, i, got = 0;
	unsigned char *v = malloc(n);
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED || mincore(m, len, v)) {
		H_FAIL("mincore: %s", strerror(errno));
		free(v);
		return 0;
	}
	for (i = 0; i < n; i++)
		got += v[i] & 1;
	munmap(m, len);
	free(v);
	return got;
}

/* Out of the page cache: written back first. */
static void uncache(int fd)
{
	CHECK_OK(fdatasync(fd));
	CHECK_OK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
}

static uint64_t pass(const char *m)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < LEN; i += 512)
		sum = sum * 31 + (unsigned char)m[i];
	return sum;
}

static void model(struct up_pager *p)
{
	const struct up_store_ops *ops;
	char *ref = malloc(LEN), *back = malloc(LEN), *m, v = 0;
	int fd = h_file(LEN, 21), i;
	void *ctx;

	h_pat_fill(ref, 21, 0, LEN);
	uncache(fd);
	CHECK_OK(up_dstore_open(fd, O_RDWR, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, SYS_UP_LEN(LEN) + 4096,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	CHECK_EQ(pass(m), pass(ref));
	/* The scan read past the page cache. */
	CHECK(cached_pages(fd, LEN) < 16);
	for (i = 0; i < (H_SANITIZED ? 300 : 800); i++) {
		size_t off = h_below(LEN), n = 1 + h_below(5000);

		if (n > LEN - off)
			n = LEN - off;
		memset(m + off, (int)h_below(256), n);
		memset(ref + off, m[off], n);
		if (i == 150) {
			CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
			CHECK_EQ(pass(m), pass(ref));
		}
	}
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	/* Past the end: zeros in the last page, SIGBUS beyond. */
	CHECK_EQ(m[LEN], 0);
	CHECK_EQ(h_access(m + SYS_UP_LEN(LEN), 0, &v), SIGBUS);
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_EQ(pread(fd, back, LEN, 0), (ssize_t)LEN);
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	/* Evicted, written back, read again: the same. */
	CHECK_EQ(pass(m), pass(ref));
	CHECK_OK(up_pager_unmap(p, m, SYS_UP_LEN(LEN) + 4096));
	CHECK_EQ(h_file_len(fd), (off_t)LEN);
	CHECK_EQ(pread(fd, back, LEN, 0), (ssize_t)LEN);
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	close(fd);
	free(ref);
	free(back);
}

static void body(struct up_pager *p, enum up_backend b)
{
	const struct up_store_ops *ops;
	void *ctx, *m;
	int fd;

	if (b == UP_BACKEND_KERNEL || (h_flags & UP_CONFIG_FAULT_INLINE)) {
		fd = h_file(LEN, 23);
		CHECK_OK(up_dstore_open(fd, O_RDONLY, &ops, &ctx));
		CHECK_EQ(up_pager_map_store(p, ops, ctx, NULL, LEN, PROT_READ,
					    MAP_SHARED, 0, &m),
			 -EOPNOTSUPP);
		ops->close(ctx);
		close(fd);
		return;
	}
	model(p);
}

/* The store's own calls, unaligned, and its refusals. */
static void calls(void)
{
	const struct up_store_ops *ops;
	char buf[10000], want[10000];
	int fd = h_file(LEN, 24), ro, pfd[2];
	void *ctx;

	CHECK_OK(up_dstore_open(fd, O_RDWR, &ops, &ctx));
	CHECK_EQ(ops->size(ctx), (off_t)LEN);
	CHECK_EQ(ops->read(ctx, buf, 9999, 12345), 9999);
	CHECK_EQ(h_pat_diff(buf, 24, 12345, 9999), -1);
	CHECK_EQ(ops->read(ctx, buf, 5000, LEN - 1000), 1000);
	CHECK_EQ(h_pat_diff(buf, 24, LEN - 1000, 1000), -1);
	CHECK_EQ(ops->read(ctx, buf, 100, LEN + 5), 0);
	memset(want, 'q', sizeof(want));
	CHECK_EQ(ops->write(ctx, want, 777, 4097), 777);
	ops->readahead(ctx, 0, 1 << 20);
	CHECK_EQ(ops->read(ctx, buf, 777, 4097), 777);
	CHECK_EQ(memcmp(buf, want, 777), 0);
	CHECK_OK(ops->sync(ctx));
	{
		/* A batch: aligned ranges (direct, through the ring, with
		 * read-ahead in flight) and unaligned ones; then a resize. */
		struct up_store_io io[5];
		char *al = NULL;
		int k;

		CHECK_OK(posix_memalign((void **)&al, 4096, 5 * 8192));
		ops->readahead(ctx, 0, 1 << 20);
		for (k = 0; k < 5; k++) {
			memset(al + k * 8192, 'A' + k, 8192);
			io[k].buf = al + k * 8192;
			io[k].len = k == 3 ? 100 : 8192;
			io[k].off = k == 3 ? 70001 : (off_t)(4 - k) * 65536;
		}
		CHECK_OK(ops->write_batch(ctx, io, 5));
		for (k = 0; k < 5; k++) {
			CHECK_EQ(ops->read(ctx, buf, io[k].len, io[k].off),
				 (ssize_t)io[k].len);
			CHECK_EQ(memcmp(buf, al + k * 8192, io[k].len), 0);
			CHECK_EQ(pread(fd, buf, io[k].len, io[k].off),
				 (ssize_t)io[k].len);
			CHECK_EQ(memcmp(buf, al + k * 8192, io[k].len), 0);
		}
		free(al);
		CHECK_OK(ops->resize(ctx, 5000));
		CHECK_EQ(ops->size(ctx), 5000);
		CHECK_EQ(ops->read(ctx, buf, 100, 4950), 50);
		CHECK_OK(ops->resize(ctx, LEN));
		CHECK_EQ(ops->read(ctx, buf, 100, 5000), 100);
		CHECK_EQ(buf[0] | buf[99], 0);
	}
	ops->close(ctx);
	ro = h_reopen(fd, O_RDONLY);
	CHECK_EQ(up_dstore_open(ro, O_RDWR, &ops, &ctx), -EACCES);
	CHECK_OK(up_dstore_open(ro, O_RDONLY, &ops, &ctx));
	CHECK(ops->write == NULL);
	ops->close(ctx);
	close(ro);
	CHECK_OK(pipe(pfd));
	CHECK_EQ(up_dstore_open(pfd[0], O_RDONLY, &ops, &ctx), -ENODEV);
	CHECK_EQ(up_dstore_open(fd, O_WRONLY, &ops, &ctx), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

int main(void)
{
	h_seed();
	calls();
	FOR_EACH_BACKEND(small, body);
	FOR_EACH_BACKEND(small4k, body);
	h_done();
}
