/* solo-borrow: pages of a shared file mapping (64 KiB pager pages and up; here 512 KiB and 2 MiB) are the kernel's page-cache pages, holes included: they show the file's changes at once (and a writable mapping's stores are in the file at once, ending as pwrite on a copy), stay within the budget, fault again once evicted (never showing anything but the file to other threads), are absent in a child, and raise SIGBUS when truncated (msync then returns 0, as the kernel's does) or unreadable (EIO). */
#include "harness.h"
#include "up-sys.h"

#include <linux/magic.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/statfs.h>

#define PAGES 16

static size_t page;

/* Pages are mapped from the page cache from 512 KiB up. */
static void adjust(struct up_config *c)
{
	c->page_len = 512u << 10;
	c->budget = 4 * c->page_len;	/* a quarter of the file */
	c->readahead_nr = 1;
	page = c->page_len;
}

static void adjust_2m(struct up_config *c)
{
	adjust(c);
	c->page_len = UP_PAGE_MAX;
	c->budget = 4 * c->page_len;
	page = c->page_len;
}

/* Does p map page-cache pages (its note says so)?  Then, as with the
 * kernel's mmap, the mapping is the file's own memory. */
static int borrows(struct up_pager *p)
{
	return strstr(up_pager_note(p), "page-cache pages") != NULL ||
	       h_is_signals(p);
}

/* A change to the file by pwrite(2) shows in a page already mapped. */
static void coherent(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), q = 'Q', o;
	int at_once = borrows(p) || !h_is_uffd(p);
	off_t off = (off_t)(3 * page + 5);

	if (!m)
		return;
	o = m[off];
	CHECK_EQ(o, (char)h_pat(1, (uint64_t)off));
	CHECK_EQ(pwrite(fd, &q, 1, off), 1);
	CHECK_EQ(m[off], at_once ? 'Q' : o);
	CHECK_EQ(pwrite(fd, &o, 1, off), 1);
	CHECK_EQ(m[off], o);
	CHECK_OK(up_pager_unmap(p, m, len));
}

/* 4 KiB pages of [m, m + len) that mincore(2) sees in memory (for a file
 * mapping: in the page cache), or -1. */
static long in_core(char *m, size_t len)
{
	unsigned char vec[PAGES * (UP_PAGE_MAX / 4096)];
	size_t i, n = len / 4096;
	long c = 0;

	if (n > sizeof(vec) || mincore(m, len, vec))
		return -1;
	for (i = 0; i < n; i++)
		c += vec[i] & 1;
	return c;
}

/* Two scans through a budget a quarter of the file: the content is right,
 * no more than the budget is mapped at any time, and pages evicted in the
 * first scan fault to the pager again in the second. */
static void budget(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	struct up_stats st0, st1;
	long most = 0;

	if (!m)
		return;
	for (int scan = 0; scan < 2; scan++) {
		CHECK_OK(up_mapping_stats(p, m, &st0));
		for (size_t pg = 0; pg < PAGES; pg++) {
			long c;

			CHECK_EQ(h_pat_diff(m + pg * page, 1, pg * page, page),
				 -1);
			c = in_core(m, len);
			most = c > most ? c : most;
		}
		CHECK_OK(up_mapping_stats(p, m, &st1));
		/* the statistics say which pages are the page cache's */
		CHECK_EQ(st1.page_cache, borrows(p) ? st1.resident : 0);
		if (!h_is_uffd(p))
			continue;
		CHECK(st1.resident <= st1.budget_pages);
		/* every page but the last few was evicted and read again */
		CHECK(st1.faults_read - st0.faults_read >= PAGES / 4);
		CHECK(st1.fills - st0.fills >= PAGES - 4);
	}
	if (h_is_uffd(p))
		CHECK(most >= 1 && most <= (long)(4 * page / 4096));
	CHECK_OK(up_pager_unmap(p, m, len));
}

static char *child_map;

static void child(void *arg)
{
	(void)arg;
	/* the kernel's own mapping now, page-cache pages included */
	CHECK_EQ(child_map[page + 1], (char)h_pat(1, page + 1));
}

/* A child inherits the mapping, page-cache pages included.  Its own file:
 * after the fork, the pager leaves that file's shared mappings to the
 * kernel. */
static void forked(struct up_pager *p, size_t len)
{
	int fd = h_file(len, 1);
	char v = 'x';

	child_map = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (!child_map)
		goto out;
	CHECK_EQ(child_map[page + 1], (char)h_pat(1, page + 1));
	CHECK_EQ(h_fork(child, NULL), 0);
	/* a store is refused in the parent too, and reaches nothing */
	CHECK_EQ(h_access(child_map + page + 1, 1, &v), SIGSEGV);
	CHECK_EQ(h_pat_diff(child_map, 1, 0, len), -1);
	CHECK_OK(up_pager_unmap(p, child_map, len));
out:
	close(fd);
}

