/* syscall-readwrite: write(2) from and read(2) into mapped pages never touched before (EFAULT with inline faults and on the signals backend's file pages, until up_pager_advise(MADV_POPULATE_READ) serves them). */
#include "harness.h"

#define PAGES 16

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 65536;
	c->readahead_nr = 0;
	page = c->page_len;
}

/* Touch every system page of [m, m+len): a load, or a store of what is
 * there. */
static void touch(char *m, size_t len, int store)
{
	volatile char *v = m;

	for (size_t i = 0; i < len; i += 4096) {
		char c = v[i];

		if (store)
			v[i] = c;
	}
}

/* A write(2) from a page of ro not loaded yet and a read(2) into one of
 * rw not stored to yet both fail with EFAULT. */
static void both_efault(char *ro, char *rw, int src, int pfd[2])
{
	char small[1000];

	errno = 0;
	CHECK_EQ(write(pfd[1], ro + 3 * page + 100, sizeof(small)), -1);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(pread(src, rw + 11 * page - 50, 3 * page, 0), -1);
	CHECK_EQ(errno, EFAULT);
}

/*
 * Inline faults are served by a signal handler, which a system call
 * cannot run: it fails with EFAULT on a page not yet loaded from
 * (write(2)) or stored to (read(2)).  Once the program has touched them,
 * the calls work.
 */
static void inline_efault(char *ro, char *rw, char *an, int src, int pfd[2])
{
	both_efault(ro, rw, src, pfd);
	/* A page loaded from shows the file's page-cache pages, which the
	 * kernel writes into itself: the read stops at the next page. */
	touch(rw + 10 * page, page, 0);
	errno = 0;
	CHECK_EQ(pread(src, rw + 11 * page - 50, 3 * page, 0), 50);
	CHECK_EQ(h_pat_diff(rw + 11 * page - 50, 5, 0, 50), -1);
	errno = 0;
	CHECK_EQ(pread(src, an + page / 2, 4 * page, page), -1);
	CHECK_EQ(errno, EFAULT);
	touch(ro, PAGES * page, 0);
	touch(rw, PAGES * page, 1);
	touch(an, PAGES * page, 1);
}

/*
 * The signals backend: a file page not faulted in yet carries a guard,
 * on which a system call fails with EFAULT; MADV_POPULATE_READ through
 * the pager serves the pages first.  Anonymous memory is the kernel's.
 */
static void signals_efault(struct up_pager *p, char *ro, char *rw, int src,
			   int pfd[2])
{
	size_t len = PAGES * page;

	both_efault(ro, rw, src, pfd);
	CHECK_OK(up_pager_advise(p, ro, len, MADV_POPULATE_READ));
	CHECK_OK(up_pager_advise(p, rw, len, MADV_POPULATE_READ));
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), src = h_file(len, 5), dst = h_tmpfile();
	char *ro = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	char *rw = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *an = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = malloc(len), small[1000];
	int pfd[2];
	struct up_stats st;

	(void)b;
	if (!ro || !rw || !an || pipe(pfd))
		goto out;
	if (h_flags & UP_CONFIG_FAULT_INLINE)
		inline_efault(ro, rw, an, src, pfd);
	if (h_is_signals(p))
		signals_efault(p, ro, rw, src, pfd);
	/* write(2) from untouched pages: to a pipe, and to a file across
	 * several pages at once */
	CHECK_EQ(write(pfd[1], ro + 3 * page + 100, sizeof(small)), sizeof(small));
	CHECK_EQ(read(pfd[0], small, sizeof(small)), sizeof(small));
	CHECK_EQ(h_pat_diff(small, 1, 3 * page + 100, sizeof(small)), -1);
	CHECK_EQ(write(dst, ro + 4 * page + 7, 6 * page), 6 * page);
	CHECK_EQ(pread(dst, buf, 6 * page, 0), 6 * page);
	CHECK_EQ(h_pat_diff(buf, 1, 4 * page + 7, 6 * page), -1);
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p))
		CHECK(st.fills >= 8);

	/* read(2) into untouched pages of the shared mapping: reaches the
	 * file on msync */
	CHECK_EQ(pread(src, rw + 11 * page - 50, 3 * page, 0), 3 * page);
	CHECK_EQ(h_pat_diff(rw + 11 * page - 50, 5, 0, 3 * page), -1);
	CHECK_EQ(h_pat_diff(ro + 11 * page - 50, 5, 0, 3 * page), -1);
	CHECK_OK(up_pager_sync(p, rw, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK_EQ(h_pat_diff(buf + 11 * page - 50, 5, 0, 3 * page), -1);
	CHECK_EQ(h_pat_diff(buf, 1, 0, 11 * page - 50), -1);
	CHECK_EQ(h_pat_diff(buf + 14 * page - 50, 1, 14 * page - 50, 2 * page + 50), -1);

	/* read(2) into untouched anonymous pages, and from a pipe */
	CHECK_EQ(pread(src, an + page / 2, 4 * page, page), 4 * page);
	CHECK_EQ(h_pat_diff(an + page / 2, 5, page, 4 * page), -1);
	CHECK_EQ(an[0], 0);
	h_pat_fill(small, 6, 0, sizeof(small));
	CHECK_EQ(write(pfd[1], small, sizeof(small)), sizeof(small));
	CHECK_EQ(read(pfd[0], an + 10 * page - 10, sizeof(small)), sizeof(small));
	CHECK_EQ(h_pat_diff(an + 10 * page - 10, 6, 0, sizeof(small)), -1);
	close(pfd[0]);
	close(pfd[1]);
out:
	if (ro)
		CHECK_OK(up_pager_unmap(p, ro, len));
	if (rw)
		CHECK_OK(up_pager_unmap(p, rw, len));
	if (an)
		CHECK_OK(up_pager_unmap(p, an, len));
	free(buf);
	close(dst);
	close(src);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
