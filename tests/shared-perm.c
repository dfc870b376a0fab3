/* shared-perm: a sharing pager refuses cache segments it cannot trust (bad header: -EBADMSG; group/other access or another owner: -EPERM; another user's: -EACCES/-EPERM), says why, leaks nothing, and maps once the bad one is gone. */
#include "harness.h"

#include <grp.h>
#include <inttypes.h>
#include <sys/prctl.h>

#define PG 16384
#define LEN (8 * PG)
#define NOBODY 65534

static void adjust(struct up_config *c)
{
	c->page_len = PG;
	c->budget = 16 * PG;
	c->flags |= UP_CONFIG_SHARED;
}

/* ---- segments -------------------------------------------------------- */

static int seg_exists(const char *name)
{
	struct stat st;

	return lstat(name, &st) == 0;
}

/* Entries of /dev/shm whose name starts with name's, other than name:
 * the temporary names a segment is made under. */
static int seg_temps(const char *name)
{
	const char *base = strrchr(name, '/') + 1;
	size_t bl = strlen(base);
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, base, bl) && e->d_name[bl];
	if (d)
		closedir(d);
	return n;
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

/* A temporary file of LEN bytes of pattern 1. */
static int file(void)
{
	int fd = h_file(LEN, 1);

	clear_stale(fd);
	return fd;
}

/* Put a file of len bytes at name: zeros, or random bytes (garbage);
 * then give it mode. */
static void fake(const char *name, size_t len, int garbage, mode_t mode)
{
	int fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	size_t chunk = len < H_MIB ? len : H_MIB;
	uint64_t *buf = calloc(1, chunk + 8);

	if (fd < 0 || !buf) {
		H_FAIL("cannot make %s: %s", name, strerror(errno));
		exit(1);
	}
	for (size_t off = 0; garbage && off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		for (size_t i = 0; i < (n + 7) / 8; i++)
			buf[i] = h_rand();
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			exit(1);
	}
	if (!garbage && ftruncate(fd, (off_t)len))
		exit(1);
	if (fchmod(fd, mode))
		exit(1);
	free(buf);
	close(fd);
}

/* ---- checks ---------------------------------------------------------- */

/* Mapping fd (MAP_SHARED, prot) through p returns want (or, with want2,
 * that), the note names the segment, and nothing is left behind: no
 * descriptor, no mapping, no temporary segment, and the thing at name is
 * as it was. */
static void refused2(struct up_pager *p, int fd, int prot, int want,
		     int want2, const char *name, const char *what)
{
	int fds = h_fd_count(), maps = maps_count(), r;
	struct stat before, after;
	void *addr = NULL;
	int had = lstat(name, &before) == 0;

	r = up_pager_map(p, NULL, LEN, prot, MAP_SHARED, fd, 0, &addr);
	printf("  %s: %d, note: %s\n", what, r, up_pager_note(p));
	if (r != want && r != want2)
		H_FAIL("%s: up_pager_map = %d (%s), not %d", what, r,
		       up_strerror(r), want);
	else
		H_PASS();
	if (!r) {
		CHECK_OK(up_pager_unmap(p, addr, LEN));
		return;
	}
	if (!strstr(up_pager_note(p), name))
		H_FAIL("%s: the note does not name %s: %s", what, name,
		       up_pager_note(p));
	else
		H_PASS();
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(maps_count(), maps);
	CHECK_EQ(seg_temps(name), 0);
	/* What was there is left alone (it is not ours to remove). */
	if (had) {
		CHECK_EQ(lstat(name, &after), 0);
		CHECK_EQ(after.st_ino, before.st_ino);
		CHECK_EQ(after.st_size, before.st_size);
		CHECK_EQ(after.st_mode, before.st_mode);
		CHECK_EQ(after.st_uid, before.st_uid);
	}
}

static void refused(struct up_pager *p, int fd, int want, const char *name,
		    const char *what)
{
	refused2(p, fd, PROT_READ | PROT_WRITE, want, want, name, what);
}

/* The file (pattern 1) maps through p and is written: the segment is
 * made 0600, ours, and goes with the mapping. */
