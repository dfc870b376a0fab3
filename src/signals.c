/* SPDX-License-Identifier: MIT */
/*
 * signals.c - process-wide signal actions that go ahead of the program's,
 * and the fences that hold a store to memory in the middle of a change.
 *
 * A signal action belongs to the process.  An action of upager's keeps the
 * one it replaced (the "previous" action) and passes it every signal that
 * is not upager's, as the kernel would have delivered it.
 *
 * A fence.  Some memory cannot be taken from the program in one step: the
 * pages a private mapping of a file has copied are the kernel's, in a
 * mapping the kernel serves, and saving them before the mapping goes is
 * two steps.  A store by another thread between the two would be lost.
 * So the range is fenced first: it is made read-only, and a store to it
 * raises SIGSEGV, whose handler waits until the fence is lifted (the
 * range then faults to the pager) and returns, so the store runs again.
 * Loads go on as before.  A SIGSEGV that no fence explains goes to the
 * previous action; one that a fence lifted just before the handler looked
 * might explain is tried once more first (a thread remembers the count of
 * lifted fences it last saw).
 */
#include "up-int.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * The previous action is the default (or ignore, which the kernel treats
 * as the default for a fault): restore it, and let the signal come again.
 * A fault comes again by itself when the access runs again; a signal sent
 * by a process is raised again, pending until this handler returns.
 */
static void die(int sig, const siginfo_t *si)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

void up__sig_chain(const struct up_sigprev *prev, int sig, siginfo_t *si,
		   void *uc)
{
	const struct sigaction *o = &prev->act[atomic_load(&prev->cur)];
	sigset_t mask, saved;

	if (!(o->sa_flags & SA_SIGINFO) &&
	    (o->sa_handler == SIG_DFL || o->sa_handler == SIG_IGN)) {
		if (o->sa_handler == SIG_IGN && si->si_code <= 0)
			return;		/* sent, and ignored */
		die(sig, si);
		return;
	}
	/* The previous handler runs under the mask the kernel would have
	 * given it: the interrupted thread's, its own sa_mask, and the
	 * signal unless it asked for SA_NODEFER. */
	mask = ((ucontext_t *)uc)->uc_sigmask;
	sigorset(&mask, &mask, &o->sa_mask);
	if (!(o->sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_SETMASK, &mask, &saved);
	if (o->sa_flags & SA_SIGINFO)
		o->sa_sigaction(sig, si, uc);
	else
		o->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/*
 * The access at addr, which raised uc's SIGSEGV, fails as the kernel's
 * fails where a page cannot be read: SIGBUS (BUS_ADRERR, si_addr addr),
 * to the program's action for it as the kernel would deliver it, or, with
 * none, ending the process.  (A signal with a kernel's si_code may be
 * sent by a process to itself alone.)
 */
void up__sig_bus(void *addr, void *uc)
{
	struct up_sigprev now;
	siginfo_t si;
	sigset_t bus;

	memset(&now, 0, sizeof(now));
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	if (sigaction(SIGBUS, NULL, &now.act[0]))
		return;
	if (!(now.act[0].sa_flags & SA_SIGINFO) &&
	    (now.act[0].sa_handler == SIG_DFL ||
	     now.act[0].sa_handler == SIG_IGN)) {
		die(SIGBUS, &si);
		syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGBUS,
			&si);
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		return;
	}
	up__sig_chain(&now, SIGBUS, &si, uc);
}

/*
 * Make fn the action for sig unless it is already, keeping the one it
 * replaces in prev.  It blocks every signal while it runs, so that no
 * handler of the program's interrupts it holding a pager's lock.
 * Callers serialise.
 */
int up__sig_install(int sig, void (*fn)(int, siginfo_t *, void *),
		    struct up_sigprev *prev)
{
	struct sigaction sa, cur;
	int i;

	if (sigaction(sig, NULL, &cur))
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == fn)
		return 0;
	i = !atomic_load(&prev->cur);
	prev->act[i] = cur;
	atomic_store(&prev->cur, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* ---- fences --------------------------------------------------------- */

#define FENCES_NR 64

struct fence {
	atomic_uintptr_t start, end;	/* start 0: free */
};

static struct fence fences[FENCES_NR];
static atomic_ulong lifted;		/* fences lifted so far */
static struct up_sigprev segv_prev;
static pthread_mutex_t segv_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned long lifted_seen
	__attribute__((tls_model("initial-exec")));

/* Whether a fence holds addr; if so, wait until it is lifted. */
static bool fence_wait(uintptr_t addr)
{
	bool held = false;
	unsigned i;

	for (i = 0; i < FENCES_NR; i++) {
		struct fence *f = &fences[i];

		while (atomic_load(&f->start) &&
		       atomic_load(&f->start) <= addr &&
		       addr < atomic_load(&f->end)) {
			held = true;
			sched_yield();
		}
	}
	return held;
}

/* What else of a SIGSEGV is upager's (the faults of sigbus.c's table),
 * asked after the fences and before the program's action: 1 if served. */
static _Atomic(int (*)(const siginfo_t *, void *)) segv_other;

static void on_sigsegv(int sig, siginfo_t *si, void *uc)
{
	int (*other)(const siginfo_t *, void *) = atomic_load(&segv_other);
	int saved = errno;
	unsigned long n;

	if (si->si_code == SEGV_ACCERR) {
		if (fence_wait((uintptr_t)si->si_addr))
			goto again;
		n = atomic_load(&lifted);
		if (n != lifted_seen) {
			lifted_seen = n;
			goto again;
		}
	}
	if (other && other(si, uc))
		goto again;
	up__sig_chain(&segv_prev, sig, si, uc);
again:
	errno = saved;
}

/*
 * The library's one SIGSEGV action, installed (again, if the program has
 * put its own in its place since) ahead of the program's: fences, then
 * other (if not NULL, from then on), then the program's action.  One
 * action for both, so that neither passes the other's signals on as the
 * program's.  0 or -errno.
 */
int up__segv_install(int (*other)(const siginfo_t *, void *))
{
	int err;

	if (other)
		atomic_store(&segv_other, other);
	pthread_mutex_lock(&segv_lock);
	err = up__sig_install(SIGSEGV, on_sigsegv, &segv_prev);
	pthread_mutex_unlock(&segv_lock);
	return err;
}

/*
 * Fence [a, a + len), which must be mapped, made read-only by the caller
 * after this returns (and replaced before up__fence_lift()).  The slot
 * the fence takes, or -errno if the handler cannot be installed (then
 * there is no fence).  The handler is installed again if the program has
 * put its own in its place since: the program's goes on getting the
 * signals that are not upager's.
 */
int up__fence(uintptr_t a, size_t len)
{
	unsigned i;
	int err = up__segv_install(NULL);

	if (err)
		return err;
	for (;;) {
		for (i = 0; i < FENCES_NR; i++) {
			uintptr_t zero = 0;

			if (atomic_load(&fences[i].start) ||
			    !atomic_compare_exchange_strong(&fences[i].start,
							    &zero, UINTPTR_MAX))
				continue;
			atomic_store(&fences[i].end, a + len);
			atomic_store(&fences[i].start, a);
			return (int)i;
		}
		sched_yield();
	}
}

void up__fence_lift(int slot)
{
	if (slot < 0)
		return;
	atomic_store(&fences[slot].end, 0);
	atomic_fetch_add(&lifted, 1);
	atomic_store(&fences[slot].start, 0);
}
