/* SPDX-License-Identifier: MIT */
/*
 * fault-uffd.c - the userfaultfd backend.
 *
 * Each mapping is a MAP_SHARED mapping of its object's memfd at the
 * object offset, registered for missing, minor and write-protect faults:
 *
 *   missing  the page is not in the memfd: read it in (cache.c), map it;
 *   minor    the page is in the memfd but not mapped here: map it;
 *   wp       a write to a clean page: mark it dirty, lift the protection.
 *
 * Pages are mapped with UFFDIO_CONTINUE, write-protected while clean, so
 * the first store to a clean page is seen.  Before a page is written back
 * it is write-protected again (cache.c's up__obj_wprotect()), so a
 * store racing the write-back re-dirties it.  A page with no content (past
 * the end of the file, or whose read failed) is poisoned with
 * UFFDIO_POISON, which raises SIGBUS on every access, as the kernel does.
 *
 * Service threads read fault messages and handle each under p->lock; they
 * also run MADV_WILLNEED read-ahead queued by up_pager_advise().  With
 * UP_CONFIG_FAULT_INLINE the userfaultfd queues no messages: it raises
 * SIGBUS in the faulting thread, whose handler (sigbus.c) runs the same
 * serve_fault() there, and nobody ever sleeps on the userfaultfd.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "up-uffd.h"

static size_t pl(const struct up_pager *p)
{
	return p->cfg.page_len;
}

/* Address in r of object offset off (which r must show). */
static uintptr_t addr_of(const struct up_region *r, off_t off)
{
	return r->start + (uintptr_t)(off - r->off);
}

/* The part of object range [a, b) that r shows, as addresses. */
static bool clip(const struct up_region *r, off_t a, off_t b, uintptr_t *as,
		 uintptr_t *ae)
{
	return up__region_span(r, a, b, as, ae);
}

static void wake(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	struct uffdio_range rg = { .start = a, .len = b - a };

	if (p->inline_faults)
		return;		/* no thread waits: they take SIGBUS */
	up__ioctl(p->uffd, UFFDIO_WAKE, &rg);
}

int up__uffd_wprotect(struct up_pager *p, uintptr_t a, uintptr_t b, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = a, .len = b - a },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return up__ioctl(p->uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* What the pager's core asks of the userfaultfd (see up_fault_ops). */
const struct up_fault_ops up__uffd_faults = {
	.wprotect = up__uffd_wprotect,
};

/*
 * Map [a, b) of a region from the memfd.  Pages already mapped (by another
 * thread's fault, or read-ahead) are skipped.  If *woken is non-NULL, the
 * first try also wakes the range, which saves a UFFDIO_WAKE in the common
 * case; *woken says whether it did.
 */
static int map_range(struct up_pager *p, uintptr_t a, uintptr_t b, bool wp,
		     bool *woken)
{
	uint64_t wake_mode = woken ? 0 : UFFDIO_CONTINUE_MODE_DONTWAKE;
	bool single = false;

	while (a < b) {
		struct uffdio_continue c = {
			.range = { .start = a, .len = single ? SYS_PAGE : b - a },
			.mode = wake_mode |
				(wp ? UP_UFFDIO_CONTINUE_MODE_WP : 0),
		};
		int err = up__ioctl(p->uffd, UFFDIO_CONTINUE, &c);

		if (!err && !single) {
			if (woken)
				*woken = !wake_mode;
			return 0;
		}
		wake_mode = UFFDIO_CONTINUE_MODE_DONTWAKE;
		if (c.mapped > 0)
			a += (uintptr_t)c.mapped;
		/* A range that mlock(2) or mprotect(2) split into several
		 * VMAs goes a system page at a time. */
		if (err == -ENOENT && !single)
			single = true;
		else if (err == -EEXIST)
			a += SYS_PAGE;
		else if (err && err != -EAGAIN)
			return err;
	}
	return 0;
}

/*
 * Make every access to the page at addr raise SIGBUS.  A page that was
 * write-protected and then dropped keeps a write-protect marker in its
 * page table entry, and UFFDIO_POISON refuses any entry that is not
 * empty: resolving the protection clears the marker first.
 */
static void poison(struct up_pager *p, uintptr_t addr)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = addr, .len = SYS_PAGE },
		.mode = UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
	};
	struct up_uffdio_poison po = {
		.range = { .start = addr, .len = SYS_PAGE },
	};

	up__ioctl(p->uffd, UFFDIO_WRITEPROTECT, &wp);
	if (up__ioctl(p->uffd, UP_UFFDIO_POISON, &po) == -EEXIST)
		wake(p, addr, addr + SYS_PAGE);
}

/* Map page pg of r's object, up to `valid` bytes of it, into r; see
 * map_range() for woken. */
static int map_page(struct up_pager *p, struct up_region *r, uint64_t pg,
		    size_t valid, uintptr_t *as, uintptr_t *ae, bool *woken)
{
	struct up_obj *o = r->obj;
	off_t off = (off_t)(pg * pl(p));

	if (o->solo)
		return up__solo_map(p, r, pg, valid, as, ae);
	if (!clip(r, off, off + (off_t)SYS_UP(valid), as, ae))
		return 0;
	return map_range(p, *as, *ae, !(o->pflags[pg] & PG_DIRTY), woken);
}

/*
 * A sequential stream through a full cache recycles the frame of a page
 * it has passed (see up__evict_behind): far enough behind that the
 * program is done with it (the read-ahead window plus two pages), and
 * only within this mapping.
 */
static void behind(struct up_pager *p, struct up_region *r, uint64_t pg)
{
	uint64_t d = p->cfg.readahead_nr + 2;

	if (r->advice != MADV_RANDOM && pg >= d &&
	    (off_t)((pg - d) * pl(p)) >= r->off)
		up__evict_behind(p, r->obj, pg - d);
}

/* Read ahead and map up to n pages after pg, stopping at the first page
 * that is already resident or has no content. */
static void read_ahead(struct up_pager *p, struct up_region *r, uint64_t pg,
		      unsigned n)
{
	uint64_t last = up__pgno(p, r->off + (off_t)(r->end - r->start) - 1);
	const struct up_store *s = &r->obj->store;
	uintptr_t as, ae;

	/* A store may read the window at once (store-direct.c). */
	if (n && pg < last && s->ops && s->ops->readahead)
		s->ops->readahead(s->ctx, (off_t)((pg + 1) * pl(p)),
				  (size_t)((last - pg < n ? last - pg : n) *
					   pl(p)));
	while (n-- && ++pg <= last) {
		int valid;

		if (r->obj->pflags[pg] & (PG_RESIDENT | PG_BAD))
			break;
		behind(p, r, pg);
		valid = up__page_fill_ahead(p, r->obj, pg, r);
		if (valid <= 0)
			break;
		if (r->obj->pc) {
			r->next_pgno = pg + 1;
			if (up__solo_show(p, r, pg, 1, pg, 1, 0, &as, &ae)) {
				up__page_drop(p, r->obj, pg);
				break;
			}
			continue;
		}
		/* A writable solo mapping maps a page when it is touched:
		 * moved in if written, copied if read (see solo.c). */
		if (r->obj->solo && (r->prot & PROT_WRITE)) {
			r->next_pgno = pg + 1;
			continue;
		}
		r->next_pgno = pg + 1;
		map_page(p, r, pg, (size_t)valid, &as, &ae, NULL);
	}
}

static unsigned ra_pages(struct up_pager *p, struct up_region *r, uint64_t pg)
{
	unsigned n = p->cfg.readahead_nr;

	if (r->advice == MADV_RANDOM)
		return 0;
	if (r->advice != MADV_SEQUENTIAL && pg != r->next_pgno)
		return 0;
	/* Leave room for the pages the application is using. */
	if (n > p->frames_nr / 2)
		n = (unsigned)(p->frames_nr / 2);
	return n;
}

/* A block the kernel maps with one entry, where the page cache holds it
 * in one folio (a PMD on x86-64). */
#define BLOCK_LEN (2ul << 20)
/* The most a page-cache object's read-ahead window grows to. */
#define WINDOW_MAX (32ul << 20)

/* Whether r lies so that the kernel can map its 2 MiB blocks whole: file
 * offsets and addresses agree modulo 2 MiB. */
static bool blocks_fit(const struct up_region *r)
{
	return ((r->start - (uintptr_t)r->off) & (BLOCK_LEN - 1)) == 0;
}

/*
 * Make pages [a, b) of r's page-cache object resident, pg (which the fault
 * made resident) aside, if none of the others is and, if cached, the page
 * cache holds them all: nothing is read (what the page cache lacks the
 * kernel reads when it is touched).  False, and nothing changed, if not.
 */
static bool fill_cached(struct up_pager *p, struct up_region *r, uint64_t pg,
			uint64_t a, uint64_t b, bool cached)
{
	struct up_obj *o = r->obj;
	uint64_t i;

	for (i = a; i < b; i++)
		if (i != pg && (o->pflags[i] & (PG_RESIDENT | PG_BAD |
						PG_INSWAP)))
			return false;
	if (cached && (o->fd < 0 ||
		       !up__cached(o->fd, (off_t)(a * pl(p)),
				   (off_t)((b - a) * pl(p)))))
		return false;
	for (i = a; i < b; i++) {
		if (i == pg)
			continue;
		if (up__page_fill_ahead(p, o, i, r) <= 0) {
			while (i-- > a)
				if (i != pg)
					up__page_drop(p, o, i);
			return false;
		}
	}
	return true;
}

