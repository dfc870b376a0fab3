/* SPDX-License-Identifier: MIT */
/*
 * upager - the command-line tool: cp, cat, scan, info and bench, one
 * function each, dispatched from the table at the end of this file.
 *
 * The tool owns option parsing, messages and exit statuses, and what a
 * program needs around the library: temporary files removed on an error or
 * a signal, SIGBUS from a file that shrinks under a mapping, a progress bar.
 * It uses only the public header include/upager.h, plus plain system calls:
 * the kernel's own mmap(2), read(2) and copy_file_range(2) are the peers
 * that cp and bench set beside upager.
 *
 * Exit status: 0 success, 1 a runtime or I/O error (the message names the
 * file and the reason), 2 a usage error (a bad option, operand or number).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <linux/userfaultfd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "upager.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

enum { ST_OK = 0, ST_FAIL = 1, ST_USAGE = 2 };

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

/* A copy's error when its source changes size under it; beyond errno. */
#define E_CHANGED 4095

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;	/* the operands and options, one line */
	const char *summary;	/* for the list of commands */
	const char *help;	/* the options, for NAME --help */
};

static const struct cmd *cur;	/* the command running, for messages */

/* ---- messages --------------------------------------------------------- */

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "upager%s%s: ", cur ? " " : "", cur ? cur->name : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2))) static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* A usage error: the message, where to look, and status 2. */
__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: upager %s%s%s\nTry 'upager %s --help'.\n",
		cur->name, *cur->synopsis ? " " : "", cur->synopsis, cur->name);
	return ST_USAGE;
}

/* err: a negative errno, or -E_CHANGED. */
static const char *reason(int err)
{
	if (err == -E_CHANGED)
		return "the file changed size while being read";
	return strerror(-err);
}

/* "PATH: reason" for a failed system call; status 1. */
static int fail(const char *path, int err)
{
	msg("%s: %s", path, reason(err));
	return ST_FAIL;
}

/* "PATH: reason" for a failed upager call; status 1. */
static int fail_up(const char *path, int err)
{
	msg("%s: %s", path, up_strerror(err));
	return ST_FAIL;
}

static int help(void)
{
	printf("usage: upager %s%s%s\n\n%s\n\n%s", cur->name,
	       *cur->synopsis ? " " : "", cur->synopsis, cur->summary,
	       cur->help);
	return ST_OK;
}

/* An unknown option or one without its value, from getopt_long(). */
static int bad_opt(int c, char **argv)
{
	const char *o = argv[optind - 1];
	char s[3] = { '-', (char)optopt, 0 };

	if (optopt && o[0] == '-' && o[1] != '-')
		o = s;
	if (c == ':')
		return usage("%s: needs a value", o);
	return usage("%s: unknown option", o);
}

/*
 * A command's options, from getopt_long() with the short options shorts
 * and the long ones lo: --help prints the command's help; every other
 * option goes to take(ctx, c, optarg) (none if take is NULL), which
 * returns 0, a status, or -1 for an option it does not know: a usage
 * error, as is one without its value.  Returns -1 when every option was
 * taken, else the status the command exits with.
 */
static int get_opts(int argc, char **argv, const char *shorts,
		    const struct option *lo,
		    int (*take)(void *ctx, int c, const char *arg), void *ctx)
{
	int c, st;

	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h')
			return help();
		if (!take || (st = take(ctx, c, optarg)) < 0)
			return bad_opt(c, argv);
		if (st)
			return st;
	}
	return -1;
}

/* ---- numbers, time, text ---------------------------------------------- */

