/* SPDX-License-Identifier: MIT */
/*
 * win-int.h - what the Windows build of the library shares between its
 * files: the pager, its mappings, and the table of functions a backend
 * fills.  api.c owns the pager, the record of its mappings and the
 * argument checks; a backend (kernel.c) makes, changes and removes one
 * mapping at a time.  Nothing here is public.
 */
#ifndef UP_WIN_INT_H
#define UP_WIN_INT_H

#include <windows.h>

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
 * granularity (64 KiB) of the file, so a mapping from any other
 * system-page offset is the tail of a view that starts below: the caller
 * gets addr, which is base + (off mod granularity).
 */
struct win_map {
	char *addr;		/* the mapping, as the caller got it */
	size_t len;		/* its length, in whole system pages */
	char *base;		/* the view (or allocation) that holds it */
	enum win_kind kind;
	int maxprot;		/* PROT_* the section allows */
	HANDLE file;		/* WK_FILE_SHARED: the file, for MS_SYNC */
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
};

struct up_pager {
	SRWLOCK lock;		/* over everything below */
	struct up_config cfg;
	const struct win_backend *be;
	char note[160];
	struct win_map *maps;	/* sorted by addr, none overlapping */
	size_t maps_nr, maps_cap;
};

extern const struct win_backend up__win_kernel;

/* The system page and the allocation granularity. */
size_t up__win_page(void);
size_t up__win_gran(void);
/* A Windows error code as a negative errno. */
int up__win_errno(DWORD code);
/* PROT_* as a PAGE_* protection for memory of kind k. */
DWORD up__win_prot(int prot, enum win_kind k);

#endif
