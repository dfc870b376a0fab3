/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public entry points of upager on Windows: configurations,
 * the pager's lifetime and choice of backend, the record of its mappings,
 * the argument checks in the order Linux makes them, the walk of a range
 * over mappings and the memory between them, and the drop-in API on the
 * default pager.  What a mapping is in the system is the backend's
 * (kernel.c, trap.c).
 *
 * Windows has no userfaultfd: AUTO takes the kernel backend (kernel.c),
 * and UP_BACKEND_TRAP the pager's own service of faults (trap.c).
 * Stores are refused with -EOPNOTSUPP on both: the kernel backend refuses
 * them on Linux too, and the trap backend does not take them yet.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <io.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../up-config.h"
#include "win-int.h"

/* The memory the process may use: what is free. */
static uint64_t mem_usable(void)
{
	MEMORYSTATUSEX ms = { .dwLength = sizeof(ms) };

	return GlobalMemoryStatusEx(&ms) ? ms.ullAvailPhys : 0;
}

void up_config_init(struct up_config *cfg)
{
	up__config_defaults(cfg, mem_usable());
}

static int config_check(const struct up_config *c)
{
	int err = up__config_check(c, UP_BACKEND_TRAP);

	if (err)
		return err;
	/* Inline faults are served from a SIGBUS handler: Linux's.  The trap
	 * backend's pages are the process's own: no cache to share (the
	 * kernel backend's views share the system's). */
	if (c->flags & UP_CONFIG_FAULT_INLINE)
		return -EOPNOTSUPP;
	if (c->backend == UP_BACKEND_TRAP && (c->flags & UP_CONFIG_SHARED))
		return -EOPNOTSUPP;
	return 0;
}

/* ---- backends ------------------------------------------------------- */

static const char no_uffd[] =
	"userfaultfd is Linux's; on Windows the kernel backend maps files "
	"with MapViewOfFile(), and the trap backend serves faults from a "
	"vectored exception handler";

int up_backend_probe(enum up_backend b, unsigned flags, char *why,
		     size_t why_len)
{
	const char *w = "";
	int err = 0;

	if (b == UP_BACKEND_UFFD ||
	    (b == UP_BACKEND_AUTO && !(flags & UP_CONFIG_FALLBACK))) {
		w = no_uffd;
		err = -ENOSYS;
	} else if ((unsigned)b > UP_BACKEND_TRAP) {
		w = "no such backend";
		err = -EINVAL;
	}
	if (why && why_len)
		snprintf(why, why_len, "%s", w);
	return err;
}

int up_pager_open(struct up_pager **out, const struct up_config *cfg)
{
	struct up_pager *p;
	int err;

	if (!out || !cfg)
		return -EINVAL;
	if ((err = config_check(cfg)))
		return err;
	if ((err = up_backend_probe(cfg->backend, cfg->flags, NULL, 0)))
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	InitializeSRWLock(&p->lock);
	p->cfg = *cfg;
	p->cfg.swap_dir = NULL;
	p->be = cfg->backend == UP_BACKEND_TRAP ? &up__win_trap
						: &up__win_kernel;
	snprintf(p->note, sizeof(p->note), "%s",
		 cfg->backend == UP_BACKEND_AUTO
			 ? "AUTO chose the kernel backend: no userfaultfd "
			   "on Windows"
			 : "");
	if (cfg->swap_dir && !(p->swap_dir = strdup(cfg->swap_dir)))
		err = -ENOMEM;
	if (!err && p->be->open)
		err = p->be->open(p);
	if (err) {
		free(p->swap_dir);
		free(p);
		return err;
	}
	*out = p;
	return 0;
}

const char *up_pager_backend(const struct up_pager *p)
{
	return p->be->name;
}

const char *up_pager_note(const struct up_pager *p)
{
	return p->note;
}

/* ---- the record of mappings ----------------------------------------- */

__thread int up__win_locked;

static char *map_end(const struct win_map *m)
{
	return m->addr + m->len;
}

