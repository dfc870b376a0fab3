/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - the kernel backend on Windows: every mapping is the system's
 * own, a view of a section (CreateFileMapping(), MapViewOfFileEx()) or
 * memory of VirtualAlloc(), and faults are the system's to serve.  It
 * owns the translation of one mapping's calls into the system's:
 *
 *   MAP_SHARED of a file     a read-write section (read-only where the
 *                            file's handle cannot write) and its view
 *   MAP_PRIVATE of a file    a copy-on-write view (FILE_MAP_COPY)
 *   MAP_SHARED anonymous     a section of the paging file
 *   MAP_PRIVATE anonymous    VirtualAlloc(), committed, zero-filled
 *   msync                    FlushViewOfFile(), and FlushFileBuffers()
 *                            for MS_SYNC
 *   mprotect                 VirtualProtect()
 *   madvise                  PrefetchVirtualMemory() for MADV_WILLNEED,
 *                            a decommit for MADV_DONTNEED of private
 *                            anonymous memory, MEM_RESET for MADV_FREE;
 *                            -EOPNOTSUPP where Windows has no equivalent
 *
 * It does not own the record of mappings, the argument checks or the
 * walk over a range (api.c).
 */

#define WIN32_LEAN_AND_MEAN
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "win-int.h"
#include <psapi.h>

static size_t page_len, gran_len;

static void sysinfo(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	page_len = si.dwPageSize;
	gran_len = si.dwAllocationGranularity;
}

size_t up__win_page(void)
{
	if (!page_len)
		sysinfo();
	return page_len;
}

size_t up__win_gran(void)
{
	if (!gran_len)
		sysinfo();
	return gran_len;
}

int up__win_errno(DWORD code)
{
	switch (code) {
	case ERROR_SUCCESS:
		return 0;
	case ERROR_INVALID_HANDLE:
		return -EBADF;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return -EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
	case ERROR_NO_SYSTEM_RESOURCES:
		return -ENOMEM;
	case ERROR_INVALID_ADDRESS:
		return -ENOMEM;
	case ERROR_INVALID_PARAMETER:
	case ERROR_MAPPED_ALIGNMENT:
		return -EINVAL;
	case ERROR_FILE_INVALID:
	case ERROR_BAD_EXE_FORMAT:
		return -ENODEV;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return -ENOSPC;
	case ERROR_NOT_SUPPORTED:
	case ERROR_CALL_NOT_IMPLEMENTED:
		return -EOPNOTSUPP;
	}
	return -EIO;
}

static int last_errno(void)
{
	int err = up__win_errno(GetLastError());

	return err ? err : -EIO;
}

DWORD up__win_prot(int prot, enum win_kind k)
{
	bool copy = k == WK_FILE_PRIVATE;

	/* x86 cannot write without reading: PROT_WRITE alone is RW. */
	if (prot & PROT_EXEC) {
		if (prot & PROT_WRITE)
			return copy ? PAGE_EXECUTE_WRITECOPY
				    : PAGE_EXECUTE_READWRITE;
		return prot & PROT_READ ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
	}
	if (prot & PROT_WRITE)
		return copy ? PAGE_WRITECOPY : PAGE_READWRITE;
	return prot & PROT_READ ? PAGE_READONLY : PAGE_NOACCESS;
}

/* ---- making a mapping ----------------------------------------------- */

static int map_anon_private(const struct win_req *r, struct win_map *m)
{
	DWORD wp = up__win_prot(r->prot, WK_ANON_PRIVATE);
	char *a = NULL;

	if (r->addr)
		a = VirtualAlloc(r->addr, r->len, MEM_RESERVE | MEM_COMMIT, wp);
	if (!a && !(r->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		a = VirtualAlloc(NULL, r->len, MEM_RESERVE | MEM_COMMIT, wp);
	if (!a)
		return last_errno();
	m->addr = m->base = a;
	m->maxprot = PROT_READ | PROT_WRITE | PROT_EXEC;
	return 0;
}

/* The section for r: m->kind and m->maxprot say what it allows. */
static HANDLE section(const struct win_req *r, struct win_map *m,
		      DWORD *access)
{
	bool exec = r->prot & PROT_EXEC;
	HANDLE s, file = r->file ? r->file : INVALID_HANDLE_VALUE;
	DWORD hi = 0, lo = 0;

	if (!r->file) {
		hi = (DWORD)((uint64_t)r->len >> 32);
		lo = (DWORD)r->len;
	}
	*access = exec ? FILE_MAP_EXECUTE : 0;
	m->maxprot = PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0);
	if (m->kind == WK_FILE_PRIVATE) {
		*access |= FILE_MAP_COPY;
		return CreateFileMappingW(file, NULL,
					  exec ? PAGE_EXECUTE_WRITECOPY
					       : PAGE_WRITECOPY, hi, lo, NULL);
	}
	s = CreateFileMappingW(file, NULL,
			       exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE,
			       hi, lo, NULL);
	if (s || GetLastError() != ERROR_ACCESS_DENIED ||
	    (r->prot & PROT_WRITE)) {
		*access |= FILE_MAP_WRITE;
		return s;
	}
	/* A file open for reading alone: mprotect() may not add PROT_WRITE
	 * later (-EACCES), as for a MAP_SHARED mapping on Linux. */
	m->maxprot &= ~PROT_WRITE;
	*access |= FILE_MAP_READ;
	return CreateFileMappingW(file, NULL,
				  exec ? PAGE_EXECUTE_READ : PAGE_READONLY, 0,
				  0, NULL);
}

/* How much of the file a view from off may show: -ENXIO if the mapping
 * would end past the file's last page, which a view cannot. */
static int file_room(const struct win_req *r, uint64_t *file_len)
{
	LARGE_INTEGER sz;
	uint64_t pg = up__win_page();

	if (!GetFileSizeEx(r->file, &sz))
		return last_errno();
	*file_len = (uint64_t)sz.QuadPart;
	if ((uint64_t)r->off + r->len > (*file_len + pg - 1) / pg * pg)
		return -ENXIO;
	return 0;
}

static int map_view(const struct win_req *r, struct win_map *m)
{
	uint64_t delta = 0, view_len = r->len, file_len = 0;
	char *want = NULL, *v = NULL;
	DWORD access, old;
	HANDLE s;
	int err;

	if (r->file) {
		if ((err = file_room(r, &file_len)))
			return err;
		delta = (uint64_t)r->off % up__win_gran();
		view_len = delta + r->len;
		/* A view ends within its section: the file's last page is
		 * shown whole all the same. */
		if ((uint64_t)r->off - delta + view_len > file_len)
			view_len = file_len - ((uint64_t)r->off - delta);
	}
	s = section(r, m, &access);
	if (!s)
		return last_errno();
	if (r->addr)
		want = r->addr - delta;
	uint64_t voff = (uint64_t)r->off - delta;

	if (want)
		v = MapViewOfFileEx(s, access, (DWORD)(voff >> 32),
				    (DWORD)voff, (SIZE_T)view_len, want);
	if (!v && !(r->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		v = MapViewOfFileEx(s, access, (DWORD)(voff >> 32),
				    (DWORD)voff, (SIZE_T)view_len, NULL);
	err = v ? 0 : last_errno();
	CloseHandle(s);		/* the view keeps the section */
	if (err)
		return err;
	m->base = v;
	m->addr = v + delta;
	/* What lies before the caller's offset is no one's to touch. */
	if ((delta && !VirtualProtect(v, delta, PAGE_NOACCESS, &old)) ||
	    !VirtualProtect(m->addr, r->len, up__win_prot(r->prot, m->kind),
			    &old)) {
		err = last_errno();
		UnmapViewOfFile(v);
		return err;
	}
	return 0;
}

/* PrefetchVirtualMemory() came with Windows 8: looked up, so that the
 * library loads on Windows 7 too (where nothing is prefetched). */
typedef BOOL(WINAPI *prefetch_fn)(HANDLE, ULONG_PTR,
				  PWIN32_MEMORY_RANGE_ENTRY, ULONG);

static bool prefetch(void *addr, size_t len)
{
	static prefetch_fn fn;
	static bool looked;
	WIN32_MEMORY_RANGE_ENTRY e = { addr, len };

	if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
		HMODULE k = GetModuleHandleW(L"kernel32.dll");

		if (k)
			fn = (prefetch_fn)(void (*)(void))GetProcAddress(
				k, "PrefetchVirtualMemory");
		__atomic_store_n(&looked, true, __ATOMIC_RELEASE);
	}
	return fn && fn(GetCurrentProcess(), 1, &e, 0);
}

static void populate(const struct win_map *m, int prot)
{
	size_t pg = up__win_page();

	if (!(prot & PROT_READ))
		return;
	if (!prefetch(m->addr, m->len) || !(prot & PROT_WRITE))
		for (size_t i = 0; i < m->len; i += pg)
			(void)*(volatile char *)(m->addr + i);
	if (prot & PROT_WRITE)
		for (size_t i = 0; i < m->len; i += pg)
			__atomic_fetch_or(m->addr + i, 0, __ATOMIC_RELAXED);
}

static int k_map(struct up_pager *p, const struct win_req *r,
		 struct win_map *m)
{
	HANDLE self = GetCurrentProcess();
	int err;

	(void)p;
	memset(m, 0, sizeof(*m));
	m->len = r->len;
	if (r->file)
		m->kind = (r->flags & MAP_TYPE) == MAP_PRIVATE ? WK_FILE_PRIVATE
							       : WK_FILE_SHARED;
	else
		m->kind = (r->flags & MAP_TYPE) == MAP_PRIVATE ? WK_ANON_PRIVATE
							       : WK_ANON_SHARED;
	if (m->kind == WK_ANON_PRIVATE)
		err = map_anon_private(r, m);
	else
		err = map_view(r, m);
	if (err)
		return err;
	if (m->kind == WK_FILE_SHARED &&
	    !DuplicateHandle(self, r->file, self, &m->file, 0, FALSE,
			     DUPLICATE_SAME_ACCESS)) {
		err = last_errno();
		UnmapViewOfFile(m->base);
		return err;
	}
	if (r->flags & MAP_POPULATE)
		populate(m, r->prot);
	return 0;
}

/* ---- changing and removing one -------------------------------------- */

static int k_unmap(struct up_pager *p, struct win_map *m)
{
	BOOL ok;

	(void)p;
	if (m->kind == WK_ANON_PRIVATE)
		ok = VirtualFree(m->base, 0, MEM_RELEASE);
	else
		ok = UnmapViewOfFile(m->base);
	if (m->file)
		CloseHandle(m->file);
	m->file = NULL;
	return ok ? 0 : last_errno();
}

/* Only a shared file mapping that may be written has anything to write
 * (and a read-only handle cannot flush the file). */
static int k_sync(struct up_pager *p, struct win_map *m, char *addr,
		  size_t len, int flags)
{
	(void)p;
	if (m->kind != WK_FILE_SHARED || !(m->maxprot & PROT_WRITE))
		return 0;
	if (!FlushViewOfFile(addr, len))
		return last_errno();
	if ((flags & MS_SYNC) && !FlushFileBuffers(m->file))
		return last_errno();
	return 0;
}

static int k_protect(struct up_pager *p, struct win_map *m, char *addr,
		     size_t len, int prot)
{
	DWORD old;

	(void)p;
	if (prot & ~m->maxprot & (PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EACCES;
	if (!VirtualProtect(addr, len, up__win_prot(prot, m->kind), &old))
		return last_errno();
	return 0;
}

/* Pages of private anonymous memory read zero again: decommitted and
 * committed anew, with the protection they had. */
static int zero_again(char *addr, size_t len)
{
	MEMORY_BASIC_INFORMATION mi;
	size_t done = 0;

	while (done < len) {
		size_t n;

		if (!VirtualQuery(addr + done, &mi, sizeof(mi)))
			return last_errno();
		n = mi.RegionSize -
		    (size_t)(addr + done - (char *)mi.BaseAddress);
		if (n > len - done)
			n = len - done;
		if (!VirtualFree(addr + done, n, MEM_DECOMMIT) ||
		    !VirtualAlloc(addr + done, n, MEM_COMMIT, mi.Protect))
			return last_errno();
		done += n;
	}
	return 0;
}

static int touch(struct win_map *m, char *addr, size_t len, bool wr)
{
	MEMORY_BASIC_INFORMATION mi;
	size_t pg = up__win_page();

	for (size_t i = 0; i < len; i += pg) {
		if (!VirtualQuery(addr + i, &mi, sizeof(mi)))
			return last_errno();
		if (mi.Protect == PAGE_NOACCESS || (mi.Protect & PAGE_GUARD) ||
		    (wr && (mi.Protect == PAGE_READONLY ||
			    mi.Protect == PAGE_EXECUTE_READ ||
			    mi.Protect == PAGE_EXECUTE)))
			return -EINVAL;
		if (wr)
			__atomic_fetch_or(addr + i, 0, __ATOMIC_RELAXED);
		else
			(void)*(volatile char *)(addr + i);
	}
	(void)m;
	return 0;
}

static int k_advise(struct up_pager *p, struct win_map *m, char *addr,
		    size_t len, int advice)
{
	(void)p;
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
		return 0;	/* hints, which a view does not take */
	case MADV_WILLNEED:
		/* A hint: where the system cannot prefetch, nothing lost. */
		prefetch(addr, len);
		return 0;
	case MADV_DONTNEED:
		/* Shared pages keep their bytes, as on Linux; a private
		 * file view cannot give its copies back to the file. */
		if (m->kind == WK_ANON_PRIVATE)
			return zero_again(addr, len);
		return m->kind == WK_FILE_PRIVATE ? -EOPNOTSUPP : 0;
	case MADV_FREE:
		/* MEM_RESET: the bytes may be dropped, and a store keeps
		 * the page (DiscardVirtualMemory() of Windows 8.1 is the
		 * same). */
		if (m->kind != WK_ANON_PRIVATE)
			return -EINVAL;
		if (!VirtualAlloc(addr, len, MEM_RESET, PAGE_NOACCESS))
			return last_errno();
		return 0;
	case MADV_POPULATE_READ:
		return touch(m, addr, len, false);
	case MADV_POPULATE_WRITE:
		return touch(m, addr, len, true);
	}
	return -EOPNOTSUPP;
}

/* Pages of m in the process's working set (0 where the system cannot
 * tell). */
static uint64_t resident(const struct win_map *m)
{
	PSAPI_WORKING_SET_EX_INFORMATION ws[512];
	size_t pg = up__win_page(), nr = m->len / pg;
	uint64_t n = 0;

	for (size_t i = 0; i < nr;) {
		size_t k = nr - i < 512 ? nr - i : 512;

		for (size_t j = 0; j < k; j++)
			ws[j].VirtualAddress = m->addr + (i + j) * pg;
		if (!QueryWorkingSetEx(GetCurrentProcess(), ws,
				       (DWORD)(k * sizeof(ws[0]))))
			return 0;
		for (size_t j = 0; j < k; j++)
			n += ws[j].VirtualAttributes.Valid;
		i += k;
	}
	return n;
}

static void k_stats(struct up_pager *p, const struct win_map *m,
		    struct up_stats *st)
{
	if (m) {
		st->resident += resident(m);
		return;
	}
	for (size_t i = 0; i < p->maps_nr; i++)
		st->resident += resident(&p->maps[i]);
}

const struct win_backend up__win_kernel = {
	.name = "kernel",
	.map = k_map,
	.unmap = k_unmap,
	.sync = k_sync,
	.protect = k_protect,
	.advise = k_advise,
	.stats = k_stats,
};
