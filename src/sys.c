/* SPDX-License-Identifier: MIT */
/*
 * sys.c - every raw system call of the library, returning -errno.
 *
 * This file owns the seam that tests use to make a chosen call fail
 * (up__sys_fail).  It does no policy: short reads at end of file are
 * returned as short counts, and EINTR is retried here so that callers
 * never see it.
 */
#include "up-int.h"

#include <stdbool.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <semaphore.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>

struct fail_rule {
	atomic_uint after;	/* calls still allowed to succeed */
	atomic_uint nr;		/* calls to fail after them */
	atomic_int err;
};

static struct fail_rule rules[UP_SYS_NR];

void up__sys_fail(enum up_sys_call c, unsigned after, unsigned nr, int err)
{
	atomic_store(&rules[c].nr, 0);
	atomic_store(&rules[c].after, after);
	atomic_store(&rules[c].err, err);
	atomic_store(&rules[c].nr, nr);
}

/* Returns the injected -errno for this call, or 0 to let it run. */
static int injected(enum up_sys_call c)
{
	struct fail_rule *r = &rules[c];
	unsigned n;

	if (atomic_load_explicit(&r->nr, memory_order_relaxed) == 0)
		return 0;
	n = atomic_load(&r->after);
	while (n > 0)
		if (atomic_compare_exchange_weak(&r->after, &n, n - 1))
			return 0;
	n = atomic_load(&r->nr);
	while (n > 0)
		if (atomic_compare_exchange_weak(&r->nr, &n, n - 1))
			return -atomic_load(&r->err);
	return 0;
}

