/* SPDX-License-Identifier: MIT */
/*
 * hello - the drop-in API: up_mmap() a file, read it, write it, up_msync(),
 * up_munmap().  The same calls as mmap(2), served by upager's default pager.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upager.h"

int main(void)
{
	char path[] = "/tmp/upager-hello-XXXXXX", back[32] = "";
	size_t len = 1 << 20;
	int fd = mkstemp(path);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)len) ||
	    pwrite(fd, "hello, kernel", 13, 0) != 13)
		return perror("temp file"), 1;
	p = up_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return perror("up_mmap"), 1;
	printf("read  \"%.13s\" through the %s backend\n", p,
	       up_pager_backend(up_default_pager()));
	memcpy(p + 7, "upager", 6);		/* an ordinary store */
	p[len - 1] = '!';			/* far away: another page */
	if (up_msync(p, len, MS_SYNC) || up_munmap(p, len))
		return perror("up_msync/up_munmap"), 1;
	if (pread(fd, back, 13, 0) != 13 || pread(fd, back + 13, 1,
						   (off_t)len - 1) != 1)
		return perror("pread"), 1;
	printf("file  \"%s\"\n", back);
	close(fd);
	unlink(path);
	return strcmp(back, "hello, upager!") != 0;
}
