/* SPDX-License-Identifier: MIT */
/*
 * win.h - what the commands of the tool built for Windows (cp and scan)
 * take of POSIX and Linux, made of Windows's own calls in win.c: reads
 * and writes at an offset, a file's data extents (the whole file), the
 * rename that replaces or refuses an existing file, the system page.
 * The kernel's mmap(2) of cp --method kernel is the system's own view of
 * the file, through the library's kernel backend.  Included by tool.h on
 * Windows alone; the rest of the tool does not know it is there.
 */
#ifndef UPAGER_TOOL_WIN_H
#define UPAGER_TOOL_WIN_H

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Errors of Linux's that only ever compare unequal here. */
#define EDQUOT 2001
#define EMEDIUMTYPE 2002

/* A descriptor that a child does not inherit. */
#define O_CLOEXEC _O_NOINHERIT

/* No signal mask to save: a longjmp out of a handler is all there is. */
#define sigjmp_buf jmp_buf
#define sigsetjmp(env, save) setjmp(env)
#define siglongjmp longjmp

#define SEEK_DATA 3
#define SEEK_HOLE 4
#define _SC_PAGESIZE 30
#define AT_FDCWD (-100)

ssize_t pread(int fd, void *buf, size_t len, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t len, off_t off);
/* Not here: -1 with ENOSYS, and cp reads and writes instead. */
ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off,
			size_t len, unsigned flags);
/* Not here: -1 with EOPNOTSUPP (cp goes on without). */
int fallocate(int fd, int mode, off_t off, off_t len);
/* Windows keeps no mode bits: 0. */
int fchmod(int fd, int mode);
int mkostemp(char *tmpl, int flags);
int renameat2(int old_dir, const char *old_path, int new_dir,
	      const char *new_path, unsigned flags);
long sysconf(int name);

/* lseek(2) with SEEK_DATA and SEEK_HOLE: a file is data up to its end. */
off_t win_lseek(int fd, off_t off, int whence);
#undef lseek
#define lseek win_lseek
/* rename(2): replaces new_path if it exists. */
int win_rename(const char *old_path, const char *new_path);
#define rename win_rename

#define mmap up_mmap
#define munmap up_munmap
#define madvise up_madvise

/* The last '/' or '\' of a path. */
char *last_sep(const char *path);
/* A stat's modification time in ns (Windows's stat keeps seconds). */
#define MTIME_NS(st) ((int64_t)(st)->st_mtime * 1000000000)
/* Whether paths pa and pb name one file (volume and file index; a
 * stat's st_ino is 0 on Windows). */
bool win_same_file(const char *pa, const char *pb);
#define SAME_FILE(pa, a, pb, b)                                           \
	((void)(a), (void)(b), win_same_file((pa), (pb)))

#endif
