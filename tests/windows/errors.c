/* errors.c - bad inputs on Windows get the errno values Linux gives them, and calls Windows has no equivalent for say -EOPNOTSUPP or -ENOSYS: configurations, backends, mapping, unmapping, msync, mprotect, madvise, mremap, stores, statistics, the drop-in API. */
#include "harness.h"

static void config(void)
{
	struct up_config c;
	struct up_pager *p = NULL;
	char why[256] = "";

	up_config_init(&c);
	CHECK(c.budget >= (16u << 20));
	CHECK_EQ(c.page_len, 64u << 10);
	CHECK_EQ(c.backend, UP_BACKEND_AUTO);
	CHECK_EQ(up_pager_open(NULL, &c), -EINVAL);
	CHECK_EQ(up_pager_open(&p, NULL), -EINVAL);
	c.page_len = 3000;
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	up_config_init(&c);
	c.budget = 4096;
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	up_config_init(&c);
	c.threads_nr = 0;
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	up_config_init(&c);
	c.backend = (enum up_backend)7;
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	up_config_init(&c);
	c.flags |= 1u << 20;
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	up_config_init(&c);
	c.flags |= UP_CONFIG_FAULT_INLINE;
	CHECK_EQ(up_pager_open(&p, &c), -EOPNOTSUPP);
	up_config_init(&c);
	c.backend = UP_BACKEND_UFFD;
	CHECK_EQ(up_pager_open(&p, &c), -ENOSYS);
	c.backend = UP_BACKEND_AUTO;
	c.flags = 0;
	CHECK_EQ(up_pager_open(&p, &c), -ENOSYS);
	CHECK(p == NULL);
	CHECK_EQ(up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why)),
		 -ENOSYS);
	CHECK(why[0] != 0);
	CHECK_EQ(up_backend_probe(UP_BACKEND_KERNEL, 0, why, sizeof(why)), 0);
	CHECK_EQ(up_backend_probe(UP_BACKEND_AUTO, UP_CONFIG_FALLBACK, why,
				  sizeof(why)), 0);
	up_config_init(&c);
	CHECK_OK(up_pager_open(&p, &c));
	if (!p)
		return;
	CHECK(!strcmp(up_pager_backend(p), "kernel"));
	CHECK(up_pager_note(p)[0] != 0);
	CHECK_OK(up_pager_close(p));
	CHECK_EQ(up_backend_probe(UP_BACKEND_TRAP, 0, why, sizeof(why)), 0);
	c.backend = UP_BACKEND_TRAP;
	CHECK_OK(up_pager_open(&p, &c));
	if (!p)
		return;
	CHECK(!strcmp(up_pager_backend(p), "trap"));
	CHECK_OK(up_pager_close(p));
	c.flags |= UP_CONFIG_SHARED;
	CHECK_EQ(up_pager_open(&p, &c), -EOPNOTSUPP);
	c.flags &= ~UP_CONFIG_SHARED;
	c.backend = (enum up_backend)(UP_BACKEND_TRAP + 1);
	CHECK_EQ(up_pager_open(&p, &c), -EINVAL);
	CHECK_EQ(up_pager_close(NULL), -EINVAL);
}

static void map(struct up_pager *p, int fd)
{
	int wfd, pfd[2];
	void *m = NULL;
	const char *path;

	CHECK_EQ(up_pager_map(NULL, NULL, H_PAGE, PROT_READ, MAP_SHARED, fd, 0,
			      &m), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, fd, 0,
			      NULL), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, fd, 100,
			      &m), -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, 999, 0,
			      &m), -EBADF);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, -1, 0,
			      &m), -EBADF);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, 0, fd, 0, &m),
		 -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, 0, PROT_READ, MAP_SHARED, fd, 0, &m),
		 -EINVAL);
	CHECK_EQ(up_pager_map(p, NULL, SIZE_MAX, PROT_READ, MAP_SHARED, fd, 0,
			      &m), -ENOMEM);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, fd,
			      -(off_t)H_PAGE, &m), -EOVERFLOW);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ,
			      MAP_SHARED_VALIDATE | (1 << 30), fd, 0, &m),
		 -EOPNOTSUPP);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ,
			      MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0, &m),
		 -EINVAL);
	/* Unknown flags are ignored without MAP_SHARED_VALIDATE. */
	CHECK_OK(up_pager_map(p, NULL, H_PAGE, PROT_READ,
			      MAP_SHARED | (1 << 30), fd, 0, &m));
	CHECK_OK(up_pager_unmap(p, m, H_PAGE));
	CHECK(_pipe(pfd, 4096, _O_BINARY) == 0);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, pfd[0],
			      0, &m), -ENODEV);
	_close(pfd[0]);
	_close(pfd[1]);
	wfd = h_file(H_PAGE, 1, _O_WRONLY, &path);
	CHECK_EQ(up_pager_map(p, NULL, H_PAGE, PROT_READ, MAP_SHARED, wfd, 0,
			      &m), -EACCES);
	_close(wfd);
}

