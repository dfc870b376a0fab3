/* file-private.c - MAP_PRIVATE file mappings on Windows, on each backend: stores stay the mapping's own, never reach the file or another mapping, and pages not stored to show the file. */
#include "harness.h"

#define LEN (16 * H_PAGE)

static void stores_stay(struct up_pager *p, int oflag)
{
	uint8_t model[LEN];
	int fd = h_file(LEN, 7, oflag, NULL);
	char *a = NULL, *b = NULL;

	h_pat_fill(model, 7, 0, LEN);
	CHECK_OK(up_pager_map(p, NULL, LEN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE, fd, 0, (void **)&a));
	CHECK_OK(up_pager_map(p, NULL, LEN - H_PAGE, PROT_READ, MAP_PRIVATE,
			      fd, (off_t)H_PAGE, (void **)&b));
	if (!a || !b)
		return;
	for (int i = 0; i < 200; i++)
		a[h_below(LEN)] = (char)h_rand();
	a[H_PAGE] = (char)~model[H_PAGE];
	CHECK_OK(up_pager_sync(p, a, LEN, MS_SYNC));
	CHECK(h_same_as_file(model, fd, 0, LEN));
	CHECK(!memcmp(b, model + H_PAGE, LEN - H_PAGE));
	CHECK_EQ((uint8_t)a[H_PAGE], (uint8_t)~model[H_PAGE]);
	/* Read-only, then writable again: still copies. */
	CHECK_OK(up_pager_protect(p, b, H_PAGE, PROT_READ | PROT_WRITE));
	b[0] = 'b';
	CHECK_EQ(a[H_PAGE], (char)~model[H_PAGE]);
	CHECK_OK(up_pager_protect(p, a, LEN, PROT_READ));
	CHECK_EQ((uint8_t)a[H_PAGE], (uint8_t)~model[H_PAGE]);
	CHECK_OK(up_pager_protect(p, a, LEN, PROT_READ | PROT_WRITE));
	a[0] = 'a';
	CHECK_OK(up_pager_unmap(p, a, LEN));
	CHECK_OK(up_pager_unmap(p, b, LEN - H_PAGE));
	CHECK(h_same_as_file(model, fd, 0, LEN));
	_close(fd);
}

/* A page not yet stored to shows what the file holds now. */
static void unstored_pages_follow(struct up_pager *p)
{
	int fd = h_file(LEN, 8, _O_RDWR, NULL);
	char *a = NULL;

	CHECK_OK(up_pager_map(p, NULL, LEN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE, fd, 0, (void **)&a));
	if (!a)
		return;
	a[0] = 'c';
	CHECK_EQ(h_pwrite(fd, "late", 4, 5 * H_PAGE), 0);
	CHECK(!memcmp(a + 5 * H_PAGE, "late", 4));
	CHECK_EQ(a[0], 'c');
	if (h_is_trap(p)) {
		/* The copy is dropped: the file's byte again. */
		CHECK_OK(up_pager_advise(p, a, H_PAGE, MADV_DONTNEED));
		CHECK_EQ((uint8_t)a[0], h_pat(8, 0));
	} else {
		/* Windows cannot give a copied page back to the file. */
		CHECK_EQ(up_pager_advise(p, a, H_PAGE, MADV_DONTNEED),
			 -EOPNOTSUPP);
	}
	CHECK_OK(up_pager_unmap(p, a, LEN));
	_close(fd);
}

/* Pages of one system page, so that a page not stored to is one not
 * read yet. */
static void small_pages(struct up_config *cfg)
{
	cfg->page_len = H_PAGE;
}

int main(void)
{
	enum up_backend b;

	h_seed();
	FOR_EACH_BACKEND(b) {
		struct up_pager *p = h_open(b, small_pages);

		stores_stay(p, _O_RDWR);
		stores_stay(p, _O_RDONLY);
		unstored_pages_follow(p);
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
