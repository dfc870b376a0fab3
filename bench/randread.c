/* SPDX-License-Identifier: MIT */
/*
 * randread - random 4 KiB reads on a file four times the memory allowed.
 *
 * upager bounds its memory by its budget.  The fair peer is the kernel's
 * mmap bounded the same way: by a cgroup v1 memory cgroup.  Each
 * confined run is a forked child moved into a fresh cgroup
 * (/sys/fs/cgroup/memory/upager-bench-PID) whose limit is the budget plus
 * 32 MiB of slack for the process itself; upager's run gets the same
 * cgroup and limit, so its frames plus whatever page cache its reads leave
 * behind must fit in the same memory as the kernel's page cache.  Both
 * start with the file dropped from the page cache, touch W random pages
 * to fill their memory (untimed), then T timed ones (uniform, with
 * repeats: about a quarter hit once memory is full).  The kernel gets
 * MADV_RANDOM (with its default read-around a touch reads megabytes), and
 * so does upager.  upager runs first with its defaults but the budget
 * (the one setting a user confining it gives; the backend AUTO takes),
 * then with 4 KiB pages and no read-ahead, through signals and through
 * userfaultfd.
 *
 * Two unconfined rows with the file page-cached show the other extreme:
 * every miss is a copy from the page cache, no disk.
 */
#include <signal.h>
#include <sys/wait.h>

#include "bench.h"

#define WHAT "random 4 KiB reads, file = 4 x budget, memory confined"
#define CG_ROOT "/sys/fs/cgroup/memory"
#define CG_SLACK (32 * MiB)

enum { E_KCG, E_UPDEF, E_UPSIG, E_UPCG, E_KWARM, E_UPWARM, E_NR };

struct result {
	double secs;
	uint64_t faults;
	uint64_t bad;
	int ok;
};

static char cg_path[256];

static int put(const char *dir, const char *file, const char *val)
{
	char path[512];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = (int)write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Make the cgroup with the limit; 0 or a reason it cannot be used. */
static const char *cg_make(uint64_t limit)
{
	char val[32];

	if (geteuid() != 0)
		return "not root";
	if (access(CG_ROOT "/memory.limit_in_bytes", W_OK))
		return "no cgroup v1 memory controller at " CG_ROOT;
	snprintf(cg_path, sizeof(cg_path), CG_ROOT "/upager-bench-%d",
		 (int)getpid());
	if (mkdir(cg_path, 0755) && errno != EEXIST) {
		cg_path[0] = 0;
		return "cannot make a memory cgroup";
	}
	snprintf(val, sizeof(val), "%llu", (unsigned long long)limit);
	if (put(cg_path, "memory.limit_in_bytes", val)) {
		rmdir(cg_path);
		cg_path[0] = 0;
		return "cannot set memory.limit_in_bytes";
	}
	return NULL;
}

/* The cgroup's peak memory use since the last call, in bytes (0 if
 * unknown), and the peak reset. */
static uint64_t cg_peak(void)
{
	char path[512], val[32] = "";
	ssize_t n;
	int fd;

	if (!cg_path[0])
		return 0;
	snprintf(path, sizeof(path), "%s/memory.max_usage_in_bytes", cg_path);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, val, sizeof(val) - 1);
	close(fd);
	put(cg_path, "memory.max_usage_in_bytes", "0");
	return n > 0 ? strtoull(val, NULL, 10) : 0;
}

static void cg_remove(void)
{
	if (!cg_path[0])
		return;
	put(cg_path, "memory.force_empty", "0");
	if (rmdir(cg_path))
		printf("   warning: could not remove %s: %s\n", cg_path,
		       strerror(errno));
}

/* Touch nr random pages (with repeats); counts wrong words in r->bad. */
static void touch(const char *p, uint64_t pages_nr, size_t nr, uint64_t *rs,
		  struct result *r)
{
	for (size_t i = 0; i < nr; i++) {
		uint64_t pg = rnd_next(rs) % pages_nr;
		uint64_t off = pg * SYS_PAGE + (pg % 512) * 8;

		r->bad += *(const volatile uint64_t *)(p + off) !=
			  ((off / 8) ^ 0xabcd);
	}
}

/* upager with the defaults but for the budget (the one setting a user
 * confining it gives). */
static int engine_budget_only(struct engine *e, size_t budget)
{
	struct up_config cfg;
	int err;

	memset(e, 0, sizeof(*e));
	up_config_init(&cfg);
	cfg.budget = budget;
	err = up_pager_open(&e->pager, &cfg);
	if (err) {
		printf("   upager defaults: skipped: %s\n", up_strerror(err));
		e->pager = NULL;
		return err;
	}
	snprintf(e->name, sizeof(e->name), "upager defaults (%s)",
		 up_pager_backend(e->pager));
	e->ok = 1;
	return 0;
}

