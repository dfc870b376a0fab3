/* SPDX-License-Identifier: MIT */
/*
 * fault-signals.c - the signals backend, for a process that may not use
 * userfaultfd (an ordinary user where vm.unprivileged_userfaultfd is 0, a
 * container whose seccomp profile refuses it).
 *
 * Every mapping is the kernel's own mmap(2), so everything the kernel's
 * mapping does holds as it is: MAP_SHARED pages are the page cache,
 * coherent with read(2) and write(2) and with every other process;
 * MAP_PRIVATE copies on write; fork(), mprotect(2), mremap(2) and msync(2)
 * are the kernel's.  What the pager adds to a file mapping is the budget,
 * its page size with read-ahead, and the statistics:
 *
 *   A page not served yet carries guard markers (MADV_GUARD_INSTALL, Linux
 *   6.13), which do not split the kernel's mapping as mprotect(2) would and
 *   which mremap(2) and fork() keep.  A load or store there raises SIGSEGV
 *   (SEGV_MAPERR); the handler (sigbus.c) has fault() serve it in the
 *   faulting thread: take a frame of the budget, evicting another page if
 *   none is free, lift the guards of the pager page (and of the pages read
 *   ahead), fill it with MADV_POPULATE_READ, and return, so the access runs
 *   again and finds its page.
 *
 *   The budget counts a file's pager page once however many mappings show
 *   it, as the page cache holds it once.  Eviction guards the page again in
 *   every mapping (which drops it from their page tables), writes out the
 *   page cache's dirty pages of it and drops them (sync_file_range(2),
 *   POSIX_FADV_DONTNEED): the budget bounds the page cache too.
 *
 *   A page of a MAP_PRIVATE mapping that a store has copied is anonymous
 *   memory, which a guard would destroy.  Such a pager page stays where it
 *   is, out of the budget, as the kernel keeps it where there is no swap.
 *   While eviction looks for such pages in a writable private mapping, the
 *   page is read-only; a store to it then raises SIGSEGV (SEGV_ACCERR) and
 *   runs again once the pager's lock is free.
 *
 * A store's mapping (up_pager_map_store()) is the kernel's mapping of a
 * memfd of the pager's that stands for the store, guarded as a file's.  A
 * fault reads the pager page from the store into the memfd first.  Which
 * pages changed, with no write fault to say so, the page's content tells:
 * a hash of it is kept from when it was read or last written back, and
 * eviction and msync(2) write back each page whose hash differs (taken
 * before the write, so that a store meanwhile is written the next time).
 * Eviction then punches the page out of the memfd; a page it cannot write
 * back stays there, owed, until msync(2) or the last unmap writes it.
 *
 * Anonymous memory is the kernel's alone: no swap file and no budget.  A
 * system call that touches a guarded page fails with EFAULT, as with a
 * user-mode-only userfaultfd; MADV_POPULATE_READ or _WRITE through
 * up_madvise() serves the pages first.
 *
 * Callers hold p->lock.
 */
#include "up-int.h"

#include <errno.h>
#include <linux/futex.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The most a sequential run of faults reads ahead at once. */
#define RA_MAX (8ul << 20)
/* The page cache dropped around an evicted page. */
#define DROP_SPAN ((off_t)2 << 20)
/* A huge page: what one page-table entry of the level above maps. */
#define HUGE ((uintptr_t)2 << 20)

/* A file that served mappings show; fd -1: the slot is free. */
struct sig_file {
	dev_t dev;
	ino_t ino;
	int fd;				/* ours, for write-out and dropping */
	/* A store's (store.ops set): fd is the memfd that stands for it. */
	struct up_store store;
	off_t len;			/* the store's length (the memfd's) */
	char *view;			/* the memfd, mapped for the pager */
	size_t view_len;
	uint64_t pages;			/* pager pages the tables hold */
	uint8_t *state;			/* each page's PS_* */
	uint64_t *sums;			/* each held page's hash, as the store
					 * has it */
	int err;			/* write-back failed: for msync */
};

/* A store's pager page: */
#define PS_HELD	 1	/* in the memfd */
#define PS_OWED	 2	/* changed where a write-back failed */
#define PS_LOOSE 4	/* held with no frame, and maybe shown yet (locked,
			 * or where a private mapping copied part of it):
			 * msync(2) looks at it as at a frame's */

/* A resident pager page: page pg of file `file` (index + 1; 0: free). */
struct sig_frame {
	uint64_t pg;
	uint32_t file;
	uint8_t ref;			/* clock bit; REF_PIN: being served */
};

#define REF_PIN 2

/*
 * A store's read or write that a fault needs runs on a thread of the
 * pager's (started with the first store's mapping), not in the faulting
 * thread's signal handler, where it would run on whatever stack, inside
 * whatever code, the access interrupted: the handler hands it over and
 * waits.  Callers hold p->lock, so one call at a time.
 */
enum { JOB_IDLE, JOB_READY, JOB_DONE, JOB_QUIT };

struct sig_job {
	atomic_int state;
	long (*fn)(void *arg);
	void *arg;
	long ret;
};

struct up_sig {
	struct sig_job job;
	pthread_t thread;
	void *stack;
	pid_t thread_pid;		/* the process it runs in, or 0 */
	struct sig_file *files;
	size_t files_nr;
	struct sig_frame *frames;	/* p->frames_nr of them */
	uint32_t *free;			/* released frames */
	uint64_t free_nr, fresh, hand;
	uint64_t used;			/* frames holding a page */
	uint32_t *hash;			/* frame index + 1, 0 empty */
	uint64_t mask;			/* hash slots - 1 */
	uint64_t fences;		/* writable private pages made
					 * read-only for a moment, so far */
};

static size_t pl(const struct up_pager *p)
{
	return p->cfg.page_len;
}

static void store_release(struct up_pager *p, struct sig_file *f,
			  uint64_t pg, bool punch);

/* ---- frames, found by (file, page) ---------------------------------- */

static uint64_t hslot(const struct up_sig *s, uint32_t file, uint64_t pg)
{
	uint64_t x = (pg ^ ((uint64_t)file << 48)) * 0x9e3779b97f4a7c15ull;

	return (x ^ (x >> 31)) & s->mask;
}

/* The frame holding page pg of file, or -1. */
static int64_t lookup(const struct up_sig *s, uint32_t file, uint64_t pg)
{
	uint64_t h = hslot(s, file, pg);

	for (; s->hash[h]; h = (h + 1) & s->mask) {
		const struct sig_frame *f = &s->frames[s->hash[h] - 1];

		if (f->file == file && f->pg == pg)
			return s->hash[h] - 1;
	}
	return -1;
}

static void hash_add(struct up_sig *s, uint32_t idx)
{
	uint64_t h = hslot(s, s->frames[idx].file, s->frames[idx].pg);

	while (s->hash[h])
		h = (h + 1) & s->mask;
	s->hash[h] = idx + 1;
}

/* Take frame idx out of the table, moving back the entries after it that
 * would no longer be found (linear probing). */
