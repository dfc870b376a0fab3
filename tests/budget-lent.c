/*
 * budget-lent: a MAP_SHARED file mapping advised MADV_RANDOM, through a
 * budget a sixteenth of the file.  Once the budget is full, what the clock
 * evicts stays the file's own mapping (lent, solo.c): a touch there is the
 * kernel's fault, not the pager's, and the pager takes what such faults
 * bring in back into its budget within milliseconds.  Random loads and
 * stores from two threads, pwrite(2) and pread(2) between them, mprotect,
 * mremap, msync(2), a child of fork() and a truncation: the mapping reads
 * what the file
 * holds, the file ends as pwrite(2) on a model copy leaves it, the pager
 * takes no fault once the mapping is lent, and once the touches stop no
 * more than the budget is mapped.
 */
#include "harness.h"

#include <pthread.h>

static size_t page, budget_pages;
static int ops_nr = H_SANITIZED ? 2000 : 20000;

static void adjust(struct up_config *c)
{
	c->page_len = page;
	c->budget = budget_pages * page;
	c->threads_nr = 2;
}

/* 4 KiB pages of [m, m + len) mapped in memory (the page map's present
 * bit; mincore(2) would see the page cache), or -1. */
static long mapped(const char *m, size_t len)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t ent[512];
	long c = 0;

	if (pm < 0)
		return -1;
	for (size_t i = 0; i < len / 4096; i += 512) {
		size_t n = len / 4096 - i < 512 ? len / 4096 - i : 512;

		if (pread(pm, ent, n * sizeof(ent[0]),
			  (off_t)(((uintptr_t)m / 4096 + i) * sizeof(ent[0]))) !=
		    (ssize_t)(n * sizeof(ent[0]))) {
			c = -1;
			break;
		}
		for (size_t k = 0; k < n; k++)
			c += (long)(ent[k] >> 63);
	}
	close(pm);
	return c;
}

struct worker {
	char *map;
	size_t len;
	struct h_model *m;
	pthread_mutex_t *lock;
	uint64_t seed;
	int stripe;		/* the pages it touches: pg % 2 == stripe */
	long bad;
};

/* Random loads and stores in its own stripe of pages: the model holds
 * what it stored, and no other thread stores there meanwhile. */
static void *work(void *arg)
{
	struct worker *w = arg;
	size_t pages = w->len / page;

	for (int i = 0; i < ops_nr; i++) {
		size_t pg = (size_t)h_rand_r(&w->seed) % (pages / 2) * 2 +
			    (size_t)w->stripe;
		size_t off = pg * page + (size_t)h_rand_r(&w->seed) % (page - 8);
		char want[8], got[8];

		if (h_rand_r(&w->seed) % 4 == 0) {
			uint64_t v = h_rand_r(&w->seed);

			memcpy(w->map + off, &v, 8);
			pthread_mutex_lock(w->lock);
			h_model_write(w->m, (off_t)off, &v, 8);
			pthread_mutex_unlock(w->lock);
			continue;
		}
		memcpy(got, w->map + off, 8);
		pthread_mutex_lock(w->lock);
		if (pread(w->m->fd, want, 8, (off_t)off) != 8 ||
		    memcmp(got, want, 8))
			w->bad++;
		pthread_mutex_unlock(w->lock);
	}
	return NULL;
}

static struct h_model *child_model;
static char *child_map;
static size_t child_len;

