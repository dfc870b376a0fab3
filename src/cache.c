/* SPDX-License-Identifier: MIT */
/*
 * cache.c - objects, their pages, the frame budget, eviction and
 * write-back.
 *
 * Every mapping shows an object.  An object keeps its pages in a memfd at
 * their object offsets, so that every mapping of it (and, later, every
 * process) sees the same physical pages.  A MAP_SHARED file has one object
 * per pager, found by device and inode; its store is the file.  Anonymous
 * memory and MAP_PRIVATE copies get an object of their own whose store is
 * the pager's swap file (a private copy reads pages it never wrote from the
 * file).
 *
 * The budget is a table of frames, one per pager page that may be
 * resident.  Eviction is a clock over that table: a page filled or faulted
 * gets its reference bit, the hand clears bits and takes the first page
 * without one.  Dirty victims are written back first; a page is freed by
 * punching it out of the memfd, which also zaps it from every mapping.
 *
 * This file does no userfaultfd work of its own beyond asking
 * fault-uffd.c to write-protect pages before they are written back, so
 * that a store racing the write-back faults and re-dirties the page.
 * Callers hold p->lock.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

static size_t pl(const struct up_pager *p)
{
	return p->cfg.page_len;
}

int up__cache_init(struct up_pager *p)
{
	int err;

	p->swap_fd = -1;
	p->swap.ops = &up__file_store;
	p->swap.ctx = &p->swap_fd;
	p->frames_nr = p->cfg.budget / pl(p);
	if (p->frames_nr > UINT32_MAX - 1)
		p->frames_nr = UINT32_MAX - 1;
	err = up__table((void **)&p->frames, 0,
			p->frames_nr * sizeof(*p->frames));
	if (!err)
		err = up__table((void **)&p->free_frames, 0,
				p->frames_nr * sizeof(*p->free_frames));
	if (!err)
		err = up__table((void **)&p->pinned, 0,
				p->frames_nr * sizeof(*p->pinned));
	if (!err)
		err = up__table((void **)&p->letgo, 0,
				(p->frames_nr + 1) * sizeof(*p->letgo));
	if (err) {
		up__cache_fini(p);
		return err;
	}
	/* Frames from p->fresh on have never been used: free, and their
	 * memory untouched (a budget of gigabytes costs nothing until it is
	 * used). */
	p->fresh = p->stack_nr = 0;
	p->free_nr = p->frames_nr;
	return 0;
}

void up__cache_fini(struct up_pager *p)
{
	assert(!p->objs);
	up__table_free(p->frames, p->frames_nr * sizeof(*p->frames));
	up__table_free(p->free_frames, p->frames_nr * sizeof(*p->free_frames));
	up__table_free(p->pinned, p->frames_nr * sizeof(*p->pinned));
	up__table_free(p->letgo, (p->frames_nr + 1) * sizeof(*p->letgo));
	p->frames = NULL;
	p->free_frames = NULL;
	p->pinned = NULL;
	p->letgo = NULL;
	free(p->wb_buf);
	p->wb_buf = NULL;
	if (p->swap_fd >= 0)
		up__close(p->swap_fd);
	p->swap_fd = -1;
}

/* ---- objects -------------------------------------------------------- */

static int obj_new(struct up_pager *p, enum obj_kind kind,
		   struct up_obj **out)
{
	struct up_obj *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->kind = kind;
	o->fd = o->ro_fd = -1;
	o->swap_base = -1;
	o->memfd = up__memfd(kind == OBJ_FILE ? "upager-file" : "upager-anon");
	if (o->memfd < 0) {
		int err = o->memfd;

		free(o);
		return err;
	}
	o->next = p->objs;
	p->objs = o;
	*out = o;
	return 0;
}

/* An object's copy map: two bits per system page of its pages (solo.c,
 * cow_get()). */
static size_t cow_len(const struct up_pager *p, const struct up_obj *o)
{
	return o->pages_nr * pl(p) / SYS_PAGE / 4 + 1;
}

/* Free o's tables and o itself. */
static void obj_tables_free(struct up_pager *p, struct up_obj *o)
{
	up__table_free(o->pflags, o->pages_nr);
	up__table_free(o->frame, o->pages_nr * sizeof(uint32_t));
	if (o->cow)
		up__table_free(o->cow, cow_len(p, o));
	free(o);
}

static void letgo_forget(struct up_pager *p, struct up_obj *o);

/* Whether another object of p shows o's store (a program's store mapped
 * MAP_SHARED and MAP_PRIVATE has one object for each): it is closed with
 * the last. */
static bool store_kept(const struct up_pager *p, const struct up_obj *o)
{
	const struct up_obj *q;

	for (q = p->objs; q; q = q->next)
		if (q != o && q->store.ops == o->store.ops &&
		    q->store.ctx == o->store.ctx)
			return true;
	return false;
}

static void obj_free(struct up_pager *p, struct up_obj *o)
{
	struct up_work **ww = &p->work, *w;
	struct up_obj **pp;

	for (pp = &p->objs; *pp != o; pp = &(*pp)->next)
		;
	*pp = o->next;
	letgo_forget(p, o);
	up__solo_unlend(p, o, NULL, 0, 0);
	/* Queued read-ahead for this object has nothing left to read. */
	while ((w = *ww)) {
		if (w->obj == o) {
			*ww = w->next;
			free(w);
		} else {
			ww = &w->next;
		}
	}
	if (o->view)
		up__munmap(o->view, o->view_len);
	if (o->memfd >= 0)
		up__close(o->memfd);
	if (o->fd >= 0)
		up__close(o->fd);
	if (o->ro_fd >= 0)
		up__close(o->ro_fd);
	if (o->store.ops && o->store.ops->close && !store_kept(p, o))
		o->store.ops->close(o->store.ctx);
	if (o->swap_base >= 0 && p->swap_fd >= 0)
		up__fallocate(p->swap_fd, PUNCH, o->swap_base,
			      (off_t)(o->pages_nr * pl(p)));
	obj_tables_free(p, o);
}

int up__obj_file(struct up_pager *p, int fd, const struct stat *st,
		 bool shared, struct up_obj **out)
{
	int fl = fcntl(fd, F_GETFL);
	bool writable = (fl & O_ACCMODE) != O_RDONLY;
	struct up_obj *o;
	int dfd, err;

	for (o = p->objs; shared && o; o = o->next) {
		if (o->kind != OBJ_FILE || o->dev != st->st_dev ||
		    o->ino != st->st_ino)
			continue;
		err = up__obj_fd_note(o, fd, writable);
		if (err)
			return err;
		if (st->st_size > o->file_len)
			o->file_len = st->st_size;
		*out = o;
		return 0;
	}
	dfd = up__dup(fd);
	if (dfd < 0)
		return dfd;
	err = obj_new(p, shared ? OBJ_FILE : OBJ_ANON, &o);
	if (err) {
		up__close(dfd);
		return err;
	}
	o->fd = dfd;
	o->store.ops = &up__file_store;
	o->store.ctx = &o->fd;
	o->fd_writable = writable;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->file_len = st->st_size;
	*out = o;
	return 0;
}

/*
 * Note fd, which a new mapping of o's file came with: a writable one
 * replaces a read-only o->fd (a descriptor that can write back), which
 * stays as o->ro_fd; a read-only one is kept as o->ro_fd if o has none
 * (fork() hands a read-only mapping to the kernel through it, as the
 * program made it: reopening the file instead, and closing that, would
 * release the process's record locks, see up__close()).
 */
int up__obj_fd_note(struct up_obj *o, int fd, bool writable)
{
	int dfd;

	if (writable == o->fd_writable || (!writable && o->ro_fd >= 0))
		return 0;
	dfd = up__dup(fd);
	if (dfd < 0)
		return dfd;
	if (!writable) {
		o->ro_fd = dfd;
		return 0;
	}
	if (o->ro_fd < 0)
		o->ro_fd = o->fd;
	else
		up__close(o->fd);
	o->fd = dfd;
	o->fd_writable = true;
	return 0;
}

int up__obj_anon(struct up_pager *p, struct up_obj **out)
{
	return obj_new(p, OBJ_ANON, out);
}

/* The object of a program's store: one for all MAP_SHARED mappings of it,
 * one per MAP_PRIVATE mapping, as for a file.  Its pages are always
 * copies (nothing to borrow). */
int up__obj_store(struct up_pager *p, const struct up_store_ops *ops,
		  void *ctx, bool shared, struct up_obj **out)
{
	off_t len = ops->size(ctx);
	struct up_obj *o;
	int err;

	if (len < 0)
		return (int)len;
	for (o = p->objs; shared && o; o = o->next) {
		if (o->kind == OBJ_FILE && o->store.ops == ops &&
		    o->store.ctx == ctx) {
			*out = o;
			return 0;
		}
	}
	err = obj_new(p, shared ? OBJ_FILE : OBJ_ANON, &o);
	if (err)
		return err;
	o->store.ops = ops;
	o->store.ctx = ctx;
	o->fd_writable = ops->write != NULL;
	o->file_len = len;
	o->no_borrow = true;
	*out = o;
	return 0;
}

