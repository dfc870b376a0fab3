/* SPDX-License-Identifier: MIT */
/*
 * upager - the command-line tool: cp, cat, scan, info and bench, one
 * file each (cmd-*.c), dispatched from the table at the end of this file;
 * the helpers they share are in common.c, declared in tool.h.
 *
 * The tool owns option parsing, messages and exit statuses, and what a
 * program needs around the library: temporary files removed on an error or
 * a signal, SIGBUS from a file that shrinks under a mapping, a progress bar.
 * It uses only the public header include/upager.h, plus plain system calls:
 * the kernel's own mmap(2), read(2) and copy_file_range(2) are the peers
 * that cp and bench set beside upager.
 *
 * Exit status: 0 success, 1 a runtime or I/O error (the message names the
 * file and the reason), 2 a usage error (a bad option, operand or number).
 */

#include <string.h>

#include "tool.h"

#define STATUS_HELP                                                          \
	"\nExit status: 0 success, 1 a runtime or I/O error, 2 a usage error.\n"

static const struct cmd cmds[] = {
	{ "cp", cmd_cp,
	  "[-f] [--method M] [--verify] [--compress] [options] SRC DST",
	  "Copy SRC to DST (or into DST if it is a directory) through "
	  "mappings.",
	  "  --method M      upager: both files mapped through one pager\n"
	  "                  kernel: SRC mapped by the kernel's mmap, "
	  "write(2) to DST\n"
	  "                  read: read(2) and write(2)\n"
	  "                  copy_file_range: copy_file_range(2) (default: "
	  "the fastest\n"
	  "                  measured on ext4 here, about 1.5x read)\n"
	  "  -f, --force     replace an existing DST\n"
	  "  --verify        compare DST with SRC afterwards\n"
	  "  --compress      write DST as a compressed file (zstd chunks "
	  "with an index),\n"
	  "                  which cat, scan and cp read through its "
	  "store; a SRC that is\n"
	  "                  one is copied out (or, with --compress, "
	  "compacted)\n"
	  "  --no-progress   no progress bar (shown only on a terminal, for "
	  "files\n"
	  "                  over 64 MiB)\n"
	  PAGER_HELP
	  "                  (for --method upager; default budget 64M)\n"
	  "\nDST keeps SRC's size and mode; holes stay holes.  A file that "
	  "is SRC itself\n(also through a link) is refused.  The copy is "
	  "written beside DST and renamed\nonto it, so on any error DST is "
	  "left as it was.\n" STATUS_HELP },
#ifndef _WIN32	/* cp and scan alone on Windows */
	{ "cat", cmd_cat, "[options] FILE...",
	  "Write files to stdout through a pager, a window at a time.",
	  PAGER_HELP
	  "                  (default budget 64M; the window is at most "
	  "16M)\n"
	  "\nA FILE of - is stdin; pipes and empty files are read with "
	  "read(2).  A\ncompressed file (upager cp --compress) is written "
	  "out as its data.\n" STATUS_HELP },
#endif
	{ "scan", cmd_scan, "FILE [--pattern seq|random] [--write] [options]",
	  "Map FILE, touch one byte per page, print the pager's statistics.",
	  "  --pattern P     seq (default): pages in order; random: pages at "
	  "random\n"
	  "  --write         write each touched byte back with its own value "
	  "(the\n"
	  "                  file keeps its content), then msync\n"
	  "  --count N       accesses (default: one per system page)\n"
	  "  --seed N        seed of --pattern random (default: the time; "
	  "printed)\n"
	  PAGER_HELP
	  "                  (defaults: the library's, half the usable memory\n"
	  "                  and 64K)\n"
	  "\nSizes take a suffix K, M, G or T (powers of 1024).  The "
	  "histogram shows the\ntime of each access that entered another "
	  "page, by powers of two.\n" STATUS_HELP },
#ifndef _WIN32
	{ "info", cmd_info, "",
	  "Report what this machine offers: userfaultfd, features, THP, "
	  "cgroups.",
	  "Whether userfaultfd is permitted (and how to permit it), the "
	  "features the\nkernel reports for UFFDIO_API, the page size, "
	  "transparent huge pages, the\nmemory cgroup, and the backend a "
	  "pager with UP_BACKEND_AUTO gets.\n" STATUS_HELP },
	{ "run", cmd_run,
	  "[--budget N] [--page-size N] [--stats] [--kernel] -- CMD [ARG...]",
	  "Run a program with its mappings served by upager.",
	  "  --budget N      the pager's budget (default: the library's, half "
	  "the\n"
	  "                  usable memory)\n"
	  "  --page-size N   the pager's page (default 64K)\n"
	  "  --anon-min N    anonymous mappings of N bytes or more go to the "
	  "pager\n"
	  "                  (default 64M; smaller ones, and malloc's, are the "
	  "kernel's)\n"
	  "  --stats         the pager's statistics on stderr when the program "
	  "(or a\n"
	  "                  child of it) exits\n"
	  "  --kernel        every mapping to the kernel, to compare\n"
	  "\nMappings of regular files go to the pager, except executable "
	  "ones (programs\nand libraries).  The settings pass to the program "
	  "in LD_PRELOAD and UPAGER_*\nvariables (see upager(1)), so "
	  "children that exec inherit them.  The exit\nstatus is CMD's; 126 "
	  "or 127 if it cannot be run, 1 or 2 for upager's own\nerrors.\n" },
	{ "bench", cmd_bench, "[--quick] [--out DIR] [options]",
	  "Compare the kernel's mmap, read() and upager (4K, 64K, 2M pages).",
	  "  --quick         small files, one repetition (under a minute)\n"
	  "  --out DIR       where results.csv and one SVG per workload go\n"
	  "                  (default ./upager-bench)\n"
	  "  --dir DIR       where the data files go (default $TMPDIR or "
	  "/var/tmp)\n"
	  "  --size N        the file size (default 256M, --quick 32M)\n"
	  "  --reps N        repetitions (default 3 after a warm-up, --quick "
	  "1)\n"
	  "\nWorkloads: seq-first, rescan, rand, rand-4x (file 4 x the "
	  "budget, the kernel\nconfined by a memory cgroup v1 when root), "
	  "seq-write.  Every checksum must\nequal the kernel's; a wrong one "
	  "makes the exit status 1.\n" STATUS_HELP },
#endif
};

#define CMDS_NR (sizeof(cmds) / sizeof(cmds[0]))

static int main_help(FILE *f)
{
	fprintf(f, "usage: upager COMMAND [options] [operands]\n\n"
		   "memory-mapped files served by a user-space pager\n\n");
	for (size_t i = 0; i < CMDS_NR; i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'upager COMMAND --help' describes a command; see "
		   "upager(1).\n" STATUS_HELP);
	return f == stdout ? ST_OK : ST_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return main_help(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		return main_help(stdout);
	if (!strcmp(argv[1], "--version"))
		return printf("upager %d.%d\n", UP_VERSION_MAJOR,
			      UP_VERSION_MINOR), ST_OK;
	for (size_t i = 0; i < CMDS_NR; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		cur = &cmds[i];
		signals_init();
		opterr = 0;
		return cmds[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "upager: %s: unknown command\n", argv[1]);
	return main_help(stderr);
}
