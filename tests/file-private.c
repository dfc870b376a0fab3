/* file-private: MAP_PRIVATE is copy-on-write: writes stay in the mapping, across eviction too, and never reach the file; pages that an mlock(2) stopped by a hole locked without reading them in show the file as it is when they are loaded. */
#include "harness.h"

#include <sys/syscall.h>

#define PAGES 32
#define BUDGET_PAGES 4

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->budget = BUDGET_PAGES * c->page_len;
	page = c->page_len;
}

/* Pager pages of 64 KiB: pages of the file's private copy in a pool
 * of the pager's own (solo.c), where they are larger than 16 KiB. */
static void adjust_64k(struct up_config *c)
{
	c->page_len = 65536;
	c->budget = BUDGET_PAGES * c->page_len;
	page = c->page_len;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), ro = h_reopen(fd, O_RDONLY);
	char *s = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* a private writable mapping of a read-only fd is allowed */
	char *p1 = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	char *p2 = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	struct h_model m;
	struct up_stats st;

	(void)b;
	close(ro);
	h_model_init(&m, fd);
	if (!s || !p1 || !p2)
		goto out;
	CHECK_EQ(h_pat_diff(p1, 1, 0, len), -1);

	/* p1 writes: p1 sees them, the file, s and p2 do not */
	for (size_t i = 0; i < PAGES; i += 2)
		h_pat_fill(p1 + i * page + 100, 2, i * page + 100, 200);
	for (size_t i = 0; i < PAGES; i += 2) {
		CHECK_EQ(h_pat_diff(p1 + i * page + 100, 2, i * page + 100, 200), -1);
		CHECK_EQ(h_pat_diff(s + i * page + 100, 1, i * page + 100, 200), -1);
		CHECK_EQ(h_pat_diff(p2 + i * page + 100, 1, i * page + 100, 200), -1);
	}
	CHECK_OK(up_pager_sync(p, p1, len, MS_SYNC));
	CHECK_OK(up_pager_sync(p, s, len, MS_SYNC));
	h_files_equal(fd, m.fd);

	/* s writes the same pages: p1 keeps its own copy */
	for (size_t i = 0; i < PAGES; i += 2) {
		h_pat_fill(s + i * page + 50, 3, i * page + 50, 300);
		h_model_write(&m, (off_t)(i * page + 50), s + i * page + 50, 300);
	}
	for (size_t i = 0; i < PAGES; i += 2)
		CHECK_EQ(h_pat_diff(p1 + i * page + 100, 2, i * page + 100, 200), -1);

	/* p2 writes every page, more than the budget, then reads them back */
	for (size_t i = 0; i < PAGES; i++)
		h_pat_fill(p2 + i * page, 10 + i, i * page, page);
	for (size_t i = 0; i < PAGES; i++)
		CHECK_EQ(h_pat_diff(p2 + i * page, 10 + i, i * page, page), -1);
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p)) {
		CHECK(st.resident <= BUDGET_PAGES);
		CHECK(st.evictions > 0);
	}
	for (size_t i = 0; i < PAGES; i += 2)
		CHECK_EQ(h_pat_diff(p1 + i * page + 100, 2, i * page + 100, 200), -1);
	CHECK_OK(up_pager_sync(p, p2, len, MS_SYNC));
	CHECK_OK(up_pager_sync(p, s, len, MS_SYNC));
	h_files_equal(fd, m.fd);
	CHECK_OK(up_pager_unmap(p, p1, len));
	CHECK_OK(up_pager_unmap(p, p2, len));
	p1 = p2 = NULL;
	h_files_equal(fd, m.fd);
	/* a new private mapping sees the file, not old private data */
	p1 = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p1)
		CHECK(!memcmp(p1, s, len));
out:
	if (s)
		CHECK_OK(up_pager_unmap(p, s, len));
	if (p1)
		CHECK_OK(up_pager_unmap(p, p1, len));
	if (p2)
		CHECK_OK(up_pager_unmap(p, p2, len));
	h_files_equal(fd, m.fd);
	close(m.fd);
	close(fd);
}

/*
 * mlock(2) over a private mapping and the hole after it fails with ENOMEM,
 * and the pages before the hole are locked but not read in: loaded later,
 * after a pwrite(2) to the file, such a page shows the new bytes, as with
 * the kernel's mmap (the pager locking them again when it showed the page
 * next to them read them in for writing, which copied them too early).
 */
