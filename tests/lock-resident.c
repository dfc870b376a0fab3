/*
 * lock-resident: pages that mlock(2) locked stay resident, as the kernel
 * keeps them: a stream through a budget a quarter of the file evicts every
 * other page, but touching the locked ones again reads nothing, in a shared
 * and a private file mapping and in anonymous memory.  Locking more than the
 * budget holds still works (the locked pages then take turns).  After
 * mlockall(MCL_FUTURE), up_mmap() maps and locks as the kernel does (and
 * a file read through a budget shows its data as pages come and go), and
 * mlockall(MCL_CURRENT) locks what the pager serves (and not its own).
 * Where mlock(2) splits a private mapping, what the kernel then answers
 * (mremap(2) across the pieces, msync(2) of locked ones) is the answer
 * through the drop-in API too, with and without a fork() between.  What
 * mremap(2) grows a locked mapping by is locked as the kernel locks it,
 * and what an mlock(2) that stopped at a hole locked still shows the file.
 */
#include "harness.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

#define BUDGET (4 * H_MIB)
#define LEN (4 * BUDGET)
#define LOCKED (BUDGET / 4)

static void adjust(struct up_config *c)
{
	c->budget = BUDGET;
}

/* The kernel's mlock(2), through the library's (which a sanitizer's,
 * that does nothing, does not replace in a program linked with it). */
static int lock(void *m, size_t len)
{
	return mlock(m, len);
}

/* Whether this process may lock len bytes more. */
static int may_lock(size_t len)
{
	struct rlimit rl;

	return geteuid() == 0 ||
	       (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur >= 2 * len);
}

static void one(struct up_pager *p, int flags, int fd)
{
	char *m = h_map(p, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);
	char *hot = m + LEN / 2;
	struct up_stats st;
	uint64_t fills;
	volatile char sink;

	if (!m)
		return;
	if (fd < 0)
		memset(hot, 'h', LOCKED);
	CHECK_EQ(lock(hot, LOCKED), 0);
	for (int pass = 0; pass < 2; pass++)
		for (size_t off = 0; off < LEN; off += 4096)
			sink = m[off];
	CHECK_OK(up_mapping_stats(p, m, &st));
	fills = st.fills;
	for (size_t off = 0; off < LOCKED; off += 4096)
		sink = hot[off];
	CHECK_OK(up_mapping_stats(p, m, &st));
	if (h_is_uffd(p)) {
		CHECK(st.evictions > 0);
		CHECK_EQ(st.fills, fills);
	}
	if (fd >= 0)
		CHECK_EQ(h_pat_diff(hot, 7, LEN / 2, LOCKED), -1);
	else
		CHECK_EQ(hot[LOCKED - 1], 'h');
	/* More locked than the budget: it is all still there (an ordinary
	 * user may lock only RLIMIT_MEMLOCK: ENOMEM, as the kernel says). */
	CHECK_EQ(lock(m, LEN), may_lock(LEN) ? 0 : -1);
	if (fd >= 0)
		CHECK_EQ(h_pat_diff(m, 7, 0, LEN), -1);
	else
		CHECK_EQ(hot[0], 'h');
	(void)sink;
	CHECK_OK(up_pager_unmap(p, m, LEN));
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 7);

	(void)b;
	/* With inline faults the kernel's mlock(2), which faults the pages
	 * in, gets EFAULT (see upager(3)). */
	if (h_flags & UP_CONFIG_FAULT_INLINE) {
		close(fd);
		return;
	}
	h_ctx = "shared";
	one(p, MAP_SHARED, fd);
	h_ctx = "private";
	one(p, MAP_PRIVATE, fd);
	h_ctx = "anonymous";
	one(p, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	h_ctx = "-";
	close(fd);
}

/* Kilobytes locked in this process (VmLck), or -1. */
static long locked_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* After mlockall(MCL_FUTURE), the drop-in API (the default pager, made
 * then) maps as the kernel does: each mapping shows its data and is
 * locked.  (In a child: the flag would lock all the rest.) */
static void future_child(void *arg)
{
	size_t len = 16 * 4096;
	int fd = *(int *)arg;
	long before;
	char *s, *v, *a;

	CHECK_OK(mlockall(MCL_FUTURE));
	before = locked_kib();
	s = up_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	v = up_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	a = up_mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED && v != MAP_FAILED && a != MAP_FAILED);
	if (s == MAP_FAILED || v == MAP_FAILED || a == MAP_FAILED)
		return;
	CHECK_EQ(h_pat_diff(s, 7, 0, len), -1);
	CHECK_EQ(h_pat_diff(v, 7, 0, len), -1);
	CHECK_EQ(a[len - 1], 0);
	CHECK(locked_kib() - before >= (long)(3 * len / 1024));
}

