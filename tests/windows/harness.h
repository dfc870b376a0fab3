/* harness.h - the small harness of the Windows test programs: the checks
 * of tests/check.h, the closing line of tests/harness.h, the backends to run on, a seeded
 * PRNG and pattern, files read and written at an offset, and one access
 * that may raise an access violation, caught by a vectored exception
 * handler. */
#ifndef UP_WIN_TEST_HARNESS_H
#define UP_WIN_TEST_HARNESS_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "upager.h"

#define H_U __attribute__((unused))
#define H_MIB ((size_t)1 << 20)
#define H_PAGE ((size_t)4096)
#define H_GRAN ((size_t)65536)

/* ---- checks and counters ---- */
static H_U int h_pass_nr, h_fail_nr;

#define H_PASS() (h_pass_nr++)
#define H_FAIL(...)                                                     \
	do {                                                            \
		if (++h_fail_nr > 50)                                   \
			break;                                          \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);         \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
	} while (0)
#include "../check.h"

/* Print "N passed, N failed" and exit: 1 on any failure. */
static inline void h_done(void)
{
	printf("%d passed, %d failed\n", h_pass_nr, h_fail_nr);
	fflush(stdout);
	exit(h_fail_nr ? 1 : 0);
}

/* The backends a test runs on, in turn. */
static const enum up_backend h_backends[] = { UP_BACKEND_KERNEL,
					      UP_BACKEND_TRAP };
#define FOR_EACH_BACKEND(b)                                             \
	for (size_t h_bi_ = 0;                                          \
	     h_bi_ < sizeof(h_backends) / sizeof(h_backends[0]) &&      \
	     ((b) = h_backends[h_bi_], 1);                              \
	     h_bi_++)

/* A pager on backend b: the defaults, then adjust(cfg) if given. */
static inline struct up_pager *h_open(enum up_backend b,
				      void (*adjust)(struct up_config *))
{
	struct up_config cfg;
	struct up_pager *p = NULL;
	int r;

	up_config_init(&cfg);
	cfg.backend = b;
	if (adjust)
		adjust(&cfg);
	r = up_pager_open(&p, &cfg);
	if (r) {
		H_FAIL("up_pager_open = %d: %s", r, up_strerror(r));
		h_done();
	}
	printf("backend %s\n", up_pager_backend(p));
	fflush(stdout);
	return p;
}

static inline int h_is_trap(const struct up_pager *p)
{
	return !strcmp(up_pager_backend(p), "trap");
}

/* ---- seeded PRNG (xorshift64) ---- */
static H_U uint64_t h_rng = 1;

static inline uint64_t h_rand(void)
{
	h_rng ^= h_rng << 13;
	h_rng ^= h_rng >> 7;
	h_rng ^= h_rng << 17;
	return h_rng;
}
static inline uint64_t h_below(uint64_t n) { return n ? h_rand() % n : 0; }

/* Seed h_rand() from $UPAGER_SEED or the clock, and print the seed. */
static inline uint64_t h_seed(void)
{
	const char *e = getenv("UPAGER_SEED");
	uint64_t s = e && *e ? strtoull(e, NULL, 0) :
		     (uint64_t)time(NULL) * 1000003u ^
			     (uint64_t)GetCurrentProcessId();

	if (!s)
		s = 1;
	printf("seed %llu (UPAGER_SEED=%llu repeats this run)\n",
	       (unsigned long long)s, (unsigned long long)s);
	fflush(stdout);
	h_rng = s;
	return s;
}

/* ---- deterministic content: byte off of pattern seed ---- */
static inline uint8_t h_pat(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull ^
		     (seed + 1) * 0xD1B54A32D192ED03ull;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return (uint8_t)(x >> ((off & 7) * 8));
}
static inline void h_pat_fill(void *buf, uint64_t seed, uint64_t off,
			      size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = h_pat(seed, off + i);
}

/* ---- files ---- */
static H_U char h_paths[16][MAX_PATH];
static H_U int h_paths_nr;

static inline void h_unlink_all(void)
{
	_fcloseall();
	for (int i = 0; i < h_paths_nr; i++)
		DeleteFileA(h_paths[i]);
}

/* A new file's path in $UPAGER_TEST_DIR (else the temporary directory),
 * removed at exit. */
