/* threads-stripes: 8 threads fault on random pages of one shared mapping and write disjoint stripes; the file ends equal to the model. */
#include "harness.h"

#define THREADS 8
#define PAGES 256
#define STRIPE 64

static size_t page, len;
static int iters = H_SANITIZED ? 300 : 1200;
static char *map, *model;	/* model: what the mapping must hold */
static uint64_t seed;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->budget = 32 * c->page_len;
	c->threads_nr = 2;
	page = c->page_len;
}

/* Thread t owns the stripes [i*STRIPE, (i+1)*STRIPE) with i % THREADS == t. */
static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, bad = 0;
	uint64_t rng = seed * 2654435761u + (uint64_t)t + 1;

	for (int it = 0; it < iters; it++) {
		size_t pg = h_rand_r(&rng) % PAGES, base = pg * page;

		if (h_rand_r(&rng) % 2) {	/* write my stripes of pg */
			for (size_t s = base + (size_t)t * STRIPE; s < base + page;
			     s += THREADS * STRIPE) {
				uint64_t v = h_rand_r(&rng);

				for (int k = 0; k < STRIPE; k += 8) {
					memcpy(model + s + k, &v, 8);
					memcpy(map + s + k, &v, 8);
				}
			}
		} else {	/* check my stripes (faulting pg in) */
			for (size_t s = base + (size_t)t * STRIPE; s < base + page;
			     s += THREADS * STRIPE)
				bad += memcmp(map + s, model + s, STRIPE) != 0;
		}
	}
	CHECK_EQ(bad, 0);
	return NULL;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(len = PAGES * page, 1), mfd;
	pthread_t tid[THREADS];
	struct up_stats st;

	(void)b;
	model = malloc(len);
	CHECK_EQ(pread(fd, model, len, 0), len);
	map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!map)
		goto out;
	for (intptr_t t = 0; t < THREADS; t++)
		pthread_create(&tid[t], NULL, worker, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	CHECK(!memcmp(map, model, len));
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p))
		CHECK(st.resident <= 32);
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	mfd = h_tmpfile();
	CHECK_EQ(pwrite(mfd, model, len, 0), len);
	h_files_equal(fd, mfd);
	CHECK_OK(up_pager_unmap(p, map, len));
	h_files_equal(fd, mfd);
	close(mfd);
out:
	free(model);
	close(fd);
}

int main(void)
{
	seed = h_seed();
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