/* Free o, kept for a mapping that could not be made, if no region shows
 * it: its store is closed if the pager owned it already (a mapping of it
 * made before), else it stays the caller's. */
void up__obj_unmade(struct up_pager *p, struct up_obj *o, bool owned)
{
	uint64_t pg;

	if (o->regions)
		return;
	if (!owned)
		o->store.ops = NULL;
	for (pg = 0; pg < o->pages_nr; pg++)
		up__page_drop(p, o, pg);
	obj_free(p, o);
}

/* Read [off, off + len) of o's store into buf: the bytes read (fewer at
 * its end), or -EIO. */
ssize_t up__obj_read(struct up_obj *o, void *buf, size_t len, off_t off)
{
	ssize_t n = o->store.ops->read(o->store.ctx, buf, len, off);

	return n < 0 || (size_t)n > len ? -EIO : n;
}


static int swap_open(struct up_pager *p)
{
	const char *dir = p->cfg.swap_dir ? p->cfg.swap_dir : "/var/tmp";
	int fd;

	if (p->swap_fd >= 0)
		return 0;
	fd = up__open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd < 0)
		return fd;
	p->swap_fd = fd;
	return 0;
}

/* The swap file's copies of o's pages, moved to a new range at base (the
 * swap ranges of objects lie end to end: one that grows moves). */
static int swap_move(struct up_pager *p, struct up_obj *o, off_t base)
{
	uint64_t pg;
	off_t off;

	if (o->swap_base < 0)
		return 0;
	for (pg = 0; pg < o->pages_nr; pg++) {
		if (!(o->pflags[pg] & PG_INSWAP))
			continue;
		off = (off_t)(pg * pl(p));
		if (up__store_fill(&p->swap, NULL, pl(p), o->swap_base + off,
				   p->swap_fd, base + off) != (ssize_t)pl(p))
			return -EIO;
	}
	up__fallocate(p->swap_fd, PUNCH, o->swap_base,
		      (off_t)(o->pages_nr * pl(p)));
	return 0;
}

/* Make the object's memfd, view and page tables reach at least `end`. */
int up__obj_cover(struct up_pager *p, struct up_obj *o, off_t end)
{
	uint64_t nr = (uint64_t)(end + (off_t)pl(p) - 1) / pl(p);
	size_t len = nr * pl(p), cow_old = o->cow ? cow_len(p, o) : 0;
	void *view;
	int err;

	if (nr <= o->pages_nr)
		return 0;
	err = up__ftruncate(o->memfd, (off_t)len);
	if (err)
		return err;
	if (o->view)
		err = up__mremap(o->view, o->view_len, len, &view);
	else
		err = up__mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       o->memfd, 0, &view);
	if (err)
		return err;
	o->view = view;
	o->view_len = len;
	up__madvise(view, len, MADV_DONTFORK);
	if (up__table((void **)&o->pflags, o->pages_nr, nr) ||
	    up__table((void **)&o->frame, o->pages_nr * sizeof(uint32_t),
		      nr * sizeof(uint32_t)))
		return -ENOMEM;
	if (o->kind == OBJ_ANON) {
		err = swap_move(p, o, p->swap_next);
		if (err)
			return err;
		o->swap_base = p->swap_next;
		p->swap_next += (off_t)len;
	}
	o->pages_nr = nr;
	/* A private page-cache object saves its copies itself (solo.c). */
	if (o->pc && o->kind == OBJ_ANON) {
		err = up__table((void **)&o->cow, cow_old, cow_len(p, o));
		if (err)
			return err;
		return swap_open(p);
	}
	return 0;
}


/* Take r off o's list of regions (and nothing more). */
void up__obj_unlink(struct up_obj *o, struct up_region *r)
{
	struct up_region **rr;

	for (rr = &o->regions; *rr != r; rr = &(*rr)->obj_next)
		;
	*rr = r->obj_next;
}

void up__obj_attach(struct up_obj *o, struct up_region *r)
{
	r->obj = o;
	r->obj_next = o->regions;
	o->regions = r;
}

/* Detach r; the last region out writes the object back and frees it. */
int up__obj_detach(struct up_pager *p, struct up_obj *o, struct up_region *r)
{
	bool last = o->regions == r && !r->obj_next;
	uint64_t pg;
	int err = 0;

	/* The last region out writes back while it is still attached: what
	 * a write-back writes is what the regions show (file_write()). */
	if (last && !o->seg && o->kind == OBJ_FILE)
		err = up__writeback(p, o, 0, o->pages_nr);
	up__obj_unlink(o, r);
	r->obj = NULL;
	/* (An object being made for a mapping outlives its failure.) */
	if (!last || o->making)
		return err;
	if (o->seg) {
		atomic_fetch_sub(&p->segs_nr, 1);
		err = o->seg_ops->detach(p, o);
		obj_free(p, o);
		return err;
	}
	/* What could not be written back is lost here (err says so); the
	 * drop keeps the dirty count right. */
	for (pg = 0; pg < o->pages_nr; pg++)
		up__page_drop(p, o, pg);
	obj_free(p, o);
	return err;
}

/* Mark page pgno of o dirty (it must be resident).  A page mapped from
 * the kernel's page cache is the kernel's to track (solo.c). */
void up__page_dirty(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	assert(o->pflags[pg] & PG_RESIDENT);
	if (o->solo && up__solo_borrowed(p, o, pg))
		return;
	if (!(o->pflags[pg] & PG_DIRTY)) {
		o->pflags[pg] |= PG_DIRTY;
		p->st.dirty++;
	}
}


/* ---- statistics: the fault-time histogram and the counters -------- */

/* Four buckets per power of two: a figure within 25% of the truth. */
static unsigned hist_idx(uint64_t ns)
{
	unsigned e;

	if (ns < 4)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns);
	return (e - 1) * 4 + (unsigned)((ns >> (e - 2)) & 3);
}

static uint64_t hist_value(unsigned idx)
{
	unsigned e = idx / 4 + 1;

	if (idx < 4)
		return idx;
	return (uint64_t)(4 + idx % 4) << (e - 2);
}

void up__hist_add(struct up_pager *p, uint64_t ns)
{
	p->hist[hist_idx(ns)]++;
	p->st.fault_ns += ns;
}

/* The histogram by powers of two (see up_pager_latency()). */
void up__hist_log2(const struct up_pager *p, uint64_t *counts, unsigned nr)
{
	unsigned i, e;

	for (i = 0; i < nr; i++)
		counts[i] = 0;
	for (i = 0; i < HIST_NR; i++) {
		uint64_t v = hist_value(i);

		e = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
		counts[e < nr ? e : nr - 1] += p->hist[i];
	}
}

uint64_t up__hist_pct(const struct up_pager *p, unsigned pct)
{
	uint64_t total = 0, seen = 0;
	unsigned i;

	for (i = 0; i < HIST_NR; i++)
		total += p->hist[i];
	if (!total)
		return 0;
	for (i = 0; i < HIST_NR; i++) {
		seen += p->hist[i];
		if (seen * 100 >= total * pct)
			return hist_value(i);
	}
	return hist_value(HIST_NR - 1);
}

void up__stat_add(struct up_pager *p, struct up_region *r, size_t field,
		  uint64_t n)
{
	*(uint64_t *)((char *)&p->st + field) += n;
	if (r)
		*(uint64_t *)((char *)&r->st + field) += n;
}

/* ---- frames --------------------------------------------------------- */

/* Free frames: released ones on a stack, then the never used. */
static void free_push(struct up_pager *p, uint32_t idx)
{
	p->free_frames[p->stack_nr++] = idx;
	p->free_nr++;
}

static uint32_t free_pop(struct up_pager *p)
{
	p->free_nr--;
	return p->stack_nr ? p->free_frames[--p->stack_nr]
			   : (uint32_t)p->fresh++;
}

static void frame_release(struct up_pager *p, uint32_t idx)
{
	struct up_frame *f = &p->frames[idx];

	f->obj = NULL;
	f->ref = 0;
	f->pin = 0;
	assert(!f->borrowed);	/* given back by up__solo_unmap_page() */
	f->mv_a = f->mv_b = 0;
	free_push(p, idx);
	p->frames_used--;
	p->st.resident--;
}

/*
 * Start the disk write-out of [off, off + len) of o's file, just written
 * back.  Ranges that follow each other are gathered and started 2 MiB at
 * a time or more, since each call costs about as much for 4 KiB as for
 * 2 MiB.
 */
#define WRITEOUT_LEN ((off_t)2 << 20)

