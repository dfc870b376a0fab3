/* SPDX-License-Identifier: MIT */
/*
 * lost-osd: the OSD of the cluster $CEPH_CONF describes ($RADOS_OSD_PID)
 * is killed under a mapping of a RADOS store with a page not yet written
 * back: a fault that needs the OSD raises SIGBUS and msync fails with an
 * error, after the client's timeout (rados_osd_op_timeout), never zeros and
 * never a hang.  It takes the cluster down: make check-rados runs it last.
 */
#include "../harness.h"

#define LEN (9 * H_MIB)
#define OBJ (1u << 20)

static void small(struct up_config *c)
{
	c->budget = 8 * c->page_len;
}

/* Kill the OSD under a mapping: SIGBUS, then -EIO, never zeros. */
static void lost_osd(struct up_pager *p, pid_t osd)
{
	const struct up_store_ops *ops;
	char *m, v = 0;
	void *ctx;

	CHECK_OK(up_rstore_open(NULL, "upager", "lost-osd", O_RDWR | O_CREAT,
				LEN, OBJ, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	m[0] = 1;	/* dirty, not written back yet */
	CHECK_OK(kill(osd, SIGKILL));
	CHECK_EQ(h_access(m + 5 * OBJ, 0, &v), SIGBUS);
	CHECK(up_pager_sync(p, m, LEN, MS_SYNC) < 0);
	up_pager_unmap(p, m, LEN);
}

int main(void)
{
	const char *osd = getenv("RADOS_OSD_PID");
	struct up_pager *p;

	h_seed();
	if (!getenv("CEPH_CONF") || !osd)
		SKIP("no cluster to take down: $CEPH_CONF and $RADOS_OSD_PID "
		     "(make check-rados)");
	p = h_open(UP_BACKEND_UFFD, small);
	if (p) {
		lost_osd(p, (pid_t)atoi(osd));
		up_pager_close(p);
	}
	h_done();
}
