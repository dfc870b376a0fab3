/* fault-inline: faults served in the faulting thread (UP_CONFIG_FAULT_INLINE): data against a model under threads and eviction, SIGBUS chaining, up_fault_handle, no leaks. */
#include "harness.h"
#include "up-sys.h"

#define PAGE 16384
#define FILE_PAGES 256
#define THREADS 4

static const int ops_nr = H_TSAN ? 300 : H_SANITIZED ? 1000 : 3000;

static void adjust(struct up_config *c)
{
	c->page_len = PAGE;
	c->budget = 8 * PAGE;
	c->readahead_nr = 2;
	c->flags |= UP_CONFIG_FAULT_INLINE;
}

static void no_readahead(struct up_config *c)
{
	adjust(c);
	c->readahead_nr = 0;
	c->budget = 64 * PAGE;
}

static long maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int ch;

	while (f && (ch = fgetc(f)) != EOF)
		n += ch == '\n';
	if (f)
		fclose(f);
	return n;
}

/* ---- the application's own SIGBUS handlers ---------------------------- */

static sigjmp_buf app_jmp;
static volatile sig_atomic_t app_calls, app_served;
static void *volatile app_addr;
static volatile int app_code;

/* Installed before any pager: gets what upager does not serve. */
static void app_before(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	app_calls++;
	app_addr = si->si_addr;
	app_code = si->si_code;
	if (si->si_code > 0)
		siglongjmp(app_jmp, 1);
}

/* Installed after upager's: asks upager first. */
static void app_after(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	if (up_fault_handle(si, uc)) {
		app_served++;
		return;
	}
	app_calls++;
	app_addr = si->si_addr;
	app_code = si->si_code;
	if (si->si_code > 0)
		siglongjmp(app_jmp, 1);
}

static void set_bus(void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
}

/* Access addr (a store if wr); 1 if the application's handler got a
 * SIGBUS for it, with si_addr in its system page, else 0. */
static int bus_at(volatile char *addr, int wr)
{
	int calls = app_calls;

	app_addr = NULL;
	if (!sigsetjmp(app_jmp, 1)) {
		if (wr)
			*addr = 'w';
		else
			(void)*addr;
		return 0;
	}
	CHECK_EQ(app_calls, calls + 1);
	CHECK_EQ((uintptr_t)app_addr & ~4095ul, (uintptr_t)addr & ~4095ul);
	CHECK(app_code == BUS_ADRERR || app_code == BUS_MCEERR_AR);
	return 1;
}

/* ---- many threads against a model ------------------------------------- */

struct job {
	char *sh, *an;		/* shared file mapping, anonymous mapping */
	uint8_t *an_model;	/* what an should hold */
	int model_fd;
	struct up_pager *p;
	uint64_t seed;
	unsigned t;
};

/* Thread t owns system page i of both mappings when i % THREADS == t, so
 * the threads share every pager page and never each other's bytes. */
static size_t own(unsigned t, uint64_t *rng)
{
	size_t pages = FILE_PAGES * PAGE / 4096;

	return (h_rand_r(rng) % (pages / THREADS)) * THREADS + t;
}

static void one_op(struct job *j, uint64_t *rng)
{
	size_t sp = own(j->t, rng), o = h_rand_r(rng) % 4096;
	size_t n = 1 + h_rand_r(rng) % (4096 - o), off = sp * 4096 + o;
	unsigned kind = (unsigned)(h_rand_r(rng) % 100);
	char buf[4096], want[4096];

	if (kind < 40) {		/* write both */
		h_pat_fill(buf, h_rand_r(rng), off, n);
		memcpy(j->sh + off, buf, n);
		h_model_write(&(struct h_model){ j->model_fd }, (off_t)off,
			      buf, n);
		memcpy(j->an + off, buf, n);
		memcpy(j->an_model + off, buf, n);
	} else if (kind < 97) {		/* read both */
		memcpy(buf, j->sh + off, n);
		if (pread(j->model_fd, want, n, (off_t)off) != (ssize_t)n)
			H_FAIL("model pread");
		if (memcmp(buf, want, n))
			H_FAIL("thread %u: shared bytes %zu+%zu differ", j->t,
			       off, n);
		if (memcmp(j->an + off, j->an_model + off, n))
			H_FAIL("thread %u: anonymous bytes %zu+%zu differ",
			       j->t, off, n);
	} else {			/* msync the whole file */
		int r = up_pager_sync(j->p, j->sh, FILE_PAGES * PAGE,
				      kind & 1 ? MS_SYNC : MS_ASYNC);

		if (r)
			H_FAIL("up_pager_sync = %d", r);
	}
}