/* The index of the first mapping that ends after a. */
static size_t first_after(const struct up_pager *p, const char *a)
{
	size_t lo = 0, hi = p->maps_nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (map_end(&p->maps[mid]) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct win_map *up__win_find(struct up_pager *p, const void *addr)
{
	size_t i = first_after(p, addr);

	if (i < p->maps_nr && p->maps[i].addr <= (const char *)addr)
		return &p->maps[i];
	return NULL;
}

static int record(struct up_pager *p, const struct win_map *m)
{
	size_t i = first_after(p, m->addr);

	if (p->maps_nr == p->maps_cap) {
		size_t cap = p->maps_cap ? 2 * p->maps_cap : 16;
		struct win_map *n = realloc(p->maps, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->maps = n;
		p->maps_cap = cap;
	}
	memmove(&p->maps[i + 1], &p->maps[i],
		(p->maps_nr - i) * sizeof(*p->maps));
	p->maps[i] = *m;
	p->maps_nr++;
	return 0;
}

static int forget(struct up_pager *p, size_t i)
{
	int err = p->be->unmap(p, &p->maps[i]);

	memmove(&p->maps[i], &p->maps[i + 1],
		(p->maps_nr - i - 1) * sizeof(*p->maps));
	p->maps_nr--;
	return err;
}

/* Whether [a, a+len) holds part of a mapping of p. */
static bool ours_in(const struct up_pager *p, char *a, size_t len)
{
	size_t i = first_after(p, a);

	return i < p->maps_nr && p->maps[i].addr < a + len;
}

/* Whether [a, a+len) holds memory that is not p's (reserved or in use). */
static bool foreign_in(const struct up_pager *p, char *a, size_t len)
{
	MEMORY_BASIC_INFORMATION mi;
	char *end = a + len;
	size_t i = first_after(p, a);

	while (a < end) {
		if (i < p->maps_nr && p->maps[i].addr <= a) {
			a = map_end(&p->maps[i++]);
			continue;
		}
		if (!VirtualQuery(a, &mi, sizeof(mi)) || mi.State != MEM_FREE)
			return true;
		a = (char *)mi.BaseAddress + mi.RegionSize;
	}
	return false;
}

/* Unmap p's mappings in [a, a+len): each must lie wholly inside it, and
 * nothing else may be there (Windows has no munmap(2) to pass it to). */
static int unmap_range(struct up_pager *p, char *a, size_t len)
{
	size_t i = first_after(p, a), j;
	char *end = a + len;
	int err = 0, e;

	if (foreign_in(p, a, len))
		return -EINVAL;
	for (j = i; j < p->maps_nr && p->maps[j].addr < end; j++)
		if (p->maps[j].addr < a || map_end(&p->maps[j]) > end)
			return -EINVAL;
	while (j-- > i)
		if ((e = forget(p, j)) && !err)
			err = e;
	return err;
}

/* ---- mapping -------------------------------------------------------- */

/* MAP_* flags a mapping here takes; MAP_SHARED_VALIDATE refuses others. */
#define KNOWN_FLAGS                                                       \
	(MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE |           \
	 MAP_POPULATE | MAP_FIXED_NOREPLACE)

static int file_handle(int fd, HANDLE *h)
{
	intptr_t v;

	if (fd < 0)
		return -EBADF;
	v = _get_osfhandle(fd);
	if (v == -1 || v == -2)		/* -2: a console without a handle */
		return -EBADF;
	*h = (HANDLE)v;
	if (GetFileType(*h) != FILE_TYPE_DISK)
		return -ENODEV;
	return 0;
}

/* The checks of mmap(2), in Linux's order; r is what they leave. */
static int map_args(struct win_req *r, void *addr, size_t len, int prot,
		    int flags, int fd, off_t off)
{
	size_t pg = up__win_page(), type = flags & MAP_TYPE;
	int err;

	memset(r, 0, sizeof(*r));
	if (off % (off_t)pg)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && (err = file_handle(fd, &r->file)))
		return err;
	if (!len)
		return -EINVAL;
	if (len > SIZE_MAX - pg)
		return -ENOMEM;
	r->len = (len + pg - 1) / pg * pg;
	if (off < 0 || (uint64_t)off + r->len < (uint64_t)off ||
	    (uint64_t)off + r->len > INT64_MAX)
		return -EOVERFLOW;
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    (uintptr_t)addr % pg)
		return -EINVAL;
	/* A view starts at a multiple of the allocation granularity. */
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    ((uintptr_t)addr - (flags & MAP_ANONYMOUS ? 0 : (uint64_t)off)) %
		    up__win_gran())
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE &&
	    type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (type == MAP_SHARED_VALIDATE) {
		if (flags & ~KNOWN_FLAGS)
			return -EOPNOTSUPP;
		if (flags & MAP_ANONYMOUS)
			return -EINVAL;
	}
	r->addr = addr;
	r->prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	r->flags = flags;
	r->off = flags & MAP_ANONYMOUS ? 0 : off;
	if (flags & MAP_ANONYMOUS)
		r->file = NULL;
	if (type == MAP_SHARED_VALIDATE)
		r->flags = (flags & ~MAP_TYPE) | MAP_SHARED;
	return 0;
}

