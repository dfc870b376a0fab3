/* errors-badinput: bad arguments are rejected with the documented errno and leave no fd or thread behind. */
#include "harness.h"

static int fd_rw, fd_ro, fd_wo, fd_dir, pipefd[2];

static void map_errors(struct up_pager *p)
{
	void *out = NULL, *ok = NULL;
	int rw = PROT_READ | PROT_WRITE;

	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, 9999, 0, &out), -EBADF);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0, &out), -EBADF);
	CHECK_EQ(up_pager_map(p, NULL, 4096, rw, MAP_SHARED, fd_ro, 0, &out), -EACCES);
	CHECK_EQ(up_pager_map(p, NULL, 4096, rw, MAP_SHARED_VALIDATE, fd_ro, 0, &out), -EACCES);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, fd_wo, 0, &out), -EACCES);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_PRIVATE, fd_wo, 0, &out), -EACCES);
	CHECK_EQ(up_pager_map(p, NULL, 0, PROT_READ, MAP_SHARED, fd_rw, 0, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 0, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, fd_rw, 512, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, (void *)0x100000001000ull + 8, 4096, PROT_READ,
			      MAP_SHARED | MAP_FIXED, fd_rw, 0, &out), -EINVAL);
	/* unknown flags: refused only with MAP_SHARED_VALIDATE, as by mmap(2)
	 * (tests/conform-args.c compares the rest with the kernel) */
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | (1 << 21), fd_rw, 0, &out), -EOPNOTSUPP);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, 0, fd_rw, 0, &out), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_SHARED, fd_dir, 0, &out), -ENODEV);
	CHECK_EQ(up_pager_map(p, NULL, 4096, PROT_READ, MAP_PRIVATE, pipefd[0], 0, &out), -ENODEV);
	CHECK_EQ(up_pager_map(p, NULL, 0x4000, PROT_READ, MAP_SHARED, fd_rw,
			      (off_t)0x7fffffffffffe000ll, &out), -EOVERFLOW);

	/* the other calls, on a good mapping */
	ok = h_map(p, 8192, rw, MAP_SHARED, fd_rw, 0);
	if (!ok)
		return;
	CHECK_EQ(up_pager_advise(p, ok, 8192, 12345), -EINVAL);
	CHECK_EQ(up_pager_advise(p, (char *)ok + 1, 4096, MADV_NORMAL), -EINVAL);
	CHECK_EQ(up_pager_sync(p, ok, 8192, MS_SYNC | MS_ASYNC), -EINVAL);
	CHECK_EQ(up_pager_sync(p, (char *)ok + 8, 4096, MS_SYNC), -EINVAL);
	CHECK_EQ(up_pager_protect(p, ok, 8192, 0x100 | PROT_READ), -EINVAL);
	CHECK_EQ(up_pager_protect(p, (char *)ok + 8, 4096, PROT_READ), -EINVAL);
	CHECK_EQ(up_pager_unmap(p, ok, 0), -EINVAL);
	CHECK_EQ(up_pager_unmap(p, (char *)ok + 8, 4096), -EINVAL);
	{
		struct up_stats st;
		static char not_mapped;

		CHECK_EQ(up_mapping_stats(p, &not_mapped, &st), -EINVAL);
	}
	CHECK_OK(up_pager_unmap(p, ok, 8192));
}

