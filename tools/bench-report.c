/* SPDX-License-Identifier: MIT */
/*
 * bench-report.c - what bench prints and writes once every run is done:
 * the table of medians and ratios to the kernel's mmap, results.csv, and
 * one SVG bar chart per workload, written by hand.  The runs themselves
 * are in cmd-bench.c.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

/* -- results -- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static bool cell_ok(const struct cell *c)
{
	return c->nr && !c->err && !c->wrong;
}

static double median(struct cell *c)
{
	qsort(c->v, (size_t)c->nr, sizeof(double), cmp_double);
	return c->nr % 2 ? c->v[c->nr / 2]
			 : (c->v[c->nr / 2 - 1] + c->v[c->nr / 2]) / 2;
}

/* Median / kernel's median, or 0 when either is missing. */
static double ratio(struct bench *b, int w, int e)
{
	struct cell *k = &b->cells[w][E_KERNEL], *c = &b->cells[w][e];

	if (!cell_ok(k) || !cell_ok(c))
		return 0;
	return median(c) / median(k);
}

static const char *cell_text(struct bench *b, int w, int e, char *buf,
			     size_t len)
{
	struct cell *c = &b->cells[w][e];

	if (c->wrong)
		return "WRONG";
	if (!cell_ok(c))
		return "error";
	if (e == E_KERNEL)
		snprintf(buf, len, "%.1f", median(c));
	else if (cell_ok(&b->cells[w][E_KERNEL]))
		snprintf(buf, len, "%.2fx", ratio(b, w, e));
	else
		snprintf(buf, len, "%.1f", median(c));
	return buf;
}

static void print_table(struct bench *b)
{
	char buf[32];

	printf("\n%-10s %-10s", "workload", "unit");
	for (int e = 0; e < E_NR; e++)
		printf(" %11s", engines[e].name);
	putchar('\n');
	for (int w = 0; w < W_NR; w++) {
		printf("%-10s %-10s", workloads[w].name, workloads[w].unit);
		for (int e = 0; e < E_NR; e++)
			printf(" %11s", cell_text(b, w, e, buf, sizeof(buf)));
		putchar('\n');
	}
	printf("\nkernel: median throughput; others: ratio to the kernel "
	       "(higher is faster)\n");
}

static bool all_ok(struct bench *b)
{
	for (int w = 0; w < W_NR; w++)
		for (int e = 0; e < E_NR; e++)
			if (!cell_ok(&b->cells[w][e]))
				return false;
	return true;
}

static void csv_row(struct bench *b, FILE *f, int w, int e)
{
	struct cell *c = &b->cells[w][e];
	bool w4 = w == W_RAND4X, ok = cell_ok(c);
	uint64_t budget = engines[e].page_len ? (w4 ? b->budget4x : b->len)
			  : c->confined ? b->budget4x + CG_SLACK : 0;
	uint64_t reads = w == W_RAND ? b->rand_nr : w4 ? b->rand4x_nr : 0;
	uint64_t page_len = engines[e].page_len ? engines[e].page_len
			    : e == E_KERNEL ? sys_page() : 0;
	double med = ok ? median(c) : 0;

	fprintf(f, "%s,%s,%s,%llu,%llu,%llu,%llu,%d,%s,%.3f,%.3f,%.3f,%.4f,"
		"%016llx,%d,%d\n", workloads[w].name, engines[e].name,
		c->backend[0] ? c->backend : "none",
		(unsigned long long)page_len,
		(unsigned long long)(w4 ? b->len4x : b->len),
		(unsigned long long)budget, (unsigned long long)reads, c->nr,
		workloads[w].unit, med, ok ? c->v[0] : 0,
		ok ? c->v[c->nr - 1] : 0, ratio(b, w, e),
		(unsigned long long)c->sum, ok, c->confined);
}

static int write_csv(struct bench *b)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/results.csv", b->out);
	if (!(f = fopen(path, "we")))
		return fail(path, -errno);
	fprintf(f, "workload,engine,backend,page_len,file_len,budget,reads,"
		"reps,unit,median,min,max,ratio,checksum,ok,confined\n");
	for (int w = 0; w < W_NR; w++)
		for (int e = 0; e < E_NR; e++)
			csv_row(b, f, w, e);
	if (fclose(f))
		return fail(path, -errno);
	return ST_OK;
}

/* -- one SVG bar chart per workload, written by hand -- */

#define SVG_W 720
#define SVG_H 420
#define SVG_LEFT 80
#define SVG_TOP 80
#define SVG_BOTTOM 50

