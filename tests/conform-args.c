/* conform-args: mmap, madvise, msync and mlock give the kernel's answers, case by case, on the default pager. */
#include "harness.h"

#include <stdbool.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

#define LEN (256u << 10)

/* The descriptors the cases name. */
enum {
	F_NONE, F_RW, F_RO, F_WO, F_APPEND, F_PATH, F_ZERO, F_ZERO_RO, F_NULL,
	F_PIPE_R, F_PIPE_W, F_DIR, F_PROC, F_CLOSED, F_NR
};
static int fds[F_NR];
static struct up_pager *pager;	/* up_config_init() defaults */

struct map_case {
	const char *name;
	uintptr_t addr;		/* 1: an address reserved for MAP_FIXED */
	size_t len;
	int prot, flags, fd;
	off_t off;
};

#define RW (PROT_READ | PROT_WRITE)
#define R PROT_READ
#define AP (MAP_PRIVATE | MAP_ANONYMOUS)
#define AS (MAP_SHARED | MAP_ANONYMOUS)
#define HI 0x100000000000ull
#define TOP 0xfffffffffff00000ull
#define SV MAP_SHARED_VALIDATE

static const struct map_case map_cases[] = {
	{ "anon private", 0, LEN, RW, AP, F_NONE, 0 },
	{ "MAP_LOCKED", 0, LEN, RW, AP | MAP_LOCKED, F_NONE, 0 },
	{ "MAP_LOCKED file", 0, LEN, RW, MAP_SHARED | MAP_LOCKED, F_RW, 0 },
	{ "MAP_GROWSDOWN", 0, LEN, RW, AP | MAP_GROWSDOWN, F_NONE, 0 },
	{ "MAP_GROWSDOWN shared", 0, LEN, RW, AS | MAP_GROWSDOWN, F_NONE, 0 },
	{ "MAP_GROWSDOWN file", 0, LEN, RW, MAP_PRIVATE | MAP_GROWSDOWN, F_RW, 0 },
	{ "MAP_HUGETLB file", 0, LEN, R, MAP_SHARED | MAP_HUGETLB, F_RW, 0 },
	{ "MAP_STACK", 0, LEN, RW, AP | MAP_STACK, F_NONE, 0 },
	{ "/dev/zero private", 0, LEN, RW, MAP_PRIVATE, F_ZERO, 0 },
	{ "/dev/zero shared", 0, LEN, RW, MAP_SHARED, F_ZERO, 8192 },
	{ "/dev/zero validate", 0, LEN, RW, MAP_SHARED_VALIDATE, F_ZERO, 0 },
	{ "/dev/zero ro shared rw", 0, LEN, RW, MAP_SHARED, F_ZERO_RO, 0 },
	{ "/dev/zero ro private rw", 0, LEN, RW, MAP_PRIVATE, F_ZERO_RO, 0 },
	{ "/dev/zero off -4096", 0, LEN, R, MAP_SHARED, F_ZERO, -4096 },
	{ "/dev/null", 0, LEN, R, MAP_PRIVATE, F_NULL, 0 },
	{ "unknown bit shared", 0, LEN, R, MAP_SHARED | (1 << 21), F_RW, 0 },
	{ "unknown bit private", 0, LEN, R, MAP_PRIVATE | (1 << 31), F_RW, 0 },
	{ "unknown bit anon", 0, LEN, RW, AP | (1 << 9), F_NONE, 0 },
	{ "unknown bit validate", 0, LEN, R, SV | (1 << 21), F_RW, 0 },
	{ "bit 28 validate", 0, LEN, R, MAP_SHARED_VALIDATE | (1 << 28), F_RW, 0 },
	{ "NOREPLACE validate", 0, LEN, R, SV | MAP_FIXED_NOREPLACE, F_RW, 0 },
	{ "MAP_SYNC shared", 0, LEN, R, MAP_SHARED | MAP_SYNC, F_RW, 0 },
	{ "unknown bit validate ro rw", 0, LEN, RW, SV | (1 << 9), F_RO, 0 },
	{ "unknown prot bit", 0, LEN, R | 0x100, MAP_SHARED, F_RW, 0 },
	{ "O_PATH", 0, LEN, R, MAP_PRIVATE, F_PATH, 0 },
	{ "O_PATH len 0", 0, 0, R, MAP_PRIVATE, F_PATH, 0 },
	{ "anon off 100", 0, LEN, R, AP, F_NONE, 100 },
	{ "anon off -4096", 0, LEN, R, AP, F_NONE, -4096 },
	{ "anon validate", 0, LEN, R, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, F_NONE, 0 },
	{ "anon no type", 0, LEN, R, MAP_ANONYMOUS, F_NONE, 0 },
	{ "anon droppable", 0, LEN, RW, MAP_ANONYMOUS | 0x08, F_NONE, 0 },
	{ "file off -4096", 0, LEN, R, MAP_SHARED, F_RW, -4096 },
	{ "file off top", 0, 0x4000, R, MAP_SHARED, F_RW, 0x7fffffffffffe000ll },
	{ "file off -4096 no type", 0, LEN, R, 0, F_RW, -4096 },
	{ "file no type", 0, LEN, R, 0, F_RW, 0 },
	{ "file no type len 0", 0, 0, R, 0, F_RW, 0 },
	{ "fixed beyond", TOP, LEN, R, AP | MAP_FIXED, F_NONE, 0 },
	{ "fixed beyond unaligned", TOP + 8, LEN, R, AP | MAP_FIXED, F_NONE, 0 },
	{ "fixed beyond len 0", TOP, 0, R, AP | MAP_FIXED, F_NONE, 0 },
	{ "fixed unaligned", HI + 8, LEN, R, AP | MAP_FIXED, F_NONE, 0 },
	{ "fixed unaligned wo", HI + 8, LEN, R, MAP_SHARED | MAP_FIXED, F_WO, 0 },
	{ "noreplace unaligned", HI + 8, LEN, R, AP | MAP_FIXED_NOREPLACE, F_NONE, 0 },
	{ "fixed", 1, LEN, RW, MAP_SHARED | MAP_FIXED, F_RW, 0 },
	{ "write-only private", 0, LEN, R, MAP_PRIVATE, F_WO, 0 },
	{ "write-only shared", 0, LEN, R, MAP_SHARED, F_WO, 0 },
	{ "read-only shared rw", 0, LEN, RW, MAP_SHARED, F_RO, 0 },
	{ "read-only validate rw", 0, LEN, RW, MAP_SHARED_VALIDATE, F_RO, 0 },
	{ "read-only private rw", 0, LEN, RW, MAP_PRIVATE, F_RO, 0 },
	{ "O_APPEND shared rw", 0, LEN, RW, MAP_SHARED, F_APPEND, 0 },
	{ "pipe read end", 0, LEN, R, MAP_PRIVATE, F_PIPE_R, 0 },
	{ "pipe write end", 0, LEN, R, MAP_PRIVATE, F_PIPE_W, 0 },
	{ "pipe read end exec", 0, LEN, R | PROT_EXEC, MAP_PRIVATE, F_PIPE_R, 0 },
	{ "pipe write end shared rw", 0, LEN, RW, MAP_SHARED, F_PIPE_W, 0 },
	{ "directory", 0, LEN, R, MAP_SHARED, F_DIR, 0 },
	{ "/proc file", 0, LEN, R, MAP_PRIVATE, F_PROC, 0 },
	{ "len 2^62", 0, (size_t)1 << 62, R, AP, F_NONE, 0 },
	{ "len 2^62 file", 0, (size_t)1 << 62, R, MAP_SHARED, F_RW, 0 },
	{ "len 2^62 write-only", 0, (size_t)1 << 62, R, MAP_SHARED, F_WO, 0 },
	{ "len -1", 0, (size_t)-1, R, AP, F_NONE, 0 },
	{ "off far past the end", 0, LEN, R, MAP_SHARED, F_RW, (off_t)1 << 40 },
	{ "len 0 bad fd", 0, 0, R, MAP_SHARED, F_CLOSED, 0 },
	{ "len 0 bad fd unaligned off", 0, 0, R, MAP_SHARED, F_CLOSED, 5 },
	{ "bad fd no type", 0, LEN, R, 0, F_CLOSED, 0 },
	{ "len 0 anon unaligned off", 0, 0, R, AP, F_NONE, 5 },
};

