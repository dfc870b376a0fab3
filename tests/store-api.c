/* SPDX-License-Identifier: MIT */
/*
 * store-api: mappings of a store of the program's own
 * (up_pager_map_store()), checked against a reference model: after random
 * loads and stores through a small budget, msync and munmap, the store
 * holds what the same writes to a plain copy would; a MAP_PRIVATE mapping
 * never writes it; the end of the store, a failed read and a failed write
 * behave as they do for a file; a child of fork() does not inherit the
 * mapping; close is called once, after the last mapping, and never for a
 * mapping that could not be made; a fault's read runs on a thread of the
 * pager's, never in the faulting thread (its signal handler, on the
 * signals backend).
 */
#include "harness.h"

#define PG 4096
#define STORE_LEN (160 * PG + 1000)	/* ends inside a page */
#define SYS_UP_LEN(x) (((x) + PG - 1) / PG * PG)

static struct up_pager *h_ctx_pager;	/* resize(): the pager at work */

/* An in-memory store that counts its calls and fails on request (the
 * pager's threads call it: what the test changes meanwhile is atomic). */
struct mem {
	char *data;
	off_t len;
	_Atomic int reads, writes, syncs, closes;
	_Atomic off_t fail_read;	/* a read covering this offset fails;
					 * -1 none */
	_Atomic int fail_write;		/* writes fail with this (-errno) */
	_Atomic int bad_write;		/* a write outside [0, len) came */
	_Atomic int batches, batched;	/* write_batch calls, their ranges */
	_Atomic int reads_here;		/* reads on the thread that faulted */
};

/* The test's own thread: a store is never called in its fault (in its
 * signal handler, on the signals backend), but on a pager's thread. */
static pid_t main_tid;

static ssize_t mem_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct mem *m = ctx;

	m->reads++;
	if (gettid() == main_tid)
		m->reads_here++;
	if (m->fail_read >= 0 && m->fail_read >= off &&
	    m->fail_read < off + (off_t)len)
		return -EIO;
	if (off >= m->len)
		return 0;
	if ((off_t)len > m->len - off)
		len = (size_t)(m->len - off);
	memcpy(buf, m->data + off, len);
	return (ssize_t)len;
}

static ssize_t mem_write(void *ctx, const void *buf, size_t len, off_t off)
{
	struct mem *m = ctx;

	m->writes++;
	if (m->fail_write)
		return m->fail_write;
	if (off < 0 || off + (off_t)len > m->len) {
		m->bad_write = 1;
		return -EINVAL;
	}
	memcpy(m->data + off, buf, len);
	return (ssize_t)len;
}

/* Writes the ranges in reverse order; a failure comes after half. */
static int mem_write_batch(void *ctx, const struct up_store_io *io,
			   unsigned nr)
{
	struct mem *m = ctx;
	unsigned i;

	m->batches++;
	m->batched += (int)nr;
	for (i = nr; i-- > 0;) {
		ssize_t n;

		if (m->fail_write && i < nr / 2)
			return m->fail_write;
		n = mem_write(ctx, io[i].buf, io[i].len, io[i].off);
		m->writes--;
		if (n < 0)
			return (int)n;
	}
	return 0;
}

static off_t mem_size(void *ctx)
{
	return ((struct mem *)ctx)->len;
}

static int mem_sync(void *ctx)
{
	((struct mem *)ctx)->syncs++;
	return 0;
}

static void mem_close(void *ctx)
{
	((struct mem *)ctx)->closes++;
}

static int mem_resize(void *ctx, off_t len)
{
	struct mem *m = ctx;
	char *d = realloc(m->data, len ? (size_t)len : 1);

	if (!d)
		return -ENOMEM;
	if (len > m->len)
		memset(d + m->len, 0, (size_t)(len - m->len));
	m->data = d;
	m->len = len;
	return 0;
}

static const struct up_store_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.size = mem_size,
	.sync = mem_sync,
	.close = mem_close,
	.write_batch = mem_write_batch,
	.resize = mem_resize,
};

static const struct up_store_ops ro_ops = {
	.read = mem_read,
	.size = mem_size,
	.close = mem_close,
};

static void mem_init(struct mem *m, uint64_t seed)
{
	memset((void *)m, 0, sizeof(*m));
	m->len = STORE_LEN;
	m->data = malloc(STORE_LEN);
	h_pat_fill(m->data, seed, 0, STORE_LEN);
	m->fail_read = -1;
}