/*
 * Pages of the page cache that the pager let go of leave the page cache
 * too, where nothing else maps them, so that the budget bounds the memory
 * the system spends on a mapping, not only the pager's share.  A stream's
 * runs go as they are evicted (evict_run()); dirty pages go once written:
 * write-out runs up to WRITTEN_MAX (a quarter of the budget if less)
 * ahead, and then the pager waits for the oldest of it and drops it, as
 * the kernel holds back a writer in a memory cgroup.  A page evicted alone
 * stays in the page cache, for the kernel to reclaim as it sees fit:
 * dropping it would cost a read from disk at its next fault, and where the
 * file is cached in large folios, it drops nothing.
 */
#define WRITTEN_MAX ((off_t)16 << 20)

/* The kernel drops only whole folios, of up to 2 MiB: [a, b) widened to
 * whole 2 MiB blocks, whose folios go once no page of theirs is mapped or
 * dirty. */
#define FOLIO_MAX ((off_t)2 << 20)

static void drop_blocks(struct up_obj *o, off_t a, off_t b)
{
	a &= ~(FOLIO_MAX - 1);
	b = (b + FOLIO_MAX - 1) & ~(FOLIO_MAX - 1);
	up__drop_cache(o->fd, a, b - a);
}

/* Whether a page of [a, b) of o is resident. */
static bool resident_in(struct up_pager *p, struct up_obj *o, off_t a,
			off_t b)
{
	uint64_t pg;

	for (pg = (uint64_t)a / pl(p); (off_t)(pg * pl(p)) < b &&
				       pg < o->pages_nr; pg++)
		if (o->pflags[pg] & PG_RESIDENT)
			return true;
	return false;
}

/*
 * [a, b) of o's page cache, which the pager let go, leaves it: as it is,
 * or as the 2 MiB blocks around it where a larger folio holds it and no
 * page of those blocks is resident.  (A page the kernel cannot drop, one
 * mapped or dirty, makes it drain every CPU's page lists, which costs
 * more than the drop.)
 */
static void cache_go(struct up_pager *p, struct up_obj *o, off_t a, off_t b)
{
	off_t wa = a & ~(FOLIO_MAX - 1);
	off_t wb = (b + FOLIO_MAX - 1) & ~(FOLIO_MAX - 1);

	if (resident_in(p, o, a, b))
		return;
	up__drop_cache(o->fd, a, b - a);
	if ((wa < a || wb > b) && up__cached(o->fd, a, b - a) &&
	    !resident_in(p, o, wa, wb))
		up__drop_cache(o->fd, wa, wb - wa);
}

/*
 * The page cache that pages evicted by the clock leave behind is kept, as
 * a second chance after the pager's own (a page faulted again soon costs
 * no read), but only up to half the budget: past that, the ranges let go
 * longest ago leave the page cache, and where the page cache holds one in
 * a larger folio, which the kernel drops only whole, the 2 MiB blocks
 * around it.  The pages the pager holds are mapped, and the kernel drops
 * none of those, nor dirty ones.  So a mapping holds at most 1.5 times
 * its budget of the system's memory, the kernel's read-around aside.
 */
static uint64_t letgo_cap(const struct up_pager *p)
{
	return p->frames_nr + 1;
}

static void letgo_pop(struct up_pager *p)
{
	struct up_letgo *e = &p->letgo[p->letgo_head];

	if (e->obj)
		cache_go(p, e->obj, e->off, e->off + e->len);
	p->letgo_bytes -= (uint64_t)e->len;
	p->letgo_head = (p->letgo_head + 1) % letgo_cap(p);
	p->letgo_nr--;
}

static void letgo(struct up_pager *p, struct up_obj *o, off_t off,
		  uint64_t len)
{
	struct up_letgo *e = NULL;

	if (p->letgo_nr)
		e = &p->letgo[(p->letgo_head + p->letgo_nr - 1) %
			      letgo_cap(p)];
	if (e && e->obj == o && e->off + e->len == off &&
	    e->len < FOLIO_MAX) {
		e->len += (off_t)len;
	} else {
		if (p->letgo_nr == letgo_cap(p))
			letgo_pop(p);
		e = &p->letgo[(p->letgo_head + p->letgo_nr++) %
			      letgo_cap(p)];
		e->obj = o;
		e->off = off;
		e->len = (off_t)len;
	}
	p->letgo_bytes += len;
	while (p->letgo_nr && p->letgo_bytes > p->frames_nr * pl(p) / 2)
		letgo_pop(p);
}

static void letgo_forget(struct up_pager *p, struct up_obj *o)
{
	uint64_t i;

	for (i = 0; i < p->letgo_nr; i++) {
		struct up_letgo *e = &p->letgo[(p->letgo_head + i) %
					       letgo_cap(p)];

		if (e->obj == o)
			e->obj = NULL;
	}
}

static void writeout_start(struct up_pager *p, struct up_obj *o)
{
	off_t max = (off_t)(p->frames_nr * pl(p) / 4), n;

	if (o->wf_b > o->wf_a && o->wf_b != o->wo_a) {
		/* Another stream: the last one's rest goes first. */
		up__sync_wait(o->fd, o->wf_a, o->wf_b - o->wf_a);
		drop_blocks(o, o->wf_a, o->wf_b);
		o->wf_a = o->wf_b;
	}
	up__sync_range(o->fd, o->wo_a, o->wo_b - o->wo_a);
	if (o->wf_b <= o->wf_a)
		o->wf_a = o->wo_a;
	o->wf_b = o->wo_b;
	/* The oldest of it, past WRITTEN_MAX in flight. */
	n = o->wf_b - o->wf_a - (max < WRITTEN_MAX ? max : WRITTEN_MAX);
	if (n > 0) {
		up__sync_wait(o->fd, o->wf_a, n);
		drop_blocks(o, o->wf_a, o->wf_a + n);
		o->wf_a += n;
	}
}

static void writeout(struct up_pager *p, struct up_obj *o, off_t off,
		     off_t len)
{
	if (o->wo_b != off) {
		if (o->wo_b > o->wo_a)
			writeout_start(p, o);
		o->wo_a = off;
	}
	o->wo_b = off + len;
	if (o->wo_b - o->wo_a >= WRITEOUT_LEN) {
		writeout_start(p, o);
		o->wo_a = o->wo_b;
	}
}

/* Whether o's borrowed pages may have been written in place: the kernel
 * tracks those stores, and the pager starts their write-out when it lets
 * the pages go. */
static bool written_in_place(const struct up_obj *o)
{
	return o->kind == OBJ_FILE && o->regions &&
	       (o->regions->prot & PROT_WRITE);
}

/* Give up page pg's frame without touching what shows it (its memfd,
 * or the file mapped there). */
static void page_forget(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	if (!(o->pflags[pg] & PG_RESIDENT))
		return;
	if (o->pflags[pg] & PG_DIRTY)
		p->st.dirty--;
	o->pflags[pg] &= (uint8_t)~(PG_RESIDENT | PG_DIRTY);
	frame_release(p, o->frame[pg] - 1);
	o->frame[pg] = 0;
}

/* The pages a lend made lent as they stood (solo.c, lend_all()) give up
 * their frames: their page-table entries stay, counted by the system page
 * from now on. */
static void lent_frames_go(struct up_pager *p, struct up_obj *o)
{
	uint64_t pg;

	if (!o->lent_frames)
		return;
	o->lent_frames = false;
	for (pg = 0; pg < o->pages_nr; pg++)
		if ((o->pflags[pg] & (PG_RESIDENT | PG_LENT)) ==
		    (PG_RESIDENT | PG_LENT))
			page_forget(p, o, pg);
}

/*
 * Evict the page in frame idx.  Fails if a dirty page cannot be written.
 * With `start`, a dirty file page's write-out to disk starts at once.
 */
static int evict(struct up_pager *p, uint32_t idx, bool start)
{
	struct up_frame *f = &p->frames[idx];
	struct up_obj *o = f->obj;
	uint64_t pg = f->pgno;
	/* A page of a writable mapping mapped from the page cache may have
	 * been written there: its write-out starts as a written-back page's
	 * would, once it is unmapped (so the kernel need not protect it). */
	bool kernel_dirty = f->borrowed && written_in_place(o);
	bool borrowed = f->borrowed;
	int err;

	/* A solo page moved back into its slot first is out of the
	 * program's reach: its write-back then needs no write-protection
	 * (on a VM, each change to a mapping the program is running on is a
	 * TLB shootdown that costs tens of microseconds). */
	if (o->solo)
		up__solo_unmap_page(p, o, pg, !start);
	if (kernel_dirty && start)
		writeout(p, o, (off_t)(pg * pl(p)), (off_t)pl(p));
	if (o->pflags[pg] & PG_DIRTY) {
		err = up__writeback(p, o, pg, pg + 1);
		if (err)
			return err;
		if (start && o->kind == OBJ_FILE)
			writeout(p, o, (off_t)(pg * pl(p)), (off_t)pl(p));
	}
	up__page_drop(p, o, pg);
	if (borrowed)
		letgo(p, o, (off_t)(pg * pl(p)), pl(p));
	UP_STAT(p, up__obj_region(o, (off_t)(pg * pl(p))), evictions, 1);
	lent_frames_go(p, o);
	return 0;
}