static uintptr_t fixed_at;	/* reserved, PROT_NONE */

static void *case_addr(const struct map_case *c)
{
	return (void *)(c->addr == 1 ? fixed_at : c->addr);
}

/* The kernel's answer: 0 or an errno. */
static int kernel_map(const struct map_case *c)
{
	void *m = mmap(case_addr(c), c->len, c->prot, c->flags, fds[c->fd],
		       c->off);

	if (m == MAP_FAILED)
		return errno;
	munmap(m, c->len);
	return 0;
}

static int dropin_map(const struct map_case *c)
{
	void *m = up_mmap(case_addr(c), c->len, c->prot, c->flags, fds[c->fd],
			  c->off);

	if (m == MAP_FAILED)
		return errno;
	CHECK_EQ(up_munmap(m, c->len), 0);
	return 0;
}

static int pager_map(const struct map_case *c)
{
	void *m;
	int r = up_pager_map(pager, case_addr(c), c->len, c->prot, c->flags,
			     fds[c->fd], c->off, &m);

	if (r)
		return -r;
	CHECK_OK(up_pager_unmap(pager, m, c->len));
	return 0;
}

static void map_conform(void)
{
	for (size_t i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
		const struct map_case *c = &map_cases[i];
		int k, d, e;

		/* ThreadSanitizer's mmap moves an address outside its
		 * application ranges to 0 (or refuses it): these cases ask
		 * the kernel about such addresses.  A mapping at an offset of
		 * 1 TiB makes the pager reserve that much address space for
		 * the file's pages, more than its ranges may have free. */
		if (H_TSAN && (c->addr > 1 || c->off >= (off_t)1 << 40)) {
			printf("not under ThreadSanitizer: %s\n", c->name);
			continue;
		}
		k = kernel_map(c);

		if (c->addr == 1)
			mmap((void *)fixed_at, LEN, PROT_NONE,
			     AP | MAP_FIXED | MAP_NORESERVE, -1, 0);
		d = dropin_map(c);
		if (c->addr == 1)
			mmap((void *)fixed_at, LEN, PROT_NONE,
			     AP | MAP_FIXED | MAP_NORESERVE, -1, 0);
		e = pager_map(c);
		if (c->addr == 1)
			mmap((void *)fixed_at, LEN, PROT_NONE,
			     AP | MAP_FIXED | MAP_NORESERVE, -1, 0);
		if (d == k && e == k) {
			H_PASS();
			continue;
		}
		H_FAIL("mmap %s: kernel %s, up_mmap %s, up_pager_map %s",
		       c->name, strerrorname_np(k) ? strerrorname_np(k) : "0",
		       d ? strerrorname_np(d) : "0",
		       e ? strerrorname_np(e) : "0");
	}
}

