/* SPDX-License-Identifier: MIT */
/*
 * cat maps each file a window at a time through one pager, write(2)s the
 * window to stdout and unmaps it, so memory stays within the budget
 * whatever the file's size.  Files that cannot be mapped (pipes, empty
 * /proc files, "-" for stdin) are read with read(2).  A compressed store
 * (upager cp --compress) is mapped through the pager, or read through the
 * store where the pager cannot show one (the kernel backend).
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tool.h"

#define CAT_BUDGET (64 * MiB)
#define CAT_WINDOW (16 * MiB)

static int cat_stream(int fd, const char *name)
{
	static char buf[64 * 1024];
	ssize_t n;
	int err;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((err = write_all(STDOUT_FILENO, buf, (size_t)n)))
			return fail("stdout", err);
	}
	return n < 0 ? fail(name, -errno) : ST_OK;
}

static int cat_window(struct up_pager *p, int fd, const char *path, off_t off,
		      size_t len)
{
	void *m;
	int err = up_pager_map(p, NULL, len, PROT_READ, MAP_SHARED, fd, off,
			       &m);

	if (err)
		return fail_up(path, err);
	up_pager_advise(p, m, len, MADV_SEQUENTIAL);
	err = write_all(STDOUT_FILENO, m, len);
	up_pager_unmap(p, m, len);
	/* The kernel could not read the mapping: the file shrank. */
	if (err == -EFAULT)
		return fail(path, -E_CHANGED);
	return err ? fail("stdout", err) : ST_OK;
}

/* A compressed store: mapped whole (its last unmap closes it), written
 * out a window at a time; the budget bounds what is resident. */
/* Read through the store itself. */
static int cat_read(struct source *src, const char *path)
{
	static char buf[1 << 20];
	ssize_t n = 0;
	int err = 0;

	for (uint64_t off = 0; !err && off < src->len; off += (uint64_t)n) {
		n = src->ops->read(src->ctx, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			return fail(path, n ? (int)n : -E_CHANGED);
		err = write_all(STDOUT_FILENO, buf, (size_t)n);
	}
	return err ? fail("stdout", err) : ST_OK;
}

/* The pager, the window, and the options it was made with. */
struct cat {
	struct up_pager *p;
	size_t win;
	struct pager_opts po;
	struct up_config cfg;
};

static int cat_store(struct up_pager *p, size_t win, struct source *src,
		     const char *path)
{
	char *m;
	int err = source_map(p, src, PROT_READ, (void **)&m);

	if (err == -EOPNOTSUPP)
		return cat_read(src, path);
	if (err)
		return fail_up(path, err);
	up_pager_advise(p, m, src->len, MADV_SEQUENTIAL);
	for (uint64_t off = 0; !err && off < src->len; off += win)
		err = write_all(STDOUT_FILENO, m + off,
				src->len - off < win ? src->len - off : win);
	up_pager_unmap(p, m, src->len);
	/* The kernel could not read the mapping: the store failed. */
	if (err == -EFAULT)
		return fail(path, -EIO);
	return err ? fail("stdout", err) : ST_OK;
}

/* Is fd the file stdout writes to?  (cat f >> f would never end.) */
static bool is_stdout(const struct stat *st)
{
	struct stat out;

	return !fstat(STDOUT_FILENO, &out) && S_ISREG(out.st_mode) &&
	       out.st_dev == st->st_dev && out.st_ino == st->st_ino;
}

/* A compressed store, through a pager of its own where its page differs
 * (see source_page()). */
static int cat_stored(struct cat *c, struct source *src, const char *path)
{
	struct up_config cfg = c->cfg;
	struct up_pager *own;
	int status;

	if (!source_page(&cfg, &c->po) || up_pager_open(&own, &cfg))
		return cat_store(c->p, c->win, src, path);
	status = cat_store(own, c->win, src, path);
	if (up_pager_close(own) && !status)
		status = fail_up(path, -EIO);
	return status;
}

static int cat_fd(struct cat *c, int fd, const char *path)
{
	struct up_pager *p = c->p;
	size_t win = c->win;
	struct source src;
	struct stat st;
	int status = ST_OK;

	if (fstat(fd, &st))
		return fail(path, -errno);
	if (S_ISDIR(st.st_mode))
		return fail(path, -EISDIR);
	if (!S_ISREG(st.st_mode) || !st.st_size)
		return cat_stream(fd, path);
	if (is_stdout(&st))
		return msg("%s: input file is output file", path), ST_FAIL;
	if (source_open(&src, fd, &st, false, path))
		return ST_FAIL;
	if (src.ops) {
		status = cat_stored(c, &src, path);
		source_close(&src);
		return status;
	}
	for (off_t off = 0; !status && off < st.st_size; off += (off_t)win) {
		size_t n = st.st_size - off < (off_t)win
				   ? (size_t)(st.st_size - off) : win;

		status = cat_window(p, fd, path, off, n);
	}
	return status;
}

static int cat_file(struct cat *c, const char *path)
{
	int fd, status;

	if (!strcmp(path, "-"))
		return cat_fd(c, STDIN_FILENO, "stdin");
	if (is_rados(path)) {
		struct source src;

		if (source_rados(&src, path, false, false, 0))
			return ST_FAIL;
		status = src.len ? cat_stored(c, &src, path) : ST_OK;
		source_close(&src);
		return status;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, -errno);
	status = cat_fd(c, fd, path);
	close(fd);
	return status;
}

/* A cat option (a pager option) for get_opts(). */
static int cat_opt(void *po, int c, const char *arg)
{
	return pager_opt(po, c, arg);
}

int cmd_cat(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		PAGER_LONGOPTS,
		{ 0 }
	};
	struct cat c = { 0 };
	int st, status = ST_OK;

	if ((st = get_opts(argc, argv, ":h", lo, cat_opt, &c.po)) >= 0)
		return st;
	if (optind == argc)
		return usage("needs a FILE");
	if ((st = pager_config(&c.po, CAT_BUDGET, &c.cfg)) ||
	    (st = pager_open(&c.cfg, &c.p)))
		return st;
	/* A window of whole pages, at most the budget. */
	c.win = c.cfg.budget < CAT_WINDOW ? c.cfg.budget : CAT_WINDOW;
	c.win = c.win / c.cfg.page_len * c.cfg.page_len;
	for (int i = optind; i < argc; i++)
		if (cat_file(&c, argv[i]))
			status = ST_FAIL;
	if (up_pager_close(c.p) && !status)
		status = fail_up("pager", -EIO);
	return status;
}
