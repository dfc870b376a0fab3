/* remap-moves: mremap(2) of a pager's mapping keeps every byte, resident or evicted: a shared file mapping grows over the file, private memory moves to a fixed place, grows with zeros and shrinks, shared memory raises SIGBUS past its end, and the program's own mremap(2) on up_mmap() memory does the same; what the kernel refuses before it changes anything leaves the target of a fixed move as it was. */
#include "harness.h"

#include <stdatomic.h>
#include <sys/syscall.h>

#define PAGE 16384
#define BUDGET_PAGES 8
#define PAGES 64	/* 8 times the budget */

/* The kernel's calls ([0]) and the pager's ([1]), for the cases that make
 * the same calls through both and compare the answers. */
static void *(*const mm[2])(void *, size_t, int, int, int,
			    off_t) = { mmap, up_mmap };
static int (*const mp[2])(void *, size_t, int) = { mprotect, up_mprotect };
static int (*const mu[2])(void *, size_t) = { munmap, up_munmap };

static void adjust(struct up_config *c)
{
	c->page_len = PAGE;
	c->budget = BUDGET_PAGES * PAGE;
}

static void *remap(struct up_pager *p, void *old, size_t old_len,
		   size_t new_len, int flags, void *to)
{
	void *out = NULL;
	int r = up_pager_remap(p, old, old_len, new_len, flags, to, &out);

	if (r) {
		H_FAIL("up_pager_remap(%zu -> %zu, %#x) = %d: %s", old_len,
		       new_len, flags, r, up_strerror(r));
		return NULL;
	}
	H_PASS();
	return out;
}

/* A shared file mapping grows (with the file) and keeps the stores made
 * before; the file ends as a model written with pwrite says. */
static void shared_file(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * PAGE;
	int fd = h_file(len, 1);
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(2 * len);

	(void)b;
	if (!m || !buf)
		return;
	h_pat_fill(m, 2, 0, len / 2);
	CHECK_OK(ftruncate(fd, 2 * len));
	h_pat_fill(buf, 3, len, len);
	CHECK_EQ(pwrite(fd, buf, len, len), len);
	m = remap(p, m, len, 2 * len, MREMAP_MAYMOVE, NULL);
	if (!m)
		return;
	CHECK_EQ(h_pat_diff(m, 2, 0, len / 2), -1);
	CHECK_EQ(h_pat_diff(m + len / 2, 1, len / 2, len / 2), -1);
	CHECK_EQ(h_pat_diff(m + len, 3, len, len), -1);
	h_pat_fill(m + len + PAGE, 4, len + PAGE, PAGE);
	/* Shrunk, what is left stays and the rest is unmapped. */
	m = remap(p, m, 2 * len, len + 2 * PAGE, 0, NULL);
	CHECK_OK(up_pager_unmap(p, m, len + 2 * PAGE));
	CHECK_EQ(pread(fd, buf, 2 * len, 0), 2 * len);
	CHECK_EQ(h_pat_diff(buf, 2, 0, len / 2), -1);
	CHECK_EQ(h_pat_diff(buf + len / 2, 1, len / 2, len / 2), -1);
	CHECK_EQ(h_pat_diff(buf + len, 3, len, PAGE), -1);
	CHECK_EQ(h_pat_diff(buf + len + PAGE, 4, len + PAGE, PAGE), -1);
	CHECK_EQ(h_pat_diff(buf + len + 2 * PAGE, 3, len + 2 * PAGE,
			    len - 2 * PAGE), -1);
	free(buf);
	close(fd);
}

/* Private anonymous memory, most of it evicted, moves to a fixed place
 * (and the old range is free), grows with zeros in place, shrinks. */
