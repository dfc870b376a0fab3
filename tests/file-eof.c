/* file-eof: the tail past EOF reads zero and is never written, nor read by a write(2) that grows the file; pages past EOF raise SIGBUS; offsets must be aligned. */
#include "harness.h"

static size_t page, cfg_page;

static void adjust(struct up_config *c)
{
	c->page_len = cfg_page;
	page = c->page_len;
}

/* Reads and writes at addr raise SIGBUS, reported inside addr's page. */
static void expect_sigbus(char *addr, size_t span)
{
	uintptr_t a = (uintptr_t)addr;
	char v = 0;

	for (int i = 0; i < 2; i++) {	/* raised again on a second access */
		CHECK_EQ(h_access(addr, 0, &v), SIGBUS);
		if (h_sig_nr != SIGBUS)
			continue;
		CHECK(h_sig_code == BUS_ADRERR || h_sig_code == BUS_MCEERR_AR);
		CHECK((uintptr_t)h_sig_addr + span > a &&
		      (uintptr_t)h_sig_addr < a + span);
	}
	v = 1;
	CHECK_EQ(h_access(addr, 1, &v), SIGBUS);
}

/*
 * Bytes stored past the end of the file, then written from the mapping
 * with a write(2) that makes the file longer: the file gets what the
 * kernel's mmap(2) gives in the same run.  (The kernel clears the tail
 * as the file grows; whether the copy from the mapping reads the bytes
 * before or after that depends on whether the page before them is
 * mapped: a store maps its own page alone.)
 */
