/* fork-child: a forked child inherits a pager's MAP_SHARED file mapping, with the parent's stores; the parent's mappings keep working. */
#include "harness.h"

#define LEN (16 * 16384)

static char *map;

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
}

static void child(void *arg)
{
	(void)arg;
	/* an ordinary inherited mapping, with the parent's store */
	CHECK_EQ(map[5 * 16384 + 1], (char)h_pat(1, 5 * 16384 + 1));
	h_child_sync();
	CHECK_EQ(map[0], 'P');
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 1);
	char c = 0;

	(void)b;
	map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!map)
		goto out;
	map[0] = 'P';	/* one dirty page, one clean */
	CHECK_EQ(map[5 * 16384 + 1], (char)h_pat(1, 5 * 16384 + 1));
	CHECK_EQ(h_fork(child, NULL), 0);
	/* the parent is unaffected */
	CHECK_EQ(map[0], 'P');
	CHECK_EQ(h_pat_diff(map + 1, 1, 1, LEN - 1), -1);
	map[LEN - 1] = 'Q';
	CHECK_OK(up_pager_sync(p, map, LEN, MS_SYNC));
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'P');
	CHECK_EQ(pread(fd, &c, 1, LEN - 1), 1);
	CHECK_EQ(c, 'Q');
	CHECK_OK(up_pager_unmap(p, map, LEN));
out:
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
