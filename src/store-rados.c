/* SPDX-License-Identifier: MIT */
/*
 * store-rados.c - an object set in a Ceph RADOS pool as a store (librados):
 * the data striped over objects of object_len bytes, NAME.0000000000000000,
 * NAME.0000000000000001..., and its length in the object NAME itself (an
 * 8-byte little-endian length and the 4-byte object length).  An object
 * that is missing, or shorter than its stripe, reads as zeros, so a new
 * store takes no space until it is written.
 *
 * The read-ahead hint reads the window's objects in parallel
 * (rados_aio_read), into buffers of the store's own that the reads after
 * take their bytes from; a write drops what it overlaps.  A batch of
 * writes (the pager's write-back of scattered pages) is in flight at once
 * too.  Writes are acknowledged by the OSDs before their operation
 * completes, so a sync has nothing more to wait for.  A full pool refuses
 * a write at once (-ENOSPC, -EDQUOT), as a full disk does.  A client's
 * operations time out after rados_osd_op_timeout (set to 30 s unless the
 * configuration says otherwise): a lost OSD is then an error (SIGBUS on a
 * fault, -EIO from msync), not a hang.
 */
#include "up-int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef UP_HAVE_RADOS
#include <dlfcn.h>
#include <rados/librados.h>

/*
 * librados is loaded when the first store is opened, not linked: it
 * brings a C++ runtime and a dozen libraries into every program that links
 * upager, and makes each fork(2) and exec(2) of theirs slower.
 */
static struct {
	__typeof__(rados_aio_create_completion) *aio_create_completion;
	__typeof__(rados_aio_flush) *aio_flush;
	__typeof__(rados_aio_get_return_value) *aio_get_return_value;
	__typeof__(rados_aio_read) *aio_read;
	__typeof__(rados_aio_release) *aio_release;
	__typeof__(rados_aio_wait_for_complete) *aio_wait_for_complete;
	__typeof__(rados_aio_write_op_operate) *aio_write_op_operate;
	__typeof__(rados_conf_get) *conf_get;
	__typeof__(rados_conf_read_file) *conf_read_file;
	__typeof__(rados_conf_set) *conf_set;
	__typeof__(rados_connect) *connect;
	__typeof__(rados_create) *create;
	__typeof__(rados_create_write_op) *create_write_op;
	__typeof__(rados_ioctx_create) *ioctx_create;
	__typeof__(rados_ioctx_destroy) *ioctx_destroy;
	__typeof__(rados_read) *read;
	__typeof__(rados_release_write_op) *release_write_op;
	__typeof__(rados_remove) *remove;
	__typeof__(rados_shutdown) *shutdown;
	__typeof__(rados_trunc) *trunc;
	__typeof__(rados_write_op_operate) *write_op_operate;
	__typeof__(rados_write_op_write) *write_op_write;
	__typeof__(rados_write_op_write_full) *write_op_write_full;
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool lib_ok;

#define R_SYM(f) { "rados_" #f, (void **)&lib.f }

static void lib_load(void)
{
	const struct {
		const char *name;
		void **at;
	} syms[] = {
		R_SYM(aio_create_completion),
		R_SYM(aio_flush),
		R_SYM(aio_get_return_value),
		R_SYM(aio_read),
		R_SYM(aio_release),
		R_SYM(aio_wait_for_complete),
		R_SYM(aio_write_op_operate),
		R_SYM(conf_get),
		R_SYM(conf_read_file),
		R_SYM(conf_set),
		R_SYM(connect),
		R_SYM(create),
		R_SYM(create_write_op),
		R_SYM(ioctx_create),
		R_SYM(ioctx_destroy),
		R_SYM(read),
		R_SYM(release_write_op),
		R_SYM(remove),
		R_SYM(shutdown),
		R_SYM(trunc),
		R_SYM(write_op_operate),
		R_SYM(write_op_write),
		R_SYM(write_op_write_full),
	};
	void *h = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL);
	size_t i;

	for (i = 0; h && i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!(*syms[i].at = dlsym(h, syms[i].name)))
			return;
	lib_ok = h != NULL;
}

#define R_SLOTS 16
#define R_NAME_MAX 200

struct r_slot {
	char *buf;
	uint64_t obj;		/* stripe number; UINT64_MAX: free */
	rados_completion_t c;	/* NULL once collected */
	int got;		/* bytes, or -errno */
};

struct rstore {
	pthread_mutex_t lock;
	rados_t cluster;
	rados_ioctx_t io;
	char name[R_NAME_MAX];
	uint64_t len;
	uint32_t obj_len;
	bool writable;
	struct r_slot slots[R_SLOTS];
	unsigned next_slot;
};

static void oid_of(const struct rstore *r, uint64_t obj, char *oid)
{
	snprintf(oid, R_NAME_MAX + 20, "%s.%016" PRIx64, r->name, obj);
}

