/* SPDX-License-Identifier: MIT */
/*
 * sigbus.c - the table of pagers that serve faults in the faulting
 * thread, and the process-wide SIGBUS handler: the userfaultfd backend
 * with UP_CONFIG_FAULT_INLINE (SIGBUS), the signals backend (SIGSEGV,
 * which signals.c's one SIGSEGV action passes to up_fault_handle()).
 *
 * A signal action belongs to the process, not to a pager: this file owns
 * the table of inline pagers and the handler, which passes every SIGBUS
 * it does not serve to the action it replaced (signals.c).
 * How a fault is served is the backend's business (its ops' fault).
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
	atomic_int sig;			/* the signal its faults raise */
	atomic_uint users;		/* handlers that may be using it */
};

static struct slot slots[SLOTS_NR];
static atomic_uint slots_used;		/* slots ever used: the ones to scan */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* The SIGBUS action on_sigbus replaced (signals.c).  SIGSEGV goes through
 * signals.c's one action, which asks up_fault_handle(). */
static struct up_sigprev prev;

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

/* A fault the kernel raised (si_code > 0), not a kill(2); for SIGSEGV, on
 * a guard (SEGV_MAPERR) or a page whose protection refused the access
 * (SEGV_ACCERR, passed on as wp). */
static bool fault_of(const siginfo_t *si, void *uc, bool *write, bool *wp)
{
	if (si->si_code <= 0 || !fault_kind(uc, write, wp))
		return false;
	if (si->si_signo == SIGBUS)
		return true;
	*wp = si->si_code == SEGV_ACCERR;
	return si->si_signo == SIGSEGV &&
	       (si->si_code == SEGV_MAPERR || si->si_code == SEGV_ACCERR);
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

	if (!si || !uc || !fault_of(si, uc, &write, &wp))
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
		if (p && p->ops->fault && atomic_load(&s->sig) == si->si_signo)
			ret = p->ops->fault(p, addr, write, wp);
		atomic_fetch_sub(&s->users, 1);
	}
	serving = false;
	/* A page that could not be read, behind a guard: SIGBUS, as the
	 * kernel raises it (after the table is let go: the program's handler
	 * may not return). */
	if (ret < 0 && si->si_signo == SIGSEGV) {
		up__sig_bus(si->si_addr, uc);
		ret = 1;
	}
	errno = saved;
	return ret > 0;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (!up_fault_handle(si, uc))
		up__sig_chain(&prev, sig, si, uc);
	errno = saved;
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

/* Put p in the table (once) for faults that raise sig (SIGBUS or
 * SIGSEGV) and install the handler.  0, or -EMFILE if the table is full,
 * or sigaction's error. */
int up__sigbus_add(struct up_pager *p, int sig)
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
		err = sig == SIGBUS ? up__sig_install(SIGBUS, on_sigbus, &prev)
				    : up__segv_install(up_fault_handle);
	if (!err && free_i < SLOTS_NR) {
		if (free_i >= atomic_load(&slots_used))
			atomic_store(&slots_used, free_i + 1);
		atomic_store(&slots[free_i].sig, sig);
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
