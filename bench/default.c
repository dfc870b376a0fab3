/* SPDX-License-Identifier: MIT */
/*
 * default - the drop-in API with no configuration at all, beside the
 * kernel's mmap: what a program gets that replaces mmap(2) with up_mmap().
 *
 * One file (1 GiB; --quick 256 MiB; --size), page-cached, and five
 * workloads, each engine in turn in every rep:
 *   first-touch scan   map, read every word, unmap
 *   re-scan            a second pass over a mapping already read
 *   random fault       map, read one word of each of 4096 random 4 KiB
 *                      pages (each checked), unmap: us per touch
 *   write + MS_SYNC    map read-write, write every word, msync(MS_SYNC),
 *                      unmap; the file is then read back with pread
 *   second process     while this process has the file mapped and read,
 *                      another program (this one, exec'd) maps and scans
 *                      it through the same engine
 */
#include <sys/wait.h>

#include "bench.h"

#define WHAT "the drop-in API with no configuration, beside the kernel"

enum { E_KERNEL, E_UP, E_NR };

static int is_up(int e)
{
	return e == E_UP;
}

static void *map(int e, size_t len, int prot, int fd)
{
	void *p = is_up(e) ? up_mmap(NULL, len, prot, MAP_SHARED, fd, 0)
			   : mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("%s: %s", is_up(e) ? "up_mmap" : "mmap", strerror(errno));
	return p;
}

static void unmap(int e, void *p, size_t len)
{
	if (is_up(e) ? up_munmap(p, len) : munmap(p, len))
		die("munmap: %s", strerror(errno));
}

static uint64_t faults(int e)
{
	struct up_stats st;

	if (!is_up(e) || up_pager_stats(up_default_pager(), &st))
		return bench_faults_self();
	return st.faults_read + st.faults_write;
}

/* The second process: map path, scan it, print the nanoseconds. */
static int child_main(int e, const char *path, uint64_t len)
{
	int fd = open(path, O_RDONLY);
	uint64_t t0, h;
	void *p;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	t0 = now_ns();
	p = map(e, len, PROT_READ, fd);
	h = csum(p, len, 0);
	unmap(e, p, len);
	printf("%llu %llu\n", (unsigned long long)(now_ns() - t0),
	       (unsigned long long)h);
	return 0;
}