static int neg(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

ssize_t up__pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	int e = injected(UP_SYS_PREAD);

	if (e)
		return e;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Copy len bytes at in_off of file `in` to out_off of file `out` inside
 * the kernel (no user mapping is touched, so no page faults are taken on
 * the way).  Returns the bytes copied, short at end of file.  Counts as a
 * read for fault injection.  The caller owns out's file position.
 */
ssize_t up__copy_in(int in, off_t in_off, int out, off_t out_off, size_t len)
{
	size_t done = 0;
	int e = injected(UP_SYS_PREAD);

	if (e)
		return e;
	if (lseek(out, out_off, SEEK_SET) < 0)
		return -errno;
	while (done < len) {
		ssize_t n = sendfile(out, in, &in_off, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t pwrite_all(int fd, const void *buf, size_t len, off_t off,
			  bool raw)
{
	size_t done = 0;
	int e = injected(UP_SYS_PWRITE);

	if (e)
		return e;
	while (done < len) {
		const char *b = (const char *)buf + done;
		ssize_t n = raw ? syscall(SYS_pwrite64, fd, b, len - done,
					  off + (off_t)done)
				: pwrite(fd, b, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t up__pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite_all(fd, buf, len, off, false);
}

/*
 * pwrite(2) of memory that the program maps and stores to (a solo page
 * being written back in place), as a raw system call past any interposed
 * pwrite.  The page is write-protected first, so the program's stores are
 * ordered before this read by the protection change; ThreadSanitizer
 * cannot see that and would call it a race.
 */
ssize_t up__pwrite_mapped(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite_all(fd, buf, len, off, true);
}

/*
 * Copy len bytes of the program's mapping at src to dst, with a system
 * call (process_vm_readv(2) on this process), for the same reason as
 * up__pwrite_mapped(); -EFAULT if part of src is not there.
 */
int up__copy_mapped(void *dst, const void *src, size_t len)
{
	struct iovec l = { .iov_base = dst, .iov_len = len };
	struct iovec r = { .iov_base = (void *)src, .iov_len = len };
	ssize_t n = syscall(SYS_process_vm_readv, getpid(), &l, 1ul, &r, 1ul,
			    0ul);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/*
 * The rest of the system page of fd's page cache that holds its end (at
 * eof, not page-aligned), into dst.  Stores through a mapping past the end
 * of a file stay in that page (the kernel never writes them to the file),
 * and every mapping of the page shows them as long as it is cached; a read
 * stops at the end.  Returns 0 or -errno (dst is then left alone).
 */
int up__eof_tail(int fd, off_t eof, void *dst)
{
	off_t base = eof & ~(off_t)(SYS_PAGE - 1);
	size_t skip = (size_t)(eof - base);
	void *m;
	int err;

	if (!skip)
		return 0;
	m = up__real_mmap(NULL, SYS_PAGE, PROT_READ, MAP_SHARED, fd, base);
	if (m == MAP_FAILED)
		return -errno;
	err = up__copy_mapped(dst, (char *)m + skip, SYS_PAGE - skip);
	up__real_munmap(m, SYS_PAGE);
	return err;
}

int up__fdatasync(int fd)
{
	int e = injected(UP_SYS_FDATASYNC);

	return e ? e : neg(fdatasync(fd));
}

static void *aside(size_t len);

/*
 * fdatasync(2) of [off, off + len) of fd alone, as msync(2) does for the
 * range a mapping covers: through a mapping of that range made for it.
 * fdatasync(2) writes every dirty page of the file, and writing the page
 * that holds the end of the file zeroes what mappings show past the end.
 */
int up__datasync_range(int fd, off_t off, off_t len)
{
	int e = injected(UP_SYS_FDATASYNC);
	off_t a = off & ~(off_t)(SYS_PAGE - 1);
	size_t l = SYS_UP((size_t)(off + len - a));
	void *m;

	if (e)
		return e;
	m = up__real_mmap(aside(l), l, PROT_READ, MAP_SHARED, fd, a);
	if (m == MAP_FAILED)
		return neg(fdatasync(fd));
	e = up__msync(m, l, MS_SYNC);
	up__real_munmap(m, l);
	return e;
}

/* Start write-out of [off, off + len) of fd's page cache to its disk and
 * return without waiting (a hint: nothing depends on its result). */
int up__sync_range(int fd, off_t off, off_t len)
{
	return neg(sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE));
}

/* Write [off, off + len) of fd's page cache out and wait for it. */
int up__sync_wait(int fd, off_t off, off_t len)
{
	return neg(sync_file_range(fd, off, len,
				   SYNC_FILE_RANGE_WAIT_BEFORE |
					   SYNC_FILE_RANGE_WRITE |
					   SYNC_FILE_RANGE_WAIT_AFTER));
}

/* How many system pages of [off, off + len) of fd the page cache holds
 * (cachestat(2), Linux 6.5), or -1 where it cannot say. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

int64_t up__cache_count(int fd, off_t off, off_t len)
{
	struct {
		uint64_t off, len;
	} range = { (uint64_t)off, (uint64_t)len };
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
			nr_recently_evicted;
	} cs;

	if (syscall(__NR_cachestat, fd, &range, &cs, 0))
		return -1;
	return (int64_t)cs.nr_cache;
}

/* Whether all of [off, off + len) of fd is in the page cache (false where
 * that cannot be known). */
bool up__cached(int fd, off_t off, off_t len)
{
	int64_t n = up__cache_count(fd, off, len);

	return n >= 0 && (uint64_t)n * SYS_PAGE >= (uint64_t)len;
}

/* The monotonic clock, in ns. */
uint64_t up__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void up__drop_cache(int fd, off_t off, off_t len)
{
	posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
}

/* The first number after key in file path (all of it read into buf), or
 * 0. */
static uint64_t file_num(const char *path, const char *key)
{
	char buf[4096], *at;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	at = key ? strstr(buf, key) : buf;
	if (!at)
		return 0;
	at += key ? strlen(key) : 0;
	while (*at == ' ' || *at == '\t')
		at++;
	return strtoull(at, NULL, 10);
}

/* Whether the kernel refuses this process a fixed mapping at addr, below
 * vm.mmap_min_addr (EPERM without CAP_SYS_RAWIO): asked of the kernel
 * with a page there (the system call itself: a sanitizer's mmap(2) will
 * not map page 0). */
bool up__below_min(uintptr_t addr)
{
	static uintptr_t min = UINTPTR_MAX;	/* not read yet */
	long m;

	if (min == UINTPTR_MAX)
		min = (uintptr_t)file_num("/proc/sys/vm/mmap_min_addr", NULL);
	if (addr >= min)
		return false;
	m = syscall(SYS_mmap, addr, SYS_PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == -1)
		return errno == EPERM;
	syscall(SYS_munmap, m, SYS_PAGE);
	return false;
}

/* The least memory limit on the cgroup at path (under root) and its
 * parents, each in file; UINT64_MAX if none. */
static uint64_t cg_limit(const char *root, const char *path, const char *file)
{
	char dir[512], at[600];
	uint64_t least = UINT64_MAX, v;
	char *slash;

	snprintf(dir, sizeof(dir), "%s%s", root, path);
	for (;;) {
		snprintf(at, sizeof(at), "%s/%s", dir, file);
		v = file_num(at, NULL);
		if (v && v < least)
			least = v;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < strlen(root))
			break;
		*slash = 0;
	}
	return least;
}

/*
 * The memory this process may use: MemAvailable, or its memory cgroup's
 * limit (v2 memory.max, v1 memory.limit_in_bytes) where that is less.
 */
uint64_t up__mem_usable(void)
{
	uint64_t avail = file_num("/proc/meminfo", "MemAvailable:") << 10;
	char buf[4096], *line, *save = NULL;
	ssize_t n;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);

	if (!avail)
		avail = (uint64_t)sysconf(_SC_PHYS_PAGES) * SYS_PAGE / 2;
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ':');
		uint64_t lim = UINT64_MAX;

		path = path ? strchr(path + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		if (!strncmp(line, "0:", 2))
			lim = cg_limit("/sys/fs/cgroup", path, "memory.max");
		else if (strstr(line, ":memory") || strstr(line, ",memory"))
			lim = cg_limit("/sys/fs/cgroup/memory", path,
				       "memory.limit_in_bytes");
		if (lim < avail)
			avail = lim;
	}
	return avail;
}

/*
 * Open the file of descriptor fd again, as a new open file with its own
 * offset and the given flags (through /proc/self/fd, which works if the
 * caller may open the file so).  No stdio: this may run in a signal
 * handler (inline faults).
 */
int up__reopen(int fd, int flags)
{
	char path[32] = "/proc/self/fd/", digits[12];
	size_t n = 0, len = strlen(path);

	if (fd < 0)
		return -EBADF;
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < sizeof(digits));
	while (n && len < sizeof(path) - 1)
		path[len++] = digits[--n];
	path[len] = 0;
	return up__open(path, flags, 0);
}

/* Whether fd's file system serves mmap(2) of its regular files as data
 * files: /proc and /sys files have their own mmap, or none. */
bool up__fs_mappable(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type != PROC_SUPER_MAGIC &&
	       sf.f_type != SYSFS_MAGIC && sf.f_type != DEBUGFS_MAGIC;
}

/* Whether fd's file system forbids executable mappings: a noexec mount,
 * or the kernel's own pipes and sockets. */
bool up__fs_noexec(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return false;
	return (sf.f_flags & ST_NOEXEC) || sf.f_type == PIPEFS_MAGIC ||
	       sf.f_type == SOCKFS_MAGIC;
}

/*
 * The kernel's transparent huge pages for anonymous memory: 2 always, 1
 * only where MADV_HUGEPAGE asks, 0 never (or not known).  Read once.
 */
int up__thp_anon(void)
{
	static atomic_int mode = -1;
	int m = atomic_load_explicit(&mode, memory_order_relaxed);
	char buf[128] = "";
	int fd, saved = errno;

	if (m >= 0)
		return m;
	fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
		  O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	m = strstr(buf, "[always]") ? 2 : strstr(buf, "[madvise]") ? 1 : 0;
	errno = saved;
	atomic_store_explicit(&mode, m, memory_order_relaxed);
	return m;
}

/*
 * Whether a load in private anonymous memory gives the kernel's mapping
 * an anon_vma.  Kernels differ: most map the zero page and prepare none.
 * Found once, by trying, between inaccessible pages that merge with
 * nothing: a page a load faulted in, made read-only, keeps its accounting
 * (VM_ACCOUNT) only where it has an anon_vma, and then merges no more
 * with a read-only neighbour that never had one: mremap(2) grows the two
 * into the free page after them only where they are one mapping, and
 * fails with EFAULT where they are two.  (Where another thread takes that
 * page first, the answer is the usual one.)
 */
bool up__load_anon(void)
{
	static atomic_int known = -1;
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	const long P = (long)SYS_PAGE;
	int saved = errno;
	long area, m, r;

	if (k >= 0)
		return k;
	k = 0;
	area = syscall(SYS_mmap, NULL, 4 * P, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == -1)
		goto out;
	m = syscall(SYS_mmap, area + P, 2 * P, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m != area + P || syscall(SYS_mprotect, m + P, P, PROT_READ) ||
	    ((void)*(volatile char *)m, 0) ||
	    syscall(SYS_mprotect, m, P, PROT_READ) ||
	    syscall(SYS_munmap, area + 3 * P, P)) {
		syscall(SYS_munmap, area, 4 * P);
		goto out;
	}
	r = syscall(SYS_mremap, m, 2 * P, 3 * P, 0);
	k = r == -1 && errno == EFAULT;
	/* (The page after is ours again only where it grew.) */
	syscall(SYS_munmap, area, (r == m ? 4 : 3) * P);
out:
	errno = saved;
	atomic_store_explicit(&known, k, memory_order_relaxed);
	return k;
}

/*
 * The end of the process's address space (the kernel's TASK_SIZE): the
 * highest power of two at whose last page but one a page can be mapped,
 * less a page.  Found once, by trying, with MAP_FIXED_NOREPLACE so that
 * nothing mapped is touched.
 */
uintptr_t up__task_size(void)
{
	static _Atomic uintptr_t top;
	uintptr_t t = atomic_load_explicit(&top, memory_order_relaxed);
	int b, saved = errno;

	/* Raw system calls: a sanitizer's mmap may move an address it does
	 * not expect (ThreadSanitizer makes it 0, which root may map). */
	for (b = 56; !t && b > 32; b--) {
		void *a = (void *)((1ul << b) - 2 * SYS_PAGE);
		long m = syscall(SYS_mmap, a, SYS_PAGE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					 MAP_FIXED_NOREPLACE, -1, 0);

		if (m != -1)
			syscall(SYS_munmap, m, SYS_PAGE);
		if ((void *)m == a || (m == -1 && errno == EEXIST))
			t = (1ul << b) - SYS_PAGE;
	}
	if (!t)
		t = UINTPTR_MAX;
	errno = saved;
	atomic_store_explicit(&top, t, memory_order_relaxed);
	return t;
}

int up__ioctl(int fd, unsigned long req, void *arg)
{
	int e = injected(UP_SYS_IOCTL);
	int ret;

	if (e)
		return e;
	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return neg(ret);
}

/*
 * The kernel's mmap(2), munmap(2) and mremap(2).  The library defines
 * these names itself, for the program (api.c), so its own calls go past
 * them: to the next definitions in the lookup order, libc's (or a
 * sanitizer's in front of libc's), or to the system call where there is
 * none.
 */
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);

static UP_NO_TSAN void *sys_mmap(void *addr, size_t len, int prot,
				 int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static UP_NO_TSAN int sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

static UP_NO_TSAN void *sys_mremap(void *old, size_t old_len,
				   size_t new_len, int flags, ...)
{
	va_list ap;
	void *to;

	va_start(ap, flags);
	to = va_arg(ap, void *);
	va_end(ap);
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, to);
}

/* The next definition of name, looked up once into *slot; else sys. */
static UP_NO_TSAN void *next_of(void *_Atomic *slot, const char *name,
				void *sys)
{
	void *f = atomic_load(slot);

	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		f = f ? f : sys;
		atomic_store(slot, f);
	}
	return f;
}