/* What the mappings that succeed show. */
static void map_semantics(void)
{
	char *m, v = 0;

	/* /dev/zero: private and shared anonymous memory */
	m = up_mmap(NULL, LEN, RW, MAP_PRIVATE, fds[F_ZERO], 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		CHECK_EQ(m[100], 0);
		m[100] = 7;
		CHECK_EQ(m[100], 7);
		CHECK_EQ(up_munmap(m, LEN), 0);
	}
	/* an offset far past the end maps, and a touch raises SIGBUS (not
	 * under ThreadSanitizer: the pager reserves address space for the
	 * file's pages up to the offset, more than its ranges have free) */
	m = H_TSAN ? MAP_FAILED
		   : up_mmap(NULL, LEN, R, MAP_SHARED, fds[F_RW],
			     (off_t)1 << 40);
	CHECK(H_TSAN || m != MAP_FAILED);
	if (m != MAP_FAILED) {
		char *k = mmap(NULL, LEN, RW, AP, -1, 0), *n, *q;

		CHECK_EQ(h_access(m, 0, &v), SIGBUS);
		/* and the space the pager takes for the pages before it, in
		 * a private mapping, is out of the way: the program's next
		 * mapping lands just under its last, as the kernel places
		 * it */
		q = up_mmap(NULL, LEN, R, MAP_PRIVATE, fds[F_RW],
			    (off_t)1 << 40);
		CHECK(q != MAP_FAILED);
		n = up_mmap(NULL, LEN, RW, AP, -1, 0);
		CHECK(k != MAP_FAILED && n != MAP_FAILED);
		if (k != MAP_FAILED && n != MAP_FAILED &&
		    (n > k || k - n > 64 * (ptrdiff_t)LEN))
			H_FAIL("a mapping landed at %p, %td bytes away from "
			       "the one before at %p", (void *)n, k - n,
			       (void *)k);
		if (n != MAP_FAILED)
			CHECK_EQ(up_munmap(n, LEN), 0);
		if (q != MAP_FAILED)
			CHECK_EQ(up_munmap(q, LEN), 0);
		if (k != MAP_FAILED)
			munmap(k, LEN);
		CHECK_EQ(up_munmap(m, LEN), 0);
	}
	/* MAP_LOCKED is the kernel's own mapping: locked and resident */
	m = up_mmap(NULL, LEN, RW, AP | MAP_LOCKED, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		unsigned char vec[LEN / 4096];

		CHECK_EQ(mincore(m, LEN, vec), 0);
		CHECK_EQ(vec[LEN / 4096 - 1] & 1, 1);
		CHECK_EQ(msync(m, LEN, MS_ASYNC | MS_INVALIDATE), -1);
		CHECK_EQ(errno, EBUSY);
		CHECK_EQ(up_munmap(m, LEN), 0);
	}
	/* O_APPEND: stores go where they are made, not at the end */
	m = up_mmap(NULL, LEN, RW, MAP_SHARED, fds[F_APPEND], 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		off_t len = h_file_len(fds[F_RW]);
		char c = 0;

		m[4096] = 'a';
		CHECK_EQ(up_msync(m, LEN, MS_SYNC), 0);
		CHECK_EQ(h_file_len(fds[F_RW]), len);
		CHECK_EQ(pread(fds[F_RW], &c, 1, 4096), 1);
		CHECK_EQ(c, 'a');
		CHECK_EQ(up_munmap(m, LEN), 0);
	}
}