/* N with an optional K, M, G or T suffix (powers of 1024, KiB also). */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	uint64_t v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		mul <<= 10 * (u - units + 1);
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static int opt_size(const char *opt, const char *arg, uint64_t *out)
{
	int err = parse_size(arg, out);

	if (err == -ERANGE)
		return usage("%s %s: too large", opt, arg);
	if (err)
		return usage("%s %s: not a size (a whole number, optionally "
			     "followed by K, M, G or T)", opt, arg);
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now(void)
{
	return (double)now_ns() / 1e9;
}

static size_t sys_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* 4096 -> "4 KiB"; whole units only where exact. */
static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (u < 4 && v >= 1024 && !(v % 1024)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

/* 1500 -> "1.5 us". */
static const char *fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The last component of a path, without trailing slashes' worries. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && s[1] ? s + 1 : path;
}

/* ---- I/O helpers ------------------------------------------------------ */

/* pread exactly len bytes: 0, -errno, or -E_CHANGED if the file ends. */
static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -E_CHANGED;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open a regular file; print why not and return -1. */
static int open_regular(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return fail(path, -errno), -1;
	if (fstat(fd, st)) {
		fail(path, -errno);
	} else if (S_ISDIR(st->st_mode)) {
		fail(path, -EISDIR);
	} else if (!S_ISREG(st->st_mode)) {
		msg("%s: not a regular file", path);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* ---- signals: cleanup, SIGBUS ----------------------------------------- */

/*
 * Files and a cgroup to remove if a signal ends the tool, and a child to
 * kill first.  Only async-signal-safe calls touch them in the handler.
 */
static char clean_path[2][PATH_MAX];
static char clean_cg[PATH_MAX];
static volatile pid_t clean_pid;
static sigjmp_buf *volatile bus_jmp;

static void cleanup_now(void)
{
	int status;

	for (int i = 0; i < 2; i++)
		if (clean_path[i][0])
			unlink(clean_path[i]);
	if (clean_pid > 0) {
		kill(clean_pid, SIGKILL);
		waitpid(clean_pid, &status, 0);
	}
	if (clean_cg[0])
		rmdir(clean_cg);
}

static void on_signal(int sig)
{
	cleanup_now();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A SIGBUS in a guarded section: the mapped file shrank.  Elsewhere the
 * default action, after the access is retried. */
static void on_sigbus(int sig)
{
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	signal(sig, SIG_DFL);
}

static void signals_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
}

/* Remember path for removal on a signal; slot 0 or 1. */
static void clean_set(int slot, const char *path)
{
	clean_path[slot][0] = 0;
	if (path)
		snprintf(clean_path[slot], PATH_MAX, "%s", path);
}

/* ---- progress bar ----------------------------------------------------- */

struct progress {
	bool on;
	uint64_t total;
	double t0, last;
};

/* Shown only on a terminal, for more than 64 MiB. */
static void prog_start(struct progress *pr, uint64_t total, bool allowed)
{
	pr->on = allowed && total > 64 * MiB && isatty(STDERR_FILENO);
	pr->total = total;
	pr->t0 = now();
	pr->last = 0;
}

static void prog_show(struct progress *pr, uint64_t done)
{
	static const char bar[] = "##############################";
	int w = (int)sizeof(bar) - 1, fill;
	double t;

	if (!pr->on)
		return;
	t = now();
	if (t - pr->last < 0.1 && done < pr->total)
		return;
	pr->last = t;
	fill = (int)(done * (uint64_t)w / pr->total);
	fprintf(stderr, "\r[%.*s%*s] %3d%% %6.0f MiB/s ", fill, bar, w - fill,
		"", (int)(done * 100 / pr->total),
		(double)done / MiB / (t - pr->t0 + 1e-9));
}

static void prog_end(struct progress *pr)
{
	if (pr->on)
		fputs("\r\033[K", stderr);
}

/* ---- pager options, shared by cp, cat and scan ------------------------ */

struct pager_opts {
	uint64_t budget;	/* 0: the command's default */
	uint64_t page_len;	/* 0: the library's default */
	enum up_backend backend;
};

#define PAGER_LONGOPTS                                                 \
	{ "budget", required_argument, NULL, 'b' },                    \
	{ "page-size", required_argument, NULL, 'p' },                 \
	{ "backend", required_argument, NULL, 'B' }

#define PAGER_HELP                                                          \
	"  --budget N      most page cache the pager may hold (K, M, G)\n"    \
	"  --page-size N   the pager's page: a power of two from 4K to 2M\n" \
	"  --backend B     auto (default), uffd or kernel\n"

static int opt_backend(const char *arg, enum up_backend *b)
{
	if (!strcmp(arg, "auto"))
		*b = UP_BACKEND_AUTO;
	else if (!strcmp(arg, "uffd") || !strcmp(arg, "userfaultfd"))
		*b = UP_BACKEND_UFFD;
	else if (!strcmp(arg, "kernel"))
		*b = UP_BACKEND_KERNEL;
	else
		return usage("--backend %s: not auto, uffd or kernel", arg);
	return 0;
}

/* A pager option: its status (0 or 2); -1 if c is not one. */
static int pager_opt(struct pager_opts *po, int c, const char *arg)
{
	uint64_t *v = c == 'b' ? &po->budget : &po->page_len;
	int st;

	switch (c) {
	case 'b':
		st = opt_size("--budget", arg, v);
		if (!st && !*v)
			st = usage("--budget %s: must be more than 0", arg);
		return st;
	case 'p':
		st = opt_size("--page-size", arg, v);
		if (!st &&
		    (*v < UP_PAGE_MIN || *v > UP_PAGE_MAX || !is_pow2(*v)))
			st = usage("--page-size %s: must be a power of two "
				   "from 4K to 2M", arg);
		return st;
	case 'B':
		return opt_backend(arg, &po->backend);
	}
	return -1;
}

/* The configuration the options ask for (dflt_budget 0: the library's
 * default), checked for a budget smaller than a page (status 2). */
static int pager_config(const struct pager_opts *po, uint64_t dflt_budget,
			struct up_config *cfg)
{
	char b[32], p[32];

	up_config_init(cfg);
	if (po->budget || dflt_budget)
		cfg->budget = po->budget ? po->budget : dflt_budget;
	if (po->page_len)
		cfg->page_len = po->page_len;
	cfg->backend = po->backend;
	if (cfg->budget < cfg->page_len)
		return usage("--budget %s is smaller than one page (%s)",
			     fmt_size(b, sizeof(b), cfg->budget),
			     fmt_size(p, sizeof(p), cfg->page_len));
	return 0;
}

static int pager_open(const struct up_config *cfg, struct up_pager **p)
{
	int err = up_pager_open(p, cfg);

	if (!err)
		return 0;
	fail_up("cannot start a pager", err);
	if (err == -EPERM)
		msg("'upager info' says why, and how to permit it");
	return ST_FAIL;
}

/* ==== cp =============================================================== */

/*
 * cp copies SRC into a temporary file beside DST, then renames it over
 * DST, so DST is either the whole copy or untouched: on any error (ENOSPC,
 * a source that changes size, a signal) the temporary file is removed.
 * Only the data extents of SRC (SEEK_DATA/SEEK_HOLE) are copied into a
 * file already truncated to SRC's size, so holes stay holes.
 */

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
	bool force, verify, progress;
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

static int up_memcpy(struct copy *c, off_t off, off_t len)
{
	while (len > 0) {
		size_t n = len < (off_t)CP_CHUNK ? (size_t)len : CP_CHUNK;

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
	return a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
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

static int cp_run(struct copy *c, const struct stat *st)
{
	char tmp[PATH_MAX];
	int status;

	c->len = st->st_size;
	c->dfd = make_temp(c->dst, tmp);
	if (c->dfd < 0)
		return ST_FAIL;
	status = copy_data(c, st);
	if (!status && c->o->verify)
		status = verify(c);
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
	if (st.st_dev == sst->st_dev && st.st_ino == sst->st_ino)
		return msg("%s and %s are the same file", src, out), ST_FAIL;
	if (S_ISDIR(st.st_mode))
		return fail(out, -EISDIR);
	if (!o->force)
		return msg("%s: %s (use -f to overwrite it)", out,
			   strerror(EEXIST)), ST_FAIL;
	return ST_OK;
}

static int cp_file(const struct cp_opts *o, const char *src, const char *dst)
{
	struct copy c = { .o = o, .src = src, .dfd = -1 };
	char out[PATH_MAX];
	struct stat st;
	int status;

	c.sfd = open_regular(src, O_RDONLY, &st);
	if (c.sfd < 0)
		return ST_FAIL;
	status = cp_target(o, src, &st, dst, out);
	c.dst = out;
	if (!status)
		status = cp_run(&c, &st);
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
	}
	return -1;
}

static int cmd_cp(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "verify", no_argument, NULL, 'V' },
		{ "no-progress", no_argument, NULL, 'P' },
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

/* ==== cat ============================================================== */

/*
 * cat maps each file a window at a time through one pager, write(2)s the
 * window to stdout and unmaps it, so memory stays within the budget
 * whatever the file's size.  Files that cannot be mapped (pipes, empty
 * /proc files, "-" for stdin) are read with read(2).
 */

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

/* Is fd the file stdout writes to?  (cat f >> f would never end.) */
static bool is_stdout(const struct stat *st)
{
	struct stat out;

	return !fstat(STDOUT_FILENO, &out) && S_ISREG(out.st_mode) &&
	       out.st_dev == st->st_dev && out.st_ino == st->st_ino;
}

static int cat_fd(struct up_pager *p, size_t win, int fd, const char *path)
{
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
	for (off_t off = 0; !status && off < st.st_size; off += (off_t)win) {
		size_t n = st.st_size - off < (off_t)win
				   ? (size_t)(st.st_size - off) : win;

		status = cat_window(p, fd, path, off, n);
	}
	return status;
}

static int cat_file(struct up_pager *p, size_t win, const char *path)
{
	int fd, status;

	if (!strcmp(path, "-"))
		return cat_fd(p, win, STDIN_FILENO, "stdin");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, -errno);
	status = cat_fd(p, win, fd, path);
	close(fd);
	return status;
}

/* A cat option (a pager option) for get_opts(). */
static int cat_opt(void *po, int c, const char *arg)
{
	return pager_opt(po, c, arg);
}

static int cmd_cat(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		PAGER_LONGOPTS,
		{ 0 }
	};
	struct pager_opts po = { 0 };
	struct up_config cfg;
	struct up_pager *p;
	size_t win;
	int st, status = ST_OK;

	if ((st = get_opts(argc, argv, ":h", lo, cat_opt, &po)) >= 0)
		return st;
	if (optind == argc)
		return usage("needs a FILE");
	if ((st = pager_config(&po, CAT_BUDGET, &cfg)) ||
	    (st = pager_open(&cfg, &p)))
		return st;
	/* A window of whole pages, at most the budget. */
	win = cfg.budget < CAT_WINDOW ? cfg.budget : CAT_WINDOW;
	win = win / cfg.page_len * cfg.page_len;
	for (int i = optind; i < argc; i++)
		if (cat_file(p, win, argv[i]))
			status = ST_FAIL;
	if (up_pager_close(p) && !status)
		status = fail_up("pager", -EIO);
	return status;
}

/* ==== scan ============================================================= */

/*
 * scan maps a file through a pager, reads (or, with --write, rewrites with
 * its own value) one byte in each system page, in order or at random, and
 * prints the pager's statistics.  The tool times every access that enters
 * a different pager page than the access before, with clock_gettime(), and
 * prints those times as a histogram with power-of-two buckets: faults and
 * cache hits show as separate humps.
 */

#define HIST_NR 48

struct scan {
	struct pager_opts po;
	struct up_config cfg;	/* made from po */
	const char *path;
	bool random, write;
	uint64_t count;		/* accesses; 0: one per system page */
	uint64_t seed;
	/* results */
	struct up_pager *p;
	char *map;
	uint64_t len, sum, timed_nr;
	uint64_t hist[HIST_NR];
	double secs;
};

static unsigned hist_bucket(uint64_t ns)
{
	unsigned k = 63 - (unsigned)__builtin_clzll(ns | 1);

	return k < HIST_NR ? k : HIST_NR - 1;
}

/* One access: read the byte, and with --write store it back. */
static inline uint8_t touch(volatile uint8_t *a, bool write)
{
	uint8_t v = *a;

	if (write)
		*a = v;
	return v;
}

/* The kernel backend has no pager pages: the kernel's are the unit. */
static bool is_kernel(struct up_pager *p)
{
	return !strcmp(up_pager_backend(p), "kernel");
}

static void scan_loop(struct scan *s)
{
	uint64_t sp = sys_page(), pages = (s->len + sp - 1) / sp;
	uint64_t nr = s->count ? s->count : pages, rs = s->seed;
	uint64_t last = UINT64_MAX, t0 = now_ns();
	uint64_t plen = is_kernel(s->p) ? sp : s->cfg.page_len;

	for (uint64_t i = 0; i < nr; i++) {
		uint64_t pg = s->random ? rnd_next(&rs) % pages : i % pages;
		uint64_t off = pg * sp, t;
		volatile uint8_t *a = (volatile uint8_t *)s->map + off;

		if (off / plen == last) {
			s->sum = s->sum * 31 + touch(a, s->write);
			continue;
		}
		last = off / plen;
		t = now_ns();
		s->sum = s->sum * 31 + touch(a, s->write);
		s->hist[hist_bucket(now_ns() - t)]++;
		s->timed_nr++;
	}
	s->secs = (double)(now_ns() - t0) / 1e9;
}

/* The loop, with a SIGBUS (the file shrank) reported. */
static int scan_guarded(struct scan *s)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return fail(s->path, -E_CHANGED);
	}
	bus_jmp = &jb;
	scan_loop(s);
	bus_jmp = NULL;
	return ST_OK;
}

