/* solo-convert: a mapping served from moved frames (the only one of its object) keeps mmap semantics when written, evicted, split, mapped again or reprotected, also while other threads read it. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

#define PAGES 24

static size_t page;

static void adjust(struct up_config *c)
{
	c->budget = 8 * c->page_len;	/* a third of the file */
	page = c->page_len;
}

static void adjust_4k(struct up_config *c)
{
	c->page_len = 4096;
	adjust(c);
}

/* Scan twice through the small budget: eviction and refill. */
static void scan(struct up_pager *p, int fd, size_t len)
{
	char *ro = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	struct up_stats st;

	if (!ro)
		return;
	for (int i = 0; i < 2; i++)
		CHECK_EQ(h_pat_diff(ro, 1, 0, len), -1);
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p))
		CHECK(st.resident <= st.budget_pages && st.evictions > 0);
	CHECK_OK(up_pager_unmap(p, ro, len));
}

/* Read first through a read-only mapping, then map read-write: a store
 * through the second is seen through the first at once. */
static void second_mapping(struct up_pager *p, int fd, size_t len)
{
	char *ro = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), *rw;

	if (!ro)
		return;
	CHECK_EQ(h_pat_diff(ro, 1, 0, 4 * page), -1);
	rw = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw) {
		CHECK_EQ(h_pat_diff(rw, 1, 0, len), -1);
		rw[10] = 'x';
		rw[len - 1] = 'y';
		CHECK_EQ(ro[10], 'x');
		CHECK_EQ(ro[len - 1], 'y');
		CHECK_OK(up_pager_unmap(p, rw, len));
	}
	CHECK_EQ(ro[10], 'x');
	CHECK_OK(up_pager_unmap(p, ro, len));
	{
		char c[1];

		h_pat_fill(c, 1, 10, 1);	/* restore the pattern */
		CHECK_EQ(pwrite(fd, c, 1, 10), 1);
		h_pat_fill(c, 1, len - 1, 1);
		CHECK_EQ(pwrite(fd, c, 1, (off_t)len - 1), 1);
	}
}

/* A store to a read-only mapping raises SIGSEGV, touched page or not. */
static void store_faults(struct up_pager *p, int fd, size_t len)
{
	char *ro = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), v = 'z';

	if (!ro)
		return;
	CHECK_EQ(h_access(ro + 3 * page, 0, &v), 0);	/* mapped */
	CHECK_EQ(h_access(ro + 3 * page, 1, &v), SIGSEGV);
	CHECK_EQ(h_access(ro + 9 * page, 1, &v), SIGSEGV); /* not yet */
	CHECK_EQ(h_pat_diff(ro, 1, 0, len), -1);
	CHECK_OK(up_pager_unmap(p, ro, len));
}

/* mprotect to read-write, write, sync: the file has it. */
static void reprotect(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), buf[4];

	if (!m)
		return;
	CHECK_EQ(h_pat_diff(m, 1, 0, 2 * page), -1);
	CHECK_OK(up_pager_protect(p, m, len, PROT_READ | PROT_WRITE));
	memcpy(m + page + 1, "abc", 3);
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, 3, (off_t)page + 1), 3);
	CHECK(!memcmp(buf, "abc", 3));
	CHECK_EQ(h_pat_diff(m + 2 * page, 1, 2 * page, len - 2 * page), -1);
	CHECK_OK(up_pager_unmap(p, m, len));
	h_pat_fill(buf, 1, page + 1, 3);
	CHECK_EQ(pwrite(fd, buf, 3, (off_t)page + 1), 3);
}