static void works(struct up_pager *p, int fd, const char *name)
{
	int fds = h_fd_count();
	char *map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct stat st;
	char c = 0;

	if (!map)
		return;
	CHECK_EQ(h_pat_diff(map, 1, 0, LEN), -1);
	map[PG + 1] = 'w';
	CHECK_EQ(lstat(name, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_OK(up_pager_unmap(p, map, LEN));
	CHECK(!seg_exists(name));
	CHECK_EQ(seg_temps(name), 0);
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(pread(fd, &c, 1, PG + 1), 1);
	CHECK_EQ(c, 'w');
	c = (char)h_pat(1, PG + 1);
	CHECK_EQ(pwrite(fd, &c, 1, PG + 1), 1);
}

/* ---- bad headers ----------------------------------------------------- */

static void bad_headers(void)
{
	static const struct {
		size_t len;
		int garbage;
		const char *what;
	} fakes[] = {
		{ 0, 0, "empty" },
		{ 1, 1, "one byte" },
		{ 4096, 0, "a page of zeros" },
		{ 4096, 1, "a page of garbage" },
		{ H_MIB, 0, "1 MiB of zeros" },
		{ 3 * H_MIB + 5, 1, "3 MiB of garbage" },
		{ (65ull << 30) + (2 << 20), 0, "65 GiB of zeros (sparse)" },
	};
	struct up_pager *p = h_open(UP_BACKEND_UFFD, adjust);
	int fd = file();
	char name[128];

	if (!p)
		return;
	printf("bad headers\n");
	h_seg_path(fd, name, sizeof(name));
	for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
		fake(name, fakes[i].len, fakes[i].garbage, 0600);
		refused(p, fd, -EBADMSG, name, fakes[i].what);
		unlink(name);
		works(p, fd, name);
	}
	/* Garbage then a hole, at the size a real one would have. */
	fake(name, 4096, 1, 0600);
	if (truncate(name, (off_t)(64ull << 30) + 4 * H_MIB))
		H_FAIL("truncate: %s", strerror(errno));
	refused(p, fd, -EBADMSG, name, "a page of garbage, then a hole");
	unlink(name);
	works(p, fd, name);
	CHECK_OK(up_pager_close(p));
	close(fd);
}

/* A real segment, of another file or cut short, is no better. */
static void wrong_segment(void)
{
	struct up_pager *a = h_open(UP_BACKEND_UFFD, adjust);
	struct up_pager *b = h_open(UP_BACKEND_UFFD, adjust);
	int x = file(), y = file(), cfd;
	char xname[128], yname[128], *head = malloc(65536);
	char *xmap = NULL;

	if (!a || !b)
		goto out;
	printf("real segments in the wrong place\n");
	h_seg_path(x, xname, sizeof(xname));
	h_seg_path(y, yname, sizeof(yname));
	xmap = h_map(a, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, x, 0);
	if (!xmap)
		goto out;
	xmap[0] = 'x';
	/* X's live segment under Y's name: another file's. */
	CHECK_EQ(link(xname, yname), 0);
	refused(b, y, -EBADMSG, yname, "the segment of another file");
	CHECK_EQ(unlink(yname), 0);
	works(b, y, yname);
	CHECK_EQ(xmap[0], 'x');		/* X's users are not disturbed */
	/* The head of X's segment, alone, once X's is gone. */
	cfd = open(xname, O_RDONLY);
	CHECK(cfd >= 0);
	CHECK_EQ(pread(cfd, head, 65536, 0), 65536);
	close(cfd);
	CHECK_OK(up_pager_unmap(a, xmap, LEN));
	xmap = NULL;
	CHECK(!seg_exists(xname));
	cfd = open(xname, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK_EQ(pwrite(cfd, head, 65536, 0), 65536);
	close(cfd);
	refused(b, x, -EBADMSG, xname, "a segment's head, cut short");
	unlink(xname);
	{
		char c = 0;

		CHECK_EQ(pread(x, &c, 1, 0), 1);
		CHECK_EQ(c, 'x');
		c = (char)h_pat(1, 0);
		CHECK_EQ(pwrite(x, &c, 1, 0), 1);
	}
	works(b, x, xname);
out:
	if (xmap)
		up_pager_unmap(a, xmap, LEN);
	if (a)
		CHECK_OK(up_pager_close(a));
	if (b)
		CHECK_OK(up_pager_close(b));
	unlink(yname);
	free(head);
	close(x);
	close(y);
}

/* Not a regular file: a symbolic link is not followed, a directory is no
 * segment. */
static void not_files(void)
{
	struct up_pager *p = h_open(UP_BACKEND_UFFD, adjust);
	int fd = file(), tfd;
	char name[128], target[4200];
	struct stat st;

	if (!p)
		return;
	printf("not files\n");
	h_seg_path(fd, name, sizeof(name));
	snprintf(target, sizeof(target), "%s/upager-perm-XXXXXX", h_dir());
	tfd = mkstemp(target);
	CHECK(tfd >= 0);
	CHECK_EQ(symlink(target, name), 0);
	refused2(p, fd, PROT_READ | PROT_WRITE, -ELOOP, -EBADMSG, name,
		 "a symbolic link");
	CHECK_EQ(fstat(tfd, &st), 0);
	CHECK_EQ(st.st_size, 0);	/* the target is untouched */
	unlink(name);
	close(tfd);
	unlink(target);
	CHECK_EQ(mkdir(name, 0700), 0);
	refused2(p, fd, PROT_READ | PROT_WRITE, -EISDIR, -EBADMSG, name,
		 "a directory");
	rmdir(name);
	works(p, fd, name);
	CHECK_OK(up_pager_close(p));
	close(fd);
}

/* ---- permissions ----------------------------------------------------- */

static void modes(void)
{
	static const mode_t bad[] = { 0666, 0640, 0604, 0620, 0602, 0610,
				      0601, 0660 };
	struct up_pager *a = h_open(UP_BACKEND_UFFD, adjust);
	struct up_pager *b = h_open(UP_BACKEND_UFFD, adjust);
	int fd = file();
	char name[128], what[64], *amap = NULL, *bmap = NULL;
	mode_t old;

	if (!a || !b)
		goto out;
	printf("modes\n");
	h_seg_path(fd, name, sizeof(name));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "garbage, mode %04o",
			 (unsigned)bad[i]);
		fake(name, 4096, 1, bad[i]);
		refused(b, fd, -EPERM, name, what);
		unlink(name);
	}
	/* A umask does not widen what a segment is made with. */
	old = umask(0);
	works(b, fd, name);
	umask(old);
	/* A live segment that others may read or write. */
	amap = h_map(a, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!amap)
		goto out;
	amap[0] = 'a';
	CHECK_EQ(chmod(name, 0640), 0);
	refused(b, fd, -EPERM, name, "a live segment made 0640");
	CHECK_EQ(chmod(name, 0606), 0);
	refused2(b, fd, PROT_READ, -EPERM, -EPERM, name,
		 "a live segment made 0606, read-only");
	CHECK_EQ(chmod(name, 0600), 0);
	bmap = h_map(b, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!bmap)
		goto out;
	CHECK_EQ(bmap[0], 'a');		/* the same cache again */
	bmap[1] = 'b';
	CHECK_EQ(amap[1], 'b');
	CHECK_OK(up_pager_unmap(b, bmap, LEN));
	bmap = NULL;
	CHECK(seg_exists(name));
	CHECK_OK(up_pager_unmap(a, amap, LEN));
	amap = NULL;
	CHECK(!seg_exists(name));
	{
		char c[2] = "";

		CHECK_EQ(pread(fd, c, 2, 0), 2);
		CHECK(c[0] == 'a' && c[1] == 'b');
	}
out:
	if (amap)
		up_pager_unmap(a, amap, LEN);
	if (bmap)
		up_pager_unmap(b, bmap, LEN);
	if (a)
		CHECK_OK(up_pager_close(a));
	if (b)
		CHECK_OK(up_pager_close(b));
	if (seg_exists(name))
		unlink(name);
	close(fd);
}

