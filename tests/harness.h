/* harness.h - the small harness every upager test program includes. */
#ifndef UP_TEST_HARNESS_H
#define UP_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "upager.h"

/* H_SANITIZED: scale work down.  H_TSAN: ThreadSanitizer's shadow memory
 * grows RssAnon with every byte touched, and it runs a thread of its own. */
#if defined(__SANITIZE_THREAD__)
#define H_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define H_TSAN 1
#endif
#endif
#ifndef H_TSAN
#define H_TSAN 0
#endif
#if H_TSAN || defined(__SANITIZE_ADDRESS__)
#define H_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_SANITIZED 1
#endif
#endif
#ifndef H_SANITIZED
#define H_SANITIZED 0
#endif

#define H_U __attribute__((unused))
#define H_MIB ((size_t)1 << 20)

/* ---- checks and counters (safe from any thread) ---- */
static H_U int h_pass_nr, h_fail_nr;
static H_U const char *h_ctx = "-";	/* current backend, in messages */

#define H_PASS() __atomic_fetch_add(&h_pass_nr, 1, __ATOMIC_RELAXED)
/* Failures are all counted; the first 50 are shown. */
#define H_FAIL(...)                                                     \
	do {                                                            \
		int h_n_ = __atomic_add_fetch(&h_fail_nr, 1, __ATOMIC_RELAXED); \
		if (h_n_ > 50)                                          \
			break;                                          \
		flockfile(stderr);                                      \
		fprintf(stderr, "%s:%d: [%s] ", __FILE__, __LINE__, h_ctx); \
		fprintf(stderr, __VA_ARGS__);                           \
		fputs(h_n_ == 50 ? "\n(more failures not shown)\n" : "\n", stderr); \
		funlockfile(stderr);                                    \
	} while (0)
#include "check.h"

static H_U int h_backend_tried, h_backend_ran, h_backend_left;

/* Print "N passed, N failed" and exit: 1 on any failure, 77 if the test
 * wanted a backend and none could run. */
static inline void h_done(void)
{
	if (h_backend_tried && !h_backend_ran && !h_fail_nr && h_backend_left)
		SKIP("every backend usable here is one this test leaves out "
		     "(\"does not apply\" above)");
	if (h_backend_tried && !h_backend_ran && !h_fail_nr)
		SKIP("no backend usable on this machine");
	printf("%d passed, %d failed\n", h_pass_nr, h_fail_nr);
	exit(h_fail_nr ? 1 : 0);
}

/* ---- the user ---- */
/* UPAGER_TEST_USER=nobody (make check-user): root becomes that user before
 * main(), so that the test runs as an ordinary user does, with the
 * backends such a user gets. */
__attribute__((constructor)) static void h_as_user(void)
{
	const char *u = getenv("UPAGER_TEST_USER");
	const struct passwd *pw;

	if (!u || !*u || geteuid() != 0)
		return;
	pw = getpwnam(u);
	if (!pw || setgroups(0, NULL) || setgid(pw->pw_gid) ||
	    setuid(pw->pw_uid)) {
		fprintf(stderr, "cannot become %s\n", u);
		exit(1);
	}
}

/* ---- backends ---- */
/* The rounds of FOR_EACH_BACKEND: userfaultfd with service threads, the
 * kernel, userfaultfd with faults served in the faulting thread, and the
 * signals backend. */
static const struct h_round {
	enum up_backend r_backend;
	unsigned r_flags;
} h_rounds[] = {
	{ UP_BACKEND_UFFD, 0 },
	{ UP_BACKEND_KERNEL, 0 },
	{ UP_BACKEND_UFFD, UP_CONFIG_FAULT_INLINE },
	{ UP_BACKEND_SIGNALS, 0 },
};
/* Flags of the current round, added to every pager h_open() makes (a test
 * may set them for a round of its own). */
static H_U unsigned h_flags;
/* Rounds to leave out, a bit per round (a test's own choice). */
#define H_SKIP_INLINE (1u << 2)
#define H_SKIP_SIGNALS (1u << 3)
static H_U unsigned h_skip;
#define h_rounds_nr (sizeof(h_rounds) / sizeof(h_rounds[0]))

static inline const char *h_backend_name(enum up_backend b)
{
	if (b == UP_BACKEND_UFFD)
		return (h_flags & UP_CONFIG_FAULT_INLINE) ? "uffd-inline"
							  : "uffd";
	if (b == UP_BACKEND_SIGNALS)
		return "signals";
	return b == UP_BACKEND_KERNEL ? "kernel" : "auto";
}

