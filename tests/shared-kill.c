/* shared-kill: 200 SIGKILLs of processes writing through one shared page cache; the survivor loses nothing and each victim leaves a prefix of its writes. */
#include "harness.h"

#include <poll.h>
#include <sys/prctl.h>

/*
 * The file is cut into 1 KiB chunks, each owned by one of three owners:
 * owner 0 is the survivor (this process, with its own sharing pager),
 * owners 1 and 2 are victims.  The first NS pages are shared by all three
 * owners chunk by chunk (so one page has writers in several processes);
 * then each owner has NE pages of its own.  The file is six times the
 * budget, so faults evict and write back all the time.
 *
 * A victim writes word after word of its chunks, in order, pass after
 * pass; word w of pass q holds tok(v, q, w), v being the victim's number.
 * Killed at any moment, it must leave its stripe holding exactly the first
 * T of those stores (for some T) over what was there before.  The
 * survivor checks that after each round of kills, through its mapping,
 * and keeps that state as the victim part of its model.
 */
#define PG 16384
#define CH 1024
#define CH_WORDS (CH / 8)
#define CH_PER_PG (PG / CH)
#define OWNERS 3
#define NS 48
#define NE 32
#define PAGES (NS + OWNERS * NE)
#define FLEN ((size_t)PAGES * PG)
#define CHUNKS (PAGES * CH_PER_PG)
#define BUDGET 24
#define VICTIMS 2

static uint32_t chunks[OWNERS][CHUNKS];	/* owner's chunk indexes, in order */
static size_t chunks_nr[OWNERS];
static char *model;			/* what the file must hold */
static char *fbuf;			/* a read of the file */

static void adjust(struct up_config *c)
{
	c->page_len = PG;
	c->budget = BUDGET * PG;
	c->readahead_nr = 2;
	c->threads_nr = 2;
	c->flags |= UP_CONFIG_SHARED;
}

static unsigned owner_of(size_t c)
{
	size_t pg = c / CH_PER_PG;

	if (pg < NS)
		return (unsigned)((17 * pg + c % CH_PER_PG) % OWNERS);
	return (unsigned)((pg - NS) / NE);
}

static size_t words_nr(unsigned o)
{
	return chunks_nr[o] * CH_WORDS;
}

/* File offset of word w of owner o's stripe. */
static size_t word_off(unsigned o, size_t w)
{
	return (size_t)chunks[o][w / CH_WORDS] * CH + (w % CH_WORDS) * 8;
}

static uint64_t tok(uint64_t v, uint64_t q, uint64_t w)
{
	return 0xA5ull << 56 | (v & 0xFFFFF) << 36 | (q & 0xFFF) << 24 |
	       (w & 0xFFFFFF);
}