/* ---- madvise ---- */

static const struct {
	int advice;
	const char *name;
} advices[] = {
	{ MADV_NORMAL, "NORMAL" }, { MADV_RANDOM, "RANDOM" },
	{ MADV_SEQUENTIAL, "SEQUENTIAL" }, { MADV_WILLNEED, "WILLNEED" },
	{ MADV_DONTNEED, "DONTNEED" }, { MADV_FREE, "FREE" },
	{ MADV_REMOVE, "REMOVE" }, { MADV_DONTFORK, "DONTFORK" },
	{ MADV_DOFORK, "DOFORK" }, { MADV_MERGEABLE, "MERGEABLE" },
	{ MADV_UNMERGEABLE, "UNMERGEABLE" }, { MADV_HUGEPAGE, "HUGEPAGE" },
	{ MADV_NOHUGEPAGE, "NOHUGEPAGE" }, { MADV_DONTDUMP, "DONTDUMP" },
	{ MADV_DODUMP, "DODUMP" }, { MADV_WIPEONFORK, "WIPEONFORK" },
	{ MADV_KEEPONFORK, "KEEPONFORK" }, { MADV_COLD, "COLD" },
	{ MADV_PAGEOUT, "PAGEOUT" }, { MADV_POPULATE_READ, "POPULATE_READ" },
	{ MADV_POPULATE_WRITE, "POPULATE_WRITE" },
	{ MADV_DONTNEED_LOCKED, "DONTNEED_LOCKED" },
	{ MADV_COLLAPSE, "COLLAPSE" },
	{ MADV_GUARD_INSTALL, "GUARD_INSTALL" },
	{ MADV_GUARD_REMOVE, "GUARD_REMOVE" },
	{ 5, "5" }, { 26, "26" }, { 104, "104" }, { -1, "-1" },
};

enum { K_ANON_P, K_ANON_S, K_FILE_S, K_FILE_P, K_FILE_S_RO, K_NONE,
       K_PAST_EOF, K_ANON_LOCKED, K_FILE_LOCKED, K_NR };
static const char *const kind_names[K_NR] = {
	"anon private", "anon shared", "file shared", "file private",
	"file shared PROT_READ", "anon PROT_NONE", "past the end",
	"anon mlocked", "file mlocked",
};

