/* fork-default: with a default pager a child inherits every mapping as the kernel's fork() gives it: shared ones shared both ways, private ones copies, also after the parent unmaps them or exits. */
#include "harness.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#define PG 16384
#define NPG 16
#define LEN (NPG * PG)

static void small(struct up_config *c)
{
	c->page_len = PG;
	c->budget = 4 * PG;	/* a quarter of each mapping: eviction */
}

static void big(struct up_config *c)
{
	c->page_len = PG;
}

/* One byte each way over a pipe pair, to run parent and child in step. */
static int to_child[2], to_parent[2];

static char *fs, *fp, *as, *ap;	/* file shared, private; anon shared,
				 * private */

/* What the parent stored before the fork, page i. */
static void check_before(int i)
{
	size_t o = (size_t)i * PG;

	CHECK_EQ(fs[o + 1], (char)('a' + i));
	CHECK_EQ(fs[o + 100], (char)h_pat(1, o + 100));
	CHECK_EQ(fp[o + 2], i % 2 ? (char)h_pat(1, o + 2) : (char)('A' + i));
	CHECK_EQ(fp[o + 100], (char)h_pat(1, o + 100));
	CHECK_EQ(as[o + 3], i < NPG - 1 ? (char)('s' + i) : 0);
	CHECK_EQ(ap[o + 3], i < NPG - 1 ? (char)('p' + i) : 0);
	CHECK_EQ(as[o + 200], 0);
	CHECK_EQ(ap[o + 200], 0);
}

static void child(void)
{
	int i;

	for (i = 0; i < NPG; i++)
		check_before(i);
	for (i = 0; i < NPG; i++) {
		fs[i * PG + 5] = 'C';
		fp[i * PG + 6] = 'c';
		as[i * PG + 6] = 'c';
		ap[i * PG + 6] = 'c';
	}
	h_send(to_parent[1]);
	h_await(to_child[0]);
	/* The parent's stores after the fork: the shared ones only. */
	for (i = 0; i < NPG; i++) {
		CHECK_EQ(fs[i * PG + 7], 'P');
		CHECK_EQ(as[i * PG + 7], 'P');
		CHECK_EQ(fp[i * PG + 8], (char)h_pat(1, i * PG + 8));
		CHECK_EQ(ap[i * PG + 8], 0);
		CHECK_EQ(fp[i * PG + 6], 'c');
		CHECK_EQ(ap[i * PG + 6], 'c');
	}
	h_send(to_parent[1]);
	h_await(to_child[0]);
	/* The parent has unmapped everything: ours stay. */
	for (i = 0; i < NPG; i++) {
		check_before(i);
		fs[i * PG + 9] = 'L';
		CHECK_EQ(as[i * PG + 6], 'c');
		CHECK_EQ(fp[i * PG + 6], 'c');
		CHECK_EQ(ap[i * PG + 7], 0);
	}
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 1), st = 0, i;
	struct h_model m;
	pid_t pid;

	(void)b;
	h_model_init(&m, fd);
	fs = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	fp = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	as = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	ap = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (!fs || !fp || !as || !ap)
		goto out;
	/* Stores to every page but the last anonymous ones (never touched:
	 * zeros), private file stores to every other page (the rest read);
	 * a small budget evicts most of them to the file or the swap. */
	for (i = 0; i < NPG; i++) {
		char c = (char)('a' + i);

		fs[i * PG + 1] = c;
		h_model_write(&m, i * PG + 1, &c, 1);
		if (i % 2 == 0)
			fp[i * PG + 2] = (char)('A' + i);
		else
			CHECK_EQ(fp[i * PG + 2], (char)h_pat(1, i * PG + 2));
		if (i < NPG - 1) {
			as[i * PG + 3] = (char)('s' + i);
			ap[i * PG + 3] = (char)('p' + i);
		}
	}
	if (pipe(to_child) || pipe(to_parent))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		h_pass_nr = h_fail_nr = 0;
		close(to_parent[0]);
		close(to_child[1]);
		child();
		h_done();	/* exits 1 on a failed check */
	}
	CHECK(pid > 0);
	close(to_parent[1]);
	close(to_child[0]);
	h_await(to_parent[0]);
	/* The child's shared stores are here, its private ones are not. */
	for (i = 0; i < NPG; i++) {
		CHECK_EQ(fs[i * PG + 5], 'C');
		h_model_write(&m, i * PG + 5, "C", 1);
		CHECK_EQ(as[i * PG + 6], 'c');
		CHECK_EQ(fp[i * PG + 6], (char)h_pat(1, i * PG + 6));
		CHECK_EQ(ap[i * PG + 6], 0);
		check_before(i);
		fs[i * PG + 7] = 'P';
		h_model_write(&m, i * PG + 7, "P", 1);
		as[i * PG + 7] = 'P';
		fp[i * PG + 8] = 'x';
		ap[i * PG + 8] = 'x';
	}
	h_send(to_child[1]);
	h_await(to_parent[0]);
	for (i = 0; i < NPG; i++) {
		CHECK_EQ(fp[i * PG + 8], 'x');
		CHECK_EQ(ap[i * PG + 8], 'x');
	}
	CHECK_OK(up_pager_unmap(p, fs, LEN));
	CHECK_OK(up_pager_unmap(p, fp, LEN));
	CHECK_OK(up_pager_unmap(p, as, LEN));
	CHECK_OK(up_pager_unmap(p, ap, LEN));
	h_send(to_child[1]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < NPG; i++)
		h_model_write(&m, i * PG + 9, "L", 1);
	h_files_equal(fd, m.fd);
	close(m.fd);
	close(to_parent[0]);
	close(to_child[1]);
