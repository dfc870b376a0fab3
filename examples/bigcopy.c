/* SPDX-License-Identifier: MIT */
/*
 * bigcopy - the explicit API: copy a 64 MiB file into another through two
 * mappings of one pager whose budget is 8 MiB.  A single memcpy() touches
 * 128 MiB of mapped memory; the pager reads, evicts and writes back pages
 * underneath so that it never holds more than the budget.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upager.h"

#define LEN (64u << 20)

static int fail(const char *what, int err)
{
	fprintf(stderr, "bigcopy: %s: %s\n", what, up_strerror(err));
	return 1;
}

/* A temp file of LEN bytes, filled with a pattern if fill is set. */
static int temp_file(char *path, int fill)
{
	int fd = mkstemp(path);
	uint32_t buf[1024];

	unlink(path);	/* gone when closed; the mappings do not need it */
	if (fd < 0 || ftruncate(fd, LEN))
		return -1;
	for (uint32_t off = 0; fill && off < LEN; off += sizeof(buf)) {
		for (unsigned i = 0; i < 1024; i++)
			buf[i] = off / 4 + i;
		if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
			return -1;
	}
	return fd;
}

int main(void)
{
	char src_path[] = "/tmp/upager-src-XXXXXX";
	char dst_path[] = "/tmp/upager-dst-XXXXXX";
	struct up_config cfg;
	struct up_pager *p;
	struct up_stats st;
	void *src, *dst;
	int err, src_fd = temp_file(src_path, 1), dst_fd = temp_file(dst_path, 0);

	if (src_fd < 0 || dst_fd < 0)
		return perror("temp file"), 1;
	up_config_init(&cfg);
	cfg.budget = 8u << 20;	/* 8 MiB for 128 MiB of mappings */
	if ((err = up_pager_open(&p, &cfg)))
		return fail("up_pager_open", err);
	printf("backend %s %s\n", up_pager_backend(p), up_pager_note(p));

	if ((err = up_pager_map(p, NULL, LEN, PROT_READ, MAP_SHARED, src_fd,
				0, &src)) ||
	    (err = up_pager_map(p, NULL, LEN, PROT_READ | PROT_WRITE,
				MAP_SHARED, dst_fd, 0, &dst)))
		return fail("up_pager_map", err);
	memcpy(dst, src, LEN);
	if ((err = up_pager_sync(p, dst, LEN, MS_SYNC)))
		return fail("up_pager_sync", err);
	if ((err = up_pager_stats(p, &st)))
		return fail("up_pager_stats", err);
	printf("copied %u MiB: %llu faults, %llu evictions, %llu writebacks, "
	       "%llu MiB resident of an %zu MiB budget\n", LEN >> 20,
	       (unsigned long long)(st.faults_read + st.faults_write),
	       (unsigned long long)st.evictions,
	       (unsigned long long)st.writebacks,
	       (unsigned long long)(st.resident * st.page_len >> 20),
	       cfg.budget >> 20);
	if ((err = up_pager_close(p)))	/* unmaps both mappings */
		return fail("up_pager_close", err);

	/* Check the copy with plain pread(2). */
	for (off_t off = 0; off < LEN; off += 1 << 20) {
		static char a[1 << 20], b[1 << 20];

		if (pread(src_fd, a, sizeof(a), off) != sizeof(a) ||
		    pread(dst_fd, b, sizeof(b), off) != sizeof(b) ||
		    memcmp(a, b, sizeof(a)))
			return fprintf(stderr, "bigcopy: differs at %lld\n",
				       (long long)off), 1;
	}
	printf("the copy matches the source\n");
	return 0;
}