int up_pager_map(struct up_pager *p, void *addr, size_t len, int prot,
		 int flags, int fd, off_t off, void **out)
{
	struct win_req r;
	struct win_map m;
	int err;

	if (!p || !out)
		return -EINVAL;
	if ((err = map_args(&r, addr, len, prot, flags, fd, off)))
		return err;
	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    (uintptr_t)addr % up__win_gran())
		r.addr = NULL;	/* a hint the system would move anyway */
	win_lock(p);
	if ((flags & MAP_FIXED_NOREPLACE) && (ours_in(p, r.addr, r.len) ||
					      foreign_in(p, r.addr, r.len)))
		err = -EEXIST;
	else if (flags & MAP_FIXED)
		err = unmap_range(p, r.addr, r.len);
	if (!err)
		err = p->be->map(p, &r, &m);
	if (!err && (err = record(p, &m)))
		p->be->unmap(p, &m);
	win_unlock(p);
	if (!err)
		*out = m.addr;
	return err;
}

/* ---- calls over a range --------------------------------------------- */

/*
 * Walk [a, a+len) in address order: fn on each piece of a mapping of p,
 * and on each piece of other memory in use (m NULL); a piece where nothing
 * is mapped is a hole.  The first error of fn stops the walk; a hole
 * stops it if stop_at_hole, else the rest is walked and -ENOMEM returned.
 */
typedef int (*piece_fn)(struct up_pager *p, struct win_map *m, char *a,
			size_t len, int arg);

static int foreign(struct up_pager *p, char *a, size_t len, piece_fn fn,
		   int arg, bool *hole)
{
	MEMORY_BASIC_INFORMATION mi;
	char *end = a + len;
	int err;

	while (a < end) {
		size_t n;

		if (!VirtualQuery(a, &mi, sizeof(mi)))
			return -ENOMEM;
		n = (size_t)((char *)mi.BaseAddress + mi.RegionSize - a);
		if (n > (size_t)(end - a))
			n = (size_t)(end - a);
		if (mi.State != MEM_COMMIT)
			*hole = true;
		else if ((err = fn(p, NULL, a, n, arg)))
			return err;
		a += n;
	}
	return 0;
}

static int walk(struct up_pager *p, char *a, size_t len, piece_fn fn,
		int arg, bool stop_at_hole)
{
	char *end = a + len;
	size_t i = first_after(p, a);
	bool hole = false;
	int err = 0;

	while (a < end && !err && !(hole && stop_at_hole)) {
		struct win_map *m = i < p->maps_nr ? &p->maps[i] : NULL;
		char *next;

		if (m && m->addr <= a) {
			next = map_end(m) < end ? map_end(m) : end;
			err = fn(p, m, a, (size_t)(next - a), arg);
			i++;
		} else {
			next = m && m->addr < end ? m->addr : end;
			err = foreign(p, a, (size_t)(next - a), fn, arg,
				      &hole);
		}
		a = next;
	}
	return err ? err : hole ? -ENOMEM : 0;
}