/* Pager pages of 4 KiB (copies through the pager's memfd) and of the
 * default 64 KiB (frames moved into place), each with a budget of a
 * fraction of the store: pages are evicted and read again. */
static size_t page_len;

static void small(struct up_config *c)
{
	c->page_len = page_len = PG;
	c->budget = 8 * PG;
	c->readahead_nr = 2;
}

static void large(struct up_config *c)
{
	page_len = c->page_len;
	c->budget = 4 * c->page_len;
}

static char *map_store(struct up_pager *p, const struct up_store_ops *ops,
		       struct mem *m, size_t len, int prot, int flags)
{
	void *a = NULL;
	int r = up_pager_map_store(p, ops, m, NULL, len, prot, flags, 0, &a);

	if (r) {
		H_FAIL("up_pager_map_store = %d: %s", r, up_strerror(r));
		return NULL;
	}
	H_PASS();
	return a;
}

/* Random loads and stores through two MAP_SHARED mappings of one store,
 * against a model; then the store must equal the model. */
static void shared_model(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN);
	struct mem m;
	char *ref, *a, *b;
	int i, bad = 0;

	mem_init(&m, 11);
	ref = malloc(STORE_LEN);
	memcpy(ref, m.data, STORE_LEN);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	b = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a || !b)
		return;
	for (i = 0; i < (H_SANITIZED ? 1500 : 4000); i++) {
		size_t off = h_below(STORE_LEN);
		char *v = h_below(2) ? a : b;

		if (h_below(3)) {
			if (v[off] != ref[off] && !bad++)
				H_FAIL("load at %zu: %d, model %d", off,
				       v[off], ref[off]);
		} else {
			char c = (char)h_rand();

			v[off] = c;
			ref[off] = c;
		}
		if (i % 1000 == 999)
			CHECK_OK(up_pager_sync(p, a, len, MS_SYNC));
	}
	CHECK_EQ(bad, 0);
	CHECK(m.syncs > 0);
	/* The rest of the last page reads zero and is never written. */
	CHECK_EQ(a[STORE_LEN], 0);
	a[STORE_LEN + 1] = 7;
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_EQ(m.closes, 0);
	CHECK_EQ(memcmp(b, ref, STORE_LEN), 0);
	CHECK_OK(up_pager_unmap(p, b, len));
	CHECK_EQ(m.closes, 1);
	CHECK_EQ(memcmp(m.data, ref, STORE_LEN), 0);
	CHECK_EQ(m.bad_write, 0);
	/* Pages were read again after eviction, never in the thread that
	 * faulted. */
	CHECK(m.reads > (int)(STORE_LEN / page_len + 1));
	CHECK_EQ(m.reads_here, 0);
	free(ref);
	free(m.data);
}

/* MAP_PRIVATE: the mapping's stores stay its own, across eviction. */
static void private_copy(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN);
	struct mem m;
	char *a;
	size_t off;

	mem_init(&m, 12);
	a = map_store(p, &ro_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE);
	if (!a)
		return;
	for (off = 0; off < STORE_LEN; off += PG / 2)
		a[off] = (char)(off / 7);
	for (off = 0; off < STORE_LEN; off += PG / 2)
		if (a[off] != (char)(off / 7))
			break;
	CHECK_EQ(off >= STORE_LEN, 1);
	CHECK_EQ(h_pat_diff(a + 1, 12, 1, PG / 2 - 1), -1);
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_EQ(h_pat_diff(m.data, 12, 0, STORE_LEN), -1);
	CHECK_EQ(m.writes, 0);
	CHECK_EQ(m.closes, 1);
	free(m.data);
}

/* A MAP_PRIVATE mapping's copy of part of a pager page, evicted while
 * the rest of that page still shows the store: the rest keeps showing
 * it, through eviction and reading again. */