/* The file shrinks under mapped pages: past its new end they raise SIGBUS,
 * and msync and munmap then return 0, as with the kernel's mmap. */
static void truncated(struct up_pager *p, size_t len)
{
	int fd = h_file(len, 1);
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), v;
	int gone = borrows(p);

	if (!m)
		goto out;
	CHECK_EQ(h_pat_diff(m, 1, 0, 3 * page), -1);	/* mapped */
	CHECK_OK(ftruncate(fd, (off_t)page));
	CHECK_EQ(h_pat_diff(m, 1, 0, page), -1);
	if (gone || !h_is_uffd(p))
		CHECK_EQ(h_access(m + 2 * page, 0, &v), SIGBUS);
	if (gone) {
		CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
		CHECK_OK(up_pager_unmap(p, m, len));
	} else {
		up_pager_sync(p, m, len, MS_SYNC);
		up_pager_unmap(p, m, len);
	}
out:
	close(fd);
}

/* The file cannot be read: SIGBUS, never zeros; as with the kernel's
 * mmap, msync and munmap have nothing to report after. */
static void read_error(struct up_pager *p, int fd, size_t len)
{
	char *m, v;

	if (!h_is_uffd(p))
		return;		/* the kernel's reads cannot be made to fail */
	m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (!m)
		return;
	CHECK_EQ(m[0], (char)h_pat(1, 0));
	up__sys_fail(UP_SYS_PREAD, 0, 1000000, EIO);
	CHECK_EQ(h_access(m + 2 * page + 10, 0, &v), SIGBUS);
	up__sys_fail(UP_SYS_PREAD, 0, 0, 0);
	CHECK_EQ(h_pat_diff(m + 5 * page, 1, 5 * page, page), -1);
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, len));
}

struct reader {
	pthread_t t;
	const volatile char *m;
	size_t len;
	uint64_t seed;
	int reads, wrong;
};

static void *reader(void *arg)
{
	struct reader *rd = arg;

	for (int i = 0; i < rd->reads; i++) {
		size_t off = h_rand_r(&rd->seed) % rd->len;

		rd->wrong += (uint8_t)rd->m[off] != h_pat(1, off);
	}
	return NULL;
}

/* Kernel mappings (lines of /proc/self/maps) that overlap [m, m + len). */
static int maps_in(char *m, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 &&
		    a < (uintptr_t)m + len && b > (uintptr_t)m)
			n++;
	fclose(f);
	return n;
}

/* Threads read at random through a budget a quarter of the file, so pages
 * come and go under them: every byte read is the file's (a page being
 * put back must never show anything else, even for an instant). */
