/* budget-big: a 512 MiB file (256 MiB under ASan, 128 MiB under TSan) through a budget of a sixteenth: right data, bounded memory. */
#include "harness.h"

#define GIB ((size_t)1 << 30)

static const size_t flen = H_TSAN ? GIB / 8 : H_SANITIZED ? GIB / 4 : GIB / 2;
static const size_t budget = H_TSAN ? 8 * H_MIB
			   : H_SANITIZED ? 16 * H_MIB : 32 * H_MIB;
static const int writes_nr = H_SANITIZED ? 2000 : 10000;

static void adjust(struct up_config *c)
{
	c->budget = budget;
	c->threads_nr = 2;
}

/* Resident anonymous and shared memory of the process, in bytes. */
static long long mem_now(void)
{
	return (h_status("RssAnon") + h_status("RssShmem")) * 1024LL;
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(flen, 1), bad = 0;
	char *map = h_map(p, flen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	long long mem0 = mem_now(), peak = 0;
	char buf[4096];
	struct h_model m;
	struct up_stats st;

	(void)b;
	h_model_init(&m, fd);
	if (!map)
		goto out;
	/* scan: 16 bytes of every 4 KiB block against the pattern */
	for (size_t off = 0; off < flen; off += 4096) {
		size_t at = off + (off >> 12) % 4080;

		bad += h_pat_diff(map + at, 1, at, 16) != -1;
		if (off % (16 * H_MIB) == 0) {
			long long grow = mem_now() - mem0;

			peak = grow > peak ? grow : peak;
			CHECK_OK(up_pager_stats(p, &st));
			if (h_is_uffd(p) && st.resident > budget / st.page_len)
				CHECK_EQ(st.resident, budget / st.page_len);
		}
	}
	CHECK_EQ(bad, 0);
	/* random writes */
	for (int i = 0; i < writes_nr; i++) {
		size_t off = h_below(flen - sizeof(buf)), n = 1 + h_below(sizeof(buf));

		for (size_t k = 0; k < n; k += 8)
			memcpy(buf + k, &(uint64_t){ h_rand() }, 8);
		memcpy(map + off, buf, n);
		h_model_write(&m, (off_t)off, buf, n);
		if (i % 1000 == 0) {
			long long grow = mem_now() - mem0;

			peak = grow > peak ? grow : peak;
			CHECK_OK(up_pager_stats(p, &st));
			if (h_is_uffd(p) && st.resident > budget / st.page_len)
				CHECK_EQ(st.resident, budget / st.page_len);
		}
	}
	printf("peak RssAnon+RssShmem growth %lld MiB for a %zu MiB file, "
	       "%zu MiB budget\n", peak >> 20, flen >> 20, budget >> 20);
	/* well under the file: the budget plus slack for the process (not
	 * under TSan, whose shadow of every byte touched is RssAnon).  ASan's
	 * shadow is an eighth of what is touched, read as the zero page where
	 * the kernel has one and as real memory where it does not (guests
	 * booted with pvm_no_zero_page): allow for it. */
	if (!H_TSAN)
		CHECK(peak < (long long)(budget + flen / 8 +
					 (H_SANITIZED ? flen / 8 : 0)));
	CHECK_OK(up_pager_sync(p, map, flen, MS_SYNC));
	h_files_equal(fd, m.fd);
	CHECK_OK(up_pager_unmap(p, map, flen));
out:
	close(m.fd);
	close(fd);
}

int main(void)
{
	h_seed();
	/* Not the inline round: the longest test, whose faults are served by
	 * the same code either way (fault-inline and model-random cover it). */
	h_skip = H_SKIP_INLINE;
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