out:
	close(fd);
}

/*
 * The drop-in API: the process that mapped exits (its default pager
 * writes back at exit), and its child goes on using what it inherited.
 * The child's checks reach the test through h_fork()'s pipe, which it
 * inherits: the process that forked it makes no checks after the fork.
 */
static int exit_fd;

static void exiting(void *arg)
{
	char *f, *a, *v;
	int i, gone[2];

	(void)arg;
	f = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, exit_fd, 0);
	v = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, exit_fd, 0);
	a = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(f != MAP_FAILED && v != MAP_FAILED && a != MAP_FAILED);
	if (f == MAP_FAILED || v == MAP_FAILED || a == MAP_FAILED)
		return;
	for (i = 0; i < NPG; i++) {
		f[i * PG] = 'E';
		v[i * PG + 1] = 'V';
		a[i * PG + 2] = 'A';
	}
	if (pipe(gone))
		exit(1);
	fflush(NULL);
	if (fork() == 0) {
		close(gone[1]);
		CHECK_EQ(read(gone[0], &i, 1), 0);	/* its parent exited */
		for (i = 0; i < NPG; i++) {
			CHECK_EQ(f[i * PG], 'E');
			CHECK_EQ(v[i * PG + 1], 'V');
			CHECK_EQ(v[i * PG + 2], (char)h_pat(2, i * PG + 2));
			CHECK_EQ(a[i * PG + 2], 'A');
			f[i * PG + 1] = 'G';
			v[i * PG + 3] = 'W';
			CHECK_EQ(v[i * PG + 3], 'W');
		}
		h_child_sync();
		_exit(0);
	}
	h_child_sync();
	exit(0);	/* atexit: the default pager writes back */
}

/*
 * A child inherits private memory split where mlock(2) split it (without
 * the lock) and not merged again: mremap(2) refuses a range across the
 * two, as it does in the kernel's child.
 */
