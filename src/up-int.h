/* SPDX-License-Identifier: MIT */
/*
 * up-int.h - internal types and up__ prototypes shared by src/ files.
 *
 * Lock order: a pager has one mutex, p->lock, which guards every field of
 * the pager, its regions, objects and frames.  Fault service, map, unmap,
 * sync, protect and advise all run under it.  No code holding it ever
 * touches memory of a user mapping (which could fault back into the pager):
 * all I/O goes through each object's private "view" mapping.
 */
#ifndef UP_INT_H
#define UP_INT_H

#include "upager.h"
#include "up-config.h"
#include "up-sys.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define UP_EXPORT __attribute__((visibility("default")))
/* Not instrumented by ThreadSanitizer: the library's mmap(2) and kin, which
 * its runtime calls while it starts. */
#if defined(__SANITIZE_THREAD__)
#define UP_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define UP_NO_TSAN
#endif

/* The system page: the unit of mprotect, munmap and userfaultfd. */
#define SYS_PAGE 4096ul
#define SYS_ALIGNED(x) ((((uintptr_t)(x)) & (SYS_PAGE - 1)) == 0)
#define SYS_UP(x) (((x) + SYS_PAGE - 1) & ~(SYS_PAGE - 1))

/* Flags and advice of Linux 6.x that older C library headers lack. */
#if defined(__x86_64__) || defined(__i386__)
#define UP_MAP_ARCH (0x40 | 0x80)	/* MAP_32BIT, MAP_ABOVE4G */
#else
#define UP_MAP_ARCH 0
#endif
#define UP_MAP_HUGE_BITS (0x1f << 26)	/* MAP_HUGE_2MB | MAP_HUGE_1GB */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

struct up_pager;
struct up_region;
struct up_batch;
struct up_lent {			/* a lent page in memory (solo.c) */
	struct up_obj *obj;		/* NULL: gone */
	uint64_t pg;
};
struct up_seg_ops;

/* ---- objects: what a mapping shows, with its page cache ------------- */

/* Page state, one byte per pager page of an object. */
#define PG_RESIDENT	0x01	/* in the object's memfd, holding a frame */
#define PG_DIRTY	0x02	/* differs from its store */
#define PG_INSWAP	0x04	/* the swap file holds a copy (anon objects) */
#define PG_BAD		0x08	/* inline faults: its read failed, SIGBUS */
#define PG_LENT		0x10	/* page cache, not resident: the file is
				 * mapped there with no page (solo.c) */
#define PG_SEEN		0x20	/* lent, and in memory when last looked
				 * at: in the queue of such pages */

enum obj_kind {
	OBJ_FILE,	/* MAP_SHARED file: the file is the store */
	OBJ_ANON,	/* anonymous or MAP_PRIVATE copy: swap is the store */
};

/* What stands behind an object's pages: a file (store-file.c) or the
 * program's own store (up_pager_map_store()); none for anonymous memory,
 * whose pages only the swap file keeps. */
struct up_store {
	const struct up_store_ops *ops;	/* NULL: none */
	void *ctx;
};

struct up_obj {
	struct up_obj *next;		/* p->objs */
	enum obj_kind kind;
	struct up_store store;		/* its content: the file's, a private
					 * copy's source, or the program's */
	int fd;				/* file (OBJ_FILE), source of a private
					 * copy, or -1 */
	int ro_fd;			/* a read-only descriptor of the file
					 * too, when fd is writable, or -1 */
	bool fd_writable;
	dev_t dev;
	ino_t ino;
	off_t src_off;			/* private copy: file offset of obj 0 */
	off_t file_len;			/* file size last seen */
	int memfd;			/* the pages, at their object offsets */
	char *view;			/* the pager's own mapping of memfd */
	size_t view_len;
	uint64_t pages_nr;		/* pager pages covered by memfd */
	uint8_t *pflags;		/* PG_* per pager page */
	uint32_t *frame;		/* frame index + 1 per pager page */
	off_t swap_base;		/* OBJ_ANON: offset in the swap file */
	off_t shm_len;			/* shared anonymous memory: its length,
					 * past which a mapping grown by
					 * mremap(2) raises SIGBUS; 0 if none */
	struct up_region *regions;	/* regions showing this object */
	int err;			/* sticky -EIO for all its regions */
	off_t wo_a, wo_b;		/* written back, write-out not started */
	off_t wf_a, wf_b;		/* write-out started last, to drop from
					 * the page cache at the next */
	bool solo;			/* pages in pool frames (solo.c) */
	bool no_borrow;			/* its file cannot be mapped */
	bool making;			/* up_pager_map_store() at work: kept
					 * without regions */
	bool pc;			/* solo, every page borrowed from the
					 * page cache, in all its regions */
	uint8_t *cow;			/* pc private: a bit per system page
					 * whose private copy is in swap */
	uint64_t lent_nr;		/* pages PG_LENT */
	bool lent_frames;		/* some of them resident still, their
					 * frames to give up (cache.c) */
	struct up_seg *seg;		/* shared with other processes
					 * (shared.c); pflags point into it */
	const struct up_seg_ops *seg_ops;	/* what the core asks of it */
};

