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

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
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

int up__fdatasync(int fd)
{
	int e = injected(UP_SYS_FDATASYNC);

	return e ? e : neg(fdatasync(fd));
}

/* Start write-out of [off, off + len) of fd's page cache to its disk and
 * return without waiting (a hint: nothing depends on its result). */
int up__sync_range(int fd, off_t off, off_t len)
{
	return neg(sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE));
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

/*
 * Whether [off, end) of file fd has a hole (a range with no data on
 * disk, whose first store must allocate); an error counts as one.
 * SEEK_HOLE moves the file offset, and fd shares the program's (it is a
 * dup of the program's descriptor), so the file is opened again for the
 * question.
 */
int up__has_hole(int fd, off_t off, off_t end)
{
	int pfd = up__reopen(fd, O_RDONLY);
	off_t h;

	if (pfd < 0)
		return 1;
	h = lseek(pfd, off, SEEK_HOLE);
	up__close(pfd);
	return h < 0 || h < end;
}

/*
 * Whether fd's file system overwrites allocated data in place, so that a
 * store through a shared mapping to a block that has data never needs
 * space (ext2/3/4, tmpfs).  Elsewhere (btrfs, XFS with shared extents,
 * NFS) such a store may need space, and the kernel answers a full disk
 * with SIGBUS.
 */
bool up__fs_in_place(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 &&
	       (sf.f_type == EXT4_SUPER_MAGIC || sf.f_type == TMPFS_MAGIC);
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

int up__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
	     void **out)
{
	int e = injected(UP_SYS_MMAP);
	void *m;

	if (e)
		return e;
	m = mmap(addr, len, prot, flags, fd, off);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
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
	m = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (m == -1)
		return -errno;
	*out = (void *)m;
	return 0;
}

/*
 * Map [off, off + len) of file fd at addr with protection prot, shared,
 * in place of what is there, and read it in: the program then sees the
 * kernel's page-cache pages themselves, with no copy (solo.c).  Pages are
 * mapped for reading only, even in a writable mapping: the first store to
 * each (large) page cache page faults in the kernel, which marks it dirty,
 * as with mmap(2).  The mapping is left out of
 * fork(), as the pager's own are.  Counts as a read for fault injection.
 * Returns 0; -EIO if the file could not be read there (past its end, or an
 * I/O error); -ENODEV and the like if the file cannot be mapped at all.
 * On failure the range may hold anything: the caller maps it again.
 */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int up__map_file(void *addr, size_t len, int prot, int fd, off_t off)
{
	int e = injected(UP_SYS_PREAD);
	long m;

	if (e)
		return e;
	m = syscall(SYS_mmap, addr, len, prot, MAP_SHARED | MAP_FIXED, fd,
		    off);
	if (m == -1)
		return -errno;
	if (madvise(addr, len, MADV_DONTFORK))
		return -errno;
	if (madvise(addr, len, MADV_POPULATE_READ))
		return errno == EFAULT || errno == EIO || errno == EHWPOISON
			       ? -EIO
			       : -errno;
	return 0;
}

int up__munmap(void *addr, size_t len)
{
	return neg(munmap(addr, len));
}

int up__mprotect(void *addr, size_t len, int prot)
{
	return neg(mprotect(addr, len, prot));
}

int up__madvise(void *addr, size_t len, int advice)
{
	return neg(madvise(addr, len, advice));
}

int up__mremap(void *old, size_t old_len, size_t new_len, void **out)
{
	void *m = mremap(old, old_len, new_len, MREMAP_MAYMOVE);

	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

int up__memfd(const char *name)
{
	int e = injected(UP_SYS_MEMFD);

	return e ? e : neg(memfd_create(name, MFD_CLOEXEC));
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

int up__open(const char *path, int flags, mode_t mode)
{
	int e = injected(UP_SYS_OPEN);

	return e ? e : neg(open(path, flags | O_CLOEXEC, mode));
}

int up__dup(int fd)
{
	return neg(fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

int up__pipe(int fds[2])
{
	return neg(pipe2(fds, O_CLOEXEC));
}

int up__close(int fd)
{
	/* Linux releases the descriptor even when close reports EINTR. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}
