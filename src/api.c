/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public entry points: argument checks, the lifetime of pagers
 * and regions, the statistics, and the drop-in POSIX-style calls on the
 * default pager.
 *
 * Every call takes p->lock for its whole length; the backends and cache.c
 * assume it is held.  Arguments are checked before the lock is taken and
 * before anything is allocated, so a rejected call leaves nothing behind.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The flags MAP_SHARED_VALIDATE accepts on a file (the kernel's
 * LEGACY_MAP_MASK, with MAP_SYNC, which the file refuses or not). */
#define MAP_VALIDATE_OK                                                    \
	(MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |            \
	 MAP_EXECUTABLE | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE |     \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_SYNC | \
	 UP_MAP_ARCH | UP_MAP_HUGE_BITS)
/* Flags whose semantics the kernel's own mapping gives. */
#define MAP_FOR_KERNEL                                                     \
	(MAP_GROWSDOWN | MAP_LOCKED | MAP_HUGETLB | MAP_SYNC | UP_MAP_ARCH)
#define PROT_KNOWN (PROT_READ | PROT_WRITE | PROT_EXEC)

/* ---- statistics ----------------------------------------------------- */

static void fill_common(struct up_pager *p, struct up_stats *st)
{
	bool kern = p->ops == &up__kernel_ops;

	st->fill_ns_p50 = up__hist_pct(p, 50);
	st->fill_ns_p99 = up__hist_pct(p, 99);
	/* The kernel backend has no pager pages and no budget. */
	st->page_len = kern ? SYS_PAGE : p->cfg.page_len;
	st->budget_pages = kern ? 0 : p->frames_nr;
}

