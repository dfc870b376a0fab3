/* SPDX-License-Identifier: MIT */
/*
 * machine - what the mechanisms a pager is built from cost on this
 * machine, beside the kernel's own page fault.
 *
 * Virtual machines differ by an order of magnitude in the cost of a
 * system call, a page fault and above all a TLB shootdown (an inter-
 * processor interrupt, which a hypervisor may have to forward), and every
 * bound in bench/README.md is made of these.  Each figure is the median
 * over the reps of the mean cost of one operation, and the ratio is to
 * the kernel's own file page fault (a 4 KiB-folio file, MADV_RANDOM, so
 * one fault maps one page) measured in the same run.  "Sibling" means
 * another thread of the process spins on the other CPU, as a program does
 * while its pager works, so that a change to the page tables must be
 * flushed from that CPU's TLB too.
 *
 * Nothing here uses upager; `upager info` tells whether userfaultfd works.
 */
#include "bench.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include "up-uffd.h"

#define WHAT "costs of page-table and system-call mechanisms"

enum {
	M_KFAULT, M_SYSCALL, M_ANON, M_ZAP, M_ZAP_SIB, M_SEGV, M_PREAD,
	M_MOVE4K_SIB, M_MOVE2M_SIB, M_NR
};

static const char *names[M_NR] = {
	"kernel file fault, 4K folio",
	"null system call",
	"anonymous page fault",
	"zap one page (TLB flush)",
	"zap one page, sibling",
	"SIGSEGV + mprotect",
	"pread 2 MiB, cached",
	"UFFDIO_MOVE 4 KiB, sibling",
	"UFFDIO_MOVE 2 MiB, sibling",
};

#define OPS 2000			/* small operations a rep */
#define BIG 64				/* 2 MiB operations a rep */

static atomic_int sib_stop;

static void *sibling(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&sib_stop, memory_order_relaxed))
		__asm__ volatile("" ::: "memory");
	return NULL;
}

static char *anon(size_t len, int advice)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	madvise(m, len, advice);
	return m;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	mprotect((void *)((uintptr_t)si->si_addr & ~(uintptr_t)(SYS_PAGE - 1)),
		 SYS_PAGE, PROT_READ | PROT_WRITE);
}

/* ns per fault of the kernel on fd (4 KiB folios), one page in 16 so that
 * fault-around maps nothing that is touched later. */
static double kernel_fault(int fd, uint64_t len)
{
	volatile char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	uint64_t t0, nr = 0;

	if (m == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	madvise((void *)m, len, MADV_RANDOM);
	t0 = now_ns();
	for (uint64_t off = 0; off < len && nr < OPS; off += 16 * SYS_PAGE, nr++)
		(void)m[off];
	t0 = now_ns() - t0;
	munmap((void *)m, len);
	return (double)t0 / (double)nr;
}

static double zap(char *m, bool sib)
{
	pthread_t t;
	uint64_t t0;

	for (int i = 0; i < OPS; i++)
		m[(size_t)i * SYS_PAGE] = 1;
	if (sib) {
		atomic_store(&sib_stop, 0);
		pthread_create(&t, NULL, sibling, NULL);
		usleep(1000);
	}
	t0 = now_ns();
	for (int i = 0; i < OPS; i++)
		madvise(m + (size_t)i * SYS_PAGE, SYS_PAGE, MADV_DONTNEED);
	t0 = now_ns() - t0;
	if (sib) {
		atomic_store(&sib_stop, 1);
		pthread_join(t, NULL);
	}
	return (double)t0 / OPS;
}

static double segv(char *m)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO }, old;
	uint64_t t0;

	sigaction(SIGSEGV, &sa, &old);
	for (int i = 0; i < OPS; i++)
		m[(size_t)i * SYS_PAGE] = 1;
	mprotect(m, (size_t)OPS * SYS_PAGE, PROT_NONE);
	t0 = now_ns();
	for (int i = 0; i < OPS; i++)
		m[(size_t)i * SYS_PAGE] = 2;
	t0 = now_ns() - t0;
	sigaction(SIGSEGV, &old, NULL);
	return (double)t0 / OPS;
}

/*
 * ns per UFFDIO_MOVE of `unit` bytes between two registered anonymous
 * areas, back and forth, with a sibling running; -1 if unsupported.
 */
