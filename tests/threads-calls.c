/* threads-calls: threads calling map, sync, advise, protect, unmap and stats on one pager at once, with a small budget. */
#include "harness.h"

#define THREADS 4
#define PAGES 8

static int iters = H_SANITIZED ? 40 : 200;
static size_t page;
static struct up_pager *pg;
static int stop;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->budget = 12 * c->page_len;	/* less than the threads use */
	c->threads_nr = 2;
	page = c->page_len;
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, fd = h_file(PAGES * page, 100 + (uint64_t)t);
	size_t len = PAGES * page;
	char *buf = malloc(len);

	for (int i = 0; i < iters; i++) {
		int flags = i % 3 == 2 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
		char *m = NULL;
		int r = up_pager_map(pg, NULL, len, PROT_READ | PROT_WRITE, flags,
				     flags & MAP_ANONYMOUS ? -1 : fd, 0, (void **)&m);

		if (r) {
			H_FAIL("thread %d: up_pager_map = %d", t, r);
			break;
		}
		if (flags & MAP_ANONYMOUS) {
			CHECK_EQ(m[len - 1], 0);
			h_pat_fill(m, 7, 0, len);
			CHECK_EQ(h_pat_diff(m, 7, 0, len), -1);
		} else {
			/* the file holds seed 100+t with page i%PAGES's first
			 * byte set to the iteration that last wrote it */
			size_t at = (size_t)(i % PAGES) * page;

			for (size_t k = 0; k < PAGES; k++)
				CHECK_EQ(h_pat_diff(m + k * page + 1, 100 + (uint64_t)t,
						    k * page + 1, page - 1), -1);
			m[at] = (char)i;
			CHECK_OK(up_pager_sync(pg, m, len, i & 1 ? MS_SYNC : MS_ASYNC));
			CHECK_EQ(pread(fd, buf, 1, (off_t)at), 1);
			CHECK_EQ(buf[0], (char)i);
			CHECK_OK(up_pager_advise(pg, m, len, MADV_DONTNEED));
			CHECK_EQ(m[at], (char)i);
			CHECK_OK(up_pager_protect(pg, m, len, PROT_READ));
			CHECK_EQ(m[len / 2 + 1], (char)h_pat(100 + (uint64_t)t, len / 2 + 1));
			CHECK_OK(up_pager_protect(pg, m, len, PROT_READ | PROT_WRITE));
		}
		CHECK_OK(up_pager_unmap(pg, m, len));
	}
	free(buf);
	close(fd);
	return NULL;
}

static void *watcher(void *arg)
{
	struct up_stats st;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		CHECK_OK(up_pager_stats(pg, &st));
		if (h_is_uffd(pg) && st.resident > 12)
			CHECK_EQ(st.resident, 12);
		usleep(1000);
	}
	return NULL;
}

static void body(struct up_pager *p, enum up_backend b)
{
	pthread_t tid[THREADS], w;

	(void)b;
	pg = p;
	stop = 0;
	pthread_create(&w, NULL, watcher, NULL);
	for (intptr_t t = 0; t < THREADS; t++)
		pthread_create(&tid[t], NULL, worker, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(w, NULL);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
