/*
 * preload-life: a program's life under `upager run`, built and run by
 * tests/tool-run-life.sh.  It maps a file in a constructor (before main),
 * from four threads at once, across fork() (the child stores, the parent
 * sees it) and exec() (the new program maps through the pager too), and
 * keeps its own SIGSEGV handler working on memory of its own.
 *
 *   preload-life FILE [exec]
 *
 * Prints "taken N" or "kernel N" for each mapping (whether the pager
 * serves it), then "N passed, N failed".
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <upager.h>

#define LEN (4ul << 20)
static volatile int pass_nr, fail_nr;	/* (siglongjmp below) */
static const char *path;
static char *early;	/* mapped by the constructor */

#define CHECK(c, what)                                                  \
	do {                                                            \
		if (c) {                                                \
			pass_nr++;                                      \
		} else {                                                \
			fail_nr++;                                      \
			printf("FAIL: %s\n", what);                     \
		}                                                       \
	} while (0)

/* Whether the pager serves addr: the preload library's API, found at run
 * time (absent without it), knows the mapping, and the pager is not the
 * kernel's pass-through. */
static int taken(void *addr)
{
	struct up_pager *(*pager)(void) =
		(struct up_pager *(*)(void))dlsym(RTLD_DEFAULT,
						   "up_default_pager");
	int (*stats)(struct up_pager *, const void *, struct up_stats *) =
		(int (*)(struct up_pager *, const void *, struct up_stats *))
			dlsym(RTLD_DEFAULT, "up_mapping_stats");
	const char *(*backend)(struct up_pager *) =
		(const char *(*)(struct up_pager *))dlsym(RTLD_DEFAULT,
							   "up_pager_backend");
	struct up_stats st;
	struct up_pager *p;

	if (!pager || !stats || !backend || !(p = pager()))
		return 0;
	return strcmp(backend(p), "kernel") != 0 && stats(p, addr, &st) == 0;
}

static void say(const char *what, void *m)
{
	printf("%s %s\n", taken(m) ? "taken" : "kernel", what);
}

static char *map_file(int flags, size_t len)
{
	int fd = open(path, O_RDWR);
	char *m = fd < 0 ? MAP_FAILED :
		  mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (fd >= 0)
		close(fd);
	return m == MAP_FAILED ? NULL : m;
}

__attribute__((constructor)) static void before_main(void)
{
	path = getenv("LIFE_FILE");
	if (path)
		early = map_file(MAP_SHARED, LEN);
}

static void *thread(void *arg)
{
	long i = (long)arg;
	char *m = map_file(MAP_SHARED, LEN);

	if (!m)
		return (void *)1;
	for (size_t off = i * 4096; off < LEN; off += 4 * 4096)
		m[off] = (char)(i + 1);
	munmap(m, LEN);
	return NULL;
}

static sigjmp_buf jb;

static void on_segv(int sig)
{
	siglongjmp(jb, sig);
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	void *ret;
	char *m, *own;
	pid_t pid;
	int st;

	if (!path) {
		fprintf(stderr, "usage: LIFE_FILE=FILE %s [exec]\n", argv[0]);
		return 2;
	}
	CHECK(early != NULL, "the constructor's mapping");
	if (early)
		say("constructor", early);
	if (argc > 1) {		/* the program exec'd by the first */
		CHECK(early && early[0] == 'x', "the exec'd program's view");
		printf("%d passed, %d failed\n", pass_nr, fail_nr);
		return fail_nr != 0;
	}
	/* Four threads map, store and unmap at once. */
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread, (void *)i);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		CHECK(ret == NULL, "a thread's mapping");
	}
	m = map_file(MAP_SHARED, LEN);
	CHECK(m != NULL, "main's mapping");
	if (!m)
		return 1;
	say("main", m);
	for (size_t off = 0; off < LEN; off += 4096)
		if (m[off] != (char)(off / 4096 % 4 + 1)) {
			CHECK(0, "the threads' stores");
			break;
		}
	/* A SIGSEGV handler of the program's own, on memory of its own. */
	own = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	signal(SIGSEGV, on_segv);
	if (!sigsetjmp(jb, 1)) {
		*(volatile char *)own = 1;
		CHECK(0, "the program's own SIGSEGV");
	} else {
		CHECK(1, "");
	}
	signal(SIGSEGV, SIG_DFL);
	/* fork: the child's store reaches the parent's mapping. */
	pid = fork();
	if (pid == 0) {
		m[12345] = 'c';
		early[0] = 'x';
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "the child");
	CHECK(m[12345] == 'c', "the child's store, seen by the parent");
	msync(m, LEN, MS_SYNC);
	/* exec: the new program maps through the pager too. */
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "the exec'd program");
	printf("%d passed, %d failed\n", pass_nr, fail_nr);
	return fail_nr != 0;
}
