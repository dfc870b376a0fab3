/* SPDX-License-Identifier: MIT */
/*
 * cp copies SRC into a temporary file beside DST, then renames it over
 * DST, so DST is either the whole copy or untouched: on any error (ENOSPC,
 * a source that changes size, a signal) the temporary file is removed.
 * Only the data extents of SRC (SEEK_DATA/SEEK_HOLE) are copied into a
 * file already truncated to SRC's size, so holes stay holes.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#endif
#include <unistd.h>

#include "tool.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

enum { M_UPAGER, M_KERNEL, M_READ, M_CFR, M_NR };

/* Measured on the development machine (ext4, 2 CPUs), see upager(1). */
#define CP_DEFAULT M_CFR
#define CP_BUDGET (64 * MiB)
#define CP_CHUNK (8 * MiB)	/* progress step and kernel mmap window */
#define CP_BUF (1 * MiB)	/* read()/write() buffer */

struct cp_opts {
	struct pager_opts po;
	struct up_config cfg;	/* made from po */
	int method;
	bool force, verify, progress, compress;
};

struct copy {
	const struct cp_opts *o;
	const char *src, *dst;
	int sfd, dfd;
	off_t len;
	struct progress prog;
	const char *bad;	/* the file (or thing) an error is about */
	bool lib;		/* the error came from upager: up_strerror() */
	struct up_pager *p;	/* upager */
	char *smap, *dmap;
	size_t page_len;
	char *buf;		/* read, and copy_file_range's fallback */
	bool no_cfr;		/* copy_file_range does not work here */
};

/* Record which file an error is about; returns err. */
static int cerr(struct copy *c, const char *bad, int err, bool lib)
{
	c->bad = bad;
	c->lib = lib;
	return err;
}

/* -- read: pread(2) and pwrite(2) -- */

static int rd_start(struct copy *c)
{
	c->buf = malloc(CP_BUF);
	return c->buf ? 0 : cerr(c, "memory", -ENOMEM, false);
}

static int rd_extent(struct copy *c, off_t off, off_t len)
{
	while (len > 0) {
		size_t n = len < (off_t)CP_BUF ? (size_t)len : CP_BUF;
		int err = pread_all(c->sfd, c->buf, n, off);

		if (err)
			return cerr(c, c->src, err, false);
		err = pwrite_all(c->dfd, c->buf, n, off);
		if (err)
			return cerr(c, c->dst, err, false);
		off += (off_t)n;
		len -= (off_t)n;
		prog_show(&c->prog, (uint64_t)off);
	}
	return 0;
}

static int rd_finish(struct copy *c, int err)
{
	free(c->buf);
	return err;
}

/* -- copy_file_range(2), falling back to read where it cannot work -- */

static bool cfr_unsupported(int err)
{
	return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS ||
	       err == EINVAL;
}

/* Errors that are about where the data goes rather than where it is. */
static bool dst_error(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EFBIG ||
	       err == EROFS || err == EBADF;
}

/* One call: the bytes copied, or -errno; -E_CHANGED at the source's end. */
static ssize_t cfr_once(struct copy *c, off_t off, off_t len)
{
	off_t in = off, out = off;
	size_t n = len < (off_t)CP_CHUNK ? (size_t)len : CP_CHUNK;
	ssize_t done;

	do
		done = copy_file_range(c->sfd, &in, c->dfd, &out, n, 0);
	while (done < 0 && errno == EINTR);
	if (done < 0)
		return -errno;
	return done ? done : -E_CHANGED;
}

static int cfr_extent(struct copy *c, off_t off, off_t len)
{
	while (len > 0 && !c->no_cfr) {
		ssize_t done = cfr_once(c, off, len);

		if (done < 0 && cfr_unsupported((int)-done)) {
			c->no_cfr = true;	/* read() from here on */
			break;
		}
		if (done < 0)
			return cerr(c, dst_error((int)-done) ? c->dst : c->src,
				    (int)done, false);
		off += done;
		len -= done;
		prog_show(&c->prog, (uint64_t)off);
	}
	return len > 0 ? rd_extent(c, off, len) : 0;
}

/* -- kernel: the kernel's mmap(2) of SRC, written out with write(2) -- */

static int km_window(struct copy *c, off_t off, size_t len)
{
	off_t woff = off - off % (off_t)sys_page();
	size_t wlen = len + (size_t)(off - woff);
	char *m = mmap(NULL, wlen, PROT_READ, MAP_SHARED, c->sfd, woff);
	int err;

	if (m == MAP_FAILED)
		return cerr(c, c->src, -errno, false);
	madvise(m, wlen, MADV_SEQUENTIAL);
	err = pwrite_all(c->dfd, m + (off - woff), len, off);
	munmap(m, wlen);
	/* The kernel could not read the mapping: SRC shrank. */
	if (err == -EFAULT)
		return cerr(c, c->src, -E_CHANGED, false);
	return err ? cerr(c, c->dst, err, false) : 0;
}