/* Write-protect object range [a, b) of o in every mapping of it: the next
 * store to it faults (the pager sees a clean page dirtied again). */
void up__obj_wprotect(struct up_pager *p, struct up_obj *o, off_t a, off_t b)
{
	struct up_region *r;
	uintptr_t as, ae;

	for (r = o->regions; r && p->faults; r = r->obj_next)
		if (up__region_span(r, a, b, &as, &ae))
			p->faults->wprotect(p, as, ae, true);
}

/* Whether a mapping shows part of pages [pg, pg + n) of o where mlock(2)
 * has locked it. */
static bool locked_in(struct up_pager *p, struct up_obj *o, uint64_t pg,
		      uint64_t n)
{
	off_t a = (off_t)(pg * pl(p)), b = (off_t)((pg + n) * pl(p));
	struct up_region *r;

	for (r = o->regions; r; r = r->obj_next) {
		off_t ra = r->off, rb = r->off + (off_t)(r->end - r->start);

		ra = ra > a ? ra : a;
		rb = rb < b ? rb : b;
		if (ra < rb && up__locked((void *)(r->start + (uintptr_t)(ra -
								r->off)),
					  (size_t)(rb - ra)))
			return true;
	}
	return false;
}

/* Whether page pg of o is borrowed and may go (see evict_run()). */
static bool run_page(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	struct up_frame *f;

	if (!(o->pflags[pg] & PG_RESIDENT))
		return false;
	f = &p->frames[o->frame[pg] - 1];
	return f->borrowed && !f->pin;
}

/*
 * Evict borrowed pages [a, b) of o at once: one change to the mappings
 * for all of them, where a page each would cost a change (and a TLB
 * shootdown) each.  A stream's pages (see up__evict_behind()) have their
 * write-out started and leave the page cache at once; others are let go
 * (see letgo()).
 */
static void evict_pages(struct up_pager *p, struct up_obj *o, uint64_t a,
			uint64_t b, bool stream)
{
	bool kernel_dirty = stream && written_in_place(o);
	uint64_t i;

	up__solo_unmap_run(p, o, a, b - a, !stream);
	for (i = a; i < b; i++) {
		if (kernel_dirty)
			writeout(p, o, (off_t)(i * pl(p)), (off_t)pl(p));
		up__page_drop(p, o, i);
		if (!stream)
			letgo(p, o, (off_t)(i * pl(p)), pl(p));
		UP_STAT(p, up__obj_region(o, (off_t)(i * pl(p))), evictions,
			1);
	}
	if (stream)
		cache_go(p, o, (off_t)(a * pl(p)), (off_t)(b * pl(p)));
	lent_frames_go(p, o);
}

/*
 * Evict borrowed page pg of o, and the borrowed pages before it, up to
 * RUN_LEN in all: a stream leaves its pages behind in runs, each put back
 * at once.
 */
#define RUN_LEN ((uint64_t)2 << 20)

static void evict_run(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	uint64_t n = 1, i, max = RUN_LEN / pl(p);

	while (n < max && pg >= n && run_page(p, o, pg - n))
		n++;
	/* Locked pages stay: one look at the run, then page by page only
	 * where part of it is locked (pg is not: see up__evict_behind()). */
	if (n > 1 && locked_in(p, o, pg + 1 - n, n - 1))
		for (i = n, n = 1; n < i && !locked_in(p, o, pg - n, 1); n++)
			;
	evict_pages(p, o, pg + 1 - n, pg + 1, true);
}

/* Whether page pg of o may go with the clock's victim next to it: it is
 * borrowed and the clock would take it too (see frame_get()). */
static bool cold_page(struct up_pager *p, struct up_obj *o, uint64_t pg,
		      bool demand)
{
	const struct up_frame *f;

	if (!run_page(p, o, pg))
		return false;
	f = &p->frames[o->frame[pg] - 1];
	return !f->ref &&
	       (demand || p->tick - f->tick > p->frames_nr / 2);
}

/*
 * The clock's victim, borrowed page pg of o, goes with the cold borrowed
 * pages around it, up to RUN_LEN in all: pages that were shown together
 * are mostly let go together, and one change to the mappings puts them
 * all back.  False if pg must go alone (part of the run is locked).
 */
static bool evict_cold(struct up_pager *p, struct up_obj *o, uint64_t pg,
		       bool demand)
{
	uint64_t a = pg, b = pg + 1, max = RUN_LEN / pl(p);

	while (b - a < max && a > 0 && cold_page(p, o, a - 1, demand))
		a--;
	while (b - a < max && b < o->pages_nr && cold_page(p, o, b, demand))
		b++;
	if (locked_in(p, o, a, b - a))
		return false;
	evict_pages(p, o, a, b, false);
	return true;
}

/*
 * Evict page pgno of o now if it is resident, the budget is full and the
 * running operation does not use it.  For a sequential stream larger than
 * the cache, the page just passed is the best victim (least likely to be
 * used again, and its frame's memory is still in the CPU's cache when the
 * next page is read into it), where the clock would take the oldest.  If
 * it is dirty, its write-out to disk starts at once: it will not be
 * written again soon, and the disk then works while the program goes on
 * instead of all in the msync that ends the stream.
 */
void up__evict_behind(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	uint64_t t0;
	uint32_t idx;

	if (p->free_nr || pg >= o->pages_nr ||
	    !(o->pflags[pg] & PG_RESIDENT))
		return;
	idx = o->frame[pg] - 1;
	if (p->frames[idx].pin || locked_in(p, o, pg, 1))
		return;
	t0 = up__now_ns();
	if (p->frames[idx].borrowed)
		evict_run(p, o, pg);
	else
		evict(p, idx, true);
	p->st.evict_ns += up__now_ns() - t0;
}

/*
 * A free frame, evicting by clock if there is none.  A demand fill sweeps
 * until it finds a victim; read-ahead takes only a page that no fill or
 * fault used during the last half budget's worth of uses, so that it never
 * pushes out a page in use (two mappings copied through a two-page budget
 * would otherwise evict each other's page forever).  Pages that mlock(2)
 * locked stay, unless the sweep finds nothing else (more is locked than
 * the budget holds).  -EBUSY if no frame can be had.
 */
static int frame_get(struct up_pager *p, uint32_t *out, bool demand)
{
	uint64_t scanned, rounds = demand ? 3 : 1;
	uint64_t t0 = p->free_nr ? 0 : up__now_ns();

	for (scanned = 0; !p->free_nr; scanned++) {
		struct up_frame *f;
		uint32_t idx;

		if (scanned >= (rounds + demand) * p->frames_nr) {
			p->st.evict_ns += up__now_ns() - t0;
			return -EBUSY;
		}
		idx = (uint32_t)(p->hand++ % p->frames_nr);
		f = &p->frames[idx];
		if (f->pin)
			continue;
		if (!demand && p->tick - f->tick <= p->frames_nr / 2)
			continue;
		if (f->ref) {
			if (demand)
				f->ref = 0;
			continue;
		}
		if (scanned < rounds * p->frames_nr &&
		    locked_in(p, f->obj, f->pgno, 1))
			continue;
		if (f->borrowed && evict_cold(p, f->obj, f->pgno, demand))
			continue;
		if (evict(p, idx, false)) {
			f->ref = 1;	/* its write-back failed: skip it */
			continue;
		}
	}
	if (t0)
		p->st.evict_ns += up__now_ns() - t0;
	*out = free_pop(p);
	return 0;
}

/* Release the pins the running operation took (see up__page_fill). */
void up__frames_unpin(struct up_pager *p)
{
	while (p->pinned_nr)
		p->frames[p->pinned[--p->pinned_nr]].pin = 0;
}

/* ---- fill, write-back, drop ----------------------------------------- */


/* Read page pgno's content, from its store or the swap file, into its
 * memfd range (see up__store_fill()); returns bytes valid. */
static ssize_t fill_from_store(struct up_pager *p, struct up_obj *o,
			       uint64_t pg, uint32_t idx)
{
	off_t off = (off_t)(pg * pl(p));
	int err;

	if (o->solo)
		return up__solo_fill(p, o, pg, idx);
	up__slot_release(p, idx);

	if (o->pflags[pg] & PG_INSWAP)
		return up__store_fill(&p->swap, o->view + off, pl(p),
				      o->swap_base + off, o->memfd, off);
	if (o->store.ops)
		return up__store_fill(&o->store, o->view + off, pl(p), off,
				      o->memfd, off);
	/* Zero-fill: allocate the page in the memfd so it can be mapped. */
	err = up__fallocate(o->memfd, 0, off, (off_t)pl(p));
	return err ? err : (ssize_t)pl(p);
}

