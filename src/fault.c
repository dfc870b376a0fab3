/* SPDX-License-Identifier: MIT */
/*
 * fault.c - choosing a backend at run time, and getting a userfaultfd.
 *
 * AUTO takes the userfaultfd backend where userfaultfd is permitted, else
 * the signals backend where the kernel has guard pages (Linux 6.13), else,
 * with UP_CONFIG_FALLBACK, the kernel backend.
 *
 * A userfaultfd can come from three places, tried in this order:
 * /dev/userfaultfd (Linux 6.1+, access by file permission), the
 * userfaultfd(2) system call (needs vm.unprivileged_userfaultfd=1 or
 * CAP_SYS_PTRACE), and the same call with UFFD_USER_MODE_ONLY, which any
 * user may make but which does not serve faults taken inside system calls.
 * When none works, the text left in `why` tells the user what to change.
 */
#include "up-int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "up-uffd.h"

/* Features the userfaultfd backend cannot do without. */
#define NEED_FEATURES                                                  \
	(UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |       \
	 UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UP_UFFD_FEATURE_POISON)

static int uffd_from_dev(void)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	int fd;

	if (dev < 0)
		return -errno;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	fd = fd < 0 ? -errno : up__fd_high(fd);
	close(dev);
	return fd;
}

static int uffd_from_syscall(int extra)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | extra);

	return fd < 0 ? -errno : up__fd_high((int)fd);
}

/* The features a configuration adds: inline faults want SIGBUS rather
 * than messages (Linux 4.14). */
static uint64_t cfg_features(unsigned cfg_flags)
{
	return (cfg_flags & UP_CONFIG_FAULT_INLINE) ? UFFD_FEATURE_SIGBUS : 0;
}

/* Agree on the API and the features; -ENOSYS names what is missing.
 * UFFDIO_MOVE (Linux 6.8) is used when present. */
static int handshake(int fd, uint64_t extra, uint64_t *features)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = NEED_FEATURES | UP_UFFD_FEATURE_MOVE |
			    UFFD_FEATURE_EVENT_REMAP | extra,
	};

	*features = api.features;
	if (ioctl(fd, UFFDIO_API, &api) == 0)
		return 0;
	/* A failed handshake leaves the descriptor unusable: a new one is
	 * needed to try again without the optional features. */
	return -EAGAIN;
}

static int handshake_min(int fd, uint64_t extra, uint64_t *features,
			 char *why, size_t why_len)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = NEED_FEATURES | extra,
	};

	*features = api.features;
	if (ioctl(fd, UFFDIO_API, &api) == 0)
		return 0;
	snprintf(why, why_len,
		 "this kernel's userfaultfd lacks shared-memory missing, "
		 "minor or write-protect faults, or UFFDIO_POISON; upager "
		 "needs Linux 6.6 or later built with CONFIG_USERFAULTFD "
		 "and CONFIG_PTE_MARKER_UFFD_WP");
	return -ENOSYS;
}

static int uffd_new(unsigned cfg_flags, bool *user_mode_only, int *dev_err,
		    int *sys_err)
{
	int fd;

	*user_mode_only = false;
	fd = *dev_err = uffd_from_dev();
	if (fd < 0)
		fd = *sys_err = uffd_from_syscall(0);
	else
		*sys_err = 0;
	if (fd == -EPERM && (cfg_flags & UP_CONFIG_USER_MODE_OK)) {
		fd = uffd_from_syscall(UFFD_USER_MODE_ONLY);
		*user_mode_only = fd >= 0;
	}
	return fd;
}

int up__uffd_open(unsigned cfg_flags, bool *user_mode_only,
		  uint64_t *features, char *why, size_t why_len)
{
	int fd, dev_err, sys_err, err;

	fd = uffd_new(cfg_flags, user_mode_only, &dev_err, &sys_err);
	if (fd == -ENOSYS) {
		snprintf(why, why_len,
			 "userfaultfd(2) is not available: the kernel was "
			 "built without CONFIG_USERFAULTFD, or a seccomp "
			 "filter blocks it");
		return -ENOSYS;
	}
	if (fd < 0) {
		snprintf(why, why_len,
			 "userfaultfd is not permitted for this user: "
			 "/dev/userfaultfd: %s, and the userfaultfd(2) call "
			 "failed (%s) because vm.unprivileged_userfaultfd is 0 "
			 "and the process lacks CAP_SYS_PTRACE. To allow it, "
			 "give the user read-write access to /dev/userfaultfd "
			 "(e.g. a udev rule or ACL), or run "
			 "'sysctl vm.unprivileged_userfaultfd=1', or set "
			 "UP_CONFIG_USER_MODE_OK to accept a user-mode-only "
			 "userfaultfd (system calls on untouched pages then "
			 "fail with EFAULT)",
			 strerror(-dev_err), strerror(-sys_err));
		return fd == -EACCES ? -EPERM : fd;
	}
	err = handshake(fd, cfg_features(cfg_flags), features);
	if (err) {
		close(fd);
		fd = uffd_new(cfg_flags, user_mode_only, &dev_err, &sys_err);
		if (fd < 0)
			return fd;
		err = handshake_min(fd, cfg_features(cfg_flags), features, why,
				    why_len);
	}
	if (err) {
		close(fd);
		return err;
	}
	if (*user_mode_only)
		snprintf(why, why_len,
			 "user-mode-only userfaultfd: faults inside system "
			 "calls are not served (they fail with EFAULT); to "
			 "serve them, allow /dev/userfaultfd or set "
			 "vm.unprivileged_userfaultfd=1");
	else
		why[0] = '\0';
	return fd;
}