/* The range's checks shared by msync, mprotect and madvise: 1 if there
 * is nothing to do. */
static int range_args(struct up_pager *p, void *addr, size_t *len)
{
	size_t pg = up__win_page();

	if (!p || (uintptr_t)addr % pg)
		return -EINVAL;
	if (*len > SIZE_MAX - pg ||
	    (uintptr_t)addr + (*len + pg - 1) / pg * pg < (uintptr_t)addr)
		return -ENOMEM;
	*len = (*len + pg - 1) / pg * pg;
	return *len ? 0 : 1;
}

int up_pager_unmap(struct up_pager *p, void *addr, size_t len)
{
	size_t pg = up__win_page();
	int err;

	if (!p || (uintptr_t)addr % pg || !len || len > SIZE_MAX - pg)
		return -EINVAL;
	len = (len + pg - 1) / pg * pg;
	win_lock(p);
	err = unmap_range(p, addr, len);
	win_unlock(p);
	return err;
}

static int sync_piece(struct up_pager *p, struct win_map *m, char *a,
		      size_t len, int flags)
{
	MEMORY_BASIC_INFORMATION mi;

	if (m)
		return p->be->sync(p, m, a, len, flags);
	/* Another view of the program's own: the system flushes it. */
	if (VirtualQuery(a, &mi, sizeof(mi)) && mi.Type == MEM_MAPPED &&
	    !FlushViewOfFile(a, len))
		return up__win_errno(GetLastError());
	return 0;
}

int up_pager_sync(struct up_pager *p, void *addr, size_t len, int flags)
{
	int err;

	if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	if ((err = range_args(p, addr, &len)))
		return err < 0 ? err : 0;
	win_lock(p);
	err = walk(p, addr, len, sync_piece, flags, flags == MS_ASYNC);
	win_unlock(p);
	return err;
}

static int protect_piece(struct up_pager *p, struct win_map *m, char *a,
			 size_t len, int prot)
{
	MEMORY_BASIC_INFORMATION mi;
	enum win_kind k = WK_ANON_SHARED;
	DWORD old;

	if (m)
		return p->be->protect(p, m, a, len, prot);
	/* The program's own memory: a view copied on write stays one. */
	if (VirtualQuery(a, &mi, sizeof(mi)) && mi.Type == MEM_MAPPED &&
	    (mi.AllocationProtect & (PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY)))
		k = WK_FILE_PRIVATE;
	if (!VirtualProtect(a, len, up__win_prot(prot, k), &old))
		return up__win_errno(GetLastError());
	return 0;
}

int up_pager_protect(struct up_pager *p, void *addr, size_t len, int prot)
{
	int err;

	if ((err = range_args(p, addr, &len)))
		return err < 0 ? err : 0;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	win_lock(p);
	err = walk(p, addr, len, protect_piece, prot, true);
	win_unlock(p);
	return err;
}

/* The advice Linux knows (the rest is -EINVAL there). */
static bool advice_known(int advice)
{
	return (advice >= MADV_NORMAL && advice <= MADV_DONTNEED) ||
	       (advice >= MADV_FREE && advice <= 25) ||
	       (advice >= 100 && advice <= 103);
}

static int advise_piece(struct up_pager *p, struct win_map *m, char *a,
			size_t len, int advice)
{
	if (m)
		return p->be->advise(p, m, a, len, advice);
	/* The program's own memory: hints alone. */
	return advice <= MADV_WILLNEED ? 0 : -EOPNOTSUPP;
}

