/* SPDX-License-Identifier: MIT */
/*
 * demo - upager side by side with the kernel's mmap(2) (`make demo`).
 *
 * Makes a 1 GiB file with a known pattern, maps it through a pager that may
 * hold only 64 MiB, scans it, writes every 4th 4 KiB page and 10,000 small
 * random spots, msyncs and unmaps.  Then it does the same to a copy
 * through the kernel's mmap and checks both files, read back with pread,
 * against the content computed here.  Prints the times and the pager's
 * statistics; exits 1 if any check fails.
 * The directory is $UPAGER_DEMO_DIR, else /var/tmp; the files are removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "upager.h"

#define LEN	(1ull << 30)
#define BUDGET	(64ull << 20)
#define PAGE	4096u
#define CHUNK	(2u << 20)	/* 2 MiB writes: the kernel gets huge folios */
#define POKES	10000
#define SEED_A	0x0123456789abcdefull	/* the file's content at first */
#define SEED_B	0xfedcba9876543210ull	/* written to every 4th page */

struct run {
	double secs[3];		/* scan, write, sync */
	uint64_t sum;		/* checksum seen by the scan */
	uint64_t peak;		/* most resident bytes seen */
	uint64_t faults;	/* the kernel's count (getrusage) */
	struct up_stats st;	/* the pager's, taken before unmap */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64-bit word i of the data holds i ^ seed. */
static void pattern(void *buf, size_t len, uint64_t off, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = (off / 8 + i) ^ seed;
}

/* Sum of each 4 KiB page's words, weighted by where the page is. */
static uint64_t checksum(const void *buf, size_t len, uint64_t off)
{
	const uint64_t *w = buf;
	uint64_t h = 0;

	for (size_t i = 0; i < len / 8; i += PAGE / 8) {
		uint64_t s = 0;

		for (size_t j = 0; j < PAGE / 8; j++)
			s += w[i + j];
		h += s * (2 * ((off + i * 8) / PAGE) + 1);
	}
	return h;
}

/* Small write number i: where, how long, which byte (reproducible). */
struct poke { uint64_t off; size_t len; int val; };

static struct poke poke(uint64_t i)
{
	uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z ^= z >> 27;
	return (struct poke){ z % (LEN - 64), 1 + (z >> 40) % 64, z >> 56 };
}

/* What CHUNK bytes of the file at off must hold after the demo's writes. */
static void model(unsigned char *buf, uint64_t off)
{
	pattern(buf, CHUNK, off, SEED_A);
	for (uint64_t o = off; o < off + CHUNK; o += 4 * PAGE)
		pattern(buf + (o - off), PAGE, o, SEED_B);
	for (uint64_t i = 0; i < POKES; i++) {
		struct poke k = poke(i);

		for (uint64_t b = k.off; b < k.off + k.len; b++)
			if (b >= off && b < off + CHUNK)
				buf[b - off] = (unsigned char)k.val;
	}
}

static unsigned char buf[CHUNK], want[CHUNK];

static int make_file(const char *path, uint64_t *sum)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	*sum = 0;
	for (uint64_t off = 0; fd >= 0 && off < LEN; off += CHUNK) {
		pattern(buf, CHUNK, off, SEED_A);
		*sum += checksum(buf, CHUNK, off);
		if (pwrite(fd, buf, CHUNK, (off_t)off) != CHUNK)
			return -1;
	}
	return fd < 0 || fdatasync(fd) ? -1 : fd;
}

/* Read the file back and compare it with the model; 0 if it matches. */
static int verify(int fd, const char *name)
{
	for (uint64_t off = 0; off < LEN; off += CHUNK) {
		model(want, off);
		if (pread(fd, buf, CHUNK, (off_t)off) != CHUNK ||
		    memcmp(buf, want, CHUNK)) {
			printf("FAIL: %s: the file differs from the model in "
			       "the 2 MiB at %llu\n", name,
			       (unsigned long long)off);
			return 1;
		}
	}
	return 0;
}

/* Resident bytes now: the pager's count, or the process's VmRSS. */
static uint64_t resident(struct up_pager *p)
{
	unsigned long long kb = 0;
	struct up_stats st;
	char line[128];
	FILE *f;

	if (p)
		return up_pager_stats(p, &st) ? 0 : st.resident * st.page_len;
	if ((f = fopen("/proc/self/status", "r"))) {
		while (fgets(line, sizeof(line), f))
			sscanf(line, "VmRSS: %llu", &kb);
		fclose(f);
	}
	return kb * 1024;
}

static void sample(struct run *r, struct up_pager *p, uint64_t base)
{
	uint64_t x = resident(p);

	x = x > base ? x - base : 0;
	r->peak = x > r->peak ? x : r->peak;
}

