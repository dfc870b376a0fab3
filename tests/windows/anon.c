/* anon.c - anonymous mappings on Windows, on each backend: zero-filled, private and shared, large ones, MAP_POPULATE, MADV_DONTNEED and MADV_FREE, MAP_FIXED and MAP_FIXED_NOREPLACE. */
#include "harness.h"

static int all_zero(const char *m, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (m[i])
			return 0;
	return 1;
}

static void zero_filled(struct up_pager *p, int type, int more)
{
	size_t len = 16 * H_MIB + H_PAGE;
	char *m = NULL;

	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      type | MAP_ANONYMOUS | more, -1, 0,
			      (void **)&m));
	if (!m)
		return;
	CHECK(all_zero(m, len));
	for (size_t i = 0; i < len; i += H_PAGE)
		m[i] = (char)(i / H_PAGE);
	for (size_t i = 0; i < len; i += H_PAGE)
		if (m[i] != (char)(i / H_PAGE)) {
			H_FAIL("page %zu lost its byte", i / H_PAGE);
			break;
		}
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, len));
}

static void dontneed(struct up_pager *p)
{
	char *m = NULL, *s = NULL;

	CHECK_OK(up_pager_map(p, NULL, 8 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			      (void **)&m));
	CHECK_OK(up_pager_map(p, NULL, 8 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0, (void **)&s));
	if (!m || !s)
		return;
	memset(m, 'x', 8 * H_PAGE);
	memset(s, 'y', 8 * H_PAGE);
	/* Private anonymous pages read zero again, the rest keep theirs. */
	CHECK_OK(up_pager_advise(p, m + 2 * H_PAGE, 3 * H_PAGE, MADV_DONTNEED));
	CHECK(all_zero(m + 2 * H_PAGE, 3 * H_PAGE));
	CHECK_EQ(m[2 * H_PAGE - 1], 'x');
	CHECK_EQ(m[5 * H_PAGE], 'x');
	m[3 * H_PAGE] = 'z';		/* writable as before */
	CHECK_EQ(m[3 * H_PAGE], 'z');
	CHECK_OK(up_pager_advise(p, s, 8 * H_PAGE, MADV_DONTNEED));
	CHECK_EQ(s[4 * H_PAGE], 'y');
	/* MADV_FREE: the bytes or zeros; private anonymous memory only. */
	CHECK_OK(up_pager_advise(p, m, H_PAGE, MADV_FREE));
	CHECK(m[0] == 'x' || m[0] == 0);
	CHECK_EQ(up_pager_advise(p, s, H_PAGE, MADV_FREE), -EINVAL);
	CHECK_OK(up_pager_advise(p, m, 8 * H_PAGE, MADV_WILLNEED));
	CHECK_OK(up_pager_advise(p, m, 8 * H_PAGE, MADV_SEQUENTIAL));
	CHECK_OK(up_pager_advise(p, m, 8 * H_PAGE, MADV_POPULATE_WRITE));
	CHECK_EQ(m[3 * H_PAGE], 'z');
	CHECK_OK(up_pager_unmap(p, m, 8 * H_PAGE));
	CHECK_OK(up_pager_unmap(p, s, 8 * H_PAGE));
}

static void fixed(struct up_pager *p)
{
	char *m = NULL, *f = NULL;

	CHECK_OK(up_pager_map(p, NULL, 4 * H_GRAN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			      (void **)&m));
	if (!m)
		return;
	CHECK_EQ((uintptr_t)m % H_GRAN, 0);
	m[0] = 'o';
	CHECK_EQ(up_pager_map(p, m, H_GRAN, PROT_READ,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			      -1, 0, (void **)&f), -EEXIST);
	/* MAP_FIXED over part of a mapping Windows can only unmap whole. */
	CHECK_EQ(up_pager_map(p, m, H_GRAN, PROT_READ,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
			      (void **)&f), -EINVAL);
	CHECK_EQ(m[0], 'o');
	/* Over the whole of it: replaced, zero again. */
	CHECK_OK(up_pager_map(p, m, 4 * H_GRAN, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
			      (void **)&f));
	CHECK(f == m);
	CHECK_EQ(m[0], 0);
	CHECK_OK(up_pager_unmap(p, m, 4 * H_GRAN));
	CHECK_OK(up_pager_map(p, m, H_GRAN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			      -1, 0, (void **)&f));
	CHECK(f == m);
	CHECK_OK(up_pager_unmap(p, f, H_GRAN));
	/* Not at a multiple of the allocation granularity. */
	CHECK_EQ(up_pager_map(p, m + H_PAGE, H_PAGE, PROT_READ,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
			      (void **)&f), -EINVAL);
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND(b) {
		struct up_pager *p = h_open(b, NULL);

		zero_filled(p, MAP_PRIVATE, 0);
		zero_filled(p, MAP_SHARED, 0);
		zero_filled(p, MAP_PRIVATE, MAP_POPULATE);
		dontneed(p);
		fixed(p);
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