static void private_partial(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN), off;
	struct mem m;
	char *a, *b;

	mem_init(&m, 20);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE);
	b = map_store(p, &mem_ops, &m, len, PROT_READ, MAP_SHARED);
	if (!a || !b)
		return;
	a[page_len] = 'c';
	/* Every other page, through the other mapping: the budget's worth
	 * many times over. */
	for (off = 2 * page_len; off < STORE_LEN; off += PG)
		CHECK_EQ(b[off], (char)h_pat(20, off));
	CHECK_EQ(a[page_len], 'c');
	CHECK_EQ(h_pat_diff(a + page_len + 1, 20, page_len + 1,
			    page_len - 1),
		 -1);
	CHECK_EQ(h_pat_diff(b + page_len, 20, page_len, page_len), -1);
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_OK(up_pager_unmap(p, b, len));
	CHECK_EQ(m.writes, 0);
	CHECK_EQ(h_pat_diff(m.data, 20, 0, STORE_LEN), -1);
	free(m.data);
}

/* mlock(2) of a store's mapping, three budgets long, locks what the
 * store holds; stores into every locked page reach it at msync. */
static void locked(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN), n = 12 * page_len / PG, i;
	struct mem m;
	char *a;
	int lost = 0;

	if (n * PG > STORE_LEN)
		n = STORE_LEN / PG;
	mem_init(&m, 21);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	CHECK_OK(mlock(a, n * PG));
	CHECK_EQ(h_pat_diff(a, 21, 0, n * PG), -1);
	for (i = 0; i < n; i++)
		a[i * PG + 5] = 'L';
	CHECK_OK(up_pager_sync(p, a, len, MS_SYNC));
	/* (The store is looked at once nothing more faults: the pager's
	 * threads write it as they evict.) */
	for (i = 0; i < n; i++)
		lost += m.data[i * PG + 5] != 'L';
	CHECK_EQ(lost, 0);
	CHECK_OK(munlock(a, n * PG));
	CHECK_OK(up_pager_unmap(p, a, len));
	for (i = 0; i < n; i++)
		lost += m.data[i * PG + 5] != 'L';
	CHECK_EQ(lost, 0);
	CHECK_EQ(h_pat_diff(m.data + 7, 21, 7, PG - 7), -1);
	free(m.data);
}

/* A locked mapping of a store (which the kernel fills at once) that
 * mremap(2) grows, and one past the store's end that the store grows
 * under: what they show anew is the store, and stores there reach it;
 * shared and private alike (a private one's stores never do). */
static void locked_grown(struct up_pager *p)
{
	size_t len = 4 * page_len;
	struct mem m;
	char *a, *b;

	for (int priv = 0; priv < 2; priv++) {
		int type = priv ? MAP_PRIVATE : MAP_SHARED;

		mem_init(&m, 26);
		m.len = (off_t)len;
		a = map_store(p, &mem_ops, &m, len / 2, PROT_READ | PROT_WRITE,
			      type);
		if (!a)
			return;
		CHECK_OK(mlock(a, len / 2));
		b = mremap(a, len / 2, len, MREMAP_MAYMOVE);
		CHECK(b != MAP_FAILED);
		if (b == MAP_FAILED)
			return;
		CHECK_EQ(h_pat_diff(b + len / 2, 26, len / 2, len / 2), -1);
		b[len / 2 + 3] = 'Y';
		CHECK_OK(munlock(b, len));
		CHECK_OK(up_pager_unmap(p, b, len));
		CHECK_EQ(m.data[len / 2 + 3],
			 priv ? (char)h_pat(26, len / 2 + 3) : 'Y');

		m.len = (off_t)(len / 2);
		a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
			      type);
		if (!a)
			return;
		/* (What lies past the end cannot be faulted in: ENOMEM, as
		 * for a file's mapping past its end, locked all the same.) */
		errno = 0;
		CHECK(mlock(a, len) == 0 || errno == ENOMEM);
		CHECK_OK(up_pager_store_resize(p, &mem_ops, &m, (off_t)len));
		CHECK_EQ(a[len - 1], 0);
		a[len - PG] = 'Z';
		CHECK_OK(up_pager_sync(p, a, len, MS_SYNC));
		CHECK_EQ(m.data[len - PG], priv ? 0 : 'Z');
		CHECK_OK(munlock(a, len));
		CHECK_OK(up_pager_unmap(p, a, len));
		CHECK_EQ(m.data[len - PG], priv ? 0 : 'Z');
		free(m.data);
	}
}

/* mremap(2) of a store's mapping: what it grows by, a second mapping of
 * it (old_len 0) and what MREMAP_DONTUNMAP leaves behind show the store,
 * and stores there reach it. */