/* mlockall(MCL_CURRENT | MCL_FUTURE) once the default pager serves a
 * mapping: it returns (the pager's own memory, some gigabytes reserved,
 * is not faulted in), the mapping keeps its data and is locked, and new
 * mappings work and are locked. */
static void current_child(void *arg)
{
	size_t len = 16 * 4096;
	int fd = *(int *)arg;
	long before;
	char *v, *a;

	v = up_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(v != MAP_FAILED);
	if (v == MAP_FAILED)
		return;
	*(volatile char *)v = v[0];	/* (a store, the data kept) */
	before = locked_kib();
	CHECK_OK(mlockall(MCL_CURRENT | MCL_FUTURE));
	CHECK(locked_kib() - before >= (long)(len / 1024));
	CHECK_EQ(h_pat_diff(v, 7, 0, len), -1);
	a = up_mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	if (a != MAP_FAILED)
		CHECK_EQ(a[len - 1], 0);
}

/* After mlockall(MCL_FUTURE), a file read through a budget a quarter of
 * it (pages of 512 KiB, served from the page cache and put back as they
 * are evicted) shows its data on every pass, in a shared and a private
 * mapping: the memory put back over an evicted page, which the kernel
 * locks and fills with zeros as it is mapped, must not be taken for the
 * page. */
#define FB_PAGE (512u << 10)

static void adjust_fb(struct up_config *c)
{
	c->page_len = FB_PAGE;
	c->budget = 4 * FB_PAGE;
	c->readahead_nr = 1;
}

static void future_budget_child(void *arg)
{
	size_t len = 16 * (size_t)FB_PAGE;
	struct up_pager *p = h_open(UP_BACKEND_AUTO, adjust_fb);
	int fd = h_file(len, 9), flags[] = { MAP_SHARED, MAP_PRIVATE };
	struct up_stats st;

	(void)arg;
	if (!p)
		return;
	CHECK_OK(mlockall(MCL_FUTURE));
	for (int i = 0; i < 2; i++) {
		char *m = h_map(p, len, PROT_READ | PROT_WRITE, flags[i], fd,
				0);

		if (!m)
			continue;
		for (int pass = 0; pass < 2; pass++)
			CHECK_EQ(h_pat_diff(m, 9, 0, len), -1);
		CHECK_OK(up_mapping_stats(p, m, &st));
		CHECK(!h_is_uffd(p) || st.evictions > 0);
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	CHECK_OK(up_pager_close(p));
	close(fd);
}

static void future(void)
{
	int fd = h_file(16 * 4096, 7);

	/* (Under MCL_FUTURE the kernel counts each new mapping against
	 * RLIMIT_MEMLOCK as it is made, the pager's own tables too, some
	 * megabytes: an ordinary user's 8 MiB on Debian does not hold them,
	 * EAGAIN, as it would not hold the program's own that large.) */
	h_ctx = "mlockall";
	/* (Nor under ThreadSanitizer, whose shadow of every new mapping the
	 * kernel would lock and fill too.) */
	if (may_lock(64 * H_MIB) && !H_TSAN)
		CHECK_EQ(h_fork(future_child, &fd), 0);
	h_ctx = "mlockall budget";
	if (may_lock(64 * H_MIB) && !H_TSAN)
		CHECK_EQ(h_fork(future_budget_child, NULL), 0);
	/* (Nor under AddressSanitizer: MCL_CURRENT would fill its shadow,
	 * terabytes reserved, as the kernel's would.) */
	h_ctx = "mlockall current";
	if (may_lock(64 * H_MIB) && !H_SANITIZED)
		CHECK_EQ(h_fork(current_child, &fd), 0);
	h_ctx = "-";
	close(fd);
}

/*
 * The kernel's mlock(2) of a writable private mapping writes every page in
 * (each becomes the mapping's own copy), and so gives the locked piece an
 * anon_vma of its own, which a store beside it does not share: locked
 * whole, the two stay two mappings.  MREMAP_DONTUNMAP then unlocks the
 * one it moves pages out of, and msync(MS_INVALIDATE) refuses the other.
 * Each answer, errno included, through the kernel's calls and through
 * the drop-in API.
 */
#define SPLIT_PAGES 29

struct split_run {
	int up, anon, forked;
	int ans[4];
};

static int answer(long ret)
{
	return ret < 0 ? -errno : 0;
}

static void split_child(void *arg)
{
	struct split_run *s = arg;
	size_t pg = 4096, len = SPLIT_PAGES * pg;
	int fd = s->anon ? -1 : h_file(64 * pg, 3);
	int flags = MAP_PRIVATE | (s->anon ? MAP_ANONYMOUS : 0);
	off_t off = s->anon ? 0 : 16 * (off_t)pg;
	char *m, *hole, *r;
	pid_t pid;

	m = s->up ? up_mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off)
		  : mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);
	hole = mmap(NULL, 3 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	CHECK(m != MAP_FAILED && hole != MAP_FAILED);
	if (m == MAP_FAILED || hole == MAP_FAILED)
		return;
	CHECK_EQ(lock(m + 14 * pg, 4 * pg), 0);
	if (s->forked) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		CHECK_EQ(waitpid(pid, NULL, 0), pid);
	}
	m[0x90b] = 3;
	CHECK_EQ(lock(m, len), 0);
	r = mremap(m + 26 * pg, 3 * pg, 3 * pg,
		   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, hole);
	s->ans[0] = r == MAP_FAILED ? -errno : r == hole ? 0 : 1;
	s->ans[1] = answer(s->up ? up_msync(m + 8 * pg, 7 * pg,
					    MS_INVALIDATE | MS_SYNC)
				 : msync(m + 8 * pg, 7 * pg,
					 MS_INVALIDATE | MS_SYNC));
	s->ans[2] = answer(munlock(m + 20 * pg, 9 * pg));
	r = mremap(m, 20 * pg, 21 * pg, MREMAP_MAYMOVE);
	s->ans[3] = r == MAP_FAILED ? -errno : 0;
	if (fd >= 0)
		close(fd);
}