/* Collect slot s's read; caller holds r->lock. */
static void slot_collect(struct r_slot *s)
{
	if (!s->c)
		return;
	lib.aio_wait_for_complete(s->c);
	s->got = lib.aio_get_return_value(s->c);
	lib.aio_release(s->c);
	s->c = NULL;
}

static void slot_drop(struct r_slot *s)
{
	slot_collect(s);
	s->obj = UINT64_MAX;
}

static struct r_slot *slot_find(struct rstore *r, uint64_t obj)
{
	unsigned i;

	for (i = 0; i < R_SLOTS; i++)
		if (r->slots[i].obj == obj)
			return &r->slots[i];
	return NULL;
}

static void r_readahead(void *ctx, off_t off, size_t len)
{
	struct rstore *r = ctx;
	uint64_t obj, last;
	char oid[R_NAME_MAX + 20];
	unsigned n = 0;

	if (!len || off < 0)
		return;
	pthread_mutex_lock(&r->lock);
	last = ((uint64_t)off + len - 1) / r->obj_len;
	for (obj = (uint64_t)off / r->obj_len; obj <= last && n < R_SLOTS;
	     obj++, n++) {
		struct r_slot *s;

		if ((uint64_t)obj * r->obj_len >= r->len || slot_find(r, obj))
			continue;
		s = &r->slots[r->next_slot++ % R_SLOTS];
		slot_drop(s);
		if (lib.aio_create_completion(NULL, NULL, NULL, &s->c))
			break;
		oid_of(r, obj, oid);
		if (lib.aio_read(r->io, oid, s->c, s->buf, r->obj_len, 0)) {
			lib.aio_release(s->c);
			s->c = NULL;
			break;
		}
		s->obj = obj;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Bytes [in, in + n) of stripe obj into buf: from a read-ahead slot, or
 * read now; what the object lacks reads as zeros. */
static int read_stripe(struct rstore *r, uint64_t obj, uint32_t in, char *buf,
		       size_t n)
{
	struct r_slot *s = slot_find(r, obj);
	char oid[R_NAME_MAX + 20];
	int got;

	if (s) {
		slot_collect(s);
		got = s->got;
		if (got == -ENOENT)
			got = 0;
		if (got >= 0) {
			size_t have = (size_t)got > in ? (size_t)got - in : 0;

			if (have > n)
				have = n;
			memcpy(buf, s->buf + in, have);
			memset(buf + have, 0, n - have);
			return 0;
		}
		slot_drop(s);	/* read again below */
	}
	oid_of(r, obj, oid);
	got = lib.read(r->io, oid, buf, n, in);
	if (got == -ENOENT)
		got = 0;
	if (got < 0)
		return got;
	memset(buf + got, 0, n - (size_t)got);
	return 0;
}

static ssize_t r_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct rstore *r = ctx;
	size_t done = 0;
	int err = 0;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= r->len)
		return 0;
	if (len > r->len - (uint64_t)off)
		len = (size_t)(r->len - (uint64_t)off);
	pthread_mutex_lock(&r->lock);
	while (done < len && !err) {
		uint64_t at = (uint64_t)off + done;
		uint32_t in = (uint32_t)(at % r->obj_len);
		size_t n = r->obj_len - in;

		if (n > len - done)
			n = len - done;
		err = read_stripe(r, at / r->obj_len, in, (char *)buf + done,
				  n);
		done += n;
	}
	pthread_mutex_unlock(&r->lock);
	return err ? err : (ssize_t)len;
}

/*
 * A write operation on one object: of len bytes at off (the whole object
 * if full).  Sent with FULL_TRY, so that a full pool or cluster refuses it
 * at once (-ENOSPC, or -EDQUOT for a pool's quota), as a full disk refuses
 * a file's write, rather than holding it until there is room.  With c, it
 * is started (and *op must be released once c completes); else done.
 */
static int op_write(struct rstore *r, const char *oid, const char *buf,
		    size_t len, uint64_t off, bool full, rados_completion_t c,
		    rados_write_op_t *op)
{
	rados_write_op_t w = lib.create_write_op();
	int err;

	if (!w)
		return -ENOMEM;
	if (full)
		lib.write_op_write_full(w, buf, len);
	else
		lib.write_op_write(w, buf, len, off);
	if (c) {
		err = lib.aio_write_op_operate(w, r->io, c, oid, NULL,
					       LIBRADOS_OPERATION_FULL_TRY);
		if (!err) {
			*op = w;
			return 0;
		}
	} else {
		err = lib.write_op_operate(w, r->io, oid, NULL,
					   LIBRADOS_OPERATION_FULL_TRY);
	}
	lib.release_write_op(w);
	return err;
}

