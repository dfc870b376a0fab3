/* SPDX-License-Identifier: MIT */
/*
 * shared.c - a page cache that processes share (UP_CONFIG_SHARED).
 *
 * A MAP_SHARED file mapping of a sharing pager is served from a segment:
 * a shared-memory file named after the file's device and inode in
 * /dev/shm, which every process that maps the file attaches.  It holds
 *
 *   a header      identity (device, inode, page size), the budget, a
 *                 robust process-shared mutex, counters, and 64 slots, one
 *                 per attached pager, each held with a file lock on its
 *                 byte of the segment (see slot_lock());
 *   page flags    one byte per page (PG_RESIDENT, PG_DIRTY), so the
 *                 object's pflags point straight at them;
 *   page frames   per page, frame index + 1;
 *   frames        the budget: one per resident page, with a clock bit and
 *                 the set of slots whose mapping may write the page;
 *   free list     free frame indexes;
 *   data          the pages, at data_off + their file offset.
 *
 * Every process maps the data with UFFDIO_CONTINUE from the same shmem
 * pages, so a store in one is seen by a load in another at once, and a
 * page read in by one is only mapped by the others.
 *
 * Write tracking is per process, since a userfaultfd write-protects only
 * its own process's page tables.  A process that stores to a clean page
 * takes a write-protect fault, marks the page dirty and sets its slot's
 * bit among the page's writers; the page stays dirty while any writer
 * bit is set.  Writing back a page write-protects the writer's own
 * mappings and clears its bit first; another process's bit can only be
 * cleared by that process, so the page stays dirty and is written again
 * later.  Eviction takes only a page that no other live process may
 * write; when every candidate has other writers, the evicting process
 * asks them to give up write access (a flag in their slot that their
 * service threads look at every few milliseconds) and waits.
 *
 * Robustness.  Every change to the shared state is made under the mutex,
 * in an order that a process dying at any point leaves repairable: a fill
 * marks the frame used before it reads, and the page resident only after;
 * eviction does the reverse.  The next process to lock the mutex gets
 * EOWNERDEAD and repairs: frames whose page is not resident are freed and
 * their data punched out, pins are cleared, the counts are recomputed.
 * Slots of processes that died are reclaimed (their writer bits cleared,
 * the dirty pages left dirty for whoever writes back next).
 *
 * Lifetime.  The segment is made without a name (O_TMPFILE), initialised,
 * then linked into place, so a segment that can be opened is whole.  The
 * last pager to detach writes back every dirty page, marks the segment
 * dead and unlinks it; a process that opened it just before sees the mark
 * and makes a new one.  A segment that does not match (magic, layout,
 * identity, page size), or that another user owns or others may write, is
 * refused with a note saying why.
 *
 * Callers hold p->lock; the segment's mutex is taken inside (lock order:
 * pager, then segment).
 */
#include "up-int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the core asks of a segment (defined at the end). */
static const struct up_seg_ops seg_ops;

#define SEG_MAGIC 0x3167657372657075ull	/* "uperseg1" in memory */
#define SEG_VERSION 4
#define SEG_SLOTS 64
#define SEG_DIR "/dev/shm"
#define SEG_MIN_CAP (64ull << 30)
#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define RELEASE_WAIT_NS (10ull * 1000000000)

struct seg_slot {
	int32_t pid;			/* 0: free; else who took it */
	atomic_uint release;		/* asked to give up write access */
};

struct seg_frame {
	uint64_t pgno;
	uint64_t writers;		/* slot bits */
	uint8_t used, ref, pin, pad[5];
};

struct seg_hdr {
	uint64_t magic;
	uint32_t version, hdr_len;
	uint64_t dev, ino;
	uint64_t page_len, pages_nr, frames_nr;
	uint64_t flags_off, frame_of_off, frames_off, free_off, data_off;
	uint64_t seg_len;
	uint32_t dead, pad;
	pthread_mutex_t lock;
	/* under lock */
	uint64_t file_len;
	uint64_t frames_used, free_nr, hand;
	uint64_t resident, dirty;
	uint64_t fills, evictions, writebacks, repairs;
	struct seg_slot slots[SEG_SLOTS];
};

struct up_seg {
	struct seg_hdr *h;
	size_t meta_len;
	int fd;
	uint8_t *flags;
	uint32_t *frame_of;
	struct seg_frame *frames;
	uint32_t *free;
	unsigned slot;
	uint64_t bit;
	uint32_t *pinned;
	size_t pinned_len;
	uint64_t pinned_nr;
	char name[96];			/* "" for an unnamed (anonymous) one */
};

