/* shared-procs: UP_CONFIG_SHARED pagers in separate processes share one page cache: coherence without msync, read once, identity by dev/ino, page size mismatch, eviction, killed writers, stale segments, cleanup, POSIX shm IPC. */
#include "harness.h"

#include <inttypes.h>
#include <poll.h>

#define PG 16384

/* ---- processes: kids forked before the parent opens a pager --------- */

#define KIDS_MAX 4

struct kid {
	pid_t pid;
	int to, from, res;	/* parent's ends: orders, replies, counts */
	int sig;		/* the signal it is meant to die of, or 0 */
};

static struct kid kids[KIDS_MAX];
static int kids_nr;
static int up_fd = -1, down_fd = -1;	/* in a kid: to and from the parent */

/* Fork a kid that runs fn(arg) with its own pipes to the parent. */
static int spawn(void (*fn)(void *), void *arg)
{
	int to[2], from[2], res[2], i = kids_nr;
	pid_t pid;

	if (i == KIDS_MAX || pipe(to) || pipe(from) || pipe(res))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		exit(1);
	if (pid == 0) {
		for (int k = 0; k < i; k++) {
			close(kids[k].to);
			close(kids[k].from);
			close(kids[k].res);
		}
		close(to[1]);
		close(from[0]);
		close(res[0]);
		down_fd = to[0];
		up_fd = from[1];
		h_child_fd = res[1];
		h_pass_nr = h_fail_nr = 0;
		alarm(60);
		fn(arg);
		h_child_sync();
		fflush(NULL);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	close(res[1]);
	kids[i] = (struct kid){ pid, to[1], from[0], res[0], 0 };
	kids_nr++;
	return i;
}

/* In a kid: one byte to the parent, and one from it. */
static void tell(int c)
{
	char b = (char)c;

	if (write(up_fd, &b, 1) != 1)
		_exit(98);
}

static int hear(void)
{
	char b;

	if (read(down_fd, &b, 1) != 1) {	/* the parent gave up */
		h_child_sync();
		_exit(97);
	}
	return b;
}

/* In the parent: the same with kid i; 0 when the kid is gone. */
static void tell_kid(int i, int c)
{
	char b = (char)c;

	if (write(kids[i].to, &b, 1) != 1)
		H_FAIL("kid %d is gone", i + 1);
}

static int hear_kid(int i)
{
	char b;

	if (read(kids[i].from, &b, 1) != 1) {
		H_FAIL("kid %d ended early", i + 1);
		return 0;
	}
	return b;
}

/* The same, waiting at most ms milliseconds; -1 if nothing came. */
static int hear_kid_within(int i, int ms)
{
	struct pollfd pfd = { .fd = kids[i].from, .events = POLLIN };

	if (poll(&pfd, 1, ms) == 0)
		return -1;
	return hear_kid(i);
}

/* Tell kid i c and wait for its reply; 1 if it replied want. */
static int ask(int i, int c, int want)
{
	int r;

	tell_kid(i, c);
	r = hear_kid(i);
	if (r && r != want)
		H_FAIL("kid %d replied '%c', not '%c'", i + 1, r, want);
	return r == want;
}

/* End kid i (one still waiting for orders reads EOF and leaves), wait
 * for it and add up its checks. */
static void reap_one(int i)
{
	int c[2], last[2] = { 0, 0 }, st = 0;

	if (!kids[i].pid)
		return;
	close(kids[i].to);
	while (read(kids[i].res, c, sizeof(c)) == (ssize_t)sizeof(c))
		memcpy(last, c, sizeof(c));
	close(kids[i].res);
	close(kids[i].from);
	CHECK_EQ(waitpid(kids[i].pid, &st, 0), kids[i].pid);
	kids[i].pid = 0;
	h_pass_nr += last[0];
	h_fail_nr += last[1];
	if (kids[i].sig)
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == kids[i].sig);
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		H_FAIL("kid %d: %s %d", i + 1,
		       WIFSIGNALED(st) ? "killed by signal" : "exit",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	else
		H_PASS();
}

static void reap(void)
{
	for (int i = 0; i < kids_nr; i++)
		reap_one(i);
	kids_nr = 0;
}

/* Read /proc/PID/NAME into buf (empty if it cannot be read). */
static void proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, len - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
}

/* Kill kid i and wait until it is a zombie (not reaped: it still has a
 * process id, but no memory).  The leader turns 'Z' while its other
 * threads may still be exiting, holding the files (and the file locks)
 * they share: wait for them to be gone too. */
static void kill_kid(int i)
{
	char buf[2048], *s;

	kids[i].sig = SIGKILL;
	kill(kids[i].pid, SIGKILL);
	for (int k = 0; k < 5000; k++) {
		proc_read(kids[i].pid, "stat", buf, sizeof(buf));
		s = strrchr(buf, ')');
		if (s && s[1] == ' ' && s[2] == 'Z') {
			proc_read(kids[i].pid, "status", buf, sizeof(buf));
			if (strstr(buf, "\nThreads:\t1\n"))
				return;
		}
		usleep(1000);
	}
	H_FAIL("kid %d did not die", i + 1);
}

/* ---- files and segments --------------------------------------------- */

static char paths[8][4200];
static int paths_nr;

static void unlink_all(void)
{
	while (paths_nr)
		unlink(paths[--paths_nr]);
}

static int seg_exists(const char *name)
{
	return access(name, F_OK) == 0;
}

/* A segment of a file just made can only be stale: left by processes
 * that all died, for a removed file whose inode number the new file got.
 * (Other test programs can leave those.)  Remove it. */
static void clear_stale(int fd)
{
	char name[128];

	h_seg_path(fd, name, sizeof(name));
	if (seg_exists(name)) {
		printf("a stale %s was in the way: removed\n", name);
		unlink(name);
	}
}

/* A named file of len bytes of pattern seed in the test directory (kids
 * open it by name); *path receives its name.  Removed at exit. */
