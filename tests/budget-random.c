/* budget-random: a file 16x the budget, scanned and randomly written, stays within the budget and ends equal to the model. */
#include "harness.h"

static size_t page, budget_pages;
static int writes_nr = H_SANITIZED ? 300 : 1500;

static void adjust(struct up_config *c)
{
	c->page_len = page;
	c->budget = budget_pages * page;
	c->readahead_nr = 4;
	c->threads_nr = 2;
}

static void check_budget(struct up_pager *p)
{
	struct up_stats st;

	if (!h_is_uffd(p))
		return;
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.budget_pages, budget_pages);
	if (st.resident > budget_pages)
		CHECK_EQ(st.resident, budget_pages);
}

/* The mapping's [off, off+len) equals the model's. */
static void body(struct up_pager *p, enum up_backend b)
{
	size_t flen = 16 * budget_pages * page - 777;	/* not page-aligned */
	int fd = h_file(flen, 1);
	char *map = h_map(p, flen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(3 * page);
	struct h_model m;
	struct up_stats st;

	(void)b;
	h_model_init(&m, fd);
	if (!map)
		goto out;
	/* scan */
	for (size_t off = 0; off < flen; off += page) {
		size_t n = flen - off < page ? flen - off : page;

		CHECK_EQ(h_pat_diff(map + off, 1, off, n), -1);
		if ((off / page) % 16 == 0)
			check_budget(p);
	}
	/* random writes of random lengths, some across pages */
	for (int i = 0; i < writes_nr; i++) {
		size_t off = h_below(flen), n = 1 + h_below(3 * page);

		if (n > flen - off)
			n = flen - off;
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)h_rand();
		memcpy(map + off, buf, n);
		h_model_write(&m, (off_t)off, buf, n);
		if (i % 50 == 0) {
			check_budget(p);
			off = h_below(flen);
			h_model_check(map, &m, off, flen - off < 2 * page ? flen - off : 2 * page);
		}
	}
	/* scan again against the model, then sync */
	for (size_t off = 0; off < flen; off += 16 * page)
		h_model_check(map, &m, off, flen - off < 16 * page ? flen - off : 16 * page);
	check_budget(p);
	CHECK_OK(up_pager_sync(p, map, flen, MS_SYNC));
	h_files_equal(fd, m.fd);
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p)) {
		printf("fills %llu evictions %llu writebacks %llu\n",
		       (unsigned long long)st.fills,
		       (unsigned long long)st.evictions,
		       (unsigned long long)st.writebacks);
		CHECK(st.evictions > 0);
		CHECK_EQ(st.dirty, 0);
	}
	CHECK_OK(up_pager_unmap(p, map, flen));
	h_files_equal(fd, m.fd);
	CHECK_EQ(h_file_len(fd), flen);
out:
	free(buf);
	close(m.fd);
	close(fd);
}

int main(void)
{
	static const size_t cfg[][2] = { { 4096, 64 }, { 65536, 32 } };

	h_for_each_budget(cfg, 2, &page, &budget_pages, adjust, body);
}