/*
 * A fault on page pg of a page-cache object that is not part of a stream:
 * if the 2 MiB block around it lies in r, where r lies so that the kernel
 * can map it with one entry, no page of it is resident, and all of it is
 * in the page cache already, the whole block is made resident, to be
 * shown in one mapping, as the kernel's own fault maps a whole folio
 * (it costs no read, and no memory the page cache does not hold anyway),
 * if the budget has room for it without evicting anything.  A pager
 * configured with no read-ahead reads only what faults.  Returns how many
 * pages from *first to show: the block's, or pg's alone.
 */
static unsigned pc_block(struct up_pager *p, struct up_region *r, uint64_t pg,
			 uint64_t *first)
{
	uint64_t blk = BLOCK_LEN / pl(p), b0 = pg / (blk ? blk : 1) * blk;
	off_t end = r->off + (off_t)(r->end - r->start);
	struct up_obj *o = r->obj;

	*first = pg;
	if (!p->cfg.readahead_nr || blk <= 1 || blk > p->frames_nr / 8 ||
	    p->free_nr < blk || !blocks_fit(r) ||
	    (off_t)(b0 * pl(p)) < r->off ||
	    (off_t)((b0 + blk) * pl(p)) > end ||
	    (off_t)((b0 + blk) * pl(p)) > up__obj_valid_end(p, o, false))
		return 1;
	if (!fill_cached(p, r, pg, b0, b0 + blk, true))
		return 1;
	*first = b0;
	return (unsigned)blk;
}

/* The pages [*a, *b) of r's object that r maps, within the file, if r
 * has not been looked at for showing whole yet and half the free budget
 * holds them. */
static bool whole_range(struct up_pager *p, struct up_region *r,
			uint64_t *a, uint64_t *b)
{
	off_t end = r->off + (off_t)(r->end - r->start);
	off_t valid = up__obj_valid_end(p, r->obj, false);

	if (r->whole_tried)
		return false;
	end = end < valid ? end : valid;
	*a = up__pgno(p, r->off);
	*b = end > r->off ? up__pgno(p, end - 1) + 1 : *a;
	return p->cfg.readahead_nr && *b - *a >= 2 &&
	       *b - *a <= p->free_nr / 2 && *b - *a <= UINT_MAX;
}

/*
 * Page pg of r, a mapping of a page-cache object, is resident (and
 * pinned): if no other page of the part of the file that r maps is, and
 * half the free budget holds it, all of it is made resident and shown in
 * one mapping, [*as, *ae).  It costs no read: from then on the mapping is
 * the kernel's mapping of the file, and every access is the kernel's own
 * fault, as fast as with its mmap(2), reading what the page cache lacks
 * (the whole of a file that is cached, or most of it, is the usual case)
 * with the read-around of the mapping's advice.  Returns how many pages
 * were shown from *first, or 0: done once per mapping.
 */
static unsigned pc_whole(struct up_pager *p, struct up_region *r,
			 uint64_t pg, uintptr_t store, uint64_t *first,
			 uintptr_t *as, uintptr_t *ae)
{
	uint64_t a, b, i;
	bool ok = whole_range(p, r, &a, &b);

	r->whole_tried = true;
	if (!ok || pg < a || pg >= b || !fill_cached(p, r, pg, a, b, false))
		return 0;
	if (up__solo_show(p, r, a, (unsigned)(b - a), pg, 0, store, as, ae)) {
		for (i = a; i < b; i++)
			if (i != pg)
				up__page_drop(p, r->obj, i);
		return 0;
	}
	if (r->advice != MADV_NORMAL)
		up__madvise((void *)*as, *ae - *as, r->advice);
	*first = a;
	return (unsigned)(b - a);
}

/*
 * A new mapping of a page-cache object, its only one, is shown whole at
 * once where its first fault would show it whole (pc_whole()): the
 * kernel's own mapping of the file from the start, as with its mmap(2),
 * with no fault of the pager's to take first.
 */
static void show_new(struct up_pager *p, struct up_region *r)
{
	struct up_obj *o = r->obj;
	uint64_t a, b, first;
	uintptr_t as, ae;

	if (!o->pc || o->regions != r || r->obj_next ||
	    !(r->prot & PROT_READ) || !whole_range(p, r, &a, &b) ||
	    (o->pflags[a] & PG_RESIDENT))
		return;
	if (up__page_fill(p, o, a, r, -1) <= 0 ||
	    !pc_whole(p, r, a, 0, &first, &as, &ae))
		up__page_drop(p, o, a);
	up__frames_unpin(p);
}

/*
 * A fault on page pg of a page-cache object, which is to be shown in r:
 * on a sequential stream, the pages of the read-ahead window after it are
 * made resident too, out to the end of the 2 MiB block they reach where
 * the mapping lies so that the kernel can map whole blocks (as it maps a
 * file with 2 MiB folios itself), to be shown in one mapping.  The window
 * starts at the configured read-ahead (see ra_pages()) and doubles at
 * each fault of the stream, as the kernel's does, up to WINDOW_MAX or a
 * quarter of the budget.  Returns how many pages, pg included, to show.
 */
static unsigned pc_run(struct up_pager *p, struct up_region *r, uint64_t pg)
{
	uint64_t last = up__pgno(p, r->off + (off_t)(r->end - r->start) - 1);
	uint64_t blk = BLOCK_LEN / pl(p), max = WINDOW_MAX / pl(p), end, i;
	unsigned n = ra_pages(p, r, pg);

	if (!n) {
		r->ra_win = 0;
		return 1;
	}
	if (max > p->frames_nr / 4)
		max = p->frames_nr / 4;
	if (max < n)
		max = n;
	n = r->ra_win ? (unsigned)(r->ra_win * 2ull < max ? r->ra_win * 2ull
							  : max)
		      : n;
	r->ra_win = n;
	end = pg + 1 + n;
	if (blk > 1 && blk <= p->frames_nr / 2 && blocks_fit(r))
		end = (end + blk - 1) / blk * blk;
	for (i = pg + 1; i < end && i <= last; i++) {
		if (r->obj->pflags[i] & (PG_RESIDENT | PG_BAD))
			break;
		behind(p, r, i);
		if (up__page_fill_ahead(p, r->obj, i, r) <= 0)
			break;
	}
	return (unsigned)(i - pg);
}

/*
 * Show page pg of r's page-cache object (resident, pinned) in r, with the
 * read-ahead run or the 2 MiB block around it where that is resident too
 * (each page on its own, pg first, if they cannot be shown together).
 * Returns how many pages were shown from *first (pg, unless a block), or 0
 * if pg could not be.
 */
static unsigned pc_show(struct up_pager *p, struct up_region *r, uint64_t pg,
			uintptr_t store, bool wp, bool was, uint64_t *first,
			uintptr_t *as, uintptr_t *ae)
{
	unsigned n = wp ? 1 : pc_run(p, r, pg), in, i;

	if (n == 1 && !wp && !was)
		n = pc_block(p, r, pg, first);
	/* A store reads nothing in: the kernel's own fault maps the page it
	 * stores to and no other, as it does in its mmap(2)'s mapping (a
	 * page mapped or not changes what write(2) from it sees when the
	 * file grows past bytes stored beyond its end). */
	in = store ? 0 : (unsigned)(*first + n - pg);
	if (n > 1 &&
	    up__solo_show(p, r, *first, n, pg, in, store, as, ae)) {
		for (i = 0; i < n; i++)
			if (*first + i != pg)
				up__page_drop(p, r->obj, *first + i);
		n = 1;
		*first = pg;
	}
	if (n == 1 &&
	    up__solo_show(p, r, pg, 1, pg, in ? 1 : 0, store, as, ae))
		return 0;
	return n;
}

/*
 * A fault on a shared object (shared.c): the segment stays locked from
 * the fill until the page is mapped.  A page being written is mapped
 * writable and its protection lifted (this process becomes one of its
 * writers); any other is mapped write-protected, even if another process
 * dirtied it, so that this process's first store is seen.
 */
static void serve_seg_fault(struct up_pager *p, struct up_region *r,
			    uintptr_t addr, uint64_t pg, bool write)
{
	off_t off = r->off + (off_t)(addr - r->start);
	off_t ps = (off_t)(pg * pl(p));
	uintptr_t as = addr, ae = addr + SYS_PAGE, ras, rae;
	struct up_obj *o = r->obj;
	uint64_t last;
	bool wp = true;
	unsigned n;
	int valid;

	valid = up__seg_begin(p, r, pg, write, &wp);
	if (valid < 0 || off - ps >= (off_t)SYS_UP(valid)) {
		if (valid < 0 || off < r->file_end)
			r->err = -EIO;
		up__seg_done(o);
		poison(p, addr);
		return;
	}
	clip(r, ps, ps + (off_t)SYS_UP(valid), &as, &ae);
	map_range(p, as, ae, wp, NULL);
	if (!wp)
		up__uffd_wprotect(p, as, ae, false);
	n = write ? 0 : ra_pages(p, r, pg);
	r->next_pgno = pg + 1;
	last = up__pgno(p, r->off + (off_t)(r->end - r->start) - 1);
	while (n-- && pg < last) {
		int v = up__seg_ahead(p, o, ++pg, r);

		if (v <= 0)
			break;
		if (clip(r, (off_t)(pg * pl(p)),
			 (off_t)(pg * pl(p)) + (off_t)SYS_UP(v), &ras, &rae))
			map_range(p, ras, rae, true, NULL);
		r->next_pgno = pg + 1;
	}
	up__seg_done(o);
	wake(p, as, ae);
}