static void *_Atomic next_mmap, *_Atomic next_munmap, *_Atomic next_mremap;

UP_NO_TSAN void *up__real_mmap(void *addr, size_t len, int prot, int flags,
			       int fd, off_t off)
{
	mmap_fn f = (mmap_fn)next_of(&next_mmap, "mmap", (void *)sys_mmap);

	return f(addr, len, prot, flags, fd, off);
}

UP_NO_TSAN int up__real_munmap(void *addr, size_t len)
{
	munmap_fn f = (munmap_fn)next_of(&next_munmap, "munmap",
					 (void *)sys_munmap);

	return f(addr, len);
}

UP_NO_TSAN void *up__real_mremap(void *old, size_t old_len, size_t new_len,
				 int flags, void *to)
{
	mremap_fn f = (mremap_fn)next_of(&next_mremap, "mremap",
					 (void *)sys_mremap);

	return f(old, old_len, new_len, flags, to);
}

/*
 * The pager's own memory (views, stacks, spares, tables) is placed aside,
 * in a zone of its own far below where the kernel places a program's
 * mappings (top down from under the stack), so that the program's own
 * mappings, through upager or not, land at the addresses they would have
 * without it, next to the same neighbours.  Addresses are handed out in
 * steps of ASIDE_STEP from a cursor that wraps around the zone; where a
 * few in a row are taken (or the zone is not the program's to use, as
 * under ThreadSanitizer) the kernel places the mapping as it would the
 * program's.
 */
#define ASIDE_BASE (32ull << 40)
#define ASIDE_LEN (4ull << 40)
#define ASIDE_STEP (2ull << 20)
/* Mappings of a quarter of the zone or more (the view of an object a
 * mapping far into a file makes) take a zone of their own above it. */
#define ASIDE_BIG_BASE (ASIDE_BASE + ASIDE_LEN)
#define ASIDE_BIG_LEN (32ull << 40)

static _Atomic uint64_t aside_cur, aside_big_cur;

static void *aside(size_t len)
{
	uint64_t step = (len + ASIDE_STEP - 1) & ~(ASIDE_STEP - 1);
	bool big = step >= ASIDE_LEN / 4;
	_Atomic uint64_t *c = big ? &aside_big_cur : &aside_cur;
	uint64_t zone = big ? ASIDE_BIG_LEN : ASIDE_LEN;
	uint64_t cur = atomic_load(c), next;

	if (sizeof(void *) < 8 || step > zone)
		return NULL;
	do {
		next = cur + step;
		if (next > zone) {
			cur = 0;
			next = step;
		}
	} while (!atomic_compare_exchange_weak(c, &cur, next));
	return (void *)(uintptr_t)((big ? ASIDE_BIG_BASE : ASIDE_BASE) + cur);
}