static void *worker(void *arg)
{
	struct job *j = arg;
	uint64_t rng = j->seed * 0x9E3779B97F4A7C15ull + j->t + 1;

	for (int i = 0; i < ops_nr; i++)
		one_op(j, &rng);
	return NULL;
}

static void threads_model(uint64_t seed)
{
	size_t len = FILE_PAGES * PAGE;
	int fd = h_file(len, 7);
	struct job jobs[THREADS];
	pthread_t th[THREADS];
	struct h_model m;
	struct up_stats st;
	struct up_pager *p = h_open(UP_BACKEND_UFFD, adjust);
	char *sh, *an;
	uint8_t *an_model = calloc(1, len);

	if (!p)
		return;
	h_model_init(&m, fd);
	sh = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	an = h_map(p, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!sh || !an)
		return;
	for (unsigned t = 0; t < THREADS; t++) {
		jobs[t] = (struct job){ sh, an, an_model, m.fd, p, seed, t };
		CHECK_EQ(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK(st.evictions > 0);
	CHECK(st.faults_read + st.faults_write > 0);
	printf("threads: %llu read faults, %llu write faults, %llu evictions\n",
	       (unsigned long long)st.faults_read,
	       (unsigned long long)st.faults_write,
	       (unsigned long long)st.evictions);
	CHECK_OK(up_pager_sync(p, sh, len, MS_SYNC));
	h_files_equal(fd, m.fd);
	CHECK(memcmp(an, an_model, len) == 0);
	CHECK_OK(up_pager_unmap(p, sh, len));
	CHECK_OK(up_pager_unmap(p, an, len));
	h_files_equal(fd, m.fd);
	CHECK_OK(up_pager_close(p));
	free(an_model);
	close(m.fd);
	close(fd);
}

/* ---- SIGBUS: past the end of the file, read errors -------------------- */

/* A file of about 4.5 pager pages mapped as 8: past its end are the
 * last two system pages of pager page 4, and pages 5..7. */
#define FLEN (4 * PAGE + PAGE / 2 - 100)
static void bad_pages(struct up_pager *p)
{
	size_t len = 8 * PAGE;
	int fd = h_file(FLEN, 3);
	char *m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int calls = app_calls;

	if (!m)
		return;
	/* good pages never reach the application's handler */
	CHECK_EQ(h_pat_diff(m, 3, 0, FLEN), -1);
	CHECK_EQ(m[FLEN + 50], 0);	/* the tail reads as zeros */
	m[PAGE + 1] = 'x';
	CHECK_EQ(app_calls, calls);
	/* past the end: SIGBUS each time, reads and writes */
	CHECK(bus_at(m + 5 * PAGE + 100, 0));
	CHECK(bus_at(m + 5 * PAGE + 100, 0));
	CHECK(bus_at(m + 7 * PAGE, 1));
	CHECK(bus_at(m + 4 * PAGE + 3 * 4096 + 5, 0));
	CHECK_EQ(app_calls, calls + 4);
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));	/* no error */

	/* a read error: SIGBUS; once the error is gone, the page is read
	 * again, as the kernel reads it again */
	CHECK_OK(up_pager_advise(p, m, len, MADV_DONTNEED));
	up__sys_fail(UP_SYS_PREAD, 0, 1000000, EIO);
	CHECK(bus_at(m + 2 * PAGE + 77, 0));
	CHECK(bus_at(m + 2 * PAGE + 4096, 1));	/* the whole pager page */
	up__sys_fail(UP_SYS_PREAD, 0, 0, 0);
	CHECK(!bus_at(m + 2 * PAGE + 77, 0));
	CHECK_EQ(h_pat_diff(m + 2 * PAGE, 3, 2 * PAGE, PAGE), -1);
	CHECK_EQ(h_pat_diff(m + 3 * PAGE, 3, 3 * PAGE, PAGE), -1);
	CHECK_EQ(m[PAGE + 1], 'x');
	CHECK_OK(up_pager_sync(p, m, len, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, len));
	/* a new mapping reads it */
	m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m) {
		CHECK_EQ(h_pat_diff(m + 2 * PAGE, 3, 2 * PAGE, PAGE), -1);
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	close(fd);
}