/* Probe b; say why and return 0 if it cannot run here. */
static inline int h_sanitized_signals(void)
{
	static const char *const asan[] = { "file-", "threads-", "coherent-",
					    "model-", "store-api" };
	const char *n = program_invocation_short_name;

	if (H_TSAN)
		return !strncmp(n, "threads-", 8) || !strcmp(n, "store-api");
	for (size_t i = 0; i < sizeof(asan) / sizeof(asan[0]); i++)
		if (!strncmp(n, asan[i], strlen(asan[i])))
			return 1;
	return 0;
}

static inline int h_backend_usable(enum up_backend b)
{
	char why[512] = "";
	int r;

	h_backend_tried = 1;
	h_ctx = h_backend_name(b);
	/* The kernel backend passes calls to the kernel and has no threads
	 * of its own: the plain and AddressSanitizer builds run it. */
	if (H_TSAN && b == UP_BACKEND_KERNEL) {
		printf("backend %s: not under ThreadSanitizer -- skipped\n",
		       h_ctx);
		return 0;
	}
	/* Nor the signals backend, which has no threads of its own either,
	 * but where the program's threads fault at once (threads-*) or hand
	 * a store's calls to its one (store-api); under AddressSanitizer,
	 * where files are mapped, faulted and written (file-*, threads-*,
	 * coherent-*, model-*, store-api): the plain pass runs it
	 * everywhere, and the CI's ten minutes do not hold it thrice. */
	if (H_SANITIZED && b == UP_BACKEND_SIGNALS && !h_sanitized_signals()) {
		printf("backend %s: under a sanitizer only in some tests -- "
		       "skipped\n", h_ctx);
		return 0;
	}
	/* As an ordinary user (make check-user), the kernel backend is what
	 * it is for root, whose pass runs it. */
	if (b == UP_BACKEND_KERNEL && getenv("UPAGER_TEST_USER")) {
		printf("backend %s: run by make check -- skipped\n", h_ctx);
		return 0;
	}
	r = up_backend_probe(b, h_flags, why, sizeof(why));
	if (r) {
		printf("backend %s unusable (%s): %s -- skipped\n", h_ctx,
		       up_strerror(r), why);
		return 0;
	}
	h_backend_ran++;
	printf("backend %s\n", h_ctx);
	fflush(stdout);
	return 1;
}

/* Say that round i is left out (h_skip). */
static inline int h_left_out(size_t i)
{
	static const char *const names[] = { "uffd", "kernel", "uffd-inline",
					     "signals" };

	printf("backend %s: does not apply -- left out\n", names[i]);
	h_backend_left++;
	return 1;
}

/* for each usable round, with backend b: statement (h_flags is set
 * during each round, and 0 after the last) */
#define FOR_EACH_BACKEND_ID(b)                                          \
	for (size_t h_bi_ = 0; h_bi_ < h_rounds_nr || (h_flags = 0);    \
	     h_bi_++)                                                   \
		if (((h_skip >> h_bi_) & 1) && h_left_out(h_bi_)) {    \
		} else if ((b) = h_rounds[h_bi_].r_backend,             \
			   h_flags = h_rounds[h_bi_].r_flags,           \
			   !h_backend_usable(b)) {                      \
		} else

static inline const char *h_dir(void)
{
	const char *d = getenv("UPAGER_TEST_DIR");

	return d && *d ? d : "/var/tmp";
}

/* Open a pager on backend b: defaults, then adjust(cfg) if given. */
static inline struct up_pager *h_open(enum up_backend b,
				      void (*adjust)(struct up_config *))
{
	struct up_config cfg;
	struct up_pager *p = NULL;
	int r;

	up_config_init(&cfg);
	cfg.backend = b;
	cfg.flags = 0;
	cfg.swap_dir = h_dir();
	if (adjust)
		adjust(&cfg);
	cfg.flags |= h_flags;
	if ((cfg.flags & UP_CONFIG_FAULT_INLINE) &&
	    (cfg.flags & UP_CONFIG_SHARED)) {
		printf("%s: not with UP_CONFIG_SHARED -- skipped\n", h_ctx);
		return NULL;
	}
	r = up_pager_open(&p, &cfg);
	if (r) {
		H_FAIL("up_pager_open(%s) = %d: %s", h_backend_name(b), r,
		       up_strerror(r));
		return NULL;
	}
	H_PASS();
	return p;
}

/* Run body(p, b) on a fresh pager of each usable round, then close it. */
static inline void h_for_each_backend(void (*adjust)(struct up_config *),
				      void (*body)(struct up_pager *,
						   enum up_backend))
{
	enum up_backend b;

