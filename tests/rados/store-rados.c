/* SPDX-License-Identifier: MIT */
/*
 * store-rados: the RADOS store (up_rstore_open()) behind a mapping, on the
 * cluster $CEPH_CONF describes (tests/rados-cluster.sh starts one).
 * Random stores through a budget of an eighth of the data, msync: the
 * object set reads back as the model says, through the store and through
 * a new mapping; a sequential scan reads ahead in parallel and sees the
 * same; msync writes scattered pages in one batch; a resize is ftruncate's;
 * missing stores and pools are -ENOENT.
 */
#include "rados.h"

#define LEN (9 * H_MIB + 4321)	/* ends inside an object and a page */
#define OBJ (1u << 20)

static char name[64];

static void small(struct up_config *c)
{
	c->budget = 8 * c->page_len;
}

static void model(struct up_pager *p)
{
	const struct up_store_ops *ops;
	char *ref = calloc(1, LEN), *back = malloc(LEN), *m;
	void *ctx;
	int i;

	CHECK_OK(up_rstore_open(NULL, "upager", name, O_RDWR | O_CREAT, LEN,
				OBJ, &ops, &ctx));
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	for (i = 0; i < 1500; i++) {
		size_t off = h_below(LEN), n = 1 + h_below(5000);

		if (n > LEN - off)
			n = LEN - off;
		if (h_below(3)) {
			memset(m + off, (int)h_below(256), n);
			memset(ref + off, m[off], n);
		} else {
			CHECK_EQ(memcmp(m + off, ref + off, n), 0);
		}
	}
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, m, LEN));

	/* Through the store's calls, and a mapping made anew. */
	CHECK_OK(up_rstore_open(NULL, "upager", name, O_RDONLY, 0, 0, &ops,
				&ctx));
	CHECK_EQ(ops->size(ctx), (off_t)LEN);
	CHECK(ops->write == NULL);
	CHECK_EQ(ops->read(ctx, back, LEN + 100, 0), (ssize_t)LEN);
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN, PROT_READ,
				    MAP_SHARED, 0, (void **)&m));
	up_pager_advise(p, m, LEN, MADV_SEQUENTIAL);
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	CHECK_OK(up_pager_unmap(p, m, LEN));
	free(ref);
	free(back);
}

/* Scattered dirty pages go out in one batch; resized under the mapping,
 * the store is as a file after ftruncate(2): SIGBUS past the end, zeros
 * where it grew, the objects cut to match. */
static void resize_batch(struct up_pager *p)
{
	const struct up_store_ops *ops;
	char *ref = malloc(LEN), *back = malloc(LEN), *m, v;
	size_t half = 3 * OBJ + 1000, i, pl;
	struct up_stats st;
	void *ctx;
	char bname[80];

	CHECK_OK(up_pager_stats(p, &st));
	pl = st.page_len;

	snprintf(bname, sizeof(bname), "%s-rs", name);
	h_pat_fill(ref, 31, 0, LEN);
	CHECK_OK(up_rstore_open(NULL, "upager", bname, O_RDWR | O_CREAT, LEN,
				OBJ, &ops, &ctx));
	CHECK(ops->write_batch && ops->resize);
	CHECK_OK(up_pager_map_store(p, ops, ctx, NULL, LEN,
				    PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&m));
	memcpy(m, ref, LEN);
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	for (i = 0; i < LEN; i += 3 * pl) {
		m[i] = (char)(i / pl);
		ref[i] = (char)(i / pl);
	}
	CHECK_OK(up_pager_sync(p, m, LEN, MS_SYNC));
	CHECK_OK(up_pager_store_resize(p, ops, ctx, (off_t)half));
	CHECK_EQ(h_access(m + ((half + 4095) & ~4095ul), 0, &v), SIGBUS);
	CHECK_EQ(h_access(m + LEN - 1, 0, &v), SIGBUS);
	CHECK_OK(up_pager_store_resize(p, ops, ctx, LEN));
	memset(ref + half, 0, LEN - half);
	CHECK_EQ(memcmp(m, ref, LEN), 0);
	m[LEN - 3] = 'r';
	ref[LEN - 3] = 'r';
	CHECK_OK(up_pager_unmap(p, m, LEN));

	CHECK_OK(up_rstore_open(NULL, "upager", bname, O_RDONLY, 0, 0, &ops,
				&ctx));
	CHECK_EQ(ops->size(ctx), (off_t)LEN);
	CHECK_EQ(ops->read(ctx, back, LEN, 0), (ssize_t)LEN);
	CHECK_EQ(memcmp(back, ref, LEN), 0);
	ops->close(ctx);
	free(ref);
	free(back);
}

static void missing(void)
{
	const struct up_store_ops *ops;
	void *ctx;

	CHECK_EQ(up_rstore_open(NULL, "upager", "no-such-store", O_RDONLY, 0,
				0, &ops, &ctx), -ENOENT);
	CHECK_EQ(up_rstore_open(NULL, "no-such-pool", name, O_RDONLY, 0, 0,
				&ops, &ctx), -ENOENT);
	CHECK_EQ(up_rstore_open(NULL, "upager", name, O_RDONLY, 0, 3000,
				&ops, &ctx), -EINVAL);
}

static void body(struct up_pager *p, enum up_backend b)
{
	if (b == UP_BACKEND_KERNEL || (h_flags & UP_CONFIG_FAULT_INLINE))
		return;
	model(p);
	resize_batch(p);
}

int main(void)
{
	h_seed();
	h_need_rados();
	snprintf(name, sizeof(name), "store-rados-%d", (int)getpid());
	h_skip = ~1u;	/* userfaultfd with service threads */
	FOR_EACH_BACKEND(small, body);
	missing();
	h_done();
}