static void print_hist(const struct scan *s)
{
	static const char bar[] = "########################################";
	uint64_t max = 0;
	unsigned lo = HIST_NR, hi = 0;
	char a[16], b[16];

	for (unsigned k = 0; k < HIST_NR; k++) {
		if (!s->hist[k])
			continue;
		lo = k < lo ? k : lo;
		hi = k;
		max = s->hist[k] > max ? s->hist[k] : max;
	}
	printf("\naccess time of the %llu accesses that entered another page "
	       "(measured by the tool):\n", (unsigned long long)s->timed_nr);
	for (unsigned k = lo; k <= hi && max; k++) {
		int w = (int)(s->hist[k] * 40 / max);

		if (s->hist[k] && !w)
			w = 1;
		printf("  %8s - %-8s |%-40.*s| %llu\n",
		       fmt_ns(a, sizeof(a), (double)(1ull << k)),
		       fmt_ns(b, sizeof(b), (double)(2ull << k)), w, bar,
		       (unsigned long long)s->hist[k]);
	}
}

static void print_scan(const struct scan *s, const struct up_stats *st)
{
	char a[32], b[32];

	printf("file         %s, %llu bytes\n", s->path,
	       (unsigned long long)s->len);
	printf("backend      %s%s%s\n", up_pager_backend(s->p),
	       *up_pager_note(s->p) ? ": " : "", up_pager_note(s->p));
	if (is_kernel(s->p))
		printf("pager        none: the kernel serves the faults, the "
		       "budget does not apply\n");
	else
		printf("pager        page %s, budget %s (%llu pages)\n",
		       fmt_size(a, sizeof(a), st->page_len),
		       fmt_size(b, sizeof(b), s->cfg.budget),
		       (unsigned long long)st->budget_pages);
	printf("pattern      %s %s, seed %llu\n", s->random ? "random" : "seq",
	       s->write ? "write" : "read", (unsigned long long)s->seed);
	printf("time         %.3f s, %.1f MiB/s of file\n", s->secs,
	       (double)s->len / MiB / (s->secs + 1e-9));
	printf("faults       %llu read, %llu write\n",
	       (unsigned long long)st->faults_read,
	       (unsigned long long)st->faults_write);
	printf("fills        %llu (%llu bytes read)\n",
	       (unsigned long long)st->fills,
	       (unsigned long long)st->bytes_read);
	printf("evictions    %llu\n", (unsigned long long)st->evictions);
	printf("write-backs  %llu (%llu bytes written)\n",
	       (unsigned long long)st->writebacks,
	       (unsigned long long)st->bytes_written);
	printf("resident     %llu pages, %llu dirty\n",
	       (unsigned long long)st->resident, (unsigned long long)st->dirty);
	printf("fault time   p50 %s, p99 %s (measured by the pager)\n",
	       fmt_ns(a, sizeof(a), (double)st->fill_ns_p50),
	       fmt_ns(b, sizeof(b), (double)st->fill_ns_p99));
	printf("checksum     %016llx\n", (unsigned long long)s->sum);
	print_hist(s);
}

/* Map, run, sync a --write, print; the pager is open. */
static int scan_mapped(struct scan *s, int fd)
{
	int prot = PROT_READ | (s->write ? PROT_WRITE : 0);
	struct up_stats st;
	int err, status;

	err = up_pager_map(s->p, NULL, s->len, prot, MAP_SHARED, fd, 0,
			   (void **)&s->map);
	if (err)
		return fail_up(s->path, err);
	up_pager_advise(s->p, s->map, s->len,
			s->random ? MADV_RANDOM : MADV_SEQUENTIAL);
	status = scan_guarded(s);
	if (!status && s->write &&
	    (err = up_pager_sync(s->p, s->map, s->len, MS_SYNC)))
		status = fail_up(s->path, err);
	if (!status && (err = up_pager_stats(s->p, &st)))
		status = fail_up("stats", err);
	if (!status)
		print_scan(s, &st);
	err = up_pager_unmap(s->p, s->map, s->len);
	if (err && !status)
		status = fail_up(s->path, err);
	return status;
}

static int scan_file(struct scan *s)
{
	struct stat st;
	int fd, status, err;

	fd = open_regular(s->path, s->write ? O_RDWR : O_RDONLY, &st);
	if (fd < 0)
		return ST_FAIL;
	s->len = (uint64_t)st.st_size;
	if (!s->len) {
		close(fd);
		return msg("%s: the file is empty", s->path), ST_FAIL;
	}
	status = pager_open(&s->cfg, &s->p);
	if (!status)
		status = scan_mapped(s, fd);
	if (s->p && (err = up_pager_close(s->p)) && !status)
		status = fail_up(s->path, err);
	close(fd);
	return status;
}

/* A scan option for get_opts(). */
static int scan_opt(void *ctx, int c, const char *arg)
{
	struct scan *s = ctx;
	int st = pager_opt(&s->po, c, arg);

	if (st >= 0)
		return st;
	switch (c) {
	case 'P':
		if (strcmp(arg, "seq") && strcmp(arg, "random"))
			return usage("--pattern %s: not seq or random", arg);
		s->random = !strcmp(arg, "random");
		return 0;
	case 'w':
		s->write = true;
		return 0;
	case 'n':
		if (opt_size("--count", arg, &s->count))
			return ST_USAGE;
		return s->count ? 0 : usage("--count %s: must be more than 0",
					    arg);
	case 's':
		return opt_size("--seed", arg, &s->seed);
	}
	return -1;
}

static int cmd_scan(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pattern", required_argument, NULL, 'P' },
		{ "write", no_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		PAGER_LONGOPTS,
		{ 0 }
	};
	struct scan s = { .seed = (uint64_t)time(NULL) };
	int st;

	if ((st = get_opts(argc, argv, ":h", lo, scan_opt, &s)) >= 0)
		return st;
	if (argc - optind != 1)
		return usage("needs one FILE");
	s.path = argv[optind];
	if ((st = pager_config(&s.po, 0, &s.cfg)))
		return st;
	return scan_file(&s);
}

/* ==== info ============================================================= */

/*
 * info reports what this machine offers upager.  The userfaultfd features
 * come from the kernel itself: UFFDIO_API with features = 0 returns every
 * feature the kernel has.  The bit values are spelled out here because the
 * installed <linux/userfaultfd.h> may be older than the running kernel.
 */

static const struct uffd_feature {
	uint64_t bit;
	const char *name;
} uffd_features[] = {
	{ 1ull << 5, "missing faults on shmem (MISSING_SHMEM)" },
	{ 1ull << 4, "missing faults on hugetlbfs (MISSING_HUGETLBFS)" },
	{ 1ull << 10, "minor faults on shmem (MINOR_SHMEM)" },
	{ 1ull << 9, "minor faults on hugetlbfs (MINOR_HUGETLBFS)" },
	{ 1ull << 0, "write-protect, anonymous (PAGEFAULT_FLAG_WP)" },
	{ 1ull << 12, "write-protect, shmem (WP_HUGETLBFS_SHMEM)" },
	{ 1ull << 13, "write-protect unpopulated (WP_UNPOPULATED)" },
	{ 1ull << 15, "async write-protect (WP_ASYNC)" },
	{ 1ull << 14, "poison (POISON)" },
	{ 1ull << 16, "move (MOVE)" },
	{ 1ull << 7, "SIGBUS instead of events (SIGBUS)" },
	{ 1ull << 8, "faulting thread id (THREAD_ID)" },
	{ 1ull << 11, "exact fault address (EXACT_ADDRESS)" },
};

