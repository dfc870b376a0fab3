/* SPDX-License-Identifier: MIT */
/*
 * trap.c - the trap backend on Windows: the pager serves every fault on
 * its mappings itself, from a vectored exception handler, and holds no
 * more than its budget of pages.
 *
 * What a mapping shows lives in an object: a section of the paging file
 * with one page of the pager for each page_len bytes of the file (or of
 * anonymous memory).  All MAP_SHARED mappings of one file in a pager
 * share its object; a private or anonymous mapping has one of its own.
 * A mapping is a view of its object's section whose pages are
 * PAGE_NOACCESS until resident, so the first access raises an access
 * violation.  The handler fills the page through the pager's own view of
 * the section (the alias) while every mapping's view of it still forbids
 * access, then opens the page in each mapping at once: no thread ever
 * sees it half filled.  A writable page opens read-only until its first
 * store, which faults again and marks it dirty (write tracking).
 *
 * Past the budget, a resident page is evicted (clock order over the
 * resident list): closed in every view, written back if dirty (to the
 * file for a shared file object, else to the pager's swap file, from
 * which it is read again), and its memory given back with MEM_RESET.
 * msync writes the dirty pages of a shared file back; munmap too.
 *
 * This file has the fault handler and the backend's calls; the objects
 * and their pages are trap-page.c's; the record of mappings and the
 * checks are api.c's.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trap-int.h"

static SRWLOCK all_lock = SRWLOCK_INIT;
static struct trap *all;

/* ---- the fault handler -------------------------------------------------- */

/* Whether prot allows the access (x86: a store or a fetch may read). */
static bool allowed(int prot, int access)
{
	if (access == PROT_READ)
		return prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	return prot & access;
}

static LONG serve(struct trap *t, struct view *v, char *addr, int access,
		  EXCEPTION_RECORD *er)
{
	size_t sp = up__win_page(), i = (size_t)(addr - v->addr) / sp;
	struct obj *o = v->obj;
	size_t pgno = (size_t)((v->off + (uint64_t)(addr - v->addr)) /
			       t->page_len);
	uint64_t t0 = up__trap_now_ns();

	if (!allowed(v->prot[i], access))
		return EXCEPTION_CONTINUE_SEARCH;	/* the program's */
	if (!(o->state[pgno] & PS_RESIDENT)) {
		if (up__trap_page_in(t, o, pgno)) {
			/* The page cannot be had: an I/O error, as a view
			 * of a file whose read failed raises. */
			er->ExceptionCode = EXCEPTION_IN_PAGE_ERROR;
			return EXCEPTION_CONTINUE_SEARCH;
		}
		if (access == PROT_WRITE)
			t->st.faults_write++;
		else
			t->st.faults_read++;
	} else if (access == PROT_WRITE && !(o->state[pgno] & PS_DIRTY)) {
		t->st.faults_write++;
	}
	if (access == PROT_WRITE)
		up__trap_dirty(t, o, pgno);
	up__trap_apply(t, o, pgno);
	t->st.fault_ns += up__trap_now_ns() - t0;
	return EXCEPTION_CONTINUE_EXECUTION;
}

/* ExceptionInformation[0] of an access violation: 0 read, 1 write, 8 an
 * instruction fetch. */
static int access_of(ULONG_PTR kind)
{
	return kind == 1 ? PROT_WRITE : kind == 8 ? PROT_EXEC : PROT_READ;
}

static LONG CALLBACK on_fault(EXCEPTION_POINTERS *ep)
{
	EXCEPTION_RECORD *er = ep->ExceptionRecord;
	LONG rc = EXCEPTION_CONTINUE_SEARCH;
	ULONG_PTR kind;
	char *addr;

	/* A fault while this thread holds a pager's lock is no page of
	 * ours to serve: serving it would wait on that lock forever. */
	if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION ||
	    er->NumberParameters < 2 || up__win_locked)
		return EXCEPTION_CONTINUE_SEARCH;
	kind = er->ExceptionInformation[0];
	addr = (char *)er->ExceptionInformation[1];
	AcquireSRWLockShared(&all_lock);
	for (struct trap *t = all; t; t = t->next) {
		struct win_map *m;

		win_lock(t->p);
		m = up__win_find(t->p, addr);
		if (m)
			rc = serve(t, m->be, addr, access_of(kind), er);
		win_unlock(t->p);
		if (m)
			break;
	}
	ReleaseSRWLockShared(&all_lock);
	return rc;
}

