/*
 * paging-window: with the defaults, a sequential scan of a file mapping
 * takes few faults (the read-ahead window grows, as the kernel's does),
 * the kernel maps a file it holds in 2 MiB folios with 2 MiB entries in
 * upager's mapping where it does in its own (also on random faults, which
 * then map a whole 2 MiB block), a fresh mapping of a file the page
 * cache holds whole is shown whole at its first fault, and unmapping one
 * of two mappings of a file leaves the other's pages resident and right.
 */
#include "harness.h"

#define LEN ((H_SANITIZED ? 16 : 64) * H_MIB)

static int uffd;

/* Kilobytes of the file mapped with 2 MiB entries (smaps' FilePmdMapped)
 * in the mappings that lie in [a, a + len). */
static long pmd_kib(const void *a, size_t len)
{
	uintptr_t lo = (uintptr_t)a, hi = lo + len, s = 0, e = 0;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	long sum = 0, kib;

	if (!f) {
		H_FAIL("/proc/self/smaps: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long vs, ve;

		if (sscanf(line, "%lx-%lx ", &vs, &ve) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			s = vs;
			e = ve;
		} else if (sscanf(line, "FilePmdMapped: %ld kB", &kib) == 1 &&
			   s >= lo && e <= hi) {
			sum += kib;
		}
	}
	fclose(f);
	return sum;
}

static long long scan(const char *m, size_t len)
{
	for (size_t off = 0; off < len; off += 4096) {
		long long d = h_pat_diff(m + off, 3, off, 4096);

		if (d >= 0)
			return (long long)off + d;
	}
	return -1;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 3);
	struct up_stats st, ms;
	char *k, *m, *m2;
	long kpmd;

	(void)b;
	uffd = h_is_uffd(p);

	/* The kernel's own mapping, the oracle for 2 MiB entries. */
	k = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(k != MAP_FAILED);
	if (k == MAP_FAILED)
		return;
	CHECK_EQ(scan(k, LEN), -1);
	kpmd = pmd_kib(k, LEN);
	munmap(k, LEN);

	m = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (!m)
		return;
	CHECK_EQ(scan(m, LEN), -1);
	CHECK_OK(up_mapping_stats(p, m, &ms));
	if (uffd) {
		/* 1024 pages of 64 KiB: 60 faults with a window of 16
		 * pages that does not grow. */
		CHECK(ms.faults_read <= 16);
		if (ms.faults_read > 16)
			printf("%s: %llu faults for a sequential scan\n", h_ctx,
			       (unsigned long long)ms.faults_read);
		CHECK_EQ(ms.resident, LEN / ms.page_len);
	}
	if (kpmd > 0) {
		long upmd = pmd_kib(m, LEN);

		printf("%s: 2 MiB entries: kernel %ld KiB, upager %ld KiB\n",
		       h_ctx, kpmd, upmd);
		CHECK(upmd > 0);
	} else {
		printf("%s: the kernel maps this file with no 2 MiB entries "
		       "(not compared)\n", h_ctx);
	}

	/* A second mapping; the first goes: the second keeps its pages. */
	m2 = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (m2) {
		CHECK_EQ(scan(m2, LEN), -1);
		CHECK_OK(up_pager_unmap(p, m, LEN));
		/* A new mapping where the first was, touched where this
		 * thread took its last fault in the one before, on a page
		 * the second mapping keeps resident: its touch is a fault of
		 * its own (an inline pager took it for a repeat of the last
		 * one, and raised SIGBUS). */
		for (int i = 0; i < 2; i++) {
			CHECK_OK(up_pager_map(p, m, 2 * H_MIB, PROT_READ,
					      MAP_SHARED | MAP_FIXED, fd, 0,
					      (void **)&m));
			CHECK_EQ((uint8_t)m[4096], h_pat(3, 4096));
			CHECK_OK(up_pager_unmap(p, m, 2 * H_MIB));
		}
		m = NULL;
		CHECK_OK(up_mapping_stats(p, m2, &ms));
		CHECK_OK(up_pager_stats(p, &st));
		if (uffd) {
			CHECK_EQ(ms.resident, LEN / ms.page_len);
			CHECK_EQ(st.resident, LEN / st.page_len);
		}
		/* ... and reads them again with no fault. */
		CHECK_EQ(scan(m2, LEN), -1);
		CHECK_OK(up_mapping_stats(p, m2, &st));
		CHECK_EQ(st.faults_read, ms.faults_read);
		CHECK_OK(up_pager_unmap(p, m2, LEN));
	}
	if (m)
		CHECK_OK(up_pager_unmap(p, m, LEN));

	/* Random faults on a file the page cache holds all but the last
	 * block of (and half the free budget holds): the mapping shows all
	 * of it from the start, and the kernel reads the block it lacks
	 * when touched, as its own mmap(2) would; no touch is a fault of
	 * the pager's, and the cached blocks are mapped with 2 MiB entries
	 * as the kernel's fault maps a whole folio. */
	CHECK_OK(fdatasync(fd));
	CHECK_OK(posix_fadvise(fd, LEN - 2 * H_MIB, 2 * H_MIB,
			       POSIX_FADV_DONTNEED));
	m = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (m) {
		uint64_t f0;

		for (size_t blk = LEN / (2 * H_MIB); blk-- > 0;) {
			size_t off = blk * 2 * H_MIB + H_MIB + 4096;

			CHECK_EQ((uint8_t)m[off], h_pat(3, off));
		}
		CHECK_OK(up_mapping_stats(p, m, &ms));
		f0 = ms.faults_read;
		for (size_t off = 0; off < LEN - 2 * H_MIB; off += 2 * H_MIB)
			CHECK_EQ((uint8_t)m[off + 8192], h_pat(3, off + 8192));
		CHECK_OK(up_mapping_stats(p, m, &ms));
		if (uffd && kpmd > 0) {
			printf("%s: random faults: %llu, then %llu more; 2 MiB "
			       "entries %ld KiB\n", h_ctx,
			       (unsigned long long)f0,
			       (unsigned long long)(ms.faults_read - f0),
			       pmd_kib(m, LEN));
			CHECK_EQ(f0, 0);
			CHECK_EQ(ms.faults_read, f0);
			CHECK(pmd_kib(m, LEN) > 0);
		}
		CHECK_OK(up_pager_unmap(p, m, LEN));
	}

	/* A fresh mapping of a file the page cache holds whole (and half
	 * the free budget too) shows all of it from the start: every access
	 * is the kernel's own fault. */
	CHECK_EQ(scan(m2 = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0), LEN),
		 -1);
	munmap(m2, LEN);
	m = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (m) {
		CHECK_EQ((uint8_t)m[LEN / 2 + 4096], h_pat(3, LEN / 2 + 4096));
		for (size_t off = 0; off < LEN; off += 7 * 65536 + 4096)
			CHECK_EQ((uint8_t)m[off], h_pat(3, off));
		CHECK_OK(up_mapping_stats(p, m, &ms));
		if (uffd) {
			printf("%s: a mapping of a cached file: %llu faults, "
			       "%llu of %zu pages resident\n", h_ctx,
			       (unsigned long long)ms.faults_read,
			       (unsigned long long)ms.resident,
			       LEN / (size_t)ms.page_len);
			CHECK_EQ(ms.faults_read, 0);
			CHECK_EQ(ms.resident, LEN / ms.page_len);
		}
		CHECK_OK(up_pager_unmap(p, m, LEN));
	}
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.resident, 0);
	CHECK_EQ(st.page_cache, 0);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(NULL, body);
	h_done();
}