UP_EXPORT int up_pager_stats(struct up_pager *p, struct up_stats *st)
{
	if (!p || !st)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	*st = p->st;
	if (p->ops->kernel_mappings) {
		st->resident = st->dirty = st->page_cache = 0;
		p->ops->count(p, NULL, st);
	} else {
		struct up_obj *o;

		/* Shared caches count every process's pages. */
		for (o = p->objs; o; o = o->next)
			if (o->seg)
				up__seg_totals(o, &st->resident, &st->dirty);
	}
	fill_common(p, st);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

UP_EXPORT int up_pager_latency(struct up_pager *p,
				uint64_t counts[UP_LATENCY_NR])
{
	if (!p || !counts)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	up__hist_log2(p, counts, UP_LATENCY_NR);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

UP_EXPORT int up_mapping_stats(struct up_pager *p, const void *addr,
			       struct up_stats *st)
{
	struct up_region *r;

	if (!p || !st)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	r = up__region_find(p, (uintptr_t)addr);
	if (r) {
		*st = r->st;
		st->resident = st->dirty = st->page_cache = 0;
		p->ops->count(p, r, st);
		fill_common(p, st);
	}
	pthread_mutex_unlock(&p->lock);
	return r ? 0 : -EINVAL;
}

/* ---- pagers --------------------------------------------------------- */

UP_EXPORT void up_config_init(struct up_config *cfg)
{
	up__config_defaults(cfg, up__mem_usable());
}

static int config_check(const struct up_config *c)
{
	int err = up__config_check(c, UP_BACKEND_SIGNALS);

	if (err)
		return err;
	if (up__inline_refused(c->flags))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * fork().  Every open pager is on one list.  Before a fork the forking
 * thread takes every pager's lock, so that no fault service or call is
 * half done (and no shared segment is locked by this process) when the
 * child is made, and each pager makes ready what the child inherits (the
 * backend's fork_prepare).  The child then gives each pager a userfaultfd
 * and service threads of its own and takes over what it inherits (the
 * backend's fork_child).  If a child must copy pages of the parent's
 * private mappings, the parent keeps the locks until it has: a pipe that
 * the child writes (or closes, by dying) when it is done.
 */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct up_pager *all_pagers;
static atomic_int all_nr;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_pipe[2] = { -1, -1 };

static void lock_set(struct up_pager *p, uintptr_t a, uintptr_t b, int how);
static void lock_undo(struct up_pager *p, uintptr_t a, uintptr_t b);

static void fork_prepare(void)
{
	struct up_pager *p;
	bool copy = false;

	pthread_mutex_lock(&all_lock);
	for (p = all_pagers; p; p = p->all_next) {
		pthread_mutex_lock(&p->lock);
		if (p->ops->fork_prepare && p->ops->fork_prepare(p))
			copy = true;
	}
	/* Without the pipe the child copies nothing: those mappings fault
	 * there (see the backend's fork_child). */
	if (copy && up__pipe(fork_pipe))
		fork_pipe[0] = fork_pipe[1] = -1;
}

static void fork_parent(void)
{
	struct up_pager *p;
	char c;

	if (fork_pipe[1] >= 0) {
		/* The child's copy of the write end is the only one left:
		 * a byte or end of file says it is done (or that fork()
		 * failed). */
		up__close(fork_pipe[1]);
		while (read(fork_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		up__close(fork_pipe[0]);
		fork_pipe[0] = fork_pipe[1] = -1;
	}
	for (p = all_pagers; p; p = p->all_next)
		pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&all_lock);
}

/* In a child: what MADV_DONTFORK left out is not here at all. */
static void forget_dontfork(struct up_pager *p)
{
	size_t i;

	for (i = 0; i < p->regions_nr;) {
		struct up_region *r = p->regions[i];

		if (!r->dontfork) {
			i++;
			continue;
		}
		up__region_remove(p, r);
		if (r->obj)
			up__obj_unlink(r->obj, r);
		free(r);
	}
}

/* Whether a child of fork() maps r's memory afresh (shared memory again
 * from its segment, private anonymous memory copied), where the kernel's
 * child keeps its parent's mapping. */
static bool made_anew(const struct up_pager *p, const struct up_region *r)
{
	return r->obj && !p->ops->kernel_mappings &&
	       ((r->flags & MAP_SHARED) ||
		((r->flags & MAP_ANONYMOUS) && !r->obj->solo && !r->zero_file));
}

/*
 * In a child: no lock is inherited.  The kernel's child has its parent's
 * mappings unlocked, still split where mlock(2) split them: each locked
 * mapping is unlocked, and where the child maps the memory afresh (which
 * may make it one mapping of the kernel's), apart from its neighbours
 * until a call changes it (see kernel_apart()).  (locked_was marks, first,
 * a region that is one mapping with the one before.)
 */
static void unlock_inherited(struct up_pager *p)
{
	uint64_t id = 0;
	size_t i;

	for (i = p->regions_nr; i-- > 0;) {
		struct up_region *r = p->regions[i];

		r->locked_was = r->locked && i &&
				p->regions[i - 1]->locked &&
				up__one_mapping(p->regions[i - 1], r);
	}
	for (i = 0; i < p->regions_nr; i++) {
		struct up_region *r = p->regions[i];

		if (!r->locked)
			continue;
		if (!r->locked_was)
			id = ++p->anon_nr;
		if (made_anew(p, r))
			r->apart = id;
		r->locked = r->locked_was = 0;
	}
}

static void fork_child(void)
{
	bool copy = fork_pipe[1] >= 0;
	struct up_pager *p;

	up__lock_future = 0;	/* (not inherited) */
	up__mlocks_child();
	if (copy)
		up__close(fork_pipe[0]);
	for (p = all_pagers; p; p = p->all_next) {
		forget_dontfork(p);
		unlock_inherited(p);
		if (p->ops->fork_child)
			p->ops->fork_child(p, copy);
		pthread_mutex_unlock(&p->lock);
	}
	if (copy) {
		/* Should the byte not go, closing the pipe says the same. */
		ssize_t n = write(fork_pipe[1], "", 1);

		(void)n;
		up__close(fork_pipe[1]);
	}
	fork_pipe[0] = fork_pipe[1] = -1;
	pthread_mutex_unlock(&all_lock);
}

static void fork_setup(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void all_add(struct up_pager *p)
{
	pthread_once(&fork_once, fork_setup);
	pthread_mutex_lock(&all_lock);
	p->all_next = all_pagers;
	all_pagers = p;
	atomic_fetch_add(&all_nr, 1);
	pthread_mutex_unlock(&all_lock);
}

static void all_remove(struct up_pager *p)
{
	struct up_pager **pp;

	pthread_mutex_lock(&all_lock);
	for (pp = &all_pagers; *pp && *pp != p; pp = &(*pp)->all_next)
		;
	if (*pp) {
		*pp = p->all_next;
		atomic_fetch_sub(&all_nr, 1);
	}
	pthread_mutex_unlock(&all_lock);
}

UP_EXPORT int up_pager_open(struct up_pager **out, const struct up_config *cfg)
{
	struct up_pager *p;
	int err;

	if (!out || !cfg)
		return -EINVAL;
	err = config_check(cfg);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->event_fd = -1;
	p->mover_fd = -1;
	p->mem_fd = p->pagemap_fd = p->beyond_fd = -1;
	if (cfg->swap_dir) {
		p->cfg.swap_dir = p->swap_dir = strdup(cfg->swap_dir);
		if (!p->swap_dir) {
			free(p);
			return -ENOMEM;
		}
	}
	pthread_mutex_init(&p->lock, NULL);
	err = up__cache_init(p);
	if (!err) {
		err = up__backend_choose(p);
		if (err)
			up__cache_fini(p);
	}
	if (!err) {
		err = p->ops->open(p);
		if (err) {
			if (p->uffd >= 0)
				up__close(p->uffd);
			up__cache_fini(p);
		}
	}
	if (err) {
		pthread_mutex_destroy(&p->lock);
		free(p->swap_dir);
		free(p);
		return err;
	}
	all_add(p);
	*out = p;
	return 0;
}

UP_EXPORT const char *up_pager_backend(const struct up_pager *p)
{
	return p ? p->ops->name : "none";
}

UP_EXPORT const char *up_pager_note(const struct up_pager *p)
{
	return p ? p->note : "";
}

/* ---- regions -------------------------------------------------------- */

/* Split r at addr: r keeps [start, at), the new region gets [at, end). */
static int split(struct up_pager *p, struct up_region *r, uintptr_t at)
{
	struct up_region *n;
	int err;

	/* Two regions of one object share its pages through its memfd. */
	if (r->obj) {
		err = up__obj_unsolo(p, r->obj);
		if (err)
			return err;
	}
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *r;
	memset(&n->st, 0, sizeof(n->st));
	n->start = at;
	n->off = r->off + (off_t)(at - r->start);
	r->end = at;
	err = up__region_insert(p, n);
	if (err) {
		r->end = n->end;
		free(n);
		return err;
	}
	n->obj = NULL;
	if (r->obj)
		up__obj_attach(r->obj, n);
	return 0;
}

/* Make [a, b) of *r a region of its own, and *r that region. */
static int carve(struct up_pager *p, struct up_region **r, uintptr_t a,
		 uintptr_t b)
{
	int err = 0;

	if (a > (*r)->start) {
		err = split(p, *r, a);
		*r = up__region_find(p, a);
	}
	if (!err && b < (*r)->end)
		err = split(p, *r, b);
	return err;
}

static void region_free(struct up_pager *p, struct up_region *r, int *err)
{
	int e = 0;

	up__region_remove(p, r);
	if (r->obj)
		e = up__obj_detach(p, r->obj, r);
	if (e && !*err)
		*err = e;
	free(r);
}

/*
 * Hold [a, b) with inaccessible memory, in place of what is there (how is
 * MAP_FIXED) or only if nothing is (MAP_FIXED_NOREPLACE): the range a
 * fixed mapping is about to take, so that nothing the pager maps before it
 * (an object's view, a thread's stack) lands there.
 */
static int hold(uintptr_t a, uintptr_t b, int how)
{
	void *m;

	return up__mmap((void *)a, b - a, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | how, -1,
			0, &m);
}

/* Unmap [a, b): write back, forget the regions there, then munmap, or
 * with keep hold the range for a MAP_FIXED mapping (unless a write-back
 * failed: then it is unmapped, and the new mapping not made). */
static int unmap_range(struct up_pager *p, uintptr_t a, uintptr_t b,
		       bool keep)
{
	size_t i = up__region_first(p, a);
	struct up_region *r;
	int err = 0, e;

	/* A hole inside one region splits it; do that first, as the one
	 * step that can fail, so a failure changes nothing. */
	r = i < p->regions_nr ? p->regions[i] : NULL;
	if (r && r->start < a && r->end > b) {
		e = split(p, r, b);
		if (e)
			return e;
	}
	while (i < p->regions_nr && p->regions[i]->start < b) {
		uintptr_t ra, rb;

		r = p->regions[i];
		ra = a > r->start ? a : r->start;
		rb = b < r->end ? b : r->end;
		e = p->ops->unmap(p, r, ra, rb);
		if (e && !err)
			err = e;
		if (ra == r->start && rb == r->end) {
			region_free(p, r, &err);
			continue;
		}
		if (ra == r->start) {
			r->off += (off_t)(rb - r->start);
			r->start = rb;
		} else {
			r->end = ra;
		}
		i++;
	}
	if (keep && !err) {
		e = hold(a, b, MAP_FIXED);
		if (e)
			up__munmap((void *)a, b - a);
	} else {
		e = up__munmap((void *)a, b - a);
	}
	assert(up__cache_check(p));
	return err ? err : e;
}

/* check_map(): the kernel's own mmap(2) is to make this mapping. */
#define MAP_KERNEL 1

static int check_fd(int fd, struct stat *st, int *fl)
{
	*fl = fcntl(fd, F_GETFL);
	/* An O_PATH descriptor does not count as open for mmap(2). */
	if (*fl < 0 || (*fl & O_PATH) || up__fstat(fd, st))
		return -EBADF;
	return 0;
}

#define OFF_MAX ((off_t)1 << 40)

/*
 * Arguments upager does not serve itself go to the kernel's mmap(2), which
 * then gives the answer, mapping or error, exactly: flags with semantics
 * of their own (MAP_LOCKED, MAP_GROWSDOWN, MAP_HUGETLB, MAP_SYNC...),
 * mapping types other than shared and private (MAP_DROPPABLE), flags that
 * MAP_SHARED_VALIDATE refuses, and files other than regular files and
 * /dev/zero (devices, pipes, directories, /proc and /sys files).
 */
static bool kernel_kind(int flags, int fd, const struct stat *st, off_t off)
{
	int type = flags & MAP_TYPE;

	if (flags & MAP_FOR_KERNEL)
		return true;
	if (type != MAP_SHARED && type != MAP_PRIVATE &&
	    type != MAP_SHARED_VALIDATE)
		return true;
	if (flags & MAP_ANONYMOUS)
		return type == MAP_SHARED_VALIDATE;
	if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_VALIDATE_OK))
		return true;
	/* /dev/zero: anonymous memory; shared, it is an object of the
	 * mapping's length, which an offset leaves partly past its end. */
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 5))
		return type != MAP_PRIVATE && off != 0;
	/* An object covers its file from offset 0: past OFF_MAX, the
	 * kernel's own mapping. */
	if (off > OFF_MAX)
		return true;
	return !S_ISREG(st->st_mode) || !up__fs_mappable(fd);
}

/*
 * What mmap(2) would answer to these arguments, and in which order it
 * would refuse them (Linux 6.x: the offset's alignment, the descriptor,
 * the length, the address, the offset's range, then the descriptor's
 * mode).  Returns MAP_KERNEL when the mapping is the kernel's to make (see
 * kernel_kind()), which then checks everything else itself; otherwise 0
 * or the kernel's -errno.  *st and *fl describe fd (unless anonymous).
 */
/* mmap(2)'s checks of where a mapping goes: its length, a fixed address. */
static int check_place(void *addr, size_t len, int flags)
{
	uintptr_t top = up__task_size();

	if (!len)
		return -EINVAL;
	if (len > top)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if ((uintptr_t)addr > top - SYS_UP(len))
			return -ENOMEM;
		if (!SYS_ALIGNED(addr))
			return -EINVAL;
		if (up__below_min((uintptr_t)addr))
			return -EPERM;
	}
	if ((flags & MAP_FIXED_NOREPLACE) && up__range_used(addr, SYS_UP(len)))
		return -EEXIST;
	return 0;
}

static int check_map(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off, struct stat *st, int *fl)
{
	bool refused, anon_validate;
	int err, late;

	if (!SYS_ALIGNED(off))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS)) {
		err = check_fd(fd, st, fl);
		if (err)
			return err;
	}
	/* What the kernel refuses of the mappings it would make is refused
	 * here, before anything is unmapped (a MAP_FIXED range is unmapped
	 * before the kernel's mmap is asked), after the checks the kernel
	 * makes first: flags MAP_SHARED_VALIDATE does not know, that type
	 * for anonymous memory, and a file that is to grow down. */
	refused = (flags & MAP_TYPE) == MAP_SHARED_VALIDATE &&
		  !(flags & MAP_ANONYMOUS) && (flags & ~MAP_VALIDATE_OK);
	anon_validate = (flags & MAP_TYPE) == MAP_SHARED_VALIDATE &&
			(flags & MAP_ANONYMOUS);
	late = 0;
	if (flags & MAP_ANONYMOUS)
		anon_validate |= (flags & MAP_TYPE) != MAP_PRIVATE &&
				 (flags & MAP_GROWSDOWN);
	else if (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode) ||
		 S_ISDIR(st->st_mode))
		late = (prot & PROT_EXEC) && up__fs_noexec(fd) ? -EPERM
							       : -ENODEV;
	else if ((flags & MAP_GROWSDOWN) && S_ISREG(st->st_mode))
		late = -EINVAL;
	if (!refused && !anon_validate && !late &&
	    kernel_kind(flags, fd, st, off))
		return MAP_KERNEL;
	err = check_place(addr, len, flags);
	if (err)
		return err;
	if (flags & MAP_ANONYMOUS)
		return anon_validate ? -EINVAL : 0;
	if (off < 0 || (uint64_t)off + SYS_UP(len) > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	/* (A file kernel_kind() did not take: a directory, pipe or socket,
	 * which mmap(2) refuses, in this order.) */
	if (late && (flags & MAP_TYPE) != MAP_SHARED &&
	    (flags & MAP_TYPE) != MAP_PRIVATE &&
	    (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (refused || (late && (flags & MAP_TYPE) == MAP_SHARED_VALIDATE &&
			(flags & MAP_SYNC)))
		return -EOPNOTSUPP;
	if ((flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE) &&
	    (*fl & O_ACCMODE) == O_RDONLY)
		return -EACCES;
	if ((*fl & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	return late;
}

/* The region for a checked mapping, or NULL if out of memory. */
static struct up_region *region_new(void *addr, size_t len, int prot,
				    int flags, off_t off, int fl,
				    const struct stat *st, bool kern)
{
	static atomic_uint_fast64_t serial;
	struct up_region *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->serial = atomic_fetch_add(&serial, 1) + 1;
	if (kern) {
		/* The kernel gets every flag, MAP_POPULATE included. */
		r->flags = flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE);
		r->off = off;
		/* (What mremap(2) of it does not move: see remap_moves().) */
		r->zero_file = !(flags & MAP_ANONYMOUS) && !(flags & MAP_SHARED) &&
			       !S_ISREG(st->st_mode);
	} else {
		if (!(flags & MAP_ANONYMOUS) && !S_ISREG(st->st_mode)) {
			flags |= MAP_ANONYMOUS;		/* /dev/zero */
			r->zero_file = true;
		}
		if ((flags & MAP_TYPE) == MAP_SHARED_VALIDATE)
			flags = (flags & ~MAP_TYPE) | MAP_SHARED;
		/* Other flags change nothing here; unknown ones are ignored,
		 * as the kernel ignores them. */
		r->flags = flags & (MAP_TYPE | MAP_ANONYMOUS | MAP_NORESERVE);
		r->off = (flags & MAP_ANONYMOUS) ? 0 : off;
	}
	/* mmap(2) ignores unknown protection bits. */
	r->prot = kern ? prot : prot & PROT_KNOWN;
	r->may_write = kern || (flags & MAP_ANONYMOUS) ||
		       !(flags & MAP_SHARED) || (fl & O_ACCMODE) == O_RDWR;
	/* (MAP_NORESERVE: the kernel's mapping is never charged, unless
	 * vm.overcommit_memory is 2, which this does not follow.) */
	r->accounted = !(flags & (MAP_SHARED | MAP_NORESERVE)) &&
		       (prot & PROT_WRITE);
	r->advice = MADV_NORMAL;
	r->start = (uintptr_t)addr;
	r->end = r->start + SYS_UP(len);
	return r;
}

static int place(struct up_pager *p, const struct up_backend_ops *ops,
		 struct up_region *r, int fd, void *addr, int flags);

static bool adoptable(const struct up_pager *p, const struct up_region *r)
{
	return r->obj && !p->ops->kernel_mappings &&
	       (r->flags & MAP_ANONYMOUS) && !(r->flags & MAP_SHARED) &&
	       !r->zero_file && !r->pgdelta && r->prot != PROT_NONE &&
	       r->advice == MADV_NORMAL && !r->dontfork && !r->wipeonfork &&
	       !r->vmflags && !r->apart;
}

/* The most of the kernel's memory a pager takes over beside a mapping. */
#define ADOPT_MAX ((size_t)256 << 20)

/*
 * The kernel's own private anonymous memory beside private anonymous
 * region r, on one side (1 after r, 0 before it), that the kernel would
 * have made one mapping with r's (r->beside: the program placed r there):
 * alike, holding nothing but zeros, with no advice or lock, and no larger
 * than ADOPT_MAX (a reservation, most likely).  A call that names both,
 * mremap(2) of a range across them, takes it over here: it becomes r's
 * pager's, a region like r, and the call then resizes or moves the one
 * mapping whole.  Memory nobody names stays whoever's it is (a library's,
 * the allocator's), and so does memory with data.  Returns whether it
 * did.
 */
static bool adopt_beside(struct up_pager *p, struct up_region *r, int side)
{
	uintptr_t at = side ? r->end : r->start - 1, ks, ke, ks2, ke2;
	struct up_region *k = NULL;
	bool touched, ok;
	int prot, prot2, fence = -1;

	/* (Another pager's mappings may be the kernel's, which this one
	 * cannot look at.) */
	if (!r->beside || !adoptable(p, r) || atomic_load(&all_nr) != 1 ||
	    up__region_find(p, at) ||
	    !up__vma_zeros(at, ADOPT_MAX, &ks, &ke, &prot, &touched) ||
	    (side ? ks != r->end : ke != r->start) || prot != r->prot ||
	    !up__vma_plain(ks, r->accounted) ||
	    up__locked((void *)(side ? r->end - SYS_PAGE : r->start),
		       SYS_PAGE))
		return false;
	/* A store by another thread from here until the pager's memory is
	 * over it would be lost: the memory is fenced (made read-only, such
	 * a store waits in signals.c's handler and runs again once the
	 * pager's memory is there), and found all zeros again. */
	if (prot & PROT_WRITE) {
		fence = up__fence(ks, ke - ks);
		if (fence < 0 || up__mprotect((void *)ks, ke - ks, PROT_READ)) {
			up__fence_lift(fence);
			return false;
		}
	}
	ok = up__vma_zeros(at, ADOPT_MAX, &ks2, &ke2, &prot2, &touched) &&
	     ks2 <= ks && ke2 >= ke;
	if (ok)
		k = region_new((void *)ks, ke - ks, prot,
			       (r->flags &
				(MAP_TYPE | MAP_ANONYMOUS | MAP_NORESERVE)) |
				       MAP_FIXED,
			       0, O_RDWR, NULL, false);
	if (!k || place(p, p->ops, k, -1, (void *)ks, MAP_FIXED)) {
		if (fence >= 0)
			up__mprotect((void *)ks, ke - ks, prot);
		up__fence_lift(fence);
		free(k);
		return false;
	}
	up__fence_lift(fence);
	/* (Touched, it had an anon_vma: so has the mapping now.) */
	if (touched && !k->anon)
		up__region_anon(p, k);
	return true;
}

/*
 * Map region r (checked, p->lock held) with ops, from fd (or r->obj, set
 * already), and record it.  Replacing part of our own mapping: write it
 * back first, and refuse if that fails rather than lose the data.  A
 * fixed range is held from here until the backend maps over it.
 */
static int place(struct up_pager *p, const struct up_backend_ops *ops,
		 struct up_region *r, int fd, void *addr, int flags)
{
	int mflags = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE), err = 0;
	bool held = mflags != 0;	/* the range is held until mapped */

	if (flags & MAP_FIXED)
		err = unmap_range(p, r->start, r->end, true);
	else if (mflags && ops != &up__kernel_ops) {
		size_t i = up__region_first(p, r->start);

		err = hold(r->start, r->end, MAP_FIXED_NOREPLACE);
		/* Free in the kernel's eyes, yet a record of ours there: a
		 * mapping gone without us (left out of this child of a
		 * fork): forget it. */
		if (!err && i < p->regions_nr &&
		    p->regions[i]->start < r->end)
			err = unmap_range(p, r->start, r->end, true);
	} else
		held = false;	/* the kernel judges MAP_FIXED_NOREPLACE */
	if (!err) {
		err = ops->map(p, r, fd, addr, held ? MAP_FIXED : mflags);
		if (err && held)
			up__munmap(addr, r->end - r->start);
	}
	if (!err) {
		err = up__region_insert(p, r);
		if (err) {
			up__munmap((void *)r->start, r->end - r->start);
			if (r->obj)
				up__obj_detach(p, r->obj, r);
		} else {
			up__region_merged(p, r);
			/* (Where the program placed it: next to memory of
			 * its own, most likely, not a library's.) */
			r->beside = mflags && adoptable(p, r);
		}
	}
	return err;
}

/*
 * The kernel's mlock(2) (flags 0) or mlock2(2) of [addr, addr + len), made
 * again where it populated pages: a store that populating takes in a solo
 * object's memory (writable whatever its protection) makes it a shared
 * one (up__obj_unsolo()), whose new mapping the pager can lock on fault
 * only, holding its lock; the second call finds the object shared and
 * locks its mapping as the first would have.
 */
static long lock_in(const void *addr, size_t len, unsigned int flags)
{
	uint64_t seen = atomic_load(&up__unsolo_nr);
	int err = up__mlock2(addr, len, flags);

	if (!err && !(flags & MLOCK_ONFAULT) &&
	    atomic_load(&up__unsolo_nr) != seen)
		up__mlock2(addr, len, flags);
	if (err)
		errno = -err;
	return err ? -1 : 0;
}

/*
 * After mlockall(MCL_FUTURE), a new mapping the pager serves is locked
 * once it can be served (made, it was not: see up__mmap_unlocked()), its
 * pages faulted in as the kernel's mlock(2) faults them, within the
 * budget (see upager.h).
 */
static void lock_future(struct up_pager *p, void *a, size_t len)
{
	int future = up__lock_future;

	if (!future || p->ops->kernel_mappings || p->inline_faults)
		return;
	pthread_mutex_lock(&p->lock);
	lock_set(p, (uintptr_t)a, (uintptr_t)a + SYS_UP(len),
		 future & MCL_ONFAULT ? LOCK_ONFAULT : LOCK_ON);
	pthread_mutex_unlock(&p->lock);
	/* (Its faults need the lock.) */
	if ((future & MCL_ONFAULT) ? up__mlock_onfault(a, SYS_UP(len))
				   : (int)lock_in(a, SYS_UP(len), 0)) {
		pthread_mutex_lock(&p->lock);
		lock_undo(p, (uintptr_t)a, (uintptr_t)a + SYS_UP(len));
		pthread_mutex_unlock(&p->lock);
	}
}

UP_EXPORT int up_pager_map(struct up_pager *p, void *addr, size_t len,
			   int prot, int flags, int fd, off_t off, void **out)
{
	const struct up_backend_ops *ops;
	struct up_region *r;
	struct stat st;
	int err, fl = O_RDWR;

	if (!p || !out)
		return -EINVAL;
	err = check_map(addr, len, prot, flags, fd, off, &st, &fl);
	if (err < 0)
		return err;
	/* The kernel backend's mappings are all the kernel's, and the
	 * signals backend's too, served through it. */
	ops = err == MAP_KERNEL ? &up__kernel_ops : p->ops;
	if (p->ops->kernel_mappings)
		err = MAP_KERNEL;
	r = region_new(addr, len, prot, flags, off, fl, &st,
		       err == MAP_KERNEL);
	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	err = place(p, ops, r, fd, addr, flags);
	/* As the kernel populates: a private writable mapping for writing
	 * (each page its own copy), any other for reading. */
	if (!err && (flags & MAP_POPULATE) && r->obj)
		p->ops->advise(p, r, r->start, r->end,
			       (r->prot & PROT_WRITE) && !(r->flags & MAP_SHARED)
				       ? MADV_POPULATE_WRITE
				       : MADV_POPULATE_READ);
	pthread_mutex_unlock(&p->lock);
	if (err) {
		free(r);
		return err;
	}
	*out = (void *)r->start;
	lock_future(p, *out, len);
	return 0;
}

/* mmap(2)'s checks, for a mapping of a store (no descriptor). */
static int check_store(const struct up_store_ops *ops, void *addr, size_t len,
		       int prot, int flags, off_t off)
{
	int type = flags & MAP_TYPE, err;

	if (!ops || !ops->read || !ops->size || (flags & MAP_ANONYMOUS) ||
	    (type != MAP_SHARED && type != MAP_PRIVATE &&
	     type != MAP_SHARED_VALIDATE) ||
	    !SYS_ALIGNED(off))
		return -EINVAL;
	err = check_place(addr, len, flags);
	if (err)
		return err;
	if (off < 0 || (uint64_t)off + SYS_UP(len) > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_VALIDATE_OK))
		return -EOPNOTSUPP;
	if (type != MAP_PRIVATE && (prot & PROT_WRITE) && !ops->write)
		return -EACCES;
	return 0;
}

UP_EXPORT int up_pager_map_store(struct up_pager *p,
				 const struct up_store_ops *ops, void *ctx,
				 void *addr, size_t len, int prot, int flags,
				 off_t off, void **out)
{
	struct stat st = { .st_mode = S_IFREG };
	struct up_store s = { ops, ctx };
	struct up_region *r;
	struct up_obj *o;
	bool owned;
	int err;

	if (!p || !out)
		return -EINVAL;
	err = check_store(ops, addr, len, prot, flags, off);
	if (err)
		return err;
	/* Only a pager that serves faults can show a store, and not in the
	 * faulting thread's signal handler, where the store's calls (which
	 * allocate, lock, do I/O) would then run. */
	if ((p->ops->kernel_mappings && !p->ops->store_resize) ||
	    p->inline_faults)
		return -EOPNOTSUPP;
	r = region_new(addr, len, prot, flags & ~MAP_SYNC, off,
		       ops->write ? O_RDWR : O_RDONLY, &st, false);
	if (!r)
		return -ENOMEM;
	/* Not inherited: a child has no way to reach the store. */
	r->dontfork = true;
	pthread_mutex_lock(&p->lock);
	if (p->ops->kernel_mappings) {
		/* The backend maps the store itself (see making_store). */
		p->making_store = &s;
		err = place(p, p->ops, r, -1, addr, flags);
		p->making_store = NULL;
	} else {
		err = up__obj_store(p, ops, ctx, r->flags & MAP_SHARED, &o);
		if (!err) {
			/* (Kept while it has no region: a MAP_FIXED over the
			 * store's last mapping, or a failure, would free
			 * it.) */
			owned = o->regions != NULL;
			o->making = true;
			r->obj = o;
			err = place(p, p->ops, r, -1, addr, flags);
			o->making = false;
			if (err)
				up__obj_unmade(p, o, owned);
		}
	}
	if (!err)
		up__madvise((void *)r->start, r->end - r->start,
			    MADV_DONTFORK);
	pthread_mutex_unlock(&p->lock);
	if (err) {
		free(r);
		return err;
	}
	*out = (void *)r->start;
	lock_future(p, *out, len);
	return 0;
}

UP_EXPORT int up_pager_store_resize(struct up_pager *p,
				    const struct up_store_ops *ops, void *ctx,
				    off_t len)
{
	int err, store_err;
	struct up_obj *o;

	if (!p || !ops || len < 0)
		return -EINVAL;
	if (!ops->resize)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&p->lock);
	store_err = ops->resize(ctx, len);
	err = store_err > 0 ? -EIO : store_err;
	if (!store_err && p->ops->store_resize) {
		struct up_store s = { ops, ctx };

		err = p->ops->store_resize(p, &s, len);
	}
	for (o = p->objs; o && !store_err; o = o->next)
		if (o->store.ops == ops && o->store.ctx == ctx) {
			int e = up__obj_resized(p, o, len);

			err = err ? err : e;
		}
	up__frames_unpin(p);
	pthread_mutex_unlock(&p->lock);
	return err;
}