/* Scan, write, sync and unmap fd's file through pager p (NULL: kernel). */
static int work(struct up_pager *p, int fd, struct run *r)
{
	uint64_t base = p ? 0 : resident(NULL);
	struct rusage ru0, ru1;
	double t = now();
	unsigned char *m;
	void *addr;
	int err;

	getrusage(RUSAGE_SELF, &ru0);
	if (p)
		err = up_pager_map(p, NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0, &addr);
	else
		err = (addr = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0)) == MAP_FAILED ? -errno : 0;
	m = addr;
	if (err)
		return printf("FAIL: map: %s\n", up_strerror(err)), 1;
	for (uint64_t off = 0; off < LEN; off += CHUNK) {
		r->sum += checksum(m + off, CHUNK, off);
		if (off % (16 * CHUNK) == 0)
			sample(r, p, base);
	}
	r->secs[0] = now() - t;
	t = now();
	for (uint64_t off = 0; off < LEN; off += 4 * PAGE) {
		pattern(m + off, PAGE, off, SEED_B);
		if (off % (16 * CHUNK) == 0)
			sample(r, p, base);
	}
	for (uint64_t i = 0; i < POKES; i++) {
		struct poke k = poke(i);

		memset(m + k.off, k.val, k.len);
	}
	sample(r, p, base);
	r->secs[1] = now() - t;
	t = now();
	if (p)
		err = up_pager_sync(p, m, LEN, MS_SYNC);
	else
		err = msync(m, LEN, MS_SYNC) ? -errno : 0;
	r->secs[2] = now() - t;
	getrusage(RUSAGE_SELF, &ru1);
	r->faults = (uint64_t)(ru1.ru_minflt - ru0.ru_minflt);
	if (p)
		up_pager_stats(p, &r->st);
	if (!err)
		err = p ? up_pager_unmap(p, m, LEN) : munmap(m, LEN) ? -errno : 0;
	if (err)
		return printf("FAIL: msync/munmap: %s\n", up_strerror(err)), 1;
	return 0;
}

static void table(const struct run *u, const struct run *k, const char *be)
{
	static const char *what[3] = { "scan 1 GiB", "write 256 MiB + 10000 "
				       "spots", "msync(MS_SYNC) 1 GiB" };
	const double bytes[3] = { LEN, LEN / 4 + POKES * 32.5, LEN }, M = 1 << 20;
	const struct up_stats *s = &u->st;

	printf("\n  %-30s%-28s%s\n", "", be, "kernel mmap(2)");
	for (int i = 0; i < 3; i++)
		printf("  %-30s%7.3f s %7.2f GB/s      %7.3f s %7.2f GB/s\n",
		       what[i], u->secs[i], bytes[i] / u->secs[i] / 1e9,
		       k->secs[i], bytes[i] / k->secs[i] / 1e9);
	printf("  %-30s%9llu / %-9llu        %llu (getrusage)\n",
	       "faults read / write", (unsigned long long)s->faults_read,
	       (unsigned long long)s->faults_write,
	       (unsigned long long)k->faults);
	printf("  %-30s%9llu / %llu / %llu\n", "fills / evictions / writebacks",
	       (unsigned long long)s->fills, (unsigned long long)s->evictions,
	       (unsigned long long)s->writebacks);
	printf("  %-30s%9.0f / %.0f MiB\n", "bytes read / written",
	       s->bytes_read / M, s->bytes_written / M);
	printf("  %-30s%9.1f / %.1f MiB\n", "resident / dirty before unmap",
	       (double)(s->resident * s->page_len) / M,
	       (double)(s->dirty * s->page_len) / M);
	printf("  %-30s%9.1f / %.1f us\n", "fill latency p50 / p99",
	       s->fill_ns_p50 / 1e3, s->fill_ns_p99 / 1e3);
	printf("  %-30s%9.1f MiB (budget %.0f)    %.1f MiB (VmRSS growth)\n",
	       "peak resident (sampled)", u->peak / M, BUDGET / M, k->peak / M);
}

int main(void)
{
	const char *dir = getenv("UPAGER_DEMO_DIR");
	char path_u[512], path_k[512];
	struct run u = { 0 }, k = { 0 };
	struct up_config cfg;
	struct up_pager *p;
	uint64_t sum;
	int fails = 0, err, fd_u, fd_k, uffd;

	dir = dir && *dir ? dir : "/var/tmp";
	snprintf(path_u, sizeof(path_u), "%s/upager-demo-%d", dir, getpid());
	snprintf(path_k, sizeof(path_k), "%s/upager-demo-%d.k", dir, getpid());
	printf("upager demo: two 1 GiB files in %s, pager budget 64 MiB\n",
	       dir);
	fd_u = make_file(path_u, &sum);
	fd_k = make_file(path_k, &sum);
	if (fd_u < 0 || fd_k < 0)
		return perror("make the files"), unlink(path_u), unlink(path_k), 1;

	up_config_init(&cfg);	/* 64 KiB pages, read-ahead, AUTO+FALLBACK */
	cfg.budget = BUDGET;
	if ((err = up_pager_open(&p, &cfg)))
		return printf("FAIL: up_pager_open: %s\n", up_strerror(err)), 1;
	uffd = !strcmp(up_pager_backend(p), "userfaultfd");
	printf("backend: %s\nnote:    %s\n", up_pager_backend(p),
	       up_pager_note(p));
	if (!uffd)
		printf("NOTE: no userfaultfd here; the upager column is the "
		       "kernel backend and the budget does not apply\n");

	fails += work(p, fd_u, &u);
	fails += up_pager_close(p) != 0;
	fails += work(NULL, fd_k, &k);
	table(&u, &k, uffd ? "upager (userfaultfd)" : "upager (kernel)");

	printf("\nchecks:\n  both scans saw the pattern: %s\n",
	       u.sum == sum && k.sum == sum ? "yes" : "NO");
	fails += u.sum != sum || k.sum != sum;
	err = verify(fd_u, "upager") + verify(fd_k, "kernel");
	printf("  both files, read back with pread, equal the model: %s\n",
	       err ? "NO" : "yes");
	printf("  the pager stayed within its budget: %s\n",
	       !uffd ? "n/a" : u.peak <= BUDGET ? "yes" : "NO");
	fails += err + (uffd && u.peak > BUDGET);
	close(fd_u);
	close(fd_k);
	unlink(path_u);
	unlink(path_k);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails != 0;
}
