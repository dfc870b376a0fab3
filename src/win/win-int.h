/* SPDX-License-Identifier: MIT */
/*
 * win-int.h - what the Windows build of the library shares between its
 * files: the pager, its mappings, and the table of functions a backend
 * fills.  api.c owns the pager, the record of its mappings and the
 * argument checks; a backend (kernel.c, trap.c) makes, changes and
 * removes one mapping at a time.  Nothing here is public.
 */
#ifndef UP_WIN_INT_H
#define UP_WIN_INT_H

#include <windows.h>
#include <stdbool.h>

#include "upager.h"

/* What a mapping shows. */
enum win_kind {
	WK_FILE_SHARED,		/* a file, stores reach it */
	WK_FILE_PRIVATE,	/* a file, copied on write */
	WK_ANON_SHARED,		/* a section of the paging file */
	WK_ANON_PRIVATE,	/* memory of VirtualAlloc() */
};

/*
 * One mapping.  A view starts at a multiple of the allocation
 * granularity (64 KiB) of its section, so a mapping from any other
 * system-page offset is the tail of a view that starts below: the caller
 * gets addr, which is base + (off mod granularity).  The record is
 * api.c's and moves as mappings come and go: a backend keeps what it
 * needs to find again in be.
 */
struct win_map {
	char *addr;		/* the mapping, as the caller got it */
	size_t len;		/* its length, in whole system pages */
	char *base;		/* the view (or allocation) that holds it */
	enum win_kind kind;
	int maxprot;		/* PROT_* the section allows */
	HANDLE file;		/* WK_FILE_SHARED: the file, for MS_SYNC */
	void *be;		/* the backend's own */
};

/* What mapping needs: the caller's arguments, checked. */
struct win_req {
	char *addr;		/* a hint, or the place with MAP_FIXED */
	size_t len;		/* in whole system pages */
	int prot, flags;
	HANDLE file;		/* NULL for MAP_ANONYMOUS */
	off_t off;
};

struct win_backend {
	const char *name;
	/* The pager's state: made by open (may be NULL), freed by close
	 * once every mapping is gone. */
	int (*open)(struct up_pager *p);
	void (*close)(struct up_pager *p);
	/* Make m from r; 0 or -errno, nothing left behind on failure. */
	int (*map)(struct up_pager *p, const struct win_req *r,
		   struct win_map *m);
	/* Remove all of m. */
	int (*unmap)(struct up_pager *p, struct win_map *m);
	/* [addr, addr+len) of m: msync, mprotect, madvise. */
	int (*sync)(struct up_pager *p, struct win_map *m, char *addr,
		    size_t len, int flags);
	int (*protect)(struct up_pager *p, struct win_map *m, char *addr,
		       size_t len, int prot);
	int (*advise)(struct up_pager *p, struct win_map *m, char *addr,
		      size_t len, int advice);
	/* Add the statistics of m (of every mapping, m NULL) to *st, whose
	 * page_len is set. */
	void (*stats)(struct up_pager *p, const struct win_map *m,
		      struct up_stats *st);
};

struct up_pager {
	SRWLOCK lock;		/* over everything below */
	struct up_config cfg;
	const struct win_backend *be;
	char note[160];
	struct win_map *maps;	/* sorted by addr, none overlapping */
	size_t maps_nr, maps_cap;
	void *state;		/* the backend's own */
	char *swap_dir;		/* cfg.swap_dir, copied (NULL: the default) */
};

extern const struct win_backend up__win_kernel, up__win_trap;

/*
 * The pager's lock.  A thread that holds it never touches the program's
 * memory, so that a fault there is never served while its lock is held;
 * up__win_locked counts the locks this thread holds, and a fault taken
 * with one held is not the pager's to serve (it would wait on itself).
 */
extern __thread int up__win_locked;

static inline void win_lock(struct up_pager *p)
{
	AcquireSRWLockExclusive(&p->lock);
	up__win_locked++;
}

static inline void win_unlock(struct up_pager *p)
{
	up__win_locked--;
	ReleaseSRWLockExclusive(&p->lock);
}

/* The mapping of p that holds addr, or NULL; p's lock held. */
struct win_map *up__win_find(struct up_pager *p, const void *addr);

/* The system page and the allocation granularity. */
size_t up__win_page(void);
size_t up__win_gran(void);
/* A Windows error code as a negative errno. */
int up__win_errno(DWORD code);
/* PROT_* as a PAGE_* protection for memory of kind k. */
DWORD up__win_prot(int prot, enum win_kind k);

#endif