static void remapped(struct up_pager *p)
{
	size_t len = 4 * page_len;
	struct mem m;
	char *a, *b;

	mem_init(&m, 22);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	a[0] = 'A';
	b = mremap(a, len, 2 * len, MREMAP_MAYMOVE);
	CHECK(b != MAP_FAILED);
	if (b == MAP_FAILED)
		return;
	CHECK_EQ(b[0], 'A');
	CHECK_EQ(h_pat_diff(b + len + 1, 22, len + 1, len - 1), -1);
	b[len + PG] = 'G';
	CHECK_OK(up_pager_sync(p, b, 2 * len, MS_SYNC));
	a = mremap(b, 0, len, MREMAP_MAYMOVE);
	CHECK(a != MAP_FAILED);
	if (a != MAP_FAILED) {
		CHECK_EQ(a[0], 'A');
		CHECK_EQ(h_pat_diff(a + 1, 22, 1, len - 1), -1);
		CHECK_OK(up_pager_unmap(p, a, len));
	}
	a = mremap(b, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	CHECK(a != MAP_FAILED);
	if (a != MAP_FAILED) {
		CHECK_EQ(a[0], 'A');
		CHECK_EQ(h_pat_diff(b + 1, 22, 1, len - 1), -1);
		b[2 * PG] = 'D';
		CHECK_OK(up_pager_unmap(p, a, len));
	}
	CHECK_OK(up_pager_unmap(p, b, 2 * len));
	CHECK_EQ(m.data[2 * PG], 'D');
	CHECK_EQ(m.data[len + PG], 'G');
	CHECK_EQ(m.closes, 1);
	free(m.data);
}

/* Under mlockall(MCL_FUTURE) (in a child, as it locks all that comes), a
 * store's new mapping shows the store, and its stores reach it. */
static struct up_pager *future_pager;

static void future_child(void *arg)
{
	size_t len = 4 * page_len;
	struct mem *m = arg;
	char *a;

	CHECK_EQ(mlockall(MCL_FUTURE), 0);
	a = map_store(future_pager, &mem_ops, m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	CHECK_EQ(h_pat_diff(a, 25, 0, len), -1);
	a[PG] = 'F';
	CHECK_OK(up_pager_unmap(future_pager, a, len));
	CHECK_EQ(m->data[PG], 'F');
	CHECK_EQ(m->closes, 1);
}

static void future_locked(struct up_pager *p)
{
	struct mem m;

	/* (Not under ThreadSanitizer, whose shadow of every new mapping the
	 * kernel would lock and fill too.) */
	if (H_TSAN)
		return;
	mem_init(&m, 25);
	future_pager = p;
	CHECK_EQ(h_fork(future_child, &m), 0);
	free(m.data);
}

/* A child of fork() that pages a file through the same pager leaves the
 * parent's store mapping as it was. */
static char *child_file_at;

static void child_pages(void *arg)
{
	size_t i, n = *(size_t *)arg;
	volatile char sum = 0;

	for (i = 0; i < n; i += PG)
		sum += child_file_at[i];
	(void)sum;
}

static void child_evicts(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN), flen = 12 * page_len;
	int fd = h_file(flen, 23);
	struct mem m;
	void *f = NULL;
	char *a;

	mem_init(&m, 24);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	a[0] = 'P';
	CHECK_OK(up_pager_map(p, NULL, flen, PROT_READ, MAP_SHARED, fd, 0, &f));
	child_file_at = f;
	CHECK_EQ(h_fork(child_pages, &flen), 0);
	CHECK_EQ(a[0], 'P');
	CHECK_EQ(h_pat_diff(a + 1, 24, 1, page_len - 1), -1);
	CHECK_OK(up_pager_unmap(p, f, flen));
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_EQ(m.data[0], 'P');
	CHECK_EQ(h_pat_diff(m.data + 1, 24, 1, STORE_LEN - 1), -1);
	close(fd);
	free(m.data);
}

/* A MAP_PRIVATE mapping made after a MAP_SHARED one changed the store,
 * with nothing written back yet, starts from what the shared one shows,
 * as a private mapping of a file starts from the page cache; its own
 * stores then stay its own. */
static void private_after_shared(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN);
	struct mem m;
	char *a, *b;

	mem_init(&m, 19);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	a[3 * PG + 9] = 'S';
	b = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE);
	if (!b)
		return;
	CHECK_EQ(b[3 * PG + 9], 'S');
	b[3 * PG + 10] = 'P';
	CHECK_EQ(a[3 * PG + 10], (char)h_pat(19, 3 * PG + 10));
	CHECK_OK(up_pager_unmap(p, b, len));
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_EQ(m.data[3 * PG + 9], 'S');
	CHECK_EQ(m.data[3 * PG + 10], (char)h_pat(19, 3 * PG + 10));
	CHECK_EQ(m.closes, 1);
	free(m.data);
}

