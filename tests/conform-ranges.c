/* conform-ranges: range calls and EOF changes under a mapping give, through the up_* calls, the results, signals and bytes the kernel's own calls give. */
#include "harness.h"

#include <stdbool.h>

#define SP 4096ul

/* The calls a case makes: the kernel's, or upager's drop-in ones. */
struct calls {
	const char *name;
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*mprotect)(void *, size_t, int);
	int (*madvise)(void *, size_t, int);
	int (*msync)(void *, size_t, int);
};

static const struct calls kern = { "kernel", mmap, munmap, mprotect,
				   madvise, msync };
static const struct calls upc = { "upager", up_mmap, up_munmap, up_mprotect,
				  up_madvise, up_msync };

/* ---- the transcript of one run: what each step saw ---- */

#define LOG_MAX 2048

struct ent {
	int line;
	long long v;
};

struct log {
	int nr;
	int end;		/* how the run ended: 0, a signal, 256 + status */
	struct ent e[LOG_MAX];
};

static struct log *cur;

static void note(int line, long long v)
{
	if (cur->nr < LOG_MAX)
		cur->e[cur->nr++] = (struct ent){ line, v };
}

/* A call's result, and its errno when it failed. */
#define RES(call)                                                       \
	do {                                                            \
		int r_ = (errno = 0, (call));                           \
		note(__LINE__, r_);                                     \
		note(__LINE__, r_ ? errno : 0);                         \
	} while (0)

