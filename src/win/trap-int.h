/* SPDX-License-Identifier: MIT */
/*
 * trap-int.h - what the two files of the trap backend share: objects,
 * their views and pages, and the pager's resident list.  trap-page.c
 * moves pages in and out; trap.c has the fault handler and the backend's
 * calls, and says how it all works.
 */
#ifndef UP_TRAP_INT_H
#define UP_TRAP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "win-int.h"

/* obj.state: each pager page's */
#define PS_RESIDENT 1u	/* in the section, shown in the views */
#define PS_DIRTY 2u	/* stored to since filled or written back */
#define PS_SWAPPED 4u	/* its bytes are in the swap file */

struct obj;

/* One mapping of an object. */
struct view {
	struct obj *obj;
	struct view *next;	/* the object's views */
	char *addr;		/* the mapping */
	size_t len;
	char *base;		/* its view of the section */
	uint64_t off;		/* addr's offset in the object */
	uint8_t *prot;		/* PROT_* of each system page */
};

struct obj {
	struct obj *next;	/* the pager's shared file objects */
	struct view *views;
	HANDLE section, file;	/* file: NULL for anonymous memory */
	char *alias;		/* the pager's view of the whole section */
	size_t pages_nr;
	uint64_t file_len;	/* the file's, when the object was made */
	DWORD vol, idx_hi, idx_lo;
	bool shared_file, writable;
	uint64_t swap_off;	/* private and anonymous: in the swap file */
	uint8_t *state;
	uint32_t *slot;		/* resident: its index in trap.res */
	int err;		/* a failed write-back, for msync or munmap */
};

struct res {
	struct obj *obj;
	size_t pgno;
};

struct trap {
	struct up_pager *p;
	struct trap *next;	/* every trap pager, for the handler */
	struct obj *files;	/* shared file objects */
	struct res *res;	/* the resident pages */
	size_t res_nr, res_max, hand;
	size_t page_len;
	HANDLE swap;
	uint64_t swap_next;
	uint64_t dirty_nr;
	struct up_stats st;	/* the counters */
};

uint64_t up__trap_now_ns(void);
/* GetLastError() as a negative errno (-EIO for none). */
int up__trap_errno(void);
/* One ReadFile() or WriteFile() of len bytes at off; *done what moved. */
int up__trap_io(HANDLE h, void *buf, size_t len, uint64_t off, bool wr,
		size_t *done);

/* Pages; t's pager locked. */
/* Set page pgno of o in every view to what its state and each view's
 * protection say. */
void up__trap_apply(struct trap *t, struct obj *o, size_t pgno);
/* Make page pgno of o resident, evicting first if the budget is full;
 * not yet shown. */
int up__trap_page_in(struct trap *t, struct obj *o, size_t pgno);
/* Evict page pgno of o, saved first if dirty and keep. */
int up__trap_evict(struct trap *t, struct obj *o, size_t pgno, bool keep);
void up__trap_dirty(struct trap *t, struct obj *o, size_t pgno);
/* Write a dirty page back and keep it, read-only again. */
int up__trap_clean(struct trap *t, struct obj *o, size_t pgno);
/* The pages [*first, *end) of v's object that [addr, addr+len) touches. */
void up__trap_span(const struct trap *t, const struct view *v,
		   const char *addr, size_t len, size_t *first, size_t *end);

/* Objects. */
int up__trap_obj_new(struct trap *t, HANDLE file, uint64_t len,
		     struct obj **out);
void up__trap_swap_room(struct trap *t, struct obj *o);
/* The object of r's file: the pager's shared one, or a new one. */
int up__trap_file_obj(struct trap *t, const struct win_req *r, bool shared,
		      struct obj **out);
/* Forget o: its resident pages dropped (saved first with keep). */
int up__trap_obj_drop(struct trap *t, struct obj *o, bool keep);

#endif
