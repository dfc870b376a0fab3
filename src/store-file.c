/* SPDX-License-Identifier: MIT */
/*
 * store-file.c - a file as a store: what a mapping of it shows when the
 * pager reads a page, and where a page it wrote back goes.  The context is
 * a pointer to the descriptor, which the object may replace by a writable
 * one later (cache.c, up__obj_fd_note()).
 *
 * Mechanisms only a file has stay with their users: showing its page
 * cache in place (solo.c), copying it in the kernel (up__copy_in()),
 * dropping it from the page cache.
 */
#include "up-int.h"

#include <fcntl.h>
#include <string.h>

static int fd_of(void *ctx)
{
	return *(const int *)ctx;
}

static ssize_t file_read(void *ctx, void *buf, size_t len, off_t off)
{
	return up__pread(fd_of(ctx), buf, len, off);
}

static ssize_t file_write(void *ctx, const void *buf, size_t len, off_t off)
{
	return up__pwrite(fd_of(ctx), buf, len, off);
}

static off_t file_size(void *ctx)
{
	struct stat st;
	int err = up__fstat(fd_of(ctx), &st);

	return err ? err : st.st_size;
}

static int file_sync(void *ctx)
{
	return up__fdatasync(fd_of(ctx));
}

/*
 * The checks of a store opened on descriptor fd with flags O_RDONLY or
 * O_RDWR: 0, or -EINVAL (other flags), -EBADF, -EACCES (O_RDWR on a
 * descriptor that cannot write).
 */
int up__store_access(int fd, int flags)
{
	int acc = flags & O_ACCMODE, fl = fcntl(fd, F_GETFL);

	if (acc != O_RDONLY && acc != O_RDWR)
		return -EINVAL;
	if (fl < 0)
		return -EBADF;
	if (acc == O_RDWR && (fl & O_ACCMODE) != O_RDWR)
		return -EACCES;
	return 0;
}

/* The descriptor of store s if it is a file, else -1: the kernel can read
 * a mapping's pages itself to write them to a file (see cache.c). */
int up__store_fd(const struct up_store *s)
{
	return s->ops == &up__file_store ? fd_of(s->ctx) : -1;
}

/*
 * Read [off, off + len) of store s into buf, a page of the pager's own
 * memory: the bytes read (fewer at the end of the store) or -errno.  When
 * buf is the view of memfd at moff (memfd >= 0), a file is copied in the
 * kernel (sendfile), which allocates the memfd's pages in bulk, cheaper
 * than a fault per page on the view.  Short, the rest of the system page
 * that holds the end reads zero, or for a file what its page cache holds
 * there (up__eof_tail()).  buf may be NULL with a memfd when no end is
 * possible (the swap file).
 */
ssize_t up__store_fill(const struct up_store *s, char *buf, size_t len,
		       off_t off, int memfd, off_t moff)
{
	int fd = up__store_fd(s);
	ssize_t n;

	if (fd >= 0 && memfd >= 0)
		n = up__copy_in(fd, off, memfd, moff, len);
	else
		n = s->ops->read(s->ctx, buf, len, off);
	if (n < 0 || (size_t)n > len)
		return n < 0 && fd >= 0 ? n : -EIO;
	if ((size_t)n < len && buf) {
		memset(buf + n, 0, SYS_UP((size_t)n) - (size_t)n);
		if (n > 0 && fd >= 0)
			up__eof_tail(fd, off + n, buf + n);
	}
	return n;
}

/* Where the object's readable content ends: the file size, or no end. */
off_t up__obj_valid_end(struct up_pager *p, struct up_obj *o, bool refresh)
{
	off_t len;

	(void)p;
	if (!o->store.ops)
		return (off_t)INT64_MAX;
	if (refresh && (len = o->store.ops->size(o->store.ctx)) >= 0)
		o->file_len = len;
	return o->file_len;
}

const struct up_store_ops up__file_store = {
	.read = file_read,
	.write = file_write,
	.size = file_size,
	.sync = file_sync,
};
