/* SPDX-License-Identifier: MIT */
/*
 * store-zstd.c - a compressed file as a store: the data cut into chunks of
 * a fixed length, each compressed on its own with zstd, found through an
 * index.
 *
 * Layout (little-endian, as the machine writes it):
 *   [0, 64)        header: magic, data length, chunk length, where the
 *                  index is, how many chunks, a checksum of the header
 *   [4096, ...)    chunks and indexes, appended in the order written
 * An index is one entry per chunk (offset, compressed size, kind) and a
 * checksum of the entries.  A chunk is zero (never written: no bytes),
 * zstd, or raw (it did not compress).
 *
 * Writes never overwrite anything the header leads to: a changed chunk is
 * appended, and a sync appends the index, makes it durable, then points
 * the header at it.  A crash keeps the file as of the last sync; space
 * that later writes made dead stays in the file (`upager cp` of it writes
 * a compact copy).
 *
 * One chunk is held decompressed: reads of its neighbours and writes into
 * it (a pager writes a chunk back page by page) cost no compression; it is
 * compressed and appended when another chunk is wanted, and at sync.
 */
#include "up-int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef UP_HAVE_ZSTD
#include <zstd.h>

#define Z_MAGIC "UPZSTD\0\1"
#define Z_DATA 4096		/* where chunks start */
#define Z_LEVEL 3
#define Z_CHUNK_MIN (4u << 10)
#define Z_CHUNK_MAX (16u << 20)

enum { K_ZERO, K_ZSTD, K_RAW };

struct z_head {
	char magic[8];
	uint64_t len;
	uint32_t chunk_len;
	uint32_t flags;
	uint64_t index_off;
	uint64_t chunks;
	uint64_t check;
	char pad[16];
};

struct z_ent {
	uint64_t off;
	uint32_t csize;
	uint32_t kind;
};

struct zstore {
	pthread_mutex_t lock;
	int fd;
	bool writable;
	struct z_head h;
	struct z_ent *ents;
	off_t end;		/* where the next chunk goes */
	bool index_dirty;
	char *chunk;		/* chunk `held`, decompressed */
	uint64_t held;		/* UINT64_MAX: none */
	bool held_dirty;
	char *cbuf;		/* a compressed chunk */
	size_t cbuf_len;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

/* FNV-1a, 64 bits. */
static uint64_t fnv(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--)
		h = (h ^ *s++) * 0x100000001b3ull;
	return h;
}

static uint64_t head_check(const struct z_head *h)
{
	return fnv(h, offsetof(struct z_head, check));
}

static size_t chunk_size(const struct zstore *z, uint64_t c)
{
	uint64_t a = c * z->h.chunk_len;

	return z->h.len - a < z->h.chunk_len ? (size_t)(z->h.len - a)
					     : z->h.chunk_len;
}

/* Compress the held chunk and append it. */
static int flush(struct zstore *z)
{
	size_t len, n;
	struct z_ent e = { 0, 0, K_ZERO };
	ssize_t w;

	if (!z->held_dirty)
		return 0;
	len = chunk_size(z, z->held);
	for (n = 0; n < len && !z->chunk[n]; n++)
		;
	if (n < len) {
		n = ZSTD_compressCCtx(z->cctx, z->cbuf, z->cbuf_len, z->chunk,
				      len, Z_LEVEL);
		if (ZSTD_isError(n) || n >= len) {
			e.kind = K_RAW;
			n = len;
		} else {
			e.kind = K_ZSTD;
		}
		w = up__pwrite(z->fd, e.kind == K_RAW ? z->chunk : z->cbuf, n,
			       z->end);
		if (w < 0)
			return (int)w;
		e.off = (uint64_t)z->end;
		e.csize = (uint32_t)n;
		z->end += (off_t)n;
	}
	z->ents[z->held] = e;
	z->index_dirty = true;
	z->held_dirty = false;
	return 0;
}