/* Whether page pgno of o shows its store (not a copy in swap). */
static bool from_file(const struct up_obj *o, uint64_t pg)
{
	return o->store.ops && !(o->pflags[pg] & PG_INSWAP);
}

/*
 * The file has grown since resident page pgno was filled at its end: read
 * what the file holds now past the page's content, and clear the rest of
 * the system page it then ends in (it may hold an older page's bytes).
 */
static int page_extend(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	off_t off = (off_t)(pg * pl(p));
	struct up_frame *f;
	off_t end;
	ssize_t n;
	int err;

	end = up__obj_valid_end(p, o, true) - off;
	if (end > (off_t)pl(p))
		end = (off_t)pl(p);
	if (end <= (off_t)p->frames[o->frame[pg] - 1].valid)
		return 0;
	/* A solo page may be in its mapping or its slot: bring it into the
	 * memfd, where the rest can be read next to it. */
	err = up__obj_unsolo(p, o);
	if (err || !(o->pflags[pg] & PG_RESIDENT))
		return err;
	f = &p->frames[o->frame[pg] - 1];
	n = up__obj_read(o, o->view + off + f->valid,
			 (size_t)(end - f->valid), off + f->valid);
	if (n < 0)
		return -EIO;
	f->valid += (uint32_t)n;
	memset(o->view + off + f->valid, 0,
	       SYS_UP(f->valid) - f->valid);
	return 0;
}

/*
 * A page of a page-cache object takes one of the ranges the process may
 * borrow (solo.c): at the limit, a borrowed page of this pager goes first,
 * by clock.  Should none be found (other pagers hold them), it is borrowed
 * anyway: the limit keeps far from the kernel's.
 */
static void borrow_room(struct up_pager *p)
{
	uint64_t scanned;

	for (scanned = 0; up__solo_borrow_full() && scanned < 2 * p->frames_nr;
	     scanned++) {
		uint32_t idx = (uint32_t)(p->hand++ % p->frames_nr);
		struct up_frame *f = &p->frames[idx];

		if (!f->borrowed || f->pin)
			continue;
		if (f->ref) {
			f->ref = 0;
			continue;
		}
		evict(p, idx, false);
	}
}

/*
 * A private copy of a program's store reads its page from the store: what
 * a MAP_SHARED mapping of the store changed in that page and has not
 * written back goes there first, so that the copy starts from what the
 * shared mappings show, as a file's private mapping starts from the page
 * cache.
 */
static void shared_first(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	struct up_obj *q;

	if (o->kind != OBJ_ANON || !o->store.ops ||
	    o->store.ops == &up__file_store || (o->pflags[pg] & PG_INSWAP))
		return;
	for (q = p->objs; q; q = q->next)
		if (q->kind == OBJ_FILE && q->store.ops == o->store.ops &&
		    q->store.ctx == o->store.ctx && pg < q->pages_nr &&
		    (q->pflags[pg] & PG_DIRTY))
			up__writeback(p, q, pg, pg + 1);
}

/*
 * Make page pgno of o resident and pin it.  Returns the bytes of it that
 * hold content (less than a page at end of file, 0 beyond it), or -errno
 * (-EIO on a failed read, -EBUSY when no frame could be had).  If the
 * caller needs object offset want (>= 0) and a resident page's content
 * ends before it, the file may have grown since: it is read again there.
 */
static int page_fill(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     struct up_region *r, bool demand, off_t want)
{
	off_t off = (off_t)(pg * pl(p)), end;
	uint32_t idx;
	ssize_t n;
	int err;

	assert(pg < o->pages_nr);
	if ((o->pflags[pg] & PG_RESIDENT) && from_file(o, pg) &&
	    want >= off + (off_t)SYS_UP(p->frames[o->frame[pg] - 1].valid)) {
		err = page_extend(p, o, pg);
		if (err)
			return err;
	}
	if (!(o->pflags[pg] & PG_RESIDENT)) {
		if (o->pc)
			borrow_room(p);
		shared_first(p, o, pg);
		err = frame_get(p, &idx, demand);
		if (err)
			return err;
		n = fill_from_store(p, o, pg, idx);
		if (n < 0) {
			/* Free whatever the failed read allocated. */
			up__fallocate(o->memfd, PUNCH, off, (off_t)pl(p));
			free_push(p, idx);
			o->err = -EIO;
			return -EIO;
		}
		if (p->frames[idx].borrowed) {
			/* The file itself is mapped there: its size is
			 * what the kernel says (borrow() asked). */
		} else if (n == 0 && from_file(o, pg)) {
			/* Wholly past the end of the file: nothing to keep. */
			free_push(p, idx);
			o->file_len = off < o->file_len ? off : o->file_len;
			return 0;
		}
		else if (from_file(o, pg)) {
			/* A short read is the end of the file. */
			if ((size_t)n < pl(p))
				o->file_len = off + n;
			else if (off + n > o->file_len)
				o->file_len = off + n;
		}
		if (o->store.ops || (o->pflags[pg] & PG_INSWAP))
			UP_STAT(p, r, bytes_read, (uint64_t)n);
		p->frames[idx].obj = o;
		p->frames[idx].pgno = pg;
		p->frames[idx].valid = from_file(o, pg) ? (uint32_t)n
							 : (uint32_t)pl(p);
		o->frame[pg] = idx + 1;
		o->pflags[pg] |= PG_RESIDENT;
		p->frames_used++;
		p->st.resident++;
		UP_STAT(p, r, fills, 1);
	}
	idx = o->frame[pg] - 1;
	p->frames[idx].ref = 1;
	p->frames[idx].tick = ++p->tick;
	if (!p->frames[idx].pin) {
		p->frames[idx].pin = 1;
		p->pinned[p->pinned_nr++] = idx;
	}
	/* The page's content, and no more than the file as last seen (it
	 * may have been found shorter since). */
	end = up__obj_valid_end(p, o, false) - off;
	if (end > (off_t)p->frames[idx].valid)
		end = (off_t)p->frames[idx].valid;
	return end <= 0 ? 0 : (int)end;
}

int up__page_fill(struct up_pager *p, struct up_obj *o, uint64_t pg,
		  struct up_region *r, off_t want)
{
	return page_fill(p, o, pg, r, true, want);
}

/* The same for read-ahead: fails with -EBUSY rather than evict a page
 * that is in use. */
int up__page_fill_ahead(struct up_pager *p, struct up_obj *o, uint64_t pg,
			struct up_region *r)
{
	if (o->seg)
		return o->seg_ops->fill(p, o, pg, r, false);
	return page_fill(p, o, pg, r, false, -1);
}

#define WB_BUF (1u << 20)

/*
 * A batch of write-back for a store with write_batch: the ranges of the
 * dirty runs of one up__writeback() call, written in one call of the
 * store's (in parallel, where it can).  A range from the pager's own view
 * is passed as it is; one from a mapping (a solo page) is copied to the
 * batch's buffer first.  The runs are kept to be marked dirty again, and
 * counted, when the batch is written.
 */
#define BATCH_NR 64
#define BATCH_BUF (4u << 20)

struct up_batch {
	struct up_obj *obj;
	struct up_store_io io[BATCH_NR];
	unsigned nr;
	size_t used;			/* bytes of buf taken */
	char *buf;
	uint64_t run_a[BATCH_NR], run_b[BATCH_NR];
	size_t run_bytes[BATCH_NR];
	unsigned runs;
	int err;
};

static void run_done(struct up_pager *p, struct up_obj *o, uint64_t a,
		     uint64_t b, ssize_t n)
{
	struct up_region *r = up__obj_region(o, (off_t)(a * pl(p)));
	uint64_t pg;

	if (n < 0) {
		for (pg = a; pg < b; pg++)
			o->pflags[pg] |= PG_DIRTY;
		o->err = up__store_err(n);
		return;
	}
	p->st.dirty -= b - a;
	UP_STAT(p, r, writebacks, b - a);
	UP_STAT(p, r, bytes_written, (uint64_t)n);
}

/* Write the batch's ranges; then its runs are done, or dirty again. */
static int batch_flush(struct up_pager *p, struct up_batch *bt)
{
	const struct up_store *s = &bt->obj->store;
	int err = 0;
	unsigned i;

	if (bt->nr == 1) {
		ssize_t n = s->ops->write(s->ctx, bt->io[0].buf,
					  bt->io[0].len, bt->io[0].off);

		err = n < 0 ? (int)n : (size_t)n != bt->io[0].len ? -EIO : 0;
	} else if (bt->nr) {
		err = s->ops->write_batch(s->ctx, bt->io, bt->nr);
		if (err > 0)
			err = -EIO;
	}
	for (i = 0; i < bt->runs; i++)
		run_done(p, bt->obj, bt->run_a[i], bt->run_b[i],
			 err ? err : (ssize_t)bt->run_bytes[i]);
	if (err && !bt->err)
		bt->err = up__store_err(err);
	bt->nr = bt->runs = 0;
	bt->used = 0;
	return err;
}

