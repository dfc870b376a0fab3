/* SPDX-License-Identifier: MIT */
/*
 * config.c - a pager's configuration: the defaults of up_config_init()
 * and the checks of up_pager_open() that every platform shares.  The
 * platform says how much memory the process may use, and adds the checks
 * of its own backends.
 */
#include "up-config.h"

#include <errno.h>
#include <string.h>

/* The default budget: half the memory the process may use, in whole
 * 2 MiB, at least 16 MiB. */
static size_t default_budget(uint64_t usable)
{
	uint64_t b = usable / 2 & ~(((uint64_t)2 << 20) - 1);

	if (b < (16u << 20))
		b = 16u << 20;
	return b > SIZE_MAX ? SIZE_MAX : (size_t)b;
}

void up__config_defaults(struct up_config *cfg, uint64_t usable)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->budget = default_budget(usable);
	cfg->page_len = 64u << 10;
	cfg->readahead_nr = 16;
	cfg->threads_nr = 1;
	cfg->backend = UP_BACKEND_AUTO;
	cfg->flags = UP_CONFIG_FALLBACK;
}

int up__config_check(const struct up_config *c, enum up_backend last)
{
	if (c->page_len < UP_PAGE_MIN || c->page_len > UP_PAGE_MAX ||
	    (c->page_len & (c->page_len - 1)))
		return -EINVAL;
	if (c->budget < c->page_len || c->threads_nr == 0 ||
	    c->threads_nr > 64)
		return -EINVAL;
	if ((unsigned)c->backend > (unsigned)last)
		return -EINVAL;
	if (c->flags & ~(UP_CONFIG_FALLBACK | UP_CONFIG_USER_MODE_OK |
			 UP_CONFIG_SHARED | UP_CONFIG_FAULT_INLINE))
		return -EINVAL;
	return 0;
}
