/* SPDX-License-Identifier: MIT */
/*
 * solo.c - mappings served from a pool of recycled anonymous frames moved
 * into place with UFFDIO_MOVE.
 *
 * The shared-memory design (cache.c, fault-uffd.c) allocates a fresh
 * shmem page for every page it reads and frees it on eviction; on this
 * kind of machine that allocation alone bounds a first-touch scan near
 * 3 GB/s.  A mapping that is the only one of its object needs no shared
 * memory: its pages can be read into a frame of an anonymous pool, where
 * memory is reused and huge pages survive, and moved into the mapping
 * whole.  Eviction moves them back (written back first if dirty), and the
 * frame's memory is reused for the next read without being freed.
 *
 * Such an object is "solo".  Its mapping is an anonymous private VMA with
 * read-write protection (UFFDIO_MOVE needs source and destination alike),
 * registered for missing and write-protect faults.  How a page goes in:
 *
 *   writable, written  moved in (the page is dirty: no protection needed);
 *   anything else      copied in with UFFDIO_COPY_MODE_WP, which maps it
 *                      write-protected in one step, and the slot's copy is
 *                      freed.  Moving it would map it writable until the
 *                      write-protect, and a store by another thread in
 *                      between would go unseen: lost, or let through
 *                      where the mapping is read-only;
 *   page of a          not copied at all: the file's own page-cache pages
 *   MAP_SHARED file    are mapped there (see borrow()), so the mapping is
 *                      the page cache, as with the kernel's mmap.
 *
 * Anything a solo object cannot do (a second mapping of the file, a split,
 * mprotect, a store to a read-only mapping, discarding part of a page)
 * turns it into an ordinary shared-memory object first:
 * up__obj_unsolo().
 *
 * Callers hold p->lock.
 */
#include "up-int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "up-uffd.h"

#define HUGE_LEN (2ul << 20)

static size_t pl(const struct up_pager *p)
{
	return p->cfg.page_len;
}

static char *slot(struct up_pager *p, uint32_t idx)
{
	return p->pool + (size_t)idx * pl(p);
}

/*
 * Moving costs a TLB flush of the pool and one of the mapping per page,
 * which at 4 KiB pages outweighs the shared-memory allocation it saves
 * (random 4 KiB faults measured slower), so small pages stay in memfds.
 */
#define SOLO_MIN_PAGE (64u << 10)

/* The most runs of borrowed pages at a time in the process, over all
 * pagers, and how many there are now (see borrowable() for why there is a
 * limit). */
#define RUNS_MAX 16384
static atomic_int runs_nr;

static int own(struct up_pager *p, char *a, size_t len);
static int proc_fd(int *fd, const char *path, int flags);
static void lent_set(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     bool on);
static void span(struct up_pager *p, const struct up_region *r, uint64_t pg,
		 off_t *a, off_t *b, uintptr_t *at);

/*
 * Putting a mapping's own memory back over a borrowed page (restore())
 * must be one step: a new anonymous mapping is not registered with the
 * userfaultfd until a second call, and a thread reading it in between
 * would get the zero page, and keep it.  So the memory that goes back is
 * a "spare", an anonymous mapping of one page already registered, moved
 * over the page with mremap(2), which replaces the range at once.  Moving
 * a registered mapping keeps its registration only with
 * UFFD_FEATURE_EVENT_REMAP, and then mremap(2) waits until the event it
 * queues has been read from the userfaultfd.  The thread restoring holds
 * the pager's lock (it may be a service thread, or a thread serving its
 * own fault), so the move is left to a thread of its own, the mover,
 * while the restoring thread reads the userfaultfd until the move is
 * done.  A fault message it reads on the way is answered with a wake-up:
 * the access runs again, faults again, and is served after.
 */
enum { MV_IDLE, MV_ASKED, MV_DONE, MV_STOP };

/*
 * A fresh spare: anonymous memory of one page, registered, between two
 * inaccessible guard pages.  Next to another anonymous mapping it would
 * merge with it and share its anon_vma, and then keep an offset that
 * stops it from merging where it is moved: every page put back would stay
 * a mapping of its own.  Alone, it takes the offset of where it lands.
 */
static int spare_make(struct up_pager *p, size_t len, char **out)
{
	void *res, *m;
	int err;

	err = up__mmap_raw(NULL, len + 2 * SYS_PAGE, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0,
			   &res);
	if (err)
		return err;
	err = up__mmap_raw((char *)res + SYS_PAGE, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
			   -1, 0, &m);
	if (!err)
		err = own(p, m, len);
	if (err) {
		up__munmap(res, len + 2 * SYS_PAGE);
		return err;
	}
	*out = m;
	return 0;
}

/* The spare of one page, kept ready. */
static int spare_new(struct up_pager *p)
{
	return spare_make(p, pl(p), &p->spare);
}

/* Unmap a spare that was not moved, with its guards. */
static void spare_free(struct up_pager *p, char *spare)
{
	up__munmap(spare - SYS_PAGE, pl(p) + 2 * SYS_PAGE);
}

/* Unmap the guards of a spare of len bytes moved away.  Only them: the
 * range between them is free address space, where another thread may have
 * mapped something since. */
static void guards_free(char *spare, size_t len)
{
	up__munmap(spare - SYS_PAGE, SYS_PAGE);
	up__munmap(spare + len, SYS_PAGE);
}

static void *mover(void *arg)
{
	struct up_pager *p = arg;
	uint64_t v;
	void *m;

	for (;;) {
		if (read(p->mover_fd, &v, sizeof(v)) < 0 && errno != EINTR) {
			/* Cannot wait for work: say so, and leave. */
			atomic_store(&p->mover_err, -EIO);
			atomic_store(&p->mover_job, MV_STOP);
			return NULL;
		}
		switch (atomic_load(&p->mover_job)) {
		case MV_STOP:
			return NULL;
		case MV_ASKED:
			/* Straight to the kernel, as up__mmap_raw(). */
			m = (void *)syscall(SYS_mremap, p->mover_from,
					    p->mover_len, p->mover_len,
					    MREMAP_MAYMOVE | MREMAP_FIXED,
					    (void *)p->mover_to);
			atomic_store(&p->mover_err,
				     m == MAP_FAILED ? -errno : 0);
			atomic_store(&p->mover_job, MV_DONE);
			break;
		}
	}
	return NULL;
}

#define MOVER_STACK (8ul << 20)	/* as the service threads' (sanitizers need much) */

/* The mover and a spare, if the kernel has the remap event. */
static int mover_start(struct up_pager *p)
{
	int err;

	if (!(p->features & UFFD_FEATURE_EVENT_REMAP))
		return -ENOSYS;
	if ((err = spare_new(p)))
		return err;
	p->mover_fd = up__eventfd(0);
	if (p->mover_fd < 0) {
		err = p->mover_fd;
		goto fail;
	}
	atomic_store(&p->mover_job, MV_IDLE);
	/* On a stack of its own, as the service threads (fault-uffd.c). */
	err = up__mmap(NULL, MOVER_STACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		       -1, 0, &p->mover_stack);
	if (!err)
		err = up__thread(&p->mover, p->mover_stack, MOVER_STACK, mover,
				 p);
	if (!err)
		return 0;
	if (p->mover_stack)
		up__munmap(p->mover_stack, MOVER_STACK);
	p->mover_stack = NULL;
	up__close(p->mover_fd);
	p->mover_fd = -1;
fail:
	if (p->spare)
		spare_free(p, p->spare);
	p->spare = NULL;
	return err;
}

static void mover_stop(struct up_pager *p)
{
	uint64_t one = 1;

	if (p->mover_fd < 0)
		return;
	atomic_store(&p->mover_job, MV_STOP);
	if (write(p->mover_fd, &one, sizeof(one)) == sizeof(one)) {
		pthread_join(p->mover, NULL);
		up__munmap(p->mover_stack, MOVER_STACK);
	}
	p->mover_stack = NULL;
	up__close(p->mover_fd);
	p->mover_fd = -1;
	if (p->spare)
		spare_free(p, p->spare);
	p->spare = NULL;
}

/* While the mover works: read the userfaultfd (which never blocks), and
 * so complete its remap event; a fault read here is woken to be raised
 * again. */
static void drain(struct up_pager *p)
{
	struct uffd_msg msgs[16];
	ssize_t n;
	int i;

	n = read(p->uffd, msgs, sizeof(msgs));
	for (i = 0; n > 0 && i < (int)(n / (ssize_t)sizeof(msgs[0])); i++) {
		struct uffdio_range rg = { .len = SYS_PAGE };

		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		rg.start = msgs[i].arg.pagefault.address & ~(SYS_PAGE - 1);
		up__ioctl(p->uffd, UFFDIO_WAKE, &rg);
	}
}

/* Move the registered mapping [src, src + len) over [dst, dst + len),
 * replacing what is there in one step; -ESRCH if there is no mover. */
int up__move_mapping(struct up_pager *p, void *src, size_t len,
			uintptr_t dst)
{
	uint64_t one = 1;
	int job;

	if (p->mover_fd < 0 || atomic_load(&p->mover_job) == MV_STOP)
		return -ESRCH;
	p->mover_from = src;
	p->mover_len = len;
	p->mover_to = dst;
	atomic_store(&p->mover_job, MV_ASKED);
	if (write(p->mover_fd, &one, sizeof(one)) != sizeof(one))
		return -EIO;
	while ((job = atomic_load(&p->mover_job)) != MV_DONE &&
	       job != MV_STOP) {
		drain(p);
		sched_yield();
	}
	if (job == MV_STOP)
		return -ESRCH;
	atomic_store(&p->mover_job, MV_IDLE);
	return atomic_load(&p->mover_err);
}