static void row(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-22s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A long text under a label, wrapped at words to 80 columns. */
static void row_wrap(const char *label, const char *text)
{
	const int width = 80 - 22;

	while (*text) {
		int n = (int)strlen(text);

		if (n > width) {
			n = width;
			while (n > 0 && text[n] != ' ')
				n--;
			if (!n)
				n = width;
		}
		row(label, "%.*s", n, text);
		label = "";
		text += n;
		while (*text == ' ')
			text++;
	}
}

/* A userfaultfd by whichever way this process is allowed; -errno. */
static int uffd_open(const char **how)
{
	int fd, dev, err;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return *how = "userfaultfd(2)", fd;
	err = -errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return *how = "/dev/userfaultfd", fd;
	}
	fd = (int)syscall(SYS_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd >= 0)
		return *how = "userfaultfd(2), user-mode only", fd;
	return err;
}

static void info_features(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	const char *how = "";
	int fd = uffd_open(&how);

	if (fd < 0) {
		row("uffd features", "unknown: no userfaultfd (%s)",
		    strerror(-fd));
		return;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		row("uffd features", "unknown: UFFDIO_API: %s",
		    strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	row("uffd features", "0x%llx (asked through %s)",
	    (unsigned long long)api.features, how);
	row("", "%-3s missing faults, anonymous (always)", "yes");
	for (size_t i = 0; i < sizeof(uffd_features) / sizeof(*uffd_features);
	     i++)
		row("", "%-3s %s",
		    api.features & uffd_features[i].bit ? "yes" : "no",
		    uffd_features[i].name);
}

static void info_uffd(void)
{
	char why[512];
	int err = up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why));

	if (!err) {
		row("userfaultfd", "permitted");
		return;
	}
	row("userfaultfd", "NOT permitted (%s)", strerror(-err));
	row_wrap("", why);
	err = up_backend_probe(UP_BACKEND_UFFD, UP_CONFIG_USER_MODE_OK, why,
			       sizeof(why));
	row("user-mode only", "%s", err ? "not permitted either"
				      : "permitted (UP_CONFIG_USER_MODE_OK)");
}

/* The first line of a file, without its newline, or "" */
static char *first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void info_thp(void)
{
	static const char dir[] = "/sys/kernel/mm/transparent_hugepage/";
	char path[128], buf[256];

	snprintf(path, sizeof(path), "%senabled", dir);
	row("THP enabled", "%s", *first_line(path, buf, sizeof(buf)) ? buf
							 : "not available");
	snprintf(path, sizeof(path), "%sshmem_enabled", dir);
	row("THP shmem_enabled", "%s", *first_line(path, buf, sizeof(buf))
					       ? buf : "not available");
}

/* This process's group for a v1 controller ("memory") or v2 (""). */
static bool own_cgroup(const char *ctl, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024], *a, *b;
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		a = strchr(line, ':');
		b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = 0;
		found = !strcmp(a + 1, ctl);
		if (found)
			snprintf(out, len, "%s", b + 1);
	}
	if (f)
		fclose(f);
	return found;
}

static void info_cgroup_v1(void)
{
	static const char root[] = "/sys/fs/cgroup/memory";
	char grp[512], path[1024], limit[64];

	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK)) {
		row("memory cgroup v1", "none");
		return;
	}
	if (!own_cgroup("memory", grp, sizeof(grp)))
		snprintf(grp, sizeof(grp), "?");
	snprintf(path, sizeof(path), "%s%s/memory.limit_in_bytes", root, grp);
	first_line(path, limit, sizeof(limit));
	if (strlen(limit) >= 18)
		snprintf(limit, sizeof(limit), "none");
	row("memory cgroup v1", "%s, this process in %s (limit %s)", root,
	    grp, *limit ? limit : "unknown");
	row("", "bench confines the kernel there: %s",
	    geteuid() ? "no, not root"
		      : access(root, W_OK) ? "no, not writable" : "yes");
}

static void info_cgroup_v2(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	char path[1024], ctl[512], grp[512], max[64];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", roots[i]);
		if (access(path, F_OK))
			continue;
		first_line(path, ctl, sizeof(ctl));
		if (!own_cgroup("", grp, sizeof(grp)))
			snprintf(grp, sizeof(grp), "?");
		snprintf(path, sizeof(path), "%s%s/memory.max", roots[i], grp);
		first_line(path, max, sizeof(max));
		row("memory cgroup v2", "%s, this process in %s, memory "
		    "controller %s (memory.max %s)", roots[i], grp,
		    strstr(ctl, "memory") ? "enabled" : "not enabled",
		    *max ? max : "absent");
		return;
	}
	row("memory cgroup v2", "none");
}

static void info_auto(void)
{
	struct up_config cfg;
	struct up_pager *p;
	int err;

	up_config_init(&cfg);
	err = up_pager_open(&p, &cfg);
	if (err) {
		row("auto backend", "none: %s", up_strerror(err));
		return;
	}
	row("auto backend", "%s", up_pager_backend(p));
	row_wrap("", up_pager_note(p));
	up_pager_close(p);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct utsname u;
	int st;

	if ((st = get_opts(argc, argv, ":h", lo, NULL, NULL)) >= 0)
		return st;
	if (optind != argc)
		return usage("takes no operands");
	uname(&u);
	row("upager", "%d.%d", UP_VERSION_MAJOR, UP_VERSION_MINOR);
	row("kernel", "%s %s %s", u.sysname, u.release, u.machine);
	row("page size", "%zu", sys_page());
	info_uffd();
	info_features();
	info_thp();
	info_cgroup_v1();
	info_cgroup_v2();
	info_auto();
	return ST_OK;
}

/* ==== bench ============================================================ */

/*
 * bench runs every workload on every engine, interleaved rep by rep, and
 * prints each engine's median throughput as a ratio to the kernel's mmap:
 * these machines are shared and noisy, and only ratios from one run mean
 * anything.  Every run's checksum must equal the expected one, which is
 * also the kernel's; a wrong result is marked WRONG, never shown as a
 * speed, and makes the exit status 1.
 *
 * The data file (pattern: word i holds (i + 1) * GOLDEN) is page-cached
 * for the first three workloads, which so measure the cost of mapping and
 * faulting rather than the disk.  rand-4x starts each run with the file
 * dropped from the page cache, in a fresh child process; the kernel's and
 * read()'s children are moved into a memory cgroup limited to upager's
 * budget (plus a little slack for the process itself) when one can be
 * made.  The upager children are not: their pager holds at most its
 * budget, but its misses read through the page cache, which is not
 * confined.
 */

enum { E_KERNEL, E_READ, E_UP4K, E_UP64K, E_UP2M, E_NR };
enum { W_SEQ, W_RESCAN, W_RAND, W_RAND4X, W_WRITE, W_NR };

#define BENCH_REPS_MAX 16
#define BENCH_BUF (1 * MiB)
#define GOLDEN 0x9e3779b97f4a7c15ull
#define WRITE_XOR 0x5555555555555555ull
#define CG_ROOT "/sys/fs/cgroup/memory"
#define CG_SLACK (16 * MiB)
#define RAND_SEED 42

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static const struct engine_def {
	const char *name;
	uint64_t page_len;	/* 0: not an upager pager */
	const char *color;
} engines[E_NR] = {
	[E_KERNEL] = { "kernel", 0, "#555555" },
	[E_READ] = { "read", 0, "#999999" },
	[E_UP4K] = { "upager-4K", 4 * KiB, "#9ecae1" },
	[E_UP64K] = { "upager-64K", 64 * KiB, "#4292c6" },
	[E_UP2M] = { "upager-2M", 2 * MiB, "#08519c" },
};

struct sample {
	double secs;
	double work;		/* bytes or accesses */
	uint64_t sum;
	int err;
	char backend[16];
};

struct cell {
	double v[BENCH_REPS_MAX];
	int nr;
	uint64_t sum;
	bool wrong, confined;
	int err;
	char backend[16];
};

