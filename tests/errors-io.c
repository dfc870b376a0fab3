/* errors-io (userfaultfd, signals): failed reads raise SIGBUS (never zeros) and are read again after, as the kernel does; file stores never go through the pager's writes; failed swap writes keep the data; setup failures leave nothing behind. */
#include "harness.h"
#include "up-sys.h"

#define PAGES 16

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->readahead_nr = 0;
	page = c->page_len;
}

static void small_budget(struct up_config *c)
{
	adjust(c);
	c->budget = 4 * c->page_len;
}

/* Pages large enough for a single mapping to be served from moved frames
 * (which are moved back to their slots before they are written back). */
static void small_budget_moved(struct up_config *c)
{
	small_budget(c);
	c->page_len = 65536;
	c->budget = 4 * c->page_len;
	page = c->page_len;
}

/* Reads and writes of addr raise SIGBUS reported in its page. */
#define expect_sigbus(addr) expect_sigbus_at(addr, __LINE__)
static void expect_sigbus_at(char *addr, int line)
{
	char v = 0;

	for (int i = 0; i < 2; i++) {
		int sig = h_access(addr, i, &v);

		if (sig != SIGBUS) {
			H_FAIL("line %d: %s got signal %d, not SIGBUS", line,
			       i ? "write" : "read", sig);
			continue;
		}
		CHECK(h_sig_code == BUS_ADRERR || h_sig_code == BUS_MCEERR_AR);
		CHECK((uintptr_t)h_sig_addr + page > (uintptr_t)addr &&
		      (uintptr_t)h_sig_addr < (uintptr_t)addr + page);
	}
}

static int file_has(int fd, uint64_t seed, size_t off, size_t len)
{
	char *buf = malloc(len);
	int ok = pread(fd, buf, len, (off_t)off) == (ssize_t)len &&
		 h_pat_diff(buf, seed, off, len) == -1;

	free(buf);
	return ok;
}

/* Page m, at file offset off, once its read error is gone. */
static void after_error(char *m, size_t off)
{
	char v;
	int sig = h_access(m, 0, &v);

	if (sig)
		CHECK_EQ(sig, SIGBUS);
	else
		CHECK_EQ(h_pat_diff(m, 1, off, page), -1);
}

/* A read error in a fault: SIGBUS, never zeros.  Once the error is gone,
 * the page reads right, or (the userfaultfd's SIGBUS marks stay until the
 * page leaves) raises SIGBUS still; as with the kernel's mmap, msync and
 * munmap have nothing to report. */
static void read_error(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *pr = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	if (!sh || !pr)
		return;
	CHECK_EQ(sh[0], (char)h_pat(1, 0));	/* a good page first */
	up__sys_fail(UP_SYS_PREAD, 0, 1000000, EIO);
	expect_sigbus(sh + 2 * page + 10);
	expect_sigbus(pr + 3 * page);
	up__sys_fail(UP_SYS_PREAD, 0, 0, 0);
	after_error(sh + 2 * page, 2 * page);
	after_error(pr + 3 * page, 3 * page);
	CHECK_EQ(h_pat_diff(sh + 5 * page, 1, 5 * page, page), -1);
	CHECK_EQ(h_pat_diff(pr + 6 * page, 1, 6 * page, page), -1);
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, sh, len));
	CHECK_OK(up_pager_unmap(p, pr, len));
	/* a new mapping of the same file reads fine */
	sh = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (sh) {
		CHECK_EQ(h_pat_diff(sh, 1, 0, len), -1);
		CHECK_OK(up_pager_unmap(p, sh, len));
	}
	close(fd);
}

/* A pager page of [m, m+len) that is not in memory (mincore(2) sees the
 * pager's memory), so that touching it must read it again; NULL if none. */
