/*
 * budget-cache: the budget bounds the memory the system spends on a
 * mapping, the kernel's page cache included.  After a sequential read of
 * a file eight times the budget, and after a sequential write of it (with
 * msync), the file has no more than twice the budget in the page cache
 * (mincore, as fincore(1) counts it), and every byte is right.  Random
 * faults on a file that is not in the page cache read the pages the pager
 * asks for, not the kernel's read-around of each (which filled a memory
 * cgroup with what no one asked for), and random faults over all of it
 * leave no more than twice the budget cached either.
 */
#include "harness.h"

#define BUDGET ((H_SANITIZED ? 4 : 16) * H_MIB)
#define LEN (8 * BUDGET)

static void adjust(struct up_config *c)
{
	c->budget = BUDGET;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 5);
	size_t in;
	char *m;

	(void)b;
	m = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!m)
		return;
	for (size_t off = 0; off < LEN; off += 4096)
		CHECK_EQ(h_pat_diff(m + off, 5, off, 4096), -1);
	in = h_cached(fd, LEN);
	printf("%s: after a read of %zu MiB through %zu MiB: %zu MiB cached\n",
	       h_ctx, LEN / H_MIB, BUDGET / H_MIB, in / H_MIB);
	if (h_is_uffd(p))
		CHECK(in <= 2 * BUDGET);

	/* Every word becomes that of pattern 6. */
	for (size_t off = 0; off < LEN; off += 8) {
		uint64_t w = 0;

		for (int i = 0; i < 8; i++)
			w |= (uint64_t)h_pat(6, off + (size_t)i) << (8 * i);
		*(uint64_t *)(m + off) = w;
	}
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	in = h_cached(fd, LEN);
	printf("%s: after a write: %zu MiB cached\n", h_ctx, in / H_MIB);
	if (h_is_uffd(p))
		CHECK(in <= 2 * BUDGET);
	CHECK_OK(up_pager_unmap(p, m, LEN));

	/* What the file holds, read with pread. */
	{
		char *buf = malloc(H_MIB);

		for (size_t off = 0; buf && off < LEN; off += H_MIB) {
			CHECK_EQ(pread(fd, buf, H_MIB, (off_t)off),
				 (ssize_t)H_MIB);
			CHECK_EQ(h_pat_diff(buf, 6, off, H_MIB), -1);
		}
		free(buf);
	}
	/* Random faults on the file, out of the page cache. */
	CHECK_OK(fdatasync(fd));
	CHECK_OK(posix_fadvise(fd, 0, LEN, POSIX_FADV_DONTNEED));
	in = h_cached(fd, LEN);
	CHECK(in <= BUDGET / 8);
	m = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (m && h_is_uffd(p)) {
		struct up_stats ms;
		uint64_t seed = h_seed();

		CHECK_OK(up_pager_advise(p, m, LEN, MADV_RANDOM));
		for (int i = 0; i < 64; i++) {
			size_t off = (size_t)h_below(LEN / 4096) * 4096;

			CHECK_EQ((uint8_t)m[off], h_pat(6, off));
		}
		CHECK_OK(up_mapping_stats(p, m, &ms));
		in = h_cached(fd, LEN) - in;
		printf("%s: 64 random faults (seed %llu) read %zu KiB, "
		       "%llu pages of %llu KiB\n", h_ctx,
		       (unsigned long long)seed, in >> 10,
		       (unsigned long long)ms.fills,
		       (unsigned long long)(ms.page_len >> 10));
		CHECK(in <= 2 * ms.fills * ms.page_len);

		/* Random faults on most of the file, each page evicted
		 * alone: what they leave in the page cache goes too. */
		for (int i = 0; i < (int)(2 * LEN / ms.page_len); i++) {
			size_t off = (size_t)h_below(LEN / 4096) * 4096;

			CHECK_EQ((uint8_t)m[off], h_pat(6, off));
		}
		in = h_cached(fd, LEN);
		printf("%s: after random faults over the file: %zu MiB "
		       "cached\n", h_ctx, in / H_MIB);
		CHECK(in <= 2 * BUDGET);
	}
	if (m)
		CHECK_OK(up_pager_unmap(p, m, LEN));
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