/* p maps fd while another pager's amap of it is live: one cache. */
static void works_along(struct up_pager *p, int fd, char *amap)
{
	char *map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (!map)
		return;
	amap[2] = 'A';
	CHECK_EQ(map[2], 'A');
	map[3] = 'B';
	CHECK_EQ(amap[3], 'B');
	CHECK_OK(up_pager_unmap(p, map, LEN));
	amap[2] = (char)h_pat(1, 2);
	amap[3] = (char)h_pat(1, 3);
}

/* Root: a segment another user owns. */
static void owners(void)
{
	struct up_pager *a = h_open(UP_BACKEND_UFFD, adjust);
	struct up_pager *b = h_open(UP_BACKEND_UFFD, adjust);
	int fd = file();
	char name[128], *amap = NULL;

	if (!a || !b)
		goto out;
	printf("owners\n");
	h_seg_path(fd, name, sizeof(name));
	fake(name, 4096, 1, 0600);
	CHECK_EQ(chown(name, NOBODY, NOBODY), 0);
	refused(b, fd, -EPERM, name, "garbage owned by another user");
	unlink(name);
	works(b, fd, name);
	/* A live one, given away. */
	amap = h_map(a, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!amap)
		goto out;
	CHECK_EQ(chown(name, NOBODY, NOBODY), 0);
	refused(b, fd, -EPERM, name, "a live segment owned by another user");
	CHECK_EQ(chown(name, 0, 0), 0);
	works_along(b, fd, amap);
	CHECK_OK(up_pager_unmap(a, amap, LEN));
	amap = NULL;
	CHECK(!seg_exists(name));
out:
	if (amap)
		up_pager_unmap(a, amap, LEN);
	if (a)
		CHECK_OK(up_pager_close(a));
	if (b)
		CHECK_OK(up_pager_close(b));
	if (seg_exists(name))
		unlink(name);
	close(fd);
}