/* What the core (cache.c) asks of the segment that keeps a shared object's
 * pages (shared.c). */
struct up_seg_ops {
	/* Read page pg in ahead (demand false), as up__page_fill_ahead(). */
	int (*fill)(struct up_pager *p, struct up_obj *o, uint64_t pg,
		    struct up_region *r, bool demand);
	/* The object's last mapping went: write back, let the segment go. */
	int (*detach)(struct up_pager *p, struct up_obj *o);
};

/* A frame is the budget's unit: one resident pager page. */
struct up_frame {
	struct up_obj *obj;		/* NULL when free */
	uint64_t pgno;
	uint8_t ref;			/* clock reference bit */
	uint8_t pin;			/* in use by the running operation */
	uint8_t slot_full;		/* its pool slot holds memory */
	uint8_t borrowed;		/* solo: the file's page-cache pages are
					 * mapped in its place (solo.c) */
	uint32_t valid;			/* bytes of content it was filled with
					 * (less than a page at the end of a
					 * file) */
	uint64_t tick;			/* p->tick when last filled or faulted */
	off_t mv_a, mv_b;		/* solo: object range moved into the
					 * mapping, empty if in the slot */
};

/* A range of a file's page cache that the pager let go. */
struct up_letgo {
	struct up_obj *obj;		/* NULL once the object went */
	off_t off, len;
};

/* A file, by device and inode. */
struct up_file_id {
	dev_t dev;
	ino_t ino;
};

/* ---- regions: one per mapping (or piece of a split mapping) -------- */

struct up_region {
	uintptr_t start, end;		/* [start, end), system-page aligned */
	off_t off;			/* object offset of start */
	struct up_obj *obj;		/* NULL on the kernel backend */
	struct up_region *obj_next;
	int prot, flags;
	bool may_write;			/* PROT_WRITE allowed */
	bool accounted;			/* private, and writable once: the
					 * kernel's keeps VM_ACCOUNT, and
					 * merges only with such another */
	int advice;			/* MADV_NORMAL/RANDOM/SEQUENTIAL */
	uint64_t next_pgno;		/* sequential-fault detector */
	unsigned ra_win;		/* its read-ahead window, in pages */
	bool whole_tried;		/* its first fault looked at showing
					 * all of it (fault-uffd.c) */
	uint64_t serial;		/* the mapping it is of (splits keep
					 * it) */
	int err;			/* sticky -EIO */
	off_t file_end;			/* object's content end when mapped */
	struct up_file_id handed;	/* a file's MAP_SHARED mapping that
					 * fork() handed to the kernel, or 0 */
	bool dontfork;			/* MADV_DONTFORK: not in a child */
	bool wipeonfork;		/* MADV_WIPEONFORK: zeros in a child */
	bool zero_file;			/* a private mapping of /dev/zero: the
					 * kernel's has a file (no
					 * MADV_WIPEONFORK) */
	bool beyond;			/* the kernel's: past the end of shared
					 * memory that mremap(2) grew */
	bool moved;			/* moved by mremap(2): the kernel's
					 * mapping keeps the page offset of
					 * where it was made, and merges with
					 * no new anonymous neighbour */
	int64_t pgdelta;		/* private anonymous memory: the
					 * kernel's page offset (vm_pgoff)
					 * less the address's page number.  A
					 * new mapping's is 0; mremap(2) keeps
					 * the page offset where it moves and
					 * grows a mapping and where
					 * MREMAP_DONTUNMAP leaves it: two
					 * pieces merge only where theirs are
					 * one */
	uint64_t anon;			/* the kernel's mapping's anon_vma, 0
					 * until a fault gives it one (any in
					 * private anonymous memory, a store in
					 * a private file mapping): mapping
					 * pieces with two different ones are
					 * never one again (see
					 * up__region_anon()) */
	uint64_t apart;			/* the mapping that MREMAP_DONTUNMAP
					 * left behind where mlock(2) locked
					 * it, unlocked, 0 if none: the kernel
					 * merges it with no neighbour outside
					 * until a call changes it (see
					 * left_behind() in api.c) */
	bool beside;			/* placed by the program (MAP_FIXED),
					 * beside memory of its own, maybe:
					 * see adopt_beside() in api.c */
	uint8_t locked;			/* LOCK_*: how mlock(2) locked it, 0 if
					 * not (api.c, lock_set()): the kernel
					 * merges no mappings locked apart */
	uint8_t locked_was;		/* before the lock call at work */
	bool fork_locked;		/* at fork(), part of it mlock(2)ed in
					 * the parent: the kernel's child
					 * keeps the mappings mlock(2) split,
					 * without the lock */
	uint32_t sfile;			/* signals backend: the file it shows,
					 * whose pages the pager serves (index
					 * + 1), or 0 */
	uint8_t vmflags;		/* VF_*: advice the pager's memory does
					 * not take, kept where the kernel's
					 * mapping keeps it (see
					 * up__region_alike()) */
	struct up_stats st;		/* counters of this mapping */
};