/* A SIGBUS upager has nothing to do with: the kernel's mmap past the end
 * of a file, and one sent with kill(2). */
static void foreign(void)
{
	int fd = h_file(100, 1), calls;
	char *k = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);

	CHECK(k != MAP_FAILED);
	if (k != MAP_FAILED) {
		CHECK(bus_at(k + 4096 + 8, 0));
		munmap(k, 2 * 4096);
	}
	calls = app_calls;
	kill(getpid(), SIGBUS);
	CHECK_EQ(app_calls, calls + 1);
	CHECK_EQ(app_code, SI_USER);
	close(fd);
}

/* The application's handler was there before the first inline pager. */
static void handler_before(void)
{
	struct up_pager *p;

	set_bus(app_before);
	p = h_open(UP_BACKEND_UFFD, no_readahead);
	if (!p)
		return;
	bad_pages(p);
	foreign();
	CHECK_OK(up_pager_close(p));
	foreign();		/* upager's handler passes it on still */
}

/* The application's handler comes after: up_fault_handle serves. */
static void handler_after(void)
{
	size_t len = 32 * PAGE;
	int fd = h_file(len, 4), served;
	struct up_pager *p = h_open(UP_BACKEND_UFFD, no_readahead);
	char *m;

	if (!p)
		return;
	set_bus(app_after);
	m = h_map(p, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m) {
		app_served = 0;
		CHECK_EQ(h_pat_diff(m, 4, 0, len), -1);
		served = app_served;
		CHECK_EQ(served, 32);	/* one fault per pager page */
		/* The file's page-cache page is mapped: the kernel takes
		 * the store itself. */
		*(volatile char *)(m + 5) = 'y';
		CHECK_EQ(app_served, served);
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	m = h_map(p, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m) {
		CHECK_EQ(m[5], 'y');
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	bad_pages(p);
	foreign();
	CHECK_OK(up_pager_close(p));
	close(fd);
}

/* Two inline pagers at once: each fault goes to its own, and one closed
 * leaves the other serving. */
static void two_pagers(void)
{
	size_t len = 16 * PAGE;
	int fa = h_file(len, 5), fb = h_file(len, 6);
	struct up_pager *a = h_open(UP_BACKEND_UFFD, no_readahead);
	struct up_pager *b = h_open(UP_BACKEND_UFFD, no_readahead);
	struct up_stats sa, sb;
	char *ma = NULL, *mb = NULL;

	if (a)
		ma = h_map(a, len, PROT_READ, MAP_SHARED, fa, 0);
	if (b)
		mb = h_map(b, len, PROT_READ, MAP_SHARED, fb, 0);
	if (ma && mb) {
		for (size_t i = 0; i < 16; i += 2) {
			CHECK_EQ(h_pat_diff(ma + i * PAGE, 5, i * PAGE, PAGE), -1);
			CHECK_EQ(h_pat_diff(mb + i * PAGE, 6, i * PAGE, PAGE), -1);
		}
		CHECK_OK(up_pager_stats(a, &sa));
		CHECK_OK(up_pager_stats(b, &sb));
		CHECK_EQ(sa.faults_read, 8);
		CHECK_EQ(sb.faults_read, 8);
		CHECK_OK(up_pager_close(a));
		a = NULL;
		CHECK_EQ(h_pat_diff(mb, 6, 0, len), -1);
		CHECK_OK(up_pager_stats(b, &sb));
		CHECK_EQ(sb.faults_read, 16);
	}
	if (a)
		CHECK_OK(up_pager_close(a));
	if (b)
		CHECK_OK(up_pager_close(b));
	close(fa);
	close(fb);
}

/* ---- previous actions that end the process (in children) -------------- */

/* Touch a page past the end of a file; must not come back. */
static void touch_past_end(void)
{
	int fd = h_file(100, 1);
	struct up_pager *p = h_open(UP_BACKEND_UFFD, no_readahead);
	volatile char *m;

	alarm(20);		/* a loop would be killed by SIGALRM */
	if (!p)
		return;
	m = h_map(p, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (!m)
		return;
	CHECK_EQ(m[0], (char)h_pat(1, 0));
	h_child_sync();
	(void)m[2 * PAGE];
	H_FAIL("no SIGBUS past the end of the file");
}

static void child_dfl(void *arg)
{
	(void)arg;
	signal(SIGBUS, SIG_DFL);
	touch_past_end();
}

static void child_ign(void *arg)
{
	(void)arg;
	signal(SIGBUS, SIG_IGN);
	touch_past_end();
}

static void plain_exit(int sig)
{
	(void)sig;
	_exit(42);
}

static void child_plain(void *arg)
{
	(void)arg;
	signal(SIGBUS, plain_exit);
	touch_past_end();
}

/* An ignored SIGBUS sent by a process stays ignored. */
static void child_ign_kill(void *arg)
{
	struct up_pager *p;

	(void)arg;
	signal(SIGBUS, SIG_IGN);
	p = h_open(UP_BACKEND_UFFD, no_readahead);
	kill(getpid(), SIGBUS);
	CHECK(p != NULL);
	if (p)
		CHECK_OK(up_pager_close(p));
}

/* ---- configuration ---------------------------------------------------- */

static void config(void)
{
	struct up_config cfg;
	struct up_pager *p;
	char why[256] = "";

	up_config_init(&cfg);
	cfg.swap_dir = h_dir();
	cfg.flags = UP_CONFIG_FAULT_INLINE | UP_CONFIG_SHARED;
	CHECK_EQ(up_pager_open(&p, &cfg), -EOPNOTSUPP);
	CHECK_EQ(up_backend_probe(UP_BACKEND_UFFD, cfg.flags, why,
				  sizeof(why)), -EOPNOTSUPP);
	CHECK(strstr(why, "UP_CONFIG_SHARED") != NULL);
	CHECK(strstr(up_strerror(-EOPNOTSUPP), "FAULT_INLINE") != NULL);
	cfg.flags = UP_CONFIG_FAULT_INLINE;
	cfg.backend = UP_BACKEND_KERNEL;
	CHECK_OK(up_pager_open(&p, &cfg));
	if (p) {
		CHECK(strstr(up_pager_note(p), "no effect") != NULL);
		CHECK_OK(up_pager_close(p));
	}
	cfg.backend = UP_BACKEND_UFFD;
	CHECK_OK(up_pager_open(&p, &cfg));
	if (p) {
		CHECK(strstr(up_pager_note(p), "faulting thread") != NULL);
		CHECK_OK(up_pager_close(p));
	}
}

int main(void)
{
	long fds, threads, maps;
	uint64_t seed;

	if (!h_backend_usable(UP_BACKEND_UFFD))
		SKIP("inline faults need the userfaultfd backend");
	h_ctx = "uffd-inline";
	/* Children first: they open pagers, and none may be open here. */
	CHECK_EQ(h_fork(child_dfl, NULL), SIGBUS);
	CHECK_EQ(h_fork(child_ign, NULL), SIGBUS);
	CHECK_EQ(h_fork(child_plain, NULL), 256 + 42);
	CHECK_EQ(h_fork(child_ign_kill, NULL), 0);
	config();

	seed = h_seed();
	fds = h_fd_count();
	threads = h_status("Threads");
	maps = maps_count();
	handler_before();
	handler_after();
	two_pagers();
	/* (sanitizers' allocators map memory as they go) */
	if (!H_SANITIZED)
		CHECK_EQ(maps_count(), maps);
	threads_model(seed);
	CHECK_EQ(h_fd_count(), fds);
	CHECK_EQ(h_threads_settle(threads), threads);
	h_done();
}