static double second_process(int e, const char *path, uint64_t len,
			     uint64_t expect, int *right)
{
	char arg_e[8], arg_len[32], out[128] = "";
	unsigned long long ns = 0, h = 0;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	snprintf(arg_e, sizeof(arg_e), "%d", e);
	snprintf(arg_len, sizeof(arg_len), "%llu", (unsigned long long)len);
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl("/proc/self/exe", "default", "--child", arg_e, path,
		      arg_len, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	waitpid(pid, &st, 0);
	if (n <= 0 || sscanf(out, "%llu %llu", &ns, &h) != 2 || !ns ||
	    !WIFEXITED(st) || WEXITSTATUS(st))
		die("second process failed (status %d)", st);
	*right = h == expect;
	return (double)len / (double)ns;
}

int main(int argc, char **argv)
{
	static const char *names[E_NR] = { "kernel mmap",
					   "upager, no configuration" };
	enum { W_SCAN, W_RESCAN, W_FAULT, W_WRITE, W_XPROC, W_NR };
	struct row rows[W_NR][E_NR];
	struct engine eng[E_NR];
	struct bench_opts o;
	uint64_t len, expect, touches;
	uint64_t *pgno, *all;
	char path[512];
	int fd;

	if (argc == 5 && !strcmp(argv[1], "--child"))
		return child_main(atoi(argv[2]), argv[3],
				  strtoull(argv[4], NULL, 0));
	bench_parse(&o, argc, argv, WHAT);
	len = o.size ? o.size : o.quick ? 256 * MiB : GiB;
	touches = 4096;
	bench_banner("default", WHAT);
	bench_csv_open("default");
	printf("   file %.2f GiB in %s; upager: up_mmap() & co, the default "
	       "pager as up_config_init() makes it (%s backend)\n",
	       (double)len / GiB, o.dir,
	       up_default_pager() ? up_pager_backend(up_default_pager())
				  : "no");
	fd = bench_file(&o, "default", len, 1, path, sizeof(path), &expect);
	for (int e = 0; e < E_NR; e++) {
		engine_kernel(&eng[e], names[e]);
		for (int w = 0; w < W_NR; w++)
			row_init(&rows[w][e], &eng[e]);
	}
	if (up_default_pager() == NULL ||
	    !strcmp(up_pager_backend(up_default_pager()), "kernel")) {
		printf("   upager: the default pager is the kernel backend "
		       "here: skipped\n");
		for (int w = 0; w < W_NR; w++)
			rows[w][E_UP].skipped = 1;
	}
	pgno = malloc(touches * sizeof(*pgno));
	all = malloc(len / SYS_PAGE * sizeof(*all));
	if (!pgno || !all)
		die("out of memory");

	for (int rep = 0; rep <= o.reps; rep++) {
		for (int e = 0; e < E_NR; e++) {
			uint64_t t0, t1, f0, h, seed = 2 + (uint64_t)rep;
			struct row *r;
			int right;
			char *p;

			if (rows[W_SCAN][e].skipped)
				continue;
			/* first-touch scan, then the re-scan */
			bench_warm(fd, len);
			f0 = faults(e);
			t0 = now_ns();
			p = map(e, len, PROT_READ, fd);
			h = csum(p, len, 0);
			t1 = now_ns();
			if (rep)
				row_add(&rows[W_SCAN][e],
					(double)len / (double)(t1 - t0),
					faults(e) - f0, h == expect);
			f0 = faults(e);
			t0 = now_ns();
			h = csum(p, len, 0);
			t1 = now_ns();
			if (rep)
				row_add(&rows[W_RESCAN][e],
					(double)len / (double)(t1 - t0),
					faults(e) - f0, h == expect);

			/* another process scans it while this one holds it */
			if (rep) {
				double v = second_process(e, path, len, expect,
							  &right);

				row_add(&rows[W_XPROC][e], v, 0, right);
			}
			unmap(e, p, len);

			/* random faults on a fresh mapping */
			bench_warm(fd, len);
			bench_pick(pgno, touches, all, len / SYS_PAGE,
				   0x5eed + (uint64_t)rep);
			right = 1;
			p = map(e, len, PROT_READ, fd);
			f0 = faults(e);
			t0 = now_ns();
			for (uint64_t i = 0; i < touches; i++) {
				uint64_t wi = pgno[i] * (SYS_PAGE / 8);

				right &= ((volatile uint64_t *)p)[wi] ==
					 (wi ^ 1);
			}
			t1 = now_ns();
			if (rep)
				row_add(&rows[W_FAULT][e],
					(double)(t1 - t0) / 1e3 /
						(double)touches,
					faults(e) - f0, right);
			unmap(e, p, len);

			/* write every word, then MS_SYNC */
			bench_warm(fd, len);
			f0 = faults(e);
			t0 = now_ns();
			p = map(e, len, PROT_READ | PROT_WRITE, fd);
			pat_fill(p, len, 0, seed);
			if (is_up(e) ? up_msync(p, len, MS_SYNC)
				     : msync(p, len, MS_SYNC))
				die("msync: %s", strerror(errno));
			unmap(e, p, len);
			t1 = now_ns();
			r = &rows[W_WRITE][e];
			if (rep)
				row_add(r, (double)len / (double)(t1 - t0),
					faults(e) - f0,
					file_csum(fd, len) ==
						pat_csum(len, seed));
			/* back to the pattern the other workloads check */
			p = map(E_KERNEL, len, PROT_READ | PROT_WRITE, fd);
			pat_fill(p, len, 0, 1);
			msync(p, len, MS_SYNC);
			unmap(E_KERNEL, p, len);
		}
	}
	bench_table("default", "first-touch scan", "GB/s", "higher",
		    rows[W_SCAN], E_NR, E_KERNEL, o.reps);
	bench_table("default", "re-scan of a resident mapping", "GB/s",
		    "higher", rows[W_RESCAN], E_NR, E_KERNEL, o.reps);
	bench_table("default", "random 4 KiB read fault, fresh mapping",
		    "us/touch", "lower", rows[W_FAULT], E_NR, E_KERNEL,
		    o.reps);
	bench_table("default", "sequential write + msync(MS_SYNC)", "GB/s",
		    "higher", rows[W_WRITE], E_NR, E_KERNEL, o.reps);
	bench_table("default", "scan by a second process", "GB/s", "higher",
		    rows[W_XPROC], E_NR, E_KERNEL, o.reps);
	if (!rows[W_SCAN][E_UP].skipped) {
		struct up_stats st;

		if (!up_pager_stats(up_default_pager(), &st))
			printf("\n   default pager: page %llu KiB, budget %llu "
			       "MiB, fills %llu, evictions %llu, fault p50 "
			       "%.1f us p99 %.1f us\n",
			       (unsigned long long)(st.page_len / KiB),
			       (unsigned long long)(st.budget_pages *
						    st.page_len / MiB),
			       (unsigned long long)st.fills,
			       (unsigned long long)st.evictions,
			       st.fill_ns_p50 / 1e3, st.fill_ns_p99 / 1e3);
	}
	free(pgno);
	free(all);
	close(fd);
	unlink(path);
	return 0;
}