	FOR_EACH_BACKEND_ID(b) {
		struct up_pager *p = h_open(b, adjust);

		if (!p)
			continue;
		body(p, b);
		CHECK_OK(up_pager_close(p));
	}
	h_ctx = "-";
}
#define FOR_EACH_BACKEND(adjust, body) h_for_each_backend(adjust, body)

static inline int h_is_uffd(const struct up_pager *p)
{
	return strcmp(up_pager_backend(p), "userfaultfd") == 0;
}

/* The signals backend: a system call that touches p's pages not yet
 * faulted in fails with EFAULT (its documented difference), and every
 * resident page is the kernel's page cache, mapped in place. */
static inline int h_is_signals(const struct up_pager *p)
{
	return strcmp(up_pager_backend(p), "signals") == 0;
}

/* Map through p; NULL (and a failed check) on error. */
static inline void *h_map(struct up_pager *p, size_t len, int prot, int flags,
			  int fd, off_t off)
{
	void *addr = NULL;
	int r = up_pager_map(p, NULL, len, prot, flags, fd, off, &addr);

	if (r) {
		H_FAIL("up_pager_map(len %zu, off %lld) = %d: %s", len,
		       (long long)off, r, up_strerror(r));
		return NULL;
	}
	H_PASS();
	return addr;
}

/* ---- seeded PRNG (xorshift64) ---- */
static H_U uint64_t h_rng = 1;

static inline uint64_t h_rand_r(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}
static inline uint64_t h_rand(void) { return h_rand_r(&h_rng); }
static inline uint64_t h_below(uint64_t n) { return n ? h_rand() % n : 0; }

/* Seed h_rand() from $UPAGER_SEED or the clock, and print the seed. */
static inline uint64_t h_seed(void)
{
	const char *e = getenv("UPAGER_SEED");
	uint64_t s = e && *e ? strtoull(e, NULL, 0) :
		     (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();

	if (!s)
		s = 1;
	printf("seed %llu (UPAGER_SEED=%llu repeats this run)\n",
	       (unsigned long long)s, (unsigned long long)s);
	fflush(stdout);
	h_rng = s;
	return s;
}

/* The same for each { page length, budget in pages } of cfg[n], set in
 * *page and *budget_pages for adjust to take; then the test is done. */
static inline void h_for_each_budget(const size_t (*cfg)[2], size_t n,
				     size_t *page, size_t *budget_pages,
				     void (*adjust)(struct up_config *),
				     void (*body)(struct up_pager *,
						  enum up_backend))
{
	h_seed();
	for (size_t i = 0; i < n; i++) {
		*page = cfg[i][0];
		*budget_pages = cfg[i][1];
		printf("page_len %zu, budget %zu pages\n", *page,
		       *budget_pages);
		FOR_EACH_BACKEND(adjust, body);
	}
	h_done();
}

/* ---- deterministic content: byte off of pattern seed ---- */
static inline uint64_t h_pat_word(uint64_t seed, uint64_t word)
{
	uint64_t x = word * 0x9E3779B97F4A7C15ull ^ (seed + 1) * 0xD1B54A32D192ED03ull;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 32);
}
static inline uint8_t h_pat(uint64_t seed, uint64_t off)
{
	return (uint8_t)(h_pat_word(seed, off >> 3) >> ((off & 7) * 8));
}
static inline void h_pat_fill(void *buf, uint64_t seed, uint64_t off,
			      size_t len)
{
	uint8_t *b = buf;
	size_t i = 0;

	while (i < len) {
		uint64_t o = off + i, x = h_pat_word(seed, o >> 3);

		for (unsigned k = o & 7; k < 8 && i < len; k++)
			b[i++] = (uint8_t)(x >> (k * 8));
	}
}
/* Offset of the first byte of mem that differs from the pattern, or -1. */
static inline long long h_pat_diff(const void *mem, uint64_t seed,
				   uint64_t off, size_t len)
{
	const volatile uint8_t *b = mem;

	for (size_t i = 0; i < len;) {
		uint64_t o = off + i, w;

		/* (A word at a time where the pattern's words fall.) */
		if (!(o & 7) && len - i >= 8) {
			memcpy(&w, (const void *)(b + i), 8);
			if (w == h_pat_word(seed, o >> 3)) {
				i += 8;
				continue;
			}
		}
		if (b[i] != h_pat(seed, o))
			return (long long)i;
		i++;
	}
	return -1;
}

/* ---- temporary files: unlinked at once, so nothing is ever left ---- */
static inline int h_tmpfile(void)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/upager-test-XXXXXX", h_dir());
	fd = mkstemp(path);
	if (fd < 0) {
		H_FAIL("mkstemp(%s): %s", path, strerror(errno));
		exit(1);
	}
	unlink(path);
	return fd;
}

