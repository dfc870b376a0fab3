/* SPDX-License-Identifier: MIT */
/*
 * memstore - a store of the program's own behind a mapping: an array in
 * memory that counts what the pager asks of it.  The mapping is larger
 * than the pager's budget, so pages are read, evicted, written back and
 * read again; at the end the array holds every store made through it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "upager.h"

struct memstore {
	char *data;
	off_t len;
	unsigned long reads, writes;
};

static ssize_t ms_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct memstore *s = ctx;

	s->reads++;
	if (off >= s->len)
		return 0;
	if ((off_t)len > s->len - off)
		len = (size_t)(s->len - off);
	memcpy(buf, s->data + off, len);
	return (ssize_t)len;
}

static ssize_t ms_write(void *ctx, const void *buf, size_t len, off_t off)
{
	struct memstore *s = ctx;

	if (off < 0 || off + (off_t)len > s->len)
		return -EINVAL;
	s->writes++;
	memcpy(s->data + off, buf, len);
	return (ssize_t)len;
}

static off_t ms_size(void *ctx)
{
	return ((struct memstore *)ctx)->len;
}

static void ms_close(void *ctx)
{
	printf("close: %lu reads, %lu writes\n",
	       ((struct memstore *)ctx)->reads,
	       ((struct memstore *)ctx)->writes);
}

static const struct up_store_ops memstore_ops = {
	.read = ms_read,
	.write = ms_write,
	.size = ms_size,
	.close = ms_close,
};

int main(void)
{
	struct memstore s = { .len = 16 << 20 };
	struct up_config cfg;
	struct up_pager *p;
	size_t i, bad = 0;
	char *m;
	int err;

	s.data = calloc(1, (size_t)s.len);
	if (!s.data)
		return perror("calloc"), 1;
	up_config_init(&cfg);
	cfg.budget = 1 << 20;		/* a sixteenth of the store */
	err = up_pager_open(&p, &cfg);
	if (err)
		return fprintf(stderr, "memstore: %s\n", up_strerror(err)), 1;
	err = up_pager_map_store(p, &memstore_ops, &s, NULL, (size_t)s.len,
				 PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				 (void **)&m);
	if (err == -EOPNOTSUPP) {
		/* The kernel backend: userfaultfd is not permitted here. */
		printf("memstore: skipped: the %s backend cannot show a "
		       "store\n", up_pager_backend(p));
		up_pager_close(p);
		return 0;
	}
	if (err) {
		fprintf(stderr, "memstore: %s\n", up_strerror(err));
		return 1;
	}
	for (i = 0; i < (size_t)s.len; i += 4096)
		m[i] = (char)(i / 4096);
	for (i = 0; i < (size_t)s.len; i += 4096)
		bad += m[i] != (char)(i / 4096);
	if (up_pager_unmap(p, m, (size_t)s.len) || up_pager_close(p))
		return fprintf(stderr, "memstore: unmap failed\n"), 1;
	for (i = 0; i < (size_t)s.len; i += 4096)
		bad += s.data[i] != (char)(i / 4096);
	printf("%s: 16 MiB store through a 1 MiB budget, %zu bad bytes\n",
	       bad ? "FAILED" : "ok", bad);
	free(s.data);
	return bad != 0;
}
