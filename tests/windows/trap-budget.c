/* trap-budget.c - the trap backend on Windows holds no more than its budget: a file eight times the budget read and written through it (dirty pages written back at eviction, msync and unmap), anonymous and private memory through the swap file, code run from an evicted page, four threads at once (in quarters, and on the same pages while they are synced and dropped), two pagers at once, MADV_POPULATE_READ, a page past a truncated file's end (an in-page error), and the statistics. */
#include "harness.h"

#define PAGE (16 * H_PAGE)
#define BUDGET_PAGES 4
#define FILE_LEN (8 * BUDGET_PAGES * PAGE + 1000)

static void small(struct up_config *cfg)
{
	cfg->page_len = PAGE;
	cfg->budget = BUDGET_PAGES * PAGE;
}

static void resident_within(struct up_pager *p)
{
	struct up_stats st;

	CHECK_OK(up_pager_stats(p, &st));
	if (st.resident > BUDGET_PAGES)
		H_FAIL("%llu pages resident, budget %d",
		       (unsigned long long)st.resident, BUDGET_PAGES);
	else
		H_PASS();
}

/* Read it all, store in every page, then msync or not. */
static void file_through(int do_sync)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	uint8_t *model = malloc(FILE_LEN), *m = NULL;
	int fd = h_file(FILE_LEN, 21, _O_RDWR, NULL);
	struct up_stats st;

	h_pat_fill(model, 21, 0, FILE_LEN);
	CHECK_OK(up_pager_map(p, NULL, FILE_LEN, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (!m)
		return;
	CHECK(!memcmp(m, model, FILE_LEN));
	resident_within(p);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.budget_pages, BUDGET_PAGES);
	CHECK_EQ(st.page_len, PAGE);
	CHECK_EQ(st.faults_read, (FILE_LEN + PAGE - 1) / PAGE);
	CHECK(st.evictions >= st.faults_read - BUDGET_PAGES);
	for (size_t off = 0; off < FILE_LEN; off += 4093) {
		uint8_t v = (uint8_t)h_rand();

		m[off] = v;
		model[off] = v;
	}
	resident_within(p);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK(st.writebacks > 0);
	CHECK(st.faults_write > 0);
	if (do_sync) {
		CHECK_OK(up_pager_sync(p, m, FILE_LEN, MS_SYNC));
		CHECK_OK(up_pager_stats(p, &st));
		CHECK_EQ(st.dirty, 0);
		CHECK(h_same_as_file(model, fd, 0, FILE_LEN));
	}
	CHECK_OK(up_pager_unmap(p, m, FILE_LEN));
	CHECK(h_same_as_file(model, fd, 0, FILE_LEN));
	CHECK_EQ(_lseeki64(fd, 0, SEEK_END), FILE_LEN);
	_close(fd);
	free(model);
	CHECK_OK(up_pager_close(p));
}

/* Anonymous memory and a private file mapping eight times the budget
 * keep every store through the swap file; the file is never written. */
static void swapped(void)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	size_t len = 8 * BUDGET_PAGES * PAGE;
	int fd = h_file(len, 22, _O_RDONLY, NULL);
	uint8_t *a = NULL, *f = NULL, *want = malloc(len);
	struct up_stats st;
	int ok = 1;

	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			      (void **)&a));
	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE, fd, 0, (void **)&f));
	if (!a || !f)
		return;
	for (size_t i = 0; i < len; i += 512) {
		a[i] = (uint8_t)(i / 512 * 7);
		f[i] = (uint8_t)(i / 512 * 5);
	}
	resident_within(p);
	for (size_t i = 0; i < len && ok; i++) {
		ok &= a[i] == (i % 512 ? 0 : (uint8_t)(i / 512 * 7));
		ok &= f[i] == (i % 512 ? h_pat(22, i) : (uint8_t)(i / 512 * 5));
	}
	CHECK(ok);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK(st.writebacks >= 2 * 8 * BUDGET_PAGES - 2 * BUDGET_PAGES);
	CHECK_OK(up_pager_unmap(p, f, len));
	h_pat_fill(want, 22, 0, len);
	CHECK(h_same_as_file(want, fd, 0, len));
	/* Dropped: zero again. */
	CHECK_OK(up_pager_advise(p, a, len, MADV_DONTNEED));
	CHECK_EQ(a[512], 0);
	CHECK_OK(up_pager_unmap(p, a, len));
	_close(fd);
	free(want);
	CHECK_OK(up_pager_close(p));
}

struct worker {
	uint8_t *m;
	size_t off, len;
	uint64_t seed;
	int bad;
};

static DWORD WINAPI work(void *arg)
{
	struct worker *w = arg;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < w->len; i += 1000)
			w->m[w->off + i] = (uint8_t)(w->seed + i + round);
		for (size_t i = 0; i < w->len; i += 1000)
			w->bad += w->m[w->off + i] !=
				  (uint8_t)(w->seed + i + round);
	}
	return 0;
}

/* Four threads store and load in their quarters at once. */
static void threads(void)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	size_t len = 16 * BUDGET_PAGES * PAGE, q = len / 4;
	int fd = h_file(len, 23, _O_RDWR, NULL);
	uint8_t *m = NULL, *model = malloc(len);
	struct worker w[4];
	HANDLE th[4];

	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (!m)
		return;
	h_pat_fill(model, 23, 0, len);
	for (int k = 0; k < 4; k++) {
		w[k] = (struct worker){ m, k * q, q, (uint64_t)k * 31, 0 };
		th[k] = CreateThread(NULL, 0, work, &w[k], 0, NULL);
	}
	WaitForMultipleObjects(4, th, TRUE, INFINITE);
	for (int k = 0; k < 4; k++) {
		CHECK_EQ(w[k].bad, 0);
		CloseHandle(th[k]);
		for (size_t i = 0; i < q; i += 1000)
			model[k * q + i] = (uint8_t)(w[k].seed + i + 2);
	}
	resident_within(p);
	CHECK_OK(up_pager_unmap(p, m, len));
	CHECK(h_same_as_file(model, fd, 0, len));
	_close(fd);
	free(model);
	CHECK_OK(up_pager_close(p));
}