static int tok_of(uint64_t x, uint64_t v)
{
	return x >> 56 == 0xA5 && ((x >> 36) & 0xFFFFF) == (v & 0xFFFFF);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the spawner: forks victims and kills them on time ---- */

struct vcmd {
	unsigned owner, v;
	uint64_t seed;
	int early;		/* delay counts from fork, not from ready */
	unsigned delay_us;
};

struct cmd {
	int nv;			/* 0: exit */
	enum up_backend backend;	/* the survivor's, and h_flags */
	unsigned flags;
	struct vcmd vc[VICTIMS];
};

struct report {
	int status[VICTIMS];	/* from waitpid */
	int ready[VICTIMS];	/* mapped and writing when killed */
	int hung[VICTIMS];	/* not ready within 20 s */
	unsigned alive_us[VICTIMS];
};

static int files[2];		/* one file per backend */
static pid_t spawner_pid;

/* Write the stripe of vc->owner, pass after pass, until killed. */
static void victim(const struct vcmd *vc, enum up_backend b, int ready_fd)
{
	uint64_t rng = vc->seed;
	size_t nw = words_nr(vc->owner);
	struct up_pager *p;
	char *map;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != spawner_pid)
		_exit(5);
	close(1022);
	close(1023);
	p = h_open(b, adjust);
	if (!p)
		_exit(3);
	map = h_map(p, FLEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		    files[b == UP_BACKEND_KERNEL], 0);
	if (!map)
		_exit(4);
	if (write(ready_fd, "r", 1) != 1)
		_exit(5);
	for (uint64_t q = 0;; q++) {
		for (size_t w = 0; w < nw; w++) {
			size_t off = word_off(vc->owner, w);

			__atomic_store_n((uint64_t *)(map + off),
					 tok(vc->v, q, w), __ATOMIC_RELEASE);
			if (w % (16 * CH_WORDS))
				continue;
			/* Now and then a write-back, to be killed in. */
			switch (h_rand_r(&rng) % 8) {
			case 0:
				r = up_pager_sync(p, map, FLEN, MS_ASYNC);
				break;
			case 1:
				off -= off % PG;
				r = up_pager_sync(p, map + off, PG, MS_SYNC);
				break;
			default:
				r = 0;
			}
			if (r) {
				H_FAIL("victim %u: up_pager_sync = %d", vc->v,
				       r);
				_exit(6);
			}
		}
	}
}

