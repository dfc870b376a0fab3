/* SPDX-License-Identifier: MIT */
/*
 * store-direct.c - a file as a store read and written with O_DIRECT, past
 * the kernel's page cache: a mapping of it holds the file's data in the
 * pager's frames alone, and the budget bounds all the memory its reads
 * take.
 *
 * A read of aligned memory at an aligned offset goes straight into the
 * pager's page; anything else through a bounce buffer.  The read-ahead
 * hint reads the window in slots of SLOT_LEN, all submitted at once
 * through io_uring (liburing) where it is built in, so that the device
 * sees them together; the reads that follow take their bytes from the
 * slots.  A write of aligned memory and length at an aligned offset goes
 * out direct too; one that is not goes through the page cache (a later
 * direct read writes it back first: the kernel keeps the two coherent).
 * A write drops the slots it overlaps.  A batch of writes goes out
 * through io_uring too, all submitted at once.
 */
#include "up-int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef UP_HAVE_URING
#include <liburing.h>
#endif

#define SLOT_LEN (64u << 10)
#define SLOTS_NR 64		/* 4 MiB of read-ahead in flight at most */
#define DIO_ALIGN 4096u		/* covers every device's logical block */

enum { S_FREE, S_BUSY, S_DONE };

struct slot {
	char *buf;
	off_t off;
	ssize_t got;		/* S_DONE: bytes read, or -errno */
	int state;
	uint64_t age;		/* when last filled (replacement) */
};

struct dstore {
	pthread_mutex_t lock;
	int fd;			/* O_DIRECT */
	int bfd;		/* the same file through the page cache */
	bool writable;
	char *bounce;		/* DIO_ALIGN-aligned, bounce_len */
	size_t bounce_len;
	struct slot slots[SLOTS_NR];
	uint64_t age;
	bool ring_ok;
#ifdef UP_HAVE_URING
	struct io_uring ring;
#endif
};

static bool aligned(uint64_t v)
{
	return (v & (DIO_ALIGN - 1)) == 0;
}

/* Wait for slot i's read to complete (others that complete meanwhile are
 * recorded too).  Caller holds d->lock. */
static void slot_wait(struct dstore *d, unsigned i)
{
#ifdef UP_HAVE_URING
	while (d->slots[i].state == S_BUSY) {
		struct io_uring_cqe *cqe;
		struct slot *s;

		if (io_uring_wait_cqe(&d->ring, &cqe)) {
			d->slots[i].got = -EIO;
			d->slots[i].state = S_DONE;
			return;
		}
		s = io_uring_cqe_get_data(cqe);
		s->got = cqe->res;
		s->state = S_DONE;
		io_uring_cqe_seen(&d->ring, cqe);
	}
#else
	(void)d, (void)i;
#endif
}

/* Drop the slots that overlap [off, off + len) (all with len 0). */
static void slots_drop(struct dstore *d, off_t off, size_t len)
{
	unsigned i;

	for (i = 0; i < SLOTS_NR; i++) {
		struct slot *s = &d->slots[i];

		if (s->state == S_FREE ||
		    (len && (s->off >= off + (off_t)len ||
			     s->off + (off_t)SLOT_LEN <= off)))
			continue;
		slot_wait(d, i);
		s->state = S_FREE;
	}
}

static void d_readahead(void *ctx, off_t off, size_t len)
{
#ifdef UP_HAVE_URING
	struct dstore *d = ctx;
	off_t a = off & ~(off_t)(SLOT_LEN - 1), end = off + (off_t)len;
	unsigned i, queued = 0;

	pthread_mutex_lock(&d->lock);
	for (; d->ring_ok && a < end; a += SLOT_LEN) {
		struct io_uring_sqe *sqe;
		unsigned pick = SLOTS_NR;

		for (i = 0; i < SLOTS_NR; i++) {
			if (d->slots[i].state != S_FREE &&
			    d->slots[i].off == a)
				break;	/* in a slot already */
			if (d->slots[i].state == S_BUSY)
				continue;
			if (pick == SLOTS_NR || d->slots[i].state == S_FREE ||
			    (d->slots[pick].state == S_DONE &&
			     d->slots[i].age < d->slots[pick].age))
				pick = i;
		}
		if (i < SLOTS_NR)
			continue;
		if (pick == SLOTS_NR || !(sqe = io_uring_get_sqe(&d->ring)))
			break;	/* all in flight: the rest is read on demand */
		d->slots[pick].state = S_BUSY;
		d->slots[pick].off = a;
		d->slots[pick].age = ++d->age;
		io_uring_prep_read(sqe, d->fd, d->slots[pick].buf, SLOT_LEN,
				   (uint64_t)a);
		io_uring_sqe_set_data(sqe, &d->slots[pick]);
		queued++;
	}
	if (queued)
		io_uring_submit(&d->ring);
	pthread_mutex_unlock(&d->lock);
#else
	(void)ctx, (void)off, (void)len;
#endif
}