int up_pager_advise(struct up_pager *p, void *addr, size_t len, int advice)
{
	int err;

	if (!p || (uintptr_t)addr % up__win_page() || !advice_known(advice))
		return -EINVAL;
	if ((err = range_args(p, addr, &len)))
		return err < 0 ? err : 0;
	win_lock(p);
	err = walk(p, addr, len, advise_piece, advice, false);
	win_unlock(p);
	return err;
}

/* Moving a view would need the placeholders of Windows 10 (1803). */
int up_pager_remap(struct up_pager *p, void *old, size_t old_len,
		   size_t new_len, int flags, void *new_addr, void **out)
{
	(void)old;
	(void)old_len;
	(void)new_len;
	(void)flags;
	(void)new_addr;
	(void)out;
	return p ? -EOPNOTSUPP : -EINVAL;
}

int up_pager_close(struct up_pager *p)
{
	if (!p)
		return -EINVAL;
	win_lock(p);
	while (p->maps_nr)
		forget(p, p->maps_nr - 1);
	win_unlock(p);
	/* Unlocked: the trap backend's fault handler takes its list of
	 * pagers before a pager's lock. */
	if (p->be->close)
		p->be->close(p);
	free(p->maps);
	free(p->swap_dir);
	free(p);
	return 0;
}

/* ---- statistics ----------------------------------------------------- */

static void stats_base(struct up_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->page_len = up__win_page();
}

int up_pager_stats(struct up_pager *p, struct up_stats *st)
{
	if (!p || !st)
		return -EINVAL;
	stats_base(st);
	win_lock(p);
	p->be->stats(p, NULL, st);
	win_unlock(p);
	return 0;
}

int up_mapping_stats(struct up_pager *p, const void *addr,
		     struct up_stats *st)
{
	size_t i;
	int err = -EINVAL;

	if (!p || !st)
		return -EINVAL;
	win_lock(p);
	i = first_after(p, addr);
	if (i < p->maps_nr && p->maps[i].addr <= (const char *)addr) {
		stats_base(st);
		p->be->stats(p, &p->maps[i], st);
		err = 0;
	}
	win_unlock(p);
	return err;
}

int up_pager_latency(struct up_pager *p, uint64_t counts[UP_LATENCY_NR])
{
	if (!p || !counts)
		return -EINVAL;
	memset(counts, 0, UP_LATENCY_NR * sizeof(counts[0]));
	return 0;
}

/* ---- stores: not on Windows yet ------------------------------------- */

int up_pager_map_store(struct up_pager *p, const struct up_store_ops *ops,
		       void *ctx, void *addr, size_t len, int prot, int flags,
		       off_t off, void **out)
{
	(void)ctx;
	(void)addr;
	(void)len;
	(void)prot;
	(void)flags;
	(void)off;
	return p && ops && out ? -EOPNOTSUPP : -EINVAL;
}

/* No pager here maps a store: it is only resized. */
int up_pager_store_resize(struct up_pager *p, const struct up_store_ops *ops,
			  void *ctx, off_t len)
{
	if (!p || !ops || len < 0)
		return -EINVAL;
	return ops->resize ? ops->resize(ctx, len) : -EOPNOTSUPP;
}

int up_dstore_open(int fd, int flags, const struct up_store_ops **ops,
		   void **ctx)
{
	(void)fd;
	(void)flags;
	(void)ops;
	(void)ctx;
	return -EOPNOTSUPP;
}

int up_rstore_open(const char *conf, const char *pool, const char *name,
		   int flags, off_t len, size_t obj_len,
		   const struct up_store_ops **ops, void **ctx)
{
	(void)conf;
	(void)pool;
	(void)name;
	(void)flags;
	(void)len;
	(void)obj_len;
	(void)ops;
	(void)ctx;
	return -EOPNOTSUPP;
}

int up_zstore_create(int fd, off_t len, size_t chunk_len,
		     const struct up_store_ops **ops, void **ctx)
{
	(void)fd;
	(void)len;
	(void)chunk_len;
	(void)ops;
	(void)ctx;
	return -EOPNOTSUPP;
}

