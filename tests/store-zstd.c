/* SPDX-License-Identifier: MIT */
/*
 * store-zstd: the compressed store (up_zstore_*) behind a mapping.  Random
 * stores through a budget smaller than the data, then msync: reopened, the
 * file reads back as the model says, through the store and through a new
 * mapping.  Compressible data takes a fraction of its length.  A process
 * that dies after a sync leaves the file as of that sync.  A damaged
 * file is refused with -EBADMSG, one that is no compressed file with
 * -EMEDIUMTYPE; a read-only store is not writable through a mapping.
 */
#include "harness.h"

#define LEN (3 * H_MIB + 12345)	/* ends inside a chunk and a page */
#define CHUNK (64u << 10)

static size_t page_len;

/* The default page (frames moved into place), and 4 KiB pages (copies
 * through the pager's memfd), each a chunk's decompression or less. */
static void small(struct up_config *c)
{
	page_len = c->page_len;
	c->budget = 8 * c->page_len;	/* an eighth of the data at most */
}

static void small4k(struct up_config *c)
{
	c->page_len = 4096;
	small(c);
}

static int zfile(void)
{
	int fd = h_tmpfile();

	CHECK(fd >= 0);
	return fd;
}

/* Read all of the store at fd (opened anew) into buf; 0 or -errno. */
static int read_back(int fd, char *buf)
{
	const struct up_store_ops *ops;
	void *ctx;
	ssize_t n;
	int err = up_zstore_open(fd, O_RDONLY, &ops, &ctx);

	if (err)
		return err;
	CHECK_EQ(ops->size(ctx), (off_t)LEN);
	CHECK(ops->write == NULL);
	n = ops->read(ctx, buf, LEN + 100, 0);
	ops->close(ctx);
	return n == LEN ? 0 : -EIO;
}

/* Random stores of runs through a mapping, against a model. */
static void model(struct up_pager *p)
{
	const struct up_store_ops *ops;
	char *ref = calloc(1, LEN), *back = malloc(LEN), *m, *m2;
	void *ctx;
	int fd = zfile(), i;

	CHECK_OK(up_zstore_create(fd, LEN, CHUNK, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	for (i = 0; i < (H_SANITIZED ? 800 : 3000); i++) {
		size_t off = h_below(LEN), n = 1 + h_below(3000);

		if (n > LEN - off)
			n = LEN - off;
		if (h_below(4)) {
			memset(m + off, (int)h_below(256), n);
			memset(ref + off, m[off], n);
		} else {
			CHECK_EQ(memcmp(m + off, ref + off, n), 0);
		}
		if (i == 400)
			CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	}
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_OK(read_back(fd, back));
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	CHECK_OK(up_pager_unmap(p, m, LEN));	/* closes the store */

	/* A mapping of the reopened file shows the same. */
	CHECK_OK(up_zstore_open(fd, O_RDONLY, &ops, &ctx));
	CHECK_EQ(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m2),
		 -EACCES);
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN, PROT_READ,
				    MAP_SHARED, 0, (void **)&m2));
	CHECK_EQ(memcmp(m2, ref, LEN), 0);
	CHECK_OK(up_pager_unmap(p, m2, LEN));
	close(fd);
	free(ref);
	free(back);
}

/* Resized under its mapping, as a file by ftruncate(2): past the new
 * end SIGBUS, grown again zeros, and so after a sync and a reopen. */
