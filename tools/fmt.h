/* SPDX-License-Identifier: MIT */
/*
 * fmt.h - figures as the CLI and the preload library print them: a time
 * with its unit, and a histogram by powers of two of nanoseconds.  Header
 * only, so that libupager-preload.so takes nothing else of the CLI.
 */
#ifndef UPAGER_FMT_H
#define UPAGER_FMT_H

#include <stdint.h>
#include <stdio.h>

static inline const char *fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

/* hist[k] counts what took [2^k, 2^(k+1)) ns: one line each from the
 * first bucket used to the last, each starting with pre, the count
 * last. */
static inline void fmt_hist(FILE *f, const char *pre, const uint64_t *hist,
			    unsigned nr)
{
	static const char bar[] = "########################################";
	uint64_t max = 0;
	unsigned lo = nr, hi = 0, k;
	char a[16], b[16];

	for (k = 0; k < nr; k++) {
		if (!hist[k])
			continue;
		lo = k < lo ? k : lo;
		hi = k;
		max = hist[k] > max ? hist[k] : max;
	}
	for (k = lo; k <= hi && max; k++) {
		int w = (int)(hist[k] * 40 / max);

		if (hist[k] && !w)
			w = 1;
		fprintf(f, "%s%8s - %-8s |%-40.*s| %llu\n", pre,
			fmt_ns(a, sizeof(a), (double)(1ull << k)),
			fmt_ns(b, sizeof(b), (double)(2ull << k)), w, bar,
			(unsigned long long)hist[k]);
	}
}

#endif
