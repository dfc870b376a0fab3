/* unmap-partial: unmapping all or a middle part writes it back; the hole then raises SIGSEGV while the rest keeps working. */
#include "harness.h"

#define PAGES 16
#define PAGE 16384

enum { WHOLE, MIDDLE, SPLIT };	/* what the child unmaps */

struct job {
	enum up_backend b;
	int what, fd;
};

static void adjust(struct up_config *c)
{
	c->page_len = PAGE;
}

/* In the child: map, write pattern 2 everywhere, unmap a part, write
 * pattern 3 to what is left, sync, then touch the hole (and die). */
static void child(void *arg)
{
	struct job *j = arg;
	size_t len = PAGES * PAGE, hoff, hlen;
	struct up_pager *p = h_open(j->b, adjust);
	char *map = p ? h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0) : NULL;

	if (!map)
		return;
	h_pat_fill(map, 2, 0, len);
	if (j->what == WHOLE) {
		hoff = 0;
		hlen = len;
	} else if (j->what == MIDDLE) {
		hoff = 4 * PAGE;
		hlen = 4 * PAGE;
	} else {	/* one system page inside one pager page */
		hoff = 10 * PAGE + 4096;
		hlen = 4096;
	}
	CHECK_OK(up_pager_unmap(p, map + hoff, hlen));
	if (j->what != WHOLE) {
		CHECK_EQ(up_pager_sync(p, map, len, MS_SYNC), -ENOMEM);
		CHECK_EQ(h_pat_diff(map, 2, 0, hoff), -1);
		CHECK_EQ(h_pat_diff(map + hoff + hlen, 2, hoff + hlen,
				    len - hoff - hlen), -1);
		h_pat_fill(map, 3, 0, hoff);
		h_pat_fill(map + hoff + hlen, 3, hoff + hlen, len - hoff - hlen);
		CHECK_OK(up_pager_sync(p, map, hoff, MS_SYNC));
		CHECK_OK(up_pager_sync(p, map + hoff + hlen, len - hoff - hlen,
				       MS_ASYNC));
	}
	h_child_sync();
	*(volatile char *)(map + hoff + hlen / 2) = 1;	/* SIGSEGV */
	CHECK(!"the hole did not raise SIGSEGV");
}

static void check_file(int fd, int what)
{
	size_t len = PAGES * PAGE, hoff = what == MIDDLE ? 4 * PAGE : 10 * PAGE + 4096;
	size_t hlen = what == MIDDLE ? 4 * PAGE : 4096;
	char *buf = malloc(len);

	CHECK_EQ(pread(fd, buf, len, 0), len);
	if (what == WHOLE) {
		CHECK_EQ(h_pat_diff(buf, 2, 0, len), -1);
	} else {
		CHECK_EQ(h_pat_diff(buf, 3, 0, hoff), -1);
		CHECK_EQ(h_pat_diff(buf + hoff, 2, hoff, hlen), -1);
		CHECK_EQ(h_pat_diff(buf + hoff + hlen, 3, hoff + hlen,
				    len - hoff - hlen), -1);
	}
	free(buf);
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND_ID(b) {
		for (int what = WHOLE; what <= SPLIT; what++) {
			struct job j = { b, what, h_file(PAGES * PAGE, 1) };

			CHECK_EQ(h_fork(child, &j), SIGSEGV);
			check_file(j.fd, what);
			close(j.fd);
		}
	}
	h_done();
}