struct byte_worker {
	volatile uint8_t *m;
	uint8_t *model;
	size_t len;
	int k;			/* owns the bytes i with i % 4 == k */
	uint64_t rng;
	volatile LONG *stop;
	int bad;
};

static DWORD WINAPI contend(void *arg)
{
	struct byte_worker *w = arg;

	while (!*w->stop) {
		uint64_t x = w->rng = w->rng * 6364136223846793005ull + 1;
		size_t i = (size_t)(x >> 20) % (w->len / 4) * 4 + (size_t)w->k;
		uint8_t v = (uint8_t)(x >> 56);

		if (w->m[i] != w->model[i])
			w->bad++;
		w->m[i] = v;
		w->model[i] = v;
	}
	return 0;
}

/* Four threads store to interleaved bytes of the same pages, eight times
 * the budget, while the main thread syncs and drops pages under them:
 * every byte each thread loads is the one it stored, and the file ends
 * as the model. */
static void contended(void)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	size_t len = 8 * BUDGET_PAGES * PAGE;
	int fd = h_file(len, 25, _O_RDWR, NULL);
	uint8_t *m = NULL, *model = malloc(len);
	volatile LONG stop = 0;
	struct byte_worker w[4];
	HANDLE th[4];

	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (!m)
		return;
	h_pat_fill(model, 25, 0, len);
	for (int k = 0; k < 4; k++) {
		w[k] = (struct byte_worker){ m, model, len, k, h_rand(),
					     &stop, 0 };
		th[k] = CreateThread(NULL, 0, contend, &w[k], 0, NULL);
	}
	for (int round = 0; round < 60; round++) {
		size_t pg = (size_t)h_below(len / PAGE);

		Sleep(5);
		if (round % 2)
			CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
		else
			CHECK_OK(up_pager_advise(p, m + pg * PAGE, PAGE,
						 MADV_DONTNEED));
	}
	stop = 1;
	WaitForMultipleObjects(4, th, TRUE, INFINITE);
	for (int k = 0; k < 4; k++) {
		CHECK_EQ(w[k].bad, 0);
		CloseHandle(th[k]);
	}
	resident_within(p);
	CHECK_OK(up_pager_unmap(p, m, len));
	CHECK(h_same_as_file(model, fd, 0, len));
	_close(fd);
	free(model);
	CHECK_OK(up_pager_close(p));
}

/* Two pagers, each serving its own; a truncated file's page past its
 * end raises an in-page error. */
static void two_pagers(void)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	struct up_pager *q = h_open(UP_BACKEND_TRAP, NULL);
	int fd = h_file(4 * PAGE, 24, _O_RDWR, NULL);
	char *a = NULL, *b = NULL, c = 0;
	struct up_stats st;

	CHECK_OK(up_pager_map(p, NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd,
			      0, (void **)&a));
	CHECK_OK(up_pager_map(q, NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd,
			      0, (void **)&b));
	if (!a || !b)
		return;
	CHECK_EQ((uint8_t)a[PAGE + 1], h_pat(24, PAGE + 1));
	CHECK_EQ((uint8_t)b[2 * PAGE + 2], h_pat(24, 2 * PAGE + 2));
	CHECK_OK(up_pager_advise(q, b, 4 * PAGE, MADV_POPULATE_READ));
	CHECK_OK(up_pager_stats(q, &st));
	CHECK_EQ(st.resident, 4);
	CHECK_EQ(_chsize_s(fd, PAGE), 0);
	CHECK_EQ(h_access(a + 3 * PAGE, 0, &c), EXCEPTION_IN_PAGE_ERROR);
	CHECK_EQ(h_access(a, 0, &c), 0);
	CHECK_EQ((uint8_t)c, h_pat(24, 0));
	/* Populated before: still there. */
	CHECK_EQ((uint8_t)b[3 * PAGE], h_pat(24, 3 * PAGE));
	CHECK_OK(up_pager_close(p));
	CHECK_OK(up_pager_close(q));
	_close(fd);
}

/* Code stored in an executable mapping runs from it, evicted and read
 * in again (a fault on an instruction fetch). */
static void exec(void)
{
	struct up_pager *p = h_open(UP_BACKEND_TRAP, small);
	size_t len = 2 * BUDGET_PAGES * PAGE;
	unsigned char *m = NULL;
	int (*fn)(void);

	CHECK_OK(up_pager_map(p, NULL, len,
			      PROT_READ | PROT_WRITE | PROT_EXEC,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			      (void **)&m));
	if (!m)
		return;
	/* mov eax, 42; ret */
	memcpy(m, "\xb8\x2a\x00\x00\x00\xc3", 6);
	CHECK_OK(up_pager_protect(p, m, len, PROT_READ | PROT_EXEC));
	for (size_t i = PAGE; i < len; i += PAGE)
		CHECK_EQ(m[i], 0);	/* the code's page is evicted */
	fn = (int (*)(void))(void *)m;
	CHECK_EQ(fn(), 42);
	CHECK_OK(up_pager_close(p));
}

int main(void)
{
	h_seed();
	exec();
	file_through(1);
	file_through(0);
	swapped();
	threads();
	contended();
	two_pagers();
	h_done();
}