/* Add a range to the batch (copied if mapped): len, or -errno. */
static ssize_t batch_add(struct up_pager *p, struct up_batch *bt,
			 const char *buf, size_t len, off_t off, bool mapped)
{
	size_t at = bt->used;

	if (mapped && !bt->buf &&
	    posix_memalign((void **)&bt->buf, SYS_PAGE, BATCH_BUF))
		return -ENOMEM;
	if (mapped && len > BATCH_BUF)
		return -E2BIG;
	if (bt->nr == BATCH_NR || (mapped && at + len > BATCH_BUF)) {
		/* Full: out it goes, the run being added included so far
		 * (which is recorded when it ends, and dirty again if any of
		 * it fails). */
		int err = batch_flush(p, bt);

		if (err)
			return err;
		at = 0;
	}
	if (mapped) {
		int err = up__copy_mapped(bt->buf + at, buf, len);

		if (err)
			return err;
		buf = bt->buf + at;
		bt->used = SYS_UP(at + len);
	}
	bt->io[bt->nr].buf = buf;
	bt->io[bt->nr].len = len;
	bt->io[bt->nr].off = off;
	bt->nr++;
	return (ssize_t)len;
}

/* Write len bytes of buf to store s at off: the bytes written or -errno.
 * buf may be the program's mapping (mapped): a file takes it in a system
 * call; another store gets a copy, never a pointer into a mapping, in the
 * pager's write-back buffer, page-aligned as the memory a store gets
 * otherwise is (a store may write it with O_DIRECT). */
static ssize_t write_to(struct up_pager *p, const struct up_store *s,
			const char *buf, size_t len, off_t off, bool mapped)
{
	int fd = up__store_fd(s);
	size_t done = 0, k;
	ssize_t n = 0;

	if (p->batch && s == &p->batch->obj->store) {
		n = batch_add(p, p->batch, buf, len, off, mapped);
		if (n != -E2BIG)
			return n;
		n = 0;
	}
	if (!mapped)
		return s->ops->write(s->ctx, buf, len, off);
	if (fd >= 0)
		return up__pwrite_mapped(fd, buf, len, off);
	if (!p->wb_buf &&
	    posix_memalign((void **)&p->wb_buf, SYS_PAGE, WB_BUF))
		return -ENOMEM;
	for (; done < len && n >= 0; done += (size_t)n) {
		k = len - done < WB_BUF ? len - done : WB_BUF;
		n = up__copy_mapped(p->wb_buf, buf + done, k);
		if (!n)
			n = s->ops->write(s->ctx, p->wb_buf, k,
					  off + (off_t)done);
		if (n >= 0 && (size_t)n != k)
			n = -EIO;
	}
	return n < 0 ? n : (ssize_t)done;
}

/*
 * Write object range [off, end) to store s at s_off + (off..): from the
 * memfd's view, or for a solo object page by page from wherever each page
 * is (its mapping or its slot), skipping what is in neither (outside the
 * mapping).
 */
static ssize_t store_write(struct up_pager *p, struct up_obj *o, off_t off,
			   off_t end, const struct up_store *s, off_t s_off)
{
	off_t off0 = off;
	ssize_t total = 0, n;

	if (!o->solo)
		return write_to(p, s, o->view + off, (size_t)(end - off),
				s_off, false);
	while (off < end) {
		uint64_t pg = up__pgno(p, off);
		off_t a, b, x, y;
		char *src = up__solo_data(p, o, pg, &a, &b);

		x = a > off ? a : off;
		y = b < end ? b : end;
		if (y > x) {
			n = write_to(p, s, src + (x - a), (size_t)(y - x),
				     s_off + (x - off0), true);
			if (n < 0)
				return n;
			total += n;
		}
		off = (off_t)((pg + 1) * pl(p));
	}
	return total;
}

/*
 * The first run [*a, *b) of object offsets at or after x and before end
 * that some region of o shows; false if there is none.  A file page's
 * write-back writes only these bytes: the rest of the page holds what the
 * file held when it was read, and writing it back would undo a write(2)
 * made to the file since.
 */
static bool shown_run(const struct up_obj *o, off_t x, off_t end, off_t *a,
		      off_t *b)
{
	const struct up_region *r;
	bool grew = true;

	*a = end;
	for (r = o->regions; r; r = r->obj_next) {
		off_t rs = r->off, re = rs + (off_t)(r->end - r->start);

		if (re > x && rs < *a)
			*a = rs > x ? rs : x;
	}
	if (*a >= end)
		return false;
	*b = *a;
	while (grew) {
		grew = false;
		for (r = o->regions; r; r = r->obj_next) {
			off_t rs = r->off, re = rs + (off_t)(r->end - r->start);

			if (rs <= *b && re > *b) {
				*b = re;
				grew = true;
			}
		}
	}
	if (*b > end)
		*b = end;
	return true;
}

/* Write [off, end) of file object o back, only where a region shows it
 * (see shown_run()); the bytes written, or -errno. */
