/* SPDX-License-Identifier: MIT */
/*
 * ipc - two processes exchange messages through one upager mapping.
 *
 * A pager made with UP_CONFIG_SHARED serves MAP_SHARED memory from a page
 * cache that other processes can share, and a child made by fork() inherits
 * its MAP_SHARED mappings: parent and child then see the same pages, and a
 * store by one is seen by the other at once.  Here the parent maps a small
 * anonymous mailbox, forks, and the two play ping-pong with sequence
 * numbers, each sleeping on a futex in the mailbox until it is its turn.
 */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upager.h"

#define ROUNDS 5

struct mailbox {
	atomic_uint turn;	/* sequence number of the next message */
	char text[60];		/* the last message */
};

/* Sleep until the turn is `want`.  FUTEX_WAIT returns at once if the word
 * is no longer `t`; no FUTEX_PRIVATE_FLAG, as two processes share it. */
static void await_turn(struct mailbox *box, unsigned want)
{
	unsigned t;

	while ((t = atomic_load(&box->turn)) != want)
		syscall(SYS_futex, &box->turn, FUTEX_WAIT, t, NULL, NULL, 0);
}

/* Leave message seq and pass the turn on.  The atomic store is a release:
 * whoever sees the new turn sees the text too. */
static void post(struct mailbox *box, unsigned seq, const char *what)
{
	snprintf(box->text, sizeof(box->text), "%s %u", what, seq);
	atomic_store(&box->turn, seq + 1);
	syscall(SYS_futex, &box->turn, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Is the message in the box the one expected? */
static int got(struct mailbox *box, const char *who, const char *what,
	       unsigned seq)
{
	char want[60];

	snprintf(want, sizeof(want), "%s %u", what, seq);
	printf("%-6s got \"%s\"\n", who, box->text);
	return strcmp(box->text, want) == 0;
}

int main(void)
{
	struct up_config cfg;
	struct up_pager *p;
	struct mailbox *box;
	int err, st = 0, ok = 1;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* two writers, one line each */
	up_config_init(&cfg);
	cfg.flags |= UP_CONFIG_SHARED;	/* share MAP_SHARED pages, and fork */
	err = up_pager_open(&p, &cfg);
	if (!err)
		err = up_pager_map(p, NULL, sizeof(*box),
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0,
				   (void **)&box);
	if (err)
		return fprintf(stderr, "upager: %s\n", up_strerror(err)), 1;
	printf("mailbox served by the %s backend\n", up_pager_backend(p));
	atomic_store(&box->turn, 0);	/* even: the parent's turn */

	pid = fork();	/* the child inherits the pager and the mailbox */
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		for (unsigned i = 0; i < ROUNDS; i++) {
			await_turn(box, 2 * i + 1);
			ok &= got(box, "child", "ping", 2 * i);
			post(box, 2 * i + 1, "pong");
		}
		/* The child's copy of the pager is its own: close it, and
		 * leave with _exit, as a forked child should. */
		ok &= up_pager_close(p) == 0;
		fflush(stdout);
		_exit(!ok);
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		post(box, 2 * i, "ping");
		await_turn(box, 2 * i + 2);
		ok &= got(box, "parent", "pong", 2 * i + 1);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "child failed (status %#x)\n", st);
		ok = 0;
	}
	err = up_pager_unmap(p, box, sizeof(*box));
	if (up_pager_close(p) || err)
		ok = 0;
	printf("%s\n", ok ? "ok" : "FAILED");
	return !ok;
}