static void grow_from_tail(struct up_pager *p)
{
	char got[2][20];

	for (int k = 0; k < 2; k++) {
		int fd = h_file(4097, 3);
		char *m = k ? h_map(p, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
			    : mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		memset(got[k], 0x11, sizeof(got[k]));
		if (m && m != MAP_FAILED) {
			memset(m + 4096, 0xa2, 7);
			CHECK_EQ(pwrite(fd, m + 4086, 20, 15769), 20);
			CHECK_EQ(pread(fd, got[k], 20, 15769), 20);
			if (k)
				CHECK_OK(up_pager_unmap(p, m, 8192));
			else
				munmap(m, 8192);
		}
		close(fd);
	}
	CHECK(memcmp(got[0], got[1], sizeof(got[0])) == 0);
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t flen = 5 * page + 1000, tail_end = (flen + 4095) & ~(size_t)4095;
	size_t mlen = 8 * page;
	int fd = h_file(flen, 1);
	char *map = h_map(p, flen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *big = h_map(p, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *priv = h_map(p, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	void *out = NULL;
	struct h_model m;
	int zero = 1;

	(void)b;
	grow_from_tail(p);
	h_model_init(&m, fd);
	if (!map || !big || !priv)
		goto out;
	CHECK_EQ(h_pat_diff(map, 1, 0, flen), -1);
	for (size_t i = flen; i < tail_end; i++)
		zero &= map[i] == 0 && big[i] == 0 && priv[i] == 0;
	CHECK(zero);

	/* write the last file bytes and the tail; only the former count */
	memset(map + flen - 10, 0x5a, 10);
	h_model_write(&m, (off_t)flen - 10, map + flen - 10, 10);
	memset(map + flen, 0xee, tail_end - flen);
	memset(big + flen + 1, 0xdd, tail_end - flen - 1);
	memset(priv + flen, 0xcc, tail_end - flen);
	CHECK_EQ(big[flen - 1], 0x5a);
	CHECK_OK(up_pager_sync(p, map, flen, MS_SYNC));
	CHECK_OK(up_pager_sync(p, big, mlen, MS_SYNC));
	CHECK_EQ(h_file_len(fd), flen);
	h_files_equal(fd, m.fd);

	/* pages wholly past EOF raise SIGBUS, shared and private alike */
	expect_sigbus(big + 6 * page, page);
	expect_sigbus(big + 7 * page + 123, page);
	expect_sigbus(priv + 6 * page + 1, page);
	if (page == 4096)
		expect_sigbus(big + tail_end, page);
	/* the rest of the mapping still works */
	CHECK_EQ(big[3], map[3]);
	CHECK_EQ(h_pat_diff(priv, 1, 0, flen - 10), -1);

	/* past EOF as it was when mapped: SIGBUS, but no -EIO */
	CHECK_OK(up_pager_sync(p, big, mlen, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, map, flen));
	map = NULL;
	CHECK_OK(up_pager_unmap(p, big, mlen));
	big = NULL;
	CHECK_EQ(h_file_len(fd), flen);
	h_files_equal(fd, m.fd);

	/* off must be a multiple of the system page size */
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, fd, 100, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, fd, 2048, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4097, &out), -EINVAL);
	/* ... but need not be one of the pager's page */
	out = h_map(p, 3 * 4096, PROT_READ, MAP_SHARED, fd, 4096);
	if (out) {
		CHECK_EQ(h_pat_diff(out, 1, 4096, 3 * 4096), -1);
		CHECK_OK(up_pager_unmap(p, out, 3 * 4096));
	}
out:
	if (map)
		CHECK_OK(up_pager_unmap(p, map, flen));
	if (big)
		CHECK_OK(up_pager_unmap(p, big, mlen));
	if (priv)
		CHECK_OK(up_pager_unmap(p, priv, mlen));
	close(m.fd);
	close(fd);
}

/*
 * A store past the end of the file, in the page that holds the end, is
 * seen by every shared mapping of that page, and stays there after
 * msync(MS_SYNC) through a mapping made through a descriptor open for
 * reading only, which the kernel writes nothing out through.  The
 * kernel's mmap and up_mmap() must agree.
 */
static void tail_kept(void)
{
	void *(*mm[2])(void *, size_t, int, int, int, off_t) = { mmap, up_mmap };
	int (*ms[2])(void *, size_t, int) = { msync, up_msync };
	int (*mu[2])(void *, size_t) = { munmap, up_munmap };
	size_t pg = 4096;
	int fd = h_file(pg + 1, 14), ro = h_reopen(fd, O_RDONLY);
	char got[2];

	for (int k = 0; k < 2; k++) {
		char *r = mm[k](NULL, 2 * pg, PROT_READ, MAP_SHARED, ro, 0);
		char *w = mm[k](NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
				fd, 0);

		CHECK(r != MAP_FAILED && w != MAP_FAILED);
		if (r == MAP_FAILED || w == MAP_FAILED)
			return;
		w[pg + 100] = (char)(61 + k);
		CHECK_EQ(r[pg + 100], 61 + k);
		CHECK_OK(ms[k](r, 2 * pg, MS_SYNC | MS_INVALIDATE));
		got[k] = r[pg + 100];
		CHECK_EQ(h_file_len(fd), (off_t)pg + 1);
		mu[k](r, 2 * pg);
		mu[k](w, 3 * pg);
	}
	CHECK_EQ(got[0], 61);
	CHECK_EQ(got[1], 62);
	close(ro);
	close(fd);
}

/*
 * MADV_DONTNEED lets go of the page that holds the end of the file, with
 * the bytes stored past the end still in the page cache; a write(2) from
 * the mapping that makes the file longer then reads what the kernel's
 * mmap(2) reads there in the same run.
 */
static void tail_let_go(void)
{
	void *(*mm[2])(void *, size_t, int, int, int, off_t) = { mmap, up_mmap };
	int (*ma[2])(void *, size_t, int) = { madvise, up_madvise };
	int (*mu[2])(void *, size_t) = { munmap, up_munmap };
	size_t pg = 4096;
	char got[2][64];

	for (int k = 0; k < 2; k++) {
		int fd = h_file(pg + 1, 16);
		char *m = mm[k](NULL, 2 * pg, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);

		CHECK(m != MAP_FAILED);
		if (m == MAP_FAILED)
			return;
		memset(m + pg + 800, 0xb1, 22);
		CHECK_OK(ma[k](m + pg, pg, MADV_DONTNEED));
		CHECK_EQ(pwrite(fd, m + pg - 200, 2000, 3 * pg), 2000);
		CHECK_EQ(pread(fd, got[k], sizeof(got[k]), 3 * pg + 990),
			 sizeof(got[k]));
		mu[k](m, 2 * pg);
		close(fd);
	}
	CHECK(memcmp(got[0], got[1], sizeof(got[0])) == 0);
}

int main(void)
{
	static const size_t pages[] = { 4096, 16384 };

	for (size_t i = 0; i < 2; i++) {
		cfg_page = pages[i];
		printf("page_len %zu\n", cfg_page);
		FOR_EACH_BACKEND(adjust, body);
	}
	tail_kept();
	tail_let_go();
	h_done();
}