static int named_file(size_t len, uint64_t seed, char **path)
{
	char *pa = paths[paths_nr];
	char *buf = malloc(len);
	int fd;

	if (paths_nr + 2 > (int)(sizeof(paths) / sizeof(paths[0])))
		exit(1);	/* (a case makes at most two names) */
	snprintf(pa, sizeof(paths[0]), "%s/upager-sp-XXXXXX", h_dir());
	fd = mkstemp(pa);
	if (fd < 0 || !buf) {
		H_FAIL("mkstemp(%s): %s", pa, strerror(errno));
		exit(1);
	}
	paths_nr++;
	h_pat_fill(buf, seed, 0, len);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		exit(1);
	free(buf);
	*path = pa;
	clear_stale(fd);
	return fd;
}

/* At the end of a case: no segment may be left; one that is, is removed
 * (a later file could reuse the inode number). */
static void seg_gone(const char *name)
{
	if (seg_exists(name)) {
		H_FAIL("%s is left behind", name);
		unlink(name);
	} else {
		H_PASS();
	}
}

/* Mappings of the process: a number that changes when one is made or
 * removed.  Under a sanitizer, whose allocator maps memory as it likes,
 * only mappings of /dev/shm files (segments) count. */
static int maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096 + 256];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += !H_SANITIZED || strstr(line, " /dev/shm/") != NULL;
	if (f)
		fclose(f);
	return n;
}

/* ---- pagers ---------------------------------------------------------- */

static size_t cfg_page = PG, cfg_budget = 32 * PG;
static unsigned cfg_ra = 16;
static enum up_backend backend;

static void adjust(struct up_config *c)
{
	c->page_len = cfg_page;
	c->budget = cfg_budget;
	c->readahead_nr = cfg_ra;
	c->flags |= UP_CONFIG_SHARED;
}

static struct up_pager *sharing_pager(size_t page, size_t budget_pages,
				      unsigned ra)
{
	cfg_page = page;
	cfg_budget = budget_pages * page;
	cfg_ra = ra;
	return h_open(backend, adjust);
}

static int uffd(void)
{
	return backend == UP_BACKEND_UFFD;
}

/* Open path with flags and map len bytes of it MAP_SHARED through p. */
static char *map_path(struct up_pager *p, const char *path, int oflags,
		      size_t len)
{
	int prot = (oflags & O_ACCMODE) == O_RDONLY ? PROT_READ :
		   PROT_READ | PROT_WRITE;
	int fd = open(path, oflags);
	char *map;

	if (fd < 0) {
		H_FAIL("open(%s): %s", path, strerror(errno));
		return NULL;
	}
	map = h_map(p, len, prot, MAP_SHARED, fd, 0);
	close(fd);
	return map;
}

/* fills and bytes_read of the mapping at addr, and of the pager. */
static void check_no_reads(struct up_pager *p, void *addr)
{
	struct up_stats ms, ps;

	if (!uffd())
		return;
	CHECK_OK(up_mapping_stats(p, addr, &ms));
	CHECK_OK(up_pager_stats(p, &ps));
	CHECK_EQ(ms.fills, 0);
	CHECK_EQ(ms.bytes_read, 0);
	CHECK_EQ(ps.fills, 0);
	CHECK_EQ(ps.bytes_read, 0);
	CHECK(ms.faults_read + ms.faults_write > 0);	/* it did fault */
}

/* ---- once: read once, identity by device and inode, coherence -------- */

#define ONCE_PAGES 16
#define ONCE_LEN (ONCE_PAGES * PG)

static char *once_path, once_link[4200 - 8];

/* Kid 1 maps the file through a hard link, and is the first. */
static void once_kid1(void *arg)
{
	struct up_pager *p;
	struct up_stats ms;
	char name[128];
	char *map;
	int fd;

	(void)arg;
	hear();
	p = sharing_pager(PG, 32, 16);
	fd = open(once_link, O_RDWR);
	CHECK(fd >= 0);
	map = p && fd >= 0 ? h_map(p, ONCE_LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0) : NULL;
	if (!map)
		return;
	h_seg_path(fd, name, sizeof(name));
	close(fd);
	CHECK_EQ(h_pat_diff(map, 1, 0, ONCE_LEN), -1);
	if (uffd()) {
		/* The first reads every page from the file. */
		CHECK_OK(up_mapping_stats(p, map, &ms));
		CHECK_EQ(ms.fills, ONCE_PAGES);
		CHECK_EQ(ms.bytes_read, ONCE_LEN);
		CHECK(seg_exists(name));
	} else {
		CHECK(!seg_exists(name));
	}
	tell('M');
	CHECK_EQ(hear(), 'W');
	/* kid 2's store, seen at once */
	CHECK_EQ(map[3 * PG + 5], 'K');
	map[5 * PG + 7] = 'L';
	map[3 * PG + 6] = 'L';	/* a page kid 2 wrote too */
	/* msync writes the range, kid 2's change to page 3 with it */
	CHECK_OK(up_pager_sync(p, map, ONCE_LEN, MS_SYNC));
	tell('w');
	CHECK_EQ(hear(), 'E');
	CHECK_EQ(map[5 * PG + 8], 'M');
	CHECK_OK(up_pager_unmap(p, map, ONCE_LEN));
	CHECK_OK(up_pager_close(p));
	tell('e');
}

