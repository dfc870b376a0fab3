/* SPDX-License-Identifier: MIT */
/*
 * info reports what this machine offers upager.  The userfaultfd features
 * come from the kernel itself: UFFDIO_API with features = 0 returns every
 * feature the kernel has.  The bit values are spelled out here because the
 * installed <linux/userfaultfd.h> may be older than the running kernel.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tool.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static const struct uffd_feature {
	uint64_t bit;
	const char *name;
} uffd_features[] = {
	{ 1ull << 5, "missing faults on shmem (MISSING_SHMEM)" },
	{ 1ull << 4, "missing faults on hugetlbfs (MISSING_HUGETLBFS)" },
	{ 1ull << 10, "minor faults on shmem (MINOR_SHMEM)" },
	{ 1ull << 9, "minor faults on hugetlbfs (MINOR_HUGETLBFS)" },
	{ 1ull << 0, "write-protect, anonymous (PAGEFAULT_FLAG_WP)" },
	{ 1ull << 12, "write-protect, shmem (WP_HUGETLBFS_SHMEM)" },
	{ 1ull << 13, "write-protect unpopulated (WP_UNPOPULATED)" },
	{ 1ull << 15, "async write-protect (WP_ASYNC)" },
	{ 1ull << 14, "poison (POISON)" },
	{ 1ull << 16, "move (MOVE)" },
	{ 1ull << 7, "SIGBUS instead of events (SIGBUS)" },
	{ 1ull << 8, "faulting thread id (THREAD_ID)" },
	{ 1ull << 11, "exact fault address (EXACT_ADDRESS)" },
};

static void row(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-22s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A long text under a label, wrapped at words to 80 columns. */
static void row_wrap(const char *label, const char *text)
{
	const int width = 80 - 22;

	while (*text) {
		int n = (int)strlen(text);

		if (n > width) {
			n = width;
			while (n > 0 && text[n] != ' ')
				n--;
			if (!n)
				n = width;
		}
		row(label, "%.*s", n, text);
		label = "";
		text += n;
		while (*text == ' ')
			text++;
	}
}

/* A userfaultfd by whichever way this process is allowed; -errno. */
static int uffd_open(const char **how)
{
	int fd, dev, err;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return *how = "userfaultfd(2)", fd;
	err = -errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return *how = "/dev/userfaultfd", fd;
	}
	fd = (int)syscall(SYS_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd >= 0)
		return *how = "userfaultfd(2), user-mode only", fd;
	return err;
}

static void info_features(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	const char *how = "";
	int fd = uffd_open(&how);

	if (fd < 0) {
		row("uffd features", "unknown: no userfaultfd (%s)",
		    strerror(-fd));
		return;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		row("uffd features", "unknown: UFFDIO_API: %s",
		    strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	row("uffd features", "0x%llx (asked through %s)",
	    (unsigned long long)api.features, how);
	row("", "%-3s missing faults, anonymous (always)", "yes");
	for (size_t i = 0; i < sizeof(uffd_features) / sizeof(*uffd_features);
	     i++)
		row("", "%-3s %s",
		    api.features & uffd_features[i].bit ? "yes" : "no",
		    uffd_features[i].name);
}

static void info_uffd(void)
{
	char why[512];
	int err = up_backend_probe(UP_BACKEND_UFFD, 0, why, sizeof(why));

	if (!err) {
		row("userfaultfd", "permitted");
		return;
	}
	row("userfaultfd", "NOT permitted (%s)", strerror(-err));
	row_wrap("", why);
	err = up_backend_probe(UP_BACKEND_UFFD, UP_CONFIG_USER_MODE_OK, why,
			       sizeof(why));
	row("user-mode only", "%s", err ? "not permitted either"
				      : "permitted (UP_CONFIG_USER_MODE_OK)");
}

static void info_signals(void)
{
	char why[512] = "";
	int err = up_backend_probe(UP_BACKEND_SIGNALS, 0, why, sizeof(why));

	if (!err) {
		row("signals backend", "usable (guard pages, SIGSEGV)");
		return;
	}
	row("signals backend", "NOT usable (%s)", strerror(-err));
	row_wrap("", why);
}

/* The first line of a file, without its newline, or "" */
static char *first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void info_thp(void)
{
	static const char dir[] = "/sys/kernel/mm/transparent_hugepage/";
	char path[128], buf[256];

	snprintf(path, sizeof(path), "%senabled", dir);
	row("THP enabled", "%s", *first_line(path, buf, sizeof(buf)) ? buf
							 : "not available");
	snprintf(path, sizeof(path), "%sshmem_enabled", dir);
	row("THP shmem_enabled", "%s", *first_line(path, buf, sizeof(buf))
					       ? buf : "not available");
}

/* This process's group for a v1 controller ("memory") or v2 (""). */
static bool own_cgroup(const char *ctl, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024], *a, *b;
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		a = strchr(line, ':');
		b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = 0;
		found = !strcmp(a + 1, ctl);
		if (found)
			snprintf(out, len, "%s", b + 1);
	}
	if (f)
		fclose(f);
	return found;
}