struct bench {
	bool quick;
	const char *out, *dir;
	uint64_t size;		/* --size; 0: the default */
	const char *size_arg;	/* --size as given, for its message */
	uint64_t len;		/* seq-first, rescan, rand, seq-write */
	uint64_t len4x, budget4x;	/* rand-4x */
	uint64_t rand_nr, rand4x_nr;
	int reps;
	bool warm;
	int fd;			/* the data file, len4x bytes */
	char data[PATH_MAX], wfile[PATH_MAX];
	const char *nocg;	/* why rand-4x is not confined, or NULL */
	uint64_t expect[W_NR];
	struct cell cells[W_NR][E_NR];
	int step, steps;
};

struct eng {
	int e;
	struct up_pager *p;
};

/* -- engines: the kernel's mmap, or an upager pager -- */

static int eng_open(struct eng *g, int e, uint64_t budget)
{
	struct up_config cfg;

	g->e = e;
	g->p = NULL;
	if (!engines[e].page_len)
		return 0;
	up_config_init(&cfg);
	cfg.budget = budget;
	cfg.page_len = engines[e].page_len;
	return up_pager_open(&g->p, &cfg);
}

static void eng_close(struct eng *g)
{
	if (g->p)
		up_pager_close(g->p);
}

static int eng_map(struct eng *g, int fd, uint64_t len, int prot, char **out)
{
	void *m;

	if (g->p)
		return up_pager_map(g->p, NULL, len, prot, MAP_SHARED, fd, 0,
				    (void **)out);
	m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

static int eng_unmap(struct eng *g, char *m, uint64_t len)
{
	if (g->p)
		return up_pager_unmap(g->p, m, len);
	return munmap(m, len) ? -errno : 0;
}

static int eng_sync(struct eng *g, char *m, uint64_t len)
{
	if (g->p)
		return up_pager_sync(g->p, m, len, MS_SYNC);
	return msync(m, len, MS_SYNC) ? -errno : 0;
}

static void eng_advise(struct eng *g, char *m, uint64_t len, int advice)
{
	if (g->p)
		up_pager_advise(g->p, m, len, advice);
	else
		madvise(m, len, advice);
}

/* -- the data and its checksums -- */

static uint64_t pat(uint64_t off)
{
	return (off / 8 + 1) * GOLDEN;
}

static void fill_words(uint64_t *w, uint64_t off, size_t nr, uint64_t x)
{
	for (size_t i = 0; i < nr; i++)
		w[i] = pat(off + i * 8) ^ x;
}

static uint64_t sum_words(const uint64_t *w, size_t nr)
{
	uint64_t s = 0;

	for (size_t i = 0; i < nr; i++)
		s += w[i];
	return s;
}

/* The sum of all words of [0, len) of fd, by pread(2). */
static int rd_sum(int fd, uint64_t len, uint64_t *sum)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	*sum = 0;
	for (uint64_t off = 0; !err && off < len; off += BENCH_BUF) {
		size_t n = len - off < BENCH_BUF ? len - off : BENCH_BUF;

		err = pread_all(fd, buf, n, (off_t)off);
		*sum += sum_words(buf, n / 8);
	}
	return err;
}

static uint64_t rand_off(uint64_t *rs, uint64_t len)
{
	return rnd_next(rs) % (len / 8) * 8;
}

static uint64_t rand_touch(const char *m, uint64_t len, uint64_t nr)
{
	uint64_t rs = RAND_SEED, sum = 0;

	for (uint64_t i = 0; i < nr; i++)
		sum += *(const volatile uint64_t *)(m + rand_off(&rs, len));
	return sum;
}

static int rand_pread(int fd, uint64_t len, uint64_t nr, uint64_t *sum)
{
	uint64_t rs = RAND_SEED, w;
	int err = 0;

	*sum = 0;
	for (uint64_t i = 0; !err && i < nr; i++) {
		err = pread_all(fd, &w, 8, (off_t)rand_off(&rs, len));
		*sum += w;
	}
	return err;
}

static void bench_expect(struct bench *b)
{
	uint64_t rs, s;

	s = 0;
	for (uint64_t off = 0; off < b->len; off += 8)
		s += pat(off);
	b->expect[W_SEQ] = b->expect[W_RESCAN] = s;
	s = 0;
	for (uint64_t off = 0; off < b->len; off += 8)
		s += pat(off) ^ WRITE_XOR;
	b->expect[W_WRITE] = s;
	rs = RAND_SEED;
	s = 0;
	for (uint64_t i = 0; i < b->rand_nr; i++)
		s += pat(rand_off(&rs, b->len));
	b->expect[W_RAND] = s;
	rs = RAND_SEED;
	s = 0;
	for (uint64_t i = 0; i < b->rand4x_nr; i++)
		s += pat(rand_off(&rs, b->len4x));
	b->expect[W_RAND4X] = s;
}

/* -- the workloads: each fills s->secs, s->work and s->sum -- */

/* Where an untimed scan's sum goes, so the compiler keeps the scan. */
static volatile uint64_t sink;

/* Map, optionally scan once untimed, then time a scan (with the map). */
static int scan_map(struct bench *b, struct eng *g, struct sample *s,
		    bool rescan)
{
	uint64_t t0 = now_ns();
	char *m;
	int err = eng_map(g, b->fd, b->len, PROT_READ, &m);

	if (err)
		return err;
	if (rescan) {
		sink = sum_words((const uint64_t *)m, b->len / 8);
		t0 = now_ns();
	}
	s->sum = sum_words((const uint64_t *)m, b->len / 8);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return eng_unmap(g, m, b->len);
}

static int w_scan(struct bench *b, struct eng *g, struct sample *s,
		  bool rescan)
{
	uint64_t t0;
	int err;

	s->work = (double)b->len;
	if (g->e != E_READ)
		return scan_map(b, g, s, rescan);
	if (rescan && (err = rd_sum(b->fd, b->len, &s->sum)))
		return err;
	t0 = now_ns();
	err = rd_sum(b->fd, b->len, &s->sum);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return err;
}

static int w_seq(struct bench *b, struct eng *g, struct sample *s)
{
	return w_scan(b, g, s, false);
}

static int w_rescan(struct bench *b, struct eng *g, struct sample *s)
{
	return w_scan(b, g, s, true);
}

static int w_random(struct bench *b, struct eng *g, struct sample *s,
		    uint64_t len, uint64_t nr)
{
	uint64_t t0 = now_ns();
	char *m;
	int err;

	s->work = (double)nr;
	if (g->e == E_READ) {
		err = rand_pread(b->fd, len, nr, &s->sum);
		s->secs = (double)(now_ns() - t0) / 1e9;
		return err;
	}
	if ((err = eng_map(g, b->fd, len, PROT_READ, &m)))
		return err;
	eng_advise(g, m, len, MADV_RANDOM);
	s->sum = rand_touch(m, len, nr);
	s->secs = (double)(now_ns() - t0) / 1e9;
	return eng_unmap(g, m, len);
}

static int w_rand(struct bench *b, struct eng *g, struct sample *s)
{
	return w_random(b, g, s, b->len, b->rand_nr);
}

static int w_rand4x(struct bench *b, struct eng *g, struct sample *s)
{
	return w_random(b, g, s, b->len4x, b->rand4x_nr);
}

static int write_read(int fd, uint64_t len)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	for (uint64_t off = 0; !err && off < len; off += BENCH_BUF) {
		size_t n = len - off < BENCH_BUF ? len - off : BENCH_BUF;

		fill_words(buf, off, n / 8, WRITE_XOR);
		err = pwrite_all(fd, buf, n, (off_t)off);
	}
	return err ? err : fdatasync(fd) ? -errno : 0;
}

static int write_map(struct eng *g, int fd, uint64_t len)
{
	char *m;
	int err = eng_map(g, fd, len, PROT_READ | PROT_WRITE, &m);

	if (err)
		return err;
	fill_words((uint64_t *)m, 0, len / 8, WRITE_XOR);
	err = eng_sync(g, m, len);
	eng_unmap(g, m, len);
	return err;
}