/*
 * Whether a load at addr gives r's kernel mapping an anon_vma.  In private
 * anonymous memory a load maps the zero page, and needs none on most
 * kernels (up__load_anon() asks this one), unless a huge page may serve
 * it (do_huge_pmd_anonymous_page() prepares one first): huge pages on for
 * the mapping, and the aligned 2 MiB around addr within it.  In a file's,
 * a load never does.
 */
static bool load_gives_anon(const struct up_region *r, uintptr_t addr)
{
	uintptr_t h = addr & ~(BLOCK_LEN - 1);
	int thp = up__thp_anon();

	if (!(r->flags & MAP_ANONYMOUS) && !r->zero_file)
		return false;
	if (up__load_anon())
		return true;
	if (!thp || (r->vmflags & VF_NOHUGE) ||
	    (thp == 1 && !(r->vmflags & VF_HUGE)))
		return false;
	return h >= r->start && h + BLOCK_LEN <= r->end;
}

/* Inline faults: the last fault this thread took on a page mapped from
 * the page cache, that page's last use, and the mapping it was in (a new
 * mapping at the same address, of a page still resident for another one,
 * is another fault; see serve_fault()). */
static __thread uintptr_t borrowed_at
	__attribute__((tls_model("initial-exec")));
static __thread uint64_t borrowed_use
	__attribute__((tls_model("initial-exec")));
static __thread uint64_t borrowed_serial
	__attribute__((tls_model("initial-exec")));

/* Inline faults: the last fault this thread took in a region that the
 * kernel maps now (see serve_fault()). */
static __thread uintptr_t kernel_at
	__attribute__((tls_model("initial-exec")));

/* What serve_fault() did: the access may run again, or no mapping holds
 * the address, or it must raise SIGBUS (the page was poisoned). */
enum { FAULT_SIGBUS = -1, FAULT_NONE = 0, FAULT_SERVED = 1 };

/*
 * Serve the fault of a write (or read) at addr, a write-protect fault if
 * wp: from a service thread, or in the faulting thread itself (inline
 * faults), which is why nothing here allocates memory or uses stdio.
 * Also MADV_POPULATE_*, as faults taken on purpose.  p->lock held.
 */
static int serve_locked(struct up_pager *p, uintptr_t addr, bool write,
			bool wp)
{
	uint64_t t0 = up__now_ns(), pg;
	uintptr_t as = addr, ae = addr + SYS_PAGE;
	int ret = FAULT_SERVED;
	bool woken = false, ahead = !wp, was;
	struct up_region *r;
	off_t off;
	int valid;

	r = up__region_find(p, addr);
	if (!r || !r->obj) {
		/* Unmapped while the fault was queued, or handed to the kernel
		 * (fork): let it retry.  Inline, a fault raised again at the
		 * same address is the kernel's own (past the end of a file),
		 * and not ours to serve. */
		wake(p, addr, addr + SYS_PAGE);
		ret = FAULT_NONE;
		if (r && kernel_at != addr) {
			kernel_at = addr;
			ret = FAULT_SERVED;
		}
		goto out;
	}
	kernel_at = 0;
	/* The kernel's private mapping has an anon_vma from its first store
	 * on, but not from a store it refuses (a solo mapping's memory is
	 * writable whatever its protection: such a store comes here, and
	 * raises SIGSEGV when it runs again), nor, mostly, from a load (see
	 * load_gives_anon()). */
	if (!r->anon && !(r->flags & MAP_SHARED) &&
	    (write || wp ? (r->prot & PROT_WRITE) != 0
			 : load_gives_anon(r, addr)))
		up__region_anon(p, r);
	if (write)
		UP_STAT(p, r, faults_write, 1);
	else
		UP_STAT(p, r, faults_read, 1);
	off = r->off + (off_t)(addr - r->start);
	pg = up__pgno(p, off);
	if (r->obj->seg) {
		serve_seg_fault(p, r, addr, pg, write || wp);
		up__hist_add(p, up__now_ns() - t0);
		goto out;
	}
	if (r->obj->solo && (write || wp) && !(r->prot & PROT_WRITE) &&
	    !up__solo_borrows(p, r->obj)) {
		/* A store to a read-only solo mapping: give it its real
		 * protection, and the retried store faults as it should.
		 * (Where the file's pages are mapped, their mapping is
		 * read-only: the kernel refuses the store itself.) */
		up__obj_unsolo(p, r->obj);
		wake(p, addr, addr + SYS_PAGE);
		goto out;
	}
	if (p->inline_faults && r->obj->solo &&
	    up__solo_borrowed(p, r->obj, pg)) {
		/* The file's own pages are mapped there now, outside the
		 * userfaultfd.  Raised before another thread mapped them,
		 * the access may run again; raised again there, it is the
		 * kernel's (past the end of the file, or it could not be
		 * read), and stands, with no error of the pager's, as with
		 * the kernel's mmap.  (A page of a page-cache object may
		 * not show in this mapping yet: it is shown below, and the
		 * use noted there.) */
		uint64_t use = p->frames[r->obj->frame[pg] - 1].tick;
		bool again = borrowed_at == addr && borrowed_use == use &&
			     borrowed_serial == r->serial;

		borrowed_at = 0;
		if (again) {
			ret = FAULT_SIGBUS;
			goto out;
		}
		if (!r->obj->pc) {
			borrowed_at = addr;
			borrowed_use = use;
			borrowed_serial = r->serial;
			goto out;
		}
	}
	if (r->obj->pflags[pg] & PG_BAD) {
		/* Inline: a poisoned page's SIGBUS comes back here. */
		poison(p, addr);
		ret = FAULT_SIGBUS;
		goto out;
	}
	if (pg == r->next_pgno)
		behind(p, r, pg);
	was = r->obj->pflags[pg] & PG_RESIDENT;
	valid = up__page_fill(p, r->obj, pg, r, off);
	if (valid >= 0 && r->obj->pc) {
		/* The file is mapped there now (unless another thread's
		 * fault did it, or this is populating it again): the access
		 * runs again in the kernel's mapping, which raises SIGBUS
		 * itself past the end of the file. */
		uint64_t first = pg;
		unsigned n = 0;

		if (!(was && up__solo_shown(p, r, pg))) {
			/* Read in (and mapped) from pg on, but of the whole
			 * mapping only pg: the rest is the kernel's to map
			 * as the program touches it. */
			n = wp || was ? 0
				      : pc_whole(p, r, pg, write ? addr : 0,
						 &first, &as, &ae);
			if (!n && !(n = pc_show(p, r, pg,
						write || wp ? addr : 0, wp, was,
						&first, &as, &ae))) {
				/* SIGBUS, with no error for msync to report,
				 * as with the kernel (the poison marks the
				 * page until it is unmapped; inline, it is
				 * looked at again). */
				up__page_drop(p, r->obj, pg);
				poison(p, addr);
				ret = FAULT_SIGBUS;
				goto out;
			}
		}
		if (p->inline_faults) {
			borrowed_at = addr;
			borrowed_use = p->frames[r->obj->frame[pg] - 1].tick;
			borrowed_serial = r->serial;
		}
		if (n) {
			/* Read ahead already, in the run shown. */
			r->next_pgno = first + n;
			ahead = false;
		}
		goto served;
	}
	if (valid < 0 || off - (off_t)(pg * pl(p)) >= (off_t)SYS_UP(valid)) {
		/* Unreadable, or beyond the end of the file: SIGBUS.  Data
		 * that was there when the file was mapped and is gone now
		 * (the file was truncated) is an I/O error too.  Inline, a
		 * page that failed stays failed: its next fault must not read
		 * it again and map it over the poison. */
		if (valid < 0 || off < r->file_end)
			r->err = -EIO;
		if (valid < 0 && p->inline_faults)
			r->obj->pflags[pg] |= PG_BAD;
		poison(p, addr);
		ret = FAULT_SIGBUS;
		goto out;
	}
	if (write)
		up__page_dirty(p, r->obj, pg);
	if (wp) {
		clip(r, (off_t)(pg * pl(p)), (off_t)((pg + 1) * pl(p)), &as,
		     &ae);
		/* Lifting the protection wakes the range. */
		woken = up__uffd_wprotect(p, as, ae, false) == 0;
	} else if (map_page(p, r, pg, (size_t)valid, &as, &ae, &woken) ||
		   addr < as || addr >= ae) {
		/* Could not be shown (a solo page whose content ends before
		 * addr, or a failed move): SIGBUS rather than a loop. */
		r->err = -EIO;
		poison(p, addr);
		ret = FAULT_SIGBUS;
		goto out;
	} else if (was && r->obj->solo) {
		/* Moved in before: unless it is there now, lost. */
		up__solo_lost(p, r, pg, addr);
	}
served:
	if (!woken)
		wake(p, as, ae);
	if (ahead) {
		unsigned n = ra_pages(p, r, pg);

		r->next_pgno = pg + 1;
		if (n)
			read_ahead(p, r, pg, n);
	}
	up__hist_add(p, up__now_ns() - t0);
out:
	return ret;
}

static int serve_fault(struct up_pager *p, uintptr_t addr, bool write, bool wp)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	ret = serve_locked(p, addr, write, wp);
	up__frames_unpin(p);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/*
 * A fault taken in the faulting thread (sigbus.c).  Returns 1 if the
 * access may run again, 0 if no mapping of p holds addr, -1 if it must
 * raise SIGBUS.  The hull of p's mappings passes over other pagers'
 * addresses without taking p's lock.
 */