static char *kind_map(int k, bool up)
{
	int prot = RW, flags = MAP_SHARED, fd = fds[F_RW];
	off_t off = 0;
	char *m;

	switch (k) {
	case K_ANON_P:
	case K_ANON_LOCKED:
		flags = AP;
		fd = -1;
		break;
	case K_ANON_S:
		flags = AS;
		fd = -1;
		break;
	case K_FILE_P:
		flags = MAP_PRIVATE;
		break;
	case K_FILE_S_RO:
		prot = R;
		break;
	case K_NONE:
		flags = AP;
		fd = -1;
		prot = PROT_NONE;
		break;
	case K_PAST_EOF:
		off = 64 << 20;
		break;
	}
	/* Between inaccessible guards: a mapping of the kernel's merges with
	 * a neighbour of its kind (a pager's memory never does), and some
	 * answers (MADV_COLLAPSE's) depend on the merged size. */
	m = mmap(NULL, LEN + 2 * 4096, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		H_FAIL("room for %s: %s", kind_names[k], strerror(errno));
		return NULL;
	}
	m += 4096;
	m = up ? up_mmap(m, LEN, prot, flags | MAP_FIXED, fd, off)
	       : mmap(m, LEN, prot, flags | MAP_FIXED, fd, off);
	if (m == MAP_FAILED) {
		H_FAIL("%s map %s: %s", up ? "up" : "kernel", kind_names[k],
		       strerror(errno));
		return NULL;
	}
	if (k == K_ANON_LOCKED || k == K_FILE_LOCKED)
		CHECK_EQ(mlock(m, LEN), 0);
	return m;
}

static int advise_on(int k, int advice, bool up)
{
	char *m = kind_map(k, up);
	int r;

	if (!m)
		return -1;
	errno = 0;
	r = up ? up_madvise(m, LEN, advice) : madvise(m, LEN, advice);
	r = r ? errno : 0;
	if (up)
		CHECK_EQ(up_munmap(m, LEN), 0);
	munmap(m - 4096, LEN + 2 * 4096);
	return r;
}

static void advise_conform(void)
{
	for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++)
		for (int k = 0; k < K_NR; k++) {
			int want = advise_on(k, advices[i].advice, false);
			int got = advise_on(k, advices[i].advice, true);

			if (want == got) {
				H_PASS();
				continue;
			}
			H_FAIL("madvise %s on %s: kernel %s, up_madvise %s",
			       advices[i].name, kind_names[k],
			       want ? strerrorname_np(want) : "0",
			       got ? strerrorname_np(got) : "0");
		}
}

/* What the advice does to the contents. */
static void advise_semantics(void)
{
	char *m, buf[8192], zero[8192] = { 0 };

	/* REMOVE punches the file: the range reads as zeros, there and in
	 * the file, dirty or not; the rest stays */
	m = up_mmap(NULL, LEN, RW, MAP_SHARED, fds[F_RW], 0);
	if (m == MAP_FAILED) {
		H_FAIL("up_mmap: %s", strerror(errno));
		return;
	}
	memset(m, 'x', LEN);
	CHECK_EQ(up_madvise(m + 8192, 8192, MADV_REMOVE), 0);
	CHECK(!memcmp(m + 8192, zero, 8192));
	CHECK_EQ(m[8191], 'x');
	CHECK_EQ(m[16384], 'x');
	CHECK_EQ(up_msync(m, LEN, MS_SYNC), 0);
	CHECK_EQ(pread(fds[F_RW], buf, 8192, 8192), 8192);
	CHECK(!memcmp(buf, zero, 8192));
	CHECK_EQ(pread(fds[F_RW], buf, 1, 16384), 1);
	CHECK_EQ(buf[0], 'x');
	/* POPULATE_WRITE keeps the contents */
	CHECK_EQ(up_madvise(m, LEN, MADV_POPULATE_WRITE), 0);
	CHECK_EQ(m[LEN - 1], 'x');
	/* a guard raises SIGSEGV, and its removal shows the file again */
	m[0] = 'g';
	CHECK_EQ(up_madvise(m, 4096, MADV_GUARD_INSTALL), 0);
	CHECK_EQ(h_access(m, 0, buf), SIGSEGV);
	CHECK_EQ(m[4096], 'x');
	CHECK_EQ(up_madvise(m, 4096, MADV_GUARD_REMOVE), 0);
	CHECK_EQ(m[0], 'g');
	CHECK_EQ(up_munmap(m, LEN), 0);

	/* FREE and REMOVE on anonymous memory: zeros (or, for FREE, the old
	 * contents until the kernel takes them) */
	m = up_mmap(NULL, LEN, RW, AP, -1, 0);
	if (m == MAP_FAILED)
		return;
	memset(m, 'y', LEN);
	CHECK_EQ(up_madvise(m, LEN, MADV_FREE), 0);
	CHECK(m[0] == 0 || m[0] == 'y');
	CHECK_EQ(up_munmap(m, LEN), 0);
	m = up_mmap(NULL, LEN, RW, AS, -1, 0);
	if (m == MAP_FAILED)
		return;
	memset(m, 'y', LEN);
	CHECK_EQ(up_madvise(m + 4096, 4096, MADV_REMOVE), 0);
	CHECK_EQ(m[4096], 0);
	CHECK_EQ(m[4095], 'y');
	CHECK_EQ(m[8192], 'y');
	CHECK_EQ(up_munmap(m, LEN), 0);
}

