/* SPDX-License-Identifier: MIT */
/*
 * up-config.h - the configuration's defaults and checks (config.c), which
 * the Linux library and the Windows one (src/win/) share.
 */
#ifndef UP_CONFIG_H
#define UP_CONFIG_H

#include "upager.h"

#include <stdint.h>

/* up_config_init() where the process may use `usable` bytes of memory. */
void up__config_defaults(struct up_config *cfg, uint64_t usable);
/* The checks of up_pager_open() that do not depend on the platform,
 * backends up to `last` known: 0 or -EINVAL. */
int up__config_check(const struct up_config *c, enum up_backend last);

#endif