/* The child reads what the parent's mapping showed at fork(). */
static void child(void *arg)
{
	(void)arg;
	for (size_t off = 0; off < child_len; off += 16 * page)
		h_model_check(child_map, child_model, off,
			      child_len - off < page ? child_len - off : page);
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = 16 * budget_pages * page;
	int fd = h_file(len, 3);
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct worker w[2];
	struct up_stats st0, st1;
	struct h_model m;
	pthread_t t[2];
	char buf[256], v;
	long most;

	(void)b;
	h_model_init(&m, fd);
	if (!map)
		goto out;
	CHECK_OK(up_pager_advise(p, map, len, MADV_RANDOM));
	/* Until the clock has evicted: the mapping is lent from then on. */
	for (size_t i = 0; i < 8 * budget_pages; i++) {
		size_t off = (size_t)h_below(len);

		CHECK_EQ((uint8_t)map[off], h_pat(3, off));
	}
	CHECK_OK(up_mapping_stats(p, map, &st0));
	if (h_is_uffd(p))
		CHECK(st0.evictions > 0);

	for (int i = 0; i < 2; i++) {
		w[i] = (struct worker){ map, len, &m, &lock, h_rand(), i, 0 };
		CHECK_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(pthread_join(t[i], NULL), 0);
		CHECK_EQ(w[i].bad, 0);
	}
	CHECK_OK(up_mapping_stats(p, map, &st1));
	printf("%s: %d touches: %llu faults of the pager's, %llu fills, "
	       "%llu evictions\n", h_ctx, 2 * ops_nr,
	       (unsigned long long)(st1.faults_read + st1.faults_write -
				    st0.faults_read - st0.faults_write),
	       (unsigned long long)(st1.fills - st0.fills),
	       (unsigned long long)(st1.evictions - st0.evictions));
	if (h_is_uffd(p)) {
		/* Every touch out of the budget was the kernel's fault. */
		CHECK(st1.faults_read + st1.faults_write - st0.faults_read -
			      st0.faults_write <= (uint64_t)ops_nr / 100);
		/* And what they brought in left again. */
		CHECK(st1.evictions - st0.evictions > 0);
	}

	/* pwrite(2) and pread(2) meet the stores in the page cache. */
	for (int i = 0; i < 200; i++) {
		size_t off = (size_t)h_below(len - sizeof(buf));

		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (char)h_rand();
		CHECK_EQ(pwrite(fd, buf, sizeof(buf), (off_t)off),
			 (ssize_t)sizeof(buf));
		h_model_write(&m, (off_t)off, buf, sizeof(buf));
		h_model_check(map, &m, off, sizeof(buf));
		off = (size_t)h_below(len - 8);
		map[off] = (char)(map[off] + 1);
		v = map[off];
		h_model_write(&m, (off_t)off, &v, 1);
		CHECK_EQ(pread(fd, buf, 1, (off_t)off), 1);
		CHECK_EQ(buf[0], v);
	}

	/* Read-only, a store faults as with mmap(2); writable again, it
	 * lands. */
	CHECK_OK(up_pager_protect(p, map, len, PROT_READ));
	v = 'r';
	CHECK_EQ(h_access(map + len / 3, 1, &v), SIGSEGV);
	CHECK_OK(up_pager_protect(p, map, len, PROT_READ | PROT_WRITE));
	CHECK_EQ(h_access(map + len / 3, 1, &v), 0);
	h_model_write(&m, (off_t)(len / 3), &v, 1);

	/* Moved elsewhere, lent pages and all: the same file there. */
	{
		void *to = mmap(NULL, len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
				0);

		CHECK(to != MAP_FAILED);
		if (to != MAP_FAILED &&
		    up_pager_remap(p, map, len, len,
				   MREMAP_MAYMOVE | MREMAP_FIXED, to, &to) == 0) {
			CHECK(to != map);
			map = to;
		}
		if (up_pager_remap(p, map, len, len + page, MREMAP_MAYMOVE,
				   NULL, &to) == 0) {
			map = to;
			CHECK_OK(up_pager_unmap(p, map + len, page));
		}
		for (int i = 0; i < 64; i++) {
			size_t off = (size_t)h_below(len - 1);

			h_model_check(map, &m, off, 1);
			map[off] = (char)(map[off] ^ 1);
			v = map[off];
			h_model_write(&m, (off_t)off, &v, 1);
		}
	}

	/* Once the touches stop, the budget holds what is mapped. */
	if (h_is_uffd(p)) {
		struct up_stats st;

		usleep(100 * 1000);
		most = mapped(map, len);
		CHECK_OK(up_pager_stats(p, &st));
		printf("%s: after the touches: %ld KiB mapped, budget %zu "
		       "KiB\n", h_ctx, most * 4, budget_pages * page >> 10);
		CHECK(most >= 0 && (size_t)most * 4096 <= budget_pages * page);
		CHECK(st.resident <= budget_pages);
	}

	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	h_files_equal(fd, m.fd);
	child_model = &m;
	child_map = map;
	child_len = len;
	CHECK_EQ(h_fork(child, NULL), 0);

	/* Truncated to half: past the end, SIGBUS, as with mmap(2). */
	CHECK_OK(ftruncate(fd, (off_t)(len / 2)));
	CHECK_OK(ftruncate(m.fd, (off_t)(len / 2)));
	CHECK_EQ(h_access(map + len / 2 + page + 5, 0, &v), SIGBUS);
	CHECK_EQ(h_access(map + len - 1, 1, &v), SIGBUS);
	h_model_check(map, &m, len / 2 - page, page);
	CHECK_OK(up_pager_unmap(p, map, len));
	h_files_equal(fd, m.fd);
out:
	close(m.fd);
	close(fd);
}

int main(void)
{
	static const size_t cfg[][2] = { { 4096, 256 }, { 65536, 32 } };

	h_for_each_budget(cfg, 2, &page, &budget_pages, adjust, body);
}