/* Kid 2 maps it by its own name, and is the third. */
static void once_kid2(void *arg)
{
	struct up_pager *p;
	char *map;

	(void)arg;
	hear();
	p = sharing_pager(PG, 32, 16);
	map = p ? map_path(p, once_path, O_RDWR, ONCE_LEN) : NULL;
	if (!map)
		return;
	CHECK_EQ(h_pat_diff(map, 1, 0, ONCE_LEN), -1);
	check_no_reads(p, map);
	map[3 * PG + 5] = 'K';
	tell('M');
	CHECK_EQ(hear(), 'X');
	CHECK_EQ(map[5 * PG + 7], 'L');
	CHECK_EQ(map[3 * PG + 6], 'L');
	map[5 * PG + 8] = 'M';	/* a page kid 1 is a writer of too */
	check_no_reads(p, map);
	/* Not the last: its own changes go to the file, the segment
	 * stays. */
	CHECK_OK(up_pager_unmap(p, map, ONCE_LEN));
	CHECK_OK(up_pager_close(p));
	tell('x');
}

static void once(void)
{
	int fd = named_file(ONCE_LEN, 1, &once_path), pfd;
	struct up_pager *p = NULL;
	struct up_stats st;
	char name[128], c = 0;
	char *map = NULL;

	printf("once: read once, identity by device and inode\n");
	snprintf(once_link, sizeof(once_link), "%s.link", once_path);
	if (link(once_path, once_link)) {
		H_FAIL("link: %s", strerror(errno));
		goto out;
	}
	snprintf(paths[paths_nr++], sizeof(paths[0]), "%s", once_link);
	h_seg_path(fd, name, sizeof(name));
	spawn(once_kid1, NULL);
	spawn(once_kid2, NULL);
	if (!ask(0, 'G', 'M'))
		goto out;
	/* The parent maps it through /proc/self/fd, read-only. */
	p = sharing_pager(PG, 32, 16);
	pfd = h_reopen(fd, O_RDONLY);
	CHECK(pfd >= 0);
	map = p ? h_map(p, ONCE_LEN, PROT_READ, MAP_SHARED, pfd, 0) : NULL;
	close(pfd);
	if (!map)
		goto out;
	CHECK_EQ(h_pat_diff(map, 1, 0, ONCE_LEN), -1);
	check_no_reads(p, map);
	if (uffd()) {
		CHECK_OK(up_pager_stats(p, &st));
		CHECK_EQ(st.resident, ONCE_PAGES);	/* the segment's */
	}
	if (!ask(1, 'G', 'M'))
		goto out;
	CHECK_EQ(map[3 * PG + 5], 'K');		/* no msync anywhere */
	if (!ask(0, 'W', 'w'))
		goto out;
	CHECK_EQ(map[5 * PG + 7], 'L');
	CHECK_EQ(map[3 * PG + 6], 'L');
	CHECK_EQ(pread(fd, &c, 1, 3 * PG + 5), 1);
	CHECK_EQ(c, 'K');	/* kid 1's msync wrote kid 2's change */
	CHECK_EQ(pread(fd, &c, 1, 5 * PG + 7), 1);
	CHECK_EQ(c, 'L');
	if (!ask(1, 'X', 'x'))
		goto out;
	CHECK_EQ(map[5 * PG + 8], 'M');
	CHECK_EQ(pread(fd, &c, 1, 5 * PG + 8), 1);
	CHECK_EQ(c, 'M');	/* kid 2's unmap wrote its pages */
	if (uffd())
		CHECK(seg_exists(name));
	if (!ask(0, 'E', 'e'))
		goto out;
	if (uffd())
		CHECK(seg_exists(name));	/* the parent is still here */
	check_no_reads(p, map);
	CHECK_OK(up_pager_unmap(p, map, ONCE_LEN));
	map = NULL;
	CHECK(!seg_exists(name));
	{
		char *buf = malloc(ONCE_LEN);

		CHECK_EQ(pread(fd, buf, ONCE_LEN, 0), ONCE_LEN);
		CHECK_EQ(buf[3 * PG + 5], 'K');
		CHECK_EQ(buf[3 * PG + 6], 'L');
		CHECK_EQ(buf[5 * PG + 7], 'L');
		CHECK_EQ(buf[5 * PG + 8], 'M');
		buf[3 * PG + 5] = (char)h_pat(1, 3 * PG + 5);
		buf[3 * PG + 6] = (char)h_pat(1, 3 * PG + 6);
		buf[5 * PG + 7] = (char)h_pat(1, 5 * PG + 7);
		buf[5 * PG + 8] = (char)h_pat(1, 5 * PG + 8);
		CHECK_EQ(h_pat_diff(buf, 1, 0, ONCE_LEN), -1);
		free(buf);
	}
out:
	if (map)
		CHECK_OK(up_pager_unmap(p, map, ONCE_LEN));
	reap();
	if (p)
		CHECK_OK(up_pager_close(p));
	seg_gone(name);
	close(fd);
	unlink_all();
}

/* ---- pagelen: one page size per segment; its budget is the first's -- */

#define PL_PAGES 16
#define PL_LEN (PL_PAGES * PG)
#define PL_BUDGET 4

static char *pl_path;

/* The first: 16 KiB pages and a budget of 4 of them. */
static void pl_kid1(void *arg)
{
	struct up_pager *p;
	struct up_stats st;
	char *map;

	(void)arg;
	hear();
	p = sharing_pager(PG, PL_BUDGET, 0);
	map = p ? map_path(p, pl_path, O_RDWR, PL_LEN) : NULL;
	if (!map)
		return;
	map[0] = 'k';
	tell('M');
	CHECK_EQ(hear(), 'E');
	CHECK_EQ(map[PL_LEN - 1], 'b');
	CHECK_EQ(h_pat_diff(map + 1, 1, 1, PL_LEN - 2), -1);
	if (uffd()) {
		CHECK_OK(up_pager_stats(p, &st));
		CHECK(st.resident <= PL_BUDGET);
	}
	CHECK_OK(up_pager_unmap(p, map, PL_LEN));
	CHECK_OK(up_pager_close(p));
	tell('e');
}