/* Write a fresh file and sync it; then checksum it, untimed. */
static int w_write(struct bench *b, struct eng *g, struct sample *s)
{
	int fd = open(b->wfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t t0;
	int err;

	if (fd < 0)
		return -errno;
	s->work = (double)b->len;
	t0 = now_ns();
	if (ftruncate(fd, (off_t)b->len))
		err = -errno;
	else if (g->e == E_READ)
		err = write_read(fd, b->len);
	else
		err = write_map(g, fd, b->len);
	s->secs = (double)(now_ns() - t0) / 1e9;
	if (!err)
		err = rd_sum(fd, b->len, &s->sum);
	close(fd);
	return err;
}

static const struct workload {
	const char *name;
	const char *title;
	const char *unit;
	double scale;		/* work per unit */
	int (*run)(struct bench *b, struct eng *g, struct sample *s);
} workloads[W_NR] = {
	[W_SEQ] = { "seq-first", "first-touch sequential scan (page-cached)",
		    "MiB/s", MiB, w_seq },
	[W_RESCAN] = { "rescan", "resident re-scan", "MiB/s", MiB, w_rescan },
	[W_RAND] = { "rand", "random 8-byte reads, file within the budget",
		     "k reads/s", 1e3, w_rand },
	[W_RAND4X] = { "rand-4x", "random 8-byte reads, file 4 x the budget, "
		       "cold", "k reads/s", 1e3, w_rand4x },
	[W_WRITE] = { "seq-write", "sequential write + msync(MS_SYNC)",
		      "MiB/s", MiB, w_write },
};

/* -- running: here, or in a child process (in the cgroup) -- */

static int put_file(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Make the memory cgroup for rand-4x; NULL, or why there is none. */
static const char *cg_make(const struct bench *b)
{
	char val[32];

	if (SANITIZED)
		return "a sanitizer build, whose shadow memory would not fit";
	if (geteuid())
		return "not root";
	if (access(CG_ROOT "/memory.limit_in_bytes", W_OK))
		return "no writable memory cgroup v1 at " CG_ROOT;
	snprintf(clean_cg, sizeof(clean_cg), CG_ROOT "/upager-bench-%d",
		 (int)getpid());
	if (mkdir(clean_cg, 0755)) {
		clean_cg[0] = 0;
		return "cannot make a memory cgroup";
	}
	snprintf(val, sizeof(val), "%llu",
		 (unsigned long long)(b->budget4x + CG_SLACK));
	if (put_file(clean_cg, "memory.limit_in_bytes", val)) {
		rmdir(clean_cg);
		clean_cg[0] = 0;
		return "cannot set memory.limit_in_bytes";
	}
	return NULL;
}

static void cg_remove(void)
{
	if (clean_cg[0] && rmdir(clean_cg))
		msg("%s: %s", clean_cg, strerror(errno));
	clean_cg[0] = 0;
}

static bool confined(const struct bench *b, int w, int e)
{
	return w == W_RAND4X && !b->nocg && (e == E_KERNEL || e == E_READ);
}

static int run_here(struct bench *b, int w, int e, struct sample *s)
{
	uint64_t budget = w == W_RAND4X ? b->budget4x : b->len;
	struct eng g;
	int err = eng_open(&g, e, budget);

	if (err)
		return err;
	snprintf(s->backend, sizeof(s->backend), "%s",
		 g.p ? up_pager_backend(g.p) : e == E_KERNEL ? "mmap" : "read");
	err = workloads[w].run(b, &g, s);
	eng_close(&g);
	return err;
}

static void __attribute__((noreturn))
child_main(struct bench *b, int w, int e, int out)
{
	struct sample s = { 0 };
	char cg[PATH_MAX], pid[32];

	/* The parent removes the files and the cgroup, not the child. */
	snprintf(cg, sizeof(cg), "%s", clean_cg);
	clean_set(0, NULL);
	clean_set(1, NULL);
	clean_cg[0] = 0;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (confined(b, w, e))
		s.err = put_file(cg, "cgroup.procs", pid);
	if (!s.err)
		s.err = run_here(b, w, e, &s);
	_exit(write(out, &s, sizeof(s)) == sizeof(s) ? 0 : 1);
}

/* A run in a fresh child, which the kernel's OOM killer may end. */
static int run_child(struct bench *b, int w, int e, struct sample *s)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pfd[0]);
		child_main(b, w, e, pfd[1]);
	}
	clean_pid = pid;
	close(pfd[1]);
	do
		n = read(pfd[0], s, sizeof(*s));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	clean_pid = 0;
	if (n != sizeof(*s))
		return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
			       ? -ENOMEM : -ECHILD;
	return s->err;
}

static void bench_progress(struct bench *b, int w, int e, int rep)
{
	bool tty = isatty(STDERR_FILENO);

	b->step++;
	fprintf(stderr, "%sbench: [%d/%d] %-10s %-11s %s %d/%d%s",
		tty ? "\r" : "", b->step, b->steps, workloads[w].name,
		engines[e].name, rep < 0 ? "warm-up" : "rep", rep < 0 ? 1
		: rep + 1, rep < 0 ? 1 : b->reps, tty ? "\033[K" : "\n");
}

static void record(struct bench *b, int w, int e, const struct sample *s,
		   int err)
{
	struct cell *c = &b->cells[w][e];

	c->confined = confined(b, w, e);
	snprintf(c->backend, sizeof(c->backend), "%s", s->backend);
	if (err) {
		if (!c->err)
			msg("%s on %s: %s", workloads[w].name, engines[e].name,
			    up_strerror(err));
		c->err = err;
		return;
	}
	c->sum = s->sum;
	/* The kernel ran first in this rep: its checksum is the peer's. */
	if (s->sum != b->expect[w] || (b->cells[w][E_KERNEL].nr &&
				       s->sum != b->cells[w][E_KERNEL].sum))
		c->wrong = true;
	if (c->nr < BENCH_REPS_MAX)
		c->v[c->nr++] = s->work / workloads[w].scale /
				(s->secs > 1e-9 ? s->secs : 1e-9);
}

static void run_cell(struct bench *b, int w, int e, int rep)
{
	struct sample s = { 0 };
	int err;

	bench_progress(b, w, e, rep);
	if (w == W_RAND4X) {
		posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
		err = run_child(b, w, e, &s);
	} else {
		err = run_here(b, w, e, &s);
	}
	if (rep >= 0)
		record(b, w, e, &s, err);
}

static void bench_run(struct bench *b)
{
	b->steps = W_NR * E_NR * (b->reps + b->warm);
	for (int w = 0; w < W_NR; w++)
		for (int rep = b->warm ? -1 : 0; rep < b->reps; rep++)
			for (int e = 0; e < E_NR; e++)
				run_cell(b, w, e, rep);
	if (isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
}

/* -- results -- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static bool cell_ok(const struct cell *c)
{
	return c->nr && !c->err && !c->wrong;
}

static double median(struct cell *c)
{
	qsort(c->v, (size_t)c->nr, sizeof(double), cmp_double);
	return c->nr % 2 ? c->v[c->nr / 2]
			 : (c->v[c->nr / 2 - 1] + c->v[c->nr / 2]) / 2;
}

/* Median / kernel's median, or 0 when either is missing. */
static double ratio(struct bench *b, int w, int e)
{
	struct cell *k = &b->cells[w][E_KERNEL], *c = &b->cells[w][e];

	if (!cell_ok(k) || !cell_ok(c))
		return 0;
	return median(c) / median(k);
}

static const char *cell_text(struct bench *b, int w, int e, char *buf,
			     size_t len)
{
	struct cell *c = &b->cells[w][e];

	if (c->wrong)
		return "WRONG";
	if (!cell_ok(c))
		return "error";
	if (e == E_KERNEL)
		snprintf(buf, len, "%.1f", median(c));
	else if (cell_ok(&b->cells[w][E_KERNEL]))
		snprintf(buf, len, "%.2fx", ratio(b, w, e));
	else
		snprintf(buf, len, "%.1f", median(c));
	return buf;
}

static void print_table(struct bench *b)
{
	char buf[32];

	printf("\n%-10s %-10s", "workload", "unit");
	for (int e = 0; e < E_NR; e++)
		printf(" %11s", engines[e].name);
	putchar('\n');
	for (int w = 0; w < W_NR; w++) {
		printf("%-10s %-10s", workloads[w].name, workloads[w].unit);
		for (int e = 0; e < E_NR; e++)
			printf(" %11s", cell_text(b, w, e, buf, sizeof(buf)));
		putchar('\n');
	}
	printf("\nkernel: median throughput; others: ratio to the kernel "
	       "(higher is faster)\n");
}

static bool all_ok(struct bench *b)
{
	for (int w = 0; w < W_NR; w++)
		for (int e = 0; e < E_NR; e++)
			if (!cell_ok(&b->cells[w][e]))
				return false;
	return true;
}

static void csv_row(struct bench *b, FILE *f, int w, int e)
{
	struct cell *c = &b->cells[w][e];
	bool w4 = w == W_RAND4X, ok = cell_ok(c);
	uint64_t budget = engines[e].page_len ? (w4 ? b->budget4x : b->len)
			  : c->confined ? b->budget4x + CG_SLACK : 0;
	uint64_t reads = w == W_RAND ? b->rand_nr : w4 ? b->rand4x_nr : 0;
	uint64_t page_len = engines[e].page_len ? engines[e].page_len
			    : e == E_KERNEL ? sys_page() : 0;
	double med = ok ? median(c) : 0;

	fprintf(f, "%s,%s,%s,%llu,%llu,%llu,%llu,%d,%s,%.3f,%.3f,%.3f,%.4f,"
		"%016llx,%d,%d\n", workloads[w].name, engines[e].name,
		c->backend[0] ? c->backend : "none",
		(unsigned long long)page_len,
		(unsigned long long)(w4 ? b->len4x : b->len),
		(unsigned long long)budget, (unsigned long long)reads, c->nr,
		workloads[w].unit, med, ok ? c->v[0] : 0,
		ok ? c->v[c->nr - 1] : 0, ratio(b, w, e),
		(unsigned long long)c->sum, ok, c->confined);
}

static int write_csv(struct bench *b)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/results.csv", b->out);
	if (!(f = fopen(path, "we")))
		return fail(path, -errno);
	fprintf(f, "workload,engine,backend,page_len,file_len,budget,reads,"
		"reps,unit,median,min,max,ratio,checksum,ok,confined\n");
	for (int w = 0; w < W_NR; w++)
		for (int e = 0; e < E_NR; e++)
			csv_row(b, f, w, e);
	if (fclose(f))
		return fail(path, -errno);
	return ST_OK;
}

