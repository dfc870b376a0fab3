/* model-random.c - a random workload on Windows, on each backend (the trap one within a budget of a few pages), against a reference model: stores through shared and private mappings at random offsets, writes to the file (kernel), msync, mprotect, unmap and map again; every read must be what the model says, and the file the model's at the end.  UPAGER_SEED repeats a run. */
#include "harness.h"

#define FILE_LEN (2 * H_MIB)
#define PAGES (FILE_LEN / H_PAGE)
#define MAPS_NR 6
#define OPS_NR 2500

struct mapping {
	char *addr;
	size_t off, len;	/* in the file */
	int private, writable;
	uint8_t *copy;		/* private: its pages, where copied */
	uint8_t *copied;	/* private: per page, whether copied */
};

static uint8_t model[FILE_LEN];	/* what the file holds */
static struct mapping maps[MAPS_NR];
static int fd;

/* What byte i of mapping m must read. */
static uint8_t expect(const struct mapping *m, size_t i)
{
	if (m->private && m->copied[i / H_PAGE])
		return m->copy[i];
	return model[m->off + i];
}

static void map_one(struct up_pager *p, struct mapping *m)
{
	size_t first = (size_t)h_below(PAGES - 1);
	size_t nr = 1 + (size_t)h_below(PAGES - first);
	int prot;

	m->off = first * H_PAGE;
	m->len = nr * H_PAGE;
	m->private = (int)h_below(3) == 0;
	m->writable = (int)h_below(4) != 0;
	prot = PROT_READ | (m->writable ? PROT_WRITE : 0);
	CHECK_OK(up_pager_map(p, NULL, m->len, prot,
			      m->private ? MAP_PRIVATE : MAP_SHARED, fd,
			      (off_t)m->off, (void **)&m->addr));
	if (m->private) {
		m->copy = malloc(m->len);
		m->copied = calloc(nr, 1);
	}
}

static void unmap_one(struct up_pager *p, struct mapping *m)
{
	if (!m->addr)
		return;
	CHECK_OK(up_pager_unmap(p, m->addr, m->len));
	free(m->copy);
	free(m->copied);
	memset(m, 0, sizeof(*m));
}

static void store(struct mapping *m)
{
	size_t i = (size_t)h_below(m->len), pg = i / H_PAGE;
	uint8_t v = (uint8_t)h_rand();

	if (!m->writable)
		return;
	/* The copy is what the page showed. */
	if (m->private && !m->copied[pg]) {
		memcpy(m->copy + pg * H_PAGE, m->addr + pg * H_PAGE, H_PAGE);
		m->copied[pg] = 1;
	}
	m->addr[i] = (char)v;
	if (m->private)
		m->copy[i] = v;
	else
		model[m->off + i] = v;
}

/* A private page not stored to shows the file as the kernel has it; the
 * trap backend's shows the file as it was when read (its shared pages
 * are its own copies): not checked there. */
static int trap;

static int check_all(const struct mapping *m)
{
	for (size_t i = 0; i < m->len; i++)
		if ((!trap || !m->private || m->copied[i / H_PAGE]) &&
		    (uint8_t)m->addr[i] != expect(m, i)) {
			H_FAIL("%s mapping of [%zu, +%zu): byte %zu is %#x, "
			       "not %#x", m->private ? "private" : "shared",
			       m->off, m->len, i, (uint8_t)m->addr[i],
			       expect(m, i));
			return 0;
		}
	H_PASS();
	return 1;
}

/* The trap backend with a budget far below the file: pages are evicted,
 * written back and swapped all the time. */
static void small_budget(struct up_config *cfg)
{
	cfg->page_len = 4 * H_PAGE;
	cfg->budget = 48 * cfg->page_len;
}

static void run(struct up_pager *p)
{
	trap = h_is_trap(p);
	fd = h_file(FILE_LEN, 11, _O_RDWR, NULL);
	h_pat_fill(model, 11, 0, FILE_LEN);
	for (int op = 0; op < OPS_NR && !h_fail_nr; op++) {
		struct mapping *m = &maps[h_below(MAPS_NR)];
		unsigned what = (unsigned)h_below(100);

		if (!m->addr) {
			map_one(p, m);
		} else if (what < 60) {
			store(m);
		} else if (what < 70 && !trap) {
			/* (The trap backend's pages are copies, which
			 * write(2) to the file does not reach.) */
			size_t off = (size_t)h_below(FILE_LEN - 64);
			uint8_t buf[64];

			for (int k = 0; k < 64; k++)
				buf[k] = (uint8_t)h_rand();
			CHECK_EQ(h_pwrite(fd, buf, 64, (int64_t)off), 0);
			memcpy(model + off, buf, 64);
		} else if (what < 80) {
			size_t pg = (size_t)h_below(m->len / H_PAGE);

			int how = h_below(2) ? MS_SYNC : MS_ASYNC;

			CHECK_OK(up_pager_sync(p, m->addr + pg * H_PAGE,
					       m->len - pg * H_PAGE, how));
		} else if (what < 85) {
			/* Read-only and back: the bytes stay. */
			CHECK_OK(up_pager_protect(p, m->addr, m->len,
						  PROT_READ));
			check_all(m);
			CHECK_OK(up_pager_protect(
				p, m->addr, m->len,
				PROT_READ | (m->writable ? PROT_WRITE : 0)));
		} else if (what < 95) {
			check_all(m);
		} else {
			unmap_one(p, m);
		}
	}
	for (int i = 0; i < MAPS_NR; i++) {
		if (maps[i].addr)
			check_all(&maps[i]);
		unmap_one(p, &maps[i]);
	}
	CHECK(h_same_as_file(model, fd, 0, FILE_LEN));
	_close(fd);
}

int main(void)
{
	enum up_backend b;

	h_seed();
	FOR_EACH_BACKEND(b) {
		struct up_pager *p = h_open(b, b == UP_BACKEND_TRAP
						       ? small_budget : NULL);
		struct up_stats st;

		run(p);
		CHECK_OK(up_pager_stats(p, &st));
		if (h_is_trap(p)) {
			printf("%llu evictions, %llu write-backs\n",
			       (unsigned long long)st.evictions,
			       (unsigned long long)st.writebacks);
			CHECK(st.evictions > 0 && st.writebacks > 0);
		}
		CHECK_OK(up_pager_close(p));
	}
	h_done();
}
