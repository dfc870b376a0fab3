/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what cmd-bench.c (the engines, workloads and runs) shares
 * with bench-report.c (the table, results.csv and the SVG charts): the
 * results of a run, cell by cell, and the tables naming engines and
 * workloads.
 */

#ifndef UPAGER_BENCH_H
#define UPAGER_BENCH_H

#include "tool.h"

enum { E_KERNEL, E_READ, E_UP4K, E_UP64K, E_UP2M, E_NR };
enum { W_SEQ, W_RESCAN, W_RAND, W_RAND4X, W_WRITE, W_NR };

#define BENCH_REPS_MAX 16
#define CG_SLACK (16 * MiB)

struct engine_def {
	const char *name;
	uint64_t page_len;	/* 0: not an upager pager */
	const char *color;
};

extern const struct engine_def engines[E_NR];

struct sample {
	double secs;
	double work;		/* bytes or accesses */
	uint64_t sum;
	int err;
	char backend[16];
};

struct cell {
	double v[BENCH_REPS_MAX];
	int nr;
	uint64_t sum;
	bool wrong, confined;
	int err;
	char backend[16];
};

struct bench {
	bool quick;
	const char *out, *dir;
	uint64_t size;		/* --size; 0: the default */
	const char *size_arg;	/* --size as given, for its message */
	uint64_t len;		/* seq-first, rescan, rand, seq-write */
	uint64_t len4x, budget4x;	/* rand-4x */
	uint64_t rand_nr, rand4x_nr;
	int reps;
	bool warm;
	int fd;			/* the data file, len4x bytes */
	char data[PATH_MAX], wfile[PATH_MAX];
	const char *nocg;	/* why rand-4x is not confined, or NULL */
	uint64_t expect[W_NR];
	struct cell cells[W_NR][E_NR];
	int step, steps;
};

struct eng {
	int e;
	struct up_pager *p;
};

struct workload {
	const char *name;
	const char *title;
	const char *unit;
	double scale;		/* work per unit */
	int (*run)(struct bench *b, struct eng *g, struct sample *s);
};

extern const struct workload workloads[W_NR];

void print_header(struct bench *b);
int bench_report(struct bench *b);

#endif
