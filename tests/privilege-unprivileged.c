/* privilege-unprivileged: without userfaultfd rights, probe says why, UFFD is -EPERM, AUTO takes the signals backend, which holds its budget on a file 16 times larger, and USER_MODE_OK works. */
#include <grp.h>
#include <sys/sysmacros.h>
#include "harness.h"

#define LEN (256 * 1024)

static int sysctl_on, fd;

static struct up_pager *open_with(enum up_backend b, unsigned flags, int *err)
{
	struct up_config cfg;
	struct up_pager *p = NULL;

	up_config_init(&cfg);
	cfg.backend = b;
	cfg.flags = flags;
	cfg.page_len = 16384;
	*err = up_pager_open(&p, &cfg);
	return *err ? NULL : p;
}

/* Map the file through p: it reads right and writes reach the file. */
static void works(struct up_pager *p)
{
	char *map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char c = 0;

	if (!map)
		return;
	CHECK_EQ(h_pat_diff(map, 1, 0, LEN), -1);
	map[1000] = 'u';
	CHECK_OK(up_pager_unmap(p, map, LEN));
	CHECK_EQ(pread(fd, &c, 1, 1000), 1);
	CHECK_EQ(c, 'u');
	c = (char)h_pat(1, 1000);
	CHECK_EQ(pwrite(fd, &c, 1, 1000), 1);
}

/*
 * A file 16 times the budget, scanned through a pager with the defaults
 * but its budget: its pages resident, and the file's pages in the page
 * cache, stay within the budget (twice it for the page cache, which the
 * kernel fills ahead), and every byte reads right.
 */
#define BIG_BUDGET (4u << 20)
#define BIG_LEN (16 * (size_t)BIG_BUDGET)

/* The read-ahead of f's device, in bytes (its queue's read_ahead_kb, or
 * that of the disk of a partition); 0 if unknown. */
static size_t ra_of(int f)
{
	struct stat st;
	char path[128];
	unsigned long kb = 0;
	FILE *fp = NULL;

	if (fstat(f, &st))
		return 0;
	for (int up = 0; up < 2 && !fp; up++) {
		snprintf(path, sizeof(path),
			 "/sys/dev/block/%u:%u/%squeue/read_ahead_kb",
			 major(st.st_dev), minor(st.st_dev), up ? "../" : "");
		fp = fopen(path, "r");
	}
	if (!fp)
		return 0;
	if (fscanf(fp, "%lu", &kb) != 1)
		kb = 0;
	fclose(fp);
	return kb << 10;
}

static void holds_budget(struct up_pager *q)
{
	struct up_config cfg;
	struct up_pager *p = NULL;
	struct up_stats st;
	int big = h_file(BIG_LEN, 7);
	size_t most = 0, bad = 0;
	char *m;

	(void)q;
	up_config_init(&cfg);
	cfg.budget = BIG_BUDGET;
	CHECK_OK(up_pager_open(&p, &cfg));
	if (!p || big < 0)
		goto out;
	CHECK(!strcmp(up_pager_backend(p), "signals"));
	/* (What writing the file left in the page cache goes first.) */
	CHECK_OK(fdatasync(big));
	CHECK_OK(posix_fadvise(big, 0, 0, POSIX_FADV_DONTNEED));
	m = h_map(p, BIG_LEN, PROT_READ, MAP_SHARED, big, 0);
	if (!m)
		goto out;
	for (size_t off = 0; off < BIG_LEN; off += 4096) {
		bad += h_pat_diff(m + off, 7, off, 4096) != -1;
		if (off % BIG_BUDGET == BIG_BUDGET - 4096) {
			size_t c = h_cached(big, BIG_LEN);

			most = c > most ? c : most;
			CHECK_OK(up_pager_stats(p, &st));
			CHECK(st.resident * st.page_len <= BIG_BUDGET);
		}
	}
	CHECK_EQ(bad, 0);
	printf("%zu MiB file, %u MiB budget: at most %zu KiB of it in the "
	       "page cache (the device reads ahead %zu KiB)\n",
	       BIG_LEN >> 20, BIG_BUDGET >> 20, most >> 10, ra_of(big) >> 10);
	/* (Beside the pager's window, the kernel may read ahead as far as
	 * the device's read_ahead_kb, twice over when it runs ahead.) */
	CHECK(most <= 2 * BIG_BUDGET + 2 * ra_of(big));
	CHECK_OK(up_pager_stats(p, &st));
	CHECK(st.evictions > 0);
	CHECK_OK(up_pager_unmap(p, m, BIG_LEN));
out:
	if (p)
		CHECK_OK(up_pager_close(p));
	if (big >= 0)
		close(big);
}