/* ---- root: another user ---------------------------------------------- */

static int up_fd = -1, down_fd = -1;	/* the kid's ends */
static char secret[4200], pub[4200], pub2[4200];

static void tell(int c)
{
	char b = (char)c;

	if (write(up_fd, &b, 1) != 1)
		_exit(98);
}

static int hear(void)
{
	char b;

	if (read(down_fd, &b, 1) != 1) {
		h_child_sync();
		_exit(97);
	}
	return b;
}

/* The kid: a pager opened as root (userfaultfd needs it here), then
 * uid and gid NOBODY. */
static void nobody(void *arg)
{
	struct up_pager *p = h_open(UP_BACKEND_UFFD, adjust);
	char name[128], *map = NULL;
	int fd, fds, maps, r;
	void *addr = NULL;

	(void)arg;
	if (!p)
		return;
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY)) {
		H_FAIL("cannot become uid %d: %s", NOBODY, strerror(errno));
		return;
	}
	prctl(PR_SET_DUMPABLE, 1);	/* /proc/self stays ours */
	CHECK_EQ(geteuid(), NOBODY);
	tell('R');

	CHECK_EQ(hear(), 'A');
	/* A file it may not open: no descriptor, nothing to map. */
	fd = open(secret, O_RDONLY);
	CHECK(fd < 0 && errno == EACCES);
	CHECK_EQ(up_pager_map(p, NULL, LEN, PROT_READ, MAP_SHARED, fd, 0,
			      &addr), -EBADF);
	/* A file it may read, cached by root in a 0600 segment. */
	fd = open(pub, O_RDONLY);
	CHECK(fd >= 0);
	if (fd >= 0) {
		h_seg_path(fd, name, sizeof(name));
		fds = h_fd_count();
		maps = maps_count();
		r = up_pager_map(p, NULL, LEN, PROT_READ, MAP_SHARED, fd, 0,
				 &addr);
		printf("  uid %d maps root's file: %d, note: %s\n", NOBODY, r,
		       up_pager_note(p));
		CHECK(r == -EACCES || r == -EPERM);
		CHECK(strstr(up_pager_note(p), name) != NULL);
		CHECK_EQ(h_fd_count(), fds);
		CHECK_EQ(maps_count(), maps);
		if (!r)
			up_pager_unmap(p, addr, LEN);
		/* A private mapping is the kernel's, and works. */
		map = h_map(p, LEN, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map) {
			CHECK_EQ(h_pat_diff(map, 1, 0, LEN), -1);
			CHECK_OK(up_pager_unmap(p, map, LEN));
		}
		close(fd);
	}
	tell('a');

	CHECK_EQ(hear(), 'B');
	/* It makes the segment of a file nobody maps yet: its own. */
	fd = open(pub2, O_RDONLY);
	CHECK(fd >= 0);
	map = fd >= 0 ? h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	if (map)
		CHECK_EQ(h_pat_diff(map, 1, 0, LEN), -1);
	if (fd >= 0)
		close(fd);
	tell('b');
	CHECK_EQ(hear(), 'C');
	if (map)
		CHECK_OK(up_pager_unmap(p, map, LEN));
	CHECK_OK(up_pager_close(p));
	tell('c');
}