static char *evicted(char *m, size_t len)
{
	unsigned char vec[PAGES * 16];
	size_t sub = page / 4096, i, j;

	if (len / 4096 > sizeof(vec) || mincore(m, len, vec))
		return NULL;
	for (i = 0; i < len / page; i++) {
		for (j = 0; j < sub && !(vec[i * sub + j] & 1); j++)
			;
		if (j == sub)
			return m + i * page;
	}
	return NULL;
}

/* Anonymous pages that cannot be read back from the swap file. */
static void swap_read_error(struct up_pager *p)
{
	size_t len = PAGES * page;
	char *an = h_map(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *gone;

	if (!an)
		return;
	h_pat_fill(an, 3, 0, len);	/* 16 pages through a 4-page budget */
	gone = evicted(an, len);
	CHECK(gone != NULL);
	if (!gone)
		return;
	/* (fewer failures than elsewhere: a pager that retries the read
	 * instead of raising SIGBUS gets through them in a few seconds) */
	up__sys_fail(UP_SYS_PREAD, 0, 200000, EIO);
	expect_sigbus(gone);
	up__sys_fail(UP_SYS_PREAD, 0, 0, 0);
	CHECK_EQ(h_pat_diff(an + 10 * page, 3, 10 * page, 4 * page), -1);
	CHECK_EQ(up_pager_unmap(p, an, len), -EIO);
}

/* A file page written and evicted, then unreadable: SIGBUS like any
 * other. */
static void written_read_error(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), *gone;
	struct up_stats st;

	if (!sh)
		return;
	for (size_t i = 0; i < PAGES; i++)	/* write back every page */
		sh[i * page + 10] = (char)h_pat(1, i * page + 10);
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	CHECK_EQ(h_pat_diff(sh + 4 * page, 1, 4 * page, 12 * page), -1);
	CHECK_OK(up_mapping_stats(p, sh, &st));
	CHECK(st.evictions > 0);
	gone = evicted(sh, len);
	CHECK(gone != NULL);
	if (!gone)
		return;
	up__sys_fail(UP_SYS_PREAD, 0, 200000, EIO);
	expect_sigbus(gone);
	up__sys_fail(UP_SYS_PREAD, 0, 0, 0);
	CHECK_OK(up_pager_unmap(p, sh, len));
	CHECK(file_has(fd, 1, 0, len));
	close(fd);
}

/* The file shrinks under the mapping: pages past the new end SIGBUS. */
static void truncated(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (!sh)
		return;
	CHECK_EQ(ftruncate(fd, 4 * (off_t)page), 0);
	expect_sigbus(sh + 10 * page);
	expect_sigbus(sh + 4 * page);
	CHECK_EQ(h_pat_diff(sh + 2 * page, 1, 2 * page, page), -1);
	/* (the kernel's own mmap reports nothing either) */
	CHECK_OK(up_pager_unmap(p, sh, len));
	CHECK_EQ(h_file_len(fd), 4 * page);
	close(fd);
}

/* Stores to a shared file mapping are the page cache's: no write of the
 * pager's can fail them; the kernel's write-back errors reach msync. */
static void write_error(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (!sh)
		return;
	up__sys_fail(UP_SYS_PWRITE, 0, 1000000, EIO);
	h_pat_fill(sh, 2, 0, 4 * page);
	CHECK(file_has(fd, 2, 0, 4 * page));	/* at once */
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	up__sys_fail(UP_SYS_PWRITE, 0, 0, 0);
	CHECK_EQ(h_pat_diff(sh, 2, 0, 4 * page), -1);
	CHECK(file_has(fd, 2, 0, 4 * page));

	/* fdatasync failing fails MS_SYNC */
	sh[5 * page] = 'x';
	up__sys_fail(UP_SYS_FDATASYNC, 0, 1000000, EIO);
	CHECK_EQ(up_pager_sync(p, sh, len, MS_SYNC), -EIO);
	/* ... and a full disk found only then (the kernel's own write-back
	 * of pages it tracks) says so */
	up__sys_fail(UP_SYS_FDATASYNC, 0, 1000000, ENOSPC);
	CHECK_EQ(up_pager_sync(p, sh, len, MS_SYNC), -ENOSPC);
	up__sys_fail(UP_SYS_FDATASYNC, 0, 0, 0);
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, sh, len));
	{
		char c = 0;

		CHECK_EQ(pread(fd, &c, 1, 5 * (off_t)page), 1);
		CHECK_EQ(c, 'x');
	}
	close(fd);
}