static void hash_del(struct up_sig *s, uint32_t idx)
{
	uint64_t h = hslot(s, s->frames[idx].file, s->frames[idx].pg), j;

	while (s->hash[h] != idx + 1)
		h = (h + 1) & s->mask;
	s->hash[h] = 0;
	for (j = (h + 1) & s->mask; s->hash[j]; j = (j + 1) & s->mask) {
		const struct sig_frame *f = &s->frames[s->hash[j] - 1];
		uint64_t home = hslot(s, f->file, f->pg);

		/* Does the entry's probe from home pass the hole at h? */
		if (((j - home) & s->mask) >= ((j - h) & s->mask)) {
			s->hash[h] = s->hash[j];
			s->hash[j] = 0;
			h = j;
		}
	}
}

/* Forget frame idx: its page is no longer counted. */
static void frame_forget(struct up_pager *p, uint32_t idx)
{
	struct up_sig *s = p->sig;

	hash_del(s, idx);
	s->frames[idx].file = 0;
	s->free[s->free_nr++] = idx;
	s->used--;
}

/* ---- the mappings that show a page ---------------------------------- */

static bool private_copies(const struct up_region *r)
{
	return !(r->flags & MAP_SHARED);
}

/*
 * Whether [a, b) of r holds a page that a store copied (anonymous memory
 * in a private file mapping).  /proc/self/pagemap: bit 63 present, 62
 * swapped, 61 a page of a file (or shared memory).  Opened for each call,
 * as a child of fork() must read its own.
 */
static bool has_copies(uintptr_t a, uintptr_t b)
{
	uint64_t e[64];
	bool any = false;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true;		/* cannot tell: keep it */
	while (a < b && !any) {
		size_t n = (b - a) / SYS_PAGE, i;
		ssize_t got;

		if (n > 64)
			n = 64;
		got = pread(fd, e, n * 8, (off_t)(a / SYS_PAGE * 8));
		if (got != (ssize_t)(n * 8)) {
			any = true;
			break;
		}
		for (i = 0; i < n; i++)
			if ((e[i] >> 62) & 1 ||
			    ((e[i] >> 63) & 1 && !((e[i] >> 61) & 1)))
				any = true;
		a += n * SYS_PAGE;
	}
	close(fd);
	return any;
}

/*
 * Guard [a, b) of r again (eviction).  A private mapping's pages that a
 * store copied stay (false): the mapping is read-only while that is looked
 * at, so that no store copies one in between.
 */
static bool guard_piece(struct up_pager *p, struct up_region *r, uintptr_t a,
			uintptr_t b)
{
	bool fence = private_copies(r) && (r->prot & PROT_WRITE);
	bool ok;

	if (fence)
		p->sig->fences++;
	if (fence && up__mprotect((void *)a, b - a, r->prot & ~PROT_WRITE))
		return false;
	ok = !(private_copies(r) && has_copies(a, b)) &&
	     up__madvise((void *)a, b - a, MADV_GUARD_INSTALL) == 0;
	if (fence)
		up__mprotect((void *)a, b - a, r->prot);
	return ok;
}

/* Evict frame idx: guard its page in every mapping, write it out and drop
 * it from the page cache.  The frame is free after it. */
static void evict(struct up_pager *p, uint32_t idx)
{
	struct up_sig *s = p->sig;
	struct sig_frame *f = &s->frames[idx];
	struct sig_file *file = &s->files[f->file - 1];
	off_t a = (off_t)(f->pg * pl(p)), b = a + (off_t)pl(p);
	bool written = false, kept = false;
	uint64_t t0 = up__now_ns();
	size_t i;

	for (i = 0; i < p->regions_nr; i++) {
		struct up_region *r = p->regions[i];
		uintptr_t as, ae;

		if (r->sfile != f->file || !up__region_span(r, a, b, &as, &ae))
			continue;
		if (!guard_piece(p, r, as, ae))
			kept = true;
		if ((r->flags & MAP_SHARED) && r->may_write)
			written = true;
	}
	/* A store's page: written back if it changed, and out of the memfd
	 * unless a mapping still shows it (where a private mapping copied
	 * part of the page, the rest shows the memfd). */
	if (file->store.ops)
		store_release(p, file, f->pg, !kept);
	else if (written)
		up__sync_wait(file->fd, a, b - a);
	/* Where part of it stays, the page cache holds a large folio there,
	 * which goes whole or not at all: then the whole 2 MiB around it
	 * (never while mapped, so the resident pages near it stay). */
	if (!kept && !file->store.ops) {
		up__drop_cache(file->fd, a, b - a);
		if (up__cache_count(file->fd, a, b - a))
			up__drop_cache(file->fd, a & ~(off_t)(DROP_SPAN - 1),
				       (b - a + DROP_SPAN - 1) &
					       ~(off_t)(DROP_SPAN - 1));
	}
	frame_forget(p, idx);
	UP_STAT(p, NULL, evictions, 1);
	p->st.evict_ns += up__now_ns() - t0;
}

/* A frame for a page about to be served, pinned: a free one, or the clock
 * hand's victim. */
static uint32_t frame_take(struct up_pager *p)
{
	struct up_sig *s = p->sig;

	if (s->free_nr)
		return s->free[--s->free_nr];
	if (s->fresh < p->frames_nr)
		return (uint32_t)s->fresh++;
	for (;;) {
		uint32_t idx = (uint32_t)s->hand;
		struct sig_frame *f = &s->frames[idx];

		s->hand = (s->hand + 1) % p->frames_nr;
		if (!f->file || f->ref == REF_PIN)
			continue;
		if (f->ref) {
			f->ref = 0;
			continue;
		}
		evict(p, idx);
		return s->free[--s->free_nr];
	}
}

/* ---- files ---------------------------------------------------------- */

/* A free slot of the file table (its index), or -1 if out of memory. */
static long file_slot(struct up_sig *s)
{
	struct sig_file *t;
	size_t i;

	for (i = 0; i < s->files_nr; i++)
		if (s->files[i].fd < 0)
			return (long)i;
	t = realloc(s->files, (s->files_nr + 1) * sizeof(*t));
	if (!t)
		return -1;
	s->files = t;
	s->files[s->files_nr].fd = -1;
	return (long)s->files_nr++;
}

/* The file index (+ 1) for fd, kept with a descriptor of ours; 0 if none
 * can be had. */
