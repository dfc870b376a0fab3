/* model-random: random reads, writes, msync, DONTNEED and remaps over 2 shared mappings end equal to pread/pwrite on a copy. */
#include "harness.h"

static const int ops_nr = H_TSAN ? 60 : H_SANITIZED ? 400 : 1000;
static size_t page;

struct slot {
	char *addr;
	size_t off, len;	/* file range mapped */
};

static void adjust(struct up_config *c)
{
	c->page_len = page;
	c->budget = 8 * page;
	c->readahead_nr = 2;
	c->threads_nr = 2;
}

static void map_slot(struct up_pager *p, int fd, size_t flen, struct slot *s)
{
	s->off = h_below(flen / 2 / 4096) * 4096;
	s->len = flen - s->off;
	s->addr = h_map(p, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			(off_t)s->off);
}

/* A random 4096-aligned range inside slot s. */
static void sub_range(const struct slot *s, char **addr, size_t *len)
{
	size_t pages = (s->len + 4095) / 4096, first = h_below(pages);

	*addr = s->addr + first * 4096;
	*len = (1 + h_below(pages - first)) * 4096;
	if (first * 4096 + *len > s->len)
		*len = s->len - first * 4096;
}

static void body(struct up_pager *p, enum up_backend be)
{
	size_t flen = 48 * page - 1000, maxio = page < 65536 ? 2 * page : 131072;
	int fd = h_file(flen, 1);
	struct slot sl[2];
	char *buf = malloc(maxio), *want = malloc(maxio);
	struct h_model m;
	int cnt[6] = { 0 };

	(void)be;
	h_model_init(&m, fd);
	map_slot(p, fd, flen, &sl[0]);
	map_slot(p, fd, flen, &sl[1]);
	for (int op = 0; op < ops_nr && sl[0].addr && sl[1].addr; op++) {
		struct slot *s = &sl[h_below(2)];
		unsigned kind = (unsigned)h_below(100);
		size_t o = h_below(s->len), n = 1 + h_below(maxio), len;
		char *a;

		if (n > s->len - o)
			n = s->len - o;
		if (kind < 35) {		/* write */
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)h_rand();
			memcpy(s->addr + o, buf, n);
			h_model_write(&m, (off_t)(s->off + o), buf, n);
			cnt[0]++;
		} else if (kind < 70) {		/* read */
			CHECK_EQ(pread(m.fd, want, n, (off_t)(s->off + o)), n);
			if (memcmp(s->addr + o, want, n))
				H_FAIL("op %d: read of file [%zu, +%zu) differs from the model",
				       op, s->off + o, n);
			cnt[1]++;
		} else if (kind < 80) {		/* msync */
			sub_range(s, &a, &len);
			CHECK_OK(up_pager_sync(p, a, len, kind & 1 ? MS_SYNC : MS_ASYNC));
			cnt[2]++;
		} else if (kind < 90) {		/* madvise(DONTNEED) */
			sub_range(s, &a, &len);
			CHECK_OK(up_pager_advise(p, a, len, MADV_DONTNEED));
			cnt[3]++;
		} else if (kind < 96) {		/* unmap and map again */
			CHECK_OK(up_pager_unmap(p, s->addr, s->len));
			map_slot(p, fd, flen, s);
			cnt[4]++;
		} else {			/* sync all, compare files */
			CHECK_OK(up_pager_sync(p, sl[0].addr, sl[0].len, MS_SYNC));
			CHECK_OK(up_pager_sync(p, sl[1].addr, sl[1].len, MS_SYNC));
			if (!h_files_equal(fd, m.fd))
				H_FAIL("op %d: file differs from the model after sync", op);
			cnt[5]++;
		}
		if (h_is_uffd(p)) {
			struct up_stats st;

			CHECK_OK(up_pager_stats(p, &st));
			if (st.resident > 8)
				H_FAIL("op %d: %llu pages resident, budget 8", op,
				       (unsigned long long)st.resident);
		}
	}
	printf("ops: %d writes, %d reads, %d syncs, %d dontneeds, %d remaps, "
	       "%d compares\n", cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cnt[5]);
	for (int i = 0; i < 2; i++)
		if (sl[i].addr)
			CHECK_OK(up_pager_sync(p, sl[i].addr, sl[i].len, MS_SYNC));
	h_files_equal(fd, m.fd);
	for (int i = 0; i < 2; i++)
		if (sl[i].addr)
			CHECK_OK(up_pager_unmap(p, sl[i].addr, sl[i].len));
	h_files_equal(fd, m.fd);
	CHECK_EQ(h_file_len(fd), flen);
	free(buf);
	free(want);
	close(m.fd);
	close(fd);
}

int main(void)
{
	static const size_t pages[] = { 4096, 65536, 2u << 20 };
	struct up_pager *p;

	h_seed();
	/* service threads, then inline faults (not with 2 MiB pages: the
	 * same code as 64 KiB, and the longest round) */
	for (size_t i = 0; i < 5; i++) {
		page = pages[i % 3];
		h_flags = i < 3 ? 0 : UP_CONFIG_FAULT_INLINE;
		printf("page_len %zu\n", page);
		if (!h_backend_usable(UP_BACKEND_UFFD))
			break;
		if ((p = h_open(UP_BACKEND_UFFD, adjust))) {
			body(p, UP_BACKEND_UFFD);
			CHECK_OK(up_pager_close(p));
		}
	}
	h_flags = 0;
	/* the signals backend at its smallest page and at huge pages */
	for (size_t i = 0; i < 3; i += 2) {
		page = pages[i];
		printf("page_len %zu\n", page);
		if (!h_backend_usable(UP_BACKEND_SIGNALS))
			break;
		if ((p = h_open(UP_BACKEND_SIGNALS, adjust))) {
			body(p, UP_BACKEND_SIGNALS);
			CHECK_OK(up_pager_close(p));
		}
	}
	page = 65536;
	if (h_backend_usable(UP_BACKEND_KERNEL) &&
	    (p = h_open(UP_BACKEND_KERNEL, adjust))) {
		body(p, UP_BACKEND_KERNEL);
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
