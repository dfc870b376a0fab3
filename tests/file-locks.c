/* file-locks: the process's fcntl(2) record locks on a file survive whatever upager does with mappings of it (unmap, write-back, other descriptors, O_APPEND, fork, closing the pager), as they do with the kernel's mmap; the descriptors upager kept for a locked file are closed once the locks are gone. */
#include "harness.h"

#include <stdbool.h>
#include <sys/wait.h>

#define PAGES 16

static size_t page;
static int probe = -1;	/* an open file description of the file, never
			 * closed while locks are held (that would drop
			 * them) */

static void adjust(struct up_config *c)
{
	c->page_len = 16384;
	c->budget = 4 * c->page_len;
	page = c->page_len;
}

static int lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = start,
		.l_len = len,
	};

	return fcntl(fd, F_SETLK, &fl);
}

/* The type of this process's lock at byte off, as another open file
 * description sees it (F_UNLCK if none). */
static short held(off_t off)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off,
		.l_len = 1,
	};

	if (fcntl(probe, F_OFD_GETLK, &fl))
		return -1;
	return fl.l_type != F_UNLCK && fl.l_pid == getpid() ? fl.l_type
							      : F_UNLCK;
}

/* The descriptor number open(2) would take now. */
static int lowest_free(void)
{
	int fd = fcntl(0, F_DUPFD, 0);

	close(fd);
	return fd;
}

static void check_held(const char *when)
{
	if (held(0) != F_WRLCK || held((off_t)(3 * page)) != F_RDLCK)
		H_FAIL("locks lost %s: byte 0 %d, byte %zu %d", when, held(0),
		       3 * page, held((off_t)(3 * page)));
	else
		H_PASS();
}

/* Map the file every way there is, write, and unmap; false if a mapping
 * failed. */
static bool cycle(struct up_pager *p, int fd, int ro, int ap, bool locked)
{
	size_t len = PAGES * page;
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (!m)
		return false;
	for (size_t i = 0; i < len; i += page)
		m[i] = 'w';
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, len));
	if (locked)
		check_held("after a shared mapping's unmap");
	/* through the read-only and the O_APPEND descriptors */
	m = h_map(p, len, PROT_READ, MAP_SHARED, ro, 0);
	if (!m)
		return false;
	CHECK_EQ(h_pat_diff(m + page + 1, 1, page + 1, page - 1), -1);
	CHECK_OK(up_pager_unmap(p, m, len));
	m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, ap, 0);
	if (!m)
		return false;
	m[page] = 'a';
	CHECK_OK(up_pager_unmap(p, m, len));
	/* private, written and evicted */
	m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!m)
		return false;
	for (size_t i = 0; i < len; i += page)
		m[i] = 'p';
	CHECK_OK(up_pager_unmap(p, m, len));
	if (locked)
		check_held("after the other mappings' unmaps");
	return true;
}

static void body(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 1), ro = h_reopen(fd, O_RDONLY);
	int ap = h_reopen(fd, O_RDWR | O_APPEND), fds;
	char path[64];
	char *m, *w;

	(void)b;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	probe = open(path, O_RDONLY);
	CHECK(probe >= 0);
	/* once unlocked: what the pager keeps open for itself is open */
	if (!cycle(p, fd, ro, ap, false))
		goto out;
	fds = h_fd_count();
	CHECK_OK(lock(fd, F_WRLCK, 0, 1));
	CHECK_OK(lock(ro, F_RDLCK, (off_t)(3 * page), 10));
	check_held("at first");
	if (!cycle(p, fd, ro, ap, true))
		goto out;

	/* fork hands mappings to the kernel in the parent, the read-only
	 * one through a read-only descriptor, and no low number is taken */
	m = h_map(p, len, PROT_READ, MAP_SHARED, ro, 0);
	w = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m && w) {
		int low = lowest_free(), st;
		pid_t pid = fork();

		if (pid == 0)
			_exit(m[page] == 'a' ? 0 : 1);
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid &&
		      WIFEXITED(st) && WEXITSTATUS(st) == 0);
		check_held("after fork(2)");
		CHECK_EQ(lowest_free(), low);
		CHECK_EQ(mprotect(m, page, PROT_READ | PROT_WRITE), -1);
		CHECK_EQ(errno, EACCES);
		CHECK_OK(up_pager_unmap(p, m, len));
		CHECK_OK(up_pager_unmap(p, w, len));
		check_held("after the unmap of a mapping that fork handed over");
	}

	/* unlocked, the descriptors kept for the file go with the next
	 * mapping's */
	CHECK_OK(lock(fd, F_UNLCK, 0, 0));
	m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m)
		CHECK_OK(up_pager_unmap(p, m, len));
	CHECK_EQ(h_fd_count(), fds);
out:
	CHECK_OK(lock(fd, F_UNLCK, 0, 0));
	close(probe);
	close(ap);
	close(ro);
	close(fd);
}

/* Closing the pager keeps the locks too. */
static void body_close(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * page;
	int fd = h_file(len, 2);
	char path[64];
	char *m;

	(void)b;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	probe = open(path, O_RDONLY);
	CHECK_OK(lock(fd, F_WRLCK, 0, 1));
	CHECK_OK(lock(fd, F_RDLCK, (off_t)(3 * page), 10));
	m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m)
		m[0] = 1;
	CHECK_OK(up_pager_close(p));
	check_held("after up_pager_close()");
	CHECK_OK(lock(fd, F_UNLCK, 0, 0));
	close(probe);
	close(fd);
}

int main(void)
{
	enum up_backend b;

	h_seed();
	FOR_EACH_BACKEND(adjust, body);
	FOR_EACH_BACKEND_ID(b) {
		struct up_pager *p = h_open(b, adjust);

		if (p)
			body_close(p, b);
	}
	h_done();
}