/* Evictions of anonymous pages whose write to swap fails: the pages stay,
 * nothing is lost; msync may report it, once. */
static void evict_error(struct up_pager *p)
{
	size_t len = PAGES * page;
	char *an = h_map(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (!an)
		return;
	up__sys_fail(UP_SYS_PWRITE, 0, 3, EIO);
	h_pat_fill(an, 2, 0, len);	/* 16 dirty pages, budget 4 */
	up__sys_fail(UP_SYS_PWRITE, 0, 0, 0);
	CHECK_EQ(h_pat_diff(an, 2, 0, len), -1);
	r = up_pager_sync(p, an, len, MS_SYNC);
	CHECK(r == 0 || r == -EIO);
	CHECK_OK(up_pager_sync(p, an, len, MS_SYNC));
	CHECK_EQ(h_pat_diff(an, 2, 0, len), -1);
	CHECK_OK(up_pager_unmap(p, an, len));
}

/* Any one failing call while opening and mapping: a clean -errno, and
 * no fd, thread or mapping left behind. */
/* The last mapping of a file unmapped while every write of the pager's
 * would fail (a full disk): its stores are in the page cache, nothing is
 * left to write, and the pager's accounts come back to zero. */
static void unmap_full(struct up_pager *p)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct up_stats st;

	if (!sh)
		return;
	memset(sh, 'f', len);
	up__sys_fail(UP_SYS_PWRITE, 0, 1000000, ENOSPC);
	CHECK_OK(up_pager_unmap(p, sh, len));
	up__sys_fail(UP_SYS_PWRITE, 0, 0, 0);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.resident, 0);
	CHECK_EQ(st.dirty, 0);
	{
		char *buf = malloc(len);
		size_t i = 0;

		CHECK_EQ(pread(fd, buf, len, 0), (ssize_t)len);
		while (i < len && buf[i] == 'f')
			i++;
		CHECK_EQ(i, len);
		free(buf);
	}
	close(fd);
}

static void setup_errors(enum up_backend b)
{
	static const enum up_sys_call calls[] = {
		UP_SYS_OPEN, UP_SYS_MEMFD, UP_SYS_IOCTL, UP_SYS_MMAP,
		UP_SYS_FTRUNCATE, UP_SYS_FALLOCATE,
	};
	int fd = h_file(PAGES * 16384, 1), fds, threads, failed = 0;
	struct up_config cfg;

	up_config_init(&cfg);
	adjust(&cfg);
	cfg.backend = b;
	cfg.flags = h_flags;
	cfg.swap_dir = h_dir();
	fds = h_fd_count();
	threads = (int)h_status("Threads");
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		for (unsigned after = 0; after < 6; after++) {
			struct up_pager *p = NULL;
			void *map = NULL;
			int r1, r2 = 0;

			up__sys_fail(calls[c], after, 1, ENOMEM);
			r1 = up_pager_open(&p, &cfg);
			if (!r1)
				r2 = up_pager_map(p, NULL, 4 * 16384, PROT_READ | PROT_WRITE,
						  MAP_SHARED, fd, 0, &map);
			if (!r1 && !r2)
				r2 = up_pager_map(p, NULL, 4 * 16384, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &map);
			up__sys_fail(calls[c], 0, 0, 0);
			failed += r1 || r2;
			CHECK(r1 <= 0 && r1 > -4096 && r2 <= 0 && r2 > -4096);
			if (!r1)
				CHECK_OK(up_pager_close(p));
			CHECK_EQ(h_fd_count(), fds);
			CHECK_EQ(h_threads_settle(threads), threads);
		}
	}
	printf("setup: %d of %d injected failures surfaced as errors\n", failed,
	       (int)(6 * sizeof(calls) / sizeof(calls[0])));
	CHECK(failed > 0);
	close(fd);
}