static void private_anon(struct up_pager *p, enum up_backend b)
{
	size_t len = PAGES * PAGE;
	char *m = h_map(p, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *to = mmap(NULL, 4 * len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *n;

	(void)b;
	if (!m || to == MAP_FAILED)
		return;
	munmap(to + len, 3 * len);	/* room to grow in place */
	h_pat_fill(m, 5, 0, len);
	n = remap(p, m, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (!n)
		return;
	CHECK(n == to);
	CHECK_EQ(h_pat_diff(n, 5, 0, len), -1);
	CHECK(mincore(m, PAGE, (unsigned char[PAGE / 4096]){ 0 }) == -1 &&
	      errno == ENOMEM);
	n = remap(p, n, len, 2 * len, 0, NULL);
	CHECK(n == to);
	if (!n)
		return;
	for (size_t i = len; i < 2 * len; i += 4096)
		CHECK_EQ(n[i], 0);
	h_pat_fill(n + len, 6, len, len);
	CHECK_EQ(h_pat_diff(n, 5, 0, len), -1);
	CHECK_EQ(h_pat_diff(n + len, 6, len, len), -1);
	n = remap(p, n, 2 * len, len / 2, MREMAP_MAYMOVE, NULL);
	CHECK_EQ(h_pat_diff(n, 5, 0, len / 2), -1);
	CHECK_OK(up_pager_unmap(p, n, len / 2));
	munmap(to, 2 * len);
}

/* Shared memory keeps its length: a mapping of it grown past its end
 * raises SIGBUS there, as the kernel's does. */
struct shm_job {
	enum up_backend b;
};

static void shm_child(void *arg)
{
	struct shm_job *j = arg;
	struct up_pager *p = h_open(j->b, adjust);
	char *m = p ? h_map(p, 4 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0) : NULL;

	if (!m)
		return;
	h_pat_fill(m, 7, 0, 4 * PAGE);
	m = remap(p, m, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, NULL);
	if (!m)
		return;
	CHECK_EQ(h_pat_diff(m, 7, 0, 4 * PAGE), -1);
	h_child_sync();
	(void)*(volatile char *)(m + 5 * PAGE);	/* SIGBUS */
	CHECK(!"a load past the end of shared memory did not fault");
}

/* Shared memory grown past its end, then inherited by fork(): the grown
 * mapping is still one, which grows again in place, keeps its bytes and
 * raises SIGBUS past the end of the memory. */
static char *grown;

static void grown_grandchild(void *arg)
{
	char *n = mremap(grown, 6 * PAGE, 8 * PAGE, 0);

	(void)arg;
	CHECK(n == grown);
	if (n != grown)
		return;
	CHECK_EQ(h_pat_diff(n, 5, 0, 4 * PAGE), -1);
	h_child_sync();
	(void)*(volatile char *)(n + 7 * PAGE);	/* SIGBUS */
	CHECK(!"a load past the end of shared memory did not fault");
}

/* Four pages mapped through p (flags and fd as up_pager_map() takes
 * them), with free addresses after them to grow into; NULL on failure. */
static char *map_growable(struct up_pager *p, int flags, int fd)
{
	char *area = mmap(NULL, 16 * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *m;

	if (!p || area == MAP_FAILED)
		return NULL;
	CHECK_OK(up_pager_map(p, area, 4 * PAGE, PROT_READ | PROT_WRITE,
			      flags | MAP_FIXED, fd, 0, &m));
	munmap(area + 4 * PAGE, 12 * PAGE);
	return area;
}

static void grown_child(void *arg)
{
	struct shm_job *j = arg;
	struct up_pager *p = h_open(j->b, adjust);
	char *area = map_growable(p, MAP_SHARED | MAP_ANONYMOUS, -1);

	if (!area)
		return;
	h_pat_fill(area, 5, 0, 4 * PAGE);
	CHECK(remap(p, area, 4 * PAGE, 6 * PAGE, 0, NULL) == area);
	grown = area;
	CHECK_EQ(h_fork(grown_grandchild, NULL), SIGBUS);
}

/* A private mapping of a file grown in place, with copies on both sides
 * of where it grew, then inherited by fork(): one mapping still, which
 * moves whole, copies and file as they were. */
static void private_grown_grandchild(void *arg)
{
	char *n = mremap(grown, 8 * PAGE, 12 * PAGE, MREMAP_MAYMOVE);

	(void)arg;
	CHECK(n != MAP_FAILED);
	if (n == MAP_FAILED)
		return;
	CHECK_EQ(n[PAGE], 'a');
	CHECK_EQ(n[6 * PAGE], 'b');
	CHECK_EQ(h_pat_diff(n + 2 * PAGE, 3, 2 * PAGE, 4 * PAGE), -1);
	CHECK_EQ(h_pat_diff(n + 7 * PAGE, 3, 7 * PAGE, 5 * PAGE), -1);
}

static void private_grown_child(void *arg)
{
	struct shm_job *j = arg;
	struct up_pager *p = h_open(j->b, adjust);
	int fd = h_file(16 * PAGE, 3);
	char *area = map_growable(p, MAP_PRIVATE, fd);

	if (!area)
		return;
	area[PAGE] = 'a';
	CHECK(remap(p, area, 4 * PAGE, 8 * PAGE, 0, NULL) == area);
	area[6 * PAGE] = 'b';
	grown = area;
	CHECK_EQ(h_fork(private_grown_grandchild, NULL), 0);
	CHECK_EQ(h_pat_diff(area + 7 * PAGE, 3, 7 * PAGE, PAGE), -1);
	close(fd);
}

/* The first part of a private mapping of a file, grown elsewhere while
 * the rest of it stays: where it grew, it shows the file, not the copies
 * of the part that stayed, also in a child. */
static void split_grown_grandchild(void *arg)
{
	(void)arg;
	CHECK_EQ(h_pat_diff(grown + 4 * PAGE, 3, 4 * PAGE, 8 * PAGE), -1);
	CHECK_EQ(grown[PAGE], 'a');
}

static void split_grown_child(void *arg)
{
	struct shm_job *j = arg;
	struct up_pager *p = h_open(j->b, adjust);
	int fd = h_file(16 * PAGE, 3);
	char *m = p ? h_map(p, 12 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			    fd, 0) : NULL;

	if (!m)
		return;
	m[PAGE] = 'a';
	m[9 * PAGE] = 'b';
	grown = remap(p, m, 4 * PAGE, 12 * PAGE, MREMAP_MAYMOVE, NULL);
	if (!grown)
		return;
	CHECK_EQ(m[9 * PAGE], 'b');
	CHECK_EQ(h_pat_diff(grown + 4 * PAGE, 3, 4 * PAGE, 8 * PAGE), -1);
	CHECK_EQ(h_fork(split_grown_grandchild, NULL), 0);
	close(fd);
}

/* The program's own mremap(2) on the default pager's memory. */
static void raw_mremap(void)
{
	size_t len = PAGES * PAGE;
	char *m = up_mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *n;

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	h_pat_fill(m, 8, 0, len);
	n = mremap(m, len, 3 * len, MREMAP_MAYMOVE);
	CHECK(n != MAP_FAILED);
	if (n == MAP_FAILED)
		return;
	CHECK_EQ(h_pat_diff(n, 8, 0, len), -1);
	CHECK_EQ(n[2 * len], 0);
	/* Not one mapping: the kernel's answer. */
	CHECK(mremap(n + len, 4 * len, 5 * len, MREMAP_MAYMOVE) == MAP_FAILED &&
	      errno == EFAULT);
	CHECK_OK(up_munmap(n, 3 * len));
}

/* A copy (old_len 0) of a shared mapping onto the copied range itself:
 * the kernel replaces the target, which takes the source, and fails with
 * EFAULT; the target is gone. */
static void copy_onto_itself(void)
{
	size_t len = 8 * 4096;
	int fd = h_file(len, 6);
	char *m = up_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	CHECK(mremap(m + len / 2, 0, len / 2, MREMAP_MAYMOVE | MREMAP_FIXED,
		     m + len / 2) == MAP_FAILED &&
	      errno == EFAULT);
	CHECK_EQ(msync(m + len / 2, 4096, MS_ASYNC), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(h_pat_diff(m, 6, 0, len / 2), -1);
	CHECK_OK(up_munmap(m, len / 2));
	close(fd);
}

/* The same in a child, where the copy of the mapping is the kernel's. */
static char *copied;

static void copy_grandchild(void *arg)
{
	size_t len = *(size_t *)arg;

	CHECK(mremap(copied, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		     copied) == MAP_FAILED &&
	      errno == EFAULT);
	CHECK_EQ(msync(copied, 4096, MS_ASYNC), -1);
	CHECK_EQ(errno, ENOMEM);
}

static void copy_onto_itself_child(void *arg)
{
	size_t len = 4 * 4096;
	int fd = h_file(len, 7);

	(void)arg;
	/* The copy's target runs past the mapping over memory of ours. */
	copied = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(copied != MAP_FAILED);
	if (copied == MAP_FAILED)
		return;
	CHECK(up_mmap(copied, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
		      4096) == copied);
	CHECK_EQ(h_fork(copy_grandchild, &len), 0);
	CHECK_EQ(h_pat_diff(copied, 7, 4096, 4096), -1);
	CHECK_OK(up_munmap(copied, len));
	close(fd);
}

/* Shared memory grown past its end, with advice that the kernel keeps
 * per mapping on part of the grown piece: a range across the advice's
 * edge is two mappings (EFAULT), as the kernel's. */
static void beyond_advised(void)
{
	size_t pg = 4096;
	char *m = up_mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0), *g;

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	g = up_mremap(m, 4 * pg, 12 * pg, MREMAP_MAYMOVE);
	CHECK(g != MAP_FAILED);
	if (g == MAP_FAILED)
		return;
	CHECK_OK(up_madvise(g + 8 * pg, 2 * pg, MADV_DONTFORK));
	errno = 0;
	CHECK(up_mremap(g + 2 * pg, 8 * pg, 10 * pg, MREMAP_MAYMOVE) ==
		      MAP_FAILED &&
	      errno == EFAULT);
	CHECK_OK(up_munmap(g, 12 * pg));
}

/* A shrinking move that starts in the kernel's own memory unmaps the
 * rest of the old range, the pager's mapping after it included. */
static void shrink_from_kernel(void)
{
	size_t pg = 4096;
	int fd = h_file(16 * pg, 8);
	char *m = up_mmap(NULL, 16 * pg, PROT_READ, MAP_SHARED, fd, 0), *k;
	char *to = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0);

	CHECK(m != MAP_FAILED && to != MAP_FAILED);
	if (m == MAP_FAILED || to == MAP_FAILED)
		return;
	k = mmap(m, 4 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(k == m);
	CHECK(mremap(m, 8 * pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, to) == to);
	/* The pager keeps no record of it (up_msync() would find one). */
	CHECK_EQ(up_msync(m + 6 * pg, pg, MS_ASYNC), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(h_pat_diff(m + 8 * pg, 8, 8 * pg, 8 * pg), -1);
	CHECK_OK(up_munmap(m + 8 * pg, 8 * pg));
	munmap(to, pg);
	close(fd);
}

/*
 * A move only of the kernel's own mapping and the hole after it onto a
 * pager's mapping replaces the target only where the mapping lands: the
 * kernel keeps the rest of the target, across from the hole.
 */
static void move_with_hole(void)
{
	size_t pg = 4096;
	int fd = h_file(8 * pg, 9);
	char *t = up_mmap(NULL, 8 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	char *k = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(t != MAP_FAILED && k != MAP_FAILED);
	if (t == MAP_FAILED || k == MAP_FAILED)
		return;
	CHECK_OK(munmap(k + 2 * pg, 2 * pg));
	memset(k, 'k', 2 * pg);
	CHECK(mremap(k, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, t) ==
	      t);
	CHECK_EQ(t[0], 'k');
	CHECK_EQ(t[pg], 'k');
	for (size_t i = 2; i < 8; i++) {
		char v = 0;

		CHECK_EQ(h_access(t + i * pg, 0, &v), 0);
		CHECK_EQ(v, (char)h_pat(9, i * pg));
	}
	CHECK_OK(up_munmap(t, 8 * pg));
	close(fd);
}

static char *moved_to;

static void moved_child(void *arg)
{
	(void)arg;
	CHECK_EQ(moved_to[0], 'k');
	CHECK_EQ(moved_to[2 * 4096], 'p');
}

/*
 * A move that only moves takes the kernel's own mapping and a pager's
 * together onto a pager's shared memory: where the kernel's lands, the
 * pager gives up its memory first, and does not map it back over the
 * moved pages at fork().
 */
static void move_over_pager(void)
{
	size_t half = 2 * 4096, len = 2 * half;
	char *area = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0), *k, *pp, *t;

	CHECK(area != MAP_FAILED);
	if (area == MAP_FAILED)
		return;
	k = mmap(area, half, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	pp = up_mmap(area + half, half, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	t = up_mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(k == area && pp == area + half && t != MAP_FAILED);
	if (k != area || pp != area + half || t == MAP_FAILED)
		return;
	memset(k, 'k', half);
	memset(pp, 'p', half);
	memset(t, 't', len);
	moved_to = mremap(area, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, t);
	CHECK(moved_to == t);
	if (moved_to != t)
		return;
	CHECK_EQ(h_fork(moved_child, NULL), 0);
	CHECK_EQ(t[0], 'k');
	CHECK_EQ(t[half], 'p');
	CHECK_OK(up_munmap(t, len));
}

/* The program's own private anonymous mmap(2) over part of the default
 * pager's: one mapping, as the kernel makes it, which grows whole. */
static void joined_anon(void)
{
	size_t len = 16 * 4096;
	char *area = mmap(NULL, 2 * len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *m, *k;
	int zero = 1;

	CHECK(area != MAP_FAILED);
	if (area == MAP_FAILED)
		return;
	munmap(area + len, len);
	m = up_mmap(area, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(m == area);
	if (m != area)
		return;
	h_pat_fill(m, 4, 0, len);
	k = mmap(m + len / 2, len / 4, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(k == m + len / 2);
	/* One mapping: it moves and grows whole (two would be EFAULT). */
	m = mremap(m, len, 2 * len, MREMAP_MAYMOVE);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	k = m + len / 2;
	CHECK_EQ(h_pat_diff(m, 4, 0, len / 2), -1);
	CHECK_EQ(h_pat_diff(m + 3 * len / 4, 4, 3 * len / 4, len / 4), -1);
	for (size_t i = len / 2; i < 3 * len / 4; i++)
		zero &= k[i - len / 2] == 0;
	for (size_t i = len; i < 2 * len; i++)
		zero &= m[i] == 0;
	CHECK(zero);
	/* Moved, it keeps the page offset of where the kernel made it: a
	 * new mapping over its middle is one of its own, and the three are
	 * not one mapping. */
	area = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	CHECK(area != MAP_FAILED);
	if (area == MAP_FAILED)
		return;
	m = mremap(m, 2 * len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED, area);
	CHECK(m == area);
	k = mmap(m + len / 2, len / 4, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(k == m + len / 2);
	CHECK(mremap(m, 2 * len, 3 * len, MREMAP_MAYMOVE) == MAP_FAILED &&
	      errno == EFAULT);
	CHECK_EQ(h_pat_diff(m, 4, 0, len / 2), -1);
	CHECK_OK(up_munmap(m, 2 * len));
}

/*
 * What the kernel refuses before it changes anything, the target of a
 * fixed move kept: a copy (old_len 0) of its own private mapping, and a
 * move of a range that starts with a private mapping of /dev/zero and
 * holds another.  One that holds such a mapping after another moves the
 * mappings before it, and fails there.
 */
/*
 * Shared anonymous memory grown in place (its new page past the end of the
 * shared memory), advice given to that page alone: two mappings to the
 * kernel, which a fixed move of both refuses with EFAULT, as the kernel's
 * own calls do in the same run.
 */
static void advised_beyond(void)
{
	int (*adv[2])(void *, size_t, int) = { madvise, up_madvise };
	int got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 16 * PAGE, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *t;

		got[k] = -1;
		CHECK(area != MAP_FAILED);
		if (area == MAP_FAILED)
			continue;
		/* two pages of shared memory, with room to grow after them
		 * (freed just before it grows, so that nothing lands there) */
		a = mm[k](area, 2 * PAGE, PROT_NONE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area);
		munmap(area + 2 * PAGE, 14 * PAGE);
		CHECK(mremap(a, 2 * PAGE, 3 * PAGE, 0) == a);
		CHECK_OK(adv[k](a + 2 * PAGE, PAGE, MADV_RANDOM));
		t = mm[k](NULL, 8 * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errno = 0;
		got[k] = mremap(a, 3 * PAGE, 8 * PAGE,
				MREMAP_MAYMOVE | MREMAP_FIXED, t) == MAP_FAILED ?
				 errno : 0;
		if (k) {
			up_munmap(a, 3 * PAGE);
			up_munmap(t, 8 * PAGE);
		} else {
			munmap(a, 3 * PAGE);
			munmap(t, 8 * PAGE);
		}
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], EFAULT);
}

/*
 * A private MAP_NORESERVE file mapping, part of it made writable and then
 * all of it read-only again: one mapping again (the kernel charges no
 * MAP_NORESERVE mapping for being writable, which would keep the part
 * apart), which mremap(2) grows, as the kernel's own calls do.
 */
static void noreserve_merged(void)
{
	int fd = h_file(64 * 4096, 5), ro = h_reopen(fd, O_RDONLY), got[2];

	for (int k = 0; k < 2; k++) {
		char *a = mm[k](NULL, 32 * 4096, PROT_READ | PROT_EXEC,
				MAP_PRIVATE | MAP_NORESERVE, ro, 4096), *n;

		got[k] = -1;
		CHECK(a != MAP_FAILED);
		if (a == MAP_FAILED)
			continue;
		CHECK_OK(mp[k](a + 5 * 4096, 4 * 4096, PROT_WRITE));
		CHECK_OK(mp[k](a, 17 * 4096, PROT_READ));
		errno = 0;
		n = mremap(a, 17 * 4096, 21 * 4096, MREMAP_MAYMOVE);
		got[k] = n == MAP_FAILED ? errno : 0;
		if (n != MAP_FAILED) {
			CHECK_EQ((uint8_t)n[20 * 4096], h_pat(5, 21 * 4096));
			if (k) {
				up_munmap(n, 21 * 4096);
				up_munmap(a + 17 * 4096, 15 * 4096);
			} else {
				munmap(n, 21 * 4096);
				munmap(a + 17 * 4096, 15 * 4096);
			}
		}
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], 0);
	close(ro);
	close(fd);
}

/* The errno of mremap(2) in a child (0 if it succeeded), after
 * protect(2) there if given. */
static int child_remap(char *a, size_t old_len, size_t new_len,
		       int (*protect)(void *, size_t, int), int prot)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (protect && protect(a, old_len, prot))
			_exit(100);
		errno = 0;
		_exit(mremap(a, old_len, new_len, MREMAP_MAYMOVE) ==
				      MAP_FAILED ?
			      errno :
			      0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * The kernel's anon_vma, in mremap(2) of private memory split by
 * mprotect(2) and made alike again: made read-only before any fault, a
 * private anonymous mapping loses its accounting (VM_ACCOUNT), and merges
 * no more with a piece that kept it (got[0]); in a child, each piece with
 * an anon_vma has one of its own, and they merge no more (got[1]); the
 * pieces of a private file mapping with copies share theirs, and merge
 * again in the parent after a fork (got[2]); a store gives the anon_vma
 * (got[3]).  The kernel's answers and the pager's must be equal.
 */
static void anon_vma_merged(void)
{
	int fd = h_file(16 * 4096, 6), got[4][2];
	size_t pg = 4096;

	for (int k = 0; k < 2; k++) {
		/* Inside an inaccessible area, which merges with none of
		 * them: no neighbour lends its anon_vma. */
		char *area = mmap(NULL, 64 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;
		volatile char v;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 4 * pg, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a != MAP_FAILED);
		CHECK_OK(mp[k](a + 2 * pg, pg, PROT_READ | PROT_EXEC));
		v = a[0];
		(void)v;
		CHECK_OK(mp[k](a, 4 * pg, PROT_READ | PROT_EXEC));
		errno = 0;
		n = mremap(a, 4 * pg, 8 * pg, MREMAP_MAYMOVE);
		got[0][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 4 * pg : 8 * pg);

		a = mm[k](area + 4 * pg, 8 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a != MAP_FAILED);
		v = a[6 * pg];
		CHECK_OK(mp[k](a + 2 * pg, 2 * pg, PROT_READ));
		got[1][k] = child_remap(a, 8 * pg, 10 * pg, mp[k], PROT_READ);
		mu[k](a, 8 * pg);

		a = mm[k](area + 4 * pg, 2 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 4 * pg);
		CHECK(a != MAP_FAILED);
		memset(a + pg - 4, 'x', 8);
		CHECK_OK(mp[k](a, pg, PROT_READ));
		CHECK_EQ(child_remap(a, pg, pg, mp[k], PROT_READ), 0);
		CHECK_OK(mp[k](a, 2 * pg, PROT_READ));
		errno = 0;
		n = mremap(a, 2 * pg, 14 * pg, MREMAP_MAYMOVE);
		got[2][k] = n == MAP_FAILED ? errno : 0;
		if (n != MAP_FAILED)
			CHECK_EQ(n[pg + 3], 'x');
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 2 * pg : 14 * pg);

		/* As got[0], a store for the load: an anon_vma on every
		 * kernel. */
		a = mm[k](area + 4 * pg, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a != MAP_FAILED);
		CHECK_OK(mp[k](a + 2 * pg, pg, PROT_READ | PROT_EXEC));
		a[0] = 1;
		CHECK_OK(mp[k](a, 4 * pg, PROT_READ | PROT_EXEC));
		errno = 0;
		n = mremap(a, 4 * pg, 8 * pg, MREMAP_MAYMOVE);
		got[3][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 4 * pg : 8 * pg);
		munmap(area, 64 * pg);
	}
	/* (Whether a load gives an anon_vma, kernels differ: most map the
	 * zero page and give none, and then got[0] and got[1] are 0.) */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(got[i][1], got[i][0]);
	CHECK_EQ(got[2][0], 0);
	CHECK_EQ(got[3][0], EFAULT);
	close(fd);
}

/*
 * A locked private mapping made writable is faulted in for writing, and
 * gets its anon_vma, once all of its mapping has the new protection, and
 * merges with its neighbours first.  A private file mapping, locked and
 * grown (moved), whose last page but one is made writable first (an anon_vma of
 * its own) and then the whole: one mapping, which grows (got[0]).  Locked
 * private anonymous memory, read-only, inaccessible and write-only
 * pieces, made read-write: the first two were two mappings, faulted in
 * apart (got[1]).  The kernel's answers and the pager's must be equal.
 */
static void locked_made_writable(void)
{
	size_t pg = 4096;
	int fd = h_file(16 * pg, 4), got[2][2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 64 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 4 * pg, pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 4 * pg);
		CHECK(a != MAP_FAILED);
		CHECK_OK(mp[k](a, pg, PROT_READ));
		CHECK_OK(mlock(a, pg));
		n = mremap(a, pg, 6 * pg, MREMAP_MAYMOVE);
		CHECK(n != MAP_FAILED);
		a = n;
		CHECK_OK(mp[k](a + 4 * pg, pg, PROT_READ | PROT_WRITE));
		CHECK_OK(mp[k](a, 6 * pg, PROT_READ | PROT_WRITE));
		CHECK_EQ(h_pat_diff(a, 4, 4 * pg, 6 * pg), -1);
		errno = 0;
		n = mremap(a, 6 * pg, 8 * pg, MREMAP_MAYMOVE);
		got[0][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 6 * pg : 8 * pg);

		a = mm[k](area + 4 * pg, 3 * pg, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a != MAP_FAILED);
		CHECK_OK(mp[k](a + pg, 2 * pg, PROT_NONE));
		CHECK(mlock(a, 3 * pg) == -1 && errno == ENOMEM);
		CHECK_OK(mp[k](a + 2 * pg, pg, PROT_WRITE));
		CHECK_OK(mp[k](a, 3 * pg, PROT_READ | PROT_WRITE));
		errno = 0;
		n = mremap(a, 3 * pg, 13 * pg, MREMAP_MAYMOVE);
		got[1][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 3 * pg : 13 * pg);
		munmap(area, 64 * pg);
	}
	CHECK_EQ(got[0][1], got[0][0]);
	CHECK_EQ(got[1][1], got[1][0]);
	CHECK_EQ(got[0][0], 0);
	close(fd);
}

/*
 * The anon_vma a merged mapping keeps.  A store past the end of a file
 * raises SIGBUS but gives the private mapping an anon_vma all the same;
 * two pieces that got theirs apart (a page between them inaccessible)
 * and are then made alike again merge as far as the first one's goes,
 * and mremap(2) of all of them is EFAULT (got[0]).  A private anonymous
 * mapping made over the middle of one with an anon_vma takes it, and in
 * a child the whole is one mapping still: it grows in place (got[1]).
 * The kernel's answers and the pager's must be equal.
 */
static void anon_vma_kept(void)
{
	size_t pg = 4096;
	int fd = h_file(pg + 1, 13), got[2][2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 64 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;
		char v = 5;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 4 * pg, 7 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 0);
		CHECK(a != MAP_FAILED);
		CHECK_OK(mp[k](a + 4 * pg, pg, PROT_NONE));
		CHECK_EQ(h_access(a + 3 * pg, 1, &v), SIGBUS);
		CHECK_EQ(h_access(a + 5 * pg, 1, &v), SIGBUS);
		CHECK_OK(mp[k](a, 7 * pg, PROT_READ | PROT_WRITE));
		errno = 0;
		n = mremap(a, 7 * pg, 15 * pg, MREMAP_MAYMOVE);
		got[0][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 7 * pg : 15 * pg);

		a = mm[k](area + 4 * pg, 10 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED,
			  -1, 0);
		CHECK(a != MAP_FAILED);
		CHECK(mmap(a + pg, pg, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		      a + pg);
		got[1][k] = child_remap(a, 10 * pg, 15 * pg, NULL, 0);
		mu[k](a, 10 * pg);
		munmap(area, 64 * pg);
	}
	CHECK_EQ(got[0][1], got[0][0]);
	CHECK_EQ(got[1][1], got[1][0]);
	CHECK_EQ(got[0][0], EFAULT);
	CHECK_EQ(got[1][0], 0);
	close(fd);
}

/*
 * Stores to a private mapping of a file, which copy its pages: the
 * kernel gives the first and the last of three mappings (the middle one
 * was made writable apart) anon_vmas of their own, so that protection
 * made alike again merges the middle one with one of them only, and
 * mremap(2) of all three is EFAULT (got[0]).  Private anonymous memory
 * that mremap(2) moved, and of which MREMAP_DONTUNMAP then leaves a piece
 * behind: the piece is of the moved mapping still, which then moves and
 * shrinks whole (got[1]).  The kernel's answers and the pager's must be
 * equal.
 */
static void copies_anon_vma(void)
{
	size_t pg = 4096;
	int fd = h_file(64 * pg, 14), got[2][2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 64 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 8 * pg, 3 * pg, PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 21 * pg);
		CHECK(a == area + 8 * pg);
		CHECK_OK(mp[k](a + pg, pg, PROT_READ | PROT_WRITE));
		CHECK_EQ(h_pat_diff(a, 14, 21 * pg, 3 * pg), -1);
		memcpy(a + 2 * pg, "abcdef", 6);
		memcpy(a + 0x46f, "abcdef", 6);
		CHECK_OK(mp[k](a, 3 * pg, PROT_WRITE));
		errno = 0;
		n = mremap(a, 3 * pg, 4 * pg, MREMAP_MAYMOVE);
		got[0][k] = n == MAP_FAILED ? errno : 0;
		mu[k](n == MAP_FAILED ? a : n, n == MAP_FAILED ? 3 * pg : 4 * pg);

		a = mm[k](area + 8 * pg, 4 * pg, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area + 8 * pg);
		n = mremap(a, 3 * pg, 6 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			   area + 32 * pg);
		CHECK(n == area + 32 * pg);
		CHECK(mremap(n + 2 * pg, 3 * pg, 3 * pg,
			     MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			     area + 48 * pg) == area + 48 * pg);
		errno = 0;
		got[1][k] = mremap(n, 6 * pg, 3 * pg,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   area + 16 * pg) == MAP_FAILED ? errno : 0;
		mu[k](area, 64 * pg);
	}
	CHECK_EQ(got[0][1], got[0][0]);
	CHECK_EQ(got[1][1], got[1][0]);
	CHECK_EQ(got[0][0], EFAULT);
	CHECK_EQ(got[1][0], 0);
	close(fd);
}

/*
 * Shared memory that mremap(2) grew, past its end, and then moved and grew
 * again: what lies past the end is one mapping, which mremap(2) moves as
 * one (got), and where it lands raises SIGBUS.  The kernel's answers and
 * the pager's must be equal.
 */
static void beyond_grown(void)
{
	size_t pg = 4096;
	int got[2], sig[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 96 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;
		char v = 0;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 16 * pg, 9 * pg, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area + 16 * pg);
		munmap(area + 25 * pg, 71 * pg);
		CHECK(mremap(a, 9 * pg, 21 * pg, 0) == a);
		munmap(area, 16 * pg);
		n = mremap(a, 17 * pg, 20 * pg, MREMAP_MAYMOVE);
		CHECK(n != MAP_FAILED && n != a);
		errno = 0;
		got[k] = mremap(n + 15 * pg, 5 * pg, 8 * pg,
				MREMAP_MAYMOVE | MREMAP_FIXED,
				area + 12 * pg) == MAP_FAILED ? errno : 0;
		sig[k] = got[k] ? 0 : h_access(area + 14 * pg, 0, &v);
		munmap(area, 96 * pg);
		if (n != MAP_FAILED)
			munmap(n, 20 * pg);
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], 0);
	CHECK_EQ(sig[1], sig[0]);
	CHECK_EQ(sig[0], SIGBUS);
}

/* What mremap(2) grew shared memory by, past its end, is of its mapping,
 * MADV_DONTFORK and all: a child of fork() has none of it (got), also
 * once the shared memory itself is unmapped. */
static void beyond_child(void *arg)
{
	volatile char *b = arg;

	b[0] = 1;
}

static void beyond_dontfork(void)
{
	int (*md[2])(void *, size_t, int) = { madvise, up_madvise };
	size_t pg = 4096;
	int got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 16 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a;

		CHECK(area != MAP_FAILED);
		munmap(area + 8 * pg, 8 * pg);
		a = mm[k](NULL, pg, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		CHECK(a != MAP_FAILED);
		CHECK_OK(md[k](a, pg, MADV_DONTFORK));
		CHECK(mremap(a, pg, pg,
			     MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			     area + 7 * pg) == area + 7 * pg);
		CHECK(mremap(area + 7 * pg, pg, 4 * pg, 0) == area + 7 * pg);
		munmap(area + 7 * pg, pg);	/* the beyond part alone */
		got[k] = h_fork(beyond_child, area + 9 * pg);
		munmap(a, pg);
		munmap(area, 11 * pg);
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], SIGSEGV);
}

/*
 * A private mapping of /dev/zero that mremap(2) moved and grew is one
 * mapping with what it grew by: mremap(2) moves a range across the two
 * (got).  The kernel's answers and the pager's must be equal.
 */
static void zero_grown(void)
{
	size_t pg = 4096;
	int fd = open("/dev/zero", O_RDWR), got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 64 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *z, *n;

		CHECK(area != MAP_FAILED);
		z = mm[k](area, 4 * pg, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_FIXED, fd, 0);
		CHECK(z == area);
		z[0] = 'z';
		CHECK(mremap(z, pg, 12 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			     area + 16 * pg) == area + 16 * pg);
		errno = 0;
		n = mremap(area + 16 * pg, 2 * pg, 4 * pg, MREMAP_MAYMOVE);
		got[k] = n == MAP_FAILED ? errno : 0;
		if (n != MAP_FAILED) {
			CHECK_EQ(n[0], 'z');
			munmap(n, 4 * pg);
		}
		munmap(area, 64 * pg);
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], 0);
	close(fd);
}

/*
 * The program's own private anonymous memory that holds only zeros
 * (untouched, or loaded and stored zeros), beside a mapping of the pager's
 * that the program then places there, alike: the kernel would make the
 * two one mapping, which mremap(2) grows in place (got).  The kernel's
 * answers and the pager's must be equal.
 */
static void beside_kernel(void)
{
	size_t pg = 4096;
	int got[2][2];

	for (int k = 0; k < 2; k++)
		for (int v = 0; v < 2; v++) {
			char *area = mmap(NULL, 64 * pg, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *kern, *a, *n;

			CHECK(area != MAP_FAILED);
			munmap(area + 12 * pg, 52 * pg);
			kern = mmap(area + 5 * pg, 7 * pg,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				    0);
			CHECK(kern == area + 5 * pg);
			if (v) {
				CHECK_EQ(*(volatile char *)(kern + 3 * pg), 0);
				*(volatile char *)(kern + 6 * pg) = 0;
			}
			a = mm[k](area, 7 * pg, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				  0);
			CHECK(a == area);
			a[0] = 2;
			errno = 0;
			n = mremap(a, 12 * pg, 14 * pg, 0);
			got[v][k] = n == MAP_FAILED ? errno : 0;
			CHECK_EQ(a[0], 2);
			CHECK_EQ(a[11 * pg], 0);
			mu[k](area, n == MAP_FAILED ? 12 * pg : 14 * pg);
		}
	for (int v = 0; v < 2; v++) {
		CHECK_EQ(got[v][1], got[v][0]);
		CHECK_EQ(got[v][0], 0);
	}
}

/* beside_store()'s other thread: stores 1 at *target a moment after each
 * go, then says done. */
static _Atomic(char *) target;
static atomic_int go, done;

static void *storer(void *arg)
{
	unsigned seed = 7;

	(void)arg;
	for (;;) {
		int g;

		while (!(g = atomic_load(&go)))
			;
		if (g < 0)
			return NULL;
		for (volatile unsigned i = rand_r(&seed) % 200000; i; i--)
			;
		*atomic_load(&target) = 1;
		atomic_store(&go, 0);
		atomic_store(&done, 1);
	}
}

/*
 * The kernel's memory beside a pager mapping, all zeros, is taken over
 * when mremap(2) grows the two in place; another thread's store to it at
 * that moment is kept (in the pager's memory, or in the kernel's if the
 * call refuses for the store came first), never lost.
 */
static void beside_store(void)
{
	size_t pg = 4096;
	int rounds = H_SANITIZED ? 30 : 300;
	pthread_t t;

	/* (ThreadSanitizer holds a signal back until the thread it hits
	 * reaches a point of its choosing: the fenced store would wait
	 * there.) */
	if (H_TSAN)
		return;
	CHECK_EQ(pthread_create(&t, NULL, storer, NULL), 0);
	for (int i = 0; i < rounds; i++) {
		char *area = mmap(NULL, 16 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *x, *k, *n;

		CHECK(area != MAP_FAILED);
		munmap(area + pg, 15 * pg);
		x = up_mmap(area, pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		k = mmap(area + pg, pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(x == area && k == area + pg);
		atomic_store(&target, k);
		atomic_store(&done, 0);
		atomic_store(&go, 1);
		n = mremap(x, 2 * pg, 3 * pg, 0);
		while (!atomic_load(&done))
			;
		CHECK(n == MAP_FAILED || n == x);
		CHECK_EQ(k[0], 1);
		if (n == x) {
			up_munmap(x, 3 * pg);
		} else {
			up_munmap(x, pg);
			munmap(k, pg);
		}
	}
	atomic_store(&go, -1);
	pthread_join(t, NULL);
}

/*
 * The kernel's own memory beside a mapping that the program places there
 * stays the kernel's while no call names the two together: a library
 * that owns it (the allocator, a sanitizer) may use the system calls
 * themselves on it.  MADV_DONTNEED by the raw system call must leave
 * zeros there, as in any private anonymous memory of the kernel's.
 */
static void beside_unnamed(void)
{
	size_t pg = 4096;
	char *area = mmap(NULL, 12 * pg, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *k, *a;

	CHECK(area != MAP_FAILED);
	if (area == MAP_FAILED)
		return;
	k = mmap(area + 4 * pg, 4 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	a = up_mmap(area, 4 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(k == area + 4 * pg && a == area);
	k[0] = 5;
	a[0] = 6;
	CHECK_EQ(syscall(SYS_madvise, k, 4 * pg, MADV_DONTNEED), 0);
	CHECK_EQ(k[0], 0);
	CHECK_EQ(a[0], 6);
	CHECK_OK(up_munmap(area, 12 * pg));
}

/*
 * Where mlock(2) locked the middle of a mapping, MREMAP_DONTUNMAP of part
 * of that middle unlocks all of it (the kernel's mapping mlock(2) split
 * off), not only what it leaves behind: msync(MS_INVALIDATE) over the rest
 * of the middle then finds nothing locked (got).  The kernel's answers and
 * the pager's must be equal.
 */
static void left_unlocked(void)
{
	size_t pg = 4096;
	int got[2][2];

	for (int k = 0; k < 2; k++)
		for (int v = 0; v < 2; v++) {
			char *area = mmap(NULL, 32 * pg, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *a;

			CHECK(area != MAP_FAILED);
			a = mm[k](area, 16 * pg, PROT_READ | PROT_WRITE,
				  (v ? MAP_SHARED : MAP_PRIVATE) |
					  MAP_ANONYMOUS | MAP_FIXED,
				  -1, 0);
			CHECK(a == area);
			a[0] = 1;
			CHECK_OK(mlock(a + 4 * pg, 8 * pg));
			CHECK(mremap(a + 6 * pg, 3 * pg, 3 * pg,
				     MREMAP_MAYMOVE | MREMAP_FIXED |
					     MREMAP_DONTUNMAP,
				     area + 20 * pg) == area + 20 * pg);
			got[v][k] = msync(a + 2 * pg, 4 * pg,
					  MS_ASYNC | MS_INVALIDATE) ?
					    errno :
					    0;
			munlock(area, 32 * pg);
			munmap(area, 32 * pg);
		}
	for (int v = 0; v < 2; v++) {
		CHECK_EQ(got[v][1], got[v][0]);
		CHECK_EQ(got[v][0], 0);
	}
}

/* The same where the move's target is the rest of that middle: it takes
 * the lock with it, and msync(MS_INVALIDATE) there is EBUSY (got). */
static void left_target_locked(void)
{
	size_t pg = 4096;
	int got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 8 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a;

		CHECK(area != MAP_FAILED);
		a = mm[k](area, 8 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area);
		CHECK_OK(mlock(a + 4 * pg, 2 * pg));
		CHECK(mremap(a + 4 * pg, pg, pg,
			     MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			     a + 5 * pg) == a + 5 * pg);
		got[k] = msync(a + 5 * pg, pg, MS_INVALIDATE) ? errno : 0;
		munlock(area, 8 * pg);
		munmap(area, 8 * pg);
	}
	CHECK_EQ(got[1], got[0]);
}

/* A move (MREMAP_DONTUNMAP) that starts beside a locked page, where it is
 * not locked (it is further on): that page stays locked, and
 * MADV_DONTNEED there is EINVAL (got). */
static void left_lock_kept(void)
{
	size_t pg = 4096;
	int got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 16 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a;

		CHECK(area != MAP_FAILED);
		a = mm[k](area, 8 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area);
		CHECK_OK(mlock(a + 2 * pg, pg));
		CHECK_OK(mlock(a + 5 * pg, pg));
		CHECK(mremap(a + 3 * pg, 3 * pg, 3 * pg,
			     MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			     area + 10 * pg) == area + 10 * pg);
		got[k] = (k ? up_madvise : madvise)(a + 2 * pg, pg,
						    MADV_DONTNEED) ? errno : 0;
		munlock(area, 16 * pg);
		munmap(area, 16 * pg);
	}
	CHECK_EQ(got[1], got[0]);
}

/*
 * A move (MREMAP_DONTUNMAP) of a locked mapping that the pager holds as
 * two pieces (a refused mremap(2) cut it there) is one move of one
 * mapping: the whole target is locked, and msync(MS_INVALIDATE) there is
 * EBUSY.  The kernel's answers and the pager's must be equal.
 */
static void locked_move(void)
{
	void *(*mr[2])(void *, size_t, size_t, int, ...) = { mremap, up_mremap };
	int (*ms[2])(void *, size_t, int) = { msync, up_msync };
	size_t pg = 4096;
	int fd = h_file(16 * pg, 15), got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 128 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *n;

		CHECK(area != MAP_FAILED);
		a = mm[k](area + 64 * pg, 20 * pg, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, fd, 3 * pg);
		CHECK(a != MAP_FAILED);
		CHECK(mr[k](a + 5 * pg, 15 * pg, 16 * pg, 0) == MAP_FAILED);
		mlock(a, 20 * pg);
		n = mr[k](a, 20 * pg, 20 * pg,
			  MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			  area + 8 * pg);
		CHECK(n == area + 8 * pg);
		got[k] = ms[k](n + 10 * pg, 8 * pg, MS_SYNC | MS_INVALIDATE) ?
				 errno :
				 0;
		munlock(n, 20 * pg);
		mu[k](a, 20 * pg);
		mu[k](n, 20 * pg);
		munmap(area, 128 * pg);
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], EBUSY);
	close(fd);
}

/*
 * What MREMAP_DONTUNMAP leaves behind of a range mlock(2) locked is a
 * mapping of its own, which the kernel merges with no neighbour once the
 * lock is gone (got[0]); and private anonymous memory
 * moved beside other moved memory merges with it no more: its page
 * offsets are of where it was made (got[1]).
 */
static void left_apart(void)
{
	size_t pg = 4096;
	int got[2][2];
	int locks = 1;	/* (AddressSanitizer makes mlock(2) a no-op) */

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 32 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *b;
		long locked = h_status("VmLck");

		CHECK(area != MAP_FAILED);
		a = mm[k](area, 6 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area);
		a[0] = 1;
		CHECK_OK(mlock(a + 2 * pg, 2 * pg));
		locks = locks && h_status("VmLck") > locked;
		CHECK(mremap(a + 2 * pg, 2 * pg, 2 * pg,
			     MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			     area + 8 * pg) == area + 8 * pg);
		errno = 0;
		got[0][k] = mremap(a, 6 * pg, 7 * pg, MREMAP_MAYMOVE) ==
					    MAP_FAILED ?
				    errno :
				    0;
		mu[k](area, 32 * pg);

		area = mmap(NULL, 32 * pg, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(area != MAP_FAILED);
		a = mm[k](area, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		b = mm[k](area + 16 * pg, pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(a == area && b == area + 16 * pg);
		a[0] = 1;
		CHECK(mremap(a, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			     area + 8 * pg) == area + 8 * pg);
		CHECK(mremap(b, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			     area + 12 * pg) == area + 12 * pg);
		errno = 0;
		got[1][k] = mremap(area + 8 * pg, 5 * pg, 6 * pg,
				   MREMAP_MAYMOVE) == MAP_FAILED ?
				    errno :
				    0;
		mu[k](area, 32 * pg);
	}
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(got[i][1], got[i][0]);
		if (i || locks)
			CHECK_EQ(got[i][0], EFAULT);
	}
}

/*
 * Where mlock(2) locked the whole mapping, what MREMAP_DONTUNMAP leaves
 * behind merges with the rest again, and the whole is unlocked: growing
 * all of it then works, as in the kernel, also where mprotect(2) had split
 * it and joined it again before (got[1]), and for shared memory (got[2]).
 */
static void left_merged(void)
{
	size_t pg = 4096;
	int got[3][2];

	for (int k = 0; k < 2; k++)
		for (int v = 0; v < 3; v++) {
			char *area = mmap(NULL, 32 * pg, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *a;

			CHECK(area != MAP_FAILED);
			a = mm[k](area, 4 * pg, PROT_READ | PROT_WRITE,
				  (v == 2 ? MAP_SHARED : MAP_PRIVATE) |
					  MAP_ANONYMOUS | MAP_FIXED,
				  -1, 0);
			CHECK(a == area);
			a[0] = 1;
			CHECK_OK(mlock(a, 4 * pg));
			if (v == 1) {
				CHECK_OK(mprotect(a + 2 * pg, pg, PROT_READ));
				CHECK_OK(mprotect(a, 4 * pg,
						  PROT_READ | PROT_WRITE));
			}
			CHECK(mremap(a + 2 * pg, 2 * pg, 2 * pg,
				     MREMAP_MAYMOVE | MREMAP_FIXED |
					     MREMAP_DONTUNMAP,
				     area + 8 * pg) == area + 8 * pg);
			errno = 0;
			got[v][k] = mremap(a, 4 * pg, 6 * pg, MREMAP_MAYMOVE |
						       MREMAP_FIXED,
					   area + 16 * pg) == MAP_FAILED ?
					    errno :
					    0;
			mu[k](area, 32 * pg);
		}
	for (int v = 0; v < 3; v++)
		CHECK_EQ(got[v][1], got[v][0]);
}

/* Two private mappings of one file, back to back at offsets that go on,
 * but made through two open files (the file opened twice): the kernel
 * merges mappings of one open file alone, so a resize across both fails
 * with EFAULT, as the kernel's does. */
static void two_open_files(void)
{
	size_t pg = 4096;
	int fd = h_file(16 * pg, 12), fd2 = h_reopen(fd, O_RDWR), got[2];

	for (int k = 0; k < 2; k++) {
		char *area = mmap(NULL, 32 * pg, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a, *b;

		CHECK(area != MAP_FAILED);
		a = mm[k](area, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 0);
		b = mm[k](area + 4 * pg, 4 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd2, 4 * pg);
		CHECK(a == area && b == area + 4 * pg);
		CHECK_EQ(h_pat_diff(a, 12, 0, 8 * pg), -1);
		errno = 0;
		got[k] = mremap(a, 6 * pg, 7 * pg, 0) == MAP_FAILED ? errno : 0;
		mu[k](area, 32 * pg);
	}
	CHECK_EQ(got[1], got[0]);
	CHECK_EQ(got[0], EFAULT);
	close(fd2);
	close(fd);
}

static void refused_first(void)
{
	size_t len = 4 * PAGE;
	char *area = mmap(NULL, 4 * len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = h_file(len, 9), zero = open("/dev/zero", O_RDWR);
	char *k, *t, *f, *z;

	CHECK(area != MAP_FAILED && zero >= 0);
	if (area == MAP_FAILED || zero < 0)
		return;
	/* The area stays reserved (PROT_NONE) until each part is mapped
	 * over: the pager's own memory, placed by the kernel where it has no
	 * zone of its own (under ThreadSanitizer), cannot land in it and be
	 * mapped over by a MAP_FIXED of the program's. */
	/* The target: the pager's, with a pattern. */
	t = up_mmap(area, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	/* The kernel's own private memory (the library's mmap(2) passes
	 * it on), untouched by any pager. */
	k = mmap(area + len, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(t == area && k == area + len);
	h_pat_fill(t, 3, 0, len);
	CHECK(mremap(k, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, t) ==
		      MAP_FAILED &&
	      errno == EINVAL);
	CHECK_EQ(h_pat_diff(t, 3, 0, len), -1);

	/* A private mapping of /dev/zero, then a shared file mapping: the
	 * move is refused at once. */
	z = up_mmap(area + 2 * len, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED, zero, 0);
	f = up_mmap(area + 3 * len, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(z == area + 2 * len && f == area + 3 * len);
	CHECK(mremap(z, 2 * len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED, t) ==
		      MAP_FAILED &&
	      errno == EFAULT);
	CHECK_EQ(h_pat_diff(t, 3, 0, len), -1);
	CHECK_EQ(h_pat_diff(f, 9, 0, len), -1);

	/* The other way round: the file mapping moves onto the target,
	 * and the rest of the target stays. */
	f = up_mmap(area + 2 * len, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, fd, 0);
	z = up_mmap(area + 3 * len, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED, zero, 0);
	CHECK(f == area + 2 * len && z == area + 3 * len);
	memset(k, 'k', len);
	CHECK(mremap(f, 2 * len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED, t) ==
		      MAP_FAILED &&
	      errno == EFAULT);
	CHECK_EQ(h_pat_diff(t, 9, 0, len), -1);
	CHECK_EQ(k[0], 'k');
	{
		char v;

		CHECK_EQ(h_access(f, 0, &v), SIGSEGV);
	}
	CHECK_EQ(z[0], 0);
	CHECK_OK(up_munmap(area, 4 * len));
	close(fd);
	close(zero);
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND(adjust, shared_file);
	FOR_EACH_BACKEND(adjust, private_anon);
	FOR_EACH_BACKEND_ID(b) {
		struct shm_job j = { b };

		CHECK_EQ(h_fork(shm_child, &j), SIGBUS);
		CHECK_EQ(h_fork(grown_child, &j), 0);
		CHECK_EQ(h_fork(private_grown_child, &j), 0);
		CHECK_EQ(h_fork(split_grown_child, &j), 0);
	}
	CHECK_EQ(h_fork(copy_onto_itself_child, NULL), 0);
	raw_mremap();
	joined_anon();
	move_over_pager();
	move_with_hole();
	beyond_advised();
	shrink_from_kernel();
	copy_onto_itself();
	refused_first();
	two_open_files();
	advised_beyond();
	noreserve_merged();
	anon_vma_merged();
	anon_vma_kept();
	locked_made_writable();
	copies_anon_vma();
	beyond_grown();
	beyond_dontfork();
	zero_grown();
	beside_kernel();
	beside_unnamed();
	beside_store();
	left_unlocked();
	left_target_locked();
	left_lock_kept();
	locked_move();
	left_apart();
	left_merged();
	h_done();
}
