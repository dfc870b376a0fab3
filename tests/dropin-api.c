/* dropin-api: up_mmap and friends behave like mmap(2) and friends, set errno, and pass foreign addresses to the kernel. */
#include "harness.h"

#define LEN (64 * 4096)

static void child(void *arg)
{
	enum up_backend b = *(enum up_backend *)arg;
	struct up_config cfg;
	int fd = h_file(LEN, 1), rw = h_reopen(fd, O_RDWR);
	char *map, *plain, v = 'w', c = 0;

	up_config_init(&cfg);
	cfg.backend = b;
	cfg.flags = h_flags;
	cfg.page_len = 16384;
	cfg.swap_dir = h_dir();
	CHECK_OK(up_default_configure(&cfg));
	map = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	close(rw);
	CHECK(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	CHECK_EQ(up_default_configure(&cfg), -EBUSY);
	CHECK(up_default_pager() != NULL);
	CHECK(!strcmp(up_pager_backend(up_default_pager()),
		      b == UP_BACKEND_UFFD	  ? "userfaultfd"
		      : b == UP_BACKEND_SIGNALS ? "signals"
						: "kernel"));

	/* like mmap: the file's data, and writes reach the file */
	CHECK_EQ(h_pat_diff(map, 1, 0, LEN), -1);
	memset(map + 5000, 'a', 100);
	CHECK_EQ(up_msync(map, LEN, MS_SYNC), 0);
	CHECK_EQ(pread(fd, &c, 1, 5050), 1);
	CHECK_EQ(c, 'a');
	CHECK_EQ(up_mprotect(map, 4096 * 4, PROT_READ), 0);
	CHECK_EQ(h_access(map + 4096, 1, &v), SIGSEGV);
	CHECK_EQ(map[5000], 'a');
	CHECK_EQ(up_mprotect(map, 4096 * 4, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(h_access(map + 4096, 1, &v), 0);
	CHECK_EQ(up_madvise(map, LEN, MADV_DONTNEED), 0);
	CHECK_EQ(map[4096], 'w');
	CHECK_EQ(up_madvise(map, LEN, MADV_SEQUENTIAL), 0);
	errno = 0;
	CHECK_EQ(up_madvise(map, LEN, 4242), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(up_msync(map + 1, LEN, MS_SYNC), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(up_munmap(map + 1, 4096), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_munmap(map, LEN), 0);
	CHECK_EQ(pread(fd, &c, 1, 4096), 1);
	CHECK_EQ(c, 'w');

	/* anonymous */
	map = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED);
	if (map != MAP_FAILED) {
		CHECK_EQ(map[LEN - 1], 0);
		map[LEN - 1] = 1;
		CHECK_EQ(map[LEN - 1], 1);
		CHECK_EQ(up_munmap(map, LEN), 0);
	}

	/* memory the default pager does not own goes to the kernel */
	plain = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plain == MAP_FAILED)
		return;
	plain[0] = 'p';
	CHECK_EQ(up_msync(plain, 3 * 4096, MS_SYNC), 0);
	CHECK_EQ(up_madvise(plain, 4096, MADV_DONTNEED), 0);
	CHECK_EQ(plain[0], 0);
	CHECK_EQ(up_mprotect(plain, 4096, PROT_READ), 0);
	CHECK_EQ(h_access(plain, 1, &v), SIGSEGV);
	CHECK_EQ(up_munmap(plain, 3 * 4096), 0);
	errno = 0;
	CHECK_EQ(msync(plain, 3 * 4096, MS_ASYNC), -1);	/* gone */
	CHECK_EQ(errno, ENOMEM);
	close(fd);
}

/* The default pager writes dirty pages back when the process exits. */
static int exit_fd;

static void child_exit(void *arg)
{
	enum up_backend b = *(enum up_backend *)arg;
	struct up_config cfg;
	char *map;

	up_config_init(&cfg);
	cfg.backend = b;
	cfg.flags = 0;
	cfg.swap_dir = h_dir();
	CHECK_OK(up_default_configure(&cfg));
	map = up_mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, exit_fd, 0);
	CHECK(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	memset(map + 3 * 4096, 'x', 3 * 4096);
	h_child_sync();
	exit(0);
}

/* Without up_default_configure() the default pager uses the defaults. */
static void defaults(void *arg)
{
	struct up_config cfg;
	struct up_pager *p;
	struct up_stats st;

	(void)arg;
	up_config_init(&cfg);
	p = up_default_pager();
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(up_default_pager() == p);
	CHECK_EQ(up_default_configure(&cfg), -EBUSY);
	CHECK_OK(up_pager_stats(p, &st));
	if (h_is_uffd(p)) {
		CHECK_EQ(st.page_len, 65536);
		/* Half the memory the process may use (MemAvailable, or
		 * a memory cgroup's limit, if less), at least 16 MiB. */
		uint64_t avail = 0;
		char line[256];
		FILE *f = fopen("/proc/meminfo", "r");

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB",
				   (unsigned long long *)&avail) == 1)
				break;
		if (f)
			fclose(f);
		avail <<= 10;
		CHECK(st.budget_pages * st.page_len >= 16 * H_MIB);
		CHECK(st.budget_pages * st.page_len <= avail / 2 + 64 * H_MIB);
	}
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND_ID(b) {
		char buf[3 * 4096];

		CHECK_EQ(h_fork(child, &b), 0);
		exit_fd = h_file(LEN, 1);
		CHECK_EQ(h_fork(child_exit, &b), 0);
		CHECK_EQ(pread(exit_fd, buf, sizeof(buf), 3 * 4096), sizeof(buf));
		CHECK(buf[0] == 'x' && !memcmp(buf, buf + 1, sizeof(buf) - 1));
		close(exit_fd);
	}
	h_ctx = "default";
	CHECK_EQ(h_fork(defaults, NULL), 0);
	h_done();
}