static int uffd_fault(struct up_pager *p, uintptr_t addr, bool write, bool wp)
{
	if (addr < atomic_load_explicit(&p->lo, memory_order_acquire) ||
	    addr >= atomic_load_explicit(&p->hi, memory_order_acquire))
		return FAULT_NONE;
	return serve_fault(p, addr & ~(SYS_PAGE - 1), write, wp);
}

/* Run one piece of queued MADV_WILLNEED work. */
static void serve_work(struct up_pager *p)
{
	struct up_work *w;
	unsigned i;

	pthread_mutex_lock(&p->lock);
	w = p->work;
	for (i = 0; w && i < 16 && w->pgno < w->end; i++, w->pgno++) {
		off_t off = (off_t)(w->pgno * pl(p));
		struct up_region *r = up__obj_region(w->obj, off);
		bool was = w->obj->pflags[w->pgno] & PG_RESIDENT;
		int valid;

		if (off >= up__obj_valid_end(p, w->obj, false))
			break;
		valid = up__page_fill_ahead(p, w->obj, w->pgno, r);
		if (valid == -EBUSY)
			break;
		/* A page-cache object's page is read when it is shown. */
		for (r = w->obj->pc && valid > 0 ? w->obj->regions : NULL; r;
		     r = r->obj_next) {
			uintptr_t as, ae;

			if (!clip(r, off, off + (off_t)pl(p), &as, &ae) ||
			    (was && up__solo_shown(p, r, w->pgno)))
				continue;
			if (up__solo_show(p, r, w->pgno, 1, w->pgno, 1, 0,
					  &as, &ae))
				up__page_drop(p, w->obj, w->pgno);
			if (!(w->obj->pflags[w->pgno] & PG_RESIDENT))
				break;
		}
	}
	if (w && (w->pgno >= w->end || i < 16)) {
		p->work = w->next;
		free(w);
	}
	up__frames_unpin(p);
	pthread_mutex_unlock(&p->lock);
}

static bool work_pending(struct up_pager *p)
{
	bool any;

	pthread_mutex_lock(&p->lock);
	any = p->work != NULL;
	pthread_mutex_unlock(&p->lock);
	return any;
}

/* Wake the service threads (a counter that only grows: an eventfd never
 * fails to count, and a full one is as good as a new wake-up). */
static void kick(struct up_pager *p)
{
	uint64_t v = 1;

	if (write(p->event_fd, &v, sizeof(v)) < 0)
		return;
}

/* Serve the faults queued now; returns how many there were. */
static int serve_queued(struct up_pager *p)
{
	struct uffd_msg msgs[16];
	ssize_t n = read(p->uffd, msgs, sizeof(msgs));
	int i, nr = n > 0 ? (int)(n / (ssize_t)sizeof(msgs[0])) : 0;

	for (i = 0; i < nr; i++)
		if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
			serve_fault(p, (uintptr_t)msgs[i].arg.pagefault.address &
					       ~(SYS_PAGE - 1),
				    msgs[i].arg.pagefault.flags &
					    UFFD_PAGEFAULT_FLAG_WRITE,
				    msgs[i].arg.pagefault.flags &
					    UFFD_PAGEFAULT_FLAG_WP);
	return nr;
}

/*
 * After serving a fault, look for the next one for a while before going to
 * sleep: a program taking faults takes them back to back, and a sleeping
 * service thread on another CPU costs a cross-CPU wake-up per fault (tens
 * of microseconds on this kind of VM).  Yielding lets a faulting thread on
 * the same CPU run.
 */
#define SPIN_NS 50000

static void spin(struct up_pager *p)
{
	uint64_t until = up__now_ns() + SPIN_NS;

	while (!atomic_load(&p->stop) && up__now_ns() < until) {
		sched_yield();
		if (serve_queued(p) > 0)
			until = up__now_ns() + SPIN_NS;
	}
}

/* How often service threads look for requests from other processes. */
#define SEG_POLL_MS 5
/* How often they look for lent pages in memory again (solo.c): at once
 * while pages are still to leave, soon after a change, less often, up to
 * LENT_POLL_MAX, while nothing changes. */
#define LENT_POLL_MIN 1
#define LENT_POLL_MAX 64

static void *service(void *arg)
{
	struct up_pager *p = arg;
	uint64_t looked = 0, scanned = 0;
	int lent_ms = LENT_POLL_MIN;

	while (!atomic_load(&p->stop)) {
		struct pollfd pfd[2] = {
			{ .fd = p->uffd, .events = POLLIN },
			{ .fd = p->event_fd, .events = POLLIN },
		};
		bool busy = work_pending(p);
		/* Other processes ask for write access back through shared
		 * memory: look every few milliseconds while attached. */
		bool segs = atomic_load(&p->segs_nr);
		bool lent = atomic_load(&p->lent_nr);
		int timeout = busy ? 0 : segs ? SEG_POLL_MS : -1;

		if (lent && (timeout < 0 || timeout > lent_ms))
			timeout = lent_ms;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (segs && up__now_ns() - looked >= SEG_POLL_MS * 1000000ull) {
			looked = up__now_ns();
			pthread_mutex_lock(&p->lock);
			up__seg_service(p);
			pthread_mutex_unlock(&p->lock);
		}
		if (lent &&
		    up__now_ns() - scanned >= (uint64_t)lent_ms * 1000000ull) {
			int found;

			pthread_mutex_lock(&p->lock);
			found = up__solo_lent_scan(p);
			pthread_mutex_unlock(&p->lock);
			scanned = up__now_ns();
			/* (2: more to do, at once, the lock let go.) */
			lent_ms = found == 2		  ? 0
				  : found || !lent_ms	  ? LENT_POLL_MIN
				  : lent_ms * 2 < LENT_POLL_MAX ? lent_ms * 2
								: LENT_POLL_MAX;
		}
		if (atomic_load(&p->stop))
			break;
		if (pfd[1].revents & POLLIN) {
			uint64_t v;

			/* Only a request for work is read; stop stays set.
			 * (Another thread may have read it first: EAGAIN.) */
			if (read(p->event_fd, &v, sizeof(v)) < 0)
				v = 0;
		}
		if (serve_queued(p) > 0)
			spin(p);
		if (busy || work_pending(p))
			serve_work(p);
	}
	return NULL;
}

/* ---- backend operations ------------------------------------------- */

/*
 * Service threads run on stacks of our own.  A child after fork() makes
 * new threads while the parent's stacks are still in its memory: with
 * glibc's cached stacks a new thread could get the id of one of the
 * parent's, which thread sanitizers take for a thread that still exists.
 */
#define STACK_LEN (8ul << 20)

static void uffd_close(struct up_pager *p)
{
	unsigned i;

	if (p->inline_faults)
		up__sigbus_del(p);
	atomic_store(&p->stop, true);
	if (p->event_fd >= 0)
		kick(p);
	for (i = 0; i < p->threads_nr; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->threads_nr = 0;
	if (p->stacks)
		up__munmap(p->stacks, p->cfg.threads_nr * STACK_LEN);
	p->stacks = NULL;
	if (p->event_fd >= 0)
		up__close(p->event_fd);
	p->event_fd = -1;
	up__pool_fini(p);
	if (p->uffd >= 0)
		up__close(p->uffd);
	p->uffd = -1;
	free(p->handed);
	free(p->fork_runs);
	p->handed = NULL;
	p->handed_nr = 0;
}

static int uffd_open(struct up_pager *p)
{
	unsigned i;
	int err = 0;

	p->event_fd = up__eventfd(EFD_NONBLOCK);
	if (p->event_fd < 0)
		return p->event_fd;
	err = up__pool_init(p);
	if (err) {
		uffd_close(p);
		return err;
	}
	p->threads = calloc(p->cfg.threads_nr, sizeof(*p->threads));
	if (!p->threads) {
		uffd_close(p);
		return -ENOMEM;
	}
	err = up__mmap(NULL, p->cfg.threads_nr * STACK_LEN,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		       -1, 0, &p->stacks);
	if (err) {
		uffd_close(p);
		return err;
	}
	for (i = 0; i < p->cfg.threads_nr && !err; i++) {
		err = up__thread(&p->threads[i],
				 (char *)p->stacks + i * STACK_LEN, STACK_LEN,
				 service, p);
		if (!err)
			p->threads_nr++;
	}
	if (!err && p->inline_faults)
		err = up__sigbus_add(p, SIGBUS);
	if (err)
		uffd_close(p);
	return err;
}

/* Register a mapping of r's object at r->start for every kind of fault. */
static int region_register(struct up_pager *p, struct up_region *r)
{
	struct uffdio_register reg = {
		.range = { .start = r->start, .len = r->end - r->start },
		.mode = UFFDIO_REGISTER_MODE_MISSING |
			UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP,
	};
	int err = up__ioctl(p->uffd, UFFDIO_REGISTER, &reg);

	return err ? err
		   : up__madvise((void *)r->start, r->end - r->start,
				 MADV_DONTFORK);
}

/*
 * The shared object for a MAP_SHARED mapping of a sharing pager: the
 * file's segment, or for anonymous memory a segment of its own whose store
 * is an unnamed file of the mapping's length (shared through fork only).
 */
static int shared_obj(struct up_pager *p, struct up_region *r, int fd,
		      struct up_obj **o)
{
	const char *dir = p->cfg.swap_dir ? p->cfg.swap_dir : "/var/tmp";
	struct stat st;
	int err, tfd = -1;

	if (r->flags & MAP_ANONYMOUS) {
		tfd = up__open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC,
			       0600);
		if (tfd < 0)
			return tfd;
		fd = tfd;
		err = up__ftruncate(fd, (off_t)(r->end - r->start));
		if (err)
			goto out;
	}
	err = up__fstat(fd, &st);
	if (!err)
		err = up__seg_obj(p, fd, &st, tfd < 0, o);
	if (!err && !(*o)->regions)
		atomic_fetch_add(&p->segs_nr, 1);
out:
	if (tfd >= 0)
		up__close(tfd);
	return err;
}

