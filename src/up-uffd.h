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
#define UP_UFFD_FEATURE_MOVE		(1ull << 16)
#define UP_UFFDIO_CONTINUE_MODE_WP	((__u64)1 << 1)

struct up_uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};

#define UP_UFFDIO_POISON _IOWR(UFFDIO, 0x08, struct up_uffdio_poison)
#define UP_UFFDIO_POISON_MODE_DONTWAKE ((__u64)1 << 0)

struct up_uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};

#define UP_UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct up_uffdio_move)
#define UP_UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)

#endif /* UP_UFFD_H */