UP_EXPORT int up_pager_unmap(struct up_pager *p, void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	int err;

	if (!p || !SYS_ALIGNED(a) || !len || len > UINTPTR_MAX - a)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	err = unmap_range(p, a, a + SYS_UP(len), false);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/*
 * A range call on [a, b), run piece by piece in address order as the
 * kernel walks its mappings: fn on the part of each region, kern (the
 * kernel's own call) on each stretch between regions, which may hold the
 * kernel's memory or nothing.  Like the kernel, a hole (-ENOMEM from kern)
 * is reported at the end, after the pieces beyond it, unless STOP_HOLE;
 * the first other error is returned, after the rest unless STOP_ERR.  fn
 * may split the region it is given: the walk goes by address.
 */
typedef int (*piece_fn)(struct up_pager *, struct up_region *, uintptr_t,
			uintptr_t, int);
typedef int (*kernel_fn)(void *, size_t, int);

#define STOP_HOLE 1
#define STOP_ERR 2

static int walk(struct up_pager *p, uintptr_t a, uintptr_t b, piece_fn fn,
		kernel_fn kern, int arg, int stop)
{
	int err = 0, hole = 0, e;

	while (a < b) {
		size_t i = up__region_first(p, a);
		struct up_region *r = i < p->regions_nr ? p->regions[i] : NULL;
		uintptr_t end;

		if (r && r->start <= a) {
			end = r->end < b ? r->end : b;
			e = fn(p, r, a, end, arg);
		} else {
			end = r && r->start < b ? r->start : b;
			e = kern((void *)a, end - a, arg);
		}
		/* (A hole may be in a region too: one handed to the kernel
		 * at a fork and left out of this child.) */
		if (e == -ENOMEM) {
			hole = e;
			if (stop & STOP_HOLE)
				break;
			e = 0;
		}
		if (e && !err)
			err = e;
		if (e && (stop & STOP_ERR))
			break;
		a = end;
	}
	return err ? err : hole;
}

/* [*a, *b) for a range call; a range that wraps around the address space
 * is overflow (the kernel's errno for it: -EINVAL or -ENOMEM). */
static int range_args(struct up_pager *p, void *addr, size_t len,
		      uintptr_t *a, uintptr_t *b, int overflow)
{
	*a = (uintptr_t)addr;
	if (!p || !SYS_ALIGNED(*a) || len > UINTPTR_MAX - (SYS_PAGE - 1))
		return -EINVAL;
	*b = *a + SYS_UP(len);
	return *b < *a ? overflow : 0;
}

UP_EXPORT int up_pager_sync(struct up_pager *p, void *addr, size_t len,
			    int flags)
{
	uintptr_t a, b;
	int err = range_args(p, addr, len, &a, &b, -ENOMEM);

	if (err)
		return err;
	if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC))
		return -EINVAL;
	if (a == b)
		return 0;
	/* Every region's pages are written back even if one fails; msync(2)
	 * with exactly MS_ASYNC stops at a hole. */
	pthread_mutex_lock(&p->lock);
	/* The kernel refuses to invalidate pages mlock(2) locked. */
	if ((flags & MS_INVALIDATE) && up__locked((void *)a, b - a))
		err = -EBUSY;
	else
		err = walk(p, a, b, p->ops->sync, up__msync, flags,
			   flags == MS_ASYNC ? STOP_HOLE : 0);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/*
 * The regions around [a, b) whose kernel mapping has an anon_vma the
 * pager did not see it take: a store to a private mapping of a file,
 * where the file is shown, is the kernel's copy alone.  They take it now,
 * before the kernel's mappings are merged or measured.
 */
static void anon_learn(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i = up__region_first(p, a);

	for (i = i ? i - 1 : 0;
	     i < p->regions_nr && p->regions[i]->start <= b; i++) {
		struct up_region *r = p->regions[i];

		if (!r->anon && r->obj && !(r->flags & MAP_SHARED) &&
		    !(r->flags & MAP_ANONYMOUS) && up__solo_copied(p, r))
			up__region_anon(p, r);
	}
}

/* Fault in for writing the locked parts of what protect_piece() noted,
 * as the kernel faults in a locked private mapping made writable: each
 * page copied, and the mapping given an anon_vma. */
static void fill_done(struct up_pager *p)
{
	uintptr_t a = p->filling.a, b = a + p->filling.len;
	struct up_run *runs;
	size_t i, k, runs_nr;

	p->filling.len = 0;
	if (a >= b || up__locks_take(a, b - a, &runs, &runs_nr))
		return;
	for (i = 0; i < runs_nr; i++) {
		uintptr_t x = runs[i].a, y = x + runs[i].len;

		if (!up__locked_in((void *)x, y - x))
			continue;
		for (k = up__region_first(p, x);
		     k < p->regions_nr && p->regions[k]->start < y; k++) {
			struct up_region *q = p->regions[k];

			p->ops->advise(p, q, q->start > x ? q->start : x,
				       q->end < y ? q->end : y,
				       MADV_POPULATE_WRITE);
			if (!q->anon)
				up__region_anon(p, q);
		}
	}
	free(runs);
}

/*
 * Change the protection of [a, b) of r.  The part becomes a region of its
 * own: a fault maps pages only within the region it hit, so no mapping of
 * a page ever spans two protections.
 */
static int protect_piece(struct up_pager *p, struct up_region *r,
			 uintptr_t a, uintptr_t b, int prot)
{
	struct up_region before;
	size_t i, j;
	uint64_t anon;
	bool fill;
	int err;

	if ((prot & PROT_WRITE) && !r->may_write)
		return -EACCES;
	/* The kernel leaves a mapping that has the protection already as it
	 * is, whole. */
	if (r->prot == prot)
		return 0;
	anon = up__mapping_of(p, up__region_first(p, r->start), &i, &j);
	err = carve(p, &r, a, b);
	if (!err)
		before = *r;
	if (!err && !(r->flags & (MAP_SHARED | MAP_NORESERVE)) &&
	    (prot & PROT_WRITE))
		r->accounted = true;
	/* Made read-only before a fault gave it an anon_vma, the kernel's
	 * private anonymous mapping is charged no more (VM_ACCOUNT goes:
	 * mprotect_fixup()), and merges only with such another. */
	else if (!err && !(r->flags & MAP_SHARED) && !anon &&
		 ((r->flags & MAP_ANONYMOUS) || r->zero_file))
		r->accounted = false;
	/* Changed, it is merged again as any other. */
	if (!err)
		r->apart = 0;
	/* A solo mapping's memory must keep read-write protection. */
	if (!err && r->obj)
		err = up__obj_unsolo(p, r->obj);
	/* A locked private mapping made writable is faulted in for writing
	 * (mprotect_fixup() populates each mapping mlock(2) split off): a
	 * file's pages are copied and no longer show the file's changes, and
	 * the mapping has an anon_vma; the rest of the range is not touched.
	 * The kernel does it once the protection of all of its mapping has
	 * changed (and merged it with its neighbours): this piece is noted,
	 * and filled with the rest of it (fill_done()), the pieces before it
	 * too where they were one mapping with it before the call. */
	fill = !err && r->obj && !(r->flags & MAP_SHARED) &&
	       !(r->prot & PROT_WRITE) && (prot & PROT_WRITE);
	if (p->filling.len &&
	    (err || p->filling.a + p->filling.len != a ||
	     !up__one_mapping(&p->filling_last, &before)))
		fill_done(p);
	if (!err)
		err = up__mprotect((void *)a, b - a, prot);
	if (!err) {
		r->prot = prot;
		up__region_merged(p, r);
	}
	if (!err && fill) {
		if (!p->filling.len)
			p->filling.a = a;
		p->filling.len = b - p->filling.a;
		p->filling_last = before;
	}
	return err;
}

