/* SPDX-License-Identifier: MIT */
/*
 * full-pool: a RADOS store whose pool is full (the OSD's full ratio set
 * below what it holds, so that the OSD reports itself full and every pool
 * is flagged full; a pool's quota would need a manager the test cluster
 * does not run).  The pages changed through a mapping stay the process's:
 * msync fails at once with -ENOSPC, as for a file on a full disk, and
 * loses none of them; once there is room again the next msync writes them
 * all.  The ratios are put back at the end.
 */
#include "rados.h"

#include <stdbool.h>

#define LEN (4 * H_MIB)
#define OBJ (1u << 20)

static char name[64];

/* ceph -c $CEPH_CONF ARGS..., quiet: 0 if it worked. */
static int ceph(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ceph -c '%s' %s >/dev/null 2>&1",
		 getenv("CEPH_CONF"), args);
	return system(cmd);
}

/* The full ratios of the cluster: tiny, or the defaults again. */
static void full(bool on)
{
	CHECK_EQ(ceph(on ? "osd set-nearfull-ratio 0.00001" :
			   "osd set-full-ratio 0.95"), 0);
	CHECK_EQ(ceph(on ? "osd set-backfillfull-ratio 0.00002" :
			   "osd set-backfillfull-ratio 0.9"), 0);
	CHECK_EQ(ceph(on ? "osd set-full-ratio 0.00003" :
			   "osd set-nearfull-ratio 0.85"), 0);
}

/* Wait until the cluster's health says full (or not): 0, or -1 after
 * 60 s.  ("1 full osd(s)", not "1 backfillfull osd(s)", which comes
 * first.) */
static int await_full(bool on)
{
	int i;

	for (i = 0; i < 120; i++) {
		int r = ceph("health | grep -qE '(^|[ ;])[0-9]+ full osd'");

		if ((r == 0) == on)
			return 0;
		usleep(500000);
	}
	return -1;
}

static void body(struct up_pager *p, enum up_backend b)
{
	const struct up_store_ops *ops;
	char *ref = malloc(LEN), *back = malloc(LEN), *m;
	void *ctx;
	int err, tries;

	if (b == UP_BACKEND_KERNEL || (h_flags & UP_CONFIG_FAULT_INLINE))
		return;
	h_pat_fill(ref, 41, 0, LEN);
	CHECK_OK(up_rstore_open(NULL, "upager", name, O_RDWR | O_CREAT, LEN, OBJ,
				&ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	memcpy(m, ref, 2 * OBJ);
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	full(true);
	CHECK_OK(await_full(true));
	/* The monitors may say full before the OSD refuses: a write of what
	 * the store holds already tells.  A cluster that takes it for 10 s
	 * takes a full pool's writes (as some releases do with FULL_TRY,
	 * short of the fail-safe ratio): nothing to check there. */
	for (tries = 0; tries < 20; tries++) {
		if (ops->write(ctx, ref, 4096, 0) == -ENOSPC)
			break;
		usleep(500000);
	}
	if (tries == 20) {
		full(false);
		CHECK_OK(await_full(false));
		CHECK_OK(up_pager_unmap(p, m, LEN));
		SKIP("this cluster takes writes to a pool flagged full");
	}
	memcpy(m + 2 * OBJ, ref + 2 * OBJ, LEN - 2 * OBJ);
	/* Refused at once (held until the 2 s timeout, it would be EIO). */
	err = up_pager_sync(p, m, LEN, MS_SYNC);
	CHECK_EQ(err, -ENOSPC);
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	full(false);
	CHECK_OK(await_full(false));
	for (tries = 0; tries < 60; tries++) {
		err = up_pager_sync(p, m, LEN, MS_SYNC);
		if (err != -ENOSPC)
			break;
		usleep(500000);
	}
	CHECK_OK(err);
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	CHECK_OK(up_pager_unmap(p, m, LEN));
	CHECK_OK(up_rstore_open(NULL, "upager", name, O_RDONLY, 0, 0, &ops,
				&ctx));
	CHECK_EQ(ops->read(ctx, back, LEN, 0), (ssize_t)LEN);
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	ops->close(ctx);
	free(ref);
	free(back);
}

static void small(struct up_config *c)
{
	c->budget = 64 * c->page_len;	/* the whole store: no eviction */
}

int main(void)
{
	h_seed();
	h_need_rados();
	if (ceph("health"))
		SKIP("no ceph command to set the cluster's full ratios");
	snprintf(name, sizeof(name), "full-%d", (int)getpid());
	h_skip = ~1u;
	FOR_EACH_BACKEND(small, body);
	full(false);
	h_done();
}
