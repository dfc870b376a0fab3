/* coherent-shared: with the default configuration a MAP_SHARED file mapping is the page cache, as with the kernel's mmap: pwrite/write(2) and the mapping agree at once both ways, bytes never mapped are never written, stores survive SIGKILL, truncation raises SIGBUS where the kernel does; checked against a model and against the kernel's mmap run the same way (UPAGER_SEED or argv[1] repeats a run). */
#include "harness.h"

#include <sys/mman.h>

#define PG (64u << 10)

/* An engine: the kernel's mmap (p NULL, kernel set), the default pager
 * through the drop-in calls (p NULL), or a pager of its own. */
struct eng {
	const char *name;
	struct up_pager *p;
	int kernel;
};

static char *e_map(struct eng *e, size_t len, int fd, off_t off)
{
	int prot = PROT_READ | PROT_WRITE;
	void *m = NULL;
	int r;

	if (e->kernel)
		m = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	else if (!e->p)
		m = up_mmap(NULL, len, prot, MAP_SHARED, fd, off);
	else if ((r = up_pager_map(e->p, NULL, len, prot, MAP_SHARED, fd, off,
				   &m)))
		m = MAP_FAILED, errno = -r;
	if (m == MAP_FAILED) {
		H_FAIL("%s: map(%zu, %lld): %s", e->name, len, (long long)off,
		       strerror(errno));
		return NULL;
	}
	return m;
}

static int e_ret(int r)
{
	return r < 0 ? -errno : 0;
}

static int e_unmap(struct eng *e, void *m, size_t len)
{
	if (e->kernel)
		return e_ret(munmap(m, len));
	return e->p ? up_pager_unmap(e->p, m, len) : e_ret(up_munmap(m, len));
}

static int e_sync(struct eng *e, void *m, size_t len, int flags)
{
	if (e->kernel)
		return e_ret(msync(m, len, flags));
	return e->p ? up_pager_sync(e->p, m, len, flags)
		    : e_ret(up_msync(m, len, flags));
}

static int e_advise(struct eng *e, void *m, size_t len, int advice)
{
	if (e->kernel)
		return e_ret(madvise(m, len, advice));
	return e->p ? up_pager_advise(e->p, m, len, advice)
		    : e_ret(up_madvise(m, len, advice));
}

/*
 * write(2) from mapped memory.  The signals backend's pages not faulted
 * in yet are served first, as upager(3) says, a piece at a time that the
 * smallest budget here holds.
 */