/* Unmap a hole and both ends; what is left reads right, the hole faults. */
static void split(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), v;

	if (!m)
		return;
	CHECK_EQ(h_pat_diff(m, 1, 0, len), -1);
	CHECK_OK(up_pager_unmap(p, m, page));
	CHECK_OK(up_pager_unmap(p, m + len - page, page));
	CHECK_OK(up_pager_unmap(p, m + 8 * page, 4 * page));
	CHECK_EQ(h_pat_diff(m + page, 1, page, 7 * page), -1);
	CHECK_EQ(h_pat_diff(m + 12 * page, 1, 12 * page, len - 13 * page), -1);
	CHECK_EQ(h_access(m + 9 * page, 0, &v), SIGSEGV);
	CHECK_OK(up_pager_unmap(p, m + page, 7 * page));
	CHECK_OK(up_pager_unmap(p, m + 12 * page, len - 13 * page));
}

/* The file changes behind the mapping: MS_INVALIDATE and DONTNEED show
 * it; WILLNEED reads ahead. */
static void invalidate(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), c = 'Q', o;

	if (!m)
		return;
	o = m[2 * page];
	CHECK_EQ(pwrite(fd, &c, 1, (off_t)(2 * page)), 1);
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC | MS_INVALIDATE));
	CHECK_EQ(m[2 * page], 'Q');
	CHECK_EQ(pwrite(fd, &o, 1, (off_t)(2 * page)), 1);
	CHECK_OK(up_pager_advise(p, m, len, MADV_DONTNEED));
	CHECK_EQ(m[2 * page], o);
	CHECK_OK(up_pager_advise(p, m + 4 * page, 4 * page, MADV_WILLNEED));
	usleep(20000);
	CHECK_EQ(h_pat_diff(m, 1, 0, len), -1);
	CHECK_OK(up_pager_unmap(p, m, len));
}

/* Store n random bytes through m and into the model at the same offsets. */
static void scribble(char *m, size_t len, struct h_model *model, int n)
{
	for (int i = 0; i < n; i++) {
		size_t off = h_below(len);
		char c = (char)h_rand();

		m[off] = c;
		if (model)
			h_model_write(model, (off_t)off, &c, 1);
	}
}

/* A writable mapping, alone: writes through a budget a third of the file,
 * a hole unmapped with dirty pages on its edges, a second mapping of the
 * file while pages are dirty; the file ends as the model. */
static void writable(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), *m2;
	struct h_model model;

	if (!m)
		return;
	h_model_init(&model, fd);
	scribble(m, len, &model, 3000);
	CHECK_OK(up_pager_unmap(p, m + 5 * page + 4096, 3 * page));
	scribble(m, 5 * page, &model, 200);
	CHECK_OK(up_pager_sync(p, m, 5 * page + 4096, MS_SYNC));
	CHECK_OK(up_pager_sync(p, m + 8 * page + 4096, len - 8 * page - 4096,
			       MS_SYNC));
	CHECK(h_files_equal(fd, model.fd));
	m2 = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m2) {
		scribble(m, 5 * page, &model, 200);
		CHECK(!memcmp(m, m2, 5 * page));
		m2[1] = 'q';
		CHECK_EQ(m[1], 'q');
		h_model_write(&model, 1, "q", 1);
		CHECK_OK(up_pager_unmap(p, m2, len));
	}
	CHECK_OK(up_pager_unmap(p, m, 5 * page + 4096));
	CHECK_OK(up_pager_unmap(p, m + 8 * page + 4096, len - 8 * page - 4096));
	CHECK(h_files_equal(fd, model.fd));
	close(model.fd);
}

/* Private and anonymous mappings alone: their writes survive eviction and
 * never reach the file; discarding part of a page shows the source. */