/* 1, 2 or 5 times a power of ten, at least v. */
static double nice_max(double v)
{
	double p, f;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	f = v / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void svg_head(FILE *f, struct bench *b, int w, double top)
{
	const struct workload *wl = &workloads[w];
	int ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	char a[32], c[32];

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<title>upager bench: %s</title>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, SVG_H, SVG_W, SVG_H, wl->name);
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" "
		"text-anchor=\"middle\">%s: %s</text>\n", SVG_W / 2, wl->name,
		wl->title);
	fprintf(f, "<text x=\"%d\" y=\"50\" text-anchor=\"middle\" "
		"fill=\"#555\">file %s, upager budget %s, median of %d; "
		"higher is faster</text>\n", SVG_W / 2,
		fmt_size(a, sizeof(a), w == W_RAND4X ? b->len4x : b->len),
		fmt_size(c, sizeof(c), w == W_RAND4X ? b->budget4x : b->len),
		b->reps);
	if (w == W_RAND4X && b->nocg)
		fprintf(f, "<text x=\"%d\" y=\"66\" text-anchor=\"middle\" "
			"fill=\"#c00\">kernel and read unconfined (no memory "
			"cgroup)</text>\n", SVG_W / 2);
	else if (w == W_RAND4X)
		fprintf(f, "<text x=\"%d\" y=\"66\" text-anchor=\"middle\" "
			"fill=\"#555\">kernel and read confined by a memory "
			"cgroup to the budget + %llu MiB</text>\n", SVG_W / 2,
			(unsigned long long)(CG_SLACK / MiB));
	fprintf(f, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %d)\">%s</text>\n",
		SVG_TOP + ph / 2, SVG_TOP + ph / 2, wl->unit);
	for (int i = 0; i <= 5; i++) {
		int y = SVG_TOP + ph - ph * i / 5;

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"#ddd\"/>\n<text x=\"%d\" y=\"%d\" "
			"text-anchor=\"end\">%g</text>\n", SVG_LEFT, y,
			SVG_W - 20, y, SVG_LEFT - 6, y + 4, top * i / 5);
	}
}

static void svg_bar(FILE *f, struct bench *b, int w, int e, double top)
{
	int ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	int slot = (SVG_W - 20 - SVG_LEFT) / E_NR, bw = slot * 3 / 5;
	int x = SVG_LEFT + e * slot + (slot - bw) / 2, base = SVG_TOP + ph;
	struct cell *c = &b->cells[w][e];
	double v = cell_ok(c) ? median(c) : 0;
	int h = (int)(v / top * ph);

	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s"
		"</text>\n", x + bw / 2, base + 18, engines[e].name);
	if (!cell_ok(c)) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			"fill=\"#c00\" font-weight=\"bold\">%s</text>\n",
			x + bw / 2, base - 6, c->wrong ? "WRONG" : "error");
		return;
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		"%.1f", x, base - h, bw, h, engines[e].color, x + bw / 2,
		base - h - 6, v);
	if (e != E_KERNEL && ratio(b, w, e) > 0)
		fprintf(f, " (%.2fx)", ratio(b, w, e));
	fputs("</text>\n", f);
}

static int write_svg(struct bench *b, int w)
{
	char path[PATH_MAX];
	double top = 0;
	FILE *f;

	for (int e = 0; e < E_NR; e++)
		if (cell_ok(&b->cells[w][e]) && median(&b->cells[w][e]) > top)
			top = median(&b->cells[w][e]);
	top = nice_max(top * 1.1);
	snprintf(path, sizeof(path), "%s/%s.svg", b->out, workloads[w].name);
	if (!(f = fopen(path, "we")))
		return fail(path, -errno);
	svg_head(f, b, w, top);
	for (int e = 0; e < E_NR; e++)
		svg_bar(f, b, w, e, top);
	fputs("</svg>\n", f);
	if (fclose(f))
		return fail(path, -errno);
	return ST_OK;
}

/* -- setup and the command -- */
void print_header(struct bench *b)
{
	struct utsname u;
	char a[32], c[32], d[32];

	uname(&u);
	printf("upager bench: %s, %d rep%s%s, Linux %s %s, %ld CPUs\n",
	       b->quick ? "quick" : "full", b->reps, b->reps > 1 ? "s" : "",
	       b->warm ? " after a warm-up" : "", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("file %s with an upager budget of the same; rand-4x: file "
	       "%s, budget %s\n", fmt_size(a, sizeof(a), b->len),
	       fmt_size(c, sizeof(c), b->len4x),
	       fmt_size(d, sizeof(d), b->budget4x));
	if (b->nocg)
		printf("rand-4x: kernel and read are UNCONFINED (%s): their "
		       "page cache may hold the whole file\n", b->nocg);
	else
		printf("rand-4x: kernel and read confined to budget + %llu "
		       "MiB by memory cgroup %s\n",
		       (unsigned long long)(CG_SLACK / MiB), clean_cg);
}

static void print_backends(struct bench *b)
{
	for (int e = E_UP4K; e < E_NR; e++) {
		const char *be = b->cells[W_SEQ][e].backend;

		if (*be && strcmp(be, "userfaultfd"))
			printf("NOTE: %s ran on the %s backend, not "
			       "userfaultfd (see upager info)\n",
			       engines[e].name, be);
	}
}

int bench_report(struct bench *b)
{
	int status = ST_OK;

	print_table(b);
	print_backends(b);
	if (!all_ok(b))
		printf("SOME RUNS FAILED or gave WRONG checksums\n");
	else
		printf("checksums: every run matches the kernel's and the "
		       "expected value\n");
	status = write_csv(b);
	for (int w = 0; !status && w < W_NR; w++)
		status = write_svg(b, w);
	if (!status)
		printf("results: %s/results.csv and %s/*.svg\n", b->out,
		       b->out);
	return status ? status : all_ok(b) ? ST_OK : ST_FAIL;
}