UP_EXPORT int up_pager_protect(struct up_pager *p, void *addr, size_t len,
			       int prot)
{
	uintptr_t a, b;
	int err = range_args(p, addr, len, &a, &b, -ENOMEM);

	if (err)
		return err;
	/* No pager's memory grows: the kernel judges these (it refuses
	 * them, or changes a mapping of its own that grows down). */
	if (prot & (PROT_GROWSDOWN | PROT_GROWSUP))
		return up__mprotect(addr, len, prot);
	if (prot & ~PROT_KNOWN)
		return -EINVAL;
	if (a == b)
		return 0;
	/* As mprotect(2): the pieces before a refusal or a hole change. */
	pthread_mutex_lock(&p->lock);
	anon_learn(p, a, b);
	err = walk(p, a, b, protect_piece, up__mprotect, prot,
		   STOP_HOLE | STOP_ERR);
	fill_done(p);
	assert(up__cache_check(p));
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* Whether the kernel knows this advice (Linux 6.18). */
static bool advice_known(int advice)
{
	switch (advice) {
	case MADV_NORMAL ... MADV_DONTNEED:
	case MADV_FREE ... MADV_COLLAPSE:
	case MADV_HWPOISON ... MADV_GUARD_REMOVE:
		return true;
	}
	return false;
}

/*
 * The kernel's refusals of advice for a kind of mapping, checked on every
 * piece before any is changed.  The kernel's own mappings get the kernel's
 * answer when the advice is applied.
 */
static int advise_check(struct up_pager *p, struct up_region *r,
			uintptr_t a, uintptr_t b, int advice)
{
	bool private_anon = (r->flags & MAP_ANONYMOUS) &&
			    !(r->flags & MAP_SHARED);

	(void)p;
	if (!r->obj)
		return 0;
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_GUARD_INSTALL:
		return up__locked((void *)a, b - a) ? -EINVAL : 0;
	case MADV_FREE:
		return !private_anon || up__locked((void *)a, b - a) ? -EINVAL : 0;
	case MADV_WIPEONFORK:
		return private_anon && !r->zero_file ? 0 : -EINVAL;
	case MADV_REMOVE:
		/* In the kernel's order, mapping by mapping: a locked one
		 * first, then one of no file (a private mapping of
		 * /dev/zero has one), then one that is not shared and
		 * writable. */
		if (up__locked((void *)a, SYS_PAGE) ||
		    (private_anon && !r->zero_file))
			return -EINVAL;
		if (!(r->flags & MAP_SHARED) || !r->may_write)
			return -EACCES;
		return up__locked((void *)a, b - a) ? -EINVAL : 0;
	case MADV_POPULATE_READ:
		return r->prot & PROT_READ ? 0 : -EINVAL;
	case MADV_POPULATE_WRITE:
		return r->prot & PROT_WRITE ? 0 : -EINVAL;
	}
	return 0;
}

/* What a child of fork() gets of [a, b) of r (MADV_DONTFORK, DOFORK,
 * WIPEONFORK, KEEPONFORK): that part becomes a region of its own, as the
 * kernel's mapping is split. */
static int fork_piece(struct up_pager *p, struct up_region *r, uintptr_t a,
		      uintptr_t b, int advice)
{
	bool dont = advice == MADV_DONTFORK || advice == MADV_DOFORK;
	bool on = advice == MADV_DONTFORK || advice == MADV_WIPEONFORK;
	int err;

	if (!r->obj) {
		/* The kernel's mapping (handed over at a fork): the kernel's
		 * advice, and what a child gets is noted too, so that a
		 * child forgets what it does not get. */
		err = up__madvise((void *)a, b - a, advice);
		if (err || !dont || r->dontfork == on)
			return err;
	} else if ((dont ? r->dontfork : r->wipeonfork) == on) {
		return 0;
	}
	err = carve(p, &r, a, b);
	if (!err)
		*(dont ? &r->dontfork : &r->wipeonfork) = on;
	return err;
}

/*
 * Advice the kernel keeps as a flag of its mapping, splitting the mapping
 * where the range starts and ends.  Whether it changes r, and with set,
 * make the change.
 */
static bool advice_flag(struct up_region *r, int advice, bool set)
{
	uint8_t vf = r->vmflags;
	int adv = r->advice;

	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL:
		adv = advice;
		break;
	case MADV_HUGEPAGE: vf = (vf & ~VF_NOHUGE) | VF_HUGE; break;
	case MADV_NOHUGEPAGE: vf = (vf & ~VF_HUGE) | VF_NOHUGE; break;
	case MADV_DONTDUMP: vf |= VF_DONTDUMP; break;
	case MADV_DODUMP: vf &= ~VF_DONTDUMP; break;
	case MADV_MERGEABLE: vf |= VF_MERGEABLE; break;
	case MADV_UNMERGEABLE: vf &= ~VF_MERGEABLE; break;
	default:
		return false;
	}
	if (vf == r->vmflags && adv == r->advice)
		return false;
	if (set) {
		r->vmflags = vf;
		r->advice = adv;
		r->apart = 0;	/* changed, merged again */
	}
	return true;
}

/* The first page of [a, b) that mlock(2) locked (b if none). */
static uintptr_t first_locked(uintptr_t a, uintptr_t b)
{
	struct up_run *runs;
	size_t nr;
	uintptr_t f = b;

	if (!up__locks_take(a, b - a, &runs, &nr) && nr)
		f = runs[0].a;
	free(runs);
	return f;
}

/* One region's part of an madvise: the kernel's refusals for its kind of
 * mapping first, as the kernel judges each mapping in turn. */
static int advise_piece(struct up_pager *p, struct up_region *r, uintptr_t a,
			uintptr_t b, int advice)
{
	int err = advise_check(p, r, a, b, advice);

	if (!err &&
	    (advice == MADV_DONTFORK || advice == MADV_DOFORK ||
	     advice == MADV_WIPEONFORK || advice == MADV_KEEPONFORK))
		return fork_piece(p, r, a, b, advice);
	if (err == -EINVAL && r->obj && up__locked((void *)a, b - a) &&
	    (advice == MADV_DONTNEED || advice == MADV_COLD ||
	     advice == MADV_PAGEOUT || advice == MADV_FREE ||
	     advice == MADV_REMOVE || advice == MADV_GUARD_INSTALL)) {
		/* mlock(2) split the kernel's mapping: the part before the
		 * first locked page takes the advice, then the refusal. */
		uintptr_t f = first_locked(a, b);

		if (f > a && !advise_check(p, r, a, f, advice))
			p->ops->advise(p, r, a, f, advice);
		return err;
	}
	if (!err && advice_flag(r, advice, false)) {
		err = carve(p, &r, a, b);
		if (!err)
			advice_flag(r, advice, true);
	}
	return err ? err : p->ops->advise(p, r, a, b, advice);
}

UP_EXPORT int up_pager_advise(struct up_pager *p, void *addr, size_t len,
			      int advice)
{
	uintptr_t a, b;
	int err = range_args(p, addr, len, &a, &b, -EINVAL);

	if (err)
		return err;
	if (!advice_known(advice))
		return -EINVAL;
	if (a == b)
		return 0;
	pthread_mutex_lock(&p->lock);
	/* Populating stops at a hole, as madvise(2) does. */
	err = walk(p, a, b, advise_piece, up__madvise, advice,
		   advice == MADV_POPULATE_READ ||
				   advice == MADV_POPULATE_WRITE ?
			   STOP_ERR | STOP_HOLE : STOP_ERR);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* ---- mremap(2) ------------------------------------------------------ */

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif


/* A copy of region m at [at, at + len), showing object offset off, not yet
 * attached or in the table; NULL if out of memory. */
static struct up_region *region_like(const struct up_region *m, uintptr_t at,
				     size_t len, off_t off)
{
	struct up_region *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	*r = *m;
	memset(&r->st, 0, sizeof(r->st));
	r->obj = NULL;
	r->obj_next = NULL;
	r->whole_tried = false;
	r->err = 0;
	r->start = at;
	r->end = at + len;
	r->off = off;
	return r;
}

/* What MREMAP_DONTUNMAP moves of the kernel's own mapping m to at: a new
 * mapping there, with m's page offset (copy_vma()), never kept apart
 * whatever stays behind. */
static struct up_region *moved_copy(const struct up_region *m, uintptr_t at)
{
	struct up_region *n = region_like(m, at, m->end - m->start, m->off);

	if (n) {
		n->pgdelta -= ((int64_t)at - (int64_t)m->start) / SYS_PAGE;
		n->moved = true;
		n->apart = 0;
	}
	return n;
}

/*
 * [at, at + len) (held) as the kernel's mapping past the end of an empty
 * file: every access raises SIGBUS.  The file is the pager's one, at the
 * page offset the region has (see pgdelta), so that the kernel merges
 * what continues a mapping of it with that mapping, as the kernel's own
 * is one mapping of the shared memory it grew.
 */
static int beyond(struct up_pager *p, const struct up_region *m, uintptr_t at,
		  size_t len)
{
	struct up_region *r = region_like(m, at, len, 0);
	int err = 0;
	void *addr;

	if (r && p->beyond_fd < 0) {
		err = up__memfd("upager-beyond");
		if (err >= 0)
			p->beyond_fd = err;
		err = err < 0 ? err : 0;
	}
	if (!r || err) {
		free(r);
		return err ? err : -ENOMEM;
	}
	r->beyond = true;
	err = up__mmap_user((void *)at, len, m->prot, MAP_SHARED | MAP_FIXED,
			    p->beyond_fd,
			    (off_t)((int64_t)(at / SYS_PAGE) + r->pgdelta) *
				    SYS_PAGE,
			    &addr);
	/* (With the flags the program's madvise(2) gave the mapping it
	 * continues: MADV_DONTFORK, say.) */
	if (!err)
		up__region_flags_to_kernel(r);
	if (!err)
		err = up__region_insert(p, r);
	if (err)
		free(r);
	return err;
}

/* Whether a mapping of o shows part of object range [a, b). */
static bool obj_shows(const struct up_obj *o, off_t a, off_t b)
{
	const struct up_region *q;

	for (q = o->regions; q; q = q->obj_next)
		if (q->off < b && q->off + (off_t)(q->end - q->start) > a)
			return true;
	return false;
}

/*
 * A new region like m at [at, at + len) (held), showing object offset
 * off: what mremap(2) gives where a mapping grows (grow), or leaves
 * behind with MREMAP_DONTUNMAP.  A MAP_SHARED one shows m's pages; a
 * private one shows the file (at file offset off) or zeros, as a fresh
 * mapping, except that a private mapping of a file grows as part of m's
 * object where no mapping of it shows that part: the kernel's grown
 * mapping is one, with one set of copies.
 */
static int map_like(struct up_pager *p, const struct up_region *m,
		    uintptr_t at, size_t len, off_t off, bool grow)
{
	off_t shm = m->obj ? m->obj->shm_len : 0;
	struct up_region *r;
	int fd = -1, err;

	if (m->beyond)
		return beyond(p, m, at, len);
	if (shm && off + (off_t)len > shm) {
		/* Shared memory does not grow: past its end, SIGBUS. */
		size_t in = off < shm ? (size_t)(shm - off) : 0;

		err = beyond(p, m, at + in, len - in);
		if (err || !in)
			return err;
		len = in;
	}
	r = region_like(m, at, len, off);
	if (!r)
		return -ENOMEM;
	/* (The kernel's page offset goes on from m's, at object offset off
	 * of m's object.) */
	r->pgdelta = m->pgdelta + ((int64_t)(m->start - at) +
				   (int64_t)(off - m->off)) / SYS_PAGE;
	r->moved = grow && m->moved;
	/* What MREMAP_DONTUNMAP leaves behind has no anon_vma
	 * (unlink_anon_vmas()); whether it merges, see left_behind(). */
	r->apart = 0;
	if (!grow)
		r->anon = 0;
	if ((m->flags & MAP_SHARED) ||
	    (grow && !(m->flags & MAP_ANONYMOUS) &&
	     !obj_shows(m->obj, off, off + (off_t)len)))
		r->obj = m->obj;
	else if (m->flags & MAP_ANONYMOUS)
		r->off = 0;
	else
		fd = m->obj->fd;
	err = p->ops->map(p, r, fd, (void *)at, MAP_FIXED);
	if (!err) {
		err = up__region_insert(p, r);
		if (err) {
			up__munmap((void *)r->start, len);
			up__obj_detach(p, r->obj, r);
		}
	}
	if (err)
		free(r);
	return err;
}

static bool all_locked(uintptr_t a, size_t len);

/* Where the locked run that ends at hi (or starts at lo, if up) in
 * [lo, hi) begins (ends): hi (lo) if none. */
static uintptr_t locked_edge(uintptr_t lo, uintptr_t hi, bool up)
{
	struct up_run *runs;
	uintptr_t x = up ? lo : hi;
	size_t nr;

	if (lo >= hi || up__locks_take(lo, hi - lo, &runs, &nr))
		return x;
	if (nr && up && runs[0].a == lo)
		x = lo + runs[0].len;
	else if (nr && !up && runs[nr - 1].a + runs[nr - 1].len == hi)
		x = runs[nr - 1].a;
	free(runs);
	return x;
}

/*
 * Before MREMAP_DONTUNMAP moves [a, b), locked: the stretch [*la, *lb)
 * around it of the regions of one mapping with it, as the model sees them,
 * that mlock(2) locked (the kernel's mapping it splits off), as it is (see
 * left_behind()).
 */
static void locked_around(struct up_pager *p, uintptr_t a, uintptr_t b,
			  uintptr_t *la, uintptr_t *lb)
{
	/* (From an end of [a, b) only where it is locked itself.) */
	bool down = up__locked((void *)a, SYS_PAGE);
	bool up = up__locked((void *)(b - SYS_PAGE), SYS_PAGE);
	uintptr_t x;
	size_t k;

	*la = a;
	*lb = b;
	while (down && *la &&
	       (k = up__region_first(p, *la - 1)) < p->regions_nr) {
		struct up_region *q = p->regions[k];

		if (q->start >= *la ||
		    (q->end == *la &&
		     (k + 1 == p->regions_nr ||
		      !up__one_mapping(q, p->regions[k + 1]))))
			break;
		x = locked_edge(q->start, *la, false);
		if (x == *la)
			break;
		*la = x;
		if (x > q->start)
			break;
	}
	while (up && (k = up__region_first(p, *lb)) < p->regions_nr) {
		struct up_region *q = p->regions[k];

		if (q->start > *lb ||
		    (q->start == *lb &&
		     (!k || !up__one_mapping(p->regions[k - 1], q))))
			break;
		x = locked_edge(*lb, q->end, true);
		if (x == *lb)
			break;
		*lb = x;
		if (x < q->end)
			break;
	}
}

/* [*la, *lb) without the target [to, to + len) of a move that replaces
 * it first (MREMAP_FIXED): the kernel finds the locked mapping that is
 * left once the target is gone. */
static void locked_clip(uintptr_t a, uintptr_t b, int flags, uintptr_t to,
			size_t len, uintptr_t *la, uintptr_t *lb)
{
	if (!(flags & MREMAP_FIXED))
		return;
	if (to >= b && to < *lb)
		*lb = to;
	if (to + len <= a && to + len > *la)
		*la = to + len;
}

/*
 * The kernel's mappings at the ends of [a, b), before a move of it: the
 * first one's, [*fa, *fe), and the last one's, [*ls, *le).  What
 * MREMAP_DONTUNMAP leaves behind of a mapping moved in part keeps its
 * anon_vma; of one moved whole, it has none (see moved_part()).
 */
static void ends_of(struct up_pager *p, uintptr_t a, uintptr_t b,
		    uintptr_t e[4])
{
	for (int k = 0; k < 2; k++) {
		size_t i = up__region_first(p, k ? b - 1 : a), lo, hi;

		e[2 * k] = e[2 * k + 1] = k ? b : a;
		if (i < p->regions_nr && p->regions[i]->start < b) {
			up__mapping_of(p, i, &lo, &hi);
			e[2 * k] = p->regions[lo]->start;
			e[2 * k + 1] = p->regions[hi]->end;
		}
	}
}

/* Whether the region that was at x before the move of [a, b) was of a
 * mapping moved in part (e: ends_of()). */
static bool moved_part(const uintptr_t e[4], uintptr_t x, uintptr_t a,
		       uintptr_t b)
{
	return (e[0] < a && x < e[1]) || (e[3] > b && x >= e[2]);
}

/*
 * What MREMAP_DONTUNMAP leaves behind, [at, at + len): map_like() it, with
 * m's anon_vma where part of m's mapping stayed (part).  The
 * kernel merges it with its neighbours again, as it was, and only then
 * takes the lock (VM_LOCKED) away from the mapping it is part of: where
 * mlock(2) locked it, that whole mapping, [la, lb) (see locked_around()),
 * unlocked now (the caller unlocks the pager's memory there when all is
 * moved), merges with no neighbour outside it until a call changes it:
 * its locked pieces get apart number id (0: it was not locked); what was
 * not locked merges again.  (A piece locked in part is taken as locked
 * whole.)
 */
static int left_behind(struct up_pager *p, const struct up_region *m,
		       uintptr_t at, size_t len, uint64_t id, uintptr_t la,
		       uintptr_t lb, bool part)
{
	int err = map_like(p, m, at, len, m->off, false);
	struct up_region *n = up__region_find(p, at);
	size_t i;

	if (!err && part && n && n->start == at)
		n->anon = m->anon;
	if (err || !id)
		return err;
	for (i = up__region_first(p, la);
	     i < p->regions_nr && p->regions[i]->start < lb; i++)
		if (p->regions[i]->locked)
			p->regions[i]->apart = id;
	return 0;
}

/* The arguments as mremap(2) checks them before it looks at a mapping;
 * the lengths rounded up to pages. */
static int remap_args(uintptr_t a, size_t *old_len, size_t *new_len,
		      int flags, uintptr_t to)
{
	if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) ||
	    ((flags & MREMAP_DONTUNMAP) &&
	     (!(flags & MREMAP_MAYMOVE) || *old_len != *new_len)) ||
	    !SYS_ALIGNED(a))
		return -EINVAL;
	*old_len = *old_len > UINTPTR_MAX - SYS_PAGE ? 0 : SYS_UP(*old_len);
	*new_len = *new_len > UINTPTR_MAX - SYS_PAGE ? 0 : SYS_UP(*new_len);
	if (!*new_len)
		return -EINVAL;
	if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)))
		return 0;
	if (!SYS_ALIGNED(to) || *new_len > up__task_size() ||
	    to > up__task_size() - *new_len ||
	    (a + *old_len > to && to + *new_len > a))
		return -EINVAL;
	return 0;
}