static void spawn_round(const struct cmd *c)
{
	enum up_backend b = c->backend;
	uint64_t t_fork[VICTIMS], deadline[VICTIMS], hard[VICTIMS];
	int rfd[VICTIMS], alive[VICTIMS], left = c->nv;
	struct report rp;
	pid_t pid[VICTIMS];

	memset(&rp, 0, sizeof(rp));
	for (int i = 0; i < c->nv; i++) {
		int pp[2];

		if (pipe(pp))
			_exit(20);
		pid[i] = fork();
		if (pid[i] == 0) {
			close(pp[0]);
			h_flags = c->flags;
			victim(&c->vc[i], b, pp[1]);
			_exit(0);
		}
		if (pid[i] < 0)
			_exit(21);
		close(pp[1]);
		rfd[i] = pp[0];
		t_fork[i] = now_ns();
		hard[i] = t_fork[i] + 20000000000ull;
		deadline[i] = c->vc[i].early ?
			      t_fork[i] + c->vc[i].delay_us * 1000ull : 0;
		alive[i] = 1;
	}
	/* Kill each at its deadline: delay_us after fork (early) or after it
	 * said it is mapped; one that is not mapped in 20 s is hung. */
	while (left) {
		struct pollfd pfd[VICTIMS];
		int idx[VICTIMS], n = 0;
		uint64_t t = now_ns(), next = UINT64_MAX, ms;

		for (int i = 0; i < c->nv; i++) {
			if (!alive[i])
				continue;
			if (!deadline[i] && t >= hard[i]) {
				rp.hung[i] = 1;
				deadline[i] = t;
			}
			if (deadline[i] && t >= deadline[i]) {
				kill(pid[i], SIGKILL);
				waitpid(pid[i], &rp.status[i], 0);
				rp.alive_us[i] =
					(unsigned)((t - t_fork[i]) / 1000);
				alive[i] = 0;
				left--;
				continue;
			}
			if ((deadline[i] ? deadline[i] : hard[i]) < next)
				next = deadline[i] ? deadline[i] : hard[i];
			if (rp.ready[i])
				continue;
			pfd[n].fd = rfd[i];
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (!left)
			break;
		/* (poll() counts whole milliseconds: the rest is spun) */
		ms = (next - t) / 1000000;
		if (poll(pfd, (nfds_t)n, (int)ms) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			int i = idx[k];
			char ch;

			if (!pfd[k].revents)
				continue;
			if (read(rfd[i], &ch, 1) == 1) {
				rp.ready[i] = 1;
				if (!c->vc[i].early)
					deadline[i] = now_ns() +
						c->vc[i].delay_us * 1000ull;
			} else {	/* it died by itself */
				waitpid(pid[i], &rp.status[i], 0);
				alive[i] = 0;
				left--;
			}
		}
	}
	for (int i = 0; i < c->nv; i++)
		close(rfd[i]);
	if (write(1023, &rp, sizeof(rp)) != (ssize_t)sizeof(rp))
		_exit(22);
}

/* Forked before any pager exists: reads rounds on fd 1022, reports on
 * 1023. */
static void spawner(void)
{
	struct cmd c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	spawner_pid = getpid();
	while (read(1022, &c, sizeof(c)) == (ssize_t)sizeof(c) && c.nv > 0)
		spawn_round(&c);
	_exit(0);
}

static int cmd_fd = -1, rep_fd = -1;

static void spawner_start(void)
{
	int a[2], b[2];
	pid_t pid;

	if (pipe(a) || pipe(b))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		exit(1);
	if (pid == 0) {
		if (dup2(a[0], 1022) < 0 || dup2(b[1], 1023) < 0)
			_exit(1);
		close(a[0]);
		close(a[1]);
		close(b[0]);
		close(b[1]);
		spawner();
	}
	spawner_pid = pid;
	close(a[0]);
	close(b[1]);
	cmd_fd = a[1];
	rep_fd = b[0];
}

static void spawner_stop(void)
{
	struct cmd c = { 0 };
	int st;

	CHECK_EQ(write(cmd_fd, &c, sizeof(c)), sizeof(c));
	CHECK_EQ(waitpid(spawner_pid, &st, 0), spawner_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(cmd_fd);
	close(rep_fd);
}

/* ---- the survivor ---- */

static char seg_paths[2][320];	/* of files[] */
static volatile int cur_round;
static const char *volatile cur_phase = "start";

static void on_alarm(int sig)
{
	char msg[200];
	int n = snprintf(msg, sizeof(msg), "\nTIMEOUT in round %d, %s: "
			 "deadlock after a kill?\n%d passed, %d failed\n",
			 cur_round, cur_phase, h_pass_nr, h_fail_nr + 1);

	(void)sig;
	if (write(2, msg, (size_t)n) < 0)
		_exit(3);
	if (getenv("UPAGER_KILL_DEBUG"))	/* keep it for a debugger */
		pause();
	/* Leave no segment behind to be taken for a later file's. */
	unlink(seg_paths[0]);
	unlink(seg_paths[1]);
	_exit(3);
}

struct counts {
	int kills, early, unready, mid, untouched, max_q;
	int ops[6];
	int solo, remaps, file_checks;
	int leftovers;
	uint64_t alive_us;
};

/* Nobody maps the file: its segment must be gone.  At the end, no
 * temporary ("<segment>.<pid>.<n>") of a victim killed while making the
 * segment may be left either (those are reported and removed). */
static void check_no_segment(int fd, int end, struct counts *cn)
{
	char name[96], path[320];
	size_t nl;
	struct dirent *e;
	DIR *d;

	h_seg_name(fd, name, sizeof(name));
	nl = strlen(name);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	if (access(path, F_OK) == 0)
		H_FAIL("%s still exists with nobody attached", path);
	else
		H_PASS();
	d = end ? opendir("/dev/shm") : NULL;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, name, nl) || e->d_name[nl] != '.')
			continue;
		H_FAIL("/dev/shm/%s: a victim's half-made segment is left "
		       "after every process detached (removed)", e->d_name);
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		unlink(path);
		cn->leftovers++;
	}
	if (d)
		closedir(d);
}

/* A segment for a file made a moment ago is left from an earlier run
 * (killed before its last process detached) whose file had the same
 * device and inode numbers: the library must not serve that file's pages
 * for this one.  Say so, and remove it so that the rest of the run tests
 * what it means to. */
