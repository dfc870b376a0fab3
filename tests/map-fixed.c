/* map-fixed: MAP_FIXED replaces part of a mapping after writing it back; MAP_FIXED_NOREPLACE refuses with -EEXIST. */
#include "harness.h"
#include "up-sys.h"

#define PAGES 16

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	page = c->page_len;
}

static int fixed(struct up_pager *p, void *addr, size_t len, int flags, int fd,
		 off_t off)
{
	void *out = NULL;
	int r = up_pager_map(p, addr, len, PROT_READ | PROT_WRITE, flags, fd,
			     off, &out);

	if (!r && out != addr)
		H_FAIL("MAP_FIXED at %p mapped at %p", addr, out);
	return r;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fa = h_file(len, 1), fb = h_file(len, 2);
	char *a = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	char *res, *buf = malloc(len);
	struct h_model ma, mb;

	(void)b;
	h_model_init(&ma, fa);
	h_model_init(&mb, fb);
	if (!a)
		goto out;
	/* dirty pages 4..7 and 10 of a, then map b over 4..7, anon over 10 */
	h_pat_fill(a + 4 * page, 3, 4 * page, 4 * page);
	h_model_write(&ma, 4 * (off_t)page, a + 4 * page, 4 * page);
	a[10 * page + 1] = 'z';
	h_model_write(&ma, 10 * (off_t)page + 1, "z", 1);
	CHECK_OK(fixed(p, a + 4 * page, 4 * page, MAP_SHARED | MAP_FIXED, fb,
		       2 * (off_t)page));
	CHECK_OK(fixed(p, a + 10 * page, page,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	CHECK_EQ(pread(fa, buf, len, 0), len);	/* written back first */
	CHECK_EQ(h_pat_diff(buf + 4 * page, 3, 4 * page, 4 * page), -1);
	CHECK_EQ(buf[10 * page + 1], 'z');
	CHECK_EQ(h_pat_diff(a + 4 * page, 2, 2 * page, 4 * page), -1);
	CHECK_EQ(a[10 * page + 1], 0);
	CHECK_EQ(h_pat_diff(a, 1, 0, 4 * page), -1);
	CHECK_EQ(h_pat_diff(a + 11 * page, 1, 11 * page, 5 * page), -1);
	/* the pieces write to their own files */
	a[5 * page] = 'b';
	h_model_write(&mb, 3 * (off_t)page, "b", 1);
	a[12 * page] = 'a';
	h_model_write(&ma, 12 * (off_t)page, "a", 1);
	a[10 * page] = 'n';	/* anonymous: nowhere */

	/* NOREPLACE over a mapping of ours */
	CHECK_EQ(fixed(p, a + 2 * page, page, MAP_SHARED | MAP_FIXED_NOREPLACE,
		       fa, 0), -EEXIST);
	CHECK_EQ(a[2 * page], (char)h_pat(1, 2 * page));

	/* MAP_FIXED inside a kernel mapping of our own */
	res = mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED);
	if (res != MAP_FAILED) {
		CHECK_OK(fixed(p, res + page, 4 * page, MAP_SHARED | MAP_FIXED,
			       fb, 0));
		CHECK_EQ(h_pat_diff(res + page, 2, 0, page), -1);
		CHECK(!memcmp(res + 3 * page + 100, a + 4 * page + 100, 10));
		res[page + 7] = 'r';
		h_model_write(&mb, 7, "r", 1);
		CHECK_OK(up_pager_unmap(p, res + page, 4 * page));
		munmap(res, 8 * page);
	}

	CHECK_OK(up_pager_unmap(p, a, len));
	a = NULL;
	h_files_equal(fa, ma.fd);
	h_files_equal(fb, mb.fd);

	/* the part replaced shows the file's page cache: its store is in the
	 * file already, and no write of the pager's can fail the call */
	if (h_is_uffd(p) && (a = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0))) {
		a[3 * page] = 'e';
		up__sys_fail(UP_SYS_PWRITE, 0, 1000, EIO);
		CHECK_OK(fixed(p, a + 2 * page, 2 * page, MAP_SHARED | MAP_FIXED,
			       fb, 0));
		up__sys_fail(UP_SYS_PWRITE, 0, 0, 0);
		CHECK_EQ(pread(fa, buf, 1, 3 * (off_t)page), 1);
		CHECK_EQ(buf[0], 'e');
		CHECK_EQ(h_pat_diff(a + 2 * page + 8, 2, 8, page - 8), -1);
		CHECK_EQ(h_pat_diff(a + 8 * page, 1, 8 * page, page), -1);
		a[8 * page] = 'k';
		CHECK_OK(up_pager_unmap(p, a, len));
		a = NULL;
		CHECK_EQ(pread(fa, buf, 1, 8 * (off_t)page), 1);
		CHECK_EQ(buf[0], 'k');
	}
out:
	if (a)
		CHECK_OK(up_pager_unmap(p, a, len));
	free(buf);
	close(ma.fd);
	close(mb.fd);
	close(fa);
	close(fb);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