static ssize_t e_write(struct eng *e, int fd, const char *m, size_t n)
{
	const size_t piece = 4096;
	size_t done = 0;

	if (e->kernel || !h_is_signals(e->p ? e->p : up_default_pager()))
		return write(fd, m, n);
	while (done < n) {
		size_t k = n - done < piece ? n - done : piece;
		uintptr_t a = (uintptr_t)(m + done) & ~(uintptr_t)4095;
		ssize_t w;

		e_advise(e, (void *)a, (uintptr_t)(m + done + k) - a,
			 MADV_POPULATE_READ);
		w = write(fd, m + done, k);
		if (w <= 0)
			return done ? (ssize_t)done : w;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static struct eng kern = { "kernel", NULL, 1 };
static struct eng dflt = { "default", NULL, 0 };

/* The file holds want[0, n) at off. */
static void bytes_at(int fd, off_t off, const char *want, size_t n,
		     const char *what)
{
	char got[16] = "";

	CHECK_EQ(pread(fd, got, n, off), (ssize_t)n);
	if (memcmp(got, want, n))
		H_FAIL("%s: the file at %lld holds %#x.., not %#x..", what,
		       (long long)off, got[0] & 0xff, want[0] & 0xff);
}

/* ---- (a): bytes no mapping covers are never written ------------------ */

static void unmapped_bytes(struct eng *e, int twice)
{
	int fd = h_file(PG, 1);
	char *m = e_map(e, 8192, fd, 8192), *m2 = NULL;
	char w[8] = "pwrite!";

	h_ctx = e->name;
	if (twice)	/* two mappings of the file: no longer one of a kind */
		m2 = e_map(e, 8192, fd, 8192);
	if (!m || (twice && !m2))
		return;
	m[0] = 'S';
	CHECK_EQ(pwrite(fd, w, 8, 1000), 8);
	CHECK_OK(e_unmap(e, m, 8192));
	if (m2)
		CHECK_OK(e_unmap(e, m2, 8192));
	bytes_at(fd, 1000, w, 8, "pwrite beside a mapping");
	bytes_at(fd, 8192, "S", 1, "store");
	close(fd);
}

/* ---- (b): a pwrite into a page stored to is kept at exit -------------- */

static void pwrite_then_exit(struct eng *e, int do_unmap)
{
	int fd = h_file(PG, 2);
	pid_t pid;
	int st;

	h_ctx = e->name;
	pid = fork();
	if (pid == 0) {
		char *m = e_map(e, PG, fd, 0);

		if (!m)
			_exit(2);
		m[100] = 'S';
		if (pwrite(fd, "pwrite!", 8, 200) != 8)
			_exit(3);
		if (do_unmap && e_unmap(e, m, PG))
			_exit(4);
		exit(0);	/* atexit: the default pager's write-back */
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(st, 0);
	bytes_at(fd, 100, "S", 1, "store");
	bytes_at(fd, 200, "pwrite!", 8, "pwrite into a stored page");
	close(fd);
}

/* ---- random interleavings against a model ---------------------------- */

static void random_ops(struct eng *e, uint64_t seed, int ops)
{
	size_t len = 16 * PG + 1234;	/* the last page holds EOF */
	int fd = h_file(len, 3);
	struct h_model model;
	char *m, *buf = malloc(2 * PG), *mb = malloc(2 * PG);
	int bad = 0;

	h_ctx = e->name;
	h_rng = seed;
	h_model_init(&model, fd);
	m = e_map(e, len, fd, 0);
	if (!m)
		return;
	for (int i = 0; i < ops && !bad; i++) {
		size_t n = 1 + h_below(h_below(4) ? 64 : 2 * PG);
		size_t a = h_below(len - n + 1), b;
		int op = (int)h_below(9);

		switch (op) {
		case 0:	/* store */
		case 1:
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)h_rand();
			memcpy(m + a, buf, n);
			h_model_write(&model, (off_t)a, buf, n);
			break;
		case 2:	/* load */
			CHECK_EQ(pread(model.fd, buf, n, (off_t)a), (ssize_t)n);
			if (memcmp(m + a, buf, n)) {
				H_FAIL("op %d: load [%zu, +%zu) differs", i, a,
				       n);
				bad = 1;
			}
			break;
		case 3:	/* pwrite */
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)h_rand();
			CHECK_EQ(pwrite(fd, buf, n, (off_t)a), (ssize_t)n);
			h_model_write(&model, (off_t)a, buf, n);
			break;
		case 4:	/* pread */
			CHECK_EQ(pread(fd, buf, n, (off_t)a), (ssize_t)n);
			CHECK_EQ(pread(model.fd, mb, n, (off_t)a), (ssize_t)n);
			if (memcmp(mb, buf, n)) {
				H_FAIL("op %d: pread [%zu, +%zu) differs", i, a,
				       n);
				bad = 1;
			}
			break;
		case 5:	/* write(2) from the mapping, elsewhere in the file */
			b = h_below(len - n + 1);
			if (b < a + n && a < b + n)
				break;
			CHECK_EQ(lseek(fd, (off_t)b, SEEK_SET), (off_t)b);
			CHECK_EQ(e_write(e, fd, m + a, n), (ssize_t)n);
			CHECK_EQ(pread(model.fd, buf, n, (off_t)a), (ssize_t)n);
			h_model_write(&model, (off_t)b, buf, n);
			break;
		case 6:	/* msync */
			a &= ~(size_t)4095;
			CHECK_OK(e_sync(e, m + a, n,
					h_below(2) ? MS_SYNC : MS_ASYNC));
			break;
		case 7:	/* madvise DONTNEED */
			a &= ~(size_t)4095;
			CHECK_OK(e_advise(e, m + a, n, MADV_DONTNEED));
			break;
		case 8:	/* everything mapped is what the file holds */
			if (!h_model_check(m, &model, 0, len))
				bad = 1;
			break;
		}
	}
	h_model_check(m, &model, 0, len);
	CHECK_OK(e_unmap(e, m, len));
	if (!h_files_equal(fd, model.fd))
		H_FAIL("seed %llu: the file differs from the model",
		       (unsigned long long)seed);
	close(model.fd);
	close(fd);
	free(buf);
	free(mb);
}

/* ---- SIGKILL: stores are in the file without the process -------------- */

#define KILL_STORES 4096

static void killed(struct eng *e, uint64_t seed)
{
	size_t len = 32 * PG;
	int fd = h_file(len, 4), pfd[2];
	uint64_t s = seed;
	pid_t pid;
	char c;

	h_ctx = e->name;
	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		char *m = e_map(e, len, fd, 0);

		if (!m)
			_exit(2);
		for (int i = 0; i < KILL_STORES; i++) {
			size_t off = h_rand_r(&s) % len;

			m[off] = (char)(off * 7 + 1);
		}
		if (write(pfd[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(pfd[1]);
	CHECK_EQ(read(pfd[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	for (int i = 0; i < KILL_STORES; i++) {
		size_t off = h_rand_r(&seed) % len;
		char want = (char)(off * 7 + 1), got = 0;

		CHECK_EQ(pread(fd, &got, 1, (off_t)off), 1);
		if (got != want) {
			H_FAIL("store %d at %zu lost with the process", i, off);
			break;
		}
	}
	close(fd);
}

/* ---- ftruncate under the mapping -------------------------------------- */

static sigjmp_buf jb;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

/* The byte at m[off] (0-255), or -1 on SIGBUS; stores v first if v >= 0. */
static int probe(char *m, size_t off, int v)
{
	volatile int got = -1;

	if (!sigsetjmp(jb, 1)) {
		if (v >= 0)
			m[off] = (char)v;
		got = (unsigned char)m[off];
	}
	return got;
}

#define PROBES 48

/* Grow and shrink the file under its mapping; what each probe saw, and
 * the final file, into out. */
static void truncation(struct eng *e, int *out, char *file, size_t flen)
{
	size_t len = 4 * PG, offs[] = { 0, 70000, 100000, 102399, 102400,
					   106496, 150000, 200000 };
	int fd = h_file(100000, 5), k = 0;
	struct sigaction sa = { .sa_handler = on_bus }, old;
	char *m;

	h_ctx = e->name;
	m = e_map(e, len, fd, 0);
	if (!m)
		return;
	sigaction(SIGBUS, &sa, &old);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
			out[k++] = probe(m, offs[i], -1);
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
			out[k++] = probe(m, offs[i], (int)(i + 1 + round));
		CHECK_EQ(ftruncate(fd, round == 0 ? 180000 : 60000), 0);
	}
	sigaction(SIGBUS, &old, NULL);
	CHECK_OK(e_unmap(e, m, len));
	memset(file, 0, flen);
	CHECK(pread(fd, file, flen, 0) >= 0);
	close(fd);
}

static void truncation_vs_kernel(struct eng *e)
{
	int want[PROBES], got[PROBES];
	char fw[200000], fg[200000];

	truncation(&kern, want, fw, sizeof(fw));
	truncation(e, got, fg, sizeof(fg));
	for (int i = 0; i < PROBES; i++)
		if (got[i] != want[i])
			H_FAIL("truncation probe %d: %d, the kernel %d", i,
			       got[i], want[i]);
	if (memcmp(fw, fg, sizeof(fw)))
		H_FAIL("after truncation the file differs from the kernel's");
	H_PASS();
}

/* ---- msync's result after the file is truncated under a store --------- */

static int sync_after_truncate(struct eng *e)
{
	int fd = h_file(4 * PG, 6), r;
	char *m = e_map(e, 4 * PG, fd, 0);

	if (!m)
		return 1;
	m[3 * PG + 5] = 'S';
	CHECK_EQ(ftruncate(fd, PG), 0);
	r = e_sync(e, m, 4 * PG, MS_SYNC);
	CHECK_OK(e_unmap(e, m, 4 * PG));
	close(fd);
	return r;
}

/* Say how many checks of the section just run failed (for bisecting). */
static void section(const char *name)
{
	static int before;

	printf("%-40s %s\n", name, h_fail_nr > before ? "FAILED" : "ok");
	fflush(stdout);
	before = h_fail_nr;
}

static void small_budget(struct up_config *c)
{
	c->budget = 4 * c->page_len;
}

int main(int argc, char **argv)
{
	uint64_t seed;
	struct up_config cfg;
	struct eng small = { "budget-4-pages", NULL, 0 };
	int ops = H_SANITIZED ? 1000 : 4000;

	if (argc > 1)
		setenv("UPAGER_SEED", argv[1], 1);
	seed = h_seed();
	if (!up_default_pager())
		SKIP("no default pager: %s", strerror(errno));
	if (!strcmp(up_pager_backend(up_default_pager()), "kernel"))
		SKIP("the default pager is the kernel backend here");
	up_config_init(&cfg);
	small_budget(&cfg);
	cfg.backend = h_is_uffd(up_default_pager()) ? UP_BACKEND_UFFD
						     : UP_BACKEND_SIGNALS;
	CHECK_OK(up_pager_open(&small.p, &cfg));

	unmapped_bytes(&kern, 0);
	unmapped_bytes(&kern, 1);
	section("(a) kernel");
	unmapped_bytes(&dflt, 0);
	section("(a) default");
	unmapped_bytes(&dflt, 1);
	unmapped_bytes(&small, 1);
	section("(a) two mappings");
	pwrite_then_exit(&kern, 0);
	section("(b) kernel");
	pwrite_then_exit(&dflt, 0);
	pwrite_then_exit(&dflt, 1);
	section("(b) default");
	random_ops(&kern, seed, ops);
	section("random, kernel");
	random_ops(&dflt, seed, ops);
	section("random, default");
	if (small.p)
		random_ops(&small, seed, ops);
	section("random, 4-page budget");
	killed(&kern, seed);
	section("SIGKILL, kernel");
	killed(&dflt, seed);
	section("SIGKILL, default");
	truncation_vs_kernel(&dflt);
	section("ftruncate, default");
	if (small.p)
		truncation_vs_kernel(&small);
	section("ftruncate, 4-page budget");
	h_ctx = "msync";
	CHECK_EQ(sync_after_truncate(&dflt), sync_after_truncate(&kern));
	section("msync after ftruncate");
	if (small.p)
		CHECK_OK(up_pager_close(small.p));
	h_done();
}
