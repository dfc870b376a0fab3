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
 * It owns the objects, the resident list, the swap file and the handler;
 * not the record of mappings or the checks (api.c).
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winioctl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static SRWLOCK all_lock = SRWLOCK_INIT;
static struct trap *all;

static uint64_t now_ns(void)
{
	static LARGE_INTEGER hz;
	LARGE_INTEGER c;

	if (!hz.QuadPart)
		QueryPerformanceFrequency(&hz);
	QueryPerformanceCounter(&c);
	return (uint64_t)((double)c.QuadPart * 1e9 / (double)hz.QuadPart);
}

static int last_errno(void)
{
	int err = up__win_errno(GetLastError());

	return err ? err : -EIO;
}

static char *page_addr(const struct trap *t, const struct obj *o,
		       size_t pgno)
{
	return o->alias + pgno * t->page_len;
}

/* ---- I/O: the file and the swap file ---------------------------------- */

static int io(HANDLE h, void *buf, size_t len, uint64_t off, bool wr,
	      size_t *done)
{
	OVERLAPPED ov = { .Offset = (DWORD)off,
			  .OffsetHigh = (DWORD)(off >> 32) };
	DWORD n = 0;
	BOOL ok = wr ? WriteFile(h, buf, (DWORD)len, &n, &ov)
		     : ReadFile(h, buf, (DWORD)len, &n, &ov);

	*done = n;
	if (!ok && GetLastError() != ERROR_HANDLE_EOF)
		return last_errno();
	return 0;
}

static int swap_open(struct trap *t)
{
	char dir[MAX_PATH], path[MAX_PATH];
	DWORD n;

	if (t->swap)
		return 0;
	if (t->p->swap_dir)
		snprintf(dir, sizeof(dir), "%s", t->p->swap_dir);
	else if (!GetTempPathA(sizeof(dir), dir))
		return last_errno();
	if (!GetTempFileNameA(dir, "ups", 0, path))
		return last_errno();
	t->swap = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL,
			      CREATE_ALWAYS,
			      FILE_ATTRIBUTE_TEMPORARY |
				      FILE_FLAG_DELETE_ON_CLOSE,
			      NULL);
	if (t->swap == INVALID_HANDLE_VALUE) {
		t->swap = NULL;
		DeleteFileA(path);
		return last_errno();
	}
	/* Sparse, so that a write far in does not fill the gap with zeros
	 * (where the file system cannot, the gap is written). */
	DeviceIoControl(t->swap, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &n,
			NULL);
	return 0;
}

/* Fill page pgno of o in the alias: from the swap file, the file (zero
 * past its end), or zero.  A page wholly past the file's end now cannot
 * be had (-EFAULT): the access raises an in-page error, as SIGBUS on
 * Linux. */
static int fill(struct trap *t, struct obj *o, size_t pgno)
{
	char *a = page_addr(t, o, pgno);
	uint64_t off = (uint64_t)pgno * t->page_len;
	LARGE_INTEGER sz;
	size_t n = 0;
	int err = 0;

	if (o->state[pgno] & PS_SWAPPED) {
		err = io(t->swap, a, t->page_len, o->swap_off + off, false, &n);
	} else if (o->file) {
		if (!GetFileSizeEx(o->file, &sz))
			return last_errno();
		if ((uint64_t)sz.QuadPart <= off)
			return -EFAULT;
		err = io(o->file, a,
			 (uint64_t)sz.QuadPart - off < t->page_len
				 ? (size_t)((uint64_t)sz.QuadPart - off)
				 : t->page_len,
			 off, false, &n);
	}
	if (err)
		return err;
	memset(a + n, 0, t->page_len - n);
	t->st.fills++;
	t->st.bytes_read += n;
	return 0;
}

/* Write page pgno of o out: to the file (within its length now) or to the
 * swap file. */
static int save(struct trap *t, struct obj *o, size_t pgno)
{
	char *a = page_addr(t, o, pgno);
	uint64_t off = (uint64_t)pgno * t->page_len;
	LARGE_INTEGER sz;
	size_t n = 0, len = t->page_len;
	int err;

	if (o->shared_file) {
		if (!GetFileSizeEx(o->file, &sz))
			return last_errno();
		if ((uint64_t)sz.QuadPart <= off)
			return 0;	/* nothing of the file is there now */
		if ((uint64_t)sz.QuadPart - off < len)
			len = (size_t)((uint64_t)sz.QuadPart - off);
		err = io(o->file, a, len, off, true, &n);
	} else {
		if ((err = swap_open(t)))
			return err;
		err = io(t->swap, a, len, o->swap_off + off, true, &n);
		if (!err)
			o->state[pgno] |= PS_SWAPPED;
	}
	if (!err && n != len)
		err = -EIO;
	if (err)
		return err == -ENOSPC ? err : -EIO;
	t->st.writebacks++;
	t->st.bytes_written += n;
	return 0;
}