int up_zstore_open(int fd, int flags, const struct up_store_ops **ops,
		   void **ctx)
{
	(void)fd;
	(void)flags;
	(void)ops;
	(void)ctx;
	return -EOPNOTSUPP;
}

int up_zstore_stat(void *ctx, struct up_zstore_stat *st)
{
	(void)ctx;
	(void)st;
	return -EOPNOTSUPP;
}

/* ---- errors --------------------------------------------------------- */

const char *up_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument: a length, alignment, flag, advice "
		       "or configuration value is out of range, or a range "
		       "cuts a mapping that Windows can only unmap whole";
	case EACCES:
		return "the file's open mode does not allow this access";
	case EBADF:
		return "not an open file descriptor";
	case ENODEV:
		return "this kind of file cannot be mapped";
	case ENOMEM:
		return "out of memory or address space, or the range is not "
		       "mapped";
	case ENXIO:
		return "the mapping would end past the file's last page, "
		       "which Windows cannot map";
	case EIO:
		return "I/O error: a page could not be read or written back";
	case ENOSYS:
		return "userfaultfd is Linux's: Windows has the kernel and "
		       "trap backends";
	case EEXIST:
		return "the range is already mapped";
	case EBUSY:
		return "already in use";
	case EOVERFLOW:
		return "offset plus length overflows";
	case EOPNOTSUPP:
		return "not supported on Windows: stores, inline faults, "
		       "mremap and some advice";
	}
	return strerror(-err);
}

/* ---- the drop-in API on the default pager --------------------------- */

static SRWLOCK dflt_lock = SRWLOCK_INIT;
static struct up_pager *dflt;
static struct up_config dflt_cfg;
static bool dflt_cfg_set;

int up_default_configure(const struct up_config *cfg)
{
	int err;

	if (!cfg)
		return -EINVAL;
	if ((err = config_check(cfg)))
		return err;
	AcquireSRWLockExclusive(&dflt_lock);
	if (dflt) {
		err = -EBUSY;
	} else {
		dflt_cfg = *cfg;
		dflt_cfg_set = true;
	}
	ReleaseSRWLockExclusive(&dflt_lock);
	return err;
}

struct up_pager *up_default_pager(void)
{
	struct up_pager *p;
	int err = 0;

	AcquireSRWLockExclusive(&dflt_lock);
	if (!dflt) {
		if (!dflt_cfg_set)
			up_config_init(&dflt_cfg);
		err = up_pager_open(&dflt, &dflt_cfg);
	}
	p = dflt;
	ReleaseSRWLockExclusive(&dflt_lock);
	if (!p)
		errno = -err;
	return p;
}

/* -1 with errno for a negative err, else 0. */
static int posix(int err)
{
	if (!err)
		return 0;
	errno = -err;
	return -1;
}

void *up_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct up_pager *p = up_default_pager();
	void *out;
	int err;

	if (!p)
		return MAP_FAILED;
	err = up_pager_map(p, addr, len, prot, flags, fd, off, &out);
	return posix(err) ? MAP_FAILED : out;
}

int up_munmap(void *addr, size_t len)
{
	struct up_pager *p = up_default_pager();

	return p ? posix(up_pager_unmap(p, addr, len)) : -1;
}

int up_msync(void *addr, size_t len, int flags)
{
	struct up_pager *p = up_default_pager();

	return p ? posix(up_pager_sync(p, addr, len, flags)) : -1;
}

int up_mprotect(void *addr, size_t len, int prot)
{
	struct up_pager *p = up_default_pager();

	return p ? posix(up_pager_protect(p, addr, len, prot)) : -1;
}

int up_madvise(void *addr, size_t len, int advice)
{
	struct up_pager *p = up_default_pager();

	return p ? posix(up_pager_advise(p, addr, len, advice)) : -1;
}

void *up_mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	(void)old;
	(void)old_len;
	(void)new_len;
	(void)flags;
	errno = EOPNOTSUPP;
	return MAP_FAILED;
}