#define LOCK_ON		1	/* mlock(2): VM_LOCKED, pages faulted in */
#define LOCK_ONFAULT	2	/* MLOCK_ONFAULT: VM_LOCKONFAULT too */

#define VF_HUGE		0x01	/* MADV_HUGEPAGE */
#define VF_NOHUGE	0x02	/* MADV_NOHUGEPAGE */
#define VF_DONTDUMP	0x04	/* MADV_DONTDUMP */
#define VF_MERGEABLE	0x08	/* MADV_MERGEABLE */

/* ---- backends ------------------------------------------------------- */

struct up_backend_ops {
	const char *name;
	/* Every mapping is the kernel's own mmap(2), its semantics the
	 * kernel's: no objects, no pager pages of the core's. */
	bool kernel_mappings;
	int (*open)(struct up_pager *p);
	void (*close)(struct up_pager *p);
	/* Map region r (start/end/off/prot/flags set; addr hint in start);
	 * with r->obj set, as another mapping of that object. */
	int (*map)(struct up_pager *p, struct up_region *r, int fd,
		   void *hint, int mflags);
	/* Move r's memory, mapping by mapping, to the held range at `to`
	 * (mremap(2)); the caller moves r.  NULL: the kernel's mremap(2)
	 * moves the backend's mappings as they are. */
	int (*move)(struct up_pager *p, struct up_region *r, uintptr_t to);
	/* Drop [a, b) of r from the pager; the caller unmaps the memory. */
	int (*unmap)(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b);
	int (*sync)(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b, int flags);
	int (*advise)(struct up_pager *p, struct up_region *r, uintptr_t a,
		      uintptr_t b, int advice);
	/* Fill resident/dirty of st for r, or for the whole pager if r is
	 * NULL (backends of kernel_mappings). */
	void (*count)(struct up_pager *p, struct up_region *r,
		      struct up_stats *st);
	/* Before fork(), p->lock held: make ready what the child inherits.
	 * Returns true if the child will copy pages the parent must leave
	 * alone until it has (api.c waits).  NULL if nothing to do. */
	bool (*fork_prepare)(struct up_pager *p);
	/* In the child after fork(), p->lock held; copy says whether the
	 * parent waits for it (see fork_prepare).  NULL if nothing to do. */
	void (*fork_child)(struct up_pager *p, bool copy);
	/* Before the kernel's mlock(2) of [a, b) of r, which must find
	 * every page there mappable.  NULL if nothing to do. */
	void (*lock)(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b);
	/* Serve a fault at addr in the faulting thread (sigbus.c): 1 if the
	 * access may run again, 0 if no mapping of p holds addr, -1 if it
	 * must raise SIGBUS.  NULL where nothing faults (the kernel's). */
	int (*fault)(struct up_pager *p, uintptr_t addr, bool write, bool wp);
	/* Backends of kernel_mappings that show stores: map() maps
	 * p->making_store where fd is -1, and this follows the store's
	 * resize to len.  NULL: such a backend shows none. */
	int (*store_resize)(struct up_pager *p, const struct up_store *st,
			    off_t len);
	/* The kernel's mremap(2) of the backend's mappings made [a, b) anew
	 * (what they grew by, a copy, what MREMAP_DONTUNMAP left behind),
	 * recorded already: the backend takes it in.  NULL: nothing to do. */
	void (*remapped)(struct up_pager *p, uintptr_t a, uintptr_t b);
};

