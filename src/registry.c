/* SPDX-License-Identifier: MIT */
/*
 * registry.c - a pager's regions, kept sorted by address.
 *
 * A plain sorted array searched by bisection: mappings are few (tens to
 * thousands) and lookups, done once per fault, dominate.  This file owns
 * the index and the model of how the kernel would see the regions as
 * mappings (which ones it merges, their anon_vmas); creating, splitting
 * and freeing regions is api.c's job.  Callers hold p->lock.
 */
#include "up-int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* ---- the kernel's mappings, as it would merge them ---------------- */

/*
 * The kernel's own mapping made in r's place (handed over at a fork):
 * the flags the program's madvise(2) put on r, so that the kernel's
 * mapping is split, and behaves, where the program's was.
 */
void up__region_flags_to_kernel(const struct up_region *r)
{
	void *a = (void *)r->start;
	size_t len = r->end - r->start;

	if (r->advice != MADV_NORMAL)
		up__madvise(a, len, r->advice);
	/* (A mapping made over registered memory may keep its DONTFORK.) */
	up__madvise(a, len, r->dontfork ? MADV_DONTFORK : MADV_DOFORK);
	if (r->wipeonfork)
		up__madvise(a, len, MADV_WIPEONFORK);
	if (r->vmflags & VF_HUGE)
		up__madvise(a, len, MADV_HUGEPAGE);
	if (r->vmflags & VF_NOHUGE)
		up__madvise(a, len, MADV_NOHUGEPAGE);
	if (r->vmflags & VF_DONTDUMP)
		up__madvise(a, len, MADV_DONTDUMP);
	if (r->vmflags & VF_MERGEABLE)
		up__madvise(a, len, MADV_MERGEABLE);
}

/* Whether the kernel's mappings at l and r may merge, by their anon_vmas:
 * not two different ones. */
bool up__anon_alike(const struct up_region *l, const struct up_region *r)
{
	return !(l->anon && r->anon && l->anon != r->anon);
}

/*
 * Whether the kernel would see adjacent regions l and r as one mapping:
 * mremap(2) works within one.  Pieces of one mapping are (split by
 * nothing that splits the kernel's), and private anonymous memory merges
 * with its neighbour.
 */
bool up__one_mapping(const struct up_region *l, const struct up_region *r)
{
	if (l->end != r->start || !up__region_alike(l, r))
		return false;
	/* The kernel merges no two mappings with anon_vmas of their own,
	 * none that MREMAP_DONTUNMAP left behind locked (api.c,
	 * left_behind()), and none that mlock(2) locked apart. */
	if (!up__anon_alike(l, r) || l->apart != r->apart ||
	    l->locked != r->locked)
		return false;
	/* (Past the end of shared memory: one mapping with it, and with
	 * what continues it, in the kernel's, as in the pager's one file.) */
	if (r->beyond)
		return l->beyond ? l->pgdelta == r->pgdelta : l->obj != NULL;
	if (!l->obj || !r->obj)
		return false;
	/* A private mapping of /dev/zero keeps the file (vm_file): it merges
	 * with no anonymous memory, only with the rest of itself (what
	 * mremap(2) moved and grew of it too: one serial). */
	if (l->zero_file != r->zero_file)
		return false;
	if (l->zero_file)
		return l->serial == r->serial && l->pgdelta == r->pgdelta;
	/* Private anonymous memory merges where the page offsets line up:
	 * a fresh mapping's are its addresses', and memory that mremap(2)
	 * moved keeps those of where it was made. */
	if ((l->flags & MAP_ANONYMOUS) && !(l->flags & MAP_SHARED))
		return l->pgdelta == r->pgdelta;
	/* (Private copies of one file are objects of their own, each with
	 * the descriptor it was made through: the kernel merges mappings of
	 * one open file alone, not of the file opened twice.) */
	return (l->obj == r->obj ||
		(!(l->flags & MAP_ANONYMOUS) &&
		 up__same_open_file(l->obj->fd, r->obj->fd))) &&
	       r->off == l->off + (off_t)(l->end - l->start);
}

/* The regions [*a, *b] of the kernel's mapping that region i is part of,
 * and its anon_vma (0 if none). */
uint64_t up__mapping_of(struct up_pager *p, size_t i, size_t *a, size_t *b)
{
	uint64_t anon = 0;
	size_t k;

	for (*a = i; *a && up__one_mapping(p->regions[*a - 1], p->regions[*a]);
	     (*a)--)
		;
	for (*b = i; *b + 1 < p->regions_nr &&
		     up__one_mapping(p->regions[*b], p->regions[*b + 1]);
	     (*b)++)
		;
	for (k = *a; k <= *b && !anon; k++)
		anon = p->regions[k]->anon;
	return anon;
}

/* The anon_vma of neighbour n of the kernel's mapping at m, if the kernel
 * would share it: n differs from m in protection at most
 * (anon_vma_compatible()). */
static uint64_t anon_shared(const struct up_region *n,
			    const struct up_region *m)
{
	struct up_region t = *m;

	t.prot = n->prot;
	return (n->end == m->start ? up__one_mapping(n, &t)
				   : up__one_mapping(&t, n)) ?
		       n->anon :
		       0;
}

/*
 * A fault in region r (any in private anonymous memory, a store in a
 * private mapping of a file) gives the kernel's mapping an anon_vma if it
 * has none: its neighbour's where that differs in protection only, the
 * next one's first (find_mergeable_anon_vma()), else a new one.  Its
 * pieces keep it when they are split, and two mappings with different
 * ones never merge (see up__one_mapping()).  No memory allocated:
 * the faulting thread may call it (fault-uffd.c).
 */
void up__region_anon(struct up_pager *p, struct up_region *r)
{
	size_t a, b, k;
	uint64_t anon = up__mapping_of(p, up__region_first(p, r->start), &a,
				       &b);

	if (!anon && b + 1 < p->regions_nr)
		anon = anon_shared(p->regions[b + 1], p->regions[b]);
	if (!anon && a)
		anon = anon_shared(p->regions[a - 1], p->regions[a]);
	if (!anon)
		anon = ++p->anon_nr;
	for (k = a; k <= b; k++)
		p->regions[k]->anon = anon;
}

/*
 * Region r has changed so that the kernel merges its mapping with its
 * neighbours: the merged mapping has one anon_vma, the first of them that
 * has one (vma_merge() tries the mapping before first), which then keeps
 * it from merging with a mapping further on that has another.
 */
void up__region_merged(struct up_pager *p, struct up_region *r)
{
	size_t a, b, k;

	up__mapping_of(p, up__region_first(p, r->start), &a, &b);
	for (k = a + 1; k <= b; k++)
		if (!p->regions[k]->anon)
			p->regions[k]->anon = p->regions[k - 1]->anon;
	for (k = b; k > a; k--)
		if (!p->regions[k - 1]->anon)
			p->regions[k - 1]->anon = p->regions[k]->anon;
}

/* The first region of o that shows object offset off, or NULL. */
struct up_region *up__obj_region(struct up_obj *o, off_t off)
{
	struct up_region *r;

	for (r = o->regions; r; r = r->obj_next)
		if (r->off <= off && off - r->off < (off_t)(r->end - r->start))
			return r;
	return NULL;
}
