/* SPDX-License-Identifier: MIT */
/*
 * trap-page.c - the pages of the trap backend's objects: read in from the
 * file, the swap file or zeros through the pager's own view of the
 * section, written back, shown in each mapping's view with the protection
 * its state and the mapping allow, evicted in clock order to keep within
 * the budget; and the objects themselves, one per file shared in a pager
 * or per private or anonymous mapping.  The fault handler and the
 * backend's calls are trap.c's.
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

#include "trap-int.h"

uint64_t up__trap_now_ns(void)
{
	static LARGE_INTEGER hz;
	LARGE_INTEGER c;

	if (!hz.QuadPart)
		QueryPerformanceFrequency(&hz);
	QueryPerformanceCounter(&c);
	return (uint64_t)((double)c.QuadPart * 1e9 / (double)hz.QuadPart);
}

int up__trap_errno(void)
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

int up__trap_io(HANDLE h, void *buf, size_t len, uint64_t off, bool wr,
		size_t *done)
{
	OVERLAPPED ov = { .Offset = (DWORD)off,
			  .OffsetHigh = (DWORD)(off >> 32) };
	DWORD n = 0;
	BOOL ok = wr ? WriteFile(h, buf, (DWORD)len, &n, &ov)
		     : ReadFile(h, buf, (DWORD)len, &n, &ov);

	*done = n;
	if (!ok && GetLastError() != ERROR_HANDLE_EOF)
		return up__trap_errno();
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
		return up__trap_errno();
	if (!GetTempFileNameA(dir, "ups", 0, path))
		return up__trap_errno();
	t->swap = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL,
			      CREATE_ALWAYS,
			      FILE_ATTRIBUTE_TEMPORARY |
				      FILE_FLAG_DELETE_ON_CLOSE,
			      NULL);
	if (t->swap == INVALID_HANDLE_VALUE) {
		t->swap = NULL;
		DeleteFileA(path);
		return up__trap_errno();
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
	uint64_t off = (uint64_t)pgno * t->page_len, left;
	LARGE_INTEGER sz;
	size_t n = 0;
	int err = 0;

	if (o->state[pgno] & PS_SWAPPED) {
		err = up__trap_io(t->swap, a, t->page_len, o->swap_off + off,
				  false, &n);
	} else if (o->file) {
		if (!GetFileSizeEx(o->file, &sz))
			return up__trap_errno();
		if ((uint64_t)sz.QuadPart <= off)
			return -EFAULT;
		left = (uint64_t)sz.QuadPart - off;
		err = up__trap_io(o->file, a,
				  left < t->page_len ? (size_t)left
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
			return up__trap_errno();
		if ((uint64_t)sz.QuadPart <= off)
			return 0;	/* nothing of the file is there now */
		if ((uint64_t)sz.QuadPart - off < len)
			len = (size_t)((uint64_t)sz.QuadPart - off);
		err = up__trap_io(o->file, a, len, off, true, &n);
	} else {
		if ((err = swap_open(t)))
			return err;
		err = up__trap_io(t->swap, a, len, o->swap_off + off, true, &n);
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
void up__trap_apply(struct trap *t, struct obj *o, size_t pgno)
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
int up__trap_evict(struct trap *t, struct obj *o, size_t pgno, bool keep)
{
	unsigned st = o->state[pgno];
	int err;

	o->state[pgno] = st & ~(PS_RESIDENT | PS_DIRTY);
	up__trap_apply(t, o, pgno);
	if ((st & PS_DIRTY) && keep && (err = save(t, o, pgno))) {
		o->state[pgno] = (uint8_t)st;
		up__trap_apply(t, o, pgno);
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
	uint64_t t0 = up__trap_now_ns();
	size_t tries = t->res_nr;

	while (t->res_nr >= t->res_max && tries--) {
		struct res r = t->res[t->hand++ % t->res_nr];

		up__trap_evict(t, r.obj, r.pgno, true);
	}
	t->st.evict_ns += up__trap_now_ns() - t0;
	return t->res_nr < t->res_max ? 0 : -ENOMEM;
}

/* Make page pgno of o resident (not yet shown). */
int up__trap_page_in(struct trap *t, struct obj *o, size_t pgno)
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

void up__trap_dirty(struct trap *t, struct obj *o, size_t pgno)
{
	if (o->state[pgno] & PS_DIRTY)
		return;
	o->state[pgno] |= PS_DIRTY;
	t->dirty_nr++;
}

/* Write a dirty page back and keep it, read-only again. */
int up__trap_clean(struct trap *t, struct obj *o, size_t pgno)
{
	int err;

	if ((o->state[pgno] & (PS_RESIDENT | PS_DIRTY)) !=
	    (PS_RESIDENT | PS_DIRTY))
		return 0;
	/* Closed to stores first: a store now faults and waits for us. */
	o->state[pgno] &= ~PS_DIRTY;
	up__trap_apply(t, o, pgno);
	if ((err = save(t, o, pgno))) {
		o->state[pgno] |= PS_DIRTY;
		up__trap_apply(t, o, pgno);
		return err;
	}
	t->dirty_nr--;
	return 0;
}

/* The pager pages of o that [addr, addr+len) of v touches. */
void up__trap_span(const struct trap *t, const struct view *v,
		   const char *addr, size_t len, size_t *first, size_t *end)
{
	uint64_t lo = v->off + (uint64_t)(addr - v->addr);

	*first = (size_t)(lo / t->page_len);
	*end = (size_t)((lo + len + t->page_len - 1) / t->page_len);
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
int up__trap_obj_new(struct trap *t, HANDLE file, uint64_t len,
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
		int err = o->state && o->slot ? up__trap_errno() : -ENOMEM;

		o->file = NULL;		/* the caller's */
		obj_free(o);
		return err;
	}
	*out = o;
	return 0;
}

/* Room in the swap file for o's pages (a private or anonymous object):
 * at a new offset, never reused, in a sparse file. */
void up__trap_swap_room(struct trap *t, struct obj *o)
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
		return up__trap_errno();
	return 0;
}

/* The object of r's file: the pager's shared one, or a new one. */
int up__trap_file_obj(struct trap *t, const struct win_req *r, bool shared,
		      struct obj **out)
{
	BY_HANDLE_FILE_INFORMATION fi;
	LARGE_INTEGER sz;
	HANDLE f;
	bool wr;
	int err;

	if (!GetFileInformationByHandle(r->file, &fi) ||
	    !GetFileSizeEx(r->file, &sz))
		return up__trap_errno();
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
		err = up__trap_obj_new(t, f, (uint64_t)sz.QuadPart, out);
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
		up__trap_swap_room(t, *out);
	}
	return 0;
}

/* Forget o: its resident pages dropped (saved first with keep). */
int up__trap_obj_drop(struct trap *t, struct obj *o, bool keep)
{
	int err = 0;

	for (size_t pg = 0; pg < o->pages_nr; pg++)
		if ((o->state[pg] & PS_RESIDENT) &&
		    up__trap_evict(t, o, pg, keep) && !err) {
			err = o->err;
			up__trap_evict(t, o, pg, false);
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