static int named(char *path, mode_t mode)
{
	int fd;
	char *buf = malloc(LEN);

	snprintf(path, 4200, "%s/upager-perm-XXXXXX", h_dir());
	fd = mkstemp(path);
	if (fd < 0 || !buf || fchmod(fd, mode)) {
		H_FAIL("mkstemp(%s): %s", path, strerror(errno));
		exit(1);
	}
	h_pat_fill(buf, 1, 0, LEN);
	if (pwrite(fd, buf, LEN, 0) != LEN)
		exit(1);
	free(buf);
	clear_stale(fd);
	return fd;
}

static void another_user(void)
{
	int sfd = named(secret, 0600), pfd = named(pub, 0644);
	int p2fd = named(pub2, 0644), to[2], from[2], res[2], st, c[2];
	int last[2] = { 0, 0 };
	struct up_pager *p = NULL;
	char name[128], name2[128], *map = NULL, b = 0;
	struct stat ss;
	pid_t pid;

	printf("another user\n");
	h_seg_path(pfd, name, sizeof(name));
	h_seg_path(p2fd, name2, sizeof(name2));
	if (pipe(to) || pipe(from) || pipe(res))
		exit(1);
	/* Forked before the parent opens a pager. */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		close(res[0]);
		down_fd = to[0];
		up_fd = from[1];
		h_child_fd = res[1];
		h_pass_nr = h_fail_nr = 0;
		alarm(60);
		nobody(NULL);
		h_child_sync();
		fflush(NULL);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	close(res[1]);
	down_fd = from[0];
	up_fd = to[1];
	if (pid < 0 || hear() != 'R')
		goto out;
	p = h_open(UP_BACKEND_UFFD, adjust);
	map = p ? h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0)
		: NULL;
	if (!map)
		goto out;
	map[0] = 'r';
	CHECK_EQ(lstat(name, &ss), 0);
	CHECK_EQ(ss.st_uid, 0);
	CHECK_EQ(ss.st_mode & 07777, 0600);
	tell('A');
	if (hear() != 'a')
		goto out;
	CHECK_EQ(map[0], 'r');
	tell('B');
	if (hear() != 'b')
		goto out;
	/* The kid's segment: 0600, owned by NOBODY; root refuses it. */
	CHECK_EQ(lstat(name2, &ss), 0);
	CHECK_EQ(ss.st_uid, NOBODY);
	CHECK_EQ(ss.st_mode & 07777, 0600);
	refused(p, p2fd, -EPERM, name2, "root maps a file whose segment "
					"another user made");
	tell('C');
	if (hear() != 'c')
		goto out;
	CHECK(!seg_exists(name2));
	works(p, p2fd, name2);
	CHECK_OK(up_pager_unmap(p, map, LEN));
	map = NULL;
	CHECK(!seg_exists(name));
	CHECK_EQ(pread(pfd, &b, 1, 0), 1);
	CHECK_EQ(b, 'r');
out:
	close(up_fd);
	while (read(res[0], c, sizeof(c)) == (ssize_t)sizeof(c))
		memcpy(last, c, sizeof(c));
	close(res[0]);
	close(down_fd);
	if (pid > 0) {
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	h_pass_nr += last[0];
	h_fail_nr += last[1];
	if (map)
		up_pager_unmap(p, map, LEN);
	if (p)
		CHECK_OK(up_pager_close(p));
	if (seg_exists(name))
		unlink(name);
	if (seg_exists(name2))
		unlink(name2);
	unlink(secret);
	unlink(pub);
	unlink(pub2);
	close(sfd);
	close(pfd);
	close(p2fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	h_seed();
	if (!h_backend_usable(UP_BACKEND_UFFD))
		SKIP("cache segments (UP_CONFIG_SHARED) are the userfaultfd "
		     "backend's, which this user cannot use");
	bad_headers();
	wrong_segment();
	not_files();
	modes();
	if (geteuid() == 0) {
		owners();
		another_user();
	} else {
		printf("not root: other owners and users not checked\n");
	}
	h_ctx = "-";
	h_done();
}