static int km_start(struct copy *c)
{
	(void)c;
	return 0;
}

static int km_extent(struct copy *c, off_t off, off_t len)
{
	while (len > 0) {
		size_t n = len < (off_t)CP_CHUNK ? (size_t)len : CP_CHUNK;
		int err = km_window(c, off, n);

		if (err)
			return err;
		off += (off_t)n;
		len -= (off_t)n;
		prog_show(&c->prog, (uint64_t)off);
	}
	return 0;
}

static int km_finish(struct copy *c, int err)
{
	(void)c;
	return err;
}

/* -- upager: both files mapped through one pager -- */

static int up_start(struct copy *c)
{
	struct up_stats st;
	int err = up_pager_open(&c->p, &c->o->cfg);

	if (err)
		return cerr(c, "cannot start a pager", err, true);
	err = up_pager_map(c->p, NULL, (size_t)c->len, PROT_READ, MAP_SHARED,
			   c->sfd, 0, (void **)&c->smap);
	if (err)
		return cerr(c, c->src, err, true);
	err = up_pager_map(c->p, NULL, (size_t)c->len, PROT_READ | PROT_WRITE,
			   MAP_SHARED, c->dfd, 0, (void **)&c->dmap);
	if (err)
		return cerr(c, c->dst, err, true);
	/* No MADV_SEQUENTIAL: with it, two mappings in a budget of a few
	 * pages thrash (read-ahead evicts the page being copied). */
	c->page_len = sys_page();
	if (!up_pager_stats(c->p, &st) && st.page_len > c->page_len)
		c->page_len = (size_t)st.page_len;
	return 0;
}

/* Part of a page: write(2) from the source mapping, so that the pager
 * never writes back a whole page that also covers a hole. */
static int up_write(struct copy *c, off_t off, off_t len)
{
	int err = pwrite_all(c->dfd, c->smap + off, (size_t)len, off);

	if (err == -EFAULT)
		return cerr(c, c->src, -E_CHANGED, false);
	return err ? cerr(c, c->dst, err, false) : 0;
}

/* DST's mapping is the page cache: a store the file system has no room
 * for raises SIGBUS, so the room is taken first, where the data goes. */
static int up_memcpy(struct copy *c, off_t off, off_t len)
{
	while (len > 0) {
		size_t n = len < (off_t)CP_CHUNK ? (size_t)len : CP_CHUNK;

		if (fallocate(c->dfd, 0, off, (off_t)n) && errno != EOPNOTSUPP)
			return cerr(c, c->dst, -errno, false);
		memcpy(c->dmap + off, c->smap + off, n);
		off += (off_t)n;
		len -= (off_t)n;
		prog_show(&c->prog, (uint64_t)off);
	}
	return 0;
}

/* Whole pages through the mappings, the ragged ends with write(2).  The
 * last page may run past the end of the file: the pager writes only the
 * part inside it. */
static int up_extent(struct copy *c, off_t off, off_t len)
{
	off_t pg = (off_t)c->page_len, end = off + len;
	off_t lo = (off + pg - 1) / pg * pg;
	off_t hi = end == c->len ? end : end / pg * pg;
	int err;

	if (lo >= hi)
		return up_write(c, off, len);
	err = up_write(c, off, lo - off);
	if (!err)
		err = up_memcpy(c, lo, hi - lo);
	if (!err)
		err = up_write(c, hi, end - hi);
	return err;
}

/* Unmapping DST writes it back: a failure there is a failed copy. */
static int up_finish(struct copy *c, int err)
{
	int e;

	if (!c->p)
		return err;
	if (c->dmap) {
		e = up_pager_unmap(c->p, c->dmap, (size_t)c->len);
		if (e && !err)
			err = cerr(c, c->dst, e, true);
	}
	if (c->smap)
		up_pager_unmap(c->p, c->smap, (size_t)c->len);
	e = up_pager_close(c->p);
	if (e && !err)
		err = cerr(c, c->dst, e, true);
	return err;
}

static const struct method {
	const char *name;
	int (*start)(struct copy *c);
	int (*extent)(struct copy *c, off_t off, off_t len);
	int (*finish)(struct copy *c, int err);
} methods[M_NR] = {
	[M_UPAGER] = { "upager", up_start, up_extent, up_finish },
	[M_KERNEL] = { "kernel", km_start, km_extent, km_finish },
	[M_READ] = { "read", rd_start, rd_extent, rd_finish },
	[M_CFR] = { "copy_file_range", rd_start, cfr_extent, rd_finish },
};

