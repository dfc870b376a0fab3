/* SPDX-License-Identifier: MIT */
/*
 * common.c - the helpers every command of the upager tool uses: messages
 * and exit statuses, option parsing with --help, sizes, times and their
 * text, I/O loops, the files and cgroup removed when a signal ends the
 * tool (and SIGBUS from a file that shrinks under a mapping), the progress
 * bar, and the pager options --budget, --page-size and --backend.  It knows
 * no command: each lives in its own cmd-*.c.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#include <sys/wait.h>
#endif
#include <time.h>
#include <unistd.h>

#include "tool.h"

const struct cmd *cur;

/* ---- messages --------------------------------------------------------- */

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "upager%s%s: ", cur ? " " : "", cur ? cur->name : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2))) void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* A usage error: the message, where to look, and status 2. */
__attribute__((format(printf, 1, 2))) int usage(const char *fmt, ...)
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
int fail(const char *path, int err)
{
	msg("%s: %s", path, reason(err));
	return ST_FAIL;
}

/* "PATH: reason" for a failed upager call; status 1. */
int fail_up(const char *path, int err)
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
int get_opts(int argc, char **argv, const char *shorts,
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

int opt_size(const char *opt, const char *arg, uint64_t *out)
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

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now(void)
{
	return (double)now_ns() / 1e9;
}

size_t sys_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* 4096 -> "4 KiB"; whole units only where exact. */
const char *fmt_size(char *buf, size_t len, uint64_t v)
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
uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The last component of a path, without trailing slashes' worries. */
const char *base_name(const char *path)
{
	const char *s = last_sep(path);

	return s && s[1] ? s + 1 : path;
}

/* ---- I/O helpers ------------------------------------------------------ */

/* pread exactly len bytes: 0, -errno, or -E_CHANGED if the file ends. */
int pread_all(int fd, void *buf, size_t len, off_t off)
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

/*
 * A pager that serves faults from a signal handler (the signals backend,
 * a user-mode-only userfaultfd) cannot serve one taken inside a system
 * call, which then fails with EFAULT.  The piece of buf it stopped in is
 * faulted in from here, by loading a byte of each page, and the call
 * tried again on that piece alone; the pages stay resident long enough
 * unless the piece is larger than the pager's budget.
 */
#define FAULT_PIECE (256u << 10)

static size_t fault_in(const void *buf, size_t len)
{
	const volatile char *b = buf;
	uintptr_t a = (uintptr_t)buf;
	size_t i;

	if (len > FAULT_PIECE)
		len = FAULT_PIECE;
	for (i = 0; i < len; i += 4096 - ((a + i) & 4095))
		(void)b[i];
	return len;
}

/* write(2) all of buf, at off with pwrite(2) if at. */
static int put_all(int fd, const void *buf, size_t len, off_t off, bool at)
{
	size_t most = len, tries = 0;

	while (len) {
		size_t l = len < most ? len : most;
		ssize_t n = at ? pwrite(fd, buf, l, off) : write(fd, buf, l);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EFAULT && tries++ < 2) {
			most = fault_in(buf, len);
			continue;
		}
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += n;
		tries = 0;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	return put_all(fd, buf, len, off, true);
}

int write_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, 0, false);
}

/* Open a regular file; print why not and return -1. */
int open_regular(const char *path, int flags, struct stat *st)
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

/* Whether fd (a regular file, st) holds a compressed store: then s reads
 * it through the store, otherwise as the file.  0, or ST_FAIL (said). */
int source_open(struct source *s, int fd, const struct stat *st,
		bool writable, const char *path)
{
	int err = up_zstore_open(fd, writable ? O_RDWR : O_RDONLY, &s->ops,
				 &s->ctx);

	s->fd = fd;
	s->taken = false;
	s->len = (uint64_t)st->st_size;
	if (err == -EMEDIUMTYPE || err == -EOPNOTSUPP) {
		s->ops = NULL;	/* a plain file (or no libzstd to tell) */
		return 0;
	}
	if (err)
		return fail_up(path, err);
	s->len = (uint64_t)s->ops->size(s->ctx);
	return 0;
}

/* Map all of s through p, MAP_SHARED: the file, or the store, whose
 * last unmap closes it. */
int source_map(struct up_pager *p, struct source *s, int prot, void **out)
{
	int err;

	if (!s->ops)
		return up_pager_map(p, NULL, s->len, prot, MAP_SHARED, s->fd,
				    0, out);
	err = up_pager_map_store(p, s->ops, s->ctx, NULL, s->len, prot,
				 MAP_SHARED, 0, out);
	s->taken = !err;
	return err;
}