static inline const char *h_path(void)
{
	const char *d = getenv("UPAGER_TEST_DIR");
	char dir[MAX_PATH];
	char *p;

	if (h_paths_nr == 16) {
		H_FAIL("too many files");
		h_done();
	}
	if (d && *d)
		snprintf(dir, sizeof(dir), "%s", d);
	else if (!GetTempPathA(sizeof(dir), dir))
		snprintf(dir, sizeof(dir), ".");
	p = h_paths[h_paths_nr];
	if (!GetTempFileNameA(dir, "upt", 0, p)) {
		H_FAIL("GetTempFileName(%s): %lu", dir, GetLastError());
		h_done();
	}
	if (!h_paths_nr++)
		atexit(h_unlink_all);
	return p;
}

static inline int h_pread(int fd, void *buf, size_t len, int64_t off)
{
	size_t done = 0;

	if (_lseeki64(fd, off, SEEK_SET) != off)
		return -1;
	while (done < len) {
		int n = _read(fd, (char *)buf + done,
			      (unsigned)(len - done > (1u << 30) ? 1u << 30
								 : len - done));

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static inline int h_pwrite(int fd, const void *buf, size_t len, int64_t off)
{
	if (_lseeki64(fd, off, SEEK_SET) != off)
		return -1;
	return _write(fd, buf, (unsigned)len) == (int)len ? 0 : -1;
}

/* A file of len bytes holding pattern seed, open with oflag; its path in
 * *path if wanted. */
static inline int h_file(size_t len, uint64_t seed, int oflag,
			 const char **path)
{
	const char *p = h_path();
	size_t chunk = H_MIB;
	char *buf = malloc(chunk);
	int fd = _open(p, _O_RDWR | _O_BINARY | _O_TRUNC);

	if (fd < 0 || !buf) {
		H_FAIL("open %s: %s", p, strerror(errno));
		h_done();
	}
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		h_pat_fill(buf, seed, off, n);
		if (h_pwrite(fd, buf, n, (int64_t)off)) {
			H_FAIL("write %s: %s", p, strerror(errno));
			h_done();
		}
	}
	free(buf);
	if (oflag != _O_RDWR) {
		_close(fd);
		fd = _open(p, oflag | _O_BINARY);
	}
	if (path)
		*path = p;
	return fd;
}

/* Whether [mem, mem+len) holds what the file fd holds at off. */
static inline int h_same_as_file(const void *mem, int fd, int64_t off,
				 size_t len)
{
	char *buf = malloc(len);
	int ok = buf && !h_pread(fd, buf, len, off);

	if (ok)
		ok = !memcmp(mem, buf, len);
	free(buf);
	return ok;
}

/* ---- one access that may fault ---- */
static H_U void *h_jb[5];
static H_U volatile DWORD h_catch_tid;
static H_U void *volatile h_fault_addr;
static H_U volatile DWORD h_fault_code;

static __attribute__((noinline, noreturn)) void h_recover(void)
{
	__builtin_longjmp(h_jb, 1);
}

/* The faulting thread goes on in h_recover(), on its own stack, aligned
 * as at a function's entry; the access is abandoned. */
static LONG CALLBACK h_veh(EXCEPTION_POINTERS *ep)
{
	DWORD code = ep->ExceptionRecord->ExceptionCode;

	if (h_catch_tid != GetCurrentThreadId() ||
	    (code != EXCEPTION_ACCESS_VIOLATION &&
	     code != EXCEPTION_IN_PAGE_ERROR))
		return EXCEPTION_CONTINUE_SEARCH;
	h_catch_tid = 0;
	h_fault_code = code;
	h_fault_addr = (void *)ep->ExceptionRecord->ExceptionInformation[1];
	ep->ContextRecord->Rsp = (ep->ContextRecord->Rsp & ~(DWORD64)15) - 8;
	ep->ContextRecord->Rip = (DWORD64)(uintptr_t)h_recover;
	return EXCEPTION_CONTINUE_EXECUTION;
}

/* Read the byte at addr into *val (write *val there if wr).  Returns 0,
 * or the exception it raised (EXCEPTION_ACCESS_VIOLATION...; h_fault_addr
 * says where). */
static H_U __attribute__((noinline)) DWORD h_access(volatile char *addr,
						    int wr, char *val)
{
	static void *veh;

	/* Last in line: a pager's handler serves its faults first. */
	if (!veh)
		veh = AddVectoredExceptionHandler(0, h_veh);
	h_fault_code = 0;
	if (__builtin_setjmp(h_jb) == 0) {
		h_catch_tid = GetCurrentThreadId();
		if (wr)
			*addr = *val;
		else
			*val = *addr;
		h_catch_tid = 0;
	}
	return h_fault_code;
}

#endif