/* Copy what the slots hold of [off, off + len) into buf from the front:
 * the bytes taken (short at the end of the file: *eof). */
static size_t from_slots(struct dstore *d, char *buf, size_t len, off_t off,
			 bool *eof)
{
	size_t done = 0;
	unsigned i;

	while (done < len && !*eof) {
		off_t at = off + (off_t)done, a = at & ~(off_t)(SLOT_LEN - 1);
		struct slot *s = NULL;
		size_t n;

		for (i = 0; i < SLOTS_NR; i++)
			if (d->slots[i].state != S_FREE && d->slots[i].off == a)
				s = &d->slots[i];
		if (!s)
			break;
		slot_wait(d, (unsigned)(s - d->slots));
		if (s->got < 0) {
			s->state = S_FREE;	/* read it again on demand */
			break;
		}
		if (s->got <= at - a) {
			*eof = true;
			break;
		}
		n = (size_t)(s->got - (at - a));
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, s->buf + (at - a), n);
		done += n;
		if (s->got < (ssize_t)SLOT_LEN && done < len)
			*eof = true;
	}
	return done;
}

/* [off, off + len) into buf, direct: straight where all is aligned, else
 * through the bounce buffer. */
static ssize_t read_direct(struct dstore *d, char *buf, size_t len, off_t off)
{
	size_t done = 0;

	if (aligned((uintptr_t)buf) && aligned((uint64_t)off) && aligned(len))
		return up__pread(d->fd, buf, len, off);
	while (done < len) {
		off_t at = off + (off_t)done, a = at & ~(off_t)(DIO_ALIGN - 1);
		size_t want = len - done + (size_t)(at - a), n;
		ssize_t got;

		if (want > d->bounce_len)
			want = d->bounce_len;
		want = (want + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
		got = up__pread(d->fd, d->bounce, want, a);
		if (got < 0)
			return got;
		if (got <= at - a)
			break;
		n = (size_t)(got - (at - a));
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, d->bounce + (at - a), n);
		done += n;
		if ((size_t)got < want)
			break;
	}
	return (ssize_t)done;
}

static ssize_t d_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct dstore *d = ctx;
	bool eof = false;
	size_t done;
	ssize_t n = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	done = from_slots(d, buf, len, off, &eof);
	/* A read-ahead that came back short is not trusted as the end of
	 * the file: the rest is read from the file itself (which says 0 at
	 * its end). */
	if (done < len)
		n = read_direct(d, (char *)buf + done, len - done,
				off + (off_t)done);
	pthread_mutex_unlock(&d->lock);
	return n < 0 ? n : (ssize_t)done + n;
}

static ssize_t d_write(void *ctx, const void *buf, size_t len, off_t off)
{
	struct dstore *d = ctx;
	ssize_t n;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	slots_drop(d, off, len);
	if (aligned((uintptr_t)buf) && aligned((uint64_t)off) && aligned(len))
		n = up__pwrite(d->fd, buf, len, off);
	else
		n = up__pwrite(d->bfd, buf, len, off);
	pthread_mutex_unlock(&d->lock);
	return n;
}

/*
 * Ranges written at once: the aligned ones direct, all submitted together
 * through io_uring (after the reads in flight are done, so that every
 * completion on the ring is a write's); the rest one by one through the
 * page cache, as d_write() would.
 */
static int d_write_batch(void *ctx, const struct up_store_io *io,
			 unsigned nr)
{
	struct dstore *d = ctx;
	unsigned i, queued = 0;
	int err = 0;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < nr; i++)
		slots_drop(d, io[i].off, io[i].len);
	for (i = 0; i < SLOTS_NR; i++)
		slot_wait(d, i);	/* the ring is the writes' alone */
	for (i = 0; i < nr && !err; i++) {
		const struct up_store_io *w = &io[i];
		bool direct = aligned((uintptr_t)w->buf) &&
			      aligned((uint64_t)w->off) && aligned(w->len);
		ssize_t n;

#ifdef UP_HAVE_URING
		struct io_uring_sqe *sqe;

		if (direct && d->ring_ok && queued < SLOTS_NR &&
		    (sqe = io_uring_get_sqe(&d->ring))) {
			io_uring_prep_write(sqe, d->fd, w->buf,
					    (unsigned)w->len,
					    (uint64_t)w->off);
			io_uring_sqe_set_data64(sqe, w->len);
			queued++;
			continue;
		}
#endif
		n = up__pwrite(direct ? d->fd : d->bfd, w->buf, w->len,
			       w->off);
		if (n >= 0 && (size_t)n != w->len)
			n = -EIO;
		if (n < 0)
			err = (int)n;
	}
