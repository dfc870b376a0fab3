/* shared-load: 4 processes x 2 threads read, write and msync their own stripes of one file through a shared page cache for 12 seconds (UPAGER_LOAD_SECONDS); every read matches and the file ends equal to the model. */
#include "harness.h"

#include <sys/prctl.h>

/*
 * The file is twice the budget.  Its first half is cut into 512-byte
 * units dealt round the 8 threads (so every page there has writers in all
 * four processes); its second half into 32 KiB blocks, so some pages have
 * a single writer.  Each thread owns its units and keeps their expected
 * content in a model that the parent can read afterwards (memory shared
 * with it, not a mapping of any pager).
 *
 * UPAGER_LOAD_SECONDS sets the run time (default 60, 15 sanitized): the
 * userfaultfd backend gets five sixths of it, the kernel backend the rest.
 */
#define PROCS 4
#define THREADS 2
#define STRIPES (PROCS * THREADS)
#define PG 16384
#define BUDGET 16			/* pages */
#define PAGES (2 * BUDGET)
#define FLEN ((size_t)PAGES * PG)
#define UNIT 512			/* first half */
#define BLOCK 32768			/* second half: one each */
#define HALF (FLEN / 2)
#define UNITS_MAX (HALF / UNIT + HALF / BLOCK)

struct unit {
	uint32_t off, len;
};

struct tstats {
	uint64_t writes, reads, syncs[2], verifies, bytes_w, bytes_r;
	int pass, fail;			/* a process's checks, thread 0 */
	struct up_stats st;		/* a process's pager, thread 0 */
};

static struct unit units[STRIPES][UNITS_MAX];
static size_t units_nr[STRIPES];
static char *model;			/* shared with the children */
static struct tstats *tstats;		/* shared with the children */
static uint64_t seed, deadline_ns;