/* Call m->extent for each data extent of SRC below c->len. */
static int for_each_extent(struct copy *c, const struct method *m)
{
	off_t off = 0, end;
	int err;

	while (off < c->len) {
		off = lseek(c->sfd, off, SEEK_DATA);
		if (off < 0 && errno == ENXIO)
			return 0;	/* a hole up to the end */
		if (off < 0)
			return cerr(c, c->src, -errno, false);
		end = lseek(c->sfd, off, SEEK_HOLE);
		if (end < 0)
			return cerr(c, c->src, -errno, false);
		if (end > c->len)
			end = c->len;
		if (off >= end)
			return 0;
		err = m->extent(c, off, end - off);
		if (err)
			return err;
		off = end;
	}
	return 0;
}

/* The extent loop, with a SIGBUS (SRC shrank under its mapping) turned
 * into -E_CHANGED. */
static int copy_extents(struct copy *c, const struct method *m)
{
	sigjmp_buf jb;
	int err;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return cerr(c, c->src, -E_CHANGED, false);
	}
	bus_jmp = &jb;
	err = for_each_extent(c, m);
	bus_jmp = NULL;
	return err;
}

static bool changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || MTIME_NS(a) != MTIME_NS(b);
}

static int copy_report(struct copy *c, int err)
{
	return c->lib ? fail_up(c->bad, err) : fail(c->bad, err);
}

/* Fill the open temporary file c->dfd: size, data, mode. */
static int copy_data(struct copy *c, const struct stat *st)
{
	const struct method *m = &methods[c->o->method];
	struct stat after;
	int err = 0;

	if (ftruncate(c->dfd, c->len))
		return fail(c->dst, -errno);
	prog_start(&c->prog, (uint64_t)c->len, c->o->progress);
	if (c->len) {
		err = m->start(c);
		if (!err)
			err = copy_extents(c, m);
		err = m->finish(c, err);
	}
	prog_end(&c->prog);
	if (!err && (fstat(c->sfd, &after) || changed(st, &after)))
		err = cerr(c, c->src, -E_CHANGED, false);
	if (err)
		return copy_report(c, err);
	if (fchmod(c->dfd, st->st_mode & 07777))
		return fail(c->dst, -errno);
	return 0;
}

/* --verify: compare with pread(2), independent of the copy method. */
static int verify(struct copy *c)
{
	char *a = malloc(2 * CP_BUF), *b;
	int err = 0;
	off_t off;

	if (!a)
		return fail("memory", -ENOMEM);
	b = a + CP_BUF;
	for (off = 0; !err && off < c->len; off += CP_BUF) {
		size_t n = c->len - off < (off_t)CP_BUF ? (size_t)(c->len - off)
							 : CP_BUF;

		err = pread_all(c->sfd, a, n, off);
		if (err)
			break;
		if ((err = pread_all(c->dfd, b, n, off)) || !memcmp(a, b, n))
			continue;
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i]) {
				off += (off_t)i;
				break;
			}
		msg("--verify: %s and %s differ at byte %lld", c->src, c->dst,
		    (long long)off);
		free(a);
		return ST_FAIL;
	}
	free(a);
	return err ? fail(c->src, err) : ST_OK;
}

/*
 * Compressed stores: SRC is one (its data are copied out) or DST is to be
 * one (--compress), or both (a compact copy).  SRC is mapped through a
 * pager; DST is written in order, a chunk of the store at a time, through
 * the store's own calls (or pwrite(2) for a plain DST): each chunk is then
 * compressed once.  Without a pager that can show a store, SRC is read
 * through its calls too.
 */
static int zput(struct copy *c, struct source *d, const char *buf, size_t n,
		off_t off)
{
	int err = d->ops ? (d->ops->write(d->ctx, buf, n, off) == (ssize_t)n
				    ? 0 : -EIO)
			 : pwrite_all(d->fd, buf, n, off);

	prog_show(&c->prog, (uint64_t)off + n);
	return err ? cerr(c, c->dst, err, false) : 0;
}

