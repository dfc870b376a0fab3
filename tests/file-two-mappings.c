/* file-two-mappings: two shared mappings of one file in one process see each other's writes at once. */
#include "harness.h"

#define PAGES 24

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->budget = 8 * c->page_len;	/* smaller than the file */
	page = c->page_len;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page, boff = 4096;	/* b starts one system page in */
	int fd = h_file(len, 1);
	char *ma = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *mb = h_map(p, len - boff, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)boff);
	int ro = h_reopen(fd, O_RDONLY);
	char *mc = h_map(p, len, PROT_READ, MAP_SHARED, ro, 0);
	struct h_model m;

	(void)b;
	close(ro);
	h_model_init(&m, fd);
	if (!ma || !mb || !mc)
		goto out;
	CHECK_EQ(h_pat_diff(mb, 1, boff, len - boff), -1);
	for (size_t i = 0; i < PAGES; i++) {
		size_t off = i * page + 5000 + i;
		char va = (char)(0xa0 + i), vb = (char)(0x50 + i);

		/* a write through one is seen through the others at once */
		ma[off] = va;
		CHECK_EQ(mb[off - boff], va);
		CHECK_EQ(mc[off], va);
		mb[off + 1 - boff] = vb;
		CHECK_EQ(ma[off + 1], vb);
		CHECK_EQ(mc[off + 1], vb);
		h_model_write(&m, (off_t)off, &va, 1);
		h_model_write(&m, (off_t)off + 1, &vb, 1);
	}
	/* and still after the pages were evicted and read again */
	for (size_t i = 0; i < PAGES; i++) {
		size_t off = i * page + 5000 + i;

		CHECK_EQ(ma[off + 1], (char)(0x50 + i));
		CHECK_EQ(mb[off - boff], (char)(0xa0 + i));
		CHECK_EQ(mc[off], (char)(0xa0 + i));
	}
	/* whole-page writes through b, read through a */
	h_pat_fill(mb + 2 * page, 3, 2 * page + boff, 3 * page);
	h_model_write(&m, (off_t)(2 * page + boff), mb + 2 * page, 3 * page);
	CHECK_EQ(h_pat_diff(ma + 2 * page + boff, 3, 2 * page + boff, 3 * page), -1);
	CHECK_OK(up_pager_sync(p, ma, len, MS_SYNC));
	CHECK_OK(up_pager_sync(p, mb, len - boff, MS_SYNC));
	h_files_equal(fd, m.fd);
out:
	if (ma)
		CHECK_OK(up_pager_unmap(p, ma, len));
	if (mb)
		CHECK_OK(up_pager_unmap(p, mb, len - boff));
	if (mc)
		CHECK_OK(up_pager_unmap(p, mc, len));
	h_files_equal(fd, m.fd);
	close(m.fd);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
