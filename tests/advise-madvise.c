/* advise-madvise: WILLNEED reads ahead without faults, DONTNEED drops pages as madvise(2) does (also by the system call itself, past the library), RANDOM reads no more than a page, bad advice is -EINVAL. */
#include "harness.h"

#include <sys/syscall.h>

#define PAGES 32

static size_t page;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->readahead_nr = 0;
	page = c->page_len;
}

static void willneed(struct up_pager *p, int fd)
{
	size_t len = PAGES * page;
	char *map = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	struct up_stats st;

	if (!map)
		return;
	CHECK_OK(up_pager_advise(p, map, 16 * page, MADV_WILLNEED));
	for (int i = 0; i < 500; i++) {	/* up to 5 s */
		CHECK_OK(up_mapping_stats(p, map, &st));
		if (!h_is_uffd(p) || st.fills >= 16)
			break;
		usleep(10000);
	}
	if (h_is_uffd(p)) {
		CHECK_EQ(st.fills, 16);
		CHECK_EQ(st.resident, 16);
		CHECK_EQ(st.faults_read, 0);
		CHECK_EQ(st.faults_write, 0);
	}
	CHECK_EQ(h_pat_diff(map, 1, 0, 16 * page), -1);
	CHECK_OK(up_mapping_stats(p, map, &st));
	if (h_is_uffd(p))
		CHECK_EQ(st.fills, 16);	/* nothing read twice */
	CHECK_OK(up_pager_unmap(p, map, len));
}

/* MAP_POPULATE reads the whole range in before mmap returns, as the
 * kernel's does. */
static void populate(struct up_pager *p, int fd)
{
	size_t len = PAGES * page;
	char *map = NULL;
	struct up_stats st;
	int r = up_pager_map(p, NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE,
			     fd, 0, (void **)&map);

	CHECK_OK(r);
	if (r)
		return;
	CHECK_OK(up_mapping_stats(p, map, &st));
	if (h_is_uffd(p)) {
		CHECK_EQ(st.fills, PAGES);
		CHECK_EQ(st.resident, PAGES);
	}
	CHECK_EQ(h_pat_diff(map, 1, 0, len), -1);
	CHECK_OK(up_mapping_stats(p, map, &st));
	if (h_is_uffd(p))
		CHECK_EQ(st.fills, PAGES);	/* nothing read twice */
	CHECK_OK(up_pager_unmap(p, map, len));
}