/* Comes when the parent has made the segment with 64 KiB pages. */
static void pl_kid2(void *arg)
{
	struct up_pager *p;
	void *addr = NULL;
	int fd, fds, maps, r;

	(void)arg;
	hear();
	p = sharing_pager(PG, 32, 0);
	fd = open(pl_path, O_RDWR);
	CHECK(fd >= 0);
	if (!p || fd < 0)
		return;
	fds = h_fd_count();
	maps = maps_count();
	r = up_pager_map(p, NULL, PL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0, &addr);
	if (uffd()) {
		CHECK_EQ(r, -EINVAL);
		CHECK(strstr(up_pager_note(p), "/dev/shm/upager-") != NULL);
		printf("kid note: %s\n", up_pager_note(p));
		CHECK_EQ(h_fd_count(), fds);
		CHECK_EQ(maps_count(), maps);
	} else {
		CHECK_OK(r);
		if (!r) {
			CHECK_EQ(((char *)addr)[0], 'k');
			CHECK_OK(up_pager_unmap(p, addr, PL_LEN));
		}
	}
	close(fd);
	CHECK_OK(up_pager_close(p));
	tell('m');
}

static void pagelen(void)
{
	int fd = named_file(PL_LEN, 1, &pl_path), fds, maps, r;
	struct up_pager *a = NULL, *b = NULL;
	char name[128], c = 0;
	char *map = NULL, *amap = NULL;
	struct up_stats st;
	void *addr = NULL;

	printf("pagelen: page size mismatch, the segment's budget\n");
	h_seg_path(fd, name, sizeof(name));
	spawn(pl_kid1, NULL);
	spawn(pl_kid2, NULL);
	if (!ask(0, 'G', 'M'))
		goto out;
	/* 64 KiB pages against a segment of 16 KiB ones. */
	a = sharing_pager(4 * PG, 16, 0);
	if (!a)
		goto out;
	fds = h_fd_count();
	maps = maps_count();
	r = up_pager_map(a, NULL, PL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0, &addr);
	if (uffd()) {
		CHECK_EQ(r, -EINVAL);
		printf("note: %s\n", up_pager_note(a));
		CHECK(strstr(up_pager_note(a), name) != NULL);
		CHECK(strstr(up_pager_note(a), "16384") != NULL);
		CHECK_EQ(h_fd_count(), fds);
		CHECK_EQ(maps_count(), maps);
	} else {
		CHECK_OK(r);
		if (!r) {
			CHECK_EQ(((char *)addr)[0], 'k');
			CHECK_OK(up_pager_unmap(a, addr, PL_LEN));
		}
	}
	/* Same page size, a bigger budget: the segment keeps its own. */
	b = sharing_pager(PG, 64, 0);
	map = b ? h_map(b, PL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		: NULL;
	if (!map)
		goto out;
	CHECK_EQ(map[0], 'k');
	CHECK_EQ(h_pat_diff(map + 1, 1, 1, PL_LEN - 1), -1);
	map[PL_LEN - 1] = 'b';
	if (uffd()) {
		CHECK_OK(up_pager_stats(b, &st));
		printf("resident %llu of a budget of %d, evictions %llu\n",
		       (unsigned long long)st.resident, PL_BUDGET,
		       (unsigned long long)st.evictions);
		CHECK(st.resident <= PL_BUDGET);
		CHECK(st.evictions >= PL_PAGES - PL_BUDGET);
	}
	if (!ask(0, 'E', 'e'))
		goto out;
	CHECK_OK(up_pager_unmap(b, map, PL_LEN));
	map = NULL;
	CHECK(!seg_exists(name));
	/* Now 64 KiB pages make the segment, and 16 KiB ones are refused. */
	amap = h_map(a, PL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!amap)
		goto out;
	CHECK_EQ(amap[0], 'k');
	CHECK_EQ(amap[PL_LEN - 1], 'b');
	CHECK(seg_exists(name) == uffd());
	ask(1, 'G', 'm');
	CHECK_OK(up_pager_unmap(a, amap, PL_LEN));
	amap = NULL;
	CHECK(!seg_exists(name));
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'k');
	CHECK_EQ(pread(fd, &c, 1, PL_LEN - 1), 1);
	CHECK_EQ(c, 'b');
out:
	if (map)
		CHECK_OK(up_pager_unmap(b, map, PL_LEN));
	if (amap)
		CHECK_OK(up_pager_unmap(a, amap, PL_LEN));
	reap();
	if (a)
		CHECK_OK(up_pager_close(a));
	if (b)
		CHECK_OK(up_pager_close(b));
	seg_gone(name);
	close(fd);
	unlink_all();
}

/* ---- mix: random writes by every process against a model ------------- */

struct mix {
	const char *what;
	int procs;		/* the parent and procs - 1 kids */
	size_t pages;		/* of the file */
	size_t budget;		/* pages, of every pager */
	int ro;			/* the last kid maps read-only */
	int parent_last;	/* the parent unmaps last (else first) */
	int rounds;		/* each: every process's turn, then together */
};

static const struct mix *mx;
static uint64_t mix_seed;
static char *mix_path, *model;
static struct h_model mix_file_model;	/* parent only */
static int me;				/* 0: the parent, else kid me */

static int writer(int who)
{
	return !(mx->ro && who == mx->procs - 1);
}

/* A write of pattern pseed over [off, off+len) to the model (and the
 * parent's file model), and to map if given. */
static void put(char *map, size_t off, size_t len, uint64_t pseed)
{
	h_pat_fill(model + off, pseed, off, len);
	if (map)
		memcpy(map + off, model + off, len);
	if (!me)
		h_model_write(&mix_file_model, (off_t)off, model + off, len);
}

/* Compare the whole of map with the model. */
static void verify(const char *map, const char *when, int t)
{
	size_t len = mx->pages * PG;

	for (size_t off = 0; off < len; off += PG)
		if (memcmp(map + off, model + off, PG)) {
			size_t i = off;

			while (map[i] == model[i])
				i++;
			H_FAIL("process %d, %s %d: byte %zu is %#x, not %#x",
			       me, when, t, i, map[i] & 0xff, model[i] & 0xff);
			return;
		}
	H_PASS();
}

