/* file-eviction: with a budget of a few pages, dirty pages of a shared file mapping reach the file when evicted (at once where the mapping is the page cache). */
#include "harness.h"

#define PAGES 64
#define BUDGET_PAGES 4

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 65536;
	c->budget = BUDGET_PAGES * c->page_len;
	c->readahead_nr = 2;
	page = c->page_len;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), uffd = h_is_uffd(p), in_file = 0;
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(page);
	struct h_model m;
	struct up_stats st;

	(void)b;
	h_model_init(&m, fd);
	if (!map)
		goto out;
	/* even pages written whole, odd pages in a 100-byte stripe */
	for (size_t i = 0; i < PAGES; i++) {
		size_t off = i * page + (i & 1 ? 1000 : 0), n = i & 1 ? 100 : page;

		h_pat_fill(map + off, 2, off, n);
		h_model_write(&m, (off_t)off, map + off, n);
		CHECK_OK(up_pager_stats(p, &st));
		if (uffd)
			CHECK(st.resident <= BUDGET_PAGES);
	}
	/* before any sync: each page is either still in memory or already
	 * in the file; at most a budget's worth may be held back */
	for (size_t i = 0; i < PAGES; i++) {
		char *want = malloc(page);

		CHECK_EQ(pread(fd, buf, page, i * page), page);
		CHECK_EQ(pread(m.fd, want, page, i * page), page);
		in_file += !memcmp(buf, want, page);
		free(want);
	}
	CHECK_OK(up_pager_stats(p, &st));
	if (uffd) {
		printf("before sync: %d of %d written pages in the file, "
		       "writebacks %llu, evictions %llu\n", in_file, PAGES,
		       (unsigned long long)st.writebacks,
		       (unsigned long long)st.evictions);
		CHECK_EQ(st.budget_pages, BUDGET_PAGES);
		CHECK(in_file >= PAGES - BUDGET_PAGES);
		/* Pages mapped from the page cache are the kernel's to
		 * write: the pager writes none back. */
		if (strstr(up_pager_note(p), "page-cache pages"))
			CHECK_EQ(st.writebacks, 0);
		else
			CHECK(st.writebacks >= PAGES - BUDGET_PAGES);
		CHECK(st.evictions >= PAGES - BUDGET_PAGES);
		CHECK(st.dirty <= st.resident);
	}
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	h_files_equal(fd, m.fd);
	/* the evicted pages read back from the file */
	for (size_t i = 0; i < PAGES; i++) {
		CHECK_EQ(pread(m.fd, buf, page, i * page), page);
		CHECK(!memcmp(map + i * page, buf, page));
	}
	CHECK_OK(up_pager_stats(p, &st));
	if (uffd) {
		CHECK(st.resident <= BUDGET_PAGES);
		CHECK_EQ(st.dirty, 0);
	}
	CHECK_OK(up_pager_unmap(p, map, len));
	h_files_equal(fd, m.fd);
out:
	free(buf);
	close(m.fd);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