static void private(struct up_pager *p, int fd, size_t len)
{
	char *pr = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *an = h_map(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *copy = malloc(len);
	struct h_model model;
	int zero = 1;

	h_model_init(&model, fd);
	if (!pr || !an || !copy)
		goto out;
	h_pat_fill(an, 7, 0, len);
	memcpy(copy, pr, len);
	scribble(pr, len, NULL, 2000);
	for (size_t i = 0; i < len; i += 4096)
		pr[i] = (char)(i / 4096);
	CHECK_EQ(h_pat_diff(an, 7, 0, len), -1);
	for (size_t i = 0; i < len; i += 4096)
		CHECK_EQ(pr[i], (char)(i / 4096));
	/* discard 4 KiB inside a pager page: the file shows there again */
	CHECK_OK(up_pager_advise(p, pr + page + 4096, 4096, MADV_DONTNEED));
	CHECK(!memcmp(pr + page + 4096, copy + page + 4096, 4096));
	CHECK_EQ(pr[page], (char)(page / 4096));
	CHECK_OK(up_pager_advise(p, an + 2 * page, page, MADV_DONTNEED));
	for (size_t i = 0; i < page; i++)
		zero &= an[2 * page + i] == 0;
	CHECK(zero);
	CHECK_EQ(h_pat_diff(an + 3 * page, 7, 3 * page, len - 3 * page), -1);
out:
	if (pr)
		CHECK_OK(up_pager_unmap(p, pr, len));
	if (an)
		CHECK_OK(up_pager_unmap(p, an, len));
	CHECK(h_files_equal(fd, model.fd));	/* untouched */
	close(model.fd);
	free(copy);
}

/* Does the file hold pattern 1 over [0, len)? */
static int file_is_pattern(int fd, size_t len)
{
	char *buf = malloc(len);
	int ok = pread(fd, buf, len, 0) == (ssize_t)len &&
		 h_pat_diff(buf, 1, 0, len) == -1;

	free(buf);
	return ok;
}

struct reader {
	pthread_t t;
	const volatile char *m;
	size_t len;
	uint64_t seed;
	atomic_int *stop;
	int wrong;
};

static void *reader(void *arg)
{
	struct reader *rd = arg;

	while (!atomic_load(rd->stop)) {
		size_t off = h_rand_r(&rd->seed) % rd->len;

		rd->wrong += (uint8_t)rd->m[off] != h_pat(1, off);
	}
	return NULL;
}

/* Other threads read while the mapping turns into a shared-memory one
 * (mprotect): they see the file's bytes, never the memfd's holes, and so
 * does everyone after. */
static void readers_convert(struct up_pager *p)
{
	int rounds = H_TSAN ? 5 : H_SANITIZED ? 10 : 20, wrong = 0;
	size_t len = 256 * page;	/* mostly pages not yet read */
	int fd = h_file(len, 1);

	for (int k = 0; k < rounds; k++) {
		char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
		struct reader rd[2];
		atomic_int stop = 0;
		int i;

		if (!m)
			return;
		for (i = 0; i < 2; i++) {
			rd[i] = (struct reader){ .m = m, .len = len,
						 .seed = h_rand() | 1,
						 .stop = &stop };
			CHECK_OK(pthread_create(&rd[i].t, NULL, reader,
						&rd[i]));
		}
		usleep(200);
		CHECK_OK(up_pager_protect(p, m, len, PROT_READ | PROT_WRITE));
		usleep(200);
		atomic_store(&stop, 1);
		for (i = 0; i < 2; i++) {
			pthread_join(rd[i].t, NULL);
			wrong += rd[i].wrong;
		}
		/* a page of zeros stays: one word of each shows it */
		for (size_t off = 0; off < len; off += 4096)
			wrong += h_pat_diff(m + off, 1, off, 8) != -1;
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	CHECK_EQ(wrong, 0);
	close(fd);
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);

	(void)b;
	scan(p, fd, len);
	second_mapping(p, fd, len);
	store_faults(p, fd, len);
	reprotect(p, fd, len);
	split(p, fd, len);
	invalidate(p, fd, len);
	readers_convert(p);
	CHECK(file_is_pattern(fd, len));
	private(p, fd, len);
	writable(p, fd, len);
	close(fd);
}

int main(void)
{
	h_seed();
	h_rng = h_seed();
	FOR_EACH_BACKEND(adjust, body);
	FOR_EACH_BACKEND(adjust_4k, body);
	h_done();
}