/* The end of the store and failed reads raise SIGBUS; a failed write is
 * reported by msync, once, and keeps the page. */
static void errors(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN) + 2 * PG;
	struct mem m;
	char *a, v = 0;
	int r;

	mem_init(&m, 13);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	CHECK_EQ(h_access(a + SYS_UP_LEN(STORE_LEN), 0, &v), SIGBUS);
	m.fail_read = (off_t)(5 * page_len + 10);
	CHECK_EQ(h_access(a + 5 * page_len, 0, &v), SIGBUS);
	m.fail_read = -1;
	CHECK_EQ(h_access(a + 7 * page_len, 0, &v), 0);
	CHECK_EQ(v, (char)h_pat(13, 7 * page_len));
	/* The failed read is reported at most once more, as for a file. */
	r = up_pager_unmap(p, a, len);
	CHECK(r == 0 || r == -EIO);
	CHECK_EQ(m.closes, 1);

	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	v = 42;
	CHECK_EQ(h_access(a + 7 * PG, 1, &v), 0);
	m.fail_write = -ENOSPC;
	CHECK_EQ(up_pager_sync(p, a, len, MS_SYNC), -ENOSPC);
	m.fail_write = -EPERM;
	CHECK_EQ(up_pager_sync(p, a, len, MS_SYNC), -EIO);
	CHECK(m.data[7 * PG] != 42);
	m.fail_write = 0;
	CHECK_OK(up_pager_sync(p, a, len, MS_SYNC));
	CHECK_EQ(m.data[7 * PG], 42);
	/* Scattered dirty pages go in one batch; one that fails loses
	 * nothing: all are written again at the next msync. */
	for (r = 0; r < 5; r++) {
		v = (char)(50 + r);
		CHECK_EQ(h_access(a + (size_t)(2 * r + 1) * page_len, 1, &v), 0);
	}
	m.fail_write = -ENOSPC;
	r = m.batches;
	CHECK_EQ(up_pager_sync(p, a, len, MS_SYNC), -ENOSPC);
	CHECK_EQ(m.batches, r + 1);
	m.fail_write = 0;
	CHECK_OK(up_pager_sync(p, a, len, MS_SYNC));
	CHECK_EQ(m.batches, r + 2);
	for (r = 0; r < 5; r++)
		CHECK_EQ(m.data[(size_t)(2 * r + 1) * page_len], 50 + r);
	CHECK_OK(up_pager_unmap(p, a, len));
	CHECK_EQ(m.closes, 2);
	free(m.data);
}

/* A MAP_FIXED mapping of a store over its own only mapping: the store
 * stays open (the pager owns it throughout), the stores made before are
 * in it, and it is closed once, at the end. */
static void fixed_over_itself(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN);
	struct mem m;
	void *a, *b = NULL;

	mem_init(&m, 17);
	a = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	if (!a)
		return;
	((char *)a)[5] = 55;
	CHECK_OK(up_pager_map_store(p, &mem_ops, &m, a, len, PROT_READ,
				    MAP_SHARED | MAP_FIXED, 0, &b));
	CHECK(b == a);
	CHECK_EQ(m.closes, 0);
	CHECK_EQ(((char *)b)[5], 55);
	CHECK_EQ(m.data[5], 55);
	CHECK_EQ(h_pat_diff((char *)b + 6, 17, 6, len / 2), -1);
	CHECK_OK(up_pager_unmap(p, b, len));
	CHECK_EQ(m.closes, 1);
	free(m.data);
}