static void stale_segment(int fd)
{
	char name[96], path[320];

	h_seg_name(fd, name, sizeof(name));
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	if (access(path, F_OK) == 0) {
		H_FAIL("%s exists before the file is mapped: a stale segment "
		       "of an earlier file with the same inode (removed)",
		       path);
		unlink(path);
	}
}

/* The file equals the model byte for byte. */
static int check_file(int fd, const char *when)
{
	CHECK_EQ(h_file_len(fd), FLEN);
	if (pread(fd, fbuf, FLEN, 0) != (ssize_t)FLEN) {
		H_FAIL("%s: pread failed", when);
		return 0;
	}
	for (size_t i = 0; i < FLEN; i++)
		if (fbuf[i] != model[i]) {
			H_FAIL("%s: file differs from the model at %zu (page "
			       "%zu, owner %u): %#x != %#x", when, i, i / PG,
			       owner_of(i / CH), fbuf[i] & 0xff,
			       model[i] & 0xff);
			return 0;
		}
	H_PASS();
	return 1;
}

static void check_own(const char *map, int round)
{
	for (size_t k = 0; k < chunks_nr[0]; k++) {
		size_t off = (size_t)chunks[0][k] * CH;

		if (memcmp(map + off, model + off, CH)) {
			H_FAIL("round %d: survivor chunk at %zu (page %zu) "
			       "differs from its model", round, off, off / PG);
			return;
		}
	}
	H_PASS();
}

/*
 * Victim v (owner o) was killed: its stripe must hold its first T stores
 * over the model's old state.  Word 0 says which pass q0 the last store
 * belongs to; words [0, k) then hold pass q0, the rest pass q0 - 1 (or
 * the old state).  The stripe's state goes into the model.
 */
static void check_victim(const char *map, unsigned o, unsigned v,
			 int round, struct counts *cn)
{
	size_t nw = words_nr(o), k = 0;
	uint64_t w0, q0 = 0;
	int fresh;

#define LIVE(w) (*(const volatile uint64_t *)(map + word_off(o, (w))))
#define OLD(w) (*(const uint64_t *)(model + word_off(o, (w))))
	w0 = LIVE(0);
	fresh = tok_of(w0, v);
	if (fresh) {
		q0 = (w0 >> 24) & 0xFFF;
		while (k < nw && LIVE(k) == tok(v, q0, k))
			k++;
		if (k == 0) {
			H_FAIL("round %d: victim %u word 0 is %#llx", round,
			       v, (unsigned long long)w0);
			return;
		}
	}
	for (size_t w = k; w < nw; w++) {
		uint64_t want = fresh && q0 ? tok(v, q0 - 1, w) : OLD(w);

		if (LIVE(w) != want) {
			size_t off = word_off(o, w);

			H_FAIL("round %d: victim %u (owner %u) not a prefix: "
			       "words [0, %zu) of pass %llu, then word %zu at "
			       "%zu (page %zu) is %#llx, want %#llx", round,
			       v, o, k, (unsigned long long)q0, w, off,
			       off / PG, (unsigned long long)LIVE(w),
			       (unsigned long long)want);
			break;
		}
	}
	for (size_t w = 0; w < nw; w++)
		*(uint64_t *)(model + word_off(o, w)) = LIVE(w);
#undef LIVE
#undef OLD
	H_PASS();
	if (!fresh)
		cn->untouched++;
	else if (k < nw)
		cn->mid++;
	if (fresh && (int)q0 > cn->max_q)
		cn->max_q = (int)q0;
}