/* mmap(2) for the program's own mapping: placed where the kernel's would. */
int up__mmap_user(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off, void **out)
{
	int e = injected(UP_SYS_MMAP);
	void *m;

	if (e)
		return e;
	m = up__real_mmap(addr, len, prot, flags, fd, off);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

/* Where the zone's next addresses are taken (a view grown in place, the
 * program's own mapping there): how many more are tried before the kernel
 * places the mapping.  Where hints miss this many times in a row, the
 * zone is not the process's to use (ThreadSanitizer's shadow lies there,
 * and its mmap drops such hints): the kernel places the pager's mappings
 * from then on. */
#define ASIDE_TRIES 8
#define ASIDE_MISSES 16

static atomic_int aside_misses;

/* mmap(2) of the pager's own memory aside, through f (the interposed
 * mmap or the raw system call) and unmapped through u where a hint is
 * not taken.  A hint, not MAP_FIXED_NOREPLACE: an interposed mmap that
 * drops the address must not be left to map at 0. */
static long mmap_aside(long (*f)(void *, size_t, int, int, int, off_t),
		       int (*u)(void *, size_t), size_t len, int prot,
		       int flags, int fd, off_t off)
{
	long m;
	void *at;
	int i;

	for (i = 0; i < ASIDE_TRIES &&
		    atomic_load(&aside_misses) < ASIDE_MISSES &&
		    (at = aside(len));
	     i++) {
		m = f(at, len, prot, flags, fd, off);
		if (m == -1 || m == (long)at) {
			atomic_store(&aside_misses, 0);
			return m;
		}
		u((void *)m, len);
		atomic_fetch_add(&aside_misses, 1);
	}
	return f(NULL, len, prot, flags, fd, off);
}

static long mmap_real(void *a, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	void *m = up__real_mmap(a, len, prot, flags, fd, off);

	return m == MAP_FAILED ? -1 : (long)m;
}

static long mmap_raw(void *a, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	return syscall(SYS_mmap, a, len, prot, flags, fd, off);
}

static int munmap_raw(void *a, size_t len)
{
	return (int)syscall(SYS_munmap, a, len);
}

/*
 * After mlockall(MCL_FUTURE), the kernel locks, and fills, every new
 * mapping as mmap(2) makes it: memory of the pager's own (gigabytes of
 * reservation), and the memory of a mapping before the pager can serve
 * its faults.  Made inaccessible first, which the kernel does not fill,
 * then unlocked and given its protection, it is neither.
 */
static long unlocked(long m, size_t len, int prot)
{
	if (m != -1 && (syscall(SYS_munlock, m, len) ||
			up__mprotect((void *)m, len, prot))) {
		int e = errno;

		up__real_munmap((void *)m, len);
		errno = e;
		m = -1;
	}
	return m;
}

/* mmap(2) for the pager: aside unless addr says where (MAP_FIXED). */
int up__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
	     void **out)
{
	int e = injected(UP_SYS_MMAP);
	bool lock = up__lock_future && prot != PROT_NONE;
	long m;

	if (addr || e)
		return e ? e : up__mmap_unlocked(addr, len, prot, flags, fd,
						 off, out);
	m = mmap_aside(mmap_real, up__real_munmap, len,
		       lock ? PROT_NONE : prot, flags, fd, off);
	if (lock)
		m = unlocked(m, len, prot);
	if (m == -1)
		return -errno;
	*out = (void *)m;
	return 0;
}

/* up__mmap_user() of memory the pager serves: not locked, nor filled, by
 * mlockall(MCL_FUTURE) (the pager locks it once it serves it). */
int up__mmap_unlocked(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off, void **out)
{
	bool lock = up__lock_future && prot != PROT_NONE;
	long m;
	int err = up__mmap_user(addr, len, lock ? PROT_NONE : prot, flags, fd,
				off, out);

	if (err || !lock)
		return err;
	m = unlocked((long)*out, len, prot);
	return m == -1 ? -errno : 0;
}

/*
 * mmap(2) straight to the kernel, past any interposed mmap.  For replacing
 * memory in place under a running program (solo.c): ThreadSanitizer's mmap
 * counts as a write to the range, racing with every later read it cannot
 * see synchronised by the fault that preceded it.
 */
int up__mmap_raw(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off, void **out)
{
	int e = injected(UP_SYS_MMAP);
	long m;

	if (e)
		return e;
	m = addr ? syscall(SYS_mmap, addr, len, prot, flags, fd, off)
		 : mmap_aside(mmap_raw, munmap_raw, len, prot, flags, fd, off);
	if (m == -1)
		return -errno;
	*out = (void *)m;
	return 0;
}

/*
 * Map [off, off + len) of file fd at addr with protection prot and flags
 * (MAP_SHARED or MAP_PRIVATE), in place of what is there, and read `in`
 * bytes of it in from in_at: the program then sees the kernel's page-cache
 * pages themselves, with no copy (solo.c).  What is not read in faults in
 * the kernel, as with mmap(2) (with no read-around if random: the
 * program advised MADV_RANDOM); of what is, only the first POPULATE_MAX
 * bytes are waited for.  Pages are mapped for reading only, even in
 * a writable mapping: the first store to each page faults in the kernel,
 * which marks it dirty (or copies it), as with mmap(2).  With prep, the
 * mapping is made elsewhere, given to prep, and moved into place in one
 * step if prep returns 0.  The mapping is left out of fork(), as the
 * pager's own are.  Counts as a read for fault injection.  Returns 0,
 * or -errno if the file cannot be mapped (then the range may hold
 * anything: the caller maps it again).
 */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* The most of it that is mapped in at once: the reads of the rest are
 * started, and the program goes on while they run (the kernel maps those
 * pages as it touches them), as the kernel's own read-ahead lets it. */
#define POPULATE_MAX ((size_t)2 << 20)

int up__map_file(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off, size_t in_at, size_t in, bool random,
		 int (*prep)(void *arg, char *m), void *arg)
{
	int e = injected(UP_SYS_PREAD);
	void *at = addr;
	long m;

	if (e)
		return e;
	/* With prep, made elsewhere first, and moved into place in one step
	 * once prep has written it. */
	m = syscall(SYS_mmap, prep ? NULL : addr, len, prot,
		    flags | (prep ? 0 : MAP_FIXED), fd, off);
	if (m == -1)
		return -errno;
	if (prep) {
		at = (void *)m;
		e = prep(arg, at);
	}
	/* Reading in is a head start only: a page that cannot be read (an
	 * I/O error, a file that shrank) raises SIGBUS in the kernel when
	 * touched, and is read again the next time, as with mmap(2).  What
	 * is read is what the caller asks for, all at once: the kernel's own
	 * read-around on a fault in it is off (MADV_RANDOM), which would read
	 * megabytes around each random page and fill a memory cgroup. */
	if (!e && up__madvise(at, len, MADV_DONTFORK))
		e = -errno;
	if (!e && (in || random))
		up__madvise(at, len, MADV_RANDOM);
	if (!e && in) {
		if (in > SYS_PAGE)
			readahead(fd, off + (off_t)in_at, in);
		up__madvise((char *)at + in_at, in < POPULATE_MAX ? in :
			    POPULATE_MAX, MADV_POPULATE_READ);
	}
	if (prep && !e &&
	    syscall(SYS_mremap, at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		    addr) == -1)
		e = -errno;
	if (prep && e)
		syscall(SYS_munmap, at, len);
	return e;
}

/*
 * Give the private mapping of a file at m an anon_vma, as a store there
 * would, and leave its content as it was: a store faulted on its first
 * page (the kernel prepares the anon_vma before it reads the page, and
 * then fails past the end of the file), and the copy it made dropped.
 */
void up__anon_vma_give(void *m)
{
	up__madvise(m, SYS_PAGE, MADV_POPULATE_WRITE);
	up__madvise(m, SYS_PAGE, MADV_DONTNEED);
}

_Atomic int up__lock_future;