/* Bad input changes nothing: the store is not closed. */
static void bad_input(struct up_pager *p)
{
	struct mem m;
	void *a = NULL;

	mem_init(&m, 14);
	CHECK_EQ(up_pager_map_store(p, &mem_ops, &m, NULL, 0, PROT_READ,
				    MAP_SHARED, 0, &a), -EINVAL);
	CHECK_EQ(up_pager_map_store(p, &mem_ops, &m, NULL, PG, PROT_READ,
				    MAP_SHARED, 100, &a), -EINVAL);
	CHECK_EQ(up_pager_map_store(p, &mem_ops, &m, NULL, PG, PROT_READ,
				    MAP_SHARED | MAP_ANONYMOUS, 0, &a),
		 -EINVAL);
	CHECK_EQ(up_pager_map_store(p, NULL, &m, NULL, PG, PROT_READ,
				    MAP_SHARED, 0, &a), -EINVAL);
	CHECK_EQ(up_pager_map_store(p, &mem_ops, &m, NULL, PG, PROT_READ,
				    MAP_SHARED, -PG, &a), -EOVERFLOW);
	CHECK_EQ(up_pager_map_store(p, &ro_ops, &m, NULL, PG,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0, &a),
		 -EACCES);
	CHECK_EQ(m.closes, 0);
	CHECK_EQ(m.reads + m.writes, 0);
	free(m.data);
}

/*
 * Resizing a mapped store is ftruncate(2) of a mapped file: the same
 * sequence runs through the kernel's mmap(2) on a file and through the
 * pager on a store, and every load (its value or signal) and the final
 * content must agree.  A MAP_SHARED and a MAP_PRIVATE mapping, stores
 * before the new end and past it, a private copy past it, a shrink into
 * the middle of a page, a grow past the old end.
 */
#define RS_LEN (2 * page_len + 4 * PG + 100)
#define RS_MAP (2 * page_len + 8 * PG)
#define RS_TRACE (2 * 2 * 2 * 3 * 40 + 16)	/* 40 system pages at most */

struct rs_io {
	int (*resize)(void *ctx, off_t len);
	void *ctx;
};

static int rs_kernel(void *ctx, off_t len)
{
	return ftruncate(*(int *)ctx, len) ? -errno : 0;
}

static int rs_pager(void *ctx, off_t len)
{
	return up_pager_store_resize(h_ctx_pager, &mem_ops, ctx, len);
}

/* Loads at three places of every system page of both mappings. */
static void rs_probe(char *sh, char *pv, int *trace, size_t *n)
{
	static const size_t at[] = { 0, 60, PG - 1 };
	size_t i, j;
	char v;

	for (i = 0; i < RS_MAP / PG; i++)
		for (j = 0; j < 3; j++) {
			v = 0;
			trace[(*n)++] = h_access(sh + i * PG + at[j], 0, &v);
			trace[(*n)++] = v;
			v = 0;
			trace[(*n)++] = h_access(pv + i * PG + at[j], 0, &v);
			trace[(*n)++] = v;
		}
}

/* Stores on both sides of the new end, in the page that will hold it and
 * past it; a private copy below the end (in another pager page) and one
 * past it; a shrink into the middle of a page, then a grow. */
static void rs_run(char *sh, char *pv, const struct rs_io *io, int *trace)
{
	size_t n = 0, end = page_len + 2 * PG + 50;
	char v;

	v = 'a';
	trace[n++] = h_access(sh + page_len + PG + 5, 1, &v);
	v = 'b';
	trace[n++] = h_access(sh + 2 * page_len + PG + 7, 1, &v);
	v = 'c';
	trace[n++] = h_access(pv + 2 * page_len + 2 * PG + 1, 1, &v);
	v = 'd';
	trace[n++] = h_access(pv + 9, 1, &v);
	v = 'e';
	trace[n++] = h_access(sh + end - 20, 1, &v);
	v = 'g';
	trace[n++] = h_access(sh + end + 20, 1, &v);
	trace[n++] = io->resize(io->ctx, (off_t)end);
	rs_probe(sh, pv, trace, &n);
	trace[n++] = io->resize(io->ctx, (off_t)(2 * page_len + 6 * PG));
	v = 'f';
	trace[n++] = h_access(sh + 2 * page_len + 5 * PG + 2, 1, &v);
	rs_probe(sh, pv, trace, &n);
}