static void dontneed(struct up_pager *p, int fd)
{
	size_t len = PAGES * page;
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *pr = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *an = h_map(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = malloc(len);
	struct up_stats st;
	int zero = 1;

	if (!sh || !pr || !an)
		goto out;
	/* shared: written data is not lost, clean data is the file's */
	h_pat_fill(sh + 2 * page, 2, 2 * page, 4 * page);
	CHECK_EQ(h_pat_diff(sh + 8 * page, 1, 8 * page, 4 * page), -1);
	CHECK_OK(up_pager_advise(p, sh, len, MADV_DONTNEED));
	CHECK_EQ(h_pat_diff(sh + 2 * page, 2, 2 * page, 4 * page), -1);
	CHECK_EQ(h_pat_diff(sh + 8 * page, 1, 8 * page, 4 * page), -1);
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK(!memcmp(buf, sh, len));
	CHECK_EQ(h_pat_diff(buf + 2 * page, 2, 2 * page, 4 * page), -1);

	/* private: changes discarded, the file shows again */
	memset(pr + page, 0x77, 3 * page);
	memset(pr + 20 * page, 0x66, 10);
	CHECK_OK(up_pager_advise(p, pr + page, 3 * page, MADV_DONTNEED));
	CHECK(!memcmp(pr + page, buf + page, 3 * page));
	CHECK_EQ(pr[20 * page], 0x66);	/* outside the range: kept */
	CHECK_OK(up_pager_advise(p, pr, len, MADV_DONTNEED));
	CHECK(!memcmp(pr, buf, len));

	/* anonymous: reads zero again */
	memset(an, 0x55, len);
	CHECK_OK(up_pager_advise(p, an + page, len - page, MADV_DONTNEED));
	CHECK_EQ(an[0], 0x55);
	for (size_t i = page; i < len; i++)
		zero &= an[i] == 0;
	CHECK(zero);
	CHECK_OK(up_pager_advise(p, an, len, MADV_DONTNEED));
	CHECK_OK(up_mapping_stats(p, an, &st));
	if (h_is_uffd(p))
		CHECK_EQ(st.resident, 0);
	CHECK_EQ(an[5], 0);
out:
	if (sh)
		CHECK_OK(up_pager_unmap(p, sh, len));
	if (pr)
		CHECK_OK(up_pager_unmap(p, pr, len));
	if (an)
		CHECK_OK(up_pager_unmap(p, an, len));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	CHECK_EQ(h_pat_diff(buf + 2 * page, 2, 2 * page, 4 * page), -1);
	free(buf);
}

/* MADV_REMOVE over a range whose second half mlock(2) locked: the kernel
 * punches the hole in the first half, then refuses the locked one. */
static void remove_locked(struct up_pager *p, int fd)
{
	size_t len = 2 * page;
	char *sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(len);
	int zero = 1;

	/* With inline faults the kernel's mlock(2), which faults the pages
	 * in, gets EFAULT (see upager(3)). */
	if (!sh || !buf || (h_flags & UP_CONFIG_FAULT_INLINE))
		goto out;
	/* The kernel's mlock(2), through the library's. */
	CHECK_OK(mlock(sh + page, page));
	CHECK_EQ(up_pager_advise(p, sh, len, MADV_REMOVE), -EINVAL);
	CHECK_EQ(pread(fd, buf, len, 0), len);
	for (size_t i = 0; i < page; i++)
		zero &= buf[i] == 0;
	CHECK(zero);
	CHECK_EQ(h_pat_diff(buf + page, 1, page, page), -1);
	CHECK_EQ(h_pat_diff(sh + page, 1, page, page), -1);
	CHECK_EQ(sh[0], 0);
	CHECK_OK((int)syscall(SYS_munlock, sh, len));
out:
	if (sh)
		CHECK_OK(up_pager_unmap(p, sh, len));
	free(buf);
}

static void hints(struct up_pager *p, int fd)
{
	size_t len = PAGES * page;
	char *map = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0), *un;
	static const int ok[] = { MADV_SEQUENTIAL, MADV_RANDOM, MADV_NORMAL };

	if (!map)
		return;
	for (int i = 0; i < 3; i++) {
		CHECK_OK(up_pager_advise(p, map, len, ok[i]));
		CHECK_EQ(h_pat_diff(map + (size_t)i * 4 * page, 1,
				    (size_t)i * 4 * page, 4 * page), -1);
	}
	CHECK_EQ(up_pager_advise(p, map, len, 12345), -EINVAL);
	CHECK_EQ(up_pager_advise(p, map, len, -1), -EINVAL);
	CHECK_EQ(up_pager_advise(p, map + 1, page, MADV_DONTNEED), -EINVAL);
	/* a range with a hole is not fully mapped */
	un = map + len - page;
	CHECK_OK(up_pager_unmap(p, un, page));
	CHECK_EQ(up_pager_advise(p, map, len, MADV_WILLNEED), -ENOMEM);
	CHECK_OK(up_pager_unmap(p, map, len - page));
}

static void body(struct up_pager *p, enum up_backend b)
{
	void (*const part[])(struct up_pager *, int) = {
		willneed, populate, dontneed, remove_locked, hints
	};

	(void)b;
	for (int i = 0; i < 5; i++) {
		int fd = h_file(PAGES * page, 1);

		part[i](p, fd);
		close(fd);
	}
}

