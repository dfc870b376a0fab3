/* SPDX-License-Identifier: MIT */
/*
 * fault-kernel.c - the pass-through backend: each mapping is the kernel's
 * own mmap(2), and msync, madvise and mprotect go straight to the kernel.
 *
 * The pager still records these mappings, so that the same API and the
 * statistics of resident pages (from mincore(2)) work; the budget, the page
 * size and the fault counters do not apply.
 */
#include "up-int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

static int kern_open(struct up_pager *p)
{
	(void)p;
	return 0;
}

static void kern_close(struct up_pager *p)
{
	(void)p;
}

static int kern_map(struct up_pager *p, struct up_region *r, int fd,
		    void *hint, int mflags)
{
	size_t len = r->end - r->start;
	void *addr;
	int err;

	(void)p;
	err = up__mmap_user(hint, len, r->prot, (r->flags & ~(MAP_FIXED |
					MAP_FIXED_NOREPLACE)) | mflags,
		       fd, r->off, &addr);
	if (err)
		return err;
	r->start = (uintptr_t)addr;
	r->end = r->start + len;
	return 0;
}

static int kern_unmap(struct up_pager *p, struct up_region *r, uintptr_t a,
		      uintptr_t b)
{
	(void)p, (void)r, (void)a, (void)b;
	return 0;
}

static int kern_sync(struct up_pager *p, struct up_region *r, uintptr_t a,
		     uintptr_t b, int flags)
{
	(void)p, (void)r;
	return up__msync((void *)a, b - a, flags);
}

static int kern_advise(struct up_pager *p, struct up_region *r, uintptr_t a,
		       uintptr_t b, int advice)
{
	(void)p, (void)r;
	return up__madvise((void *)a, b - a, advice);
}

static void kern_count(struct up_pager *p, struct up_region *r,
		       struct up_stats *st)
{
	unsigned char *vec;
	size_t nr, i;

	if (!r) {
		for (i = 0; i < p->regions_nr; i++)
			kern_count(p, p->regions[i], st);
		return;
	}
	nr = (r->end - r->start) / SYS_PAGE;
	vec = malloc(nr);
	if (!vec)
		return;
	if (mincore((void *)r->start, r->end - r->start, vec) == 0)
		for (i = 0; i < nr; i++)
			st->resident += vec[i] & 1;
	free(vec);
}

const struct up_backend_ops up__kernel_ops = {
	.name = "kernel",
	.kernel_mappings = true,
	.open = kern_open,
	.close = kern_close,
	.map = kern_map,
	.unmap = kern_unmap,
	.sync = kern_sync,
	.advise = kern_advise,
	.count = kern_count,
};