static void resize(struct up_pager *p)
{
	static int kt[RS_TRACE], ut[RS_TRACE];
	struct rs_io io;
	int fd = h_file(RS_LEN, 18);
	char *sh, *pv;
	struct mem m;
	size_t i;

	/* The kernel on a file. */
	sh = mmap(NULL, RS_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pv = mmap(NULL, RS_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(sh != MAP_FAILED && pv != MAP_FAILED);
	io.resize = rs_kernel;
	io.ctx = &fd;
	rs_run(sh, pv, &io, kt);
	munmap(sh, RS_MAP);
	munmap(pv, RS_MAP);

	/* The pager on a store. */
	mem_init(&m, 18);
	m.len = RS_LEN;
	h_ctx_pager = p;
	sh = map_store(p, &mem_ops, &m, RS_MAP, PROT_READ | PROT_WRITE,
		       MAP_SHARED);
	pv = map_store(p, &mem_ops, &m, RS_MAP, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE);
	if (!sh || !pv)
		return;
	io.resize = rs_pager;
	io.ctx = &m;
	rs_run(sh, pv, &io, ut);
	for (i = 0; i < RS_TRACE && kt[i] == ut[i]; i++)
		;
	if (i < RS_TRACE)
		H_FAIL("resize: trace %zu: kernel %d, pager %d", i, kt[i],
		       ut[i]);
	else
		H_PASS();
	CHECK_OK(up_pager_sync(p, sh, RS_MAP, MS_SYNC));
	CHECK_EQ(m.len, h_file_len(fd));
	{
		char *f = malloc((size_t)m.len);

		CHECK_EQ(pread(fd, f, (size_t)m.len, 0), m.len);
		CHECK_EQ(memcmp(f, m.data, (size_t)m.len), 0);
		free(f);
	}
	CHECK_OK(up_pager_unmap(p, sh, RS_MAP));
	CHECK_OK(up_pager_unmap(p, pv, RS_MAP));
	CHECK_EQ(m.closes, 1);
	CHECK_EQ(up_pager_store_resize(p, &ro_ops, &m, 0), -EOPNOTSUPP);
	CHECK_EQ(up_pager_store_resize(p, &mem_ops, &m, -1), -EINVAL);
	CHECK_OK(up_pager_store_resize(p, &mem_ops, &m, 7));
	CHECK_EQ(m.len, 7);
	close(fd);
	free(m.data);
}

static struct mem *forked;
static char *forked_at;

static void fork_child(void *arg)
{
	char v = 0;

	(void)arg;
	CHECK_EQ(h_access(forked_at, 0, &v), SIGSEGV);
}

/* A child does not inherit the mapping; the parent's keeps working. */
static void not_inherited(struct up_pager *p)
{
	size_t len = SYS_UP_LEN(STORE_LEN);
	struct mem m;

	mem_init(&m, 15);
	forked = &m;
	forked_at = map_store(p, &mem_ops, &m, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED);
	if (!forked_at)
		return;
	forked_at[3] = 9;
	CHECK_EQ(h_fork(fork_child, NULL), 0);
	CHECK_EQ(forked_at[3], 9);
	CHECK_EQ(h_pat_diff(forked_at + PG, 15, PG, 4 * PG), -1);
	CHECK_OK(up_pager_unmap(p, forked_at, len));
	CHECK_EQ(m.data[3], 9);
	free(m.data);
}

static void body(struct up_pager *p, enum up_backend b)
{
	struct mem m;
	void *a = NULL;

	if (b == UP_BACKEND_KERNEL || (h_flags & UP_CONFIG_FAULT_INLINE)) {
		/* The kernel cannot show a store; a store's calls cannot run
		 * in the signal handler of inline faults. */
		mem_init(&m, 16);
		CHECK_EQ(up_pager_map_store(p, &mem_ops, &m, NULL, PG,
					    PROT_READ, MAP_SHARED, 0, &a),
			 -EOPNOTSUPP);
		CHECK_EQ(m.closes + m.reads, 0);
		free(m.data);
		return;
	}
	shared_model(p);
	private_copy(p);
	private_partial(p);
	locked(p);
	remapped(p);
	locked_grown(p);
	child_evicts(p);
	future_locked(p);
	private_after_shared(p);
	errors(p);
	fixed_over_itself(p);
	resize(p);
	bad_input(p);
	not_inherited(p);
}

int main(void)
{
	h_seed();
	main_tid = gettid();
	FOR_EACH_BACKEND(small, body);
	FOR_EACH_BACKEND(large, body);
	h_done();
}
