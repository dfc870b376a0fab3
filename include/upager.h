/* SPDX-License-Identifier: MIT */
/*
 * upager.h - memory-mapped files served by a user-space pager.
 *
 * A pager (struct up_pager) maps files and anonymous memory into the
 * process and serves every page fault on those mappings itself, from its
 * own page cache, which never holds more than the configured budget.  The
 * application gets an ordinary pointer and uses it as memory.
 *
 * Two APIs sit on the same machinery:
 *
 *  - the explicit API: up_pager_open() makes a pager from a struct
 *    up_config; up_pager_map() and friends act on it.  Every call returns
 *    0 or a negative errno and never touches the caller's errno.  Several
 *    pagers with different configurations may live in one process.
 *
 *  - the drop-in API: up_mmap(), up_munmap(), up_msync(), up_mprotect()
 *    and up_madvise() have the POSIX signatures and the POSIX error
 *    convention (MAP_FAILED or -1, with errno set).  They act on a
 *    process-wide default pager, made on first use from the configuration
 *    given to up_default_configure() (or the defaults).
 *
 * Backends.  The "userfaultfd" backend serves faults with Linux
 * userfaultfd(2).  The "kernel" backend hands each mapping straight to the
 * kernel's mmap(2), so a program can switch per pager; the budget, the page
 * size and most statistics then do not apply.
 *
 * Thread safety.  Every function may be called from any thread at any
 * time, except that a pager must not be used once up_pager_close() has
 * started on it.
 *
 * CAVEATS.  Where a mapping of the default pager differs from the kernel's
 * mmap(2); upager(3) has the details, and the contracts of the modes that
 * the UP_CONFIG_* flags choose (sharing processes, inline faults, a
 * user-mode-only userfaultfd).
 *
 *  - mlock(2) keeps a pager's pages resident within its budget: locked
 *    beyond it, locked pages are evicted too (and read again when touched)
 *    where the kernel would refuse the lock or run out of memory.
 *  - A file mapping's statistics count faults, fills and residency, but no
 *    dirty page or write-back: the kernel writes the file.
 *  - /proc/self/maps shows a file mapping larger than half the free budget
 *    as the file where it is resident and anonymous memory elsewhere, and
 *    anonymous memory shared with another mapping as a memfd.
 *  - fork(): file mappings and shared anonymous memory become the kernel's
 *    own, in the parent too, outside the budget and statistics from then
 *    on; the child copies the private anonymous pages the parent changed
 *    while the parent waits in fork().
 *  - While a writable MAP_PRIVATE file mapping's copied pages are saved
 *    at eviction, a read(2) into them fails with EFAULT (a store waits).
 *  - An error of the pager's own (mapping the file, reading back a saved
 *    page) raises SIGBUS at that page until it is unmapped; a failed write
 *    to the swap file keeps the page and makes the next up_msync() or
 *    up_munmap() of its mapping fail with EIO, once.
 *  - The library defines mmap(2), munmap(2), mremap(2) and mlock(2) (and
 *    kin): the program's own calls over a pager's memory give it up first,
 *    mremap(2) of a pager's mapping moves or resizes it as up_pager_remap()
 *    does, and mlock(2) makes the pages lockable first.
 *  - A signal handler that touches a pager's memory while the thread it
 *    interrupted is inside an up_* call on the same pager deadlocks.
 *  - A pager holds threads (which block all signals, and make glibc lock
 *    stdio and malloc), descriptors (close-on-exec, numbered 1024 or more,
 *    kept while the process holds fcntl(2) locks on their file), a SIGSEGV
 *    handler ahead of the program's once it evicts a writable private file
 *    mapping, and one lock that serialises its fault service; a process
 *    shows up to 16384 runs of resident file pages at a time.
 *  - Without the right to use userfaultfd (upager(3), "Unprivileged use"),
 *    AUTO takes the signals backend: a system call on an untouched page
 *    of a store's or a large file mapping (over half the free budget)
 *    fails with EFAULT; anonymous memory is the kernel's, unbudgeted.
 *
 * Windows (x86-64, mingw-w64): AUTO takes the kernel backend (views of
 * sections, VirtualProtect, FlushViewOfFile); UP_BACKEND_TRAP serves the
 * faults within the budget.  upager(3), NOTES, says how both differ from
 * Linux.
 */