/* A temporary file of len bytes holding pattern seed. */
static inline int h_file(size_t len, uint64_t seed)
{
	int fd = h_tmpfile();
	size_t chunk = 4 * H_MIB;
	char *buf = malloc(chunk);

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		h_pat_fill(buf, seed, off, n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			H_FAIL("pwrite: %s", strerror(errno));
			exit(1);
		}
	}
	free(buf);
	return fd;
}

/* fd opened again with other flags (works for unlinked files). */
static inline int h_reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static inline off_t h_file_len(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/* ---- reference model: a plain copy that gets the same writes ---- */
struct h_model {
	int fd;
};

static inline void h_model_init(struct h_model *m, int src)
{
	off_t len = h_file_len(src), in = 0, out = 0;

	m->fd = h_tmpfile();
	while (in < len) {
		ssize_t n = copy_file_range(src, &in, m->fd, &out,
					    (size_t)(len - in), 0);

		if (n <= 0) {
			H_FAIL("model copy failed: %s", strerror(errno));
			exit(1);
		}
	}
}

static inline void h_model_write(struct h_model *m, off_t off,
				 const void *buf, size_t len)
{
	if (pwrite(m->fd, buf, len, off) != (ssize_t)len)
		H_FAIL("model pwrite: %s", strerror(errno));
}

/* Check that [map + off, + len) holds what the model's file holds there;
 * return 1 if so. */
static inline int h_model_check(const char *map, struct h_model *m,
				size_t off, size_t len)
{
	char *buf = malloc(len);
	int ok;

	CHECK_EQ(pread(m->fd, buf, len, (off_t)off), (ssize_t)len);
	ok = !memcmp(map + off, buf, len);
	if (!ok)
		H_FAIL("mapping differs from the model in [%zu, +%zu)", off,
		       len);
	free(buf);
	return ok;
}

/* Check that files a and b hold the same bytes; return 1 if so. */
static inline int h_files_equal(int a, int b)
{
	off_t la = h_file_len(a), lb = h_file_len(b);
	char *x = malloc(H_MIB), *y = malloc(H_MIB);
	int ok = la == lb;

	if (!ok)
		H_FAIL("file sizes differ: %lld != %lld", (long long)la,
		       (long long)lb);
	for (off_t off = 0; ok && off < la; off += (off_t)H_MIB) {
		ssize_t n = pread(a, x, H_MIB, off), m = pread(b, y, H_MIB, off);

		ok = n == m && n > 0;
		if (!ok || !memcmp(x, y, (size_t)n))
			continue;
		/* (Byte by byte only to say where they differ.) */
		for (ssize_t i = 0; ok && i < n; i++)
			if (x[i] != y[i]) {
				H_FAIL("files differ first at byte %lld: %#x != %#x",
				       (long long)(off + i), x[i] & 0xff, y[i] & 0xff);
				ok = 0;
			}
	}
	if (ok)
		H_PASS();
	free(x);
	free(y);
	return ok;
}

/* ---- signals: one access in-process, or a whole function in a child ---- */
static H_U sigjmp_buf h_jmp;
static H_U volatile sig_atomic_t h_sig_nr;
static H_U void *volatile h_sig_addr;
static H_U volatile int h_sig_code;

/* Installed after upager's own handler, so inline faults are served
 * through up_fault_handle() first. */
static inline void h_on_sig(int sig, siginfo_t *si, void *uc)
{
	/* A pager's fault (inline userfaultfd, signals backend) first. */
	if (up_fault_handle(si, uc))
		return;
	h_sig_nr = sig;
	h_sig_addr = si->si_addr;
	h_sig_code = si->si_code;
	siglongjmp(h_jmp, 1);
}

/* Bytes of fd's first len bytes in the page cache, as fincore(1) counts
 * them (mincore(2) of a mapping of the file that takes no fault). */
static inline size_t h_cached(int fd, size_t len)
{
	size_t n = len / 4096, in = 0;
	unsigned char *v = malloc(n);
	void *m = mmap(NULL, len, PROT_NONE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED || !v || mincore(m, len, v)) {
		H_FAIL("mincore: %s", strerror(errno));
		in = len;
	} else {
		for (size_t i = 0; i < n; i++)
			in += (v[i] & 1) * 4096;
	}
	if (m != MAP_FAILED)
		munmap(m, len);
	free(v);
	return in;
}

/* Read the byte at addr into *val (write *val there if wr).  Returns 0,
 * or SIGBUS/SIGSEGV if that was raised (h_sig_addr/h_sig_code say more).
 * Main thread only. */
static inline int h_access(volatile char *addr, int wr, char *val)
{
	struct sigaction sa, obus, osegv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_on_sig;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	h_sig_nr = 0;
	if (!sigsetjmp(h_jmp, 1)) {
		if (wr)
			*addr = *val;
		else
			*val = *addr;
	}
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return h_sig_nr;
}

/* One byte over a pipe, to run a parent and its child in step: h_send()
 * writes it, h_await() reads it, and fails the test rather than hang if
 * the other process died (end of file). */
static inline void h_send(int fd)
{
	if (write(fd, "", 1) != 1)
		_exit(98);
}

static inline void h_await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1) {
		H_FAIL("the other process died");
		h_done();
	}
}