/* One random operation of the survivor on its own stripe. */
static void survivor_op(struct up_pager *p, char *map, struct counts *cn)
{
	unsigned kind = (unsigned)h_below(100);
	size_t c = chunks[0][h_below(chunks_nr[0])];
	size_t off = c * CH + h_below(CH), n = 1 + h_below(c * CH + CH - off);
	char buf[CH];

	if (kind < 40) {
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)h_rand();
		memcpy(model + off, buf, n);
		memcpy(map + off, buf, n);
		cn->ops[0]++;
	} else if (kind < 75) {
		if (memcmp(map + off, model + off, n))
			H_FAIL("survivor read at %zu (+%zu) differs from its "
			       "model", off, n);
		cn->ops[1]++;
	} else if (kind < 87) {	/* fault in a page of anyone's */
		size_t pg = h_below(PAGES);

		for (size_t s = 0; s < PG; s += 4096)
			(void)*(volatile char *)(map + pg * PG + s);
		cn->ops[2]++;
	} else if (kind < 97) {
		size_t a = h_below(PAGES), len = 1 + h_below(PAGES - a);

		CHECK_OK(up_pager_sync(p, map + a * PG, len * PG,
				       kind & 1 ? MS_SYNC : MS_ASYNC));
		cn->ops[3]++;
	} else {
		size_t a = h_below(PAGES), len = 1 + h_below(4);

		if (len > PAGES - a)
			len = PAGES - a;
		CHECK_OK(up_pager_advise(p, map + a * PG, len * PG,
					 MADV_DONTNEED));
		cn->ops[4]++;
	}
}