static ssize_t r_write(void *ctx, const void *buf, size_t len, off_t off)
{
	struct rstore *r = ctx;
	char oid[R_NAME_MAX + 20];
	size_t done = 0;
	int err = 0;

	if (off < 0 || (uint64_t)off > r->len ||
	    len > r->len - (uint64_t)off)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	while (done < len && !err) {
		uint64_t at = (uint64_t)off + done, obj = at / r->obj_len;
		uint32_t in = (uint32_t)(at % r->obj_len);
		size_t n = r->obj_len - in;
		struct r_slot *s = slot_find(r, obj);

		if (n > len - done)
			n = len - done;
		if (s)
			slot_drop(s);
		oid_of(r, obj, oid);
		err = op_write(r, oid, (const char *)buf + done, n, in, false,
			       NULL, NULL);
		done += n;
	}
	pthread_mutex_unlock(&r->lock);
	return err ? err : (ssize_t)len;
}

/*
 * Ranges written at once: a rados_aio_write() per stripe piece, all in
 * flight together, then each waited for.  The first error is returned
 * (after all are done: none is left writing into the pager's memory).
 */
static int r_write_batch(void *ctx, const struct up_store_io *io,
			 unsigned nr)
{
	struct rstore *r = ctx;
	char oid[R_NAME_MAX + 20];
	rados_completion_t *cs;
	rados_write_op_t *ops;
	unsigned i, n = 0, cap = 0;
	int err = 0;

	for (i = 0; i < nr; i++) {
		if (io[i].off < 0 || (uint64_t)io[i].off > r->len ||
		    io[i].len > r->len - (uint64_t)io[i].off)
			return -EINVAL;
		cap += (unsigned)(io[i].len / r->obj_len) + 2;
	}
	cs = calloc(cap ? cap : 1, sizeof(*cs));
	ops = calloc(cap ? cap : 1, sizeof(*ops));
	if (!cs || !ops) {
		free(cs);
		free(ops);
		return -ENOMEM;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < nr && !err; i++) {
		size_t done = 0;

		while (done < io[i].len && !err) {
			uint64_t at = (uint64_t)io[i].off + done;
			uint64_t obj = at / r->obj_len;
			uint32_t in = (uint32_t)(at % r->obj_len);
			size_t k = r->obj_len - in;
			struct r_slot *s = slot_find(r, obj);

			if (k > io[i].len - done)
				k = io[i].len - done;
			if (s)
				slot_drop(s);
			oid_of(r, obj, oid);
			err = lib.aio_create_completion(NULL, NULL, NULL,
							&cs[n]);
			if (!err) {
				err = op_write(r, oid,
					       (const char *)io[i].buf + done,
					       k, in, false, cs[n], &ops[n]);
				if (err)
					lib.aio_release(cs[n]);
				else
					n++;
			}
			done += k;
		}
	}
	for (i = 0; i < n; i++) {
		int e;

		lib.aio_wait_for_complete(cs[i]);
		e = lib.aio_get_return_value(cs[i]);
		lib.aio_release(cs[i]);
		lib.release_write_op(ops[i]);
		if (e < 0 && !err)
			err = e;
	}
	pthread_mutex_unlock(&r->lock);
	free(cs);
	free(ops);
	return err;
}

/* The store's header object: its length and object length. */
struct r_head {
	uint64_t len;
	uint32_t obj_len;
};

/* The header object, with length len. */
static int head_write(struct rstore *r, uint64_t len)
{
	struct r_head h;

	memset(&h, 0, sizeof(h));
	h.len = len;
	h.obj_len = r->obj_len;
	return op_write(r, r->name, (const char *)&h, sizeof(h), 0, true, NULL,
			NULL);
}

/*
 * A new length.  Smaller: the header first, then the objects past the end
 * go and the last one is cut at it, so that a larger length later reads
 * zeros there.  Larger: the last object is cut at the old end first (what
 * it may hold past it is not data), then the header.
 */
static int r_resize(void *ctx, off_t len)
{
	struct rstore *r = ctx;
	uint64_t nl = (uint64_t)len, old, edge, obj, last;
	char oid[R_NAME_MAX + 20];
	unsigned i;
	int err = 0;

	if (len < 0)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	old = r->len;
	edge = nl < old ? nl : old;
	for (i = 0; i < R_SLOTS; i++)
		slot_drop(&r->slots[i]);
	if (nl < old)
		err = head_write(r, nl);
	if (!err && edge % r->obj_len) {
		oid_of(r, edge / r->obj_len, oid);
		err = lib.trunc(r->io, oid, edge % r->obj_len);
		if (err == -ENOENT)
			err = 0;
	}
	last = old ? (old - 1) / r->obj_len : 0;
	for (obj = (nl + r->obj_len - 1) / r->obj_len;
	     !err && nl < old && obj <= last; obj++) {
		oid_of(r, obj, oid);
		err = lib.remove(r->io, oid);
		if (err == -ENOENT)
			err = 0;
	}
	if (!err && nl > old)
		err = head_write(r, nl);
	if (!err || nl < old)
		r->len = nl;	/* (smaller: the header says so already) */
	pthread_mutex_unlock(&r->lock);
	return err;
}

