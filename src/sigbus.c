/* SPDX-License-Identifier: MIT */
/*
 * sigbus.c - the process-wide SIGBUS handler of pagers that serve faults
 * in the faulting thread (UP_CONFIG_FAULT_INLINE).
 *
 * A signal action belongs to the process, not to a pager: this file is
 * upager's one piece of process-wide state.  It owns the table of inline
 * pagers, the handler, and the action the handler replaced (the
 * "previous" action), to which it passes every SIGBUS it does not serve.
 * How a fault is served is fault-uffd.c's business (up__uffd_fault).
 *
 * A userfaultfd made with UFFD_FEATURE_SIGBUS turns every missing, minor
 * and write-protect fault in its ranges into a SIGBUS in the faulting
 * thread, with si_addr the address.  The handler finds the pager whose
 * mapping holds that address, has it serve the fault, and returns: the
 * access then runs again and finds its page.
 *
 * Lifetime.  Pagers sit in a fixed table of slots, each an atomic pointer
 * with a count of the handlers using it.  A handler counts itself in
 * before it loads the pointer, and out when it is done with the pager; a
 * closing pager clears its pointer, then waits for the count to drop to
 * zero, before anything of it is freed.  All of it is sequentially
 * consistent, so either the handler sees the cleared pointer or the closer
 * sees the handler's count.  The handler takes no lock but the pager's own
 * mutex, which library code never holds while touching user memory
 * (up-int.h), and it allocates nothing.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#define SLOTS_NR 64

struct slot {
	_Atomic(struct up_pager *) pager;
	atomic_uint users;		/* handlers that may be using it */
};

static struct slot slots[SLOTS_NR];
static atomic_uint slots_used;		/* slots ever used: the ones to scan */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* The previous action, in one of two copies so that a new one can be
 * written while a handler may be reading the current one. */
static struct sigaction prev[2];
static atomic_int prev_cur;

/* Set while this thread serves a fault: the service code never touches
 * user memory, so a fault inside it is a bug (it would deadlock). */
static __thread bool serving __attribute__((tls_model("initial-exec")));

/* ---- what the signal says about the access -------------------------- */

#if defined(__x86_64__) || defined(__i386__)
/*
 * x86 puts the page fault's error code in the signal frame: bit 0 is set
 * for a fault on a present page (for us, a write-protect fault), bit 1 for
 * a store.
 */
static bool fault_kind(void *uc, bool *write, bool *wp)
{
	greg_t err = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR];

	*write = err & 2;
	*wp = (err & 3) == 3;
	return true;
}

bool up__sigbus_supported(void)
{
	return true;
}
#else
static bool fault_kind(void *uc, bool *write, bool *wp)
{
	(void)uc, (void)write, (void)wp;
	return false;
}

bool up__sigbus_supported(void)
{
	return false;
}
#endif

/* ---- the handler ---------------------------------------------------- */

UP_EXPORT int up_fault_handle(const siginfo_t *si, void *uc)
{
	uintptr_t addr;
	unsigned i, nr;
	bool write, wp;
	int ret = 0, saved = errno;

	/* Only a fault the kernel raised (si_code > 0), not a kill(2). */
	if (!si || !uc || si->si_signo != SIGBUS || si->si_code <= 0 ||
	    !fault_kind(uc, &write, &wp))
		return 0;
	assert(!serving);
	serving = true;
	addr = (uintptr_t)si->si_addr;
	nr = atomic_load(&slots_used);
	for (i = 0; i < nr && !ret; i++) {
		struct slot *s = &slots[i];
		struct up_pager *p;

		atomic_fetch_add(&s->users, 1);
		p = atomic_load(&s->pager);
		if (p)
			ret = up__uffd_fault(p, addr, write, wp);
		atomic_fetch_sub(&s->users, 1);
	}
	serving = false;
	errno = saved;
	return ret > 0;
}

/*
 * The previous action is the default (or ignore, which the kernel treats
 * as the default for a fault): restore it, and let the signal come again.
 * A fault comes again by itself when the access runs again; a signal sent
 * by a process is raised again, pending until this handler returns.
 */
static void die(const siginfo_t *si)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

/* Pass a signal on to the previous action, as the kernel would have. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *o = &prev[atomic_load(&prev_cur)];
	sigset_t mask, saved;

	if (!(o->sa_flags & SA_SIGINFO) &&
	    (o->sa_handler == SIG_DFL || o->sa_handler == SIG_IGN)) {
		if (o->sa_handler == SIG_IGN && si->si_code <= 0)
			return;		/* sent, and ignored */
		die(si);
		return;
	}
	/* The previous handler runs under the mask the kernel would have
	 * given it: the interrupted thread's, its own sa_mask, and SIGBUS
	 * unless it asked for SA_NODEFER. */
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

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (!up_fault_handle(si, uc))
		chain(sig, si, uc);
	errno = saved;
}

/*
 * Make on_sigbus the action for SIGBUS unless it is already.  It blocks
 * every signal while it runs, so that no handler of the application's
 * interrupts it holding a pager's lock; a SIGBUS or SIGSEGV inside it
 * (a bug) then kills the process at once.
 */
static int install(void)
{
	struct sigaction sa, cur;
	int i;

	if (sigaction(SIGBUS, NULL, &cur))
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	i = !atomic_load(&prev_cur);
	prev[i] = cur;
	atomic_store(&prev_cur, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) ? -errno : 0;
}

/* ---- the table of inline pagers ------------------------------------- */

/*
 * In a child after fork(), only the forking thread exists: no handler is
 * running, whatever the counts say, and the table's lock may have been
 * held by a thread that is not there.
 */
static void fork_child(void)
{
	unsigned i;

	pthread_mutex_init(&table_lock, NULL);
	for (i = 0; i < SLOTS_NR; i++)
		atomic_store(&slots[i].users, 0);
}

static void fork_setup(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

/* Put p in the table (once) and install the handler.  0, or -EMFILE if
 * the table is full, or sigaction's error. */
int up__sigbus_add(struct up_pager *p)
{
	unsigned i, free_i = SLOTS_NR;
	int err = 0;

	pthread_once(&fork_once, fork_setup);
	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SLOTS_NR; i++) {
		struct up_pager *q = atomic_load(&slots[i].pager);

		if (q == p)
			free_i = SLOTS_NR + 1;	/* there already (fork) */
		else if (!q && free_i == SLOTS_NR)
			free_i = i;
	}
	if (free_i == SLOTS_NR)
		err = -EMFILE;
	if (!err)
		err = install();
	if (!err && free_i < SLOTS_NR) {
		if (free_i >= atomic_load(&slots_used))
			atomic_store(&slots_used, free_i + 1);
		atomic_store(&slots[free_i].pager, p);
	}
	pthread_mutex_unlock(&table_lock);
	return err;
}

/* Take p out of the table and wait until no handler is using it.  The
 * handler stays installed: one may be running for another pager. */
void up__sigbus_del(struct up_pager *p)
{
	unsigned i;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SLOTS_NR; i++) {
		if (atomic_load(&slots[i].pager) != p)
			continue;
		atomic_store(&slots[i].pager, NULL);
		while (atomic_load(&slots[i].users))
			sched_yield();
	}
	pthread_mutex_unlock(&table_lock);
}

/* For fault-uffd.c's own fork handling, which may run before ours. */
void up__sigbus_child(void)
{
	fork_child();
}
