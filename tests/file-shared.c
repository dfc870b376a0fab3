/* file-shared: MAP_SHARED file mappings read the file and their writes reach it on sync and unmap. */
#include "harness.h"

#define PAGES 40

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	page = c->page_len;
}

/* Write pattern 2 over [off, off+len) of map (a mapping of the file from
 * file offset moff) and the model. */
static void put(char *map, off_t moff, struct h_model *m, size_t off,
		size_t len)
{
	h_pat_fill(map + off, 2, moff + off, len);
	h_model_write(m, moff + (off_t)off, map + off, len);
}

static void read_only(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), ro = h_reopen(fd, O_RDONLY);
	char *map = h_map(p, len, PROT_READ, MAP_SHARED, ro, 0);
	char *sub = h_map(p, len - 12288, PROT_READ, MAP_SHARED, ro, 12288);

	close(ro);	/* the fd may be closed as soon as map returns */
	if (map)
		CHECK_EQ(h_pat_diff(map, 1, 0, len), -1);
	if (sub)	/* off a system page, not a pager page, multiple */
		CHECK_EQ(h_pat_diff(sub, 1, 12288, len - 12288), -1);
	if (map)
		CHECK_OK(up_pager_unmap(p, map, len));
	if (sub)
		CHECK_OK(up_pager_unmap(p, sub, len - 12288));
	/* a read-only mapping never changes the file */
	CHECK_EQ(h_file_len(fd), len);
	{
		char *buf = malloc(len);

		CHECK_EQ(pread(fd, buf, len, 0), len);
		CHECK_EQ(h_pat_diff(buf, 1, 0, len), -1);
		free(buf);
	}
	close(fd);
}

static void read_write(struct up_pager *p, int flags, off_t moff)
{
	size_t len = PAGES * page - (size_t)moff;
	int fd = h_file(PAGES * page, 1), rw = h_reopen(fd, O_RDWR);
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, flags, rw, moff);
	struct h_model m;

	close(rw);
	h_model_init(&m, fd);
	if (!map)
		goto out;
	CHECK_EQ(h_pat_diff(map, 1, moff, len), -1);

	/* writes within pages, across page boundaries, whole pages */
	put(map, moff, &m, 100, 10);
	put(map, moff, &m, page - 5, 10);
	put(map, moff, &m, 3 * page, 2 * page);
	put(map, moff, &m, 9 * page + 1, 1);
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	h_files_equal(fd, m.fd);

	/* written again after a sync: the page must be tracked dirty again */
	put(map, moff, &m, 3 * page + 7, 3);
	put(map, moff, &m, 20 * page + 2, 1000);
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	h_files_equal(fd, m.fd);

	/* unmap writes back without a sync */
	put(map, moff, &m, 9 * page + 100, 1);
	put(map, moff, &m, len - 50, 50);
	put(map, moff, &m, 30 * page, page);
	CHECK_OK(up_pager_unmap(p, map, len));
	h_files_equal(fd, m.fd);
out:
	close(m.fd);
	close(fd);
}

static void body(struct up_pager *p, enum up_backend b)
{
	(void)b;
	read_only(p);
	read_write(p, MAP_SHARED, 0);
	read_write(p, MAP_SHARED_VALIDATE, 0);
	read_write(p, MAP_SHARED, 3 * 4096);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