static int zcopy_mapped(struct copy *c, struct source *s, struct source *d)
{
	char *sm = NULL;
	int err = up_pager_open(&c->p, &c->o->cfg), e;

	if (err)
		return cerr(c, "cannot start a pager", err, true);
	err = source_map(c->p, s, PROT_READ, (void **)&sm);
	if (err) {
		up_pager_close(c->p);
		c->p = NULL;
		return err == -EOPNOTSUPP ? err : cerr(c, c->src, err, true);
	}
	up_pager_advise(c->p, sm, (size_t)c->len, MADV_SEQUENTIAL);
	for (off_t off = 0; !err && off < c->len; off += CP_BUF) {
		size_t n = c->len - off < (off_t)CP_BUF
				   ? (size_t)(c->len - off) : CP_BUF;

		err = zput(c, d, sm + off, n, off);
	}
	up_pager_unmap(c->p, sm, (size_t)c->len);
	e = up_pager_close(c->p);
	c->p = NULL;
	if (e && !err)
		err = cerr(c, c->src, e, true);
	return err;
}

/* SRC through its store's calls (or pread(2)). */
static int zcopy_read(struct copy *c, struct source *s, struct source *d)
{
	char *buf = malloc(CP_BUF);
	int err = buf ? 0 : -ENOMEM;

	for (off_t off = 0; !err && off < c->len; off += CP_BUF) {
		size_t n = c->len - off < (off_t)CP_BUF
				   ? (size_t)(c->len - off) : CP_BUF;

		err = s->ops ? (s->ops->read(s->ctx, buf, n, off) == (ssize_t)n
					? 0 : -EIO)
			     : pread_all(s->fd, buf, n, off);
		if (err)
			err = cerr(c, c->src, err == -EIO ? -E_CHANGED : err,
				   false);
		else
			err = zput(c, d, buf, n, off);
	}
	free(buf);
	return err;
}

static int zcopy(struct copy *c, struct source *s, const struct stat *st)
{
	struct source d = { .fd = c->dfd };
	sigjmp_buf jb;
	int err;

	c->len = (off_t)s->len;
	d.len = s->len;
	if (c->o->compress)
		err = up_zstore_create(c->dfd, c->len, 0, &d.ops, &d.ctx);
	else
		err = ftruncate(c->dfd, c->len) ? -errno : 0;
	if (err)
		return fail_up(c->dst, err);
	prog_start(&c->prog, (uint64_t)c->len, c->o->progress);
	if (sigsetjmp(jb, 1)) {
		/* A page of SRC could not be read (or it shrank). */
		bus_jmp = NULL;
		prog_end(&c->prog);
		return fail(c->src, -E_CHANGED);
	}
	bus_jmp = &jb;
	err = c->len ? zcopy_mapped(c, s, &d) : 0;
	bus_jmp = NULL;
	/* (A pager that cannot show a store.) */
	if (err == -EOPNOTSUPP && !s->taken)
		err = zcopy_read(c, s, &d);
	if (!err && d.ops && (err = d.ops->sync(d.ctx)))
		err = cerr(c, c->dst, err, false);
	prog_end(&c->prog);
	source_close(&d);
	if (err)
		return copy_report(c, err);
	if (fchmod(c->dfd, st->st_mode & 07777))
		return fail(c->dst, -errno);
	return ST_OK;
}

/* A new file beside dst: DIR/.NAME.upager-XXXXXX. */
static int make_temp(const char *dst, char *tmp)
{
	const char *base = base_name(dst);
	int dirlen = (int)(base - dst), fd;

	if (snprintf(tmp, PATH_MAX, "%.*s.%s.upager-XXXXXX", dirlen, dst,
		     base) >= PATH_MAX)
		return fail(dst, -ENAMETOOLONG), -1;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(dst, -errno), -1;
	clean_set(0, tmp);
	return fd;
}

/* Rename the finished copy into place; without -f never over a file that
 * appeared meanwhile. */
static int install(const char *tmp, const char *dst, bool force)
{
	int rc = -1;

	if (!force) {
		rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE);
		if (rc && errno == EEXIST)
			return msg("%s: %s (use -f to overwrite it)", dst,
				   strerror(EEXIST)), ST_FAIL;
	}
	if (rc && rename(tmp, dst))
		return fail(dst, -errno);
	return ST_OK;
}

static int cp_run(struct copy *c, const struct stat *st, struct source *s)
{
	char tmp[PATH_MAX];
	int status;

	c->len = st->st_size;
	c->dfd = make_temp(c->dst, tmp);
	if (c->dfd < 0)
		return ST_FAIL;
	if (s->ops || c->o->compress)
		status = zcopy(c, s, st);
	else
		status = copy_data(c, st);
	if (!status && c->o->verify)
		status = s->ops || c->o->compress
				 ? msg("--verify: not with compressed files"),
			 ST_FAIL : verify(c);
	if (close(c->dfd) && !status)
		status = fail(c->dst, -errno);
	if (!status)
		status = install(tmp, c->dst, c->o->force);
	if (status)
		unlink(tmp);
	clean_set(0, NULL);
	return status;
}

