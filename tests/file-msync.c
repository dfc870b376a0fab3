/* file-msync: MS_SYNC, MS_ASYNC and MS_INVALIDATE on shared file mappings, and their errors. */
#include "harness.h"

#define PAGES 32

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 8192;
	page = c->page_len;
}

/* Does the file hold pattern seed at [off, off+len)? */
static int file_has(int fd, uint64_t seed, off_t off, size_t len)
{
	char *buf = malloc(len);
	int ok = pread(fd, buf, len, off) == (ssize_t)len &&
		 h_pat_diff(buf, seed, (uint64_t)off, len) == -1;

	free(buf);
	return ok;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(len);

	(void)b;
	if (!map)
		goto out;

	/* MS_SYNC of a sub-range writes that range */
	h_pat_fill(map + 2 * page, 2, 2 * page, 3 * page);
	CHECK_OK(up_pager_sync(p, map + 2 * page, 3 * page, MS_SYNC));
	CHECK(file_has(fd, 2, 2 * page, 3 * page));
	CHECK(file_has(fd, 1, 0, 2 * page));

	/* MS_ASYNC: the data is in the file once it returns */
	h_pat_fill(map + 7 * page + 11, 3, 7 * page + 11, page);
	CHECK_OK(up_pager_sync(p, map, len, MS_ASYNC));
	CHECK(file_has(fd, 3, 7 * page + 11, page));
	CHECK(file_has(fd, 1, 7 * page, 11));

	/* MS_INVALIDATE: clean pages re-read a file changed behind our back */
	CHECK_EQ(h_pat_diff(map + 12 * page, 1, 12 * page, 4 * page), -1);
	h_pat_fill(buf, 4, 12 * page, 4 * page);
	CHECK_EQ(pwrite(fd, buf, 4 * page, 12 * page), 4 * page);
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC | MS_INVALIDATE));
	CHECK_EQ(h_pat_diff(map + 12 * page, 4, 12 * page, 4 * page), -1);
	/* and pages written before survive the invalidation */
	CHECK_EQ(h_pat_diff(map + 2 * page, 2, 2 * page, 3 * page), -1);
	CHECK_EQ(h_pat_diff(map + 7 * page + 11, 3, 7 * page + 11, page), -1);
	/* dirty pages are written, then dropped */
	h_pat_fill(map + 20 * page, 5, 20 * page, page);
	CHECK_OK(up_pager_sync(p, map + 20 * page, page, MS_ASYNC | MS_INVALIDATE));
	CHECK(file_has(fd, 5, 20 * page, page));
	CHECK_EQ(h_pat_diff(map + 20 * page, 5, 20 * page, page), -1);

	/* flags 0 acts as MS_ASYNC */
	h_pat_fill(map + 25 * page, 6, 25 * page, 100);
	CHECK_OK(up_pager_sync(p, map + 25 * page, page, 0));
	CHECK(file_has(fd, 6, 25 * page, 100));

	/* errors */
	CHECK_EQ(up_pager_sync(p, map, len, MS_SYNC | MS_ASYNC), -EINVAL);
	CHECK_EQ(up_pager_sync(p, map, len, 0x100), -EINVAL);
	CHECK_EQ(up_pager_sync(p, map + 1, page, MS_SYNC), -EINVAL);
	CHECK_OK(up_pager_unmap(p, map + len - page, page));
	CHECK_EQ(up_pager_sync(p, map, len, MS_SYNC), -ENOMEM);
	CHECK_OK(up_pager_unmap(p, map, len - page));
	CHECK(file_has(fd, 2, 2 * page, 3 * page));
	CHECK(file_has(fd, 5, 20 * page, page));
out:
	free(buf);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