/* ---- showing a page in the views --------------------------------------- */

/* What a system page of prot shows for a pager page in state. */
static DWORD shown(int prot, unsigned state)
{
	if (!(state & PS_RESIDENT))
		return PAGE_NOACCESS;
	if (!(state & PS_DIRTY))
		prot &= ~PROT_WRITE;	/* the first store faults: tracked */
	return up__win_prot(prot, WK_ANON_SHARED);
}

/* Set page pgno of o in every view to what its state and each view's
 * protection say. */
static void apply(struct trap *t, struct obj *o, size_t pgno)
{
	uint64_t lo = (uint64_t)pgno * t->page_len, hi = lo + t->page_len;
	size_t sp = up__win_page();
	DWORD old;

	for (struct view *v = o->views; v; v = v->next) {
		uint64_t a = lo > v->off ? lo : v->off;
		uint64_t b = hi < v->off + v->len ? hi : v->off + v->len;

		while (a < b) {
			size_t i = (size_t)((a - v->off) / sp), k = i + 1;
			DWORD wp = shown(v->prot[i], o->state[pgno]);

			while (v->off + (uint64_t)k * sp < b &&
			       shown(v->prot[k], o->state[pgno]) == wp)
				k++;
			VirtualProtect(v->addr + i * sp, (k - i) * sp, wp,
				       &old);
			a = v->off + (uint64_t)k * sp;
		}
	}
}

/* ---- residency --------------------------------------------------------- */

static void res_drop(struct trap *t, struct obj *o, size_t pgno)
{
	uint32_t i = o->slot[pgno];
	struct res last = t->res[--t->res_nr];

	t->res[i] = last;
	last.obj->slot[last.pgno] = i;
}

/* Evict page pgno of o: closed everywhere, saved if dirty, its memory
 * given back.  On a failed save the page stays, and o remembers why. */
static int evict(struct trap *t, struct obj *o, size_t pgno, bool keep)
{
	unsigned st = o->state[pgno];
	int err;

	o->state[pgno] = st & ~(PS_RESIDENT | PS_DIRTY);
	apply(t, o, pgno);
	if ((st & PS_DIRTY) && keep && (err = save(t, o, pgno))) {
		o->state[pgno] = (uint8_t)st;
		apply(t, o, pgno);
		if (!o->err)
			o->err = err;
		return err;
	}
	if (st & PS_DIRTY)
		t->dirty_nr--;
	if (!keep)
		o->state[pgno] &= ~PS_SWAPPED;
	/* The bytes are no one's now: the system may take the memory. */
	VirtualAlloc(page_addr(t, o, pgno), t->page_len, MEM_RESET,
		     PAGE_NOACCESS);
	res_drop(t, o, pgno);
	t->st.evictions++;
	return 0;
}

/* Make room for one page: 0, or -ENOMEM if no page could be saved. */
static int make_room(struct trap *t)
{
	uint64_t t0 = now_ns();
	size_t tries = t->res_nr;

	while (t->res_nr >= t->res_max && tries--) {
		struct res r = t->res[t->hand++ % t->res_nr];

		evict(t, r.obj, r.pgno, true);
	}
	t->st.evict_ns += now_ns() - t0;
	return t->res_nr < t->res_max ? 0 : -ENOMEM;
}

/* Make page pgno of o resident (not yet shown). */
static int page_in(struct trap *t, struct obj *o, size_t pgno)
{
	int err;

	if (o->state[pgno] & PS_RESIDENT)
		return 0;
	if ((err = make_room(t)) || (err = fill(t, o, pgno)))
		return err;
	o->slot[pgno] = (uint32_t)t->res_nr;
	t->res[t->res_nr++] = (struct res){ o, pgno };
	o->state[pgno] |= PS_RESIDENT;
	return 0;
}

static void mark_dirty(struct trap *t, struct obj *o, size_t pgno)
{
	if (o->state[pgno] & PS_DIRTY)
		return;
	o->state[pgno] |= PS_DIRTY;
	t->dirty_nr++;
}

/* Write a dirty page back and keep it, read-only again. */
static int clean(struct trap *t, struct obj *o, size_t pgno)
{
	int err;

	if ((o->state[pgno] & (PS_RESIDENT | PS_DIRTY)) !=
	    (PS_RESIDENT | PS_DIRTY))
		return 0;
	/* Closed to stores first: a store now faults and waits for us. */
	o->state[pgno] &= ~PS_DIRTY;
	apply(t, o, pgno);
	if ((err = save(t, o, pgno))) {
		o->state[pgno] |= PS_DIRTY;
		apply(t, o, pgno);
		return err;
	}
	t->dirty_nr--;
	return 0;
}