/* Make a and b region boundaries, where a region spans them. */
static int cut(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	struct up_region *r = up__region_find(p, a);
	int err = 0;

	if (r && r->start < a)
		err = split(p, r, a);
	r = b > a ? up__region_find(p, b - 1) : NULL;
	if (!err && r && r->end > b)
		err = split(p, r, b);
	return err;
}

/* The regions in [a, b), in a table of their own (*nr of them). */
static int regions_in(struct up_pager *p, uintptr_t a, uintptr_t b,
		      struct up_region ***out, size_t *nr)
{
	size_t i = up__region_first(p, a), j;

	for (*nr = 0; i + *nr < p->regions_nr &&
		      p->regions[i + *nr]->start < b;
	     (*nr)++)
		;
	*out = NULL;
	if (*nr && !(*out = malloc(*nr * sizeof(**out))))
		return -ENOMEM;
	for (j = 0; j < *nr; j++)
		(*out)[j] = p->regions[i + j];
	return 0;
}

/* Move regions rs by delta in the table. */
static void regions_shift(struct up_pager *p, struct up_region **rs,
			  size_t nr, uintptr_t delta)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		up__region_remove(p, rs[i]);
		rs[i]->start += delta;
		rs[i]->end += delta;
		rs[i]->moved |= delta != 0;
		rs[i]->pgdelta -= (int64_t)(intptr_t)delta / SYS_PAGE;
		/* (What mremap(2) moves is a new mapping at its target.) */
		if (delta)
			rs[i]->apart = 0;
	}
	/* (Each has the room it left.) */
	for (i = 0; i < nr; i++)
		up__region_insert(p, rs[i]);
}

/* Regions rs, moved by mremap(2): private anonymous memory that no fault
 * gave an anon_vma takes the page offset of where it is now, not of where
 * it was made (the kernel's copy_vma()).  (After what MREMAP_DONTUNMAP
 * left behind is noted: that keeps the page offset it had.) */
static void regions_anew(struct up_region **rs, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (rs[i]->obj && !rs[i]->anon &&
		    (rs[i]->flags & (MAP_ANONYMOUS | MAP_SHARED)) ==
			    MAP_ANONYMOUS)
			rs[i]->pgdelta = 0;
}

/* Drop the records of [a, b): the kernel has unmapped it. */
static void regions_forget(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i = up__region_first(p, a);
	int err = 0;

	while (i < p->regions_nr && p->regions[i]->start < b)
		region_free(p, p->regions[i], &err);
}

/*
 * The kernel's own mapping (r at a): its mremap(2) does it all, and the
 * regions that record it follow.
 */
static int remap_kernel(struct up_pager *p, struct up_region *r, uintptr_t a,
			size_t old_len, size_t new_len, int flags,
			uintptr_t to, uintptr_t *out)
{
	size_t keep = old_len < new_len ? old_len : new_len, nr, i;
	struct up_region **rs, *n;
	uintptr_t m;
	int err;

	err = cut(p, a, a + old_len);
	if (!err && keep < old_len)
		err = cut(p, a + keep, a + old_len);
	if (err)
		return err;
	m = (uintptr_t)up__real_mremap((void *)a, old_len, new_len, flags,
				       (void *)to);
	if (m == (uintptr_t)MAP_FAILED)
		return -errno;
	*out = m;
	if (!(flags & MREMAP_DONTUNMAP))
		regions_forget(p, a + keep, a + old_len);
	if (regions_in(p, a, a + keep, &rs, &nr))
		return 0;	/* (the mapping is made; a record is not) */
	if (flags & MREMAP_DONTUNMAP) {
		for (i = 0; i < nr; i++) {
			n = moved_copy(rs[i], rs[i]->start + (m - a));
			if (n && up__region_insert(p, n))
				free(n);
		}
	} else {
		regions_shift(p, rs, nr, m - a);
		if (m != a)
			regions_anew(rs, nr);
	}
	if (new_len > old_len && nr && !(flags & MREMAP_DONTUNMAP)) {
		rs[nr - 1]->end = m + new_len;
	} else if (new_len > old_len && !old_len) {
		n = region_like(r, m, new_len, r->off + (off_t)(a - r->start));
		if (n && up__region_insert(p, n))
			free(n);
	}
	free(rs);
	if (p->ops->remapped && (flags & MREMAP_DONTUNMAP))
		p->ops->remapped(p, a, a + keep);
	if (p->ops->remapped && new_len > old_len)
		p->ops->remapped(p, m + old_len, m + new_len);
	return 0;
}

/* Move regions rs, of [a, ...), to dest + their place; moved back if one
 * cannot be. */
static int move_all(struct up_pager *p, struct up_region **rs, size_t nr,
		    uintptr_t a, uintptr_t dest)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < nr; i++)
		err = p->ops->move(p, rs[i], dest + (rs[i]->start - a));
	if (!err)
		return 0;
	for (i--; i--;) {
		struct up_region back = *rs[i];

		back.start += dest - a;
		back.end += dest - a;
		p->ops->move(p, &back, rs[i]->start);
	}
	return err;
}

/* Whether mlock(2) locked all of [a, a + len). */
static bool all_locked(uintptr_t a, size_t len)
{
	struct up_run *runs;
	size_t nr;
	bool all;

	if (up__locks_take(a, len, &runs, &nr))
		return false;
	all = nr == 1 && runs[0].a == a && runs[0].len == len;
	free(runs);
	return all;
}

/* Whether [a, b) is within one of the kernel's mappings. */
static bool kernel_one(uintptr_t a, uintptr_t b)
{
	struct up_run *runs;
	size_t nr;
	bool one;

	if (a == b || up__maps_take(a, b - a, &runs, &nr))
		return true;	/* (the kernel will say) */
	one = nr == 1 && runs[0].a == a && runs[0].len == b - a;
	free(runs);
	return one;
}

/* Whether splitting o costs little: a solo object's split copies all it
 * holds into shared memory (up__obj_unsolo()). */
#define SPLIT_CHEAP 64	/* pages */

static bool split_cheap(const struct up_obj *o)
{
	uint64_t pg, held = 0;

	if (!o || !o->solo || o->pc)
		return true;
	for (pg = 0; pg < o->pages_nr && held <= SPLIT_CHEAP; pg++)
		held += (o->pflags[pg] & PG_RESIDENT) != 0;
	return held <= SPLIT_CHEAP;
}

/*
 * Note that [a, b) of p's regions is locked `how` (LOCK_*, or 0 for not),
 * carving them where it starts and ends, as the kernel splits its
 * mappings there; what it was is kept for lock_undo().  Not carved where
 * that costs much (split_cheap()): the lock of part of such a region is
 * not followed.
 */
static void lock_set(struct up_pager *p, uintptr_t a, uintptr_t b, int how)
{
	size_t i = up__region_first(p, a);

	for (; i < p->regions_nr && p->regions[i]->start < b; i++) {
		struct up_region *r = p->regions[i];
		uintptr_t lo = r->start > a ? r->start : a;
		uintptr_t hi = r->end < b ? r->end : b;

		r->locked_was = r->locked;
		/* (The kernel's own is locked, changed, by a lock only: it is
		 * not known to be locked otherwise.) */
		if (!r->obj && !r->beyond && how)
			r->apart = 0;	/* changed, merged again */
		if ((!r->obj && !r->beyond) || r->locked == how)
			continue;
		if ((lo > r->start || hi < r->end) && !split_cheap(r->obj))
			continue;
		if (cut(p, lo, hi))
			continue;
		i = up__region_first(p, lo);
		p->regions[i]->locked_was = r->locked;
		p->regions[i]->locked = (uint8_t)how;
	}
}

/* What lock_set() noted of [a, b), undone: the kernel's call did not get
 * there. */