static H_U int h_child_fd = -1;

/* In a child of h_fork(): hand the checks counted so far to the parent
 * (call it before an access that is meant to kill the child). */
static inline void h_child_sync(void)
{
	int c[2] = { h_pass_nr, h_fail_nr };

	if (h_child_fd >= 0 && write(h_child_fd, c, sizeof(c)) < 0)
		_exit(99);
}

/* Run fn(arg) in a forked child with default SIGBUS/SIGSEGV actions.
 * Returns the signal that killed it, 0 if it returned, else 256 + its exit
 * status; its checks are added to ours.  A child that opens a pager must be
 * forked while none is open: a pager's mappings are not inherited, and
 * TSan forbids new threads after forking a process that has threads. */
/* A child's SIGBUS and SIGSEGV: a pager's fault is served (as a program's
 * own handler does, see up_fault_handle()); any other kills the child, as
 * by default. */
static inline void h_child_sig(int sig, siginfo_t *si, void *uc)
{
	if (up_fault_handle(si, uc))
		return;
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);	/* sent: raised again, now fatal */
}

static inline int h_fork(void (*fn)(void *), void *arg)
{
	int pfd[2], c[2], last[2] = { 0, 0 }, st;
	struct rlimit no_core = { 0, 0 };
	pid_t pid;

	if (pipe(pfd))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		h_child_fd = pfd[1];
		h_pass_nr = h_fail_nr = 0;
		setrlimit(RLIMIT_CORE, &no_core);
		{
			struct sigaction sa;

			memset(&sa, 0, sizeof(sa));
			sa.sa_sigaction = h_child_sig;
			sa.sa_flags = SA_SIGINFO | SA_NODEFER;
			sigaction(SIGBUS, &sa, NULL);
			sigaction(SIGSEGV, &sa, NULL);
		}
		fn(arg);
		h_child_sync();
		fflush(NULL);
		_exit(0);
	}
	close(pfd[1]);
	while (read(pfd[0], c, sizeof(c)) == (ssize_t)sizeof(c))
		memcpy(last, c, sizeof(c));
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 512;
	h_pass_nr += last[0];
	h_fail_nr += last[1];
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	return WEXITSTATUS(st) ? 256 + WEXITSTATUS(st) : 0;
}

/* ---- shared cache segments (UP_CONFIG_SHARED) ---- */

/* The name in /dev/shm of the segment of fd's file, as upager.h names it:
 * upager-<st_dev>-<st_ino>-<birth time in ns> (hex; 0 where the file
 * system records no birth time). */
static inline void h_seg_name(int fd, char *name, size_t len)
{
	struct statx sx;
	struct stat st;
	unsigned long long birth = 0;

	if (fstat(fd, &st))
		exit(1);
	if (!statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BTIME,
		   &sx) && (sx.stx_mask & STATX_BTIME))
		birth = (unsigned long long)sx.stx_btime.tv_sec * 1000000000u +
			sx.stx_btime.tv_nsec;
	snprintf(name, len, "upager-%llx-%llx-%llx",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 birth);
}

/* The same as a path. */
static inline void h_seg_path(int fd, char *path, size_t len)
{
	int n = snprintf(path, len, "/dev/shm/");

	h_seg_name(fd, path + n, len - (size_t)n);
}

/* ---- process resources ---- */
static inline int h_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1;	/* the directory's own fd */

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* A number field of /proc/self/status ("Threads", "VmRSS" in kB...). */
static inline long h_status(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t kl = strlen(key);
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* Thread count, waiting up to 2 s for it to come down to want: a joined
 * thread leaves /proc a moment after pthread_join() returns. */
static inline long h_threads_settle(long want)
{
	long n = h_status("Threads");

	for (int i = 0; i < 200 && n > want; i++) {
		usleep(10000);
		n = h_status("Threads");
	}
	return n;
}

#endif /* UP_TEST_HARNESS_H */