static void open_errors(enum up_backend b)
{
	static const size_t bad_page[] = { 0, 2048, 3000, 12288, 65537,
					   4u << 20, 1u << 30 };
	struct up_config cfg;
	struct up_pager *p = NULL;
	int r;

	for (size_t i = 0; i < sizeof(bad_page) / sizeof(bad_page[0]); i++) {
		up_config_init(&cfg);
		cfg.backend = b;
		cfg.page_len = bad_page[i];
		CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	}
	up_config_init(&cfg);
	cfg.backend = b;
	cfg.budget = cfg.page_len - 1;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	cfg.budget = 0;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	up_config_init(&cfg);
	cfg.backend = b;
	cfg.threads_nr = 0;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	cfg.threads_nr = 65;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	cfg.threads_nr = 1;
	CHECK_EQ(up_pager_open(NULL, &cfg), -EINVAL);
	CHECK_EQ(up_pager_open(&p, NULL), -EINVAL);
	CHECK_EQ(up_pager_close(NULL), -EINVAL);
	up_config_init(&cfg);
	cfg.backend = (enum up_backend)99;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	up_config_init(&cfg);
	cfg.backend = b;
	cfg.flags = 1u << 20;
	CHECK_EQ(up_pager_open(&p, &cfg), -EINVAL);
	/* the bounds themselves are fine */
	up_config_init(&cfg);
	cfg.backend = b;
	cfg.page_len = UP_PAGE_MIN;
	cfg.budget = UP_PAGE_MIN;
	CHECK_OK(r = up_pager_open(&p, &cfg));
	if (!r)
		CHECK_OK(up_pager_close(p));
	cfg.page_len = UP_PAGE_MAX;
	cfg.budget = UP_PAGE_MAX;
	CHECK_OK(r = up_pager_open(&p, &cfg));
	if (!r)
		CHECK_OK(up_pager_close(p));
}

static void dropin_errors(void)
{
	int rw = PROT_READ | PROT_WRITE;
	void *ok;

	errno = 0;
	CHECK(up_mmap(NULL, 4096, PROT_READ, MAP_SHARED, 9999, 0) == MAP_FAILED);
	CHECK_EQ(errno, EBADF);
	CHECK(up_mmap(NULL, 4096, rw, MAP_SHARED, fd_ro, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	CHECK(up_mmap(NULL, 0, PROT_READ, MAP_SHARED, fd_rw, 0) == MAP_FAILED);
	CHECK_EQ(errno, EINVAL);
	CHECK(up_mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd_rw, 100) == MAP_FAILED);
	CHECK_EQ(errno, EINVAL);
	CHECK(up_mmap((void *)0x100000001008ull, 4096, PROT_READ,
		      MAP_SHARED | MAP_FIXED, fd_rw, 0) == MAP_FAILED);
	CHECK_EQ(errno, EINVAL);
	CHECK(up_mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | (1 << 21), fd_rw, 0) == MAP_FAILED);
	CHECK_EQ(errno, EOPNOTSUPP);
	CHECK(up_mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd_dir, 0) == MAP_FAILED);
	CHECK_EQ(errno, ENODEV);
	ok = up_mmap(NULL, 8192, rw, MAP_SHARED, fd_rw, 0);
	CHECK(ok != MAP_FAILED);
	if (ok == MAP_FAILED)
		return;
	CHECK_EQ(up_madvise(ok, 8192, 12345), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_msync(ok, 8192, MS_SYNC | MS_ASYNC), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_mprotect((char *)ok + 1, 4096, PROT_READ), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_munmap((char *)ok + 1, 4096), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_munmap(ok, 8192), 0);
}

int main(void)
{
	enum up_backend b;
	int fds, threads;

	fd_rw = h_file(65536, 1);
	fd_ro = h_reopen(fd_rw, O_RDONLY);
	fd_wo = h_reopen(fd_rw, O_WRONLY);
	fd_dir = open(h_dir(), O_RDONLY | O_DIRECTORY);
	if (fd_ro < 0 || fd_wo < 0 || fd_dir < 0 || pipe(pipefd))
		SKIP("cannot make the test files: %s", strerror(errno));
	FOR_EACH_BACKEND_ID(b) {
		struct up_pager *p = h_open(b, NULL);

		fds = h_fd_count();
		threads = (int)h_status("Threads");
		if (p) {
			map_errors(p);
			CHECK_EQ(h_fd_count(), fds);
			CHECK_EQ(h_threads_settle(threads), threads);
			CHECK_OK(up_pager_close(p));
		}
		fds = h_fd_count();
		threads = (int)h_status("Threads");
		open_errors(b);
		CHECK_EQ(h_fd_count(), fds);
		CHECK_EQ(h_threads_settle(threads), threads);
	}
	h_ctx = "drop-in";
	if (!up_default_pager()) {
		H_FAIL("up_default_pager: %s", strerror(errno));
	} else {
		fds = h_fd_count();
		threads = (int)h_status("Threads");
		dropin_errors();
		CHECK_EQ(h_fd_count(), fds);
		CHECK_EQ(h_threads_settle(threads), threads);
	}
	h_done();
}