static void split(void)
{
	/* (The children answer in memory shared with this process.) */
	struct split_run *s = mmap(NULL, 2 * sizeof(*s),
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char ctx[64];

	CHECK(s != MAP_FAILED);
	if (!may_lock(SPLIT_PAGES * 4096) || s == MAP_FAILED)
		return;
	for (int v = 0; v < 4; v++) {
		snprintf(ctx, sizeof(ctx), "split %s%s",
			 v & 1 ? "anonymous" : "file", v & 2 ? ", fork" : "");
		h_ctx = ctx;
		for (int up = 0; up < 2; up++) {
			s[up] = (struct split_run){ up, v & 1, v & 2,
						    { 9, 9, 9, 9 } };
			CHECK_EQ(h_fork(split_child, &s[up]), 0);
		}
		for (int i = 0; i < 4; i++)
			CHECK_EQ(s[1].ans[i], s[0].ans[i]);
	}
	h_ctx = "-";
	munmap(s, 2 * sizeof(*s));
}

/* Whether the kernel's mapping at addr is locked (1), locked on fault
 * (2), or not (0), from /proc/self/smaps; -1 if not found. */
static int lock_kind(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long a, b, x = (unsigned long)addr;
	char line[512];
	bool in = false;
	int kind = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
		    strchr(line, '-') == line + strspn(line, "0123456789abcdef"))
			in = a <= x && x < b;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			kind = strstr(line, " lf") ? 2 : strstr(line, " lo") ? 1 : 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return kind;
}

/* What mremap(2) grows a locked mapping by is locked as the mapping is, on
 * fault or not.  (The pager's growth of a read-only private mapping is
 * locked by mlock(2), which populating stores to: the first store makes
 * its object one the pager maps anew, locked on fault only, then locked
 * again in full.) */