/* Widen the hull of p's mappings to r (only ever widened: a pager's
 * inline faults look at it without the lock). */
static void hull_add(struct up_pager *p, const struct up_region *r)
{
	uintptr_t lo = atomic_load(&p->lo), hi = atomic_load(&p->hi);

	if (!lo || r->start < lo)
		atomic_store_explicit(&p->lo, r->start, memory_order_release);
	if (r->end > hi)
		atomic_store_explicit(&p->hi, r->end, memory_order_release);
}

/* Whether fork() handed the file's MAP_SHARED mappings to the kernel. */
static bool handed(const struct up_pager *p, const struct stat *st)
{
	size_t i;

	for (i = 0; i < p->handed_nr; i++)
		if (p->handed[i].dev == st->st_dev &&
		    p->handed[i].ino == st->st_ino)
			return true;
	return false;
}

/* Region r, which the kernel maps, is going: once no other mapping of its
 * file is the kernel's, the pager may map the file again (and a new file
 * may get its inode number). */
static void handed_drop(struct up_pager *p, const struct up_region *r)
{
	size_t i;

	for (i = 0; i < p->regions_nr; i++)
		if (p->regions[i] != r &&
		    p->regions[i]->handed.dev == r->handed.dev &&
		    p->regions[i]->handed.ino == r->handed.ino)
			return;
	for (i = 0; i < p->handed_nr; i++)
		if (p->handed[i].dev == r->handed.dev &&
		    p->handed[i].ino == r->handed.ino) {
			p->handed[i] = p->handed[--p->handed_nr];
			return;
		}
}

static int uffd_map(struct up_pager *p, struct up_region *r, int fd,
		    void *hint, int mflags)
{
	size_t len = r->end - r->start;
	struct up_obj *o = r->obj;	/* another mapping of it (mremap) */
	struct stat st;
	void *addr;
	off_t moff;
	int err;

	r->obj = NULL;
	/* In a child after fork(), the first mapping starts the service. */
	if (!p->threads_nr && p->event_fd < 0) {
		err = uffd_open(p);
		if (err)
			return err;
	}
	if (o && o->seg) {
		up__obj_attach(o, r);
		if (r->off + (off_t)len > (off_t)o->view_len) {
			up__obj_detach(p, o, r);
			return -ENOMEM;
		}
		moff = up__seg_off(o, r->off);
		goto map;
	}
	if (o)
		goto have;
	/* A sharing pager leaves private memory to the kernel, whose fork()
	 * copies it on write. */
	if ((p->cfg.flags & UP_CONFIG_SHARED) && !(r->flags & MAP_SHARED))
		return up__kernel_ops.map(p, r, fd, hint, mflags);
	if (p->cfg.flags & UP_CONFIG_SHARED) {
		err = shared_obj(p, r, fd, &o);
		if (err)
			return err;
		up__obj_attach(o, r);
		if (r->off + (off_t)len > (off_t)o->view_len) {
			up__obj_detach(p, o, r);
			return -EFBIG;
		}
		moff = up__seg_off(o, r->off);
		goto map;
	}
	if (r->flags & MAP_ANONYMOUS) {
		err = up__obj_anon(p, &o);
		if (!err && (r->flags & MAP_SHARED))
			o->shm_len = (off_t)len;
	} else {
		err = up__fstat(fd, &st);
		if (!err && (r->flags & MAP_SHARED) && handed(p, &st)) {
			r->handed.dev = st.st_dev;
			r->handed.ino = st.st_ino;
			return up__kernel_ops.map(p, r, fd, hint, mflags);
		}
		if (!err)
			err = up__obj_file(p, fd, &st, r->flags & MAP_SHARED,
					   &o);
	}
	if (err)
		return err;
have:
	/* A MAP_SHARED file shows the page cache, in every mapping of it. */
	if (!o->regions && !o->pc && up__solo_pc(p, o, r))
		o->pc = o->solo = true;
	/* A second mapping of another solo object needs its pages shared. */
	err = up__obj_unsolo(p, o);
	if (!err && !o->regions && up__solo_eligible(p, r))
		o->solo = true;
	up__obj_attach(o, r);
	if (!err)
		err = up__obj_cover(p, o, r->off + (off_t)len);
	if (!err && o->solo) {
		err = up__solo_region(p, r, hint, mflags);
		if (err) {
			up__obj_detach(p, o, r);
			return err;
		}
		goto done;
	}
	if (err) {
		up__obj_detach(p, o, r);
		return err;
	}
	moff = r->off;
map:
	err = up__mmap_unlocked(hint, len, r->prot, MAP_SHARED | mflags,
				o->memfd, moff, &addr);
	if (err) {
		up__obj_detach(p, o, r);
		return err;
	}
	r->start = (uintptr_t)addr;
	r->end = r->start + len;
	err = region_register(p, r);
	if (err) {
		up__munmap(addr, len);
		up__obj_detach(p, o, r);
		return err;
	}
done:
	r->next_pgno = up__pgno(p, r->off);
	r->file_end = up__obj_valid_end(p, o, false);
	hull_add(p, r);
	if (o->solo)
		show_new(p, r);
	return 0;
}

/* mremap(2): the kernel moves each of the region's mappings (a file's
 * page-cache runs, the registered memory between them) with its pages;
 * registered ones through the mover, as the kernel waits for the remap
 * event to be read.  Moved back if one cannot be. */
static int uffd_move(struct up_pager *p, struct up_region *r, uintptr_t to)
{
	struct up_run *runs;
	size_t nr, i;
	int err;

	err = up__maps_take(r->start, r->end - r->start, &runs, &nr);
	for (i = 0; !err && i < nr; i++)
		err = up__move_mapping(p, (void *)runs[i].a, runs[i].len,
				       to + (runs[i].a - r->start));
	for (i = err ? i - 1 : 0; i--;)
		up__move_mapping(p, (void *)(to + (runs[i].a - r->start)),
				 runs[i].len, runs[i].a);
	free(runs);
	if (!err) {
		struct up_region at = { .start = to,
					.end = to + (r->end - r->start) };

		hull_add(p, &at);
	}
	return err;
}

/* Object offsets of [a, b) in r. */
static void obj_range(const struct up_region *r, uintptr_t a, uintptr_t b,
		      off_t *oa, off_t *ob)
{
	*oa = r->off + (off_t)(a - r->start);
	*ob = r->off + (off_t)(b - r->start);
}

/* First and end pager page wholly inside object range [oa, ob). */
static void whole_pages(struct up_pager *p, off_t oa, off_t ob, uint64_t *pa,
			uint64_t *pb)
{
	*pa = ((uint64_t)oa + pl(p) - 1) / pl(p);
	*pb = (uint64_t)ob / pl(p);
}

/* The error to report for r: its own (sticky), or its object's write-back
 * error, which is reported once. */
static int take_err(struct up_region *r, int err)
{
	if (r->obj->err && !err)
		err = r->obj->err;
	r->obj->err = 0;
	return r->err ? r->err : err;
}

static int uffd_unmap(struct up_pager *p, struct up_region *r, uintptr_t a,
		      uintptr_t b)
{
	struct up_obj *o = r->obj;
	uint64_t pa, pb, pg;
	off_t oa, ob;
	int err;

	if (!o) {
		if (r->handed.ino && a == r->start && b == r->end)
			handed_drop(p, r);
		return up__kernel_ops.unmap(p, r, a, b);
	}
	obj_range(r, a, b, &oa, &ob);
	if (o->seg)
		return take_err(r, up__seg_writeback(p, o, up__pgno(p, oa),
						     up__pgno(p, ob - 1) + 1));
	if (o->solo) {
		/* Its pages must leave the range before it is unmapped: back
		 * into their slots.  Pages wholly inside it are then written
		 * back and freed (an anonymous one is just freed: nothing can
		 * see it again); pages that straddle its ends stay, in their
		 * slots, for the rest of the mapping. */
		err = 0;
		whole_pages(p, oa, ob, &pa, &pb);
		for (pg = up__pgno(p, oa); pg <= up__pgno(p, ob - 1); pg++) {
			int e = 0;

			if (!(o->pflags[pg] & PG_RESIDENT))
				continue;
			/* A page of the file's own (clean) has no copy in a
			 * slot to stay in: it goes, unless another mapping
			 * shows it. */
			if (up__solo_borrowed(p, o, pg)) {
				if (up__solo_let_go(p, r, pg, oa, ob))
					up__page_drop(p, o, pg);
				continue;
			}
			up__solo_unmap_page(p, o, pg, false);
			if (pg < pa || pg >= pb)
				continue;
			if (o->kind == OBJ_FILE)
				e = up__writeback(p, o, pg, pg + 1);
			if (e && !err)
				err = e;
			if (!e)
				up__page_drop(p, o, pg);
			/* (What the rest of the mapping shows stays.) */
			if (!e && pg >= pa && pg < pb)
				o->pflags[pg] &= (uint8_t)~PG_INSWAP;
		}
		up__solo_unlend(p, o, r, oa, ob);
		if (o->pc && o->kind != OBJ_FILE) {
			/* The copies saved for the range go with it. */
			up__solo_forget(p, o, oa, ob);
			up__solo_unshown(p, o, oa, ob);
			for (pg = pa; pg < pb; pg++)
				o->pflags[pg] &= (uint8_t)~PG_INSWAP;
		}
		return take_err(r, err);
	}
	if (o->kind == OBJ_FILE) {
		err = up__writeback(p, o, up__pgno(p, oa),
				    up__pgno(p, ob - 1) + 1);
		return take_err(r, err);
	}
	/* Private anonymous pages there can never be seen again: free them.
	 * Shared memory keeps its pages while it lives, as the kernel's
	 * (a mapping may grow over them again, mremap(2)). */
	whole_pages(p, oa, ob, &pa, &pb);
	for (pg = pa; !(r->flags & MAP_SHARED) && pg < pb; pg++) {
		up__page_drop(p, o, pg);
		o->pflags[pg] &= (uint8_t)~PG_INSWAP;
	}
	return take_err(r, 0);
}