static off_t r_size(void *ctx)
{
	return (off_t)((struct rstore *)ctx)->len;
}

static int r_sync(void *ctx)
{
	/* (Writes were acknowledged when lib.write() returned.) */
	return lib.aio_flush(((struct rstore *)ctx)->io);
}

static void r_free(struct rstore *r)
{
	unsigned i;

	for (i = 0; i < R_SLOTS; i++) {
		slot_drop(&r->slots[i]);
		free(r->slots[i].buf);
	}
	if (r->io)
		lib.ioctx_destroy(r->io);
	if (r->cluster)
		lib.shutdown(r->cluster);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void r_close(void *ctx)
{
	r_free(ctx);
}

static const struct up_store_ops rstore_rw = {
	.read = r_read,
	.write = r_write,
	.size = r_size,
	.sync = r_sync,
	.close = r_close,
	.readahead = r_readahead,
	.write_batch = r_write_batch,
	.resize = r_resize,
};

static const struct up_store_ops rstore_ro = {
	.read = r_read,
	.size = r_size,
	.close = r_close,
	.readahead = r_readahead,
};

UP_EXPORT int up_rstore_open(const char *conf, const char *pool,
			     const char *name, int flags, off_t len,
			     size_t obj_len, const struct up_store_ops **ops,
			     void **ctx)
{
	int acc = flags & O_ACCMODE, err;
	struct r_head h;
	struct rstore *r;
	unsigned i;
	char v[32];

	if (!pool || !name || !ops || !ctx || !*name ||
	    strlen(name) >= R_NAME_MAX || (acc != O_RDONLY && acc != O_RDWR) ||
	    ((flags & O_CREAT) && (acc != O_RDWR || len < 0)) ||
	    (obj_len && (obj_len < 4096 || obj_len > (64u << 20) ||
			 (obj_len & (obj_len - 1)))))
		return -EINVAL;
	pthread_once(&lib_once, lib_load);
	if (!lib_ok)
		return -EOPNOTSUPP;	/* no librados.so.2 here */
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->writable = acc == O_RDWR;
	for (i = 0; i < R_SLOTS; i++)
		r->slots[i].obj = UINT64_MAX;
	err = lib.create(&r->cluster, NULL);
	if (err) {
		r->cluster = NULL;
		goto fail;
	}
	err = lib.conf_read_file(r->cluster, conf);
	/* A lost OSD is an error after a while, not a hang. */
	if (!err && (lib.conf_get(r->cluster, "rados_osd_op_timeout", v,
				  sizeof(v)) ||
		     !strcmp(v, "0")))
		lib.conf_set(r->cluster, "rados_osd_op_timeout", "30");
	if (!err)
		err = lib.connect(r->cluster);
	if (!err)
		err = lib.ioctx_create(r->cluster, pool, &r->io);
	if (err) {
		r->io = NULL;
		goto fail;
	}
	if (flags & O_CREAT) {
		h.len = (uint64_t)len;
		h.obj_len = obj_len ? (uint32_t)obj_len : UP_RSTORE_OBJECT;
		r->obj_len = h.obj_len;
		err = head_write(r, h.len);
	} else {
		err = lib.read(r->io, name, (char *)&h, sizeof(h), 0);
		err = err == (int)sizeof(h) ? 0 : err < 0 ? err : -EBADMSG;
		if (!err && (h.obj_len < 4096 || h.obj_len > (64u << 20) ||
			     (h.obj_len & (h.obj_len - 1))))
			err = -EBADMSG;
	}
	if (err)
		goto fail;
	r->len = h.len;
	r->obj_len = h.obj_len;
	for (i = 0; i < R_SLOTS; i++)
		if (!(r->slots[i].buf = malloc(r->obj_len))) {
			err = -ENOMEM;
			goto fail;
		}
	*ops = r->writable ? &rstore_rw : &rstore_ro;
	*ctx = r;
	return 0;
fail:
	r_free(r);
	return err;
}

#else /* !UP_HAVE_RADOS */

UP_EXPORT int up_rstore_open(const char *conf, const char *pool,
			     const char *name, int flags, off_t len,
			     size_t obj_len, const struct up_store_ops **ops,
			     void **ctx)
{
	(void)conf, (void)pool, (void)name, (void)flags, (void)len;
	(void)obj_len, (void)ops, (void)ctx;
	return -EOPNOTSUPP;
}

#endif