static void grown_child(void *arg)
{
	size_t pg = 4096;

	(void)arg;
	for (int up = 0; up < 2; up++)
		for (int onfault = 0; onfault < 2; onfault++) {
			char *m = up ? up_mmap(NULL, 3 * pg, PROT_READ,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1,
					       0)
				     : mmap(NULL, 3 * pg, PROT_READ,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *n;

			CHECK(m != MAP_FAILED);
			CHECK_EQ(mlock2(m, 3 * pg, onfault ? MLOCK_ONFAULT : 0),
				 0);
			n = up ? up_mremap(m, 3 * pg, 8 * pg, MREMAP_MAYMOVE)
			       : mremap(m, 3 * pg, 8 * pg, MREMAP_MAYMOVE);
			CHECK(n != MAP_FAILED);
			if (n == MAP_FAILED)
				continue;
			CHECK_EQ(lock_kind(n), onfault ? 2 : 1);
			CHECK_EQ(lock_kind(n + 7 * pg), onfault ? 2 : 1);
			if (up)
				up_munmap(n, 8 * pg);
			else
				munmap(n, 8 * pg);
		}
}

/*
 * An mlock(2) that fails (ENOMEM) where it could not fault a page in
 * faulted in only what came before: not past a page beyond the end of a
 * file, nor past an inaccessible mapping of the kernel's own between the
 * pager's.  Anonymous memory after such a stop has no anon_vma: made
 * read-only, it merges with a read-only neighbour, and mremap(2) of the
 * two grows them (got[k]).
 */
static void stop_where_child(void *arg)
{
	size_t pg = 4096;
	int fd = h_file(pg, 5), got[2][2];

	(void)arg;
	for (int v = 0; v < 2; v++)
		for (int up = 0; up < 2; up++) {
			void *(*mm)(void *, size_t, int, int, int, off_t) =
				up ? up_mmap : mmap;
			char *x = mmap(NULL, 16 * pg, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *n;
			/* File: a page in it, one past its end; or a hole
			 * of the kernel's between anonymous memory. */
			size_t at = v ? 3 * pg : 2 * pg;

			CHECK(x != MAP_FAILED);
			if (v)
				CHECK(mm(x, 2 * pg, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS |
						 MAP_FIXED,
					 -1, 0) == x);
			else
				CHECK(mm(x, 2 * pg, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_FIXED, fd, 0) == x);
			CHECK(mm(x + at, 2 * pg, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0) == x + at);
			CHECK(mlock(x, at + 2 * pg) == -1 && errno == ENOMEM);
			CHECK_OK(munlock(x, at + 2 * pg));
			CHECK_OK((up ? up_mprotect : mprotect)(x + at, 2 * pg,
							     PROT_READ));
			CHECK(mm(x + at + 2 * pg, 2 * pg, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0) == x + at + 2 * pg);
			errno = 0;
			n = (up ? up_mremap : mremap)(x + at, 4 * pg, 8 * pg,
						      MREMAP_MAYMOVE);
			got[v][up] = n == MAP_FAILED ? errno : 0;
			if (up)
				up_munmap(x, 16 * pg);
			if (n != MAP_FAILED)
				munmap(n, 8 * pg);
			munmap(x, 16 * pg);
		}
	for (int v = 0; v < 2; v++) {
		CHECK_EQ(got[v][0], 0);
		CHECK_EQ(got[v][1], got[v][0]);
	}
	close(fd);
}

/* fn in a child of its own (its locks go with it), named ctx. */
static void in_child(const char *ctx, void (*fn)(void *))
{
	if (!may_lock(8 * 4096))
		return;
	h_ctx = ctx;
	CHECK_EQ(h_fork(fn, NULL), 0);
	h_ctx = "-";
}

/* Locks and unlocks a page of its own until *arg is set: an mlock(2) at
 * work elsewhere, all the time. */
static void *locker(void *arg)
{
	atomic_bool *stop = arg;
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	while (m != MAP_FAILED && !atomic_load(stop)) {
		mlock(m, 4096);
		munlock(m, 4096);
	}
	if (m != MAP_FAILED)
		munmap(m, 4096);
	return NULL;
}

/* An mlock(2) that stops at a hole (ENOMEM) locks the mappings before it
 * without faulting them in: a store there copies its own page alone, and
 * the other pages of the private mapping show what is written to the file
 * after (data must not go stale), also while another thread's mlock(2) is
 * at work (rounds 1 on). */
static void stopped_child(void *arg)
{
	size_t pg = 4096;
	int fd = h_file(16 * pg, 8), rounds = H_SANITIZED ? 8 : 40;
	char buf[64], got[64], want[64];
	atomic_bool stop = false;
	pthread_t t;

	(void)arg;
	memset(buf, 'w', sizeof(buf));
	for (int round = 0; round <= rounds; round++) {
		for (int up = 0; up < 2; up++) {
			char *area = mmap(NULL, 16 * pg, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *m;

			CHECK(area != MAP_FAILED);
			munmap(area + 5 * pg, 11 * pg);
			m = up ? up_mmap(area, 5 * pg, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_FIXED, fd, 0)
			       : mmap(area, 5 * pg, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_FIXED, fd, 0);
			CHECK(m == area);
			CHECK(mlock(m + 2 * pg, 9 * pg) == -1 &&
			      errno == ENOMEM);
			m[2 * pg + 5] = 'x';
			CHECK_EQ(pwrite(fd, buf, sizeof(buf), 4 * pg + 100),
				 (ssize_t)sizeof(buf));
			memcpy(up ? got : want, m + 4 * pg + 100, sizeof(got));
			CHECK_EQ(m[2 * pg + 5], 'x');
			(up ? up_munmap : munmap)(m, 5 * pg);
			/* (Put the file back for the next round.) */
			{
				char old[64];

				h_pat_fill(old, 8, 4 * pg + 100, sizeof(old));
				CHECK_EQ(pwrite(fd, old, sizeof(old),
						4 * pg + 100),
					 (ssize_t)sizeof(old));
			}
		}
		CHECK_EQ(memcmp(want, buf, sizeof(buf)), 0);
		CHECK_EQ(memcmp(got, want, sizeof(buf)), 0);
		if (round == 0)
			CHECK_EQ(pthread_create(&t, NULL, locker, &stop), 0);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	future();
	split();
	in_child("grown", grown_child);
	in_child("stopped", stopped_child);
	in_child("stopped where", stop_where_child);
	h_done();
}