extern const struct up_backend_ops up__uffd_ops;
extern const struct up_backend_ops up__kernel_ops;
extern const struct up_backend_ops up__sig_ops;

/*
 * What the pager's core (cache.c, shared.c) asks of the mechanism that
 * raises its faults, the userfaultfd's (fault-uffd.c) on the userfaultfd
 * backend, none on the kernel's: an ops table, so that the core calls no
 * source by name.
 */
struct up_fault_ops {
	/* Write-protect [a, b) of a mapping (on), or lift it: the next
	 * store there faults.  0 or -errno. */
	int (*wprotect)(struct up_pager *p, uintptr_t a, uintptr_t b,
			bool on);
};

extern const struct up_fault_ops up__uffd_faults;

/* Latency histogram: 4 buckets per power of two of nanoseconds. */
#define HIST_NR 256

/* Background work for the service threads (MADV_WILLNEED). */
struct up_work {
	struct up_work *next;
	struct up_obj *obj;
	uint64_t pgno, end;
};

struct up_pager {
	pthread_mutex_t lock;
	struct up_config cfg;
	char *swap_dir;			/* our copy of cfg.swap_dir */
	const struct up_backend_ops *ops;
	const struct up_fault_ops *faults;	/* NULL: the kernel's */
	char note[1024];

	/* registry.c: regions sorted by start */
	struct up_region **regions;
	size_t regions_nr, regions_cap;

	/* cache.c */
	struct up_obj *objs;
	struct up_frame *frames;
	uint64_t frames_nr, frames_used, hand;
	uint64_t tick;			/* counts page uses */
	uint32_t *free_frames;		/* stack of released frame indexes */
	uint64_t stack_nr;		/* on that stack */
	uint64_t fresh;			/* frames from here on never used */
	uint64_t free_nr;		/* free in all */
	uint32_t *pinned;		/* frames pinned by this operation */
	uint64_t pinned_nr;
	struct up_letgo *letgo;		/* page cache let go, oldest first */
	uint64_t letgo_head, letgo_nr, letgo_bytes;
	int swap_fd;
	struct up_store swap;		/* the swap file, as a store */
	char *wb_buf;			/* WB_BUF bytes, page-aligned: write-back
					 * of mapped pages to a program's store */
	struct up_batch *batch;		/* write-back being batched (cache.c) */
	off_t swap_next;
	char *pool;			/* solo.c: one slot per frame */
	size_t pool_len;
	char *spare;			/* registered memory to put back over a
					 * borrowed page */
	int mover_fd;			/* wakes the mover thread */
	pthread_t mover;
	void *mover_stack;
	atomic_int mover_job;		/* MV_* (solo.c) */
	atomic_int mover_err;
	void *mover_from;		/* the move asked for */
	size_t mover_len;
	uintptr_t mover_to;
	struct up_work *work;		/* WILLNEED queue */
	int mem_fd;			/* /proc/self/mem and /proc/self/pagemap
					 * (solo.c: private copies) */
	int pagemap_fd;
	atomic_ulong lent_nr;		/* pages lent, in all objects */
	uint64_t lent_in;		/* their system pages in memory, as
					 * last seen */
	int64_t lent_over;		/* bytes of them still to leave */
	struct up_lent *lent_q;		/* pages PG_SEEN, oldest first: a ring
					 * of lent_cap, from lent_head */
	size_t lent_cap, lent_head, lent_len;
	char *cow_buf;			/* a system page for them */
	int beyond_fd;			/* api.c: an empty memfd, mapped past
					 * the end of shared memory that
					 * mremap(2) grew (-1 until then) */