static ssize_t file_write(struct up_pager *p, struct up_obj *o, off_t off,
			  off_t end)
{
	ssize_t total = 0, n;
	off_t a, b;

	for (; shown_run(o, off, end, &a, &b); off = b) {
		n = store_write(p, o, a, b, &o->store, a);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

/* Write one run [a, b) of dirty pages to its store. */
static int write_run(struct up_pager *p, struct up_obj *o, uint64_t a,
		     uint64_t b, off_t file_end)
{
	off_t off = (off_t)(a * pl(p)), end = (off_t)(b * pl(p));
	ssize_t n = 0;
	uint64_t pg;
	int err;

	up__obj_wprotect(p, o, off, end);
	for (pg = a; pg < b; pg++)
		o->pflags[pg] &= (uint8_t)~PG_DIRTY;
	if (o->kind == OBJ_FILE) {
		/* Never write past the end of the file. */
		if (end > file_end)
			end = file_end;
		if (end > off)
			n = file_write(p, o, off, end);
	} else {
		err = swap_open(p);
		n = err ? err
			: store_write(p, o, off, end, &p->swap,
				      o->swap_base + off);
		for (pg = a; n >= 0 && pg < b; pg++)
			o->pflags[pg] |= PG_INSWAP;
	}
	if (n >= 0 && p->batch && p->batch->obj == o) {
		struct up_batch *bt = p->batch;

		bt->run_a[bt->runs] = a;
		bt->run_b[bt->runs] = b;
		bt->run_bytes[bt->runs] = (size_t)n;
		if (++bt->runs == BATCH_NR)
			batch_flush(p, bt);
		return 0;
	}
	run_done(p, o, a, b, n);
	return n < 0 ? o->err : 0;
}

/* The first run [*a, *e) of adjacent dirty pages of o at or after *a and
 * before b; false if there is none. */
bool up__dirty_run(const struct up_obj *o, uint64_t *a, uint64_t b,
		   uint64_t *e)
{
	while (*a < b && !(o->pflags[*a] & PG_DIRTY))
		++*a;
	if (*a >= b)
		return false;
	for (*e = *a + 1; *e < b && (o->pflags[*e] & PG_DIRTY); ++*e)
		;
	return true;
}

/* Write back the dirty pages among [a, b), in runs of adjacent pages. */
int up__writeback(struct up_pager *p, struct up_obj *o, uint64_t a,
		  uint64_t b)
{
	struct up_batch bt = { .obj = o };
	off_t file_end = 0;
	uint64_t e;
	int err = 0, e2;

	if (b > o->pages_nr)
		b = o->pages_nr;
	if (o->kind == OBJ_FILE)
		file_end = up__obj_valid_end(p, o, true);
	/* A program's store that writes batches gets the dirty runs of
	 * more than one page at once. */
	if (o->kind == OBJ_FILE && o->store.ops && o->store.ops->write_batch &&
	    b - a > 1 && !p->batch)
		p->batch = &bt;
	for (; up__dirty_run(o, &a, b, &e); a = e) {
		off_t end = file_end;
		uint64_t pg;

		/* A page filled at the end of the file holds nothing of what
		 * the file has gained since: a run ends there, and writes no
		 * further than the page's content. */
		for (pg = a; o->kind == OBJ_FILE && pg < e; pg++) {
			off_t c = (off_t)(pg * pl(p)) +
				  p->frames[o->frame[pg] - 1].valid;

			if (c < (off_t)((pg + 1) * pl(p))) {
				e = pg + 1;
				end = c < end ? c : end;
			}
		}
		e2 = write_run(p, o, a, e, end);
		if (e2 && !err)
			err = e2;
	}
	if (p->batch == &bt) {
		batch_flush(p, &bt);
		p->batch = NULL;
		free(bt.buf);
		if (bt.err && !err)
			err = bt.err;
	}
	return err;
}

/* Solo objects turned into shared-memory ones, in all pagers: each
 * mapping made anew is locked on fault only where mlock(2) had locked it
 * (see api.c, lock_in()). */
atomic_uint_fast64_t up__unsolo_nr;

/*
 * Turn solo object o into a shared-memory one: its pages go into the
 * memfd (those that cannot are dropped: they are clean), and its one
 * mapping becomes a mapping of the memfd at the same address (solo.c).
 * Callers use this before anything a solo object cannot do.
 */
int up__obj_unsolo(struct up_pager *p, struct up_obj *o)
{
	off_t end = up__obj_valid_end(p, o, false);
	uint64_t pg;

	/* A page-cache object's pages are the file's, in every mapping. */
	if (!o->solo || o->pc)
		return 0;
	for (pg = 0; pg < o->pages_nr; pg++)
		if ((o->pflags[pg] & PG_RESIDENT) &&
		    !up__solo_page_out(p, o, pg, end))
			up__page_drop(p, o, pg);
	o->solo = false;
	atomic_fetch_add(&up__unsolo_nr, 1);
	return up__solo_remap(p, o);
}

/* Free page pgno (which must not be dirty, or its changes are lost). */
void up__page_drop(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	if (!(o->pflags[pg] & PG_RESIDENT))
		return;
	if (o->pflags[pg] & PG_DIRTY)
		p->st.dirty--;
	/* Punching the range frees the memory and zaps every mapping of it;
	 * the next access faults as missing.  A solo page goes back to its
	 * frame's slot, whose memory the next read reuses. */
	if (o->solo)
		up__solo_unmap_page(p, o, pg, false);
	else
		up__fallocate(o->memfd, PUNCH, (off_t)(pg * pl(p)),
			      (off_t)pl(p));
	o->pflags[pg] &= (uint8_t)~(PG_RESIDENT | PG_DIRTY);
	frame_release(p, o->frame[pg] - 1);
	o->frame[pg] = 0;
}

/*
 * MADV_DONTNEED on an anonymous or private object: [a, b) reads as its
 * source (zeros, or the file) again.  Whole pages are dropped; the parts
 * of pages are reset in place.
 */
int up__discard(struct up_pager *p, struct up_obj *o, off_t a, off_t b)
{
	while (a < b) {
		uint64_t pg = up__pgno(p, a);
		off_t ps = (off_t)(pg * pl(p)), pe = ps + (off_t)pl(p);
		off_t e = b < pe ? b : pe;

		if (a == ps && e == pe) {
			up__page_drop(p, o, pg);
			o->pflags[pg] &= (uint8_t)~(PG_DIRTY | PG_INSWAP);
		} else {
			/* Part of a page is reset through the memfd. */
			int n = o->solo ? up__obj_unsolo(p, o) : 0;
			ssize_t got = 0;

			if (n == 0)
				n = up__page_fill(p, o, pg, NULL, -1);
			if (n < 0)
				return n;
			/* Wholly past the end of the file, the page has no
			 * content to reset (it raises SIGBUS). */
			if (n == 0) {
				a = e;
				continue;
			}
			if (o->store.ops)
				got = up__obj_read(o, o->view + a,
						   (size_t)(e - a), a);
			if (got < 0)
				return -EIO;
			memset(o->view + a + got, 0, (size_t)(e - a - got));
			up__page_dirty(p, o, pg);
		}
		a = e;
	}
	return 0;
}

/*
 * o's store is len bytes long now (up_pager_store_resize()), as a file
 * after ftruncate(2): pages wholly past the end go, changed or not, copies
 * of a private object's included (the kernel's truncation unmaps those
 * too), so that they raise SIGBUS; the rest of the page that holds the end
 * reads zero where it shows the store.  Nothing to do for a larger store:
 * faults read what it holds (see page_extend()).
 */
/* Unmap object range [a, b) from every mapping of o, where it holds no
 * content (what a fault there found past the end of the store). */
static void zap(struct up_obj *o, off_t a, off_t b)
{
	struct up_region *r;
	uintptr_t as, ae;

	for (r = o->regions; r; r = r->obj_next)
		if (up__region_span(r, a, b, &as, &ae))
			up__madvise((void *)as, ae - as, MADV_DONTNEED);
}

int up__obj_resized(struct up_pager *p, struct up_obj *o, off_t len)
{
	uint64_t pg = up__pgno(p, len + (off_t)pl(p) - 1), part;
	struct up_region *r;
	struct up_frame *f;
	off_t ps;
	int err;

	for (r = o->regions; r; r = r->obj_next)
		if (r->file_end > len)
			r->file_end = len;
	if (len >= o->file_len) {
		/* Pages past the old end raised SIGBUS, and keep raising it
		 * (the poison stays until the memory is unmapped): zapped,
		 * they fault again.  Content is never zapped (a solo page's
		 * is in its mapping). */
		for (pg = up__pgno(p, o->file_len);
		     pg < o->pages_nr && (off_t)(pg * pl(p)) < len; pg++) {
			ps = (off_t)(pg * pl(p));
			if (o->pflags[pg] & PG_RESIDENT)
				ps += (off_t)SYS_UP(
					p->frames[o->frame[pg] - 1].valid);
			zap(o, ps, (off_t)((pg + 1) * pl(p)) < len
					   ? (off_t)((pg + 1) * pl(p))
					   : len);
		}
		o->file_len = len;
		return 0;
	}
	o->file_len = len;
	for (; pg < o->pages_nr; pg++) {
		up__page_drop(p, o, pg);
		o->pflags[pg] &= (uint8_t)~(PG_DIRTY | PG_INSWAP | PG_BAD);
	}
	part = up__pgno(p, len);
	ps = (off_t)(part * pl(p));
	if (ps == len || part >= o->pages_nr || !from_file(o, part) ||
	    !(o->pflags[part] & PG_RESIDENT))
		return 0;
	if (o->kind != OBJ_FILE && (o->pflags[part] & PG_DIRTY))
		return 0;	/* a private copy keeps its bytes */
	err = o->solo ? up__obj_unsolo(p, o) : 0;
	if (err || !(o->pflags[part] & PG_RESIDENT))
		return err;
	f = &p->frames[o->frame[part] - 1];
	if (ps + (off_t)SYS_UP(f->valid) > len)
		memset(o->view + len, 0,
		       (size_t)(ps + (off_t)SYS_UP(f->valid) - len));
	if (f->valid > (uint32_t)(len - ps))
		f->valid = (uint32_t)(len - ps);
	return 0;
}

/* ---- fork ----------------------------------------------------------- */

/*
 * Before fork(), an anonymous MAP_SHARED object becomes the kernel's own
 * shared memory (fault-uffd.c): its memfd must then hold every page, also
 * those the pager had put in its swap file.  Returns 0 or -EIO (what was
 * read back stays in the memfd, where a later fill reads it again).
 */
int up__obj_swap_in(struct up_pager *p, struct up_obj *o)
{
	uint64_t pg;

	for (pg = 0; pg < o->pages_nr; pg++) {
		off_t off = (off_t)(pg * pl(p));

		if ((o->pflags[pg] & (PG_INSWAP | PG_RESIDENT)) != PG_INSWAP)
			continue;
		if (up__store_fill(&p->swap, o->view + off, pl(p),
				   o->swap_base + off, o->memfd, off) < 0)
			return -EIO;
	}
	return 0;
}

/* Give up o's frames without touching its memfd, whose pages then belong
 * to the kernel's mappings of it: nothing punches them out again. */
void up__obj_forget(struct up_pager *p, struct up_obj *o)
{
	uint64_t pg;

	assert(!o->solo);
	for (pg = 0; pg < o->pages_nr; pg++) {
		if (!(o->pflags[pg] & PG_RESIDENT))
			continue;
		page_forget(p, o, pg);
		o->pflags[pg] = 0;
	}
}

/* Copy object range [a, b) of o, which holds the parent's changes, from
 * the memfd (if resident) or the swap file to addr. */
static int fork_copy_run(struct up_pager *p, struct up_obj *o, uint64_t pg,
			 off_t a, off_t b, uintptr_t addr)
{
	void *m;
	ssize_t n;
	int err;

	/* Over a private file mapping: anonymous memory, so that the copy
	 * neither reads the file first nor depends on its size now. */
	if (o->fd >= 0) {
		err = up__mmap((void *)addr, (size_t)(b - a),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
			       &m);
		if (err)
			return err;
	}
	if (o->pflags[pg] & PG_RESIDENT)
		n = up__pread(o->memfd, (void *)addr, (size_t)(b - a), a);
	else
		n = up__pread(p->swap_fd, (void *)addr, (size_t)(b - a),
			      o->swap_base + a);
	return n < 0 ? -EIO : 0;
}

/*
 * Make [a, a + len) anonymous memory of its own, which the kernel merges
 * with no neighbour: made elsewhere, a page of it written (so that it has
 * its own anon_vma, and keeps the page offset it was made with), and moved
 * over [a, a + len) in one step; with keep, holding what was there.
 */
static int apart(uintptr_t a, size_t len, bool keep)
{
	void *m;
	int err = 0;

	/* (Held first, so that the memory made elsewhere is not made there:
	 * a move onto itself fails.) */
	if (!keep)
		err = up__mmap((void *)a, len, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				       MAP_FIXED,
			       -1, 0, &m);
	if (!err)
		err = up__mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &m);
	if (err)
		return err;
	if (keep)
		memcpy(m, (void *)a, len);
	up__madvise(m, SYS_PAGE, MADV_POPULATE_WRITE);
	if (up__real_mremap(m, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			    (void *)a) != MAP_FAILED)
		return 0;
	err = -errno;
	up__munmap(m, len);
	return err;
}

/*
 * The kernel's child inherits its parent's mappings as they were split
 * (by mlock(2), say, whose lock it does not inherit), and does not merge
 * them again: mremap(2) then refuses a range across two.  The copy made
 * over [a, b) is one mapping; each later piece of it that the parent had
 * (p->fork_runs) is made a mapping of its own again (see apart()), and
 * the piece before it gets memory of its own too.
 */
static void fork_split(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	bool first = true;
	size_t i;

	for (i = 0; i < p->fork_runs_nr; i++) {
		uintptr_t x = p->fork_runs[i].a;

		if (x <= a || x >= b || x + p->fork_runs[i].len > b)
			continue;
		if (first)
			up__madvise((void *)a, SYS_PAGE, MADV_POPULATE_WRITE);
		first = false;
		apart(x, p->fork_runs[i].len, true);
	}
}

/* Whether q, after r, is of the kernel's private anonymous mapping r is
 * of: alike, locked alike at fork() (mlock(2) splits it), with page
 * offsets that go on and anon_vmas that agree (r may be the kernel's
 * already: its object is not asked). */
static bool same_mapping(const struct up_region *r, const struct up_region *q)
{
	return r && r->end == q->start && up__region_alike(r, q) &&
	       !r->zero_file && !q->zero_file && r->pgdelta == q->pgdelta &&
	       up__anon_alike(r, q) &&
	       r->apart == q->apart && r->fork_locked == q->fork_locked;
}

/* The end of r's kernel mapping; *own: whether it must be made apart (a
 * piece has an anon_vma, or a page offset not its address's). */
static uintptr_t mapping_end(struct up_pager *p, const struct up_region *r,
			     bool *own)
{
	size_t i = up__region_first(p, r->start) + 1;

	*own = r->anon || r->pgdelta;
	for (; i < p->regions_nr &&
	       same_mapping(p->regions[i - 1], p->regions[i]);
	     i++)
		*own |= p->regions[i]->anon || p->regions[i]->pgdelta;
	return p->regions[i - 1]->end;
}

/* A private mapping of /dev/zero over [a, a + len), as the program made
 * it: the kernel's has a file (MADV_REMOVE then fails with EACCES, not
 * EINVAL), where anonymous memory has none. */
static int zero_map(uintptr_t a, size_t len)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC), err;
	void *m;

	if (fd < 0)
		return up__mmap((void *)a, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
				&m);
	err = up__mmap((void *)a, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, fd, 0, &m);
	close(fd);
	return err;
}