static void lock_undo(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i = up__region_first(p, a);

	for (; i < p->regions_nr && p->regions[i]->start < b; i++)
		if (p->regions[i]->start >= a)
			p->regions[i]->locked = p->regions[i]->locked_was;
}

/* Whether [a, b) of the kernel's own memory spans two regions the kernel
 * keeps apart though they may be alike (apart: see up_region): two of its
 * mappings, where the memory may be one (a child's, made afresh). */
static bool kernel_apart(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i = up__region_first(p, a);

	for (; i + 1 < p->regions_nr && p->regions[i + 1]->start < b; i++) {
		const struct up_region *l = p->regions[i];
		const struct up_region *r = p->regions[i + 1];

		if (r->start > a && l->end == r->start &&
		    l->apart != r->apart)
			return true;
	}
	return false;
}

/* Whether mremap(2) only moves, and then may move several mappings. */
static bool move_only(size_t old_len, size_t new_len, int flags)
{
	return (flags & MREMAP_FIXED) && old_len == new_len;
}

/* What the kernel's mremap(2) of its own mapping at a answers before it
 * changes anything, if it refuses: a copy (old_len 0) of a private
 * mapping is EINVAL, and a range across two mappings EFAULT unless the
 * call only moves. */
static int kernel_refuses(uintptr_t a, size_t old_len, size_t new_len,
			  int flags)
{
	void *m;

	if (!old_len) {
		m = up__real_mremap((void *)a, 0, SYS_PAGE, MREMAP_MAYMOVE, NULL);
		if (m == MAP_FAILED)
			return -errno;
		up__real_munmap(m, SYS_PAGE);
		return 0;
	}
	if (!move_only(old_len, new_len, flags) &&
	    !kernel_one(a, a + (old_len < new_len ? old_len : new_len)))
		return -EFAULT;
	return 0;
}

/* Move the kernel's mappings in [x, end) to to + their offset from a,
 * each after p gives up what it maps where the mapping lands. */
static int kernel_moves(struct up_pager *p, uintptr_t x, uintptr_t end,
			uintptr_t a, uintptr_t to, int flags)
{
	struct up_run *runs;
	size_t nr, i;
	int err = up__maps_take(x, end - x, &runs, &nr);

	for (i = 0; !err && i < nr; i++) {
		uintptr_t at = to + (runs[i].a - a);
		size_t j = up__region_first(p, at);

		if (j < p->regions_nr && p->regions[j]->start < at + runs[i].len)
			err = unmap_range(p, at, at + runs[i].len, true);
		if (!err && up__real_mremap((void *)runs[i].a, runs[i].len,
					    runs[i].len, flags,
					    (void *)at) == MAP_FAILED)
			err = -errno;
	}
	free(runs);
	return err;
}

/*
 * A move only (MREMAP_FIXED, the length kept) may move every mapping in
 * [a, b), the gaps between them kept; only a gap at a is an error, and
 * only where a mapping lands is the target replaced.  Each of p's regions
 * moves as in remap(); the kernel moves the rest.
 */
static int remap_moves(struct up_pager *p, uintptr_t a, uintptr_t b,
		       int flags, uintptr_t to)
{
	uintptr_t x = a, end, at, end0 = b, stop = b, la = 0, lb = 0, e[4];
	struct up_region *r, **rs = NULL;
	bool locked, kernel;
	size_t i, k, nr;
	uint64_t id = 0;
	int err;

	r = up__region_find(p, a);
	if (!r && !up__range_used((void *)a, SYS_PAGE))
		return -EFAULT;
	/* The kernel moves no private mapping of /dev/zero with others: it
	 * moves the mappings before the first one, and fails there. */
	for (i = up__region_first(p, a); !(r && r->end >= b) &&
					 i < p->regions_nr &&
					 p->regions[i]->start < b; i++)
		if (p->regions[i]->zero_file &&
		    !(p->regions[i]->flags & MAP_SHARED)) {
			stop = p->regions[i]->start > a ? p->regions[i]->start
							: a;
			break;
		}
	if (stop == a)
		return -EFAULT;
	b = stop;
	ends_of(p, a, b, e);
	err = cut(p, a, b);
	/* (All that is left behind is one mapping, where it was locked.) */
	if (!err && (flags & MREMAP_DONTUNMAP) && up__locked((void *)a, b - a)) {
		locked_around(p, a, b, &la, &lb);
		locked_clip(a, b, flags, to, b - a, &la, &lb);
		err = cut(p, la, lb);
		id = ++p->anon_nr;
	}
	while (!err && x < b) {
		i = up__region_first(p, x);
		r = i < p->regions_nr && p->regions[i]->start < b ?
			    p->regions[i] : NULL;
		if (!r || r->start > x) {
			end = r ? r->start : b;
			err = kernel_moves(p, x, end, a, to, flags);
			x = end;
			continue;
		}
		at = to + (r->start - a);
		kernel = !r->obj || !p->ops->move;
		/* The kernel moves its own in one piece per mapping it has,
		 * however many of p's regions that mapping holds. */
		for (k = i + 1; kernel && k < p->regions_nr &&
				p->regions[k]->start == p->regions[k - 1]->end &&
				p->regions[k]->start < b &&
				(!p->regions[k]->obj || !p->ops->move);
		     k++)
			;
		nr = kernel ? k - i : 1;
		end = p->regions[i + nr - 1]->end;
		locked = (flags & MREMAP_DONTUNMAP) &&
			 up__locked((void *)x, end - x);
		if (kernel) {
			free(rs);
			rs = malloc(nr * sizeof(*rs));
			if (!rs) {
				err = -ENOMEM;
				break;
			}
			memcpy(rs, &p->regions[i], nr * sizeof(*rs));
		}
		err = unmap_range(p, at, at + (end - x), true);
		if (err)
			break;
		if (kernel) {
			err = kernel_moves(p, x, end, a, to, flags);
			if (!err && (flags & MREMAP_DONTUNMAP)) {
				for (k = 0; k < nr; k++) {
					struct up_region *n = moved_copy(
						rs[k], to + (rs[k]->start - a));

					if (n && up__region_insert(p, n))
						free(n);
				}
				x = end;
				continue;
			}
			if (!err)
				regions_shift(p, rs, nr, at - x);
			x = end;
			continue;
		}
		err = p->ops->move(p, r, at);
		if (err)
			break;
		regions_shift(p, &r, 1, at - x);
		if ((flags & MREMAP_DONTUNMAP) && r->obj &&
		    !hold(x, end, MAP_FIXED_NOREPLACE))
			err = left_behind(p, r, x, end - x, locked ? id : 0,
					  la, lb, moved_part(e, x, a, b));
		regions_anew(&r, 1);
		x = end;
	}
	/* The kernel's mapping that the moves left behind is unlocked: the
	 * pager's memory there too. */
	if (id) {
		up__munlock((void *)la, lb - la);
		lock_set(p, la, lb, 0);
	}
	free(rs);
	return err ? err : b < end0 ? -EFAULT : 0;
}

/* Lock [a, a + len), grown from r's mapping, as the kernel locks what a
 * locked mapping grows by: its pages faulted in (written, in a writable
 * private mapping: each the mapping's own copy), unless r was locked on
 * fault, or how is not known.  Its faults need p->lock: they are taken
 * once it is free (grown_fault()). */
static void lock_grown(struct up_pager *p, const struct up_region *r,
		       uintptr_t a, size_t len)
{
	up__mlock_onfault((void *)a, len);
	if (r->locked == LOCK_ON)
		p->grown = (struct up_grown){
			a, len,
			(r->prot & PROT_WRITE) && !(r->flags & MAP_SHARED)
		};
}

/* What lock_grown() left: taken while p->lock is held, faulted in once it
 * is free (grown_fault()). */
static struct up_grown grown_take(struct up_pager *p)
{
	struct up_grown g = p->grown;

	p->grown.len = 0;
	return g;
}

static void grown_fault(struct up_grown g)
{
	if (!g.len)
		return;
	up__madvise((void *)g.a, g.len,
		    g.write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	lock_in((void *)g.a, g.len, 0);
}

/*
 * mremap(2) of [a, a + old_len) of p's memory (arguments checked; with
 * MREMAP_FIXED, the target given up and held).  Pages move with their
 * mappings, as the kernel moves them: the backend moves its mappings and
 * the regions follow; where the mapping grows, a new region of its kind
 * shows the rest.
 */
static int remap(struct up_pager *p, uintptr_t a, size_t old_len,
		 size_t new_len, int flags, uintptr_t to, uintptr_t *out)
{
	bool move = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP), locked;
	bool copy_locked, part;
	struct up_region *r = up__region_find(p, a), *l, **rs;
	uintptr_t b, end, dest, la = 0, lb = 0, e[4];
	uint64_t id = 0;
	size_t i, nr;
	off_t off;
	int err;
	void *m;

	anon_learn(p, a, a + old_len);
	if (move_only(old_len, new_len, flags)) {
		*out = to;
		return remap_moves(p, a, a + old_len, flags, to);
	}
	if (!r)
		return -EFAULT;
	if (!move && old_len >= new_len) {
		/* Shrinking unmaps the rest, whatever is there. */
		*out = a;
		return old_len > new_len ?
			       unmap_range(p, a + new_len, a + old_len, false) :
			       0;
	}
	if (!old_len && !(r->flags & MAP_SHARED))
		return -EINVAL;
	if (!r->obj || !p->ops->move) {
		/* The kernel's own: what it refuses, it refuses before it
		 * replaces the target. */
		if (kernel_apart(p, a, a + (new_len < old_len ? new_len
							     : old_len)))
			return -EFAULT;
		if (flags & MREMAP_FIXED) {
			err = kernel_refuses(a, old_len, new_len, flags);
			if (!err)
				err = unmap_range(p, to, to + new_len, true);
			if (err)
				return err;
			/* A copy onto itself unmaps what it was to copy. */
			if (to <= a && a < to + new_len) {
				up__munmap((void *)to, new_len);
				return -EFAULT;
			}
		}
		return remap_kernel(p, r, a, old_len, new_len, flags, to, out);
	}
	/* What stays must be one mapping, as the kernel sees them; mlock(2)
	 * splits them where it starts and ends. */
	b = a + (move && old_len > new_len ? new_len : old_len);
	locked = b > a && up__locked((void *)a, b - a);
	/* A copy (old_len 0) takes the flags of the mapping it copies, its
	 * lock too. */
	copy_locked = b == a && up__locked((void *)a, SYS_PAGE);
	if (locked && !all_locked(a, b - a))
		return -EFAULT;
	if (locked && (flags & MREMAP_DONTUNMAP)) {
		locked_around(p, a, b, &la, &lb);
		locked_clip(a, b, flags, to, new_len, &la, &lb);
		err = cut(p, la, lb);
		if (err)
			return err;
		id = ++p->anon_nr;
	}
	for (i = up__region_first(p, a); i + 1 < p->regions_nr &&
		    up__one_mapping(p->regions[i], p->regions[i + 1]);
	     i++)
		;
	end = p->regions[i]->end;
	ends_of(p, a, b, e);
	part = e[0] < a || end > b;
	/* (The kernel's memory beyond, one mapping with it.) */
	if (b > end && adopt_beside(p, p->regions[i], 1))
		end = p->regions[i + 1]->end;
	if (b > end)
		return -EFAULT;
	/* Then, as the kernel: the target goes, and the rest of a mapping
	 * that moves shrunk. */
	err = (flags & MREMAP_FIXED) ? unmap_range(p, to, to + new_len, true)
				     : 0;
	if (!err && !up__region_find(p, a)) {
		/* The target took it (a length of 0): the target is gone,
		 * and the call fails. */
		up__munmap((void *)to, new_len);
		err = -EFAULT;
	}
	if (!err && b < a + old_len)
		err = unmap_range(p, b, a + old_len, false);
	old_len = b - a;
	if (!err)
		err = cut(p, a, b);
	if (err)
		return err;
	/* The region the growth continues, and its object offset there. */
	l = old_len ? up__region_find(p, b - 1) : up__region_find(p, a);
	off = l->off + (off_t)((old_len ? l->end : a) - l->start);
	if (!move && b == end &&
	    !hold(b, a + new_len, MAP_FIXED_NOREPLACE)) {
		/* In place: the kernel has nothing after it. */
		err = map_like(p, l, b, new_len - old_len, off, true);
		if (err)
			up__munmap((void *)b, new_len - old_len);
		else if (locked)
			lock_grown(p, l, b, new_len - old_len);
		*out = a;
		return err;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (flags & MREMAP_FIXED) {
		dest = to;
	} else {
		/* (MREMAP_DONTUNMAP takes new_addr as a hint.) */
		err = up__mmap_user((flags & MREMAP_DONTUNMAP) ? (void *)to
							       : NULL,
				    new_len, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS |
					    MAP_NORESERVE,
				    -1, 0, &m);
		if (err)
			return err;
		dest = (uintptr_t)m;
	}
	err = regions_in(p, a, b, &rs, &nr);
	if (!err)
		err = move_all(p, rs, nr, a, dest);
	if (err) {
		free(rs);
		if (!(flags & MREMAP_FIXED))
			up__munmap((void *)dest, new_len);
		return err;
	}
	regions_shift(p, rs, nr, dest - a);
	if (!(flags & MREMAP_DONTUNMAP))
		regions_anew(rs, nr);
	if (new_len > old_len) {
		/* (l moved, if it was in the range.) */
		err = map_like(p, l, dest + old_len, new_len - old_len, off,
			       true);
		if (err)
			up__munmap((void *)(dest + old_len), new_len - old_len);
		else if (locked || copy_locked)
			lock_grown(p, l, dest + old_len, new_len - old_len);
	}
	/* MREMAP_DONTUNMAP: the old range stays mapped, without its pages. */
	for (i = 0; !err && (flags & MREMAP_DONTUNMAP) && i < nr; i++) {
		uintptr_t at = rs[i]->start - (dest - a);
		size_t len = rs[i]->end - rs[i]->start;

		err = hold(at, at + len, MAP_FIXED_NOREPLACE);
		if (!err)
			err = left_behind(p, rs[i], at, len, id, la, lb,
					  part);
	}
	if (flags & MREMAP_DONTUNMAP)
		regions_anew(rs, nr);
	if (id) {
		up__munlock((void *)la, lb - la);
		lock_set(p, la, lb, 0);
	}
	free(rs);
	*out = dest;
	return 0;
}

UP_EXPORT int up_pager_remap(struct up_pager *p, void *old, size_t old_len,
			     size_t new_len, int flags, void *new_addr,
			     void **out)
{
	uintptr_t a = (uintptr_t)old, to = (uintptr_t)new_addr, res = 0;
	struct up_grown g;
	int err;

	if (!p || !out)
		return -EINVAL;
	err = remap_args(a, &old_len, &new_len, flags, to);
	if (err)
		return err;
	pthread_mutex_lock(&p->lock);
	err = remap(p, a, old_len, new_len, flags, to, &res);
	assert(up__cache_check(p));
	g = grown_take(p);
	pthread_mutex_unlock(&p->lock);
	grown_fault(g);
	if (!err)
		*out = (void *)res;
	return err;
}

UP_EXPORT int up_pager_close(struct up_pager *p)
{
	int err = 0, e;

	if (!p)
		return -EINVAL;
	all_remove(p);
	pthread_mutex_lock(&p->lock);
	while (p->regions_nr) {
		struct up_region *r = p->regions[0];

		e = unmap_range(p, r->start, r->end, false);
		if (e && !err)
			err = e;
	}
	pthread_mutex_unlock(&p->lock);
	p->ops->close(p);
	while (p->work) {
		struct up_work *w = p->work;

		p->work = w->next;
		free(w);
	}
	up__cache_fini(p);
	if (p->beyond_fd >= 0)
		up__close(p->beyond_fd);
	free(p->regions);
	free(p->swap_dir);
	pthread_mutex_destroy(&p->lock);
	free(p);
	/* A full store loses data as surely as an I/O error. */
	return err == -EIO || err == -ENOSPC || err == -EDQUOT ? err : 0;
}

/* ---- errors --------------------------------------------------------- */

UP_EXPORT const char *up_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument: a length, alignment, flag, advice "
		       "or configuration value is out of range";
	case EPERM:
		return "userfaultfd is not permitted for this user (see "
		       "up_backend_probe)";
	case EACCES:
		return "the file's open mode does not allow this access";
	case EBADF:
		return "not an open file descriptor";
	case ENODEV:
		return "this kind of file cannot be mapped";
	case ENOMEM:
		return "out of memory or address space, or the range is not "
		       "mapped";
	case EIO:
		return "I/O error: a page could not be read or written back";
	case ENOSYS:
		return "the kernel lacks a userfaultfd feature upager needs";
	case EEXIST:
		return "the range is already mapped";
	case EBUSY:
		return "already in use";
	case EOVERFLOW:
		return "offset plus length overflows";
	case EOPNOTSUPP:
		return "not supported by this pager: neither the kernel "
		       "backend, the signals backend nor inline faults can "
		       "show a store, UP_CONFIG_FAULT_INLINE neither goes "
		       "with UP_CONFIG_SHARED nor runs on every architecture, "
		       "and the signals backend needs guard pages (see "
		       "up_backend_probe)";
	case EMFILE:
		return "too many open files, or 64 pagers with "
		       "UP_CONFIG_FAULT_INLINE are open already";
	}
	return strerror(-err);
}

