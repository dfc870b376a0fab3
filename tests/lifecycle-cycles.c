/* lifecycle-cycles: 1000 map/unmap and 50 open/close cycles leave RSS, fds and threads flat; close writes back. */
#include "harness.h"

#define CYCLES 1000
#define OPENS 50
#define LEN (1024 * 1024)

static const long rss_slack_kb = H_SANITIZED ? 64 * 1024 : 8 * 1024;

static void adjust(struct up_config *c)
{
	c->budget = 4 * H_MIB;
	c->page_len = 16384;
}

static void one_map(struct up_pager *p, int fd, int i)
{
	static const int kinds[] = { MAP_SHARED, MAP_PRIVATE,
				     MAP_PRIVATE | MAP_ANONYMOUS };
	int flags = kinds[i % 3];
	char *map = h_map(p, LEN, PROT_READ | PROT_WRITE, flags,
			  flags & MAP_ANONYMOUS ? -1 : fd, 0);
	size_t at = ((size_t)i * 4099) % LEN;

	if (!map)
		return;
	CHECK_EQ(map[at], flags & MAP_ANONYMOUS ? 0 : (char)h_pat(1, at));
	CHECK_EQ(map[LEN - 1 - at], flags & MAP_ANONYMOUS ? 0 : (char)h_pat(1, LEN - 1 - at));
	map[(at + 70000) % LEN] ^= 0;	/* a write that changes nothing */
	map[at / 2] = (char)i;		/* and one that does */
	CHECK_OK(up_pager_unmap(p, map, LEN));
	if (flags == MAP_SHARED) {
		char c = 0;

		CHECK_EQ(pread(fd, &c, 1, (off_t)at / 2), 1);
		CHECK_EQ(c, (char)i);
		c = (char)h_pat(1, at / 2);	/* put the pattern back */
		CHECK_EQ(pwrite(fd, &c, 1, (off_t)at / 2), 1);
	}
}

static void maps(enum up_backend b)
{
	struct up_pager *p = h_open(b, adjust);
	int fd = h_file(LEN, 1), fds, threads, bad;
	long rss;

	if (!p)
		return;
	for (int i = 0; i < 30; i++)	/* warm up */
		one_map(p, fd, i);
	rss = h_status("VmRSS");
	fds = h_fd_count();
	threads = (int)h_status("Threads");
	bad = h_fail_nr;
	for (int i = 0; i < CYCLES && h_fail_nr == bad; i++)
		one_map(p, fd, i);
	printf("%d map/unmap cycles: VmRSS %ld -> %ld kB\n", CYCLES, rss,
	       h_status("VmRSS"));
	CHECK(h_status("VmRSS") - rss < rss_slack_kb);
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(h_threads_settle(threads), threads);
	CHECK_OK(up_pager_close(p));
	close(fd);
}

/* Open, map, dirty, close without unmapping: the data reaches the file. */
static void one_open(enum up_backend b, int fd, int i)
{
	struct up_pager *p = h_open(b, adjust);
	char *map = p ? h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : NULL;
	char c = 0;

	if (!map) {
		if (p)
			up_pager_close(p);
		return;
	}
	map[(size_t)i * 16384 + 7] = (char)(i + 1);
	(void)map[LEN / 2];
	CHECK_OK(up_pager_close(p));
	CHECK_EQ(pread(fd, &c, 1, i * 16384 + 7), 1);
	CHECK_EQ(c, (char)(i + 1));
}

static void opens(enum up_backend b)
{
	int fd = h_file(LEN, 1), fds, threads;
	long rss;

	one_open(b, fd, 0);
	rss = h_status("VmRSS");
	fds = h_fd_count();
	threads = (int)h_status("Threads");
	for (int i = 1; i <= OPENS; i++)
		one_open(b, fd, i);
	printf("%d open/close cycles: VmRSS %ld -> %ld kB\n", OPENS, rss,
	       h_status("VmRSS"));
	CHECK(h_status("VmRSS") - rss < rss_slack_kb);
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(h_threads_settle(threads), threads);
	close(fd);
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND_ID(b) {
		maps(b);
		opens(b);
	}
	h_done();
}