static uint32_t file_get(struct up_pager *p, int fd)
{
	struct up_sig *s = p->sig;
	struct stat st;
	size_t i;
	long hole;
	int nfd;

	if (up__fstat(fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	for (i = 0; i < s->files_nr; i++)
		if (s->files[i].fd >= 0 && !s->files[i].store.ops &&
		    s->files[i].dev == st.st_dev &&
		    s->files[i].ino == st.st_ino)
			return (uint32_t)i + 1;
	nfd = up__dup(fd);
	if (nfd < 0)
		return 0;
	hole = file_slot(s);
	if (hole < 0) {
		up__close(nfd);
		return 0;
	}
	s->files[hole] = (struct sig_file){ .dev = st.st_dev,
					    .ino = st.st_ino, .fd = nfd };
	return (uint32_t)hole + 1;
}

/* ---- stores --------------------------------------------------------- */

#define STACK_LEN (8ul << 20)	/* as the pager's other threads' (sanitizers need
				 * much; the kernel gives what is used) */

/* Set while this thread serves a fault in its signal handler. */
static __thread bool in_handler __attribute__((tls_model("initial-exec")));

static void futex_wait(atomic_int *a, int v)
{
	syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(atomic_int *a)
{
	syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static void *store_thread(void *arg)
{
	struct sig_job *j = arg;
	int st;

	for (;;) {
		while ((st = atomic_load(&j->state)) != JOB_READY) {
			if (st == JOB_QUIT)
				return NULL;
			futex_wait(&j->state, st);
		}
		j->ret = j->fn(j->arg);
		atomic_store(&j->state, JOB_DONE);
		futex_wake(&j->state);
	}
}

/* Have the store thread started in this process: 0 or -errno. */
static int thread_start(struct up_pager *p)
{
	struct up_sig *s = p->sig;
	int err;

	if (s->thread_pid == getpid())
		return 0;
	if (!s->stack &&
	    up__mmap(NULL, STACK_LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		     -1, 0, &s->stack))
		return -ENOMEM;
	atomic_store(&s->job.state, JOB_IDLE);
	err = up__thread(&s->thread, s->stack, STACK_LEN, store_thread,
			 &s->job);
	if (!err)
		s->thread_pid = getpid();
	return err;
}

static void thread_stop(struct up_sig *s)
{
	if (s->thread_pid == getpid()) {
		atomic_store(&s->job.state, JOB_QUIT);
		futex_wake(&s->job.state);
		pthread_join(s->thread, NULL);
	}
	s->thread_pid = 0;
	if (s->stack)
		up__munmap(s->stack, STACK_LEN);
	s->stack = NULL;
}

/* fn(arg): on the store thread from a signal handler, else here. */
static long run(struct up_pager *p, long (*fn)(void *), void *arg)
{
	struct sig_job *j = &p->sig->job;
	int st;

	if (!in_handler || p->sig->thread_pid != getpid())
		return fn(arg);
	j->fn = fn;
	j->arg = arg;
	atomic_store(&j->state, JOB_READY);
	futex_wake(&j->state);
	while ((st = atomic_load(&j->state)) != JOB_DONE)
		futex_wait(&j->state, st);
	atomic_store(&j->state, JOB_IDLE);
	return j->ret;
}

#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

/* The bytes of pager page pg that store file f's memfd has (its end
 * rounded up to a system page), from pg's start; 0 past the end. */
static size_t span(const struct up_pager *p, const struct sig_file *f,
		   uint64_t pg)
{
	uint64_t off = pg * pl(p), end = SYS_UP((uint64_t)f->len);

	return off >= end ? 0 : end - off < pl(p) ? end - off : pl(p);
}

/* What of those bytes is the store's (the rest is past its end). */
static size_t span_data(const struct up_pager *p, const struct sig_file *f,
			uint64_t pg)
{
	uint64_t off = pg * pl(p);

	return off >= (uint64_t)f->len ? 0
	       : (uint64_t)f->len - off < pl(p) ? (uint64_t)f->len - off
					       : pl(p);
}

/* A hash of n bytes at a (n a multiple of 8): whether a page changed.
 * Two lanes, so that a change that one maps back to its old value the
 * other sees. */
static uint64_t sum_of(const char *a, size_t n)
{
	const uint64_t *w = (const uint64_t *)a;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, g = 0x2545f4914f6cdd1dull;
	size_t i;

	for (i = 0; i < n / 8; i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		g = (g + w[i]) * 0xc4ceb9fe1a85ec53ull;
		g ^= g >> 29;
	}
	h ^= g * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

/* Let go of store file f's memory and memfd (not of the store). */
static void store_free(struct sig_file *f)
{
	if (f->view)
		up__munmap(f->view, f->view_len);
	up__table_free(f->state, f->pages);
	up__table_free(f->sums, f->pages * sizeof(*f->sums));
	up__close(f->fd);
	*f = (struct sig_file){ .fd = -1 };
}

struct write_job {
	const struct sig_file *f;
	const struct up_store_io *io;
	unsigned nr;
};

static long write_io(void *arg)
{
	const struct write_job *w = arg;
	const struct up_store_ops *o = w->f->store.ops;
	unsigned i;
	long n = 0;

	if (w->nr > 1 && o->write_batch)
		return o->write_batch(w->f->store.ctx, w->io, w->nr);
	for (i = 0; i < w->nr && n >= 0; i++) {
		n = o->write(w->f->store.ctx, w->io[i].buf, w->io[i].len,
			     w->io[i].off);
		if (n >= 0 && (size_t)n != w->io[i].len)
			n = -EIO;
	}
	return n;
}

/* Write nr ranges of store file f's view to its store, in one batch if
 * it takes them: 0, or the error msync(2) reports (a full store's, else
 * EIO). */
static int store_write(struct up_pager *p, struct sig_file *f,
		       const struct up_store_io *io, unsigned nr)
{
	struct write_job w = { f, io, nr };
	long n = run(p, write_io, &w);
	unsigned i;

	for (i = 0; i < nr && n >= 0; i++) {
		UP_STAT(p, NULL, writebacks, 1);
		UP_STAT(p, NULL, bytes_written, io[i].len);
	}
	return n < -4095 ? -EIO : up__store_err(n);
}

struct fill_job {
	const struct sig_file *f;
	off_t off;
	size_t n;
};

static long fill_io(void *arg)
{
	const struct fill_job *j = arg;

	return up__store_fill(&j->f->store, j->f->view + j->off, j->n, j->off,
			      j->f->fd, j->off);
}

/* Page pg of store file f into its memfd, unless it is there: 0, or -EIO
 * if the store cannot read it.  A frame holds it from now on. */
static int store_fill(struct up_pager *p, struct sig_file *f, uint64_t pg)
{
	size_t n = span(p, f, pg);
	off_t off = (off_t)(pg * pl(p));
	struct fill_job j = { f, off, n };

	if (!n)
		return 0;
	if (!(f->state[pg] & PS_HELD)) {
		if (run(p, fill_io, &j) < 0)
			return -EIO;
		f->sums[pg] = sum_of(f->view + off, n);
	}
	f->state[pg] = (uint8_t)((f->state[pg] | PS_HELD) & ~PS_LOOSE);
	return 0;
}

/* Whether page pg of store file f changed since it was read or written
 * back: *sum, its hash now. */
static bool changed(const struct up_pager *p, const struct sig_file *f,
		    uint64_t pg, uint64_t *sum)
{
	*sum = sum_of(f->view + pg * pl(p), span(p, f, pg));
	return (f->state[pg] & PS_OWED) || *sum != f->sums[pg];
}

/*
 * Page pg of store file f leaves its frame: written back if it changed,
 * then punched out of the memfd if punch (nothing shows it any more),
 * else kept loose.  One that cannot be written back stays in the memfd,
 * owed, and msync(2) reports the error.
 */
static void store_release(struct up_pager *p, struct sig_file *f,
			  uint64_t pg, bool punch)
{
	size_t n = span(p, f, pg), d = span_data(p, f, pg);
	off_t off = (off_t)(pg * pl(p));
	struct up_store_io io = { f->view + off, d, off };
	uint64_t sum;
	int err = 0;

	if (!n || !(f->state[pg] & PS_HELD))
		return;
	if (f->store.ops->write && d && changed(p, f, pg, &sum)) {
		err = store_write(p, f, &io, 1);
		if (err) {
			f->err = err;
			f->state[pg] |= PS_OWED;
		} else {
			f->sums[pg] = sum;
			f->state[pg] &= (uint8_t)~PS_OWED;
		}
	}
	if (!err && punch) {
		up__fallocate(f->fd, PUNCH, off, (off_t)n);
		f->state[pg] = 0;
	} else {
		f->state[pg] |= PS_LOOSE;
	}
}

/* Write back what changed of store file fi in pager pages [pa, pb): its
 * frames' pages, its loose and its owed ones, in one batch.  0, or the
 * error (an earlier write-back's first, once). */
static int store_flush(struct up_pager *p, uint32_t fi, uint64_t pa,
		       uint64_t pb)
{
	struct up_sig *s = p->sig;
	struct sig_file *f = &s->files[fi - 1];
	struct up_store_io *io = NULL, *t;
	struct { uint64_t pg, sum; } *w = NULL, *tw;
	unsigned nr = 0, cap = 0, k;
	uint64_t pg, i;
	int err = 0;

	if (!f->store.ops->write)
		return 0;
	if (pb > f->pages)
		pb = f->pages;
	/* (Frames first, then the pages not in one: i past the frames.) */
	for (i = 0; i < s->fresh + (pb > pa ? pb - pa : 0) && !err; i++) {
		uint64_t sum;
		size_t d;

		if (i < s->fresh) {
			if (s->frames[i].file != fi)
				continue;
			pg = s->frames[i].pg;
			if (pg < pa || pg >= pb)
				continue;
		} else {
			pg = pa + (i - s->fresh);
			if (!(f->state[pg] & (PS_LOOSE | PS_OWED)) ||
			    lookup(s, fi, pg) >= 0)
				continue;
		}
		d = span_data(p, f, pg);
		if (!d || !(f->state[pg] & PS_HELD) ||
		    !changed(p, f, pg, &sum))
			continue;
		if (nr == cap) {
			cap = cap ? 2 * cap : 16;
			t = realloc(io, cap * sizeof(*io));
			if (t)
				io = t;
			tw = t ? realloc(w, cap * sizeof(*w)) : NULL;
			if (!tw) {
				err = -ENOMEM;
				break;
			}
			w = tw;
		}
		io[nr].buf = f->view + pg * pl(p);
		io[nr].len = d;
		io[nr].off = (off_t)(pg * pl(p));
		w[nr].pg = pg;
		w[nr].sum = sum;
		nr++;
	}
	if (!err && nr)
		err = store_write(p, f, io, nr);
	for (k = 0; !err && k < nr; k++) {
		f->sums[w[k].pg] = w[k].sum;
		f->state[w[k].pg] &= (uint8_t)~PS_OWED;
	}
	free(io);
	free(w);
	if (!err) {
		err = f->err;
		f->err = 0;
	}
	return err;
}

/* Size store file f's view and page tables for its length. */
static int store_size(struct up_pager *p, struct sig_file *f)
{
	uint64_t pages = ((uint64_t)f->len + pl(p) - 1) / pl(p);
	size_t len = SYS_UP((size_t)f->len);
	void *v;
	int err;

	if (len > f->view_len) {
		if (up__mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     f->fd, 0, &v))
			return -ENOMEM;
		/* (Not in a child of fork(): the memfd is the parent's.) */
		up__madvise(v, len, MADV_DONTFORK);
		if (f->view)
			up__munmap(f->view, f->view_len);
		f->view = v;
		f->view_len = len;
	}
	if (pages > f->pages) {
		err = up__table((void **)&f->state, f->pages, pages);
		if (!err)
			err = up__table((void **)&f->sums,
					f->pages * sizeof(*f->sums),
					pages * sizeof(*f->sums));
		if (err) {
			/* (state grown, sums not: both as they were) */
			up__table((void **)&f->state, pages, f->pages);
			return err;
		}
		f->pages = pages;
	}
	return 0;
}

/* The file index (+ 1) of store st, 0 if none shows it. */
static uint32_t store_find(const struct up_sig *s, const struct up_store *st)
{
	size_t i;

	for (i = 0; i < s->files_nr; i++)
		if (s->files[i].fd >= 0 && s->files[i].store.ops == st->ops &&
		    s->files[i].store.ctx == st->ctx)
			return (uint32_t)i + 1;
	return 0;
}

/* The file index (+ 1) of store st, made for it (a memfd of its length)
 * if none shows it yet; 0 and *err if it cannot be. */
static uint32_t store_get(struct up_pager *p, const struct up_store *st,
			  int *err)
{
	struct up_sig *s = p->sig;
	uint32_t fi = store_find(s, st);
	struct sig_file *f;
	off_t len;
	long hole;
	int fd;

	if (fi)
		return fi;
	len = st->ops->size(st->ctx);
	if (len < 0) {
		*err = len < -4095 ? -EIO : (int)len;
		return 0;
	}
	fd = up__memfd("upager-store");
	if (fd < 0) {
		*err = fd;
		return 0;
	}
	hole = file_slot(s);
	*err = hole < 0 ? -ENOMEM : up__ftruncate(fd, len);
	if (*err) {
		up__close(fd);
		return 0;
	}
	f = &s->files[hole];
	*f = (struct sig_file){ .fd = fd, .store = *st, .len = len };
	*err = store_size(p, f);
	if (*err) {
		store_free(f);
		return 0;
	}
	return (uint32_t)hole + 1;
}

/* Whether a served mapping other than [a, b) of r shows [oa, ob) of file. */
static bool shown_elsewhere(struct up_pager *p, uint32_t file, off_t oa,
			    off_t ob, const struct up_region *r, uintptr_t a,
			    uintptr_t b)
{
	size_t i;

	for (i = 0; i < p->regions_nr; i++) {
		const struct up_region *q = p->regions[i];
		uintptr_t as, ae;

		if (q->sfile != file || !up__region_span(q, oa, ob, &as, &ae))
			continue;
		if (q != r || as < a || ae > b)
			return true;
	}
	return false;
}

/* ---- serving -------------------------------------------------------- */

/* How many pager pages from pg the fault in r reads at once. */
static uint64_t window(struct up_pager *p, struct up_region *r, uint64_t pg)
{
	uint64_t max = RA_MAX / pl(p), cap = p->frames_nr / 8;

	if (cap < max)
		max = cap ? cap : 1;
	if (r->advice == MADV_RANDOM)
		r->ra_win = 1;
	else if (r->advice == MADV_SEQUENTIAL)
		r->ra_win = (unsigned)max;
	else if (pg == r->next_pgno && r->ra_win)
		r->ra_win = r->ra_win * 2 > max ? (unsigned)max : r->ra_win * 2;
	else
		r->ra_win = 1;
	return r->ra_win;
}

/*
 * A fault in a huge page of a MAP_SHARED mapping whose 2 MiB the page
 * cache holds whole, most likely as one huge folio that the kernel would
 * map whole with one entry: the window becomes that huge page, in memory
 * anyway (if the budget is at least 8 of them).  Whether it did.
 */
static bool whole_huge(struct up_pager *p, struct up_region *r,
		       uintptr_t addr, uintptr_t *a, uintptr_t *b)
{
	uintptr_t ha = addr & ~(HUGE - 1);
	off_t off = r->off + (off_t)(ha - r->start);

	if (!(r->flags & MAP_SHARED) || p->sig->files[r->sfile - 1].store.ops ||
	    ha < r->start || ha + HUGE > r->end ||
	    (off & (off_t)(HUGE - 1)) || HUGE / pl(p) > p->frames_nr / 8 ||
	    !up__cached(p->sig->files[r->sfile - 1].fd, off, (off_t)HUGE))
		return false;
	*a = ha;
	*b = ha + HUGE;
	return true;
}

/* A frame (pinned) for page pg of r's file, n bytes of it shown in r: its
 * own if it has one, else a new one, a store's read in first.  -1 if
 * there is none to have: a page past a store's end (the kernel raises
 * SIGBUS there), or one the store cannot read (*err). */
static int64_t frame_of(struct up_pager *p, struct up_region *r,
			uint64_t pg, size_t n, int *err)
{
	struct up_sig *s = p->sig;
	struct sig_file *f = &s->files[r->sfile - 1];
	int64_t idx = lookup(s, r->sfile, pg);

	if (idx < 0) {
		if (f->store.ops && (!span(p, f, pg) ||
				     (*err = store_fill(p, f, pg))))
			return -1;
		idx = frame_take(p);
		s->frames[idx] = (struct sig_frame){ pg, r->sfile, REF_PIN };
		hash_add(s, (uint32_t)idx);
		s->used++;
		UP_STAT(p, r, fills, 1);
		UP_STAT(p, r, bytes_read, f->store.ops ? span(p, f, pg) : n);
	} else {
		s->frames[idx].ref = REF_PIN;
	}
	return idx;
}

/*
 * Lift the guards of [a, b) of r.  A guard lives in a 4 KiB page-table
 * entry, and the table stays once it is lifted, so the kernel would then
 * never map a huge folio of the page cache there with one entry of the
 * level above, as it maps it without the pager.  Where [a, b) holds whole
 * huge pages of a MAP_SHARED mapping (file offsets aligned alike), those
 * are mapped afresh instead: the kernel frees the tables of what it
 * unmaps, and the new mapping is one with its neighbours again, as it
 * shows the same file at the same offsets with the same flags (read-ahead
 * advice put back).  Not where the mapping carries another flag of the
 * program's (other advice, mlock(2)), which a fresh mapping would lose.
 */
static void unguard(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b)
{
	uintptr_t ha = (a + HUGE - 1) & ~(HUGE - 1), hb = b & ~(HUGE - 1);
	off_t off = r->off + (off_t)(ha - r->start);

	if (ha < hb && !(off & (off_t)(HUGE - 1)) && (r->flags & MAP_SHARED) &&
	    !(r->flags & MAP_SYNC) && !r->dontfork && !r->wipeonfork &&
	    !r->vmflags && !up__lock_future &&
	    !up__locked((void *)ha, hb - ha) &&
	    up__real_mmap((void *)ha, hb - ha, r->prot,
			  MAP_SHARED | MAP_FIXED | (r->flags & MAP_NORESERVE),
			  p->sig->files[r->sfile - 1].fd, off) != MAP_FAILED) {
		if (r->advice != MADV_NORMAL)
			up__madvise((void *)ha, hb - ha, r->advice);
		if (a < ha)
			up__madvise((void *)a, ha - a, MADV_GUARD_REMOVE);
		if (hb < b)
			up__madvise((void *)hb, b - hb, MADV_GUARD_REMOVE);
		return;
	}
	up__madvise((void *)a, b - a, MADV_GUARD_REMOVE);
}

/*
 * Serve [a, b) of r (a at a fault, or a range to populate): its pager
 * pages get frames and lose their guards, and are filled with the given
 * advice (MADV_POPULATE_READ or _WRITE; 0: left to the access that runs
 * again, as a store's page is, alone).  Pager pages go in batches, each
 * with one call of each kind, of at most half the budget, so that a range
 * larger than the budget stays within it.  The kernel's answer to the
 * advice is returned; it stops filling where the kernel's would stop (a
 * page past the end of the file, a mapping that cannot be read), but the
 * guards go all the same, so that a system call may fault the rest.
 */
#define BATCH_MAX 64

static int serve_range(struct up_pager *p, struct up_region *r, uintptr_t a,
		       uintptr_t b, int advice, uintptr_t *failed)
{
	uint64_t most = p->frames_nr / 2 ? p->frames_nr / 2 : 1;
	uint32_t pins[BATCH_MAX];
	int err = 0;

	if (most > BATCH_MAX)
		most = BATCH_MAX;
	while (a < b && !err) {
		uintptr_t x = a;
		unsigned nr = 0, i;

		while (x < b && nr < most) {
			off_t off = r->off + (off_t)(x - r->start);
			uint64_t pg = up__pgno(p, off);
			uintptr_t xe = x + ((pg + 1) * pl(p) - (uint64_t)off);
			int64_t idx;

			if (xe > b)
				xe = b;
			idx = frame_of(p, r, pg, xe - x, &err);
			if (err) {
				*failed = x;	/* it stays guarded */
				break;
			}
			if (idx >= 0)
				pins[nr++] = (uint32_t)idx;
			x = xe;
		}
		unguard(p, r, a, x);
		if (advice && !err)
			err = up__madvise((void *)a, x - a, advice);
		for (i = 0; i < nr; i++)
			p->sig->frames[pins[i]].ref = 1;
		a = x;
	}
	return err;
}

/* The access this thread last ran again after a fence, and the count of
 * fences then: refused again with no fence since, it is the program's. */
static __thread uintptr_t fenced_at;
static __thread uint64_t fenced_nr;

static int sig_fault(struct up_pager *p, uintptr_t addr, bool write, bool wp)
{
	uint64_t t0 = up__now_ns(), pg, n;
	struct up_region *r;
	uintptr_t a, b, failed;
	bool cached;
	off_t off;
	int ret = 1, fd;

	pthread_mutex_lock(&p->lock);
	in_handler = true;
	r = up__region_find(p, addr);
	if (!r || !r->sfile) {
		ret = 0;
	} else if (wp) {
		/* An access the mapping allows, refused while eviction
		 * looked at the page: once more.  Twice: the program's. */
		ret = (r->prot & (write ? PROT_WRITE : PROT_READ)) &&
		      (fenced_at != addr || fenced_nr != p->sig->fences);
		fenced_at = addr;
		fenced_nr = p->sig->fences;
	} else {
		addr &= ~(SYS_PAGE - 1);
		off = r->off + (off_t)(addr - r->start);
		pg = up__pgno(p, off);
		n = window(p, r, pg);
		a = addr - (uintptr_t)(off - (off_t)(pg * pl(p)));
		b = a + n * pl(p);
		/* A long window ends at a huge page's end, so that the next
		 * ones hold whole huge pages (see unguard()). */
		cached = false;
		if (b - a >= HUGE && (b & ~(HUGE - 1)) > addr)
			b &= ~(HUGE - 1);
		else if (b - a < HUGE)
			cached = whole_huge(p, r, addr, &a, &b);
		if (a < r->start)
			a = r->start;
		if (b > r->end)
			b = r->end;
		r->next_pgno = up__pgno(p, r->off + (off_t)(b - r->start));
		UP_STAT(p, r, faults_read, !write);
		UP_STAT(p, r, faults_write, write);
		/* The window is read in at once, unless the page cache
		 * holds it (the kernel's read-ahead goes on beside it, as
		 * read_ahead_kb says).  A store where the program said
		 * its touches are random reads what the kernel's fault
		 * reads, the system page it stores to (the mapping has the
		 * advice). */
		fd = p->sig->files[r->sfile - 1].fd;
		off = r->off + (off_t)(a - r->start);
		if (!cached && !(write && r->advice == MADV_RANDOM) &&
		    !p->sig->files[r->sfile - 1].store.ops &&
		    !up__cached(fd, off, (off_t)(b - a)))
			posix_fadvise(fd, off, (off_t)(b - a),
				      POSIX_FADV_WILLNEED);
		/* A store's page that cannot be read raises SIGBUS, as a
		 * file's does. */
		failed = UINTPTR_MAX;
		if (serve_range(p, r, a, b, write ? 0 : MADV_POPULATE_READ,
				&failed) == -EIO &&
		    failed <= addr)
			ret = -1;
		up__hist_add(p, up__now_ns() - t0);
	}
	in_handler = false;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- the backend ---------------------------------------------------- */

static void sig_free(struct up_pager *p)
{
	struct up_sig *s = p->sig;
	size_t i;

	if (!s)
		return;
	thread_stop(s);
	for (i = 0; i < s->files_nr; i++)
		if (s->files[i].store.ops && s->files[i].fd >= 0)
			store_free(&s->files[i]);	/* (a child's) */
		else if (s->files[i].fd >= 0)
			up__close(s->files[i].fd);
	free(s->files);
	up__table_free(s->frames, p->frames_nr * sizeof(*s->frames));
	up__table_free(s->free, p->frames_nr * sizeof(*s->free));
	up__table_free(s->hash, (s->mask + 1) * sizeof(*s->hash));
	free(s);
	p->sig = NULL;
}

static int sig_open(struct up_pager *p)
{
	struct up_sig *s = calloc(1, sizeof(*s));
	uint64_t slots = 2;
	int err;

	if (!s)
		return -ENOMEM;
	p->sig = s;
	while (slots < 2 * p->frames_nr)
		slots *= 2;
	s->mask = slots - 1;
	err = up__table((void **)&s->frames, 0,
			p->frames_nr * sizeof(*s->frames));
	if (!err)
		err = up__table((void **)&s->free, 0,
				p->frames_nr * sizeof(*s->free));
	if (!err)
		err = up__table((void **)&s->hash, 0, slots * sizeof(*s->hash));
	if (!err)
		err = up__sigbus_add(p, SIGSEGV);
	if (err)
		sig_free(p);
	return err;
}

static void sig_close(struct up_pager *p)
{
	up__sigbus_del(p);
	sig_free(p);
}

/*
 * Where a new mapping r of fd is served whole from the start: if half the
 * free budget holds the part of the file it shows, that part is the
 * kernel's mapping of the file at once, with no guard and no fault of the
 * pager's, as fast as mmap(2) itself (the kernel maps the page cache's
 * huge folios whole); its pages count from now on and go as any other
 * when the budget is full (not with read-ahead configured off: then only
 * what faults is read).  Returns the address from which r is guarded:
 * past the end of the file, or all of r (r->start) if it is too large.
 */
static uintptr_t whole_at_map(struct up_pager *p, struct up_region *r,
			      int fd)
{
	struct up_sig *s = p->sig;
	uint64_t free = s->free_nr + (p->frames_nr - s->fresh), n;
	off_t end = r->off + (off_t)(r->end - r->start);
	struct stat st;

	if (!p->cfg.readahead_nr || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return r->start;
	if (end > st.st_size)
		end = st.st_size;
	if (end <= r->off)
		return r->start;
	n = up__pgno(p, end - 1) - up__pgno(p, r->off) + 1;
	if (n > free / 2)
		return r->start;
	return r->start + SYS_UP((uintptr_t)(end - r->off));
}

/* Forget frame idx of file f, whose page nothing shows any more: a
 * store's is written back first if it changed. */
static void frame_drop(struct up_pager *p, struct sig_file *f, uint32_t idx)
{
	if (f->store.ops)
		store_release(p, f, p->sig->frames[idx].pg, true);
	frame_forget(p, idx);
}

/* Store file fi, which no mapping shows any more: what changed is
 * written, and it goes, closing the store if it was the pager's. */
static int store_done(struct up_pager *p, uint32_t fi, bool owned)
{
	struct sig_file *f = &p->sig->files[fi - 1];
	struct up_store st = f->store;
	uint64_t i;
	int err = 0;

	for (i = 0; i < p->sig->fresh; i++)
		if (p->sig->frames[i].file == fi)
			frame_drop(p, f, (uint32_t)i);
	if (owned)
		err = store_flush(p, fi, 0, UINT64_MAX);
	store_free(f);
	if (owned && st.ops->close)
		st.ops->close(st.ctx);
	return err;
}

/* Map r as a mapping of store st (up_pager_map_store()): of the memfd
 * that stands for it, guarded whole.  Under mlockall(MCL_FUTURE), which
 * would lock it at once, the pages are read in first instead. */
static int map_store(struct up_pager *p, struct up_region *r,
		     const struct up_store *st, void *hint, int mflags)
{
	struct up_sig *s = p->sig;
	bool made = !store_find(s, st);
	struct sig_file *f;
	uint64_t pg;
	uint32_t fi;
	int err;

	err = thread_start(p);
	fi = err ? 0 : store_get(p, st, &err);
	if (!fi)
		return err;
	f = &s->files[fi - 1];
	for (pg = up__pgno(p, r->off);
	     up__lock_future && !err &&
	     pg * pl(p) < (uint64_t)r->off + (r->end - r->start);
	     pg++)
		if (span(p, f, pg) && lookup(s, fi, pg) < 0) {
			err = store_fill(p, f, pg);
			f->state[pg] |= PS_LOOSE;
		}
	if (!err)
		err = up__kernel_ops.map(p, r, f->fd, hint, mflags);
	if (!err && !up__lock_future &&
	    up__madvise((void *)r->start, r->end - r->start,
			MADV_GUARD_INSTALL)) {
		err = -errno;
		up__munmap((void *)r->start, r->end - r->start);
	}
	if (!err)
		err = up__sigbus_add(p, SIGSEGV);
	if (err) {
		/* (A store no mapping shows: one of the pager's, whose last
		 * mapping this was to replace, goes; a new one is left
		 * alone.) */
		if (!shown_elsewhere(p, fi, 0, INT64_MAX, r, 0, 0))
			store_done(p, fi, !made);
		return err;
	}
	r->sfile = fi;
	return 0;
}

static int sig_map(struct up_pager *p, struct up_region *r, int fd,
		   void *hint, int mflags)
{
	int err;
	uint64_t pg, end;
	uint32_t file;

	if (fd < 0 && p->making_store)
		return map_store(p, r, p->making_store, hint, mflags);
	err = up__kernel_ops.map(p, r, fd, hint, mflags);
	if (err || (r->flags & MAP_ANONYMOUS) || fd < 0)
		return err;
	file = file_get(p, fd);
	if (!file)
		return 0;		/* the kernel's, unserved */
	r->sfile = file;
	/* Ahead of a SIGSEGV handler the program installed since (which
	 * then gets every fault that is not the pager's). */
	if (up__sigbus_add(p, SIGSEGV)) {
		r->sfile = 0;
		return 0;
	}
	if (!(r->flags & MAP_POPULATE)) {
		uintptr_t g = whole_at_map(p, r, fd);

		/* mlockall(MCL_FUTURE) locks it: no guard, the kernel's. */
		if (g < r->end &&
		    up__madvise((void *)g, r->end - g, MADV_GUARD_INSTALL)) {
			r->sfile = 0;
			return 0;
		}
		if (g == r->start)
			return 0;
		end = up__pgno(p, r->off + (off_t)(g - r->start) - 1);
	} else {
		end = up__pgno(p, r->off + (off_t)(r->end - r->start) - 1);
	}
	/* Populated by the kernel, or to be faulted by it: each page counts,
	 * and the oldest go once the budget is full. */
	for (pg = up__pgno(p, r->off); pg <= end; pg++) {
		uintptr_t as, ae;
		int64_t idx;

		if (up__region_span(r, (off_t)(pg * pl(p)),
				    (off_t)((pg + 1) * pl(p)), &as, &ae) &&
		    (idx = frame_of(p, r, pg, ae - as, &err)) >= 0)
			p->sig->frames[idx].ref = 1;
	}
	return 0;
}

static int sig_unmap(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b)
{
	struct up_sig *s = p->sig;
	off_t oa = r->off + (off_t)(a - r->start);
	off_t ob = r->off + (off_t)(b - r->start);
	struct sig_file *f;
	uint64_t pg, i;
	int err = 0;

	if (!r->sfile)
		return 0;
	f = &s->files[r->sfile - 1];
	/* Pages no other mapping shows are no longer the pager's. */
	if ((uint64_t)(ob - oa) / pl(p) < p->frames_nr) {
		for (pg = up__pgno(p, oa); (off_t)(pg * pl(p)) < ob; pg++) {
			int64_t idx = lookup(s, r->sfile, pg);
			off_t pa = (off_t)(pg * pl(p));

			if (idx >= 0 && !shown_elsewhere(p, r->sfile, pa,
							 pa + (off_t)pl(p), r,
							 a, b))
				frame_drop(p, f, (uint32_t)idx);
		}
	} else {
		for (i = 0; i < s->fresh; i++) {
			off_t pa = (off_t)(s->frames[i].pg * pl(p));

			if (s->frames[i].file == r->sfile && pa < ob &&
			    pa + (off_t)pl(p) > oa &&
			    !shown_elsewhere(p, r->sfile, pa,
					     pa + (off_t)pl(p), r, a, b))
				frame_drop(p, f, (uint32_t)i);
		}
	}
	/* The file's last mapping: our descriptor goes; a store's owed
	 * pages are written, and it is closed (not while it is being mapped
	 * again over this). */
	if (!shown_elsewhere(p, r->sfile, 0, INT64_MAX, r, a, b)) {
		for (i = 0; i < s->fresh; i++)
			if (s->frames[i].file == r->sfile)
				frame_drop(p, f, (uint32_t)i);
		if (f->store.ops && p->making_store &&
		    p->making_store->ops == f->store.ops &&
		    p->making_store->ctx == f->store.ctx)
			return 0;
		if (f->store.ops) {
			err = store_done(p, r->sfile, true);
		} else {
			up__close(f->fd);
			f->fd = -1;
		}
	}
	return err;
}

/* Read the pages of [a, b) of store region r into the memfd, loose (out
 * of the budget): where it will show without the pager (locked).  Returns
 * where a page the store cannot read stopped it, or b. */
static uintptr_t fill_loose(struct up_pager *p, struct up_region *r,
			    uintptr_t a, uintptr_t b)
{
	struct sig_file *f = &p->sig->files[r->sfile - 1];
	uintptr_t x;

	for (x = a; x < b;) {
		off_t off = r->off + (off_t)(x - r->start);
		uint64_t pg = up__pgno(p, off);

		if (lookup(p->sig, r->sfile, pg) < 0 && span(p, f, pg)) {
			if (store_fill(p, f, pg))
				return x;
			f->state[pg] |= PS_LOOSE;
		}
		x += (pg + 1) * pl(p) - (uint64_t)off;
	}
	return b;
}

/*
 * [a, b) of store region r shows its memfd anew (mremap(2) made it, or
 * the store grew): guarded, to be served.  Where the kernel cannot guard
 * it (mlock(2) locked it), its pages are read in, loose; a private
 * mapping that the kernel filled then (copying the memfd's zeros) is
 * filled again from them.
 */
static void take_in(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b)
{
	if (!up__madvise((void *)a, b - a, MADV_GUARD_INSTALL))
		return;
	b = fill_loose(p, r, a, b);
	if (!(r->flags & MAP_SHARED) && a < b &&
	    !up__madvise((void *)a, b - a, MADV_DONTNEED_LOCKED))
		up__madvise((void *)a, b - a,
			    (r->prot & PROT_WRITE) ? MADV_POPULATE_WRITE
						   : MADV_POPULATE_READ);
}

/* up_pager_store_resize() of store (ops, ctx) to len, resized already:
 * its memfd follows, as a file that ftruncate(2) resizes (the kernel then
 * shows its mappings as a file's), and what the pager holds of pages past
 * the end goes.  Pages past the shorter end are guarded again in every
 * mapping, to be served when they are touched. */
static int sig_store_resize(struct up_pager *p, const struct up_store *st,
			    off_t len)
{
	struct up_sig *s = p->sig;
	uint32_t fi = store_find(s, st);
	uint64_t from, i;
	struct sig_file *f;
	off_t low;
	int err;

	if (!fi)
		return 0;
	f = &s->files[fi - 1];
	low = len < f->len ? len : f->len;
	from = ((uint64_t)low + pl(p) - 1) / pl(p);
	for (i = 0; i < s->fresh; i++)
		if (s->frames[i].file == fi && s->frames[i].pg >= from)
			frame_forget(p, (uint32_t)i);
	for (i = from; i < f->pages; i++)
		f->state[i] = 0;
	err = up__ftruncate(f->fd, len);
	if (err)
		return err;
	f->len = len;
	err = store_size(p, f);
	for (i = 0; i < p->regions_nr; i++) {
		struct up_region *r = p->regions[i];
		uintptr_t as, ae;

		if (r->sfile == fi &&
		    up__region_span(r, (off_t)(from * pl(p)), INT64_MAX, &as,
				    &ae))
			take_in(p, r, as, ae);
	}
	return err;
}

static int sig_sync(struct up_pager *p, struct up_region *r, uintptr_t a,
		    uintptr_t b, int flags)
{
	const struct sig_file *f = r->sfile ? &p->sig->files[r->sfile - 1]
					    : NULL;
	off_t oa = r->off + (off_t)(a - r->start);
	off_t ob = r->off + (off_t)(b - r->start);
	int err = up__msync((void *)a, b - a, flags);

	/* A store's changed pages, written back; with MS_SYNC, to stay. */
	if (!err && f && f->store.ops && (r->flags & MAP_SHARED))
		err = store_flush(p, r->sfile, (uint64_t)oa / pl(p),
				  ((uint64_t)ob + pl(p) - 1) / pl(p));
	if (!err && f && f->store.ops && (r->flags & MAP_SHARED) &&
	    (flags & MS_SYNC) && f->store.ops->sync)
		err = up__store_err(f->store.ops->sync(f->store.ctx));
	return err;
}

/* Take [start, end) of r from the pager: the program puts guards of its
 * own there. */
static void unserve(struct up_pager *p, struct up_region *r)
{
	up__madvise((void *)r->start, r->end - r->start, MADV_GUARD_REMOVE);
	sig_unmap(p, r, r->start, r->end);
	r->sfile = 0;
}

static int sig_advise(struct up_pager *p, struct up_region *r, uintptr_t a,
		      uintptr_t b, int advice)
{
	uintptr_t failed;
	int err;

	if (r->sfile) {
		switch (advice) {
		case MADV_POPULATE_READ:
		case MADV_POPULATE_WRITE:
			err = serve_range(p, r, a, b, advice, &failed);
			/* (The kernel's answer where a read fails.) */
			return err == -EIO ? -EFAULT : err;
		case MADV_GUARD_INSTALL:
		case MADV_GUARD_REMOVE:
			/* A store's mapping shows nothing without the pager:
			 * it keeps its guards, and takes none of the
			 * program's, as a file's did before Linux 6.15. */
			if (p->sig->files[r->sfile - 1].store.ops)
				return advice == MADV_GUARD_INSTALL ? -EINVAL
								    : 0;
			unserve(p, r);
			break;
		}
	}
	return up__madvise((void *)a, b - a, advice);
}

/* The kernel's mlock(2) cannot lock a guarded page: the range becomes
 * the kernel's to fill (and the pages it locks stay, out of the budget, as
 * eviction cannot guard them). */
static void sig_lock(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b)
{
	/* A store's pages are read into the memfd first, which holds
	 * nothing the pager has not put there (up to one the store cannot
	 * read, which stays guarded). */
	if (r->sfile && p->sig->files[r->sfile - 1].store.ops)
		b = fill_loose(p, r, a, b);
	if (r->sfile && a < b)
		up__madvise((void *)a, b - a, MADV_GUARD_REMOVE);
}

static void sig_count(struct up_pager *p, struct up_region *r,
		      struct up_stats *st)
{
	struct up_sig *s = p->sig;
	off_t oa, ob;
	uint64_t i;

	if (!r) {
		/* (A store's pages are the pager's, not the page cache.) */
		st->resident += s->used;
		st->page_cache += s->used;
		for (i = 0; i < s->fresh; i++)
			if (s->frames[i].file &&
			    s->files[s->frames[i].file - 1].store.ops)
				st->page_cache--;
		return;
	}
	if (!r->sfile)
		return;
	oa = r->off;
	ob = r->off + (off_t)(r->end - r->start);
	for (i = 0; i < s->fresh; i++) {
		off_t pa = (off_t)(s->frames[i].pg * pl(p));

		if (s->frames[i].file == r->sfile && pa < ob &&
		    pa + (off_t)pl(p) > oa) {
			st->resident++;
			st->page_cache += !s->files[r->sfile - 1].store.ops;
		}
	}
}

/* What mremap(2) made anew of a store's mapping shows the memfd, which
 * holds nothing the pager has not put there: guarded, as the rest. */
static void sig_remapped(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i;

	for (i = up__region_first(p, a);
	     i < p->regions_nr && p->regions[i]->start < b; i++) {
		const struct up_region *r = p->regions[i];
		uintptr_t x = r->start > a ? r->start : a;
		uintptr_t y = r->end < b ? r->end : b;

		if (r->sfile && p->sig->files[r->sfile - 1].store.ops)
			take_in(p, p->regions[i], x, y);
	}
}

/* In a child after fork(): the stores are the parent's (their mappings
 * and the views of their memfds are not here): forget them, with no I/O
 * and no close. */
static void sig_fork_child(struct up_pager *p, bool copy)
{
	struct up_sig *s = p->sig;
	uint64_t i;

	(void)copy;
	for (i = 0; i < s->fresh; i++)
		if (s->frames[i].file &&
		    s->files[s->frames[i].file - 1].store.ops)
			frame_forget(p, (uint32_t)i);
	for (i = 0; i < s->files_nr; i++) {
		struct sig_file *f = &s->files[i];

		if (f->fd < 0 || !f->store.ops)
			continue;
		f->view = NULL;		/* (MADV_DONTFORK) */
		store_free(f);
	}
}

const struct up_backend_ops up__sig_ops = {
	.name = "signals",
	.kernel_mappings = true,
	.open = sig_open,
	.close = sig_close,
	.map = sig_map,
	.unmap = sig_unmap,
	.sync = sig_sync,
	.advise = sig_advise,
	.count = sig_count,
	.lock = sig_lock,
	.fault = sig_fault,
	.fork_child = sig_fork_child,
	.store_resize = sig_store_resize,
	.remapped = sig_remapped,
};