/* mremap(2) growing [a, a + len) refuses: it spans two mappings. */
static void refused_across(char *a, size_t len)
{
	errno = 0;
	CHECK(mremap(a, len, len + 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
	CHECK_EQ(errno, EFAULT);
}

static void split_child(void *arg)
{
	char *a = arg;

	refused_across(a + 4 * PG, 8 * PG);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(a[i * PG], (char)('a' + i));
}

static void locked_split(void *arg)
{
	char *a = up_mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	CHECK(a != MAP_FAILED);
	if (a == MAP_FAILED)
		return;
	for (int i = 0; i < 16; i++)
		a[i * PG] = (char)('a' + i);
	/* (the system call: a sanitizer's mlock(3) does nothing) */
	CHECK_OK((int)syscall(SYS_mlock, a, 10 * PG));
	CHECK_EQ(h_fork(split_child, a), 0);
	CHECK_OK(up_munmap(a, 16 * PG));
}

/*
 * Private memory that mremap(2) moved, with the kernel's own memory made
 * in the middle of it: a child inherits three mappings that do not merge
 * (the moved ones keep the page offset of where they were made), and
 * mremap(2) refuses a range across two, as in the kernel's child.
 */
static void moved_child(void *arg)
{
	char *t = arg;

	refused_across(t + 5 * PG, 2 * PG);
	CHECK_EQ(t[0], 'm');
	CHECK_EQ(t[7 * PG], 'm');
}

/* Moved and grown (as realloc(3) grows a large block): one mapping in the
 * child, as in the kernel's, which mremap(2) moves whole. */
static void grown_child(void *arg)
{
	char *t = arg, *n;

	n = mremap(t, 12 * PG, 12 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
		   NULL);
	CHECK(n != MAP_FAILED);
	if (n != MAP_FAILED) {
		CHECK_EQ(n[0], 'g');
		CHECK_EQ(n[7 * PG], 'g');
	}
}

static void moved_grown(void *arg)
{
	char *a = up_mmap(NULL, 12 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *n;

	(void)arg;
	CHECK(a != MAP_FAILED);
	if (a == MAP_FAILED)
		return;
	memset(a, 'g', 12 * PG);
	/* the first 8 pages grow to 12 where the rest is: they move */
	n = mremap(a, 8 * PG, 12 * PG, MREMAP_MAYMOVE);
	CHECK(n != MAP_FAILED && n != a);
	if (n == MAP_FAILED)
		return;
	CHECK_EQ(h_fork(grown_child, n), 0);
	CHECK_OK(up_munmap(n, 12 * PG));
	CHECK_OK(up_munmap(a + 8 * PG, 4 * PG));
}

/* What MREMAP_DONTUNMAP leaves of moved and grown memory is of its
 * mapping still: the first store after it gives the whole mapping its
 * anon_vma, and a child has all of it, the piece left behind empty. */
static void left_child(void *arg)
{
	char *t = arg;

	CHECK_EQ(t[0], 0);
	CHECK_EQ(t[8 * PG], 'g');
	CHECK_EQ(t[9 * PG], 0);
	t[9 * PG + 7] = 'c';
	CHECK_EQ(t[9 * PG + 7], 'c');
}

static void moved_left(void *arg)
{
	char *a = up_mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *t = mmap(NULL, 32 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0), *n;

	(void)arg;
	CHECK(a != MAP_FAILED && t != MAP_FAILED);
	if (a == MAP_FAILED || t == MAP_FAILED)
		return;
	munmap(t, 32 * PG);
	n = mremap(a, 4 * PG, 10 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t);
	CHECK(n == t);
	n = mremap(t + 9 * PG, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
		   NULL);
	CHECK(n != MAP_FAILED);
	t[8 * PG] = 'g';
	CHECK_EQ(h_fork(left_child, t), 0);
	CHECK_OK(up_munmap(t, 10 * PG));
	if (n != MAP_FAILED)
		CHECK_OK(up_munmap(n, PG));
}

/* Private memory grown in place, its grown part then locked: the child
 * inherits the two mappings mlock(2) split (not the lock), and mremap(2)
 * refuses a range across them, as in the kernel's child. */
static void locked_tail_child(void *arg)
{
	refused_across((char *)arg + 3 * PG, 2 * PG);
}

static void grown_locked(void *arg)
{
	char *t = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0), *a;

	(void)arg;
	CHECK(t != MAP_FAILED);
	if (t == MAP_FAILED)
		return;
	a = up_mmap(t, 4 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(a == t);
	/* (Room to grow, made once the pager is: its own memory is not
	 * put there.) */
	munmap(t + 4 * PG, 12 * PG);
	CHECK(mremap(a, 4 * PG, 5 * PG, 0) == a);
	/* (the system call: a sanitizer's mlock(3) does nothing) */
	CHECK_OK((int)syscall(SYS_mlock, a + 4 * PG, PG));
	CHECK_EQ(h_fork(locked_tail_child, a), 0);
	syscall(SYS_munlock, a, 5 * PG);
	CHECK_OK(up_munmap(a, 5 * PG));
}

/* The same of a private file mapping the page cache holds: the moved
 * part and what mremap(2) grew it by are one mapping of the file in the
 * child, with the parent's copies, which mremap(2) resizes whole. */
static void grown_file_child(void *arg)
{
	char *t = arg, *n;

	n = mremap(t, 12 * PG, 14 * PG, MREMAP_MAYMOVE);
	CHECK(n != MAP_FAILED);
	if (n != MAP_FAILED) {
		CHECK_EQ(n[3 * PG], 'f');
		CHECK_EQ((uint8_t)n[0], h_pat(3, 0));
		CHECK_EQ((uint8_t)n[10 * PG + 5], h_pat(3, 10 * PG + 5));
		CHECK_EQ((uint8_t)n[13 * PG], h_pat(3, 13 * PG));
	}
}

static void moved_grown_file(void *arg)
{
	int fd = h_file(16 * PG, 3);
	char *a = up_mmap(NULL, 12 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			  fd, 0), *n;

	(void)arg;
	CHECK(a != MAP_FAILED);
	if (a == MAP_FAILED)
		return;
	a[3 * PG] = 'f';
	n = mremap(a, 8 * PG, 12 * PG, MREMAP_MAYMOVE);
	CHECK(n != MAP_FAILED && n != a);
	if (n == MAP_FAILED)
		return;
	CHECK_EQ(h_fork(grown_file_child, n), 0);
	CHECK_EQ(n[3 * PG], 'f');
	CHECK_OK(up_munmap(n, 12 * PG));
	CHECK_OK(up_munmap(a + 8 * PG, 4 * PG));
	close(fd);
}

/* A private mapping of /dev/zero stays one in the child: it has a file,
 * so MADV_REMOVE fails with EACCES there, as in the kernel's child (EINVAL
 * on anonymous memory), and it holds the parent's stores. */
static void zero_child(void *arg)
{
	char *z = arg;

	CHECK_EQ(z[PG + 1], 'z');
	CHECK_EQ(z[0], 0);
	errno = 0;
	CHECK_EQ(madvise(z, 4 * PG, MADV_REMOVE), -1);
	CHECK_EQ(errno, EACCES);
}

static void zero_private(void *arg)
{
	int fd = open("/dev/zero", O_RDWR);
	char *z = up_mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			  fd, 0);

	(void)arg;
	CHECK(z != MAP_FAILED);
	if (z == MAP_FAILED)
		return;
	z[PG + 1] = 'z';
	CHECK_EQ(h_fork(zero_child, z), 0);
	CHECK_OK(up_munmap(z, 4 * PG));
	close(fd);
}

/* The same made just below private anonymous memory the parent has read:
 * in the kernel the two do not merge (the one keeps its file), and the
 * child reads both. */
static void beside_child(void *arg)
{
	char *z = arg;

	CHECK_EQ(z[PG + 1], 'z');
	CHECK_EQ(z[4 * PG + 7], 0);
	CHECK_EQ(z[5 * PG], 'a');
}

static void zero_beside_anon(void *arg)
{
	int fd = open("/dev/zero", O_RDWR);
	char *t = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0), *a, *z;
	volatile char c;

	(void)arg;
	CHECK(t != MAP_FAILED);
	if (t == MAP_FAILED)
		return;
	/* (Mapped over, not freed first: the pager made by the first call
	 * maps memory of its own, which could land in a hole there.) */
	a = up_mmap(t + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(a == t + 4 * PG);
	c = a[7];	/* a read: the zero page */
	(void)c;
	a[PG] = 'a';
	z = up_mmap(t, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		    fd, 0);
	CHECK(z == t);
	z[PG + 1] = 'z';
	CHECK_EQ(h_fork(beside_child, t), 0);
	CHECK_OK(up_munmap(t, 8 * PG));
	close(fd);
}

static void moved_beside_kernel(void *arg)
{
	char *a = up_mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *t = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0), *k;

	(void)arg;
	CHECK(a != MAP_FAILED && t != MAP_FAILED);
	if (a == MAP_FAILED || t == MAP_FAILED)
		return;
	munmap(t, 16 * PG);
	memset(a, 'm', 8 * PG);
	CHECK(mremap(a, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t) ==
	      t);
	k = mmap(t + 2 * PG, 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(k == t + 2 * PG);
	CHECK_EQ(h_fork(moved_child, t), 0);
	CHECK_OK(up_munmap(t, 8 * PG));
}

int main(void)
{
	struct h_model m;
	int i;

	FOR_EACH_BACKEND(big, body);
	FOR_EACH_BACKEND(small, body);
	/* (in a child: this process stays without the default pager's
	 * threads, which a sanitizer's fork() cannot have) */
	CHECK_EQ(h_fork(locked_split, NULL), 0);
	CHECK_EQ(h_fork(moved_beside_kernel, NULL), 0);
	CHECK_EQ(h_fork(moved_grown, NULL), 0);
	CHECK_EQ(h_fork(moved_left, NULL), 0);
	CHECK_EQ(h_fork(grown_locked, NULL), 0);
	CHECK_EQ(h_fork(moved_grown_file, NULL), 0);
	CHECK_EQ(h_fork(zero_private, NULL), 0);
	CHECK_EQ(h_fork(zero_beside_anon, NULL), 0);
	exit_fd = h_file(LEN, 2);
	h_model_init(&m, exit_fd);
	CHECK_EQ(h_fork(exiting, NULL), 0);
	for (i = 0; i < NPG; i++) {
		h_model_write(&m, i * PG, "E", 1);
		h_model_write(&m, i * PG + 1, "G", 1);
	}
	h_files_equal(exit_fd, m.fd);
	h_done();
}
