/* paging-demand: nothing is read until touched; 8 threads faulting on one page read it once. */
#include "harness.h"

#define PAGES 64
#define THREADS 8
#define ROUNDS 16

static size_t page;

static void adjust(struct up_config *c)
{
	c->readahead_nr = 0;
	c->threads_nr = 2;
	page = c->page_len;
}

struct round {
	pthread_barrier_t start, end;
	const char *map;
	int uffd;
};

static void *reader(void *arg)
{
	struct round *r = arg;

	for (int i = 0; i < ROUNDS; i++) {
		size_t pgno = 10 + (size_t)i * 3;

		pthread_barrier_wait(&r->start);
		/* every thread starts on the same byte of a cold page */
		CHECK_EQ((unsigned char)r->map[pgno * page + 77],
			 h_pat(1, pgno * page + 77));
		CHECK_EQ(h_pat_diff(r->map + pgno * page, 1, pgno * page, page), -1);
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(PAGES * page, 1);
	char *map = h_map(p, PAGES * page, PROT_READ, MAP_SHARED, fd, 0);
	int uffd = h_is_uffd(p);
	struct up_stats st, ms;
	pthread_t tid[THREADS];
	struct round r = { .map = map, .uffd = uffd };

	(void)b;
	close(fd);	/* the mapping keeps the file */
	if (!map)
		return;
	usleep(100 * 1000);	/* nothing may be read behind our back */
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_OK(up_mapping_stats(p, map, &ms));
	if (uffd) {
		CHECK_EQ(st.fills, 0);
		CHECK_EQ(st.bytes_read, 0);
		CHECK_EQ(st.resident, 0);
		CHECK_EQ(ms.fills, 0);
		CHECK_EQ(ms.bytes_read, 0);
	}

	/* one touch reads exactly one page */
	CHECK_EQ((unsigned char)map[5 * page + 3], h_pat(1, 5 * page + 3));
	CHECK_EQ(h_pat_diff(map + 5 * page, 1, 5 * page, page), -1);
	CHECK_OK(up_pager_stats(p, &st));
	if (uffd) {
		CHECK_EQ(st.fills, 1);
		CHECK_EQ(st.bytes_read, page);
		CHECK_EQ(st.faults_read, 1);
		CHECK_EQ(st.resident, 1);
	}

	/* THREADS threads fault on the same cold page at once */
	pthread_barrier_init(&r.start, NULL, THREADS + 1);
	pthread_barrier_init(&r.end, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&tid[i], NULL, reader, &r);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(&r.start);
		pthread_barrier_wait(&r.end);
		CHECK_OK(up_pager_stats(p, &st));
		if (uffd) {
			CHECK_EQ(st.fills, 2 + i);
			CHECK_EQ(st.bytes_read, (2 + i) * page);
			CHECK(st.faults_read >= 2 + (uint64_t)i);
		}
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.end);
	CHECK_OK(up_pager_unmap(p, map, PAGES * page));
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