/* ---- the backend's calls ------------------------------------------------ */

static int t_map(struct up_pager *p, const struct win_req *r,
		 struct win_map *m)
{
	struct trap *t = p->state;
	size_t sp = up__win_page(), delta = 0;
	bool shared = (r->flags & MAP_TYPE) != MAP_PRIVATE;
	struct obj *o = NULL;
	struct view *v;
	DWORD old;
	int err;

	memset(m, 0, sizeof(*m));
	if (!(v = calloc(1, sizeof(*v))) ||
	    !(v->prot = malloc(r->len / sp))) {
		free(v);
		return -ENOMEM;
	}
	memset(v->prot, r->prot, r->len / sp);
	if (r->file) {
		err = up__trap_file_obj(t, r, shared, &o);
		if (!err && (uint64_t)r->off + r->len >
				    (o->file_len + sp - 1) / sp * sp)
			err = -ENXIO;	/* as the kernel backend */
		v->off = (uint64_t)r->off;
		delta = (size_t)(v->off % up__win_gran());
	} else if (!(err = up__trap_obj_new(t, NULL, r->len, &o))) {
		up__trap_swap_room(t, o);
	}
	if (!err) {
		char *want = r->addr ? r->addr - delta : NULL;
		uint64_t voff = v->off - delta;

		v->base = want ? MapViewOfFileEx(o->section,
						 FILE_MAP_WRITE |
							 FILE_MAP_EXECUTE,
						 (DWORD)(voff >> 32),
						 (DWORD)voff, delta + r->len,
						 want)
			       : NULL;
		if (!v->base && !(r->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
			v->base = MapViewOfFileEx(o->section,
						  FILE_MAP_WRITE |
							  FILE_MAP_EXECUTE,
						  (DWORD)(voff >> 32),
						  (DWORD)voff, delta + r->len,
						  NULL);
		if (!v->base)
			err = up__trap_errno();
		else if (!VirtualProtect(v->base, delta + r->len,
					 PAGE_NOACCESS, &old))
			err = up__trap_errno();
	}
	if (err) {
		if (v->base)
			UnmapViewOfFile(v->base);
		if (o && !o->views)
			up__trap_obj_drop(t, o, false);
		free(v->prot);
		free(v);
		return err;
	}
	v->obj = o;
	v->addr = v->base + delta;
	v->len = r->len;
	v->next = o->views;
	o->views = v;
	m->addr = v->addr;
	m->base = v->base;
	m->len = r->len;
	m->kind = r->file ? (shared ? WK_FILE_SHARED : WK_FILE_PRIVATE)
			  : (shared ? WK_ANON_SHARED : WK_ANON_PRIVATE);
	m->maxprot = PROT_READ | PROT_EXEC |
		     (!shared || !r->file || o->writable ? PROT_WRITE : 0);
	m->be = v;
	/* Pages of a shared object that are resident show here too. */
	for (size_t pg = (size_t)(v->off / t->page_len);
	     pg < o->pages_nr &&
	     (uint64_t)pg * t->page_len < v->off + v->len; pg++)
		if (o->state[pg] & PS_RESIDENT)
			up__trap_apply(t, o, pg);
	if (r->flags & MAP_POPULATE)
		for (size_t pg = (size_t)(v->off / t->page_len);
		     (uint64_t)pg * t->page_len < v->off + v->len; pg++)
			if (!up__trap_page_in(t, o, pg))
				up__trap_apply(t, o, pg);
	return 0;
}

static int t_unmap(struct up_pager *p, struct win_map *m)
{
	struct trap *t = p->state;
	struct view *v = m->be, **pp;
	struct obj *o = v->obj;
	size_t first, end;
	int err = 0, e;

	if (o->shared_file) {
		up__trap_span(t, v, v->addr, v->len, &first, &end);
		for (size_t pg = first; pg < end; pg++)
			if ((e = up__trap_clean(t, o, pg)) && !err)
				err = e;
		if (o->err && !err)
			err = o->err;
		o->err = 0;
	}
	UnmapViewOfFile(v->base);
	for (pp = &o->views; *pp != v; pp = &(*pp)->next)
		;
	*pp = v->next;
	free(v->prot);
	free(v);
	if (!o->views && (e = up__trap_obj_drop(t, o, o->shared_file)) && !err)
		err = e;
	return err;
}

static int t_sync(struct up_pager *p, struct win_map *m, char *addr,
		  size_t len, int flags)
{
	struct trap *t = p->state;
	struct view *v = m->be;
	struct obj *o = v->obj;
	size_t first, end;
	int err = 0, e;

	if (!o->shared_file)
		return 0;
	up__trap_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++) {
		if ((e = up__trap_clean(t, o, pg)) && !err)
			err = e;
		/* MS_INVALIDATE: the clean pages leave the pager. */
		if (!e && (flags & MS_INVALIDATE) &&
		    (o->state[pg] & PS_RESIDENT))
			up__trap_evict(t, o, pg, true);
	}
	/* (A handle that cannot write has nothing to flush, and may not.) */
	if (!err && (flags & MS_SYNC) && o->writable &&
	    !FlushFileBuffers(o->file))
		err = up__trap_errno();
	if (o->err && !err)
		err = o->err;
	o->err = 0;
	return err;
}

static int t_protect(struct up_pager *p, struct win_map *m, char *addr,
		     size_t len, int prot)
{
	struct trap *t = p->state;
	struct view *v = m->be;
	size_t sp = up__win_page(), first, end;

	if (prot & ~m->maxprot)
		return -EACCES;
	memset(v->prot + (addr - v->addr) / sp, prot, len / sp);
	up__trap_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++)
		if (v->obj->state[pg] & PS_RESIDENT)
			up__trap_apply(t, v->obj, pg);
	return 0;
}