#ifdef UP_HAVE_URING
	if (queued && io_uring_submit(&d->ring) < 0 && !err)
		err = -EIO;
	while (queued--) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&d->ring, &cqe)) {
			err = err ? err : -EIO;
			break;
		}
		if (cqe->res < 0 && !err)
			err = cqe->res;
		else if ((uint64_t)cqe->res != cqe->user_data && !err)
			err = -EIO;	/* short */
		io_uring_cqe_seen(&d->ring, cqe);
	}
#endif
	pthread_mutex_unlock(&d->lock);
	return err;
}

static int d_resize(void *ctx, off_t len)
{
	struct dstore *d = ctx;
	int err;

	pthread_mutex_lock(&d->lock);
	slots_drop(d, 0, 0);
	err = up__ftruncate(d->fd, len);
	pthread_mutex_unlock(&d->lock);
	return err;
}

static off_t d_size(void *ctx)
{
	struct stat st;
	int err = up__fstat(((struct dstore *)ctx)->fd, &st);

	return err ? err : st.st_size;
}

static int d_sync(void *ctx)
{
	return up__fdatasync(((struct dstore *)ctx)->fd);
}

static void d_free(struct dstore *d)
{
	unsigned i;

	pthread_mutex_lock(&d->lock);
	slots_drop(d, 0, 0);	/* nothing in flight into freed memory */
	pthread_mutex_unlock(&d->lock);
#ifdef UP_HAVE_URING
	if (d->ring_ok)
		io_uring_queue_exit(&d->ring);
#endif
	for (i = 0; i < SLOTS_NR; i++)
		free(d->slots[i].buf);
	free(d->bounce);
	if (d->fd >= 0)
		up__close(d->fd);
	if (d->bfd >= 0)
		up__close(d->bfd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void d_close(void *ctx)
{
	d_free(ctx);
}

static const struct up_store_ops dstore_rw = {
	.read = d_read,
	.write = d_write,
	.size = d_size,
	.sync = d_sync,
	.close = d_close,
	.readahead = d_readahead,
	.write_batch = d_write_batch,
	.resize = d_resize,
};

static const struct up_store_ops dstore_ro = {
	.read = d_read,
	.size = d_size,
	.close = d_close,
	.readahead = d_readahead,
};

UP_EXPORT int up_dstore_open(int fd, int flags, const struct up_store_ops **ops,
			     void **ctx)
{
	int acc = flags & O_ACCMODE;
	struct dstore *d;
	struct stat st;
	unsigned i;
	int err;

	if (!ops || !ctx)
		return -EINVAL;
	err = up__store_access(fd, flags);
	if (!err)
		err = up__fstat(fd, &st);
	if (err)
		return err;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->writable = acc == O_RDWR;
	d->bfd = up__reopen(fd, acc);
	d->fd = up__reopen(fd, acc | O_DIRECT);
	d->bounce_len = 1u << 20;
	err = d->bfd < 0 ? d->bfd : d->fd;
	if (err >= 0)
		err = posix_memalign((void **)&d->bounce, DIO_ALIGN,
				     d->bounce_len) ? -ENOMEM : 0;
	for (i = 0; err >= 0 && i < SLOTS_NR; i++)
		if (posix_memalign((void **)&d->slots[i].buf, DIO_ALIGN,
				   SLOT_LEN))
			err = -ENOMEM;
#ifdef UP_HAVE_URING
	/* Without a ring (io_uring disabled here) reads are made on demand. */
	if (err >= 0)
		d->ring_ok = io_uring_queue_init(SLOTS_NR, &d->ring, 0) == 0;
#endif
	if (err < 0) {
		d_free(d);
		/* A file system that cannot do it. */
		return err == -EINVAL ? -EOPNOTSUPP : err;
	}
	*ops = d->writable ? &dstore_rw : &dstore_ro;
	*ctx = d;
	return 0;
}
