/* stats-counters: the counters of the userfaultfd and signals backends match a known workload; mapping stats count only that mapping. */
#include "harness.h"

#define N 100	/* pages scanned */
#define W 10	/* of which written */
#define M 7	/* pages written cold in a second mapping */
#define PG 4096

static size_t budget = 16 * H_MIB;

/* Whether each fault serves one page.  The signals backend serves in one
 * fault what the page cache holds in one huge folio around it, so that it
 * counts at least one fault and at most one per page. */
static int exact;

#define CHECK_FAULTS(got, want)                                         \
	do {                                                            \
		if (exact || !(want))                                   \
			CHECK_EQ(got, want);                            \
		else                                                    \
			CHECK((got) >= 1 && (got) <= (want));           \
	} while (0)

static void adjust(struct up_config *c)
{
	c->page_len = PG;
	c->readahead_nr = 0;
	c->threads_nr = 1;
	c->budget = budget;
}

#define U(x) ((unsigned long long)(x))

static void show(const char *what, const struct up_stats *s)
{
	printf("%s: faults r/w %llu/%llu fills %llu evict %llu wb %llu "
	       "read %llu written %llu resident %llu dirty %llu p50/p99 %llu/%llu ns\n",
	       what, U(s->faults_read), U(s->faults_write), U(s->fills),
	       U(s->evictions), U(s->writebacks), U(s->bytes_read),
	       U(s->bytes_written), U(s->resident), U(s->dirty),
	       U(s->fill_ns_p50), U(s->fill_ns_p99));
}

static void counts(struct up_pager *p)
{
	int fa = h_file(N * PG, 1), fb = h_file(M * PG, 2);
	char *a = h_map(p, N * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	char *b = h_map(p, M * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
	struct up_stats st, sa, sb;

	if (!a || !b)
		return;
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.page_len, PG);
	CHECK_EQ(st.budget_pages, budget / PG);

	CHECK_EQ(h_pat_diff(a, 1, 0, N * PG), -1);	/* scan */
	CHECK_OK(up_pager_stats(p, &st));
	show("scan", &st);
	CHECK_EQ(st.fills, N);
	CHECK_EQ(st.bytes_read, N * PG);
	CHECK_FAULTS(st.faults_read, N);
	CHECK_EQ(st.faults_write, 0);
	CHECK_EQ(st.resident, N);
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(st.evictions, 0);
	CHECK_EQ(st.writebacks, 0);
	CHECK_EQ(st.bytes_written, 0);
	CHECK_EQ(st.page_cache, N);

	/* The pages shown are the file's page-cache pages: the kernel takes
	 * the stores, and writes them itself; the file has them at once. */
	for (int round = 1; round <= 2; round++) {
		char c;

		for (int i = 0; i < W; i++)	/* one write per page */
			a[i * 7 * PG + 5] = (char)round;
		CHECK_OK(up_pager_stats(p, &st));
		show("write", &st);
		CHECK_EQ(st.faults_write, 0);
		CHECK_EQ(st.dirty, 0);
		CHECK_EQ(st.fills, N);
		CHECK_EQ(pread(fa, &c, 1, 7 * PG + 5), 1);
		CHECK_EQ(c, (char)round);
		CHECK_OK(up_pager_sync(p, a, N * PG, MS_SYNC));
		CHECK_OK(up_pager_stats(p, &st));
		show("sync", &st);
		CHECK_EQ(st.writebacks, 0);
		CHECK_EQ(st.bytes_written, 0);
	}

	for (int i = 0; i < M; i++)	/* writes to cold pages */
		b[i * PG + 9] = 'b';
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_OK(up_mapping_stats(p, a + 3 * PG, &sa));
	CHECK_OK(up_mapping_stats(p, b + M * PG - 1, &sb));
	show("pager", &st);
	show("mapping a", &sa);
	show("mapping b", &sb);
	CHECK_EQ(st.fills, N + M);
	CHECK_FAULTS(st.faults_read, N);
	CHECK_FAULTS(st.faults_write, M);
	CHECK_EQ(st.resident, N + M);
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(sa.fills, N);
	CHECK_EQ(sa.resident, N);
	CHECK_EQ(sa.dirty, 0);
	CHECK_FAULTS(sa.faults_read, N);
	CHECK_EQ(sa.bytes_read, N * PG);
	CHECK_EQ(sb.fills, M);
	CHECK_EQ(sb.resident, M);
	CHECK_EQ(sb.dirty, 0);
	CHECK_EQ(sb.faults_read, 0);
	CHECK_FAULTS(sb.faults_write, M);
	CHECK(st.fill_ns_p50 > 0);
	CHECK(st.fill_ns_p50 <= st.fill_ns_p99);
	/* Every fault served is in the histogram and in the total time. */
	{
		uint64_t hist[UP_LATENCY_NR], n = 0, lo = 0;

		CHECK_OK(up_pager_latency(p, hist));
		for (int i = 0; i < UP_LATENCY_NR; i++) {
			n += hist[i];
			lo += hist[i] << i;
		}
		CHECK_EQ(n, st.faults_read + st.faults_write);
		CHECK_FAULTS(n, N + M);
		CHECK(st.fault_ns >= lo);
		CHECK(st.fault_ns < 2 * lo);
		CHECK(st.evict_ns <= st.fault_ns);
		CHECK_EQ(sa.fault_ns, 0);
		CHECK_EQ(up_pager_latency(p, NULL), -EINVAL);
		CHECK_EQ(up_pager_latency(NULL, hist), -EINVAL);
	}
	CHECK_OK(up_pager_unmap(p, b, M * PG));
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.writebacks, 0);
	CHECK_EQ(st.resident, N);
	CHECK_OK(up_pager_unmap(p, a, N * PG));
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.resident, 0);
	close(fa);
	close(fb);
}

/* With a budget of 8 pages, reading 20 evicts 12, writes back none. */
static void evictions(struct up_pager *p)
{
	int fd = h_file(20 * PG, 1);
	char *a = h_map(p, 20 * PG, PROT_READ, MAP_SHARED, fd, 0);
	struct up_stats st;

	if (!a)
		return;
	CHECK_EQ(h_pat_diff(a, 1, 0, 20 * PG), -1);
	CHECK_OK(up_pager_stats(p, &st));
	show("evict", &st);
	CHECK_EQ(st.fills, 20);
	CHECK(st.resident <= 8);
	CHECK_EQ(st.evictions, st.fills - st.resident);
	CHECK_EQ(st.writebacks, 0);
	CHECK(st.evict_ns > 0);
	CHECK(st.evict_ns <= st.fault_ns);
	CHECK_OK(up_pager_unmap(p, a, 20 * PG));
	close(fd);
}

int main(void)
{
	static const enum up_backend bs[] = { UP_BACKEND_UFFD,
					      UP_BACKEND_SIGNALS };
	struct up_pager *p;

	for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		if (!h_backend_usable(bs[i]))
			continue;
		budget = 16 * H_MIB;
		exact = bs[i] == UP_BACKEND_UFFD;
		if ((p = h_open(bs[i], adjust))) {
			counts(p);
			CHECK_OK(up_pager_close(p));
		}
		budget = 8 * PG;
		if ((p = h_open(bs[i], adjust))) {
			evictions(p);
			CHECK_OK(up_pager_close(p));
		}
	}
	h_done();
}