static size_t pl(const struct up_pager *p)
{
	return p->cfg.page_len;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* The layout of a segment for a page size, capacity and budget. */
static void layout(struct seg_hdr *h, uint64_t page_len, uint64_t pages_nr,
		   uint64_t frames_nr)
{
	h->page_len = page_len;
	h->pages_nr = pages_nr;
	h->frames_nr = frames_nr;
	h->flags_off = align_up(sizeof(*h), SYS_PAGE);
	h->frame_of_off = align_up(h->flags_off + pages_nr, SYS_PAGE);
	h->frames_off = align_up(h->frame_of_off + pages_nr * 4, SYS_PAGE);
	h->free_off = align_up(h->frames_off +
				       frames_nr * sizeof(struct seg_frame),
			       SYS_PAGE);
	h->data_off = align_up(h->free_off + frames_nr * 4, UP_PAGE_MAX);
	h->seg_len = h->data_off + pages_nr * page_len;
}

/*
 * A pager holds a lock on byte k of the segment file, through its own open
 * file description, while it has slot k.  The kernel drops that lock when
 * the description is closed: when the process ends, however it died (a
 * zombie included), and at execve(), the descriptor being close-on-exec.
 * A process id could be reused, and outlives an execve().
 */
static int slot_lock(int fd, unsigned k, short type)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = k,
		.l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

static bool slot_alive(int fd, unsigned k, const struct seg_slot *sl)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = k,
		.l_len = 1,
	};

	if (!sl->pid)
		return false;
	/* (A lock this description holds does not conflict: fd must not
	 * be the slot holder's own.) */
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return true;	/* cannot tell: keep it */
	return fl.l_type != F_UNLCK;
}

/* Forget slot k (its process is gone): its writer bits go, its dirty
 * pages stay dirty. */
static void slot_reap(struct up_seg *s, unsigned k)
{
	struct seg_hdr *h = s->h;
	uint64_t i, bit = 1ull << k;

	for (i = 0; i < h->frames_nr; i++)
		s->frames[i].writers &= ~bit;
	h->slots[k].pid = 0;
	atomic_store(&h->slots[k].release, 0);
}

/* The slots other pagers hold, as bits. */
static uint64_t others_attached(const struct up_seg *s)
{
	uint64_t m = 0;
	unsigned k;

	for (k = 0; k < SEG_SLOTS; k++)
		if (k != s->slot && s->h->slots[k].pid)
			m |= 1ull << k;
	return m;
}

/* Ask the pagers of these slots to give up write access (and to write
 * back what nobody may write any more): see up__seg_service(). */
static void ask_release(struct up_seg *s, uint64_t slots)
{
	unsigned k;

	for (k = 0; k < SEG_SLOTS; k++)
		if (slots & (1ull << k))
			atomic_store(&s->h->slots[k].release, 1);
}

static void reap_dead(struct up_seg *s)
{
	unsigned k;

	for (k = 0; k < SEG_SLOTS; k++)
		if (k != s->slot && s->h->slots[k].pid &&
		    !slot_alive(s->fd, k, &s->h->slots[k]))
			slot_reap(s, k);
}

static void punch(struct up_seg *s, uint64_t pg)
{
	up__fallocate(s->fd, PUNCH, (off_t)(s->h->data_off + pg *
					    s->h->page_len),
		      (off_t)s->h->page_len);
}

/* A process died holding the mutex: make the state whole again. */
static void repair(struct up_seg *s)
{
	struct seg_hdr *h = s->h;
	uint64_t i;

	h->free_nr = h->frames_used = h->dirty = 0;
	for (i = 0; i < h->frames_nr; i++) {
		struct seg_frame *f = &s->frames[i];
		uint64_t pg = f->pgno;

		f->pin = 0;
		if (f->used && (pg >= h->pages_nr ||
				!(s->flags[pg] & PG_RESIDENT) ||
				s->frame_of[pg] != i + 1)) {
			/* A fill or an eviction cut short. */
			if (pg < h->pages_nr) {
				punch(s, pg);
				if (s->frame_of[pg] == i + 1)
					s->frame_of[pg] = 0;
				s->flags[pg] = 0;
			}
			f->used = 0;
		}
		if (!f->used) {
			f->writers = 0;
			s->free[h->free_nr++] = (uint32_t)i;
			continue;
		}
		h->frames_used++;
		h->dirty += (s->flags[pg] & PG_DIRTY) != 0;
	}
	h->resident = h->frames_used;
	h->repairs++;
	reap_dead(s);
}

static void seg_lock(struct up_seg *s)
{
	int e = pthread_mutex_lock(&s->h->lock);

	if (e == EOWNERDEAD) {
		repair(s);
		pthread_mutex_consistent(&s->h->lock);
	}
}

static void seg_unlock(struct up_seg *s)
{
	while (s->pinned_nr)
		s->frames[s->pinned[--s->pinned_nr]].pin = 0;
	pthread_mutex_unlock(&s->h->lock);
}

/* ---- attach and detach ---------------------------------------------- */