#ifndef UPAGER_H
#define UPAGER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef _WIN32
/*
 * Windows (mingw-w64) has no <sys/mman.h>: the flags of the calls below
 * are defined here, with the values Linux gives them (a program that
 * defines them itself must use these).  off_t must be 64 bits, as the
 * library's is: build with -D_FILE_OFFSET_BITS=64.
 */
#if !defined(_FILE_OFFSET_BITS) || _FILE_OFFSET_BITS != 64
#error "upager.h on Windows needs -D_FILE_OFFSET_BITS=64 (a 64-bit off_t)"
#endif
#ifndef PROT_NONE
#define PROT_NONE		0x0
#define PROT_READ		0x1
#define PROT_WRITE		0x2
#define PROT_EXEC		0x4
#endif
#ifndef MAP_SHARED
#define MAP_SHARED		0x01
#define MAP_PRIVATE		0x02
#define MAP_SHARED_VALIDATE	0x03
#define MAP_TYPE		0x0f
#define MAP_FIXED		0x10
#define MAP_ANONYMOUS		0x20
#define MAP_ANON		MAP_ANONYMOUS
#define MAP_NORESERVE		0x4000
#define MAP_POPULATE		0x8000
#define MAP_FIXED_NOREPLACE	0x100000
#define MAP_FAILED		((void *)-1)
#endif
#ifndef MS_ASYNC
#define MS_ASYNC		1
#define MS_INVALIDATE		2
#define MS_SYNC			4
#endif
#ifndef MADV_NORMAL
#define MADV_NORMAL		0
#define MADV_RANDOM		1
#define MADV_SEQUENTIAL		2
#define MADV_WILLNEED		3
#define MADV_DONTNEED		4
#define MADV_FREE		8
#define MADV_REMOVE		9
#define MADV_DONTFORK		10
#define MADV_DOFORK		11
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#endif
#endif /* _WIN32 */

