/* fork-shared: a sharing pager's mappings survive fork(): shared ones stay shared both ways, private ones become copy-on-write. */
#include "harness.h"

#include <dirent.h>
#include <sys/wait.h>

#define PG 16384
#define LEN (16 * PG)

static void adjust(struct up_config *c)
{
	c->page_len = PG;
	c->budget = 8 * PG;	/* half the file: eviction happens */
	c->flags |= UP_CONFIG_SHARED;
}

/* One byte each way over a pipe pair, to run parent and child in step. */
static int to_child[2], to_parent[2];

static char *file_map, *anon_shared, *file_priv, *anon_priv;

/* How many shared cache segments of fd's file exist. */
static int segments(int fd)
{
	char prefix[64];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (!d || fstat(fd, &st))
		return -1;
	snprintf(prefix, sizeof(prefix), "upager-%llx-%llx-",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void child(struct up_pager *p)
{
	/* Pages the parent never touched, and its change to page 0. */
	CHECK_EQ(h_pat_diff(file_map + 1, 1, 1, LEN - 1), -1);
	CHECK_EQ(file_map[0], 'P');
	/* Private copies as they were at fork. */
	CHECK_EQ(file_priv[0], 'V');
	CHECK_EQ(file_priv[PG], (char)h_pat(1, PG));
	CHECK_EQ(anon_priv[0], 'A');
	CHECK_EQ(anon_shared[0], 0);
	/* Writes of the child: shared ones for the parent, private ones
	 * not. */
	file_map[3 * PG] = 'C';
	file_priv[0] = 'W';
	anon_priv[0] = 'B';
	h_send(to_parent[1]);
	h_await(to_child[0]);
	/* The parent wrote after the fork. */
	CHECK_EQ(strcmp(anon_shared + 100, "string 2"), 0);
	CHECK_EQ(file_map[7 * PG + 1], 'Q');
	CHECK_EQ(file_priv[0], 'W');
	CHECK_EQ(anon_priv[0], 'B');
	/* The child can also map through the inherited pager. */
	CHECK_OK(up_pager_sync(p, file_map, LEN, MS_SYNC));
	CHECK_OK(up_pager_unmap(p, file_map, LEN));
	CHECK_OK(up_pager_close(p));
}

static void body(struct up_pager *p, enum up_backend b)
{
	int fd = h_file(LEN, 1), st = 0, execed[2];
	char c = 0;
	pid_t pid;

	(void)b;
	file_map = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	file_priv = h_map(p, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	anon_shared = h_map(p, LEN, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	anon_priv = h_map(p, LEN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!file_map || !file_priv || !anon_shared || !anon_priv)
		goto out;
	file_map[0] = 'P';	/* one dirty page; the rest untouched */
	file_priv[0] = 'V';
	anon_priv[0] = 'A';
	if (pipe(to_child) || pipe(to_parent))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		h_pass_nr = h_fail_nr = 0;
		child(p);
		h_done();	/* exits 1 on a failed check */
	}
	CHECK(pid > 0);
	h_await(to_parent[0]);
	/* The child's shared write is here, its private ones are not. */
	CHECK_EQ(file_map[3 * PG], 'C');
	CHECK_EQ(file_priv[0], 'V');
	CHECK_EQ(anon_priv[0], 'A');
	strcpy(anon_shared + 100, "string 2");
	file_map[7 * PG + 1] = 'Q';
	h_send(to_child[1]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* A child that runs another program leaves the cache when it does:
	 * while that program still runs, the parent is the last user. */
	if (pipe2(execed, O_CLOEXEC))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		file_map[9 * PG] = 'E';	/* a write before the exec */
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(99);
	}
	close(execed[1]);
	CHECK_EQ(read(execed[0], &c, 1), 0);	/* EOF: it has exec'd */
	close(execed[0]);
	/* Everything both wrote reaches the file; the private writes do
	 * not. */
	CHECK_OK(up_pager_sync(p, file_map, LEN, MS_SYNC));
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'P');
	CHECK_EQ(pread(fd, &c, 1, 3 * PG), 1);
	CHECK_EQ(c, 'C');
	CHECK_EQ(pread(fd, &c, 1, 7 * PG + 1), 1);
	CHECK_EQ(c, 'Q');
	CHECK_EQ(pread(fd, &c, 1, PG), 1);
	CHECK_EQ(c, (char)h_pat(1, PG));
	CHECK_EQ(pread(fd, &c, 1, 9 * PG), 1);
	CHECK_EQ(c, 'E');
	CHECK_OK(up_pager_unmap(p, file_map, LEN));
	CHECK_EQ(segments(fd), 0);	/* the last user of it is gone */
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_OK(up_pager_unmap(p, file_priv, LEN));
	CHECK_OK(up_pager_unmap(p, anon_shared, LEN));
	CHECK_OK(up_pager_unmap(p, anon_priv, LEN));
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
out:
	close(fd);
}

int main(void)
{
	FOR_EACH_BACKEND(adjust, body);
	h_done();
}