static int seg_map_meta(struct up_seg *s, uint64_t meta_len)
{
	void *m;
	int err = up__mmap(NULL, meta_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   s->fd, 0, &m);

	if (err)
		return err;
	s->h = m;
	s->meta_len = meta_len;
	return 0;
}

static void seg_bind(struct up_seg *s)
{
	char *b = (char *)s->h;

	s->flags = (uint8_t *)(b + s->h->flags_off);
	s->frame_of = (uint32_t *)(b + s->h->frame_of_off);
	s->frames = (struct seg_frame *)(b + s->h->frames_off);
	s->free = (uint32_t *)(b + s->h->free_off);
}

/* Initialise a new segment (nobody else can see it yet). */
static int seg_init(struct up_pager *p, struct up_seg *s,
		    const struct stat *st)
{
	uint64_t cap = align_up((uint64_t)st->st_size * 2, pl(p));
	struct seg_hdr lay = { 0 };
	pthread_mutexattr_t ma;
	uint64_t i;
	int err;

	if (cap < SEG_MIN_CAP)
		cap = SEG_MIN_CAP;
	layout(&lay, pl(p), cap / pl(p), p->frames_nr);
	err = up__ftruncate(s->fd, (off_t)lay.seg_len);
	if (!err)
		err = seg_map_meta(s, lay.data_off);
	if (err)
		return err;
	*s->h = lay;
	s->h->version = SEG_VERSION;
	s->h->hdr_len = sizeof(*s->h);
	s->h->dev = st->st_dev;
	s->h->ino = st->st_ino;
	s->h->file_len = (uint64_t)st->st_size;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	/* Priority inheritance puts the lock's owner in the kernel's hands:
	 * it passes a dead owner's lock to a waiter.  A plain robust mutex
	 * can leave a waiter asleep for good when the process that woke it
	 * dies before taking the lock. */
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&s->h->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	seg_bind(s);
	for (i = 0; i < lay.frames_nr; i++)
		s->free[i] = (uint32_t)(lay.frames_nr - 1 - i);
	s->h->free_nr = lay.frames_nr;
	s->h->magic = SEG_MAGIC;
	return 0;
}

