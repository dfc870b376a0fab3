/* SPDX-License-Identifier: MIT */
/*
 * tool.h - what the files of the upager tool share: exit statuses, the
 * command table's entry, messages, option and size parsing, I/O helpers,
 * cleanup on a signal, the progress bar and the pager options.  Defined in
 * common.c; each command lives in its own cmd-*.c, main() in upager.c.
 * Tool-internal: nothing here is part of the library.
 */

#ifndef UPAGER_TOOL_H
#define UPAGER_TOOL_H

#include <getopt.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "upager.h"
#include "fmt.h"

#ifdef _WIN32
#include "win.h"
#else
/* What win.h defines for Windows: the last '/' of a path, a stat's
 * modification time in ns, and whether two stat'ed paths are one file. */
#define last_sep(path) strrchr((path), '/')
#define MTIME_NS(st)                                                      \
	((int64_t)(st)->st_mtim.tv_sec * 1000000000 + (st)->st_mtim.tv_nsec)
#define SAME_FILE(pa, a, pb, b)                                           \
	((a)->st_dev == (b)->st_dev && (a)->st_ino == (b)->st_ino)
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

extern const struct cmd *cur;	/* the command running, for messages */

int cmd_cp(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* ---- messages, options ------------------------------------------------ */

__attribute__((format(printf, 1, 2))) void msg(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int usage(const char *fmt, ...);
int fail(const char *path, int err);
int fail_up(const char *path, int err);
int get_opts(int argc, char **argv, const char *shorts,
	     const struct option *lo,
	     int (*take)(void *ctx, int c, const char *arg), void *ctx);
int opt_size(const char *opt, const char *arg, uint64_t *out);

/* ---- numbers, time, text ---------------------------------------------- */

uint64_t now_ns(void);
size_t sys_page(void);
const char *fmt_size(char *buf, size_t len, uint64_t v);
uint64_t rnd_next(uint64_t *s);
const char *base_name(const char *path);

/* ---- I/O helpers ------------------------------------------------------ */

int pread_all(int fd, void *buf, size_t len, off_t off);
int pwrite_all(int fd, const void *buf, size_t len, off_t off);
int write_all(int fd, const void *buf, size_t len);
int open_regular(const char *path, int flags, struct stat *st);

/* A file, or a compressed store (up_zstore_open()) that the file holds. */
struct source {
	int fd;
	const struct up_store_ops *ops;	/* NULL: a plain file */
	void *ctx;
	uint64_t len;			/* the data's length */
	bool taken;			/* the store is a pager's (mapped) */
};

int source_open(struct source *s, int fd, const struct stat *st,
		bool writable, const char *path);
int source_map(struct up_pager *p, struct source *s, int prot, void **out);
bool is_rados(const char *path);
int source_rados(struct source *s, const char *url, bool writable,
		 bool create, uint64_t len);
void source_close(struct source *s);

/* ---- signals: cleanup, SIGBUS ----------------------------------------- */

extern char clean_cg[PATH_MAX];
extern volatile pid_t clean_pid;
extern sigjmp_buf *volatile bus_jmp;
void signals_init(void);
void clean_set(int slot, const char *path);

/* ---- progress bar ----------------------------------------------------- */

struct progress {
	bool on;
	uint64_t total;
	double t0, last;
};

void prog_start(struct progress *pr, uint64_t total, bool allowed);
void prog_show(struct progress *pr, uint64_t done);
void prog_end(struct progress *pr);

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

#ifdef _WIN32
#define BACKENDS_HELP "auto (default), kernel or trap"
#else
#define BACKENDS_HELP "auto (default), uffd, signals or kernel"
#endif
#define PAGER_HELP                                                          \
	"  --budget N      most page cache the pager may hold (K, M, G)\n"    \
	"  --page-size N   the pager's page: a power of two from 4K to 2M\n" \
	"  --backend B     " BACKENDS_HELP "\n"

int pager_opt(struct pager_opts *po, int c, const char *arg);
int pager_config(const struct pager_opts *po, uint64_t dflt_budget,
		 struct up_config *cfg);
int pager_open(const struct up_config *cfg, struct up_pager **p);
bool source_page(struct up_config *cfg, const struct pager_opts *po);

#endif