/* Make chunk c the held one; whole: the caller overwrites all of it. */
static int hold(struct zstore *z, uint64_t c, bool whole)
{
	const struct z_ent *e = &z->ents[c];
	size_t len = chunk_size(z, c), n;
	ssize_t r;
	int err;

	if (z->held == c)
		return 0;
	err = flush(z);
	if (err)
		return err;
	z->held = UINT64_MAX;
	if (whole || e->kind == K_ZERO) {
		memset(z->chunk, 0, len);
	} else if (e->kind == K_RAW) {
		r = up__pread(z->fd, z->chunk, len, (off_t)e->off);
		if (r != (ssize_t)len)
			return -EIO;
	} else {
		if (e->csize > z->cbuf_len)
			return -EIO;
		r = up__pread(z->fd, z->cbuf, e->csize, (off_t)e->off);
		if (r != (ssize_t)e->csize)
			return -EIO;
		n = ZSTD_decompressDCtx(z->dctx, z->chunk, len, z->cbuf,
					e->csize);
		if (ZSTD_isError(n) || n != len)
			return -EIO;
	}
	z->held = c;
	return 0;
}

/* Copy len bytes at off out of the data into buf, or (write) from buf
 * into it, a chunk at a time. */
static int z_copy(struct zstore *z, char *buf, size_t len, uint64_t off,
		  bool write)
{
	size_t done = 0;
	int err = 0;

	while (done < len && !err) {
		uint64_t at = off + done, c = at / z->h.chunk_len;
		size_t in = at % z->h.chunk_len;
		size_t n = chunk_size(z, c) - in;

		if (n > len - done)
			n = len - done;
		err = hold(z, c, write && !in && n == chunk_size(z, c));
		if (!err && write) {
			memcpy(z->chunk + in, buf + done, n);
			z->held_dirty = true;
		} else if (!err) {
			memcpy(buf + done, z->chunk + in, n);
		}
		done += n;
	}
	return err;
}

static ssize_t z_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct zstore *z = ctx;
	int err;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&z->lock);
	if ((uint64_t)off >= z->h.len)
		len = 0;
	else if (len > z->h.len - (uint64_t)off)
		len = (size_t)(z->h.len - (uint64_t)off);
	err = z_copy(z, buf, len, (uint64_t)off, false);
	pthread_mutex_unlock(&z->lock);
	return err ? err : (ssize_t)len;
}

static ssize_t z_write(void *ctx, const void *buf, size_t len, off_t off)
{
	struct zstore *z = ctx;
	int err;

	if (off < 0 || (uint64_t)off > z->h.len ||
	    len > z->h.len - (uint64_t)off)
		return -EINVAL;
	pthread_mutex_lock(&z->lock);
	err = z_copy(z, (char *)buf, len, (uint64_t)off, true);
	pthread_mutex_unlock(&z->lock);
	return err ? err : (ssize_t)len;
}

static off_t z_size(void *ctx)
{
	return (off_t)((struct zstore *)ctx)->h.len;
}

/*
 * A new length, durable at the next sync: chunks past it go from the
 * index; the chunk that holds the end (old or new) is written again at
 * its new size, with zeros past the end.
 */
static int z_resize(void *ctx, off_t len)
{
	struct zstore *z = ctx;
	uint64_t cl = z->h.chunk_len, nr = ((uint64_t)len + cl - 1) / cl, c;
	uint64_t edge = (uint64_t)(len < (off_t)z->h.len ? len : (off_t)z->h.len);
	struct z_ent *ents;
	int err = 0;

	if (len < 0)
		return -EINVAL;
	pthread_mutex_lock(&z->lock);
	c = edge / cl;
	/* The chunk at the smaller end, held at its old size. */
	if (edge % cl && c < z->h.chunks)
		err = hold(z, c, false);
	if (!err && z->held != UINT64_MAX && z->held >= nr)
		z->held = UINT64_MAX;	/* past the new end: gone */
	ents = err ? NULL : realloc(z->ents, (nr ? nr : 1) * sizeof(*ents));
	if (!err && !ents)
		err = -ENOMEM;
	if (!err) {
		z->ents = ents;
		for (c = z->h.chunks; c < nr; c++)
			z->ents[c] = (struct z_ent){ 0, 0, K_ZERO };
		z->h.chunks = nr;
		z->h.len = (uint64_t)len;
		if (edge % cl && edge / cl < nr) {
			/* Zero from the smaller end to the chunk's end. */
			memset(z->chunk + edge % cl, 0, cl - edge % cl);
			z->held_dirty = true;
		}
		z->index_dirty = true;
	}
	pthread_mutex_unlock(&z->lock);
	return err;
}