/* Check a segment someone else made before trusting any of it. */
static int seg_check(struct up_pager *p, struct up_seg *s,
		     const struct stat *st)
{
	struct seg_hdr h, want = { 0 };
	struct stat ss;
	int err;

	err = up__fstat(s->fd, &ss);
	if (err)
		return err;
	if (ss.st_uid != geteuid() || (ss.st_mode & 0077)) {
		snprintf(p->note, sizeof(p->note),
			 "%s: shared cache segment owned by uid %u with mode "
			 "%03o: not ours, refused", s->name,
			 (unsigned)ss.st_uid, (unsigned)(ss.st_mode & 0777));
		return -EPERM;
	}
	if ((size_t)ss.st_size < sizeof(h) ||
	    pread(s->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		goto bad;
	if (h.magic != SEG_MAGIC || h.version != SEG_VERSION ||
	    h.hdr_len != sizeof(h) || h.dev != (uint64_t)st->st_dev ||
	    h.ino != (uint64_t)st->st_ino)
		goto bad;
	if (h.page_len != pl(p)) {
		snprintf(p->note, sizeof(p->note),
			 "%s: the file is cached by other processes with "
			 "%" PRIu64 "-byte pages; this pager uses %zu",
			 s->name, h.page_len, pl(p));
		return -EINVAL;
	}
	if (h.frames_nr == 0 || h.frames_nr > UINT32_MAX - 1 ||
	    h.pages_nr == 0 || h.pages_nr > (1ull << 40))
		goto bad;
	layout(&want, h.page_len, h.pages_nr, h.frames_nr);
	if (want.data_off != h.data_off || want.seg_len != h.seg_len ||
	    want.flags_off != h.flags_off || want.free_off != h.free_off ||
	    want.frames_off != h.frames_off ||
	    want.frame_of_off != h.frame_of_off ||
	    (uint64_t)ss.st_size != h.seg_len ||
	    h.free_nr > h.frames_nr)
		goto bad;
	return seg_map_meta(s, h.data_off);
bad:
	snprintf(p->note, sizeof(p->note),
		 "%s: not a valid upager cache segment for this file; "
		 "refused (remove it if no process uses it)", s->name);
	return -EBADMSG;
}

/* Take a slot; -EUSERS when all are held by live processes. */
static int slot_take(struct up_seg *s)
{
	struct seg_hdr *h = s->h;
	unsigned k;
	int err;

	reap_dead(s);
	for (k = 0; k < SEG_SLOTS; k++)
		if (!h->slots[k].pid)
			break;
	if (k == SEG_SLOTS)
		return -EUSERS;
	err = slot_lock(s->fd, k, F_WRLCK);
	if (err)
		return err;
	h->slots[k].pid = getpid();
	atomic_store(&h->slots[k].release, 0);
	s->slot = k;
	s->bit = 1ull << k;
	return 0;
}

static void seg_close(struct up_seg *s)
{
	if (s->h)
		up__munmap(s->h, s->meta_len);
	if (s->fd >= 0)
		up__close(s->fd);
	up__table_free(s->pinned, s->pinned_len);
	free(s);
}

/*
 * Remove the segments of earlier files that had this file's inode: their
 * names differ in the birth time only, and if no process is attached, no
 * process ever will be (their file is gone).  Only ours are looked at.
 */
static void remove_stale(const struct up_seg *s)
{
	const char *base = s->name + sizeof(SEG_DIR);
	size_t prefix = (size_t)(strrchr(base, '-') - base) + 1;
	struct dirent *e;
	DIR *d = opendir(SEG_DIR);

	while (d && (e = readdir(d))) {
		struct seg_hdr h;
		struct stat st;
		unsigned k;
		int fd;

		const char *dot = strchr(e->d_name, '.');

		if (strncmp(e->d_name, base, prefix) ||
		    !strcmp(e->d_name, base))
			continue;
		/* A name with a dot is one being made by the process whose
		 * id follows; if that process died, nobody will finish it. */
		if (dot) {
			long pid = strtol(dot + 1, NULL, 10);

			if (pid > 0 && kill((pid_t)pid, 0) < 0 &&
			    errno == ESRCH)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && st.st_uid == geteuid() &&
		    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    h.magic == SEG_MAGIC && h.version == SEG_VERSION) {
			for (k = 0; k < SEG_SLOTS; k++)
				if (slot_alive(fd, k, &h.slots[k]))
					break;
			if (k == SEG_SLOTS)
				unlinkat(dirfd(d), e->d_name, 0);
		}
		close(fd);
	}
	if (d)
		closedir(d);
}

/*
 * A new segment file, not yet under its name.  It has no name at all
 * (O_TMPFILE) where the file system allows, so that a process killed
 * while making it leaves nothing behind; elsewhere it is made under a
 * temporary name, put in tmp, which remove_stale() clears if its maker
 * died.  tmp is "" for a file without a name.
 */
static int seg_make(char *tmp, size_t tmp_len, const char *name, int tries)
{
	int fd = up__open(SEG_DIR, O_TMPFILE | O_RDWR, 0600);

	*tmp = '\0';
	if (fd >= 0 || (fd != -EOPNOTSUPP && fd != -EISDIR && fd != -EINVAL))
		return fd;
	snprintf(tmp, tmp_len, "%s.%d.%d", name, (int)getpid(), tries);
	return up__open(tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
}

/* Give the segment file made by seg_make() its name: -1 with errno
 * EEXIST if another process gave that name to its own first. */
static int seg_link(const char *tmp, int fd, const char *name)
{
	char path[64];

	if (*tmp)
		return link(tmp, name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, path, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* Open the named segment of st, or make it.  Retries while a dying one is
 * in the way. */
static int seg_open(struct up_pager *p, struct up_seg *s,
		    const struct stat *st)
{
	char tmp[128];
	int tries, err;

	for (tries = 0; tries < 100; tries++) {
		s->fd = up__open(s->name, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
		if (s->fd >= 0) {
			err = seg_check(p, s, st);
			if (err)
				return err;
			seg_bind(s);
			seg_lock(s);
			if (!s->h->dead)
				return 0;	/* locked */
			seg_unlock(s);
			up__munmap(s->h, s->meta_len);
			s->h = NULL;
			up__close(s->fd);
			s->fd = -1;
			continue;
		}
		if (s->fd != -ENOENT) {
			snprintf(p->note, sizeof(p->note),
				 "%s: cannot open the file's shared cache "
				 "segment: %s", s->name, strerror(-s->fd));
			return s->fd;
		}
		s->fd = seg_make(tmp, sizeof(tmp), s->name, tries);
		if (s->fd < 0)
			return s->fd;
		fchmod(s->fd, 0600);
		err = seg_init(p, s, st);
		if (!err && seg_link(tmp, s->fd, s->name) < 0)
			err = -errno;
		if (*tmp)
			unlink(tmp);
		if (!err) {
			remove_stale(s);
			seg_lock(s);
			return 0;
		}
		if (s->h)
			up__munmap(s->h, s->meta_len);
		s->h = NULL;
		up__close(s->fd);
		s->fd = -1;
		if (err != -EEXIST)
			return err;
	}
	return -EBUSY;
}

/*
 * When the file was made (nanoseconds), or 0 where the file system does
 * not say.  An inode number is reused as soon as its file is deleted; with
 * the birth time in its name, a segment left by processes that all died
 * is never taken for the cache of a new file.
 */
static uint64_t birth(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BTIME,
		  &sx) < 0 || !(sx.stx_mask & STATX_BTIME))
		return 0;
	return (uint64_t)sx.stx_btime.tv_sec * 1000000000u +
	       sx.stx_btime.tv_nsec;
}

static void adopt_orphan(struct up_pager *p, struct up_obj *o);

/*
 * The object of a sharing pager for file fd (MAP_SHARED), or for an
 * anonymous MAP_SHARED mapping when fd is an unnamed file made for it
 * (named = false: the segment is a memfd, shared only through fork).
 */
int up__seg_obj(struct up_pager *p, int fd, const struct stat *st, bool named,
		struct up_obj **out)
{
	int fl = fcntl(fd, F_GETFL);
	struct up_obj *o;
	struct up_seg *s;
	void *view;
	int err;

	for (o = p->objs; o; o = o->next) {
		if (!o->seg || o->dev != st->st_dev || o->ino != st->st_ino)
			continue;
		err = up__obj_fd_note(o, fd, (fl & O_ACCMODE) != O_RDONLY);
		if (err)
			return err;
		*out = o;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	o = calloc(1, sizeof(*o));
	if (!s || !o) {
		free(s);
		free(o);
		return -ENOMEM;
	}
	s->fd = -1;
	s->pinned_len = p->frames_nr * sizeof(*s->pinned);
	err = up__table((void **)&s->pinned, 0, s->pinned_len);
	if (err)
		goto fail;
	if (named) {
		snprintf(s->name, sizeof(s->name),
			 SEG_DIR "/upager-%" PRIx64 "-%" PRIx64 "-%" PRIx64,
			 (uint64_t)st->st_dev, (uint64_t)st->st_ino,
			 birth(fd));
		err = seg_open(p, s, st);
	} else {
		s->fd = up__memfd("upager-shared");
		err = s->fd < 0 ? s->fd : seg_init(p, s, st);
		if (!err)
			seg_lock(s);
	}
	if (err)
		goto fail;
	err = slot_take(s);
	if (!err && (uint64_t)st->st_size > s->h->file_len)
		s->h->file_len = (uint64_t)st->st_size;
	seg_unlock(s);
	if (!err)
		err = up__mmap(NULL, s->h->pages_nr * pl(p),
			       PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, s->fd,
			       (off_t)s->h->data_off, &view);
	if (err)
		goto fail_slot;
	o->kind = OBJ_FILE;
	o->seg = s;
	o->seg_ops = &seg_ops;
	o->ro_fd = -1;
	o->fd = up__dup(fd);
	if (o->fd < 0) {
		up__munmap(view, s->h->pages_nr * pl(p));
		err = o->fd;
		goto fail_slot;
	}
	o->store.ops = &up__file_store;
	o->store.ctx = &o->fd;
	o->fd_writable = (fl & O_ACCMODE) != O_RDONLY;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->file_len = (off_t)s->h->file_len;
	o->memfd = s->fd;
	o->view = view;
	o->view_len = s->h->pages_nr * pl(p);
	o->pflags = s->flags;
	o->pages_nr = s->h->pages_nr;
	o->swap_base = -1;
	o->next = p->objs;
	p->objs = o;
	seg_lock(s);
	adopt_orphan(p, o);
	seg_unlock(s);
	*out = o;
	return 0;
fail_slot:
	if (s->h && s->h->slots[s->slot].pid == getpid() && s->bit) {
		seg_lock(s);
		s->h->slots[s->slot].pid = 0;
		seg_unlock(s);
	}
fail:
	if (s->h && !s->name[0])
		s->h->dead = 1;
	seg_close(s);
	free(o);
	return err;
}

/* Offset in the segment file of object offset off. */
off_t up__seg_off(const struct up_obj *o, off_t off)
{
	return (off_t)o->seg->h->data_off + off;
}

/* ---- frames --------------------------------------------------------- */

static off_t valid_end(struct up_obj *o, bool refresh)
{
	struct stat st;

	if (refresh && up__fstat(o->fd, &st) == 0 &&
	    (uint64_t)st.st_size != o->seg->h->file_len)
		o->seg->h->file_len = (uint64_t)st.st_size;
	o->file_len = (off_t)o->seg->h->file_len;
	return o->file_len;
}

/*
 * A descriptor that can write the file.  A pager that mapped it read-only
 * may still have to write back pages that others dirtied (when they died,
 * or to evict them): it opens the file again for writing, which works if
 * its user may write the file.
 */
static bool store_writable(struct up_obj *o)
{
	int fd;

	if (o->fd_writable)
		return true;
	fd = up__reopen(o->fd, O_RDWR);
	if (fd < 0)
		return false;
	up__close(o->fd);
	o->fd = fd;
	o->fd_writable = true;
	return true;
}

/* Write back the dirty pages of run [a, b) (all resident).  This
 * process's mappings of them are write-protected first and its writer
 * bits cleared; a page stays dirty while another process may write it. */
static int write_run(struct up_pager *p, struct up_obj *o, uint64_t a,
		     uint64_t b, off_t file_end)
{
	struct up_seg *s = o->seg;
	off_t off = (off_t)(a * pl(p)), end = (off_t)(b * pl(p));
	ssize_t n = 0;
	uint64_t pg;

	up__obj_wprotect(p, o, off, end);
	for (pg = a; pg < b; pg++)
		s->frames[s->frame_of[pg] - 1].writers &= ~s->bit;
	if (end > file_end)
		end = file_end;
	if (end > off && !store_writable(o))
		return -EBADF;	/* not an I/O error: see seg_detach() */
	if (end > off)
		n = o->store.ops->write(o->store.ctx, o->view + off,
					(size_t)(end - off), off);
	if (n < 0) {
		o->err = up__store_err(n);
		return o->err;
	}
	for (pg = a; pg < b; pg++) {
		if (s->frames[s->frame_of[pg] - 1].writers)
			continue;
		s->flags[pg] &= (uint8_t)~PG_DIRTY;
		s->h->dirty--;
	}
	s->h->writebacks += b - a;
	UP_STAT(p, up__obj_region(o, off), writebacks, b - a);
	UP_STAT(p, up__obj_region(o, off), bytes_written, (uint64_t)n);
	return 0;
}

static int writeback(struct up_pager *p, struct up_obj *o, uint64_t a,
		     uint64_t b)
{
	off_t file_end = valid_end(o, true);
	uint64_t e;
	int err = 0, e2;

	if (b > o->pages_nr)
		b = o->pages_nr;
	for (; up__dirty_run(o, &a, b, &e); a = e) {
		e2 = write_run(p, o, a, e, file_end);
		if (e2 && !err)
			err = e2;
	}
	return err;
}

/* Free page pg's frame and memory (a clean page, or its changes go). */
static void page_drop(struct up_pager *p, struct up_obj *o, uint64_t pg)
{
	struct up_seg *s = o->seg;
	uint32_t idx;

	if (!(s->flags[pg] & PG_RESIDENT))
		return;
	idx = s->frame_of[pg] - 1;
	if (s->flags[pg] & PG_DIRTY)
		s->h->dirty--;
	/* Reverse order of a fill: see repair(). */
	s->flags[pg] = 0;
	s->frame_of[pg] = 0;
	punch(s, pg);
	s->frames[idx].used = 0;
	s->frames[idx].writers = 0;
	s->free[s->h->free_nr++] = idx;
	s->h->frames_used--;
	s->h->resident--;
	(void)p;
}

/*
 * A segment whose processes all died before detaching: write its dirty
 * pages back (their stores must reach the file), then drop every page,
 * since the file may have changed since (write(2) does not go through the
 * segment).  Called with the segment locked, this pager's slot taken.
 */
static void adopt_orphan(struct up_pager *p, struct up_obj *o)
{
	struct up_seg *s = o->seg;
	uint64_t i;

	if (others_attached(s) || !s->h->resident || writeback(p, o, 0, s->h->pages_nr))
		return;
	for (i = 0; i < s->h->frames_nr; i++)
		if (s->frames[i].used)
			page_drop(p, o, s->frames[i].pgno);
}

/* Give up write access to every page this pager may write. */
static void release_writes(struct up_pager *p, struct up_obj *o)
{
	struct up_seg *s = o->seg;
	uint64_t i;

	for (i = 0; i < s->h->frames_nr; i++) {
		struct seg_frame *f = &s->frames[i];

		if (f->used && (f->writers & s->bit)) {
			up__obj_wprotect(p, o, (off_t)(f->pgno * pl(p)),
					 (off_t)((f->pgno + 1) * pl(p)));
			f->writers &= ~s->bit;
		}
	}
	/* The asker may be unable to write the file: write back what
	 * nobody may write any more, so that it can be evicted. */
	for (i = 0; i < s->h->frames_nr; i++) {
		struct seg_frame *f = &s->frames[i];

		if (f->used && !f->writers && (s->flags[f->pgno] & PG_DIRTY))
			writeback(p, o, f->pgno, f->pgno + 1);
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * A free frame, evicting by clock if there is none.  A page another live
 * process may write is skipped; if only such pages are left, their
 * writers are asked to let go, and a demand fill waits for them (the
 * segment unlocked meanwhile, this pager's own requests served).
 */
static int frame_get(struct up_pager *p, struct up_obj *o, uint32_t *out,
		     bool demand)
{
	struct up_seg *s = o->seg;
	struct seg_hdr *h = s->h;
	uint64_t t0 = 0, scanned = 0, others;

	while (!h->free_nr) {
		struct seg_frame *f;
		uint32_t idx;

		if (scanned >= 2 * h->frames_nr) {
			if (!demand)
				return -EBUSY;
			if (!t0)
				t0 = up__now_ns();
			else if (up__now_ns() - t0 > RELEASE_WAIT_NS)
				return -EBUSY;
			reap_dead(s);
			seg_unlock(s);
			sleep_ms(1);
			seg_lock(s);
			if (atomic_exchange(&h->slots[s->slot].release, 0))
				release_writes(p, o);
			scanned = 0;
			continue;
		}
		scanned++;
		idx = (uint32_t)(h->hand++ % h->frames_nr);
		f = &s->frames[idx];
		if (!f->used || f->pin)
			continue;
		if (f->ref) {
			f->ref = 0;
			continue;
		}
		others = f->writers & ~s->bit;
		if (others) {
			ask_release(s, others);
			continue;
		}
		if ((s->flags[f->pgno] & PG_DIRTY) &&
		    writeback(p, o, f->pgno, f->pgno + 1)) {
			/* Others may write it back where this pager can't. */
			ask_release(s, others_attached(s));
			f->ref = 1;
			continue;
		}
		if (f->writers)	/* another process wrote it meanwhile */
			continue;
		page_drop(p, o, f->pgno);
		h->evictions++;
		UP_STAT(p, up__obj_region(o, (off_t)(f->pgno * pl(p))),
			evictions, 1);
	}
	*out = s->free[--h->free_nr];
	return 0;
}

/* Make page pg resident and pin it; bytes of content, or -errno. */
static int page_fill(struct up_pager *p, struct up_obj *o, uint64_t pg,
		     struct up_region *r, bool demand)
{
	struct up_seg *s = o->seg;
	off_t off = (off_t)(pg * pl(p)), end;
	struct seg_frame *f;
	uint32_t idx;
	ssize_t n;
	int err;

	if (pg >= s->h->pages_nr)
		return -EFBIG;
	if (!(s->flags[pg] & PG_RESIDENT)) {
		err = frame_get(p, o, &idx, demand);
		if (err)
			return err;
		/* Another process may have filled it while frame_get()
		 * waited with the segment unlocked. */
		if (s->flags[pg] & PG_RESIDENT) {
			s->free[s->h->free_nr++] = idx;
			goto have;
		}
		f = &s->frames[idx];
		f->pgno = pg;
		f->writers = 0;
		f->used = 1;
		s->frame_of[pg] = idx + 1;
		s->h->frames_used++;
		n = up__store_fill(&o->store, o->view + off, pl(p), off, s->fd,
				   up__seg_off(o, off));
		if (n <= 0) {
			s->frame_of[pg] = 0;
			punch(s, pg);
			f->used = 0;
			s->free[s->h->free_nr++] = idx;
			s->h->frames_used--;
			if (n < 0) {
				o->err = -EIO;
				return -EIO;
			}
			if (off < (off_t)s->h->file_len)
				s->h->file_len = (uint64_t)off;
			return 0;
		}
		if ((size_t)n < pl(p) ||
		    (uint64_t)(off + n) > s->h->file_len)
			s->h->file_len = (uint64_t)(off + n);
		s->flags[pg] = PG_RESIDENT;
		s->h->resident++;
		s->h->fills++;
		UP_STAT(p, r, bytes_read, (uint64_t)n);
		UP_STAT(p, r, fills, 1);
	}
have:
	f = &s->frames[s->frame_of[pg] - 1];
	f->ref = 1;
	if (!f->pin) {
		f->pin = 1;
		s->pinned[s->pinned_nr++] = s->frame_of[pg] - 1;
	}
	end = valid_end(o, false);
	if (end <= off)
		return 0;
	return end - off >= (off_t)pl(p) ? (int)pl(p) : (int)(end - off);
}

/* ---- operations ----------------------------------------------------- */

static int seg_fill(struct up_pager *p, struct up_obj *o, uint64_t pg,
		    struct up_region *r, bool demand)
{
	int n;

	seg_lock(o->seg);
	n = page_fill(p, o, pg, r, demand);
	seg_unlock(o->seg);
	return n;
}

/*
 * Serve a fault at object page pg of r: fill it, record a write (dirty,
 * this pager among its writers), and let the caller map it.  Returns the
 * bytes of content as page_fill(); *wp says whether to map it
 * write-protected.  The segment stays locked until up__seg_done(), so the
 * page cannot be evicted before it is mapped.
 */
int up__seg_begin(struct up_pager *p, struct up_region *r, uint64_t pg,
		  bool write, bool *wp)
{
	struct up_obj *o = r->obj;
	struct up_seg *s = o->seg;
	int n;

	seg_lock(s);
	n = page_fill(p, o, pg, r, true);
	if (n > 0 && write) {
		struct seg_frame *f = &s->frames[s->frame_of[pg] - 1];

		if (!(s->flags[pg] & PG_DIRTY)) {
			s->flags[pg] |= PG_DIRTY;
			s->h->dirty++;
		}
		f->writers |= s->bit;
	}
	if (n > 0)
		*wp = !(s->frames[s->frame_of[pg] - 1].writers & s->bit);
	return n;
}

/* Read ahead page pg while the segment is locked by up__seg_begin().  A
 * page another process read in is only pinned, to be mapped ahead too. */
int up__seg_ahead(struct up_pager *p, struct up_obj *o, uint64_t pg,
		  struct up_region *r)
{
	return page_fill(p, o, pg, r, false);
}

void up__seg_done(struct up_obj *o)
{
	seg_unlock(o->seg);
}

int up__seg_writeback(struct up_pager *p, struct up_obj *o, uint64_t a,
		      uint64_t b)
{
	int err;

	seg_lock(o->seg);
	err = writeback(p, o, a, b);
	seg_unlock(o->seg);
	/* Pages others dirtied, that this pager may not write: theirs to
	 * write back, or the last process's. */
	return err == -EBADF ? 0 : err;
}

/* Drop the clean pages among [a, b) that no process may write. */
void up__seg_drop_clean(struct up_pager *p, struct up_obj *o, uint64_t a,
			uint64_t b)
{
	struct up_seg *s = o->seg;

	seg_lock(s);
	for (; a < b && a < s->h->pages_nr; a++)
		if ((s->flags[a] & (PG_RESIDENT | PG_DIRTY)) == PG_RESIDENT &&
		    !s->frames[s->frame_of[a] - 1].writers)
			page_drop(p, o, a);
	seg_unlock(s);
}

/* Serve this pager's requests to give up write access. */
void up__seg_service(struct up_pager *p)
{
	struct up_obj *o;

	for (o = p->objs; o; o = o->next) {
		struct up_seg *s = o->seg;

		if (!s || !atomic_load(&s->h->slots[s->slot].release))
			continue;
		seg_lock(s);
		if (atomic_exchange(&s->h->slots[s->slot].release, 0))
			release_writes(p, o);
		seg_unlock(s);
	}
}

void up__seg_count(struct up_obj *o, uint64_t a, uint64_t b,
		   struct up_stats *st)
{
	struct up_seg *s = o->seg;

	for (; a < b && a < s->h->pages_nr; a++) {
		st->resident += (s->flags[a] & PG_RESIDENT) != 0;
		st->dirty += (s->flags[a] & PG_DIRTY) != 0;
	}
}

/*
 * The last mapping of o in this pager is gone: give up the slot.  The
 * last pager of all writes every dirty page back and removes the
 * segment.  Returns a write-back error.
 */
static int seg_detach(struct up_pager *p, struct up_obj *o)
{
	struct up_seg *s = o->seg;
	struct seg_hdr *h = s->h;
	int err = 0;

	seg_lock(s);
	reap_dead(s);
	if (!others_attached(s)) {
		err = writeback(p, o, 0, h->pages_nr);
		if (err == -EBADF) {
			/* Pages others dirtied that this pager may not write:
			 * the segment stays for the next process that maps
			 * the file (see adopt_orphan). */
			err = 0;
		} else if (!err) {
			/* Nobody left: the name goes, and the memory with
			 * the last descriptor and mapping. */
			h->dead = 1;
			if (s->name[0])
				unlink(s->name);
		}
	}
	/* The mappings are gone: so is this pager's write access. */
	slot_reap(s, s->slot);
	slot_lock(s->fd, s->slot, F_UNLCK);
	seg_unlock(s);
	if (o->view)
		up__munmap(o->view, o->view_len);
	o->view = NULL;
	o->memfd = -1;
	o->pflags = NULL;
	o->pages_nr = 0;
	o->seg = NULL;
	seg_close(s);
	return err;
}

/*
 * In a child after fork(): the segment descriptor's file offset is shared
 * with the parent (fills move it), so open a new one; take a slot of our
 * own.  The metadata and data mappings were inherited.
 */
int up__seg_child(struct up_pager *p, struct up_obj *o)
{
	struct up_seg *s = o->seg;
	int fd, err;

	(void)p;
	fd = up__reopen(s->fd, O_RDWR);
	if (fd < 0)
		return fd;
	up__close(s->fd);
	s->fd = o->memfd = fd;
	s->pinned_nr = 0;
	seg_lock(s);
	err = slot_take(s);
	seg_unlock(s);
	return err;
}

/* Pages resident and dirty in the segment (for up_pager_stats). */
void up__seg_totals(struct up_obj *o, uint64_t *resident, uint64_t *dirty)
{
	*resident += o->seg->h->resident;
	*dirty += o->seg->h->dirty;
}

static const struct up_seg_ops seg_ops = {
	.fill = seg_fill,
	.detach = seg_detach,
};
