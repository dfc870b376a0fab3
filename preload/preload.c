/* SPDX-License-Identifier: MIT */
/*
 * preload.c - libupager-preload.so: a whole program's mappings through the
 * default pager, with no change to the program (LD_PRELOAD; `upager run`
 * sets it up).
 *
 * The library already defines mmap(2), munmap(2) and mremap(2) (api.c);
 * here it also takes msync(2), mprotect(2) and madvise(2), and says which
 * mappings go to the default pager (up__preload_takes()): regular files
 * mapped without PROT_EXEC, and anonymous memory of at least
 * UPAGER_ANON_MIN bytes.  Everything else is the kernel's: the dynamic
 * loader's mappings of programs and libraries, thread stacks, malloc's
 * arenas (glibc maps those with calls of its own, which are never seen
 * here), devices, and anything the pager passes on itself (MAP_GROWSDOWN,
 * MAP_LOCKED, MAP_HUGETLB...).  fork() is the library's own business
 * (pthread_atfork); a child that execs gets the preload again from its
 * environment.
 *
 * The configuration comes from the environment, read once when the library
 * is loaded: UPAGER_BUDGET, UPAGER_PAGE_SIZE (sizes with K, M, G or T),
 * UPAGER_ANON_MIN, UPAGER_KERNEL=1 (take nothing: the kernel's mmap, to
 * compare) and UPAGER_STATS=1 (the pager's statistics on stderr at exit).
 */
#include "up-int.h"
#include "../tools/fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static bool take_none;		/* UPAGER_KERNEL */
static size_t anon_min = 64ul << 20;
static bool stats;

/* A size from the environment: digits and an optional K, M, G or T. */
static bool env_size(const char *name, size_t *out)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'T': case 't': v <<= 10; /* fall through */
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	}
	if (end > s && end[-1] > '9' && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (end == s || *end) {
		fprintf(stderr, "upager: %s=%s is not a size\n", name, s);
		return false;
	}
	*out = (size_t)v;
	return true;
}

static bool env_on(const char *name)
{
	const char *s = getenv(name);

	return s && *s && strcmp(s, "0") != 0;
}

bool up__preload_takes(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	struct stat st;

	(void)addr;
	(void)off;
	if (take_none || (prot & PROT_EXEC) ||
	    (flags & (MAP_GROWSDOWN | MAP_STACK | MAP_HUGETLB)))
		return false;
	if (flags & MAP_ANONYMOUS)
		return len >= anon_min;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

UP_EXPORT int msync(void *addr, size_t len, int flags)
{
	return up_msync(addr, len, flags);
}

UP_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return up_mprotect(addr, len, prot);
}

UP_EXPORT int madvise(void *addr, size_t len, int advice)
{
	return up_madvise(addr, len, advice);
}

static uint64_t start_ns;	/* when the library was loaded */

/*
 * Where the time went: the run's time, the part of it the pager spent
 * serving faults (evicting among it), the kernel's own faults (on the
 * file's pages the pager showed: those that read from disk are major),
 * and the fault service times as a histogram.
 */
static void time_print(struct up_pager *p, const struct up_stats *st)
{
	uint64_t wall = up__now_ns() - start_ns, hist[UP_LATENCY_NR];
	char a[32], b[32], c[32], pre[32];
	struct rusage ru;
	int pid = (int)getpid();

	if (getrusage(RUSAGE_SELF, &ru))
		memset(&ru, 0, sizeof(ru));
	fprintf(stderr,
		"upager[%d]: run %s, serving faults %s (%.0f%%), of which "
		"evicting %s; the kernel's own faults %ld (%ld from disk)\n",
		pid, fmt_ns(a, sizeof(a), (double)wall),
		fmt_ns(b, sizeof(b), (double)st->fault_ns),
		wall ? 100.0 * (double)st->fault_ns / (double)wall : 0.0,
		fmt_ns(c, sizeof(c), (double)st->evict_ns),
		ru.ru_minflt + ru.ru_majflt, ru.ru_majflt);
	if (!up_pager_latency(p, hist)) {
		snprintf(pre, sizeof(pre), "upager[%d]: ", pid);
		fmt_hist(stderr, pre, hist, UP_LATENCY_NR);
	}
}

static void stats_print(void)
{
	struct up_pager *p = up__default_if_made();
	char a[32], b[32];
	struct up_stats st;

	if (!p || up_pager_stats(p, &st)) {
		fprintf(stderr, "upager[%d]: no mapping went to the pager\n",
			(int)getpid());
		return;
	}
	fprintf(stderr,
		"upager[%d]: backend %s, page %llu, budget %llu pages\n"
		"upager[%d]: faults %llu read, %llu write; fills %llu, "
		"evictions %llu, write-backs %llu\n"
		"upager[%d]: read %llu MiB, written %llu MiB; at exit %llu "
		"pages resident (%llu of them the page cache's)\n"
		"upager[%d]: fault service p50 %s, p99 %s\n",
		(int)getpid(), up_pager_backend(p),
		(unsigned long long)st.page_len,
		(unsigned long long)st.budget_pages, (int)getpid(),
		(unsigned long long)st.faults_read,
		(unsigned long long)st.faults_write,
		(unsigned long long)st.fills, (unsigned long long)st.evictions,
		(unsigned long long)st.writebacks, (int)getpid(),
		(unsigned long long)(st.bytes_read >> 20),
		(unsigned long long)(st.bytes_written >> 20),
		(unsigned long long)st.resident,
		(unsigned long long)st.page_cache, (int)getpid(),
		fmt_ns(a, sizeof(a), (double)st.fill_ns_p50),
		fmt_ns(b, sizeof(b), (double)st.fill_ns_p99));
	time_print(p, &st);
}

__attribute__((constructor)) static void preload_init(void)
{
	struct up_config cfg;
	size_t v;

	up_config_init(&cfg);
	if (env_size("UPAGER_BUDGET", &v))
		cfg.budget = v;
	if (env_size("UPAGER_PAGE_SIZE", &v))
		cfg.page_len = v;
	env_size("UPAGER_ANON_MIN", &anon_min);
	take_none = env_on("UPAGER_KERNEL");
	stats = env_on("UPAGER_STATS");
	start_ns = up__now_ns();
	if (up_default_configure(&cfg))
		fprintf(stderr, "upager: the configuration was refused\n");
	if (stats)
		atexit(stats_print);
}