static void info_cgroup_v1(void)
{
	static const char root[] = "/sys/fs/cgroup/memory";
	char grp[512], path[1024], limit[64];

	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK)) {
		row("memory cgroup v1", "none");
		return;
	}
	if (!own_cgroup("memory", grp, sizeof(grp)))
		snprintf(grp, sizeof(grp), "?");
	snprintf(path, sizeof(path), "%s%s/memory.limit_in_bytes", root, grp);
	first_line(path, limit, sizeof(limit));
	if (strlen(limit) >= 18)
		snprintf(limit, sizeof(limit), "none");
	row("memory cgroup v1", "%s, this process in %s (limit %s)", root,
	    grp, *limit ? limit : "unknown");
	row("", "bench confines the kernel there: %s",
	    geteuid() ? "no, not root"
		      : access(root, W_OK) ? "no, not writable" : "yes");
}

static void info_cgroup_v2(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	char path[1024], ctl[512], grp[512], max[64];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", roots[i]);
		if (access(path, F_OK))
			continue;
		first_line(path, ctl, sizeof(ctl));
		if (!own_cgroup("", grp, sizeof(grp)))
			snprintf(grp, sizeof(grp), "?");
		snprintf(path, sizeof(path), "%s%s/memory.max", roots[i], grp);
		first_line(path, max, sizeof(max));
		row("memory cgroup v2", "%s, this process in %s, memory "
		    "controller %s (memory.max %s)", roots[i], grp,
		    strstr(ctl, "memory") ? "enabled" : "not enabled",
		    *max ? max : "absent");
		return;
	}
	row("memory cgroup v2", "none");
}

static void info_auto(void)
{
	struct up_config cfg;
	struct up_pager *p;
	int err;

	up_config_init(&cfg);
	err = up_pager_open(&p, &cfg);
	if (err) {
		row("auto backend", "none: %s", up_strerror(err));
		return;
	}
	row("auto backend", "%s", up_pager_backend(p));
	row_wrap("", up_pager_note(p));
	up_pager_close(p);
}

int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct utsname u;
	int st;

	if ((st = get_opts(argc, argv, ":h", lo, NULL, NULL)) >= 0)
		return st;
	if (optind != argc)
		return usage("takes no operands");
	uname(&u);
	row("upager", "%d.%d", UP_VERSION_MAJOR, UP_VERSION_MINOR);
	row("kernel", "%s %s %s", u.sysname, u.release, u.machine);
	row("page size", "%zu", sys_page());
	info_uffd();
	info_signals();
	info_features();
	info_thp();
	info_cgroup_v1();
	info_cgroup_v2();
	info_auto();
	return ST_OK;
}