static void race(struct up_pager *p, int fd, size_t len)
{
	char *m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	struct reader rd[4];
	struct up_stats st;
	int i, n, wrong = 0;

	if (!m)
		return;
	for (i = 0; i < 4; i++) {
		rd[i] = (struct reader){ .m = m, .len = len,
					 .seed = h_rand() | 1,
					 .reads = H_TSAN ? 30 : H_SANITIZED ? 100 : 250 };
		CHECK_OK(pthread_create(&rd[i].t, NULL, reader, &rd[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(rd[i].t, NULL);
		wrong += rd[i].wrong;
	}
	CHECK_EQ(wrong, 0);
	CHECK_OK(up_mapping_stats(p, m, &st));
	if (h_is_uffd(p)) {
		CHECK(st.evictions > 0 && st.resident <= st.budget_pages);
		/* pages put back merge again: about the budget's pages and
		 * the gaps between them stay apart, however many pages were
		 * put back */
		n = maps_in(m, len);
		if (n > (int)(3 * st.budget_pages + 1))
			H_FAIL("%d mappings over %zu pages", n, len / page);
		else
			H_PASS();
	}
	CHECK_OK(up_pager_unmap(p, m, len));
}

/* Whether stores to fd's data never need disk space (ext2/3/4, tmpfs):
 * only there are a writable mapping's pages mapped from the page cache. */
static int in_place(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && (sf.f_type == EXT4_SUPER_MAGIC ||
					 sf.f_type == TMPFS_MAGIC);
}

/*
 * A writable mapping's whole pages are the page cache's too: a store is in
 * the file at once (pread(2) sees it), pages come and go within the budget
 * as a sequential writer and random writes pass through, and the file ends
 * as pwrite(2) on a copy leaves it, through msync, eviction, MADV_DONTNEED,
 * a change of protection (which turns the mapping into shared memory) and
 * unmap.
 */
static void writable(struct up_pager *p, size_t len)
{
	int fd = h_file(len, 1), ops = H_TSAN ? 20 : H_SANITIZED ? 60 : 150;
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int at_once = (borrows(p) && in_place(fd)) || !h_is_uffd(p);
	char buf[8192], got[8192];
	struct h_model md;
	struct up_stats st;

	if (!m)
		goto out;
	h_model_init(&md, fd);
	/* the program's file offset is its own: faults never move it */
	CHECK_EQ(lseek(fd, 12345, SEEK_SET), 12345);
	/* a sequential overwrite, 4 KiB at a time, twice the budget */
	for (size_t off = 0; off < len; off += sizeof(buf) / 2) {
		for (size_t k = 0; k < sizeof(buf) / 2; k++)
			buf[k] = (char)h_pat(2, off + k);
		memcpy(m + off, buf, sizeof(buf) / 2);
		h_model_write(&md, (off_t)off, buf, sizeof(buf) / 2);
	}
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	h_files_equal(fd, md.fd);
	CHECK_OK(up_mapping_stats(p, m, &st));
	CHECK_EQ(st.page_cache,
		 (at_once && h_is_uffd(p)) || h_is_signals(p) ? st.resident : 0);
	CHECK_EQ(st.dirty, 0);	/* the kernel's to track */
	for (int op = 0; op < ops; op++) {
		size_t off = h_below(len), n = 1 + h_below(sizeof(buf));
		size_t pg = h_below(PAGES);

		n = n < len - off ? n : len - off;
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)h_rand();
		memcpy(m + off, buf, n);
		h_model_write(&md, (off_t)off, buf, n);
		if (at_once) {
			CHECK_EQ(pread(fd, got, n, (off_t)off), (ssize_t)n);
			if (memcmp(got, buf, n)) {
				H_FAIL("op %d: a store at %zu is not in the file",
				       op, off);
				break;
			}
		}
		switch (op % 16) {
		case 3:
			CHECK_OK(up_pager_sync(p, m + pg * page, page,
					       MS_ASYNC));
			break;
		case 7:
			CHECK_OK(up_pager_advise(p, m + pg * page, page,
						 MADV_DONTNEED));
			break;
		case 11:
			CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
			break;
		}
		if (h_is_uffd(p)) {
			CHECK_OK(up_mapping_stats(p, m, &st));
			if (st.resident > st.budget_pages) {
				H_FAIL("op %d: %llu pages resident", op,
				       (unsigned long long)st.resident);
				break;
			}
		}
	}
	h_model_check(m, &md, 0, len);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12345);
	CHECK_OK(up_pager_protect(p, m, len, PROT_READ));
	h_model_check(m, &md, 0, len);
	CHECK_OK(up_pager_unmap(p, m, len));
	h_files_equal(fd, md.fd);
	close(md.fd);
out:
	close(fd);
}

/*
 * A page with a hole is mapped from the page cache too, as the kernel's
 * mmap maps it: a store to a sparse file is in the file at once (and on a
 * full disk raises SIGBUS, as with the kernel).
 */
static void sparse(struct up_pager *p, size_t len)
{
	int fd = h_tmpfile();
	char *m, got = 'x';
	struct up_stats st;

	CHECK_OK(ftruncate(fd, (off_t)len));
	m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!m)
		goto out;
	m[2 * page + 7] = 'S';
	CHECK_EQ(pread(fd, &got, 1, (off_t)(2 * page + 7)), 1);
	CHECK_EQ(got, 'S');
	CHECK_OK(up_mapping_stats(p, m, &st));
	CHECK_EQ(st.page_cache, h_is_uffd(p) || h_is_signals(p) ? 1 : 0);
	CHECK_EQ(st.dirty, 0);
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_EQ(pread(fd, &got, 1, (off_t)(2 * page + 7)), 1);
	CHECK_EQ(got, 'S');
	CHECK_OK(up_pager_unmap(p, m, len));
out:
	close(fd);
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1);

	(void)b;
	/* Wherever pages are moved in whole (UFFDIO_MOVE), these are mapped
	 * from the page cache. */
	if (strstr(up_pager_note(p), "use moved frames"))
		CHECK(borrows(p));
	coherent(p, fd, len);
	budget(p, fd, len);
	forked(p, len);
	truncated(p, len);
	read_error(p, fd, len);
	race(p, fd, len);
	writable(p, len);
	sparse(p, len);
	close(fd);
}

int main(void)
{
	h_seed();
	FOR_EACH_BACKEND(adjust, body);
	FOR_EACH_BACKEND(adjust_2m, body);
	h_done();
}