static void adjust(struct up_config *c)
{
	c->page_len = PG;
	c->budget = BUDGET * PG;
	c->readahead_nr = 4;
	c->threads_nr = 2;
	c->flags |= UP_CONFIG_SHARED;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void deal_units(void)
{
	for (size_t off = 0; off < HALF; off += UNIT) {
		size_t u = off / UNIT, t = (u + u / (PG / UNIT)) % STRIPES;

		units[t][units_nr[t]++] = (struct unit){ (uint32_t)off, UNIT };
	}
	for (size_t off = HALF; off < FLEN; off += BLOCK) {
		size_t t = (off - HALF) / BLOCK % STRIPES;

		units[t][units_nr[t]++] = (struct unit){ (uint32_t)off, BLOCK };
	}
}

struct worker {
	struct up_pager *p;
	char *map;
	int t;				/* stripe */
};

/* Compare [off, off+len) of the mapping with the model. */
static int verify(const struct worker *w, size_t off, size_t len,
		  const char *what)
{
	const volatile char *m = w->map + off;

	if (!memcmp(w->map + off, model + off, len))
		return 1;
	for (size_t i = 0; i < len; i++)
		if (m[i] != model[off + i]) {
			H_FAIL("stripe %d: %s at %zu (page %zu): %#x, want "
			       "%#x", w->t, what, off + i, (off + i) / PG,
			       m[i] & 0xff, model[off + i] & 0xff);
			break;
		}
	return 0;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct tstats *ts = &tstats[w->t];
	uint64_t rng = seed * 0x9E3779B97F4A7C15ull + (uint64_t)w->t + 1;
	char buf[BLOCK];
	int bad = 0;

	for (uint64_t op = 0; bad < 3; op++) {
		const struct unit *u = &units[w->t][h_rand_r(&rng) %
						     units_nr[w->t]];
		size_t at = h_rand_r(&rng) % u->len;
		size_t off = u->off + at;
		size_t len = 1 + h_rand_r(&rng) % (u->len - at);
		unsigned kind = (unsigned)(h_rand_r(&rng) % 100);

		if (op % 64 == 0 && now_ns() >= deadline_ns)
			break;
		if (kind < 46) {
			for (size_t i = 0; i < len; i += 8) {
				uint64_t x = h_rand_r(&rng);

				memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
			}
			memcpy(model + off, buf, len);
			memcpy(w->map + off, buf, len);
			ts->writes++;
			ts->bytes_w += len;
		} else if (kind < 92) {
			bad += !verify(w, off, len, "read");
			ts->reads++;
			ts->bytes_r += len;
		} else if (kind < 99) {
			size_t a = h_rand_r(&rng) % PAGES;
			size_t n = 1 + h_rand_r(&rng) % 16;
			int fl = kind & 1 ? MS_SYNC : MS_ASYNC;

			if (kind == 98) {	/* the whole file */
				a = 0;
				n = PAGES;
			}
			if (n > PAGES - a)
				n = PAGES - a;
			CHECK_OK(up_pager_sync(w->p, w->map + a * PG, n * PG,
					       fl));
			ts->syncs[fl == MS_SYNC]++;
		} else {		/* the whole stripe */
			for (size_t k = 0; k < units_nr[w->t]; k++)
				bad += !verify(w, units[w->t][k].off,
					       units[w->t][k].len,
					       "stripe read");
			ts->verifies++;
		}
	}
	CHECK_EQ(bad, 0);
	return NULL;
}

/* One process: its pager, a mapping of the whole file, two threads. */
static void child(int proc, enum up_backend b, int fd)
{
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct up_pager *p;
	static char ctx[32];
	char *map;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(ctx, sizeof(ctx), "%s proc %d", h_backend_name(b), proc);
	h_ctx = ctx;
	h_pass_nr = h_fail_nr = 0;
	p = h_open(b, adjust);
	if (!p)
		goto out;
	map = h_map(p, FLEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map) {
		for (int i = 0; i < THREADS; i++) {
			w[i] = (struct worker){ p, map, proc * THREADS + i };
			pthread_create(&tid[i], NULL, work, &w[i]);
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(tid[i], NULL);
		for (int i = 0; i < THREADS; i++)
			for (size_t k = 0; k < units_nr[w[i].t]; k++)
				verify(&w[i], units[w[i].t][k].off,
				       units[w[i].t][k].len, "final read");
		CHECK_OK(up_pager_stats(p, &tstats[proc * THREADS].st));
		CHECK_OK(up_pager_unmap(p, map, FLEN));
	}
	CHECK_OK(up_pager_close(p));
out:
	tstats[proc * THREADS].pass = h_pass_nr;
	tstats[proc * THREADS].fail = h_fail_nr;
	fflush(NULL);
	_exit(h_fail_nr ? 1 : 0);
}

static void run(enum up_backend b, unsigned secs)
{
	int fd = h_file(FLEN, 3), st;
	pid_t pid[PROCS];
	uint64_t t0 = now_ns(), limit;
	struct tstats sum;
	char path[160], *fbuf = malloc(FLEN);

	printf("%u s\n", secs);
	fflush(stdout);
	memset(tstats, 0, STRIPES * sizeof(*tstats));
	CHECK_EQ(pread(fd, model, FLEN, 0), FLEN);
	deadline_ns = t0 + secs * 1000000000ull;
	for (int i = 0; i < PROCS; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			child(i, b, fd);
		CHECK(pid[i] > 0);
	}
	/* Wait, but not for ever: a process stuck on the shared lock after
	 * the time is up is a failure. */
	limit = deadline_ns + (H_SANITIZED ? 120 : 60) * 1000000000ull;
	for (int i = 0; i < PROCS; i++) {
		pid_t r;

		while ((r = waitpid(pid[i], &st, WNOHANG)) == 0 &&
		       now_ns() < limit)
			usleep(10000);
		if (r == 0) {
			H_FAIL("process %d still running %d s after the end: "
			       "deadlock?", i, H_SANITIZED ? 120 : 60);
			for (int k = i; k < PROCS; k++)
				kill(pid[k], SIGKILL);
			for (int k = i; k < PROCS; k++)
				waitpid(pid[k], &st, 0);
			break;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
			H_FAIL("process %d ended with status %#x", i, st);
		h_pass_nr += tstats[i * THREADS].pass;
		h_fail_nr += tstats[i * THREADS].fail;
		if (b == UP_BACKEND_UFFD) {
			const struct up_stats *ps = &tstats[i * THREADS].st;

			printf("process %d: %llu read and %llu write faults, "
			       "%llu fills, %llu evictions, %llu write-backs\n",
			       i, (unsigned long long)ps->faults_read,
			       (unsigned long long)ps->faults_write,
			       (unsigned long long)ps->fills,
			       (unsigned long long)ps->evictions,
			       (unsigned long long)ps->writebacks);
		}
	}
	/* Nobody maps the file now: it holds everything, and no segment is
	 * left. */
	CHECK_EQ(h_file_len(fd), FLEN);
	CHECK_EQ(pread(fd, fbuf, FLEN, 0), FLEN);
	for (size_t i = 0; i < FLEN; i++)
		if (fbuf[i] != model[i]) {
			H_FAIL("file differs from the model at %zu (page %zu): "
			       "%#x != %#x", i, i / PG, fbuf[i] & 0xff,
			       model[i] & 0xff);
			break;
		}
	h_seg_path(fd, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		H_FAIL("%s is left after every process closed", path);
		unlink(path);
	}
	memset(&sum, 0, sizeof(sum));
	for (int t = 0; t < STRIPES; t++) {
		sum.writes += tstats[t].writes;
		sum.reads += tstats[t].reads;
		sum.syncs[0] += tstats[t].syncs[0];
		sum.syncs[1] += tstats[t].syncs[1];
		sum.verifies += tstats[t].verifies;
		sum.bytes_w += tstats[t].bytes_w;
		sum.bytes_r += tstats[t].bytes_r;
	}
	printf("%llu writes (%llu MiB), %llu reads (%llu MiB), %llu MS_ASYNC "
	       "and %llu MS_SYNC syncs, %llu stripe checks in %.1f s\n",
	       (unsigned long long)sum.writes,
	       (unsigned long long)(sum.bytes_w >> 20),
	       (unsigned long long)sum.reads,
	       (unsigned long long)(sum.bytes_r >> 20),
	       (unsigned long long)sum.syncs[0],
	       (unsigned long long)sum.syncs[1],
	       (unsigned long long)sum.verifies,
	       (double)(now_ns() - t0) / 1e9);
	fflush(stdout);
	free(fbuf);
	close(fd);
}

int main(void)
{
	const char *e = getenv("UPAGER_LOAD_SECONDS");
	unsigned secs = e && *e ? (unsigned)atoi(e) : H_SANITIZED ? 5 : 12;
	unsigned kernel_secs = secs / 6 ? secs / 6 : 1;
	enum up_backend b;

	seed = h_seed();
	deal_units();
	model = mmap(NULL, FLEN, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	tstats = mmap(NULL, STRIPES * sizeof(*tstats), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (model == MAP_FAILED || tstats == MAP_FAILED)
		SKIP("no shared memory");
	/* Sharing pagers have no inline round (UP_CONFIG_FAULT_INLINE). */
	h_skip = H_SKIP_INLINE;
	FOR_EACH_BACKEND_ID(b)
		run(b, b == UP_BACKEND_UFFD ?
			       (secs > kernel_secs ? secs - kernel_secs : 1) :
			       kernel_secs);
	h_ctx = "-";
	h_done();
}