static void ranges(struct up_pager *p, int fd)
{
	char *m = NULL;

	CHECK_OK(up_pager_map(p, NULL, 4 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (!m)
		return;
	m[0] = 'k';
	CHECK_EQ(up_pager_unmap(NULL, m, H_PAGE), -EINVAL);
	CHECK_EQ(up_pager_unmap(p, m + 1, H_PAGE), -EINVAL);
	CHECK_EQ(up_pager_unmap(p, m, 0), -EINVAL);
	/* A part: Windows unmaps views whole. */
	CHECK_EQ(up_pager_unmap(p, m + H_PAGE, H_PAGE), -EINVAL);
	CHECK_EQ(m[0], 'k');
	CHECK_EQ(up_pager_sync(p, m, H_PAGE, MS_SYNC | MS_ASYNC), -EINVAL);
	CHECK_EQ(up_pager_sync(p, m, H_PAGE, 64), -EINVAL);
	CHECK_EQ(up_pager_sync(p, m + 1, H_PAGE, MS_SYNC), -EINVAL);
	CHECK_OK(up_pager_sync(p, m, 0, MS_SYNC));
	CHECK_OK(up_pager_sync(p, m, 4 * H_PAGE, 0));
	CHECK_OK(up_pager_sync(p, m, 4 * H_PAGE, MS_ASYNC | MS_INVALIDATE));
	CHECK_EQ(up_pager_protect(p, m, H_PAGE, 0x100), -EINVAL);
	CHECK_EQ(up_pager_protect(p, m + 1, H_PAGE, PROT_READ), -EINVAL);
	CHECK_EQ(up_pager_advise(p, m, H_PAGE, 999), -EINVAL);
	CHECK_EQ(up_pager_advise(p, m + 1, H_PAGE, MADV_NORMAL), -EINVAL);
	CHECK_EQ(up_pager_advise(p, m, H_PAGE, MADV_DONTFORK), -EOPNOTSUPP);
	CHECK_EQ(up_pager_advise(p, m, H_PAGE, MADV_REMOVE), -EOPNOTSUPP);
	CHECK_OK(up_pager_advise(p, m, 4 * H_PAGE, MADV_RANDOM));
	CHECK_OK(up_pager_advise(p, m, 4 * H_PAGE, MADV_WILLNEED));
	CHECK_OK(up_pager_advise(p, m, 4 * H_PAGE, MADV_DONTNEED));
	CHECK_EQ(m[0], 'k');
	{
		void *out = NULL;

		CHECK_EQ(up_pager_remap(p, m, 4 * H_PAGE, 8 * H_PAGE,
					MREMAP_MAYMOVE, NULL, &out),
			 -EOPNOTSUPP);
		CHECK(up_mremap(m, 4 * H_PAGE, 8 * H_PAGE, MREMAP_MAYMOVE) ==
		      MAP_FAILED);
		CHECK_EQ(errno, EOPNOTSUPP);
	}
	CHECK_OK(up_pager_unmap(p, m, 4 * H_PAGE));
	/* Nothing mapped there now. */
	CHECK_EQ(up_pager_sync(p, m, H_PAGE, MS_SYNC), -ENOMEM);
	CHECK_EQ(up_pager_protect(p, m, H_PAGE, PROT_READ), -ENOMEM);
	CHECK_EQ(up_pager_advise(p, m, H_PAGE, MADV_WILLNEED), -ENOMEM);
	CHECK_OK(up_pager_unmap(p, m, 4 * H_PAGE));
	/* Memory of the program's own is left alone. */
	m = VirtualAlloc(NULL, H_GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	m[0] = 'v';
	CHECK_EQ(up_pager_unmap(p, m, H_GRAN), -EINVAL);
	CHECK_EQ(m[0], 'v');
	VirtualFree(m, 0, MEM_RELEASE);
}

static ssize_t st_read(void *ctx, void *buf, size_t len, off_t off)
{
	(void)ctx;
	(void)off;
	memset(buf, 0, len);
	return (ssize_t)len;
}

static off_t st_size(void *ctx)
{
	(void)ctx;
	return 1 << 20;
}

static off_t resized = -1;

static int st_resize(void *ctx, off_t len)
{
	(void)ctx;
	resized = len;
	return 0;
}

static void stores_and_stats(struct up_pager *p, int fd)
{
	static const struct up_store_ops ops = { .read = st_read,
						 .size = st_size };
	static const struct up_store_ops rops = { .read = st_read,
						  .size = st_size,
						  .resize = st_resize };
	const struct up_store_ops *o;
	struct up_stats st;
	uint64_t lat[UP_LATENCY_NR];
	void *ctx, *m = NULL;
	char *a = NULL;

	CHECK_EQ(up_pager_map_store(p, &ops, NULL, NULL, H_PAGE, PROT_READ,
				    MAP_SHARED, 0, &m), -EOPNOTSUPP);
	CHECK_EQ(up_zstore_open(fd, _O_RDONLY, &o, &ctx), -EOPNOTSUPP);
	CHECK_EQ(up_dstore_open(fd, _O_RDONLY, &o, &ctx), -EOPNOTSUPP);
	CHECK_EQ(up_rstore_open(NULL, "pool", "name", _O_RDONLY, 0, 0, &o,
				&ctx), -EOPNOTSUPP);
	/* A store no pager maps is only resized. */
	CHECK_EQ(up_pager_store_resize(p, &ops, NULL, 5), -EOPNOTSUPP);
	CHECK_EQ(up_pager_store_resize(p, &rops, NULL, -1), -EINVAL);
	CHECK_OK(up_pager_store_resize(p, &rops, NULL, 12345));
	CHECK_EQ(resized, 12345);
	CHECK_OK(up_pager_map(p, NULL, 8 * H_PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, (void **)&a));
	if (!a)
		return;
	memset(a, 1, 8 * H_PAGE);
	CHECK_OK(up_pager_stats(p, &st));
	CHECK_EQ(st.page_len, H_PAGE);
	CHECK_EQ(st.faults_read + st.writebacks, 0);
	CHECK_EQ(st.resident, 8);
	CHECK_OK(up_mapping_stats(p, a + H_PAGE, &st));
	CHECK_EQ(up_mapping_stats(p, a + 8 * H_PAGE, &st), -EINVAL);
	CHECK_OK(up_pager_latency(p, lat));
	CHECK_EQ(lat[0], 0);
	CHECK_EQ(up_pager_stats(NULL, &st), -EINVAL);
	CHECK_OK(up_pager_unmap(p, a, 8 * H_PAGE));
	CHECK(up_strerror(-ENXIO) != NULL && up_strerror(-ENOSYS)[0]);
}

static void drop_in(void)
{
	struct up_config c;
	char *m;

	up_config_init(&c);
	c.page_len = 5;
	CHECK_EQ(up_default_configure(&c), -EINVAL);
	up_config_init(&c);
	CHECK_OK(up_default_configure(&c));
	m = up_mmap(NULL, H_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(up_default_configure(&c), -EBUSY);
	CHECK_EQ(up_munmap(m + 1, H_PAGE), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_mprotect(m, H_PAGE, PROT_READ | PROT_WRITE), 0);
	m[1] = 1;
	CHECK_EQ(up_madvise(m, H_PAGE, 12345), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(up_munmap(m, H_PAGE), 0);
	CHECK(up_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0) == MAP_FAILED);
	CHECK_EQ(errno, EINVAL);
}

int main(void)
{
	struct up_pager *p = h_open(UP_BACKEND_KERNEL, NULL);
	int fd = h_file(4 * H_PAGE, 2, _O_RDWR, NULL);

	config();
	map(p, fd);
	ranges(p, fd);
	stores_and_stats(p, fd);
	drop_in();
	_close(fd);
	CHECK_OK(up_pager_close(p));
	h_done();
}