/* -- one SVG bar chart per workload, written by hand -- */

#define SVG_W 720
#define SVG_H 420
#define SVG_LEFT 80
#define SVG_TOP 80
#define SVG_BOTTOM 50

/* 1, 2 or 5 times a power of ten, at least v. */
static double nice_max(double v)
{
	double p, f;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	f = v / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void svg_head(FILE *f, struct bench *b, int w, double top)
{
	const struct workload *wl = &workloads[w];
	int ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	char a[32], c[32];

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<title>upager bench: %s</title>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, SVG_H, SVG_W, SVG_H, wl->name);
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" "
		"text-anchor=\"middle\">%s: %s</text>\n", SVG_W / 2, wl->name,
		wl->title);
	fprintf(f, "<text x=\"%d\" y=\"50\" text-anchor=\"middle\" "
		"fill=\"#555\">file %s, upager budget %s, median of %d; "
		"higher is faster</text>\n", SVG_W / 2,
		fmt_size(a, sizeof(a), w == W_RAND4X ? b->len4x : b->len),
		fmt_size(c, sizeof(c), w == W_RAND4X ? b->budget4x : b->len),
		b->reps);
	if (w == W_RAND4X && b->nocg)
		fprintf(f, "<text x=\"%d\" y=\"66\" text-anchor=\"middle\" "
			"fill=\"#c00\">kernel and read unconfined (no memory "
			"cgroup)</text>\n", SVG_W / 2);
	else if (w == W_RAND4X)
		fprintf(f, "<text x=\"%d\" y=\"66\" text-anchor=\"middle\" "
			"fill=\"#555\">kernel and read confined by a memory "
			"cgroup to the budget + %llu MiB</text>\n", SVG_W / 2,
			(unsigned long long)(CG_SLACK / MiB));
	fprintf(f, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %d)\">%s</text>\n",
		SVG_TOP + ph / 2, SVG_TOP + ph / 2, wl->unit);
	for (int i = 0; i <= 5; i++) {
		int y = SVG_TOP + ph - ph * i / 5;

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"#ddd\"/>\n<text x=\"%d\" y=\"%d\" "
			"text-anchor=\"end\">%g</text>\n", SVG_LEFT, y,
			SVG_W - 20, y, SVG_LEFT - 6, y + 4, top * i / 5);
	}
}

static void svg_bar(FILE *f, struct bench *b, int w, int e, double top)
{
	int ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	int slot = (SVG_W - 20 - SVG_LEFT) / E_NR, bw = slot * 3 / 5;
	int x = SVG_LEFT + e * slot + (slot - bw) / 2, base = SVG_TOP + ph;
	struct cell *c = &b->cells[w][e];
	double v = cell_ok(c) ? median(c) : 0;
	int h = (int)(v / top * ph);

	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s"
		"</text>\n", x + bw / 2, base + 18, engines[e].name);
	if (!cell_ok(c)) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			"fill=\"#c00\" font-weight=\"bold\">%s</text>\n",
			x + bw / 2, base - 6, c->wrong ? "WRONG" : "error");
		return;
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		"%.1f", x, base - h, bw, h, engines[e].color, x + bw / 2,
		base - h - 6, v);
	if (e != E_KERNEL && ratio(b, w, e) > 0)
		fprintf(f, " (%.2fx)", ratio(b, w, e));
	fputs("</text>\n", f);
}

static int write_svg(struct bench *b, int w)
{
	char path[PATH_MAX];
	double top = 0;
	FILE *f;

	for (int e = 0; e < E_NR; e++)
		if (cell_ok(&b->cells[w][e]) && median(&b->cells[w][e]) > top)
			top = median(&b->cells[w][e]);
	top = nice_max(top * 1.1);
	snprintf(path, sizeof(path), "%s/%s.svg", b->out, workloads[w].name);
	if (!(f = fopen(path, "we")))
		return fail(path, -errno);
	svg_head(f, b, w, top);
	for (int e = 0; e < E_NR; e++)
		svg_bar(f, b, w, e, top);
	fputs("</svg>\n", f);
	if (fclose(f))
		return fail(path, -errno);
	return ST_OK;
}

/* -- setup and the command -- */

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(path))
		return fail(dir, -ENAMETOOLONG);
	memcpy(path, dir, n + 1);
	for (char *s = path + 1; ; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return fail(path, -errno);
		*s = c;
		if (!c)
			break;
	}
	return ST_OK;
}

/* The data file, page-cached and synced (so it can be dropped). */
static int make_data(struct bench *b)
{
	static uint64_t buf[BENCH_BUF / 8];
	int err = 0;

	snprintf(b->data, sizeof(b->data), "%s/upager-bench-data-%d", b->dir,
		 (int)getpid());
	snprintf(b->wfile, sizeof(b->wfile), "%s/upager-bench-write-%d",
		 b->dir, (int)getpid());
	b->fd = open(b->data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0)
		return fail(b->data, -errno);
	clean_set(0, b->data);
	clean_set(1, b->wfile);
	fprintf(stderr, "bench: writing %llu MiB of data to %s\n",
		(unsigned long long)(b->len4x / MiB), b->data);
	for (uint64_t off = 0; !err && off < b->len4x; off += BENCH_BUF) {
		fill_words(buf, off, BENCH_BUF / 8, 0);
		err = pwrite_all(b->fd, buf, BENCH_BUF, (off_t)off);
	}
	if (!err && fdatasync(b->fd))
		err = -errno;
	return err ? fail(b->data, err) : ST_OK;
}

static void remove_data(struct bench *b)
{
	if (b->fd >= 0)
		close(b->fd);
	unlink(b->data);
	unlink(b->wfile);
	clean_set(0, NULL);
	clean_set(1, NULL);
}