static double move(int uffd, size_t unit, int nr)
{
	size_t len = unit * (size_t)nr;
	char *a = anon(len + 2 * MiB, MADV_HUGEPAGE);
	char *b = anon(len + 2 * MiB, MADV_HUGEPAGE);
	char *pa = (char *)(((uintptr_t)a + 2 * MiB - 1) & ~(2 * MiB - 1));
	char *pb = (char *)(((uintptr_t)b + 2 * MiB - 1) & ~(2 * MiB - 1));
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	double r = -1;
	pthread_t t;
	uint64_t t0;

	memset(pa, 1, len);
	reg.range = (struct uffdio_range){ (uintptr_t)pa, len };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		goto out;
	reg.range = (struct uffdio_range){ (uintptr_t)pb, len };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		goto out;
	atomic_store(&sib_stop, 0);
	pthread_create(&t, NULL, sibling, NULL);
	usleep(1000);
	t0 = now_ns();
	for (int i = 0; i < nr; i++) {
		struct up_uffdio_move mv = {
			.dst = (uintptr_t)pb + (size_t)i * unit,
			.src = (uintptr_t)pa + (size_t)i * unit,
			.len = unit,
		};

		if (ioctl(uffd, UP_UFFDIO_MOVE, &mv))
			break;
		r = 0;
	}
	t0 = now_ns() - t0;
	atomic_store(&sib_stop, 1);
	pthread_join(t, NULL);
	if (r == 0)
		r = (double)t0 / nr;
out:
	munmap(a, len + 2 * MiB);
	munmap(b, len + 2 * MiB);
	return r;
}

static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UP_UFFD_FEATURE_MOVE };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static double pread_2m(int fd, uint64_t len, char *buf)
{
	uint64_t t0 = now_ns();

	for (int i = 0; i < BIG; i++)
		if (pread(fd, buf, 2 * MiB, (off_t)((i * 2 * MiB) % len)) < 0)
			die("pread: %s", strerror(errno));
	return (double)(now_ns() - t0) / BIG;
}

int main(int argc, char **argv)
{
	double v[M_NR][BENCH_MAX_REPS];
	struct bench_opts o;
	uint64_t len = 256 * MiB, expect;
	char path[512], *m, *buf;
	int fd, uffd, nr;

	bench_parse(&o, argc, argv, WHAT);
	bench_banner("machine", WHAT);
	fd = bench_file(&o, "machine", len, 7, path, sizeof(path), &expect);
	bench_drop(fd, len);	/* bench_warm_4k writes it in 4 KiB folios */
	uffd = uffd_open();
	m = anon((size_t)OPS * SYS_PAGE, MADV_NOHUGEPAGE);
	buf = anon(2 * MiB, MADV_HUGEPAGE);
	memset(buf, 0, 2 * MiB);
	/* Rep 0 is a warm-up, overwritten by rep 1. */
	for (int rep = 0; rep <= o.reps; rep++) {
		int n = rep ? rep - 1 : 0;
		uint64_t t0;

		bench_warm_4k(fd, len, 7);
		v[M_KFAULT][n] = kernel_fault(fd, len);
		t0 = now_ns();
		for (int i = 0; i < OPS; i++)
			syscall(SYS_getppid);
		v[M_SYSCALL][n] = (double)(now_ns() - t0) / OPS;
		madvise(m, (size_t)OPS * SYS_PAGE, MADV_DONTNEED);
		t0 = now_ns();
		for (int i = 0; i < OPS; i++)
			m[(size_t)i * SYS_PAGE] = 1;
		v[M_ANON][n] = (double)(now_ns() - t0) / OPS;
		v[M_ZAP][n] = zap(m, false);
		v[M_ZAP_SIB][n] = zap(m, true);
		v[M_SEGV][n] = segv(m);
		v[M_PREAD][n] = pread_2m(fd, len, buf);
		v[M_MOVE4K_SIB][n] = uffd < 0 ? -1 : move(uffd, SYS_PAGE, OPS);
		v[M_MOVE2M_SIB][n] = uffd < 0 ? -1 : move(uffd, 2 * MiB, BIG);
	}
	nr = o.reps;
	printf("\n%-32s %12s %10s\n", "mechanism (one operation)",
	       "us median", "x kernel");
	for (int i = 0; i < M_NR; i++) {
		double med = median_of(v[i], nr);
		double base = median_of(v[M_KFAULT], nr);

		if (med < 0) {
			printf("%-32s %12s\n", names[i], "unsupported");
			continue;
		}
		printf("%-32s %12.2f %9.2fx\n", names[i], med / 1e3,
		       med / base);
	}
	printf("(%d reps; x kernel: multiples of the kernel's own 4 KiB file "
	       "fault)\n", nr);
	if (uffd >= 0)
		close(uffd);
	close(fd);
	unlink(path);
	return 0;
}
