/* signal-handler: a signal handler may read and write upager memory that was never touched. */
#include "harness.h"

#define PAGES 64

static size_t page;
static char *fmap, *amap;
static volatile int calls;
static volatile char seen[PAGES];

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->readahead_nr = 0;
	page = c->page_len;
}

static void on_usr1(int sig)
{
	int i = calls;

	(void)sig;
	seen[i] = fmap[(size_t)i * page + 5];	/* a cold file page */
	amap[(size_t)i * page] = (char)(i + 1);	/* a cold anonymous page */
	fmap[(size_t)i * page + 6] = 'S';	/* and a write to the file */
	calls = i + 1;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), bad = 0;
	struct sigaction sa, old;
	char *buf = malloc(len);

	(void)b;
	fmap = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	amap = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!fmap || !amap)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, &old);
	calls = 0;
	for (int i = 0; i < PAGES; i++)
		raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	CHECK_EQ(calls, PAGES);
	for (int i = 0; i < PAGES; i++) {
		bad += seen[i] != (char)h_pat(1, (size_t)i * page + 5);
		bad += amap[(size_t)i * page] != (char)(i + 1);
		bad += fmap[(size_t)i * page + 6] != 'S';
	}
	CHECK_EQ(bad, 0);
	CHECK_OK(up_pager_sync(p, fmap, len, MS_SYNC));
	CHECK_EQ(pread(fd, buf, len, 0), len);
	for (int i = 0; i < PAGES; i++)
		bad += buf[(size_t)i * page + 6] != 'S';
	CHECK_EQ(bad, 0);
out:
	if (fmap)
		CHECK_OK(up_pager_unmap(p, fmap, len));
	if (amap)
		CHECK_OK(up_pager_unmap(p, amap, len));
	free(buf);
	close(fd);
}

int main(void)
{
	/* ThreadSanitizer runs the handler of an asynchronous signal later,
	 * with every signal blocked: a fault served in the faulting thread
	 * (inline, a SIGBUS; signals, a SIGSEGV) in it then kills the
	 * process, so those rounds are left out there. */
	if (H_TSAN)
		h_skip = H_SKIP_INLINE | H_SKIP_SIGNALS;
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