	/* fault-uffd.c */
	int uffd;
	bool user_mode_only;
	uint64_t features;
	int event_fd;			/* wakes service threads */
	atomic_bool stop;
	pthread_t *threads;
	unsigned threads_nr;
	void *stacks;			/* the threads' stacks */
	atomic_uint segs_nr;		/* shared objects attached */
	bool inline_faults;		/* UP_CONFIG_FAULT_INLINE in use */
	/* The hull of every mapping ever made, for sigbus.c to pass over
	 * pagers without taking their locks (written under p->lock). */
	atomic_uintptr_t lo, hi;
	struct up_pager *all_next;	/* api.c: every pager, for fork() */
	/* Files whose MAP_SHARED mappings fork() handed to the kernel: later
	 * ones are the kernel's too, so that all stay coherent. */
	struct up_file_id *handed;
	size_t handed_nr;
	/* The kernel's mappings over private regions that a child copies,
	 * as fork() found them (see up__obj_fork_copy()). */
	struct up_run *fork_runs;
	size_t fork_runs_nr;
	uintptr_t fork_made;		/* in a child of fork(): the end of
					 * the private anonymous mapping made
					 * last (up__obj_fork_copy()) */

	uint64_t anon_nr;		/* anon_vmas handed out (up_region) */
	struct up_grown {
		uintptr_t a;
		size_t len;
		bool write;
	} grown;			/* what mremap(2) grew a locked mapping
					 * by, to fault in once p->lock is
					 * free (api.c, lock_grown()) */
	struct up_run filling;		/* an mprotect(2) at work: the part
					 * of a locked private mapping made
					 * writable that the kernel faults in
					 * once all its mapping is (api.c,
					 * protect_piece()) */
	struct up_region filling_last;	/* its last piece, before the call */

	struct up_sig *sig;		/* fault-signals.c */
	const struct up_store *making_store; /* up_pager_map_store() at
					 * work (backends of
					 * kernel_mappings): map() maps it */

	/* statistics (resident and dirty are counted live) */
	struct up_stats st;
	uint64_t hist[HIST_NR];
};

/* ---- api.c ---------------------------------------------------------- */
struct up_pager *up__default_if_made(void);
bool up__preload_takes(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off);

/* ---- registry.c ----------------------------------------------------- */
struct up_region *up__region_find(struct up_pager *p, uintptr_t addr);
size_t up__region_first(struct up_pager *p, uintptr_t addr);
int up__region_insert(struct up_pager *p, struct up_region *r);
void up__region_remove(struct up_pager *p, struct up_region *r);
bool up__range_mapped(struct up_pager *p, uintptr_t a, uintptr_t b);
bool up__region_alike(const struct up_region *l, const struct up_region *r);
bool up__region_span(const struct up_region *r, off_t a, off_t b,
		     uintptr_t *as, uintptr_t *ae);
bool up__one_mapping(const struct up_region *l, const struct up_region *r);
bool up__anon_alike(const struct up_region *l, const struct up_region *r);
uint64_t up__mapping_of(struct up_pager *p, size_t i, size_t *a, size_t *b);
void up__region_merged(struct up_pager *p, struct up_region *r);
void up__region_anon(struct up_pager *p, struct up_region *r);
void up__region_flags_to_kernel(const struct up_region *r);

/* ---- cache.c -------------------------------------------------------- */
int up__cache_init(struct up_pager *p);
void up__cache_fini(struct up_pager *p);
int up__obj_file(struct up_pager *p, int fd, const struct stat *st,
		 bool shared, struct up_obj **out);
int up__obj_fd_note(struct up_obj *o, int fd, bool writable);
int up__obj_anon(struct up_pager *p, struct up_obj **out);
int up__obj_store(struct up_pager *p, const struct up_store_ops *ops,
		  void *ctx, bool shared, struct up_obj **out);
ssize_t up__obj_read(struct up_obj *o, void *buf, size_t len, off_t off);
void up__obj_unmade(struct up_pager *p, struct up_obj *o, bool owned);
int up__obj_cover(struct up_pager *p, struct up_obj *o, off_t end);
void up__obj_attach(struct up_obj *o, struct up_region *r);
void up__obj_unlink(struct up_obj *o, struct up_region *r);
int up__obj_detach(struct up_pager *p, struct up_obj *o,
		   struct up_region *r);