/* The child: optionally join the cgroup, then map and touch. */
static void child(int e, int fd, uint64_t len, uint64_t budget, size_t w,
		  size_t t, uint64_t rs, int out)
{
	struct result r = { 0 };
	struct engine eng;
	char pid[32];
	uint64_t t0, f0;
	void *p;

	if ((e == E_KCG || e == E_UPDEF || e == E_UPSIG || e == E_UPCG) &&
	    cg_path[0]) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (put(cg_path, "cgroup.procs", pid))
			_exit(3);
	}
	if (e == E_KCG || e == E_KWARM)
		engine_kernel(&eng, "kernel");
	else if (e == E_UPDEF	? engine_budget_only(&eng, budget)
		 : e == E_UPSIG ? engine_upager_flags(&eng, budget, 4 * KiB, 0,
						      BENCH_SIGNALS)
				: engine_upager(&eng, budget, 4 * KiB, 0))
		fflush(stdout), _exit(4);
	p = engine_map(&eng, len, PROT_READ, MAP_SHARED, fd);
	engine_advise(&eng, p, len, MADV_RANDOM);
	touch(p, len / SYS_PAGE, w, &rs, &r);
	f0 = engine_faults(&eng);
	t0 = now_ns();
	touch(p, len / SYS_PAGE, t, &rs, &r);
	r.secs = (double)(now_ns() - t0) / 1e9;
	r.faults = engine_faults(&eng) - f0;
	engine_unmap(&eng, p, len);
	engine_close(&eng);
	r.ok = 1;
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(5);
	_exit(0);
}

static int run(int e, int fd, uint64_t len, uint64_t budget, size_t w,
	       size_t t, uint64_t rs, struct result *r)
{
	int pfd[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		child(e, fd, len, budget, w, t, rs, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], r, sizeof(*r)) != sizeof(*r))
		r->ok = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("   child killed by signal %d%s\n", WTERMSIG(status),
		       WTERMSIG(status) == SIGKILL ? " (out of memory in the "
		       "cgroup?)" : "");
	else if (WEXITSTATUS(status))
		printf("   child exited with %d\n", WEXITSTATUS(status));
	return r->ok && !status ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const char *names[E_NR] = {
		"kernel mmap MADV_RANDOM, cgroup",
		"upager defaults but the budget, cgroup",
		"upager 4K ra0 signals, cgroup",
		"upager 4K ra0, cgroup",
		"kernel mmap, cached, no limit", "upager 4K ra0, cached",
	};
	struct engine eng[E_NR];
	uint64_t peak[E_NR] = { 0 };
	struct row rows[E_NR];
	struct bench_opts o;
	uint64_t len, budget, expect;
	const char *nocg;
	size_t w, t;
	char path[512];
	int fd;

	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 128 * MiB : 256 * MiB;
	budget = len / 4;
	w = len / SYS_PAGE / 2;
	t = o.quick ? 8192 : 32768;
	bench_banner("randread", WHAT);
	nocg = cg_make(budget + CG_SLACK);
	printf("   file %.0f MiB in %s, upager budget %.0f MiB, %zu untimed + "
	       "%zu timed touches per rep\n", (double)len / MiB, o.dir,
	       (double)budget / MiB, w, t);
	if (nocg)
		printf("   NOTE: %s: the kernel figure is UNCONFINED (its page "
		       "cache may hold the whole file)\n", nocg);
	else
		printf("   cgroup %s, memory.limit_in_bytes = budget + %llu "
		       "MiB\n", cg_path, (unsigned long long)(CG_SLACK / MiB));
	bench_csv_open("randread");
	fd = bench_file(&o, "randread", len, 0xabcd, path, sizeof(path),
			&expect);

	for (int e = 0; e < E_NR; e++) {
		engine_kernel(&eng[e], names[e]);
		row_init(&rows[e], &eng[e]);
	}
	for (int rep = 0; rep <= o.reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			struct result r;
			int warm = e == E_KWARM || e == E_UPWARM;
			uint64_t pk;

			if (rows[e].skipped)
				continue;
			if (warm) {
				bench_warm(fd, len);
			} else {
				double f = bench_drop(fd, len);

				if (f > 0.01)
					printf("   warning: %.0f%% of the file "
					       "is still cached\n", f * 100);
			}
			cg_peak();
			if (run(e, fd, len, budget, w, t, 0x1234 + rep, &r)) {
				rows[e].skipped = 1;
				continue;
			}
			/* The cgroup's peak use: memory the system spent. */
			pk = warm ? 0 : cg_peak();
			if (pk > peak[e])
				peak[e] = pk;
			if (rep > 0)
				row_add(&rows[e], (double)t / r.secs / 1e3,
					r.faults, r.bad == 0);
		}
	}
	for (int e = 0; e < E_NR; e++)
		if (peak[e])
			snprintf(rows[e].extra, sizeof(rows[e].extra),
				 "peak %.0f MiB", (double)peak[e] / MiB);
	if (nocg)
		snprintf(rows[E_KCG].extra, sizeof(rows[E_KCG].extra), "%s",
			 "UNCONFINED");
	bench_table("randread", "random 4K reads, file 4x memory",
		    "Kpages/s", "higher", rows, E_NR, E_KCG, o.reps);
	cg_remove();
	close(fd);
	unlink(path);
	return 0;
}