/* Drop the clean whole pages of object range [oa, ob) of a shared file
 * from the cache: the next access reads them from the file again. */
static void drop_clean(struct up_pager *p, struct up_obj *o, off_t oa,
		       off_t ob)
{
	uint64_t pa, pb, pg;

	whole_pages(p, oa, ob, &pa, &pb);
	if (o->seg)
		up__seg_drop_clean(p, o, pa, pb);
	for (pg = pa; !o->seg && pg < pb; pg++)
		if (!(o->pflags[pg] & PG_DIRTY))
			up__page_drop(p, o, pg);
}

static int uffd_sync(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b, int flags)
{
	struct up_obj *o = r->obj;
	uint64_t pa, pb;
	off_t oa, ob;
	int err = 0;

	if (!o)
		return up__kernel_ops.sync(p, r, a, b, flags);
	if (o->kind != OBJ_FILE)
		return take_err(r, 0);
	obj_range(r, a, b, &oa, &ob);
	pa = up__pgno(p, oa);
	pb = up__pgno(p, ob - 1) + 1;
	err = o->seg ? up__seg_writeback(p, o, pa, pb)
		     : up__writeback(p, o, pa, pb);
	/* MS_ASYNC on the page cache is nothing, as with mmap(2) (starting
	 * the write-out there would zero what a mapping shows past the end
	 * of the file). */
	/* (A shared mapping made through a descriptor open for reading only
	 * is not one the kernel's msync(2) writes out: no VM_SHARED.) */
	if (!err && (flags & MS_SYNC) && r->may_write)
		err = up__store_err(o->pc ? up__datasync_range(o->fd, oa, ob - oa)
				    : o->store.ops->sync
					    ? o->store.ops->sync(o->store.ctx)
					    : 0);
	else if (!err && !o->pc && o->fd >= 0)
		up__sync_range(o->fd, oa, ob - oa);
	/* (Where the page cache is mapped, the mapping shows what the file
	 * holds already, and what stores left past its end, as the
	 * kernel's does: nothing to drop.) */
	if ((flags & MS_INVALIDATE) && !o->pc)
		drop_clean(p, o, oa, ob);
	return take_err(r, err);
}

/* MADV_DONTNEED and its kin: anonymous and private memory reads as its
 * source (zeros, or the file) again; shared file pages are dropped where
 * clean, and unmapped, to be found again in the cache or the file. */
static int dontneed(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b, int advice)
{
	struct up_obj *o = r->obj;
	off_t oa, ob;

	obj_range(r, a, b, &oa, &ob);
	if (o->kind != OBJ_FILE && o->pc) {
		/* The kernel's private mapping of the file, where shown. */
		up__solo_forget(p, o, oa, ob);
		return up__madvise((void *)a, b - a,
				   advice == MADV_DONTNEED_LOCKED
					   ? advice
					   : MADV_DONTNEED);
	}
	/* Shared anonymous memory keeps its pages, as the kernel's shmem
	 * does: only the mapping of them goes, which changes nothing that
	 * the program can see. */
	if (o->kind != OBJ_FILE && (r->flags & MAP_SHARED))
		return 0;
	if (o->kind != OBJ_FILE)
		return up__discard(p, o, oa, ob);
	drop_clean(p, o, oa, ob);
	/* (A solo mapping's memory is its pages: nothing else to drop.  But
	 * where it shows the page cache, the kernel's mapping lets go of
	 * the pages it maps, as the kernel's own would: they stay in the
	 * page cache, dirty or not, and the next access maps them again.) */
	if (o->solo && !o->pc)
		return 0;
	/* MADV_DONTNEED_LOCKED also drops a range mlock(2) locked. */
	return up__madvise((void *)a, b - a,
			   advice == MADV_DONTNEED_LOCKED ? advice
							  : MADV_DONTNEED);
}

/*
 * MADV_REMOVE: the range reads as zeros from now on.  In a shared file
 * mapping its file range is punched first (so the file system says
 * whether it can), then the cache forgets it, dirty or not, and parts of
 * pages are read again from the punched file.
 */
static int remove_range(struct up_pager *p, struct up_region *r, uintptr_t a,
			uintptr_t b)
{
	struct up_obj *o = r->obj;
	off_t oa, ob;
	int err;

	obj_range(r, a, b, &oa, &ob);
	if (o->kind != OBJ_FILE)
		return up__discard(p, o, oa, ob);
	if (o->seg) {
		/* Dirty pages of other processes must not land on it later. */
		err = up__seg_writeback(p, o, up__pgno(p, oa),
					up__pgno(p, ob - 1) + 1);
		if (err)
			return err;
	}
	/* A program's store has no holes to punch. */
	err = o->fd < 0 ? -EOPNOTSUPP
			: up__fallocate(o->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					oa, ob - oa);
	if (err)
		return err;
	if (o->seg)
		return dontneed(p, r, a, b, MADV_DONTNEED);
	/* The page cache, which a page-cache object shows, is punched too. */
	if (o->pc)
		return 0;
	/* Parts of pages are read again from the punched file. */
	return up__discard(p, o, oa, ob);
}

/* MADV_POPULATE_READ and _WRITE: every page of [a, b) is faulted in, as
 * the kernel does; a page that cannot be (past the end of the file, or
 * unreadable) stops it with -EFAULT, and raises SIGBUS when touched. */
static int populate(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b, bool write)
{
	uintptr_t next;
	int err;

	while (a < b) {
		off_t off = r->off + (off_t)(a - r->start);
		uint64_t pg = up__pgno(p, off);
		int ret = serve_locked(p, a, write, false);

		up__frames_unpin(p);
		if (ret == FAULT_SIGBUS)
			return -EFAULT;
		if (ret != FAULT_SERVED)
			return -ENOMEM;
		next = addr_of(r, (off_t)((pg + 1) * pl(p)));
		/* A shown page is the kernel's mapping of the file: the
		 * kernel populates it (a private one is copied for writing),
		 * and refuses the part past the end of the file. */
		if (up__solo_borrowed(p, r->obj, pg) &&
		    (err = up__madvise((void *)a, (next < b ? next : b) - a,
				       write ? MADV_POPULATE_WRITE
					     : MADV_POPULATE_READ)))
			return err;
		a = next;
	}
	return 0;
}

/*
 * madvise(2) on [a, b) of r, whose arguments api.c has checked as the
 * kernel does (advice_check()).  Advice that only tunes the kernel's own
 * handling of the memory (COLD, PAGEOUT, HUGEPAGE, MERGEABLE...) has
 * nothing to tune here and is accepted; see upager.h for the rest.
 */
static int uffd_advise(struct up_pager *p, struct up_region *r, uintptr_t a,
		       uintptr_t b, int advice)
{
	struct up_obj *o = r->obj;
	struct up_work *w, **ww;
	off_t oa, ob;
	int err;

	if (!o)
		return up__kernel_ops.advise(p, r, a, b, advice);
	obj_range(r, a, b, &oa, &ob);
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
		r->advice = advice;
		/* Where pages are lent, the kernel's faults read the file:
		 * with this advice now (solo.c). */
		if (o->lent_nr)
			up__madvise((void *)a, b - a, advice);
		return 0;
	case MADV_WILLNEED:
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->obj = o;
		w->pgno = up__pgno(p, oa);
		w->end = up__pgno(p, ob - 1) + 1;
		if (w->end - w->pgno > p->frames_nr / 2)
			w->end = w->pgno + p->frames_nr / 2;
		for (ww = &p->work; *ww; ww = &(*ww)->next)
			;
		*ww = w;
		kick(p);
		return 0;
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		return dontneed(p, r, a, b, advice);
	case MADV_FREE:
		/* Private anonymous pages the kernel may free lazily: it keeps
		 * them until memory runs short, and so do we, until they are
		 * evicted (written to swap then, as any other). */
		return 0;
	case MADV_REMOVE:
		return remove_range(p, r, a, b);
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		return populate(p, r, a, b, advice == MADV_POPULATE_WRITE);
	case MADV_GUARD_INSTALL:
		/* The kernel zaps the range and marks it: the pages must not
		 * live only there (solo), and what it drops is dropped. */
		err = up__obj_unsolo(p, o);
		if (!err)
			err = dontneed(p, r, a, b, MADV_DONTNEED);
		return err ? err : up__madvise((void *)a, b - a, advice);
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_GUARD_REMOVE:
	case MADV_COLLAPSE:
	case MADV_HWPOISON:
	case MADV_SOFT_OFFLINE:
		/* The kernel's, on the mapping as it stands. */
		return up__madvise((void *)a, b - a, advice);
	}
	/* Hints about the kernel's own paging, and fork(), which the
	 * pager's mappings already stay out of (see upager.h). */
	return 0;
}

