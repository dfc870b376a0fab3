/* SPDX-License-Identifier: MIT */
/*
 * up-sys.h - the seam every system call of the library goes through.
 *
 * Each wrapper returns a result >= 0 or a negative errno and leaves errno
 * alone.  Tests link the static library and call up__sys_fail() to make the
 * Nth call of one kind fail, so that error paths run.
 */
#ifndef UP_SYS_H
#define UP_SYS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <pthread.h>

enum up_sys_call {
	UP_SYS_PREAD,		/* reads from a file or swap store */
	UP_SYS_PWRITE,		/* writes to a file or swap store */
	UP_SYS_FDATASYNC,
	UP_SYS_IOCTL,		/* userfaultfd ioctls */
	UP_SYS_MMAP,
	UP_SYS_MEMFD,
	UP_SYS_FALLOCATE,
	UP_SYS_FTRUNCATE,
	UP_SYS_OPEN,
	UP_SYS_NR
};

/*
 * Let the next `after` calls of kind c succeed, then fail the `nr` calls
 * after them with -err.  nr = 0 clears the rule.  Process-wide; for tests.
 */
void up__sys_fail(enum up_sys_call c, unsigned after, unsigned nr, int err);

ssize_t up__pread(int fd, void *buf, size_t len, off_t off);
ssize_t up__copy_in(int in, off_t in_off, int out, off_t out_off,
		    size_t len);
ssize_t up__pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t up__pwrite_mapped(int fd, const void *buf, size_t len, off_t off);
int up__copy_mapped(void *dst, const void *src, size_t len);
int up__eof_tail(int fd, off_t eof, void *dst);
int up__fdatasync(int fd);
int up__datasync_range(int fd, off_t off, off_t len);
int up__sync_range(int fd, off_t off, off_t len);
void up__drop_cache(int fd, off_t off, off_t len);
uint64_t up__now_ns(void);
bool up__cached(int fd, off_t off, off_t len);
int64_t up__cache_count(int fd, off_t off, off_t len);
uint64_t up__mem_usable(void);
int up__sync_wait(int fd, off_t off, off_t len);
int up__reopen(int fd, int flags);
bool up__fs_mappable(int fd);
bool up__fs_noexec(int fd);
uintptr_t up__task_size(void);
int up__thp_anon(void);
bool up__load_anon(void);
bool up__below_min(uintptr_t addr);
bool up__locked(void *addr, size_t len);
bool up__locked_in(void *addr, size_t len);
void up__anon_vma_give(void *m);
bool up__vma_zeros(uintptr_t addr, size_t max, uintptr_t *start,
		   uintptr_t *end, int *prot, bool *touched);
bool up__vma_plain(uintptr_t start, bool accounted);
/* mlockall(2)'s MCL_FUTURE and MCL_ONFAULT as the program set them, 0
 * if not (nor in a child of fork(), which the kernel does not lock). */
extern _Atomic int up__lock_future;
int up__hold_free(void *addr, size_t len);
void up__unhold(void *addr, size_t len);
bool up__range_used(void *addr, size_t len);
int up__mlock(void *addr, size_t len);
int up__mlock2(const void *addr, size_t len, unsigned int flags);
bool up__mlock_covers(uintptr_t addr);
void up__mlocks_child(void);
int up__mlock_onfault(void *addr, size_t len);
int up__munlock(void *addr, size_t len);

struct up_run {
	uintptr_t a;
	size_t len;
};
int up__locks_take(uintptr_t a, size_t len, struct up_run **out, size_t *nr);
void up__locks_put(struct up_run *runs, size_t nr, bool onfault);
int up__mlockall(int flags);
int up__maps_take(uintptr_t a, size_t len, struct up_run **out, size_t *nr);
long up__present_runs(int pm, uintptr_t a, uintptr_t b, struct up_run *out,
		      size_t nr, uintptr_t *next);
int up__ioctl(int fd, unsigned long req, void *arg);
void *up__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off);
int up__real_munmap(void *addr, size_t len);
void *up__real_mremap(void *old, size_t old_len, size_t new_len, int flags,
		      void *to);
int up__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
	     void **out);
int up__mmap_unlocked(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off, void **out);
int up__mmap_user(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off, void **out);
int up__mmap_raw(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off, void **out);
int up__map_file(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off, size_t in_at, size_t in, bool random,
		 int (*prep)(void *arg, char *m), void *arg);
int up__munmap(void *addr, size_t len);
int up__mprotect(void *addr, size_t len, int prot);
int up__madvise(void *addr, size_t len, int advice);
int up__msync(void *addr, size_t len, int flags);
int up__mremap(void *old, size_t old_len, size_t new_len, void **out);
int up__table(void **t, size_t old_len, size_t new_len);
void up__table_free(void *t, size_t len);
int up__fd_high(int fd);
int up__memfd(const char *name);
int up__eventfd(int flags);
int up__fallocate(int fd, int mode, off_t off, off_t len);
int up__ftruncate(int fd, off_t len);
int up__fstat(int fd, struct stat *st);
bool up__same_open_file(int a, int b);
int up__open(const char *path, int flags, mode_t mode);
int up__dup(int fd);
int up__pipe(int fds[2]);
int up__close(int fd);
int up__thread(pthread_t *t, void *stack, size_t len, void *(*fn)(void *),
	       void *arg);

#endif /* UP_SYS_H */