/* MADV_DONTNEED of a private or anonymous mapping: the range reads as
 * the file or zero again.  Whole pages are dropped; the parts of pages
 * at the ends are read again in place. */
static int discard(struct trap *t, struct view *v, char *addr, size_t len)
{
	struct obj *o = v->obj;
	uint64_t lo = v->off + (uint64_t)(addr - v->addr), hi = lo + len;
	size_t first, end;
	int err;

	up__trap_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++) {
		uint64_t a = (uint64_t)pg * t->page_len, b = a + t->page_len;
		size_t n = 0;

		if (a >= lo && b <= hi) {
			if (o->state[pg] & PS_RESIDENT)
				up__trap_evict(t, o, pg, false);
			o->state[pg] &= ~PS_SWAPPED;
			continue;
		}
		if ((err = up__trap_page_in(t, o, pg)))
			return err;
		a = a > lo ? a : lo;
		b = b < hi ? b : hi;
		memset(o->alias + a, 0, (size_t)(b - a));
		if (b > o->file_len)
			b = o->file_len;
		if (o->file && a < b &&
		    (err = up__trap_io(o->file, o->alias + a, (size_t)(b - a),
				       a, false, &n)))
			return err;
		up__trap_dirty(t, o, pg);
		up__trap_apply(t, o, pg);
	}
	return 0;
}