/* ---- the drop-in API on the default pager --------------------------- */

static pthread_mutex_t dflt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct up_pager *dflt;
static struct up_config dflt_cfg;
static bool dflt_cfg_set;

UP_EXPORT int up_default_configure(const struct up_config *cfg)
{
	int err;

	if (!cfg)
		return -EINVAL;
	err = config_check(cfg);
	if (err)
		return err;
	pthread_mutex_lock(&dflt_lock);
	if (dflt) {
		err = -EBUSY;
	} else {
		dflt_cfg = *cfg;
		dflt_cfg_set = true;
	}
	pthread_mutex_unlock(&dflt_lock);
	return err;
}

/*
 * The kernel keeps a MAP_SHARED page's changes when the process exits
 * without msync; so does the default pager, by writing back at exit.  The
 * mappings stay: other threads may still be running.
 */
static void dflt_exit(void)
{
	struct up_pager *p = dflt;
	struct up_obj *o;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (o = p->objs; o; o = o->next)
		if (o->kind == OBJ_FILE)
			up__writeback(p, o, 0, o->pages_nr);
	pthread_mutex_unlock(&p->lock);
}

/* The default pager if it has been made, else NULL. */
struct up_pager *up__default_if_made(void)
{
	struct up_pager *p;

	pthread_mutex_lock(&dflt_lock);
	p = dflt;
	pthread_mutex_unlock(&dflt_lock);
	return p;
}

UP_EXPORT struct up_pager *up_default_pager(void)
{
	struct up_pager *p;
	int err = 0;

	pthread_mutex_lock(&dflt_lock);
	if (!dflt) {
		if (!dflt_cfg_set)
			up_config_init(&dflt_cfg);
		err = up_pager_open(&dflt, &dflt_cfg);
		if (!err)
			atexit(dflt_exit);
	}
	p = dflt;
	pthread_mutex_unlock(&dflt_lock);
	if (!p)
		errno = -err;
	return p;
}

/* The default pager if it owns part of [addr, addr+len), else NULL. */
static struct up_pager *owner(void *addr, size_t len)
{
	struct up_pager *p;
	uintptr_t a = (uintptr_t)addr, b = a + len;
	size_t i;
	bool mine;

	pthread_mutex_lock(&dflt_lock);
	p = dflt;
	pthread_mutex_unlock(&dflt_lock);
	if (!p || b < a)
		return NULL;
	pthread_mutex_lock(&p->lock);
	i = up__region_first(p, a);
	mine = i < p->regions_nr && p->regions[i]->start < b;
	pthread_mutex_unlock(&p->lock);
	return mine ? p : NULL;
}