/* The held chunk, then the index, durable before the header points at
 * it. */
static int sync_locked(struct zstore *z)
{
	size_t ilen = z->h.chunks * sizeof(struct z_ent);
	uint64_t check;
	ssize_t w;
	int err = flush(z);

	if (err || !z->index_dirty)
		return err;
	w = up__pwrite(z->fd, z->ents, ilen, z->end);
	check = fnv(z->ents, ilen);
	if (w >= 0)
		w = up__pwrite(z->fd, &check, sizeof(check),
			       z->end + (off_t)ilen);
	if (w < 0)
		return (int)w;
	err = up__fdatasync(z->fd);
	if (err)
		return err;
	z->h.index_off = (uint64_t)z->end;
	z->end += (off_t)(ilen + sizeof(check));
	z->h.check = head_check(&z->h);
	w = up__pwrite(z->fd, &z->h, sizeof(z->h), 0);
	if (w < 0)
		return (int)w;
	err = up__fdatasync(z->fd);
	if (!err)
		z->index_dirty = false;
	return err;
}

static int z_sync(void *ctx)
{
	struct zstore *z = ctx;
	int err;

	pthread_mutex_lock(&z->lock);
	err = sync_locked(z);
	pthread_mutex_unlock(&z->lock);
	return err;
}

static void z_free(struct zstore *z)
{
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z->ents);
	free(z->chunk);
	free(z->cbuf);
	if (z->fd >= 0)
		up__close(z->fd);
	pthread_mutex_destroy(&z->lock);
	free(z);
}

static void z_close(void *ctx)
{
	struct zstore *z = ctx;

	if (z->writable)
		sync_locked(z);	/* (the last up_pager_sync() reported) */
	z_free(z);
}

static const struct up_store_ops zstore_rw = {
	.read = z_read,
	.write = z_write,
	.size = z_size,
	.sync = z_sync,
	.close = z_close,
	.resize = z_resize,
};

static const struct up_store_ops zstore_ro = {
	.read = z_read,
	.size = z_size,
	.close = z_close,
};

/* A store for fd (duplicated) with header h, its index not yet read. */
static int z_new(int fd, bool writable, const struct z_head *h,
		 struct zstore **out)
{
	struct zstore *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	pthread_mutex_init(&z->lock, NULL);
	z->fd = up__dup(fd);
	z->writable = writable;
	z->h = *h;
	z->held = UINT64_MAX;
	z->cbuf_len = ZSTD_compressBound(h->chunk_len);
	z->ents = calloc(h->chunks ? h->chunks : 1, sizeof(*z->ents));
	z->chunk = malloc(h->chunk_len);
	z->cbuf = malloc(z->cbuf_len);
	z->cctx = ZSTD_createCCtx();
	z->dctx = ZSTD_createDCtx();
	if (z->fd < 0 || !z->ents || !z->chunk || !z->cbuf || !z->cctx ||
	    !z->dctx) {
		int err = z->fd < 0 ? z->fd : -ENOMEM;

		z_free(z);
		return err;
	}
	*out = z;
	return 0;
}

