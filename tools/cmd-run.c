/* SPDX-License-Identifier: MIT */
/*
 * run starts a program with its mappings served by upager: it puts
 * libupager-preload.so in LD_PRELOAD, the configuration in UPAGER_*
 * variables (which a user may also set by hand; see upager(1)), and execs
 * the program, whose exit status is then its own.  Children that exec
 * inherit both.
 */

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

struct run_opts {
	const char *budget, *page, *anon_min;
	bool stats, kernel;
};

static int take(void *ctx, int c, const char *arg)
{
	struct run_opts *o = ctx;
	uint64_t v;

	switch (c) {
	case 'b': o->budget = arg; break;
	case 'p': o->page = arg; break;
	case 'a': o->anon_min = arg; break;
	case 's': o->stats = true; return 0;
	case 'k': o->kernel = true; return 0;
	default: return -1;
	}
	return opt_size(c == 'b' ? "--budget" : c == 'p' ? "--page-size"
						      : "--anon-min",
			arg, &v) ? ST_USAGE : 0;
}

/* The preload library: $UPAGER_PRELOAD, else beside this program (the
 * build tree), else in ../lib (an installation). */
static int find_preload(char *out, size_t len)
{
	const char *env = getenv("UPAGER_PRELOAD");
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) ? -errno : 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	dir = dirname(self);
	snprintf(out, len, "%s/libupager-preload.so", dir);
	if (!access(out, R_OK))
		return 0;
	snprintf(out, len, "%s/../lib/libupager-preload.so", dir);
	return access(out, R_OK) ? -ENOENT : 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "anon-min", required_argument, NULL, 'a' },
		{ "stats", no_argument, NULL, 's' },
		{ "kernel", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run_opts o = { 0 };
	char lib[PATH_MAX], *pre;
	const char *old;
	int st, err;

	st = get_opts(argc, argv, "+h", lo, take, &o);
	if (st >= 0)
		return st;
	if (optind >= argc)
		return usage("no command to run");
	err = find_preload(lib, sizeof(lib));
	if (err) {
		msg("libupager-preload.so: not found beside this program, in "
		    "../lib or $UPAGER_PRELOAD: %s", strerror(-err));
		return ST_FAIL;
	}
	/* After what is there: a sanitizer's runtime must come first. */
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		pre = malloc(strlen(lib) + strlen(old) + 2);
		if (!pre)
			return fail("LD_PRELOAD", ENOMEM);
		sprintf(pre, "%s:%s", old, lib);
	} else {
		pre = lib;
	}
	if (setenv("LD_PRELOAD", pre, 1) ||
	    (o.budget && setenv("UPAGER_BUDGET", o.budget, 1)) ||
	    (o.page && setenv("UPAGER_PAGE_SIZE", o.page, 1)) ||
	    (o.anon_min && setenv("UPAGER_ANON_MIN", o.anon_min, 1)) ||
	    (o.stats && setenv("UPAGER_STATS", "1", 1)) ||
	    (o.kernel && setenv("UPAGER_KERNEL", "1", 1)))
		return fail("environment", errno);
	execvp(argv[optind], argv + optind);
	err = errno;
	msg("%s: %s", argv[optind], strerror(err));
	/* As env(1) and the shells: 126 found but not run, 127 not found. */
	return err == ENOENT ? 127 : 126;
}
