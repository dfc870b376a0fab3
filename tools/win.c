/* SPDX-License-Identifier: MIT */
/*
 * win.c - the calls of win.h for the tool on Windows, and the tool's
 * cleanup on Ctrl-C: the temporary files to remove.  Built into
 * upager.exe alone (Makefile, WIN_TOOL_SRC); empty elsewhere.
 */
#ifdef _WIN32

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* ---- I/O at an offset ----------------------------------------------- */

static int errno_of(DWORD code)
{
	switch (code) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return EACCES;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_INVALID_HANDLE:
		return EBADF;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_NOT_SAME_DEVICE:
		return EXDEV;
	case ERROR_HANDLE_EOF:
		return 0;
	}
	return EIO;
}

/* One ReadFile() or WriteFile() at off: the bytes moved, or -1. */
static ssize_t at(int fd, void *buf, size_t len, off_t off, bool wr)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	OVERLAPPED ov = { 0 };
	DWORD n = 0, want = len > (1u << 30) ? 1u << 30 : (DWORD)len;
	BOOL ok;

	if (h == INVALID_HANDLE_VALUE)
		return errno = EBADF, -1;
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
	ok = wr ? WriteFile(h, buf, want, &n, &ov)
		: ReadFile(h, buf, want, &n, &ov);
	if (!ok && (errno = errno_of(GetLastError())))
		return -1;
	return (ssize_t)n;
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	return at(fd, buf, len, off, false);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return at(fd, (void *)buf, len, off, true);
}

ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off,
			size_t len, unsigned flags)
{
	(void)in;
	(void)in_off;
	(void)out;
	(void)out_off;
	(void)len;
	(void)flags;
	errno = ENOSYS;
	return -1;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	errno = EOPNOTSUPP;
	return -1;
}

int fchmod(int fd, int mode)
{
	(void)fd;
	(void)mode;
	return 0;
}

off_t win_lseek(int fd, off_t off, int whence)
{
	off_t end;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return _lseeki64(fd, off, whence);
	end = _lseeki64(fd, 0, SEEK_END);
	if (end < 0)
		return -1;
	if (off >= end)
		return errno = ENXIO, -1;
	return whence == SEEK_DATA ? off : end;
}

/* ---- names ---------------------------------------------------------- */

int mkostemp(char *tmpl, int flags)
{
	(void)flags;	/* O_CLOEXEC: no child inherits it anyway */
	return mkstemp(tmpl);
}

int renameat2(int old_dir, const char *old_path, int new_dir,
	      const char *new_path, unsigned flags)
{
	DWORD how = flags & 1 ? 0 : MOVEFILE_REPLACE_EXISTING;

	(void)old_dir;
	(void)new_dir;
	if (MoveFileExA(old_path, new_path, how))
		return 0;
	errno = errno_of(GetLastError());
	return -1;
}

int win_rename(const char *old_path, const char *new_path)
{
	return renameat2(AT_FDCWD, old_path, AT_FDCWD, new_path, 0);
}

char *last_sep(const char *path)
{
	char *a = strrchr(path, '/'), *b = strrchr(path, '\\');

	return a > b ? a : b;
}

static bool file_id(const char *path, BY_HANDLE_FILE_INFORMATION *fi)
{
	HANDLE h = CreateFileA(path, 0,
			       FILE_SHARE_READ | FILE_SHARE_WRITE |
				       FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
			       NULL);
	bool ok;

	if (h == INVALID_HANDLE_VALUE)
		return false;
	ok = GetFileInformationByHandle(h, fi);
	CloseHandle(h);
	return ok;
}

bool win_same_file(const char *pa, const char *pb)
{
	BY_HANDLE_FILE_INFORMATION a, b;

	return file_id(pa, &a) && file_id(pb, &b) &&
	       a.dwVolumeSerialNumber == b.dwVolumeSerialNumber &&
	       a.nFileIndexHigh == b.nFileIndexHigh &&
	       a.nFileIndexLow == b.nFileIndexLow;
}

long sysconf(int name)
{
	SYSTEM_INFO si;

	if (name != _SC_PAGESIZE)
		return errno = EINVAL, -1;
	GetSystemInfo(&si);
	return (long)si.dwPageSize;
}

/* ---- cleanup on Ctrl-C ---------------------------------------------- */

/* The files to remove if Ctrl-C ends the tool.  A file shrinking under a
 * mapping cannot happen (Windows refuses to truncate a mapped file), so
 * bus_jmp is never taken here. */
static char clean_path[2][PATH_MAX];
char clean_cg[PATH_MAX];
volatile pid_t clean_pid;
sigjmp_buf *volatile bus_jmp;

static void on_signal(int sig)
{
	for (int i = 0; i < 2; i++)
		if (clean_path[i][0])
			_unlink(clean_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void signals_init(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
}

void clean_set(int slot, const char *path)
{
	clean_path[slot][0] = 0;
	if (path)
		snprintf(clean_path[slot], PATH_MAX, "%s", path);
}

#endif /* _WIN32 */