/*
 * MADV_RANDOM: a store to a file out of the page cache reads what the
 * kernel's fault there reads, the system page touched, and a load the
 * pager's page it falls in (64 KiB: the page is what the pager reads and
 * keeps), and neither reads around it (its budget too small to show the
 * mapping whole, so that the pager serves the fault).  The kernel's own
 * mapping of the same file, in the same run, is the reference.
 */
#define RND_PAGE (64u << 10)
#define RND_LEN (64 * (size_t)RND_PAGE)

static void adjust_random(struct up_config *c)
{
	c->page_len = RND_PAGE;
	c->budget = 8 * RND_PAGE;
	c->readahead_nr = 4;
}

/* Bytes a load (or a store of the byte that is there) at off through m
 * reads into fd's page cache. */
static size_t random_read(int fd, char *m, size_t off, int store)
{
	size_t in;

	CHECK_EQ(fdatasync(fd), 0);
	CHECK_EQ(posix_fadvise(fd, 0, RND_LEN, POSIX_FADV_DONTNEED), 0);
	in = h_cached(fd, RND_LEN);
	if (store)
		m[off] = (char)h_pat(1, off);
	else
		CHECK_EQ((uint8_t)m[off], h_pat(1, off));
	return h_cached(fd, RND_LEN) - in;
}

static void random_touch(void)
{
	size_t off = 5 * RND_PAGE + 3 * 4096 + 100, stored;
	int fd = h_file(RND_LEN, 1), prot = PROT_READ | PROT_WRITE;
	char *k = mmap(NULL, RND_LEN, prot, MAP_SHARED, fd, 0);
	enum up_backend b;

	CHECK(k != MAP_FAILED);
	CHECK_EQ(madvise(k, RND_LEN, MADV_RANDOM), 0);
	CHECK(random_read(fd, k, off, 0) <= RND_PAGE);
	stored = random_read(fd, k, off + 2 * RND_PAGE, 1);
	munmap(k, RND_LEN);
	FOR_EACH_BACKEND_ID(b) {
		struct up_pager *p = h_open(b, adjust_random);
		char *m = p ? h_map(p, RND_LEN, prot, MAP_SHARED, fd, 0)
			    : NULL;

		if (m) {
			CHECK_OK(up_pager_advise(p, m, RND_LEN, MADV_RANDOM));
			CHECK(random_read(fd, m, off, 0) <= RND_PAGE);
			CHECK_EQ(random_read(fd, m, off + 2 * RND_PAGE, 1),
				 stored);
			CHECK_OK(up_pager_unmap(p, m, RND_LEN));
		}
		if (p)
			CHECK_OK(up_pager_close(p));
	}
	h_ctx = "-";
	close(fd);
}

/*
 * MADV_DONTNEED by the system call itself, past the library (as a library
 * that calls the kernel directly would), on the default pager's memory:
 * private anonymous pages read zeros after it, shared ones keep their
 * data, as the kernel's do; the access does not fault forever.
 */
static void raw_dontneed(void)
{
	size_t len = 1 << 20;

	for (int shared = 0; shared < 2; shared++) {
		char *a = up_mmap(NULL, len, PROT_READ | PROT_WRITE,
				  (shared ? MAP_SHARED : MAP_PRIVATE) |
					  MAP_ANONYMOUS,
				  -1, 0);

		CHECK(a != MAP_FAILED);
		if (a == MAP_FAILED)
			return;
		a[0] = 5;
		a[70000] = 7;
		CHECK_EQ(syscall(SYS_madvise, a, len, MADV_DONTNEED), 0);
		CHECK_EQ(a[0], shared ? 5 : 0);
		CHECK_EQ(a[70000], shared ? 7 : 0);
		a[1] = 9;
		CHECK_EQ(a[1], 9);
		CHECK_OK(up_munmap(a, len));
	}
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	random_touch();
	raw_dontneed();
	h_done();
}