/* Turn t of the ring: its writer's writes (to map if it is ours, else
 * only to the model) and perhaps a sync or a drop. */
static void turn(struct up_pager *p, char *map, int t)
{
	uint64_t s = mix_seed ^ ((uint64_t)t + 1) * 0x9E3779B97F4A7C15ull;
	size_t len = mx->pages * PG;
	int who = t % mx->procs, n;

	if (!writer(who))
		return;
	n = 1 + (int)(h_rand_r(&s) % 4);
	for (int k = 0; k < n; k++) {
		size_t off = h_rand_r(&s) % len;
		size_t l = 1 + h_rand_r(&s) % (2 * PG);

		if (l > len - off)
			l = len - off;
		put(who == me ? map : NULL, off, l, 100 + (uint64_t)t * 8 + k);
	}
	if (who != me)
		return;
	switch (h_rand_r(&s) % 8) {
	case 0:
		CHECK_OK(up_pager_sync(p, map, len, MS_SYNC));
		break;
	case 1:
		CHECK_OK(up_pager_sync(p, map + PG, 4 * PG, MS_ASYNC));
		break;
	case 2:
		CHECK_OK(up_pager_advise(p, map, len / 2, MADV_DONTNEED));
		break;
	}
}

/* Round r together: each writer writes the pages of its stripe (page %
 * procs == its number) while all read everything, unsynchronised. */
static void together(char *map, int r, int who)
{
	uint64_t s = mix_seed ^ ((uint64_t)r * 64 + (uint64_t)who + 7) *
				0xD1B54A32D192ED03ull;
	size_t pages = mx->pages;
	volatile char sink = 0;

	if (!writer(who))
		return;
	for (int k = 0; k < 24; k++) {
		size_t pg = h_rand_r(&s) % pages, o, l;

		pg -= pg % (size_t)mx->procs;
		pg += (size_t)who;
		if (pg >= pages)
			continue;
		o = h_rand_r(&s) % PG;
		l = 1 + h_rand_r(&s) % (PG - o);
		put(who == me ? map : NULL, pg * PG + o, l,
		    5000 + (uint64_t)r * 256 + (uint64_t)who * 32 + k);
		for (int j = 0; j < 3; j++) {	/* and read others' pages */
			size_t at = (h_rand_r(&s) % pages) * PG +
				    h_rand_r(&s) % PG;

			if (who == me)
				sink += map[at];
		}
	}
	(void)sink;
}

/* Every process: map, the rounds, unmap.  Kids take orders from the
 * parent, which runs the schedule. */
static void mix_proc(void)
{
	size_t len = mx->pages * PG;
	int ro = !writer(me), t = 0;
	struct up_pager *p = NULL;
	struct up_stats st;
	char *map;

	if (me)
		hear();		/* the parent made the segment */
	p = sharing_pager(PG, mx->budget, 4);
	map = p ? map_path(p, mix_path, ro ? O_RDONLY : O_RDWR, len) : NULL;
	if (!map) {
		if (p)
			up_pager_close(p);
		return;
	}
	verify(map, "start", 0);
	if (!me)
		for (int i = 0; i < mx->procs - 1; i++)
			if (!ask(i, 'G', 'M'))
				goto out;
	if (me)
		tell('M');
	for (int r = 0; r < mx->rounds; r++) {
		/* Turns, in order: the parent hands them out. */
		for (int k = 0; k < mx->procs; k++, t++) {
			int who = t % mx->procs;

			if (who == me) {
				if (me)
					CHECK_EQ(hear(), 'T');
				verify(map, "turn", t);
				turn(p, map, t);
				if (me)
					tell('t');
			} else {
				if (!me && !ask(who - 1, 'T', 't'))
					goto out;
				turn(p, map, t);
			}
		}
		/* All together, then all check. */
		if (me)
			CHECK_EQ(hear(), 'C');
		else
			for (int i = 0; i < mx->procs - 1; i++)
				tell_kid(i, 'C');
		for (int who = 0; who < mx->procs; who++)
			together(map, r, who);
		if (me) {
			tell('c');
			CHECK_EQ(hear(), 'V');
		} else {
			for (int i = 0; i < mx->procs - 1; i++)
				hear_kid(i);
			for (int i = 0; i < mx->procs - 1; i++)
				tell_kid(i, 'V');
		}
		verify(map, "round", r);
		if (me)
			tell('v');
		else
			for (int i = 0; i < mx->procs - 1; i++)
				if (hear_kid(i) != 'v')
					goto out;
	}
	if (uffd()) {
		CHECK_OK(up_pager_stats(p, &st));
		CHECK(st.resident <= mx->budget);
		if (mx->budget < mx->pages)
			printf("process %d: %llu fills, %llu evictions, "
			       "%llu writebacks\n", me,
			       (unsigned long long)st.fills,
			       (unsigned long long)st.evictions,
			       (unsigned long long)st.writebacks);
	}
	/* The end: the parent first or last. */
	if (me) {
		CHECK_EQ(hear(), 'E');
	} else if (mx->parent_last) {
		for (int i = 0; i < mx->procs - 1; i++)
			if (!ask(i, 'E', 'e'))
				goto out;
	}
out:
	CHECK_OK(up_pager_unmap(p, map, len));
	CHECK_OK(up_pager_close(p));
	if (me)
		tell('e');
	else if (!mx->parent_last)
		for (int i = 0; i < mx->procs - 1; i++)
			ask(i, 'E', 'e');
}

static void mix_kid(void *arg)
{
	me = (int)(intptr_t)arg;
	mix_proc();
}