/* Move the first len bytes of the spare over [a, a + len), free the rest
 * of it, and make a new one.  A range of more than a page takes a spare
 * made for it. */
static int spare_move(struct up_pager *p, uintptr_t a, size_t len)
{
	char *spare;
	int err;

	if (len > pl(p)) {
		if ((err = spare_make(p, len, &spare)))
			return err;
		err = up__move_mapping(p, spare, len, a);
		if (err)
			up__munmap(spare - SYS_PAGE, len + 2 * SYS_PAGE);
		else
			guards_free(spare, len);
		return err;
	}
	if (!p->spare && (err = spare_new(p)))
		return err;
	err = up__move_mapping(p, p->spare, len, a);
	if (err)
		return err;
	spare = p->spare;
	p->spare = NULL;
	if (len < pl(p))
		up__munmap(spare + len, pl(p) - len);
	guards_free(spare, pl(p));
	spare_new(p);
	return 0;
}

/* The pool: one frame-sized slot per frame, 2 MiB aligned for THP. */
int up__pool_init(struct up_pager *p)
{
	size_t len = p->frames_nr * pl(p);
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	void *m;
	char *a;
	int err;

	if (mover_start(p) == 0) {
		size_t n = strlen(p->note);

		snprintf(p->note + n, sizeof(p->note) - n,
			 "; pages of file mappings are the kernel's "
			 "page-cache pages, mapped in place (in up to %d "
			 "runs in the process at a time)",
			 RUNS_MAX);
	}
	if (!(p->features & UP_UFFD_FEATURE_MOVE) || pl(p) < SOLO_MIN_PAGE)
		return 0;
	err = up__mmap(NULL, len + HUGE_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, &m);
	if (err)
		return err;
	a = (char *)(((uintptr_t)m + HUGE_LEN - 1) & ~(HUGE_LEN - 1));
	if (a > (char *)m)
		up__munmap(m, (size_t)(a - (char *)m));
	up__munmap(a + len, HUGE_LEN - (size_t)(a - (char *)m));
	/* Huge pages only when a pager page is one: a smaller page moved
	 * out of a huge one splits it, and the next read into the emptied
	 * range would fault in (and zero) a whole new huge page. */
	up__madvise(a, len, pl(p) >= HUGE_LEN ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	up__madvise(a, len, MADV_DONTFORK);
	/* Moving pages back into the pool needs it registered. */
	reg.range.start = (uintptr_t)a;
	reg.range.len = len;
	err = up__ioctl(p->uffd, UFFDIO_REGISTER, &reg);
	if (err) {
		up__munmap(a, len);
		return 0;	/* no pool: every object uses shared memory */
	}
	p->pool = a;
	p->pool_len = len;
	return 0;
}

void up__pool_fini(struct up_pager *p)
{
	free(p->lent_q);
	p->lent_q = NULL;
	p->lent_cap = p->lent_len = p->lent_head = 0;
	if (p->mem_fd >= 0)
		up__close(p->mem_fd);
	if (p->pagemap_fd >= 0)
		up__close(p->pagemap_fd);
	p->mem_fd = p->pagemap_fd = -1;
	if (p->cow_buf)
		up__munmap(p->cow_buf, SYS_PAGE);
	p->cow_buf = NULL;
	mover_stop(p);
	if (p->pool)
		up__munmap(p->pool, p->pool_len);
	p->pool = NULL;
}

bool up__solo_eligible(struct up_pager *p, const struct up_region *r)
{
	bool shared_anon = (r->flags & MAP_ANONYMOUS) && (r->flags & MAP_SHARED);

	return p->pool && !shared_anon &&
	       (r->prot == PROT_READ || r->prot == (PROT_READ | PROT_WRITE));
}

/* Make [a, a + len) memory the pager serves: huge pages when a pager page
 * is one, registered for missing and write-protect faults, left out of
 * fork().  After mlockall(MCL_FUTURE) the kernel has locked it and filled
 * it with zeros as it mapped it: those go first, or every page would be
 * there, and read as zeros, with no fault to fill it. */
static int own(struct up_pager *p, char *a, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)a, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	int err;

	if (up__lock_future) {
		up__munlock(a, len);
		up__madvise(a, len, MADV_DONTNEED);
	}
	up__madvise(a, len, pl(p) >= HUGE_LEN ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	err = up__ioctl(p->uffd, UFFDIO_REGISTER, &reg);
	return err ? err : up__madvise(a, len, MADV_DONTFORK);
}

/* Make r's memory: anonymous, placed so that file offsets that are
 * multiples of 2 MiB land on 2 MiB boundaries (huge pages move whole). */
int up__solo_region(struct up_pager *p, struct up_region *r, void *hint,
		    int mflags)
{
	size_t len = r->end - r->start, lead;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	char *a;
	void *m;
	int err;

	if (mflags) {
		err = up__mmap_unlocked(hint, len, PROT_READ | PROT_WRITE,
					flags | mflags, -1, 0, &m);
		a = m;
	} else if (len < HUGE_LEN) {
		/* no whole block to align: placed where the kernel would place
		 * a mapping of this length, next to the last one */
		err = up__mmap_unlocked(hint, len, PROT_READ | PROT_WRITE,
					flags, -1, 0, &m);
		a = m;
	} else {
		err = up__mmap_unlocked(hint, len + HUGE_LEN,
					PROT_READ | PROT_WRITE, flags, -1, 0,
					&m);
		if (err)
			return err;
		lead = ((uintptr_t)r->off - (uintptr_t)m) & (HUGE_LEN - 1);
		a = (char *)m + lead;
		if (lead)
			up__munmap(m, lead);
		up__munmap(a + len, HUGE_LEN - lead);
	}
	if (err)
		return err;
	err = own(p, a, len);
	/* Pages move in only where the memory is read-write; a page-cache
	 * object's pages never do, and its own memory takes the mapping's
	 * protection, so that the kernel refuses what the mapping does not
	 * allow (and mlock(2) and MADV_POPULATE_* see what they would). */
	if (!err && r->obj->pc && r->prot != (PROT_READ | PROT_WRITE))
		err = up__mprotect(a, len, r->prot);
	if (err) {
		up__munmap(a, len);
		return err;
	}
	r->start = (uintptr_t)a;
	r->end = r->start + len;
	return 0;
}

/*
 * A page of a MAP_SHARED mapping of a file is never copied: the file's own
 * page-cache pages are mapped in its place (a file mapping over the part of
 * the page the region shows, with the region's protection), so the mapping
 * is the page cache, as with the kernel's mmap: read(2) and write(2) see
 * its stores and it sees theirs at once, its stores survive the process,
 * and the pager never writes a byte of the file itself.  The pager still
 * decides what is resident: the page holds a frame of the budget, and
 * leaving the mapping (eviction, a drop) puts the region's own registered
 * memory back over it, so that its next access faults to the pager again.
 *
 * Everything else is the kernel's, as with its own mmap: a store to a
 * read-only mapping raises SIGSEGV; system pages wholly past the end of
 * the file raise SIGBUS, and read again once the file has grown; a store
 * into a hole that finds the disk full raises SIGBUS; the kernel tracks
 * stores (the page is never PG_DIRTY here) and writes them to disk
 * (msync's fdatasync waits for that), and a sequential writer's page
 * starts its write-out when it is evicted, as a written-back page does.
 *
 * Each borrowed range is a mapping of its own, and splits the region's
 * mapping around it; neighbours with contiguous file offsets merge, so a
 * sequential stream is one mapping.  Scattered pages are not: the pages
 * borrowed in the process form no more than RUNS_MAX runs (of neighbours
 * in an object) at a time, about 33,000 mappings, half of
 * vm.max_map_count (65530); past it, borrowed pages are evicted to make
 * room (see borrow_room() in cache.c).
 */
static bool borrowable(struct up_pager *p, struct up_obj *o)
{
	(void)p;
	return o->pc;
}

/*
 * Whether o, whose first mapping r is being made, shows the page cache:
 * a mapping of a file that the kernel maps (a probe mapping asks it),
 * MAP_SHARED or MAP_PRIVATE (see cow_save()), in a pager that can put
 * memory back over a borrowed page.
 * Then all its pages are borrowed, in every mapping of it, whatever their
 * protection, however they are split: each mapping is the page cache
 * where it is resident, and the mapping's own memory elsewhere.
 */
bool up__solo_pc(struct up_pager *p, struct up_obj *o,
		 const struct up_region *r)
{
	void *m;

	int flags = r->flags & MAP_SHARED ? MAP_SHARED : MAP_PRIVATE;

	if (p->mover_fd < 0 || o->fd < 0 || o->no_borrow ||
	    (o->kind == OBJ_FILE) != (flags == MAP_SHARED))
		return false;
	/* Where a private mapping's copies pass on their way back. */
	if (flags == MAP_PRIVATE && !p->cow_buf &&
	    up__mmap(NULL, SYS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, (void **)&p->cow_buf))
		return false;
	if (up__mmap_raw(NULL, SYS_PAGE, PROT_READ, flags, o->fd, 0, &m)) {
		o->no_borrow = true;
		return false;
	}
	up__munmap(m, SYS_PAGE);
	return true;
}

/* Whether o's pages are mapped from the page cache (then a store to a
 * read-only mapping needs no conversion: the kernel refuses it). */
bool up__solo_borrows(struct up_pager *p, struct up_obj *o)
{
	return o->solo && borrowable(p, o);
}

/* Whether the process borrows as many pages as it may: a page-cache
 * object's next page then takes the place of one (cache.c). */
bool up__solo_borrow_full(void)
{
	return atomic_load_explicit(&runs_nr, memory_order_relaxed) >=
	       RUNS_MAX;
}

/* Whether the file is mapped over page pg of o: borrowed, or lent. */
static bool file_over(struct up_pager *p, const struct up_obj *o, uint64_t pg)
{
	return pg < o->pages_nr &&
	       ((o->pflags[pg] & PG_LENT) ||
		((o->pflags[pg] & PG_RESIDENT) &&
		 p->frames[o->frame[pg] - 1].borrowed));
}

/* Page pg of o is borrowed (sign 1), or given back (-1): the runs of
 * borrowed (or lent) pages change by one, or not at all beside one, or by
 * one the other way between two. */
static void runs_add(struct up_pager *p, const struct up_obj *o, uint64_t pg,
		     int sign)
{
	int d = 1 - (pg > 0 && file_over(p, o, pg - 1)) -
		file_over(p, o, pg + 1);

	/* (A run borrowed in order changes nothing: no atomic then.) */
	if (d)
		atomic_fetch_add_explicit(&runs_nr, sign * d,
					  memory_order_relaxed);
}

/*
 * Put the region's own memory back over [a, a + len) (see spare_move()).
 * Should that fail (no memory for a spare or for the move), it is mapped
 * and registered in two steps: right, but a thread reading the page in
 * between could see zeros.  Only out of memory does this.
 */
/*
 * Mapping memory over a range drops the mlock(2) the program put on it:
 * which of its system pages were locked is noted first (a bit each, for
 * a page of up to 2 MiB; a larger one is locked whole if part of it was),
 * and they are locked again after.
 */
#define LOCKS_NR 512

struct locks {
	bool any, all;
	uint64_t bits[LOCKS_NR / 64];
};

static void locks_get(uintptr_t a, size_t len, struct locks *l)
{
	size_t i, n = len / SYS_PAGE;

	memset(l, 0, sizeof(*l));
	l->any = up__locked((void *)a, len);
	l->all = l->any && n > LOCKS_NR;
	for (i = 0; l->any && !l->all && i < n; i++)
		if (up__locked((void *)(a + i * SYS_PAGE), SYS_PAGE))
			l->bits[i / 64] |= 1ull << (i % 64);
}

/*
 * Registered memory is locked on fault (MLOCK_ONFAULT): locking must not
 * fault it in while the pager's lock is held.  A file's pages are locked
 * in at once, as mlock(2) does (which reads them, and copies those of a
 * private writable mapping, the faults it takes there being stores, so
 * that it fails where one fails), from `from` on; those before it on
 * fault, as the kernel leaves the pages that an mlock(2) which stopped at
 * a hole (ENOMEM) locked without populating.  Locked in now, they would be
 * copied before the file changes under them.
 */
static void locks_put(uintptr_t a, size_t len, const struct locks *l,
		      uintptr_t from)
{
	size_t i = 0, j, n = l->all ? 1 : len / SYS_PAGE;
	size_t unit = l->all ? len : SYS_PAGE;
	uintptr_t x, y, mid;

	while (l->any && i < n) {
		if (!l->all && !(l->bits[i / 64] & (1ull << (i % 64)))) {
			i++;
			continue;
		}
		for (j = i + 1; j < n && !l->all &&
				(l->bits[j / 64] & (1ull << (j % 64)));
		     j++)
			;
		x = a + i * unit;
		y = a + j * unit;
		mid = from < x ? x : from > y ? y : from;
		if (mid > x)
			up__mlock_onfault((void *)x, mid - x);
		if (y > mid)
			up__mlock((void *)mid, y - mid);
		i = j;
	}
}

/*
 * Where the pages of [a, a + len) shown are locked in from (see
 * locks_put()): all of them (in), or, where an mlock(2) at work covers it,
 * from a store's page that is locked on: mlock(2) takes such faults as it
 * populates, in order.  A store to a page not locked, a store no mlock(2)
 * at work covers (to pages one that stopped at a hole left locked without
 * populating), or a load, is the program's.
 */
static uintptr_t lock_from(const struct locks *l, uintptr_t a, size_t len,
			   bool in, uintptr_t store)
{
	size_t i = (store - a) / SYS_PAGE;

	if (in)
		return a;
	if (store < a || store >= a + len || !up__mlock_covers(store) ||
	    !(l->all || (l->bits[i / 64] & (1ull << (i % 64)))))
		return a + len;
	return store & ~(SYS_PAGE - 1);
}

static void restore(struct up_pager *p, uintptr_t a, size_t len, int prot)
{
	struct locks l;
	void *m;

	locks_get(a, len, &l);
	if (spare_move(p, a, len) == 0) {
		locks_put(a, len, &l, a + len);
	} else if (up__mmap_raw((void *)a, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					MAP_FIXED,
				-1, 0, &m) == 0) {
		own(p, m, len);
		locks_put(a, len, &l, a + len);
	}
	/* A page-cache object's own memory has its mapping's protection
	 * (see up__solo_region()). */
	if (prot != (PROT_READ | PROT_WRITE))
		up__mprotect((void *)a, len, prot);
}

/*
 * A MAP_PRIVATE mapping of a file shows the page cache too, mapped private:
 * a page the program has not written shows the file as it is now (write(2)
 * and truncation included), and the program's first store to it makes the
 * kernel copy it, as with the kernel's own mmap.  Such a copy is the only
 * one: when its page leaves the mapping, each copied system page (the page
 * map tells which) is saved in the swap file and marked in o->cow, and it
 * is written into the mapping again when the page is shown, through
 * /proc/self/mem, which copies the page in place whatever the mapping's
 * protection.  A store by another thread to a page in the middle of its
 * eviction, after it is saved, is not saved.
 */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)