static void uffd_count(struct up_pager *p, struct up_region *r,
		       struct up_stats *st)
{
	struct up_obj *o = r->obj;
	uint64_t pg, last;
	off_t oa, ob;

	if (!o) {
		up__kernel_ops.count(p, r, st);
		return;
	}
	obj_range(r, r->start, r->end, &oa, &ob);
	last = up__pgno(p, ob - 1);
	if (o->seg) {
		up__seg_count(o, up__pgno(p, oa), last + 1, st);
		return;
	}
	for (pg = up__pgno(p, oa); pg <= last; pg++) {
		st->resident += (o->pflags[pg] & PG_RESIDENT) != 0;
		st->dirty += (o->pflags[pg] & PG_DIRTY) != 0;
		st->page_cache += o->solo && up__solo_borrowed(p, o, pg);
	}
}

/*
 * fork().  The kernel's fork() gives the child every mapping: MAP_SHARED
 * ones stay shared with the parent both ways, private ones are copies of
 * what the parent had.  A pager that does not share its cache across
 * processes cannot serve another process, so what the child inherits
 * becomes the kernel's own mappings, holding exactly what the parent's
 * showed:
 *
 *  - before the fork, a MAP_SHARED mapping becomes the kernel's own in the
 *    parent too, and the child inherits it: a file's dirty pages are
 *    written back and it is mapped in place; anonymous shared memory is
 *    its memfd (its swapped pages read back into it) mapped in place.
 *    Both processes then share the kernel's pages, and the pager forgets
 *    them.  One that cannot be (a failed write-back) stays the pager's,
 *    and is not inherited;
 *  - a private mapping stays the parent's (a solo one is first turned into
 *    a memfd one, whose pages the child can read), write-protected, and
 *    the child makes it a private mapping of its own with the parent's
 *    changed pages copied in (up__obj_fork_copy()), while the parent
 *    waits (api.c).
 *
 * A range the child cannot inherit is left inaccessible there: SIGSEGV,
 * never wrong data, and the pager's note says so.
 */

/*
 * Map every region of o, a MAP_SHARED object, from fd (the file or the
 * memfd) in place, and forget it.  A region that cannot be mapped stays
 * the pager's if `keep` (a file, whose pages the pager reads again), else
 * is unmapped (SIGSEGV rather than data the pager no longer tracks).
 */
static void shared_to_kernel(struct up_pager *p, struct up_obj *o, int fd,
			     bool keep)
{
	struct up_region *r, *next;
	struct up_run *locks;
	size_t locks_nr;
	int ro = fd != o->fd ? -1 : o->fd_writable ? o->ro_fd : o->fd;
	bool opened = false;
	void *m;

	for (r = o->regions; r; r = next) {
		/* A mapping the program made through a read-only descriptor
		 * may never be written: the kernel's is made through one
		 * too (mprotect(2) and MADV_REMOVE then refuse as they did),
		 * the program's own (see up__obj_fd_note()).  One for all,
		 * so that neighbours merge as the kernel's would (mremap(2)
		 * works within one mapping). */
		int err;

		if (!r->may_write && ro < 0) {
			ro = up__reopen(fd, O_RDONLY);
			opened = ro >= 0;
		}
		next = r->obj_next;
		if (up__locks_take(r->start, r->end - r->start, &locks,
				   &locks_nr) && keep)
			continue;
		err = up__mmap_raw((void *)r->start, r->end - r->start, r->prot,
				   MAP_SHARED | MAP_FIXED,
				   !r->may_write && ro >= 0 ? ro : fd, r->off,
				   &m);
		if (err) {
			up__locks_put(locks, 0, false);
			if (keep)
				continue;
			up__munmap((void *)r->start, r->end - r->start);
		} else {
			up__locks_put(locks, locks_nr, false);
			up__region_flags_to_kernel(r);
			if (o->kind == OBJ_FILE) {
				r->handed.dev = o->dev;
				r->handed.ino = o->ino;
			}
		}
		/* The last region out frees o. */
		up__obj_detach(p, o, r);
	}
	if (opened)
		up__close(ro);
}

/*
 * The bytes of the file's last system page past its end are in no file,
 * but a mapping shows what was stored there, and so does the kernel's
 * page-cache page (until it is reclaimed).  Copy them out of the pager's
 * page (tail, at most a system page) before it is dropped; returns their
 * length, 0 if there are none or they are all zero.
 */
static size_t tail_save(struct up_pager *p, struct up_obj *o, char *tail)
{
	off_t end = up__obj_valid_end(p, o, false), a, b;
	uint64_t pg = up__pgno(p, end);
	size_t len = SYS_UP((uint64_t)end) - (uint64_t)end, i;
	const char *src;

	if (!len || !o->fd_writable || pg >= o->pages_nr ||
	    !(o->pflags[pg] & PG_RESIDENT) || o->pc)
		return 0;
	if (o->solo) {
		src = up__solo_data(p, o, pg, &a, &b);
		if (end < a || end + (off_t)len > b)
			return 0;
		src += end - a;
	} else {
		src = o->view + end;
	}
	memcpy(tail, src, len);
	for (i = 0; i < len && !tail[i]; i++)
		;
	return i < len ? len : 0;
}

/* Put them into the file's page-cache page. */
static void tail_restore(struct up_pager *p, struct up_obj *o,
			 const char *tail, size_t len)
{
	off_t end = up__obj_valid_end(p, o, false);
	off_t at = end & ~(off_t)(SYS_PAGE - 1);
	void *m;

	if (!len || up__mmap(NULL, SYS_PAGE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, o->fd, at, &m))
		return;
	memcpy((char *)m + (end - at), tail, len);
	up__munmap(m, SYS_PAGE);
}

/* A MAP_SHARED file: written back and dropped, every store is in the
 * file; a failed write-back leaves it to the pager (not inherited). */