/* The pager pages of o that [addr, addr+len) of v touches. */
static void page_span(const struct trap *t, const struct view *v,
		      const char *addr, size_t len, size_t *first,
		      size_t *end)
{
	uint64_t lo = v->off + (uint64_t)(addr - v->addr);

	*first = (size_t)(lo / t->page_len);
	*end = (size_t)((lo + len + t->page_len - 1) / t->page_len);
}

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
	uint64_t t0 = now_ns();

	if (!allowed(v->prot[i], access))
		return EXCEPTION_CONTINUE_SEARCH;	/* the program's */
	if (!(o->state[pgno] & PS_RESIDENT)) {
		if (page_in(t, o, pgno)) {
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
		mark_dirty(t, o, pgno);
	apply(t, o, pgno);
	t->st.fault_ns += now_ns() - t0;
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

/* ---- objects ------------------------------------------------------------- */

static void obj_free(struct obj *o)
{
	if (o->alias)
		UnmapViewOfFile(o->alias);
	if (o->section)
		CloseHandle(o->section);
	if (o->file)
		CloseHandle(o->file);
	free(o->state);
	free(o->slot);
	free(o);
}

/* A new object of len bytes (a file's length, or anonymous memory's). */
static int obj_new(struct trap *t, HANDLE file, uint64_t len,
		   struct obj **out)
{
	struct obj *o = calloc(1, sizeof(*o));
	uint64_t sec;

	if (!o)
		return -ENOMEM;
	o->pages_nr = (size_t)((len + t->page_len - 1) / t->page_len);
	if (!o->pages_nr)
		o->pages_nr = 1;
	sec = (uint64_t)o->pages_nr * t->page_len;
	o->file = file;
	o->file_len = len;
	o->state = calloc(o->pages_nr, 1);
	o->slot = calloc(o->pages_nr, sizeof(*o->slot));
	o->section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
					PAGE_EXECUTE_READWRITE,
					(DWORD)(sec >> 32), (DWORD)sec, NULL);
	if (o->section)
		o->alias = MapViewOfFile(o->section, FILE_MAP_WRITE, 0, 0, 0);
	if (!o->state || !o->slot || !o->alias) {
		int err = o->state && o->slot ? last_errno() : -ENOMEM;

		o->file = NULL;		/* the caller's */
		obj_free(o);
		return err;
	}
	*out = o;
	return 0;
}

/* Room in the swap file for o's pages (a private or anonymous object):
 * at a new offset, never reused, in a sparse file. */
static void swap_room(struct trap *t, struct obj *o)
{
	o->swap_off = t->swap_next;
	t->swap_next += (uint64_t)o->pages_nr * t->page_len;
}

/* A handle of the file's own, and whether it may write (as a section of
 * it may be made writable); -EACCES if it may not even read. */
static int file_dup(HANDLE h, HANDLE *out, bool *writable)
{
	HANDLE self = GetCurrentProcess();
	HANDLE s = CreateFileMappingW(h, NULL, PAGE_READWRITE, 0, 0, NULL);

	*writable = s != NULL;
	if (!s && GetLastError() == ERROR_ACCESS_DENIED)
		s = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
	if (!s && GetLastError() == ERROR_ACCESS_DENIED)
		return -EACCES;
	/* (No section of an empty file: the mapping is refused later.) */
	if (s)
		CloseHandle(s);
	if (!DuplicateHandle(self, h, self, out, 0, FALSE,
			     DUPLICATE_SAME_ACCESS))
		return last_errno();
	return 0;
}

/* The object of r's file: the pager's shared one, or a new one. */
static int file_obj(struct trap *t, const struct win_req *r, bool shared,
		    struct obj **out)
{
	BY_HANDLE_FILE_INFORMATION fi;
	LARGE_INTEGER sz;
	HANDLE f;
	bool wr;
	int err;

	if (!GetFileInformationByHandle(r->file, &fi) ||
	    !GetFileSizeEx(r->file, &sz))
		return last_errno();
	for (struct obj *o = shared ? t->files : NULL; o; o = o->next)
		if (o->vol == fi.dwVolumeSerialNumber &&
		    o->idx_hi == fi.nFileIndexHigh &&
		    o->idx_lo == fi.nFileIndexLow) {
			if ((r->prot & PROT_WRITE) && !o->writable) {
				/* This descriptor may write where the first
				 * could not: take its handle. */
				if ((err = file_dup(r->file, &f, &wr)))
					return err;
				if (!wr) {
					CloseHandle(f);
					return -EACCES;
				}
				CloseHandle(o->file);
				o->file = f;
				o->writable = true;
			}
			*out = o;
			return 0;
		}
	if ((err = file_dup(r->file, &f, &wr)))
		return err;
	if (shared && (r->prot & PROT_WRITE) && !wr)
		err = -EACCES;
	if (!err)
		err = obj_new(t, f, (uint64_t)sz.QuadPart, out);
	if (err) {
		CloseHandle(f);
		return err;
	}
	(*out)->writable = wr;
	(*out)->shared_file = shared;
	(*out)->vol = fi.dwVolumeSerialNumber;
	(*out)->idx_hi = fi.nFileIndexHigh;
	(*out)->idx_lo = fi.nFileIndexLow;
	if (shared) {
		(*out)->next = t->files;
		t->files = *out;
	} else {
		swap_room(t, *out);
	}
	return 0;
}

/* Forget o: its resident pages dropped (saved first with keep). */
static int obj_drop(struct trap *t, struct obj *o, bool keep)
{
	int err = 0;

	for (size_t pg = 0; pg < o->pages_nr; pg++)
		if ((o->state[pg] & PS_RESIDENT) && evict(t, o, pg, keep) &&
		    !err) {
			err = o->err;
			evict(t, o, pg, false);
		}
	if (o->shared_file)
		for (struct obj **pp = &t->files; *pp; pp = &(*pp)->next)
			if (*pp == o) {
				*pp = o->next;
				break;
			}
	obj_free(o);
	return err;
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
		err = file_obj(t, r, shared, &o);
		if (!err && (uint64_t)r->off + r->len >
				    (o->file_len + sp - 1) / sp * sp)
			err = -ENXIO;	/* as the kernel backend */
		v->off = (uint64_t)r->off;
		delta = (size_t)(v->off % up__win_gran());
	} else if (!(err = obj_new(t, NULL, r->len, &o))) {
		swap_room(t, o);
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
			err = last_errno();
		else if (!VirtualProtect(v->base, delta + r->len,
					 PAGE_NOACCESS, &old))
			err = last_errno();
	}
	if (err) {
		if (v->base)
			UnmapViewOfFile(v->base);
		if (o && !o->views)
			obj_drop(t, o, false);
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
			apply(t, o, pg);
	if (r->flags & MAP_POPULATE)
		for (size_t pg = (size_t)(v->off / t->page_len);
		     (uint64_t)pg * t->page_len < v->off + v->len; pg++)
			if (!page_in(t, o, pg))
				apply(t, o, pg);
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
		page_span(t, v, v->addr, v->len, &first, &end);
		for (size_t pg = first; pg < end; pg++)
			if ((e = clean(t, o, pg)) && !err)
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
	if (!o->views && (e = obj_drop(t, o, o->shared_file)) && !err)
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
	page_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++) {
		if ((e = clean(t, o, pg)) && !err)
			err = e;
		/* MS_INVALIDATE: the clean pages leave the pager. */
		if (!e && (flags & MS_INVALIDATE) &&
		    (o->state[pg] & PS_RESIDENT))
			evict(t, o, pg, true);
	}
	/* (A handle that cannot write has nothing to flush, and may not.) */
	if (!err && (flags & MS_SYNC) && o->writable &&
	    !FlushFileBuffers(o->file))
		err = last_errno();
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
	page_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++)
		if (v->obj->state[pg] & PS_RESIDENT)
			apply(t, v->obj, pg);
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

	page_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end; pg++) {
		uint64_t a = (uint64_t)pg * t->page_len, b = a + t->page_len;
		size_t n = 0;

		if (a >= lo && b <= hi) {
			if (o->state[pg] & PS_RESIDENT)
				evict(t, o, pg, false);
			o->state[pg] &= ~PS_SWAPPED;
			continue;
		}
		if ((err = page_in(t, o, pg)))
			return err;
		a = a > lo ? a : lo;
		b = b < hi ? b : hi;
		memset(o->alias + a, 0, (size_t)(b - a));
		if (o->file && a < o->file_len &&
		    (err = io(o->file, o->alias + a,
			      (size_t)((b < o->file_len ? b : o->file_len) - a),
			      a, false, &n)))
			return err;
		mark_dirty(t, o, pg);
		apply(t, o, pg);
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
	page_span(t, v, addr, len, &first, &end);
	for (size_t pg = first; pg < end && pg - first < most; pg++) {
		if ((err = page_in(t, v->obj, pg)))
			return need ? -EFAULT : 0;
		if (need == PROT_WRITE)
			mark_dirty(t, v->obj, pg);
		apply(t, v->obj, pg);
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
		page_span(t, v, addr, len, &first, &end);
		for (size_t pg = first; pg < end && !err; pg++)
			if (v->obj->state[pg] & PS_RESIDENT)
				err = evict(t, v->obj, pg, true);
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
	page_span(t, v, v->addr, v->len, &first, &end);
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