/*
 * Two bits per system page: COW_SAVED, its copy is in the swap file; and
 * COW_SHOWN, the file is mapped there now (the page map is the truth of
 * its copies only then: where the mapping's own memory is back, the page
 * map shows nothing, and the saved copies stand).  Each system page of a
 * private object is in one mapping.
 */
enum { COW_SAVED = 0, COW_SHOWN = 1 };

static bool cow_bit(const struct up_obj *o, uint64_t sp, int which)
{
	uint64_t bit = 2 * sp + (uint64_t)which;

	return o->cow[bit / 8] & (1u << (bit % 8));
}

static void cow_bit_set(struct up_obj *o, uint64_t sp, int which, bool on)
{
	uint64_t bit = 2 * sp + (uint64_t)which;

	if (on)
		o->cow[bit / 8] |= (uint8_t)(1u << (bit % 8));
	else
		o->cow[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static bool cow_get(const struct up_obj *o, uint64_t sp)
{
	return cow_bit(o, sp, COW_SAVED);
}

static void cow_set(struct up_obj *o, uint64_t sp, bool on)
{
	cow_bit_set(o, sp, COW_SAVED, on);
}

/* Whether part of object range [a, b) of a private object is shown. */
static bool cow_any_shown(const struct up_obj *o, off_t a, off_t b)
{
	uint64_t sp;

	for (sp = (uint64_t)a / SYS_PAGE; o->cow &&
					  sp < SYS_UP((uint64_t)b) / SYS_PAGE;
	     sp++)
		if (cow_bit(o, sp, COW_SHOWN))
			return true;
	return false;
}

/* Object range [a, b) of a private object is shown (the file mapped
 * there), or not (its own memory back). */
static void cow_shown(struct up_obj *o, off_t a, off_t b, bool on)
{
	uint64_t sp;

	if (o->kind == OBJ_FILE || !o->cow)
		return;
	for (sp = (uint64_t)a / SYS_PAGE; sp < SYS_UP((uint64_t)b) / SYS_PAGE;
	     sp++)
		cow_bit_set(o, sp, COW_SHOWN, on);
}

static int proc_fd(int *fd, const char *path, int flags)
{
	if (*fd < 0)
		*fd = up__open(path, flags, 0);
	return *fd;
}

/* Save the copied system pages of object range [a, b), at `at`: of those
 * shown there, the page map says which have copies; the marks of the
 * others stand. */
static int cow_save(struct up_pager *p, struct up_obj *o, uintptr_t at,
		    off_t a, off_t b)
{
	uint64_t ent[64], first = (uint64_t)a / SYS_PAGE;
	size_t n = (size_t)(b - a) / SYS_PAGE, i, j, k;

	if (proc_fd(&p->pagemap_fd, "/proc/self/pagemap", O_RDONLY) < 0 ||
	    proc_fd(&p->mem_fd, "/proc/self/mem", O_RDWR) < 0 ||
	    p->swap_fd < 0)
		return -EIO;
	for (i = 0; i < n; i += k) {
		k = n - i < 64 ? n - i : 64;
		if (pread(p->pagemap_fd, ent, k * sizeof(ent[0]),
			      (off_t)((at / SYS_PAGE + i) * sizeof(ent[0]))) !=
		    (ssize_t)(k * sizeof(ent[0])))
			return -EIO;
		for (j = 0; j < k; j++) {
			uint64_t sp = first + i + j;
			off_t to = o->swap_base + (off_t)(sp * SYS_PAGE);
			bool copy = (ent[j] & (PM_PRESENT | PM_SWAPPED)) &&
				    !(ent[j] & PM_FILE);

			if (!cow_bit(o, sp, COW_SHOWN))
				continue;

			/* Read through /proc/self/mem, whatever the
			 * mapping's protection. */
			if (copy &&
			    (pread(p->mem_fd, p->cow_buf, SYS_PAGE,
				   (off_t)(at + (i + j) * SYS_PAGE)) !=
				     (ssize_t)SYS_PAGE ||
			     up__pwrite(p->swap_fd, p->cow_buf, SYS_PAGE,
					to) != (ssize_t)SYS_PAGE))
				return -EIO;
			cow_set(o, sp, copy);
		}
	}
	return 0;
}

/* Page pg is in swap if one of its system pages is. */
static void cow_mark(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	uint64_t sp = pg * (pl(p) / SYS_PAGE), end = sp + pl(p) / SYS_PAGE;

	while (sp < end && !cow_get(o, sp))
		sp++;
	if (sp < end)
		o->pflags[pg] |= PG_INSWAP;
	else
		o->pflags[pg] &= (uint8_t)~PG_INSWAP;
}

/* Copy the saved system pages of object range [a, b) into the mapping at
 * `at`, through buf (a system page).  -EIO if one cannot be read back
 * (SIGBUS, as for a swapped page the kernel cannot read).  One that cannot
 * be written in (now past the end of the file, where the kernel drops
 * copies too) is forgotten. */
static int cow_restore(struct up_pager *p, struct up_obj *o, uintptr_t at,
		       off_t a, off_t b, char *buf)
{
	uint64_t sp;
	int err = 0;

	if (proc_fd(&p->mem_fd, "/proc/self/mem", O_RDWR) < 0)
		return -EIO;
	for (sp = (uint64_t)a / SYS_PAGE; sp < (uint64_t)b / SYS_PAGE; sp++) {
		off_t so = (off_t)(sp * SYS_PAGE);

		if (!cow_get(o, sp))
			continue;
		if (up__pread(p->swap_fd, buf, SYS_PAGE, o->swap_base + so) !=
		    (ssize_t)SYS_PAGE) {
			err = -EIO;
			break;
		}
		if (pwrite(p->mem_fd, buf, SYS_PAGE,
			   (off_t)(at + (uintptr_t)(so - a))) !=
		    (ssize_t)SYS_PAGE)
			cow_set(o, sp, false);
	}
	up__madvise(buf, SYS_PAGE, MADV_DONTNEED);
	return err;
}

/* A page with saved copies gets them before the program can see it
 * (up__map_file() moves it into place after). */
struct cow_job {
	struct up_pager *p;
	struct up_obj *o;
	off_t a, b;
};

static int cow_prep(void *arg, char *m)
{
	struct cow_job *j = arg;

	return cow_restore(j->p, j->o, (uintptr_t)m, j->a, j->b,
			   j->p->cow_buf);
}

/* Object range [a, b) of a private page-cache object is being unmapped:
 * nothing shows it from now on (mremap(2) may grow a mapping over it
 * again, with its own memory). */
void up__solo_unshown(struct up_pager *p, struct up_obj *o, off_t a, off_t b)
{
	(void)p;
	cow_shown(o, a, b, false);
}

/* MADV_DONTNEED on object range [a, b) of a private page-cache object:
 * the kernel drops the copies there, and the saved ones are forgotten. */
void up__solo_forget(struct up_pager *p, struct up_obj *o, off_t a, off_t b)
{
	uint64_t sp;

	(void)p;
	for (sp = (uint64_t)a / SYS_PAGE; sp < SYS_UP((uint64_t)b) / SYS_PAGE;
	     sp++)
		cow_set(o, sp, false);
}

/* The copies of every region in [start, end), written into m (which will
 * be moved to start). */
struct hand_job {
	struct up_pager *p;
	uintptr_t start, end;
	bool lock;		/* locked before it goes in place */
};

/* Whether every page of q in [x, y) inside the file (as it is now) is the
 * program's copy (saved, cow_get()). */
static bool copied_all(struct up_pager *p, const struct up_region *q,
		       uintptr_t x, uintptr_t y)
{
	off_t end = up__obj_valid_end(p, q->obj, true);
	uint64_t sp = (uint64_t)(q->off + (off_t)(x - q->start)) / SYS_PAGE;
	uint64_t last = (uint64_t)(q->off + (off_t)(y - q->start)) / SYS_PAGE;

	if (end < q->off + (off_t)(y - q->start))
		last = SYS_UP((uint64_t)end) / SYS_PAGE;
	for (; sp < last; sp++)
		if (!cow_get(q->obj, sp))
			return false;
	return true;
}

/*
 * Lock p's regions in [a, b), at `at` on, as the program locked them
 * (LOCK_*).  Ahead (before the mapping goes in place), on fault: what
 * matters there is that the lock keeps it from merging where it lands.
 * In place, a writable private mapping is locked on fault unless every
 * page is the program's copy: a populating lock writes, which would copy
 * pages the program never copied (past the end of the file when it
 * locked them, or dropped since).
 */
static void relock(struct up_pager *p, uintptr_t a, uintptr_t b, uintptr_t at,
		   bool ahead)
{
	size_t i;

	for (i = up__region_first(p, a);
	     i < p->regions_nr && p->regions[i]->start < b; i++) {
		const struct up_region *q = p->regions[i];
		uintptr_t x = q->start > a ? q->start : a;
		uintptr_t y = q->end < b ? q->end : b;

		if (ahead || q->locked != LOCK_ON ||
		    ((q->prot & PROT_WRITE) && !copied_all(p, q, x, y)))
			up__mlock_onfault((void *)(at + (x - a)), y - x);
		else
			up__mlock((void *)(at + (x - a)), y - x);
	}
}

static int hand_prep(void *arg, char *m)
{
	struct hand_job *j = arg;
	struct up_pager *p = j->p;
	size_t i;
	int err = 0;

	/* A mapping with an anon_vma (a store faulted in it, which may have
	 * copied nothing: refused past the end of the file) gets one first,
	 * before the copies go in, so that it merges with no neighbour that
	 * has another, as the program's would not. */
	for (i = up__region_first(p, j->start);
	     i < p->regions_nr && p->regions[i]->start < j->end; i++)
		if (p->regions[i]->anon) {
			up__anon_vma_give(m);
			break;
		}
	for (i = up__region_first(p, j->start);
	     !err && i < p->regions_nr && p->regions[i]->start < j->end; i++) {
		const struct up_region *q = p->regions[i];

		err = cow_restore(p, q->obj, (uintptr_t)m + (q->start - j->start),
				  q->off, q->off + (off_t)(q->end - q->start),
				  p->cow_buf);
	}
	if (!err && j->lock)
		relock(p, j->start, j->end, (uintptr_t)m, true);
	return err;
}

/*
 * Make [r->start, end) of private region r and the regions after it there
 * (of its object, or of another private object of the same file, where
 * mremap(2) grew it) the kernel's own mapping of its file, one mapping,
 * as it shows: their pages are out of them already (their copies saved),
 * and the copies are written in again.  For fork(), whose child inherits
 * it.
 */
int up__solo_hand(struct up_pager *p, struct up_region *r, uintptr_t end)
{
	/* Made writable first where the program's was once: the kernel's
	 * mapping keeps its accounting (VM_ACCOUNT) through mprotect(2),
	 * and merges only with mappings that have it too. */
	int prot = r->accounted ? r->prot | PROT_WRITE : r->prot;
	struct hand_job cp = { .p = p, .start = r->start, .end = end,
			       .lock = true };
	struct up_region *q;
	struct up_run *locks;
	size_t locks_nr, i;
	int err;

	err = up__locks_take(r->start, end - r->start, &locks, &locks_nr);
	if (err)
		return err;
	for (q = r; q && q->start < end; q = up__region_find(p, q->end))
		cp.lock = cp.lock && q->locked;
	err = up__map_file((void *)r->start, end - r->start, prot,
			   MAP_PRIVATE | (r->flags & MAP_NORESERVE), r->obj->fd,
			   r->off, 0, 0, r->advice == MADV_RANDOM, hand_prep,
			   &cp);
	/* Then each piece its own protection (they may differ, see
	 * fault-uffd.c's continues()). */
	for (q = r; !err && q && q->start < end;
	     q = up__region_find(p, q->end))
		if (prot != q->prot)
			err = up__mprotect((void *)q->start, q->end - q->start,
					   q->prot);
	if (!err)
		up__region_flags_to_kernel(r);
	for (i = 0; !err && i < locks_nr; i++)
		relock(p, locks[i].a, locks[i].a + locks[i].len, locks[i].a,
		       false);
	free(locks);
	return err;
}

/* Page pg of page-cache object o takes frame idx: nothing is read (the
 * kernel reads it when it is shown, or touched), and nothing is copied. */
static ssize_t borrow(struct up_pager *p, struct up_obj *o, uint64_t pg,
		      uint32_t idx)
{
	struct up_frame *f = &p->frames[idx];

	up__slot_release(p, idx);
	if (o->pflags[pg] & PG_LENT)
		lent_set(p, o, pg, false);	/* (the same runs) */
	else
		runs_add(p, o, pg, 1);
	f->borrowed = 1;
	p->st.page_cache++;
	f->mv_a = (off_t)(pg * pl(p));
	f->mv_b = f->mv_a + (off_t)pl(p);
	return (ssize_t)pl(p);
}

/* The object range [*a, *b) of page pg that r covers, at *at in r. */
static void span(struct up_pager *p, const struct up_region *r, uint64_t pg,
		 off_t *a, off_t *b, uintptr_t *at)
{
	off_t off = (off_t)(pg * pl(p));
	off_t end = r->off + (off_t)(r->end - r->start);

	*a = r->off > off ? r->off : off;
	*b = off + (off_t)pl(p) < end ? off + (off_t)pl(p) : end;
	*at = r->start + (uintptr_t)(*a - r->off);
}

/*
 * Whether the kernel has copied a page of r, a mapping of a private
 * page-cache object, for a store to the file shown there, or had and the
 * copy is saved: the kernel's mapping then has an anon_vma, though no
 * fault told the pager.
 */
bool up__solo_copied(struct up_pager *p, const struct up_region *r)
{
	const struct up_obj *o = r->obj;
	uint64_t ent[64], sp = (uint64_t)r->off / SYS_PAGE;
	size_t n = (r->end - r->start) / SYS_PAGE, i, j, k;

	if (!o || o->kind == OBJ_FILE || !o->cow)
		return false;
	for (i = 0; i < n; i += k) {
		bool shown = false;

		k = n - i < 64 ? n - i : 64;
		for (j = 0; j < k; j++) {
			if (cow_get(o, sp + i + j))
				return true;
			shown |= cow_bit(o, sp + i + j, COW_SHOWN);
		}
		if (!shown)
			continue;
		if (proc_fd(&p->pagemap_fd, "/proc/self/pagemap",
			    O_RDONLY) < 0 ||
		    pread(p->pagemap_fd, ent, k * sizeof(ent[0]),
			  (off_t)((r->start / SYS_PAGE + i) * sizeof(ent[0]))) !=
			    (ssize_t)(k * sizeof(ent[0])))
			return false;
		for (j = 0; j < k; j++)
			if (cow_bit(o, sp + i + j, COW_SHOWN) &&
			    (ent[j] & (PM_PRESENT | PM_SWAPPED)) &&
			    !(ent[j] & PM_FILE))
				return true;
	}
	return false;
}

/*
 * Whether resident page pg of r's page-cache object shows in r already:
 * then one of its system pages there is in memory (the pager's own memory
 * never is).  Shown again, a private page would lose its copies.
 */
bool up__solo_shown(struct up_pager *p, struct up_region *r, uint64_t pg)
{
	uint64_t ent[64];
	size_t n, i;
	uintptr_t at;
	off_t a, b;

	span(p, r, pg, &a, &b, &at);
	/* A private object knows: the page map cannot tell a page being
	 * copied by another thread's store this moment from none. */
	if (r->obj->kind != OBJ_FILE && r->obj->cow)
		return cow_any_shown(r->obj, a, b);
	for (; a < b; a += (off_t)(n * SYS_PAGE), at += n * SYS_PAGE) {
		n = (size_t)(b - a) / SYS_PAGE;
		n = n < 64 ? n : 64;
		if (proc_fd(&p->pagemap_fd, "/proc/self/pagemap",
			    O_RDONLY) < 0 ||
		    pread(p->pagemap_fd, ent, n * sizeof(ent[0]),
			      (off_t)(at / SYS_PAGE * sizeof(ent[0]))) !=
			    (ssize_t)(n * sizeof(ent[0])))
			return false;
		for (i = 0; i < n; i++)
			if (ent[i] & (PM_PRESENT | PM_SWAPPED))
				return true;
	}
	return false;
}

/*
 * Show resident pages [pg, pg + n) of r's page-cache object in r: map the
 * file over the part of them r covers, in one mapping, with r's
 * protection, and read in pages [in_pg, in_pg + in_n) where they lie
 * inside the file (past it, the kernel raises SIGBUS, or reads it once the
 * file has grown; the rest the kernel reads when it is touched).  A run
 * that covers an aligned 2 MiB block of a file the page cache holds in
 * 2 MiB folios is mapped by the kernel with one entry, as its own mmap(2)
 * would.
 * [*as, *ae) is where they now show.  Pages that cannot be read, or
 * mapped, get r's own memory back: -EIO, or -errno.
 */
int up__solo_show(struct up_pager *p, struct up_region *r, uint64_t pg,
		  unsigned n, uint64_t in_pg, unsigned in_n, uintptr_t store,
		  uintptr_t *as, uintptr_t *ae)
{
	struct cow_job cp;
	struct up_obj *o = r->obj;
	struct locks locked;
	bool swapped = false;
	off_t a, b, eof, b2, ia, ib;
	size_t in = 0;
	uintptr_t at, at2;
	unsigned i;
	int err;

	span(p, r, pg, &a, &b, &at);
	if (n > 1)
		span(p, r, pg + n - 1, &b2, &b, &at2);
	for (i = 0; i < n; i++)
		swapped |= (o->pflags[pg + i] & PG_INSWAP) != 0;
	eof = (off_t)SYS_UP((uint64_t)up__obj_valid_end(p, o, true));
	ia = (off_t)(in_pg * pl(p));
	ib = (off_t)((in_pg + in_n) * pl(p));
	ia = ia > a ? ia : a;
	ib = ib < b ? ib : b;
	ib = ib < eof ? ib : eof;
	/* Reading in needs read permission (a write-only mapping's pages
	 * come in when touched). */
	if ((r->prot & PROT_READ) && ib > ia)
		in = (size_t)(ib - ia);
	locks_get(at, (size_t)(b - a), &locked);
	cp.p = p;
	cp.o = o;
	cp.a = a;
	cp.b = b;
	/* MAP_NORESERVE as the program's: the kernel merges no mapping
	 * with one that differs in it, nor in the charge a private one
	 * takes when made writable. */
	err = up__map_file((void *)at, (size_t)(b - a), r->prot,
			   (o->kind == OBJ_FILE ? MAP_SHARED : MAP_PRIVATE) |
				   (r->flags & MAP_NORESERVE),
			   o->fd, a, in ? (size_t)(ia - a) : 0, in,
			   r->advice == MADV_RANDOM, swapped ? cow_prep : NULL,
			   &cp);
	if (!err) {
		locks_put(at, (size_t)(b - a), &locked,
			  lock_from(&locked, at, (size_t)(b - a),
				    o->kind == OBJ_FILE ||
					    !(r->prot & PROT_WRITE),
				    store));
		*as = at;
		*ae = at + (uintptr_t)(b - a);
		cow_shown(o, a, b, true);
	} else {
		restore(p, at, (size_t)(b - a), r->prot);
		cow_shown(o, a, b, false);
	}
	return err;
}

/*
 * Lent pages.  A mapping advised MADV_RANDOM touches its pages in no order
 * that read-ahead or the pager's page size can use, and each of its
 * faults costs the pager two replacements of the mapping (the file mapped
 * over the page, and at eviction the mapping's own memory put back,
 * through the mover) and two hand-overs between threads: about twice the
 * kernel's whole fault.  So a borrowed page of a MAP_SHARED file advised
 * so that the clock evicts keeps the file mapped: its page-table entries
 * are dropped (MADV_DONTNEED), and its page cache after them (cache.c).
 * The page is "lent": not resident, out of the budget, and an access there
 * is the kernel's own fault, which reads what is touched as its mmap(2)
 * would.  The first page lent lends every page of the object that is not
 * resident (lend_all()): the mapping becomes the kernel's mapping of the
 * file, one mapping, and the pager takes no fault there.  It looks at what
 * the kernel's faults brought into lent pages every few milliseconds
 * (up__solo_lent_scan(), from a service thread, PAGEMAP_SCAN), and counts
 * it in the budget by the system page, beside its frames: past the
 * budget, lent pages leave memory again.  So the budget holds to within
 * what the program faults in between two looks.
 *
 * Only where nothing must be kept: not a private mapping's page (its
 * copies are saved and put back, cow_save()), not a locked one (the
 * kernel's mlock(2) keeps it in), and not past RUNS_MAX runs (a lent run
 * is one of the kernel's mappings, as a borrowed run is).
 */

/* Page pg of o is lent, or (on false) no longer. */
static void lent_set(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     bool on)
{
	uint64_t one = 1;

	if (!on) {
		o->pflags[pg] &= (uint8_t)~(PG_LENT | PG_SEEN);
		o->lent_nr--;
		atomic_fetch_sub(&p->lent_nr, 1);
		return;
	}
	o->pflags[pg] |= PG_LENT;
	o->lent_nr++;
	/* The first: a service thread starts looking (fault-uffd.c). */
	if (atomic_fetch_add(&p->lent_nr, 1) == 0 && p->event_fd >= 0 &&
	    write(p->event_fd, &one, sizeof(one)) < 0)
		one = 0;	/* (full: it is awake already) */
}

/* Whether the kernel can say which pages are in memory (PAGEMAP_SCAN,
 * Linux 6.7): without it, lent pages could not be taken back into the
 * budget, and none is lent.  0 until asked, then 1 or -1. */
static atomic_int scan_works;

static bool scan_ok(struct up_pager *p)
{
	struct up_run run;
	uintptr_t at = (uintptr_t)&run & ~(uintptr_t)(SYS_PAGE - 1), next;
	int v = atomic_load(&scan_works);

	if (!v && proc_fd(&p->pagemap_fd, "/proc/self/pagemap",
			  O_RDONLY) >= 0) {
		v = up__present_runs(p->pagemap_fd, at, at + SYS_PAGE, &run, 1,
				     &next) < 0
			    ? -1
			    : 1;
		atomic_store(&scan_works, v);
	}
	return v > 0;
}

/* Whether borrowed pages [pg, pg + n) of o may be lent. */
static bool lendable(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     uint64_t n)
{
	off_t a0 = (off_t)(pg * pl(p)), b0 = (off_t)((pg + n) * pl(p));
	struct up_region *r;

	if (o->kind != OBJ_FILE || !scan_ok(p))
		return false;
	for (r = o->regions; r; r = r->obj_next) {
		off_t a = r->off > a0 ? r->off : a0;
		off_t b = r->off + (off_t)(r->end - r->start);

		b = b < b0 ? b : b0;
		if (a >= b)
			continue;
		if (r->advice != MADV_RANDOM)
			return false;
		if (up__locked((void *)(r->start + (uintptr_t)(a - r->off)),
			       (size_t)(b - a)))
			return false;
	}
	return true;
}

/*
 * The first page of o lent lends the rest too: the file is mapped over
 * every page that holds the mapping's own memory, in every mapping of it
 * advised so, in runs of up to 2 MiB (a lock noted a system page each;
 * see locks_get()), locked on fault where the memory was locked.
 */
#define LEND_RUN ((off_t)2 << 20)

static void unborrow(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     struct up_frame *f, bool lend);

static void lend_all(struct up_pager *p, struct up_obj *o, uint64_t run,
		     uint64_t run_n)
{
	uint64_t pg;
	struct up_region *r;

	for (r = o->regions; r; r = r->obj_next) {
		off_t end = r->off + (off_t)(r->end - r->start);
		uint64_t last = up__pgno(p, end - 1);
		uint64_t e, i;
		struct locks l;
		off_t a, b, x;
		uintptr_t at, at2;

		if (r->advice != MADV_RANDOM)
			continue;
		for (pg = up__pgno(p, r->off); pg <= last; pg = e) {
			if (file_over(p, o, pg)) {
				e = pg + 1;
				continue;
			}
			span(p, r, pg, &a, &b, &at);
			for (e = pg + 1; e <= last && !file_over(p, o, e) &&
					 (off_t)((e + 1 - pg) * pl(p)) <= LEND_RUN;
			     e++)
				span(p, r, e, &x, &b, &at2);
			locks_get(at, (size_t)(b - a), &l);
			if (up__map_file((void *)at, (size_t)(b - a), r->prot,
					 MAP_SHARED | (r->flags & MAP_NORESERVE),
					 o->fd, a, 0, 0,
					 r->advice == MADV_RANDOM, NULL, NULL)) {
				restore(p, at, (size_t)(b - a), r->prot);
				continue;
			}
			locks_put(at, (size_t)(b - a), &l, at + (size_t)(b - a));
			if (r->advice != MADV_NORMAL && r->advice != MADV_RANDOM)
				up__madvise((void *)at, (size_t)(b - a),
					    r->advice);
			for (i = pg; i < e; i++) {
				runs_add(p, o, i, 1);
				lent_set(p, o, i, true);
			}
		}
	}
	/* Its resident pages, shown already, are lent as they stand: what
	 * they hold is counted by the system page from now on, and they
	 * leave memory in their turn (up__solo_lent_scan()); the evicting
	 * caller gives up their frames (cache.c, lent_frames_go()).  (Not
	 * those it is evicting, nor those in use.) */
	for (pg = 0; pg < o->pages_nr; pg++) {
		struct up_frame *f;

		if (!(o->pflags[pg] & PG_RESIDENT) ||
		    (pg >= run && pg < run + run_n))
			continue;
		f = &p->frames[o->frame[pg] - 1];
		if (!f->borrowed || f->pin || !lendable(p, o, pg, 1))
			continue;
		unborrow(p, o, pg, f, true);
		o->lent_frames = true;
	}
}

/* Frame f of page pg of o stops borrowing: the page cache is no longer
 * mapped in its place, or (lend) is mapped there with no page. */
static void unborrow(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     struct up_frame *f, bool lend)
{
	f->borrowed = 0;
	if (lend)
		lent_set(p, o, pg, true);
	else
		runs_add(p, o, pg, -1);
	p->st.page_cache--;
	f->mv_a = f->mv_b = 0;
}

/*
 * Object range [a, b) of r is being unmapped (r NULL: o is going away):
 * its lent pages that no other mapping shows are lent no more.
 */
void up__solo_unlend(struct up_pager *p, struct up_obj *o,
		     const struct up_region *r, off_t a, off_t b)
{
	uint64_t pg, last;
	size_t i;

	/* (Its pages leave the queue with it.) */
	for (i = 0; !r && i < p->lent_len; i++)
		if (p->lent_q[(p->lent_head + i) % p->lent_cap].obj == o)
			p->lent_q[(p->lent_head + i) % p->lent_cap].obj = NULL;
	if (!o->lent_nr)
		return;
	pg = r ? up__pgno(p, a) : 0;
	last = r ? up__pgno(p, b - 1) : o->pages_nr - 1;
	for (; pg <= last && pg < o->pages_nr; pg++) {
		const struct up_region *q;
		bool shown = false;

		if (!(o->pflags[pg] & PG_LENT))
			continue;
		for (q = o->regions; r && q && !shown; q = q->obj_next) {
			off_t sa, sb;
			uintptr_t at;

			span(p, q, pg, &sa, &sb, &at);
			shown = sa < sb && (q != r || sa < a || sb > b);
		}
		if (shown)
			continue;
		runs_add(p, o, pg, -1);
		lent_set(p, o, pg, false);
	}
}

/* Lent page pg of o joins the queue of those in memory (see below). */
static void lent_seen(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	struct up_lent *q;
	size_t i, cap;

	if (p->lent_len == p->lent_cap) {
		cap = p->lent_cap ? 2 * p->lent_cap : 1024;
		q = malloc(cap * sizeof(*q));
		if (!q)
			return;	/* (not queued: it stays until seen again) */
		for (i = 0; i < p->lent_len; i++)
			q[i] = p->lent_q[(p->lent_head + i) % p->lent_cap];
		free(p->lent_q);
		p->lent_q = q;
		p->lent_cap = cap;
		p->lent_head = 0;
	}
	p->lent_q[(p->lent_head + p->lent_len++) % p->lent_cap] =
		(struct up_lent){ o, pg };
	o->pflags[pg] |= PG_SEEN;
}

/*
 * System pages of lent pages of o in [x, y) of r that are in memory; with
 * mark, each such page not queued yet joins the queue.
 */
static uint64_t lent_in(struct up_pager *p, struct up_obj *o,
			const struct up_region *r, uintptr_t x, uintptr_t y,
			bool mark)
{
	struct up_run runs[64];
	uintptr_t next, a, b, at;
	uint64_t n = 0, pg;
	off_t sa, sb;
	long k, i;

	for (; x < y; x = next) {
		k = up__present_runs(p->pagemap_fd, x, y, runs, 64, &next);
		for (i = 0; i < k; i++)
			for (a = runs[i].a; a < runs[i].a + runs[i].len; a = b) {
				pg = up__pgno(p, r->off + (off_t)(a - r->start));
				span(p, r, pg, &sa, &sb, &at);
				b = at + (uintptr_t)(sb - sa);
				b = b < runs[i].a + runs[i].len
					    ? b
					    : runs[i].a + runs[i].len;
				if (!(o->pflags[pg] & PG_LENT))
					continue;
				n += (b - a) / SYS_PAGE;
				if (mark && !(o->pflags[pg] & PG_SEEN))
					lent_seen(p, o, pg);
			}
		if (k < 0 || next <= x)
			break;
	}
	return n;
}

/* Lent pages [pg, pg + n) of o leave memory in every mapping of them,
 * and the page cache (what is dirty there once written, its write-out
 * started): how many system pages they had in. */
static uint64_t lent_out(struct up_pager *p, struct up_obj *o, uint64_t pg,
			 uint64_t n)
{
	struct up_region *r;
	uint64_t in = 0, k, i, e;
	bool written = false;
	off_t a, b, x;
	uintptr_t at, at2;

	for (r = o->regions; r; r = r->obj_next)
		for (i = pg; i < pg + n && i < o->pages_nr; i = e + 1) {
			/* A run of lent pages at a time. */
			for (; i < pg + n && i < o->pages_nr &&
			       !(o->pflags[i] & PG_LENT);
			     i++)
				;
			for (e = i; e + 1 < pg + n && e + 1 < o->pages_nr &&
				    (o->pflags[e + 1] & PG_LENT);
			     e++)
				;
			if (i >= pg + n || i >= o->pages_nr)
				break;
			span(p, r, i, &a, &x, &at);
			span(p, r, e, &x, &b, &at2);
			if (a >= b)
				continue;
			k = lent_in(p, o, r, at, at + (uintptr_t)(b - a),
				    false);
			if (k && !up__madvise((void *)at, (size_t)(b - a),
					      MADV_DONTNEED))
				in += k;
			written |= k && (r->prot & PROT_WRITE);
		}
	for (i = pg; i < pg + n && i < o->pages_nr; i++)
		o->pflags[i] &= (uint8_t)~PG_SEEN;
	if (written)
		up__sync_range(o->fd, (off_t)(pg * pl(p)), (off_t)(n * pl(p)));
	if (in)
		up__drop_cache(o->fd, (off_t)(pg * pl(p)), (off_t)(n * pl(p)));
	return in;
}

/* Past an eighth of the budget over it, the program faults faster than
 * pages leave one at a time (a sparse file's holes cost the kernel next
 * to nothing): they leave LEND_CATCH_UP at a time, in one call each. */
#define LEND_CATCH_UP ((uint64_t)2 << 20)

/*
 * What the lent pages have in memory counts in the budget by the system
 * page, as the kernel's faults brought it in: a page touched once is 4 KiB
 * of memory, not a pager page.  Each lent page found in memory joins a
 * queue; over the budget, with what its frames hold, the oldest in the
 * queue leave memory again until it fits (first in, first out: no fault
 * says which are in use), for LENT_SCAN_NS at a time, the pager's lock
 * held: what is left over is taken up again at once (2), after the lock
 * was let go, without looking again.  Returns 0 if nothing changed, 1 if
 * something did.
 */
#define LENT_SCAN_NS 2000000ull

int up__solo_lent_scan(struct up_pager *p)
{
	uint64_t in = 0, out = 0, k, c, t0;
	struct up_region *r;
	struct up_obj *o;
	int64_t over;
	bool moved;

	if (!atomic_load(&p->lent_nr) ||
	    proc_fd(&p->pagemap_fd, "/proc/self/pagemap", O_RDONLY) < 0)
		return 0;
	if (p->lent_over > 0) {
		over = p->lent_over;
		in = p->lent_in;
	} else {
		for (o = p->objs; o; o = o->next)
			for (r = o->regions; o->lent_nr && r; r = r->obj_next)
				in += lent_in(p, o, r, r->start, r->end, true);
		over = (int64_t)((p->frames_used * pl(p) + in * SYS_PAGE) -
				 p->frames_nr * pl(p));
	}
	t0 = up__now_ns();
	while (over > 0 && p->lent_len && up__now_ns() - t0 < LENT_SCAN_NS) {
		struct up_lent e = p->lent_q[p->lent_head];

		p->lent_head = (p->lent_head + 1) % p->lent_cap;
		p->lent_len--;
		if (!e.obj || (e.obj->pflags[e.pg] & (PG_LENT | PG_SEEN)) !=
				      (PG_LENT | PG_SEEN))
			continue;
		c = over > (int64_t)(p->frames_nr * pl(p) / 8) &&
				    LEND_CATCH_UP > pl(p)
			    ? LEND_CATCH_UP / pl(p)
			    : 1;
		k = lent_out(p, e.obj, e.pg / c * c, c);
		over -= (int64_t)(k * SYS_PAGE);
		out += k;
		if (k)
			UP_STAT(p, up__obj_region(e.obj,
						  (off_t)(e.pg * pl(p))),
				evictions, 1);
	}
	/* (Looked at again soon while anything changed.) */
	moved = in != p->lent_in || out;
	p->lent_in = in > out ? in - out : 0;
	p->lent_over = p->lent_len ? over : 0;
	return p->lent_over > 0 ? 2 : moved;
}

/*
 * Object range [a, b) of r is being unmapped; resident page pg of r's
 * page-cache object lies in it.  Returns true if the page shows nowhere
 * else (in no other mapping of the object, nor in r outside [a, b)): it
 * is then given up as it is, since its memory goes with the range, and
 * its private copies there with it.  False: it stays resident for the
 * mappings that still show it, and nothing is done.
 */
bool up__solo_let_go(struct up_pager *p, struct up_region *r, uint64_t pg,
		     off_t a, off_t b)
{
	struct up_obj *o = r->obj;
	struct up_frame *f = &p->frames[o->frame[pg] - 1];
	const struct up_region *q;

	for (q = o->regions; q; q = q->obj_next) {
		off_t sa, sb;
		uintptr_t at;

		span(p, q, pg, &sa, &sb, &at);
		if (sa < sb && (q != r || sa < a || sb > b))
			return false;
	}
	unborrow(p, o, pg, f, false);
	return true;
}

bool up__solo_borrowed(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	return (o->pflags[pg] & PG_RESIDENT) &&
	       p->frames[o->frame[pg] - 1].borrowed;
}

/* Read page pg into its frame's slot; returns the bytes of content. */
ssize_t up__solo_fill(struct up_pager *p, struct up_obj *o, uint64_t pg,
		      uint32_t idx)
{
	off_t off = (off_t)(pg * pl(p));
	char *s = slot(p, idx);
	ssize_t n;

	if (borrowable(p, o))
		return borrow(p, o, pg, idx);
	/* (The slot holds an older page: the tail of the last system page
	 * past the end is cleared.) */
	if (o->pflags[pg] & PG_INSWAP)
		n = up__store_fill(&p->swap, s, pl(p), o->swap_base + off, -1,
				   0);
	else if (o->store.ops)
		n = up__store_fill(&o->store, s, pl(p), off, -1, 0);
	else
		n = (ssize_t)pl(p), memset(s, 0, pl(p));
	p->frames[idx].slot_full = 1;
	return n;
}

static int move(struct up_pager *p, uintptr_t dst, uintptr_t src, size_t len)
{
	int tries = 0;

	while (len) {
		struct up_uffdio_move mv = {
			.dst = dst, .src = src, .len = len,
			.mode = UP_UFFDIO_MOVE_MODE_DONTWAKE,
		};
		int err = up__ioctl(p->uffd, UP_UFFDIO_MOVE, &mv);

		if (mv.move > 0) {
			dst += (uintptr_t)mv.move;
			src += (uintptr_t)mv.move;
			len -= (size_t)mv.move;
		}
		if (!err)
			return 0;
		/* A page briefly pinned (direct I/O) is busy: retry. */
		if ((err != -EAGAIN && err != -EBUSY) || ++tries > 1000)
			return err;
	}
	return 0;
}

/*
 * Copy [a, b) of the slot into a mapping, write-protected in the same
 * step (the caller frees the slot's copy, so the budget counts the page
 * once and the page can move back at eviction).  A clean page, or any
 * page of a read-only mapping, cannot be moved: UFFDIO_MOVE maps it
 * writable, and a store by another thread before the write-protect would
 * go unseen.
 */
static int copy_in(struct up_pager *p, uintptr_t dst, char *src, size_t len)
{
	while (len) {
		struct uffdio_copy c = {
			.dst = dst, .src = (uintptr_t)src, .len = len,
			.mode = UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP,
		};
		int err = up__ioctl(p->uffd, UFFDIO_COPY, &c);

		if (c.copy > 0) {
			dst += (uintptr_t)c.copy;
			src += c.copy;
			len -= (size_t)c.copy;
		}
		if (!err)
			break;
		/* A range that mlock(2) or mprotect(2) split into several
		 * VMAs is copied a system page at a time. */
		if (err == -ENOENT && len > SYS_PAGE) {
			for (; len; len -= SYS_PAGE, dst += SYS_PAGE,
				    src += SYS_PAGE)
				if ((err = copy_in(p, dst, src, SYS_PAGE)))
					return err;
			return 0;
		}
		if (err != -EAGAIN)
			return err;
	}
	return 0;
}

/*
 * Show page pg of r's object in r, `valid` bytes of it, unless it is there
 * already: a dirty page of a writable mapping is moved in from its slot;
 * any other is copied in write-protected (see copy_in()).
 */
int up__solo_map(struct up_pager *p, struct up_region *r, uint64_t pg,
		 size_t valid, uintptr_t *as, uintptr_t *ae)
{
	struct up_obj *o = r->obj;
	uint32_t idx = o->frame[pg] - 1;
	struct up_frame *f = &p->frames[idx];
	off_t off = (off_t)(pg * pl(p)), a, b;
	bool copy;
	char *src;
	int err;

	a = r->off > off ? r->off : off;
	b = off + (off_t)SYS_UP(valid);
	if (b > r->off + (off_t)(r->end - r->start))
		b = r->off + (off_t)(r->end - r->start);
	if (f->mv_b > f->mv_a) {
		/* Moved in already (by another thread's fault). */
		a = f->mv_a;
		b = f->mv_b;
	}
	if (a >= b)
		return 0;
	*as = r->start + (uintptr_t)(a - r->off);
	*ae = r->start + (uintptr_t)(b - r->off);
	if (f->mv_b > f->mv_a)
		return 0;
	src = slot(p, idx) + (a - off);
	copy = !(r->prot & PROT_WRITE) || !(o->pflags[pg] & PG_DIRTY);
	if (!copy) {
		/* A dirty page needs no protection: its next store is no
		 * news. */
		err = move(p, *as, (uintptr_t)src, (size_t)(b - a));
		/* UFFDIO_MOVE wants source and destination both mlock(2)ed
		 * or both not: into a locked mapping, the page is copied. */
		copy = err == -EINVAL;
	}
	if (copy) {
		err = copy_in(p, *as, src, (size_t)(b - a));
		if (!err)
			up__madvise(src, (size_t)(b - a), MADV_DONTNEED);
	}
	if (err)
		return err;
	f->mv_a = a;
	f->mv_b = b;
	/* What was not moved (past the mapping's ends) still uses memory. */
	f->slot_full = a != off || b != off + (off_t)pl(p);
	return 0;
}

/*
 * A missing fault at addr in page pg of anonymous solo region r, moved in
 * already: either another thread's fault moved it in meanwhile, and it is
 * there, or a call the pager did not see (madvise(2) straight to the
 * kernel) took that system page out of the mapping, where the kernel's
 * anonymous memory reads zeros from then on.  Then zeros go in (write-
 * protected if the page is clean, so that a store there is seen) and true
 * is returned; the access would otherwise fault again forever.
 */
bool up__solo_lost(struct up_pager *p, struct up_region *r, uint64_t pg,
		   uintptr_t addr)
{
	static const char zero[SYS_PAGE] __attribute__((aligned(SYS_PAGE)));
	const struct up_obj *o = r->obj;
	struct uffdio_copy c = {
		.dst = addr, .src = (uintptr_t)zero, .len = SYS_PAGE,
		.mode = UFFDIO_COPY_MODE_DONTWAKE,
	};
	uint64_t ent = 0;

	if (o->kind != OBJ_ANON || o->cow || o->fd >= 0 || o->store.ops ||
	    proc_fd(&p->pagemap_fd, "/proc/self/pagemap", O_RDONLY) < 0 ||
	    pread(p->pagemap_fd, &ent, sizeof(ent),
		  (off_t)(addr / SYS_PAGE * sizeof(ent))) != sizeof(ent) ||
	    (ent & (PM_PRESENT | PM_SWAPPED)))
		return false;
	if (!(o->pflags[pg] & PG_DIRTY))
		c.mode |= UFFDIO_COPY_MODE_WP;
	return up__ioctl(p->uffd, UFFDIO_COPY, &c) == 0;
}

/*
 * Where page pg's content is now: the object range [*a, *b) of it that is
 * in memory, at the returned address (in the mapping, or in its slot).
 */
char *up__solo_data(struct up_pager *p, struct up_obj *o, uint64_t pg,
		    off_t *a, off_t *b)
{
	uint32_t idx = o->frame[pg] - 1;
	struct up_frame *f = &p->frames[idx];
	struct up_region *r = o->regions;

	if (f->mv_b > f->mv_a && r) {
		*a = f->mv_a;
		*b = f->mv_b;
		return (char *)(r->start + (uintptr_t)(f->mv_a - r->off));
	}
	*a = (off_t)(pg * pl(p));
	*b = *a + (off_t)pl(p);
	return slot(p, idx);
}

/* Move len bytes at `from` in a mapping back to `to` in a slot.  From a
 * mapping mlock(2) locked they cannot be moved (see up__solo_map()):
 * they are copied, and dropped there. */
static int move_out(struct up_pager *p, char *to, uintptr_t from, size_t len)
{
	int err = move(p, (uintptr_t)to, from, len);

	if (err != -EINVAL)
		return err;
	err = up__copy_mapped(to, (const void *)from, len);
	return err ? err : up__madvise((void *)from, len, MADV_DONTNEED_LOCKED);
}

/*
 * Fence [at, at + len) of private region r for its copies to be saved: a
 * store by another thread between the save and the range's own memory
 * going back over it would be lost, so a writable range is made read-only
 * first, and such a store waits in signals.c's handler until the range
 * faults to the pager again.  The fence's slot, or -1 for none.
 */
static int fence_private(const struct up_region *r, uintptr_t at, size_t len)
{
	int slot;

	if (!(r->prot & PROT_WRITE))
		return -1;
	slot = up__fence(at, len);
	if (slot >= 0 && up__mprotect((void *)at, len, PROT_READ)) {
		up__fence_lift(slot);
		return -1;
	}
	return slot;
}

/*
 * Borrowed pages [pg, pg + n) of o leave every mapping that may show
 * them, which gets its own memory back over them in one step (a private
 * one's copies are saved first; one that cannot be stays mapped, outside
 * the budget, rather than lose them), and their frames stop borrowing.
 * Or, evicted by the clock (lend), they are lent where they may be (see
 * above).
 */
void up__solo_unmap_run(struct up_pager *p, struct up_obj *o, uint64_t pg,
			uint64_t n, bool lend)
{
	off_t a0 = (off_t)(pg * pl(p)), b0 = (off_t)((pg + n) * pl(p));
	struct up_region *r;
	uint64_t i;
	int fence;

	lend = lend && lendable(p, o, pg, n);
	if (lend && !o->lent_nr)
		lend_all(p, o, pg, n);
	lend = lend && !up__solo_borrow_full();

	for (r = o->regions; r; r = r->obj_next) {
		off_t a = r->off > a0 ? r->off : a0;
		off_t b = r->off + (off_t)(r->end - r->start);
		uintptr_t at = r->start + (uintptr_t)(a - r->off);

		b = b < b0 ? b : b0;
		if (a >= b)
			continue;
		if (o->kind == OBJ_FILE) {
			if (!lend || up__madvise((void *)at, (size_t)(b - a),
						 MADV_DONTNEED))
				restore(p, at, (size_t)(b - a), r->prot);
			continue;
		}
		/* A private page's copies are saved from a mapping that a
		 * store cannot change meanwhile (see fence_private()). */
		fence = fence_private(r, at, (size_t)(b - a));
		if (!cow_save(p, o, at, a, b)) {
			restore(p, at, (size_t)(b - a), r->prot);
			cow_shown(o, a, b, false);
		} else {
			o->err = -EIO;
			if (fence >= 0)
				up__mprotect((void *)at, (size_t)(b - a),
					     r->prot);
		}
		up__fence_lift(fence);
	}
	for (i = pg; i < pg + n; i++) {
		if (o->kind != OBJ_FILE)
			cow_mark(p, o, i);
		unborrow(p, o, i, &p->frames[o->frame[i] - 1], lend);
	}
}

/* Move page pg back from its mapping into its slot (a borrowed one: see
 * up__solo_unmap_run()). */
void up__solo_unmap_page(struct up_pager *p, struct up_obj *o, uint64_t pg,
			 bool lend)
{
	uint32_t idx = o->frame[pg] - 1;
	struct up_frame *f = &p->frames[idx];
	struct up_region *r = o->regions;
	off_t off = (off_t)(pg * pl(p));

	if (f->mv_b <= f->mv_a)
		return;
	if (f->borrowed) {
		up__solo_unmap_run(p, o, pg, 1, lend);
		return;
	}
	/* If the mapping is gone (unmapped behind our back), so are the
	 * pages: the slot is simply refilled next time. */
	if (r && move_out(p, slot(p, idx) + (f->mv_a - off),
			  r->start + (uintptr_t)(f->mv_a - r->off),
			  (size_t)(f->mv_b - f->mv_a)) == 0)
		f->slot_full = 1;
	f->mv_a = f->mv_b = 0;
}

/* A frame about to hold a shared-memory page gives up its slot's memory,
 * so that the budget counts each resident page once. */
void up__slot_release(struct up_pager *p, uint32_t idx)
{
	if (p->pool && p->frames[idx].slot_full) {
		up__madvise(slot(p, idx), pl(p), MADV_DONTNEED);
		p->frames[idx].slot_full = 0;
	}
}

/* Map r's range of o's memfd at `at` (anywhere if NULL), registered for
 * missing, minor and write-protect faults and left out of fork(). */
static int memfd_map(struct up_pager *p, struct up_obj *o,
		     const struct up_region *r, void *at, void **out)
{
	size_t len = r->end - r->start;
	struct uffdio_register reg = {
		.range = { .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING |
			UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP,
	};
	int err;

	err = up__mmap_raw(at, len, r->prot, MAP_SHARED | (at ? MAP_FIXED : 0),
			   o->memfd, r->off, out);
	if (err)
		return err;
	reg.range.start = (uintptr_t)*out;
	err = up__ioctl(p->uffd, UFFDIO_REGISTER, &reg);
	if (!err)
		err = up__madvise(*out, len, MADV_DONTFORK);
	if (err && !at)
		up__munmap(*out, len);
	return err;
}

/*
 * Put resident page pg of solo object o, whose content ends at `end`, into
 * its memfd: out of its mapping, written from its slot, the slot let go
 * (see up__obj_unsolo()).  False if it cannot be (its content is lost, or
 * there is no room in shared memory): it is clean, so the caller drops it,
 * to be read again when needed.
 */
bool up__solo_page_out(struct up_pager *p, struct up_obj *o, uint64_t pg,
		       off_t end)
{
	uint32_t idx = o->frame[pg] - 1;
	off_t off = (off_t)(pg * pl(p)), len;

	up__solo_unmap_page(p, o, pg, false);
	len = end - off < (off_t)pl(p) ? end - off : (off_t)pl(p);
	if (len <= 0 || !p->frames[idx].slot_full ||
	    up__pwrite(o->memfd, slot(p, idx), SYS_UP((size_t)len), off) < 0)
		return false;
	up__slot_release(p, idx);
	return true;
}

/*
 * The pages of o, solo no more, are in its memfd: its one mapping becomes
 * a mapping of the memfd at the same address.
 */
int up__solo_remap(struct up_pager *p, struct up_obj *o)
{
	struct up_region *r = o->regions;
	struct up_run *locks;
	size_t locks_nr;
	void *m;
	int err;

	if (!r)
		return 0;
	/* What mlock(2) locked stays locked, on fault: the pager's lock is
	 * held. */
	err = up__locks_take(r->start, r->end - r->start, &locks, &locks_nr);
	if (err)
		return err;
	/* The mapping of the memfd is made and registered out of the
	 * program's sight, then moved over the region in one step: made in
	 * place, it would show the memfd's holes as zeros to a thread
	 * reading there before it is registered (and keep them).  Without
	 * a mover (no remap event), it is made in place. */
	err = memfd_map(p, o, r, NULL, &m);
	if (!err) {
		err = up__move_mapping(p, m, r->end - r->start, r->start);
		if (err)
			up__munmap(m, r->end - r->start);
	}
	if (err)
		err = memfd_map(p, o, r, (void *)r->start, &m);
	up__locks_put(locks, err ? 0 : locks_nr, true);
	return err;
}

/* In a child after fork(): no page of a pager that does not share is
 * inherited, so none is borrowed; the spare and the mover were not
 * inherited either (the pool is made again). */
void up__solo_child(struct up_pager *p)
{
	/* The /proc files opened name the parent. */
	if (p->mem_fd >= 0)
		up__close(p->mem_fd);
	if (p->pagemap_fd >= 0)
		up__close(p->pagemap_fd);
	p->mem_fd = p->pagemap_fd = -1;
	p->mover_stack = NULL;	/* kept, as the service threads' stacks */
	atomic_store(&runs_nr, 0);
	atomic_store(&p->lent_nr, 0);
	p->lent_len = p->lent_head = 0;	/* (the objects are forgotten) */
	p->lent_over = 0;
	if (p->mover_fd >= 0)
		up__close(p->mover_fd);
	p->mover_fd = -1;
	if (p->spare)
		spare_free(p, p->spare);	/* its guards were inherited */
	p->spare = NULL;
}