int up__page_fill(struct up_pager *p, struct up_obj *o, uint64_t pgno,
		  struct up_region *r, off_t want);
int up__writeback(struct up_pager *p, struct up_obj *o, uint64_t pg_a,
		  uint64_t pg_b);
bool up__dirty_run(const struct up_obj *o, uint64_t *a, uint64_t b,
		   uint64_t *e);
int up__page_fill_ahead(struct up_pager *p, struct up_obj *o, uint64_t pgno,
			struct up_region *r);
struct up_region *up__obj_region(struct up_obj *o, off_t off);
void up__page_dirty(struct up_pager *p, struct up_obj *o, uint64_t pgno);
void up__page_drop(struct up_pager *p, struct up_obj *o, uint64_t pgno);
int up__discard(struct up_pager *p, struct up_obj *o, off_t a, off_t b);
int up__obj_resized(struct up_pager *p, struct up_obj *o, off_t len);
int up__obj_unsolo(struct up_pager *p, struct up_obj *o);
extern atomic_uint_fast64_t up__unsolo_nr;
void up__obj_wprotect(struct up_pager *p, struct up_obj *o, off_t a, off_t b);
void up__frames_unpin(struct up_pager *p);
void up__evict_behind(struct up_pager *p, struct up_obj *o, uint64_t pgno);
bool up__cache_check(struct up_pager *p);
void up__cache_child(struct up_pager *p);
int up__obj_swap_in(struct up_pager *p, struct up_obj *o);
void up__obj_forget(struct up_pager *p, struct up_obj *o);
int up__obj_fork_copy(struct up_pager *p, struct up_region *r);

/* The error a failed write to a store (or its sync) reports: a full
 * store is worth telling apart; anything else is EIO. */
static inline int up__store_err(long err)
{
	if (err >= 0)
		return 0;
	return err == -ENOSPC || err == -EDQUOT ? (int)err : -EIO;
}

static inline uint64_t up__pgno(const struct up_pager *p, off_t off)
{
	return (uint64_t)off / p->cfg.page_len;
}

/* ---- solo.c --------------------------------------------------------- */
int up__pool_init(struct up_pager *p);
void up__pool_fini(struct up_pager *p);
bool up__solo_eligible(struct up_pager *p, const struct up_region *r);
int up__solo_region(struct up_pager *p, struct up_region *r, void *hint,
		    int mflags);
ssize_t up__solo_fill(struct up_pager *p, struct up_obj *o, uint64_t pgno,
		      uint32_t idx);
int up__solo_map(struct up_pager *p, struct up_region *r, uint64_t pgno,
		 size_t valid, uintptr_t *as, uintptr_t *ae);
char *up__solo_data(struct up_pager *p, struct up_obj *o, uint64_t pgno,
		    off_t *a, off_t *b);
void up__solo_unmap_page(struct up_pager *p, struct up_obj *o, uint64_t pgno,
			 bool lend);
void up__solo_unmap_run(struct up_pager *p, struct up_obj *o, uint64_t pgno,
			uint64_t n, bool lend);
bool up__solo_borrowed(struct up_pager *p, struct up_obj *o, uint64_t pgno);
bool up__solo_let_go(struct up_pager *p, struct up_region *r, uint64_t pgno,
		     off_t a, off_t b);
bool up__solo_borrows(struct up_pager *p, struct up_obj *o);
bool up__solo_pc(struct up_pager *p, struct up_obj *o,
		 const struct up_region *r);
bool up__solo_borrow_full(void);
int up__solo_show(struct up_pager *p, struct up_region *r, uint64_t pgno,
		  unsigned n, uint64_t in_pg, unsigned in_n, uintptr_t store,
		  uintptr_t *as, uintptr_t *ae);
bool up__solo_shown(struct up_pager *p, struct up_region *r, uint64_t pg);
bool up__solo_lost(struct up_pager *p, struct up_region *r, uint64_t pg,
		   uintptr_t addr);
bool up__solo_copied(struct up_pager *p, const struct up_region *r);
void up__slot_release(struct up_pager *p, uint32_t idx);
bool up__solo_page_out(struct up_pager *p, struct up_obj *o, uint64_t pg,
		       off_t end);