static char *map_file(struct up_pager *p, int fd)
{
	return h_map(p, FLEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

static void run(enum up_backend b, int rounds)
{
	int fd = files[b == UP_BACKEND_KERNEL], round;
	struct counts cn;
	struct up_pager *p;
	unsigned vnum = 0;
	uint64_t t0 = now_ns();
	char *map;

	memset(&cn, 0, sizeof(cn));
	CHECK_EQ(pread(fd, model, FLEN, 0), FLEN);
	stale_segment(fd);
	p = h_open(b, adjust);
	if (!p)
		return;
	map = map_file(p, fd);
	for (round = 0; round < rounds && map; round++) {
		int solo = round % 25 == 12;	/* nobody else attached */
		struct cmd c = { .nv = VICTIMS, .backend = b,
				 .flags = h_flags };
		struct report rp;
		struct pollfd pfd = { .fd = rep_fd, .events = POLLIN };
		int ops = 0;

		alarm(H_SANITIZED ? 120 : 30);
		cur_round = round;
		cur_phase = "detaching";
		if (solo) {
			CHECK_OK(up_pager_unmap(p, map, FLEN));
			check_file(fd, "survivor detached");
			check_no_segment(fd, 0, &cn);
			cn.solo++;
		}
		for (int i = 0; i < VICTIMS; i++) {
			struct vcmd *vc = &c.vc[i];

			vc->owner = (unsigned)i + 1;
			vc->v = ++vnum;
			vc->seed = h_rand() | 1;
			vc->early = h_below(solo ? 2 : 8) == 0;
			/* mostly within the first pass, now and then a
			 * few passes in */
			vc->delay_us = (unsigned)h_below(
				vc->early ? 3000 : h_below(8) ? 6000 : 40000);
		}
		if (write(cmd_fd, &c, sizeof(c)) != (ssize_t)sizeof(c)) {
			H_FAIL("spawner gone");
			break;
		}
		cur_phase = "working while the victims run";
		/* Work until the victims are dead (at most 5000 operations
		 * a round, then wait). */
		while (poll(&pfd, 1, !solo && ops < 5000 ? 0 : 1000) == 0)
			if (!solo && ops++ < 5000)
				survivor_op(p, map, &cn);
		if (read(rep_fd, &rp, sizeof(rp)) != (ssize_t)sizeof(rp)) {
			H_FAIL("spawner gone");
			break;
		}
		for (int i = 0; i < VICTIMS; i++) {
			int st = rp.status[i];

			if (rp.hung[i])
				H_FAIL("round %d: victim %u did not map the "
				       "file within 20 s", round, c.vc[i].v);
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
				H_FAIL("round %d: victim %u ended with status "
				       "%#x, not by our SIGKILL", round,
				       c.vc[i].v, st);
			else
				H_PASS();
			cn.kills++;
			cn.early += c.vc[i].early;
			cn.unready += !rp.ready[i];
			cn.alive_us += rp.alive_us[i];
		}
		cur_phase = "checking";
		if (solo) {
			map = map_file(p, fd);
			if (!map)
				break;
		}
		/* The survivor's stripe, then the victims'. */
		check_own(map, round);
		for (int i = 0; i < VICTIMS; i++)
			check_victim(map, c.vc[i].owner, c.vc[i].v, round, &cn);
		CHECK_OK(up_pager_sync(p, map, FLEN, MS_ASYNC));
		if (round % 10 == 9) {
			CHECK_OK(up_pager_sync(p, map, FLEN, MS_SYNC));
			check_file(fd, "after msync");
			cn.file_checks++;
		}
		if (round % 5 == 2) {	/* a second mapping, faulted in */
			size_t a = h_below(PAGES), len = (PAGES - a) * PG;
			char *m2 = h_map(p, len, PROT_READ, MAP_SHARED, fd,
					 (off_t)(a * PG));

			if (m2) {
				if (memcmp(m2, model + a * PG, len))
					H_FAIL("round %d: second mapping "
					       "differs from the model", round);
				CHECK_OK(up_pager_unmap(p, m2, len));
				cn.remaps++;
			}
		}
	}
	alarm(H_SANITIZED ? 120 : 30);
	cur_phase = "closing";
	/* The last state was recorded from the live mapping: the file gets
	 * exactly that. */
	if (map) {
		check_own(map, round);
		CHECK_OK(up_pager_unmap(p, map, FLEN));
	}
	CHECK_OK(up_pager_close(p));
	check_file(fd, "at the end");
	check_no_segment(fd, 1, &cn);
	alarm(0);
	printf("%d kills in %d rounds (%d early, %d before the victim was "
	       "mapped, %d left a stripe mid-pass, %d untouched, highest pass "
	       "%d; victims lived %.1f ms on average), %d solo rounds, %d "
	       "leftover temporaries\n", cn.kills, round, cn.early,
	       cn.unready, cn.mid, cn.untouched, cn.max_q,
	       cn.kills ? (double)cn.alive_us / cn.kills / 1000 : 0.0,
	       cn.solo, cn.leftovers);
	printf("survivor: %d writes, %d reads, %d page touches, %d syncs, %d "
	       "dontneeds, %d extra mappings, %d file checks; %.1f s\n",
	       cn.ops[0], cn.ops[1], cn.ops[2], cn.ops[3], cn.ops[4],
	       cn.remaps, cn.file_checks, (double)(now_ns() - t0) / 1e9);
	fflush(stdout);
}

int main(void)
{
	enum up_backend b;

	/* Sharing pagers have no inline round (UP_CONFIG_FAULT_INLINE). */
	h_skip = H_SKIP_INLINE;
	for (size_t c = 0; c < CHUNKS; c++) {
		unsigned o = owner_of(c);

		chunks[o][chunks_nr[o]++] = (uint32_t)c;
	}
	model = malloc(FLEN);
	fbuf = malloc(FLEN);
	h_seed();
	files[0] = h_file(FLEN, 7);
	files[1] = h_file(FLEN, 8);
	for (int i = 0; i < 2; i++) {
		char name[96];

		h_seg_name(files[i], name, sizeof(name));
		snprintf(seg_paths[i], sizeof(seg_paths[i]), "/dev/shm/%s",
			 name);
	}
	signal(SIGALRM, on_alarm);
	spawner_start();	/* before any pager: victims fork from it */
	FOR_EACH_BACKEND_ID(b)
		run(b, b == UP_BACKEND_UFFD ? (H_SANITIZED ? 40 : 100) : 20);
	h_ctx = "-";
	spawner_stop();
	close(files[0]);
	close(files[1]);
	free(model);
	free(fbuf);
	h_done();
}