static void mix(const struct mix *m)
{
	int fd = named_file(m->pages * PG, 1, &mix_path);
	char name[128];

	printf("mix: %s: %d processes, %zu pages, budget %zu%s\n", m->what,
	       m->procs, m->pages, m->budget, m->ro ? ", one read-only" : "");
	fflush(stdout);
	mx = m;
	me = 0;
	h_seg_path(fd, name, sizeof(name));
	model = malloc(m->pages * PG);
	h_pat_fill(model, 1, 0, m->pages * PG);
	for (int i = 1; i < m->procs; i++)
		spawn(mix_kid, (void *)(intptr_t)i);
	h_model_init(&mix_file_model, fd);
	mix_proc();
	reap();
	seg_gone(name);
	h_files_equal(fd, mix_file_model.fd);
	close(mix_file_model.fd);
	free(model);
	close(fd);
	unlink_all();
}

/* ---- dead: a writer killed while attached ---------------------------- */

#define DEAD_LEN (8 * PG)

static char *dead_path;

static void dead_kid(void *arg)
{
	struct up_pager *p;
	char *map;

	(void)arg;
	hear();
	p = sharing_pager(PG, 8, 0);
	map = p ? map_path(p, dead_path, O_RDWR, DEAD_LEN) : NULL;
	if (!map)
		return;
	strcpy(map + 2 * PG + 10, "written by the dead");
	strcpy(map + 6 * PG, "also");
	h_child_sync();
	tell('w');
	pause();	/* killed here, the mapping still there */
}

enum dead_survivor { SURVIVOR_RW, SURVIVOR_RO, SURVIVOR_LATE, SURVIVOR_ZOMBIE };

/* A kid writes and is killed without unmapping.  The survivor (mapped
 * read-write or read-only before the death, or read-write only after it,
 * or read-write with the kid a zombie not yet waited for) sees its writes,
 * and they reach the file when it unmaps, as with the kernel's page
 * cache. */
static void dead(enum dead_survivor how)
{
	static const char *const what[] = {
		"a read-write survivor", "a read-only survivor",
		"nobody left, then another", "the killed one a zombie"
	};
	int fd = named_file(DEAD_LEN, 1, &dead_path), r;
	int oflags = how == SURVIVOR_RO ? O_RDONLY : O_RDWR;
	struct up_pager *p = NULL;
	char name[128], buf[32] = "";
	char *map = NULL;

	printf("dead: a killed writer, %s\n", what[how]);
	fflush(stdout);
	h_seg_path(fd, name, sizeof(name));
	spawn(dead_kid, NULL);
	p = sharing_pager(PG, 8, 0);
	if (!p)
		goto out;
	if (how != SURVIVOR_LATE &&
	    !(map = map_path(p, dead_path, oflags, DEAD_LEN)))
		goto out;
	if (!ask(0, 'G', 'w'))
		goto out;
	kill_kid(0);
	if (how != SURVIVOR_ZOMBIE)
		reap();
	if (how == SURVIVOR_LATE) {
		CHECK(seg_exists(name) == uffd());	/* nobody detached */
		if (!(map = map_path(p, dead_path, oflags, DEAD_LEN)))
			goto out;
	}
	CHECK_EQ(strcmp(map + 2 * PG + 10, "written by the dead"), 0);
	CHECK_EQ(strcmp(map + 6 * PG, "also"), 0);
	if (how != SURVIVOR_RO)
		map[7 * PG] = 'S';
	r = up_pager_unmap(p, map, DEAD_LEN);
	map = NULL;
	if (r)
		H_FAIL("last unmap after a writer died = %d: %s", r,
		       up_strerror(r));
	else
		H_PASS();
	CHECK_EQ(pread(fd, buf, 20, 2 * PG + 10), 20);
	CHECK_EQ(strcmp(buf, "written by the dead"), 0);
	CHECK_EQ(pread(fd, buf, 5, 6 * PG), 5);
	CHECK_EQ(strcmp(buf, "also"), 0);
	if (how != SURVIVOR_RO) {
		CHECK_EQ(pread(fd, buf, 1, 7 * PG), 1);
		CHECK_EQ(buf[0], 'S');
	}
out:
	if (map)
		up_pager_unmap(p, map, DEAD_LEN);
	reap();
	if (p)
		CHECK_OK(up_pager_close(p));
	seg_gone(name);
	close(fd);
	unlink_all();
}

/* ---- stale: a segment outlives its file; a new file gets the inode --- */

#define STALE_LEN DEAD_LEN

/* Every process of file X is killed, so its segment stays; X is
 * removed and a new file Y gets X's inode number (ext4 and xfs reuse them
 * at once).  Y must read as Y, and mapping it must not change it. */