static uint64_t hash(const void *buf, size_t len)
{
	const volatile unsigned char *b = buf;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Each system page of [addr, +len): the signal a load raises, and a hash
 * of its bytes when it raises none. */
static void probe(int line, char *addr, size_t len)
{
	for (size_t off = 0; off < len; off += SP) {
		char v = 0;
		int sig = h_access(addr + off, 0, &v);

		note(line, sig);
		if (!sig)
			note(line, (long long)hash(addr + off, SP));
	}
}
#define PROBE(addr, len) probe(__LINE__, (char *)(addr), (len))

/* A store of v at addr: the signal it raises. */
#define STORE(addr, v)                                                  \
	do {                                                            \
		char v_ = (char)(v);                                    \
		note(__LINE__, h_access((char *)(addr), 1, &v_));       \
	} while (0)

/* The file's length and a hash of its bytes. */
static void file_note(int line, int fd)
{
	off_t len = h_file_len(fd);
	char *buf;

	if (len < 0)
		len = 0;
	buf = malloc((size_t)len + 1);
	note(line, len);
	note(line, pread(fd, buf, (size_t)len, 0));
	note(line, (long long)hash(buf, (size_t)len));
	free(buf);
}
#define FILE_NOTE(fd) file_note(__LINE__, (fd))

/*
 * Room for len bytes and a page on each side, held with inaccessible
 * memory, fenced by more that stays: a case maps into it with MAP_FIXED
 * and then unmaps what must be a hole (gap()), so that nothing mapped in
 * between (by the pager, say) lands there.
 */
#define FENCE (16 * SP)

static char *room(size_t len)
{
	char *m = mmap(NULL, len + 2 * SP + 2 * FENCE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		exit(1);
	return m + FENCE + SP;
}

static void gap(char *addr, size_t len)
{
	if (munmap(addr, len))
		exit(1);
}

/* Plain anonymous kernel memory holding byte c. */
static char *plain(char *at, size_t len, char c)
{
	char *m = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (m == MAP_FAILED)
		exit(1);
	memset(m, c, len);
	return m;
}

/* ---- the cases ---- */

/* MADV_DONTNEED over pages of a private mapping past the end of a 1-byte
 * file, made with MAP_FIXED | MAP_POPULATE. */
static void c_dontneed_eof(const struct calls *c)
{
	int fd = h_file(1, 1), ro = h_reopen(fd, O_RDONLY);
	size_t len = 0xc6000;
	char *at = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	char *m = c->mmap(at, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, ro, 0);

	note(__LINE__, m == at);
	RES(c->madvise(m + len - 0x4d000, 0x4d000, MADV_DONTNEED));
	PROBE(m, len);
	STORE(m + 1, 'x');
	RES(c->madvise(m, 0x3000, MADV_DONTNEED));
	PROBE(m, 0x3000);
	RES(c->munmap(m, len));
}

/* mprotect(PROT_READ) of 7 pages inside a shared anonymous PROT_READ |
 * PROT_EXEC mapping: every page still reads as zero. */
static void c_shared_anon_exec(const struct calls *c)
{
	size_t len = 0x1a000;
	char *at = room(len);
	char *m;

	/* (Over the room, not into a hole made for it: another thread, the
	 * pager's, may map something into a hole first.) */
	m = c->mmap(at, len, PROT_READ | PROT_EXEC,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	note(__LINE__, m == at);
	RES(c->mprotect(m + 0x9000, 7 * SP, PROT_READ));
	PROBE(m, len);
	STORE(m + 0x9000, 1);
	RES(c->munmap(m, len));
}

/*
 * A file grows under a mapping (ftruncate, then pwrite past its end):
 * pages now inside it are served, with its content; stores in a shared
 * mapping reach it.
 */
static void grow(const struct calls *c, int type)
{
	int fd = h_file(5000, 2);
	size_t len = 48 * SP;
	char *m = c->mmap(NULL, len, PROT_READ | PROT_WRITE, type, fd, 0);
	char buf[300];

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	PROBE(m, 2 * SP);
	RES(ftruncate(fd, 30000));
	PROBE(m, 9 * SP);
	STORE(m + 20000, 'g');
	h_pat_fill(buf, 3, 0, sizeof(buf));
	note(__LINE__, pwrite(fd, buf, sizeof(buf), 40 * SP + 100));
	note(__LINE__, pwrite(fd, buf, sizeof(buf), 10 * SP + 100));
	PROBE(m, 8 * SP);
	PROBE(m + 9 * SP, len - 9 * SP);
	STORE(m + 12 * SP + 200, 'i');
	STORE(m + 40 * SP + 200, 'j');
	STORE(m + 41 * SP, 'k');
	RES(c->msync(m, len, MS_SYNC));
	FILE_NOTE(fd);
	RES(c->munmap(m, len));
	FILE_NOTE(fd);
	close(fd);
}

static void c_grow_shared(const struct calls *c)
{
	grow(c, MAP_SHARED);
}

static void c_grow_private(const struct calls *c)
{
	grow(c, MAP_PRIVATE);
}

/* The file shrinks under a mapping of pages never touched: past the new
 * end, SIGBUS; the tail of the last page reads zero. */
static void c_shrink_untouched(const struct calls *c)
{
	int fd = h_file(40 * SP, 4);
	size_t len = 40 * SP;
	char *m = c->mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	RES(ftruncate(fd, 5 * SP + 100));
	PROBE(m, len);
	STORE(m + 5 * SP + 50, 's');
	STORE(m + 7 * SP, 't');
	/* (upager's msync reports the lost data as EIO: see the CAVEATS) */
	c->msync(m, len, MS_SYNC);
	FILE_NOTE(fd);
	close(fd);
}

/* Stores past the end of a file, in the page that holds its end, stay in
 * the kernel's page cache: a second mapping of the page, an mprotect() and
 * an MS_INVALIDATE all show them, and the file never gets them. */
static void c_eof_tail(const struct calls *c)
{
	int fd = h_file(SP + 1, 6);
	char *m = c->mmap(NULL, SP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, SP);
	char *m2;

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	STORE(m + 0xf50, 'e');
	STORE(m + 0xffe, 'f');
	m2 = c->mmap(NULL, SP, PROT_READ, MAP_SHARED, fd, SP);
	note(__LINE__, m2 != MAP_FAILED);
	if (m2 != MAP_FAILED)
		PROBE(m2, SP);
	RES(c->mprotect(m, SP, PROT_READ | PROT_WRITE));
	PROBE(m, SP);
	RES(c->msync(m, SP, MS_ASYNC | MS_INVALIDATE));
	PROBE(m, SP);
	FILE_NOTE(fd);
	close(fd);
}

/* mprotect across a mapping and an unmapped hole after it: the pages
 * before the hole change, then ENOMEM. */
static void c_protect_hole(const struct calls *c)
{
	size_t len = 20 * SP;
	char *at = room(len + 4 * SP);
	char *m = c->mmap(at, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	note(__LINE__, m == at);
	gap(at - SP, SP);
	gap(at + len, 5 * SP);
	memset(m, 7, len);
	RES(c->mprotect(m + 3 * SP, len, PROT_READ));
	STORE(m + 2 * SP, 1);
	STORE(m + 3 * SP, 1);
	STORE(m + 19 * SP, 1);
	PROBE(m, len);
	/* a hole first: nothing changes */
	RES(c->mprotect(m - SP, 2 * SP, PROT_NONE));
	STORE(m, 2);
	/* madvise goes on past the hole, and reports it */
	RES(c->madvise(m, len + 2 * SP, MADV_DONTNEED));
	PROBE(m, len);
	RES(c->msync(m, len + SP, MS_SYNC));
	RES(c->msync(m, len + SP, MS_ASYNC));
	RES(c->munmap(m, len + 4 * SP));
}

/* A mapping with a hole in it, then a mapping: mprotect stops at the
 * hole, madvise does both. */
static void c_protect_mid_hole(const struct calls *c)
{
	size_t len = 8 * SP;
	char *at = room(3 * len);
	char *a = c->mmap(at, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	char *b = c->mmap(at + 2 * len, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	note(__LINE__, a == at && b == at + 2 * len);
	gap(at - SP, SP);
	gap(at + len, len);
	gap(at + 3 * len, SP);
	memset(a, 1, len);
	memset(b, 2, len);
	RES(c->mprotect(a, 3 * len, PROT_READ));
	STORE(a, 3);
	STORE(b, 3);
	RES(c->madvise(a + 4 * SP, 3 * len - 4 * SP, MADV_DONTNEED));
	PROBE(a, len);
	PROBE(b, len);
	RES(c->msync(a, 3 * len, MS_INVALIDATE));
	RES(c->munmap(a, 3 * len));
}

/* One range over a mapping and plain kernel memory on both sides. */
static void mixed(const struct calls *c, bool file)
{
	size_t len = 16 * SP, side = 4 * SP;
	char *at = room(len + 2 * side);
	int fd = h_file(len, 5);
	char *lo = plain(at, side, 'a'), *hi = plain(at + side + len, side, 'b');
	char *m = c->mmap(at + side, len, PROT_READ | PROT_WRITE,
			  file ? MAP_SHARED | MAP_FIXED
			       : MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			  file ? fd : -1, 0);

	note(__LINE__, m == at + side);
	memset(m + SP, 'm', 2 * SP);
	RES(c->msync(lo, len + 2 * side, MS_SYNC));
	FILE_NOTE(fd);
	m[5 * SP] = 'n';
	RES(c->msync(lo + SP, len + side, MS_ASYNC | MS_INVALIDATE));
	RES(c->madvise(lo + SP, len + side, MADV_WILLNEED));
	RES(c->madvise(lo + SP, len + side, MADV_RANDOM));
	RES(c->madvise(lo, side + 2 * SP, MADV_DONTNEED));
	RES(c->madvise(m + len - 3 * SP, side, MADV_DONTNEED));
	PROBE(lo, len + 2 * side);
	RES(c->mprotect(lo + SP, len + side - SP, PROT_READ));
	STORE(lo, 1);
	STORE(lo + SP, 1);
	STORE(m + SP, 1);
	STORE(hi + side - 2 * SP, 1);
	STORE(hi + side - SP, 1);
	RES(c->mprotect(lo, len + 2 * side, PROT_READ | PROT_WRITE));
	STORE(m + 9 * SP, 'w');
	STORE(hi, 'w');
	PROBE(lo, len + 2 * side);
	RES(c->munmap(lo + SP, len + side));
	PROBE(lo, SP);
	PROBE(hi + side - SP, SP);
	RES(c->munmap(lo, len + 2 * side));
	FILE_NOTE(fd);
	close(fd);
}

static void c_mixed_anon(const struct calls *c)
{
	mixed(c, false);
}

static void c_mixed_file(const struct calls *c)
{
	mixed(c, true);
}

/* mprotect of a length that is not a page multiple, a PROT_NONE round
 * trip, and the middle page of a mapping changed alone. */
static void c_protect_pages(const struct calls *c)
{
	size_t len = 6 * SP;
	char *m = c->mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	for (size_t i = 0; i < len; i++)
		m[i] = (char)(i * 7 + 1);
	RES(c->mprotect(m, SP + 1, PROT_READ));
	STORE(m + SP, 1);
	STORE(m + 2 * SP, 1);
	RES(c->mprotect(m, len, PROT_NONE));
	PROBE(m, len);
	RES(c->mprotect(m, len, PROT_READ | PROT_WRITE));
	PROBE(m, len);
	RES(c->mprotect(m + 3 * SP, SP, PROT_READ));
	STORE(m + 2 * SP, 2);
	STORE(m + 3 * SP, 2);
	STORE(m + 4 * SP, 2);
	RES(c->mprotect(m + 3 * SP, 100, PROT_NONE));
	PROBE(m, len);
	RES(c->mprotect(m + 3 * SP, SP, PROT_READ | PROT_WRITE));
	PROBE(m, len);
	RES(c->munmap(m, len));
}

/* Small mappings land where the kernel would put them, next to the last
 * one, and a range call that runs past one's end meets what the kernel's
 * run meets there. */
static void c_neighbours(const struct calls *c)
{
	int fd = h_file(24 * SP, 7);
	char *m1 = c->mmap(NULL, 2 * SP, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 7 * SP);
	char *m2 = c->mmap(NULL, 2 * SP, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_NORESERVE, fd, 7 * SP);

	note(__LINE__, m1 != MAP_FAILED && m2 != MAP_FAILED);
	/* (ThreadSanitizer's mmap places mappings as it needs, and a
	 * sanitizer's malloc maps memory of its own among the program's:
	 * upager's bookkeeping between the two calls may land there) */
	if (!H_SANITIZED)
		note(__LINE__, m2 + 2 * SP == m1);
	RES(munlock(m2 + 0x3b9, 2 * SP));
	RES(munlock(m1 + 0x3b9, 2 * SP));
	RES(c->munmap(m1, 2 * SP));
	RES(c->munmap(m2, 2 * SP));
	close(fd);
}

/* In a child of fork(): each page's signal or bytes. */
static void probe_child(int line, char *m, size_t len)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		probe(line, m, len);
		_exit(0);
	}
	note(line, waitpid(pid, &st, 0) == pid && WIFEXITED(st));
}

/*
 * What MADV_DONTFORK covers is not in a child of fork(), in a file mapping
 * (which fork hands to the kernel) and in private anonymous memory, and
 * what MADV_WIPEONFORK covers reads as zeros there; the rest is as the
 * parent has it, and the parent keeps it all, with what mlock(2) locked
 * still locked.
 */
static void c_dontfork(const struct calls *c)
{
	int fd = h_file(8 * SP, 8);
	char *m = c->mmap(NULL, 4 * SP, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, 0);
	char *an = c->mmap(NULL, 4 * SP, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	note(__LINE__, m != MAP_FAILED && an != MAP_FAILED);
	if (m == MAP_FAILED || an == MAP_FAILED)
		return;
	memset(an, 'a', 4 * SP);
	STORE(m + SP, 'd');
	RES(c->madvise(m + SP, 2 * SP, MADV_DONTFORK));
	RES(c->madvise(an, 2 * SP, MADV_DONTFORK));
	RES(c->madvise(an + 3 * SP, SP, MADV_WIPEONFORK));
	RES(c->madvise(m, SP, MADV_WIPEONFORK));
	RES(mlock(m + 3 * SP, SP));
	probe_child(__LINE__, m, 4 * SP);
	probe_child(__LINE__, an, 4 * SP);
	PROBE(m, 4 * SP);
	PROBE(an, 4 * SP);
	RES(c->msync(m + 3 * SP, SP, MS_ASYNC | MS_INVALIDATE));
	RES(c->madvise(m, 4 * SP, MADV_DOFORK));
	probe_child(__LINE__, m, 4 * SP);
	RES(c->munmap(m, 4 * SP));
	RES(c->munmap(an, 4 * SP));
	close(fd);
}

/* MADV_DONTNEED on shared anonymous memory keeps its bytes: only the
 * mapping of them goes. */
static void c_shared_anon_dontneed(const struct calls *c)
{
	char *m = c->mmap(NULL, 0x1b9d, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	STORE(m + SP, 'k');
	STORE(m + 10, 'l');
	RES(c->madvise(m, 2 * SP, MADV_DONTNEED));
	PROBE(m, 2 * SP);
	RES(c->munmap(m, 2 * SP));
}

/* MADV_POPULATE_* fail with EFAULT on pages past the end of the file, as
 * the file is now, not as it was when mapped. */
static void c_populate_eof(const struct calls *c)
{
	int fd = h_file(9377, 9);
	char *m = c->mmap(NULL, 7 * SP, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, 0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	RES(c->madvise(m + SP, 5 * SP, MADV_POPULATE_READ));
	RES(c->madvise(m, 2 * SP, MADV_POPULATE_WRITE));
	RES(ftruncate(fd, 0));
	RES(c->madvise(m, SP, MADV_POPULATE_READ));
	RES(ftruncate(fd, 30014));
	PROBE(m + 2 * SP, SP);
	RES(ftruncate(fd, 63738));
	RES(c->madvise(m + 2 * SP, 4 * SP, MADV_POPULATE_WRITE));
	RES(c->madvise(m, 7 * SP, MADV_POPULATE_READ));
	PROBE(m, 7 * SP);
	RES(c->munmap(m, 7 * SP));
	FILE_NOTE(fd);
	close(fd);
}

/* mprotect of part of a locked mapping, to the protection it has: the
 * pages stay locked (MADV_DONTNEED refuses them, MS_INVALIDATE too). */
static void c_mlock_protect(const struct calls *c)
{
	char *at = room(3 * SP);
	char *m = c->mmap(at, 0x2fa9, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	note(__LINE__, m == at);
	RES(mlock(m, 3 * SP));
	RES(c->mprotect(m + SP, 0x169c, PROT_READ | PROT_WRITE));
	RES(c->madvise(m - 3 * SP, 0xe000, MADV_DONTNEED));
	RES(c->madvise(m, 3 * SP, MADV_DONTNEED));
	RES(c->msync(m, 3 * SP, MS_ASYNC | MS_INVALIDATE));
	RES(munlock(m, 3 * SP));
	RES(c->madvise(m, 3 * SP, MADV_DONTNEED));
	RES(c->munmap(m, 3 * SP));
}

/* A copy (mremap(2) with old_len 0) of a locked part of a shared mapping
 * is locked too: msync(MS_INVALIDATE) over it says EBUSY, also where the
 * range begins in a hole (which alone would be ENOMEM). */
static void c_copy_locked(const struct calls *c)
{
	int fd = h_file(12 * SP, 14);
	char *at = room(24 * SP), *m, *cp;

	m = c->mmap(at + 12 * SP, 12 * SP, PROT_READ | PROT_EXEC,
		    MAP_SHARED | MAP_FIXED, fd, 0);
	note(__LINE__, m == at + 12 * SP);
	gap(at, 12 * SP);
	RES(mlock(m + 2 * SP, 0x189a));
	cp = mremap(m + 2 * SP, 0, 3 * SP, MREMAP_MAYMOVE | MREMAP_FIXED,
		    at + SP);
	note(__LINE__, cp == at + SP);
	RES(c->msync(at, 8 * SP, MS_SYNC | MS_INVALIDATE));
	RES(c->msync(m, 2 * SP, MS_SYNC | MS_INVALIDATE));
	RES(munlock(at, 24 * SP));
	RES(c->msync(at + SP, 3 * SP, MS_SYNC | MS_INVALIDATE));
	RES(c->munmap(at, 24 * SP));
	close(fd);
}

/* MADV_REMOVE over a private file mapping whose middle is locked: the
 * kernel refuses the first mapping it meets, the unlocked private one. */
static void c_remove_locked(const struct calls *c)
{
	int fd = h_file(40 * SP, 12);
	char *m = c->mmap(NULL, 11 * SP, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_POPULATE, fd, 37 * SP);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	RES(mlock(m + 3 * SP, 3 * SP));
	RES(c->madvise(m, 6 * SP, MADV_REMOVE));
	RES(c->madvise(m + 3 * SP, 3 * SP, MADV_REMOVE));
	RES(c->munmap(m, 11 * SP));
	close(fd);
}

/*
 * The kernel's own calls over part of a mapping (the program's mmap(2) with
 * MAP_FIXED, munmap(2), mremap(2) to a fixed address): the part is the
 * program's new memory from then on, in the parent and in a child, and the
 * rest stays the mapping's, through faults, range calls and fork().
 */
static void c_kernel_over(const struct calls *c)
{
	int fd = h_file(20 * SP, 10);
	size_t len = 20 * SP;
	char *m = c->mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *k, *moved;

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	k = mmap(m + 3 * SP, 6 * SP, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	note(__LINE__, k == m + 3 * SP);
	STORE(m + 100, 'a');
	STORE(m + 3 * SP, 'b');
	STORE(m + 10 * SP, 'c');
	PROBE(m, len);
	RES(c->madvise(m + 2 * SP, 4 * SP, MADV_REMOVE));
	RES(c->mprotect(m, 5 * SP, PROT_READ));
	STORE(m + 4 * SP, 'd');
	RES(c->msync(m, len, MS_SYNC));
	probe_child(__LINE__, m, len);
	RES(munmap(m + 12 * SP, 2 * SP));
	PROBE(m + 11 * SP, 4 * SP);
	moved = mmap(NULL, 2 * SP, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	note(__LINE__, moved != MAP_FAILED);
	if (moved != MAP_FAILED) {
		memset(moved, 'm', 2 * SP);
		note(__LINE__, mremap(moved, 2 * SP, 2 * SP,
				      MREMAP_MAYMOVE | MREMAP_FIXED,
				      m + 15 * SP) == m + 15 * SP);
	}
	STORE(m + 18 * SP, 'e');
	PROBE(m, len);
	RES(c->munmap(m, len));
	FILE_NOTE(fd);
	close(fd);
}

/* msync(MS_SYNC) of a range writes that range: a store past the end of
 * the file, in the page that holds the end, stays in the page cache. */
static void c_msync_tail(const struct calls *c)
{
	int fd = h_file(65535, 11);
	char *m = c->mmap(NULL, 0xf6e8, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, 0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	for (int i = 0; i < 5; i++)
		STORE(m + 0xfffb + i, 'x' + i);
	RES(c->msync(m + 3 * SP, 10 * SP, MS_SYNC | MS_INVALIDATE));
	PROBE(m + 15 * SP, SP);
	RES(c->msync(m, 16 * SP, MS_ASYNC));
	PROBE(m + 15 * SP, SP);
	FILE_NOTE(fd);
	RES(c->munmap(m, 16 * SP));
	close(fd);
}

/* MADV_FREE on private anonymous memory: the kernel keeps the pages until
 * memory runs short, and a store after it keeps its page. */
static void c_free(const struct calls *c)
{
	char *m = c->mmap(NULL, 4 * SP, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	note(__LINE__, m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	STORE(m + SP + 0xda2, 'f');
	STORE(m + 3 * SP, 'g');
	RES(c->madvise(m, 4 * SP, MADV_FREE));
	STORE(m + 3 * SP + 1, 'h');
	PROBE(m, 4 * SP);
	RES(c->munmap(m, 4 * SP));
}

/* A MAP_SHARED mapping through a read-only descriptor, over part of one
 * through a read-write descriptor of the same file, after fork() hands
 * both to the kernel: still never writable (MADV_REMOVE refuses, and the
 * file keeps its bytes), with a hole before it or not. */
static void c_fork_readonly(const struct calls *c)
{
	int fd = h_file(16 * SP, 13), ro = h_reopen(fd, O_RDONLY);
	char *at = room(20 * SP);
	pid_t pid;
	int st;

	note(__LINE__, c->mmap(at + 5 * SP, 11 * SP, PROT_NONE,
			       MAP_SHARED | MAP_FIXED, fd, SP) == at + 5 * SP);
	note(__LINE__, c->mmap(at + 9 * SP, 9 * SP, PROT_READ,
			       MAP_SHARED | MAP_FIXED, ro, 0) == at + 9 * SP);
	pid = fork();
	if (pid == 0)
		_exit(0);
	note(__LINE__, waitpid(pid, &st, 0) == pid);
	RES(c->mprotect(at + 9 * SP, SP, PROT_READ | PROT_WRITE));
	RES(c->madvise(at + 9 * SP, 4 * SP, MADV_REMOVE));
	RES(c->madvise(at + 3 * SP, 4 * SP, MADV_REMOVE));
	FILE_NOTE(fd);
	RES(c->munmap(at + 5 * SP, 13 * SP));
	close(ro);
	close(fd);
}

/* In a child, MADV_REMOVE over a range that starts where MADV_DONTFORK
 * left nothing: the file is punched past the hole, as the kernel does. */
static void c_fork_hole_remove(const struct calls *c)
{
	int f0 = h_file(8 * SP, 14), f1 = h_file(22 * SP, 15);
	char *at = room(64 * SP);
	pid_t pid;
	int st;

	note(__LINE__, c->mmap(at + 25 * SP, 4 * SP, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED, f0, 0) == at + 25 * SP);
	pid = fork();
	if (pid == 0)
		_exit(0);
	note(__LINE__, waitpid(pid, &st, 0) == pid);
	note(__LINE__, c->mmap(at + 29 * SP, 35 * SP, PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, f1, 8 * SP) ==
			       at + 29 * SP);
	gap(at + 22 * SP, 3 * SP);
	RES(c->madvise(at + 22 * SP, 8 * SP, MADV_DONTFORK));
	pid = fork();
	if (pid == 0) {
		RES(c->madvise(at + 27 * SP, 5 * SP, MADV_REMOVE));
		RES(c->mmap(at + 26 * SP, 2 * SP, PROT_READ,
			    MAP_SHARED | MAP_FIXED_NOREPLACE, f0, 0) ==
		    at + 26 * SP);
		_exit(0);
	}
	note(__LINE__, waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	FILE_NOTE(f1);
	close(f0);
	close(f1);
}

/* Arguments the kernel judges in an order of its own: an offset far past
 * anything an object covers, a directory, a range that wraps, a
 * protection that grows. */
static void c_odd_args(const struct calls *c)
{
	int fd = h_file(5 * SP, 16), dir = open(h_dir(), O_RDONLY);
	char *m = c->mmap(NULL, SP, PROT_READ, MAP_SHARED, fd, 1ll << 62);
	char *at = room(4 * SP);
	char *an = c->mmap(at, 4 * SP, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	gap(at - SP, SP);	/* a hole before an, whatever else is mapped */
	note(__LINE__, m != MAP_FAILED);
	if (m != MAP_FAILED) {
		PROBE(m, SP);
		RES(c->munmap(m, SP));
	}
	m = c->mmap(NULL, SP, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		    1ll << 41);
	note(__LINE__, m != MAP_FAILED);
	if (m != MAP_FAILED)
		RES(c->munmap(m, SP));
	/* (ThreadSanitizer's mmap answers these itself.) */
	for (int i = 0; i < 4 && !H_TSAN; i++) {
		errno = 0;
		m = c->mmap(NULL, SP, i & 1 ? PROT_WRITE : PROT_READ,
			    i & 2 ? MAP_SHARED_VALIDATE | MAP_SYNC : 0, dir, 0);
		note(__LINE__, m == MAP_FAILED ? errno : 0);
	}
	RES(c->msync(NULL, (size_t)-4096, MS_SYNC));
	RES(c->mprotect(NULL, (size_t)-4096, PROT_READ));
	RES(c->madvise(NULL, (size_t)-4096, MADV_NORMAL));
	if (an != MAP_FAILED) {
		RES(c->mprotect(an - SP, 2 * SP, PROT_READ | PROT_GROWSUP));
		RES(c->mprotect(an, 2 * SP, PROT_READ | PROT_GROWSUP));
		RES(c->mprotect(an, 2 * SP, PROT_READ | PROT_GROWSDOWN));
		RES(c->munmap(an, 4 * SP));
	}
	close(dir);
	close(fd);
}

static const struct tcase {
	const char *name;
	void (*fn)(const struct calls *);
} cases[] = {
	{ "dontneed-eof", c_dontneed_eof },
	{ "shared-anon-exec", c_shared_anon_exec },
	{ "grow-shared", c_grow_shared },
	{ "grow-private", c_grow_private },
	{ "shrink-untouched", c_shrink_untouched },
	{ "protect-hole", c_protect_hole },
	{ "protect-mid-hole", c_protect_mid_hole },
	{ "mixed-anon", c_mixed_anon },
	{ "mixed-file", c_mixed_file },
	{ "protect-pages", c_protect_pages },
	{ "eof-tail", c_eof_tail },
	{ "neighbours", c_neighbours },
	{ "dontfork", c_dontfork },
	{ "shared-anon-dontneed", c_shared_anon_dontneed },
	{ "populate-eof", c_populate_eof },
	{ "mlock-protect", c_mlock_protect },
	{ "remove-locked", c_remove_locked },
	{ "fork-readonly", c_fork_readonly },
	{ "fork-hole-remove", c_fork_hole_remove },
	{ "odd-args", c_odd_args },
	{ "kernel-over", c_kernel_over },
	{ "msync-tail", c_msync_tail },
	{ "free", c_free },
	{ "copy_locked", c_copy_locked },
};

static const struct calls *run_calls;
static const struct tcase *run_case;

static void child(void *arg)
{
	(void)arg;
	/* The default pager's own memory is made first, so that it never
	 * lands in the free space a case has picked. */
	if (run_calls == &upc && !up_default_pager())
		exit(1);
	alarm(30);	/* a hang is a result too (SIGALRM) */
	run_case->fn(run_calls);
}

/* Run case t with calls c in a child; its transcript lands in *lg. */
static void run(const struct tcase *t, const struct calls *c, struct log *lg)
{
	lg->nr = 0;
	cur = lg;
	run_calls = c;
	run_case = t;
	lg->end = h_fork(child, NULL);
}

/* Both transcripts side by side (for the second argument -v). */
static void dump(struct log *k, struct log *u)
{
	for (int i = 0; i < k->nr || i < u->nr; i++)
		printf("%3d line %3d %20lld %20lld\n", i,
		       i < k->nr ? k->e[i].line : u->e[i].line,
		       i < k->nr ? k->e[i].v : 0, i < u->nr ? u->e[i].v : 0);
}

static void compare(const struct tcase *t, struct log *k, struct log *u)
{
	int i;

	for (i = 0; i < k->nr && i < u->nr; i++)
		if (k->e[i].line != u->e[i].line || k->e[i].v != u->e[i].v) {
			H_FAIL("%s: step %d (line %d): kernel %lld (%#llx), "
			       "upager %lld (%#llx) at line %d", t->name, i,
			       k->e[i].line, k->e[i].v,
			       (unsigned long long)k->e[i].v, u->e[i].v,
			       (unsigned long long)u->e[i].v, u->e[i].line);
			return;
		}
	if (k->nr != u->nr || k->end != u->end) {
		H_FAIL("%s: kernel took %d steps and ended with %d, upager %d "
		       "steps and %d", t->name, k->nr, k->end, u->nr, u->end);
		return;
	}
	H_PASS();
}

int main(int argc, char **argv)
{
	struct log *k = mmap(NULL, 2 * sizeof(*k), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct log *u = k + 1;

	if (k == MAP_FAILED)
		return 1;
	/* The default pager's: userfaultfd, or signals for a user that may
	 * not use it. */
	if (!h_backend_usable(UP_BACKEND_UFFD) &&
	    !h_backend_usable(UP_BACKEND_SIGNALS))
		h_done();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];

		if (argc > 1 && strcmp(argv[1], t->name))
			continue;
		/* ThreadSanitizer cannot start the pager's threads in a child
		 * of a process with threads, which this case's child needs. */
		if (H_TSAN && t->fn == c_fork_hole_remove) {
			printf("%s: not under ThreadSanitizer\n", t->name);
			continue;
		}
		run(t, &kern, k);
		run(t, &upc, u);
		if (argc > 2 && !strcmp(argv[2], "-v"))
			dump(k, u);
		/* A case that shows nothing could not fail. */
		CHECK(k->nr > 2 && k->end == 0);
		compare(t, k, u);
	}
	h_done();
}
