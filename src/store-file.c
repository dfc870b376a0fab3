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

const struct up_store_ops up__file_store = {
	.read = file_read,
	.write = file_write,
	.size = file_size,
	.sync = file_sync,
};
