/* SPDX-License-Identifier: MIT */
/*
 * registry.c - a pager's regions, kept sorted by address.
 *
 * A plain sorted array searched by bisection: mappings are few (tens to
 * thousands) and lookups, done once per fault, dominate.  This file owns
 * only the index; creating, splitting and freeing regions is api.c's job.
 * Callers hold p->lock.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first region whose end is above addr. */
size_t up__region_first(struct up_pager *p, uintptr_t addr)
{
	size_t lo = 0, hi = p->regions_nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->regions[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct up_region *up__region_find(struct up_pager *p, uintptr_t addr)
{
	size_t i = up__region_first(p, addr);

	if (i < p->regions_nr && p->regions[i]->start <= addr)
		return p->regions[i];
	return NULL;
}

int up__region_insert(struct up_pager *p, struct up_region *r)
{
	size_t i;

	if (p->regions_nr == p->regions_cap) {
		size_t cap = p->regions_cap ? p->regions_cap * 2 : 16;
		struct up_region **n = realloc(p->regions, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->regions = n;
		p->regions_cap = cap;
	}
	i = up__region_first(p, r->start);
	assert(i == p->regions_nr || p->regions[i]->start >= r->end);
	memmove(&p->regions[i + 1], &p->regions[i],
		(p->regions_nr - i) * sizeof(r));
	p->regions[i] = r;
	p->regions_nr++;
	return 0;
}

void up__region_remove(struct up_pager *p, struct up_region *r)
{
	size_t i = up__region_first(p, r->start);

	assert(i < p->regions_nr && p->regions[i] == r);
	memmove(&p->regions[i], &p->regions[i + 1],
		(p->regions_nr - i - 1) * sizeof(r));
	p->regions_nr--;
}

/* Is every byte of [a, b) inside some region? */
bool up__range_mapped(struct up_pager *p, uintptr_t a, uintptr_t b)
{
	size_t i = up__region_first(p, a);

	while (a < b) {
		if (i >= p->regions_nr || p->regions[i]->start > a)
			return false;
		a = p->regions[i++]->end;
	}
	return true;
}

/* Whether l and r have all that the kernel keeps per mapping alike:
 * protection, flags, accounting and advice.  Pieces of one mapping that
 * follow each other are then one mapping to the kernel. */
bool up__region_alike(const struct up_region *l, const struct up_region *r)
{
	return l->prot == r->prot && l->flags == r->flags &&
	       l->accounted == r->accounted && l->advice == r->advice &&
	       l->vmflags == r->vmflags && l->dontfork == r->dontfork &&
	       l->wipeonfork == r->wipeonfork;
}

/* The part of object range [a, b) that r shows, as addresses [*as, *ae);
 * false if none. */
bool up__region_span(const struct up_region *r, off_t a, off_t b,
		     uintptr_t *as, uintptr_t *ae)
{
	off_t rs = r->off, re = r->off + (off_t)(r->end - r->start);

	if (a < rs)
		a = rs;
	if (b > re)
		b = re;
	if (a >= b)
		return false;
	*as = r->start + (uintptr_t)(a - rs);
	*ae = r->start + (uintptr_t)(b - rs);
	return true;
}