static void stale(void)
{
	int fd = named_file(STALE_LEN, 1, &dead_path), yfd = -1, r;
	char xname[128], yname[128], ypath[4200];
	struct up_pager *p = NULL;
	struct stat xs, ys;
	void *addr = NULL;
	char *buf = malloc(STALE_LEN);

	printf("stale: a segment left by killed processes, a new file on its "
	       "inode\n");
	fflush(stdout);
	h_seg_path(fd, xname, sizeof(xname));
	fstat(fd, &xs);
	spawn(dead_kid, NULL);
	if (!ask(0, 'G', 'w'))
		goto out;
	kill_kid(0);
	reap();
	CHECK(seg_exists(xname) == uffd());
	close(fd);
	fd = -1;
	unlink_all();
	for (int i = 0; i < 200 && yfd < 0; i++) {
		snprintf(ypath, sizeof(ypath), "%s/upager-sp-y-%d-%d", h_dir(),
			 (int)getpid(), i);
		yfd = open(ypath, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (yfd < 0 || fstat(yfd, &ys))
			break;
		unlink(ypath);
		if (ys.st_ino != xs.st_ino || ys.st_dev != xs.st_dev) {
			close(yfd);
			yfd = -1;
		}
	}
	if (yfd < 0) {
		printf("the file system of %s does not reuse inode numbers "
		       "soon: not checked\n", h_dir());
		goto out;
	}
	h_seg_path(yfd, yname, sizeof(yname));
	h_pat_fill(buf, 7, 0, STALE_LEN);
	CHECK_EQ(pwrite(yfd, buf, STALE_LEN, 0), STALE_LEN);
	p = sharing_pager(PG, 8, 0);
	r = p ? up_pager_map(p, NULL, STALE_LEN, PROT_READ, MAP_SHARED, yfd,
			     0, &addr) : -1;
	if (!r) {
		long long d = h_pat_diff(addr, 7, 0, STALE_LEN);

		if (d >= 0)
			H_FAIL("a new file on a reused inode reads the old "
			       "file's cache from byte %lld on%s", d,
			       memmem(addr, STALE_LEN, "written by the dead",
				      19) ? " (the dead writer's data)" : "");
		else
			H_PASS();
		CHECK_OK(up_pager_unmap(p, addr, STALE_LEN));
	} else {
		printf("refused: %d (%s)\n", r, p ? up_pager_note(p) : "");
	}
	/* Mapping it read-only never changes it. */
	CHECK_EQ(pread(yfd, buf, STALE_LEN, 0), STALE_LEN);
	CHECK_EQ(h_pat_diff(buf, 7, 0, STALE_LEN), -1);
	seg_gone(yname);
out:
	reap();
	if (p)
		CHECK_OK(up_pager_close(p));
	if (seg_exists(xname))	/* X's leftover, if Y did not take it */
		unlink(xname);
	if (fd >= 0)
		close(fd);
	if (yfd >= 0)
		close(yfd);
	free(buf);
	unlink_all();
}

/* ---- reader: a read-only process needs a frame that a writer dirtied -- */

#define RDR_LEN (8 * PG)

static char *rdr_path;
static int reader_stuck;

/* The writer makes the segment with a budget of two pages and dirties
 * both. */
static void rdr_writer(void *arg)
{
	struct up_pager *p;
	char *map;

	(void)arg;
	hear();
	p = sharing_pager(PG, 2, 0);
	map = p ? map_path(p, rdr_path, O_RDWR, RDR_LEN) : NULL;
	if (!map)
		return;
	map[0] = 'W';
	map[PG] = 'W';
	tell('w');
	CHECK_EQ(hear(), 'E');
	CHECK_OK(up_pager_unmap(p, map, RDR_LEN));
	CHECK_OK(up_pager_close(p));
	tell('e');
}

/* The reader, with a read-only descriptor, reads other pages. */
static void rdr_reader(void *arg)
{
	struct up_pager *p;
	char *map;

	(void)arg;
	hear();
	p = sharing_pager(PG, 2, 0);
	map = p ? map_path(p, rdr_path, O_RDONLY, RDR_LEN) : NULL;
	if (!map)
		return;
	CHECK_EQ(h_pat_diff(map + 5 * PG, 1, 5 * PG, PG), -1);
	CHECK_EQ(h_pat_diff(map + 6 * PG, 1, 6 * PG, 2 * PG), -1);
	CHECK_EQ(map[0], 'W');
	CHECK_EQ(map[PG], 'W');
	CHECK_OK(up_pager_unmap(p, map, RDR_LEN));
	CHECK_OK(up_pager_close(p));
	tell('r');
}

static void reader(void)
{
	int fd = named_file(RDR_LEN, 1, &rdr_path), r;
	char name[128], c = 0;

	printf("reader: a read-only process evicts a writer's dirty pages\n");
	reader_stuck = 0;
	fflush(stdout);
	h_seg_path(fd, name, sizeof(name));
	spawn(rdr_writer, NULL);
	spawn(rdr_reader, NULL);
	if (!ask(0, 'G', 'w'))
		goto out;
	tell_kid(1, 'G');
	r = hear_kid_within(1, 3000);
	if (r < 0) {
		H_FAIL("the reader is stuck 3 s on a fault (a frame that "
		       "only a dirty page of the writer's could give)");
		reader_stuck = 1;
		kill_kid(1);
		reap_one(1);
	} else {
		CHECK_EQ(r, 'r');
	}
	ask(0, 'E', 'e');
	CHECK_EQ(pread(fd, &c, 1, PG), 1);
	CHECK_EQ(c, 'W');
out:
	reap();
	seg_gone(name);
	close(fd);
	unlink_all();
}

/* ---- private: MAP_PRIVATE of a sharing pager is the kernel's --------- */

#define PRIV_LEN (4 * PG)

static char *priv_path;

static void priv_kid(void *arg)
{
	struct up_pager *p;
	char *map = NULL, *anon = NULL;
	int fd;

	(void)arg;
	hear();
	p = sharing_pager(PG, 8, 0);
	fd = open(priv_path, O_RDONLY);
	if (p && fd >= 0) {
		map = h_map(p, PRIV_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			    fd, 0);
		anon = h_map(p, PRIV_LEN, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	close(fd);
	if (!map || !anon)
		return;
	map[0] = 'X';
	anon[PG] = 'A';
	tell('M');
	CHECK_EQ(hear(), 'E');
	CHECK_EQ(map[0], 'X');
	CHECK_EQ(anon[PG], 'A');
	CHECK_EQ(anon[0], 0);
	CHECK_OK(up_pager_unmap(p, map, PRIV_LEN));
	CHECK_OK(up_pager_unmap(p, anon, PRIV_LEN));
	CHECK_OK(up_pager_close(p));
	tell('e');
}

static void private(void)
{
	int fd = named_file(PRIV_LEN, 1, &priv_path);
	struct up_pager *p = NULL;
	char name[128], c = 0;
	char *map = NULL;

	printf("private: private mappings stay private\n");
	h_seg_path(fd, name, sizeof(name));
	spawn(priv_kid, NULL);
	if (!ask(0, 'G', 'M'))
		goto out;
	CHECK(!seg_exists(name));	/* private mappings make none */
	p = sharing_pager(PG, 8, 0);
	map = p ? map_path(p, priv_path, O_RDWR, PRIV_LEN) : NULL;
	if (!map)
		goto out;
	CHECK_EQ(map[0], (char)h_pat(1, 0));
	map[PG] = 'S';
	ask(0, 'E', 'e');
	CHECK_OK(up_pager_unmap(p, map, PRIV_LEN));
	map = NULL;
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, (char)h_pat(1, 0));
	CHECK_EQ(pread(fd, &c, 1, PG), 1);
	CHECK_EQ(c, 'S');
out:
	if (map)
		up_pager_unmap(p, map, PRIV_LEN);
	reap();
	if (p)
		CHECK_OK(up_pager_close(p));
	seg_gone(name);
	close(fd);
	unlink_all();
}

/* ---- shm: POSIX shared memory between two processes ------------------ */

#define SHM_LEN (4 * PG)
#define SHM_ROUNDS 500

static char shm_name[64];

/* The message area: a sequence number on the first page, the text on the
 * third, so a message crosses pages. */
#define SEQ(m) ((unsigned *)(m))
#define TEXT(m) ((m) + 2 * PG + 100)

/* Wait until *seq is want; 0 if it never came. */
static int await_seq(char *m, unsigned want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(SEQ(m), __ATOMIC_ACQUIRE) != want) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10) {
			H_FAIL("process %d: message %u never came (at %u)",
			       me, want, *SEQ(m));
			return 0;
		}
		sched_yield();
	}
	return 1;
}

