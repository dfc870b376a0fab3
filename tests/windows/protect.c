/* protect.c - mprotect on Windows, on each backend: a store to a read-only page and any access to a PROT_NONE page raise an access violation at that address, the rest of the mapping keeps its protection, and a range over a hole stops there with ENOMEM. */
#include "harness.h"

static void one(struct up_pager *p, char *m, size_t len, const char *what)
{
	char c = 's', v = 0;

	printf("%s\n", what);
	memset(m, 'a', len);
	CHECK_OK(up_pager_protect(p, m + H_PAGE, H_PAGE, PROT_READ));
	CHECK_EQ(h_access(m + H_PAGE + 7, 1, &c), EXCEPTION_ACCESS_VIOLATION);
	CHECK(h_fault_addr == m + H_PAGE + 7);
	CHECK_EQ(h_access(m + H_PAGE + 7, 0, &v), 0);
	CHECK_EQ(v, 'a');
	CHECK_EQ(h_access(m, 1, &c), 0);
	CHECK_EQ(h_access(m + 2 * H_PAGE, 1, &c), 0);
	CHECK_OK(up_pager_protect(p, m, len, PROT_NONE));
	CHECK_EQ(h_access(m + 3 * H_PAGE, 0, &v), EXCEPTION_ACCESS_VIOLATION);
	CHECK(h_fault_addr == m + 3 * H_PAGE);
	CHECK_OK(up_pager_protect(p, m, len, PROT_READ | PROT_WRITE));
	CHECK_EQ(h_access(m + H_PAGE + 7, 1, &c), 0);
	CHECK_EQ(m[H_PAGE + 7], 's');
	CHECK_EQ(m[3 * H_PAGE], 'a');
	CHECK_EQ(up_pager_advise(p, m, len, MADV_POPULATE_READ), 0);
	CHECK_OK(up_pager_protect(p, m, H_PAGE, PROT_READ));
	CHECK_EQ(up_pager_advise(p, m, len, MADV_POPULATE_WRITE), -EINVAL);
}

static void on(struct up_pager *p)
{
	size_t len = 4 * H_PAGE;
	int fd = h_file(len, 9, _O_RDWR, NULL);
	char *m = NULL, c = 0;

	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, (void **)&m));
	if (m)
		one(p, m, len, "private anonymous");
	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0, (void **)&m));
	if (m)
		one(p, m, len, "shared file");
	CHECK_OK(up_pager_map(p, NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE, fd, 0, (void **)&m));
	if (m) {
		one(p, m, len, "private file");
		/* A hole after the mapping: changed up to it. */
		CHECK_OK(up_pager_unmap(p, m, len));
	}
	CHECK_OK(up_pager_map(p, NULL, H_GRAN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, (void **)&m));
	if (m) {
		CHECK_EQ(up_pager_protect(p, m, 2 * H_GRAN, PROT_READ),
			 -ENOMEM);
		CHECK_EQ(h_access(m + H_GRAN - 1, 1, &c),
			 EXCEPTION_ACCESS_VIOLATION);
		CHECK_OK(up_pager_unmap(p, m, H_GRAN));
		/* Unmapped: any access faults. */
		CHECK_EQ(h_access(m, 0, &c), EXCEPTION_ACCESS_VIOLATION);
	}
	/* Memory of the program's own: protected as asked. */
	m = VirtualAlloc(NULL, H_GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	CHECK_OK(up_pager_protect(p, m, H_PAGE, PROT_READ));
	CHECK_EQ(h_access(m, 1, &c), EXCEPTION_ACCESS_VIOLATION);
	CHECK_EQ(h_access(m + H_PAGE, 1, &c), 0);
	VirtualFree(m, 0, MEM_RELEASE);
	_close(fd);
}

int main(void)
{
	enum up_backend b;

	FOR_EACH_BACKEND(b) {
		struct up_pager *p = h_open(b, NULL);

		on(p);
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