/*
 * The pager page for a compressed store, unless the user chose one: 2 MiB
 * where the budget holds it.  A store's pages are copies, and each costs
 * a TLB shootdown as it is moved into place: at the library's 64 KiB a
 * scan runs at a fifth of the speed (bench/README.md).  Returns whether
 * cfg changed.
 */
bool source_page(struct up_config *cfg, const struct pager_opts *po)
{
	size_t big = 2 * MiB;

	if (po->page_len || cfg->page_len >= big || cfg->budget < 4 * big)
		return false;
	cfg->page_len = big;
	return true;
}

/* Whether path is a rados://POOL/NAME URL. */
bool is_rados(const char *path)
{
	return !strncmp(path, "rados://", 8);
}

/*
 * The store a rados://POOL/NAME URL names, through the cluster that
 * $CEPH_CONF (or librados's own search) describes; made anew, of len
 * bytes, with create.  0, or ST_FAIL (said).
 */
int source_rados(struct source *s, const char *url, bool writable,
		 bool create, uint64_t len)
{
	const char *pool = url + 8, *slash = strchr(pool, '/');
	char p[256];
	int err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (!slash || slash == pool || !slash[1] ||
	    (size_t)(slash - pool) >= sizeof(p))
		return usage("%s: not rados://POOL/NAME", url);
	snprintf(p, sizeof(p), "%.*s", (int)(slash - pool), pool);
	err = up_rstore_open(NULL, p, slash + 1,
			     create ? O_RDWR | O_CREAT
				    : writable ? O_RDWR : O_RDONLY,
			     (off_t)len, 0, &s->ops, &s->ctx);
	if (err)
		return fail_up(url, err);
	s->len = (uint64_t)s->ops->size(s->ctx);
	return 0;
}

/* A store that was never mapped. */
void source_close(struct source *s)
{
	if (s->ops && !s->taken)
		s->ops->close(s->ctx);
	s->ops = NULL;
}

/* ---- signals: cleanup, SIGBUS ----------------------------------------- */
#ifndef _WIN32	/* win.c has Windows's */

/*
 * Files and a cgroup to remove if a signal ends the tool, and a child to
 * kill first.  Only async-signal-safe calls touch them in the handler.
 */
static char clean_path[2][PATH_MAX];
char clean_cg[PATH_MAX];
volatile pid_t clean_pid;
sigjmp_buf *volatile bus_jmp;

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

void signals_init(void)
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
void clean_set(int slot, const char *path)
{
	clean_path[slot][0] = 0;
	if (path)
		snprintf(clean_path[slot], PATH_MAX, "%s", path);
}
#endif

/* ---- progress bar ----------------------------------------------------- */

/* Shown only on a terminal, for more than 64 MiB. */
void prog_start(struct progress *pr, uint64_t total, bool allowed)
{
	pr->on = allowed && total > 64 * MiB && isatty(STDERR_FILENO);
	pr->total = total;
	pr->t0 = now();
	pr->last = 0;
}

void prog_show(struct progress *pr, uint64_t done)
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

void prog_end(struct progress *pr)
{
	if (pr->on)
		fputs("\r\033[K", stderr);
}

/* ---- pager options, shared by cp, cat and scan ------------------------ */
static int opt_backend(const char *arg, enum up_backend *b)
{
	if (!strcmp(arg, "auto"))
		*b = UP_BACKEND_AUTO;
	else if (!strcmp(arg, "uffd") || !strcmp(arg, "userfaultfd"))
		*b = UP_BACKEND_UFFD;
	else if (!strcmp(arg, "kernel"))
		*b = UP_BACKEND_KERNEL;
#ifdef _WIN32
	else if (!strcmp(arg, "trap"))
		*b = UP_BACKEND_TRAP;
#else
	else if (!strcmp(arg, "signals"))
		*b = UP_BACKEND_SIGNALS;
#endif
	else
		return usage("--backend %s: not auto, uffd, signals or kernel",
			     arg);
	return 0;
}

/* A pager option: its status (0 or 2); -1 if c is not one. */
int pager_opt(struct pager_opts *po, int c, const char *arg)
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
int pager_config(const struct pager_opts *po, uint64_t dflt_budget,
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

int pager_open(const struct up_config *cfg, struct up_pager **p)
{
	int err = up_pager_open(p, cfg);

	if (!err)
		return 0;
	fail_up("cannot start a pager", err);
	if (err == -EPERM)
		msg("'upager info' says why, and how to permit it");
	return ST_FAIL;
}
