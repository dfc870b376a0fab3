/* file-shared.c - MAP_SHARED file mappings on Windows, on each backend: stores reach the file at msync, the file's writes show in the mapping (kernel), offsets inside the 64 KiB granularity, two mappings share pages, read-only files, the file's last page. */
#include "harness.h"

#define LEN (H_MIB + 12345)

/* Map [off, LEN) at each offset, store at random, msync: the file must be
 * the model, which got the same stores. */
static void stores_reach_file(struct up_pager *p)
{
	static const size_t offs[] = { 0, H_PAGE, H_GRAN - H_PAGE, H_GRAN,
				       H_GRAN + 3 * H_PAGE, 5 * H_GRAN };
	uint8_t *model = malloc(LEN);
	int fd = h_file(LEN, 1, _O_RDWR, NULL);

	h_pat_fill(model, 1, 0, LEN);
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		size_t off = offs[k], len = LEN - off;
		uint8_t *m = NULL;

		CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
				      MAP_SHARED, fd, (off_t)off,
				      (void **)&m));
		if (!m)
			continue;
		CHECK(!memcmp(m, model + off, len));
		for (int i = 0; i < 1000; i++) {
			size_t at = (size_t)h_below(len);
			uint8_t v = (uint8_t)h_rand();

			m[at] = v;
			model[off + at] = v;
		}
		CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
		CHECK(h_same_as_file(model, fd, 0, LEN));
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	_close(fd);
	free(model);
}

/* A write to the file shows in the mapping at once, and a store in the
 * file's read at once (one cache). */
static void coherent(struct up_pager *p)
{
	int fd = h_file(4 * H_GRAN, 2, _O_RDWR, NULL);
	char *m = NULL, buf[16];

	CHECK_OK(up_pager_map(p, NULL, 3 * H_GRAN, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, (off_t)H_GRAN, (void **)&m));
	if (!m)
		return;
	CHECK_EQ(h_pwrite(fd, "written", 7, (int64_t)H_GRAN + 100), 0);
	CHECK(!memcmp(m + 100, "written", 7));
	memcpy(m + 5000, "stored", 6);
	CHECK_EQ(h_pread(fd, buf, 6, (int64_t)H_GRAN + 5000), 0);
	CHECK(!memcmp(buf, "stored", 6));
	CHECK_OK(up_pager_unmap(p, m, 3 * H_GRAN));
	_close(fd);
}

/* Two mappings of one file, at offsets a page apart, show one page. */
static void two_mappings(struct up_pager *p)
{
	int fd = h_file(8 * H_PAGE, 3, _O_RDWR, NULL);
	char *a = NULL, *b = NULL;

	CHECK_OK(up_pager_map(p, NULL, 8 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&a));
	CHECK_OK(up_pager_map(p, NULL, 4 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, (off_t)H_PAGE, (void **)&b));
	if (!a || !b)
		return;
	CHECK(a != b);
	b[10] = 'x';
	CHECK_EQ(a[H_PAGE + 10], 'x');
	a[2 * H_PAGE] = 'y';
	CHECK_EQ(b[H_PAGE], 'y');
	CHECK_OK(up_pager_unmap(p, b, 4 * H_PAGE));
	CHECK_EQ(a[H_PAGE + 10], 'x');
	CHECK_OK(up_pager_unmap(p, a, 8 * H_PAGE));
	_close(fd);
}

/* A file open for reading: shown, never written. */
static void read_only(struct up_pager *p)
{
	const char *path;
	int fd = h_file(3 * H_PAGE, 4, _O_RDONLY, &path);
	char *m = NULL, c = 'w';
	uint8_t want[3 * H_PAGE];

	h_pat_fill(want, 4, 0, sizeof(want));
	CHECK_EQ(up_pager_map(p, NULL, 3 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m), -EACCES);
	CHECK_OK(up_pager_map(p, NULL, 3 * H_PAGE, PROT_READ, MAP_SHARED, fd,
			      0, (void **)&m));
	if (!m)
		return;
	CHECK(!memcmp(m, want, sizeof(want)));
	CHECK_EQ(up_pager_protect(p, m, H_PAGE, PROT_READ | PROT_WRITE),
		 -EACCES);
	CHECK_EQ(h_access(m, 1, &c), EXCEPTION_ACCESS_VIOLATION);
	CHECK(h_fault_addr == m);
	CHECK_OK(up_pager_sync(p, m, 3 * H_PAGE, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, 3 * H_PAGE));
	CHECK(h_same_as_file(want, fd, 0, sizeof(want)));
	_close(fd);
}

/* The file's last page is shown whole, zero past the end; a mapping past
 * that page is refused (Windows cannot show it). */
static void last_page(struct up_pager *p)
{
	size_t len = 2 * H_PAGE + 100;
	int fd = h_file(len, 5, _O_RDWR, NULL);
	char *m = NULL;
	int zero = 1;

	CHECK_EQ(up_pager_map(p, NULL, 4 * H_PAGE, PROT_READ, MAP_SHARED, fd,
			      0, (void **)&m), -ENXIO);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, fd,
			      (off_t)(3 * H_PAGE), (void **)&m), -ENXIO);
	CHECK_OK(up_pager_map(p, NULL, 3 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (!m)
		return;
	CHECK_EQ((uint8_t)m[len - 1], h_pat(5, len - 1));
	for (size_t i = len; i < 3 * H_PAGE; i++)
		zero &= !m[i];
	CHECK(zero);
	m[len + 10] = 'z';	/* past the end: never written */
	m[len - 1] = 'e';
	CHECK_OK(up_pager_sync(p, m, 3 * H_PAGE, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, 3 * H_PAGE));
	CHECK_EQ(_lseeki64(fd, 0, SEEK_END), (long long)len);
	{
		char c = 0;

		CHECK_EQ(h_pread(fd, &c, 1, (int64_t)len - 1), 0);
		CHECK_EQ(c, 'e');
	}
	_close(fd);
}

/* The drop-in API: the same through the default pager, POSIX errors. */
static void drop_in(void)
{
	int fd = h_file(2 * H_GRAN, 6, _O_RDWR, NULL);
	char *m = up_mmap(NULL, H_GRAN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  (off_t)H_GRAN);
	char buf[4];

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	CHECK_EQ((uint8_t)m[0], h_pat(6, H_GRAN));
	memcpy(m + 4, "drop", 4);
	CHECK_EQ(up_msync(m, H_GRAN, MS_SYNC), 0);
	CHECK_EQ(h_pread(fd, buf, 4, (int64_t)H_GRAN + 4), 0);
	CHECK(!memcmp(buf, "drop", 4));
	CHECK_EQ(up_msync(m, H_GRAN, MS_SYNC | MS_ASYNC), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_munmap(m, H_GRAN), 0);
	CHECK(up_mmap(NULL, H_GRAN, PROT_READ, MAP_SHARED, 999, 0) ==
	      MAP_FAILED);
	CHECK_EQ(errno, EBADF);
	_close(fd);
}

int main(void)
{
	enum up_backend b;

	h_seed();
	FOR_EACH_BACKEND(b) {
		struct up_pager *p = h_open(b, NULL);

		stores_reach_file(p);
		/* The trap backend's pages are copies, as on Linux. */
		if (!h_is_trap(p))
			coherent(p);
		two_mappings(p);
		read_only(p);
		last_page(p);
		CHECK_OK(up_pager_close(p));
	}
	drop_in();
	h_done();
}
