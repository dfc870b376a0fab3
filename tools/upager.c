/* SPDX-License-Identifier: MIT */
/*
 * upager - the command-line tool: what this machine offers, and a scan of
 * a file through a pager.  Uses only the public header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upager.h"

static int cmd_info(void)
{
	char why[512];
	int err = up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why));

	printf("userfaultfd: %s\n", err ? "not usable" : "usable");
	if (err)
		printf("  why: %s\n", why);
	printf("page size: %ld\n", sysconf(_SC_PAGESIZE));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return cmd_info();
	fprintf(stderr, "usage: upager info\n");
	return 2;
}