UP_EXPORT int up_zstore_create(int fd, off_t len, size_t chunk_len,
			       const struct up_store_ops **ops, void **ctx)
{
	struct z_head h = { .magic = Z_MAGIC };
	struct zstore *z;
	int err;

	if (!ops || !ctx || len < 0 ||
	    (chunk_len & (chunk_len - 1)) || chunk_len > Z_CHUNK_MAX ||
	    (chunk_len && chunk_len < Z_CHUNK_MIN))
		return -EINVAL;
	h.len = (uint64_t)len;
	h.chunk_len = chunk_len ? (uint32_t)chunk_len : UP_ZSTORE_CHUNK;
	h.chunks = (h.len + h.chunk_len - 1) / h.chunk_len;
	h.check = head_check(&h);
	err = z_new(fd, true, &h, &z);
	if (err)
		return err;
	err = up__ftruncate(z->fd, 0);
	if (!err && up__pwrite(z->fd, &z->h, sizeof(z->h), 0) < 0)
		err = -EIO;
	if (!err)
		err = up__ftruncate(z->fd, Z_DATA);
	if (err) {
		z_free(z);
		return err;
	}
	z->end = Z_DATA;
	*ops = &zstore_rw;
	*ctx = z;
	return 0;
}

UP_EXPORT int up_zstore_open(int fd, int flags, const struct up_store_ops **ops,
			     void **ctx)
{
	int acc = flags & O_ACCMODE;
	size_t ilen;
	uint64_t check;
	struct z_head h;
	struct zstore *z;
	struct stat st;
	int err;

	if (!ops || !ctx)
		return -EINVAL;
	err = up__store_access(fd, flags);
	if (err)
		return err;
	if (up__pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, Z_MAGIC, sizeof(h.magic)))
		return -EMEDIUMTYPE;
	if (h.check != head_check(&h) || h.chunk_len < Z_CHUNK_MIN ||
	    h.chunk_len > Z_CHUNK_MAX || (h.chunk_len & (h.chunk_len - 1)) ||
	    h.chunks != (h.len + h.chunk_len - 1) / h.chunk_len)
		return -EBADMSG;
	err = up__fstat(fd, &st);
	if (err)
		return err;
	err = z_new(fd, acc == O_RDWR, &h, &z);
	if (err)
		return err;
	ilen = h.chunks * sizeof(struct z_ent);
	if (h.index_off &&
	    (up__pread(fd, z->ents, ilen, (off_t)h.index_off) !=
		     (ssize_t)ilen ||
	     up__pread(fd, &check, sizeof(check),
		       (off_t)(h.index_off + ilen)) != (ssize_t)sizeof(check) ||
	     check != fnv(z->ents, ilen))) {
		z_free(z);
		return -EBADMSG;
	}
	z->end = st.st_size > Z_DATA ? st.st_size : Z_DATA;
	*ops = acc == O_RDWR ? &zstore_rw : &zstore_ro;
	*ctx = z;
	return 0;
}

UP_EXPORT int up_zstore_stat(void *ctx, struct up_zstore_stat *st)
{
	struct zstore *z = ctx;
	uint64_t c;

	if (!z || !st)
		return -EINVAL;
	pthread_mutex_lock(&z->lock);
	memset(st, 0, sizeof(*st));
	st->len = z->h.len;
	st->chunk_len = z->h.chunk_len;
	st->file_len = (uint64_t)z->end;
	for (c = 0; c < z->h.chunks; c++)
		st->stored += c == z->held && z->held_dirty
				      ? chunk_size(z, c)
				      : z->ents[c].csize;
	pthread_mutex_unlock(&z->lock);
	return 0;
}

#else /* !UP_HAVE_ZSTD */

UP_EXPORT int up_zstore_create(int fd, off_t len, size_t chunk_len,
			       const struct up_store_ops **ops, void **ctx)
{
	(void)fd, (void)len, (void)chunk_len, (void)ops, (void)ctx;
	return -EOPNOTSUPP;
}

UP_EXPORT int up_zstore_open(int fd, int flags, const struct up_store_ops **ops,
			     void **ctx)
{
	(void)fd, (void)flags, (void)ops, (void)ctx;
	return -EOPNOTSUPP;
}

UP_EXPORT int up_zstore_stat(void *ctx, struct up_zstore_stat *st)
{
	(void)ctx, (void)st;
	return -EOPNOTSUPP;
}

#endif