int up__solo_remap(struct up_pager *p, struct up_obj *o);
int up__move_mapping(struct up_pager *p, void *src, size_t len,
		     uintptr_t dst);
void up__solo_child(struct up_pager *p);
int up__solo_lent_scan(struct up_pager *p);
void up__solo_unlend(struct up_pager *p, struct up_obj *o,
		     const struct up_region *r, off_t a, off_t b);
void up__solo_unshown(struct up_pager *p, struct up_obj *o, off_t a, off_t b);
void up__solo_forget(struct up_pager *p, struct up_obj *o, off_t a, off_t b);
int up__solo_hand(struct up_pager *p, struct up_region *r, uintptr_t end);

/* ---- shared.c ------------------------------------------------------- */
int up__seg_obj(struct up_pager *p, int fd, const struct stat *st, bool named,
		struct up_obj **out);
off_t up__seg_off(const struct up_obj *o, off_t off);
int up__seg_begin(struct up_pager *p, struct up_region *r, uint64_t pg,
		  bool write, bool *wp);
int up__seg_ahead(struct up_pager *p, struct up_obj *o, uint64_t pg,
		  struct up_region *r);
void up__seg_done(struct up_obj *o);
int up__seg_writeback(struct up_pager *p, struct up_obj *o, uint64_t a,
		      uint64_t b);
void up__seg_drop_clean(struct up_pager *p, struct up_obj *o, uint64_t a,
			uint64_t b);
void up__seg_service(struct up_pager *p);
void up__seg_count(struct up_obj *o, uint64_t a, uint64_t b,
		   struct up_stats *st);
int up__seg_child(struct up_pager *p, struct up_obj *o);
void up__seg_totals(struct up_obj *o, uint64_t *resident, uint64_t *dirty);

/* ---- store-file.c ---------------------------------------------------- */
/* A file as a store; ctx points at the object's descriptor (int). */
extern const struct up_store_ops up__file_store;
int up__store_access(int fd, int flags);
int up__store_fd(const struct up_store *s);
ssize_t up__store_fill(const struct up_store *s, char *buf, size_t len,
		       off_t off, int memfd, off_t moff);
off_t up__obj_valid_end(struct up_pager *p, struct up_obj *o,
			 bool refresh);

/* ---- fault.c -------------------------------------------------------- */
int up__backend_choose(struct up_pager *p);
const char *up__inline_refused(unsigned flags);
int up__uffd_open(unsigned cfg_flags, bool *user_mode_only,
		  uint64_t *features, char *why, size_t why_len);

/* ---- fault-uffd.c --------------------------------------------------- */
int up__uffd_wprotect(struct up_pager *p, uintptr_t a, uintptr_t b, bool on);

/* ---- signals.c ------------------------------------------------------ */
/* A replaced signal action, in one of two copies so that a new one can be
 * written while a handler may be reading the current one. */
struct up_sigprev {
	struct sigaction act[2];
	atomic_int cur;
};

int up__sig_install(int sig, void (*fn)(int, siginfo_t *, void *),
		    struct up_sigprev *prev);
void up__sig_chain(const struct up_sigprev *prev, int sig, siginfo_t *si,
		   void *uc);
int up__segv_install(int (*other)(const siginfo_t *, void *));
void up__sig_bus(void *addr, void *uc);
int up__fence(uintptr_t a, size_t len);
void up__fence_lift(int slot);

/* ---- sigbus.c ------------------------------------------------------- */
bool up__sigbus_supported(void);
int up__sigbus_add(struct up_pager *p, int sig);
void up__sigbus_del(struct up_pager *p);
void up__sigbus_child(void);

/* ---- cache.c / stats -------------------------------------------------- */
void up__hist_add(struct up_pager *p, uint64_t ns);
void up__hist_log2(const struct up_pager *p, uint64_t *counts, unsigned nr);
uint64_t up__hist_pct(const struct up_pager *p, unsigned pct);
void up__stat_add(struct up_pager *p, struct up_region *r, size_t field,
		  uint64_t n);
#define UP_STAT(p, r, f, n) \
	up__stat_add((p), (r), offsetof(struct up_stats, f), (n))

#endif /* UP_INT_H */