static void print_header(struct bench *b)
{
	struct utsname u;
	char a[32], c[32], d[32];

	uname(&u);
	printf("upager bench: %s, %d rep%s%s, Linux %s %s, %ld CPUs\n",
	       b->quick ? "quick" : "full", b->reps, b->reps > 1 ? "s" : "",
	       b->warm ? " after a warm-up" : "", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("file %s with an upager budget of the same; rand-4x: file "
	       "%s, budget %s\n", fmt_size(a, sizeof(a), b->len),
	       fmt_size(c, sizeof(c), b->len4x),
	       fmt_size(d, sizeof(d), b->budget4x));
	if (b->nocg)
		printf("rand-4x: kernel and read are UNCONFINED (%s): their "
		       "page cache may hold the whole file\n", b->nocg);
	else
		printf("rand-4x: kernel and read confined to budget + %llu "
		       "MiB by memory cgroup %s\n",
		       (unsigned long long)(CG_SLACK / MiB), clean_cg);
}

static void print_backends(struct bench *b)
{
	for (int e = E_UP4K; e < E_NR; e++) {
		const char *be = b->cells[W_SEQ][e].backend;

		if (*be && strcmp(be, "userfaultfd"))
			printf("NOTE: %s ran on the %s backend, not "
			       "userfaultfd (see upager info)\n",
			       engines[e].name, be);
	}
}

static int bench_report(struct bench *b)
{
	int status = ST_OK;

	print_table(b);
	print_backends(b);
	if (!all_ok(b))
		printf("SOME RUNS FAILED or gave WRONG checksums\n");
	else
		printf("checksums: every run matches the kernel's and the "
		       "expected value\n");
	status = write_csv(b);
	for (int w = 0; !status && w < W_NR; w++)
		status = write_svg(b, w);
	if (!status)
		printf("results: %s/results.csv and %s/*.svg\n", b->out,
		       b->out);
	return status ? status : all_ok(b) ? ST_OK : ST_FAIL;
}

static int bench_sizes(struct bench *b)
{
	b->len = b->size ? b->size : b->quick ? 32 * MiB : 256 * MiB;
	if (b->len < 4 * MiB || b->len % (2 * MiB))
		return usage("--size %s: must be a multiple of 2M, at least 4M",
			     b->size_arg);
	b->len4x = 2 * b->len;
	b->budget4x = b->len / 2;
	b->rand_nr = 2 * b->len / sys_page();
	b->rand4x_nr = 2 * b->budget4x / sys_page();
	if (!b->reps)
		b->reps = b->quick ? 1 : 3;
	b->warm = !b->quick;
	return 0;
}

/* A bench option for get_opts(). */
static int bench_opt(void *ctx, int c, const char *arg)
{
	struct bench *b = ctx;
	uint64_t v;

	switch (c) {
	case 'q':
		b->quick = true;
		return 0;
	case 'o':
		b->out = arg;
		return 0;
	case 'd':
		b->dir = arg;
		return 0;
	case 's':
		b->size_arg = arg;
		return opt_size("--size", arg, &b->size);
	case 'r':
		if (opt_size("--reps", arg, &v))
			return ST_USAGE;
		if (!v || v > BENCH_REPS_MAX)
			return usage("--reps %s: must be from 1 to %d", arg,
				     BENCH_REPS_MAX);
		b->reps = (int)v;
		return 0;
	}
	return -1;
}

static int cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct bench b;
	int st;

	b.out = "upager-bench";
	b.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	b.fd = -1;
	if ((st = get_opts(argc, argv, ":h", lo, bench_opt, &b)) >= 0)
		return st;
	if (optind != argc)
		return usage("takes no operands");
	if ((st = bench_sizes(&b)) || (st = mkdir_p(b.out)))
		return st;
	if ((st = make_data(&b))) {
		remove_data(&b);
		return st;
	}
	b.nocg = cg_make(&b);
	print_header(&b);
	fflush(stdout);
	bench_expect(&b);
	bench_run(&b);
	cg_remove();
	remove_data(&b);
	return bench_report(&b);
}

/* ==== dispatch ========================================================= */

#define STATUS_HELP                                                          \
	"\nExit status: 0 success, 1 a runtime or I/O error, 2 a usage error.\n"

static const struct cmd cmds[] = {
	{ "cp", cmd_cp, "[-f] [--method M] [--verify] [options] SRC DST",
	  "Copy SRC to DST (or into DST if it is a directory) through "
	  "mappings.",
	  "  --method M      upager: both files mapped through one pager\n"
	  "                  kernel: SRC mapped by the kernel's mmap, "
	  "write(2) to DST\n"
	  "                  read: read(2) and write(2)\n"
	  "                  copy_file_range: copy_file_range(2) (default: "
	  "the fastest\n"
	  "                  measured on ext4 here, about 1.5x read)\n"
	  "  -f, --force     replace an existing DST\n"
	  "  --verify        compare DST with SRC afterwards\n"
	  "  --no-progress   no progress bar (shown only on a terminal, for "
	  "files\n"
	  "                  over 64 MiB)\n"
	  PAGER_HELP
	  "                  (for --method upager; default budget 64M)\n"
	  "\nDST keeps SRC's size and mode; holes stay holes.  A file that "
	  "is SRC itself\n(also through a link) is refused.  The copy is "
	  "written beside DST and renamed\nonto it, so on any error DST is "
	  "left as it was.\n" STATUS_HELP },
	{ "cat", cmd_cat, "[options] FILE...",
	  "Write files to stdout through a pager, a window at a time.",
	  PAGER_HELP
	  "                  (default budget 64M; the window is at most "
	  "16M)\n"
	  "\nA FILE of - is stdin; pipes and empty files are read with "
	  "read(2).\n" STATUS_HELP },
	{ "scan", cmd_scan, "FILE [--pattern seq|random] [--write] [options]",
	  "Map FILE, touch one byte per page, print the pager's statistics.",
	  "  --pattern P     seq (default): pages in order; random: pages at "
	  "random\n"
	  "  --write         write each touched byte back with its own value "
	  "(the\n"
	  "                  file keeps its content), then msync\n"
	  "  --count N       accesses (default: one per system page)\n"
	  "  --seed N        seed of --pattern random (default: the time; "
	  "printed)\n"
	  PAGER_HELP
	  "                  (defaults: the library's, 256M and 64K)\n"
	  "\nSizes take a suffix K, M, G or T (powers of 1024).  The "
	  "histogram shows the\ntime of each access that entered another "
	  "page, by powers of two.\n" STATUS_HELP },
	{ "info", cmd_info, "",
	  "Report what this machine offers: userfaultfd, features, THP, "
	  "cgroups.",
	  "Whether userfaultfd is permitted (and how to permit it), the "
	  "features the\nkernel reports for UFFDIO_API, the page size, "
	  "transparent huge pages, the\nmemory cgroup, and the backend a "
	  "pager with UP_BACKEND_AUTO gets.\n" STATUS_HELP },
	{ "bench", cmd_bench, "[--quick] [--out DIR] [options]",
	  "Compare the kernel's mmap, read() and upager (4K, 64K, 2M pages).",
	  "  --quick         small files, one repetition (under a minute)\n"
	  "  --out DIR       where results.csv and one SVG per workload go\n"
	  "                  (default ./upager-bench)\n"
	  "  --dir DIR       where the data files go (default $TMPDIR or "
	  "/var/tmp)\n"
	  "  --size N        the file size (default 256M, --quick 32M)\n"
	  "  --reps N        repetitions (default 3 after a warm-up, --quick "
	  "1)\n"
	  "\nWorkloads: seq-first, rescan, rand, rand-4x (file 4 x the "
	  "budget, the kernel\nconfined by a memory cgroup v1 when root), "
	  "seq-write.  Every checksum must\nequal the kernel's; a wrong one "
	  "makes the exit status 1.\n" STATUS_HELP },
};

#define CMDS_NR (sizeof(cmds) / sizeof(cmds[0]))

static int main_help(FILE *f)
{
	fprintf(f, "usage: upager COMMAND [options] [operands]\n\n"
		   "memory-mapped files served by a user-space pager\n\n");
	for (size_t i = 0; i < CMDS_NR; i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'upager COMMAND --help' describes a command; see "
		   "upager(1).\n" STATUS_HELP);
	return f == stdout ? ST_OK : ST_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return main_help(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		return main_help(stdout);
	if (!strcmp(argv[1], "--version"))
		return printf("upager %d.%d\n", UP_VERSION_MAJOR,
			      UP_VERSION_MINOR), ST_OK;
	for (size_t i = 0; i < CMDS_NR; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		cur = &cmds[i];
		signals_init();
		opterr = 0;
		return cmds[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "upager: %s: unknown command\n", argv[1]);
	return main_help(stderr);
}
