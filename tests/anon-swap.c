/* anon-swap: anonymous memory reads zero and keeps its data through eviction to the swap file within the budget. */
#include "harness.h"

static const size_t len = (H_SANITIZED ? 16 : 32) * H_MIB;
static size_t page;

static void adjust(struct up_config *c)
{
	c->budget = H_MIB;
	page = c->page_len;
}

static void check_budget(struct up_pager *p)
{
	struct up_stats st;

	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p) && st.resident > H_MIB / page)
		CHECK_EQ(st.resident, H_MIB / page);
}

static void one(struct up_pager *p, int share)
{
	size_t pages = len / page, zero_bad = 0;
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, share | MAP_ANONYMOUS,
			  -1, 0);
	static const char zero[65536];
	struct up_stats st;

	if (!map)
		return;
	/* zero-filled, also the pages that get evicted clean */
	for (int pass = 0; pass < 2; pass++)
		for (size_t off = 0; off < len; off += sizeof(zero))
			zero_bad += memcmp(map + off, zero, sizeof(zero)) != 0;
	CHECK_EQ(zero_bad, 0);
	check_budget(p);

	for (size_t i = 0; i < pages; i++) {
		h_pat_fill(map + i * page, 7, i * page, page);
		if (i % 64 == 0)
			check_budget(p);
	}
	for (int pass = 0; pass < 2; pass++) {
		long long bad = h_pat_diff(map, 7, 0, len);

		if (bad != -1)
			printf("first wrong byte at %lld (page %lld)\n", bad,
			       bad / (long long)page);
		CHECK_EQ(bad, -1);
		check_budget(p);
	}
	CHECK_OK(up_mapping_stats(p, map, &st));
	if (h_is_uffd(p)) {
		printf("%s: evictions %llu writebacks %llu bytes_written %llu\n",
		       share == MAP_SHARED ? "shared" : "private",
		       (unsigned long long)st.evictions,
		       (unsigned long long)st.writebacks,
		       (unsigned long long)st.bytes_written);
		CHECK(st.evictions >= pages - H_MIB / page);
		CHECK(st.writebacks >= pages - H_MIB / page);
		CHECK(st.bytes_written >= (pages - H_MIB / page) * page);
		CHECK(st.resident <= H_MIB / page);
		CHECK_EQ(st.budget_pages, H_MIB / page);
	}
	CHECK_OK(up_pager_unmap(p, map, len));
}

static void body(struct up_pager *p, enum up_backend b)
{
	(void)b;
	one(p, MAP_PRIVATE);
	one(p, MAP_SHARED);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