static int posix_ret(int err)
{
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

UP_EXPORT void *up_mmap(void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	struct up_pager *p;
	struct stat st;
	void *out;
	int err, fl;

	/* The caller's arguments come first: making the default pager
	 * opens descriptors, and the answer must not depend on that. */
	err = check_map(addr, len, prot, flags, fd, off, &st, &fl);
	if (err >= 0) {
		/* Making the default pager maps memory of its own, which
		 * could land in the free range a fixed mapping asks for (a
		 * hole the program has just made): hold it meanwhile. */
		bool held = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
			    !up__hold_free(addr, SYS_UP(len));

		p = up_default_pager();
		if (held)
			up__unhold(addr, SYS_UP(len));
		if (!p)
			return MAP_FAILED;
		err = up_pager_map(p, addr, len, prot, flags, fd, off, &out);
	}
	if (err < 0) {
		errno = -err;
		return MAP_FAILED;
	}
	return out;
}

UP_EXPORT int up_munmap(void *addr, size_t len)
{
	struct up_pager *p = owner(addr, len);

	return p ? posix_ret(up_pager_unmap(p, addr, len)) : munmap(addr, len);
}

UP_EXPORT int up_msync(void *addr, size_t len, int flags)
{
	struct up_pager *p = owner(addr, len);

	return p ? posix_ret(up_pager_sync(p, addr, len, flags))
		 : posix_ret(up__msync(addr, len, flags));
}

UP_EXPORT int up_mprotect(void *addr, size_t len, int prot)
{
	struct up_pager *p = owner(addr, len);

	return p ? posix_ret(up_pager_protect(p, addr, len, prot))
		 : posix_ret(up__mprotect(addr, len, prot));
}

UP_EXPORT int up_madvise(void *addr, size_t len, int advice)
{
	struct up_pager *p = owner(addr, len);

	return p ? posix_ret(up_pager_advise(p, addr, len, advice))
		 : posix_ret(up__madvise(addr, len, advice));
}

/*
 * ---- the kernel's own calls, over a pager's memory -------------------
 *
 * A program may call mmap(2) with MAP_FIXED, munmap(2) or mremap(2) with
 * MREMAP_FIXED over memory a pager maps.  The kernel replaces that memory,
 * and a pager that did not know would go on serving, evicting and handing
 * over pages there as its own, over the program's new mapping.  So the
 * library defines these calls: each gives up, as up_pager_unmap() does,
 * the part of every pager's mappings it replaces, and then makes the
 * kernel's call (the pagers' own calls go to the kernel's directly, see
 * up__real_mmap()).  Calls that replace nothing of a pager's cost a look
 * at each pager's mappings, and nothing while no pager is open.
 */

/* The range of [a, b) that p's mappings touch, in *lo and *hi; p->lock
 * held.  False if none. */
static bool claimed(struct up_pager *p, uintptr_t a, uintptr_t b,
		    uintptr_t *lo, uintptr_t *hi)
{
	size_t i = up__region_first(p, a), j;

	if (i >= p->regions_nr || p->regions[i]->start >= b)
		return false;
	for (j = i; j + 1 < p->regions_nr && p->regions[j + 1]->start < b; j++)
		;
	*lo = a > p->regions[i]->start ? a : p->regions[i]->start;
	*hi = b < p->regions[j]->end ? b : p->regions[j]->end;
	return true;
}

/* Whether a call on [a, len) may replace a pager's memory: *b its end. */
UP_NO_TSAN static bool may_claim(uintptr_t a, size_t len, uintptr_t *b)
{
	if (!atomic_load(&all_nr) || !len || !SYS_ALIGNED(a) ||
	    len > UINTPTR_MAX - a - SYS_PAGE)
		return false;
	*b = a + SYS_UP(len);
	return true;
}

/* Give up what the pagers other than `except` map of [a, b), holding it
 * with inaccessible memory for the call that replaces it; all_lock held.
 * With check, only say whether there is any: 1 or 0.  Else 0, or the
 * first write-back's error. */
static int give_up_locked(uintptr_t a, uintptr_t b, bool check,
			  const struct up_pager *except)
{
	struct up_pager *p;
	uintptr_t lo, hi;
	int err = 0, e;

	for (p = all_pagers; p; p = p->all_next) {
		if (p == except)
			continue;
		pthread_mutex_lock(&p->lock);
		if (claimed(p, a, b, &lo, &hi)) {
			e = check ? 1 : unmap_range(p, lo, hi, true);
			if (e && !err)
				err = e;
		}
		pthread_mutex_unlock(&p->lock);
	}
	return err;
}

static int give_up(uintptr_t a, uintptr_t b, bool check)
{
	int err;

	pthread_mutex_lock(&all_lock);
	err = give_up_locked(a, b, check, NULL);
	pthread_mutex_unlock(&all_lock);
	return err;
}

/* Whether the program's own mmap(2) goes to the default pager: the
 * preload library's to say (preload/preload.c); never otherwise. */
__attribute__((weak)) bool up__preload_takes(void *addr, size_t len,
					     int prot, int flags, int fd,
					     off_t off)
{
	(void)addr, (void)len, (void)prot, (void)flags, (void)fd, (void)off;
	return false;
}

/*
 * Whether the default pager takes the program's own mmap(2) of fresh
 * private anonymous memory over [a, b), where that pager has private
 * anonymous memory: the kernel would make one mapping of the two (which
 * mremap(2) then resizes and moves whole), and so does the pager.  Not
 * over memory that mremap(2) moved: the kernel's keeps the page offset
 * of where it was made, and a new mapping does not line up with it.
 */
static bool joins_anon(uintptr_t a, uintptr_t b, int flags)
{
	struct up_pager *p = up__default_if_made();
	const int ok = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE;
	bool join = false;
	size_t i;

	if (!p || (flags & ~ok) || (flags & MAP_TYPE) != MAP_PRIVATE ||
	    !(flags & MAP_ANONYMOUS))
		return false;
	pthread_mutex_lock(&p->lock);
	for (i = up__region_first(p, a);
	     !join && i < p->regions_nr && p->regions[i]->start < b; i++) {
		const struct up_region *r = p->regions[i];

		join = r->obj && (r->flags & MAP_ANONYMOUS) &&
		       !(r->flags & MAP_SHARED) && !r->zero_file && !r->pgdelta;
	}
	pthread_mutex_unlock(&p->lock);
	return join;
}

/*
 * mlock(2), mlock2(2), munlock(2), mlockall(2) and munlockall(2) of the
 * program over [a, b), to lock it `how` (LOCK_*, 0 to unlock).  Each
 * pager first learns the anon_vmas its private file mappings took
 * (anon_learn()), and notes the lock on its regions there (lock_set()):
 * the faults that the kernel's lock takes see the mappings as the kernel
 * has split them.  Pagers whose backend needs it (the signals backend,
 * whose guard pages the kernel cannot lock) make [a, b) ready.  The
 * kernel then locks it, and lock_done() undoes what it did not get to.
 */
/* The end of all memory, for mlockall(2) and munlockall(2). */
#define LOCK_ALL_END (UINTPTR_MAX & ~(uintptr_t)(SYS_PAGE - 1))

/* fn(p, a, b, arg) on every pager, under its lock. */
static void lock_each(uintptr_t a, uintptr_t b,
		      void (*fn)(struct up_pager *p, uintptr_t a, uintptr_t b,
				 uintptr_t arg),
		      uintptr_t arg)
{
	struct up_pager *p;

	/* A call of no pages (a length of 0) changes nothing. */
	if (!atomic_load(&all_nr) || a >= b)
		return;
	pthread_mutex_lock(&all_lock);
	for (p = all_pagers; p; p = p->all_next) {
		pthread_mutex_lock(&p->lock);
		fn(p, a, b, arg);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&all_lock);
}

static void lock_prepare(struct up_pager *p, uintptr_t a, uintptr_t b,
			 uintptr_t how)
{
	size_t i;

	anon_learn(p, a, b);
	lock_set(p, a, b, (int)how);
	for (i = up__region_first(p, a); how && p->ops->lock &&
					 i < p->regions_nr &&
					 p->regions[i]->start < b; i++) {
		struct up_region *r = p->regions[i];

		p->ops->lock(p, r, a > r->start ? a : r->start,
			     b < r->end ? b : r->end);
	}
}

/* After the kernel's call: undone past `reached` (arg, its low bits
 * whether the kernel faulted the pages in: all of them (1), or up to the
 * first inaccessible mapping, where it stopped (2)).  Where it faulted
 * them in, a private writable mapping's pages were written, each copied,
 * as by a store: one with no anon_vma takes its neighbour's or a new
 * one. */
static void lock_learn(struct up_pager *p, uintptr_t a, uintptr_t b,
		       uintptr_t arg)
{
	uintptr_t reached = arg & ~(uintptr_t)3, next = a;
	bool in = arg & 3;
	size_t i;

	if (reached < b)
		lock_undo(p, reached, b);
	for (i = up__region_first(p, a);
	     i < p->regions_nr && p->regions[i]->start < reached; i++) {
		struct up_region *r = p->regions[i];

		/* Where it stopped, it cannot be told past memory not the
		 * pager's; it stops at an inaccessible mapping, and at a
		 * page past the end of a file. */
		if ((arg & 2) && (r->start > next || r->prot == PROT_NONE))
			in = false;
		next = r->end;
		if (!r->obj)
			continue;
		up__region_merged(p, r);
		if (in && r->locked && !r->anon && (r->prot & PROT_WRITE) &&
		    !(r->flags & MAP_SHARED))
			up__region_anon(p, r);
		if ((arg & 2) && !(r->flags & MAP_ANONYMOUS) &&
		    up__obj_valid_end(p, r->obj, false) <
			    r->off + (off_t)(r->end - r->start))
			in = false;
	}
}

/* The first address in [a, b) that no mapping of the kernel's holds, or
 * b. */
static uintptr_t first_gap(uintptr_t a, uintptr_t b)
{
	struct up_run *runs;
	size_t nr, k;

	if (up__maps_take(a, b - a, &runs, &nr))
		return a;
	for (k = 0; k < nr && runs[k].a == a; k++)
		a += runs[k].len;
	free(runs);
	return a < b ? a : b;
}

enum { L_LOCK, L_UNLOCK, L_ALL };

/*
 * The kernel's answer ret (errno kept) to a lock call of kind L_* over
 * [a, b), populating or not: how far it got.  It locks mapping by mapping
 * up to a gap (ENOMEM), and then faults the pages in (EAGAIN where that
 * failed, ENOMEM past the end of a file); it refuses a lock beyond
 * RLIMIT_MEMLOCK (ENOMEM), bad flags (EINVAL) and no right (EPERM) first.
 */
static int lock_done(int ret, int kind, uintptr_t a, uintptr_t b,
		     bool populate)
{
	int saved = errno;
	uintptr_t reached = b, in = !ret && populate;

	if (ret && (kind == L_ALL || (saved != ENOMEM && saved != EAGAIN))) {
		reached = a;
	} else if (ret && saved == ENOMEM &&
		   (kind == L_UNLOCK || up__locked((void *)a, SYS_PAGE))) {
		reached = first_gap(a, b);
		/* With no gap, every lock was taken, and faulting in stopped
		 * where it could not go on: an inaccessible mapping (what
		 * came before it was faulted in). */
		if (populate && kind == L_LOCK && reached == b)
			in = 2;
	} else if (ret && saved == ENOMEM) {
		reached = a;
	}
	lock_each(a, b, lock_learn, reached | in);
	errno = saved;
	return ret;
}

/* Before a lock call of [addr, addr + len), to lock it how: the pages it
 * takes, [*a, *b), as the kernel reckons them (a length that wraps takes
 * nothing), prepared (lock_prepare()). */
static void lock_begin(const void *addr, size_t len, int how, uintptr_t *a,
		       uintptr_t *b)
{
	size_t l = (len + ((uintptr_t)addr & (SYS_PAGE - 1)) + SYS_PAGE - 1) &
		   ~(SYS_PAGE - 1);

	*a = (uintptr_t)addr & ~(SYS_PAGE - 1);
	*b = l > UINTPTR_MAX - *a ? *a : *a + l;
	lock_each(*a, *b, lock_prepare, (uintptr_t)how);
}

UP_EXPORT int mlock(const void *addr, size_t len)
{
	uintptr_t a, b;

	lock_begin(addr, len, LOCK_ON, &a, &b);
	return lock_done((int)lock_in(addr, len, 0), L_LOCK, a, b, true);
}

UP_EXPORT int mlock2(const void *addr, size_t len, unsigned int flags)
{
	bool onfault = flags & MLOCK_ONFAULT;
	uintptr_t a, b;

	lock_begin(addr, len, onfault ? LOCK_ONFAULT : LOCK_ON, &a, &b);
	return lock_done((int)lock_in(addr, len, flags), L_LOCK, a, b,
			 !onfault);
}

UP_EXPORT int munlock(const void *addr, size_t len)
{
	uintptr_t a, b;

	lock_begin(addr, len, 0, &a, &b);
	return lock_done((int)syscall(SYS_munlock, addr, len), L_UNLOCK, a, b,
			 false);
}

UP_EXPORT int mlockall(int flags)
{
	int ret;

	if (flags & MCL_CURRENT)
		lock_each(0, LOCK_ALL_END, lock_prepare,
			  flags & MCL_ONFAULT ? LOCK_ONFAULT : LOCK_ON);
	/* (So that a child of fork() forgets MCL_FUTURE.) */
	pthread_once(&fork_once, fork_setup);
	ret = (flags & MCL_CURRENT) && atomic_load(&all_nr)
		      ? up__mlockall(flags)
		      : (int)syscall(SYS_mlockall, flags);
	if (!ret)
		up__lock_future = (flags & MCL_FUTURE)
					  ? flags & (MCL_FUTURE | MCL_ONFAULT)
					  : 0;
	return (flags & MCL_CURRENT)
		       ? lock_done(ret, L_ALL, 0, LOCK_ALL_END,
				   !(flags & MCL_ONFAULT))
		       : ret;
}

UP_EXPORT int munlockall(void)
{
	int ret;

	lock_each(0, LOCK_ALL_END, lock_prepare, 0);
	ret = (int)syscall(SYS_munlockall);
	if (!ret)
		up__lock_future = 0;
	return lock_done(ret, L_ALL, 0, LOCK_ALL_END, false);
}

UP_NO_TSAN UP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags,
				int fd, off_t off)
{
	struct stat st;
	uintptr_t b;
	int err, fl;

	if (up__preload_takes(addr, len, prot, flags, fd, off))
		return up_mmap(addr, len, prot, flags, fd, off);
	if ((flags & MAP_FIXED) && may_claim((uintptr_t)addr, len, &b) &&
	    joins_anon((uintptr_t)addr, b, flags))
		return up_mmap(addr, len, prot, flags, fd, off);
	if ((flags & MAP_FIXED) && may_claim((uintptr_t)addr, len, &b) &&
	    give_up((uintptr_t)addr, b, true)) {
		/* The kernel refuses bad arguments before it unmaps. */
		err = check_map(addr, len, prot, flags, fd, off, &st, &fl);
		if (err >= 0)
			err = give_up((uintptr_t)addr, b, false);
		if (err < 0) {
			errno = -err;
			return MAP_FAILED;
		}
	}
	return up__real_mmap(addr, len, prot, flags, fd, off);
}

UP_NO_TSAN UP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags,
				  int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

UP_NO_TSAN UP_EXPORT int munmap(void *addr, size_t len)
{
	uintptr_t b;
	int err = 0;

	if (may_claim((uintptr_t)addr, len, &b))
		err = give_up((uintptr_t)addr, b, false);
	if (up__real_munmap(addr, len))
		return -1;
	return posix_ret(err);
}

/* A move only replaces its target only where a mapping of [a, a + len)
 * lands, the gaps between them kept (see remap_moves()): the pagers
 * other than `except` give up that much; all_lock held. */
static void give_up_landing(uintptr_t a, size_t len, uintptr_t to,
			    const struct up_pager *except)
{
	struct up_run *runs;
	size_t nr, i;

	if (up__maps_take(a, len, &runs, &nr)) {
		give_up_locked(to, to + len, false, except);
		return;
	}
	for (i = 0; i < nr; i++)
		give_up_locked(to + (runs[i].a - a),
			       to + (runs[i].a - a) + runs[i].len, false,
			       except);
	free(runs);
}

/*
 * mremap(2) of [a, b) (all_lock held), which starts in the kernel's own
 * memory and runs into a pager's mapping beside it: the pager whose
 * mapping took that memory over, one mapping with it (see adopt_beside()),
 * or NULL.
 */
static struct up_pager *adopt_before(uintptr_t a, uintptr_t b)
{
	struct up_pager *p = all_pagers;
	struct up_region *r;
	size_t i;
	bool took = false;

	if (!p || p->all_next)
		return NULL;
	pthread_mutex_lock(&p->lock);
	i = up__region_first(p, a);
	r = i < p->regions_nr ? p->regions[i] : NULL;
	if (r && r->start > a && r->start < b && kernel_one(a, r->start))
		took = adopt_beside(p, r, 0);
	pthread_mutex_unlock(&p->lock);
	return took ? p : NULL;
}

/*
 * mremap(2) over any memory: a pager's mapping moves as up_pager_remap()
 * moves it; the kernel's own is the kernel's to move, after the pagers
 * give up what it replaces (the target of a fixed move, the rest of a
 * shrunk mapping).
 */
static void *remap_any(void *old, size_t old_len, size_t new_len, int flags,
		       void *to)
{
	uintptr_t a = (uintptr_t)old, t = (uintptr_t)to, b, res;
	size_t ol = old_len, nl = new_len;
	struct up_pager *p, *own = NULL;
	struct up_grown g;
	int err;

	if (!atomic_load(&all_nr) || remap_args(a, &ol, &nl, flags, t))
		return up__real_mremap(old, old_len, new_len, flags, to);
	/* A move only may take mappings of a pager after a. */
	b = move_only(ol, nl, flags) ? a + ol : a + 1;
	pthread_mutex_lock(&all_lock);
	for (p = all_pagers; p && !own; p = p->all_next) {
		uintptr_t lo, hi;

		pthread_mutex_lock(&p->lock);
		if (claimed(p, a, b, &lo, &hi))
			own = p;
		pthread_mutex_unlock(&p->lock);
	}
	if (!own && !move_only(ol, nl, flags))
		own = adopt_before(a, a + (ol < nl ? ol : nl));
	/* The kernel looks for a mapping at old before anything else. */
	if (!own && !up__range_used(old, SYS_PAGE)) {
		pthread_mutex_unlock(&all_lock);
		errno = EFAULT;
		return MAP_FAILED;
	}
	if ((flags & MREMAP_FIXED) && may_claim(t, nl, &b)) {
		/* The kernel refuses its own mapping before it replaces the
		 * target: a copy of a private one, a range across two. */
		err = own ? 0 : kernel_refuses(a, ol, nl, flags);
		if (err) {
			pthread_mutex_unlock(&all_lock);
			errno = -err;
			return MAP_FAILED;
		}
		if (move_only(ol, nl, flags))
			give_up_landing(a, ol, t, own);
		else
			give_up_locked(t, b, false, own);
	}
	if (!(flags & MREMAP_DONTUNMAP) && nl < ol)
		give_up_locked(a + nl, a + ol, false, own);
	if (!own) {
		pthread_mutex_unlock(&all_lock);
		return up__real_mremap(old, old_len, new_len, flags, to);
	}
	pthread_mutex_lock(&own->lock);
	err = remap(own, a, ol, nl, flags, t, &res);
	assert(up__cache_check(own));
	g = grown_take(own);
	pthread_mutex_unlock(&own->lock);
	pthread_mutex_unlock(&all_lock);
	grown_fault(g);
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	return (void *)res;
}

UP_NO_TSAN UP_EXPORT void *up_mremap(void *old, size_t old_len,
				     size_t new_len, int flags, ...)
{
	void *to = NULL;
	va_list ap;

	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	return remap_any(old, old_len, new_len, flags, to);
}

/* The program's own mremap(2) is the same call. */
UP_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags,
		       ...) __attribute__((alias("up_mremap")));
