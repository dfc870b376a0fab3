/* SPDX-License-Identifier: MIT */
/*
 * rados.h - what the RADOS store's tests share: skipping (exit 77) where
 * upager has no librados or there is no cluster to run against.
 */
#ifndef UP_TEST_RADOS_H
#define UP_TEST_RADOS_H

#include "../harness.h"

static inline void h_need_rados(void)
{
	const struct up_store_ops *ops;
	void *ctx;

	/* (An empty name: refused before any connection, if built in.) */
	if (up_rstore_open(NULL, "x", "", O_RDONLY, 0, 0, &ops, &ctx) ==
	    -EOPNOTSUPP)
		SKIP("built without librados (apt-get install librados-dev)");
	if (!getenv("CEPH_CONF"))
		SKIP("no cluster: $CEPH_CONF is not set (make check-rados)");
}

#endif