static void unprivileged(void *arg)
{
	char why[1024] = "";
	struct up_pager *p;
	int err, pfd[2];
	char *map, buf[100];

	(void)arg;
	if (sysctl_on) {	/* the unprivileged case is permitted here */
		CHECK_OK(up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why)));
		p = open_with(UP_BACKEND_UFFD, 0, &err);
		CHECK_OK(err);
		if (p) {
			CHECK(!strcmp(up_pager_backend(p), "userfaultfd"));
			works(p);
			CHECK_OK(up_pager_close(p));
		}
		return;
	}
	CHECK_EQ(up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why)), -EPERM);
	printf("probe says: %s\n", why);
	CHECK(strstr(why, "vm.unprivileged_userfaultfd") != NULL);
	CHECK(strstr(why, "/dev/userfaultfd") != NULL);
	CHECK_OK(up_backend_probe(UP_BACKEND_UFFD, UP_CONFIG_USER_MODE_OK, why, sizeof(why)));
	CHECK_OK(up_backend_probe(UP_BACKEND_KERNEL, 0, why, sizeof(why)));
	CHECK_OK(up_backend_probe(UP_BACKEND_AUTO, UP_CONFIG_FALLBACK, why, sizeof(why)));
	CHECK_OK(up_backend_probe(UP_BACKEND_AUTO, 0, why, sizeof(why)));
	CHECK_OK(up_backend_probe(UP_BACKEND_SIGNALS, 0, why, sizeof(why)));

	CHECK(!open_with(UP_BACKEND_UFFD, 0, &err));
	CHECK_EQ(err, -EPERM);

	/* AUTO, with the defaults or without FALLBACK: the signals
	 * backend, which says why. */
	for (int k = 0; k < 2; k++) {
		p = open_with(UP_BACKEND_AUTO, k ? 0 : UP_CONFIG_FALLBACK, &err);
		CHECK_OK(err);
		if (!p)
			continue;
		printf("AUTO: backend %s, note: %s\n", up_pager_backend(p),
		       up_pager_note(p));
		CHECK(!strcmp(up_pager_backend(p), "signals"));
		CHECK(strstr(up_pager_note(p), "vm.unprivileged_userfaultfd"));
		works(p);
		if (!k)
			holds_budget(p);
		CHECK_OK(up_pager_close(p));
	}

	p = open_with(UP_BACKEND_UFFD, UP_CONFIG_USER_MODE_OK, &err);
	CHECK_OK(err);
	if (!p)
		return;
	printf("user-mode-only: backend %s, note: %s\n", up_pager_backend(p),
	       up_pager_note(p));
	CHECK(!strcmp(up_pager_backend(p), "userfaultfd"));
	works(p);
	/* A file mapping the budget holds whole is the kernel's mapping of
	 * the file from the start: system calls read it at once. */
	map = h_map(p, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (map && !pipe(pfd)) {
		CHECK_EQ(write(pfd[1], map + 5 * 16384, sizeof(buf)), sizeof(buf));
		CHECK_EQ(read(pfd[0], buf, sizeof(buf)), sizeof(buf));
		CHECK_EQ(h_pat_diff(buf, 1, 5 * 16384, sizeof(buf)), -1);
		close(pfd[0]);
		close(pfd[1]);
	}
	if (map)
		CHECK_OK(up_pager_unmap(p, map, LEN));
	/* Elsewhere, system calls on pages not yet faulted in fail with
	 * EFAULT. */
	map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (map && !pipe(pfd)) {
		errno = 0;
		CHECK_EQ(write(pfd[1], map + 5 * 16384, sizeof(buf)), -1);
		CHECK_EQ(errno, EFAULT);
		map[5 * 16384] = 'a';
		CHECK_EQ(write(pfd[1], map + 5 * 16384, sizeof(buf)), sizeof(buf));
		CHECK_EQ(read(pfd[0], buf, sizeof(buf)), sizeof(buf));
		CHECK_EQ(buf[0], 'a');
		CHECK_EQ(buf[1], 0);
		close(pfd[0]);
		close(pfd[1]);
	}
	if (map)
		CHECK_OK(up_pager_unmap(p, map, LEN));
	CHECK_OK(up_pager_close(p));
}

static void drop_privileges(void *arg)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		H_FAIL("cannot become nobody: %s", strerror(errno));
		return;
	}
	unprivileged(arg);
}

int main(void)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	char why[1024];

	if (f) {
		sysctl_on = fgetc(f) == '1';
		fclose(f);
	}
	printf("vm.unprivileged_userfaultfd=%d\n", sysctl_on);
	fd = h_file(LEN, 1);
	fchmod(fd, 0666);	/* the child may no longer own it */
	if (geteuid() == 0) {
		CHECK_OK(up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why)));
		CHECK_EQ(h_fork(drop_privileges, NULL), 0);
	} else if (!sysctl_on &&
		   !up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why))) {
		SKIP("this user may use userfaultfd and cannot drop that right");
	} else {
		CHECK_EQ(h_fork(unprivileged, NULL), 0);
	}
	close(fd);
	h_done();
}
