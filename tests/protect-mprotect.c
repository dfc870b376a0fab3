/* protect-mprotect: mprotect to READ, READ|WRITE and NONE; forbidden accesses raise SIGSEGV; -EACCES on read-only fds; the protection a mapping has already splits nothing. */
#include "harness.h"

#define PAGES 8

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 8192;
	page = c->page_len;
}

static int rd(char *a) { char v = 0; return h_access(a, 0, &v); }
static int wr(char *a, char v) { return h_access(a, 1, &v); }

struct grow_job {
	char *m;
	size_t len;
};

static void grow_child(void *arg)
{
	struct grow_job *j = arg;

	errno = 0;
	CHECK(mremap(j->m, j->len, 2 * j->len, 0) == MAP_FAILED &&
	      errno == ENOMEM);
}

/*
 * mprotect(2) to the protection a mapping has already changes nothing,
 * and splits nothing: after fork() (which gives a file mapping to the
 * kernel), the mapping is still one, whose growth in place the mapping
 * after it refuses with ENOMEM (two would be EFAULT).
 */
static void same_prot(struct up_pager *p, int fd)
{
	size_t len = 4 * page;
	struct grow_job j = { NULL, len };
	/* The mapping, and after it a page of the kernel's. */
	char *area = mmap(NULL, len + page, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *m;

	CHECK(area != MAP_FAILED);
	if (area == MAP_FAILED)
		return;
	CHECK_OK(up_pager_map(p, area, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_POPULATE | MAP_FIXED, fd, 0,
			      &m));
	j.m = m;
	CHECK_OK(up_pager_protect(p, j.m + 2 * page, 2 * page,
				  PROT_READ | PROT_WRITE));
	CHECK_EQ(h_fork(grow_child, &j), 0);
	CHECK_OK(up_pager_unmap(p, area, len));
	munmap(area + len, page);
}

static void nothing(void *arg)
{
	(void)arg;
}

/*
 * A private writable mapping made read-only in part stays one mapping
 * once all of it has one protection again, also after fork() gave it to
 * the kernel: resizing a range inside it is ENOMEM (two mappings would
 * be EFAULT).
 */
static void rejoined(struct up_pager *p, int fd)
{
	size_t len = 8 * page;
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	if (!m)
		return;
	CHECK_OK(up_pager_protect(p, m + 2 * page, 3 * page,
				  PROT_READ | PROT_EXEC));
	CHECK_EQ(h_fork(nothing, NULL), 0);
	m[page] = 'x';
	CHECK_OK(up_pager_protect(p, m, len, PROT_NONE));
	errno = 0;
	CHECK(mremap(m + 3 * page, 3 * page, 4 * page, 0) == MAP_FAILED &&
	      errno == ENOMEM);
	CHECK_OK(up_pager_unmap(p, m, len));
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), ro = h_reopen(fd, O_RDONLY);
	char *map = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *rmap = h_map(p, len, PROT_READ, MAP_SHARED, ro, 0);
	char *pmap = h_map(p, len, PROT_READ, MAP_PRIVATE, ro, 0);
	char *buf = malloc(len);
	void *out = NULL;

	(void)b;
	if (!map || !rmap || !pmap)
		goto out;
	map[0] = 'a';			/* page 0 dirty */
	map[2 * page] = 'b';		/* page 2 dirty, page 3 untouched */

	/* PROT_READ: reads work, also on untouched pages; writes fault */
	CHECK_OK(up_pager_protect(p, map, 4 * page, PROT_READ));
	CHECK_EQ(rd(map + 3 * page + 5), 0);
	CHECK_EQ(map[3 * page + 5], (char)h_pat(1, 3 * page + 5));
	CHECK_EQ(map[2 * page], 'b');
	CHECK_EQ(wr(map + 2 * page, 'x'), SIGSEGV);
	CHECK_EQ(h_sig_code, SEGV_ACCERR);
	CHECK(h_sig_addr == map + 2 * page);
	CHECK_EQ(wr(map + 1 * page + 9, 'x'), SIGSEGV);
	CHECK_EQ(wr(map + 4 * page, 'c'), 0);	/* outside the range */
	/* dirty pages under PROT_READ are still written back */
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK_EQ(buf[0], 'a');
	CHECK_EQ(buf[2 * page], 'b');
	CHECK_EQ(buf[4 * page], 'c');

	/* PROT_NONE: reads and writes fault */
	CHECK_OK(up_pager_protect(p, map + page, 2 * page, PROT_NONE));
	CHECK_EQ(rd(map + page), SIGSEGV);
	CHECK_EQ(h_sig_code, SEGV_ACCERR);
	CHECK_EQ(rd(map + 2 * page + 1), SIGSEGV);
	CHECK_EQ(wr(map + 2 * page + 1, 'y'), SIGSEGV);
	CHECK_EQ(rd(map), 0);

	/* PROT_READ|PROT_WRITE again: the data is intact, writes work */
	CHECK_OK(up_pager_protect(p, map, len, PROT_READ | PROT_WRITE));
	CHECK_EQ(map[2 * page], 'b');
	CHECK_EQ(h_pat_diff(map + page, 1, page, page), -1);
	CHECK_EQ(wr(map + 2 * page + 1, 'z'), 0);
	CHECK_EQ(wr(map + 3 * page, 'w'), 0);
	CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK_EQ(buf[2 * page + 1], 'z');
	CHECK_EQ(buf[3 * page], 'w');
	CHECK_EQ(rmap[3 * page], 'w');

	/* a shared mapping of a read-only fd cannot be made writable */
	CHECK_EQ(up_pager_protect(p, rmap, len, PROT_READ | PROT_WRITE), -EACCES);
	CHECK_EQ(wr(rmap, 'q'), SIGSEGV);
	CHECK_EQ(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			      ro, 0, &out), -EACCES);
	/* a private one can: copy-on-write, the file does not change */
	CHECK_OK(up_pager_protect(p, pmap, len, PROT_READ | PROT_WRITE));
	CHECK_EQ(wr(pmap + 5 * page, 'P'), 0);
	CHECK_EQ(pmap[5 * page], 'P');
	CHECK_EQ(rmap[5 * page], (char)h_pat(1, 5 * page));

	/* errors */
	CHECK_EQ(up_pager_protect(p, map + 1, page, PROT_READ), -EINVAL);
	CHECK_EQ(up_pager_protect(p, map, page, 0x1000), -EINVAL);
	CHECK_OK(up_pager_unmap(p, map + len - page, page));
	CHECK_EQ(up_pager_protect(p, map, len, PROT_READ), -ENOMEM);
	CHECK_OK(up_pager_unmap(p, map, len - page));
	map = NULL;
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK_EQ(buf[2 * page + 1], 'z');
out:
	if (map)
		CHECK_OK(up_pager_unmap(p, map, len));
	if (rmap)
		CHECK_OK(up_pager_unmap(p, rmap, len));
	if (pmap)
		CHECK_OK(up_pager_unmap(p, pmap, len));
	same_prot(p, fd);
	rejoined(p, fd);
	free(buf);
	close(ro);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