/* Where the copy goes (DST, or DST/NAME for a directory), refusing SRC
 * itself and, without -f, an existing file. */
static int cp_target(const struct cp_opts *o, const char *src,
		     const struct stat *sst, const char *dst, char *out)
{
	struct stat st;

	snprintf(out, PATH_MAX, "%s", dst);
	if (!stat(dst, &st) && S_ISDIR(st.st_mode) &&
	    snprintf(out, PATH_MAX, "%s/%s", dst, base_name(src)) >= PATH_MAX)
		return fail(dst, -ENAMETOOLONG);
	if (stat(out, &st))
		return errno == ENOENT ? ST_OK : fail(out, -errno);
	if (SAME_FILE(out, &st, src, sst))
		return msg("%s and %s are the same file", src, out), ST_FAIL;
	if (S_ISDIR(st.st_mode))
		return fail(out, -EISDIR);
	if (!o->force)
		return msg("%s: %s (use -f to overwrite it)", out,
			   strerror(EEXIST)), ST_FAIL;
	return ST_OK;
}

/*
 * Into a RADOS store (rados://POOL/NAME), made anew with SRC's length and
 * written in place: an object set has no rename to make the copy appear
 * whole.
 */
static int cp_to_rados(struct copy *c, struct source *s)
{
	struct source d;
	int err;

	if (source_rados(&d, c->dst, true, true, s->len))
		return ST_FAIL;
	c->len = (off_t)s->len;
	prog_start(&c->prog, (uint64_t)c->len, c->o->progress);
	err = c->len ? zcopy_mapped(c, s, &d) : 0;
	if (err == -EOPNOTSUPP && !s->taken)
		err = zcopy_read(c, s, &d);
	if (!err && (err = d.ops->sync(d.ctx)))
		err = cerr(c, c->dst, err, false);
	prog_end(&c->prog);
	source_close(&d);
	return err ? copy_report(c, err) : ST_OK;
}

static int cp_file(const struct cp_opts *o, const char *src, const char *dst)
{
	struct copy c = { .o = o, .src = src, .dfd = -1 };
	struct stat st = { .st_mode = S_IFREG | 0644 };
	char out[PATH_MAX];
	struct source s;
	int status;

	if (is_rados(src)) {
		c.sfd = -1;
		status = source_rados(&s, src, false, false, 0);
		st.st_size = (off_t)s.len;
	} else {
		c.sfd = open_regular(src, O_RDONLY, &st);
		if (c.sfd < 0)
			return ST_FAIL;
		status = source_open(&s, c.sfd, &st, false, src);
	}
	if (!status && is_rados(dst)) {
		c.dst = dst;
		status = cp_to_rados(&c, &s);
		source_close(&s);
		if (c.sfd >= 0)
			close(c.sfd);
		return status;
	}
	if (!status)
		status = cp_target(o, src, &st, dst, out);
	c.dst = out;
	if (!status)
		status = cp_run(&c, &st, &s);
	source_close(&s);
	if (c.sfd >= 0)
		close(c.sfd);
	return status;
}

static int opt_method(const char *arg, int *m)
{
	for (int i = 0; i < M_NR; i++)
		if (!strcmp(arg, methods[i].name)) {
			*m = i;
			return 0;
		}
	return usage("--method %s: not upager, kernel, read or "
		     "copy_file_range", arg);
}

/* A cp option for get_opts(). */
static int cp_opt(void *ctx, int c, const char *arg)
{
	struct cp_opts *o = ctx;
	int st = pager_opt(&o->po, c, arg);

	if (st >= 0)
		return st;
	switch (c) {
	case 'm':
		return opt_method(arg, &o->method);
	case 'f':
		o->force = true;
		return 0;
	case 'V':
		o->verify = true;
		return 0;
	case 'P':
		o->progress = false;
		return 0;
	case 'z':
		o->compress = true;
		return 0;
	}
	return -1;
}

int cmd_cp(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "verify", no_argument, NULL, 'V' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "compress", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		PAGER_LONGOPTS,
		{ 0 }
	};
	struct cp_opts o = { .method = CP_DEFAULT, .progress = true };
	int st;

	if ((st = get_opts(argc, argv, ":fh", lo, cp_opt, &o)) >= 0)
		return st;
	if (argc - optind != 2)
		return usage("needs SRC and DST");
	if ((st = pager_config(&o.po, CP_BUDGET, &o.cfg)))
		return st;
	return cp_file(&o, argv[optind], argv[optind + 1]);
}