/* ---- mlock, msync, /proc/self/maps ---- */

/* The permission letters /proc/self/maps shows for addr ("rw-p"). */
static void maps_perms(const void *addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	strcpy(out, "????");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 &&
		    (uintptr_t)addr >= s && (uintptr_t)addr < e) {
			strcpy(out, perms);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void lock_conform(void)
{
	static const int kinds[] = { K_ANON_P, K_ANON_S, K_FILE_S, K_FILE_P };

	/* The sanitizers' mlock(2) does nothing (it would lock their shadow
	 * memory too). */
	if (H_SANITIZED) {
		printf("not under a sanitizer: mlock\n");
		return;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char *m = kind_map(kinds[i], true), *k = kind_map(kinds[i], false);
		char pm[5], pk[5], last;

		if (!m || !k)
			continue;
		h_ctx = kind_names[kinds[i]];
		/* A private mapping shows as one ('p'); see upager(3) for
		 * shared ones. */
		maps_perms(m, pm);
		maps_perms(k, pk);
		if (pk[3] == 'p')
			CHECK_EQ(pm[3], pk[3]);
		memset(m, 'z', LEN / 2);
		last = 0;
		if (kinds[i] == K_FILE_S || kinds[i] == K_FILE_P)
			CHECK_EQ(pread(fds[F_RW], &last, 1, LEN - 1), 1);
		CHECK_EQ(mlock(m, LEN), 0);
		CHECK_EQ(m[0], 'z');
		CHECK_EQ(m[LEN - 1], last);
		m[LEN - 1] = 'w';
		errno = 0;
		CHECK_EQ(up_msync(m, LEN, MS_SYNC | MS_INVALIDATE), -1);
		CHECK_EQ(errno, EBUSY);
		CHECK_EQ(up_msync(m, LEN, MS_SYNC), 0);
		CHECK_EQ(munlock(m, LEN), 0);
		CHECK_EQ(up_msync(m, LEN, MS_SYNC | MS_INVALIDATE), 0);
		CHECK_EQ(m[LEN / 2 - 1], 'z');
		CHECK_EQ(m[LEN - 1], 'w');
		CHECK_EQ(up_munmap(m, LEN), 0);
		munmap(m - 4096, LEN + 2 * 4096);	/* and the guards */
		munmap(k - 4096, LEN + 2 * 4096);
	}
	h_ctx = "-";
}

/* ---- the library's own descriptors ---- */

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Descriptors open before the pagers were made. */
static bool before[4096];

/*
 * A MAP_FIXED mapping the kernel refuses leaves what was mapped there as
 * it was, as mmap(2) does: the refusal comes before anything is unmapped.
 */
static void refused_fixed(void)
{
	static const struct map_case refused[] = {
		{ "pipe", 1, LEN, R, MAP_PRIVATE | MAP_FIXED, F_PIPE_R, 0 },
		{ "pipe exec", 1, LEN, R | PROT_EXEC, MAP_PRIVATE | MAP_FIXED,
		  F_PIPE_R, 0 },
		{ "directory", 1, LEN, R, MAP_SHARED | MAP_FIXED, F_DIR, 0 },
		{ "growing file", 1, LEN, R, MAP_PRIVATE | MAP_FIXED |
		  MAP_GROWSDOWN, F_RW, 0 },
		{ "growing shared anon", 1, LEN, R, AS | MAP_FIXED |
		  MAP_GROWSDOWN, F_NONE, 0 },
		{ "validate anon", 1, LEN, R, MAP_SHARED_VALIDATE |
		  MAP_ANONYMOUS | MAP_FIXED, F_NONE, 0 },
		{ "validate unknown bit", 1, LEN, R, SV | MAP_FIXED | (1 << 21),
		  F_RW, 0 },
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct map_case *c = &refused[i];
		char *m = up_mmap(case_addr(c), LEN, RW, MAP_SHARED | MAP_FIXED,
				  fds[F_RW], 0);
		int k = kernel_map(c), e;

		if (m == MAP_FAILED) {
			H_FAIL("%s: up_mmap: %s", c->name, strerror(errno));
			continue;
		}
		m[5] = 'k';
		e = dropin_map(c);
		if (e != k || !k)
			H_FAIL("refused fixed %s: kernel %s, up_mmap %s",
			       c->name, strerrorname_np(k) ?: "0",
			       strerrorname_np(e) ?: "0");
		else {
			char v = 0;

			CHECK_EQ(h_access(m + 5, 0, &v), 0);
			CHECK_EQ(v, 'k');
		}
		up_munmap(m, LEN);
		mmap(m, LEN, PROT_NONE, AP | MAP_FIXED | MAP_NORESERVE, -1, 0);
		CHECK_EQ(pwrite(fds[F_RW], &(char){ (char)h_pat(1, 5) }, 1, 5),
			 1);
	}
}

static void fds_snapshot(void)
{
	for (int fd = 0; fd < 4096; fd++)
		before[fd] = fd_open(fd);
}

/* The library's descriptors are close-on-exec and stay above the low
 * numbers a program uses. */
static void fds_conform(void)
{
	int new_nr = 0;

	CHECK(!fd_open(fds[F_CLOSED]));
	for (int fd = 0; fd < 4096; fd++) {
		if (before[fd] || !fd_open(fd))
			continue;
		new_nr++;
		if (fd < 100 || !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			H_FAIL("the library's descriptor %d is low or "
			       "inherited by exec", fd);
	}
	/* (The signals backend keeps a descriptor only while a file
	 * mapping of it is there.) */
	CHECK(new_nr > 0 || !strcmp(up_pager_backend(up_default_pager()),
				    "signals"));
}

int main(void)
{
	struct up_config cfg;
	char path[4096];
	int pp[2], k, u;

	/* Before the default pager exists: its own descriptors must not
	 * take the number the program has just closed. */
	fds[F_CLOSED] = 3;
	close(3);
	k = kernel_map(&(struct map_case){ "", 0, LEN, R, MAP_SHARED, F_CLOSED, 0 });
	u = dropin_map(&(struct map_case){ "", 0, LEN, R, MAP_SHARED, F_CLOSED, 0 });
	CHECK_EQ(u, k);
	CHECK_EQ(k, EBADF);

	fds[F_NONE] = -1;
	fds[F_RW] = h_file(LEN, 1);
	fds[F_RO] = h_reopen(fds[F_RW], O_RDONLY);
	fds[F_WO] = h_reopen(fds[F_RW], O_WRONLY);
	fds[F_APPEND] = h_reopen(fds[F_RW], O_RDWR | O_APPEND);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[F_RW]);
	fds[F_PATH] = open(path, O_PATH);
	fds[F_ZERO] = open("/dev/zero", O_RDWR);
	fds[F_ZERO_RO] = open("/dev/zero", O_RDONLY);
	fds[F_NULL] = open("/dev/null", O_RDWR);
	if (pipe(pp))
		SKIP("pipe: %s", strerror(errno));
	fds[F_PIPE_R] = pp[0];
	fds[F_PIPE_W] = pp[1];
	fds[F_DIR] = open(h_dir(), O_RDONLY | O_DIRECTORY);
	fds[F_PROC] = open("/proc/self/status", O_RDONLY);
	/* From here on, the lowest free number stands for a closed one. */
	fds[F_CLOSED] = dup(0);
	close(fds[F_CLOSED]);
	for (int i = F_RW; i < F_CLOSED; i++)
		if (fds[i] < 0)
			SKIP("cannot open the test files: %s", strerror(errno));
	fixed_at = (uintptr_t)mmap(NULL, LEN, PROT_NONE,
				   AP | MAP_NORESERVE, -1, 0);
	fds_snapshot();
	if (!up_default_pager())
		SKIP("no default pager: %s", strerror(errno));
	up_config_init(&cfg);
	CHECK_OK(up_pager_open(&pager, &cfg));
	if (!pager)
		h_done();
	printf("default pager: %s\n", up_pager_backend(up_default_pager()));

	map_conform();
	map_semantics();
	advise_conform();
	advise_semantics();
	lock_conform();
	refused_fixed();
	fds_conform();
	CHECK_OK(up_pager_close(pager));
	h_done();
}
