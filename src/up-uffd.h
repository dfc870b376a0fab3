/* SPDX-License-Identifier: MIT */
/*
 * up-uffd.h - userfaultfd definitions newer than some distributions'
 * kernel headers.  The values are the kernel's ABI and never change.
 */
#ifndef UP_UFFD_H
#define UP_UFFD_H

#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#define UP_UFFD_FEATURE_POISON		(1ull << 14)
#define UP_UFFDIO_CONTINUE_MODE_WP	((__u64)1 << 1)

struct up_uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};

#define UP_UFFDIO_POISON _IOWR(UFFDIO, 0x08, struct up_uffdio_poison)
#define UP_UFFDIO_POISON_MODE_DONTWAKE ((__u64)1 << 0)

#endif /* UP_UFFD_H */