static void resized(struct up_pager *p)
{
	const struct up_store_ops *ops;
	char *ref = malloc(LEN), *back = malloc(LEN), *m, v;
	size_t half = LEN / 2 + 777, sys = (half + 4095) & ~4095ul;
	void *ctx;
	int fd = zfile();

	h_pat_fill(ref, 21, 0, LEN);
	CHECK_OK(up_zstore_create(fd, LEN, CHUNK, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	memcpy(m, ref, LEN);
	CHECK_OK(up_pager_store_resize(p, ops, ctx, (off_t)half));
	CHECK_EQ(ops->size(ctx), (off_t)half);
	CHECK_EQ(h_access(m + sys, 0, &v), SIGBUS);
	CHECK_EQ(h_access(m + LEN - 1, 0, &v), SIGBUS);
	CHECK_EQ(h_access(m + half, 0, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(memcmp(m, ref, half), 0);
	CHECK_OK(up_pager_store_resize(p, ops, ctx, LEN));
	memset(ref + half, 0, LEN - half);
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	m[LEN - 5] = 'z';
	ref[LEN - 5] = 'z';
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, LEN));
	CHECK_OK(read_back(fd, back));
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	close(fd);
	free(ref);
	free(back);
}

/* Text compresses: the store takes a fraction of its length. */
static void ratio(struct up_pager *p)
{
	const struct up_store_ops *ops;
	struct up_zstore_stat st;
	char *m, line[80];
	void *ctx;
	size_t off, n;
	int fd = zfile();

	CHECK_OK(up_zstore_create(fd, LEN, 0, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	for (off = 0; off < LEN; off += n) {
		n = (size_t)snprintf(line, sizeof(line),
				     "line %zu of a log, level %zu\n",
				     off / 40, off % 7);
		if (n > LEN - off)
			n = LEN - off;
		memcpy(m + off, line, n);
	}
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_OK(up_zstore_stat(ctx, &st));
	CHECK_EQ(st.len, (uint64_t)LEN);
	CHECK_EQ(st.chunk_len, (uint64_t)UP_ZSTORE_CHUNK);
	CHECK(st.stored > 0 && st.stored < LEN / 4);
	printf("text: %zu bytes stored in %llu (%.1fx), file %llu\n",
	       (size_t)LEN, (unsigned long long)st.stored,
	       (double)LEN / (double)st.stored,
	       (unsigned long long)st.file_len);
	CHECK_OK(up_pager_unmap(p, m, LEN));
	close(fd);
}

static int crash_fd;

/* Write, sync, write more, and die without a sync. */
static void crash_child(void *arg)
{
	const struct up_store_ops *ops;
	void *ctx;
	char buf[5000];

	(void)arg;
	if (up_zstore_create(crash_fd, LEN, CHUNK, &ops, &ctx))
		_exit(2);
	memset(buf, 'a', sizeof(buf));
	ops->write(ctx, buf, sizeof(buf), 70000);
	if (ops->sync(ctx))
		_exit(3);
	memset(buf, 'b', sizeof(buf));
	ops->write(ctx, buf, sizeof(buf), 70000);
	ops->write(ctx, buf, sizeof(buf), 2 * H_MIB);
	/* The 'b's of the second chunk were compressed and appended when
	 * the third was wanted; no index leads to them. */
	raise(SIGKILL);
}

static void crash(void)
{
	char *back = malloc(LEN);
	size_t i, bad = 0;

	crash_fd = zfile();
	CHECK_EQ(h_fork(crash_child, NULL), SIGKILL);
	CHECK_OK(read_back(crash_fd, back));
	for (i = 0; i < LEN; i++)
		bad += back[i] != (i >= 70000 && i < 75000 ? 'a' : 0);
	CHECK_EQ(bad, 0);
	close(crash_fd);
	free(back);
}

/* Foreign and damaged files, and bad arguments. */
static void refusals(void)
{
	const struct up_store_ops *ops;
	void *ctx;
	char byte;
	int fd = h_file(8192, 3), ro;

	CHECK_EQ(up_zstore_open(fd, O_RDONLY, &ops, &ctx), -EMEDIUMTYPE);
	CHECK_OK(up_zstore_create(fd, 100000, CHUNK, &ops, &ctx));
	ops->close(ctx);
	CHECK_OK(up_zstore_open(fd, O_RDWR, &ops, &ctx));
	ops->close(ctx);
	ro = h_reopen(fd, O_RDONLY);
	CHECK_EQ(up_zstore_open(ro, O_RDWR, &ops, &ctx), -EACCES);
	close(ro);
	CHECK_EQ(pread(fd, &byte, 1, 9), 1);
	byte ^= 1;
	CHECK_EQ(pwrite(fd, &byte, 1, 9), 1);	/* the length field */
	CHECK_EQ(up_zstore_open(fd, O_RDONLY, &ops, &ctx), -EBADMSG);
	CHECK_EQ(up_zstore_create(fd, 100, 3000, &ops, &ctx), -EINVAL);
	CHECK_EQ(up_zstore_create(fd, -1, 0, &ops, &ctx), -EINVAL);
	CHECK_EQ(up_zstore_open(fd, O_WRONLY, &ops, &ctx), -EINVAL);
	close(fd);
}

static void body(struct up_pager *p, enum up_backend b)
{
	const struct up_store_ops *ops;
	void *ctx, *m;
	int fd;

	if (b == UP_BACKEND_KERNEL || (h_flags & UP_CONFIG_FAULT_INLINE)) {
		fd = zfile();
		CHECK_OK(up_zstore_create(fd, LEN, 0, &ops, &ctx));
		CHECK_EQ(up_pager_map_store(p, ops, ctx, NULL, LEN, PROT_READ,
					    MAP_SHARED, 0, &m),
			 -EOPNOTSUPP);
		ops->close(ctx);
		close(fd);
		return;
	}
	model(p);
	resized(p);
	ratio(p);
}

int main(void)
{
	const struct up_store_ops *ops;
	void *ctx;

	h_seed();
	if (up_zstore_create(-1, 0, 0, &ops, &ctx) == -EOPNOTSUPP)
		SKIP("built without libzstd (apt-get install libzstd-dev)");
	crash();
	refusals();
	FOR_EACH_BACKEND(small, body);
	FOR_EACH_BACKEND(small4k, body);
	h_done();
}