static int file_to_kernel(struct up_pager *p, struct up_obj *o)
{
	struct up_file_id *ids;
	char tail[SYS_PAGE];
	size_t tail_len;
	uint64_t pg;
	int err = up__writeback(p, o, 0, o->pages_nr);

	if (err)
		return err;
	/* The pager writes whole pages back: a mapping of it beside the
	 * kernel's would overwrite their stores with its older copy. */
	ids = realloc(p->handed, (p->handed_nr + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	p->handed = ids;
	ids[p->handed_nr].dev = o->dev;
	ids[p->handed_nr++].ino = o->ino;
	/* Dropped first: a solo page goes back into its slot, a borrowed
	 * one gets its registered memory back, before the file replaces
	 * them. */
	tail_len = tail_save(p, o, tail);
	for (pg = 0; pg < o->pages_nr; pg++)
		up__page_drop(p, o, pg);
	tail_restore(p, o, tail, tail_len);
	shared_to_kernel(p, o, o->fd, true);
	return 0;
}

/*
 * Where a mapping of o grew past the end of its shared memory, a mapping
 * of an empty file raises SIGBUS (api.c).  Handed to the kernel, those
 * pieces become mappings of o's memfd past its end instead, which raise
 * SIGBUS as well, and merge with the mapping before them as the kernel's
 * grown mapping is one (mremap(2) then resizes it whole), whatever
 * mprotect(2) has made of each piece's protection.  Each piece keeps its
 * own offset in the shared memory, which goes on from the piece before
 * as its page offset does (see pgdelta): one that mremap(2) moved there
 * from elsewhere in the mapping merges with neither neighbour, in the
 * kernel's mapping either.
 */
static void beyond_to_memfd(struct up_pager *p, struct up_obj *o)
{
	struct up_region *r, *q;
	struct up_run *locks;
	size_t locks_nr;
	void *m;

	for (r = o->regions; r; r = r->obj_next) {
		const struct up_region *prev = r;
		uintptr_t at = r->end;
		off_t off = r->off + (off_t)(r->end - r->start);

		while (r->may_write && (q = up__region_find(p, at)) &&
		       q->beyond && q->start == at && q->flags == r->flags) {
			off += (off_t)(q->pgdelta - prev->pgdelta) *
			       (off_t)SYS_PAGE;
			if (off < 0 ||
			    up__locks_take(q->start, q->end - q->start, &locks,
					   &locks_nr))
				break;
			if (up__mmap_raw((void *)q->start, q->end - q->start,
					 q->prot, MAP_SHARED | MAP_FIXED,
					 o->memfd, off, &m)) {
				up__locks_put(locks, 0, false);
				break;
			}
			up__locks_put(locks, locks_nr, false);
			up__region_flags_to_kernel(q);
			q->off = off;
			off += (off_t)(q->end - q->start);
			at = q->end;
			prev = q;
		}
	}
}

/* Anonymous shared memory: its memfd holds every page once the swapped
 * ones are read back, and is never punched again. */
static int anon_to_kernel(struct up_pager *p, struct up_obj *o)
{
	int err = up__obj_swap_in(p, o);

	if (err)
		return err;
	up__obj_forget(p, o);
	/* The kernel's shared memory ends where the mapping did (the memfd
	 * may reach further, to a whole pager page). */
	if (o->shm_len)
		up__ftruncate(o->memfd, o->shm_len);
	beyond_to_memfd(p, o);
	shared_to_kernel(p, o, o->memfd, false);
	return 0;
}

/* Whether region q, at end, goes on from r as one mapping: as one piece
 * of the kernel's mapping goes on from another that mprotect(2) split
 * from it once it had an anon_vma, which they share (and merge again). */
static bool continues(const struct up_region *r, const struct up_region *q,
		      uintptr_t end)
{
	struct up_region t = *q;

	if (r->anon && q->anon == r->anon)
		t.prot = r->prot;
	/* (Two with anon_vmas of their own are two.) */
	if (r->anon && q->anon && q->anon != r->anon)
		return false;
	return q->off == r->off + (off_t)(end - r->start) &&
	       up__region_alike(r, &t);
}

/* Whether o is a private mapping's object that shows the page cache. */
static bool private_pc(const struct up_obj *o)
{
	return o && o->pc && o->kind != OBJ_FILE;
}

/* Whether q, at end, goes on r's mapping of the file: the kernel's one
 * mapping (q of another object where mremap(2) grew r). */
static bool hands_with(const struct up_region *r, const struct up_region *q,
		       uintptr_t end)
{
	return q->start == end && private_pc(q->obj) &&
	       up__same_open_file(q->obj->fd, r->obj->fd) &&
	       continues(r, q, end);
}

/* Whether q, after l, goes into one mapping made for both: not where
 * their anon_vmas differ, which only the kernel's mapping of each, made
 * apart, can have (one of them locked before it goes in place, so that
 * the two do not merge there). */
static bool hands_alike(const struct up_region *l, const struct up_region *q)
{
	return up__anon_alike(l, q) &&
	       !(l->locked != q->locked && l->anon != q->anon);
}

/* Private mappings of files showing the page cache: the kernel's own
 * private mappings of them, with the program's copies in them.  One that
 * cannot be made stays the pager's, and is not inherited. */
static void private_to_kernel(struct up_pager *p)
{
	struct up_obj *o;
	size_t i, j, k;
	uintptr_t end;
	uint64_t pg;

	for (o = p->objs; o; o = o->next)
		for (pg = 0; private_pc(o) && o->regions && pg < o->pages_nr;
		     pg++)
			up__page_drop(p, o, pg);
	/* In address order; regions that follow each other as one mapping
	 * of the file (one grown by mremap(2)) become one mapping: the
	 * kernel merges no two private mappings with copies of their own.
	 * (The last region of an object detached frees it.) */
	for (i = 0; i < p->regions_nr; i = j) {
		struct up_region *r = p->regions[i];

		j = i + 1;
		if (!private_pc(r->obj))
			continue;
		for (end = r->end;
		     j < p->regions_nr && hands_with(r, p->regions[j], end) &&
		     hands_alike(p->regions[j - 1], p->regions[j]);
		     j++)
			end = p->regions[j]->end;
		if (up__solo_hand(p, r, end)) {
			j = i + 1;	/* r stays the pager's */
			continue;
		}
		for (k = i; k < j; k++) {
			struct up_region *q = p->regions[k];

			up__region_flags_to_kernel(q);
			up__obj_detach(p, q->obj, q);
		}
	}
}

/*
 * Note how the kernel's mappings split r (see up__obj_fork_copy()): where
 * some of it is locked and some not.  Two locked mappings side by side are
 * one in the model: r would have been cut where the program locked them
 * differently, and the pager's own relocking (on fault, in
 * up__solo_remap()) splits what the program locked alike.
 */
static void fork_runs_add(struct up_pager *p, const struct up_region *r)
{
	struct up_run *runs, *n;
	size_t nr, i, j;

	if (up__maps_take(r->start, r->end - r->start, &runs, &nr) || nr < 2) {
		free(runs);
		return;
	}
	for (i = 0, j = 1; j < nr; j++) {
		if (runs[i].a + runs[i].len == runs[j].a &&
		    up__locked((void *)runs[i].a, runs[i].len) &&
		    up__locked((void *)runs[j].a, runs[j].len))
			runs[i].len += runs[j].len;
		else
			runs[++i] = runs[j];
	}
	nr = i + 1;
	if (nr < 2) {
		free(runs);
		return;
	}
	n = realloc(p->fork_runs, (p->fork_runs_nr + nr) * sizeof(*n));
	if (n) {
		memcpy(n + p->fork_runs_nr, runs, nr * sizeof(*n));
		p->fork_runs = n;
		p->fork_runs_nr += nr;
	}
	free(runs);
}

static bool uffd_fork_prepare(struct up_pager *p)
{
	struct up_obj *o, *next;
	struct up_region *r;
	bool copy = false;

	free(p->fork_runs);
	p->fork_runs = NULL;
	p->fork_runs_nr = 0;
	for (o = p->objs; o; o = next) {
		next = o->next;
		/* (A program's store is not inherited: MADV_DONTFORK.) */
		if (o->seg || !o->regions || (o->store.ops && o->fd < 0))
			continue;
		if (o->kind == OBJ_FILE) {
			file_to_kernel(p, o);
			continue;
		}
		if (o->regions->flags & MAP_SHARED) {
			anon_to_kernel(p, o);
			continue;
		}
		if (o->pc)
			continue;	/* below, all together */
		/* The child reads the pages from the memfd and the swap
		 * file; until it has, stores fault and wait for the lock. */
		up__obj_unsolo(p, o);
		for (r = o->regions; !o->solo && r; r = r->obj_next) {
			up__uffd_wprotect(p, r->start, r->end, true);
			fork_runs_add(p, r);
			r->fork_locked = up__locked((void *)r->start,
						    r->end - r->start);
		}
		copy = true;
	}
	private_to_kernel(p);
	return copy;
}

/*
 * In the child after fork().  The parent's userfaultfd, event counter and
 * threads are not ours: make new ones.  Private regions become the
 * kernel's own private mappings first, before anything else is mapped
 * here; ranges that could not be inherited are reserved inaccessible.
 * Mappings of shared objects were not inherited (MADV_DONTFORK): map each
 * again at its address from the segment, which the parent still shares,
 * and register it.  Every other object is forgotten (up__cache_child).
 * Failure cannot be reported from here: the pager's note says what failed,
 * and those mappings fault with SIGSEGV rather than show wrong data.
 */
static void uffd_fork_child(struct up_pager *p, bool copy)
{
	char why[256] = "";
	struct up_obj *o;
	size_t i, lost = 0, served = 0;
	int fd, err = 0;
	void *m;

	/* (What MADV_DONTFORK left out is gone already: api.c.) */
	for (i = 0; i < p->regions_nr; i++) {
		struct up_region *r = p->regions[i];

		if (!r->obj || r->obj->seg)
			continue;
		if (r->wipeonfork &&
		    up__mmap((void *)r->start, r->end - r->start, r->prot,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0,
			     &m) == 0) {
			r->obj = NULL;	/* the kernel's, and zeros */
			up__region_flags_to_kernel(r);
			continue;
		}
		if (copy && !(r->flags & MAP_SHARED) && !r->obj->solo &&
		    up__obj_fork_copy(p, r) == 0) {
			r->obj = NULL;	/* the kernel's now */
			up__region_flags_to_kernel(r);
			continue;
		}
		up__mmap((void *)r->start, r->end - r->start, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
			 -1, 0, &m);
		lost++;
	}
	free(p->threads);
	p->threads = NULL;
	p->threads_nr = 0;
	p->stacks = NULL;	/* kept: another thread's id may live there */
	up__close(p->uffd);
	if (p->event_fd >= 0)
		up__close(p->event_fd);
	p->event_fd = -1;
	p->pool = NULL;		/* not inherited */
	up__solo_child(p);
	atomic_store(&p->stop, false);
	up__sigbus_child();
	up__cache_child(p);
	free(p->fork_runs);
	p->fork_runs = NULL;
	p->fork_runs_nr = 0;
	p->fork_made = 0;
	if (lost)
		snprintf(p->note, sizeof(p->note),
			 "after fork: %zu mappings could not be inherited "
			 "(SIGSEGV there)",
			 lost);
	fd = up__uffd_open(p->cfg.flags, &p->user_mode_only, &p->features,
			   why, sizeof(why));
	p->uffd = fd;
	if (fd < 0) {
		snprintf(p->note, sizeof(p->note), "after fork: %s", why);
		return;
	}
	for (o = p->objs; o && !err; o = o->next)
		err = up__seg_child(p, o);
	for (i = 0; i < p->regions_nr && !err; i++) {
		struct up_region *r = p->regions[i];
		void *addr;

		if (!r->obj)
			continue;
		err = up__mmap((void *)r->start, r->end - r->start, r->prot,
			       MAP_SHARED | MAP_FIXED, r->obj->memfd,
			       up__seg_off(r->obj, r->off), &addr);
		if (!err)
			err = region_register(p, r);
		served++;
	}
	/* Threads are made here only for mappings that need them now: in
	 * an atfork handler, the child's allocator may still be in the state
	 * another thread of the parent left it in (a sanitizer's is not
	 * fork-safe); otherwise the next mapping starts them. */
	if (!err && served)
		err = uffd_open(p);
	if (err)
		snprintf(p->note, sizeof(p->note),
			 "after fork: the pager could not be set up again: %s",
			 strerror(-err));
}

const struct up_backend_ops up__uffd_ops = {
	.name = "userfaultfd",
	.open = uffd_open,
	.close = uffd_close,
	.map = uffd_map,
	.unmap = uffd_unmap,
	.sync = uffd_sync,
	.advise = uffd_advise,
	.count = uffd_count,
	.move = uffd_move,
	.fork_prepare = uffd_fork_prepare,
	.fork_child = uffd_fork_child,
	.fault = uffd_fault,
};