/* Why flags cannot have UP_CONFIG_FAULT_INLINE, or NULL if they can:
 * inline faults in a cache shared between processes are not done, nor
 * where the signal does not tell a store from a load. */
const char *up__inline_refused(unsigned flags)
{
	if (!(flags & UP_CONFIG_FAULT_INLINE))
		return NULL;
	if (flags & UP_CONFIG_SHARED)
		return "cannot be combined with UP_CONFIG_SHARED";
	if (!up__sigbus_supported())
		return "is not supported on this architecture";
	return NULL;
}

/* Whether the signals backend can run here: guard pages, and a signal
 * frame that tells a store from a load.  Asked once. */
static bool signals_usable(char *why, size_t why_len)
{
	static int usable = -1;		/* not asked yet */

	if (usable < 0) {
		void *m = NULL;
		int ok = up__sigbus_supported() &&
			 !up__mmap(NULL, SYS_PAGE, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &m) &&
			 !up__madvise(m, SYS_PAGE, MADV_GUARD_INSTALL);

		if (m)
			up__munmap(m, SYS_PAGE);
		usable = ok;
	}
	if (!usable && why)
		snprintf(why, why_len, "%s%sthe signals backend needs guard "
			 "pages (MADV_GUARD_INSTALL, Linux 6.13) on x86-64",
			 why[0] ? why : "", why[0] ? "; " : "");
	return usable;
}

UP_EXPORT int up_backend_probe(enum up_backend b, unsigned flags, char *why,
			       size_t why_len)
{
	char buf[512];
	uint64_t features;
	bool umo;
	int fd;

	if (!why || !why_len) {
		why = buf;
		why_len = sizeof(buf);
	}
	why[0] = '\0';
	if (up__inline_refused(flags)) {
		snprintf(why, why_len, "UP_CONFIG_FAULT_INLINE %s",
			 up__inline_refused(flags));
		return -EOPNOTSUPP;
	}
	switch (b) {
	case UP_BACKEND_KERNEL:
		return 0;
	case UP_BACKEND_SIGNALS:
		return signals_usable(why, why_len) ? 0 : -EOPNOTSUPP;
	case UP_BACKEND_AUTO:
	case UP_BACKEND_UFFD:
		fd = up__uffd_open(flags, &umo, &features, why, why_len);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		/* AUTO works anyway with signals, or when it may fall
		 * back. */
		if (b == UP_BACKEND_AUTO &&
		    (signals_usable(NULL, 0) || (flags & UP_CONFIG_FALLBACK)))
			return 0;
		return fd;
	}
	snprintf(why, why_len, "unknown backend %d", (int)b);
	return -EINVAL;
}

static const char *inline_moot(const struct up_pager *p)
{
	return (p->cfg.flags & UP_CONFIG_FAULT_INLINE)
		       ? " (UP_CONFIG_FAULT_INLINE has no effect on it)"
		       : "";
}

int up__backend_choose(struct up_pager *p)
{
	enum up_backend b = p->cfg.backend;
	char why[800];
	int fd;

	p->uffd = -1;
	if (b == UP_BACKEND_KERNEL) {
		p->ops = &up__kernel_ops;
		snprintf(p->note, sizeof(p->note), "kernel backend requested%s",
			 inline_moot(p));
		return 0;
	}
	why[0] = '\0';
	if (b == UP_BACKEND_SIGNALS) {
		if (!signals_usable(why, sizeof(why))) {
			snprintf(p->note, sizeof(p->note), "%s", why);
			return -EOPNOTSUPP;
		}
		p->ops = &up__sig_ops;
		snprintf(p->note, sizeof(p->note),
			 "signals backend requested: file pages served from a "
			 "SIGSEGV handler over guard pages; system calls on "
			 "pages not yet faulted in fail with EFAULT");
		return 0;
	}
	fd = up__uffd_open(p->cfg.flags, &p->user_mode_only, &p->features, why,
			   sizeof(why));
	if (fd >= 0) {
		p->uffd = fd;
		p->ops = &up__uffd_ops;
		p->faults = &up__uffd_faults;
		p->inline_faults = p->cfg.flags & UP_CONFIG_FAULT_INLINE;
		snprintf(p->note, sizeof(p->note),
			 "userfaultfd%s; %s; mappings of one object %s%s%s",
			 p->user_mode_only ? " (user-mode only)" : "",
			 p->inline_faults
				 ? "faults served in the faulting thread "
				   "(SIGBUS handler; system calls on pages not "
				   "yet faulted in fail with EFAULT)"
				 : "faults served by service threads",
			 (p->features & UP_UFFD_FEATURE_MOVE)
				 ? "use moved frames (UFFDIO_MOVE)"
				 : "use shared memory (no UFFDIO_MOVE)",
			 why[0] ? "; " : "", why);
		return 0;
	}
	if (b == UP_BACKEND_AUTO && signals_usable(NULL, 0)) {
		p->ops = &up__sig_ops;
		snprintf(p->note, sizeof(p->note),
			 "signals backend (file pages served from a SIGSEGV "
			 "handler over guard pages; system calls on pages not "
			 "yet faulted in fail with EFAULT), as userfaultfd is "
			 "not usable: %s", why);
		return 0;
	}
	if (b == UP_BACKEND_AUTO && (p->cfg.flags & UP_CONFIG_FALLBACK)) {
		p->ops = &up__kernel_ops;
		snprintf(p->note, sizeof(p->note),
			 "fell back to the kernel backend%s: %s",
			 inline_moot(p), why);
		return 0;
	}
	snprintf(p->note, sizeof(p->note), "%s", why);
	return fd;
}