/*
 * In a child after fork(): make region r of a private object (anonymous
 * private memory or a MAP_PRIVATE copy of a file) the kernel's own private
 * mapping, holding what the parent's showed at the fork: the file, mapped
 * privately, or zeros, and over them the pages the parent had changed,
 * copied from the object's memfd or the swap file.  The parent waits until
 * the child is done (api.c), with those pages write-protected, so that
 * neither its stores nor its pager change them meanwhile.  Pages past the
 * end of the file are left to the file mapping, which raises SIGBUS
 * there.  Returns 0 or -errno (the range may then hold anything).
 */
int up__obj_fork_copy(struct up_pager *p, struct up_region *r)
{
	struct up_obj *o = r->obj;
	size_t len = r->end - r->start;
	off_t end = r->off + (off_t)len;
	off_t valid = up__obj_valid_end(p, o, false);
	bool own = false;
	uint64_t pg;
	void *m;
	int err;

	if (valid < end)
		end = valid > r->off ? (off_t)SYS_UP((uint64_t)valid) : r->off;
	/* Private anonymous memory: each kernel mapping of the parent's
	 * whole.  The kernel's child gives each with an anon_vma one of its
	 * own (anon_vma_fork()), so that the pieces of one split by
	 * mprotect(2) in the parent merge no more in the child, and memory
	 * that mremap(2) moved after a fault keeps the page offset of where
	 * it was made: such a mapping is made apart.  (Not a private mapping
	 * of /dev/zero, which keeps its file, unless it moved.) */
	if (o->fd < 0 && !r->zero_file && r->start < p->fork_made)
		err = 0;	/* made with the regions before */
	else if (o->fd < 0 && (!r->zero_file || r->moved)) {
		uintptr_t e = r->zero_file ? r->end : mapping_end(p, r, &own);

		err = own || r->zero_file ?
			      apart(r->start, e - r->start, false) :
			      up__mmap((void *)r->start, e - r->start,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				       -1, 0, &m);
		p->fork_made = e;
	}
	else if (r->zero_file)
		err = zero_map(r->start, len);
	else
		err = up__mmap((void *)r->start, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED, o->fd, r->off, &m);
	for (pg = up__pgno(p, r->off); !err && r->off < end &&
	     pg <= up__pgno(p, end - 1); pg++) {
		off_t a = (off_t)(pg * pl(p)), b = a + (off_t)pl(p);

		if (!(o->pflags[pg] & (PG_DIRTY | PG_INSWAP)))
			continue;
		a = a > r->off ? a : r->off;
		b = b < end ? b : end;
		err = fork_copy_run(p, o, pg, a, b,
				    r->start + (uintptr_t)(a - r->off));
	}
	if (!err && o->fd < 0)
		fork_split(p, r->start, r->end);
	return err ? err : up__mprotect((void *)r->start, len, r->prot);
}

/*
 * In a child after fork(): objects that are not shared across processes
 * are the parent's (their memfds and swap file too).  Their regions have
 * become the kernel's own mappings (r->obj is NULL: kept, as the kernel
 * backend's are) or could not be (forgotten, their range left faulting).
 * Forget the objects, without any I/O; the frame table starts empty.
 */
void up__cache_child(struct up_pager *p)
{
	struct up_obj **oo = &p->objs, *o;
	struct up_work *w;
	size_t i = 0;

	while (i < p->regions_nr) {
		struct up_region *r = p->regions[i];

		if (r->obj && !r->obj->seg) {
			up__region_remove(p, r);
			free(r);
		} else {
			i++;
		}
	}
	while ((o = *oo)) {
		if (o->seg) {
			oo = &o->next;
			continue;
		}
		*oo = o->next;
		if (o->memfd >= 0)
			up__close(o->memfd);
		if (o->fd >= 0)
			up__close(o->fd);
		obj_tables_free(p, o);
	}
	while ((w = p->work)) {
		p->work = w->next;
		free(w);
	}
	memset(p->frames, 0, p->fresh * sizeof(*p->frames));
	p->fresh = p->stack_nr = 0;
	p->free_nr = p->frames_nr;
	p->frames_used = p->pinned_nr = 0;
	p->st.resident = p->st.dirty = p->st.page_cache = 0;
	if (p->swap_fd >= 0)
		up__close(p->swap_fd);
	p->swap_fd = -1;
	p->swap_next = 0;
}

/* For assert(): the frame table and the page tables agree. */
bool up__cache_check(struct up_pager *p)
{
	uint64_t i, used = 0, dirty = 0, cached = 0;
	struct up_obj *o;

	for (i = 0; i < p->fresh; i++) {
		struct up_frame *f = &p->frames[i];

		if (!f->obj)
			continue;
		used++;
		cached += f->borrowed;
		if (f->obj->frame[f->pgno] != i + 1 ||
		    !(f->obj->pflags[f->pgno] & PG_RESIDENT))
			return false;
	}
	for (o = p->objs; o; o = o->next)
		for (i = 0; !o->seg && i < o->pages_nr; i++)
			dirty += (o->pflags[i] & PG_DIRTY) != 0;
	return used == p->frames_used && used == p->st.resident &&
	       dirty == p->st.dirty && cached == p->st.page_cache &&
	       used + p->free_nr == p->frames_nr &&
	       p->free_nr == p->stack_nr + (p->frames_nr - p->fresh);
}
