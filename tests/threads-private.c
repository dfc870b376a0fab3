/* threads-private: threads store into disjoint stripes of a MAP_PRIVATE file mapping eight times the budget while each other's faults evict its pages: every store stays in the mapping, none reaches the file; and a store to a read-only private anonymous mapping raises SIGSEGV every time while other threads' loads move its pages in and out; and the program's own SIGSEGV handler still gets every SIGSEGV that is not the pager's. */
#include "harness.h"

#define THREADS 4
#define PAGES 16
#define BUDGET_PAGES 4
#define STRIPE 64

static size_t page, len;
static int iters = H_SANITIZED ? 300 : 600;
static char *map, *model;	/* model: what the mapping must hold */
static uint64_t seed;

static void adjust(struct up_config *c)
{
	c->page_len = 65536;
	c->budget = BUDGET_PAGES * c->page_len;
	page = c->page_len;
}

/* Thread t owns the stripes [i*STRIPE, (i+1)*STRIPE) with i % THREADS == t;
 * it stores a word into one of its stripes and checks another. */
static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, bad = 0;
	uint64_t rng = seed * 2654435761u + (uint64_t)t + 1;
	size_t stripes = len / STRIPE / THREADS;

	for (int it = 0; it < iters && !bad; it++) {
		size_t s = (h_rand_r(&rng) % stripes * THREADS + (size_t)t) *
			   STRIPE;
		uint64_t v = h_rand_r(&rng);

		memcpy(model + s, &v, 8);
		memcpy(map + s, &v, 8);
		s = (h_rand_r(&rng) % stripes * THREADS + (size_t)t) * STRIPE;
		if (memcmp(map + s, model + s, STRIPE)) {
			H_FAIL("thread %d: stripe at %zu lost a store "
			       "(iteration %d)", t, s, it);
			bad = 1;
		}
	}
	return NULL;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(len = PAGES * page, 1);
	pthread_t tid[THREADS];

	(void)b;
	model = malloc(len);
	CHECK_EQ(pread(fd, model, len, 0), len);
	map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!map)
		goto out;
	for (intptr_t t = 0; t < THREADS; t++)
		pthread_create(&tid[t], NULL, worker, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	CHECK(!memcmp(map, model, len));
	CHECK_OK(up_pager_unmap(p, map, len));
	{
		char *f = malloc(len);

		CHECK_EQ(pread(fd, f, len, 0), len);
		CHECK_EQ(h_pat_diff(f, 1, 0, len), -1);
		free(f);
	}
out:
	free(model);
	close(fd);
}

static int ro_done;
static __thread sigjmp_buf ro_jmp;

static void ro_on_segv(int sig)
{
	(void)sig;
	siglongjmp(ro_jmp, 1);
}

/* Loads of random pages of the read-only mapping, until ro_done. */
static void *ro_loader(void *arg)
{
	uint64_t rng = seed + (uint64_t)(intptr_t)arg, sum = 0;

	while (!__atomic_load_n(&ro_done, __ATOMIC_RELAXED))
		sum += __atomic_load_n((uint8_t *)map + h_rand_r(&rng) % len,
				       __ATOMIC_RELAXED);
	CHECK_EQ(sum, 0);
	return NULL;
}

static void body_ro(struct up_pager *p, enum up_backend b)
{
	struct sigaction sa, old;
	pthread_t tid[2];
	volatile int stored = 0, tries = H_SANITIZED ? 2000 : 10000;
	volatile uint64_t rng = seed;
	volatile int i;

	(void)b;
	len = PAGES * page;
	map = h_map(p, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!map)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ro_on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old);
	__atomic_store_n(&ro_done, 0, __ATOMIC_RELAXED);
	for (intptr_t t = 0; t < 2; t++)
		pthread_create(&tid[t], NULL, ro_loader, (void *)t);
	for (i = 0; i < tries; i++) {
		uint64_t r = rng;
		char *x = map + h_rand_r(&r) % len;

		rng = r;
		if (!sigsetjmp(ro_jmp, 1)) {
			__atomic_store_n(x, 1, __ATOMIC_RELAXED);
			stored++;
		}
	}
	__atomic_store_n(&ro_done, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < 2; t++)
		pthread_join(tid[t], NULL);
	sigaction(SIGSEGV, &old, NULL);
	CHECK_EQ(stored, 0);
	CHECK_OK(up_pager_unmap(p, map, len));
}

/*
 * The program's own SIGSEGV handler, there before the pager put its own
 * ahead of it for eviction (and replaced by it), still gets every SIGSEGV
 * that is not the pager's.
 */
static volatile int own_calls;

static void own_on_segv(int sig)
{
	(void)sig;
	own_calls++;
	siglongjmp(ro_jmp, 1);
}

static void body_chain(struct up_pager *p, enum up_backend b)
{
	struct sigaction sa, old;
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	int fd;

	(void)b;
	len = PAGES * page;
	fd = h_file(len, 3);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = own_on_segv;
	sigaction(SIGSEGV, &sa, &old);
	map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map && ro != MAP_FAILED) {
		/* stores all over it: evictions, each one fenced */
		for (int round = 0; round < 3; round++)
			for (size_t i = 0; i < len; i += 4096)
				map[i] = (char)round;
		own_calls = 0;
		if (!sigsetjmp(ro_jmp, 1))
			*(volatile char *)ro = 1;
		CHECK_EQ(own_calls, 1);
		for (size_t i = 0; i < len; i += 4096)
			CHECK_EQ(map[i], 2);
		CHECK_OK(up_pager_unmap(p, map, len));
	}
	sigaction(SIGSEGV, &old, NULL);
	munmap(ro, 4096);
	close(fd);
}

int main(void)
{
	seed = h_seed();
	FOR_EACH_BACKEND(adjust, body);
	FOR_EACH_BACKEND(adjust, body_ro);
	FOR_EACH_BACKEND(adjust, body_chain);
	h_done();
}