/* Take turns: one writes message i and bumps seq, the other answers. */
static void talk(char *m, int first)
{
	char want[64];

	for (unsigned i = 0; i < SHM_ROUNDS; i++) {
		unsigned seq = 2 * i + (first ? 0 : 1);

		if (!await_seq(m, seq))
			return;
		if (seq) {
			snprintf(want, sizeof(want), "message %u from %s", seq,
				 first ? "kid" : "parent");
			if (strcmp(TEXT(m), want)) {
				H_FAIL("got \"%s\", not \"%s\"", TEXT(m),
				       want);
				return;
			}
		}
		snprintf(TEXT(m), 64, "message %u from %s", seq + 1,
			 first ? "parent" : "kid");
		__atomic_store_n(SEQ(m), seq + 1, __ATOMIC_RELEASE);
	}
	H_PASS();
}

static void shm_kid(void *arg)
{
	struct up_pager *p;
	char *map = NULL;
	int fd;

	(void)arg;
	me = 1;
	hear();
	p = sharing_pager(PG, 8, 0);
	fd = shm_open(shm_name, O_RDWR, 0);
	CHECK(fd >= 0);
	if (p && fd >= 0)
		map = h_map(p, SHM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
	close(fd);
	tell('M');
	if (!map)
		return;
	talk(map, 0);
	CHECK_OK(up_pager_unmap(p, map, SHM_LEN));
	CHECK_OK(up_pager_close(p));
	tell('e');
}

static void shm(void)
{
	struct up_pager *p = NULL;
	char name[128], buf[64] = "", want[64];
	char *map = NULL;
	int fd;

	printf("shm: POSIX shared memory between processes\n");
	me = 0;
	snprintf(shm_name, sizeof(shm_name), "/upager-test-%d-%llx",
		 (int)getpid(), (unsigned long long)h_rand());
	fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		H_FAIL("shm_open(%s): %s", shm_name, strerror(errno));
		return;
	}
	CHECK_OK(ftruncate(fd, SHM_LEN));
	clear_stale(fd);
	h_seg_path(fd, name, sizeof(name));
	spawn(shm_kid, NULL);
	p = sharing_pager(PG, 8, 0);
	map = p ? h_map(p, SHM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		: NULL;
	if (!map || !ask(0, 'G', 'M'))
		goto out;
	CHECK(seg_exists(name) == uffd());
	talk(map, 1);
	if (hear_kid(0) != 'e')
		goto out;
	CHECK(seg_exists(name) == uffd());
	CHECK_OK(up_pager_unmap(p, map, SHM_LEN));
	map = NULL;
	CHECK(!seg_exists(name));
	/* The last message is in the object for anyone to read. */
	snprintf(want, sizeof(want), "message %u from kid", 2 * SHM_ROUNDS);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 2 * PG + 100), sizeof(buf));
	CHECK_EQ(strcmp(buf, want), 0);
out:
	if (map)
		up_pager_unmap(p, map, SHM_LEN);
	reap();
	if (p)
		CHECK_OK(up_pager_close(p));
	close(fd);
	CHECK_OK(shm_unlink(shm_name));
	seg_gone(name);
}

static const struct mix mixes[] = {
	{ "coherence", 3, 16, 32, 0, 1, 4 },
	{ "coherence, the parent first out", 3, 16, 32, 1, 0, 3 },
	{ "eviction", 2, 40, 6, 0, 0, 3 },
	{ "eviction, a reader", 3, 40, 6, 1, 1, 3 },
};

int main(void)
{
	/* Sharing pagers have no inline round (UP_CONFIG_FAULT_INLINE). */
	h_skip = H_SKIP_INLINE;
	signal(SIGPIPE, SIG_IGN);
	mix_seed = h_seed();
	atexit(unlink_all);
		FOR_EACH_BACKEND_ID(backend) {
		once();
		pagelen();
		reader();
		for (size_t i = 0; i < sizeof(mixes) / sizeof(mixes[0]); i++)
			if (mixes[i].ro && reader_stuck &&
			    mixes[i].budget < mixes[i].pages)
				printf("mix: %s: not run, the reader case "
				       "failed\n", mixes[i].what);
			else
				mix(&mixes[i]);
		dead(SURVIVOR_RW);
		dead(SURVIVOR_RO);
		dead(SURVIVOR_LATE);
		dead(SURVIVOR_ZOMBIE);
		stale();
		private();
		shm();
	}
	h_ctx = "-";
	h_done();
}