/* A pager closed while every write of its own would fail: the stores are
 * the page cache's, and close has nothing to lose. */
static void close_full(enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);
	struct up_pager *p = h_open(b, adjust);
	char *sh = p ? h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			     0)
		     : NULL;

	if (sh)
		memset(sh, 'f', len);
	up__sys_fail(UP_SYS_PWRITE, 0, 1000000, ENOSPC);
	if (p)
		CHECK_OK(up_pager_close(p));
	up__sys_fail(UP_SYS_PWRITE, 0, 0, 0);
	if (sh) {
		char c = 0;

		CHECK_EQ(pread(fd, &c, 1, (off_t)len - 1), 1);
		CHECK_EQ(c, 'f');
	}
	close(fd);
}

/* Every injected error, on a pager of the current round (h_flags). */
static void uffd_round(void)
{
	struct up_pager *p;
	int fds, threads;

	if (!h_backend_usable(UP_BACKEND_UFFD))
		return;
	if ((p = h_open(UP_BACKEND_UFFD, adjust)))	/* warm up (sanitizers) */
		CHECK_OK(up_pager_close(p));
	fds = h_fd_count();
	threads = (int)h_status("Threads");
	if ((p = h_open(UP_BACKEND_UFFD, adjust))) {
		read_error(p);
		truncated(p);
		write_error(p);
		unmap_full(p);
		CHECK_OK(up_pager_close(p));
	}
	if ((p = h_open(UP_BACKEND_UFFD, small_budget))) {
		swap_read_error(p);
		written_read_error(p);
		evict_error(p);
		CHECK_OK(up_pager_close(p));
	}
	if ((p = h_open(UP_BACKEND_UFFD, small_budget_moved))) {
		evict_error(p);
		CHECK_OK(up_pager_close(p));
	}
	close_full(UP_BACKEND_UFFD);
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(h_threads_settle(threads), threads);
	setup_errors(UP_BACKEND_UFFD);
}

/* The signals backend reads and writes through the kernel's mapping, which
 * raises SIGBUS itself where a read fails and whose msync(2) reports the
 * write-back's errors: what the pager adds there is its own setup, and
 * truncation under its guards. */
static void signals_round(void)
{
	struct up_pager *p;
	int fds;

	if (!h_backend_usable(UP_BACKEND_SIGNALS))
		return;
	fds = h_fd_count();
	if ((p = h_open(UP_BACKEND_SIGNALS, adjust))) {
		truncated(p);
		CHECK_OK(up_pager_close(p));
	}
	if ((p = h_open(UP_BACKEND_SIGNALS, small_budget))) {
		truncated(p);
		CHECK_OK(up_pager_close(p));
	}
	close_full(UP_BACKEND_SIGNALS);
	CHECK_EQ(h_fd_count(), fds);
	setup_errors(UP_BACKEND_SIGNALS);
}

int main(void)
{
	struct up_pager *p;

	uffd_round();
	h_flags = UP_CONFIG_FAULT_INLINE;	/* faults served inline */
	uffd_round();
	h_flags = 0;
	signals_round();
	if (!h_backend_usable(UP_BACKEND_UFFD) &&
	    !h_backend_usable(UP_BACKEND_SIGNALS))
		SKIP("fault injection needs a pager backend");
	/* truncation is not injected: the kernel backend must agree */
	if (h_backend_usable(UP_BACKEND_KERNEL) &&
	    (p = h_open(UP_BACKEND_KERNEL, adjust))) {
		truncated(p);
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