static void mlock_hole(struct up_pager *p, int fd)
{
	char *res, *m = NULL;
	char c = 'X';

	res = mmap(NULL, 8 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	CHECK(res != MAP_FAILED);
	if (res == MAP_FAILED)
		return;
	CHECK_OK(up_pager_map(p, res, 3 * 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_FIXED, fd, 0, (void **)&m));
	munmap(res + 3 * 4096, 5 * 4096);
	if (m != res)
		return;
	/* (The system call itself: AddressSanitizer's mlock does nothing.) */
	errno = 0;
	CHECK_EQ(syscall(SYS_mlock, m + 4096, 4 * 4096), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ((uint8_t)m[0], h_pat(1, 0));
	CHECK_EQ(pwrite(fd, &c, 1, 4096 + 5), 1);
	CHECK_EQ(m[4096 + 5], 'X');
	CHECK_EQ((uint8_t)m[2 * 4096], h_pat(1, 2 * 4096));
	syscall(SYS_munlock, m, 3 * 4096);
	CHECK_OK(up_pager_unmap(p, m, 3 * 4096));
}

/*
 * The same where mlock(2) stops at a page of a shared mapping past the end
 * of its file (ENOMEM): the private mapping after it is locked, not read
 * in.  A store past the end of the private mapping's file raises SIGBUS
 * and copies nothing: its first page shows a later pwrite(2) still.
 */
static void mlock_hole_store(struct up_pager *p, int fd)
{
	int short_fd = h_file(100, 2);
	char *res, *s = NULL, *m = NULL;
	char c = 'Y', v = 1;

	res = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(res != MAP_FAILED);
	if (res == MAP_FAILED)
		return;
	CHECK_OK(up_pager_map(p, res, 4 * 4096, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_FIXED, short_fd, 0, (void **)&s));
	CHECK_OK(up_pager_map(p, res + 4 * 4096, 12 * 4096,
			      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
			      fd, 0, (void **)&m));
	if (s != res || m != res + 4 * 4096)
		return;
	errno = 0;
	CHECK_EQ(syscall(SYS_mlock, s + 2 * 4096, 4 * 4096), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(h_access(m + 3 * 4096, 1, &v), SIGBUS);
	CHECK_EQ(pwrite(fd, &c, 1, 5), 1);
	CHECK_EQ(m[5], 'Y');
	syscall(SYS_munlock, res, 16 * 4096);
	CHECK_OK(up_pager_unmap(p, m, 12 * 4096));
	CHECK_OK(up_pager_unmap(p, s, 4 * 4096));
	close(short_fd);
}

/*
 * A locked private mapping made writable is read in and copied then, as
 * the kernel's mprotect(2) populates it: a later pwrite(2) to the file
 * does not show there.  (mlock(2) of an inaccessible mapping locks it and
 * fails to read it in: ENOMEM.)
 */
static void mlock_protect(struct up_pager *p, int fd)
{
	char *m = h_map(p, 4 * 4096, PROT_NONE, MAP_PRIVATE, fd, 4096);
	char c = 'Z';

	if (!m)
		return;
	errno = 0;
	CHECK_EQ(syscall(SYS_mlock, m, 4 * 4096), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_OK(up_pager_protect(p, m + 2 * 4096, 4096,
				  PROT_READ | PROT_WRITE));
	CHECK_EQ(pwrite(fd, &c, 1, 3 * 4096 + 9), 1);
	CHECK_EQ((uint8_t)m[2 * 4096 + 9], h_pat(1, 3 * 4096 + 9));
	syscall(SYS_munlock, m, 4 * 4096);
	CHECK_OK(up_pager_unmap(p, m, 4 * 4096));

	/* Only what is locked: the page after it, made writable with it,
	 * shows the file's changes still. */
	m = h_map(p, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (!m)
		return;
	CHECK_OK((int)syscall(SYS_mlock, m + 4096, 4096));
	CHECK_OK(up_pager_protect(p, m, 3 * 4096, PROT_READ | PROT_WRITE));
	c = m[4096 + 5];
	CHECK(c != 'Y');
	CHECK_EQ(pwrite(fd, "Y", 1, 4096 + 5), 1);
	CHECK_EQ(pwrite(fd, "Y", 1, 2 * 4096 + 5), 1);
	CHECK_EQ(m[4096 + 5], c);
	CHECK_EQ(m[2 * 4096 + 5], 'Y');
	syscall(SYS_munlock, m, 4 * 4096);
	CHECK_OK(up_pager_unmap(p, m, 4 * 4096));
}

/*
 * Stores to two pieces of a private mapping that mprotect(2) split give
 * each an anon_vma of its own: made alike again, the two stay two
 * mappings, and mremap(2) of all of it is EFAULT, in a child of fork() too
 * (which the kernel gives copies of both).
 */
static void refused_across(void *arg)
{
	char *m = arg;

	errno = 0;
	CHECK(mremap(m, 7 * 4096, 15 * 4096, MREMAP_MAYMOVE) == MAP_FAILED);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(m[3 * 4096 + 7], 'c');
	CHECK_EQ(m[5 * 4096], 'd');
}

static void copies_apart(struct up_pager *p, int fd)
{
	char *m = h_map(p, 7 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			0);

	if (!m)
		return;
	CHECK_OK(up_pager_protect(p, m + 4 * 4096, 4096, PROT_NONE));
	m[3 * 4096 + 7] = 'c';
	m[5 * 4096] = 'd';
	CHECK_OK(up_pager_protect(p, m, 7 * 4096, PROT_READ | PROT_WRITE));
	refused_across(m);
	CHECK_EQ(h_fork(refused_across, m), 0);
	refused_across(m);
	CHECK_OK(up_pager_unmap(p, m, 7 * 4096));
}

/* The same where both stores are past the end of the file: they raise
 * SIGBUS, and give the two pieces anon_vmas all the same. */
static void refused_across_only(void *arg)
{
	char *m = arg;

	errno = 0;
	CHECK(mremap(m, 7 * 4096, 15 * 4096, MREMAP_MAYMOVE) == MAP_FAILED);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(m[0], (char)h_pat(1, 0));
}

static void refused_apart(struct up_pager *p, int fd)
{
	char *m = h_map(p, 7 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			0);
	char v = 1;

	if (!m)
		return;
	CHECK_OK(up_pager_protect(p, m + 4 * 4096, 4096, PROT_NONE));
	CHECK_EQ(h_access(m + 5 * 4096, 1, &v), SIGBUS);
	CHECK_EQ(h_access(m + 3 * 4096 + 7, 1, &v), SIGBUS);
	CHECK_OK(up_pager_protect(p, m, 7 * 4096, PROT_READ | PROT_WRITE));
	refused_across_only(m);
	CHECK_EQ(h_fork(refused_across_only, m), 0);
	refused_across_only(m);
	CHECK_OK(up_pager_unmap(p, m, 7 * 4096));
}

static void body2(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(16 * 4096, 1);

	(void)b;
	mlock_hole(p, fd);
	mlock_protect(p, fd);
	copies_apart(p, fd);
	close(fd);
	fd = h_file(4096 + 1, 1);
	mlock_hole_store(p, fd);
	refused_apart(p, fd);
	close(fd);
}

/*
 * A pager page split between two mappings of one private object
 * (mprotect(2) of its second half): each half keeps its stores across
 * evictions, also when only the other half was touched in between, so
 * that only one mapping showed the page when it was evicted again.
 */
static void split_halves(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page, half = page / 2;
	int fd = h_file(len, 3);
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	volatile char v;

	(void)b;
	if (!m)
		return;
	m[100] = 'a';
	m[half + 100] = 'b';
	CHECK_OK(up_pager_protect(p, m + half, half, PROT_READ));
	for (int round = 0; round < 2; round++) {
		/* Every other page, to evict page 0; then its first half. */
		for (size_t i = 1; i < PAGES; i++)
			v = m[i * page];
		v = m[0];
		(void)v;
	}
	for (size_t i = 1; i < PAGES; i++)
		v = m[i * page];
	CHECK_EQ(m[100], 'a');
	CHECK_EQ(m[half + 100], 'b');
	CHECK_EQ(h_pat_diff(m + half + 101, 3, half + 101, half - 101), -1);
	CHECK_OK(up_pager_unmap(p, m, len));
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	FOR_EACH_BACKEND(adjust, body2);
	FOR_EACH_BACKEND(adjust_64k, split_halves);
	h_done();
}