/* Whether part of [addr, addr+len) is mlock(2)ed: msync(2) refuses to
 * invalidate locked pages, and with MS_ASYNC does nothing else. */
bool up__locked(void *addr, size_t len)
{
	return up__msync(addr, len, MS_ASYNC | MS_INVALIDATE) == -EBUSY;
}

/* Append [a, a + len) to *runs, joined to the last run if it ends at a
 * and join. */
static int run_add(struct up_run **runs, size_t *nr, size_t *cap, uintptr_t a,
		   size_t len, bool join)
{
	struct up_run *n;

	if (join && *nr && (*runs)[*nr - 1].a + (*runs)[*nr - 1].len == a) {
		(*runs)[*nr - 1].len += len;
		return 0;
	}
	if (*nr == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		n = realloc(*runs, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*runs = n;
	}
	(*runs)[(*nr)++] = (struct up_run){ a, len };
	return 0;
}

/*
 * Each line of /proc/self/<name> to each(line, ctx) (its newline cut),
 * until one returns nonzero: that, 0 at the end, or -errno if the file
 * cannot be read.
 */
static int proc_lines(const char *path, int (*each)(char *line, void *ctx),
		      void *ctx)
{
	char buf[8192], *line, *nl;
	size_t have = 0, used;
	ssize_t got;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (!ret) {
		got = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = 0;
		for (line = buf; !ret && (nl = strchr(line, '\n'));
		     line = nl + 1) {
			*nl = 0;
			ret = each(line, ctx);
		}
		used = (size_t)(line - buf);
		memmove(buf, line, have - used);
		have -= used;
	}
	close(fd);
	return ret;
}

struct maps_walk {
	uintptr_t a, end;
	bool locked, in;
	struct up_run **runs;
	size_t *nr, *cap;
};

static int maps_line(char *line, void *ctx)
{
	struct maps_walk *w = ctx;
	uintptr_t lo, hi;

	if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
		return 0;
	lo = lo > w->a ? lo : w->a;
	hi = hi < w->end ? hi : w->end;
	if (lo < hi && (!w->locked || up__locked((void *)lo, hi - lo)))
		return run_add(w->runs, w->nr, w->cap, lo, hi - lo, w->locked);
	return 0;
}

/* The kernel's mappings that meet [a, end), each cut to it, in address
 * order, from /proc/self/maps; with locked, only the mlock(2)ed ones, and
 * adjacent ones joined. */
static int maps_runs(uintptr_t a, uintptr_t end, bool locked,
		     struct up_run **runs, size_t *nr, size_t *cap)
{
	struct maps_walk w = { a, end, locked, false, runs, nr, cap };

	return proc_lines("/proc/self/maps", maps_line, &w);
}

/* 1 at the flags of a mapping that meets the range, if it is locked in. */
static int smaps_line(char *line, void *ctx)
{
	struct maps_walk *w = ctx;
	uintptr_t lo, hi;

	if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
		w->in = lo < w->end && hi > w->a;
	else if (w->in && !strncmp(line, "VmFlags:", 8))
		return strstr(line, " lo") && !strstr(line, " lf");
	return 0;
}

/* ---- the kernel's record of one mapping ---------------------------- */

/* (Linux 6.11 and 6.7; the headers may be older.) */
struct up_procmap_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	uint64_t vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define UP_PROCMAP_QUERY _IOWR('f', 17, struct up_procmap_query)

struct up_page_region {
	uint64_t start, end, categories;
};
struct up_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define UP_PAGEMAP_SCAN _IOWR('f', 16, struct up_pm_scan_arg)
#define UP_PAGE_IS_PRESENT (1u << 3)
#define UP_PAGE_IS_SWAPPED (1u << 4)
/* /proc/self/pagemap: a page mapped only here, a page of a file. */
#define PM_EXCLUSIVE (1ull << 56)
#define PM_FILE_PAGE (1ull << 61)

/*
 * The runs of [a, b) whose pages are in memory and mapped here (the page
 * map of pagemap fd pm, PAGEMAP_SCAN, Linux 6.7): up to nr of them into
 * out.  Returns how many, and in *next where the walk stopped (b once it
 * is done), or -errno.
 */
long up__present_runs(int pm, uintptr_t a, uintptr_t b, struct up_run *out,
		      size_t nr, uintptr_t *next)
{
	struct up_page_region reg[64];
	struct up_pm_scan_arg s = { .size = sizeof(s) };
	long found, i;

	s.start = a;
	s.end = b;
	s.vec = (uint64_t)(uintptr_t)reg;
	s.vec_len = nr < 64 ? nr : 64;
	s.category_anyof_mask = s.return_mask = UP_PAGE_IS_PRESENT;
	found = ioctl(pm, UP_PAGEMAP_SCAN, &s);
	if (found < 0)
		return -errno;
	for (i = 0; i < found; i++)
		out[i] = (struct up_run){ reg[i].start,
					  reg[i].end - reg[i].start };
	*next = s.walk_end ? s.walk_end : b;
	return found;
}

/* Whether the page at a reads as zeros (it is readable). */
static bool page_zero(uintptr_t a)
{
	const uint64_t *w = (const uint64_t *)a;
	size_t i;

	for (i = 0; i < SYS_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/*
 * The kernel's mapping at addr, if it is private anonymous memory of at
 * most max bytes that holds nothing but zeros: its range and protection,
 * and in *touched whether a page of its own is in memory (then it has an
 * anon_vma; the zero page that a load maps is none).  False if not (a page
 * swapped out, or one that is not zeros, or not readable), or if the
 * kernel cannot say (before Linux 6.11).
 */
bool up__vma_zeros(uintptr_t addr, size_t max, uintptr_t *start,
		   uintptr_t *end, int *prot, bool *touched)
{
	struct up_procmap_query q = { .size = sizeof(q), .query_addr = addr };
	struct up_page_region reg[8];
	struct up_pm_scan_arg s = { .size = sizeof(s) };
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), pm;
	bool other = false;
	long found, i;

	if (fd < 0)
		return false;
	found = ioctl(fd, UP_PROCMAP_QUERY, &q);
	close(fd);
	if (found || q.inode || q.dev_major || q.dev_minor ||
	    (q.vma_flags & 8) || q.vma_end - q.vma_start > max)
		return false;
	*prot = (q.vma_flags & 1 ? PROT_READ : 0) |
		(q.vma_flags & 2 ? PROT_WRITE : 0) |
		(q.vma_flags & 4 ? PROT_EXEC : 0);
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return false;
	s.start = q.vma_start;
	s.end = q.vma_end;
	s.vec = (uint64_t)(uintptr_t)reg;
	s.vec_len = sizeof(reg) / sizeof(reg[0]);
	s.category_anyof_mask = s.return_mask =
		UP_PAGE_IS_PRESENT | UP_PAGE_IS_SWAPPED;
	found = ioctl(pm, UP_PAGEMAP_SCAN, &s);
	*touched = false;
	for (i = 0; i < found && !other; i++) {
		uint64_t a;

		other = (reg[i].categories & UP_PAGE_IS_SWAPPED) ||
			!(*prot & PROT_READ);
		for (a = reg[i].start; a < reg[i].end && !other;
		     a += SYS_PAGE) {
			uint64_t e = 0;

			other = pread(pm, &e, sizeof(e),
				      (off_t)(a / SYS_PAGE * sizeof(e))) !=
					(ssize_t)sizeof(e) ||
				(e & PM_FILE_PAGE);
			if (!other && (e & PM_EXCLUSIVE)) {
				*touched = true;
				other = !page_zero(a);
			}
		}
	}
	close(pm);
	/* (More runs than looked at: taken as not zeros.) */
	if (found < 0 || other || s.walk_end < s.end)
		return false;
	*start = q.vma_start;
	*end = q.vma_end;
	return true;
}

struct vma_flags_walk {
	uintptr_t start;
	bool in;
	char flags[256];
};

static int vma_flags_line(char *line, void *ctx)
{
	struct vma_flags_walk *w = ctx;
	uintptr_t lo, hi;

	if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
		w->in = lo == w->start;
	} else if (w->in && !strncmp(line, "VmFlags:", 8)) {
		snprintf(w->flags, sizeof(w->flags), "%s ", line + 8);
		return 1;
	}
	return 0;
}

/*
 * Whether the kernel's mapping that starts at start carries no flag but
 * its protection's, the "may" ones every private mapping has and, if
 * accounted, VM_ACCOUNT: a fresh mmap(2) of private anonymous memory, no
 * advice, no lock.
 */
bool up__vma_plain(uintptr_t start, bool accounted)
{
	static const char *const plain[] = { "rd", "wr", "ex", "mr", "mw",
					     "me", "ac" };
	struct vma_flags_walk w = { .start = start };
	char *tok, *save = NULL;
	bool ac = false;
	size_t i;

	if (proc_lines("/proc/self/smaps", vma_flags_line, &w) != 1)
		return false;
	for (tok = strtok_r(w.flags, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
			if (!strcmp(tok, plain[i]))
				break;
		if (i == sizeof(plain) / sizeof(plain[0]))
			return false;
		ac |= !strcmp(tok, "ac");
	}
	return ac == accounted;
}

/* Whether part of [addr, addr+len) is locked in: mlock(2)ed, and not on
 * fault (MLOCK_ONFAULT), by the kernel's record of its mappings. */
bool up__locked_in(void *addr, size_t len)
{
	struct maps_walk w = { .a = (uintptr_t)addr,
			       .end = (uintptr_t)addr + len };

	/* (Unreadable: as mlock(2) would have it.) */
	return up__locked(addr, len) &&
	       proc_lines("/proc/self/smaps", smaps_line, &w) != 0;
}

/* The kernel's mappings in [a, a + len), one run each: *out NULL if none. */
int up__maps_take(uintptr_t a, size_t len, struct up_run **out, size_t *nr)
{
	size_t cap = 0;
	int err;

	*out = NULL;
	*nr = 0;
	err = maps_runs(a, a + len, false, out, nr, &cap);
	if (err) {
		free(*out);
		*out = NULL;
		*nr = 0;
	}
	return err;
}

/*
 * The runs of [a, a+len) that mlock(2) has locked.  The kernel keeps the
 * lock with each mapping, and mapping over memory drops it: a caller that
 * replaces memory under the program takes the runs first and locks them
 * again after (up__locks_put).  Looked for only where part of the range is
 * locked at all: page by page in up to 2 MiB, else mapping by mapping.
 * *out is NULL when nothing is.
 */
#define LOCKS_PROBE 512

int up__locks_take(uintptr_t a, size_t len, struct up_run **out, size_t *nr)
{
	struct up_run *runs = NULL;
	size_t cap = 0, i;
	int err = 0;

	*out = NULL;
	*nr = 0;
	if (!up__locked((void *)a, len))
		return 0;
	if (len / SYS_PAGE > LOCKS_PROBE)
		err = maps_runs(a, a + len, true, &runs, nr, &cap);
	for (i = 0; len / SYS_PAGE <= LOCKS_PROBE && !err &&
		    i < len / SYS_PAGE; i++)
		if (up__locked((void *)(a + i * SYS_PAGE), SYS_PAGE))
			err = run_add(&runs, nr, &cap, a + i * SYS_PAGE,
				      SYS_PAGE, true);
	if (err) {
		free(runs);
		*nr = 0;
		return err;
	}
	*out = runs;
	return 0;
}

/*
 * mlockall(2) with MCL_CURRENT in a process with a pager: the kernel's
 * would fault in every mapping, the pager's own memory too (its
 * reservation some gigabytes, registered with userfaultfd, which nothing
 * serves).  Every mapping is locked on fault instead, the pager's own
 * (aside) unlocked again, and the rest, unless MCL_ONFAULT, locked again,
 * which faults it in (through the pager where it serves it).  0 or -1
 * with errno, the kernel's answer.
 */
int up__mlockall(int flags)
{
	struct up_run *runs;
	size_t nr, i;

	if (syscall(SYS_mlockall, (flags & ~MCL_FUTURE) | MCL_ONFAULT) ||
	    ((flags & MCL_FUTURE) &&
	     syscall(SYS_mlockall, flags & (MCL_FUTURE | MCL_ONFAULT))))
		return -1;
	if (up__maps_take(0, UINTPTR_MAX, &runs, &nr))
		return 0;
	for (i = 0; i < nr; i++) {
		uint64_t a = runs[i].a;

		if (a >= ASIDE_BASE && a < ASIDE_BIG_BASE + ASIDE_BIG_LEN)
			up__munlock((void *)runs[i].a, runs[i].len);
		else if (!(flags & MCL_ONFAULT))
			up__mlock((void *)runs[i].a, runs[i].len);
	}
	free(runs);
	return 0;
}

/* Lock again the runs up__locks_take() took, and free them: on fault
 * (MLOCK_ONFAULT) where reading the pages in now would differ from what
 * the program had (pages of a private writable mapping not yet copied). */
void up__locks_put(struct up_run *runs, size_t nr, bool onfault)
{
	for (size_t i = 0; i < nr; i++) {
		if (onfault)
			up__mlock_onfault((void *)runs[i].a, runs[i].len);
		else
			up__mlock((void *)runs[i].a, runs[i].len);
	}
	free(runs);
}

/*
 * The ranges of the mlock(2)s at work that fault pages in, one slot each
 * (end 0: free; 1: claimed, its range not in yet; a call that finds no
 * slot free counts as covering all): a store that faults in locked memory
 * within one may be its populating (solo.c).  A slot's end is read before
 * and after its start, and the two must agree.
 */
#define MLOCKS_NR 8
static struct {
	_Atomic uintptr_t a, b;
} mlocks[MLOCKS_NR];
static atomic_int mlocks_over;

bool up__mlock_covers(uintptr_t addr)
{
	if (atomic_load(&mlocks_over))
		return true;
	for (int i = 0; i < MLOCKS_NR; i++) {
		uintptr_t b = atomic_load(&mlocks[i].b);
		uintptr_t a = atomic_load(&mlocks[i].a);

		if (b > 1 && a <= addr && addr < b &&
		    atomic_load(&mlocks[i].b) == b)
			return true;
	}
	return false;
}

/* In a child of fork(): no mlock(2) is at work there. */
void up__mlocks_child(void)
{
	for (int i = 0; i < MLOCKS_NR; i++)
		atomic_store(&mlocks[i].b, 0);
	atomic_store(&mlocks_over, 0);
}

/* mlock(2) and mlock2(2) as system calls: a sanitizer's mlock does
 * nothing (it would lock its shadow memory too). */
int up__mlock(void *addr, size_t len)
{
	return up__mlock2(addr, len, 0);
}

int up__mlock_onfault(void *addr, size_t len)
{
	return up__mlock2(addr, len, MLOCK_ONFAULT);
}

int up__mlock2(const void *addr, size_t len, unsigned int flags)
{
	uintptr_t a = (uintptr_t)addr & ~(SYS_PAGE - 1), b = UINTPTR_MAX;
	/* (No page to fault in, none to note.) */
	bool in = !(flags & MLOCK_ONFAULT) && len;
	int slot = -1, ret;

	if (len <= UINTPTR_MAX - (uintptr_t)addr)
		b = (uintptr_t)addr + len;
	for (int i = 0; in && slot < 0 && i < MLOCKS_NR; i++) {
		uintptr_t free_b = 0;

		if (atomic_compare_exchange_strong(&mlocks[i].b, &free_b, 1)) {
			atomic_store(&mlocks[i].a, a);
			atomic_store(&mlocks[i].b, b > 1 ? b : UINTPTR_MAX);
			slot = i;
		}
	}
	if (in && slot < 0)
		atomic_fetch_add(&mlocks_over, 1);
	ret = neg(flags ? syscall(SYS_mlock2, addr, len, flags)
			: syscall(SYS_mlock, addr, len));
	if (slot >= 0)
		atomic_store(&mlocks[slot].b, 0);
	else if (in)
		atomic_fetch_sub(&mlocks_over, 1);
	return ret;
}


int up__munlock(void *addr, size_t len)
{
	return neg(syscall(SYS_munlock, addr, len));
}

/*
 * Hold [addr, addr+len) with inaccessible memory if nothing is mapped
 * there: 0, or -EEXIST (or another -errno) and nothing held.  Raw system
 * calls, as in up__task_size(); up__unhold() gives the range back.
 */
int up__hold_free(void *addr, size_t len)
{
	long m = syscall(SYS_mmap, addr, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				 MAP_FIXED_NOREPLACE, -1, 0);

	if (m == -1)
		return -errno;
	if ((void *)m != addr) {	/* a kernel before 4.17 */
		syscall(SYS_munmap, m, len);
		return -EEXIST;
	}
	return 0;
}

void up__unhold(void *addr, size_t len)
{
	syscall(SYS_munmap, addr, len);
}

/* Whether anything is mapped in [addr, addr+len). */
bool up__range_used(void *addr, size_t len)
{
	int err = up__hold_free(addr, len);

	if (!err)
		up__unhold(addr, len);
	return err == -EEXIST;
}

int up__munmap(void *addr, size_t len)
{
	return neg(up__real_munmap(addr, len));
}

int up__mprotect(void *addr, size_t len, int prot)
{
	return neg(syscall(SYS_mprotect, addr, len, prot));
}

int up__madvise(void *addr, size_t len, int advice)
{
	return neg(syscall(SYS_madvise, addr, len, advice));
}

int up__msync(void *addr, size_t len, int flags)
{
	return neg(syscall(SYS_msync, addr, len, flags));
}

/*
 * Zeroed tables of the pager.  Large ones are mapped aside rather than left
 * to malloc, which would map them among the program's mappings; their
 * length tells which they are, so the caller passes it back.
 */
#define TABLE_MAPPED (64u << 10)

int up__table(void **t, size_t old_len, size_t new_len)
{
	void *n = NULL;
	int err;

	if (new_len < TABLE_MAPPED) {
		n = realloc(*t, new_len ? new_len : 1);
		if (!n)
			return -ENOMEM;
		if (new_len > old_len)
			memset((char *)n + old_len, 0, new_len - old_len);
	} else if (old_len >= TABLE_MAPPED) {
		err = up__mremap(*t, SYS_UP(old_len), SYS_UP(new_len), &n);
		if (err)
			return err;
	} else {
		err = up__mmap(NULL, new_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0, &n);
		if (err)
			return err;
		if (old_len)
			memcpy(n, *t, old_len);
		free(*t);
	}
	*t = n;
	return 0;
}

void up__table_free(void *t, size_t len)
{
	if (len < TABLE_MAPPED)
		free(t);
	else if (t)
		up__munmap(t, len);
}

/* Grow or shrink the pager's own mapping; where it must move, aside.  It
 * grows in place only within the steps the zone gave it: further,
 * it would take the addresses the zone gives next. */
int up__mremap(void *old, size_t old_len, size_t new_len, void **out)
{
	void *m = MAP_FAILED, *to = NULL;
	int err;

	if ((new_len + ASIDE_STEP - 1) / ASIDE_STEP <=
	    (old_len + ASIDE_STEP - 1) / ASIDE_STEP) {
		m = up__real_mremap(old, old_len, new_len, 0, NULL);
		if (m != MAP_FAILED) {
			*out = m;
			return 0;
		}
		if (errno != ENOMEM)
			return -errno;
	}
	err = up__mmap(NULL, new_len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, &to);
	if (err)
		return err;
	m = up__real_mremap(old, old_len, new_len,
			    MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (m == MAP_FAILED) {
		err = -errno;
		up__munmap(to, new_len);
		return err;
	}
	*out = m;
	return 0;
}

/*
 * The descriptors the library opens are kept out of the program's way:
 * close-on-exec, and moved up to a high number, so that a number the
 * program has just closed is still free when it passes it to a call
 * (which must then fail with EBADF, as it would without upager), and so
 * that select(2) users keep the low numbers.  The floor is half the
 * soft RLIMIT_NOFILE, at most 1024; where no descriptor is free there
 * (or the limit is tiny), the descriptor stays where it is.
 */
#define FD_FLOOR_MAX 1024

static int fd_floor(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return FD_FLOOR_MAX;
	return rl.rlim_cur / 2 < FD_FLOOR_MAX ? (int)(rl.rlim_cur / 2)
					       : FD_FLOOR_MAX;
}

int up__fd_high(int fd)
{
	int floor = fd_floor(), nfd;

	if (fd < 0 || fd >= floor)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, floor);
	if (nfd < 0)
		return fd;
	up__close(fd);		/* (which keeps the process's locks) */
	return nfd;
}

static int fd_ret(long ret)
{
	return ret < 0 ? -errno : up__fd_high((int)ret);
}

int up__memfd(const char *name)
{
	int e = injected(UP_SYS_MEMFD);

	return e ? e : fd_ret(memfd_create(name, MFD_CLOEXEC));
}

int up__eventfd(int flags)
{
	return fd_ret(eventfd(0, flags | EFD_CLOEXEC));
}

int up__fallocate(int fd, int mode, off_t off, off_t len)
{
	int e = injected(UP_SYS_FALLOCATE);

	return e ? e : neg(fallocate(fd, mode, off, len));
}

int up__ftruncate(int fd, off_t len)
{
	int e = injected(UP_SYS_FTRUNCATE);

	return e ? e : neg(ftruncate(fd, len));
}

int up__fstat(int fd, struct stat *st)
{
	return neg(fstat(fd, st));
}

/*
 * Whether descriptors a and b are one open file (kcmp(2), KCMP_FILE): the
 * kernel merges mappings of one open file alone.  Where kcmp(2) cannot
 * tell (a kernel without it), whether they are one file.
 */
bool up__same_open_file(int a, int b)
{
	struct stat sa, sb;
	long r;

	if (a < 0 || b < 0)
		return false;
	r = syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, a, b);
	if (r >= 0)
		return r == 0;
	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int up__open(const char *path, int flags, mode_t mode)
{
	int e = injected(UP_SYS_OPEN);

	return e ? e : fd_ret(open(path, flags | O_CLOEXEC, mode));
}

/*
 * A descriptor of fd's file for the pager's own reads and writes.  One
 * open with O_APPEND would append every pwrite(2) at the end of the file,
 * so the file is then opened again without it.
 */
int up__dup(int fd)
{
	int fl = fcntl(fd, F_GETFL), nfd;

	if (fl < 0)
		return -errno;
	if (fl & O_APPEND)
		return up__reopen(fd, fl & O_ACCMODE);
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, fd_floor());
	if (nfd < 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return neg(nfd);
}

int up__pipe(int fds[2])
{
	return neg(pipe2(fds, O_CLOEXEC));
}

/*
 * Record locks (fcntl(2) F_SETLK) belong to the process and the file, and
 * closing any descriptor of the file releases every one the process holds
 * on it; the kernel's own mappings hold their file without a descriptor,
 * and unmapping one releases nothing.  So a descriptor of the pager's is
 * not closed while the process holds such a lock on its file: it waits
 * among the deferred ones, which each later close tries again (as SQLite
 * keeps its own).
 */
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t deferred_once = PTHREAD_ONCE_INIT;
static int *deferred;
static size_t deferred_nr, deferred_cap;

/* Whether the process holds a record lock on fd's file.  A lock of the
 * open file description's own (F_OFD_GETLK) conflicts with every write
 * lock of another owner, the process's included, and the first one it
 * meets is reported; those of other processes are stepped over.  When
 * unsure, yes. */
static bool posix_locked(int fd)
{
	pid_t self = 0;
	off_t start = 0;
	int i;

	for (i = 0; i < 16; i++) {
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = start,
		};

		if (fcntl(fd, F_OFD_GETLK, &fl))
			return false;	/* no file that locks */
		if (fl.l_type == F_UNLCK)
			return false;
		if (!self)
			self = getpid();	/* (only once a lock is seen) */
		if (fl.l_pid == self)
			return true;
		if (fl.l_len == 0)
			break;
		start = fl.l_start + fl.l_len;
	}
	return true;
}

static void deferred_child(void)
{
	pthread_mutex_init(&deferred_lock, NULL);
}

static void deferred_setup(void)
{
	pthread_atfork(NULL, NULL, deferred_child);
}

int up__close(int fd)
{
	size_t i;
	bool keep;

	pthread_once(&deferred_once, deferred_setup);
	pthread_mutex_lock(&deferred_lock);
	for (i = 0; i < deferred_nr;) {
		if (posix_locked(deferred[i])) {
			i++;
			continue;
		}
		close(deferred[i]);
		deferred[i] = deferred[--deferred_nr];
	}
	keep = posix_locked(fd);
	if (keep && deferred_nr == deferred_cap) {
		size_t cap = deferred_cap ? 2 * deferred_cap : 16;
		int *d = realloc(deferred, cap * sizeof(*d));

		if (d) {
			deferred = d;
			deferred_cap = cap;
		}
	}
	keep = keep && deferred_nr < deferred_cap;
	if (keep)
		deferred[deferred_nr++] = fd;
	pthread_mutex_unlock(&deferred_lock);
	if (keep)
		return 0;
	/* Linux releases the descriptor even when close reports EINTR. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

/*
 * Start one of the pager's threads, on stack (len bytes, the first a guard
 * page), with every signal blocked: signals are the application's.  The
 * call returns once the thread runs fn, so that no thread is still being
 * set up (its runtime allocating for it) when the program forks: a
 * sanitizer's allocator, unlike glibc's, can be left locked in the child.
 */
struct thread_start {
	void *(*fn)(void *);
	void *arg;
	sem_t running;
};

static void *thread_enter(void *arg)
{
	struct thread_start *ts = arg;
	void *(*fn)(void *) = ts->fn;
	void *fn_arg = ts->arg;

	sem_post(&ts->running);	/* ts is gone after this */
	return fn(fn_arg);
}

int up__thread(pthread_t *t, void *stack, size_t len, void *(*fn)(void *),
	       void *arg)
{
	struct thread_start ts = { .fn = fn, .arg = arg };
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	if (sem_init(&ts.running, 0, 0))
		return -errno;
	up__mprotect(stack, SYS_PAGE, PROT_NONE);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, len);
	err = -pthread_create(t, &attr, thread_enter, &ts);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (!err && sem_wait(&ts.running) && errno == EINTR)
		;
	sem_destroy(&ts.running);
	return err;
}