/* MADV_POPULATE_*, MADV_WILLNEED: pages in, within the budget. */
static int populate(struct trap *t, struct view *v, char *addr, size_t len,
		    int need, size_t most)
{
	size_t sp = up__win_page(), first, end;
	int err;

	for (size_t i = 0; i < len / sp; i++)
		if (need && !allowed(v->prot[(addr - v->addr) / sp + i], need))
			return -EINVAL;
	up__trap_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end && pg - first < most; pg++) {
		if ((err = up__trap_page_in(t, v->obj, pg)))
			return need ? -EFAULT : 0;
		if (need == PROT_WRITE)
			up__trap_dirty(t, v->obj, pg);
		up__trap_apply(t, v->obj, pg);
	}
	return 0;
}

static int t_advise(struct up_pager *p, struct win_map *m, char *addr,
		    size_t len, int advice)
{
	struct trap *t = p->state;
	struct view *v = m->be;
	size_t first, end;
	int err = 0;

	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
		return 0;	/* no read-ahead here to tune */
	case MADV_WILLNEED:
		return populate(t, v, addr, len, 0, t->res_max / 2);
	case MADV_POPULATE_READ:
		return populate(t, v, addr, len, PROT_READ, SIZE_MAX);
	case MADV_POPULATE_WRITE:
		return populate(t, v, addr, len, PROT_WRITE, SIZE_MAX);
	case MADV_FREE:
		if (m->kind != WK_ANON_PRIVATE)
			return -EINVAL;
		return discard(t, v, addr, len);
	case MADV_DONTNEED:
		if (m->kind == WK_ANON_PRIVATE || m->kind == WK_FILE_PRIVATE)
			return discard(t, v, addr, len);
		/* Shared pages are saved and found again. */
		up__trap_span(t, v, addr, len, &first, &end);
		for (size_t pg = first; pg < end && !err; pg++)
			if (v->obj->state[pg] & PS_RESIDENT)
				err = up__trap_evict(t, v->obj, pg, true);
		return err;
	}
	return -EOPNOTSUPP;
}

static void t_stats(struct up_pager *p, const struct win_map *m,
		    struct up_stats *st)
{
	struct trap *t = p->state;
	struct view *v;
	size_t first, end;

	*st = t->st;
	st->page_len = t->page_len;
	st->budget_pages = t->res_max;
	if (!m) {
		st->resident = t->res_nr;
		st->dirty = t->dirty_nr;
		return;
	}
	v = m->be;
	up__trap_span(t, v, v->addr, v->len, &first, &end);
	for (size_t pg = first; pg < end; pg++) {
		st->resident += !!(v->obj->state[pg] & PS_RESIDENT);
		st->dirty += !!(v->obj->state[pg] & PS_DIRTY);
	}
	st->fault_ns = st->evict_ns = 0;
}

static int t_open(struct up_pager *p)
{
	static void *veh;
	struct trap *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->p = p;
	t->page_len = p->cfg.page_len;
	t->res_max = p->cfg.budget / t->page_len;
	t->res = calloc(t->res_max, sizeof(*t->res));
	if (!t->res) {
		free(t);
		return -ENOMEM;
	}
	AcquireSRWLockExclusive(&all_lock);
	/* First in line: the program's own handlers see only the faults
	 * that are not the pager's to serve. */
	if (!veh)
		veh = AddVectoredExceptionHandler(1, on_fault);
	if (veh) {
		t->next = all;
		all = t;
		p->state = t;
	}
	ReleaseSRWLockExclusive(&all_lock);
	if (!veh) {
		free(t->res);
		free(t);
		return -ENOMEM;
	}
	return 0;
}

static void t_close(struct up_pager *p)
{
	struct trap *t = p->state;

	AcquireSRWLockExclusive(&all_lock);
	for (struct trap **pp = &all; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	ReleaseSRWLockExclusive(&all_lock);
	if (t->swap)
		CloseHandle(t->swap);
	free(t->res);
	free(t);
}

const struct win_backend up__win_trap = {
	.name = "trap",
	.open = t_open,
	.close = t_close,
	.map = t_map,
	.unmap = t_unmap,
	.sync = t_sync,
	.protect = t_protect,
	.advise = t_advise,
	.stats = t_stats,
};