#ifdef __cplusplus
extern "C" {
#endif

#define UP_VERSION_MAJOR 0
#define UP_VERSION_MINOR 1

/* An opaque pager.  Made by up_pager_open(), freed by up_pager_close(). */
struct up_pager;

enum up_backend {
	UP_BACKEND_AUTO = 0,	/* userfaultfd if permitted, else see flags */
	UP_BACKEND_UFFD,	/* userfaultfd only; -EPERM if not permitted */
	UP_BACKEND_KERNEL,	/* pass every mapping to the kernel's mmap */
	/* Faults caught by memory protection, served in the faulting
	 * thread: Linux, the kernel's mappings with guard pages and a
	 * SIGSEGV handler, for users whom userfaultfd is not permitted
	 * (upager(3), "The signals backend"); Windows, a vectored exception
	 * handler over the pager's own pages (see "Windows" above). */
	UP_BACKEND_SIGNALS,
#ifdef _WIN32
	UP_BACKEND_TRAP = UP_BACKEND_SIGNALS,
#endif
};

/* up_config.flags */
/* AUTO may fall back to the kernel backend when userfaultfd is unusable. */
#define UP_CONFIG_FALLBACK	(1u << 0)
/* Accept a user-mode-only userfaultfd (see upager(3)) rather than failing. */
#define UP_CONFIG_USER_MODE_OK	(1u << 1)
/* Share the page cache of MAP_SHARED mappings with other processes and
 * with children after fork() (see upager(3)). */
#define UP_CONFIG_SHARED	(1u << 2)
/* Serve faults in the faulting thread, from a SIGBUS handler, rather than
 * in a service thread (userfaultfd backend only; see "Inline faults"
 * in upager(3) and up_fault_handle()). */
#define UP_CONFIG_FAULT_INLINE	(1u << 3)

#define UP_PAGE_MIN	(4096u)
#define UP_PAGE_MAX	(2u << 20)

struct up_config {
	/* Most bytes of page cache the pager may hold; at least page_len. */
	size_t budget;
	/* The pager's page: a power of two from UP_PAGE_MIN to UP_PAGE_MAX.
	 * Each fault reads and maps one such page. */
	size_t page_len;
	/* Pages read ahead of a sequential fault (0: none). */
	unsigned readahead_nr;
	/* Threads that serve faults; 1 to 64. */
	unsigned threads_nr;
	enum up_backend backend;
	unsigned flags;		/* UP_CONFIG_* */
	/* Directory for the swap file of anonymous and private memory; NULL
	 * means "/var/tmp".  The file is made with O_TMPFILE, so it has no
	 * name and vanishes with the pager.  The string is copied. */
	const char *swap_dir;
};

/*
 * Fill *cfg with the defaults: a budget of half the memory the process may
 * use (MemAvailable, or its memory cgroup's limit if that is less; at least
 * 16 MiB), 64 KiB pages, read-ahead of 16 pages, 1 thread, UP_BACKEND_AUTO, UP_CONFIG_FALLBACK (not
 * UP_CONFIG_SHARED: a private cache serves a single process faster).
 */
void up_config_init(struct up_config *cfg);

/*
 * Make a pager.  Returns 0 and sets *out, or:
 *   -EINVAL  cfg or out is NULL, or a field of cfg is out of range (the
 *            budget smaller than one page, a page size that is not a power
 *            of two in range, threads_nr not in 1..64, an unknown backend
 *            or flag);
 *   -EOPNOTSUPP  UP_CONFIG_FAULT_INLINE with UP_CONFIG_SHARED, or on an
 *            architecture where it is not supported;
 *   -EMFILE  UP_CONFIG_FAULT_INLINE and 64 inline pagers are open;
 *   -EPERM   UP_BACKEND_UFFD was asked for and userfaultfd is not
 *            permitted (up_backend_probe() says why), or AUTO without
 *            UP_CONFIG_FALLBACK found it not permitted;
 *   -ENOSYS  userfaultfd or a feature upager needs is missing;
 *   -ENOMEM, -EMFILE, ...  resources ran out.
 * Nothing is left behind on failure.
 */
int up_pager_open(struct up_pager **out, const struct up_config *cfg);

/*
 * Unmap every mapping (as up_pager_unmap()), stop the service threads,
 * close every descriptor and free the pager.  Returns 0, or -EIO (-ENOSPC,
 * -EDQUOT when the store was full) if some write-back to a shared cache
 * (UP_CONFIG_SHARED) failed (the pager is freed all the same; that data is
 * lost).  Accesses to the pager's former mappings raise SIGSEGV.  -EINVAL
 * if p is NULL.
 */
int up_pager_close(struct up_pager *p);

/* "userfaultfd" or "kernel" ("trap" on Windows): the backend this pager
 * uses. */
const char *up_pager_backend(const struct up_pager *p);

/* Which backend and features are in use, and why AUTO chose the backend
 * it did.  Valid until the pager is closed. */
const char *up_pager_note(const struct up_pager *p);

/*
 * Would backend b work for this process?  Returns 0 if so, else a negative
 * errno (-EPERM, -ENOSYS) with an explanation and what to change written
 * into why (NUL-terminated, truncated to why_len).  For UP_BACKEND_UFFD
 * with flags containing UP_CONFIG_USER_MODE_OK, a user-mode-only
 * userfaultfd counts as working.  UP_BACKEND_AUTO counts as working when
 * flags contain UP_CONFIG_FALLBACK (it can always fall back), and is
 * probed as UP_BACKEND_UFFD otherwise.
 */
int up_backend_probe(enum up_backend b, unsigned flags, char *why,
		     size_t why_len);

/*
 * Map len bytes of fd from off (or anonymous memory with MAP_ANONYMOUS),
 * as mmap(2) does, through pager p.  *out receives the address.  The
 * arguments get the answers the kernel's mmap(2) gives them, checked in
 * the kernel's order.
 *
 * prot: PROT_NONE or any of PROT_READ, PROT_WRITE, PROT_EXEC (other bits
 *   are ignored, as by mmap(2)).
 * flags: one of MAP_SHARED, MAP_SHARED_VALIDATE or MAP_PRIVATE; any of
 *   MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE,
 *   MAP_POPULATE (which makes the range resident before returning, as the
 *   kernel does: for writing in a private writable mapping, so that each
 *   page is the mapping's own copy).  Flags that change nothing for a pager's mapping
 *   (MAP_STACK, MAP_NONBLOCK, MAP_DENYWRITE...) and unknown flags are
 *   ignored, except that MAP_SHARED_VALIDATE refuses unknown flags.
 * off: a multiple of the system page size.  len need not be; the tail of
 *   the last page reads as zero and is never written to the file.  A page
 *   at or past the end of the file raises SIGBUS when touched.
 *
 * The pager serves regular files and anonymous memory, and /dev/zero as
 * anonymous memory (shared with MAP_SHARED).  Everything else is mapped by
 * the kernel's own mmap(2), which gives its answer, the mapping or the
 * error, and then owns the mapping (no budget, no statistics): MAP_LOCKED
 * (locked and resident, as the kernel does), MAP_GROWSDOWN, MAP_HUGETLB,
 * MAP_SYNC, MAP_32BIT, MAP_DROPPABLE and other types, other devices,
 * pipes, directories, /proc and /sys files, and flags MAP_SHARED_VALIDATE
 * refuses.  The kernel backend maps everything so.
 *
 * The fd may be closed as soon as this returns.  Returns 0 or:
 *   -EBADF   fd is not open, or is an O_PATH descriptor (and MAP_ANONYMOUS
 *            is not given);
 *   -EACCES  fd is not open for reading, or MAP_SHARED with PROT_WRITE on
 *            an fd not open for writing;
 *   -ENODEV  fd's file cannot be mapped (a directory, a pipe...);
 *   -EINVAL  len is 0, off or a MAP_FIXED addr is not page-aligned, no
 *            mapping type (or MAP_SHARED_VALIDATE with MAP_ANONYMOUS) is
 *            given, or p or out is NULL;
 *   -EOPNOTSUPP  MAP_SHARED_VALIDATE with a flag it does not know, or
 *            MAP_SYNC on a file that cannot do it;
 *   -EOVERFLOW  off is negative, or off + len overflows;
 *   -ENOMEM  no address space, len larger than the address space, or
 *            MAP_FIXED over a range outside it;
 *   -EEXIST  MAP_FIXED_NOREPLACE over an existing mapping.
 * A MAP_FIXED mapping replaces whatever was mapped in its range; parts of
 * this pager's mappings that it covers are unmapped first, as by
 * up_pager_unmap(), and if that fails the call returns its error (that
 * range is then unmapped, and the new mapping not made).  They are
 * also unmapped when the kernel then refuses a mapping it was given.
 */
int up_pager_map(struct up_pager *p, void *addr, size_t len, int prot,
		 int flags, int fd, off_t off, void **out);

/*
 * Stores.  A mapping may show a store of the program's own instead of a
 * file: an object in memory, a compressed file, a remote object.  The
 * pager reads a page from the store when it is first touched, and writes
 * a MAP_SHARED mapping's stores back to it at msync, munmap and eviction,
 * as it does for a file.  ctx is the store's, passed to each call.
 *
 *   read   Fill buf with len bytes at off; return the bytes read, fewer
 *          only at the end of the store (0 past it), or -errno.  A failed
 *          read raises SIGBUS at the page that needed it.
 *   write  Write len bytes of buf at off (always within the store's size);
 *          return len or -errno.  A failed write keeps the page and makes
 *          the next msync or munmap of the mapping fail with that error
 *          (-ENOSPC, -EDQUOT; -EIO for any other).  NULL: a read-only
 *          store, which MAP_SHARED with PROT_WRITE is refused (-EACCES).
 *   size   The store's length in bytes, or -errno.  As with a file, a
 *          page wholly past it raises SIGBUS, and the rest of the page
 *          that holds the end reads zero; stores there are not written.
 *   sync   Make what was written durable (msync with MS_SYNC); may be NULL.
 *   close  Called once, when the last mapping of the store is gone; may
 *          be NULL.
 *   readahead  A hint: the pager is about to read [off, off + len) in
 *          order, page by page (a sequential stream's read-ahead window),
 *          so the store may start reading it all at once.  May be NULL.
 *   write_batch  Write nr ranges at once (io[i].len bytes of io[i].buf at
 *          io[i].off, in no given order, in parallel where the store
 *          can): the pager's write-back of scattered dirty pages.  Return
 *          0, or -errno if any failed (all nr are then written again
 *          later).  May be NULL: write is called for each.
 *   resize Make the store len bytes long, as ftruncate(2) a file: bytes
 *          past the old end read zero.  Called by up_pager_store_resize()
 *          alone; may be NULL (a store of fixed size).
 *
 * The calls are made from the pager's threads (or the thread of an
 * up_pager_sync(), unmap or resize), one at a time per pager, never from a
 * signal handler, and never with a pointer into a mapping.
 */
struct up_store_io {
	const void *buf;
	size_t len;
	off_t off;
};

struct up_store_ops {
	ssize_t (*read)(void *ctx, void *buf, size_t len, off_t off);
	ssize_t (*write)(void *ctx, const void *buf, size_t len, off_t off);
	off_t (*size)(void *ctx);
	int (*sync)(void *ctx);
	void (*close)(void *ctx);
	void (*readahead)(void *ctx, off_t off, size_t len);
	int (*write_batch)(void *ctx, const struct up_store_io *io,
			   unsigned nr);
	int (*resize)(void *ctx, off_t len);
};

/*
 * Map [off, off+len) of a store, as up_pager_map() maps a file: prot and
 * flags as there (MAP_SHARED or MAP_PRIVATE, MAP_FIXED and
 * MAP_FIXED_NOREPLACE; MAP_ANONYMOUS is refused).  Mappings of one store
 * (the same ops and ctx) in one pager show the same pages.  Returns 0 and
 * the address in *out, or the errors of up_pager_map() and -EOPNOTSUPP on
 * a pager that cannot serve faults (the kernel backend) or serves them in
 * a signal handler (UP_CONFIG_FAULT_INLINE).  On success the
 * store belongs to the pager until its close; on failure it is left
 * alone.  A child after fork() does not inherit a store's mappings: the
 * range is unmapped there (SIGSEGV), as with MADV_DONTFORK.  Changed pages
 * not yet written back are the process's own (a file's are the page
 * cache's): a process that dies before up_pager_sync() or unmap loses
 * them.  A MAP_PRIVATE mapping keeps the copy of a page it read (from what
 * the store's MAP_SHARED mappings showed then): their later changes are
 * not seen in it (a file's private mapping sees the page cache until it
 * writes a page).
 */
int up_pager_map_store(struct up_pager *p, const struct up_store_ops *ops,
		       void *ctx, void *addr, size_t len, int prot, int flags,
		       off_t off, void **out);

/*
 * Resize a store (ops and ctx as mapped) to len bytes, as ftruncate(2)
 * resizes a mapped file: its mappings in p then raise SIGBUS on pages
 * wholly past the new end, read zero in the rest of the page that holds
 * it, and see new bytes up to a larger one (zero).  Changes in p's pages
 * past the new end are discarded, as the kernel discards a file's, those
 * of MAP_PRIVATE copies included.  A store that p does not map is only
 * resized.  Returns 0, -EINVAL (len < 0, no ops), -EOPNOTSUPP (no resize
 * op), or the store's error (nothing in p changed then).
 */
int up_pager_store_resize(struct up_pager *p, const struct up_store_ops *ops,
			  void *ctx, off_t len);

/*
 * A file as a store read and written with O_DIRECT, past the kernel's page
 * cache: mapped with up_pager_map_store(), the file's data take the
 * pager's budget and no more (a file mapping also shows the page cache,
 * which its reads fill).  The read-ahead of a sequential stream is read
 * in one batch through io_uring where upager was built with liburing.  fd
 * is the file (flags O_RDONLY, or O_RDWR to write back; the store keeps
 * descriptors of its own).  As any store, the mapping is the process's
 * own: a write(2) to the file by anyone may not be seen by pages already
 * read (ahead), and changed pages reach the file when written back.
 * Returns 0, or -EINVAL, -EBADF, -EACCES (O_RDWR on a read-only fd),
 * -ENODEV (not a regular file), -EOPNOTSUPP (its file system cannot do
 * O_DIRECT), -ENOMEM.
 */
int up_dstore_open(int fd, int flags, const struct up_store_ops **ops,
		   void **ctx);

/*
 * An object set in a Ceph RADOS pool as a store (librados): the data
 * striped over objects of obj_len bytes (a power of two from 4 KiB to
 * 64 MiB; 0 for UP_RSTORE_OBJECT) named NAME.<16 hex digits>, its length
 * kept in the object NAME.  conf is a ceph.conf (NULL: librados's search,
 * $CEPH_CONF first).  flags O_RDONLY or O_RDWR, with O_CREAT (and O_RDWR)
 * to make a new one of len bytes, all zero (objects are written only where
 * data is).  The read-ahead hint reads a window's objects in parallel.
 * Operations time out after rados_osd_op_timeout (30 s unless the
 * configuration sets it): a lost OSD is then SIGBUS on a fault and -EIO
 * from msync, never a hang or zeros.  Mappings of one object set by two
 * processes are each the process's own, as for any store: a page read by
 * one does not change when the other writes back.
 * Returns 0, or -EINVAL, -ENOENT (no such pool or store), -EBADMSG (not a
 * store's header), -ETIMEDOUT, -ENOTCONN and what librados returns, or
 * -EOPNOTSUPP if upager was built without librados's header or cannot
 * load librados.so.2 (it is loaded on first use).
 */
#define UP_RSTORE_OBJECT (4u << 20)

int up_rstore_open(const char *conf, const char *pool, const char *name,
		   int flags, off_t len, size_t obj_len,
		   const struct up_store_ops **ops, void **ctx);

/*
 * A compressed file as a store (zstd): the data in chunks of chunk_len
 * bytes (a power of two from 4 KiB to 16 MiB; 0 for UP_ZSTORE_CHUNK), each
 * compressed on its own, with an index.  up_zstore_create() makes fd (open
 * O_RDWR; its content is replaced) one of len bytes, all zero;
 * up_zstore_open() opens one (flags O_RDONLY, or O_RDWR for a store that
 * can be written).  Either gives the ops and ctx to pass to
 * up_pager_map_store(), or to call directly (then call ops->close(ctx) at
 * the end); the store keeps a descriptor of its own.
 *
 * Changed chunks are appended, never written over: a sync (up_pager_sync()
 * with MS_SYNC, or ops->sync) makes the written data and an index durable,
 * and a crash keeps the file as of the last one.  Space that later writes
 * made dead stays in the file until it is copied (upager cp).  Mappings
 * are best page-aligned to chunks (a page of UP_PAGE_MIN costs a whole
 * chunk's decompression where it is the first of its chunk touched).
 *
 * Returns 0, or -EINVAL (arguments), -EMEDIUMTYPE (not such a file),
 * -EBADMSG (a damaged header or index), -EACCES (O_RDWR on a read-only
 * descriptor),
 * -ENOMEM, -EIO, or -EOPNOTSUPP if upager was built without libzstd.
 */
#define UP_ZSTORE_CHUNK (128u << 10)

int up_zstore_create(int fd, off_t len, size_t chunk_len,
		     const struct up_store_ops **ops, void **ctx);
int up_zstore_open(int fd, int flags, const struct up_store_ops **ops,
		   void **ctx);

/* What a compressed store holds: its length, the bytes its chunks take
 * compressed now, and the file's length (with dead space and indexes). */
struct up_zstore_stat {
	uint64_t len;
	uint64_t chunk_len;
	uint64_t stored;
	uint64_t file_len;
};
int up_zstore_stat(void *ctx, struct up_zstore_stat *st);

/*
 * Unmap [addr, addr+len) as munmap(2) does: addr page-aligned, len > 0,
 * any part of any mapping.  Stores to file mappings are the page cache's
 * already; a shared cache (UP_CONFIG_SHARED) writes its dirty pages back
 * first.  Returns 0, -EINVAL (alignment, zero length), or -ENOSPC, -EDQUOT
 * or -EIO if a write-back of the pager's failed (a shared cache's, or an
 * anonymous page's to the swap file; the range is unmapped all the same).
 * Ranges not mapped by this pager are passed to munmap(2).
 */
int up_pager_unmap(struct up_pager *p, void *addr, size_t len);

/*
 * msync(2).  flags: MS_SYNC or MS_ASYNC (not both), optionally
 * MS_INVALIDATE.  MS_SYNC fdatasyncs the files of MAP_SHARED file
 * mappings in the range before returning (a shared cache, UP_CONFIG_SHARED,
 * writes its dirty pages first); MS_ASYNC does nothing for them (a shared
 * cache writes them and starts their write-out).  MS_INVALIDATE then drops
 * the clean pages in the range from the pager's memory.  Parts of the range that p does
 * not map are passed to msync(2).  Returns 0, -EINVAL, -ENOMEM (part of
 * the range is not mapped at all: the rest is synced all the same, except
 * with flags of exactly MS_ASYNC, which stop at the hole, as msync(2)
 * does), -EBUSY (MS_INVALIDATE on a range mlock(2) locked: nothing is
 * done), -ENOSPC or -EDQUOT (the file's filesystem is full) or -EIO (the
 * kernel's write-back, or one of the pager's, failed).
 * Flags of 0 act as MS_ASYNC, as on Linux.
 */
int up_pager_sync(struct up_pager *p, void *addr, size_t len, int flags);

/*
 * mprotect(2) to PROT_NONE, PROT_READ, PROT_READ|PROT_WRITE (PROT_EXEC
 * allowed too).  Forbidden accesses then raise SIGSEGV.  Parts of the
 * range that p does not map are passed to mprotect(2).  Returns 0,
 * -EINVAL, -ENOMEM (part of the range is not mapped at all), or -EACCES
 * when PROT_WRITE is asked of a MAP_SHARED mapping whose fd was not open
 * for writing.  As with mprotect(2), the range changes in address order
 * up to the hole or the mapping that refused, and no further.
 */
int up_pager_protect(struct up_pager *p, void *addr, size_t len, int prot);

/*
 * madvise(2): every advice the kernel takes, with the kernel's answer for
 * the kind of mapping (-EINVAL for MADV_FREE and MADV_WIPEONFORK on any
 * but private anonymous memory, for MADV_REMOVE on private anonymous
 * memory and for MADV_POPULATE_* the protection does not allow; -EACCES
 * for MADV_REMOVE on a private or read-only shared file mapping; -EINVAL
 * for MADV_DONTNEED, FREE, REMOVE, COLD, PAGEOUT and GUARD_INSTALL on a
 * range mlock(2) locked).  What each does here:
 *   MADV_NORMAL, MADV_RANDOM (no read-ahead), MADV_SEQUENTIAL (read-ahead
 *     always) set the read-ahead policy of each whole mapping the range
 *     touches;
 *   MADV_WILLNEED reads the range in the background, up to half the budget;
 *   MADV_DONTNEED, MADV_DONTNEED_LOCKED drop the range: shared file pages
 *     are found again in the cache or the file, and shared anonymous
 *     memory keeps its bytes; private changes are discarded, so the range
 *     reads as the file or as zeros again;
 *   MADV_FREE keeps the pages, as the kernel does until memory runs short;
 *   MADV_REMOVE punches the range out of a shared mapping's file (the file
 *     system's error, such as -EOPNOTSUPP, is returned) and the range reads
 *     as zeros, dirty or not; in shared anonymous memory it reads as zeros;
 *   MADV_POPULATE_READ, MADV_POPULATE_WRITE fault the range in (writable,
 *     and dirty, for WRITE), and stop with -EFAULT at a page that raises
 *     SIGBUS (past the end of the file, or unreadable);
 *   MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_DONTDUMP, MADV_DODUMP,
 *     MADV_COLLAPSE, MADV_HWPOISON, MADV_SOFT_OFFLINE are the kernel's, on
 *     the pager's mapping (a guard drops the range first, as DONTNEED);
 *   MADV_DONTFORK leaves the range out of a child of fork(), and
 *     MADV_DOFORK puts it back;
 *   MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
 *     MADV_MERGEABLE, MADV_UNMERGEABLE tune the kernel's paging, which a
 *     pager's memory is not under, and MADV_WIPEONFORK, MADV_KEEPONFORK
 *     change nothing (private anonymous memory is copied into a child
 *     as the parent has it): they return 0.
 * Mappings that the kernel made (see up_pager_map()), and parts of the
 * range that p does not map, get madvise(2) itself.  The mappings in the
 * range are advised in address order, and the first refusal stops there.
 * Returns 0, -EINVAL (unknown advice, alignment), -ENOMEM (part of the
 * range is not mapped at all; the advice is applied to the rest, as by
 * madvise(2)) or the errors above.
 */
int up_pager_advise(struct up_pager *p, void *addr, size_t len, int advice);

/*
 * mremap(2) of p's mapping at old: shrink it, grow it (in place if the
 * addresses after it are free, else moved with MREMAP_MAYMOVE), or move
 * it (MREMAP_FIXED to new_addr, MREMAP_DONTUNMAP).  Its pages move with
 * it, resident or not; where it grows, the new part shows what a grown
 * mapping of the kernel shows (the file's pages, the same shared memory,
 * or zeros).  The range must be within one mapping of p as the kernel
 * sees mappings.  Stores *out.  Returns 0 or mremap(2)'s errno, negated:
 * -EINVAL (arguments), -EFAULT (not one mapping), -ENOMEM (cannot grow in
 * place without MREMAP_MAYMOVE).
 */
int up_pager_remap(struct up_pager *p, void *old, size_t old_len,
		   size_t new_len, int flags, void *new_addr, void **out);

/*
 * Statistics, cumulative since the pager (or mapping) was made.  The
 * latencies come from a histogram with four buckets per power of two, so
 * they are exact to within 25%.  The budget counts resident pager pages
 * (whole pages, also at the end of a file), the kernel's page-cache pages
 * mapped in place included; page tables and bookkeeping are not.  With the
 * kernel backend only resident (system pages, from mincore(2)) and
 * page_len (4096) are filled in; the other fields are 0.  For a cache
 * shared between processes (UP_CONFIG_SHARED), resident and dirty count
 * the pages of every process, and the counters only this pager's work.
 */
struct up_stats {
	uint64_t faults_read;	/* faults on a read access */
	uint64_t faults_write;	/* faults on a write access (incl. tracking) */
	uint64_t fills;		/* pages read from a store or zero-filled */
	uint64_t evictions;	/* pages dropped to stay within the budget */
	uint64_t writebacks;	/* pages written to a store */
	uint64_t bytes_read;	/* bytes read from stores */
	uint64_t bytes_written;	/* bytes written to stores */
	uint64_t resident;	/* pages in memory now */
	uint64_t dirty;		/* of which dirty */
	uint64_t fill_ns_p50;	/* fault service time, median, ns */
	uint64_t fill_ns_p99;	/* fault service time, 99th percentile, ns */
	uint64_t page_len;	/* the pager's page size in bytes */
	uint64_t budget_pages;	/* the budget in pages (0: kernel backend) */
	uint64_t page_cache;	/* of resident, the kernel's page-cache pages
				 * mapped in place (stores to them are the
				 * kernel's to track: they never count in
				 * dirty, writebacks or bytes_written; see
				 * the CAVEATS) */
	uint64_t fault_ns;	/* fault service time in all, ns (the
				 * pager's; 0 for a mapping) */
	uint64_t evict_ns;	/* of which evicting pages to make room */
};

/* The pager's statistics.  Returns 0 or -EINVAL. */
int up_pager_stats(struct up_pager *p, struct up_stats *st);

/*
 * The statistics of the mapping that contains addr (resident and dirty
 * count that mapping's pages; latencies are the pager's).  Returns 0 or
 * -EINVAL if no mapping of p contains addr.
 */
int up_mapping_stats(struct up_pager *p, const void *addr,
		     struct up_stats *st);

/*
 * The histogram of p's fault service times: counts[i] is the number of
 * faults served in [2^i, 2^(i+1)) nanoseconds, the last bucket taking
 * everything longer.  Returns 0 or -EINVAL.
 */
#define UP_LATENCY_NR 36
int up_pager_latency(struct up_pager *p, uint64_t counts[UP_LATENCY_NR]);

/*
 * For a program's own SIGBUS or SIGSEGV handler, installed after an inline
 * pager was opened (UP_CONFIG_FAULT_INLINE, SIGBUS) or after a mapping of
 * the signals backend was made (SIGSEGV): serve the fault described by si
 * and uc (the handler's second and third arguments, from an SA_SIGINFO
 * handler) if it is one of such a pager's.  Returns 1 if it was served
 * (the handler should then return at once: the access runs again), 0 if
 * it is not upager's to serve (another fault, a page that must raise
 * SIGBUS, a signal sent by a process).  It allocates nothing and takes
 * only the pager's lock, which upager never holds while touching user
 * memory.  Leaves errno alone.
 */
#ifndef _WIN32
int up_fault_handle(const siginfo_t *si, void *uc);
#endif

/* A sentence explaining a negative errno returned by upager. */
const char *up_strerror(int err);

/*
 * The drop-in API.  up_default_configure() sets the configuration of the
 * default pager; it returns -EBUSY once the default pager exists.
 * up_default_pager() returns the default pager, making it if needed, or
 * NULL (with errno set) if it cannot be made.  The up_m* calls behave like
 * their POSIX namesakes; addresses that the default pager does not own are
 * passed to the kernel.
 */
int up_default_configure(const struct up_config *cfg);
struct up_pager *up_default_pager(void);
void *up_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int up_munmap(void *addr, size_t len);
int up_msync(void *addr, size_t len, int flags);
int up_mprotect(void *addr, size_t len, int prot);
int up_madvise(void *addr, size_t len, int advice);
void *up_mremap(void *old, size_t old_len, size_t new_len, int flags, ...);

#ifdef __cplusplus
}
#endif
#endif /* UPAGER_H */
